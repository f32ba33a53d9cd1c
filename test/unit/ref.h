/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ref.h - reference IPv4, TCP, UDP and ICMP packets for the unit tests
 *
 * Copyright (c) 2026 merd authors
 *
 * Packets are laid out byte by byte as RFC 791, 793, 768 and 792 draw
 * them, and checksums are computed and checked with ref_sum() (unit.h),
 * never with merd's csum.c. Addresses are host-order numbers here
 * (192.0.2.1 is 0xc0000201); merd takes them in network order, so callers
 * pass htonl() of them.
 */

#ifndef REF_H
#define REF_H

#include <stdbool.h>
#include <netinet/in.h>

#include "unit.h"

/* Offsets in the IPv4 header (RFC 791 3.1) */
#define R_IP_VIHL	0
#define R_IP_TOS	1
#define R_IP_LEN	2
#define R_IP_ID		4
#define R_IP_FRAG	6
#define R_IP_TTL	8
#define R_IP_PROTO	9
#define R_IP_CHECK	10
#define R_IP_SRC	12
#define R_IP_DST	16

/* Flags and offset of the fragment field, host order */
#define R_DF		0x4000
#define R_MF		0x2000
#define R_OFFMASK	0x1fff

/* Offsets in TCP (RFC 793 3.1), UDP (RFC 768), ICMP (RFC 792) headers */
#define R_TCP_SEQ	4
#define R_TCP_ACK	8
#define R_TCP_DOFF	12
#define R_TCP_FLAGS	13
#define R_TCP_WIN	14
#define R_TCP_CHECK	16
#define R_UDP_LEN	4
#define R_UDP_CHECK	6
#define R_ICMP_CHECK	2
#define R_ICMP_ID	4
#define R_ICMP_SEQ	6

/* TCP flags (RFC 793, RFC 3168) */
#define R_FIN		0x01
#define R_SYN		0x02
#define R_RST		0x04
#define R_PSH		0x08
#define R_ACK		0x10
#define R_URG		0x20
#define R_ECE		0x40
#define R_CWR		0x80

/**
 * addr() - a dotted address as a host-order number
 * @dotted:	the address
 *
 * Return: the number
 */
static inline uint32_t addr(const char *dotted)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, dotted, &a), 1);
	return ntohl(a.s_addr);
}

/**
 * fill_rand() - random bytes from the test's generator
 * @p:		where
 * @n:		how many
 */
static inline void fill_rand(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

/**
 * dup_exact() - a copy in a buffer of exactly its length, for ASan
 * @p:		bytes
 * @n:		their number
 *
 * Return: the copy, to free()
 */
static inline uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	assert_non_null(b);
	memcpy(b, p, n);
	return b;
}

/**
 * ip_hlen() - IPv4 header length from the IHL field
 * @ip:		header
 *
 * Return: bytes
 */
static inline size_t ip_hlen(const uint8_t *ip)
{
	return (size_t)(ip[R_IP_VIHL] & 0xf) * 4;
}

/**
 * ip_csum_set() - compute and store the IPv4 header checksum
 * @ip:		header, IHL set
 */
static inline void ip_csum_set(uint8_t *ip)
{
	put16(ip + R_IP_CHECK, 0);
	put16(ip + R_IP_CHECK, (uint16_t)~ref_sum(ip, ip_hlen(ip), 0));
}

/**
 * ip_csum_ok() - tell whether an IPv4 header checksum is right
 * @ip:		header
 *
 * Return: true if right
 */
static inline bool ip_csum_ok(const uint8_t *ip)
{
	return ref_sum(ip, ip_hlen(ip), 0) == 0xffff;
}

/**
 * ip_build() - write an IPv4 header, options random, checksum right
 * @ip:		where, at least @hlen bytes
 * @hlen:	header length, 20 to 60, a multiple of 4
 * @tot:	total length field
 * @proto:	protocol
 * @saddr:	source, host order
 * @daddr:	destination, host order
 * @id:		identification
 * @frag:	flags and fragment offset field
 * @ttl:	time to live
 */
