// SPDX-License-Identifier: GPL-2.0-or-later
/* test_ip6.c - unit tests for ip6.c's parsers, and for ip.c's transport
 *		parsing of what they find
 *
 * Copyright (c) 2026 merd authors
 *
 * Packets are built byte by byte here, as RFC 8200 3 and 4 draw the fixed
 * and the extension headers (build6()), their transport checksums with
 * ref_sum() (unit.h), never with merd's code. Each is parsed in a buffer
 * malloc()ed to its exact length, so that AddressSanitizer catches any
 * read past it, as the data path parses it: ip6_parse() (ip6_parse_quote()
 * for what an ICMPv6 error quotes), then l4_parse() (l4_parse_quote()).
 * parse6() checks what every view must hold, whatever the packet: the
 * header from the first byte on, at least 40 bytes, the payload right
 * after it, both inside the packet. The tests check that the views say
 * what RFC 8200, 5095, 4443 and 2675 say the bytes mean, and that anything
 * malformed, or unsafe to forward, is refused with the right code.
 */

#include <stdbool.h>
#include <netinet/in.h>

#include "ip.h"
#include "ip4.h"
#include "ip6.h"
#include "ref.h"
#include "util.h"

#define SRC6		"2001:db8:42::2"
#define DST6		"2001:db8:80::50"

/* Offsets in the fixed header (RFC 8200 3) */
#define R6_PLEN		4
#define R6_NH		6
#define R6_HOPS		7
#define R6_SRC		8
#define R6_DST		24
#define R6_HLEN		40

/* Next header values (RFC 8200 4, IANA's protocol numbers) */
#define NH_HOP		0
#define NH_TCP		6
#define NH_UDP		17
#define NH_RT		43
#define NH_FRAG		44
#define NH_ESP		50
#define NH_AH		51
#define NH_ICMP6	58
#define NH_NONE		59
#define NH_DST		60
#define NH_MOBILITY	135

/* parse6(): l4_parse() or l4_parse_quote() refused what ip6_parse() took */
#define L4_BAD		(-10)

/* Big enough for every packet built here, and some padding after it */
#define BUF		4096

/**
 * struct ext - an extension header for build6()
 * @nh:		NH_HOP, NH_DST, NH_RT or NH_FRAG
 * @len:	length in bytes, a multiple of 8, at least 8 (fragment: 8)
 * @rtype:	routing type
 * @segleft:	segments left
 * @off:	fragment offset, in bytes, a multiple of 8
 * @mf:		more fragments
 * @id:		fragment identification
 */
struct ext {
	uint8_t nh;
	size_t len;
	uint8_t rtype;
	uint8_t segleft;
	uint16_t off;
	bool mf;
	uint32_t id;
};

#define HOP(n)		{ .nh = NH_HOP, .len = (n) }
#define DST(n)		{ .nh = NH_DST, .len = (n) }
#define RT(t, s, n)	{ .nh = NH_RT, .len = (n), .rtype = (t), .segleft = (s) }
#define FRAG(o, m, i)	{ .nh = NH_FRAG, .len = 8, .off = (o), .mf = (m), \
			  .id = (i) }

/**
 * a6() - an IPv6 address from its text
 * @s:		text
 *
 * Return: the address
 */
static struct in6_addr a6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/**
 * l6_csum_set() - compute and store a transport checksum over the IPv6
 *		   pseudo-header (RFC 8200 8.1)
 * @ip:		packet, from its fixed header, addresses set
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMPV6
 * @l4:		transport header and data, inside the packet
 * @len:	their length
 */
static void l6_csum_set(const uint8_t *ip, uint8_t proto, uint8_t *l4,
			size_t len)
{
	uint8_t ph[40] = { 0 };
	size_t off = l4_check_off(proto);
	uint16_t check;

	memcpy(ph, ip + R6_SRC, 32);
	put32(ph + 32, (uint32_t)len);
	ph[39] = proto;
	put16(l4 + off, 0);
	check = (uint16_t)~ref_sum(l4, len, ref_sum(ph, sizeof(ph), 0));
	if (proto == IPPROTO_UDP && !check)
		check = 0xffff;
	put16(l4 + off, check);
}

/**
 * build6() - write an IPv6 packet: fixed header, extension headers,
 *	      transport header and data
 * @p:		where, at least BUF bytes
 * @e:		extension headers, in order
 * @n:		their number
 * @proto:	next header of the last one (of the fixed header if none)
 * @l4:		what follows them
 * @l4len:	its length
 *
 * Traffic class and flow label are zero, the hop limit 64, the payload
 * length right. Option headers hold one PadN option; routing headers
 * zeroes after segments left. A TCP, UDP or ICMPv6 packet that isn't a
 * fragment gets its checksum.
 *
 * Return: the packet's length
 */
