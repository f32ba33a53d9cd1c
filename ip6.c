// SPDX-License-Identifier: GPL-2.0-or-later
/* ip6.c - IPv6 header parsing and building
 *
 * Copyright (c) 2026 merd authors
 */

#include <assert.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/udp.h>

#include "csum.h"
#include "ip4.h"
#include "ip6.h"
#include "util.h"

/* RFC 2464 7: multicast MACs are 33:33 and the last 32 address bits */
#define IP6_MCAST_MAC0	0x33

/* RFC 8200 3: version, traffic class and flow label share the first word */
#define IP6_VERSION_SHIFT	28
#define IP6_TCLASS_SHIFT	20

/* RFC 8200 4.3, 4.4, 4.6: option and routing headers are counted in 8-byte
 * units, the first not included; RFC 8200 4.5: the fragment header is 8
 */
#define IP6_EXT_UNIT		8
#define IP6_EXT_LEN_MAX		(IP6_EXT_UNIT * 256)
#define IP6_FRAG_HLEN		8
/* RFC 8200 4.5: offset in 8-byte units in the upper 13 bits, M flag last */
#define IP6_FRAG_OFF_MASK	0xfff8
#define IP6_FRAG_MF		0x0001

/* RFC 5095: the deprecated type 0 routing header */
#define IP6_RT_TYPE0		0

/* Headers the walk may take before the fragment header: @fraghdr fits */
static_assert(IP6_HLEN + (IP6_EXT_MAX - 1) * IP6_EXT_LEN_MAX <= UINT16_MAX,
	      "offset of a fragment header fits in ip_view.fraghdr");

/**
 * DOC: Theory of Operation
 *
 * ip6_parse() checks the fixed header (RFC 8200 3), cuts what follows to
 * the payload length (Ethernet padding goes), then walks the extension
 * headers (RFC 8200 4) with a cursor that every length is checked against
 * before it moves. The walk stops at the first next header value that
 * isn't hop-by-hop options, routing, fragment or destination options: that
 * value is the view's @proto, whether merd knows it or not (ESP, AH, no
 * next header, anything); the caller decides what it forwards. Everything
 * before it is the view's @hdr, the rest its @l4.
 *
 * A fragment header sets @id, @frag, @mf and @fraghdr. After one with a
 * nonzero offset the next header isn't looked at: its bytes are fragment
 * data (RFC 8200 4.5), and @l4 is all of that data.
 *
 * Two kinds of packets are well formed but never forwarded, and get their
 * own return value, IP6_E_UNSAFE, so that the caller can say why it
 * dropped them: those with a routing header still to be processed (type 0
 * ever, RFC 5095; any type with segments left), and those with more than
 * IP6_EXT_MAX extension headers, which merd doesn't walk to the end of.
 */

/**
 * ip6_view_fill() - fill a view from a fixed IPv6 header
 * @h:		fixed header, aligned copy
 * @ip:		view: everything but @hdr and @l4 set, no fragment yet
 */
static void ip6_view_fill(const struct ip6_hdr *h, struct ip_view *ip)
{
	uint32_t flow = ntohl(h->ip6_flow);

	ip->family = AF_INET6;
	ip->src.a6 = h->ip6_src;
	ip->dst.a6 = h->ip6_dst;
	ip->proto = h->ip6_nxt;
	ip->ttl = h->ip6_hlim;
	ip->tos = (uint8_t)(flow >> IP6_TCLASS_SHIFT);
	ip->flowlabel = flow & IP6_FLOWLABEL_MASK;
	ip->id = 0;
	ip->frag = 0;
	ip->mf = false;
	ip->df = true;		/* RFC 8200 5: only sources fragment */
	ip->fraghdr = 0;
}

/**
 * ip6_is_ext() - tell whether a next header value is an extension header
 *		  the walk goes through
 * @nh:		next header value
 *
 * Return: true for hop-by-hop options, routing, fragment and destination
 *	   options (RFC 8200 4.1); anything else ends the walk
 */
static bool ip6_is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_DSTOPTS;
}

/**
 * ip6_frag() - read a fragment header into the view
 * @v:		the packet, cut to its payload length
 * @off:	offset of the fragment header
 * @ip:		view: @id, @frag, @mf and @fraghdr set
 *
 * Return: 0 on success, -1 if the header isn't whole or is the second one
 */
static int ip6_frag(struct pkt v, size_t off, struct ip_view *ip)
{
	struct ip6_frag f;
	uint16_t offlg;

	/* RFC 8200 4.1: once each; a view has room for one */
	if (ip->fraghdr || !pkt_get(v, off, &f, sizeof(f)))
		return -1;
	offlg = ntohs(f.ip6f_offlg);
	ip->id = ntohl(f.ip6f_ident);
	ip->frag = offlg & IP6_FRAG_OFF_MASK;
	ip->mf = offlg & IP6_FRAG_MF;
	ip->fraghdr = (uint16_t)off;
	return 0;
}

