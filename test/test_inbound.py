# SPDX-License-Identifier: GPL-2.0-or-later
"""Inbound port forwarding (-t, -u): remote clients and the host's own
programs reach the guest's services through merd.

The guest is the guest namespace's Linux stack; its servers are real ones
(busybox httpd, socat, tcp_peer.py's echo server, which reports every
peer address it accepted). Clients run in the remote namespace, or in the
host namespace itself for the host's own programs. Captures of the wire
(r0, the remote's end) check that the host's stack never answered for the
guest (wire.py).
"""

import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from merdtest import Merd, ready6, udhcpc
from netns import GATEWAY, HOST_ADDR, HOST_ADDR6, log, readline_within, sock_in, wait_listening
from peers import MIB, PY, TCP_PEER, EchoServer, random_file, sha256_file
from wire import Wire

pytestmark = pytest.mark.forwarding

# merd's default ports for flows: above the namespaces' ephemeral range
PORTS_LO = 61000


# --- helpers -----------------------------------------------------------------

def connect(ns, addr, port, timeout=5):
    """One TCP connection from ns: "connected", "refused", "timeout"..."""
    p = ns.run([PY, TCP_PEER, "connect", addr, str(port), "--timeout", str(timeout)],
               timeout=timeout + 10)
    return json.loads(p.stdout.strip().splitlines()[-1])["outcome"]


def run_clients(ns, addr, port, count, *extra, timeout=60):
    """tcp_peer.py clients: count connections, each echoing its own bytes."""
    p = ns.run([PY, TCP_PEER, "clients", addr, str(port), str(count)] + list(extra),
               timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])


def expect_all_echoed(res, count):
    assert res["errors"] == {}, "failed connections: %s" % dict(list(res["errors"].items())[:10])
    assert res["connected"] == count
    assert res["echoed"] == count


def peers(srv, count, timeout=5):
    """The first count peer addresses the guest's echo server accepted."""
    return [srv.peers.get(timeout=timeout) for _ in range(count)]


UDP_PEER_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET,
                  socket.SOCK_DGRAM)
s.bind(("::" if sys.argv[1] == "6" else "0.0.0.0", int(sys.argv[2])))
s.settimeout(120)
for _ in range(1000):
    data, peer = s.recvfrom(2048)
    s.sendto(("%s %d\\n" % (peer[0], peer[1])).encode(), peer)
"""


def udp_server(ns, port, family=4):
    """A server in ns answering each datagram with the peer address it saw
    (one socket, no fork: socat's UDP fork mode lost a first datagram now
    and then); bounded to 1,000 datagrams and two idle minutes."""
    p = ns.popen(["/usr/bin/python3", "-c", UDP_PEER_SERVER, str(family), str(port)],
                 stderr=subprocess.PIPE)
    wait_listening(ns, port, "u")
    return p


def udp_ask(ns, addr, port, family=4, timeout=3):
    """One datagram from ns to addr:port: the answer, or the error."""
    s = sock_in(ns, socket.AF_INET6 if family == 6 else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
        s.send(b"hello\n")
        return s.recv(2048).decode().split()
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    finally:
        s.close()


def serve_file(ns, src, port, family=4):
    """socat in the guest sending src to whoever connects to port."""
    p = ns.popen(["socat", "-u", "OPEN:" + src,
                  "TCP%d-LISTEN:%d,reuseaddr" % (family, port)],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_listening(ns, port, "t")
    return p


def fetch(topo, addr, port, src, name):
    """The remote fetches what the guest serves at addr:port; byte-exact."""
    dst = os.path.join(topo.tmp, name)
    target = ("TCP6:[%s]:%d" if ":" in addr else "TCP4:%s:%d") % (addr, port)
    t0 = time.monotonic()
    topo.remote.run(["socat", "-u", target, "CREATE:" + dst], timeout=90)
    log("%s: %d bytes in %.1f s" % (name, os.path.getsize(dst), time.monotonic() - t0))
    assert os.path.getsize(dst) == os.path.getsize(src)
    assert sha256_file(dst) == sha256_file(src)


@pytest.fixture
def wire(topo):
    made = []

    def _make(guest, family=4):
        w = Wire(topo if family == 4 else guest.ns.topo, [guest], family=family)
        made.append(w)
        return w

    yield _make
    for w in made:
        w.kill()


# --- remote clients -------------------------------------------------------------

def test_http_through_forwarded_port(topo, start, wire):
    """-t 8080:80: the remote's HTTP client gets the guest's web page."""
    m = start("-t", "8080:80")
    w = wire(m.guest)
    www = os.path.join(topo.tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<p>served by the guest</p>\n")
    topo.guest.popen(["busybox", "httpd", "-f", "-p", "80", "-h", www])
    wait_listening(topo.guest, 80, "t")
    p = topo.remote.run(["curl", "-sS", "--max-time", "10",
                         "http://%s:8080/index.html" % HOST_ADDR], timeout=30)
    assert p.stdout == "<p>served by the guest</p>\n"
    w.assert_clean()


def test_guest_sees_the_remote_client(topo, start, wire):
    """The guest's server sees the remote's own address and port; the
    remote sees the host's address and the forwarded port."""
    m = start("-t", "2222:22")
    w = wire(m.guest)
    srv = EchoServer(topo.guest, "0.0.0.0", 22)
    c = sock_in(topo.remote)
    try:
        c.settimeout(5)
        c.bind((topo.remote_addr, 0))
        c.connect((HOST_ADDR, 2222))
        c.sendall(b"ping")
        assert c.recv(4) == b"ping"
        assert c.getpeername() == (HOST_ADDR, 2222)
        assert peers(srv, 1) == [c.getsockname()]
    finally:
        c.close()
        srv.close()
    w.assert_clean()


