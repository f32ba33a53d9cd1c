"""Boot merd's tiny test guest under qemu (TCG) and collect what it reports.

The guest (built by mkguest.sh: Debian cloud kernel + busybox initramfs) brings up eth0
(virtio-net-pci), runs udhcpc, runs an optional shell script, and powers off. It reports
on the serial console with "MERD-..." lines, which boot() parses.

    from qemu_guest import ensure_guest, boot
    kernel, initrd = ensure_guest("/tmp/merd-guest-cache")
    r = boot(kernel, initrd,
             ["-netdev", "stream,id=n0,server=off,addr.type=unix,addr.path=/run/merd.sock"],
             script="ip addr; ping -c1 -W2 10.0.2.2")
    assert r.done and r.dhcp_ok and r.lease["ip"] == "10.0.2.15", r.console

Standard library only (python3 >= 3.7, Debian 12's /usr/bin/python3).
"""

import base64
import dataclasses
import os
import re
import select
import signal
import stat
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MKGUEST = os.path.join(HERE, "mkguest.sh")

QEMU = "qemu-system-x86_64"
# The kernel's x86 command line holds 2047 bytes; longer scripts go through fw_cfg.
_CMDLINE_MAX = 2000
_LINE_RE = re.compile(r"MERD-([A-Z]+)(?: (.*))?$")


@dataclasses.dataclass
class GuestResult:
    console: str                 # everything qemu wrote (serial console + its stderr)
    lease: dict                  # MERD-LEASE key -> value, e.g. {"ip": "10.0.2.15", "mask": "24"}
    dhcp_ok: "bool | None"       # True/False from MERD-DHCP ok/fail, None if skipped/never seen
    script_rc: "int | None"      # MERD-SCRIPT rc=N, None if no script ran
    done: bool                   # MERD-DONE seen
    timed_out: bool              # the timeout expired before MERD-DONE
    returncode: "int | None"     # qemu's (or the wrapper's) exit status; negative = killed
    elapsed: float               # seconds from start to MERD-DONE (or to the end)
    times: dict                  # MERD-TIME stage -> guest uptime in seconds
    warnings: list               # MERD-WARN texts
    argv: list                   # the command that was run
    slaac: "str | None" = None   # MERD-SLAAC ok ADDR/LEN (with merd.ipv6=1), uncompressed
    slaac_ok: "bool | None" = None  # True/False from MERD-SLAAC ok/fail, None if not asked

    @property
    def ok(self):
        """Reached the end, DHCP worked, and the script (if any) exited 0."""
        return self.done and self.dhcp_ok is True and self.script_rc in (None, 0)


