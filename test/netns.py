# SPDX-License-Identifier: GPL-2.0-or-later
"""netns.py - private network namespaces for merd's tests

The topology every integration test starts from:

      guest ns                     host ns                       remote ns
  +--------------+   stream   +------------------+   veth   +------------------+
  | tap0         |<--(pump)-->| merd             |h0 ---- r0| gateway .1       |
  | DHCP client, |   socket   | 10.42.0.2/24     |          | servers .100     |
  | the "guest"  |            | default via .1   |          | 10.42.0.0/24     |
  +--------------+            +------------------+          +------------------+

With router=True a router namespace sits between host and remote:

  host 10.42.0.2/24 -- h0 | r0 10.42.0.1/24  router  10.43.0.1/24 r1 | x0 -- 10.43.0.2/24 remote

With ipv6=True the same links carry IPv6 too (ipv4=False leaves IPv4 out:
an IPv6-only host):

  host 2001:db8:42::2/64 -- h0 | r0 2001:db8:42::1 (gateway), ::100 (remote)
  default via 2001:db8:42::1, or via fe80::42:1 with ll_gateway=True

(the guest's router is merd's fe80::1, or the host's link-local gateway; the
remote's ::1 is deprecated, so that ::100 is the source of its answers), and
with a router, its far side is 2001:db8:43::1, the remote 2001:db8:43::2.
Only the guest namespace does duplicate address detection; every other
address is added "nodad" (quick_guest=True: the guest doesn't either, and
solicits RAs at once, for tests of traffic rather than of the link). The
guest's tap takes router advertisements and autoconfigures from them
(accept_ra 1, autoconf 1, no forwarding).

merd only ever runs in the host namespace. Each namespace gets its own
/etc/netns/NAME/resolv.conf, so that `ip netns exec` never shows a process the
machine's own resolver. Everything created is removed by Topology.close(),
which the fixtures call also when a test fails.
"""

import contextlib
import ctypes
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import time

HOST_ADDR = "10.42.0.2"
HOST_PREFIX = 24
GATEWAY = "10.42.0.1"
REMOTE_ADDR = "10.42.0.100"        # without a router: a second address of the
                                   # remote (the gateway's means the host)
ROUTED_REMOTE = "10.43.0.2"        # with a router
ROUTER_FAR = "10.43.0.1"
HOST_MTU = 1400                    # not 1500, so that a default can't pass for it
HOST_DNS = ["10.42.0.1", "10.42.0.53"]
HOST_SEARCH = ["example.test", "lab.example.test"]

# IPv6 (Topology(ipv6=True)): the same shape as IPv4's
HOST_ADDR6 = "2001:db8:42::2"
HOST_PREFIX6 = 64
HOST_NET6 = "2001:db8:42::"
GATEWAY6 = "2001:db8:42::1"        # the host's global gateway: the guest's
                                   # router is then merd's fe80::1
GATEWAY6_LL = "fe80::42:1"         # the gateway of ll_gateway=True, on r0:
                                   # then the guest's router too
ROUTER6 = "fe80::1"                # the guest's router where the host's
                                   # gateway is global
REMOTE_ADDR6 = "2001:db8:42::100"
ROUTED_REMOTE6 = "2001:db8:43::2"
ROUTER_FAR6 = "2001:db8:43::1"
HOST_DNS6 = ["2001:db8:42::53"]

_counter = [0]
_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def log(msg):
    """Print a command or event; pytest shows it when a test fails."""
    print("[netns] " + msg, flush=True)


def wait_for(pred, timeout, what, interval=0.02):
    """Poll pred() until it returns a true value, for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def listening(ns, port, proto="t", addr=None):
    """True if something in ns listens on TCP (proto "t") or is bound to UDP
    ("u") port, on addr if given."""
    out = ns.run(["ss", "-Hn%sl" % proto], check=False).stdout
    local = r"%s:%d" % (re.escape(addr) if addr else r"\S+", port)
    return re.search(r"\s%s\s" % local, out) is not None


def wait_listening(ns, port, proto="t", addr=None, timeout=10):
    """Until something in ns listens on (TCP) or is bound to (UDP) port."""
    wait_for(lambda: listening(ns, port, proto, addr), timeout,
             "%s port %d%s in %s" % ("TCP" if proto == "t" else "UDP", port,
                                      " on " + addr if addr else "", ns.role),
             interval=0.05)


def readline_within(pipe, timeout, what):
    """One line from a child's pipe, waiting at most timeout seconds.

    Fails with what was being waited for, and whatever partial line came,
    instead of blocking the test run forever on a child that hangs.
    """
    deadline = time.monotonic() + timeout
    fd = pipe.fileno()
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        r, _, _ = select.select([fd], [], [], max(left, 0))
        if not r:
            raise TimeoutError("timed out after %.1fs waiting for %s (got %r)"
                               % (timeout, what, line))
        c = os.read(fd, 1)
        if not c:
            break
        line += c
    return line.decode(errors="replace")


@contextlib.contextmanager
def inside(ns):
    """Sockets opened in this block belong to namespace ns (this thread only)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + ns.name, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET):
            e = ctypes.get_errno()
            raise OSError(e, "setns into %s: %s" % (ns.name, os.strerror(e)))
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET):
                # Carrying on in the wrong namespace would be worse than dying
                os._exit(99)
    finally:
        os.close(own)
        os.close(target)


