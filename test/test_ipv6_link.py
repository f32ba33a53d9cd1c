# SPDX-License-Identifier: GPL-2.0-or-later
"""The guest's IPv6 link, as real clients in the guest namespace see it:
the kernel's own autoconfiguration from merd's router advertisements
(SLAAC address in the host's prefix, default route through merd's router
address, the MTU), what rdisc6 reads in an RA, ISC dhclient -6 getting the
host's own address and DNS, duplicate address detection passing, ndisc6
resolving any other address to merd's MAC; and the options that turn
parts of it off (--no-ra, --no-dhcpv6, --no-ndp, -4, -6), overrides
(-a/-g/-D with IPv6 addresses), a host without IPv6, and a host with only
IPv6.

The link checks that only look share one merd and guest (module fixture
"dual"); a test that changes what merd does starts its own.
"""

import ipaddress
import re
import subprocess
import time

import pytest

import netns
from merdtest import MERD, Guest, Merd, dhclient6, ready6, udhcpc
from netns import (GATEWAY6_LL, HOST_ADDR, HOST_ADDR6, HOST_DNS6, HOST_MTU, HOST_NET6,
                   HOST_PREFIX6, HOST_SEARCH, REMOTE_ADDR6, ROUTER6, Namespace, Topology,
                   log, wait_for)
from wire import Wire

RA_FILTER = "icmp6 and ip6[40] == 134"          # router advertisements


# ---------------------------------------------------------------- helpers

def link_local_ready(ns, ifname="tap0", timeout=5):
    """Until ifname's link-local address passed DAD: rdisc6 and ndisc6
    can't send from a tentative one."""
    def ready():
        out = ns.run("ip -6 -o addr show dev %s scope link" % ifname).stdout
        return "fe80::" in out and "tentative" not in out
    wait_for(ready, timeout, "a usable link-local address on " + ifname, interval=0.1)


def rdisc6(ns, ifname="tap0", tries=3, wait_ms=1000):
    """rdisc6 (numeric, solicits up to tries times); (exit status, output)."""
    link_local_ready(ns, ifname)
    p = ns.run(["rdisc6", "-n", "-r", str(tries), "-w", str(wait_ms), ifname], check=False,
               timeout=tries * wait_ms / 1000 + 10)
    out = p.stdout + p.stderr
    log(out)
    return p.returncode, out


def ra_fields(out):
    """rdisc6's "name : value" lines, as {name: [values]} (first RA only)."""
    first = out.split(" from ")[0]
    fields = {}
    for m in re.finditer(r"^\s*([^:\n]+?)\s*:\s*(.*?)\s*$", first, re.M):
        fields.setdefault(m.group(1), []).append(m.group(2))
    return fields


def ndisc6(ns, target, ifname="tap0", tries=3, wait_ms=500):
    """ndisc6: the link-layer address target resolves to, or None."""
    link_local_ready(ns, ifname)
    p = ns.run(["ndisc6", "-n", "-r", str(tries), "-w", str(wait_ms), target, ifname],
               check=False, timeout=tries * wait_ms / 1000 + 10)
    log(p.stdout + p.stderr)
    m = re.search(r"Target link-layer address: (\S+)", p.stdout)
    return m and m.group(1).lower()


def dad_failures(ns):
    """Every address of every interface in ns that failed DAD."""
    out = ns.run("ip -6 -o addr show").stdout
    return [line for line in out.splitlines() if "dadfailed" in line]


def iid(addr):
    """The interface identifier (last 64 bits) of an IPv6 address."""
    return int(ipaddress.ip_address(addr)) & (1 << 64) - 1


def eui64(mac):
    """The modified EUI-64 interface identifier of a MAC (RFC 4291 2.5.1)."""
    b = bytes.fromhex(mac.replace(":", ""))
    return int.from_bytes(bytes([b[0] ^ 2]) + b[1:3] + b"\xff\xfe" + b[3:], "big")


def tentative(ns):
    out = ns.run("ip -6 -o addr show").stdout
    return [line for line in out.splitlines() if "tentative" in line]


def v6_summary(text):
    """merd's start-up lines about IPv6: ("guest gets ..." line, its DNS line)."""
    m = re.search(r"merd: (guest gets [0-9a-f:]+/\d+, router .*)\n.*merd:     (DNS: .*)\n",
                  text)
    return m and (m.group(1), m.group(2))


def udhcpc_fails(guest):
    """busybox udhcpc, 3 discovers 1 s apart: True if no lease came."""
    p = guest.ns.run(["busybox", "udhcpc", "-i", guest.ifname, "-f", "-q", "-n", "-t", "3",
                      "-T", "1", "-s", "/bin/true"], check=False, timeout=20)
    log(p.stdout + p.stderr)
    return p.returncode != 0


