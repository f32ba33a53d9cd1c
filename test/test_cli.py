# SPDX-License-Identifier: GPL-2.0-or-later
"""Command line, socket path handling, daemon mode, PID file, --one-off."""

import os
import re
import signal
import socket
import subprocess
import time

import pytest

import netns
from merdtest import MERD, NOBODY, Guest, Merd, udhcpc
from netns import wait_for
from peers import EchoServer
from sockdir import ROOT_DIR, root_sock_dir  # noqa: F401 (a fixture)
from streamclient import StreamClient

BAD = [
    (["--mtu", "abc"], "mtu"),
    (["--mtu", "67"], "mtu"),
    (["--mtu", "65521"], "mtu"),
    (["-m", "1500x"], "mtu"),
    (["--address", "10.42.0.300"], "address"),
    (["--address", "224.0.0.1"], "address"),
    (["-a", "127.0.0.1"], "address"),
    (["--netmask", "33"], "netmask"),
    (["--netmask", "255.0.255.0"], "netmask"),
    (["--gateway", "x"], "gateway"),
    (["--dns", "10.0.0"], "dns"),
    (["--search", "bad..name"], "search"),
    (["--search", "a" * 64 + ".test"], "search"),
    (["--mac-addr", "01:00:5e:00:00:01"], "mac-addr"),
    (["--mac-addr", "9a:55:9a:55:9a"], "mac-addr"),
    (["--interface", "nosuchif0"], "interface"),
    (["--socket", ""], "socket"),
    (["--socket", "/tmp/" + "x" * 200], "socket"),
    (["--mtu", "1500", "--mtu", "1400"], "mtu"),
    (["--address", "2001:db8::zz"], "address"),
    (["-a", "fe80::1"], "address"),
    (["-a", "ff02::1"], "address"),
    (["-a", "2001:db8::1", "-a", "2001:db8::2"], "address"),
    (["--gateway", "fe80::zz"], "gateway"),
    (["--dns", "ff02::1"], "dns"),
    (["--dns", "::"], "dns"),
    (["-4", "-6"], "ipv4-only"),
    (["--socket-mode", "0999"], "socket-mode"),
    (["--socket-mode", "1777"], "socket-mode"),
    (["--socket-mode", "-1"], "socket-mode"),
    (["--socket-group", "no-such-group-here"], "socket-group"),
    # port forwarding: the option and the bad part are named
    (["-t", "22:23-24"], "-t '22:23-24'"),
    (["--tcp-ports", "0"], "-t '0'"),
    (["-t", "65536"], "-t '65536'"),
    (["-u", "80-70"], "-u '80-70'"),
    (["-t", "8080,,8081"], "-t '8080,,8081'"),
    (["-t", "http"], "-t 'http'"),
    (["-t", "2000-2010", "-t", "2005"], "-t '2005' overlaps -t '2000-2010'"),
    (["-t", "~100-200,~150"], "-t '~150' overlaps -t '~100-200'"),
    (["-t", "none", "-t", "22"], "-t '22' conflicts with -t 'none'"),
    (["-t", "all", "-t", "22"], "-t '22' conflicts with -t 'all'"),
    (["-t", "10.0.0.300/22"], "-t '10.0.0.300': not an IPv4 or IPv6 address"),
    (["-t", "%/22"], "-t '%': no interface name"),
    (["-t", "127.0.0.1/"], "-t '127.0.0.1/'"),
    (["-u", "1-10:2-10"], "-u '1-10:2-10'"),
    (["-t", "10.42.0.99/8080"], "10.42.0.99 is not an address of this host"),
    (["-t", "%nosuchif0/8080"], "no interface nosuchif0"),
    (["--bogus"], "--bogus"),
    (["--mtu"], "--mtu"),
    (["stray"], "stray"),
]


@pytest.mark.parametrize("args,name", BAD, ids=[" ".join(a)[:40] for a, _ in BAD])
def test_bad_option_one_line_exit_1(topo, args, name):
    sock = os.path.join(topo.tmp, "never.socket")
    p = topo.host.run([MERD, "-f", "-s", sock] + args if "--socket" not in args
                      else [MERD, "-f"] + args, check=False, timeout=10)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert name in lines[0], lines[0]
    assert not os.path.exists(sock), "nothing may be started on a bad option"


