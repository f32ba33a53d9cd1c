// SPDX-License-Identifier: GPL-2.0-or-later
/* test_tcp.c - unit tests for tcp.c: resets for the guest, and GRO's large
 *		packets cut back into segments for it
 *
 * Copyright (c) 2026 merd authors
 *
 * tcp_rst() is given guest segments of every kind (exact-size buffers,
 * parsed as the data path parses them) and its answer is checked against
 * RFC 793 3.4 ("Reset Generation") as the test reads it: with ACK in the
 * segment, SEQ = SEG.ACK and no ACK; without, SEQ = 0 and ACK = SEG.SEQ +
 * SEG.LEN, SYN and FIN counting one each; never a reset for a reset.
 * tcp_to_guest() is given packets of up to 64 KiB, as a raw socket returns
 * them after GRO (checksum field meaningless), split into headers and
 * payload as fwd.c hands them over, and every segment it queues for the
 * guest is checked: it fits the MTU, its sequence number is the base plus
 * its offset, FIN and PSH ride on the last one only, CWR on the first
 * only, IP identification counts up, both checksums are right from scratch
 * (ref.h), and the payloads put together are the original. Both over
 * IPv6 too (ref6.h): resets from the guest's destination, checksum over
 * the pseudo-header; segments with the fixed header kept but its payload
 * length.
 */

#include "env6.h"
#include "tcp.h"

#define PEER		0xc0000250	/* 192.0.2.80 */
#define GPORT		40522
#define PPORT		443

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

/* segment() - a TCP packet from @src to @dst: header with @thl bytes
 * (options random), @payload bytes, checksums right, exact-size buffer
 */
static uint8_t *segment(uint32_t src, uint32_t dst, uint16_t sport,
			uint16_t dport, uint32_t seq, uint32_t ack,
			uint8_t flags, size_t thl, size_t payload, size_t *len)
{
	uint8_t *ip;

	*len = 20 + thl + payload;
	ip = malloc(*len);
	assert_non_null(ip);
	ip_build(ip, 20, *len, IPPROTO_TCP, src, dst, 0x7777, R_DF, 64);
	tcp_build(ip + 20, thl, sport, dport, seq, ack, flags);
	fill_rand(ip + 20 + thl, payload);
	ip_l4_csum_set(ip);
	return ip;
}

/* rst_for() - tcp_rst() for a guest segment, on the views the data path
 * makes of it (ip4_parse(), l4_parse())
 */
static void rst_for(struct env *e, const uint8_t *g, size_t len)
{
	struct ip_view ip;
	struct l4_view l4;

	parse_ok(g, len, &ip, &l4);
	tcp_rst(&e->c, &ip, &l4);
}

/**
 * struct rst_case - a guest segment and the reset it must draw
 * @flags:	the segment's flags
 * @seq:	its sequence number
 * @ack:	its acknowledgment number
 * @thl:	its header length
 * @payload:	its payload length
 * @rseq:	the reset's sequence number
 * @rack:	the reset's acknowledgment number
 * @rflags:	the reset's flags
 */
struct rst_case {
	uint8_t flags;
	uint32_t seq, ack;
	size_t thl, payload;
	uint32_t rseq, rack;
	uint8_t rflags;
};

/* check_rst() - the next frame is the reset @rc asks for */
static void check_rst(struct env *e, const struct rst_case *rc, uint16_t id)
{
	uint8_t ip[100];
	size_t len = ring_next(e, ip, sizeof(ip));
	const uint8_t *th = ip + 20;

	assert_int_equal(len, 40);
	assert_int_equal(ip[R_IP_VIHL], 0x45);
	assert_int_equal(get16(ip + R_IP_LEN), 40);
	assert_int_equal(get16(ip + R_IP_ID), id);
	assert_int_equal(ip[R_IP_PROTO], IPPROTO_TCP);
	assert_int_equal(get32(ip + R_IP_SRC), PEER);
	assert_int_equal(get32(ip + R_IP_DST), GUEST);
	assert_true(ip_csum_ok(ip));

	assert_int_equal(get16(th), PPORT);
	assert_int_equal(get16(th + 2), GPORT);
	assert_int_equal(get32(th + R_TCP_SEQ), rc->rseq);
	assert_int_equal(get32(th + R_TCP_ACK), rc->rack);
	assert_int_equal(th[R_TCP_DOFF], 5 << 4);
	assert_int_equal(th[R_TCP_FLAGS], rc->rflags);
	assert_int_equal(get16(th + R_TCP_WIN), 0);
	assert_int_equal(get16(th + 18), 0);
	assert_true(ip_l4_csum_ok(ip));
}

