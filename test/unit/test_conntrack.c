// SPDX-License-Identifier: GPL-2.0-or-later
/* test_conntrack.c - unit tests for conntrack.c: flow table, hash indexes,
 *		      aging, TCP states
 *
 * Copyright (c) 2026 merd authors
 *
 * A model kept by the test (which flows live, their keys, when each was
 * last refreshed, in which state) is compared with what conntrack.c
 * answers: after every insertion and removal, every live flow must be
 * found by both of its keys and no removed one by either, whatever the
 * order of removals (that is what the backward shift of the
 * open-addressing indexes must keep true; small tables make clusters wrap
 * around their end). Aging is checked by sweeping the clock second by
 * second: a flow comes out only once strictly past its timeout, and flows
 * of a state come out in the order they were last refreshed. TCP
 * transitions are a table written from conntrack.h's description of the
 * states (Linux conntrack's), not from the code.
 */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "conntrack.h"
#include "merd.h"
#include "unit.h"

/**
 * struct model - what the test knows of the table
 * @f:		flows as inserted, by flow number
 * @live:	flow number is in use
 * @seq:	when it was last refreshed, as a running count
 * @n:		number of live flows
 */
struct model {
	struct flow *f;
	bool *live;
	unsigned long *seq;
	uint32_t n;
};

/* model_init() - an empty model for a table of @max flows */
static void model_init(struct model *m, uint32_t max)
{
	m->f = calloc(max, sizeof(*m->f));
	m->live = calloc(max, sizeof(*m->live));
	m->seq = calloc(max, sizeof(*m->seq));
	assert_true(m->f && m->live && m->seq);
	m->n = 0;
}

/* model_free() - release a model */
static void model_free(struct model *m)
{
	free(m->f);
	free(m->live);
	free(m->seq);
}

/* flow_make() - flow number @k of a test: keys unique per @k (both sides),
 * everything else random
 */
static void flow_make(struct flow *f, uint32_t k)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };

	memset(f, 0, sizeof(*f));
	f->proto = protos[rng() % 3];
	f->gaddr = htonl(0x0a2a0000 | (k >> 16));
	f->gport = (uint16_t)k;
	f->daddr = rng();
	f->dport = f->proto == IPPROTO_ICMP ? 0 : (uint16_t)rng();
	f->raddr = rng() % 4 ? f->daddr : htonl(0x7f000000 | (k >> 16));
	f->haddr = rng();
	f->hport = (uint16_t)k;
	if (k >> 16)
		f->raddr ^= htonl(k >> 16);	/* keeps host keys unique */
	f->fd = (int)(k & 0xffff);
}

/* found() - the flow is found by both keys, under its number */
static void found(const struct conntrack *ct, const struct flow *f,
		  uint32_t idx)
{
	uint32_t g = ct_lookup_guest(ct, f->proto, f->gaddr, f->gport,
				     f->daddr, f->dport);
	uint32_t h = ct_lookup_host(ct, f->proto, f->hport, f->raddr,
				    f->dport);

	if (g != idx || h != idx)
		fail_msg("flow %u found as %u (guest key), %u (host key)", idx,
			 g, h);
}

/* not_found() - neither key of the flow finds anything */
static void not_found(const struct conntrack *ct, const struct flow *f)
{
	assert_int_equal(ct_lookup_guest(ct, f->proto, f->gaddr, f->gport,
					 f->daddr, f->dport), FLOW_NONE);
	assert_int_equal(ct_lookup_host(ct, f->proto, f->hport, f->raddr,
					f->dport), FLOW_NONE);
}

