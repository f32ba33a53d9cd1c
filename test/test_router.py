# SPDX-License-Identifier: GPL-2.0-or-later
"""merd as the guest's router, seen on the wire: TTL, TOS/ECN/DF/ID carried
over, no spoofing, what is never forwarded, fragments both ways, and a host
whose own traffic never reaches merd. Packets are built with scapy and sent
on merd's socket as qemu would; what leaves is captured in the remote
namespace."""

import logging
import os
import re
import socket
import subprocess
import time

import pytest

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (ICMP, IP, TCP, UDP, Ether, IPerror, Raw,  # noqa: E402
                       UDPerror, fragment, raw)

import netns  # noqa: E402
from netns import sock_in  # noqa: E402
from peers import PY, ip4_ok, l4_ok  # noqa: E402
from streamclient import StreamClient  # noqa: E402
from wire import Wire  # noqa: E402

pytestmark = pytest.mark.forwarding

GUEST_MAC = "52:54:00:12:34:56"
REMOTE = netns.REMOTE_ADDR
# A port range of whole blocks (port.h: PORT_BLOCK) for the filter test
PORTS_LO = 61000
PORT_BLOCK = 256


def capture(topo, also=()):
    """Every IPv4 packet on the wire (and on also's links), whole."""
    return Wire(topo, wire_filter="ip", snaplen=0, also=also)


def frame(pkt, dst_mac):
    return raw(Ether(src=GUEST_MAC, dst=dst_mac) / pkt)


@pytest.fixture
def client(topo, merd):
    """A stream client standing in for the guest, and merd's MAC."""
    c = StreamClient(merd.sock)
    mac = topo.host_mac
    yield c, mac
    c.close()


def from_host(pkts):
    return [p for p in pkts if p.haslayer(IP) and p[IP].src == netns.HOST_ADDR]


def test_ttl_decremented_and_expired(topo, merd, client):
    c, mac = client
    cap = capture(topo)
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


def test_tos_ecn_df_and_id_travel(topo, merd, client):
    c, mac = client
    cap = capture(topo)
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


def test_spoofed_source_leaves_from_host(topo, merd, client):
    """Whatever source the guest writes, the packet leaves from the host's
    address; the answer comes back to the address the guest used."""
    c, mac = client
    server = topo.remote.popen(["socat", "UDP-LISTEN:7777,bind=%s" % REMOTE,
                                "SYSTEM:cat"])
    time.sleep(0.3)
    cap = capture(topo)
    c.send_frame(frame(IP(src="10.42.0.77", dst=REMOTE) /
                       UDP(sport=1234, dport=7777) / b"spoof?\n", mac))
    replies = [Ether(f) for f in c.recv_frames(1.5)]
    out = [p for p in cap.packets() if p.haslayer(UDP) and p[UDP].dport == 7777]
    server.kill()
    assert out and all(p[IP].src == netns.HOST_ADDR for p in out)
    back = [p for p in replies if p.haslayer(UDP) and p[UDP].sport == 7777]
    assert back and back[0][IP].dst == "10.42.0.77" and back[0][UDP].dport == 1234
    assert bytes(back[0][UDP].payload) == b"spoof?\n"


