# SPDX-License-Identifier: GPL-2.0-or-later
"""merd as the guest's router, seen on the wire: TTL, TOS/ECN/DF/ID carried
over, no spoofing, what is never forwarded, fragments both ways, and a host
whose own traffic never reaches merd. Packets are built with scapy and sent
on merd's socket as qemu would; what leaves is captured in the remote
namespace."""

import logging
import os
import re
import subprocess
import time

import pytest

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (ICMP, IP, TCP, UDP, Ether, IPerror, Raw,  # noqa: E402
                       UDPerror, fragment, raw, rdpcap)

import netns  # noqa: E402
from merdtest import Merd  # noqa: E402
from netns import wait_for  # noqa: E402
from streamclient import StreamClient  # noqa: E402

GUEST_MAC = "52:54:00:12:34:56"
REMOTE = netns.REMOTE_ADDR


class Capture:
    """tcpdump on the remote's link, read back with scapy."""

    def __init__(self, ns, iface="r0", filt="ip"):
        self.path = os.path.join(ns.topo.tmp, "cap-%d.pcap" % time.monotonic_ns())
        # --immediate-mode: without it, packets wait in a ring block that
        # tcpdump may never read before it is told to stop
        self.proc = ns.popen(["tcpdump", "--immediate-mode", "-U", "-ni", iface,
                              "-w", self.path, filt],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # tcpdump says "listening on" once the capture runs
        self.proc.stderr.readline()

    def packets(self, settle=0.5):
        time.sleep(settle)
        self.proc.terminate()
        self.proc.wait(timeout=5)
        return [p for p in rdpcap(self.path) if p.haslayer(IP)]


def frame(pkt, dst_mac):
    return raw(Ether(src=GUEST_MAC, dst=dst_mac) / pkt)


@pytest.fixture
def wire(topo, merd):
    """A stream client standing in for the guest, and merd's MAC."""
    c = StreamClient(merd.sock)
    mac = topo.host_mac
    yield c, mac
    c.close()


def from_host(pkts):
    return [p for p in pkts if p[IP].src == netns.HOST_ADDR]


def test_ttl_decremented_and_expired(topo, merd, wire):
    c, mac = wire
    cap = Capture(topo.remote)
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE, ttl=5, id=7) /
                       UDP(sport=3333, dport=4444) / b"ttl five", mac))
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE, ttl=1, id=8) /
                       UDP(sport=3334, dport=4444) / b"ttl one", mac))
    replies = [Ether(f) for f in c.recv_frames(1)]
    out = from_host(cap.packets())
    assert [p[IP].ttl for p in out if p.haslayer(UDP) and p[UDP].dport == 4444] == [4]
    # RFC 1812 5.3.1: time exceeded from the gateway, quoting the packet
    te = [p for p in replies if p.haslayer(ICMP) and p[ICMP].type == 11]
    assert len(te) == 1
    assert te[0][IP].src == netns.GATEWAY and te[0][IP].dst == netns.HOST_ADDR
    quoted = te[0][ICMP].payload
    assert quoted[IPerror].id == 8 and quoted[UDPerror].sport == 3334


def test_tos_ecn_df_and_id_travel(topo, merd, wire):
    c, mac = wire
    cap = Capture(topo.remote)
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE, tos=0xb9, flags="DF",
                          id=4242, ttl=64) /
                       UDP(sport=5555, dport=6666) / (b"x" * 100), mac))
    out = [p for p in from_host(cap.packets()) if p.haslayer(UDP)]
    assert len(out) == 1
    ip = out[0][IP]
    assert ip.tos == 0xb9 and ip.flags.DF and ip.id == 4242 and ip.ttl == 63
    # Checksums right after rewriting: scapy recomputes and compares
    ip_sum, udp_sum = ip.chksum, out[0][UDP].chksum
    del ip.chksum
    del out[0][UDP].chksum
    again = IP(raw(ip))
    assert again.chksum == ip_sum and again[UDP].chksum == udp_sum


