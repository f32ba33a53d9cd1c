/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ip4.h - IPv4 and Ethernet header parsing and building
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef IP4_H
#define IP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <linux/if_ether.h>

#include "ip.h"
#include "pkt.h"

/* RFC 791: the header is at least five 32-bit words */
#define IP4_HLEN_MIN	20
#define IP4_DEFAULT_TTL	64

/**
 * ip4_hlen() - header length of an IPv4 header, in bytes
 * @h:		header
 *
 * Return: IHL times four
 */
static inline size_t ip4_hlen(const struct iphdr *h)
{
	return (size_t)h->ihl * 4;
}

int ip4_parse(struct pkt v, struct ip_view *ip);
int ip4_parse_quote(struct pkt v, struct ip_view *ip);
bool ip4_is_unicast(uint32_t addr);

/**
 * ip4_is_loopback() - tell whether an address is on the loopback network
 * @addr:	address, network order
 *
 * Return: true for 127.0.0.0/8
 */
static inline bool ip4_is_loopback(uint32_t addr)
{
	return (ntohl(addr) >> IN_CLASSA_NSHIFT) == IN_LOOPBACKNET;
}
size_t eth_header(uint8_t *buf, const uint8_t *dst, const uint8_t *src,
		  uint16_t proto);
size_t ip4_header(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint8_t proto,
		  uint16_t id, size_t payload_len);
size_t ip4_udp_frame(uint8_t *buf, size_t size, const uint8_t *dmac,
		     const uint8_t *smac, uint32_t saddr, uint32_t daddr,
		     uint16_t sport, uint16_t dport, uint16_t id,
		     const void *payload, size_t plen);

#endif /* IP4_H */
