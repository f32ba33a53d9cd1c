// SPDX-License-Identifier: GPL-2.0-or-later
/* test_dhcp.c - unit tests for dhcp.c: the DHCP server for the guest
 *
 * Copyright (c) 2026 merd authors
 *
 * Requests are built here (BOOTP fixed part, magic cookie, options) inside
 * Ethernet/IPv4/UDP frames with valid checksums, each in a buffer
 * malloc()ed to its exact length so that AddressSanitizer catches reads
 * past it. Replies are taken apart by an independent parser that checks
 * the IPv4 and UDP checksums, the BOOTP fields, the option area and where
 * the reply is sent (RFC 2131 4.1), before each test looks at the values.
 */

#include <stdio.h>
#include <time.h>

#include "dhcp.h"
#include "ip4.h"
#include "unit.h"

#define REPLY_MAX	1536	/* merd.c's buffer for replies */
#define BOOTP_LEN	240	/* fixed part and magic cookie */
#define XID		0x1a2b3c4d

/* Offsets in the BOOTP message, RFC 2131 2, Figure 1 */
#define B_OP		0
#define B_HTYPE		1
#define B_HLEN		2
#define B_XID		4
#define B_FLAGS		10
#define B_CIADDR	12
#define B_YIADDR	16
#define B_SIADDR	20
#define B_GIADDR	24
#define B_CHADDR	28
#define B_SNAME		44
#define B_FILE		108
#define B_MAGIC		236

/* Message types, RFC 2132 9.6 */
enum { DISCOVER = 1, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM };

static const char *const search[] = { "example.org", "corp.example.net" };

/* ip() - a dotted address, network order */
static uint32_t ip(const char *dotted)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, dotted, &a), 1);
	return a.s_addr;
}

/* raw32() - four bytes as stored, i.e. an address in network order */
static uint32_t raw32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* ctx_init() - the guest's identity: 10.42.0.2/24 behind 10.42.0.1 */
static void ctx_init(struct ctx *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->guest4.addr.s_addr = ip("10.42.0.2");
	c->guest4.prefix_len = 24;
	c->guest4.gw.s_addr = ip("10.42.0.1");
	c->guest4.dns[0].s_addr = ip("192.0.2.53");
	c->guest4.dns[1].s_addr = ip("198.51.100.53");
	c->guest4.dns_n = 2;
	for (i = 0; i < ARRAY_SIZE(search); i++)
		strcpy(c->link.search[i], search[i]);
	c->link.search_n = (int)ARRAY_SIZE(search);
	c->link.mtu = 1400;
	memcpy(c->link.mac, our_mac, ETH_ALEN);
	c->tap.fd = -1;
}

/* setup() - cmocka fixture: a configured context */
static int setup(void **state)
{
	struct ctx *c = malloc(sizeof(*c));

	assert_non_null(c);
	ctx_init(c);
	*state = c;
	return 0;
}

/* teardown() - cmocka fixture: free it */
static int teardown(void **state)
{
	free(*state);
	return 0;
}

/**
 * struct msg - a request being built
 * @b:		BOOTP message
 * @len:	bytes of @b used
 * @maxsize:	option 57 value given, 0 if none
 */
struct msg {
	uint8_t b[1400];
	size_t len;
	unsigned int maxsize;
};

/* msg_opt() - append an option */
static void msg_opt(struct msg *m, uint8_t code, const void *data, size_t len)
{
	assert_true(m->len + 2 + len <= sizeof(m->b));
	m->b[m->len++] = code;
	m->b[m->len++] = (uint8_t)len;
	memcpy(m->b + m->len, data, len);
	m->len += len;
	if (code == 57 && len == 2)
		m->maxsize = get16(data);
}

/* msg_opt32() - append an option holding an address */
static void msg_opt32(struct msg *m, uint8_t code, const char *dotted)
{
	uint32_t a = ip(dotted);

	msg_opt(m, code, &a, 4);
}

/* msg_init() - a request of @type from our client, options still open */
static void msg_init(struct msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->b[B_OP] = 1;
	m->b[B_HTYPE] = 1;
	m->b[B_HLEN] = 6;
	put32(m->b + B_XID, XID);
	memcpy(m->b + B_CHADDR, guest_mac, ETH_ALEN);
	put32(m->b + B_MAGIC, 0x63825363);
	m->len = BOOTP_LEN;
	if (type)
		msg_opt(m, 53, &type, 1);
}

/* msg_end() - close the options and pad to 300 bytes, as clients do */
static void msg_end(struct msg *m)
{
	m->b[m->len++] = 255;
	if (m->len < 300)
		m->len = 300;
}

/**
 * msg_one() - a whole request of @type with one option after the type
 * @m:		request to build
 * @type:	message type, in option 53; 0 for none
 * @code:	code of the option
 * @data:	its data
 * @len:	its length
 */
static void msg_one(struct msg *m, uint8_t type, uint8_t code,
		    const void *data, size_t len)
{
	msg_init(m, type);
	msg_opt(m, code, data, len);
	msg_end(m);
}

/* frame_build() - @m in a UDP datagram from port 68 to 67, in a malloc()ed
 * frame of exactly the right length
 */
static uint8_t *frame_build(const struct msg *m, uint32_t saddr,
			    uint32_t daddr, size_t *len)
{
	const uint8_t *dmac = daddr == htonl(INADDR_BROADCAST) ?
			      bcast : our_mac;
	size_t size = ETH_HLEN + 20 + 8 + m->len;
	uint8_t *f = malloc(size);

	assert_non_null(f);
	*len = ip4_udp_frame(f, size, dmac, guest_mac, saddr, daddr, 68, 67,
			     7, m->b, m->len);
	assert_int_equal(*len, size);
	return f;
}

/* serve() - what merd does with a frame: check IPv4, call dhcp()
 *
 * Return: reply length, copied to @reply (REPLY_MAX bytes), 0 for none
 */
static size_t serve(struct ctx *c, const uint8_t *f, size_t len,
		    uint8_t *reply)
{
	uint8_t *out = malloc(REPLY_MAX);
	struct pkt l3 = { f + ETH_HLEN, len - ETH_HLEN };
	bool bound = false;
	struct ip_view v;
	size_t n;

	assert_non_null(out);
	assert_int_equal(ip4_parse(l3, &v), 0);
	n = dhcp(c, &v, out, REPLY_MAX, &bound);
	assert_true(n <= REPLY_MAX);
	memcpy(reply, out, n);
	free(out);
	return n;
}

/**
 * struct reply - a reply, checked and taken apart
 * @f:		frame
 * @len:	frame length
 * @ip_len:	IPv4 total length
 * @bp:		BOOTP message, in @f
 * @bp_len:	its length
 * @n:		number of option instances
 * @code:	code of each instance, in order
 * @off:	offset of its data in @bp
 * @olen:	its length
 */
struct reply {
	uint8_t f[REPLY_MAX];
	size_t len;
	size_t ip_len;
	const uint8_t *bp;
	size_t bp_len;
	size_t n;
	uint8_t code[512];
	size_t off[512];
	uint8_t olen[512];
};

/* reply_parse() - check a reply frame from headers to end option, and
 * index its options; fails the test if anything is wrong
 */
