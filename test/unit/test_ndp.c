// SPDX-License-Identifier: GPL-2.0-or-later
/* test_ndp.c - unit tests for ndp.c: neighbour discovery and router
 *		advertisements on the guest's link
 *
 * Copyright (c) 2026 merd authors
 *
 * Packets from the guest are laid out byte by byte as RFC 8200 and RFC 4861
 * draw them, with checksums computed by ref_sum() (unit.h), each in a
 * buffer malloc()ed to its exact length so that AddressSanitizer catches
 * any read past it, and handed to ndp() as ip6_parse() sees them. Replies are taken apart by an independent parser that
 * checks the Ethernet and IPv6 headers, the ICMPv6 checksum (with ref_sum()
 * and with csum_l4_ip6()) and every option's framing, before each test
 * looks at what the guest would see.
 */

#include <stdio.h>

#include "csum.h"
#include "ip6.h"
#include "ndp.h"
#include "unit.h"

#define REPLY_MAX	1536	/* merd.c's buffer for replies */

/* RFC 8200 3: offsets in the fixed header */
#define V6_PLEN		4
#define V6_NH		6
#define V6_HOPS		7
#define V6_SRC		8
#define V6_DST		24
#define V6_HLEN		40

#define NH_ICMP6	58
#define NH_UDP		17
#define NH_FRAG		44
#define V6_FRAG_HLEN	8	/* RFC 8200 4.5 */
#define V6_MF		1

/* ICMPv6 types (RFC 4443, RFC 2710, RFC 3810, RFC 4861) */
#define T_ECHO		128
#define T_MLD_QUERY	130
#define T_MLD_REPORT	131
#define T_MLD_DONE	132
#define T_RS		133
#define T_RA		134
#define T_NS		135
#define T_NA		136
#define T_REDIRECT	137
#define T_MLD2_REPORT	143

/* RFC 4861 4.4: NA flags, first byte after the checksum */
#define NA_R		0x80
#define NA_S		0x40
#define NA_O		0x20

/* RFC 4861 4.2: RA flags; 4.6.2: prefix flags */
#define RA_M		0x80
#define RA_O		0x40
#define PI_L		0x80
#define PI_A		0x40

#define NS_LEN		24	/* RFC 4861 4.3: before options */
#define NA_LEN		32	/* RFC 4861 4.4, and the target's MAC */
#define NA_FRAME_LEN	(ETH_HLEN + V6_HLEN + NA_LEN)

/* The guest's link */
#define GUEST_ADDR	"2001:db8:1:200::10"
#define GUEST_SLAAC	"2001:db8:1:200:5054:ff:fe12:3456"
#define GUEST_LL	"fe80::5054:ff:fe12:3456"
#define ROUTER		"fe80::1"
#define PREFIX		"2001:db8:1:200::"
#define PREFIX_LEN	56

static const char *const dns[] = { "2001:db8::53", "2001:db8:53::1",
				   "2001:4860:4860::8888" };
static const char *const search[] = { "example.org", "corp.example.net",
				      "a.b" };

/**
 * struct v6pkt - a packet from the guest, and the view ndp() takes
 * @buf:	the packet, malloc()ed to its exact length
 * @len:	its length
 * @ip:		the view of it
 */
struct v6pkt {
	uint8_t *buf;
	size_t len;
	struct ip_view ip;
};

/**
 * struct ra_seen - what a guest reads from a router advertisement
 * @hops:	current hop limit
 * @flags:	M and O flags byte
 * @lifetime:	router lifetime
 * @reachable:	reachable time
 * @retrans:	retransmission timer
 * @mac:	source link-layer address option, all zero if none
 * @mtu:	MTU option, 0 if none
 * @plen:	prefix length of the prefix information option
 * @pflags:	its L and A flags byte
 * @valid:	its valid lifetime
 * @preferred:	its preferred lifetime
 * @prefix:	its prefix
 * @npi:	number of prefix information options
 * @dns:	RDNSS addresses
 * @dns_n:	their number
 * @dns_life:	RDNSS lifetime
 * @search:	DNSSL names, dotted
 * @search_n:	their number
 * @search_life: DNSSL lifetime
 */
struct ra_seen {
	uint8_t hops, flags;
	uint16_t lifetime;
	uint32_t reachable, retrans;
	uint8_t mac[ETH_ALEN];
	uint32_t mtu;
	uint8_t plen, pflags;
	uint32_t valid, preferred;
	struct in6_addr prefix;
	int npi;
	struct in6_addr dns[DNS_MAX];
	int dns_n;
	uint32_t dns_life;
	char search[SEARCH_MAX][DOMAIN_MAX + 1];
	int search_n;
	uint32_t search_life;
};

/* a6() - an IPv6 address from its text */
static struct in6_addr a6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* ctx_make() - the guest at GUEST_ADDR behind ROUTER, its MAC known */
static struct ctx *ctx_make(void)
{
	struct ctx *c = calloc(1, sizeof(*c));
	size_t i;

	assert_non_null(c);
	c->link.mtu = 1400;
	memcpy(c->link.mac, our_mac, ETH_ALEN);
	for (i = 0; i < ARRAY_SIZE(search); i++)
		strcpy(c->link.search[i], search[i]);
	c->link.search_n = (int)ARRAY_SIZE(search);

	c->guest6.enabled = true;
	c->guest6.addr = a6(GUEST_ADDR);
	c->guest6.prefix = a6(PREFIX);
	c->guest6.prefix_len = PREFIX_LEN;
	c->guest6.gw = a6(ROUTER);
	for (i = 0; i < ARRAY_SIZE(dns); i++)
		c->guest6.dns[i] = a6(dns[i]);
	c->guest6.dns_n = (int)ARRAY_SIZE(dns);
	c->guest6.own[0] = a6(GUEST_SLAAC);
	c->guest6.own[1] = a6(GUEST_LL);
	c->guest6.own_n = 2;

	memcpy(c->tap.guest_mac, guest_mac, ETH_ALEN);
	c->tap.guest_mac_known = true;
	c->tap.fd = -1;
	return c;
}

