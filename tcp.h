/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tcp.h - TCP segments merd writes itself: resets, GRO's undoing, and
 * segmentation offload for the guest
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef TCP_H
#define TCP_H

#include <stddef.h>
#include <stdint.h>

#include "ip.h"
#include "ip6.h"
#include "pkt.h"
#include "raw.h"

struct ctx;
struct flow;

/* The CWR bit of the flags byte (RFC 3168 6.1) */
#define TCP_FLAG_CWR	0x80

/* Largest reset merd builds: IPv6 header and a TCP header, no options */
#define TCP_RST_MAX	(IP6_HLEN + TCP_HLEN_MIN)

/* Segmentation offload for the guest (tcp_to_host()): the least path MSS
 * merd cuts segments for, the default of RFC 9293 3.7.1 (a peer asking
 * for less gets the guest's segments as they are); the least IPv4 path
 * MTU an ICMP error may bring the pieces down to (RFC 1122 3.3.3); and so
 * the most pieces a segment of 64 KiB, with 40 bytes of options, needs
 */
#define TCP_TSO_MSS_MIN		536
#define TCP_TSO_MTU_MIN4	576
#define TCP_TSO_PIECES_MAX	(UINT16_MAX / (TCP_TSO_MSS_MIN - \
					      (TCP_HLEN_MAX - TCP_HLEN_MIN)) + 1)

size_t tcp_rst_build(uint8_t *out, const struct ip_view *ip,
		     const struct l4_view *l4, uint16_t id);
void tcp_rst(struct ctx *c, const struct ip_view *ip,
	     const struct l4_view *l4);
int tcp_to_guest(struct ctx *c, struct pkt hdr, size_t l3len,
		 struct pkt payload);
uint16_t tcp_syn_mss(struct pkt th, size_t *off);
void tcp_mss_set(struct wpkt th, size_t off, uint16_t mss);
uint16_t tcp_tso_mtu(struct flow *f, uint32_t mtu);
int tcp_to_host(struct ctx *c, const struct raw_out *o, size_t l3len,
		size_t piece, raw_err_fn on_err);

#endif /* TCP_H */
