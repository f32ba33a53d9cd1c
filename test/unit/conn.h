/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conn.h - a TCP connection between the guest and a peer, through merd,
 *	    for the tests of what merd sends for the guest's segments
 *
 * Copyright (c) 2026 merd authors
 *
 * The guest of env.h talks to a peer on the network: the IPv4 address the
 * connection names (PEER, most of the time), or PEER6. flow_add() puts
 * the connection's flow in the table as fwd_flow_new() makes it, gpkt()
 * and ppkt() write its segments from either end (tcp_pkt(), ref6.h),
 * keeping both ends' sequence numbers, and peer_ack() has the peer
 * acknowledge what the guest sent. test_tso.c and test_uplink.c share it.
 */

#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "conntrack.h"
#include "env6.h"

#define PEER		0xc0000250	/* 192.0.2.80 */
#define PEER6		"2001:db8:80::50"
#define LOOP		0x7f000001	/* 127.0.0.1, the host's loopback */
#define PEER_ID		0x6262		/* the peer's IPv4 identification */

/**
 * struct conn - a TCP flow between the guest and the peer, through merd
 * @v6:		over IPv6
 * @peer:	the peer, IPv4, host order; GW for the host itself, which
 *		merd reaches on its loopback
 * @idx:	its flow
 * @gport:	the guest's port
 * @pport:	the peer's
 * @hport:	the host's, toward the peer
 * @gseq:	the guest's next sequence number
 * @pseq:	the peer's
 * @id:		the guest's next IPv4 identification
 */
struct conn {
	bool v6;
	uint32_t peer;
	uint32_t idx;
	uint16_t gport, pport, hport;
	uint32_t gseq, pseq;
	uint16_t id;
};

/**
 * flow_add() - @k's flow as fwd_flow_new() makes it: to the peer, or from
 *		loopback to loopback where the peer is the gateway (mapped
 *		to the host)
 * @c:		context, with a flow table
 * @k:		connection, @v6, @peer and ports set; @idx set to the flow
 */
static inline void flow_add(struct ctx *c, struct conn *k)
{
	bool mapped = !k->v6 && k->peer == GW;
	uint32_t idx = ct_alloc(&c->fwd.ct);
	struct flow *f;

	assert_true(idx != FLOW_NONE);
	f = &c->fwd.ct.flows[idx];
	f->proto = IPPROTO_TCP;
	f->af = k->v6 ? AF_INET6 : AF_INET;
	f->pif[INISIDE] = PIF_TAP;
	f->pif[TGTSIDE] = PIF_HOST;
	if (k->v6) {
		f->side[INISIDE].eaddr.a6 = addr6(GUEST6);
		f->side[INISIDE].oaddr.a6 = addr6(PEER6);
		f->side[TGTSIDE].eaddr.a6 = addr6(PEER6);
		f->side[TGTSIDE].oaddr.a6 = addr6(HOST6);
	} else {
		f->side[INISIDE].eaddr = v4(GUEST);
		f->side[INISIDE].oaddr = v4(k->peer);
		f->side[TGTSIDE].eaddr = v4(mapped ? LOOP : k->peer);
		f->side[TGTSIDE].oaddr = v4(mapped ? LOOP : HOST);
	}
	f->side[INISIDE].eport = k->gport;
	f->side[INISIDE].oport = k->pport;
	f->side[TGTSIDE].eport = k->pport;
	f->side[TGTSIDE].oport = k->hport;
	ct_insert(&c->fwd.ct, idx, CT_TCP_SYN_SENT, c->now);
	k->idx = idx;
}

/**
 * gpkt() - a segment of @k from the guest, its next sequence number and
 *	    identification on
 * @k:		connection
 * @flags:	TCP flags
 * @opt:	options, NULL for random ones
 * @optlen:	their length, a multiple of 4
 * @payload:	random payload bytes
 * @len:	set to the segment's length
 *
 * Return: the segment, from its IP header, to free()
 */
static inline uint8_t *gpkt(struct conn *k, uint8_t flags,
			    const uint8_t *opt, size_t optlen,
			    size_t payload, size_t *len)
{
	uint8_t *p = tcp_pkt(k->v6, GUEST, k->peer, GUEST6, PEER6, k->gport,
			     k->pport, k->gseq, k->pseq, flags, opt, optlen,
			     payload, k->id, len);

	k->gseq += (uint32_t)payload + !!(flags & (R_SYN | R_FIN));
	k->id++;
	return p;
}

/**
 * ppkt() - a segment of @k from the peer, as the raw socket returns it,
 *	    the peer's next sequence number on
 * @k:		connection
 * @flags:	TCP flags
 * @opt:	options, NULL for random ones
 * @optlen:	their length, a multiple of 4
 * @payload:	random payload bytes
 * @len:	set to the segment's length
 *
 * Return: the segment, from its IP header, to free()
 */
static inline uint8_t *ppkt(struct conn *k, uint8_t flags,
			    const uint8_t *opt, size_t optlen,
			    size_t payload, size_t *len)
{
	uint8_t *p = tcp_pkt(k->v6, k->peer, HOST, PEER6, HOST6, k->pport,
			     k->hport, k->pseq, k->gseq, flags, opt, optlen,
			     payload, PEER_ID, len);

	k->pseq += (uint32_t)payload + !!(flags & (R_SYN | R_FIN));
	return p;
}

/**
 * peer_ack() - the peer acknowledges all the guest sent on @k, window
 *		65535 (scaled as the handshake agreed); what merd passes on
 *		to the guest is taken out of its queue
 * @e:		environment
 * @k:		connection
 */
static inline void peer_ack(struct env *e, struct conn *k)
{
	uint8_t *p;
	size_t len;

	p = ppkt(k, R_ACK, NULL, 0, 0, &len);
	env_from_host(e, p, len);
	free(p);
	ring_get(&e->c.tap.tx, NULL, e->c.tap.tx.used);
}

#endif /* CONN_H */
