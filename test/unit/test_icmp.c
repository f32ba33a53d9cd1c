// SPDX-License-Identifier: GPL-2.0-or-later
/* test_icmp.c - unit tests for icmp.c: the ICMP errors merd, as the guest's
 *		 router, sends the guest
 *
 * Copyright (c) 2026 merd authors
 *
 * Guest packets are built here (ref.h) in buffers of their exact length,
 * icmp_error() is called on the views the data path makes of them
 * (ip4_parse()), and the error is taken out of the context's transmit ring
 * (env.h) and checked from scratch: outer IPv4 header and its checksum,
 * ICMP type, code, checksum and MTU field, and a quote equal to the start
 * of the guest's packet, as long as RFC 1812 4.3.2.3 allows (576 bytes in
 * all) and the guest's MTU too. What RFC 1122 3.2.2 forbids (an error about
 * an ICMP error, about a fragment other than the first, or to a source
 * that names no single host) must produce nothing. The other half of
 * icmp.c, icmp_error_in() (errors from the network, translated), is
 * tested where they arrive, through fwd_from_host(), in test_fwd.c.
 * icmp6_error() is checked the same way over IPv6 (ref6.h): from the
 * router address, hop limit 64, the quote cut to 1280 bytes (RFC 4443 2.4
 * (c)), checksum over the pseudo-header, nothing about an ICMPv6 error or
 * to a source that names no single host (RFC 4443 2.4 (e)).
 */

#include <netinet/ip_icmp.h>

#include "icmp.h"
#include "icmp6.h"
#include "env6.h"

#define PEER		0xc0000250	/* 192.0.2.80 */

/* env_setup() - cmocka fixture: a context (env.h) */
static int env_setup(void **state)
{
	*state = env_new();
	return 0;
}

/* env_teardown() - cmocka fixture: release it */
static int env_teardown(void **state)
{
	env_free(*state);
	return 0;
}

/* guest_pkt() - a guest packet of @proto with @payload bytes of payload */
static uint8_t *guest_pkt(uint8_t proto, uint32_t src, size_t payload,
			  size_t *len)
{
	struct flowpkt fp = {
		.proto = proto, .saddr = src, .daddr = PEER, .sport = 40522,
		.dport = 443, .ttl = 1, .frag = R_DF, .id = 0x4242,
		.flags = R_SYN, .payload = payload,
	};

	return pkt_build(&fp, len);
}

/* error_about() - icmp_error() about the packet @g, from the gateway, as
 * the data path calls it: on the view ip4_parse() made of it
 */
static void error_about(struct env *e, uint8_t type, uint8_t code,
			uint16_t mtu, const uint8_t *g, size_t len)
{
	struct ip_view ip;

	parse_ok(g, len, &ip, NULL);
	icmp_error(&e->c, type, code, mtu, htonl(GW), &ip);
}

/* check_error() - the next frame for the guest is an ICMP error of @type
 * and @code from @src about @orig, with @mtu in the MTU field
 */
static void check_error(struct env *e, const uint8_t *orig, size_t orig_len,
			uint8_t type, uint8_t code, uint16_t mtu, uint32_t src,
			uint16_t id)
{
	size_t max = MIN((size_t)ICMP_ERROR_MAX, (size_t)e->c.link.mtu);
	size_t quote = MIN(orig_len, max - 28);
	static uint8_t ip[70000];
	size_t len = ring_next(e, ip, sizeof(ip));

	assert_int_equal(len, 28 + quote);
	assert_true(len <= ICMP_ERROR_MAX && len <= e->c.link.mtu);

	/* IPv4 header, from the router, to the packet's source */
	assert_int_equal(ip[R_IP_VIHL], 0x45);
	assert_int_equal(get16(ip + R_IP_LEN), len);
	assert_int_equal(get16(ip + R_IP_ID), id);
	assert_int_equal(get16(ip + R_IP_FRAG) & (R_MF | R_OFFMASK), 0);
	assert_int_equal(ip[R_IP_TTL], 64);
	assert_int_equal(ip[R_IP_PROTO], IPPROTO_ICMP);
	assert_int_equal(get32(ip + R_IP_SRC), src);
	assert_int_equal(get32(ip + R_IP_DST), get32(orig + R_IP_SRC));
	assert_true(ip_csum_ok(ip));

	/* ICMP header, checksum over the whole message, the quote */
	assert_int_equal(ip[20], type);
	assert_int_equal(ip[21], code);
	assert_true(l4_csum_ok(0, 0, IPPROTO_ICMP, ip + 20, len - 20));
	assert_int_equal(get16(ip + 24), 0);
	assert_int_equal(get16(ip + 26), mtu);
	assert_memory_equal(ip + 28, orig, quote);
}

