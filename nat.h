/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nat.h - address, port and echo identifier rewriting, checksums kept right
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef NAT_H
#define NAT_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "pkt.h"

/**
 * struct nat_rw - what a packet's headers become
 * @osaddr:	source address the transport checksum was computed with
 * @odaddr:	destination address it was computed with
 * @saddr:	new source address, network order
 * @daddr:	new destination address
 * @sport:	new source port, host order; for ICMP echo, the identifier
 *		of a request
 * @dport:	new destination port; for ICMP echo, the identifier of a
 *		reply
 * @v6:		IPv6: the addresses are the ones below, not the above
 * @osaddr6:	IPv6: source address the checksum was computed with
 * @odaddr6:	IPv6: destination address it was computed with
 * @saddr6:	IPv6: new source address
 * @daddr6:	IPv6: new destination address
 */
struct nat_rw {
	uint32_t osaddr;
	uint32_t odaddr;
	uint32_t saddr;
	uint32_t daddr;
	uint16_t sport;
	uint16_t dport;
	bool v6;
	struct in6_addr osaddr6;
	struct in6_addr odaddr6;
	struct in6_addr saddr6;
	struct in6_addr daddr6;
};

void nat_ip4(struct wpkt ip, uint32_t saddr, uint32_t daddr);
void nat_ttl_dec(struct wpkt ip);
void nat_ip6(struct wpkt ip, const struct in6_addr *saddr,
	     const struct in6_addr *daddr);
void nat_l4(struct wpkt l4, uint8_t proto, const struct nat_rw *rw);
void nat_ports_set(struct wpkt l4, uint8_t proto, uint16_t sport,
		   uint16_t dport);

#endif /* NAT_H */
