# SPDX-License-Identifier: GPL-2.0-or-later
"""The guest's UDP and ICMP through merd, against real peers: UDP echo, a
10 MB transfer each way, DNS (a resolver in the remote namespace, and the
host's loopback resolver through the gateway address), ping and echo
identifier translation, traceroute through a router, path MTU discovery
through a router with a smaller MTU, DF packets larger than the uplink, and
services on the host's loopback reached at the gateway address."""

import json
import os
import re
import subprocess

import pytest

import netns
from netns import (GATEWAY, HOST_ADDR, HOST_MTU, REMOTE_ADDR, ROUTED_REMOTE, log, readline_within,
                   wait_listening)
from peers import PY, UDP_XFER, sha256_file

pytestmark = pytest.mark.forwarding
DNSMASQ = "/usr/sbin/dnsmasq"
TEST_NAME = "svc.example.test"

# Data in a UDP datagram that fills the guest's MTU exactly (udp_xfer.py adds
# a 4-byte sequence number)
XFER_DATA = HOST_MTU - 20 - 8 - 4
XFER_BYTES = 10 * 1024 * 1024


# ---------------------------------------------------------------- helpers

def start_bg(ns, args, timeout=10):
    """A background udp_xfer.py in ns, once it said "ready"."""
    p = ns.popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 universal_newlines=True)
    line = readline_within(p.stdout, timeout, "%s to be ready" % args[2:4])
    if line.strip() != "ready":
        p.kill()
        raise AssertionError("%s not ready: %r %s" % (args, line, p.stderr.read()))
    return p


def finish(p, timeout):
    """Wait for a background process; return (stdout, stderr), bounded."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("%s still running after %ss:\n%s\n%s"
                             % (p.args, timeout, out, err))
    log("%s ->\n%s%s" % (" ".join(p.args[4:]), out, err or ""))
    return out, err


def json_line(text):
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    assert lines, "no result line in %r" % text
    return json.loads(lines[-1])


def ping(ns, args, timeout=30):
    """Run iputils ping; return (transmitted, received, output)."""
    p = ns.run(["ping"] + args, check=False, timeout=timeout)
    out = p.stdout + p.stderr
    log(out)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, "no ping statistics:\n" + out
    return int(m.group(1)), int(m.group(2)), out


def ping_bg(ns, args):
    return ns.popen(["ping"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    universal_newlines=True)


def expect_all_replies(out, count, src):
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, "no ping statistics:\n" + out
    assert (int(m.group(1)), int(m.group(2))) == (count, count), out
    assert "DUP!" not in out, "replies meant for another ping arrived:\n" + out
    replies = re.findall(r"bytes from (\S+): icmp_seq=(\d+)", out)
    assert sorted(int(s) for _, s in replies) == list(range(1, count + 1)), out
    assert {a for a, _ in replies} == {src}, out


def route_mtu(ns, dst):
    """The MTU the guest's route cache holds for dst, or None."""
    out = ns.run("ip -4 route get %s" % dst).stdout
    log(out)
    m = re.search(r"\bmtu (\d+)", out)
    return m and int(m.group(1))


def counters(topo):
    """What to look at when datagrams are missing: who dropped them."""
    tap = topo.guest.run("ip -s link show tap0", check=False).stdout
    snmp = {ns.role: re.findall(r"Udp: .*", ns.run("cat /proc/net/snmp", check=False).stdout)
            for ns in (topo.guest, topo.remote)}
    return "guest tap0:\n%s\nUDP counters: %s" % (tap, snmp)


