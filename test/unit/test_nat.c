// SPDX-License-Identifier: GPL-2.0-or-later
/* test_nat.c - unit tests for nat.c: address, port, echo identifier and TTL
 *		rewriting with incremental checksum updates
 *
 * Copyright (c) 2026 merd authors
 *
 * Thousands of random headers and segments (fixed seed) are built with
 * right checksums (ref.h, from scratch), rewritten by nat.c, and then
 * checked from scratch again: the checksum must be right for the new
 * addresses, ports or TTL, and no other byte may have changed. Every
 * buffer handed to nat.c is malloc()ed to the exact length it is told, so
 * that AddressSanitizer catches a field read or written past it, which is
 * what the quoted packet of an ICMP error (a header and 8 bytes) tests.
 * The IPv6 rewrites are checked the same way (ref6.h), over the IPv6
 * pseudo-header, which covers ICMPv6 too; there, the checksum nat.c
 * updates must also be the very one a full computation gives.
 */

#include <netinet/in.h>

#include "nat.h"
#include "ref6.h"

#define ROUNDS		4000

/* rnd_addr() - a random address, host order */
static uint32_t rnd_addr(void)
{
	return rng();
}

/* wp() - a writable view of @n bytes at @p, as nat.c takes them */
static struct wpkt wp(uint8_t *p, size_t n)
{
	struct wpkt w = { p, n };

	return w;
}

/* rw_make() - a rewrite: checksum computed with @os, @od; new addresses
 * @ns, @nd; new ports (ICMP: identifier of a request, of a reply)
 */
static struct nat_rw rw_make(uint32_t os, uint32_t od, uint32_t ns,
			     uint32_t nd, uint16_t sport, uint16_t dport)
{
	struct nat_rw rw = { .osaddr = htonl(os), .odaddr = htonl(od),
			     .saddr = htonl(ns), .daddr = htonl(nd),
			     .sport = sport, .dport = dport };

	return rw;
}

/* id_of() - the identifier an ICMP echo message must get from a rewrite,
 * independently: a request's is the source side's, a reply's the
 * destination side's
 */
static uint16_t id_of(const uint8_t *icmp, const struct nat_rw *rw)
{
	return icmp[0] == 0 ? rw->dport : rw->sport;
}

/* same_except() - @a and @b, @n bytes, differ at most in the @l1 bytes at
 * @f1 and the @l2 bytes at @f2
 */
static void same_except(const uint8_t *a, const uint8_t *b, size_t n,
			size_t f1, size_t l1, size_t f2, size_t l2)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((i >= f1 && i < f1 + l1) || (i >= f2 && i < f2 + l2))
			continue;
		if (a[i] != b[i])
			fail_msg("byte %zu changed: %02x to %02x", i, a[i],
				 b[i]);
	}
}

/* same_but_ports() - @a and @b, a transport segment of @proto, differ at
 * most in the ports (ICMP: the identifier) and the checksum
 */
static void same_but_ports(const uint8_t *a, const uint8_t *b, size_t n,
			   uint8_t proto)
{
	if (proto == IPPROTO_ICMP)
		same_except(a, b, n, R_ICMP_ID, 2, R_ICMP_CHECK, 2);
	else
		same_except(a, b, n, 0, 4, l4_check_off(proto), 2);
}

/* segment() - a random transport segment with a right checksum for the
 * given addresses, in an exact-size buffer; TCP headers carry options,
 * ICMP messages are echo requests or replies
 */
static uint8_t *segment(uint8_t proto, uint32_t saddr, uint32_t daddr,
			size_t *len)
{
	size_t hl = proto == IPPROTO_TCP ? 20 + 4 * (rng() % 11) : 8;
	size_t pl = rng() % 4 ? rng() % 600 : rng() % 3;
	uint8_t *l4 = malloc(hl + pl);

	assert_non_null(l4);
	*len = hl + pl;
	if (proto == IPPROTO_TCP)
		tcp_build(l4, hl, (uint16_t)rng(), (uint16_t)rng(), rng(),
			  rng(), (uint8_t)rng());
	else if (proto == IPPROTO_UDP)
		udp_build(l4, (uint16_t)rng(), (uint16_t)rng(), *len);
	else
		icmp_build(l4, rng() % 2 ? 8 : 0, 0, (uint16_t)rng(),
			   (uint16_t)rng());
	fill_rand(l4 + hl, pl);
	l4_csum_set(saddr, daddr, proto, l4, *len);
	return l4;
}

