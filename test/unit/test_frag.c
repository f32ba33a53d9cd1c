// SPDX-License-Identifier: GPL-2.0-or-later
/* test_frag.c - unit tests for frag.c: reassembly of the guest's fragments,
 *		 and fragmentation toward the guest or the uplink
 *
 * Copyright (c) 2026 merd authors
 *
 * Datagrams of random bytes are cut into fragments here, as RFC 791 3.2
 * describes it, each fragment in a buffer malloc()ed to its exact length
 * (AddressSanitizer catches a read past it), parsed by ip4_parse() as the
 * data path does, and fed to frag_in() in many orders. A reassembled
 * datagram must be the original payload behind the first fragment's
 * header, with the total length set, the fragment fields cleared and a
 * header checksum right from scratch (ref.h). The edge cases
 * are the ones attacks and broken stacks produce: overlaps, holes, a last
 * fragment that changes its mind, fragments past the end or past 64 KiB,
 * too many datagrams at once, keys that differ in one field. The other
 * way, frag_split()'s fragments are checked one by one, then put back
 * together by the test and compared with the original.
 */

#include <netinet/in.h>

#include "frag.h"
#include "ip4.h"
#include "merd.h"
#include "ref.h"

#define SRC		0x0a2a0002	/* 10.42.0.2 */
#define DST		0xc0000250	/* 192.0.2.80 */

/**
 * struct dgram - a test datagram and its fragments
 * @hdr:	header of the whole datagram (first fragment's, options too)
 * @hlen:	its length
 * @data:	payload
 * @len:	payload length
 * @nf:		number of fragments
 * @off:	per fragment, payload offset
 * @n:		per fragment, payload length
 */
struct dgram {
	uint8_t hdr[60];
	size_t hlen;
	uint8_t *data;
	size_t len;
	size_t nf;
	size_t off[9000];
	size_t n[9000];
};

/* dgram_make() - a datagram of @len payload bytes (and 64 more, for
 * fragments past its end), header @hlen long, with the given key
 */
static struct dgram *dgram_make(size_t len, size_t hlen, uint8_t proto,
				uint32_t src, uint32_t dst, uint16_t id)
{
	struct dgram *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->data = malloc(len + 64);	/* room for fragments past the end */
	assert_non_null(d->data);
	d->len = len;
	d->hlen = hlen;
	fill_rand(d->data, len + 64);
	ip_build(d->hdr, hlen, hlen + len, proto, src, dst, id, 0,
		 (uint8_t)(1 + rng() % 255));
	return d;
}

/* dgram_free() - release a test datagram */
static void dgram_free(struct dgram *d)
{
	free(d->data);
	free(d);
}

/* cut() - fragments of random sizes (multiples of 8, but the last), at most
 * @max payload bytes each
 */
static void cut(struct dgram *d, size_t max)
{
	size_t off = 0;

	d->nf = 0;
	while (off < d->len) {
		size_t n = FRAG_UNIT * (1 + rng() % (max / FRAG_UNIT));

		if (n > d->len - off)
			n = d->len - off;
		d->off[d->nf] = off;
		d->n[d->nf++] = n;
		off += n;
	}
}

/* frag_build() - a fragment: @n bytes at @off, MF as given, with the
 * datagram's header (options only on the first, as RFC 791 allows), in an
 * exact-size buffer
 */
static uint8_t *frag_build(const struct dgram *d, size_t off, size_t n,
			   bool mf, size_t *len)
{
	size_t hl = off ? 20 : d->hlen;
	uint8_t *f = malloc(hl + n);

	assert_non_null(f);
	memcpy(f, d->hdr, hl);
	f[R_IP_VIHL] = (uint8_t)(0x40 | hl / 4);
	put16(f + R_IP_LEN, (uint16_t)(hl + n));
	put16(f + R_IP_FRAG, (uint16_t)((get16(d->hdr + R_IP_FRAG) & R_DF) |
					(mf ? R_MF : 0) | off / FRAG_UNIT));
	ip_csum_set(f);
	memcpy(f + hl, d->data + off, n);
	*len = hl + n;
	return f;
}

