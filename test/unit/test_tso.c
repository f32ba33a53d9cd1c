// SPDX-License-Identifier: GPL-2.0-or-later
/* test_tso.c - unit tests for merd's segmentation offload for the guest:
 *		the peer's MSS raised for the guest, the guest's segments
 *		cut for the path, path MTU errors, --no-tso
 *
 * Copyright (c) 2026 merd authors
 *
 * The guest's link takes 65520 bytes, the host's uplink 1500 (env.h, with
 * the guest's MTU raised). A TCP flow is opened as the data path sees one:
 * the guest's SYN through fwd_from_guest(), the peer's SYN-ACK through
 * fwd_from_host(), whose MSS option the guest must get raised to what its
 * link takes, checksum right; the guest's ACK. Then the guest sends
 * segments of up to 64 KiB, and what merd hands the raw socket is checked
 * piece by piece, from scratch (ref.h, ref6.h): each fits the path, its
 * sequence number is the segment's plus its offset, acknowledgment, window
 * and options are the segment's, FIN and PSH ride on the last piece only,
 * CWR on the first only, the IPv4 identification counts up and DF stays,
 * both checksums are right, and the payloads put together are the
 * segment's. The binary is linked with -Wl,--wrap=sendmmsg: the raw send
 * batch holds 32 packets, and __wrap_sendmmsg() keeps what merd flushes on
 * the environment's raw descriptors (-1) instead of failing it, so that
 * every piece of a 64 KiB segment can be looked at.
 */

#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "conntrack.h"
#include "frag.h"
#include "fwd.h"
#include "fwdrule.h"
#include "icmp.h"
#include "env6.h"
#include "conn.h"
#include "tcp.h"

#define ROUTER		0xcb007101	/* 203.0.113.1, a router on the path */
#define ROUTER6_NET	"2001:db8:ff::1"
#define GPORT		40522
#define PPORT		443
#define HPORT		61001
#define GUEST_MTU	65520

/* What __wrap_sendmmsg() keeps: every packet merd sent on the environment's
 * raw descriptors, its pieces joined
 */
#define SENT_MAX	256
#define SENT_LEN	9200

/**
 * struct sent - a packet merd handed sendmmsg()
 * @len:	its length
 * @dst:	where it was addressed
 * @p:		its bytes
 */
struct sent {
	size_t len;
	struct sockaddr_in6 dst;
	uint8_t p[SENT_LEN];
};

static struct sent sent[SENT_MAX];
static int nsent;

int __real_sendmmsg(int fd, struct mmsghdr *mm, unsigned int n, int flags);
int __wrap_sendmmsg(int fd, struct mmsghdr *mm, unsigned int n, int flags);

/**
 * __wrap_sendmmsg() - keep a copy of what merd sends on a negative
 *		       descriptor (the environment's raw sockets), as sent
 * @fd:		descriptor
 * @mm:		messages
 * @n:		their number
 * @flags:	flags
 *
 * Return: @n for a negative descriptor, else what sendmmsg() returns
 */
int __wrap_sendmmsg(int fd, struct mmsghdr *mm, unsigned int n, int flags)
{
	unsigned int i;
	size_t k;

	if (fd >= 0)
		return __real_sendmmsg(fd, mm, n, flags);
	for (i = 0; i < n; i++) {
		const struct msghdr *mh = &mm[i].msg_hdr;
		struct sent *s = &sent[nsent];

		assert_true(nsent < SENT_MAX);
		s->len = 0;
		for (k = 0; k < mh->msg_iovlen; k++) {
			const struct iovec *v = &mh->msg_iov[k];

			assert_true(s->len + v->iov_len <= SENT_LEN);
			memcpy(s->p + s->len, v->iov_base, v->iov_len);
			s->len += v->iov_len;
		}
		memset(&s->dst, 0, sizeof(s->dst));
		memcpy(&s->dst, mh->msg_name,
		       MIN((size_t)mh->msg_namelen, sizeof(s->dst)));
		mm[i].msg_len = (unsigned int)s->len;
		nsent++;
	}
	return (int)n;
}

/* env_setup() - cmocka fixture: a context with flows (env.h), the guest's
 * link at 65520, the uplink at 1500, IPv6 served too, nothing sent yet
 */
