// SPDX-License-Identifier: GPL-2.0-or-later
/* test_ip.c - unit tests for ip.c and ip4.c's parsers: the views of a
 *	       packet every later step reads
 *
 * Copyright (c) 2026 merd authors
 *
 * Packets are built byte by byte (ref.h), each in a buffer malloc()ed to
 * its exact length, so that AddressSanitizer catches any read past it, and
 * parsed as the data path parses them: ip4_parse() (or ip4_parse_quote()
 * for what an ICMP error quotes), then l4_parse() (l4_parse_quote()). The
 * views must say what RFC 791, 9293, 7323, 768 and 792 say the bytes mean;
 * anything malformed must be refused.
 */

#include <netinet/in.h>

#include "ip.h"
#include "ip4.h"
#include "ref.h"
#include "util.h"

#define SRC		0x0a2a0002	/* 10.42.0.2 */
#define DST		0xc0000250	/* 192.0.2.80 */

/* parse() - ip4_parse() of @len bytes at @p, in an exact-size copy, and
 * l4_parse() if that worked and @l4 isn't NULL
 *
 * Return: -1 if ip4_parse() refused it, -2 if l4_parse() did, else 0
 */
static int parse(const uint8_t *p, size_t len, struct ip_view *ip,
		 struct l4_view *l4)
{
	uint8_t *b = dup_exact(p, len);
	struct pkt v = { b, len };
	int ret = 0;

	if (ip4_parse(v, ip))
		ret = -1;
	else if (l4 && l4_parse(ip, l4))
		ret = -2;
	free(b);
	return ret;
}

/* The IPv4 view: addresses IPv4-mapped, every field as the header has it,
 * options in the header, the payload cut to the total length (Ethernet
 * padding after it)
 */