# Each is sent with its own IP identification (NEVER_ID + index), so that
# anything the guest gets about one of them can be told apart
NEVER_ID = 1000
NEVER = [
    ("limited broadcast", IP(dst="255.255.255.255") / UDP(dport=9999)),
    ("subnet broadcast", IP(dst="10.42.0.255") / UDP(dport=9999)),
    ("multicast", IP(dst="224.0.0.251") / UDP(sport=5353, dport=5353)),
    ("loopback", IP(dst="127.0.0.1") / UDP(dport=9999)),
    ("loopback, TCP", IP(dst="127.0.0.1") / TCP(dport=9998, flags="S")),
    ("the guest's own address", IP(dst=netns.HOST_ADDR) / UDP(dport=9999)),
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


def test_never_forwarded(topo, merd, client):
    """None of NEVER leaves: not on the wire, not to the host's loopback
    (where a packet to 127.0.0.1 or the host's own address would be
    delivered), and the guest hears nothing about them (a refused send would
    come back as an ICMP error), but for the reset a stray TCP segment gets.
    Markers sent after them, to the remote and through the gateway to the
    host's loopback, prove that both captures and the listener were
    working."""
    c, mac = client
    lo = sock_in(topo.host, kind=socket.SOCK_DGRAM)
    lo.bind(("127.0.0.1", 9999))
    lo.settimeout(3)
    cap = capture(topo, also=[(topo.host, "lo", "ip")])
    for i, (_, pkt) in enumerate(NEVER):
        pkt[IP].src = netns.HOST_ADDR
        pkt[IP].id = NEVER_ID + i
        c.send_frame(frame(pkt, mac))
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                       UDP(sport=1, dport=12345) / b"marker", mac))
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=netns.GATEWAY) /
                       UDP(sport=2, dport=9999) / b"gw-marker", mac))
    assert lo.recv(100) == b"gw-marker", "the loopback listener got something else"
    replies = [Ether(f) for f in c.recv_frames(1)]
    out = from_host(cap.packets(0))
    looped = [p for p in cap.packets(1) if p.haslayer(IP)]
    lo.settimeout(0.5)
    with pytest.raises(socket.timeout):
        pytest.fail("the host's loopback got %r" % lo.recv(100))
    lo.close()

    # Only the marker went out
    assert [p[Raw].load for p in out if p.haslayer(Raw)] == [b"marker"]
    assert len(out) == 1, [p.summary() for p in out]
    # Only the gateway marker reached the host's loopback
    assert [p[Raw].load for p in looped if p.haslayer(Raw)] == [b"gw-marker"], \
        [p.summary() for p in looped]
    assert all(p[IP].id < NEVER_ID or p[IP].id >= NEVER_ID + len(NEVER) for p in looped)
    # The guest heard of none of them, but the stray segment's reset
    about = []
    for p in replies:
        if p.haslayer(ICMP) and p.haslayer(IPerror) and \
                NEVER_ID <= p[IPerror].id < NEVER_ID + len(NEVER):
            about.append("%s: %s" % (NEVER[p[IPerror].id - NEVER_ID][0], p.summary()))
    assert about == [], about
    tcp = [p for p in replies if p.haslayer(TCP)]
    assert [(p[IP].src, p[TCP].sport, str(p[TCP].flags)) for p in tcp] == \
        [(REMOTE, 80, "R")], [p.summary() for p in replies]


def udp_sink(ns, port, count, bind, idle=5):
    """A UDP server in a namespace printing the length and hash of what it
    gets: count datagrams at most, until idle seconds pass without one."""
    script = ("import socket,hashlib,sys\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "s.bind(('%s',%d)); s.settimeout(%g)\n"
              "for i in range(%d):\n"
              "    try: d,a=s.recvfrom(70000)\n"
              "    except socket.timeout: break\n"
              "    print(len(d), hashlib.sha256(d).hexdigest(), flush=True)\n"
              % (bind, port, idle, count))
    return ns.popen(["/usr/bin/python3", "-c", script], stdout=subprocess.PIPE,
                    universal_newlines=True)


def sink_lines(p):
    out, _ = p.communicate(timeout=15)
    return [tuple(line.split()) for line in out.splitlines()]


def sha(b):
    import hashlib
    return hashlib.sha256(b).hexdigest()


def test_fragments_reassembled_and_never_mixed(topo, merd, client):
    """Two fragmented datagrams with the same IP identification to two
    destinations (the remote, and the gateway: the host's loopback),
    interleaved and out of order: each arrives whole where it should.
    Overlapping fragments: the datagram is dropped."""
    c, mac = client
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

    # The sink takes two datagrams: after the overlapping one, a good one
    # from the same source port must arrive, and be the only one
    o = udp_sink(topo.remote, 8003, 2, REMOTE, idle=2)
    time.sleep(0.5)
    fo = fragment(IP(src=netns.HOST_ADDR, dst=REMOTE, id=100) /
                  UDP(sport=4003, dport=8003) / os.urandom(2000), fragsize=800)
    overlap = IP(raw(fo[1]))
    overlap.frag -= 8                   # 64 bytes earlier: overlaps fragment 0
    del overlap.chksum
    good = os.urandom(2000)
    fg = fragment(IP(src=netns.HOST_ADDR, dst=REMOTE, id=101) /
                  UDP(sport=4003, dport=8003) / good, fragsize=800)
    for f in [fo[0], overlap, fo[2]] + list(fg):
        c.send_frame(frame(f, mac))
    assert sink_lines(o) == [(str(len(good)), sha(good))], \
        "not just the good datagram arrived after the overlapping one"
    assert merd.alive()


def test_large_datagram_fragmented_for_uplink(topo, start):
    """The guest's MTU is larger than the uplink's: a datagram without DF is
    fragmented to the uplink's MTU and arrives whole; with DF, the guest is
    told the MTU (ICMP fragmentation needed, RFC 1191)."""
    m = start("-m", "9000", guest=False)
    c = StreamClient(m.sock)
    s = udp_sink(topo.remote, 8010, 1, REMOTE)
    time.sleep(0.5)
    cap = capture(topo)
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
    c.close()


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