def ra_capture(topo, guest):
    """Capture of what reaches the guest's tap: router advertisements and
    neighbour advertisements (the marker that the capture saw the link)."""
    return Wire(topo, also=[(guest.ns, guest.ifname,
                             "icmp6 and (ip6[40] == 134 or ip6[40] == 136 or "
                             "ip6[40] == 133)")], snaplen=0, family=6)


def icmp6_types(pkts):
    from scapy.all import IPv6
    return [(p[IPv6].src, p[IPv6].dst, bytes(p[IPv6].payload)[0]) for p in pkts
            if p.haslayer(IPv6)]


# ---------------------------------------------------------------- one merd

@pytest.fixture(scope="module")
def dual():
    """A dual-stack host; merd (--trace) and its guest, the guest leased
    by udhcpc and autoconfigured from the RA. Shared by the looking tests."""
    t = Topology(ipv6=True)
    try:
        m = Merd(t.host, args=["--trace"], sock=t.sock)
        g = Guest(t.guest, m.sock)
        m.lease, _ = udhcpc(g)
        m.slaac = ready6(g, ROUTER6)
        yield t, m, g
        g.stop()
        m.stop()
    finally:
        t.close()


def test_startup_output_shows_ipv6(dual):
    """What the user reads when merd starts: the IPv6 the guest gets (the
    host's own address and prefix, router fe80::1 since the host's gateway
    is global) and its IPv6 DNS, beside the IPv4 lines."""
    _, m, _ = dual
    text = m.log()
    assert v6_summary(text) == ("guest gets %s/%d, router %s" % (HOST_ADDR6, HOST_PREFIX6,
                                                                  ROUTER6),
                                "DNS: %s" % " ".join(HOST_DNS6)), text
    assert "guest gets %s/24, gateway" % HOST_ADDR in text


def test_guest_autoconfigures_from_ra(dual):
    """The guest kernel's own SLAAC: an address in the host's /64 (done
    with DAD), the prefix on-link, a default route through merd's router
    address with a lifetime of at most 9000 s, and the link's MTU."""
    t, m, g = dual
    assert ipaddress.ip_interface(m.slaac).network == \
        ipaddress.ip_network("%s/%d" % (HOST_NET6, HOST_PREFIX6)), m.slaac
    routes = t.guest.run("ip -6 route show dev tap0").stdout
    log(routes)
    assert re.search(r"^%s/%d proto (ra|kernel) .*expires" % (re.escape(HOST_NET6), HOST_PREFIX6),
                     routes, re.M), routes
    assert g.default_route6() == (ROUTER6, "tap0", "ra")
    m_exp = re.search(r"^default via .* expires (\d+)sec", routes, re.M)
    assert m_exp and 0 < int(m_exp.group(1)) <= 9000, routes
    mtu = int(t.guest.run("cat /proc/sys/net/ipv6/conf/tap0/mtu").stdout)
    assert mtu == HOST_MTU


def test_rdisc6_shows_what_merd_advertises(dual):
    """rdisc6 solicits and reads merd's answer: managed and other flags,
    router lifetime (at most 9000 s), the host's prefix on-link and
    autonomous, the MTU, the DNS server and search list, merd's MAC, from
    the router address."""
    t, m, g = dual
    rc, out = rdisc6(t.guest)
    assert rc == 0, out
    f = ra_fields(out)
    assert f["Stateful address conf."] == ["Yes"], out
    assert f["Stateful other conf."] == ["Yes"], out
    life = int(f["Router lifetime"][0].split()[0])
    assert 0 < life <= 9000, out
    assert f["Prefix"] == ["%s/%d" % (HOST_NET6, HOST_PREFIX6)], out
    assert f["On-link"] == ["Yes"] and f["Autonomous address conf."] == ["Yes"], out
    assert f["MTU"][0].split()[0] == str(HOST_MTU), out
    assert f["Recursive DNS server"] == HOST_DNS6, out
    assert " ".join(f["DNS search list"]).split() == HOST_SEARCH, out
    assert f["Source link-layer address"][0].lower() == t.host_mac, out
    assert re.search(r"^ from %s$" % re.escape(ROUTER6), out, re.M), out
    m.wait_log(r"ndp: router advertisement to fe80::")


