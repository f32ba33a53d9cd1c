// SPDX-License-Identifier: GPL-2.0-or-later
/* test_tap.c - unit tests for tap.c: qemu stream framing, transmit ring,
 *		frame dispatch
 *
 * Copyright (c) 2026 merd authors
 *
 * The stream is qemu's: each Ethernet frame after its length, 32-bit big
 * endian. Streams are built here byte by byte and read back from the other
 * end of a real socketpair with an independent splitter. Frames carry a
 * pattern derived from a sequence number, so any loss, reordering or
 * corruption shows. Buffers handed to tap.c are malloc()ed to their exact
 * length, so that AddressSanitizer catches reads past them.
 */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "dhcp.h"
#include "ip4.h"
#include "tap.h"
#include "unit.h"

#define ETH_MIN_LEN	14		/* an Ethernet header, nothing more */
#define ETH_MAX_LEN	(14 + 65535)	/* header and the largest IP packet */

/* pat() - byte @i of test frame @seq */
static uint8_t pat(unsigned int seq, size_t i)
{
	return (uint8_t)(seq * 131 + i * 7 + (i >> 8));
}

/* frame_fill() - test frame @seq: its number, then a pattern */
static void frame_fill(uint8_t *f, size_t len, unsigned int seq)
{
	size_t i;

	put32(f, seq);
	for (i = 4; i < len; i++)
		f[i] = pat(seq, i);
}

/* frame_check() - assert that @f is test frame @seq of length @want */
static void frame_check(const uint8_t *f, size_t len, unsigned int seq,
			size_t want)
{
	size_t i;

	assert_int_equal(len, want);
	assert_int_equal(get32(f), seq);
	for (i = 4; i < len; i++) {
		if (f[i] != pat(seq, i))
			fail_msg("frame %u corrupt at byte %zu", seq, i);
	}
}

/**
 * struct stream - test frames laid out as qemu sends them
 * @buf:	bytes
 * @len:	bytes used
 * @n:		number of frames
 * @flen:	length of each frame
 * @end:	offset just past each frame
 */
struct stream {
	uint8_t *buf;
	size_t len;
	size_t n;
	size_t *flen;
	size_t *end;
};

/* stream_make() - frames 0 to n - 1 with the given lengths, back to back */
static void stream_make(struct stream *s, const size_t *lens, size_t n)
{
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		total += 4 + lens[i];
	s->buf = malloc(total ? total : 1);
	s->flen = malloc(sizeof(*s->flen) * (n ? n : 1));
	s->end = malloc(sizeof(*s->end) * (n ? n : 1));
	assert_true(s->buf && s->flen && s->end);
	s->len = 0;
	s->n = n;
	for (i = 0; i < n; i++) {
		put32(s->buf + s->len, (uint32_t)lens[i]);
		frame_fill(s->buf + s->len + 4, lens[i], (unsigned int)i);
		s->len += 4 + lens[i];
		s->flen[i] = lens[i];
		s->end[i] = s->len;
	}
}

/* stream_free() - release a stream */
static void stream_free(struct stream *s)
{
	free(s->buf);
	free(s->flen);
	free(s->end);
}

/**
 * struct rx_log - what tap_parse() delivered, checked as it arrives
 * @s:		stream the frames come from
 * @next:	number of the next frame expected
 */
struct rx_log {
	const struct stream *s;
	size_t next;
};

/* rx_check() - tap_parse() callback: the next frame, intact */
static void rx_check(void *arg, const uint8_t *f, size_t len)
{
	struct rx_log *l = arg;

	assert_true(l->next < l->s->n);
	frame_check(f, len, (unsigned int)l->next, l->s->flen[l->next]);
	l->next++;
}

/* rx_none() - tap_parse() callback for buffers holding no whole frame */
static void rx_none(void *arg, const uint8_t *f, size_t len)
{
	(void)arg;
	(void)f;
	fail_msg("unexpected %zu-byte frame", len);
}

/* parse_copy() - tap_parse() on an exact-size copy of @len bytes at @p */
static int parse_copy(const uint8_t *p, size_t len, tap_frame_fn fn,
		      void *arg, size_t *consumed, uint32_t *bad)
{
	uint8_t *b = malloc(len ? len : 1);
	int ret;

	assert_non_null(b);
	memcpy(b, p, len);
	*consumed = (size_t)-1;
	ret = tap_parse(b, len, fn, arg, consumed, bad);
	free(b);
	return ret;
}

/* A stream cut at every byte: the first part yields the frames it holds
 * whole and leaves the rest, which, completed, yields the others
 */
