/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fwd.h - the router: guest packets out from the host's address, answers in
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef FWD_H
#define FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "conntrack.h"
#include "frag.h"
#include "fwdrule.h"
#include "ip.h"
#include "pkt.h"
#include "port.h"
#include "raw.h"
#include "uplink.h"

struct ctx;

/* The guest's IPv6 datagrams in fragments being forwarded at once */
#define FWD_FRAG6_MAX	32

/**
 * struct fwd_frag6 - where the fragments of a guest's IPv6 datagram go
 * @src:	the guest's source address
 * @dst:	destination
 * @id:		fragment identification
 * @flow:	the flow the first fragment found
 * @created:	that flow's creation time, to tell it from a successor
 * @expires:	when to forget it
 */
struct fwd_frag6 {
	struct in6_addr src;
	struct in6_addr dst;
	uint32_t id;
	uint32_t flow;
	uint32_t created;
	uint32_t expires;
};

/**
 * struct fwd - forwarding state
 * @ct:		connection tracking
 * @ports:	host ports held for flows
 * @raw:	raw sockets
 * @up:		frames, GSO packets among them, sent on the uplink
 * @frag:	reassembly of the guest's fragments
 * @scratch:	RAW_PKT_MAX bytes for building a packet out of pieces
 * @ip_id:	IPv4 identification for packets merd builds itself
 * @frag6_id:	IPv6 fragment identification for datagrams merd cuts
 * @frag6:	the guest's IPv6 datagrams in fragments, by first fragment
 * @port_key:	secret of the host port draws (RFC 6056 3.3.1)
 * @port_draws:	draws made so far: what the next one hashes
 * @rules:	ports forwarded to the guest (-t, -u)
 */
struct fwd {
	struct conntrack ct;
	struct ports ports;
	struct raw raw;
	struct uplink up;
	struct frag frag;
	uint8_t *scratch;
	uint16_t ip_id;
	uint32_t frag6_id;
	struct fwd_frag6 frag6[FWD_FRAG6_MAX];
	uint64_t port_key[2];
	uint64_t port_draws;
	struct fwdrules rules;
};

int fwd_init(struct ctx *c, uint32_t max_blocks);
int fwd_ports_init(struct ctx *c);
void fwd_cleanup(struct ctx *c);
void fwd_forget(struct ctx *c);
uint32_t fwd_addr_gone(struct ctx *c, const union inany_addr *addr);
uint32_t fwd_confine_flows(struct ctx *c);
void fwd_timer(struct ctx *c);
bool fwd_dst_ok(const struct ctx *c, uint32_t daddr);
bool fwd_dst6_ok(const struct ctx *c, const struct in6_addr *daddr);
void fwd_from_guest(struct ctx *c, const struct ip_view *ip);
void fwd_from_host(struct ctx *c, struct pkt pkt, unsigned int ifi);
void fwd_flush(struct ctx *c);
void fwd_to_guest_ip(struct ctx *c, struct pkt hdr, size_t l3len,
		     struct pkt payload);
const char *fwd_proto_name(uint8_t proto);

#endif /* FWD_H */
