// SPDX-License-Identifier: GPL-2.0-or-later
/* conntrack.c - connection tracking: flat flow table, hash indexes, aging
 *
 * Copyright (c) 2026 merd authors
 *
 * DOC: Theory of Operation
 *
 * Flows live in one array, sized at start-up (--flows). Two indexes point
 * into it: one keyed by what the guest sends (protocol, guest address and
 * port, destination address and port), one by what the peer answers
 * (protocol, host port, peer address and port). Both are open-addressing
 * tables of flow numbers with linear probing, at least twice as large as the
 * array, hashed with keyed SipHash; a removal shifts the following entries
 * back (Knuth's algorithm R), so there are no tombstones and lookups stay
 * O(1) whatever the history.
 *
 * Aging follows Linux conntrack: every state has its own timeout. Flows of
 * one state sit in a list in the order they were last refreshed, and since
 * they share the timeout, that is the order they expire in: finding the
 * expired flows looks at list heads only, never at the whole table.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "conntrack.h"
#include "siphash.h"

/* Names for --timeout, and defaults, as Linux's nf_conntrack_*_timeout_*
 * sysctls (RFC 5382 5 asks at least 2 h 4 min for established TCP; Linux
 * keeps 5 days); UDP answered: 180 s
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

static const uint32_t ct_timeout_default[CT_STATES] = {
	[CT_TCP_SYN_SENT]	= 120,
	[CT_TCP_SYN_RECV]	= 60,
	[CT_TCP_ESTABLISHED]	= 5 * 24 * 3600,
	[CT_TCP_FIN_WAIT]	= 120,
	[CT_TCP_CLOSE_WAIT]	= 60,
	[CT_TCP_LAST_ACK]	= 30,
	[CT_TCP_TIME_WAIT]	= 120,
	[CT_TCP_CLOSE]		= 10,
	[CT_UDP]		= 30,
	[CT_UDP_STREAM]		= 180,
	[CT_ICMP]		= 30,
};

/**
 * ct_init() - allocate the table and indexes, pick a hash key
 * @ct:		connection tracking state
 * @max:	number of flows, 1 to FLOWS_MAX
 *
 * Return: 0 on success, -errno
 */
int ct_init(struct conntrack *ct, uint32_t max)
{
	uint32_t size = 2, i;

	memset(ct, 0, sizeof(*ct));
	while (size < 2 * max)
		size <<= 1;

	ct->flows = calloc(max, sizeof(*ct->flows));
	ct->gtab = malloc(size * sizeof(*ct->gtab));
	ct->htab = malloc(size * sizeof(*ct->htab));
	if (!ct->flows || !ct->gtab || !ct->htab) {
		ct_free(ct);
		return -ENOMEM;
	}
	if (getrandom(ct->key, sizeof(ct->key), 0) != sizeof(ct->key)) {
		ct_free(ct);
		return -EIO;
	}

	ct->max = max;
	ct->mask = size - 1;
	memset(ct->gtab, 0xff, size * sizeof(*ct->gtab));
	memset(ct->htab, 0xff, size * sizeof(*ct->htab));
	for (i = 0; i < max; i++) {
		ct->flows[i].next = i + 1 < max ? i + 1 : FLOW_NONE;
		ct->flows[i].fd = -1;
	}
	ct->free = 0;
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
	free(ct->gtab);
	free(ct->htab);
	ct->flows = NULL;
	ct->gtab = ct->htab = NULL;
}

/**
 * ct_timeout_set() - set the timeout of a state by name
 * @ct:		connection tracking state
 * @name:	name as in ct_state_name
 * @seconds:	timeout
 *
 * Return: 0 on success, -ENOENT for an unknown name
 */
int ct_timeout_set(struct conntrack *ct, const char *name, uint32_t seconds)
{
	int i;

	for (i = 0; i < CT_STATES; i++) {
		if (!strcmp(name, ct_state_name[i])) {
			ct->timeout[i] = seconds;
			return 0;
		}
	}
	return -ENOENT;
}

/**
 * ct_hash() - keyed hash of a flow key
 * @ct:		connection tracking state
 * @proto:	protocol
 * @side:	0 for the guest-side key, 1 for the host-side one
 * @p1:		guest or host port
 * @p2:		destination port
 * @a1:		guest or peer address
 * @a2:		destination address, or 0
 *
 * Return: 32-bit hash
 */
