// SPDX-License-Identifier: GPL-2.0-or-later
/* test_tap.c - unit tests for tap.c: qemu stream framing, transmit ring,
 *		the connection and its handlers
 *
 * Copyright (c) 2026 merd authors
 *
 * The stream is qemu's: each Ethernet frame after its length, 32-bit big
 * endian. Streams are built here byte by byte and read back from the other
 * end of a real socketpair with an independent splitter. Frames carry a
 * pattern derived from a sequence number, so any loss, reordering or
 * corruption shows. Buffers handed to tap.c are malloc()ed to their exact
 * length, so that AddressSanitizer catches reads past them.
 *
 * What a frame means is merd.c's business now (its frame handler is
 * static): the handlers here are the test's own struct tap_ops, which note
 * each frame handed, check that it is still in place, unchanged, when the
 * batch handler runs (the contract that lets fwd.c queue packets pointing
 * into the receive buffer), and answer ARP with arp(). ARP and DHCP
 * themselves are tested in test_arp.c and test_dhcp.c, forwarding in
 * test_fwd.c.
 *
 * Frames queued by reference (tap_send_ip_ref()) are checked as the peer
 * reads them: the test builds the stream it expects as it queues frames,
 * by reference or by copy, and compares it with what the peer read, byte
 * for byte, after partial writes too; payloads are overwritten (or freed)
 * wherever tap.c may no longer read them.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "arp.h"
#include "epoll.h"
#include "ip4.h"
#include "merd.h"
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

/* Most frames one test hands to the frame handler */
#define LOG_MAX		256

/**
 * struct env - a context connected to a fake qemu, and what its tap_ops
 *		were handed
 * @c:		context, with the guest at 10.42.0.2/24 behind 10.42.0.1
 * @peer:	qemu's end of the socket
 * @frames:	frames handed to the frame handler
 * @batches:	calls of the batch handler
 * @pending:	frames handed since the last batch
 * @at:		where each of those lay (in tap.c's receive buffer)
 * @copy:	a copy of each, taken when it was handed
 * @len:	its length
 * @stale:	a frame had changed under it by the time its batch ended
 */
struct env {
	struct ctx c;
	int peer;
	size_t frames;
	size_t batches;
	size_t pending;
	const uint8_t *at[LOG_MAX];
	uint8_t copy[LOG_MAX][64];
	size_t len[LOG_MAX];
	bool stale;
};

/* env_of() - the environment a context belongs to */
static struct env *env_of(struct ctx *c)
{
	return (struct env *)(void *)c;		/* its first member */
}

/* ops_frame() - tap_ops frame handler: note where the frame lies and what
 * it holds, learn the guest's MAC and answer ARP requests, as merd's frame
 * handler does (arp() and tap_send(), tested in test_arp.c)
 */
static void ops_frame(struct ctx *c, const uint8_t *frame, size_t len)
{
	struct env *e = env_of(c);
	uint8_t reply[60];
	struct pkt f = { frame, len };
	size_t n;

	assert_true(e->pending < LOG_MAX);
	assert_true(len >= ETH_HLEN);
	e->at[e->pending] = frame;
	e->len[e->pending] = MIN(len, sizeof(e->copy[0]));
	memcpy(e->copy[e->pending], frame, e->len[e->pending]);
	e->pending++;
	e->frames++;

	tap_learn_mac(c, frame + ETH_ALEN);
	if (get16(frame + 12) != 0x0806)
		return;
	n = arp(c, f, reply, sizeof(reply));
	if (n)
		assert_int_equal(tap_send(c, reply, n), 0);
}

/* ops_batch() - tap_ops batch handler: every frame handed since the last
 * batch must still be where it was, unchanged (fwd.c's queued packets point
 * into them until this call)
 */
static void ops_batch(struct ctx *c)
{
	struct env *e = env_of(c);
	size_t i;

	for (i = 0; i < e->pending; i++)
		if (memcmp(e->at[i], e->copy[i], e->len[i]))
			e->stale = true;
	e->pending = 0;
	e->batches++;
}

static const struct tap_ops ops = { .frame = ops_frame, .batch = ops_batch };

/* env_setup() - cmocka fixture: context, socketpair, epoll, buffers */
static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct ctx *c = &e->c;
	int sv[2];

	assert_non_null(e);
	inet_pton(AF_INET, "10.42.0.2", &c->guest4.addr);
	c->guest4.prefix_len = 24;
	inet_pton(AF_INET, "10.42.0.1", &c->guest4.gw);
	inet_pton(AF_INET, "192.0.2.53", &c->guest4.dns[0]);
	c->guest4.dns_n = 1;
	c->link.mtu = 1400;
	memcpy(c->link.mac, our_mac, ETH_ALEN);
	c->tap.fd_listen = -1;

	assert_int_equal(tap_init(c), 0);
	assert_int_equal(c->tap.fd, -1);
	assert_false(tap_connected(c));
	assert_int_equal(tap_room(c), TAP_TX_QUEUE);

	sock_pair(sv, 0);
	c->tap.fd = sv[0];
	e->peer = sv[1];
	c->epollfd = epoll_create1(0);
	assert_true(c->epollfd >= 0);
	assert_int_equal(epoll_ref_ctl(c->epollfd, EPOLL_CTL_ADD, c->tap.fd,
				       EPOLLIN | EPOLLRDHUP, EPOLL_TYPE_TAP,
				       c->tap.fd), 0);
	assert_true(tap_connected(c));
	*state = e;
	return 0;
}