def test_dhclient6_gets_host_address_and_dns(dual):
    """ISC dhclient -6 (IA_NA) is given exactly the host's own address,
    the IPv6 DNS server and the search list; the address passes DAD."""
    t, m, g = dual
    lease, out, _ = dhclient6(g)
    assert lease["reason"] == "BOUND6", lease
    assert lease["ip6"] == HOST_ADDR6, lease
    assert lease["dns6"].split() == HOST_DNS6, lease
    assert [d.rstrip(".") for d in lease["search6"].split()] == HOST_SEARCH, lease
    assert "RCV: Reply message on tap0 from %s" % ROUTER6 in out, out
    wait_for(lambda: "%s/128" % HOST_ADDR6 in g.global6(), 5,
             "DAD of the DHCPv6 address")
    m.wait_log(r"dhcpv6: REQUEST from fe80::\S+, REPLY")


def test_dad_passes_for_every_guest_address(dual):
    """Once DAD is over (no address tentative), none of the guest's
    addresses failed it: merd stays silent when the guest checks them
    (link-local, SLAAC, and the DHCPv6 one where the previous test got it)."""
    t, m, g = dual
    wait_for(lambda: not tentative(t.guest), 5, "DAD to finish on the guest")
    assert not dad_failures(t.guest), dad_failures(t.guest)
    kinds = {a["scope"] for a in g.addrs6()}
    assert {"link", "global"} <= kinds, g.addrs6()
    m.wait_log(r"ndp: duplicate address detection for fe80::\S+, silent")


def test_dad_check_catches_a_duplicate(topology):
    """Positive control of the check above: the same address on a link
    where another node really has it fails DAD in a guest namespace set up
    as the tests set it up, and dad_failures() reports it. (No merd: merd
    itself never answers DAD, which is the point.)"""
    t = topology(ipv6=True)
    peer = Namespace(t, "dadpeer")
    t.guest.run("ip link add d0 type veth peer name d1 netns %s" % peer.name)
    peer.run("ip link set d1 up")
    peer.run("ip -6 addr add 2001:db8:42::beef/64 dev d1 nodad")
    t.guest.run("ip link set d0 up")
    assert not dad_failures(t.guest)
    t.guest.run("ip -6 addr add 2001:db8:42::beef/64 dev d0")
    wait_for(lambda: dad_failures(t.guest), 5, "the duplicate to fail DAD")
    assert "2001:db8:42::beef" in dad_failures(t.guest)[0]


def test_neighbour_solicitations_answered_with_merds_mac(dual):
    """ndisc6 in the guest: the remote's address, any other address of the
    prefix, one off it, and the router address all resolve to merd's MAC,
    the router's flagged as a router."""
    t, m, g = dual
    for target in (REMOTE_ADDR6, "2001:db8:42::1234", "2001:db8:77::1", ROUTER6):
        assert ndisc6(t.guest, target) == t.host_mac, target
    nas = t.guest.run("ip -6 neigh show dev tap0").stdout
    log(nas)
    assert re.search(r"^%s lladdr %s router" % (re.escape(ROUTER6), t.host_mac), nas, re.M), nas


def test_neighbour_solicitations_for_guests_own_addresses_unanswered(dual):
    """The guest's own addresses get no answer from merd: the host's, which
    DHCPv6 hands out, and the SLAAC one (EUI-64 here), which the guest
    announced with DAD though it may not have sent from it yet; a
    solicitation after them is answered, so silence was merd's, not a dead
    link's."""
    t, m, g = dual
    assert iid(m.slaac.split("/")[0]) == eui64(g.mac), m.slaac
    for own in (HOST_ADDR6, m.slaac.split("/")[0]):
        assert ndisc6(t.guest, own, tries=2) is None, \
            "merd claims the guest's own %s:\n%s" % (own, m.log()[-1500:])
    assert ndisc6(t.guest, REMOTE_ADDR6) == t.host_mac
    m.wait_log(r"ndp: solicitation for %s, the guest's, silent" % re.escape(HOST_ADDR6))


def test_guests_own_random_slaac_address_unanswered(topology):
    """The same with a guest whose SLAAC addresses aren't made from its MAC
    (addr_gen_mode 3, random interface identifiers, as with stable privacy
    addresses): merd hears it claim its address by DAD, and never answers a
    solicitation for it afterwards."""
    t = topology(ipv6=True)
    t.guest.run("sysctl -qw net.ipv6.conf.default.addr_gen_mode=3")
    m = Merd(t.host, args=["--trace"], sock=t.sock)
    try:
        g = Guest(t.guest, m.sock)
        slaac = ready6(g, ROUTER6).split("/")[0]
        assert iid(slaac) != eui64(g.mac), "not a random identifier: %s" % slaac
        m.wait_log(r"ndp: duplicate address detection for %s, silent" % re.escape(slaac))
        got = ndisc6(t.guest, slaac, tries=2)
        assert ndisc6(t.guest, REMOTE_ADDR6) == t.host_mac
        g.stop()
    finally:
        text = m.stop()
    assert got is None, "merd claims the guest's own %s:\n%s" % (
        slaac, "\n".join(text.splitlines()[-10:]))