/* check_ports() - the ports (ICMP: the identifier) of @l4 are what @rw
 * asks for
 */
static void check_ports(const uint8_t *l4, uint8_t proto,
			const struct nat_rw *rw)
{
	if (proto == IPPROTO_ICMP) {
		assert_int_equal(get16(l4 + R_ICMP_ID), id_of(l4, rw));
		return;
	}
	assert_int_equal(get16(l4), rw->sport);
	assert_int_equal(get16(l4 + 2), rw->dport);
}

/* check_l4() - rewrite one random segment of @proto and check it */
static void check_l4(uint8_t proto)
{
	uint32_t os = rnd_addr(), od = rnd_addr(), ns, nd;
	size_t len;
	uint8_t *l4 = segment(proto, os, od, &len), *orig;
	uint16_t sport = (uint16_t)rng(), dport = (uint16_t)rng();
	struct nat_rw rw;

	/* Sometimes only one address changes, or a port stays */
	ns = rng() % 8 ? rnd_addr() : os;
	nd = rng() % 8 ? rnd_addr() : od;
	if (rng() % 8 == 0)
		sport = get16(l4 + (proto == IPPROTO_ICMP ? R_ICMP_ID : 0));
	if (rng() % 8 == 0)
		dport = get16(l4 + (proto == IPPROTO_ICMP ? R_ICMP_ID : 2));
	rw = rw_make(os, od, ns, nd, sport, dport);
	orig = dup_exact(l4, len);

	nat_l4(wp(l4, len), proto, &rw);

	check_ports(l4, proto, &rw);
	if (proto == IPPROTO_ICMP)	/* no pseudo-header */
		assert_true(l4_csum_ok(0, 0, proto, l4, len));
	else
		assert_true(l4_csum_ok(ns, nd, proto, l4, len));
	same_but_ports(orig, l4, len, proto);
	if (proto == IPPROTO_UDP)
		assert_int_not_equal(get16(l4 + R_UDP_CHECK), 0);
	free(orig);
	free(l4);
}

/* TCP: random segments, options, payloads of every parity, both ports */
static void test_l4_tcp(void **state)
{
	int i;

	(void)state;
	rng_seed(793);
	for (i = 0; i < ROUNDS; i++)
		check_l4(IPPROTO_TCP);
}

/* UDP: random datagrams, both ports */
static void test_l4_udp(void **state)
{
	int i;

	(void)state;
	rng_seed(768);
	for (i = 0; i < ROUNDS; i++)
		check_l4(IPPROTO_UDP);
}

/* ICMP echo: the identifier is set, a request's from the source port, a
 * reply's from the destination port; the checksum follows it and ignores
 * the addresses
 */
static void test_l4_icmp_echo(void **state)
{
	int i;

	(void)state;
	rng_seed(792);
	for (i = 0; i < ROUNDS; i++)
		check_l4(IPPROTO_ICMP);
}

/* UDP without a checksum (zero): still none afterwards, the ports set */
static void test_l4_udp_zero_stays_zero(void **state)
{
	int i;

	(void)state;
	rng_seed(7680);
	for (i = 0; i < ROUNDS / 4; i++) {
		uint32_t os = rnd_addr(), od = rnd_addr();
		struct nat_rw rw = rw_make(os, od, rnd_addr(), rnd_addr(),
					   (uint16_t)rng(), (uint16_t)rng());
		size_t len;
		uint8_t *l4 = segment(IPPROTO_UDP, os, od, &len), *orig;

		put16(l4 + R_UDP_CHECK, 0);
		orig = dup_exact(l4, len);
		nat_l4(wp(l4, len), IPPROTO_UDP, &rw);
		assert_int_equal(get16(l4 + R_UDP_CHECK), 0);
		check_ports(l4, IPPROTO_UDP, &rw);
		same_but_ports(orig, l4, len, IPPROTO_UDP);
		free(orig);
		free(l4);
	}
}

/* UDP whose new checksum computes to zero: sent as 0xffff (RFC 768), not
 * as zero, which would mean "no checksum"
 */