static void reply_parse(struct reply *r)
{
	const uint8_t *f = r->f, *iph = f + ETH_HLEN, *udp = iph + 20;
	uint8_t pseudo[12];
	size_t i, ulen, off;

	assert_true(r->len >= ETH_HLEN + 20 + 8 + BOOTP_LEN);
	assert_memory_equal(f + 6, our_mac, ETH_ALEN);
	assert_int_equal(get16(f + 12), 0x0800);

	/* IPv4: plain header, whole packet, valid checksum, from the server */
	assert_int_equal(iph[0], 0x45);
	r->ip_len = get16(iph + 2);
	assert_int_equal(r->ip_len, r->len - ETH_HLEN);
	assert_int_equal(get16(iph + 6) & 0x3fff, 0);	/* not a fragment */
	assert_true(iph[8] > 0);			/* TTL */
	assert_int_equal(iph[9], 17);
	assert_int_equal(ref_sum(iph, 20, 0), 0xffff);
	assert_int_equal(raw32(iph + 12), ip("10.42.0.1"));

	/* UDP: 67 to 68, length, checksum present and valid */
	assert_int_equal(get16(udp), 67);
	assert_int_equal(get16(udp + 2), 68);
	ulen = get16(udp + 4);
	assert_int_equal(ulen, r->ip_len - 20);
	assert_int_not_equal(get16(udp + 6), 0);
	memcpy(pseudo, iph + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 17;
	pseudo[10] = (uint8_t)(ulen >> 8);
	pseudo[11] = (uint8_t)ulen;
	assert_int_equal(ref_sum(udp, ulen, ref_sum(pseudo, 12, 0)), 0xffff);

	/* BOOTP: a reply, Ethernet, at least 300 bytes (RFC 1542 2.1) */
	r->bp = udp + 8;
	r->bp_len = ulen - 8;
	assert_true(r->bp_len >= 300);
	assert_int_equal(r->bp[B_OP], 2);
	assert_int_equal(r->bp[B_HTYPE], 1);
	assert_int_equal(r->bp[B_HLEN], 6);
	assert_int_equal(get32(r->bp + B_MAGIC), 0x63825363);
	assert_int_equal(raw32(r->bp + B_GIADDR), 0);

	/* Options: each inside the message, then an end option, then only
	 * padding; an option repeats only as consecutive instances (RFC 3396)
	 */
	r->n = 0;
	for (off = BOOTP_LEN;; ) {
		assert_true(off < r->bp_len);
		if (r->bp[off] == 255)
			break;
		if (r->bp[off] == 0) {
			off++;
			continue;
		}
		assert_true(off + 2 <= r->bp_len);
		assert_true(off + 2 + r->bp[off + 1] <= r->bp_len);
		for (i = 0; i < r->n; i++) {
			if (r->code[i] == r->bp[off] && i != r->n - 1)
				fail_msg("option %u repeated apart",
					 r->bp[off]);
		}
		assert_true(r->n < ARRAY_SIZE(r->code));
		r->code[r->n] = r->bp[off];
		r->olen[r->n] = r->bp[off + 1];
		r->off[r->n++] = off + 2;
		off += 2U + r->bp[off + 1];
	}
	for (off++; off < r->bp_len; off++)
		assert_int_equal(r->bp[off], 0);
}

/* opt() - data of an option, instances concatenated (RFC 3396)
 *
 * Return: its length, -1 if absent
 */
static int opt(const struct reply *r, uint8_t code, uint8_t *out)
{
	int len = -1;
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->code[i] != code)
			continue;
		if (len < 0)
			len = 0;
		memcpy(out + len, r->bp + r->off[i], r->olen[i]);
		len += r->olen[i];
	}
	return len;
}

/* opt_u32() - an option holding one 32-bit value, as stored */
static uint32_t opt_u32(const struct reply *r, uint8_t code)
{
	uint8_t d[2048];

	assert_int_equal(opt(r, code, d), 4);
	return raw32(d);
}

/* reply_type() - value of option 53 */
static int reply_type(const struct reply *r)
{
	uint8_t d[2048];

	assert_int_equal(opt(r, 53, d), 1);
	return d[0];
}

/* check_dst() - RFC 2131 4.1: a NAK, or a reply to a client without an
 * address that asked for it, is broadcast; others go to ciaddr if the
 * client has one, else to yiaddr, at the client's hardware address
 */
static void check_dst(const struct reply *r, const uint8_t *req)
{
	uint32_t ciaddr = raw32(req + B_CIADDR), daddr;
	const uint8_t *iph = r->f + ETH_HLEN;

	daddr = raw32(iph + 16);
	if (reply_type(r) == NAK ||
	    (!ciaddr && (get16(req + B_FLAGS) & 0x8000))) {
		assert_memory_equal(r->f, bcast, ETH_ALEN);
		assert_int_equal(daddr, htonl(INADDR_BROADCAST));
	} else {
		assert_memory_equal(r->f, req + B_CHADDR, ETH_ALEN);
		assert_int_equal(daddr, ciaddr ? ciaddr :
					raw32(r->bp + B_YIADDR));
	}
}

/* check_reply() - what every reply to @req must be: well formed, the
 * client's transaction and address, from this server, sent where RFC
 * 2131 says, no larger than the MTU
 */
static void check_reply(struct reply *r, const uint8_t *req, size_t req_len)
{
	int type;

	reply_parse(r);
	assert_true(req_len >= BOOTP_LEN);
	assert_memory_equal(r->bp + B_XID, req + B_XID, 4);
	assert_memory_equal(r->bp + B_FLAGS, req + B_FLAGS, 2);
	assert_memory_equal(r->bp + B_CHADDR, req + B_CHADDR, 16);
	type = reply_type(r);
	assert_true(type == OFFER || type == ACK || type == NAK);
	if (type == NAK)
		assert_int_equal(raw32(r->bp + B_YIADDR), 0);
	else if (raw32(r->bp + B_YIADDR))
		assert_int_equal(raw32(r->bp + B_YIADDR), ip("10.42.0.2"));
	assert_int_equal(opt_u32(r, 54), ip("10.42.0.1"));
	check_dst(r, req);
	assert_true(r->ip_len <= 1400);
}

/* exchange() - send @m from @saddr to @daddr, check any reply
 *
 * Return: true if merd replied, the reply in @r
 */
static bool exchange(struct ctx *c, const struct msg *m,
		     const char *saddr, const char *daddr, struct reply *r)
{
	size_t len, limit;
	uint8_t *f = frame_build(m, ip(saddr), ip(daddr), &len);

	r->len = serve(c, f, len, r->f);
	free(f);
	if (!r->len)
		return false;

	check_reply(r, m->b, m->len);
	limit = m->maxsize > 576 ? m->maxsize : 576;
	assert_true(r->ip_len <= limit);
	return true;
}

/* check_search() - option 119 decodes to the configured search list */
static void check_search(struct ctx *c, const struct reply *r)
{
	char names[SEARCH_MAX][256];
	uint8_t d[2048];
	int len = opt(r, 119, d), n, i;

	assert_true(len > 0);
	n = unit_dns_decode(d, (size_t)len, names, SEARCH_MAX);
	assert_int_equal(n, c->link.search_n);
	for (i = 0; i < n; i++)
		assert_string_equal(names[i], c->link.search[i]);
}