static void test_ip4_fields(void **state)
{
	uint8_t p[100] = { 0 };
	struct ip_view ip;
	union inany_addr a;

	(void)state;
	rng_seed(791);
	ip_build(p, 24, 60, IPPROTO_UDP, SRC, DST, 0xabcd,
		 R_DF | R_MF | 0x123, 17);
	p[R_IP_TOS] = 0xb9;
	ip_csum_set(p);
	assert_int_equal(parse(p, 60 + 6, &ip, NULL), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_true(inany_is_v4(&ip.src));
	assert_int_equal(ntohl(inany_v4(&ip.src)), SRC);
	inany_from_v4(&a, htonl(DST));
	assert_true(inany_equals(&ip.dst, &a));
	assert_int_equal(ip.proto, IPPROTO_UDP);
	assert_int_equal(ip.ttl, 17);
	assert_int_equal(ip.tos, 0xb9);
	assert_int_equal(ip.id, 0xabcd);
	assert_int_equal(ip.frag, 0x123 * 8);
	assert_true(ip.mf);
	assert_true(ip.df);
	assert_true(ip_is_fragment(&ip));
	assert_int_equal(ip.hdr.len, 24);
	assert_int_equal(ip.l4.len, 60 - 24);

	ip_build(p, 20, 40, IPPROTO_TCP, SRC, DST, 1, 0, 64);
	assert_int_equal(parse(p, 40, &ip, NULL), 0);
	assert_false(ip.mf || ip.df || ip.frag);
	assert_false(ip_is_fragment(&ip));
	ip_build(p, 20, 40, IPPROTO_TCP, SRC, DST, 1, 1, 64);
	assert_int_equal(parse(p, 40, &ip, NULL), 0);
	assert_true(ip_is_fragment(&ip));
}

/* Malformed IPv4: another version, a header length below 5 words or past
 * the data, a total length below the header or past the data, a bad
 * checksum, less than a header; each refused
 */
static void test_ip4_malformed(void **state)
{
	uint8_t p[100] = { 0 };
	struct ip_view ip;
	size_t n;

	(void)state;
	rng_seed(1);
	ip_build(p, 20, 60, IPPROTO_UDP, SRC, DST, 1, 0, 64);
	assert_int_equal(parse(p, 60, &ip, NULL), 0);
	assert_int_equal(parse(p, 59, &ip, NULL), -1);
	for (n = 0; n < 20; n++)
		assert_int_equal(parse(p, n, &ip, NULL), -1);

	p[R_IP_VIHL] = 0x65;
	ip_csum_set(p);
	assert_int_equal(parse(p, 60, &ip, NULL), -1);
	p[R_IP_VIHL] = 0x44;
	ip_csum_set(p);
	assert_int_equal(parse(p, 60, &ip, NULL), -1);
	p[R_IP_VIHL] = 0x4f;
	ip_csum_set(p);
	assert_int_equal(parse(p, 59, &ip, NULL), -1);
	assert_int_equal(parse(p, 60, &ip, NULL), 0);	/* 60 fits */
	ip_build(p, 24, 20, IPPROTO_UDP, SRC, DST, 1, 0, 64);
	assert_int_equal(parse(p, 60, &ip, NULL), -1);	/* tot < hlen */

	ip_build(p, 20, 60, IPPROTO_UDP, SRC, DST, 1, 0, 64);
	p[R_IP_CHECK] ^= 1;
	assert_int_equal(parse(p, 60, &ip, NULL), -1);
}

/* What an ICMP error quotes: its total length may run past the quote (the
 * quote is whatever is there) and its checksum isn't looked at; the header
 * itself must be whole and sane
 */
static void test_ip4_quote(void **state)
{
	uint8_t p[100] = { 0 };
	struct ip_view ip;
	struct pkt v = { p, 28 };

	(void)state;
	rng_seed(792);
	ip_build(p, 20, 1500, IPPROTO_UDP, SRC, DST, 1, 0, 1);
	p[R_IP_CHECK] ^= 0x55;
	assert_int_equal(ip4_parse_quote(v, &ip), 0);
	assert_int_equal(ip.hdr.len, 20);
	assert_int_equal(ip.l4.len, 8);
	assert_int_equal(ip.ttl, 1);
	v.len = 20;
	assert_int_equal(ip4_parse_quote(v, &ip), 0);
	assert_int_equal(ip.l4.len, 0);
	v.len = 19;
	assert_int_equal(ip4_parse_quote(v, &ip), -1);

	ip_build(p, 20, 24, IPPROTO_UDP, SRC, DST, 1, 0, 1);
	v.len = 60;
	assert_int_equal(ip4_parse_quote(v, &ip), 0);	/* shorter: tot */
	assert_int_equal(ip.l4.len, 4);
	ip_build(p, 40, 1500, IPPROTO_UDP, SRC, DST, 1, 0, 1);
	v.len = 39;
	assert_int_equal(ip4_parse_quote(v, &ip), -1);
	ip_build(p, 40, 30, IPPROTO_UDP, SRC, DST, 1, 0, 1);
	v.len = 60;
	assert_int_equal(ip4_parse_quote(v, &ip), -1);	/* tot < hlen */
	p[R_IP_VIHL] = 0x55;
	assert_int_equal(ip4_parse_quote(v, &ip), -1);
}

/* tcp_seg() - an IPv4 packet with a TCP header of @thl bytes, options
 * @opt (@olen bytes, the rest zero: end of options), @payload bytes
 *
 * Return: its length, the packet in @p
 */
static size_t tcp_seg(uint8_t *p, uint8_t flags, size_t thl,
		      const uint8_t *opt, size_t olen, size_t payload)
{
	size_t len = 20 + thl + payload;

	ip_build(p, 20, len, IPPROTO_TCP, SRC, DST, 1, 0, 64);
	tcp_build(p + 20, thl, 40522, 443, 0x01020304, 0xa0b0c0d0, flags);
	put16(p + 20 + R_TCP_WIN, 0x1234);
	memset(p + 40, 0, thl - 20);
	if (olen)
		memcpy(p + 40, opt, olen);
	fill_rand(p + 20 + thl, payload);
	l4_csum_set(SRC, DST, IPPROTO_TCP, p + 20, len - 20);
	return len;
}

/* wscale() - the window scale l4_parse() finds in a SYN with these
 * options, in a header of @thl bytes
 */
static uint8_t wscale(const uint8_t *opt, size_t olen, size_t thl)
{
	uint8_t p[200];
	struct ip_view ip;
	struct l4_view l4;
	size_t len = tcp_seg(p, R_SYN, thl, opt, olen, 0);

	assert_int_equal(parse(p, len, &ip, &l4), 0);
	return l4.wscale;
}

/* TCP: ports, numbers, window and flags as sent, the header with its
 * options, the payload after it; a header shorter than 20 bytes or longer
 * than the packet refused
 */
static void test_tcp(void **state)
{
	static const uint8_t mss[] = { 2, 4, 5, 0xb4 };
	uint8_t p[200] = { 0 };
	struct ip_view ip;
	struct l4_view l4;
	size_t len, cut;

	(void)state;
	rng_seed(9293);
	len = tcp_seg(p, R_ACK | R_PSH, 24, mss, sizeof(mss), 33);
	assert_int_equal(parse(p, len, &ip, &l4), 0);
	assert_int_equal(l4.proto, IPPROTO_TCP);
	assert_int_equal(l4.sport, 40522);
	assert_int_equal(l4.dport, 443);
	assert_int_equal(l4.seq, 0x01020304);
	assert_int_equal(l4.ack, 0xa0b0c0d0);
	assert_int_equal(l4.win, 0x1234);
	assert_int_equal(l4.flags, R_ACK | R_PSH);
	assert_int_equal(l4.wscale, L4_NO_WSCALE);
	assert_int_equal(l4.hdr.len, 24);
	assert_true(l4.hdr.p == ip.l4.p);
	assert_int_equal(l4.data.len, 33);
	assert_true(l4.data.p == ip.l4.p + 24);

	p[20 + R_TCP_DOFF] = 4 << 4;
	assert_int_equal(parse(p, len, &ip, &l4), -2);
	p[20 + R_TCP_DOFF] = 15 << 4;			/* 60 > 24 + 33 */
	assert_int_equal(parse(p, len, &ip, &l4), -2);
	len = tcp_seg(p, R_ACK, 20, NULL, 0, 0);
	for (cut = 20; cut < 40; cut++) {
		put16(p + R_IP_LEN, (uint16_t)cut);
		ip_csum_set(p);
		assert_int_equal(parse(p, cut, &ip, &l4), -2);
	}
}

/* The window scale option of a SYN (RFC 7323 2.2): found after other
 * options and no-ops, a shift above 14 taken as 14; not looked for in
 * other segments; an end of options, a length below 2, an option running
 * past the header end the walk with none found
 */
static void test_tcp_wscale(void **state)
{
	static const uint8_t ws7[] = { 3, 3, 7 };
	static const uint8_t after[] = { 2, 4, 5, 0xb4, 1, 1, 4, 2, 3, 3, 9 };
	static const uint8_t big[] = { 1, 3, 3, 15 };
	static const uint8_t zero[] = { 1, 3, 3, 0 };
	static const uint8_t eol[] = { 0, 3, 3, 7 };
	static const uint8_t len0[] = { 8, 0, 3, 3, 7 };
	static const uint8_t len1[] = { 8, 1, 3, 3, 7 };
	static const uint8_t wslen[] = { 3, 4, 7, 0, 3, 3, 5 };
	static const uint8_t past[] = { 1, 1, 1, 3, 3 };
	static const uint8_t skip[] = { 8, 10, 3, 3, 1, 1, 1, 1, 1, 1, 3, 3,
					6 };
	uint8_t p[200];
	struct ip_view ip;
	struct l4_view l4;
	size_t len;

	(void)state;
	rng_seed(7323);
	assert_int_equal(wscale(ws7, sizeof(ws7), 24), 7);
	assert_int_equal(wscale(after, sizeof(after), 32), 9);
	assert_int_equal(wscale(big, sizeof(big), 24), 14);
	assert_int_equal(wscale(zero, sizeof(zero), 24), 0);
	assert_int_equal(wscale(NULL, 0, 20), L4_NO_WSCALE);
	assert_int_equal(wscale(eol, sizeof(eol), 24), L4_NO_WSCALE);
	assert_int_equal(wscale(len0, sizeof(len0), 28), L4_NO_WSCALE);
	assert_int_equal(wscale(len1, sizeof(len1), 28), L4_NO_WSCALE);
	assert_int_equal(wscale(wslen, sizeof(wslen), 28), 5);
	assert_int_equal(wscale(past, sizeof(past), 24), L4_NO_WSCALE);
	assert_int_equal(wscale(skip, sizeof(skip), 36), 6);

	len = tcp_seg(p, R_SYN | R_ACK, 24, ws7, sizeof(ws7), 0);
	assert_int_equal(parse(p, len, &ip, &l4), 0);
	assert_int_equal(l4.wscale, 7);
	len = tcp_seg(p, R_ACK, 24, ws7, sizeof(ws7), 0);
	assert_int_equal(parse(p, len, &ip, &l4), 0);
	assert_int_equal(l4.wscale, L4_NO_WSCALE);
}

/* Random options in SYNs of every header length: the walk never reads
 * past the header (AddressSanitizer: the options are the last bytes of an
 * exact-size buffer), and finds a shift of at most 14 or none
 */
static void test_tcp_options_random(void **state)
{
	uint8_t opt[40];
	int i;

	(void)state;
	rng_seed(65535);
	for (i = 0; i < 20000; i++) {
		size_t olen = 4 * (rng() % 11), k;
		uint8_t s;

		fill_rand(opt, olen);
		for (k = 0; k < olen; k++)	/* small kinds, lengths */
			if (rng() % 2)
				opt[k] %= 5;
		s = wscale(opt, olen, 20 + olen);
		assert_true(s <= 14 || s == L4_NO_WSCALE);
	}
}

/* UDP: ports, the payload cut to the length field (padding after it), a
 * length field below 8 or past the packet refused
 */
static void test_udp(void **state)
{
	uint8_t p[100] = { 0 };
	struct ip_view ip;
	struct l4_view l4;

	(void)state;
	rng_seed(768);
	ip_build(p, 20, 60, IPPROTO_UDP, SRC, DST, 1, 0, 64);
	udp_build(p + 20, 5353, 53, 30);
	assert_int_equal(parse(p, 60, &ip, &l4), 0);
	assert_int_equal(l4.sport, 5353);
	assert_int_equal(l4.dport, 53);
	assert_int_equal(l4.hdr.len, 8);
	assert_int_equal(l4.data.len, 22);
	assert_true(l4.data.p == ip.l4.p + 8);

	udp_build(p + 20, 5353, 53, 40);
	assert_int_equal(parse(p, 60, &ip, &l4), 0);
	udp_build(p + 20, 5353, 53, 41);
	assert_int_equal(parse(p, 60, &ip, &l4), -2);
	udp_build(p + 20, 5353, 53, 7);
	assert_int_equal(parse(p, 60, &ip, &l4), -2);
	udp_build(p + 20, 5353, 53, 8);
	assert_int_equal(parse(p, 60, &ip, &l4), 0);
	assert_int_equal(l4.data.len, 0);
	ip_build(p, 20, 27, IPPROTO_UDP, SRC, DST, 1, 0, 64);
	assert_int_equal(parse(p, 27, &ip, &l4), -2);
}

/* ICMP: type and code; an echo request's identifier as its source port,
 * a reply's as its destination port, others none; shorter than 8 bytes
 * refused; other protocols aren't transport merd parses
 */
static void test_icmp(void **state)
{
	static const uint8_t types[] = { 8, 0, 3, 11, 13 };
	uint8_t p[100] = { 0 };
	struct ip_view ip;
	struct l4_view l4;
	size_t i;

	(void)state;
	rng_seed(792);
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		ip_build(p, 20, 40, IPPROTO_ICMP, SRC, DST, 1, 0, 64);
		icmp_build(p + 20, types[i], 5, 0x4242, 0x0707);
		assert_int_equal(parse(p, 40, &ip, &l4), 0);
		assert_int_equal(l4.type, types[i]);
		assert_int_equal(l4.code, 5);
		assert_int_equal(l4.sport, types[i] == 8 ? 0x4242 : 0);
		assert_int_equal(l4.dport, types[i] == 0 ? 0x4242 : 0);
		assert_int_equal(l4.hdr.len, 8);
		assert_int_equal(l4.data.len, 12);
	}
	ip_build(p, 20, 27, IPPROTO_ICMP, SRC, DST, 1, 0, 64);
	assert_int_equal(parse(p, 27, &ip, &l4), -2);
	ip_build(p, 20, 40, 47, SRC, DST, 1, 0, 64);
	assert_int_equal(parse(p, 40, &ip, &l4), -2);
	ip_build(p, 20, 40, IPPROTO_SCTP, SRC, DST, 1, 0, 64);
	assert_int_equal(parse(p, 40, &ip, &l4), -2);
}