def test_spoofed_source_leaves_from_host(topo, merd, wire):
    """Whatever source the guest writes, the packet leaves from the host's
    address; the answer comes back to the address the guest used."""
    c, mac = wire
    server = topo.remote.popen(["socat", "UDP-LISTEN:7777,bind=%s" % REMOTE,
                                "SYSTEM:cat"])
    time.sleep(0.3)
    cap = Capture(topo.remote)
    c.send_frame(frame(IP(src="10.42.0.77", dst=REMOTE) /
                       UDP(sport=1234, dport=7777) / b"spoof?\n", mac))
    replies = [Ether(f) for f in c.recv_frames(1.5)]
    out = [p for p in cap.packets() if p.haslayer(UDP) and p[UDP].dport == 7777]
    server.kill()
    assert out and all(p[IP].src == netns.HOST_ADDR for p in out)
    back = [p for p in replies if p.haslayer(UDP) and p[UDP].sport == 7777]
    assert back and back[0][IP].dst == "10.42.0.77" and back[0][UDP].dport == 1234
    assert bytes(back[0][UDP].payload) == b"spoof?\n"


NEVER = [
    ("limited broadcast", IP(dst="255.255.255.255") / UDP(dport=9999)),
    ("subnet broadcast", IP(dst="10.42.0.255") / UDP(dport=9999)),
    ("multicast", IP(dst="224.0.0.251") / UDP(sport=5353, dport=5353)),
    ("loopback", IP(dst="127.0.0.1") / UDP(dport=9999)),
    ("this network", IP(dst="0.1.2.3") / UDP(dport=9999)),
    ("reserved", IP(dst="240.0.0.1") / UDP(dport=9999)),
    ("GRE", IP(dst=REMOTE, proto=47) / Raw(b"\0" * 8)),
    ("ICMP timestamp", IP(dst=REMOTE) / ICMP(type=13)),
    ("ICMP error from the guest", IP(dst=REMOTE) / ICMP(type=3, code=3) /
     IP(src=REMOTE, dst=netns.HOST_ADDR) / UDP(sport=53, dport=1000)),
    ("IP options", IP(dst=REMOTE, options=b"\x83\x03\x04\x00") / UDP(dport=9999)),
    ("TCP without SYN, no flow", IP(dst=REMOTE) / TCP(dport=80, flags="A")),
    ("UDP to port 0", IP(dst=REMOTE) / UDP(dport=0)),
]


def test_never_forwarded(topo, merd, wire):
    c, mac = wire
    cap = Capture(topo.remote)
    for _, pkt in NEVER:
        pkt[IP].src = netns.HOST_ADDR
        c.send_frame(frame(pkt, mac))
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                       UDP(sport=1, dport=12345) / b"marker", mac))
    out = from_host(cap.packets())
    # Only the marker went out
    assert [p[Raw].load for p in out if p.haslayer(Raw)] == [b"marker"]
    assert len(out) == 1, [p.summary() for p in out]


def udp_sink(ns, port, count, bind):
    """A UDP server in a namespace printing the length and hash of what it gets."""
    script = ("import socket,hashlib,sys\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "s.bind(('%s',%d)); s.settimeout(5)\n"
              "for i in range(%d):\n"
              "    try: d,a=s.recvfrom(70000)\n"
              "    except socket.timeout: break\n"
              "    print(len(d), hashlib.sha256(d).hexdigest(), flush=True)\n"
              % (bind, port, count))
    return ns.popen(["/usr/bin/python3", "-c", script], stdout=subprocess.PIPE,
                    universal_newlines=True)


def sink_lines(p):
    out, _ = p.communicate(timeout=15)
    return [tuple(line.split()) for line in out.splitlines()]


def sha(b):
    import hashlib
    return hashlib.sha256(b).hexdigest()


