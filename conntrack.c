// SPDX-License-Identifier: GPL-2.0-or-later
/* conntrack.c - connection tracking: two-sided flows, one hash index, aging
 *
 * Copyright (c) 2026 merd authors
 *
 * DOC: Theory of Operation
 *
 * A flow has two sides: the one that opened it (INISIDE: the guest, or for
 * a forwarded port the remote client) and the one it was opened to
 * (TGTSIDE: the peer, or the guest). Each side is a struct flowside as its
 * endpoint sees it: the endpoint's address and port, and ours (the
 * destination the guest wrote; the host's address and port), with
 * addresses of either family in 16 bytes (inany.h). A packet arriving on a
 * side matches that side's key (protocol, interface, both addresses, both
 * ports); it leaves on the other side from that side's "our" address and
 * port to its endpoint. The same rule rewrites both directions.
 *
 * Flows live in one array, sized at start-up (--flows). One index holds
 * both sides of every flow: an open-addressing table of side numbers with
 * linear probing, at least twice as large as the number of sides, hashed
 * with keyed SipHash over the whole key; a removal shifts the following
 * entries back (Knuth's algorithm R), so there are no tombstones and
 * lookups stay O(1) whatever the history. The array and the index come
 * from calloc() and are never initialised beyond that: a flow's memory is
 * first touched when the flow is, so merd's resident memory follows the
 * flows in use, not the table's size.
 *
 * The index makes the host side of every flow unique: no two flows share
 * (protocol, host address, host port, peer address, peer port), which is
 * Linux NAT's tuple-uniqueness rule; so one host port serves any number of
 * flows, as long as they go to different peers (fwd.c picks the ports).
 *
 * Aging follows Linux conntrack: every state has its own timeout. Flows of
 * one state sit in a list in the order they were last refreshed, and since
 * they share the timeout, that is the order they expire in: finding the
 * expired flows, and the oldest finished ones to give way to new flows,
 * looks at list heads only, never at the whole table.
 *
 * TCP flows are tracked as Linux conntrack's tcp_in_window() does: a
 * segment is taken only if its sequence and acknowledgement numbers fall
 * in the window seen so far from both sides; anything else (a late segment
 * of an earlier connection on the same ports, a blind reset) is refused and
 * changes nothing.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "conntrack.h"
#include "siphash.h"
#include "util.h"

/* Names for --timeout, and defaults, as Linux 6.x's nf_conntrack_*_timeout*
 * sysctls (RFC 5382 5 asks at least 2 h 4 min for established TCP; Linux
 * keeps 5 days); UDP: 30 s, and 120 s once it is a stream
 */
const char *const ct_state_name[CT_STATES] = {
	[CT_TCP_SYN_SENT]	= "tcp-syn-sent",
	[CT_TCP_SYN_RECV]	= "tcp-syn-recv",
	[CT_TCP_ESTABLISHED]	= "tcp-established",
	[CT_TCP_FIN_WAIT]	= "tcp-fin-wait",
	[CT_TCP_CLOSE_WAIT]	= "tcp-close-wait",
	[CT_TCP_LAST_ACK]	= "tcp-last-ack",
	[CT_TCP_TIME_WAIT]	= "tcp-time-wait",
	[CT_TCP_CLOSE]		= "tcp-close",
	[CT_UDP]		= "udp",
	[CT_UDP_STREAM]		= "udp-stream",
	[CT_ICMP]		= "icmp",
};

const uint32_t ct_timeout_default[CT_STATES] = {
	[CT_TCP_SYN_SENT]	= 120,
	[CT_TCP_SYN_RECV]	= 60,
	[CT_TCP_ESTABLISHED]	= 5 * 24 * 3600,
	[CT_TCP_FIN_WAIT]	= 120,
	[CT_TCP_CLOSE_WAIT]	= 60,
	[CT_TCP_LAST_ACK]	= 30,
	[CT_TCP_TIME_WAIT]	= 120,
	[CT_TCP_CLOSE]		= 10,
	[CT_UDP]		= 30,
	[CT_UDP_STREAM]		= 120,
	[CT_ICMP]		= 30,
};