/* quote() - l4_parse_quote() of what an error quotes: an IPv4 header and
 * the first @n bytes of @l4, in an exact-size buffer
 */
static int quote(uint8_t proto, const uint8_t *l4, size_t n,
		 struct l4_view *v)
{
	uint8_t *q = malloc(20 + n);
	struct pkt qv = { q, 20 + n };
	struct ip_view ip;
	int ret;

	assert_non_null(q);
	ip_build(q, 20, 1500, proto, DST, SRC, 1, 0, 1);
	memcpy(q + 20, l4, n);
	assert_int_equal(ip4_parse_quote(qv, &ip), 0);
	ret = l4_parse_quote(&ip, v);
	free(q);
	return ret;
}

/* Quoted transport headers: the ports of TCP and UDP, the identifier of an
 * echo request, from the 8 bytes RFC 792 asks for (more may be there);
 * fewer than 8, an echo reply or another ICMP message, another protocol,
 * refused
 */
static void test_quote(void **state)
{
	uint8_t l4[40];
	struct l4_view v;
	size_t n;

	(void)state;
	rng_seed(1812);
	tcp_build(l4, 20, 61001, 443, 1, 2, R_SYN);
	for (n = 8; n <= 20; n += 12) {
		assert_int_equal(quote(IPPROTO_TCP, l4, n, &v), 0);
		assert_int_equal(v.sport, 61001);
		assert_int_equal(v.dport, 443);
		assert_int_equal(v.hdr.len, n);
	}
	for (n = 0; n < 8; n++)
		assert_int_equal(quote(IPPROTO_TCP, l4, n, &v), -1);
	udp_build(l4, 61002, 53, 100);
	assert_int_equal(quote(IPPROTO_UDP, l4, 8, &v), 0);
	assert_int_equal(v.sport, 61002);
	assert_int_equal(v.dport, 53);
	assert_int_equal(quote(IPPROTO_UDP, l4, 7, &v), -1);

	icmp_build(l4, 8, 0, 61003, 9);
	assert_int_equal(quote(IPPROTO_ICMP, l4, 8, &v), 0);
	assert_int_equal(v.sport, 61003);
	assert_int_equal(v.dport, 0);
	assert_int_equal(v.type, 8);
	assert_int_equal(quote(IPPROTO_ICMP, l4, 7, &v), -1);
	icmp_build(l4, 0, 0, 61003, 9);
	assert_int_equal(quote(IPPROTO_ICMP, l4, 8, &v), -1);
	icmp_build(l4, 3, 3, 0, 0);
	assert_int_equal(quote(IPPROTO_ICMP, l4, 8, &v), -1);
	assert_int_equal(quote(47, l4, 8, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip4_fields),
		cmocka_unit_test(test_ip4_malformed),
		cmocka_unit_test(test_ip4_quote),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_tcp_wscale),
		cmocka_unit_test(test_tcp_options_random),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
