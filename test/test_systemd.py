# SPDX-License-Identifier: GPL-2.0-or-later
"""systemd's protocols without systemd: socket activation through Debian's
systemd-socket-activate, and readiness on a NOTIFY_SOCKET the test reads."""

import os
import re
import signal
import socket
import subprocess

from merdtest import MERD, Guest, udhcpc
from netns import HOST_ADDR, wait_for


def test_socket_activation_and_readiness(topo):
    """merd serves the listening socket it inherits (the guest's first
    connection starts it), says READY=1 with its PID once it serves and
    STOPPING=1 when it leaves, and leaves the socket file to its owner."""
    notify = os.path.join(topo.tmp, "notify")
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    n.bind(notify)
    n.settimeout(15)
    p = topo.host.popen(["systemd-socket-activate", "-l", topo.sock,
                         "-E", "NOTIFY_SOCKET=" + notify, MERD, "-f"],
                        stderr=subprocess.PIPE)
    try:
        wait_for(lambda: os.path.exists(topo.sock), 10, "the activation socket")
        g = Guest(topo.guest, topo.sock)
        lease, _ = udhcpc(g)
        assert lease["ip"] == HOST_ADDR
        ready = n.recv(256).decode().split("\n")
        assert ready[0] == "READY=1", ready
        pid = int(ready[1].split("=", 1)[1])
        assert "merd" in open("/proc/%d/cmdline" % pid).read()
        g.stop()
        os.kill(pid, signal.SIGTERM)
        assert n.recv(256).decode().split("\n")[0] == "STOPPING=1"
        assert p.wait(timeout=10) == 0
        assert os.path.exists(topo.sock), "merd removed a socket file not its own"
    finally:
        if p.poll() is None:
            p.kill()
        n.close()


def test_several_sockets_refused(topo):
    """Socket activation with two sockets: one line, exit status 1."""
    other = os.path.join(topo.tmp, "other.socket")
    p = topo.host.popen(["systemd-socket-activate", "-l", topo.sock, "-l", other,
                         MERD, "-f"], stderr=subprocess.PIPE, universal_newlines=True)
    try:
        wait_for(lambda: os.path.exists(topo.sock), 10, "the activation socket")
        c = socket.socket(socket.AF_UNIX)
        c.connect(topo.sock)
        assert p.wait(timeout=10) == 1
        err = p.stderr.read()
        assert "socket activation: merd takes one listening AF_UNIX stream socket" in err
        c.close()
    finally:
        if p.poll() is None:
            p.kill()


def test_units_verify(tmp_path):
    """systemd-analyze verify finds nothing wrong with the units make install
    writes (their ExecStart and man page installed where they point)."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    prefix = str(tmp_path / "usr")
    subprocess.run(["make", "-s", "-C", top, "install", "PREFIX=" + prefix],
                   check=True, stdout=subprocess.DEVNULL, timeout=120)
    units = os.path.join(prefix, "lib", "systemd", "system")
    env = dict(os.environ, MANPATH=os.path.join(prefix, "share", "man"))
    p = subprocess.run(["systemd-analyze", "verify", os.path.join(units, "merd@.socket"),
                        os.path.join(units, "merd@.service")], env=env, cwd=str(tmp_path),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "", p.stdout


def test_unit_security_rating():
    """systemd-analyze security rates merd@.service OK or better, as the
    README quotes it: the unit gives merd CAP_NET_RAW and a user of its own,
    and closes the rest."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        os.path.join(top, "doc", "merd@.service")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d) (\w+)", p.stdout)
    assert m, p.stdout
    assert m.group(2) in ("SAFE", "OK") and float(m.group(1)) <= 2.0, m.group(0)
    with open(os.path.join(top, "README.md")) as f:
        assert "rates it %s (%s)" % (m.group(2), m.group(1)) in f.read()
