# SPDX-License-Identifier: GPL-2.0-or-later
"""Socket squatting: another local user can't make merd, or qrap, use a
socket of theirs.

merd's default socket paths are in a directory no other user may write
(/run/merd for root, $XDG_RUNTIME_DIR/merd or /tmp/merd-UID for a user),
checked without following a symbolic link; qrap looks in the same place and
refuses a socket that neither root nor its own user listens on
(SO_PEERCRED); the PID file is never written through a symbolic link.
"""

import os
import shutil
import subprocess
import types

import pytest

import netns
from merdtest import CAPS, MERD, NOBODY, QRAP, Merd, udhcpc
from netns import readline_within, wait_for
from sockdir import ROOT_DIR, root_sock_dir  # noqa: F401 (a fixture)

# A local user that is neither root nor nobody (merd's user once it
# dropped root): the owner of the directories of the user tests
USER = 4244
USER_TMP_DIR = "/tmp/merd-%d" % USER
OLD_DEFAULTS = ["/tmp/merd_%d.socket" % i for i in range(1, 101)]
NEW_DEFAULTS = [os.path.join(ROOT_DIR, "merd_%d.socket" % i) for i in range(1, 101)]
# The most a squatter or the bridge below lives, seconds
LIFETIME = 60

# Listens on every path of argv it can bind, says how many, then accepts
# (saying so) until stdin closes or LIFETIME passes; removes its files
SQUATTER = """
import os, select, socket, sys, time
held = []
for p in sys.argv[2:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(p)
    except OSError:
        s.close()
        continue
    s.listen(8)
    held.append((s, p))
print("held %d" % len(held), flush=True)
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    r = select.select([s for s, _ in held] + [sys.stdin], [], [], 1)[0]
    if sys.stdin in r:
        break
    for s, p in held:
        if s in r:
            s.accept()[0].close()
            print("accepted " + p, flush=True)
for _, p in held:
    os.unlink(p)
"""

# Tries to make each path of argv: the directory's lock file and each
# socket; prints one line per path: made, or the error's name
TRY_CREATE = """
import errno, os, socket, sys
for p in sys.argv[1:]:
    try:
        if p.endswith(".socket"):
            s = socket.socket(socket.AF_UNIX)
            s.bind(p)
            s.close()
        elif p.endswith(".lock"):
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
        else:
            os.mkdir(p)
        print("made " + p)
        os.unlink(p) if not os.path.isdir(p) else os.rmdir(p)
    except OSError as e:
        print("%s %s" % (errno.errorcode[e.errno], p))
"""

# qemu for qrap: bridges the connection on descriptor 5 to a new tap device
# (argv[1]) in its namespace, as qemu's socket netdev frames it
BRIDGE = """
import fcntl, os, select, socket, struct, sys, time
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454ca, 0x0002, 0x1000
tap = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TAP | IFF_NO_PI))
s = socket.socket(fileno=5)
print("ready", flush=True)
buf, deadline = b"", time.monotonic() + %d
while time.monotonic() < deadline:
    r = select.select([tap, s], [], [], 1)[0]
    if tap in r:
        f = os.read(tap, 65536)
        s.sendall(struct.pack("!I", len(f)) + f)
    if s in r:
        d = s.recv(65536)
        if not d:
            break
        buf += d
        while len(buf) >= 4 and len(buf) >= 4 + struct.unpack("!I", buf[:4])[0]:
            n = struct.unpack("!I", buf[:4])[0]
            os.write(tap, buf[4:4 + n])
            buf = buf[4 + n:]
""" % LIFETIME


def as_user(argv, uid, caps=()):
    """argv run as uid (its group the same number, no other), holding only
    caps (setpriv names) as ambient capabilities."""
    keep = "".join(",+" + c for c in caps)
    return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups",
            "--inh-caps=-all" + keep, "--ambient-caps=-all" + keep,
            "--bounding-set=-all" + keep, "--"] + list(argv)


def env_without_xdg(**extra):
    e = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    e.update(extra)
    return e


def one_line(p):
    """The one line a failing merd printed, checking it failed so."""
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(lines) == 1, (p.returncode, p.stderr)
    return lines[0]


