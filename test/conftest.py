# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest fixtures: a fresh Topology per test, merd in its host namespace,
and the guest namespace bridged to merd. Everything is torn down after each
test, whether it passed or not.

One family of fixtures starts merd: start(*args, ...) is the factory (merd
with these options, and by default a leased guest behind it); merd, guest and
leased are its plain uses, routed_merd and routed_guest the same behind a
router namespace. topo6 and routed6 are the same topologies with IPv6 as
well (topology(**kw) makes any other, such as an IPv6-only host); merd6,
leased6 and routed_merd6 start merd there and wait until the guest took
merd's router advertisement. A test module marked "forwarding" runs each of its tests
twice: with merd as root, and as nobody holding only the capabilities README.md
names (merdtest.CAPS), which is how the README tells users to run it.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest"))

from netns import Topology, cleanup_stale  # noqa: E402
from merdtest import Merd, Guest, ready6, udhcpc  # noqa: E402

MODES = ("root", "caps")

# Every merd-san the tests start, however they start it: abort on the first
# error; no leak check at exit, which LeakSanitizer can't do inside merd's
# sandbox (isolation.c; the unit tests and fuzzers check for leaks)
os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0:exitcode=99")

def pytest_sessionstart(session):
    if os.geteuid() != 0:
        pytest.exit("merd's integration tests need root (network namespaces)", 1)
    cleanup_stale()


def pytest_configure(config):
    config.addinivalue_line("markers", "forwarding: run with merd as root and as an "
                            "unprivileged user with README.md's capabilities")
    config.addinivalue_line("markers", "solo: compares a rate through merd with the host's "
                            "own: make check runs it alone, after everything else")


def pytest_generate_tests(metafunc):
    if "merd_mode" in metafunc.fixturenames and \
            metafunc.definition.get_closest_marker("forwarding"):
        metafunc.parametrize("merd_mode", MODES, indirect=True)


@pytest.fixture
def merd_mode(request):
    """How start() runs merd: "root", or "caps" (see merdtest.Merd)."""
    return getattr(request, "param", "root")


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
def topo6():
    """Topology of both families: the host has IPv6 too (netns.py)."""
    t = Topology(ipv6=True)
    yield t
    t.close()


@pytest.fixture
def routed6():
    """Both families, with a router namespace between host and remote."""
    t = Topology(router=True, ipv6=True)
    yield t
    t.close()


@pytest.fixture
def topology():
    """topology(**kw): a Topology of the test's own (Topology's keywords:
    ipv6, ipv4, ll_gateway, router, host_mtu), removed after the test."""
    made = []

    def _make(**kw):
        t = Topology(**kw)
        made.append(t)
        return t

    yield _make
    for t in reversed(made):
        t.close()


@pytest.fixture
def start(request, merd_mode):
    """start(*args, topo=None, guest=True, lease=True, **kw): merd with these
    options in the host namespace of topo (the test's topo fixture unless
    given), in the test's mode; with guest, the guest namespace bridged to
    it (merd.guest), and with lease, configured by udhcpc (merd.lease: what
    it got). Further keywords
    go to Merd. Everything started is stopped after the test, merd last,
    checking that it exits cleanly with nothing from the sanitisers."""
    running = []

    def _start(*args, topo=None, guest=True, lease=True, **kw):
        t = topo or request.getfixturevalue("topo")
        kw.setdefault("sock", t.sock)
        kw.setdefault("mode", merd_mode)
        m = Merd(t.host, args=list(args), **kw)
        running.append(m)
        m.guest = None
        if guest:
            m.guest = Guest(t.guest, m.sock)
            running.append(m.guest)
            if lease:
                m.lease, _ = udhcpc(m.guest)
        return m

    yield _start
    for x in reversed(running):
        x.stop()


@pytest.fixture
def merd(start):
    return start(guest=False)


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
def routed_merd(routed, start):
    return start(topo=routed, guest=False)


@pytest.fixture
def routed_guest(routed, routed_merd):
    """Guest with a lease, behind merd, with a router between host and remote."""
    g = Guest(routed.guest, routed_merd.sock)
    udhcpc(g)
    yield g
    g.stop()


@pytest.fixture
def merd6(topo6, start):
    """merd on a dual-stack host, its guest leased (udhcpc) and configured by
    merd's RA (merd6.guest, merd6.slaac: its autoconfigured address)."""
    m = start(topo=topo6)
    m.slaac = ready6(m.guest, topo6.router6)
    return m


@pytest.fixture
def leased6(merd6):
    """The guest of merd6: ready for IPv6 (and IPv4) traffic."""
    return merd6.guest


@pytest.fixture
def routed_merd6(routed6, start):
    """merd6 with a router namespace between host and remote."""
    m = start(topo=routed6)
    m.slaac = ready6(m.guest, routed6.router6)
    return m
