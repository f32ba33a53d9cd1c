// SPDX-License-Identifier: GPL-2.0-or-later
/* isolation.c - what merd gives up once it is set up
 *
 * Copyright (c) 2026 merd authors
 *
 * Everything that needs a privilege is opened at start: the raw sockets,
 * the sockets holding host ports, the socket file, the log and capture
 * files, the netlink socket. Then, before the first frame is read, the
 * serving process:
 *
 * - enters new mount, IPC and UTS namespaces (and, when not root, a new
 *   user namespace that makes them possible), whose root is an empty,
 *   read-only tmpfs: no file of the host can be opened from then on;
 * - switches to the --runas user and group (nobody when started as root),
 *   with no supplementary groups;
 * - drops every capability, from the bounding set too, but
 *   CAP_NET_BIND_SERVICE where its flows' ports start below 1024;
 * - sets no_new_privs, so that nothing it could execute gains privileges,
 *   and PR_SET_DUMPABLE 0, so that no other process of its user can trace
 *   it or read its memory;
 * - installs a seccomp filter that allows exactly the system calls the
 *   event loop makes (seccomp.c). Anything else is trapped: merd says which
 *   call, and exits with status 1.
 *
 * The network namespace stays the host's: merd serves in it.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "isolation.h"
#include "log.h"
#include "merd.h"
#include "seccomp.h"

/* The empty root: a tmpfs of two inodes and no blocks, read-only */
#define ISO_ROOT	"/tmp"
#define ISO_ROOT_OPTS	"nr_inodes=2,nr_blocks=0"

#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);

/**
 * __asan_default_options() - AddressSanitizer's defaults for merd's tests
 *
 * LeakSanitizer's check at exit ptraces merd from a thread of its own and
 * spins forever in the sandbox: off, whatever the environment says (a
 * launcher such as systemd-socket-activate doesn't pass ASAN_OPTIONS on).
 * The unit tests and fuzzers check for leaks.
 *
 * Return: the options
 */
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

/**
 * iso_capset() - set the capabilities of this thread
 * @keep:	capability to keep, effective and permitted, or -1 for none
 *
 * Return: 0 on success, -1 with errno set
 */
static int iso_capset(int keep)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (keep >= 0) {
		data[keep / 32].effective = 1U << (keep % 32);
		data[keep / 32].permitted = 1U << (keep % 32);
	}
	return (int)syscall(SYS_capset, &hdr, data);
}

/**
 * iso_bounding() - empty the capability bounding set, but for one
 * @keep:	capability to leave in it, or -1
 *
 * Only with CAP_SETPCAP; without it (merd not root), the set is left as
 * it is: what isn't permitted can't be gained back anyway, with
 * no_new_privs set.
 */
static void iso_bounding(int keep)
{
	int cap;

	for (cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (cap == keep)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno == EPERM)
			return;
	}
}

/**
 * iso_map() - write one line of a user namespace's map
 * @path:	/proc/self/uid_map, gid_map or setgroups
 * @line:	what to write
 *
 * Return: 0 on success, -errno
 */
static int iso_map(const char *path, const char *line)
{
	size_t len = strlen(line);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, line, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}

/**
 * iso_userns() - enter a user namespace, where a merd that isn't root may
 *		  then make the others
 *
 * merd keeps its user and group inside (each mapped to itself), and can't
 * take supplementary groups (setgroups is denied, as the kernel wants
 * before an unprivileged gid_map).
 *
 * Return: 0 on success, -errno
 */
static int iso_userns(void)
{
	char uid_map[32], gid_map[32];
	int ret;

	snprintf(uid_map, sizeof(uid_map), "%u %u 1", geteuid(), geteuid());
	snprintf(gid_map, sizeof(gid_map), "%u %u 1", getegid(), getegid());
	if (unshare(CLONE_NEWUSER))
		return -errno;
	ret = iso_map("/proc/self/uid_map", uid_map);
	if (!ret)
		ret = iso_map("/proc/self/setgroups", "deny");
	if (!ret)
		ret = iso_map("/proc/self/gid_map", gid_map);
	return ret;
}

/**
 * iso_root() - enter new mount, IPC and UTS namespaces, an empty root
 *
 * The tmpfs is mounted over ISO_ROOT of the new mount namespace, made the
 * root with pivot_root(".", "."), and the old root, now stacked on it,
 * detached: nothing of the host's filesystem is reachable by path.
 *
 * Return: 0 on success, -errno
 */
static int iso_root(void)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS))
		return -errno;
	/* Nothing done here may reach the host's mount namespace */
	if (mount("", "/", "", MS_REC | MS_PRIVATE, NULL))
		return -errno;
	if (mount("tmpfs", ISO_ROOT, "tmpfs",
		  MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_RDONLY,
		  ISO_ROOT_OPTS))
		return -errno;
	if (chdir(ISO_ROOT) || syscall(SYS_pivot_root, ".", "."))
		return -errno;
	if (umount2(".", MNT_DETACH | UMOUNT_NOFOLLOW) || chdir("/"))
		return -errno;
	return 0;
}

/**
 * iso_ids() - serve as the --runas user and group
 * @c:		context
 * @keep:	capability to keep across the change, or -1
 *
 * Return: 0 on success, -errno
 */
static int iso_ids(const struct ctx *c, int keep)
{
	uid_t uid = c->opts.runas_uid;
	gid_t gid = c->opts.runas_gid;

	if (geteuid() == uid && getegid() == gid)
		return 0;
	if (keep >= 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return -errno;
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

/**
 * isolate() - give up everything merd doesn't need to serve
 * @c:		context: everything opened, the loop set up
 *
 * Exits with status 1 and one line if a step that must succeed fails; the
 * namespaces are entered where the kernel allows, else left out with a
 * note.
 */
void isolate(struct ctx *c)
{
	int keep = c->opts.ports_lo < IPPORT_RESERVED ?
		   CAP_NET_BIND_SERVICE : -1;
	bool root = geteuid() == 0;
	int ret;

	/* What a library would read lazily from the filesystem, now */
	tzset();

	ret = root ? 0 : iso_userns();
	if (!ret)
		ret = iso_root();
	if (ret)
		info("no private mount namespace: %s", strerror(-ret));

	iso_bounding(keep);
	ret = iso_ids(c, keep);
	if (ret)
		die("can't serve as user %u, group %u: %s", c->opts.runas_uid,
		    c->opts.runas_gid, strerror(-ret));
	if (iso_capset(keep) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
		die("can't drop capabilities: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		die("can't set no_new_privs: %s", strerror(errno));
	ret = seccomp_install();
	if (ret)
		die("can't install the seccomp filter: %s", strerror(-ret));
	debug("serving as user %u, group %u, %s", c->opts.runas_uid,
	      c->opts.runas_gid, keep >= 0 ? "CAP_NET_BIND_SERVICE kept" :
	      "no capabilities");
}