/* setup() - cmocka fixture: a fresh context per test */
static int setup(void **state)
{
	*state = ctx_make();
	return 0;
}

/* teardown() - cmocka fixture: free the context */
static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* pseudo_sum() - ref_sum() of the RFC 8200 8.1 pseudo-header */
static uint16_t pseudo_sum(const uint8_t *src, const uint8_t *dst,
			   uint8_t nh, size_t len)
{
	uint8_t ph[40] = { 0 };

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	put32(ph + 32, (uint32_t)len);
	ph[39] = nh;
	return ref_sum(ph, sizeof(ph), 0);
}

/**
 * pkt_build() - an IPv6 packet from the guest, its ICMPv6 checksum set,
 *		 and the view ip6_parse() makes of it
 * @src:	source address
 * @dst:	destination address
 * @hops:	hop limit
 * @nh:		next header of the payload
 * @frag:	fragment offset and flags of a fragment header, or -1 for
 *		none
 * @msg:	payload (checksum field, for ICMPv6, left as it is)
 * @mlen:	its length
 *
 * Return: the packet, to pkt_free()
 */
static struct v6pkt pkt_build(const char *src, const char *dst, uint8_t hops,
			      uint8_t nh, int frag, const uint8_t *msg,
			      size_t mlen)
{
	struct in6_addr s = a6(src), d = a6(dst);
	size_t ext = frag < 0 ? 0 : V6_FRAG_HLEN;
	struct pkt v;
	struct v6pkt p;
	uint8_t *m;

	p.len = V6_HLEN + ext + mlen;
	p.buf = malloc(p.len);
	assert_non_null(p.buf);
	memset(p.buf, 0, V6_HLEN + ext);
	p.buf[0] = 0x60;
	put16(p.buf + V6_PLEN, (uint16_t)(ext + mlen));
	p.buf[V6_NH] = ext ? NH_FRAG : nh;
	p.buf[V6_HOPS] = hops;
	memcpy(p.buf + V6_SRC, &s, 16);
	memcpy(p.buf + V6_DST, &d, 16);
	if (ext) {				/* RFC 8200 4.5 */
		p.buf[V6_HLEN] = nh;
		put16(p.buf + V6_HLEN + 2, (uint16_t)frag);
		put32(p.buf + V6_HLEN + 4, 0x1234);
	}
	m = p.buf + V6_HLEN + ext;
	memcpy(m, msg, mlen);
	if (nh == NH_ICMP6 && mlen >= 4) {
		put16(m + 2, 0);
		put16(m + 2, (uint16_t)~ref_sum(m, mlen,
			pseudo_sum(p.buf + V6_SRC, p.buf + V6_DST, nh, mlen)));
	}

	v.p = p.buf;
	v.len = p.len;
	assert_int_equal(ip6_parse(v, &p.ip), 0);
	return p;
}

/* pkt_make() - pkt_build() without a fragment header */
static struct v6pkt pkt_make(const char *src, const char *dst, uint8_t hops,
			     uint8_t nh, const uint8_t *msg, size_t mlen)
{
	return pkt_build(src, dst, hops, nh, -1, msg, mlen);
}

/* pkt_free() - free a packet of pkt_make() */
static void pkt_free(struct v6pkt *p)
{
	free(p->buf);
}

/**
 * ndp_run() - hand a packet to ndp(), with a reply buffer of @size bytes
 * @c:		context
 * @p:		packet
 * @size:	size of the reply buffer, malloc()ed to it
 * @out:	the reply copied here (REPLY_MAX bytes), or NULL
 * @rlen:	set to the reply length
 *
 * Return: what ndp() returned
 */
static bool ndp_run(const struct ctx *c, const struct v6pkt *p, size_t size,
		    uint8_t *out, size_t *rlen)
{
	uint8_t *reply = malloc(size ? size : 1);
	bool ret;

	assert_non_null(reply);
	memset(reply, 0xa5, size);
	*rlen = 0xdead;
	ret = ndp(c, &p->ip, reply, size, rlen);
	assert_true(*rlen <= size);
	if (!ret)
		assert_int_equal(*rlen, 0);
	if (out)
		memcpy(out, reply, MIN(*rlen, (size_t)REPLY_MAX));
	free(reply);
	return ret;
}

/* ns_msg() - a neighbour solicitation for @target, no options: 24 bytes */
static size_t ns_msg(uint8_t *m, const char *target)
{
	struct in6_addr t = a6(target);

	memset(m, 0, NS_LEN);
	m[0] = T_NS;
	memcpy(m + 8, &t, 16);
	return NS_LEN;
}

/* slla_opt() - append a source link-layer address option: 8 bytes */
static size_t slla_opt(uint8_t *m, const uint8_t *mac)
{
	m[0] = 1;
	m[1] = 1;
	memcpy(m + 2, mac, ETH_ALEN);
	return 8;
}

/* solicited_node() - the solicited-node group of an address, as text */
static const char *solicited_node(const char *addr, char *buf)
{
	struct in6_addr a = a6(addr), s = a6("ff02::1:ff00:0");

	memcpy(&s.s6_addr[13], &a.s6_addr[13], 3);
	assert_non_null(inet_ntop(AF_INET6, &s, buf, INET6_ADDRSTRLEN));
	return buf;
}

/**
 * ns_run() - a well-formed NS from the guest's link-local address to the
 *	      target's solicited-node group, with the guest's MAC as option
 * @c:		context
 * @target:	address asked about
 * @out:	reply, REPLY_MAX bytes
 * @rlen:	set to the reply length
 *
 * Return: what ndp() returned
 */
static bool ns_run(const struct ctx *c, const char *target, uint8_t *out,
		   size_t *rlen)
{
	char sn[INET6_ADDRSTRLEN];
	uint8_t m[NS_LEN + 8];
	struct v6pkt p;
	size_t n;
	bool ret;

	n = ns_msg(m, target);
	n += slla_opt(m + n, guest_mac);
	p = pkt_make(GUEST_LL, solicited_node(target, sn), 255, NH_ICMP6, m,
		     n);
	ret = ndp_run(c, &p, REPLY_MAX, out, rlen);
	pkt_free(&p);
	return ret;
}

