// SPDX-License-Identifier: GPL-2.0-or-later
/* test_fwd.c - unit tests for fwd.c: which destinations the guest may
 *		reach, the rewriting of its packets on the way out, answers
 *		and ICMP errors from the network on the way back
 *
 * Copyright (c) 2026 merd authors
 *
 * The context (env.h) has a flow table, reassembly and scratch space set
 * up by hand, as fwd_init() would, but no raw socket and no port block:
 * flows are made with ct_alloc() and ct_insert() directly, both sides as
 * fwd.c fills them in, with the host ports the test picks (test_alloc.c
 * has merd pick them). A guest packet handed to fwd_from_guest() then
 * stops in the raw send batch (sent only when the batch is full), where
 * the test reads what merd would send. Packets from the network are handed
 * to fwd_from_host() in exact-size buffers, and what reaches the guest is
 * read out of the transmit ring. Everything is checked from scratch
 * (ref.h): addresses, ports, TTL, both checksums. ICMP errors are built
 * as a router would build them, quoting the packet merd really sent out,
 * so that their translation (icmp_error_in()) must give back the guest's
 * own packet, with its own header and transport checksums. TCP answers
 * acknowledge the guest's SYN, as the flow's window asks.
 *
 * The same over IPv6 (env6.h, ref6.h): hop limit, traffic class and flow
 * label, extension headers left out, the router address and its DNS
 * port, time exceeded and packet too big from the router address; the
 * guest's fragments going out as they came, after their first and its
 * flow only; answers cut into segments or into fragments of merd's own;
 * ICMPv6 errors translated, their checksum over the pseudo-header.
 */

#include <netinet/ip_icmp.h>

#include "conntrack.h"
#include "frag.h"
#include "fwd.h"
#include "icmp.h"
#include "env6.h"

#define PEER		0xc0000250	/* 192.0.2.80 */
#define ROUTER		0xcb007101	/* 203.0.113.1 */
#define LOOP		0x7f000001	/* 127.0.0.1 */
#define HPORT		61001

/* env_setup() - cmocka fixture: a context with flows, reassembly, scratch,
 * but no host port (no block claimed: a flow merd would have to start is
 * refused)
 */
static int env_setup(void **state)
{
	*state = env_fwd_new();
	return 0;
}

/* env_teardown() - cmocka fixture: release it all */
static int env_teardown(void **state)
{
	env_fwd_free(*state);
	return 0;
}

/* ip4_is_unicast(), ip4_is_loopback(): every first octet, and the edges */
static void test_unicast(void **state)
{
	static const struct {
		const char *a;
		bool unicast;
	} t[] = {
		{ "0.0.0.0", false }, { "0.255.255.255", false },
		{ "1.0.0.0", true }, { "10.42.0.2", true },
		{ "126.255.255.255", true }, { "127.0.0.0", false },
		{ "127.0.0.1", false }, { "127.255.255.255", false },
		{ "128.0.0.0", true }, { "169.254.1.1", true },
		{ "223.255.255.255", true }, { "224.0.0.0", false },
		{ "224.0.0.251", false }, { "239.255.255.255", false },
		{ "240.0.0.0", false }, { "255.255.255.254", false },
		{ "255.255.255.255", false },
	};
	unsigned int o;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++)
		assert_int_equal(ip4_is_unicast(htonl(addr(t[i].a))),
				 t[i].unicast);
	for (o = 0; o < 256; o++) {
		uint32_t a = o << 24 | 0x010203;

		assert_int_equal(ip4_is_unicast(htonl(a)),
				 o != 0 && o != 127 && o < 224);
		assert_int_equal(ip4_is_loopback(htonl(a)), o == 127);
	}
}

/* dst_model() - what fwd_dst_ok() must say, from its comment: unicast,
 * not link-local (RFC 3927), not the guest, not its subnet's broadcast
 * address (which /31 and /32 don't have, RFC 3021)
 */
static bool dst_model(uint32_t guest, int prefix, uint32_t d)
{
	uint64_t size = 1ULL << (32 - prefix);
	unsigned int o = d >> 24;

	if (o == 0 || o == 127 || o >= 224 || d == guest ||
	    (d >> 16) == 0xa9fe)
		return false;
	return !(prefix <= 30 && d / size == guest / size &&
		 d % size == size - 1);
}

/* dst_ok() - fwd_dst_ok() for a guest at @guest/@prefix */
static bool dst_ok(struct ctx *c, uint32_t guest, int prefix, uint32_t d)
{
	c->guest4.addr.s_addr = htonl(guest);
	c->guest4.prefix_len = prefix;
	return fwd_dst_ok(c, htonl(d));
}

/* The destinations of a guest at 10.42.0.2/24, one by one */
static void test_dst_table(void **state)
{
	static const struct {
		const char *a;
		bool ok;
	} t[] = {
		{ "192.0.2.80", true }, { "10.42.0.1", true },
		{ "10.42.0.3", true }, { "10.42.0.254", true },
		{ "10.42.0.0", true },		/* the network: not refused */
		{ "10.42.1.255", true },	/* another subnet's */
		{ "10.42.0.255", false }, { "10.42.0.2", false },
		{ "0.0.0.0", false }, { "0.1.2.3", false },
		{ "127.0.0.1", false }, { "127.1.2.3", false },
		{ "224.0.0.1", false }, { "239.1.2.3", false },
		{ "240.0.0.1", false }, { "255.255.255.255", false },
		{ "223.255.255.255", true }, { "1.1.1.1", true },
		{ "169.254.169.254", false }, { "169.254.0.0", false },
		{ "169.254.255.255", false }, { "169.253.255.255", true },
		{ "169.255.0.0", true },
	};
	struct env *e = *state;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++)
		if (dst_ok(&e->c, GUEST, 24, addr(t[i].a)) != t[i].ok)
			fail_msg("%s: %s", t[i].a, t[i].ok ? "refused" :
				 "allowed");
}

/* Every prefix length, /0 to /32, several guests: the subnet's broadcast
 * and its neighbours, the guest, random addresses near and far
 */
static void test_dst_prefixes(void **state)
{
	static const char *const guests[] = { "10.42.0.2", "10.0.0.0",
					      "10.0.0.1", "192.168.255.254",
					      "100.64.3.7", "1.0.0.1" };
	struct env *e = *state;
	size_t g;
	int prefix, i;

	rng_seed(3021);
	for (g = 0; g < ARRAY_SIZE(guests); g++) {
		uint32_t guest = addr(guests[g]);

		for (prefix = 0; prefix <= 32; prefix++) {
			uint32_t mask = prefix ? ~0U << (32 - prefix) : 0;
			uint32_t net = guest & mask, bc = net | ~mask;
			uint32_t d[] = { bc, bc - 1, bc + 1, net, net + 1,
					 guest, guest + 1, guest - 1,
					 guest ^ 1 };

			for (i = 0; i < (int)ARRAY_SIZE(d); i++)
				assert_int_equal(dst_ok(&e->c, guest, prefix,
							d[i]),
						 dst_model(guest, prefix,
							   d[i]));
			for (i = 0; i < 300; i++) {
				uint32_t r = rng();

				if (i % 2)	/* inside the subnet */
					r = net | (r & ~mask);
				if (i % 4 == 1)	/* near its broadcast */
					r |= ~mask & ~0xfU;
				assert_int_equal(dst_ok(&e->c, guest, prefix,
							r),
						 dst_model(guest, prefix, r));
			}
		}
		/* /31 and /32: no broadcast, the other address is fine */
		if ((guest & 1) == 0)
			assert_true(dst_ok(&e->c, guest, 31, guest + 1));
		assert_true(dst_ok(&e->c, guest, 32, guest | 0xff) ||
			    (guest | 0xff) == guest);
		assert_false(dst_ok(&e->c, guest, 30, (guest & ~3U) | 3));
	}
}

/* flow_add() - a flow as fwd_flow_new() would make it, with host port
 * @hport: the guest's side as it addressed the destination, the host's
 * from the host's address (its loopback, to the gateway, which is mapped)
 *
 * Return: flow number
 */
static uint32_t flow_add(struct ctx *c, uint8_t proto, uint16_t gport,
			 uint32_t daddr, uint16_t dport, uint16_t hport)
{
	bool mapped = daddr == GW;
	enum ct_state s = proto == IPPROTO_TCP ? CT_TCP_SYN_SENT :
			  proto == IPPROTO_UDP ? CT_UDP : CT_ICMP;
	uint32_t idx = ct_alloc(&c->fwd.ct);
	struct flow *f;

	assert_true(idx != FLOW_NONE);
	f = &c->fwd.ct.flows[idx];
	f->proto = proto;
	f->af = AF_INET;
	f->pif[INISIDE] = PIF_TAP;
	f->pif[TGTSIDE] = PIF_HOST;
	f->side[INISIDE].eaddr = v4(GUEST);
	f->side[INISIDE].oaddr = v4(daddr);
	f->side[INISIDE].eport = gport;
	f->side[INISIDE].oport = proto == IPPROTO_ICMP ? 0 : dport;
	f->side[TGTSIDE].eaddr = v4(mapped ? LOOP : daddr);
	f->side[TGTSIDE].oaddr = v4(mapped ? LOOP : HOST);
	f->side[TGTSIDE].eport = proto == IPPROTO_ICMP ? 0 : dport;
	f->side[TGTSIDE].oport = hport;
	ct_insert(&c->fwd.ct, idx, s, c->now);
	return idx;
}

/* from_guest() - hand fwd_from_guest() a copy of @g, parsed as merd.c
 * parses it
 */
static uint8_t *from_guest(struct env *e, const uint8_t *g, size_t len)
{
	uint8_t *b = dup_exact(g, len);
	struct ip_view ip;

	parse_ok(b, len, &ip, NULL);
	fwd_from_guest(&e->c, &ip);
	return b;
}

/* from_host() - hand fwd_from_host() @len bytes at @p, as raw.c would */
static void from_host(struct env *e, const uint8_t *p, size_t len)
{
	struct pkt v = { p, len };

	fwd_from_host(&e->c, v, 0);
}

/* take_out() - the one packet waiting in the raw send batch, to @dst as
 * given, put together from its pieces
 *
 * Return: its length
 */
static size_t take_out(struct env *e, uint8_t *h, uint32_t dst)
{
	const struct raw_out *o = &e->c.fwd.raw.out[0];
	size_t n0 = o->iov[0].iov_len, n1 = o->iov[1].iov_len;

	assert_int_equal(e->c.fwd.raw.nout, 1);
	assert_int_equal(o->dst.sin_family, AF_INET);
	assert_int_equal(ntohl(o->dst.sin_addr.s_addr), dst);
	memcpy(h, o->iov[0].iov_base, n0);
	memcpy(h + n0, o->iov[1].iov_base, n1);
	e->c.fwd.raw.nout = 0;
	return n0 + n1;
}

/**
 * struct trip - a flow, a guest packet of it, and what merd sent for it
 * @proto:	protocol
 * @daddr:	destination as the guest sees it
 * @g:		the guest's packet
 * @glen:	its length
 * @h:		merd's packet to the network
 * @hlen:	its length
 * @idx:	the flow
 */
struct trip {
	uint8_t proto;
	uint32_t daddr;
	uint8_t g[2000];
	size_t glen;
	uint8_t h[2000];
	size_t hlen;
	uint32_t idx;
};

/* trip_out() - a flow to @daddr with host port @hport, and a guest packet
 * of it with @payload bytes, through fwd_from_guest(): merd's packet must
 * leave from the host (its loopback if mapped) and host port, TTL one less
 * unless mapped, both checksums right, nothing else changed
 */
static void trip_out(struct env *e, struct trip *t, uint8_t proto,
		     uint32_t daddr, size_t payload, uint16_t hport)
{
	bool mapped = daddr == GW;
	struct flowpkt fp = {
		.proto = proto, .saddr = GUEST, .daddr = daddr,
		.sport = (uint16_t)(1024 + rng() % 60000),
		.dport = (uint16_t)(1 + rng() % 65535), .ttl = 64,
		.frag = R_DF, .id = (uint16_t)rng(), .flags = R_SYN,
		.payload = payload,
	};
	size_t hl = 20 + l4_hlen(proto), po = proto == IPPROTO_ICMP ? 4 : 0;
	uint8_t *p = pkt_build(&fp, &t->glen), *b;
	const struct raw_out *o = &e->c.fwd.raw.out[0];

	assert_true(t->glen <= sizeof(t->g));
	memcpy(t->g, p, t->glen);
	free(p);
	t->proto = proto;
	t->daddr = daddr;
	t->idx = flow_add(&e->c, proto, fp.sport, daddr, fp.dport, hport);

	b = from_guest(e, t->g, t->glen);
	assert_int_equal(e->c.tap.tx.used, 0);
	t->hlen = take_out(e, t->h, mapped ? LOOP : daddr);
	free(b);

	assert_int_equal(t->hlen, t->glen);
	assert_true(ip_csum_ok(t->h));
	assert_true(ip_l4_csum_ok(t->h));
	assert_int_equal(get32(t->h + R_IP_SRC), mapped ? LOOP : HOST);
	assert_int_equal(get32(t->h + R_IP_DST), mapped ? LOOP : daddr);
	assert_int_equal(t->h[R_IP_TTL], mapped ? 64 : 63);
	assert_int_equal(get16(t->h + 20 + po), hport);
	assert_memory_equal(t->h, t->g, R_IP_TTL);
	assert_int_equal(t->h[R_IP_PROTO], proto);
	if (proto != IPPROTO_ICMP)
		assert_memory_equal(t->h + 22, t->g + 22, 2);
	assert_memory_equal(t->h + hl, t->g + hl, t->glen - hl);
	/* The guest's own header and 8 bytes, kept for an error */
	assert_int_equal(o->quote_len, 28);
	assert_memory_equal(o->quote, t->g, 28);
}