def test_download_100mib_from_the_guest(topo, start, wire):
    """100 MiB from a server in the guest to a remote client, byte-exact."""
    m = start("-t", "5001")
    w = wire(m.guest)
    src = random_file(topo, "in.src", 100 * MIB)
    srv = serve_file(topo.guest, src, 5001)
    fetch(topo, HOST_ADDR, 5001, src, "in.dst")
    assert srv.wait(timeout=30) == 0
    w.assert_clean()


def test_ranges_and_exclusions(topo, start):
    """-t 9000-9009:7000-7009,~9005 and -t 9100: each port goes to its own
    guest port; the excluded one is closed, as the host answers."""
    start("-t", "9000-9009:7000-7009,~9005", "-t", "9100")
    servers = [EchoServer(topo.guest, "0.0.0.0", p) for p in (7000, 7004, 7009, 9100)]
    try:
        for port, srv in zip((9000, 9004, 9009, 9100), servers):
            expect_all_echoed(run_clients(topo.remote, HOST_ADDR, port, 2), 2)
            assert [a for a, _ in peers(srv, 2)] == [topo.remote_addr] * 2
        # Excluded, and past the range: nobody holds them, the host refuses
        assert connect(topo.remote, HOST_ADDR, 9005) == "refused"
        assert connect(topo.remote, HOST_ADDR, 9010) == "refused"
    finally:
        for s in servers:
            s.close()


def test_unforwarded_port_stays_closed(topo, start):
    """A port merd doesn't forward is refused, as the host would."""
    start("-t", "8080")
    assert connect(topo.remote, HOST_ADDR, 8081) == "refused"
    assert udp_ask(topo.remote, HOST_ADDR, 8081) == "refused"


