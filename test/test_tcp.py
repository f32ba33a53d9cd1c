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

import hashlib
import json
import os
import re
import signal
import subprocess
import time

import pytest

from merdtest import Guest, Merd, udhcpc
from netns import GATEWAY, HOST_ADDR, REMOTE_ADDR, Namespace, log, wait_for

PY = "/usr/bin/python3"
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcp_peer.py")
MIB = 1024 * 1024
# merd's default host port range: above the namespace's ephemeral range
# (32768-60999), claimed in blocks of 256 whose first port marks the claim
PORTS_LO = 61000
PORT_BLOCK = 256


# --- helpers -----------------------------------------------------------------

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def random_file(topo, name, size):
    path = os.path.join(topo.tmp, name)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n
    return path


def wait_listening(ns, port, proto="t", timeout=10):
    """Until something in ns listens on (TCP) or is bound to (UDP) port."""
    def bound():
        out = ns.run(["ss", "-%slnH" % proto, "sport = :%d" % port], check=False).stdout
        return out.strip() != ""
    wait_for(bound, timeout, "port %d in %s" % (port, ns.role), interval=0.05)


def held_ports(ns, proto="t"):
    """{pid: set of ports} of the sockets listening (TCP) or bound (UDP) in ns."""
    out = ns.run(["ss", "-%slnpH" % proto]).stdout
    held = {}
    for line in out.splitlines():
        m = re.search(r"\S+:(\d+)\s+\S+\s+users:(.*)", line)
        if m:
            # Every process sharing the socket (a forking server's children)
            for pid in re.findall(r"pid=(\d+)", m.group(2)):
                held.setdefault(int(pid), set()).add(int(m.group(1)))
    return held


def start_echo(ns, addr, port):
    """tcp_peer.py's echo server in ns, once it listens."""
    p = ns.popen([PY, PEER, "serve", addr, str(port)], stdout=subprocess.PIPE,
                 universal_newlines=True)
    assert p.stdout.readline().strip() == "listening"
    return p


def run_clients(ns, addr, port, count, *extra, timeout=60):
    """tcp_peer.py clients in ns, to completion; returns its JSON result."""
    p = ns.run([PY, PEER, "clients", addr, str(port), str(count)] + list(extra),
               timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])