def test_help_and_version(topo):
    p = topo.host.run([MERD, "--help"])
    for opt in ("--socket", "--foreground", "--debug", "--trace", "--interface",
                "--address", "--netmask", "--gateway", "--dns", "--search", "--mtu",
                "--mac-addr", "--pid", "--one-off", "--help", "--version"):
        assert opt in p.stdout
    p = topo.host.run([MERD, "--version"])
    assert re.match(r"merd \S+", p.stdout)


def test_no_default_route_waits_for_one(topo):
    """Without a default route merd starts, says it waits (test_host.py
    shows it serving once one appears); with --address and --gateway it
    serves at once."""
    topo.host.run("ip route del default")
    m = Merd(topo.host, sock=topo.sock)
    log = m.stop()
    assert "merd: no default IPv4 or IPv6 route yet: waiting for one (or give " \
        "--gateway and --address)" in log.splitlines(), log
    assert "guest gets" not in log
    m = Merd(topo.host, sock=topo.sock, args=["-a", netns.HOST_ADDR, "-g", netns.GATEWAY])
    assert "guest gets %s/24, gateway %s" % (netns.HOST_ADDR, netns.GATEWAY) in m.stop()


def test_lowest_metric_default_route_and_interface_option(topo):
    """Two uplinks: the default route with the lowest metric wins; -i picks
    the other one, with its own address, gateway and MTU."""
    topo.host.run("ip link add h1 type veth peer name r1 netns %s" % topo.remote.name)
    topo.host.run("ip link set h1 mtu 1300 up")
    topo.host.run("ip addr add 10.44.0.2/16 dev h1")
    topo.remote.run("ip link set r1 up; ip addr add 10.44.0.1/16 dev r1")
    topo.host.run("ip route del default")
    topo.host.run("ip route add default via 10.44.0.1 metric 200")
    topo.host.run("ip route add default via %s metric 100" % netns.GATEWAY)
    m = Merd(topo.host, sock=topo.sock)
    log = m.stop()
    assert "guest gets 10.42.0.2/24, gateway 10.42.0.1, MTU 1400" in log
    m = Merd(topo.host, sock=topo.sock, args=["-i", "h1"])
    log = m.stop()
    assert "guest gets 10.44.0.2/16, gateway 10.44.0.1, MTU 1300" in log


def default_socket(m):
    return re.search(r"listening on (%s/merd_\d+\.socket)" % re.escape(ROOT_DIR),
                     m.log()).group(1)


def test_default_socket_paths_side_by_side(topo, root_sock_dir):
    """Without --socket, each root merd takes the first free default path in
    /run/merd (root's, 0755, no other user may write it), and says which;
    the one in use is never removed, nor taken by the second merd."""
    m1 = Merd(topo.host)
    root_sock_dir.forget(m1.sock)
    m2 = Merd(topo.host)
    root_sock_dir.forget(m2.sock)
    try:
        p1, p2 = default_socket(m1), default_socket(m2)
        assert p1 != p2
        assert os.path.exists(p1) and os.path.exists(p2)
        st = os.lstat(ROOT_DIR)
        assert st.st_uid == 0 and st.st_mode & 0o7777 == 0o755, oct(st.st_mode)
        g = Guest(topo.guest, p1)
        lease, _ = udhcpc(g)
        assert lease["ip"] == netns.HOST_ADDR
        g.stop()
    finally:
        m2.stop()
        m1.stop()
    # merd, no longer root, may not remove them from root's directory; the
    # next merd to start replaces the first, stale now
    m3 = Merd(topo.host)
    root_sock_dir.forget(m3.sock)
    try:
        assert default_socket(m3) in (p1, p2)
        g = Guest(topo.guest, m3.sock)
        lease, _ = udhcpc(g)
        assert lease["ip"] == netns.HOST_ADDR
        g.stop()
    finally:
        m3.stop()


