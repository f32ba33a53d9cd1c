// SPDX-License-Identifier: GPL-2.0-or-later
/* test_alloc.c - unit tests for fwd.c's flows and host ports: the tuple
 *		  rule, finished flows giving way, a full table, late
 *		  segments of recycled ports, expiry, the gateway, failed
 *		  sends
 *
 * Copyright (c) 2026 merd authors
 *
 * Everything here goes through the data path as the guest and the network
 * drive it: packets built byte by byte (ref.h) handed to fwd_from_guest()
 * and fwd_from_host(), with merd's own port picks. The context (env.h) is
 * set up by fwd_init() and fwd_ports_init(), with real raw sockets and a
 * real block of host ports, so the program moves to a network namespace of
 * its own first (unshare(CLONE_NEWNET), as root) and refuses to run
 * otherwise. merd's send socket is closed, but in the test of failed
 * sends (the last: it brings loopback up): what merd would send stays in
 * its send batch, where the test reads it (the source port is the host
 * port merd picked), and the rest fails harmlessly (EBADF, which merd
 * only traces). What the guest gets is read out of the transmit ring
 * (env.h).
 *
 * Ports are one block, the most merd may claim, of PROBE ports (fwd.c's
 * FWD_PROBE_FREE), so that a pick, which starts at a random place (RFC
 * 6056's algorithm 1), tries every port of it: once no port is free toward
 * a peer, the oldest finished flow toward it gives way, wherever the pick
 * started.
 */

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <net/if.h>
#include <netinet/ip_icmp.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include "conntrack.h"
#include "fwd.h"
#include "icmp.h"
#include "port.h"
#include "env.h"
#include "netns.h"

#define PEER		0xc0000250	/* 192.0.2.80 */
#define PEER2		0xc6336407	/* 198.51.100.7 */
#define LO		45000
#define PROBE		32		/* fwd.c's FWD_PROBE_FREE */
#define NPORTS		PROBE

/* setup() - an environment as merd's start-up makes it: @flows flows, the
 * block of ports LO to LO + NPORTS - 1 claimed, and no more to claim
 */
static struct env *setup(uint32_t flows)
{
	struct env *e = env_new();
	struct ctx *c = &e->c;

	c->opts.flows_max = flows;
	c->opts.ports_lo = LO;
	c->opts.ports_hi = LO + NPORTS - 1;
	c->now = 1000;
	assert_int_equal(fwd_init(c, 1), 0);
	assert_int_equal(fwd_ports_init(c), 0);
	assert_int_equal(c->fwd.ports.nclaimed, 1);
	assert_false(port_claimable(&c->fwd.ports, c->now));
	close(c->fwd.raw.fd_send);
	c->fwd.raw.fd_send = -1;
	return e;
}

/* port_free_now() - can a program bind @port, TCP and UDP? */
static bool port_free_now(uint16_t port)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	bool ok = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		int fd = socket(AF_INET, types[i], 0);

		assert_true(fd >= 0);
		ok &= !bind(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
	}
	return ok;
}

/* teardown() - release what fwd_init() and env_new() set up: every port
 * free again
 */
static int teardown(void **state)
{
	struct env *e = *state;
	uint32_t port;

	fwd_cleanup(&e->c);
	env_free(e);
	for (port = LO; port < LO + NPORTS; port += 15)
		assert_true(port_free_now((uint16_t)port));
	return 0;
}

/* setup_big() - cmocka fixture: a table of 4096 flows */
static int setup_big(void **state)
{
	*state = setup(4096);
	return 0;
}

/* setup_small() - cmocka fixture: a table of 10 flows */
static int setup_small(void **state)
{
	*state = setup(10);
	return 0;
}

/**
 * struct conn - a TCP connection of the guest's, as both ends number it
 * @gport:	the guest's port
 * @peer:	the peer's address, host order
 * @pport:	its port
 * @hport:	the host port merd picked for it
 * @gseq:	the guest's next sequence number
 * @pseq:	the peer's next sequence number
 */
struct conn {
	uint16_t gport;
	uint32_t peer;
	uint16_t pport;
	uint16_t hport;
	uint32_t gseq;
	uint32_t pseq;
};

/* tcp_pkt() - a TCP segment, no options, @payload random bytes, checksums
 * right, in an exact-size buffer
 */