/* check_values() - every configuration option present has its exact value */
static void check_values(struct ctx *c, const struct reply *r)
{
	uint8_t d[2048];
	int len;

	if (opt(r, 1, d) >= 0)
		assert_int_equal(opt_u32(r, 1), ip("255.255.255.0"));
	if (opt(r, 3, d) >= 0)
		assert_int_equal(opt_u32(r, 3), ip("10.42.0.1"));
	if (opt(r, 28, d) >= 0)
		assert_int_equal(opt_u32(r, 28), ip("10.42.0.255"));
	len = opt(r, 6, d);
	if (len >= 0) {
		assert_int_equal(len, 8);
		assert_int_equal(raw32(d), ip("192.0.2.53"));
		assert_int_equal(raw32(d + 4), ip("198.51.100.53"));
	}
	len = opt(r, 15, d);
	if (len >= 0) {
		assert_int_equal(len, strlen(c->link.search[0]));
		assert_memory_equal(d, c->link.search[0], (size_t)len);
	}
	if (opt(r, 119, d) >= 0)
		check_search(c, r);
	len = opt(r, 26, d);
	if (len >= 0) {
		assert_int_equal(len, 2);
		assert_int_equal(get16(d), 1400);
	}
	if (opt(r, 51, d) >= 0)
		assert_int_equal(ntohl(opt_u32(r, 51)), 600);
	if (opt(r, 58, d) >= 0)
		assert_int_equal(ntohl(opt_u32(r, 58)), 300);
	if (opt(r, 59, d) >= 0)
		assert_int_equal(ntohl(opt_u32(r, 59)), 525);
}

/* check_codes() - the reply's options, by code, are exactly @codes:
 * message type first, lease options anywhere, @prl_order in that order
 */
static void check_codes(const struct reply *r, const uint8_t *codes,
			size_t n, const uint8_t *prl_order, size_t prl_n)
{
	uint8_t seen[64];
	size_t i, k = 0, j = 0;

	for (i = 0; i < r->n; i++) {
		if (i && r->code[i] == r->code[i - 1])
			continue;	/* a split option's next instance */
		assert_true(k < sizeof(seen));
		seen[k++] = r->code[i];
	}
	assert_int_equal(seen[0], 53);
	assert_int_equal(k, n);
	for (i = 0; i < n; i++)
		assert_non_null(memchr(seen, codes[i], k));

	for (i = 0; i < k && j < prl_n; i++) {
		if (seen[i] == prl_order[j])
			j++;
	}
	if (j != prl_n)
		fail_msg("options out of the requested order at %zu", j);
}

/* DISCOVER with a parameter request list: OFFER with the host's identity,
 * requested options in the requested order, unicast to the client
 */
static void test_discover_prl(void **state)
{
	static const uint8_t prl[] = { 119, 26, 6, 12, 28, 1, 42, 3, 15 };
	static const uint8_t order[] = { 119, 26, 6, 28, 1, 3, 15 };
	static const uint8_t codes[] = { 53, 54, 51, 58, 59, 119, 26, 6, 28,
					 1, 3, 15 };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	msg_one(&m, DISCOVER, 55, prl, sizeof(prl));

	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_int_equal(reply_type(&r), OFFER);
	assert_int_equal(raw32(r.bp + B_YIADDR), ip("10.42.0.2"));
	assert_int_equal(raw32(r.bp + B_CIADDR), 0);
	assert_memory_equal(r.f, guest_mac, ETH_ALEN);
	assert_int_equal(raw32(r.f + ETH_HLEN + 16), ip("10.42.0.2"));
	check_codes(&r, codes, sizeof(codes), order, sizeof(order));
	check_values(c, &r);
}

/* Another order, and a subset: the reply follows it */
static void test_discover_prl_order(void **state)
{
	static const uint8_t prl[] = { 15, 3, 26, 1 };
	static const uint8_t codes[] = { 53, 54, 51, 58, 59, 15, 3, 26, 1 };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	msg_one(&m, DISCOVER, 55, prl, sizeof(prl));

	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_int_equal(reply_type(&r), OFFER);
	check_codes(&r, codes, sizeof(codes), prl, sizeof(prl));
	check_values(c, &r);
}

/* A list split over two instances of option 55 (RFC 3396) is one list */
static void test_discover_prl_split(void **state)
{
	static const uint8_t prl1[] = { 26, 3 }, prl2[] = { 1, 6 };
	static const uint8_t order[] = { 26, 3, 1, 6 };
	static const uint8_t codes[] = { 53, 54, 51, 58, 59, 26, 3, 1, 6 };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	msg_init(&m, DISCOVER);
	msg_opt(&m, 55, prl1, sizeof(prl1));
	msg_opt(&m, 55, prl2, sizeof(prl2));
	msg_end(&m);

	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_codes(&r, codes, sizeof(codes), order, sizeof(order));
}

/* No parameter request list: every option merd has */
static void test_discover_no_prl(void **state)
{
	static const uint8_t codes[] = { 53, 54, 51, 58, 59, 1, 3, 6, 15,
					 119, 26 };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	msg_init(&m, DISCOVER);
	msg_end(&m);

	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_int_equal(reply_type(&r), OFFER);
	assert_int_equal(raw32(r.bp + B_YIADDR), ip("10.42.0.2"));
	check_codes(&r, codes, sizeof(codes), NULL, 0);
	check_values(c, &r);
}

/* The broadcast flag: the OFFER is broadcast, the flag echoed */
static void test_discover_broadcast_flag(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	msg_init(&m, DISCOVER);
	m.b[B_FLAGS] = 0x80;
	msg_end(&m);

	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_int_equal(reply_type(&r), OFFER);
	assert_memory_equal(r.f, bcast, ETH_ALEN);
	assert_int_equal(raw32(r.f + ETH_HLEN + 16), htonl(INADDR_BROADCAST));
	assert_int_equal(get16(r.bp + B_FLAGS), 0x8000);
	assert_int_equal(raw32(r.bp + B_YIADDR), ip("10.42.0.2"));
}

/* INFORM: ACK with configuration, no lease, no address, to ciaddr */
static void test_inform(void **state)
{
	static const uint8_t prl[] = { 1, 3, 6, 15, 119, 26, 51 };
	static const uint8_t codes[] = { 53, 54, 1, 3, 6, 15, 119, 26 };
	struct ctx *c = *state;
	uint8_t d[2048];
	struct reply r;
	struct msg m;

	msg_init(&m, INFORM);
	put32(m.b + B_CIADDR, ntohl(ip("10.42.0.2")));
	msg_opt(&m, 55, prl, sizeof(prl));
	msg_end(&m);

	assert_true(exchange(c, &m, "10.42.0.2", "255.255.255.255", &r));
	assert_int_equal(reply_type(&r), ACK);
	assert_int_equal(raw32(r.bp + B_YIADDR), 0);
	assert_int_equal(raw32(r.bp + B_CIADDR), ip("10.42.0.2"));
	assert_int_equal(opt(&r, 51, d), -1);
	assert_int_equal(opt(&r, 58, d), -1);
	assert_int_equal(opt(&r, 59, d), -1);
	assert_memory_equal(r.f, guest_mac, ETH_ALEN);
	assert_int_equal(raw32(r.f + ETH_HLEN + 16), ip("10.42.0.2"));
	check_codes(&r, codes, sizeof(codes), prl, 6);
	check_values(c, &r);

	/* Unicast to the server works the same */
	assert_true(exchange(c, &m, "10.42.0.2", "10.42.0.1", &r));
	assert_int_equal(reply_type(&r), ACK);
}

