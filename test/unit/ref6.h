/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ref6.h - reference IPv6 packets for the unit tests
 *
 * Copyright (c) 2026 merd authors
 *
 * The IPv6 side of ref.h: packets laid out byte by byte as RFC 8200 3, 4
 * and 4.5 draw them (fixed header, destination options, fragment header)
 * with TCP, UDP or ICMPv6 (RFC 4443) after them, and every transport
 * checksum computed and checked over the IPv6 pseudo-header (RFC 8200
 * 8.1) with ref_sum() (unit.h), never with merd's csum.c. Addresses are
 * struct in6_addr, written with addr6().
 */

#ifndef REF6_H
#define REF6_H

#include <stdbool.h>
#include <netinet/in.h>

#include "ref.h"

/* Offsets in the fixed header (RFC 8200 3) */
#define R6_VTF		0
#define R6_PLEN		4
#define R6_NH		6
#define R6_HOPS		7
#define R6_SRC		8
#define R6_DST		24
#define R6_HLEN		40

/* RFC 8200 3: version in the top 4 bits of the first word, then the
 * traffic class, then the 20-bit flow label
 */
#define R6_VERSION_SHIFT	28
#define R6_TCLASS_SHIFT		20
#define R6_FLOW_MASK		0xfffff

/* The fragment header (RFC 8200 4.5): next header, reserved, offset and
 * M flag, identification
 */
#define R6_FH_LEN	8
#define R6_FH_NH	0
#define R6_FH_OFFLG	2
#define R6_FH_ID	4
#define R6_FH_MF	0x0001
#define R6_FH_OFFMASK	0xfff8

/* Next header values (RFC 8200 4, IANA's protocol numbers) */
#define R6_NH_FRAG	44
#define R6_NH_ICMP6	58
#define R6_NH_DSTOPTS	60

/* ICMPv6 types (RFC 4443 3, 4) */
#define R6_UNREACH	1
#define R6_TOO_BIG	2
#define R6_TIME_EXCEEDED 3
#define R6_PARAM_PROB	4
#define R6_ECHO_REQUEST	128
#define R6_ECHO_REPLY	129
/* Destination unreachable codes (RFC 4443 3.1) */
#define R6_CODE_ADMIN	1
#define R6_CODE_PORT	4

/* RFC 8200 5: every link carries 1280 bytes; an ICMPv6 error is no
 * larger (RFC 4443 2.4 (c))
 */
#define R6_MTU_MIN	1280
/* The ICMPv6 header before an error's quote, or an echo's data */
#define R6_ICMP_HLEN	8

/**
 * addr6() - an IPv6 address from its text
 * @s:		text
 *
 * Return: the address
 */
static inline struct in6_addr addr6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/**
 * addr6_at() - the IPv6 address stored at some bytes
 * @p:		16 bytes
 *
 * Return: the address
 */
static inline struct in6_addr addr6_at(const uint8_t *p)
{
	struct in6_addr a;

	memcpy(&a, p, sizeof(a));
	return a;
}

/**
 * addr6_eq() - tell whether the 16 bytes at @p are address @a
 * @p:		bytes
 * @a:		address
 *
 * Return: true if they are
 */
static inline bool addr6_eq(const uint8_t *p, const struct in6_addr *a)
{
	return !memcmp(p, a, sizeof(*a));
}

/**
 * pseudo6_sum() - sum of the IPv6 pseudo-header (RFC 8200 8.1)
 * @s:		source
 * @d:		destination
 * @proto:	next header of the transport
 * @len:	transport length
 *
 * Return: unfolded sum, a start for ref_sum()
 */
static inline uint32_t pseudo6_sum(const struct in6_addr *s,
				   const struct in6_addr *d, uint8_t proto,
				   size_t len)
{
	uint8_t ph[R6_HLEN] = { 0 };

	memcpy(ph, s, 16);
	memcpy(ph + 16, d, 16);
	put32(ph + 32, (uint32_t)len);
	ph[39] = proto;
	return ref_sum(ph, sizeof(ph), 0);
}

/**
 * l6_csum_ok() - tell whether a transport checksum over IPv6 is right
 * @s:		source
 * @d:		destination
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMPV6
 * @l4:		transport header and data
 * @len:	their length
 *
 * Return: true if right (a UDP checksum of zero never is: RFC 8200 8.1)
 */
static inline bool l6_csum_ok(const struct in6_addr *s,
			      const struct in6_addr *d, uint8_t proto,
			      const uint8_t *l4, size_t len)
{
	if (proto == IPPROTO_UDP && !get16(l4 + R_UDP_CHECK))
		return false;
	return ref_sum(l4, len, pseudo6_sum(s, d, proto, len)) == 0xffff;
}