class Holder:
    """tcp_peer.py clients --hold: COUNT echoed connections, kept open."""

    def __init__(self, ns, addr, port, count, size=1024, timeout=60):
        self.p = ns.popen([PY, PEER, "clients", addr, str(port), str(count),
                           "--size", str(size), "--hold", "--timeout", str(timeout)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          universal_newlines=True)

    def wait_holding(self):
        line = self.p.stdout.readline()
        assert line, "client ended without holding its connections"
        return json.loads(line)

    def release(self, timeout=30):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        out, _ = self.p.communicate(timeout=timeout)
        return json.loads(out.strip().splitlines()[-1])


def expect_all_echoed(res, count):
    assert res["errors"] == {}, "failed connections: %s" % dict(list(res["errors"].items())[:10])
    assert res["connected"] == count
    assert res["echoed"] == count


class Wire:
    """Captures on the wire (r0, remote namespace) and on the guests' tap0.

    Only what the check needs is captured (SYNs, resets, ICMP), so that
    nothing is dropped even during bulk transfers; tcpdump's own count of
    kernel drops is checked to be zero, and the SYNs the test made must all
    be there, so a capture that missed packets can't pass for a clean one.

    A reset from the host's address on the wire is accounted for if one of
    the guests sent a reset with the same sequence number to the same peer
    address and port: NAT rewrites the guest's port, never its sequence
    numbers. Any other reset from the host's address came from the host's
    own stack, which is what merd's port holders are there to prevent; so
    does any ICMP destination unreachable from the host's address (merd
    never forwards the guest's ICMP errors). test_wire_check_flags_host_stack
    shows the check catching both.
    """

    WIRE_FILTER = "(tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0) or icmp"
    TAP_FILTER = "tcp[tcpflags] & (tcp-syn|tcp-rst) != 0"

    def __init__(self, topo, guests):
        self.caps = []
        self._start(topo.remote, "r0", self.WIRE_FILTER, os.path.join(topo.tmp, "wire.pcap"))
        for i, g in enumerate(guests):
            self._start(g.ns, g.ifname, self.TAP_FILTER,
                        os.path.join(topo.tmp, "tap-%d.pcap" % i))

    def _start(self, ns, ifname, flt, path):
        errpath = path + ".err"
        # --immediate-mode: otherwise the last packets can wait in a ring
        # block tcpdump never reads before it is told to stop. Headers are
        # all the check reads: a short snapshot length lets the 8 MiB ring
        # hold thousands of packets (a burst of 200 connections).
        with open(errpath, "w") as err:
            p = ns.popen(["tcpdump", "-n", "--immediate-mode", "-U", "-B", "8192",
                          "-s", "256", "-i", ifname, "-w", path, flt],
                         stdout=subprocess.DEVNULL, stderr=err)
        wait_for(lambda: p.poll() is not None or "listening on" in open(errpath).read(),
                 10, "tcpdump on %s" % ifname)
        assert p.poll() is None, open(errpath).read()
        self.caps.append((p, path, errpath))

    def stop(self, settle=1.0):
        """Stop capturing, after settle seconds for late packets."""
        time.sleep(settle)
        for p, _, _ in self.caps:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p, _, errpath in self.caps:
            p.wait(timeout=10)
            err = open(errpath).read()
            m = re.search(r"(\d+) packets? dropped by kernel", err)
            assert m, "no tcpdump statistics: " + err
            assert int(m.group(1)) == 0, "capture dropped packets: " + err

    @staticmethod
    def read(paths):
        """The packets of each capture as dicts, outer headers only (tshark,
        one per file, all at once)."""
        fields = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
                  "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
                  "icmp.type", "icmp.code", "frame.time_epoch"]
        procs = []
        for path in paths:
            cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t",
                   "-E", "occurrence=f"]
            for f in fields:
                cmd += ["-e", f]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, universal_newlines=True))
        caps = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, "tshark: " + err
            caps.append([dict(zip(fields, line.split("\t"))) for line in out.splitlines()])
        return caps

    @staticmethod
    def flag(v):
        return v in ("1", "True")

    @staticmethod
    def show(pkts):
        """Packets in one line each, for assertion messages."""
        return "\n".join("%s:%s > %s:%s seq %s icmp %s/%s at %s" % (
            p["ip.src"], p["tcp.srcport"], p["ip.dst"], p["tcp.dstport"], p["tcp.seq_raw"],
            p["icmp.type"], p["icmp.code"], p["frame.time_epoch"]) for p in pkts[:10])

    def analyse(self):
        caps = self.read([path for _, path, _ in self.caps])
        wire = caps[0]
        taps = [p for cap in caps[1:] for p in cap]

        guest_rsts = set()
        for p in taps:
            if p["ip.src"] == HOST_ADDR and self.flag(p["tcp.flags.reset"]):
                guest_rsts.add((p["ip.dst"], p["tcp.dstport"], p["tcp.seq_raw"]))

        # syns: (host port, peer, peer port, time) of every connection
        # opened from the host's address; fins: (peer, peer port, time) of
        # every FIN from a peer
        r = {"syns": [], "fins": [], "rsts": [], "matched": [], "unmatched": [],
             "unreach": []}
        for p in wire:
            tcp = p["tcp.seq_raw"] != "" and p["icmp.type"] == ""
            if tcp and p["ip.dst"] == HOST_ADDR and self.flag(p["tcp.flags.fin"]):
                r["fins"].append((p["ip.src"], int(p["tcp.srcport"]),
                                  float(p["frame.time_epoch"])))
            if p["ip.src"] != HOST_ADDR:
                continue
            if p["icmp.type"] == "3":
                r["unreach"].append(p)
            if not tcp:
                continue
            if self.flag(p["tcp.flags.syn"]) and not self.flag(p["tcp.flags.ack"]):
                r["syns"].append((int(p["tcp.srcport"]), p["ip.dst"], int(p["tcp.dstport"]),
                                  float(p["frame.time_epoch"])))
            if self.flag(p["tcp.flags.reset"]):
                r["rsts"].append(p)
                key = (p["ip.dst"], p["tcp.dstport"], p["tcp.seq_raw"])
                r["matched" if key in guest_rsts else "unmatched"].append(p)
        log("wire: %d SYNs, %d resets from %s (%d the guest's), %d unreachable"
            % (len(r["syns"]), len(r["rsts"]), HOST_ADDR, len(r["matched"]),
               len(r["unreach"])))
        return r

    def assert_clean(self, syns_to=None):
        """Stop, then: no reset the guest didn't send, no ICMP unreachable.

        syns_to: {(peer address, port): least number of connections} the
        test opened: the capture must have seen their SYNs.
        """
        self.stop()
        r = self.analyse()
        assert not r["unmatched"], "%d resets from the host's stack on the wire:\n%s" % (
            len(r["unmatched"]), self.show(r["unmatched"]))
        assert not r["unreach"], "%d ICMP unreachable from the host on the wire:\n%s" % (
            len(r["unreach"]), self.show(r["unreach"]))
        for (addr, port), least in (syns_to or {}).items():
            n = len({s for s in r["syns"] if s[1] == addr and s[2] == port})
            assert n >= least, "capture saw %d connections to %s:%d, the test made %d" % (
                n, addr, port, least)
        return r


