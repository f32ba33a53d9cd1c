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
#include "util.h"

/**
 * ip4_view_fill() - fill a view from a checked IPv4 header
 * @h:		fixed header, aligned copy
 * @ip:		view: everything but @hdr and @l4 set
 */
static void ip4_view_fill(const struct iphdr *h, struct ip_view *ip)
{
	uint16_t fo = ntohs(h->frag_off);

	ip->family = AF_INET;
	inany_from_v4(&ip->src, h->saddr);
	inany_from_v4(&ip->dst, h->daddr);
	ip->proto = h->protocol;
	ip->ttl = h->ttl;
	ip->tos = h->tos;
	ip->id = ntohs(h->id);
	ip->frag = (uint16_t)((fo & IP_OFFMASK) * 8);
	ip->mf = fo & IP_MF;
	ip->df = fo & IP_DF;
}

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
int ip4_parse(struct pkt v, struct ip_view *ip)
{
	struct iphdr h;
	size_t hlen, tot;

	if (!pkt_get(v, 0, &h, sizeof(h)))
		return -1;
	if (h.version != 4 || h.ihl < IP4_HLEN_MIN / 4)
		return -1;

	hlen = ip4_hlen(&h);
	tot = ntohs(h.tot_len);
	if (tot < hlen || tot > v.len)
		return -1;
	if (!pkt_sub(v, 0, hlen, &ip->hdr))
		return -1;
	if (csum_fold(csum_partial(ip->hdr.p, hlen, 0)) != 0xffff)
		return -1;

	ip4_view_fill(&h, ip);
	return pkt_sub(v, hlen, tot - hlen, &ip->l4) ? 0 : -1;
}

/**
 * ip4_parse_quote() - check the IPv4 header an ICMP error quotes
 * @v:		the quote, from the quoted header on
 * @ip:		filled on success: @l4 is what was quoted of the payload
 *
 * A quote is cut short (RFC 792: the header and 8 bytes), so its total
 * length field is only a bound, and its checksum is the sender's business.
 *
 * Return: 0 on success, -1 if the header itself isn't whole
 */
int ip4_parse_quote(struct pkt v, struct ip_view *ip)
{
	struct iphdr h;
	size_t hlen, tot;

	if (!pkt_get(v, 0, &h, sizeof(h)) || h.version != 4 ||
	    h.ihl < IP4_HLEN_MIN / 4)
		return -1;
	hlen = ip4_hlen(&h);
	tot = ntohs(h.tot_len);
	if (tot < hlen || !pkt_sub(v, 0, hlen, &ip->hdr))
		return -1;

	ip4_view_fill(&h, ip);
	return pkt_sub(v, hlen, MIN(tot, v.len) - hlen, &ip->l4) ? 0 : -1;
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
