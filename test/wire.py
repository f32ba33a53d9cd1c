# SPDX-License-Identifier: GPL-2.0-or-later
"""wire.py - the one capture helper: tcpdump on the wire and on the guests'
taps, proven to have run and to have missed nothing

A capture that wasn't running, or that dropped packets, can't pass for a
clean one: each tcpdump must say "listening on" before the test goes on, and
its own count of packets dropped by the kernel must be zero when it stops.
Where a test checks that something did NOT arrive, it also sends something
that must arrive after it (a marker), so an empty result means "not sent",
never "not captured".

Wire.assert_clean() checks that the host's stack never spoke for the guest:
a reset from the host's address on the wire is accounted for if one of the
guests sent a reset with the same sequence number to the same peer address
and port (NAT rewrites the guest's port, never its sequence numbers); any
other reset from the host's address came from the host's own stack, which is
what merd's port holders are there to prevent; so does any ICMP destination
unreachable from the host's address but those a guest sent itself (merd
passes on the guest's errors, as a router: matched by destination and code). test_tcp.py's test_wire_check_flags_host_stack shows the check
catching both.

Wire(..., family=6) does the same for IPv6: the host's address is then
HOST_ADDR6, the unreachable ICMPv6's type 1, and the filters read the TCP
flags at the fixed header's offset (libpcap can't chase IPv6 extension
headers; merd sends none). test_ipv6_fwd.py's test_wire6_check_flags_host_stack
shows that check catching both too.
"""

import os
import re
import signal
import subprocess
import time

from netns import HOST_ADDR, HOST_ADDR6, log, wait_for


def cut_on_host(topo, ifname="h0"):
    """Make the host's end of its link cut GSO packets itself, as a network
    card's segmentation offload does before the wire. A veth otherwise
    hands them to its peer whole, and a capture there would see 64 KiB
    "packets" that no wire carries (merd sends GSO packets on the uplink,
    uplink.c): with this, r0 sees the segments a real wire would."""
    topo.host.run(["ethtool", "-K", ifname, "tso", "off", "gso", "off"])


