#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""udp_xfer.py - UDP peers for merd's tests, run in a namespace

  udp_xfer.py echo ADDR PORT
      Echo every datagram back to its sender, prefixed with "echo:". Prints
      "ready" once bound; runs until killed.

  udp_xfer.py ask ADDR PORT SIZE...
      From one socket, send a datagram of SIZE pseudo-random bytes to
      ADDR:PORT for each SIZE, in turn, and wait up to 3 seconds for its
      answer. Prints one JSON line: for each, size, whether the answer was
      "echo:" and the datagram, and its source.

  udp_xfer.py recv ADDR PORT IDLE [PEER PEERPORT]
      Receive one transfer, made of datagrams that each hold a 4-byte
      big-endian sequence number and data, the last one's number with the
      top bit set. With PEER, first ask PEER:PEERPORT for it with a "go"
      datagram, once a second until data comes, at most IDLE times. Prints
      "ready" once bound, then, once every datagram up to the last is in
      (and half a second passed without a late duplicate) or after IDLE
      seconds without any, one JSON line: count, distinct, dups, missing
      (the first 20) and nmissing, payload bytes, sha256 of the data in
      sequence order, and whether the last datagram was seen.

  udp_xfer.py send ADDR PORT BYTES SIZE BURST GAP_MS
      Send BYTES of pseudo-random data to ADDR:PORT in datagrams of SIZE
      bytes of data each (plus the sequence number), BURST datagrams then a
      pause of GAP_MS milliseconds (BURST 0: no pause). Prints one JSON
      line: count, total bytes, sha256 of the data.

  udp_xfer.py serve ADDR PORT BYTES SIZE BURST GAP_MS
      Wait for one datagram, then send a transfer as "send" would to its
      sender, from the bound port. Prints "ready" once bound, the JSON line
      of "send" when done.

ADDR and PEER are IPv4 or IPv6 (sources are shown as [address, port]).
Everything is bounded: the receiver gives up after IDLE seconds without a
datagram, the sender sends exactly BYTES.
"""

import hashlib
import json
import random
import socket
import struct
import sys
import time

LAST = 0x80000000
BUF = 32 * 1024 * 1024


def data(nbytes):
    """Reproducible pseudo-random bytes, different for every size."""
    return random.Random(nbytes).randbytes(nbytes)


def family(addr):
    """The address family of an address as written."""
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def sock(addr, port):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for opt in (33, 32):    # SO_RCVBUFFORCE, SO_SNDBUFFORCE: we're root
        s.setsockopt(socket.SOL_SOCKET, opt, BUF)
    s.bind((addr, port))
    return s


def echo(addr, port):
    s = sock(addr, port)
    print("ready", flush=True)
    while True:
        d, peer = s.recvfrom(65535)
        s.sendto(b"echo:" + d, peer)


def ask(addr, port, sizes):
    s = sock("::" if family(addr) == socket.AF_INET6 else "0.0.0.0", 0)
    s.settimeout(3)
    answers = []
    for size in sizes:
        d = data(size)
        s.sendto(d, (addr, port))
        try:
            a, peer = s.recvfrom(65535)
        except socket.timeout:
            answers.append({"size": size, "ok": False, "from": None, "len": None})
            continue
        answers.append({"size": size, "ok": a == b"echo:" + d, "from": list(peer[:2]),
                        "len": len(a)})
    print(json.dumps({"answers": answers}), flush=True)


def recv(addr, port, idle, peer=None):
    s = sock(addr, port)
    print("ready", flush=True)
    got = {}
    count = dups = 0
    last = None
    asks = 0
    while True:
        if peer and not count and asks < idle:
            s.sendto(b"go", peer)
            asks += 1
            s.settimeout(1.0)
        else:
            s.settimeout(idle)
        try:
            d, _ = s.recvfrom(65535)
        except socket.timeout:
            if peer and not count and asks < idle:
                continue
            break
        if len(d) < 4:
            continue
        count += 1
        seq = struct.unpack("!I", d[:4])[0]
        if seq & LAST:
            seq &= ~LAST
            last = seq
        if seq in got:
            dups += 1
        got[seq] = d[4:]
        if last is not None and len(got) == last + 1:
            # Complete: a duplicate may still be on its way
            s.settimeout(0.5)
            try:
                while True:
                    d, _ = s.recvfrom(65535)
                    count += 1
                    dups += 1
            except socket.timeout:
                break
    n = (last + 1) if last is not None else (max(got) + 1 if got else 0)
    missing = [i for i in range(n) if i not in got]
    h = hashlib.sha256()
    total = 0
    for i in sorted(got):
        h.update(got[i])
        total += len(got[i])
    print(json.dumps({"count": count, "distinct": len(got), "dups": dups,
                      "missing": missing[:20], "nmissing": len(missing),
                      "bytes": total, "sha256": h.hexdigest(),
                      "last_seen": last is not None}), flush=True)


def send_to(s, dst, nbytes, size, burst, gap):
    buf = data(nbytes)
    n = (nbytes + size - 1) // size
    for i in range(n):
        seq = i | (LAST if i == n - 1 else 0)
        s.sendto(struct.pack("!I", seq) + buf[i * size:(i + 1) * size], dst)
        if burst and (i + 1) % burst == 0:
            time.sleep(gap / 1000.0)
    print(json.dumps({"count": n, "bytes": nbytes,
                      "sha256": hashlib.sha256(buf).hexdigest()}), flush=True)


def send(addr, port, nbytes, size, burst, gap):
    s = sock("::" if family(addr) == socket.AF_INET6 else "0.0.0.0", 0)
    send_to(s, (addr, port), nbytes, size, burst, gap)


def serve(addr, port, nbytes, size, burst, gap):
    s = sock(addr, port)
    s.settimeout(30)
    print("ready", flush=True)
    _, peer = s.recvfrom(65535)
    send_to(s, peer, nbytes, size, burst, gap)


def main(argv):
    mode = argv[1]
    if mode == "echo":
        echo(argv[2], int(argv[3]))
    elif mode == "ask":
        ask(argv[2], int(argv[3]), [int(a) for a in argv[4:]])
    elif mode == "recv":
        peer = (argv[5], int(argv[6])) if len(argv) > 6 else None
        recv(argv[2], int(argv[3]), float(argv[4]), peer)
    elif mode == "send":
        send(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), int(argv[6]),
             float(argv[7]))
    elif mode == "serve":
        serve(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), int(argv[6]),
              float(argv[7]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