def dnsmasq(ns, listen, answer):
    """dnsmasq answering TEST_NAME with answer, and nothing else, on listen:53."""
    p = ns.popen([DNSMASQ, "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                  "--address=/%s/%s" % (TEST_NAME, answer), "--listen-address=" + listen,
                  "--bind-interfaces", "--user=root", "--pid-file=", "--log-queries",
                  "--log-facility=-"],
                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    wait_listening(ns, 53, "u", listen)
    return p


def dnsmasq_log(p):
    p.kill()
    out, _ = p.communicate(timeout=5)
    log(out)
    return out


def resolve(guest_ns):
    """The guest resolves TEST_NAME as its programs do (glibc, its resolv.conf)."""
    p = guest_ns.run(["getent", "ahostsv4", TEST_NAME], check=False, timeout=20)
    log(p.stdout + p.stderr)
    return sorted({ln.split()[0] for ln in p.stdout.splitlines() if ln.strip()})


# ---------------------------------------------------------------- UDP

def test_udp_request_response(topo, leased):
    """Datagrams of every size the guest sends to a UDP echo server come back
    whole, from the server's address and port: 0 bytes, small, a full MTU
    (the answer, 5 bytes longer, is fragmented by the server), and 4000 bytes
    (fragmented by the guest both ways)."""
    start_bg(topo.remote, [PY, UDP_XFER, "echo", REMOTE_ADDR, "7007"])
    sizes = ["0", "1", "100", str(HOST_MTU - 28), "4000"]
    p = topo.guest.run([PY, UDP_XFER, "ask", REMOTE_ADDR, "7007"] + sizes, timeout=30)
    log(p.stdout)
    res = json_line(p.stdout)["answers"]
    assert [a["size"] for a in res] == [int(s) for s in sizes]
    for a in res:
        assert a["ok"], "size %d: wrong or no answer: %s" % (a["size"], a)
        assert a["from"] == [REMOTE_ADDR, 7007], a


@pytest.mark.parametrize("direction", ["upload", "download"])
def test_udp_10mb_transfer(topo, leased, direction):
    """10 MB in MTU-sized datagrams, guest to remote or remote to guest:
    every datagram arrives once, the data is identical. The sender is paced
    (32 datagrams a millisecond at most): the guest's tap device drops what
    test/pump can't take at once (tx dropped), and that is not merd's doing."""
    # The guest resolves its gateway first: until then its kernel holds only
    # a few datagrams (unres_qlen_bytes) and silently drops the oldest
    _, rx, out = ping(topo.guest, ["-c", "1", "-W", "2", REMOTE_ADDR])
    assert rx == 1, out
    if direction == "upload":
        rx = start_bg(topo.remote, [PY, UDP_XFER, "recv", REMOTE_ADDR, "9000", "5"])
        tx = topo.guest.run([PY, UDP_XFER, "send", REMOTE_ADDR, "9000", str(XFER_BYTES),
                             str(XFER_DATA), "32", "1"], timeout=60)
        sent = json_line(tx.stdout)
        got = json_line(finish(rx, 30)[0])
    else:
        tx = start_bg(topo.remote, [PY, UDP_XFER, "serve", REMOTE_ADDR, "9001", str(XFER_BYTES),
                                 str(XFER_DATA), "32", "1"])
        rx = topo.guest.run([PY, UDP_XFER, "recv", "0.0.0.0", "5001", "5", REMOTE_ADDR,
                             "9001"], timeout=60)
        got = json_line(rx.stdout)
        sent = json_line(finish(tx, 30)[0])
    diag = counters(topo)
    log(diag)
    assert sent["bytes"] == XFER_BYTES
    assert got["nmissing"] == 0 and got["last_seen"], \
        "%d of %d datagrams missing (first: %s)\n%s" % (got["nmissing"], sent["count"],
                                                         got["missing"], diag)
    assert got["dups"] == 0, got
    assert got["count"] == sent["count"]
    assert got["bytes"] == XFER_BYTES
    assert got["sha256"] == sent["sha256"], "data differs"


# ---------------------------------------------------------------- DNS

def test_dns_remote_resolver(topo, start):
    """The host uses a resolver in the remote namespace: the guest gets it in
    its lease and resolves a name through it; the query leaves from the
    host's address."""
    topo.host.write_resolv([REMOTE_ADDR], [])
    m = start()
    dns = dnsmasq(topo.remote, REMOTE_ADDR, "10.42.0.100")
    lease = m.lease
    assert lease["dns"] == REMOTE_ADDR
    assert resolve(topo.guest) == ["10.42.0.100"]
    # busybox's resolver, pointed at the server explicitly
    p = topo.guest.run(["busybox", "nslookup", "-type=a", TEST_NAME, REMOTE_ADDR],
                       timeout=20)
    log(p.stdout)
    assert re.search(r"Name:\s+%s\s+Address:\s+10\.42\.0\.100\b" % re.escape(TEST_NAME),
                     p.stdout), p.stdout
    text = dnsmasq_log(dns)
    assert "query[A] %s from %s" % (TEST_NAME, HOST_ADDR) in text


def test_dns_host_loopback_resolver_through_gateway(topo, start):
    """The host's resolver is on its loopback (127.0.0.53, as
    systemd-resolved's): the guest is told to use the gateway address, and
    its queries there reach the host's resolver. A decoy resolver on the
    real gateway address answers differently."""
    topo.host.write_resolv(["127.0.0.53"], [])
    m = start()
    host_dns = dnsmasq(topo.host, "127.0.0.53", "10.42.0.7")
    decoy = dnsmasq(topo.remote, GATEWAY, "10.42.0.66")
    lease = m.lease
    assert lease["dns"] == GATEWAY
    assert resolve(topo.guest) == ["10.42.0.7"]
    text = dnsmasq_log(host_dns)
    assert "query[A] %s from 127.0.0.1" % TEST_NAME in text
    assert "query[" not in dnsmasq_log(decoy)


# ---------------------------------------------------------------- ICMP echo

def test_ping_remote_and_gateway(topo, leased):
    """The guest pings the remote; and the gateway, which answers as the
    host: with the remote ignoring echo requests, the gateway still does."""
    _, _, out = ping(topo.guest, ["-c", "3", "-i", "0.2", "-W", "2", REMOTE_ADDR])
    expect_all_replies(out, 3, REMOTE_ADDR)

    topo.remote.run("sysctl -qw net.ipv4.icmp_echo_ignore_all=1")
    tx, rx, out = ping(topo.guest, ["-c", "1", "-W", "1", REMOTE_ADDR])
    assert rx == 0, "the remote still answers:\n" + out

    _, _, out = ping(topo.guest, ["-c", "3", "-i", "0.2", "-W", "2", GATEWAY])
    expect_all_replies(out, 3, GATEWAY)


def test_ping_identifiers_translated(topo, leased):
    """Two pings of the guest at once, and the host's own ping with the same
    identifier as one of them, all to the remote: each gets exactly its own
    replies."""
    n = 8
    common = ["-c", str(n), "-i", "0.2", "-W", "2", REMOTE_ADDR]
    pings = [("guest 4242", ping_bg(topo.guest, ["-e", "4242"] + common)),
             ("guest 4243", ping_bg(topo.guest, ["-e", "4243"] + common)),
             ("host 4242", ping_bg(topo.host, ["-e", "4242"] + common))]
    for what, p in pings:
        out, _ = finish(p, 30)
        log("%s:\n%s" % (what, out))
        expect_all_replies(out, n, REMOTE_ADDR)


# ---------------------------------------------------------------- traceroute

def icmp_counter(ns, name):
    """An Icmp counter of /proc/net/snmp in ns."""
    rows = [ln.split()[1:] for ln in ns.run("cat /proc/net/snmp").stdout.splitlines()
            if ln.startswith("Icmp:")]
    return int(dict(zip(rows[0], rows[1]))[name])


def traceroute_hops(out):
    """{hop: line} of traceroute -n's output."""
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(r"^\s*(\d+)\s+(.*)$", out, re.M)}