def test_socket_in_use_is_refused_and_left_alone(topo, merd):
    p = topo.host.run([MERD, "-f", "-s", merd.sock], check=False, timeout=10)
    assert p.returncode == 1
    assert "in use" in p.stderr and merd.sock in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    # The first merd still serves its socket
    g = Guest(topo.guest, merd.sock)
    lease, _ = udhcpc(g)
    assert lease["ip"] == netns.HOST_ADDR
    g.stop()


def test_stale_socket_is_replaced(topo):
    m = Merd(topo.host, sock=topo.sock)
    m.proc.send_signal(signal.SIGKILL)
    m.proc.wait()
    assert os.path.exists(topo.sock), "a killed merd leaves its socket file"
    m2 = Merd(topo.host, sock=topo.sock)
    g = Guest(topo.guest, m2.sock)
    lease, _ = udhcpc(g)
    assert lease["ip"] == netns.HOST_ADDR
    g.stop()
    m2.stop()


def test_not_a_socket_is_never_removed(topo):
    path = os.path.join(topo.tmp, "regular-file")
    with open(path, "w") as f:
        f.write("keep me")
    p = topo.host.run([MERD, "-f", "-s", path], check=False, timeout=10)
    assert p.returncode == 1 and path in p.stderr
    assert open(path).read() == "keep me"


def test_second_client_refused_first_keeps_working(topo, merd, guest):
    c = StreamClient(merd.sock)
    assert c.closed_by_peer(), "merd must close a second client"
    c.close()
    merd.wait_log("refusing a second client")
    lease, _ = udhcpc(guest)
    assert lease["ip"] == netns.HOST_ADDR


def assert_left_stale(path):
    """A merd that served as nobody leaves its socket file in root's
    directory (isolation.c: it may not remove it there): nothing listens on
    it any more, and the next merd replaces it."""
    assert os.path.exists(path)
    s = socket.socket(socket.AF_UNIX)
    try:
        with pytest.raises(ConnectionRefusedError):
            s.connect(path)
    finally:
        s.close()


def test_daemon_mode_and_pid_file(topo):
    pidfile = os.path.join(topo.tmp, "merd.pid")
    p = topo.host.run([MERD, "-s", topo.sock, "-P", pidfile], timeout=10)
    assert "listening on " + topo.sock in p.stderr
    pid = int(open(pidfile).read())
    assert os.path.exists("/proc/%d" % pid)
    g = Guest(topo.guest, topo.sock)
    lease, _ = udhcpc(g)
    assert lease["ip"] == netns.HOST_ADDR
    g.stop()
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
             open("/proc/%d/stat" % pid).read().split()[2] == "Z", 10, "merd to exit")
    assert_left_stale(topo.sock)
    assert int(open(pidfile).read()) == pid, "the PID file, left in root's directory"


def test_pid_file_in_foreground(topo):
    """The PID file is merd's; at exit merd removes it where the user it
    serves as may (a directory of nobody's), else leaves it."""
    pidfile = os.path.join(topo.tmp, "fg.pid")
    m = Merd(topo.host, sock=topo.sock, args=["-P", pidfile])
    assert int(open(pidfile).read()) == m.proc.pid
    m.stop()
    assert os.path.exists(pidfile), "root's directory: nobody can't remove it"
    run = os.path.join(topo.tmp, "nobody-run")
    os.mkdir(run)
    os.chown(run, NOBODY, NOBODY)
    pidfile = os.path.join(run, "fg.pid")
    m = Merd(topo.host, sock=topo.sock, args=["-P", pidfile])
    assert int(open(pidfile).read()) == m.proc.pid
    m.stop()
    assert not os.path.exists(pidfile)


def test_one_off_exits_when_guest_leaves(topo):
    m = Merd(topo.host, sock=topo.sock, args=["--one-off"])
    # A connection that never sends a frame (a probe) doesn't count
    c = StreamClient(m.sock)
    c.close()
    time.sleep(0.3)
    assert m.alive()
    g = Guest(topo.guest, m.sock)
    udhcpc(g)
    g.stop()
    assert m.exit_status(10) == 0
    m.stop()
    assert_left_stale(topo.sock)


