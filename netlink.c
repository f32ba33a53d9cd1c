// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink.c - what the host's routing tables say about its uplink (libmnl)
 *
 * Copyright (c) 2026 merd authors
 *
 * At start-up merd asks the kernel for the interface of the default route
 * (RTM_GETROUTE), its gateway, the addresses on that interface
 * (RTM_GETADDR), and its MAC and MTU (RTM_GETLINK), for IPv4 and IPv6;
 * and for every address of the host, on any interface (RTM_GETADDR of
 * both families), which the guest must not reach.
 * Dumps can take several reads; a dump interrupted by a concurrent change
 * (NLM_F_DUMP_INTR, reported by libmnl as EINTR) is started again on a new
 * socket, so that no message of the interrupted one is mistaken for the
 * next. While merd runs, a socket subscribed to the link, address and
 * route groups tells it that something changed; host.c then asks again.
 */

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "ip4.h"
#include "merd.h"
#include "netlink.h"
#include "util.h"

/* Room for one read of a dump: the kernel fills at most 32 KiB per read
 * (libmnl's MNL_SOCKET_DUMP_SIZE), twice that leaves no doubt
 */
#define NL_BUFSIZE	65536
/* Attempts for a dump the kernel keeps interrupting */
#define NL_DUMP_TRIES	8
/* Most buffers of notifications read per wake-up of the event loop */
#define NL_MONITOR_READS 16

/**
 * struct nl_route - state of a default route search
 * @family:	AF_INET or AF_INET6
 * @ifi_want:	only routes through this interface, 0 for any
 * @found:	a default route was found
 * @prio:	metric of the best route so far
 * @ifi:	its interface
 * @gw:		its gateway, zero if it has none
 */
struct nl_route {
	int family;
	unsigned int ifi_want;
	bool found;
	uint32_t prio;
	unsigned int ifi;
	uint8_t gw[16];
};

/**
 * struct nl_addr - state of an address search
 * @family:	AF_INET or AF_INET6
 * @ifi:	interface to look at
 * @gw:		prefer the address whose subnet holds this gateway (IPv4)
 * @found:	an address was found
 * @best:	the one found holds @gw in its subnet
 * @addr:	address
 * @prefix_len:	its prefix length
 */
struct nl_addr {
	int family;
	unsigned int ifi;
	uint32_t gw;
	bool found;
	bool best;
	uint8_t addr[16];
	int prefix_len;
};

/**
 * nl_addr_len() - size of an address of a family
 * @family:	AF_INET or AF_INET6
 *
 * Return: 4 or 16
 */
static size_t nl_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/**
 * struct nl_attrs - attribute table filled by nl_attr_cb()
 * @tb:		attributes by type, NULL where absent
 * @max:	highest type the table holds
 */
struct nl_attrs {
	const struct nlattr **tb;
	uint16_t max;
};

/**
 * nl_attr_cb() - store an attribute of a known type in a table
 * @attr:	attribute
 * @data:	struct nl_attrs
 *
 * Return: MNL_CB_OK (unknown types are skipped)
 */
static int nl_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nl_attrs *a = data;

	if (mnl_attr_type_valid(attr, a->max) > 0)
		a->tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/**
 * nl_attr_u32() - read a u32 attribute after checking its size
 * @attr:	attribute, may be NULL
 * @v:		set to the value if valid
 *
 * Return: true if @attr was present and valid
 */
