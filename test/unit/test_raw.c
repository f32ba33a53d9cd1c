// SPDX-License-Identifier: GPL-2.0-or-later
/* test_raw.c - unit tests for raw.c: its classic BPF programs, run by the
 *		kernel, port_ranges() (port.c), which feeds them, the receive
 *		loop and the send batch
 *
 * Copyright (c) 2026 merd authors
 *
 * The programs aren't interpreted here: raw_filter() attaches them, with
 * SO_ATTACH_FILTER, to the receiving ends of three AF_UNIX datagram
 * socketpairs standing in for the TCP, UDP and ICMP raw sockets (this
 * needs no privilege). A unix datagram reaches the filter from its byte 0,
 * which is where a raw socket's packet starts: the IPv4 header. Packets
 * built here are sent into the other ends, and what arrives is compared
 * with an independent model of what the filter must pass: TCP and UDP to
 * a claimed port, ICMP echo replies to a claimed identifier, ICMP errors
 * quoting a packet sent from one; IPv4 headers of both levels may carry
 * options. port_ranges() is run on claimed blocks set by hand (no socket
 * is opened: these blocks are only marked claimed). raw_handler() and the
 * send batch run on socketpairs too, in an epoll set, with a transmit ring
 * whose room the test sets. The IPv6 programs are checked the same way on
 * three more socketpairs, standing in for the IPv6 sockets, whose packets
 * start at the transport header (RFC 3542 3); and raw6_header(), the IPv6
 * header put back from ancillary data, through real IPv6 raw sockets over
 * ::1, in a network namespace of the test's own (netns.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "epoll.h"
#include "fwd.h"
#include "merd.h"
#include "port.h"
#include "raw.h"
#include "ref6.h"
#include "tap.h"

#include "netns.h"

/**
 * struct rig - three socketpairs with raw.c's filters on one end, and
 *		three more for the IPv6 sockets if rig6_setup() made them
 * @r:		raw sockets as raw.c sees them: the filtered ends
 * @tx:		the other ends, by enum raw_proto
 * @tx6:	the other ends of the IPv6 ones
 */
struct rig {
	struct raw r;
	int tx[RAW_PROTOS];
	int tx6[RAW_PROTOS];
};

/* rig_setup() - cmocka fixture: the socketpairs, nothing attached yet */
static int rig_setup(void **state)
{
	struct rig *g = calloc(1, sizeof(*g));
	int i, sv[2];

	assert_non_null(g);
	for (i = 0; i < RAW_PROTOS; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
		g->r.fd[i] = sv[0];
		g->r.fd6[i] = g->tx6[i] = -1;	/* no IPv6 sockets here */
		g->tx[i] = sv[1];
	}
	g->r.fd_send = g->r.fd_send6 = -1;
	*state = g;
	return 0;
}

/* rig_teardown() - cmocka fixture: close them */
static int rig_teardown(void **state)
{
	struct rig *g = *state;
	int i;

	for (i = 0; i < RAW_PROTOS; i++) {
		close(g->r.fd[i]);
		close(g->tx[i]);
		if (g->tx6[i] >= 0) {
			close(g->r.fd6[i]);
			close(g->tx6[i]);
		}
	}
	free(g);
	return 0;
}

/* passes() - send a packet into a socket's pair: did the filter let it
 * through, whole?
 */
static bool passes(const struct rig *g, int proto, const uint8_t *p,
		   size_t len)
{
	uint8_t buf[256];
	ssize_t n;

	assert_true(len <= sizeof(buf));
	assert_int_equal(send(g->tx[proto], p, len, MSG_DONTWAIT),
			 (ssize_t)len);
	n = recv(g->r.fd[proto], buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return false;
	}
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, p, len);
	return true;
}

/* in_ranges() - the model: is @port in one of the ranges? */
static bool in_ranges(const struct port_range *r, int n, uint32_t port)
{
	int i;

	for (i = 0; i < n; i++)
		if (port >= r[i].lo && port <= r[i].hi)
			return true;
	return false;
}

/* rnd_hlen() - an IPv4 header length, options half of the time */
static size_t rnd_hlen(void)
{
	return rng() % 2 ? 20 : 20 + 4 * (1 + rng() % 10);
}

/* l4_pkt() - TCP or UDP packet, header @hl long, with these ports and
 * @l4len transport bytes
 */
static size_t l4_pkt(uint8_t *p, size_t hl, uint8_t proto, uint16_t sport,
		     uint16_t dport, size_t l4len)
{
	ip_build(p, hl, hl + l4len, proto, addr("198.51.100.7"),
		 addr("192.0.2.2"), (uint16_t)rng(), R_DF, 50);
	fill_rand(p + hl, l4len);
	put16(p + hl, sport);
	put16(p + hl + 2, dport);
	return hl + l4len;
}

/* echo_pkt() - ICMP echo message of @type, identifier @id */
static size_t echo_pkt(uint8_t *p, size_t hl, uint8_t type, uint16_t id)
{
	ip_build(p, hl, hl + 16, IPPROTO_ICMP, addr("198.51.100.7"),
		 addr("192.0.2.2"), (uint16_t)rng(), 0, 50);
	icmp_build(p + hl, type, 0, id, (uint16_t)rng());
	fill_rand(p + hl + 8, 8);
	l4_csum_set(0, 0, IPPROTO_ICMP, p + hl, 16);
	return hl + 16;
}

/* error_pkt() - ICMP error of @type, quoting a packet of @qproto (header
 * @qhl long) sent from @sport to @dport, or an echo request from @sport
 */
static size_t error_pkt(uint8_t *p, size_t hl, uint8_t type, uint8_t code,
			size_t qhl, uint8_t qproto, uint16_t sport,
			uint16_t dport)
{
	uint8_t *q = p + hl + 8;

	ip_build(p, hl, hl + 8 + qhl + 8, IPPROTO_ICMP, addr("203.0.113.1"),
		 addr("192.0.2.2"), (uint16_t)rng(), 0, 50);
	icmp_build(p + hl, type, code, 0, 0);
	ip_build(q, qhl, qhl + 64, qproto, addr("192.0.2.2"),
		 addr("198.51.100.7"), (uint16_t)rng(), R_DF, 1);
	fill_rand(q + qhl, 8);
	if (qproto == IPPROTO_ICMP) {
		icmp_build(q + qhl, 8, 0, sport, (uint16_t)rng());
	} else {
		put16(q + qhl, sport);
		put16(q + qhl + 2, dport);
	}
	l4_csum_set(0, 0, IPPROTO_ICMP, p + hl, 8 + qhl + 8);
	return hl + 8 + qhl + 8;
}

/* rnd_port() - a port near a range edge, or anywhere */
static uint16_t rnd_port(const struct port_range *r, int n)
{
	const struct port_range *e;

	if (!n || rng() % 3 == 0)
		return (uint16_t)rng();
	e = &r[rng() % n];
	switch (rng() % 4) {
	case 0:
		return (uint16_t)(e->lo - 1 + rng() % 3);
	case 1:
		return (uint16_t)(e->hi - 1 + rng() % 3);
	case 2:
		return (uint16_t)(e->lo + rng() % (e->hi - e->lo + 1U));
	default:
		return (uint16_t)(e->hi + 1 + rng() % 300);
	}
}

/* check_all() - attach filters for the ranges, then send every kind of
 * packet the filters decide on, @rounds times, and compare with the model
 */