@pytest.mark.parametrize("method", ["udp", "icmp"])
def test_traceroute_through_router(routed, routed_guest, method):
    """traceroute from the guest to the remote behind the router: merd is
    hop 1 (time exceeded from the gateway address), the router hop 2 (its
    near address is the host's gateway too), the remote hop 3, and every
    probe is answered."""
    # The peers' own ICMP rate limits would turn some answers into '*'
    for ns in (routed.router, routed.remote):
        ns.run("sysctl -qw net.ipv4.icmp_ratelimit=0")
    before = icmp_counter(routed.router, "OutTimeExcds")
    args = ["traceroute", "-n", "-w", "3", "-q", "3", "-m", "5"]
    if method == "icmp":
        args.append("-I")
    p = routed.guest.run(args + [ROUTED_REMOTE], check=False, timeout=60)
    out = p.stdout + p.stderr
    log(out)
    assert p.returncode == 0, out
    hops = traceroute_hops(p.stdout)
    assert sorted(hops) == [1, 2, 3], out
    for hop, addr in ((1, GATEWAY), (2, GATEWAY), (3, ROUTED_REMOTE)):
        line = hops[hop]
        assert "*" not in line and "!" not in line, "hop %d: %s" % (hop, line)
        assert set(re.findall(r"\d+\.\d+\.\d+\.\d+", line)) == {addr}, \
            "hop %d: %s" % (hop, line)
        assert len(re.findall(r"[\d.]+ ms", line)) == 3, "hop %d: %s" % (hop, line)
    # Hops 1 and 2 look alike (both the gateway address): the router
    # answered only hop 2's three probes, hop 1's were merd's
    sent = icmp_counter(routed.router, "OutTimeExcds") - before
    assert sent == 3, "the router sent %d time exceeded, not 3: hop 1 wasn't merd" % sent