static bool nl_attr_u32(const struct nlattr *attr, uint32_t *v)
{
	if (!attr || mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return false;
	*v = mnl_attr_get_u32(attr);
	return true;
}

/**
 * nl_attr_addr() - copy an address attribute after checking its size
 * @attr:	attribute, may be NULL
 * @family:	address family
 * @dst:	destination, 16 bytes
 *
 * Return: true if @attr was present and has the size of an address
 */
static bool nl_attr_addr(const struct nlattr *attr, int family, uint8_t *dst)
{
	size_t len = nl_addr_len(family);

	if (!attr || mnl_attr_get_payload_len(attr) != len)
		return false;
	memcpy(dst, mnl_attr_get_payload(attr), len);
	return true;
}

/**
 * nl_multipath_first() - take interface and gateway of a multipath route
 * @attr:	RTA_MULTIPATH attribute
 * @r:		search state
 * @ifi:	set to the interface of the first usable hop
 * @gw:		set to its gateway
 *
 * Return: true if a usable next hop was found
 */
static bool nl_multipath_first(const struct nlattr *attr,
			       const struct nl_route *r, unsigned int *ifi,
			       uint8_t *gw)
{
	const uint8_t *p = mnl_attr_get_payload(attr);
	size_t left = mnl_attr_get_payload_len(attr);

	while (left >= sizeof(struct rtnexthop)) {
		struct rtnexthop nh;

		memcpy(&nh, p, sizeof(nh));
		if (nh.rtnh_len < sizeof(nh) || nh.rtnh_len > left)
			return false;

		if (!r->ifi_want ||
		    (unsigned int)nh.rtnh_ifindex == r->ifi_want) {
			const struct nlattr *a;

			*ifi = (unsigned int)nh.rtnh_ifindex;
			memset(gw, 0, 16);
			/* Attributes of this hop follow its header */
			for (a = (const void *)(p + RTNH_ALIGN(sizeof(nh)));
			     mnl_attr_ok(a, (int)((p + nh.rtnh_len) -
						  (const uint8_t *)a));
			     a = mnl_attr_next(a)) {
				if (mnl_attr_get_type(a) == RTA_GATEWAY)
					nl_attr_addr(a, r->family, gw);
			}
			return true;
		}

		left -= MIN(left, (size_t)RTNH_ALIGN(nh.rtnh_len));
		p += RTNH_ALIGN(nh.rtnh_len);
	}
	return false;
}

/**
 * nl_route_cb() - look at one route of a dump
 * @nlh:	RTM_NEWROUTE message
 * @data:	struct nl_route
 *
 * Return: MNL_CB_OK
 */
static int nl_route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct nl_attrs attrs = { tb, RTA_MAX };
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nl_route *r = data;
	uint32_t table, prio = 0, oif = 0;
	unsigned int ifi;
	uint8_t gw[16] = { 0 };

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return MNL_CB_OK;
	if (rtm->rtm_family != r->family || rtm->rtm_dst_len ||
	    rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;

	mnl_attr_parse(nlh, sizeof(*rtm), nl_attr_cb, &attrs);
	if (!nl_attr_u32(tb[RTA_TABLE], &table))
		table = rtm->rtm_table;
	if (table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	nl_attr_u32(tb[RTA_PRIORITY], &prio);

	if (nl_attr_u32(tb[RTA_OIF], &oif)) {
		ifi = oif;
		nl_attr_addr(tb[RTA_GATEWAY], r->family, gw);
		if (r->ifi_want && ifi != r->ifi_want)
			return MNL_CB_OK;
	} else if (!tb[RTA_MULTIPATH] ||
		   !nl_multipath_first(tb[RTA_MULTIPATH], r, &ifi, gw)) {
		return MNL_CB_OK;
	}

	if (r->found && prio >= r->prio)
		return MNL_CB_OK;

	r->found = true;
	r->prio = prio;
	r->ifi = ifi;
	memcpy(r->gw, gw, sizeof(gw));
	return MNL_CB_OK;
}

/**
 * nl_prefix_holds() - tell whether an IPv4 subnet contains an address
 * @addr:	address in the subnet, network order
 * @len:	prefix length
 * @other:	address to test, network order
 *
 * Return: true if @other is in @addr/@len
 */
static bool nl_prefix_holds(uint32_t addr, int len, uint32_t other)
{
	uint32_t mask = htonl(prefix4_mask(len));

	return (addr & mask) == (other & mask);
}

/**
 * nl_addr_cb() - look at one address of a dump
 * @nlh:	RTM_NEWADDR message
 * @data:	struct nl_addr
 *
 * Return: MNL_CB_OK
 */
static int nl_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	struct nl_attrs attrs = { tb, IFA_MAX };
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct nl_addr *a = data;
	uint32_t flags, v4;
	uint8_t addr[16];
	bool holds_gw;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	if (ifa->ifa_family != a->family || ifa->ifa_index != a->ifi ||
	    ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return MNL_CB_OK;

	mnl_attr_parse(nlh, sizeof(*ifa), nl_attr_cb, &attrs);
	if (!nl_attr_u32(tb[IFA_FLAGS], &flags))
		flags = ifa->ifa_flags;
	if (flags & (IFA_F_SECONDARY | IFA_F_TENTATIVE | IFA_F_DADFAILED |
		     IFA_F_DEPRECATED))
		return MNL_CB_OK;

	/* IFA_LOCAL is the local end of a point-to-point IPv4 link */
	if (!nl_attr_addr(tb[IFA_LOCAL], a->family, addr) &&
	    !nl_attr_addr(tb[IFA_ADDRESS], a->family, addr))
		return MNL_CB_OK;

	memcpy(&v4, addr, sizeof(v4));
	holds_gw = a->family == AF_INET && a->gw &&
		   nl_prefix_holds(v4, ifa->ifa_prefixlen, a->gw);
	if (a->found && (a->best || !holds_gw))
		return MNL_CB_OK;

	a->found = true;
	a->best = holds_gw;
	memcpy(a->addr, addr, sizeof(addr));
	a->prefix_len = ifa->ifa_prefixlen;
	return MNL_CB_OK;
}

/**
 * nl_link_cb() - read MAC, MTU and name of a link
 * @nlh:	RTM_NEWLINK message
 * @data:	struct host_conf
 *
 * Return: MNL_CB_OK
 */
static int nl_link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	struct nl_attrs attrs = { tb, IFLA_MAX };
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct host_conf *h = data;
	uint32_t mtu;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm) ||
	    (unsigned int)ifm->ifi_index != h->ifi)
		return MNL_CB_OK;

	mnl_attr_parse(nlh, sizeof(*ifm), nl_attr_cb, &attrs);
	if (nl_attr_u32(tb[IFLA_MTU], &mtu))
		h->mtu = mtu;
	if (tb[IFLA_ADDRESS] &&
	    mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == ETH_ALEN)
		memcpy(h->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]),
		       ETH_ALEN);
	if (tb[IFLA_IFNAME] &&
	    mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) >= 0) {
		strncpy(h->ifname, mnl_attr_get_str(tb[IFLA_IFNAME]),
			sizeof(h->ifname) - 1);
		h->ifname[sizeof(h->ifname) - 1] = '\0';
	}
	return MNL_CB_OK;
}

