// SPDX-License-Identifier: GPL-2.0-or-later
/* test_neigh.c - unit tests for merd's next hops: route and neighbour
 *		  requests, the kernel's answers and notifications, the MAC
 *		  handed to the uplink's sends
 *
 * Copyright (c) 2026 merd authors
 *
 * neigh.c talks to the kernel on one netlink socket: send() for its
 * requests, recvfrom() for the answers and notifications. The test is
 * linked with -Wl,--wrap=send,--wrap=recvfrom (and the fortified
 * __recvfrom_chk): on the test's descriptor
 * (TFD, never opened), __wrap_send() keeps each request, and
 * __wrap_recvfrom() hands out the messages the test queued, as the kernel
 * would, then EAGAIN. Messages are built with libmnl, requests read back
 * with it: the layout is the kernel's (rtnetlink(7)), not merd's.
 *
 * The host's IPv4 uplink is interface UPLINK, its IPv6 one UPLINK6; the
 * clock (c->now) is moved by hand.
 */

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "merd.h"
#include "neigh.h"
#include "unit.h"

#define TFD		1000	/* the socket's descriptor: never opened */
#define UPLINK		3
#define UPLINK6		4
#define OTHER_IF	7
#define HOST4		"192.0.2.9"
#define HOST6		"2001:db8:1::9"
#define PEER		"192.0.2.80"	/* on the uplink's link */
#define FAR		"198.51.100.7"	/* behind the gateway */
#define FAR2		"203.0.113.9"
#define GW		"192.0.2.1"
#define FAR6		"2001:db8:80::50"
#define GW6		"fe80::1"
#define T0		1000	/* c->now at the start of each test */

static const uint8_t peer_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x80 };
static const uint8_t gw_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t gw_mac2[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };

/* Requests kept, messages queued */
#define SENT_MAX	1024
#define QUEUE_MAX	64
#define MSG_LEN		512

/**
 * struct msg - a request merd sent, or a message for it to read
 * @len:	its length
 * @err:	for a queued one: recvfrom() fails with this errno instead
 * @pid:	for a queued one: the sender's port ID (0: the kernel)
 * @p:		its bytes
 */
struct msg {
	size_t len;
	int err;
	uint32_t pid;
	uint8_t p[MSG_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
};

static struct msg sent[SENT_MAX];
static int nsent;
static struct msg queue[QUEUE_MAX];
static int nqueued, nread;

ssize_t __real_send(int fd, const void *buf, size_t len, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags);
ssize_t __real_recvfrom(int fd, void *buf, size_t len, int flags,
			struct sockaddr *sa, socklen_t *sl);
ssize_t __wrap_recvfrom(int fd, void *buf, size_t len, int flags,
			struct sockaddr *sa, socklen_t *sl);
ssize_t __wrap___recvfrom_chk(int fd, void *buf, size_t len, size_t size,
			      int flags, struct sockaddr *sa, socklen_t *sl);

/**
 * __wrap_send() - keep a request sent on TFD
 * @fd:		descriptor
 * @buf:	bytes
 * @len:	their length
 * @flags:	flags
 *
 * Return: @len on TFD, else what send() returns
 */
ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
	if (fd != TFD)
		return __real_send(fd, buf, len, flags);
	assert_true(nsent < SENT_MAX);
	assert_true(len <= MSG_LEN);
	memcpy(sent[nsent].p, buf, len);
	sent[nsent++].len = len;
	return (ssize_t)len;
}

/**
 * __wrap_recvfrom() - hand out the next queued message on TFD
 * @fd:		descriptor
 * @buf:	buffer
 * @len:	its size
 * @flags:	flags
 * @sa:		set to the sender, a netlink address
 * @sl:		its length
 *
 * Return: the message's length, -1 with errno set (EAGAIN when none is
 *	   left), else what recvfrom() returns
 */
