# SPDX-License-Identifier: GPL-2.0-or-later
"""streamclient.py - speak qemu's stream netdev protocol to merd directly

For protocol edge cases a real client can't produce (malformed DHCP, bogus
frame lengths), tests connect to merd's socket as qemu would, send frames
built with scapy, and read back what merd answers.
"""

import select
import socket
import struct
import time


class StreamClient:
    def __init__(self, path, timeout=5):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def close(self):
        self.s.close()

    def send_raw(self, data):
        self.s.sendall(data)

    def send_frame(self, frame):
        self.s.sendall(struct.pack("!I", len(frame)) + bytes(frame))

    def closed_by_peer(self, timeout=3):
        """True if merd closes the connection within timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.s], [], [], deadline - time.monotonic())
            if not r:
                continue
            try:
                d = self.s.recv(65536)
            except ConnectionResetError:
                return True
            if not d:
                return True
            self.buf += d
        return False

    def recv_frame(self, timeout=2):
        """Next frame from merd, or None if none arrives within timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack("!I", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    f, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return f
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return None
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d

    def recv_frames(self, timeout=1):
        """All frames arriving until timeout seconds pass without one."""
        out = []
        while True:
            f = self.recv_frame(timeout)
            if f is None:
                return out
            out.append(f)