/* feed_raw() - give frag_in() @n bytes at @off with MF as given */
static int feed_raw(struct frag *fr, const struct dgram *d, size_t off,
		    size_t n, bool mf, uint32_t now, struct pkt *out)
{
	size_t len;
	uint8_t *f = frag_build(d, off, n, mf, &len);
	struct pkt v = { f, len };
	struct ip_view ip;
	int ret;

	out->p = NULL;
	out->len = 0;
	assert_int_equal(ip4_parse(v, &ip), 0);
	ret = frag_in(fr, &ip, now, out);
	free(f);
	return ret;
}

/* feed() - give frag_in() fragment @i of @d */
static int feed(struct frag *fr, const struct dgram *d, size_t i,
		uint32_t now, struct pkt *out)
{
	return feed_raw(fr, d, d->off[i], d->n[i], d->off[i] + d->n[i] <
			d->len, now, out);
}

/* check_whole() - @out is @d reassembled: its header, fixed; its payload */
static void check_whole(const struct dgram *d, struct pkt whole)
{
	const uint8_t *out = whole.p;
	size_t out_len = whole.len;
	uint8_t want[60];

	assert_non_null(out);
	assert_int_equal(out_len, d->hlen + d->len);
	assert_int_equal(ip_hlen(out), d->hlen);
	assert_true(ip_csum_ok(out));
	assert_int_equal(get16(out + R_IP_LEN), d->hlen + d->len);
	assert_int_equal(get16(out + R_IP_FRAG) & (R_MF | R_OFFMASK), 0);

	/* Everything else as the first fragment had it */
	memcpy(want, d->hdr, d->hlen);
	memcpy(want + R_IP_LEN, out + R_IP_LEN, 2);
	memcpy(want + R_IP_CHECK, out + R_IP_CHECK, 2);
	assert_memory_equal(out, want, d->hlen);
	if (memcmp(out + d->hlen, d->data, d->len))
		fail_msg("reassembled payload differs");
}

/* feed_order() - all fragments of @d in the order @order, which must
 * complete it with the last one and not before
 */
static void feed_order(struct frag *fr, const struct dgram *d,
		       const size_t *order, uint32_t now)
{
	struct pkt out;
	size_t i;

	for (i = 0; i < d->nf; i++) {
		int ret = feed(fr, d, order[i], now, &out);

		if (i + 1 < d->nf) {
			assert_int_equal(ret, 0);
			continue;
		}
		assert_int_equal(ret, 1);
		check_whole(d, out);
		frag_done(fr, out);
	}
}

