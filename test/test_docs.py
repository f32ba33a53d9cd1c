# SPDX-License-Identifier: GPL-2.0-or-later
"""The man pages: every option merd --help (qrap --help) names is in merd.1
(qrap.1) and the other way round, both pages render without a groff warning,
and make install puts the programs, the pages and the unit where they belong.
--version prints the release the Makefile and debian/changelog name; the
Debian package builds, where dpkg-buildpackage and debhelper are installed."""

import os
import re
import shutil
import subprocess

import pytest

from merdtest import MERD, QRAP

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAN = os.path.join(TOP, "doc", "merd.1")


def help_options(binary=MERD):
    """Long options merd --help (or binary's) lists."""
    out = subprocess.run([binary, "--help"], stdout=subprocess.PIPE, check=True,
                         universal_newlines=True).stdout
    return set(re.findall(r"^\s+(?:-\w, )?--([a-z0-9-]+)", out, re.M))


def man_options(page=MAN):
    """Long options merd.1 (or page) describes: the tags of its OPTIONS section."""
    text = open(page).read()
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


def test_qrap_help_and_man_page_agree():
    h = help_options(QRAP)
    m = man_options(os.path.join(TOP, "doc", "qrap.1"))
    assert h == {"socket", "help", "version"}
    assert h == m


def release():
    """VERSION of the Makefile, checked against debian/changelog's top entry."""
    mk = re.search(r"^VERSION := (\S+)$", open(os.path.join(TOP, "Makefile")).read(), re.M)
    assert mk, "the Makefile names no VERSION"
    with open(os.path.join(TOP, "debian", "changelog")) as f:
        top = re.match(r"merd \(([^)]+)\) ", f.readline())
    assert top, "debian/changelog has no top entry"
    assert top.group(1) == mk.group(1), "Makefile and debian/changelog disagree"
    assert re.fullmatch(r"\d+\.\d+\.\d+", mk.group(1)), mk.group(1)
    return mk.group(1)


def test_version_is_the_release():
    """merd --version and qrap --version print the release, exit status 0."""
    v = release()
    for binary, name in ((MERD, "merd"), (QRAP, "qrap")):
        p = subprocess.run([binary, "--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=10)
        assert (p.returncode, p.stdout, p.stderr) == (0, "%s %s\n" % (name, v), "")


def tree_copy(dest):
    """The source tree as git sees it (tracked files and new ones, nothing
    ignored: no build products) copied to dest."""
    files = subprocess.run(["git", "-C", TOP, "ls-files", "-co", "--exclude-standard", "-z"],
                           stdout=subprocess.PIPE, check=True).stdout
    for f in files.decode().split("\0"):
        if f and os.path.lexists(os.path.join(TOP, f)):
            os.makedirs(os.path.join(dest, os.path.dirname(f)), exist_ok=True)
            shutil.copy2(os.path.join(TOP, f), os.path.join(dest, f), follow_symlinks=False)


@pytest.mark.timeout(600)
def test_debian_package(tmp_path):
    """dpkg-buildpackage -us -uc -b (what make deb runs), in a copy of the
    tree: the package holds the programs, the man pages, the units in
    Debian 12's /lib/systemd/system and the README, the programs print the
    release, and lintian (where installed) reports no error."""
    if not shutil.which("dpkg-buildpackage") or not shutil.which("dh"):
        pytest.skip("dpkg-dev and debhelper are not installed (apt-get install dpkg-dev "
                    "debhelper): the package build is optional, make check doesn't install them")
    if not os.path.isdir(os.path.join(TOP, ".git")):
        pytest.skip("not a git tree: the copy to build in is made with git ls-files")
    src = tmp_path / "merd"
    tree_copy(str(src))
    p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=str(src),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=540)
    assert p.returncode == 0, p.stdout[-4000:]
    v = release()
    arch = subprocess.run(["dpkg", "--print-architecture"], stdout=subprocess.PIPE,
                          check=True, universal_newlines=True).stdout.strip()
    deb = tmp_path / ("merd_%s_%s.deb" % (v, arch))
    assert deb.exists(), sorted(os.listdir(str(tmp_path)))
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    for path in ("usr/bin/merd", "usr/bin/qrap", "usr/share/man/man1/merd.1.gz",
                 "usr/share/man/man1/qrap.1.gz", "usr/share/doc/merd/README.md",
                 "usr/share/doc/merd/copyright", "lib/systemd/system/merd@.service",
                 "lib/systemd/system/merd@.socket"):
        assert (root / path).is_file(), path
    assert not (root / "usr/lib").exists(), "Debian 12's units go to /lib/systemd/system"
    unit = (root / "lib/systemd/system/merd@.service").read_text()
    assert "ExecStart=/usr/bin/merd " in unit
    assert "Documentation=file:///usr/share/doc/merd/README.md" in unit
    for name in ("merd", "qrap"):
        out = subprocess.run([str(root / "usr/bin" / name), "--version"], check=True,
                             stdout=subprocess.PIPE, universal_newlines=True).stdout
        assert out == "%s %s\n" % (name, v)
    if shutil.which("lintian"):
        lt = subprocess.run(["lintian", str(tmp_path / ("merd_%s_%s.changes" % (v, arch)))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=300)
        errors = [ln for ln in lt.stdout.splitlines() if ln.startswith("E:")]
        assert errors == [], lt.stdout