static int env_setup(void **state)
{
	struct env *e = env_fwd_new();

	env6_on(e);
	e->c.link.mtu = GUEST_MTU;
	e->c.opts.tso = true;		/* --tso */
	nsent = 0;
	*state = e;
	return 0;
}

/* env_teardown() - cmocka fixture: release it all */
static int env_teardown(void **state)
{
	env_fwd_free(*state);
	return 0;
}

/* from_guest() - env_from_guest(), then flush the send batch; the copy,
 * to free()
 */
static uint8_t *from_guest(struct env *e, const uint8_t *g, size_t len)
{
	uint8_t *b = env_from_guest(e, g, len);

	fwd_flush(&e->c);
	return b;
}
/* next_frame() - the next packet for the guest, IPv4 or IPv6 as @v6 */
static size_t next_frame(struct env *e, bool v6, uint8_t *ip, size_t size)
{
	return v6 ? ring_next6(e, ip, size) : ring_next(e, ip, size);
}

/* l4_ok() - the transport checksum of a packet (no extension headers) is
 * right, from scratch
 */
static bool l4_ok(const uint8_t *p)
{
	return (p[0] >> 4) == 6 ? ip6_l4_csum_ok(p) : ip_l4_csum_ok(p);
}

/* Options of a SYN-ACK: MSS at @at (0 or 1: after a NOP), SACK
 * permitted, timestamps, window scale; 20 bytes
 */
static void synack_opts(uint8_t *o, size_t at, uint16_t mss)
{
	static const uint8_t rest[] = { 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8,
					3, 3, 7 };

	memset(o, 1, 20);			/* NOPs */
	o[at] = 2;
	o[at + 1] = 4;
	put16(o + at + 2, mss);
	memcpy(o + 4 + at, rest, sizeof(rest));	/* 4 + 1 + 15 = 20 */
}

/**
 * conn_open() - open @k: flow, guest SYN out, the peer's SYN-ACK with MSS
 *		 @mss in for the guest (what the guest got in @synack), the
 *		 guest's ACK out
 * @e:		environment
 * @k:		connection, @v6 and ports set
 * @mss:	the peer's MSS option, 0 for none
 * @at:		its offset in the options (0 or 1)
 * @synack:	set to the SYN-ACK the guest got, 200 bytes
 *
 * Return: the SYN-ACK's length
 */
static size_t conn_open(struct env *e, struct conn *k, uint16_t mss,
			size_t at, uint8_t *synack)
{
	uint8_t opt[20], *p, *b;
	size_t len, n, l3 = k->v6 ? R6_HLEN : 20;

	k->gseq = rng();
	k->pseq = rng();
	k->id = (uint16_t)rng();
	flow_add(&e->c, k);

	p = gpkt(k, R_SYN, NULL, 0, 0, &len);
	b = from_guest(e, p, len);
	assert_int_equal(nsent, 1);
	free(b);
	free(p);

	synack_opts(opt, at, mss);
	if (!mss)
		opt[at] = 1, opt[at + 1] = 1, opt[at + 2] = 1, opt[at + 3] = 1;
	p = ppkt(k, R_SYN | R_ACK, opt, sizeof(opt), 0, &len);
	env_from_host(e, p, len);
	n = next_frame(e, k->v6, synack, 200);
	assert_int_equal(n, len);
	assert_true(l4_ok(synack));
	/* All as it was but addresses, ports, TTL, the MSS and checksum */
	assert_memory_equal(synack + l3 + R_TCP_SEQ, p + l3 + R_TCP_SEQ,
			    R_TCP_CHECK - R_TCP_SEQ);
	assert_memory_equal(synack + l3 + 20, p + l3 + 20, at + 2);
	assert_memory_equal(synack + l3 + 24 + at, p + l3 + 24 + at,
			    16 - at);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(p);

	p = gpkt(k, R_ACK, NULL, 0, 0, &len);
	b = from_guest(e, p, len);
	assert_int_equal(nsent, 2);
	free(b);
	free(p);
	nsent = 0;
	return n;
}

