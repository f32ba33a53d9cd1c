# SPDX-License-Identifier: GPL-2.0-or-later
"""Off-path attacks on the guest's flows: spoofed segments and guessable
ports.

An attacker in the remote namespace who knows a flow's addresses and ports
sends RST, FIN and RST+ACK as if from the peer (scapy). Those outside the
sequence window merd has seen (conntrack.c, as Linux's tcp_in_window())
are dropped and counted as out-of-window: the guest never sees them and the
flow goes on, longer than every closing state's timeout. Those inside it
do what the peer's own would: the guest's connection is reset or closed.

The guest is the guest namespace's Linux stack (leased fixture), the peer
tcp_peer.py's echo server. The test plays the guest's application with a
socket of the guest namespace.
"""

import json
import socket
import subprocess
import time

import pytest

from netns import HOST_ADDR, REMOTE_ADDR, readline_within, sock_in
from peers import PY, EchoServer


# Every state a spoofed segment could move a flow to expires within this
# (--timeout); the test waits longer than that before trying the flow again
CLOSE_TIMEOUT = 2
SHORT = ["--timeout=%s=%d" % (s, CLOSE_TIMEOUT) for s in
         ("tcp-fin-wait", "tcp-close-wait", "tcp-last-ack", "tcp-time-wait",
          "tcp-close")]
PORT = 7700
# Far outside any window a flow has seen (RFC 9293's sequence space wraps at
# 2^32; conntrack's windows are at most 2^30, scaled)
FAR = 1 << 31

# Sniffs the peer's next data segment to the host port, then sends one
# segment as the peer: FLAGS, its sequence number the peer's next plus OFF,
# acknowledging what the peer last acknowledged
SPOOF = r"""
import json, sys
from scapy.all import IP, TCP, Raw, AsyncSniffer, send
peer, host, pport, hport, flags, off = sys.argv[1:7]
pport, hport, off = int(pport), int(hport), int(off)
s = AsyncSniffer(iface="r0", count=1,
                 filter="tcp and src host %s and src port %d and dst port %d"
                        % (peer, pport, hport),
                 lfilter=lambda p: p.haslayer(Raw),
                 started_callback=lambda: print("ready", flush=True))
s.start()
s.join(timeout=10)
if not s.results:
    print(json.dumps({"error": "no segment from the peer seen"}), flush=True)
    sys.exit(1)
p = s.results[0][TCP]
nxt = (p.seq + len(p[Raw].load)) % (1 << 32)
send(IP(src=peer, dst=host) /
     TCP(sport=pport, dport=hport, flags=flags, seq=(nxt + off) % (1 << 32),
         ack=p.ack if "A" in flags else 0, window=p.window), verbose=0)
print(json.dumps({"seq": nxt, "ack": p.ack}), flush=True)
"""


@pytest.fixture
def echo(topo):
    s = EchoServer(topo.remote, REMOTE_ADDR, PORT)
    yield s
    s.close()


def connect(topo, echo):
    """A connection of the guest's to the echo server, one exchange made;
    returns it and its host port (what the server saw)."""
    c = sock_in(topo.guest)
    c.settimeout(5)
    c.connect((REMOTE_ADDR, PORT))
    exchange(c, b"hello")
    addr, hport = echo.peers.get(timeout=5)
    assert addr == HOST_ADDR
    return c, hport


def exchange(c, data):
    """Send data on c and read its echo back."""
    c.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = c.recv(len(data) - len(got))
        assert chunk, "the connection was closed after %r" % got
        got += chunk
    assert got == data


