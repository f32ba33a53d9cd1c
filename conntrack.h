/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conntrack.h - connection tracking: two-sided flows, one hash index, aging
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef CONNTRACK_H
#define CONNTRACK_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inany.h"
#include "ip.h"

#define FLOW_NONE	UINT32_MAX
/* Default size of the flow table (passt's holds 131,071) */
#define FLOWS_DEFAULT	65536
#define FLOWS_MAX	(1U << 20)

/**
 * enum flow_pif - where a side of a flow is
 * @PIF_TAP:	the guest's link
 * @PIF_HOST:	the host's network, through the raw sockets
 * @PIFS:	number of them
 */
enum flow_pif {
	PIF_TAP,
	PIF_HOST,
	PIFS,
};

/**
 * enum flow_side - the two sides of a flow
 * @INISIDE:	the side that opened it
 * @TGTSIDE:	the side it was opened to
 * @SIDES:	number of sides
 */
enum flow_side {
	INISIDE,
	TGTSIDE,
	SIDES,
};

/**
 * enum ct_state - state of a flow; each has its own timeout
 * @CT_TCP_SYN_SENT:	the initiator sent SYN
 * @CT_TCP_SYN_RECV:	the target answered SYN-ACK
 * @CT_TCP_ESTABLISHED:	the initiator acknowledged it
 * @CT_TCP_FIN_WAIT:	the initiator sent FIN
 * @CT_TCP_CLOSE_WAIT:	the target sent FIN
 * @CT_TCP_LAST_ACK:	both sent FIN
 * @CT_TCP_TIME_WAIT:	both FINs acknowledged
 * @CT_TCP_CLOSE:	reset by either side
 * @CT_UDP:		UDP, at most one exchange so far
 * @CT_UDP_STREAM:	UDP, traffic both ways beyond the first exchange
 * @CT_ICMP:		ICMP echo
 * @CT_STATES:		number of states
 */
enum ct_state {
	CT_TCP_SYN_SENT,
	CT_TCP_SYN_RECV,
	CT_TCP_ESTABLISHED,
	CT_TCP_FIN_WAIT,
	CT_TCP_CLOSE_WAIT,
	CT_TCP_LAST_ACK,
	CT_TCP_TIME_WAIT,
	CT_TCP_CLOSE,
	CT_UDP,
	CT_UDP_STREAM,
	CT_ICMP,
	CT_STATES,
};

/* Flow flags */
#define CT_FIN(side)		(1U << (side))	/* FIN seen from side */
#define CT_FIN_FIRST(side)	(1U << (2 + (side)))	/* ...before the other's */
#define CT_REPLIED		(1U << 4)	/* the target has answered */
#define CT_PORT_HELD		(1U << 5)	/* holds a reference to its host
						 * port's slot (port_ref())
						 */

/**
 * struct flowside - one side of a flow, as seen by its endpoint
 * @eaddr:	the endpoint's address (the guest's, or the peer's)
 * @oaddr:	ours, as the endpoint addresses it (the destination the guest
 *		wrote, or the host's address)
 * @eport:	the endpoint's port, or echo identifier
 * @oport:	ours
 */
struct flowside {
	union inany_addr eaddr;
	union inany_addr oaddr;
	uint16_t eport;
	uint16_t oport;
};

static_assert(sizeof(struct flowside) == 36, "no padding in a flow key");

/**
 * flowside_set() - fill in one side's key
 * @k:		key
 * @eaddr:	the endpoint's address
 * @eport:	the endpoint's port
 * @oaddr:	ours, as the endpoint addresses it
 * @oport:	ours
 */
static inline void flowside_set(struct flowside *k,
				const union inany_addr *eaddr, uint16_t eport,
				const union inany_addr *oaddr, uint16_t oport)
{
	k->eaddr = *eaddr;
	k->oaddr = *oaddr;
	k->eport = eport;
	k->oport = oport;
}

/**
 * struct ct_tcp_seen - what one side of a TCP flow sent, for the window
 *			checks (Linux conntrack's tcp_in_window() quantities)
 * @end:	highest sequence number it sent, plus length
 * @maxend:	how far it may send: the other side's highest ack + window
 * @maxwin:	largest window it advertised, scaled; 0 before its SYN
 * @scale:	its window scale shift (RFC 7323), 0 if either side has none
 */
struct ct_tcp_seen {
	uint32_t end;
	uint32_t maxend;
	uint32_t maxwin;
	uint8_t scale;
};