/**
 * l6_csum() - the transport checksum a segment must carry over IPv6
 * @s:		source
 * @d:		destination
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMPV6
 * @l4:		transport header and data; the checksum field is skipped
 * @len:	their length
 *
 * Return: the checksum, host order (a UDP zero as 0xffff, RFC 8200 8.1)
 */
static inline uint16_t l6_csum(const struct in6_addr *s,
			       const struct in6_addr *d, uint8_t proto,
			       const uint8_t *l4, size_t len)
{
	size_t off = l4_check_off(proto);
	uint8_t *copy = dup_exact(l4, len);
	uint16_t check;

	put16(copy + off, 0);
	check = (uint16_t)~ref_sum(copy, len, pseudo6_sum(s, d, proto, len));
	free(copy);
	if (proto == IPPROTO_UDP && !check)
		check = 0xffff;
	return check;
}

/**
 * l6_csum_set() - compute and store a transport checksum over IPv6
 * @s:		source
 * @d:		destination
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMPV6
 * @l4:		transport header and data
 * @len:	their length
 */
static inline void l6_csum_set(const struct in6_addr *s,
			       const struct in6_addr *d, uint8_t proto,
			       uint8_t *l4, size_t len)
{
	put16(l4 + l4_check_off(proto), l6_csum(s, d, proto, l4, len));
}

/**
 * ip6_build() - write a fixed IPv6 header
 * @p:		where, R6_HLEN bytes
 * @tclass:	traffic class
 * @flow:	flow label, 20 bits
 * @plen:	payload length field
 * @nh:		next header
 * @hops:	hop limit
 * @s:		source
 * @d:		destination
 */
static inline void ip6_build(uint8_t *p, uint8_t tclass, uint32_t flow,
			     size_t plen, uint8_t nh, uint8_t hops,
			     const struct in6_addr *s,
			     const struct in6_addr *d)
{
	put32(p + R6_VTF, 6U << R6_VERSION_SHIFT |
			  (uint32_t)tclass << R6_TCLASS_SHIFT |
			  (flow & R6_FLOW_MASK));
	put16(p + R6_PLEN, (uint16_t)plen);
	p[R6_NH] = nh;
	p[R6_HOPS] = hops;
	memcpy(p + R6_SRC, s, 16);
	memcpy(p + R6_DST, d, 16);
}

/**
 * r6_tclass() - the traffic class of a fixed header
 * @p:		header
 *
 * Return: traffic class
 */
static inline uint8_t r6_tclass(const uint8_t *p)
{
	return (uint8_t)(get32(p + R6_VTF) >> R6_TCLASS_SHIFT);
}

/**
 * r6_flow() - the flow label of a fixed header
 * @p:		header
 *
 * Return: flow label
 */
static inline uint32_t r6_flow(const uint8_t *p)
{
	return get32(p + R6_VTF) & R6_FLOW_MASK;
}

/**
 * ip6_l4_csum_ok() - tell whether the transport checksum of a packet
 *		      without extension headers is right, with the addresses
 *		      of its own header
 * @p:		packet, from its fixed header, payload length right
 *
 * Return: true if right
 */
static inline bool ip6_l4_csum_ok(const uint8_t *p)
{
	struct in6_addr s = addr6_at(p + R6_SRC), d = addr6_at(p + R6_DST);

	return l6_csum_ok(&s, &d, p[R6_NH], p + R6_HLEN, get16(p + R6_PLEN));
}

/**
 * struct flowpkt6 - what an IPv6 packet of a test flow looks like
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMPV6 (echo request)
 * @saddr:	source
 * @daddr:	destination
 * @sport:	source port, or echo identifier
 * @dport:	destination port (unused for ICMPv6)
 * @hops:	hop limit
 * @tclass:	traffic class
 * @flow:	flow label
 * @flags:	TCP flags
 * @ext:	bytes of destination options before the transport header,
 *		a multiple of 8, 0 for none
 * @payload:	payload bytes after the transport header, random
 */
struct flowpkt6 {
	uint8_t proto;
	struct in6_addr saddr, daddr;
	uint16_t sport, dport;
	uint8_t hops;
	uint8_t tclass;
	uint32_t flow;
	uint8_t flags;
	size_t ext;
	size_t payload;
};

/**
 * pkt6_build() - a whole IPv6 packet of a test flow, checksum right
 * @p:		what it looks like
 * @len:	set to its length
 *
 * A destination options header holds one PadN option (RFC 8200 4.2).
 *
 * Return: the packet in a buffer of exactly @len bytes, to free()
 */