/* Guest packets of each protocol leave rewritten, checksums right; to the
 * gateway, they go to the host's loopback, TTL untouched
 */
static void test_out(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	static const uint32_t dsts[] = { PEER, GW, 0x08080808, 0xdfffffff };
	struct env *e = *state;
	struct trip t = { 0 };
	size_t i, k, n = 0;

	rng_seed(1624);
	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		for (k = 0; k < 4 * ARRAY_SIZE(dsts); k++) {
			trip_out(e, &t, protos[i], dsts[k % ARRAY_SIZE(dsts)],
				 rng() % 1400, (uint16_t)(HPORT + n));
			assert_int_equal(e->c.fwd.ct.count, ++n);
		}
	}
}

/* A UDP datagram without checksum leaves without one */
static void test_out_udp_no_checksum(void **state)
{
	struct env *e = *state;
	struct flowpkt fp = {
		.proto = IPPROTO_UDP, .saddr = GUEST, .daddr = PEER,
		.sport = 5000, .dport = 53, .ttl = 64, .payload = 33,
	};
	uint8_t h[200], *g, *b;
	size_t len;

	rng_seed(768);
	g = pkt_build(&fp, &len);
	put16(g + 20 + R_UDP_CHECK, 0);
	flow_add(&e->c, IPPROTO_UDP, 5000, PEER, 53, HPORT);
	b = from_guest(e, g, len);
	assert_int_equal(take_out(e, h, PEER), len);
	assert_int_equal(get16(h + 20 + R_UDP_CHECK), 0);
	assert_int_equal(get16(h + 20), HPORT);
	assert_true(ip_csum_ok(h));
	free(b);
	free(g);
}

/* check_quote_error() - the next frame for the guest is an ICMP error of
 * @type and @code from @src, quoting @g from its start
 */
