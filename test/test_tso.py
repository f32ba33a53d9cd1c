# SPDX-License-Identifier: GPL-2.0-or-later
"""Segmentation offload for the guest (tcp.c, fwd.c): a guest with MTU 65520
behind a host link of 1500. merd tells the guest the MSS of its own link in
the peer's SYN-ACK and cuts the guest's large segments into pieces the path
takes, with --tso (the default); with --no-tso the guest sees the peer's
MSS and sends 1500-byte frames. A segment that leaves on the uplink leaves
whole, as a GSO packet the host's link cuts (uplink.c): the host's end of
the link does that in software here, as a network card would
(wire.cut_on_host()), so that the wire's capture sees what a wire carries.

Each test uploads a file from the guest to a server in the remote namespace
(sha256 compared) while three captures run: the wire (r0, the remote's end
of the host's link) keeps every TCP packet longer than the link's 1500
bytes, which must never appear (no segment there carries more than 1460
bytes of payload); the guest's tap keeps its TCP frames longer than 1500,
which must be there with the offload (proof that it is used) and not
without. Both captures keep SYNs too: markers that they ran and saw the
connection, so that an empty result means "not sent", never "not
captured" (wire.py). The wire must also be clean as Wire.assert_clean()
has it: no reset nor unreachable from the host's own stack.
"""

import os

import pytest
from scapy.all import IP, IPv6, TCP

from merdtest import ready6
from netns import (REMOTE_ADDR, ROUTED_REMOTE, ROUTER6, ROUTER_FAR, log,
                   wait_listening)
from peers import MIB, sha256_file, upload
from wire import Wire, cut_on_host

HOST_MTU = 1500
GUEST_MTU = 65520

# Packets longer than the host's link, and SYNs (the captures' markers)
BIG4 = "(tcp and ip[2:2] > %d) or (tcp[tcpflags] & tcp-syn != 0)" % HOST_MTU
BIG6 = "(ip6[6] == 6 and ip6[4:2] > %d) or (ip6[6] == 6 and ip6[53] & 0x02 != 0)" % (
    HOST_MTU - 40)


def tcp_lengths(pkts, family=4):
    """(IP length, TCP payload length, SYN) of each TCP packet captured,
    from their headers (the captures keep only the first bytes)."""
    out = []
    for p in pkts:
        ip = p.getlayer(IPv6 if family == 6 else IP)
        if ip is None or not ip.haslayer(TCP):
            continue
        t = ip[TCP]
        if family == 6:
            total = 40 + ip.plen
            payload = ip.plen - t.dataofs * 4
        else:
            total = ip.len
            payload = ip.len - ip.ihl * 4 - t.dataofs * 4
        out.append((total, payload, bool(t.flags & 0x02)))
    return out


@pytest.mark.parametrize("tso", [True, False], ids=["tso", "no-tso"])
def test_upload_65520_behind_1500(topology, start, tso):
    """32 MiB from the guest (MTU 65520) to the remote behind a 1500 link
    arrive intact; the wire carries nothing larger than the link, the
    guest's frames are larger than 1500 with the offload and never
    without."""
    topo = topology(host_mtu=HOST_MTU)
    cut_on_host(topo)
    m = start("-m", str(GUEST_MTU), "--tso" if tso else "--no-tso", topo=topo)
    assert m.lease["mtu"] == str(GUEST_MTU) and m.guest.mtu() == GUEST_MTU
    w = Wire(topo, [m.guest], wire_filter=Wire.WIRE_FILTER + " or " + BIG4,
             snaplen=96, also=[(topo.guest, m.guest.ifname, BIG4)])
    try:
        src, dst = upload(topo, topo.guest, 32 * MIB, 5101)
        assert os.path.getsize(dst) == 32 * MIB
        assert sha256_file(dst) == sha256_file(src), "the upload differs"
        wire = tcp_lengths(w.packets(0))
        tap = tcp_lengths(w.packets(2))
        w.assert_clean({(REMOTE_ADDR, 5101): 1})
    finally:
        w.kill()

    assert any(syn for _, _, syn in wire), "the wire capture saw no SYN"
    assert any(syn for _, _, syn in tap), "the tap capture saw no SYN"
    too_big = [(t, p) for t, p, _ in wire if t > HOST_MTU or p > HOST_MTU - 40]
    assert not too_big, "on the wire, larger than the link: %s" % too_big[:5]
    big = [t for t, _, syn in tap if t > HOST_MTU and not syn]
    log("guest frames over %d bytes: %d, the largest %d" % (HOST_MTU, len(big),
                                                             max(big, default=0)))
    if tso:
        assert len(big) > 100, "the guest sent %d frames over %d bytes" % (len(big),
                                                                           HOST_MTU)
        assert max(big) > 32000
    else:
        assert not big, "the guest sent frames over %d bytes without the offload: %s" % (
            HOST_MTU, big[:5])


