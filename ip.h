/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ip.h - the parsed view of a packet, carried through the data path
 *
 * Copyright (c) 2026 merd authors
 *
 * A packet from the guest or from a raw socket is parsed once: ip4_parse()
 * checks the IP header and fills a struct ip_view, l4_parse() checks the
 * transport header and fills a struct l4_view. Every later step (flows,
 * NAT, fragments, resets, ICMP errors) reads the views: no step casts a
 * pointer onto the packet's bytes, and every range it reads was checked to
 * lie inside the packet.
 */

#ifndef IP_H
#define IP_H

#include <stdbool.h>
#include <stdint.h>

#include "inany.h"
#include "pkt.h"

/* UDP and ICMP headers are 8 bytes (RFC 768, RFC 792); TCP's 20 to 60 */
#define UDP_HLEN	8
#define ICMP_HLEN	8
#define TCP_HLEN_MIN	20
#define TCP_HLEN_MAX	60

/* No window scale option in a SYN */
#define L4_NO_WSCALE	0xff

/**
 * struct ip_view - a checked IP packet
 * @family:	AF_INET or AF_INET6
 * @src:	source address
 * @dst:	destination address
 * @proto:	transport protocol
 * @ttl:	time to live (hop limit)
 * @tos:	type of service (traffic class)
 * @flowlabel:	IPv6 flow label, host order, 0 for IPv4
 * @id:		identification, host order (IPv6: of the fragment header)
 * @frag:	fragment offset, in bytes
 * @mf:		more fragments follow
 * @df:		don't fragment (always set for IPv6: routers never fragment)
 * @fraghdr:	IPv6: offset of the fragment header in @hdr, 0 if none
 * @hdr:	the IP header, options included; for IPv6, the fixed header
 *		and every extension header before the transport header
 * @l4:		the payload, trimmed to the total (payload) length field
 */
struct ip_view {
	int family;
	union inany_addr src;
	union inany_addr dst;
	uint8_t proto;
	uint8_t ttl;
	uint8_t tos;
	uint32_t flowlabel;
	uint32_t id;
	uint16_t frag;
	bool mf;
	bool df;
	uint16_t fraghdr;
	struct pkt hdr;
	struct pkt l4;
};

/**
 * struct l4_view - a checked transport header
 * @proto:	IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6
 * @sport:	source port, host order; for ICMP echo, the identifier of a
 *		request (the echo's initiator side), else 0
 * @dport:	destination port; for ICMP echo, the identifier of a reply
 * @type:	ICMP type
 * @code:	ICMP code
 * @flags:	TCP flags
 * @seq:	TCP sequence number, host order
 * @ack:	TCP acknowledgement number, host order
 * @win:	TCP window, as sent (not scaled)
 * @wscale:	TCP window scale option of a SYN, or L4_NO_WSCALE
 * @hdr:	the transport header: options included for TCP, 8 bytes for
 *		UDP and ICMP (less in an ICMP error's quote)
 * @data:	what follows it (for UDP, trimmed to its length field)
 */
struct l4_view {
	uint8_t proto;
	uint16_t sport;
	uint16_t dport;
	uint8_t type;
	uint8_t code;
	uint8_t flags;
	uint32_t seq;
	uint32_t ack;
	uint16_t win;
	uint8_t wscale;
	struct pkt hdr;
	struct pkt data;
};

bool l4_tcp_opt(struct pkt opt, uint8_t kind, uint8_t len, size_t *off);
int l4_parse(const struct ip_view *ip, struct l4_view *l4);
int l4_parse_quote(const struct ip_view *ip, struct l4_view *l4);

/**
 * ip_is_fragment() - tell whether a packet is a fragment of a larger one
 * @ip:		checked packet
 *
 * Return: true if more fragments follow or the offset isn't zero
 */
static inline bool ip_is_fragment(const struct ip_view *ip)
{
	return ip->mf || ip->frag;
}

#endif /* IP_H */