static void check_quote_error(struct env *e, const uint8_t *g, size_t glen,
			      uint8_t type, uint8_t code, uint16_t mtu,
			      uint32_t src)
{
	static uint8_t ip[2000];
	size_t len = ring_next(e, ip, sizeof(ip));
	size_t quote = MIN(glen, (size_t)ICMP_ERROR_MAX - 28);

	assert_int_equal(len, 28 + quote);
	assert_true(ip_csum_ok(ip));
	assert_int_equal(get32(ip + R_IP_SRC), src);
	assert_int_equal(get32(ip + R_IP_DST), GUEST);
	assert_int_equal(ip[20], type);
	assert_int_equal(ip[21], code);
	assert_int_equal(get16(ip + 26), mtu);
	assert_true(l4_csum_ok(0, 0, IPPROTO_ICMP, ip + 20, len - 20));
	assert_memory_equal(ip + 28, g, quote);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* TTL 1 (or 0) runs out at merd: time exceeded from the gateway; to the
 * gateway itself (the host), it doesn't
 */
static void test_ttl_exceeded(void **state)
{
	struct env *e = *state;
	struct flowpkt fp = {
		.proto = IPPROTO_UDP, .saddr = GUEST, .daddr = PEER,
		.sport = 33434, .dport = 33435, .ttl = 1, .payload = 12,
	};
	uint8_t h[200], *g, *b;
	size_t len;

	rng_seed(1812);
	flow_add(&e->c, IPPROTO_UDP, 33434, PEER, 33435, HPORT);
	flow_add(&e->c, IPPROTO_UDP, 33434, GW, 33435, HPORT + 1);
	for (fp.ttl = 0; fp.ttl <= 1; fp.ttl++) {
		g = pkt_build(&fp, &len);
		b = from_guest(e, g, len);
		assert_int_equal(e->c.fwd.raw.nout, 0);
		check_quote_error(e, g, len, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL,
				  0, GW);
		free(b);
		free(g);
	}

	fp.daddr = GW;
	fp.ttl = 1;
	g = pkt_build(&fp, &len);
	b = from_guest(e, g, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(take_out(e, h, LOOP), len);
	assert_int_equal(h[R_IP_TTL], 1);
	free(b);
	free(g);
}

/* Too large for the uplink, DF set: fragmentation needed with the
 * uplink's MTU, from the gateway; nothing sent. (SYNs with data: before
 * the peer's SYN-ACK, the flow's window takes nothing else)
 */
static void test_frag_needed(void **state)
{
	struct env *e = *state;
	struct flowpkt fp = {
		.proto = IPPROTO_TCP, .saddr = GUEST, .daddr = PEER,
		.sport = 40000, .dport = 443, .ttl = 64, .frag = R_DF,
		.flags = R_SYN, .payload = 1461,
	};
	uint8_t h[2000], *g, *b;
	size_t len;

	rng_seed(1191);
	flow_add(&e->c, IPPROTO_TCP, 40000, PEER, 443, HPORT);
	g = pkt_build(&fp, &len);
	assert_int_equal(len, 1501);
	b = from_guest(e, g, len);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	check_quote_error(e, g, len, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
			  1500, GW);
	free(b);
	free(g);

	/* One byte less fits */
	fp.payload = 1460;
	g = pkt_build(&fp, &len);
	b = from_guest(e, g, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(take_out(e, h, PEER), 1500);
	free(b);
	free(g);
}

/* expect_dropped() - fwd_from_guest() sends nothing, tells nothing */
static void expect_dropped(struct env *e, const uint8_t *g, size_t len)
{
	uint8_t *b = from_guest(e, g, len);

	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(b);
}

/* Destinations refused, IPv4 options, protocols and ICMP types that
 * aren't forwarded, port 0: dropped without a word
 */
static void test_dropped(void **state)
{
	static const char *const dsts[] = { "224.0.0.251", "10.42.0.255",
					    "10.42.0.2", "127.0.0.1",
					    "0.0.0.0", "255.255.255.255",
					    "240.1.1.1" };
	struct env *e = *state;
	struct flowpkt fp = {
		.proto = IPPROTO_UDP, .saddr = GUEST, .daddr = PEER,
		.sport = 5353, .dport = 5353, .ttl = 64, .payload = 20,
	};
	uint8_t *g;
	size_t i, len;

	rng_seed(1);
	for (i = 0; i < ARRAY_SIZE(dsts); i++) {
		fp.daddr = addr(dsts[i]);
		flow_add(&e->c, IPPROTO_UDP, 5353, fp.daddr, 5353,
			 (uint16_t)(HPORT + i));
		g = pkt_build(&fp, &len);
		expect_dropped(e, g, len);
		free(g);
	}
	fp.daddr = PEER;
	flow_add(&e->c, IPPROTO_UDP, 5353, PEER, 5353, HPORT + 100);

	/* With options: the same datagram behind a 24-byte header */
	{
		uint8_t *p = pkt_build(&fp, &len);

		g = malloc(len + 4);
		assert_non_null(g);
		ip_build(g, 24, len + 4, IPPROTO_UDP, GUEST, PEER, 1, 0, 64);
		memcpy(g + 24, p + 20, len - 20);
		free(p);
	}
	expect_dropped(e, g, len + 4);
	free(g);

	/* GRE; ICMP echo reply; port 0 */
	g = pkt_build(&fp, &len);
	g[R_IP_PROTO] = 47;
	ip_csum_set(g);
	expect_dropped(e, g, len);
	free(g);
	fp.proto = IPPROTO_ICMP;
	g = pkt_build(&fp, &len);
	g[20] = ICMP_ECHOREPLY;
	l4_csum_set(0, 0, IPPROTO_ICMP, g + 20, len - 20);
	expect_dropped(e, g, len);
	free(g);
	fp.proto = IPPROTO_UDP;
	fp.dport = 0;
	g = pkt_build(&fp, &len);
	expect_dropped(e, g, len);
	free(g);
}

/* A TCP segment other than a SYN, for no flow: a reset, as the peer would
 * answer; nothing sent out
 */
static void test_no_flow_reset(void **state)
{
	struct env *e = *state;
	struct flowpkt fp = {
		.proto = IPPROTO_TCP, .saddr = GUEST, .daddr = PEER,
		.sport = 40000, .dport = 443, .ttl = 64, .flags = R_ACK,
		.payload = 10,
	};
	uint8_t ip[100], *g, *b;
	size_t len;

	rng_seed(793);
	g = pkt_build(&fp, &len);
	b = from_guest(e, g, len);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(ring_next(e, ip, sizeof(ip)), 40);
	assert_int_equal(ip[20 + R_TCP_FLAGS], R_RST);
	assert_int_equal(get32(ip + 20 + R_TCP_SEQ),
			 get32(g + 20 + R_TCP_ACK));
	assert_true(ip_l4_csum_ok(ip));
	assert_int_equal(e->c.fwd.ct.count, 0);
	free(b);
	free(g);
}

/* A fragmented guest datagram is reassembled, rewritten whole and sent
 * at once (the reassembly buffer is reused afterwards). Without a socket
 * the send fails and the batch is emptied; its last entry still tells
 * what was sent, from the reassembly buffer, untouched since
 */
static void test_out_reassembled(void **state)
{
	struct env *e = *state;
	struct flowpkt fp = {
		.proto = IPPROTO_UDP, .saddr = GUEST, .daddr = PEER,
		.sport = 7000, .dport = 7001, .ttl = 64, .id = 0x3333,
		.payload = 1000,
	};
	const struct raw_out *o = &e->c.fwd.raw.out[0];
	static uint8_t h[2000];
	uint8_t *g, *f, *b;
	size_t len, off;

	rng_seed(815);
	flow_add(&e->c, IPPROTO_UDP, 7000, PEER, 7001, HPORT);
	g = pkt_build(&fp, &len);
	for (off = 0; off < len - 20; off += 512) {
		size_t n = MIN((size_t)512, len - 20 - off);

		f = malloc(20 + n);
		assert_non_null(f);
		ip_build(f, 20, 20 + n, IPPROTO_UDP, GUEST, PEER, 0x3333,
			 (uint16_t)((off + n < len - 20 ? R_MF : 0) | off / 8),
			 64);
		memcpy(f + 20, g + 20 + off, n);
		memset(&e->c.fwd.raw.out[0], 0, sizeof(e->c.fwd.raw.out[0]));
		b = from_guest(e, f, 20 + n);
		assert_int_equal(e->c.tap.tx.used, 0);
		assert_int_equal(e->c.fwd.raw.nout, 0);
		free(b);
		free(f);
	}
	assert_int_equal(o->iov[0].iov_len + o->iov[1].iov_len, len);
	memcpy(h, o->iov[0].iov_base, o->iov[0].iov_len);
	memcpy(h + o->iov[0].iov_len, o->iov[1].iov_base, o->iov[1].iov_len);
	assert_true(ip_csum_ok(h));
	assert_true(ip_l4_csum_ok(h));
	assert_int_equal(get16(h + R_IP_FRAG), 0);
	assert_int_equal(get32(h + R_IP_SRC), HOST);
	assert_int_equal(get16(h + 20), HPORT);
	assert_int_equal(h[R_IP_TTL], 63);
	assert_memory_equal(h + 28, g + 28, len - 28);
	assert_memory_equal(o->quote, g, 28);
	free(g);
}

/* error_make() - an ICMP error from @from about @h (merd's packet), as
 * a router builds it: its header @ohl long, the first @qlen bytes of @h,
 * the quoted TTL set to @qttl (header checksum fixed) unless 0
 *
 * Return: the error, in an exact-size buffer
 */
static uint8_t *error_make(uint32_t from, uint8_t type, uint8_t code,
			   uint16_t mtu, size_t ohl, const uint8_t *h,
			   size_t qlen, uint8_t qttl, size_t *len)
{
	uint8_t *e;

	*len = ohl + 8 + qlen;
	e = malloc(*len);
	assert_non_null(e);
	ip_build(e, ohl, *len, IPPROTO_ICMP, from, get32(h + R_IP_SRC),
		 0x5151, 0, 250);
	icmp_build(e + ohl, type, code, 0, mtu);
	memcpy(e + ohl + 8, h, qlen);
	if (qttl) {
		e[ohl + 8 + R_IP_TTL] = qttl;
		ip_csum_set(e + ohl + 8);
	}
	l4_csum_set(0, 0, IPPROTO_ICMP, e + ohl, *len - ohl);
	return e;
}

/* csum_same() - two checksum fields mean the same (0 and 0xffff do, for
 * TCP and ICMP)
 */
static bool csum_same(uint16_t a, uint16_t b)
{
	return a == b || (a == 0 && b == 0xffff) || (a == 0xffff && b == 0);
}

/* check_translated() - the next frame for the guest is the error @err
 * (header @ohl long) translated: from @src, to the guest, TTL one less,
 * fitting the guest's MTU; the ICMP message the same but for the quote,
 * which is the guest's packet as it sent it (TTL as quoted, @qttl if
 * not 0), both its checksums right
 */
static void check_translated(struct env *e, const struct trip *t,
			     const uint8_t *err, size_t elen, size_t ohl,
			     uint32_t src, uint8_t qttl)
{
	static uint8_t ip[2000];
	size_t len = ring_next(e, ip, sizeof(ip)), ql4, qlen, n, co;
	size_t want = MIN(elen - ohl + 20, (size_t)e->c.link.mtu);
	const uint8_t *q = ip + 28;

	assert_int_equal(len, want);
	assert_int_equal(e->c.tap.tx.used, 0);

	/* Outer header: new, without options */
	assert_int_equal(ip[R_IP_VIHL], 0x45);
	assert_int_equal(get16(ip + R_IP_LEN), len);
	assert_int_equal(get16(ip + R_IP_ID), 0x5151);
	assert_int_equal(ip[R_IP_TTL], 249);
	assert_int_equal(ip[R_IP_PROTO], IPPROTO_ICMP);
	assert_int_equal(get32(ip + R_IP_SRC), src);
	assert_int_equal(get32(ip + R_IP_DST), GUEST);
	assert_true(ip_csum_ok(ip));

	/* ICMP: as sent, checksum right for what the guest gets */
	assert_memory_equal(ip + 20, err + ohl, 2);
	assert_memory_equal(ip + 24, err + ohl + 4, 4);
	assert_true(l4_csum_ok(0, 0, IPPROTO_ICMP, ip + 20, len - 20));

	/* The quoted header: the guest's */
	qlen = len - 28;
	assert_true(qlen >= 28);
	assert_true(ip_csum_ok(q));
	assert_memory_equal(q, t->g, R_IP_TTL);
	assert_int_equal(q[R_IP_TTL], qttl ? qttl : t->h[R_IP_TTL]);
	assert_int_equal(q[R_IP_PROTO], t->g[R_IP_PROTO]);
	assert_memory_equal(q + R_IP_SRC, t->g + R_IP_SRC, 8);

	/* The quoted transport header and data: the guest's, checksum too */
	ql4 = qlen - 20;
	n = MIN(ql4, t->glen - 20);
	co = l4_check_off(t->proto);
	if (co + 2 <= n) {
		assert_true(csum_same(get16(q + 20 + co),
				      get16(t->g + 20 + co)));
		assert_memory_equal(q + 20, t->g + 20, co);
		assert_memory_equal(q + 20 + co + 2, t->g + 20 + co + 2,
				    n - co - 2);
	} else {
		assert_memory_equal(q + 20, t->g + 20, n);
	}
	if (n == t->glen - 20)		/* all of it: check it whole */
		assert_true(l4_csum_ok(GUEST, t->daddr, t->proto, q + 20, n));
}

/* error_in() - an ICMP error about @t's packet (its first @q bytes),
 * through fwd_from_host(), must reach the guest translated, from @src
 */
static void error_in(struct env *e, const struct trip *t, uint32_t from,
		     uint8_t type, uint8_t code, uint16_t mtu, size_t ohl,
		     size_t q, uint8_t qttl, uint32_t src)
{
	size_t len;
	uint8_t *err = error_make(from, type, code, mtu, ohl, t->h, q, qttl,
				  &len);
	uint8_t *copy = dup_exact(err, len);

	from_host(e, err, len);
	check_translated(e, t, copy, len, ohl, src, qttl);
	free(copy);
	free(err);
}

/* ICMP errors about each kind of flow, quoting 8 bytes or everything,
 * from a router on the way, from the destination, from the host itself,
 * with options on the outer header: translated for the guest
 */
static void test_error_in(void **state)
{
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP,
					  IPPROTO_ICMP };
	struct env *e = *state;
	static struct trip t;
	size_t i, k;

	rng_seed(792);
	for (i = 0; i < 3 * ARRAY_SIZE(protos); i++) {
		size_t payload = rng() % 2 ? 1 + rng() % 100 : 1000;
		size_t ohl = 20 + 4 * (rng() % 11);

		trip_out(e, &t, protos[i % 3], PEER, payload,
			 (uint16_t)(HPORT + i));
		for (k = 0; k < 2; k++) {
			size_t q = k ? t.hlen : 28;

			error_in(e, &t, ROUTER, ICMP_TIME_EXCEEDED,
				 ICMP_EXC_TTL, 0, ohl, q, 1, ROUTER);
			error_in(e, &t, PEER, ICMP_DEST_UNREACH,
				 ICMP_PORT_UNREACH, 0, ohl, q, 0, PEER);
			error_in(e, &t, HOST, ICMP_DEST_UNREACH,
				 ICMP_FRAG_NEEDED, 1280, ohl, q, 0, GW);
			error_in(e, &t, ROUTER, ICMP_PARAMETERPROB, 0, 0, ohl,
				 q, 0, ROUTER);
		}
	}
}

/* Errors about a flow to the gateway (the host's loopback) come from the
 * gateway; errors cut to a small guest MTU keep both checksums right
 */
static void test_error_in_mapped_and_cut(void **state)
{
	struct env *e = *state;
	static struct trip t;
	unsigned int mtu;

	rng_seed(1812);
	trip_out(e, &t, IPPROTO_UDP, GW, 1200, HPORT);
	error_in(e, &t, LOOP, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, 20,
		 t.hlen, 0, GW);
	error_in(e, &t, HOST, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, 20,
		 t.hlen, 0, GW);

	trip_out(e, &t, IPPROTO_TCP, PEER, 1400, HPORT + 1);
	for (mtu = MTU_MIN; mtu <= 1500; mtu += 71) {
		e->c.link.mtu = mtu;
		error_in(e, &t, ROUTER, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0,
			 60, t.hlen, 1, ROUTER);
	}
}

/* Errors that aren't about a flow of ours, aren't errors merd passes on,
 * or are cut short: nothing for the guest
 */
static void test_error_in_ignored(void **state)
{
	struct env *e = *state;
	static struct trip t;
	uint8_t *err;
	size_t len, cut;

	rng_seed(5);
	trip_out(e, &t, IPPROTO_UDP, PEER, 100, HPORT);

	/* Another host port, another peer, another peer port */
	put16(t.h + 20, HPORT + 7);
	err = error_make(ROUTER, 3, 3, 0, 20, t.h, 28, 0, &len);
	from_host(e, err, len);
	free(err);
	put16(t.h + 20, HPORT);
	put32(t.h + R_IP_DST, PEER + 1);
	err = error_make(ROUTER, 3, 3, 0, 20, t.h, 28, 0, &len);
	from_host(e, err, len);
	free(err);
	put32(t.h + R_IP_DST, PEER);
	put16(t.h + 22, get16(t.h + 22) + 1);
	err = error_make(ROUTER, 3, 3, 0, 20, t.h, 28, 0, &len);
	from_host(e, err, len);
	free(err);
	put16(t.h + 22, get16(t.h + 22) - 1);
	assert_int_equal(e->c.tap.tx.used, 0);

	/* Redirect, source quench, timestamp: not passed on */
	err = error_make(ROUTER, ICMP_REDIRECT, 1, 0, 20, t.h, 28, 0, &len);
	from_host(e, err, len);
	free(err);
	err = error_make(ROUTER, ICMP_SOURCE_QUENCH, 0, 0, 20, t.h, 28, 0,
			 &len);
	from_host(e, err, len);
	free(err);
	err = error_make(ROUTER, ICMP_TIMESTAMP, 0, 0, 20, t.h, 28, 0, &len);
	from_host(e, err, len);
	free(err);
	assert_int_equal(e->c.tap.tx.used, 0);

	/* Cut short of the quoted header and 8 bytes */
	for (cut = 20; cut < 20 + 8 + 28; cut++) {
		err = error_make(ROUTER, 3, 3, 0, 20, t.h, 28, 0, &len);
		put16(err + R_IP_LEN, (uint16_t)cut);
		ip_csum_set(err);
		{
			uint8_t *part = dup_exact(err, cut);

			from_host(e, part, cut);
			free(part);
		}
		free(err);
	}
	assert_int_equal(e->c.tap.tx.used, 0);

	/* And the real one goes through */
	err = error_make(ROUTER, 3, 3, 0, 20, t.h, 28, 0, &len);
	from_host(e, err, len);
	assert_int_not_equal(e->c.tap.tx.used, 0);
	free(err);
}

/* reply() - a packet from the peer's side of flow @t, answering it: to
 * the host port, checksums right; for TCP, acknowledging the guest's SYN
 * (a SYN-ACK if @flags say so)
 */
static uint8_t *reply(const struct trip *t, uint8_t flags, size_t payload,
		      uint8_t ttl, size_t *len)
{
	struct flowpkt fp = {
		.proto = t->proto, .saddr = get32(t->h + R_IP_DST),
		.daddr = get32(t->h + R_IP_SRC),
		.sport = get16(t->h + 22), .dport = get16(t->h + 20),
		.ttl = ttl, .id = 0x6262, .flags = flags, .payload = payload,
	};
	uint8_t *p;

	if (t->proto == IPPROTO_ICMP)
		fp.sport = get16(t->h + 20 + R_ICMP_ID);
	p = pkt_build(&fp, len);
	if (t->proto == IPPROTO_ICMP) {
		p[20] = ICMP_ECHOREPLY;
		l4_csum_set(0, 0, IPPROTO_ICMP, p + 20, *len - 20);
	}
	if (t->proto == IPPROTO_TCP) {
		/* Acknowledging all the guest sent: its SYN and data, so
		 * that the flow takes it (conntrack.c's window check)
		 */
		put32(p + 20 + R_TCP_ACK, get32(t->g + 20 + R_TCP_SEQ) +
					  (uint32_t)(t->glen - 40) + 1);
		l4_csum_set(fp.saddr, fp.daddr, IPPROTO_TCP, p + 20,
			    *len - 20);
	}
	return p;
}

/* check_reply() - the next frame for the guest is @r translated: from
 * the destination the guest knows, to its address and port, TTL one less
 * unless from the host, checksums right from scratch, payload as it was
 */
static void check_reply(struct env *e, const struct trip *t,
			const uint8_t *r, size_t rlen, bool from_host)
{
	static uint8_t ip[70000];
	size_t len = ring_next(e, ip, sizeof(ip)), hl = 20 +
		     l4_hlen(t->proto), po;

	assert_int_equal(len, rlen);
	assert_true(ip_csum_ok(ip));
	assert_true(ip_l4_csum_ok(ip));
	assert_int_equal(get32(ip + R_IP_SRC), t->daddr);
	assert_int_equal(get32(ip + R_IP_DST), GUEST);
	assert_int_equal(ip[R_IP_TTL], r[R_IP_TTL] - (from_host ? 0 : 1));
	po = t->proto == IPPROTO_ICMP ? 20 + R_ICMP_ID : 22;
	assert_int_equal(get16(ip + po), get16(t->g + 20 +
					       (t->proto == IPPROTO_ICMP ?
						R_ICMP_ID : 0)));
	if (t->proto != IPPROTO_ICMP)
		assert_int_equal(get16(ip + 20), get16(r + 20));
	assert_memory_equal(ip + hl, r + hl, rlen - hl);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* Answers of each protocol reach the guest translated, and move the flow
 * on: UDP answered (a single exchange stays CT_UDP), TCP SYN received,
 * ICMP refreshed
 */
static void test_reply(void **state)
{
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP,
					  IPPROTO_ICMP };
	static const enum ct_state after[] = { CT_UDP, CT_TCP_SYN_RECV,
					       CT_ICMP };
	static const uint32_t dsts[] = { PEER, GW };
	struct env *e = *state;
	static struct trip t;
	const struct flow *f;
	size_t i, k, len;
	uint8_t *r, *copy;

	rng_seed(2131);
	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		for (k = 0; k < ARRAY_SIZE(dsts); k++) {
			trip_out(e, &t, protos[i], dsts[k], 300,
				 (uint16_t)(HPORT + i * 2 + k));
			e->c.now += 5;
			r = reply(&t, R_SYN | R_ACK, rng() % 1400, 50, &len);
			copy = dup_exact(r, len);
			from_host(e, r, len);
			check_reply(e, &t, copy, len, dsts[k] == GW);
			f = &e->c.fwd.ct.flows[t.idx];
			assert_int_equal(f->state, after[i]);
			assert_int_equal(f->expires, e->c.now +
					 e->c.fwd.ct.timeout[after[i]]);
			free(copy);
			free(r);
		}
	}
}

/* Answers with a bad checksum are dropped; with the pseudo-header sum
 * only (offloaded, or GRO's), or without a UDP checksum, they pass, and
 * the guest gets a full checksum (or none, for UDP without one)
 */
static void test_reply_checksums(void **state)
{
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP };
	struct env *e = *state;
	static struct trip t;
	size_t i, len;
	uint8_t *r, *copy;

	rng_seed(1071);
	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		size_t co = 20 + l4_check_off(protos[i]);

		trip_out(e, &t, protos[i], PEER, 100, (uint16_t)(HPORT + i));

		r = reply(&t, R_SYN | R_ACK, 200, 50, &len);
		put16(r + co, get16(r + co) ^ 0x0100);
		from_host(e, r, len);
		assert_int_equal(e->c.tap.tx.used, 0);
		free(r);

		r = reply(&t, R_SYN | R_ACK, 200, 50, &len);
		put16(r + co, ref_sum(NULL, 0, pseudo_sum(PEER, HOST,
							  protos[i],
							  len - 20)));
		copy = dup_exact(r, len);
		from_host(e, r, len);
		check_reply(e, &t, copy, len, false);
		free(copy);
		free(r);
	}

	trip_out(e, &t, IPPROTO_UDP, PEER, 10, HPORT + 2);
	r = reply(&t, 0, 40, 50, &len);
	put16(r + 20 + R_UDP_CHECK, 0);
	from_host(e, r, len);
	{
		uint8_t ip[200];

		assert_int_equal(ring_next(e, ip, sizeof(ip)), len);
		assert_int_equal(get16(ip + 20 + R_UDP_CHECK), 0);
		assert_int_equal(get16(ip + 22), get16(t.g + 20));
		assert_true(ip_csum_ok(ip));
	}
	free(r);
}

/* An answer with TTL 1 from the network isn't passed on (merd is a router
 * on its way); from the host (mapped gateway), it is
 */
