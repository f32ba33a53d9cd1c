# SPDX-License-Identifier: GPL-2.0-or-later
"""TCP through merd: bulk transfers both ways, hundreds of concurrent
connections, refused connections, ports other programs hold, two merds on
one host, and a wire that stays clean throughout.

The guest is the guest namespace's own Linux stack behind tap0 (leased
fixture); its peers are real programs in the remote namespace (socat, and
test/tcp_peer.py run with the system python). Every traffic test also
captures the wire (r0, in the remote namespace) and the guest's tap0, and
checks that the host's stack never spoke for the guest: every reset leaving
from the host's address is one the guest sent itself, and no ICMP
destination unreachable leaves from it at all (see Wire).
"""

import json
import os
import subprocess
import time

import pytest
from scapy.all import TCP

from merdtest import Guest, held_ports, udhcpc
from netns import (GATEWAY, HOST_ADDR, REMOTE_ADDR, Namespace, log, readline_within,
                   wait_listening)
from peers import MIB, PY, TCP_PEER, EchoServer, random_file, sha256_file
from wire import Wire

pytestmark = pytest.mark.forwarding

# merd's default host port range: above the namespace's ephemeral range
# (32768-60999), claimed in blocks of 256 whose first port marks the claim
PORTS_LO = 61000
PORT_BLOCK = 256


# --- helpers -----------------------------------------------------------------

def run_clients(ns, addr, port, count, *extra, timeout=60):
    """tcp_peer.py clients in ns, to completion; returns its JSON result."""
    p = ns.run([PY, TCP_PEER, "clients", addr, str(port), str(count)] + list(extra),
               timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])


