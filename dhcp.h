/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dhcp.h - DHCP server handing the guest the host's own IPv4 identity
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef DHCP_H
#define DHCP_H

#include <stddef.h>
#include <stdint.h>

#include "ip4.h"
#include "merd.h"
#include "pkt.h"

/* RFC 2131 4.1: UDP ports */
#define DHCP_SERVER_PORT	67
#define DHCP_CLIENT_PORT	68

/* Lease handed out, and renewal (T1) and rebinding (T2) times, in seconds:
 * RFC 2131 4.4.5 suggests T1 = 0.5 and T2 = 0.875 times the lease. Short,
 * so that a guest renews every five minutes, and learns within that time
 * that the host's network changed (host.c)
 */
#define DHCP_LEASE_TIME		600
#define DHCP_T1			(DHCP_LEASE_TIME / 2)
#define DHCP_T2			(DHCP_LEASE_TIME / 8 * 7)

bool dhcp_for_server(const struct ctx *c, const struct ip_view *ip);
size_t dhcp(struct ctx *c, const struct ip_view *ip, uint8_t *reply,
	    size_t size, bool *bound);
size_t dhcp_encode_search(const struct guest_link *g, uint8_t *buf,
			  size_t size);

#endif /* DHCP_H */