/* order_make() - 0 to @n - 1: in order, reversed or shuffled */
static void order_make(size_t *order, size_t n, int how)
{
	size_t i;

	for (i = 0; i < n; i++)
		order[i] = how == 1 ? n - 1 - i : i;
	if (how != 2)
		return;
	for (i = n - 1; i > 0 && n; i--) {
		size_t j = rng() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/* fixture_setup() - cmocka fixture: reassembly state */
static int fixture_setup(void **state)
{
	struct frag *fr = malloc(sizeof(*fr));

	assert_non_null(fr);
	assert_int_equal(frag_init(fr), 0);
	*state = fr;
	return 0;
}

/* fixture_teardown() - cmocka fixture: release it */
static int fixture_teardown(void **state)
{
	frag_free(*state);
	free(*state);
	return 0;
}

/* In order, reversed, shuffled: random sizes, headers with options */
static void test_orders(void **state)
{
	struct frag *fr = *state;
	static size_t order[9000];
	int i, how;

	rng_seed(791);
	for (i = 0; i < 150; i++) {
		size_t len = 1 + rng() % (i < 10 ? 65515 : 6000);
		struct dgram *d = dgram_make(len, 20 + 4 * (rng() % 11),
					     IPPROTO_UDP, SRC, DST,
					     (uint16_t)rng());

		if (d->hlen + len > FRAG_DGRAM_MAX)
			d->len = len = FRAG_DGRAM_MAX - d->hlen;
		cut(d, rng() % 2 ? 1480 : 64);
		for (how = 0; how < 3; how++) {
			order_make(order, d->nf, how);
			feed_order(fr, d, order, 100);
		}
		dgram_free(d);
	}
}

/* The largest datagram, 65535 bytes, is reassembled; fragments reaching
 * past 65535 bytes are dropped
 */
static void test_max_size(void **state)
{
	struct frag *fr = *state;
	static size_t order[9000];
	struct dgram *d;
	struct pkt out;

	rng_seed(65535);
	d = dgram_make(FRAG_DGRAM_MAX - 20, 20, IPPROTO_UDP, SRC, DST, 8);
	cut(d, 1480);
	order_make(order, d->nf, 2);
	feed_order(fr, d, order, 1);

	/* A last fragment ending one byte further, a middle one, and the
	 * largest offset there is
	 */
	assert_int_equal(feed_raw(fr, d, 65512, 4, false, 1, &out),
			 -1);
	assert_int_equal(feed_raw(fr, d, 65512, 8, true, 1, &out),
			 -1);
	assert_int_equal(feed_raw(fr, d, 8 * 8191, 8, false, 1, &out), -1);
	dgram_free(d);
}

/* A first fragment with options makes a header longer than the other
 * fragments': the whole datagram is more than 65535 bytes even though
 * every fragment ends below 65535, and must be dropped all the same
 */
static void test_max_size_options(void **state)
{
	struct frag *fr = *state;
	struct dgram *d;
	struct pkt out;
	int ret;

	rng_seed(65536);
	d = dgram_make(FRAG_DGRAM_MAX - 20, 60, IPPROTO_UDP, SRC, DST, 9);
	assert_int_equal(feed_raw(fr, d, 0, 8, true, 1, &out), 0);
	ret = feed_raw(fr, d, 8, d->len - 8, false, 1, &out);
	if (ret == 1 && out.len > FRAG_DGRAM_MAX) {
		uint16_t tot = get16(out.p + R_IP_LEN);

		frag_done(fr, out);
		dgram_free(d);
		fail_msg("frag_in() reassembled a %zu-byte datagram (total "
			  "length field %u): the 65535-byte limit is checked "
			  "with each fragment's header length, not the first "
			  "fragment's", out.len, tot);
	}
	assert_int_equal(ret, -1);
	dgram_free(d);
}

/* expect_forgotten() - fragment @gone of @d, fed before a refusal, was
 * forgotten with its datagram: all the others don't complete it, @gone
 * again does
 */
static void expect_forgotten(struct frag *fr, const struct dgram *d,
			     size_t gone)
{
	struct pkt out;
	size_t i;

	for (i = 0; i < d->nf; i++)
		if (i != gone)
			assert_int_equal(feed(fr, d, i, 10, &out), 0);
	assert_int_equal(feed(fr, d, gone, 10, &out), 1);
	check_whole(d, out);
	frag_done(fr, out);
}

/* feed_rest() - fragments @from to the last of @d complete it, with the
 * last one
 */
static void feed_rest(struct frag *fr, const struct dgram *d, size_t from,
		      uint32_t now)
{
	struct pkt out;
	size_t i;

	for (i = from; i < d->nf; i++)
		assert_int_equal(feed(fr, d, i, now, &out),
				 i + 1 == d->nf);
	check_whole(d, out);
	frag_done(fr, out);
}

/* Overlapping fragments drop the whole datagram: partly, inside, covering,
 * the same range again, before or after the fragment they overlap
 */
static void test_overlap(void **state)
{
	static const struct {
		size_t off, n;
		bool mf;
	} bad[] = {
		{ 16, 16, true },	/* inside fragment 1 [8, 40) */
		{ 0, 16, true },	/* across fragments 0 and 1 */
		{ 32, 16, true },	/* across fragments 1 and 2 */
		{ 8, 32, true },	/* fragment 1 again */
		{ 0, 64, true },	/* covering 0, 1, 2 */
		{ 0, 72, false },	/* all of it, as one "last" */
		{ 56, 16, true },	/* the hole [48, 64) and part of 3 */
	};
	struct frag *fr = *state;
	struct dgram *d;
	struct pkt out;
	size_t i;

	rng_seed(1858);
	d = dgram_make(72, 20, IPPROTO_UDP, SRC, DST, 1858);
	d->nf = 4;
	d->off[0] = 0;
	d->n[0] = 8;
	d->off[1] = 8;
	d->n[1] = 32;
	d->off[2] = 40;
	d->n[2] = 8;
	d->off[3] = 48;
	d->n[3] = 24;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		/* Fragments 0 to 2, and 3 but for its first 16 bytes */
		assert_int_equal(feed(fr, d, 0, 10, &out), 0);
		assert_int_equal(feed(fr, d, 1, 10, &out), 0);
		assert_int_equal(feed(fr, d, 2, 10, &out), 0);
		assert_int_equal(feed_raw(fr, d, 64, 8, false, 10, &out), 0);
		assert_int_equal(feed_raw(fr, d, bad[i].off, bad[i].n,
					  bad[i].mf, 10, &out), -1);
		/* [48, 64) would complete it, had it not been dropped */
		assert_int_equal(feed_raw(fr, d, 48, 16, true, 10, &out), 0);
		assert_null(out.p);
		frag_flush(fr);
	}

	/* The overlapping fragment first, then the right ones */
	assert_int_equal(feed(fr, d, 1, 10, &out), 0);
	assert_int_equal(feed_raw(fr, d, 0, 16, true, 10, &out),
			 -1);
	expect_forgotten(fr, d, 1);
	/* The same fragment twice */
	assert_int_equal(feed(fr, d, 3, 10, &out), 0);
	assert_int_equal(feed(fr, d, 3, 10, &out), -1);
	expect_forgotten(fr, d, 3);
	dgram_free(d);
}

/* A hole is never filled by anything else: the datagram never completes */
static void test_hole(void **state)
{
	struct frag *fr = *state;
	struct dgram *d;
	struct pkt out;
	size_t i;

	rng_seed(7);
	d = dgram_make(4000, 20, IPPROTO_TCP, SRC, DST, 99);
	cut(d, 512);
	assert_true(d->nf > 3);
	for (i = 0; i < d->nf; i++)
		if (i != 2)
			assert_int_equal(feed(fr, d, i, 10, &out), 0);
	/* Part of the hole: still one */
	if (d->n[2] > FRAG_UNIT)
		assert_int_equal(feed_raw(fr, d, d->off[2], FRAG_UNIT, true, 10,
					  &out), 0);
	/* A neighbour again, grown into the hole: an overlap, not a fill */
	assert_int_equal(feed_raw(fr, d, d->off[1], d->n[1] + FRAG_UNIT, true,
				  10, &out), -1);
	assert_null(out.p);
	dgram_free(d);
}

/* The last fragment first, then the others, in random order */
static void test_last_first(void **state)
{
	struct frag *fr = *state;
	static size_t order[9000];
	int i;

	rng_seed(2);
	for (i = 0; i < 50; i++) {
		struct dgram *d = dgram_make(100 + rng() % 5000, 20,
					     IPPROTO_ICMP, SRC, DST,
					     (uint16_t)i);
		size_t k;

		cut(d, 600);
		order_make(order, d->nf, 2);
		for (k = 0; k < d->nf; k++)
			if (order[k] == d->nf - 1) {
				order[k] = order[0];
				order[0] = d->nf - 1;
			}
		feed_order(fr, d, order, 5);
		dgram_free(d);
	}
}

/* A second last fragment with another end drops the datagram, before or
 * after the middle arrived; so does one past the known end, or a last one
 * ending before a fragment received earlier
 */
static void test_end_changes(void **state)
{
	struct frag *fr = *state;
	struct dgram *d;
	struct pkt out;

	rng_seed(3);
	d = dgram_make(100, 20, IPPROTO_UDP, SRC, DST, 3);
	d->nf = 2;
	d->off[0] = 0;
	d->n[0] = 64;
	d->off[1] = 64;
	d->n[1] = 36;

	/* Last fragment [64, 100), then another "last" [64, 90) */
	assert_int_equal(feed(fr, d, 1, 1, &out), 0);
	assert_int_equal(feed_raw(fr, d, 64, 26, false, 1, &out),
			 -1);
	expect_forgotten(fr, d, 1);

	/* ... or [96, 104), not overlapping but ending elsewhere */
	assert_int_equal(feed(fr, d, 1, 1, &out), 0);
	assert_int_equal(feed_raw(fr, d, 96, 8, false, 1, &out),
			 -1);
	expect_forgotten(fr, d, 1);

	/* First fragment, then a "last" that ends inside it */
	assert_int_equal(feed(fr, d, 0, 1, &out), 0);
	assert_int_equal(feed_raw(fr, d, 48, 8, false, 1, &out),
			 -1);
	expect_forgotten(fr, d, 0);

	/* Last fragment known, then a middle one past its end */
	assert_int_equal(feed(fr, d, 1, 1, &out), 0);
	assert_int_equal(feed_raw(fr, d, 104, 8, true, 1, &out),
			 -1);
	expect_forgotten(fr, d, 1);

	/* A middle one straddling the end */
	assert_int_equal(feed(fr, d, 1, 1, &out), 0);
	assert_int_equal(feed_raw(fr, d, 0, 104, true, 1, &out),
			 -1);
	expect_forgotten(fr, d, 1);

	/* A middle one far out, then the last ending before it */
	assert_int_equal(feed_raw(fr, d, 152, 8, true, 1, &out), 0);
	assert_int_equal(feed(fr, d, 1, 1, &out), -1);
	feed_rest(fr, d, 0, 1);
	dgram_free(d);
}

/* A middle fragment whose length isn't a multiple of 8, or an empty one,
 * is refused and leaves nothing behind
 */
static void test_bad_middle(void **state)
{
	struct frag *fr = *state;
	struct dgram *d;
	struct pkt out;
	size_t n;

	rng_seed(4);
	d = dgram_make(64, 20, IPPROTO_UDP, SRC, DST, 4);
	d->nf = 2;
	d->off[0] = 0;
	d->n[0] = 32;
	d->off[1] = 32;
	d->n[1] = 32;
	for (n = 1; n < 32; n++) {
		if (n % FRAG_UNIT == 0)
			continue;
		assert_int_equal(feed(fr, d, 1, 1, &out), 0);
		assert_int_equal(feed_raw(fr, d, 0, n, true, 1, &out), -1);
		assert_int_equal(feed(fr, d, 0, 1, &out), 1);
		check_whole(d, out);
		frag_done(fr, out);
	}
	assert_int_equal(feed(fr, d, 1, 1, &out), 0);
	assert_int_equal(feed_raw(fr, d, 8, 0, true, 1, &out), -1);
	assert_int_equal(feed_raw(fr, d, 8, 0, false, 1, &out), -1);
	assert_int_equal(feed(fr, d, 0, 1, &out), 1);
	check_whole(d, out);
	frag_done(fr, out);
	dgram_free(d);
}

/* A datagram not complete FRAG_TIMEOUT seconds after its first fragment is
 * forgotten by frag_tick(); one second earlier it isn't
 */
static void test_timeout(void **state)
{
	struct frag *fr = *state;
	struct dgram *d;
	struct pkt out;

	rng_seed(5);
	d = dgram_make(200, 20, IPPROTO_UDP, SRC, DST, 5);
	d->nf = 3;
	d->off[0] = 0;
	d->n[0] = 64;
	d->off[1] = 64;
	d->n[1] = 64;
	d->off[2] = 128;
	d->n[2] = 72;

	assert_int_equal(feed(fr, d, 0, 1000, &out), 0);
	frag_tick(fr, 1000 + FRAG_TIMEOUT - 1);
	feed_rest(fr, d, 1, 1000 + FRAG_TIMEOUT - 1);	/* still there */

	assert_int_equal(feed(fr, d, 0, 1000, &out), 0);
	frag_tick(fr, 1000 + FRAG_TIMEOUT);
	expect_forgotten(fr, d, 0);

	/* The time counts from the first fragment, not the latest */
	assert_int_equal(feed(fr, d, 0, 1000, &out), 0);
	assert_int_equal(feed(fr, d, 1, 1000 + FRAG_TIMEOUT - 1, &out), 0);
	frag_tick(fr, 1000 + FRAG_TIMEOUT);
	expect_forgotten(fr, d, 0);

	/* Across the wrap of the clock */
	assert_int_equal(feed(fr, d, 0, 0xfffffff0, &out), 0);
	frag_tick(fr, 0xfffffff0 + FRAG_TIMEOUT - 1);
	feed_rest(fr, d, 1, 1);
	assert_int_equal(feed(fr, d, 0, 0xfffffff0, &out), 0);
	frag_tick(fr, 0xfffffff0 + FRAG_TIMEOUT);
	expect_forgotten(fr, d, 0);
	dgram_free(d);
}

/* More datagrams at once than slots: the oldest gives way, the others
 * complete
 */
static void test_too_many(void **state)
{
	struct frag *fr = *state;
	struct dgram *d[FRAG_SLOTS + 1];
	struct pkt out;
	int i;

	rng_seed(6);
	for (i = 0; i <= FRAG_SLOTS; i++) {
		d[i] = dgram_make(100, 20, IPPROTO_UDP, SRC, DST,
				  (uint16_t)(1000 + i));
		d[i]->nf = 2;
		d[i]->off[0] = 0;
		d[i]->n[0] = 48;
		d[i]->off[1] = 48;
		d[i]->n[1] = 52;
	}
	/* The first fragments at times 11, 12, ... and datagram 0 last:
	 * datagram 1, the oldest, gives way to it; all others complete
	 */
	for (i = 1; i <= FRAG_SLOTS; i++)
		assert_int_equal(feed(fr, d[i], 0, 10 + (uint32_t)i, &out), 0);
	assert_int_equal(feed(fr, d[0], 0, 100, &out), 0);
	for (i = 0; i <= FRAG_SLOTS; i++) {
		int ret = feed(fr, d[i], 1, 100, &out);

		if (i == 1) {
			assert_int_equal(ret, 0);
			continue;
		}
		assert_int_equal(ret, 1);
		check_whole(d[i], out);
		frag_done(fr, out);
	}
	for (i = 0; i <= FRAG_SLOTS; i++)
		dgram_free(d[i]);
}

/* Datagrams sharing the identification but not the source, destination
 * or protocol are never mixed, their fragments interleaved
 */
static void test_keys(void **state)
{
	struct frag *fr = *state;
	struct dgram *d[4];
	struct pkt out;
	size_t k;
	int i;

	rng_seed(8);
	d[0] = dgram_make(300, 20, IPPROTO_UDP, SRC, DST, 0x4242);
	d[1] = dgram_make(300, 20, IPPROTO_UDP, SRC + 1, DST, 0x4242);
	d[2] = dgram_make(300, 20, IPPROTO_UDP, SRC, DST + 1, 0x4242);
	d[3] = dgram_make(300, 20, IPPROTO_TCP, SRC, DST, 0x4242);
	for (i = 0; i < 4; i++) {
		d[i]->nf = 3;
		d[i]->off[0] = 0;
		d[i]->n[0] = 96;
		d[i]->off[1] = 96;
		d[i]->n[1] = 104;
		d[i]->off[2] = 200;
		d[i]->n[2] = 100;
	}
	for (k = 0; k < 3; k++) {
		for (i = 0; i < 4; i++) {
			int ret = feed(fr, d[i], (k + (size_t)i) % 3, 1, &out);

			if (k < 2) {
				assert_int_equal(ret, 0);
				continue;
			}
			assert_int_equal(ret, 1);
			check_whole(d[i], out);
			frag_done(fr, out);
		}
	}
	for (i = 0; i < 4; i++)
		dgram_free(d[i]);
}

/* frag_done() frees the slot: the same key starts a new datagram */
static void test_done_frees(void **state)
{
	struct frag *fr = *state;
	struct dgram *d;
	static size_t order[9000];
	int i;

	rng_seed(9);
	d = dgram_make(3000, 20, IPPROTO_UDP, SRC, DST, 9);
	cut(d, 256);
	order_make(order, d->nf, 0);
	for (i = 0; i < 3 * FRAG_SLOTS; i++) {
		fill_rand(d->data, d->len);
		feed_order(fr, d, order, 1);
	}
	dgram_free(d);
}

/**
 * struct pieces - what frag_split() handed out
 * @n:		fragments
 * @hdr:	their headers
 * @data:	their payloads, copied
 * @len:	their payload lengths
 */
struct pieces {
	size_t n;
	uint8_t hdr[2000][20];
	uint8_t *data[2000];
	size_t len[2000];
};

/* collect() - frag_split() callback: keep a copy of each fragment */
static void collect(void *arg, const uint8_t *hdr, size_t hlen,
		    const uint8_t *data, size_t len)
{
	struct pieces *p = arg;

	assert_int_equal(hlen, 20);
	assert_true(p->n < ARRAY_SIZE(p->hdr));
	memcpy(p->hdr[p->n], hdr, 20);
	p->data[p->n] = dup_exact(data, len);
	p->len[p->n++] = len;
}

/* pieces_free() - release what collect() kept */
static void pieces_free(struct pieces *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->data[i]);
	p->n = 0;
}

