# SPDX-License-Identifier: GPL-2.0-or-later
"""tcp_peer.py - TCP peers for test_tcp.py, run inside a namespace

    tcp_peer.py serve ADDR PORT [--quiet]
        echo server: every connection gets back what it sends. Runs until
        killed; prints "listening" once it accepts, then "peer ADDR PORT"
        for every connection it accepts (not with --quiet).
    tcp_peer.py clients ADDR PORT COUNT [--size N] [--abort K] [--hold]
                [--timeout S]
        open COUNT connections at once, each sends its own N bytes and
        checks that exactly those come back; no connection is closed before
        every one was checked, so all COUNT are open at the same time. The
        first K are then closed with SO_LINGER 0 (a reset), the others with
        FIN. With --hold, a "holding" line is printed once everything was
        checked and the connections stay open until a line arrives on stdin.
        Prints one JSON line with the results.
    tcp_peer.py rr ADDR PORT SECONDS
        one connection, TCP_NODELAY: for SECONDS, one byte sent, its echo
        awaited, again; prints one JSON line: exchanges, and the median and
        mean round trip in microseconds.
    tcp_peer.py connect ADDR PORT [--timeout S]
        one connect(); prints one JSON line: its outcome and how long it took.
    tcp_peer.py churn ADDR PORT SECONDS [--parallel K]
        for SECONDS, keep K connections going, each a connect, one request
        of 16 bytes echoed back, and a close, the client first; prints one
        JSON line: connections done, the rate, and every failure by kind.

ADDR is IPv4 or IPv6 (with a %zone for a link-local one): the sockets are of
its family. Everything is bounded by --timeout (default 30 s). Exit status 0 if the
script itself ran; what happened is in the JSON for the test to judge.
"""

import argparse
import errno
import hashlib
import json
import os
import resource
import selectors
import socket
import struct
import sys
import time


def family(addr):
    """The address family of an address as written."""
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def sockaddr(addr, port):
    """(addr, port) as connect() and bind() take it: through getaddrinfo,
    which reads a link-local address's %zone."""
    return socket.getaddrinfo(addr, port, family(addr), socket.SOCK_STREAM,
                              0, socket.AI_NUMERICHOST)[0][4]


