# SPDX-License-Identifier: GPL-2.0-or-later
"""merdtest.py - run merd, the pump and real DHCP clients inside a Topology

Merd starts the daemon in the host namespace and checks, when stopped, that it
exited cleanly and that the sanitisers reported nothing. It runs merd in one
of two modes: "root", with every privilege, or "caps", as an unprivileged
user (nobody) holding exactly the capabilities README.md names (CAPS), as
ambient capabilities. Guest connects the guest namespace's tap device to
merd's socket through test/pump. udhcpc() and dhclient() run the real clients
in the guest namespace and return what they were given. fd_count(), rss_kib()
and held_ports() read what a process holds, as a user would with ls and ss.
"""

import ipaddress
import os
import re
import signal
import subprocess
import time

from netns import HOST_NET6, log, readline_within, wait_for

TEST = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(TEST)
# The integration tests run the sanitiser build unless told otherwise
MERD = os.environ.get("MERD", os.path.join(TEST, "merd-san"))
QRAP = os.environ.get("QRAP", os.path.join(TOP, "qrap"))
PUMP = os.path.join(TEST, "pump")
UDHCPC_SCRIPT = os.path.join(TEST, "guest", "udhcpc.script")
DHCLIENT_SCRIPT = os.path.join(TEST, "dhclient-script")
DHCLIENT_CONF = os.path.join(TEST, "dhclient.conf")
DHCLIENT6_CONF = os.path.join(TEST, "dhclient6.conf")

# The capabilities README.md says merd needs (CAP_NET_BIND_SERVICE only for
# ports below 1024, which no test uses), as setpriv(1) names them
CAPS = ("net_raw",)
# Whom a "caps" merd runs as
NOBODY = 65534

SANITIZER_RE = re.compile(r"(AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|"
                          r"LeakSanitizer)")


def unprivileged(argv, caps=CAPS):
    """argv run as nobody with exactly caps (setpriv names), nothing else:
    as ambient capabilities, the bounding set cut to them too."""
    keep = "".join(",+" + c for c in caps)
    return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
            "--inh-caps=-all" + keep, "--ambient-caps=-all" + keep,
            "--bounding-set=-all" + keep, "--"] + list(argv)


