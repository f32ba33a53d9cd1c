# SPDX-License-Identifier: GPL-2.0-or-later
"""Real DHCP clients in the guest namespace get exactly the host's identity."""

import os
import re
import signal
import subprocess

import netns
from merdtest import Guest, Merd, UDHCPC_SCRIPT, dhclient, parse_lease_lines, udhcpc
from netns import log, wait_for


def expect_host_identity(lease, topo, serverid=netns.GATEWAY):
    """The lease is the host's address, prefix, gateway, DNS, search, MTU."""
    assert lease["ip"] == netns.HOST_ADDR
    assert lease["mask"] == str(netns.HOST_PREFIX)
    assert lease["router"] == netns.GATEWAY
    assert lease["dns"].split() == netns.HOST_DNS
    # dhclient prints search domains with the root's trailing dot
    assert [d.rstrip(".") for d in lease["search"].split()] == netns.HOST_SEARCH
    assert lease["domain"] == netns.HOST_SEARCH[0]
    assert lease["mtu"] == str(netns.HOST_MTU)
    assert lease["serverid"] == serverid


def expect_guest_configured(guest):
    """What the client applied is what the guest's stack now uses."""
    assert guest.addr() == ["%s/%d" % (netns.HOST_ADDR, netns.HOST_PREFIX)]
    assert guest.default_route() == netns.GATEWAY
    assert guest.mtu() == netns.HOST_MTU
    resolv = guest.ns.read_resolv()
    assert re.findall(r"nameserver (\S+)", resolv) == netns.HOST_DNS
    search = re.search(r"search (.*)", resolv).group(1).split()
    assert [d.rstrip(".") for d in search] == netns.HOST_SEARCH


def test_udhcpc_gets_host_identity(topo, guest):
    lease, _ = udhcpc(guest)
    expect_host_identity(lease, topo)
    assert int(lease["lease"]) > 0
    expect_guest_configured(guest)


def test_dhclient_gets_host_identity(topo, guest):
    lease, out = dhclient(guest)
    assert lease["reason"] == "BOUND"
    expect_host_identity(lease, topo)
    expect_guest_configured(guest)


def test_dhclient_init_reboot_gets_nak_then_host_address(topo, merd, guest):
    """A client remembering another address asks for it (INIT-REBOOT), is
    refused with DHCPNAK, and then gets the host's address."""
    leases = os.path.join(topo.tmp, "dhclient.leases")
    with open(leases, "w") as f:
        f.write("lease {\n  interface \"tap0\";\n  fixed-address 10.42.0.99;\n"
                "  option subnet-mask 255.255.255.0;\n"
                "  option dhcp-server-identifier 10.42.0.1;\n"
                "  renew 4 2037/01/01 00:00:00;\n  rebind 4 2037/01/01 00:00:00;\n"
                "  expire 4 2037/01/01 00:00:00;\n}\n")
    lease, out = dhclient(guest)
    assert "DHCPREQUEST for 10.42.0.99" in out
    assert "DHCPNAK from 10.42.0.1" in out
    assert lease["ip"] == netns.HOST_ADDR
    expect_guest_configured(guest)


def test_udhcpc_renews(topo, guest):
    """RENEWING: a bound udhcpc told to renew (SIGUSR1) unicasts a request
    to the server and gets its lease again."""
    out = os.path.join(topo.tmp, "udhcpc.out")
    with open(out, "w") as f:
        p = topo.guest.popen(["busybox", "udhcpc", "-i", "tap0", "-f", "-t", "4", "-T", "1",
                              "-O", "search", "-O", "mtu", "-s", UDHCPC_SCRIPT],
                             stdout=f, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "obtained" in open(out).read(), 15, "a lease")
        p.send_signal(signal.SIGUSR1)
        wait_for(lambda: open(out).read().count("obtained") == 2, 15, "the renewal")
    finally:
        p.terminate()
        p.wait(timeout=5)
    text = open(out).read()
    log(text)
    assert "sending renew to server 10.42.0.1" in text
    lease = parse_lease_lines(text)
    expect_host_identity(lease, topo)


def arp_answers(guest, addr):
    """busybox arping from the guest: the MAC that answered for addr, or None."""
    p = guest.ns.run(["busybox", "arping", "-c", "1", "-w", "3", "-I", guest.ifname, addr],
                     check=False)
    log(p.stdout + p.stderr)
    m = re.search(r"reply from %s \[([0-9a-f:]+)\]" % re.escape(addr), p.stdout, re.I)
    return m and m.group(1).lower()


def test_udhcpc_arp_check_passes(topo, start):
    """udhcpc -a probes the offered address with ARP before taking it: merd
    sees the probe and stays silent about the guest's own address, while it
    answers for any other (so the silence is a choice, not a dead ARP)."""
    m = start("--trace", lease=False)
    lease, out = udhcpc(m.guest, ["-a"])
    assert lease["ip"] == netns.HOST_ADDR
    assert "declin" not in out.lower()
    m.wait_log("arp: request for the guest's own address, silent")
    assert arp_answers(m.guest, netns.GATEWAY) == topo.host_mac