def nofile_raise():
    """As many descriptors as the hard limit allows: thousands of sockets."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve(args):
    lsn = socket.socket(family(args.addr), socket.SOCK_STREAM)
    lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsn.bind(sockaddr(args.addr, args.port))
    lsn.listen(4096)
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
                if not args.quiet:
                    print("peer %s %d" % peer[:2], flush=True)
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
        s = socket.socket(family(args.addr), socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(sockaddr(args.addr, args.port))
        if err not in (0, errno.EINPROGRESS):
            fail(i, "connect: " + os.strerror(err))
        socks.append(s)

    # Wait until every connection is established (or failed)
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        if str(i) not in result["errors"]:
            sel.register(s, selectors.EVENT_WRITE, i)
    waiting = len(sel.get_map())
    while waiting and time.monotonic() < deadline:
        for key, _ in sel.select(min(1.0, deadline - time.monotonic())):
            s, i = key.fileobj, key.data
            sel.unregister(s)
            waiting -= 1
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                fail(i, "connect: " + os.strerror(err))
            else:
                result["connected"] += 1
                result["ports"].append(s.getsockname()[1])
    for key in list(sel.get_map().values()):
        fail(key.data, "connect: timed out")
        sel.unregister(key.fileobj)

    # Every connected socket sends its data and reads the echo, all at once
    out, inb, want = {}, {}, {}
    for i, s in enumerate(socks):
        if str(i) in result["errors"]:
            continue
        want[s] = payload(i, args.size)
        out[s] = want[s]
        inb[s] = bytearray()
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
    active = len(want)
    while active and time.monotonic() < deadline:
        for key, ev in sel.select(min(1.0, deadline - time.monotonic())):
            s, i = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE and out[s]:
                try:
                    n = s.send(out[s][:65536])
                    out[s] = out[s][n:]
                except BlockingIOError:
                    pass
                except OSError as e:
                    fail(i, "send: " + e.strerror)
                    sel.unregister(s)
                    active -= 1
                    continue
                if not out[s]:
                    sel.modify(s, selectors.EVENT_READ, i)
            if not ev & selectors.EVENT_READ:
                continue
            try:
                d = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                fail(i, "recv: " + e.strerror)
                sel.unregister(s)
                active -= 1
                continue
            if not d:
                fail(i, "closed early after %d bytes" % len(inb[s]))
                sel.unregister(s)
                active -= 1
                continue
            inb[s] += d
            if len(inb[s]) >= len(want[s]):
                if bytes(inb[s]) == want[s]:
                    result["echoed"] += 1
                else:
                    fail(i, "echo differs")
                sel.unregister(s)
                active -= 1
    for key in list(sel.get_map().values()):
        s = key.fileobj
        fail(key.data, "echo timed out after %d of %d bytes" % (len(inb[s]), len(want[s])))

    if args.hold:
        print(json.dumps({"holding": True, "connected": result["connected"]}), flush=True)
        sel.register(sys.stdin, selectors.EVENT_READ)
        if sel.select(max(0, deadline - time.monotonic())):
            sys.stdin.readline()

    for i, s in enumerate(socks):
        if i < args.abort:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print(json.dumps(result), flush=True)


def churn(args):
    """K connections at a time, each connect, request, echo, close, for
    args.seconds; counts what went wrong, by kind."""
    deadline = time.monotonic() + args.seconds
    sel = selectors.DefaultSelector()
    request = b"request %08d\n" % 0
    done, errors = 0, {}

    def fail(why):
        errors[why] = errors.get(why, 0) + 1

    def start():
        s = socket.socket(family(args.addr), socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(sockaddr(args.addr, args.port))
        if err not in (0, errno.EINPROGRESS):
            fail("connect: " + os.strerror(err))
            s.close()
            return False
        sel.register(s, selectors.EVENT_WRITE, [b"", time.monotonic()])
        return True

    t0 = time.monotonic()
    for _ in range(args.parallel):
        start()
    while sel.get_map() and time.monotonic() < deadline + 5:
        for key, ev in sel.select(1.0):
            s, st = key.fileobj, key.data
            end = True
            try:
                if ev & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        fail("connect: " + os.strerror(err))
                    else:
                        s.send(request)
                        sel.modify(s, selectors.EVENT_READ, st)
                        end = False
                else:
                    d = s.recv(64)
                    st[0] += d
                    if not d:
                        fail("closed early")
                    elif len(st[0]) < len(request):
                        end = False
                    elif st[0] != request:
                        fail("echo differs")
                    else:
                        done += 1
            except OSError as e:
                fail("%s: %s" % ("send" if ev & selectors.EVENT_WRITE else "recv",
                                 e.strerror))
            if end:
                sel.unregister(s)
                s.close()
                if time.monotonic() < deadline:
                    start()
    for key in list(sel.get_map().values()):
        fail("timed out")
        key.fileobj.close()
    elapsed = time.monotonic() - t0
    print(json.dumps({"done": done, "errors": errors, "seconds": elapsed,
                      "rate": done / elapsed}), flush=True)


def rr(args):
    """1-byte request/response on one connection for args.seconds."""
    s = socket.create_connection(sockaddr(args.addr, args.port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    deadline = time.monotonic() + args.seconds
    while True:
        t0 = time.monotonic()
        if t0 >= deadline:
            break
        s.send(b"x")
        if s.recv(1) != b"x":
            break
        times.append(time.monotonic() - t0)
    s.close()
    times.sort()
    print(json.dumps({"exchanges": len(times),
                      "median_us": times[len(times) // 2] * 1e6 if times else None,
                      "mean_us": sum(times) / len(times) * 1e6 if times else None}),
          flush=True)


def connect(args):
    s = socket.socket(family(args.addr), socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    t0 = time.monotonic()
    try:
        s.connect(sockaddr(args.addr, args.port))
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
    p.add_argument("--quiet", action="store_true")
    p = sub.add_parser("clients")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("count", type=int)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--abort", type=int, default=0)
    p.add_argument("--hold", action="store_true")
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("churn")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("seconds", type=float)
    p.add_argument("--parallel", type=int, default=4)
    p = sub.add_parser("rr")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("seconds", type=float)
    p = sub.add_parser("connect")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=5)
    args = ap.parse_args()
    nofile_raise()
    {"serve": serve, "clients": clients, "connect": connect,
     "churn": churn, "rr": rr}[args.cmd](args)


if __name__ == "__main__":
    main()