static void test_parse_split_everywhere(void **state)
{
	static const size_t lens[] = { 60, 14, 1514, 15, 342, 64 };
	struct stream s;
	size_t k;

	(void)state;
	stream_make(&s, lens, ARRAY_SIZE(lens));
	for (k = 0; k <= s.len; k++) {
		struct rx_log l = { &s, 0 };
		size_t used, want = 0, i;
		uint32_t bad;

		for (i = 0; i < s.n && s.end[i] <= k; i++)
			want = s.end[i];

		assert_int_equal(parse_copy(s.buf, k, rx_check, &l, &used,
					    &bad), 0);
		assert_int_equal(used, want);
		assert_int_equal(l.next, i);

		assert_int_equal(parse_copy(s.buf + used, s.len - used,
					    rx_check, &l, &used, &bad), 0);
		assert_int_equal(used, s.len - want);
		assert_int_equal(l.next, s.n);
	}
	stream_free(&s);
}

/* Many frames of random lengths in one buffer all come out, in order */
static void test_parse_many(void **state)
{
	size_t n = 3000, i, used, *lens = malloc(n * sizeof(*lens));
	struct rx_log l = { 0 };
	struct stream s;
	uint32_t bad;

	(void)state;
	assert_non_null(lens);
	rng_seed(3000);
	for (i = 0; i < n; i++)
		lens[i] = ETH_MIN_LEN + rng() % (1514 - ETH_MIN_LEN + 1);
	stream_make(&s, lens, n);
	l.s = &s;

	assert_int_equal(parse_copy(s.buf, s.len, rx_check, &l, &used, &bad),
			 0);
	assert_int_equal(used, s.len);
	assert_int_equal(l.next, n);
	stream_free(&s);
	free(lens);
}

/* The shortest and the longest valid frames are accepted */
static void test_parse_limits(void **state)
{
	static const size_t lens[] = { ETH_MIN_LEN, ETH_MAX_LEN, ETH_MIN_LEN };
	struct stream s;
	struct rx_log l = { &s, 0 };
	size_t used;
	uint32_t bad;

	(void)state;
	stream_make(&s, lens, ARRAY_SIZE(lens));
	assert_int_equal(parse_copy(s.buf, s.len, rx_check, &l, &used, &bad),
			 0);
	assert_int_equal(used, s.len);
	assert_int_equal(l.next, 3);

	/* The longest one, announced but not all there yet, is waited for */
	l.next = 0;
	assert_int_equal(parse_copy(s.buf, s.end[1] - 1, rx_check, &l, &used,
				    &bad), 0);
	assert_int_equal(used, s.end[0]);
	assert_int_equal(l.next, 1);
	stream_free(&s);
}

/* A partial frame or length at the end is left for the next read */
static void test_parse_partial_tail(void **state)
{
	static const size_t lens[] = { 100, 60, 200 };
	struct stream s;
	size_t cut, used;
	uint32_t bad;

	(void)state;
	stream_make(&s, lens, ARRAY_SIZE(lens));
	/* Cut inside the last frame's length field, then inside its data */
	for (cut = s.end[1] + 1; cut < s.len; cut++) {
		struct rx_log l = { &s, 0 };

		assert_int_equal(parse_copy(s.buf, cut, rx_check, &l, &used,
					    &bad), 0);
		assert_int_equal(used, s.end[1]);
		assert_int_equal(l.next, 2);
	}
	/* Nothing at all, or only part of a length */
	for (cut = 0; cut < 4; cut++) {
		assert_int_equal(parse_copy(s.buf, cut, rx_none, NULL, &used,
					    &bad), 0);
		assert_int_equal(used, 0);
	}
	stream_free(&s);
}

/* Impossible lengths are refused, reported, and nothing past them taken */
static void test_parse_bad_length(void **state)
{
	static const uint32_t bogus[] = { 0, 1, 13, 65550, 0x10000000,
					  0xffffffff };
	static const size_t lens[] = { 60, 90 };
	struct stream s;
	size_t i, used;

	(void)state;
	stream_make(&s, lens, ARRAY_SIZE(lens));
	for (i = 0; i < ARRAY_SIZE(bogus); i++) {
		uint8_t *b = malloc(s.len + 4 + 64);
		struct rx_log l = { &s, 0 };
		uint32_t bad = 0;

		/* frame 0, then the bogus length, then frame 1 */
		assert_non_null(b);
		memcpy(b, s.buf, s.end[0]);
		put32(b + s.end[0], bogus[i]);
		memcpy(b + s.end[0] + 4, s.buf + s.end[0], s.len - s.end[0]);
		memset(b + s.len + 4, 0, 64);

		assert_int_equal(tap_parse(b, s.len + 4 + 64, rx_check, &l,
					   &used, &bad), -EBADMSG);
		assert_int_equal(bad, bogus[i]);
		assert_int_equal(used, s.end[0]);
		assert_int_equal(l.next, 1);

		/* Refused as soon as the length is there, and at the start */
		bad = 0;
		assert_int_equal(parse_copy(b + s.end[0], 4, rx_none, NULL,
					    &used, &bad), -EBADMSG);
		assert_int_equal(bad, bogus[i]);
		assert_int_equal(used, 0);
		free(b);
	}
	stream_free(&s);
}

