/* SPDX-License-Identifier: GPL-2.0-or-later */
/* icmp6.h - ICMPv6 errors for the guest: merd's own, and the network's
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef ICMP6_H
#define ICMP6_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "ip.h"
#include "ip6.h"

struct ctx;

/* RFC 4443 3.1: destination unreachable, "communication administratively
 * prohibited", and "address unreachable"
 */
#define ICMP6_CODE_ADMIN	1
#define ICMP6_CODE_ADDR		3

/* Headers of an error merd writes: IPv6's fixed one, and ICMPv6's */
#define ICMP6_ERROR_HDR	(IP6_HLEN + ICMP_HLEN)

size_t icmp6_error_build(uint8_t *hdr, uint8_t type, uint8_t code,
			 uint32_t info, const struct in6_addr *src,
			 const struct ip_view *orig, size_t room);
void icmp6_error(struct ctx *c, uint8_t type, uint8_t code, uint32_t info,
		 const struct ip_view *orig);
void icmp6_error_in(struct ctx *c, const struct ip_view *ip,
		    const struct l4_view *l4);
void icmp6_error_out(struct ctx *c, const struct ip_view *ip,
		     const struct l4_view *l4);

#endif /* ICMP6_H */
