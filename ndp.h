/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ndp.h - neighbour discovery and router advertisements for the guest's link
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef NDP_H
#define NDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "ip.h"
#include "merd.h"

/* Unsolicited RAs, seconds: RFC 4861 6.2.1 wants MaxRtrAdvInterval in 4 to
 * 1800 (default 600), MinRtrAdvInterval at least 3 and at most 0.75 times
 * the maximum (default 0.33 times it)
 */
#define NDP_RA_INTERVAL_MIN	200
#define NDP_RA_INTERVAL_MAX	600

bool ndp(const struct ctx *c, const struct ip_view *ip, uint8_t *reply,
	 size_t size, size_t *rlen);
size_t ndp_ra(const struct ctx *c, const struct in6_addr *dst,
	      const uint8_t *dmac, uint8_t *buf, size_t size);
size_t ndp_ra_all(const struct ctx *c, uint8_t *buf, size_t size);
uint32_t ndp_ra_next(uint32_t now, uint32_t rnd);
bool ndp_dad_target(const struct ctx *c, const struct ip_view *ip,
		    struct in6_addr *target);

#endif /* NDP_H */