/* Time exceeded about packets of every size, with MTUs below, at and
 * above 576: the quote is cut to fit both
 */
static void test_quote_length(void **state)
{
	static const unsigned int mtus[] = { 68, 100, 575, 576, 577, 1500,
					     65520 };
	static const size_t payloads[] = { 0, 1, 7, 8, 9, 40, 500, 520, 521,
					   548, 1452, 65000 };
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP,
					  IPPROTO_ICMP };
	struct env *e = *state;
	size_t i, k, p;

	rng_seed(1812);
	for (i = 0; i < ARRAY_SIZE(mtus); i++) {
		e->c.link.mtu = mtus[i];
		for (k = 0; k < ARRAY_SIZE(payloads); k++) {
			for (p = 0; p < ARRAY_SIZE(protos); p++) {
				size_t len;
				uint8_t *g = guest_pkt(protos[p], GUEST,
						       payloads[k], &len);
				uint16_t id = e->c.fwd.ip_id;

				error_about(e, ICMP_TIME_EXCEEDED,
					    ICMP_EXC_TTL, 0, g, len);
				check_error(e, g, len, ICMP_TIME_EXCEEDED,
					    ICMP_EXC_TTL, 0, GW, id);
				assert_int_equal(e->c.fwd.ip_id,
						 (uint16_t)(id + 1));
				assert_int_equal(e->c.tap.tx.used, 0);
				free(g);
			}
		}
	}
}

/* Only what the caller has of the packet is quoted: a short copy, as the
 * send batch keeps for a failed send (its IPv4 header and 8 bytes), read
 * with ip4_parse_quote(), down to the IPv4 header alone; less than that
 * isn't a packet to answer
 */
static void test_quote_short_buffer(void **state)
{
	struct env *e = *state;
	struct ip_view ip;
	size_t len, have;
	uint8_t *g;

	rng_seed(2);
	g = guest_pkt(IPPROTO_UDP, GUEST, 1000, &len);
	for (have = 20; have < 40; have++) {
		uint8_t *part = dup_exact(g, have);
		struct pkt v = { part, have };

		assert_int_equal(ip4_parse_quote(v, &ip), 0);
		assert_int_equal(ip.l4.len, have - 20);
		icmp_error(&e->c, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0,
			   htonl(GW), &ip);
		check_error(e, part, have, ICMP_DEST_UNREACH,
			    ICMP_HOST_UNREACH, 0, GW, e->c.fwd.ip_id - 1);
		free(part);
	}
	/* Less than an IPv4 header: no view to make an error of */
	for (have = 0; have < 20; have++) {
		uint8_t *part = dup_exact(g, have);
		struct pkt v = { part, have };

		assert_int_equal(ip4_parse_quote(v, &ip), -1);
		free(part);
	}
	assert_int_equal(e->c.tap.tx.used, 0);
	free(g);
}

/* Fragmentation needed carries the MTU (RFC 1191); other errors leave the
 * field zero whatever they are given
 */
static void test_frag_needed_mtu(void **state)
{
	static const uint16_t mtus[] = { 68, 576, 1280, 1492, 1500, 65535 };
	struct env *e = *state;
	size_t i, len;
	uint8_t *g;

	rng_seed(1191);
	g = guest_pkt(IPPROTO_TCP, GUEST, 1460, &len);
	for (i = 0; i < ARRAY_SIZE(mtus); i++) {
		error_about(e, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtus[i], g,
			    len);
		check_error(e, g, len, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
			    mtus[i], GW, e->c.fwd.ip_id - 1);

		error_about(e, ICMP_DEST_UNREACH, ICMP_CODE_ADMIN_PROHIBITED,
			    mtus[i], g, len);
		check_error(e, g, len, ICMP_DEST_UNREACH,
			    ICMP_CODE_ADMIN_PROHIBITED, 0, GW,
			    e->c.fwd.ip_id - 1);
		error_about(e, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, mtus[i], g,
			    len);
		check_error(e, g, len, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, GW,
			    e->c.fwd.ip_id - 1);
	}
	free(g);
}