/* sock_pair() - non-blocking AF_UNIX stream pair, small send buffer on
 * sv[0] if @sndbuf
 */
static void sock_pair(int sv[2], int sndbuf)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	if (sndbuf)
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF,
					    &sndbuf, sizeof(sndbuf)), 0);
}

/**
 * struct sink - reader end of the socket, and what it got so far
 * @fd:		descriptor
 * @buf:	bytes read
 * @size:	size of @buf
 * @len:	bytes in @buf
 */
struct sink {
	int fd;
	uint8_t *buf;
	size_t size;
	size_t len;
};

/* sink_read() - read up to @max bytes that are there, without waiting */
static size_t sink_read(struct sink *k, size_t max)
{
	size_t got = 0;

	while (got < max) {
		ssize_t n = read(k->fd, k->buf + k->len,
				 MIN(max - got, k->size - k->len));

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		assert_true(n > 0);
		k->len += (size_t)n;
		got += (size_t)n;
		assert_true(k->len < k->size);	/* more than ever sent */
	}
	return got;
}

/* sink_check() - what was read is exactly frames 0 to n - 1, with lengths
 * @lens, each after its big-endian length
 */
static void sink_check(const struct sink *k, const size_t *lens, size_t n)
{
	size_t off = 0, i;

	for (i = 0; i < n; i++) {
		assert_true(k->len - off >= 4);
		assert_int_equal(get32(k->buf + off), lens[i]);
		assert_true(k->len - off - 4 >= lens[i]);
		frame_check(k->buf + off + 4, lens[i], (unsigned int)i,
			    lens[i]);
		off += 4 + lens[i];
	}
	assert_int_equal(off, k->len);
}

/* push() - queue test frame @seq of @len bytes */
static int push(struct tap_tx *tx, unsigned int seq, size_t len)
{
	uint8_t *f = malloc(len);
	int ret;

	assert_non_null(f);
	frame_fill(f, len, seq);
	ret = tap_tx_push(tx, f, len);
	free(f);
	return ret;
}

/* drain() - write the ring and read the other end until both are empty */
static void drain(struct tap_tx *tx, int fd, struct sink *k)
{
	int i;

	for (i = 0; i < 100000 && tx->used; i++) {
		assert_true(tap_tx_write(tx, fd) >= 0);
		sink_read(k, SIZE_MAX);
	}
	assert_int_equal(tx->used, 0);
	sink_read(k, SIZE_MAX);
}

/* Frames queued and written arrive with their lengths, in order */
static void test_tx_order(void **state)
{
	static const size_t lens[] = { 60, 1514, 14, 342, 99 };
	uint8_t buf[4096];
	struct sink k = { .buf = buf, .size = sizeof(buf) };
	struct tap_tx tx;
	int sv[2];
	size_t i;

	(void)state;
	sock_pair(sv, 0);
	k.fd = sv[1];
	assert_int_equal(tap_tx_init(&tx, 8192), 0);
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		assert_int_equal(push(&tx, (unsigned int)i, lens[i]), 0);

	assert_int_equal(tap_tx_write(&tx, sv[0]), 4 * 5 + 60 + 1514 + 14 +
						    342 + 99);
	assert_int_equal(tx.used, 0);
	sink_read(&k, SIZE_MAX);
	sink_check(&k, lens, ARRAY_SIZE(lens));

	/* Nothing queued: nothing written */
	assert_int_equal(tap_tx_write(&tx, sv[0]), 0);
	free(tx.buf);
	close(sv[0]);
	close(sv[1]);
}

/* A full ring drops the frame that doesn't fit, counts it, and keeps what
 * it holds; a frame that fits exactly is taken
 */
