// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_conntrack.c - libFuzzer harness: conntrack.c against a model of it
 *
 * Copyright (c) 2026 merd authors
 *
 * Drives conntrack.c's API alone (no sockets, no namespace needed) through
 * a sequence of operations decoded from the input, and checks after every
 * one of them the table against a model kept here: an array, by flow
 * number, of the live flows with both their sides, state, flags and expiry
 * on a 64-bit clock, looked up by scanning it.
 *
 * A key is what ct_lookup() takes: protocol, interface (PIF_TAP or
 * PIF_HOST), and a struct flowside (endpoint address, our address, both
 * ports). Addresses are 16 bytes: IPv4-mapped, as merd makes them, or any
 * 16 bytes, IPv4-mapped look-alikes included.
 *
 * The input is a header, then operations:
 *
 *   byte 0	table size: 64 minus the byte modulo 64 (0: 64 flows; small
 *		tables have 4-, 8-, 16-slot indexes, which wrap all the time)
 *   byte 1	clock and timeouts:
 *		  bits 0-1  the clock starts at 1000, 300 s before it wraps
 *			    around, 300 s before 2^31, or at 0
 *		  bit 2	    the next CT_STATES bytes are timeouts, 1 to 256 s
 *			    (else ct_timeout_default[], as merd has them)
 *		  bit 3	    one state's timeout, bits 4-7 modulo CT_STATES,
 *			    is the largest merd accepts (UINT32_MAX / 2)
 *   then	operations, a byte each: bits 0-2 what, bits 3-7 a parameter,
 *		then the operation's bytes (0 past the end of the input):
 *		  0 insert: a shape byte (bits 0-1: protocol modulo 3, TCP,
 *		    UDP, ICMP; bit 2: the initiator's interface, 0 PIF_TAP,
 *		    1 PIF_HOST; bit 3: the target's; bits 4-7: for the
 *		    initiator's endpoint and our address, then the target's,
 *		    0 an IPv4-mapped address, 4 bytes, 1 any 16 bytes), then
 *		    the initiator's side (endpoint address, our address,
 *		    endpoint port, our port, 2 bytes each), then the target's
 *		  1 insert a flow like a live one (byte: which, modulo the
 *		    live ones) but for two key fields changed (twice: a field
 *		    byte, a 32-bit XOR; see below)
 *		  2 remove a live flow (byte: which)
 *		  3 refresh a live flow (byte: which) in a state (byte: a
 *		    TCP state for TCP flows, else UDP, UDP stream or ICMP),
 *		    after the parameter's seconds
 *		  4 a packet of a live flow (byte: which; parameter bit 0:
 *		    from the target's side), as fwd.c's fwd_track() handles
 *		    it: for a TCP flow a segment (bytes: flags; mode; 16-bit
 *		    sequence and acknowledgement offsets, window, payload
 *		    length; window scale, 15 for none) through ct_tcp_track(),
 *		    its sequence number the end of what that side sent plus
 *		    the offset (plus 2^31 with mode bit 0), its ack the end
 *		    of what the other sent plus its offset (2^31 more with
 *		    mode bit 1), then ct_refresh() in the state it returned
 *		    if it was taken; a UDP flow answered once its target
 *		    spoke, a stream two seconds after it started; ICMP flows
 *		    refreshed
 *		  5 look up the key of one side (parameter bit 0) of a live
 *		    flow (byte: which), one field changed (a field byte, a
 *		    32-bit XOR)
 *		  6 look up a key from the input (a shape byte, as for an
 *		    insert, bit 3 the interface, then one side)
 *		  7 time: the clock moves on by 16 bits of seconds; with
 *		    parameter bit 0, expired flows are removed as fwd_timer()
 *		    does, ct_expired() until it returns FLOW_NONE
 *
 *   A field byte: bits 0-3 which field, modulo 12: protocol, interface,
 *   the four 32-bit words of the endpoint address, those of our address,
 *   endpoint port, our port; bit 4, for an insert, which side; bit 7: only
 *   one byte of the XOR (bits 5-6: which), so that keys differing in one
 *   byte are tried often. Inserted flows keep to TCP, UDP and ICMP, and
 *   to the two interfaces.
 *
 * Inserts keep to conntrack.c's contract, as fwd.c does: ct_alloc(), the
 * flow filled in, ct_insert(); a flow is not inserted if a key of either of
 * its sides is already tracked, or if both its sides have the same key
 * (merd looks the guest side up first, and picks host ports no flow holds
 * toward the peer). The clock only goes forward, by at most 65535 s an
 * operation and FUZZ_CLOCK_MAX an input, and the timeouts are set once, as
 * fwd_init() sets them: expiries on the model's 64-bit clock stay within
 * 2^31 s of it, as they must for the table's 32-bit clock, whose
 * wrap-around conntrack.c must handle.
 *
 * Invariants, checked after every operation (abort() on any violation):
 * - both sides of every live flow are found by ct_lookup() with their
 *   exact keys, which return the flow and the side; its sides, interfaces,
 *   protocol, state, flags, start and expiry are what the model holds;
 * - near misses: after an operation that inserted or removed flows, for
 *   one side of each live flow (each in turn), else for one side of the
 *   flow the operation looked at, a key that differs from it in one field
 *   (one bit of an address or port, the interface, the protocol; which
 *   rotates from one operation to the next) finds the flow and side that
 *   has exactly that key, if any, else FLOW_NONE;
 *   so do the fuzzed keys of operations 5 and 6; a removed flow is not
 *   found by either key, then and after each of the next operations (the
 *   last FUZZ_GONE removed), unless a new flow has its key;
 * - @count is the model's count; ct_alloc() fails if and only if the table
 *   is full, and otherwise returns a flow that wasn't live, all zero;
 * - ct_expired() returns a flow past its expiry (its timeout after its
 *   last refresh, on the 64-bit clock) or, only if there is none,
 *   FLOW_NONE; after expired flows are removed, none is past its expiry;
 * - ct_tcp_track() returns 0 or -1; a refused segment (-1) changes nothing
 *   of the flow, byte for byte; a taken one changes nothing but the
 *   window tracking and the FIN bits (CT_FIN(), CT_FIN_FIRST()), and yields
 *   a TCP state: CT_TCP_CLOSE for a reset (but a SYN without ACK, taken as
 *   a SYN); a SYN without ACK from the initiator reopens a flow opening,
 *   in TIME_WAIT or closed (CT_TCP_SYN_SENT, no FIN bit left), and changes
 *   nothing in any other state or from the target; no FIN bit is lost but
 *   by a reopening; a FIN is noted once the handshake is under way; at
 *   most one side's FIN came first, and it came; SYN received only by a
 *   SYN-ACK from the target, from there established only by an ACK from
 *   the initiator; a flow driven only by segments since its insert stays
 *   in the states and FIN bits it can reach from CT_TCP_SYN_SENT;
 * - the table itself: the index holds both sides of each live flow once,
 *   nothing else, each where a probe from its home slot finds it, no
 *   empty slot in between; each aging list holds exactly the live flows of
 *   its state, linked both ways, in expiry order; the free list holds
 *   exactly the other flows handed out so far, cleared but for their
 *   link; flows never handed out are untouched (all zero).
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
#include "inany.h"
#include "ip.h"
#include "fuzz_report.h"

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

/* fwd.c's FWD_UDP_STREAM_AFTER: an answered UDP flow still going after
 * this long is a stream
 */
#define FUZZ_UDP_STREAM_AFTER	2

/* The clock starts in the middle of nowhere, before a wrap-around, or
 * before the 32-bit difference changes sign
 */
static const uint32_t fuzz_clock_start[4] = {
	1000U, 0U - 300U, 0x80000000U - 300U, 0U,
};

static const uint8_t fuzz_proto[3] = { IPPROTO_TCP, IPPROTO_UDP,
				       IPPROTO_ICMP };

/* Key fields an operation can change */
enum fuzz_field {
	F_PROTO, F_PIF, F_EADDR, F_OADDR = F_EADDR + 4, F_EPORT = F_OADDR + 4,
	F_OPORT, F_FIELDS,
};

/* Operations */
enum fuzz_op {
	OP_INSERT, OP_INSERT_LIKE, OP_REMOVE, OP_REFRESH, OP_TRACK,
	OP_LOOKUP, OP_LOOKUP_ANY, OP_TIME,
};

/* The FIN bits ct_tcp_track() may change */
#define FIN_BITS	(CT_FIN(INISIDE) | CT_FIN(TGTSIDE) | \
			 CT_FIN_FIRST(INISIDE) | CT_FIN_FIRST(TGTSIDE))
