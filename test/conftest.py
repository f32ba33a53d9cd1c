# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest fixtures: a fresh Topology per test, merd in its host namespace,
and the guest namespace bridged to merd. Everything is torn down after each
test, whether it passed or not."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest"))

from netns import Topology, cleanup_stale  # noqa: E402
from merdtest import Merd, Guest, udhcpc  # noqa: E402


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        pytest.exit("merd's integration tests need root (network namespaces)", 1)
    cleanup_stale()


@pytest.fixture
def topo():
    t = Topology()
    yield t
    t.close()


@pytest.fixture
def routed():
    """Topology with a router namespace between host and remote."""
    t = Topology(router=True)
    yield t
    t.close()


@pytest.fixture
def merd(topo):
    m = Merd(topo.host, sock=topo.sock)
    yield m
    m.stop()


@pytest.fixture
def guest(topo, merd):
    g = Guest(topo.guest, merd.sock)
    yield g
    g.stop()


@pytest.fixture
def leased(topo, merd, guest):
    """The guest, configured by its own DHCP client: ready for traffic."""
    udhcpc(guest)
    return guest


@pytest.fixture
def routed_merd(routed):
    m = Merd(routed.host, sock=routed.sock)
    yield m
    m.stop()


@pytest.fixture
def routed_guest(routed, routed_merd):
    """Guest with a lease, behind merd, with a router between host and remote."""
    g = Guest(routed.guest, routed_merd.sock)
    udhcpc(g)
    yield g
    g.stop()
