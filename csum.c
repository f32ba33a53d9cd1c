// SPDX-License-Identifier: GPL-2.0-or-later
/* csum.c - Internet checksum (RFC 1071) and its incremental update (RFC 1624)
 *
 * Copyright (c) 2026 merd authors
 */

#include <string.h>
#include <arpa/inet.h>

#include "csum.h"

/**
 * csum_fold() - fold a 32-bit one's complement sum to 16 bits
 * @sum:	unfolded sum
 *
 * Return: folded sum, not complemented
 */
uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* 32 bytes of 32-bit words, as four 64-bit lanes (GCC vector extensions) */
typedef uint64_t csum_v4 __attribute__((vector_size(32)));

/* Bytes csum_partial() sums per turn of its vector loop */
#define CSUM_TURN	64

/* The vector loop is built twice, the copy for CPUs with AVX2 chosen when
 * merd is loaded (an ifunc): 18 GB/s against 10.5 on this machine's Xeon,
 * 64 KB buffers cycling through 8 MB (doc/design.md). SSE2 alone, x86-64's
 * baseline, gains nothing on the scalar loop, so the other copy is that.
 * GCC only: clang 14 names the clones so that callers in other files,
 * which don't see the attribute, don't find them (the fuzzers build
 * with clang, and get the one loop).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CSUM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CSUM_CLONES
#endif

/**
 * csum_partial() - add a buffer to a one's complement sum
 * @buf:	data, any alignment
 * @len:	length in bytes: odd only for the last buffer of a checksum
 * @sum:	sum so far, 0 to start
 *
 * Sums 32-bit words into 64-bit accumulators, which can't overflow for
 * any buffer shorter than 16 GiB, then folds: each 64-bit load is split
 * into its two 32-bit words, low and high lanes summed apart, and the
 * lanes added up at the end (one's complement addition is commutative).
 *
 * Return: unfolded 32-bit sum
 */
CSUM_CLONES
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const csum_v4 lo32 = { 0xffffffff, 0xffffffff, 0xffffffff,
			       0xffffffff };
	csum_v4 lo = { 0 }, hi = { 0 }, lo2 = { 0 }, hi2 = { 0 };
	const uint8_t *p = buf;
	uint64_t acc = sum;
	uint32_t w32;
	uint16_t w16;

	for (; len >= CSUM_TURN; p += CSUM_TURN, len -= CSUM_TURN) {
		csum_v4 x, y;

		memcpy(&x, p, sizeof(x));
		memcpy(&y, p + sizeof(x), sizeof(y));
		lo += x & lo32;
		hi += x >> 32;
		lo2 += y & lo32;
		hi2 += y >> 32;
	}
	lo += hi + lo2 + hi2;
	acc += lo[0] + lo[1] + lo[2] + lo[3];

	while (len >= 4) {
		memcpy(&w32, p, 4);
		acc += w32;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		acc += w16;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* RFC 1071: pad the odd byte with a zero byte */
		uint8_t pad[2] = { *p, 0 };

		memcpy(&w16, pad, 2);
		acc += w16;
	}

	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}

/**
 * csum_add() - add two unfolded one's complement sums
 * @a:		sum
 * @b:		sum of bytes that follow @a's at an even offset
 *
 * Return: unfolded sum of both, the carry wrapped around
 */
uint32_t csum_add(uint32_t a, uint32_t b)
{
	uint64_t acc = (uint64_t)a + b;

	return (uint32_t)((acc & 0xffffffff) + (acc >> 32));
}

/**
 * csum_swab() - a sum of bytes as if they lay one byte further on
 * @sum:	unfolded sum
 *
 * RFC 1071 2 (B): moving data by an odd number of bytes swaps the bytes
 * of its folded sum.
 *
 * Return: folded sum, bytes swapped
 */
uint32_t csum_swab(uint32_t sum)
{
	uint16_t f = csum_fold(sum);

	return (uint32_t)(uint16_t)(f << 8 | f >> 8);
}

/**
 * csum_finish() - turn an unfolded sum into the checksum field value
 * @sum:	unfolded sum
 *
 * Return: one's complement of the folded sum, raw
 */
uint16_t csum_finish(uint32_t sum)
{
	return (uint16_t)~csum_fold(sum);
}

/**
 * csum_ip4_header() - checksum of an IPv4 header
 * @hdr:	header, with its checksum field set to zero
 * @len:	header length in bytes
 *
 * Return: value for the checksum field, raw
 */