/* env_teardown() - cmocka fixture: release it all */
static int env_teardown(void **state)
{
	struct env *e = *state;

	if (e->c.tap.fd >= 0)
		close(e->c.tap.fd);
	if (e->c.tap.fd_listen >= 0)
		close(e->c.tap.fd_listen);
	close(e->peer);
	close(e->c.epollfd);
	tap_free(&e->c);
	assert_null(e->c.tap.rx.buf);
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

/* The guest's MAC is learnt from unicast sources only, and follows it */
static void test_learn_mac(void **state)
{
	static const uint8_t mcast[ETH_ALEN] = { 0x01, 0, 0x5e, 0, 0, 1 };
	static const uint8_t zero[ETH_ALEN];
	static const uint8_t other[ETH_ALEN] = { 0x52, 0x54, 0, 0xab, 0xcd,
						 0xef };
	struct env *e = *state;

	assert_false(e->c.tap.guest_mac_known);
	tap_learn_mac(&e->c, mcast);
	tap_learn_mac(&e->c, bcast);
	tap_learn_mac(&e->c, zero);
	assert_false(e->c.tap.guest_mac_known);

	tap_learn_mac(&e->c, guest_mac);
	assert_true(e->c.tap.guest_mac_known);
	assert_memory_equal(e->c.tap.guest_mac, guest_mac, ETH_ALEN);

	/* Not replaced by non-station addresses */
	tap_learn_mac(&e->c, mcast);
	tap_learn_mac(&e->c, zero);
	assert_memory_equal(e->c.tap.guest_mac, guest_mac, ETH_ALEN);

	/* A new unicast source (the guest changed its MAC) replaces it */
	tap_learn_mac(&e->c, other);
	assert_memory_equal(e->c.tap.guest_mac, other, ETH_ALEN);
	assert_int_equal(e->c.tap.tx.used, 0);
}

/* tap_send_ip() puts an Ethernet header before the pieces of a packet: to
 * the guest's MAC once known, broadcast until then, from merd's, IPv4
 */
static void test_send_ip(void **state)
{
	struct env *e = *state;
	uint8_t a[20], b[7], out[256];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	size_t i, n;

	for (i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)i;
	memset(b, 0xee, sizeof(b));
	assert_int_equal(tap_send_ip(&e->c, iov, 2), 0);
	tap_learn_mac(&e->c, guest_mac);
	assert_int_equal(tap_send_ip(&e->c, iov, 1), 0);

	n = peer_read(e, out, sizeof(out));
	assert_int_equal(n, 4 + 14 + 27 + 4 + 14 + 20);
	assert_int_equal(get32(out), 14 + 27);
	assert_memory_equal(out + 4, bcast, ETH_ALEN);
	assert_memory_equal(out + 4 + 6, our_mac, ETH_ALEN);
	assert_int_equal(get16(out + 4 + 12), 0x0800);
	assert_memory_equal(out + 4 + 14, a, sizeof(a));
	assert_memory_equal(out + 4 + 14 + 20, b, sizeof(b));
	assert_int_equal(get32(out + 45), 14 + 20);
	assert_memory_equal(out + 49, guest_mac, ETH_ALEN);
	assert_memory_equal(out + 49 + 6, our_mac, ETH_ALEN);
	assert_memory_equal(out + 49 + 14, a, sizeof(a));
}

/* Without a guest connected there is nowhere to send: nothing queued */
static void test_no_guest(void **state)
{
	struct env *e = *state;
	uint8_t f[42];
	struct iovec iov = { f, sizeof(f) };

	close(e->c.tap.fd);
	e->c.tap.fd = -1;
	assert_false(tap_connected(&e->c));
	arp_request(f, bcast, guest_mac);
	assert_int_equal(tap_send(&e->c, f, sizeof(f)), -ENOTCONN);
	assert_int_equal(tap_send_ip(&e->c, &iov, 1), -ENOTCONN);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_int_equal(e->c.tap.tx.dropped, 0);
	tap_flush(&e->c);
}

/* tap_send() refuses frames when the queue is full, keeping earlier ones;
 * tap_room() tells what is left
 */
static void test_send_full(void **state)
{
	struct env *e = *state;
	uint8_t f[1000], out[4096];
	struct sink k = { .fd = e->peer, .buf = out, .size = sizeof(out) };
	size_t lens[3] = { 1000, 1000, 1000 };
	unsigned int i;

	free(e->c.tap.tx.buf);
	assert_int_equal(tap_tx_init(&e->c.tap.tx, 3 * 1004), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(tap_room(&e->c), (3 - i) * 1004);
		frame_fill(f, sizeof(f), i);
		assert_int_equal(tap_send(&e->c, f, sizeof(f)), 0);
	}
	assert_int_equal(tap_room(&e->c), 0);
	assert_int_equal(tap_send(&e->c, f, sizeof(f)), -ENOBUFS);
	assert_int_equal(e->c.tap.tx.dropped, 1);

	tap_flush(&e->c);
	sink_read(&k, SIZE_MAX);
	sink_check(&k, lens, 3);
	assert_int_equal(tap_room(&e->c), 3 * 1004);
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
	assert_int_equal(setsockopt(e->c.tap.fd, SOL_SOCKET, SO_SNDBUF,
				    &small, sizeof(small)), 0);
	for (i = 0; i < 500; i++) {
		frame_fill(f, sizeof(f), i);
		assert_int_equal(tap_send(&e->c, f, sizeof(f)), 0);
	}
	tap_flush(&e->c);
	assert_true(e->c.tap.tx.used > 0);	/* the socket is full */
	assert_true(e->c.tap.tx_waiting);
	assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1, 0), 0);

	sink_read(&k, SIZE_MAX);
	assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1, 1000), 1);
	assert_true(ev.events & EPOLLOUT);
	ref.u64 = ev.data.u64;
	assert_int_equal(ref.type, EPOLL_TYPE_TAP);
	assert_int_equal(ref.id, e->c.tap.fd);

	for (i = 0; i < 10000 && e->c.tap.tx.used; i++) {
		tap_flush(&e->c);
		sink_read(&k, SIZE_MAX);
	}
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_false(e->c.tap.tx_waiting);
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
 * each: every frame is handed to the frame handler once, in order, and
 * stays where it is until the batch handler, called after each read, is
 * done; the answers go out in order
 */