/**
 * struct flow - one tracked flow
 * @side:	per side, the addresses and ports its endpoint uses
 * @pif:	per side, where it is (enum flow_pif)
 * @proto:	IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6
 * @af:		AF_INET or AF_INET6
 * @state:	enum ct_state
 * @flags:	CT_FIN(), CT_FIN_FIRST(), CT_REPLIED, CT_PORT_HELD
 * @mss:	TCP: the MSS the path to the peer takes, where merd told the
 *		guest a larger one and cuts its segments (tcp_to_host());
 *		0 if it doesn't
 * @created:	when it started, seconds of the monotonic clock
 * @expires:	when it expires
 * @prev:	previous flow in its state's aging list
 * @next:	next flow in that list, or in the free list
 * @hash:	per side, hash of its key in the index
 * @seen:	per side, TCP window tracking
 * @pkts:	per side, packets it sent through the flow
 * @bytes:	per side, their bytes, IP headers included
 */
struct flow {
	struct flowside side[SIDES];
	uint8_t pif[SIDES];
	uint8_t proto;
	uint8_t af;
	uint8_t state;
	uint8_t flags;
	uint16_t mss;
	uint32_t created;
	uint32_t expires;
	uint32_t prev;
	uint32_t next;
	uint32_t hash[SIDES];
	struct ct_tcp_seen seen[SIDES];
	uint32_t pkts[SIDES];
	uint64_t bytes[SIDES];
};

/* @mss takes what was padding before @created: no flow grows for it */
static_assert(offsetof(struct flow, mss) + sizeof(uint16_t) ==
	      offsetof(struct flow, created), "struct flow: no room for mss");

/**
 * struct ct_list - doubly linked list of flows, through struct flow
 * @head:	first flow, FLOW_NONE if empty
 * @tail:	last flow
 */
struct ct_list {
	uint32_t head;
	uint32_t tail;
};

/**
 * struct conntrack - the flow table and its index
 * @flows:	flat array of @max flows, zeroed pages touched only as used
 * @max:	size of @flows
 * @count:	flows in use
 * @used:	flows ever handed out: those above are free, never touched
 * @free:	first flow given back, linked through @next
 * @tab:	index of both sides of every flow: open addressing, linear
 *		probing; an entry is flow * SIDES + side + 1, 0 if empty
 * @mask:	size of @tab minus one (a power of two, >= 2 * SIDES * @max)
 * @aging:	per state, flows ordered by expiry (all in a list share one
 *		timeout, so appending on every refresh keeps them ordered)
 * @timeout:	per state, seconds of inactivity before expiry
 * @key:	SipHash key, random
 */
struct conntrack {
	struct flow *flows;
	uint32_t max;
	uint32_t count;
	uint32_t used;
	uint32_t free;
	uint32_t *tab;
	uint32_t mask;
	struct ct_list aging[CT_STATES];
	uint32_t timeout[CT_STATES];
	uint64_t key[2];
};

extern const char *const ct_state_name[CT_STATES];
extern const uint32_t ct_timeout_default[CT_STATES];

int ct_init(struct conntrack *ct, uint32_t max);
void ct_free(struct conntrack *ct);
uint32_t ct_lookup(const struct conntrack *ct, uint8_t proto, uint8_t pif,
		   const struct flowside *key, unsigned int *side);
uint32_t ct_alloc(struct conntrack *ct);
void ct_insert(struct conntrack *ct, uint32_t idx, enum ct_state state,
	       uint32_t now);
void ct_remove(struct conntrack *ct, uint32_t idx);
void ct_refresh(struct conntrack *ct, uint32_t idx, enum ct_state state,
		uint32_t now);
uint32_t ct_expired(const struct conntrack *ct, uint32_t now);
int ct_tcp_track(struct flow *f, unsigned int side, const struct l4_view *l4,
		 enum ct_state *state);

/**
 * ct_other() - the other side of a flow
 * @side:	INISIDE or TGTSIDE
 *
 * Return: TGTSIDE or INISIDE
 */
static inline unsigned int ct_other(unsigned int side)
{
	return !side;
}

/**
 * ct_side_of() - the side of a flow on an interface
 * @f:		flow
 * @pif:	PIF_TAP or PIF_HOST
 *
 * Return: INISIDE or TGTSIDE
 */
static inline unsigned int ct_side_of(const struct flow *f, uint8_t pif)
{
	return f->pif[INISIDE] == pif ? INISIDE : TGTSIDE;
}

#endif /* CONNTRACK_H */