/* request() - a REQUEST with, optionally, a server id and requested IP */
static void request(struct msg *m, const char *srvid, const char *reqip,
		    const char *ciaddr)
{
	msg_init(m, REQUEST);
	if (ciaddr)
		put32(m->b + B_CIADDR, ntohl(ip(ciaddr)));
	if (reqip)
		msg_opt32(m, 50, reqip);
	if (srvid)
		msg_opt32(m, 54, srvid);
	msg_end(m);
}

/* check_ack() - an ACK giving the host's address with its lease */
static void check_ack(struct ctx *c, const struct reply *r)
{
	uint8_t d[2048];

	assert_int_equal(reply_type(r), ACK);
	assert_int_equal(raw32(r->bp + B_YIADDR), ip("10.42.0.2"));
	assert_int_equal(opt(r, 51, d), 4);
	assert_int_equal(opt(r, 1, d), 4);
	assert_int_equal(opt(r, 3, d), 4);
	check_values(c, r);
}

/* check_nak() - a NAK: server id and message only, no address, broadcast */
static void check_nak(const struct reply *r)
{
	static const uint8_t codes[] = { 53, 54, 56 };
	uint8_t d[2048];

	assert_int_equal(reply_type(r), NAK);
	assert_int_equal(raw32(r->bp + B_YIADDR), 0);
	assert_int_equal(raw32(r->bp + B_CIADDR), 0);
	assert_true(opt(r, 56, d) > 0);
	check_codes(r, codes, sizeof(codes), NULL, 0);
	assert_memory_equal(r->f, bcast, ETH_ALEN);
	assert_int_equal(raw32(r->f + ETH_HLEN + 16), htonl(INADDR_BROADCAST));
}

/* SELECTING: our server id and the offered address, ACK to the client */
static void test_request_selecting(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	request(&m, "10.42.0.1", "10.42.0.2", NULL);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_ack(c, &r);
	assert_memory_equal(r.f, guest_mac, ETH_ALEN);
	assert_int_equal(raw32(r.f + ETH_HLEN + 16), ip("10.42.0.2"));
}

