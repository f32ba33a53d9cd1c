// SPDX-License-Identifier: GPL-2.0-or-later
/* test_inbound.c - unit tests for inbound port forwarding: fwd.c's
 *		    fwd_inbound(), inbound.c, and the way back through
 *		    fwd_from_guest()
 *
 * Copyright (c) 2026 merd authors
 *
 * The context (env.h) has a flow table, reassembly and scratch space set
 * up by hand as in test_fwd.c, no port block (port_ref() refuses every
 * port, so no flow holds one), and the rules -t 2222:22 and -u 5300:53
 * from fwdrule_parse(). Packets from the network are handed to
 * fwd_from_host() in exact-size buffers; what reaches the guest is read
 * out of the transmit ring, and what the guest answers stops in the raw
 * send batch, where the test reads it.
 *
 * What merd answers for the guest itself (resets, ICMP errors) goes out at
 * once with raw_send() or raw_send6() on the raw send descriptors, -1
 * here: the send fails with EBADF, as in test_fwd.c. The test is linked
 * with -Wl,--wrap=sendmsg, so that __wrap_sendmsg() below sees those
 * sends first: it keeps a copy of each one for a negative descriptor, then
 * lets the real sendmsg() fail as before. merd behaves exactly as without
 * the wrapper, and the test can check the bytes it would have sent.
 *
 * Every check is from scratch (ref.h, ref6.h): addresses, ports, TTL or
 * hop limit, both checksums, and every other byte left as it was.
 */

#include <errno.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "conntrack.h"
#include "frag.h"
#include "fwd.h"
#include "fwdrule.h"
#include "env6.h"

#define CLIENT		0xc6336407	/* 198.51.100.7, a remote client */
#define CLIENT2		0xcb007109	/* 203.0.113.9, another one */
#define LOOP		0x7f000001	/* 127.0.0.1 */
#define HOST_ADDR4	0xc0000209	/* 192.0.2.9: host.addr4, some tests */
#define CPORT		40123		/* the client's port */
#define TPORT		2222		/* -t 2222:22 */
#define TGPORT		22
#define UPORT		5300		/* -u 5300:53 */
#define UGPORT		53
#define LO_IFI		1		/* the loopback device's index */

#define CLIENT6		"2001:db8:80::50"
#define SLAAC6		"2001:db8:42:0:5054:ff:fe12:3456"
#define LL6		"fe80::5054:ff:fe12:3456"

/* Room for any packet of these tests */
#define BUF_MAX		2048

/**
 * struct raw_sent - what merd handed sendmsg() on a descriptor below zero
 * @n:		how many packets since the test started
 * @p:		the last one, its pieces joined
 * @len:	its length
 * @dst:	where it was addressed
 */
static struct raw_sent {
	int n;
	uint8_t p[BUF_MAX];
	size_t len;
	struct sockaddr_storage dst;
} raw_sent;

ssize_t __real_sendmsg(int fd, const struct msghdr *mh, int flags);
ssize_t __wrap_sendmsg(int fd, const struct msghdr *mh, int flags);

/**
 * __wrap_sendmsg() - keep a copy of a raw send merd makes, then send it
 * @fd:		descriptor; only negative ones (the environment's raw
 *		sockets) are looked at
 * @mh:		message
 * @flags:	flags
 *
 * Return: what sendmsg() returns
 */
ssize_t __wrap_sendmsg(int fd, const struct msghdr *mh, int flags)
{
	size_t i;

	if (fd < 0) {
		raw_sent.n++;
		raw_sent.len = 0;
		for (i = 0; i < mh->msg_iovlen; i++) {
			const struct iovec *v = &mh->msg_iov[i];

			assert_true(raw_sent.len + v->iov_len <=
				    sizeof(raw_sent.p));
			memcpy(raw_sent.p + raw_sent.len, v->iov_base,
			       v->iov_len);
			raw_sent.len += v->iov_len;
		}
		memset(&raw_sent.dst, 0, sizeof(raw_sent.dst));
		if (mh->msg_name)
			memcpy(&raw_sent.dst, mh->msg_name,
			       MIN((size_t)mh->msg_namelen,
				   sizeof(raw_sent.dst)));
	}
	return __real_sendmsg(fd, mh, flags);
}

/* sent_to4() - the last raw send went to @dst (host order), over IPv4 */
static void sent_to4(uint32_t dst)
{
	struct sockaddr_in sin;

	memcpy(&sin, &raw_sent.dst, sizeof(sin));
	assert_int_equal(sin.sin_family, AF_INET);
	assert_int_equal(ntohl(sin.sin_addr.s_addr), dst);
}

/* sent_to6() - the last raw send went to @dst, over IPv6 */
static void sent_to6(const struct in6_addr *dst)
{
	struct sockaddr_in6 sin6;

	memcpy(&sin6, &raw_sent.dst, sizeof(sin6));
	assert_int_equal(sin6.sin6_family, AF_INET6);
	assert_true(IN6_ARE_ADDR_EQUAL(&sin6.sin6_addr, dst));
}

/* env_setup() - cmocka fixture: flows, reassembly, scratch, the rules
 * -t 2222:22 and -u 5300:53; the guest connected, its address not yet
 * known (each test says whether it is)
 */
static int env_setup(void **state)
{
	char err[FWDRULE_ERR_LEN];
	struct env *e = env_fwd_new();

	if (fwdrule_parse(&e->c.fwd.rules, IPPROTO_TCP, "2222:22", NULL, 0,
			  err, sizeof(err)) ||
	    fwdrule_parse(&e->c.fwd.rules, IPPROTO_UDP, "5300:53", NULL, 0,
			  err, sizeof(err)))
		fail_msg("%s", err);
	e->c.host.addr4.s_addr = htonl(HOST);
	e->c.host.prefix4 = 24;
	memset(&raw_sent, 0, sizeof(raw_sent));
	*state = e;
	return 0;
}

/* env6_setup() - cmocka fixture: env_setup(), IPv6 served (env6.h) */
static int env6_setup(void **state)
{
	env_setup(state);
	env6_on(*state);
	return 0;
}

/* env_teardown() - cmocka fixture: release it all */
static int env_teardown(void **state)
{
	env_fwd_free(*state);
	return 0;
}

/* v6() - an IPv6 address from its text, as merd keeps it */
static union inany_addr v6(const char *s)
{
	union inany_addr x;

	x.a6 = addr6(s);
	return x;
}