static uint8_t *tcp_pkt(uint32_t saddr, uint32_t daddr, uint16_t sport,
			uint16_t dport, uint32_t seq, uint32_t ack,
			uint8_t flags, size_t payload, size_t *len)
{
	uint8_t *ip;

	*len = 40 + payload;
	ip = malloc(*len);
	assert_non_null(ip);
	ip_build(ip, 20, *len, IPPROTO_TCP, saddr, daddr, (uint16_t)rng(),
		 R_DF, 64);
	tcp_build(ip + 20, 20, sport, dport, seq, ack, flags);
	fill_rand(ip + 40, payload);
	l4_csum_set(saddr, daddr, IPPROTO_TCP, ip + 20, *len - 20);
	return ip;
}

/* sent() - what merd queued to send for the packet just handed to it: its
 * source port, the batch emptied; 0 if nothing
 */
static uint16_t sent(struct env *e)
{
	struct raw *r = &e->c.fwd.raw;
	uint16_t port;

	if (!r->nout)
		return 0;
	assert_int_equal(r->nout, 1);
	port = get16(r->out[0].hdr + 20);
	r->nout = 0;
	return port;
}

/* guest_in() - hand fwd_from_guest() a packet, parsed as merd.c does
 *
 * Return: the host port it went out from (from the host's address), 0 if
 *	   it didn't
 */
static uint16_t guest_in(struct env *e, uint8_t *p, size_t len)
{
	struct ip_view ip;

	parse_ok(p, len, &ip, NULL);
	fwd_from_guest(&e->c, &ip);
	free(p);
	if (e->c.fwd.raw.nout)
		assert_int_equal(get32(e->c.fwd.raw.out[0].hdr + R_IP_SRC),
				 HOST);
	return sent(e);
}

/* host_in() - hand fwd_from_host() a packet, as raw.c does
 *
 * Return: the length of what reached the guest for it, 0 if nothing did
 */
static size_t host_in(struct env *e, uint8_t *p, size_t len)
{
	static uint8_t ip[70000];
	struct pkt v = { p, len };
	size_t n;

	fwd_from_host(&e->c, v, 0);
	free(p);
	n = ring_next(e, ip, sizeof(ip));
	assert_int_equal(e->c.tap.tx.used, 0);
	return n;
}

/* g_seg() - a segment of @k from the guest, numbered as it goes on
 *
 * Return: the host port it went out from, 0 if it didn't
 */
static uint16_t g_seg(struct env *e, struct conn *k, uint8_t flags,
		      size_t payload)
{
	size_t len;
	uint8_t *p = tcp_pkt(GUEST, k->peer, k->gport, k->pport, k->gseq,
			     k->pseq, flags, payload, &len);

	k->gseq += (uint32_t)payload + !!(flags & R_SYN) + !!(flags & R_FIN);
	return guest_in(e, p, len);
}

/* p_seg() - a segment of @k from the peer, to its host port
 *
 * Return: bytes that reached the guest for it, 0 if none
 */
static size_t p_seg(struct env *e, struct conn *k, uint8_t flags,
		    size_t payload)
{
	size_t len;
	uint8_t *p = tcp_pkt(k->peer, HOST, k->pport, k->hport, k->pseq,
			     k->gseq, flags, payload, &len);

	k->pseq += (uint32_t)payload + !!(flags & R_SYN) + !!(flags & R_FIN);
	return host_in(e, p, len);
}

/* conn_open() - the guest's SYN for a new connection
 *
 * Return: the host port merd picked, 0 if it refused
 */
static uint16_t conn_open(struct env *e, struct conn *k, uint16_t gport,
			  uint32_t peer, uint16_t pport)
{
	k->gport = gport;
	k->peer = peer;
	k->pport = pport;
	k->gseq = rng();
	k->pseq = rng();
	k->hport = g_seg(e, k, R_SYN, 0);
	return k->hport;
}

/* conn_up() - the peer's SYN-ACK and the guest's ACK, both through */
static void conn_up(struct env *e, struct conn *k)
{
	assert_int_equal(p_seg(e, k, R_SYN | R_ACK, 0), 40);
	assert_int_equal(g_seg(e, k, R_ACK, 0), k->hport);
}

