# SPDX-License-Identifier: GPL-2.0-or-later
"""peers.py - the programs a test runs as the guest's peers, and checks

EchoServer is the one TCP echo server of the tests (tcp_peer.py serve, in a
namespace of the topology), which also tells which host address and port each
connection came from. inet_csum() is the one checksum helper: the textbook
Internet checksum (RFC 1071), written here independently of merd's code, with
ip4_ok() and l4_ok() checking a whole IPv4 packet from scratch. random_file()
and sha256_file() make and compare the data of transfers; upload() is one,
from the guest to socat in the remote namespace.
"""

import hashlib
import os
import queue
import socket
import struct
import subprocess
import threading
import time

from netns import REMOTE_ADDR, REMOTE_ADDR6, log, readline_within, wait_listening

PY = "/usr/bin/python3"
TEST = os.path.dirname(os.path.abspath(__file__))
TCP_PEER = os.path.join(TEST, "tcp_peer.py")
UDP_XFER = os.path.join(TEST, "udp_xfer.py")
MIB = 1024 * 1024


class EchoServer:
    """tcp_peer.py's echo server on addr:port in ns, once it listens.

    peers is a queue of (address, port) of every connection it accepted: the
    host's side of the guest's flows (empty with quiet, for thousands).
    """

    def __init__(self, ns, addr, port, quiet=False):
        self.addr, self.port = addr, port
        self.proc = ns.popen([PY, TCP_PEER, "serve", addr, str(port)] +
                             (["--quiet"] if quiet else []),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = readline_within(self.proc.stdout, 10, "the echo server on %s:%d" % (addr, port))
        if line.strip() != "listening":
            self.proc.kill()
            raise AssertionError("echo server: %r %s" % (line, self.proc.stderr.read()))
        self.peers = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            w = line.decode().split()
            if len(w) == 3 and w[0] == "peer":
                self.peers.put((w[1], int(w[2])))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


def inet_sum(data, start=0):
    """One's complement sum of data as big-endian 16-bit words, folded."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    s = start + sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def inet_csum(data, start=0):
    """The Internet checksum (RFC 1071) of data: a right checksum field makes
    the checksum of the whole 0."""
    return ~inet_sum(data, start) & 0xffff


def pseudo4(src, dst, proto, length):
    """Sum of the IPv4 pseudo-header (RFC 793 3.1, RFC 768)."""
    return inet_sum(socket.inet_aton(src) + socket.inet_aton(dst) +
                    struct.pack("!BBH", 0, proto, length))


def ip4_ok(ip):
    """The IPv4 header checksum of packet ip (bytes) is right."""
    return inet_csum(ip[:(ip[0] & 0xf) * 4]) == 0


def l4_ok(ip):
    """The TCP, UDP or ICMP checksum of a whole IPv4 packet (bytes) is right
    (a UDP checksum of zero means none, RFC 768)."""
    ihl = (ip[0] & 0xf) * 4
    tot = struct.unpack("!H", ip[2:4])[0]
    proto, l4 = ip[9], ip[ihl:tot]
    if proto == socket.IPPROTO_ICMP:
        return inet_csum(l4) == 0
    if proto == socket.IPPROTO_UDP and l4[6:8] == b"\0\0":
        return True
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    return inet_csum(l4, pseudo4(src, dst, proto, len(l4))) == 0


def random_file(topo, name, size):
    """size random bytes in a file of the topology's directory."""
    path = os.path.join(topo.tmp, name)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n
    return path


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def upload(topo, guest_ns, size, port, family=4, addr=REMOTE_ADDR, timeout=120):
    """The guest sends size random bytes to socat in the remote namespace
    (at addr, over IPv4); returns (source, what arrived)."""
    src = random_file(topo, "up%d.src" % port, size)
    dst = os.path.join(topo.tmp, "up%d.dst" % port)
    if family == 6:
        listen = "TCP6-LISTEN:%d,bind=[%s],reuseaddr" % (port, REMOTE_ADDR6)
        connect = "TCP6:[%s]:%d" % (REMOTE_ADDR6, port)
    else:
        listen = "TCP-LISTEN:%d,bind=%s,reuseaddr" % (port, addr)
        connect = "TCP:%s:%d" % (addr, port)
    srv = topo.remote.popen(["socat", "-u", listen, "CREATE:" + dst])
    wait_listening(topo.remote, port)
    t0 = time.monotonic()
    guest_ns.run(["socat", "-u", "OPEN:" + src, connect], timeout=timeout)
    assert srv.wait(timeout=60) == 0
    dt = time.monotonic() - t0
    log("upload: %d MiB in %.2f s, %.0f MiB/s" % (size // MIB, dt, size / MIB / dt))
    return src, dst