/* expect_none() - icmp_error() about @g sends nothing */
static void expect_none(struct env *e, const uint8_t *g, size_t len)
{
	uint16_t id = e->c.fwd.ip_id;
	uint8_t *b = dup_exact(g, len);

	error_about(e, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, b, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ip_id, id);
	free(b);
}

/* No error about an ICMP error, of any kind; about an echo request, yes */
static void test_not_about_errors(void **state)
{
	static const uint8_t errors[] = { ICMP_DEST_UNREACH,
					  ICMP_SOURCE_QUENCH, ICMP_REDIRECT,
					  ICMP_TIME_EXCEEDED,
					  ICMP_PARAMETERPROB };
	struct env *e = *state;
	uint8_t *g;
	size_t i, len;

	rng_seed(1122);
	for (i = 0; i < ARRAY_SIZE(errors); i++) {
		g = guest_pkt(IPPROTO_ICMP, GUEST, 28, &len);
		g[20] = errors[i];
		g[21] = 1;
		l4_csum_set(0, 0, IPPROTO_ICMP, g + 20, len - 20);
		expect_none(e, g, len);
		free(g);
	}
	g = guest_pkt(IPPROTO_ICMP, GUEST, 28, &len);
	error_about(e, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, g, len);
	check_error(e, g, len, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, GW,
		    e->c.fwd.ip_id - 1);
	free(g);
}

/* No error about a fragment other than the first; the first, yes */
static void test_not_about_later_fragments(void **state)
{
	static const uint16_t later[] = { 1, 2, 185, R_MF | 1, R_MF | 185,
					  R_OFFMASK, R_DF | 3 };
	struct env *e = *state;
	uint8_t *g;
	size_t i, len;

	rng_seed(791);
	for (i = 0; i < ARRAY_SIZE(later); i++) {
		g = guest_pkt(IPPROTO_UDP, GUEST, 100, &len);
		put16(g + R_IP_FRAG, later[i]);
		ip_csum_set(g);
		expect_none(e, g, len);
		free(g);
	}
	g = guest_pkt(IPPROTO_UDP, GUEST, 100, &len);
	put16(g + R_IP_FRAG, R_MF);
	ip_csum_set(g);
	error_about(e, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, g, len);
	check_error(e, g, len, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, GW,
		    e->c.fwd.ip_id - 1);
	free(g);
}

/* No error to a source that names no single host */
static void test_not_to_non_unicast(void **state)
{
	static const char *const src[] = {
		"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.255.254",
		"224.0.0.1", "239.255.255.255", "240.0.0.1",
		"255.255.255.255",
	};
	struct env *e = *state;
	size_t i, len;
	uint8_t *g;

	rng_seed(1122);
	for (i = 0; i < ARRAY_SIZE(src); i++) {
		g = guest_pkt(IPPROTO_TCP, addr(src[i]), 0, &len);
		expect_none(e, g, len);
		free(g);
	}
	/* The edges of what is unicast */
	g = guest_pkt(IPPROTO_TCP, addr("1.0.0.0"), 0, &len);
	error_about(e, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, g, len);
	check_error(e, g, len, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, GW,
		    e->c.fwd.ip_id - 1);
	free(g);
	g = guest_pkt(IPPROTO_TCP, addr("223.255.255.255"), 0, &len);
	error_about(e, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, g, len);
	check_error(e, g, len, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, GW,
		    e->c.fwd.ip_id - 1);
	free(g);
}

/* Before the guest's MAC is known, errors go to broadcast; with no guest
 * connected, nowhere; with a full ring, they are dropped and counted
 */