static void test_tx_full(void **state)
{
	size_t lens[] = { 40, 40, 8 };
	uint8_t buf[512];
	struct sink k = { .buf = buf, .size = sizeof(buf) };
	struct tap_tx tx;
	int sv[2];

	(void)state;
	sock_pair(sv, 0);
	k.fd = sv[1];
	assert_int_equal(tap_tx_init(&tx, 100), 0);

	assert_int_equal(push(&tx, 0, 40), 0);		/* 44 bytes */
	assert_int_equal(push(&tx, 1, 40), 0);		/* 88 */
	assert_int_equal(push(&tx, 99, 9), -ENOBUFS);	/* 101: no */
	assert_int_equal(tx.dropped, 1);
	assert_int_equal(push(&tx, 99, 1500), -ENOBUFS);
	assert_int_equal(tx.dropped, 2);
	assert_int_equal(push(&tx, 2, 8), 0);		/* 100: exactly */
	assert_int_equal(push(&tx, 99, 14), -ENOBUFS);
	assert_int_equal(tx.dropped, 3);
	assert_int_equal(tx.used, 100);

	drain(&tx, sv[0], &k);
	sink_check(&k, lens, ARRAY_SIZE(lens));

	/* Room again once written */
	assert_int_equal(push(&tx, 3, 96), 0);
	assert_int_equal(tx.dropped, 3);
	free(tx.buf);
	close(sv[0]);
	close(sv[1]);
}

/* wrap_case() - fill a ring of 10000 + @tail bytes with 10000 bytes, write
 * part of it, then queue more: the frame queued next starts @tail bytes
 * before the end of the ring, so its length (tail < 4) or its data wraps
 */
static void wrap_case(size_t tail)
{
	size_t lens[64], n = 0, total = 0, i;
	struct sink k = { .size = 1 << 20 };
	struct tap_tx tx;
	ssize_t w;
	int sv[2];

	sock_pair(sv, 1);
	k.fd = sv[1];
	k.buf = malloc(k.size);
	assert_non_null(k.buf);
	assert_int_equal(tap_tx_init(&tx, 10000 + tail), 0);

	for (i = 0; i < 10; i++, n++) {
		lens[n] = 996;
		assert_int_equal(push(&tx, (unsigned int)n, lens[n]), 0);
		total += 4 + lens[n];
	}
	assert_int_equal(tx.used, 10000);

	/* The socket takes part of it: the ring's head moves forward */
	w = tap_tx_write(&tx, sv[0]);
	assert_true(w >= 2000 && (size_t)w < total);
	assert_int_equal(tx.used, total - (size_t)w);
	sink_read(&k, SIZE_MAX);

	/* Queue until full: these frames go across the end of the ring */
	for (;;) {
		size_t len = 14 + (n * 37) % 700;

		if (tx.size - tx.used < 4 + len)
			break;
		lens[n] = len;
		assert_int_equal(push(&tx, (unsigned int)n, len), 0);
		n++;
	}
	assert_true(tx.head + tx.used > tx.size);
	assert_int_equal(tx.dropped, 0);

	drain(&tx, sv[0], &k);
	sink_check(&k, lens, n);
	free(k.buf);
	free(tx.buf);
	close(sv[0]);
	close(sv[1]);
}

/* Frames wrapping around the end of the ring arrive intact: length field
 * split 1 + 3, 2 + 2, 3 + 1, length at the very end, data split
 */
static void test_tx_wraparound(void **state)
{
	static const size_t tails[] = { 1, 2, 3, 4, 5, 7, 500 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tails); i++)
		wrap_case(tails[i]);
}

/* A slow reader, taking a few bytes at a time from a socket with a small
 * buffer, while frames keep coming: partial writes everywhere in the
 * ring, and every frame arrives intact and in order
 */
static void test_tx_slow_reader(void **state)
{
	size_t n = 4000, next = 0, i, *lens = malloc(n * sizeof(*lens));
	struct sink k = { .size = 16 << 20 };
	bool wrapped = false;
	unsigned long partial = 0, full = 0;
	struct tap_tx tx;
	int sv[2];

	(void)state;
	assert_non_null(lens);
	rng_seed(4000);
	for (i = 0; i < n; i++)
		lens[i] = ETH_MIN_LEN + rng() % (1514 - ETH_MIN_LEN + 1);
	sock_pair(sv, 1);
	k.fd = sv[1];
	k.buf = malloc(k.size);
	assert_non_null(k.buf);
	assert_int_equal(tap_tx_init(&tx, 24 * 1024 + 7), 0);

	for (i = 0; i < 1000000 && (next < n || tx.used); i++) {
		size_t before;
		ssize_t w;

		/* A burst of frames, until the ring refuses one */
		while (next < n && rng() % 4) {
			int ret = push(&tx, (unsigned int)next, lens[next]);

			if (ret == -ENOBUFS) {
				full++;
				break;
			}
			assert_int_equal(ret, 0);
			next++;
		}
		if (tx.head + tx.used > tx.size)
			wrapped = true;

		before = tx.used;
		w = tap_tx_write(&tx, sv[0]);
		assert_true(w >= 0 && (size_t)w <= before);
		assert_int_equal(tx.used, before - (size_t)w);
		if (w && tx.used)
			partial++;

		sink_read(&k, 1 + rng() % 3000);
	}
	assert_int_equal(next, n);
	assert_int_equal(tx.used, 0);
	sink_read(&k, SIZE_MAX);
	sink_check(&k, lens, n);
	assert_int_equal(tx.dropped, full);

	/* The test did what it says: partial writes, full ring, wrapping */
	assert_true(partial > 10);
	assert_true(full > 10);
	assert_true(wrapped);
	free(k.buf);
	free(lens);
	free(tx.buf);
	close(sv[0]);
	close(sv[1]);
}