static inline uint8_t *pkt6_build(const struct flowpkt6 *p, size_t *len)
{
	size_t l4len = l4_hlen(p->proto) + p->payload, off = R6_HLEN + p->ext;
	uint8_t *ip = malloc(off + l4len), *l4 = ip + off;

	assert_non_null(ip);
	assert_true(p->ext % 8 == 0);
	*len = off + l4len;
	ip6_build(ip, p->tclass, p->flow, *len - R6_HLEN,
		  p->ext ? R6_NH_DSTOPTS : p->proto, p->hops, &p->saddr,
		  &p->daddr);
	if (p->ext) {
		uint8_t *o = ip + R6_HLEN;

		memset(o, 0, p->ext);
		o[0] = p->proto;
		o[1] = (uint8_t)(p->ext / 8 - 1);
		o[2] = 1;			/* PadN, RFC 8200 4.2 */
		o[3] = (uint8_t)(p->ext - 4);
	}
	if (p->proto == IPPROTO_TCP)
		tcp_build(l4, 20, p->sport, p->dport, rng(), rng(), p->flags);
	else if (p->proto == IPPROTO_UDP)
		udp_build(l4, p->sport, p->dport, l4len);
	else
		icmp_build(l4, R6_ECHO_REQUEST, 0, p->sport, (uint16_t)rng());
	fill_rand(l4 + l4_hlen(p->proto), p->payload);
	l6_csum_set(&p->saddr, &p->daddr, p->proto, l4, l4len);
	return ip;
}

/**
 * frag6_build() - a fragment of a whole packet without extension headers
 * @whole:	the packet, from its fixed header
 * @off:	offset of the fragment in the payload, a multiple of 8
 * @n:		its length
 * @mf:		more fragments follow
 * @id:		identification
 * @len:	set to the fragment's length
 *
 * Return: the fragment, fixed header and fragment header, in a buffer of
 *	   exactly @len bytes, to free()
 */
static inline uint8_t *frag6_build(const uint8_t *whole, size_t off,
				   size_t n, bool mf, uint32_t id,
				   size_t *len)
{
	uint8_t *f = malloc(R6_HLEN + R6_FH_LEN + n), *fh = f + R6_HLEN;

	assert_non_null(f);
	assert_true(off % 8 == 0);
	*len = R6_HLEN + R6_FH_LEN + n;
	memcpy(f, whole, R6_HLEN);
	put16(f + R6_PLEN, (uint16_t)(R6_FH_LEN + n));
	f[R6_NH] = R6_NH_FRAG;
	fh[R6_FH_NH] = whole[R6_NH];
	fh[1] = 0;
	put16(fh + R6_FH_OFFLG, (uint16_t)(off | (mf ? R6_FH_MF : 0)));
	put32(fh + R6_FH_ID, id);
	memcpy(fh + R6_FH_LEN, whole + R6_HLEN + off, n);
	return f;
}

/**
 * tcp_pkt() - a TCP packet, checksums right
 * @v6:		over IPv6 (no extension headers)
 * @s4:		IPv4 source, host order
 * @d4:		IPv4 destination
 * @s6:		IPv6 source
 * @d6:		IPv6 destination
 * @sport:	source port
 * @dport:	destination port
 * @seq:	sequence number
 * @ack:	acknowledgment number
 * @flags:	flags
 * @opt:	options, NULL for random ones
 * @optlen:	their length, a multiple of 4
 * @payload:	random payload bytes
 * @id:		IPv4 identification
 * @len:	set to the packet's length
 *
 * Return: the packet, DF set (TTL, hop limit 64), in an exact-size
 *	   buffer, to free()
 */
static inline uint8_t *tcp_pkt(bool v6, uint32_t s4, uint32_t d4,
				const char *s6, const char *d6,
				uint16_t sport, uint16_t dport, uint32_t seq,
				uint32_t ack, uint8_t flags,
				const uint8_t *opt, size_t optlen,
				size_t payload, uint16_t id, size_t *len)
{
	size_t l3 = v6 ? R6_HLEN : 20, thl = 20 + optlen;
	uint8_t *p, *th;

	assert_true(optlen % 4 == 0 && optlen <= 40);
	*len = l3 + thl + payload;
	p = malloc(*len);
	assert_non_null(p);
	th = p + l3;
	tcp_build(th, thl, sport, dport, seq, ack, flags);
	if (opt)
		memcpy(th + 20, opt, optlen);
	fill_rand(th + thl, payload);
	if (v6) {
		struct in6_addr s = addr6(s6), d = addr6(d6);

		ip6_build(p, 0, 0x12345, *len - R6_HLEN, IPPROTO_TCP, 64, &s,
			  &d);
		l6_csum_set(&s, &d, IPPROTO_TCP, th, *len - R6_HLEN);
	} else {
		ip_build(p, 20, *len, IPPROTO_TCP, s4, d4, id, R_DF, 64);
		ip_l4_csum_set(p);
	}
	return p;
}

#endif /* REF6_H */