ssize_t __wrap_recvfrom(int fd, void *buf, size_t len, int flags,
			struct sockaddr *sa, socklen_t *sl)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	const struct msg *m;

	if (fd != TFD)
		return __real_recvfrom(fd, buf, len, flags, sa, sl);
	if (nread == nqueued) {
		errno = EAGAIN;
		return -1;
	}
	m = &queue[nread++];
	if (m->err) {
		errno = m->err;
		return -1;
	}
	nl.nl_pid = m->pid;
	assert_true(*sl >= sizeof(nl));
	memcpy(sa, &nl, sizeof(nl));
	*sl = sizeof(nl);
	memcpy(buf, m->p, MIN(len, m->len));
	return (ssize_t)MIN(len, m->len);
}

/**
 * __wrap___recvfrom_chk() - recvfrom() as _FORTIFY_SOURCE calls it, where
 *			     the compiler can't tell the buffer's size is
 *			     enough
 * @fd:		descriptor
 * @buf:	buffer
 * @len:	its size, as passed
 * @size:	its size, as the compiler sees it
 * @flags:	flags
 * @sa:		set to the sender
 * @sl:		its length
 *
 * Return: what __wrap_recvfrom() returns
 */
ssize_t __wrap___recvfrom_chk(int fd, void *buf, size_t len, size_t size,
			      int flags, struct sockaddr *sa, socklen_t *sl)
{
	assert_true(len <= size);
	return __wrap_recvfrom(fd, buf, len, flags, sa, sl);
}

/**
 * addr() - an address of either family
 * @s:		text
 *
 * Return: the address, IPv4 mapped
 */
static union inany_addr addr(const char *s)
{
	union inany_addr a;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		inany_from_v4(&a, a4.s_addr);
		return a;
	}
	assert_int_equal(inet_pton(AF_INET6, s, &a.a6), 1);
	return a;
}

/**
 * put_addr() - add an address attribute, 4 or 16 bytes by its family
 * @nlh:	message
 * @type:	attribute type
 * @s:		the address, as text
 */
static void put_addr(struct nlmsghdr *nlh, uint16_t type, const char *s)
{
	union inany_addr a = addr(s);

	if (inany_is_v4(&a))
		mnl_attr_put(nlh, type, 4, &a.v4mapped.a4);
	else
		mnl_attr_put(nlh, type, 16, &a.a6);
}

/**
 * queue_new() - start a message to be read, from the kernel
 * @type:	message type
 * @seq:	sequence number
 *
 * Return: its header
 */
static struct nlmsghdr *queue_new(uint16_t type, uint32_t seq)
{
	struct msg *m = &queue[nqueued];
	struct nlmsghdr *nlh;

	assert_true(nqueued < QUEUE_MAX);
	memset(m, 0, sizeof(*m));
	nlh = mnl_nlmsg_put_header(m->p);
	nlh->nlmsg_type = type;
	nlh->nlmsg_seq = seq;
	return nlh;
}

/**
 * queue_done() - queue the message queue_new() started
 * @nlh:	its header
 */
static void queue_done(const struct nlmsghdr *nlh)
{
	queue[nqueued++].len = nlh->nlmsg_len;
}

/**
 * queue_route() - queue the kernel's answer to a route request
 * @seq:	the request's sequence number
 * @dst:	destination
 * @oif:	interface of the route
 * @gw:		its gateway, NULL for none (on-link)
 * @type:	route type (RTN_UNICAST, ...)
 */
static void queue_route(uint32_t seq, const char *dst, uint32_t oif,
			const char *gw, uint8_t type)
{
	struct nlmsghdr *nlh = queue_new(RTM_NEWROUTE, seq);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	union inany_addr a = addr(dst);

	rtm->rtm_family = inany_is_v4(&a) ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = inany_is_v4(&a) ? 32 : 128;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = type;
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	put_addr(nlh, RTA_DST, dst);
	mnl_attr_put_u32(nlh, RTA_OIF, oif);
	if (gw)
		put_addr(nlh, RTA_GATEWAY, gw);
	queue_done(nlh);
}

/**
 * queue_neigh() - queue a neighbour entry, notification or answer
 * @type:	RTM_NEWNEIGH or RTM_DELNEIGH
 * @seq:	sequence number, 0 for a notification
 * @ifi:	its interface
 * @dst:	its address
 * @nud:	its NUD state
 * @mac:	its MAC, NULL for none
 */
