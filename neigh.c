// SPDX-License-Identifier: GPL-2.0-or-later
/* neigh.c - next hops' link-layer addresses, from the kernel's own tables
 *
 * Copyright (c) 2026 merd authors
 *
 * DOC: Theory of Operation
 *
 * Packets merd sends itself onto the uplink (AF_PACKET, uplink.c) need the
 * Ethernet address of their next hop. merd resolves nothing: it asks the
 * kernel which route a destination takes and what the kernel's neighbour
 * table says of its next hop, and remembers the answers for NEIGH_DST_MAX
 * destinations. Whatever it doesn't know (yet), the caller sends the
 * kernel's way, through the raw sockets, as before.
 *
 * A destination not remembered takes a slot (NEIGH_WAYS of them from its
 * keyed hash: the guest picks destinations, and can't make a lookup any
 * longer; the least recently used one is replaced), and merd sends
 * RTM_GETROUTE for it, from the host's address so that source rules apply.
 * The answer says the route's type, its interface and its gateway. A
 * unicast route through the uplink gives the next hop, the gateway or, on
 * a link, the destination itself, and merd asks RTM_GETNEIGH for that.
 * Anything else marks the destination as not merd's to send, until the
 * host's routes, addresses or links change (neigh_forget()).
 *
 * The same socket is bound to the neighbour notifications: every change
 * of an entry of the uplink fills in, changes or drops the MAC of every
 * destination through that next hop. Answers are matched to requests by
 * their sequence number, whose low bits are the slot. A request left
 * unanswered NEIGH_ASK_AGAIN seconds is made again, and a socket that
 * overflowed (notifications lost) forgets everything.
 *
 * The kernel's neighbour entry stays the kernel's: packets sent by
 * AF_PACKET never touch it. Once its REACHABLE time is over the kernel
 * marks it STALE, and only a packet sent through it starts the check
 * (STALE -> DELAY -> PROBE, then REACHABLE or FAILED). Without one, the
 * entry would stay STALE for ever while merd sent to a MAC nobody checks.
 * So while the kernel isn't sure (STALE, DELAY, PROBE), one packet a
 * second (NEIGH_REFRESH) per destination goes the kernel's way, and the
 * rest to the MAC it has.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "epoll.h"
#include "inany.h"
#include "log.h"
#include "merd.h"
#include "neigh.h"
#include "siphash.h"
#include "util.h"

static_assert(NEIGH_DST_MAX == 1 << NEIGH_SLOT_BITS,
	      "a sequence number's low bits hold every slot");
static_assert(NEIGH_DST_MAX % NEIGH_WAYS == 0, "whole groups of slots");
static_assert(NDA_MAX <= RTA_MAX, "one attribute table serves both");

/* A request: netlink and family headers, two IPv6 addresses (68 bytes) */
#define NEIGH_REQ_SIZE	128
/* One read: one message of the kernel's (a neighbour or a route), with
 * room to spare
 */
#define NEIGH_BUFSIZE	8192
/* Most reads per wake-up of the event loop; the rest waits for the next */
#define NEIGH_READS	64

/* NUD states in which the kernel has the neighbour's address, sure of it */
#define NEIGH_NUD_SURE	(NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP)
/* ... and those in which it has one, not sure: it is checking */
#define NEIGH_NUD_UNSURE (NUD_STALE | NUD_DELAY | NUD_PROBE)

/**
 * neigh_family() - the family of a destination
 * @a:		address
 *
 * Return: AF_INET or AF_INET6
 */
static int neigh_family(const union inany_addr *a)
{
	return inany_is_v4(a) ? AF_INET : AF_INET6;
}

/**
 * neigh_ifi() - the uplink of a family
 * @c:		context
 * @family:	AF_INET or AF_INET6
 *
 * Return: its interface index, 0 if there is none
 */
static unsigned int neigh_ifi(const struct ctx *c, int family)
{
	return family == AF_INET ? c->host.ifi : c->host.ifi6;
}

/**
 * neigh_find() - look a destination up
 * @n:		next hops
 * @dst:	destination
 * @first:	set to the first slot it may take
 *
 * Return: its slot, NULL if it isn't remembered
 */
static struct neigh_dst *neigh_find(struct neigh *n,
				    const union inany_addr *dst,
				    unsigned int *first)
{
	unsigned int i;

	*first = (unsigned int)siphash_16b(dst->a6.s6_addr, n->key) %
		 (NEIGH_DST_MAX / NEIGH_WAYS) * NEIGH_WAYS;
	for (i = *first; i < *first + NEIGH_WAYS; i++)
		if (n->d[i].state != NEIGH_EMPTY &&
		    inany_equals(&n->d[i].addr, dst))
			return &n->d[i];
	return NULL;
}