/* SELECTING another server: not ours to answer */
static void test_request_other_server(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	request(&m, "10.42.0.9", "10.42.0.2", NULL);
	assert_false(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
}

/* SELECTING us but asking for another address: NAK */
static void test_request_selecting_wrong_ip(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	request(&m, "10.42.0.1", "10.42.0.99", NULL);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_nak(&r);

	/* ...or for none */
	request(&m, "10.42.0.1", NULL, NULL);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_nak(&r);
}

/* INIT-REBOOT: the remembered address is the host's (ACK) or not (NAK) */
static void test_request_init_reboot(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	request(&m, NULL, "10.42.0.2", NULL);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_ack(c, &r);
	assert_memory_equal(r.f, guest_mac, ETH_ALEN);

	request(&m, NULL, "192.168.1.50", NULL);
	m.b[B_FLAGS] = 0x80;
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_nak(&r);
	assert_int_equal(get16(r.bp + B_FLAGS), 0x8000);
}

/* RENEWING (unicast to us) and REBINDING (broadcast): ciaddr decides */
static void test_request_renewing(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	request(&m, NULL, NULL, "10.42.0.2");
	assert_true(exchange(c, &m, "10.42.0.2", "10.42.0.1", &r));
	check_ack(c, &r);
	assert_int_equal(raw32(r.bp + B_CIADDR), ip("10.42.0.2"));
	assert_memory_equal(r.f, guest_mac, ETH_ALEN);
	assert_int_equal(raw32(r.f + ETH_HLEN + 16), ip("10.42.0.2"));

	/* The broadcast flag doesn't matter to a client with an address */
	m.b[B_FLAGS] = 0x80;
	assert_true(exchange(c, &m, "10.42.0.2", "255.255.255.255", &r));
	check_ack(c, &r);
	assert_int_equal(raw32(r.f + ETH_HLEN + 16), ip("10.42.0.2"));

	request(&m, NULL, NULL, "10.42.0.99");
	assert_true(exchange(c, &m, "10.42.0.99", "10.42.0.1", &r));
	check_nak(&r);
}

/* RELEASE and DECLINE are taken note of, never answered */
static void test_release_decline(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	msg_init(&m, RELEASE);
	put32(m.b + B_CIADDR, ntohl(ip("10.42.0.2")));
	msg_opt32(&m, 54, "10.42.0.1");
	msg_end(&m);
	assert_false(exchange(c, &m, "10.42.0.2", "10.42.0.1", &r));

	msg_init(&m, DECLINE);
	msg_opt32(&m, 50, "10.42.0.2");
	msg_opt32(&m, 54, "10.42.0.1");
	msg_end(&m);
	assert_false(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
}

/* Only datagrams to the broadcast address or to the server are served, and
 * relayed requests aren't
 */
static void test_not_for_us(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	msg_init(&m, DISCOVER);
	msg_end(&m);
	assert_false(exchange(c, &m, "0.0.0.0", "10.42.0.99", &r));
	assert_false(exchange(c, &m, "0.0.0.0", "10.42.0.255", &r));
	assert_true(exchange(c, &m, "0.0.0.0", "10.42.0.1", &r));

	put32(m.b + B_GIADDR, ntohl(ip("10.42.0.1")));
	assert_false(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
}

/* for_server() - what dhcp_for_server() says of a DISCOVER to @dst, UDP
 * port @port, its IPv4 header byte @off set to @val (checksum fixed)
 * unless @off is 0
 */
static bool for_server(struct ctx *c, const char *dst, uint16_t port,
		       size_t off, uint8_t val)
{
	struct msg m;
	struct ip_view v;
	uint8_t *f, *ih;
	struct pkt l3;
	size_t len;
	bool ret;

	msg_init(&m, DISCOVER);
	msg_end(&m);
	f = frame_build(&m, ip("0.0.0.0"), ip(dst), &len);
	ih = f + ETH_HLEN;
	ih[20 + 2] = (uint8_t)(port >> 8);
	ih[20 + 3] = (uint8_t)port;
	if (off) {
		uint32_t sum = 0;
		size_t i;

		ih[off] = val;
		ih[10] = ih[11] = 0;
		for (i = 0; i < 20; i += 2)
			sum += (uint32_t)ih[i] << 8 | ih[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		ih[10] = (uint8_t)(~sum >> 8);
		ih[11] = (uint8_t)~sum;
	}
	l3.p = ih;
	l3.len = len - ETH_HLEN;
	assert_int_equal(ip4_parse(l3, &v), 0);
	ret = dhcp_for_server(c, &v);
	free(f);
	return ret;
}

/* What merd.c hands to dhcp() rather than forward: UDP to port 67, to the
 * broadcast address or the gateway (the server), whole; the rest, other
 * destinations, ports, protocols, fragments, isn't
 */
static void test_for_server(void **state)
{
	struct ctx *c = *state;

	assert_true(for_server(c, "255.255.255.255", 67, 0, 0));
	assert_true(for_server(c, "10.42.0.1", 67, 0, 0));
	assert_false(for_server(c, "10.42.0.99", 67, 0, 0));
	assert_false(for_server(c, "10.42.0.255", 67, 0, 0));
	assert_false(for_server(c, "192.0.2.67", 67, 0, 0));
	assert_false(for_server(c, "255.255.255.255", 68, 0, 0));
	assert_false(for_server(c, "10.42.0.1", 53, 0, 0));
	assert_false(for_server(c, "255.255.255.255", 67, 9, IPPROTO_TCP));
	assert_false(for_server(c, "255.255.255.255", 67, 6, 0x20)); /* MF */
	assert_false(for_server(c, "255.255.255.255", 67, 7, 0x01)); /* off */
	assert_true(for_server(c, "255.255.255.255", 67, 6, 0x40));  /* DF */
}

/* The host renumbered (host.c): a renewal, rebinding or INIT-REBOOT of the
 * old lease is refused, even for an address that stayed (the prefix may
 * have changed); a new SELECTING is acknowledged. Renewals still unicast
 * to the gateway before the change reach the server.
 */
static void test_request_renumbered(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	c->guest4.renumbered = true;
	c->guest4.gw_prev.s_addr = ip("10.42.0.254");
	assert_true(for_server(c, "10.42.0.254", 67, 0, 0));

	request(&m, NULL, NULL, "10.42.0.2");
	assert_true(exchange(c, &m, "10.42.0.2", "10.42.0.254", &r));
	check_nak(&r);
	assert_true(exchange(c, &m, "10.42.0.2", "255.255.255.255", &r));
	check_nak(&r);
	request(&m, NULL, "10.42.0.2", NULL);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_nak(&r);

	request(&m, "10.42.0.1", "10.42.0.2", NULL);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_ack(c, &r);
	c->guest4.renumbered = false;
	c->guest4.gw_prev.s_addr = 0;
	assert_false(for_server(c, "10.42.0.254", 67, 0, 0));
}

/* The shortest replies are still 300-byte BOOTP messages, zero padded */
static void test_bootp_min_len(void **state)
{
	static const uint8_t prl[] = { 1 };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	request(&m, "10.42.0.1", "10.42.0.3", NULL);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_nak(&r);
	assert_int_equal(r.bp_len, 300);

	c->link.search_n = 0;
	c->guest4.dns_n = 0;
	msg_one(&m, DISCOVER, 55, prl, sizeof(prl));
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_int_equal(r.bp_len, 300);
}

/* Search lists in RFC 1035 encoding: one label, many labels, 63-byte ones */
static void test_search_encoding(void **state)
{
	static const char *const names[] = {
		"lan", "a.b.c.d.e.example", "x-y_z.test",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
		"abcdefghijk.net",
	};
	static const uint8_t prl[] = { 119, 15 };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		strcpy(c->link.search[i], names[i]);
	c->link.search_n = (int)ARRAY_SIZE(names);

	msg_one(&m, DISCOVER, 55, prl, sizeof(prl));
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_search(c, &r);
	check_values(c, &r);
}

/* long_search() - eight names of 48 bytes: 400 bytes encoded */
static void long_search(struct ctx *c)
{
	int i;

	for (i = 0; i < SEARCH_MAX; i++)
		snprintf(c->link.search[i], sizeof(c->link.search[i]),
			 "host-%d.a-rather-long-subdomain-name.example.com",
			 i);
	c->link.search_n = SEARCH_MAX;
}

/* A search list over 255 bytes goes in consecutive instances of option
 * 119 (RFC 3396) when the client takes large enough messages
 */
static void test_search_long_split(void **state)
{
	struct ctx *c = *state;
	uint16_t max = htons(1400);
	struct reply r;
	size_t i, first = SIZE_MAX, n = 0;
	struct msg m;

	long_search(c);
	msg_one(&m, DISCOVER, 57, &max, 2);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));

	for (i = 0; i < r.n; i++) {
		if (r.code[i] != 119)
			continue;
		if (first == SIZE_MAX)
			first = i;
		assert_int_equal(i, first + n);		/* consecutive */
		n++;
	}
	assert_int_equal(n, 2);
	assert_int_equal(r.olen[first], 255);
	check_search(c, &r);
	check_values(c, &r);
}

/* ...and is left out, the other options kept, when it can't fit in the
 * 576 bytes every client takes (no option 57, or a smaller value in it)
 */
static void test_search_long_no_room(void **state)
{
	static const uint8_t codes[] = { 53, 54, 51, 58, 59, 1, 3, 6, 15, 26 };
	static const uint8_t prl[] = { 119, 1, 3, 6, 15, 26 };
	struct ctx *c = *state;
	uint16_t small = htons(400);
	struct reply r;
	struct msg m;

	long_search(c);
	msg_init(&m, DISCOVER);
	msg_end(&m);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_codes(&r, codes, sizeof(codes), NULL, 0);
	check_values(c, &r);

	msg_init(&m, DISCOVER);
	msg_opt(&m, 57, &small, 2);
	msg_opt(&m, 55, prl, sizeof(prl));
	msg_end(&m);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_true(r.ip_len <= 576);
	check_codes(&r, codes, sizeof(codes), prl + 1, sizeof(prl) - 1);
}

/* fill_name() - a dotted name of @len characters, labels of at most 50 */
static void fill_name(char *s, size_t len, char ch)
{
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = (i % 51 == 50) ? '.' : ch;
	s[len] = '\0';
}

/* Options filling the 576 bytes exactly fit, end option included; one
 * byte more and the last option is left out, rather than going over
 */
static void test_max_size_boundary(void **state)
{
	static const uint8_t all[] = { 53, 54, 51, 58, 59, 1, 3, 6, 15, 119,
				       26 };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	/* Names of a and b bytes: options take 27 (53, 54, 51, 58, 59) +
	 * 6 + 6 + 10 + (2 + a) + (2 + (a + 2) + (b + 2)) + 4 = 61 + 2a + b
	 * bytes; 576 - 20 - 8 - 240 = 308 leave 307 and the end option
	 */
	msg_init(&m, DISCOVER);
	msg_end(&m);
	fill_name(c->link.search[0], 100, 'a');
	fill_name(c->link.search[1], 46, 'b');
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_int_equal(r.ip_len, 576);
	check_codes(&r, all, sizeof(all), NULL, 0);
	check_values(c, &r);

	fill_name(c->link.search[1], 47, 'b');
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_codes(&r, all, sizeof(all) - 1, NULL, 0);
	check_values(c, &r);
}

/* RFC 2132 9.10: 576 is the least value of option 57; a smaller one
 * doesn't make merd leave options out that fit in 576 bytes
 */
static void test_max_size_below_minimum(void **state)
{
	static const uint8_t all[] = { 53, 54, 51, 58, 59, 1, 3, 6, 15, 119,
				       26 };
	struct ctx *c = *state;
	uint16_t small = htons(300);
	struct reply r;
	struct msg m;
	int i;

	/* 8 DNS servers and 4 names: about 230 bytes of options */
	for (i = 0; i < DNS_MAX; i++)
		c->guest4.dns[i].s_addr = htonl(0xc0000200 + (uint32_t)i);
	c->guest4.dns_n = DNS_MAX;
	for (i = 0; i < 4; i++)
		fill_name(c->link.search[i], 24, (char)('a' + i));
	c->link.search_n = 4;

	msg_one(&m, DISCOVER, 57, &small, 2);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_true(r.ip_len > 300);
	check_codes(&r, all, sizeof(all), NULL, 0);
	check_search(c, &r);
}

/* Regression tests of bugs the tests above found in dhcp.c */

/* With a jumbo MTU and a client taking large messages, the reply must
 * still fit the buffer dhcp() is given (merd.c's: 1536 bytes), leaving out
 * what doesn't fit; dhcp() builds up to 1728 bytes of BOOTP instead, and
 * then returns 0: the DISCOVER goes unanswered
 */
static void test_bug_reply_exceeds_buffer(void **state)
{
	struct ctx *c = *state;
	uint16_t max = htons(9000);
	struct reply r;
	struct msg m;
	int i;

	c->link.mtu = 9000;
	for (i = 0; i < SEARCH_MAX; i++)
		fill_name(c->link.search[i], 140, (char)('a' + i));
	c->link.search_n = SEARCH_MAX;

	msg_one(&m, DISCOVER, 57, &max, 2);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
}

/* With an MTU below 576, a client's option 57 above it lifts the limit
 * past both the MTU and 576 bytes: "must fit ... the MTU" isn't kept
 */
static void test_bug_small_mtu_ignored(void **state)
{
	struct ctx *c = *state;
	uint16_t max = htons(1400);
	struct reply r;
	struct msg m;

	c->link.mtu = 500;
	long_search(c);
	msg_one(&m, DISCOVER, 57, &max, 2);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_true(r.ip_len <= 576);
}

/* assert_dropped() - merd doesn't answer @m, broadcast from 0.0.0.0 */
static void assert_dropped(struct ctx *c, const struct msg *m)
{
	struct reply r;

	if (exchange(c, m, "0.0.0.0", "255.255.255.255", &r))
		fail_msg("malformed request answered");
}

/* valid() - a valid DISCOVER with a parameter request list */
static void valid(struct msg *m)
{
	static const uint8_t prl[] = { 1, 3, 6 };

	msg_one(m, DISCOVER, 55, prl, sizeof(prl));
}

/* Options that overrun the message, or no end option: dropped */
static void test_malformed_options(void **state)
{
	struct ctx *c = *state;
	uint8_t name[40] = "guest";
	struct msg m;

	/* Host name option longer than what follows */
	msg_init(&m, DISCOVER);
	msg_opt(&m, 12, name, sizeof(name));
	m.b[m.len - sizeof(name) - 1] = sizeof(name) + 1;
	assert_dropped(c, &m);

	/* A length byte as the very last byte */
	msg_init(&m, DISCOVER);
	m.b[m.len++] = 12;
	assert_dropped(c, &m);

	/* No end option, with or without padding after the options */
	msg_init(&m, DISCOVER);
	assert_dropped(c, &m);
	m.len = 300;
	assert_dropped(c, &m);

	/* No options at all */
	msg_init(&m, 0);
	assert_dropped(c, &m);
	msg_end(&m);
	assert_dropped(c, &m);		/* no type: plain BOOTP */

	/* The valid request these are made from is answered */
	valid(&m);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255",
			     &(struct reply){ 0 }));
}

