# SPDX-License-Identifier: GPL-2.0-or-later
"""The man pages: every option merd --help names is in merd.1 and the other
way round, both pages render without a groff warning, and make install puts
the programs, the pages and the unit where they belong."""

import os
import re
import subprocess

from merdtest import MERD

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAN = os.path.join(TOP, "doc", "merd.1")


def help_options():
    """Long options merd --help lists."""
    out = subprocess.run([MERD, "--help"], stdout=subprocess.PIPE, check=True,
                         universal_newlines=True).stdout
    return set(re.findall(r"^\s+(?:-\w, )?--([a-z0-9-]+)", out, re.M))


def man_options():
    """Long options merd.1 describes: the tags of its OPTIONS section."""
    text = open(MAN).read()
    opts = text.split(".SH OPTIONS", 1)[1].split("\n.SH ", 1)[0]
    tags = re.findall(r"^\.TP\n(.*)$", opts, re.M)
    return {m.replace("\\-", "-") for t in tags for m in re.findall(r"\\-\\-([a-z0-9\\-]+)", t)}


def test_help_and_man_page_agree():
    h, m = help_options(), man_options()
    assert len(h) > 30
    assert h - m == set(), "in --help, not in merd.1"
    assert m - h == set(), "in merd.1, not in --help"


def test_man_pages_render_without_warnings():
    for page in ("merd.1", "qrap.1"):
        p = subprocess.run(["groff", "-ww", "-man", "-Tutf8", "-P", "-cbou",
                            os.path.join(TOP, "doc", page)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=30)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        assert "NAME" in p.stdout and "SYNOPSIS" in p.stdout


def test_make_install_layout(tmp_path):
    dest = str(tmp_path)
    subprocess.run(["make", "-s", "-C", TOP, "install", "DESTDIR=" + dest, "PREFIX=/usr"],
                   check=True, stdout=subprocess.DEVNULL, timeout=120)
    for path, mode in (("usr/bin/merd", 0o755), ("usr/bin/qrap", 0o755),
                       ("usr/share/man/man1/merd.1", 0o644),
                       ("usr/share/man/man1/qrap.1", 0o644),
                       ("usr/share/doc/merd/README.md", 0o644),
                       ("usr/lib/systemd/system/merd@.service", 0o644),
                       ("usr/lib/systemd/system/merd@.socket", 0o644)):
        st = os.stat(os.path.join(dest, path))
        assert st.st_mode & 0o777 == mode, path
    unit = open(os.path.join(dest, "usr/lib/systemd/system/merd@.service")).read()
    assert "ExecStart=/usr/bin/merd " in unit
    subprocess.run(["make", "-s", "-C", TOP, "uninstall", "DESTDIR=" + dest, "PREFIX=/usr"],
                   check=True, stdout=subprocess.DEVNULL, timeout=60)
    left = [os.path.join(r, f) for r, _, fs in os.walk(dest) for f in fs]
    assert left == [], left
