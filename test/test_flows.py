# SPDX-License-Identifier: GPL-2.0-or-later
"""The flow core under churn and load, as a guest that opens and closes
connections quickly (a package manager, a crawler, `ab`) sees it.

merd shares each host port between flows to different peers, as Linux NAT
does, and lets finished flows give way to new ones; so the guest's own
stack, not merd, is what limits how fast it connects to one server, how
many flows it keeps open, and how many DNS-like exchanges it makes from
fresh ports. And a port taken over from a finished connection never lets
that connection's late segments reach the new one.
"""

import json
import os
import re
import socket
import subprocess
import time

import pytest

import netns
from netns import HOST_ADDR, REMOTE_ADDR, log, sock_in, wait_listening
from peers import PY, TCP_PEER, UDP_XFER, EchoServer
from wire import Wire

pytestmark = pytest.mark.forwarding

CHURN_PORT = 7000
CHURN_SECONDS = 30
HOST_SECONDS = 4        # longer, the host's own TIME_WAIT limits it
CONCURRENT = 15000
CONCURRENT_PORTS = (7001, 7002, 7003, 7004)


def guest_ports_wide(ns, tw_reuse=True):
    """The guest's own ephemeral range as wide as it goes, so that its
    TIME_WAIT isn't the limit of a test (its business, not merd's)."""
    ns.run("sysctl -qw net.ipv4.ip_local_port_range='1024 65535'")
    if tw_reuse:
        ns.run("sysctl -qw net.ipv4.tcp_tw_reuse=1")


def churn(ns, seconds, parallel=4):
    """tcp_peer.py churn from ns to the remote's echo server: JSON result."""
    p = ns.run([PY, TCP_PEER, "churn", REMOTE_ADDR, str(CHURN_PORT), str(seconds),
                "--parallel", str(parallel)], timeout=seconds + 30)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    log("churn from %s: %d connections in %.1f s, %.0f/s, errors %s" % (
        ns.role, res["done"], res["seconds"], res["rate"], res["errors"]))
    return res


@pytest.mark.timeout(240)
@pytest.mark.solo
def test_churn_to_one_server(topo, start):
    """A connect/request/close loop from the guest to one server for 30 s:
    no connection fails, and the rate is within 25% of what the same loop
    reaches from the host namespace itself (for 4 s, before the host's own
    TIME_WAIT limits it). Afterwards a new connection and a ping work."""
    EchoServer(topo.remote, REMOTE_ADDR, CHURN_PORT, quiet=True)
    host = churn(topo.host, HOST_SECONDS)
    assert host["errors"] == {}, host
    m = start()
    guest_ports_wide(topo.guest)
    res = churn(topo.guest, CHURN_SECONDS)
    assert res["errors"] == {}, res
    assert res["done"] > 10 * 4500, "fewer connections than merd had ports"
    assert res["rate"] >= 0.75 * host["rate"], \
        "guest %.0f/s, host %.0f/s" % (res["rate"], host["rate"])
    log("merd: %d descriptors, %d KiB" % (m.fds(), m.rss_kib()))
    after = churn(topo.guest, 1, parallel=1)
    assert after["done"] > 0 and after["errors"] == {}, after
    p = topo.guest.run(["ping", "-c", "1", "-W", "2", REMOTE_ADDR], check=False)
    assert p.returncode == 0, p.stdout