#define FIN_BOTH	(CT_FIN(INISIDE) | CT_FIN(TGTSIDE))

/**
 * struct key - what ct_lookup() takes
 * @proto:	protocol
 * @pif:	interface
 * @s:		addresses and ports
 */
struct key {
	uint8_t proto;
	uint8_t pif;
	struct flowside s;
};

/**
 * struct mflow - the model of one flow
 * @live:	tracked
 * @tracked:	a TCP flow whose state came only from its insert and
 *		ct_tcp_track(), never from a refresh with a made-up state
 * @f:		@side, @pif, @proto, @af, @state, @flags and @created as the
 *		table must hold them; the rest unused
 * @expires:	expiry on the model's clock
 * @start:	start on the model's clock
 */
struct mflow {
	bool live;
	bool tracked;
	struct flow f;
	uint64_t expires;
	uint64_t start;
};

/**
 * struct fuzz_state - one input's run
 * @ct:		the table under test
 * @m:		the model, by flow number
 * @count:	live flows in the model
 * @now:	the model's clock, never wrapping
 * @start:	the table's clock when @now was 0
 * @gone:	keys of the last FUZZ_GONE flows removed, both sides each
 * @ngone:	flows removed so far
 * @ops:	operations run so far, for the near misses' rotation
 * @moved:	the last operation inserted or removed flows
 * @touched:	the flow the last operation looked at, FLOW_NONE if none
 * @in:		what is left of the input
 * @left:	its length
 */
