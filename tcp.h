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
#include "pkt.h"

struct ctx;

void tcp_rst(struct ctx *c, const struct ip_view *ip,
	     const struct l4_view *l4);
int tcp_to_guest(struct ctx *c, struct pkt hdr, size_t l3len,
		 struct pkt payload);

#endif /* TCP_H */