/* A write error other than EAGAIN is returned, and the ring kept */
static void test_tx_write_error(void **state)
{
	struct tap_tx tx;
	int sv[2];

	(void)state;
	sock_pair(sv, 0);
	assert_int_equal(tap_tx_init(&tx, 4096), 0);
	assert_int_equal(push(&tx, 0, 60), 0);
	close(sv[1]);
	assert_int_equal(tap_tx_write(&tx, sv[0]), -EPIPE);
	assert_int_equal(tx.used, 64);
	free(tx.buf);
	close(sv[0]);
}

/**
 * struct env - a context connected to a fake qemu
 * @c:		context, with the guest at 10.42.0.2/24 behind 10.42.0.1
 * @peer:	qemu's end of the socket
 */
struct env {
	struct ctx c;
	int peer;
};

/* env_setup() - cmocka fixture: context, socketpair, epoll, transmit ring */
static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct ctx *c = &e->c;
	int sv[2];

	assert_non_null(e);
	inet_pton(AF_INET, "10.42.0.2", &c->guest.addr);
	c->guest.prefix_len = 24;
	inet_pton(AF_INET, "10.42.0.1", &c->guest.gw);
	inet_pton(AF_INET, "192.0.2.53", &c->guest.dns[0]);
	c->guest.dns_n = 1;
	c->guest.mtu = 1400;
	memcpy(c->guest.our_mac, our_mac, ETH_ALEN);
	c->fd_listen = -1;

	sock_pair(sv, 0);
	c->fd_tap = sv[0];
	e->peer = sv[1];
	c->epollfd = epoll_create1(0);
	assert_true(c->epollfd >= 0);
	assert_int_equal(epoll_add(c, c->fd_tap, EPOLLIN | EPOLLRDHUP,
				   EPOLL_TYPE_TAP), 0);
	assert_int_equal(tap_tx_init(&c->tx, 1 << 20), 0);
	c->rx.size = TAP_RX_BATCH + TAP_HDR_LEN + TAP_FRAME_MAX;
	c->rx.buf = malloc(c->rx.size);
	assert_non_null(c->rx.buf);
	*state = e;
	return 0;
}

/* env_teardown() - cmocka fixture: release it all */
static int env_teardown(void **state)
{
	struct env *e = *state;

	if (e->c.fd_tap >= 0)
		close(e->c.fd_tap);
	close(e->peer);
	close(e->c.epollfd);
	free(e->c.tx.buf);
	free(e->c.rx.buf);
	free(e);
	return 0;
}

/* peer_read() - flush, then what qemu's end got: the bytes, their count */
static size_t peer_read(struct env *e, uint8_t *buf, size_t size)
{
	struct sink k = { .fd = e->peer, .buf = buf, .size = size };

	tap_flush(&e->c);
	sink_read(&k, SIZE_MAX);
	return k.len;
}

/* frame_in() - hand an exact-size copy of a frame to tap_frame() */
static void frame_in(struct ctx *c, const uint8_t *f, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	memcpy(b, f, len);
	tap_frame(c, b, len);
	free(b);
}

/* arp_request() - 42-byte ARP request from @src for 10.42.0.1, to @dst */
static void arp_request(uint8_t *f, const uint8_t *dst, const uint8_t *src)
{
	static const uint8_t body[] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	memcpy(f, dst, ETH_ALEN);
	memcpy(f + 6, src, ETH_ALEN);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, body, sizeof(body));
	memcpy(f + 22, src, ETH_ALEN);
	inet_pton(AF_INET, "10.42.0.2", f + 28);
	memset(f + 32, 0, ETH_ALEN);
	inet_pton(AF_INET, "10.42.0.1", f + 38);
}

