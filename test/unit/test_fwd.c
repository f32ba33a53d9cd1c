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
 */

#include <netinet/ip_icmp.h>

#include "conntrack.h"
#include "frag.h"
#include "fwd.h"
#include "icmp.h"
#include "env.h"

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
	struct env *e = env_new();

	assert_int_equal(ct_init(&e->c.fwd.ct, 64), 0);
	assert_int_equal(frag_init(&e->c.fwd.frag), 0);
	e->c.fwd.scratch = malloc(RAW_PKT_MAX);
	assert_non_null(e->c.fwd.scratch);
	e->c.now = 1000;
	*state = e;
	return 0;
}

/* env_teardown() - cmocka fixture: release it all */
static int env_teardown(void **state)
{
	struct env *e = *state;

	ct_free(&e->c.fwd.ct);
	frag_free(&e->c.fwd.frag);
	free(e->c.fwd.scratch);
	env_free(e);
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
 * not the guest, not its subnet's broadcast address (which /31 and /32
 * don't have, RFC 3021)
 */
static bool dst_model(uint32_t guest, int prefix, uint32_t d)
{
	uint64_t size = 1ULL << (32 - prefix);
	unsigned int o = d >> 24;

	if (o == 0 || o == 127 || o >= 224 || d == guest)
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

/* v4() - an IPv4 address, host order, in its mapped form */
static union inany_addr v4(uint32_t a)
{
	union inany_addr x;

	inany_from_v4(&x, htonl(a));
	return x;
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

	fwd_from_host(&e->c, v);
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

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
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
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