static void check_all(const struct rig *g, const struct port_range *r,
		      int n, int rounds)
{
	static const uint8_t errors[] = { 3, 11, 12 };
	static const uint8_t quoted[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	uint8_t p[256];
	int i;

	assert_int_equal(raw_filter(&g->r, r, n), 0);
	for (i = 0; i < rounds; i++) {
		uint16_t a = rnd_port(r, n), b = rnd_port(r, n);
		uint8_t qp = quoted[rng() % 3], type = errors[rng() % 3];
		size_t len;

		/* TCP and UDP: the destination port decides */
		len = l4_pkt(p, rnd_hlen(), IPPROTO_TCP, b, a, 20);
		assert_int_equal(passes(g, RAW_TCP, p, len),
				 in_ranges(r, n, a));
		len = l4_pkt(p, rnd_hlen(), IPPROTO_UDP, b, a, 8);
		assert_int_equal(passes(g, RAW_UDP, p, len),
				 in_ranges(r, n, a));

		/* Echo replies: the identifier; requests never */
		len = echo_pkt(p, rnd_hlen(), 0, a);
		assert_int_equal(passes(g, RAW_ICMP, p, len),
				 in_ranges(r, n, a));
		len = echo_pkt(p, rnd_hlen(), 8, a);
		assert_false(passes(g, RAW_ICMP, p, len));

		/* Errors: the quoted source port or identifier */
		len = error_pkt(p, rnd_hlen(), type, (uint8_t)(rng() % 16),
				rnd_hlen(), qp, a, b);
		assert_int_equal(passes(g, RAW_ICMP, p, len),
				 in_ranges(r, n, a));
	}
}

/* One range, its edges and beyond */
static void test_l4_one_range(void **state)
{
	const struct rig *g = *state;
	const struct port_range r = { 61000, 61255 };
	static const uint16_t in[] = { 61000, 61001, 61128, 61254, 61255 };
	static const uint16_t out[] = { 0, 1, 60999, 61256, 65535, 53 };
	uint8_t p[256];
	size_t i, len;

	rng_seed(1);
	assert_int_equal(raw_filter(&g->r, &r, 1), 0);
	for (i = 0; i < ARRAY_SIZE(in); i++) {
		len = l4_pkt(p, 20, IPPROTO_TCP, 40000, in[i], 20);
		assert_true(passes(g, RAW_TCP, p, len));
		len = l4_pkt(p, 60, IPPROTO_UDP, 40000, in[i], 8);
		assert_true(passes(g, RAW_UDP, p, len));
	}
	for (i = 0; i < ARRAY_SIZE(out); i++) {
		/* the source port in range must not matter */
		len = l4_pkt(p, 20, IPPROTO_TCP, 61000, out[i], 20);
		assert_false(passes(g, RAW_TCP, p, len));
		len = l4_pkt(p, 24, IPPROTO_UDP, 61100, out[i], 8);
		assert_false(passes(g, RAW_UDP, p, len));
	}
}

/* Several ranges, single ports, the ends of the port space */
static void test_l4_edges(void **state)
{
	const struct rig *g = *state;
	const struct port_range r[] = {
		{ 0, 0 }, { 2, 3 }, { 1024, 1279 }, { 1281, 1281 },
		{ 40000, 49999 }, { 65535, 65535 },
	};
	uint32_t port;
	uint8_t p[256];

	rng_seed(2);
	assert_int_equal(raw_filter(&g->r, r, ARRAY_SIZE(r)), 0);
	for (port = 0; port <= 1300; port++) {
		size_t len = l4_pkt(p, rnd_hlen(), IPPROTO_TCP, 61000,
				    (uint16_t)port, 20);

		assert_int_equal(passes(g, RAW_TCP, p, len),
				 in_ranges(r, ARRAY_SIZE(r), port));
	}
	for (port = 39990; port <= 65535; port += port < 40010 ||
	     port > 65500 || (port > 49990 && port < 50010) ? 1 : 97) {
		size_t len = l4_pkt(p, rnd_hlen(), IPPROTO_UDP, 61000,
				    (uint16_t)port, 8);

		assert_int_equal(passes(g, RAW_UDP, p, len),
				 in_ranges(r, ARRAY_SIZE(r), port));
	}
	check_all(g, r, ARRAY_SIZE(r), 300);
}

/* Random sets of ranges, 1 to PORT_RANGES_MAX of them */
static void test_random_ranges(void **state)
{
	const struct rig *g = *state;
	struct port_range r[PORT_RANGES_MAX];
	int round;

	rng_seed(3);
	for (round = 0; round < 40; round++) {
		int n = 1 + (int)(rng() % PORT_RANGES_MAX), i;
		uint32_t lo = rng() % 2000;

		if (round < 4)
			n = PORT_RANGES_MAX;
		for (i = 0; i < n; i++) {
			uint32_t len = rng() % 4 ? 256 * (1 + rng() % 3) :
				       1 + rng() % 3;

			if (lo + len > 65536)
				break;
			r[i].lo = (uint16_t)lo;
			r[i].hi = (uint16_t)(lo + len - 1);
			lo += len + 1 + rng() % 1500;
		}
		check_all(g, r, i, 150);
	}
}

/* prog_len() - instructions of the program attached to a socket, as the
 * kernel reports them (SO_GET_FILTER with no room asks for the count)
 */
static int prog_len(int fd)
{
	socklen_t len = 0;

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL,
				    &len), 0);
	return (int)len;
}

/* The largest program: PORT_RANGES_MAX ranges fit a classic BPF program,
 * the kernel takes it, each range works
 */
static void test_max_ranges(void **state)
{
	const struct rig *g = *state;
	struct port_range r[PORT_RANGES_MAX];
	int i, fewer[RAW_PROTOS];
	uint8_t p[256];

	rng_seed(4);
	for (i = 0; i < PORT_RANGES_MAX; i++) {
		r[i].lo = (uint16_t)(1000 + 1000 * i);
		r[i].hi = (uint16_t)(1000 + 1000 * i + 255);
	}
	/* Each range costs instructions, and the most still fit */
	assert_int_equal(raw_filter(&g->r, r, PORT_RANGES_MAX - 1), 0);
	for (i = 0; i < RAW_PROTOS; i++)
		fewer[i] = prog_len(g->r.fd[i]);
	assert_int_equal(raw_filter(&g->r, r, PORT_RANGES_MAX), 0);
	for (i = 0; i < RAW_PROTOS; i++) {
		int n = prog_len(g->r.fd[i]);

		assert_true(n <= BPF_MAXINSNS);
		assert_true(n > fewer[i]);
	}
	for (i = 0; i < PORT_RANGES_MAX; i++) {
		size_t len = l4_pkt(p, 20, IPPROTO_TCP, 1, r[i].hi, 20);

		assert_true(passes(g, RAW_TCP, p, len));
		len = l4_pkt(p, 20, IPPROTO_TCP, 1, r[i].hi + 1, 20);
		assert_false(passes(g, RAW_TCP, p, len));
		len = error_pkt(p, 20, 3, 4, 20, IPPROTO_UDP, r[i].lo, 1);
		assert_true(passes(g, RAW_ICMP, p, len));
		len = error_pkt(p, 20, 3, 4, 20, IPPROTO_UDP, r[i].lo - 1, 1);
		assert_false(passes(g, RAW_ICMP, p, len));
	}
	check_all(g, r, PORT_RANGES_MAX, 300);
}