/* Guest segments with and without ACK, SYN and FIN counted, options not
 * counted, sequence numbers wrapping, and the resets they must draw
 */
static const struct rst_case rst_cases[] = {
	{ R_SYN, 1000, 0, 20, 0, 0, 1001, R_RST | R_ACK },
	{ R_SYN, 1000, 0, 40, 0, 0, 1001, R_RST | R_ACK },
	{ R_SYN, 1000, 0, 20, 10, 0, 1011, R_RST | R_ACK },
	{ R_SYN | R_FIN, 1000, 0, 20, 5, 0, 1007, R_RST | R_ACK },
	{ R_SYN, 0xffffffff, 0, 20, 0, 0, 0, R_RST | R_ACK },
	{ R_FIN, 0xfffffff0, 0, 24, 100, 0, 0x55, R_RST | R_ACK },
	{ R_PSH, 7, 0, 20, 50, 0, 57, R_RST | R_ACK },
	{ 0, 7, 0, 20, 0, 0, 7, R_RST | R_ACK },
	{ R_ACK, 1000, 0xabcdef01, 20, 0, 0xabcdef01, 0, R_RST },
	{ R_ACK | R_PSH, 1000, 5, 32, 1400, 5, 0, R_RST },
	{ R_ACK | R_FIN, 1000, 0, 20, 3, 0, 0, R_RST },
	{ R_SYN | R_ACK, 1000, 0xfffffffe, 20, 0, 0xfffffffe, 0, R_RST },
	{ R_ACK | R_URG | R_ECE | R_CWR, 1, 2, 20, 1, 2, 0, R_RST },
};

/* Resets for each of rst_cases[] */
static void test_rst(void **state)
{
	struct env *e = *state;
	size_t i;

	rng_seed(793);
	for (i = 0; i < ARRAY_SIZE(rst_cases); i++) {
		const struct rst_case *rc = &rst_cases[i];
		uint16_t id = e->c.fwd.ip_id;
		size_t len;
		uint8_t *g = segment(GUEST, PEER, GPORT, PPORT, rc->seq,
				     rc->ack, rc->flags, rc->thl, rc->payload,
				     &len);

		rst_for(e, g, len);
		check_rst(e, rc, id);
		assert_int_equal(e->c.fwd.ip_id, (uint16_t)(id + 1));
		assert_int_equal(e->c.tap.tx.used, 0);
		free(g);
	}
}

/* No reset for a reset, or to a source that names no single host; a
 * truncated segment doesn't get as far
 */
static void test_rst_none(void **state)
{
	static const uint8_t rst[] = { R_RST, R_RST | R_ACK, R_RST | R_SYN,
				       R_RST | R_FIN | R_ACK };
	static const char *const src[] = { "0.0.0.0", "127.0.0.1",
					   "224.0.0.5", "255.255.255.255" };
	struct env *e = *state;
	size_t i, len, cut;
	uint8_t *g;

	rng_seed(1122);
	for (i = 0; i < ARRAY_SIZE(rst); i++) {
		g = segment(GUEST, PEER, GPORT, PPORT, 1, 2, rst[i], 20, 0,
			    &len);
		rst_for(e, g, len);
		free(g);
	}
	for (i = 0; i < ARRAY_SIZE(src); i++) {
		g = segment(addr(src[i]), PEER, GPORT, PPORT, 1, 2, R_SYN, 20,
			    0, &len);
		rst_for(e, g, len);
		free(g);
	}
	/* Cut short of its TCP header: l4_parse() refuses it, so the data
	 * path never asks for a reset
	 */
	g = segment(GUEST, PEER, GPORT, PPORT, 1, 2, R_SYN, 20, 0, &len);
	for (cut = 20; cut < 40; cut++) {
		uint8_t *part = dup_exact(g, cut);
		struct ip_view ip;
		struct l4_view l4;

		put16(part + R_IP_LEN, (uint16_t)cut);
		ip_csum_set(part);
		parse_ok(part, cut, &ip, NULL);
		assert_int_equal(l4_parse(&ip, &l4), -1);
		free(part);
	}
	free(g);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ip_id, 0x1000);
}