static size_t build6(uint8_t *p, const struct ext *e, size_t n,
		     uint8_t proto, const uint8_t *l4, size_t l4len)
{
	uint8_t *nh = p + R6_NH;
	size_t off = R6_HLEN, i;
	bool frag = false;

	memset(p, 0, BUF);
	p[0] = 0x60;
	p[R6_HOPS] = 64;
	memcpy(p + R6_SRC, a6(SRC6).s6_addr, 16);
	memcpy(p + R6_DST, a6(DST6).s6_addr, 16);

	for (i = 0; i < n; i++) {
		uint8_t *h = p + off;

		assert_true(e[i].len >= 8 && e[i].len % 8 == 0);
		*nh = e[i].nh;
		nh = h;
		if (e[i].nh == NH_FRAG) {
			put16(h + 2, (uint16_t)(e[i].off | e[i].mf));
			put32(h + 4, e[i].id);
			frag = true;
		} else {
			h[1] = (uint8_t)(e[i].len / 8 - 1);
		}
		if (e[i].nh == NH_RT) {
			h[2] = e[i].rtype;
			h[3] = e[i].segleft;
		} else if (e[i].nh != NH_FRAG) {
			h[2] = 1;			/* PadN */
			h[3] = (uint8_t)(e[i].len - 4);
		}
		off += e[i].len;
	}
	*nh = proto;
	assert_true(off + l4len <= BUF);
	memcpy(p + off, l4, l4len);
	put16(p + R6_PLEN, (uint16_t)(off + l4len - R6_HLEN));

	if (!frag && (proto == NH_TCP || proto == NH_UDP ||
		      proto == NH_ICMP6) &&
	    l4len >= l4_check_off(proto) + 2)
		l6_csum_set(p, proto, p + off, l4len);
	return off + l4len;
}

/**
 * parse6() - ip6_parse() (or ip6_parse_quote()) of @len bytes at @p, in an
 *	      exact-size copy, and l4_parse() (l4_parse_quote()) if that
 *	      worked and @l4 isn't NULL
 * @p:		packet
 * @len:	bytes of it to parse
 * @quote:	parse it as a quote
 * @ip:		view, filled
 * @l4:		transport view, filled, or NULL
 *
 * On success, checks what every view must hold: the header from the first
 * byte on, at least IP6_HLEN bytes, the payload right after it, inside the
 * packet; and the transport header at the start of the payload.
 *
 * Return: what ip6_parse() returned if not 0, L4_BAD if the transport
 *	   parser refused it, else 0
 */
static int parse6(const uint8_t *p, size_t len, bool quote,
		  struct ip_view *ip, struct l4_view *l4)
{
	uint8_t *b = dup_exact(p, len);
	struct pkt v = { b, len };
	int ret;

	memset(ip, 0x5a, sizeof(*ip));
	ret = quote ? ip6_parse_quote(v, ip) : ip6_parse(v, ip);
	if (!ret) {
		assert_int_equal(ip->family, AF_INET6);
		assert_true(ip->df);
		assert_ptr_equal(ip->hdr.p, b);
		assert_true(ip->hdr.len >= IP6_HLEN);
		assert_ptr_equal(ip->l4.p, b + ip->hdr.len);
		assert_true(ip->hdr.len + ip->l4.len <= len);
		assert_true(ip->fraghdr < ip->hdr.len);
		if (l4 && (quote ? l4_parse_quote(ip, l4) : l4_parse(ip, l4)))
			ret = L4_BAD;
		else if (l4)
			assert_ptr_equal(l4->hdr.p, ip->l4.p);
	}
	free(b);
	return ret;
}

/* The IPv6 view: addresses as IPv6, not mapped, traffic class, flow label
 * and hop limit as the header has them, no fragment yet "don't fragment"
 * set (RFC 8200 5), the header 40 bytes, the payload cut to the payload
 * length (Ethernet padding after it); UDP in it parsed as in IPv4
 */
static void test_ip6_fields(void **state)
{
	struct in6_addr src = a6(SRC6), dst = a6(DST6);
	uint8_t p[BUF], u[30];
	struct ip_view ip;
	struct l4_view l4;
	size_t len;

	(void)state;
	rng_seed(8200);
	udp_build(u, 5353, 53, sizeof(u));
	fill_rand(u + 8, sizeof(u) - 8);
	len = build6(p, NULL, 0, NH_UDP, u, sizeof(u));
	p[0] = 0x6b;				/* class 0xb9, label 0xabcde */
	p[1] = 0x9a;
	p[2] = 0xbc;
	p[3] = 0xde;
	p[R6_HOPS] = 17;
	fill_rand(p + len, 6);			/* padding */

	assert_int_equal(parse6(p, len + 6, false, &ip, &l4), 0);
	assert_false(inany_is_v4(&ip.src));
	assert_memory_equal(&ip.src.a6, &src, sizeof(src));
	assert_memory_equal(&ip.dst.a6, &dst, sizeof(dst));
	assert_int_equal(ip.proto, IPPROTO_UDP);
	assert_int_equal(ip.ttl, 17);
	assert_int_equal(ip.tos, 0xb9);
	assert_int_equal(ip.flowlabel, 0xabcde);
	assert_int_equal(ip.id, 0);
	assert_int_equal(ip.frag, 0);
	assert_false(ip.mf);
	assert_int_equal(ip.fraghdr, 0);
	assert_false(ip_is_fragment(&ip));
	assert_int_equal(ip.hdr.len, 40);
	assert_int_equal(ip.l4.len, 30);
	assert_int_equal(l4.proto, IPPROTO_UDP);
	assert_int_equal(l4.sport, 5353);
	assert_int_equal(l4.dport, 53);
	assert_int_equal(l4.hdr.len, 8);
	assert_int_equal(l4.data.len, 22);

	assert_int_equal(parse6(p, len, false, &ip, &l4), 0);
	assert_int_equal(ip.l4.len, 30);
	assert_int_equal(parse6(p, len - 1, false, &ip, &l4), -1);
}