def test_upload6_65520_behind_1500(topology, start):
    """The same over IPv6, 8 MiB: intact, nothing larger than the link on
    the wire, the guest's frames larger than 1500."""
    topo = topology(host_mtu=HOST_MTU, ipv6=True)
    cut_on_host(topo)
    m = start("-m", str(GUEST_MTU), "--tso", topo=topo)
    ready6(m.guest, ROUTER6)
    w = Wire(topo, [m.guest], wire_filter=Wire.WIRE_FILTER6 + " or " + BIG6,
             snaplen=96, also=[(topo.guest, m.guest.ifname, BIG6)], family=6)
    try:
        src, dst = upload(topo, topo.guest, 8 * MIB, 5102, family=6)
        assert sha256_file(dst) == sha256_file(src), "the upload differs"
        wire = tcp_lengths(w.packets(0), 6)
        tap = tcp_lengths(w.packets(2), 6)
        w.assert_clean()
    finally:
        w.kill()

    assert any(syn for _, _, syn in wire) and any(syn for _, _, syn in tap)
    too_big = [(t, p) for t, p, _ in wire if t > HOST_MTU]
    assert not too_big, "on the wire, larger than the link: %s" % too_big[:5]
    big = [t for t, _, syn in tap if t > HOST_MTU and not syn]
    assert len(big) > 20, "the guest sent %d frames over %d bytes" % (len(big), HOST_MTU)


def test_path_mtu_below_the_link(topology, start):
    """A router on the path whose far link takes 1280 bytes, the remote's
    MSS not giving it away (advmss 1460): merd's 1500-byte pieces draw
    fragmentation needed from the router, merd cuts smaller from then on,
    the guest's TCP sends again what was lost, and 8 MiB arrive intact;
    the guest keeps its MSS (its route to the remote learns no MTU) and
    sends its large frames on."""
    topo = topology(host_mtu=HOST_MTU, router=True)
    topo.router.run("ip link set r1 mtu 1280")
    topo.remote.run("ip link set x0 mtu 1280")
    topo.remote.run("ip route replace default via %s dev x0 advmss 1460" % ROUTER_FAR)
    m = start("-m", str(GUEST_MTU), "--tso", "--trace", topo=topo)
    w = Wire(topo, [m.guest], also=[(topo.guest, m.guest.ifname, BIG4)], snaplen=96)
    try:
        src, dst = upload(topo, topo.guest, 8 * MIB, 5103, addr=ROUTED_REMOTE)
        assert sha256_file(dst) == sha256_file(src), "the upload differs"
        tap = tcp_lengths(w.packets(2))
    finally:
        w.kill()
    assert m.wait_log(r"path MTU 1280: merd cuts segments to 1240")
    out = topo.guest.run(["ip", "route", "get", ROUTED_REMOTE]).stdout
    assert "mtu" not in out, out
    big = [t for t, _, syn in tap if t > HOST_MTU and not syn]
    assert len(big) > 20, "the guest sent %d frames over %d bytes" % (len(big), HOST_MTU)