class Merd:
    """merd in the foreground in a namespace, its stderr in a log file.

    mode "root" runs it with every privilege; "caps" as nobody with only the
    capabilities README.md names (caps= overrides them, for tests of fewer).
    """

    def __init__(self, ns, args=(), sock=None, binary=None, wait=True, env=None,
                 mode="root", caps=CAPS):
        self.ns = ns
        self.sock = sock
        self.mode = mode
        self.logpath = os.path.join(ns.topo.tmp, "merd-%d.log" % time.monotonic_ns())
        argv = [binary or MERD, "-f"]
        if sock:
            argv += ["-s", sock]
        argv += list(args)
        if mode == "caps":
            argv = unprivileged(argv, caps)
        elif mode != "root":
            raise ValueError("unknown merd mode %r" % mode)
        self.argv = argv
        self.logf = open(self.logpath, "w")
        e = dict(os.environ)
        # Abort on the first error. No leak check at exit: LeakSanitizer
        # can't trace merd inside its sandbox (isolation.c); the unit tests
        # and the fuzzers check for leaks
        e.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0:exitcode=99")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=98")
        if env:
            e.update(env)
        self.proc = ns.popen(argv, stdout=self.logf, stderr=subprocess.STDOUT, env=e)
        if wait:
            self.wait_listening()

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def wait_listening(self, timeout=10):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("merd exited with %s:\n%s" % (self.proc.returncode,
                                                                  self.log()))
            m = re.search(r"listening on (\S+)", self.log())
            return m and m.group(1)
        path = wait_for(ready, timeout, "merd to listen")
        if not self.sock:
            self.sock = path
        return path

    def alive(self):
        return self.proc.poll() is None

    def status(self):
        """/proc/PID/status as a dict: what the kernel says merd runs as."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)

    def fds(self):
        return fd_count(self.proc.pid)

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def held(self, proto="t"):
        """Ports merd holds in its namespace, as ss shows them: TCP listeners
        (proto "t") or bound UDP sockets ("u")."""
        return held_ports(self.ns, proto).get(self.proc.pid, set())

    def wait_log(self, pattern, timeout=10):
        return wait_for(lambda: re.search(pattern, self.log()), timeout,
                        "merd log line /%s/" % pattern)

    def drops(self, timeout=10):
        """merd's drop counters by reason, from a new SIGUSR1 summary."""
        before = len(re.findall(r"drops: ", self.log()))
        self.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: len(re.findall(r"drops: ", self.log())) > before, timeout,
                 "merd's drops line")
        line = re.findall(r"drops: .*", self.log())[-1]
        return dict((k, int(v)) for k, v in re.findall(r"([a-z-]+) (\d+)", line))

    def uplink(self, timeout=10):
        """What merd sent as frames on the uplink (uplink.c), from a new
        SIGUSR1 summary: frames, gso (packets joined), segs (the segments
        those carried), use (in use now); None without the line
        (--no-gso)."""
        before = len(re.findall(r"drops: ", self.log()))
        self.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: len(re.findall(r"drops: ", self.log())) > before, timeout,
                 "merd's summary")
        pattern = (r"uplink: (\d+) frames sent on \S+, (\d+) of them GSO packets of "
                   r"(\d+) segments; (in use|not in use)")
        deadline = time.monotonic() + 1     # the line after drops, if any
        while True:
            m = re.search(pattern, self.log().rsplit("drops: ", 1)[1])
            if m or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        if not m:
            return None
        return {"frames": int(m.group(1)), "gso": int(m.group(2)),
                "segs": int(m.group(3)), "use": m.group(4) == "in use"}

    def exit_status(self, timeout=10):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, expect_clean=True):
        """SIGTERM; check a clean exit and a silent sanitiser. Returns the log."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("merd ignored SIGTERM:\n" + self.log())
        self.logf.close()
        text = self.log()
        assert not SANITIZER_RE.search(text), "sanitiser report:\n" + text
        if expect_clean:
            assert self.proc.returncode == 0, "merd exit %s:\n%s" % (self.proc.returncode,
                                                                    text)
        return text


class Guest:
    """The guest namespace's tap0 bridged to merd's socket by test/pump."""

    def __init__(self, ns, sock, ifname="tap0"):
        self.ns = ns
        self.ifname = ifname
        self.proc = ns.popen([PUMP, ifname, sock], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        line = readline_within(self.proc.stdout, 10, "the pump to connect to " + sock)
        if line.strip() != "ready":
            self.proc.kill()
            raise AssertionError("pump failed: %r %s" % (line, self.proc.stderr.read()))
        # The tap driver drops frames past its queue instead of making the
        # sender wait: a long queue absorbs the guest's bursts
        ns.run("ip link set %s txqueuelen 10000 up" % ifname)
        self.mac = ns.link_mac(ifname)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)

    def addr(self):
        """The guest's IPv4 addresses on its tap, as "a.b.c.d/len" strings."""
        out = self.ns.run("ip -4 -o addr show dev %s" % self.ifname).stdout
        return re.findall(r"inet (\S+)", out)

    def default_route(self):
        out = self.ns.run("ip -4 route show default").stdout
        m = re.search(r"default via (\S+) dev (\S+)", out)
        return m and m.group(1)

    def mtu(self):
        return int(self.ns.run(["cat", "/sys/class/net/%s/mtu" % self.ifname]).stdout)

    def addrs6(self, ifname=None):
        """The IPv6 addresses of the tap (or ifname), as the kernel shows
        them: [{"addr", "len", "scope", "flags": set()}] (flags: tentative,
        dadfailed, dynamic, mngtmpaddr, ...)."""
        out = self.ns.run("ip -6 -o addr show dev %s" % (ifname or self.ifname)).stdout
        res = []
        for m in re.finditer(r"inet6 (\S+)/(\d+) (?:peer \S+ )?scope (\S+) ([^\\]*)", out):
            res.append({"addr": m.group(1), "len": int(m.group(2)), "scope": m.group(3),
                        "flags": set(m.group(4).split())})
        return res

    def global6(self):
        """The tap's global IPv6 addresses, done with DAD, as "addr/len"."""
        return ["%s/%d" % (a["addr"], a["len"]) for a in self.addrs6()
                if a["scope"] == "global" and not a["flags"] & {"tentative", "dadfailed"}]

    def default_route6(self):
        """(router, device, proto) of the guest's IPv6 default route, or None."""
        out = self.ns.run("ip -6 route show default").stdout
        m = re.search(r"default via (\S+) dev (\S+)(?: proto (\S+))?", out)
        return m and m.groups()

    def wait_link_local(self, timeout=5):
        """Until the tap's link-local address has passed DAD (what a DHCPv6
        client needs to bind to); returns it."""
        def ready():
            ll = [a for a in self.addrs6() if a["scope"] == "link"]
            return ll and not ll[0]["flags"] & {"tentative"} and ll[0]["addr"]
        return wait_for(ready, timeout, "the guest's link-local address", interval=0.1)

    def wait_slaac(self, prefix, plen=64, timeout=8):
        """Until the kernel autoconfigured an address in prefix/plen (from
        an RA) and has done DAD on it; returns it ("addr/len")."""
        net = ipaddress.ip_network("%s/%d" % (prefix, plen))

        def done():
            for a in self.addrs6():
                # (The kernel removes an autoconfigured address that fails
                # DAD; the link-local one stays, flagged)
                if "dadfailed" in a["flags"]:
                    raise AssertionError("the guest's %s/%d failed DAD: something on the "
                                         "link answered for it" % (a["addr"], a["len"]))
                if ipaddress.ip_address(a["addr"]) in net and a["len"] == plen and \
                        "dynamic" in a["flags"] and not a["flags"] & {"tentative"}:
                    return "%s/%d" % (a["addr"], a["len"])
            return None
        return wait_for(done, timeout, "a SLAAC address in %s on the guest" % prefix,
                        interval=0.1)