/* from_host() - hand fwd_from_host() a copy of @len bytes at @p, as raw.c
 * would, from interface @ifi
 */
static void from_host(struct env *e, const uint8_t *p, size_t len,
		      unsigned int ifi)
{
	uint8_t *b = dup_exact(p, len);
	struct pkt v = { b, len };

	fwd_from_host(&e->c, v, ifi);
	free(b);
}

/* take_out() - the one packet waiting in the raw send batch, put together
 * from its pieces, and its destination (IPv4 host order, or IPv6)
 *
 * Return: its length
 */
static size_t take_out(struct env *e, uint8_t *h, bool v6out, uint32_t dst4,
		       const struct in6_addr *dst6)
{
	const struct raw_out *o = &e->c.fwd.raw.out[0];
	size_t n0 = o->iov[0].iov_len, n1 = o->iov[1].iov_len;

	assert_int_equal(e->c.fwd.raw.nout, 1);
	assert_int_equal(o->v6, v6out);
	if (v6out) {
		assert_int_equal(o->dst6.sin6_family, AF_INET6);
		assert_true(IN6_ARE_ADDR_EQUAL(&o->dst6.sin6_addr, dst6));
	} else {
		assert_int_equal(o->dst.sin_family, AF_INET);
		assert_int_equal(ntohl(o->dst.sin_addr.s_addr), dst4);
	}
	assert_true(n0 + n1 <= BUF_MAX);
	memcpy(h, o->iov[0].iov_base, n0);
	memcpy(h + n0, o->iov[1].iov_base, n1);
	e->c.fwd.raw.nout = 0;
	return n0 + n1;
}

/* nothing_happened() - no frame for the guest, no flow, nothing for the
 * network, neither in the batch nor sent at once
 */
static void nothing_happened(const struct env *e)
{
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ct.count, 0);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(raw_sent.n, 0);
}

/* pkt4() - an IPv4 packet of @proto (TCP flags @flags), @payload random
 * bytes, checksums right
 *
 * Return: it, in a buffer of exactly @len bytes, to free()
 */
static uint8_t *pkt4(uint8_t proto, uint32_t saddr, uint16_t sport,
		     uint32_t daddr, uint16_t dport, uint8_t flags,
		     uint8_t ttl, size_t payload, size_t *len)
{
	struct flowpkt fp = {
		.proto = proto, .saddr = saddr, .daddr = daddr,
		.sport = sport, .dport = dport, .ttl = ttl, .frag = R_DF,
		.id = (uint16_t)rng(), .flags = flags, .payload = payload,
	};

	return pkt_build(&fp, len);
}

/* pkt6() - pkt4() over IPv6, traffic class and flow label set */
static uint8_t *pkt6(uint8_t proto, const char *saddr, uint16_t sport,
		     const char *daddr, uint16_t dport, uint8_t flags,
		     uint8_t hops, size_t payload, size_t *len)
{
	struct flowpkt6 fp = {
		.proto = proto, .saddr = addr6(saddr), .daddr = addr6(daddr),
		.sport = sport, .dport = dport, .hops = hops, .tclass = 0x28,
		.flow = 0x12345, .flags = flags, .payload = payload,
	};

	return pkt6_build(&fp, len);
}

/* ack_set() - make the TCP segment @p acknowledge @ack, checksum right */
static void ack_set(uint8_t *p, size_t len, uint32_t ack)
{
	if ((p[0] >> 4) == 6) {
		struct in6_addr s = addr6_at(p + R6_SRC);
		struct in6_addr d = addr6_at(p + R6_DST);

		put32(p + R6_HLEN + R_TCP_ACK, ack);
		l6_csum_set(&s, &d, IPPROTO_TCP, p + R6_HLEN, len - R6_HLEN);
		return;
	}
	put32(p + 20 + R_TCP_ACK, ack);
	ip_l4_csum_set(p);
}

/* check_same4() - @out is @in with only its addresses, ports, TTL and
 * checksums changed, to the values given; both checksums right (a UDP
 * datagram without checksum stays without)
 */
static void check_same4(const uint8_t *in, const uint8_t *out, size_t len,
			uint32_t saddr, uint16_t sport, uint32_t daddr,
			uint16_t dport, uint8_t ttl)
{
	uint8_t proto = in[R_IP_PROTO];
	size_t hl = ip_hlen(in), co = hl + l4_check_off(proto);

	assert_int_equal(ip_hlen(out), hl);
	assert_memory_equal(out, in, R_IP_TTL);
	assert_int_equal(out[R_IP_TTL], ttl);
	assert_int_equal(out[R_IP_PROTO], proto);
	assert_true(ip_csum_ok(out));
	assert_int_equal(get32(out + R_IP_SRC), saddr);
	assert_int_equal(get32(out + R_IP_DST), daddr);
	assert_memory_equal(out + 20, in + 20, hl - 20);
	assert_int_equal(get16(out + hl), sport);
	assert_int_equal(get16(out + hl + 2), dport);
	assert_memory_equal(out + hl + 4, in + hl + 4, co - hl - 4);
	assert_memory_equal(out + co + 2, in + co + 2, len - co - 2);
	if (proto == IPPROTO_UDP && !get16(in + co))
		assert_int_equal(get16(out + co), 0);
	else
		assert_true(ip_l4_csum_ok(out));
}

/* check_same6() - check_same4() over IPv6: hop limit @hops, traffic class,
 * flow label and payload length as they were
 */
static void check_same6(const uint8_t *in, const uint8_t *out, size_t len,
			const struct in6_addr *saddr, uint16_t sport,
			const struct in6_addr *daddr, uint16_t dport,
			uint8_t hops)
{
	size_t co = R6_HLEN + l4_check_off(in[R6_NH]);

	assert_memory_equal(out, in, R6_HOPS);
	assert_int_equal(out[R6_HOPS], hops);
	assert_true(addr6_eq(out + R6_SRC, saddr));
	assert_true(addr6_eq(out + R6_DST, daddr));
	assert_int_equal(get16(out + R6_HLEN), sport);
	assert_int_equal(get16(out + R6_HLEN + 2), dport);
	assert_memory_equal(out + R6_HLEN + 4, in + R6_HLEN + 4,
			    co - R6_HLEN - 4);
	assert_memory_equal(out + co + 2, in + co + 2, len - co - 2);
	assert_true(ip6_l4_csum_ok(out));
}

/* guest_got4() - the one frame for the guest is @in rewritten: from
 * @saddr, to the guest's address and port @dport, TTL @ttl
 */