static void test_handler_stream(void **state)
{
	struct env *e = *state;
	uint8_t *in = malloc(200 * 46), out[200 * 64 + 1];
	size_t n = 200, len = 0, off, i, reads = 0;

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
		tap_handler(&e->c, EPOLLIN, &ops);
		reads++;
		assert_true(e->c.tap.fd >= 0);
		assert_int_equal(e->pending, 0);	/* batch after read */
		assert_int_equal(e->frames, off / 46);	/* whole ones */
	}
	assert_false(e->stale);
	assert_int_equal(e->frames, n);
	assert_int_equal(e->c.tap.frames, n);
	assert_int_equal(e->batches, reads);
	assert_true(e->c.tap.guest_mac_known);
	assert_false(tap_gone(&e->c));

	assert_int_equal(peer_read(e, out, sizeof(out)), n * 64);
	for (i = 0; i < n; i++) {
		assert_int_equal(get32(out + i * 64), 60);
		assert_int_equal(out[i * 64 + 4 + 20 + 1], 2);	/* reply */
		assert_int_equal(out[i * 64 + 4 + 28 + 3], (uint8_t)i);
	}
	free(in);
}

/* Many frames in one read, and the start of one more: handed in order,
 * all still in place, unchanged, when the batch handler runs, which it
 * does once for them (the partial frame is kept for later, but only once
 * they are done with); then the rest of the last one
 */
static void test_handler_batch(void **state)
{
	struct env *e = *state;
	static const size_t lens[] = { 60, 1514, 14, 342, 99, 64, 1000, 80 };
	size_t n = ARRAY_SIZE(lens), i, part;
	struct stream s;

	stream_make(&s, lens, n);
	part = s.end[n - 2] + 4 + 30;		/* 30 bytes of the last */
	peer_write(e, s.buf, part);
	tap_handler(&e->c, EPOLLIN, &ops);
	assert_int_equal(e->frames, n - 1);
	assert_int_equal(e->batches, 1);
	assert_false(e->stale);
	for (i = 0; i < n - 1; i++) {
		assert_int_equal(e->len[i], MIN(lens[i], sizeof(e->copy[0])));
		assert_int_equal(get32(e->copy[i]), i);
	}

	peer_write(e, s.buf + part, s.len - part);
	tap_handler(&e->c, EPOLLIN, &ops);
	assert_int_equal(e->frames, n);
	assert_int_equal(e->batches, 2);
	assert_false(e->stale);
	assert_int_equal(get32(e->copy[0]), n - 1);
	assert_int_equal(e->len[0], MIN(lens[n - 1], sizeof(e->copy[0])));
	stream_free(&s);
}

/* A bogus length from qemu ends the connection, once the frames before it
 * are done with (their batch handled: what they queued goes out first)
 */
static void test_handler_bad_length(void **state)
{
	struct env *e = *state;
	uint8_t in[4 + 42 + 4 + 20], out[256];

	put32(in, 42);
	arp_request(in + 4, bcast, guest_mac);
	put32(in + 46, 13);
	memset(in + 50, 0, 20);
	peer_write(e, in, sizeof(in));
	tap_handler(&e->c, EPOLLIN, &ops);

	assert_int_equal(e->c.tap.fd, -1);
	assert_false(tap_connected(&e->c));
	assert_int_equal(e->c.tap.frames, 1);
	assert_int_equal(e->frames, 1);
	assert_int_equal(e->batches, 1);
	assert_int_equal(e->pending, 0);
	assert_true(tap_gone(&e->c));
	assert_false(tap_gone(&e->c));			/* said once */
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

	tap_handler(&e->c, EPOLLIN | EPOLLRDHUP, &ops);
	if (e->c.tap.fd >= 0)		/* data first, end of stream next */
		tap_handler(&e->c, EPOLLIN | EPOLLRDHUP, &ops);
	assert_int_equal(e->c.tap.fd, -1);
	assert_int_equal(e->c.tap.frames, 1);
	assert_int_equal(e->frames, 1);
	assert_int_equal(e->pending, 0);
	assert_false(e->c.tap.guest_mac_known);
	assert_int_equal(e->c.tap.tx.used, 0);
	assert_true(tap_gone(&e->c));
	assert_false(tap_gone(&e->c));
	/* merd's end is closed, not just forgotten: qemu sees the end too */
	assert_int_equal(recv(e->peer, in, sizeof(in), MSG_DONTWAIT), 0);
}

