/* SPDX-License-Identifier: GPL-2.0-or-later */
/* unit.h - helpers shared by the cmocka unit tests
 *
 * Copyright (c) 2026 merd authors
 *
 * The addresses of the guest's link, a deterministic random number
 * generator, big-endian byte access and the textbook Internet checksum.
 * All of it is written out here, independently of merd's code, so that
 * the tests check merd against something else than itself. It needs
 * nothing from merd: test_csum, which links csum.c alone, includes it
 * too.
 */

#ifndef UNIT_H
#define UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <cmocka.h>

/* merd's MAC address, the guest's (qemu's default), and broadcast */
static const uint8_t our_mac[ETH_ALEN] = { 0x02, 0x6d, 0x65, 0x72, 0x64, 0x01 };
static const uint8_t guest_mac[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x12, 0x34,
					     0x56 };
static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/**
 * rng_state() - state of the deterministic generator (xorshift32)
 *
 * One per test program, zero until rng_seed(): failures can be replayed.
 *
 * Return: the state
 */
static inline uint32_t *rng_state(void)
{
	static uint32_t state;

	return &state;
}

/**
 * rng_seed() - restart the generator
 * @seed:	where to start from, 0 taken as 1
 */
static inline void rng_seed(uint32_t seed)
{
	*rng_state() = seed ? seed : 1;
}

/**
 * rng() - next pseudo-random 32-bit number
 *
 * Return: the number
 */
static inline uint32_t rng(void)
{
	uint32_t *s = rng_state();

	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/**
 * put16() - write a big-endian 16-bit number
 * @p:		where, two bytes
 * @v:		number
 */
static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/**
 * put32() - write a big-endian 32-bit number
 * @p:		where, four bytes
 * @v:		number
 */
static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/**
 * get16() - read a big-endian 16-bit number
 * @p:		where, two bytes
 *
 * Return: the number
 */
static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/**
 * get32() - read a big-endian 32-bit number
 * @p:		where, four bytes
 *
 * Return: the number
 */
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/**
 * ref_sum() - textbook one's complement sum of big-endian words, folded
 * @buf:	bytes, an odd last one taken as the high byte of a word
 * @len:	their number
 * @start:	sum to add to, e.g. ref_sum() of a pseudo-header
 *
 * Return: the sum, folded to 16 bits, host order (0xffff for data that
 *	   carries its own right checksum)
 */
static inline uint16_t ref_sum(const uint8_t *buf, size_t len, uint32_t start)
{
	uint64_t sum = start;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (len & 1)
		sum += (uint32_t)buf[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/**
 * unit_dns_decode() - RFC 1035 3.1 names (no compression) back to dotted
 *		       text, as DHCP option 119, DHCPv6 option 24 and DNSSL
 *		       carry them
 * @p:		encoded names
 * @len:	their length
 * @out:	the names, each up to 255 characters
 * @max:	room in @out
 *
 * Return: number of names, each in @out; fails the test on a bad encoding
 */
static inline int unit_dns_decode(const uint8_t *p, size_t len,
				  char out[][256], int max)
{
	size_t off = 0;
	int n = 0;

	while (off < len) {
		size_t t = 0;

		assert_true(n < max);
		for (;;) {
			size_t l;

			assert_true(off < len);
			l = p[off++];
			if (!l)
				break;
			assert_true(l <= 63);		/* no pointers */
			assert_true(off + l <= len);
			assert_true(t + l + 1 < 256);
			if (t)
				out[n][t++] = '.';
			memcpy(out[n] + t, p + off, l);
			t += l;
			off += l;
		}
		out[n++][t] = '\0';
	}
	return n;
}

#endif /* UNIT_H */