static void queue_neigh(uint16_t type, uint32_t seq, int ifi, const char *dst,
			uint16_t nud, const uint8_t *mac)
{
	struct nlmsghdr *nlh = queue_new(type, seq);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	union inany_addr a = addr(dst);

	ndm->ndm_family = inany_is_v4(&a) ? AF_INET : AF_INET6;
	ndm->ndm_ifindex = ifi;
	ndm->ndm_state = nud;
	ndm->ndm_type = RTN_UNICAST;
	put_addr(nlh, NDA_DST, dst);
	if (mac)
		mnl_attr_put(nlh, NDA_LLADDR, ETH_ALEN, mac);
	queue_done(nlh);
}

/**
 * queue_error() - queue the kernel's refusal of a request
 * @seq:	the request's sequence number
 * @error:	errno, positive
 */
static void queue_error(uint32_t seq, int error)
{
	struct nlmsghdr *nlh = queue_new(NLMSG_ERROR, seq);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	e->error = -error;
	e->msg.nlmsg_seq = seq;
	queue_done(nlh);
}

/**
 * feed() - have merd read everything queued
 * @c:		context
 */
static void feed(struct ctx *c)
{
	neigh_handler(c);
	assert_int_equal(nread, nqueued);
	nread = nqueued = 0;
}

/**
 * struct req - a request merd sent, read back
 * @type:	RTM_GETROUTE or RTM_GETNEIGH
 * @flags:	netlink flags
 * @seq:	sequence number
 * @family:	address family of its family header
 * @ifi:	RTM_GETNEIGH: interface asked about
 * @dst:	RTA_DST or NDA_DST
 * @src:	RTA_SRC, :: if absent
 * @has_src:	RTA_SRC was there
 */
struct req {
	uint16_t type;
	uint16_t flags;
	uint32_t seq;
	int family;
	int ifi;
	union inany_addr dst;
	union inany_addr src;
	bool has_src;
};

/**
 * get_addr() - read an address attribute of a family
 * @attr:	attribute
 * @family:	AF_INET or AF_INET6
 * @a:		set to the address
 */
static void get_addr(const struct nlattr *attr, int family,
		     union inany_addr *a)
{
	uint32_t v4;

	if (family == AF_INET) {
		assert_int_equal(mnl_attr_get_payload_len(attr), 4);
		memcpy(&v4, mnl_attr_get_payload(attr), 4);
		inany_from_v4(a, v4);
		return;
	}
	assert_int_equal(mnl_attr_get_payload_len(attr), 16);
	memcpy(&a->a6, mnl_attr_get_payload(attr), 16);
}

/**
 * req_attrs() - read the attributes of a request
 * @nlh:	request
 * @hdr:	size of its family header
 * @r:		filled in
 */
static void req_attrs(const struct nlmsghdr *nlh, size_t hdr, struct req *r)
{
	const struct nlattr *attr;
	bool dst = false;

	mnl_attr_for_each(attr, nlh, hdr) {
		if (mnl_attr_get_type(attr) == 1) {	/* RTA_DST, NDA_DST */
			get_addr(attr, r->family, &r->dst);
			dst = true;
		} else if (r->type == RTM_GETROUTE &&
			   mnl_attr_get_type(attr) == RTA_SRC) {
			get_addr(attr, r->family, &r->src);
			r->has_src = true;
		}
	}
	assert_true(dst);
}

/**
 * req() - read back a request merd sent
 * @i:		which one, in order
 *
 * Return: what it asked
 */
static struct req req(int i)
{
	const struct nlmsghdr *nlh = (const void *)sent[i].p;
	struct req r = { 0 };

	assert_true(i < nsent);
	assert_true(mnl_nlmsg_ok(nlh, (int)sent[i].len));
	r.type = nlh->nlmsg_type;
	r.flags = nlh->nlmsg_flags;
	r.seq = nlh->nlmsg_seq;
	if (r.type == RTM_GETROUTE) {
		const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

		r.family = rtm->rtm_family;
		assert_int_equal(rtm->rtm_dst_len,
				 r.family == AF_INET ? 32 : 128);
		req_attrs(nlh, sizeof(*rtm), &r);
	} else {
		const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

		assert_int_equal(r.type, RTM_GETNEIGH);
		r.family = ndm->ndm_family;
		r.ifi = ndm->ndm_ifindex;
		assert_int_equal(ndm->ndm_state, 0);
		assert_int_equal(ndm->ndm_flags, 0);
		req_attrs(nlh, sizeof(*ndm), &r);
	}
	assert_int_equal(r.flags, NLM_F_REQUEST);
	assert_int_not_equal(r.seq, 0);
	return r;
}

