// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_ndp.c - libFuzzer harness: one IPv6 packet from the guest to ndp()
 *
 * Copyright (c) 2026 merd authors
 *
 * The input is one IPv6 packet, what follows the Ethernet header of a frame
 * from the guest. It goes through ip6_parse(), and, if that takes it, to
 * ndp() for each guest configuration below. The ICMPv6 checksum stops
 * mutated messages before anything else almost every time, so each input
 * is also tried a second time with its checksum corrected: a guest can
 * send those too.
 *
 * ndp() writes into a buffer of merd.c's 4096 bytes, allocated to its exact
 * size so that AddressSanitizer catches a write past it; a reply is built
 * again in a buffer of exactly its length, and of one byte less. Invariants
 * checked on top of the sanitisers:
 * - ndp() takes (returns true for) exactly the ICMPv6 types of NDP and MLD,
 *   as the harness works it out from the view, unless the packet is a
 *   later fragment or IPv6 isn't served; what it doesn't take gets no
 *   reply;
 * - a reply fits its buffer, is the same, byte for byte, when built in a
 *   buffer of exactly its length, and shorter (or none) in one byte less;
 * - its Ethernet and IPv6 headers are merd's: our MAC, hop limit 255, the
 *   lengths right, the ICMPv6 checksum right, the whole packet within the
 *   link's MTU;
 * - only a neighbour solicitation with hop limit 255 and a source other
 *   than :: gets an advertisement, never with --no-ndp, never for a
 *   multicast target or one of the guest's addresses, from the target,
 *   with our MAC as target link-layer address, the Router flag for the
 *   router alone;
 * - only a router solicitation with hop limit 255 gets an advertisement,
 *   never with --no-ra, from the router, to the solicitor or all-nodes,
 *   with options of nonzero length that end with the message.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>

#include "csum.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "ndp.h"
#include "pkt.h"

#include "fuzz_common.h"

#define NCONF		4

/* RFC 4861 4.2, 4.4: fixed parts of RA and NA, with the target's MAC */
#define RA_LEN		16
#define NA_LEN		32
/* RFC 4861 4.6: option lengths count 8-octet units */
#define OPT_UNIT	8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctx fuzz_ctx[NCONF];

#define FAIL(...)	fuzz_fail("fuzz_ndp: invariant broken: " __VA_ARGS__)

/**
 * fuzz_a6() - an IPv6 address from its text
 * @s:		text
 *
 * Return: the address
 */
static struct in6_addr fuzz_a6(const char *s)
{
	struct in6_addr a;

	if (inet_pton(AF_INET6, s, &a) != 1)
		abort();
	return a;
}

/**
 * fuzz_conf() - set up the guest configuration number @n
 * @c:		context to fill
 * @n:		0: ordinary, guest MAC known; 1: every list full, longest
 *		names, largest MTU, prefix length 0, guest MAC unknown;
 *		2: --no-ndp and --no-ra, smallest MTU, /128, no DNS;
 *		3: IPv6 not served
 */
static void fuzz_conf(struct ctx *c, int n)
{
	static const uint8_t gmac[ETH_ALEN] = { 0x52, 0x54, 0, 0x12, 0x34,
						0x56 };
	struct guest6 *g = &c->guest6;
	struct fuzz_guest fg;
	int i;

	fuzz_ctx_init(c);
	fuzz_guest_conf(&fg, n == 1 ? 1 : 0);
	fuzz_guest_set(c, &fg);

	g->enabled = n != 3;
	g->addr = fuzz_a6("2001:db8:1::10");
	g->prefix = fuzz_a6("2001:db8:1::");
	g->prefix_len = 64;
	g->gw = fuzz_a6("fe80::1");
	g->dns[g->dns_n++] = fuzz_a6("2001:db8::53");
	g->own[g->own_n++] = fuzz_a6("fe80::5054:ff:fe12:3456");
	memcpy(c->tap.guest_mac, gmac, ETH_ALEN);
	c->tap.guest_mac_known = true;

	switch (n) {
	case 1:
		g->prefix = fuzz_a6("::");
		g->prefix_len = 0;
		for (i = g->dns_n; i < DNS_MAX; i++)
			g->dns[g->dns_n++] = fuzz_a6("2001:db8::54");
		for (i = g->own_n; i < GUEST6_OWN_MAX; i++)
			g->own[g->own_n++] = fuzz_a6("2001:db8:1::77");
		c->tap.guest_mac_known = false;
		break;
	case 2:
		c->opts.no_ndp = c->opts.no_ra = true;
		c->link.mtu = IP6_MTU_MIN;
		g->prefix = g->addr;
		g->prefix_len = 128;
		g->dns_n = 0;
		break;
	default:
		break;
	}
}

