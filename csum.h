/* SPDX-License-Identifier: GPL-2.0-or-later */
/* csum.h - Internet checksum (RFC 1071) and its incremental update (RFC 1624)
 *
 * Copyright (c) 2026 merd authors
 *
 * All 16-bit and 32-bit values here are "raw": loaded from, and stored to,
 * packet bytes with memcpy(), without byte swapping. One's complement sums
 * don't depend on byte order, so a checksum computed on raw values can be
 * stored back as it is.
 */

#ifndef CSUM_H
#define CSUM_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* Where the checksum lies in each transport header (RFC 793, 768, 792) */
#define TCP_OFF_CHECK	16
#define UDP_OFF_CHECK	6
#define ICMP_OFF_CHECK	2

/**
 * csum_l4_offset() - where the transport checksum lies
 * @proto:	IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6
 *
 * Return: offset in the transport header
 */
static inline size_t csum_l4_offset(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return TCP_OFF_CHECK;
	case IPPROTO_UDP:
		return UDP_OFF_CHECK;
	default:
		return ICMP_OFF_CHECK;
	}
}

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);
uint16_t csum_fold(uint32_t sum);
uint16_t csum_finish(uint32_t sum);
uint32_t csum_add(uint32_t a, uint32_t b);
uint32_t csum_swab(uint32_t sum);
uint16_t csum_ip4_header(const void *hdr, size_t len);
uint32_t csum_pseudo4(uint32_t saddr, uint32_t daddr, uint8_t proto,
		      uint16_t len);
uint16_t csum_l4_ip4(uint32_t saddr, uint32_t daddr, uint8_t proto,
		     const void *l4, size_t len);
uint32_t csum_pseudo6(const struct in6_addr *saddr,
		      const struct in6_addr *daddr, uint8_t proto,
		      uint32_t len);
uint16_t csum_l4_ip6(const struct in6_addr *saddr,
		     const struct in6_addr *daddr, uint8_t proto,
		     const void *l4, size_t len);
uint16_t csum_update_addr6(uint16_t check, const struct in6_addr *old,
			   const struct in6_addr *new);
uint16_t csum_update16(uint16_t check, uint16_t old, uint16_t new);
uint16_t csum_update32(uint16_t check, uint32_t old, uint32_t new);

#endif /* CSUM_H */
