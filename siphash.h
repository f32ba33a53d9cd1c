/* SPDX-License-Identifier: GPL-2.0-or-later */
/* siphash.h - SipHash-2-4 of whole words, for hash tables and port picks
 *
 * Copyright (c) 2026 merd authors
 *
 * Flow keys come from the guest and from the network: with an unkeyed hash
 * either could pick keys that all land in one bucket and turn every lookup
 * into a scan. SipHash with a random key (Aumasson and Bernstein, 2012) makes
 * that impractical.
 */

#ifndef SIPHASH_H
#define SIPHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ROTL64(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/**
 * sipround() - one SipRound on the four state words
 * @v:		state
 */
static inline void sipround(uint64_t *v)
{
	v[0] += v[1];
	v[1] = ROTL64(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL64(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL64(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL64(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL64(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL64(v[2], 32);
}

/**
 * siphash_words() - SipHash-2-4 of a message of whole 64-bit words
 * @m:		message, native byte order
 * @n:		number of words
 * @k:		128-bit key
 *
 * Return: 64-bit hash
 */
static inline uint64_t siphash_words(const uint64_t *m, size_t n,
				     const uint64_t *k)
{
	/* "somepseudorandomlygeneratedbytes", from the paper */
	uint64_t v[4] = { 0x736f6d6570736575ULL ^ k[0],
			  0x646f72616e646f6dULL ^ k[1],
			  0x6c7967656e657261ULL ^ k[0],
			  0x7465646279746573ULL ^ k[1] };
	uint64_t b = (uint64_t)(n * 8) << 56;
	size_t i;

	for (i = 0; i < n; i++) {
		v[3] ^= m[i];
		sipround(v);
		sipround(v);
		v[0] ^= m[i];
	}

	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;

	v[2] ^= 0xff;
	for (i = 0; i < 4; i++)
		sipround(v);

	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/**
 * siphash_16b() - SipHash-2-4 of a 16-byte message
 * @in:		message
 * @k:		128-bit key
 *
 * Return: 64-bit hash
 */
static inline uint64_t siphash_16b(const uint8_t *in, const uint64_t *k)
{
	uint64_t m[2];

	memcpy(m, in, sizeof(m));
	return siphash_words(m, 2, k);
}

#endif /* SIPHASH_H */