/* No ranges: nothing at all passes */
static void test_zero_ranges(void **state)
{
	const struct rig *g = *state;
	uint8_t p[256];
	uint32_t port;

	rng_seed(5);
	assert_int_equal(raw_filter(&g->r, NULL, 0), 0);
	for (port = 0; port <= 65535; port += 1 + rng() % 200) {
		size_t len = l4_pkt(p, 20, IPPROTO_TCP, (uint16_t)port,
				    (uint16_t)port, 20);

		assert_false(passes(g, RAW_TCP, p, len));
		len = l4_pkt(p, 20, IPPROTO_UDP, (uint16_t)port,
			     (uint16_t)port, 8);
		assert_false(passes(g, RAW_UDP, p, len));
		len = echo_pkt(p, 20, 0, (uint16_t)port);
		assert_false(passes(g, RAW_ICMP, p, len));
		len = error_pkt(p, 20, 3, 3, 20, IPPROTO_UDP, (uint16_t)port,
				(uint16_t)port);
		assert_false(passes(g, RAW_ICMP, p, len));
	}
}

/* ICMP: echo replies by identifier, requests never, errors by what they
 * quote, whatever the options of either header
 */
static void test_icmp(void **state)
{
	const struct rig *g = *state;
	const struct port_range r[] = { { 61000, 61255 }, { 61512, 61767 } };
	static const uint8_t errors[] = { 3, 11, 12 };
	static const uint8_t quoted[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	uint8_t p[256];
	size_t len, i, k, hl, qhl;

	rng_seed(6);
	assert_int_equal(raw_filter(&g->r, r, ARRAY_SIZE(r)), 0);
	len = echo_pkt(p, 20, 0, 61000);
	assert_true(passes(g, RAW_ICMP, p, len));
	len = echo_pkt(p, 20, 0, 61256);
	assert_false(passes(g, RAW_ICMP, p, len));
	len = echo_pkt(p, 20, 8, 61000);
	assert_false(passes(g, RAW_ICMP, p, len));

	for (hl = 20; hl <= 60; hl += 20) {
		for (qhl = 20; qhl <= 60; qhl += 8) {
			for (i = 0; i < ARRAY_SIZE(errors); i++) {
				for (k = 0; k < ARRAY_SIZE(quoted); k++) {
					/* in range: the source */
					len = error_pkt(p, hl, errors[i], 0,
							qhl, quoted[k], 61767,
							80);
					assert_true(passes(g, RAW_ICMP, p,
							   len));
					/* out of range, destination in */
					len = error_pkt(p, hl, errors[i], 0,
							qhl, quoted[k], 61768,
							61000);
					assert_false(passes(g, RAW_ICMP, p,
							    len));
				}
			}
		}
	}
}

/* ICMP types other than echo reply and the three errors never pass, even
 * quoting, or carrying, one of our ports; nor do errors quoting another
 * protocol
 */
static void test_icmp_other(void **state)
{
	const struct rig *g = *state;
	const struct port_range r = { 61000, 61255 };
	uint8_t p[256];
	unsigned int type;
	size_t len;

	rng_seed(7);
	assert_int_equal(raw_filter(&g->r, &r, 1), 0);
	for (type = 0; type <= 255; type++) {
		bool ok = type == 3 || type == 11 || type == 12;

		len = error_pkt(p, 20, (uint8_t)type, 0, 20, IPPROTO_UDP,
				61001, 61001);
		/* type 0 reads the identifier, here 0 */
		assert_int_equal(passes(g, RAW_ICMP, p, len), ok);
		if (ok)
			continue;	/* its data would be read as a quote */
		len = echo_pkt(p, 20, (uint8_t)type, 61001);
		assert_int_equal(passes(g, RAW_ICMP, p, len), type == 0);
	}
	len = error_pkt(p, 20, 3, 3, 20, 47, 61001, 61001);
	assert_false(passes(g, RAW_ICMP, p, len));
	len = error_pkt(p, 20, 3, 3, 20, IPPROTO_SCTP, 61001, 61001);
	assert_false(passes(g, RAW_ICMP, p, len));
}

/* Packets too short to hold what the filter reads are dropped, not read
 * past; exactly long enough is enough
 */
static void test_short(void **state)
{
	const struct rig *g = *state;
	const struct port_range r = { 61000, 61255 };
	uint8_t p[256];
	size_t len, cut;

	rng_seed(8);
	assert_int_equal(raw_filter(&g->r, &r, 1), 0);
	len = l4_pkt(p, 40, IPPROTO_TCP, 1, 61000, 20);
	for (cut = 1; cut <= 44; cut++)
		assert_int_equal(passes(g, RAW_TCP, p, cut), cut == 44);
	len = error_pkt(p, 24, 3, 1, 28, IPPROTO_ICMP, 61000, 0);
	assert_int_equal(len, 24 + 8 + 28 + 8);
	for (cut = 1; cut < 24 + 8 + 28 + 6; cut++)
		assert_false(passes(g, RAW_ICMP, p, cut));
	assert_true(passes(g, RAW_ICMP, p, cut));
	assert_true(passes(g, RAW_ICMP, p, len));
}

/* A new program replaces the old one at once */
static void test_swap(void **state)
{
	const struct rig *g = *state;
	const struct port_range a = { 61000, 61255 }, b = { 62000, 62255 };
	uint8_t p[256];
	size_t len;

	rng_seed(9);
	assert_int_equal(raw_filter(&g->r, &a, 1), 0);
	len = l4_pkt(p, 20, IPPROTO_UDP, 1, 61000, 8);
	assert_true(passes(g, RAW_UDP, p, len));
	assert_int_equal(raw_filter(&g->r, &b, 1), 0);
	assert_false(passes(g, RAW_UDP, p, len));
	len = l4_pkt(p, 20, IPPROTO_UDP, 1, 62255, 8);
	assert_true(passes(g, RAW_UDP, p, len));
	len = echo_pkt(p, 20, 0, 62000);
	assert_true(passes(g, RAW_ICMP, p, len));
}

/* claim_fake() - mark the blocks @claimed says claimed (a block is, while
 * it has its slots), opening nothing and putting none in the claimed list
 * (unclaim_fake() undoes it before port_free(), which would close them)
 */
static void claim_fake(struct ports *p, const bool *claimed)
{
	static struct port_slot dummy[PORT_BLOCK];
	uint32_t b;

	for (b = 0; b < p->nblocks; b++)
		p->blocks[b].slot = claimed[b] ? dummy : NULL;
	p->changed = true;
}

/* unclaim_fake() - forget what claim_fake() marked */
static void unclaim_fake(struct ports *p)
{
	uint32_t b;

	for (b = 0; b < p->nblocks; b++)
		p->blocks[b].slot = NULL;
}

/* check_ranges() - port_ranges() for these claims: at most @max ranges,
 * ascending and apart, every claimed port covered; exactly the runs of
 * claimed blocks if there are no more of them than @max
 */
static void check_ranges(struct ports *p, const bool *claimed, int max)
{
	struct port_range r[PORT_RANGES_MAX + 8];
	int n, i, runs = 0, lim = MIN(max, PORT_RANGES_MAX);
	uint32_t b;

	claim_fake(p, claimed);
	n = port_ranges(p, r, max);
	assert_false(p->changed);
	for (b = 0; b < p->nblocks; b++)
		if (claimed[b] && (!b || !claimed[b - 1]))
			runs++;
	assert_int_equal(n, MIN(runs, lim));
	for (i = 0; i < n; i++) {
		assert_true(r[i].lo <= r[i].hi);
		if (i)
			assert_true(r[i].lo > r[i - 1].hi + 1U);
	}
	/* Ranges are made of whole blocks: their first and last ports tell */
	for (b = 0; b < p->nblocks; b++) {
		uint32_t first = p->lo + b * PORT_BLOCK;
		uint32_t last = MIN(first + PORT_BLOCK - 1, (uint32_t)p->hi);

		if (claimed[b]) {
			assert_true(in_ranges(r, n, first));
			assert_true(in_ranges(r, n, last));
		} else if (runs <= lim) {
			assert_false(in_ranges(r, n, first));
			assert_false(in_ranges(r, n, last));
		}
	}
	unclaim_fake(p);
}

/* port_ranges(): adjacent blocks make one range, a partial last block ends
 * at the last port, many runs are merged down to the limit (also when the
 * caller has room for more than PORT_RANGES_MAX)
 */
static void test_port_ranges(void **state)
{
	static bool claimed[256];
	struct port_range r[4];
	struct ports p;
	int round;
	uint32_t b;

	(void)state;
	rng_seed(10);
	assert_int_equal(port_init(&p, 1024, 65535, 1), 0);
	assert_int_equal(p.nblocks, 252);

	memset(claimed, 0, sizeof(claimed));
	claimed[3] = claimed[4] = claimed[5] = true;
	claimed[251] = true;
	claim_fake(&p, claimed);
	assert_int_equal(port_ranges(&p, r, 4), 2);
	assert_int_equal(r[0].lo, 1024 + 3 * 256);
	assert_int_equal(r[0].hi, 1024 + 6 * 256 - 1);
	assert_int_equal(r[1].lo, 1024 + 251 * 256);
	assert_int_equal(r[1].hi, 65535);
	unclaim_fake(&p);

	for (round = 0; round < 300; round++) {
		uint32_t density = 1 + rng() % 8;

		for (b = 0; b < p.nblocks; b++)
			claimed[b] = rng() % 8 < density;
		check_ranges(&p, claimed, 2 + (int)(rng() % 39));
	}
	port_free(&p);

	/* A range of one block, partial */
	assert_int_equal(port_init(&p, 61000, 61099, 1), 0);
	claimed[0] = true;
	claim_fake(&p, claimed);
	assert_int_equal(port_ranges(&p, r, 4), 1);
	assert_int_equal(r[0].lo, 61000);
	assert_int_equal(r[0].hi, 61099);
	unclaim_fake(&p);
	port_free(&p);
}

/* ranges_of() - port_ranges() of blocks claimed as in @pattern ('#' for a
 * claimed block), at most @max ranges
 */
static int ranges_of(const char *pattern, struct port_range *r, int max)
{
	static bool claimed[64];
	struct ports p;
	size_t b;
	int n;

	assert_int_equal(port_init(&p, 10000,
				   (uint16_t)(10000 + 256 * strlen(pattern) -
					      1), 1), 0);
	for (b = 0; b < strlen(pattern); b++)
		claimed[b] = pattern[b] == '#';
	claim_fake(&p, claimed);
	n = port_ranges(&p, r, max);
	unclaim_fake(&p);
	port_free(&p);
	return n;
}

/* block() - first port of block @b of ranges_of()'s range */
static uint16_t block(int b)
{
	return (uint16_t)(10000 + 256 * b);
}

/* Past the limit, the two closest ranges are merged */
static void test_port_ranges_closest(void **state)
{
	struct port_range r[4];

	(void)state;
	/* gaps of 5, 1 and 7 blocks: the middle pair is merged */
	assert_int_equal(ranges_of("#.....#.#.......#", r, 3), 3);
	assert_int_equal(r[0].lo, block(0));
	assert_int_equal(r[0].hi, block(1) - 1);
	assert_int_equal(r[1].lo, block(6));
	assert_int_equal(r[1].hi, block(9) - 1);
	assert_int_equal(r[2].lo, block(16));

	/* gaps of 1, 5 and 7: the first pair */
	assert_int_equal(ranges_of("#.#.....#.......#", r, 3), 3);
	assert_int_equal(r[0].lo, block(0));
	assert_int_equal(r[0].hi, block(3) - 1);
	assert_int_equal(r[1].lo, block(8));
	assert_int_equal(r[2].lo, block(16));

	/* gaps of 5, 7 and 1: the last pair */
	assert_int_equal(ranges_of("#.....#.......#.#", r, 3), 3);
	if (r[2].lo != block(14))
		fail_msg("port_ranges() merged blocks %d-%d, 5 blocks "
			  "apart, not the two closest ranges (1 block apart): "
			  "the range being added is never a candidate",
			  (r[0].lo - 10000) / 256, (r[0].hi - 10000) / 256);
	assert_int_equal(r[0].hi, block(1) - 1);
	assert_int_equal(r[1].lo, block(6));
	assert_int_equal(r[2].lo, block(14));
	assert_int_equal(r[2].hi, block(17) - 1);
}

/* ranges_child() - in a child: port_ranges() with room for one range, for
 * two runs of blocks, must give one range covering both; exit status 0 if
 * it does (no cmocka assertion here: a failing one would go on running the
 * tests in the child)
 */
static void ranges_child(void)
{
	struct port_range r[2] = { { 0, 0 }, { 0, 0 } };
	static const bool claimed[4] = { true, false, false, true };
	int fd = open("/dev/null", O_WRONLY), n;
	struct ports p;

	if (fd >= 0)
		dup2(fd, STDERR_FILENO);	/* the sanitiser's report */
	if (port_init(&p, 10000, 10000 + 4 * 256 - 1, 1))
		_exit(2);
	claim_fake(&p, claimed);
	n = port_ranges(&p, r, 1);
	unclaim_fake(&p);
	port_free(&p);
	_exit(n == 1 && r[0].lo == block(0) && r[0].hi == block(4) - 1 ?
	      0 : 1);
}

/* With room for a single range, everything claimed must become one range
 * (run in a child: port_ranges() once corrupted memory there)
 */
static void test_port_ranges_one(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		ranges_child();
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("port_ranges() with max 1 and two runs of blocks "
			  "merges r[0] with r[1], not written yet, and "
			  "memmove()s a negative size (child %s %d)",
			  WIFEXITED(st) ? "exit status" : "signal",
			  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/**
 * struct loop - a context whose raw sockets are socketpairs in an epoll
 *		 set, for raw_handler() and the send batch
 * @c:		context: a guest connected (a descriptor), a transmit ring
 * @tx:		the other ends of the receive sockets, by enum raw_proto
 * @guest:	the guest connection's descriptor
 * @got:	packets raw_handler() passed on
 * @len:	their lengths
 * @errs:	failed sends reported
 * @err:	their errno values
 * @failed:	their packets' slots
 * @pkt:	the last packet got6() took
 */
struct loop {
	struct ctx c;
	int tx[RAW_PROTOS];
	int guest;
	size_t got;
	size_t len[4 * RAW_BATCH];
	size_t errs;
	int err[RAW_BATCH];
	const struct raw_out *failed[RAW_BATCH];
	uint8_t pkt[2048];
};

/* loop_of() - the loop a context belongs to (its first member) */
static struct loop *loop_of(struct ctx *c)
{
	return (struct loop *)(void *)c;
}

/* loop_setup() - cmocka fixture: the socketpairs, epoll, an 8 MiB ring */
static int loop_setup(void **state)
{
	struct loop *l = calloc(1, sizeof(*l));
	struct raw *r;
	int i, sv[2];

	assert_non_null(l);
	r = &l->c.fwd.raw;
	l->c.link.mtu = 1500;
	l->c.epollfd = epoll_create1(0);
	assert_true(l->c.epollfd >= 0);
	for (i = 0; i < RAW_PROTOS; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
		r->fd[i] = sv[0];
		r->fd6[i] = -1;
		l->tx[i] = sv[1];
		assert_int_equal(epoll_ref_ctl(l->c.epollfd, EPOLL_CTL_ADD,
					       r->fd[i], EPOLLIN,
					       EPOLL_TYPE_RAW, i), 0);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	r->fd_send = sv[0];
	r->fd_send6 = -1;
	l->guest = sv[1];
	l->c.tap.fd = l->guest;
	r->in = aligned_alloc(64, (size_t)RAW_BATCH * RAW_PKT_MAX);
	assert_non_null(r->in);
	assert_int_equal(tap_tx_init(&l->c.tap.tx, TAP_TX_QUEUE), 0);
	*state = l;
	return 0;
}

/* loop_teardown() - cmocka fixture: close and free it all */
static int loop_teardown(void **state)
{
	struct loop *l = *state;
	int i;

	for (i = 0; i < RAW_PROTOS; i++) {
		close(l->c.fwd.raw.fd[i]);
		close(l->tx[i]);
	}
	close(l->c.fwd.raw.fd_send);
	close(l->guest);
	close(l->c.epollfd);
	free(l->c.fwd.raw.in);
	free(l->c.tap.tx.buf);
	free(l);
	return 0;
}

/* got_pkt() - raw_handler() callback: note the packet, check its bytes */
static void got_pkt(struct ctx *c, struct pkt p, unsigned int ifi)
{
	(void)ifi;
	struct loop *l = loop_of(c);

	assert_true(l->got < ARRAY_SIZE(l->len));
	assert_true(p.len >= 1);
	assert_int_equal(p.p[0], (uint8_t)l->got);
	assert_int_equal(p.p[p.len - 1], (uint8_t)(l->got * 7));
	l->len[l->got++] = p.len;
}

/* queue_pkts() - @n datagrams into the UDP socket's pair: the k-th (from
 * @first on) of 100 + k bytes, starting with k, ending with 7 k
 */
static void queue_pkts(struct loop *l, size_t first, size_t n)
{
	uint8_t b[400];
	size_t k;

	for (k = first; k < first + n; k++) {
		size_t len = 100 + k;

		memset(b, 0, len);
		b[0] = (uint8_t)k;
		b[len - 1] = (uint8_t)(k * 7);
		assert_int_equal(send(l->tx[RAW_UDP], b, len, 0),
				 (ssize_t)len);
	}
}

/* raw_ready() - is the UDP raw socket reported readable by epoll now? */
static bool raw_ready(const struct loop *l)
{
	struct epoll_event ev[RAW_PROTOS];
	int n = epoll_wait(l->c.epollfd, ev, RAW_PROTOS, 0), i;

	for (i = 0; i < n; i++) {
		union epoll_ref ref = { .u64 = ev[i].data.u64 };

		assert_int_equal(ref.type, EPOLL_TYPE_RAW);
		if (ref.id == RAW_UDP)
			return true;
	}
	return false;
}

/* raw_handler() reads what the queue toward the guest can take, at most a
 * batch at a time, whole and in order; with less room than a 64 KiB packet
 * needs, it reads nothing and leaves the loop until raw_resume() finds the
 * queue drained; without a guest, it reads a batch at a time and passes it
 * on too (inbound forwarding answers for a guest that isn't there)
 */
static void test_handler(void **state)
{
	struct loop *l = *state;
	struct tap_tx *tx = &l->c.tap.tx;
	size_t i;

	queue_pkts(l, 0, RAW_BATCH + 8);
	raw_handler(&l->c, RAW_UDP, got_pkt);
	assert_int_equal(l->got, RAW_BATCH);
	raw_handler(&l->c, RAW_UDP, got_pkt);
	assert_int_equal(l->got, RAW_BATCH + 8);
	for (i = 0; i < l->got; i++)
		assert_int_equal(l->len[i], 100 + i);
	assert_false(l->c.fwd.raw.paused);

	/* Room for less than one packet's worth: paused, nothing read */
	queue_pkts(l, l->got, 3);
	tx->used = tx->size - RAW_PKT_MAX;
	assert_true(raw_ready(l));
	raw_handler(&l->c, RAW_UDP, got_pkt);
	assert_int_equal(l->got, RAW_BATCH + 8);
	assert_true(l->c.fwd.raw.paused);
	assert_false(raw_ready(l));
	raw_resume(&l->c);
	assert_true(l->c.fwd.raw.paused);
	tx->used = 0;
	raw_resume(&l->c);
	assert_false(l->c.fwd.raw.paused);
	assert_true(raw_ready(l));
	raw_handler(&l->c, RAW_UDP, got_pkt);
	assert_int_equal(l->got, RAW_BATCH + 11);

	/* No guest: read, and passed on whatever the queue holds */
	l->c.tap.fd = -1;
	tx->used = tx->size - RAW_PKT_MAX;
	queue_pkts(l, l->got, 5);
	raw_handler(&l->c, RAW_UDP, got_pkt);
	assert_int_equal(l->got, RAW_BATCH + 16);
	assert_false(raw_ready(l));
	tx->used = 0;
	l->c.tap.fd = l->guest;
}

/* note_err() - raw_flush() callback: note the failed send */
static void note_err(struct ctx *c, const struct raw_out *o, int err)
{
	struct loop *l = loop_of(c);

	assert_true(l->errs < ARRAY_SIZE(l->err));
	l->failed[l->errs] = o;
	l->err[l->errs++] = err;
}

/* The send batch goes out when it is full, or flushed: every packet the
 * kernel refuses (a socket that can't send to an IPv4 address here) is
 * reported once, in order, and the batch is empty afterwards
 */
static void test_send_batch(void **state)
{
	struct loop *l = *state;
	struct raw *r = &l->c.fwd.raw;
	static uint8_t payload[64];
	int i;

	for (i = 0; i < RAW_BATCH; i++) {
		struct raw_out *o = raw_out_slot(r);

		assert_true(o == &r->out[i]);
		memset(o->hdr, i, 20);
		o->iov[0].iov_base = o->hdr;
		o->iov[0].iov_len = 20;
		o->iov[1].iov_base = payload;
		o->iov[1].iov_len = sizeof(payload);
		o->dst.sin_family = AF_INET;
		o->dst.sin_addr.s_addr = htonl(0xc0000250);
		raw_out_commit(&l->c, note_err);
		assert_int_equal(r->nout, (i + 1) % RAW_BATCH);
	}
	assert_int_equal(l->errs, RAW_BATCH);
	for (i = 0; i < RAW_BATCH; i++) {
		assert_true(l->failed[i] == &r->out[i]);
		assert_true(l->err[i] > 0);
	}

	l->errs = 0;
	raw_out_commit(&l->c, note_err);
	raw_out_commit(&l->c, note_err);
	assert_int_equal(l->errs, 0);
	raw_flush(&l->c, note_err);
	assert_int_equal(l->errs, 2);
	assert_int_equal(r->nout, 0);
	raw_flush(&l->c, note_err);
	assert_int_equal(l->errs, 2);
}

/* IPv6 */

/* rig6_setup() - cmocka fixture: socketpairs for the IPv4 sockets and the
 * IPv6 ones (raw_filter() then attaches both kinds of programs)
 */
static int rig6_setup(void **state)
{
	struct rig *g;
	int i, sv[2];

	rig_setup(state);
	g = *state;
	for (i = 0; i < RAW_PROTOS; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
		g->r.fd6[i] = sv[0];
		g->tx6[i] = sv[1];
	}
	return 0;
}

/* passes6() - send a packet into an IPv6 socket's pair: did the filter let
 * it through, whole? An IPv6 raw socket's packet starts at the transport
 * header (RFC 3542 3): so does the datagram
 */
static bool passes6(const struct rig *g, int proto, const uint8_t *p,
		    size_t len)
{
	uint8_t buf[256];
	ssize_t n;

	assert_true(len <= sizeof(buf));
	assert_int_equal(send(g->tx6[proto], p, len, MSG_DONTWAIT),
			 (ssize_t)len);
	n = recv(g->r.fd6[proto], buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return false;
	}
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, p, len);
	return true;
}

/* l4_pkt6() - what an IPv6 raw socket gets of a TCP or UDP packet: its
 * @l4len transport bytes, with these ports
 */
static size_t l4_pkt6(uint8_t *p, uint16_t sport, uint16_t dport,
		      size_t l4len)
{
	fill_rand(p, l4len);
	put16(p, sport);
	put16(p + 2, dport);
	return l4len;
}

/* echo_pkt6() - an ICMPv6 message of @type, identifier @id */
static size_t echo_pkt6(uint8_t *p, uint8_t type, uint16_t id)
{
	icmp_build(p, type, 0, id, (uint16_t)rng());
	fill_rand(p + 8, 8);
	return 16;
}

/* error_pkt6() - an ICMPv6 error of @type, quoting a packet of @qproto
 * sent from @sport to @dport (an echo request from @sport): its fixed
 * header, 40 bytes, then 8 bytes of its transport header (RFC 4443 2.4)
 */
static size_t error_pkt6(uint8_t *p, uint8_t type, uint8_t code,
			 uint8_t qproto, uint16_t sport, uint16_t dport)
{
	struct in6_addr s = addr6("2001:db8:2::2"), d = addr6("2001:db8::7");
	uint8_t *q = p + R6_ICMP_HLEN, *ql4 = q + R6_HLEN;

	icmp_build(p, type, code, 0, 0);
	ip6_build(q, 0, 0, 64, qproto, 1, &s, &d);
	fill_rand(ql4, 8);
	if (qproto == IPPROTO_ICMPV6) {
		icmp_build(ql4, R6_ECHO_REQUEST, 0, sport, (uint16_t)rng());
	} else {
		put16(ql4, sport);
		put16(ql4 + 2, dport);
	}
	return R6_ICMP_HLEN + R6_HLEN + 8;
}

/* check_all6() - attach filters for the ranges, then send every kind of
 * IPv6 packet the filters decide on, @rounds times, and compare with the
 * model: TCP and UDP by destination port, echo replies by identifier,
 * errors 1 to 4 by what they quote; and IPv4 as check_all() does
 */
static void check_all6(const struct rig *g, const struct port_range *r,
		       int n, int rounds)
{
	static const uint8_t quoted[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMPV6 };
	uint8_t p[256];
	int i;

	check_all(g, r, n, rounds / 4);
	for (i = 0; i < rounds; i++) {
		uint16_t a = rnd_port(r, n), b = rnd_port(r, n);
		uint8_t qp = quoted[rng() % 3];
		uint8_t type = (uint8_t)(R6_UNREACH + rng() % 4);
		size_t len;

		len = l4_pkt6(p, b, a, 20 + rng() % 40);
		assert_int_equal(passes6(g, RAW_TCP, p, len),
				 in_ranges(r, n, a));
		len = l4_pkt6(p, b, a, 8 + rng() % 40);
		assert_int_equal(passes6(g, RAW_UDP, p, len),
				 in_ranges(r, n, a));

		len = echo_pkt6(p, R6_ECHO_REPLY, a);
		assert_int_equal(passes6(g, RAW_ICMP, p, len),
				 in_ranges(r, n, a));
		len = echo_pkt6(p, R6_ECHO_REQUEST, a);
		assert_false(passes6(g, RAW_ICMP, p, len));

		len = error_pkt6(p, type, (uint8_t)(rng() % 8), qp, a, b);
		assert_int_equal(passes6(g, RAW_ICMP, p, len),
				 in_ranges(r, n, a));
	}
}

/* IPv6 TCP and UDP: the destination port at offset 2 of the transport
 * header decides, the source port doesn't; one range, its edges, then
 * random sets of ranges, up to the most
 */
static void test_l4_6(void **state)
{
	const struct rig *g = *state;
	const struct port_range one = { 61000, 61255 };
	static const uint16_t in[] = { 61000, 61001, 61128, 61254, 61255 };
	static const uint16_t out[] = { 0, 1, 60999, 61256, 65535, 53 };
	struct port_range r[PORT_RANGES_MAX];
	uint8_t p[256];
	size_t i, len;
	int round;

	rng_seed(3542);
	assert_int_equal(raw_filter(&g->r, &one, 1), 0);
	for (i = 0; i < ARRAY_SIZE(in); i++) {
		len = l4_pkt6(p, 40000, in[i], 20);
		assert_true(passes6(g, RAW_TCP, p, len));
		len = l4_pkt6(p, 40000, in[i], 8);
		assert_true(passes6(g, RAW_UDP, p, len));
	}
	for (i = 0; i < ARRAY_SIZE(out); i++) {
		len = l4_pkt6(p, 61000, out[i], 20);
		assert_false(passes6(g, RAW_TCP, p, len));
		len = l4_pkt6(p, 61100, out[i], 8);
		assert_false(passes6(g, RAW_UDP, p, len));
	}

	for (round = 0; round < 30; round++) {
		int n = round < 3 ? PORT_RANGES_MAX :
			1 + (int)(rng() % PORT_RANGES_MAX), k;
		uint32_t lo = rng() % 2000;

		for (k = 0; k < n; k++) {
			uint32_t w = rng() % 4 ? 256 * (1 + rng() % 3) :
				     1 + rng() % 3;

			if (lo + w > 65536)
				break;
			r[k].lo = (uint16_t)lo;
			r[k].hi = (uint16_t)(lo + w - 1);
			lo += w + 1 + rng() % 1500;
		}
		check_all6(g, r, k, 150);
	}
}

/* ICMPv6: echo replies by identifier, requests never; errors of types 1
 * to 4 by the source port or identifier they quote, past a 40-byte quoted
 * header, whatever the code; other types never, even carrying our ports,
 * nor errors quoting another next header
 */
static void test_icmp6(void **state)
{
	const struct rig *g = *state;
	const struct port_range r[] = { { 61000, 61255 }, { 61512, 61767 } };
	static const uint8_t quoted[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMPV6 };
	static const uint8_t others[] = { 0, 44, 47, 60, 132, 255 };
	unsigned int type;
	uint8_t p[256];
	size_t len, k;

	rng_seed(4443);
	assert_int_equal(raw_filter(&g->r, r, ARRAY_SIZE(r)), 0);
	len = echo_pkt6(p, R6_ECHO_REPLY, 61000);
	assert_true(passes6(g, RAW_ICMP, p, len));
	len = echo_pkt6(p, R6_ECHO_REPLY, 61256);
	assert_false(passes6(g, RAW_ICMP, p, len));
	len = echo_pkt6(p, R6_ECHO_REQUEST, 61000);
	assert_false(passes6(g, RAW_ICMP, p, len));

	for (type = 0; type <= 255; type++) {
		bool err = type >= R6_UNREACH && type <= R6_PARAM_PROB;

		for (k = 0; k < ARRAY_SIZE(quoted); k++) {
			len = error_pkt6(p, (uint8_t)type, 0, quoted[k], 61767,
					 80);
			assert_int_equal(passes6(g, RAW_ICMP, p, len), err);
			len = error_pkt6(p, (uint8_t)type, 0, quoted[k], 61768,
					 61000);
			assert_false(passes6(g, RAW_ICMP, p, len));
		}
		if (err || type == R6_ECHO_REPLY)
			continue;
		len = echo_pkt6(p, (uint8_t)type, 61001);
		assert_false(passes6(g, RAW_ICMP, p, len));
	}
	for (k = 0; k < ARRAY_SIZE(others); k++) {
		len = error_pkt6(p, R6_UNREACH, 4, others[k], 61001, 61001);
		assert_false(passes6(g, RAW_ICMP, p, len));
	}
}

/* IPv6 packets too short to hold what the filter reads are dropped, not
 * read past; exactly long enough is enough
 */
static void test_short6(void **state)
{
	const struct rig *g = *state;
	const struct port_range r = { 61000, 61255 };
	uint8_t p[256];
	size_t len, cut;

	rng_seed(8);
	assert_int_equal(raw_filter(&g->r, &r, 1), 0);
	len = l4_pkt6(p, 1, 61000, 20);
	for (cut = 1; cut <= len; cut++)
		assert_int_equal(passes6(g, RAW_TCP, p, cut), cut >= 4);
	len = echo_pkt6(p, R6_ECHO_REPLY, 61000);
	for (cut = 1; cut <= len; cut++)
		assert_int_equal(passes6(g, RAW_ICMP, p, cut), cut >= 6);
	len = error_pkt6(p, R6_TIME_EXCEEDED, 0, IPPROTO_ICMPV6, 61000, 0);
	for (cut = 1; cut <= len; cut++)
		assert_int_equal(passes6(g, RAW_ICMP, p, cut),
				 cut >= R6_ICMP_HLEN + R6_HLEN + 6);
	len = error_pkt6(p, R6_TIME_EXCEEDED, 0, IPPROTO_UDP, 61000, 0);
	for (cut = 1; cut <= len; cut++)
		assert_int_equal(passes6(g, RAW_ICMP, p, cut),
				 cut >= R6_ICMP_HLEN + R6_HLEN + 2);
}

/* A batch of IPv4 and IPv6 packets goes out in runs, each family on its
 * own socket, in order: every refused packet is reported once, with the
 * errno of its family's socket (here IPv4's can't send to an IPv4
 * address, and there is no IPv6 one)
 */
static void test_send_batch_families(void **state)
{
	static const bool v6[] = { false, true, true, false, true, false,
				   false, true };
	struct loop *l = *state;
	struct raw *r = &l->c.fwd.raw;
	static uint8_t payload[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v6); i++) {
		struct raw_out *o = raw_out_slot(r);

		memset(o->hdr, (int)i, R6_HLEN);
		o->iov[0].iov_base = o->hdr;
		o->iov[0].iov_len = v6[i] ? R6_HLEN : 20;
		o->iov[1].iov_base = payload;
		o->iov[1].iov_len = sizeof(payload);
		o->v6 = v6[i];
		o->dst.sin_family = AF_INET;
		o->dst.sin_addr.s_addr = htonl(0xc0000250);
		memset(&o->dst6, 0, sizeof(o->dst6));
		o->dst6.sin6_family = AF_INET6;
		o->dst6.sin6_addr = addr6("2001:db8::50");
		raw_out_commit(&l->c, note_err);
	}
	assert_int_equal(l->errs, 0);
	raw_flush(&l->c, note_err);
	assert_int_equal(l->errs, ARRAY_SIZE(v6));
	for (i = 0; i < ARRAY_SIZE(v6); i++) {
		assert_true(l->failed[i] == &r->out[i]);
		if (v6[i])
			assert_int_equal(l->err[i], EBADF);
		else
			assert_true(l->err[i] > 0 && l->err[i] != EBADF);
	}
	assert_int_equal(r->nout, 0);
}

/* got6() - raw_handler() callback: keep a copy of the packet */
static void got6(struct ctx *c, struct pkt p, unsigned int ifi)
{
	(void)ifi;
	struct loop *l = loop_of(c);

	assert_true(l->got < ARRAY_SIZE(l->len) && p.len <= sizeof(l->pkt));
	memcpy(l->pkt, p.p, p.len);
	l->len[l->got++] = p.len;
}

/* send6_lo() - an IPv6 packet from ::1 to ::1 with traffic class @tclass,
 * flow label @flow and hop limit @hops, @l4 after its fixed header, out of
 * merd's IPv6 send socket: at once (raw_send6()) or through the batch
 *
 * Return: the packet, in @p
 */
static size_t send6_lo(struct ctx *c, uint8_t *p, uint8_t proto,
		       uint8_t tclass, uint32_t flow, uint8_t hops,
		       uint8_t *l4, size_t l4len, bool batch)
{
	struct in6_addr lo = in6addr_loopback;
	struct iovec iov = { p, R6_HLEN + l4len };
	struct raw_out *o;

	ip6_build(p, tclass, flow, l4len, proto, hops, &lo, &lo);
	l6_csum_set(&lo, &lo, proto, l4, l4len);
	memcpy(p + R6_HLEN, l4, l4len);
	if (!batch) {
		assert_int_equal(raw_send6(&c->fwd.raw, &iov, 1, &lo), 0);
		return iov.iov_len;
	}
	o = raw_out_slot(&c->fwd.raw);
	memcpy(o->hdr, p, R6_HLEN);
	o->iov[0].iov_base = o->hdr;
	o->iov[0].iov_len = R6_HLEN;
	o->iov[1].iov_base = p + R6_HLEN;
	o->iov[1].iov_len = l4len;
	o->v6 = true;
	memset(&o->dst6, 0, sizeof(o->dst6));
	o->dst6.sin6_family = AF_INET6;
	o->dst6.sin6_addr = lo;
	raw_out_commit(c, note_err);
	raw_flush(c, note_err);
	return iov.iov_len;
}

/* recv6_one() - raw_handler() on IPv6 socket @proto, once it is readable
 * (or after a second): the packets it passed on
 */
static size_t recv6_one(struct loop *l, int proto)
{
	struct pollfd pfd = { .fd = l->c.fwd.raw.fd6[proto],
			      .events = POLLIN };

	l->got = 0;
	poll(&pfd, 1, 1000);
	raw_handler(&l->c, (unsigned int)(RAW_PROTOS + proto), got6);
	return l->got;
}

/* raw6_header() through real IPv6 raw sockets, in a network namespace of
 * our own: packets merd's send socket loops back over ::1 (their header
 * as written, traffic class and flow label included) come out of the
 * receive sockets with the fixed header raw6_header() puts back from the
 * ancillary data, the same; the kernel runs the IPv6 filters on the
 * transport header: what isn't for our ports never arrives. (An echo
 * request would draw the host's own reply: the socketpairs above test
 * that requests never pass)
 */
static void test_raw6_header(void **state)
{
	const struct port_range pr = { 61000, 61255 };
	struct loop *l = *state;
	struct ctx *c = &l->c;
	uint8_t p[256], l4[128];
	struct raw saved = c->fwd.raw;
	size_t len;
	int batch;

	if (unit_netns("test_raw"))
		fail_msg("raw6_header() needs a network namespace (root)");
	rng_seed(3542);
	assert_int_equal(raw_init(&c->fwd.raw, true), 0);
	assert_int_equal(raw_filter(&c->fwd.raw, &pr, 1), 0);

	for (batch = 0; batch <= 1; batch++) {
		/* UDP to one of our ports: the header comes back */
		udp_build(l4, 40000, 61000, 100);
		fill_rand(l4 + 8, 92);
		len = send6_lo(c, p, IPPROTO_UDP, 0xb8, 0x12345, 42, l4, 100,
			       batch);
		assert_int_equal(recv6_one(l, RAW_UDP), 1);
		assert_int_equal(l->len[0], len);
		assert_memory_equal(l->pkt, p, len);
		assert_int_equal(r6_tclass(l->pkt), 0xb8);
		assert_int_equal(r6_flow(l->pkt), 0x12345);

		/* TCP to one of our ports, another class and label */
		tcp_build(l4, 20, 40000, 61255, 1, 2, R_ACK);
		fill_rand(l4 + 20, 30);
		len = send6_lo(c, p, IPPROTO_TCP, 0x02, 0xfffff, 1, l4, 50,
			       batch);
		assert_int_equal(recv6_one(l, RAW_TCP), 1);
		assert_int_equal(l->len[0], len);
		assert_memory_equal(l->pkt, p, len);

		/* An echo reply to one of our identifiers */
		icmp_build(l4, R6_ECHO_REPLY, 0, 61001, 7);
		fill_rand(l4 + 8, 24);
		len = send6_lo(c, p, IPPROTO_ICMPV6, 0, 0, 255, l4, 32,
			       batch);
		assert_int_equal(recv6_one(l, RAW_ICMP), 1);
		assert_int_equal(l->len[0], len);
		assert_memory_equal(l->pkt, p, len);

		/* Not for our ports: filtered out (and so is the error the
		 * host's stack answers with, quoting a port not ours)
		 */
		udp_build(l4, 50000, 60999, 20);
		send6_lo(c, p, IPPROTO_UDP, 0, 0, 64, l4, 20, batch);
		assert_int_equal(recv6_one(l, RAW_UDP), 0);
		assert_int_equal(recv6_one(l, RAW_ICMP), 0);
	}
	assert_int_equal(l->errs, 0);
	raw_close(&c->fwd.raw);
	c->fwd.raw = saved;
}

/* A tap device whose neighbours never answer: 10.9.0.1/24 on it */
#define FULL_IF		"merdfull0"
#define FULL_HOST	0x0a090001	/* 10.9.0.1 */
#define FULL_PEER	0x0a090007	/* 10.9.0.7, never resolved */
#define FULL_MASK	0xffffff00
/* The smallest send buffer the kernel allows: it doubles what is asked */
#define FULL_SNDBUF	1
/* A send that waited for the neighbour would take its three probes of a
 * second each (the kernel's mcast_solicit, retrans_time): far above this
 */
#define FULL_WAIT_MAX_NS	200000000ULL

/* full_ioctl_addr() - set an IPv4 address of an interface by ioctl() */
static void full_ioctl_addr(int fd, unsigned long req, uint32_t a)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr = { htonl(a) } };

	strcpy(ifr.ifr_name, FULL_IF);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	if (ioctl(fd, req, &ifr))
		fail_msg("ioctl %lx on %s: %s", req, FULL_IF, strerror(errno));
}