static void guest_got4(struct env *e, const uint8_t *in, size_t len,
		       uint32_t saddr, uint16_t dport, uint8_t ttl)
{
	static uint8_t ip[BUF_MAX];

	assert_int_equal(ring_next(e, ip, sizeof(ip)), len);
	check_same4(in, ip, len, saddr, get16(in + ip_hlen(in)), GUEST, dport,
		    ttl);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* guest_got6() - guest_got4() over IPv6, to @gaddr */
static void guest_got6(struct env *e, const uint8_t *in, size_t len,
		       const char *saddr, const char *gaddr, uint16_t dport,
		       uint8_t hops)
{
	static uint8_t ip[BUF_MAX];
	struct in6_addr s = addr6(saddr), d = addr6(gaddr);

	assert_int_equal(ring_next6(e, ip, sizeof(ip)), len);
	check_same6(in, ip, len, &s, get16(in + R6_HLEN), &d, dport, hops);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* flow_in() - the one flow there is: opened by the host's side, with
 * sides as fwd_flow_new_in()'s comment has them, found by both keys
 */
static const struct flow *flow_in(struct env *e, uint8_t proto,
				  const union inany_addr *client,
				  uint16_t cport,
				  const union inany_addr *haddr,
				  uint16_t hport,
				  const union inany_addr *gaddr,
				  uint16_t gport,
				  const union inany_addr *seen)
{
	struct conntrack *ct = &e->c.fwd.ct;
	struct flowside key = { .eaddr = *client, .oaddr = *haddr,
				.eport = cport, .oport = hport };
	unsigned int side = SIDES;
	const struct flow *f;
	uint32_t idx;

	assert_int_equal(ct->count, 1);
	idx = ct_lookup(ct, proto, PIF_HOST, &key, &side);
	assert_int_not_equal(idx, FLOW_NONE);
	assert_int_equal(side, INISIDE);
	f = &ct->flows[idx];
	assert_int_equal(f->proto, proto);
	assert_int_equal(f->af, inany_is_v4(client) ? AF_INET : AF_INET6);
	assert_int_equal(f->pif[INISIDE], PIF_HOST);
	assert_int_equal(f->pif[TGTSIDE], PIF_TAP);
	assert_true(inany_equals(&f->side[INISIDE].eaddr, client));
	assert_int_equal(f->side[INISIDE].eport, cport);
	assert_true(inany_equals(&f->side[INISIDE].oaddr, haddr));
	assert_int_equal(f->side[INISIDE].oport, hport);
	assert_true(inany_equals(&f->side[TGTSIDE].eaddr, gaddr));
	assert_int_equal(f->side[TGTSIDE].eport, gport);
	assert_true(inany_equals(&f->side[TGTSIDE].oaddr, seen));
	assert_int_equal(f->side[TGTSIDE].oport, cport);
	assert_false(f->flags & CT_PORT_HELD);	/* no port block here */
	assert_int_equal(f->state, proto == IPPROTO_TCP ? CT_TCP_SYN_SENT :
			 CT_UDP);

	key = f->side[TGTSIDE];
	assert_int_equal(ct_lookup(ct, proto, PIF_TAP, &key, &side), idx);
	assert_int_equal(side, TGTSIDE);
	return f;
}

/* check_rst4() - the last raw send is the reset answering @seg (RFC 9293
 * 3.10.7.1), from the address and port it was sent to
 */
static void check_rst4(const uint8_t *seg, size_t len)
{
	const uint8_t *r = raw_sent.p, *th = seg + 20;
	uint32_t seglen = (uint32_t)(len - 40) + !!(th[R_TCP_FLAGS] & R_SYN) +
			  !!(th[R_TCP_FLAGS] & R_FIN);

	sent_to4(get32(seg + R_IP_SRC));
	assert_int_equal(raw_sent.len, 40);
	assert_int_equal(r[R_IP_VIHL], 0x45);
	assert_int_equal(get16(r + R_IP_LEN), 40);
	assert_int_equal(r[R_IP_PROTO], IPPROTO_TCP);
	assert_true(ip_csum_ok(r));
	assert_int_equal(get32(r + R_IP_SRC), get32(seg + R_IP_DST));
	assert_int_equal(get32(r + R_IP_DST), get32(seg + R_IP_SRC));
	assert_int_equal(get16(r + 20), get16(th + 2));
	assert_int_equal(get16(r + 22), get16(th));
	if (th[R_TCP_FLAGS] & R_ACK) {
		assert_int_equal(r[20 + R_TCP_FLAGS], R_RST);
		assert_int_equal(get32(r + 20 + R_TCP_SEQ),
				 get32(th + R_TCP_ACK));
	} else {
		assert_int_equal(r[20 + R_TCP_FLAGS], R_RST | R_ACK);
		assert_int_equal(get32(r + 20 + R_TCP_SEQ), 0);
		assert_int_equal(get32(r + 20 + R_TCP_ACK),
				 get32(th + R_TCP_SEQ) + seglen);
	}
	assert_true(ip_l4_csum_ok(r));
}

/* check_icmp4() - the last raw send is an ICMP error of @type and @code
 * about @orig, to its source, from the address it was sent to, quoting it
 * whole
 */
static void check_icmp4(const uint8_t *orig, size_t len, uint8_t type,
			uint8_t code)
{
	const uint8_t *r = raw_sent.p;

	sent_to4(get32(orig + R_IP_SRC));
	assert_int_equal(raw_sent.len, 28 + len);
	assert_int_equal(r[R_IP_VIHL], 0x45);
	assert_int_equal(get16(r + R_IP_LEN), 28 + len);
	assert_int_equal(r[R_IP_PROTO], IPPROTO_ICMP);
	assert_true(r[R_IP_TTL] > 1);
	assert_true(ip_csum_ok(r));
	assert_int_equal(get32(r + R_IP_SRC), get32(orig + R_IP_DST));
	assert_int_equal(get32(r + R_IP_DST), get32(orig + R_IP_SRC));
	assert_int_equal(r[20], type);
	assert_int_equal(r[21], code);
	assert_int_equal(get32(r + 24), 0);
	assert_true(l4_csum_ok(0, 0, IPPROTO_ICMP, r + 20, 8 + len));
	assert_memory_equal(r + 28, orig, len);
}

/* A SYN from a remote client to host port 2222 opens a flow and reaches
 * the guest's port 22: destination rewritten, source the client's, TTL
 * one less, every other byte as sent, checksums right; nothing goes back
 * to the network
 */
static void test_syn_remote(void **state)
{
	struct env *e = *state;
	union inany_addr cl = v4(CLIENT), h = v4(HOST), g = v4(GUEST);
	uint8_t *p;
	size_t len;

	rng_seed(2222);
	e->c.guest4.bound = true;
	p = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN, 64, 0, &len);
	from_host(e, p, len, 0);
	guest_got4(e, p, len, CLIENT, TGPORT, 63);
	flow_in(e, IPPROTO_TCP, &cl, CPORT, &h, TPORT, &g, TGPORT, &cl);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(raw_sent.n, 0);
	free(p);

	/* The SYN again (a retransmission) goes through the same flow */
	p = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN, 50, 12, &len);
	from_host(e, p, len, 0);
	guest_got4(e, p, len, CLIENT, TGPORT, 49);
	assert_int_equal(e->c.fwd.ct.count, 1);
	free(p);
}