# ---------------------------------------------------------------- RAs

def test_unsolicited_router_advertisements(topology):
    """A guest that never solicits (router_solicitations 0) still gets
    merd's RAs, sent to all nodes from the router address after it
    connects, and autoconfigures from them."""
    t = topology(ipv6=True)
    t.guest.run("sysctl -qw net.ipv6.conf.default.router_solicitations=0")
    m = Merd(t.host, args=["--trace"], sock=t.sock)
    try:
        g = Guest(t.guest, m.sock)
        w = ra_capture(t, g)
        ready6(g, ROUTER6, timeout=10)

        # merd's first RAs come a few seconds apart: wait for one on the
        # capture (tcpdump writes each packet as it comes, -U)
        def seen():
            p = subprocess.run(["tcpdump", "-n", "-r", w.caps[1][1], RA_FILTER],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               universal_newlines=True)
            return "ff02::1:" in p.stdout
        wait_for(seen, 10, "an unsolicited RA on the guest's tap", interval=0.5)
        pkts = icmp6_types(w.packets(1))
        w.kill()
        g.stop()
    finally:
        m.stop()
    assert (ROUTER6, "ff02::1", 134) in pkts, pkts
    assert not [p for p in pkts if p[2] == 133], "the guest solicited: %s" % pkts


def test_no_ra(topo6, start):
    """--no-ra: no RA arrives, solicited (rdisc6 fails) or not (a capture
    from the guest's connecting on, while RAs would have come), so no
    default route; DHCPv6 still hands out the host's address; merd's
    start-up line says so."""
    m = start("--no-ra", topo=topo6, lease=False)
    g = m.guest
    w = ra_capture(topo6, g)
    rc, out = rdisc6(topo6.guest)
    assert rc != 0 and "No response" in out, out
    lease, _, _ = dhclient6(g)
    assert lease["ip6"] == HOST_ADDR6, lease
    # The marker: merd's neighbour advertisement reaches the capture
    assert ndisc6(topo6.guest, REMOTE_ADDR6) == topo6.host_mac
    pkts = icmp6_types(w.packets(1))
    w.kill()
    assert [p for p in pkts if p[2] == 136], "the capture saw nothing: %s" % pkts
    assert not [p for p in pkts if p[2] == 134], "RAs with --no-ra: %s" % pkts
    assert g.default_route6() is None
    assert "router %s, no RA" % ROUTER6 in m.log()


def test_no_dhcpv6(topo6, start):
    """--no-dhcpv6: the RA no longer sends the guest to DHCPv6 (neither
    managed nor other flag), dhclient -6 gets nothing in a bounded time (and
    the host's address never appears on the guest); the RA still configures
    it."""
    m = start("--no-dhcpv6", topo=topo6, lease=False)
    ready6(m.guest, ROUTER6)
    rc, out = rdisc6(topo6.guest)
    assert rc == 0, out
    f = ra_fields(out)
    assert f["Stateful address conf."] == ["No"], out
    assert f["Stateful other conf."] == ["No"], out
    t0 = time.monotonic()
    lease, out, rc = dhclient6(m.guest, timeout=25, check=False)
    log("dhclient -6 gave up after %.1f s" % (time.monotonic() - t0))
    assert rc != 0, out
    assert not lease, lease
    assert "RCV:" not in out, out
    assert not [a for a in m.guest.addrs6() if a["addr"] == HOST_ADDR6]
    assert "no DHCPv6" in m.log()


def test_no_ndp(topo6, start):
    """--no-ndp: merd answers no neighbour solicitation, for the router
    or anyone else; RAs still come."""
    m = start("--no-ndp", topo=topo6, lease=False)
    rc, out = rdisc6(topo6.guest)
    assert rc == 0, out
    for target in (ROUTER6, REMOTE_ADDR6):
        assert ndisc6(topo6.guest, target, tries=2) is None, target
    assert "no NDP" in m.log()


# ---------------------------------------------------------------- families