def test_guest_resolves_gateway_by_arp(topo, merd, guest):
    udhcpc(guest)
    p = topo.guest.run(["busybox", "arping", "-c", "1", "-w", "3", "-I", "tap0",
                        netns.GATEWAY], check=False)
    log(p.stdout + p.stderr)
    assert p.returncode == 0
    m = re.search(r"reply from %s \[([0-9a-f:]+)\]" % re.escape(netns.GATEWAY),
                  p.stdout, re.I)
    assert m and m.group(1).lower() == topo.host_mac
    # The guest's own stack resolves it too
    topo.guest.run("ping -c 1 -W 1 %s" % netns.GATEWAY, check=False)
    neigh = topo.guest.run("ip neigh show %s dev tap0" % netns.GATEWAY).stdout
    assert topo.host_mac in neigh.lower()


def test_duplicate_address_detection_passes(topo, start):
    """RFC 5227 probe for the guest's own address: merd sees it and gives no
    answer, while the same probe for another address is answered."""
    m = start("--trace", lease=False)
    p = topo.guest.run(["busybox", "arping", "-D", "-c", "2", "-w", "3", "-I", "tap0",
                        netns.HOST_ADDR], check=False)
    log(p.stdout + p.stderr)
    assert p.returncode == 0, "a reply came for the guest's own address"
    assert "reply" not in p.stdout.lower().replace("received 0 reply", "")
    m.wait_log("arp: request for the guest's own address, silent")
    # The same probe for an address that isn't the guest's: merd answers,
    # and arping -D reports the address as taken
    p = topo.guest.run(["busybox", "arping", "-D", "-c", "2", "-w", "3", "-I", "tap0",
                        "10.42.0.77"], check=False)
    log(p.stdout + p.stderr)
    assert p.returncode != 0 and topo.host_mac in p.stdout.lower(), p.stdout


def test_any_neighbour_resolves_to_merd(topo, merd, guest):
    udhcpc(guest)
    p = topo.guest.run(["busybox", "arping", "-c", "1", "-w", "3", "-I", "tap0",
                        "10.42.0.77"], check=False)
    assert p.returncode == 0
    assert topo.host_mac in p.stdout.lower()


def test_reconnect_and_serve_again(topo, merd):
    """qemu goes away; merd forgets the guest and serves the next one."""
    for _ in range(3):
        g = Guest(topo.guest, merd.sock)
        lease, _ = udhcpc(g)
        assert lease["ip"] == netns.HOST_ADDR
        g.stop()
        topo.guest.run("ip link show tap0 2>/dev/null || true")
    assert merd.alive()
    assert merd.log().count("guest disconnected") == 3


def test_overrides_from_command_line(topo):
    m = Merd(topo.host, sock=topo.sock,
             args=["-a", "10.42.0.9", "-n", "255.255.255.0", "-g", "10.42.0.254",
                   "-D", "192.0.2.53", "-D", "192.0.2.54", "-S", "one.test two.test",
                   "-m", "1280", "-M", "02:00:00:00:00:42"])
    try:
        g = Guest(topo.guest, m.sock)
        lease, _ = udhcpc(g)
        assert lease["ip"] == "10.42.0.9"
        assert lease["mask"] == "24"
        assert lease["router"] == "10.42.0.254"
        assert lease["serverid"] == "10.42.0.254"
        assert lease["dns"].split() == ["192.0.2.53", "192.0.2.54"]
        assert lease["search"].split() == ["one.test", "two.test"]
        assert lease["mtu"] == "1280"
        p = topo.guest.run(["busybox", "arping", "-c", "1", "-w", "3", "-I", "tap0",
                            "10.42.0.254"], check=False)
        assert "02:00:00:00:00:42" in p.stdout.lower()
        g.stop()
    finally:
        m.stop()


def test_dns_none_and_search_none(topo):
    m = Merd(topo.host, sock=topo.sock, args=["-D", "none", "-S", "none"])
    try:
        g = Guest(topo.guest, m.sock)
        lease, _ = udhcpc(g)
        assert lease["ip"] == netns.HOST_ADDR
        assert "dns" not in lease and "search" not in lease and "domain" not in lease
        g.stop()
    finally:
        m.stop()


def test_loopback_resolver_is_not_handed_out(topo):
    """A resolver on the host's loopback is useless to the guest as such."""
    topo.host.write_resolv(["127.0.0.53", "10.42.0.1"], ["example.test"])
    m = Merd(topo.host, sock=topo.sock)
    try:
        g = Guest(topo.guest, m.sock)
        lease, _ = udhcpc(g)
        assert "127.0.0.53" not in lease["dns"]
        g.stop()
    finally:
        m.stop()


def test_trace_prints_packets_and_quiet_without(topo):
    for trace in (False, True):
        m = Merd(topo.host, sock=topo.sock, args=["--trace"] if trace else [])
        g = Guest(topo.guest, m.sock)
        udhcpc(g)
        g.stop()
        text = m.stop()
        lines = re.findall(r"dhcp: (DISCOVER|REQUEST) from", text)
        if trace:
            assert lines == ["DISCOVER", "REQUEST"]
        else:
            assert lines == []
            # Start-up says what the guest gets, even without --debug
            assert "guest gets 10.42.0.2/24, gateway 10.42.0.1, MTU 1400" in text