/* The checksum must be right, or hold the pseudo-header sum only (the
 * kernel's, for an offloaded or merged packet); then the guest gets it
 * right in full. Anything else is dropped, without a reset
 */
static void test_csum_trust(void **state)
{
	struct env *e = *state;
	uint8_t *p;
	size_t len;

	rng_seed(1071);
	e->c.guest4.bound = true;

	/* Wrong by one bit, TCP and UDP: dropped quietly */
	p = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN, 64, 7, &len);
	p[20 + R_TCP_CHECK + 1] ^= 0x10;
	from_host(e, p, len, 0);
	nothing_happened(e);
	free(p);
	p = pkt4(IPPROTO_UDP, CLIENT, CPORT, HOST, UPORT, 0, 64, 30, &len);
	p[20 + R_UDP_CHECK] ^= 0x01;
	from_host(e, p, len, 0);
	nothing_happened(e);
	free(p);
	/* A damaged payload under a checksum that was right */
	p = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN, 64, 7, &len);
	p[len - 1] ^= 0x80;
	from_host(e, p, len, 0);
	nothing_happened(e);
	free(p);

	/* The pseudo-header sum, as CHECKSUM_PARTIAL leaves it */
	p = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN, 64, 9, &len);
	put16(p + 20 + R_TCP_CHECK,
	      ref_sum(p, 0, pseudo_sum(CLIENT, HOST, IPPROTO_TCP, len - 20)));
	assert_false(ip_l4_csum_ok(p));
	from_host(e, p, len, 0);
	guest_got4(e, p, len, CLIENT, TGPORT, 63);
	assert_int_equal(e->c.fwd.ct.count, 1);
	free(p);
}

/* Nothing is done, not even refused, for a port no rule forwards, a
 * protocol the rule isn't for, or a broadcast or multicast destination
 */
static void test_no_rule(void **state)
{
	static const struct {
		uint8_t proto;
		uint32_t daddr;
		uint16_t dport;
	} t[] = {
		{ IPPROTO_TCP, HOST, TPORT + 1 },
		{ IPPROTO_TCP, HOST, TGPORT },
		{ IPPROTO_TCP, HOST, UPORT },	/* -u only */
		{ IPPROTO_UDP, HOST, TPORT },	/* -t only */
		{ IPPROTO_UDP, HOST, UPORT - 1 },
		{ IPPROTO_UDP, 0xffffffff, UPORT },
		{ IPPROTO_UDP, (HOST & 0xffffff00) | 0xff, UPORT }, /* subnet */
		{ IPPROTO_UDP, 0xe00000fb, UPORT },	/* 224.0.0.251 */
		{ IPPROTO_UDP, 0xefffffff, UPORT },
	};
	struct env *e = *state;
	uint8_t *p;
	size_t i, len;

	rng_seed(5300);
	e->c.guest4.bound = true;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		p = pkt4(t[i].proto, CLIENT, CPORT, t[i].daddr, t[i].dport,
			 R_SYN, 64, 20, &len);
		from_host(e, p, len, 0);
		nothing_happened(e);
		free(p);
	}
}

/* Only a SYN opens a TCP flow: any other segment for the port is refused
 * as by a closed port, with a reset from host port 2222 (sent at once;
 * none for a reset)
 */
static void test_not_syn_refused(void **state)
{
	static const uint8_t flags[] = { R_ACK, R_SYN | R_ACK, R_FIN,
					 R_ACK | R_PSH, R_FIN | R_ACK, 0,
					 R_SYN | R_FIN };
	struct env *e = *state;
	uint8_t *p;
	size_t i, len;
	int n = 0;

	rng_seed(793);
	e->c.guest4.bound = true;
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		bool syn = (flags[i] & (R_SYN | R_ACK)) == R_SYN;

		p = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, flags[i], 64,
			 i * 10, &len);
		from_host(e, p, len, 0);
		if (syn) {	/* SYN with FIN: still a SYN, it opens one */
			guest_got4(e, p, len, CLIENT, TGPORT, 63);
			assert_int_equal(e->c.fwd.ct.count, 1);
			free(p);
			continue;
		}
		assert_int_equal(e->c.tap.tx.used, 0);
		assert_int_equal(e->c.fwd.ct.count, 0);
		assert_int_equal(e->c.fwd.raw.nout, 0);
		assert_int_equal(raw_sent.n, ++n);
		check_rst4(p, len);
		free(p);
	}

	/* A reset for no connection gets nothing back */
	p = pkt4(IPPROTO_TCP, CLIENT2, CPORT, HOST, TPORT, R_RST | R_ACK, 64, 0,
		 &len);
	from_host(e, p, len, 0);
	assert_int_equal(raw_sent.n, n);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(p);
}

/* Without a guest, or while it has no address, merd answers as a closed
 * port: a reset for TCP, ICMP port unreachable for UDP, from the address
 * and port the client wrote to; nothing is kept
 */
