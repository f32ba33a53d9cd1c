# SPDX-License-Identifier: GPL-2.0-or-later
"""sockdir.py - merd's default socket directory, left as a test found it

The tests run as root, and a root merd without --socket listens in
/run/merd, the machine's own directory (tap.c, tap_sock_dir()). Once merd
has dropped root it may not remove its socket file there, so the fixture
root_sock_dir removes, after the test, whatever merd made there during it:
the socket files, the lock file, and the directory itself if it wasn't
there before. Only one test suite runs at a time.
"""

import os
import re

import pytest

ROOT_DIR = "/run/merd"
# What merd puts there: its default socket names and its lock file
MERD_FILE_RE = re.compile(r"^(merd_\d+\.socket|merd\.lock)$")


class RootSockDir:
    """Remembers /run/merd as it is; restore() puts it back so."""

    def __init__(self):
        self.existed = os.path.lexists(ROOT_DIR)
        self.before = set(os.listdir(ROOT_DIR)) if os.path.isdir(ROOT_DIR) else set()
        self.made = set()

    def forget(self, path):
        """A socket file a merd of the test made there (maybe replacing a
        stale one that was there before): removed in restore()."""
        if os.path.dirname(path) == ROOT_DIR:
            self.made.add(os.path.basename(path))

    def restore(self):
        if not os.path.isdir(ROOT_DIR) or os.path.islink(ROOT_DIR):
            return
        for name in os.listdir(ROOT_DIR):
            if MERD_FILE_RE.match(name) and (name not in self.before or name in self.made):
                os.unlink(os.path.join(ROOT_DIR, name))
        if not self.existed and not os.listdir(ROOT_DIR):
            os.rmdir(ROOT_DIR)


@pytest.fixture
def root_sock_dir():
    """/run/merd restored after the test (see RootSockDir)."""
    d = RootSockDir()
    yield d
    d.restore()
