# SPDX-License-Identifier: GPL-2.0-or-later
"""merd started as libvirt starts passt: the capabilities it ends up with.

libvirt clears the capabilities of the passt it executes and, for
qemu:///system, runs it as the qemu.conf user (libvirt_exec.py does exactly
that, step by step). Does a file capability on merd (setcap cap_net_raw+ep)
survive? These run merd with libvirt's passt command line, through that
sequence, from a root daemon (system: merd as nobody standing in for
libvirt-qemu) and from an unprivileged one (session): with the file
capability merd holds CAP_NET_RAW, only that, and serves the guest; without
it, or from a daemon that set no_new_privs, merd stops with exit status 1
and one line on stderr, which libvirt shows in its "Could not start
'passt'" error; from a daemon whose bounding set lacks CAP_NET_RAW, the
kernel refuses to execute merd at all (EPERM: a "+ep" file whose permitted
capabilities can't all be granted)."""

import os
import shutil
import signal
import struct

import pytest

import netns
from merdtest import MERD, NOBODY, TEST, Guest, udhcpc
from netns import wait_for

LIBVIRT_EXEC = os.path.join(TEST, "libvirt_exec.py")
CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW = 10, 12, 13
# CapBnd of a daemon without CAP_NET_RAW, as setpriv names it
NO_RAW = "--bounding-set=-net_raw"


def vfs_cap(caps):
    """security.capability of caps+ep (linux/capability.h, revision 2):
    what `setcap cap_net_raw+ep FILE` writes."""
    bits = sum(1 << c for c in caps)
    return struct.pack("<IIIII", 0x02000000 | 1, bits & 0xffffffff, 0, bits >> 32, 0)


def merd_copy(topo, caps):
    """A copy of merd in the test's directory, with these file capabilities."""
    if os.statvfs(topo.tmp).f_flag & os.ST_NOSUID:
        pytest.skip("%s is on a nosuid mount: file capabilities don't apply there" % topo.tmp)
    path = os.path.join(topo.tmp, "merd-filecaps")
    shutil.copy(MERD, path)
    os.chmod(path, 0o755)
    if caps:
        os.setxattr(path, "security.capability", vfs_cap(caps))
    return path


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def start_as_libvirt(topo, session, caps=(CAP_NET_RAW,), daemon=(), args=()):
    """libvirt's passt command line for merd (and args), through
    libvirt_exec.py: from a root daemon, merd as nobody (session False), or
    from a daemon that is nobody with no capabilities (session True);
    daemon: setpriv options the daemon itself was started with. Returns
    (CompletedProcess, PID file)."""
    binary = merd_copy(topo, caps)
    run = os.path.join(topo.tmp, "run")
    os.makedirs(run, exist_ok=True)
    os.chown(run, NOBODY, NOBODY)
    pidfile = os.path.join(run, "passt.pid")
    argv = [binary, "--one-off", "--socket", topo.sock, "--mac-addr", "52:54:00:aa:bb:cc",
            "--log-file", os.path.join(run, "passt.log"), "--pid", pidfile] + list(args)
    if session:
        argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] + \
            list(daemon) + ["/usr/bin/python3", LIBVIRT_EXEC, "-1", "-1"] + argv
    else:
        argv = ["setpriv"] + list(daemon) + ["/usr/bin/python3", LIBVIRT_EXEC,
                                             str(NOBODY), str(NOBODY)] + argv
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    return topo.host.run(argv, check=False, timeout=20, env=env), pidfile


def stop(pidfile):
    if not os.path.exists(pidfile):
        return
    pid = int(open(pidfile).read())
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
             open("/proc/%d/stat" % pid).read().split()[2] == "Z", 10, "merd to exit")


ALL3 = (CAP_NET_RAW, CAP_NET_ADMIN, CAP_NET_BIND_SERVICE)


@pytest.mark.parametrize("session,caps", [
    (False, (CAP_NET_RAW,)),
    (True, (CAP_NET_RAW,)),
    (False, ALL3),
    (True, ALL3),
], ids=["system", "session", "system-raw-admin-bind", "session-raw-admin-bind"])
def test_file_capability_survives(topo, session, caps):
    """merd with cap_net_raw+ep (or cap_net_raw,cap_net_admin,
    cap_net_bind_service+ep, and then a forwarded port below 1024): exit
    status 0, and the guest served, which takes the raw sockets only the
    file's CAP_NET_RAW opens (without it merd stops at start: see below).
    Once set up, merd in the background as nobody holds none of them
    (isolation.c gives them up)."""
    args = ["--tcp-ports", "80"] if CAP_NET_BIND_SERVICE in caps else []
    p, pidfile = start_as_libvirt(topo, session, caps, args=args)
    try:
        assert p.returncode == 0, p.stderr
        st = status(int(open(pidfile).read()))
        assert st["Uid"].split() == [str(NOBODY)] * 4
        for field in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            assert int(st[field], 16) == 0, (field, st[field])
        assert st["Seccomp"].strip() == "2"
        if args:
            assert netns.listening(topo.host, 80)
        g = Guest(topo.guest, topo.sock)
        lease, _ = udhcpc(g)
        assert lease["ip"] == netns.HOST_ADDR
        g.stop()
    finally:
        stop(pidfile)


@pytest.mark.parametrize("session,caps,daemon", [
    (False, (), ()),
    (True, (), ()),
    (True, (CAP_NET_RAW,), ("--no-new-privs",)),
], ids=["system-no-filecap", "session-no-filecap", "daemon-no-new-privs"])
def test_without_the_capability_one_line(topo, session, caps, daemon):
    """Where merd doesn't get CAP_NET_RAW it says so in one line, exit
    status 1, and leaves no socket or PID file behind."""
    p, pidfile = start_as_libvirt(topo, session, caps, daemon)
    try:
        assert p.returncode == 1
        assert p.stderr.strip().splitlines() == [
            "merd: can't open raw sockets: merd needs CAP_NET_RAW"]
        assert not os.path.exists(topo.sock) and not os.path.exists(pidfile)
    finally:
        stop(pidfile)


@pytest.mark.parametrize("session", [False, True], ids=["system", "session"])
def test_daemon_bounding_set_without_raw_refuses_execution(topo, session):
    """A daemon whose bounding set lacks CAP_NET_RAW (a unit's
    CapabilityBoundingSet= without it) can't execute merd with
    cap_net_raw+ep at all: execve() fails with EPERM, before merd runs."""
    p, pidfile = start_as_libvirt(topo, session, daemon=(NO_RAW,))
    assert p.returncode == 126
    assert p.stderr.strip().splitlines() == [
        "libvirt_exec: cannot execute binary %s: Operation not permitted" %
        os.path.join(topo.tmp, "merd-filecaps")]
    assert not os.path.exists(topo.sock) and not os.path.exists(pidfile)
