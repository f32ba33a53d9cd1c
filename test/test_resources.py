# SPDX-License-Identifier: GPL-2.0-or-later
"""What merd holds comes back: descriptors and memory after hundreds of
reconnections and after 10,000 flows have come and gone.

merd raises its descriptor limit to the hard limit (20,000 here), so a
descriptor leaked per connection or per flow would show only much later, as
a refused flow or a dead merd. These tests count merd's open descriptors
(/proc/PID/fd) and its resident memory (VmRSS) the way a user would watch
them, before and after, and hold them to stated bounds:

- descriptors: exactly as many as before, but for the sockets that hold the
  ports of the blocks merd claims (a TCP and a UDP socket per port, given
  back a minute after the block's last flow), which ss shows;
- memory: no more than RSS_SLACK_KIB above what merd used after the first
  round (by then the buffers and the flow table's pages are touched; what
  grows after that grows per connection or per flow).
"""

import logging
import random
import re
import socket
import struct
import time

import pytest

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, raw  # noqa: E402

import netns  # noqa: E402
from merdtest import Guest, udhcpc  # noqa: E402
from netns import REMOTE_ADDR, log, wait_for  # noqa: E402

RSS_SLACK_KIB = 1024
WAVES = 5
WAVE = 2000             # flows per wave, within the default port range
GUEST_MAC = "52:54:00:12:34:56"


def reconnect(sock, kind, rng):
    """One short connection to merd's socket, as qemu or a probe makes it."""
    arp = raw(Ether(dst="ff:ff:ff:ff:ff:ff", src="52:54:00:00:00:01") /
              ARP(op=1, hwsrc="52:54:00:00:00:01", psrc=netns.HOST_ADDR,
                  pdst=netns.GATEWAY))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock)
    if kind == 1:
        s.sendall(struct.pack("!I", len(arp)) + arp)
        s.recv(4 + 42)          # merd's answer: the connection was served
    elif kind == 2:
        s.sendall(struct.pack("!I", len(arp)) + arp[:rng.randint(0, len(arp) - 1)])
    elif kind == 3:
        s.sendall(b"\xff\xff")
    s.close()


def test_reconnections_leak_nothing(topo, start):
    """300 connections to merd's socket, some serving a frame, some cut
    mid-frame, some never sending one, then a real guest: merd's descriptors
    are exactly what they were, its memory within RSS_SLACK_KIB."""
    m = start(guest=False)
    rng = random.Random(20261201)
    for i in range(4):
        reconnect(m.sock, i, rng)
    m.wait_log(r"(?s)(guest disconnected.*){4}")
    fds0, rss0 = m.fds(), m.rss_kib()
    for i in range(300):
        reconnect(m.sock, i % 4, rng)
    wait_for(lambda: m.log().count("guest disconnected") == 304, 10,
             "merd to see all 304 connections end")
    fds1, rss1 = m.fds(), m.rss_kib()
    log("after 300 reconnections: %d -> %d descriptors, %d -> %d KiB" % (fds0, fds1,
                                                                        rss0, rss1))
    assert fds1 == fds0, "merd holds %d descriptors more" % (fds1 - fds0)
    assert rss1 - rss0 <= RSS_SLACK_KIB, "merd grew by %d KiB" % (rss1 - rss0)
    # And it still serves a guest, whose going leaves nothing either
    g = Guest(topo.guest, m.sock)
    lease, _ = udhcpc(g)
    assert lease["ip"] == netns.HOST_ADDR
    g.stop()
    wait_for(lambda: m.log().count("guest disconnected") == 305, 10, "the guest to go")
    assert m.fds() == fds0


def flow_frames(wave):
    """WAVE frames from the guest, each opening a flow of its own: UDP and
    TCP to closed ports of the remote (answered with port unreachable and a
    reset), ICMP echo requests (answered)."""
    frames = []
    for i in range(WAVE):
        sport = 10000 + (wave * WAVE + i) % 50000
        ip = IP(src=netns.HOST_ADDR, dst=REMOTE_ADDR, id=i)
        if i % 4 < 2:
            p = ip / UDP(sport=sport, dport=9) / b"flow"
        elif i % 4 == 2:
            p = ip / TCP(sport=sport, dport=9, flags="S", seq=i)
        else:
            p = ip / ICMP(id=sport, seq=1) / b"flow"
        frames.append(raw(Ether(src=GUEST_MAC, dst="ff:ff:ff:ff:ff:ff") / p))
    return frames


def holders(m):
    """Sockets merd holds ports with, as ss shows them: TCP and UDP."""
    return len(m.held("t")) + len(m.held("u"))


@pytest.mark.forwarding
@pytest.mark.timeout(300)
def test_10000_flows_leak_nothing(topo, start):
    """10,000 flows (UDP, TCP, ICMP echo) in waves of 2,000, each wave left
    to expire (merd says so for each flow): after every wave merd holds
    exactly its starting descriptors plus its port holders (and the guest's
    connection), and its memory stays within RSS_SLACK_KIB of what it was
    after the first wave."""
    m = start("--trace", "--timeout", "udp=1", "--timeout", "icmp=1",
              "--timeout", "tcp-close=1", "--timeout", "tcp-syn-sent=1",
              guest=False)
    fixed = m.fds() - holders(m)
    # The remote answers the UDP probes with port unreachable: let it
    topo.remote.run("sysctl -qw net.ipv4.icmp_ratelimit=0")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)     # as qemu's
    c.settimeout(5)
    c.connect(m.sock)
    seen = []
    for wave in range(WAVES):
        data = b"".join(struct.pack("!I", len(f)) + f for f in flow_frames(wave))
        c.sendall(data)
        c.setblocking(False)
        want = (wave + 1) * WAVE

        def gone():
            # Read what merd sends back meanwhile, so that it never waits
            try:
                while c.recv(1 << 20):
                    pass
            except BlockingIOError:
                pass
            log = m.log()
            return (len(re.findall(r"from guest port \d+, host port", log)) == want and
                    len(re.findall(r", expired\n", log)) == want)
        wait_for(gone, 30, "wave %d's flows to expire" % wave, interval=0.2)
        c.setblocking(True)
        seen.append((m.fds(), m.rss_kib(), holders(m)))
        log("wave %d: %d descriptors, %d KiB, %d port holders" % ((wave,) + seen[-1]))
    c.close()
    rss1 = seen[0][1]
    for wave, (fds, rss, held) in enumerate(seen):
        # The guest's connection is one descriptor more
        assert fds == fixed + 1 + held, \
            "wave %d: %d descriptors, %d fixed, %d port holders" % (wave, fds, fixed, held)
        assert rss - rss1 <= RSS_SLACK_KIB, "wave %d: grew by %d KiB" % (wave, rss - rss1)