/* An index entry: the side of a flow, plus one so that 0 means empty */
#define CT_SIDX(idx, side)	((idx) * SIDES + (side) + 1)
#define CT_SIDX_FLOW(e)		(((e) - 1) / SIDES)
#define CT_SIDX_SIDE(e)		(((e) - 1) % SIDES)

/* Linux's MAXACKWINCONST: the least window an acknowledgement may lag by */
#define CT_MAXACKWIN	66000

/**
 * ct_init() - allocate the table and index, pick a hash key
 * @ct:		connection tracking state
 * @max:	number of flows, 1 to FLOWS_MAX
 *
 * Return: 0 on success, -errno
 */
int ct_init(struct conntrack *ct, uint32_t max)
{
	uint32_t size = 2, i;

	memset(ct, 0, sizeof(*ct));
	while (size < 2 * SIDES * max)
		size <<= 1;

	ct->flows = calloc(max, sizeof(*ct->flows));
	ct->tab = calloc(size, sizeof(*ct->tab));
	if (!ct->flows || !ct->tab) {
		ct_free(ct);
		return -ENOMEM;
	}
	if (getrandom(ct->key, sizeof(ct->key), 0) != sizeof(ct->key)) {
		ct_free(ct);
		return -EIO;
	}

	ct->max = max;
	ct->mask = size - 1;
	ct->free = FLOW_NONE;
	for (i = 0; i < CT_STATES; i++) {
		ct->aging[i].head = ct->aging[i].tail = FLOW_NONE;
		ct->timeout[i] = ct_timeout_default[i];
	}
	return 0;
}

/**
 * ct_free() - release the table
 * @ct:		connection tracking state
 */
void ct_free(struct conntrack *ct)
{
	free(ct->flows);
	free(ct->tab);
	ct->flows = NULL;
	ct->tab = NULL;
}

/**
 * ct_hash() - keyed hash of one side's key
 * @ct:		connection tracking state
 * @proto:	protocol
 * @pif:	where the side is
 * @k:		addresses and ports
 *
 * Return: 32-bit hash
 */
static uint32_t ct_hash(const struct conntrack *ct, uint8_t proto,
			uint8_t pif, const struct flowside *k)
{
	uint64_t m[5];

	m[0] = (uint64_t)proto | (uint64_t)pif << 8 |
	       (uint64_t)k->eport << 16 | (uint64_t)k->oport << 32;
	memcpy(&m[1], &k->eaddr, sizeof(k->eaddr));
	memcpy(&m[3], &k->oaddr, sizeof(k->oaddr));
	return (uint32_t)siphash_words(m, ARRAY_SIZE(m), ct->key);
}

/**
 * ct_lookup() - find the flow a packet arriving on an interface belongs to
 * @ct:		connection tracking state
 * @proto:	protocol
 * @pif:	where it arrived, PIF_TAP or PIF_HOST
 * @key:	as its sender sees it: its address and port in @eaddr and
 *		@eport, the destination's in @oaddr and @oport
 * @side:	set to the side of the flow it matched, if not NULL
 *
 * Return: flow number, FLOW_NONE if not tracked
 */
uint32_t ct_lookup(const struct conntrack *ct, uint8_t proto, uint8_t pif,
		   const struct flowside *key, unsigned int *side)
{
	uint32_t h = ct_hash(ct, proto, pif, key), i, e;

	for (i = h & ct->mask; (e = ct->tab[i]); i = (i + 1) & ct->mask) {
		const struct flow *f = &ct->flows[CT_SIDX_FLOW(e)];
		unsigned int s = CT_SIDX_SIDE(e);

		if (f->hash[s] == h && f->proto == proto && f->pif[s] == pif &&
		    !memcmp(&f->side[s], key, sizeof(*key))) {
			if (side)
				*side = s;
			return CT_SIDX_FLOW(e);
		}
	}
	return FLOW_NONE;
}

/**
 * ct_tab_add() - put one side of a flow in the index
 * @ct:		connection tracking state
 * @idx:	flow number
 * @side:	its side, @hash already set
 */
static void ct_tab_add(const struct conntrack *ct, uint32_t idx,
		       unsigned int side)
{
	uint32_t i;

	for (i = ct->flows[idx].hash[side] & ct->mask; ct->tab[i];
	     i = (i + 1) & ct->mask)
		;
	ct->tab[i] = CT_SIDX(idx, side);
}