static void test_l4_udp_computed_zero(void **state)
{
	int i;

	(void)state;
	rng_seed(65535);
	for (i = 0; i < ROUNDS / 4; i++) {
		uint32_t os = rnd_addr(), od = rnd_addr();
		uint32_t ns = rnd_addr(), nd = rnd_addr();
		uint16_t sport = (uint16_t)rng(), dport = (uint16_t)rng();
		struct nat_rw rw = rw_make(os, od, ns, nd, sport, dport);
		size_t len = 8 + 2 + rng() % 100;
		uint8_t *l4 = malloc(len), oports[4];
		uint16_t w, s;

		/* After the rewrite, the data must sum to zero (0xffff):
		 * fix a payload word so that it does
		 */
		assert_non_null(l4);
		udp_build(l4, (uint16_t)rng(), (uint16_t)rng(), len);
		fill_rand(l4 + 8, len - 8);
		memcpy(oports, l4, 4);
		put16(l4, sport);
		put16(l4 + 2, dport);
		s = ref_sum(l4, len, pseudo_sum(ns, nd, IPPROTO_UDP, len));
		w = get16(l4 + 8);
		put16(l4 + 8, (uint16_t)((w + 0xffffU - s) % 0xffff));
		assert_int_equal(ref_sum(l4, len, pseudo_sum(ns, nd,
				 IPPROTO_UDP, len)), 0xffff);

		/* Before it: the old ports, the old addresses */
		memcpy(l4, oports, 4);
		l4_csum_set(os, od, IPPROTO_UDP, l4, len);

		nat_l4(wp(l4, len), IPPROTO_UDP, &rw);
		assert_int_equal(get16(l4 + R_UDP_CHECK), 0xffff);
		assert_true(l4_csum_ok(ns, nd, IPPROTO_UDP, l4, len));
		free(l4);
	}
}

/* check_partial() - nat_l4() on the first @len bytes only, as in an ICMP
 * quote: equal to the whole rewrite where a port and the checksum lie
 * inside those bytes, untouched elsewhere, nothing accessed past them
 */
static void check_partial(uint8_t proto, size_t len_max)
{
	uint32_t os = rnd_addr(), od = rnd_addr(), ns = rnd_addr();
	uint32_t nd = rnd_addr();
	struct nat_rw rw = rw_make(os, od, ns, nd, (uint16_t)rng(),
				   (uint16_t)rng());
	size_t full, len, co = l4_check_off(proto);
	uint8_t *p = segment(proto, os, od, &full), *whole;

	if (proto == IPPROTO_UDP && !get16(p + R_UDP_CHECK))
		put16(p + R_UDP_CHECK, 1);	/* keep the update visible */
	whole = dup_exact(p, full);
	nat_l4(wp(whole, full), proto, &rw);

	for (len = 0; len <= full && len <= len_max; len++) {
		uint8_t *q = dup_exact(p, len), *want = dup_exact(p, len);
		bool check_in = co + 2 <= len, port_in;

		if (proto == IPPROTO_ICMP) {
			port_in = R_ICMP_ID + 2 <= len;
			if (port_in)
				memcpy(want + R_ICMP_ID, whole + R_ICMP_ID, 2);
		} else {
			/* Each port that fits; the checksum only fits past
			 * both
			 */
			port_in = len >= 4;
			memcpy(want, whole, len >= 4 ? 4 : len & ~(size_t)1);
		}
		/* ICMP: without the identifier there is nothing to follow */
		if (check_in && (port_in || proto != IPPROTO_ICMP))
			memcpy(want + co, whole + co, 2);

		nat_l4(wp(q, len), proto, &rw);
		if (memcmp(q, want, len))
			fail_msg("proto %u, %zu of %zu bytes: wrong rewrite",
				 proto, len, full);
		free(q);
		free(want);
	}
	free(whole);
	free(p);
}

/* Partial headers: every length from nothing to past the checksum */
static void test_l4_partial(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	int i;

	(void)state;
	rng_seed(1812);
	for (i = 0; i < 300; i++)
		check_partial(protos[i % 3], 24);
}

/* The quote of an ICMP error: the 8 bytes RFC 792 asks for, rewritten back
 * into the guest's packet (its port, and the peer's as it was). TCP's
 * ports are there, its checksum isn't; UDP's both are
 */
