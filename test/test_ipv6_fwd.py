# SPDX-License-Identifier: GPL-2.0-or-later
"""The guest's IPv6 through merd, against real peers: TCP bulk both ways,
hundreds of concurrent connections, refused connections, UDP, DNS, ping6,
hop limits, traceroute through a router, packet too big (merd's own and a
router's on the path), the router address meaning the host's ::1 (and
--no-map-gw), ICMPv6 errors from the network, churn; all leaving from the
host's own IPv6 address whatever source the guest used, with a wire on which
the host's stack never spoke for the guest.

The guest is the guest namespace's Linux stack behind tap0, configured by
merd's RA alone (SLAAC; DHCPv6 where a test says so). Its peers are real
programs in the remote namespace. The wire captures (r0, and the guest's
tap) check, as test_tcp.py's do for IPv4, that every TCP reset from the
host's IPv6 address is one the guest sent and that no ICMPv6 destination
unreachable leaves from it (Wire(family=6)).
"""

import json
import os
import re
import subprocess
import time

import pytest
from scapy.all import ICMPv6EchoRequest, IPv6

from merdtest import dhclient6, ready6
from netns import (GATEWAY6, HOST_ADDR6, HOST_MTU, REMOTE_ADDR6, ROUTED_REMOTE6, ROUTER6,
                   ROUTER_FAR6, Topology, log, readline_within, wait_for, wait_listening)
from peers import MIB, PY, TCP_PEER, UDP_XFER, EchoServer, random_file, sha256_file
from wire import Wire

pytestmark = pytest.mark.forwarding

DNSMASQ = "/usr/sbin/dnsmasq"
TEST_NAME = "svc.example.test"
# The guest's router address on its link, for its own sockets
ROUTER_TAP = ROUTER6 + "%tap0"


# ---------------------------------------------------------------- helpers

@pytest.fixture
def topo6():
    """conftest's topo6, with a guest that is ready sooner: these tests are
    about traffic (test_ipv6_link.py does DAD and solicitations)."""
    t = Topology(ipv6=True, quick_guest=True)
    yield t
    t.close()


@pytest.fixture
def routed6():
    t = Topology(router=True, ipv6=True, quick_guest=True)
    yield t
    t.close()


@pytest.fixture
def wire6(topo6, leased6):
    w = Wire(topo6, [leased6], family=6)
    yield w
    w.kill()


def expect_all_echoed(res, count):
    assert res["errors"] == {}, "failed connections: %s" % dict(list(res["errors"].items())[:10])
    assert res["connected"] == count
    assert res["echoed"] == count


def run_clients(ns, addr, port, count, *extra, timeout=60):
    p = ns.run([PY, TCP_PEER, "clients", addr, str(port), str(count)] + list(extra),
               timeout=timeout)
    return json.loads(p.stdout.strip().splitlines()[-1])


def ping6(ns, args, timeout=30):
    """iputils ping -6; (transmitted, received, output)."""
    p = ns.run(["ping", "-6"] + args, check=False, timeout=timeout)
    out = p.stdout + p.stderr
    log(out)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, "no ping statistics:\n" + out
    return int(m.group(1)), int(m.group(2)), out


def expect_all_replies(out, count, src):
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m and (int(m.group(1)), int(m.group(2))) == (count, count), out
    assert "DUP!" not in out, out
    replies = re.findall(r"bytes from (\S+): icmp_seq=(\d+)", out)
    assert sorted(int(s) for _, s in replies) == list(range(1, count + 1)), out
    assert {a.rstrip(":") for a, _ in replies} == {src}, out


def route_mtu6(ns, dst):
    """The MTU the guest's route cache holds for dst, or None."""
    out = ns.run("ip -6 route get %s" % dst).stdout
    log(out)
    m = re.search(r"\bmtu (\d+)", out)
    return m and int(m.group(1))


def start_bg(ns, args, timeout=10):
    """A background udp_xfer.py in ns, once it said "ready"."""
    p = ns.popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    line = readline_within(p.stdout, timeout, "%s to be ready" % args[2:4])
    if line.strip() != "ready":
        p.kill()
        raise AssertionError("%s not ready: %r %s" % (args, line, p.stderr.read()))
    return p


def json_line(text):
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    assert lines, "no result line in %r" % text
    return json.loads(lines[-1])