/**
 * neigh_claim() - take a slot for a destination
 * @n:		next hops
 * @dst:	destination, not remembered
 * @first:	first slot it may take
 *
 * Return: a free slot of its group, or the least recently used one, reset
 *	   for @dst
 */
static struct neigh_dst *neigh_claim(struct neigh *n,
				     const union inany_addr *dst,
				     unsigned int first)
{
	struct neigh_dst *d = &n->d[first];
	unsigned int i;

	for (i = first; i < first + NEIGH_WAYS; i++) {
		if (n->d[i].state == NEIGH_EMPTY) {
			d = &n->d[i];
			break;
		}
		if ((int32_t)(n->d[i].used - d->used) < 0)
			d = &n->d[i];
	}
	memset(d, 0, sizeof(*d));
	d->addr = *dst;
	return d;
}

/**
 * neigh_budget() - take one request of this second's NEIGH_ASKS_MAX
 * @c:		context
 *
 * Return: true if the request may be sent
 */
static bool neigh_budget(struct ctx *c)
{
	struct neigh *n = &c->neigh;

	if (n->asks_at != c->now) {
		n->asks_at = c->now;
		n->asks = 0;
	}
	if (n->asks >= NEIGH_ASKS_MAX)
		return false;
	n->asks++;
	return true;
}

/**
 * neigh_seq() - a new sequence number for a slot's request
 * @n:		next hops
 * @d:		slot
 *
 * Return: the number, never 0 (which notifications carry)
 */
static uint32_t neigh_seq(struct neigh *n, const struct neigh_dst *d)
{
	uint32_t slot = (uint32_t)(d - n->d);
	uint32_t seq = (++n->seq << NEIGH_SLOT_BITS) | slot;

	if (!seq)
		seq = (++n->seq << NEIGH_SLOT_BITS) | slot;
	return seq;
}

/**
 * neigh_by_seq() - the slot whose request an answer answers
 * @n:		next hops
 * @seq:	sequence number of the answer
 *
 * Return: the slot, NULL if no request of that number is outstanding
 */
static struct neigh_dst *neigh_by_seq(struct neigh *n, uint32_t seq)
{
	struct neigh_dst *d = &n->d[seq & (NEIGH_DST_MAX - 1)];

	return seq && d->seq == seq ? d : NULL;
}

/**
 * neigh_put_addr() - add an address attribute of a destination's family
 * @nlh:	message
 * @type:	attribute type
 * @a:		address
 */
static void neigh_put_addr(struct nlmsghdr *nlh, uint16_t type,
			   const union inany_addr *a)
{
	if (inany_is_v4(a))
		mnl_attr_put(nlh, type, sizeof(a->v4mapped.a4),
			     &a->v4mapped.a4);
	else
		mnl_attr_put(nlh, type, sizeof(a->a6), &a->a6);
}

/**
 * neigh_put_route() - fill in a route request for a destination
 * @c:		context
 * @nlh:	message, header set
 * @d:		destination
 *
 * From the host's address of the family, where it has one, so that the
 * host's source rules pick the table.
 */
static void neigh_put_route(const struct ctx *c, struct nlmsghdr *nlh,
			    const struct neigh_dst *d)
{
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	union inany_addr src = { .a6 = c->host.addr6 };
	bool v4 = inany_is_v4(&d->addr);

	rtm->rtm_family = (uint8_t)neigh_family(&d->addr);
	rtm->rtm_dst_len = v4 ? 32 : 128;
	neigh_put_addr(nlh, RTA_DST, &d->addr);

	if (v4)
		inany_from_v4(&src, c->host.addr4.s_addr);
	if ((v4 ? c->host.prefix4 : c->host.prefix6) < 0)
		return;
	rtm->rtm_src_len = rtm->rtm_dst_len;
	neigh_put_addr(nlh, RTA_SRC, &src);
}

/**
 * neigh_put_neigh() - fill in a request for a destination's next hop
 * @c:		context
 * @nlh:	message, header set
 * @d:		destination, next hop known
 */
static void neigh_put_neigh(const struct ctx *c, struct nlmsghdr *nlh,
			    const struct neigh_dst *d)
{
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	int family = neigh_family(&d->via);

	ndm->ndm_family = (uint8_t)family;
	ndm->ndm_ifindex = (int)neigh_ifi(c, family);
	neigh_put_addr(nlh, NDA_DST, &d->via);
}

