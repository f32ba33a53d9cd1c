/* SPDX-License-Identifier: GPL-2.0-or-later */
/* icmp.h - ICMP errors for the guest: merd's own, and the network's
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef ICMP_H
#define ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "ip.h"
#include "ip4.h"

struct ctx;

/* RFC 1812 4.3.2.3: an ICMP error, quote included, fits in 576 bytes */
#define ICMP_ERROR_MAX	576
/* RFC 1812 5.2.7.1: communication administratively prohibited */
#define ICMP_CODE_ADMIN_PROHIBITED	13

/* Headers of an error merd writes: IPv4 without options, and ICMP's */
#define ICMP_ERROR_HDR	(IP4_HLEN_MIN + ICMP_HLEN)

size_t icmp_error_build(uint8_t *hdr, uint8_t type, uint8_t code,
			uint16_t mtu, uint32_t saddr,
			const struct ip_view *orig, size_t room, uint16_t id);
void icmp_error(struct ctx *c, uint8_t type, uint8_t code, uint16_t mtu,
		uint32_t saddr, const struct ip_view *orig);
void icmp_error_in(struct ctx *c, const struct ip_view *ip,
		   const struct l4_view *l4);
void icmp_error_out(struct ctx *c, const struct ip_view *ip,
		    const struct l4_view *l4);

#endif /* ICMP_H */
