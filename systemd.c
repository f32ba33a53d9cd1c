// SPDX-License-Identifier: GPL-2.0-or-later
/* systemd.c - socket activation and readiness, systemd's two protocols
 *
 * Copyright (c) 2026 merd authors
 *
 * Both are small, documented and stable (sd_listen_fds(3), sd_notify(3)):
 * merd speaks them itself rather than linking libsystemd, whose other
 * thousand functions it would carry for two, and works the same without
 * systemd, where the variables are unset.
 *
 * - Socket activation: LISTEN_PID names this process and LISTEN_FDS the
 *   number of descriptors passed from 3 on; merd takes exactly one, a
 *   listening AF_UNIX stream socket.
 * - Readiness: NOTIFY_SOCKET names an AF_UNIX datagram socket (a path, or
 *   an abstract name after '@'); "READY=1" is sent once merd serves,
 *   "STOPPING=1" when it leaves.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"
#include "systemd.h"

/* sd_listen_fds(3): passed descriptors start here */
#define SD_LISTEN_FDS_START	3

/**
 * sd_number() - read a decimal environment variable
 * @name:	variable
 * @v:		set to its value
 *
 * Return: 0 if it is set to a number, -1 otherwise
 */
static int sd_number(const char *name, unsigned long *v)
{
	const char *s = getenv(name);
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/**
 * sd_listen_fd() - the listening socket systemd passed, if any
 *
 * Clears the variables, so that nothing merd starts takes them too.
 *
 * Return: descriptor, -1 if none was passed to this process, -EINVAL if
 *	   more than one, or not a listening AF_UNIX stream socket
 */
int sd_listen_fd(void)
{
	unsigned long pid, n;
	int fd = SD_LISTEN_FDS_START, v = 0;
	socklen_t len = sizeof(v);
	struct sockaddr_un a = { .sun_family = AF_UNSPEC };
	socklen_t alen = sizeof(a);

	if (sd_number("LISTEN_PID", &pid) || pid != (unsigned long)getpid() ||
	    sd_number("LISTEN_FDS", &n) || !n)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n != 1)
		return -EINVAL;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) || !v ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) ||
	    a.sun_family != AF_UNIX)
		return -EINVAL;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		return -errno;
	return fd;
}

/**
 * sd_notify_open() - connect to the service manager's notification socket
 *
 * At start, while merd can still reach the socket's path: once isolated,
 * merd has no filesystem, and only this connected socket tells systemd.
 *
 * Return: the socket, -1 without NOTIFY_SOCKET or if it can't be reached
 *	   (logged)
 */
int sd_notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t alen;
	size_t plen;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return -1;
	plen = strlen(path);
	if (plen >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, path, plen);
	if (a.sun_path[0] == '@')
		a.sun_path[0] = '\0';	/* abstract namespace */
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, alen)) {
		warn_perror("can't reach the service manager at %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

/**
 * sd_notify_state() - tell the service manager how merd is doing
 * @fd:		socket from sd_notify_open(), -1 for none
 * @state:	"READY=1", "STOPPING=1", ...
 *
 * Nothing happens without a socket; a failure is only logged.
 */
void sd_notify_state(int fd, const char *state)
{
	char msg[SD_NOTIFY_MAX];
	int n;

	if (fd < 0)
		return;
	n = snprintf(msg, sizeof(msg), "%s\nMAINPID=%ld", state,
		     (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL) < 0)
		warn_perror("can't notify the service manager");
}
