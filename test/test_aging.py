# SPDX-License-Identifier: GPL-2.0-or-later
"""Flow aging and the flow table's limit, as a user sees them.

merd forgets a flow once it has been idle for its state's timeout
(--timeout STATE=SECONDS), and says so with --trace ("flow N: ... expired");
the host port stays held for the port's other flows and the next ones. A
packet the peer sends after that no longer reaches the guest, and a TCP
segment the guest sends on a forgotten connection draws a reset. UDP ages
as Linux conntrack: a single exchange is forgotten after "udp"; traffic
going on both ways two seconds after the flow began makes it a stream, kept
for "udp-stream". A full table (--flows) refuses new flows only when every
flow in it is live (TCP: reset; UDP and ICMP: ICMP "administratively
prohibited" from the gateway) and leaves the existing ones alone.

The guest is the guest namespace's Linux stack behind test/pump; the peers are
sockets in the remote namespace. Sockets are opened in a namespace by
switching this thread into it just for the socket() call (setns(2)), so the
test itself plays the guest's and the remote's applications.

merd's timer runs once a second and its clock counts whole seconds, so a
timeout of N seconds ends a flow between N - 1 and N + 1 seconds after its
last packet: the bounds below allow exactly that, plus polling slack.
"""

import errno
import re
import socket
import struct
import time

import pytest

from netns import GATEWAY, HOST_ADDR, REMOTE_ADDR, inside, log, sock_in, wait_for
from peers import EchoServer, inet_csum

pytestmark = pytest.mark.forwarding

ECHO_PORT = 7007        # TCP echo server on the remote
UDP_PORT = 7001         # UDP server that answers
QUIET_PORT = 7002       # UDP server that reads and never answers
SLACK = 2.5             # seconds allowed beyond a flow's latest expiry


def wait_expired(merd, proto, port, limit):
    """Until merd says a flow of proto ("TCP", "UDP", "ICMP") on host port
    expired; return how long that took."""
    t0 = time.monotonic()
    merd.wait_log(r"flow \d+: %s \S+, host port %d, expired" % (proto, port),
                  timeout=limit)
    took = time.monotonic() - t0
    log("%s flow on host port %d expired after %.2f s" % (proto, port, took))
    return took


def guest_connect(topo, port=ECHO_PORT, timeout=5):
    c = sock_in(topo.guest)
    c.settimeout(timeout)
    c.connect((REMOTE_ADDR, port))
    return c


def echo(c, data):
    c.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = c.recv(65536)
        assert chunk, "echo connection closed early"
        got += chunk
    assert got == data


@pytest.fixture
def echo_server(topo):
    e = EchoServer(topo.remote, REMOTE_ADDR, ECHO_PORT)
    yield e
    e.close()


# ---- UDP ------------------------------------------------------------------

def udp_pair(topo, port):
    """A UDP server on the remote and a connected client in the guest."""
    with inside(topo.remote):
        srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        srv.bind((REMOTE_ADDR, port))
    srv.settimeout(5)
    cli = sock_in(topo.guest, kind=socket.SOCK_DGRAM)
    cli.connect((REMOTE_ADDR, port))
    cli.settimeout(2)
    return srv, cli


def exchange(srv, cli, what):
    """The guest asks, the remote answers; return the host side the remote
    saw the question come from."""
    cli.send(what)
    data, host_side = srv.recvfrom(100)
    assert data == what
    srv.sendto(b"re: " + what, host_side)
    assert cli.recv(100) == b"re: " + what
    return host_side


def test_udp_single_exchange_expires(topo, start):
    """One exchange: forgotten after "udp", not "udp-stream"; a late answer
    is lost; the guest talking again starts a new flow."""
    merd = start("--trace", "--timeout", "udp=2", "--timeout", "udp-stream=6")
    srv, cli = udp_pair(topo, UDP_PORT)
    host_side = exchange(srv, cli, b"question")
    assert host_side[0] == HOST_ADDR
    hport = host_side[1]
    assert hport in merd.held("u"), "no socket holds host port %d" % hport

    took = wait_expired(merd, "UDP", hport, 2 + 1 + SLACK)
    assert took >= 2 - 1 - 0.5, "forgotten after %.1f s" % took

    # The remote answers again, now that merd forgot the flow: merd gets it
    # (its filter covers the port's block) and drops it
    srv.sendto(b"too late", host_side)
    merd.wait_log(r"no flow for protocol 17 from %s:%d to host port %d" %
                  (REMOTE_ADDR, UDP_PORT, hport))
    with pytest.raises(socket.timeout):
        got = cli.recv(100)
        pytest.fail("the guest got %r after its flow expired" % got)

    # The guest talks again: a new flow, and answers come through again
    exchange(srv, cli, b"again")
    for s in (cli, srv):
        s.close()