/* model_check() - every live flow is found, with its fields intact */
static void model_check(const struct conntrack *ct, const struct model *m)
{
	uint32_t i;

	assert_int_equal(ct->count, m->n);
	for (i = 0; i < ct->max; i++) {
		const struct flow *f = &m->f[i];

		if (!m->live[i])
			continue;
		found(ct, f, i);
		assert_int_equal(ct->flows[i].gaddr, f->gaddr);
		assert_int_equal(ct->flows[i].haddr, f->haddr);
		assert_int_equal(ct->flows[i].hport, f->hport);
		assert_int_equal(ct->flows[i].fd, f->fd);
	}
}

/* insert() - insert test flow @k in state @s at @now, into the model too */
static uint32_t insert(struct conntrack *ct, struct model *m, uint32_t k,
		       enum ct_state s, uint32_t now)
{
	struct flow f;
	uint32_t idx;

	flow_make(&f, k);
	idx = ct_insert(ct, &f, s, now);
	assert_true(idx < ct->max);
	assert_false(m->live[idx]);
	m->f[idx] = f;
	m->live[idx] = true;
	m->n++;
	assert_int_equal(ct->flows[idx].state, s);
	assert_int_equal(ct->flows[idx].expires, now + ct->timeout[s]);
	return idx;
}

/* remove() - remove flow @idx, from the model too; it's gone from both
 * indexes
 */
static void remove_flow(struct conntrack *ct, struct model *m, uint32_t idx)
{
	assert_true(m->live[idx]);
	ct_remove(ct, idx);
	m->live[idx] = false;
	m->n--;
	not_found(ct, &m->f[idx]);
}

/* shuffle() - a random permutation of 0 to @n - 1 */
static uint32_t *shuffle(uint32_t n)
{
	uint32_t *p = malloc(n * sizeof(*p)), i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = i;
	for (i = n - 1; i > 0; i--) {
		uint32_t j = rng() % (i + 1), t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

/* A full table: every flow found by both keys, a changed key field finds
 * nothing, one flow more is refused
 */
static void test_insert_lookup_full(void **state)
{
	struct conntrack ct;
	struct model m;
	uint32_t max = 4096, i;
	struct flow extra;

	(void)state;
	rng_seed(4096);
	assert_int_equal(ct_init(&ct, max), 0);
	model_init(&m, max);
	for (i = 0; i < max; i++)
		insert(&ct, &m, i, CT_UDP, 100);
	model_check(&ct, &m);

	flow_make(&extra, max);
	assert_int_equal(ct_insert(&ct, &extra, CT_UDP, 100), FLOW_NONE);
	assert_int_equal(ct.count, max);
	not_found(&ct, &extra);
	model_check(&ct, &m);

	/* Each field of each key matters; the others don't */
	for (i = 0; i < max; i += 7) {
		const struct flow *f = &m.f[i];
		uint8_t op = f->proto == IPPROTO_TCP ? IPPROTO_UDP :
			     IPPROTO_TCP;

		assert_int_equal(ct_lookup_guest(&ct, op, f->gaddr, f->gport,
						 f->daddr, f->dport),
				 FLOW_NONE);
		assert_int_equal(ct_lookup_guest(&ct, f->proto, f->gaddr ^ 1,
						 f->gport, f->daddr, f->dport),
				 FLOW_NONE);
		assert_int_equal(ct_lookup_guest(&ct, f->proto, f->gaddr,
						 f->gport ^ 0x8000, f->daddr,
						 f->dport), FLOW_NONE);
		assert_int_equal(ct_lookup_guest(&ct, f->proto, f->gaddr,
						 f->gport, f->daddr ^ 1,
						 f->dport), FLOW_NONE);
		assert_int_equal(ct_lookup_guest(&ct, f->proto, f->gaddr,
						 f->gport, f->daddr,
						 f->dport ^ 1), FLOW_NONE);
		assert_int_equal(ct_lookup_host(&ct, op, f->hport, f->raddr,
						f->dport), FLOW_NONE);
		assert_int_equal(ct_lookup_host(&ct, f->proto,
						f->hport ^ 0x8000, f->raddr,
						f->dport), FLOW_NONE);
		assert_int_equal(ct_lookup_host(&ct, f->proto, f->hport,
						f->raddr ^ 1, f->dport),
				 FLOW_NONE);
		assert_int_equal(ct_lookup_host(&ct, f->proto, f->hport,
						f->raddr, f->dport ^ 1),
				 FLOW_NONE);
	}
	model_free(&m);
	ct_free(&ct);
}

/* Removals in random orders: after each one, every remaining flow is
 * still found by both keys; then the emptied table fills up again
 */
static void test_remove_random_orders(void **state)
{
	static const uint32_t sizes[] = { 1, 2, 3, 8, 100, 1024 };
	size_t s;

	(void)state;
	rng_seed(6461);
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		uint32_t max = sizes[s], round, i;
		struct conntrack ct;
		struct model m;

		assert_int_equal(ct_init(&ct, max), 0);
		model_init(&m, max);
		for (round = 0; round < (max > 100 ? 2 : 20); round++) {
			uint32_t *order;

			for (i = 0; i < max; i++)
				insert(&ct, &m, round * max + i, CT_ICMP, 1);
			model_check(&ct, &m);
			order = shuffle(max);
			for (i = 0; i < max; i++) {
				remove_flow(&ct, &m, order[i]);
				model_check(&ct, &m);
			}
			free(order);
			assert_int_equal(ct.count, 0);
		}
		model_free(&m);
		ct_free(&ct);
	}
}

/* Random insertions and removals on small tables, whose indexes are 16 and
 * 32 entries: clusters wrap around the end of the index all the time
 */
static void test_churn(void **state)
{
	static const uint32_t sizes[] = { 8, 16 };
	size_t s;

	(void)state;
	rng_seed(1973);
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		uint32_t max = sizes[s], k = 0, op;
		struct conntrack ct;
		struct model m;

		assert_int_equal(ct_init(&ct, max), 0);
		model_init(&m, max);
		for (op = 0; op < 30000; op++) {
			uint32_t idx = rng() % max;

			if (m.live[idx] && (m.n == max || rng() % 2)) {
				remove_flow(&ct, &m, idx);
			} else if (m.n < max) {
				insert(&ct, &m, k++, CT_UDP, op);
			} else {
				struct flow f;

				flow_make(&f, k++);
				assert_int_equal(ct_insert(&ct, &f, CT_UDP,
							   op), FLOW_NONE);
			}
			model_check(&ct, &m);
		}
		model_free(&m);
		ct_free(&ct);
	}
}

