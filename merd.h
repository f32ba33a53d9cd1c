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
#include <sys/types.h>
#include <sys/un.h>

#include "conntrack.h"
#include "drop.h"
#include "fwd.h"
#include "log.h"
#include "neigh.h"
#include "pcap.h"
#include "tap.h"
#include "util.h"

#define MERD_VERSION_STR "merd " MERD_VERSION

/* Largest number of DNS servers and search domains handed to the guest */
#define DNS_MAX		8
#define SEARCH_MAX	8
/* RFC 1035 2.3.4: names are limited to 255 octets, 253 in text form */
#define DOMAIN_MAX	253
/* Guest IPv6 addresses remembered, besides the one DHCPv6 hands out */
#define GUEST6_OWN_MAX	8
/* Host addresses kept, of each family, all interfaces: the guest reaches
 * none of them but through the gateway mapping (fwd.c). With more, merd
 * can't tell the others from remote ones and refuses every new guest flow
 * of that family (host.c says so)
 */
#define HOST_ADDRS_MAX	64
/* Most --allow-link-local addresses */
#define LL_ALLOW_MAX	8

/* MTU limits: RFC 791 minimum for IPv4, and qemu's largest usable one */
#define MTU_MIN		68
#define MTU_MAX		65520

#define UNIX_PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)

/**
 * struct conf_fixed - parts of the guest's identity given on the command line
 * @addr4:	--address, IPv4
 * @prefix4:	--netmask
 * @gw4:	--gateway, IPv4
 * @addr6:	--address, IPv6
 * @gw6:	--gateway, IPv6
 * @mtu:	--mtu
 */
struct conf_fixed {
	bool addr4, prefix4, gw4;
	bool addr6, gw6;
	bool mtu;
};

/**
 * struct conf_opts - what the command line asked for
 * @sock_path:	path of the AF_UNIX socket qemu connects to
 * @sock_path_set: @sock_path was given on the command line
 * @sock_mode:	permissions of the socket file
 * @sock_gid:	group of the socket file, (gid_t)-1 to leave it the user's
 * @fd:		connected socket to serve (--fd), -1 to listen on @sock_path
 * @log_file:	file to log to, empty for stderr or syslog
 * @log_size:	most bytes it holds, 0 for the default
 * @pcap_file:	file to capture frames to (--pcap), empty for none
 * @quiet:	leave out informational messages
 * @pidfile:	PID file to write, empty for none
 * @foreground:	don't daemonise
 * @debug:	log debug messages
 * @trace:	log one line per packet answered or forwarded
 * @one_off:	exit when the guest disconnects
 * @no_map_gw:	the gateway address is just the gateway, not the host
 * @v4:		serve IPv4 (not --ipv6-only)
 * @v6:		serve IPv6 (not --ipv4-only), where the host has it
 * @no_ndp:	don't answer neighbour solicitations
 * @no_ra:	send no router advertisements
 * @no_dhcpv6:	don't answer DHCPv6
 * @tso:	--tso, the default: tell the guest the MSS of its link and
 *		cut its TCP segments for the path (fwd.c, fwd_tso_syn());
 *		--no-tso announces the peer's MSS as it is
 * @gso:	what leaves on the uplink goes as Ethernet frames, a flow's
 *		segments joined (uplink.c), while the host tracks no
 *		connections: the default; --no-gso: everything through the
 *		raw sockets
 * @gso_forced:	--gso: frames on the uplink even while the host tracks
 *		connections
 * @ifname:	interface requested with --interface, empty if none
 * @ports_lo:	first host port for flows
 * @ports_hi:	last host port for flows
 * @flows_max:	size of the flow table
 * @ct_timeout:	per conntrack state, timeout from --timeout, 0: default
 * @fixed:	which parts of the guest's identity the command line gave:
 *		those never follow the host
 * @runas:	--runas was given
 * @runas_uid:	user merd serves as, once set up (isolation.c)
 * @runas_gid:	its group
 * @ll_allow:	IPv4 link-local destinations the guest may reach
 *		(--allow-link-local), network order
 * @ll_allow_n:	entries in @ll_allow
 */
struct conf_opts {
	char sock_path[UNIX_PATH_LEN];
	bool sock_path_set;
	mode_t sock_mode;
	gid_t sock_gid;
	int fd;
	char log_file[PATH_MAX];
	size_t log_size;
	char pcap_file[PATH_MAX];
	bool quiet;
	char pidfile[PATH_MAX];
	bool foreground;
	bool debug;
	bool trace;
	bool one_off;
	bool no_map_gw;
	bool v4;
	bool v6;
	bool no_ndp;
	bool no_ra;
	bool no_dhcpv6;
	bool tso;
	bool gso;
	bool gso_forced;
	char ifname[IFNAMSIZ];
	uint16_t ports_lo;
	uint16_t ports_hi;
	uint32_t flows_max;
	uint32_t ct_timeout[CT_STATES];
	struct conf_fixed fixed;
	bool runas;
	uid_t runas_uid;
	gid_t runas_gid;
	struct in_addr ll_allow[LL_ALLOW_MAX];
	int ll_allow_n;
};