/* split() - frag_split() of the datagram at @ip, @len bytes, its header
 * @hl bytes long, as fwd.c calls it: the header, then the payload
 *
 * Return: what frag_split() returned
 */
static int split(const uint8_t *ip, size_t len, size_t hl, size_t mtu,
		 uint16_t id, struct pieces *p)
{
	struct pkt hdr = { ip, hl }, payload = { ip + hl, len - hl };

	return frag_split(hdr, payload, mtu, id, collect, p);
}

/* check_split() - frag_split() of a datagram of @len payload bytes to
 * @mtu, its fragment field @frag: every fragment fits, has its offset in
 * 8-byte units (following the datagram's own, if it was a fragment), MF
 * on all but the last (and on that too if the datagram had it), a right
 * checksum, the datagram's other fields; together, the payload
 */
static void check_split(struct pieces *p, size_t len, size_t mtu,
			uint16_t frag, uint16_t id)
{
	size_t tot = 20 + len, i, off = 0;
	uint8_t *ip = malloc(tot);
	int ret;

	assert_non_null(ip);
	ip_build(ip, 20, tot, IPPROTO_UDP, SRC, DST, id, frag, 61);
	fill_rand(ip + 20, len);
	ret = split(ip, tot, 20, mtu, 0xbeef, p);
	assert_int_equal(ret, p->n);
	assert_true(p->n >= 1);

	for (i = 0; i < p->n; i++) {
		const uint8_t *h = p->hdr[i];
		uint16_t fo = get16(h + R_IP_FRAG);
		bool last = i + 1 == p->n;
		uint8_t want[20];

		assert_true(ip_csum_ok(h));
		assert_true(20 + p->len[i] <= mtu);
		assert_int_equal(get16(h + R_IP_LEN), 20 + p->len[i]);
		if (!last)
			assert_int_equal(p->len[i] % FRAG_UNIT, 0);
		assert_int_equal(fo & R_OFFMASK,
				 (frag & R_OFFMASK) + off / FRAG_UNIT);
		assert_int_equal(!!(fo & R_MF), !last || (frag & R_MF));
		assert_int_equal(fo & R_DF, 0);
		assert_memory_equal(p->data[i], ip + 20 + off, p->len[i]);
		/* The largest fragments fit: only the last may be smaller */
		if (!last)
			assert_true(20 + p->len[i] + FRAG_UNIT > mtu);

		memcpy(want, ip, 20);
		memcpy(want + R_IP_LEN, h + R_IP_LEN, 2);
		memcpy(want + R_IP_FRAG, h + R_IP_FRAG, 2);
		memcpy(want + R_IP_CHECK, h + R_IP_CHECK, 2);
		if (!id)
			put16(want + R_IP_ID, 0xbeef);
		assert_memory_equal(h, want, 20);
		off += p->len[i];
	}
	assert_int_equal(off, len);
	pieces_free(p);
	free(ip);
}