/* listen_sock() - a listening AF_UNIX socket at an abstract address,
 * non-blocking, as tap_sock_init() makes them; @a set to its address
 */
static int listen_sock(struct sockaddr_un *a, socklen_t *alen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1,
		 "merd-test-tap-%d", (int)getpid());
	*alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			    strlen(a->sun_path + 1));
	assert_int_equal(bind(fd, (struct sockaddr *)a, *alen), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* client() - connect to the listening socket */
static int client(const struct sockaddr_un *a, socklen_t alen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)a, alen), 0);
	return fd;
}

/* tap_listen_handler(): a client becomes the guest connection, in the epoll
 * set; a second one is turned away while it is there; once it hung up, the
 * next replaces it, after what it sent was handled
 */
static void test_listen(void **state)
{
	struct env *e = *state;
	struct sockaddr_un a;
	struct epoll_event ev;
	union epoll_ref ref;
	socklen_t alen;
	int q1, q2, q3;
	uint8_t in[46], b;

	close(e->c.tap.fd);
	e->c.tap.fd = -1;
	e->c.tap.fd_listen = listen_sock(&a, &alen);
	strcpy(e->c.opts.sock_path, "@merd-test-tap");

	q1 = client(&a, alen);
	tap_listen_handler(&e->c, &ops);
	assert_true(tap_connected(&e->c));
	assert_int_equal(e->c.tap.frames, 0);
	put32(in, 42);
	arp_request(in + 4, bcast, guest_mac);
	assert_int_equal(write(q1, in, sizeof(in)), (ssize_t)sizeof(in));
	assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1, 1000), 1);
	ref.u64 = ev.data.u64;
	assert_int_equal(ref.type, EPOLL_TYPE_TAP);
	assert_int_equal(ref.id, e->c.tap.fd);
	tap_handler(&e->c, ev.events, &ops);
	assert_int_equal(e->frames, 1);

	/* A second client while the first is there: closed at once */
	q2 = client(&a, alen);
	tap_listen_handler(&e->c, &ops);
	assert_int_equal(ref.id, e->c.tap.fd);
	assert_int_equal(read(q2, &b, 1), 0);
	close(q2);

	/* The first sent a frame and went away: handled, then replaced */
	assert_int_equal(write(q1, in, sizeof(in)), (ssize_t)sizeof(in));
	close(q1);
	q3 = client(&a, alen);
	tap_listen_handler(&e->c, &ops);
	assert_int_equal(e->frames, 2);
	assert_int_equal(e->pending, 0);
	assert_true(tap_gone(&e->c));
	assert_true(tap_connected(&e->c));
	assert_int_equal(e->c.tap.frames, 0);
	assert_int_equal(write(q3, in, sizeof(in)), (ssize_t)sizeof(in));
	assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1, 1000), 1);
	tap_handler(&e->c, ev.events, &ops);
	assert_int_equal(e->frames, 3);
	assert_int_equal(e->c.tap.frames, 1);
	close(q3);
}

/* The registered buffer of the tests of frames queued by reference, as
 * fwd.c registers its raw receive buffers; with slack either side, so
 * that payloads just outside it are still memory; and the most bytes one
 * test streams to the peer
 */
#define REF_LEN		(2 << 20)
#define REF_SLACK	4096
#define REF_STREAM	(8 << 20)

/**
 * struct reft - a connected context with a registered buffer, and the
 *		 stream its peer should read, built as the test queues frames
 * @e:		environment (env_setup())
 * @area:	allocation: slack, the registered buffer, slack
 * @buf:	the registered buffer, REF_LEN bytes
 * @off:	where the next payload goes in @buf
 * @dst:	destination MAC address frames from tap_send_ip*() carry
 * @seq:	number of the next frame, for its pattern
 * @want:	the stream expected, REF_STREAM bytes
 * @want_len:	bytes in @want
 * @k:		what the peer read
 * @refs:	frames seen queued by reference
 */
struct reft {
	struct env *e;
	uint8_t *area;
	uint8_t *buf;
	size_t off;
	const uint8_t *dst;
	unsigned int seq;
	uint8_t *want;
	size_t want_len;
	struct sink k;
	unsigned long refs;
};

/* reft_init() - a test of frames by reference, its buffer registered if
 * @reg, the guest's MAC not known yet
 */
static void reft_init(struct reft *t, struct env *e, bool reg)
{
	memset(t, 0, sizeof(*t));
	t->e = e;
	t->area = calloc(1, REF_LEN + 2 * REF_SLACK);
	t->want = malloc(REF_STREAM);
	t->k.buf = malloc(REF_STREAM);
	assert_true(t->area && t->want && t->k.buf);
	t->buf = t->area + REF_SLACK;
	t->k.fd = e->peer;
	t->k.size = REF_STREAM;
	t->dst = bcast;
	if (reg)
		tap_ref_range(&e->c, t->buf, REF_LEN);
}

