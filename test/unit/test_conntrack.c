// SPDX-License-Identifier: GPL-2.0-or-later
/* test_conntrack.c - unit tests for conntrack.c: two-sided flows, one hash
 *		      index, aging, TCP states and windows
 *
 * Copyright (c) 2026 merd authors
 *
 * A model kept by the test (which flows live, both their sides, when each
 * was last refreshed, in which state) is compared with what conntrack.c
 * answers: after every insertion and removal, every live flow must be
 * found from each of its sides by exactly that side's key (protocol,
 * interface, both addresses, both ports), and no removed one by either,
 * whatever the order of removals (that is what the backward shift of the
 * open-addressing index, which holds both sides of every flow, must keep
 * true; small tables make clusters wrap around its end). Many flows share
 * a host port, as fwd.c's allocator makes them. Aging is checked by
 * sweeping the clock second by second: a flow comes out only once
 * strictly past its timeout, and flows of a state come out in the order
 * they were last refreshed.
 *
 * TCP is played by a small simulation of two endpoints here, each keeping
 * its own sequence numbers, whose segments go through ct_tcp_track(): the
 * state transitions are a table written from conntrack.h's description of
 * the states (Linux conntrack's), and the windows are checked at their
 * edges, one sequence number in and one out, from Linux's tcp_in_window()
 * conditions as RFC 9293 and RFC 7323 define the quantities, not from the
 * code.
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

/* v4() - an IPv4 address, host order, in its mapped form */
static union inany_addr v4(uint32_t a)
{
	union inany_addr x;

	inany_from_v4(&x, htonl(a));
	return x;
}

/* flow_make() - flow number @k of a test, as fwd.c makes them: the guest's
 * side (a guest address and port unique per @k, a random destination) and
 * the host's (the peer, unique per @k, and one of eight host ports shared
 * by many flows: the tuple rule keeps them apart); the rest random
 */
static void flow_make(struct flow *f, uint32_t k)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	struct flowside *g = &f->side[INISIDE], *h = &f->side[TGTSIDE];

	memset(f, 0, sizeof(*f));
	f->proto = protos[rng() % 3];
	f->af = AF_INET;
	f->pif[INISIDE] = PIF_TAP;
	f->pif[TGTSIDE] = PIF_HOST;
	g->eaddr = v4(0x0a2a0000 | (k >> 16));
	g->eport = (uint16_t)k;
	g->oaddr = v4(rng());
	g->oport = f->proto == IPPROTO_ICMP ? 0 : (uint16_t)rng();
	h->eaddr = v4(0xc6120000 + (k >> 2));	/* 198.18.0.0/15 */
	h->eport = (uint16_t)(f->proto == IPPROTO_ICMP ? 0 : 1000 + (k & 3));
	h->oaddr = v4(0xc0000202);
	h->oport = (uint16_t)(61000 + (k & 7));
	if (f->proto == IPPROTO_ICMP)		/* peers by address alone */
		h->eaddr = v4(0xc6120000 + k);
}

/* found() - the flow is found from each side by that side's key, under
 * its number and with that side
 */
static void found(const struct conntrack *ct, const struct flow *f,
		  uint32_t idx)
{
	unsigned int s, side;

	for (s = 0; s < SIDES; s++) {
		uint32_t i;

		side = SIDES;
		i = ct_lookup(ct, f->proto, f->pif[s], &f->side[s], &side);
		if (i != idx || side != s)
			fail_msg("flow %u side %u found as flow %u side %u",
				 idx, s, i, side);
	}
}

/* not_found() - neither side's key of the flow finds anything */
static void not_found(const struct conntrack *ct, const struct flow *f)
{
	unsigned int s;

	for (s = 0; s < SIDES; s++)
		assert_int_equal(ct_lookup(ct, f->proto, f->pif[s],
					   &f->side[s], NULL), FLOW_NONE);
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
		assert_memory_equal(ct->flows[i].side, f->side,
				    sizeof(f->side));
		assert_memory_equal(ct->flows[i].pif, f->pif, sizeof(f->pif));
		assert_int_equal(ct->flows[i].proto, f->proto);
	}
}

/* insert_flow() - insert @f in state @s at @now, into the model too: the
 * flow ct_alloc() gives is all zero, whatever it held before
 */
static uint32_t insert_flow(struct conntrack *ct, struct model *m,
			    const struct flow *f, enum ct_state s, uint32_t now)
{
	static const struct flow zero;
	uint32_t idx = ct_alloc(ct);

	assert_true(idx < ct->max);
	assert_false(m->live[idx]);
	assert_memory_equal(&ct->flows[idx], &zero, sizeof(zero));
	memcpy(ct->flows[idx].side, f->side, sizeof(f->side));
	memcpy(ct->flows[idx].pif, f->pif, sizeof(f->pif));
	ct->flows[idx].proto = f->proto;
	ct->flows[idx].af = f->af;
	ct_insert(ct, idx, s, now);
	m->f[idx] = *f;
	m->live[idx] = true;
	m->n++;
	assert_int_equal(ct->flows[idx].state, s);
	assert_int_equal(ct->flows[idx].created, now);
	assert_int_equal(ct->flows[idx].expires, now + ct->timeout[s]);
	return idx;
}

/* insert() - insert test flow @k in state @s at @now */
static uint32_t insert(struct conntrack *ct, struct model *m, uint32_t k,
		       enum ct_state s, uint32_t now)
{
	struct flow f;

	flow_make(&f, k);
	return insert_flow(ct, m, &f, s, now);
}