/* synack_mss() - the MSS option of a SYN-ACK conn_open() returned */
static uint16_t synack_mss(const struct conn *k, const uint8_t *synack,
			   size_t at)
{
	return get16(synack + (k->v6 ? R6_HLEN : 20) + 20 + at + 2);
}

/* flow_mss() - the path MSS merd remembers for @k's flow */
static uint16_t flow_mss(const struct env *e, const struct conn *k)
{
	return e->c.fwd.ct.flows[k->idx].mss;
}

/* tcp_syn_mss() and tcp_mss_set(): the option found wherever it lies,
 * aligned or not, its value set and the checksum kept right; options
 * that end early, or lie about their length, find none
 */
static void test_mss_option(void **state)
{
	uint8_t p[20 + 40 + 100];
	struct wpkt th = { p + 20, 40 };
	size_t at, off;

	(void)state;
	rng_seed(879);
	for (at = 0; at < 8; at++) {
		uint8_t opt[20];
		uint16_t mss = (uint16_t)(536 + rng() % 60000);

		memset(opt, 1, sizeof(opt));
		opt[at] = 2;
		opt[at + 1] = 4;
		put16(opt + at + 2, mss);
		ip_build(p, 20, sizeof(p), IPPROTO_TCP, PEER, GUEST, 1, 0, 9);
		tcp_build(p + 20, 40, PPORT, GPORT, 1, 2, R_SYN | R_ACK);
		memcpy(p + 40, opt, sizeof(opt));
		fill_rand(p + 60, sizeof(p) - 60);
		ip_l4_csum_set(p);

		off = 0;
		assert_int_equal(tcp_syn_mss(wpkt_ro(th), &off), mss);
		assert_int_equal(off, 20 + at);
		tcp_mss_set(th, off, 65480);
		assert_int_equal(get16(p + 40 + at + 2), 65480);
		assert_true(ip_l4_csum_ok(p));
		assert_int_equal(tcp_syn_mss(wpkt_ro(th), &off), 65480);
	}

	/* After EOL; behind an option of length 0, or 1; cut short */
	memset(p + 40, 0, 20);
	p[40] = 0;
	p[41] = 2, p[42] = 4;
	assert_int_equal(tcp_syn_mss(wpkt_ro(th), &off), 0);
	p[40] = 8, p[41] = 0;
	assert_int_equal(tcp_syn_mss(wpkt_ro(th), &off), 0);
	p[41] = 1;
	assert_int_equal(tcp_syn_mss(wpkt_ro(th), &off), 0);
	memset(p + 40, 1, 20);
	p[58] = 2, p[59] = 4;
	assert_int_equal(tcp_syn_mss(wpkt_ro(th), &off), 0);
	th.len = 20;
	assert_int_equal(tcp_syn_mss(wpkt_ro(th), &off), 0);
}

/* The peer's SYN-ACK reaches the guest with the MSS its link takes,
 * checksum right; merd remembers what the path takes: the peer's MSS,
 * or the uplink's, whichever is less; over IPv4 and IPv6, the option
 * aligned or not
 */
static void test_synack_raised(void **state)
{
	static const struct { uint16_t peer, path; } cases[] = {
		{ 1460, 1460 }, { 1400, 1400 }, { 9000, 1460 }, { 536, 536 },
		{ 65495, 1460 },
	};
	struct env *e = *state;
	uint8_t synack[200];
	size_t i, at;

	rng_seed(6691);
	for (i = 0; i < 2 * ARRAY_SIZE(cases); i++) {
		struct conn k = { .v6 = i % 2, .peer = PEER,
				  .gport = (uint16_t)(GPORT + i),
				  .pport = PPORT,
				  .hport = (uint16_t)(HPORT + i) };
		uint16_t peer = cases[i / 2].peer;
		uint16_t path = k.v6 ? MIN(peer, (uint16_t)1440) :
				cases[i / 2].path;

		at = i % 3 == 2;
		conn_open(e, &k, peer, at, synack);
		assert_int_equal(synack_mss(&k, synack, at),
				 GUEST_MTU - (k.v6 ? 60 : 40));
		assert_int_equal(flow_mss(e, &k), path);
	}
}