/* TCP in IPv6, plain and after option headers: ports, numbers, flags,
 * the window scale of a SYN, the header with its options; a data offset
 * past the packet refused by l4_parse()
 */
static void test_ip6_tcp(void **state)
{
	static const struct ext opts[] = { HOP(8), DST(16) };
	uint8_t p[BUF], t[24 + 33];
	struct ip_view ip;
	struct l4_view l4;
	size_t len, n;

	(void)state;
	rng_seed(9293);
	for (n = 0; n <= ARRAY_SIZE(opts); n += ARRAY_SIZE(opts)) {
		tcp_build(t, 24, 40522, 443, 0x01020304, 0xa0b0c0d0, R_SYN);
		memcpy(t + 20, (uint8_t[]){ 3, 3, 7, 0 }, 4);
		fill_rand(t + 24, 33);
		len = build6(p, opts, n, NH_TCP, t, sizeof(t));
		assert_int_equal(parse6(p, len, false, &ip, &l4), 0);
		assert_int_equal(ip.proto, IPPROTO_TCP);
		assert_int_equal(ip.hdr.len, n ? 64 : 40);
		assert_int_equal(l4.proto, IPPROTO_TCP);
		assert_int_equal(l4.sport, 40522);
		assert_int_equal(l4.dport, 443);
		assert_int_equal(l4.seq, 0x01020304);
		assert_int_equal(l4.ack, 0xa0b0c0d0);
		assert_int_equal(l4.flags, R_SYN);
		assert_int_equal(l4.wscale, 7);
		assert_int_equal(l4.hdr.len, 24);
		assert_int_equal(l4.data.len, 33);

		p[len - sizeof(t) + R_TCP_DOFF] = 15 << 4;	/* 60 > 57 */
		assert_int_equal(parse6(p, len, false, &ip, &l4), L4_BAD);
	}
}

/* ICMPv6 (RFC 4443): type and code; an echo request's identifier as its
 * source port, a reply's as its destination port, as for ICMP; others
 * none; shorter than 8 bytes refused. ICMP in IPv6 and ICMPv6 in IPv4
 * aren't transport merd parses
 */
static void test_ip6_icmp6(void **state)
{
	static const uint8_t types[] = { 128, 129, 1, 2, 3, 4, 135, 136, 8, 0 };
	uint8_t p[BUF], m[20];
	struct ip_view ip;
	struct l4_view l4;
	size_t i, len;

	(void)state;
	rng_seed(4443);
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		icmp_build(m, types[i], 5, 0x4242, 0x0707);
		fill_rand(m + 8, 12);
		len = build6(p, NULL, 0, NH_ICMP6, m, sizeof(m));
		assert_int_equal(parse6(p, len, false, &ip, &l4), 0);
		assert_int_equal(l4.proto, IPPROTO_ICMPV6);
		assert_int_equal(l4.type, types[i]);
		assert_int_equal(l4.code, 5);
		assert_int_equal(l4.sport, types[i] == 128 ? 0x4242 : 0);
		assert_int_equal(l4.dport, types[i] == 129 ? 0x4242 : 0);
		assert_int_equal(l4.hdr.len, 8);
		assert_int_equal(l4.data.len, 12);
	}
	len = build6(p, NULL, 0, NH_ICMP6, m, 7);
	assert_int_equal(parse6(p, len, false, &ip, &l4), L4_BAD);
	icmp_build(m, 8, 0, 0x4242, 1);
	len = build6(p, NULL, 0, IPPROTO_ICMP, m, sizeof(m));
	assert_int_equal(parse6(p, len, false, &ip, &l4), L4_BAD);

	/* IPv4 as it was: ICMP parsed, ICMPv6 not */
	{
		struct pkt v = { p, 40 };

		ip_build(p, 20, 40, IPPROTO_ICMP, 0x0a2a0002, 0xc0000250, 1, 0,
			 64);
		icmp_build(p + 20, 8, 0, 0x4242, 1);
		assert_int_equal(ip4_parse(v, &ip), 0);
		assert_int_equal(l4_parse(&ip, &l4), 0);
		assert_int_equal(l4.sport, 0x4242);
		ip_build(p, 20, 40, IPPROTO_ICMPV6, 0x0a2a0002, 0xc0000250, 1,
			 0, 64);
		icmp_build(p + 20, 128, 0, 0x4242, 1);
		assert_int_equal(ip4_parse(v, &ip), 0);
		assert_int_equal(l4_parse(&ip, &l4), -1);
		assert_int_equal(ip4_parse_quote(v, &ip), 0);
		assert_int_equal(l4_parse_quote(&ip, &l4), -1);
	}
}

