// SPDX-License-Identifier: GPL-2.0-or-later
/* qrap.c - connect to merd, put the socket on a descriptor, run qemu
 *
 * Copyright (c) 2026 merd authors
 *
 * Usage: qrap [-s PATH] FDNUM QEMU [ARGS...], qrap --help, qrap --version
 *
 * qemu refuses a descriptor that isn't a tap device for -net tap,fd=N, but
 * its socket netdev (-netdev socket,fd=N) takes a connected stream socket
 * and speaks the same framing as -netdev stream. qrap connects to merd,
 * moves the connection to FDNUM, adds "-netdev socket,fd=FDNUM" and a
 * virtio-net-pci device unless the command line already uses FDNUM, and
 * executes qemu.
 *
 * Whatever listens on the path must be root's or qrap's own user's
 * (SO_PEERCRED: the listener's credentials when it called listen(), which
 * a merd started as root does before it drops root): a socket another user
 * placed there would see all the guest's traffic.
 */

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* merd's default socket paths (tap.h): the same names in the same
 * directory, in the same order. qrap is a separate program and includes
 * none of merd's headers; test_qrap.py checks that it finds a merd on a
 * default path
 */
#define QRAP_SOCK_NAME_FMT	"merd_%d.socket"
#define QRAP_SOCK_MAX		100
#define QRAP_SOCK_DIR_ROOT	"/run/merd"
#define QRAP_SOCK_DIR_XDG	"merd"
#define QRAP_SOCK_DIR_TMP_FMT	"/tmp/merd-%u"
#define QRAP_SOCK_RANGE		"merd_1.socket to merd_100.socket"
#define QRAP_PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)
/* connect() found something, but not root's nor ours: see qrap_connect() */
#define QRAP_FOREIGN		(-EPERM)

/* merd closes a refused connection at once: wait this long to see it */
#define QRAP_BUSY_WAIT_MS	300
/* qemu's -netdev id for the network device qrap adds */
#define QRAP_NETDEV_ID		"merd0"
/* Highest descriptor number accepted for FDNUM */
#define QRAP_FD_MAX		1023

/**
 * usage() - print usage and exit
 * @name:	program name
 * @status:	exit status: 0 for --help (usage to stdout), else 1 (stderr)
 */
static void usage(const char *name, int status)
{
	fprintf(status ? stderr : stdout,
		"Usage: %s [-s PATH] FDNUM QEMU [ARGS...]\n"
		"Connect to merd's socket (default: the first free merd of\n"
		QRAP_SOCK_RANGE " in $XDG_RUNTIME_DIR/merd, else\n"
		"/tmp/merd-UID; for root in " QRAP_SOCK_DIR_ROOT "),\n"
		"place the connection on descriptor FDNUM and run QEMU with "
		"ARGS,\n"
		"adding -netdev socket,fd=FDNUM and a virtio-net-pci device "
		"if ARGS don't use FDNUM.\n"
		"\n"
		"  -s, --socket PATH	merd's socket\n"
		"  -h, --help		print this help and exit\n"
		"      --version		print the version and exit\n", name);
	exit(status);
}

/**
 * qrap_peer_trusted() - check whose socket a connection reached
 * @s:		connected socket
 * @uid:	set to the user of the program that listens
 *
 * Return: 0 if it is root's or qrap's own user's, QRAP_FOREIGN if it is
 *	   another user's, -errno if it can't be told
 */
static int qrap_peer_trusted(int s, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	*uid = cred.uid;
	return cred.uid == 0 || cred.uid == geteuid() ? 0 : QRAP_FOREIGN;
}

/**
 * qrap_connect() - connect to one socket path and check merd took us
 * @path:	socket path
 * @fd:		set to the connected socket on success
 * @uid:	set to the listener's user when it isn't a trusted one
 *
 * Return: 0 on success, -EBUSY if merd refused us because it serves
 *	   another guest, QRAP_FOREIGN if another user listens there, -errno
 *	   from connect() otherwise
 */