/* An ARP request goes out as a 60-byte reply after its length field */
static void test_frame_arp_reply(void **state)
{
	struct env *e = *state;
	uint8_t f[42], out[256], ip[4];

	arp_request(f, bcast, guest_mac);
	frame_in(&e->c, f, sizeof(f));
	assert_int_equal(peer_read(e, out, sizeof(out)), 4 + 60);
	assert_int_equal(get32(out), 60);
	assert_memory_equal(out + 4, guest_mac, ETH_ALEN);
	assert_memory_equal(out + 4 + 6, our_mac, ETH_ALEN);
	assert_int_equal(out[4 + 12] << 8 | out[4 + 13], 0x0806);
	assert_int_equal(out[4 + 20] << 8 | out[4 + 21], 2);
	assert_memory_equal(out + 4 + 22, our_mac, ETH_ALEN);
	inet_pton(AF_INET, "10.42.0.1", ip);
	assert_memory_equal(out + 4 + 28, ip, 4);
	assert_memory_equal(out + 4 + 32, guest_mac, ETH_ALEN);
	inet_pton(AF_INET, "10.42.0.2", ip);
	assert_memory_equal(out + 4 + 38, ip, 4);

	/* Unicast to our MAC (a cache refresh) is answered too */
	arp_request(f, our_mac, guest_mac);
	frame_in(&e->c, f, sizeof(f));
	assert_int_equal(peer_read(e, out, sizeof(out)), 4 + 60);
	assert_int_equal(get32(out), 60);
}

/* dhcp_discover() - broadcast DISCOVER from @src, minimal, 342 bytes */
static size_t dhcp_discover(uint8_t *f, size_t size, const uint8_t *dst,
			    const uint8_t *src)
{
	uint8_t bp[300] = { 1, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef };

	memcpy(bp + 28, src, ETH_ALEN);
	put32(bp + 236, 0x63825363);
	bp[240] = 53;
	bp[241] = 1;
	bp[242] = 1;		/* DISCOVER */
	bp[243] = 255;
	return ip4_udp_frame(f, size, dst, src, htonl(INADDR_ANY),
			     htonl(INADDR_BROADCAST), 68, 67, 1, bp,
			     sizeof(bp));
}

/* A DHCP DISCOVER comes back as an OFFER to port 68, length-prefixed */
static void test_frame_dhcp_offer(void **state)
{
	struct env *e = *state;
	uint8_t f[512], out[2048];
	size_t len = dhcp_discover(f, sizeof(f), bcast, guest_mac), got;

	assert_int_equal(len, 14 + 20 + 8 + 300);
	frame_in(&e->c, f, len);
	got = peer_read(e, out, sizeof(out));
	assert_true(got > 4 + 14 + 20 + 8 + 240);
	assert_int_equal(get32(out), got - 4);
	assert_int_equal(out[4 + 12] << 8 | out[4 + 13], 0x0800);
	assert_int_equal(out[4 + 23], IPPROTO_UDP);
	assert_int_equal(out[4 + 36] << 8 | out[4 + 37], 68);
	assert_int_equal(out[4 + 42], 2);			/* BOOTREPLY */
	assert_int_equal(get32(out + 4 + 46), 0xdeadbeef);	/* xid */
	assert_int_equal(out[4 + 42 + 240], 53);
	assert_int_equal(out[4 + 42 + 242], 2);			/* OFFER */
}

/* The guest's MAC is learnt from unicast sources only, and follows it */
static void test_frame_learn_mac(void **state)
{
	static const uint8_t mcast[ETH_ALEN] = { 0x01, 0, 0x5e, 0, 0, 1 };
	static const uint8_t zero[ETH_ALEN];
	static const uint8_t other[ETH_ALEN] = { 0x52, 0x54, 0, 0xab, 0xcd,
						 0xef };
	struct env *e = *state;
	uint8_t f[60] = { 0 };

	assert_false(e->c.guest_mac_known);

	/* A frame of a type merd doesn't handle still tells the MAC */
	memcpy(f, bcast, ETH_ALEN);
	f[12] = 0x88;
	f[13] = 0xb5;
	memcpy(f + 6, mcast, ETH_ALEN);
	frame_in(&e->c, f, sizeof(f));
	memcpy(f + 6, bcast, ETH_ALEN);
	frame_in(&e->c, f, sizeof(f));
	memcpy(f + 6, zero, ETH_ALEN);
	frame_in(&e->c, f, sizeof(f));
	assert_false(e->c.guest_mac_known);

	memcpy(f + 6, guest_mac, ETH_ALEN);
	frame_in(&e->c, f, sizeof(f));
	assert_true(e->c.guest_mac_known);
	assert_memory_equal(e->c.guest_mac, guest_mac, ETH_ALEN);

	/* Not replaced by non-station addresses */
	memcpy(f + 6, mcast, ETH_ALEN);
	frame_in(&e->c, f, sizeof(f));
	memcpy(f + 6, zero, ETH_ALEN);
	frame_in(&e->c, f, sizeof(f));
	assert_memory_equal(e->c.guest_mac, guest_mac, ETH_ALEN);

	/* A new unicast source (the guest changed its MAC) replaces it */
	memcpy(f, our_mac, ETH_ALEN);
	memcpy(f + 6, other, ETH_ALEN);
	frame_in(&e->c, f, sizeof(f));
	assert_memory_equal(e->c.guest_mac, other, ETH_ALEN);
	assert_int_equal(e->c.tx.used, 0);
}

