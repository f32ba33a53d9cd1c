/* SPDX-License-Identifier: GPL-2.0-or-later */
/* epoll.h - what each descriptor of the main loop's epoll set stands for
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef EPOLL_H
#define EPOLL_H

#include <assert.h>
#include <stdint.h>
#include <sys/epoll.h>

/**
 * enum epoll_type - what an epoll event refers to
 * @EPOLL_TYPE_LISTEN:	listening AF_UNIX socket
 * @EPOLL_TYPE_TAP:	connected qemu socket
 * @EPOLL_TYPE_SIGNAL:	signalfd
 * @EPOLL_TYPE_TIMER:	timerfd for aging
 * @EPOLL_TYPE_RAW:	raw socket (@id: enum raw_proto, plus RAW_PROTOS for IPv6)
 * @EPOLL_TYPE_NETLINK:	netlink socket told of the host's changes
 * @EPOLL_TYPE_NEIGH:	netlink socket of next hops' addresses (neigh.c)
 */
enum epoll_type {
	EPOLL_TYPE_LISTEN = 1,
	EPOLL_TYPE_TAP,
	EPOLL_TYPE_SIGNAL,
	EPOLL_TYPE_TIMER,
	EPOLL_TYPE_RAW,
	EPOLL_TYPE_NETLINK,
	EPOLL_TYPE_NEIGH,
};

/**
 * union epoll_ref - what is stored in epoll_data for each descriptor
 * @type:	enum epoll_type
 * @id:		descriptor, or which one of a kind
 * @u64:	as stored in epoll_data
 */
union epoll_ref {
	struct {
		uint32_t type;
		int32_t id;
	};
	uint64_t u64;
};

static_assert(sizeof(union epoll_ref) == sizeof(uint64_t),
	      "an epoll reference fits epoll_data");

/**
 * epoll_ref_ctl() - add or change a descriptor of the epoll set
 * @epollfd:	epoll descriptor
 * @op:		EPOLL_CTL_ADD or EPOLL_CTL_MOD
 * @fd:		descriptor
 * @events:	epoll events
 * @type:	what @fd is, handed back with its events
 * @id:		handed back in the @id field of the reference
 *
 * Return: 0 on success, -1 with errno set
 */
static inline int epoll_ref_ctl(int epollfd, int op, int fd, uint32_t events,
				enum epoll_type type, int id)
{
	union epoll_ref ref = { .type = type, .id = id };
	struct epoll_event ev = { .events = events, .data.u64 = ref.u64 };

	return epoll_ctl(epollfd, op, fd, &ev);
}

#endif /* EPOLL_H */
