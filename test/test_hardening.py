# SPDX-License-Identifier: GPL-2.0-or-later
"""test_hardening.py - what merd gives up once it serves, as the kernel shows it

merd started as root (or as nobody with README.md's capabilities) serves a
guest, and /proc/PID shows the serving process: a user that isn't root, no
capability left (effective, permitted, inheritable, ambient, bounding),
no_new_privs, a seccomp filter, not dumpable (its /proc files are root's),
and an empty root in a mount namespace of its own. Everything else the
suite tests runs against merd in this state: these tests check the state
itself, and that what comes after start still works in it.
"""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import netns  # noqa: E402
from merdtest import MERD, Merd, NOBODY  # noqa: E402

pytestmark = pytest.mark.forwarding


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def check_isolated(pid, uid):
    """The serving process's state, as the kernel reports it."""
    st = status(pid)
    assert st["Uid"].split() == [str(uid)] * 4, st["Uid"]
    assert st["Gid"].split()[0] != "0", st["Gid"]
    assert st["Groups"].strip() == "", st["Groups"]
    for field in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(st[field], 16) == 0, (field, st[field])
    assert st["NoNewPrivs"].strip() == "1", st["NoNewPrivs"]
    assert st["Seccomp"].strip() == "2", st["Seccomp"]
    # Not dumpable: the kernel makes its /proc files root's
    assert os.stat("/proc/%d/status" % pid).st_uid == 0
    # A mount namespace of its own, with nothing in its root
    assert os.readlink("/proc/%d/ns/mnt" % pid) != os.readlink("/proc/self/ns/mnt")
    assert os.listdir("/proc/%d/root/" % pid) == []
    return st


def test_serving_process_gave_everything_up(topo, start, merd_mode):
    """After start, with a guest leased and traffic through: user nobody,
    no capabilities, no_new_privs, seccomp, not dumpable, an empty root."""
    m = start()
    p = topo.guest.run(["ping", "-c", "1", "-W", "2", netns.REMOTE_ADDR], check=False)
    assert p.returncode == 0, p.stdout
    st = check_isolated(m.proc.pid, NOBODY)
    if merd_mode == "root":
        assert int(st["CapBnd"], 16) == 0, st["CapBnd"]
    # The flow table on SIGUSR1 still works from inside
    m.proc.send_signal(signal.SIGUSR1)
    m.wait_log(r"flows: \d+ of \d+")


def test_runas_option(topo, start, merd_mode):
    """--runas picks the user and group served as (root only may)."""
    if merd_mode != "root":
        pytest.skip("only root may serve as another user")
    m = start("--runas", "4242:4343", lease=False)
    st = check_isolated(m.proc.pid, 4242)
    assert st["Gid"].split() == ["4343"] * 4, st["Gid"]


def test_runas_bad_user_is_one_line(topo):
    p = topo.host.run([MERD, "-f", "-s", topo.sock, "--runas", "no-such-user-here"],
                      check=False)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "merd: invalid --runas 'no-such-user-here': no such user"], p.stderr


def test_low_ports_keep_only_bind_service(topo, start, merd_mode):
    """Flows' ports below 1024: CAP_NET_BIND_SERVICE is the one capability
    left, so that blocks can still be claimed there."""
    if merd_mode != "root":
        pytest.skip("nobody has no CAP_NET_BIND_SERVICE to keep")
    m = start("--ports", "600-1000", lease=False)
    st = status(m.proc.pid)
    assert int(st["CapEff"], 16) == 1 << 10, st["CapEff"]   # CAP_NET_BIND_SERVICE
    assert int(st["CapBnd"], 16) == 1 << 10, st["CapBnd"]
    assert st["Seccomp"].strip() == "2"


def test_new_flows_and_host_changes_in_the_sandbox(topo, start):
    """What merd does after start still works in its sandbox: new port
    blocks claimed for a burst of flows, and the host's address change read
    through netlink."""
    m = start()
    for i in range(3):
        p = topo.guest.run(["ping", "-c", "1", "-W", "2", netns.REMOTE_ADDR], check=False)
        assert p.returncode == 0, p.stdout
    topo.host.run("ip addr del %s/24 dev h0" % netns.HOST_ADDR)
    topo.host.run("ip addr add 10.42.0.9/24 dev h0")
    topo.host.run("ip route add default via %s" % netns.GATEWAY)
    m.wait_log(r"the host's network changed: guest gets 10\.42\.0\.9/24")
    assert "outside merd's seccomp filter" not in m.log()
    check_isolated(m.proc.pid, NOBODY)