/* Frames to another station's MAC are none of merd's business */
static void test_frame_other_unicast(void **state)
{
	static const uint8_t dst[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct env *e = *state;
	uint8_t f[512], out[2048];
	size_t len;

	arp_request(f, dst, guest_mac);
	frame_in(&e->c, f, 42);
	len = dhcp_discover(f, sizeof(f), dst, guest_mac);
	frame_in(&e->c, f, len);

	assert_int_equal(peer_read(e, out, sizeof(out)), 0);
	assert_false(e->c.guest_mac_known);
}

/* Truncated ARP and IPv4 frames produce nothing, read nothing past them */
static void test_frame_truncated(void **state)
{
	struct env *e = *state;
	uint8_t f[512], out[2048];
	size_t full = dhcp_discover(f, sizeof(f), bcast, guest_mac), len;

	for (len = 0; len < full; len++)
		frame_in(&e->c, f, len);
	arp_request(f, bcast, guest_mac);
	for (len = 0; len < 42; len++)
		frame_in(&e->c, f, len);
	assert_int_equal(peer_read(e, out, sizeof(out)), 0);
}

/* Without a guest connected there is nowhere to send: nothing queued */
static void test_frame_no_guest(void **state)
{
	struct env *e = *state;
	uint8_t f[42];

	close(e->c.fd_tap);
	e->c.fd_tap = -1;
	assert_int_equal(tap_send(&e->c, f, sizeof(f)), -ENOTCONN);

	arp_request(f, bcast, guest_mac);
	frame_in(&e->c, f, sizeof(f));
	assert_int_equal(e->c.tx.used, 0);
	tap_flush(&e->c);
}

/* tap_send() refuses frames when the queue is full, keeping earlier ones */
static void test_send_full(void **state)
{
	struct env *e = *state;
	uint8_t f[1000], out[4096];
	struct sink k = { .fd = e->peer, .buf = out, .size = sizeof(out) };
	size_t lens[3] = { 1000, 1000, 1000 };
	unsigned int i;

	free(e->c.tx.buf);
	assert_int_equal(tap_tx_init(&e->c.tx, 3 * 1004), 0);
	for (i = 0; i < 3; i++) {
		frame_fill(f, sizeof(f), i);
		assert_int_equal(tap_send(&e->c, f, sizeof(f)), 0);
	}
	assert_int_equal(tap_send(&e->c, f, sizeof(f)), -ENOBUFS);
	assert_int_equal(e->c.tx.dropped, 1);

	tap_flush(&e->c);
	sink_read(&k, SIZE_MAX);
	sink_check(&k, lens, 3);
}

/* When qemu doesn't read, tap_flush() asks epoll to report writability,
 * and stops asking once the queue is empty
 */
static void test_flush_arms_epollout(void **state)
{
	struct env *e = *state;
	struct epoll_event ev;
	union epoll_ref ref;
	uint8_t f[1500], *out = malloc(1 << 21);
	struct sink k = { .fd = e->peer, .buf = out, .size = 1 << 21 };
	size_t lens[500];
	unsigned int i;
	int small = 1;

	assert_non_null(out);
	assert_int_equal(setsockopt(e->c.fd_tap, SOL_SOCKET, SO_SNDBUF, &small,
				    sizeof(small)), 0);
	for (i = 0; i < 500; i++) {
		frame_fill(f, sizeof(f), i);
		assert_int_equal(tap_send(&e->c, f, sizeof(f)), 0);
	}
	tap_flush(&e->c);
	assert_true(e->c.tx.used > 0);	/* the socket is full */
	assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1, 0), 0);

	sink_read(&k, SIZE_MAX);
	assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1, 1000), 1);
	assert_true(ev.events & EPOLLOUT);
	ref.u64 = ev.data.u64;
	assert_int_equal(ref.type, EPOLL_TYPE_TAP);
	assert_int_equal(ref.fd, e->c.fd_tap);

	for (i = 0; i < 10000 && e->c.tx.used; i++) {
		tap_flush(&e->c);
		sink_read(&k, SIZE_MAX);
	}
	assert_int_equal(e->c.tx.used, 0);
	sink_read(&k, SIZE_MAX);
	for (i = 0; i < 500; i++)
		lens[i] = sizeof(f);
	sink_check(&k, lens, 500);
	assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1, 0), 0);
	free(out);
}