/**
 * check_icmp6() - check the headers of a frame merd sends the guest, and
 *		   its ICMPv6 checksum, computed two ways
 * @f:		frame
 * @len:	its length
 * @dmac:	destination MAC expected
 * @src:	source address expected
 * @dst:	destination address expected
 * @type:	ICMPv6 type expected
 *
 * Return: the ICMPv6 message length
 */
static size_t check_icmp6(const uint8_t *f, size_t len, const uint8_t *dmac,
			  const struct in6_addr *src,
			  const struct in6_addr *dst, uint8_t type)
{
	const uint8_t *ip = f + ETH_HLEN, *m = ip + V6_HLEN;
	uint8_t *copy;
	size_t mlen;
	uint16_t check;

	assert_true(len >= ETH_HLEN + V6_HLEN + 8);
	assert_memory_equal(f, dmac, ETH_ALEN);
	assert_memory_equal(f + 6, our_mac, ETH_ALEN);
	assert_int_equal(get16(f + 12), 0x86dd);

	assert_int_equal(ip[0] >> 4, 6);
	mlen = get16(ip + V6_PLEN);
	assert_int_equal(ETH_HLEN + V6_HLEN + mlen, len);
	assert_int_equal(ip[V6_NH], NH_ICMP6);
	assert_int_equal(ip[V6_HOPS], 255);		/* RFC 4861 6.1.2 */
	assert_memory_equal(ip + V6_SRC, src, 16);
	assert_memory_equal(ip + V6_DST, dst, 16);

	assert_int_equal(m[0], type);
	assert_int_equal(m[1], 0);
	assert_int_equal(ref_sum(m, mlen, pseudo_sum(ip + V6_SRC, ip + V6_DST,
						     NH_ICMP6, mlen)), 0xffff);
	copy = malloc(mlen);
	assert_non_null(copy);
	memcpy(copy, m, mlen);
	memcpy(&check, m + 2, 2);
	memset(copy + 2, 0, 2);
	assert_int_equal(csum_l4_ip6(src, dst, IPPROTO_ICMPV6, copy, mlen),
			 check);
	free(copy);
	return mlen;
}

/**
 * check_na() - a neighbour advertisement telling the guest that @target
 *		is at our MAC
 * @f:		frame
 * @len:	its length
 * @target:	address asked about
 * @to:		address of the solicitor
 * @flags:	NA flags expected
 */
static void check_na(const uint8_t *f, size_t len, const char *target,
		     const char *to, uint8_t flags)
{
	struct in6_addr t = a6(target), d = a6(to);
	const uint8_t *m = f + ETH_HLEN + V6_HLEN;

	assert_int_equal(len, NA_FRAME_LEN);
	assert_int_equal(check_icmp6(f, len, guest_mac, &t, &d, T_NA),
			 NA_LEN);
	assert_int_equal(m[4], flags);
	assert_int_equal(m[5] | m[6] | m[7], 0);
	assert_memory_equal(m + 8, &t, 16);
	assert_int_equal(m[24], 2);			/* target LLA */
	assert_int_equal(m[25], 1);
	assert_memory_equal(m + 26, our_mac, ETH_ALEN);
}

/* assert_silent() - ndp() consumes the packet and doesn't answer */
static void assert_silent(const struct ctx *c, const struct v6pkt *p)
{
	size_t rlen;

	assert_true(ndp_run(c, p, REPLY_MAX, NULL, &rlen));
	assert_int_equal(rlen, 0);
}

/* ra_dnssl() - decode the names of a DNSSL option, check its padding */
static void ra_dnssl(struct ra_seen *s, const uint8_t *o, size_t olen)
{
	size_t off = 8;

	s->search_life = get32(o + 4);
	while (off < olen && o[off]) {
		char *name = s->search[s->search_n++];

		assert_true(s->search_n <= SEARCH_MAX);
		name[0] = '\0';
		while (o[off]) {
			size_t l = o[off++];

			assert_true(off + l < olen);
			if (name[0])
				strcat(name, ".");
			assert_true(strlen(name) + l <= DOMAIN_MAX);
			strncat(name, (const char *)o + off, l);
			off += l;
		}
		off++;
	}
	for (; off < olen; off++)
		assert_int_equal(o[off], 0);		/* padding */
}

/* ra_opt() - take one option of an RA, checking the length RFC says */
static void ra_opt(struct ra_seen *s, const uint8_t *o, size_t olen)
{
	switch (o[0]) {
	case 1:
		assert_int_equal(olen, 8);
		memcpy(s->mac, o + 2, ETH_ALEN);
		break;
	case 3:
		assert_int_equal(olen, 32);
		s->npi++;
		s->plen = o[2];
		s->pflags = o[3];
		s->valid = get32(o + 4);
		s->preferred = get32(o + 8);
		assert_int_equal(get32(o + 12), 0);
		memcpy(&s->prefix, o + 16, 16);
		break;
	case 5:
		assert_int_equal(olen, 8);
		assert_int_equal(get16(o + 2), 0);
		s->mtu = get32(o + 4);
		break;
	case 25:
		assert_true(olen >= 24 && (olen - 8) % 16 == 0);
		s->dns_life = get32(o + 4);
		s->dns_n = (int)((olen - 8) / 16);
		assert_true(s->dns_n <= DNS_MAX);
		memcpy(s->dns, o + 8, olen - 8);
		break;
	case 31:
		assert_true(olen >= 16);
		ra_dnssl(s, o, olen);
		break;
	default:
		fail_msg("unexpected option %u in the RA", o[0]);
	}
}

/**
 * ra_parse() - take a router advertisement apart as a guest would
 * @f:		frame
 * @len:	its length
 * @dmac:	destination MAC expected
 * @to:		destination address expected
 * @s:		filled with what it says
 */