static uint32_t ct_hash(const struct conntrack *ct, uint8_t proto, uint8_t side,
			uint16_t p1, uint16_t p2, uint32_t a1, uint32_t a2)
{
	uint8_t key[16] = { proto, side };

	memcpy(key + 2, &p1, 2);
	memcpy(key + 4, &p2, 2);
	memcpy(key + 8, &a1, 4);
	memcpy(key + 12, &a2, 4);
	return (uint32_t)siphash_16b(key, ct->key);
}

/**
 * ct_ghash() - hash of a flow's guest-side key
 * @ct:		connection tracking state
 * @f:		flow
 *
 * Return: hash
 */
static uint32_t ct_ghash(const struct conntrack *ct, const struct flow *f)
{
	return ct_hash(ct, f->proto, 0, f->gport, f->dport, f->gaddr,
		       f->daddr);
}

/**
 * ct_hhash() - hash of a flow's host-side key
 * @ct:		connection tracking state
 * @f:		flow
 *
 * Return: hash
 */
static uint32_t ct_hhash(const struct conntrack *ct, const struct flow *f)
{
	return ct_hash(ct, f->proto, 1, f->hport, f->dport, f->raddr, 0);
}

/**
 * ct_lookup_guest() - find a flow by what the guest sends
 * @ct:		connection tracking state
 * @proto:	protocol
 * @gaddr:	guest's source address, network order
 * @gport:	guest's source port or echo identifier, host order
 * @daddr:	destination address, network order
 * @dport:	destination port, host order (0 for ICMP)
 *
 * Return: flow number, FLOW_NONE if not tracked
 */
uint32_t ct_lookup_guest(const struct conntrack *ct, uint8_t proto,
			 uint32_t gaddr, uint16_t gport, uint32_t daddr,
			 uint16_t dport)
{
	uint32_t h = ct_hash(ct, proto, 0, gport, dport, gaddr, daddr), i;

	for (i = h & ct->mask; ct->gtab[i] != FLOW_NONE;
	     i = (i + 1) & ct->mask) {
		const struct flow *f = &ct->flows[ct->gtab[i]];

		if (f->ghash == h && f->proto == proto && f->gport == gport &&
		    f->dport == dport && f->gaddr == gaddr && f->daddr == daddr)
			return ct->gtab[i];
	}
	return FLOW_NONE;
}

/**
 * ct_lookup_host() - find a flow by what the peer sends back
 * @ct:		connection tracking state
 * @proto:	protocol
 * @hport:	host port or echo identifier (the packet's destination port)
 * @raddr:	peer address (the packet's source), network order
 * @dport:	peer port (the packet's source port), host order
 *
 * Return: flow number, FLOW_NONE if not tracked
 */
uint32_t ct_lookup_host(const struct conntrack *ct, uint8_t proto,
			uint16_t hport, uint32_t raddr, uint16_t dport)
{
	uint32_t h = ct_hash(ct, proto, 1, hport, dport, raddr, 0), i;

	for (i = h & ct->mask; ct->htab[i] != FLOW_NONE;
	     i = (i + 1) & ct->mask) {
		const struct flow *f = &ct->flows[ct->htab[i]];

		if (f->hhash == h && f->proto == proto && f->hport == hport &&
		    f->dport == dport && f->raddr == raddr)
			return ct->htab[i];
	}
	return FLOW_NONE;
}

/**
 * ct_tab_add() - put a flow number in an index
 * @ct:		connection tracking state
 * @tab:	index
 * @hash:	hash of the flow's key for this index
 * @idx:	flow number
 */
static void ct_tab_add(const struct conntrack *ct, uint32_t *tab,
		       uint32_t hash, uint32_t idx)
{
	uint32_t i;

	for (i = hash & ct->mask; tab[i] != FLOW_NONE; i = (i + 1) & ct->mask)
		;
	tab[i] = idx;
}

/**
 * ct_tab_del() - take a flow number out of an index, shifting back the
 *		  entries that probed past it (Knuth, TAOCP 6.4, algorithm R)
 * @ct:		connection tracking state
 * @tab:	index
 * @hash:	hash of the flow's key for this index
 * @idx:	flow number
 * @guest:	@tab is the guest-side index (selects the stored hash)
 */