/* remove_flow() - remove flow @idx, from the model too; it's gone from the
 * index by both sides
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

/* model_find() - the live flow of the model, and its side, whose key that
 * is, by looking at every one
 *
 * Return: flow number, FLOW_NONE if none
 */
static uint32_t model_find(const struct model *m, uint32_t max, uint8_t proto,
			   uint8_t pif, const struct flowside *k,
			   unsigned int *side)
{
	uint32_t i;
	unsigned int s;

	for (i = 0; i < max; i++) {
		if (!m->live[i] || m->f[i].proto != proto)
			continue;
		for (s = 0; s < SIDES; s++) {
			if (m->f[i].pif[s] == pif &&
			    !memcmp(&m->f[i].side[s], k, sizeof(*k))) {
				*side = s;
				return i;
			}
		}
	}
	return FLOW_NONE;
}

/* miss() - a key one field off a flow's finds what the model says: almost
 * always nothing (a flow whose key that happens to be, else)
 *
 * Return: 1 if it found nothing, 0 if it found that other flow
 */
static int miss(const struct conntrack *ct, const struct model *m,
		uint8_t proto, uint8_t pif, const struct flowside *k)
{
	unsigned int ws = SIDES, s = SIDES;
	uint32_t want = model_find(m, ct->max, proto, pif, k, &ws);
	uint32_t got = ct_lookup(ct, proto, pif, k, &s);

	if (got != want || (want != FLOW_NONE && s != ws))
		fail_msg("near miss found flow %u side %u, not %u side %u",
			 got, s, want, ws);
	return want == FLOW_NONE;
}

/* near_misses() - every single field of one side's key, changed, finds
 * nothing (but a flow that has that key): protocol, interface, each byte
 * of both addresses, both ports, the key turned around
 *
 * Return: number of keys that found nothing
 */
static int near_misses(const struct conntrack *ct, const struct model *m,
		       const struct flow *f, unsigned int s)
{
	uint8_t op = f->proto == IPPROTO_TCP ? IPPROTO_UDP : IPPROTO_TCP;
	struct flowside k;
	int none = 0;
	size_t b;

	none += miss(ct, m, op, f->pif[s], &f->side[s]);
	none += miss(ct, m, f->proto, !f->pif[s], &f->side[s]);
	for (b = 0; b < sizeof(k.eaddr); b++) {
		k = f->side[s];
		((uint8_t *)&k.eaddr)[b] ^= 0x01;
		none += miss(ct, m, f->proto, f->pif[s], &k);
		k = f->side[s];
		((uint8_t *)&k.oaddr)[b] ^= 0x80;
		none += miss(ct, m, f->proto, f->pif[s], &k);
	}
	k = f->side[s];
	k.eport ^= 0x8000;
	none += miss(ct, m, f->proto, f->pif[s], &k);
	k = f->side[s];
	k.oport ^= 1;
	none += miss(ct, m, f->proto, f->pif[s], &k);
	/* The key turned around (a packet the other way) isn't this side */
	k.eaddr = f->side[s].oaddr;
	k.oaddr = f->side[s].eaddr;
	k.eport = f->side[s].oport;
	k.oport = f->side[s].eport;
	none += miss(ct, m, f->proto, f->pif[s], &k);
	return none;
}

/* A full table: every flow found from both sides, a changed key field
 * finds nothing, no flow more is handed out
 */
static void test_insert_lookup_full(void **state)
{
	struct conntrack ct;
	struct model m;
	uint32_t max = 4096, i;
	int none = 0, tried = 0;

	(void)state;
	rng_seed(4096);
	assert_int_equal(ct_init(&ct, max), 0);
	model_init(&m, max);
	for (i = 0; i < max; i++)
		insert(&ct, &m, i, CT_UDP, 100);
	model_check(&ct, &m);

	assert_int_equal(ct_alloc(&ct), FLOW_NONE);
	assert_int_equal(ct.count, max);
	model_check(&ct, &m);

	for (i = 0; i < max; i += 7) {
		none += near_misses(&ct, &m, &m.f[i], INISIDE);
		none += near_misses(&ct, &m, &m.f[i], TGTSIDE);
		tried += 2 * (2 + 2 * 16 + 2 + 1);
	}
	assert_true(none > tried * 9 / 10);	/* most keys are no flow's */
	model_free(&m);
	ct_free(&ct);
}

/* Many flows on one host port and host address, to different peers (by
 * address, or by port only): each found from both sides; removing some
 * keeps the others; a peer not among them misses
 */
static void test_shared_host_port(void **state)
{
	uint32_t max = 1000, i;
	struct conntrack ct;
	struct model m;
	struct flowside k;
	uint32_t *order;

	(void)state;
	rng_seed(6056);
	assert_int_equal(ct_init(&ct, max), 0);
	model_init(&m, max);
	for (i = 0; i < max; i++) {
		struct flow f;

		flow_make(&f, i);
		f.proto = IPPROTO_TCP;
		f.side[TGTSIDE].oport = 61000;
		f.side[TGTSIDE].eaddr = v4(0xcb007100 + i / 10);
		f.side[TGTSIDE].eport = (uint16_t)(443 + i % 10);
		insert_flow(&ct, &m, &f, CT_TCP_ESTABLISHED, 1);
	}
	model_check(&ct, &m);

	k = m.f[0].side[TGTSIDE];
	k.eport = 443 + 10;
	assert_int_equal(ct_lookup(&ct, IPPROTO_TCP, PIF_HOST, &k, NULL),
			 FLOW_NONE);
	k.eport = 443;
	k.eaddr = v4(0xcb007100 + max / 10);
	assert_int_equal(ct_lookup(&ct, IPPROTO_TCP, PIF_HOST, &k, NULL),
			 FLOW_NONE);

	order = shuffle(max);
	for (i = 0; i < max; i++) {
		remove_flow(&ct, &m, order[i]);
		if (i % 50 == 0)
			model_check(&ct, &m);
	}
	free(order);
	model_check(&ct, &m);
	model_free(&m);
	ct_free(&ct);
}

