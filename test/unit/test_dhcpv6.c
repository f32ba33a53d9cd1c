// SPDX-License-Identifier: GPL-2.0-or-later
/* test_dhcpv6.c - unit tests for dhcpv6.c: the DHCPv6 server for the guest
 *
 * Copyright (c) 2026 merd authors
 *
 * Client messages are built here as ISC dhclient -6 sends them (Client
 * Identifier, IA_NA, Option Request Option for 23 and 24, Elapsed Time),
 * inside Ethernet/IPv6/UDP frames from the guest's link-local address to
 * ff02::1:2 with a valid UDP checksum, each frame malloc()ed to its exact
 * length so that AddressSanitizer catches reads past it. Frames go through
 * ip6_parse(), as merd.c's frame handler does, then to dhcpv6().
 *
 * Replies are taken apart by an independent parser that checks the
 * Ethernet, IPv6 and UDP headers (checksum included), that every option,
 * nested ones too, lies inside its parent, and what any reply must hold
 * (RFC 8415 18.3), before each test looks at the values a client acts on.
 */

#include <stdio.h>

#include "dhcpv6.h"
#include "ip6.h"
#include "unit.h"

#define REPLY_MAX	1536	/* merd.c's buffer for replies */
#define XID		0x5a1b2c

/* Message types, RFC 8415 7.3 */
enum { SOLICIT = 1, ADVERTISE, REQUEST, CONFIRM, RENEW, REBIND, REPLY,
       RELEASE, DECLINE, RECONFIGURE, INFO_REQ, RELAY_FORW, RELAY_REPL };

/* Options, RFC 8415 21, RFC 3646 */
enum { O_CLIENTID = 1, O_SERVERID, O_IA_NA, O_IA_TA, O_IAADDR, O_ORO,
       O_PREFERENCE, O_ELAPSED, O_STATUS = 13, O_RAPID = 14, O_DNS = 23,
       O_DOMAINS = 24, O_IA_PD = 25, O_IAPREFIX = 26 };

/* Status codes, RFC 8415 21.13 */
enum { ST_SUCCESS = 0, ST_NOADDRS = 2, ST_NOBINDING = 3, ST_NOTONLINK = 4,
       ST_NOPREFIX = 6 };

/* What the guest is given */
#define HOST_ADDR	"2001:db8:1::42"
#define HOST_PREFIX	"2001:db8:1::"
#define GW_ADDR		"fe80::1"
#define CLIENT_ADDR	"fe80::5054:ff:fe12:3456"
#define IAID		0x12345678U

static const char *const search[] = { "example.org", "corp.example.net" };
static const char *const dns[] = { "2001:db8::53", "2001:db8:ffff::53" };

/* ISC dhclient's DUID-LLT: type 1, hardware 1, time, the guest's MAC */
static const uint8_t client_duid[14] = { 0, 1, 0, 1, 0x2c, 0x1f, 0x3a, 0x00,
					 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
/* The server's DUID-LL: type 3, hardware 1, merd's MAC (RFC 8415 11.4) */
static const uint8_t server_duid[10] = { 0, 3, 0, 1, 0x02, 0x6d, 0x65, 0x72,
					 0x64, 0x01 };

/* a6() - an IPv6 address from text */
static struct in6_addr a6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* ctx_init() - the guest's identity: the host's 2001:db8:1::42/64, behind
 * fe80::1, two DNS servers, two search domains
 */
static void ctx_init(struct ctx *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->guest6.enabled = true;
	c->guest6.addr = a6(HOST_ADDR);
	c->guest6.prefix = a6(HOST_PREFIX);
	c->guest6.prefix_len = 64;
	c->guest6.gw = a6(GW_ADDR);
	for (i = 0; i < ARRAY_SIZE(dns); i++)
		c->guest6.dns[i] = a6(dns[i]);
	c->guest6.dns_n = (int)ARRAY_SIZE(dns);
	for (i = 0; i < ARRAY_SIZE(search); i++)
		strcpy(c->link.search[i], search[i]);
	c->link.search_n = (int)ARRAY_SIZE(search);
	c->link.mtu = 1500;
	memcpy(c->link.mac, our_mac, ETH_ALEN);
	memcpy(c->tap.guest_mac, guest_mac, ETH_ALEN);
	c->tap.guest_mac_known = true;
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
 * struct msg - a client message being built
 * @b:		message
 * @len:	bytes of @b used
 */
struct msg {
	uint8_t b[2048];
	size_t len;
};

/* msg_put() - append bytes */
static void msg_put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	if (n)
		memcpy(m->b + m->len, p, n);
	m->len += n;
}

/* msg_put32() - append a big-endian 32-bit number */
static void msg_put32(struct msg *m, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	msg_put(m, b, 4);
}

/* msg_open() - start an option, its length set by msg_close()
 *
 * Return: where it starts
 */
static size_t msg_open(struct msg *m, uint16_t code)
{
	size_t start = m->len;
	uint8_t h[4] = { 0 };

	put16(h, code);
	msg_put(m, h, 4);
	return start;
}

/* msg_close() - set the length of the option started at @start */
static void msg_close(struct msg *m, size_t start)
{
	put16(m->b + start + 2, (uint16_t)(m->len - start - 4));
}

/* msg_opt() - append a whole option */
static void msg_opt(struct msg *m, uint16_t code, const void *data,
		    size_t len)
{
	size_t s = msg_open(m, code);

	msg_put(m, data, len);
	msg_close(m, s);
}

/* msg_init() - the header of a message of @type, no options */
static void msg_init(struct msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->b[0] = type;
	m->b[1] = (uint8_t)(XID >> 16);
	m->b[2] = (uint8_t)(XID >> 8);
	m->b[3] = (uint8_t)XID;
	m->len = 4;
}

/* msg_iaaddr() - append an IA Address option */
static void msg_iaaddr(struct msg *m, const char *addr, uint32_t pref,
		       uint32_t valid)
{
	struct in6_addr a = a6(addr);
	size_t s = msg_open(m, O_IAADDR);

	msg_put(m, &a, 16);
	msg_put32(m, pref);
	msg_put32(m, valid);
	msg_close(m, s);
}

/* msg_ia_na() - append an IA_NA with dhclient's T1/T2 hints, holding
 * @addr if not NULL
 */
static void msg_ia_na(struct msg *m, uint32_t iaid, const char *addr)
{
	size_t s = msg_open(m, O_IA_NA);

	msg_put32(m, iaid);
	msg_put32(m, 3600);
	msg_put32(m, 5400);
	if (addr)
		msg_iaaddr(m, addr, 7200, 7500);
	msg_close(m, s);
}

/* msg_common() - Client Identifier, ORO for 23 and 24, Elapsed Time */
static void msg_common(struct msg *m)
{
	static const uint8_t oro[] = { 0, O_DNS, 0, O_DOMAINS };
	static const uint8_t elapsed[2] = { 0 };

	msg_opt(m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(m, O_ORO, oro, sizeof(oro));
	msg_opt(m, O_ELAPSED, elapsed, sizeof(elapsed));
}

/**
 * client_msg() - a message as dhclient -6 sends it
 * @m:		message to build
 * @type:	message type
 * @sid:	Server Identifier to add, NULL for none
 * @sid_len:	its length
 * @addr:	address in the IA_NA, NULL for none; no IA_NA for
 *		Information-request
 */
static void client_msg(struct msg *m, uint8_t type, const uint8_t *sid,
		       size_t sid_len, const char *addr)
{
	msg_init(m, type);
	msg_common(m);
	if (sid)
		msg_opt(m, O_SERVERID, sid, sid_len);
	if (type != INFO_REQ)
		msg_ia_na(m, IAID, addr);
}

/* solicit() - dhclient's Solicit: no server, an IA_NA without address */
static void solicit(struct msg *m)
{
	client_msg(m, SOLICIT, NULL, 0, NULL);
}

/* to_us() - a message of @type to this server, for the address given */
static void to_us(struct msg *m, uint8_t type)
{
	client_msg(m, type, server_duid, sizeof(server_duid), HOST_ADDR);
}

/**
 * frame_build() - @m in a UDP datagram from port 546, in a malloc()ed
 *		   Ethernet frame of exactly the right length
 * @m:		message
 * @src:	source address
 * @dst:	destination address
 * @dport:	destination port
 * @len:	set to the frame length
 *
 * The checksum is computed here, with unit.h's reference sum.
 *
 * Return: the frame, to free()
 */
static uint8_t *frame_build(const struct msg *m, const char *src,
			    const char *dst, uint16_t dport, size_t *len)
{
	static const uint8_t mcast[ETH_ALEN] = { 0x33, 0x33, 0, 1, 0, 2 };
	struct in6_addr s = a6(src), d = a6(dst);
	size_t ulen = 8 + m->len, size = ETH_HLEN + 40 + ulen;
	uint8_t *f = malloc(size), *ip6, *udp, pseudo[40] = { 0 };
	uint16_t sum;

	assert_non_null(f);
	ip6 = f + ETH_HLEN;
	udp = ip6 + 40;
	memcpy(f, mcast, ETH_ALEN);
	memcpy(f + ETH_ALEN, guest_mac, ETH_ALEN);
	put16(f + 12, 0x86dd);
	put32(ip6, 0x60000000);
	put16(ip6 + 4, (uint16_t)ulen);
	ip6[6] = 17;
	ip6[7] = 1;
	memcpy(ip6 + 8, &s, 16);
	memcpy(ip6 + 24, &d, 16);
	put16(udp, 546);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)ulen);
	put16(udp + 6, 0);
	memcpy(udp + 8, m->b, m->len);

	memcpy(pseudo, &s, 16);
	memcpy(pseudo + 16, &d, 16);
	put32(pseudo + 32, (uint32_t)ulen);
	pseudo[39] = 17;
	sum = (uint16_t)~ref_sum(udp, ulen, ref_sum(pseudo, 40, 0));
	put16(udp + 6, sum ? sum : 0xffff);

	*len = size;
	return f;
}