/**
 * neigh_ask() - send the request a destination's state calls for
 * @c:		context
 * @d:		destination, NEIGH_ASKED (its route) or NEIGH_ROUTED (its
 *		next hop)
 *
 * A failed send is made again, as a lost answer, NEIGH_ASK_AGAIN later.
 */
static void neigh_ask(struct ctx *c, struct neigh_dst *d)
{
	char buf[NEIGH_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	d->asked = c->now;
	d->seq = neigh_seq(&c->neigh, d);
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = d->seq;
	if (d->state == NEIGH_ASKED) {
		nlh->nlmsg_type = RTM_GETROUTE;
		neigh_put_route(c, nlh, d);
	} else {
		nlh->nlmsg_type = RTM_GETNEIGH;
		neigh_put_neigh(c, nlh, d);
	}
	if (send(c->neigh.fd, buf, nlh->nlmsg_len, 0) < 0)
		trace(c, "neigh: can't ask about %s: %s",
		      inany_ntop(&d->addr).s, strerror(errno));
}

/**
 * neigh_fresh() - the MAC of a resolved destination, unless this packet
 *		   should refresh the kernel's entry
 * @c:		context
 * @d:		destination, NEIGH_RESOLVED
 *
 * See the Theory of Operation: while the kernel isn't sure of the
 * neighbour, one packet per NEIGH_REFRESH goes through the kernel.
 *
 * Return: the MAC, or NULL for this one packet
 */
static const uint8_t *neigh_fresh(const struct ctx *c, struct neigh_dst *d)
{
	if ((d->nud & NEIGH_NUD_SURE) ||
	    c->now - d->kernel < NEIGH_REFRESH)
		return d->mac;
	d->kernel = c->now;
	return NULL;
}

/**
 * neigh_mac() - the MAC to send a packet to a destination with
 * @c:		context
 * @dst:	destination
 *
 * Once per packet: no system call but the one request a destination not
 * known (or asked about NEIGH_ASK_AGAIN ago, unanswered) sends.
 *
 * Return: the next hop's MAC, or NULL: send this one through the kernel
 */
const uint8_t *neigh_mac(struct ctx *c, const union inany_addr *dst)
{
	struct neigh *n = &c->neigh;
	struct neigh_dst *d;
	unsigned int first;

	if (n->fd < 0 || !neigh_ifi(c, neigh_family(dst)))
		return NULL;
	d = neigh_find(n, dst, &first);
	if (!d) {
		if (!neigh_budget(c))
			return NULL;
		d = neigh_claim(n, dst, first);
		d->state = NEIGH_ASKED;
		d->used = c->now;
		trace(c, "neigh: asking the route to %s", inany_ntop(dst).s);
		neigh_ask(c, d);
		return NULL;
	}

	d->used = c->now;
	if (d->state == NEIGH_RESOLVED)
		return neigh_fresh(c, d);
	if ((d->state == NEIGH_ASKED || d->state == NEIGH_ROUTED) &&
	    c->now - d->asked >= NEIGH_ASK_AGAIN && neigh_budget(c))
		neigh_ask(c, d);
	return NULL;
}

/**
 * neigh_attr_cb() - store an attribute of a known type in a table
 * @attr:	attribute
 * @data:	table, RTA_MAX + 1 entries (the larger of RTA_MAX and NDA_MAX)
 *
 * Return: MNL_CB_OK (unknown types are skipped)
 */
static int neigh_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, RTA_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/**
 * neigh_attr_addr() - read an address attribute of a family
 * @attr:	attribute, may be NULL
 * @family:	AF_INET or AF_INET6
 * @a:		set to the address
 *
 * Return: true if @attr is there and has the size of an address of
 *	   @family (an IPv6 one not IPv4-mapped)
 */
static bool neigh_attr_addr(const struct nlattr *attr, int family,
			    union inany_addr *a)
{
	const void *p;

	if (!attr)
		return false;
	p = mnl_attr_get_payload(attr);
	if (family == AF_INET) {
		uint32_t v4;

		if (mnl_attr_get_payload_len(attr) != sizeof(v4))
			return false;
		memcpy(&v4, p, sizeof(v4));
		inany_from_v4(a, v4);
		return true;
	}
	if (mnl_attr_get_payload_len(attr) != sizeof(a->a6))
		return false;
	memcpy(&a->a6, p, sizeof(a->a6));
	return !inany_is_v4(a);
}

/**
 * neigh_route() - take the kernel's answer to a route request
 * @c:		context
 * @nlh:	RTM_NEWROUTE message, untrusted
 *
 * A unicast route through the uplink gives the next hop, whose MAC is
 * asked then; anything else, the kernel's way for good.
 */
static void neigh_route(struct ctx *c, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct neigh_dst *d = neigh_by_seq(&c->neigh, nlh->nlmsg_seq);
	union inany_addr dst;
	uint32_t oif = 0;
	int family;

	if (!d || d->state != NEIGH_ASKED ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return;
	family = neigh_family(&d->addr);
	if (rtm->rtm_family != family ||
	    mnl_attr_parse(nlh, sizeof(*rtm), neigh_attr_cb, tb) < 0 ||
	    !neigh_attr_addr(tb[RTA_DST], family, &dst) ||
	    !inany_equals(&dst, &d->addr))
		return;

	d->seq = 0;
	if (tb[RTA_OIF] && mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32) >= 0)
		oif = mnl_attr_get_u32(tb[RTA_OIF]);
	d->via = d->addr;
	if (rtm->rtm_type != RTN_UNICAST || oif != neigh_ifi(c, family) ||
	    tb[RTA_VIA] ||
	    (tb[RTA_GATEWAY] &&
	     !neigh_attr_addr(tb[RTA_GATEWAY], family, &d->via))) {
		d->state = NEIGH_NOT_UPLINK;
		trace(c, "neigh: %s isn't reached through the uplink",
		      inany_ntop(&d->addr).s);
		return;
	}
	d->state = NEIGH_ROUTED;
	trace(c, "neigh: %s through %s", inany_ntop(&d->addr).s,
	      inany_ntop(&d->via).s);
	if (neigh_budget(c))
		neigh_ask(c, d);
}

/**
 * neigh_learn() - set what the kernel has of a next hop for every
 *		   destination through it
 * @c:		context
 * @via:	the next hop
 * @nud:	its NUD state
 * @mac:	its MAC, NULL if the kernel has none (or is sure it's wrong)
 */
static void neigh_learn(struct ctx *c, const union inany_addr *via,
			uint16_t nud, const uint8_t *mac)
{
	int i;

	for (i = 0; i < NEIGH_DST_MAX; i++) {
		struct neigh_dst *d = &c->neigh.d[i];

		if ((d->state != NEIGH_ROUTED && d->state != NEIGH_RESOLVED) ||
		    !inany_equals(&d->via, via))
			continue;
		d->nud = nud;
		if (!mac) {
			d->state = NEIGH_ROUTED;
			continue;
		}
		if (d->state != NEIGH_RESOLVED ||
		    memcmp(d->mac, mac, ETH_ALEN) != 0) {
			/* A new address: refresh at once if it's unsure */
			d->kernel = c->now - NEIGH_REFRESH;
			memcpy(d->mac, mac, ETH_ALEN);
		}
		d->state = NEIGH_RESOLVED;
	}
}

/**
 * neigh_neigh() - take a neighbour entry, answer or notification
 * @c:		context
 * @nlh:	RTM_NEWNEIGH or RTM_DELNEIGH message, untrusted
 *
 * Only entries of the uplink of their family count; proxy entries don't.
 */
static void neigh_neigh(struct ctx *c, const struct nlmsghdr *nlh)
{
	static const uint8_t zero[ETH_ALEN] = { 0 };
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const uint8_t *mac = NULL;
	union inany_addr via;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm) ||
	    (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6) ||
	    ndm->ndm_ifindex <= 0 ||
	    (unsigned int)ndm->ndm_ifindex !=
	    neigh_ifi(c, ndm->ndm_family) || (ndm->ndm_flags & NTF_PROXY) ||
	    mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr_cb, tb) < 0 ||
	    !neigh_attr_addr(tb[NDA_DST], ndm->ndm_family, &via))
		return;

	if (nlh->nlmsg_type == RTM_NEWNEIGH &&
	    (ndm->ndm_state & (NEIGH_NUD_SURE | NEIGH_NUD_UNSURE)) &&
	    tb[NDA_LLADDR] &&
	    mnl_attr_get_payload_len(tb[NDA_LLADDR]) == ETH_ALEN &&
	    memcmp(mnl_attr_get_payload(tb[NDA_LLADDR]), zero, ETH_ALEN) != 0)
		mac = mnl_attr_get_payload(tb[NDA_LLADDR]);
	trace(c, "neigh: next hop %s %s, state 0x%x", inany_ntop(&via).s,
	      mac ? "known" : "unknown", ndm->ndm_state);
	neigh_learn(c, &via, ndm->ndm_state, mac);
}