def test_host_traffic_never_reaches_merd(topo, start):
    """The host's own TCP, UDP and pings, while merd has guest flows: the
    kernel's filters keep them all away from merd. A datagram from the
    remote to a port of merd's block without a flow, sent last, must be
    reported: so silence means "filtered", not "not traced"."""
    m = start("--trace", guest=False)
    c = StreamClient(m.sock)
    # A few guest flows, so that merd holds a port block
    for i in range(5):
        c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                           UDP(sport=2000 + i, dport=9) / b"x", topo.host_mac))
    hport = int(m.wait_log(r"flow 4: UDP \S+ from guest port 2004, host port (\d+)").group(1))
    topo.remote.run("iperf3 -s -D -p 5301 -1 --bind %s" % REMOTE)
    time.sleep(0.3)
    before = merd_cpu(m)
    topo.host.run("iperf3 -c %s -p 5301 -t 2 -P 2" % REMOTE, timeout=30)
    topo.host.run("ping -c 3 -i 0.2 %s" % REMOTE)
    topo.host.run("echo x | socat - UDP:%s:9" % REMOTE, check=False)
    after = merd_cpu(m)
    topo.remote.run("echo x | socat - UDP:%s:%d,sourceport=9,bind=%s"
                    % (netns.HOST_ADDR, hport + 1, REMOTE), check=False)
    m.wait_log(r"no flow for protocol 17 from %s:9 to host port %d" % (REMOTE, hport + 1))
    log = m.log()
    assert log.count("no flow") == 1, "merd was handed the host's own traffic"
    # Gigabytes passed; merd spent next to nothing
    assert after - before < 0.2, "merd used %.2f s of CPU" % (after - before)
    c.close()


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


def test_raw_sockets_do_not_grow_with_flows(topo, start):
    m = start("--trace", guest=False)
    c = StreamClient(m.sock)
    before = raw_sockets(m.proc.pid)
    for i in range(300):
        c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                           UDP(sport=10000 + i, dport=9) / b"x", topo.host_mac))
    m.wait_log(r"flow 299: UDP")
    assert len(re.findall(r"flow \d+: UDP \S+ from guest port", m.log())) == 300
    # TCP, UDP and ICMP to receive, IPPROTO_RAW to send
    assert raw_sockets(m.proc.pid) == before == 4, \
        "raw sockets: %d before, %d with 300 flows" % (before, raw_sockets(m.proc.pid))
    c.close()


def test_corrupt_checksum_from_peer_never_reaches_guest(topo, merd, client):
    """Toward the guest merd computes TCP and UDP checksums anew; a datagram
    that arrived corrupt must not get a fresh, valid one: it is dropped."""
    c, mac = client
    cap = capture(topo)
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


def test_udp_answers_draw_no_port_unreachable(topo, merd, client):
    """The peer's answers to a guest's UDP flow find the port held: the
    host's stack never answers them with ICMP port unreachable (which would
    tell the peer to stop), while the guest gets every one."""
    c, mac = client
    server = ("import socket,time\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "s.bind(('%s',7100)); s.settimeout(5)\n"
              "d,a=s.recvfrom(100)\n"
              "for i in range(5):\n"
              "    s.sendto(b'answer %%d' %% i,a); time.sleep(0.1)\n" % REMOTE)
    srv = topo.remote.popen(["/usr/bin/python3", "-c", server])
    time.sleep(0.5)
    cap = capture(topo)
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                       UDP(sport=5100, dport=7100) / b"ask", mac))
    srv.wait(timeout=10)
    got = [Ether(f)[Raw].load for f in c.recv_frames(1)
           if Ether(f).haslayer(UDP) and Ether(f).haslayer(Raw)]
    pkts = cap.packets()
    icmp = [p for p in from_host(pkts) if p.haslayer(ICMP)]
    assert got == [b"answer %d" % i for i in range(5)]
    # The capture saw the answers go by: it was listening when the host
    # would have said "port unreachable"
    answers = [p for p in pkts if p.haslayer(UDP) and p[IP].src == REMOTE and
               p[UDP].sport == 7100]
    assert len(answers) == 5, [p.summary() for p in pkts]
    assert icmp == [], [p.summary() for p in icmp]


def quote_of(err):
    """The packet an ICMP error (scapy) quotes, as bytes."""
    return raw(err[ICMP].payload)


