// SPDX-License-Identifier: GPL-2.0-or-later
/* test_csum.c - unit tests for csum.c: Internet checksum and its updates
 *
 * Copyright (c) 2026 merd authors
 *
 * Every expectation comes from somewhere else than csum.c: the worked
 * examples of RFC 1071 and RFC 1624, a well-known IPv4 header, or the
 * textbook algorithm (big-endian 16-bit words, end-around carry) written
 * out in unit.h, ref_sum(). Values handed to csum.c are raw, as it
 * expects: what memcpy() gives from packet bytes.
 */

#include <netinet/in.h>

#include "csum.h"
#include "unit.h"

/* rng_fill() - random bytes, some runs biased to 0x00 or 0xff for carries */
static void rng_fill(uint8_t *buf, size_t len)
{
	uint32_t mode = rng() % 4;
	size_t i;

	for (i = 0; i < len; i++) {
		if (mode == 1)
			buf[i] = rng() % 8 ? 0xff : (uint8_t)rng();
		else if (mode == 2)
			buf[i] = rng() % 8 ? 0x00 : (uint8_t)rng();
		else
			buf[i] = (uint8_t)rng();
	}
}

/* sum_of() - what csum.c computes for a buffer, as a host-order number */
static uint16_t sum_of(const void *buf, size_t len)
{
	return ntohs(csum_fold(csum_partial(buf, len, 0)));
}

/* RFC 1071 4.1: 00 01 f2 03 f4 f5 f6 f7 sums to dd f2 */
static void test_rfc1071_example(void **state)
{
	static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03,
					0xf4, 0xf5, 0xf6, 0xf7 };
	uint16_t sum = csum_fold(csum_partial(data, sizeof(data), 0));
	uint16_t check = csum_finish(csum_partial(data, sizeof(data), 0));
	uint8_t b[2];

	(void)state;
	memcpy(b, &sum, 2);
	assert_int_equal(b[0], 0xdd);
	assert_int_equal(b[1], 0xf2);
	memcpy(b, &check, 2);
	assert_int_equal(b[0], 0x22);
	assert_int_equal(b[1], 0x0d);
}

/* A well-known IPv4 header (192.168.0.1 -> 192.168.0.199) has check b861 */
static void test_ip4_header_vector(void **state)
{
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00,
			  0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01,
			  0xc0, 0xa8, 0x00, 0xc7 };
	uint16_t check = csum_ip4_header(h, sizeof(h));

	(void)state;
	assert_int_equal(ntohs(check), 0xb861);

	/* A receiver summing the header with its checksum gets all ones */
	memcpy(h + 10, &check, 2);
	assert_int_equal(csum_fold(csum_partial(h, sizeof(h), 0)), 0xffff);
}