def test_squatter_of_every_old_default_path_is_never_reached(topo, root_sock_dir):
    """nobody listens on every old default path, /tmp/merd_1.socket to
    /tmp/merd_100.socket, and can't make any of the new ones: merd starts
    on its own path in /run/merd all the same, qrap finds it there, and
    the guest behind qrap gets its lease from merd; the squatter never
    sees a connection."""
    existing = [p for p in OLD_DEFAULTS if os.path.lexists(p)]
    sq = topo.guest.popen(as_user(["/usr/bin/python3", "-c", SQUATTER, str(LIFETIME)] +
                                  OLD_DEFAULTS, NOBODY),
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          universal_newlines=True)
    bridge = None
    try:
        held = readline_within(sq.stdout, 10, "the squatter").split()
        assert held[0] == "held" and int(held[1]) + len(existing) == 100, held

        def try_new():
            probe = [ROOT_DIR, os.path.join(ROOT_DIR, "merd.lock")] + NEW_DEFAULTS
            out = topo.guest.run(as_user(["/usr/bin/python3", "-c", TRY_CREATE] + probe,
                                         NOBODY)).stdout.splitlines()
            assert len(out) == len(probe)
            assert not [line for line in out if line.startswith("made ")], out
            return out
        try_new()

        m = Merd(topo.host)
        root_sock_dir.forget(m.sock)
        assert os.path.dirname(m.sock) == ROOT_DIR
        # Now that the directory exists: still nothing the squatter may make
        # (merd's own path is taken: bind() says so before it checks)
        for line in try_new()[1:]:
            assert line == "EACCES " + line.split()[1] or \
                line == "EADDRINUSE " + m.sock, line

        bridge = topo.guest.popen([QRAP, "5", "/usr/bin/python3", "-c", BRIDGE, "tap0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True)
        said = readline_within(bridge.stderr, 10, "qrap to connect")
        assert said.strip() == "qrap: connected to merd at " + m.sock
        assert readline_within(bridge.stdout, 10, "the bridge").strip() == "ready"
        topo.guest.run("ip link set tap0 up")
        lease, _ = udhcpc(types.SimpleNamespace(ns=topo.guest, ifname="tap0"))
        assert lease["ip"] == netns.HOST_ADDR
        m.wait_log("guest connected on " + m.sock)
        bridge.terminate()
        bridge.wait(timeout=10)
        m.stop()
    finally:
        if bridge and bridge.poll() is None:
            bridge.kill()
        sq.stdin.close()
        out = sq.stdout.read()
        sq.wait(timeout=LIFETIME)
    assert "accepted" not in out, out
    for p in OLD_DEFAULTS:
        if p not in existing and os.path.lexists(p):
            os.unlink(p)


def run_user_merd(topo, args=(), env=None):
    """merd as USER, with merd's capabilities, no --socket, to completion."""
    return topo.host.run(as_user([MERD, "-f"] + list(args), USER, CAPS), check=False,
                         timeout=20, env=env or env_without_xdg())


def test_user_tmp_dir_unfit_is_refused(topo):
    """Without XDG_RUNTIME_DIR a user's merd uses /tmp/merd-UID: a symbolic
    link there (even to a fit directory), a file, a directory of another
    user, or one its group may write, is refused in one line, exit 1."""
    assert not os.path.lexists(USER_TMP_DIR), USER_TMP_DIR + " left from elsewhere"
    fit = os.path.join(topo.tmp, "fit")
    os.mkdir(fit, 0o700)
    os.chown(fit, USER, USER)
    try:
        os.symlink(fit, USER_TMP_DIR)
        line = one_line(run_user_merd(topo))
        assert line == ("merd: socket directory %s is a symbolic link: refusing it "
                        "(remove it, or give --socket)" % USER_TMP_DIR)
        assert os.listdir(fit) == []
        os.unlink(USER_TMP_DIR)

        open(USER_TMP_DIR, "w").close()
        assert "is not a directory" in one_line(run_user_merd(topo))
        os.unlink(USER_TMP_DIR)

        os.mkdir(USER_TMP_DIR, 0o700)
        assert one_line(run_user_merd(topo)) == (
            "merd: socket directory %s belongs to uid 0, not to merd's %d: refusing it "
            "(remove it, or give --socket)" % (USER_TMP_DIR, USER))
        os.chown(USER_TMP_DIR, USER, USER)
        os.chmod(USER_TMP_DIR, 0o770)
        assert one_line(run_user_merd(topo)) == (
            "merd: socket directory %s is writable by its group or others: refusing it "
            "(chmod go-w, or give --socket)" % USER_TMP_DIR)
        assert os.listdir(USER_TMP_DIR) == []
    finally:
        if os.path.islink(USER_TMP_DIR) or os.path.isfile(USER_TMP_DIR):
            os.unlink(USER_TMP_DIR)
        elif os.path.isdir(USER_TMP_DIR):
            shutil.rmtree(USER_TMP_DIR)


def test_user_dirs_made_private(topo):
    """A user's merd makes /tmp/merd-UID 0700 when it is missing, and
    $XDG_RUNTIME_DIR/merd 0700 when that is set; the user's qrap finds it
    there, and merd removes its socket file at exit."""
    assert not os.path.lexists(USER_TMP_DIR), USER_TMP_DIR + " left from elsewhere"
    xdg = os.path.join(topo.tmp, "xdg")
    os.mkdir(xdg, 0o700)
    os.chown(xdg, USER, USER)
    try:
        for env, d in ((env_without_xdg(), USER_TMP_DIR),
                       (env_without_xdg(XDG_RUNTIME_DIR=xdg), os.path.join(xdg, "merd"))):
            p = topo.host.popen(as_user([MERD, "-f"], USER, CAPS), env=env,
                                stderr=subprocess.PIPE, universal_newlines=True)
            try:
                lines = [readline_within(p.stderr, 10, "merd to start")]
                while "listening on" not in lines[-1] and len(lines) < 20 and lines[-1]:
                    lines.append(readline_within(p.stderr, 10, "merd to listen"))
                assert lines[-1].strip() == "merd: listening on %s/merd_1.socket" % d, lines
                st = os.lstat(d)
                assert st.st_uid == USER and st.st_mode & 0o7777 == 0o700, oct(st.st_mode)
                q = topo.guest.run(as_user([QRAP, "5", "/bin/true"], USER), env=env,
                                   check=False, timeout=20)
                assert q.returncode == 0, q.stderr
                assert q.stderr.strip() == "qrap: connected to merd at %s/merd_1.socket" % d
            finally:
                p.terminate()
                p.wait(timeout=10)
            assert p.returncode == 0
            wait_for(lambda: not os.path.lexists(d + "/merd_1.socket"), 5,
                     "the socket file's removal")
    finally:
        if os.path.isdir(USER_TMP_DIR):
            shutil.rmtree(USER_TMP_DIR)


def test_root_dir_unfit_is_refused(topo, root_sock_dir):
    """/run/merd as a symbolic link, or writable by its group, is refused
    by a root merd in one line, exit 1 (only where the machine has no
    /run/merd of its own)."""
    if root_sock_dir.existed:
        pytest.skip(ROOT_DIR + " exists on this machine")
    fit = os.path.join(topo.tmp, "fit")
    os.mkdir(fit, 0o755)
    try:
        os.symlink(fit, ROOT_DIR)
        p = topo.host.run([MERD, "-f"], check=False, timeout=20)
        assert one_line(p) == ("merd: socket directory %s is a symbolic link: refusing it "
                               "(remove it, or give --socket)" % ROOT_DIR)
        assert os.listdir(fit) == []
        os.unlink(ROOT_DIR)
        os.mkdir(ROOT_DIR)
        os.chmod(ROOT_DIR, 0o775)
        p = topo.host.run([MERD, "-f"], check=False, timeout=20)
        assert "merd: socket directory %s is writable by its group or others" % ROOT_DIR \
            in one_line(p)
        os.chown(ROOT_DIR, USER, 0)
        os.chmod(ROOT_DIR, 0o755)
        p = topo.host.run([MERD, "-f"], check=False, timeout=20)
        assert "merd: socket directory %s belongs to uid %d" % (ROOT_DIR, USER) in one_line(p)
    finally:
        if os.path.islink(ROOT_DIR):
            os.unlink(ROOT_DIR)


def test_pid_file_symlink_refused(topo):
    """--pid through a symbolic link: refused in one line, exit 1, the file
    it points to untouched, in the foreground and in the background; a
    root merd's PID file stays root's, so that the user it serves as can't
    rewrite it."""
    target = os.path.join(topo.tmp, "target")
    with open(target, "w") as f:
        f.write("keep me\n")
    link = os.path.join(topo.tmp, "merd.pid")
    os.symlink(target, link)
    for fg in (["-f"], []):
        sock = os.path.join(topo.tmp, "pid%d.socket" % len(fg))
        p = topo.host.run([MERD] + fg + ["-s", sock, "-P", link], check=False, timeout=20)
        # (after the start-up lines: the PID file is written once merd serves)
        assert p.returncode == 1
        assert [x for x in p.stderr.splitlines() if "PID file" in x] == [
            "merd: can't write PID file %s: it is a symbolic link, which merd never "
            "follows" % link], \
            p.stderr
        assert p.stderr.splitlines()[-1].startswith("merd: can't write PID file")
        assert open(target).read() == "keep me\n"
    pidfile = os.path.join(topo.tmp, "real.pid")
    m = Merd(topo.host, sock=topo.sock, args=["-P", pidfile])
    st = os.lstat(pidfile)
    # root's, not nobody's: a process of nobody's can't rewrite it
    assert st.st_uid == 0 and st.st_mode & 0o777 == 0o644
    assert int(open(pidfile).read()) == m.proc.pid
    m.stop()