/* serve() - what merd does with a frame: ip6_parse(), then dhcpv6()
 *
 * Return: reply length, copied to @reply (REPLY_MAX bytes), 0 for none
 */
static size_t serve(struct ctx *c, const uint8_t *f, size_t len,
		    uint8_t *reply)
{
	uint8_t *out = malloc(REPLY_MAX);
	struct pkt l3 = { f + ETH_HLEN, len - ETH_HLEN };
	struct ip_view v;
	size_t n;

	assert_non_null(out);
	assert_int_equal(ip6_parse(l3, &v), 0);
	n = dhcpv6(c, &v, out, REPLY_MAX);
	assert_true(n <= REPLY_MAX);
	memcpy(reply, out, n);
	free(out);
	return n;
}

/**
 * struct opt - an option, located
 * @code:	option code
 * @p:		its data
 * @len:	its length
 */
struct opt {
	uint16_t code;
	const uint8_t *p;
	size_t len;
};

/* Room for any message: 2048 bytes of empty options */
#define OPTS_MAX	512

/* opts_index() - index an option area, without failing
 *
 * Return: number of options, -1 if one overruns the area or there are more
 *	   than @max
 */
static int opts_index(const uint8_t *p, size_t len, struct opt *o, int max)
{
	size_t off = 0;
	int n = 0;

	while (off < len) {
		if (len - off < 4 || n == max)
			return -1;
		o[n].code = get16(p + off);
		o[n].len = get16(p + off + 2);
		o[n].p = p + off + 4;
		if (o[n].len > len - off - 4)
			return -1;
		off += 4 + o[n].len;
		n++;
	}
	return n;
}

/* opt_find() - the @nth option of @code (0 for the first), NULL if none */
static const struct opt *opt_find(const struct opt *o, int n, uint16_t code,
				  int nth)
{
	int i;

	for (i = 0; i < n; i++) {
		if (o[i].code == code && !nth--)
			return &o[i];
	}
	return NULL;
}

/* opt_count() - how many options of @code there are */
static int opt_count(const struct opt *o, int n, uint16_t code)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		k += o[i].code == code;
	return k;
}

/**
 * struct reply - a reply, checked and taken apart
 * @f:		frame
 * @len:	frame length
 * @ip_len:	IPv6 packet length, fixed header included
 * @msg:	DHCPv6 message, in @f
 * @msg_len:	its length
 * @o:		its options
 * @n:		their number
 */
struct reply {
	uint8_t f[REPLY_MAX];
	size_t len;
	size_t ip_len;
	const uint8_t *msg;
	size_t msg_len;
	struct opt o[OPTS_MAX];
	int n;
};

/**
 * struct ia - an IA_NA, IA_TA or IA_PD of a reply, taken apart
 * @iaid:	IAID
 * @t1:		T1 (IA_NA, IA_PD), 0 for IA_TA
 * @t2:		T2
 * @o:		its options
 * @n:		their number
 */
struct ia {
	uint32_t iaid;
	uint32_t t1;
	uint32_t t2;
	struct opt o[OPTS_MAX];
	int n;
};

/* ia_parse() - take an IA of a reply apart; fails the test if malformed */
static void ia_parse(const struct opt *op, struct ia *ia)
{
	size_t fixed = op->code == O_IA_TA ? 4 : 12;
	int i;

	memset(ia, 0, sizeof(*ia));
	assert_true(op->len >= fixed);
	ia->iaid = get32(op->p);
	if (fixed == 12) {
		ia->t1 = get32(op->p + 4);
		ia->t2 = get32(op->p + 8);
	}
	ia->n = opts_index(op->p + fixed, op->len - fixed, ia->o, OPTS_MAX);
	assert_true(ia->n >= 0);
	for (i = 0; i < ia->n; i++) {
		struct opt sub[OPTS_MAX];

		if (ia->o[i].code == O_IAADDR) {
			assert_true(ia->o[i].len >= 24);
			assert_true(opts_index(ia->o[i].p + 24,
					       ia->o[i].len - 24, sub,
					       OPTS_MAX) >= 0);
		}
		if (ia->o[i].code == O_STATUS)
			assert_true(ia->o[i].len >= 2);
	}
}