static void ra_parse(const uint8_t *f, size_t len, const uint8_t *dmac,
		     const char *to, struct ra_seen *s)
{
	struct in6_addr src = a6(ROUTER), dst = a6(to);
	const uint8_t *m = f + ETH_HLEN + V6_HLEN;
	size_t mlen, off;

	memset(s, 0, sizeof(*s));
	mlen = check_icmp6(f, len, dmac, &src, &dst, T_RA);
	assert_true(mlen >= 16);
	s->hops = m[4];
	s->flags = m[5];
	s->lifetime = get16(m + 6);
	s->reachable = get32(m + 8);
	s->retrans = get32(m + 12);

	for (off = 16; off < mlen; ) {
		size_t olen;

		assert_true(off + 2 <= mlen);
		olen = (size_t)m[off + 1] * 8;
		assert_true(olen > 0);				/* RFC 4861 4.6 */
		assert_true(off + olen <= mlen);
		ra_opt(s, m + off, olen);
		off += olen;
	}
}

/* check_ra() - an RA saying what ctx_make() configured, within its MTU */
static void check_ra(const struct ctx *c, const struct ra_seen *s,
		     size_t len)
{
	struct in6_addr pfx = a6(PREFIX);
	int i;

	assert_true(len - ETH_HLEN <= c->link.mtu);
	assert_int_equal(s->hops, 64);
	assert_int_equal(s->flags, c->opts.no_dhcpv6 ? 0 : RA_M | RA_O);
	assert_true(s->lifetime >= NDP_RA_INTERVAL_MAX);
	assert_true(s->lifetime <= 9000);		/* RFC 4861 6.2.1 */
	assert_int_equal(s->reachable, 0);
	assert_int_equal(s->retrans, 0);
	assert_memory_equal(s->mac, our_mac, ETH_ALEN);
	assert_int_equal(s->mtu, c->link.mtu);

	assert_int_equal(s->npi, 1);
	assert_int_equal(s->plen, PREFIX_LEN);
	assert_int_equal(s->pflags, PI_L | PI_A);
	assert_memory_equal(&s->prefix, &pfx, 16);
	for (i = PREFIX_LEN; i < 128; i++)		/* host bits zero */
		assert_int_equal(s->prefix.s6_addr[i / 8] & (0x80 >> (i % 8)),
				 0);
	assert_true(s->valid > 0 && s->preferred > 0);
	assert_true(s->preferred <= s->valid);

	assert_int_equal(s->dns_n, c->guest6.dns_n);
	assert_memory_equal(s->dns, c->guest6.dns,
			    sizeof(struct in6_addr) * (size_t)s->dns_n);
	if (s->dns_n)						/* RFC 8106 */
		assert_true(s->dns_life >= 3 * NDP_RA_INTERVAL_MAX);

	assert_int_equal(s->search_n, c->link.search_n);
	for (i = 0; i < s->search_n; i++)
		assert_string_equal(s->search[i], c->link.search[i]);
	if (s->search_n)
		assert_true(s->search_life >= 3 * NDP_RA_INTERVAL_MAX);
}

/**
 * rs_run() - an RS from the guest to all-routers
 * @c:		context
 * @src:	source address
 * @slla:	MAC for a source link-layer option, NULL for none
 * @out:	reply, REPLY_MAX bytes
 * @rlen:	set to the reply length
 *
 * Return: what ndp() returned
 */
static bool rs_run(const struct ctx *c, const char *src, const uint8_t *slla,
		   uint8_t *out, size_t *rlen)
{
	uint8_t m[16] = { T_RS };
	size_t n = 8;
	struct v6pkt p;
	bool ret;

	if (slla)
		n += slla_opt(m + n, slla);
	p = pkt_make(src, "ff02::2", 255, NH_ICMP6, m, n);
	ret = ndp_run(c, &p, REPLY_MAX, out, rlen);
	pkt_free(&p);
	return ret;
}

/* Any on-link or off-link address resolves to our MAC: S and O, no R */
static void test_ns_any_address(void **state)
{
	static const char *const targets[] = {
		"2001:db8:1:200::1", "2001:db8:1:2ff::99", "fe80::1234",
		"fe80::5054:ff:fe12:3457", "2001:db8:ff::1", "2a00:1450::1",
	};
	uint8_t out[REPLY_MAX];
	size_t i, rlen;

	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		assert_true(ns_run(*state, targets[i], out, &rlen));
		check_na(out, rlen, targets[i], GUEST_LL, NA_S | NA_O);
	}
}

/* The router's address gets the Router flag too */
static void test_ns_router(void **state)
{
	uint8_t out[REPLY_MAX];
	size_t rlen;

	assert_true(ns_run(*state, ROUTER, out, &rlen));
	check_na(out, rlen, ROUTER, GUEST_LL, NA_R | NA_S | NA_O);
}

/* Unicast solicitations (reachability confirmation), from the guest's
 * global address and without the link-layer option, are answered too
 */
static void test_ns_unicast(void **state)
{
	uint8_t m[NS_LEN], out[REPLY_MAX];
	struct v6pkt p;
	size_t rlen;

	ns_msg(m, ROUTER);
	p = pkt_make(GUEST_ADDR, ROUTER, 255, NH_ICMP6, m, sizeof(m));
	assert_true(ndp_run(*state, &p, REPLY_MAX, out, &rlen));
	check_na(out, rlen, ROUTER, GUEST_ADDR, NA_R | NA_S | NA_O);
	pkt_free(&p);
}

/* Solicitations for the guest's own addresses: no answer, or the guest
 * would find them in use
 */
static void test_ns_guest_silent(void **state)
{
	static const char *const own[] = { GUEST_ADDR, GUEST_SLAAC, GUEST_LL };
	uint8_t out[REPLY_MAX];
	size_t i, rlen;

	for (i = 0; i < ARRAY_SIZE(own); i++) {
		assert_true(ns_run(*state, own[i], out, &rlen));
		assert_int_equal(rlen, 0);
	}
}