/* A chain of option and routing headers (RFC 8200 4.1): walked to the
 * transport header, all of them in the header. Cut anywhere by the payload
 * length, with or without the bytes after it: refused inside an extension
 * header (a payload length below the headers), else the transport header
 * refused if it isn't whole
 */
static void test_ip6_ext_chain(void **state)
{
	static const struct ext chain[] = { HOP(8), DST(16), RT(4, 0, 24),
					    DST(8) };
	uint8_t p[BUF], u[18];
	struct ip_view ip;
	struct l4_view l4;
	size_t len, cut;

	(void)state;
	rng_seed(4);
	udp_build(u, 1000, 2000, sizeof(u));
	fill_rand(u + 8, 10);
	len = build6(p, chain, ARRAY_SIZE(chain), NH_UDP, u, sizeof(u));
	assert_int_equal(parse6(p, len, false, &ip, &l4), 0);
	assert_int_equal(ip.proto, IPPROTO_UDP);
	assert_int_equal(ip.hdr.len, 40 + 56);
	assert_int_equal(ip.l4.len, 18);
	assert_int_equal(ip.fraghdr, 0);
	assert_false(ip_is_fragment(&ip));
	assert_int_equal(l4.sport, 1000);
	assert_int_equal(l4.dport, 2000);
	assert_int_equal(l4.data.len, 10);

	for (cut = 40; cut < len; cut++) {
		int want = cut < 96 ? -1 : L4_BAD;

		put16(p + R6_PLEN, (uint16_t)(cut - 40));
		assert_int_equal(parse6(p, cut, false, &ip, &l4), want);
		assert_int_equal(parse6(p, len, false, &ip, &l4), want);
	}
}

/* A first fragment (RFC 8200 4.5): its identification, all 32 bits, "more
 * fragments", offset 0, where the fragment header is; the headers after it
 * walked too, the transport header parsed. An atomic fragment (RFC 6946):
 * the same, but no fragment. The reserved fields are ignored; a fragment
 * header not whole, or a second one, refused
 */
static void test_ip6_frag_first(void **state)
{
	static const struct ext first[] = { HOP(8), FRAG(0, true, 0xdeadbeef),
					    DST(8) };
	static const struct ext atomic[] = { FRAG(0, false, 0x80000001) };
	static const struct ext twice[] = { FRAG(0, true, 1), FRAG(0, true, 1) };
	uint8_t p[BUF], t[120];
	struct ip_view ip;
	struct l4_view l4;
	size_t len;

	(void)state;
	rng_seed(44);
	tcp_build(t, 20, 33000, 80, 1, 2, R_ACK);
	fill_rand(t + 20, 100);
	len = build6(p, first, ARRAY_SIZE(first), NH_TCP, t, sizeof(t));
	assert_int_equal(parse6(p, len, false, &ip, &l4), 0);
	assert_int_equal(ip.id, 0xdeadbeef);
	assert_true(ip.mf);
	assert_int_equal(ip.frag, 0);
	assert_true(ip_is_fragment(&ip));
	assert_int_equal(ip.fraghdr, 48);
	assert_int_equal(ip.proto, IPPROTO_TCP);
	assert_int_equal(ip.hdr.len, 64);
	assert_int_equal(ip.l4.len, 120);
	assert_int_equal(l4.sport, 33000);
	assert_int_equal(l4.dport, 80);

	p[48 + 1] = 0xff;			/* reserved */
	p[48 + 3] |= 0x06;			/* Res */
	assert_int_equal(parse6(p, len, false, &ip, &l4), 0);
	assert_int_equal(ip.frag, 0);
	assert_true(ip.mf);
	assert_int_equal(ip.id, 0xdeadbeef);

	len = build6(p, atomic, 1, NH_UDP, t, 8);
	udp_build(p + 48, 1, 2, 8);
	assert_int_equal(parse6(p, len, false, &ip, &l4), 0);
	assert_false(ip_is_fragment(&ip));
	assert_int_equal(ip.fraghdr, 40);
	assert_int_equal(ip.id, 0x80000001);
	assert_int_equal(ip.proto, IPPROTO_UDP);
	assert_int_equal(ip.hdr.len, 48);

	put16(p + R6_PLEN, 7);			/* 7 bytes of it */
	assert_int_equal(parse6(p, 47, false, &ip, NULL), -1);
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);

	len = build6(p, twice, 2, NH_UDP, t, 8);
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
}

/* Later fragments: offset in bytes, "more fragments" or not, the headers
 * up to the fragment header in the header, all the fragment data in the
 * payload, the next header the protocol, whatever the data looks like: it
 * isn't walked, even if it would be malformed, or unsafe, as headers
 */