/* Where the guest's link is no larger than the path, the MSS is below
 * TCP_TSO_MSS_MIN, there is no MSS option, the peer is the host itself
 * (the gateway, on loopback), or with --no-tso: the SYN-ACK reaches the
 * guest as it was, and no segment is cut (one too large for the uplink
 * draws fragmentation needed, as ever)
 */
static void test_synack_unchanged(void **state)
{
	struct env *e = *state;
	uint8_t synack[200], ip[ICMP_ERROR_MAX], *p, *b;
	struct conn k = { .peer = PEER, .gport = GPORT, .pport = PPORT,
			  .hport = HPORT };
	size_t len, n;

	rng_seed(1191);
	e->c.link.mtu = 1500;
	conn_open(e, &k, 1460, 0, synack);
	assert_int_equal(synack_mss(&k, synack, 0), 1460);
	assert_int_equal(flow_mss(e, &k), 0);

	e->c.link.mtu = 9000;		/* larger than the path, still */
	k.gport++, k.hport++;
	conn_open(e, &k, 535, 1, synack);
	assert_int_equal(synack_mss(&k, synack, 1), 535);
	assert_int_equal(flow_mss(e, &k), 0);

	e->c.link.mtu = GUEST_MTU;
	k.gport++, k.hport++;
	conn_open(e, &k, 0, 0, synack);		/* no MSS option */
	assert_int_equal(flow_mss(e, &k), 0);

	k.gport++, k.hport++;
	e->c.opts.tso = false;
	conn_open(e, &k, 1460, 0, synack);
	assert_int_equal(synack_mss(&k, synack, 0), 1460);
	assert_int_equal(flow_mss(e, &k), 0);
	p = gpkt(&k, R_ACK | R_PSH, NULL, 12, 5000, &len);
	b = from_guest(e, p, len);
	assert_int_equal(nsent, 0);
	n = ring_next(e, ip, sizeof(ip));
	assert_true(n > 28);
	assert_int_equal(ip[20], ICMP_DEST_UNREACH);
	assert_int_equal(ip[21], ICMP_FRAG_NEEDED);
	assert_int_equal(get16(ip + 26), 1500);
	free(b);
	free(p);
	e->c.opts.tso = true;

	/* The gateway: the host's loopback, MSS as large as the guest's */
	k.gport++, k.hport++;
	k.gseq = rng();
	k.peer = GW;
	flow_add(&e->c, &k);
	{
		uint8_t opt[20];

		p = tcp_pkt(false, GUEST, GW, NULL, NULL, k.gport, k.pport,
			    k.gseq++, 0, R_SYN, NULL, 0, 0, 1, &len);
		b = from_guest(e, p, len);
		free(b);
		free(p);
		synack_opts(opt, 0, 65495);
		p = tcp_pkt(false, LOOP, LOOP, NULL, NULL, k.pport, k.hport,
			    7, k.gseq, R_SYN | R_ACK, opt, sizeof(opt), 0, 2,
			    &len);
		env_from_host(e, p, len);
		n = ring_next(e, synack, sizeof(synack));
		assert_int_equal(n, len);
		assert_int_equal(synack_mss(&k, synack, 0), 65495);
		assert_int_equal(flow_mss(e, &k), 0);
		free(p);
	}
	assert_int_equal(e->c.tap.tx.used, 0);
}

/**
 * check_pieces() - what merd sent for the guest's segment @g of @k: pieces
 *		    that fit the path, in order, as the comment at the top
 *		    says
 * @k:		the connection
 * @g:		the guest's segment
 * @glen:	its length
 * @mss:	the path MSS the pieces are cut to
 * @from:	first of the packets sent that are its pieces
 *
 * Return: number of pieces
 */