static void test_no_guest_or_address(void **state)
{
	struct env *e = *state;
	uint8_t *t, *u;
	size_t tlen, ulen;

	rng_seed(9293);
	t = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN, 64, 0, &tlen);
	u = pkt4(IPPROTO_UDP, CLIENT, CPORT, HOST, UPORT, 0, 64, 41, &ulen);

	/* The guest has no address yet */
	from_host(e, t, tlen, 0);
	assert_int_equal(raw_sent.n, 1);
	check_rst4(t, tlen);
	from_host(e, u, ulen, 0);
	assert_int_equal(raw_sent.n, 2);
	check_icmp4(u, ulen, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);

	/* An address, but IPv4 not served */
	e->c.guest4.bound = true;
	e->c.guest4.enabled = false;
	from_host(e, t, tlen, 0);
	assert_int_equal(raw_sent.n, 3);
	check_rst4(t, tlen);
	e->c.guest4.enabled = true;

	/* No guest connected at all */
	close(e->c.tap.fd);
	e->c.tap.fd = -1;
	from_host(e, t, tlen, 0);
	assert_int_equal(raw_sent.n, 4);
	check_rst4(t, tlen);
	from_host(e, u, ulen, 0);
	assert_int_equal(raw_sent.n, 5);
	check_icmp4(u, ulen, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);

	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ct.count, 0);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	free(t);
	free(u);
}

/* With --no-map-gw, the host's own programs can't reach the guest: from
 * loopback, from either of the host's addresses, or anything that came in
 * on the loopback device, a reset
 */
static void test_local_no_map_gw(void **state)
{
	static const struct {
		uint32_t saddr, daddr;
		unsigned int ifi;
	} t[] = {
		{ LOOP, LOOP, LO_IFI }, { LOOP, LOOP, 0 },
		{ 0x7f0000fe, HOST, 0 },	/* 127.0.0.254 */
		{ HOST, HOST, 0 },		/* host.out4 */
		{ HOST_ADDR4, HOST, 0 },	/* host.addr4 */
		{ CLIENT, HOST, LO_IFI },
	};
	struct env *e = *state;
	uint8_t *p;
	size_t i, len;

	rng_seed(1918);
	e->c.guest4.bound = true;
	e->c.opts.no_map_gw = true;
	e->c.host.addr4.s_addr = htonl(HOST_ADDR4);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		p = pkt4(IPPROTO_TCP, t[i].saddr, CPORT, t[i].daddr, TPORT,
			 R_SYN, 64, 0, &len);
		from_host(e, p, len, t[i].ifi);
		assert_int_equal(e->c.tap.tx.used, 0);
		assert_int_equal(e->c.fwd.ct.count, 0);
		assert_int_equal(raw_sent.n, (int)i + 1);
		check_rst4(p, len);
		free(p);
	}

	/* A remote client still gets through */
	p = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN, 64, 0, &len);
	from_host(e, p, len, 0);
	guest_got4(e, p, len, CLIENT, TGPORT, 63);
	assert_int_equal(e->c.fwd.ct.count, 1);
	free(p);
}

/* A remote packet whose TTL runs out at merd (the guest's router) draws
 * ICMP time exceeded, from the host's address, and opens nothing; one from
 * the host itself doesn't cross a router, and goes on with TTL 1
 */
static void test_ttl_exceeded(void **state)
{
	struct env *e = *state;
	union inany_addr lo = v4(LOOP), gw = v4(GW), g = v4(GUEST);
	uint8_t *p;
	size_t len;
	int ttl;

	rng_seed(1812);
	e->c.guest4.bound = true;
	for (ttl = 0; ttl <= 1; ttl++) {
		p = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN,
			 (uint8_t)ttl, 0, &len);
		from_host(e, p, len, 0);
		assert_int_equal(e->c.tap.tx.used, 0);
		assert_int_equal(e->c.fwd.ct.count, 0);
		assert_int_equal(raw_sent.n, ttl + 1);
		check_icmp4(p, len, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL);
		free(p);
	}

	p = pkt4(IPPROTO_TCP, LOOP, CPORT, LOOP, TPORT, R_SYN, 1, 0, &len);
	from_host(e, p, len, LO_IFI);
	guest_got4(e, p, len, GW, TGPORT, 1);
	flow_in(e, IPPROTO_TCP, &lo, CPORT, &lo, TPORT, &g, TGPORT, &gw);
	assert_int_equal(raw_sent.n, 2);
	free(p);
}

/* The handshake through the flow: the guest's SYN-ACK leaves from the
 * host's address and port 2222 to the client, TTL one less; the client's
 * ACK reaches the guest, and the flow is established
 */
static void test_handshake(void **state)
{
	struct env *e = *state;
	uint8_t *syn, *sa, *ack, *b, h[BUF_MAX];
	uint32_t idx;
	size_t len, salen, acklen;

	rng_seed(9293);
	e->c.guest4.bound = true;
	syn = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN, 64, 0,
		   &len);
	from_host(e, syn, len, 0);
	guest_got4(e, syn, len, CLIENT, TGPORT, 63);

	sa = pkt4(IPPROTO_TCP, GUEST, TGPORT, CLIENT, CPORT, R_SYN | R_ACK,
		  64, 0, &salen);
	ack_set(sa, salen, get32(syn + 20 + R_TCP_SEQ) + 1);
	b = env_from_guest(e, sa, salen);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(take_out(e, h, false, CLIENT, NULL), salen);
	check_same4(sa, h, salen, HOST, TPORT, CLIENT, CPORT, 63);
	free(b);
	idx = (uint32_t)(e->c.fwd.ct.aging[CT_TCP_SYN_RECV].head);
	assert_int_not_equal(idx, FLOW_NONE);
	assert_int_equal(e->c.fwd.ct.count, 1);

	ack = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_ACK, 60, 100,
		   &acklen);
	put32(ack + 20 + R_TCP_SEQ, get32(syn + 20 + R_TCP_SEQ) + 1);
	ack_set(ack, acklen, get32(sa + 20 + R_TCP_SEQ) + 1);
	from_host(e, ack, acklen, 0);
	guest_got4(e, ack, acklen, CLIENT, TGPORT, 59);
	assert_int_equal(e->c.fwd.ct.flows[idx].state, CT_TCP_ESTABLISHED);
	assert_int_equal(raw_sent.n, 0);
	free(syn);
	free(sa);
	free(ack);
}

/* A program on the host connecting to the forwarded port (to loopback,
 * on the loopback device, or to the host's address) reaches the guest
 * from the gateway address, TTL untouched; the guest's answer, to the
 * gateway, goes back to that program, TTL untouched
 */