/**
 * nl_request_once() - send one request and run its answer through a callback
 * @type:	RTM_GETROUTE, RTM_GETADDR or RTM_GETLINK
 * @flags:	NLM_F_DUMP, or NLM_F_ACK for a single object
 * @hdr:	family header of the request
 * @hdr_len:	its size
 * @cb:		called for each message of the answer
 * @data:	passed to @cb
 *
 * Return: 0 on success, -errno (-EINTR if a dump was interrupted)
 */
static int nl_request_once(uint16_t type, uint16_t flags, const void *hdr,
			   size_t hdr_len, mnl_cb_t cb, void *data)
{
	char buf[NL_BUFSIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	unsigned int seq, portid;
	int ret;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq = (unsigned int)time(NULL);
	memcpy(mnl_nlmsg_put_extra_header(nlh, hdr_len), hdr, hdr_len);

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}

	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			ret = -errno;
			goto out;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
	} while (ret > MNL_CB_STOP);

	ret = ret < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return ret;
}

/**
 * nl_request() - nl_request_once(), again while a dump is interrupted
 * @type:	message type
 * @flags:	NLM_F_DUMP or NLM_F_ACK
 * @hdr:	family header
 * @hdr_len:	its size
 * @cb:		message callback
 * @data:	state for @cb, reset by @reset before each attempt
 * @reset:	called before each attempt, may be NULL
 *
 * Return: 0 on success, -errno
 */