/* Timeouts default to Linux conntrack's, and are set by name */
static void test_timeouts(void **state)
{
	static const struct {
		const char *name;
		enum ct_state s;
		uint32_t secs;
	} t[] = {
		{ "tcp-syn-sent", CT_TCP_SYN_SENT, 120 },
		{ "tcp-syn-recv", CT_TCP_SYN_RECV, 60 },
		{ "tcp-established", CT_TCP_ESTABLISHED, 432000 },
		{ "tcp-fin-wait", CT_TCP_FIN_WAIT, 120 },
		{ "tcp-close-wait", CT_TCP_CLOSE_WAIT, 60 },
		{ "tcp-last-ack", CT_TCP_LAST_ACK, 30 },
		{ "tcp-time-wait", CT_TCP_TIME_WAIT, 120 },
		{ "tcp-close", CT_TCP_CLOSE, 10 },
		{ "udp", CT_UDP, 30 },
		{ "udp-stream", CT_UDP_STREAM, 180 },
		{ "icmp", CT_ICMP, 30 },
	};
	struct conntrack ct;
	size_t i;

	(void)state;
	assert_int_equal(ct_init(&ct, 4), 0);
	assert_int_equal(ARRAY_SIZE(t), CT_STATES);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		assert_string_equal(ct_state_name[t[i].s], t[i].name);
		assert_int_equal(ct.timeout[t[i].s], t[i].secs);
		assert_int_equal(ct_timeout_set(&ct, t[i].name, 7 + i), 0);
		assert_int_equal(ct.timeout[t[i].s], 7 + i);
	}
	assert_int_equal(ct_timeout_set(&ct, "tcp", 1), -ENOENT);
	assert_int_equal(ct_timeout_set(&ct, "", 1), -ENOENT);
	assert_int_equal(ct_timeout_set(&ct, "udp-streams", 1), -ENOENT);
	ct_free(&ct);
}

