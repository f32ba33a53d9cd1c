// SPDX-License-Identifier: GPL-2.0-or-later
/* test_pcap.c - unit tests for pcap.c: the capture file and its ring
 *
 * Copyright (c) 2026 merd authors
 *
 * Files are read back with a pcap reader written here from the format's
 * description (a 24-byte file header, then a 16-byte header before each
 * frame, all in the writer's byte order, the magic telling which), not
 * with pcap.c's structures. Frames carry their number and a pattern, so a
 * frame lost, cut, doubled or out of order shows. Everything happens in a
 * directory of the test's own, removed at the end.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "log.h"
#include "pcap.h"
#include "unit.h"

#define FILE_HDR_LEN	24
#define REC_HDR_LEN	16
#define MAGIC_NSEC	0xa1b23c4dU	/* nanosecond time stamps */
#define LINKTYPE_ETH	1
/* Largest Ethernet frame of qemu's stream: header and a 64 KiB packet */
#define FRAME_MAX	(14 + 65535)
/* A typical frame for filling the ring */
#define FRAME_FILL	1500
/* A pipe's smallest capacity (F_SETPIPE_SZ rounds up to a page) */
#define PIPE_SMALL	4096
#define NSEC_PER_SEC	1000000000LL

/**
 * struct rec - one record of a capture file, as read back
 * @sec:	time stamp, seconds
 * @nsec:	and nanoseconds
 * @caplen:	bytes of frame recorded
 * @len:	length of the frame
 * @data:	the bytes recorded, into the file's buffer
 */
struct rec {
	uint32_t sec, nsec, caplen, len;
	const uint8_t *data;
};

static char dir[] = "/tmp/merd-test-pcap-XXXXXX";

/* path_in() - @name in the test's directory, in a static buffer (one at a
 * time)
 */
static const char *path_in(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* u32_at(), u16_at() - host-order numbers at any alignment */
static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t u16_at(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* slurp() - the whole of a file, malloc()ed, its length in @len */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* file_size() - length of a file */
static size_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* check_file_hdr() - assert that @buf starts with the file header merd
 * promises: nanosecond magic, version 2.4, UTC, every frame whole, Ethernet
 */
static void check_file_hdr(const uint8_t *buf, size_t len)
{
	assert_true(len >= FILE_HDR_LEN);
	assert_int_equal(u32_at(buf), MAGIC_NSEC);
	assert_int_equal(u16_at(buf + 4), 2);
	assert_int_equal(u16_at(buf + 6), 4);
	assert_int_equal(u32_at(buf + 8), 0);
	assert_int_equal(u32_at(buf + 12), 0);
	assert_true(u32_at(buf + 16) >= FRAME_MAX);
	assert_int_equal(u32_at(buf + 20), LINKTYPE_ETH);
}

/* records() - split a capture file into records, failing on a record cut
 * short; returns their number, at most @max, and fills @r
 */
static size_t records(const uint8_t *buf, size_t len, struct rec *r,
		      size_t max)
{
	size_t off = FILE_HDR_LEN, n = 0;

	check_file_hdr(buf, len);
	while (off < len) {
		assert_true(n < max);
		assert_true(len - off >= REC_HDR_LEN);
		r[n].sec = u32_at(buf + off);
		r[n].nsec = u32_at(buf + off + 4);
		r[n].caplen = u32_at(buf + off + 8);
		r[n].len = u32_at(buf + off + 12);
		assert_true(r[n].nsec < NSEC_PER_SEC);
		assert_true(r[n].caplen <= r[n].len);
		off += REC_HDR_LEN;
		assert_true(len - off >= r[n].caplen);
		r[n].data = buf + off;
		off += r[n].caplen;
		n++;
	}
	return n;
}

/* pat() - byte @i of test frame @seq */
static uint8_t pat(uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 131 + i * 7 + (i >> 8));
}

/* frame_fill() - test frame @seq: its number, then a pattern */
static void frame_fill(uint8_t *f, size_t len, uint32_t seq)
{
	size_t i;

	put32(f, seq);
	for (i = 4; i < len; i++)
		f[i] = pat(seq, i);
}

/* check_rec() - assert that @r holds test frame @seq of length @len, cut
 * to @caplen bytes
 */
static void check_rec(const struct rec *r, uint32_t seq, size_t len,
		      size_t caplen)
{
	size_t i;

	assert_int_equal(r->len, len);
	assert_int_equal(r->caplen, caplen);
	assert_int_equal(get32(r->data), seq);
	for (i = 4; i < caplen; i++) {
		if (r->data[i] != pat(seq, i))
			fail_msg("frame %u corrupt at byte %zu", seq, i);
	}
}

/* ns_of() - a time as nanoseconds */
static long long ns_of(uint32_t sec, uint32_t nsec)
{
	return (long long)sec * NSEC_PER_SEC + nsec;
}

/* now_ns() - CLOCK_REALTIME, nanoseconds */
static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ns_of((uint32_t)ts.tv_sec, (uint32_t)ts.tv_nsec);
}