/* frag_split(): random sizes and MTUs, the smallest MTU that works, whole
 * datagrams and fragments of one, with and without an identification
 */
static void test_split(void **state)
{
	static const size_t mtus[] = { 28, 29, 35, 36, 68, 576, 1280, 1499,
				       1500, 9000, 65520 };
	struct pieces *p = calloc(1, sizeof(*p));
	size_t i;

	(void)state;
	assert_non_null(p);
	rng_seed(1191);
	for (i = 0; i < ARRAY_SIZE(mtus); i++) {
		check_split(p, mtus[i] - 20 + 1, mtus[i], 0, 1);
		check_split(p, MIN(mtus[i] * 3, (size_t)65515), mtus[i], 0, 0);
	}
	for (i = 0; i < 300; i++) {
		size_t mtu = 68 + rng() % 9000;
		size_t len = mtu - 19 + rng() % (65515 - (mtu - 19) + 1);
		uint16_t frag = rng() % 4 ? 0 : (uint16_t)(R_MF | rng() % 100);

		if (len > 20000 && mtu < 600)
			len = 20000;
		check_split(p, len, mtu, frag, (uint16_t)(rng() % 8 ? rng() :
							  0));
	}
	check_split(p, 65515, 1500, 0, 1);
	free(p);
}

/* What frag_split() won't do: DF set, options, an MTU with no room for 8
 * payload bytes, a header shorter than IPv4's; nothing is handed out then
 */