/**
 * assert_route_req() - check that request @i asks the route to @dst
 * @i:		request
 * @dst:	destination, as text
 *
 * Return: its sequence number
 */
static uint32_t assert_route_req(int i, const char *dst)
{
	struct req r = req(i);
	union inany_addr a = addr(dst);
	union inany_addr src = addr(inany_is_v4(&a) ? HOST4 : HOST6);

	assert_int_equal(r.type, RTM_GETROUTE);
	assert_int_equal(r.family, inany_is_v4(&a) ? AF_INET : AF_INET6);
	assert_true(inany_equals(&r.dst, &a));
	assert_true(r.has_src);
	assert_true(inany_equals(&r.src, &src));
	return r.seq;
}

/**
 * assert_neigh_req() - check that request @i asks the neighbour @via
 * @i:		request
 * @via:	next hop, as text
 *
 * Return: its sequence number
 */
static uint32_t assert_neigh_req(int i, const char *via)
{
	struct req r = req(i);
	union inany_addr a = addr(via);

	assert_int_equal(r.type, RTM_GETNEIGH);
	assert_int_equal(r.family, inany_is_v4(&a) ? AF_INET : AF_INET6);
	assert_int_equal(r.ifi, inany_is_v4(&a) ? UPLINK : UPLINK6);
	assert_true(inany_equals(&r.dst, &a));
	return r.seq;
}

/**
 * mac() - neigh_mac() for an address given as text
 * @c:		context
 * @dst:	destination
 *
 * Return: what neigh_mac() returns
 */
static const uint8_t *mac(struct ctx *c, const char *dst)
{
	union inany_addr a = addr(dst);

	return neigh_mac(c, &a);
}

/**
 * assert_mac() - check that neigh_mac() hands out @want for @dst
 * @c:		context
 * @dst:	destination
 * @want:	MAC expected
 */
static void assert_mac(struct ctx *c, const char *dst, const uint8_t *want)
{
	const uint8_t *m = mac(c, dst);

	assert_non_null(m);
	assert_memory_equal(m, want, ETH_ALEN);
}

/* setup() - cmocka fixture: a context whose uplinks are UPLINK and UPLINK6,
 * neigh's socket TFD, nothing sent or queued
 */
static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->host.ifi = UPLINK;
	c->host.ifi6 = UPLINK6;
	assert_int_equal(inet_pton(AF_INET, HOST4, &c->host.addr4), 1);
	assert_int_equal(inet_pton(AF_INET6, HOST6, &c->host.addr6), 1);
	c->host.prefix4 = 24;
	c->host.prefix6 = 64;
	c->neigh.fd = TFD;
	c->epollfd = -1;
	c->now = T0;
	nsent = nqueued = nread = 0;
	*state = c;
	return 0;
}

/* teardown() - cmocka fixture: release it */
static int teardown(void **state)
{
	free(*state);
	return 0;
}

/**
 * resolve() - take a destination through route and neighbour answers
 * @c:		context
 * @dst:	destination
 * @gw:		its gateway, NULL for on-link
 * @nud:	NUD state the neighbour answer has
 * @m:		MAC it has
 *
 * Return: how many requests were sent before
 */
static int resolve(struct ctx *c, const char *dst, const char *gw,
		   uint16_t nud, const uint8_t *m)
{
	int first = nsent;
	uint32_t seq;

	assert_null(mac(c, dst));
	assert_int_equal(nsent, first + 1);
	seq = assert_route_req(first, dst);
	queue_route(seq, dst, UPLINK, gw, RTN_UNICAST);
	feed(c);
	assert_int_equal(nsent, first + 2);
	seq = assert_neigh_req(first + 1, gw ? gw : dst);
	queue_neigh(RTM_NEWNEIGH, seq, UPLINK, gw ? gw : dst, nud, m);
	feed(c);
	return first;
}

