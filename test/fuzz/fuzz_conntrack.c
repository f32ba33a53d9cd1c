// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_conntrack.c - libFuzzer harness: conntrack.c against a model of it
 *
 * Copyright (c) 2026 merd authors
 *
 * Drives conntrack.c's API alone (no sockets, no namespace needed) through
 * a sequence of operations decoded from the input, and checks after every
 * one of them the table against a model kept here: an array, by flow
 * number, of the live flows with their keys, state and expiry on a 64-bit
 * clock, looked up by scanning it.
 *
 * The input is a header, then operations:
 *
 *   byte 0	table size: 64 minus the byte modulo 64 (0: 64 flows; small
 *		tables have 2-, 4-, 8-slot indexes, which wrap all the time)
 *   byte 1	clock and timeouts:
 *		  bits 0-1  the clock starts at 1000, 300 s before it wraps
 *			    around, 300 s before 2^31, or at 0
 *		  bit 2	    the next CT_STATES bytes are timeouts, 1 to 256 s
 *			    (else Linux's, as merd has them)
 *		  bit 3	    one state's timeout, bits 4-7 modulo CT_STATES,
 *			    is the largest merd accepts (UINT32_MAX / 2)
 *   then	operations, a byte each: bits 0-2 what, bits 3-7 a parameter,
 *		then the operation's bytes (0 past the end of the input):
 *		  0 insert: protocol (modulo 3: TCP, UDP, ICMP), guest
 *		    address, guest port, destination address and port,
 *		    remote address, host port (addresses 4 bytes, ports 2)
 *		  1 insert a flow like a live one (byte: which, modulo the
 *		    live ones), but for two of its key fields (byte: one per
 *		    nibble) changed by a 32-bit XOR
 *		  2 remove a live flow (byte: which)
 *		  3 refresh a live flow (byte: which) in a state (byte: a
 *		    TCP state for TCP flows, else UDP, UDP answered or ICMP),
 *		    after the parameter's seconds
 *		  4 a packet of a live flow (byte: which; byte: TCP flags;
 *		    parameter bit 0: from the peer), as fwd_track() handles
 *		    it: for a TCP flow ct_tcp_track(), then ct_refresh() in
 *		    the state it returned; UDP and ICMP flows refreshed in the
 *		    state fwd.c gives them
 *		  5, 6 look up by the guest side, by the host side: the key of
 *		    a live flow (byte: which) with one field (byte: bits 0-4,
 *		    modulo 7) changed by a 32-bit XOR (0: the flow's own key),
 *		    or with bit 7 by one byte of it (bits 5-6: which), so
 *		    that keys differing in one byte are probed often
 *		  7 time: the clock moves on by 16 bits of seconds; with
 *		    parameter bit 0, expired flows are removed as fwd_timer()
 *		    does, ct_expired() until it returns FLOW_NONE
 *
 * Inserts keep to conntrack.c's contract: a flow whose guest-side or
 * host-side key is already tracked is not inserted (merd looks the guest
 * side up first, and a host port is held by one flow). The clock only goes
 * forward, by at most 65535 s an operation and FUZZ_CLOCK_MAX an input,
 * and the timeouts are set once, as merd sets them: expiries on the model's
 * 64-bit clock stay within 2^31 s of it, as they must for the table's
 * 32-bit clock, whose wrap-around conntrack.c must handle.
 *
 * Invariants, checked after every operation (abort() on any violation):
 * - every live flow is found by ct_lookup_guest() and ct_lookup_host() with
 *   its own keys, and returns its own number; its keys, state, socket and
 *   expiry are what the model holds;
 * - a probe with another key finds the flow with exactly that key, if any,
 *   else FLOW_NONE; a removed flow is not found by either key, then and
 *   after each of the next operations (the last FUZZ_GONE removed), unless
 *   a new flow has its key;
 * - @count is the model's count; an insert fails if and only if the table
 *   is full, and otherwise returns a flow number that wasn't live;
 * - ct_expired() returns a flow past its expiry (its timeout after its
 *   last refresh, on the 64-bit clock) or, only if there is none,
 *   FLOW_NONE; after expired flows are removed, none is past its expiry;
 * - ct_tcp_track() returns a TCP state, CT_TCP_CLOSE for a reset, changes
 *   nothing but the flow's FIN bits (bits 0 and 1 only), loses none of them
 *   unless the flow starts again (CT_TCP_SYN_SENT, none left), notes a FIN
 *   once the handshake is under way; a flow gets to SYN received only by a
 *   SYN-ACK from the peer, from there to established only by an ACK from
 *   the guest; a flow driven only by it since its insert stays in the
 *   states and FIN bits it can reach from CT_TCP_SYN_SENT;
 * - the table itself: each index holds each live flow once, nothing else,
 *   each where a probe from its home slot finds it, no gap in between; each
 *   aging list holds exactly the live flows of its state, linked both ways,
 *   in expiry order; the free list holds exactly the other flows.
 *
 * The SipHash key is fixed after ct_init(), so that an input does the same
 * every time it runs.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "conntrack.h"

/* The checks and the model aren't merd's code: no coverage feedback from
 * their loops, which would steer the fuzzer to nothing
 */
#if defined(__clang__)
#define NOCOV	__attribute__((no_sanitize("coverage")))
#else
#define NOCOV
#endif

#define FUZZ_FLOWS_MAX	64
#define FUZZ_TIMEOUT_BIG	(UINT32_MAX / 2)	/* conf.c's largest */
#define FUZZ_GONE	8	/* removed flows whose keys are probed */

/* How far the clock goes in one input: a flow past its expiry that long is
 * still seen as past it on the 32-bit clock (merd's timer runs every second)
 */
#define FUZZ_CLOCK_MAX	(1ULL << 30)

/* The clock starts in the middle of nowhere, before a wrap-around, or
 * before the 32-bit difference changes sign
 */
static const uint32_t fuzz_clock_start[4] = {
	1000U, 0U - 300U, 0x80000000U - 300U, 0U,
};

/* Key fields an operation can change */
enum fuzz_field {
	F_PROTO, F_GADDR, F_GPORT, F_DADDR, F_DPORT, F_RADDR, F_HPORT,
	F_FIELDS,
};

/* Operations */
enum fuzz_op {
	OP_INSERT, OP_INSERT_LIKE, OP_REMOVE, OP_REFRESH, OP_TRACK,
	OP_LOOKUP_GUEST, OP_LOOKUP_HOST, OP_TIME,
};

/**
 * struct mflow - the model of one flow
 * @live:	tracked
 * @tracked:	a TCP flow whose state came only from its insert and
 *		ct_tcp_track(), never from a refresh with a made-up state
 * @f:		keys (@proto, @gaddr, @gport, @daddr, @dport, @raddr,
 *		@hport), @haddr, @fd, @state and @fin as the table must hold
 *		them; the rest unused
 * @expires:	expiry on the model's clock
 */
struct mflow {
	bool live;
	bool tracked;
	struct flow f;
	uint64_t expires;
};

/**
 * struct fuzz_state - one input's run
 * @ct:		the table under test
 * @m:		the model, by flow number
 * @count:	live flows in the model
 * @now:	the model's clock, never wrapping
 * @start:	the table's clock when @now was 0
 * @fd:		next made-up socket number for an inserted flow
 * @gone:	keys of the last FUZZ_GONE flows removed
 * @ngone:	flows removed so far
 * @in:		what is left of the input
 * @left:	its length
 */
struct fuzz_state {
	struct conntrack ct;
	struct mflow m[FUZZ_FLOWS_MAX];
	uint32_t count;
	uint64_t now;
	uint32_t start;
	int fd;
	struct flow gone[FUZZ_GONE];
	uint32_t ngone;
	const uint8_t *in;
	size_t left;
};

static struct fuzz_state st;

/* Where invariant failures are reported: stderr as it was at start-up,
 * kept open when libFuzzer's -close_fd_mask=2 closes it
 */
static FILE *fuzz_err;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/**
 * fail() - report a broken invariant on fuzz_err, and abort
 * @fmt:	printf() format of the report, without newline
 * @...:	its arguments
 */
__attribute__((format(printf, 1, 2), noreturn))
static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_conntrack: invariant broken: ", fuzz_err);
	va_start(ap, fmt);
	vfprintf(fuzz_err, fmt, ap);
	va_end(ap);
	fputc('\n', fuzz_err);
	fflush(fuzz_err);
	abort();
}

/**
 * LLVMFuzzerInitialize() - keep a copy of stderr for reports
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_err = fdopen(dup(STDERR_FILENO), "w");
	if (!fuzz_err)
		fuzz_err = stderr;
	return 0;
}

/* Decoding the input */

/**
 * in_u8() - take a byte of the input
 *
 * Return: the byte, 0 past the end
 */
static uint8_t in_u8(void)
{
	if (!st.left)
		return 0;
	st.left--;
	return *st.in++;
}

/**
 * in_u16() - take two bytes of the input, big-endian
 *
 * Return: the value, 0 bytes past the end
 */
static uint16_t in_u16(void)
{
	uint16_t hi = in_u8();

	return (uint16_t)(hi << 8 | in_u8());
}

/**
 * in_u32() - take four bytes of the input, as an address in network order
 *
 * Return: the value, 0 bytes past the end
 */
static uint32_t in_u32(void)
{
	uint8_t b[4];
	uint32_t v;
	int i;

	for (i = 0; i < 4; i++)
		b[i] = in_u8();
	memcpy(&v, b, sizeof(v));
	return v;
}

/* The model */

/**
 * now32() - the table's clock
 *
 * Return: the model's clock as conntrack.c sees it, wrapping around
 */
static uint32_t now32(void)
{
	return (uint32_t)(st.start + st.now);
}

/**
 * clock_add() - move both clocks on, up to FUZZ_CLOCK_MAX in all
 * @secs:	seconds
 */
static void clock_add(uint32_t secs)
{
	if (st.now + secs <= FUZZ_CLOCK_MAX)
		st.now += secs;
}

/**
 * same_guest() - tell whether two flows have the same guest-side key
 * @a:		flow
 * @b:		flow
 *
 * Return: true if protocol, guest address and port, destination address
 *	   and port are the same
 */
NOCOV static bool same_guest(const struct flow *a, const struct flow *b)
{
	return a->proto == b->proto && a->gaddr == b->gaddr &&
	       a->gport == b->gport && a->daddr == b->daddr &&
	       a->dport == b->dport;
}

/**
 * same_host() - tell whether two flows have the same host-side key
 * @a:		flow
 * @b:		flow
 *
 * Return: true if protocol, host port, remote address and destination port
 *	   are the same
 */
NOCOV static bool same_host(const struct flow *a, const struct flow *b)
{
	return a->proto == b->proto && a->hport == b->hport &&
	       a->raddr == b->raddr && a->dport == b->dport;
}

/**
 * model_find() - look a key up in the model, by scanning it
 * @k:		flow holding the key
 * @host:	compare the host-side key, else the guest-side one
 *
 * Return: flow number, FLOW_NONE if no live flow has the key
 */
NOCOV static uint32_t model_find(const struct flow *k, bool host)
{
	uint32_t i;

	for (i = 0; i < st.ct.max; i++) {
		if (!st.m[i].live)
			continue;
		if (host ? same_host(&st.m[i].f, k) : same_guest(&st.m[i].f, k))
			return i;
	}
	return FLOW_NONE;
}

/**
 * model_pick() - choose a live flow
 * @sel:	which one, modulo the number of live flows
 * @tcp:	only TCP flows
 *
 * Return: flow number, FLOW_NONE if there is none
 */
NOCOV static uint32_t model_pick(uint8_t sel, bool tcp)
{
	uint32_t i, n = 0, k;

	for (i = 0; i < st.ct.max; i++)
		n += st.m[i].live && (!tcp || st.m[i].f.proto == IPPROTO_TCP);
	if (!n)
		return FLOW_NONE;
	k = sel % n;
	for (i = 0; i < st.ct.max; i++) {
		if (!st.m[i].live || (tcp && st.m[i].f.proto != IPPROTO_TCP))
			continue;
		if (!k--)
			return i;
	}
	return FLOW_NONE;
}

/**
 * model_expired() - tell whether a model flow is past its expiry
 * @m:		flow
 *
 * Return: true if the model's clock is past its expiry
 */
NOCOV static bool model_expired(const struct mflow *m)
{
	return m->live && st.now > m->expires;
}

/**
 * field_xor() - change one key field of a flow
 * @f:		flow
 * @field:	which, modulo F_FIELDS
 * @v:		XOR to apply (as much of it as the field holds)
 */
static void field_xor(struct flow *f, unsigned int field, uint32_t v)
{
	switch (field % F_FIELDS) {
	case F_PROTO:
		f->proto ^= (uint8_t)v;
		break;
	case F_GADDR:
		f->gaddr ^= v;
		break;
	case F_GPORT:
		f->gport ^= (uint16_t)v;
		break;
	case F_DADDR:
		f->daddr ^= v;
		break;
	case F_DPORT:
		f->dport ^= (uint16_t)v;
		break;
	case F_RADDR:
		f->raddr ^= v;
		break;
	default:
		f->hport ^= (uint16_t)v;
		break;
	}
}

/* Checks */

/**
 * check_index() - an index holds each live flow once, where a probe from
 *		   its home slot finds it, and nothing else
 * @tab:	index
 * @host:	the host-side index, else the guest-side one
 */
NOCOV static void check_index(const uint32_t *tab, bool host)
{
	const struct conntrack *ct = &st.ct;
	const char *name = host ? "host" : "guest";
	uint8_t seen[FUZZ_FLOWS_MAX] = { 0 };
	uint32_t i, j, n = 0;

	for (i = 0; i <= ct->mask; i++) {
		const struct flow *f;
		uint32_t home;

		if (tab[i] == FLOW_NONE)
			continue;
		if (tab[i] >= ct->max || !st.m[tab[i]].live)
			fail("%s index slot %u holds %u, not a live flow", name,
			     i, tab[i]);
		if (seen[tab[i]]++)
			fail("%s index holds flow %u twice", name, tab[i]);
		n++;

		/* From the home slot to here, no empty slot */
		f = &ct->flows[tab[i]];
		home = (host ? f->hhash : f->ghash) & ct->mask;
		for (j = home; j != i; j = (j + 1) & ct->mask)
			if (tab[j] == FLOW_NONE)
				fail("%s index: flow %u in slot %u, home %u, "
				     "empty slot %u in between", name, tab[i],
				     i, home, j);
	}
	if (n != st.count)
		fail("%s index holds %u flows, %u live", name, n, st.count);
}

/**
 * check_lists() - aging lists hold the live flows of their states, linked
 *		   both ways, in expiry order; the free list the others
 */
NOCOV static void check_lists(void)
{
	const struct conntrack *ct = &st.ct;
	uint8_t seen[FUZZ_FLOWS_MAX] = { 0 };
	uint32_t i, n, total = 0;
	int s;

	for (s = 0; s < CT_STATES; s++) {
		uint32_t prev = FLOW_NONE;

		n = 0;
		for (i = ct->aging[s].head; i != FLOW_NONE;
		     i = ct->flows[i].next) {
			if (i >= ct->max || !st.m[i].live || seen[i]++)
				fail("aging list %s: flow %u not live, or "
				     "twice", ct_state_name[s], i);
			if (ct->flows[i].state != s)
				fail("flow %u of state %u in list %s", i,
				     ct->flows[i].state, ct_state_name[s]);
			if (ct->flows[i].prev != prev)
				fail("flow %u: prev %u, not %u", i,
				     ct->flows[i].prev, prev);
			if (prev != FLOW_NONE &&
			    st.m[i].expires < st.m[prev].expires)
				fail("aging list %s: flow %u expires before "
				     "flow %u, ahead of it", ct_state_name[s],
				     i, prev);
			prev = i;
			n++;
		}
		if (ct->aging[s].tail != prev)
			fail("aging list %s: tail %u, last %u",
			     ct_state_name[s], ct->aging[s].tail, prev);
		total += n;
	}
	if (total != st.count)
		fail("aging lists hold %u flows, %u live", total, st.count);

	n = 0;
	for (i = ct->free; i != FLOW_NONE; i = ct->flows[i].next) {
		if (i >= ct->max || st.m[i].live || seen[i]++)
			fail("free list: flow %u live, or twice", i);
		n++;
	}
	if (n != ct->max - st.count)
		fail("free list holds %u flows, %u of %u live", n, st.count,
		     ct->max);
}

/**
 * check_all() - the table against the model, after an operation
 */
NOCOV static void check_all(void)
{
	const struct conntrack *ct = &st.ct;
	uint32_t i, e, past = FLOW_NONE;

	if (ct->count != st.count)
		fail("count %u, %u live", ct->count, st.count);

	for (i = 0; i < ct->max; i++) {
		const struct mflow *m = &st.m[i];
		const struct flow *f = &ct->flows[i], *k = &m->f;

		if (!m->live)
			continue;
		if (ct_lookup_guest(ct, k->proto, k->gaddr, k->gport,
				    k->daddr, k->dport) != i)
			fail("flow %u not found by its guest side", i);
		if (ct_lookup_host(ct, k->proto, k->hport, k->raddr,
				   k->dport) != i)
			fail("flow %u not found by its host side", i);
		if (!same_guest(f, k) || !same_host(f, k) ||
		    f->haddr != k->haddr || f->fd != k->fd)
			fail("flow %u: keys, address or socket changed", i);
		if (f->state != k->state || f->fin != k->fin)
			fail("flow %u: state %u fin %u, not %u and %u", i,
			     f->state, f->fin, k->state, k->fin);
		if (f->expires != (uint32_t)(st.start + m->expires))
			fail("flow %u expires at %u, not %u", i, f->expires,
			     (uint32_t)(st.start + m->expires));
		if (model_expired(m))
			past = i;
	}

	/* Removed flows: not found, unless their key came back */
	for (i = 0; i < st.ngone && i < FUZZ_GONE; i++) {
		const struct flow *k = &st.gone[i];
		uint32_t g = model_find(k, false), h = model_find(k, true);

		if (ct_lookup_guest(ct, k->proto, k->gaddr, k->gport,
				    k->daddr, k->dport) != g ||
		    ct_lookup_host(ct, k->proto, k->hport, k->raddr,
				   k->dport) != h)
			fail("the keys of a removed flow find the wrong flow");
	}

	e = ct_expired(ct, now32());
	if (e != FLOW_NONE && (e >= ct->max || !model_expired(&st.m[e])))
		fail("ct_expired() returned flow %u, not past its expiry", e);
	if (e == FLOW_NONE && past != FLOW_NONE)
		fail("ct_expired() found nothing, flow %u is past its expiry "
		     "(%llu s)", past,
		     (unsigned long long)(st.now - st.m[past].expires));

	check_index(ct->gtab, false);
	check_index(ct->htab, true);
	check_lists();
}

/**
 * check_gone() - a removed flow's keys find nothing
 * @k:		the flow as it was
 */
NOCOV static void check_gone(const struct flow *k)
{
	if (ct_lookup_guest(&st.ct, k->proto, k->gaddr, k->gport, k->daddr,
			    k->dport) != FLOW_NONE)
		fail("removed flow found by its guest side");
	if (ct_lookup_host(&st.ct, k->proto, k->hport, k->raddr,
			   k->dport) != FLOW_NONE)
		fail("removed flow found by its host side");
}

/* Operations */

/**
 * do_insert() - insert a flow, unless one of its keys is tracked
 * @k:		keys of the new flow; the other fields are set here
 */
static void do_insert(struct flow *k)
{
	enum ct_state state;
	struct flow f;
	uint32_t idx;

	if (model_find(k, false) != FLOW_NONE ||
	    model_find(k, true) != FLOW_NONE)
		return;		/* not what merd would do */

	if (k->proto == IPPROTO_TCP)
		state = CT_TCP_SYN_SENT;
	else
		state = k->proto == IPPROTO_UDP ? CT_UDP : CT_ICMP;

	/* What ct_insert() sets itself comes in as garbage */
	memset(&f, 0x5a, sizeof(f));
	f.proto = k->proto;
	f.gaddr = k->gaddr;
	f.gport = k->gport;
	f.daddr = k->daddr;
	f.dport = k->dport;
	f.raddr = k->raddr;
	f.hport = k->hport;
	f.haddr = ~k->raddr;
	f.fd = st.fd++;

	idx = ct_insert(&st.ct, &f, state, now32());
	if (st.count == st.ct.max) {
		if (idx != FLOW_NONE)
			fail("insert into a full table returned %u", idx);
		return;
	}
	if (idx == FLOW_NONE)
		fail("insert failed with %u of %u flows", st.count,
		     st.ct.max);
	if (idx >= st.ct.max || st.m[idx].live)
		fail("insert returned flow %u, live or out of the table", idx);

	st.m[idx].live = true;
	st.m[idx].tracked = k->proto == IPPROTO_TCP;
	st.m[idx].f = f;
	st.m[idx].f.state = (uint8_t)state;
	st.m[idx].f.fin = 0;
	st.m[idx].expires = st.now + st.ct.timeout[state];
	st.count++;
}

/**
 * op_insert() - insert a flow with keys from the input
 */
static void op_insert(void)
{
	static const uint8_t proto[3] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	struct flow k;

	memset(&k, 0, sizeof(k));
	k.proto = proto[in_u8() % 3];
	k.gaddr = in_u32();
	k.gport = in_u16();
	k.daddr = in_u32();
	k.dport = in_u16();
	k.raddr = in_u32();
	k.hport = in_u16();
	do_insert(&k);
}

/**
 * op_insert_like() - insert a flow like a live one, two key fields changed
 */
static void op_insert_like(void)
{
	uint32_t idx = model_pick(in_u8(), false), va, vb;
	uint8_t fields = in_u8();
	struct flow k;

	va = in_u32();
	vb = in_u32();
	if (idx == FLOW_NONE)
		return;
	k = st.m[idx].f;
	field_xor(&k, fields & 0x0f, va);
	field_xor(&k, fields >> 4, vb);
	do_insert(&k);
}

/**
 * remove_flow() - remove a live flow from the table and the model
 * @idx:	flow number
 */
static void remove_flow(uint32_t idx)
{
	struct flow k = st.m[idx].f;

	ct_remove(&st.ct, idx);
	st.m[idx].live = false;
	st.count--;
	check_gone(&k);
	st.gone[st.ngone++ % FUZZ_GONE] = k;
}

/**
 * op_remove() - remove a live flow
 */
static void op_remove(void)
{
	uint32_t idx = model_pick(in_u8(), false);

	if (idx != FLOW_NONE)
		remove_flow(idx);
}

/**
 * refresh() - refresh a flow in a state, in the table and the model
 * @idx:	flow number
 * @state:	new state
 */
static void refresh(uint32_t idx, enum ct_state state)
{
	ct_refresh(&st.ct, idx, state, now32());
	st.m[idx].f.state = (uint8_t)state;
	st.m[idx].expires = st.now + st.ct.timeout[state];
}

/**
 * op_refresh() - refresh a live flow in a made-up state, after a while
 * @param:	seconds first
 */
static void op_refresh(unsigned int param)
{
	uint32_t idx = model_pick(in_u8(), false);
	uint8_t s = in_u8();
	enum ct_state state;

	clock_add(param);
	if (idx == FLOW_NONE)
		return;
	if (st.m[idx].f.proto == IPPROTO_TCP) {
		state = (enum ct_state)(s % (CT_TCP_CLOSE + 1));
		st.m[idx].tracked = false;
	} else {
		state = (enum ct_state)(CT_UDP + s % 3);
	}
	refresh(idx, state);
}

/**
 * tcp_reachable() - tell whether ct_tcp_track() can lead a flow from
 *		     CT_TCP_SYN_SENT without FIN bits to a state and FIN bits
 * @s:		state
 * @fin:	FIN bits
 *
 * Return: true if so: no FIN seen before FIN wait, the guest's FIN alone in
 *	   FIN wait, the peer's alone in close wait, both in last ACK and
 *	   time wait, anything in close
 */
NOCOV static bool tcp_reachable(enum ct_state s, uint8_t fin)
{
	switch (s) {
	case CT_TCP_SYN_SENT:
	case CT_TCP_SYN_RECV:
	case CT_TCP_ESTABLISHED:
		return !fin;
	case CT_TCP_FIN_WAIT:
		return fin == 1U << CT_FROM_GUEST;
	case CT_TCP_CLOSE_WAIT:
		return fin == 1U << CT_FROM_PEER;
	case CT_TCP_LAST_ACK:
	case CT_TCP_TIME_WAIT:
		return fin == 3;
	case CT_TCP_CLOSE:
		return fin <= 3;
	default:
		return false;
	}
}

/**
 * track_tcp() - one segment of a TCP flow through ct_tcp_track(), checked
 * @idx:	flow number
 * @from:	CT_FROM_GUEST or CT_FROM_PEER
 * @flags:	TCP flags
 *
 * Return: the state ct_tcp_track() returned
 */
NOCOV static enum ct_state track_tcp(uint32_t idx, int from, uint8_t flags)
{
	struct flow *f = &st.ct.flows[idx], before;
	struct mflow *m = &st.m[idx];
	enum ct_state s, old = m->f.state;

	memcpy(&before, f, sizeof(before));
	s = ct_tcp_track(f, from, flags);
	if (s > CT_TCP_CLOSE)
		fail("ct_tcp_track() returned state %d for flow %u, flags "
		     "%02x", s, idx, flags);
	if ((flags & TH_RST) && s != CT_TCP_CLOSE)
		fail("reset left flow %u in state %s", idx, ct_state_name[s]);
	if (f->fin & ~3U)
		fail("flow %u: FIN bits %02x", idx, f->fin);
	before.fin = f->fin;
	if (memcmp(&before, f, sizeof(before)))
		fail("ct_tcp_track() changed more than the FIN bits of flow "
		     "%u", idx);
	if ((m->f.fin & ~f->fin) && (s != CT_TCP_SYN_SENT || f->fin))
		fail("flow %u: FIN bits %u then %u, in state %s", idx,
		     m->f.fin, f->fin, ct_state_name[s]);
	if (m->tracked && !tcp_reachable(s, f->fin))
		fail("flow %u: %s with FIN bits %u, from %s and %u, flags "
		     "%02x from the %s", idx, ct_state_name[s], f->fin,
		     ct_state_name[m->f.state], m->f.fin, flags,
		     from == CT_FROM_PEER ? "peer" : "guest");

	/* What the states mean (conntrack.h) */
	if ((flags & (TH_FIN | TH_SYN | TH_RST)) == TH_FIN &&
	    old != CT_TCP_SYN_SENT && old != CT_TCP_CLOSE &&
	    !(f->fin & 1U << from))
		fail("flow %u: FIN from the %s in %s not noted", idx,
		     from == CT_FROM_PEER ? "peer" : "guest",
		     ct_state_name[old]);
	if (s == CT_TCP_SYN_RECV && old != CT_TCP_SYN_RECV &&
	    (from != CT_FROM_PEER ||
	     (flags & (TH_SYN | TH_ACK | TH_RST)) != (TH_SYN | TH_ACK)))
		fail("flow %u: %s to SYN received on flags %02x from the %s",
		     idx, ct_state_name[old], flags,
		     from == CT_FROM_PEER ? "peer" : "guest");
	if (old == CT_TCP_SYN_RECV && s == CT_TCP_ESTABLISHED &&
	    (from != CT_FROM_GUEST || !(flags & TH_ACK)))
		fail("flow %u: established on flags %02x from the %s", idx,
		     flags, from == CT_FROM_PEER ? "peer" : "guest");
	m->f.fin = f->fin;
	return s;
}

/**
 * op_track() - a packet of a live flow, as fwd_track() handles it
 * @param:	bit 0: from the peer
 */
static void op_track(unsigned int param)
{
	uint32_t idx = model_pick(in_u8(), false);
	int from = param & 1 ? CT_FROM_PEER : CT_FROM_GUEST;
	uint8_t flags = in_u8();
	enum ct_state s;

	if (idx == FLOW_NONE)
		return;
	switch (st.m[idx].f.proto) {
	case IPPROTO_TCP:
		s = track_tcp(idx, from, flags);
		break;
	case IPPROTO_UDP:
		s = (from == CT_FROM_PEER ||
		     st.m[idx].f.state == CT_UDP_STREAM) ? CT_UDP_STREAM :
		    CT_UDP;
		break;
	default:
		s = CT_ICMP;
		break;
	}
	refresh(idx, s);
}

/**
 * op_lookup() - look up a live flow's key, one field changed
 * @host:	by the host side, else by the guest side
 */
NOCOV static void op_lookup(bool host)
{
	uint32_t idx = model_pick(in_u8(), false), want, got;
	uint8_t field = in_u8();
	uint32_t v = in_u32();
	struct flow k;

	if (idx == FLOW_NONE)
		return;
	if (field & 0x80)
		v &= 0xffU << (8 * ((field >> 5) & 3));
	field &= 0x1f;
	k = st.m[idx].f;
	field_xor(&k, field, v);
	want = model_find(&k, host);
	if (host)
		got = ct_lookup_host(&st.ct, k.proto, k.hport, k.raddr,
				     k.dport);
	else
		got = ct_lookup_guest(&st.ct, k.proto, k.gaddr, k.gport,
				      k.daddr, k.dport);
	if (got != want)
		fail("%s-side lookup of flow %u's key, field %u ^ %08x, found "
		     "%u, not %u", host ? "host" : "guest", idx,
		     field % F_FIELDS, v, got, want);
}

/**
 * op_time() - the clock moves on; expired flows removed if asked
 * @param:	bit 0: remove expired flows, as fwd_timer()
 */
static void op_time(unsigned int param)
{
	uint32_t idx, i;

	clock_add(in_u16());
	if (!(param & 1))
		return;

	while ((idx = ct_expired(&st.ct, now32())) != FLOW_NONE) {
		if (idx >= st.ct.max || !model_expired(&st.m[idx]))
			fail("ct_expired() returned flow %u, not past its "
			     "expiry", idx);
		remove_flow(idx);
	}
	for (i = 0; i < st.ct.max; i++)
		if (model_expired(&st.m[i]))
			fail("flow %u still past its expiry after expiring",
			     i);
}

/**
 * timeout_set() - set a state's timeout by name, check it took
 * @name:	state name
 * @secs:	timeout
 */
static void timeout_set(const char *name, uint32_t secs)
{
	int s;

	if (ct_timeout_set(&st.ct, name, secs))
		fail("ct_timeout_set() refused %s", name);
	for (s = 0; s < CT_STATES; s++)
		if (!strcmp(ct_state_name[s], name) &&
		    st.ct.timeout[s] != secs)
			fail("ct_timeout_set() set %s to %u, not %u", name,
			     st.ct.timeout[s], secs);
}

/**
 * setup() - a new table as the header says
 */
static void setup(void)
{
	static const uint64_t key[2] = { 0x0706050403020100ULL,
					 0x0f0e0d0c0b0a0908ULL };
	uint32_t max = FUZZ_FLOWS_MAX - in_u8() % FUZZ_FLOWS_MAX;
	uint8_t clk = in_u8();
	int s;

	memset(st.m, 0, sizeof(st.m));
	st.count = 0;
	st.ngone = 0;
	st.now = 0;
	st.fd = 3;
	st.start = fuzz_clock_start[clk & 3];
	if (ct_init(&st.ct, max))
		abort();
	memcpy(st.ct.key, key, sizeof(key));

	/* As conf.c's --timeout values are set */
	for (s = 0; s < CT_STATES && (clk & 0x04); s++)
		timeout_set(ct_state_name[s], 1U + in_u8());
	if (clk & 0x08)
		timeout_set(ct_state_name[(clk >> 4) % CT_STATES],
			    FUZZ_TIMEOUT_BIG);
	if (ct_timeout_set(&st.ct, "tcp", 1) != -ENOENT)
		fail("ct_timeout_set() took an unknown state");
}

/**
 * LLVMFuzzerTestOneInput() - a new table, then the input's operations
 * @data:	header and operations
 * @size:	their length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	st.in = data;
	st.left = size;
	setup();
	check_all();

	while (st.left) {
		uint8_t op = in_u8();
		unsigned int param = op >> 3;

		switch ((enum fuzz_op)(op & 7)) {
		case OP_INSERT:
			op_insert();
			break;
		case OP_INSERT_LIKE:
			op_insert_like();
			break;
		case OP_REMOVE:
			op_remove();
			break;
		case OP_REFRESH:
			op_refresh(param);
			break;
		case OP_TRACK:
			op_track(param);
			break;
		case OP_LOOKUP_GUEST:
			op_lookup(false);
			break;
		case OP_LOOKUP_HOST:
			op_lookup(true);
			break;
		case OP_TIME:
			op_time(param);
			break;
		}
		check_all();
	}

	ct_free(&st.ct);
	return 0;
}