def sock_in(ns, family=socket.AF_INET, kind=socket.SOCK_STREAM, proto=0):
    """A socket of namespace ns, for the test to play an application there."""
    with inside(ns):
        return socket.socket(family, kind, proto)


class Namespace:
    """One network namespace: run commands in it, and start processes."""

    def __init__(self, topo, role):
        self.topo = topo
        self.role = role
        self.name = "%s-%s" % (topo.prefix, role)
        self.procs = []
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        topo.namespaces.append(self)
        self.etc = "/etc/netns/" + self.name
        os.makedirs(self.etc, exist_ok=True)
        self.write_resolv([], [])
        self.run("ip link set lo up")

    def cmd(self, args):
        """The command line that runs args (list or shell string) in here."""
        if isinstance(args, str):
            args = ["sh", "-c", args]
        return ["ip", "netns", "exec", self.name] + list(args)

    def run(self, args, check=True, timeout=60, **kw):
        """Run a command to completion in here; return CompletedProcess with text."""
        log("%s$ %s" % (self.role, args if isinstance(args, str) else shlex.join(args)))
        p = subprocess.run(self.cmd(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise subprocess.CalledProcessError(p.returncode, p.args, p.stdout, p.stderr)
        return p

    def popen(self, args, **kw):
        """Start a process in here; it is killed by close() if still running."""
        log("%s& %s" % (self.role, args if isinstance(args, str) else shlex.join(args)))
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(self.cmd(args), start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def write_resolv(self, servers, search):
        """Give the namespace its own resolv.conf."""
        with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
            if search:
                f.write("search %s\n" % " ".join(search))
            for s in servers:
                f.write("nameserver %s\n" % s)

    def read_resolv(self):
        with open(os.path.join(self.etc, "resolv.conf")) as f:
            return f.read()

    def link_mac(self, ifname):
        out = self.run(["cat", "/sys/class/net/%s/address" % ifname]).stdout
        return out.strip()

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # Anything else still inside (daemonised DHCP clients) goes too
        pids = subprocess.run(["ip", "netns", "pids", self.name], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True).stdout
        for pid in pids.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
        for f in os.listdir(self.etc) if os.path.isdir(self.etc) else []:
            os.unlink(os.path.join(self.etc, f))
        if os.path.isdir(self.etc):
            os.rmdir(self.etc)


class Topology:
    """guest, host and remote namespaces (and optionally a router) wired up."""

    def __init__(self, router=False, host_mtu=HOST_MTU, ipv6=False, ipv4=True,
                 ll_gateway=False, quick_guest=False):
        _counter[0] += 1
        self.prefix = "merdt%d-%d" % (os.getpid(), _counter[0])
        self.namespaces = []
        self.tmp = "/tmp/%s" % self.prefix
        os.makedirs(self.tmp, exist_ok=True)
        # Like /tmp: a merd run as an unprivileged user makes its socket here
        os.chmod(self.tmp, 0o1777)
        self.router = None
        self.ipv4, self.ipv6 = ipv4, ipv6
        self.quick_guest = quick_guest
        try:
            self._build(router, host_mtu)
            if ipv6:
                self._build6(router, ll_gateway)
        except BaseException:
            self.close()
            raise

    def _build(self, router, host_mtu):
        self.host = Namespace(self, "host")
        self.remote = Namespace(self, "remote")
        self.guest = Namespace(self, "guest")
        self.sock = os.path.join(self.tmp, "merd.socket")

        if router:
            self.router = Namespace(self, "router")
            near, far = self.router, self.router
        else:
            near = far = self.remote
        if self.ipv6:
            # Links made from now on skip duplicate address detection (the
            # guest's tap aside): their link-local addresses work at once.
            # The guest's tap takes RAs and autoconfigures, as a VM's NIC.
            for ns in (self.host, self.remote, near):
                ns.run("sysctl -qw net.ipv6.conf.default.accept_dad=0 "
                       "net.ipv6.conf.all.accept_dad=0")
            self.guest.run("sysctl -qw net.ipv6.conf.all.forwarding=0 "
                           "net.ipv6.conf.default.accept_ra=1 "
                           "net.ipv6.conf.default.autoconf=1 "
                           "net.ipv6.conf.default.accept_dad=%d" % (not self.quick_guest))
            if self.quick_guest:
                # For tests of traffic, not of the link: the guest's
                # addresses are usable at once, and it solicits at once
                self.guest.run("sysctl -qw net.ipv6.conf.all.accept_dad=0 "
                               "net.ipv6.conf.default.router_solicitation_delay=0")

        self.host.run("ip link add h0 type veth peer name r0 netns %s" % near.name)
        self.host.run("ip link set h0 mtu %d up" % host_mtu)
        near.run("ip link set r0 mtu %d up" % host_mtu)
        self.remote_addr = REMOTE_ADDR
        if self.ipv4:
            self.host.run("ip addr add %s/%d dev h0" % (HOST_ADDR, HOST_PREFIX))
            if not router:
                # First, so that it is the source of the remote's answers
                near.run("ip addr add %s/%d dev r0" % (REMOTE_ADDR, HOST_PREFIX))
            near.run("ip addr add %s/%d dev r0" % (GATEWAY, HOST_PREFIX))
            self.host.run("ip route add default via %s" % GATEWAY)
        self.host.write_resolv((HOST_DNS if self.ipv4 else []) +
                               (HOST_DNS6 if self.ipv6 else []), HOST_SEARCH)

        if router:
            far.run("ip link add r1 type veth peer name x0 netns %s" % self.remote.name)
            far.run("ip link set r1 up")
            self.remote.run("ip link set x0 up")
            if self.ipv4:
                far.run("sysctl -qw net.ipv4.ip_forward=1")
                far.run("ip addr add %s/24 dev r1" % ROUTER_FAR)
                self.remote.run("ip addr add %s/24 dev x0" % ROUTED_REMOTE)
                self.remote.run("ip route add default via %s" % ROUTER_FAR)
            self.remote_addr = ROUTED_REMOTE
        self.remote.write_resolv([self.remote_addr] if self.ipv4 else [], [])
        self.guest.write_resolv([], [])
        self.host_mac = self.host.link_mac("h0")

    def _build6(self, router, ll_gateway):
        """IPv6 on the links _build() made."""
        near = self.router or self.remote
        self.host.run("ip -6 addr add %s/%d dev h0 nodad" % (HOST_ADDR6, HOST_PREFIX6))
        if not router:
            near.run("ip -6 addr add %s/%d dev r0 nodad" % (REMOTE_ADDR6, HOST_PREFIX6))
        # Without a router, deprecated (preferred_lft 0): so that the
        # remote's own address is the source of its connections and
        # answers, as with IPv4
        near.run("ip -6 addr add %s/%d dev r0 nodad%s" % (
            GATEWAY6, HOST_PREFIX6, "" if router else " preferred_lft 0"))
        if ll_gateway:
            near.run("ip -6 addr add %s/64 dev r0 nodad" % GATEWAY6_LL)
            self.host.run("ip -6 route add default via %s dev h0" % GATEWAY6_LL)
        else:
            self.host.run("ip -6 route add default via %s dev h0" % GATEWAY6)
        self.gateway6 = GATEWAY6_LL if ll_gateway else GATEWAY6
        # The address the guest is told to route through
        self.router6 = GATEWAY6_LL if ll_gateway else ROUTER6
        self.remote_addr6 = REMOTE_ADDR6
        if router:
            self.router.run("sysctl -qw net.ipv6.conf.all.forwarding=1")
            self.router.run("ip -6 addr add %s/64 dev r1 nodad" % ROUTER_FAR6)
            self.remote.run("ip -6 addr add %s/64 dev x0 nodad" % ROUTED_REMOTE6)
            self.remote.run("ip -6 route add default via %s dev x0" % ROUTER_FAR6)
            self.remote_addr6 = ROUTED_REMOTE6
        if not self.ipv4:
            self.remote.write_resolv([self.remote_addr6], [])

    def close(self):
        for ns in reversed(self.namespaces):
            ns.close()
        self.namespaces = []
        if os.path.isdir(self.tmp):
            subprocess.run(["rm", "-rf", self.tmp])


def cleanup_stale():
    """Remove namespaces left by test runs that were killed (their pid is gone)."""
    out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith("merdt"):
            continue
        try:
            pid = int(name[5:].split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not os.path.exists("/proc/%d" % pid):
            log("removing stale namespace " + name)
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
            subprocess.run(["rm", "-rf", "/etc/netns/" + name])