/* A DAD solicitation names the address the guest takes, however it made
 * it; a solicitation from a unicast source, or with a bad checksum, does
 * not
 */
static void test_dad_target(void **state)
{
	const char *const t = "2001:db8:1:200:b37d:88cd:d3e5:c334";
	struct in6_addr got, want = a6(t);
	char sn[INET6_ADDRSTRLEN];
	uint8_t m[NS_LEN];
	struct v6pkt p;

	ns_msg(m, t);
	p = pkt_make("::", solicited_node(t, sn), 255, NH_ICMP6, m, sizeof(m));
	assert_true(ndp_dad_target(*state, &p.ip, &got));
	assert_memory_equal(&got, &want, sizeof(got));
	p.buf[p.len - 1] ^= 1;		/* the checksum no longer holds */
	assert_false(ndp_dad_target(*state, &p.ip, &got));
	pkt_free(&p);

	ns_msg(m, t);
	p = pkt_make(GUEST_LL, solicited_node(t, sn), 255, NH_ICMP6, m,
		     sizeof(m));
	assert_false(ndp_dad_target(*state, &p.ip, &got));
	pkt_free(&p);
}

/* The guest's SLAAC and link-local addresses, from its MAC (modified
 * EUI-64), are its own before it ever sends from them; not once its MAC
 * is unknown
 */
static void test_ns_guest_eui64_silent(void **state)
{
	struct ctx *c = *state;
	uint8_t out[REPLY_MAX];
	size_t rlen;

	c->guest6.own_n = 0;
	assert_true(ns_run(c, GUEST_SLAAC, out, &rlen));
	assert_int_equal(rlen, 0);
	assert_true(ns_run(c, GUEST_LL, out, &rlen));
	assert_int_equal(rlen, 0);
	c->tap.guest_mac[5] ^= 1;
	assert_true(ns_run(c, GUEST_SLAAC, out, &rlen));
	assert_true(rlen > 0);
}

/* Only the first own_n addresses of own[] are the guest's */
static void test_ns_own_n(void **state)
{
	struct ctx *c = *state;
	uint8_t out[REPLY_MAX];
	size_t rlen;

	c->guest6.own[2] = a6("2001:db8:1:200::77");
	assert_true(ns_run(c, "2001:db8:1:200::77", out, &rlen));
	check_na(out, rlen, "2001:db8:1:200::77", GUEST_LL, NA_S | NA_O);
	c->guest6.own_n = 3;
	assert_true(ns_run(c, "2001:db8:1:200::77", out, &rlen));
	assert_int_equal(rlen, 0);
}

/* Duplicate address detection (source ::): never answered, whatever the
 * target
 */
static void test_ns_dad_silent(void **state)
{
	static const char *const targets[] = { "fe80::abcd", ROUTER,
					       GUEST_LL, "2001:db8:1:200::5" };
	char sn[INET6_ADDRSTRLEN];
	uint8_t m[NS_LEN];
	struct v6pkt p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		ns_msg(m, targets[i]);
		p = pkt_make("::", solicited_node(targets[i], sn), 255,
			     NH_ICMP6, m, sizeof(m));
		assert_silent(*state, &p);
		pkt_free(&p);
	}
}

/* RFC 4861 7.1.1: hop limit 255 and code 0, or not from the link */
static void test_ns_hop_limit_code(void **state)
{
	static const uint8_t hops[] = { 64, 1, 254, 0 };
	uint8_t m[NS_LEN];
	struct v6pkt p;
	size_t i;

	ns_msg(m, ROUTER);
	for (i = 0; i < ARRAY_SIZE(hops); i++) {
		p = pkt_make(GUEST_LL, ROUTER, hops[i], NH_ICMP6, m,
			     sizeof(m));
		assert_silent(*state, &p);
		pkt_free(&p);
	}

	m[1] = 1;
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, sizeof(m));
	assert_silent(*state, &p);
	pkt_free(&p);
}

/* A checksum off by one bit, or zero: dropped */
static void test_ns_bad_checksum(void **state)
{
	uint8_t m[NS_LEN];
	struct v6pkt p;
	int bit;

	ns_msg(m, ROUTER);
	for (bit = 0; bit < 16; bit++) {
		p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, sizeof(m));
		p.buf[V6_HLEN + 2 + bit / 8] ^= (uint8_t)(1 << (bit % 8));
		assert_silent(*state, &p);
		pkt_free(&p);
	}
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, sizeof(m));
	memset(p.buf + V6_HLEN + 2, 0, 2);
	assert_silent(*state, &p);
	pkt_free(&p);
}

/* Truncated at every length short of 24 bytes, checksum right for that
 * length: dropped, and ASan checks nothing past the packet is read (an
 * empty payload doesn't get past ip6_parse(): RFC 2675 jumbogram)
 */
static void test_ns_truncated(void **state)
{
	uint8_t m[NS_LEN];
	struct v6pkt p;
	size_t len, rlen;

	ns_msg(m, ROUTER);
	for (len = 1; len < NS_LEN; len++) {
		p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, len);
		assert_silent(*state, &p);
		pkt_free(&p);
	}

	/* No type at all: not NDP, forwarded */
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, 1);
	p.ip.l4.len = 0;
	assert_false(ndp_run(*state, &p, REPLY_MAX, NULL, &rlen));
	pkt_free(&p);
}

/* RFC 4861 4.6, 7.1.1: an option of length 0, one running past the end,
 * and a partial option header make the whole message invalid
 */
static void test_ns_bad_options(void **state)
{
	uint8_t m[NS_LEN + 24];
	struct v6pkt p;
	size_t n;

	n = ns_msg(m, ROUTER);
	n += slla_opt(m + n, guest_mac);
	memset(m + n, 0, 8);
	m[n] = 14;			/* nonce, length 0 */
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, n + 8);
	assert_silent(*state, &p);
	pkt_free(&p);

	n = ns_msg(m, ROUTER);
	slla_opt(m + n, guest_mac);
	m[n + 1] = 0;			/* the link-layer option, length 0 */
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, n + 8);
	assert_silent(*state, &p);
	pkt_free(&p);

	n = ns_msg(m, ROUTER);
	slla_opt(m + n, guest_mac);
	m[n + 1] = 2;			/* 16 bytes, 8 there */
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, n + 8);
	assert_silent(*state, &p);
	pkt_free(&p);

	n = ns_msg(m, ROUTER);
	m[n] = 1;			/* one byte of an option header */
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, n + 1);
	assert_silent(*state, &p);
	pkt_free(&p);
}