/* A message cut anywhere before its first option ends: dropped, and
 * nothing read past it
 */
static void test_truncated(void **state)
{
	struct ctx *c = *state;
	struct msg m;
	size_t len;

	for (len = 0; len < BOOTP_LEN + 4; len++) {
		valid(&m);
		m.len = len;
		assert_dropped(c, &m);
	}
}

/* Fixed fields that make it something else than a DHCP request */
static void test_malformed_header(void **state)
{
	struct ctx *c = *state;
	struct msg m;

	valid(&m);
	m.b[B_MAGIC + 3] ^= 1;
	assert_dropped(c, &m);

	valid(&m);
	m.b[B_OP] = 2;
	assert_dropped(c, &m);

	valid(&m);
	m.b[B_HLEN] = 16;
	assert_dropped(c, &m);

	valid(&m);
	m.b[B_HLEN] = 0;
	assert_dropped(c, &m);

	valid(&m);
	m.b[B_HTYPE] = 6;
	assert_dropped(c, &m);
}

/**
 * assert_dropped_opt() - merd doesn't answer a request with one more option
 * @c:		context
 * @type:	message type given first in option 53, 0 for none
 * @code:	code of the option added after it
 * @data:	its data
 * @len:	its length
 */
static void assert_dropped_opt(struct ctx *c, uint8_t type,
			       uint8_t code, const void *data, size_t len)
{
	struct msg m;

	msg_one(&m, type, code, data, len);
	assert_dropped(c, &m);
}

/* Options with the wrong length or value for their kind */
static void test_malformed_values(void **state)
{
	static const uint8_t two[2] = { DISCOVER, 0 }, zero = 0, nine = 9;
	static const uint8_t type = DISCOVER, four[4] = { 10, 42, 0, 2 };
	struct ctx *c = *state;

	assert_dropped_opt(c, 0, 53, two, 2);
	assert_dropped_opt(c, 0, 53, &zero, 1);
	assert_dropped_opt(c, 0, 53, &nine, 1);
	assert_dropped_opt(c, DISCOVER, 53, &type, 1);	/* repeated */
	assert_dropped_opt(c, REQUEST, 50, four, 3);
	assert_dropped_opt(c, REQUEST, 54, four, 2);
	assert_dropped_opt(c, DISCOVER, 57, four, 4);
	assert_dropped_opt(c, DISCOVER, 55, four, 0);
}

/* A bad UDP checksum drops the datagram; none at all (zero) is allowed */
static void test_udp_checksum(void **state)
{
	struct ctx *c = *state;
	uint8_t *f, out[REPLY_MAX];
	size_t len;
	struct msg m;

	valid(&m);
	f = frame_build(&m, ip("0.0.0.0"), htonl(INADDR_BROADCAST), &len);
	f[ETH_HLEN + 20 + 6] ^= 0x10;
	assert_int_equal(serve(c, f, len, out), 0);

	f[ETH_HLEN + 20 + 6] = f[ETH_HLEN + 20 + 7] = 0;
	assert_true(serve(c, f, len, out) > 0);

	/* A payload byte changed under a valid checksum */
	free(f);
	f = frame_build(&m, ip("0.0.0.0"), htonl(INADDR_BROADCAST), &len);
	f[ETH_HLEN + 20 + 8 + B_XID] ^= 0x01;
	assert_int_equal(serve(c, f, len, out), 0);
	free(f);
}

/* Option overload (RFC 2131 4.1, RFC 2132 9.3): with 52 = 1, the file
 * field holds options too, here the parameter request list; with 52 = 2
 * the sname field, with 3 both
 */
