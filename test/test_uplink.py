# SPDX-License-Identifier: GPL-2.0-or-later
"""GSO on the uplink (uplink.c, neigh.c): the guest's TCP segments whose
next hop is on the host's uplink leave as Ethernet frames on a packet
socket there, a flow's consecutive segments joined into one GSO packet the
host's link cuts again; everything else, and everything while the host
tracks connections, through the host's IP output (raw sockets) as before.

What a user sees, checked here: uploads arrive intact over both families
with the path in use (SIGUSR1's summary counts the GSO packets and the
segments they carried), the wire carries nothing larger than its MTU (the
host's end of the link cuts GSO packets in software, as a network card
would: wire.cut_on_host()), and the host's stack never speaks for the
guest (Wire.assert_clean()); --no-gso sends nothing that way; a host whose
firewall tracks connections (nftables, 'ct state invalid drop') gets every
packet through its IP output and its firewall drops none of the peer's
answers, where frames forced onto the uplink (--gso) are dropped as
invalid; a firewall that starts tracking while merd runs is followed; a
next hop that moves to another MAC is followed through the kernel's
neighbour table; a destination routed through another interface goes
through the host's IP output.
"""

import re
import subprocess

import pytest

from merdtest import ready6
from netns import REMOTE_ADDR, ROUTER6
from peers import MIB, sha256_file, upload
from wire import Wire, cut_on_host

HOST_MTU = 1500
# Frames longer than the link's MTU and its Ethernet header
TOO_BIG = "greater %d" % (HOST_MTU + 14 + 1)

# A firewall that tracks connections and drops what it finds invalid, as
# firewalld's does
NFT_TRACKING = """table inet merdtest {
	chain input {
		type filter hook input priority 0; policy accept;
		ct state invalid counter drop
	}
}
"""


def nft_tracking(topo):
    """Put NFT_TRACKING on the host namespace."""
    topo.host.run(["nft", "-f", "-"], input=NFT_TRACKING)


def nft_invalid(topo):
    """Packets the host's firewall dropped as invalid."""
    out = topo.host.run(["nft", "list", "chain", "inet", "merdtest", "input"]).stdout
    return int(re.search(r"ct state invalid counter packets (\d+)", out).group(1))


def upload_ok(topo, guest, size, port, family=4, addr=REMOTE_ADDR):
    src, dst = upload(topo, guest, size, port, family=family, addr=addr)
    assert sha256_file(dst) == sha256_file(src), "the upload differs"


def path_in_use(m, topo, family=4):
    """A first flow through the host's IP output, and merd's next look at
    the host's connection count finding it untracked: the path is in use
    from then on (uplink_timer())."""
    upload_ok(topo, topo.guest, 64 * 1024, 5200, family)
    m.wait_log(r"the host tracks no connections: guest packets leave as frames on h0")


@pytest.mark.parametrize("family", [4, 6])
def test_upload_joined(topology, start, family):
    """16 MiB (4 over IPv6) from the guest at MTU 1500 arrive intact, most
    of them in GSO packets of several segments each; the wire carries
    nothing over its MTU, and the host's stack sends no reset."""
    topo = topology(host_mtu=HOST_MTU, ipv6=family == 6)
    cut_on_host(topo)
    m = start(topo=topo)
    if family == 6:
        ready6(m.guest, ROUTER6)
    path_in_use(m, topo, family)
    flt = Wire.WIRE_FILTER6 if family == 6 else Wire.WIRE_FILTER
    w = Wire(topo, [m.guest], wire_filter="%s or %s" % (flt, TOO_BIG), snaplen=96,
             family=family)
    try:
        upload_ok(topo, topo.guest, (4 if family == 6 else 16) * MIB, 5201, family)
        pkts = w.packets(0)
        if family == 6:
            w.assert_clean()
        else:
            w.assert_clean({(REMOTE_ADDR, 5201): 1})
    finally:
        w.kill()
    u = m.uplink()
    assert u and u["use"], "the uplink's path isn't in use: %s" % u
    assert u["gso"] > 100, "only %d GSO packets" % u["gso"]
    assert u["segs"] > 2 * u["gso"], "GSO packets of %.1f segments" % (u["segs"] / u["gso"])
    big = [len(p) for p in pkts if len(p) > HOST_MTU + 14]
    assert pkts and not big, "on the wire, larger than the link: %s" % big[:5]