static void test_local_via_gateway(void **state)
{
	static const struct {
		uint32_t saddr, daddr;
		unsigned int ifi;
	} t[] = {
		{ LOOP, LOOP, LO_IFI },
		{ HOST, HOST, 0 },
		{ HOST_ADDR4, HOST_ADDR4, LO_IFI },
	};
	struct env *e = *state;
	union inany_addr gw = v4(GW), g = v4(GUEST);
	uint8_t *syn, *sa, *b, h[BUF_MAX];
	size_t i, len, salen;

	rng_seed(6890);
	e->c.guest4.bound = true;
	e->c.host.addr4.s_addr = htonl(HOST_ADDR4);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		union inany_addr s = v4(t[i].saddr), d = v4(t[i].daddr);
		uint16_t cport = (uint16_t)(CPORT + i);

		syn = pkt4(IPPROTO_TCP, t[i].saddr, cport, t[i].daddr, TPORT,
			   R_SYN, 64, 0, &len);
		from_host(e, syn, len, t[i].ifi);
		guest_got4(e, syn, len, GW, TGPORT, 64);
		flow_in(e, IPPROTO_TCP, &s, cport, &d, TPORT, &g, TGPORT, &gw);

		sa = pkt4(IPPROTO_TCP, GUEST, TGPORT, GW, cport,
			  R_SYN | R_ACK, 64, 0, &salen);
		ack_set(sa, salen, get32(syn + 20 + R_TCP_SEQ) + 1);
		b = env_from_guest(e, sa, salen);
		assert_int_equal(take_out(e, h, false, t[i].saddr, NULL),
				 salen);
		check_same4(sa, h, salen, t[i].daddr, TPORT, t[i].saddr,
			    cport, 64);
		assert_int_equal(e->c.tap.tx.used, 0);
		free(b);
		free(syn);
		free(sa);
		fwd_forget(&e->c);
	}
	assert_int_equal(raw_sent.n, 0);
}

/* UDP: a datagram to host port 5300 reaches the guest's port 53, and the
 * answer goes back from 5300; a datagram without checksum stays without
 */
static void test_udp(void **state)
{
	struct env *e = *state;
	union inany_addr cl = v4(CLIENT), h = v4(HOST), g = v4(GUEST);
	uint8_t *d, *a, *b, out[BUF_MAX];
	size_t len, alen;

	rng_seed(768);
	e->c.guest4.bound = true;
	d = pkt4(IPPROTO_UDP, CLIENT, CPORT, HOST, UPORT, 0, 64, 33, &len);
	from_host(e, d, len, 0);
	guest_got4(e, d, len, CLIENT, UGPORT, 63);
	flow_in(e, IPPROTO_UDP, &cl, CPORT, &h, UPORT, &g, UGPORT, &cl);

	a = pkt4(IPPROTO_UDP, GUEST, UGPORT, CLIENT, CPORT, 0, 64, 120, &alen);
	b = env_from_guest(e, a, alen);
	assert_int_equal(take_out(e, out, false, CLIENT, NULL), alen);
	check_same4(a, out, alen, HOST, UPORT, CLIENT, CPORT, 63);
	free(b);
	free(d);
	free(a);

	/* Another client, no checksum */
	d = pkt4(IPPROTO_UDP, CLIENT2, CPORT, HOST, UPORT, 0, 30, 0, &len);
	put16(d + 20 + R_UDP_CHECK, 0);
	from_host(e, d, len, 0);
	guest_got4(e, d, len, CLIENT2, UGPORT, 29);
	assert_int_equal(e->c.fwd.ct.count, 2);
	assert_int_equal(raw_sent.n, 0);
	free(d);
}

/* A guest's side already taken by another flow (the guest's own, from
 * port 22 to the same client and port) refuses the new one
 */
static void test_guest_side_taken(void **state)
{
	struct env *e = *state;
	struct conntrack *ct = &e->c.fwd.ct;
	uint32_t idx = ct_alloc(ct);
	struct flow *f;
	uint8_t *p;
	size_t len;

	rng_seed(6056);
	e->c.guest4.bound = true;
	assert_int_not_equal(idx, FLOW_NONE);
	f = &ct->flows[idx];
	f->proto = IPPROTO_TCP;
	f->af = AF_INET;
	f->pif[INISIDE] = PIF_TAP;
	f->pif[TGTSIDE] = PIF_HOST;
	f->side[INISIDE].eaddr = v4(GUEST);
	f->side[INISIDE].eport = TGPORT;
	f->side[INISIDE].oaddr = v4(CLIENT);
	f->side[INISIDE].oport = CPORT;
	f->side[TGTSIDE].eaddr = v4(CLIENT);
	f->side[TGTSIDE].eport = CPORT;
	f->side[TGTSIDE].oaddr = v4(HOST);
	f->side[TGTSIDE].oport = 61001;
	ct_insert(ct, idx, CT_TCP_ESTABLISHED, e->c.now);

	p = pkt4(IPPROTO_TCP, CLIENT, CPORT, HOST, TPORT, R_SYN, 64, 0, &len);
	from_host(e, p, len, 0);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(ct->count, 1);
	assert_int_equal(raw_sent.n, 1);
	check_rst4(p, len);
	free(p);
}

/* A table full of live flows takes no more: the next SYN is refused with
 * a reset, and no flow is given away
 */
static void test_table_full(void **state)
{
	struct env *e = *state;
	uint8_t *p;
	size_t len;
	uint32_t i;

	rng_seed(64);
	e->c.guest4.bound = true;
	for (i = 0; i < e->c.fwd.ct.max; i++) {
		p = pkt4(IPPROTO_TCP, CLIENT, (uint16_t)(20000 + i), HOST,
			 TPORT, R_SYN, 64, 0, &len);
		from_host(e, p, len, 0);
		guest_got4(e, p, len, CLIENT, TGPORT, 63);
		free(p);
	}
	assert_int_equal(e->c.fwd.ct.count, e->c.fwd.ct.max);

	p = pkt4(IPPROTO_TCP, CLIENT2, CPORT, HOST, TPORT, R_SYN, 64, 0, &len);
	from_host(e, p, len, 0);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ct.count, e->c.fwd.ct.max);
	assert_int_equal(raw_sent.n, 1);
	check_rst4(p, len);
	free(p);
}

/* icmp_from_guest() - the guest's ICMP error of @type and @code quoting
 * @q, @qlen bytes, to @daddr, TTL @ttl, checksums right
 *
 * Return: it, in a buffer of exactly @len bytes, to free()
 */
static uint8_t *icmp_from_guest(uint32_t daddr, uint8_t type, uint8_t code,
				const uint8_t *q, size_t qlen, uint8_t ttl,
				size_t *len)
{
	uint8_t *p = malloc(28 + qlen);

	assert_non_null(p);
	*len = 28 + qlen;
	ip_build(p, 20, *len, IPPROTO_ICMP, GUEST, daddr, 0x4242, 0, ttl);
	icmp_build(p + 20, type, code, 0, 0);
	memcpy(p + 28, q, qlen);
	l4_csum_set(0, 0, IPPROTO_ICMP, p + 20, 8 + qlen);
	return p;
}

