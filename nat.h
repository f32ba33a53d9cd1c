/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nat.h - address, port and echo identifier rewriting, checksums kept right
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef NAT_H
#define NAT_H

#include <stddef.h>
#include <stdint.h>

/* Which port of a transport header to rewrite */
enum nat_port {
	NAT_SPORT,	/* TCP/UDP source port, or ICMP echo identifier */
	NAT_DPORT,	/* TCP/UDP destination port (ICMP: identifier too) */
};

void nat_ip4(uint8_t *ip, uint32_t saddr, uint32_t daddr);
void nat_ttl_dec(uint8_t *ip);
void nat_l4(uint8_t *l4, size_t len, uint8_t proto, uint32_t osaddr,
	    uint32_t odaddr, uint32_t saddr, uint32_t daddr,
	    enum nat_port which, uint16_t port);
uint16_t nat_l4_port(const uint8_t *l4, uint8_t proto, enum nat_port which);
uint16_t nat_port_set(uint8_t *l4, uint8_t proto, enum nat_port which,
		      uint16_t port);

#endif /* NAT_H */