/* A destination not known: one route request from the host's address, and
 * the kernel's way until it is answered, with no other request
 */
static void test_miss_asks_route(void **state)
{
	struct ctx *c = *state;

	assert_null(mac(c, PEER));
	assert_int_equal(nsent, 1);
	assert_route_req(0, PEER);
	assert_null(mac(c, PEER));
	c->now += NEIGH_ASK_AGAIN - 1;
	assert_null(mac(c, PEER));
	assert_int_equal(nsent, 1);
}

/* Without a host address of the family, the route is asked without a
 * source
 */
static void test_no_source(void **state)
{
	struct ctx *c = *state;

	c->host.prefix4 = -1;
	assert_null(mac(c, PEER));
	assert_int_equal(nsent, 1);
	assert_false(req(0).has_src);
}

/* On the link: the neighbour is the destination; REACHABLE gives its MAC */
static void test_onlink_resolves(void **state)
{
	struct ctx *c = *state;
	int i;

	resolve(c, PEER, NULL, NUD_REACHABLE, peer_mac);
	for (i = 0; i < 10; i++)
		assert_mac(c, PEER, peer_mac);
	c->now += 100;
	assert_mac(c, PEER, peer_mac);
	assert_int_equal(nsent, 2);
}

/* Behind a gateway: the gateway is asked about, and one notification for
 * it gives every destination behind it its MAC
 */
static void test_gateway(void **state)
{
	struct ctx *c = *state;
	uint32_t seq;

	resolve(c, FAR, GW, NUD_REACHABLE, gw_mac);
	assert_mac(c, FAR, gw_mac);

	/* A second destination, its neighbour answer not there yet */
	assert_null(mac(c, FAR2));
	seq = assert_route_req(2, FAR2);
	queue_route(seq, FAR2, UPLINK, GW, RTN_UNICAST);
	feed(c);
	assert_neigh_req(3, GW);
	assert_null(mac(c, FAR2));

	/* The gateway's MAC changes: both follow */
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, GW, NUD_REACHABLE, gw_mac2);
	feed(c);
	assert_mac(c, FAR, gw_mac2);
	assert_mac(c, FAR2, gw_mac2);
	assert_int_equal(nsent, 4);
}

/* Routes not through the uplink, or not unicast: the kernel's way for
 * good, with no more requests, until the routes change
 */
static void test_not_uplink(void **state)
{
	struct ctx *c = *state;
	uint32_t seq;

	assert_null(mac(c, PEER));
	queue_route(assert_route_req(0, PEER), PEER, OTHER_IF, NULL,
		    RTN_UNICAST);
	assert_null(mac(c, FAR));
	queue_route(assert_route_req(1, FAR), FAR, UPLINK, NULL, RTN_LOCAL);
	assert_null(mac(c, FAR2));
	seq = assert_route_req(2, FAR2);
	feed(c);
	queue_error(seq, ENETUNREACH);
	feed(c);

	c->now += 10 * NEIGH_ASK_AGAIN;
	assert_null(mac(c, PEER));
	assert_null(mac(c, FAR));
	assert_null(mac(c, FAR2));
	/* A neighbour notification for it changes nothing */
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, peer_mac);
	feed(c);
	assert_null(mac(c, PEER));
	assert_int_equal(nsent, 3);
}

/* STALE: one packet a second the kernel's way, the rest to the MAC; then
 * REACHABLE again, the MAC always
 */
static void test_stale(void **state)
{
	struct ctx *c = *state;
	int i;

	resolve(c, PEER, NULL, NUD_STALE, peer_mac);
	assert_null(mac(c, PEER));
	for (i = 0; i < 5; i++)
		assert_mac(c, PEER, peer_mac);
	c->now += NEIGH_REFRESH;
	assert_null(mac(c, PEER));
	assert_mac(c, PEER, peer_mac);

	/* Unsure the same way: DELAY and PROBE */
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_PROBE, peer_mac);
	feed(c);
	assert_mac(c, PEER, peer_mac);
	c->now += NEIGH_REFRESH;
	assert_null(mac(c, PEER));
	assert_mac(c, PEER, peer_mac);

	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, peer_mac);
	feed(c);
	c->now += NEIGH_REFRESH;
	for (i = 0; i < 5; i++)
		assert_mac(c, PEER, peer_mac);
	assert_int_equal(nsent, 2);
}