static int check_pieces(const struct conn *k, const uint8_t *g, size_t glen,
			size_t mss, int from)
{
	size_t l3 = k->v6 ? R6_HLEN : 20;
	size_t thl = (g[l3 + R_TCP_DOFF] >> 4) * 4, hlen = l3 + thl;
	size_t payload = glen - hlen, piece = mss - (thl - 20), off = 0;
	int count = (int)((payload + piece - 1) / piece), i;
	uint8_t flags = g[l3 + R_TCP_FLAGS];

	if (payload <= piece)
		count = 1;
	assert_int_equal(nsent - from, count);
	for (i = 0; i < count; i++) {
		const struct sent *s = &sent[from + i];
		const uint8_t *ip = s->p, *th = ip + l3, *gth = g + l3;
		size_t pl = s->len - hlen;
		bool last = i + 1 == count;
		uint8_t want = flags;

		assert_true(s->len >= hlen);
		assert_true(s->len <= l3 + 20 + mss);
		assert_int_equal(pl, last ? payload - off : piece);

		if (k->v6) {
			struct in6_addr peer = addr6(PEER6);
			struct in6_addr host6 = addr6(HOST6);

			assert_int_equal(s->dst.sin6_family, AF_INET6);
			assert_true(IN6_ARE_ADDR_EQUAL(&s->dst.sin6_addr,
						       &peer));
			assert_memory_equal(ip, g, R6_PLEN);
			assert_int_equal(get16(ip + R6_PLEN), s->len - R6_HLEN);
			assert_int_equal(ip[R6_NH], IPPROTO_TCP);
			assert_int_equal(ip[R6_HOPS], 63);
			assert_true(addr6_eq(ip + R6_SRC, &host6));
			assert_true(addr6_eq(ip + R6_DST, &peer));
		} else {
			struct sockaddr_in sin;

			memcpy(&sin, &s->dst, sizeof(sin));
			assert_int_equal(sin.sin_family, AF_INET);
			assert_int_equal(ntohl(sin.sin_addr.s_addr), PEER);
			assert_int_equal(ip[R_IP_VIHL], 0x45);
			assert_int_equal(get16(ip + R_IP_LEN), s->len);
			assert_int_equal(get16(ip + R_IP_ID),
					 (uint16_t)(get16(g + R_IP_ID) + i));
			assert_int_equal(get16(ip + R_IP_FRAG), R_DF);
			assert_int_equal(ip[R_IP_TTL], 63);
			assert_int_equal(ip[R_IP_PROTO], IPPROTO_TCP);
			assert_int_equal(get32(ip + R_IP_SRC), HOST);
			assert_int_equal(get32(ip + R_IP_DST), PEER);
			assert_true(ip_csum_ok(ip));
		}

		assert_int_equal(get16(th), k->hport);
		assert_int_equal(get16(th + 2), k->pport);
		assert_int_equal(get32(th + R_TCP_SEQ),
				 (uint32_t)(get32(gth + R_TCP_SEQ) + off));
		assert_memory_equal(th + R_TCP_ACK, gth + R_TCP_ACK, 5);
		if (!last)
			want &= (uint8_t)~(R_FIN | R_PSH);
		if (i)
			want &= (uint8_t)~R_CWR;
		assert_int_equal(th[R_TCP_FLAGS], want);
		assert_memory_equal(th + R_TCP_WIN, gth + R_TCP_WIN, 2);
		assert_memory_equal(th + 18, gth + 18, thl - 18);
		assert_true(l4_ok(ip));

		if (memcmp(ip + hlen, g + hlen + off, pl))
			fail_msg("piece %d: payload differs", i);
		off += pl;
	}
	assert_int_equal(off, payload);
	return count;
}

/* A 64 KiB guest segment, timestamps and every flag but SYN and RST, over
 * IPv4 and IPv6: 1448 bytes a piece (1428 over IPv6), all of them right
 */
static void test_cut_64k(void **state)
{
	static const uint8_t ts[12] = { 1, 1, 8, 10, 0, 0, 1, 2, 3, 4, 5, 6 };
	struct env *e = *state;
	uint8_t synack[200], *p, *b;
	size_t len, i;

	rng_seed(65535);
	for (i = 0; i < 2; i++) {
		struct conn k = { .v6 = i, .peer = PEER, .gport = GPORT,
				  .pport = PPORT, .hport = HPORT };
		size_t l3 = k.v6 ? R6_HLEN : 20;
		uint16_t id = (uint16_t)(0xffff - 20);
		int n;

		conn_open(e, &k, 1460, 0, synack);
		k.id = id;	/* about to wrap */
		p = gpkt(&k, R_ACK | R_PSH | R_FIN | R_CWR | R_ECE | R_URG,
			 ts, sizeof(ts), GUEST_MTU - l3 - 32, &len);
		b = from_guest(e, p, len);
		n = check_pieces(&k, p, len, k.v6 ? 1440 : 1460, 0);
		assert_int_equal(n, 46);
		assert_int_equal(e->c.fwd.raw.nout, 0);
		assert_int_equal(e->c.tap.tx.used, 0);
		free(b);
		free(p);
		nsent = 0;
	}
}