/* A flow in each state lives exactly its timeout and one second more: not
 * expired at insertion time + timeout, expired one second later; also
 * across the wrap of the clock
 */
static void test_expiry_strict(void **state)
{
	static const uint32_t starts[] = { 1000, 0xffffffe0 };
	struct conntrack ct;
	struct model m;
	size_t i;
	int s;

	(void)state;
	rng_seed(1122);
	assert_int_equal(ct_init(&ct, 4), 0);
	model_init(&m, 4);
	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		for (s = 0; s < CT_STATES; s++) {
			uint32_t t0 = starts[i], idx, t;

			ct.timeout[s] = 20 + (uint32_t)s;
			idx = insert(&ct, &m, (uint32_t)s, s, t0);
			for (t = t0 - 5; t != t0 + ct.timeout[s] + 1; t++)
				assert_int_equal(ct_expired(&ct, t), FLOW_NONE);
			assert_int_equal(ct_expired(&ct, t), idx);
			assert_int_equal(ct_expired(&ct, t + 100), idx);

			/* A refresh starts the count again */
			ct_refresh(&ct, idx, s, t0 + 10);
			assert_int_equal(ct_expired(&ct, t), FLOW_NONE);
			assert_int_equal(ct_expired(&ct, t + 10), idx);
			remove_flow(&ct, &m, idx);
			assert_int_equal(ct_expired(&ct, t + 100), FLOW_NONE);
		}
	}
	model_free(&m);
	ct_free(&ct);
}

/* expiry() - when the model says flow @i expires */
static uint32_t expiry(const struct conntrack *ct, const struct model *m,
		       uint32_t i, const uint32_t *last)
{
	return last[i] + ct->timeout[m->f[i].state];
}

/* drain() - take out every flow expired at @t: each must be strictly past
 * its time but not later than one second (the sweep runs every second),
 * and the least recently refreshed one of its state; none is left behind
 */
static void drain(struct conntrack *ct, struct model *m, const uint32_t *last,
		  uint32_t t)
{
	uint32_t idx, j;

	while ((idx = ct_expired(ct, t)) != FLOW_NONE) {
		assert_true(m->live[idx]);
		assert_true(expiry(ct, m, idx, last) + 1 == t);
		for (j = 0; j < ct->max; j++)
			if (m->live[j] && m->f[j].state == m->f[idx].state)
				assert_true(m->seq[j] >= m->seq[idx]);
		remove_flow(ct, m, idx);
	}
	for (j = 0; j < ct->max; j++)
		if (m->live[j])
			assert_true(expiry(ct, m, j, last) >= t);
}

/* Many flows in random states, inserted and refreshed at random times and
 * moved between states, with the clock swept second by second meanwhile
 * and to the end: each flow comes out at the first second past its
 * timeout, and within a state in the order of last refresh
 */
