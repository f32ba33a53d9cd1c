# SPDX-License-Identifier: GPL-2.0-or-later
"""tcp_peer.py - TCP peers for test_tcp.py, run inside a namespace

    tcp_peer.py serve ADDR PORT
        echo server: every connection gets back what it sends. Runs until
        killed; prints "listening" once it accepts, then "peer ADDR PORT"
        for every connection it accepts.
    tcp_peer.py clients ADDR PORT COUNT [--size N] [--abort K] [--hold]
                [--timeout S]
        open COUNT connections at once, each sends its own N bytes and
        checks that exactly those come back; no connection is closed before
        every one was checked, so all COUNT are open at the same time. The
        first K are then closed with SO_LINGER 0 (a reset), the others with
        FIN. With --hold, a "holding" line is printed once everything was
        checked and the connections stay open until a line arrives on stdin.
        Prints one JSON line with the results.
    tcp_peer.py connect ADDR PORT [--timeout S]
        one connect(); prints one JSON line: its outcome and how long it took.

Everything is bounded by --timeout (default 30 s). Exit status 0 if the
script itself ran; what happened is in the JSON for the test to judge.
"""

import argparse
import errno
import hashlib
import json
import os
import select
import selectors
import socket
import struct
import sys
import time


def serve(args):
    lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsn.bind((args.addr, args.port))
    lsn.listen(1024)
    lsn.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsn, selectors.EVENT_READ, None)
    print("listening", flush=True)
    pending = {}

    def drop(c):
        sel.unregister(c)
        del pending[c]
        c.close()

    while True:
        for key, ev in sel.select(timeout=1):
            if key.data is None:
                try:
                    c, peer = lsn.accept()
                except BlockingIOError:
                    continue
                print("peer %s %d" % peer, flush=True)
                c.setblocking(False)
                pending[c] = b""
                sel.register(c, selectors.EVENT_READ, "conn")
                continue
            c = key.fileobj
            if ev & selectors.EVENT_READ:
                try:
                    d = c.recv(65536)
                except BlockingIOError:
                    d = b""
                    ev &= ~selectors.EVENT_READ
                except OSError:
                    drop(c)
                    continue
                if ev & selectors.EVENT_READ and not d:
                    drop(c)
                    continue
                pending[c] += d
            if pending[c]:
                try:
                    n = c.send(pending[c])
                    pending[c] = pending[c][n:]
                except BlockingIOError:
                    pass
                except OSError:
                    drop(c)
                    continue
            sel.modify(c, selectors.EVENT_READ |
                       (selectors.EVENT_WRITE if pending[c] else 0), "conn")


def payload(i, size):
    """Connection i's own bytes: a header naming it, then a hash stream."""
    out = bytearray(b"conn %06d " % i)
    seed = b"%d" % i
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:size])


def clients(args):
    deadline = time.monotonic() + args.timeout
    result = {"count": args.count, "connected": 0, "echoed": 0, "errors": {},
              "ports": []}

    def fail(i, why):
        result["errors"][str(i)] = why

    socks = []
    for i in range(args.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((args.addr, args.port))
        if err not in (0, errno.EINPROGRESS):
            fail(i, "connect: " + os.strerror(err))
        socks.append(s)

    # Wait until every connection is established (or failed)
    waiting = {s: i for i, s in enumerate(socks) if str(i) not in result["errors"]}
    while waiting and time.monotonic() < deadline:
        _, w, _ = select.select([], list(waiting), [], deadline - time.monotonic())
        for s in w:
            i = waiting.pop(s)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                fail(i, "connect: " + os.strerror(err))
            else:
                result["connected"] += 1
                result["ports"].append(s.getsockname()[1])
    for s, i in waiting.items():
        fail(i, "connect: timed out")

    # Every connected socket sends its data and reads the echo, all at once
    out, inb, want = {}, {}, {}
    for i, s in enumerate(socks):
        if str(i) in result["errors"]:
            continue
        want[s] = payload(i, args.size)
        out[s] = want[s]
        inb[s] = bytearray()
    idx = {s: i for i, s in enumerate(socks)}
    active = set(want)
    while active and time.monotonic() < deadline:
        wl = [s for s in active if out[s]]
        r, w, _ = select.select(list(active), wl, [], min(1.0, deadline - time.monotonic()))
        for s in w:
            try:
                n = s.send(out[s][:65536])
                out[s] = out[s][n:]
            except BlockingIOError:
                pass
            except OSError as e:
                fail(idx[s], "send: " + e.strerror)
                active.discard(s)
        for s in r:
            if s not in active:
                continue
            try:
                d = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                fail(idx[s], "recv: " + e.strerror)
                active.discard(s)
                continue
            if not d:
                fail(idx[s], "closed early after %d bytes" % len(inb[s]))
                active.discard(s)
                continue
            inb[s] += d
            if len(inb[s]) >= len(want[s]):
                if bytes(inb[s]) == want[s]:
                    result["echoed"] += 1
                else:
                    fail(idx[s], "echo differs")
                active.discard(s)
    for s in active:
        fail(idx[s], "echo timed out after %d of %d bytes" % (len(inb[s]), len(want[s])))

    if args.hold:
        print(json.dumps({"holding": True, "connected": result["connected"]}), flush=True)
        r, _, _ = select.select([sys.stdin], [], [], max(0, deadline - time.monotonic()))
        if r:
            sys.stdin.readline()

    for i, s in enumerate(socks):
        if i < args.abort:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print(json.dumps(result), flush=True)


def connect(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    t0 = time.monotonic()
    try:
        s.connect((args.addr, args.port))
        outcome = "connected"
    except ConnectionRefusedError:
        outcome = "refused"
    except socket.timeout:
        outcome = "timeout"
    except OSError as e:
        outcome = "error: " + str(e)
    elapsed = time.monotonic() - t0
    s.close()
    print(json.dumps({"outcome": outcome, "elapsed": elapsed}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p = sub.add_parser("clients")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("count", type=int)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--abort", type=int, default=0)
    p.add_argument("--hold", action="store_true")
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("connect")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=5)
    args = ap.parse_args()
    {"serve": serve, "clients": clients, "connect": connect}[args.cmd](args)


if __name__ == "__main__":
    main()