uint16_t csum_ip4_header(const void *hdr, size_t len)
{
	return csum_finish(csum_partial(hdr, len, 0));
}

/**
 * csum_pseudo4() - sum of the IPv4 pseudo-header (RFC 793 3.1, RFC 768)
 * @saddr:	source address, raw
 * @daddr:	destination address, raw
 * @proto:	protocol number
 * @len:	length of the transport header and data, host order
 *
 * Return: unfolded sum
 */
uint32_t csum_pseudo4(uint32_t saddr, uint32_t daddr, uint8_t proto,
		      uint16_t len)
{
	uint64_t acc = (uint64_t)saddr + daddr + htons(proto) + htons(len);

	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}

/**
 * csum_l4_ip4() - TCP, UDP checksum over the pseudo-header and segment
 * @saddr:	source address, raw
 * @daddr:	destination address, raw
 * @proto:	protocol number
 * @l4:		transport header and data, checksum field set to zero
 * @len:	length of @l4
 *
 * Return: value for the checksum field, raw (a UDP caller maps 0 to 0xffff)
 */
uint16_t csum_l4_ip4(uint32_t saddr, uint32_t daddr, uint8_t proto,
		     const void *l4, size_t len)
{
	uint32_t sum = csum_pseudo4(saddr, daddr, proto, (uint16_t)len);

	return csum_finish(csum_partial(l4, len, sum));
}

/**
 * csum_pseudo6() - sum of the IPv6 pseudo-header (RFC 8200 8.1)
 * @saddr:	source address
 * @daddr:	destination address
 * @proto:	next header of the transport protocol
 * @len:	upper-layer packet length, host order
 *
 * Return: unfolded sum
 */
uint32_t csum_pseudo6(const struct in6_addr *saddr,
		      const struct in6_addr *daddr, uint8_t proto,
		      uint32_t len)
{
	uint32_t sum = htonl(len);
	uint64_t acc;

	sum = csum_partial(saddr, sizeof(*saddr), csum_fold(sum));
	sum = csum_partial(daddr, sizeof(*daddr), sum);
	acc = (uint64_t)sum + htons(proto);
	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}

/**
 * csum_l4_ip6() - TCP, UDP, ICMPv6 checksum over the IPv6 pseudo-header
 *		   and the segment
 * @saddr:	source address
 * @daddr:	destination address
 * @proto:	next header of the transport protocol
 * @l4:		transport header and data, checksum field set to zero
 * @len:	length of @l4
 *
 * Return: value for the checksum field, raw (a UDP caller maps 0 to 0xffff)
 */
uint16_t csum_l4_ip6(const struct in6_addr *saddr,
		     const struct in6_addr *daddr, uint8_t proto,
		     const void *l4, size_t len)
{
	uint32_t sum = csum_pseudo6(saddr, daddr, proto, (uint32_t)len);

	return csum_finish(csum_partial(l4, len, sum));
}

/**
 * csum_update_addr6() - update a checksum for a changed IPv6 address
 * @check:	old checksum field, raw
 * @old:	old address
 * @new:	new address
 *
 * Return: new checksum field, raw
 */
uint16_t csum_update_addr6(uint16_t check, const struct in6_addr *old,
			   const struct in6_addr *new)
{
	uint32_t w_old, w_new;
	size_t i;

	for (i = 0; i < sizeof(*old); i += sizeof(w_old)) {
		memcpy(&w_old, &old->s6_addr[i], sizeof(w_old));
		memcpy(&w_new, &new->s6_addr[i], sizeof(w_new));
		if (w_old != w_new)
			check = csum_update32(check, w_old, w_new);
	}
	return check;
}

/**
 * csum_update16() - update a checksum for a changed 16-bit word
 * @check:	old checksum field, raw
 * @old:	old word, raw
 * @new:	new word, raw
 *
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')
 *
 * Return: new checksum field, raw
 */
uint16_t csum_update16(uint16_t check, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~old;
	sum += new;
	return (uint16_t)~csum_fold(sum);
}

/**
 * csum_update32() - update a checksum for a changed 32-bit word
 * @check:	old checksum field, raw
 * @old:	old value (an address), raw
 * @new:	new value, raw
 *
 * Return: new checksum field, raw
 */
uint16_t csum_update32(uint16_t check, uint32_t old, uint32_t new)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~(old & 0xffff);
	sum += (uint16_t)~(old >> 16);
	sum += new & 0xffff;
	sum += new >> 16;
	return (uint16_t)~csum_fold(sum);
}