static void test_ip6_frag_later(void **state)
{
	static const struct ext mid[] = { HOP(8), DST(8),
					  FRAG(1448, true, 0xfedcba98) };
	static const struct ext last[] = { FRAG(65528, false, 7) };
	static const uint8_t next[] = { NH_DST, NH_RT, NH_FRAG, NH_HOP };
	uint8_t p[BUF], d[200];
	struct ip_view ip;
	size_t len, i;

	(void)state;
	rng_seed(1448);
	fill_rand(d, sizeof(d));
	len = build6(p, mid, ARRAY_SIZE(mid), NH_UDP, d, sizeof(d));
	assert_int_equal(parse6(p, len, false, &ip, NULL), 0);
	assert_int_equal(ip.proto, IPPROTO_UDP);
	assert_int_equal(ip.frag, 1448);
	assert_true(ip.mf);
	assert_int_equal(ip.id, 0xfedcba98);
	assert_int_equal(ip.fraghdr, 56);
	assert_int_equal(ip.hdr.len, 64);
	assert_int_equal(ip.l4.len, 200);

	d[1] = 0xff;			/* as a header: 2048 bytes */
	d[2] = 0;			/* as a routing header: type 0 */
	d[3] = 1;
	for (i = 0; i < ARRAY_SIZE(next); i++) {
		len = build6(p, last, 1, next[i], d, sizeof(d));
		assert_int_equal(parse6(p, len, false, &ip, NULL), 0);
		assert_int_equal(ip.proto, next[i]);
		assert_int_equal(ip.frag, 65528);
		assert_false(ip.mf);
		assert_true(ip_is_fragment(&ip));
		assert_int_equal(ip.id, 7);
		assert_int_equal(ip.fraghdr, 40);
		assert_int_equal(ip.hdr.len, 48);
		assert_int_equal(ip.l4.len, 200);
	}
}

/* Routing headers (RFC 8200 4.4): one with no segments left is ignored and
 * walked over, whatever its type but 0 (RFC 5095 3: never processed);
 * with segments left, merd isn't where the packet is going: unsafe. Not
 * whole: malformed, whatever the type
 */
static void test_ip6_routing(void **state)
{
	static const struct {
		uint8_t type, segleft;
		int ret;
	} t[] = {
		{ 0, 0, IP6_E_UNSAFE }, { 0, 1, IP6_E_UNSAFE },
		{ 0, 255, IP6_E_UNSAFE }, { 2, 0, 0 }, { 2, 1, IP6_E_UNSAFE },
		{ 3, 0, 0 }, { 4, 0, 0 }, { 4, 3, IP6_E_UNSAFE },
		{ 253, 0, 0 }, { 253, 1, IP6_E_UNSAFE },
	};
	struct in6_addr src = a6(SRC6);
	uint8_t p[BUF], u[8];
	struct ip_view ip;
	struct l4_view l4;
	size_t i, len;
	bool quote;

	(void)state;
	rng_seed(5095);
	udp_build(u, 7, 9, sizeof(u));
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		const struct ext e[] = { HOP(8),
					 RT(t[i].type, t[i].segleft, 24) };

		len = build6(p, e, 2, NH_UDP, u, sizeof(u));
		for (quote = false; ; quote = true) {
			int ret = parse6(p, len, quote, &ip, &l4);

			assert_int_equal(ret, t[i].ret);
			if (ret) {	/* the fixed header, for a trace */
				assert_int_equal(ip.family, AF_INET6);
				assert_memory_equal(&ip.src.a6, &src, 16);
			} else {
				assert_int_equal(ip.proto, IPPROTO_UDP);
				assert_int_equal(ip.hdr.len, 72);
				assert_int_equal(l4.sport, 7);
			}
			if (quote)
				break;
		}

		put16(p + R6_PLEN, 8 + 23);
		assert_int_equal(parse6(p, len - 9, false, &ip, NULL), -1);
		assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
		put16(p + R6_PLEN, 8 + 3);
		assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
	}
}

/* Up to IP6_EXT_MAX (8) extension headers walked, whatever their kinds; a
 * ninth is unsafe (merd doesn't look further), even if what follows is
 * malformed
 */
static void test_ip6_ext_max(void **state)
{
	struct ext e[10] = { HOP(8) };
	uint8_t p[BUF], u[8];
	struct ip_view ip;
	struct l4_view l4;
	size_t n, i, len;

	(void)state;
	rng_seed(8);
	udp_build(u, 7, 9, sizeof(u));
	for (i = 1; i < ARRAY_SIZE(e); i++)
		e[i] = (struct ext)DST(8 * i);
	for (n = 1; n <= 9; n++) {
		size_t hlen = 40;

		for (i = 0; i < n; i++)
			hlen += e[i].len;
		len = build6(p, e, n, NH_UDP, u, sizeof(u));
		if (n <= 8) {
			assert_int_equal(parse6(p, len, false, &ip, &l4), 0);
			assert_int_equal(ip.hdr.len, hlen);
			assert_int_equal(l4.sport, 7);
		} else {
			assert_int_equal(parse6(p, len, false, &ip, &l4),
					 IP6_E_UNSAFE);
			assert_int_equal(parse6(p, len, true, &ip, &l4),
					 IP6_E_UNSAFE);
			put16(p + R6_PLEN, (uint16_t)(hlen - 40 - 1));
			assert_int_equal(parse6(p, len, false, &ip, &l4),
					 IP6_E_UNSAFE);
		}
	}

	/* A fragment header counts */
	e[3] = (struct ext)FRAG(0, true, 3);
	len = build6(p, e, 8, NH_UDP, u, sizeof(u));
	assert_int_equal(parse6(p, len, false, &ip, &l4), 0);
	assert_int_equal(ip.fraghdr, 40 + 8 + 8 + 16);
	len = build6(p, e, 9, NH_UDP, u, sizeof(u));
	assert_int_equal(parse6(p, len, false, &ip, &l4), IP6_E_UNSAFE);
}

