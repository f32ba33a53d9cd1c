# SPDX-License-Identifier: GPL-2.0-or-later
"""End to end traffic: the real qemu guest (TCG, -netdev stream to merd) uses
the network as a user would, in one boot, on a dual-stack host: it fetches a
page and a multi-MiB file from busybox httpd in the remote namespace, checks
the file's SHA-256 against the host's, sends the file back to a server on the
remote (which checks it too), and pings the remote and the gateway (the host
itself); then, over IPv6 (its SLAAC address from merd's RA), it pings the
remote and the router address (the host itself) with busybox ping6 and
fetches the same file again with wget from http://[address]:port/."""

import hashlib
import os
import random
import re
import socket
import threading

import pytest

import netns
from netns import REMOTE_ADDR, REMOTE_ADDR6, ROUTER6, inside, wait_for
from merdtest import TEST
from qemu_guest import boot, ensure_guest, qemu_argv
from wire import Wire

pytestmark = pytest.mark.forwarding

CACHE = os.environ.get("MERD_GUEST_CACHE", os.path.join(TEST, "guest", "cache"))
HTTP_PORT = 8080
SINK_PORT = 9000
BIG = 8 << 20           # bytes of the file the guest fetches

# Runs in the guest after DHCP. Every result is a "TRAFFIC-" console line;
# each step's exit status is one too (TRAFFIC-<STEP>-RC), and the script
# exits with the number of steps that failed, so MERD-SCRIPT rc=0 means that
# every one of them succeeded (never just that the last command of a
# pipeline did)
SCRIPT = """
fail=0
rc() { echo "TRAFFIC-$1-RC $2"; [ "$2" = 0 ] || fail=$((fail + 1)); }
up() { cut -d' ' -f1 /proc/uptime; }
url=http://%(remote)s:%(http)d
wget -q -O /tmp/page "$url/index.html"; rc PAGE $?
sed 's/^/TRAFFIC-PAGE /' /tmp/page
t0=$(up)
wget -q -O /tmp/big "$url/big.bin"; rc BIG $?
t1=$(up)
echo "TRAFFIC-BIG $(sha256sum </tmp/big | cut -d' ' -f1) $(wc -c </tmp/big) $t0 $t1"
t0=$(up)
timeout 60 nc %(remote)s %(sink)d </tmp/big >/tmp/upload; rc UPLOAD $?
t1=$(up)
sed 's/^/TRAFFIC-UPLOAD /' /tmp/upload
echo "TRAFFIC-UPLOAD-TIME $t0 $t1"
ping -c 3 -w 10 %(remote)s >/tmp/ping; rc PING $?
sed 's/^/TRAFFIC-PING /' /tmp/ping
ping -c 1 -w 5 %(gw)s >/tmp/gwping; rc GWPING $?
sed 's/^/TRAFFIC-GWPING /' /tmp/gwping
ip -6 route show default | sed 's/^/TRAFFIC-ROUTE6 /'
ping6 -c 3 -w 10 %(remote6)s >/tmp/ping6; rc PING6 $?
sed 's/^/TRAFFIC-PING6 /' /tmp/ping6
ping6 -c 1 -w 5 -I eth0 %(router6)s >/tmp/rtping6; rc RTPING6 $?
sed 's/^/TRAFFIC-RTPING6 /' /tmp/rtping6
t0=$(up)
wget -q -O /tmp/big6 "http://[%(remote6)s]:%(http)d/big.bin"; rc BIG6 $?
t1=$(up)
echo "TRAFFIC-BIG6 $(sha256sum </tmp/big6 | cut -d' ' -f1) $(wc -c </tmp/big6) $t0 $t1"
exit $fail
""" % dict(remote=REMOTE_ADDR, http=HTTP_PORT, sink=SINK_PORT, gw=netns.GATEWAY,
           remote6=REMOTE_ADDR6, router6=ROUTER6)
STEPS = ("PAGE", "BIG", "UPLOAD", "PING", "GWPING", "PING6", "RTPING6", "BIG6")


@pytest.fixture(scope="module")
def guest_image():
    return ensure_guest(CACHE)


@pytest.fixture
def web(topo6):
    """busybox httpd on the remote, on its IPv4 and IPv6 addresses, serving
    a page and a random file."""
    topo = topo6
    root = os.path.join(topo.tmp, "www")
    os.makedirs(root)
    token = "merd-page-%016x" % random.getrandbits(64)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<html><body>%s</body></html>\n" % token)
    data = random.Random(20261127).randbytes(BIG)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(data)
    for addr in (REMOTE_ADDR, "[%s]" % REMOTE_ADDR6):
        topo.remote.popen(["busybox", "httpd", "-f", "-p", "%s:%d" % (addr, HTTP_PORT),
                           "-h", root])

    def listening():
        out = topo.remote.run(["ss", "-Hltn", "sport = :%d" % HTTP_PORT]).stdout
        return "%s:%d" % (REMOTE_ADDR, HTTP_PORT) in out and \
            "[%s]:%d" % (REMOTE_ADDR6, HTTP_PORT) in out
    wait_for(listening, 10, "httpd to listen", interval=0.1)
    return token, hashlib.sha256(data).hexdigest()