/* full_tap() - the tap device, up, with its address: the descriptor that
 * keeps it (nobody reads it, nobody answers ARP)
 */
static int full_tap(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC), fd;

	if (tap < 0)
		fail_msg("/dev/net/tun: %s", strerror(errno));
	strcpy(ifr.ifr_name, FULL_IF);
	assert_int_equal(ioctl(tap, TUNSETIFF, &ifr), 0);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	full_ioctl_addr(fd, SIOCSIFADDR, FULL_HOST);
	full_ioctl_addr(fd, SIOCSIFNETMASK, FULL_MASK);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, FULL_IF);
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
	return tap;
}

/* full_pkt() - a 1000-byte UDP datagram to the peer no one resolves, in a
 * send slot
 */
static void full_pkt(struct raw *r, const uint8_t *payload, size_t len)
{
	struct raw_out *o = raw_out_slot(r);

	memset(o, 0, sizeof(*o));
	ip_build(o->hdr, 20, 20 + 8 + len, IPPROTO_UDP, FULL_HOST, FULL_PEER,
		 1, 0, 64);
	udp_build(o->hdr + 20, 40000, 9, len);
	o->iov[0].iov_base = o->hdr;
	o->iov[0].iov_len = 20 + 8;
	o->iov[1].iov_base = iov_const(payload);
	o->iov[1].iov_len = len;
	o->dst.sin_family = AF_INET;
	o->dst.sin_addr.s_addr = htonl(FULL_PEER);
	r->nout++;
}