static void test_l4_quote_8_bytes(void **state)
{
	uint32_t os = addr("203.0.113.7"), od = addr("198.51.100.9");
	uint32_t ns = addr("10.42.0.2"), nd = addr("192.0.2.80");
	struct nat_rw rw = rw_make(os, od, ns, nd, 40522, 443);
	uint8_t full[40], *q;

	(void)state;
	rng_seed(8);
	tcp_build(full, 20, 61001, 443, 0x01020304, 0x05060708, R_ACK);
	fill_rand(full + 20, 20);
	l4_csum_set(os, od, IPPROTO_TCP, full, 40);
	q = dup_exact(full, 8);
	nat_l4(wp(q, 8), IPPROTO_TCP, &rw);
	assert_int_equal(get16(q), 40522);
	assert_memory_equal(q + 2, full + 2, 6);
	free(q);

	rw = rw_make(os, od, ns, nd, 5353, 53);
	udp_build(full, 61002, 53, 40);
	fill_rand(full + 8, 32);
	l4_csum_set(os, od, IPPROTO_UDP, full, 40);
	q = dup_exact(full, 8);
	nat_l4(wp(q, 8), IPPROTO_UDP, &rw);
	memcpy(full, q, 8);
	assert_int_equal(get16(full), 5353);
	assert_int_equal(get16(full + 2), 53);
	assert_true(l4_csum_ok(ns, nd, IPPROTO_UDP, full, 40));
	free(q);
}

/* nat_ip4(): random headers with options, new addresses, checksum right
 * from scratch, nothing else changed; a header shorter than 20 bytes is
 * left alone, not read past
 */
static void test_ip4_addresses(void **state)
{
	int i;
	size_t n;

	(void)state;
	rng_seed(791);
	for (i = 0; i < ROUNDS; i++) {
		size_t hl = 20 + 4 * (rng() % 11);
		uint8_t *ip = malloc(hl), *orig;
		uint32_t s = rnd_addr(), d = rnd_addr();

		assert_non_null(ip);
		ip_build(ip, hl, hl + rng() % 1000, (uint8_t)rng(), rnd_addr(),
			 rnd_addr(), (uint16_t)rng(), (uint16_t)rng(),
			 (uint8_t)rng());
		if (rng() % 8 == 0)
			s = get32(ip + R_IP_SRC);
		orig = dup_exact(ip, hl);

		nat_ip4(wp(ip, hl), htonl(s), htonl(d));
		assert_int_equal(get32(ip + R_IP_SRC), s);
		assert_int_equal(get32(ip + R_IP_DST), d);
		assert_true(ip_csum_ok(ip));
		same_except(orig, ip, hl, R_IP_SRC, 8, R_IP_CHECK, 2);
		free(orig);
		free(ip);
	}
	for (n = 0; n < 20; n++) {
		uint8_t full[20], *ip;

		ip_build(full, 20, 20, IPPROTO_UDP, 1, 2, 3, 0, 64);
		ip = dup_exact(full, n);
		nat_ip4(wp(ip, n), htonl(5), htonl(6));
		assert_memory_equal(ip, full, n);
		free(ip);
	}
}

/* nat_ttl_dec(): every TTL with every protocol (they share a 16-bit word),
 * then random headers with options: TTL one less, checksum right
 */
static void test_ttl_dec(void **state)
{
	unsigned int ttl, proto;
	int i;

	(void)state;
	rng_seed(1812);
	for (ttl = 1; ttl <= 255; ttl++) {
		for (proto = 0; proto <= 255; proto += 5) {
			uint8_t *ip = malloc(20), *orig;

			assert_non_null(ip);
			ip_build(ip, 20, 1500, (uint8_t)proto, rnd_addr(),
				 rnd_addr(), (uint16_t)rng(), R_DF,
				 (uint8_t)ttl);
			orig = dup_exact(ip, 20);
			nat_ttl_dec(wp(ip, 20));
			assert_int_equal(ip[R_IP_TTL], ttl - 1);
			assert_true(ip_csum_ok(ip));
			same_except(orig, ip, 20, R_IP_TTL, 1, R_IP_CHECK, 2);
			assert_int_equal(ip[R_IP_PROTO], proto);
			free(orig);
			free(ip);
		}
	}
	for (i = 0; i < ROUNDS; i++) {
		size_t hl = 20 + 4 * (rng() % 11);
		uint8_t *ip = malloc(hl);

		assert_non_null(ip);
		ip_build(ip, hl, 2000, (uint8_t)rng(), rnd_addr(), rnd_addr(),
			 (uint16_t)rng(), (uint16_t)rng(),
			 (uint8_t)(1 + rng() % 255));
		ttl = ip[R_IP_TTL];
		nat_ttl_dec(wp(ip, hl));
		assert_int_equal(ip[R_IP_TTL], ttl - 1);
		assert_true(ip_csum_ok(ip));
		free(ip);
	}
}