/* status_of() - the status code in an option area, -1 if there's none */
static int status_of(const struct opt *o, int n)
{
	const struct opt *s = opt_find(o, n, O_STATUS, 0);

	if (!s)
		return -1;
	assert_true(s->len >= 2);
	assert_int_equal(opt_count(o, n, O_STATUS), 1);
	return get16(s->p);
}

/* check_ia_na() - an answered IA_NA of a reply is well formed: T1 <= T2,
 * lifetimes in order, and only the host's address has nonzero lifetimes
 */
static void check_ia_na(struct ctx *c, const struct opt *op)
{
	struct ia ia;
	int i;

	ia_parse(op, &ia);
	if (ia.t1 && ia.t2)
		assert_true(ia.t1 <= ia.t2);
	for (i = 0; i < ia.n; i++) {
		const struct opt *a = &ia.o[i];
		uint32_t pref, valid;

		if (a->code != O_IAADDR)
			continue;
		pref = get32(a->p + 16);
		valid = get32(a->p + 20);
		assert_true(pref <= valid);
		if (valid)
			assert_memory_equal(a->p, &c->guest6.addr, 16);
	}
}

/* ref_udp6() - reference checksum sum of a UDP datagram over IPv6 */
static uint16_t ref_udp6(const uint8_t *ip6, const uint8_t *udp, size_t ulen)
{
	uint8_t pseudo[40] = { 0 };

	memcpy(pseudo, ip6 + 8, 32);
	put32(pseudo + 32, (uint32_t)ulen);
	pseudo[39] = 17;
	return ref_sum(udp, ulen, ref_sum(pseudo, 40, 0));
}

/* check_headers() - Ethernet, IPv6 and UDP of a reply: to the guest's MAC,
 * from merd's, from fe80::1 port 547 to the client's address port 546,
 * lengths right, checksum valid and not zero
 */
static void check_headers(struct ctx *c, struct reply *r,
			  const uint8_t *req_frame)
{
	const uint8_t *ip6 = r->f + ETH_HLEN, *udp = ip6 + 40;
	size_t ulen;

	assert_true(r->len >= ETH_HLEN + 40 + 8 + 4);
	assert_memory_equal(r->f, c->tap.guest_mac_known ? c->tap.guest_mac :
			    bcast, ETH_ALEN);
	assert_memory_equal(r->f + 6, our_mac, ETH_ALEN);
	assert_int_equal(get16(r->f + 12), 0x86dd);

	assert_int_equal(ip6[0] >> 4, 6);
	r->ip_len = 40 + get16(ip6 + 4);
	assert_int_equal(r->ip_len, r->len - ETH_HLEN);
	assert_int_equal(ip6[6], 17);
	assert_true(ip6[7] > 0);
	assert_memory_equal(ip6 + 8, &c->guest6.gw, 16);
	assert_memory_equal(ip6 + 24, req_frame + ETH_HLEN + 8, 16);
	assert_true(r->ip_len <= (c->link.mtu > 1280 ? c->link.mtu : 1280));

	assert_int_equal(get16(udp), 547);
	assert_int_equal(get16(udp + 2), 546);
	ulen = get16(udp + 4);
	assert_int_equal(ulen, r->ip_len - 40);
	assert_int_not_equal(get16(udp + 6), 0);
	assert_int_equal(ref_udp6(ip6, udp, ulen), 0xffff);

	r->msg = udp + 8;
	r->msg_len = ulen - 8;
}

/* check_reply() - what every reply to @req must be: Advertise or Reply,
 * the client's transaction, our DUID once, the client's echoed, options
 * whole, each single-instance option at most once, IAs well formed
 */
static void check_reply(struct ctx *c, struct reply *r,
			const struct msg *req, const uint8_t *req_frame)
{
	static const uint16_t once[] = { O_CLIENTID, O_SERVERID, O_ORO,
					 O_PREFERENCE, O_STATUS, O_RAPID,
					 O_DNS, O_DOMAINS };
	struct opt ro[OPTS_MAX];
	const struct opt *cid, *sid;
	int rn, i;

	check_headers(c, r, req_frame);
	assert_true(r->msg[0] == ADVERTISE || r->msg[0] == REPLY);
	assert_memory_equal(r->msg + 1, req->b + 1, 3);
	r->n = opts_index(r->msg + 4, r->msg_len - 4, r->o, OPTS_MAX);
	assert_true(r->n >= 0);

	for (i = 0; i < (int)ARRAY_SIZE(once); i++)
		assert_true(opt_count(r->o, r->n, once[i]) <= 1);
	sid = opt_find(r->o, r->n, O_SERVERID, 0);
	assert_non_null(sid);
	assert_int_equal(sid->len, sizeof(server_duid));
	assert_memory_equal(sid->p, server_duid, sizeof(server_duid));

	/* A reply goes only to a message that parsed: the client's own
	 * identifier, if it sent one, comes back byte for byte
	 */
	rn = opts_index(req->b + 4, req->len - 4, ro, OPTS_MAX);
	assert_true(rn >= 0);
	cid = opt_find(ro, rn, O_CLIENTID, 0);
	if (cid) {
		const struct opt *back = opt_find(r->o, r->n, O_CLIENTID, 0);

		assert_non_null(back);
		assert_int_equal(back->len, cid->len);
		assert_memory_equal(back->p, cid->p, cid->len);
	}

	for (i = 0; i < r->n; i++) {
		struct ia ia;

		if (r->o[i].code == O_IA_NA)
			check_ia_na(c, &r->o[i]);
		else if (r->o[i].code == O_IA_TA || r->o[i].code == O_IA_PD)
			ia_parse(&r->o[i], &ia);
	}
}

/**
 * exchange_to() - send @m from the client to @dst, port @dport; check any
 *		   reply
 * @c:		context
 * @m:		message
 * @dst:	destination address
 * @dport:	destination port
 * @r:		the reply, if any
 *
 * Return: true if merd replied
 */
static bool exchange_to(struct ctx *c, const struct msg *m,
			const char *dst, uint16_t dport, struct reply *r)
{
	size_t len;
	uint8_t *f = frame_build(m, CLIENT_ADDR, dst, dport, &len);

	r->len = serve(c, f, len, r->f);
	if (r->len)
		check_reply(c, r, m, f);
	free(f);
	return r->len;
}

/* exchange() - send @m to ff02::1:2, as clients do */
static bool exchange(struct ctx *c, const struct msg *m,
		     struct reply *r)
{
	return exchange_to(c, m, "ff02::1:2", 547, r);
}

/* assert_dropped() - merd doesn't answer @m */
static void assert_dropped(struct ctx *c, const struct msg *m)
{
	struct reply r;

	if (exchange(c, m, &r))
		fail_msg("message answered (type %u, %zu bytes)", m->b[0],
			 m->len);
}