def test_udp_stream_outlives_single_exchange(topo, start):
    """Two flows start together; one has a single exchange, the other goes
    on talking both ways past two seconds: the first is forgotten after
    "udp", the second only after "udp-stream" (Linux conntrack's rule)."""
    merd = start("--trace", "--timeout", "udp=2", "--timeout", "udp-stream=6")
    pairs = {port: udp_pair(topo, port) for port in (UDP_PORT, QUIET_PORT)}
    hports = {port: exchange(*pairs[port], b"hello")[1] for port in pairs}
    time.sleep(1.2)
    exchange(*pairs[UDP_PORT], b"still there?")
    time.sleep(1.2)
    t_stream = time.monotonic()
    exchange(*pairs[UDP_PORT], b"and now?")
    # The single exchange goes first, its stream sibling stays
    wait_expired(merd, "UDP", hports[QUIET_PORT], 2 + SLACK)
    assert not re.search(r"host port %d, expired" % hports[UDP_PORT], merd.log()), \
        "the stream went with the single exchange"
    wait_expired(merd, "UDP", hports[UDP_PORT], 6 + 1 + SLACK)
    idle = time.monotonic() - t_stream
    assert idle >= 6 - 1, "the stream was forgotten after %.1f s idle" % idle
    for srv, cli in pairs.values():
        srv.close()
        cli.close()


# ---- TCP ------------------------------------------------------------------

def test_tcp_time_wait_releases_port(topo, start, echo_server):
    merd = start("--trace", "--timeout", "tcp-time-wait=2")
    c = guest_connect(topo)
    echo(c, b"hello")
    addr, hport = echo_server.peers.get(timeout=5)
    assert addr == HOST_ADDR
    assert hport in merd.held("t"), "no listener holds host port %d" % hport

    # Normal close, the guest first: FIN, FIN, ACK
    c.shutdown(socket.SHUT_WR)
    assert c.recv(100) == b""
    c.close()
    # All other timeouts are the defaults (10 s and more): only time-wait's
    # 2 s can release the port this soon
    took = wait_expired(merd, "TCP", hport, 2 + 1 + SLACK)
    assert took >= 2 - 1 - 0.5, "closed connection forgotten after %.1f s" % took
    # ...and the next connection works
    c = guest_connect(topo)
    echo(c, b"next")
    c.close()


def test_tcp_idle_established_forgotten(topo, start, echo_server):
    """Idle for tcp-established: forgotten, port released, and the guest's
    next segment on the connection is answered with a reset."""
    merd = start("--trace", "--timeout", "tcp-established=3")
    c = guest_connect(topo)
    echo(c, b"hello")
    _, hport = echo_server.peers.get(timeout=5)
    t_last = time.monotonic()
    assert hport in merd.held("t")

    time.sleep(1)
    assert "expired" not in merd.log(), "forgotten after idling 1 s of 3"
    wait_expired(merd, "TCP", hport, 3 + 1 + SLACK)
    idle = time.monotonic() - t_last
    assert idle >= 3 - 1, "forgotten after %.1f s" % idle

    c.sendall(b"anyone there?")
    t0 = time.monotonic()
    with pytest.raises(ConnectionResetError):
        got = c.recv(100)
        pytest.fail("the guest got %r on a forgotten connection" % got)
    assert time.monotonic() - t0 < 2, "the reset took %.1f s" % (time.monotonic() - t0)
    c.close()


# ---- ICMP echo ---------------------------------------------------------------

def icmp_echo(kind, ident, seq, payload):
    """ICMP echo request (kind 8) or reply (kind 0), checksummed."""
    h = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + payload
    return h[:2] + struct.pack("!H", inet_csum(h)) + h[4:]