class Sink:
    """TCP server on the remote: reads one connection to its end, answers
    with the SHA-256 and length of what it got, and closes."""

    def __init__(self, ns):
        with inside(ns):
            self.ls = socket.create_server((REMOTE_ADDR, SINK_PORT))
        self.ls.settimeout(120)
        self.result = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            c, _ = self.ls.accept()
        except OSError:
            return
        c.settimeout(60)
        h, n = hashlib.sha256(), 0
        try:
            while True:
                b = c.recv(1 << 16)
                if not b:
                    break
                h.update(b)
                n += len(b)
            self.result = (h.hexdigest(), n)
            c.sendall(b"%s %d\n" % (self.result[0].encode(), n))
        finally:
            c.close()

    def close(self):
        self.ls.close()
        self.thread.join(5)


def lines(console, tag):
    return [m.group(1).rstrip("\r")
            for m in re.finditer(r"^TRAFFIC-%s (.*)$" % tag, console, re.M)]


@pytest.mark.timeout(300)
def test_guest_downloads_uploads_pings(topo6, start, guest_image, web):
    topo = topo6
    merd = start(topo=topo6, guest=False)
    token, digest = web
    sink = Sink(topo.remote)
    kernel, initrd = guest_image
    argv = qemu_argv(kernel, initrd, ["-netdev", "stream,id=n0,server=off,"
                                      "addr.type=unix,addr.path=" + merd.sock],
                     script=SCRIPT, script_file=os.path.join(topo.tmp, "script.sh"),
                     cmdline_extra="merd.ipv6=1")
    wire6 = Wire(topo, family=6)
    res = boot(kernel, initrd, argv=topo.guest.cmd(argv), timeout=150,
               log_path=os.path.join(topo.tmp, "console.log"))
    sink.close()
    c = res.console
    tail = c[-3000:]
    assert res.done and res.dhcp_ok, tail
    assert res.slaac_ok, tail
    for step in STEPS:
        assert lines(c, step + "-RC") == ["0"], "%s failed:\n%s" % (step, tail)
    assert res.script_rc == 0, tail

    assert token in "\n".join(lines(c, "PAGE")), tail

    big = lines(c, "BIG")
    assert len(big) == 1, tail
    got, size, t0, t1 = big[0].split()
    assert int(size) == BIG
    assert got == digest, "the guest's copy differs from the host's"
    netns.log("download: %d MiB in %.1f s of guest time" % (BIG >> 20, float(t1) - float(t0)))

    assert sink.result == (digest, BIG), "the remote got %r" % (sink.result,)
    assert lines(c, "UPLOAD") == ["%s %d" % (digest, BIG)], tail
    t0, t1 = lines(c, "UPLOAD-TIME")[0].split()
    netns.log("upload: %d MiB in %.1f s of guest time" % (BIG >> 20, float(t1) - float(t0)))

    ping = "\n".join(lines(c, "PING"))
    assert re.search(r"3 packets transmitted, 3 packets received, 0% packet loss", ping), ping
    assert len(re.findall(r"bytes from %s: seq=\d" % re.escape(REMOTE_ADDR), ping)) == 3, ping
    gwping = "\n".join(lines(c, "GWPING"))
    assert re.search(r"bytes from %s: seq=0" % re.escape(netns.GATEWAY), gwping), gwping

    # IPv6: through merd's router, from the host's address
    assert re.search(r"^default via %s dev eth0" % re.escape(ROUTER6),
                     "\n".join(lines(c, "ROUTE6")), re.M), tail
    ping6 = "\n".join(lines(c, "PING6"))
    assert re.search(r"3 packets transmitted, 3 packets received, 0% packet loss", ping6), ping6
    assert len(re.findall(r"bytes from %s: seq=\d" % re.escape(REMOTE_ADDR6), ping6)) == 3, \
        ping6
    rtping6 = "\n".join(lines(c, "RTPING6"))
    assert re.search(r"bytes from %s: seq=0" % re.escape(ROUTER6), rtping6), rtping6
    big6 = lines(c, "BIG6")
    assert len(big6) == 1, tail
    got, size, t0, t1 = big6[0].split()
    assert (got, int(size)) == (digest, BIG), "the guest's IPv6 copy differs from the host's"
    netns.log("IPv6 download: %d MiB in %.1f s of guest time" % (BIG >> 20,
                                                                float(t1) - float(t0)))
    # It left from the host's own IPv6 address, and the host's stack never
    # spoke for the guest
    wire6.assert_clean({(REMOTE_ADDR6, HTTP_PORT): 1})

    merd.wait_log("guest disconnected")