/* peer_write() - qemu's end writes all of @len bytes */
static void peer_write(struct env *e, const uint8_t *p, size_t len)
{
	assert_int_equal(write(e->peer, p, len), (ssize_t)len);
}

/* A stream of ARP requests written in odd-sized pieces, handled after
 * each: every frame is dispatched once and answered, in order
 */
static void test_handler_stream(void **state)
{
	struct env *e = *state;
	uint8_t *in = malloc(200 * 46), out[200 * 64 + 1];
	size_t n = 200, len = 0, off, i;

	assert_non_null(in);
	for (i = 0; i < n; i++) {
		put32(in + len, 42);
		arp_request(in + len + 4, bcast, guest_mac);
		in[len + 4 + 40] = 1;		/* asks for 10.42.1.i */
		in[len + 4 + 41] = (uint8_t)i;
		len += 46;
	}

	rng_seed(46);
	for (off = 0; off < len; ) {
		size_t chunk = 1 + rng() % 97;

		chunk = MIN(chunk, len - off);

		peer_write(e, in + off, chunk);
		off += chunk;
		tap_handler(&e->c, EPOLLIN);
		assert_true(e->c.fd_tap >= 0);
	}
	assert_int_equal(e->c.tap_frames, n);

	assert_int_equal(peer_read(e, out, sizeof(out)), n * 64);
	for (i = 0; i < n; i++) {
		assert_int_equal(get32(out + i * 64), 60);
		assert_int_equal(out[i * 64 + 4 + 20 + 1], 2);	/* reply */
		assert_int_equal(out[i * 64 + 4 + 28 + 3], (uint8_t)i);
	}
	free(in);
}

/* A bogus length from qemu ends the connection */
static void test_handler_bad_length(void **state)
{
	struct env *e = *state;
	uint8_t in[4 + 42 + 4 + 20], out[256];

	put32(in, 42);
	arp_request(in + 4, bcast, guest_mac);
	put32(in + 46, 13);
	memset(in + 50, 0, 20);
	peer_write(e, in, sizeof(in));
	tap_handler(&e->c, EPOLLIN);

	assert_int_equal(e->c.fd_tap, -1);
	assert_int_equal(e->c.tap_frames, 1);
	assert_int_equal(read(e->peer, out, sizeof(out)), 0);	/* closed */
}

/* qemu going away ends the connection, once what it sent is handled */
static void test_handler_hangup(void **state)
{
	struct env *e = *state;
	uint8_t in[4 + 42 + 3];

	put32(in, 42);
	arp_request(in + 4, bcast, guest_mac);
	memset(in + 46, 0, 3);		/* and part of a length, lost */
	peer_write(e, in, sizeof(in));
	shutdown(e->peer, SHUT_WR);

	tap_handler(&e->c, EPOLLIN | EPOLLRDHUP);
	if (e->c.fd_tap >= 0)		/* data first, end of stream next */
		tap_handler(&e->c, EPOLLIN | EPOLLRDHUP);
	assert_int_equal(e->c.fd_tap, -1);
	assert_int_equal(e->c.tap_frames, 1);
	assert_false(e->c.guest_mac_known);
	/* merd's end is closed, not just forgotten: qemu sees the end too */
	assert_int_equal(recv(e->peer, in, sizeof(in), MSG_DONTWAIT), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_split_everywhere),
		cmocka_unit_test(test_parse_many),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_partial_tail),
		cmocka_unit_test(test_parse_bad_length),
		cmocka_unit_test(test_tx_order),
		cmocka_unit_test(test_tx_full),
		cmocka_unit_test(test_tx_wraparound),
		cmocka_unit_test(test_tx_slow_reader),
		cmocka_unit_test(test_tx_write_error),
		cmocka_unit_test_setup_teardown(test_frame_arp_reply,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_frame_dhcp_offer,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_frame_learn_mac,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_frame_other_unicast,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_frame_truncated,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_frame_no_guest,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_send_full, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_flush_arms_epollout,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_handler_stream,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_handler_bad_length,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_handler_hangup,
						env_setup, env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