/* ia_na_of() - the @nth IA_NA of a reply, parsed; fails if absent */
static void ia_na_of(const struct reply *r, int nth, struct ia *ia)
{
	const struct opt *o = opt_find(r->o, r->n, O_IA_NA, nth);

	assert_non_null(o);
	ia_parse(o, ia);
}

/* check_address() - an IA_NA giving the host's address with merd's
 * lifetimes, renewal at half and rebinding at 0.8 of them (RFC 8415 21.4)
 */
static void check_address(const struct ia *ia, uint32_t iaid)
{
	struct in6_addr host = a6(HOST_ADDR);
	const struct opt *a;

	assert_int_equal(ia->iaid, iaid);
	assert_int_equal(ia->t1, 300);
	assert_int_equal(ia->t2, 480);
	assert_int_equal(status_of(ia->o, ia->n), -1);
	a = opt_find(ia->o, ia->n, O_IAADDR, 0);
	assert_non_null(a);
	assert_int_equal(a->len, 24);
	assert_memory_equal(a->p, &host, 16);
	assert_int_equal(get32(a->p + 16), 600);
	assert_int_equal(get32(a->p + 20), 600);
}

/* check_config() - DNS servers and domain list are exactly the host's */
static void check_config(struct ctx *c, const struct reply *r)
{
	const struct opt *d = opt_find(r->o, r->n, O_DNS, 0);
	char names[SEARCH_MAX][256];
	int i, n;

	assert_non_null(d);
	assert_int_equal(d->len, 16 * (size_t)c->guest6.dns_n);
	for (i = 0; i < c->guest6.dns_n; i++)
		assert_memory_equal(d->p + 16 * i, &c->guest6.dns[i], 16);

	d = opt_find(r->o, r->n, O_DOMAINS, 0);
	assert_non_null(d);
	n = unit_dns_decode(d->p, d->len, names, SEARCH_MAX);
	assert_int_equal(n, c->link.search_n);
	for (i = 0; i < n; i++)
		assert_string_equal(names[i], c->link.search[i]);
}

/* dhclient's Solicit: an Advertise from our DUID-LL, preference 255, the
 * client's IAID with the host's address and lifetimes, DNS and domains
 */
static void test_solicit(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	const struct opt *p;
	struct ia ia;
	struct msg m;

	solicit(&m);
	assert_true(exchange(c, &m, &r));
	assert_int_equal(r.msg[0], ADVERTISE);
	assert_int_equal(get16(r.msg + 1) << 8 | r.msg[3], XID);

	p = opt_find(r.o, r.n, O_PREFERENCE, 0);
	assert_non_null(p);
	assert_int_equal(p->len, 1);
	assert_int_equal(p->p[0], 255);
	assert_null(opt_find(r.o, r.n, O_RAPID, 0));
	assert_int_equal(status_of(r.o, r.n), -1);

	assert_int_equal(opt_count(r.o, r.n, O_IA_NA), 1);
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
	check_config(c, &r);
}

/* Whatever address the client hints at, it gets the host's */
static void test_solicit_hint(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct ia ia;
	struct msg m;

	client_msg(&m, SOLICIT, NULL, 0, "2001:db8:1::99");
	assert_true(exchange(c, &m, &r));
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
	assert_int_equal(opt_count(ia.o, ia.n, O_IAADDR), 1);

	client_msg(&m, SOLICIT, NULL, 0, "2001:db8:77::1");	/* off-link */
	assert_true(exchange(c, &m, &r));
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
}

/* Rapid Commit: a Reply at once, with Rapid Commit and the address, no
 * preference
 */
static void test_solicit_rapid_commit(void **state)
{
	struct ctx *c = *state;
	const struct opt *p;
	struct reply r;
	struct ia ia;
	struct msg m;

	solicit(&m);
	msg_opt(&m, O_RAPID, NULL, 0);
	assert_true(exchange(c, &m, &r));
	assert_int_equal(r.msg[0], REPLY);
	p = opt_find(r.o, r.n, O_RAPID, 0);
	assert_non_null(p);
	assert_int_equal(p->len, 0);
	assert_null(opt_find(r.o, r.n, O_PREFERENCE, 0));
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
	check_config(c, &r);
}

/* RFC 8415 16.2: a Solicit with a Server Identifier, or without Client
 * Identifier, is discarded
 */
static void test_solicit_ids(void **state)
{
	struct ctx *c = *state;
	struct msg m;

	client_msg(&m, SOLICIT, server_duid, sizeof(server_duid), NULL);
	assert_dropped(c, &m);

	msg_init(&m, SOLICIT);
	msg_ia_na(&m, IAID, NULL);
	assert_dropped(c, &m);
}

/* Request to us: Reply with the address; to another server, or without
 * server or client identifier: ignored (RFC 8415 16.4)
 */
static void test_request(void **state)
{
	static const uint8_t other[10] = { 0, 3, 0, 1, 2, 0, 0, 0, 0, 9 };
	struct ctx *c = *state;
	struct reply r;
	struct ia ia;
	struct msg m;

	to_us(&m, REQUEST);
	assert_true(exchange(c, &m, &r));
	assert_int_equal(r.msg[0], REPLY);
	assert_null(opt_find(r.o, r.n, O_PREFERENCE, 0));
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
	check_config(c, &r);

	client_msg(&m, REQUEST, other, sizeof(other), HOST_ADDR);
	assert_dropped(c, &m);
	client_msg(&m, REQUEST, server_duid, sizeof(server_duid) - 1,
		   HOST_ADDR);
	assert_dropped(c, &m);
	client_msg(&m, REQUEST, NULL, 0, HOST_ADDR);
	assert_dropped(c, &m);

	msg_init(&m, REQUEST);
	msg_opt(&m, O_SERVERID, server_duid, sizeof(server_duid));
	msg_ia_na(&m, IAID, HOST_ADDR);
	assert_dropped(c, &m);
}

/* A Request for an address off the host's prefix: the IA comes back with
 * NotOnLink and no address (RFC 8415 18.3.2)
 */
static void test_request_not_on_link(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct ia ia;
	struct msg m;

	client_msg(&m, REQUEST, server_duid, sizeof(server_duid),
		   "2001:db8:2::42");
	assert_true(exchange(c, &m, &r));
	ia_na_of(&r, 0, &ia);
	assert_int_equal(ia.iaid, IAID);
	assert_int_equal(status_of(ia.o, ia.n), ST_NOTONLINK);
	assert_null(opt_find(ia.o, ia.n, O_IAADDR, 0));
}

/* Renew: the address again; another address the client still holds comes
 * back with lifetimes 0 (RFC 8415 18.3.4); unicast to fe80::1 works too
 */