/* reft_free() - release what reft_init() allocated */
static void reft_free(struct reft *t)
{
	free(t->area);
	free(t->want);
	free(t->k.buf);
}

/* want_put() - @len more bytes of the stream expected */
static void want_put(struct reft *t, const void *p, size_t len)
{
	assert_true(t->want_len + len <= REF_STREAM);
	memcpy(t->want + t->want_len, p, len);
	t->want_len += len;
}

/* want_ip() - expect the packet in pieces @iov as tap_send_ip() frames it:
 * its length, Ethernet to @t->dst from merd, EtherType from the version
 */
static void want_ip(struct reft *t, const struct iovec *iov, int cnt)
{
	const uint8_t *ip = iov[0].iov_base;
	uint8_t eh[4 + 14];
	size_t len = 14;
	int i;

	for (i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	put32(eh, (uint32_t)len);
	memcpy(eh + 4, t->dst, ETH_ALEN);
	memcpy(eh + 4 + 6, our_mac, ETH_ALEN);
	put16(eh + 4 + 12, (ip[0] >> 4) == 6 ? 0x86dd : 0x0800);
	want_put(t, eh, sizeof(eh));
	for (i = 0; i < cnt; i++)
		want_put(t, iov[i].iov_base, iov[i].iov_len);
}

/* queue_pieces() - fill and queue with tap_send_ip_ref() the next packet:
 * an IP header of @hlen bytes (IPv6 if @v6), then the payload pieces @pl,
 * wherever they lie; and expect it
 *
 * Return: true if it was queued by reference
 */
static bool queue_pieces(struct reft *t, size_t hlen, bool v6,
			 const struct iovec *pl, int n)
{
	struct ctx *c = &t->e->c;
	struct iovec iov[4];
	int before = c->tap.ref.frames, i;
	uint8_t h[160];
	size_t j;

	assert_true(hlen && hlen <= sizeof(h) && n < 4);
	h[0] = v6 ? 0x60 : 0x45;
	for (j = 1; j < hlen; j++)
		h[j] = pat(t->seq, j);
	iov[0].iov_base = h;
	iov[0].iov_len = hlen;
	for (i = 0; i < n; i++) {
		uint8_t *p = pl[i].iov_base;

		for (j = 0; j < pl[i].iov_len; j++)
			p[j] = pat(t->seq ^ 0x5a5a, j + (size_t)i * 1000);
		iov[i + 1] = pl[i];
	}
	assert_int_equal(tap_send_ip_ref(c, iov, n + 1), 0);
	want_ip(t, iov, n + 1);
	memset(h, 0xee, sizeof(h));	/* headers are copied, always */
	t->seq++;
	if (c->tap.ref.frames != before + 1) {	/* copied, after them */
		assert_int_equal(c->tap.ref.frames, 0);
		return false;
	}
	t->refs++;
	return true;
}

/* queue_ref() - queue the next packet, its @plen bytes of payload in the
 * registered buffer, after the previous one's
 *
 * Return: true if it was queued by reference
 */
static bool queue_ref(struct reft *t, size_t plen, bool v6)
{
	struct iovec pl = { t->buf + t->off, plen };

	assert_true(t->off + plen <= REF_LEN);
	t->off += plen;
	return queue_pieces(t, v6 ? 40 : 20, v6, &pl, 1);
}

/* queue_copy() - queue the next packet with tap_send_ip(), its payload in
 * a buffer of its own, freed at once (AddressSanitizer tells if it was
 * kept)
 */
static void queue_copy(struct reft *t, size_t plen, bool v6)
{
	uint8_t h[40], *p = malloc(plen);
	struct iovec iov[2] = { { h, v6 ? 40 : 20 }, { p, plen } };
	size_t j;

	assert_non_null(p);
	h[0] = v6 ? 0x60 : 0x45;
	for (j = 1; j < sizeof(h); j++)
		h[j] = pat(t->seq, j);
	for (j = 0; j < plen; j++)
		p[j] = pat(t->seq ^ 0x5a5a, j);
	assert_int_equal(tap_send_ip(&t->e->c, iov, 2), 0);
	want_ip(t, iov, 2);
	free(p);
	t->seq++;
}

/* queue_frame() - queue the next frame, of @len bytes, with tap_send() */
static void queue_frame(struct reft *t, size_t len)
{
	uint8_t *f = malloc(len), l[4];

	assert_non_null(f);
	frame_fill(f, len, t->seq++);
	assert_int_equal(tap_send(&t->e->c, f, len), 0);
	put32(l, (uint32_t)len);
	want_put(t, l, sizeof(l));
	want_put(t, f, len);
	free(f);
}

/* reft_check() - the peer read exactly the stream expected so far */
static void reft_check(const struct reft *t)
{
	size_t i;

	if (t->k.len != t->want_len)
		fail_msg("peer read %zu bytes, %zu were queued", t->k.len,
			 t->want_len);
	if (!memcmp(t->k.buf, t->want, t->want_len))
		return;
	for (i = 0; t->k.buf[i] == t->want[i]; i++)
		;
	fail_msg("stream differs at byte %zu of %zu", i, t->want_len);
}

/* reft_drain() - flush and read until nothing is queued, then check what
 * the peer read; the registered buffer is free again
 */
static void reft_drain(struct reft *t)
{
	struct ctx *c = &t->e->c;
	int i;

	for (i = 0; i < 100000 && (c->tap.tx.used || c->tap.ref.frames);
	     i++) {
		tap_flush(c);
		sink_read(&t->k, SIZE_MAX);
	}
	assert_int_equal(c->tap.tx.used, 0);
	assert_int_equal(c->tap.ref.frames, 0);
	assert_false(c->tap.tx_waiting);
	sink_read(&t->k, SIZE_MAX);
	reft_check(t);
	t->off = 0;
}

/* small_sndbuf() - the smallest send buffer on merd's end: partial writes */
static void small_sndbuf(struct env *e)
{
	int one = 1;

	assert_int_equal(setsockopt(e->c.tap.fd, SOL_SOCKET, SO_SNDBUF, &one,
				    sizeof(one)), 0);
}

/* Frames queued by reference and by copy (tap_send_ip(), tap_send()), in
 * random orders, flushed in between or not, IPv4 and IPv6, before and
 * after the guest's MAC is known: the peer reads them byte for byte as
 * queued, each after its length, from merd's MAC to broadcast or to the
 * guest's; and a frame is referenced exactly when the ring is empty
 */
static void test_ref_interleave(void **state)
{
	struct env *e = *state;
	unsigned long copies = 0, frames = 0;
	struct reft t;
	unsigned int i;

	reft_init(&t, e, true);
	rng_seed(1025);
	for (i = 0; i < 600; i++) {
		size_t len = 1 + rng() % 1500;
		unsigned int op = rng() % 8;
		bool empty = !e->c.tap.tx.used;

		if (i == 300) {
			tap_learn_mac(&e->c, guest_mac);
			t.dst = guest_mac;
		}
		switch (op) {
		case 0: case 1: case 2: case 3:
			assert_int_equal(queue_ref(&t, len, op & 1), empty);
			break;
		case 4:
			queue_copy(&t, len, rng() % 2);
			copies++;
			break;
		case 5:
			queue_frame(&t, ETH_MIN_LEN + len - 1);
			frames++;
			break;
		case 6:		/* part of the queue written, no more */
			tap_flush(&e->c);
			sink_read(&t.k, SIZE_MAX);
			break;
		default:
			reft_drain(&t);
		}
	}
	reft_drain(&t);
	assert_true(t.refs > 50 && copies > 50 && frames > 50);
	reft_free(&t);
}

/* The socket takes only part of the frames queued by reference: the rest
 * is copied into the ring by tap_flush(), which arms EPOLLOUT; the receive
 * buffer can be overwritten right after (the next recvmmsg()) without
 * changing what the peer reads, all of it, in order, as it reads and the
 * ring is flushed again. The socket cuts the stream in other places in
 * each round: in a payload, a header, a length
 */
static void test_ref_partial(void **state)
{
	struct env *e = *state;
	struct epoll_event ev;
	unsigned int round;
	struct reft t;

	reft_init(&t, e, true);
	small_sndbuf(e);
	rng_seed(4608);
	for (round = 0; round < 16; round++) {
		unsigned int n = 30 + round, i;

		for (i = 0; i < n; i++)
			assert_true(queue_ref(&t, 1 + rng() % 1500,
					      rng() % 2));
		assert_int_equal(e->c.tap.ref.frames, n);
		assert_int_equal(e->c.tap.tx.used, 0);

		tap_flush(&e->c);
		assert_int_equal(e->c.tap.ref.frames, 0);
		assert_true(e->c.tap.tx.used > 0);
		assert_true(e->c.tap.tx_waiting);
		memset(t.buf, 0xa5, t.off);	/* the next recvmmsg() */

		if (!round) {
			assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1, 0),
					 0);
			sink_read(&t.k, SIZE_MAX);
			assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1,
						    1000), 1);
			assert_true(ev.events & EPOLLOUT);
		}
		reft_drain(&t);
	}
	assert_int_equal(epoll_wait(e->c.epollfd, &ev, 1, 0), 0);
	reft_free(&t);
}