def test_sigint_and_sighup_exit_cleanly(topo):
    for sig in (signal.SIGINT, signal.SIGHUP):
        m = Merd(topo.host, sock=topo.sock)
        m.proc.send_signal(sig)
        assert m.exit_status(10) == 0
        m.stop()
        assert_left_stale(topo.sock)


def test_runs_without_resolv_conf(topo):
    os.unlink(os.path.join(topo.host.etc, "resolv.conf"))
    # ip netns exec now shows the machine's resolv.conf: give DNS explicitly
    m = Merd(topo.host, sock=topo.sock, args=["-D", "10.42.0.1", "-S", "x.test"])
    g = Guest(topo.guest, m.sock)
    lease, _ = udhcpc(g)
    assert lease["dns"] == "10.42.0.1" and lease["search"] == "x.test"
    g.stop()
    m.stop()
    topo.host.write_resolv(netns.HOST_DNS, netns.HOST_SEARCH)


def test_bad_option_in_daemon_mode_fails_before_forking(topo):
    p = subprocess.run(topo.host.cmd([MERD, "-s", topo.sock, "--mtu", "0"]),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=10)
    assert p.returncode == 1 and "mtu" in p.stderr
    assert not os.path.exists(topo.sock)


def test_forwarded_ports_beyond_the_descriptor_limit(topo):
    """More forwarded ports than descriptors: one line saying so, exit
    status 1, nothing forwarded in part."""
    sock = os.path.join(topo.tmp, "never.socket")
    p = topo.host.run(["prlimit", "--nofile=1000:1000", MERD, "-f", "-s", sock,
                       "-t", "2000-3999"], check=False, timeout=10)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "descriptor limit 1000 too low" in lines[0] and "2000 forwarded ports" in lines[0]
    assert not os.path.exists(sock)


# A user that is neither root nor merd's
OUTSIDER = 4243


def can_connect(ns, path, uid, groups):
    """Whether a process of uid, with these supplementary groups, may
    connect to the socket file at path."""
    code = ("import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "try:\n"
            "    s.connect(sys.argv[1])\n"
            "except PermissionError:\n"
            "    sys.exit(3)\n")
    p = ns.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                "--groups=" + ",".join(str(g) for g in groups) if groups else "--clear-groups",
                "/usr/bin/python3", "-c", code, path], check=False, timeout=10)
    assert p.returncode in (0, 3), p.stderr
    return p.returncode == 0


def test_socket_file_mode_and_group(topo):
    """The socket file is 0600 whatever the umask, so only merd's user (and
    root) may connect: a root merd's file stays root's, not nobody's, whom
    merd then serves as (any process of nobody's could connect otherwise);
    with --socket-mode 0660 --socket-group, a user in the group may, one
    outside it may not."""
    p = topo.host.popen(["sh", "-c", "umask 000; exec %s -f -s %s" % (MERD, topo.sock)],
                        stderr=subprocess.PIPE)
    try:
        wait_for(lambda: os.path.exists(topo.sock), 10, "the socket file")
        assert os.stat(topo.sock).st_uid == 0
        assert os.stat(topo.sock).st_mode & 0o7777 == 0o600
        assert not can_connect(topo.host, topo.sock, OUTSIDER, [])
        assert not can_connect(topo.host, topo.sock, NOBODY, [])
    finally:
        p.terminate()
        p.wait(timeout=10)

    gid = 4242
    m = Merd(topo.host, sock=topo.sock, args=["--socket-mode", "0660", "--socket-group",
                                              str(gid)])
    st = os.stat(topo.sock)
    assert st.st_mode & 0o7777 == 0o660 and st.st_gid == gid and st.st_uid == 0
    assert can_connect(topo.host, topo.sock, OUTSIDER, [gid])
    assert not can_connect(topo.host, topo.sock, OUTSIDER, [gid + 1])
    m.stop()