/* A neighbour deleted, failed or incomplete: no MAC until it's back */
static void test_del_failed(void **state)
{
	struct ctx *c = *state;

	resolve(c, PEER, NULL, NUD_REACHABLE, peer_mac);
	queue_neigh(RTM_DELNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, peer_mac);
	feed(c);
	assert_null(mac(c, PEER));

	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, peer_mac);
	feed(c);
	assert_mac(c, PEER, peer_mac);
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_FAILED, peer_mac);
	feed(c);
	assert_null(mac(c, PEER));

	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, peer_mac);
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_INCOMPLETE, NULL);
	feed(c);
	assert_null(mac(c, PEER));
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, NULL);
	feed(c);
	assert_null(mac(c, PEER));
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_NONE, peer_mac);
	feed(c);
	assert_null(mac(c, PEER));
}

/* No neighbour entry yet (ENOENT): the MAC comes with the notification of
 * the kernel resolving it
 */
static void test_neigh_enoent(void **state)
{
	struct ctx *c = *state;
	uint32_t seq;

	assert_null(mac(c, PEER));
	queue_route(assert_route_req(0, PEER), PEER, UPLINK, NULL,
		    RTN_UNICAST);
	feed(c);
	seq = assert_neigh_req(1, PEER);
	queue_error(seq, ENOENT);
	feed(c);
	assert_null(mac(c, PEER));
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, peer_mac);
	feed(c);
	assert_mac(c, PEER, peer_mac);
}

/* Routes changed: everything is asked again */
static void test_forget(void **state)
{
	struct ctx *c = *state;

	resolve(c, PEER, NULL, NUD_REACHABLE, peer_mac);
	neigh_forget(c);
	assert_null(mac(c, PEER));
	assert_int_equal(nsent, 3);
	assert_route_req(2, PEER);
}

/* The socket overflowed: notifications were lost, everything is forgotten,
 * and what follows the overflow is still read
 */
static void test_overflow(void **state)
{
	struct ctx *c = *state;

	resolve(c, PEER, NULL, NUD_REACHABLE, peer_mac);
	queue[nqueued++].err = ENOBUFS;
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, GW, NUD_REACHABLE, gw_mac);
	feed(c);
	assert_null(mac(c, PEER));
	assert_route_req(2, PEER);
}

/* An answer lost: asked again NEIGH_ASK_AGAIN later, and an answer to the
 * old request is taken for nothing
 */
static void test_ask_again(void **state)
{
	struct ctx *c = *state;
	uint32_t old, seq;

	assert_null(mac(c, PEER));
	old = assert_route_req(0, PEER);
	c->now += NEIGH_ASK_AGAIN;
	assert_null(mac(c, PEER));
	assert_int_equal(nsent, 2);
	seq = assert_route_req(1, PEER);
	assert_int_not_equal(seq, old);

	queue_route(old, PEER, UPLINK, NULL, RTN_UNICAST);
	feed(c);
	assert_int_equal(nsent, 2);
	queue_route(seq, PEER, UPLINK, NULL, RTN_UNICAST);
	feed(c);
	assert_int_equal(nsent, 3);

	/* The neighbour answer lost too */
	old = assert_neigh_req(2, PEER);
	assert_null(mac(c, PEER));
	c->now += NEIGH_ASK_AGAIN;
	assert_null(mac(c, PEER));
	assert_int_equal(nsent, 4);
	assert_int_not_equal(assert_neigh_req(3, PEER), old);
}

/* IPv6: the route asked from the host's IPv6 address, the link-local
 * router's NDP entry on the IPv6 uplink
 */