static void ct_tab_del(const struct conntrack *ct, uint32_t *tab,
		       uint32_t hash, uint32_t idx, bool guest)
{
	uint32_t i, j;

	for (i = hash & ct->mask; tab[i] != idx; i = (i + 1) & ct->mask)
		;

	tab[i] = FLOW_NONE;
	for (j = (i + 1) & ct->mask; tab[j] != FLOW_NONE;
	     j = (j + 1) & ct->mask) {
		const struct flow *f = &ct->flows[tab[j]];
		uint32_t home = (guest ? f->ghash : f->hhash) & ct->mask;

		/* Leave it if its home slot is cyclically in (i, j] */
		if (i < j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		tab[i] = tab[j];
		tab[j] = FLOW_NONE;
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
 * ct_insert() - start tracking a flow
 * @ct:		connection tracking state
 * @f:		flow: addresses, ports, protocol and @fd filled in
 * @state:	initial state
 * @now:	current time, seconds
 *
 * Return: flow number, FLOW_NONE if the table is full
 */
uint32_t ct_insert(struct conntrack *ct, const struct flow *f,
		   enum ct_state state, uint32_t now)
{
	uint32_t idx = ct->free;
	struct flow *n;

	if (idx == FLOW_NONE)
		return FLOW_NONE;

	n = &ct->flows[idx];
	ct->free = n->next;
	*n = *f;
	n->state = (uint8_t)state;
	n->fin = 0;
	n->expires = now + ct->timeout[state];
	n->ghash = ct_ghash(ct, n);
	n->hhash = ct_hhash(ct, n);

	ct_tab_add(ct, ct->gtab, n->ghash, idx);
	ct_tab_add(ct, ct->htab, n->hhash, idx);
	ct_list_append(ct, idx);
	ct->count++;
	return idx;
}

/**
 * ct_remove() - stop tracking a flow (the caller released what it held)
 * @ct:		connection tracking state
 * @idx:	flow number
 */
void ct_remove(struct conntrack *ct, uint32_t idx)
{
	struct flow *f = &ct->flows[idx];

	ct_tab_del(ct, ct->gtab, f->ghash, idx, true);
	ct_tab_del(ct, ct->htab, f->hhash, idx, false);
	ct_list_del(ct, idx);

	memset(f, 0, sizeof(*f));
	f->fd = -1;
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
 * ct_tcp_track() - follow a TCP flow through one segment
 * @f:		flow, its @fin bits updated
 * @from:	CT_FROM_GUEST or CT_FROM_PEER
 * @flags:	TCP flags of the segment (TH_SYN, TH_ACK, ...)
 *
 * The states and their order are Linux conntrack's; sequence numbers
 * aren't checked: both ends are real TCP stacks that do.
 *
 * Return: state after the segment
 */
enum ct_state ct_tcp_track(struct flow *f, int from, uint8_t flags)
{
	enum ct_state s = f->state;

	if (flags & TH_RST)
		return CT_TCP_CLOSE;

	if ((flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		/* A new connection on the same ports reopens the flow */
		if (from == CT_FROM_GUEST && (s == CT_TCP_SYN_SENT ||
		    s == CT_TCP_TIME_WAIT || s == CT_TCP_CLOSE)) {
			f->fin = 0;
			return CT_TCP_SYN_SENT;
		}
		return s;
	}
	if ((flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
		return (from == CT_FROM_PEER && (s == CT_TCP_SYN_SENT ||
			s == CT_TCP_SYN_RECV)) ? CT_TCP_SYN_RECV : s;

	if (s == CT_TCP_SYN_SENT || s == CT_TCP_CLOSE)
		return s;	/* nothing but SYN-ACK or SYN moves these */

	if (flags & TH_FIN)
		f->fin |= (uint8_t)(1U << from);

	switch (f->fin) {
	case (1U << CT_FROM_GUEST) | (1U << CT_FROM_PEER):
		/* The ACK following both FINs closes it */
		if (s == CT_TCP_TIME_WAIT ||
		    (s == CT_TCP_LAST_ACK && !(flags & TH_FIN)))
			return CT_TCP_TIME_WAIT;
		return CT_TCP_LAST_ACK;
	case 1U << CT_FROM_GUEST:
		return CT_TCP_FIN_WAIT;
	case 1U << CT_FROM_PEER:
		return CT_TCP_CLOSE_WAIT;
	default:
		break;
	}

	if (s == CT_TCP_SYN_RECV)
		return (from == CT_FROM_GUEST && (flags & TH_ACK)) ?
		       CT_TCP_ESTABLISHED : s;
	return CT_TCP_ESTABLISHED;
}
