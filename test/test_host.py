# SPDX-License-Identifier: GPL-2.0-or-later
"""test_host.py - merd follows the host's network while it runs

The host's address, gateway and MTU change under a running merd, as they do
on a laptop that changes networks: the guest's own DHCP client (busybox
udhcpc, running as it would in a guest, renewing on SIGUSR1 as it does at
T1) gets the new identity, its traffic leaves from the new address, and
the flows of the old one end. merd started without a default route says it
waits, and serves once one is added. The host namespace is changed with
ip(8) as an administrator or NetworkManager would.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import netns  # noqa: E402
from merdtest import UDHCPC_SCRIPT, udhcpc  # noqa: E402
from netns import (GATEWAY, HOST_ADDR, REMOTE_ADDR, log, readline_within,  # noqa: E402
                   sock_in, wait_for)

pytestmark = pytest.mark.forwarding

NEW_ADDR = "10.42.0.3"
NEW_GATEWAY = "10.42.0.254"
PORT = 7300


class Udhcpc:
    """busybox udhcpc as a guest runs it: in the background, bound, renewing
    when told (SIGUSR1, what it does itself at T1). Each lease it takes (its
    script's MERD-LEASE lines) is read with lease()."""

    def __init__(self, guest):
        self.guest = guest
        args = ["busybox", "udhcpc", "-i", guest.ifname, "-f", "-t", "4", "-T", "1",
                "-A", "1", "-O", "search", "-O", "mtu", "-s", UDHCPC_SCRIPT]
        self.proc = guest.ns.popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.seen = []

    def lease(self, timeout=20):
        """The next lease the client took, as a dict of its fields."""
        lease = {}
        deadline = time.monotonic() + timeout
        while True:
            line = readline_within(self.proc.stdout, max(deadline - time.monotonic(), 0),
                                   "udhcpc to take a lease")
            if not line:
                raise AssertionError("udhcpc ended: %s" % "".join(self.seen))
            self.seen.append(line)
            log("udhcpc: " + line.rstrip())
            m = re.match(r"MERD-LEASE (\w+)=(.*)", line)
            if m:
                lease[m.group(1)] = m.group(2).strip()
                # The script's lines come in a fixed order: serverid is
                # the last one there always is
                if m.group(1) == "serverid":
                    return lease

    def renew(self):
        self.proc.send_signal(signal.SIGUSR1)

    def saw(self, word):
        return any(word in line for line in self.seen)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


class Server:
    """A TCP server in the remote namespace: records every client's
    address, and echoes what it gets."""

    def __init__(self, topo, port=PORT):
        self.sock = sock_in(topo.remote)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((REMOTE_ADDR, port))
        self.sock.listen(8)
        self.sock.settimeout(30)
        self.peers = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        for _ in range(8):
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.peers.append(peer[0])
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        conn.settimeout(30)
        with conn:
            try:
                while True:
                    data = conn.recv(4096)
                    if not data:
                        return
                    conn.sendall(data)
            except OSError:
                return

    def close(self):
        self.sock.close()


def client(topo, port=PORT):
    """A connected client in the guest, which got its echo once."""
    c = sock_in(topo.guest)
    c.settimeout(5)
    c.connect((REMOTE_ADDR, port))
    c.sendall(b"hello")
    assert c.recv(16) == b"hello"
    return c


@pytest.fixture
def dhcp(topo, start):
    """merd, its guest bound by a udhcpc that stays, a server in the remote."""
    m = start(lease=False)
    u = Udhcpc(m.guest)
    srv = Server(topo)
    m.udhcpc = u
    m.server = srv
    yield m
    u.stop()
    srv.close()


def test_host_address_change(topo, dhcp):
    """The host's address changes: the flow from the old one ends (reset at
    the guest's next segment), the guest's renewal is refused, its new lease
    is the new address, and its connections come from there."""
    m, u = dhcp, dhcp.udhcpc
    assert u.lease()["ip"] == HOST_ADDR
    old = client(topo)
    assert m.server.peers == [HOST_ADDR]

    topo.host.run("ip addr del %s/24 dev h0" % HOST_ADDR)
    topo.host.run("ip addr add %s/24 dev h0" % NEW_ADDR)
    topo.host.run("ip route add default via %s" % GATEWAY)
    m.wait_log(r"the host's network changed: guest gets %s/24, gateway %s"
               % (NEW_ADDR, GATEWAY))
    assert re.search(r"1 flows from the host's old address ended", m.log()), m.log()

    # The guest's next segment of the old connection draws a reset
    with pytest.raises((ConnectionResetError, BrokenPipeError)):
        old.sendall(b"again")
        old.recv(16)
    old.close()

    u.renew()
    lease = u.lease()
    assert u.saw("nak"), "".join(u.seen)
    assert lease["ip"] == NEW_ADDR and lease["router"] == GATEWAY
    assert m.guest.addr() == ["%s/24" % NEW_ADDR]
    new = client(topo)
    new.close()
    assert m.server.peers == [HOST_ADDR, NEW_ADDR]


def test_host_gateway_change(topo, dhcp):
    """The host's gateway changes: the guest's renewal, still sent to the
    old gateway, is answered with the new one, which the guest then routes
    through; its address and flows stay."""
    m, u = dhcp, dhcp.udhcpc
    lease = u.lease()
    assert lease["router"] == GATEWAY and lease["serverid"] == GATEWAY
    kept = client(topo)

    topo.remote.run("ip addr add %s/24 dev r0 nodad" % NEW_GATEWAY)
    topo.host.run("ip route replace default via %s" % NEW_GATEWAY)
    m.wait_log(r"the host's network changed: guest gets %s/24, gateway %s"
               % (HOST_ADDR, NEW_GATEWAY))

    u.renew()
    lease = u.lease()
    assert not u.saw("nak"), "".join(u.seen)
    assert lease["ip"] == HOST_ADDR
    assert lease["router"] == NEW_GATEWAY and lease["serverid"] == NEW_GATEWAY
    assert NEW_GATEWAY in m.guest.default_route()
    # The flow from before goes on
    kept.sendall(b"still")
    assert kept.recv(16) == b"still"
    kept.close()
    p = topo.guest.run(["ping", "-c", "1", "-W", "2", REMOTE_ADDR], check=False)
    assert p.returncode == 0, p.stdout


def test_host_mtu_change(topo, dhcp):
    """The host's MTU changes: the guest's renewal carries the new one,
    which its DHCP client applies."""
    m, u = dhcp, dhcp.udhcpc
    assert u.lease()["mtu"] == str(netns.HOST_MTU)
    topo.host.run("ip link set h0 mtu 1300")
    m.wait_log(r"the host's network changed: guest gets %s/24, gateway %s, MTU 1300"
               % (HOST_ADDR, GATEWAY))
    u.renew()
    assert u.lease()["mtu"] == "1300"
    assert m.guest.mtu() == 1300
    p = topo.guest.run(["ping", "-c", "1", "-W", "2", "-s", "1272", "-M", "do", REMOTE_ADDR],
                       check=False)
    assert p.returncode == 0, p.stdout


def test_start_without_default_route(topo, start):
    """No default route at start: merd says it waits, answers no DHCP, and
    serves once a route is added."""
    topo.host.run("ip route del default")
    m = start(lease=False)
    assert "no default IPv4 or IPv6 route yet: waiting for one" in m.log()
    p = m.guest.ns.run(["busybox", "udhcpc", "-i", m.guest.ifname, "-f", "-q", "-n", "-t", "2",
                        "-T", "1", "-s", "/bin/true"], check=False, timeout=20)
    assert p.returncode != 0, "a lease came without a default route"

    topo.host.run("ip route add default via %s" % GATEWAY)
    m.wait_log(r"the host has a default IPv4 route: guest gets %s/24, gateway %s"
               % (HOST_ADDR, GATEWAY))
    lease, _ = udhcpc(m.guest)
    assert lease["ip"] == HOST_ADDR and lease["router"] == GATEWAY
    p = topo.guest.run(["ping", "-c", "1", "-W", "2", REMOTE_ADDR], check=False)
    assert p.returncode == 0, p.stdout


def test_route_gone_and_back_keeps_flows(topo, dhcp):
    """The default route goes away and comes back as it was (a link that
    flaps): the guest keeps its identity, and its flow survives."""
    m, u = dhcp, dhcp.udhcpc
    assert u.lease()["ip"] == HOST_ADDR
    kept = client(topo)
    topo.host.run("ip route del default")
    m.wait_log(r"IPv4: no default IPv4 route, the guest keeps what it has")
    topo.host.run("ip route add default via %s" % GATEWAY)
    time.sleep(0.5)
    kept.sendall(b"still")
    assert kept.recv(16) == b"still"
    kept.close()
    assert "the host's network changed" not in m.log()


def test_explicit_identity_ignores_host_changes(topo, start):
    """--address and --gateway fix the guest's identity: the host's address
    changing moves the flows' source, not the guest's lease."""
    m = start("-a", "10.42.0.77", "-n", "24", "-g", GATEWAY, lease=False)
    lease, _ = udhcpc(m.guest)
    assert lease["ip"] == "10.42.0.77"
    topo.host.run("ip addr del %s/24 dev h0" % HOST_ADDR)
    topo.host.run("ip addr add %s/24 dev h0" % NEW_ADDR)
    topo.host.run("ip route add default via %s" % GATEWAY)
    m.wait_log(r"the host's network changed: guest gets 10.42.0.77/24")
    srv = Server(topo)
    try:
        c = client(topo)
        c.close()
        wait_for(lambda: srv.peers, 5, "the server to see the client")
        assert srv.peers == [NEW_ADDR]
    finally:
        srv.close()


NEW_NET6 = "2001:db8:99::"
NEW_ADDR6 = NEW_NET6 + "2"


def rdisc6_prefixes(ns, ifname="tap0"):
    """The prefixes of the first RA rdisc6 gets: {prefix: (valid, preferred)}."""
    p = ns.run(["rdisc6", "-1", "-n", "-r", "3", "-w", "1000", ifname], check=False, timeout=15)
    log(p.stdout + p.stderr)
    out = {}
    for m in re.finditer(r"Prefix\s*:\s*(\S+)\s*\n\s*On-link\s*:.*\n\s*Autonomous.*\n"
                         r"\s*Valid time\s*:\s*(\d+).*\n\s*Pref\. time\s*:\s*(\d+)", p.stdout):
        out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


def test_host_ipv6_address_change(topo6, merd6):
    """The host's IPv6 address moves to another prefix: router
    advertisements announce the new prefix and deprecate the old one
    (preferred lifetime 0), the guest autoconfigures in the new one, and
    its traffic leaves from the host's new address."""
    t, m = topo6, merd6
    assert rdisc6_prefixes(t.guest)[netns.HOST_NET6 + "/64"][1] > 0
    t.remote.run("ip -6 addr add %s1/64 dev r0 nodad" % NEW_NET6)
    t.remote.run("ip -6 addr add %s100/64 dev r0 nodad" % NEW_NET6)
    t.host.run("ip -6 addr del %s/64 dev h0" % netns.HOST_ADDR6)
    t.host.run("ip -6 addr add %s/64 dev h0 nodad" % NEW_ADDR6)
    t.host.run("ip -6 route replace default via %s1 dev h0" % NEW_NET6)
    m.wait_log(r"the host's network changed: guest gets %s/64" % NEW_ADDR6)

    prefixes = rdisc6_prefixes(t.guest)
    assert prefixes[NEW_NET6 + "/64"][1] > 0, prefixes
    assert prefixes[netns.HOST_NET6 + "/64"][1] == 0, prefixes
    m.guest.wait_slaac(NEW_NET6)
    # The guest's address in the old prefix is deprecated at once, and kept
    # (RFC 4862 5.5.3 e: at most two hours more) for the flows it has there
    old = [a for a in m.guest.addrs6() if a["addr"] == m.slaac.split("/")[0]]
    assert old and "deprecated" in old[0]["flags"], m.guest.addrs6()
    out = t.guest.run("ip -6 -o addr show dev tap0").stdout
    log(out)
    lft = re.search(re.escape(m.slaac) + r".*valid_lft (\d+)sec", out)
    assert lft and 0 < int(lft.group(1)) <= 7200, out
    p = t.guest.run(["ping", "-6", "-c", "1", "-W", "2", NEW_NET6 + "100"], check=False)
    assert p.returncode == 0, p.stdout