/* big() - a packet from the peer as the raw socket returns it, ports and
 * addresses the guest's already: IPv4 header @ihl long, TCP header @thl,
 * @payload bytes, TCP checksum field garbage, aligned exact-size buffer
 */
static uint8_t *big(size_t ihl, size_t thl, size_t payload, uint8_t flags,
		    uint16_t id, uint32_t seq, size_t *len)
{
	uint8_t *ip;

	*len = ihl + thl + payload;
	ip = malloc(*len);
	assert_non_null(ip);
	ip_build(ip, ihl, *len, IPPROTO_TCP, PEER, GUEST, id, R_DF, 57);
	ip[R_IP_TOS] = 0x02;		/* ECT(0) */
	ip_csum_set(ip);
	tcp_build(ip + ihl, thl, PPORT, GPORT, seq, 0x01020304, flags);
	fill_rand(ip + ihl + thl, payload);
	put16(ip + ihl + R_TCP_CHECK, (uint16_t)rng());
	return ip;
}

/* gro_in() - tcp_to_guest() for a packet from the peer, as fwd.c calls it:
 * the IPv4 and TCP headers, as l4_parse() found them, then the payload
 *
 * Return: what tcp_to_guest() returned
 */
static int gro_in(struct env *e, const uint8_t *ip, size_t len)
{
	struct ip_view v;
	struct l4_view l4;
	struct pkt hdr = { ip, 0 };

	parse_ok(ip, len, &v, &l4);
	hdr.len = v.hdr.len + l4.hdr.len;
	return tcp_to_guest(&e->c, hdr, v.hdr.len, l4.data);
}

/* check_segments() - what tcp_to_guest() queued for @orig (returning
 * @count): segments that fit, cut at the MSS, numbered, flagged and
 * checksummed right, and together the original payload
 */