def test_udp_request_response(topo, start, wire):
    """-u 5353:53: a datagram reaches the guest's server from the remote's
    own address, and its answer comes back from the forwarded port."""
    m = start("-u", "5353:53")
    w = wire(m.guest)
    udp_server(topo.guest, 53)
    s = sock_in(topo.remote, socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(3)
        s.bind((topo.remote_addr, 0))
        s.sendto(b"q\n", (HOST_ADDR, 5353))
        data, frm = s.recvfrom(2048)
        assert frm == (HOST_ADDR, 5353)
        assert data.decode().split() == [topo.remote_addr, str(s.getsockname()[1])]
    finally:
        s.close()
    w.assert_clean()


def test_guest_refusals_reach_the_client(topo, start, wire):
    """Nothing listens in the guest: its own refusals reach the remote, a
    reset for TCP and, passed on as a router does, its ICMP port
    unreachable for UDP (quoting the datagram as the remote sent it)."""
    m = start("-t", "2222:22", "-u", "5353:53")
    w = wire(m.guest)
    assert connect(topo.remote, HOST_ADDR, 2222) == "refused"
    assert udp_ask(topo.remote, HOST_ADDR, 5353) == "refused"
    w.assert_clean()


def test_upload_100mib_to_the_guest(topo, start, wire):
    """100 MiB from a remote client to a server in the guest, byte-exact:
    what GRO merged on the host is cut back to the guest's MTU."""
    m = start("-t", "5002")
    w = wire(m.guest)
    src = random_file(topo, "up.src", 100 * MIB)
    dst = os.path.join(topo.tmp, "up.dst")
    srv = topo.guest.popen(["socat", "-u", "TCP4-LISTEN:5002,reuseaddr", "CREATE:" + dst],
                           stderr=subprocess.PIPE)
    wait_listening(topo.guest, 5002, "t")
    topo.remote.run(["socat", "-u", "OPEN:" + src, "TCP4:%s:5002" % HOST_ADDR], timeout=90)
    assert srv.wait(timeout=30) == 0
    assert sha256_file(dst) == sha256_file(src)
    w.assert_clean()


def test_200_concurrent_inbound_connections(topo, start, wire):
    """200 remote connections open at once to the guest, each echoing its
    own 16 KiB, every one seen from the remote's address."""
    m = start("-t", "7000")
    w = wire(m.guest)
    srv = EchoServer(topo.guest, "0.0.0.0", 7000)
    try:
        res = run_clients(topo.remote, HOST_ADDR, 7000, 200, "--size", "16384")
        expect_all_echoed(res, 200)
        seen = peers(srv, 200)
        assert {a for a, _ in seen} == {topo.remote_addr}
        assert len(set(seen)) == 200
    finally:
        srv.close()
    w.assert_clean()


def test_inbound_and_outbound_flows_share_host_ports(topo, start):
    """Forwarded ports inside merd's own range serve both at once: remote
    clients reach the guest on them while the guest's own connections leave
    from them, told apart by their peers (the tuple rule)."""
    start("--ports", "50000-50255", "-t", "50000-50255")
    inside = EchoServer(topo.guest, "0.0.0.0", 50007)
    outside = EchoServer(topo.remote, topo.remote_addr, 7000)
    try:
        out = topo.guest.popen([PY, TCP_PEER, "clients", topo.remote_addr, "7000", "100"],
                               stdout=subprocess.PIPE)
        expect_all_echoed(run_clients(topo.remote, HOST_ADDR, 50007, 100), 100)
        res = json.loads(readline_within(out.stdout, 60, "the guest's clients"))
        expect_all_echoed(res, 100)
        used = {p for _, p in peers(outside, 100)}
        assert all(50000 <= p <= 50255 for p in used), sorted(used)
        assert {a for a, _ in peers(inside, 100)} == {topo.remote_addr}
    finally:
        inside.close()
        outside.close()


def test_all_ports_but_excluded(topo, start, merd_mode):
    """-t ~10000-32767, exclusions only: every other port but the host's
    ephemeral range and merd's own reaches the guest, each held by merd (so
    the 9,999 left fit the test machine's descriptor limit); as nobody
    without CAP_NET_BIND_SERVICE, the ports below 1024 are left out, and
    start-up says how many."""
    m = start("-t", "~10000-32767")
    servers = [EchoServer(topo.guest, "0.0.0.0", p) for p in (80, 1234, 9999)]
    try:
        for srv in servers[1:]:
            expect_all_echoed(run_clients(topo.remote, HOST_ADDR, srv.port, 1), 1)
        assert len(m.held("t")) >= 9999 - 1023
        if merd_mode == "caps":
            assert "leaves out 1023 host ports below 1024" in m.log()
            assert connect(topo.remote, HOST_ADDR, 80) == "refused"
        else:
            expect_all_echoed(run_clients(topo.remote, HOST_ADDR, 80, 1), 1)
        # Excluded, and the host's ephemeral range (32768-60999): closed
        assert connect(topo.remote, HOST_ADDR, 10000) == "refused"
        assert connect(topo.remote, HOST_ADDR, 40000) == "refused"
    finally:
        for s in servers:
            s.close()


# --- before the guest is there -----------------------------------------------

def test_refused_without_a_guest(topo, start, wire):
    """No guest yet: a SYN gets a reset and a datagram ICMP port unreachable,
    from the host's address and the forwarded port, as a closed port's."""
    start("-t", "8080", "-u", "5353", guest=False)
    t0 = time.monotonic()
    assert connect(topo.remote, HOST_ADDR, 8080) == "refused"
    assert udp_ask(topo.remote, HOST_ADDR, 5353) == "refused"
    assert time.monotonic() - t0 < 3


def test_refused_before_the_guest_has_an_address(topo, start):
    """A guest connected but not configured: refused, then served once it
    took its lease."""
    m = start("-t", "2222:22", lease=False)
    srv = EchoServer(topo.guest, "0.0.0.0", 22)
    try:
        assert connect(topo.remote, HOST_ADDR, 2222) == "refused"
        udhcpc(m.guest)
        expect_all_echoed(run_clients(topo.remote, HOST_ADDR, 2222, 1), 1)
    finally:
        srv.close()


# --- the host's own programs ------------------------------------------------

@pytest.mark.parametrize("addr", ["127.0.0.1", HOST_ADDR])
def test_host_programs_reach_the_guest(topo, start, addr):
    """A program on the host connecting to a forwarded port, at loopback or
    at the host's address, reaches the guest, which sees it from the
    gateway address."""
    start("-t", "2222:22")
    srv = EchoServer(topo.guest, "0.0.0.0", 22)
    try:
        expect_all_echoed(run_clients(topo.host, addr, 2222, 3), 3)
        assert {a for a, _ in peers(srv, 3)} == {GATEWAY}
    finally:
        srv.close()


def test_host_programs_with_no_map_gw(topo, start):
    """--no-map-gw: the host's own connections to a forwarded port are
    refused, the remote's still reach the guest."""
    start("-t", "2222:22", "--no-map-gw")
    srv = EchoServer(topo.guest, "0.0.0.0", 22)
    try:
        assert connect(topo.host, "127.0.0.1", 2222) == "refused"
        assert connect(topo.host, HOST_ADDR, 2222) == "refused"
        expect_all_echoed(run_clients(topo.remote, HOST_ADDR, 2222, 1), 1)
    finally:
        srv.close()


# --- IPv6 ---------------------------------------------------------------------

def test_ipv6_remote_client_and_100mib(topo6, start):
    """Over IPv6: the guest sees the remote's own address, and 100 MiB from
    the guest's server arrive byte-exact."""
    m = start("-t", "2222:22", "-t", "5001", topo=topo6)
    ready6(m.guest, topo6.router6)
    w = Wire(topo6, [m.guest], family=6)
    srv = EchoServer(topo6.guest, "::", 22)
    try:
        res = run_clients(topo6.remote, HOST_ADDR6, 2222, 2)
        expect_all_echoed(res, 2)
        assert {a for a, _ in peers(srv, 2)} == {topo6.remote_addr6}
        src = random_file(topo6, "in6.src", 100 * MIB)
        fsrv = serve_file(topo6.guest, src, 5001, family=6)
        fetch(topo6, HOST_ADDR6, 5001, src, "in6.dst")
        assert fsrv.wait(timeout=30) == 0
    finally:
        srv.close()
        w.kill()


def test_ipv6_udp_and_host_loopback(topo6, start):
    """Over IPv6: UDP through -u from the remote, and the host's own
    connection to ::1 reaching the guest from its router address."""
    m = start("-t", "2222:22", "-u", "5353:53", topo=topo6)
    ready6(m.guest, topo6.router6)
    udp_server(topo6.guest, 53, family=6)
    ans = udp_ask(topo6.remote, HOST_ADDR6, 5353, family=6)
    assert ipaddress.ip_address(ans[0].strip("[]")) == ipaddress.ip_address(topo6.remote_addr6)
    srv = EchoServer(topo6.guest, "::", 22)
    try:
        expect_all_echoed(run_clients(topo6.host, "::1", 2222, 2), 2)
        assert {a.split("%")[0] for a, _ in peers(srv, 2)} == {topo6.router6}
    finally:
        srv.close()


def test_ipv6_guest_refusals_reach_the_client(topo6, start):
    """Over IPv6 too: the guest's reset, and its ICMPv6 port unreachable,
    reach the remote client."""
    m = start("-t", "2222:22", "-u", "5353:53", topo=topo6)
    ready6(m.guest, topo6.router6)
    w = Wire(topo6, [m.guest], family=6)
    try:
        assert connect(topo6.remote, HOST_ADDR6, 2222) == "refused"
        assert udp_ask(topo6.remote, HOST_ADDR6, 5353, family=6) == "refused"
        w.assert_clean()
    finally:
        w.kill()


# --- start-up -----------------------------------------------------------------

def test_port_held_by_another_program(topo, merd_mode):
    """A forwarded port another program holds: merd doesn't start, exit
    status 1, and its one line names the port."""
    holder = topo.host.popen(["socat", "TCP4-LISTEN:8005,reuseaddr", "PIPE"])
    wait_listening(topo.host, 8005, "t")
    m = Merd(topo.host, ["-t", "8000-8010"], sock=topo.sock, wait=False, mode=merd_mode)
    assert m.exit_status() == 1, m.log()
    out = m.stop(expect_clean=False)
    assert "-t 8000-8010: host TCP port 8005 is held by another program" in out, out
    assert not os.path.exists(topo.sock)
    holder.kill()


def test_low_port_needs_cap_net_bind_service(topo):
    """Below 1024 without CAP_NET_BIND_SERVICE: one line saying so."""
    m = Merd(topo.host, ["-t", "80"], sock=topo.sock, wait=False, mode="caps")
    assert m.exit_status() == 1, m.log()
    out = m.stop(expect_clean=False)
    assert "host port 80 is below 1024: merd needs CAP_NET_BIND_SERVICE" in out, out


# --- the flow table -----------------------------------------------------------

def test_flow_table_on_sigusr1(topo, start):
    """SIGUSR1 lists every flow, inbound and outbound, TCP, UDP and ICMP,
    with its guest and peer ends, host port, who opened it, and packets
    and bytes each way; then a summary."""
    m = start("-t", "2222:22")
    inside = EchoServer(topo.guest, "0.0.0.0", 22)
    outside = EchoServer(topo.remote, topo.remote_addr, 7000)
    udp_server(topo.remote, 5300)
    try:
        cin = sock_in(topo.remote)
        cin.settimeout(5)
        cin.connect((HOST_ADDR, 2222))
        cin.sendall(b"x" * 1000)
        assert len(cin.recv(2000)) == 1000
        cout = sock_in(topo.guest)
        cout.settimeout(5)
        cout.connect((topo.remote_addr, 7000))
        cout.sendall(b"hello")
        assert cout.recv(100) == b"hello"
        # socat forks a child per datagram, which now and then misses the
        # first one on a loaded machine (as often with merd from before
        # this test existed): ask again, as a resolver would
        ans, udp_flows = udp_ask(topo.guest, topo.remote_addr, 5300), 1
        if ans == "timeout":
            ans, udp_flows = udp_ask(topo.guest, topo.remote_addr, 5300), 2
        assert ans[0] == HOST_ADDR, ans
        topo.guest.run(["ping", "-c", "2", "-i", "0.2", topo.remote_addr])
        client = cin.getsockname()

        m.proc.send_signal(signal.SIGUSR1)
        summary = m.wait_log(r"flows: (\d+) of 65536, .*; host ports: 1 blocks of 256 "
                             r"claimed, 1 forwarded ports held")
        assert int(summary.group(1)) == 3 + udp_flows
        log = m.log()
        inbound = re.search(r"flow \d+: TCP tcp-established guest %s:22 host port 2222 "
                            r"peer %s:%d, opened by the peer, \d+ s; from the guest "
                            r"(\d+) packets (\d+) bytes, to it (\d+) packets (\d+) bytes"
                            % (HOST_ADDR, client[0], client[1]), log)
        assert inbound, log
        # Handshake, 1000 bytes each way (in as many segments as TCP made)
        assert int(inbound.group(2)) >= 1000 + 2 * 40 and int(inbound.group(4)) >= 1000 + 2 * 40
        assert re.search(r"flow \d+: TCP tcp-established guest %s:\d+ host port \d+ peer "
                         r"%s:7000, opened by the guest" % (HOST_ADDR, topo.remote_addr), log)
        assert re.search(r"flow \d+: UDP udp guest %s:\d+ host port \d+ peer %s:5300, "
                         r"opened by the guest, \d+ s; from the guest 1 packets 34 bytes"
                         % (HOST_ADDR, topo.remote_addr), log), log
        assert re.search(r"flow \d+: ICMP icmp guest %s:\d+ host port \d+ peer %s:0, "
                         r"opened by the guest, \d+ s; from the guest 2 packets 168 bytes, "
                         r"to it 2 packets 168 bytes" % (HOST_ADDR, topo.remote_addr), log), log
        cin.close()
        cout.close()
    finally:
        inside.close()
        outside.close()