static void test_expiry_order(void **state)
{
	uint32_t max = 400, now = 5000, k = 0, i, *last;
	unsigned long seq = 0;
	struct conntrack ct;
	struct model m;
	int s;

	(void)state;
	rng_seed(2020);
	assert_int_equal(ct_init(&ct, max), 0);
	model_init(&m, max);
	last = calloc(max, sizeof(*last));
	assert_non_null(last);
	for (s = 0; s < CT_STATES; s++)
		ct.timeout[s] = 1 + rng() % 40;

	for (i = 0; i < 20000; i++) {
		uint32_t idx = rng() % max;

		if (rng() % 16 == 0) {
			drain(&ct, &m, last, ++now);
			continue;
		}
		s = (int)(rng() % CT_STATES);
		if (m.live[idx]) {
			if (rng() % 3)
				s = m.f[idx].state;
			ct_refresh(&ct, idx, s, now);
			assert_int_equal(ct.flows[idx].expires,
					 now + ct.timeout[s]);
		} else if (m.n < max) {
			idx = insert(&ct, &m, k++, s, now);
		} else {
			continue;
		}
		m.f[idx].state = (uint8_t)s;
		m.seq[idx] = seq++;
		last[idx] = now;
	}
	model_check(&ct, &m);
	assert_true(k > max);		/* flows came and went */

	for (i = 0; m.n; i++) {
		drain(&ct, &m, last, ++now);
		assert_true(i < 100);
	}
	free(last);
	model_free(&m);
	ct_free(&ct);
}

/* Flags as one byte, the way tcp.c and fwd.c pass them */
#define SYN	TH_SYN
#define ACK	TH_ACK
#define FIN	TH_FIN
#define RST	TH_RST
#define PSH	TH_PUSH
#define G	CT_FROM_GUEST
#define P	CT_FROM_PEER
#define FIN_G	(1U << CT_FROM_GUEST)
#define FIN_P	(1U << CT_FROM_PEER)

/**
 * struct step - one segment and the state it must lead to
 * @from:	CT_FROM_GUEST or CT_FROM_PEER
 * @flags:	its flags
 * @to:		state after it
 */
struct step {
	int from;
	uint8_t flags;
	enum ct_state to;
};

/* run() - play segments on a flow from SYN_SENT (its state when created)
 * and check each resulting state
 */
static void run(const struct step *st, size_t n)
{
	struct flow f = { .state = CT_TCP_SYN_SENT, .fin = 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		enum ct_state s = ct_tcp_track(&f, st[i].from, st[i].flags);

		if (s != st[i].to)
			fail_msg("step %zu (%s, flags %#x) from %s: %s, not %s",
				 i, st[i].from == G ? "guest" : "peer",
				 st[i].flags, ct_state_name[f.state],
				 ct_state_name[s], ct_state_name[st[i].to]);
		f.state = (uint8_t)s;
	}
}

/* The three-way handshake, and retransmissions on the way */
static void test_tcp_handshake(void **state)
{
	static const struct step st[] = {
		{ G, SYN, CT_TCP_SYN_SENT },		/* retransmitted */
		{ G, ACK, CT_TCP_SYN_SENT },		/* nothing moves it */
		{ G, FIN | ACK, CT_TCP_SYN_SENT },
		{ P, ACK, CT_TCP_SYN_SENT },
		{ G, SYN | ACK, CT_TCP_SYN_SENT },	/* the guest's: no */
		{ P, SYN, CT_TCP_SYN_SENT },		/* simultaneous open */
		{ P, SYN | ACK, CT_TCP_SYN_RECV },
		{ P, SYN | ACK, CT_TCP_SYN_RECV },	/* retransmitted */
		{ P, ACK, CT_TCP_SYN_RECV },		/* the peer's: no */
		{ G, SYN | ACK, CT_TCP_SYN_RECV },
		{ G, ACK, CT_TCP_ESTABLISHED },
		{ G, ACK | PSH, CT_TCP_ESTABLISHED },
		{ P, ACK | PSH, CT_TCP_ESTABLISHED },
		{ P, SYN | ACK, CT_TCP_ESTABLISHED },	/* late duplicate */
		{ G, SYN, CT_TCP_ESTABLISHED },		/* doesn't reopen */
	};

	(void)state;
	run(st, ARRAY_SIZE(st));
}