/**
 * neigh_msg_cb() - take one message of the socket
 * @nlh:	message, its length checked by libmnl
 * @data:	context
 *
 * Return: MNL_CB_OK, whatever the message
 */
static int neigh_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctx *c = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWROUTE:
		neigh_route(c, nlh);
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		neigh_neigh(c, nlh);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/**
 * neigh_error_cb() - take the kernel's refusal of a request
 * @nlh:	NLMSG_ERROR message, untrusted
 * @data:	context
 *
 * No route (ENETUNREACH, ...): the kernel's way for good. No neighbour
 * entry (ENOENT): the MAC waits for the notification that follows the
 * kernel resolving it, as it does for the packets sent its way.
 *
 * Return: MNL_CB_OK, so that the rest of the read is looked at
 */
static int neigh_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct ctx *c = data;
	struct neigh_dst *d;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e) || !e->error)
		return MNL_CB_OK;
	d = neigh_by_seq(&c->neigh, nlh->nlmsg_seq);
	if (!d)
		return MNL_CB_OK;
	d->seq = 0;
	if (d->state == NEIGH_ASKED)
		d->state = NEIGH_NOT_UPLINK;
	trace(c, "neigh: no %s for %s: %s",
	      d->state == NEIGH_ROUTED ? "neighbour entry" : "route",
	      inany_ntop(&d->addr).s, strerror(-e->error));
	return MNL_CB_OK;
}

