# SPDX-License-Identifier: GPL-2.0-or-later
"""End to end: real qemu (TCG) boots Debian's cloud kernel with a busybox
initramfs (test/guest/mkguest.sh); the guest's udhcpc gets the host's
identity through -netdev stream, and through qrap with -netdev socket. On a
dual-stack host, the guest's kernel also autoconfigures IPv6 from merd's
router advertisements through -netdev stream."""

import ipaddress
import os
import re

import pytest

import netns
from merdtest import QRAP, TEST
from qemu_guest import boot, ensure_guest, qemu_argv

CACHE = os.environ.get("MERD_GUEST_CACHE", os.path.join(TEST, "guest", "cache"))

# Runs in the guest after DHCP: resolve the gateway by ARP, show the result
SCRIPT = """
gw=$(ip -4 route show default | sed -n 's/default via \\([^ ]*\\).*/\\1/p')
echo "MERD-GW $gw"
arping -c 1 -w 3 -I eth0 "$gw" | sed -n 's/.*reply from [^ ]* \\[\\(.*\\)\\].*/MERD-ARP \\1/p'
echo "MERD-ADDR $(ip -4 -o addr show dev eth0 | sed -n 's/.* inet \\([^ ]*\\) .*/\\1/p')"
echo "MERD-MTU $(cat /sys/class/net/eth0/mtu)"
sed -n 's/^\\(nameserver\\|search\\) /MERD-RESOLV \\1 /p' /etc/resolv.conf
"""

# The same, and what IPv6 the kernel took from merd's RAs (merd.ipv6=1: /init
# waits for the SLAAC address first)
SCRIPT6 = SCRIPT + """
ip -6 route show default | sed 's/^/MERD-ROUTE6 /'
echo "MERD-MTU6 $(cat /proc/sys/net/ipv6/conf/eth0/mtu)"
"""


@pytest.fixture(scope="module")
def guest_image():
    return ensure_guest(CACHE)


def check_guest(res, topo):
    """What a user of the VM sees: the host's identity, the gateway resolved."""
    assert res.done, res.console[-3000:]
    assert res.dhcp_ok, res.console[-3000:]
    lease = res.lease
    assert lease["ip"] == netns.HOST_ADDR
    assert lease["mask"] == str(netns.HOST_PREFIX)
    assert lease["router"] == netns.GATEWAY
    assert lease["dns"].split() == netns.HOST_DNS
    assert lease["search"].split() == netns.HOST_SEARCH
    assert lease["mtu"] == str(netns.HOST_MTU)
    c = res.console
    assert re.search(r"MERD-ADDR %s/%d" % (netns.HOST_ADDR, netns.HOST_PREFIX), c)
    assert "MERD-MTU %d" % netns.HOST_MTU in c
    assert "MERD-GW %s" % netns.GATEWAY in c
    assert re.search(r"MERD-ARP %s" % topo.host_mac, c, re.I), c[-2000:]
    assert "MERD-RESOLV search %s" % " ".join(netns.HOST_SEARCH) in c
    for d in netns.HOST_DNS:
        assert "MERD-RESOLV nameserver %s" % d in c


def run_in(ns, argv):
    """Run a qemu command line inside a namespace (kept off the host's links)."""
    return ns.cmd(argv)


def test_stream_netdev(topo6, start, guest_image):
    """On a dual-stack host: the IPv4 identity by DHCP, and IPv6 by SLAAC,
    an address in the host's prefix, the default route through merd's
    router address, the link's MTU."""
    merd = start(topo=topo6, guest=False)
    kernel, initrd = guest_image
    argv = qemu_argv(kernel, initrd, ["-netdev", "stream,id=n0,server=off,"
                                      "addr.type=unix,addr.path=" + merd.sock],
                     script=SCRIPT6, cmdline_extra="merd.ipv6=1")
    res = boot(kernel, initrd, argv=run_in(topo6.guest, argv), timeout=120,
               log_path=os.path.join(topo6.tmp, "console.log"))
    check_guest(res, topo6)
    assert res.slaac_ok, res.console[-3000:]
    addr = ipaddress.ip_interface(res.slaac)
    assert addr.network == ipaddress.ip_network("%s/%d" % (netns.HOST_NET6,
                                                           netns.HOST_PREFIX6)), res.slaac
    assert re.search(r"MERD-ROUTE6 default via %s dev eth0" % re.escape(netns.ROUTER6),
                     res.console), res.console[-2000:]
    assert "MERD-MTU6 %d" % netns.HOST_MTU in res.console
    merd.wait_log("guest disconnected")


def without_nic(argv):
    """qemu_argv() without its -device for netdev n0, for qrap to add its own."""
    i = next(i for i, a in enumerate(argv) if a.startswith("virtio-net-pci,netdev=n0"))
    return argv[:i - 1] + argv[i + 1:]


def test_qrap_adds_netdev(topo, merd, guest_image):
    kernel, initrd = guest_image
    argv = without_nic(qemu_argv(kernel, initrd, [], script=SCRIPT))
    res = boot(kernel, initrd, argv=run_in(topo.guest, [QRAP, "-s", merd.sock, "5"] + argv),
               timeout=120)
    check_guest(res, topo)


def test_qrap_with_explicit_socket_netdev(topo, merd, guest_image):
    kernel, initrd = guest_image
    argv = qemu_argv(kernel, initrd, ["-netdev", "socket,id=n0,fd=7"], script=SCRIPT)
    res = boot(kernel, initrd, argv=run_in(topo.guest, [QRAP, "-s", merd.sock, "7"] + argv),
               timeout=120)
    check_guest(res, topo)