/* flow_of() - the flow of a connection, by its key from the guest */
static struct flow *flow_of(struct env *e, uint8_t proto, uint16_t gport,
			    uint32_t peer, uint16_t pport)
{
	struct flowside key = { .eport = gport, .oport = pport };
	uint32_t idx;

	inany_from_v4(&key.eaddr, htonl(GUEST));
	inany_from_v4(&key.oaddr, htonl(peer));
	idx = ct_lookup(&e->c.fwd.ct, proto, PIF_TAP, &key, NULL);
	return idx == FLOW_NONE ? NULL : &e->c.fwd.ct.flows[idx];
}

/* close_guest_first() - the guest's FIN, the peer's, the guest's ACK */
static void close_guest_first(struct env *e, struct conn *k)
{
	assert_int_equal(g_seg(e, k, R_FIN | R_ACK, 0), k->hport);
	assert_int_equal(p_seg(e, k, R_FIN | R_ACK, 0), 40);
	assert_int_equal(g_seg(e, k, R_ACK, 0), k->hport);
	assert_int_equal(flow_of(e, IPPROTO_TCP, k->gport, k->peer,
				 k->pport)->state, CT_TCP_TIME_WAIT);
}

/* close_peer_first() - the peer's FIN, the guest's, the peer's ACK */
static void close_peer_first(struct env *e, struct conn *k)
{
	assert_int_equal(p_seg(e, k, R_FIN | R_ACK, 0), 40);
	assert_int_equal(g_seg(e, k, R_FIN | R_ACK, 0), k->hport);
	assert_int_equal(p_seg(e, k, R_ACK, 0), 40);
	assert_int_equal(flow_of(e, IPPROTO_TCP, k->gport, k->peer,
				 k->pport)->state, CT_TCP_TIME_WAIT);
}

/* refused_rst() - the guest got a reset for its SYN @k, and nothing else */
static void refused_rst(struct env *e, const struct conn *k)
{
	uint8_t ip[100];

	assert_int_equal(ring_next(e, ip, sizeof(ip)), 40);
	assert_int_equal(ip[20 + R_TCP_FLAGS], R_RST | R_ACK);
	assert_int_equal(get16(ip + 20), k->pport);
	assert_int_equal(get16(ip + 22), k->gport);
	assert_int_equal(get32(ip + 20 + R_TCP_ACK), k->gseq);
	assert_int_equal(get32(ip + R_IP_SRC), k->peer);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* open_all() - @n connections from guest ports @gport0 on, to one peer:
 * each taken, from a host port of the block, no two the same
 */
static void open_all(struct env *e, struct conn *k, size_t n,
		     uint16_t gport0, uint32_t peer, uint16_t pport)
{
	static bool seen[65536];
	size_t i;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		uint16_t h = conn_open(e, &k[i], (uint16_t)(gport0 + i), peer,
				       pport);

		assert_true(h >= LO && h < LO + NPORTS);
		assert_false(seen[h]);
		seen[h] = true;
		assert_int_equal(e->c.tap.tx.used, 0);
	}
}

/* udp_pkt() - a UDP datagram from the guest's @gport to @peer:@pport, or
 * its answer to host port @hport if @answer
 */
static uint8_t *udp_pkt(uint16_t gport, uint32_t peer, uint16_t pport,
			uint16_t hport, bool answer, size_t *len)
{
	struct flowpkt fp = {
		.proto = IPPROTO_UDP, .saddr = GUEST, .daddr = peer,
		.sport = gport, .dport = pport, .ttl = 64, .payload = 12,
	};

	if (answer) {
		fp.saddr = peer;
		fp.daddr = HOST;
		fp.sport = pport;
		fp.dport = hport;
	}
	return pkt_build(&fp, len);
}

/* admin_prohibited() - the guest got ICMP "administratively prohibited"
 * from the gateway about its datagram from @gport, and nothing else
 */