/**
 * LLVMFuzzerInitialize() - quiet logging, set the configurations up once
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i;

	(void)argc;
	(void)argv;
	fuzz_init("fuzz_ndp", false);
	for (i = 0; i < NCONF; i++)
		fuzz_conf(&fuzz_ctx[i], i);
	return 0;
}

/**
 * is_ndp_type() - the ICMPv6 types ndp() must take, worked out here
 * @type:	ICMPv6 type
 *
 * Return: true for MLD (130 to 132, 143) and NDP (133 to 137)
 */
NOCOV static bool is_ndp_type(uint8_t type)
{
	return (type >= MLD_LISTENER_QUERY && type <= ND_REDIRECT) ||
	       type == 143;
}

/**
 * is_guest() - tell whether an address is one of the guest's
 * @c:		context
 * @a:		address
 *
 * Return: true if so
 */
NOCOV static bool is_guest(const struct ctx *c, const struct in6_addr *a)
{
	int i;

	if (IN6_ARE_ADDR_EQUAL(a, &c->guest6.addr))
		return true;
	for (i = 0; i < c->guest6.own_n; i++)
		if (IN6_ARE_ADDR_EQUAL(a, &c->guest6.own[i]))
			return true;
	return false;
}

/**
 * check_frame() - check the headers of a reply, and its checksum
 * @c:		context
 * @r:		reply frame
 * @rlen:	its length
 * @src:	set to its IPv6 source
 * @dst:	set to its IPv6 destination
 * @msg:	set to its ICMPv6 message
 */
NOCOV static void check_frame(const struct ctx *c, const uint8_t *r,
			      size_t rlen, struct in6_addr *src,
			      struct in6_addr *dst, struct pkt *msg)
{
	size_t mtu = MAX((size_t)c->link.mtu, (size_t)IP6_MTU_MIN);
	struct ip6_hdr h;
	uint16_t proto;

	if (rlen < ETH_HLEN + sizeof(h) + RA_LEN / 2)
		FAIL("reply of %zu bytes", rlen);
	memcpy(&proto, r + 2 * ETH_ALEN, sizeof(proto));
	if (memcmp(r + ETH_ALEN, c->link.mac, ETH_ALEN) ||
	    ntohs(proto) != ETH_P_IPV6)
		FAIL("bad Ethernet header on the reply");
	memcpy(&h, r + ETH_HLEN, sizeof(h));
	if (ntohl(h.ip6_flow) >> 28 != 6 || h.ip6_nxt != IPPROTO_ICMPV6 ||
	    h.ip6_hlim != 255 ||
	    ETH_HLEN + sizeof(h) + ntohs(h.ip6_plen) != rlen)
		FAIL("bad IPv6 header on the reply");
	if (rlen - ETH_HLEN > mtu)
		FAIL("reply of %zu bytes, over the MTU", rlen);

	*src = h.ip6_src;
	*dst = h.ip6_dst;
	msg->p = r + ETH_HLEN + sizeof(h);
	msg->len = ntohs(h.ip6_plen);
	if (csum_l4_ip6(src, dst, IPPROTO_ICMPV6, msg->p, msg->len))
		FAIL("bad ICMPv6 checksum on the reply");
	if (msg->p[1])
		FAIL("ICMPv6 code %u on the reply", msg->p[1]);
}

/**
 * check_na() - check a neighbour advertisement against the solicitation
 * @c:		context
 * @ip:		solicitation
 * @src:	source of the advertisement
 * @dst:	its destination
 * @m:		the advertisement
 */