static void test_reply_ttl(void **state)
{
	struct env *e = *state;
	static struct trip t;
	uint8_t *r, *copy;
	size_t len;

	rng_seed(1);
	trip_out(e, &t, IPPROTO_UDP, PEER, 10, HPORT);
	r = reply(&t, 0, 40, 1, &len);
	from_host(e, r, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(r);

	trip_out(e, &t, IPPROTO_UDP, GW, 10, HPORT + 1);
	r = reply(&t, 0, 40, 1, &len);
	copy = dup_exact(r, len);
	from_host(e, r, len);
	check_reply(e, &t, copy, len, true);
	free(copy);
	free(r);
}

/* A UDP answer larger than the guest's MTU reaches it in fragments that
 * fit, which put together are the answer translated
 */
static void test_reply_fragmented(void **state)
{
	struct env *e = *state;
	static struct trip t;
	static uint8_t ip[2000], whole[70000];
	uint8_t *r, *copy;
	size_t len, n, total = 0, got = 0;
	bool last = false;

	rng_seed(4);
	trip_out(e, &t, IPPROTO_UDP, PEER, 10, HPORT);
	r = reply(&t, 0, 6000, 50, &len);
	copy = dup_exact(r, len);
	from_host(e, r, len);
	while ((n = ring_next(e, ip, sizeof(ip)))) {
		uint16_t fo = get16(ip + R_IP_FRAG);
		size_t off = (size_t)(fo & R_OFFMASK) * 8;

		assert_true(n <= e->c.link.mtu);
		assert_true(ip_csum_ok(ip));
		assert_int_equal(get16(ip + R_IP_LEN), n);
		assert_int_equal(get32(ip + R_IP_SRC), PEER);
		assert_int_equal(get32(ip + R_IP_DST), GUEST);
		assert_false(last);
		assert_int_equal(off, got);
		memcpy(whole + 20 + off, ip + 20, n - 20);
		got += n - 20;
		if (!(fo & R_MF)) {
			last = true;
			total = off + n - 20;
		}
	}
	assert_true(last);
	assert_int_equal(total, len - 20);
	assert_int_equal(get16(whole + 20 + 2), get16(t.g + 20));
	assert_true(l4_csum_ok(PEER, GUEST, IPPROTO_UDP, whole + 20, total));
	assert_memory_equal(whole + 28, copy + 28, total - 8);
	free(copy);
	free(r);
}

/* A UDP answer larger than the guest's MTU whose IPv4 header carries
 * options (a router's, say) is cut into fragments all the same: put
 * together (options kept or not), they are the answer translated
 */
static void test_reply_fragmented_options(void **state)
{
	struct env *e = *state;
	static struct trip t;
	static uint8_t ip[2000], whole[70000];
	uint8_t *r, *o;
	size_t len, n, frames = 0, total = 0, got = 0;

	rng_seed(4);
	trip_out(e, &t, IPPROTO_UDP, PEER, 10, HPORT);
	r = reply(&t, 0, 6000, 50, &len);
	o = malloc(len + 4);
	assert_non_null(o);
	ip_build(o, 24, len + 4, IPPROTO_UDP, PEER, HOST, 0x6262, 0, 50);
	memcpy(o + 24, r + 20, len - 20);
	from_host(e, o, len + 4);
	while ((n = ring_next(e, ip, sizeof(ip)))) {
		size_t hl = ip_hlen(ip);
		uint16_t fo = get16(ip + R_IP_FRAG);
		size_t off = (size_t)(fo & R_OFFMASK) * 8;

		assert_true(n <= e->c.link.mtu);
		assert_true(ip_csum_ok(ip));
		assert_int_equal(get16(ip + R_IP_LEN), n);
		assert_int_equal(off, got);
		memcpy(whole + off, ip + hl, n - hl);
		got += n - hl;
		frames++;
		if (!(fo & R_MF))
			total = off + n - hl;
	}
	if (!frames) {
		free(o);
		free(r);
		fail_msg("a %zu-byte UDP answer with IPv4 options never "
			 "reached the guest (merd bug: fwd_to_guest_ip() takes "
			 "the header as 20 bytes long, and frag_split() "
			 "refuses a header with options)", len + 4);
	}
	assert_int_equal(total, len - 20);
	assert_int_equal(get16(whole + 2), get16(t.g + 20));
	assert_true(l4_csum_ok(PEER, GUEST, IPPROTO_UDP, whole, total));
	assert_memory_equal(whole + 8, r + 28, total - 8);
	free(o);
	free(r);
}

/* udp_at() - a datagram of UDP flow @t at second @now, from the guest or
 * from the peer, through the data path, and on its way (sent, or queued
 * for the guest)
 *
 * Return: the flow's state after it, its timeout checked
 */
static enum ct_state udp_at(struct env *e, const struct trip *t, bool peer,
			    uint32_t now)
{
	static uint8_t ip[2000];
	const struct flow *f = &e->c.fwd.ct.flows[t->idx];
	uint8_t *p;
	size_t len;

	e->c.now = now;
	if (peer) {
		p = reply(t, 0, 20, 50, &len);
		from_host(e, p, len);
		assert_int_equal(ring_next(e, ip, sizeof(ip)), len);
	} else {
		p = from_guest(e, t->g, t->glen);
		assert_int_equal(take_out(e, ip, PEER), t->glen);
	}
	free(p);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(f->expires, now + e->c.fwd.ct.timeout[f->state]);
	return f->state;
}

/* UDP ages as Linux conntrack's: a flow of a single exchange (request and
 * answer, however late) stays CT_UDP; traffic either way after the answer,
 * two seconds or more after the flow started, makes it a stream; without
 * an answer it never is one
 */
static void test_udp_aging(void **state)
{
	struct env *e = *state;
	static struct trip t;

	rng_seed(768);
	e->c.now = 1000;
	trip_out(e, &t, IPPROTO_UDP, PEER, 20, HPORT);
	assert_int_equal(e->c.fwd.ct.flows[t.idx].state, CT_UDP);
	assert_int_equal(udp_at(e, &t, true, 1000), CT_UDP);
	assert_int_equal(udp_at(e, &t, false, 1001), CT_UDP);
	assert_int_equal(udp_at(e, &t, true, 1001), CT_UDP);
	assert_int_equal(udp_at(e, &t, false, 1002), CT_UDP_STREAM);
	assert_int_equal(e->c.fwd.ct.flows[t.idx].expires, 1002 + 120);
	assert_int_equal(udp_at(e, &t, true, 1003), CT_UDP_STREAM);
	assert_int_equal(udp_at(e, &t, false, 1500), CT_UDP_STREAM);

	/* One exchange, the answer late: not a stream; the next datagram */
	e->c.now = 2000;
	trip_out(e, &t, IPPROTO_UDP, PEER, 20, HPORT + 1);
	assert_int_equal(udp_at(e, &t, true, 2010), CT_UDP);
	assert_int_equal(e->c.fwd.ct.flows[t.idx].expires, 2010 + 30);
	assert_int_equal(udp_at(e, &t, false, 2011), CT_UDP_STREAM);

	/* The peer speaking again counts as much */
	e->c.now = 3000;
	trip_out(e, &t, IPPROTO_UDP, PEER, 20, HPORT + 2);
	assert_int_equal(udp_at(e, &t, true, 3001), CT_UDP);
	assert_int_equal(udp_at(e, &t, true, 3002), CT_UDP_STREAM);

	/* Never answered: never a stream, however long it goes on */
	e->c.now = 4000;
	trip_out(e, &t, IPPROTO_UDP, PEER, 20, HPORT + 3);
	assert_int_equal(udp_at(e, &t, false, 4005), CT_UDP);
	assert_int_equal(udp_at(e, &t, false, 4020), CT_UDP);
	assert_int_equal(udp_at(e, &t, false, 4040), CT_UDP);
}

/* IPv6 */

#define PEER6		"2001:db8:80::50"
#define PEER6B		"2001:db8:81::7"
#define NETROUTER6	"2001:db8:ff::1"	/* a router on the way */
/* The host's loopback resolver: loopback in merd (conf.c), any address
 * here, to tell it from the router address's ::1
 */
#define DNS6_LO		"fd00::53"
#define DNS_PORT	53
/* What an error quotes at least: the fixed header and 8 bytes, the ports */
#define QUOTE6		(R6_HLEN + 8)
/* RFC 4861 4.5: a redirect, ICMPv6 but no error */
#define R6_REDIRECT	137
/* What the guest's stack puts in a fragment for a 1280-byte link: the
 * fixed header and a fragment header go first (a multiple of 8, RFC 8200
 * 4.5)
 */
#define FRAG6_DATA	(R6_MTU_MIN - R6_HLEN - R6_FH_LEN)

/* env6_setup() - cmocka fixture: env_setup(), IPv6 served (env6.h) */
static int env6_setup(void **state)
{
	env_setup(state);
	env6_on(*state);
	return 0;
}

/* is_router6() - is @a the guest's router address, which means the host? */
static bool is_router6(const struct ctx *c, const struct in6_addr *a)
{
	return IN6_ARE_ADDR_EQUAL(a, &c->guest6.gw);
}

/* route6_dst() - where fwd.c must send a guest packet to @daddr port
 * @dport, from its comments: the router address means the host's loopback
 * (its resolver for DNS, if it has one), the rest goes where addressed
 */
static struct in6_addr route6_dst(const struct ctx *c,
				  const struct in6_addr *daddr,
				  uint16_t dport)
{
	if (!is_router6(c, daddr))
		return *daddr;
	if (dport == DNS_PORT && !IN6_IS_ADDR_UNSPECIFIED(&c->host.dns6_lo))
		return c->host.dns6_lo;
	return in6addr_loopback;
}

/* flow_add6() - an IPv6 flow as fwd_flow_new() would make it, with host
 * port @hport: the guest's side as it addressed the destination, the
 * host's from the host's address (its loopback, to the router address)
 *
 * Return: flow number
 */
static uint32_t flow_add6(struct ctx *c, uint8_t proto, uint16_t gport,
			  const struct in6_addr *daddr, uint16_t dport,
			  uint16_t hport)
{
	bool icmp = proto == IPPROTO_ICMPV6;
	enum ct_state s = proto == IPPROTO_TCP ? CT_TCP_SYN_SENT :
			  proto == IPPROTO_UDP ? CT_UDP : CT_ICMP;
	uint32_t idx = ct_alloc(&c->fwd.ct);
	struct flow *f;

	assert_true(idx != FLOW_NONE);
	f = &c->fwd.ct.flows[idx];
	memset(f->side, 0, sizeof(f->side));
	f->proto = proto;
	f->af = AF_INET6;
	f->pif[INISIDE] = PIF_TAP;
	f->pif[TGTSIDE] = PIF_HOST;
	f->side[INISIDE].eaddr.a6 = c->guest6.addr;
	f->side[INISIDE].oaddr.a6 = *daddr;
	f->side[INISIDE].eport = gport;
	f->side[INISIDE].oport = icmp ? 0 : dport;
	f->side[TGTSIDE].eaddr.a6 = route6_dst(c, daddr, dport);
	f->side[TGTSIDE].oaddr.a6 = is_router6(c, daddr) ? in6addr_loopback :
				    c->host.out6;
	f->side[TGTSIDE].eport = icmp ? 0 : dport;
	f->side[TGTSIDE].oport = hport;
	ct_insert(&c->fwd.ct, idx, s, c->now);
	return idx;
}

/* from_guest6() - hand fwd_from_guest() a copy of the IPv6 packet @g,
 * parsed as merd.c parses it
 *
 * Return: the copy, which the send batch may point into, to free()
 */
static uint8_t *from_guest6(struct env *e, const uint8_t *g, size_t len)
{
	uint8_t *b = dup_exact(g, len);
	struct ip_view ip;

	parse6_ok(b, len, &ip, NULL);
	fwd_from_guest(&e->c, &ip);
	return b;
}

/* take_out6() - the one IPv6 packet waiting in the raw send batch, to
 * @dst, put together from its pieces
 *
 * Return: its length
 */
static size_t take_out6(struct env *e, uint8_t *h, const struct in6_addr *dst)
{
	const struct raw_out *o = &e->c.fwd.raw.out[0];
	size_t n0 = o->iov[0].iov_len, n1 = o->iov[1].iov_len;

	assert_int_equal(e->c.fwd.raw.nout, 1);
	assert_true(o->v6);
	assert_int_equal(o->dst6.sin6_family, AF_INET6);
	assert_true(IN6_ARE_ADDR_EQUAL(&o->dst6.sin6_addr, dst));
	assert_true(addr6_eq(o->hdr + R6_DST, dst));
	memcpy(h, o->iov[0].iov_base, n0);
	memcpy(h + n0, o->iov[1].iov_base, n1);
	e->c.fwd.raw.nout = 0;
	return n0 + n1;
}

/* id_off() - where the port merd rewrites lies in a transport header: the
 * source port, or the echo identifier
 */
static size_t id_off(uint8_t proto)
{
	return proto == IPPROTO_ICMPV6 ? R_ICMP_ID : 0;
}

/* same_but6() - two transport segments of @len bytes are the same but
 * for the 16-bit fields at @f1 and @f2
 */
static void same_but6(const uint8_t *a, const uint8_t *b, size_t len,
		      size_t f1, size_t f2)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (i != f1 && i != f1 + 1 && i != f2 && i != f2 + 1 &&
		    a[i] != b[i])
			fail_msg("transport byte %zu changed: %02x, was %02x",
				 i, a[i], b[i]);
}

/**
 * struct trip6 - an IPv6 flow, a guest packet of it, what merd sent for it
 * @proto:	protocol
 * @daddr:	destination as the guest sees it
 * @dst:	where merd sent it
 * @g:		the guest's packet
 * @glen:	its length
 * @goff:	where its transport header starts (after its extension
 *		headers)
 * @h:		merd's packet to the network (no extension headers)
 * @hlen:	its length
 * @idx:	the flow
 */
struct trip6 {
	uint8_t proto;
	struct in6_addr daddr;
	struct in6_addr dst;
	uint8_t g[2000];
	size_t glen;
	size_t goff;
	uint8_t h[2000];
	size_t hlen;
	uint32_t idx;
};

/* check_quote_kept6() - what the send slot keeps for an ICMPv6 error about
 * a failed send: merd's header, still with the guest's addresses, and the
 * guest's first 8 bytes of transport header
 */