# ---------------------------------------------------------------- MTU

def tcp_copy(server_ns, server_args, client_ns, client_args, port, timeout=30):
    """Move a file with socat -u: the server listens on ROUTED_REMOTE:port,
    the client connects; whichever way the data goes, both must finish."""
    server = server_ns.popen(["socat", "-u"] + server_args, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True)
    wait_listening(server_ns, port, "t", ROUTED_REMOTE)
    client_ns.run(["socat", "-u"] + client_args, timeout=timeout)
    finish(server, timeout)


def test_pmtu_router_with_smaller_mtu(routed, routed_guest):
    """The router's far link has MTU 1280, the host's 1400: the guest's
    full-sized packets draw "fragmentation needed" from the router, which
    merd translates for the guest; the guest learns 1280 and a 4 MiB upload
    and download complete, identical."""
    r = routed
    r.router.run("ip link set r1 mtu 1280")
    r.remote.run("ip link set x0 mtu 1280")
    # The remote announces an MSS that doesn't give the bottleneck away, as
    # a server behind a further, wider link would: so the guest's TCP
    # sends full 1400-byte packets, and only path MTU discovery saves it
    r.remote.run("ip route replace default via %s dev x0 advmss 1360" % netns.ROUTER_FAR)
    assert route_mtu(r.guest, ROUTED_REMOTE) is None

    data = os.path.join(r.tmp, "data.bin")
    with open(data, "wb") as f:
        f.write(os.urandom(4 * 1024 * 1024))
    up = os.path.join(r.tmp, "up.bin")
    down = os.path.join(r.tmp, "down.bin")

    listen = "TCP-LISTEN:%d,bind=" + ROUTED_REMOTE + ",reuseaddr"
    tcp_copy(r.remote, [listen % 9100, "CREATE:" + up],
             r.guest, ["FILE:" + data, "TCP:%s:9100" % ROUTED_REMOTE], 9100)
    assert sha256_file(up) == sha256_file(data), "upload differs"
    assert route_mtu(r.guest, ROUTED_REMOTE) == 1280

    tcp_copy(r.remote, ["FILE:" + data, listen % 9101],
             r.guest, ["TCP:%s:9101" % ROUTED_REMOTE, "CREATE:" + down], 9101)
    assert sha256_file(down) == sha256_file(data), "download differs"

    # The same with ping: forget what was learnt; a DF echo request of the
    # host's MTU is answered by the router's error, quoting the guest's own
    # packet, and the guest learns 1280 again; one that fits gets replies
    r.guest.run("ip route flush cache")
    assert route_mtu(r.guest, ROUTED_REMOTE) is None
    _, rx, out = ping(r.guest, ["-M", "do", "-s", str(HOST_MTU - 28), "-c", "1", "-W", "2",
                                ROUTED_REMOTE])
    assert re.search(r"From %s icmp_seq=1 Frag needed and DF set \(mtu = 1280\)"
                     % re.escape(GATEWAY), out), out
    assert route_mtu(r.guest, ROUTED_REMOTE) == 1280
    _, _, out = ping(r.guest, ["-M", "do", "-s", str(1280 - 28), "-c", "3", "-i", "0.2",
                               "-W", "2", ROUTED_REMOTE])
    expect_all_replies(out, 3, ROUTED_REMOTE)


