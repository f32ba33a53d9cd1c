# SPDX-License-Identifier: GPL-2.0-or-later
"""DHCP cases real clients don't produce on demand, on the wire: requests
built with scapy and sent to merd's socket as qemu would, replies parsed."""

import logging
import re
import signal
import struct

import pytest

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import BOOTP, IP, UDP, Ether, raw  # noqa: E402

import netns  # noqa: E402
from dhcpframes import BCAST_MAC, CLIENT_MAC, msg_type, opts_of, request  # noqa: E402
from merdtest import Merd  # noqa: E402
from streamclient import StreamClient  # noqa: E402


@pytest.fixture
def client(topo, merd):
    c = StreamClient(merd.sock)
    yield c
    c.close()


def exchange(client, frame, timeout=1.5):
    client.send_frame(frame)
    return client.recv_frame(timeout)


def check_udp(frame):
    """The reply's IP and UDP checksums are right (scapy recomputes them)."""
    p = Ether(frame)
    ip_sum, udp_sum = p[IP].chksum, p[UDP].chksum
    del p[IP].chksum
    del p[UDP].chksum
    q = Ether(raw(p))
    assert q[IP].chksum == ip_sum and q[UDP].chksum == udp_sum


def test_discover_offer_wire_format(client, topo):
    r = exchange(client, request([("message-type", "discover")]))
    assert r is not None, "no OFFER"
    check_udp(r)
    p = Ether(r)
    assert p[Ether].src == topo.host_mac
    # No broadcast flag: unicast to the client's hardware address and yiaddr
    assert p[Ether].dst == CLIENT_MAC and p[IP].dst == netns.HOST_ADDR
    assert p[IP].src == netns.GATEWAY and p[UDP].sport == 67 and p[UDP].dport == 68
    b = p[BOOTP]
    assert b.op == 2 and b.xid == 0x1234 and b.yiaddr == netns.HOST_ADDR
    assert len(raw(b)) >= 300, "BOOTP replies are at least 300 bytes (RFC 1542)"
    o = opts_of(r)
    assert o[0] == (53, b"\x02") and o[1] == (54, bytes([10, 42, 0, 1]))
    d = dict(o)
    assert d[1] == bytes([255, 255, 255, 0])
    assert d[3] == bytes([10, 42, 0, 1])
    assert d[6] == bytes([10, 42, 0, 1, 10, 42, 0, 53])
    assert d[15] == b"example.test"
    assert d[119] == b"\x07example\x04test\x00\x03lab\x07example\x04test\x00"
    assert struct.unpack("!H", d[26])[0] == netns.HOST_MTU
    lease, t1, t2 = (struct.unpack("!I", d[k])[0] for k in (51, 58, 59))
    assert 0 < t1 < t2 < lease


def test_broadcast_flag_honoured(client):
    r = exchange(client, request([("message-type", "discover")], flags=0x8000))
    p = Ether(r)
    assert p[Ether].dst == BCAST_MAC and p[IP].dst == "255.255.255.255"
    assert p[BOOTP].flags == 0x8000


def test_parameter_request_list_order_and_subset(client):
    r = exchange(client, request([("message-type", "discover"),
                                  ("param_req_list", [6, 26, 1])]))
    codes = [c for c, _ in opts_of(r)]
    # Message type, server id and the lease times first, then what was asked
    assert codes == [53, 54, 51, 58, 59, 6, 26, 1]


def test_selecting_request(client):
    sel = [("message-type", "request"), ("server_id", netns.GATEWAY)]
    r = exchange(client, request(sel + [("requested_addr", netns.HOST_ADDR)]))
    assert msg_type(r) == 5 and Ether(r)[BOOTP].yiaddr == netns.HOST_ADDR
    # Another address: DHCPNAK, broadcast (RFC 2131 4.3.2)
    r = exchange(client, request(sel + [("requested_addr", "10.42.0.99")]))
    p = Ether(r)
    assert msg_type(r) == 6
    assert p[IP].dst == "255.255.255.255" and p[BOOTP].yiaddr == "0.0.0.0"
    assert 51 not in dict(opts_of(r))
    # The client chose another server: merd stays out of it
    r = exchange(client, request([("message-type", "request"), ("server_id", "10.42.0.200"),
                                  ("requested_addr", netns.HOST_ADDR)]))
    assert r is None