/**
 * ip6_routing() - check that a routing header leaves nothing to do
 * @v:		the packet, cut to its payload length
 * @off:	offset of the routing header, whole
 *
 * With segments left, the destination address is only the next hop: the
 * packet's real destination is in the routing header, so that merd's flow,
 * its NAT and the peer's replies would all be keyed on the wrong address,
 * and the guest could bounce traffic off the host's address (RFC 5095 5).
 * RFC 8200 4.4: a header with no segments left is ignored by the final
 * destination, whatever its type, so merd may walk over it, except for
 * type 0, which RFC 5095 3 deprecates outright.
 *
 * Return: 0 if merd may walk over it, IP6_E_UNSAFE if not
 */
static int ip6_routing(struct pkt v, size_t off)
{
	struct ip6_rthdr rt;

	if (!pkt_get(v, off, &rt, sizeof(rt)))
		return IP6_E_MALFORMED;
	if (rt.ip6r_type == IP6_RT_TYPE0 || rt.ip6r_segleft)
		return IP6_E_UNSAFE;
	return 0;
}

/**
 * ip6_walk() - walk the extension headers, find the transport header
 * @v:		the packet, cut to its payload length
 * @ip:		view, @proto the fixed header's next header: @proto, @hdr,
 *		@l4 and the fragment fields set on success
 *
 * Return: 0 on success, IP6_E_MALFORMED or IP6_E_UNSAFE
 */
static int ip6_walk(struct pkt v, struct ip_view *ip)
{
	uint8_t nh = ip->proto;
	size_t off = IP6_HLEN;
	unsigned int n;
	int ret;

	for (n = 0; ip6_is_ext(nh); n++) {
		uint8_t eh[2];	/* RFC 8200 4: next header, length */
		size_t len;

		if (n == IP6_EXT_MAX)
			return IP6_E_UNSAFE;
		/* RFC 8200 4.1: hop-by-hop options only right after the
		 * fixed header
		 */
		if (nh == IPPROTO_HOPOPTS && n)
			return IP6_E_MALFORMED;
		if (!pkt_get(v, off, eh, sizeof(eh)))
			return IP6_E_MALFORMED;

		if (nh == IPPROTO_FRAGMENT) {
			if (ip6_frag(v, off, ip))
				return IP6_E_MALFORMED;
			len = IP6_FRAG_HLEN;
		} else {
			len = ((size_t)eh[1] + 1) * IP6_EXT_UNIT;
			if (!pkt_in(v, off, len))
				return IP6_E_MALFORMED;
			ret = nh == IPPROTO_ROUTING ? ip6_routing(v, off) : 0;
			if (ret)
				return ret;
		}
		nh = eh[0];
		off += len;

		/* RFC 8200 4.5: what follows a fragment header with an
		 * offset is fragment data, whatever next header says
		 */
		if (ip->frag)
			break;
	}

	ip->proto = nh;
	if (!pkt_sub(v, 0, off, &ip->hdr) || !pkt_tail(v, off, &ip->l4))
		return IP6_E_MALFORMED;
	return 0;
}

/**
 * ip6_start() - check the fixed header, cut the packet to its payload
 * @v:		bytes following the Ethernet header
 * @quote:	@v may hold less than the payload length says
 * @ip:		fixed header fields set on success
 * @out:	@v cut to the payload length (or to what is there, for a
 *		quote), set on success
 *
 * Return: 0 on success, IP6_E_MALFORMED if the fixed header isn't whole,
 *	   isn't version 6, or has a payload length of 0 or past the data
 */
static int ip6_start(struct pkt v, bool quote, struct ip_view *ip,
		     struct pkt *out)
{
	struct ip6_hdr h;
	size_t plen;

	if (!pkt_get(v, 0, &h, sizeof(h)) ||
	    ntohl(h.ip6_flow) >> IP6_VERSION_SHIFT != 6)
		return IP6_E_MALFORMED;

	/* RFC 2675: 0 announces a jumbogram, which no link of merd carries */
	plen = ntohs(h.ip6_plen);
	if (!plen)
		return IP6_E_MALFORMED;
	if (quote)
		plen = MIN(plen, v.len - IP6_HLEN);
	if (!pkt_sub(v, 0, IP6_HLEN + plen, out))
		return IP6_E_MALFORMED;

	ip6_view_fill(&h, ip);
	return 0;
}