static void check_quote_kept6(const struct raw_out *o, const struct trip6 *t)
{
	assert_int_equal(o->quote_len, R6_HLEN + 8);
	assert_memory_equal(o->quote, t->h, R6_SRC);
	assert_memory_equal(o->quote + R6_SRC, t->g + R6_SRC, 32);
	assert_memory_equal(o->quote + R6_HLEN, t->g + t->goff, 8);
}

/* trip_out6() - a flow to @daddr port @dport (random if 0) with host port
 * @hport, and a guest packet of it with @ext bytes of destination options
 * and @payload bytes, through fwd_from_guest(): merd's packet must leave
 * from the host (its loopback for the router address) and host port, to
 * where the route says, hop limit one less unless to the router address,
 * traffic class and flow label kept, extension headers left out, the
 * transport checksum right for the new addresses and ports (and the very
 * one a full computation gives), nothing else changed
 */
static void trip_out6(struct env *e, struct trip6 *t, uint8_t proto,
		      const char *daddr, uint16_t dport, size_t ext,
		      size_t payload, uint16_t hport)
{
	struct flowpkt6 fp = {
		.proto = proto, .saddr = e->c.guest6.addr,
		.daddr = addr6(daddr),
		.sport = (uint16_t)(1024 + rng() % 60000),
		.dport = dport ? dport : (uint16_t)(1 + rng() % 65535),
		.hops = 64, .tclass = (uint8_t)rng(), .flow = rng(),
		.flags = R_SYN, .ext = ext, .payload = payload,
	};
	bool mapped = is_router6(&e->c, &fp.daddr);
	struct in6_addr src = mapped ? in6addr_loopback : e->c.host.out6;
	size_t co = l4_check_off(proto), io;
	uint8_t *p = pkt6_build(&fp, &t->glen), *b;
	const struct raw_out *o = &e->c.fwd.raw.out[0];

	assert_true(t->glen <= sizeof(t->g));
	memcpy(t->g, p, t->glen);
	free(p);
	t->proto = proto;
	t->daddr = fp.daddr;
	t->goff = R6_HLEN + ext;
	t->dst = route6_dst(&e->c, &fp.daddr, fp.dport);
	t->idx = flow_add6(&e->c, proto, fp.sport, &fp.daddr, fp.dport,
			   hport);

	b = from_guest6(e, t->g, t->glen);
	assert_int_equal(e->c.tap.tx.used, 0);
	t->hlen = take_out6(e, t->h, &t->dst);
	free(b);

	/* Header: the guest's first word, its own addresses gone */
	assert_int_equal(t->hlen, t->glen - ext);
	assert_int_equal(get32(t->h + R6_VTF), get32(t->g + R6_VTF));
	assert_int_equal(get16(t->h + R6_PLEN), t->hlen - R6_HLEN);
	assert_int_equal(t->h[R6_NH], proto);
	assert_int_equal(t->h[R6_HOPS], mapped ? 64 : 63);
	assert_true(addr6_eq(t->h + R6_SRC, &src));
	assert_true(addr6_eq(t->h + R6_DST, &t->dst));

	/* Transport: the host port, the rest as the guest sent it, the
	 * checksum updated as a full computation would give it
	 */
	io = id_off(proto);
	assert_int_equal(get16(t->h + R6_HLEN + io), hport);
	same_but6(t->h + R6_HLEN, t->g + t->goff, t->hlen - R6_HLEN, io, co);
	assert_true(ip6_l4_csum_ok(t->h));
	assert_int_equal(get16(t->h + R6_HLEN + co),
			 l6_csum(&src, &t->dst, proto, t->h + R6_HLEN,
				 t->hlen - R6_HLEN));
	check_quote_kept6(o, t);
}

/* Guest IPv6 packets of each protocol leave rewritten, checksum right,
 * extension headers left out; to the router address, they go to the
 * host's loopback, hop limit untouched
 */
static void test_out6(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMPV6 };
	static const char *const dsts[] = { PEER6, ROUTER6, "2a00:1450::1",
					    "fd12:3456::9" };
	struct env *e = *state;
	static struct trip6 t;
	size_t i, k, n = 0;

	rng_seed(8200);
	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		for (k = 0; k < 4 * ARRAY_SIZE(dsts); k++) {
			size_t ext = 8 * (rng() % 3);

			trip_out6(e, &t, protos[i], dsts[k % ARRAY_SIZE(dsts)],
				  0, ext, rng() % 1400,
				  (uint16_t)(HPORT + n));
			assert_int_equal(e->c.fwd.ct.count, ++n);
		}
	}
}

/* To the router address's DNS port: the host's loopback resolver, when
 * it has one; else, and for other ports, ::1
 */
static void test_out6_dns(void **state)
{
	struct env *e = *state;
	static struct trip6 t;
	struct in6_addr lo = in6addr_loopback, dns = addr6(DNS6_LO);

	rng_seed(53);
	trip_out6(e, &t, IPPROTO_UDP, ROUTER6, DNS_PORT, 0, 30, HPORT);
	assert_true(IN6_ARE_ADDR_EQUAL(&t.dst, &lo));

	e->c.host.dns6_lo = dns;
	trip_out6(e, &t, IPPROTO_UDP, ROUTER6, DNS_PORT, 8, 30, HPORT + 1);
	assert_true(IN6_ARE_ADDR_EQUAL(&t.dst, &dns));
	trip_out6(e, &t, IPPROTO_TCP, ROUTER6, DNS_PORT, 0, 0, HPORT + 2);
	assert_true(IN6_ARE_ADDR_EQUAL(&t.dst, &dns));
	trip_out6(e, &t, IPPROTO_UDP, ROUTER6, DNS_PORT + 1, 0, 30,
		  HPORT + 3);
	assert_true(IN6_ARE_ADDR_EQUAL(&t.dst, &lo));
	/* Elsewhere, port 53 is just a port */
	trip_out6(e, &t, IPPROTO_UDP, PEER6, DNS_PORT, 0, 30, HPORT + 4);
	assert_true(IN6_ARE_ADDR_EQUAL(&t.dst, &t.daddr));
}

/* guest6() - a guest IPv6 packet, exact-size buffer */
static uint8_t *guest6(uint8_t proto, const char *daddr, uint16_t sport,
		       uint16_t dport, uint8_t hops, size_t ext,
		       size_t payload, size_t *len)
{
	struct flowpkt6 fp = {
		.proto = proto, .saddr = addr6(GUEST6), .daddr = addr6(daddr),
		.sport = sport, .dport = dport, .hops = hops,
		.tclass = 0xb8, .flow = 0xabcde, .flags = R_SYN, .ext = ext,
		.payload = payload,
	};

	return pkt6_build(&fp, len);
}

/* Hop limit 1 (or 0) runs out at merd: time exceeded from the router
 * address, quoting the packet, extension headers and all; to the router
 * address itself (the host), it doesn't
 */