static void test_renew(void **state)
{
	struct ctx *c = *state;
	const struct opt *a;
	struct in6_addr old;
	struct reply r;
	struct ia ia;
	struct msg m;
	size_t s;

	to_us(&m, RENEW);
	assert_true(exchange(c, &m, &r));
	assert_int_equal(r.msg[0], REPLY);
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
	assert_int_equal(opt_count(ia.o, ia.n, O_IAADDR), 1);
	check_config(c, &r);

	assert_true(exchange_to(c, &m, GW_ADDR, 547, &r));
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);

	/* The host's address changed: the old one goes */
	msg_init(&m, RENEW);
	msg_common(&m);
	msg_opt(&m, O_SERVERID, server_duid, sizeof(server_duid));
	s = msg_open(&m, O_IA_NA);
	msg_put32(&m, IAID);
	msg_put32(&m, 0);
	msg_put32(&m, 0);
	msg_iaaddr(&m, "2001:db8:1::7", 100, 200);
	msg_iaaddr(&m, HOST_ADDR, 100, 200);
	msg_close(&m, s);
	assert_true(exchange(c, &m, &r));
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
	assert_int_equal(opt_count(ia.o, ia.n, O_IAADDR), 2);
	a = opt_find(ia.o, ia.n, O_IAADDR, 1);
	old = a6("2001:db8:1::7");
	assert_memory_equal(a->p, &old, 16);
	assert_int_equal(get32(a->p + 16), 0);
	assert_int_equal(get32(a->p + 20), 0);

	/* To another server: ignored */
	client_msg(&m, RENEW, NULL, 0, HOST_ADDR);
	assert_dropped(c, &m);
}

/* Rebind goes to any server: no Server Identifier allowed (16.7) */
static void test_rebind(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct ia ia;
	struct msg m;

	client_msg(&m, REBIND, NULL, 0, HOST_ADDR);
	assert_true(exchange(c, &m, &r));
	assert_int_equal(r.msg[0], REPLY);
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);

	to_us(&m, REBIND);
	assert_dropped(c, &m);
}

/* Confirm: Success if the addresses are on the host's prefix, NotOnLink
 * if one isn't; no addresses, no reply (RFC 8415 18.3.3); no IA back
 */
static void test_confirm(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	client_msg(&m, CONFIRM, NULL, 0, "2001:db8:1::1234");
	assert_true(exchange(c, &m, &r));
	assert_int_equal(r.msg[0], REPLY);
	assert_int_equal(status_of(r.o, r.n), ST_SUCCESS);
	assert_null(opt_find(r.o, r.n, O_IA_NA, 0));
	assert_null(opt_find(r.o, r.n, O_DNS, 0));

	client_msg(&m, CONFIRM, NULL, 0, "2001:db8:1:1::42");
	assert_true(exchange(c, &m, &r));
	assert_int_equal(status_of(r.o, r.n), ST_NOTONLINK);
	assert_null(opt_find(r.o, r.n, O_IA_NA, 0));

	/* One on-link address and one off-link: not on link */
	client_msg(&m, CONFIRM, NULL, 0, HOST_ADDR);
	msg_ia_na(&m, IAID + 1, "fd00::1");
	assert_true(exchange(c, &m, &r));
	assert_int_equal(status_of(r.o, r.n), ST_NOTONLINK);

	/* A /60 prefix: 2001:db8:1:f::1 is on it, 2001:db8:1:10::1 not */
	c->guest6.prefix_len = 60;
	client_msg(&m, CONFIRM, NULL, 0, "2001:db8:1:f::1");
	assert_true(exchange(c, &m, &r));
	assert_int_equal(status_of(r.o, r.n), ST_SUCCESS);
	client_msg(&m, CONFIRM, NULL, 0, "2001:db8:1:10::1");
	assert_true(exchange(c, &m, &r));
	assert_int_equal(status_of(r.o, r.n), ST_NOTONLINK);

	client_msg(&m, CONFIRM, NULL, 0, NULL);
	assert_dropped(c, &m);
	client_msg(&m, CONFIRM, server_duid, sizeof(server_duid), HOST_ADDR);
	assert_dropped(c, &m);
}

/* The host's address outside the prefix (a /128 elsewhere): a client
 * asking for or confirming it is never told it isn't on the link
 */
static void test_host_addr_off_prefix(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct ia ia;
	struct msg m;

	c->guest6.prefix = a6("2001:db8:9::");
	to_us(&m, REQUEST);
	assert_true(exchange(c, &m, &r));
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);

	client_msg(&m, CONFIRM, NULL, 0, HOST_ADDR);
	assert_true(exchange(c, &m, &r));
	assert_int_equal(status_of(r.o, r.n), ST_SUCCESS);
	client_msg(&m, CONFIRM, NULL, 0, "2001:db8:1::43");
	assert_true(exchange(c, &m, &r));
	assert_int_equal(status_of(r.o, r.n), ST_NOTONLINK);
}

/* Information-request: DNS and domains, no IA; with an IA, or naming
 * another server, discarded (RFC 8415 16.12); naming us, answered
 */
static void test_information_request(void **state)
{
	static const uint8_t other[10] = { 0, 3, 0, 1, 2, 0, 0, 0, 0, 9 };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	client_msg(&m, INFO_REQ, NULL, 0, NULL);
	assert_true(exchange(c, &m, &r));
	assert_int_equal(r.msg[0], REPLY);
	assert_null(opt_find(r.o, r.n, O_IA_NA, 0));
	assert_int_equal(status_of(r.o, r.n), -1);
	check_config(c, &r);

	client_msg(&m, INFO_REQ, server_duid, sizeof(server_duid), NULL);
	assert_true(exchange(c, &m, &r));
	check_config(c, &r);

	/* No Client Identifier is allowed here */
	msg_init(&m, INFO_REQ);
	assert_true(exchange(c, &m, &r));
	assert_null(opt_find(r.o, r.n, O_CLIENTID, 0));
	check_config(c, &r);

	client_msg(&m, INFO_REQ, other, sizeof(other), NULL);
	assert_dropped(c, &m);
	client_msg(&m, INFO_REQ, NULL, 0, NULL);
	msg_ia_na(&m, IAID, NULL);
	assert_dropped(c, &m);
}

/* Release and Decline: Reply with status Success, nothing else to do */
static void test_release_decline(void **state)
{
	static const uint8_t types[] = { RELEASE, DECLINE };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		to_us(&m, types[i]);
		assert_true(exchange(c, &m, &r));
		assert_int_equal(r.msg[0], REPLY);
		assert_int_equal(status_of(r.o, r.n), ST_SUCCESS);
		assert_null(opt_find(r.o, r.n, O_IA_NA, 0));
		assert_null(opt_find(r.o, r.n, O_DNS, 0));

		client_msg(&m, types[i], NULL, 0, HOST_ADDR);
		assert_dropped(c, &m);
	}
}

