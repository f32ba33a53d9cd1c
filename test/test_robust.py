# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile and clumsy clients: random, truncated, split and merged frames,
bogus lengths, hundreds of reconnections. merd must keep serving, and the
sanitiser build it runs as must report nothing (checked when it stops)."""

import logging
import random
import socket
import struct

import pytest

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether  # noqa: E402

import netns  # noqa: E402
from netns import log  # noqa: E402
from merdtest import Guest, udhcpc  # noqa: E402
from streamclient import StreamClient  # noqa: E402
from dhcpframes import msg_type, request  # noqa: E402

SEED = 20261127


def still_serving(topo, merd):
    """merd is alive and a real client still gets its lease."""
    assert merd.alive()
    g = Guest(topo.guest, merd.sock)
    lease, _ = udhcpc(g)
    assert lease["ip"] == netns.HOST_ADDR
    g.stop()


def discover(xid):
    return request([("message-type", "discover")], xid=xid)


@pytest.mark.parametrize("length", [0, 1, 13, 65550, 0x7fffffff, 0xffffffff])
def test_bogus_length_closes_connection_only(topo, merd, length):
    c = StreamClient(merd.sock)
    c.send_frame(discover(1))
    assert msg_type(c.recv_frame()) == 2
    c.send_raw(struct.pack("!I", length) + b"\0" * 32)
    assert c.closed_by_peer(), "merd must drop a client sending length %d" % length
    c.close()
    merd.wait_log(r"bad frame length %d from guest" % length)
    still_serving(topo, merd)


def test_random_frames(topo, merd):
    """2000 frames of random bytes and random lengths, some with an ARP or
    IPv4 EtherType so they reach the parsers."""
    rng = random.Random(SEED)
    c = StreamClient(merd.sock)
    for i in range(2000):
        n = rng.choice([14, 15, 41, 42, 60, 300, 590, 1514, rng.randint(14, 9000)])
        f = bytearray(rng.getrandbits(8) for _ in range(n))
        if i % 3 == 0:
            f[12:14] = b"\x08\x06"
        elif i % 3 == 1:
            f[12:14] = b"\x08\x00"
            f[14:15] = b"\x45"
        if i % 2:
            f[0:6] = b"\xff" * 6
        c.send_frame(bytes(f))
    c.send_frame(discover(77))
    offers = [f for f in c.recv_frames(2) if Ether(f).haslayer("BOOTP")]
    assert any(Ether(f)["BOOTP"].xid == 77 for f in offers)
    c.close()
    still_serving(topo, merd)


def test_mutated_dhcp_requests(topo, merd):
    """A valid DISCOVER with random bytes changed, 3000 times."""
    rng = random.Random(SEED + 1)
    base = bytearray(discover(5))
    c = StreamClient(merd.sock)
    for _ in range(3000):
        f = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            f[rng.randrange(14, len(f))] = rng.getrandbits(8)
        if rng.random() < 0.3:
            f = f[:rng.randint(14, len(f))]
        c.send_frame(bytes(f))
        c.buf = b""
    c.send_frame(discover(6))
    frames = c.recv_frames(2)
    assert any(Ether(f).haslayer("BOOTP") and Ether(f)["BOOTP"].xid == 6 for f in frames)
    c.close()
    still_serving(topo, merd)


def test_split_at_every_byte_and_merged(topo, merd):
    """One frame fed a byte at a time, then 50 frames in a single write:
    every answer comes, in order."""
    c = StreamClient(merd.sock)
    data = struct.pack("!I", len(discover(9))) + discover(9)
    for b in data:
        c.send_raw(bytes([b]))
    r = c.recv_frame(3)
    assert r is not None and Ether(r)["BOOTP"].xid == 9
    merged = b"".join(struct.pack("!I", len(f)) + f
                      for f in (discover(1000 + i) for i in range(50)))
    c.send_raw(merged)
    xids = []
    while len(xids) < 50:
        f = c.recv_frame(3)
        assert f is not None, "only %d of 50 answers" % len(xids)
        xids.append(Ether(f)["BOOTP"].xid)
    assert xids == list(range(1000, 1050))
    c.close()


def test_truncated_frame_then_disconnect(topo, merd):
    for cut in (1, 3, 4, 20, 300):
        c = StreamClient(merd.sock)
        data = struct.pack("!I", len(discover(3))) + discover(3)
        c.send_raw(data[:cut])
        c.close()
    still_serving(topo, merd)


# What merd queues for the guest at most (TAP_TX_QUEUE, merd.h), KiB
TX_QUEUE_KIB = 8 * 1024


def test_guest_that_never_reads(topo, start):
    """A client that sends requests but never reads: merd's queue toward it
    fills to its bound and merd then drops frames (it says so with
    --trace), its memory grows by no more than that queue, though the
    answers would take twice as much; merd stays responsive to the next
    client."""
    m = start("--trace", guest=False)
    rss0 = m.rss_kib()
    c = StreamClient(m.sock)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    burst = b"".join(struct.pack("!I", len(f)) + f
                     for f in (discover(i) for i in range(500)))
    answers = 0
    for _ in range(100):
        c.send_raw(burst)
        answers += 500
    m.wait_log(r"tap: queue full, dropped a frame", timeout=30)
    offer = len(c.recv_frame(5) or b"")
    assert offer >= 300, "no offer queued at all"
    grown = m.rss_kib() - rss0
    log("%d answers of %d bytes; merd grew by %d KiB" % (answers, offer, grown))
    assert answers * offer // 1024 > 2 * TX_QUEUE_KIB, "the test didn't ask enough"
    assert grown <= TX_QUEUE_KIB + 2048, "merd grew by %d KiB" % grown
    c.close()
    still_serving(topo, m)