/* The guest's port unreachable about a datagram of an inbound flow goes
 * to the client, from the host's address, TTL one less, quoting the
 * datagram as the client sent it (to host port 5300), every checksum
 * right; nothing comes back to the guest. An error quoting no flow, or
 * out of TTL, goes nowhere
 */
static void test_icmp_error_out(void **state)
{
	struct env *e = *state;
	uint8_t *d, *err, got[BUF_MAX];
	const uint8_t *r = raw_sent.p, *q = raw_sent.p + 28;
	size_t len, glen, elen;

	rng_seed(792);
	e->c.guest4.bound = true;
	d = pkt4(IPPROTO_UDP, CLIENT, CPORT, HOST, UPORT, 0, 64, 37, &len);
	from_host(e, d, len, 0);
	glen = ring_next(e, got, sizeof(got));
	assert_int_equal(glen, len);

	err = icmp_from_guest(CLIENT, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, got,
			      glen, 64, &elen);
	free(env_from_guest(e, err, elen));
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	assert_int_equal(e->c.fwd.ct.count, 1);
	assert_int_equal(raw_sent.n, 1);

	sent_to4(CLIENT);
	assert_int_equal(raw_sent.len, elen);
	assert_int_equal(r[R_IP_VIHL], 0x45);
	assert_int_equal(get16(r + R_IP_LEN), elen);
	assert_int_equal(r[R_IP_TTL], 63);
	assert_int_equal(r[R_IP_PROTO], IPPROTO_ICMP);
	assert_true(ip_csum_ok(r));
	assert_int_equal(get32(r + R_IP_SRC), HOST);
	assert_int_equal(get32(r + R_IP_DST), CLIENT);
	assert_memory_equal(r + 20, err + 20, 2);	/* type, code */
	assert_memory_equal(r + 24, err + 24, 4);
	assert_true(l4_csum_ok(0, 0, IPPROTO_ICMP, r + 20, elen - 20));
	/* The quote: the client's datagram, but the TTL it reached the guest
	 * with, its header checksum right for that
	 */
	assert_memory_equal(q, d, R_IP_TTL);
	assert_int_equal(q[R_IP_TTL], 63);
	assert_true(ip_csum_ok(q));
	assert_memory_equal(q + R_IP_PROTO, d + R_IP_PROTO, 1);
	assert_memory_equal(q + R_IP_SRC, d + R_IP_SRC, len - R_IP_SRC);
	free(err);

	/* Quoting a datagram of no flow (another client port) */
	put16(got + 20, CPORT + 1);
	err = icmp_from_guest(CLIENT, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, got,
			      glen, 64, &elen);
	free(env_from_guest(e, err, elen));
	free(err);
	/* Out of TTL */
	put16(got + 20, CPORT);
	err = icmp_from_guest(CLIENT, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, got,
			      glen, 1, &elen);
	free(env_from_guest(e, err, elen));
	free(err);
	assert_int_equal(raw_sent.n, 1);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	free(d);
}

/* IPv6: a remote SYN reaches the guest's bound address, hop limit one
 * less, traffic class and flow label kept; its SYN-ACK leaves from the
 * host's address and port 2222
 */
static void test_syn6_remote(void **state)
{
	struct env *e = *state;
	union inany_addr cl = v6(CLIENT6), h = v6(HOST6), g = v6(GUEST6);
	struct in6_addr c6 = addr6(CLIENT6), h6 = addr6(HOST6);
	uint8_t *syn, *sa, *b, out[BUF_MAX];
	size_t len, salen;

	rng_seed(8200);
	e->c.guest6.bound = true;
	syn = pkt6(IPPROTO_TCP, CLIENT6, CPORT, HOST6, TPORT, R_SYN, 64, 0,
		   &len);
	from_host(e, syn, len, 0);
	guest_got6(e, syn, len, CLIENT6, GUEST6, TGPORT, 63);
	flow_in(e, IPPROTO_TCP, &cl, CPORT, &h, TPORT, &g, TGPORT, &cl);

	sa = pkt6(IPPROTO_TCP, GUEST6, TGPORT, CLIENT6, CPORT, R_SYN | R_ACK,
		  64, 0, &salen);
	ack_set(sa, salen, get32(syn + R6_HLEN + R_TCP_SEQ) + 1);
	b = env_from_guest(e, sa, salen);
	assert_int_equal(take_out(e, out, true, 0, &c6), salen);
	check_same6(sa, out, salen, &h6, TPORT, &c6, CPORT, 63);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(raw_sent.n, 0);
	free(b);
	free(syn);
	free(sa);
}

/* check_rst6() - the last raw send is the IPv6 reset answering the SYN
 * @seg, from the address and port it was sent to
 */
static void check_rst6(const uint8_t *seg)
{
	const uint8_t *r = raw_sent.p;
	struct in6_addr s = addr6_at(seg + R6_SRC), d = addr6_at(seg + R6_DST);

	sent_to6(&s);
	assert_int_equal(raw_sent.len, R6_HLEN + 20);
	assert_int_equal(r[0] >> 4, 6);
	assert_int_equal(get16(r + R6_PLEN), 20);
	assert_int_equal(r[R6_NH], IPPROTO_TCP);
	assert_true(addr6_eq(r + R6_SRC, &d));
	assert_true(addr6_eq(r + R6_DST, &s));
	assert_int_equal(get16(r + R6_HLEN), get16(seg + R6_HLEN + 2));
	assert_int_equal(get16(r + R6_HLEN + 2), get16(seg + R6_HLEN));
	assert_int_equal(r[R6_HLEN + R_TCP_FLAGS], R_RST | R_ACK);
	assert_int_equal(get32(r + R6_HLEN + R_TCP_ACK),
			 get32(seg + R6_HLEN + R_TCP_SEQ) + 1);
	assert_true(ip6_l4_csum_ok(r));
}

/* IPv6 before the guest is bound: to the global address it sent from
 * (SLAAC, own[]), never a link-local one; with none, or IPv6 not served,
 * a reset
 */