/* Unknown options of the right shape are skipped: still answered */
static void test_ns_unknown_option(void **state)
{
	uint8_t m[NS_LEN + 24] = { 0 }, out[REPLY_MAX];
	struct v6pkt p;
	size_t n, rlen;

	n = ns_msg(m, ROUTER);
	m[n] = 14;			/* RFC 3971 nonce, 8 bytes */
	m[n + 1] = 1;
	n += 8;
	m[n] = 200;			/* unknown, 16 bytes */
	m[n + 1] = 2;
	n += 16;
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, n);
	assert_true(ndp_run(*state, &p, REPLY_MAX, out, &rlen));
	check_na(out, rlen, ROUTER, GUEST_LL, NA_R | NA_S | NA_O);
	pkt_free(&p);
}

/* Multicast, unspecified and loopback targets are nobody's: no answer */
static void test_ns_unicast_targets_only(void **state)
{
	static const char *const targets[] = { "ff02::1", "ff02::1:ff00:1",
					       "ff05::2", "::", "::1" };
	uint8_t m[NS_LEN];
	struct v6pkt p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		ns_msg(m, targets[i]);
		p = pkt_make(GUEST_LL, "ff02::1:ff00:1", 255, NH_ICMP6, m,
			     sizeof(m));
		assert_silent(*state, &p);
		pkt_free(&p);
	}
}

/* The reply goes to the frame's source; while merd doesn't know it, to
 * the link-layer option's address; with neither, nowhere
 */
static void test_ns_dest_mac(void **state)
{
	static const uint8_t other[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x42 };
	uint8_t m[NS_LEN + 8], out[REPLY_MAX];
	struct ctx *c = *state;
	struct v6pkt p;
	size_t n, rlen;

	n = ns_msg(m, ROUTER);
	n += slla_opt(m + n, other);
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, n);

	assert_true(ndp_run(c, &p, REPLY_MAX, out, &rlen));
	assert_int_equal(rlen, NA_FRAME_LEN);
	assert_memory_equal(out, guest_mac, ETH_ALEN);

	c->tap.guest_mac_known = false;
	assert_true(ndp_run(c, &p, REPLY_MAX, out, &rlen));
	assert_int_equal(rlen, NA_FRAME_LEN);
	assert_memory_equal(out, other, ETH_ALEN);
	pkt_free(&p);

	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, NS_LEN);
	assert_silent(c, &p);
	pkt_free(&p);
}

/* A reply buffer one byte short of the NA gets nothing */
static void test_ns_small_buffer(void **state)
{
	uint8_t m[NS_LEN], out[REPLY_MAX];
	struct v6pkt p;
	size_t rlen;

	ns_msg(m, ROUTER);
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, sizeof(m));
	assert_true(ndp_run(*state, &p, NA_FRAME_LEN, out, &rlen));
	check_na(out, rlen, ROUTER, GUEST_LL, NA_R | NA_S | NA_O);
	assert_true(ndp_run(*state, &p, NA_FRAME_LEN - 1, NULL, &rlen));
	assert_int_equal(rlen, 0);
	pkt_free(&p);
}

/* An RS gets a unicast RA with the prefix, MTU, DNS servers and names */
static void test_rs_ra(void **state)
{
	uint8_t out[REPLY_MAX];
	struct ra_seen s;
	size_t rlen;

	assert_true(rs_run(*state, GUEST_LL, guest_mac, out, &rlen));
	ra_parse(out, rlen, guest_mac, GUEST_LL, &s);
	check_ra(*state, &s, rlen);

	assert_true(rs_run(*state, GUEST_LL, NULL, out, &rlen));
	ra_parse(out, rlen, guest_mac, GUEST_LL, &s);
	check_ra(*state, &s, rlen);
}

/* An RS from :: gets its RA on all-nodes, ff02::1 at 33:33:00:00:00:01 */
static void test_rs_unspecified(void **state)
{
	static const uint8_t all_nodes[ETH_ALEN] = { 0x33, 0x33, 0, 0, 0, 1 };
	uint8_t out[REPLY_MAX];
	struct ra_seen s;
	size_t rlen;

	assert_true(rs_run(*state, "::", NULL, out, &rlen));
	ra_parse(out, rlen, all_nodes, "ff02::1", &s);
	check_ra(*state, &s, rlen);
}

/* RFC 4861 6.1.1: hop limit, code, checksum, length, options; and no
 * link-layer option from ::
 */
static void test_rs_invalid(void **state)
{
	uint8_t m[16] = { T_RS }, out[REPLY_MAX];
	struct v6pkt p;
	size_t len, rlen;

	p = pkt_make(GUEST_LL, "ff02::2", 64, NH_ICMP6, m, 8);
	assert_silent(*state, &p);
	pkt_free(&p);

	m[1] = 1;
	p = pkt_make(GUEST_LL, "ff02::2", 255, NH_ICMP6, m, 8);
	assert_silent(*state, &p);
	pkt_free(&p);
	m[1] = 0;

	p = pkt_make(GUEST_LL, "ff02::2", 255, NH_ICMP6, m, 8);
	p.buf[V6_HLEN + 3] ^= 1;
	assert_silent(*state, &p);
	pkt_free(&p);

	for (len = 1; len < 8; len++) {
		p = pkt_make(GUEST_LL, "ff02::2", 255, NH_ICMP6, m, len);
		assert_silent(*state, &p);
		pkt_free(&p);
	}

	slla_opt(m + 8, guest_mac);
	m[9] = 0;
	p = pkt_make(GUEST_LL, "ff02::2", 255, NH_ICMP6, m, 16);
	assert_silent(*state, &p);
	pkt_free(&p);

	assert_true(rs_run(*state, "::", guest_mac, out, &rlen));
	assert_int_equal(rlen, 0);
}

