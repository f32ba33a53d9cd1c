# SPDX-License-Identifier: GPL-2.0-or-later
"""--pcap: every frame between merd and the guest, both ways, in a file
tshark reads, in the order they crossed the socket.

The reference is the guest's own side of the socket: tcpdump on the guest
namespace's tap0 (through wire.Wire: proven running, nothing dropped) sees
every frame the guest sends to merd and every frame merd sends it, each
direction in the order of the stream. merd's capture must hold exactly
those frames, byte for byte, in the same order each way; and, read by
tshark, the DHCP exchange, the pings and a TCP download in the order the
protocols make them. The guest's IPv6 is off, so that it sends nothing
before tcpdump runs. Then: the capture is flushed when --one-off ends merd,
a capture file nobody drains never slows forwarding (frames are dropped
from the capture and counted), and a path that can't be opened ends merd
with one line.
"""

import os
import re
import signal
import subprocess

from scapy.utils import RawPcapReader

from merdtest import MERD, udhcpc
from netns import REMOTE_ADDR, log, wait_listening
from peers import MIB, random_file, sha256_file
from wire import Wire

# DHCP message types (RFC 2132 9.6)
DISCOVER, OFFER, REQUEST, ACK = "1", "2", "3", "5"
PINGS = 5
TCP_PORT = 5080
TCP_SIZE = 300 * 1024
# tcpdump's snapshot length on the guest's tap: more than any frame there
SNAPLEN = 2048
FIELDS = ["eth.src", "eth.dst", "eth.type", "ip.src", "ip.dst", "dhcp.option.dhcp",
          "icmp.type", "icmp.seq", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
          "tcp.len", "tcp.flags.syn", "tcp.flags.fin"]


def no_guest_ipv6(topo):
    """The guest's links, its tap to come, without IPv6: no frame before the
    test's own traffic (DAD, router solicitations, MLD)."""
    topo.guest.run("sysctl -qw net.ipv6.conf.default.disable_ipv6=1 "
                   "net.ipv6.conf.all.disable_ipv6=1")


def frames(path):
    """The frames of a capture file, as bytes, in file order, and their
    time stamps (seconds); every frame must be whole."""
    r = RawPcapReader(path)
    scale = 1e9 if r.nano else 1e6
    out, stamps = [], []
    for data, meta in r:
        assert meta.caplen == meta.wirelen == len(data), "a frame cut short"
        out.append(data)
        stamps.append(meta.sec + meta.usec / scale)
    r.close()
    return out, stamps


def tshark(path):
    """The frames of a capture file as tshark decodes them: dicts of FIELDS.
    tshark must read it to the end without complaint."""
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=60)
    assert p.returncode == 0, "tshark: " + p.stderr
    assert "cut short" not in p.stderr and "appears to be damaged" not in p.stderr, p.stderr
    return [dict(zip(FIELDS, line.split("\t"))) for line in p.stdout.splitlines()]


def split_ways(raw, guest_mac):
    """Frames from the guest and frames to it, each list in order: the
    guest's are those from its MAC address."""
    mac = bytes.fromhex(guest_mac.replace(":", ""))
    return [f for f in raw if f[6:12] == mac], [f for f in raw if f[6:12] != mac]


def show(pkts, n=12):
    return "\n".join(str(p) for p in pkts[:n])


def download(topo, guest, size, port, name):
    """The guest fetches size random bytes from socat in the remote
    namespace; returns (source, copy)."""
    src = random_file(topo, name + ".src", size)
    dst = os.path.join(topo.tmp, name + ".dst")
    srv = topo.remote.popen(["socat", "-u", "OPEN:" + src,
                             "TCP-LISTEN:%d,bind=%s,reuseaddr" % (port, REMOTE_ADDR)])
    wait_listening(topo.remote, port)
    guest.ns.run(["socat", "-u", "TCP:%s:%d" % (REMOTE_ADDR, port), "CREATE:" + dst],
                 timeout=60)
    assert srv.wait(timeout=10) == 0
    return src, dst