def test_libvirt_command_line(topo):
    """The command line libvirt gives passt (qemu_passt.c), with merd as the
    binary: it returns 0 once merd runs in the background, with the PID
    file and the log file written; the guest is served, its forwarded port
    reached; merd exits when the guest leaves (--one-off)."""
    pidfile = os.path.join(topo.tmp, "passt.pid")
    logfile = os.path.join(topo.tmp, "passt.log")
    p = topo.host.run([MERD, "--one-off", "--socket", topo.sock,
                       "--mac-addr", "52:54:00:aa:bb:cc", "--mtu", "1400",
                       "--interface", "h0", "--log-file", logfile,
                       "--address", netns.HOST_ADDR, "--netmask", "24",
                       "--tcp-ports", "2222:22", "--udp-ports", "5353:53",
                       "--pid", pidfile], timeout=10)
    assert p.returncode == 0
    pid = int(open(pidfile).read())
    assert os.path.exists("/proc/%d" % pid)
    log = open(logfile).read()
    assert "listening on " + topo.sock in log and "forwarding 1 host TCP ports" in log
    g = Guest(topo.guest, topo.sock)
    lease, _ = udhcpc(g)
    assert lease["ip"] == netns.HOST_ADDR
    srv = EchoServer(topo.guest, "0.0.0.0", 22)
    try:
        c = netns.sock_in(topo.remote)
        c.settimeout(5)
        c.connect((netns.HOST_ADDR, 2222))
        c.sendall(b"virt")
        assert c.recv(4) == b"virt"
        c.close()
    finally:
        srv.close()
    g.stop()
    wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
             open("/proc/%d/stat" % pid).read().split()[2] == "Z", 10, "merd to exit")
    assert_left_stale(topo.sock)


def test_log_file_size_and_quiet(topo):
    """-l FILE: messages go to the file, never past --log-size; -q leaves
    out the informational ones."""
    logfile = os.path.join(topo.tmp, "merd.log")
    m = Merd(topo.host, sock=topo.sock, args=["-l", logfile, "--log-size", "65536",
                                              "--trace"], wait=False)
    wait_for(lambda: os.path.exists(logfile) and "listening on" in open(logfile).read(),
             10, "merd's log file")
    g = Guest(topo.guest, topo.sock)
    udhcpc(g)
    # Enough traced flows (a line each) to fill the file more than once
    for _ in range(1500):
        s = netns.sock_in(topo.guest, kind=socket.SOCK_DGRAM)
        s.sendto(b"x", (netns.REMOTE_ADDR, 9))
        s.close()
    wait_for(lambda: open(logfile).read().startswith("merd: log file reached its size "
                                                     "limit, cut"), 10,
             "the log file to be cut: %s" % open(logfile).read()[-300:])
    g.stop()
    m.stop()
    text = open(logfile).read()
    assert os.path.getsize(logfile) <= 65536
    assert text.startswith("merd: log file reached its size limit, cut")
    assert "listening on" not in m.log(), "the log file is the only place"

    assert_left_stale(topo.sock)
    os.unlink(topo.sock)    # so that the next one's shows when it listens
    quiet = os.path.join(topo.tmp, "quiet.log")
    m = Merd(topo.host, sock=topo.sock, args=["-q", "-l", quiet], wait=False)
    wait_for(lambda: os.path.exists(topo.sock), 10, "merd's socket")
    m.stop()
    assert "listening on" not in open(quiet).read()


def test_fd_serves_a_connected_socket(topo):
    """--fd N: merd serves the connected socket it was given (as qemu's
    -netdev passt and wrappers hand it), no socket file, and exits when
    that connection ends (--one-off implied)."""
    from dhcpframes import msg_type, request
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    n = b.fileno()
    p = topo.host.popen([MERD, "-f", "--fd", str(n)], pass_fds=(n,),
                        stderr=subprocess.PIPE, universal_newlines=True)
    b.close()
    c = StreamClient.__new__(StreamClient)
    c.s, c.buf = a, b""
    a.settimeout(5)
    try:
        c.send_frame(request([("message-type", "discover")]))
        offer = c.recv_frame(timeout=5)
        assert offer is not None and msg_type(offer) == 2
        c.close()
        assert p.wait(timeout=10) == 0
        assert "serving descriptor %d" % n in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()


def test_fd_not_a_socket(topo):
    sock = os.path.join(topo.tmp, "never.socket")
    p = topo.host.run([MERD, "-f", "-s", sock, "--fd", "0"], check=False, timeout=10,
                      stdin=subprocess.DEVNULL)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == ["merd: --fd 0: not a connected stream socket"]