static inline void ip_build(uint8_t *ip, size_t hlen, size_t tot,
			    uint8_t proto, uint32_t saddr, uint32_t daddr,
			    uint16_t id, uint16_t frag, uint8_t ttl)
{
	ip[R_IP_VIHL] = (uint8_t)(0x40 | hlen / 4);
	ip[R_IP_TOS] = 0;
	put16(ip + R_IP_LEN, (uint16_t)tot);
	put16(ip + R_IP_ID, id);
	put16(ip + R_IP_FRAG, frag);
	ip[R_IP_TTL] = ttl;
	ip[R_IP_PROTO] = proto;
	put32(ip + R_IP_SRC, saddr);
	put32(ip + R_IP_DST, daddr);
	fill_rand(ip + 20, hlen - 20);
	ip_csum_set(ip);
}

/**
 * pseudo_sum() - sum of the IPv4 pseudo-header (RFC 793 3.1, RFC 768)
 * @saddr:	source, host order
 * @daddr:	destination, host order
 * @proto:	protocol
 * @len:	transport length
 *
 * Return: unfolded sum, a start for ref_sum()
 */
static inline uint32_t pseudo_sum(uint32_t saddr, uint32_t daddr,
				  uint8_t proto, size_t len)
{
	return (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) +
	       (daddr & 0xffff) + proto + (uint32_t)len;
}

/**
 * l4_check_off() - where a transport checksum lies
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 *
 * Return: offset in the transport header
 */
static inline size_t l4_check_off(uint8_t proto)
{
	return proto == IPPROTO_TCP ? R_TCP_CHECK :
	       proto == IPPROTO_UDP ? R_UDP_CHECK : R_ICMP_CHECK;
}

/**
 * l4_sum() - sum over a transport segment, and its pseudo-header if any
 * @saddr:	source, host order (ignored for ICMP)
 * @daddr:	destination, host order (ignored for ICMP)
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 * @l4:		transport header and data
 * @len:	their length
 *
 * Return: folded sum, 0xffff if the checksum in @l4 is right
 */
static inline uint16_t l4_sum(uint32_t saddr, uint32_t daddr, uint8_t proto,
			      const uint8_t *l4, size_t len)
{
	uint32_t start = proto == IPPROTO_ICMP ? 0 :
			 pseudo_sum(saddr, daddr, proto, len);

	return ref_sum(l4, len, start);
}

/**
 * l4_csum_ok() - tell whether a transport checksum is right
 * @saddr:	source, host order
 * @daddr:	destination, host order
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 * @l4:		transport header and data
 * @len:	their length
 *
 * Return: true if right
 */
static inline bool l4_csum_ok(uint32_t saddr, uint32_t daddr, uint8_t proto,
			      const uint8_t *l4, size_t len)
{
	return l4_sum(saddr, daddr, proto, l4, len) == 0xffff;
}

/**
 * l4_csum_set() - compute and store a transport checksum
 * @saddr:	source, host order
 * @daddr:	destination, host order
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 * @l4:		transport header and data
 * @len:	their length
 *
 * A UDP checksum computing to zero is stored as 0xffff (RFC 768).
 */
static inline void l4_csum_set(uint32_t saddr, uint32_t daddr, uint8_t proto,
			       uint8_t *l4, size_t len)
{
	size_t off = l4_check_off(proto);
	uint16_t check;

	put16(l4 + off, 0);
	check = (uint16_t)~l4_sum(saddr, daddr, proto, l4, len);
	if (proto == IPPROTO_UDP && !check)
		check = 0xffff;
	put16(l4 + off, check);
}

/**
 * ip_l4_csum_ok() - tell whether a whole packet's transport checksum is
 *		     right, with the addresses of its own IPv4 header
 * @ip:		packet, from its IPv4 header, total length field right
 *
 * Return: true if right
 */
static inline bool ip_l4_csum_ok(const uint8_t *ip)
{
	size_t hl = ip_hlen(ip);

	return l4_csum_ok(get32(ip + R_IP_SRC), get32(ip + R_IP_DST),
			  ip[R_IP_PROTO], ip + hl, get16(ip + R_IP_LEN) - hl);
}

/**
 * ip_l4_csum_set() - compute a whole packet's transport checksum, and its
 *		      IPv4 header checksum
 * @ip:		packet, from its IPv4 header, total length field right
 */
static inline void ip_l4_csum_set(uint8_t *ip)
{
	size_t hl = ip_hlen(ip);

	l4_csum_set(get32(ip + R_IP_SRC), get32(ip + R_IP_DST),
		    ip[R_IP_PROTO], ip + hl, get16(ip + R_IP_LEN) - hl);
	ip_csum_set(ip);
}