def check_dhcp(pkts, guest_mac):
    """DISCOVER, OFFER, REQUEST, ACK, in that order, each the right way."""
    dhcp = [(p["dhcp.option.dhcp"], p["eth.src"] == guest_mac) for p in pkts
            if p["dhcp.option.dhcp"]]
    assert dhcp == [(DISCOVER, True), (OFFER, False), (REQUEST, True), (ACK, False)], dhcp


def check_pings(pkts, guest_mac):
    """Each echo request from the guest, then its reply, one after the other."""
    echo = [(p["icmp.type"], p["icmp.seq"], p["eth.src"] == guest_mac) for p in pkts
            if p["icmp.type"] in ("0", "8") and REMOTE_ADDR in (p["ip.src"], p["ip.dst"])]
    want = []
    for seq in range(1, PINGS + 1):
        want += [("8", str(seq), True), ("0", str(seq), False)]
    assert echo == want, echo


def check_tcp(pkts, guest_mac, size):
    """The download: a SYN from the guest first, the peer's data in
    sequence order, every byte of it, then FINs; segments counted."""
    seg = [p for p in pkts if p["tcp.srcport"] == str(TCP_PORT) or
           p["tcp.dstport"] == str(TCP_PORT)]
    assert seg and seg[0]["tcp.flags.syn"] in ("1", "True"), show(seg)
    assert seg[0]["eth.src"] == guest_mac
    data = [p for p in seg if p["tcp.srcport"] == str(TCP_PORT) and int(p["tcp.len"] or 0)]
    assert all(p["eth.src"] != guest_mac for p in data)
    seqs = [int(p["tcp.seq_raw"]) for p in data]
    assert seqs == sorted(seqs), "the peer's data out of order in the capture"
    unique = {int(p["tcp.seq_raw"]): int(p["tcp.len"]) for p in data}
    assert sum(unique.values()) == size
    fins = [p for p in seg if p["tcp.flags.fin"] in ("1", "True")]
    assert len({p["eth.src"] == guest_mac for p in fins}) == 2, "a FIN each way"
    log("pcap: TCP %d segments, %d with the peer's data" % (len(seg), len(data)))
    return len(seg), sum(int(p["tcp.len"] or 0) for p in data)


def test_capture_is_what_the_guest_saw(topo, start):
    """DHCP, pings and a TCP download: merd's capture and the guest's own
    tcpdump hold the same frames, in the same order each way."""
    cap = os.path.join(topo.tmp, "merd.pcap")
    no_guest_ipv6(topo)
    m = start("-p", cap, lease=False)
    assert "capturing frames to " + cap in m.log()
    assert os.stat(cap).st_mode & 0o777 == 0o600
    mac = m.guest.mac

    # Frames whole (the MTU is 1400), and a ring of thousands of them: in
    # immediate mode tcpdump's ring has a slot of the snapshot length each
    w = Wire(topo, wire_filter="icmp", snaplen=SNAPLEN, also=[(topo.guest, "tap0", "")])
    lease, _ = udhcpc(m.guest)
    assert lease["ip"]
    p = topo.guest.run(["ping", "-c", str(PINGS), "-i", "0.2", "-W", "2", REMOTE_ADDR],
                       check=False, timeout=30)
    assert "%d received" % PINGS in p.stdout, p.stdout
    src, dst = download(topo, m.guest, TCP_SIZE, TCP_PORT, "pcap")
    assert sha256_file(dst) == sha256_file(src)
    w.stop()
    guest_cap = w.caps[1][1]

    # The summary on SIGUSR1 says how the capture goes
    m.proc.send_signal(signal.SIGUSR1)
    m.wait_log(r"pcap: \d+ frames captured to %s, 0 frames \(0 bytes\) not "
               r"captured" % re.escape(cap))
    text = m.stop()
    assert not re.search(r"pcap: \d+ frames \(", text), "frames dropped:\n" + text
    n = int(re.findall(r"pcap: (\d+) frames captured to", text)[-1])

    (ours, t_ours), (theirs, t_theirs) = frames(cap), frames(guest_cap)
    assert len(ours) == n, "merd says %d frames, its file holds %d" % (n, len(ours))
    # Wall-clock time stamps, as tcpdump's, never going back
    assert abs(t_ours[0] - t_theirs[0]) < 1 and abs(t_ours[-1] - t_theirs[-1]) < 1
    assert t_ours == sorted(t_ours)
    ours_in, ours_out = split_ways(ours, mac)
    theirs_in, theirs_out = split_ways(theirs, mac)
    log("pcap: merd %d from the guest, %d to it; tap0 %d and %d"
        % (len(ours_in), len(ours_out), len(theirs_in), len(theirs_out)))
    assert ours_in == theirs_in, "frames from the guest differ from what it sent"
    assert ours_out == theirs_out, "frames to the guest differ from what it got"

    pkts = tshark(cap)
    assert len(pkts) == len(ours)
    check_dhcp(pkts, mac)
    check_pings(pkts, mac)
    segs, data = check_tcp(pkts, mac, TCP_SIZE)
    ref = tshark(guest_cap)
    assert check_tcp(ref, mac, TCP_SIZE) == (segs, data)