/* Random path MSSs (odd ones too: pieces at odd offsets), uplink MTUs,
 * option lengths, payloads and flags; a segment no larger than a piece
 * goes as it came
 */
static void test_cut_random(void **state)
{
	struct env *e = *state;
	uint8_t synack[200], *p, *b;
	size_t len;
	int i;

	rng_seed(3168);
	for (i = 0; i < 120; i++) {
		struct conn k = { .v6 = i % 3 == 0, .peer = PEER,
				  .gport = (uint16_t)(GPORT + i),
				  .pport = PPORT,
				  .hport = (uint16_t)(HPORT + i) };
		size_t l3 = k.v6 ? R6_HLEN : 20, optlen = 4 * (rng() % 11);
		uint16_t peer = (uint16_t)(1220 + rng() % 7000);
		size_t mss, payload;
		uint8_t flags = (uint8_t)(rng() & ~(R_SYN | R_RST)) | R_ACK;

		e->c.host.mtu = 1280 + rng() % 7900;
		conn_open(e, &k, peer, rng() % 2, synack);
		mss = MIN((size_t)peer, e->c.host.mtu - l3 - 20);
		assert_int_equal(flow_mss(e, &k), mss);
		payload = rng() % 4 ? rng() % (65535 - l3 - 20 - optlen) :
			  rng() % 3000;
		p = gpkt(&k, flags, NULL, optlen, payload, &len);
		b = from_guest(e, p, len);
		check_pieces(&k, p, len, mss, 0);
		free(b);
		free(p);
		nsent = 0;
		ct_remove(&e->c.fwd.ct, k.idx);
	}
}

/* A segment whose checksum is wrong isn't cut (its pieces' checksums
 * would be right): dropped, counted; nor is a reset (nor a SYN): too
 * large for the path, it draws fragmentation needed, as ever
 */
static void test_cut_refused(void **state)
{
	struct env *e = *state;
	uint8_t synack[200], ip[ICMP_ERROR_MAX], *p, *b;
	struct conn k = { .peer = PEER, .gport = GPORT, .pport = PPORT,
			  .hport = HPORT };
	size_t len;

	rng_seed(1071);
	conn_open(e, &k, 1460, 0, synack);
	p = gpkt(&k, R_ACK, NULL, 0, 30000, &len);
	p[len - 7] ^= 0x10;
	b = from_guest(e, p, len);
	assert_int_equal(nsent, 0);
	assert_int_equal(e->c.drops[DROP_CSUM], 1);
	assert_int_equal(e->c.tap.tx.used, 0);
	free(b);
	free(p);

	p = gpkt(&k, R_RST | R_ACK, NULL, 0, 3000, &len);
	b = from_guest(e, p, len);
	assert_int_equal(nsent, 0);
	assert_true(ring_next(e, ip, sizeof(ip)) > 28);
	assert_int_equal(ip[20], ICMP_DEST_UNREACH);
	assert_int_equal(ip[21], ICMP_FRAG_NEEDED);
	free(b);
	free(p);
}

/**
 * frag_needed() - an ICMP error about merd's piece @h, from a router on
 *		   the path: fragmentation needed, or packet too big
 * @k:		the connection
 * @h:		a piece merd sent
 * @hlen:	its length
 * @mtu:	the MTU the error gives
 * @len:	set to the error's length
 *
 * Return: the error, in an exact-size buffer, to free()
 */