/* Both sides of a flow may carry the same addresses and ports (only the
 * interface tells them apart): each is found as itself. In a table of one
 * flow, whose index has four entries, the two sides often share a probe
 * path; many tables (each hashed with its own key) make sure they do
 */
static void test_sides_by_interface(void **state)
{
	unsigned int side, round;

	(void)state;
	rng_seed(2);
	for (round = 0; round < 200; round++) {
		struct conntrack ct;
		struct model m;
		struct flow f;
		struct flowside k;
		uint32_t idx;

		assert_int_equal(ct_init(&ct, 1), 0);
		model_init(&m, 1);
		flow_make(&f, round);
		f.side[TGTSIDE] = f.side[INISIDE];
		idx = insert_flow(&ct, &m, &f, CT_UDP, 1);
		model_check(&ct, &m);
		assert_int_equal(ct_lookup(&ct, f.proto, PIF_TAP,
					   &f.side[INISIDE], &side), idx);
		assert_int_equal(side, INISIDE);
		assert_int_equal(ct_lookup(&ct, f.proto, PIF_HOST,
					   &f.side[INISIDE], &side), idx);
		assert_int_equal(side, TGTSIDE);
		k = f.side[INISIDE];
		k.oport ^= 1;
		assert_int_equal(ct_lookup(&ct, f.proto, PIF_TAP, &k, NULL),
				 FLOW_NONE);
		assert_int_equal(ct_lookup(&ct, f.proto, PIF_HOST, &k, NULL),
				 FLOW_NONE);
		remove_flow(&ct, &m, idx);
		model_free(&m);
		ct_free(&ct);
	}
}

/* Removals in random orders: after each one, every remaining flow is
 * still found from both sides; then the emptied table fills up again
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

/* Random insertions and removals on small tables, whose index holds
 * twice as many entries as the sides (32 and 64 for 16 and 32): clusters
 * wrap around its end all the time, and both sides of a flow often sit
 * in one
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
		assert_true(ct.mask + 1 >= 2 * SIDES * max);
		model_init(&m, max);
		for (op = 0; op < 30000; op++) {
			uint32_t idx = rng() % max;

			if (m.live[idx] && (m.n == max || rng() % 2))
				remove_flow(&ct, &m, idx);
			else if (m.n < max)
				insert(&ct, &m, k++, CT_UDP, op);
			else
				assert_int_equal(ct_alloc(&ct), FLOW_NONE);
			model_check(&ct, &m);
		}
		model_free(&m);
		ct_free(&ct);
	}
}

/* The default table: its flows handed out in order, each all zero, the
 * ones given back reused first, and nothing above the highest handed out
 * ever touched (ct->used)
 */
static void test_alloc(void **state)
{
	static const struct flow zero;
	struct conntrack ct;
	uint32_t i, a, b;

	(void)state;
	assert_int_equal(ct_init(&ct, FLOWS_DEFAULT), 0);
	assert_int_equal(ct.max, 65536);
	assert_true(ct.mask + 1 >= 2 * SIDES * ct.max);
	assert_int_equal(ct.used, 0);
	for (i = 0; i < 3; i++) {
		uint32_t idx = ct_alloc(&ct);

		assert_int_equal(idx, i);
		memset(&ct.flows[idx], 0x5a, sizeof(ct.flows[idx]));
		ct.flows[idx].proto = IPPROTO_UDP;
		ct.flows[idx].pif[INISIDE] = PIF_TAP;
		ct.flows[idx].pif[TGTSIDE] = PIF_HOST;
		ct.flows[idx].side[TGTSIDE].oport = (uint16_t)i;
		ct_insert(&ct, idx, CT_UDP, 5);
	}
	assert_int_equal(ct.used, 3);
	ct_remove(&ct, 1);
	ct_remove(&ct, 0);
	a = ct_alloc(&ct);
	b = ct_alloc(&ct);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_memory_equal(&ct.flows[a], &zero, sizeof(zero));
	assert_memory_equal(&ct.flows[b], &zero, sizeof(zero));
	assert_int_equal(ct_alloc(&ct), 3);
	assert_int_equal(ct.used, 4);
	ct_free(&ct);
}

/* Timeouts default to Linux 6.x conntrack's, named as --timeout names
 * them; a timeout set in the table is the one flows get
 */
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
		{ "udp-stream", CT_UDP_STREAM, 120 },
		{ "icmp", CT_ICMP, 30 },
	};
	struct conntrack ct;
	struct model m;
	size_t i;

	(void)state;
	rng_seed(30);
	assert_int_equal(ct_init(&ct, 4), 0);
	model_init(&m, 4);
	assert_int_equal(ARRAY_SIZE(t), CT_STATES);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		uint32_t idx;

		assert_string_equal(ct_state_name[t[i].s], t[i].name);
		assert_int_equal(ct_timeout_default[t[i].s], t[i].secs);
		assert_int_equal(ct.timeout[t[i].s], t[i].secs);
		ct.timeout[t[i].s] = 7 + (uint32_t)i;
		idx = insert(&ct, &m, (uint32_t)i, t[i].s, 1000);
		assert_int_equal(ct.flows[idx].expires, 1007 + i);
		ct_refresh(&ct, idx, t[i].s, 2000);
		assert_int_equal(ct.flows[idx].expires, 2007 + i);
		remove_flow(&ct, &m, idx);
	}
	model_free(&m);
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