/* queue_outside() - queue the next packet, its payload at @p, and tell
 * whether it was referenced; if not, overwrite the payload before it is
 * written: the peer must read it as it was
 */
static bool queue_outside(struct reft *t, uint8_t *p, size_t plen)
{
	struct iovec pl = { p, plen };

	if (queue_pieces(t, 20, false, &pl, 1))
		return true;
	memset(p, 0xc3, plen);
	return false;
}

/* Payloads not wholly in the registered buffer (before it, across its
 * start or its end, after it, elsewhere) are copied, and so is every
 * payload while no buffer is registered: overwritten after queuing, before
 * the write, the peer still reads what was queued. Headers longer than
 * the room kept for them are copied too; a payload in pieces, one outside,
 * as well. Wholly inside, to its very end, in one piece or more, frames
 * are referenced
 */
static void test_ref_outside(void **state)
{
	struct env *e = *state;
	uint8_t stack[300];
	struct iovec pl[3];
	struct reft t;
	uint8_t *b;

	reft_init(&t, e, false);
	b = t.buf;
	assert_null(e->c.tap.ref.lo);
	assert_false(queue_outside(&t, b, 200));
	assert_false(queue_outside(&t, b + REF_LEN / 2, 1500));
	reft_drain(&t);

	tap_ref_range(&e->c, b, REF_LEN);
	assert_false(queue_outside(&t, stack, sizeof(stack)));
	reft_drain(&t);
	assert_false(queue_outside(&t, b - 100, 20));		/* before */
	reft_drain(&t);
	assert_false(queue_outside(&t, b - 10, 20));		/* across */
	reft_drain(&t);
	assert_false(queue_outside(&t, b - 1, 2));
	reft_drain(&t);
	assert_false(queue_outside(&t, b + REF_LEN - 10, 20));	/* across */
	reft_drain(&t);
	assert_false(queue_outside(&t, b + REF_LEN - 1, 2));
	reft_drain(&t);
	assert_false(queue_outside(&t, b + REF_LEN, 20));	/* after */
	reft_drain(&t);
	assert_false(queue_outside(&t, b + REF_LEN + 100, 20));
	reft_drain(&t);

	/* Inside, at either end: referenced */
	assert_true(queue_outside(&t, b, 20));
	assert_true(queue_outside(&t, b + REF_LEN - 20, 20));
	reft_drain(&t);
	assert_true(queue_outside(&t, b + REF_LEN - 1, 1));
	reft_drain(&t);

	/* Headers: 120 bytes fit where they are copied, 121 don't */
	pl[0].iov_base = b;
	pl[0].iov_len = 100;
	assert_true(queue_pieces(&t, 120, true, pl, 1));
	reft_drain(&t);
	assert_false(queue_pieces(&t, 121, true, pl, 1));
	memset(b, 0xc3, 100);
	reft_drain(&t);

	/* Pieces: all inside, referenced; one outside, all copied */
	pl[0].iov_base = b + 1000;
	pl[0].iov_len = 300;
	pl[1].iov_base = b + 5000;
	pl[1].iov_len = 7;
	pl[2].iov_base = b;
	pl[2].iov_len = 1000;
	assert_true(queue_pieces(&t, 20, false, pl, 3));
	reft_drain(&t);
	pl[1].iov_base = stack;
	assert_false(queue_pieces(&t, 20, false, pl, 3));
	memset(b, 0xc3, 2000);
	memset(stack, 0xc3, sizeof(stack));
	reft_drain(&t);
	pl[1].iov_base = b + REF_LEN - 3;
	assert_false(queue_pieces(&t, 20, false, pl, 3));
	memset(b, 0xc3, 2000);
	memset(b + REF_LEN - 3, 0xc3, 7);
	reft_drain(&t);
	reft_free(&t);
}