/**
 * ip6_parse() - check an IPv6 header and its extension headers, find the
 *		 transport header
 * @v:		bytes following the Ethernet header
 * @ip:		filled on success; on IP6_E_UNSAFE, all but @hdr, @l4 and
 *		the fragment fields, for the caller's trace
 *
 * Checks the version, the payload length against the data (trailing
 * Ethernet padding is cut off), and each extension header's length against
 * the payload (DOC: Theory of Operation, above).
 *
 * Return: 0 on success, IP6_E_MALFORMED if the packet is malformed,
 *	   IP6_E_UNSAFE if it is well formed but must not be forwarded
 */
int ip6_parse(struct pkt v, struct ip_view *ip)
{
	struct pkt p;
	int ret;

	ret = ip6_start(v, false, ip, &p);
	return ret ? ret : ip6_walk(p, ip);
}

/**
 * ip6_parse_quote() - check the IPv6 packet an ICMPv6 error quotes
 * @v:		the quote, from the quoted fixed header on
 * @ip:		filled on success: @l4 is what was quoted of the payload
 *
 * RFC 4443 2.4 (c): an error quotes as much of the packet as fits in the
 * minimum MTU, so the payload length is only a bound on what follows. The
 * fixed header and the extension headers must be whole.
 *
 * Return: 0 on success, IP6_E_MALFORMED or IP6_E_UNSAFE as ip6_parse()
 */
int ip6_parse_quote(struct pkt v, struct ip_view *ip)
{
	struct pkt p;
	int ret;

	ret = ip6_start(v, true, ip, &p);
	return ret ? ret : ip6_walk(p, ip);
}

/**
 * struct ip6_block - a block of addresses
 * @prefix:	its first address
 * @len:	prefix length, bits
 */
struct ip6_block {
	uint8_t prefix[16];
	unsigned int len;
};

/* Blocks that hold no address of one host elsewhere */
static const struct ip6_block ip6_not_unicast[] = {
	/* ::/96: unspecified, loopback (RFC 4291 2.5.2, 2.5.3), and the
	 * deprecated IPv4-compatible addresses (RFC 4291 2.5.5.1)
	 */
	{ { 0 }, 96 },
	/* ::ffff:0:0/96: IPv4-mapped, never on the wire (RFC 4291 2.5.5.2,
	 * RFC 6890 2.2.3: not forwardable)
	 */
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 96 },
	/* 100::/64: discard-only (RFC 6666) */
	{ { 0x01, 0x00 }, 64 },
	/* 2001:10::/28: ORCHID, not forwardable (RFC 4843, RFC 6890 2.2.3),
	 * deprecated (RFC 7343)
	 */
	{ { 0x20, 0x01, 0x00, 0x10 }, 28 },
	/* fe80::/10: link-local, never forwarded (RFC 4291 2.5.6) */
	{ { 0xfe, 0x80 }, 10 },
	/* ff00::/8: multicast (RFC 4291 2.7) */
	{ { 0xff }, 8 },
};

/**
 * ip6_in_block() - tell whether an address is in a block
 * @a:		address
 * @b:		block
 *
 * Return: true if the first @b->len bits of @a are those of @b->prefix
 */
static bool ip6_in_block(const struct in6_addr *a, const struct ip6_block *b)
{
	unsigned int bytes = b->len / 8, bits = b->len % 8;
	uint8_t mask;

	if (memcmp(a->s6_addr, b->prefix, bytes) != 0)
		return false;
	if (!bits)
		return true;
	mask = (uint8_t)(0xff << (8 - bits));
	return !((a->s6_addr[bytes] ^ b->prefix[bytes]) & mask);
}

/**
 * ip6_is_unicast() - tell whether an address can name one host elsewhere,
 *		      one a guest's packets may be routed to or from
 * @a:		address
 *
 * Not in any block of ip6_not_unicast[]: the unspecified and loopback
 * addresses, IPv4-compatible and IPv4-mapped ones, discard-only, ORCHID,
 * link-local, multicast (RFC 4291 2.4, RFC 6890 2.2.3). Allowed on
 * purpose: unique local addresses (fc00::/7, RFC 4193: routed within a
 * site, as the host may be), the deprecated site-local fec0::/10 (RFC 4291
 * 2.5.7: treated as global unicast), 64:ff9b::/96 (RFC 6052: NAT64), and
 * documentation, 2001:db8::/32 (RFC 3849), which RFC 6890 marks as not
 * forwardable but merd's tests and examples use for the host's network.
 *
 * Return: true if unicast
 */
bool ip6_is_unicast(const struct in6_addr *a)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ip6_not_unicast); i++)
		if (ip6_in_block(a, &ip6_not_unicast[i]))
			return false;
	return true;
}

