/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conntrack.h - connection tracking: flat flow table, hash indexes, aging
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef CONNTRACK_H
#define CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

#define FLOW_NONE	UINT32_MAX
#define FLOWS_DEFAULT	8192
#define FLOWS_MAX	(1U << 20)

/**
 * enum ct_state - state of a flow; each has its own timeout
 * @CT_TCP_SYN_SENT:	guest sent SYN
 * @CT_TCP_SYN_RECV:	peer answered SYN-ACK
 * @CT_TCP_ESTABLISHED:	guest acknowledged it
 * @CT_TCP_FIN_WAIT:	guest sent FIN
 * @CT_TCP_CLOSE_WAIT:	peer sent FIN
 * @CT_TCP_LAST_ACK:	both sent FIN
 * @CT_TCP_TIME_WAIT:	both FINs acknowledged
 * @CT_TCP_CLOSE:	reset by either side
 * @CT_UDP:		UDP, no answer yet
 * @CT_UDP_STREAM:	UDP, answered
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

/* Which side a packet comes from */
#define CT_FROM_GUEST	0
#define CT_FROM_PEER	1

/**
 * struct flow - one tracked flow: the guest's view and the host's view
 * @gaddr:	guest's source address, network order
 * @daddr:	destination as the guest sees it (the gateway, if mapped)
 * @raddr:	destination as the host sends to it (loopback, if mapped)
 * @haddr:	host address the flow leaves from
 * @gport:	guest's source port or echo identifier, host order
 * @dport:	destination port, host order, 0 for ICMP
 * @hport:	host port or echo identifier standing in for @gport
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 * @state:	enum ct_state
 * @fin:	FINs seen: bit CT_FROM_GUEST, bit CT_FROM_PEER
 * @expires:	when the flow expires, seconds of the monotonic clock
 * @prev:	previous flow in its state's aging list
 * @next:	next flow in that list, or in the free list
 * @ghash:	hash of the guest-side key
 * @hhash:	hash of the host-side key
 * @fd:		socket holding @hport on the host, -1 if none
 */
struct flow {
	uint32_t gaddr;
	uint32_t daddr;
	uint32_t raddr;
	uint32_t haddr;
	uint16_t gport;
	uint16_t dport;
	uint16_t hport;
	uint8_t proto;
	uint8_t state;
	uint8_t fin;
	uint32_t expires;
	uint32_t prev;
	uint32_t next;
	uint32_t ghash;
	uint32_t hhash;
	int fd;
};

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
 * struct conntrack - the flow table and its indexes
 * @flows:	flat array of @max flows, sized at start-up
 * @max:	size of @flows
 * @count:	flows in use
 * @free:	first unused flow, linked through @next
 * @gtab:	guest-side index: open addressing, linear probing
 * @htab:	host-side index, likewise
 * @mask:	size of the indexes minus one (a power of two, >= 2 * @max)
 * @aging:	per state, flows ordered by expiry (all in a list share one
 *		timeout, so appending on every refresh keeps them ordered)
 * @timeout:	per state, seconds of inactivity before expiry
 * @key:	SipHash key, random
 */
struct conntrack {
	struct flow *flows;
	uint32_t max;
	uint32_t count;
	uint32_t free;
	uint32_t *gtab;
	uint32_t *htab;
	uint32_t mask;
	struct ct_list aging[CT_STATES];
	uint32_t timeout[CT_STATES];
	uint64_t key[2];
};

extern const char *const ct_state_name[CT_STATES];

int ct_init(struct conntrack *ct, uint32_t max);
void ct_free(struct conntrack *ct);
int ct_timeout_set(struct conntrack *ct, const char *name, uint32_t seconds);
uint32_t ct_lookup_guest(const struct conntrack *ct, uint8_t proto,
			 uint32_t gaddr, uint16_t gport, uint32_t daddr,
			 uint16_t dport);
uint32_t ct_lookup_host(const struct conntrack *ct, uint8_t proto,
			uint16_t hport, uint32_t raddr, uint16_t dport);
uint32_t ct_insert(struct conntrack *ct, const struct flow *f,
		   enum ct_state state, uint32_t now);
void ct_remove(struct conntrack *ct, uint32_t idx);
void ct_refresh(struct conntrack *ct, uint32_t idx, enum ct_state state,
		uint32_t now);
uint32_t ct_expired(const struct conntrack *ct, uint32_t now);
enum ct_state ct_tcp_track(struct flow *f, int from, uint8_t flags);

#endif /* CONNTRACK_H */
