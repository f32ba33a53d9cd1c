/* SPDX-License-Identifier: GPL-2.0-or-later */
/* merd.h - MacVTap Egress and Routing Daemon: context shared by all units
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef MERD_H
#define MERD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/un.h>

#include "conntrack.h"
#include "frag.h"
#include "port.h"
#include "raw.h"
#include "util.h"

#define MERD_VERSION_STR "merd " MERD_VERSION

/* Largest number of DNS servers and search domains handed to the guest */
#define DNS_MAX		8
#define SEARCH_MAX	8
/* RFC 1035 2.3.4: names are limited to 255 octets, 253 in text form */
#define DOMAIN_MAX	253

/* MTU limits: RFC 791 minimum for IPv4, and qemu's largest usable one */
#define MTU_MIN		68
#define MTU_MAX		65520

#define UNIX_PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)

/**
 * struct guest_conf - identity handed to the guest (the host's own)
 * @addr:	IPv4 address, network order
 * @prefix_len:	IPv4 prefix length
 * @gw:		default gateway, network order
 * @dns:	DNS servers for the guest, network order
 * @dns_n:	number of entries in @dns
 * @search:	DNS search list, dotted names
 * @search_n:	number of entries in @search
 * @mtu:	link MTU
 * @our_mac:	MAC address merd uses on the guest's link
 */
struct guest_conf {
	struct in_addr addr;
	int prefix_len;
	struct in_addr gw;
	struct in_addr dns[DNS_MAX];
	int dns_n;
	char search[SEARCH_MAX][DOMAIN_MAX + 1];
	int search_n;
	unsigned int mtu;
	uint8_t our_mac[ETH_ALEN];
};

/**
 * struct host_conf - what netlink reported about the host's uplink
 * @ifi:	interface index of the default route, 0 if none
 * @ifname:	its name
 * @mac:	its MAC address, all zero if it has none
 * @mtu:	its MTU
 * @addr4:	IPv4 address on it, network order
 * @prefix4:	prefix length of @addr4, -1 if none was found
 * @gw4:	IPv4 default gateway, network order, INADDR_ANY if none
 * @ifi6:	interface index of the default IPv6 route, 0 if none
 * @addr6:	global IPv6 address on @ifi6 (for later use)
 * @prefix6:	prefix length of @addr6, -1 if none was found
 * @gw6:	IPv6 default gateway
 */
struct host_conf {
	unsigned int ifi;
	char ifname[IFNAMSIZ];
	uint8_t mac[ETH_ALEN];
	unsigned int mtu;
	struct in_addr addr4;
	int prefix4;
	struct in_addr gw4;
	unsigned int ifi6;
	struct in6_addr addr6;
	int prefix6;
	struct in6_addr gw6;
};

/* Receive buffer for the qemu stream: room for many frames per read(),
 * plus the largest frame so that a partial one can always be completed
 */
#define TAP_RX_BATCH	((size_t)1024 * 1024)
/* Bound on what waits to be written to qemu */
#define TAP_TX_QUEUE	((size_t)8 * 1024 * 1024)

/**
 * struct tap_rx - bytes read from qemu, not yet split into frames
 * @buf:	buffer, TAP_RX_BATCH + TAP_FRAME_MAX + 4 bytes
 * @size:	size of @buf
 * @len:	bytes held in @buf, starting at offset 0
 */
struct tap_rx {
	uint8_t *buf;
	size_t size;
	size_t len;
};

/**
 * struct tap_tx - byte ring of length-prefixed frames waiting for qemu
 * @buf:	ring storage
 * @size:	size of @buf
 * @head:	offset of the first byte not yet written
 * @used:	bytes queued
 * @dropped:	frames dropped because the queue was full
 */
struct tap_tx {
	uint8_t *buf;
	size_t size;
	size_t head;
	size_t used;
	unsigned long dropped;
};