/* The guest closes first; then the peer closes first */
static void test_tcp_close(void **state)
{
	static const struct step guest_first[] = {
		{ P, SYN | ACK, CT_TCP_SYN_RECV },
		{ G, ACK, CT_TCP_ESTABLISHED },
		{ G, FIN | ACK, CT_TCP_FIN_WAIT },
		{ P, ACK, CT_TCP_FIN_WAIT },
		{ G, FIN | ACK, CT_TCP_FIN_WAIT },	/* retransmitted */
		{ P, ACK | PSH, CT_TCP_FIN_WAIT },	/* half closed */
		{ P, FIN | ACK, CT_TCP_LAST_ACK },
		{ P, FIN | ACK, CT_TCP_LAST_ACK },	/* retransmitted */
		{ G, ACK, CT_TCP_TIME_WAIT },
		{ G, ACK, CT_TCP_TIME_WAIT },
		{ P, FIN | ACK, CT_TCP_TIME_WAIT },
	};
	static const struct step peer_first[] = {
		{ P, SYN | ACK, CT_TCP_SYN_RECV },
		{ G, ACK, CT_TCP_ESTABLISHED },
		{ P, FIN | ACK, CT_TCP_CLOSE_WAIT },
		{ G, ACK, CT_TCP_CLOSE_WAIT },
		{ G, ACK | PSH, CT_TCP_CLOSE_WAIT },
		{ G, FIN | ACK, CT_TCP_LAST_ACK },
		{ P, ACK, CT_TCP_TIME_WAIT },
	};
	static const struct step simultaneous[] = {
		{ P, SYN | ACK, CT_TCP_SYN_RECV },
		{ G, ACK, CT_TCP_ESTABLISHED },
		{ G, FIN | ACK, CT_TCP_FIN_WAIT },
		{ P, FIN | ACK, CT_TCP_LAST_ACK },
		{ G, FIN | ACK, CT_TCP_LAST_ACK },	/* crossed FINs */
		{ P, ACK, CT_TCP_TIME_WAIT },
	};
	/* Linux: SYN_RECV and a FIN from the guest go to FIN_WAIT */
	static const struct step fin_in_syn_recv[] = {
		{ P, SYN | ACK, CT_TCP_SYN_RECV },
		{ G, FIN | ACK, CT_TCP_FIN_WAIT },
		{ P, FIN | ACK, CT_TCP_LAST_ACK },
		{ G, ACK, CT_TCP_TIME_WAIT },
	};

	(void)state;
	run(guest_first, ARRAY_SIZE(guest_first));
	run(peer_first, ARRAY_SIZE(peer_first));
	run(simultaneous, ARRAY_SIZE(simultaneous));
	run(fin_in_syn_recv, ARRAY_SIZE(fin_in_syn_recv));
}

/* A reset from either side closes the flow from any state, whatever else
 * it carries; then only a new SYN from the guest reopens it
 */
static void test_tcp_reset(void **state)
{
	static const uint8_t extra[] = { 0, ACK, SYN, FIN | ACK, SYN | ACK };
	int s, from;
	size_t i;

	(void)state;
	for (s = CT_TCP_SYN_SENT; s <= CT_TCP_CLOSE; s++) {
		for (from = G; from <= P; from++) {
			for (i = 0; i < ARRAY_SIZE(extra); i++) {
				struct flow f = { .state = (uint8_t)s };

				assert_int_equal(ct_tcp_track(&f, from,
							      RST | extra[i]),
						 CT_TCP_CLOSE);
			}
		}
	}
	{
		static const struct step st[] = {
			{ P, SYN | ACK, CT_TCP_SYN_RECV },
			{ G, ACK, CT_TCP_ESTABLISHED },
			{ P, RST, CT_TCP_CLOSE },
			{ G, ACK, CT_TCP_CLOSE },
			{ P, ACK, CT_TCP_CLOSE },
			{ G, FIN | ACK, CT_TCP_CLOSE },
			{ P, SYN | ACK, CT_TCP_CLOSE },
			{ P, SYN, CT_TCP_CLOSE },	/* not the peer's */
			{ G, SYN | ACK, CT_TCP_CLOSE },
			{ G, SYN, CT_TCP_SYN_SENT },	/* reopened */
			{ P, SYN | ACK, CT_TCP_SYN_RECV },
			{ G, ACK, CT_TCP_ESTABLISHED },
		};

		run(st, ARRAY_SIZE(st));
	}
}