static int nl_request(uint16_t type, uint16_t flags, const void *hdr,
		      size_t hdr_len, mnl_cb_t cb, void *data,
		      void (*reset)(void *))
{
	int i, ret = -EINTR;

	for (i = 0; i < NL_DUMP_TRIES && ret == -EINTR; i++) {
		if (reset)
			reset(data);
		ret = nl_request_once(type, flags, hdr, hdr_len, cb, data);
	}
	return ret;
}

/**
 * nl_route_reset() - forget what an interrupted route dump found
 * @data:	struct nl_route
 */
static void nl_route_reset(void *data)
{
	struct nl_route *r = data;

	r->found = false;
}

/**
 * nl_addr_reset() - forget what an interrupted address dump found
 * @data:	struct nl_addr
 */
static void nl_addr_reset(void *data)
{
	struct nl_addr *a = data;

	a->found = a->best = false;
}

/**
 * nl_route_default() - find the default route of a family
 * @family:	AF_INET or AF_INET6
 * @ifi_want:	only consider routes through this interface, 0 for any
 * @ifi:	set to the interface of the route with the lowest metric
 * @gw:		set to its gateway (16 bytes), zero if it has none
 *
 * Return: 0 if found, -ENOENT if there is none, -errno on failure
 */
int nl_route_default(int family, unsigned int ifi_want, unsigned int *ifi,
		     void *gw)
{
	struct nl_route r = { .family = family, .ifi_want = ifi_want };
	struct rtmsg rtm = { .rtm_family = (unsigned char)family };
	int ret;

	ret = nl_request(RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm),
			 nl_route_cb, &r, nl_route_reset);
	if (ret)
		return ret;
	if (!r.found)
		return -ENOENT;

	*ifi = r.ifi;
	memcpy(gw, r.gw, nl_addr_len(family));
	return 0;
}

/**
 * nl_addr_get() - find the address to use on an interface
 * @family:	AF_INET or AF_INET6
 * @ifi:	interface index
 * @gw4:	for IPv4, prefer the subnet holding this gateway (0: any)
 * @addr:	set to the address (4 or 16 bytes)
 * @prefix_len:	set to its prefix length
 *
 * Return: 0 if found, -ENOENT if the interface has none, -errno on failure
 */
int nl_addr_get(int family, unsigned int ifi, uint32_t gw4, void *addr,
		int *prefix_len)
{
	struct nl_addr a = { .family = family, .ifi = ifi, .gw = gw4 };
	struct ifaddrmsg ifa = { .ifa_family = (unsigned char)family };
	int ret;

	ret = nl_request(RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof(ifa),
			 nl_addr_cb, &a, nl_addr_reset);
	if (ret)
		return ret;
	if (!a.found)
		return -ENOENT;

	memcpy(addr, a.addr, nl_addr_len(family));
	*prefix_len = a.prefix_len;
	return 0;
}

/**
 * nl_addrs_keep() - add an address to the host's list, once
 * @h:		host configuration, lists filled so far
 * @family:	AF_INET or AF_INET6
 * @addr:	the address
 *
 * Loopback addresses are left out, and IPv6 link-local ones: the guest
 * reaches neither anyway (fwd.c). Past HOST_ADDRS_MAX, only counted.
 */
static void nl_addrs_keep(struct host_conf *h, int family,
			  const uint8_t *addr)
{
	struct in6_addr a6;
	struct in_addr a4;
	int i;

	if (family == AF_INET) {
		memcpy(&a4, addr, sizeof(a4));
		if (ip4_is_loopback(a4.s_addr))
			return;
		for (i = 0; i < MIN(h->addrs4_n, HOST_ADDRS_MAX); i++)
			if (h->addrs4[i].s_addr == a4.s_addr)
				return;
		if (h->addrs4_n < HOST_ADDRS_MAX)
			h->addrs4[h->addrs4_n] = a4;
		h->addrs4_n++;
		return;
	}
	memcpy(&a6, addr, sizeof(a6));
	if (IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6) ||
	    IN6_IS_ADDR_MULTICAST(&a6))
		return;
	for (i = 0; i < MIN(h->addrs6_n, HOST_ADDRS_MAX); i++)
		if (IN6_ARE_ADDR_EQUAL(&h->addrs6[i], &a6))
			return;
	if (h->addrs6_n < HOST_ADDRS_MAX)
		h->addrs6[h->addrs6_n] = a6;
	h->addrs6_n++;
}