def ready6(guest, router, timeout=8):
    """Until the guest took merd's RA: a SLAAC address in the host's prefix,
    done with DAD, and a default route through router. Returns the address."""
    addr = guest.wait_slaac(HOST_NET6, timeout=timeout)
    wait_for(lambda: (guest.default_route6() or (None,))[0] == router, timeout,
             "the guest's IPv6 default route via %s" % router, interval=0.1)
    return addr


def fd_count(pid):
    """Descriptors a process has open."""
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    """Resident memory of a process, KiB."""
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def held_ports(ns, proto="t"):
    """{pid: set of ports} of the sockets listening (TCP, proto "t") or bound
    (UDP, "u") in ns, as `ss -lnp` shows them."""
    out = ns.run(["ss", "-H%slnp" % proto]).stdout
    held = {}
    for line in out.splitlines():
        m = re.search(r"\S+:(\d+)\s+\S+\s+users:(.*)", line)
        if m:
            # Every process sharing the socket (a forking server's children)
            for pid in re.findall(r"pid=(\d+)", m.group(2)):
                held.setdefault(int(pid), set()).add(int(m.group(1)))
    return held


def parse_lease_lines(text):
    """MERD-LEASE key=value lines (written by the client scripts) into a dict."""
    lease = {}
    for m in re.finditer(r"MERD-LEASE (\w+)=(.*)", text):
        lease[m.group(1)] = m.group(2).strip()
    return lease