/**
 * ct_tab_del() - take one side of a flow out of the index, shifting back
 *		  the entries that probed past it (Knuth, TAOCP 6.4, algorithm
 *		  R)
 * @ct:		connection tracking state
 * @idx:	flow number
 * @side:	its side
 */
static void ct_tab_del(const struct conntrack *ct, uint32_t idx,
		       unsigned int side)
{
	uint32_t e = CT_SIDX(idx, side), i, j;

	for (i = ct->flows[idx].hash[side] & ct->mask; ct->tab[i] != e;
	     i = (i + 1) & ct->mask)
		;

	ct->tab[i] = 0;
	for (j = (i + 1) & ct->mask; ct->tab[j]; j = (j + 1) & ct->mask) {
		uint32_t o = ct->tab[j];
		const struct flow *f = &ct->flows[CT_SIDX_FLOW(o)];
		uint32_t home = f->hash[CT_SIDX_SIDE(o)] & ct->mask;

		/* Leave it if its home slot is cyclically in (i, j] */
		if (i < j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		ct->tab[i] = o;
		ct->tab[j] = 0;
		i = j;
	}
}

/**
 * ct_list_del() - unlink a flow from its aging list
 * @ct:		connection tracking state
 * @idx:	flow number
 */
static void ct_list_del(struct conntrack *ct, uint32_t idx)
{
	struct flow *f = &ct->flows[idx];
	struct ct_list *l = &ct->aging[f->state];

	if (f->prev != FLOW_NONE)
		ct->flows[f->prev].next = f->next;
	else
		l->head = f->next;
	if (f->next != FLOW_NONE)
		ct->flows[f->next].prev = f->prev;
	else
		l->tail = f->prev;
}

/**
 * ct_list_append() - put a flow at the end of its state's aging list
 * @ct:		connection tracking state
 * @idx:	flow number, its @state set
 */
static void ct_list_append(struct conntrack *ct, uint32_t idx)
{
	struct flow *f = &ct->flows[idx];
	struct ct_list *l = &ct->aging[f->state];

	f->next = FLOW_NONE;
	f->prev = l->tail;
	if (l->tail != FLOW_NONE)
		ct->flows[l->tail].next = idx;
	else
		l->head = idx;
	l->tail = idx;
}

/**
 * ct_alloc() - take a free flow, zeroed, for the caller to fill in
 * @ct:		connection tracking state
 *
 * Return: flow number, FLOW_NONE if the table is full
 */
uint32_t ct_alloc(struct conntrack *ct)
{
	uint32_t idx;

	if (ct->free != FLOW_NONE) {
		idx = ct->free;
		ct->free = ct->flows[idx].next;
	} else if (ct->used < ct->max) {
		idx = ct->used++;
	} else {
		return FLOW_NONE;
	}
	memset(&ct->flows[idx], 0, sizeof(ct->flows[idx]));
	return idx;
}

/**
 * ct_insert() - start tracking a flow ct_alloc() gave, now filled in
 * @ct:		connection tracking state
 * @idx:	flow number: sides, interfaces and protocol set
 * @state:	initial state
 * @now:	current time, seconds
 */
void ct_insert(struct conntrack *ct, uint32_t idx, enum ct_state state,
	       uint32_t now)
{
	struct flow *f = &ct->flows[idx];
	unsigned int s;

	f->state = (uint8_t)state;
	f->created = now;
	f->expires = now + ct->timeout[state];
	for (s = 0; s < SIDES; s++) {
		f->hash[s] = ct_hash(ct, f->proto, f->pif[s], &f->side[s]);
		ct_tab_add(ct, idx, s);
	}
	ct_list_append(ct, idx);
	ct->count++;
}

/**
 * ct_remove() - stop tracking a flow (the caller released what it held)
 * @ct:		connection tracking state
 * @idx:	flow number
 */
void ct_remove(struct conntrack *ct, uint32_t idx)
{
	struct flow *f = &ct->flows[idx];
	unsigned int s;

	for (s = 0; s < SIDES; s++)
		ct_tab_del(ct, idx, s);
	ct_list_del(ct, idx);

	memset(f, 0, sizeof(*f));
	f->next = ct->free;
	ct->free = idx;
	ct->count--;
}

/**
 * ct_refresh() - note activity on a flow, in a possibly new state
 * @ct:		connection tracking state
 * @idx:	flow number
 * @state:	state after this packet
 * @now:	current time, seconds
 */
void ct_refresh(struct conntrack *ct, uint32_t idx, enum ct_state state,
		uint32_t now)
{
	struct flow *f = &ct->flows[idx];

	ct_list_del(ct, idx);
	f->state = (uint8_t)state;
	f->expires = now + ct->timeout[state];
	ct_list_append(ct, idx);
}

/**
 * ct_expired() - find a flow whose time is up
 * @ct:		connection tracking state
 * @now:	current time, seconds
 *
 * Looks at the head of each state's list: the flow that expires first.
 *
 * Return: flow number, FLOW_NONE if none has expired
 */
uint32_t ct_expired(const struct conntrack *ct, uint32_t now)
{
	int s;

	for (s = 0; s < CT_STATES; s++) {
		uint32_t idx = ct->aging[s].head;

		/* Past the deadline: a flow lives at least its timeout */
		if (idx != FLOW_NONE &&
		    (int32_t)(now - ct->flows[idx].expires) > 0)
			return idx;
	}
	return FLOW_NONE;
}

/**
 * seq_le() - compare sequence numbers modulo 2^32 (RFC 9293 3.4)
 * @a:		sequence number
 * @b:		sequence number
 *
 * Return: true if @a is at or before @b
 */
static bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

/**
 * ct_tcp_syn() - start one side's window from its SYN or SYN-ACK
 * @s:		what that side sent
 * @l4:		the segment
 * @end:	its sequence number plus length, SYN counted
 */
static void ct_tcp_syn(struct ct_tcp_seen *s, const struct l4_view *l4,
		       uint32_t end)
{
	s->end = s->maxend = end;
	s->maxwin = MAX(l4->win, 1);	/* a SYN's window is never scaled */
	s->scale = l4->wscale;
}

/**
 * ct_tcp_window() - check a segment against the window, and take it in
 * @f:		TCP flow
 * @side:	side it came from
 * @l4:		the segment
 *
 * The four conditions of Linux conntrack's tcp_in_window(): the segment
 * starts no later than the other side allowed (I), ends no earlier than a
 * window back (II), acknowledges nothing not yet sent (III) and nothing too
 * long ago (IV). A SYN starts its side's tracking, a SYN-ACK must
 * acknowledge the other side's SYN, and before its SYN-ACK the target may
 * only send a reset that acknowledges the SYN (RFC 9293 3.10.7.3).
 *
 * Return: 0 if the segment is in the window, -1 if not (nothing changed)
 */
static int ct_tcp_window(struct flow *f, unsigned int side,
			 const struct l4_view *l4)
{
	struct ct_tcp_seen *s = &f->seen[side], *r = &f->seen[ct_other(side)];
	uint32_t end = l4->seq + (uint32_t)l4->data.len, ack, win;
	uint8_t fl = l4->flags;

	end += !!(fl & TH_SYN) + !!(fl & TH_FIN);
	ack = (fl & TH_ACK) ? l4->ack : r->end;

	if ((fl & (TH_SYN | TH_ACK)) == TH_SYN) {
		ct_tcp_syn(s, l4, end);
		memset(r, 0, sizeof(*r));
		return 0;
	}
	if (!r->maxwin)
		return -1;		/* the other side never sent its SYN */
	if (fl & TH_SYN) {
		if (ack != r->end)
			return -1;	/* not an answer to that SYN */
		ct_tcp_syn(s, l4, end);
		if (s->scale == L4_NO_WSCALE || r->scale == L4_NO_WSCALE)
			s->scale = r->scale = 0;	/* RFC 7323 2.2 */
	} else if (!s->maxwin) {
		return ((fl & TH_RST) && (fl & TH_ACK) && ack == r->end) ?
		       0 : -1;
	}

	win = (fl & TH_SYN) ? l4->win : (uint32_t)l4->win << s->scale;
	if (!seq_le(l4->seq, s->maxend) ||			/* I */
	    !seq_le(s->end - r->maxwin, end) ||			/* II */
	    !seq_le(ack, r->end) ||				/* III */
	    !seq_le(r->end - MAX(s->maxwin, CT_MAXACKWIN), ack))	/* IV */
		return -1;

	if (seq_le(s->end, end))
		s->end = end;
	if (s->maxwin < win)
		s->maxwin = win;
	if (seq_le(r->maxend, ack + win))
		r->maxend = ack + win + !win;
	return 0;
}

/**
 * ct_tcp_fin() - the state a FIN, or the ACK after FINs, leads to
 * @f:		flow, @flags updated for the FIN
 * @side:	side the segment came from
 * @fl:		its TCP flags
 * @s:		state before it
 *
 * Return: state after it, @s if FINs don't decide it
 */
static enum ct_state ct_tcp_fin(struct flow *f, unsigned int side,
				uint8_t fl, enum ct_state s)
{
	uint8_t both = CT_FIN(INISIDE) | CT_FIN(TGTSIDE);

	if ((fl & TH_FIN) && !(f->flags & CT_FIN(side))) {
		if (!(f->flags & both))
			f->flags |= (uint8_t)CT_FIN_FIRST(side);
		f->flags |= (uint8_t)CT_FIN(side);
	}

	switch (f->flags & both) {
	case CT_FIN(INISIDE) | CT_FIN(TGTSIDE):
		/* The ACK following both FINs closes it */
		if (s == CT_TCP_TIME_WAIT ||
		    (s == CT_TCP_LAST_ACK && !(fl & TH_FIN)))
			return CT_TCP_TIME_WAIT;
		return CT_TCP_LAST_ACK;
	case CT_FIN(INISIDE):
		return CT_TCP_FIN_WAIT;
	case CT_FIN(TGTSIDE):
		return CT_TCP_CLOSE_WAIT;
	default:
		return s;
	}
}

/**
 * ct_tcp_track() - follow a TCP flow through one segment
 * @f:		flow, its tracking and @flags updated if the segment is taken
 * @side:	side the segment came from
 * @l4:		the segment
 * @state:	set to the state after it
 *
 * The states and their order are Linux conntrack's. A SYN from the
 * initiator reopens a flow that was closed (or still opening); one in any
 * other state leaves it as it is.
 *
 * Return: 0 if the segment is taken, -1 if it is out of the window and
 *	   must be dropped
 */
int ct_tcp_track(struct flow *f, unsigned int side, const struct l4_view *l4,
		 enum ct_state *state)
{
	enum ct_state s = f->state;
	uint8_t fl = l4->flags;

	*state = s;
	/* RFC 9293 3.10.7 looks at RST before SYN; Linux conntrack takes
	 * SYN with RST for what it is: invalid
	 */
	if ((fl & (TH_SYN | TH_RST)) == (TH_SYN | TH_RST))
		return -1;
	if ((fl & (TH_SYN | TH_ACK)) == TH_SYN) {
		if (side != INISIDE || (s != CT_TCP_SYN_SENT &&
		    s != CT_TCP_TIME_WAIT && s != CT_TCP_CLOSE))
			return 0;
		f->flags &= (uint8_t)~(CT_FIN(INISIDE) | CT_FIN(TGTSIDE) |
				       CT_FIN_FIRST(INISIDE) |
				       CT_FIN_FIRST(TGTSIDE));
		ct_tcp_window(f, side, l4);
		*state = CT_TCP_SYN_SENT;
		return 0;
	}

	if (ct_tcp_window(f, side, l4))
		return -1;

	if (fl & TH_RST) {
		*state = CT_TCP_CLOSE;
		return 0;
	}
	if (fl & TH_SYN) {
		if (side == TGTSIDE &&
		    (s == CT_TCP_SYN_SENT || s == CT_TCP_SYN_RECV))
			*state = CT_TCP_SYN_RECV;
		return 0;
	}
	if (s == CT_TCP_SYN_SENT || s == CT_TCP_CLOSE)
		return 0;	/* nothing but SYN-ACK or SYN moves these */

	*state = ct_tcp_fin(f, side, fl, s);
	if (*state != s || (f->flags & (CT_FIN(INISIDE) | CT_FIN(TGTSIDE))))
		return 0;
	if (s == CT_TCP_SYN_RECV && !(side == INISIDE && (fl & TH_ACK)))
		return 0;
	*state = CT_TCP_ESTABLISHED;
	return 0;
}