/* mono_ms() - CLOCK_MONOTONIC, milliseconds */
static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* push() - capture test frame @seq, @len bytes, in one piece */
static void push(struct pcap *p, uint32_t seq, size_t len)
{
	uint8_t *f = malloc(len);

	assert_non_null(f);
	frame_fill(f, len, seq);
	pcap_frame(p, f, len, NULL, 0);
	free(f);
}

/* The file: created 0600 whatever the umask, truncated, non-blocking,
 * closed on exec, and its header the format's
 */
static void test_file_header(void **state)
{
	const char *path = path_in("hdr.pcap");
	struct pcap p;
	struct stat st;
	uint8_t *buf;
	size_t len;
	mode_t old;
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("an old capture, longer than a pcap file header, to be cut", f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	unlink(path_in("new.pcap"));

	old = umask(0);
	assert_int_equal(pcap_open(&p, path), 0);
	assert_true((fcntl(p.fd, F_GETFL) & O_NONBLOCK) != 0);
	assert_true((fcntl(p.fd, F_GETFD) & FD_CLOEXEC) != 0);
	pcap_close(&p);
	assert_int_equal(pcap_open(&p, path_in("new.pcap")), 0);
	pcap_close(&p);
	umask(old);

	assert_int_equal(stat(path_in("new.pcap"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf = slurp(path, &len);
	assert_int_equal(len, FILE_HDR_LEN);
	check_file_hdr(buf, len);
	free(buf);
}

/* Records: time stamps of the real-time clock, in order; a frame given in
 * pieces recorded as one; lengths; the bytes
 */
static void test_records(void **state)
{
	const char *path = path_in("rec.pcap");
	uint8_t a[60], b[1514], tiny[14];
	struct iovec iov[2] = { { b + 14, 700 }, { b + 714, 800 } };
	long long t0, t1, prev = 0;
	struct rec r[4];
	struct pcap p;
	uint8_t *buf;
	size_t len, n, i;

	(void)state;
	frame_fill(a, sizeof(a), 0);
	frame_fill(b, sizeof(b), 1);
	frame_fill(tiny, sizeof(tiny), 2);

	assert_int_equal(pcap_open(&p, path), 0);
	t0 = now_ns();
	pcap_frame(&p, a, sizeof(a), NULL, 0);
	pcap_frame(&p, b, 14, iov, 2);
	pcap_frame(&p, tiny, sizeof(tiny), NULL, 0);
	t1 = now_ns();
	assert_int_equal(p.frames, 3);
	assert_int_equal(p.lost, 0);
	pcap_close(&p);

	buf = slurp(path, &len);
	n = records(buf, len, r, 4);
	assert_int_equal(n, 3);
	check_rec(&r[0], 0, sizeof(a), sizeof(a));
	check_rec(&r[1], 1, sizeof(b), sizeof(b));
	check_rec(&r[2], 2, sizeof(tiny), sizeof(tiny));
	for (i = 0; i < n; i++) {
		long long t = ns_of(r[i].sec, r[i].nsec);

		assert_true(t >= t0 && t <= t1);
		assert_true(t >= prev);
		prev = t;
	}
	free(buf);
}

/* A frame longer than the snapshot length is cut to it, keeping its
 * length; frames up to it are whole; the next record follows
 */
static void test_snaplen_cut(void **state)
{
	const size_t big = PCAP_SNAPLEN + 1000;
	const char *path = path_in("cut.pcap");
	uint8_t *f = malloc(big);
	struct iovec iov[2] = { { f + 14, 40000 }, { f + 40014, big - 40014 } };
	struct rec r[4];
	struct pcap p;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_non_null(f);
	assert_true(PCAP_SNAPLEN >= FRAME_MAX);
	assert_int_equal(pcap_open(&p, path), 0);
	frame_fill(f, big, 7);
	pcap_frame(&p, f, 14, iov, 2);
	push(&p, 8, PCAP_SNAPLEN);
	push(&p, 9, 64);
	pcap_close(&p);

	buf = slurp(path, &len);
	assert_int_equal(records(buf, len, r, 4), 3);
	check_rec(&r[0], 7, big, PCAP_SNAPLEN);
	check_rec(&r[1], 8, PCAP_SNAPLEN, PCAP_SNAPLEN);
	check_rec(&r[2], 9, 64, 64);
	free(buf);
	free(f);
}

/* Written once PCAP_FLUSH_MIN waits, or once the second changed; less
 * waits in the ring
 */
static void test_flush_policy(void **state)
{
	const char *path = path_in("flush.pcap");
	const size_t rec = REC_HDR_LEN + 100;
	uint32_t seq = 0;
	struct pcap p;
	size_t i;

	(void)state;
	assert_int_equal(pcap_open(&p, path), 0);
	push(&p, seq++, 100);
	pcap_flush(&p, 100);
	assert_int_equal(file_size(path), FILE_HDR_LEN + rec);

	push(&p, seq++, 100);
	pcap_flush(&p, 100);
	assert_int_equal(file_size(path), FILE_HDR_LEN + rec);
	pcap_flush(&p, 101);
	assert_int_equal(file_size(path), FILE_HDR_LEN + 2 * rec);

	for (i = 0; i < PCAP_FLUSH_MIN / rec; i++)
		push(&p, seq++, 100);
	pcap_flush(&p, 101);
	assert_int_equal(file_size(path), FILE_HDR_LEN + 2 * rec);
	push(&p, seq++, 100);
	pcap_flush(&p, 101);
	assert_int_equal(file_size(path), FILE_HDR_LEN + seq * rec);
	assert_int_equal(p.used, 0);
	pcap_close(&p);
}

/* A full ring: frames that don't fit, all of their record, are counted,
 * frames and bytes, and leave no trace; a smaller one that fits is taken;
 * once written, there is room again
 */
static void test_buffer_full(void **state)
{
	const size_t rec = REC_HDR_LEN + FRAME_FILL;
	const size_t fit = PCAP_BUF_SIZE / rec, extra = 25;
	const char *path = path_in("full.pcap");
	size_t left, small, len, n, i;
	struct rec *r = calloc(fit + 3, sizeof(*r));
	struct pcap p;
	uint8_t *buf;

	(void)state;
	assert_non_null(r);
	assert_int_equal(pcap_open(&p, path), 0);
	for (i = 0; i < fit + extra; i++)
		push(&p, (uint32_t)i, FRAME_FILL);
	assert_int_equal(p.frames, fit);
	assert_int_equal(p.lost, extra);
	assert_int_equal(p.lost_bytes, extra * FRAME_FILL);
	assert_int_equal(p.used, fit * rec);

	/* What room is left takes a frame exactly its size, no more */
	left = PCAP_BUF_SIZE - fit * rec;
	assert_true(left >= REC_HDR_LEN + 4);
	small = left - REC_HDR_LEN;
	push(&p, 100000, small + 1);
	assert_int_equal(p.lost, extra + 1);
	assert_int_equal(p.lost_bytes, extra * FRAME_FILL + small + 1);
	push(&p, 100001, small);
	assert_int_equal(p.used, PCAP_BUF_SIZE);
	assert_int_equal(p.frames, fit + 1);

	pcap_flush(&p, 1);
	assert_int_equal(p.used, 0);
	push(&p, 100002, FRAME_FILL);
	assert_int_equal(p.frames, fit + 2);
	assert_int_equal(p.lost, extra + 1);
	pcap_log_stats(&p);
	pcap_close(&p);

	buf = slurp(path, &len);
	n = records(buf, len, r, fit + 3);
	assert_int_equal(n, fit + 2);
	for (i = 0; i < fit; i++)
		check_rec(&r[i], (uint32_t)i, FRAME_FILL, FRAME_FILL);
	check_rec(&r[fit], 100001, small, small);
	check_rec(&r[fit + 1], 100002, FRAME_FILL, FRAME_FILL);
	free(buf);
	free(r);
}

/* fifo_read() - read what a FIFO holds now, appending to @out */
static size_t fifo_read(int fd, uint8_t *out, size_t off, size_t size)
{
	ssize_t n;

	while (off < size && (n = read(fd, out + off, size - off)) > 0)
		off += (size_t)n;
	return off;
}

/* A FIFO whose reader is slow: flushing never waits for it, the ring
 * wraps around partial writes, and the reader gets every record whole and
 * in order
 */
static void test_slow_reader(void **state)
{
	const size_t fit = PCAP_BUF_SIZE / (REC_HDR_LEN + FRAME_FILL);
	const size_t rounds = 4 * PCAP_BUF_SIZE / PIPE_SMALL, extra = 100;
	const size_t max = fit + extra + rounds, size = 4 * PCAP_BUF_SIZE;
	const char *path = path_in("slow.fifo");
	uint8_t *out = malloc(size);
	struct rec *r = calloc(max, sizeof(*r));
	size_t got = 0, i, n, lost;
	uint32_t seq = 0;
	struct pcap p;
	long long t;
	int rd;

	(void)state;
	assert_non_null(out);
	assert_non_null(r);
	assert_int_equal(mkfifo(path, 0600), 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_true(fcntl(rd, F_SETPIPE_SZ, PIPE_SMALL) >= PIPE_SMALL);
	assert_int_equal(pcap_open(&p, path), 0);

	/* The pipe is full at once: a flush writes a little, returns, and
	 * the ring fills up
	 */
	for (i = 0; i < fit; i++)
		push(&p, seq++, FRAME_FILL);
	t = mono_ms();
	for (i = 0; i < extra; i++) {
		pcap_flush(&p, (uint32_t)i);
		push(&p, seq++, FRAME_FILL);
	}
	assert_true(mono_ms() - t < 100);
	assert_true(p.used > PCAP_BUF_SIZE - PIPE_SMALL);
	lost = p.lost;
	assert_true(lost > extra / 2);

	/* Then the reader takes a pipe's worth at a time */
	for (i = 0; i < rounds; i++) {
		got = fifo_read(rd, out, got, size);
		push(&p, seq++, sizeof(uint32_t) + rng() % FRAME_FILL);
		pcap_flush(&p, (uint32_t)i);
	}
	assert_int_equal(p.lost, lost);
	for (i = 0; i < rounds && p.used; i++) {
		got = fifo_read(rd, out, got, size);
		pcap_flush(&p, (uint32_t)i);
	}
	assert_int_equal(p.used, 0);
	pcap_close(&p);
	got = fifo_read(rd, out, got, size);
	close(rd);

	/* Every frame is there but those counted, in order, intact */
	n = records(out, got, r, max);
	assert_int_equal(n + lost, seq);
	for (i = 1; i < n; i++)
		assert_true(get32(r[i].data) > get32(r[i - 1].data));
	for (i = 0; i < n; i++)
		check_rec(&r[i], get32(r[i].data), r[i].len, r[i].len);
	free(out);
	free(r);
}

/* expect_off() - assert that a capture is off and stays so */
static void expect_off(struct pcap *p)
{
	uint8_t f[64] = { 0 };

	assert_null(p->buf);
	pcap_frame(p, f, sizeof(f), NULL, 0);
	pcap_flush(p, 1);
	pcap_log_stats(p);
	assert_int_equal(p->frames, 0);
	assert_int_equal(p->lost, 0);
	pcap_close(p);
}

/* Where the file can't be opened, or its header can't be written: an
 * error, nothing written, nothing touched, the capture off
 */
static void test_open_errors(void **state)
{
	const char keep[] = "not a capture";
	char target[PATH_MAX];
	struct pcap p;
	uint8_t *buf;
	size_t len;
	FILE *f;

	(void)state;
	f = fopen(path_in("target"), "w");
	assert_non_null(f);
	fputs(keep, f);
	fclose(f);
	snprintf(target, sizeof(target), "%s", path_in("target"));
	assert_int_equal(symlink(target, path_in("link.pcap")), 0);
	assert_int_equal(mkdir(path_in("dir.pcap"), 0700), 0);
	assert_int_equal(mkfifo(path_in("unread.fifo"), 0600), 0);

	assert_int_equal(pcap_open(&p, path_in("link.pcap")), -ELOOP);
	expect_off(&p);
	buf = slurp(path_in("target"), &len);
	assert_int_equal(len, strlen(keep));
	assert_memory_equal(buf, keep, len);
	free(buf);

	assert_int_equal(pcap_open(&p, path_in("dir.pcap")), -EISDIR);
	expect_off(&p);
	assert_int_equal(pcap_open(&p, path_in("no/such.pcap")), -ENOENT);
	expect_off(&p);
	/* O_NONBLOCK: a FIFO nobody reads is refused, not waited for */
	assert_int_equal(pcap_open(&p, path_in("unread.fifo")), -ENXIO);
	expect_off(&p);
	assert_int_equal(pcap_open(&p, "/dev/full"), -ENOSPC);
	expect_off(&p);
}

/* A write error stops the capture there: later frames aren't taken, and
 * nothing more is written
 */
static void test_write_error_stops(void **state)
{
	const char *path = path_in("err.pcap");
	int full = open("/dev/full", O_WRONLY);
	struct pcap p;

	(void)state;
	assert_true(full >= 0);
	assert_int_equal(pcap_open(&p, path), 0);
	push(&p, 0, 100);
	assert_true(dup2(full, p.fd) == p.fd);
	close(full);
	pcap_flush(&p, 1);
	assert_true(p.failed);
	push(&p, 1, 100);
	assert_int_equal(p.frames, 1);
	pcap_flush(&p, 2);
	pcap_close(&p);
	assert_null(p.buf);
	assert_int_equal(file_size(path), FILE_HDR_LEN);
}

/* A capture zeroed with its context, never opened, is off: descriptor 0
 * is never touched
 */
static void test_zeroed_is_off(void **state)
{
	bool open0 = fcntl(0, F_GETFD) >= 0;
	struct pcap p;

	(void)state;
	memset(&p, 0, sizeof(p));
	expect_off(&p);
	assert_int_equal(fcntl(0, F_GETFD) >= 0, open0);
}

/* setup() - the test's directory; quiet info messages */
static int setup(void **state)
{
	(void)state;
	log_init(false, false);
	log_quiet_set();
	rng_seed(0x9ca9);
	return mkdtemp(dir) ? 0 : -1;
}

/* teardown() - remove the test's directory */
static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_header),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_snaplen_cut),
		cmocka_unit_test(test_flush_policy),
		cmocka_unit_test(test_buffer_full),
		cmocka_unit_test(test_slow_reader),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_write_error_stops),
		cmocka_unit_test(test_zeroed_is_off),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
