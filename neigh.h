/* SPDX-License-Identifier: GPL-2.0-or-later */
/* neigh.h - next hops' link-layer addresses, from the kernel's own tables
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef NEIGH_H
#define NEIGH_H

#include <stdint.h>
#include <linux/if_ether.h>

#include "inany.h"

struct ctx;

/* Destinations remembered: as many as a guest sends to at once, so that
 * its busy flows stay on the fast path; past that, destinations replace
 * one another, each replacement one more route request. A power of two:
 * a request's sequence number carries its slot in the low NEIGH_SLOT_BITS
 */
#define NEIGH_DST_MAX	256
#define NEIGH_SLOT_BITS	8
/* Slots a destination may take, from the one its hash picks: a lookup
 * compares at most this many, whatever addresses the guest chooses
 */
#define NEIGH_WAYS	4
/* Seconds before a request without an answer is made again */
#define NEIGH_ASK_AGAIN	2
/* Seconds between packets to an unconfirmed neighbour sent through the
 * kernel, so that it confirms it (neigh.c)
 */
#define NEIGH_REFRESH	1
/* Requests per second at most, whatever the guest sends to: all fit the
 * socket's default receive buffer, unread
 */
#define NEIGH_ASKS_MAX	64

/**
 * enum neigh_state - what merd knows of a destination
 * @NEIGH_EMPTY:	slot free
 * @NEIGH_ASKED:	its route was asked, no answer yet
 * @NEIGH_ROUTED:	its next hop is on the uplink, its MAC unknown
 * @NEIGH_RESOLVED:	its next hop's MAC is known
 * @NEIGH_NOT_UPLINK:	its packets don't leave through the uplink (another
 *			interface, a local or broadcast address, no route):
 *			always the kernel's way
 */
enum neigh_state {
	NEIGH_EMPTY = 0,
	NEIGH_ASKED,
	NEIGH_ROUTED,
	NEIGH_RESOLVED,
	NEIGH_NOT_UPLINK,
};

/**
 * struct neigh_dst - a destination, and its next hop
 * @addr:	the destination
 * @via:	its next hop: the gateway, or @addr itself when on-link
 * @mac:	the next hop's MAC, valid in NEIGH_RESOLVED
 * @state:	enum neigh_state
 * @nud:	the kernel's NUD state of the next hop (NUD_REACHABLE, ...)
 * @seq:	sequence number of the request outstanding, 0 if none
 * @asked:	when the last request was sent
 * @kernel:	when a packet to it last went the kernel's way to refresh an
 *		unconfirmed neighbour
 * @used:	when it was last looked up, for replacement
 */
struct neigh_dst {
	union inany_addr addr;
	union inany_addr via;
	uint8_t mac[ETH_ALEN];
	uint8_t state;
	uint16_t nud;
	uint32_t seq;
	uint32_t asked;
	uint32_t kernel;
	uint32_t used;
};

/**
 * struct neigh - next hops of the uplink's destinations
 * @fd:		NETLINK_ROUTE socket: requests, their answers, and the
 *		neighbour notifications, -1 if none
 * @seq:	requests sent so far: the high bits of the next sequence
 *		number
 * @key:	SipHash key of the slots, random
 * @asks_at:	the second @asks counts for
 * @asks:	requests sent in that second
 * @d:		destinations, NEIGH_WAYS slots from their hash
 */
struct neigh {
	int fd;
	uint32_t seq;
	uint64_t key[2];
	uint32_t asks_at;
	unsigned int asks;
	struct neigh_dst d[NEIGH_DST_MAX];
};

int neigh_init(struct ctx *c);
const uint8_t *neigh_mac(struct ctx *c, const union inany_addr *dst);
void neigh_handler(struct ctx *c);
void neigh_forget(struct ctx *c);
void neigh_close(struct ctx *c);

#endif /* NEIGH_H */