/* A whole guest packet through the three rewrites fwd.c makes going out
 * (TTL, transport header, addresses, on a copy of the headers), and an
 * echo reply through those it makes coming back: both checksums right at
 * the end
 */
static void test_chain(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	int i;

	(void)state;
	rng_seed(1624);
	for (i = 0; i < ROUNDS / 2; i++) {
		struct flowpkt fp = {
			.proto = protos[i % 3], .saddr = rnd_addr(),
			.daddr = rnd_addr(), .sport = (uint16_t)rng(),
			.dport = (uint16_t)rng(),
			.ttl = (uint8_t)(2 + rng() % 254),
			.id = (uint16_t)rng(), .flags = R_ACK,
			.payload = rng() % 300,
		};
		uint32_t hs = rnd_addr();
		uint16_t hport = (uint16_t)rng();
		size_t len, hl = 20 + l4_hlen(fp.proto);
		uint8_t *ip = pkt_build(&fp, &len);
		struct nat_rw rw = rw_make(fp.saddr, fp.daddr, hs, fp.daddr,
					   hport, fp.dport);

		if (fp.proto == IPPROTO_ICMP && i % 2) {
			/* An echo reply to the guest instead */
			ip[20] = 0;
			l4_csum_set(0, 0, IPPROTO_ICMP, ip + 20, len - 20);
			rw.sport = 0;
			rw.dport = hport;
		}
		nat_ttl_dec(wp(ip, hl));
		nat_l4(wp(ip + 20, hl - 20), fp.proto, &rw);
		nat_ip4(wp(ip, hl), htonl(hs), htonl(fp.daddr));

		assert_true(ip_csum_ok(ip));
		assert_true(ip_l4_csum_ok(ip));
		assert_int_equal(ip[R_IP_TTL], fp.ttl - 1);
		assert_int_equal(get32(ip + R_IP_SRC), hs);
		assert_int_equal(get16(ip + 20 + (fp.proto == IPPROTO_ICMP ?
						  R_ICMP_ID : 0)), hport);
		free(ip);
	}
}

/* nat_ports_set() writes both ports (ICMP: the identifier a request or a
 * reply takes) and leaves the checksum, and all else, alone; in a short
 * header, only what is there
 */
static void test_ports_set(void **state)
{
	uint8_t *l4 = malloc(8), *part;
	size_t n;

	(void)state;
	assert_non_null(l4);
	udp_build(l4, 40522, 53, 8);
	put16(l4 + R_UDP_CHECK, 0xabcd);
	nat_ports_set(wp(l4, 8), IPPROTO_UDP, 61000, 5353);
	assert_int_equal(get16(l4), 61000);
	assert_int_equal(get16(l4 + 2), 5353);
	assert_int_equal(get16(l4 + R_UDP_LEN), 8);
	assert_int_equal(get16(l4 + R_UDP_CHECK), 0xabcd);

	nat_ports_set(wp(l4, 8), IPPROTO_TCP, 1, 2);
	assert_int_equal(get16(l4), 1);
	assert_int_equal(get16(l4 + 2), 2);
	assert_int_equal(get16(l4 + R_UDP_CHECK), 0xabcd);

	/* ICMP: a request's identifier from the source port, a reply's from
	 * the destination port
	 */
	icmp_build(l4, 8, 0, 0x1234, 0x5678);
	put16(l4 + R_ICMP_CHECK, 0xabcd);
	nat_ports_set(wp(l4, 8), IPPROTO_ICMP, 0x9abc, 0xdef0);
	assert_int_equal(get16(l4 + R_ICMP_ID), 0x9abc);
	icmp_build(l4, 0, 0, 0x1234, 0x5678);
	put16(l4 + R_ICMP_CHECK, 0xabcd);
	nat_ports_set(wp(l4, 8), IPPROTO_ICMP, 0x9abc, 0xdef0);
	assert_int_equal(get16(l4 + R_ICMP_ID), 0xdef0);
	assert_int_equal(get16(l4 + R_ICMP_SEQ), 0x5678);
	assert_int_equal(get16(l4 + R_ICMP_CHECK), 0xabcd);
	assert_int_equal(l4[0], 0);
	assert_int_equal(l4[1], 0);

	/* Cut short: the ports that fit, nothing past */
	udp_build(l4, 40522, 53, 8);
	for (n = 0; n < 4; n++) {
		part = dup_exact(l4, n);
		nat_ports_set(wp(part, n), IPPROTO_UDP, 0x1111, 0x2222);
		if (n >= 2)
			assert_int_equal(get16(part), 0x1111);
		else
			assert_memory_equal(part, l4, n);
		free(part);
	}
	free(l4);
}