def test_one_off_exit_flushes(topo, start):
    """--one-off: merd ends when the guest goes, its capture complete."""
    cap = os.path.join(topo.tmp, "oneoff.pcap")
    no_guest_ipv6(topo)
    m = start("-1", "-p", cap)
    m.guest.stop()
    assert m.exit_status() == 0, m.log()
    m.stop()
    pkts = tshark(cap)
    check_dhcp(pkts, m.guest.mac)


def test_undrained_capture_never_stalls_forwarding(topo, start):
    """A FIFO whose reader never reads: forwarding goes on at full speed,
    and what the capture couldn't take is counted, in frames and bytes."""
    fifo = os.path.join(topo.tmp, "capture.fifo")
    os.mkfifo(fifo, 0o600)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        m = start("-p", fifo)
        src, dst = download(topo, m.guest, 16 * MIB, TCP_PORT, "stall")
        assert sha256_file(dst) == sha256_file(src)
        m.proc.send_signal(signal.SIGUSR1)
        line = m.wait_log(r"pcap: \d+ frames captured to \S+, (\d+) frames \((\d+) "
                          r"bytes\) not captured: buffer full")
        assert int(line.group(1)) > 0 and int(line.group(2)) > 0
        text = m.stop()
    finally:
        os.close(reader)
    log(text)
    dropped = re.search(r"pcap: (\d+) frames \((\d+) bytes\) not captured: buffer full$",
                        text, re.M)
    assert dropped, text
    assert int(dropped.group(2)) >= 8 * MIB, "most of the download can't fit"


def test_unopenable_capture_one_line_exit_1(topo):
    """A capture file merd can't create, a directory, a symbolic link (never
    followed, its target untouched): one line naming it, exit status 1."""
    target = os.path.join(topo.tmp, "target")
    with open(target, "w") as f:
        f.write("keep me")
    link = os.path.join(topo.tmp, "link.pcap")
    os.symlink(target, link)
    cases = [(os.path.join(topo.tmp, "no", "such.pcap"), "No such file"),
             (topo.tmp, "Is a directory"),
             (link, "symbolic link")]
    for path, why in cases:
        sock = os.path.join(topo.tmp, "never.socket")
        p = topo.host.run([MERD, "-f", "-s", sock, "--pcap", path], check=False,
                          timeout=10)
        assert p.returncode == 1, p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, p.stderr
        assert lines[0].startswith("merd: can't open capture file %s: " % path), lines[0]
        assert why in lines[0], lines[0]
        assert not os.path.exists(sock)
    assert open(target).read() == "keep me"