static uint8_t *frag_needed(const struct conn *k, const uint8_t *h,
			    size_t hlen, uint32_t mtu, size_t *len)
{
	size_t q = k->v6 ? MIN(hlen, (size_t)R6_MTU_MIN - 48) : 28;
	size_t l3 = k->v6 ? R6_HLEN : 20;
	uint8_t *err;

	*len = l3 + 8 + q;
	err = malloc(*len);
	assert_non_null(err);
	if (k->v6) {
		struct in6_addr s = addr6(ROUTER6_NET), d = addr6(HOST6);

		ip6_build(err, 0, 0, *len - R6_HLEN, R6_NH_ICMP6, 250, &s,
			  &d);
		err[l3] = R6_TOO_BIG;
		err[l3 + 1] = 0;
		put16(err + l3 + 2, 0);
		put32(err + l3 + 4, mtu);
		memcpy(err + l3 + 8, h, q);
		l6_csum_set(&s, &d, IPPROTO_ICMPV6, err + l3, *len - l3);
	} else {
		ip_build(err, 20, *len, IPPROTO_ICMP, ROUTER, HOST, 0x5151, 0,
			 250);
		icmp_build(err + 20, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 0,
			   (uint16_t)mtu);
		memcpy(err + 28, h, q);
		l4_csum_set(0, 0, IPPROTO_ICMP, err + 20, *len - 20);
	}
	return err;
}

/* Fragmentation needed (packet too big) about a piece lowers the path
 * MSS, never below what the least MTU allows, never raises it; the guest
 * hears nothing of it, and its next segment is cut to the new size
 */
static void test_frag_needed(void **state)
{
	static const struct { uint32_t mtu; uint16_t v4, v6; } steps[] = {
		{ 1400, 1360, 1340 }, { 1450, 1360, 1340 },
		{ 0, 536, 1220 }, { 100, 536, 1220 }, { 65535, 536, 1220 },
	};
	struct env *e = *state;
	uint8_t synack[200], *p, *b, *err;
	size_t len, elen, i, s;

	rng_seed(1191);
	for (i = 0; i < 2; i++) {
		struct conn k = { .v6 = i, .peer = PEER, .gport = GPORT,
				  .pport = PPORT, .hport = HPORT };

		conn_open(e, &k, 1460, 0, synack);
		p = gpkt(&k, R_ACK, NULL, 0, 20000, &len);
		b = from_guest(e, p, len);
		check_pieces(&k, p, len, k.v6 ? 1440 : 1460, 0);
		free(b);
		free(p);

		for (s = 0; s < ARRAY_SIZE(steps); s++) {
			uint16_t want = k.v6 ? steps[s].v6 : steps[s].v4;

			peer_ack(e, &k);
			err = frag_needed(&k, sent[0].p, sent[0].len,
					  steps[s].mtu, &elen);
			env_from_host(e, err, elen);
			free(err);
			assert_int_equal(flow_mss(e, &k), want);
			assert_int_equal(e->c.tap.tx.used, 0);
			if (s == 1)
				continue;
			nsent = 0;
			p = gpkt(&k, R_ACK | R_PSH, NULL, 0, 20000, &len);
			b = from_guest(e, p, len);
			check_pieces(&k, p, len, want, 0);
			free(b);
			free(p);
		}
		nsent = 0;
	}
}

/* The same error about a flow merd doesn't cut reaches the guest, as
 * before (test_fwd.c's tests of errors check it in full)
 */
static void test_frag_needed_passed(void **state)
{
	struct env *e = *state;
	uint8_t synack[200], *p, *b, *err, ip[ICMP_ERROR_MAX];
	struct conn k = { .peer = PEER, .gport = GPORT, .pport = PPORT,
			  .hport = HPORT };
	size_t len, elen;

	rng_seed(1192);
	e->c.opts.tso = false;
	conn_open(e, &k, 1460, 0, synack);
	p = gpkt(&k, R_ACK, NULL, 0, 1000, &len);
	b = from_guest(e, p, len);
	assert_int_equal(nsent, 1);
	err = frag_needed(&k, sent[0].p, sent[0].len, 1400, &elen);
	env_from_host(e, err, elen);
	assert_int_equal(ring_next(e, ip, sizeof(ip)), elen);
	assert_int_equal(ip[20], ICMP_DEST_UNREACH);
	assert_int_equal(ip[21], ICMP_FRAG_NEEDED);
	assert_int_equal(get32(ip + 28 + R_IP_SRC), GUEST);
	assert_int_equal(flow_mss(e, &k), 0);
	free(err);
	free(b);
	free(p);
}