static void test_link(void **state)
{
	struct env *e = *state;
	size_t len;
	uint8_t *g;
	int fd;

	rng_seed(826);
	g = guest_pkt(IPPROTO_UDP, GUEST, 10, &len);
	e->c.tap.guest_mac_known = false;
	error_about(e, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, g, len);
	check_error(e, g, len, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, GW,
		    e->c.fwd.ip_id - 1);
	e->c.tap.guest_mac_known = true;

	fd = e->c.tap.fd;
	e->c.tap.fd = -1;
	error_about(e, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, g, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	e->c.tap.fd = fd;

	e->c.tap.tx.used = e->c.tap.tx.size - 50;
	error_about(e, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, g, len);
	assert_int_equal(e->c.tap.tx.used, e->c.tap.tx.size - 50);
	assert_int_equal(e->c.tap.tx.dropped, 1);
	e->c.tap.tx.used = 0;
	free(g);
}

/* IPv6: icmp6_error() */

#define PEER6		"2001:db8:80::50"

/* env6_setup() - cmocka fixture: a context (env.h), IPv6 served (env6.h) */
static int env6_setup(void **state)
{
	struct env *e = env_new();

	env6_on(e);
	*state = e;
	return 0;
}

/* guest_pkt6() - a guest IPv6 packet of @proto from @src, @ext bytes of
 * destination options, @payload bytes of payload, hop limit 1
 */
static uint8_t *guest_pkt6(uint8_t proto, const char *src, size_t ext,
			   size_t payload, size_t *len)
{
	struct flowpkt6 fp = {
		.proto = proto, .saddr = addr6(src), .daddr = addr6(PEER6),
		.sport = 40522, .dport = 443, .hops = 1, .tclass = 0x20,
		.flow = 0x12345, .flags = R_SYN, .ext = ext,
		.payload = payload,
	};

	return pkt6_build(&fp, len);
}

/* error6_about() - icmp6_error() about the packet @g, as the data path
 * calls it: on the view ip6_parse() made of it
 */
static void error6_about(struct env *e, uint8_t type, uint8_t code,
			 uint32_t info, const uint8_t *g, size_t len)
{
	struct ip_view ip;

	parse6_ok(g, len, &ip, NULL);
	icmp6_error(&e->c, type, code, info, &ip);
}

/* Time exceeded about packets of every size, with and without extension
 * headers, over links from IPv6's least MTU up: the quote is cut to fit
 * 1280 bytes (RFC 4443 2.4 (c))
 */
static void test_quote_length6(void **state)
{
	static const unsigned int mtus[] = { R6_MTU_MIN, 1500, 9000,
					     65520 };
	static const size_t payloads[] = { 0, 1, 7, 8, 9, 500, 1183, 1184,
					   1185, 1452, 65000 };
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP,
					  IPPROTO_ICMPV6 };
	struct env *e = *state;
	struct in6_addr gw = addr6(ROUTER6);
	size_t i, k, p;

	rng_seed(4443);
	for (i = 0; i < ARRAY_SIZE(mtus); i++) {
		e->c.link.mtu = mtus[i];
		for (k = 0; k < ARRAY_SIZE(payloads); k++) {
			for (p = 0; p < ARRAY_SIZE(protos); p++) {
				size_t len, ext = 8 * (k % 3);
				uint8_t *g = guest_pkt6(protos[p], GUEST6,
							ext, payloads[k],
							&len);

				error6_about(e, R6_TIME_EXCEEDED, 0, 0, g,
					     len);
				check_icmp6_error(e, g, len, R6_TIME_EXCEEDED,
						  0, 0, &gw);
				free(g);
			}
		}
	}
}

/* The second word carries what the caller gives: the MTU of "packet too
 * big", the pointer of "parameter problem" (RFC 4443 3.2, 3.4)
 */
static void test_info6(void **state)
{
	static const uint32_t mtus[] = { 1280, 1492, 1500, 65535 };
	struct env *e = *state;
	struct in6_addr gw = addr6(ROUTER6);
	size_t i, len;
	uint8_t *g;

	rng_seed(1981);
	g = guest_pkt6(IPPROTO_TCP, GUEST6, 0, 1460, &len);
	for (i = 0; i < ARRAY_SIZE(mtus); i++) {
		error6_about(e, R6_TOO_BIG, 0, mtus[i], g, len);
		check_icmp6_error(e, g, len, R6_TOO_BIG, 0, mtus[i], &gw);
	}
	/* RFC 4443 3.4: code 1, an unknown next header, at the pointer */
	error6_about(e, R6_PARAM_PROB, 1, R6_HLEN, g, len);
	check_icmp6_error(e, g, len, R6_PARAM_PROB, 1, R6_HLEN, &gw);
	error6_about(e, R6_UNREACH, R6_CODE_ADMIN, 0, g, len);
	check_icmp6_error(e, g, len, R6_UNREACH, R6_CODE_ADMIN, 0, &gw);
	free(g);
}

/* Only what the caller has of the packet is quoted: the short copy a send
 * slot keeps (fixed header and 8 bytes), read with ip6_parse_quote()
 */
