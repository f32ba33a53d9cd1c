/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netns.h - a private network namespace for the unit tests that bind ports
 *
 * Copyright (c) 2026 merd authors
 *
 * test_port and test_alloc hold ports and open raw sockets: they must never
 * do it in the machine's own namespace. unit_netns() moves the test program
 * into a new one (unshare(), as root), with loopback up and the descriptor
 * limit raised, or says why it can't and the program stops.
 */

#ifndef UNIT_NETNS_H
#define UNIT_NETNS_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

/**
 * unit_lo_up() - bring loopback up in this namespace
 *
 * Return: 0 on success, -1 with errno set
 */
static inline int unit_lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ret = 0;

	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		ret = -1;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr))
		ret = -1;
	close(fd);
	return ret;
}

/**
 * unit_netns() - move into a network namespace of our own, loopback up
 * @prog:	program name, for the message
 *
 * Return: 0 on success, -1 after saying why on stderr
 */
static inline int unit_netns(const char *prog)
{
	struct rlimit rl;

	/* Never bind a port of the machine's own namespace */
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "%s: unshare(CLONE_NEWNET): %s: these tests "
			"bind ports and only run in a network namespace of "
			"their own (as root)\n", prog, strerror(errno));
		return -1;
	}
	if (unit_lo_up()) {
		fprintf(stderr, "%s: can't bring loopback up: %s\n", prog,
			strerror(errno));
		return -1;
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return 0;
}

#endif /* UNIT_NETNS_H */