/**
 * struct host_conf - what netlink reported about the host's uplink
 * @ifi:	interface index of the default route, 0 if none
 * @route4:	the host has a default IPv4 route (through @ifi)
 * @route6:	the host has a default IPv6 route (through @ifi6)
 * @ifname:	its name
 * @mac:	its MAC address, all zero if it has none
 * @mtu:	its MTU
 * @addr4:	IPv4 address on it, network order
 * @prefix4:	prefix length of @addr4, -1 if none was found
 * @gw4:	IPv4 default gateway, network order, INADDR_ANY if none
 * @ifi6:	interface index of the default IPv6 route, 0 if none
 * @addr6:	global IPv6 address on @ifi6
 * @prefix6:	prefix length of @addr6, -1 if none was found
 * @gw6:	IPv6 default gateway
 * @out4:	address guest flows leave from, network order
 * @dns4_lo:	resolver on the host's loopback that the gateway's DNS port
 *		maps to, INADDR_ANY if none
 * @out6:	IPv6 address guest flows leave from
 * @dns6_lo:	IPv6 resolver on the host's loopback that the router's DNS
 *		port maps to, :: if none
 * @why4:	enum host_why: why IPv4 isn't served as the host is now
 * @why6:	enum host_why: the same for IPv6
 * @addrs4:	IPv4 addresses of the host, every interface's, but loopback
 *		ones: the first HOST_ADDRS_MAX, network order
 * @addrs4_n:	how many the host has, more than HOST_ADDRS_MAX if they
 *		didn't fit
 * @addrs6:	IPv6 addresses of the host, but loopback and link-local ones
 *		(the guest reaches neither anyway)
 * @addrs6_n:	how many the host has
 */
struct host_conf {
	unsigned int ifi;
	bool route4;
	bool route6;
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
	struct in6_addr out6;
	struct in6_addr dns6_lo;
	int why4;
	int why6;
	struct in_addr addrs4[HOST_ADDRS_MAX];
	int addrs4_n;
	struct in6_addr addrs6[HOST_ADDRS_MAX];
	int addrs6_n;
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
 * @enabled:	IPv4 is served: the identity below is known
 * @addr:	address, network order
 * @prefix_len:	prefix length
 * @gw:		default gateway, network order
 * @dns:	DNS servers, network order
 * @dns_n:	number of entries in @dns
 * @bound:	the guest has @addr: DHCP acknowledged it, or the guest sent
 *		from it (inbound forwarding goes to it only then)
 * @renumbered:	the identity changed since the guest's lease: DHCP refuses
 *		renewals (NAK) until the guest asks anew
 * @gw_prev:	the gateway before the last change, network order: the
 *		guest's renewals still go to it
 */
struct guest4 {
	bool enabled;
	struct in_addr addr;
	int prefix_len;
	struct in_addr gw;
	struct in_addr dns[DNS_MAX];
	int dns_n;
	bool bound;
	bool renumbered;
	struct in_addr gw_prev;
};

/**
 * struct guest6 - the IPv6 identity handed to the guest (the host's own)
 * @enabled:	IPv6 is served
 * @addr:	global address (the host's), handed out by DHCPv6
 * @prefix:	@addr's prefix, host bits zero, announced on-link by the RA
 * @prefix_len:	its length
 * @gw:		the guest's default router: link-local, the source of every
 *		RA, NA and DHCPv6 reply, and the address that means the host
 * @dns:	DNS servers (RDNSS, DHCPv6 option 23)
 * @dns_n:	number of entries in @dns
 * @own:	other addresses the guest sent from (SLAAC, link-local,
 *		temporary), most recent first: NDP never answers for them
 * @own_n:	number of entries in @own
 * @off:	why IPv6 isn't served, for the start-up output, or NULL
 * @bound:	the guest has @addr: it sent from it, or claimed it by
 *		duplicate address detection
 * @prev:	the address before the last change, :: if none: DHCPv6 and
 *		RAs withdraw it (lifetimes 0)
 * @prev_prefix: its prefix, host bits zero
 * @prev_len:	that prefix's length
 */
struct guest6 {
	bool enabled;
	struct in6_addr addr;
	struct in6_addr prefix;
	int prefix_len;
	struct in6_addr gw;
	struct in6_addr dns[DNS_MAX];
	int dns_n;
	struct in6_addr own[GUEST6_OWN_MAX];
	int own_n;
	const char *off;
	bool bound;
	struct in6_addr prev;
	struct in6_addr prev_prefix;
	int prev_len;
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
 * @pcap:	capture of the frames to and from the guest (--pcap)
 * @neigh:	next hops' MACs for what merd sends onto the uplink itself
 * @epollfd:	epoll descriptor of the main loop
 * @fd_nl:	netlink socket told of the host's address, route and link
 *		changes (host.c), -1 if none
 * @fd_notify:	socket to the service manager (systemd.c), -1 if none
 * @fd_ready:	pipe to the parent waiting until merd serves, -1 if none
 * @fd_piddir:	directory of the --pid file (O_PATH), -1 if none
 * @fd_timer:	timerfd ticking once a second
 * @now:	monotonic clock, seconds, read once per loop iteration
 * @ra_next:	when the next unsolicited router advertisement is due
 * @ra_initial:	initial advertisements left to send (RFC 4861 6.2.4)
 * @quit:	leave the main loop
 * @drops:	packets dropped, by enum drop_why
 * @rl:		rate limits of messages, by enum log_rl_id
 */
struct ctx {
	struct conf_opts opts;
	struct host_conf host;
	struct guest_link link;
	struct guest4 guest4;
	struct guest6 guest6;

	struct tap tap;
	struct fwd fwd;
	struct pcap pcap;
	struct neigh neigh;
	int epollfd;
	int fd_nl;
	int fd_notify;
	int fd_ready;
	int fd_piddir;
	int fd_timer;
	uint32_t now;
	uint32_t ra_next;
	int ra_initial;
	bool quit;
	uint64_t drops[DROP_MAX];
	struct log_rl rl[LOG_RL_MAX];
};

#endif /* MERD_H */