def test_fragments_reassembled_and_never_mixed(topo, merd, wire):
    """Two fragmented datagrams with the same IP identification to two
    destinations (the remote, and the gateway: the host's loopback),
    interleaved and out of order: each arrives whole where it should.
    Overlapping fragments: the datagram is dropped."""
    c, mac = wire
    a = udp_sink(topo.remote, 8001, 1, REMOTE)
    b = udp_sink(topo.host, 8002, 1, "127.0.0.1")
    time.sleep(0.5)
    pa, pb = os.urandom(3000), os.urandom(2500)
    fa = fragment(IP(src=netns.HOST_ADDR, dst=REMOTE, id=99) /
                  UDP(sport=4001, dport=8001) / pa, fragsize=800)
    fb = fragment(IP(src=netns.HOST_ADDR, dst=netns.GATEWAY, id=99) /
                  UDP(sport=4002, dport=8002) / pb, fragsize=800)
    order = [fa[2], fb[1], fa[0], fb[3], fb[0], fa[3], fb[2], fa[1]]
    for f in order:
        c.send_frame(frame(f, mac))
    assert sink_lines(a) == [(str(len(pa)), sha(pa))]
    assert sink_lines(b) == [(str(len(pb)), sha(pb))]

    o = udp_sink(topo.remote, 8003, 1, REMOTE)
    time.sleep(0.5)
    fo = fragment(IP(src=netns.HOST_ADDR, dst=REMOTE, id=100) /
                  UDP(sport=4003, dport=8003) / os.urandom(2000), fragsize=800)
    overlap = IP(raw(fo[1]))
    overlap.frag -= 8                   # 64 bytes earlier: overlaps fragment 0
    del overlap.chksum
    for f in (fo[0], overlap, fo[2]):
        c.send_frame(frame(f, mac))
    assert sink_lines(o) == [], "a datagram with overlapping fragments arrived"
    assert merd.alive()


def test_large_datagram_fragmented_for_uplink(topo):
    """The guest's MTU is larger than the uplink's: a datagram without DF is
    fragmented to the uplink's MTU and arrives whole; with DF, the guest is
    told the MTU (ICMP fragmentation needed, RFC 1191)."""
    m = Merd(topo.host, sock=topo.sock, args=["-m", "9000"])
    c = StreamClient(m.sock)
    try:
        s = udp_sink(topo.remote, 8010, 1, REMOTE)
        time.sleep(0.5)
        cap = Capture(topo.remote)
        data = os.urandom(5000)
        c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE, flags=0) /
                           UDP(sport=4010, dport=8010) / data, topo.host_mac))
        assert sink_lines(s) == [(str(len(data)), sha(data))]
        out = [p for p in from_host(cap.packets()) if p[IP].dst == REMOTE]
        assert len(out) >= 4 and all(len(p[IP]) <= netns.HOST_MTU for p in out)

        c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE, flags="DF") /
                           UDP(sport=4011, dport=8010) / data, topo.host_mac))
        errs = [Ether(f) for f in c.recv_frames(1)]
        fn = [p for p in errs if p.haslayer(ICMP) and p[ICMP].type == 3 and
              p[ICMP].code == 4]
        assert fn and fn[0][ICMP].nexthopmtu == netns.HOST_MTU
        assert fn[0][IP].src == netns.GATEWAY
    finally:
        c.close()
        m.stop()


def test_large_datagram_fragmented_for_guest(topo, leased):
    """A datagram from the remote larger than the guest's MTU reaches the
    guest's own stack whole (fragmented by merd, reassembled by the guest)."""
    data = os.urandom(6000)
    server = ("import socket\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "s.bind(('%s',9020)); s.settimeout(10)\n"
              "d,a=s.recvfrom(100)\n"
              "s.sendto(bytes.fromhex('%s'),a)\n" % (REMOTE, data.hex()))
    client = ("import socket,hashlib\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "s.settimeout(5)\n"
              "s.sendto(b'go',('%s',9020))\n"
              "d,a=s.recvfrom(70000)\n"
              "print(len(d), hashlib.sha256(d).hexdigest())\n" % REMOTE)
    srv = topo.remote.popen(["/usr/bin/python3", "-c", server])
    time.sleep(0.5)
    p = topo.guest.run(["/usr/bin/python3", "-c", client], check=False)
    srv.wait(timeout=10)
    assert p.stdout.split() == [str(len(data)), sha(data)], p.stderr