def test_init_reboot(client):
    r = exchange(client, request([("message-type", "request"),
                                  ("requested_addr", netns.HOST_ADDR)]))
    assert msg_type(r) == 5
    r = exchange(client, request([("message-type", "request"),
                                  ("requested_addr", "192.0.2.1")]))
    assert msg_type(r) == 6


def test_renewing_unicast(client):
    """RENEWING: unicast to the server with ciaddr; the ACK goes to ciaddr."""
    r = exchange(client, request([("message-type", "request")], ciaddr=netns.HOST_ADDR,
                                 src=netns.HOST_ADDR, dst=netns.GATEWAY,
                                 dmac=client_server_mac(client)))
    p = Ether(r)
    assert msg_type(r) == 5
    assert p[IP].dst == netns.HOST_ADDR and p[Ether].dst == CLIENT_MAC
    assert p[BOOTP].ciaddr == netns.HOST_ADDR
    r = exchange(client, request([("message-type", "request")], ciaddr="10.42.0.98",
                                 src="10.42.0.98"))
    assert msg_type(r) == 6


def client_server_mac(client):
    """merd's MAC, learnt the way a client does: from an OFFER."""
    r = exchange(client, request([("message-type", "discover")], xid=7))
    return Ether(r)[Ether].src


def test_inform(client):
    r = exchange(client, request([("message-type", "inform")], ciaddr=netns.HOST_ADDR,
                                 src=netns.HOST_ADDR))
    p = Ether(r)
    d = dict(opts_of(r))
    assert d[53] == b"\x05"
    assert 51 not in d and 58 not in d and 59 not in d, "no lease time for INFORM"
    assert p[BOOTP].yiaddr == "0.0.0.0" and p[IP].dst == netns.HOST_ADDR
    assert d[6] == bytes([10, 42, 0, 1, 10, 42, 0, 53])


def test_release_and_decline_get_no_reply(client, merd):
    assert exchange(client, request([("message-type", "release"),
                                     ("server_id", netns.GATEWAY)],
                                    ciaddr=netns.HOST_ADDR)) is None
    assert exchange(client, request([("message-type", "decline"),
                                     ("server_id", netns.GATEWAY),
                                     ("requested_addr", netns.HOST_ADDR)])) is None
    merd.wait_log(r"guest declined 10\.42\.0\.2")


def test_overload_options_in_file_field(client):
    """RFC 2131 4.1: option 52 moves options into "file"; they count."""
    file_opts = bytes([55, 2, 6, 1, 255]) + b"\0" * 123
    r = exchange(client, request([("message-type", "discover"), (52, b"\x01")],
                                 bootp_extra={"file": file_opts}))
    codes = [c for c, _ in opts_of(r)]
    assert codes[-2:] == [6, 1] and 3 not in codes


LONG_SEARCH = ["d%02d.%s.example" % (i, "x" * 40) for i in range(8)]


def test_long_search_list_split_or_left_out(topo):
    """More than 255 bytes of search list: split into several option 119
    instances (RFC 3396) when the client takes a large message, left out
    when the reply must fit 576 bytes."""
    m = Merd(topo.host, sock=topo.sock, args=["-S", " ".join(LONG_SEARCH)])
    c = StreamClient(m.sock)
    try:
        r = exchange(c, request([("message-type", "discover"), ("max_dhcp_size", 1500)]))
        parts = [v for code, v in opts_of(r) if code == 119]
        assert len(parts) >= 2 and all(len(v) <= 255 for v in parts)
        names, data, i = [], b"".join(parts), 0
        while i < len(data):
            labels = []
            while data[i]:
                labels.append(data[i + 1:i + 1 + data[i]].decode())
                i += 1 + data[i]
            i += 1
            names.append(".".join(labels))
        assert names == LONG_SEARCH
        r = exchange(c, request([("message-type", "discover")]))
        d = dict(opts_of(r))
        assert 119 not in d and 1 in d and 3 in d and 6 in d
        assert len(raw(Ether(r)[IP])) <= 576
    finally:
        c.close()
        m.stop()