class Wire:
    """Captures: the wire (the remote's or router's end of the host's veth,
    r0), each guest's tap, and any further (ns, interface, filter) in also.

    By default only what the host-stack check needs is captured (SYNs,
    FINs, resets, ICMP), headers only, so that nothing is dropped even
    during bulk transfers; wire_filter and snaplen widen it (snaplen 0:
    whole packets, for packets()).
    """

    WIRE_FILTER = "(tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0) or icmp"
    TAP_FILTER = "(tcp[tcpflags] & (tcp-syn|tcp-rst) != 0) or icmp"
    # IPv6, next header TCP (6) at once: its flags are byte 13 of the TCP
    # header, 40 + 13 into the packet (FIN 1, SYN 2, RST 4); or ICMPv6 (58)
    WIRE_FILTER6 = "(ip6[6] == 6 and ip6[53] & 0x07 != 0) or (ip6[6] == 58)"
    TAP_FILTER6 = "(ip6[6] == 6 and ip6[53] & 0x06 != 0) or (ip6[6] == 58)"

    def __init__(self, topo, guests=(), wire_filter=None, snaplen=256, also=(), family=4):
        self.topo = topo
        self.caps = []
        self.stopped = False
        self.family = family
        self.host_addr = HOST_ADDR6 if family == 6 else HOST_ADDR
        if wire_filter is None:
            wire_filter = self.WIRE_FILTER6 if family == 6 else self.WIRE_FILTER
        tap_filter = self.TAP_FILTER6 if family == 6 else self.TAP_FILTER
        self._start(topo.remote if not topo.router else topo.router, "r0", wire_filter,
                    snaplen, "wire")
        self.ntaps = len(guests)
        for i, g in enumerate(guests):
            self._start(g.ns, g.ifname, tap_filter, 256, "tap-%d" % i)
        for i, (ns, ifname, flt) in enumerate(also):
            self._start(ns, ifname, flt, snaplen, "also-%d" % i)

    def _start(self, ns, ifname, flt, snaplen, name):
        path = os.path.join(self.topo.tmp, "%s-%d.pcap" % (name, time.monotonic_ns()))
        errpath = path + ".err"
        # --immediate-mode: otherwise the last packets can wait in a ring
        # block tcpdump never reads before it is told to stop. A short
        # snapshot length lets the 8 MiB ring hold thousands of packets.
        with open(errpath, "w") as err:
            p = ns.popen(["tcpdump", "-n", "--immediate-mode", "-U", "-B", "8192",
                          "-s", str(snaplen), "-i", ifname, "-w", path, flt],
                         stdout=subprocess.DEVNULL, stderr=err)
        wait_for(lambda: p.poll() is not None or "listening on" in open(errpath).read(),
                 10, "tcpdump on %s in %s" % (ifname, ns.role))
        assert p.poll() is None, open(errpath).read()
        self.caps.append((p, path, errpath))

    def stop(self, settle=1.0):
        """Stop capturing, after settle seconds for late packets; every
        capture must report that the kernel dropped nothing."""
        if self.stopped:
            return
        self.stopped = True
        time.sleep(settle)
        for p, _, _ in self.caps:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p, _, errpath in self.caps:
            p.wait(timeout=10)
            err = open(errpath).read()
            m = re.search(r"(\d+) packets? dropped by kernel", err)
            assert m, "no tcpdump statistics: " + err
            assert int(m.group(1)) == 0, "capture dropped packets: " + err

    def kill(self):
        """Teardown: end captures a failed test left running."""
        for p, _, _ in self.caps:
            if p.poll() is None:
                p.kill()

    def packets(self, which=0, settle=0.5):
        """Whole packets of capture which (0: the wire; 1...: the taps, then
        also), as scapy reads them, after stop()."""
        from scapy.all import rdpcap
        self.stop(settle)
        return list(rdpcap(self.caps[which][1]))

    # IPv6's fields, read into the IPv4 names above
    FIELDS6 = {"ipv6.src": "ip.src", "ipv6.dst": "ip.dst", "icmpv6.type": "icmp.type",
               "icmpv6.code": "icmp.code"}

    @staticmethod
    def read(paths):
        """The packets of each capture as dicts, outer headers only (tshark,
        one per file, all at once); IPv6's under the names of IPv4's fields
        (ip.src is an IPv6 packet's source, icmp.type its ICMPv6 type)."""
        fields = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
                  "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
                  "icmp.type", "icmp.code", "frame.time_epoch"] + list(Wire.FIELDS6)
        procs = []
        for path in paths:
            cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t",
                   "-E", "occurrence=f"]
            for f in fields:
                cmd += ["-e", f]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, universal_newlines=True))
        caps = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, "tshark: " + err
            pkts = []
            for line in out.splitlines():
                p = dict(zip(fields, line.split("\t")))
                for f6, f4 in Wire.FIELDS6.items():
                    if p.get(f6):
                        p[f4] = p[f6]
                    p.pop(f6, None)
                pkts.append(p)
            caps.append(pkts)
        return caps

    @staticmethod
    def flag(v):
        return v in ("1", "True")

    @staticmethod
    def show(pkts):
        """Packets in one line each, for assertion messages."""
        return "\n".join("%s:%s > %s:%s seq %s icmp %s/%s at %s" % (
            p["ip.src"], p["tcp.srcport"], p["ip.dst"], p["tcp.dstport"], p["tcp.seq_raw"],
            p["icmp.type"], p["icmp.code"], p["frame.time_epoch"]) for p in pkts[:10])

    def analyse(self):
        """What the wire shows of the host's address: SYNs, peers' FINs,
        resets (matched to one a guest sent, or not) and ICMP unreachable."""
        caps = self.read([path for _, path, _ in self.caps[:1 + self.ntaps]])
        wire = caps[0]
        taps = [p for cap in caps[1:] for p in cap]

        host = self.host_addr
        unreach = "1" if self.family == 6 else "3"
        # A guest's reset on its tap: from the host's address (IPv4), from
        # any of its own (IPv6: SLAAC, DHCPv6, whatever it chose). A reset
        # toward the guest never matches: its destination is the guest's
        guest_rsts = set()
        guest_unreach = {}
        for p in taps:
            if self.family == 4 and p["ip.src"] != host:
                continue
            if p["icmp.type"] == unreach:
                key = (p["ip.dst"], p["icmp.code"])
                guest_unreach[key] = guest_unreach.get(key, 0) + 1
            elif self.flag(p["tcp.flags.reset"]):
                guest_rsts.add((p["ip.dst"], p["tcp.dstport"], p["tcp.seq_raw"]))

        # syns: (host port, peer, peer port, time) of every connection
        # opened from the host's address; fins: (peer, peer port, time) of
        # every FIN from a peer
        r = {"syns": [], "fins": [], "rsts": [], "matched": [], "unmatched": [],
             "unreach": []}
        for p in wire:
            tcp = p["tcp.seq_raw"] != "" and p["icmp.type"] == ""
            if tcp and p["ip.dst"] == host and self.flag(p["tcp.flags.fin"]):
                r["fins"].append((p["ip.src"], int(p["tcp.srcport"]),
                                  float(p["frame.time_epoch"])))
            if p["ip.src"] != host:
                continue
            if p["icmp.type"] == unreach:
                key = (p["ip.dst"], p["icmp.code"])
                if guest_unreach.get(key):
                    guest_unreach[key] -= 1	# the guest's, passed on
                else:
                    r["unreach"].append(p)
            if not tcp:
                continue
            if self.flag(p["tcp.flags.syn"]) and not self.flag(p["tcp.flags.ack"]):
                r["syns"].append((int(p["tcp.srcport"]), p["ip.dst"], int(p["tcp.dstport"]),
                                  float(p["frame.time_epoch"])))
            if self.flag(p["tcp.flags.reset"]):
                r["rsts"].append(p)
                key = (p["ip.dst"], p["tcp.dstport"], p["tcp.seq_raw"])
                r["matched" if key in guest_rsts else "unmatched"].append(p)
        log("wire: %d SYNs, %d resets from %s (%d the guest's), %d unreachable"
            % (len(r["syns"]), len(r["rsts"]), host, len(r["matched"]),
               len(r["unreach"])))
        return r

    def assert_clean(self, syns_to=None):
        """Stop, then: no reset the guest didn't send, no ICMP unreachable.

        syns_to: {(peer address, port): least number of connections} the
        test opened: the capture must have seen their SYNs.
        """
        self.stop()
        r = self.analyse()
        assert not r["unmatched"], "%d resets from the host's stack on the wire:\n%s" % (
            len(r["unmatched"]), self.show(r["unmatched"]))
        assert not r["unreach"], "%d ICMP unreachable from the host on the wire:\n%s" % (
            len(r["unreach"]), self.show(r["unreach"]))
        for (addr, port), least in (syns_to or {}).items():
            n = len({s for s in r["syns"] if s[1] == addr and s[2] == port})
            assert n >= least, "capture saw %d connections to %s:%d, the test made %d" % (
                n, addr, port, least)
        return r