static void test_hop_limit6(void **state)
{
	struct env *e = *state;
	struct in6_addr gw = addr6(ROUTER6), lo = in6addr_loopback;
	uint8_t h[2000], *g, *b;
	unsigned int hops;
	size_t len;

	rng_seed(4443);
	for (hops = 0; hops <= 1; hops++) {
		g = guest6(IPPROTO_UDP, PEER6, 33434, 33435, (uint8_t)hops,
			   16, 12, &len);
		b = from_guest6(e, g, len);
		assert_int_equal(e->c.fwd.raw.nout, 0);
		check_icmp6_error(e, g, len, R6_TIME_EXCEEDED, 0, 0, &gw);
		free(b);
		free(g);
	}
	/* A large one: the quote is cut to what fits 1280 bytes */
	g = guest6(IPPROTO_TCP, PEER6, 40000, 443, 1, 0, 1400, &len);
	b = from_guest6(e, g, len);
	check_icmp6_error(e, g, len, R6_TIME_EXCEEDED, 0, 0, &gw);
	free(b);
	free(g);

	flow_add6(&e->c, IPPROTO_UDP, 33434, &gw, 33435, HPORT);
	g = guest6(IPPROTO_UDP, ROUTER6, 33434, 33435, 1, 0, 12, &len);
	b = from_guest6(e, g, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(take_out6(e, h, &lo), len);
	assert_int_equal(h[R6_HOPS], 1);
	free(b);
	free(g);
}

/* Too large for the uplink: packet too big with the uplink's MTU, from the
 * router address (RFC 8200 5: routers don't fragment); the extension
 * headers merd leaves out don't count. One byte less goes out
 */
static void test_too_big6(void **state)
{
	struct env *e = *state;
	struct in6_addr gw = addr6(ROUTER6), peer = addr6(PEER6);
	uint8_t h[2000], *g, *b;
	size_t len;

	rng_seed(1981);
	flow_add6(&e->c, IPPROTO_TCP, 40000, &peer, 443, HPORT);
	g = guest6(IPPROTO_TCP, PEER6, 40000, 443, 64, 16,
		   e->c.host.mtu - R6_HLEN - 20 + 1, &len);
	b = from_guest6(e, g, len);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	check_icmp6_error(e, g, len, R6_TOO_BIG, 0, e->c.host.mtu, &gw);
	free(b);
	free(g);

	g = guest6(IPPROTO_TCP, PEER6, 40000, 443, 64, 16,
		   e->c.host.mtu - R6_HLEN - 20, &len);
	b = from_guest6(e, g, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(take_out6(e, h, &peer), e->c.host.mtu);
	free(b);
	free(g);
}

/* out_frag6() - the fragment in the send batch, for the guest's fragment
 * @f, whose fragment header is at @foff: a fixed header from the host to
 * @dst, hop limit one less, next header "fragment" (whatever the guest's
 * before it), then the guest's fragment header with the next header of
 * what follows, offset, M flag and identification as they were
 *
 * Return: its length
 */
static size_t out_frag6(struct env *e, const uint8_t *f, size_t foff,
			uint8_t *h, const struct in6_addr *dst, uint8_t proto)
{
	size_t len = take_out6(e, h, dst);

	assert_int_equal(get32(h + R6_VTF), get32(f + R6_VTF));
	assert_int_equal(get16(h + R6_PLEN), len - R6_HLEN);
	assert_int_equal(h[R6_NH], R6_NH_FRAG);
	assert_int_equal(h[R6_HOPS], f[R6_HOPS] - 1);
	assert_true(addr6_eq(h + R6_SRC, &e->c.host.out6));
	assert_int_equal(h[R6_HLEN + R6_FH_NH], proto);
	assert_memory_equal(h + R6_HLEN + R6_FH_OFFLG,
			    f + foff + R6_FH_OFFLG, 6);
	return len;
}

/* opts_before() - a fragment with 8 bytes of destination options before
 * its fragment header (in the part that isn't fragmented, RFC 8200 4.5)
 *
 * Return: the new fragment, exact-size buffer, to free(); @len updated
 */
static uint8_t *opts_before(const uint8_t *f, size_t *len)
{
	uint8_t *o = malloc(*len + 8);

	assert_non_null(o);
	memcpy(o, f, R6_HLEN);
	o[R6_NH] = R6_NH_DSTOPTS;
	put16(o + R6_PLEN, (uint16_t)(get16(f + R6_PLEN) + 8));
	memset(o + R6_HLEN, 0, 8);
	o[R6_HLEN] = R6_NH_FRAG;
	o[R6_HLEN + 2] = 1;			/* PadN, RFC 8200 4.2 */
	o[R6_HLEN + 3] = 4;
	memcpy(o + R6_HLEN + 8, f + R6_HLEN, *len - R6_HLEN);
	*len += 8;
	return o;
}

/* A guest's UDP datagram in fragments: the first finds the flow, the
 * later ones follow it, each out as it came, fragment header kept (other
 * extension headers before it left out), next header fixed; put
 * together, the datagram has the host port and a checksum right for the
 * new addresses
 */
static void test_frag6(void **state)
{
	struct env *e = *state;
	struct in6_addr peer = addr6(PEER6);
	static uint8_t h[2000], whole[5000];
	uint8_t *g, *f, *b, *o;
	size_t len, flen, hlen, off, got = 0;
	bool opts = false;

	rng_seed(8245);
	flow_add6(&e->c, IPPROTO_UDP, 7000, &peer, 7001, HPORT);
	g = guest6(IPPROTO_UDP, PEER6, 7000, 7001, 64, 0, 4000, &len);
	for (off = 0; off < len - R6_HLEN; off += FRAG6_DATA) {
		size_t n = MIN((size_t)FRAG6_DATA, len - R6_HLEN - off);
		bool mf = off + n < len - R6_HLEN;

		size_t foff = R6_HLEN + (opts ? 8 : 0);

		f = frag6_build(g, off, n, mf, 0x12345678, &flen);
		if (opts) {	/* left out, as any but the fragment header */
			o = opts_before(f, &flen);
			free(f);
			f = o;
		}
		b = from_guest6(e, f, flen);
		assert_int_equal(e->c.tap.tx.used, 0);
		hlen = out_frag6(e, f, foff, h, &peer, IPPROTO_UDP);
		assert_int_equal(hlen, R6_HLEN + R6_FH_LEN + n);
		memcpy(whole + off, h + R6_HLEN + R6_FH_LEN, n);
		got += n;
		if (off) {	/* fragment data, untouched */
			assert_memory_equal(h + R6_HLEN + R6_FH_LEN,
					    f + foff + R6_FH_LEN, n);
		}
		opts = !opts;
		free(b);
		free(f);
	}
	assert_int_equal(got, len - R6_HLEN);
	assert_int_equal(get16(whole), HPORT);
	assert_int_equal(get16(whole + 2), 7001);
	assert_true(l6_csum_ok(&e->c.host.out6, &peer, IPPROTO_UDP, whole,
			       got));
	assert_memory_equal(whole + 8, g + R6_HLEN + 8, got - 8);
	free(g);
}

/* frag6_at() - fragment @off (@n bytes) of @g, identification @id,
 * through fwd_from_guest()
 */
static void frag6_at(struct env *e, const uint8_t *g, size_t off, size_t n,
		     bool mf, uint32_t id)
{
	size_t flen;
	uint8_t *f = frag6_build(g, off, n, mf, id, &flen);

	free(from_guest6(e, f, flen));
	free(f);
}

/* A later fragment of no datagram merd saw the first of (never, another
 * identification, another destination) is dropped without a word; one
 * with a known first gets through
 */
static void test_frag6_no_first(void **state)
{
	struct env *e = *state;
	struct in6_addr peer = addr6(PEER6);
	uint8_t h[2000], *g, *g2, *f, *b;
	size_t len, len2, flen;

	rng_seed(4500);
	flow_add6(&e->c, IPPROTO_UDP, 7000, &peer, 7001, HPORT);
	g = guest6(IPPROTO_UDP, PEER6, 7000, 7001, 64, 0, 2000, &len);
	frag6_at(e, g, FRAG6_DATA, len - R6_HLEN - FRAG6_DATA, false, 1);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(e->c.tap.tx.used, 0);

	frag6_at(e, g, 0, FRAG6_DATA, true, 2);
	assert_int_equal(e->c.fwd.raw.nout, 1);
	e->c.fwd.raw.nout = 0;
	frag6_at(e, g, FRAG6_DATA, len - R6_HLEN - FRAG6_DATA, false, 3);
	g2 = guest6(IPPROTO_UDP, PEER6B, 7000, 7001, 64, 0, 2000, &len2);
	frag6_at(e, g2, FRAG6_DATA, len2 - R6_HLEN - FRAG6_DATA, false, 2);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(e->c.tap.tx.used, 0);

	f = frag6_build(g, FRAG6_DATA, len - R6_HLEN - FRAG6_DATA, false, 2,
			&flen);
	b = from_guest6(e, f, flen);
	assert_int_equal(out_frag6(e, f, R6_HLEN, h, &peer, IPPROTO_UDP),
			 flen);
	free(b);
	free(f);
	free(g2);
	free(g);
}

/* A later fragment whose first fragment's flow is gone, and another in its
 * place (the same slot of the table, a minute later, or in the same
 * second) is dropped: it doesn't join another flow
 */
static void test_frag6_replaced(void **state)
{
	struct env *e = *state;
	struct in6_addr peer = addr6(PEER6), peer2 = addr6(PEER6B);
	uint8_t *g;
	uint32_t idx, idx2;
	size_t len, n;
	int later;

	rng_seed(4501);
	for (later = 1; later >= 0; later--) {
		idx = flow_add6(&e->c, IPPROTO_UDP, 7000, &peer, 7001, HPORT);
		g = guest6(IPPROTO_UDP, PEER6, 7000, 7001, 64, 0, 2000, &len);
		n = len - R6_HLEN - FRAG6_DATA;
		frag6_at(e, g, 0, FRAG6_DATA, true, 77);
		assert_int_equal(e->c.fwd.raw.nout, 1);
		e->c.fwd.raw.nout = 0;

		ct_remove(&e->c.fwd.ct, idx);
		e->c.now += later ? 60 : 0;
		idx2 = flow_add6(&e->c, IPPROTO_UDP, 7000, &peer2, 7001,
				 HPORT);
		assert_int_equal(idx2, idx);
		frag6_at(e, g, FRAG6_DATA, n, false, 77);
		if (e->c.fwd.raw.nout)
			fail_msg("a later fragment whose flow was replaced%s "
				 "went out to %s's flow", later ?
				 " a minute later" : " in the same second",
				 PEER6B);
		assert_int_equal(e->c.tap.tx.used, 0);
		ct_remove(&e->c.fwd.ct, idx2);
		free(g);
	}
}

/* Once the guest is gone (fwd_forget()), the later fragments of its
 * datagrams go nowhere, even when a flow between the same addresses
 * starts in the same slot of the table in the same second
 */
static void test_frag6_forget(void **state)
{
	struct env *e = *state;
	struct in6_addr peer = addr6(PEER6);
	uint32_t idx;
	uint8_t *g;
	size_t len;

	rng_seed(4503);
	idx = flow_add6(&e->c, IPPROTO_UDP, 7000, &peer, 7001, HPORT);
	g = guest6(IPPROTO_UDP, PEER6, 7000, 7001, 64, 0, 2000, &len);
	frag6_at(e, g, 0, FRAG6_DATA, true, 78);
	assert_int_equal(e->c.fwd.raw.nout, 1);
	e->c.fwd.raw.nout = 0;

	fwd_forget(&e->c);
	assert_int_equal(e->c.fwd.ct.count, 0);
	assert_int_equal(flow_add6(&e->c, IPPROTO_UDP, 7001, &peer, 7002,
				   HPORT), idx);
	frag6_at(e, g, FRAG6_DATA, len - R6_HLEN - FRAG6_DATA, false, 78);
	if (e->c.fwd.raw.nout)
		fail_msg("fwd_forget() kept where the guest's fragments go");
	assert_int_equal(e->c.tap.tx.used, 0);
	free(g);
}

/* A first fragment whose hop limit runs out draws time exceeded; the
 * later ones go nowhere, and draw nothing more
 */
static void test_frag6_hop_limit(void **state)
{
	struct env *e = *state;
	struct in6_addr peer = addr6(PEER6), gw = addr6(ROUTER6);
	uint8_t *g, *f, *b;
	size_t len, flen;

	rng_seed(4502);
	flow_add6(&e->c, IPPROTO_UDP, 7000, &peer, 7001, HPORT);
	g = guest6(IPPROTO_UDP, PEER6, 7000, 7001, 1, 0, 2000, &len);
	f = frag6_build(g, 0, FRAG6_DATA, true, 9, &flen);
	b = from_guest6(e, f, flen);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	check_icmp6_error(e, f, flen, R6_TIME_EXCEEDED, 0, 0, &gw);
	free(b);
	free(f);
	frag6_at(e, g, FRAG6_DATA, len - R6_HLEN - FRAG6_DATA, false, 9);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(g);
}

/* expect_dropped6() - fwd_from_guest() sends nothing, tells nothing */
static void expect_dropped6(struct env *e, const uint8_t *g, size_t len)
{
	free(from_guest6(e, g, len));
	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* Destinations that aren't global unicast, or are the guest's own; next
 * headers and ICMPv6 types that aren't forwarded, port 0: dropped without
 * a word. Link-local destinations, the router address with --no-map-gw
 * among them: refused, administratively prohibited, from the router
 */
static void test_dropped6(void **state)
{
	static const char *const dsts[] = { "ff02::1", "ff0e::101", "::1",
					    "::", "::ffff:1.2.3.4",
					    GUEST6, "2001:db8:42::77" };
	struct env *e = *state;
	struct in6_addr peer = addr6(PEER6), gw = e->c.guest6.gw;
	uint8_t *g, *b;
	size_t i, len;

	rng_seed(4291);
	e->c.guest6.own[e->c.guest6.own_n++] = addr6("2001:db8:42::77");
	for (i = 0; i < ARRAY_SIZE(dsts); i++) {
		struct in6_addr d = addr6(dsts[i]);

		flow_add6(&e->c, IPPROTO_UDP, 5353, &d, 5353,
			  (uint16_t)(HPORT + i));
		g = guest6(IPPROTO_UDP, dsts[i], 5353, 5353, 64, 0, 20, &len);
		expect_dropped6(e, g, len);
		free(g);
	}

	/* GRE; an echo reply; port 0 */
	g = guest6(IPPROTO_UDP, PEER6, 5353, 5353, 64, 0, 20, &len);
	g[R6_NH] = 47;
	expect_dropped6(e, g, len);
	free(g);
	g = guest6(IPPROTO_ICMPV6, PEER6, 5353, 0, 64, 0, 20, &len);
	g[R6_HLEN] = R6_ECHO_REPLY;
	l6_csum_set(&e->c.guest6.addr, &peer, IPPROTO_ICMPV6, g + R6_HLEN,
		    len - R6_HLEN);
	expect_dropped6(e, g, len);
	free(g);
	g = guest6(IPPROTO_UDP, PEER6, 5353, 0, 64, 0, 20, &len);
	expect_dropped6(e, g, len);
	free(g);

	/* Link-local: refused. The router address is link-local too: only
	 * mapped is it reached
	 */
	g = guest6(IPPROTO_UDP, "fe80::5", 5353, 5353, 64, 0, 20, &len);
	b = from_guest6(e, g, len);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	check_icmp6_error(e, g, len, R6_UNREACH, R6_CODE_ADMIN, 0, &gw);
	free(b);
	free(g);
	e->c.opts.no_map_gw = true;
	g = guest6(IPPROTO_UDP, ROUTER6, 5353, 5353, 64, 0, 20, &len);
	b = from_guest6(e, g, len);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	check_icmp6_error(e, g, len, R6_UNREACH, R6_CODE_ADMIN, 0, &gw);
	free(b);
	free(g);
	e->c.opts.no_map_gw = false;
}

/* A TCP segment other than a SYN, for no flow, over IPv6: a reset from
 * the destination, checksum right over the pseudo-header; nothing sent
 */
static void test_no_flow_reset6(void **state)
{
	struct env *e = *state;
	struct in6_addr peer = addr6(PEER6);
	uint8_t ip[100], *g, *b;
	size_t len;

	rng_seed(9293);
	g = guest6(IPPROTO_TCP, PEER6, 40000, 443, 64, 8, 10, &len);
	g[R6_HLEN + 8 + R_TCP_FLAGS] = R_ACK;
	l6_csum_set(&e->c.guest6.addr, &peer, IPPROTO_TCP, g + R6_HLEN + 8,
		    len - R6_HLEN - 8);
	b = from_guest6(e, g, len);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(ring_next6(e, ip, sizeof(ip)), R6_HLEN + 20);
	assert_int_equal(ip[R6_NH], IPPROTO_TCP);
	assert_true(addr6_eq(ip + R6_SRC, &peer));
	assert_true(addr6_eq(ip + R6_DST, &e->c.guest6.addr));
	assert_int_equal(ip[R6_HLEN + R_TCP_FLAGS], R_RST);
	assert_int_equal(get16(ip + R6_HLEN), 443);
	assert_int_equal(get16(ip + R6_HLEN + 2), 40000);
	assert_int_equal(get32(ip + R6_HLEN + R_TCP_SEQ),
			 get32(g + R6_HLEN + 8 + R_TCP_ACK));
	assert_true(ip6_l4_csum_ok(ip));
	assert_int_equal(e->c.fwd.ct.count, 0);
	free(b);
	free(g);
}

/* A new flow merd can't have (no host port here): a reset for a SYN,
 * "administratively prohibited" from the router address for the rest
 */
static void test_refused6(void **state)
{
	struct env *e = *state;
	struct in6_addr gw = addr6(ROUTER6);
	uint8_t ip[200], *g, *b;
	size_t len;

	rng_seed(4443);
	g = guest6(IPPROTO_UDP, PEER6, 5000, 53, 64, 0, 30, &len);
	b = from_guest6(e, g, len);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	check_icmp6_error(e, g, len, R6_UNREACH, R6_CODE_ADMIN, 0, &gw);
	free(b);
	free(g);

	g = guest6(IPPROTO_ICMPV6, PEER6, 5000, 0, 64, 0, 30, &len);
	b = from_guest6(e, g, len);
	check_icmp6_error(e, g, len, R6_UNREACH, R6_CODE_ADMIN, 0, &gw);
	free(b);
	free(g);

	g = guest6(IPPROTO_TCP, PEER6, 5000, 80, 64, 0, 0, &len);
	b = from_guest6(e, g, len);
	assert_int_equal(ring_next6(e, ip, sizeof(ip)), R6_HLEN + 20);
	assert_int_equal(ip[R6_HLEN + R_TCP_FLAGS], R_RST | R_ACK);
	assert_int_equal(get32(ip + R6_HLEN + R_TCP_ACK),
			 get32(g + R6_HLEN + R_TCP_SEQ) + 1);
	assert_true(ip6_l4_csum_ok(ip));
	assert_int_equal(e->c.fwd.ct.count, 0);
	free(b);
	free(g);
}

/* reply6() - a packet from the peer's side of IPv6 flow @t, answering
 * it: to the host port, checksum right; for TCP, with @flags, @seq and
 * acknowledging @ack (0: the guest's SYN and data, as the flow's window
 * asks)
 *
 * Return: the packet, exact-size buffer
 */
static uint8_t *reply6(const struct trip6 *t, uint8_t flags, uint32_t seq,
		       uint32_t ack, size_t payload, uint8_t hops,
		       size_t *len)
{
	struct flowpkt6 fp = {
		.proto = t->proto, .saddr = addr6_at(t->h + R6_DST),
		.daddr = addr6_at(t->h + R6_SRC),
		.sport = get16(t->h + R6_HLEN + 2),
		.dport = get16(t->h + R6_HLEN), .hops = hops,
		.tclass = (uint8_t)rng(), .flow = rng(), .flags = flags,
		.payload = payload,
	};
	uint8_t *p, *l4;

	if (t->proto == IPPROTO_ICMPV6)
		fp.sport = get16(t->h + R6_HLEN + R_ICMP_ID);
	p = pkt6_build(&fp, len);
	l4 = p + R6_HLEN;
	if (t->proto == IPPROTO_ICMPV6)
		l4[0] = R6_ECHO_REPLY;
	if (t->proto == IPPROTO_TCP) {
		put32(l4 + R_TCP_SEQ, seq);
		put32(l4 + R_TCP_ACK, ack ? ack :
		      get32(t->g + t->goff + R_TCP_SEQ) +
		      (uint32_t)(t->glen - t->goff - 20) + 1);
	}
	l6_csum_set(&fp.saddr, &fp.daddr, t->proto, l4, *len - R6_HLEN);
	return p;
}

/* check_head6() - an IPv6 packet for the guest of flow @t: from the
 * address the guest sent to, to its own, hop limit @hops, traffic class
 * and flow label of @r, transport checksum right, to the guest's port
 * (echo identifier) from @r's
 */
static void check_head6(const struct env *e, const struct trip6 *t,
			const uint8_t *ip, size_t len, const uint8_t *r,
			uint8_t hops)
{
	size_t io = id_off(t->proto);

	assert_int_equal(get32(ip + R6_VTF), get32(r + R6_VTF));
	assert_int_equal(get16(ip + R6_PLEN), len - R6_HLEN);
	assert_int_equal(ip[R6_NH], t->proto);
	assert_int_equal(ip[R6_HOPS], hops);
	assert_true(addr6_eq(ip + R6_SRC, &t->daddr));
	assert_true(addr6_eq(ip + R6_DST, &e->c.guest6.addr));
	assert_true(ip6_l4_csum_ok(ip));
	if (t->proto == IPPROTO_ICMPV6) {
		assert_int_equal(get16(ip + R6_HLEN + io),
				 get16(t->g + t->goff + io));
		return;
	}
	assert_int_equal(get16(ip + R6_HLEN), get16(r + R6_HLEN));
	assert_int_equal(get16(ip + R6_HLEN + 2), get16(t->g + t->goff));
}

/* same_l4_but6() - two transport segments of @proto, @len bytes, are the
 * same but for the port merd rewrites toward the guest (the destination
 * port, or the echo identifier) and the checksum
 */
static void same_l4_but6(const uint8_t *a, const uint8_t *b, size_t len,
			 uint8_t proto)
{
	size_t co = l4_check_off(proto);

	if (proto == IPPROTO_ICMPV6) {
		assert_memory_equal(a, b, co);
		assert_memory_equal(a + R_ICMP_ID + 2, b + R_ICMP_ID + 2,
				    len - R_ICMP_ID - 2);
		return;
	}
	assert_memory_equal(a, b, 2);
	assert_memory_equal(a + 4, b + 4, co - 4);
	assert_memory_equal(a + co + 2, b + co + 2, len - co - 2);
}

/* check_reply6() - the next frame for the guest is @r translated
 * (check_head6()), hop limit one less unless from the host itself, and
 * all but ports and checksum as it was
 */
static void check_reply6(struct env *e, const struct trip6 *t,
			 const uint8_t *r, size_t rlen, bool from_host)
{
	static uint8_t ip[70000];
	size_t len = ring_next6(e, ip, sizeof(ip));

	assert_int_equal(len, rlen);
	check_head6(e, t, ip, len, r, (uint8_t)(r[R6_HOPS] -
						(from_host ? 0 : 1)));
	same_l4_but6(ip + R6_HLEN, r + R6_HLEN, len - R6_HLEN, t->proto);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* Answers of each protocol reach the guest translated, and move the flow
 * on: UDP answered, TCP SYN received, ICMPv6 refreshed
 */
static void test_reply6(void **state)
{
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP,
					  IPPROTO_ICMPV6 };
	static const enum ct_state after[] = { CT_UDP, CT_TCP_SYN_RECV,
					       CT_ICMP };
	static const char *const dsts[] = { PEER6, ROUTER6 };
	struct env *e = *state;
	static struct trip6 t;
	const struct flow *f;
	size_t i, k, len;
	uint8_t *r, *copy;

	rng_seed(2460);
	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		for (k = 0; k < ARRAY_SIZE(dsts); k++) {
			trip_out6(e, &t, protos[i], dsts[k], 0, 8 * k, 300,
				  (uint16_t)(HPORT + i * 2 + k));
			e->c.now += 5;
			r = reply6(&t, R_SYN | R_ACK, rng(), 0, rng() % 1400,
				   50, &len);
			copy = dup_exact(r, len);
			from_host(e, r, len);
			check_reply6(e, &t, copy, len, k == 1);
			f = &e->c.fwd.ct.flows[t.idx];
			assert_int_equal(f->state, after[i]);
			assert_int_equal(f->expires, e->c.now +
					 e->c.fwd.ct.timeout[after[i]]);
			free(copy);
			free(r);
		}
	}
}

/* Answers with a bad checksum, or UDP without one (RFC 8200 8.1: IPv6
 * has none of that), are dropped; with the pseudo-header sum only
 * (offloaded, or GRO's), they pass, and the guest gets a full checksum.
 * With hop limit 1, from the network: not passed on; from the host: yes
 */
static void test_reply6_checks(void **state)
{
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP };
	struct env *e = *state;
	static struct trip6 t;
	size_t i, len;
	uint8_t *r, *copy;

	rng_seed(8201);
	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		size_t co = R6_HLEN + l4_check_off(protos[i]);
		struct in6_addr s, d;

		trip_out6(e, &t, protos[i], PEER6, 0, 0, 100,
			  (uint16_t)(HPORT + i));
		r = reply6(&t, R_SYN | R_ACK, 1, 0, 200, 50, &len);
		put16(r + co, get16(r + co) ^ 0x0100);
		from_host(e, r, len);
		assert_int_equal(e->c.tap.tx.used, 0);
		free(r);

		r = reply6(&t, R_SYN | R_ACK, 1, 0, 200, 50, &len);
		s = addr6_at(r + R6_SRC);
		d = addr6_at(r + R6_DST);
		put16(r + co, ref_sum(NULL, 0, pseudo6_sum(&s, &d, protos[i],
							   len - R6_HLEN)));
		copy = dup_exact(r, len);
		from_host(e, r, len);
		check_reply6(e, &t, copy, len, false);
		free(copy);
		free(r);
	}

	trip_out6(e, &t, IPPROTO_UDP, PEER6, 0, 0, 10, HPORT + 2);
	r = reply6(&t, 0, 0, 0, 40, 50, &len);
	put16(r + R6_HLEN + R_UDP_CHECK, 0);
	from_host(e, r, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(r);
	r = reply6(&t, 0, 0, 0, 40, 1, &len);
	from_host(e, r, len);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(r);

	trip_out6(e, &t, IPPROTO_UDP, ROUTER6, 0, 0, 10, HPORT + 3);
	r = reply6(&t, 0, 0, 0, 40, 1, &len);
	copy = dup_exact(r, len);
	from_host(e, r, len);
	check_reply6(e, &t, copy, len, true);
	free(copy);
	free(r);
}

/* tcp6_seg() - a TCP segment of flow @t from the guest (@peer false) or
 * from the peer, as fwd.c must take it: with @flags, @seq, @ack, a header
 * of @thl bytes (options random), @payload bytes, checksum right
 *
 * Return: the packet, exact-size buffer
 */
static uint8_t *tcp6_seg(const struct trip6 *t, bool peer, uint8_t flags,
			 uint32_t seq, uint32_t ack, size_t thl,
			 size_t payload, size_t *len)
{
	struct in6_addr s = addr6_at(peer ? t->h + R6_DST : t->g + R6_SRC);
	struct in6_addr d = addr6_at(peer ? t->h + R6_SRC : t->g + R6_DST);
	const uint8_t *ports = peer ? t->h + R6_HLEN : t->g + t->goff;
	uint8_t *p;

	*len = R6_HLEN + thl + payload;
	p = malloc(*len);
	assert_non_null(p);
	ip6_build(p, 0x0a, 0x54321, *len - R6_HLEN, IPPROTO_TCP, 57, &s, &d);
	tcp_build(p + R6_HLEN, thl, get16(ports + (peer ? 2 : 0)),
		  get16(ports + (peer ? 0 : 2)), seq, ack, flags);
	fill_rand(p + R6_HLEN + thl, payload);
	l6_csum_set(&s, &d, IPPROTO_TCP, p + R6_HLEN, *len - R6_HLEN);
	return p;
}

/* guest_ack6() - the guest acknowledges @ack, its next byte @seq: the
 * segment goes out
 */
static void guest_ack6(struct env *e, const struct trip6 *t, uint32_t seq,
		       uint32_t ack)
{
	uint8_t h[200], *p, *b;
	size_t len;

	p = tcp6_seg(t, false, R_ACK, seq, ack, 20, 0, &len);
	b = from_guest6(e, p, len);
	assert_int_equal(take_out6(e, h, &t->dst), len);
	free(b);
	free(p);
}

/* check_segments6() - the segments merd cut a peer's IPv6 TCP packet @r
 * into (what GRO merged): each fits the guest's MTU, carries the next
 * part of the payload at its sequence number, PSH and FIN on the last
 * only, CWR on the first only, the header as it was but for its length,
 * checksum right
 */
static void check_segments6(struct env *e, const struct trip6 *t,
			    const uint8_t *r, size_t rlen)
{
	static uint8_t ip[70000];
	size_t thl = (size_t)(r[R6_HLEN + R_TCP_DOFF] >> 4) * 4;
	size_t hl = R6_HLEN + thl, payload = rlen - hl;
	size_t mss = e->c.link.mtu - hl, off = 0, n;
	uint8_t flags = r[R6_HLEN + R_TCP_FLAGS];
	unsigned int i = 0;

	while ((n = ring_next6(e, ip, sizeof(ip)))) {
		bool last = off + (n - hl) == payload;
		uint8_t want = flags;

		assert_true(n > hl && n <= e->c.link.mtu);
		assert_true(last || n - hl == mss);
		check_head6(e, t, ip, n, r, (uint8_t)(r[R6_HOPS] - 1));
		assert_int_equal(get32(ip + R6_HLEN + R_TCP_SEQ),
				 (uint32_t)(get32(r + R6_HLEN + R_TCP_SEQ) +
					    off));
		assert_memory_equal(ip + R6_HLEN + R_TCP_ACK,
				    r + R6_HLEN + R_TCP_ACK, 5);
		if (!last)
			want &= (uint8_t)~(R_FIN | R_PSH);
		if (i)
			want &= (uint8_t)~R_CWR;
		assert_int_equal(ip[R6_HLEN + R_TCP_FLAGS], want);
		assert_memory_equal(ip + R6_HLEN + R_TCP_WIN,
				    r + R6_HLEN + R_TCP_WIN, 2);
		assert_memory_equal(ip + R6_HLEN + 18, r + R6_HLEN + 18,
				    thl - 18);
		if (memcmp(ip + hl, r + hl + off, n - hl))
			fail_msg("segment %u: payload differs", i);
		off += n - hl;
		i++;
	}
	assert_int_equal(off, payload);
	assert_int_equal(i, (payload + mss - 1) / mss);
}

/* A TCP packet from the peer larger than the guest's MTU (GRO's) is cut
 * into segments for it, over IPv6 as over IPv4 (tcp_to_guest()), for
 * MTUs from IPv6's least on, headers with options or not
 */
static void test_reply6_segmented(void **state)
{
	static const unsigned int mtus[] = { 1500, R6_MTU_MIN, 1499, 9000 };
	struct env *e = *state;
	static struct trip6 t;
	uint32_t gseq, pseq = 0x7000000;
	size_t len, i;
	uint8_t *p, *copy, h[200];

	rng_seed(8220);
	trip_out6(e, &t, IPPROTO_TCP, PEER6, 443, 0, 0, HPORT);
	gseq = get32(t.g + R6_HLEN + R_TCP_SEQ) + 1;
	p = reply6(&t, R_SYN | R_ACK, pseq++, gseq, 0, 50, &len);
	from_host(e, p, len);
	assert_int_not_equal(ring_next6(e, h, sizeof(h)), 0);
	free(p);
	guest_ack6(e, &t, gseq, pseq);

	for (i = 0; i < 12; i++) {
		size_t thl = 20 + 4 * (rng() % 11);
		size_t payload = 1 + rng() % 12000;

		e->c.link.mtu = mtus[i % ARRAY_SIZE(mtus)];
		p = tcp6_seg(&t, true, (uint8_t)(R_ACK | (rng() & (R_PSH |
				R_CWR | R_ECE))), pseq, gseq, thl, payload,
			     &len);
		copy = dup_exact(p, len);
		from_host(e, p, len);
		check_segments6(e, &t, copy, len);
		pseq += (uint32_t)payload;
		free(copy);
		free(p);

		guest_ack6(e, &t, gseq, pseq);	/* it takes it all */
	}
}

/* A UDP answer larger than the guest's MTU reaches it in fragments that
 * fit (the kernel reassembled it before raw delivery, or GRO merged it),
 * each with a fragment header of merd's: offsets in order, multiples of
 * 8 but the last, M on all but the last, one identification per datagram;
 * put together, they are the answer translated, checksum right
 */
static void test_reply6_fragmented(void **state)
{
	static const unsigned int mtus[] = { 1500, R6_MTU_MIN, 1501, 9000 };
	static const size_t sizes[] = { 1453, 3000, 8952, 20000, 65000 };
	struct env *e = *state;
	static struct trip6 t;
	static uint8_t ip[10000], whole[70000];
	uint32_t last_id = 0;
	size_t i, k;

	rng_seed(8245);
	trip_out6(e, &t, IPPROTO_UDP, PEER6, 0, 0, 10, HPORT);
	for (i = 0; i < ARRAY_SIZE(mtus); i++) {
		for (k = 0; k < ARRAY_SIZE(sizes); k++) {
			size_t len, n, got = 0, frames = 0;
			uint8_t *r, *copy;
			bool more = true;
			uint32_t id = 0;

			e->c.link.mtu = mtus[i];
			r = reply6(&t, 0, 0, 0, sizes[k], 50, &len);
			copy = dup_exact(r, len);
			if (len <= e->c.link.mtu) {
				free(copy);
				free(r);
				continue;
			}
			from_host(e, r, len);
			while ((n = ring_next6(e, ip, sizeof(ip)))) {
				const uint8_t *fh = ip + R6_HLEN;
				uint16_t offlg = get16(fh + R6_FH_OFFLG);
				size_t off = offlg & R6_FH_OFFMASK;
				size_t dl = n - R6_HLEN - R6_FH_LEN;

				assert_true(more);
				assert_true(n <= e->c.link.mtu);
				assert_int_equal(get32(ip + R6_VTF),
						 get32(copy + R6_VTF));
				assert_int_equal(get16(ip + R6_PLEN),
						 n - R6_HLEN);
				assert_int_equal(ip[R6_NH], R6_NH_FRAG);
				assert_int_equal(ip[R6_HOPS], 49);
				assert_true(addr6_eq(ip + R6_SRC, &t.daddr));
				assert_true(addr6_eq(ip + R6_DST,
						     &e->c.guest6.addr));
				assert_int_equal(fh[R6_FH_NH], IPPROTO_UDP);
				assert_int_equal(fh[1], 0);
				if (!frames++)
					id = get32(fh + R6_FH_ID);
				assert_int_equal(get32(fh + R6_FH_ID), id);
				assert_int_equal(off, got);
				more = offlg & R6_FH_MF;
				if (more)
					assert_int_equal(dl % 8, 0);
				memcpy(whole + off, fh + R6_FH_LEN, dl);
				got += dl;
			}
			assert_false(more);
			assert_true(frames >= 2);
			assert_int_not_equal(id, last_id);
			last_id = id;
			assert_int_equal(got, len - R6_HLEN);
			assert_int_equal(get16(whole), get16(copy + R6_HLEN));
			assert_int_equal(get16(whole + 2),
					 get16(t.g + t.goff));
			assert_int_equal(get16(whole + R_UDP_LEN), got);
			assert_true(l6_csum_ok(&t.daddr, &e->c.guest6.addr,
					       IPPROTO_UDP, whole, got));
			assert_memory_equal(whole + 8, copy + R6_HLEN + 8,
					    got - 8);
			free(copy);
			free(r);
		}
	}
}

/* error6_make() - an ICMPv6 error from @from about @h (merd's packet), as
 * a router builds it: to @h's source, hop limit 250, the first @qlen
 * bytes of @h, checksum right over the pseudo-header
 *
 * Return: the error, in an exact-size buffer
 */
static uint8_t *error6_make(const char *from, uint8_t type, uint8_t code,
			    uint32_t info, const uint8_t *h, size_t qlen,
			    size_t *len)
{
	struct in6_addr s = addr6(from), d = addr6_at(h + R6_SRC);
	uint8_t *p, *m;

	*len = R6_HLEN + R6_ICMP_HLEN + qlen;
	p = malloc(*len);
	assert_non_null(p);
	m = p + R6_HLEN;
	ip6_build(p, 0, 0, *len - R6_HLEN, IPPROTO_ICMPV6, 250, &s, &d);
	m[0] = type;
	m[1] = code;
	put32(m + 4, info);
	memcpy(m + R6_ICMP_HLEN, h, qlen);
	l6_csum_set(&s, &d, IPPROTO_ICMPV6, m, *len - R6_HLEN);
	return p;
}

/* check_translated6() - the next frame for the guest is the error @err
 * translated: from @src, to the guest, hop limit one less, fitting 1280
 * bytes and the guest's MTU; the ICMPv6 header the same but for its
 * checksum, right over the new pseudo-header; the quote the guest's
 * packet as merd sent it, but with the guest's addresses and ports, its
 * own checksum right again when it is all there
 */
static void check_translated6(struct env *e, const struct trip6 *t,
			      const uint8_t *err, size_t elen,
			      const struct in6_addr *src)
{
	static uint8_t ip[2000];
	size_t len = ring_next6(e, ip, sizeof(ip)), max, ql, ql4, co, io;
	const uint8_t *q = ip + R6_HLEN + R6_ICMP_HLEN, *gl4 = t->g + t->goff;

	max = MIN((size_t)e->c.link.mtu, (size_t)R6_MTU_MIN);
	assert_int_equal(len, MIN(elen, max));
	assert_int_equal(e->c.tap.tx.used, 0);

	/* Outer header: new, to the guest */
	assert_int_equal(get32(ip + R6_VTF), 6U << R6_VERSION_SHIFT);
	assert_int_equal(get16(ip + R6_PLEN), len - R6_HLEN);
	assert_int_equal(ip[R6_NH], IPPROTO_ICMPV6);
	assert_int_equal(ip[R6_HOPS], 249);
	assert_true(addr6_eq(ip + R6_SRC, src));
	assert_true(addr6_eq(ip + R6_DST, &e->c.guest6.addr));

	/* ICMPv6: as sent, checksum right for what the guest gets */
	assert_memory_equal(ip + R6_HLEN, err + R6_HLEN, 2);
	assert_memory_equal(ip + R6_HLEN + 4, err + R6_HLEN + 4, 4);
	assert_true(l6_csum_ok(src, &e->c.guest6.addr, IPPROTO_ICMPV6,
			       ip + R6_HLEN, len - R6_HLEN));

	/* The quoted header: merd's, with the guest's addresses */
	ql = len - R6_HLEN - R6_ICMP_HLEN;
	assert_true(ql >= R6_HLEN + 8);
	assert_memory_equal(q, t->h, R6_SRC);
	assert_true(addr6_eq(q + R6_SRC, &e->c.guest6.addr));
	assert_true(addr6_eq(q + R6_DST, &t->daddr));

	/* The quoted transport header: the guest's ports, its checksum
	 * right for its own addresses if it is all there
	 */
	ql4 = ql - R6_HLEN;
	co = l4_check_off(t->proto);
	io = id_off(t->proto);
	assert_int_equal(get16(q + R6_HLEN + io), get16(gl4 + io));
	if (t->proto != IPPROTO_ICMPV6) {
		assert_int_equal(get16(q + R6_HLEN + 2), get16(gl4 + 2));
		assert_memory_equal(q + R6_HLEN + 4, gl4 + 4,
				    MIN(co, ql4) - 4);
	}
	if (ql4 >= co + 2)
		assert_memory_equal(q + R6_HLEN + co + 2, gl4 + co + 2,
				    MIN(ql4, t->hlen - R6_HLEN) - co - 2);
	if (ql4 == t->hlen - R6_HLEN)
		assert_true(l6_csum_ok(&e->c.guest6.addr, &t->daddr, t->proto,
				       q + R6_HLEN, ql4));
}

/* error6_in() - an ICMPv6 error about @t's packet (its first @q bytes),
 * through fwd_from_host(), must reach the guest translated, from @src
 */
static void error6_in(struct env *e, const struct trip6 *t, const char *from,
		      uint8_t type, uint8_t code, uint32_t info, size_t q,
		      const struct in6_addr *src)
{
	size_t len;
	uint8_t *err = error6_make(from, type, code, info, t->h, q, &len);
	uint8_t *copy = dup_exact(err, len);

	from_host(e, err, len);
	check_translated6(e, t, copy, len, src);
	free(copy);
	free(err);
}

/* ICMPv6 errors about each kind of flow, quoting 48 bytes or all, from a
 * router on the way, from the destination, from the host itself:
 * translated for the guest, from the router that sent them, the peer as
 * the guest knows it, or the guest's router
 */
static void test_error_in6(void **state)
{
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP,
					  IPPROTO_ICMPV6 };
	struct env *e = *state;
	struct in6_addr nr = addr6(NETROUTER6), gw = addr6(ROUTER6);
	static struct trip6 t;
	size_t i, k;

	rng_seed(4443);
	for (i = 0; i < 3 * ARRAY_SIZE(protos); i++) {
		size_t payload = rng() % 2 ? 1 + rng() % 100 : 1200;

		trip_out6(e, &t, protos[i % 3], PEER6, 0, 8 * (i % 2),
			  payload, (uint16_t)(HPORT + i));
		for (k = 0; k < 2; k++) {
			size_t q = k ? t.hlen : QUOTE6;

			error6_in(e, &t, NETROUTER6, R6_TIME_EXCEEDED, 0, 0, q,
				  &nr);
			error6_in(e, &t, PEER6, R6_UNREACH, R6_CODE_PORT, 0,
				  q, &t.daddr);
			error6_in(e, &t, HOST6, R6_TOO_BIG, 0, 1400, q, &gw);
			/* RFC 4443 3.4: the pointer, here to the quote */
			error6_in(e, &t, NETROUTER6, R6_PARAM_PROB, 0, QUOTE6,
				  q, &nr);
		}
	}
}

