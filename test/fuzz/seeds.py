#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""seeds.py - write seed corpora for the libFuzzer harnesses

Usage: seeds.py OUTDIR

Writes OUTDIR/corpus_dhcp (one Ethernet frame per file: DHCP DISCOVER,
REQUEST in each client state, INFORM, DECLINE, RELEASE, option overload),
OUTDIR/corpus_arp (ARP request, probe, announcement, reply),
OUTDIR/corpus_tap (fuzz_tap's 9-byte control header, then those frames and
some the guest forwards, each after its 32-bit big-endian length, as qemu
sends them), OUTDIR/corpus_fwd (fuzz_fwd's control byte, then chunks:
guest packets, host packets aimed at the flows they open, clock ticks) and
OUTDIR/corpus_conntrack (fuzz_conntrack's header, then operations: flows
inserted, looked up, tracked through TCP sessions, expired, removed). The
addresses match the configurations of the harnesses: guest 192.0.2.10,
gateway 192.0.2.1, merd's MAC 9a:55:9a:55:9a:55; fuzz_fwd's host address is
198.51.100.2.

These seeds are where test/fuzz/corpus/ started from; corpus.sh runs this
to refresh it (README.md). run.sh doesn't need it: it starts from the
saved corpus.
"""

import logging
import os
import struct
import sys

logging.getLogger("scapy").setLevel(logging.ERROR)

from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402

GUEST_MAC = "52:54:00:12:34:56"
OUR_MAC = "9a:55:9a:55:9a:55"
BCAST = "ff:ff:ff:ff:ff:ff"
GUEST = "192.0.2.10"
GW = "192.0.2.1"
PRL = [1, 3, 6, 15, 26, 28, 119]


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def dhcp_frame(opts, ciaddr="0.0.0.0", src="0.0.0.0", dst="255.255.255.255",
               dmac=BCAST, flags=0, udp_csum=None, file=b"", sname=b"",
               xid=0x12345678):
    """A DHCP request from the guest, as a frame"""
    udp = UDP(sport=68, dport=67)
    if udp_csum is not None:
        udp.chksum = udp_csum
    bootp = BOOTP(op=1, xid=xid, flags=flags, ciaddr=ciaddr,
                  chaddr=mac_bytes(GUEST_MAC), file=file, sname=sname)
    return bytes(Ether(dst=dmac, src=GUEST_MAC) / IP(src=src, dst=dst) /
                 udp / bootp / DHCP(options=opts + ["end"]))


def dhcp_seeds():
    mt = "message-type"
    return {
        "discover": dhcp_frame([(mt, "discover"), ("param_req_list", PRL),
                                ("max_dhcp_size", 1500)]),
        "discover_bcast_nocsum": dhcp_frame([(mt, "discover")],
                                            flags=0x8000, udp_csum=0),
        "discover_maxsize_big": dhcp_frame(
            [(mt, "discover"), ("max_dhcp_size", 9000),
             ("param_req_list", [119, 15, 6, 3, 1, 26, 28])]),
        "request_selecting": dhcp_frame(
            [(mt, "request"), ("server_id", GW), ("requested_addr", GUEST),
             ("param_req_list", PRL)]),
        "request_selecting_other": dhcp_frame(
            [(mt, "request"), ("server_id", "192.0.2.99"),
             ("requested_addr", GUEST)]),
        "request_init_reboot": dhcp_frame(
            [(mt, "request"), ("requested_addr", GUEST)]),
        "request_init_reboot_nak": dhcp_frame(
            [(mt, "request"), ("requested_addr", "192.0.2.77")]),
        "request_renewing": dhcp_frame(
            [(mt, "request"), ("param_req_list", PRL)], ciaddr=GUEST,
            src=GUEST, dst=GW, dmac=OUR_MAC),
        "request_rebinding": dhcp_frame([(mt, "request")], ciaddr=GUEST,
                                        src=GUEST),
        "inform": dhcp_frame([(mt, "inform"), ("param_req_list", PRL)],
                             ciaddr=GUEST, src=GUEST, dst=GW, dmac=OUR_MAC),
        "decline": dhcp_frame([(mt, "decline"), ("server_id", GW),
                               ("requested_addr", GUEST)]),
        "release": dhcp_frame([(mt, "release"), ("server_id", GW)],
                              ciaddr=GUEST, src=GUEST, dst=GW,
                              dmac=OUR_MAC),
        # Option overload (RFC 2132 9.3): more options in file and sname
        "discover_overload": dhcp_frame(
            [(mt, "discover"), ("dhcp-option-overload", 3)],
            file=bytes([55, 2, 1, 3, 255]),
            sname=bytes([57, 2, 0x05, 0xdc, 255])),
    }


def arp_frame(op, psrc, pdst, hwsrc=GUEST_MAC, dst=BCAST, hwdst="00:00:00:00:00:00"):
    return bytes(Ether(dst=dst, src=GUEST_MAC) /
                 ARP(op=op, hwsrc=hwsrc, psrc=psrc, hwdst=hwdst, pdst=pdst))


def arp_seeds():
    return {
        "request_gw": arp_frame(1, GUEST, GW),
        "request_neighbour_padded":
            arp_frame(1, GUEST, "192.0.2.33") + bytes(18),
        "request_unicast": arp_frame(1, GUEST, GW, dst=OUR_MAC),
        "probe": arp_frame(1, "0.0.0.0", GUEST),
        "announce": arp_frame(1, GUEST, GUEST),
        "reply": arp_frame(2, GUEST, GW, dst=OUR_MAC, hwdst=OUR_MAC),
    }


def framed(frames):
    return b"".join(struct.pack(">I", len(f)) + f for f in frames)


def ctl(flags, *reads):
    reads = list(reads) + [0] * (4 - len(reads))
    return bytes([flags]) + struct.pack("<4H", *reads)


def tap_seeds(dhcp, arp):
    d, a = list(dhcp.values()), list(arp.values())
    every = d + a
    return {
        "all_at_once": ctl(0x00) + framed(every),
        "reads_small": ctl(0x00, 1, 7, 100, 3) + framed(every),
        "reads_odd_fixcsum": ctl(0x20, 5, 333, 2, 17) + framed(every),
        "small_ring_small_sndbuf": ctl(0x1c, 64, 0) + framed(every * 4),
        # Small send buffer, the guest reads every 64 flushes: partial
        # writes, frames wrapping around the 6007- and 9001-byte rings
        "slow_guest_wrap": ctl(0x94, 46, 92, 46, 138) + framed((a + d) * 30),
        "slow_guest_wrap_dhcp": ctl(0x98, 400, 46, 1000, 64) +
            framed((d + a) * 30),
        # 128-byte ring, the guest reads only at the end: drops
        "slow_guest_exact_ring": ctl(0xdc, 46, 92, 46, 138) + framed(a * 200),
        "jumbo_conf": ctl(0x22, 0) + framed(d),
        "dora": ctl(0x00, 0) + framed([dhcp["discover"],
                                       dhcp["request_selecting"]]),
        "arp_only": ctl(0x00, 42) + framed(a * 8),
        "partial_tail": ctl(0x00, 0) + framed(a)[:-7],
        "framing_error": ctl(0x00, 0) + framed(a[:2]) + bytes(4) + framed(a),
        "length_too_big": ctl(0x00, 0) + struct.pack(">I", 65550) + a[0],
        # The shortest and the longest frames tap_parse() takes
        "frame_bounds": ctl(0x00, 0) + framed([a[0][:14], a[0][:14] +
                                               bytes(65549 - 14)]),
        # IPv4 that isn't DHCP goes to forwarding: resets and ICMP errors
        "forwarded": ctl(0x00, 0) + framed(fwd_frames() + a[:1] + d[:1]),
        "forwarded_mtu68": ctl(0x03, 0) + framed(fwd_frames() * 3),
        "forwarded_fixcsum_small_ring": ctl(0xdc, 333) +
            framed((fwd_frames() + a) * 20),
    }


def fwd_frames():
    """Frames the guest forwards: answers come back as resets and errors"""
    eth = Ether(dst=OUR_MAC, src=GUEST_MAC)
    big = IP(src=GUEST, dst=PEER) / UDP(sport=5000, dport=9) / bytes(3000)
    return [bytes(eth / IP(bytes(x))) for x in [
        g_tcp("S"), g_tcp("A", ack=5), g_udp(), g_ping(), g_ping(ttl=1),
        g_udp(dst=GW, dport=53), g_tcp("S", dst=GW, dport=22),
        g_udp(dst=PEER, dport=9, payload=bytes(1500), flags="DF"),
    ]] + [bytes(eth / f) for f in fragment(big, fragsize=1000)]


# fuzz_fwd: chunk kinds and flags (see fuzz_fwd.c)
K_TAP, K_GUEST, K_HOST, K_TIME = 0, 1, 2, 3
FIX, AIM = 0x04, 0x08
HOST = "198.51.100.2"
HOST_ADDR = HOST
PEER = "203.0.113.5"
DNS = "198.51.100.53"


def chunk(kind, pkt=b"", fix=True, aim=False, flow=0, length=None):
    """One fuzz_fwd chunk: kind and flags, 16-bit length, the packet"""
    t = kind | (FIX if fix else 0) | (AIM if aim else 0) | (flow << 4)
    data = bytes(pkt)
    n = len(data) if length is None else length
    return bytes([t]) + struct.pack(">H", n) + data


def tick(secs):
    return chunk(K_TIME, fix=False, length=secs)


def g_tcp(flags, dst=PEER, dport=80, sport=40000, seq=1000, ack=0,
          payload=b"", **kw):
    return bytes(IP(src=GUEST, dst=dst, **kw) /
                 TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                     window=64240, options=[("MSS", 1460)] if "S" in flags
                     else []) / payload)


def h_tcp(flags, src=PEER, sport=80, dport=61001, seq=5000, ack=1001,
          payload=b""):
    return bytes(IP(src=src, dst=HOST, ttl=60) /
                 TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                     window=65535) / payload)


def g_udp(dst=DNS, dport=53, sport=5353, payload=b"q" * 30, **kw):
    return bytes(IP(src=GUEST, dst=dst, **kw) /
                 UDP(sport=sport, dport=dport) / payload)


def h_udp(src=DNS, sport=53, dport=61001, payload=b"a" * 60):
    return bytes(IP(src=src, dst=HOST, ttl=60) /
                 UDP(sport=sport, dport=dport) / payload)


def g_ping(dst=PEER, ident=0x1234, seq=1, payload=b"p" * 56, **kw):
    return bytes(IP(src=GUEST, dst=dst, **kw) /
                 ICMP(type=8, id=ident, seq=seq) / payload)


def h_pong(src=PEER, ident=61001, seq=1, payload=b"p" * 56):
    return bytes(IP(src=src, dst=HOST, ttl=60) /
                 ICMP(type=0, id=ident, seq=seq) / payload)


def h_error(quoted, itype=3, code=3, src=PEER, mtu=0):
    icmp = ICMP(type=itype, code=code)
    if itype == 3 and code == 4:
        icmp.nexthopmtu = mtu
    return bytes(IP(src=src, dst=HOST, ttl=60) / icmp / quoted[:28 + 40])


def quote_out(pkt_bytes, sport=61001):
    """The guest packet as merd sent it: from the host address and port"""
    p = IP(pkt_bytes)
    p.src = HOST
    p.ttl -= 1
    if p.haslayer(TCP):
        p[TCP].sport = sport
        del p[TCP].chksum
    elif p.haslayer(UDP):
        p[UDP].sport = sport
        del p[UDP].chksum
    elif p.haslayer(ICMP):
        p[ICMP].id = sport
        del p[ICMP].chksum
    del p.chksum
    return bytes(p)


def fwd_seeds():
    syn = g_tcp("S")
    udp = g_udp()
    ping = g_ping()
    big_udp = g_udp(dst=PEER, dport=9000, payload=bytes(range(256)) * 12)
    frags = [bytes(f) for f in fragment(IP(big_udp), fragsize=1200)]
    data = bytes(range(256)) * 16
    seeds = {
        # SYN, SYN-ACK, ACK, data both ways (4 KiB cut to the MTU), FINs;
        # aimed segments' sequence and ack numbers are offsets from what
        # the flow saw of each side: 0 is the next one
        "tcp_session": bytes([0x00]) + b"".join([
            chunk(K_TAP, syn),
            chunk(K_HOST, h_tcp("SA", seq=5000, ack=0), aim=True),
            chunk(K_TAP, g_tcp("A", seq=0, ack=0), aim=True),
            chunk(K_TAP, g_tcp("PA", seq=0, ack=0,
                               payload=b"GET / HTTP/1.0\r\n\r\n"),
                  aim=True),
            chunk(K_HOST, h_tcp("PA", seq=0, ack=0, payload=data),
                  aim=True),
            chunk(K_HOST, h_tcp("PA", seq=100000, ack=0, payload=data),
                  aim=True),
            chunk(K_TAP, g_tcp("FA", seq=0, ack=0), aim=True),
            chunk(K_HOST, h_tcp("FA", seq=0, ack=0), aim=True),
            chunk(K_TAP, g_tcp("A", seq=0, ack=0), aim=True),
            tick(130),
        ]),
        "tcp_segment_mtu68": bytes([0x03]) + b"".join([
            chunk(K_GUEST, syn),
            chunk(K_HOST, h_tcp("SA", seq=5000, ack=0), aim=True),
            chunk(K_HOST, h_tcp("PA", seq=0, ack=0, payload=data[:1500]),
                  aim=True),
        ]),
        "tcp_segment_jumbo_gro": bytes([0x01]) + b"".join([
            chunk(K_GUEST, syn),
            chunk(K_HOST, h_tcp("SA", seq=5000, ack=0), aim=True),
            chunk(K_HOST, h_tcp("PA", seq=0, ack=0, payload=bytes(60000)),
                  aim=True),
        ]),
        "tcp_rst_no_flow": bytes([0x00]) + b"".join([
            chunk(K_TAP, g_tcp("A", seq=5, ack=7)),
            chunk(K_TAP, g_tcp("PA", seq=5, ack=0, payload=b"x" * 10)),
            chunk(K_HOST, h_tcp("R", seq=5001), aim=False),
        ]),
        # A blind reset (out of the window) is dropped, one acknowledging
        # the SYN closes the flow
        "tcp_host_rst": bytes([0x00]) + b"".join([
            chunk(K_TAP, syn),
            chunk(K_HOST, h_tcp("RA", seq=0, ack=77), aim=True),
            chunk(K_HOST, h_tcp("RA", seq=0, ack=0), aim=True),
            tick(11),
        ]),
        "udp_dns": bytes([0x00]) + b"".join([
            chunk(K_TAP, udp),
            chunk(K_HOST, h_udp(), aim=True),
            chunk(K_HOST, h_udp(payload=b"b" * 3000), aim=True),
            tick(31), tick(200),
        ]),
        "udp_nocsum_mtu576": bytes([0x02]) + b"".join([
            chunk(K_GUEST, g_udp(dst=PEER, dport=7), fix=False),
            chunk(K_HOST, bytes(IP(src=PEER, dst=HOST) /
                                UDP(sport=7, dport=61001, chksum=0) /
                                (b"z" * 2000)), aim=True, fix=False),
        ]),
        "icmp_echo": bytes([0x00]) + b"".join([
            chunk(K_TAP, ping),
            chunk(K_HOST, h_pong(), aim=True),
            chunk(K_HOST, h_pong(payload=b"P" * 3000), aim=True),
        ]),
        "icmp_errors": bytes([0x00]) + b"".join([
            chunk(K_TAP, syn),
            chunk(K_TAP, udp),
            chunk(K_TAP, ping),
            chunk(K_HOST, h_error(quote_out(syn), 3, 1), aim=True, flow=0),
            chunk(K_HOST, h_error(quote_out(udp), 3, 3, src=DNS), aim=True,
                  flow=1),
            chunk(K_HOST, h_error(quote_out(ping), 11, 0,
                                  src="198.51.100.77"), aim=True, flow=2),
            chunk(K_HOST, h_error(quote_out(syn), 3, 4, mtu=1400),
                  aim=True, flow=0),
            chunk(K_HOST, h_error(quote_out(udp), 12, 0), aim=True, flow=1),
        ]),
        "guest_fragments": bytes([0x00]) + b"".join(
            chunk(K_GUEST, f, fix=False) for f in frags),
        "guest_fragments_reversed": bytes([0x80]) + b"".join(
            chunk(K_TAP, f, fix=False) for f in reversed(frags)),
        "guest_fragments_overlap": bytes([0x00]) + b"".join(
            chunk(K_GUEST, f, fix=False) for f in frags + frags[:1]),
        "ttl_exceeded": bytes([0x00]) + chunk(K_TAP, g_ping(ttl=1)) +
            chunk(K_TAP, g_tcp("S", ttl=1)),
        "df_too_big_host576": bytes([0x04]) + b"".join([
            chunk(K_TAP, g_udp(dst=PEER, dport=9, payload=bytes(1400),
                               flags="DF")),
            chunk(K_TAP, g_udp(dst=PEER, dport=9, payload=bytes(1400))),
        ]),
        # Four peers, 24 host ports toward each: the table fills up, then
        # new flows are refused; with UDP flows, the oldest give way
        "flow_table_full": bytes([0x80]) + b"".join(
            chunk(K_TAP, g_tcp("S", sport=20000 + i,
                               dst="203.0.113.%d" % (5 + i // 20)))
            for i in range(66)) +
            b"".join(chunk(K_TAP, g_udp(sport=30000 + i)) for i in range(3)),
        "flow_table_full_udp": bytes([0x00]) + b"".join(
            chunk(K_TAP, g_udp(sport=20000 + i, dst="203.0.113.%d" % (5 + i // 20),
                               dport=9)) for i in range(70)),
        # One peer: once its 24 ports are taken, finished flows toward it
        # give theirs up
        "port_victims": bytes([0x00]) + b"".join(
            chunk(K_TAP, g_udp(sport=30000 + i)) for i in range(30)) +
            b"".join(chunk(K_TAP, g_tcp("S", sport=20000 + i))
                     for i in range(26)),
        "batch_unreachable": bytes([0x00]) + b"".join(
            chunk(K_TAP, g_udp(dst="203.0.113.%d" % (i + 1), dport=9))
            for i in range(40)),
        # To the gateway, which means the host's loopback: the host's own
        # stack answers (RST, port unreachable, echo reply)
        "loopback_gateway": bytes([0x10]) + b"".join([
            chunk(K_TAP, g_tcp("S", dst=GW, dport=22)),
            chunk(K_TAP, g_udp(dst=GW, dport=53)),
            chunk(K_TAP, g_udp(dst=GW, dport=9999)),
            chunk(K_TAP, g_ping(dst=GW)),
            chunk(K_TAP, g_ping(dst=GW, payload=bytes(4000))),
        ]),
        "loopback_dns_host": bytes([0x11]) + chunk(K_TAP, g_udp(dst=GW)),
        "expiry_wrap": bytes([0x60]) + b"".join([
            chunk(K_TAP, syn), chunk(K_TAP, udp), chunk(K_TAP, ping),
            tick(29), tick(1), tick(200),
        ]),
        # Eight ports a block toward one peer: more blocks are claimed,
        # then given back once idle
        "port_blocks": bytes([0x40]) + b"".join(
            chunk(K_TAP, g_tcp("S", sport=21000 + i)) for i in range(20)) +
            tick(130) + tick(61) + chunk(K_TAP, g_udp()) + tick(1),
        "small_ring": bytes([0x08]) + b"".join([
            chunk(K_TAP, syn),
            chunk(K_HOST, h_tcp("SA", seq=5000, ack=0), aim=True),
            chunk(K_HOST, h_tcp("PA", seq=0, ack=0, payload=bytes(30000)),
                  aim=True),
        ]),
    }
    return seeds


# fuzz_conntrack: operations (see fuzz_conntrack.c)
OP_INSERT, OP_INSERT_LIKE, OP_REMOVE, OP_REFRESH, OP_TRACK = 0, 1, 2, 3, 4
OP_LOOKUP, OP_LOOKUP_ANY, OP_TIME = 5, 6, 7
CT_TCP, CT_UDP, CT_ICMP = 0, 1, 2
PIF_TAP, PIF_HOST = 0, 1
INI, TGT = 0, 1
TH_FIN, TH_SYN, TH_RST, TH_ACK = 0x01, 0x02, 0x04, 0x10
# Key fields: protocol, interface, endpoint address words 0-3, our address
# words 0-3, endpoint port, our port; 0x10: the target's side (inserts);
# 0x80 | byte << 5: one byte of the XOR only
F_PROTO, F_PIF, F_EADDR, F_OADDR, F_EPORT, F_OPORT = 0, 1, 2, 6, 10, 11
F_TGT = 0x10


def ct_hdr(flows=64, clock=0, timeouts=None, big=None):
    """Table size, clock start (0-3), short timeouts, the state number
    whose timeout is the largest"""
    b = bytes([(64 - flows) % 64, clock | (4 if timeouts else 0) |
               (8 | big << 4 if big is not None else 0)])
    return b + (bytes(timeouts) if timeouts else b"")


def ct_op(op, param=0):
    return bytes([op | param << 3])


def ct_addr(a):
    """An address: IPv4 dotted (mapped) or IPv6 text (16 bytes); its form
    bit and its bytes"""
    if ":" in a:
        import ipaddress
        return 1, ipaddress.IPv6Address(a).packed
    return 0, bytes(int(x) for x in a.split("."))


def ct_side(eaddr, oaddr, eport, oport):
    fe, be = ct_addr(eaddr)
    fo, bo = ct_addr(oaddr)
    return fe | fo << 1, be + bo + struct.pack(">HH", eport, oport)


def ct_insert(proto, ini, tgt, pifs=(PIF_TAP, PIF_HOST)):
    """ini, tgt: (endpoint address, our address, endpoint port, our port)"""
    fi, bi = ct_side(*ini)
    ft, bt = ct_side(*tgt)
    shape = proto | pifs[0] << 2 | pifs[1] << 3 | fi << 4 | ft << 6
    return ct_op(OP_INSERT) + bytes([shape]) + bi + bt


def ct_fwd(proto, gport, dport, hport, daddr="203.0.113.5", haddr=HOST_ADDR,
           guest="192.0.2.10"):
    """A flow as fwd.c makes one: the guest to daddr, the host to daddr"""
    return ct_insert(proto, (guest, daddr, gport, dport),
                     (daddr, haddr, dport, hport))


def ct_like(which, a, b):
    """a, b: (field byte, XOR)"""
    return ct_op(OP_INSERT_LIKE) + bytes([which]) + \
        bytes([a[0]]) + struct.pack(">I", a[1]) + \
        bytes([b[0]]) + struct.pack(">I", b[1])


def ct_track(which, flags, side=INI, mode=0, dseq=0, dack=0, win=65535,
             length=0, ws=15):
    """A segment: sequence and ack numbers as offsets from what each side
    sent; mode bits 0-1 add 2^31 to them"""
    return ct_op(OP_TRACK, side) + bytes([which, flags, mode]) + \
        struct.pack(">hhHH", dseq, dack, win, length) + bytes([ws])


def ct_lookup(which, side=INI, field=0, xor=0):
    return ct_op(OP_LOOKUP, side) + bytes([which, field]) + \
        struct.pack(">I", xor)


def ct_lookup_any(proto, side, pif=PIF_TAP):
    f, b = ct_side(*side)
    return ct_op(OP_LOOKUP_ANY) + bytes([proto | pif << 3 | f << 4]) + b


def ct_time(secs, expire=True):
    return ct_op(OP_TIME, 1 if expire else 0) + struct.pack(">H", secs)


def conntrack_seeds():
    tcp = ct_fwd(CT_TCP, 40000, 80, 61001)
    # Handshake with window scaling, data both ways, FINs, a reopening
    session = [tcp, ct_track(0, TH_SYN, ws=7, dseq=1000),
               ct_track(0, TH_SYN | TH_ACK, TGT, ws=7, dseq=5000),
               ct_track(0, TH_ACK),
               ct_track(0, TH_ACK, length=1400),
               ct_track(0, TH_ACK, TGT, length=1400),
               ct_track(0, TH_ACK, TGT, length=1400, dseq=-1400),
               ct_track(0, TH_ACK, TGT, length=100, mode=1),
               ct_track(0, TH_ACK, length=10, dack=20000),
               ct_track(0, TH_FIN | TH_ACK), ct_track(0, TH_ACK, TGT),
               ct_track(0, TH_FIN | TH_ACK, TGT), ct_track(0, TH_ACK),
               ct_track(0, TH_ACK, TGT), ct_track(0, TH_SYN, dseq=77),
               ct_time(121)]
    flows = [ct_fwd(CT_TCP, 40000 + i, 80, 61000 + i) for i in range(8)] + \
        [ct_fwd(CT_UDP, 5353, 53, 61100 + i, daddr="198.51.100.%d" % i)
         for i in range(8)] + \
        [ct_fwd(CT_ICMP, 0x1234 + i, 0, 61200 + i) for i in range(8)]
    # Flows of other shapes: opened from the host's side, both sides on
    # one interface, IPv6 and IPv4-mapped look-alike addresses
    odd = [
        ct_insert(CT_UDP, ("203.0.113.9", HOST_ADDR, 53, 61300),
                  ("192.0.2.10", "192.0.2.1", 5353, 53), (PIF_HOST, PIF_TAP)),
        ct_insert(CT_TCP, ("2001:db8::1", "2001:db8::2", 40000, 443),
                  ("2001:db8::2", "2001:db8::1", 443, 61301),
                  (PIF_HOST, PIF_HOST)),
        ct_insert(CT_TCP, ("::fffe:c000:20a", "::ffff:cb00:7105", 40000, 80),
                  ("::ffff:cb00:7105", "::ffff:c633:6402", 80, 61001),
                  (PIF_TAP, PIF_TAP)),
    ]
    lookups = [ct_lookup(w, side, f, x) for side in (INI, TGT)
               for w in range(0, 24, 5) for f, x in
               ((F_PROTO, 0), (F_PIF, 1), (F_EADDR + 3, 0x100),
                (F_EADDR + 2, 1), (F_OADDR + 3, 0x01000000),
                (F_OADDR + 2, 0x10000), (F_EPORT, 1), (F_OPORT, 0x100))]
    # Flows whose keys differ in one byte of one field of each side
    likes = [ct_like(w, (f, x), (F_TGT | g, y)) for w in range(0, 24, 7)
             for (f, x), (g, y) in
             (((F_EADDR + 3, 0x01000000), (F_OPORT, 1)),
              ((F_EPORT, 0x80), (F_OADDR + 3, 0x100)),
              ((F_PIF, 1), (F_PIF, 1)),
              ((F_OADDR + 2, 0x1), (F_EADDR + 1, 0x80000000)))]
    return {
        "tcp_session": ct_hdr() + b"".join(session),
        "tcp_reset_reopen": ct_hdr() + tcp + ct_track(0, TH_SYN) +
            ct_track(0, TH_SYN | TH_ACK, TGT) + ct_track(0, TH_ACK) +
            ct_track(0, TH_FIN | TH_ACK, TGT) +
            ct_track(0, TH_RST | TH_ACK, TGT) + ct_track(0, TH_SYN) +
            ct_track(0, TH_RST, TGT, dseq=-5) + ct_time(11),
        "tcp_blind_reset": ct_hdr() + tcp + ct_track(0, TH_SYN) +
            ct_track(0, TH_RST | TH_ACK, TGT, dack=1) +
            ct_track(0, TH_RST | TH_ACK, TGT) + ct_time(11),
        "three_protocols": ct_hdr() + b"".join(flows + odd + likes +
                                               lookups) +
            ct_track(9, 0, TGT) + ct_track(9, 0) + ct_track(9, 0, TGT) +
            ct_time(31) + ct_time(200),
        "lookup_any": ct_hdr() + b"".join(flows[:4] + odd) + b"".join(
            ct_lookup_any(CT_TCP, ("192.0.2.10", "203.0.113.5", 40000 + i,
                                   80)) for i in range(3)) +
            ct_lookup_any(CT_UDP, ("203.0.113.9", HOST_ADDR, 53, 61300),
                          PIF_HOST),
        "full_small_table": ct_hdr(flows=3) + b"".join(flows[:5]) +
            ct_op(OP_REMOVE) + bytes([1]) + b"".join(flows[5:7]),
        "collisions_remove": ct_hdr(flows=4) + b"".join(
            ct_like(0, (F_TGT | F_OPORT, i), (F_EPORT, i)) + ct_op(OP_REMOVE) +
            bytes([i % 3]) for i in range(1, 40)) + tcp,
        "churn": ct_hdr() + b"".join(flows) + b"".join(
            ct_op(OP_REMOVE) + bytes([7 * i % 256]) + flows[i % 24]
            for i in range(48)) + b"".join(lookups),
        "expiry_wrap_short": ct_hdr(clock=1, timeouts=range(1, 12)) +
            b"".join(flows) + b"".join(
                ct_op(OP_REFRESH, i % 32) + bytes([i, i]) + ct_time(3)
                for i in range(40)),
        "expiry_sign_big": ct_hdr(clock=2, big=0) + b"".join(flows) +
            ct_time(65535, expire=False) + ct_time(1) + ct_time(65535),
    }


def write(dirname, seeds):
    os.makedirs(dirname, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(dirname, "seed_" + name), "wb") as f:
            f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: seeds.py OUTDIR")
    out = sys.argv[1]
    dhcp, arp = dhcp_seeds(), arp_seeds()
    write(os.path.join(out, "corpus_dhcp"), dhcp)
    write(os.path.join(out, "corpus_arp"), arp)
    write(os.path.join(out, "corpus_tap"), tap_seeds(dhcp, arp))
    write(os.path.join(out, "corpus_fwd"), fwd_seeds())
    write(os.path.join(out, "corpus_conntrack"), conntrack_seeds())


if __name__ == "__main__":
    main()
