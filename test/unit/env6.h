/* SPDX-License-Identifier: GPL-2.0-or-later */
/* env6.h - the data path tests' context (env.h), with IPv6 served
 *
 * Copyright (c) 2026 merd authors
 *
 * The guest gets 2001:db8:42::2 in 2001:db8:42::/64, behind the router
 * address fe80::1; the host leaves from 2001:db8:2::2. The host's resolver
 * on loopback is left unset (::): a test that wants one sets it. Packets
 * for the guest are taken out of the ring by ring_next6(), which checks
 * their Ethernet header as ring_next() does, with the IPv6 EtherType;
 * check_icmp6_error() checks one that is an ICMPv6 error about a guest's
 * packet (icmp6_error()), from scratch (ref6.h).
 */

#ifndef ENV6_H
#define ENV6_H

#include "env.h"
#include "ip6.h"
#include "ref6.h"

#define GUEST6		"2001:db8:42::2"
#define PREFIX6		"2001:db8:42::"
#define PREFIX6_LEN	64
#define ROUTER6		"fe80::1"	/* the guest's router, the host */
#define HOST6		"2001:db8:2::2"	/* the host's address */

/**
 * env6_on() - serve IPv6 in an environment of env_new()
 * @e:		environment
 */
static inline void env6_on(struct env *e)
{
	struct ctx *c = &e->c;

	c->guest6.enabled = true;
	c->guest6.addr = addr6(GUEST6);
	c->guest6.prefix = addr6(PREFIX6);
	c->guest6.prefix_len = PREFIX6_LEN;
	c->guest6.gw = addr6(ROUTER6);
	c->host.out6 = addr6(HOST6);
	c->opts.v6 = true;
}

/**
 * ring_next6() - the next IPv6 packet queued for the guest
 * @e:		environment
 * @ip:		where to copy it
 * @size:	room there
 *
 * Checks its length field, and its Ethernet header: to the guest's MAC
 * (broadcast while unknown), from merd's, IPv6.
 *
 * Return: its length, 0 if nothing is queued
 */
static inline size_t ring_next6(struct env *e, uint8_t *ip, size_t size)
{
	struct tap_tx *tx = &e->c.tap.tx;
	uint8_t lenf[4], eh[ETH_HLEN];
	size_t len;

	if (!tx->used)
		return 0;
	assert_true(tx->used >= sizeof(lenf) + ETH_HLEN);
	ring_get(tx, lenf, sizeof(lenf));
	len = get32(lenf);
	assert_true(len >= ETH_HLEN && len <= tx->used);
	ring_get(tx, eh, ETH_HLEN);
	assert_memory_equal(eh, e->c.tap.guest_mac_known ? guest_mac : bcast,
			    ETH_ALEN);
	assert_memory_equal(eh + ETH_ALEN, our_mac, ETH_ALEN);
	assert_int_equal(get16(eh + 12), ETH_P_IPV6);
	len -= ETH_HLEN;
	assert_true(len <= size);
	ring_get(tx, ip, len);
	return len;
}

/**
 * parse6_ok() - the views of an IPv6 packet, which must be well-formed, as
 *		 the data path gets them (ip6_parse(), then l4_parse())
 * @p:		packet, from its fixed header
 * @len:	its length
 * @ip:		filled in
 * @l4:		filled in, NULL if not wanted
 */
static inline void parse6_ok(const uint8_t *p, size_t len, struct ip_view *ip,
			     struct l4_view *l4)
{
	struct pkt v = { p, len };

	assert_int_equal(ip6_parse(v, ip), 0);
	if (l4)
		assert_int_equal(l4_parse(ip, l4), 0);
}

/**
 * check_icmp6_error() - the next frame for the guest is an ICMPv6 error
 *			 merd sent, about a packet of the guest
 * @e:		environment
 * @g:		the guest's packet
 * @glen:	its length
 * @type:	ICMPv6 type the error must have
 * @code:	its code
 * @info:	its second word: MTU, pointer or zero (RFC 4443 3)
 * @src:	its source
 *
 * To @g's source, hop limit 64, quoting @g from its start as much as RFC
 * 4443 2.4 (c) and the guest's MTU allow, checksum right over the
 * pseudo-header.
 */
static inline void check_icmp6_error(struct env *e, const uint8_t *g,
				     size_t glen, uint8_t type, uint8_t code,
				     uint32_t info, const struct in6_addr *src)
{
	static uint8_t ip[2000];
	size_t len = ring_next6(e, ip, sizeof(ip));
	size_t max = MIN((size_t)e->c.link.mtu, (size_t)R6_MTU_MIN);
	size_t quote = MIN(glen, max - R6_HLEN - R6_ICMP_HLEN);
	struct in6_addr dst = addr6_at(g + R6_SRC);

	assert_int_equal(len, R6_HLEN + R6_ICMP_HLEN + quote);
	assert_int_equal(get32(ip + R6_VTF), 6U << R6_VERSION_SHIFT);
	assert_int_equal(get16(ip + R6_PLEN), len - R6_HLEN);
	assert_int_equal(ip[R6_NH], IPPROTO_ICMPV6);
	assert_int_equal(ip[R6_HOPS], 64);
	assert_true(addr6_eq(ip + R6_SRC, src));
	assert_true(addr6_eq(ip + R6_DST, &dst));
	assert_int_equal(ip[R6_HLEN], type);
	assert_int_equal(ip[R6_HLEN + 1], code);
	assert_int_equal(get32(ip + R6_HLEN + 4), info);
	assert_true(l6_csum_ok(src, &dst, IPPROTO_ICMPV6, ip + R6_HLEN,
			       len - R6_HLEN));
	assert_memory_equal(ip + R6_HLEN + R6_ICMP_HLEN, g, quote);
	assert_int_equal(e->c.tap.tx.used, 0);
}

#endif /* ENV6_H */