/* Folding and complementing, on values worked out by hand */
static void test_fold_finish(void **state)
{
	static const struct {
		uint32_t in;
		uint16_t fold;
	} v[] = {
		{ 0x00000000, 0x0000 }, { 0x0000ffff, 0xffff },
		{ 0x00010000, 0x0001 }, { 0x0001fffe, 0xffff },
		{ 0x12345678, 0x68ac }, { 0xffffffff, 0xffff },
		{ 0xfffe0001, 0xffff }, { 0x80008000, 0x0001 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(csum_fold(v[i].in), v[i].fold);
		assert_int_equal(csum_finish(v[i].in),
				 (uint16_t)~v[i].fold);
	}
}

/* csum_partial() agrees with the reference at every length and alignment */
static void test_partial_lengths_alignments(void **state)
{
	size_t len, align;

	(void)state;
	rng_seed(1071);
	for (len = 0; len <= 1100; len++) {
		for (align = 0; align < 8; align++) {
			uint8_t *buf = malloc((align + len) ? (align + len) : 1);

			assert_non_null(buf);
			rng_fill(buf + align, len);
			assert_int_equal(sum_of(buf + align, len),
					 ref_sum(buf + align, len, 0));
			free(buf);
		}
	}
}

/* Buffers summed in even-length pieces, from any starting sum, give the
 * sum of the whole
 */
static void test_partial_chained(void **state)
{
	uint8_t buf[512];
	int i;

	(void)state;
	rng_seed(42);
	for (i = 0; i < 5000; i++) {
		size_t len = rng() % sizeof(buf) + 1, k = (rng() % len) & ~1UL;
		uint32_t start = rng(), sum;

		rng_fill(buf, len);
		sum = csum_partial(buf, k, start);
		sum = csum_partial(buf + k, len - k, sum);
		assert_int_equal(ntohs(csum_fold(sum)),
				 ref_sum(buf, len, ntohs(csum_fold(start))));
	}
}

/* A large buffer of all-ones words: carries out of 32 bits are kept */
static void test_partial_large(void **state)
{
	size_t len = 4 * 1024 * 1024 + 3;
	uint8_t *buf = malloc(len);

	(void)state;
	assert_non_null(buf);
	memset(buf, 0xff, len);
	assert_int_equal(sum_of(buf, len), ref_sum(buf, len, 0));
	assert_int_equal(sum_of(buf, len - 3), 0xffff);

	buf[len / 2] = 0x12;
	rng_seed(7);
	rng_fill(buf + 1000, 100000);
	assert_int_equal(sum_of(buf, len), ref_sum(buf, len, 0));
	free(buf);
}

/* ref_pseudo() - the IPv4 pseudo-header (RFC 768) written out as bytes */
static void ref_pseudo(uint8_t *b, const uint8_t *saddr, const uint8_t *daddr,
		       uint8_t proto, size_t len)
{
	memcpy(b, saddr, 4);
	memcpy(b + 4, daddr, 4);
	b[8] = 0;
	b[9] = proto;
	b[10] = (uint8_t)(len >> 8);
	b[11] = (uint8_t)len;
}

/* ref_l4_check() - UDP/TCP checksum: pseudo-header, then the segment */
static uint16_t ref_l4_check(const uint8_t *saddr, const uint8_t *daddr,
			     uint8_t proto, const uint8_t *l4, size_t len)
{
	uint8_t *b = malloc(12 + len);
	uint16_t sum;

	assert_non_null(b);
	ref_pseudo(b, saddr, daddr, proto, len);
	memcpy(b + 12, l4, len);
	sum = ref_sum(b, 12 + len, 0);
	free(b);
	return (uint16_t)~sum;
}

/* Pseudo-header sums and segment checksums, odd lengths included */
static void test_l4_ip4(void **state)
{
	uint8_t seg[1600], sa[4], da[4], ph[12];
	uint32_t s, d;
	int i;

	(void)state;
	rng_seed(768);
	for (i = 0; i < 3000; i++) {
		size_t len = rng() % sizeof(seg);
		uint8_t proto = rng() % 2 ? IPPROTO_UDP : IPPROTO_TCP;
		uint16_t check;

		rng_fill(seg, len);
		rng_fill(sa, 4);
		rng_fill(da, 4);
		memcpy(&s, sa, 4);
		memcpy(&d, da, 4);

		ref_pseudo(ph, sa, da, proto, len);
		assert_int_equal(ntohs(csum_fold(csum_pseudo4(s, d, proto,
							      (uint16_t)len))),
				 ref_sum(ph, sizeof(ph), 0));

		check = csum_l4_ip4(s, d, proto, seg, len);
		assert_int_equal(ntohs(check),
				 ref_l4_check(sa, da, proto, seg, len));
	}
}

/* RFC 1624 3: m = 5555 -> 3285 with the rest summing to cd7a gives 0000 */
static void test_rfc1624_example(void **state)
{
	uint8_t before[4] = { 0xcd, 0x7a, 0x55, 0x55 };
	uint8_t after[4] = { 0xcd, 0x7a, 0x32, 0x85 };
	uint16_t hc = csum_finish(csum_partial(before, 4, 0));

	(void)state;
	assert_int_equal(ntohs(hc), 0xdd2f);
	assert_int_equal(ntohs(csum_update16(hc, htons(0x5555),
					     htons(0x3285))), 0x0000);
	/* ...which recomputation confirms: eqn. 2 would give ffff here */
	assert_int_equal(ntohs(csum_finish(csum_partial(after, 4, 0))), 0);
}

/* rng_word() - a 16-bit value, often one of the two zeros or @near */
static uint16_t rng_word(uint16_t near)
{
	switch (rng() % 6) {
	case 0:
		return 0x0000;
	case 1:
		return 0xffff;
	case 2:
		return near;
	case 3:
		return (uint16_t)~near;
	default:
		return (uint16_t)rng();
	}
}

/* hdr_random() - random "header" of @len bytes with a checksum at 2..3
 *
 * The first word is 0x45xx, as in IPv4: a header is never all zeros, the
 * one case where RFC 1624 eqn. 3 and recomputation differ (-0 and +0).
 *
 * Return: the checksum stored at offset 2, raw
 */
static uint16_t hdr_random(uint8_t *h, size_t len)
{
	uint16_t check;

	rng_fill(h, len);
	h[0] = 0x45;
	h[2] = h[3] = 0;
	check = htons((uint16_t)~ref_sum(h, len, 0));
	memcpy(h + 2, &check, 2);
	return check;
}

/* hdr_check_ok() - the checksum at 2..3 is what recomputation gives */
static void hdr_check_ok(uint8_t *h, size_t len, uint16_t check)
{
	uint8_t saved[2];

	memcpy(saved, h + 2, 2);
	h[2] = h[3] = 0;
	assert_int_equal(ntohs(check), (uint16_t)~ref_sum(h, len, 0));
	memcpy(h + 2, saved, 2);
}

/* csum_update16() matches full recomputation over many random changes */
static void test_update16_random(void **state)
{
	uint8_t h[64];
	int i;

	(void)state;
	rng_seed(1624);
	for (i = 0; i < 200000; i++) {
		size_t len = 2 * (rng() % 30 + 3);
		size_t off = 2 * (2 + rng() % (len / 2 - 2));
		uint16_t check = hdr_random(h, len), old, new;

		memcpy(&old, h + off, 2);
		new = rng_word(old);
		memcpy(h + off, &new, 2);
		check = csum_update16(check, old, new);
		hdr_check_ok(h, len, check);
	}
}

/* csum_update32() matches full recomputation over many random changes */
static void test_update32_random(void **state)
{
	uint8_t h[64];
	int i;

	(void)state;
	rng_seed(3022);
	for (i = 0; i < 200000; i++) {
		size_t len = 2 * (rng() % 29 + 4);
		size_t off = 2 * (2 + rng() % (len / 2 - 3));
		uint16_t check = hdr_random(h, len), w[2];
		uint32_t old, new;

		memcpy(&old, h + off, 4);
		memcpy(w, &old, 4);
		w[0] = rng_word(w[0]);
		w[1] = rng_word(w[1]);
		memcpy(&new, w, 4);
		memcpy(h + off, &new, 4);
		check = csum_update32(check, old, new);
		hdr_check_ok(h, len, check);
	}
}

/* Rewriting an address in the pseudo-header (NAT) updates a UDP checksum */
static void test_update32_pseudo(void **state)
{
	uint8_t seg[256], sa[4], da[4], na[4];
	int i;

	(void)state;
	rng_seed(768 + 1624);
	for (i = 0; i < 20000; i++) {
		size_t len = 8 + rng() % (sizeof(seg) - 8);
		uint32_t s, d, n;
		uint16_t check;

		rng_fill(seg, len);
		seg[0] |= 1;	/* a source port: the datagram isn't all zero */
		rng_fill(sa, 4);
		rng_fill(da, 4);
		rng_fill(na, 4);
		memcpy(&s, sa, 4);
		memcpy(&d, da, 4);
		memcpy(&n, na, 4);

		check = csum_l4_ip4(s, d, IPPROTO_UDP, seg, len);
		check = csum_update32(check, d, n);
		assert_int_equal(ntohs(check),
				 ref_l4_check(sa, na, IPPROTO_UDP, seg, len));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_ip4_header_vector),
		cmocka_unit_test(test_fold_finish),
		cmocka_unit_test(test_partial_lengths_alignments),
		cmocka_unit_test(test_partial_chained),
		cmocka_unit_test(test_partial_large),
		cmocka_unit_test(test_l4_ip4),
		cmocka_unit_test(test_rfc1624_example),
		cmocka_unit_test(test_update16_random),
		cmocka_unit_test(test_update32_random),
		cmocka_unit_test(test_update32_pseudo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