struct fuzz_state {
	struct conntrack ct;
	struct mflow m[FUZZ_FLOWS_MAX];
	uint32_t count;
	uint64_t now;
	uint32_t start;
	struct key gone[FUZZ_GONE][SIDES];
	uint32_t ngone;
	uint32_t ops;
	bool moved;
	uint32_t touched;
	const uint8_t *in;
	size_t left;
};

static struct fuzz_state st;

/* Payload a segment claims: ct_tcp_track() only counts it, but may read it */
static const uint8_t zeroes[UINT16_MAX];


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fail() - report a broken invariant, and abort (fuzz_report.h) */
#define fail(...)	fuzz_invariant(__VA_ARGS__)

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
	fuzz_report_init("fuzz_conntrack");
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
 * in_u32() - take four bytes of the input, big-endian
 *
 * Return: the value, 0 bytes past the end
 */
static uint32_t in_u32(void)
{
	uint32_t hi = in_u16();

	return hi << 16 | in_u16();
}

/**
 * in_addr() - take an address
 * @a:		set to it
 * @any:	16 bytes as they are, else 4 bytes of an IPv4-mapped one
 */
static void in_addr(union inany_addr *a, bool any)
{
	uint8_t b[16];
	uint32_t v4;
	int i;

	if (!any) {
		for (i = 0; i < 4; i++)
			b[i] = in_u8();
		memcpy(&v4, b, sizeof(v4));
		inany_from_v4(a, v4);
		return;
	}
	for (i = 0; i < 16; i++)
		b[i] = in_u8();
	memcpy(a, b, sizeof(*a));
}

/**
 * in_side() - take one side of a flow
 * @s:		set to it
 * @forms:	bit 0: the endpoint's address is any 16 bytes, bit 1: ours
 */
