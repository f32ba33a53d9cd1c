/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tcp.h - TCP segments merd writes itself: resets, and GRO's undoing
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

struct ctx;

/* Largest reset merd builds: IPv6 header and a TCP header, no options */
#define TCP_RST_MAX	(IP6_HLEN + TCP_HLEN_MIN)

size_t tcp_rst_build(uint8_t *out, const struct ip_view *ip,
		     const struct l4_view *l4, uint16_t id);
void tcp_rst(struct ctx *c, const struct ip_view *ip,
	     const struct l4_view *l4);
int tcp_to_guest(struct ctx *c, struct pkt hdr, size_t l3len,
		 struct pkt payload);

#endif /* TCP_H */