@pytest.fixture
def wire(topo, leased):
    w = Wire(topo, [leased])
    yield w
    for p, _, _ in w.caps:
        if p.poll() is None:
            p.kill()


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
    assert sha256(dst) == sha256(src)
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
    assert sha256(dst) == sha256(src)
    wire.assert_clean({(REMOTE_ADDR, 5002): 1})


# --- many connections --------------------------------------------------------

def test_200_concurrent_connections(topo, merd, leased, wire):
    """200 connections open at once, each echoing its own 16 KiB; merd holds
    a host port for every one of them meanwhile."""
    start_echo(topo.remote, REMOTE_ADDR, 7000)
    h = Holder(topo.guest, REMOTE_ADDR, 7000, 200, size=16384)
    assert h.wait_holding()["connected"] == 200
    ports = held_ports(topo.host).get(merd.proc.pid, set())
    flow_ports = {p for p in ports if (p - PORTS_LO) % PORT_BLOCK}
    assert len(flow_ports) >= 200, "merd holds %d flow ports" % len(flow_ports)
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
    1 s: on the remote, and on the gateway address (the host itself)."""
    addr = REMOTE_ADDR if where == "remote" else GATEWAY
    for port in (9, 5999, 40000):
        p = topo.guest.run([PY, PEER, "connect", addr, str(port), "--timeout", "5"])
        res = json.loads(p.stdout)
        assert res["outcome"] == "refused", res
        assert res["elapsed"] < 1.0, res
    wire.assert_clean({(REMOTE_ADDR, 5999): 1} if where == "remote" else None)


# --- the wire check itself ---------------------------------------------------

def test_wire_check_flags_host_stack(topo, leased, wire):
    """The wire check separates the guest's own resets from the host's.

    The guest aborts 5 connections (SO_LINGER 0): merd forwards those
    resets and the check must account for every one. Then the remote
    provokes the host's own stack, a connection to a closed host port (a
    reset) and a datagram to a closed host port (ICMP port unreachable):
    the check must report exactly those two.
    """
    start_echo(topo.remote, REMOTE_ADDR, 7000)
    res = run_clients(topo.guest, REMOTE_ADDR, 7000, 10, "--abort", "5")
    expect_all_echoed(res, 10)
    p = topo.remote.run([PY, PEER, "connect", HOST_ADDR, "9"])
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
    prog = start_echo(topo.host, "0.0.0.0", 40000)
    udp = topo.host.popen(["socat", "UDP4-RECVFROM:40000,fork", "PIPE"])
    wait_listening(topo.host, 40000, "u")
    start_echo(topo.remote, REMOTE_ADDR, 7000)
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
def test_host_program_holds_port_in_merd_range(topo, held):
    """A host program holds, before merd starts, a port of merd's range:
    the port that marks the first block's claim, or the first flow port.
    merd leaves it alone; the guest's connections, even from that same
    port number, work; the host program keeps its port and keeps serving."""
    prog = start_echo(topo.host, "0.0.0.0", held)
    topo.host.popen(["socat", "UDP4-RECVFROM:%d,fork" % held, "PIPE"])
    wait_listening(topo.host, held, "u")
    m = Merd(topo.host, sock=topo.sock)
    g = None
    try:
        g = Guest(topo.guest, m.sock)
        udhcpc(g)
        w = Wire(topo, [g])
        start_echo(topo.remote, REMOTE_ADDR, 7000)

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
    finally:
        if g:
            g.stop()
        m.stop()


# --- two merds ---------------------------------------------------------------

def test_two_merds_one_host(topo):
    """Two merds in the same host namespace, each serving its own guest:
    both guests get the host's address, both download 20 MiB at the same
    time, intact, and each merd's flows use host ports from its own
    blocks."""
    guests, merds = [], []
    try:
        ns2 = Namespace(topo, "guest2")
        for ns, sock in ((topo.guest, topo.sock), (ns2, os.path.join(topo.tmp, "merd2.socket"))):
            merds.append(Merd(topo.host, sock=sock))
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
            start_echo(topo.remote, REMOTE_ADDR, 7001 + i)
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
            assert sha256(dst) == sha256(src)

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
    finally:
        for g in guests:
            g.stop()
        for m in merds:
            m.stop()
