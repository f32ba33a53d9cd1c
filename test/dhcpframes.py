# SPDX-License-Identifier: GPL-2.0-or-later
"""dhcpframes.py - DHCP requests built with scapy, and replies read back

For the tests that speak DHCP on merd's socket themselves (test_dhcp_wire.py,
test_robust.py): request() builds a client's frame, opts_of() and msg_type()
read merd's answer from its raw option area (scapy's DHCP layer decodes too
much to show what is really there).
"""

import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import BOOTP, DHCP, IP, UDP, Ether, raw  # noqa: E402

CLIENT_MAC = "52:54:00:12:34:56"
BCAST_MAC = "ff:ff:ff:ff:ff:ff"


def chaddr():
    return bytes.fromhex(CLIENT_MAC.replace(":", "")) + b"\0" * 10


def request(options, ciaddr="0.0.0.0", flags=0, xid=0x1234, src="0.0.0.0",
            dst="255.255.255.255", dmac=BCAST_MAC, bootp_extra=None):
    """A DHCP request frame; options as scapy DHCP option tuples."""
    b = BOOTP(op=1, xid=xid, flags=flags, ciaddr=ciaddr, chaddr=chaddr(),
              **(bootp_extra or {}))
    return raw(Ether(src=CLIENT_MAC, dst=dmac) / IP(src=src, dst=dst) /
               UDP(sport=68, dport=67) / b / DHCP(options=options + ["end"]))


def opts_of(frame):
    """Options of a reply as an ordered list of (code, bytes)."""
    p = Ether(frame)
    data = bytes(p[BOOTP].payload) if p.haslayer(BOOTP) else b""
    # scapy's DHCP layer decodes too much; read the raw option area instead
    bootp = raw(p[UDP].payload)
    assert bootp[236:240] == b"\x63\x82\x53\x63"
    out, i, area = [], 0, bootp[240:]
    while i < len(area):
        code = area[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            break
        n = area[i + 1]
        out.append((code, area[i + 2:i + 2 + n]))
        i += 2 + n
    del data
    return out


def msg_type(frame):
    return dict(opts_of(frame)).get(53, b"\0")[0]