/**
 * tcp_build() - write a TCP header, options random
 * @l4:		where
 * @hlen:	header length, 20 to 60, a multiple of 4
 * @sport:	source port
 * @dport:	destination port
 * @seq:	sequence number
 * @ack:	acknowledgment number
 * @flags:	flags byte
 */
static inline void tcp_build(uint8_t *l4, size_t hlen, uint16_t sport,
			     uint16_t dport, uint32_t seq, uint32_t ack,
			     uint8_t flags)
{
	put16(l4, sport);
	put16(l4 + 2, dport);
	put32(l4 + R_TCP_SEQ, seq);
	put32(l4 + R_TCP_ACK, ack);
	l4[R_TCP_DOFF] = (uint8_t)(hlen / 4 << 4);
	l4[R_TCP_FLAGS] = flags;
	put16(l4 + R_TCP_WIN, 65535);
	put16(l4 + R_TCP_CHECK, 0);
	put16(l4 + 18, 0);
	fill_rand(l4 + 20, hlen - 20);
}

/**
 * udp_build() - write a UDP header
 * @l4:		where
 * @sport:	source port
 * @dport:	destination port
 * @len:	UDP length field
 */
static inline void udp_build(uint8_t *l4, uint16_t sport, uint16_t dport,
			     size_t len)
{
	put16(l4, sport);
	put16(l4 + 2, dport);
	put16(l4 + R_UDP_LEN, (uint16_t)len);
	put16(l4 + R_UDP_CHECK, 0);
}

/**
 * icmp_build() - write an ICMP header of the echo kind
 * @l4:		where
 * @type:	type
 * @code:	code
 * @id:		identifier (or the first half of the "unused" word)
 * @seq:	sequence number (or its second half)
 */
static inline void icmp_build(uint8_t *l4, uint8_t type, uint8_t code,
			      uint16_t id, uint16_t seq)
{
	l4[0] = type;
	l4[1] = code;
	put16(l4 + R_ICMP_CHECK, 0);
	put16(l4 + R_ICMP_ID, id);
	put16(l4 + R_ICMP_SEQ, seq);
}

/**
 * struct flowpkt - what a packet of a test flow looks like
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP (echo request)
 * @saddr:	source, host order
 * @daddr:	destination, host order
 * @sport:	source port, or echo identifier
 * @dport:	destination port (unused for ICMP)
 * @ttl:	time to live
 * @frag:	flags and fragment offset field
 * @id:		IPv4 identification
 * @flags:	TCP flags
 * @payload:	payload bytes after the transport header, random
 */
struct flowpkt {
	uint8_t proto;
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint8_t ttl;
	uint16_t frag;
	uint16_t id;
	uint8_t flags;
	size_t payload;
};

/**
 * l4_hlen() - transport header length of the packets pkt_build() writes
 * @proto:	protocol
 *
 * Return: 20 for TCP, 8 for UDP and ICMP
 */
static inline size_t l4_hlen(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 20 : 8;
}

/**
 * pkt_build() - a whole packet of a test flow, checksums right
 * @p:		what it looks like
 * @len:	set to its length
 *
 * Return: the packet in a buffer of exactly @len bytes, to free()
 */
static inline uint8_t *pkt_build(const struct flowpkt *p, size_t *len)
{
	size_t l4len = l4_hlen(p->proto) + p->payload;
	uint8_t *ip = malloc(20 + l4len), *l4 = ip + 20;

	assert_non_null(ip);
	*len = 20 + l4len;
	ip_build(ip, 20, *len, p->proto, p->saddr, p->daddr, p->id, p->frag,
		 p->ttl);
	if (p->proto == IPPROTO_TCP)
		tcp_build(l4, 20, p->sport, p->dport, rng(), rng(), p->flags);
	else if (p->proto == IPPROTO_UDP)
		udp_build(l4, p->sport, p->dport, l4len);
	else
		icmp_build(l4, 8, 0, p->sport, (uint16_t)rng());
	fill_rand(l4 + l4_hlen(p->proto), p->payload);
	l4_csum_set(p->saddr, p->daddr, p->proto, l4, l4len);
	return ip;
}

#endif /* REF_H */