def udhcpc(guest, extra=(), timeout=30):
    """busybox udhcpc once (-q), in the foreground; returns (lease dict, output)."""
    args = ["busybox", "udhcpc", "-i", guest.ifname, "-f", "-q", "-n", "-t", "4", "-T", "1",
            "-O", "search", "-O", "mtu", "-s", UDHCPC_SCRIPT] + list(extra)
    p = guest.ns.run(args, check=False, timeout=timeout)
    out = p.stdout + p.stderr
    log(out)
    assert p.returncode == 0, "udhcpc failed (%d):\n%s" % (p.returncode, out)
    return parse_lease_lines(out), out


def dhclient(guest, extra=(), timeout=40):
    """ISC dhclient, one attempt (-1), with a recording script; returns lease dict.

    dhclient goes to the background once bound; Namespace.close() kills it.
    """
    tmp = guest.ns.topo.tmp
    record = os.path.join(tmp, "dhclient.record")
    if os.path.exists(record):
        os.unlink(record)
    # dhclient runs its script with an environment of its own: pass the
    # record file's path through a wrapper
    wrapper = os.path.join(tmp, "dhclient-script")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nMERD_RECORD=%s exec %s \"$@\"\n" % (record, DHCLIENT_SCRIPT))
    os.chmod(wrapper, 0o755)
    args = ["dhclient", "-1", "-v", "-cf", DHCLIENT_CONF, "-sf", wrapper,
            "-lf", os.path.join(tmp, "dhclient.leases"),
            "-pf", os.path.join(tmp, "dhclient.pid")] + list(extra) + [guest.ifname]
    p = guest.ns.run(args, check=False, timeout=timeout)
    out = p.stdout + p.stderr
    log(out)
    assert p.returncode == 0, "dhclient failed (%d):\n%s" % (p.returncode, out)
    with open(record) as f:
        return parse_lease_lines(f.read()), out


def dhclient6(guest, extra=(), timeout=20, check=True):
    """ISC dhclient -6 (stateful: IA_NA), one attempt (-1), with the
    recording script, after the tap's link-local address is usable.

    Returns (lease dict, output, exit status); with check, a failure fails
    the test. dhclient goes to the background once bound; Namespace.close()
    (or dhclient_stop(guest, 6)) kills it. Bounded by timeout seconds: a
    dhclient still trying then is killed, and that is a failure (status None).
    """
    tmp = guest.ns.topo.tmp
    record = os.path.join(tmp, "dhclient6.record")
    if os.path.exists(record):
        os.unlink(record)
    wrapper = os.path.join(tmp, "dhclient6-script")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nMERD_RECORD=%s exec %s \"$@\"\n" % (record, DHCLIENT_SCRIPT))
    os.chmod(wrapper, 0o755)
    guest.wait_link_local()
    args = ["dhclient", "-6", "-1", "-v", "-cf", DHCLIENT6_CONF, "-sf", wrapper,
            "-lf", os.path.join(tmp, "dhclient6.leases"),
            "-pf", os.path.join(tmp, "dhclient6.pid")] + list(extra) + [guest.ifname]
    try:
        p = guest.ns.run(args, check=False, timeout=timeout)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        text = [x.decode(errors="replace") if isinstance(x, bytes) else (x or "")
                for x in (e.stdout, e.stderr)]
        out = "%s%s\n(killed after %ss)" % (text[0], text[1], timeout)
        rc = None
    log(out)
    if check:
        assert rc == 0, "dhclient -6 failed (%s):\n%s" % (rc, out)
    lease = {}
    if os.path.exists(record):
        with open(record) as f:
            lease = parse_lease_lines(f.read())
    return lease, out, rc


def dhclient_stop(guest, family=4):
    """Stop a dhclient started by dhclient() (or dhclient6(), family 6),
    releasing nothing."""
    pidfile = os.path.join(guest.ns.topo.tmp,
                           "dhclient6.pid" if family == 6 else "dhclient.pid")
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            pid = int(f.read().strip() or 0)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.unlink(pidfile)