/* While the ring holds what the socket didn't take, frames whose payload
 * could be referenced are copied behind it instead, in order (written from
 * where they lie, they would overtake it); whether what it holds was
 * copied or referenced in the first place. Once it is empty, they are
 * referenced again
 */
static void test_ref_behind_ring(void **state)
{
	struct env *e = *state;
	struct reft t;
	unsigned int i;

	reft_init(&t, e, true);
	small_sndbuf(e);
	for (i = 0; i < 40; i++)
		queue_frame(&t, 1000);
	tap_flush(&e->c);
	assert_true(e->c.tap.tx.used > 0);
	for (i = 0; i < 10; i++) {
		size_t before = e->c.tap.tx.used;

		assert_false(queue_ref(&t, 500 + i, i & 1));
		assert_int_equal(e->c.tap.tx.used,
				 before + 4 + 14 + (i & 1 ? 40 : 20) + 500 + i);
	}
	memset(t.buf, 0xa5, t.off);
	queue_frame(&t, 60);
	reft_drain(&t);

	/* Left in the ring by frames queued by reference */
	for (i = 0; i < 40; i++)
		assert_true(queue_ref(&t, 1000, false));
	tap_flush(&e->c);
	assert_int_equal(e->c.tap.ref.frames, 0);
	assert_true(e->c.tap.tx.used > 0);
	for (i = 0; i < 10; i++)
		assert_false(queue_ref(&t, 700 + i, i & 1));
	memset(t.buf, 0xa5, t.off);
	reft_drain(&t);

	/* The ring empty again */
	assert_true(queue_ref(&t, 100, false));
	reft_drain(&t);
	reft_free(&t);
}

/* TAP_REF_FRAMES frames by reference (twice the pieces a sendmsg() takes),
 * then one more: the batch is written, what the socket doesn't take is
 * copied into the ring, and the new frame goes behind it, as does the one
 * after; nothing lost or reordered, whether the socket takes the batch
 * whole (small frames) or not (large ones). Likewise once the pieces run
 * out, before the frames do
 */