/* MLD, and RA, NA and redirect from the guest: swallowed, no reply */
static void test_consumed_quietly(void **state)
{
	static const uint8_t types[] = { T_MLD_QUERY, T_MLD_REPORT,
					 T_MLD_DONE, T_MLD2_REPORT, T_RA,
					 T_NA, T_REDIRECT };
	uint8_t m[40] = { 0 };
	struct v6pkt p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		m[0] = types[i];
		p = pkt_make(GUEST_LL, "ff02::16", 255, NH_ICMP6, m,
			     sizeof(m));
		assert_silent(*state, &p);
		pkt_free(&p);
		p = pkt_make(GUEST_LL, ROUTER, 1, NH_ICMP6, m, 4);
		assert_silent(*state, &p);
		pkt_free(&p);
	}
}

/* --no-ndp: NS swallowed unanswered, RS still answered */
static void test_no_ndp(void **state)
{
	struct ctx *c = *state;
	uint8_t out[REPLY_MAX];
	struct ra_seen s;
	size_t rlen;

	c->opts.no_ndp = true;
	assert_true(ns_run(c, ROUTER, out, &rlen));
	assert_int_equal(rlen, 0);
	assert_true(rs_run(c, GUEST_LL, NULL, out, &rlen));
	ra_parse(out, rlen, guest_mac, GUEST_LL, &s);
	check_ra(c, &s, rlen);
}

/* --no-ra: RS swallowed unanswered, NS still answered */
/* Without DHCPv6, the RA doesn't send the guest asking for it: neither M
 * nor O (RFC 4861 4.2); the prefix is still there for SLAAC
 */
static void test_no_dhcpv6_flags(void **state)
{
	struct ctx *c = *state;
	uint8_t out[REPLY_MAX];
	struct ra_seen s;
	size_t rlen;

	c->opts.no_dhcpv6 = true;
	assert_true(rs_run(c, GUEST_LL, guest_mac, out, &rlen));
	ra_parse(out, rlen, guest_mac, GUEST_LL, &s);
	assert_int_equal(s.flags, 0);
	check_ra(c, &s, rlen);
}

static void test_no_ra(void **state)
{
	struct ctx *c = *state;
	uint8_t out[REPLY_MAX];
	size_t rlen;

	c->opts.no_ra = true;
	assert_true(rs_run(c, GUEST_LL, NULL, out, &rlen));
	assert_int_equal(rlen, 0);
	assert_true(ns_run(c, ROUTER, out, &rlen));
	check_na(out, rlen, ROUTER, GUEST_LL, NA_R | NA_S | NA_O);
}

/* Not NDP (UDP, echo, errors, IPv4), or IPv6 not served: forwarded */
static void test_not_ndp(void **state)
{
	static const uint8_t types[] = { 1, 2, 3, 4, T_ECHO, 129, 138, 139,
					 255 };
	uint8_t m[NS_LEN];
	struct ctx *c = *state;
	struct v6pkt p;
	size_t i, rlen;

	ns_msg(m, ROUTER);
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_UDP, m, sizeof(m));
	assert_false(ndp_run(c, &p, REPLY_MAX, NULL, &rlen));
	pkt_free(&p);

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		m[0] = types[i];
		p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, sizeof(m));
		assert_false(ndp_run(c, &p, REPLY_MAX, NULL, &rlen));
		pkt_free(&p);
	}

	ns_msg(m, ROUTER);
	p = pkt_make(GUEST_LL, ROUTER, 255, NH_ICMP6, m, sizeof(m));
	p.ip.family = AF_INET;
	assert_false(ndp_run(c, &p, REPLY_MAX, NULL, &rlen));
	p.ip.family = AF_INET6;
	c->guest6.enabled = false;
	assert_false(ndp_run(c, &p, REPLY_MAX, NULL, &rlen));
	pkt_free(&p);
}

/* RFC 6980 5: NDP in a fragment, even an atomic one, is dropped; a later
 * fragment isn't NDP, whatever its first byte
 */
static void test_fragments(void **state)
{
	static const int frags[] = { 0, V6_MF };
	uint8_t m[NS_LEN];
	struct v6pkt p;
	size_t i, rlen;

	ns_msg(m, ROUTER);
	for (i = 0; i < ARRAY_SIZE(frags); i++) {
		p = pkt_build(GUEST_LL, ROUTER, 255, NH_ICMP6, frags[i], m,
			      sizeof(m));
		assert_silent(*state, &p);
		pkt_free(&p);
	}
	p = pkt_build(GUEST_LL, ROUTER, 255, NH_ICMP6, 1232, m, sizeof(m));
	assert_false(ndp_run(*state, &p, REPLY_MAX, NULL, &rlen));
	pkt_free(&p);
}

/* ndp_ra() into buffers of every size: 0 while the options it always has
 * don't fit, then a valid RA, each DNS option added where it fits (the
 * search list takes 36 bytes, 48 as an option)
 */
static void test_ra_buffer_sizes(void **state)
{
	struct in6_addr all = a6("ff02::1");
	const size_t base = ETH_HLEN + V6_HLEN + 16 + 8 + 8 + 32;
	const size_t rdnss = 8 + 16 * ARRAY_SIZE(dns);
	const size_t dnssl = 8 + 40;
	struct ra_seen s;
	size_t size, len;
	uint8_t *buf;
	bool has_dns;

	for (size = 0; size <= REPLY_MAX; size++) {
		buf = malloc(size ? size : 1);
		assert_non_null(buf);
		len = ndp_ra(*state, &all, guest_mac, buf, size);
		assert_true(len <= size);
		if (size < base) {
			assert_int_equal(len, 0);
		} else {
			has_dns = size >= base + rdnss;
			ra_parse(buf, len, guest_mac, "ff02::1", &s);
			assert_int_equal(s.npi, 1);
			assert_int_equal(s.dns_n, has_dns ? 3 : 0);
			assert_int_equal(s.search_n,
					 size - base - (has_dns ? rdnss : 0) >=
					 dnssl ? 3 : 0);
			assert_int_equal(len, base + (s.dns_n ? rdnss : 0) +
					      (s.search_n ? dnssl : 0));
		}
		free(buf);
	}
}

