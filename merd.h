/* SPDX-License-Identifier: GPL-2.0-or-later */
/* merd.h - MacVTap Egress and Routing Daemon: the context of every handler
 *
 * Copyright (c) 2026 merd authors
 *
 * struct ctx holds everything merd knows, and is passed to every handler:
 * first what it was told or found at start (opts, host, and what the guest
 * gets: link, guest4, guest6), then what changes as it runs (tap, fwd, the
 * loop). There is no other state, but log.c's two settings.
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
#include <sys/un.h>

#include "conntrack.h"
#include "fwd.h"
#include "tap.h"
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
 * struct conf_opts - what the command line asked for
 * @sock_path:	path of the AF_UNIX socket qemu connects to
 * @sock_path_set: @sock_path was given on the command line
 * @pidfile:	PID file to write, empty for none
 * @foreground:	don't daemonise
 * @debug:	log debug messages
 * @trace:	log one line per packet answered or forwarded
 * @one_off:	exit when the guest disconnects
 * @no_map_gw:	the gateway address is just the gateway, not the host
 * @ifname:	interface requested with --interface, empty if none
 * @ports_lo:	first host port for flows
 * @ports_hi:	last host port for flows
 * @flows_max:	size of the flow table
 * @ct_timeout:	per conntrack state, timeout from --timeout, 0: default
 */
struct conf_opts {
	char sock_path[UNIX_PATH_LEN];
	bool sock_path_set;
	char pidfile[PATH_MAX];
	bool foreground;
	bool debug;
	bool trace;
	bool one_off;
	bool no_map_gw;
	char ifname[IFNAMSIZ];
	uint16_t ports_lo;
	uint16_t ports_hi;
	uint32_t flows_max;
	uint32_t ct_timeout[CT_STATES];
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
 * @out4:	address guest flows leave from, network order
 * @dns4_lo:	resolver on the host's loopback that the gateway's DNS port
 *		maps to, INADDR_ANY if none
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
	struct in_addr out4;
	struct in_addr dns4_lo;
};

/**
 * struct guest_link - the guest's link, whatever the family
 * @mtu:	link MTU
 * @mac:	MAC address merd uses on the guest's link
 * @search:	DNS search list, dotted names
 * @search_n:	number of entries in @search
 */
struct guest_link {
	unsigned int mtu;
	uint8_t mac[ETH_ALEN];
	char search[SEARCH_MAX][DOMAIN_MAX + 1];
	int search_n;
};

/**
 * struct guest4 - the IPv4 identity handed to the guest (the host's own)
 * @addr:	address, network order
 * @prefix_len:	prefix length
 * @gw:		default gateway, network order
 * @dns:	DNS servers, network order
 * @dns_n:	number of entries in @dns
 */
struct guest4 {
	struct in_addr addr;
	int prefix_len;
	struct in_addr gw;
	struct in_addr dns[DNS_MAX];
	int dns_n;
};

/**
 * struct guest6 - the IPv6 identity handed to the guest
 * @enabled:	IPv6 is served (not yet: the IPv6 issue fills this in)
 */
struct guest6 {
	bool enabled;
};

/**
 * struct ctx - everything merd knows, passed to every handler
 * @opts:	command line
 * @host:	what netlink found
 * @link:	the guest's link
 * @guest4:	what the guest gets over IPv4
 * @guest6:	what the guest gets over IPv6
 * @tap:	the connection to qemu
 * @fwd:	forwarding: flows, ports, raw sockets
 * @epollfd:	epoll descriptor of the main loop
 * @fd_timer:	timerfd ticking once a second
 * @now:	monotonic clock, seconds, read once per loop iteration
 * @quit:	leave the main loop
 */
struct ctx {
	struct conf_opts opts;
	struct host_conf host;
	struct guest_link link;
	struct guest4 guest4;
	struct guest6 guest6;

	struct tap tap;
	struct fwd fwd;
	int epollfd;
	int fd_timer;
	uint32_t now;
	bool quit;
};

#endif /* MERD_H */
