# SPDX-License-Identifier: GPL-2.0-or-later
"""qrap: finds merd, hands qemu the connection on FDNUM, and adds the netdev
when the command line doesn't use it. A shell stands in for qemu here, so
that what qrap executes can be looked at; test_qemu.py runs real qemu."""

import os
import subprocess

import netns
from merdtest import QRAP, Guest, Merd, udhcpc
from netns import readline_within
from sockdir import ROOT_DIR, root_sock_dir  # noqa: F401 (a fixture)

# Prints its arguments, one per line, and what descriptor 5 is
FAKE_QEMU = ["/bin/sh", "-c",
             'for a in "$@"; do echo "ARG $a"; done; '
             'echo "FD5 $(readlink /proc/self/fd/5)"', "qemu"]


def run_qrap(ns, args, check=True):
    return ns.run([QRAP] + args, check=check, timeout=20)


def test_appends_netdev_and_device(topo, merd):
    p = run_qrap(topo.guest, ["-s", merd.sock, "5"] + FAKE_QEMU + ["-m", "256"])
    args = [line[4:] for line in p.stdout.splitlines() if line.startswith("ARG ")]
    assert args == ["-m", "256", "-netdev", "socket,fd=5,id=merd0",
                    "-device", "virtio-net-pci,netdev=merd0"]
    assert "FD5 socket:" in p.stdout
    merd.wait_log("guest connected")


def test_keeps_command_line_that_uses_fdnum(topo, merd):
    p = run_qrap(topo.guest, ["-s", merd.sock, "5"] + FAKE_QEMU +
                 ["-netdev", "socket,id=n0,fd=5", "-device", "e1000,netdev=n0"])
    args = [line[4:] for line in p.stdout.splitlines() if line.startswith("ARG ")]
    assert args == ["-netdev", "socket,id=n0,fd=5", "-device", "e1000,netdev=n0"]
    assert "FD5 socket:" in p.stdout


def test_default_socket_found(topo, root_sock_dir):
    """Root's qrap looks where root's merd listens: /run/merd."""
    m = Merd(topo.host)
    root_sock_dir.forget(m.sock)
    try:
        assert os.path.dirname(m.sock) == ROOT_DIR
        p = run_qrap(topo.guest, ["5"] + FAKE_QEMU)
        assert "connected to merd at " + m.sock in p.stderr
        assert "FD5 socket:" in p.stdout
    finally:
        m.stop()


# Listens on a path as whoever runs it, accepting, until stdin closes
SQUATTER = ("import socket, sys, select\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "s.bind(sys.argv[1]); s.listen(8)\n"
            "print('ready', flush=True)\n"
            "while select.select([s, sys.stdin], [], [], 30)[0] == [s]:\n"
            "    s.accept()[0].close()\n"
            "    print('accepted', flush=True)\n")


def test_socket_of_another_user_is_refused(topo):
    """qrap -s PATH where another user (uid 4243) listens: refused in one
    line naming the path and that uid, exit status 1, qemu never run."""
    path = os.path.join(topo.tmp, "squat.socket")
    sq = topo.guest.popen(["setpriv", "--reuid=4243", "--regid=4243", "--clear-groups",
                           "/usr/bin/python3", "-c", SQUATTER, path],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          universal_newlines=True)
    try:
        assert readline_within(sq.stdout, 10, "the squatter").strip() == "ready"
        p = run_qrap(topo.guest, ["-s", path, "5"] + FAKE_QEMU, check=False)
        assert p.returncode == 1
        assert p.stderr.strip() == ("qrap: refusing %s: it is served by uid 4243, not by "
                                    "root or by uid 0" % path)
        assert "ARG" not in p.stdout
    finally:
        sq.stdin.close()
        sq.wait(timeout=40)


def test_no_merd_is_a_clear_error(topo):
    missing = os.path.join(topo.tmp, "missing.socket")
    p = run_qrap(topo.guest, ["-s", missing, "5"] + FAKE_QEMU, check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == "qrap: no merd listening at %s (is merd running?)" % missing
    assert "ARG" not in p.stdout


def test_busy_merd_is_a_clear_error(topo, merd):
    g = Guest(topo.guest, merd.sock)
    try:
        p = run_qrap(topo.guest, ["-s", merd.sock, "5"] + FAKE_QEMU, check=False)
        assert p.returncode == 1
        assert p.stderr.strip() == "qrap: merd at %s is busy with another guest" % merd.sock
        lease, _ = udhcpc(g)
        assert lease["ip"] == netns.HOST_ADDR
    finally:
        g.stop()


def test_bad_usage(topo):
    for args in (["5"], [], ["x", "qemu"], ["2", "qemu"], ["-s"]):
        p = run_qrap(topo.guest, args, check=False)
        assert p.returncode == 1
        assert p.stderr.strip(), args
    p = run_qrap(topo.guest, ["-s", "/nonexistent/none", "7", "qemu"], check=False)
    assert p.returncode == 1


def test_help(topo):
    """qrap --help: usage on stdout, exit status 0."""
    for flag in ("--help", "-h"):
        p = run_qrap(topo.guest, [flag], check=False)
        assert p.returncode == 0
        assert p.stdout.startswith("Usage: ") and "FDNUM QEMU" in p.stdout
        assert p.stderr == ""


def test_missing_qemu_binary(topo, merd):
    p = run_qrap(topo.guest, ["-s", merd.sock, "5", "/nonexistent/qemu"], check=False)
    assert p.returncode == 1
    assert "qrap: can't run /nonexistent/qemu" in p.stderr