/* Malformed IPv6: less than the fixed header, another version (an IPv4
 * packet), a payload length of 0 (a jumbogram, RFC 2675) or past the data,
 * hop-by-hop options anywhere but first (RFC 8200 4.1), an extension
 * header cut short, or whose length runs past the payload, even with bytes
 * after it (padding); each refused
 */
static void test_ip6_malformed(void **state)
{
	static const struct ext hop_second[] = { DST(8), HOP(8) };
	static const struct ext hop_twice[] = { HOP(8), HOP(8) };
	static const struct ext hop16[] = { HOP(16) };
	static const uint8_t versions[] = { 0, 4, 5, 7, 15 };
	uint8_t p[BUF], u[8];
	struct ip_view ip;
	size_t n, len, i;

	(void)state;
	rng_seed(1);
	udp_build(u, 7, 9, sizeof(u));
	len = build6(p, NULL, 0, NH_UDP, u, sizeof(u));
	assert_int_equal(parse6(p, len, false, &ip, NULL), 0);
	for (n = 0; n < 40; n++) {
		assert_int_equal(parse6(p, n, false, &ip, NULL), -1);
		assert_int_equal(parse6(p, n, true, &ip, NULL), -1);
	}
	for (i = 0; i < ARRAY_SIZE(versions); i++) {
		p[0] = (uint8_t)(versions[i] << 4);
		assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
		assert_int_equal(parse6(p, len, true, &ip, NULL), -1);
	}
	ip_build(p, 20, 48, IPPROTO_UDP, 0x0a2a0002, 0xc0000250, 1, 0, 64);
	assert_int_equal(parse6(p, 48, false, &ip, NULL), -1);

	len = build6(p, NULL, 0, NH_UDP, u, sizeof(u));
	put16(p + R6_PLEN, 0);
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
	assert_int_equal(parse6(p, len, true, &ip, NULL), -1);
	p[R6_NH] = NH_NONE;
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
	put16(p + R6_PLEN, 9);
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
	put16(p + R6_PLEN, 0xffff);
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);

	len = build6(p, hop_second, 2, NH_UDP, u, sizeof(u));
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
	len = build6(p, hop_twice, 2, NH_UDP, u, sizeof(u));
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);

	/* Cut short: one byte of it, half of it, all but a byte */
	len = build6(p, hop16, 1, NH_UDP, u, sizeof(u));
	for (n = 1; n < 16; n += 7) {
		put16(p + R6_PLEN, (uint16_t)n);
		assert_int_equal(parse6(p, 40 + n, false, &ip, NULL), -1);
		assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
	}

	/* Its length past the payload */
	len = build6(p, hop16, 1, NH_UDP, u, sizeof(u));
	p[41] = 2;					/* 24 bytes */
	assert_int_equal(parse6(p, len, false, &ip, NULL), 0);	/* 24 fit */
	assert_int_equal(ip.hdr.len, 64);
	p[41] = 3;
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
	assert_int_equal(parse6(p, len + 16, false, &ip, NULL), -1);
	assert_int_equal(parse6(p, len, true, &ip, NULL), -1);
	assert_int_equal(parse6(p, len + 16, true, &ip, NULL), -1);
	p[41] = 0xff;
	assert_int_equal(parse6(p, len, false, &ip, NULL), -1);
}

/* Next header values that aren't extension headers merd walks: the
 * protocol, whatever it is (no next header, RFC 8200 4.7; ESP, AH,
 * Mobility, experimental); what follows in the payload, not looked at,
 * and not transport l4_parse() takes
 */
static void test_ip6_other_proto(void **state)
{
	static const uint8_t protos[] = { NH_NONE, NH_ESP, NH_AH, NH_MOBILITY,
					  253, 255 };
	static const struct ext dst[] = { DST(8) };
	uint8_t p[BUF], d[10];
	struct ip_view ip;
	struct l4_view l4;
	size_t i, n, len;

	(void)state;
	rng_seed(59);
	fill_rand(d, sizeof(d));
	d[1] = 0xff;
	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		for (n = 0; n <= 1; n++) {
			len = build6(p, dst, n, protos[i], d, sizeof(d));
			assert_int_equal(parse6(p, len, false, &ip, &l4),
					 L4_BAD);
			assert_int_equal(ip.proto, protos[i]);
			assert_int_equal(ip.hdr.len, 40 + 8 * n);
			assert_int_equal(ip.l4.len, sizeof(d));
		}
	}
	len = build6(p, dst, 1, NH_NONE, d, 0);
	assert_int_equal(parse6(p, len, false, &ip, NULL), 0);
	assert_int_equal(ip.l4.len, 0);
}