/**
 * ip6_header() - write a 40-byte IPv6 header
 * @buf:	destination, at least IP6_HLEN bytes
 * @saddr:	source address
 * @daddr:	destination address
 * @proto:	next header
 * @hops:	hop limit
 * @payload_len: bytes following the header
 *
 * Return: IP6_HLEN
 */
size_t ip6_header(uint8_t *buf, const struct in6_addr *saddr,
		  const struct in6_addr *daddr, uint8_t proto, uint8_t hops,
		  size_t payload_len)
{
	struct ip6_hdr h = {
		.ip6_flow = htonl(6U << 28),
		.ip6_plen = htons((uint16_t)payload_len),
		.ip6_nxt = proto,
		.ip6_hlim = hops,
		.ip6_src = *saddr,
		.ip6_dst = *daddr,
	};

	memcpy(buf, &h, sizeof(h));
	return sizeof(h);
}

/**
 * ip6_l4_frame() - build an Ethernet frame carrying a transport segment,
 *		    and set its checksum
 * @buf:	destination
 * @size:	size of @buf
 * @dmac:	destination MAC
 * @smac:	source MAC
 * @saddr:	source address
 * @daddr:	destination address
 * @proto:	IPPROTO_UDP, IPPROTO_TCP or IPPROTO_ICMPV6
 * @hops:	hop limit
 * @l4:		transport header and data, checksum field as zero
 * @l4len:	its length
 *
 * Return: frame length, 0 if it doesn't fit in @buf
 */
size_t ip6_l4_frame(uint8_t *buf, size_t size, const uint8_t *dmac,
		    const uint8_t *smac, const struct in6_addr *saddr,
		    const struct in6_addr *daddr, uint8_t proto, uint8_t hops,
		    const void *l4, size_t l4len)
{
	uint8_t *p = buf + ETH_HLEN + IP6_HLEN;
	size_t off = csum_l4_offset(proto);
	uint16_t check;

	if (l4len > UINT16_MAX || size < ETH_HLEN + IP6_HLEN + l4len ||
	    off + sizeof(check) > l4len)
		return 0;

	eth_header(buf, dmac, smac, ETH_P_IPV6);
	ip6_header(buf + ETH_HLEN, saddr, daddr, proto, hops, l4len);
	memmove(p, l4, l4len);
	memset(p + off, 0, sizeof(check));
	check = csum_l4_ip6(saddr, daddr, proto, p, l4len);
	if (proto == IPPROTO_UDP && !check)
		check = 0xffff;	/* RFC 8200 8.1: zero is never sent */
	memcpy(p + off, &check, sizeof(check));

	return ETH_HLEN + IP6_HLEN + l4len;
}

/**
 * ip6_udp_frame() - build an Ethernet frame carrying a UDP datagram
 * @buf:	destination
 * @size:	size of @buf
 * @dmac:	destination MAC
 * @smac:	source MAC
 * @saddr:	source address
 * @daddr:	destination address
 * @sport:	source port, host order
 * @dport:	destination port, host order
 * @payload:	UDP payload
 * @plen:	its length
 *
 * Return: frame length, 0 if it doesn't fit in @buf
 */
size_t ip6_udp_frame(uint8_t *buf, size_t size, const uint8_t *dmac,
		     const uint8_t *smac, const struct in6_addr *saddr,
		     const struct in6_addr *daddr, uint16_t sport,
		     uint16_t dport, const void *payload, size_t plen)
{
	size_t l4len = UDP_HLEN + plen;
	struct udphdr uh = {
		.source = htons(sport),
		.dest = htons(dport),
		.len = htons((uint16_t)l4len),
	};
	uint8_t *p = buf + ETH_HLEN + IP6_HLEN;

	if (plen > UINT16_MAX - UDP_HLEN ||
	    size < ETH_HLEN + IP6_HLEN + l4len)
		return 0;

	/* Build in place: the payload may be large */
	memcpy(p, &uh, sizeof(uh));
	memmove(p + UDP_HLEN, payload, plen);
	return ip6_l4_frame(buf, size, dmac, smac, saddr, daddr, IPPROTO_UDP,
			    IP6_DEFAULT_HOPS, p, l4len);
}

/**
 * ip6_mcast_mac() - the Ethernet address of an IPv6 multicast group
 * @mac:	set to 33:33 and the group's last 32 bits (RFC 2464 7)
 * @a:		multicast address
 */
void ip6_mcast_mac(uint8_t *mac, const struct in6_addr *a)
{
	mac[0] = mac[1] = IP6_MCAST_MAC0;
	memcpy(mac + 2, &a->s6_addr[12], 4);
}