/* Two IA_NAs: each gets the address, under its own IAID */
static void test_two_ia_na(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct ia ia;
	struct msg m;

	solicit(&m);
	msg_ia_na(&m, 0xcafe, NULL);
	assert_true(exchange(c, &m, &r));
	assert_int_equal(opt_count(r.o, r.n, O_IA_NA), 2);
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
	ia_na_of(&r, 1, &ia);
	check_address(&ia, 0xcafe);

	/* The same IAID twice: RFC 8415 12 forbids it, dropped */
	solicit(&m);
	msg_ia_na(&m, IAID, NULL);
	assert_dropped(c, &m);
}

/* IA_TA and IA_PD: merd has no temporary address nor prefix to give: the
 * IA comes back with NoAddrsAvail or NoPrefixAvail; renewed, NoBinding
 */
static void test_ia_ta_pd(void **state)
{
	struct ctx *c = *state;
	const struct opt *o;
	struct reply r;
	struct ia ia;
	struct msg m;
	size_t s;

	solicit(&m);
	s = msg_open(&m, O_IA_TA);
	msg_put32(&m, 0x7a7a);
	msg_close(&m, s);
	s = msg_open(&m, O_IA_PD);
	msg_put32(&m, 0x9d9d);
	msg_put32(&m, 0);
	msg_put32(&m, 0);
	msg_close(&m, s);
	assert_true(exchange(c, &m, &r));

	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
	o = opt_find(r.o, r.n, O_IA_TA, 0);
	assert_non_null(o);
	ia_parse(o, &ia);
	assert_int_equal(ia.iaid, 0x7a7a);
	assert_int_equal(status_of(ia.o, ia.n), ST_NOADDRS);
	assert_null(opt_find(ia.o, ia.n, O_IAADDR, 0));
	o = opt_find(r.o, r.n, O_IA_PD, 0);
	assert_non_null(o);
	ia_parse(o, &ia);
	assert_int_equal(ia.iaid, 0x9d9d);
	assert_int_equal(status_of(ia.o, ia.n), ST_NOPREFIX);
	assert_null(opt_find(ia.o, ia.n, O_IAPREFIX, 0));

	to_us(&m, RENEW);
	s = msg_open(&m, O_IA_PD);
	msg_put32(&m, 0x9d9d);
	msg_put32(&m, 0);
	msg_put32(&m, 0);
	msg_close(&m, s);
	assert_true(exchange(c, &m, &r));
	o = opt_find(r.o, r.n, O_IA_PD, 0);
	assert_non_null(o);
	ia_parse(o, &ia);
	assert_int_equal(status_of(ia.o, ia.n), ST_NOBINDING);
}

/* The Option Request Option decides what comes; without one, everything */
static void test_oro(void **state)
{
	static const uint8_t dns_only[] = { 0, O_DNS };
	static const uint8_t neither[] = { 0, 39 };
	static const uint8_t elapsed[2] = { 0 };
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(&m, O_ORO, dns_only, sizeof(dns_only));
	msg_ia_na(&m, IAID, NULL);
	assert_true(exchange(c, &m, &r));
	assert_non_null(opt_find(r.o, r.n, O_DNS, 0));
	assert_null(opt_find(r.o, r.n, O_DOMAINS, 0));

	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(&m, O_ORO, neither, sizeof(neither));
	msg_ia_na(&m, IAID, NULL);
	assert_true(exchange(c, &m, &r));
	assert_null(opt_find(r.o, r.n, O_DNS, 0));
	assert_null(opt_find(r.o, r.n, O_DOMAINS, 0));

	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(&m, O_ELAPSED, elapsed, sizeof(elapsed));
	msg_ia_na(&m, IAID, NULL);
	assert_true(exchange(c, &m, &r));
	check_config(c, &r);

	/* Nothing to give: no empty options */
	c->guest6.dns_n = 0;
	c->link.search_n = 0;
	solicit(&m);
	assert_true(exchange(c, &m, &r));
	assert_null(opt_find(r.o, r.n, O_DNS, 0));
	assert_null(opt_find(r.o, r.n, O_DOMAINS, 0));
}

/* fill_name() - a dotted name of @len characters, labels of at most 50 */
static void fill_name(char *s, size_t len, char ch)
{
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = (i % 51 == 50) ? '.' : ch;
	s[len] = '\0';
}

/* A domain list too long for the MTU is left out, the rest is sent; the
 * reply never exceeds the MTU, nor 1280 bytes with a smaller one
 */
static void test_reply_size(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct ia ia;
	struct msg m;
	int i;

	for (i = 0; i < SEARCH_MAX; i++)
		fill_name(c->link.search[i], DOMAIN_MAX, (char)('a' + i));
	c->link.search_n = SEARCH_MAX;
	for (i = 0; i < DNS_MAX; i++)
		c->guest6.dns[i] = c->guest6.dns[0];
	c->guest6.dns_n = DNS_MAX;

	solicit(&m);
	assert_true(exchange(c, &m, &r));
	ia_na_of(&r, 0, &ia);
	check_address(&ia, IAID);
	assert_non_null(opt_find(r.o, r.n, O_DNS, 0));
	assert_null(opt_find(r.o, r.n, O_DOMAINS, 0));

	/* Four long names fit in 1500 bytes, not in 1280 */
	c->link.search_n = 4;
	assert_true(exchange(c, &m, &r));
	check_config(c, &r);
	assert_true(r.ip_len > 1280);

	c->link.mtu = 1280;
	assert_true(exchange(c, &m, &r));
	assert_true(r.ip_len <= 1280);
	assert_null(opt_find(r.o, r.n, O_DOMAINS, 0));

	c->link.mtu = 576;	/* below the IPv6 minimum: 1280 anyway */
	assert_true(exchange(c, &m, &r));
	assert_true(r.ip_len <= 1280);
	assert_non_null(opt_find(r.o, r.n, O_DNS, 0));
}

/* The guest's MAC not learnt yet: broadcast, as tap.c does for IPv4 */
static void test_guest_mac_unknown(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	c->tap.guest_mac_known = false;
	solicit(&m);
	assert_true(exchange(c, &m, &r));
	assert_memory_equal(r.f, bcast, ETH_ALEN);
}

/* Not served: IPv6 or DHCPv6 off, another port, another destination */
static void test_not_for_us(void **state)
{
	struct ctx *c = *state;
	struct reply r;
	struct msg m;

	solicit(&m);
	c->guest6.enabled = false;
	assert_dropped(c, &m);
	c->guest6.enabled = true;
	c->opts.no_dhcpv6 = true;
	assert_dropped(c, &m);
	c->opts.no_dhcpv6 = false;

	assert_false(exchange_to(c, &m, "ff02::1:2", 546, &r));
	assert_false(exchange_to(c, &m, "ff02::1", 547, &r));
	assert_false(exchange_to(c, &m, "ff05::1:3", 547, &r));
	assert_false(exchange_to(c, &m, "fe80::2", 547, &r));
	assert_false(exchange_to(c, &m, HOST_ADDR, 547, &r));
	assert_true(exchange_to(c, &m, GW_ADDR, 547, &r));
	assert_true(exchange(c, &m, &r));
}