NOCOV static void check_na(const struct ctx *c, const struct ip_view *ip,
			   const struct in6_addr *src,
			   const struct in6_addr *dst, struct pkt m)
{
	struct nd_neighbor_solicit ns;
	struct nd_neighbor_advert na;
	uint8_t o[OPT_UNIT];
	bool router;

	if (!pkt_get(ip->l4, 0, &ns, sizeof(ns)) || c->opts.no_ndp ||
	    ip->ttl != 255 || IN6_IS_ADDR_UNSPECIFIED(&ip->src.a6))
		FAIL("advertisement for a solicitation merd must drop");
	if (IN6_IS_ADDR_MULTICAST(&ns.nd_ns_target) ||
	    is_guest(c, &ns.nd_ns_target))
		FAIL("advertisement for a multicast or the guest's address");
	if (m.len != NA_LEN || !pkt_get(m, 0, &na, sizeof(na)) ||
	    !pkt_get(m, sizeof(na), o, sizeof(o)))
		FAIL("advertisement of %zu bytes", m.len);
	if (!IN6_ARE_ADDR_EQUAL(src, &ns.nd_ns_target) ||
	    !IN6_ARE_ADDR_EQUAL(&na.nd_na_target, &ns.nd_ns_target) ||
	    !IN6_ARE_ADDR_EQUAL(dst, &ip->src.a6))
		FAIL("advertisement doesn't answer the solicitation");
	router = IN6_ARE_ADDR_EQUAL(src, &c->guest6.gw);
	if (na.nd_na_flags_reserved != (ND_NA_FLAG_SOLICITED |
					ND_NA_FLAG_OVERRIDE |
					(router ? ND_NA_FLAG_ROUTER : 0)))
		FAIL("advertisement flags wrong");
	if (o[0] != ND_OPT_TARGET_LINKADDR || o[1] != 1 ||
	    memcmp(o + 2, c->link.mac, ETH_ALEN))
		FAIL("advertisement without our MAC as target address");
}

/**
 * check_ra() - check a router advertisement against the solicitation
 * @c:		context
 * @ip:		solicitation
 * @src:	source of the advertisement
 * @dst:	its destination
 * @m:		the advertisement
 */
NOCOV static void check_ra(const struct ctx *c, const struct ip_view *ip,
			   const struct in6_addr *src,
			   const struct in6_addr *dst, struct pkt m)
{
	const struct in6_addr all = fuzz_a6("ff02::1");
	size_t off;

	if (c->opts.no_ra || ip->ttl != 255)
		FAIL("advertisement for a solicitation merd must drop");
	if (!IN6_ARE_ADDR_EQUAL(src, &c->guest6.gw) ||
	    (!IN6_ARE_ADDR_EQUAL(dst, &ip->src.a6) &&
	     !IN6_ARE_ADDR_EQUAL(dst, &all)))
		FAIL("router advertisement from or to the wrong address");
	if (m.len < RA_LEN)
		FAIL("router advertisement of %zu bytes", m.len);
	for (off = RA_LEN; off < m.len; off += (size_t)m.p[off + 1] * 8)
		if (off + 2 > m.len || !m.p[off + 1] ||
		    !pkt_in(m, off, (size_t)m.p[off + 1] * OPT_UNIT))
			FAIL("malformed option in the router advertisement");
}

/**
 * check_reply() - check a reply against what it answers
 * @c:		context
 * @ip:		packet from the guest
 * @r:		reply frame
 * @rlen:	its length
 */
NOCOV static void check_reply(const struct ctx *c, const struct ip_view *ip,
			      const uint8_t *r, size_t rlen)
{
	struct in6_addr src, dst;
	struct pkt m;

	check_frame(c, r, rlen, &src, &dst, &m);
	if (ip->l4.p[0] == ND_NEIGHBOR_SOLICIT && m.p[0] == ND_NEIGHBOR_ADVERT)
		check_na(c, ip, &src, &dst, m);
	else if (ip->l4.p[0] == ND_ROUTER_SOLICIT &&
		 m.p[0] == ND_ROUTER_ADVERT)
		check_ra(c, ip, &src, &dst, m);
	else
		FAIL("reply of type %u to type %u", m.p[0], ip->l4.p[0]);
}

