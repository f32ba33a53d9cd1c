/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dhcpv6.h - DHCPv6 server handing the guest the host's own IPv6 address
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef DHCPV6_H
#define DHCPV6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ip.h"
#include "merd.h"

/* RFC 8415 7.2: UDP ports */
#define DHCPV6_CLIENT_PORT	546
#define DHCPV6_SERVER_PORT	547

/* Lifetimes of the address handed out, in seconds, as dhcp.h's lease; and
 * renewal (T1) and rebinding (T2) times: RFC 8415 21.4 recommends 0.5 and
 * 0.8 times the shortest preferred lifetime
 */
#define DHCPV6_PREFERRED_LIFETIME	600
#define DHCPV6_VALID_LIFETIME		600
#define DHCPV6_T1	(DHCPV6_PREFERRED_LIFETIME / 2)
#define DHCPV6_T2	(DHCPV6_PREFERRED_LIFETIME / 5 * 4)

bool dhcpv6_for_server(const struct ctx *c, const struct ip_view *ip);
size_t dhcpv6(struct ctx *c, const struct ip_view *ip, uint8_t *reply,
	      size_t size);

#endif /* DHCPV6_H */