def test_ipv6_only_option_on_dual_stack_host(topo6, start):
    """-6 on a dual-stack host: the guest gets IPv6 (RA, DHCPv6) and no
    DHCPv4 lease."""
    m = start("-6", topo=topo6, lease=False)
    assert "no IPv4 for the guest" in m.log()
    ready6(m.guest, ROUTER6)
    lease, _, _ = dhclient6(m.guest)
    assert lease["ip6"] == HOST_ADDR6
    assert udhcpc_fails(m.guest)
    assert m.guest.addr() == []


def test_ipv4_only_option_on_dual_stack_host(topo6, start):
    """-4 on a dual-stack host: a DHCPv4 lease, and no RA (rdisc6 fails)."""
    m = start("-4", topo=topo6)
    assert m.lease["ip"] == HOST_ADDR
    assert "no IPv6 for the guest" in m.log()
    rc, out = rdisc6(topo6.guest)
    assert rc != 0 and "No response" in out, out
    assert not m.guest.global6()


def test_host_without_ipv6_serves_ipv4_only(topo, start):
    """A host without an IPv6 default route: one info line says merd
    serves IPv4 only, the guest gets its lease and reaches the remote; no
    RA."""
    m = start()
    text = m.log()
    # One line about IPv6, saying why there is none
    v6 = [ln for ln in text.splitlines() if "IPv6" in ln]
    assert len(v6) == 1 and "no default IPv6 route" in v6[0], text
    assert "guest gets 2001:" not in text, text
    assert m.lease["ip"] == HOST_ADDR
    p = topo.guest.run(["ping", "-c", "1", "-W", "2", netns.REMOTE_ADDR], check=False)
    assert p.returncode == 0, p.stdout
    rc, out = rdisc6(topo.guest, tries=2)
    assert rc != 0, out


def test_ipv6_only_host(topology, start):
    """A host with IPv6 only (no IPv4 address or route): merd starts, the
    guest autoconfigures, dhclient -6 gets the host's address, udhcpc gets
    nothing."""
    t = topology(ipv6=True, ipv4=False)
    m = start(topo=t, lease=False)
    assert "no IPv4 for the guest" in m.log()
    assert v6_summary(m.log())[0].startswith("guest gets %s/64" % HOST_ADDR6)
    ready6(m.guest, ROUTER6)
    lease, _, _ = dhclient6(m.guest)
    assert lease["ip6"] == HOST_ADDR6 and lease["dns6"].split() == HOST_DNS6
    assert udhcpc_fails(m.guest)


def test_link_local_gateway_is_the_router(topology, start):
    """Where the host's own default route is through a link-local gateway,
    that address is the guest's router too: in merd's start-up line, the
    RA's source, and the guest's default route."""
    t = topology(ipv6=True, ll_gateway=True)
    m = start(topo=t, lease=False)
    assert v6_summary(m.log())[0] == "guest gets %s/%d, router %s" % (
        HOST_ADDR6, HOST_PREFIX6, GATEWAY6_LL)
    ready6(m.guest, GATEWAY6_LL)
    rc, out = rdisc6(t.guest)
    assert rc == 0 and re.search(r"^ from %s$" % re.escape(GATEWAY6_LL), out, re.M), out


def test_ipv6_overrides(topo6, start):
    """-a, -g and -D each take an IPv6 address beside an IPv4 one: the
    guest gets those (start-up line, RA, DHCPv6), IPv4 keeps its own."""
    addr6, gw6, dns6 = "2001:db8:42::77", "fe80::42", "2001:db8:42::99"
    m = start("-a", HOST_ADDR, "-a", addr6, "-g", netns.GATEWAY, "-g", gw6,
              "-D", "10.42.0.53", "-D", dns6, topo=topo6)
    assert m.lease["ip"] == HOST_ADDR and m.lease["dns"] == "10.42.0.53", m.lease
    assert v6_summary(m.log()) == ("guest gets %s/64, router %s" % (addr6, gw6),
                                   "DNS: %s" % dns6), m.log()
    ready6(m.guest, gw6)
    rc, out = rdisc6(topo6.guest)
    f = ra_fields(out)
    assert f["Recursive DNS server"] == [dns6], out
    assert re.search(r"^ from %s$" % re.escape(gw6), out, re.M), out
    lease, _, _ = dhclient6(m.guest)
    assert lease["ip6"] == addr6 and lease["dns6"].split() == [dns6], lease


def test_ipv6_gateway_must_be_link_local(topo6):
    """-g with a global IPv6 address: one clear line, exit 1."""
    p = topo6.host.run([MERD, "-f", "-s", topo6.sock, "-g",
                        "2001:db8:42::1"], check=False, timeout=10)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "merd: invalid --gateway: the IPv6 router must be link-local"], p.stderr