/* IPv6 */

/* rnd_addr6() - a random IPv6 address */
static struct in6_addr rnd_addr6(void)
{
	struct in6_addr a;

	fill_rand(a.s6_addr, sizeof(a.s6_addr));
	return a;
}

/* rw_make6() - an IPv6 rewrite: checksum computed with @os, @od; new
 * addresses @ns, @nd; new ports (ICMPv6: identifier of a request, of a
 * reply)
 */
static struct nat_rw rw_make6(const struct in6_addr *os,
			      const struct in6_addr *od,
			      const struct in6_addr *ns,
			      const struct in6_addr *nd, uint16_t sport,
			      uint16_t dport)
{
	struct nat_rw rw = { .v6 = true, .osaddr6 = *os, .odaddr6 = *od,
			     .saddr6 = *ns, .daddr6 = *nd, .sport = sport,
			     .dport = dport };

	return rw;
}

/* is_icmp() - ICMP over either family: the identifier is the "port" */
static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* id_of6() - the identifier an ICMPv6 echo message must get: a request's
 * is the source side's, a reply's the destination side's
 */
static uint16_t id_of6(const uint8_t *icmp, const struct nat_rw *rw)
{
	return icmp[0] == R6_ECHO_REPLY ? rw->dport : rw->sport;
}

/* segment6() - a random transport segment with a right checksum over the
 * IPv6 pseudo-header for the given addresses, exact-size buffer; TCP
 * headers carry options, ICMPv6 messages are echo requests or replies
 */
static uint8_t *segment6(uint8_t proto, const struct in6_addr *s,
			 const struct in6_addr *d, size_t *len)
{
	size_t hl = proto == IPPROTO_TCP ? 20 + 4 * (rng() % 11) : 8;
	size_t pl = rng() % 4 ? rng() % 600 : rng() % 3;
	uint8_t *l4 = malloc(hl + pl);

	assert_non_null(l4);
	*len = hl + pl;
	if (proto == IPPROTO_TCP)
		tcp_build(l4, hl, (uint16_t)rng(), (uint16_t)rng(), rng(),
			  rng(), (uint8_t)rng());
	else if (proto == IPPROTO_UDP)
		udp_build(l4, (uint16_t)rng(), (uint16_t)rng(), *len);
	else
		icmp_build(l4, rng() % 2 ? R6_ECHO_REQUEST : R6_ECHO_REPLY, 0,
			   (uint16_t)rng(), (uint16_t)rng());
	fill_rand(l4 + hl, pl);
	l6_csum_set(s, d, proto, l4, *len);
	return l4;
}

/* check_ports6() - the ports (ICMPv6: the identifier) of @l4 are what @rw
 * asks for
 */
static void check_ports6(const uint8_t *l4, uint8_t proto,
			 const struct nat_rw *rw)
{
	if (proto == IPPROTO_ICMPV6) {
		assert_int_equal(get16(l4 + R_ICMP_ID), id_of6(l4, rw));
		return;
	}
	assert_int_equal(get16(l4), rw->sport);
	assert_int_equal(get16(l4 + 2), rw->dport);
}

/* check_l4_6() - rewrite one random IPv6 segment of @proto and check it:
 * ports, a checksum right for the new addresses, and the same as the one
 * computed in full, nothing else changed
 */
static void check_l4_6(uint8_t proto)
{
	struct in6_addr os = rnd_addr6(), od = rnd_addr6(), ns, nd;
	uint16_t sport = (uint16_t)rng(), dport = (uint16_t)rng();
	size_t len, co = l4_check_off(proto);
	uint8_t *l4 = segment6(proto, &os, &od, &len), *orig;
	struct nat_rw rw;

	/* Sometimes only one address changes, or only part of one, or a
	 * port stays
	 */
	ns = rng() % 8 ? rnd_addr6() : os;
	nd = rng() % 8 ? rnd_addr6() : od;
	if (rng() % 4 == 0)
		memcpy(ns.s6_addr, os.s6_addr, rng() % 16);
	if (rng() % 8 == 0)
		sport = get16(l4 + (is_icmp(proto) ? R_ICMP_ID : 0));
	if (rng() % 8 == 0)
		dport = get16(l4 + (is_icmp(proto) ? R_ICMP_ID : 2));
	rw = rw_make6(&os, &od, &ns, &nd, sport, dport);
	orig = dup_exact(l4, len);

	nat_l4(wp(l4, len), proto, &rw);

	check_ports6(l4, proto, &rw);
	assert_true(l6_csum_ok(&ns, &nd, proto, l4, len));
	assert_int_equal(get16(l4 + co), l6_csum(&ns, &nd, proto, l4, len));
	if (proto == IPPROTO_ICMPV6)
		same_except(orig, l4, len, R_ICMP_ID, 2, R_ICMP_CHECK, 2);
	else
		same_except(orig, l4, len, 0, 4, co, 2);
	free(orig);
	free(l4);
}