def merd_cpu(m):
    with open("/proc/%d/stat" % m.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_host_traffic_never_reaches_merd(topo):
    """The host's own TCP, UDP and pings, while merd has guest flows: the
    kernel's filters keep them all away from merd."""
    m = Merd(topo.host, sock=topo.sock, args=["--trace"])
    c = StreamClient(m.sock)
    try:
        # A few guest flows, so that merd holds a port block
        for i in range(5):
            c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                               UDP(sport=2000 + i, dport=9) / b"x", topo.host_mac))
        m.wait_log("flow 4: UDP")
        topo.remote.run("iperf3 -s -D -p 5301 -1 --bind %s" % REMOTE)
        time.sleep(0.3)
        before = merd_cpu(m)
        topo.host.run("iperf3 -c %s -p 5301 -t 2 -P 2" % REMOTE, timeout=30)
        topo.host.run("ping -c 3 -i 0.2 %s" % REMOTE)
        topo.host.run("echo x | socat - UDP:%s:9" % REMOTE, check=False)
        after = merd_cpu(m)
        log = m.log()
        assert "no flow" not in log, "merd was handed the host's own traffic"
        # Gigabytes passed; merd spent next to nothing
        assert after - before < 0.2, "merd used %.2f s of CPU" % (after - before)
    finally:
        c.close()
        m.stop()


def raw_sockets(pid):
    inodes = set()
    for name in ("raw",):
        with open("/proc/%d/net/%s" % (pid, name)) as f:
            for line in f.readlines()[1:]:
                inodes.add(line.split()[9])
    fds = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", link)
        if m and m.group(1) in inodes:
            fds += 1
    return fds


def test_raw_sockets_do_not_grow_with_flows(topo, merd, wire):
    c, mac = wire
    before = raw_sockets(merd.proc.pid)
    for i in range(300):
        c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                           UDP(sport=10000 + i, dport=9) / b"x", mac))
    wait_for(lambda: len(re.findall(r"\n", topo.host.run("ss -uanH sport ge 61000").stdout))
             >= 300, 10, "300 held UDP ports")
    # TCP, UDP and ICMP to receive, IPPROTO_RAW to send
    assert raw_sockets(merd.proc.pid) == before == 4, \
        "raw sockets: %d before, %d with 300 flows" % (before, raw_sockets(merd.proc.pid))


def test_corrupt_checksum_from_peer_never_reaches_guest(topo, merd, wire):
    """Toward the guest merd computes TCP and UDP checksums anew; a datagram
    that arrived corrupt must not get a fresh, valid one: it is dropped."""
    c, mac = wire
    cap = Capture(topo.remote)
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                       UDP(sport=5000, dport=7000) / b"open", mac))
    sent = [p for p in from_host(cap.packets()) if p.haslayer(UDP)]
    assert sent, "the guest's datagram didn't go out"
    hport = sent[0][UDP].sport
    # From the remote, with scapy's raw socket: the kernel leaves the UDP
    # checksum as written
    script = ("from scapy.all import IP,UDP,send\n"
              "send(IP(src='%s',dst='%s')/UDP(sport=7000,dport=%d)/b'good',"
              "verbose=0)\n"
              "send(IP(src='%s',dst='%s')/UDP(sport=7000,dport=%d,"
              "chksum=0x1234)/b'evil',verbose=0)\n"
              % (REMOTE, netns.HOST_ADDR, hport, REMOTE, netns.HOST_ADDR, hport))
    topo.remote.run(["/usr/bin/python3", "-c", script])
    got = [bytes(Ether(f)[UDP].payload)[:4] for f in c.recv_frames(1.5)
           if Ether(f).haslayer(UDP)]
    assert got == [b"good"]


def test_udp_answers_draw_no_port_unreachable(topo, merd, wire):
    """The peer's answers to a guest's UDP flow find the port held: the
    host's stack never answers them with ICMP port unreachable (which would
    tell the peer to stop), while the guest gets every one."""
    c, mac = wire
    server = ("import socket,time\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "s.bind(('%s',7100)); s.settimeout(5)\n"
              "d,a=s.recvfrom(100)\n"
              "for i in range(5):\n"
              "    s.sendto(b'answer %%d' %% i,a); time.sleep(0.1)\n" % REMOTE)
    srv = topo.remote.popen(["/usr/bin/python3", "-c", server])
    time.sleep(0.5)
    cap = Capture(topo.remote)
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                       UDP(sport=5100, dport=7100) / b"ask", mac))
    srv.wait(timeout=10)
    got = [Ether(f)[Raw].load for f in c.recv_frames(1)
           if Ether(f).haslayer(UDP) and Ether(f).haslayer(Raw)]
    icmp = [p for p in from_host(cap.packets()) if p.haslayer(ICMP)]
    assert got == [b"answer %d" % i for i in range(5)]
    assert icmp == [], [p.summary() for p in icmp]