def test_df_packet_larger_than_uplink(topo, start):
    """The guest's MTU (9000, -m) is larger than the host's uplink (1400): a
    DF packet that doesn't fit the uplink is answered by merd with
    "fragmentation needed", MTU 1400, from the gateway, and the guest
    learns it; without DF the same ping is fragmented and answered; to the
    gateway (the host's loopback) a DF packet that large goes through."""
    m = start("-m", "9000")
    g, lease = m.guest, m.lease
    assert lease["mtu"] == "9000" and g.mtu() == 9000

    _, rx, out = ping(topo.guest, ["-M", "do", "-s", "5000", "-c", "1", "-W", "2",
                                   REMOTE_ADDR])
    assert rx == 0
    assert re.search(r"From %s icmp_seq=1 Frag needed and DF set \(mtu = %d\)"
                     % (re.escape(GATEWAY), HOST_MTU), out), out
    assert route_mtu(topo.guest, REMOTE_ADDR) == HOST_MTU

    topo.guest.run("ip route flush cache")
    _, _, out = ping(topo.guest, ["-M", "dont", "-s", "5000", "-c", "3", "-i", "0.2",
                                  "-W", "2", REMOTE_ADDR])
    expect_all_replies(out, 3, REMOTE_ADDR)
    assert "5008 bytes from" in out

    _, _, out = ping(topo.guest, ["-M", "do", "-s", "5000", "-c", "3", "-i", "0.2",
                                  "-W", "2", GATEWAY])
    expect_all_replies(out, 3, GATEWAY)


# ---------------------------------------------------------------- gateway

@pytest.mark.parametrize("map_gw", [True, False], ids=["mapped", "no-map-gw"])
def test_gateway_address_means_host(topo, start, map_gw):
    """TCP and UDP services bound to the host's 127.0.0.1 only are what the
    guest reaches at the gateway address; with --no-map-gw the same
    connections go to the real gateway, whose services answer differently."""
    start(*([] if map_gw else ["--no-map-gw"]))
    for ns, addr, who in ((topo.host, "127.0.0.1", "host-loopback"),
                          (topo.remote, GATEWAY, "real-gateway")):
        # Each answers the request line after reading it (not before:
        # socat's write to a finished command would fail, racing the answer)
        ns.popen(["socat", "TCP-LISTEN:8080,bind=%s,reuseaddr,fork" % addr,
                  "SYSTEM:read x; echo %s-tcp got $x" % who])
        ns.popen(["socat", "UDP4-RECVFROM:8081,bind=%s,fork" % addr,
                  "SYSTEM:read x; echo %s-udp got $x" % who])
        wait_listening(ns, 8080, "t", addr)
        wait_listening(ns, 8081, "u", addr)
    want = "host-loopback" if map_gw else "real-gateway"

    p = topo.guest.run(["socat", "-T", "5", "-", "TCP:%s:8080" % GATEWAY],
                       input="hello\n", timeout=20)
    assert p.stdout.strip() == want + "-tcp got hello", p.stdout + p.stderr
    # socat's UDP4 address is connected: only an answer from the
    # gateway address and port counts
    p = topo.guest.run(["socat", "-t", "5", "-T", "5", "-", "UDP4:%s:8081" % GATEWAY],
                       input="hello\n", timeout=20)
    assert p.stdout.strip() == want + "-udp got hello", p.stdout + p.stderr


def test_guest_echo_id_held_from_host_ping_sockets(topo, start):
    """Where the host lets users open ping sockets, merd holds a guest echo
    flow's identifier with one, so that the kernel never hands that
    identifier to a host program's ping socket; the host's own pings and
    the guest's run side by side, each getting its own replies."""
    topo.host.run("sysctl -qw net.ipv4.ping_group_range='0 2147483647'")
    m = start("--trace")
    p = topo.guest.popen(["ping", "-e", "777", "-c", "6", "-i", "0.3", "-W", "2",
                          netns.REMOTE_ADDR], stdout=subprocess.PIPE,
                         universal_newlines=True)
    hid = int(m.wait_log(r"flow \d+: ICMP \S+ from guest port 777, host port (\d+)")
              .group(1))
    icmp = topo.host.run(["cat", "/proc/net/icmp"]).stdout
    assert re.search(r"^\s*\d+: 00000000:%04X " % hid, icmp, re.M), icmp
    host = topo.host.run(["ping", "-c", "4", "-i", "0.3", "-W", "2",
                          netns.REMOTE_ADDR], check=False)
    out, _ = p.communicate(timeout=20)
    assert "6 received" in out and "DUP" not in out, out
    assert "4 received" in host.stdout and "DUP" not in host.stdout