/* Errors about a flow to the router address (the host's loopback) come
 * from the router address; errors cut to a small guest MTU keep their
 * checksum right
 */
static void test_error_in6_mapped_and_cut(void **state)
{
	struct env *e = *state;
	struct in6_addr gw = addr6(ROUTER6), nr = addr6(NETROUTER6);
	static struct trip6 t;
	unsigned int mtu;

	rng_seed(4444);
	trip_out6(e, &t, IPPROTO_UDP, ROUTER6, 0, 0, 1200, HPORT);
	error6_in(e, &t, "::1", R6_UNREACH, R6_CODE_PORT, 0, t.hlen, &gw);

	trip_out6(e, &t, IPPROTO_TCP, PEER6, 0, 0, 1400, HPORT + 1);
	for (mtu = R6_MTU_MIN - 200; mtu <= 1500; mtu += 71) {
		e->c.link.mtu = mtu;
		error6_in(e, &t, NETROUTER6, R6_TIME_EXCEEDED, 0, 0, t.hlen,
			  &nr);
	}
}

/* Errors that aren't about a flow of ours (another port, another peer),
 * aren't errors (an echo request, a type above 127), quote a packet with
 * extension headers (merd sends none), or are cut short of the quoted
 * ports: nothing for the guest
 */
static void test_error_in6_ignored(void **state)
{
	struct env *e = *state;
	static struct trip6 t;
	static uint8_t x[2000];
	uint8_t *err;
	size_t len, cut;

	rng_seed(4445);
	trip_out6(e, &t, IPPROTO_UDP, PEER6, 0, 0, 100, HPORT);

	memcpy(x, t.h, t.hlen);
	put16(x + R6_HLEN, HPORT + 7);
	err = error6_make(NETROUTER6, R6_UNREACH, R6_CODE_PORT, 0, x, QUOTE6,
			  &len);
	from_host(e, err, len);
	free(err);
	memcpy(x, t.h, t.hlen);
	x[R6_DST + 15] ^= 1;
	err = error6_make(NETROUTER6, R6_UNREACH, R6_CODE_PORT, 0, x, QUOTE6,
			  &len);
	from_host(e, err, len);
	free(err);
	assert_int_equal(e->c.tap.tx.used, 0);

	err = error6_make(NETROUTER6, R6_ECHO_REQUEST, 0, 0, t.h, QUOTE6,
			  &len);
	from_host(e, err, len);
	free(err);
	err = error6_make(NETROUTER6, R6_REDIRECT, 0, 0, t.h, QUOTE6, &len);
	from_host(e, err, len);
	free(err);
	assert_int_equal(e->c.tap.tx.used, 0);

	/* The same packet behind 8 bytes of destination options */
	memcpy(x, t.h, R6_HLEN);
	x[R6_NH] = R6_NH_DSTOPTS;
	put16(x + R6_PLEN, (uint16_t)(t.hlen - R6_HLEN + 8));
	memset(x + R6_HLEN, 0, 8);
	x[R6_HLEN] = IPPROTO_UDP;
	x[R6_HLEN + 2] = 1;
	x[R6_HLEN + 3] = 4;
	memcpy(x + R6_HLEN + 8, t.h + R6_HLEN, t.hlen - R6_HLEN);
	err = error6_make(NETROUTER6, R6_UNREACH, R6_CODE_PORT, 0, x,
			  t.hlen + 8, &len);
	from_host(e, err, len);
	free(err);
	assert_int_equal(e->c.tap.tx.used, 0);

	for (cut = 0; cut < R6_HLEN + 8; cut++) {
		err = error6_make(NETROUTER6, R6_UNREACH, R6_CODE_PORT, 0,
				  t.h, cut, &len);
		from_host(e, err, len);
		free(err);
	}
	assert_int_equal(e->c.tap.tx.used, 0);

	err = error6_make(NETROUTER6, R6_UNREACH, R6_CODE_PORT, 0, t.h,
			  QUOTE6, &len);
	from_host(e, err, len);
	assert_int_not_equal(e->c.tap.tx.used, 0);
	free(err);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
#define T6(name) cmocka_unit_test_setup_teardown(name, env6_setup, \
						 env_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unicast),
		T(test_dst_table),
		T(test_dst_prefixes),
		T(test_out),
		T(test_out_udp_no_checksum),
		T(test_ttl_exceeded),
		T(test_frag_needed),
		T(test_dropped),
		T(test_no_flow_reset),
		T(test_out_reassembled),
		T(test_error_in),
		T(test_error_in_mapped_and_cut),
		T(test_error_in_ignored),
		T(test_reply),
		T(test_reply_checksums),
		T(test_reply_ttl),
		T(test_reply_fragmented),
		T(test_reply_fragmented_options),
		T(test_udp_aging),
		T6(test_out6),
		T6(test_out6_dns),
		T6(test_hop_limit6),
		T6(test_too_big6),
		T6(test_frag6),
		T6(test_frag6_no_first),
		T6(test_frag6_replaced),
		T6(test_frag6_forget),
		T6(test_frag6_hop_limit),
		T6(test_dropped6),
		T6(test_no_flow_reset6),
		T6(test_refused6),
		T6(test_reply6),
		T6(test_reply6_checks),
		T6(test_reply6_segmented),
		T6(test_reply6_fragmented),
		T6(test_error_in6),
		T6(test_error_in6_mapped_and_cut),
		T6(test_error_in6_ignored),
	};
#undef T6
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