static void test_overload(void **state)
{
	static const uint8_t order[] = { 26, 3 };
	static const uint8_t codes[] = { 53, 54, 51, 58, 59, 26, 3 };
	static const uint8_t codes3[] = { 53, 54, 51, 58, 59, 26, 3, 15 };
	static const uint8_t one = 1, two = 2, three = 3;
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	msg_one(&m, DISCOVER, 52, &one, 1);
	memcpy(m.b + B_FILE, (uint8_t[]){ 55, 2, 26, 3, 0, 0, 255 }, 7);
	memcpy(m.b + B_SNAME, "not options", 11);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_codes(&r, codes, sizeof(codes), order, sizeof(order));

	msg_one(&m, DISCOVER, 52, &two, 1);
	memcpy(m.b + B_SNAME, (uint8_t[]){ 55, 2, 26, 3, 255 }, 5);
	memcpy(m.b + B_FILE, "pxelinux.0", 10);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_codes(&r, codes, sizeof(codes), order, sizeof(order));

	/* Both: file first, then sname, lists concatenated */
	msg_one(&m, DISCOVER, 52, &three, 1);
	memcpy(m.b + B_FILE, (uint8_t[]){ 55, 2, 26, 3, 255 }, 5);
	memcpy(m.b + B_SNAME, (uint8_t[]){ 55, 1, 15, 255 }, 4);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_codes(&r, codes3, sizeof(codes3), (uint8_t[]){ 26, 3, 15 }, 3);

	/* An overload option in the file field means nothing: sname, not
	 * holding options, isn't parsed
	 */
	msg_one(&m, DISCOVER, 52, &one, 1);
	memcpy(m.b + B_FILE, (uint8_t[]){ 52, 1, 2, 55, 2, 26, 3, 255 }, 8);
	memcpy(m.b + B_SNAME, "not options", 11);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	check_codes(&r, codes, sizeof(codes), order, sizeof(order));

	/* The message type itself may be there */
	msg_one(&m, 0, 52, &one, 1);
	memcpy(m.b + B_FILE, (uint8_t[]){ 53, 1, DISCOVER, 255 }, 4);
	assert_true(exchange(c, &m, "0.0.0.0", "255.255.255.255", &r));
	assert_int_equal(reply_type(&r), OFFER);
}

/* Overloaded fields must be well formed too: an option overrunning the
 * file field (even with bytes after it in the message), a field without
 * end option, a bad overload value: dropped
 */
static void test_overload_malformed(void **state)
{
	static const uint8_t one = 1, two = 2, four = 4;
	struct ctx *c = *state;
	struct msg m;

	msg_one(&m, DISCOVER, 52, &one, 1);
	m.b[B_FILE + 120] = 12;
	m.b[B_FILE + 121] = 20;		/* 6 bytes left in the field */
	assert_dropped(c, &m);

	msg_one(&m, DISCOVER, 52, &one, 1);
	m.b[B_FILE + 126] = 12;
	m.b[B_FILE + 127] = 1;		/* data would be the magic cookie */
	assert_dropped(c, &m);

	msg_one(&m, DISCOVER, 52, &one, 1);
	memcpy(m.b + B_FILE, "pxelinux.0", 10);	/* not options */
	assert_dropped(c, &m);

	msg_init(&m, DISCOVER);
	msg_opt(&m, 52, &two, 1);
	msg_end(&m);			/* sname all padding, no end */
	assert_dropped(c, &m);

	msg_one(&m, DISCOVER, 52, &four, 1);
	m.b[B_FILE] = m.b[B_SNAME] = 255;
	assert_dropped(c, &m);
}

/* mutate() - change @m at random: bytes, option lengths, its length */
static void mutate(struct msg *m)
{
	static const uint8_t special[] = { 0, 1, 2, 3, 4, 6, 52, 53, 55, 57,
					   0x7f, 0x80, 0xfe, 0xff };
	int k = 1 + (int)(rng() % 4);
	size_t off;

	while (k--) {
		switch (rng() % 7) {
		case 0:		/* any byte, anything */
			if (m->len)
				m->b[rng() % m->len] = (uint8_t)rng();
			break;
		case 1:		/* an option byte, a telling value */
			off = m->len > BOOTP_LEN ?
			      BOOTP_LEN + rng() % (m->len - BOOTP_LEN) : 0;
			m->b[off] = special[rng() % sizeof(special)];
			break;
		case 2:		/* a bit of the fixed part */
			m->b[rng() % BOOTP_LEN] ^= (uint8_t)(1 << rng() % 8);
			break;
		case 3:		/* shorter */
			m->len = rng() % (m->len + 1);
			break;
		case 4:		/* longer, with junk */
			off = m->len;
			m->len += rng() % 64;
			m->len = MIN(m->len, sizeof(m->b));
			while (off < m->len)
				m->b[off++] = (uint8_t)rng();
			break;
		case 5:		/* a length of an option, one off */
			if (m->len > BOOTP_LEN + 1) {
				off = BOOTP_LEN + 1 +
				      rng() % (m->len - BOOTP_LEN - 1);
				m->b[off] += rng() % 2 ? 1 : 0xff;
			}
			break;
		default:	/* overload, pointing at whatever is there */
			if (m->len > BOOTP_LEN + 3) {
				m->b[BOOTP_LEN] = 52;
				m->b[BOOTP_LEN + 1] = 1;
				m->b[BOOTP_LEN + 2] = 1 + rng() % 3;
			}
			break;
		}
	}
}

/* seeds() - valid requests of every kind, to start mutations from */
static size_t seeds(struct msg *s)
{
	static const uint8_t prl[] = { 1, 3, 6, 15, 119, 26, 28, 51 };
	static const uint8_t one = 1;
	uint16_t max = htons(1200);
	size_t n = 0;

	msg_init(&s[n], DISCOVER);
	msg_opt(&s[n], 55, prl, sizeof(prl));
	msg_opt(&s[n], 57, &max, 2);
	msg_opt(&s[n], 12, "guest", 5);
	msg_end(&s[n++]);

	request(&s[n++], "10.42.0.1", "10.42.0.2", NULL);
	request(&s[n++], NULL, "10.42.0.2", NULL);
	request(&s[n++], NULL, NULL, "10.42.0.2");
	request(&s[n++], "10.42.0.1", "10.42.0.77", NULL);

	msg_init(&s[n], INFORM);
	put32(s[n].b + B_CIADDR, ntohl(ip("10.42.0.2")));
	msg_opt(&s[n], 55, prl, sizeof(prl));
	msg_end(&s[n++]);

	msg_init(&s[n], DISCOVER);
	s[n].b[B_FLAGS] = 0x80;
	msg_opt(&s[n], 52, &one, 1);
	msg_end(&s[n]);
	memcpy(s[n++].b + B_FILE, (uint8_t[]){ 55, 3, 26, 1, 3, 255 }, 6);

	return n;
}

/* Random changes to valid requests, 20000 of them: never a crash or a read
 * out of bounds (ASan), and every reply is well formed (check_reply())
 */
static void test_mutations(void **state)
{
	struct ctx *c = *state;
	struct msg s[8], m;
	size_t n = seeds(s), i, len;
	unsigned long replies = 0, dropped = 0, bad_ip = 0;
	struct reply r;

	long_search(c);
	c->link.search_n = 4;
	rng_seed(2131);
	for (i = 0; i < 20000; i++) {
		struct pkt l3;
		struct ip_view v;
		uint8_t *f;

		m = s[rng() % n];
		mutate(&m);
		f = frame_build(&m, ip("0.0.0.0"), htonl(INADDR_BROADCAST),
				&len);

		/* Now and then, a header byte too: IPv4 may catch it */
		if (rng() % 16 == 0) {
			size_t at = ETH_HLEN + rng() % (20 + 8);

			f[at] ^= (uint8_t)(1 + rng() % 255);
		}

		l3.p = f + ETH_HLEN;
		l3.len = len - ETH_HLEN;
		if (ip4_parse(l3, &v) || get16(f + ETH_HLEN + 22) != 67) {
			bad_ip++;	/* merd.c wouldn't call dhcp() */
			free(f);
			continue;
		}

		r.len = serve(c, f, len, r.f);
		free(f);
		if (!r.len) {
			dropped++;
			continue;
		}
		replies++;
		check_reply(&r, m.b, m.len);
		check_values(c, &r);
	}

	/* Both ways were taken, many times */
	assert_true(replies > 2000);
	assert_true(dropped > 2000);
	assert_true(bad_ip > 100);
}