class Holders:
    """tcp_peer.py clients --hold in the guest: count connections spread
    over the remote ports, all open at once."""

    def __init__(self, ns, ports, count, timeout=120):
        per = count // len(ports)
        self.procs = [ns.popen([PY, TCP_PEER, "clients", REMOTE_ADDR, str(port), str(per),
                                "--size", "64", "--hold", "--timeout", str(timeout)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                      for port in ports]
        self.timeout = timeout

    def wait_holding(self):
        return sum(json.loads(netns.readline_within(p.stdout, self.timeout + 10,
                                                    "clients to hold"))["connected"]
                   for p in self.procs)

    def release(self):
        out = []
        for p in self.procs:
            p.stdin.write(b"go\n")
            p.stdin.flush()
        for p in self.procs:
            o, _ = p.communicate(timeout=60)
            out.append(json.loads(o.decode().strip().splitlines()[-1]))
        return out


@pytest.mark.timeout(300)
def test_15000_concurrent_flows(topo, start):
    """15,000 TCP connections open at once to 4 ports of the remote, with
    merd's default options, each echoing its own bytes; meanwhile an HTTP
    download and a ping from the guest work."""
    m = start()
    guest_ports_wide(topo.guest)
    for port in CONCURRENT_PORTS:
        EchoServer(topo.remote, REMOTE_ADDR, port, quiet=True)
    root = os.path.join(topo.tmp, "www")
    os.makedirs(root)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("still serving\n")
    topo.remote.popen(["busybox", "httpd", "-f", "-p", "%s:8080" % REMOTE_ADDR, "-h", root])
    wait_listening(topo.remote, 8080)

    h = Holders(topo.guest, CONCURRENT_PORTS, CONCURRENT)
    held = h.wait_holding()
    log("merd with %d connections: %d descriptors, %d KiB" % (held, m.fds(), m.rss_kib()))
    p = topo.guest.run(["busybox", "wget", "-q", "-O", "-", "http://%s:8080/" % REMOTE_ADDR],
                       check=False, timeout=30)
    ping = topo.guest.run(["ping", "-c", "1", "-W", "2", REMOTE_ADDR], check=False)
    res = h.release()
    assert held == CONCURRENT, "%d of %d connected" % (held, CONCURRENT)
    for r in res:
        assert r["errors"] == {}, dict(list(r["errors"].items())[:5])
        assert r["echoed"] == CONCURRENT // len(CONCURRENT_PORTS)
    assert p.stdout == "still serving\n", p.stdout + p.stderr
    assert ping.returncode == 0, ping.stdout


@pytest.mark.timeout(120)
def test_6000_udp_exchanges_from_fresh_ports(topo, start):
    """What a stub resolver does: 6,000 request/response exchanges, each
    from a fresh source port, to one server, in under 20 s: every one is
    answered, though merd holds fewer UDP ports than that."""
    start()
    srv = topo.remote.popen([PY, UDP_XFER, "echo", REMOTE_ADDR, "5353"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready = netns.readline_within(srv.stdout, 10, "the UDP echo server")
    assert ready.strip() == "ready", ready
    script = ("import socket, time, json\n"
              "t0 = time.monotonic(); ok = 0; lost = []\n"
              "for i in range(6000):\n"
              "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              "    s.settimeout(2)\n"
              "    q = b'query %%05d' %% i\n"
              "    s.sendto(q, ('%s', 5353))\n"
              "    try:\n"
              "        d, a = s.recvfrom(100)\n"
              "        ok += d == b'echo:' + q and a == ('%s', 5353)\n"
              "    except socket.timeout:\n"
              "        lost.append(i)\n"
              "    s.close()\n"
              "print(json.dumps({'ok': ok, 'lost': lost[:10], 'nlost': len(lost),\n"
              "                  'seconds': time.monotonic() - t0}))\n"
              % (REMOTE_ADDR, REMOTE_ADDR))
    p = topo.guest.run([PY, "-c", script], timeout=90)
    res = json.loads(p.stdout)
    log("6000 exchanges: %s" % res)
    assert res["ok"] == 6000, res
    assert res["seconds"] < 20, res


def syn_flows(log_text):
    """(flow, guest port, host port) of every TCP flow merd started."""
    return [(int(f), int(g), int(h)) for f, g, h in
            re.findall(r"flow (\d+): TCP \S+ from guest port (\d+), host port (\d+)",
                       log_text)]


@pytest.mark.timeout(120)
def test_recycled_port_drops_late_segments(topo, start):
    """merd has two host ports; two connections to one server are closed
    (the guest first), and a third takes over the older one's port. That
    old connection's FIN and a data segment, sent again by the remote (as
    a late retransmission would be), never reach the guest: merd drops
    them as out of the new connection's window, which goes on working."""
    m = start("--trace", "--ports", "62000-62001")
    EchoServer(topo.remote, REMOTE_ADDR, CHURN_PORT)
    wire = Wire(topo, [m.guest], wire_filter="tcp port %d" % CHURN_PORT, snaplen=0)

    def connect_echo(what):
        c = sock_in(topo.guest)
        c.settimeout(5)
        c.connect((REMOTE_ADDR, CHURN_PORT))
        c.sendall(what)
        assert c.recv(100) == what
        return c

    for what in (b"first\n", b"second\n"):
        c = connect_echo(what)
        c.shutdown(socket.SHUT_WR)
        assert c.recv(100) == b""           # the remote's FIN: both closed
        c.close()
    time.sleep(0.5)
    new = connect_echo(b"third\n")
    m.wait_log(r"given way: its port is taken over")
    flows = syn_flows(m.log())
    assert len(flows) == 3 and flows[2][2] == flows[0][2], flows
    hport = flows[0][2]

    # The old connection's last segment from the remote: its FIN
    old = [p for p in wire.packets(0) if p.haslayer("TCP") and p["TCP"].dport == hport and
           p["IP"].src == REMOTE_ADDR and "F" in str(p["TCP"].flags)]
    assert old, "the capture has no FIN of the first connection"
    fin = old[0]["TCP"]
    guest_cap = Wire(topo, [m.guest], wire_filter="tcp port %d" % CHURN_PORT, snaplen=0)
    script = ("from scapy.all import IP, TCP, send\n"
              "ip = IP(src='%s', dst='%s')\n"
              "send(ip / TCP(sport=%d, dport=%d, flags='FA', seq=%d, ack=%d), verbose=0)\n"
              "send(ip / TCP(sport=%d, dport=%d, flags='PA', seq=%d, ack=%d) / b'stale',"
              " verbose=0)\n" % (REMOTE_ADDR, HOST_ADDR, CHURN_PORT, hport, fin.seq, fin.ack,
                                 CHURN_PORT, hport, fin.seq - 5, fin.ack))
    topo.remote.run([PY, "-c", script])
    m.wait_log(r"(?s)(out of the window, dropped.*){2}")
    new.sendall(b"still here\n")
    assert new.recv(100) == b"still here\n"
    new.close()

    seen = [p for p in guest_cap.packets(1) if p.haslayer("TCP") and
            p["IP"].src == REMOTE_ADDR and p["TCP"].seq in (fin.seq, fin.seq - 5)]
    guest_cap.kill()
    wire.kill()
    assert not seen, "late segments reached the guest: %s" % [p.summary() for p in seen]
