/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ip6.h - IPv6 header parsing and building
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef IP6_H
#define IP6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <netinet/ip6.h>

#include "ip.h"
#include "pkt.h"

/* RFC 8200 3: the fixed header */
#define IP6_HLEN		40
/* RFC 8200 5: every link carries 1280 bytes */
#define IP6_MTU_MIN		1280
/* Hop limit of packets merd builds, and of NDP (RFC 4861 7.1.1) */
#define IP6_DEFAULT_HOPS	64
#define IP6_NDP_HOPS		255
/* RFC 8200 3: where the next header field lies in the fixed header */
#define IP6_OFF_NXT		6
/* RFC 8200 4.5: fragments carry multiples of 8 bytes, but the last */
#define IP6_FRAG_UNIT_MASK	7

/* RFC 8200 3: the flow label is the low 20 bits of the first word */
#define IP6_FLOWLABEL_MASK	0xfffff
/* Most extension headers walked before giving up on a packet */
#define IP6_EXT_MAX		8

/* What ip6_parse() and ip6_parse_quote() return besides 0: malformed, or
 * well formed but not to be forwarded (a routing header with work left,
 * more than IP6_EXT_MAX extension headers)
 */
#define IP6_E_MALFORMED		(-1)
#define IP6_E_UNSAFE		(-2)

int ip6_parse(struct pkt v, struct ip_view *ip);
int ip6_parse_quote(struct pkt v, struct ip_view *ip);
bool ip6_is_unicast(const struct in6_addr *a);
size_t ip6_header(uint8_t *buf, const struct in6_addr *saddr,
		  const struct in6_addr *daddr, uint8_t proto, uint8_t hops,
		  size_t payload_len);
size_t ip6_l4_frame(uint8_t *buf, size_t size, const uint8_t *dmac,
		    const uint8_t *smac, const struct in6_addr *saddr,
		    const struct in6_addr *daddr, uint8_t proto, uint8_t hops,
		    const void *l4, size_t l4len);
size_t ip6_udp_frame(uint8_t *buf, size_t size, const uint8_t *dmac,
		     const uint8_t *smac, const struct in6_addr *saddr,
		     const struct in6_addr *daddr, uint16_t sport,
		     uint16_t dport, const void *payload, size_t plen);
void ip6_mcast_mac(uint8_t *mac, const struct in6_addr *a);

#endif /* IP6_H */