/**
 * neigh_whole() - the length of the whole messages a read starts with
 * @buf:	what was read
 * @len:	its length
 *
 * libmnl 1.0.4 compares a message's length as a signed number: one of
 * 2 GiB or more would take it past the buffer. The kernel sends none, but
 * nothing malformed gets that far.
 *
 * Return: bytes at the start of @buf that are whole messages
 */
static size_t neigh_whole(const char *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
			break;
		off += MIN((size_t)NLMSG_ALIGN(h.nlmsg_len), len - off);
	}
	return off;
}

/**
 * neigh_handler() - read answers and notifications, without waiting
 * @c:		context
 *
 * At most NEIGH_READS reads, so that a storm of notifications can't hold
 * the event loop. Only the kernel's messages count: any other process may
 * send to a netlink socket. An overflow (ENOBUFS) lost some: everything is
 * forgotten, and asked again as the guest sends.
 */
void neigh_handler(struct ctx *c)
{
	char buf[NEIGH_BUFSIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	/* Errors are looked at, other control messages as libmnl does */
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = neigh_error_cb };
	int i;

	for (i = 0; i < NEIGH_READS; i++) {
		struct sockaddr_nl sa = { 0 };
		socklen_t sl = sizeof(sa);
		ssize_t n;

		n = recvfrom(c->neigh.fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&sa, &sl);
		if (n < 0 && errno == ENOBUFS) {
			debug("neigh: notifications lost, next hops forgotten");
			neigh_forget(c);
			continue;
		}
		if (n < 0)
			return;
		if (sl != sizeof(sa) || sa.nl_family != AF_NETLINK ||
		    sa.nl_pid)
			continue;
		mnl_cb_run2(buf, neigh_whole(buf, (size_t)n), 0, 0,
			    neigh_msg_cb, c, ctl, ARRAY_SIZE(ctl));
	}
}

/**
 * neigh_forget() - forget every destination: routes, addresses or links
 *		    changed
 * @c:		context
 *
 * Answers still on their way match no request any more (their slot's
 * number is gone).
 */
void neigh_forget(struct ctx *c)
{
	memset(c->neigh.d, 0, sizeof(c->neigh.d));
}

/**
 * neigh_init() - open the socket for requests and neighbour notifications
 * @c:		context, epoll set created
 *
 * Return: 0 on success, -errno
 */
int neigh_init(struct ctx *c)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_NEIGH };
	struct neigh *n = &c->neigh;
	int fd, ret;

	if (getrandom(n->key, sizeof(n->key), 0) != sizeof(n->key))
		return errno ? -errno : -EIO;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    epoll_ref_ctl(c->epollfd, EPOLL_CTL_ADD, fd, EPOLLIN,
			  EPOLL_TYPE_NEIGH, fd)) {
		ret = -errno;
		goto cleanup;
	}
	n->fd = fd;
	neigh_forget(c);
	return 0;
cleanup:
	close(fd);
	return ret;
}

/**
 * neigh_close() - close the socket, if open
 * @c:		context
 */
void neigh_close(struct ctx *c)
{
	if (c->neigh.fd >= 0)
		close(c->neigh.fd);
	c->neigh.fd = -1;
}