def test_translated_icmp_errors_quote_the_guests_packet(routed, routed_merd):
    """ICMP errors from the network about the guest's UDP, TCP and ICMP echo
    reach it with the quoted packet exactly as the guest sent it (TTL aside,
    spent on the way): addresses, ports, echo identifier, and every checksum
    inside the quote right for them, so a guest that checks the quote (not
    Linux, which doesn't) takes the error. Time exceeded comes from the
    router, port unreachable from the remote; the outer headers' checksums
    are right too. The guest writes a source address of its own (merd lets
    it, and sends from the host's): so the quote's addresses are rewritten
    too, not only its ports."""
    r = routed
    for ns in (r.router, r.remote):
        ns.run("sysctl -qw net.ipv4.icmp_ratelimit=0")
    c = StreamClient(routed_merd.sock)
    far, me = netns.ROUTED_REMOTE, "10.42.0.77"
    sent = [IP(src=me, dst=far, id=501) / UDP(sport=4501, dport=9) / b"closed",
            IP(src=me, dst=far, id=502, ttl=2) / UDP(sport=4502, dport=9) / b"ttl",
            IP(src=me, dst=far, id=503, ttl=2) /
            TCP(sport=4503, dport=80, flags="S", seq=123456789, options=[("MSS", 1360)]),
            IP(src=me, dst=far, id=504, ttl=2) / ICMP(id=4504, seq=7) / b"ping"]
    want = {}
    for p in sent:
        b = raw(p)
        want[p[IP].id] = b
        c.send_frame(frame(IP(b), r.host_mac))
    errs = {}
    for f in c.recv_frames(2):
        p = Ether(f)
        if p.haslayer(ICMP) and p[ICMP].type in (3, 11):
            errs[IP(quote_of(p)).id] = p
    c.close()
    assert sorted(errs) == sorted(want), [p.summary() for p in errs.values()]
    for ident, err in errs.items():
        outer = raw(err[IP])
        assert ip4_ok(outer) and l4_ok(outer), "outer checksums of %s" % err.summary()
        assert err[IP].dst == me
        q, orig = quote_of(err), want[ident]
        ihl = (q[0] & 0xf) * 4
        assert ip4_ok(q), "quoted IPv4 header checksum of %d" % ident
        # Quoted as sent: the TTL is whatever was left where the error rose
        # (and the header checksum follows it); every other byte the guest's
        assert q[:8] == orig[:8] and q[9:10] == orig[9:10] and q[12:20] == orig[12:20], \
            "quoted header %s, sent %s" % (q[:20].hex(), orig[:20].hex())
        assert q[ihl:] == orig[ihl:len(q)], \
            "quoted %s, sent %s" % (q[ihl:].hex(), orig[ihl:len(q)].hex())
        # Linux quotes the whole of a small packet: its transport checksum
        # can be checked from scratch too
        assert len(q) == len(orig) and l4_ok(q), "quote of %d: %s" % (ident, q.hex())
    assert errs[501][ICMP].type == 3 and errs[501][IP].src == far
    assert all(errs[i][ICMP].type == 11 and errs[i][IP].src == netns.GATEWAY
               for i in (502, 503, 504))


def test_icmp_errors_reach_merd_only_for_its_flows(topo, start):
    """The ICMP socket's filter: an error quoting a packet from a port of
    merd's claimed block reaches merd (which, finding no flow, says so and
    drops it); one quoting a port outside merd's range never reaches it; and
    one about a live flow reaches the guest."""
    # A range of known blocks: the stranger's port must be in the flow's
    # block (ports are drawn at random, RFC 6056), so its neighbour there
    m = start("--trace", "--ports", "%d-%d" % (PORTS_LO, PORTS_LO + 4 * PORT_BLOCK - 1),
              guest=False)
    c = StreamClient(m.sock)
    # Bound, so that the remote itself doesn't answer with an error
    srv = sock_in(topo.remote, kind=socket.SOCK_DGRAM)
    srv.bind((REMOTE, 7600))
    c.send_frame(frame(IP(src=netns.HOST_ADDR, dst=REMOTE) /
                       UDP(sport=4600, dport=7600) / b"flow", topo.host_mac))
    hport = int(m.wait_log(r"flow \d+: UDP \S+ from guest port 4600, host port (\d+)")
                .group(1))
    near = hport + 1 if (hport - PORTS_LO) % PORT_BLOCK != PORT_BLOCK - 1 else hport - 1
    # From the remote, in this order: outside merd's range, in its block
    # without a flow, about the live flow
    script = ("from scapy.all import IP,UDP,ICMP,send\n"
              "for p in (40000, %d, %d):\n"
              "    q=IP(src='%s',dst='%s')/UDP(sport=p,dport=7600)/b'flow'\n"
              "    send(IP(src='%s',dst='%s')/ICMP(type=3,code=3)/q,verbose=0)\n"
              % (near, hport, netns.HOST_ADDR, REMOTE, REMOTE, netns.HOST_ADDR))
    topo.remote.run([PY, "-c", script])
    errs = [Ether(f) for f in c.recv_frames(1.5) if Ether(f).haslayer(ICMP)]
    c.close()
    srv.close()
    assert [(p[UDPerror].sport, p[UDPerror].dport) for p in errs] == [(4600, 7600)], \
        [p.summary() for p in errs]
    m.wait_log(r"no flow for ICMP type 3 from %s about protocol 17 to %s:7600 from host "
               r"port %d" % (REMOTE, REMOTE, near))
    assert "from host port 40000" not in m.log(), "the filter let a stranger's error through"
    assert len(re.findall(r"no flow for ICMP", m.log())) == 1