/* Flags as one byte, the way l4_parse() leaves them; sides */
#define SYN	TH_SYN
#define ACK	TH_ACK
#define FIN	TH_FIN
#define RST	TH_RST
#define PSH	TH_PUSH
#define G	INISIDE
#define P	TGTSIDE

/* Bytes a segment with PSH carries in the simulation */
#define DATA	100
/* Windows the endpoints advertise, unscaled */
#define WIN	65535
/* Linux's least window an acknowledgement may lag by (MAXACKWINCONST) */
#define ACKWIN	66000

/* How a step's segment is made */
enum how {
	NEXT,		/* at the side's next sequence number */
	RTX,		/* the side's last segment again */
	NEWISN,		/* a SYN of a new connection, with a new ISN */
	OLDACK,		/* acknowledging only the other side's SYN */
};

/**
 * struct sim - two TCP endpoints and the flow between them
 * @f:		the flow, as conntrack.c keeps it
 * @isn:	per side, initial sequence number
 * @nxt:	per side, next sequence number to send (SND.NXT)
 * @last:	per side, sequence number of its last segment taken
 * @lastlen:	per side, its payload length
 */
struct sim {
	struct flow f;
	uint32_t isn[SIDES];
	uint32_t nxt[SIDES];
	uint32_t last[SIDES];
	size_t lastlen[SIDES];
};

/**
 * struct step - one segment and what it must lead to
 * @from:	G or P
 * @flags:	its flags
 * @how:	enum how
 * @ret:	0 if it must be taken, -1 if refused
 * @to:		state after it
 */
struct step {
	unsigned int from;
	uint8_t flags;
	enum how how;
	int ret;
	enum ct_state to;
};

/* seg() - a segment as l4_parse() describes it: flags, sequence and
 * acknowledgement numbers, @len bytes of payload, unscaled window
 */
static struct l4_view seg(uint8_t flags, uint32_t seq, uint32_t ack,
			  size_t len)
{
	static const uint8_t payload[DATA * 100];
	struct l4_view l4;

	assert_true(len <= sizeof(payload));
	memset(&l4, 0, sizeof(l4));
	l4.proto = IPPROTO_TCP;
	l4.flags = flags;
	l4.seq = seq;
	l4.ack = (flags & ACK) ? ack : 0;
	l4.win = WIN;
	l4.wscale = L4_NO_WSCALE;
	l4.data.p = payload;
	l4.data.len = len;
	return l4;
}

/* seq_end() - what a segment occupies: its payload, SYN and FIN */
static uint32_t seq_end(const struct l4_view *l4)
{
	return l4->seq + (uint32_t)l4->data.len + !!(l4->flags & SYN) +
	       !!(l4->flags & FIN);
}

/* track() - ct_tcp_track() on the simulated flow: if refused, nothing of
 * the flow may have changed; if taken, the endpoint's numbers move on
 *
 * Return: what ct_tcp_track() returned; @to set to the state after it
 */
static int track(struct sim *s, unsigned int side, const struct l4_view *l4,
		 enum ct_state *to)
{
	struct flow before = s->f;
	int ret;

	*to = CT_STATES;
	ret = ct_tcp_track(&s->f, side, l4, to);
	if (ret) {
		assert_int_equal(ret, -1);
		assert_int_equal(*to, before.state);
		assert_memory_equal(&s->f, &before, sizeof(before));
		return ret;
	}
	s->f.state = (uint8_t)*to;	/* as fwd.c's ct_refresh() does */
	s->last[side] = l4->seq;
	s->lastlen[side] = l4->data.len;
	if ((int32_t)(seq_end(l4) - s->nxt[side]) > 0)
		s->nxt[side] = seq_end(l4);
	return 0;
}

/* step_seg() - the segment a step sends */
static struct l4_view step_seg(struct sim *s, const struct step *st)
{
	unsigned int o = !st->from;
	size_t len = (st->flags & PSH) ? DATA : 0;
	uint32_t seq = s->nxt[st->from], ack = s->nxt[o];

	if (st->how == NEWISN)
		s->isn[st->from] += 0x40000000;
	if (st->how == RTX) {
		seq = s->last[st->from];
		len = s->lastlen[st->from];
	}
	if (st->flags & SYN)
		seq = s->isn[st->from];
	if (st->how == OLDACK)
		ack = s->isn[o] + 1;
	return seg(st->flags, seq, ack, len);
}

/* play() - the steps, each checked */
static void play(struct sim *s, const struct step *st, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct l4_view l4 = step_seg(s, &st[i]);
		enum ct_state from = s->f.state, to;
		int ret = track(s, st[i].from, &l4, &to);

		if (ret != st[i].ret || to != st[i].to)
			fail_msg("step %zu (%s, flags %#x) from %s: %s, %s; "
				 "not %s, %s", i,
				 st[i].from == G ? "guest" : "peer",
				 st[i].flags, ct_state_name[from],
				 ret ? "refused" : "taken", ct_state_name[to],
				 st[i].ret ? "refused" : "taken",
				 ct_state_name[st[i].to]);
	}
}

/* sim_start() - a flow as fwd.c creates it, in SYN_SENT, and the guest's
 * first SYN through it
 */
