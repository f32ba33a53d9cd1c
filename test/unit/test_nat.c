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
 */

#include <netinet/in.h>

#include "nat.h"
#include "ref.h"

#define ROUNDS		4000

/* rnd_addr() - a random address, host order */
static uint32_t rnd_addr(void)
{
	return rng();
}

/* port_off() - where a port or echo identifier lies, independently */
static size_t port_off(uint8_t proto, enum nat_port which)
{
	if (proto == IPPROTO_ICMP)
		return R_ICMP_ID;
	return which == NAT_SPORT ? 0 : 2;
}

/* same_except() - @a and @b, @n bytes, differ at most in the two 2-byte
 * fields at @f1 and @f2
 */
static void same_except(const uint8_t *a, const uint8_t *b, size_t n,
			size_t f1, size_t f2)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((i >= f1 && i < f1 + 2) || (i >= f2 && i < f2 + 2))
			continue;
		if (a[i] != b[i])
			fail_msg("byte %zu changed: %02x to %02x", i, a[i],
				 b[i]);
	}
}

/* segment() - a random transport segment with a right checksum for the
 * given addresses, in an exact-size buffer; TCP headers carry options
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

/* check_l4() - rewrite one random segment of @proto and check it */
static void check_l4(uint8_t proto)
{
	uint32_t os = rnd_addr(), od = rnd_addr(), ns, nd;
	enum nat_port which = rng() % 2 ? NAT_SPORT : NAT_DPORT;
	uint16_t port = (uint16_t)rng();
	size_t len, po = port_off(proto, which);
	uint8_t *l4 = segment(proto, os, od, &len), *orig;

	/* Sometimes only one address changes, or the port stays */
	ns = rng() % 8 ? rnd_addr() : os;
	nd = rng() % 8 ? rnd_addr() : od;
	if (rng() % 16 == 0)
		port = get16(l4 + po);
	orig = dup_exact(l4, len);

	nat_l4(l4, len, proto, htonl(os), htonl(od), htonl(ns), htonl(nd),
	       which, port);

	assert_int_equal(get16(l4 + po), port);
	if (proto == IPPROTO_ICMP)	/* no pseudo-header */
		assert_true(l4_csum_ok(0, 0, proto, l4, len));
	else
		assert_true(l4_csum_ok(ns, nd, proto, l4, len));
	same_except(orig, l4, len, po, l4_check_off(proto));
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

/* ICMP echo: the identifier is set (either port selector), the checksum
 * follows it and ignores the addresses
 */
static void test_l4_icmp_echo(void **state)
{
	int i;

	(void)state;
	rng_seed(792);
	for (i = 0; i < ROUNDS; i++)
		check_l4(IPPROTO_ICMP);
}

/* UDP without a checksum (zero): still none afterwards, the port set */
static void test_l4_udp_zero_stays_zero(void **state)
{
	int i;

	(void)state;
	rng_seed(7680);
	for (i = 0; i < ROUNDS / 4; i++) {
		uint32_t os = rnd_addr(), od = rnd_addr();
		enum nat_port which = rng() % 2 ? NAT_SPORT : NAT_DPORT;
		uint16_t port = (uint16_t)rng();
		size_t len;
		uint8_t *l4 = segment(IPPROTO_UDP, os, od, &len), *orig;

		put16(l4 + R_UDP_CHECK, 0);
		orig = dup_exact(l4, len);
		nat_l4(l4, len, IPPROTO_UDP, htonl(os), htonl(od),
		       htonl(rnd_addr()), htonl(rnd_addr()), which, port);
		assert_int_equal(get16(l4 + R_UDP_CHECK), 0);
		assert_int_equal(get16(l4 + port_off(IPPROTO_UDP, which)),
				 port);
		same_except(orig, l4, len, port_off(IPPROTO_UDP, which),
			    R_UDP_CHECK);
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
		enum nat_port which = rng() % 2 ? NAT_SPORT : NAT_DPORT;
		size_t po = port_off(IPPROTO_UDP, which);
		uint16_t port = (uint16_t)rng(), oport, w, s;
		size_t len = 8 + 2 + rng() % 100;
		uint8_t *l4 = malloc(len);

		/* After the rewrite, the data must sum to zero (0xffff):
		 * fix a payload word so that it does
		 */
		assert_non_null(l4);
		udp_build(l4, (uint16_t)rng(), (uint16_t)rng(), len);
		fill_rand(l4 + 8, len - 8);
		oport = get16(l4 + po);
		put16(l4 + po, port);
		s = ref_sum(l4, len, pseudo_sum(ns, nd, IPPROTO_UDP, len));
		w = get16(l4 + 8);
		put16(l4 + 8, (uint16_t)((w + 0xffffU - s) % 0xffff));
		assert_int_equal(ref_sum(l4, len, pseudo_sum(ns, nd,
				 IPPROTO_UDP, len)), 0xffff);

		/* Before it: the old port, the old addresses */
		put16(l4 + po, oport);
		l4_csum_set(os, od, IPPROTO_UDP, l4, len);

		nat_l4(l4, len, IPPROTO_UDP, htonl(os), htonl(od), htonl(ns),
		       htonl(nd), which, port);
		assert_int_equal(get16(l4 + R_UDP_CHECK), 0xffff);
		assert_true(l4_csum_ok(ns, nd, IPPROTO_UDP, l4, len));
		free(l4);
	}
}

/* check_partial() - nat_l4() on the first @len bytes only, as in an ICMP
 * quote: equal to the whole rewrite where the port and checksum lie inside
 * those bytes, untouched elsewhere, nothing accessed past them
 */
static void check_partial(uint8_t proto, size_t len_max)
{
	uint32_t os = rnd_addr(), od = rnd_addr(), ns = rnd_addr();
	uint32_t nd = rnd_addr();
	enum nat_port which = rng() % 2 ? NAT_SPORT : NAT_DPORT;
	uint16_t port = (uint16_t)rng();
	size_t full, len, po = port_off(proto, which);
	size_t co = l4_check_off(proto);
	uint8_t *p = segment(proto, os, od, &full), *whole;

	if (proto == IPPROTO_UDP && !get16(p + R_UDP_CHECK))
		put16(p + R_UDP_CHECK, 1);	/* keep the update visible */
	whole = dup_exact(p, full);
	nat_l4(whole, full, proto, htonl(os), htonl(od), htonl(ns),
	       htonl(nd), which, port);

	for (len = 0; len <= full && len <= len_max; len++) {
		uint8_t *q = dup_exact(p, len), *want = dup_exact(p, len);
		bool port_in = po + 2 <= len, check_in = co + 2 <= len;

		if (port_in)
			memcpy(want + po, whole + po, 2);
		/* ICMP: without the identifier there is nothing to follow */
		if (check_in && (port_in || proto != IPPROTO_ICMP))
			memcpy(want + co, whole + co, 2);

		nat_l4(q, len, proto, htonl(os), htonl(od), htonl(ns),
		       htonl(nd), which, port);
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

/* The quote of an ICMP error: the 8 bytes RFC 792 asks for. TCP's ports
 * are there, its checksum isn't; UDP's both are
 */
static void test_l4_quote_8_bytes(void **state)
{
	uint32_t os = addr("203.0.113.7"), od = addr("198.51.100.9");
	uint32_t ns = addr("10.42.0.2"), nd = addr("192.0.2.80");
	uint8_t full[40], *q;

	(void)state;
	rng_seed(8);
	tcp_build(full, 20, 61001, 443, 0x01020304, 0x05060708, R_ACK);
	fill_rand(full + 20, 20);
	l4_csum_set(os, od, IPPROTO_TCP, full, 40);
	q = dup_exact(full, 8);
	nat_l4(q, 8, IPPROTO_TCP, htonl(os), htonl(od), htonl(ns), htonl(nd),
	       NAT_SPORT, 40522);
	assert_int_equal(get16(q), 40522);
	assert_memory_equal(q + 2, full + 2, 6);
	free(q);

	udp_build(full, 61002, 53, 40);
	fill_rand(full + 8, 32);
	l4_csum_set(os, od, IPPROTO_UDP, full, 40);
	q = dup_exact(full, 8);
	nat_l4(q, 8, IPPROTO_UDP, htonl(os), htonl(od), htonl(ns), htonl(nd),
	       NAT_SPORT, 5353);
	memcpy(full, q, 8);
	assert_int_equal(get16(full), 5353);
	assert_true(l4_csum_ok(ns, nd, IPPROTO_UDP, full, 40));
	free(q);
}

/* nat_ip4(): random headers with options, new addresses, checksum right
 * from scratch, nothing else changed
 */
static void test_ip4_addresses(void **state)
{
	int i;

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

		nat_ip4(ip, htonl(s), htonl(d));
		assert_int_equal(get32(ip + R_IP_SRC), s);
		assert_int_equal(get32(ip + R_IP_DST), d);
		assert_true(ip_csum_ok(ip));
		same_except(orig, ip, R_IP_SRC, R_IP_CHECK, R_IP_CHECK);
		assert_memory_equal(orig + 20, ip + 20, hl - 20);
		free(orig);
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
			nat_ttl_dec(ip);
			assert_int_equal(ip[R_IP_TTL], ttl - 1);
			assert_true(ip_csum_ok(ip));
			same_except(orig, ip, 20, R_IP_TTL, R_IP_CHECK);
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
		nat_ttl_dec(ip);
		assert_int_equal(ip[R_IP_TTL], ttl - 1);
		assert_true(ip_csum_ok(ip));
		free(ip);
	}
}

/* A whole guest packet through the three rewrites fwd.c makes going out
 * (TTL, transport, addresses): both checksums right at the end
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
		size_t len;
		uint8_t *ip = pkt_build(&fp, &len);

		nat_ttl_dec(ip);
		nat_l4(ip + 20, len - 20, fp.proto, htonl(fp.saddr),
		       htonl(fp.daddr), htonl(hs), htonl(fp.daddr), NAT_SPORT,
		       hport);
		nat_ip4(ip, htonl(hs), htonl(fp.daddr));

		assert_true(ip_csum_ok(ip));
		assert_true(ip_l4_csum_ok(ip));
		assert_int_equal(ip[R_IP_TTL], fp.ttl - 1);
		assert_int_equal(get32(ip + R_IP_SRC), hs);
		assert_int_equal(get16(ip + 20 + port_off(fp.proto,
							  NAT_SPORT)), hport);
		free(ip);
	}
}

/* nat_l4_port() reads, nat_port_set() writes and returns the old value
 * raw; neither touches the checksum
 */
static void test_port_get_set(void **state)
{
	uint8_t *l4 = malloc(8);
	uint16_t old;

	(void)state;
	assert_non_null(l4);
	udp_build(l4, 40522, 53, 8);
	put16(l4 + R_UDP_CHECK, 0xabcd);
	assert_int_equal(nat_l4_port(l4, IPPROTO_UDP, NAT_SPORT), 40522);
	assert_int_equal(nat_l4_port(l4, IPPROTO_UDP, NAT_DPORT), 53);
	assert_int_equal(nat_l4_port(l4, IPPROTO_TCP, NAT_SPORT), 40522);
	assert_int_equal(nat_l4_port(l4, IPPROTO_TCP, NAT_DPORT), 53);

	old = nat_port_set(l4, IPPROTO_UDP, NAT_DPORT, 61000);
	assert_int_equal(old, htons(53));
	assert_int_equal(get16(l4 + 2), 61000);
	assert_int_equal(get16(l4), 40522);
	assert_int_equal(get16(l4 + R_UDP_CHECK), 0xabcd);

	old = nat_port_set(l4, IPPROTO_TCP, NAT_SPORT, 1);
	assert_int_equal(old, htons(40522));
	assert_int_equal(get16(l4), 1);

	/* ICMP: the identifier, whichever "port" is asked for */
	icmp_build(l4, 0, 0, 0x1234, 0x5678);
	put16(l4 + R_ICMP_CHECK, 0xabcd);
	assert_int_equal(nat_l4_port(l4, IPPROTO_ICMP, NAT_SPORT), 0x1234);
	assert_int_equal(nat_l4_port(l4, IPPROTO_ICMP, NAT_DPORT), 0x1234);
	old = nat_port_set(l4, IPPROTO_ICMP, NAT_DPORT, 0x9abc);
	assert_int_equal(old, htons(0x1234));
	assert_int_equal(get16(l4 + R_ICMP_ID), 0x9abc);
	assert_int_equal(get16(l4 + R_ICMP_SEQ), 0x5678);
	assert_int_equal(get16(l4 + R_ICMP_CHECK), 0xabcd);
	assert_int_equal(l4[0], 0);
	free(l4);
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
		cmocka_unit_test(test_port_get_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