static void test_quote_short_buffer6(void **state)
{
	struct env *e = *state;
	struct in6_addr gw = addr6(ROUTER6);
	struct ip_view ip;
	size_t len, have;
	uint8_t *g;

	rng_seed(2);
	g = guest_pkt6(IPPROTO_UDP, GUEST6, 0, 1000, &len);
	for (have = R6_HLEN + 1; have <= R6_HLEN + 8; have++) {
		uint8_t *part = dup_exact(g, have);
		struct pkt v = { part, have };

		assert_int_equal(ip6_parse_quote(v, &ip), 0);
		assert_int_equal(ip.l4.len, have - R6_HLEN);
		icmp6_error(&e->c, R6_UNREACH, R6_CODE_ADMIN, 0, &ip);
		check_icmp6_error(e, part, have, R6_UNREACH, R6_CODE_ADMIN, 0,
				  &gw);
		free(part);
	}
	free(g);
}

/* expect_none6() - icmp6_error() about @g sends nothing */
static void expect_none6(struct env *e, const uint8_t *g, size_t len)
{
	uint8_t *b = dup_exact(g, len);

	error6_about(e, R6_UNREACH, R6_CODE_ADMIN, 0, b, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(b);
}

/* No error about an ICMPv6 error (types below 128, RFC 4443 2.4 (e)),
 * behind extension headers or not; about informational messages, yes
 */
static void test_not_about_errors6(void **state)
{
	static const uint8_t errors[] = { R6_UNREACH, R6_TOO_BIG,
					  R6_TIME_EXCEEDED, R6_PARAM_PROB, 0,
					  100, 127 };
	static const uint8_t info[] = { R6_ECHO_REQUEST, R6_ECHO_REPLY, 200 };
	struct env *e = *state;
	struct in6_addr gw = addr6(ROUTER6), src = addr6(GUEST6);
	struct in6_addr dst = addr6(PEER6);
	uint8_t *g;
	size_t i, len;

	rng_seed(4443);
	for (i = 0; i < ARRAY_SIZE(errors) + ARRAY_SIZE(info); i++) {
		bool err = i < ARRAY_SIZE(errors);
		size_t ext = 8 * (i % 2);

		g = guest_pkt6(IPPROTO_ICMPV6, GUEST6, ext, 48, &len);
		g[R6_HLEN + ext] = err ? errors[i] :
				   info[i - ARRAY_SIZE(errors)];
		l6_csum_set(&src, &dst, IPPROTO_ICMPV6, g + R6_HLEN + ext,
			    len - R6_HLEN - ext);
		if (err) {
			expect_none6(e, g, len);
		} else {
			error6_about(e, R6_UNREACH, R6_CODE_ADMIN, 0, g, len);
			check_icmp6_error(e, g, len, R6_UNREACH,
					  R6_CODE_ADMIN, 0, &gw);
		}
		free(g);
	}
}

/* No error to a source that names no single host: the unspecified
 * address, multicast (RFC 4443 2.4 (e)); to the guest's link-local one,
 * yes
 */
static void test_not_to_non_unicast6(void **state)
{
	static const char *const src[] = { "::", "ff02::1", "ff05::1:3",
					   "ff0e::101" };
	struct env *e = *state;
	struct in6_addr gw = addr6(ROUTER6);
	size_t i, len;
	uint8_t *g;

	rng_seed(4291);
	for (i = 0; i < ARRAY_SIZE(src); i++) {
		g = guest_pkt6(IPPROTO_UDP, src[i], 0, 10, &len);
		expect_none6(e, g, len);
		free(g);
	}
	g = guest_pkt6(IPPROTO_UDP, "fe80::5054:ff:fe12:3456", 0, 10, &len);
	error6_about(e, R6_TIME_EXCEEDED, 0, 0, g, len);
	check_icmp6_error(e, g, len, R6_TIME_EXCEEDED, 0, 0, &gw);
	free(g);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
#define T6(name) cmocka_unit_test_setup_teardown(name, env6_setup, \
						 env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_quote_length),
		T(test_quote_short_buffer),
		T(test_frag_needed_mtu),
		T(test_not_about_errors),
		T(test_not_about_later_fragments),
		T(test_not_to_non_unicast),
		T(test_link),
		T6(test_quote_length6),
		T6(test_info6),
		T6(test_quote_short_buffer6),
		T6(test_not_about_errors6),
		T6(test_not_to_non_unicast6),
	};
#undef T6
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
