/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inbound.h - port forwarding: remote clients and the host's own programs
 *	       reach the guest's services
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef INBOUND_H
#define INBOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "inany.h"
#include "ip.h"

struct ctx;

void inbound_init(struct ctx *c);
bool inbound_guest_addr(const struct ctx *c, int family,
			union inany_addr *a);
bool inbound_from_host(const struct ctx *c, const struct ip_view *ip,
		       unsigned int ifi);
void inbound_icmp(struct ctx *c, const struct ip_view *ip, uint8_t type,
		  uint8_t code);
void inbound_refuse(struct ctx *c, const struct ip_view *ip,
		    const struct l4_view *l4, const char *why);

#endif /* INBOUND_H */
