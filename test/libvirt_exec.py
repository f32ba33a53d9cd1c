#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""libvirt_exec.py - execute a program the way libvirt's qemu driver
executes passt

    libvirt_exec.py UID GID PROGRAM [ARGS...]

qemuPasstStart() asks virCommand to clear the child's capabilities
(virCommandClearCaps()) and, through the DAC security driver, to run it as
the qemu.conf user: libvirt-qemu for qemu:///system on Debian, no change
(UID and GID -1) for qemu:///session. Between fork() and exec(), virExec()
then calls virSetUIDGIDWithCaps(uid, gid, groups, ngroups, 0, true)
(src/util/virutil.c). This does the same calls, in the same order, with
the same library (libcap-ng, through ctypes, as libvirt links it):

1. capng_clear(CAPNG_SELECT_BOTH): libcap-ng's copy of the capability
   sets and of the bounding set emptied;
2. CAP_SETGID, CAP_SETUID (for a change of GID, UID) and CAP_SETPCAP added
   to that copy's effective and permitted sets, where it doesn't hold them
   (after 1, it never does);
3. prctl(PR_SET_KEEPCAPS, 1); capng_apply(CAPNG_SELECT_CAPS): where that
   fails (an unprivileged daemon can't add CAP_SETPCAP), libvirt goes on
   with the copy's sets cleared, if it was asked for no UID or GID change;
4. setregid(), setgroups() (the user's groups), setreuid() where asked;
   prctl(PR_SET_KEEPCAPS, 0);
5. no ambient capability raised (libvirt asks for none);
6. capng_apply(CAPNG_SELECT_BOUNDS) only if CAP_SETPCAP wasn't added in 2:
   it always was, so the bounding set is left as the daemon's;
7. the capabilities added in 2 dropped from the copy, capng_apply(CAPS).

Then PROGRAM is executed. Exit status 126 if a step or the execution
fails, with one line saying which, as libvirt reports it.
"""

import ctypes
import os
import sys

CAP_SETGID, CAP_SETUID, CAP_SETPCAP = 6, 7, 8
PR_SET_KEEPCAPS = 8

# cap-ng.h
CAPNG_DROP, CAPNG_ADD = 0, 1
CAPNG_EFFECTIVE, CAPNG_PERMITTED = 1, 2
CAPNG_SELECT_CAPS, CAPNG_SELECT_BOUNDS, CAPNG_SELECT_BOTH = 16, 32, 48


def fail(what):
    print("libvirt_exec: %s" % what, file=sys.stderr)
    sys.exit(126)


def set_uid_gid_with_caps(uid, gid):
    """virSetUIDGIDWithCaps(uid, gid, ..., capBits = 0, clearExistingCaps)."""
    capng = ctypes.CDLL("libcap-ng.so.0", use_errno=True)
    libc = ctypes.CDLL(None, use_errno=True)
    need_setgid = need_setuid = need_setpcap = False

    capng.capng_clear(CAPNG_SELECT_BOTH)
    if gid != -1 and not capng.capng_have_capability(CAPNG_EFFECTIVE, CAP_SETGID):
        need_setgid = True
        capng.capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETGID)
    if uid != -1 and not capng.capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID):
        need_setuid = True
        capng.capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETUID)
    if not capng.capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP):
        need_setpcap = True
        capng.capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETPCAP)

    if libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0):
        fail("prctl(PR_SET_KEEPCAPS, 1) failed")
    if capng.capng_apply(CAPNG_SELECT_CAPS) < 0:
        if os.getuid() > 0 and not need_setuid and not need_setgid:
            capng.capng_clear(CAPNG_SELECT_CAPS)
        else:
            fail("cannot apply process capabilities")

    # virSetUIDGID(): the GID, the user's groups, then the UID
    if gid != -1:
        os.setregid(gid, gid)
        os.setgroups([gid])
    if uid != -1:
        os.setreuid(uid, uid)
    if libc.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0):
        fail("prctl(PR_SET_KEEPCAPS, 0) failed")

    if not need_setpcap and capng.capng_apply(CAPNG_SELECT_BOUNDS) < 0:
        fail("cannot apply the bounding set")

    if need_setgid:
        capng.capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETGID)
    if need_setuid:
        capng.capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETUID)
    if need_setpcap:
        capng.capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETPCAP)
    if capng.capng_apply(CAPNG_SELECT_CAPS) < 0:
        fail("cannot apply process capabilities")


def main():
    if len(sys.argv) < 4:
        fail("usage: libvirt_exec.py UID GID PROGRAM [ARGS...]")
    set_uid_gid_with_caps(int(sys.argv[1]), int(sys.argv[2]))
    try:
        os.execv(sys.argv[3], sys.argv[3:])
    except OSError as e:
        fail("cannot execute binary %s: %s" % (sys.argv[3], e.strerror))


if __name__ == "__main__":
    main()
