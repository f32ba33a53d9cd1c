# SPDX-License-Identifier: GPL-2.0-or-later
"""merd run as README.md says it can be: as an ordinary user with only the
capabilities it names (here as ambient capabilities, through setpriv), not as
root. The forwarding modules run all their tests this way too (the "caps"
mode of conftest.py); these check that the mode is what it claims, and what a
user with fewer capabilities is told."""

import os
import socket

from merdtest import CAPS, NOBODY, Merd
from netns import HOST_ADDR, REMOTE_ADDR, sock_in
from peers import EchoServer

# Capability numbers (linux/capability.h) of the names setpriv takes
CAP_BITS = {"net_bind_service": 10, "net_admin": 12, "net_raw": 13}


def test_caps_mode_is_unprivileged(topo, start):
    """The "caps" merd, started as nobody with exactly CAPS, serves a lease
    with none of them left (isolation.c gives them up once set up)."""
    m = start(mode="caps")
    st = m.status()
    assert st["Uid"].split() == [str(NOBODY)] * 4, st["Uid"]
    assert st["Gid"].split() == [str(NOBODY)] * 4, st["Gid"]
    assert st["Groups"].strip() == ""
    for field in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert int(st[field], 16) == 0, "%s %s" % (field, st[field])
    assert m.lease["ip"] == HOST_ADDR


def test_caps_mode_forwards(topo, start):
    """The unprivileged merd forwards TCP, UDP and ICMP echo like a root one."""
    m = start(mode="caps")
    EchoServer(topo.remote, REMOTE_ADDR, 7000)
    u = sock_in(topo.remote, kind=socket.SOCK_DGRAM)
    u.bind((REMOTE_ADDR, 7001))
    u.settimeout(3)

    tcp = topo.guest.run("echo hello | socat -t 2 - TCP:%s:7000" % REMOTE_ADDR,
                         timeout=20, check=False)
    topo.guest.run("echo datagram | socat -u - UDP:%s:7001" % REMOTE_ADDR, timeout=20)
    ping = topo.guest.run(["ping", "-c", "1", "-W", "2", REMOTE_ADDR], check=False)
    assert tcp.stdout == "hello\n", "TCP: %r\n%s" % (tcp.stdout + tcp.stderr,
                                                     m.log()[-2000:])
    data, peer = u.recvfrom(100)
    assert data == b"datagram\n" and peer[0] == HOST_ADDR
    assert ping.returncode == 0 and "bytes from %s" % REMOTE_ADDR in ping.stdout, ping.stdout


def test_fewer_capabilities_one_line(topo):
    """Without CAP_NET_RAW merd stops at once, saying which capability it
    needs, with exit status 1."""
    m = Merd(topo.host, sock=topo.sock, mode="caps", caps=(), wait=False)
    assert m.exit_status(10) == 1
    m.stop(expect_clean=False)
    lines = [ln for ln in m.log().splitlines() if ln.strip()]
    assert len(lines) == 1 and "CAP_NET_RAW" in lines[0], lines
    assert not os.path.exists(topo.sock), "nothing may be started"