/* A flow opened from the network to a forwarded port: the peer's SYN
 * reaches the guest with the MSS the guest's link takes, and the guest's
 * segments of it are cut for the path
 */
static void test_inbound(void **state)
{
	static const uint32_t CLIENT = 0xc6336407;	/* 198.51.100.7 */
	struct env *e = *state;
	char errbuf[FWDRULE_ERR_LEN];
	uint8_t opt[20], syn[200], *p, *b;
	struct conn k = { .peer = CLIENT, .gport = 22, .pport = 40123,
			  .hport = 2222 };
	size_t len, n, at = 1;
	uint32_t idx;
	unsigned int side;
	struct flowside key;
	union inany_addr ca, ha;

	rng_seed(5382);
	if (fwdrule_parse(&e->c.fwd.rules, IPPROTO_TCP, "2222:22", NULL, 0,
			  errbuf, sizeof(errbuf)))
		fail_msg("%s", errbuf);
	e->c.guest4.bound = true;
	e->c.host.addr4.s_addr = htonl(HOST);
	e->c.host.prefix4 = 24;

	synack_opts(opt, at, 1460);
	k.pseq = rng();
	p = tcp_pkt(false, CLIENT, HOST, NULL, NULL, k.pport, k.hport,
		    k.pseq++, 0, R_SYN, opt, sizeof(opt), 0, 9, &len);
	env_from_host(e, p, len);
	n = ring_next(e, syn, sizeof(syn));
	assert_int_equal(n, len);
	assert_true(ip_l4_csum_ok(syn));
	assert_int_equal(get16(syn + 20 + 2), 22);
	assert_int_equal(get16(syn + 20 + 20 + at + 2), GUEST_MTU - 40);
	free(p);

	ca = v4(CLIENT);
	ha = v4(HOST);
	flowside_set(&key, &ca, k.pport, &ha, k.hport);
	idx = ct_lookup(&e->c.fwd.ct, IPPROTO_TCP, PIF_HOST, &key, &side);
	assert_true(idx != FLOW_NONE);
	assert_int_equal(e->c.fwd.ct.flows[idx].mss, 1460);

	/* The guest's SYN-ACK goes as it is; its data, cut */
	k.gseq = rng();
	p = tcp_pkt(false, GUEST, CLIENT, NULL, NULL, 22, k.pport, k.gseq++,
		    k.pseq, R_SYN | R_ACK, NULL, 0, 0, 1, &len);
	b = from_guest(e, p, len);
	assert_int_equal(nsent, 1);
	free(b);
	free(p);
	p = tcp_pkt(false, CLIENT, HOST, NULL, NULL, k.pport, k.hport,
		    k.pseq, k.gseq, R_ACK, NULL, 0, 0, 10, &len);
	env_from_host(e, p, len);
	free(p);
	nsent = 0;
	p = tcp_pkt(false, GUEST, CLIENT, NULL, NULL, 22, k.pport, k.gseq,
		    k.pseq, R_ACK | R_PSH, NULL, 0, 10000, 2, &len);
	b = from_guest(e, p, len);
	assert_int_equal(nsent, 7);	/* 10000 bytes, 1460 a piece */
	for (n = 0; n < 7; n++) {
		const uint8_t *ip = sent[n].p;

		assert_true(sent[n].len <= 1500);
		assert_true(ip_csum_ok(ip));
		assert_true(ip_l4_csum_ok(ip));
		assert_int_equal(get32(ip + R_IP_SRC), HOST);
		assert_int_equal(get32(ip + R_IP_DST), CLIENT);
		assert_int_equal(get16(ip + 20), k.hport);
		assert_int_equal(get32(ip + 20 + R_TCP_SEQ),
				 k.gseq + 1460 * n);
	}
	free(b);
	free(p);
	ring_get(&e->c.tap.tx, NULL, e->c.tap.tx.used);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_mss_option),
		T(test_synack_raised),
		T(test_synack_unchanged),
		T(test_cut_64k),
		T(test_cut_random),
		T(test_cut_refused),
		T(test_frag_needed),
		T(test_frag_needed_passed),
		T(test_inbound),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