def malformed_requests():
    good = request([("message-type", "discover")])
    eth_ip_udp = 14 + 20 + 8
    yield "option overruns packet", good[:-1] + b"\x0c\x30abc"
    yield "no end option", good[:-1]
    yield "truncated BOOTP", good[:eth_ip_udp + 200]
    yield "message type of length 2", request([(53, b"\x01\x01")])
    yield "overload with runaway file options", request(
        [("message-type", "discover"), (52, b"\x01")],
        bootp_extra={"file": bytes([55, 200]) + b"\x01" * 126})
    bad = bytearray(good)
    bad[eth_ip_udp + 10] ^= 0xff        # UDP checksum no longer matches
    yield "bad UDP checksum", bytes(bad)
    yield "wrong magic cookie", good[:eth_ip_udp + 236] + b"\0\0\0\0" + \
        good[eth_ip_udp + 240:]


def test_malformed_requests_are_dropped(client, merd):
    for what, frame in malformed_requests():
        fixed = frame
        if what not in ("bad UDP checksum",):
            # Rebuild IP/UDP lengths and checksums around the damaged payload
            p = Ether(frame[:14]) / IP(src="0.0.0.0", dst="255.255.255.255") / \
                UDP(sport=68, dport=67) / frame[42:]
            fixed = raw(p)
        assert exchange(client, fixed, timeout=0.5) is None, what
    # Still serving
    r = exchange(client, request([("message-type", "discover")]))
    assert r is not None and msg_type(r) == 2
    assert merd.alive()


def test_decline_flood_is_rate_limited(client, merd):
    """A guest declining its address again and again: merd warns five times
    (LOG_RL_BURST), not forty, and goes on answering."""
    decline = request([("message-type", "decline"), ("requested_addr", netns.HOST_ADDR),
                       ("server_id", netns.GATEWAY)])
    for _ in range(40):
        client.send_frame(decline)
    r = exchange(client, request([("message-type", "discover")]))
    assert r is not None and msg_type(r) == 2, "no OFFER after the flood"
    lines = [ln for ln in merd.log().splitlines() if "guest declined" in ln]
    assert len(lines) == 5, merd.log()


def test_drops_counted_by_reason(client, merd, topo):
    """What merd drops from the guest is counted by reason, and SIGUSR1's
    summary shows the counts: frames for another MAC, truncated IPv4
    packets, a datagram to a multicast group merd doesn't forward."""
    mine = topo.host_mac
    for _ in range(3):
        client.send_frame(raw(Ether(src=CLIENT_MAC, dst="02:00:00:00:00:99") /
                              IP(src=netns.HOST_ADDR, dst=netns.REMOTE_ADDR) / UDP()))
    for _ in range(2):
        client.send_frame(raw(Ether(src=CLIENT_MAC, dst=mine, type=0x0800)) + b"\x45\x00\x00")
    client.send_frame(raw(Ether(src=CLIENT_MAC, dst=mine) /
                          IP(src=netns.HOST_ADDR, dst="239.1.2.3") / UDP(dport=9)))
    # A DISCOVER answered: everything before it was handled
    assert exchange(client, request([("message-type", "discover")])) is not None
    merd.proc.send_signal(signal.SIGUSR1)
    line = merd.wait_log(r"drops: .*").group(0)
    counts = dict((k, int(v)) for k, v in re.findall(r"([a-z-]+) (\d+)", line))
    assert counts == {"not-ours": 3, "malformed": 2, "not-forwarded": 1}, line