static void check_segments(struct env *e, const uint8_t *orig, size_t len,
			   int count)
{
	size_t ihl = ip_hlen(orig), thl = (orig[ihl + R_TCP_DOFF] >> 4) * 4;
	size_t hlen = ihl + thl, payload = len - hlen;
	size_t mss = e->c.link.mtu - hlen, off = 0;
	uint8_t flags = orig[ihl + R_TCP_FLAGS];
	static uint8_t ip[70000];
	int i;

	assert_int_equal(count, payload ? (payload + mss - 1) / mss : 1);
	for (i = 0; i < count; i++) {
		size_t n = ring_next(e, ip, sizeof(ip)), pl = n - hlen;
		const uint8_t *th = ip + ihl;
		uint8_t want = flags;
		bool last = i + 1 == count;

		assert_true(n >= hlen && n <= e->c.link.mtu);
		assert_int_equal(pl, last ? payload - off : mss);

		/* IPv4: length, identification counting up, checksum */
		assert_int_equal(get16(ip + R_IP_LEN), n);
		assert_int_equal(get16(ip + R_IP_ID),
				 (uint16_t)(get16(orig + R_IP_ID) + i));
		assert_true(ip_csum_ok(ip));
		assert_memory_equal(ip, orig, R_IP_LEN);
		assert_memory_equal(ip + R_IP_FRAG, orig + R_IP_FRAG, 4);
		assert_memory_equal(ip + R_IP_SRC, orig + R_IP_SRC, ihl - 12);

		/* TCP: sequence, flags, the rest as it was, checksum */
		assert_memory_equal(th, orig + ihl, R_TCP_SEQ);
		assert_int_equal(get32(th + R_TCP_SEQ),
				 (uint32_t)(get32(orig + ihl + R_TCP_SEQ) +
					    off));
		assert_memory_equal(th + R_TCP_ACK, orig + ihl + R_TCP_ACK, 5);
		if (!last)
			want &= (uint8_t)~(R_FIN | R_PSH);
		if (i)
			want &= (uint8_t)~R_CWR;
		assert_int_equal(th[R_TCP_FLAGS], want);
		assert_memory_equal(th + R_TCP_WIN, orig + ihl + R_TCP_WIN, 2);
		assert_memory_equal(th + 18, orig + ihl + 18, thl - 18);
		assert_true(ip_l4_csum_ok(ip));

		if (memcmp(ip + hlen, orig + hlen + off, pl))
			fail_msg("segment %d: payload differs", i);
		off += pl;
	}
	assert_int_equal(off, payload);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* A 64 KiB packet, every flag set, cut to common MTUs and odd ones */
static void test_gro_64k(void **state)
{
	static const unsigned int mtus[] = { 1500, 1280, 576, 68 + 52, 9000,
					     1499, 65520 };
	struct env *e = *state;
	size_t i, len;

	rng_seed(65535);
	for (i = 0; i < ARRAY_SIZE(mtus); i++) {
		uint8_t *ip = big(20, 32, 65535 - 52, R_FIN | R_PSH | R_ACK |
				  R_CWR | R_ECE | R_URG, 0x1234, 0xfffff000,
				  &len);
		int n;

		e->c.link.mtu = mtus[i];
		n = gro_in(e, ip, len);
		check_segments(e, ip, len, n);
		free(ip);
	}
}

/* Random sizes, MTUs, header lengths (IPv4 options too), flags, and an
 * identification about to wrap
 */
static void test_gro_random(void **state)
{
	struct env *e = *state;
	int i;

	rng_seed(3168);
	for (i = 0; i < 200; i++) {
		size_t ihl = rng() % 4 ? 20 : 20 + 4 * (rng() % 11);
		size_t thl = 20 + 4 * (rng() % 11), len;
		size_t payload = rng() % 4 ? rng() % 65000 : rng() % 3000;
		uint8_t *ip;
		int n;

		if (ihl + thl + payload > 65535)
			payload = 65535 - ihl - thl;
		e->c.link.mtu = (unsigned int)(ihl + thl +
						(rng() % 8 ? 100 : 1) +
						rng() % 9000);
		if (e->c.link.mtu < ihl + thl + 100)
			payload %= 2000;
		ip = big(ihl, thl, payload, (uint8_t)rng(),
			 (uint16_t)(rng() % 4 ? rng() : 0xfffe), rng(), &len);
		n = gro_in(e, ip, len);
		check_segments(e, ip, len, n);
		free(ip);
	}
}

/* No payload: one segment, every flag kept; exactly one MSS: one too */
static void test_gro_small(void **state)
{
	struct env *e = *state;
	uint8_t *ip;
	size_t len;

	rng_seed(1);
	ip = big(20, 20, 0, R_FIN | R_ACK | R_CWR, 9, 1, &len);
	assert_int_equal(gro_in(e, ip, len), 1);
	check_segments(e, ip, len, 1);
	free(ip);

	ip = big(20, 20, 1460, R_PSH | R_ACK | R_CWR, 9, 1, &len);
	assert_int_equal(gro_in(e, ip, len), 1);
	check_segments(e, ip, len, 1);
	free(ip);

	ip = big(20, 20, 1461, R_PSH | R_ACK | R_CWR, 9, 1, &len);
	assert_int_equal(gro_in(e, ip, len), 2);
	check_segments(e, ip, len, 2);
	free(ip);
}

/* Malformed headers don't get as far (l4_parse() refuses them); headers
 * longer than IPv4 and TCP allow, or an MTU with no room for payload:
 * nothing sent
 */
static void test_gro_malformed(void **state)
{
	struct env *e = *state;
	uint8_t *ip, *part, junk[60 + 60 + 1] = { 0 };
	struct pkt hdr = { junk, sizeof(junk) }, none = { NULL, 0 };
	struct ip_view v;
	struct l4_view l4;
	size_t len, cut;

	rng_seed(2);
	ip = big(20, 20, 100, R_ACK, 9, 1, &len);
	ip[20 + R_TCP_DOFF] = 4 << 4;			/* doff < 5 */
	parse_ok(ip, len, &v, NULL);
	assert_int_equal(l4_parse(&v, &l4), -1);
	ip[20 + R_TCP_DOFF] = 15 << 4;			/* past the end */
	part = dup_exact(ip, 20 + 59);
	put16(part + R_IP_LEN, 20 + 59);
	ip_csum_set(part);
	parse_ok(part, 20 + 59, &v, NULL);
	assert_int_equal(l4_parse(&v, &l4), -1);
	free(part);
	ip[20 + R_TCP_DOFF] = 5 << 4;
	for (cut = 20; cut < 40; cut++) {
		part = dup_exact(ip, cut);
		put16(part + R_IP_LEN, (uint16_t)cut);
		ip_csum_set(part);
		parse_ok(part, cut, &v, NULL);
		assert_int_equal(l4_parse(&v, &l4), -1);
		free(part);
	}

	assert_int_equal(tcp_to_guest(&e->c, hdr, 60, none), 0);
	e->c.link.mtu = 40;				/* headers only */
	assert_int_equal(gro_in(e, ip, len), 0);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(ip);
}

/* IPv6 */

#define GUEST6_LL	"fe80::5054:ff:fe12:3456"
#define PEER6		"2001:db8:80::50"

/* env6_setup() - cmocka fixture: a context (env.h), IPv6 served (env6.h) */
static int env6_setup(void **state)
{
	struct env *e = env_new();

	env6_on(e);
	*state = e;
	return 0;
}

/* segment6() - a TCP packet over IPv6 from @src to @dst, after @ext bytes
 * of destination options: header with @thl bytes (options random),
 * @payload bytes, checksum right, exact-size buffer
 */
static uint8_t *segment6(const char *src, const char *dst, uint32_t seq,
			 uint32_t ack, uint8_t flags, size_t thl, size_t ext,
			 size_t payload, size_t *len)
{
	struct flowpkt6 fp = {
		.proto = IPPROTO_TCP, .saddr = addr6(src), .daddr = addr6(dst),
		.sport = GPORT, .dport = PPORT, .hops = 64, .ext = ext,
		.payload = thl - 20 + payload,
	};
	uint8_t *ip = pkt6_build(&fp, len), *th = ip + R6_HLEN + ext;

	tcp_build(th, thl, GPORT, PPORT, seq, ack, flags);
	l6_csum_set(&fp.saddr, &fp.daddr, IPPROTO_TCP, th,
		    *len - R6_HLEN - ext);
	return ip;
}

/* rst6_for() - tcp_rst() for a guest IPv6 segment, on the views the data
 * path makes of it (ip6_parse(), l4_parse())
 */
static void rst6_for(struct env *e, const uint8_t *g, size_t len)
{
	struct ip_view ip;
	struct l4_view l4;

	parse6_ok(g, len, &ip, &l4);
	tcp_rst(&e->c, &ip, &l4);
}

/* check_rst6() - the next frame is the reset @rc asks for, over IPv6, for
 * the segment @g: from its destination to its source, hop limit 64,
 * checksum right over the pseudo-header
 */
static void check_rst6(struct env *e, const struct rst_case *rc,
		       const uint8_t *g)
{
	uint8_t ip[100];
	size_t len = ring_next6(e, ip, sizeof(ip));
	const uint8_t *th = ip + R6_HLEN;

	assert_int_equal(len, R6_HLEN + 20);
	assert_int_equal(get32(ip + R6_VTF), 6U << R6_VERSION_SHIFT);
	assert_int_equal(get16(ip + R6_PLEN), 20);
	assert_int_equal(ip[R6_NH], IPPROTO_TCP);
	assert_int_equal(ip[R6_HOPS], 64);
	assert_memory_equal(ip + R6_SRC, g + R6_DST, 16);
	assert_memory_equal(ip + R6_DST, g + R6_SRC, 16);

	assert_int_equal(get16(th), PPORT);
	assert_int_equal(get16(th + 2), GPORT);
	assert_int_equal(get32(th + R_TCP_SEQ), rc->rseq);
	assert_int_equal(get32(th + R_TCP_ACK), rc->rack);
	assert_int_equal(th[R_TCP_DOFF], 5 << 4);
	assert_int_equal(th[R_TCP_FLAGS], rc->rflags);
	assert_int_equal(get16(th + R_TCP_WIN), 0);
	assert_int_equal(get16(th + 18), 0);
	assert_true(ip6_l4_csum_ok(ip));
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* Resets over IPv6, as over IPv4 (rst_cases[]), behind extension headers
 * or not, to the guest's global address or its link-local one
 */
static void test_rst6(void **state)
{
	struct env *e = *state;
	size_t i, len;

	rng_seed(9293);
	for (i = 0; i < 2 * ARRAY_SIZE(rst_cases); i++) {
		const struct rst_case *rc =
			&rst_cases[i % ARRAY_SIZE(rst_cases)];
		uint8_t *g = segment6(i % 3 ? GUEST6 : GUEST6_LL, PEER6,
				      rc->seq, rc->ack, rc->flags, rc->thl,
				      8 * (i % 2), rc->payload, &len);

		rst6_for(e, g, len);
		check_rst6(e, rc, g);
		free(g);
	}
}

/* No reset for a reset, or to a source that names no single host */
static void test_rst6_none(void **state)
{
	static const uint8_t rst[] = { R_RST, R_RST | R_ACK, R_RST | R_SYN };
	static const char *const src[] = { "::", "::1", "ff02::1",
					   "ff0e::1:3" };
	struct env *e = *state;
	size_t i, len;
	uint8_t *g;

	rng_seed(1122);
	for (i = 0; i < ARRAY_SIZE(rst); i++) {
		g = segment6(GUEST6, PEER6, 1, 2, rst[i], 20, 0, 0, &len);
		rst6_for(e, g, len);
		free(g);
	}
	for (i = 0; i < ARRAY_SIZE(src); i++) {
		g = segment6(src[i], PEER6, 1, 2, R_SYN, 20, 0, 0, &len);
		rst6_for(e, g, len);
		free(g);
	}
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* big6() - a packet from the peer as the raw socket returns it over IPv6
 * (raw.c puts the fixed header back), addresses and ports the guest's
 * already: TCP header @thl, @payload bytes, TCP checksum garbage
 */
static uint8_t *big6(size_t thl, size_t payload, uint8_t flags,
		     uint32_t seq, size_t *len)
{
	struct in6_addr s = addr6(PEER6), d = addr6(GUEST6);
	uint8_t *ip;

	*len = R6_HLEN + thl + payload;
	ip = malloc(*len);
	assert_non_null(ip);
	ip6_build(ip, 0x02, 0xfedcb, *len - R6_HLEN, IPPROTO_TCP, 57, &s, &d);
	tcp_build(ip + R6_HLEN, thl, PPORT, GPORT, seq, 0x01020304, flags);
	fill_rand(ip + R6_HLEN + thl, payload);
	put16(ip + R6_HLEN + R_TCP_CHECK, (uint16_t)rng());
	return ip;
}

/* gro6_in() - tcp_to_guest() for an IPv6 packet from the peer, as fwd.c
 * calls it: the fixed and TCP headers, then the payload
 *
 * Return: what tcp_to_guest() returned
 */
static int gro6_in(struct env *e, const uint8_t *ip, size_t len)
{
	struct ip_view v;
	struct l4_view l4;
	struct pkt hdr = { ip, 0 };

	parse6_ok(ip, len, &v, &l4);
	hdr.len = R6_HLEN + l4.hdr.len;
	return tcp_to_guest(&e->c, hdr, R6_HLEN, l4.data);
}

/* check_segments6() - what tcp_to_guest() queued for the IPv6 packet
 * @orig (returning @count): segments that fit, cut at the MSS, the fixed
 * header as it was but for its payload length, sequence numbers and flags
 * as over IPv4, checksum right over the pseudo-header, together the
 * original payload
 */
static void check_segments6(struct env *e, const uint8_t *orig, size_t len,
			    int count)
{
	size_t thl = (orig[R6_HLEN + R_TCP_DOFF] >> 4) * 4;
	size_t hlen = R6_HLEN + thl, payload = len - hlen;
	size_t mss = e->c.link.mtu - hlen, off = 0;
	uint8_t flags = orig[R6_HLEN + R_TCP_FLAGS];
	static uint8_t ip[70000];
	int i;

	assert_int_equal(count, payload ? (payload + mss - 1) / mss : 1);
	for (i = 0; i < count; i++) {
		size_t n = ring_next6(e, ip, sizeof(ip)), pl = n - hlen;
		const uint8_t *th = ip + R6_HLEN, *oth = orig + R6_HLEN;
		uint8_t want = flags;
		bool last = i + 1 == count;

		assert_true(n >= hlen && n <= e->c.link.mtu);
		assert_int_equal(pl, last ? payload - off : mss);

		/* IPv6: all as it was but the payload length */
		assert_memory_equal(ip, orig, R6_PLEN);
		assert_int_equal(get16(ip + R6_PLEN), n - R6_HLEN);
		assert_memory_equal(ip + R6_NH, orig + R6_NH,
				    R6_HLEN - R6_NH);

		/* TCP: sequence, flags, the rest as it was, checksum */
		assert_memory_equal(th, oth, R_TCP_SEQ);
		assert_int_equal(get32(th + R_TCP_SEQ),
				 (uint32_t)(get32(oth + R_TCP_SEQ) + off));
		assert_memory_equal(th + R_TCP_ACK, oth + R_TCP_ACK, 5);
		if (!last)
			want &= (uint8_t)~(R_FIN | R_PSH);
		if (i)
			want &= (uint8_t)~R_CWR;
		assert_int_equal(th[R_TCP_FLAGS], want);
		assert_memory_equal(th + R_TCP_WIN, oth + R_TCP_WIN, 2);
		assert_memory_equal(th + 18, oth + 18, thl - 18);
		assert_true(ip6_l4_csum_ok(ip));

		if (memcmp(ip + hlen, orig + hlen + off, pl))
			fail_msg("segment %d: payload differs", i);
		off += pl;
	}
	assert_int_equal(off, payload);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* IPv6 packets of up to 64 KiB, random sizes, MTUs from IPv6's least on,
 * header lengths, flags; none at all, and exactly one MSS
 */
static void test_gro6(void **state)
{
	static const unsigned int mtus[] = { R6_MTU_MIN, 1500, 1499, 9000,
					     65520 };
	struct env *e = *state;
	uint8_t *ip;
	size_t len;
	int i;

	rng_seed(8200);
	for (i = 0; i < 150; i++) {
		size_t thl = 20 + 4 * (rng() % 11);
		size_t payload = i < 5 ? 65535 - thl :
				 rng() % 4 ? rng() % 65000 : rng() % 3000;
		int n;

		e->c.link.mtu = i < 5 ? mtus[i] :
				(unsigned int)(R6_MTU_MIN + rng() % 9000);
		ip = big6(thl, payload, (uint8_t)rng(), rng(), &len);
		n = gro6_in(e, ip, len);
		check_segments6(e, ip, len, n);
		free(ip);
	}

	e->c.link.mtu = 1500;
	ip = big6(20, 0, R_FIN | R_ACK | R_CWR, 1, &len);
	assert_int_equal(gro6_in(e, ip, len), 1);
	check_segments6(e, ip, len, 1);
	free(ip);
	ip = big6(20, 1500 - R6_HLEN - 20, R_PSH | R_ACK, 1, &len);
	assert_int_equal(gro6_in(e, ip, len), 1);
	check_segments6(e, ip, len, 1);
	free(ip);
	ip = big6(20, 1500 - R6_HLEN - 20 + 1, R_PSH | R_ACK, 1, &len);
	assert_int_equal(gro6_in(e, ip, len), 2);
	check_segments6(e, ip, len, 2);
	free(ip);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
#define T6(name) cmocka_unit_test_setup_teardown(name, env6_setup, \
						 env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_rst),
		T(test_rst_none),
		T(test_gro_64k),
		T(test_gro_random),
		T(test_gro_small),
		T(test_gro_malformed),
		T6(test_rst6),
		T6(test_rst6_none),
		T6(test_gro6),
	};
#undef T6
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
