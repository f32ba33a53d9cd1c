#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""seeds.py - write seed corpora for the libFuzzer harnesses

Usage: seeds.py OUTDIR

Writes OUTDIR/corpus_dhcp (one Ethernet frame per file: DHCP DISCOVER,
REQUEST in each client state, INFORM, DECLINE, RELEASE, option overload),
OUTDIR/corpus_arp (ARP request, probe, announcement, reply) and
OUTDIR/corpus_tap (fuzz_tap's 9-byte control header, then those frames, each
after its 32-bit big-endian length, as qemu sends them). The addresses match
the configurations of the harnesses: guest 192.0.2.10, gateway 192.0.2.1,
merd's MAC 9a:55:9a:55:9a:55.
"""

import logging
import os
import struct
import sys

logging.getLogger("scapy").setLevel(logging.ERROR)

from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
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


if __name__ == "__main__":
    main()