def test_no_gso(topology, start):
    """--no-gso: nothing leaves as frames, and the summary has no line for
    it; the upload arrives all the same."""
    topo = topology(host_mtu=HOST_MTU)
    m = start("--no-gso", topo=topo)
    upload_ok(topo, topo.guest, 4 * MIB, 5202)
    assert m.uplink() is None


def test_tracking_host(topology, start):
    """A host whose firewall tracks connections and drops what is invalid:
    every packet goes through its IP output, its firewall drops none, the
    upload arrives; with frames forced onto the uplink (--gso) the
    firewall drops the peer's answers as invalid, which is why."""
    topo = topology(host_mtu=HOST_MTU)
    nft_tracking(topo)
    m = start(topo=topo)
    upload_ok(topo, topo.guest, 8 * MIB, 5203)
    u = m.uplink()
    assert u == {"frames": 0, "gso": 0, "segs": 0, "use": False}, u
    assert nft_invalid(topo) == 0
    m.stop()
    m.guest.stop()

    forced = start("--gso", topo=topo)
    with pytest.raises((subprocess.TimeoutExpired, subprocess.CalledProcessError,
                        AssertionError)):
        upload(topo, topo.guest, 4 * MIB, 5204, timeout=8)
    assert nft_invalid(topo) > 0
    assert forced.uplink()["frames"] > 0


def test_tracking_starts(topology, start):
    """The host's firewall starts tracking while the path is in use: merd
    says so within seconds of the next flow's SYN, sends through the IP
    output from then on, and that upload arrives too."""
    topo = topology(host_mtu=HOST_MTU)
    m = start(topo=topo)
    path_in_use(m, topo)
    upload_ok(topo, topo.guest, 4 * MIB, 5205)
    before = m.uplink()
    assert before["use"] and before["gso"] > 0, before
    nft_tracking(topo)
    upload_ok(topo, topo.guest, 8 * MIB, 5206)
    m.wait_log(r"the host tracks connections: guest packets leave through its IP output")
    after = m.uplink()
    assert not after["use"]
    upload_ok(topo, topo.guest, 4 * MIB, 5207)
    assert m.uplink()["frames"] == after["frames"]


def test_next_hop_moves(topology, start):
    """The remote's interface (the gateway and the peer) takes another MAC
    and the host's neighbour entry goes: merd's frames follow the kernel's
    new entry, and the next upload, on the path again, arrives."""
    topo = topology(host_mtu=HOST_MTU)
    m = start(topo=topo)
    path_in_use(m, topo)
    upload_ok(topo, topo.guest, 4 * MIB, 5208)
    first = m.uplink()
    assert first["gso"] > 0, first
    topo.remote.run(["ip", "link", "set", "r0", "address", "02:00:5e:10:00:01"])
    topo.host.run(["ip", "neigh", "flush", "dev", "h0"])
    upload_ok(topo, topo.guest, 4 * MIB, 5209)
    second = m.uplink()
    assert second["use"] and second["gso"] > first["gso"], (first, second)
    neigh = topo.host.run(["ip", "neigh", "show", "dev", "h0"]).stdout
    assert "02:00:5e:10:00:01" in neigh, neigh


def test_other_interface(topology, start):
    """A destination the host routes through an interface other than the
    uplink goes through the host's IP output: the upload arrives, and no
    frame leaves on the uplink for it."""
    topo = topology(host_mtu=HOST_MTU)
    topo.host.run(["ip", "link", "add", "h1", "type", "veth", "peer", "name", "s0",
                   "netns", topo.remote.name])
    topo.host.run(["ip", "addr", "add", "10.44.0.1/24", "dev", "h1"])
    topo.host.run(["ip", "link", "set", "h1", "up"])
    topo.remote.run(["ip", "addr", "add", "10.44.0.2/24", "dev", "s0"])
    topo.remote.run(["ip", "link", "set", "s0", "up"])
    m = start(topo=topo)
    path_in_use(m, topo)
    before = m.uplink()
    upload_ok(topo, topo.guest, 4 * MIB, 5210, addr="10.44.0.2")
    u = m.uplink()
    assert u["frames"] == before["frames"] and u["use"], (before, u)
    upload_ok(topo, topo.guest, 2 * MIB, 5211)
    assert m.uplink()["gso"] > 0