/**
 * run_ndp() - call ndp() with a reply buffer of exactly @size bytes
 * @c:		context
 * @ip:		packet
 * @size:	size of the buffer
 * @copy:	the reply copied here, FUZZ_REPLY_MAX bytes
 * @rlen:	set to the reply length
 *
 * Return: what ndp() returned
 */
static bool run_ndp(const struct ctx *c, const struct ip_view *ip,
		    size_t size, uint8_t *copy, size_t *rlen)
{
	uint8_t *reply = malloc(size ? size : 1);
	bool ret;

	if (!reply)
		abort();
	ret = ndp(c, ip, reply, size, rlen);
	if (*rlen > size)
		FAIL("reply of %zu bytes in a buffer of %zu", *rlen, size);
	if (!ret && *rlen)
		FAIL("reply to a packet ndp() didn't take");
	memcpy(copy, reply, *rlen);
	free(reply);
	return ret;
}

/**
 * fuzz_one() - one packet to ndp(), for one context
 * @c:		context
 * @ip:		packet, parsed
 */
static void fuzz_one(const struct ctx *c, const struct ip_view *ip)
{
	static uint8_t r[FUZZ_REPLY_MAX], r2[FUZZ_REPLY_MAX];
	bool ret, want;
	size_t rlen, rlen2;

	ret = run_ndp(c, ip, FUZZ_REPLY_MAX, r, &rlen);
	want = c->guest6.enabled && ip->proto == IPPROTO_ICMPV6 &&
	       !ip->frag && ip->l4.len && is_ndp_type(ip->l4.p[0]);
	if (ret != want)
		FAIL("ndp() returned %d for ICMPv6 type %d", ret,
		     ip->l4.len ? ip->l4.p[0] : -1);
	if (!rlen)
		return;
	check_reply(c, ip, r, rlen);

	if (!run_ndp(c, ip, rlen, r2, &rlen2) || rlen2 != rlen ||
	    memcmp(r, r2, rlen))
		FAIL("reply differs in a buffer of its exact size");
	if (!run_ndp(c, ip, rlen - 1, r2, &rlen2) || rlen2 >= rlen)
		FAIL("reply of %zu bytes in a buffer of %zu", rlen2, rlen - 1);
	if (rlen2)
		check_reply(c, ip, r2, rlen2);
}

/**
 * fix_csum() - correct the ICMPv6 checksum of a packet, in place
 * @buf:	packet
 * @ip:		its view, from ip6_parse() of @buf
 *
 * Return: true if the packet is ICMPv6 with room for a checksum
 */
NOCOV static bool fix_csum(uint8_t *buf, const struct ip_view *ip)
{
	size_t off = (size_t)(ip->l4.p - buf) + 2;
	uint16_t sum;

	if (ip->proto != IPPROTO_ICMPV6 || ip->frag || ip->l4.len < 4)
		return false;
	memset(buf + off, 0, sizeof(sum));
	sum = csum_l4_ip6(&ip->src.a6, &ip->dst.a6, IPPROTO_ICMPV6,
			  ip->l4.p, ip->l4.len);
	memcpy(buf + off, &sum, sizeof(sum));
	return true;
}

/**
 * LLVMFuzzerTestOneInput() - one packet from the guest, every
 *			      configuration, as it is and checksum corrected
 * @data:	IPv6 packet
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt v = { data, size };
	struct ip_view ip;
	uint8_t *copy;
	int i;

	/* tap_parse() hands frame_handler() nothing larger */
	if (size > TAP_FRAME_MAX - ETH_HLEN || ip6_parse(v, &ip))
		return 0;
	for (i = 0; i < NCONF; i++)
		fuzz_one(&fuzz_ctx[i], &ip);

	copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	v.p = copy;
	if (!ip6_parse(v, &ip) && fix_csum(copy, &ip))
		for (i = 0; i < NCONF; i++)
			fuzz_one(&fuzz_ctx[i], &ip);
	free(copy);
	return 0;
}