def transfer(server_ns, server, client_ns, client, port, addr, timeout=60):
    """socat -u both ends: the server listens on [addr]:port; both must end well."""
    srv = server_ns.popen(["socat", "-u"] + server, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    wait_listening(server_ns, port, "t", "[%s]" % addr)
    t0 = time.monotonic()
    client_ns.run(["socat", "-u"] + client, timeout=timeout)
    dt = time.monotonic() - t0
    try:
        _, err = srv.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        srv.kill()
        raise AssertionError("the server's socat didn't finish")
    assert srv.returncode == 0, err
    return dt


def listen6(addr, port):
    return "TCP6-LISTEN:%d,bind=[%s],reuseaddr" % (port, addr)


def dnsmasq(ns, listen, answer):
    """dnsmasq answering TEST_NAME (AAAA) with answer, and nothing else."""
    p = ns.popen([DNSMASQ, "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                  "--address=/%s/%s" % (TEST_NAME, answer), "--listen-address=" + listen,
                  "--bind-interfaces", "--user=root", "--pid-file=", "--log-queries",
                  "--log-facility=-"],
                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    wait_listening(ns, 53, "u", "[%s]" % listen)
    return p


def dnsmasq_log(p):
    p.kill()
    out, _ = p.communicate(timeout=5)
    log(out)
    return out


def resolve6(ns):
    """The guest resolves TEST_NAME as its programs do (glibc, resolv.conf)."""
    p = ns.run(["getent", "ahostsv6", TEST_NAME], check=False, timeout=20)
    log(p.stdout + p.stderr)
    return sorted({ln.split()[0] for ln in p.stdout.splitlines() if ln.strip()})


# ---------------------------------------------------------------- TCP

def test_download_100mib(topo6, leased6, wire6):
    """100 MiB from the remote to the guest over IPv6, byte-exact; the
    connection left from the host's address."""
    src = random_file(topo6, "dl.src", 100 * MIB)
    dst = os.path.join(topo6.tmp, "dl.dst")
    dt = transfer(topo6.remote, ["OPEN:" + src, listen6(REMOTE_ADDR6, 5001)],
                  topo6.guest, ["TCP6:[%s]:5001" % REMOTE_ADDR6, "CREATE:" + dst],
                  5001, REMOTE_ADDR6)
    log("download: 100 MiB in %.1f s" % dt)
    assert os.path.getsize(dst) == 100 * MIB
    assert sha256_file(dst) == sha256_file(src)
    wire6.assert_clean({(REMOTE_ADDR6, 5001): 1})


def test_upload_100mib(topo6, leased6, wire6):
    """100 MiB from the guest to the remote over IPv6, byte-exact."""
    src = random_file(topo6, "up.src", 100 * MIB)
    dst = os.path.join(topo6.tmp, "up.dst")
    dt = transfer(topo6.remote, [listen6(REMOTE_ADDR6, 5002), "CREATE:" + dst],
                  topo6.guest, ["OPEN:" + src, "TCP6:[%s]:5002" % REMOTE_ADDR6],
                  5002, REMOTE_ADDR6)
    log("upload: 100 MiB in %.1f s" % dt)
    assert os.path.getsize(dst) == 100 * MIB
    assert sha256_file(dst) == sha256_file(src)
    wire6.assert_clean({(REMOTE_ADDR6, 5002): 1})


def test_200_concurrent_connections(topo6, merd6, leased6, wire6):
    """200 IPv6 connections open at once, each echoing its own 16 KiB; the
    server sees every one from the host's address, each from a port of
    its own that merd holds."""
    srv = EchoServer(topo6.remote, REMOTE_ADDR6, 7000)
    p = topo6.guest.popen([PY, TCP_PEER, "clients", REMOTE_ADDR6, "7000", "200", "--size",
                           "16384", "--hold", "--timeout", "60"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = readline_within(p.stdout, 65, "the clients to hold their connections")
    assert json.loads(line)["connected"] == 200, line
    held = merd6.held()
    p.stdin.write(b"go\n")
    p.stdin.flush()
    out, _ = p.communicate(timeout=30)
    expect_all_echoed(json.loads(out.decode().strip().splitlines()[-1]), 200)
    peers = [srv.peers.get(timeout=5) for _ in range(200)]
    assert {a for a, _ in peers} == {HOST_ADDR6}, set(peers)
    ports = {port for _, port in peers}
    assert len(ports) == 200
    r = wire6.assert_clean({(REMOTE_ADDR6, 7000): 200})
    log("merd holds %d TCP ports; flows used %s..." % (len(held), sorted(ports)[:5]))
    assert {s[0] for s in r["syns"] if s[2] == 7000} == ports
    # Each from a port merd held meanwhile (so the host's stack couldn't
    # answer for it)
    assert ports <= held, sorted(ports - held)


@pytest.mark.parametrize("where", ["remote", "router"])
def test_closed_port_refused_quickly(topo6, leased6, wire6, where):
    """connect() to a port nobody listens on fails with ECONNREFUSED within
    1 s: on the remote, and at the router address (the host's ::1)."""
    addr = REMOTE_ADDR6 if where == "remote" else ROUTER_TAP
    for port in (9, 5999, 40000):
        p = topo6.guest.run([PY, TCP_PEER, "connect", addr, str(port), "--timeout", "5"])
        res = json.loads(p.stdout)
        assert res["outcome"] == "refused", (port, res)
        assert res["elapsed"] < 1.0, (port, res)
    wire6.assert_clean({(REMOTE_ADDR6, 9): 1} if where == "remote" else None)


def test_any_guest_source_leaves_from_host_address(topo6, merd6, leased6):
    """Whatever source the guest uses, its SLAAC address, the host's own
    (from DHCPv6), or another one of the prefix it gave itself, TCP and
    UDP reach the remote from the host's address."""
    g = leased6
    lease, _, _ = dhclient6(g)
    assert lease["ip6"] == HOST_ADDR6
    own = "2001:db8:42::abcd"
    topo6.guest.run("ip -6 addr add %s/64 dev tap0 nodad" % own)
    srv = EchoServer(topo6.remote, REMOTE_ADDR6, 7100)
    udp = topo6.remote.popen([PY, "-c", (
        "import socket\n"
        "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
        "s.bind(('%s', 7101))\n"
        "while True:\n"
        "    d, a = s.recvfrom(100)\n"
        "    s.sendto(a[0].encode(), a)\n") % REMOTE_ADDR6])
    wait_listening(topo6.remote, 7101, "u")
    wait_for_addr(g, HOST_ADDR6)
    for src in (merd6.slaac.split("/")[0], HOST_ADDR6, own):
        p = topo6.guest.run("echo hello | socat -t 2 - TCP6:[%s]:7100,bind=[%s]"
                            % (REMOTE_ADDR6, src), timeout=20)
        assert p.stdout == "hello\n", src
        assert srv.peers.get(timeout=5)[0] == HOST_ADDR6, src
        p = topo6.guest.run("echo x | socat -t 1 - UDP6:[%s]:7101,bind=[%s]"
                            % (REMOTE_ADDR6, src), timeout=20)
        assert p.stdout == HOST_ADDR6, (src, p.stdout)
    udp.kill()


def wait_for_addr(g, addr, timeout=5):
    wait_for(lambda: any(a["addr"] == addr and "tentative" not in a["flags"]
                         for a in g.addrs6()), timeout, "%s on the guest" % addr)


# ---------------------------------------------------------------- UDP, DNS

def test_udp_request_response(topo6, leased6, wire6):
    """Datagrams that fit the link come back whole from the server's
    address and port: 0 bytes, small, a full 1400-byte packet; and no
    ICMPv6 unreachable from the host about the answers."""
    start_bg(topo6.remote, [PY, UDP_XFER, "echo", REMOTE_ADDR6, "7007"])
    full = HOST_MTU - 40 - 8 - 5          # the answer, 5 bytes longer, still fits
    sizes = ["0", "1", "100", str(full)]
    p = topo6.guest.run([PY, UDP_XFER, "ask", REMOTE_ADDR6, "7007"] + sizes, timeout=30)
    res = json_line(p.stdout)["answers"]
    assert [a["size"] for a in res] == [int(s) for s in sizes]
    for a in res:
        assert a["ok"], "size %d: wrong or no answer: %s" % (a["size"], a)
        assert a["from"] == [REMOTE_ADDR6, 7007], a
    wire6.assert_clean()


def test_udp_8k_datagrams(topo6, start):
    """An 8 KB datagram (fragmented by the guest, with the 1400-byte link,
    and by the server for its answer) comes back whole."""
    m = start("--trace", topo=topo6)
    ready6(m.guest, ROUTER6)
    start_bg(topo6.remote, [PY, UDP_XFER, "echo", REMOTE_ADDR6, "7008"])
    sizes = ["8192"]
    p = topo6.guest.run([PY, UDP_XFER, "ask", REMOTE_ADDR6, "7008"] + sizes, timeout=30)
    res = json_line(p.stdout)["answers"]
    for a in res:
        assert a["ok"], "size %d: wrong or no answer: %s\nmerd's trace:\n%s" % (
            a["size"], a, "\n".join(m.log().splitlines()[-8:]))
        assert a["from"] == [REMOTE_ADDR6, 7008], a


def test_udp_1000_exchanges_from_fresh_ports(topo6, leased6):
    """What a stub resolver does, over IPv6: 1,000 exchanges, each from a
    fresh source port: every one answered, from the server."""
    start_bg(topo6.remote, [PY, UDP_XFER, "echo", REMOTE_ADDR6, "5353"])
    script = ("import socket, time, json\n"
              "t0 = time.monotonic(); ok = 0; lost = 0\n"
              "for i in range(1000):\n"
              "    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
              "    s.settimeout(2)\n"
              "    q = b'query %%05d' %% i\n"
              "    s.sendto(q, ('%s', 5353))\n"
              "    try:\n"
              "        d, a = s.recvfrom(100)\n"
              "        ok += d == b'echo:' + q and a[:2] == ('%s', 5353)\n"
              "    except socket.timeout:\n"
              "        lost += 1\n"
              "    s.close()\n"
              "print(json.dumps({'ok': ok, 'lost': lost, 'seconds': time.monotonic() - t0}))\n"
              % (REMOTE_ADDR6, REMOTE_ADDR6))
    p = topo6.guest.run([PY, "-c", script], timeout=60)
    res = json.loads(p.stdout)
    log("1000 exchanges: %s" % res)
    assert res["ok"] == 1000, res
    assert res["seconds"] < 20, res


def test_dns_remote_resolver(topo6, start):
    """The host's IPv6 resolver is on the remote: the guest is told it (RA
    and DHCPv6) and resolves through it; the query comes from the host's
    address."""
    topo6.host.write_resolv([REMOTE_ADDR6], [])
    m = start(topo=topo6, lease=False)
    dns = dnsmasq(topo6.remote, REMOTE_ADDR6, "2001:db8:42::7")
    lease, _, _ = dhclient6(m.guest)
    assert lease["dns6"] == REMOTE_ADDR6
    topo6.guest.write_resolv([REMOTE_ADDR6], [])
    assert resolve6(topo6.guest) == ["2001:db8:42::7"]
    assert "query[AAAA] %s from %s" % (TEST_NAME, HOST_ADDR6) in dnsmasq_log(dns)


def test_dns_host_loopback_resolver_through_router(topo6, start):
    """The host's resolver is on ::1: the guest is told to use the router
    address, and its queries there reach the host's resolver."""
    topo6.host.write_resolv(["::1"], [])
    m = start(topo=topo6, lease=False)
    assert "    DNS to %s goes to the host's resolver ::1" % ROUTER6 in m.log()
    dns = dnsmasq(topo6.host, "::1", "2001:db8:42::8")
    lease, _, _ = dhclient6(m.guest)
    assert lease["dns6"] == ROUTER6, lease
    topo6.guest.write_resolv([ROUTER_TAP], [])
    assert resolve6(topo6.guest) == ["2001:db8:42::8"]
    assert "query[AAAA] %s from ::1" % TEST_NAME in dnsmasq_log(dns)


# ---------------------------------------------------------------- ICMPv6

def test_ping6_remote_and_router(topo6, leased6):
    """ping -6 the remote; and the router address, which answers as the
    host: with the remote ignoring echo requests, the router still does."""
    _, _, out = ping6(topo6.guest, ["-c", "3", "-i", "0.2", "-W", "2", REMOTE_ADDR6])
    expect_all_replies(out, 3, REMOTE_ADDR6)
    topo6.remote.run("sysctl -qw net.ipv6.icmp.echo_ignore_all=1")
    _, rx, out = ping6(topo6.guest, ["-c", "1", "-W", "1", REMOTE_ADDR6])
    assert rx == 0, "the remote still answers:\n" + out
    _, _, out = ping6(topo6.guest, ["-c", "3", "-i", "0.2", "-W", "2", ROUTER_TAP])
    expect_all_replies(out, 3, ROUTER_TAP)


def test_hop_limit_decremented(topo6, leased6):
    """merd is a router: the guest's echo request reaches the wire with its
    hop limit one less, and the reply reaches the guest one less too."""
    w = Wire(topo6, wire_filter="icmp6 and ip6[40] == 128", snaplen=0, family=6)
    _, _, out = ping6(topo6.guest, ["-c", "1", "-W", "2", "-t", "17", REMOTE_ADDR6])
    expect_all_replies(out, 1, REMOTE_ADDR6)
    assert re.search(r"ttl=63 ", out), out          # the remote's 64, less merd's hop
    reqs = [p for p in w.packets(0) if p.haslayer(ICMPv6EchoRequest)]
    w.kill()
    assert [(p[IPv6].src, p[IPv6].hlim) for p in reqs] == [(HOST_ADDR6, 16)], \
        [p.summary() for p in reqs]


def test_hop_limit_1_time_exceeded_from_router(topo6, leased6):
    """Hop limit 1: merd answers time exceeded from the router address."""
    _, rx, out = ping6(topo6.guest, ["-c", "1", "-W", "2", "-t", "1", REMOTE_ADDR6])
    assert rx == 0
    assert re.search(r"From %s\S* icmp_seq=1 Time exceeded: Hop limit" % re.escape(ROUTER6),
                     out), out


@pytest.mark.parametrize("method", ["udp", "icmp"])
def test_traceroute6_through_router(routed6, routed_merd6, method):
    """traceroute -6 from the guest to the remote behind the router: merd
    is hop 1 (its router address), the router hop 2, the remote hop 3,
    every probe answered."""
    r = routed6
    for ns in (r.router, r.remote):
        ns.run("sysctl -qw net.ipv6.icmp.ratelimit=0")
    args = ["traceroute", "-6", "-n", "-w", "3", "-q", "3", "-m", "5"]
    if method == "icmp":
        args.append("-I")
    p = r.guest.run(args + [ROUTED_REMOTE6], check=False, timeout=60)
    out = p.stdout + p.stderr
    log(out)
    assert p.returncode == 0, out
    hops = {int(m.group(1)): m.group(2)
            for m in re.finditer(r"^\s*(\d+)\s+(.*)$", p.stdout, re.M)}
    assert sorted(hops) == [1, 2, 3], out
    for hop, addr in ((1, ROUTER6), (2, GATEWAY6), (3, ROUTED_REMOTE6)):
        line = hops[hop]
        assert "*" not in line and "!" not in line, "hop %d: %s" % (hop, line)
        assert {a.split("%")[0] for a in re.findall(r"[0-9a-f]*:[0-9a-f:%\w]+", line)} == \
            {addr}, "hop %d: %s" % (hop, line)
        assert len(re.findall(r"[\d.]+ ms", line)) == 3, "hop %d: %s" % (hop, line)


def test_packet_too_big_for_uplink(topo6, start):
    """The guest's MTU (9000, -m) is larger than the uplink's (1400): an
    echo request that doesn't fit is answered by merd with packet too big,
    MTU 1400, from the router address; the guest learns it."""
    m = start("-m", "9000", topo=topo6)
    ready6(m.guest, ROUTER6)
    assert int(topo6.guest.run("cat /proc/sys/net/ipv6/conf/tap0/mtu").stdout) == 9000
    _, rx, out = ping6(topo6.guest, ["-M", "do", "-s", "5000", "-c", "1", "-W", "2",
                                     REMOTE_ADDR6])
    assert rx == 0
    assert re.search(r"From %s\S* icmp_seq=1 Packet too big: mtu=%d"
                     % (re.escape(ROUTER6), HOST_MTU), out), out
    assert route_mtu6(topo6.guest, REMOTE_ADDR6) == HOST_MTU
    # What fits goes through
    _, _, out = ping6(topo6.guest, ["-M", "do", "-s", str(HOST_MTU - 48), "-c", "2", "-i",
                                    "0.2", "-W", "2", REMOTE_ADDR6])
    expect_all_replies(out, 2, REMOTE_ADDR6)


def test_pmtu_1280_link_on_the_path(routed6, routed_merd6):
    """The router's far link has MTU 1280, the host's 1400: the guest's
    full-sized packets draw packet too big from the router, which merd
    translates for the guest; the guest learns 1280, and a 4 MiB upload
    and download complete, identical."""
    r = routed6
    r.router.run("ip link set r1 mtu 1280")
    r.remote.run("ip link set x0 mtu 1280")
    # An MSS that doesn't give the bottleneck away: only PMTU discovery
    # saves the guest's full-sized segments
    r.remote.run("ip -6 route replace default via %s dev x0 advmss 1340" % ROUTER_FAR6)
    assert route_mtu6(r.guest, ROUTED_REMOTE6) in (None, HOST_MTU)
    data = random_file(r, "data.bin", 4 * MIB)
    up, down = os.path.join(r.tmp, "up.bin"), os.path.join(r.tmp, "down.bin")
    transfer(r.remote, [listen6(ROUTED_REMOTE6, 9100), "CREATE:" + up],
             r.guest, ["FILE:" + data, "TCP6:[%s]:9100" % ROUTED_REMOTE6], 9100,
             ROUTED_REMOTE6, timeout=30)
    assert sha256_file(up) == sha256_file(data), "upload differs"
    assert route_mtu6(r.guest, ROUTED_REMOTE6) == 1280
    transfer(r.remote, ["FILE:" + data, listen6(ROUTED_REMOTE6, 9101)],
             r.guest, ["TCP6:[%s]:9101" % ROUTED_REMOTE6, "CREATE:" + down], 9101,
             ROUTED_REMOTE6, timeout=30)
    assert sha256_file(down) == sha256_file(data), "download differs"

    # ping: forget the PMTU; a 1400-byte echo request draws the router's
    # error, translated, and the guest learns 1280 again
    r.guest.run("ip -6 route flush cache")
    _, rx, out = ping6(r.guest, ["-M", "do", "-s", str(HOST_MTU - 48), "-c", "1", "-W", "2",
                                 ROUTED_REMOTE6])
    assert re.search(r"From %s icmp_seq=1 Packet too big: mtu=1280" % re.escape(GATEWAY6),
                     out), out
    assert route_mtu6(r.guest, ROUTED_REMOTE6) == 1280


def test_icmp6_errors_from_network_translated(routed6, routed_merd6):
    """ICMPv6 errors about the guest's flows reach it: a UDP datagram to a
    closed port of the remote makes the guest's connected socket see
    ECONNREFUSED (port unreachable from the remote); an echo request with
    hop limit 2 gets time exceeded from the router."""
    r = routed6
    for ns in (r.router, r.remote):
        ns.run("sysctl -qw net.ipv6.icmp.ratelimit=0")
    script = ("import socket, json\n"
              "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
              "s.settimeout(3)\n"
              "s.connect(('%s', 9))\n"
              "s.send(b'anyone?')\n"
              "try:\n"
              "    s.recv(100); print('answer')\n"
              "except ConnectionRefusedError:\n"
              "    print('refused')\n"
              "except socket.timeout:\n"
              "    print('timeout')\n" % ROUTED_REMOTE6)
    p = r.guest.run([PY, "-c", script], timeout=20)
    assert p.stdout.strip() == "refused", p.stdout
    _, rx, out = ping6(r.guest, ["-c", "1", "-W", "2", "-t", "2", ROUTED_REMOTE6])
    assert re.search(r"From %s icmp_seq=1 Time exceeded: Hop limit" % re.escape(GATEWAY6),
                     out), out


# ---------------------------------------------------------------- router = host

@pytest.mark.parametrize("map_gw", [True, False], ids=["mapped", "no-map-gw"])
def test_router_address_means_host_loopback(topo6, start, map_gw):
    """TCP and UDP services bound to the host's ::1 only are what the guest
    reaches at the router address; with --no-map-gw it reaches nothing
    there (the host's services see no connection)."""
    m = start(*([] if map_gw else ["--no-map-gw"]), topo=topo6, lease=False)
    ready6(m.guest, ROUTER6)
    tcp = topo6.host.popen(["socat", "-d", "-d", "TCP6-LISTEN:8080,bind=[::1],reuseaddr,fork",
                            "SYSTEM:read x; echo host-tcp got $x"], stderr=subprocess.PIPE,
                           universal_newlines=True)
    topo6.host.popen(["socat", "UDP6-RECVFROM:8081,bind=[::1],fork",
                      "SYSTEM:read x; echo host-udp got $x"])
    wait_listening(topo6.host, 8080, "t", "[::1]")
    wait_listening(topo6.host, 8081, "u", "[::1]")
    p = topo6.guest.run(["socat", "-T", "2", "-", "TCP6:[%s]:8080,connect-timeout=2"
                         % ROUTER_TAP], input="hello\n", check=False, timeout=20)
    got_tcp = p.stdout.strip()
    p = topo6.guest.run(["socat", "-t", "2", "-T", "2", "-", "UDP6:[%s]:8081" % ROUTER_TAP],
                        input="hello\n", check=False, timeout=20)
    got_udp = p.stdout.strip()
    if map_gw:
        assert got_tcp == "host-tcp got hello"
        assert got_udp == "host-udp got hello"
    else:
        assert got_tcp == "" and got_udp == "", (got_tcp, got_udp)
        tcp.kill()
        _, err = tcp.communicate(timeout=5)
        assert "accepting connection" not in err, err


# ---------------------------------------------------------------- wire, churn

def test_wire6_check_flags_host_stack(topo6, leased6, wire6):
    """The IPv6 wire check separates the guest's resets from the host's:
    5 connections the guest aborts are accounted for; a connection from the
    remote to a closed port of the host (a reset) and a datagram to a
    closed port (ICMPv6 port unreachable) are reported, and only those."""
    EchoServer(topo6.remote, REMOTE_ADDR6, 7000)
    expect_all_echoed(run_clients(topo6.guest, REMOTE_ADDR6, 7000, 10, "--abort", "5"), 10)
    p = topo6.remote.run([PY, TCP_PEER, "connect", HOST_ADDR6, "9"])
    assert json.loads(p.stdout)["outcome"] == "refused"
    topo6.remote.run([PY, "-c", "import socket; s = socket.socket(socket.AF_INET6, "
                      "socket.SOCK_DGRAM); s.sendto(b'x', ('%s', 9))" % HOST_ADDR6])
    wire6.stop()
    r = wire6.analyse()
    assert len({u["tcp.srcport"] for u in r["matched"]}) == 5, Wire.show(r["matched"])
    assert [(u["ip.dst"], u["tcp.srcport"]) for u in r["unmatched"]] == [(REMOTE_ADDR6, "9")]
    assert [(u["icmp.type"], u["icmp.code"]) for u in r["unreach"]] == [("1", "4")]


@pytest.mark.timeout(120)
@pytest.mark.solo
def test_churn_to_one_server(topo6, leased6):
    """A connect/request/close loop from the guest to one server over IPv6
    for 12 s (tens of thousands of connections, many times merd's host
    ports): none fails, at least 75% of the rate the same loop reaches from
    the host itself in 4 s (longer, the host's own TIME_WAIT limits it);
    afterwards a new connection and a ping6 work."""
    def churn(ns, seconds):
        p = ns.run([PY, TCP_PEER, "churn", REMOTE_ADDR6, "7000", str(seconds), "--parallel",
                    "4"], timeout=seconds + 30)
        res = json.loads(p.stdout.strip().splitlines()[-1])
        log("churn from %s: %d in %.1f s, %.0f/s, errors %s" % (
            ns.role, res["done"], res["seconds"], res["rate"], res["errors"]))
        return res
    EchoServer(topo6.remote, REMOTE_ADDR6, 7000, quiet=True)
    host = churn(topo6.host, 4)
    assert host["errors"] == {}, host
    topo6.guest.run("sysctl -qw net.ipv4.ip_local_port_range='1024 65535' "
                    "net.ipv4.tcp_tw_reuse=1")
    res = churn(topo6.guest, 12)
    assert res["errors"] == {}, res
    assert res["rate"] >= 0.75 * host["rate"], (res["rate"], host["rate"])
    after = churn(topo6.guest, 1)
    assert after["done"] > 0 and after["errors"] == {}, after
    _, rx, out = ping6(topo6.guest, ["-c", "1", "-W", "2", REMOTE_ADDR6])
    assert rx == 1, out