static void admin_prohibited(struct env *e, uint16_t gport)
{
	uint8_t ip[600];
	size_t n = ring_next(e, ip, sizeof(ip));

	assert_true(n >= 28 + 28);
	assert_int_equal(ip[R_IP_PROTO], IPPROTO_ICMP);
	assert_int_equal(get32(ip + R_IP_SRC), GW);
	assert_int_equal(ip[20], ICMP_DEST_UNREACH);
	assert_int_equal(ip[21], ICMP_CODE_ADMIN_PROHIBITED);
	assert_int_equal(get16(ip + 28 + 20), gport);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* udp_out() - a datagram from the guest at second @now
 *
 * Return: the host port it went out from, 0 if it didn't
 */
static uint16_t udp_out(struct env *e, uint16_t gport, uint32_t peer,
			uint16_t pport, uint32_t now)
{
	size_t len;
	uint8_t *p = udp_pkt(gport, peer, pport, 0, false, &len);

	e->c.now = now;
	return guest_in(e, p, len);
}

/* udp_back() - the answer to a datagram, at second @now: delivered */
static void udp_back(struct env *e, uint32_t peer, uint16_t pport,
		     uint16_t hport, uint32_t now)
{
	size_t len;
	uint8_t *p = udp_pkt(0, peer, pport, hport, true, &len);

	e->c.now = now;
	assert_int_equal(host_in(e, p, len), len);
}

/* Flows to one peer get distinct host ports, every one of the block, and
 * then no more: the next is refused with a reset, a live flow never giving
 * way; flows to other peers (another address, another port) reuse every
 * one of those ports; another protocol has its own
 */
static void test_tuple_rule(void **state)
{
	static struct conn a[NPORTS + 1], b[NPORTS], p80[NPORTS];
	struct env *e = *state;
	size_t i;

	rng_seed(6056);
	open_all(e, a, NPORTS, 10000, PEER, 443);
	assert_int_equal(e->c.fwd.ct.count, NPORTS);
	assert_int_equal(conn_open(e, &a[NPORTS], 20000, PEER, 443), 0);
	refused_rst(e, &a[NPORTS]);
	assert_int_equal(e->c.fwd.ct.count, NPORTS);
	assert_true(udp_out(e, 20000, PEER, 443, 1000));	/* its own */

	open_all(e, b, NPORTS, 30000, PEER2, 443);
	open_all(e, p80, NPORTS, 40000, PEER, 80);
	assert_int_equal(e->c.fwd.ct.count, 3 * NPORTS + 1);
	for (i = 0; i < NPORTS; i++) {
		bool in_b = false, in_80 = false;
		size_t j;

		for (j = 0; j < NPORTS; j++) {
			in_b |= b[j].hport == a[i].hport;
			in_80 |= p80[j].hport == a[i].hport;
		}
		assert_true(in_b && in_80);
	}

	/* Each flow still answered on its own port, by its own peer */
	for (i = 0; i < NPORTS; i += 7) {
		conn_up(e, &a[i]);
		conn_up(e, &b[i]);
		assert_int_equal(p_seg(e, &p80[i], R_SYN | R_ACK, 0), 40);
	}
}

/* With every port taken toward the peer, finished flows give way: a
 * TIME_WAIT the guest closed first before one the peer closed first
 * (though that one is older), then none; the flows that gave way are gone,
 * the new ones take their ports
 */
static void test_give_way_tcp(void **state)
{
	static struct conn k[NPORTS];
	struct env *e = *state;
	struct conn n1, n2, n3;
	const int x = 19, y = 4;	/* the 20th and the 5th flow */

	rng_seed(9293);
	assert_true(x < PROBE && y < PROBE);
	open_all(e, k, NPORTS, 10000, PEER, 443);
	conn_up(e, &k[y]);
	close_peer_first(e, &k[y]);
	e->c.now++;
	conn_up(e, &k[x]);
	close_guest_first(e, &k[x]);
	assert_true((int32_t)(flow_of(e, IPPROTO_TCP, k[y].gport, PEER,
				      443)->expires -
			      flow_of(e, IPPROTO_TCP, k[x].gport, PEER,
				      443)->expires) < 0);

	/* The next pick tries every port (NPORTS is PROBE): the 20th, which
	 * finished first, gives way before the 5th
	 */
	assert_int_equal(conn_open(e, &n1, 20001, PEER, 443), k[x].hport);
	assert_null(flow_of(e, IPPROTO_TCP, k[x].gport, PEER, 443));
	assert_non_null(flow_of(e, IPPROTO_TCP, k[y].gport, PEER, 443));
	assert_int_equal(e->c.tap.tx.used, 0);

	assert_int_equal(conn_open(e, &n2, 20002, PEER, 443), k[y].hport);
	assert_null(flow_of(e, IPPROTO_TCP, k[y].gport, PEER, 443));

	assert_int_equal(conn_open(e, &n3, 20003, PEER, 443), 0);
	refused_rst(e, &n3);
	assert_int_equal(e->c.fwd.ct.count, NPORTS);

	/* The new flows are answered on the ports they took over */
	conn_up(e, &n1);
	conn_up(e, &n2);
}

/* A late segment of the connection whose port was recycled, from the
 * peer, never reaches the guest: its FIN or data (old sequence numbers,
 * an old acknowledgement), a reset not for the new SYN; the new
 * connection's own segments do
 */
static void test_late_segments(void **state)
{
	static struct conn k[NPORTS];
	struct env *e = *state;
	struct conn old, n;
	const int x = 7;

	rng_seed(1337);
	open_all(e, k, NPORTS, 10000, PEER, 443);
	conn_up(e, &k[x]);
	assert_int_equal(g_seg(e, &k[x], R_ACK | R_PSH, 500), k[x].hport);
	assert_int_equal(p_seg(e, &k[x], R_ACK | R_PSH, 700), 40 + 700);
	close_guest_first(e, &k[x]);
	old = k[x];

	assert_int_equal(conn_open(e, &n, 20001, PEER, 443), old.hport);
	n.pseq = old.pseq + 0x40000000U;	/* the peer's new ISN */

	/* In SYN_SENT: the old connection's FIN and data again, and resets
	 * acknowledging anything but the new SYN
	 */
	old.pseq -= 1;
	assert_int_equal(p_seg(e, &old, R_FIN | R_ACK, 0), 0);
	old.pseq -= 700;
	assert_int_equal(p_seg(e, &old, R_ACK | R_PSH, 700), 0);
	assert_int_equal(p_seg(e, &old, R_RST | R_ACK, 0), 0);
	assert_int_equal(p_seg(e, &old, R_SYN | R_ACK, 0), 0);
	assert_int_equal(p_seg(e, &old, R_RST, 0), 0);
	assert_int_equal(flow_of(e, IPPROTO_TCP, n.gport, PEER, 443)->state,
			 CT_TCP_SYN_SENT);

	/* The new connection's own SYN-ACK goes through, then, established,
	 * the old one's segments still don't; its own do
	 */
	conn_up(e, &n);
	old.pseq = k[x].pseq - 700;
	assert_int_equal(p_seg(e, &old, R_ACK | R_PSH, 700), 0);
	old.pseq = k[x].pseq - 1;
	assert_int_equal(p_seg(e, &old, R_FIN | R_ACK, 0), 0);
	assert_int_equal(flow_of(e, IPPROTO_TCP, n.gport, PEER, 443)->state,
			 CT_TCP_ESTABLISHED);
	assert_int_equal(p_seg(e, &n, R_ACK | R_PSH, 100), 40 + 100);
	assert_int_equal(p_seg(e, &n, R_FIN | R_ACK, 0), 40);
	assert_int_equal(flow_of(e, IPPROTO_TCP, n.gport, PEER, 443)->state,
			 CT_TCP_CLOSE_WAIT);
}

/* UDP: flows of a single exchange give way, the oldest first; streams
 * never do, and with only streams left, a new flow is refused with ICMP
 * "administratively prohibited"
 */
static void test_give_way_udp(void **state)
{
	static uint16_t h[NPORTS];
	struct env *e = *state;
	const int z = 9, w = 3;
	size_t i;

	rng_seed(768);
	assert_true(z < PROBE && w < PROBE);
	for (i = 0; i < NPORTS; i++) {
		h[i] = udp_out(e, (uint16_t)(10000 + i), PEER, 53, 1000);
		assert_true(h[i] >= LO && h[i] < LO + NPORTS);
	}
	/* All answered and going on: streams, but the 10th (answered once,
	 * at 1001) and the 4th (answered once, at 1002)
	 */
	udp_back(e, PEER, 53, h[z], 1001);
	udp_back(e, PEER, 53, h[w], 1002);
	for (i = 0; i < NPORTS; i++) {
		if ((int)i == z || (int)i == w)
			continue;
		udp_back(e, PEER, 53, h[i], 1003);
		assert_int_equal(udp_out(e, (uint16_t)(10000 + i), PEER, 53,
					 1003), h[i]);
		assert_int_equal(flow_of(e, IPPROTO_UDP,
					 (uint16_t)(10000 + i), PEER,
					 53)->state, CT_UDP_STREAM);
	}
	assert_int_equal(flow_of(e, IPPROTO_UDP, 10000 + z, PEER, 53)->state,
			 CT_UDP);

	assert_int_equal(udp_out(e, 20000, PEER, 53, 1004), h[z]);
	assert_null(flow_of(e, IPPROTO_UDP, 10000 + z, PEER, 53));
	/* A second later: ties between equals go to either */
	assert_int_equal(udp_out(e, 20001, PEER, 53, 1005), h[w]);
	assert_null(flow_of(e, IPPROTO_UDP, 10000 + w, PEER, 53));

	/* A new flow of a single datagram is unassured too: it gives way
	 * to the next; made streams (their answers come to them), they don't
	 */
	assert_int_equal(udp_out(e, 20002, PEER, 53, 1005), h[z]);
	assert_null(flow_of(e, IPPROTO_UDP, 20000, PEER, 53));
	udp_back(e, PEER, 53, h[z], 1006);
	udp_back(e, PEER, 53, h[w], 1006);
	assert_int_equal(udp_out(e, 20002, PEER, 53, 1007), h[z]);
	assert_int_equal(udp_out(e, 20001, PEER, 53, 1007), h[w]);
	assert_int_equal(flow_of(e, IPPROTO_UDP, 20002, PEER, 53)->state,
			 CT_UDP_STREAM);
	assert_int_equal(flow_of(e, IPPROTO_UDP, 20001, PEER, 53)->state,
			 CT_UDP_STREAM);
	assert_int_equal(udp_out(e, 20003, PEER, 53, 1007), 0);
	admin_prohibited(e, 20003);
	assert_int_equal(e->c.fwd.ct.count, NPORTS);
}

/* A full table: the oldest finished flow gives way, whoever it goes to
 * (reset first, then TIME_WAIT the guest closed first, then the one the
 * peer closed first, then UDP of one exchange, the older first); with
 * every flow live, a new one is refused, TCP with a reset, UDP with ICMP
 * "administratively prohibited"
 */
static void test_table_full(void **state)
{
	struct env *e = *state;
	struct conn tw_peer, tw_guest, rst, live[5], n[5], extra;
	uint16_t u1, u2;
	int i;

	rng_seed(2020);
	assert_true(conn_open(e, &tw_peer, 1001, PEER, 1));
	conn_up(e, &tw_peer);
	close_peer_first(e, &tw_peer);
	u1 = udp_out(e, 1002, PEER, 2, 1000);
	assert_true(u1);
	e->c.now = 1001;
	assert_true(conn_open(e, &tw_guest, 1003, PEER, 3));
	conn_up(e, &tw_guest);
	close_guest_first(e, &tw_guest);
	u2 = udp_out(e, 1004, PEER, 4, 1002);
	assert_true(u2);
	assert_true(conn_open(e, &rst, 1005, PEER, 5));
	conn_up(e, &rst);
	assert_int_equal(p_seg(e, &rst, R_RST, 0), 40);
	for (i = 0; i < 5; i++)
		assert_true(conn_open(e, &live[i], (uint16_t)(2000 + i), PEER2,
				      (uint16_t)(10 + i)));
	assert_int_equal(e->c.fwd.ct.count, 10);

	e->c.now = 1003;
	assert_true(conn_open(e, &n[0], 3000, PEER2, 100));
	assert_null(flow_of(e, IPPROTO_TCP, 1005, PEER, 5));
	assert_true(conn_open(e, &n[1], 3001, PEER2, 100));
	assert_null(flow_of(e, IPPROTO_TCP, 1003, PEER, 3));
	assert_true(conn_open(e, &n[2], 3002, PEER2, 100));
	assert_null(flow_of(e, IPPROTO_TCP, 1001, PEER, 1));
	assert_true(conn_open(e, &n[3], 3003, PEER2, 100));
	assert_null(flow_of(e, IPPROTO_UDP, 1002, PEER, 2));
	assert_non_null(flow_of(e, IPPROTO_UDP, 1004, PEER, 4));
	assert_true(conn_open(e, &n[4], 3004, PEER2, 100));
	assert_null(flow_of(e, IPPROTO_UDP, 1004, PEER, 4));
	assert_int_equal(e->c.fwd.ct.count, 10);
	assert_int_equal(e->c.tap.tx.used, 0);

	/* Every flow live now: refused */
	assert_int_equal(conn_open(e, &extra, 3005, PEER2, 100), 0);
	refused_rst(e, &extra);
	assert_int_equal(udp_out(e, 3006, PEER2, 100, 1003), 0);
	admin_prohibited(e, 3006);
	assert_int_equal(e->c.fwd.ct.count, 10);
	for (i = 0; i < 5; i++)
		assert_non_null(flow_of(e, IPPROTO_TCP, (uint16_t)(2000 + i),
					PEER2, (uint16_t)(10 + i)));

	/* Once one is finished, it gives way */
	assert_int_equal(p_seg(e, &n[2], R_RST | R_ACK, 0), 40);
	assert_true(conn_open(e, &extra, 3007, PEER2, 100));
}

/* Flows expire as their states' timeouts say (set from the command line
 * by fwd_init(), the defaults otherwise), and let go of their ports: the
 * block, unused then, is kept, as the last one
 */
static void test_expiry(void **state)
{
	struct env *e = *state;
	const struct port_block *b;
	uint16_t u;
	struct conn k;

	rng_seed(120);
	fwd_cleanup(&e->c);
	e->c.opts.ct_timeout[CT_UDP] = 7;
	e->c.now = 1000;
	assert_int_equal(fwd_init(&e->c, 1), 0);
	assert_int_equal(fwd_ports_init(&e->c), 0);
	close(e->c.fwd.raw.fd_send);
	e->c.fwd.raw.fd_send = -1;
	assert_int_equal(e->c.fwd.ct.timeout[CT_UDP], 7);
	assert_int_equal(e->c.fwd.ct.timeout[CT_TCP_SYN_SENT], 120);
	b = &e->c.fwd.ports.blocks[e->c.fwd.ports.claimed[0]];

	u = udp_out(e, 5000, PEER, 53, 1000);
	assert_true(u);
	assert_true(conn_open(e, &k, 5001, PEER, 443));
	assert_int_equal(b->used, 2);

	e->c.now = 1007;
	fwd_timer(&e->c);
	assert_non_null(flow_of(e, IPPROTO_UDP, 5000, PEER, 53));
	e->c.now = 1008;
	fwd_timer(&e->c);
	assert_null(flow_of(e, IPPROTO_UDP, 5000, PEER, 53));
	assert_int_equal(b->used, 1);
	e->c.now = 1000 + 121;
	fwd_timer(&e->c);
	assert_null(flow_of(e, IPPROTO_TCP, 5001, PEER, 443));
	assert_int_equal(e->c.fwd.ct.count, 0);
	assert_int_equal(b->used, 0);
	e->c.now += 10 * PORT_BLOCK_IDLE;
	fwd_timer(&e->c);
	assert_int_equal(e->c.fwd.ports.nclaimed, 1);
}

/* gw_out() - a UDP datagram from the guest to the gateway's @pport, TTL
 * 64: where merd sends it (@to) and from where (@from), its TTL then
 *
 * Return: the host port it went out from
 */
static uint16_t gw_out(struct env *e, uint16_t gport, uint16_t pport,
		       uint32_t to, uint32_t from, uint8_t ttl)
{
	const struct raw_out *o = &e->c.fwd.raw.out[0];
	struct ip_view ip;
	uint8_t *p;
	size_t len;

	p = udp_pkt(gport, GW, pport, 0, false, &len);
	parse_ok(p, len, &ip, NULL);
	fwd_from_guest(&e->c, &ip);
	free(p);
	assert_int_equal(e->c.fwd.raw.nout, 1);
	assert_int_equal(ntohl(o->dst.sin_addr.s_addr), to);
	assert_int_equal(get32(o->hdr + R_IP_DST), to);
	assert_int_equal(get32(o->hdr + R_IP_SRC), from);
	assert_int_equal(o->hdr[R_IP_TTL], ttl);
	assert_true(ip_csum_ok(o->hdr));
	return sent(e);
}

/* gw_back() - the answer to gw_out()'s datagram, from @from, TTL 50: what
 * the guest gets comes from the gateway's @pport, TTL @ttl
 */
static void gw_back(struct env *e, uint32_t from, uint16_t pport,
		    uint32_t to, uint16_t hport, uint16_t gport, uint8_t ttl)
{
	struct flowpkt fp = {
		.proto = IPPROTO_UDP, .saddr = from, .daddr = to,
		.sport = pport, .dport = hport, .ttl = 50, .payload = 20,
	};
	uint8_t ip[200];
	size_t len;
	uint8_t *p = pkt_build(&fp, &len);
	struct pkt v = { p, len };

	fwd_from_host(&e->c, v, 0);
	free(p);
	assert_int_equal(ring_next(e, ip, sizeof(ip)), len);
	assert_int_equal(get32(ip + R_IP_SRC), GW);
	assert_int_equal(get32(ip + R_IP_DST), GUEST);
	assert_int_equal(get16(ip + 20), pport);
	assert_int_equal(get16(ip + 22), gport);
	assert_int_equal(ip[R_IP_TTL], ttl);
	assert_true(ip_csum_ok(ip));
	assert_true(ip_l4_csum_ok(ip));
}

/* The gateway address means the host: to its DNS port, the host's
 * loopback resolver, others to 127.0.0.1, from 127.0.0.1, TTL untouched
 * both ways (the host isn't a hop); with --no-map-gw it is just the
 * gateway, reached from the host's address, a hop away
 */
static void test_gateway(void **state)
{
	struct env *e = *state;
	const uint32_t lo = 0x7f000001, resolver = 0x7f000035;
	uint16_t h;

	rng_seed(53);
	e->c.host.dns4_lo.s_addr = htonl(resolver);
	h = gw_out(e, 5353, 53, resolver, lo, 64);
	gw_back(e, resolver, 53, lo, h, 5353, 50);
	h = gw_out(e, 5354, 80, lo, lo, 64);
	gw_back(e, lo, 80, lo, h, 5354, 50);

	e->c.opts.no_map_gw = true;
	h = gw_out(e, 5355, 53, GW, HOST, 63);
	gw_back(e, GW, 53, HOST, h, 5355, 49);
}

/* quoted_error() - the next frame for the guest is ICMP destination
 * unreachable of @code from the gateway, quoting the guest's datagram from
 * @gport as the guest sent it (its header and 8 bytes)
 */
static void quoted_error(struct env *e, uint8_t code, const uint8_t *g)
{
	uint8_t ip[600];
	size_t n = ring_next(e, ip, sizeof(ip));

	assert_int_equal(n, 20 + 8 + 28);
	assert_true(ip_csum_ok(ip));
	assert_int_equal(get32(ip + R_IP_SRC), GW);
	assert_int_equal(get32(ip + R_IP_DST), GUEST);
	assert_int_equal(ip[20], ICMP_DEST_UNREACH);
	assert_int_equal(ip[21], code);
	assert_true(l4_csum_ok(0, 0, IPPROTO_ICMP, ip + 20, n - 20));
	assert_memory_equal(ip + 28, g, 28);
}

/* A batch of sends, some failing (no route to the peer in this namespace;
 * the gateway, mapped to loopback, is reachable): each failure, and only
 * those, reaches the guest as ICMP net unreachable, in order, quoting the
 * guest's own packet
 */
static void test_send_errors(void **state)
{
	struct env *e = *state;
	static const uint32_t dst[] = { PEER, GW, PEER2, GW, PEER };
	uint8_t *g[ARRAY_SIZE(dst)];
	size_t i, len;

	rng_seed(1122);
	assert_int_equal(unit_lo_up(), 0);
	fwd_cleanup(&e->c);
	e->c.now = 1000;
	assert_int_equal(fwd_init(&e->c, 1), 0);
	assert_int_equal(fwd_ports_init(&e->c), 0);

	for (i = 0; i < ARRAY_SIZE(dst); i++) {
		struct ip_view ip;
		uint8_t *p = udp_pkt((uint16_t)(7000 + i), dst[i], 9, 0, false,
				     &len);

		g[i] = p;
		parse_ok(p, len, &ip, NULL);
		fwd_from_guest(&e->c, &ip);
		assert_int_equal(e->c.fwd.raw.nout, (int)i + 1);
	}
	fwd_flush(&e->c);
	assert_int_equal(e->c.fwd.raw.nout, 0);
	for (i = 0; i < ARRAY_SIZE(dst); i++) {
		if (dst[i] != GW)
			quoted_error(e, ICMP_NET_UNREACH, g[i]);
		free(g[i]);
	}
	assert_int_equal(e->c.tap.tx.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tuple_rule, setup_big,
						teardown),
		cmocka_unit_test_setup_teardown(test_give_way_tcp, setup_big,
						teardown),
		cmocka_unit_test_setup_teardown(test_late_segments, setup_big,
						teardown),
		cmocka_unit_test_setup_teardown(test_give_way_udp, setup_big,
						teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup_small,
						teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup_big,
						teardown),
		cmocka_unit_test_setup_teardown(test_gateway, setup_big,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_errors, setup_big,
						teardown),
	};
	if (unit_netns("test_alloc"))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