/**
 * struct ctx - everything merd knows, passed to every handler
 * @sock_path:	path of the AF_UNIX socket qemu connects to
 * @sock_path_set: @sock_path was given on the command line
 * @pidfile:	PID file to write, empty for none
 * @foreground:	don't daemonise
 * @debug:	log debug messages
 * @trace:	log one line per packet answered or forwarded
 * @one_off:	exit when the guest disconnects
 * @ifname:	interface requested with --interface, empty if none
 * @host:	what netlink found
 * @guest:	what the guest is given
 * @guest_mac:	MAC address of the guest, learnt from its frames
 * @guest_mac_known: @guest_mac is valid
 * @epollfd:	epoll descriptor of the main loop
 * @fd_listen:	listening AF_UNIX socket
 * @fd_tap:	connected qemu socket, -1 if none
 * @tap_frames:	frames received on the current connection
 * @rx:		receive state of @fd_tap
 * @tx:		transmit queue of @fd_tap
 * @tx_waiting:	EPOLLOUT is armed on @fd_tap
 * @ip_id:	IPv4 identification for packets merd builds itself
 * @quit:	leave the main loop
 * @no_map_gw:	the gateway address is just the gateway, not the host
 * @dns_host:	resolver on the host's loopback that the gateway's DNS port
 *		maps to, INADDR_ANY if none
 * @out_addr:	host address guest flows leave from
 * @ports_lo:	first host port for flows
 * @ports_hi:	last host port for flows
 * @flows_max:	size of the flow table
 * @ct_timeout:	per conntrack state, timeout from --timeout, 0: default
 * @now:	monotonic clock, seconds, read once per loop iteration
 * @fd_timer:	timerfd ticking once a second
 * @ct:		connection tracking
 * @ports:	host ports held for flows
 * @raw:	raw sockets
 * @frag:	reassembly of the guest's fragments
 * @scratch:	RAW_PKT_MAX bytes for building a packet out of pieces
 */
struct ctx {
	char sock_path[UNIX_PATH_LEN];
	bool sock_path_set;
	char pidfile[PATH_MAX];
	bool foreground;
	bool debug;
	bool trace;
	bool one_off;
	char ifname[IFNAMSIZ];

	struct host_conf host;
	struct guest_conf guest;

	uint8_t guest_mac[ETH_ALEN];
	bool guest_mac_known;

	int epollfd;
	int fd_listen;
	int fd_tap;
	unsigned long tap_frames;
	struct tap_rx rx;
	struct tap_tx tx;
	bool tx_waiting;
	uint16_t ip_id;
	bool quit;

	bool no_map_gw;
	struct in_addr dns_host;
	struct in_addr out_addr;
	uint16_t ports_lo;
	uint16_t ports_hi;
	uint32_t flows_max;
	uint32_t ct_timeout[CT_STATES];
	uint32_t now;
	int fd_timer;
	struct conntrack ct;
	struct ports ports;
	struct raw raw;
	struct frag frag;
	uint8_t *scratch;
};

/**
 * enum epoll_type - what an epoll event refers to
 * @EPOLL_TYPE_LISTEN:	listening AF_UNIX socket
 * @EPOLL_TYPE_TAP:	connected qemu socket
 * @EPOLL_TYPE_SIGNAL:	signalfd
 * @EPOLL_TYPE_TIMER:	timerfd for aging
 * @EPOLL_TYPE_RAW:	raw socket (@fd holds the enum raw_proto)
 */
enum epoll_type {
	EPOLL_TYPE_LISTEN = 1,
	EPOLL_TYPE_TAP,
	EPOLL_TYPE_SIGNAL,
	EPOLL_TYPE_TIMER,
	EPOLL_TYPE_RAW,
};

/**
 * union epoll_ref - what is stored in epoll_data for each descriptor
 * @type:	enum epoll_type
 * @fd:		descriptor
 * @u64:	as stored in epoll_data
 */
union epoll_ref {
	struct {
		uint32_t type;
		int32_t fd;
	};
	uint64_t u64;
};

/**
 * epoll_add_ref() - watch a descriptor, with a reference of choice
 * @c:		context
 * @fd:		descriptor
 * @events:	epoll events
 * @type:	what @fd is, handed back with its events
 * @id:		handed back in the @fd field of the reference
 *
 * Return: 0 on success, -1 with errno set
 */
static inline int epoll_add_ref(const struct ctx *c, int fd, uint32_t events,
				enum epoll_type type, int id)
{
	union epoll_ref ref = { .type = type, .fd = id };
	struct epoll_event ev = { .events = events, .data.u64 = ref.u64 };

	return epoll_ctl(c->epollfd, EPOLL_CTL_ADD, fd, &ev);
}

/**
 * epoll_add() - watch a descriptor in the main loop
 * @c:		context
 * @fd:		descriptor
 * @events:	epoll events
 * @type:	what @fd is, handed back with its events
 *
 * Return: 0 on success, -1 with errno set
 */
static inline int epoll_add(const struct ctx *c, int fd, uint32_t events,
			    enum epoll_type type)
{
	return epoll_add_ref(c, fd, events, type, fd);
}

/**
 * iov_const() - a pointer to read-only bytes, for an iovec that only
 *		 reads them (writev(), sendmsg(), the transmit ring)
 * @p:		bytes
 *
 * Return: @p, without const
 */
static inline void *iov_const(const void *p)
{
	union {
		const void *c;
		void *v;
	} u = { .c = p };

	return u.v;
}

#endif /* MERD_H */