/* The RA never exceeds the link MTU: the search list goes first */
static void test_ra_mtu(void **state)
{
	struct in6_addr all = a6("ff02::1");
	struct ctx *c = *state;
	uint8_t buf[4096];
	struct ra_seen s;
	size_t len;
	int i, j;

	c->link.mtu = 1280;
	for (i = 0; i < DNS_MAX; i++)
		c->guest6.dns[i] = a6("2001:db8::53");
	c->guest6.dns_n = DNS_MAX;
	/* Three 63-byte labels and example.com: 205 bytes encoded each */
	for (i = 0; i < SEARCH_MAX; i++) {
		char *n = c->link.search[i];

		for (j = 0; j < 3; j++) {
			memset(n + j * 64, 'a' + i, 63);
			n[j * 64 + 63] = '.';
		}
		strcpy(n + 3 * 64, "example.com");
	}
	c->link.search_n = SEARCH_MAX;

	len = ndp_ra(c, &all, guest_mac, buf, sizeof(buf));
	ra_parse(buf, len, guest_mac, "ff02::1", &s);
	assert_true(len - ETH_HLEN <= 1280);
	assert_int_equal(s.dns_n, DNS_MAX);
	assert_int_equal(s.search_n, 0);

	c->link.mtu = 9000;
	len = ndp_ra(c, &all, guest_mac, buf, sizeof(buf));
	ra_parse(buf, len, guest_mac, "ff02::1", &s);
	check_ra(c, &s, len);
}

/* The longest search list is more than one option can carry: left out */
static void test_ra_dnssl_too_long(void **state)
{
	struct in6_addr all = a6("ff02::1");
	struct ctx *c = *state;
	uint8_t buf[4096];
	struct ra_seen s;
	size_t len, j;
	int i;

	c->link.mtu = 9000;
	for (i = 0; i < SEARCH_MAX; i++) {
		for (j = 0; j < DOMAIN_MAX; j++)
			c->link.search[i][j] = j % 64 == 63 ? '.' :
					       (char)('a' + i);
		c->link.search[i][DOMAIN_MAX] = '\0';
	}
	c->link.search_n = SEARCH_MAX;
	len = ndp_ra(c, &all, guest_mac, buf, sizeof(buf));
	ra_parse(buf, len, guest_mac, "ff02::1", &s);
	assert_int_equal(s.search_n, 0);

	c->link.search_n = SEARCH_MAX - 1;	/* 7 * 255 bytes: fits */
	len = ndp_ra(c, &all, guest_mac, buf, sizeof(buf));
	ra_parse(buf, len, guest_mac, "ff02::1", &s);
	check_ra(c, &s, len);
}

/* No DNS servers, no search list: no RDNSS, no DNSSL */
static void test_ra_no_dns(void **state)
{
	struct in6_addr all = a6("ff02::1");
	struct ctx *c = *state;
	uint8_t buf[REPLY_MAX];
	struct ra_seen s;
	size_t len;

	c->guest6.dns_n = 0;
	c->link.search_n = 0;
	len = ndp_ra(c, &all, guest_mac, buf, sizeof(buf));
	assert_int_equal(len, ETH_HLEN + V6_HLEN + 16 + 8 + 8 + 32);
	ra_parse(buf, len, guest_mac, "ff02::1", &s);
	check_ra(c, &s, len);
}

/* Unsolicited RAs: spread uniformly over [MIN, MAX] from now */
static void test_ra_next(void **state)
{
	const uint32_t span = NDP_RA_INTERVAL_MAX - NDP_RA_INTERVAL_MIN;
	uint32_t i, t;

	(void)state;
	assert_true(NDP_RA_INTERVAL_MIN >= 3);
	assert_true(NDP_RA_INTERVAL_MAX <= 1800);
	assert_true(NDP_RA_INTERVAL_MIN * 4 <= NDP_RA_INTERVAL_MAX * 3);

	assert_int_equal(ndp_ra_next(1000, 0), 1000 + NDP_RA_INTERVAL_MIN);
	assert_int_equal(ndp_ra_next(1000, span), 1000 + NDP_RA_INTERVAL_MAX);
	assert_int_equal(ndp_ra_next(1000, span + 1),
			 1000 + NDP_RA_INTERVAL_MIN);
	rng_seed(7);
	for (i = 0; i < 10000; i++) {
		t = ndp_ra_next(5, rng());
		assert_true(t >= 5 + NDP_RA_INTERVAL_MIN);
		assert_true(t <= 5 + NDP_RA_INTERVAL_MAX);
	}
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ns_any_address),
		T(test_ns_router),
		T(test_ns_unicast),
		T(test_ns_guest_silent),
		T(test_ns_own_n),
		T(test_ns_guest_eui64_silent),
		T(test_dad_target),
		T(test_ns_dad_silent),
		T(test_ns_hop_limit_code),
		T(test_ns_bad_checksum),
		T(test_ns_truncated),
		T(test_ns_bad_options),
		T(test_ns_unknown_option),
		T(test_ns_unicast_targets_only),
		T(test_ns_dest_mac),
		T(test_ns_small_buffer),
		T(test_rs_ra),
		T(test_rs_unspecified),
		T(test_rs_invalid),
		T(test_consumed_quietly),
		T(test_no_ndp),
		T(test_no_ra),
		T(test_no_dhcpv6_flags),
		T(test_not_ndp),
		T(test_fragments),
		T(test_ra_buffer_sizes),
		T(test_ra_mtu),
		T(test_ra_dnssl_too_long),
		T(test_ra_no_dns),
		T(test_ra_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
