/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_netns.h - refuse to fuzz the forwarding path outside a private netns
 *
 * Copyright (c) 2026 merd authors
 *
 * The harnesses that link fwd.c open raw sockets and send what the fuzzer
 * makes up. They must never do that where it could leave the machine: they
 * run in a fresh network namespace with nothing but loopback (run.sh uses
 * `unshare -n`). fuzz_netns_check() makes sure of it before anything is
 * opened, and aborts otherwise:
 *
 * - no interface but loopback is up (if_nameindex(), SIOCGIFFLAGS);
 * - there is no route to addresses outside 127/8: connect() of a UDP socket
 *   (a route lookup, nothing is sent) to a documentation address, to a
 *   public one and to a multicast one fails with ENETUNREACH.
 *
 * In such a namespace, raw sends to anything but 127/8 fail with
 * ENETUNREACH, which merd turns into ICMP errors for the guest.
 */

#ifndef FUZZ_NETNS_H
#define FUZZ_NETNS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/**
 * fuzz_netns_die() - explain and abort
 * @who:	harness name
 * @why:	what was found
 */
static inline void fuzz_netns_die(const char *who, const char *why)
{
	fprintf(stderr, "%s: %s: refusing to run outside a private network "
		"namespace with only loopback; use e.g.\n"
		"  unshare -n sh -c 'ip link set lo up; exec %s ...'\n",
		who, why, who);
	abort();
}

/**
 * fuzz_netns_check() - abort unless only loopback can be reached
 * @who:	harness name, for the message
 */
static inline void fuzz_netns_check(const char *who)
{
	static const char *const probe[] = {
		"192.0.2.1", "198.51.100.1", "203.0.113.1", "1.1.1.1",
		"224.0.0.1", "10.0.0.1",
	};
	struct if_nameindex *ifs, *i;
	char msg[128];
	size_t k;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fuzz_netns_die(who, "no UDP socket");

	ifs = if_nameindex();
	if (!ifs)
		fuzz_netns_die(who, "can't list interfaces");
	for (i = ifs; i->if_index; i++) {
		struct ifreq ifr;

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->if_name);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr))
			fuzz_netns_die(who, "can't read interface flags");
		if ((ifr.ifr_flags & IFF_UP) &&
		    !(ifr.ifr_flags & IFF_LOOPBACK)) {
			snprintf(msg, sizeof(msg), "interface %s is up",
				 i->if_name);
			fuzz_netns_die(who, msg);
		}
	}
	if_freenameindex(ifs);

	for (k = 0; k < sizeof(probe) / sizeof(probe[0]); k++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons(9) };

		inet_pton(AF_INET, probe[k], &a.sin_addr);
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
		    errno != ENETUNREACH) {
			snprintf(msg, sizeof(msg), "%s is routable", probe[k]);
			fuzz_netns_die(who, msg);
		}
	}
	close(fd);
}

#endif /* FUZZ_NETNS_H */