static void test_ref_batch_full(void **state)
{
	static const size_t base[] = { 60, 1000 };
	struct env *e = *state;
	unsigned int round, i;
	struct reft t;

	reft_init(&t, e, true);
	for (round = 0; round < ARRAY_SIZE(base); round++) {
		size_t last = 4 + 14 + 20 + base[round];

		for (i = 0; i < TAP_REF_FRAMES; i++)
			assert_true(queue_ref(&t, base[round] + i % 64,
					      i & 1));
		assert_int_equal(e->c.tap.ref.frames, TAP_REF_FRAMES);
		assert_int_equal(e->c.tap.ref.niov, 2 * TAP_REF_FRAMES);
		assert_int_equal(e->c.tap.tx.used, 0);

		assert_false(queue_ref(&t, base[round], false));
		assert_int_equal(e->c.tap.ref.frames, 0);
		assert_true(e->c.tap.tx.used >= last);
		if (round)		/* more than the socket took */
			assert_true(e->c.tap.tx.used > last);
		assert_false(queue_ref(&t, base[round], true));
		assert_int_equal(e->c.tap.tx.dropped, 0);
		memset(t.buf, 0xa5, t.off);
		reft_drain(&t);
	}

	/* Payloads in two pieces: the room for pieces runs out first */
	for (i = 0; i <= 2 * TAP_REF_FRAMES / 3; i++) {
		struct iovec pl[2] = { { t.buf + t.off, 50 },
				       { t.buf + t.off + 50, 30 } };

		t.off += 80;
		assert_int_equal(queue_pieces(&t, 20, false, pl, 2),
				 i < 2 * TAP_REF_FRAMES / 3);
	}
	assert_int_equal(e->c.tap.ref.frames, 0);
	memset(t.buf, 0xa5, t.off);
	reft_drain(&t);
	reft_free(&t);
}

/* tap_room() counts the frames queued by reference; they are never dropped
 * for want of room in the ring: one that the ring couldn't take with them
 * is queued after them, by copy. A write error (the peer gone: EPIPE) ends
 * the connection, at tap_flush() or when a frame is copied behind them,
 * and leaves nothing queued
 */
static void test_ref_room_error(void **state)
{
	struct env *e = *state;
	struct ctx *c = &e->c;
	size_t room = TAP_TX_QUEUE;
	uint8_t h[20] = { 0x45 }, f[60] = { 0 };
	struct iovec iov[2] = { { h, sizeof(h) }, { NULL, 100 } };
	struct reft t;
	unsigned int i;
	int sv[2];

	reft_init(&t, e, true);
	assert_int_equal(tap_room(c), room);
	for (i = 0; i < 5; i++) {
		assert_true(queue_ref(&t, 100 * i + 1, false));
		room -= 4 + 14 + 20 + 100 * i + 1;
		assert_int_equal(tap_room(c), room);
	}
	queue_frame(&t, 60);		/* they are written first */
	assert_int_equal(c->tap.ref.frames, 0);
	assert_int_equal(tap_room(c), TAP_TX_QUEUE - 64);
	reft_drain(&t);
	assert_int_equal(tap_room(c), TAP_TX_QUEUE);

	/* A ring of three frames: the fourth waits for the three to go */
	free(c->tap.tx.buf);
	assert_int_equal(tap_tx_init(&c->tap.tx, 3 * 1004), 0);
	for (i = 0; i < 3; i++) {
		assert_true(queue_ref(&t, 966, false));
		assert_int_equal(tap_room(c), (2 - i) * 1004);
	}
	assert_false(queue_ref(&t, 966, false));
	assert_int_equal(c->tap.tx.dropped, 0);
	assert_int_equal(c->tap.tx.used, 1004);
	reft_drain(&t);

	/* The peer gone while frames wait by reference: tap_flush() */
	for (i = 0; i < 3; i++)
		assert_true(queue_ref(&t, 500, false));
	close(e->peer);
	e->peer = -1;
	tap_flush(c);
	assert_int_equal(c->tap.fd, -1);
	assert_true(tap_gone(c));
	assert_int_equal(c->tap.ref.frames, 0);
	assert_int_equal(c->tap.ref.niov, 0);
	assert_int_equal(c->tap.ref.bytes, 0);
	assert_int_equal(c->tap.tx.used, 0);
	assert_false(c->tap.tx_waiting);
	assert_int_equal(tap_room(c), c->tap.tx.size);
	iov[1].iov_base = t.buf;
	assert_int_equal(tap_send_ip_ref(c, iov, 2), -ENOTCONN);
	assert_int_equal(c->tap.ref.frames, 0);
	assert_int_equal(c->tap.tx.used, 0);

	/* ...or a frame queued by copy behind them */
	sock_pair(sv, 0);
	c->tap.fd = sv[0];
	e->peer = sv[1];
	assert_int_equal(epoll_ref_ctl(c->epollfd, EPOLL_CTL_ADD, c->tap.fd,
				       EPOLLIN | EPOLLRDHUP, EPOLL_TYPE_TAP,
				       c->tap.fd), 0);
	assert_int_equal(tap_send_ip_ref(c, iov, 2), 0);
	assert_int_equal(c->tap.ref.frames, 1);
	close(e->peer);
	e->peer = -1;
	assert_int_equal(tap_send(c, f, sizeof(f)), -ENOTCONN);
	assert_int_equal(c->tap.fd, -1);
	assert_true(tap_gone(c));
	assert_int_equal(c->tap.ref.frames, 0);
	assert_int_equal(c->tap.ref.bytes, 0);
	assert_int_equal(c->tap.tx.used, 0);
	assert_int_equal(tap_room(c), c->tap.tx.size);
	reft_free(&t);
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
		cmocka_unit_test_setup_teardown(test_learn_mac, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_send_ip, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_no_guest, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_send_full, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_flush_arms_epollout,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_handler_stream,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_handler_batch,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_handler_bad_length,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_handler_hangup,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_listen, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_ref_interleave,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_ref_partial, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_ref_outside, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_ref_behind_ring,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_ref_batch_full,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_ref_room_error,
						env_setup, env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