/* TCP over IPv6: random segments and addresses, both ports */
static void test_l4_tcp6(void **state)
{
	int i;

	(void)state;
	rng_seed(8200);
	for (i = 0; i < ROUNDS; i++)
		check_l4_6(IPPROTO_TCP);
}

/* UDP over IPv6: random datagrams and addresses, both ports */
static void test_l4_udp6(void **state)
{
	int i;

	(void)state;
	rng_seed(8201);
	for (i = 0; i < ROUNDS; i++)
		check_l4_6(IPPROTO_UDP);
}

/* ICMPv6 echo: the identifier is set, a request's from the source port, a
 * reply's from the destination port; unlike ICMP's, the checksum follows
 * the addresses too (RFC 4443 2.3: the pseudo-header)
 */
static void test_l4_icmp6_echo(void **state)
{
	int i;

	(void)state;
	rng_seed(4443);
	for (i = 0; i < ROUNDS; i++)
		check_l4_6(IPPROTO_ICMPV6);
}

/* check_partial6() - nat_l4() on the first @len bytes only of an IPv6
 * segment, as in an ICMPv6 error's quote: equal to the whole rewrite where
 * a port and the checksum lie inside those bytes, untouched elsewhere,
 * nothing accessed past them
 */
static void check_partial6(uint8_t proto, size_t len_max)
{
	struct in6_addr os = rnd_addr6(), od = rnd_addr6();
	struct in6_addr ns = rnd_addr6(), nd = rnd_addr6();
	struct nat_rw rw = rw_make6(&os, &od, &ns, &nd, (uint16_t)rng(),
				    (uint16_t)rng());
	size_t full, len, co = l4_check_off(proto);
	uint8_t *p = segment6(proto, &os, &od, &full), *whole;

	whole = dup_exact(p, full);
	nat_l4(wp(whole, full), proto, &rw);

	for (len = 0; len <= full && len <= len_max; len++) {
		uint8_t *q = dup_exact(p, len), *want = dup_exact(p, len);

		if (proto == IPPROTO_ICMPV6) {
			if (R_ICMP_ID + 2 <= len)
				memcpy(want + R_ICMP_ID, whole + R_ICMP_ID, 2);
		} else {
			memcpy(want, whole, len >= 4 ? 4 : len & ~(size_t)1);
		}
		/* The addresses are followed even without the identifier
		 * (ICMPv6's checksum lies before it): then the checksum is
		 * the original's for the new addresses alone
		 */
		if (co + 2 <= len && proto == IPPROTO_ICMPV6 &&
		    R_ICMP_ID + 2 > len)
			put16(want + co, l6_csum(&ns, &nd, proto, p, full));
		else if (co + 2 <= len)
			memcpy(want + co, whole + co, 2);

		nat_l4(wp(q, len), proto, &rw);
		if (memcmp(q, want, len))
			fail_msg("IPv6, proto %u, %zu of %zu bytes: wrong "
				 "rewrite", proto, len, full);
		free(q);
		free(want);
	}
	free(whole);
	free(p);
}

/* Partial IPv6 headers: every length from nothing to past the checksum */
static void test_l4_partial6(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMPV6 };
	int i;

	(void)state;
	rng_seed(4431);
	for (i = 0; i < 300; i++)
		check_partial6(protos[i % 3], 24);
}

/* nat_ip6(): new addresses, nothing else changed (IPv6 has no header
 * checksum); a header too short for an address is left alone
 */
