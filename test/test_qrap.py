# SPDX-License-Identifier: GPL-2.0-or-later
"""qrap: finds merd, hands qemu the connection on FDNUM, and adds the netdev
when the command line doesn't use it. A shell stands in for qemu here, so
that what qrap executes can be looked at; test_qemu.py runs real qemu."""

import os

import netns
from merdtest import QRAP, Guest, Merd, udhcpc

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


def test_default_socket_found(topo):
    m = Merd(topo.host)
    try:
        p = run_qrap(topo.guest, ["5"] + FAKE_QEMU)
        assert "connected to merd at " + m.sock in p.stderr
        assert "FD5 socket:" in p.stdout
    finally:
        m.stop()


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
