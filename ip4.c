// SPDX-License-Identifier: GPL-2.0-or-later
/* ip4.c - IPv4 and Ethernet header parsing and building
 *
 * Copyright (c) 2026 merd authors
 */

#include <string.h>
#include <arpa/inet.h>
#include <netinet/udp.h>

#include "csum.h"
#include "ip4.h"

/**
 * ip4_parse() - check an IPv4 header and find its payload
 * @v:		bytes following the Ethernet header
 * @ip:		filled on success
 *
 * Checks the version, the header length against the data, the total length
 * against the data (trailing Ethernet padding is cut off), and the header
 * checksum.
 *
 * Return: 0 on success, -1 if the packet is malformed
 */
int ip4_parse(struct pkt v, struct ip4_view *ip)
{
	size_t tot;

	if (!pkt_get(v, 0, &ip->h, sizeof(ip->h)))
		return -1;
	if (ip->h.version != 4 || ip->h.ihl < IP4_HLEN_MIN / 4)
		return -1;

	ip->hlen = (size_t)ip->h.ihl * 4;
	tot = ntohs(ip->h.tot_len);
	if (tot < ip->hlen || tot > v.len)
		return -1;
	if (!pkt_sub(v, 0, ip->hlen, &ip->hdr))
		return -1;
	if (csum_fold(csum_partial(ip->hdr.p, ip->hlen, 0)) != 0xffff)
		return -1;

	return pkt_sub(v, ip->hlen, tot - ip->hlen, &ip->l4) ? 0 : -1;
}

/**
 * ip4_is_unicast() - tell whether an address can name one host elsewhere
 * @addr:	address, network order
 *
 * Not "this network" (0/8), loopback (127/8), multicast (224/4), nor
 * reserved (240/4, which holds the limited broadcast address).
 *
 * Return: true if unicast
 */
bool ip4_is_unicast(uint32_t addr)
{
	uint32_t h = ntohl(addr);

	return (h >> IN_CLASSA_NSHIFT) != 0 && !ip4_is_loopback(addr) &&
	       !IN_MULTICAST(h) && !IN_EXPERIMENTAL(h);
}

/**
 * ip4_is_fragment() - tell whether a packet is a fragment of a larger one
 * @ip:		checked packet
 *
 * Return: true if more fragments follow or the offset isn't zero
 */
bool ip4_is_fragment(const struct ip4_view *ip)
{
	return ntohs(ip->h.frag_off) & (IP_MF | IP_OFFMASK);
}

/**
 * eth_header() - write an Ethernet header
 * @buf:	destination, at least ETH_HLEN bytes
 * @dst:	destination MAC
 * @src:	source MAC
 * @proto:	EtherType, host order
 *
 * Return: ETH_HLEN
 */
size_t eth_header(uint8_t *buf, const uint8_t *dst, const uint8_t *src,
		  uint16_t proto)
{
	uint16_t p = htons(proto);

	memcpy(buf, dst, ETH_ALEN);
	memcpy(buf + ETH_ALEN, src, ETH_ALEN);
	memcpy(buf + ETH_ALEN + ETH_ALEN, &p, sizeof(p));
	return ETH_HLEN;
}

/**
 * ip4_header() - write a 20-byte IPv4 header with a valid checksum
 * @buf:	destination, at least IP4_HLEN_MIN bytes
 * @saddr:	source address, network order
 * @daddr:	destination address, network order
 * @proto:	protocol
 * @id:		identification, host order
 * @payload_len: bytes following the header
 *
 * Return: IP4_HLEN_MIN
 */
size_t ip4_header(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint8_t proto,
		  uint16_t id, size_t payload_len)
{
	struct iphdr h = {
		.version = 4,
		.ihl = IP4_HLEN_MIN / 4,
		.tot_len = htons((uint16_t)(IP4_HLEN_MIN + payload_len)),
		.id = htons(id),
		.ttl = IP4_DEFAULT_TTL,
		.protocol = proto,
		.saddr = saddr,
		.daddr = daddr,
	};

	h.check = csum_ip4_header(&h, sizeof(h));
	memcpy(buf, &h, sizeof(h));
	return sizeof(h);
}

/**
 * ip4_udp_frame() - build an Ethernet frame carrying a UDP datagram
 * @buf:	destination
 * @size:	size of @buf
 * @dmac:	destination MAC
 * @smac:	source MAC
 * @saddr:	source address, network order
 * @daddr:	destination address, network order
 * @sport:	source port, host order
 * @dport:	destination port, host order
 * @id:		IPv4 identification, host order
 * @payload:	UDP payload
 * @plen:	its length
 *
 * Return: frame length, 0 if it doesn't fit in @buf
 */
size_t ip4_udp_frame(uint8_t *buf, size_t size, const uint8_t *dmac,
		     const uint8_t *smac, uint32_t saddr, uint32_t daddr,
		     uint16_t sport, uint16_t dport, uint16_t id,
		     const void *payload, size_t plen)
{
	size_t l4len = UDP_HLEN + plen;
	struct udphdr uh = {
		.source = htons(sport),
		.dest = htons(dport),
		.len = htons((uint16_t)l4len),
	};
	uint8_t *l4 = buf + ETH_HLEN + IP4_HLEN_MIN;

	if (plen > UINT16_MAX - UDP_HLEN - IP4_HLEN_MIN ||
	    size < ETH_HLEN + IP4_HLEN_MIN + l4len)
		return 0;

	eth_header(buf, dmac, smac, ETH_P_IP);
	ip4_header(buf + ETH_HLEN, saddr, daddr, IPPROTO_UDP, id, l4len);
	memcpy(l4, &uh, sizeof(uh));
	memcpy(l4 + UDP_HLEN, payload, plen);

	uh.check = csum_l4_ip4(saddr, daddr, IPPROTO_UDP, l4, l4len);
	if (!uh.check)
		uh.check = 0xffff;	/* RFC 768: zero means no checksum */
	memcpy(l4 + offsetof(struct udphdr, check), &uh.check,
	       sizeof(uh.check));

	return ETH_HLEN + IP4_HLEN_MIN + l4len;
}