/* What an ICMPv6 error quotes (RFC 4443 2.4 (c)): the payload length may
 * run past the quote, the payload is what is there (up to the payload
 * length); the fixed and extension headers must be whole, and are checked
 * as ip6_parse() checks them. Ports of TCP and UDP, the identifier of an
 * echo request, from 8 bytes; fewer, an echo reply or another ICMPv6
 * message, ICMP, refused by l4_parse_quote()
 */
static void test_ip6_quote(void **state)
{
	static const struct ext chain[] = { HOP(8), FRAG(0, true, 0x1234567),
					    DST(16) };
	static const struct ext later[] = { FRAG(8, true, 1) };
	uint8_t p[BUF], t[1400];
	struct ip_view ip;
	struct l4_view l4;
	size_t len, cut;

	(void)state;
	rng_seed(1280);
	udp_build(t, 61002, 53, 1000);
	fill_rand(t + 8, 992);
	build6(p, NULL, 0, NH_UDP, t, 1000);
	assert_int_equal(parse6(p, 48, true, &ip, &l4), 0);
	assert_int_equal(ip.hdr.len, 40);
	assert_int_equal(ip.l4.len, 8);
	assert_int_equal(l4.sport, 61002);
	assert_int_equal(l4.dport, 53);
	assert_int_equal(l4.hdr.len, 8);
	assert_int_equal(parse6(p, 48, false, &ip, NULL), -1);
	assert_int_equal(parse6(p, 47, true, &ip, &l4), L4_BAD);
	assert_int_equal(ip.l4.len, 7);
	assert_int_equal(parse6(p, 40, true, &ip, &l4), L4_BAD);
	assert_int_equal(ip.l4.len, 0);

	/* Shorter than the quote: the payload length */
	put16(p + R6_PLEN, 12);
	assert_int_equal(parse6(p, 1040, true, &ip, &l4), 0);
	assert_int_equal(ip.l4.len, 12);
	put16(p + R6_PLEN, 0);
	assert_int_equal(parse6(p, 1040, true, &ip, &l4), -1);

	tcp_build(t, 20, 61001, 443, 1, 2, R_SYN);
	len = build6(p, chain, ARRAY_SIZE(chain), NH_TCP, t, sizeof(t));
	assert_int_equal(len, 40 + 32 + 1400);
	assert_int_equal(parse6(p, 80, true, &ip, &l4), 0);
	assert_int_equal(ip.proto, IPPROTO_TCP);
	assert_int_equal(ip.hdr.len, 72);
	assert_int_equal(ip.l4.len, 8);
	assert_int_equal(ip.fraghdr, 48);
	assert_int_equal(ip.id, 0x1234567);
	assert_true(ip.mf);
	assert_int_equal(l4.sport, 61001);
	assert_int_equal(l4.dport, 443);
	for (cut = 0; cut < 72; cut++)
		assert_int_equal(parse6(p, cut, true, &ip, NULL), -1);

	len = build6(p, later, 1, NH_TCP, t, 100);
	assert_int_equal(parse6(p, 60, true, &ip, NULL), 0);
	assert_int_equal(ip.frag, 8);
	assert_int_equal(ip.hdr.len, 48);
	assert_int_equal(ip.l4.len, 12);

	icmp_build(t, 128, 0, 61003, 9);
	build6(p, NULL, 0, NH_ICMP6, t, 64);
	assert_int_equal(parse6(p, 48, true, &ip, &l4), 0);
	assert_int_equal(l4.proto, IPPROTO_ICMPV6);
	assert_int_equal(l4.type, 128);
	assert_int_equal(l4.sport, 61003);
	assert_int_equal(l4.dport, 0);
	icmp_build(t, 129, 0, 61003, 9);
	build6(p, NULL, 0, NH_ICMP6, t, 64);
	assert_int_equal(parse6(p, 48, true, &ip, &l4), L4_BAD);
	icmp_build(t, 1, 4, 0, 0);
	build6(p, NULL, 0, NH_ICMP6, t, 64);
	assert_int_equal(parse6(p, 48, true, &ip, &l4), L4_BAD);
	icmp_build(t, 8, 0, 61003, 9);
	build6(p, NULL, 0, IPPROTO_ICMP, t, 64);
	assert_int_equal(parse6(p, 48, true, &ip, &l4), L4_BAD);
}

/* ip6_is_unicast(): no unspecified, loopback, IPv4-compatible or -mapped,
 * discard-only, ORCHID, link-local or multicast address; documentation,
 * unique local, site-local, NAT64 and global ones are; the edges of each
 * block
 */