static void test_ipv6(void **state)
{
	struct ctx *c = *state;
	uint32_t seq;

	assert_null(mac(c, FAR6));
	seq = assert_route_req(0, FAR6);
	queue_route(seq, FAR6, UPLINK6, GW6, RTN_UNICAST);
	feed(c);
	seq = assert_neigh_req(1, GW6);
	/* An entry of the same address on the IPv4 uplink isn't it */
	queue_neigh(RTM_NEWNEIGH, seq, UPLINK, GW6, NUD_REACHABLE, gw_mac2);
	queue_neigh(RTM_NEWNEIGH, seq, UPLINK6, GW6, NUD_REACHABLE, gw_mac);
	feed(c);
	assert_mac(c, FAR6, gw_mac);
}

/**
 * queue_raw() - queue bytes as they are
 * @p:		bytes
 * @len:	their number
 * @pid:	sender's port ID
 */
static void queue_raw(const void *p, size_t len, uint32_t pid)
{
	struct msg *m = &queue[nqueued++];

	assert_true(len <= MSG_LEN);
	memset(m, 0, sizeof(*m));
	memcpy(m->p, p, len);
	m->len = len;
	m->pid = pid;
}

/**
 * queue_cut() - queue the last message queued, cut to fewer bytes
 * @len:	bytes to keep
 */
static void queue_cut(size_t len)
{
	queue[nqueued - 1].len = len;
}

/* Truncated, malformed or foreign messages change nothing, and neither does
 * noise
 */
static void test_garbage(void **state)
{
	struct ctx *c = *state;
	uint8_t noise[MSG_LEN];
	struct nlmsghdr *nlh;
	uint32_t seq;
	size_t i, k;

	c->opts.trace = true;
	assert_null(mac(c, PEER));
	seq = assert_route_req(0, PEER);

	/* Route answers: cut, wrong family, address of the wrong size,
	 * another destination, another sender, its header cut
	 */
	queue_route(seq, PEER, UPLINK, NULL, RTN_UNICAST);
	queue_cut(queue[nqueued - 1].len - 4);
	queue_route(seq, FAR6, UPLINK, NULL, RTN_UNICAST);
	queue_route(seq, FAR, UPLINK, NULL, RTN_UNICAST);
	queue_route(seq, PEER, UPLINK, NULL, RTN_UNICAST);
	queue[nqueued - 1].pid = 4242;
	nlh = queue_new(RTM_NEWROUTE, seq);
	mnl_nlmsg_put_extra_header(nlh, 4);
	queue_done(nlh);
	nlh = queue_new(RTM_NEWROUTE, seq);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
	mnl_attr_put(nlh, RTA_DST, 3, "abc");
	mnl_attr_put_u32(nlh, RTA_OIF, UPLINK);
	queue_done(nlh);
	/* Errors cut short, or for nothing */
	queue_error(seq, ENETUNREACH);
	queue_cut(sizeof(struct nlmsghdr) + 2);
	queue_error(seq + 1, ENETUNREACH);
	queue_error(seq, 0);
	/* Neighbours: cut, no address, a proxy entry */
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, peer_mac);
	queue_cut(sizeof(struct nlmsghdr) + 3);
	nlh = queue_new(RTM_NEWNEIGH, 0);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ndmsg));
	queue_done(nlh);
	/* A message, then a header claiming 4 GiB (libmnl 1.0.4 takes a
	 * length past 2 GiB for a negative one, and walks off the buffer)
	 */
	queue_route(seq, FAR, UPLINK, NULL, RTN_UNICAST);
	nlh = (struct nlmsghdr *)(queue[nqueued - 1].p +
				  queue[nqueued - 1].len);
	nlh->nlmsg_len = 0xfffffff0;
	nlh->nlmsg_type = RTM_NEWROUTE;
	queue[nqueued - 1].len += sizeof(*nlh);
	feed(c);
	assert_null(mac(c, PEER));
	assert_int_equal(nsent, 1);

	/* Noise, from the kernel as far as merd can tell */
	rng_seed(42);
	for (i = 0; i < 2000; i++) {
		size_t len = rng() % MSG_LEN;

		for (k = 0; k < len; k++)
			noise[k] = (uint8_t)rng();
		if (len >= sizeof(*nlh)) {	/* mostly believable ones */
			nlh = (struct nlmsghdr *)noise;
			nlh->nlmsg_len = (uint32_t)(rng() % (len + 8));
			nlh->nlmsg_type = (uint16_t)(RTM_NEWROUTE + rng() % 8);
			nlh->nlmsg_seq = rng() % 2 ? seq : rng();
		}
		queue_raw(noise, len, 0);
		feed(c);
	}

	/* After all that, the real answer still works */
	queue_route(seq, PEER, UPLINK, NULL, RTN_UNICAST);
	feed(c);
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, peer_mac);
	feed(c);
	assert_mac(c, PEER, peer_mac);

	/* Another process can send to merd's socket: it isn't listened to */
	queue_neigh(RTM_NEWNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, gw_mac);
	queue[nqueued - 1].pid = 4242;
	queue_neigh(RTM_DELNEIGH, 0, UPLINK, PEER, NUD_REACHABLE, NULL);
	queue[nqueued - 1].pid = 4242;
	feed(c);
	assert_mac(c, PEER, peer_mac);
}

