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
#include "ip.h"
#include "pkt.h"
#include "port.h"
#include "raw.h"

struct ctx;

/* Counters of the per-destination port offsets (RFC 6056 3.3.4) */
#define FWD_PORT_CTRS	256

/**
 * struct fwd - forwarding state
 * @ct:		connection tracking
 * @ports:	host ports held for flows
 * @raw:	raw sockets
 * @frag:	reassembly of the guest's fragments
 * @scratch:	RAW_PKT_MAX bytes for building a packet out of pieces
 * @ip_id:	IPv4 identification for packets merd builds itself
 * @port_key:	secret for the port offsets (RFC 6056 3.3.4: F and G)
 * @port_ctr:	per-destination port counters (RFC 6056 3.3.4: table[])
 */
struct fwd {
	struct conntrack ct;
	struct ports ports;
	struct raw raw;
	struct frag frag;
	uint8_t *scratch;
	uint16_t ip_id;
	uint64_t port_key[2];
	uint32_t port_ctr[FWD_PORT_CTRS];
};

int fwd_init(struct ctx *c, uint32_t max_blocks);
int fwd_ports_init(struct ctx *c);
void fwd_cleanup(struct ctx *c);
void fwd_forget(struct ctx *c);
void fwd_timer(struct ctx *c);
bool fwd_dst_ok(const struct ctx *c, uint32_t daddr);
bool fwd_dst6_ok(const struct ctx *c, const struct in6_addr *daddr);
void fwd_from_guest(struct ctx *c, const struct ip_view *ip);
void fwd_from_host(struct ctx *c, struct pkt pkt);
void fwd_flush(struct ctx *c);
void fwd_to_guest_ip(struct ctx *c, struct pkt hdr, size_t l3len,
		     struct pkt payload);
const char *fwd_proto_name(uint8_t proto);

#endif /* FWD_H */