static int qrap_connect(const char *path, int *fd, uid_t *uid)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	int s, ret;
	char byte;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);

	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a))) {
		ret = -errno;
		close(s);
		return ret;
	}
	ret = qrap_peer_trusted(s, uid);
	if (ret) {
		close(s);
		return ret;
	}

	/* A busy merd accepts and closes right away: look for that */
	pfd.fd = s;
	pfd.events = POLLIN | POLLRDHUP;
	if (poll(&pfd, 1, QRAP_BUSY_WAIT_MS) > 0 &&
	    recv(s, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
		close(s);
		return -EBUSY;
	}

	*fd = s;
	return 0;
}

/**
 * qrap_dir() - the directory of merd's default socket paths, as merd
 *		picks it (tap_sock_dir())
 * @dir:	set to its path
 * @size:	size of @dir
 */
static void qrap_dir(char *dir, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (!geteuid())
		snprintf(dir, size, "%s", QRAP_SOCK_DIR_ROOT);
	else if (xdg && *xdg == '/')
		snprintf(dir, size, "%s/%s", xdg, QRAP_SOCK_DIR_XDG);
	else
		snprintf(dir, size, QRAP_SOCK_DIR_TMP_FMT,
			 (unsigned int)geteuid());
}

/**
 * qrap_fail() - say why a socket path can't be used, and exit
 * @path:	socket path
 * @ret:	error from qrap_connect()
 * @uid:	user listening there, for QRAP_FOREIGN
 */
static void qrap_fail(const char *path, int ret, uid_t uid)
{
	if (ret == QRAP_FOREIGN)
		fprintf(stderr, "qrap: refusing %s: it is served by uid %u, "
			"not by root or by uid %u\n", path, (unsigned int)uid,
			(unsigned int)geteuid());
	else if (ret == -EBUSY)
		fprintf(stderr, "qrap: merd at %s is busy with another "
			"guest\n", path);
	else if (ret == -ENOENT || ret == -ECONNREFUSED)
		fprintf(stderr, "qrap: no merd listening at %s (is merd "
			"running?)\n", path);
	else
		fprintf(stderr, "qrap: can't connect to %s: %s\n", path,
			strerror(-ret));
	exit(EXIT_FAILURE);
}

/**
 * qrap_find() - connect to merd at a path, or at the first default path
 *		 where a merd takes us
 * @path:	socket path, NULL to search the default ones
 *
 * Return: connected socket; exits with a clear message on failure, and at
 *	   the first path another user listens on
 */
static int qrap_find(const char *path)
{
	char dir[QRAP_PATH_LEN], p[QRAP_PATH_LEN];
	int fd = -1, ret, i;
	bool busy = false;
	uid_t uid = 0;

	if (path) {
		ret = qrap_connect(path, &fd, &uid);
		if (ret)
			qrap_fail(path, ret, uid);
		return fd;
	}

	qrap_dir(dir, sizeof(dir));
	for (i = 1; i <= QRAP_SOCK_MAX; i++) {
		if (snprintf(p, sizeof(p), "%s/" QRAP_SOCK_NAME_FMT, dir, i) >=
		    (int)sizeof(p))
			break;
		ret = qrap_connect(p, &fd, &uid);
		if (!ret) {
			fprintf(stderr, "qrap: connected to merd at %s\n", p);
			return fd;
		}
		if (ret == QRAP_FOREIGN)
			qrap_fail(p, ret, uid);
		busy |= ret == -EBUSY;
	}

	if (busy)
		fprintf(stderr, "qrap: every merd found in %s, "
			QRAP_SOCK_RANGE ", is busy with another guest\n", dir);
	else
		fprintf(stderr, "qrap: no merd listening in %s, "
			QRAP_SOCK_RANGE " (is merd running? or give -s PATH)\n",
			dir);
	exit(EXIT_FAILURE);
}