def spoof(topo, c, hport, flags, off):
    """The attacker's segment, sent right after the peer's echo of the
    guest's next data (so its sequence number is the peer's next, plus off);
    returns what the attacker saw of the flow."""
    p = topo.remote.popen([PY, "-c", SPOOF, REMOTE_ADDR, HOST_ADDR, str(PORT),
                           str(hport), flags, str(off)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = readline_within(p.stdout, 20, "the attacker's sniffer")
        assert line.strip() == "ready", (line, p.stderr.read())
        exchange(c, b"bait")
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, (out, err)
    return json.loads(out.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("flags", ["R", "F", "RA", "FA"])
def test_out_of_window_segment_ends_nothing(topo, start, echo, flags):
    """Out of the window, an RST, FIN or RST+ACK as if from the peer is
    dropped and counted: the guest never sees it, and the flow still
    carries data after every closing state's timeout has passed."""
    m = start("--trace", *SHORT)
    c, hport = connect(topo, echo)
    seen = spoof(topo, c, hport, flags, FAR)
    time.sleep(2 * CLOSE_TIMEOUT + 1)
    # Had merd let it through, the guest would have been reset (a read
    # error) or closed (an empty read); had merd taken it, the flow would
    # have expired and this would draw merd's reset
    exchange(c, b"still here")
    c.close()
    assert m.drops().get("out-of-window", 0) == 1, seen


@pytest.mark.parametrize("flags", ["R", "RA"])
def test_in_window_reset_ends_the_flow(topo, start, echo, flags):
    """In the window, the same reset is the peer's as far as anyone can
    tell: the guest's connection is reset, as it would be by the peer."""
    m = start(*SHORT)
    c, hport = connect(topo, echo)
    spoof(topo, c, hport, flags, 0)
    with pytest.raises(ConnectionResetError):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            c.send(b"x")
            time.sleep(0.2)
    c.close()
    assert m.drops().get("out-of-window", 0) == 0


def test_in_window_fin_closes_the_flow(topo, start, echo):
    """In the window, a FIN reaches the guest: its application reads the
    end of the stream."""
    m = start(*SHORT)
    c, hport = connect(topo, echo)
    spoof(topo, c, hport, "FA", 0)
    assert c.recv(100) == b""
    c.close()
    assert m.drops().get("out-of-window", 0) == 0


def test_consecutive_host_ports_show_no_sequence(topo, start, echo):
    """20 consecutive connections of the guest's to one peer leave from host
    ports in no visible order (RFC 6056 algorithm 1, RFC 5452): not
    monotonic, no common step, hardly ever neighbours."""
    start()
    ports = []
    for _ in range(20):
        c = sock_in(topo.guest)
        c.settimeout(5)
        c.connect((REMOTE_ADDR, PORT))
        exchange(c, b"p")
        ports.append(echo.peers.get(timeout=5)[1])
        c.close()
    assert len(set(ports)) == 20, ports
    steps = [b - a for a, b in zip(ports, ports[1:])]
    # With 256 claimed ports, the chance of any of these by accident is
    # below one in a thousand
    assert ports != sorted(ports) and ports != sorted(ports, reverse=True), ports
    assert len(set(steps)) >= 15, steps
    assert sum(1 for d in steps if abs(d) <= 2) <= 3, steps


def test_resolver_queries_show_no_sequence(topo, start):
    """A resolver's datagrams from random source ports leave from host ports
    that are no more predictable: 20 queries to one server, in order, take
    20 different host ports in no order."""
    start()
    srv = sock_in(topo.remote, kind=socket.SOCK_DGRAM)
    srv.bind((REMOTE_ADDR, 5353))
    srv.settimeout(5)
    ports = []
    for i in range(20):
        q = sock_in(topo.guest, kind=socket.SOCK_DGRAM)
        q.sendto(b"query %d" % i, (REMOTE_ADDR, 5353))
        data, (addr, port) = srv.recvfrom(100)
        assert data == b"query %d" % i and addr == HOST_ADDR
        ports.append(port)
        q.close()
    srv.close()
    steps = [b - a for a, b in zip(ports, ports[1:])]
    assert len(set(ports)) == 20, ports
    assert len(set(steps)) >= 15, steps
