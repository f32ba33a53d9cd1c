# SPDX-License-Identifier: GPL-2.0-or-later
"""Confinement: what the guest must never reach through merd, seen from the
guest's own TCP. A link-local "metadata service" (169.254.169.254 on the
remote side, routed from the host; the remote's fe80:: address) and a second
host address (a "docker0" bridge in the host namespace, as docker makes one,
172.17.0.1/16 and 2001:db8:99::1/64, with servers bound there) are in the
topology: the
guest's connections to them fail at once (ICMP administratively prohibited:
"No route to host", "Permission denied"), and the servers never see one;
the host itself reaches them all. The gateway mapping still reaches the
host's own services, and the remote is reached as ever. An address the host
gets while merd runs is refused too, and --allow-link-local lets one
link-local address through."""

import re
import subprocess

import pytest

import netns
from merdtest import ready6
from peers import PY, EchoServer

METADATA = "169.254.169.254"
DOCKER4 = "172.17.0.1"
DOCKER6 = "2001:db8:99::1"
LATER4 = "172.18.0.1"
PORT = 8080
PORT6 = 8086            # the remote's server on every address, :: and fe80::
# A refusal is an ICMP error at once; a connection that got out would be
# answered within this too
CONNECT_TIMEOUT = 3
REFUSED_WITHIN = 1.5

CONNECT = r"""
import socket, sys, time
addr, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(timeout)
t = time.monotonic()
try:
    s.connect(socket.getaddrinfo(addr, port, fam, socket.SOCK_STREAM)[0][4])
    s.sendall(b"ping\n")
    print("connected", s.recv(64).decode().strip())
except OSError as e:
    print("error", "%s:%s" % (type(e).__name__, e.errno))
print("%.3f" % (time.monotonic() - t))
"""


def connect(guest, addr, port=PORT):
    """The guest connects to addr:port: ("connected", echo) or ("error",
    exception name), and the seconds it took."""
    out = guest.ns.run([PY, "-c", CONNECT, addr, str(port), str(CONNECT_TIMEOUT)],
                       timeout=CONNECT_TIMEOUT + 10).stdout.split("\n")
    return out[0].split()[:2], float(out[1])


def assert_refused(guest, addr, server, port=PORT):
    (what, detail), took = connect(guest, addr, port)
    assert what == "error", "%s reached: %s" % (addr, detail)
    # EHOSTUNREACH, or EACCES over IPv6: ICMP administratively prohibited
    assert detail in ("OSError:113", "PermissionError:13"), "%s: %s" % (addr, detail)
    assert took < REFUSED_WITHIN, "%s: refused only after %.1f s" % (addr, took)
    assert server.peers.empty(), "%s saw a connection" % addr


def assert_reached(guest, addr, port=PORT):
    (what, detail), _ = connect(guest, addr, port)
    assert (what, detail) == ("connected", "ping"), "%s: %s %s" % (addr, what, detail)


class In:
    """A namespace to connect() from, as a guest is."""

    def __init__(self, ns):
        self.ns = ns


def remote_ll(topo):
    """The remote's link-local address on the host's link."""
    out = topo.remote.run("ip -6 -o addr show dev r0 scope link").stdout
    return re.search(r"inet6 (fe80::[0-9a-f:]+)/", out).group(1)


@pytest.fixture
def confined(topo6, start):
    """The topology with a metadata service and a docker0, servers on each,
    and merd (-d: it says when it read the host's addresses) serving a
    leased, autoconfigured guest."""
    t = topo6
    t.remote.run("ip addr add %s/32 dev lo" % METADATA)
    t.host.run("ip route add %s/32 via %s dev h0" % (METADATA, netns.GATEWAY))
    t.host.run("ip link add docker0 type bridge && ip link set docker0 up && "
               "ip addr add %s/16 dev docker0 && "
               "ip addr add %s/64 dev docker0 nodad" % (DOCKER4, DOCKER6))
    servers = {
        "metadata": EchoServer(t.remote, METADATA, PORT),
        "remote6": EchoServer(t.remote, "::", PORT6),
        "remote": EchoServer(t.remote, netns.REMOTE_ADDR, PORT),
        "docker4": EchoServer(t.host, DOCKER4, PORT),
        "docker6": EchoServer(t.host, DOCKER6, PORT),
        "lo4": EchoServer(t.host, "127.0.0.1", PORT),
        "lo6": EchoServer(t.host, "::1", PORT),
    }
    m = start("-d", topo=t)
    m.slaac = ready6(m.guest, t.router6)
    yield t, m, servers
    for s in servers.values():
        s.close()