/**
 * qrap_uses_fd() - tell whether a qemu netdev argument uses a descriptor
 * @arg:	comma-separated netdev options, like "socket,fd=5,id=n0"
 * @fdnum:	descriptor number
 *
 * Return: true if one of the options is exactly fd=@fdnum
 */
static bool qrap_uses_fd(const char *arg, int fdnum)
{
	char want[32];
	const char *p = arg;
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "fd=%d", fdnum);
	while (p) {
		if (!strncmp(p, want, n) && (p[n] == ',' || !p[n]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/**
 * qrap_args() - qemu's arguments, with a netdev on @fdnum added if needed
 * @argc:	number of qemu arguments, QEMU itself included
 * @argv:	qemu arguments
 * @fdnum:	descriptor the connection is on
 *
 * Return: NULL-terminated argument vector
 */
static char **qrap_args(int argc, char **argv, int fdnum)
{
	static char dev[] = "virtio-net-pci,netdev=" QRAP_NETDEV_ID;
	static char opt_netdev[] = "-netdev", opt_device[] = "-device";
	static char netdev[64];
	char **args;
	int i;

	args = calloc((size_t)argc + 5, sizeof(*args));
	if (!args) {
		perror("qrap");
		exit(EXIT_FAILURE);
	}
	memcpy(args, argv, (size_t)argc * sizeof(*args));

	for (i = 1; i + 1 < argc; i++) {
		const char *o = argv[i];

		if ((!strcmp(o, "-netdev") || !strcmp(o, "--netdev") ||
		     !strcmp(o, "-net") || !strcmp(o, "-nic")) &&
		    qrap_uses_fd(argv[i + 1], fdnum))
			return args;
	}

	snprintf(netdev, sizeof(netdev), "socket,fd=%d,id=" QRAP_NETDEV_ID,
		 fdnum);
	args[argc] = opt_netdev;
	args[argc + 1] = netdev;
	args[argc + 2] = opt_device;
	args[argc + 3] = dev;
	return args;
}

/**
 * main() - qrap
 * @argc:	argument count
 * @argv:	[-s PATH] FDNUM QEMU [ARGS...]
 *
 * Return: doesn't return on success (qemu runs), 1 on failure
 */
int main(int argc, char **argv)
{
	const char *name = argv[0] ? argv[0] : "qrap", *path = NULL;
	int first = 1, fdnum, fd;
	char **args;
	char *end;
	long v;

	if (argc > 2 && (!strcmp(argv[1], "-s") ||
			 !strcmp(argv[1], "--socket"))) {
		path = argv[2];
		first = 3;
	}
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		usage(name, EXIT_SUCCESS);
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("qrap " MERD_VERSION "\n");
		return EXIT_SUCCESS;
	}
	if (argc - first < 2)
		usage(name, EXIT_FAILURE);

	errno = 0;
	v = strtol(argv[first], &end, 10);
	if (errno || end == argv[first] || *end || v <= STDERR_FILENO ||
	    v > QRAP_FD_MAX) {
		fprintf(stderr, "qrap: invalid FDNUM '%s': must be a number "
			"from %d to %d\n", argv[first], STDERR_FILENO + 1,
			QRAP_FD_MAX);
		return EXIT_FAILURE;
	}
	fdnum = (int)v;

	fd = qrap_find(path);
	if (fd != fdnum) {
		if (dup2(fd, fdnum) < 0) {
			perror("qrap: dup2");
			return EXIT_FAILURE;
		}
		close(fd);
	} else {
		/* Keep it across exec: dup2() would have cleared CLOEXEC */
		int flags = fcntl(fd, F_GETFD);

		fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
	}

	argv += first + 1;
	args = qrap_args(argc - first - 1, argv, fdnum);
	execvp(argv[0], args);
	fprintf(stderr, "qrap: can't run %s: %s\n", argv[0], strerror(errno));
	free(args);
	return EXIT_FAILURE;
}