/* The largest request a frame carries: an IPv4 datagram of 65535 bytes */
#define BIG_IP_LEN	65535
#define BIG_BOOTP_LEN	(BIG_IP_LEN - 20 - 8)
/* Timing: calls per sample, samples per kind (the median is compared) */
#define BENCH_CALLS	16
#define BENCH_SAMPLES	9
/* The big request may cost this many times the plain one of its size... */
#define BENCH_RATIO	10
/* ...or this much per call, whichever is more: a floor for a machine so
 * fast, or a clock so coarse, that the plain one measures next to nothing
 */
#define BENCH_FLOOR_NS	1000000

/**
 * big_frame() - a DISCOVER as large as a frame allows, in a malloc()ed
 *		 frame of exactly its length
 * @prl:	fill the options (and, overloaded, the file and sname fields)
 *		with parameter request lists of 255 codes each, cycling
 *		through every code with repeats; else with a filler option
 *		of the same size, which merd skips
 * @len:	set to the frame's length
 *
 * Return: the frame
 */
static uint8_t *big_frame(bool prl, size_t *len)
{
	static const uint8_t three = 3;
	uint8_t code = prl ? 55 : 224, *b = calloc(1, BIG_BOOTP_LEN), *f;
	size_t off, i, n = 0, size = ETH_HLEN + BIG_IP_LEN;
	struct msg m;

	assert_non_null(b);
	msg_init(&m, DISCOVER);
	msg_opt(&m, 52, &three, 1);	/* file and sname hold options too */
	memcpy(b, m.b, m.len);
	off = m.len;
	while (off + 2 + 255 + 1 <= BIG_BOOTP_LEN) {
		b[off++] = code;
		b[off++] = 255;
		for (i = 0; i < 255; i++)
			b[off++] = (uint8_t)(n++ * 7);
	}
	memset(b + off, 0, BIG_BOOTP_LEN - off);	/* pad */
	b[off] = 255;
	/* The file and sname fields: a list each, then the end option */
	b[B_FILE] = code;
	b[B_FILE + 1] = 125;
	for (i = 0; i < 125; i++)
		b[B_FILE + 2 + i] = (uint8_t)(n++ * 13);
	b[B_FILE + 127] = 255;
	b[B_SNAME] = code;
	b[B_SNAME + 1] = 61;
	for (i = 0; i < 61; i++)
		b[B_SNAME + 2 + i] = (uint8_t)(n++ * 13);
	b[B_SNAME + 63] = 255;

	f = malloc(size);
	assert_non_null(f);
	*len = ip4_udp_frame(f, size, bcast, guest_mac, ip("0.0.0.0"),
			     htonl(INADDR_BROADCAST), 68, 67, 7, b,
			     BIG_BOOTP_LEN);
	assert_int_equal(*len, size);
	free(b);
	return f;
}

/* ns_now() - CLOCK_MONOTONIC, nanoseconds */
static uint64_t ns_now(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* bench_sample() - nanoseconds per dhcp() call on a frame, over
 * BENCH_CALLS calls; every call must answer
 */
static uint64_t bench_sample(struct ctx *c, const struct ip_view *v,
			     uint8_t *out)
{
	uint64_t t0 = ns_now();
	bool bound;
	int i;

	for (i = 0; i < BENCH_CALLS; i++)
		assert_true(dhcp(c, v, out, REPLY_MAX, &bound) > 0);
	return (ns_now() - t0) / BENCH_CALLS;
}

/* cmp_u64() - qsort() order of samples */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Parsing is linear in the request's size: a DISCOVER of 64 KiB filled
 * with parameter request lists (overloaded, 65,000 codes, every one many
 * times) costs no more than BENCH_RATIO times one of the same size filled
 * with an option merd skips (the medians of samples taken in turn, so
 * that a noisy machine slows both alike), or BENCH_FLOOR_NS. A list
 * deduplicated by scanning it, as merd once did, costs about a hundred
 * times more, and fails here. The reply follows the list's first
 * appearance of each code.
 */
static void test_prl_linear(void **state)
{
	struct ctx *c = *state;
	uint64_t big[BENCH_SAMPLES], plain[BENCH_SAMPLES], limit;
	struct ip_view vb, vp;
	size_t lb, lp, i;
	uint8_t *fb = big_frame(true, &lb), *fp = big_frame(false, &lp);
	uint8_t *out = malloc(REPLY_MAX);
	struct pkt l3b = { fb + ETH_HLEN, lb - ETH_HLEN };
	struct pkt l3p = { fp + ETH_HLEN, lp - ETH_HLEN };
	struct reply r;

	assert_non_null(out);
	assert_int_equal(ip4_parse(l3b, &vb), 0);
	assert_int_equal(ip4_parse(l3p, &vp), 0);

	/* The answer: codes 0, 7, 14, ... as the list first names them */
	r.len = serve(c, fb, lb, r.f);
	assert_true(r.len > 0);
	reply_parse(&r);
	assert_int_equal(reply_type(&r), OFFER);
	check_values(c, &r);

	for (i = 0; i < BENCH_SAMPLES; i++) {
		big[i] = bench_sample(c, &vb, out);
		plain[i] = bench_sample(c, &vp, out);
	}
	qsort(big, BENCH_SAMPLES, sizeof(big[0]), cmp_u64);
	qsort(plain, BENCH_SAMPLES, sizeof(plain[0]), cmp_u64);
	limit = MAX(BENCH_RATIO * plain[BENCH_SAMPLES / 2],
		    (uint64_t)BENCH_FLOOR_NS);
	print_message("64 KiB DISCOVER: %llu ns with lists, %llu ns without "
		      "(medians), limit %llu ns\n",
		      (unsigned long long)big[BENCH_SAMPLES / 2],
		      (unsigned long long)plain[BENCH_SAMPLES / 2],
		      (unsigned long long)limit);
	free(out);
	free(fb);
	free(fp);
	if (big[BENCH_SAMPLES / 2] > limit)
		fail_msg("parameter request lists cost %llu ns, more than %llu",
			 (unsigned long long)big[BENCH_SAMPLES / 2],
			 (unsigned long long)limit);
}

int main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_discover_prl),
		T(test_discover_prl_order),
		T(test_discover_prl_split),
		T(test_discover_no_prl),
		T(test_discover_broadcast_flag),
		T(test_inform),
		T(test_request_selecting),
		T(test_request_other_server),
		T(test_request_selecting_wrong_ip),
		T(test_request_init_reboot),
		T(test_request_renewing),
		T(test_release_decline),
		T(test_not_for_us),
		T(test_for_server),
		T(test_request_renumbered),
		T(test_bootp_min_len),
		T(test_search_encoding),
		T(test_search_long_split),
		T(test_search_long_no_room),
		T(test_max_size_boundary),
		T(test_max_size_below_minimum),
		T(test_malformed_options),
		T(test_truncated),
		T(test_malformed_header),
		T(test_malformed_values),
		T(test_udp_checksum),
		T(test_overload),
		T(test_overload_malformed),
		T(test_mutations),
		T(test_bug_reply_exceeds_buffer),
		T(test_bug_small_mtu_ignored),
		T(test_prl_linear),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