def test_the_host_reaches_them(confined):
    """The topology is sound: the host itself reaches every server (so what
    the guest doesn't reach, merd refused)."""
    t, _, servers = confined
    for addr in (METADATA, DOCKER4, DOCKER6, "127.0.0.1"):
        (what, detail), _ = connect(In(t.host), addr)
        assert (what, detail) == ("connected", "ping"), addr
    for s in ("metadata", "docker4", "docker6", "lo4"):
        assert servers[s].peers.get(timeout=5)


def test_link_local_and_host_addresses_refused(confined):
    t, m, servers = confined
    g = m.guest
    assert_refused(g, METADATA, servers["metadata"])
    assert_refused(g, DOCKER4, servers["docker4"])
    assert_refused(g, DOCKER6, servers["docker6"])
    assert_refused(g, "%s%%%s" % (remote_ll(t), g.ifname), servers["remote6"],
                   PORT6)
    # What the guest may reach, it still does
    assert_reached(g, netns.GATEWAY)                  # the host's 127.0.0.1
    assert servers["lo4"].peers.get(timeout=5)
    assert_reached(g, "%s%%%s" % (t.router6, g.ifname))  # the host's ::1
    assert servers["lo6"].peers.get(timeout=5)
    assert_reached(g, netns.REMOTE_ADDR)
    assert_reached(g, netns.REMOTE_ADDR6, PORT6)
    assert servers["remote"].peers.get(timeout=5)
    assert servers["remote6"].peers.get(timeout=5)[0] == netns.HOST_ADDR6
    for s in ("metadata", "docker4", "docker6"):
        assert servers[s].peers.empty(), s
    assert m.drops().get("confined", 0) >= 4


def test_new_host_address_refused(confined):
    """An address the host gets while merd runs is the host's from then on."""
    t, m, _ = confined
    t.host.run("ip addr add %s/16 dev docker0" % LATER4)
    m.wait_log(r"the host has 3 IPv4 and \d+ IPv6 addresses")
    later = EchoServer(t.host, LATER4, PORT)
    try:
        assert_refused(m.guest, LATER4, later)
    finally:
        later.close()
    assert_reached(m.guest, netns.REMOTE_ADDR)


def test_allow_link_local(topo, start):
    """--allow-link-local lets that one address through, no other."""
    topo.remote.run("ip addr add %s/32 dev lo && ip addr add 169.254.1.2/32 dev lo"
                    % METADATA)
    topo.host.run("ip route add 169.254.0.0/16 via %s dev h0" % netns.GATEWAY)
    allowed = EchoServer(topo.remote, METADATA, PORT)
    other = EchoServer(topo.remote, "169.254.1.2", PORT)
    try:
        m = start("--allow-link-local", METADATA)
        assert_reached(m.guest, METADATA)
        assert allowed.peers.get(timeout=5)[0] == netns.HOST_ADDR
        assert_refused(m.guest, "169.254.1.2", other)
    finally:
        allowed.close()
        other.close()


def test_allow_link_local_checked():
    """Only IPv4 link-local addresses, eight at most."""
    from merdtest import MERD
    for arg, why in (("10.0.0.1", "not in 169.254.0.0/16"),
                     ("fe80::1", "not an IPv4 address")):
        p = subprocess.run([MERD, "--allow-link-local", arg], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True, timeout=10)
        assert p.returncode == 1 and why in p.stdout, p.stdout
    args = []
    for i in range(9):
        args += ["--allow-link-local", "169.254.0.%d" % (i + 1)]
    p = subprocess.run([MERD] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=10)
    assert p.returncode == 1 and "too many" in p.stdout, p.stdout