static void sim_start(struct sim *s)
{
	static const struct step syn = { G, SYN, NEXT, 0, CT_TCP_SYN_SENT };

	memset(s, 0, sizeof(*s));
	s->f.proto = IPPROTO_TCP;
	s->f.pif[INISIDE] = PIF_TAP;
	s->f.pif[TGTSIDE] = PIF_HOST;
	s->f.state = CT_TCP_SYN_SENT;
	s->isn[G] = rng();
	s->isn[P] = rng();
	s->nxt[G] = s->isn[G];
	s->nxt[P] = s->isn[P];
	play(s, &syn, 1);
}

/* run() - a fresh flow, then the steps */
static void run(const struct step *st, size_t n)
{
	struct sim s;

	sim_start(&s);
	play(&s, st, n);
}

/* The three-way handshake, and retransmissions and strays on the way:
 * before the peer's SYN-ACK, nothing but SYNs is taken
 */
static void test_tcp_handshake(void **state)
{
	static const struct step st[] = {
		{ G, SYN, NEXT, 0, CT_TCP_SYN_SENT },	/* retransmitted */
		{ G, ACK, NEXT, -1, CT_TCP_SYN_SENT },	/* nothing moves it */
		{ G, FIN | ACK, NEXT, -1, CT_TCP_SYN_SENT },
		{ P, ACK, NEXT, -1, CT_TCP_SYN_SENT },
		{ G, SYN | ACK, NEXT, -1, CT_TCP_SYN_SENT }, /* the guest's */
		{ P, SYN, NEXT, 0, CT_TCP_SYN_SENT },	/* simultaneous open */
		{ P, SYN | ACK, NEXT, 0, CT_TCP_SYN_RECV },
		{ P, SYN | ACK, RTX, 0, CT_TCP_SYN_RECV }, /* retransmitted */
		{ P, ACK, NEXT, 0, CT_TCP_SYN_RECV },	/* the peer's: no */
		{ G, SYN | ACK, NEXT, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
		{ G, ACK | PSH, NEXT, 0, CT_TCP_ESTABLISHED },
		{ P, ACK | PSH, NEXT, 0, CT_TCP_ESTABLISHED },
		{ P, SYN | ACK, OLDACK, -1, CT_TCP_ESTABLISHED }, /* late */
		{ G, SYN, NEXT, 0, CT_TCP_ESTABLISHED },	/* no reopen */
		{ G, ACK | PSH, NEXT, 0, CT_TCP_ESTABLISHED },
		{ P, ACK | PSH, NEXT, 0, CT_TCP_ESTABLISHED },
	};

	(void)state;
	rng_seed(9293);
	run(st, ARRAY_SIZE(st));
}

/* The guest closes first; then the peer closes first; then both at once */
static void test_tcp_close(void **state)
{
	static const struct step guest_first[] = {
		{ P, SYN | ACK, NEXT, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
		{ G, FIN | ACK, NEXT, 0, CT_TCP_FIN_WAIT },
		{ P, ACK, NEXT, 0, CT_TCP_FIN_WAIT },
		{ G, FIN | ACK, RTX, 0, CT_TCP_FIN_WAIT },
		{ P, ACK | PSH, NEXT, 0, CT_TCP_FIN_WAIT },	/* half open */
		{ P, FIN | ACK, NEXT, 0, CT_TCP_LAST_ACK },
		{ P, FIN | ACK, RTX, 0, CT_TCP_LAST_ACK },
		{ G, ACK, NEXT, 0, CT_TCP_TIME_WAIT },
		{ G, ACK, NEXT, 0, CT_TCP_TIME_WAIT },
		{ P, FIN | ACK, RTX, 0, CT_TCP_TIME_WAIT },
	};
	static const struct step peer_first[] = {
		{ P, SYN | ACK, NEXT, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
		{ P, FIN | ACK, NEXT, 0, CT_TCP_CLOSE_WAIT },
		{ G, ACK, NEXT, 0, CT_TCP_CLOSE_WAIT },
		{ G, ACK | PSH, NEXT, 0, CT_TCP_CLOSE_WAIT },
		{ G, FIN | ACK, NEXT, 0, CT_TCP_LAST_ACK },
		{ P, ACK, NEXT, 0, CT_TCP_TIME_WAIT },
	};
	static const struct step simultaneous[] = {
		{ P, SYN | ACK, NEXT, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
		{ G, FIN | ACK, NEXT, 0, CT_TCP_FIN_WAIT },
		{ P, FIN | ACK, NEXT, 0, CT_TCP_LAST_ACK },
		{ G, FIN | ACK, RTX, 0, CT_TCP_LAST_ACK },	/* crossed */
		{ P, ACK, NEXT, 0, CT_TCP_TIME_WAIT },
	};
	/* Linux: SYN_RECV and a FIN from the guest go to FIN_WAIT */
	static const struct step fin_in_syn_recv[] = {
		{ P, SYN | ACK, NEXT, 0, CT_TCP_SYN_RECV },
		{ G, FIN | ACK, NEXT, 0, CT_TCP_FIN_WAIT },
		{ P, FIN | ACK, NEXT, 0, CT_TCP_LAST_ACK },
		{ G, ACK, NEXT, 0, CT_TCP_TIME_WAIT },
	};

	(void)state;
	rng_seed(793);
	run(guest_first, ARRAY_SIZE(guest_first));
	run(peer_first, ARRAY_SIZE(peer_first));
	run(simultaneous, ARRAY_SIZE(simultaneous));
	run(fin_in_syn_recv, ARRAY_SIZE(fin_in_syn_recv));
}

/* established() - a flow through its handshake, data both ways */
static void established(struct sim *s)
{
	static const struct step st[] = {
		{ P, SYN | ACK, NEXT, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
		{ G, ACK | PSH, NEXT, 0, CT_TCP_ESTABLISHED },
		{ P, ACK | PSH, NEXT, 0, CT_TCP_ESTABLISHED },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
	};

	sim_start(s);
	play(s, st, ARRAY_SIZE(st));
}

/* A reset in the window from either side closes the flow from any state,
 * whatever else it carries; then only a new SYN from the guest reopens it
 */
static void test_tcp_reset(void **state)
{
	static const uint8_t extra[] = { 0, ACK, FIN | ACK };
	static const struct step after[] = {
		{ P, SYN | ACK, NEXT, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
		{ P, RST, NEXT, 0, CT_TCP_CLOSE },
		{ G, ACK, NEXT, 0, CT_TCP_CLOSE },
		{ P, ACK, NEXT, 0, CT_TCP_CLOSE },
		{ G, FIN | ACK, NEXT, 0, CT_TCP_CLOSE },
		{ P, SYN | ACK, NEXT, 0, CT_TCP_CLOSE },
		{ P, SYN, NEXT, 0, CT_TCP_CLOSE },	/* not the peer's */
		{ G, SYN | ACK, NEXT, 0, CT_TCP_CLOSE },
		{ G, SYN, NEWISN, 0, CT_TCP_SYN_SENT },	/* reopened */
		{ P, SYN | ACK, NEWISN, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
	};
	struct sim base;
	unsigned int from;
	size_t i;
	int s;

	(void)state;
	rng_seed(5961);
	established(&base);
	for (s = CT_TCP_SYN_SENT; s <= CT_TCP_CLOSE; s++) {
		for (from = G; from <= P; from++) {
			for (i = 0; i < ARRAY_SIZE(extra); i++) {
				struct step st = { from, RST | extra[i], NEXT,
						   0, CT_TCP_CLOSE };
				struct sim sim = base;

				sim.f.state = (uint8_t)s;
				play(&sim, &st, 1);
			}
		}
	}
	run(after, ARRAY_SIZE(after));
}

/* RST with SYN, with or without ACK, is no valid segment (RFC 9293 3.10.7
 * looks at RST before SYN; Linux conntrack's tcp_valid_flags() refuses the
 * combination): refused in every state, from either side, and the flow is
 * left as it was
 */
static void test_tcp_reset_syn(void **state)
{
	static const uint8_t extra[] = { 0, ACK };
	struct sim base;
	unsigned int from;
	size_t i;
	int s;

	(void)state;
	rng_seed(5962);
	established(&base);
	for (s = CT_TCP_SYN_SENT; s <= CT_TCP_CLOSE; s++) {
		for (from = G; from <= P; from++) {
			for (i = 0; i < ARRAY_SIZE(extra); i++) {
				struct sim sim = base;
				struct l4_view l4 = seg(RST | SYN | extra[i],
							sim.nxt[from],
							sim.nxt[!from], 0);
				enum ct_state to;
				struct flow before;
				int ret;

				sim.f.state = (uint8_t)s;
				before = sim.f;
				ret = track(&sim, from, &l4, &to);
				if (!ret || memcmp(&before, &sim.f,
						   sizeof(before)))
					fail_msg("RST|SYN%s from the %s in %s: "
						 "%s", extra[i] ? "|ACK" : "",
						 from == G ? "guest" : "peer",
						 ct_state_name[s], ret ?
						 "refused, yet the flow changed" :
						 "taken");
			}
		}
	}
}

/* A new connection on the same ports after TIME_WAIT or CLOSE starts over:
 * the FINs of the old one are forgotten, its windows too
 */
static void test_tcp_reopen(void **state)
{
	static const struct step st[] = {
		{ P, SYN | ACK, NEXT, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
		{ G, FIN | ACK, NEXT, 0, CT_TCP_FIN_WAIT },
		{ P, FIN | ACK, NEXT, 0, CT_TCP_LAST_ACK },
		{ G, ACK, NEXT, 0, CT_TCP_TIME_WAIT },
		{ P, SYN, NEWISN, 0, CT_TCP_TIME_WAIT },	/* it can't */
		{ G, SYN, NEWISN, 0, CT_TCP_SYN_SENT },
		{ P, ACK, NEXT, -1, CT_TCP_SYN_SENT },	/* the old one's */
		{ P, SYN | ACK, NEWISN, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
		{ G, ACK | PSH, NEXT, 0, CT_TCP_ESTABLISHED },	/* no FINs */
		{ P, FIN | ACK, NEXT, 0, CT_TCP_CLOSE_WAIT },	/* the peer */
		{ G, RST | ACK, NEXT, 0, CT_TCP_CLOSE },
		{ G, SYN, NEWISN, 0, CT_TCP_SYN_SENT },
		{ P, SYN | ACK, NEWISN, 0, CT_TCP_SYN_RECV },
		{ G, ACK, NEXT, 0, CT_TCP_ESTABLISHED },
		{ G, FIN | ACK, NEXT, 0, CT_TCP_FIN_WAIT },	/* the guest */
	};
	struct sim base;
	int s;

	(void)state;
	rng_seed(1122);
	run(st, ARRAY_SIZE(st));

	/* Only TIME_WAIT, CLOSE (and SYN_SENT itself) are reopened */
	established(&base);
	for (s = CT_TCP_SYN_SENT; s <= CT_TCP_CLOSE; s++) {
		bool reopens = s == CT_TCP_SYN_SENT || s == CT_TCP_TIME_WAIT ||
			       s == CT_TCP_CLOSE;
		struct step syn = { G, SYN, NEWISN, 0,
				    reopens ? CT_TCP_SYN_SENT : s };
		struct sim sim = base;

		sim.f.state = (uint8_t)s;
		sim.f.flags = CT_FIN(G) | CT_FIN(P) | CT_FIN_FIRST(P);
		play(&sim, &syn, 1);
		if (reopens)
			assert_int_equal(sim.f.flags, 0);
		else
			assert_int_equal(sim.f.flags, CT_FIN(G) | CT_FIN(P) |
						      CT_FIN_FIRST(P));
	}
}

/* The FIN flags follow what each side sent, and which side sent it first,
 * only once SYN_SENT is past
 */
static void test_tcp_fin_bits(void **state)
{
	static const struct step syn_sent[] = {
		{ G, FIN | ACK, NEXT, -1, CT_TCP_SYN_SENT },
	};
	static const struct step peer_fin[] = {
		{ P, FIN | ACK, NEXT, 0, CT_TCP_CLOSE_WAIT },
		{ G, FIN | ACK, NEXT, 0, CT_TCP_LAST_ACK },
		{ P, ACK, NEXT, 0, CT_TCP_TIME_WAIT },
	};
	static const struct step guest_fin[] = {
		{ G, FIN | ACK, NEXT, 0, CT_TCP_FIN_WAIT },
		{ P, FIN | ACK, NEXT, 0, CT_TCP_LAST_ACK },
		{ G, ACK, NEXT, 0, CT_TCP_TIME_WAIT },
	};
	struct sim s;

	(void)state;
	rng_seed(3);
	sim_start(&s);
	play(&s, syn_sent, 1);
	assert_int_equal(s.f.flags, 0);

	established(&s);
	play(&s, &peer_fin[0], 1);
	assert_int_equal(s.f.flags, CT_FIN(P) | CT_FIN_FIRST(P));
	play(&s, &peer_fin[1], 2);
	assert_int_equal(s.f.flags, CT_FIN(G) | CT_FIN(P) | CT_FIN_FIRST(P));

	established(&s);
	play(&s, &guest_fin[0], 1);
	assert_int_equal(s.f.flags, CT_FIN(G) | CT_FIN_FIRST(G));
	play(&s, &guest_fin[1], 2);
	assert_int_equal(s.f.flags, CT_FIN(G) | CT_FIN(P) | CT_FIN_FIRST(G));
}

/* try_seg() - a segment on a copy of @base: taken or not */
static int try_seg(const struct sim *base, unsigned int side,
		   struct l4_view l4)
{
	struct sim s = *base;
	enum ct_state to;

	return track(&s, side, &l4, &to);
}

/* window_edges() - from @side of an established flow, segments of each
 * kind at the edges of the window, as the other side advertised it (it
 * acknowledged everything and offered WIN): one sequence or
 * acknowledgement number inside is taken, one outside refused, and a
 * refused one changes nothing (track() checks)
 */
static void window_edges(const struct sim *base, unsigned int side)
{
	static const struct {
		uint8_t flags;
		size_t len;
	} kind[] = {
		{ RST, 0 }, { RST | ACK, 0 }, { FIN | ACK, 0 },
		{ ACK | PSH, DATA }, { ACK, 0 },
	};
	unsigned int o = !side;
	uint32_t nxt = base->nxt[side], onxt = base->nxt[o];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kind); i++) {
		uint8_t fl = kind[i].flags;
		size_t len = kind[i].len;
		uint32_t used = (uint32_t)len + !!(fl & FIN);

		/* In the window: taken */
		assert_int_equal(try_seg(base, side, seg(fl, nxt, onxt, len)),
				 0);

		/* I: starting no later than the right edge the other side
		 * offered; II: ending no earlier than a window back. A reset
		 * at an edge isn't asked to be taken (RFC 5961 would refuse
		 * it), only one past it to be refused
		 */
		if (!(fl & RST)) {
			assert_int_equal(try_seg(base, side,
						 seg(fl, nxt + WIN, onxt,
						     len)), 0);
			assert_int_equal(try_seg(base, side,
						 seg(fl, nxt - WIN - used,
						     onxt, len)), 0);
		}
		assert_int_equal(try_seg(base, side, seg(fl, nxt + WIN + 1,
							  onxt, len)), -1);
		assert_int_equal(try_seg(base, side,
					 seg(fl, nxt - WIN - used - 1, onxt,
					     len)), -1);
		assert_int_equal(try_seg(base, side,
					 seg(fl, nxt - 0x80000000U, onxt,
					     len)), -1);

		if (!(fl & ACK))
			continue;
		/* III: acknowledging nothing the other side didn't send */
		assert_int_equal(try_seg(base, side, seg(fl, nxt, onxt + 1,
							  len)), -1);
		assert_int_equal(try_seg(base, side,
					 seg(fl, nxt, onxt + 0x10000, len)),
				 -1);
		/* IV: nor something too long ago */
		assert_int_equal(try_seg(base, side,
					 seg(fl, nxt, onxt - ACKWIN, len)), 0);
		assert_int_equal(try_seg(base, side,
					 seg(fl, nxt, onxt - ACKWIN - 1, len)),
				 -1);
	}
}

/* Out-of-window RST, FIN, data and ACK, from either side, are refused and
 * change nothing; at the edges, one number in, they are taken
 */
static void test_tcp_window(void **state)
{
	struct sim s;

	(void)state;
	rng_seed(1323);
	established(&s);
	window_edges(&s, G);
	window_edges(&s, P);

	/* Far away (a late segment of an earlier connection, a blind
	 * reset): refused, the flow as it was
	 */
	assert_int_equal(try_seg(&s, P, seg(RST, s.nxt[P] + 0x40000000U, 0,
					     0)), -1);
	assert_int_equal(try_seg(&s, P, seg(FIN | ACK, s.nxt[P] - 0x40000000U,
					     s.nxt[G], 0)), -1);
	assert_int_equal(try_seg(&s, G, seg(ACK | PSH, s.nxt[G] + 0x40000000U,
					     s.nxt[P], DATA)), -1);
}

/* The peer's SYN-ACK must acknowledge the guest's SYN, exactly; before it,
 * a reset from the peer only with that acknowledgement
 */
static void test_tcp_syn_ack_and_rst(void **state)
{
	static const int32_t off[] = { -1, 1, 2, 0x10000, -0x10000 };
	struct sim s;
	uint32_t syn_end;
	enum ct_state to;
	size_t i;

	(void)state;
	rng_seed(7323);
	sim_start(&s);
	syn_end = s.isn[G] + 1;
	for (i = 0; i < ARRAY_SIZE(off); i++) {
		assert_int_equal(try_seg(&s, P, seg(SYN | ACK, s.isn[P],
						     syn_end + (uint32_t)off[i],
						     0)), -1);
		assert_int_equal(try_seg(&s, P, seg(RST | ACK, 0,
						     syn_end + (uint32_t)off[i],
						     0)), -1);
	}
	assert_int_equal(try_seg(&s, P, seg(RST, 0, 0, 0)), -1);
	assert_int_equal(try_seg(&s, P, seg(RST, s.isn[P], 0, 0)), -1);

	{
		struct sim r = s;
		struct l4_view l4 = seg(RST | ACK, 0, syn_end, 0);

		assert_int_equal(track(&r, P, &l4, &to), 0);
		assert_int_equal(to, CT_TCP_CLOSE);
	}
	{
		struct l4_view l4 = seg(SYN | ACK, s.isn[P], syn_end, 0);

		assert_int_equal(track(&s, P, &l4, &to), 0);
		assert_int_equal(to, CT_TCP_SYN_RECV);
	}
}

/* scaled() - a flow whose SYNs offered window scale @gs (guest) and @ps
 * (peer), L4_NO_WSCALE for none, then the guest's ACK with a window of
 * @win (to be scaled)
 */
static void scaled(struct sim *s, uint8_t gs, uint8_t ps, uint16_t win)
{
	struct l4_view l4;
	enum ct_state to;

	memset(s, 0, sizeof(*s));
	s->f.proto = IPPROTO_TCP;
	s->f.state = CT_TCP_SYN_SENT;
	s->isn[G] = s->nxt[G] = rng();
	s->isn[P] = s->nxt[P] = rng();

	l4 = seg(SYN, s->isn[G], 0, 0);
	l4.wscale = gs;
	assert_int_equal(track(s, G, &l4, &to), 0);
	l4 = seg(SYN | ACK, s->isn[P], s->isn[G] + 1, 0);
	l4.wscale = ps;
	assert_int_equal(track(s, P, &l4, &to), 0);
	assert_int_equal(to, CT_TCP_SYN_RECV);
	l4 = seg(ACK, s->isn[G] + 1, s->isn[P] + 1, 0);
	l4.win = win;
	assert_int_equal(track(s, G, &l4, &to), 0);
	assert_int_equal(to, CT_TCP_ESTABLISHED);
}

/* RFC 7323: with both SYNs carrying the option, windows are scaled: the
 * peer may send as far as the scaled window reaches, not further; with
 * either SYN without it, no window is
 */
static void test_tcp_window_scale(void **state)
{
	struct sim s;
	uint32_t base;

	(void)state;
	rng_seed(7);
	scaled(&s, 7, 2, 1000);			/* 1000 << 7 = 128000 */
	base = s.isn[P] + 1;
	assert_int_equal(try_seg(&s, P, seg(ACK | PSH, base + 100000,
					     s.nxt[G], DATA)), 0);
	assert_int_equal(try_seg(&s, P, seg(ACK, base + 128000, s.nxt[G],
					     0)), 0);
	assert_int_equal(try_seg(&s, P, seg(ACK, base + 128001, s.nxt[G],
					     0)), -1);

	scaled(&s, 7, L4_NO_WSCALE, 1000);	/* the peer has none */
	base = s.isn[P] + 1;
	assert_int_equal(try_seg(&s, P, seg(ACK, base + 1000, s.nxt[G], 0)),
			 0);
	assert_int_equal(try_seg(&s, P, seg(ACK | PSH, base + 100000,
					     s.nxt[G], DATA)), -1);

	scaled(&s, L4_NO_WSCALE, 7, 1000);	/* nor the guest */
	base = s.isn[P] + 1;
	assert_int_equal(try_seg(&s, P, seg(ACK | PSH, base + 100000,
					     s.nxt[G], DATA)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup_full),
		cmocka_unit_test(test_shared_host_port),
		cmocka_unit_test(test_sides_by_interface),
		cmocka_unit_test(test_remove_random_orders),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_expiry_strict),
		cmocka_unit_test(test_expiry_order),
		cmocka_unit_test(test_tcp_handshake),
		cmocka_unit_test(test_tcp_close),
		cmocka_unit_test(test_tcp_reset),
		cmocka_unit_test(test_tcp_reset_syn),
		cmocka_unit_test(test_tcp_reopen),
		cmocka_unit_test(test_tcp_fin_bits),
		cmocka_unit_test(test_tcp_window),
		cmocka_unit_test(test_tcp_syn_ack_and_rst),
		cmocka_unit_test(test_tcp_window_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