def ensure_guest(cache_dir):
    """Build (or reuse) the guest in cache_dir; return (kernel, initrd) paths."""
    p = subprocess.run(["bash", MKGUEST, cache_dir], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("mkguest.sh failed (rc=%d):\n%s" % (p.returncode, p.stdout))
    return (os.path.join(cache_dir, "vmlinuz"),
            os.path.join(cache_dir, "initramfs.cpio.gz"))


def qemu_argv(kernel, initrd, netdev_args, script=None, extra_args=(), cmdline_extra="",
              mac=None, memory=256, qemu=QEMU, script_file=None):
    """The qemu command line boot() runs (without prefix_cmd).

    netdev_args: qemu arguments defining the backend with id "n0", e.g.
    ["-netdev", "socket,id=n0,fd=5"]. script: shell script text for the guest.
    cmdline_extra: more kernel parameters (e.g. "merd.dhcp=0"). script_file: where to
    write a script too long for the kernel command line (boot() supplies a temp file).
    """
    nic = "virtio-net-pci,netdev=n0,romfile="   # no PXE option ROM: faster, fewer files
    if mac:
        nic += ",mac=" + mac
    append = "console=ttyS0 quiet loglevel=3 panic=-1"
    if cmdline_extra:
        append += " " + cmdline_extra
    fw = []
    if script is not None:
        b64 = base64.b64encode(script.encode()).decode()
        if len(append) + len(b64) + 14 <= _CMDLINE_MAX:
            append += " merd.script=" + b64
        else:
            if script_file is None:
                raise ValueError("script too long for the kernel command line; "
                                 "pass script_file (boot() does)")
            with open(script_file, "w") as f:
                f.write(script)
            fw = ["-fw_cfg", "name=opt/merd/script,file=" + script_file]
    return ([qemu, "-accel", "tcg", "-cpu", "max", "-m", str(memory),
             "-nographic", "-no-reboot",
             "-kernel", kernel, "-initrd", initrd, "-append", append,
             "-device", nic] + list(netdev_args) + fw + list(extra_args))


def parse_console(text):
    """Parse MERD- lines: returns dict(lease, dhcp_ok, script_rc, done, times, warnings,
    slaac, slaac_ok)."""
    r = dict(lease={}, dhcp_ok=None, script_rc=None, done=False, times={}, warnings=[],
             slaac=None, slaac_ok=None)
    for raw in text.splitlines():
        m = _LINE_RE.search(raw.rstrip("\r"))
        if not m:
            continue
        kind, rest = m.group(1), (m.group(2) or "").strip()
        if kind == "LEASE" and "=" in rest:
            k, v = rest.split("=", 1)
            r["lease"][k] = v
        elif kind == "DHCP":
            r["dhcp_ok"] = {"ok": True, "fail": False}.get(rest)
        elif kind == "SLAAC":
            w = rest.split()
            r["slaac_ok"] = {"ok": True, "fail": False}.get(w[0] if w else "")
            r["slaac"] = w[1] if r["slaac_ok"] and len(w) > 1 else None
        elif kind == "SCRIPT" and re.fullmatch(r"rc=\d+", rest):
            r["script_rc"] = int(rest[3:])
        elif kind == "TIME" and "=" in rest:
            k, v = rest.split("=", 1)
            r["times"][k] = float(v)
        elif kind == "WARN":
            r["warnings"].append(rest)
        elif kind == "DONE":
            r["done"] = True
    return r


def boot(kernel, initrd, netdev_args=(), script=None, timeout=90, extra_args=(),
         pass_fds=(), prefix_cmd=(), argv=None, cmdline_extra="", mac=None,
         log_path=None, qemu=QEMU):
    """Boot the guest, wait for MERD-DONE (at most timeout s), return a GuestResult.

    argv: a complete command to run instead of qemu_argv(...) (prefix_cmd is still put in
    front). pass_fds: descriptors the child inherits (for "-netdev socket,fd=N").
    log_path: also write the console there. qemu and any wrapper run in their own
    process group, which is killed when boot() returns, whatever happened.
    """
    tmpdir = tempfile.mkdtemp(prefix="merd-guest-")
    try:
        if argv is None:
            argv = qemu_argv(kernel, initrd, netdev_args, script=script,
                             extra_args=extra_args, cmdline_extra=cmdline_extra, mac=mac,
                             qemu=qemu, script_file=os.path.join(tmpdir, "script.sh"))
        _check_stream_client(argv)
        argv = list(prefix_cmd) + list(argv)
        return _run(argv, timeout, pass_fds, log_path)
    finally:
        for name in os.listdir(tmpdir):
            os.unlink(os.path.join(tmpdir, name))
        os.rmdir(tmpdir)


def _check_stream_client(argv):
    """Fail fast when a "-netdev stream,server=off" socket does not exist: qemu 7.2 then
    boots silently with a dead link, and the test would only see a DHCP timeout."""
    for a in argv:
        if not (isinstance(a, str) and a.startswith("stream,") and "server=off" in a):
            continue
        opts = dict(o.split("=", 1) for o in a.split(",") if "=" in o)
        path = opts.get("addr.path")
        if opts.get("addr.type") == "unix" and path:
            try:
                if stat.S_ISSOCK(os.stat(path).st_mode):
                    continue
            except FileNotFoundError:
                pass
            raise FileNotFoundError("no listening socket at %s (is the daemon up?)" % path)


def _exited(pid):
    """True if the child has exited, without reaping it."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _run(argv, timeout, pass_fds, log_path):
    start = time.monotonic()
    deadline = start + timeout
    buf = bytearray()
    done_at = None
    timed_out = False
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, pass_fds=tuple(pass_fds),
                            start_new_session=True)
    try:
        fd = proc.stdout.fileno()
        eof = False
        while not eof:
            now = time.monotonic()
            if done_at is not None:
                # After MERD-DONE the guest powers off; give qemu a moment to exit.
                limit = min(deadline, done_at + 5)
            else:
                limit = deadline
            if now >= limit:
                timed_out = done_at is None
                break
            ready, _, _ = select.select([fd], [], [], limit - now)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                eof = True
                break
            buf += chunk
            if done_at is None and b"MERD-DONE" in buf:
                done_at = time.monotonic()
    finally:
        # Let a powered-off qemu exit by itself (for a real exit status), then kill the
        # whole group anyway: a wrapper's children must not outlive the test. The leader
        # is not reaped before killpg, so its pid (= the group id) cannot be reused.
        t = time.monotonic() + 2
        while done_at is not None and not _exited(proc.pid) and time.monotonic() < t:
            time.sleep(0.02)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        proc.stdout.close()
    console = buf.decode("utf-8", "replace")
    if log_path:
        with open(log_path, "w") as f:
            f.write(console)
    p = parse_console(console)
    end = done_at if done_at is not None else time.monotonic()
    return GuestResult(console=console, lease=p["lease"], dhcp_ok=p["dhcp_ok"],
                       script_rc=p["script_rc"], done=p["done"], timed_out=timed_out,
                       returncode=proc.returncode, elapsed=end - start, times=p["times"],
                       warnings=p["warnings"], argv=argv, slaac=p["slaac"],
                       slaac_ok=p["slaac_ok"])


if __name__ == "__main__":
    # Quick manual check: python3 qemu_guest.py CACHE_DIR [qemu netdev args...]
    import sys
    k, i = ensure_guest(sys.argv[1])
    nd = sys.argv[2:] or ["-netdev", "user,id=n0,restrict=on"]
    res = boot(k, i, nd, script="ip addr; ip route; cat /etc/resolv.conf")
    print(res.console)
    print("lease=%r dhcp_ok=%r script_rc=%r done=%r elapsed=%.1fs times=%r" % (
        res.lease, res.dhcp_ok, res.script_rc, res.done, res.elapsed, res.times))
    sys.exit(0 if res.ok else 1)