static void test_ip6_addresses(void **state)
{
	int i;
	size_t n;

	(void)state;
	rng_seed(8203);
	for (i = 0; i < ROUNDS; i++) {
		struct in6_addr os = rnd_addr6(), od = rnd_addr6();
		struct in6_addr s = rnd_addr6(), d = rnd_addr6();
		uint8_t *ip = malloc(R6_HLEN), *orig;

		assert_non_null(ip);
		ip6_build(ip, (uint8_t)rng(), rng(), rng() % 2000,
			  (uint8_t)rng(), (uint8_t)rng(), &os, &od);
		orig = dup_exact(ip, R6_HLEN);
		nat_ip6(wp(ip, R6_HLEN), &s, &d);
		assert_true(addr6_eq(ip + R6_SRC, &s));
		assert_true(addr6_eq(ip + R6_DST, &d));
		same_except(orig, ip, R6_HLEN, R6_SRC, 32, 0, 0);
		free(orig);
		free(ip);
	}
	for (n = 0; n < R6_DST + 16; n++) {
		struct in6_addr a = rnd_addr6(), b = rnd_addr6();
		struct in6_addr s = rnd_addr6(), d = rnd_addr6();
		uint8_t full[R6_HLEN], *ip;

		ip6_build(full, 0, 0, 8, IPPROTO_UDP, 64, &a, &b);
		ip = dup_exact(full, n);
		nat_ip6(wp(ip, n), &s, &d);
		if (n >= R6_SRC + 16) {
			assert_true(addr6_eq(ip + R6_SRC, &s));
			assert_memory_equal(ip, full, R6_SRC);
			assert_memory_equal(ip + R6_DST, full + R6_DST,
					    n - R6_DST);
		} else {
			assert_memory_equal(ip, full, n);
		}
		free(ip);
	}
}

/* A whole guest IPv6 packet through the rewrites fwd.c makes going out
 * (transport header, then addresses, on a copy of the headers), and an
 * echo reply through those it makes coming back: checksum right at the
 * end, from the packet's own header
 */
static void test_chain6(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMPV6 };
	int i;

	(void)state;
	rng_seed(8204);
	for (i = 0; i < ROUNDS / 2; i++) {
		struct flowpkt6 fp = {
			.proto = protos[i % 3], .saddr = rnd_addr6(),
			.daddr = rnd_addr6(), .sport = (uint16_t)rng(),
			.dport = (uint16_t)rng(), .hops = (uint8_t)rng(),
			.tclass = (uint8_t)rng(), .flow = rng(),
			.flags = R_ACK, .payload = rng() % 300,
		};
		struct in6_addr hs = rnd_addr6();
		uint16_t hport = (uint16_t)rng();
		size_t len, hl = R6_HLEN + l4_hlen(fp.proto);
		uint8_t *ip = pkt6_build(&fp, &len);
		struct nat_rw rw = rw_make6(&fp.saddr, &fp.daddr, &hs,
					    &fp.daddr, hport, fp.dport);

		if (fp.proto == IPPROTO_ICMPV6 && i % 2) {
			/* An echo reply to the guest instead */
			ip[R6_HLEN] = R6_ECHO_REPLY;
			l6_csum_set(&fp.saddr, &fp.daddr, IPPROTO_ICMPV6,
				    ip + R6_HLEN, len - R6_HLEN);
			rw.sport = 0;
			rw.dport = hport;
		}
		nat_l4(wp(ip + R6_HLEN, hl - R6_HLEN), fp.proto, &rw);
		nat_ip6(wp(ip, hl), &hs, &fp.daddr);

		assert_true(ip6_l4_csum_ok(ip));
		assert_true(addr6_eq(ip + R6_SRC, &hs));
		assert_int_equal(get16(ip + R6_HLEN +
				       (is_icmp(fp.proto) ? R_ICMP_ID : 0)),
				 hport);
		free(ip);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_l4_tcp),
		cmocka_unit_test(test_l4_udp),
		cmocka_unit_test(test_l4_icmp_echo),
		cmocka_unit_test(test_l4_udp_zero_stays_zero),
		cmocka_unit_test(test_l4_udp_computed_zero),
		cmocka_unit_test(test_l4_partial),
		cmocka_unit_test(test_l4_quote_8_bytes),
		cmocka_unit_test(test_ip4_addresses),
		cmocka_unit_test(test_ttl_dec),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_ports_set),
		cmocka_unit_test(test_l4_tcp6),
		cmocka_unit_test(test_l4_udp6),
		cmocka_unit_test(test_l4_icmp6_echo),
		cmocka_unit_test(test_l4_partial6),
		cmocka_unit_test(test_ip6_addresses),
		cmocka_unit_test(test_chain6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