/**
 * nl_addrs_cb() - note one address of a dump of all of them
 * @nlh:	RTM_NEWADDR message
 * @data:	struct host_conf
 *
 * Every address counts, whatever its scope, flags or interface: tentative,
 * deprecated and secondary ones too, and the local end of a point-to-point
 * link (IFA_LOCAL) rather than its peer.
 *
 * Return: MNL_CB_OK
 */
static int nl_addrs_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	struct nl_attrs attrs = { tb, IFA_MAX };
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	uint8_t addr[16];

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa) ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return MNL_CB_OK;

	mnl_attr_parse(nlh, sizeof(*ifa), nl_attr_cb, &attrs);
	if (nl_attr_addr(tb[IFA_LOCAL], ifa->ifa_family, addr) ||
	    nl_attr_addr(tb[IFA_ADDRESS], ifa->ifa_family, addr))
		nl_addrs_keep(data, ifa->ifa_family, addr);
	return MNL_CB_OK;
}

/**
 * nl_addrs_reset() - forget what an interrupted dump of addresses found
 * @data:	struct host_conf
 */
static void nl_addrs_reset(void *data)
{
	struct host_conf *h = data;

	h->addrs4_n = h->addrs6_n = 0;
}

/**
 * nl_addrs_all() - read every address of the host, of both families, on
 *		    every interface
 * @h:		host configuration: @addrs4, @addrs6 and their counts set
 *
 * Return: 0 on success, -errno
 */
int nl_addrs_all(struct host_conf *h)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_UNSPEC };

	return nl_request(RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof(ifa),
			  nl_addrs_cb, h, nl_addrs_reset);
}

/**
 * nl_link_get() - read name, MAC and MTU of an interface
 * @h:		host configuration, @ifi set; @ifname, @mac and @mtu filled
 *
 * Return: 0 on success, -errno (-ENODEV if there is no such interface)
 */
int nl_link_get(struct host_conf *h)
{
	struct ifinfomsg ifm = { .ifi_family = AF_UNSPEC,
				 .ifi_index = (int)h->ifi };

	return nl_request(RTM_GETLINK, NLM_F_ACK, &ifm, sizeof(ifm),
			  nl_link_cb, h, NULL);
}

/* Groups of the host's changes merd follows: links, and IPv4 and IPv6
 * addresses and routes (rtnetlink(7))
 */
#define NL_GROUPS	(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | \
			 RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | \
			 RTMGRP_IPV6_ROUTE)

/**
 * nl_monitor_open() - open a socket the kernel tells of the host's changes
 *
 * Non-blocking: its reads are drained by nl_monitor_read() from the event
 * loop.
 *
 * Return: the socket, or -errno
 */
int nl_monitor_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = NL_GROUPS };
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/**
 * nl_monitor_cb() - note one notification that may change the uplink
 * @nlh:	message
 * @data:	bool, set if it is about links, addresses or routes
 *
 * Return: MNL_CB_OK
 */
static int nl_monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	bool *changed = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
	case RTM_NEWADDR:
	case RTM_DELADDR:
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		*changed = true;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/**
 * nl_monitor_read() - read what the kernel told, without waiting
 * @fd:		socket from nl_monitor_open()
 *
 * Reads at most NL_MONITOR_READS buffers, so that a storm of changes can't
 * hold the event loop; what is left is read on the next wake-up. A socket
 * that overflowed (ENOBUFS) lost messages: that counts as a change, and
 * the caller reads the whole state again anyway.
 *
 * Return: true if links, addresses or routes may have changed
 */
bool nl_monitor_read(int fd)
{
	char buf[NL_BUFSIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool changed = false;
	int i;

	for (i = 0; i < NL_MONITOR_READS; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == ENOBUFS)
				changed = true;
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			break;
		}
		if (!n)
			break;
		/* Notifications have no sequence number or port to match */
		mnl_cb_run(buf, (size_t)n, 0, 0, nl_monitor_cb, &changed);
	}
	return changed;
}