def recv_icmp(s, want, deadline):
    """Next ICMP message matching want(src, type, code, ident, seq, payload),
    from a raw socket, before deadline; None if none came."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            pkt, (src, _) = s.recvfrom(65536)
        except socket.timeout:
            return None
        ihl = (pkt[0] & 0xf) * 4
        t, code, _, ident, seq = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
        m = (src, t, code, ident, seq, pkt[ihl + 8:])
        if want(*m):
            return m


def test_icmp_echo_flow_expires(topo, start):
    """An echo flow holds its host identifier (a UDP port) and releases it
    after --timeout icmp; a reply the remote sends later is lost."""
    merd = start("--trace", "--timeout", "icmp=2")
    # The remote answers echo requests when the test says so, not by itself
    topo.remote.run("sysctl -qw net.ipv4.icmp_echo_ignore_all=1")
    rem = sock_in(topo.remote, kind=socket.SOCK_RAW, proto=socket.IPPROTO_ICMP)
    gst = sock_in(topo.guest, kind=socket.SOCK_RAW, proto=socket.IPPROTO_ICMP)
    gid = 0x4d52

    def request_at_remote(seq):
        m = recv_icmp(rem, lambda src, t, c, i, s, p: t == 8 and s == seq and
                      p.startswith(b"merd"), time.monotonic() + 5)
        assert m, "echo request %d never reached the remote" % seq
        assert m[0] == HOST_ADDR
        return m[3]

    def reply_at_guest(seq, wait):
        return recv_icmp(gst, lambda src, t, c, i, s, p: t == 0 and i == gid and s == seq,
                         time.monotonic() + wait)

    gst.sendto(icmp_echo(8, gid, 1, b"merd-1"), (REMOTE_ADDR, 0))
    hid = request_at_remote(1)
    rem.sendto(icmp_echo(0, hid, 1, b"merd-1"), (HOST_ADDR, 0))
    m = reply_at_guest(1, 3)
    assert m and m[0] == REMOTE_ADDR and m[5] == b"merd-1", \
        "the guest got no echo reply with its own identifier"
    assert hid in merd.held("u"), "identifier %d not held" % hid

    took = wait_expired(merd, "ICMP", hid, 2 + 1 + SLACK)
    assert took >= 2 - 1 - 0.5

    rem.sendto(icmp_echo(0, hid, 2, b"merd-2"), (HOST_ADDR, 0))
    merd.wait_log(r"no flow for protocol 1 from %s:0 to host port %d" % (REMOTE_ADDR, hid))
    assert reply_at_guest(2, 1.5) is None, "a reply reached the guest after its flow expired"

    # A new request starts a new flow, and its reply gets through
    gst.sendto(icmp_echo(8, gid, 3, b"merd-3"), (REMOTE_ADDR, 0))
    hid3 = request_at_remote(3)
    rem.sendto(icmp_echo(0, hid3, 3, b"merd-3"), (HOST_ADDR, 0))
    assert reply_at_guest(3, 3), "no reply once the flow was renewed"
    rem.close()
    gst.close()


# ---- a full flow table --------------------------------------------------------

SOL_IP = 0
IP_RECVERR = 11
SO_EE_ORIGIN_ICMP = 2


def icmp_error_of(u, wait):
    """The ICMP error queued on a UDP socket with IP_RECVERR:
    (errno, type, code, offender address), or None."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            _, anc, _, _ = u.recvmsg(1024, 1024, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except BlockingIOError:
            time.sleep(0.05)
            continue
        for level, kind, data in anc:
            if level == SOL_IP and kind == IP_RECVERR:
                ee_errno, origin, t, code = struct.unpack("=IBBB", data[:7])
                assert origin == SO_EE_ORIGIN_ICMP
                offender = socket.inet_ntoa(data[16 + 4:16 + 8])
                return ee_errno, t, code, offender
    return None


def test_full_table_refuses_new_flows_only(topo, start, echo_server):
    merd = start("--trace", "--flows", "4")
    conns = []
    for i in range(4):
        conns.append(guest_connect(topo))
        echo(conns[-1], b"flow %d" % i)
    hports = [echo_server.peers.get(timeout=5)[1] for _ in conns]
    assert set(hports) <= merd.held("t")

    # A fifth connection: refused at once (a reset for its SYN)
    c5 = sock_in(topo.guest)
    c5.settimeout(5)
    t0 = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        c5.connect((REMOTE_ADDR, ECHO_PORT))
    assert time.monotonic() - t0 < 1, "refusal took %.1f s" % (time.monotonic() - t0)
    c5.close()

    # UDP to somewhere new: ICMP administratively prohibited from the gateway
    u = sock_in(topo.guest, kind=socket.SOCK_DGRAM)
    u.setsockopt(SOL_IP, IP_RECVERR, 1)
    u.connect((REMOTE_ADDR, UDP_PORT))
    u.send(b"anyone?")
    e = icmp_error_of(u, 3)
    assert e == (errno.EHOSTUNREACH, 3, 13, GATEWAY), "ICMP error seen: %r" % (e,)
    u.close()

    # ICMP echo too: ping says the packet was filtered, by the gateway
    p = topo.guest.run(["ping", "-n", "-c", "1", "-W", "2", REMOTE_ADDR], check=False)
    assert p.returncode != 0
    assert re.search(r"From %s .*Packet filtered" % re.escape(GATEWAY), p.stdout), p.stdout

    # None of that reached the remote, and the four flows still work
    assert echo_server.peers.empty(), "a refused connection reached the remote"
    for i, c in enumerate(conns):
        echo(c, b"still here %d" % i)
    assert set(hports) <= merd.held("t")

    # Closed, the guest first, they are finished: in TIME_WAIT (120 s by
    # default) they give way to new flows at once
    for c in conns:
        c.shutdown(socket.SHUT_WR)
        assert c.recv(100) == b""
        c.close()

    def fresh_connection():
        try:
            c = guest_connect(topo)
        except ConnectionRefusedError:
            return None
        echo(c, b"room again")
        return c
    t0 = time.monotonic()
    again = wait_for(fresh_connection, 2, "room in the flow table", interval=0.25)
    log("new connection accepted %.2f s after the close" % (time.monotonic() - t0))
    merd.wait_log(r"given way: table full")
    again.close()