static void in_side(struct flowside *s, unsigned int forms)
{
	memset(s, 0, sizeof(*s));
	in_addr(&s->eaddr, forms & 1);
	in_addr(&s->oaddr, forms & 2);
	s->eport = in_u16();
	s->oport = in_u16();
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
 * key_of() - the key of one side of a flow
 * @f:		flow
 * @side:	INISIDE or TGTSIDE
 *
 * Return: the key
 */
NOCOV static struct key key_of(const struct flow *f, unsigned int side)
{
	struct key k;

	memset(&k, 0, sizeof(k));
	k.proto = f->proto;
	k.pif = f->pif[side];
	k.s = f->side[side];
	return k;
}

/**
 * key_eq() - tell whether two keys are the same
 * @a:		key
 * @b:		key
 *
 * Return: true if so
 */
NOCOV static bool key_eq(const struct key *a, const struct key *b)
{
	return a->proto == b->proto && a->pif == b->pif &&
	       inany_equals(&a->s.eaddr, &b->s.eaddr) &&
	       inany_equals(&a->s.oaddr, &b->s.oaddr) &&
	       a->s.eport == b->s.eport && a->s.oport == b->s.oport;
}

/**
 * model_find() - look a key up in the model, by scanning it
 * @k:		key
 * @side:	set to the side it matched, if found
 *
 * Return: flow number, FLOW_NONE if no side of a live flow has the key
 */
NOCOV static uint32_t model_find(const struct key *k, unsigned int *side)
{
	uint32_t i;
	unsigned int s;

	for (i = 0; i < st.ct.max; i++) {
		const struct flow *f = &st.m[i].f;

		if (!st.m[i].live || f->proto != k->proto)
			continue;
		for (s = 0; s < SIDES; s++) {
			if (f->side[s].eport != k->s.eport ||
			    f->side[s].oport != k->s.oport ||
			    f->pif[s] != k->pif ||
			    memcmp(&f->side[s].eaddr, &k->s.eaddr,
				   sizeof(k->s.eaddr)) ||
			    memcmp(&f->side[s].oaddr, &k->s.oaddr,
				   sizeof(k->s.oaddr)))
				continue;
			*side = s;
			return i;
		}
	}
	return FLOW_NONE;
}

/**
 * model_pick() - choose a live flow
 * @sel:	which one, modulo the number of live flows
 *
 * Return: flow number, FLOW_NONE if there is none
 */
NOCOV static uint32_t model_pick(uint8_t sel)
{
	uint32_t i, n = st.count, k;

	if (!n)
		return FLOW_NONE;
	k = sel % n;
	for (i = 0; i < st.ct.max; i++) {
		if (!st.m[i].live)
			continue;
		if (!k--)
			return st.touched = i;
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
 * field_xor() - change one field of a key
 * @k:		key
 * @field:	which, modulo F_FIELDS
 * @v:		XOR to apply (as much of it as the field holds)
 */
NOCOV static void field_xor(struct key *k, unsigned int field, uint32_t v)
{
	uint32_t w;

	field %= F_FIELDS;
	switch (field) {
	case F_PROTO:
		k->proto ^= (uint8_t)v;
		break;
	case F_PIF:
		k->pif ^= (uint8_t)v;
		break;
	case F_EPORT:
		k->s.eport ^= (uint16_t)v;
		break;
	case F_OPORT:
		k->s.oport ^= (uint16_t)v;
		break;
	default:
		if (field < F_OADDR) {
			memcpy(&w, k->s.eaddr.a6.s6_addr + 4 * (field - F_EADDR),
			       4);
			w ^= htonl(v);
			memcpy(k->s.eaddr.a6.s6_addr + 4 * (field - F_EADDR),
			       &w, 4);
		} else {
			memcpy(&w, k->s.oaddr.a6.s6_addr + 4 * (field - F_OADDR),
			       4);
			w ^= htonl(v);
			memcpy(k->s.oaddr.a6.s6_addr + 4 * (field - F_OADDR),
			       &w, 4);
		}
		break;
	}
}

/**
 * in_field_xor() - take a field byte and a 32-bit XOR from the input
 * @field:	set to the field byte
 *
 * Return: the XOR, cut to one of its bytes if the field byte says so
 */
static uint32_t in_field_xor(uint8_t *field)
{
	uint32_t v;

	*field = in_u8();
	v = in_u32();
	if (*field & 0x80)
		v &= 0xffU << (8 * ((*field >> 5) & 3));
	return v;
}

/* Checks */

/**
 * probe() - look a key up in the table and in the model, compare
 * @k:		key
 * @what:	for the message
 * @idx:	flow the key came from, for the message
 */
NOCOV static void probe(const struct key *k, const char *what, uint32_t idx)
{
	unsigned int ws = SIDES, gs = SIDES;
	uint32_t want, got;

	want = model_find(k, &ws);
	got = ct_lookup(&st.ct, k->proto, k->pif, &k->s, &gs);
	if (got != want || (want != FLOW_NONE && gs != ws))
		fail("%s (from flow %u, protocol %u, interface %u, %s:%u to "
		     "%s:%u) found flow %u side %u, not flow %u side %u", what,
		     idx, k->proto, k->pif, inany_ntop(&k->s.eaddr).s,
		     k->s.eport, inany_ntop(&k->s.oaddr).s, k->s.oport, got,
		     gs, want, ws);
}

/**
 * near_miss() - a key next to a flow's side: one field changed a little
 * @k:		the side's key, changed
 * @n:		which change: the field is @n modulo F_FIELDS, the bit
 *		changed the rest
 */
NOCOV static void near_miss(struct key *k, uint32_t n)
{
	unsigned int field = n % F_FIELDS, bit = (n / F_FIELDS) % 32;

	switch (field) {
	case F_PROTO:
		k->proto = bit % 4 == 3 ? (uint8_t)(k->proto ^ (1U << bit % 8)) :
			   fuzz_proto[bit % 3] == k->proto ?
			   fuzz_proto[(bit + 1) % 3] : fuzz_proto[bit % 3];
		break;
	case F_PIF:
		k->pif ^= 1;
		break;
	case F_EPORT:
	case F_OPORT:
		field_xor(k, field, 1U << (bit % 16));
		break;
	default:
		field_xor(k, field, 1U << bit);
		break;
	}
}

/**
 * check_index() - the index holds both sides of each live flow once, where
 *		   a probe from its home slot finds them, and nothing else
 */
NOCOV static void check_index(void)
{
	const struct conntrack *ct = &st.ct;
	uint8_t seen[FUZZ_FLOWS_MAX][SIDES];
	uint32_t i, j, n = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i <= ct->mask; i++) {
		uint32_t e = ct->tab[i], idx, home;
		unsigned int s;

		if (!e)
			continue;
		idx = (e - 1) / SIDES;
		s = (e - 1) % SIDES;
		if (idx >= ct->max || !st.m[idx].live)
			fail("index slot %u holds %u, not a side of a live "
			     "flow", i, e);
		if (seen[idx][s]++)
			fail("index holds side %u of flow %u twice", s, idx);
		n++;

		/* From the home slot to here, no empty slot */
		home = ct->flows[idx].hash[s] & ct->mask;
		for (j = home; j != i; j = (j + 1) & ct->mask)
			if (!ct->tab[j])
				fail("index: side %u of flow %u in slot %u, "
				     "home %u, empty slot %u in between", s,
				     idx, i, home, j);
	}
	if (n != SIDES * st.count)
		fail("index holds %u sides, %u flows live", n, st.count);
}

/**
 * check_lists() - aging lists hold the live flows of their states, linked
 *		   both ways, in expiry order; the free list the others
 *		   handed out, cleared; the rest untouched
 */
NOCOV static void check_lists(void)
{
	static const struct flow zero;
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

	if (ct->used > ct->max)
		fail("%u flows handed out of %u", ct->used, ct->max);
	n = 0;
	for (i = ct->free; i != FLOW_NONE; i = ct->flows[i].next) {
		struct flow f;

		if (i >= ct->used || st.m[i].live || seen[i]++)
			fail("free list: flow %u live, twice, or never "
			     "handed out", i);
		f = ct->flows[i];
		f.next = 0;
		if (memcmp(&f, &zero, sizeof(f)))
			fail("free flow %u not cleared", i);
		n++;
	}
	if (n != ct->used - st.count)
		fail("free list holds %u flows, %u of %u handed out live", n,
		     st.count, ct->used);
	for (i = ct->used; i < ct->max; i++)
		if (st.m[i].live || memcmp(&ct->flows[i], &zero, sizeof(zero)))
			fail("flow %u, above the %u handed out, live or "
			     "touched", i, ct->used);
}

/**
 * check_all() - the table against the model, after an operation
 */
NOCOV static void check_all(void)
{
	const struct conntrack *ct = &st.ct;
	uint32_t i, e, past = FLOW_NONE;
	unsigned int s;

	if (ct->count != st.count)
		fail("count %u, %u live", ct->count, st.count);

	for (i = 0; i < ct->max; i++) {
		const struct mflow *m = &st.m[i];
		const struct flow *f = &ct->flows[i], *mf = &m->f;

		if (!m->live)
			continue;
		for (s = 0; s < SIDES; s++) {
			struct key key = key_of(mf, s);
			unsigned int got = SIDES;

			if (ct_lookup(ct, key.proto, key.pif, &key.s, &got) !=
			    i || got != s)
				fail("side %u of flow %u not found by its key "
				     "(side %u found)", s, i, got);
			if ((st.ops + i) % SIDES != s ||
			    (!st.moved && i != st.touched))
				continue;
			near_miss(&key, st.ops / SIDES + i);
			probe(&key, "a near miss", i);
		}
		if (memcmp(f->side, mf->side, sizeof(f->side)) ||
		    memcmp(f->pif, mf->pif, sizeof(f->pif)) ||
		    f->proto != mf->proto || f->af != mf->af)
			fail("flow %u: sides, interfaces or protocol changed", i);
		if (f->state != mf->state || f->flags != mf->flags)
			fail("flow %u: state %u flags %02x, not %u and %02x", i,
			     f->state, f->flags, mf->state, mf->flags);
		if (f->created != mf->created)
			fail("flow %u started at %u, not %u", i, f->created,
			     mf->created);
		if (f->expires != (uint32_t)(st.start + m->expires))
			fail("flow %u expires at %u, not %u", i, f->expires,
			     (uint32_t)(st.start + m->expires));
		if (model_expired(m))
			past = i;
	}

	/* Removed flows: not found, unless their key came back */
	for (i = 0; i < st.ngone && i < FUZZ_GONE; i++)
		for (s = 0; s < SIDES; s++)
			probe(&st.gone[i][s], "the key of a removed flow",
			      FLOW_NONE);

	e = ct_expired(ct, now32());
	if (e != FLOW_NONE && (e >= ct->max || !model_expired(&st.m[e])))
		fail("ct_expired() returned flow %u, not past its expiry", e);
	if (e == FLOW_NONE && past != FLOW_NONE)
		fail("ct_expired() found nothing, flow %u is past its expiry "
		     "(%llu s)", past,
		     (unsigned long long)(st.now - st.m[past].expires));

	check_index();
	check_lists();
}

/* Operations */

/**
 * do_insert() - insert a flow, unless a key of it is tracked
 * @k:		sides, interfaces and protocol of the new flow
 */
static void do_insert(const struct flow *k)
{
	static const struct flow zero;
	struct key a = key_of(k, INISIDE), b = key_of(k, TGTSIDE);
	enum ct_state state;
	unsigned int side;
	struct flow *f;
	uint32_t idx;

	if (model_find(&a, &side) != FLOW_NONE ||
	    model_find(&b, &side) != FLOW_NONE || key_eq(&a, &b))
		return;		/* not what merd would do */

	if (k->proto == IPPROTO_TCP)
		state = CT_TCP_SYN_SENT;
	else
		state = k->proto == IPPROTO_UDP ? CT_UDP : CT_ICMP;

	idx = ct_alloc(&st.ct);
	if (st.count == st.ct.max) {
		if (idx != FLOW_NONE)
			fail("ct_alloc() on a full table returned %u", idx);
		return;
	}
	if (idx == FLOW_NONE)
		fail("ct_alloc() failed with %u of %u flows", st.count,
		     st.ct.max);
	if (idx >= st.ct.max || st.m[idx].live)
		fail("ct_alloc() returned flow %u, live or out of the table",
		     idx);
	f = &st.ct.flows[idx];
	if (memcmp(f, &zero, sizeof(zero)))
		fail("ct_alloc() returned flow %u not cleared", idx);

	/* As fwd_flow_new() fills it in */
	memcpy(f->side, k->side, sizeof(f->side));
	memcpy(f->pif, k->pif, sizeof(f->pif));
	f->proto = k->proto;
	f->af = AF_INET;
	ct_insert(&st.ct, idx, state, now32());
	st.moved = true;

	memset(&st.m[idx], 0, sizeof(st.m[idx]));
	st.m[idx].live = true;
	st.m[idx].tracked = k->proto == IPPROTO_TCP;
	memcpy(st.m[idx].f.side, k->side, sizeof(k->side));
	memcpy(st.m[idx].f.pif, k->pif, sizeof(k->pif));
	st.m[idx].f.proto = k->proto;
	st.m[idx].f.af = AF_INET;
	st.m[idx].f.state = (uint8_t)state;
	st.m[idx].f.created = now32();
	st.m[idx].start = st.now;
	st.m[idx].expires = st.now + st.ct.timeout[state];
	st.count++;
}

/**
 * op_insert() - insert a flow with sides from the input
 */
static void op_insert(void)
{
	uint8_t shape = in_u8();
	struct flow k;

	memset(&k, 0, sizeof(k));
	k.proto = fuzz_proto[(shape & 3) % 3];
	k.pif[INISIDE] = (shape >> 2) & 1 ? PIF_HOST : PIF_TAP;
	k.pif[TGTSIDE] = (shape >> 3) & 1 ? PIF_HOST : PIF_TAP;
	in_side(&k.side[INISIDE], (shape >> 4) & 3);
	in_side(&k.side[TGTSIDE], (shape >> 6) & 3);
	do_insert(&k);
}

/**
 * like_xor() - change one field of a side of a flow to insert, staying
 *		within what merd inserts (protocols, interfaces)
 * @f:		flow
 * @field:	field byte
 * @v:		XOR
 */
static void like_xor(struct flow *f, uint8_t field, uint32_t v)
{
	unsigned int side = (field >> 4) & 1, i;
	struct key k = key_of(f, side);

	switch (field % 16 % F_FIELDS) {
	case F_PROTO:
		for (i = 0; i < 3 && fuzz_proto[i] != f->proto; i++)
			;
		f->proto = fuzz_proto[(i + v) % 3];
		return;
	case F_PIF:
		f->pif[side] ^= (uint8_t)(v & 1);
		return;
	default:
		field_xor(&k, field % 16, v);
		f->side[side] = k.s;
		return;
	}
}

/**
 * op_insert_like() - insert a flow like a live one, two key fields changed
 */
static void op_insert_like(void)
{
	uint32_t idx = model_pick(in_u8()), va, vb;
	uint8_t fa, fb;
	struct flow k;

	va = in_field_xor(&fa);
	vb = in_field_xor(&fb);
	if (idx == FLOW_NONE)
		return;
	k = st.m[idx].f;
	like_xor(&k, fa, va);
	like_xor(&k, fb, vb);
	do_insert(&k);
}

/**
 * remove_flow() - remove a live flow from the table and the model
 * @idx:	flow number
 */
static void remove_flow(uint32_t idx)
{
	unsigned int s;
	uint32_t g = st.ngone++ % FUZZ_GONE;

	ct_remove(&st.ct, idx);
	st.moved = true;
	st.m[idx].live = false;
	st.count--;
	for (s = 0; s < SIDES; s++) {
		st.gone[g][s] = key_of(&st.m[idx].f, s);
		probe(&st.gone[g][s], "the key of the flow just removed",
		      idx);
	}
}

/**
 * op_remove() - remove a live flow
 */
static void op_remove(void)
{
	uint32_t idx = model_pick(in_u8());

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
	uint32_t idx = model_pick(in_u8());
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
 * @fin:	CT_FIN() bits
 *
 * Return: true if so: no FIN seen before FIN wait, the initiator's FIN
 *	   alone in FIN wait, the target's alone in close wait, both in last
 *	   ACK and time wait, anything in close
 */
NOCOV static bool tcp_reachable(enum ct_state s, uint8_t fin)
{
	switch (s) {
	case CT_TCP_SYN_SENT:
	case CT_TCP_SYN_RECV:
	case CT_TCP_ESTABLISHED:
		return !fin;
	case CT_TCP_FIN_WAIT:
		return fin == CT_FIN(INISIDE);
	case CT_TCP_CLOSE_WAIT:
		return fin == CT_FIN(TGTSIDE);
	case CT_TCP_LAST_ACK:
	case CT_TCP_TIME_WAIT:
		return fin == FIN_BOTH;
	case CT_TCP_CLOSE:
		return true;
	default:
		return false;
	}
}

/**
 * check_tcp() - what ct_tcp_track() did with a segment it returned 0 for
 * @idx:	flow number
 * @side:	side the segment came from
 * @fl:		its flags
 * @before:	the flow before
 * @s:		the state it returned
 */
NOCOV static void check_tcp(uint32_t idx, unsigned int side, uint8_t fl,
			    const struct flow *before, enum ct_state s)
{
	const struct flow *f = &st.ct.flows[idx];
	const struct mflow *m = &st.m[idx];
	enum ct_state old = (enum ct_state)before->state;
	const char *from = side == TGTSIDE ? "target" : "initiator";
	uint8_t fin = f->flags & FIN_BOTH, ofin = before->flags & FIN_BOTH;
	struct flow a = *f, b = *before;
	unsigned int o;

	if (s > CT_TCP_CLOSE)
		fail("ct_tcp_track() took a segment of flow %u (flags %02x "
		     "from the %s) into state %d", idx, fl, from, s);
	memset(a.seen, 0, sizeof(a.seen));
	memset(b.seen, 0, sizeof(b.seen));
	a.flags &= (uint8_t)~FIN_BITS;
	b.flags &= (uint8_t)~FIN_BITS;
	if (memcmp(&a, &b, sizeof(a)))
		fail("ct_tcp_track() changed more than the windows and FIN "
		     "bits of flow %u", idx);
	for (o = 0; o < SIDES; o++)
		if ((f->flags & CT_FIN_FIRST(o)) &&
		    (!(f->flags & CT_FIN(o)) ||
		     (f->flags & CT_FIN_FIRST(ct_other(o)))))
			fail("flow %u: flags %02x: a FIN first that didn't "
			     "come, or both first", idx, f->flags);

	if ((fl & (TH_SYN | TH_ACK)) == TH_SYN) {
		if (side == INISIDE && (old == CT_TCP_SYN_SENT ||
					old == CT_TCP_TIME_WAIT ||
					old == CT_TCP_CLOSE)) {
			if (s != CT_TCP_SYN_SENT || (f->flags & FIN_BITS))
				fail("flow %u: a SYN reopening it from %s "
				     "left %s, flags %02x", idx,
				     ct_state_name[old], ct_state_name[s],
				     f->flags);
		} else if (s != old || memcmp(f, before, sizeof(*f))) {
			fail("flow %u: a SYN from the %s in %s changed it, "
			     "to %s", idx, from, ct_state_name[old],
			     ct_state_name[s]);
		}
		return;
	}

	if ((fl & TH_RST) && s != CT_TCP_CLOSE)
		fail("reset left flow %u in state %s", idx, ct_state_name[s]);
	if (ofin & ~fin)
		fail("flow %u: FIN bits %02x then %02x, in state %s", idx,
		     ofin, fin, ct_state_name[s]);
	if (m->tracked && !tcp_reachable(s, fin))
		fail("flow %u: %s with FIN bits %02x, from %s and %02x, flags "
		     "%02x from the %s", idx, ct_state_name[s], fin,
		     ct_state_name[old], ofin, fl, from);

	/* What the states mean (conntrack.h) */
	if ((fl & (TH_FIN | TH_SYN | TH_RST)) == TH_FIN &&
	    old != CT_TCP_SYN_SENT && old != CT_TCP_CLOSE &&
	    !(f->flags & CT_FIN(side)))
		fail("flow %u: FIN from the %s in %s not noted", idx, from,
		     ct_state_name[old]);
	if (s == CT_TCP_SYN_RECV && old != CT_TCP_SYN_RECV &&
	    (side != TGTSIDE ||
	     (fl & (TH_SYN | TH_ACK | TH_RST)) != (TH_SYN | TH_ACK)))
		fail("flow %u: %s to SYN received on flags %02x from the %s",
		     idx, ct_state_name[old], fl, from);
	if (old == CT_TCP_SYN_RECV && s == CT_TCP_ESTABLISHED &&
	    (side != INISIDE || !(fl & TH_ACK)))
		fail("flow %u: established on flags %02x from the %s", idx, fl,
		     from);
}

/**
 * track_tcp() - one segment of a TCP flow through ct_tcp_track(), checked
 * @idx:	flow number
 * @side:	side it came from
 * @state:	set to the state to refresh the flow in, if taken
 *
 * Return: 0 if taken, -1 if refused
 */
NOCOV static int track_tcp(uint32_t idx, unsigned int side,
			   enum ct_state *state)
{
	struct flow *f = &st.ct.flows[idx], before;
	uint8_t fl = in_u8(), mode = in_u8();
	int16_t dseq = (int16_t)in_u16(), dack = (int16_t)in_u16();
	uint16_t win = in_u16(), len = in_u16();
	uint8_t ws = in_u8() % 16;
	struct l4_view l4;
	int ret;

	memset(&l4, 0, sizeof(l4));
	l4.proto = IPPROTO_TCP;
	l4.sport = f->side[side].eport;
	l4.dport = f->side[side].oport;
	l4.flags = fl;
	l4.seq = f->seen[side].end + (uint32_t)(int32_t)dseq +
		 (mode & 1 ? 0x80000000U : 0);
	l4.ack = f->seen[ct_other(side)].end + (uint32_t)(int32_t)dack +
		 (mode & 2 ? 0x80000000U : 0);
	l4.win = win;
	l4.wscale = (fl & TH_SYN) ? (ws == 15 ? L4_NO_WSCALE : ws) :
		    L4_NO_WSCALE;
	l4.data.p = zeroes;
	l4.data.len = len;

	before = *f;
	*state = CT_STATES;
	ret = ct_tcp_track(f, side, &l4, state);
	if (ret != 0 && ret != -1)
		fail("ct_tcp_track() returned %d", ret);
	if (ret) {
		if (memcmp(f, &before, sizeof(before)))
			fail("ct_tcp_track() refused a segment of flow %u "
			     "(flags %02x, seq %u, ack %u) and changed it",
			     idx, fl, l4.seq, l4.ack);
		return -1;
	}
	check_tcp(idx, side, fl, &before, *state);
	st.m[idx].f.flags = f->flags;
	return 0;
}

/**
 * op_track() - a packet of a live flow, as fwd_track() handles it
 * @param:	bit 0: from the target's side
 */
static void op_track(unsigned int param)
{
	uint32_t idx = model_pick(in_u8());
	unsigned int side = param & 1 ? TGTSIDE : INISIDE;
	struct mflow *m;
	enum ct_state s;
	struct flow *f;

	if (idx == FLOW_NONE)
		return;
	m = &st.m[idx];
	f = &st.ct.flows[idx];
	s = (enum ct_state)f->state;
	switch (m->f.proto) {
	case IPPROTO_TCP:
		if (track_tcp(idx, side, &s))
			return;		/* dropped: no refresh */
		break;
	case IPPROTO_UDP:
		if ((f->flags & CT_REPLIED) &&
		    st.now - m->start >= FUZZ_UDP_STREAM_AFTER)
			s = CT_UDP_STREAM;
		if (side == TGTSIDE)
			f->flags |= CT_REPLIED;
		m->f.flags = f->flags;
		break;
	default:
		break;
	}
	refresh(idx, s);
}

/**
 * op_lookup() - look up one side of a live flow, one field changed
 * @param:	bit 0: the target's side
 */
NOCOV static void op_lookup(unsigned int param)
{
	uint32_t idx = model_pick(in_u8()), v;
	uint8_t field;
	struct key k;

	v = in_field_xor(&field);
	if (idx == FLOW_NONE)
		return;
	k = key_of(&st.m[idx].f, param & 1);
	field_xor(&k, field % 16, v);
	probe(&k, "a lookup of a changed key", idx);
}

/**
 * op_lookup_any() - look up a key from the input
 */
NOCOV static void op_lookup_any(void)
{
	uint8_t shape = in_u8();
	struct key k;

	memset(&k, 0, sizeof(k));
	k.proto = fuzz_proto[(shape & 3) % 3];
	k.pif = (shape >> 3) & 1 ? PIF_HOST : PIF_TAP;
	in_side(&k.s, (shape >> 4) & 3);
	probe(&k, "a lookup of a key from the input", FLOW_NONE);
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
	st.ops = 0;
	st.moved = true;
	st.touched = FLOW_NONE;
	st.now = 0;
	st.start = fuzz_clock_start[clk & 3];
	if (ct_init(&st.ct, max))
		abort();
	memcpy(st.ct.key, key, sizeof(key));
	if (st.ct.max != max || st.ct.count || st.ct.used ||
	    st.ct.free != FLOW_NONE || st.ct.mask + 1 < 2 * SIDES * max)
		fail("ct_init(%u): max %u count %u used %u free %u, index of "
		     "%u", max, st.ct.max, st.ct.count, st.ct.used,
		     st.ct.free, st.ct.mask + 1);
	for (s = 0; s < CT_STATES; s++)
		if (st.ct.timeout[s] != ct_timeout_default[s])
			fail("ct_init(): timeout of %s %u, not %u",
			     ct_state_name[s], st.ct.timeout[s],
			     ct_timeout_default[s]);

	/* As fwd_init() sets conf.c's --timeout values */
	for (s = 0; s < CT_STATES && (clk & 0x04); s++)
		st.ct.timeout[s] = 1U + in_u8();
	if (clk & 0x08)
		st.ct.timeout[(clk >> 4) % CT_STATES] = FUZZ_TIMEOUT_BIG;
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

		st.moved = false;
		st.touched = FLOW_NONE;

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
		case OP_LOOKUP:
			op_lookup(param);
			break;
		case OP_LOOKUP_ANY:
			op_lookup_any();
			break;
		case OP_TIME:
			op_time(param);
			break;
		}
		st.ops++;
		check_all();
	}

	ct_free(&st.ct);
	return 0;
}
