# SPDX-License-Identifier: GPL-2.0-or-later
"""Host discovery over netlink with routing tables and address lists large
enough that every dump takes many reads, and while they keep changing."""

import os
import re
import subprocess

import netns
from merdtest import MERD, Merd
from netns import log

GUEST_LINE = "guest gets 10.42.0.2/24, gateway 10.42.0.1, MTU 1400"


def batch(ns, lines):
    """Apply many `ip` commands at once (ip -batch)."""
    path = os.path.join(ns.topo.tmp, "batch-%s" % ns.role)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    ns.run(["ip", "-batch", path], timeout=120)


def ifindex(ns, ifname):
    return int(ns.run(["cat", "/sys/class/net/%s/ifindex" % ifname]).stdout)


def test_multipart_dumps(topo):
    """3000 addresses on other interfaces, listed before h0's (on lo, whose
    index is lower: the kernel dumps addresses in interface order) and
    after them (on d0), and 3000 routes: the dumps span dozens of reads, and
    h0's address comes in the middle of them."""
    topo.host.run("ip link add d0 type veth peer name d1 && ip link set d1 up && ip link set d0 up")
    assert ifindex(topo.host, "lo") < ifindex(topo.host, "h0") < ifindex(topo.host, "d0")
    batch(topo.host, ["addr add 10.50.%d.%d/32 dev lo" % (i // 250, i % 250 + 1)
                      for i in range(1500)] +
          ["addr add 10.51.%d.%d/32 dev d0" % (i // 250, i % 250 + 1)
           for i in range(1500)] +
          ["route add 10.60.%d.%d/32 dev d0" % (i // 250, i % 250 + 1)
           for i in range(3000)])
    dump = topo.host.run("ip -4 -o addr show").stdout.splitlines()
    where = [i for i, line in enumerate(dump) if " h0 " in line]
    assert where and 1000 < where[0] < len(dump) - 1000, "h0 isn't in the middle of the dump"
    # A secondary address on h0 must not be taken for the primary one
    topo.host.run("ip addr add 10.42.0.77/24 dev h0")
    m = Merd(topo.host, sock=topo.sock)
    log = m.stop()
    assert GUEST_LINE in log


def test_address_in_gateway_subnet_preferred(topo):
    """Several addresses on the uplink: the one whose subnet holds the
    gateway is the guest's."""
    topo.host.run("ip addr del %s/24 dev h0" % netns.HOST_ADDR)
    topo.host.run("ip addr add 172.16.5.5/16 dev h0")
    topo.host.run("ip addr add %s/24 dev h0" % netns.HOST_ADDR)
    topo.host.run("ip route add default via %s" % netns.GATEWAY)
    m = Merd(topo.host, sock=topo.sock)
    assert GUEST_LINE in m.stop()


def test_dumps_while_routes_change(topo):
    """Routes added and removed all the time while merd starts: a dump the
    kernel interrupts is started again, and the answer is always right. The
    churn runs until told to stop (at most 100,000 changes), and must still
    be running after every start, so that each one overlapped it."""
    topo.host.run("ip link add d0 type veth peer name d1 && ip link set d1 up && ip link set d0 up")
    batch(topo.host, ["route add 10.70.%d.%d/32 dev d0" % (i // 250, i % 250 + 1)
                      for i in range(2000)])
    stop = os.path.join(topo.tmp, "churn.stop")
    script = ("i=0; while [ ! -e %s ] && [ $i -lt 50000 ]; do i=$((i + 1)); "
              "ip route add 10.80.0.$((i %% 250 + 1))/32 dev d0 2>/dev/null; "
              "ip route del 10.80.0.$((i %% 250 + 1))/32 dev d0; done; echo $i" % stop)
    churn = topo.host.popen(["sh", "-c", script], stdout=subprocess.PIPE,
                            universal_newlines=True)
    try:
        for i in range(10):
            p = topo.host.run([MERD, "-f", "-s", topo.sock, "--version"], check=False)
            assert p.returncode == 0
            m = Merd(topo.host, sock=topo.sock)
            assert GUEST_LINE in m.stop()
            assert churn.poll() is None, "the churn had ended before start %d" % (i + 1)
    finally:
        open(stop, "w").close()
        out, _ = churn.communicate(timeout=30)
    log("%s route changes, each an add and a delete, during the starts" % out.strip())


def test_multipath_default_route(topo):
    topo.host.run("ip route del default")
    topo.host.run("ip route add default nexthop via %s dev h0 weight 1" % netns.GATEWAY)
    m = Merd(topo.host, sock=topo.sock)
    assert GUEST_LINE in m.stop()


def test_interface_without_route_waits_or_takes_options(topo):
    """-i names an interface with no default route: merd waits for one
    there (-g alone changes nothing: the address would still be missing);
    with --address and --gateway it serves at once."""
    topo.host.run("ip link add h9 type veth peer name r9 netns %s" % topo.remote.name)
    topo.host.run("ip link set h9 up")
    waiting = "merd: no default IPv4 or IPv6 route via h9 yet: waiting for one " \
        "(or give --gateway and --address)"
    for extra in ([], ["-g", "10.9.0.1"]):
        m = Merd(topo.host, sock=topo.sock, args=["-i", "h9"] + extra)
        log = m.stop()
        assert waiting in log.splitlines(), log
        assert "guest gets" not in log
    m = Merd(topo.host, sock=topo.sock, args=["-i", "h9", "-g", "10.9.0.1",
                                               "-a", "10.9.0.2", "-n", "24"])
    log = m.stop()
    assert "guest gets 10.9.0.2/24, gateway 10.9.0.1, MTU 1500" in log
    mac = topo.host.link_mac("h9")
    assert re.search("MAC on the guest's link: " + mac, log)