/* A new connection on the same ports after TIME_WAIT or CLOSE starts over:
 * the FINs of the old one are forgotten
 */
static void test_tcp_reopen(void **state)
{
	static const struct step st[] = {
		{ P, SYN | ACK, CT_TCP_SYN_RECV },
		{ G, ACK, CT_TCP_ESTABLISHED },
		{ G, FIN | ACK, CT_TCP_FIN_WAIT },
		{ P, FIN | ACK, CT_TCP_LAST_ACK },
		{ G, ACK, CT_TCP_TIME_WAIT },
		{ P, SYN, CT_TCP_TIME_WAIT },		/* the peer can't */
		{ G, SYN, CT_TCP_SYN_SENT },
		{ P, SYN | ACK, CT_TCP_SYN_RECV },
		{ G, ACK, CT_TCP_ESTABLISHED },
		{ G, ACK | PSH, CT_TCP_ESTABLISHED },	/* FINs forgotten */
		{ P, FIN | ACK, CT_TCP_CLOSE_WAIT },	/* only the peer's */
		{ G, RST | ACK, CT_TCP_CLOSE },
		{ G, SYN, CT_TCP_SYN_SENT },
		{ P, SYN | ACK, CT_TCP_SYN_RECV },
		{ G, ACK, CT_TCP_ESTABLISHED },
		{ G, FIN | ACK, CT_TCP_FIN_WAIT },	/* only the guest's */
	};
	int s;

	(void)state;
	run(st, ARRAY_SIZE(st));

	/* Only TIME_WAIT, CLOSE (and SYN_SENT itself) are reopened */
	for (s = CT_TCP_SYN_SENT; s <= CT_TCP_CLOSE; s++) {
		struct flow f = { .state = (uint8_t)s, .fin = FIN_G | FIN_P };
		bool reopens = s == CT_TCP_SYN_SENT || s == CT_TCP_TIME_WAIT ||
			       s == CT_TCP_CLOSE;

		assert_int_equal(ct_tcp_track(&f, G, SYN),
				 reopens ? CT_TCP_SYN_SENT : s);
		if (reopens)
			assert_int_equal(f.fin, 0);
	}
}

/* The FIN bits follow what each side sent, only once SYN_SENT is past */
static void test_tcp_fin_bits(void **state)
{
	struct flow f = { .state = CT_TCP_SYN_SENT };

	(void)state;
	assert_int_equal(ct_tcp_track(&f, G, FIN | ACK), CT_TCP_SYN_SENT);
	assert_int_equal(f.fin, 0);

	f.state = CT_TCP_ESTABLISHED;
	assert_int_equal(ct_tcp_track(&f, P, FIN | ACK), CT_TCP_CLOSE_WAIT);
	assert_int_equal(f.fin, FIN_P);
	f.state = CT_TCP_CLOSE_WAIT;
	assert_int_equal(ct_tcp_track(&f, G, FIN | ACK), CT_TCP_LAST_ACK);
	assert_int_equal(f.fin, FIN_G | FIN_P);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup_full),
		cmocka_unit_test(test_remove_random_orders),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_expiry_strict),
		cmocka_unit_test(test_expiry_order),
		cmocka_unit_test(test_tcp_handshake),
		cmocka_unit_test(test_tcp_close),
		cmocka_unit_test(test_tcp_reset),
		cmocka_unit_test(test_tcp_reopen),
		cmocka_unit_test(test_tcp_fin_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