/* A guest sending to ever new destinations makes at most NEIGH_ASKS_MAX
 * requests a second
 */
static void test_budget(void **state)
{
	struct ctx *c = *state;
	char a[INET_ADDRSTRLEN];
	int i;

	for (i = 0; i < 4 * NEIGH_ASKS_MAX; i++) {
		snprintf(a, sizeof(a), "10.1.%d.%d", i / 250, i % 250 + 1);
		assert_null(mac(c, a));
	}
	assert_int_equal(nsent, NEIGH_ASKS_MAX);
	c->now++;
	assert_null(mac(c, "10.2.0.1"));
	assert_int_equal(nsent, NEIGH_ASKS_MAX + 1);
}

/* Destinations replace each other past the table, and each lookup still
 * finds its own or none: never another's MAC
 */
static void test_replace(void **state)
{
	struct ctx *c = *state;
	char a[INET_ADDRSTRLEN];
	int i;

	resolve(c, FAR, GW, NUD_REACHABLE, gw_mac);
	for (i = 0; i < 2 * NEIGH_DST_MAX; i++) {
		c->now++;
		snprintf(a, sizeof(a), "10.1.%d.%d", i / 250, i % 250 + 1);
		assert_null(mac(c, a));
	}
	/* Every one of them asked, and FAR replaced or still right */
	assert_int_equal(nsent, 2 + 2 * NEIGH_DST_MAX);
	{
		const uint8_t *m = mac(c, FAR);

		if (m)
			assert_memory_equal(m, gw_mac, ETH_ALEN);
	}
}

/* A destination of a family without an uplink: no request */
static void test_no_uplink(void **state)
{
	struct ctx *c = *state;

	c->host.ifi6 = 0;
	assert_null(mac(c, FAR6));
	assert_int_equal(nsent, 0);
}

/* neigh_init() opens a socket the kernel tells of neighbours, in the
 * epoll set; neigh_close() closes it
 */
static void test_init(void **state)
{
	struct ctx *c = *state;
	struct epoll_event ev = { 0 };
	int ret;

	c->epollfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(c->epollfd >= 0);
	c->neigh.fd = -1;
	ret = neigh_init(c);
	if (ret == -EPERM || ret == -EAFNOSUPPORT) {
		close(c->epollfd);
		skip();
	}
	assert_int_equal(ret, 0);
	assert_true(c->neigh.fd >= 0);
	/* Nothing to read yet: the handler returns at once */
	neigh_handler(c);
	assert_int_equal(epoll_ctl(c->epollfd, EPOLL_CTL_DEL, c->neigh.fd,
				   &ev), 0);
	neigh_close(c);
	assert_int_equal(c->neigh.fd, -1);
	close(c->epollfd);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_miss_asks_route),
		T(test_no_source),
		T(test_onlink_resolves),
		T(test_gateway),
		T(test_not_uplink),
		T(test_stale),
		T(test_del_failed),
		T(test_neigh_enoent),
		T(test_forget),
		T(test_overflow),
		T(test_ask_again),
		T(test_ipv6),
		T(test_garbage),
		T(test_budget),
		T(test_replace),
		T(test_no_uplink),
		T(test_init),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