/* dhcpv6_for_server() on views: IPv4, other protocols, fragments */
static void test_for_server(void **state)
{
	struct ctx *c = *state;
	uint8_t udp[8] = { 0x02, 0x22, 0x02, 0x23, 0, 8, 0, 0 };
	struct ip_view v = { 0 };

	v.family = AF_INET6;
	v.dst.a6 = a6("ff02::1:2");
	v.src.a6 = a6(CLIENT_ADDR);
	v.proto = IPPROTO_UDP;
	v.l4.p = udp;
	v.l4.len = sizeof(udp);
	assert_true(dhcpv6_for_server(c, &v));

	v.l4.len = 7;
	assert_false(dhcpv6_for_server(c, &v));
	v.l4.len = sizeof(udp);
	v.mf = true;
	assert_false(dhcpv6_for_server(c, &v));
	v.mf = false;
	v.frag = 8;
	assert_false(dhcpv6_for_server(c, &v));
	v.frag = 0;
	v.proto = IPPROTO_TCP;
	assert_false(dhcpv6_for_server(c, &v));
	v.proto = IPPROTO_UDP;
	v.family = AF_INET;
	inany_from_v4(&v.dst, htonl(INADDR_BROADCAST));
	assert_false(dhcpv6_for_server(c, &v));
}

/* Messages that aren't a client's: no reply */
static void test_not_client_messages(void **state)
{
	static const uint8_t types[] = { 0, ADVERTISE, REPLY, RECONFIGURE,
					 RELAY_FORW, RELAY_REPL, 14, 35, 255 };
	struct ctx *c = *state;
	struct msg m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		to_us(&m, types[i]);
		assert_dropped(c, &m);
	}
}

/* From the unspecified address or a multicast one: nowhere to answer */
static void test_bad_source(void **state)
{
	struct ctx *c = *state;
	uint8_t out[REPLY_MAX];
	struct msg m;
	uint8_t *f;
	size_t len;

	solicit(&m);
	f = frame_build(&m, "::", "ff02::1:2", 547, &len);
	assert_int_equal(serve(c, f, len, out), 0);
	free(f);
	f = frame_build(&m, "ff02::1", "ff02::1:2", 547, &len);
	assert_int_equal(serve(c, f, len, out), 0);
	free(f);
}

/* valid_with() - a valid Solicit with @data appended as is */
static void valid_with(struct msg *m, const void *data, size_t len)
{
	solicit(m);
	msg_put(m, data, len);
}

/* Options overrunning the message, and other malformed top levels */
static void test_malformed_options(void **state)
{
	static const uint8_t overrun[] = { 0, 16, 0, 9, 1, 2, 3 };
	static const uint8_t half[] = { 0, 16, 0 };
	static const uint8_t odd_oro[] = { 0, O_DNS, 0 };
	static const uint8_t elapsed3[3] = { 0 };
	static const uint8_t one = 1;
	struct ctx *c = *state;
	struct msg m;

	valid_with(&m, overrun, sizeof(overrun));
	assert_dropped(c, &m);
	valid_with(&m, half, sizeof(half));
	assert_dropped(c, &m);

	/* The last option, the 12-byte IA_NA, one byte too long */
	solicit(&m);
	put16(m.b + m.len - 14, 13);
	assert_dropped(c, &m);

	/* Repeated single-instance options */
	solicit(&m);
	msg_opt(&m, O_CLIENTID, client_duid, sizeof(client_duid));
	assert_dropped(c, &m);
	to_us(&m, REQUEST);
	msg_opt(&m, O_SERVERID, server_duid, sizeof(server_duid));
	assert_dropped(c, &m);
	solicit(&m);
	msg_opt(&m, O_ORO, odd_oro, 2);
	assert_dropped(c, &m);

	/* Wrong lengths */
	solicit(&m);
	msg_opt(&m, O_RAPID, &one, 1);
	assert_dropped(c, &m);
	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(&m, O_ORO, odd_oro, sizeof(odd_oro));
	assert_dropped(c, &m);
	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(&m, O_ELAPSED, elapsed3, sizeof(elapsed3));
	assert_dropped(c, &m);
	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, client_duid, 2);	/* a DUID has 3+ */
	assert_dropped(c, &m);
	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, m.b + 1000, 131);	/* and 130 at most */
	assert_dropped(c, &m);

	/* The valid messages these are made from are answered */
	solicit(&m);
	assert_true(exchange(c, &m, &(struct reply){ 0 }));
	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, m.b + 1000, 130);
	assert_true(exchange(c, &m, &(struct reply){ 0 }));
}