static void test_syn6_slaac(void **state)
{
	struct env *e = *state;
	union inany_addr cl = v6(CLIENT6), h = v6(HOST6), g = v6(SLAAC6);
	uint8_t *syn;
	size_t len;

	rng_seed(4862);
	syn = pkt6(IPPROTO_TCP, CLIENT6, CPORT, HOST6, TPORT, R_SYN, 64, 0,
		   &len);

	/* No address at all, then a link-local one only */
	from_host(e, syn, len, 0);
	assert_int_equal(raw_sent.n, 1);
	check_rst6(syn);
	e->c.guest6.own[0] = addr6(LL6);
	e->c.guest6.own_n = 1;
	from_host(e, syn, len, 0);
	assert_int_equal(raw_sent.n, 2);
	check_rst6(syn);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ct.count, 0);

	/* A global one after it, but IPv6 not served */
	e->c.guest6.own[1] = addr6(SLAAC6);
	e->c.guest6.own_n = 2;
	e->c.guest6.enabled = false;
	from_host(e, syn, len, 0);
	assert_int_equal(raw_sent.n, 3);
	check_rst6(syn);
	assert_int_equal(e->c.fwd.ct.count, 0);

	e->c.guest6.enabled = true;
	from_host(e, syn, len, 0);
	guest_got6(e, syn, len, CLIENT6, SLAAC6, TGPORT, 63);
	flow_in(e, IPPROTO_TCP, &cl, CPORT, &h, TPORT, &g, TGPORT, &cl);
	assert_int_equal(raw_sent.n, 3);
	free(syn);
}

/* IPv6 from the host itself (::1): the guest sees the router address,
 * hop limit untouched, and its answer to the router address goes back to
 * ::1, hop limit untouched; with --no-map-gw, the host's programs get a
 * reset
 */
static void test_local6(void **state)
{
	struct env *e = *state;
	union inany_addr lo = v6("::1"), gw = v6(ROUTER6), g = v6(GUEST6);
	struct in6_addr lo6 = in6addr_loopback;
	uint8_t *syn, *sa, *b, out[BUF_MAX];
	size_t len, salen;

	rng_seed(4291);
	e->c.guest6.bound = true;
	syn = pkt6(IPPROTO_TCP, "::1", CPORT, "::1", TPORT, R_SYN, 64, 0,
		   &len);
	from_host(e, syn, len, LO_IFI);
	guest_got6(e, syn, len, ROUTER6, GUEST6, TGPORT, 64);
	flow_in(e, IPPROTO_TCP, &lo, CPORT, &lo, TPORT, &g, TGPORT, &gw);

	sa = pkt6(IPPROTO_TCP, GUEST6, TGPORT, ROUTER6, CPORT, R_SYN | R_ACK,
		  64, 0, &salen);
	ack_set(sa, salen, get32(syn + R6_HLEN + R_TCP_SEQ) + 1);
	b = env_from_guest(e, sa, salen);
	assert_int_equal(take_out(e, out, true, 0, &lo6), salen);
	check_same6(sa, out, salen, &lo6, TPORT, &lo6, CPORT, 64);
	free(b);
	free(syn);
	free(sa);

	/* Refused with --no-map-gw: from the host's own address, and from
	 * ::1 (a reset to loopback too: nothing else would answer)
	 */
	fwd_forget(&e->c);
	e->c.opts.no_map_gw = true;
	syn = pkt6(IPPROTO_TCP, HOST6, CPORT, HOST6, TPORT, R_SYN, 64, 0,
		   &len);
	from_host(e, syn, len, 0);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ct.count, 0);
	assert_int_equal(raw_sent.n, 1);
	check_rst6(syn);
	free(syn);
	syn = pkt6(IPPROTO_TCP, "::1", CPORT, "::1", TPORT, R_SYN, 64, 0,
		   &len);
	from_host(e, syn, len, LO_IFI);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ct.count, 0);
	assert_int_equal(raw_sent.n, 2);
	check_rst6(syn);
	free(syn);
}

/* IPv6: a remote packet out of hops at merd draws ICMPv6 time exceeded
 * (RFC 4443 3.3) from the host's address, quoting it; UDP over IPv6
 * without a checksum (RFC 8200 8.1: it must have one) is dropped
 */
static void test_hop_limit6(void **state)
{
	struct env *e = *state;
	struct in6_addr c6 = addr6(CLIENT6), h6 = addr6(HOST6);
	const uint8_t *r = raw_sent.p;
	uint8_t *p;
	size_t len;

	rng_seed(4443);
	e->c.guest6.bound = true;
	p = pkt6(IPPROTO_UDP, CLIENT6, CPORT, HOST6, UPORT, 0, 1, 21, &len);
	from_host(e, p, len, 0);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ct.count, 0);
	assert_int_equal(raw_sent.n, 1);
	sent_to6(&c6);
	assert_int_equal(raw_sent.len, R6_HLEN + R6_ICMP_HLEN + len);
	assert_int_equal(get16(r + R6_PLEN), R6_ICMP_HLEN + len);
	assert_int_equal(r[R6_NH], IPPROTO_ICMPV6);
	assert_true(addr6_eq(r + R6_SRC, &h6));
	assert_true(addr6_eq(r + R6_DST, &c6));
	assert_int_equal(r[R6_HLEN], R6_TIME_EXCEEDED);
	assert_int_equal(r[R6_HLEN + 1], 0);
	assert_int_equal(get32(r + R6_HLEN + 4), 0);
	assert_true(ip6_l4_csum_ok(r));
	assert_memory_equal(r + R6_HLEN + R6_ICMP_HLEN, p, len);
	free(p);

	p = pkt6(IPPROTO_UDP, CLIENT6, CPORT, HOST6, UPORT, 0, 64, 21, &len);
	put16(p + R6_HLEN + R_UDP_CHECK, 0);
	from_host(e, p, len, 0);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.fwd.ct.count, 0);
	assert_int_equal(raw_sent.n, 1);
	free(p);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
#define T6(name) cmocka_unit_test_setup_teardown(name, env6_setup, \
						 env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_syn_remote),
		T(test_csum_trust),
		T(test_no_rule),
		T(test_not_syn_refused),
		T(test_no_guest_or_address),
		T(test_local_no_map_gw),
		T(test_ttl_exceeded),
		T(test_handshake),
		T(test_local_via_gateway),
		T(test_udp),
		T(test_guest_side_taken),
		T(test_table_full),
		T(test_icmp_error_out),
		T6(test_syn6_remote),
		T6(test_syn6_slaac),
		T6(test_local6),
		T6(test_hop_limit6),
	};
#undef T6
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