static void test_split_refused(void **state)
{
	struct pieces *p = calloc(1, sizeof(*p));
	uint8_t *ip = malloc(24 + 3000);
	size_t mtu, hl;

	(void)state;
	assert_true(p && ip);
	rng_seed(1192);
	ip_build(ip, 20, 3000, IPPROTO_UDP, SRC, DST, 1, R_DF, 64);
	assert_int_equal(split(ip, 3000, 20, 1500, 1, p), -1);
	ip_build(ip, 24, 3004, IPPROTO_UDP, SRC, DST, 1, 0, 64);
	assert_int_equal(split(ip, 3004, 24, 1500, 1, p), -1);
	ip_build(ip, 20, 3000, IPPROTO_UDP, SRC, DST, 1, 0, 64);
	for (mtu = 0; mtu < 28; mtu++)
		assert_int_equal(split(ip, 3000, 20, mtu, 1, p), -1);
	/* A header cut short isn't read past */
	for (hl = 0; hl < 20; hl++) {
		uint8_t *part = dup_exact(ip, hl);

		assert_int_equal(split(part, hl, hl, 1500, 1, p), -1);
		free(part);
	}
	assert_int_equal(p->n, 0);
	free(ip);
	free(p);
}

/* frag_split()'s fragments go back together through frag_in() */
static void test_split_roundtrip(void **state)
{
	struct frag *fr = *state;
	struct pieces *p = calloc(1, sizeof(*p));
	int i;

	assert_non_null(p);
	rng_seed(1193);
	for (i = 0; i < 40; i++) {
		size_t len = 100 + rng() % 30000, mtu = 68 + rng() % 4000;
		uint8_t *ip = malloc(20 + len);
		struct pkt whole = { NULL, 0 };
		const uint8_t *out;
		size_t k;

		assert_non_null(ip);
		ip_build(ip, 20, 20 + len, IPPROTO_UDP, SRC, DST,
			 (uint16_t)(i + 1), 0, 64);
		fill_rand(ip + 20, len);
		assert_true(split(ip, 20 + len, 20, mtu, 1, p) > 0);
		for (k = p->n; k-- > 0;) {
			uint8_t *f = malloc(20 + p->len[k]);
			struct pkt v = { f, 20 + p->len[k] };
			struct ip_view fv;
			int ret;

			assert_non_null(f);
			memcpy(f, p->hdr[k], 20);
			memcpy(f + 20, p->data[k], p->len[k]);
			assert_int_equal(ip4_parse(v, &fv), 0);
			ret = frag_in(fr, &fv, 1, &whole);
			assert_int_equal(ret, k ? 0 : 1);
			free(f);
		}
		out = whole.p;
		assert_int_equal(whole.len, 20 + len);
		assert_true(ip_csum_ok(out));
		assert_memory_equal(out, ip, R_IP_FRAG);
		assert_memory_equal(out + R_IP_TTL, ip + R_IP_TTL, 2);
		assert_memory_equal(out + R_IP_SRC, ip + R_IP_SRC, 8);
		assert_int_equal(get16(out + R_IP_FRAG), 0);
		assert_memory_equal(out + 20, ip + 20, len);
		frag_done(fr, whole);
		pieces_free(p);
		free(ip);
	}
	free(p);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, \
						fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_orders),
		T(test_max_size),
		T(test_max_size_options),
		T(test_overlap),
		T(test_hole),
		T(test_last_first),
		T(test_end_changes),
		T(test_bad_middle),
		T(test_timeout),
		T(test_too_many),
		T(test_keys),
		T(test_done_frees),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_refused),
		T(test_split_roundtrip),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