/* ia_raw() - a Solicit with an IA_NA of @len bytes of @data */
static void ia_raw(struct msg *m, const uint8_t *data, size_t len)
{
	msg_init(m, SOLICIT);
	msg_opt(m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(m, O_IA_NA, data, len);
}

/* IA_NA shorter than its 12-byte fixed part, nested IA Address options of
 * bad lengths, nested options overrunning their IA: dropped
 */
static void test_malformed_ia(void **state)
{
	struct ctx *c = *state;
	uint8_t d[128] = { 0x12, 0x34, 0x56, 0x78 };
	struct reply r;
	struct msg m;
	size_t len;

	for (len = 0; len < 12; len++) {
		ia_raw(&m, d, len);
		assert_dropped(c, &m);
	}
	ia_raw(&m, d, 12);
	assert_true(exchange(c, &m, &r));

	/* An IA Address of 0 to 23 bytes inside */
	for (len = 0; len < 24; len++) {
		put16(d + 12, O_IAADDR);
		put16(d + 14, (uint16_t)len);
		ia_raw(&m, d, 16 + len);
		assert_dropped(c, &m);
	}
	put16(d + 14, 24);
	ia_raw(&m, d, 16 + 24);
	assert_true(exchange(c, &m, &r));

	/* The IA Address longer than its IA */
	put16(d + 14, 25);
	ia_raw(&m, d, 16 + 24);
	assert_dropped(c, &m);

	/* An option inside the IA Address overrunning it */
	put16(d + 14, 24 + 4 + 2);
	put16(d + 16 + 24, O_STATUS);
	put16(d + 16 + 24 + 2, 3);
	ia_raw(&m, d, 16 + 24 + 6);
	assert_dropped(c, &m);
	put16(d + 16 + 24 + 2, 2);
	ia_raw(&m, d, 16 + 24 + 6);
	assert_true(exchange(c, &m, &r));

	/* Half an option header at the end of the IA */
	put16(d + 14, 24);
	ia_raw(&m, d, 16 + 24 + 3);
	assert_dropped(c, &m);

	/* IA_TA shorter than 4, IA_PD shorter than 12, IA Prefix short */
	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(&m, O_IA_TA, d, 3);
	assert_dropped(c, &m);
	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(&m, O_IA_PD, d, 11);
	assert_dropped(c, &m);
	memset(d + 4, 0, 8);
	put16(d + 12, O_IAPREFIX);
	put16(d + 14, 24);
	msg_init(&m, SOLICIT);
	msg_opt(&m, O_CLIENTID, client_duid, sizeof(client_duid));
	msg_opt(&m, O_IA_PD, d, 16 + 24);
	assert_dropped(c, &m);
}

/* A message cut short anywhere: within the header or an option, dropped,
 * and nothing read past it; at an option's end, a valid shorter message
 */
static void test_truncated(void **state)
{
	struct ctx *c = *state;
	struct opt o[OPTS_MAX];
	struct reply r;
	struct msg m;
	size_t len;

	for (len = 0; len < 4; len++) {
		solicit(&m);
		m.len = len;
		assert_dropped(c, &m);
	}
	solicit(&m);
	for (len = 4; len < m.len; len++) {
		struct msg t = m;
		bool whole;

		t.len = len;
		whole = opts_index(t.b + 4, len - 4, o, OPTS_MAX) >= 0;
		if (exchange(c, &t, &r) && !whole)
			fail_msg("answered, cut at %zu inside an option", len);
	}
}

/* A bad UDP checksum, a zero one (RFC 8200 8.1), a UDP length longer than
 * the packet, a payload changed under the checksum: dropped
 */
static void test_udp_checksum(void **state)
{
	struct ctx *c = *state;
	uint8_t *f, out[REPLY_MAX];
	size_t len, udp = ETH_HLEN + 40;
	struct msg m;

	solicit(&m);
	f = frame_build(&m, CLIENT_ADDR, "ff02::1:2", 547, &len);
	assert_true(serve(c, f, len, out) > 0);
	f[udp + 6] ^= 0x10;
	assert_int_equal(serve(c, f, len, out), 0);
	f[udp + 6] = f[udp + 7] = 0;
	assert_int_equal(serve(c, f, len, out), 0);
	free(f);

	f = frame_build(&m, CLIENT_ADDR, "ff02::1:2", 547, &len);
	f[udp + 8 + 2] ^= 0x01;			/* transaction ID */
	assert_int_equal(serve(c, f, len, out), 0);
	free(f);

	f = frame_build(&m, CLIENT_ADDR, "ff02::1:2", 547, &len);
	put16(f + udp + 4, (uint16_t)(len - udp + 1));
	assert_int_equal(serve(c, f, len, out), 0);
	put16(f + udp + 4, 7);
	assert_int_equal(serve(c, f, len, out), 0);
	free(f);
}

/* A reply buffer smaller than an Ethernet header and 1280 bytes: none */
static void test_small_buffer(void **state)
{
	struct ctx *c = *state;
	struct pkt l3;
	struct ip_view v;
	uint8_t *f, *out;
	struct msg m;
	size_t len;

	solicit(&m);
	f = frame_build(&m, CLIENT_ADDR, "ff02::1:2", 547, &len);
	l3.p = f + ETH_HLEN;
	l3.len = len - ETH_HLEN;
	assert_int_equal(ip6_parse(l3, &v), 0);
	out = malloc(ETH_HLEN + 1280);
	assert_non_null(out);
	assert_true(dhcpv6(c, &v, out, ETH_HLEN + 1280) > 0);
	assert_int_equal(dhcpv6(c, &v, out, ETH_HLEN + 1279), 0);
	free(out);
	free(f);
}

/* mutate() - change @m at random: bytes, option codes and lengths, its
 * length
 */
static void mutate(struct msg *m)
{
	static const uint8_t special[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 14,
					   23, 24, 25, 26, 0x7f, 0x80, 0xff };
	int k = 1 + (int)(rng() % 4);
	size_t off;

	while (k--) {
		switch (rng() % 6) {
		case 0:		/* any byte, anything */
			if (m->len)
				m->b[rng() % m->len] = (uint8_t)rng();
			break;
		case 1:		/* any byte, a telling value */
			if (m->len)
				m->b[rng() % m->len] =
					special[rng() % sizeof(special)];
			break;
		case 2:		/* shorter */
			m->len = rng() % (m->len + 1);
			break;
		case 3:		/* longer, with junk */
			off = m->len;
			m->len += rng() % 64;
			m->len = MIN(m->len, sizeof(m->b));
			while (off < m->len)
				m->b[off++] = (uint8_t)rng();
			break;
		case 4:		/* a byte one off */
			if (m->len)
				m->b[rng() % m->len] += rng() % 2 ? 1 : 0xff;
			break;
		default:	/* the message type; not Decline, which warns */
			if (m->len)
				m->b[0] = (uint8_t)(1 + rng() % 13);
			if (m->len && m->b[0] == DECLINE)
				m->b[0] = RELEASE;
			break;
		}
	}
}

/* seeds() - valid messages of every kind, to start mutations from */
static size_t seeds(struct msg *s)
{
	size_t n = 0, at;

	solicit(&s[n++]);
	solicit(&s[n]);
	msg_opt(&s[n++], O_RAPID, NULL, 0);
	to_us(&s[n++], REQUEST);
	to_us(&s[n++], RENEW);
	client_msg(&s[n++], REBIND, NULL, 0, "2001:db8:1::9");
	client_msg(&s[n++], CONFIRM, NULL, 0, HOST_ADDR);
	client_msg(&s[n++], INFO_REQ, NULL, 0, NULL);
	to_us(&s[n++], RELEASE);
	to_us(&s[n], RELEASE);	/* Decline alike, without its warning */
	at = msg_open(&s[n], O_IA_PD);
	msg_put32(&s[n], 1);
	msg_put32(&s[n], 0);
	msg_put32(&s[n], 0);
	msg_close(&s[n++], at);
	return n;
}

/* Random changes to valid messages, 20000 of them: never a crash or a read
 * out of bounds (ASan), and every reply is well formed (check_reply())
 */
static void test_mutations(void **state)
{
	struct ctx *c = *state;
	unsigned long replies = 0, dropped = 0;
	struct msg s[10], m;
	size_t n = seeds(s), i;
	struct reply r;

	rng_seed(8415);
	for (i = 0; i < 20000; i++) {
		m = s[rng() % n];
		mutate(&m);
		if (exchange(c, &m, &r))
			replies++;
		else
			dropped++;
	}

	/* Both ways were taken, many times */
	assert_true(replies > 2000);
	assert_true(dropped > 2000);
}

int main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_solicit),
		T(test_solicit_hint),
		T(test_solicit_rapid_commit),
		T(test_solicit_ids),
		T(test_request),
		T(test_request_not_on_link),
		T(test_renew),
		T(test_rebind),
		T(test_confirm),
		T(test_host_addr_off_prefix),
		T(test_information_request),
		T(test_release_decline),
		T(test_two_ia_na),
		T(test_ia_ta_pd),
		T(test_oro),
		T(test_reply_size),
		T(test_guest_mac_unknown),
		T(test_not_for_us),
		T(test_for_server),
		T(test_not_client_messages),
		T(test_bad_source),
		T(test_malformed_options),
		T(test_malformed_ia),
		T(test_truncated),
		T(test_udp_checksum),
		T(test_small_buffer),
		T(test_mutations),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