static void test_ip6_unicast(void **state)
{
	static const struct {
		const char *a;
		bool unicast;
	} t[] = {
		{ "::", false }, { "::1", false }, { "::2", false },
		{ "::192.0.2.1", false }, { "::ffff:192.0.2.1", false },
		{ "::ffff:0:0", false }, { "::1:0:0", true },
		{ "::fffe:0:0", true }, { "0:0:0:1::", true },
		{ "100::", false }, { "100::ffff:ffff:ffff:ffff", false },
		{ "100:0:0:1::", true }, { "101::1", true },
		{ "2001:10::1", false }, { "2001:1f:ffff::1", false },
		{ "2001:f:ffff::1", true }, { "2001:20::1", true },
		{ "fe80::1", false }, { "febf:ffff::1", false },
		{ "fe7f::1", true }, { "fec0::1", true },
		{ "ff02::1", false }, { "ff0e::1", false }, { "ff00::", false },
		{ "feff::1", true }, { "2001:db8::1", true },
		{ "2001:db8:ffff::1", true }, { "fc00::1", true },
		{ "fd12:3456::1", true }, { "64:ff9b::192.0.2.1", true },
		{ "2a00:1450:4001::1", true }, { "2002:c000:201::1", true },
		{ "3fff::1", true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct in6_addr a = a6(t[i].a);

		if (ip6_is_unicast(&a) != t[i].unicast)
			fail_msg("ip6_is_unicast(%s) isn't %d", t[i].a,
				 t[i].unicast);
	}
}

/**
 * rand_packet() - a random chain of extension headers, some of them bad,
 *		   and a random payload
 * @p:		where, at least BUF bytes
 *
 * Return: its length, payload length right, before any damage
 */
static size_t rand_packet(uint8_t *p)
{
	static const uint8_t kinds[] = { NH_HOP, NH_DST, NH_RT, NH_FRAG };
	static const uint8_t protos[] = { NH_TCP, NH_UDP, NH_ICMP6, NH_NONE,
					  NH_HOP, NH_FRAG, NH_AH };
	struct ext e[11];
	uint8_t l4[200];
	size_t n = rng() % ARRAY_SIZE(e), i, l4len = rng() % sizeof(l4);

	for (i = 0; i < n; i++) {
		e[i] = (struct ext){ .nh = kinds[rng() % ARRAY_SIZE(kinds)],
				     .len = 8 * (1 + rng() % 4) };
		if (e[i].nh == NH_FRAG) {
			e[i].len = 8;
			e[i].off = (uint16_t)(rng() % 3 ? 0 : rng() & 0xfff8);
			e[i].mf = rng() % 2;
			e[i].id = rng();
		} else if (e[i].nh == NH_RT) {
			e[i].rtype = (uint8_t)(rng() % 5);
			e[i].segleft = (uint8_t)(rng() % 3 ? 0 : rng());
		}
	}
	fill_rand(l4, l4len);
	return build6(p, e, n, protos[rng() % ARRAY_SIZE(protos)], l4, l4len);
}

/* Random chains, damaged at random (bytes changed, payload length changed,
 * the packet cut): never a read outside the packet (AddressSanitizer),
 * every view as parse6() wants it, and a whole packet parses the same as a
 * quote of it
 */
static void test_ip6_random(void **state)
{
	uint8_t p[BUF];
	int i;

	(void)state;
	rng_seed(65535);
	for (i = 0; i < 50000; i++) {
		size_t len = rand_packet(p), k;
		struct ip_view ip, q;
		struct l4_view l4;
		int ret;

		for (k = rng() % 4; k; k--)
			p[rng() % len] = (uint8_t)rng();
		if (rng() % 4 == 0)
			put16(p + R6_PLEN, (uint16_t)(rng() % (len + 8)));
		if (rng() % 4 == 0)
			len = rng() % (len + 1);

		ret = parse6(p, len, false, &ip, NULL);
		assert_true(ret == 0 || ret == IP6_E_MALFORMED ||
			    ret == IP6_E_UNSAFE);
		if (!ret) {
			assert_int_equal(parse6(p, len, true, &q, NULL), 0);
			assert_int_equal(q.hdr.len, ip.hdr.len);
			assert_int_equal(q.l4.len, ip.l4.len);
			assert_int_equal(q.proto, ip.proto);
			assert_int_equal(q.fraghdr, ip.fraghdr);
			if (!ip.frag)
				parse6(p, len, false, &ip, &l4);
		} else {
			ret = parse6(p, len, true, &q, &l4);
			assert_true(ret <= 0 || ret == L4_BAD);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip6_fields),
		cmocka_unit_test(test_ip6_tcp),
		cmocka_unit_test(test_ip6_icmp6),
		cmocka_unit_test(test_ip6_ext_chain),
		cmocka_unit_test(test_ip6_frag_first),
		cmocka_unit_test(test_ip6_frag_later),
		cmocka_unit_test(test_ip6_routing),
		cmocka_unit_test(test_ip6_ext_max),
		cmocka_unit_test(test_ip6_malformed),
		cmocka_unit_test(test_ip6_other_proto),
		cmocka_unit_test(test_ip6_quote),
		cmocka_unit_test(test_ip6_unicast),
		cmocka_unit_test(test_ip6_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
