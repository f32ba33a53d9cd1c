/* SPDX-License-Identifier: GPL-2.0-or-later */
/* uplink.h - guest packets sent as Ethernet frames on the host's uplink,
 *	      consecutive TCP segments of a flow joined into one GSO packet
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef UPLINK_H
#define UPLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "raw.h"

struct ctx;

/**
 * struct uplink - the AF_PACKET socket on the uplink, and what it carried
 * @on:		the socket is open: not --no-gso, and the kernel gave it
 * @use:	packets go there now (uplink_timer())
 * @forced:	--gso: whatever the host's connection tracking does
 * @fd:		AF_PACKET socket, PACKET_VNET_HDR, receiving nothing
 * @fd_ct:	the host's count of tracked connections (nf_conntrack_count,
 *		opened at start), -1 if the kernel has no connection tracking
 * @raw_seen:	packets the raw sockets had sent at the last check
 * @syn_raw:	a SYN is in the send batch, for the raw sockets
 * @frames:	packets sent through it
 * @gso:	of those, GSO packets: several segments in one
 * @segs:	segments the GSO packets carried
 */
struct uplink {
	bool on;
	bool use;
	bool forced;
	int fd;
	int fd_ct;
	uint64_t raw_seen;
	bool syn_raw;
	uint64_t frames;
	uint64_t gso;
	uint64_t segs;
};

void uplink_init(struct ctx *c);
void uplink_close(struct uplink *u);
void uplink_timer(struct ctx *c);
void uplink_syn_sent(struct ctx *c);
bool uplink_take(struct ctx *c, struct raw_out *o);
void uplink_flush(struct ctx *c, raw_err_fn on_err);

#endif /* UPLINK_H */