/* ns_now() - CLOCK_MONOTONIC, nanoseconds */
static uint64_t ns_now(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A full send buffer never holds the loop: packets to a neighbour that
 * doesn't answer ARP stay charged to the raw socket while the kernel
 * resolves it, so after a few the socket is full. The batch's flush then
 * returns at once, every packet it couldn't send counted as
 * host-queue-full (none as send-failed), and a single send says EAGAIN
 * at once too. A blocking socket waited here for the neighbour to fail,
 * seconds.
 */
static void test_send_full(void **state)
{
	static uint8_t payload[1000];
	struct loop *l = *state;
	struct ctx *c = &l->c;
	struct raw saved = c->fwd.raw;
	struct iovec iov[2];
	int v = FULL_SNDBUF, tap, i, ret;
	uint64_t t0, spent;

	if (unit_netns("test_raw"))
		fail_msg("a full send buffer needs a network namespace (root)");
	tap = full_tap();
	assert_int_equal(raw_init(&c->fwd.raw, false), 0);
	assert_int_equal(setsockopt(c->fwd.raw.fd_send, SOL_SOCKET,
				    SO_SNDBUF, &v, sizeof(v)), 0);
	memset(c->drops, 0, sizeof(c->drops));

	for (i = 0; i < RAW_BATCH; i++)
		full_pkt(&c->fwd.raw, payload, sizeof(payload));
	t0 = ns_now();
	fwd_flush(c);
	spent = ns_now() - t0;
	print_message("flush of %d: %llu ns, %llu host-queue-full\n",
		      RAW_BATCH, (unsigned long long)spent,
		      (unsigned long long)c->drops[DROP_HOST_FULL]);
	assert_int_equal(c->fwd.raw.nout, 0);
	assert_true(spent < FULL_WAIT_MAX_NS);
	assert_true(c->drops[DROP_HOST_FULL] >= RAW_BATCH / 2);
	assert_int_equal(c->drops[DROP_SEND], 0);

	/* One packet at once, outside the batch: refused at once too */
	full_pkt(&c->fwd.raw, payload, sizeof(payload));
	c->fwd.raw.nout = 0;
	memcpy(iov, c->fwd.raw.out[0].iov, sizeof(iov));
	t0 = ns_now();
	ret = raw_send(&c->fwd.raw, iov, 2, htonl(FULL_PEER));
	assert_true(ns_now() - t0 < FULL_WAIT_MAX_NS);
	assert_int_equal(ret, -EAGAIN);
	assert_true(raw_full(-ret));
	assert_int_equal(raw_drop_why(ret), DROP_HOST_FULL);
	assert_int_equal(raw_drop_why(-EPERM), DROP_SEND);

	raw_close(&c->fwd.raw);
	close(tap);
	c->fwd.raw = saved;
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, rig_setup, rig_teardown)
#define T6(name) cmocka_unit_test_setup_teardown(name, rig6_setup, \
						 rig_teardown)
#define L(name) cmocka_unit_test_setup_teardown(name, loop_setup, \
						loop_teardown)
	const struct CMUnitTest tests[] = {
		T(test_l4_one_range),
		T(test_l4_edges),
		T(test_random_ranges),
		T(test_max_ranges),
		T(test_zero_ranges),
		T(test_icmp),
		T(test_icmp_other),
		T(test_short),
		T(test_swap),
		cmocka_unit_test(test_port_ranges),
		cmocka_unit_test(test_port_ranges_closest),
		cmocka_unit_test(test_port_ranges_one),
		cmocka_unit_test_setup_teardown(test_handler, loop_setup,
						loop_teardown),
		cmocka_unit_test_setup_teardown(test_send_batch, loop_setup,
						loop_teardown),
		T6(test_l4_6),
		T6(test_icmp6),
		T6(test_short6),
		L(test_send_batch_families),
		/* The last: they move the program to a namespace of its own */
		L(test_raw6_header),
		L(test_send_full),
	};
#undef L
#undef T6
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