class Holder:
    """tcp_peer.py clients --hold: COUNT echoed connections, kept open."""

    def __init__(self, ns, addr, port, count, size=1024, timeout=60):
        self.p = ns.popen([PY, TCP_PEER, "clients", addr, str(port), str(count),
                           "--size", str(size), "--hold", "--timeout", str(timeout)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.timeout = timeout

    def wait_holding(self):
        line = readline_within(self.p.stdout, self.timeout + 5,
                               "the clients to hold their connections")
        assert line, "client ended without holding its connections"
        return json.loads(line)

    def release(self, timeout=30):
        self.p.stdin.write(b"go\n")
        self.p.stdin.flush()
        out, _ = self.p.communicate(timeout=timeout)
        return json.loads(out.decode().strip().splitlines()[-1])


def expect_all_echoed(res, count):
    assert res["errors"] == {}, "failed connections: %s" % dict(list(res["errors"].items())[:10])
    assert res["connected"] == count
    assert res["echoed"] == count


@pytest.fixture
def wire(topo, leased):
    w = Wire(topo, [leased])
    yield w
    w.kill()


def download(topo, guest, size, port, name="dl"):
    """The guest fetches size random bytes from socat in the remote namespace."""
    src = random_file(topo, name + ".src", size)
    dst = os.path.join(topo.tmp, name + ".dst")
    srv = topo.remote.popen(["socat", "-u", "OPEN:" + src,
                             "TCP-LISTEN:%d,bind=%s,reuseaddr" % (port, REMOTE_ADDR)])
    wait_listening(topo.remote, port)
    t0 = time.monotonic()
    guest.ns.run(["socat", "-u", "TCP:%s:%d" % (REMOTE_ADDR, port), "CREATE:" + dst],
                 timeout=60)
    dt = time.monotonic() - t0
    assert srv.wait(timeout=10) == 0
    log("download: %d bytes in %.1f s, %.0f MiB/s" % (size, dt, size / MIB / dt))
    return src, dst


# --- bulk transfers ----------------------------------------------------------

def test_download_100mib(topo, leased, wire):
    src, dst = download(topo, leased, 100 * MIB, 5001)
    assert os.path.getsize(dst) == 100 * MIB
    assert sha256_file(dst) == sha256_file(src)
    wire.assert_clean({(REMOTE_ADDR, 5001): 1})


def test_upload_100mib(topo, leased, wire):
    src = random_file(topo, "up.src", 100 * MIB)
    dst = os.path.join(topo.tmp, "up.dst")
    srv = topo.remote.popen(["socat", "-u",
                             "TCP-LISTEN:5002,bind=%s,reuseaddr" % REMOTE_ADDR,
                             "CREATE:" + dst])
    wait_listening(topo.remote, 5002)
    t0 = time.monotonic()
    topo.guest.run(["socat", "-u", "OPEN:" + src, "TCP:%s:5002" % REMOTE_ADDR], timeout=60)
    assert srv.wait(timeout=30) == 0
    log("upload: 100 MiB in %.1f s" % (time.monotonic() - t0))
    assert os.path.getsize(dst) == 100 * MIB
    assert sha256_file(dst) == sha256_file(src)
    wire.assert_clean({(REMOTE_ADDR, 5002): 1})


# --- many connections --------------------------------------------------------

def test_200_concurrent_connections(topo, merd, leased, wire):
    """200 connections open at once, each echoing its own 16 KiB; each
    leaves from a host port of its own, which merd holds meanwhile."""
    EchoServer(topo.remote, REMOTE_ADDR, 7000)
    h = Holder(topo.guest, REMOTE_ADDR, 7000, 200, size=16384)
    assert h.wait_holding()["connected"] == 200
    flow_ports = merd.held()
    assert len(flow_ports) >= 200, "merd holds %d ports" % len(flow_ports)
    res = h.release()
    expect_all_echoed(res, 200)
    r = wire.assert_clean({(REMOTE_ADDR, 7000): 200})
    # Each connection left from a port merd held for it
    wire_ports = {s[0] for s in r["syns"] if s[2] == 7000}
    assert len(wire_ports) == 200, sorted(wire_ports)
    assert wire_ports <= flow_ports, sorted(wire_ports - flow_ports)


@pytest.mark.parametrize("where", ["remote", "gateway"])
def test_closed_port_refused_quickly(topo, leased, wire, where):
    """connect() to a port nobody listens on fails with ECONNREFUSED within
    1 s: on the remote, and on the gateway address (the host itself). The
    refusal is the peer's own, not merd's: each SYN is seen where it went
    (on the wire, or on the host's loopback), answered by a reset there."""
    addr = REMOTE_ADDR if where == "remote" else GATEWAY
    lo = Wire(topo, also=[(topo.host, "lo", "tcp")]) if where == "gateway" else None
    ports = (9, 5999, 40000)
    for port in ports:
        p = topo.guest.run([PY, TCP_PEER, "connect", addr, str(port), "--timeout", "5"])
        res = json.loads(p.stdout)
        assert res["outcome"] == "refused", res
        assert res["elapsed"] < 1.0, res
    if where == "remote":
        wire.assert_clean({(REMOTE_ADDR, port): 1 for port in ports})
        return
    wire.assert_clean()
    seen = [p for p in lo.packets(1) if p.haslayer(TCP)]
    lo.kill()
    for port in ports:
        assert [str(p[TCP].flags) for p in seen if port in (p[TCP].sport, p[TCP].dport)] \
            == ["S", "RA"], [p.summary() for p in seen]


# --- the wire check itself ---------------------------------------------------

def test_wire_check_flags_host_stack(topo, leased, wire):
    """The wire check separates the guest's own resets from the host's.

    The guest aborts 5 connections (SO_LINGER 0): merd forwards those
    resets and the check must account for every one. Then the remote
    provokes the host's own stack, a connection to a closed host port (a
    reset) and a datagram to a closed host port (ICMP port unreachable):
    the check must report exactly those two.
    """
    EchoServer(topo.remote, REMOTE_ADDR, 7000)
    res = run_clients(topo.guest, REMOTE_ADDR, 7000, 10, "--abort", "5")
    expect_all_echoed(res, 10)
    p = topo.remote.run([PY, TCP_PEER, "connect", HOST_ADDR, "9"])
    assert json.loads(p.stdout)["outcome"] == "refused"
    topo.remote.run([PY, "-c", "import socket; s = socket.socket(socket.AF_INET, "
                     "socket.SOCK_DGRAM); s.sendto(b'x', ('%s', 9))" % HOST_ADDR])
    wire.stop()
    r = wire.analyse()
    # (a reset may be repeated, for a segment the peer had in flight)
    assert len({u["tcp.srcport"] for u in r["matched"]}) == 5, Wire.show(r["matched"])
    assert [(u["ip.dst"], u["tcp.srcport"]) for u in r["unmatched"]] == [(REMOTE_ADDR, "9")]
    assert [(u["icmp.type"], u["icmp.code"]) for u in r["unreach"]] == [("3", "3")]


# --- ports other programs hold -----------------------------------------------

def test_host_program_holds_guest_source_port(topo, leased, wire):
    """A host program listens on TCP port 40000 and has UDP port 40000; the
    guest connects from source port 40000 all the same, and the host
    program keeps its ports and keeps working."""
    prog = EchoServer(topo.host, "0.0.0.0", 40000).proc
    udp = topo.host.popen(["socat", "UDP4-RECVFROM:40000,fork", "PIPE"])
    wait_listening(topo.host, 40000, "u")
    EchoServer(topo.remote, REMOTE_ADDR, 7000)
    topo.remote.popen(["socat", "UDP4-RECVFROM:7000,bind=%s,fork" % REMOTE_ADDR, "PIPE"])
    wait_listening(topo.remote, 7000, "u")

    p = topo.guest.run("echo guest-tcp | socat -t 2 - TCP:%s:7000,sourceport=40000"
                       % REMOTE_ADDR, timeout=20)
    assert p.stdout == "guest-tcp\n"
    p = topo.guest.run("echo guest-udp | socat -t 1 - UDP:%s:7000,sourceport=40000"
                       % REMOTE_ADDR, timeout=20)
    assert p.stdout == "guest-udp\n"

    # The host program still holds its ports and answers the remote
    tcp, udps = held_ports(topo.host), held_ports(topo.host, "u")
    assert 40000 in tcp.get(prog.pid, set()), tcp
    assert 40000 in udps.get(udp.pid, set()), udps
    res = run_clients(topo.remote, HOST_ADDR, 40000, 3)
    expect_all_echoed(res, 3)
    p = topo.remote.run("echo remote-udp | socat -t 1 - UDP:%s:40000" % HOST_ADDR, timeout=20)
    assert p.stdout == "remote-udp\n"
    r = wire.assert_clean({(REMOTE_ADDR, 7000): 1})
    # On the wire, the connection left from a port of merd's range
    assert all(s[0] > PORTS_LO for s in r["syns"] if s[2] == 7000), r["syns"]


@pytest.mark.parametrize("held", [PORTS_LO, PORTS_LO + 1], ids=["block-port", "flow-port"])
def test_host_program_holds_port_in_merd_range(topo, start, held):
    """A host program holds, before merd starts, a port of merd's range:
    the port that marks the first block's claim, or another port of that
    block, which any flow could draw.
    merd leaves it alone; the guest's connections, even from that same
    port number, work; the host program keeps its port and keeps serving."""
    prog = EchoServer(topo.host, "0.0.0.0", held).proc
    topo.host.popen(["socat", "UDP4-RECVFROM:%d,fork" % held, "PIPE"])
    wait_listening(topo.host, held, "u")
    m = start()
    w = Wire(topo, [m.guest])
    EchoServer(topo.remote, REMOTE_ADDR, 7000)

    p = topo.guest.run("echo guest | socat -t 2 - TCP:%s:7000,sourceport=%d"
                       % (REMOTE_ADDR, held), timeout=20)
    assert p.stdout == "guest\n"
    h = Holder(topo.guest, REMOTE_ADDR, 7000, 20)
    assert h.wait_holding()["connected"] == 20
    held_now = held_ports(topo.host)
    assert held in held_now.get(prog.pid, set()), held_now
    mports = held_now.get(m.proc.pid, set())
    assert held not in mports
    expect_all_echoed(h.release(), 20)

    # The host program still answers the remote on its port
    expect_all_echoed(run_clients(topo.remote, HOST_ADDR, held, 3), 3)
    p = topo.remote.run("echo remote | socat -t 1 - UDP:%s:%d" % (HOST_ADDR, held),
                        timeout=20)
    assert p.stdout == "remote\n"

    r = w.assert_clean({(REMOTE_ADDR, 7000): 21})
    flows = {s[0] for s in r["syns"] if s[2] == 7000}
    assert held not in flows
    # The 20 held connections left from ports merd held for them
    assert len(flows & mports) >= 20, (sorted(flows), sorted(mports))
    if held == PORTS_LO:
        # The first block was taken: merd claimed another one
        assert all(p >= PORTS_LO + PORT_BLOCK for p in flows | mports), sorted(mports)


# --- two merds ---------------------------------------------------------------

def test_two_merds_one_host(topo, start):
    """Two merds in the same host namespace, each serving its own guest:
    both guests get the host's address, both download 20 MiB at the same
    time, intact, and each merd's flows use host ports from its own
    blocks."""
    guests, merds = [], []
    ns2 = Namespace(topo, "guest2")
    for ns, sock in ((topo.guest, topo.sock), (ns2, os.path.join(topo.tmp, "merd2.socket"))):
        merds.append(start(sock=sock, guest=False))
        guests.append(Guest(ns, sock))
    for g in guests:
        lease, _ = udhcpc(g)
        assert lease["ip"] == HOST_ADDR and lease["router"] == GATEWAY
    w = Wire(topo, guests)

    size = 20 * MIB
    jobs = []
    for i, g in enumerate(guests):
        src = random_file(topo, "dl%d.src" % i, size)
        dst = os.path.join(topo.tmp, "dl%d.dst" % i)
        srv = topo.remote.popen(["socat", "-u", "OPEN:" + src,
                                 "TCP-LISTEN:%d,bind=%s,reuseaddr" % (5001 + i, REMOTE_ADDR)])
        wait_listening(topo.remote, 5001 + i)
        EchoServer(topo.remote, REMOTE_ADDR, 7001 + i)
        jobs.append((src, dst, srv))
    # Both downloads and both sets of held connections at once
    dls = [g.ns.popen(["socat", "-u", "TCP:%s:%d" % (REMOTE_ADDR, 5001 + i),
                       "CREATE:" + jobs[i][1]])
           for i, g in enumerate(guests)]
    holders = [Holder(g.ns, REMOTE_ADDR, 7001 + i, 10) for i, g in enumerate(guests)]
    for h in holders:
        assert h.wait_holding()["connected"] == 10
    held = held_ports(topo.host)
    ports = [held.get(m.proc.pid, set()) for m in merds]
    for h in holders:
        expect_all_echoed(h.release(), 10)
    for d in dls:
        assert d.wait(timeout=60) == 0
    for src, dst, srv in jobs:
        assert srv.wait(timeout=10) == 0
        assert os.path.getsize(dst) == size
        assert sha256_file(dst) == sha256_file(src)

    r = w.assert_clean({(REMOTE_ADDR, 5001): 1, (REMOTE_ADDR, 5002): 1,
                        (REMOTE_ADDR, 7001): 10, (REMOTE_ADDR, 7002): 10})
    # The downloads overlapped: both had started before either ended
    started = max(min(s[3] for s in r["syns"] if s[2] == 5001 + i) for i in range(2))
    ended = min(min(f[2] for f in r["fins"] if f[1] == 5001 + i) for i in range(2))
    assert started < ended, "the downloads didn't run at the same time"
    log("merd ports: %s / %s" % (sorted(ports[0]), sorted(ports[1])))
    assert ports[0] and ports[1]
    assert not ports[0] & ports[1]
    blocks = [{(p - PORTS_LO) // PORT_BLOCK for p in s} for s in ports]
    assert not blocks[0] & blocks[1], blocks
    # Each guest's connections left from ports its own merd held
    for i in range(2):
        flows = {s[0] for s in r["syns"] if s[2] == 7001 + i}
        assert len(flows) == 10 and flows <= ports[i], (i, sorted(flows), sorted(ports[i]))
