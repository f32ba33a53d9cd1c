// SPDX-License-Identifier: GPL-2.0-or-later
/* pcap.c - capture of the frames between merd and the guest (-p, --pcap)
 *
 * Copyright (c) 2026 merd authors
 *
 * Every frame read from the guest's stream socket, and every frame queued
 * for it, goes to a file in the classic pcap format (nanosecond time stamps,
 * LINKTYPE_ETHERNET) that tcpdump, tshark and Wireshark read. Capturing
 * must never slow forwarding down: a frame is copied, with its record
 * header, into a ring allocated when the file is opened, and the ring is
 * written out by the main loop, at most once per iteration, with one
 * writev() on a non-blocking descriptor (a pipe or FIFO that is full is
 * tried again later). A frame the ring can't take is not captured, only
 * counted, and the counts are logged on SIGUSR1 and at exit.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>

#include "log.h"
#include "pcap.h"
#include "util.h"

/* The pcap file format: a file header, then a record header before each
 * frame, in the writer's byte order (the reader tells it from the magic)
 */
#define PCAP_MAGIC_NSEC		0xa1b23c4dU	/* time stamps in ns */
#define PCAP_VERSION_MAJOR	2
#define PCAP_VERSION_MINOR	4
#define PCAP_LINKTYPE_ETHERNET	1

/* At exit: attempts to write what waits, and how long each may wait for a
 * full pipe to take more (a regular file takes it all at once)
 */
#define PCAP_CLOSE_TRIES	16
#define PCAP_CLOSE_WAIT_MS	100

/**
 * struct pcap_file_hdr - the pcap file header
 * @magic:	PCAP_MAGIC_NSEC
 * @major:	PCAP_VERSION_MAJOR
 * @minor:	PCAP_VERSION_MINOR
 * @thiszone:	offset of the time stamps from UTC, always 0
 * @sigfigs:	their accuracy, always 0
 * @snaplen:	longest frame recorded whole
 * @linktype:	PCAP_LINKTYPE_ETHERNET
 */
struct pcap_file_hdr {
	uint32_t magic;
	uint16_t major;
	uint16_t minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

/**
 * struct pcap_rec_hdr - the header before each frame
 * @sec:	CLOCK_REALTIME when the frame was captured, seconds
 * @nsec:	and nanoseconds
 * @caplen:	bytes of the frame that follow, at most the snapshot length
 * @len:	length of the frame
 */
struct pcap_rec_hdr {
	uint32_t sec;
	uint32_t nsec;
	uint32_t caplen;
	uint32_t len;
};

_Static_assert(sizeof(struct pcap_file_hdr) == 24, "pcap file header");
_Static_assert(sizeof(struct pcap_rec_hdr) == 16, "pcap record header");

/**
 * pcap_open() - start a capture: create the file, write its header, and
 *		 allocate the ring
 * @p:		capture, set up on success, left off on failure
 * @path:	file, truncated if it exists, created 0600; not a symbolic
 *		link; kept for messages
 *
 * Return: 0 on success, -errno (nothing more is written to the file)
 */
int pcap_open(struct pcap *p, const char *path)
{
	const struct pcap_file_hdr h = {
		.magic = PCAP_MAGIC_NSEC,
		.major = PCAP_VERSION_MAJOR,
		.minor = PCAP_VERSION_MINOR,
		.snaplen = PCAP_SNAPLEN,
		.linktype = PCAP_LINKTYPE_ETHERNET,
	};
	ssize_t n;
	int fd;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK |
		  O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;

	n = write(fd, &h, sizeof(h));
	if (n != (ssize_t)sizeof(h)) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return -e;
	}

	p->buf = malloc(PCAP_BUF_SIZE);
	if (!p->buf) {
		close(fd);
		return -ENOMEM;
	}
	p->fd = fd;
	p->path = path;
	p->size = PCAP_BUF_SIZE;
	return 0;
}

/**
 * pcap_copy_in() - append bytes to the ring, wrapping around
 * @p:		capture, with at least @len bytes free in its ring
 * @data:	bytes
 * @len:	count
 */
static void pcap_copy_in(struct pcap *p, const void *data, size_t len)
{
	ring_copy_in(p->buf, p->size, p->head, &p->used, data, len);
}

/**
 * pcap_copy_piece() - append a piece of a frame, as much as the record
 *		       still takes
 * @p:		capture
 * @data:	the piece
 * @len:	its length
 * @left:	bytes of the record's frame still to append
 *
 * Return: bytes still to append after this piece
 */
static size_t pcap_copy_piece(struct pcap *p, const void *data, size_t len,
			      size_t left)
{
	size_t n = MIN(len, left);

	if (n)
		pcap_copy_in(p, data, n);
	return left - n;
}

/**
 * pcap_frame() - capture a frame crossing the guest's socket, if the ring
 *		  has room for all of its record, else count it
 * @p:		capture (nothing happens if it is off, or stopped)
 * @first:	first piece of the frame
 * @first_len:	its length
 * @iov:	further pieces, may be NULL
 * @cnt:	number of further pieces
 *
 * Frames longer than PCAP_SNAPLEN are recorded cut to it, with their
 * length. Called for every frame: no allocation, no message.
 */
void pcap_frame(struct pcap *p, const void *first, size_t first_len,
		const struct iovec *iov, int cnt)
{
	struct pcap_rec_hdr rh;
	struct timespec ts;
	size_t len = first_len, left;
	int i;

	if (!p->buf || p->failed)
		return;
	for (i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	left = MIN(len, (size_t)PCAP_SNAPLEN);
	if (p->size - p->used < sizeof(rh) + left) {
		p->lost++;
		p->lost_bytes += len;
		return;
	}

	clock_gettime(CLOCK_REALTIME, &ts);
	rh.sec = (uint32_t)ts.tv_sec;
	rh.nsec = (uint32_t)ts.tv_nsec;
	rh.caplen = (uint32_t)left;
	rh.len = (uint32_t)len;
	pcap_copy_in(p, &rh, sizeof(rh));
	left = pcap_copy_piece(p, first, first_len, left);
	for (i = 0; i < cnt && left; i++)
		left = pcap_copy_piece(p, iov[i].iov_base, iov[i].iov_len,
				       left);
	p->frames++;
}

/**
 * pcap_write() - write what waits in the ring, with one call
 * @p:		capture, on
 *
 * A write error stops the capture (one warning): the file is cut there.
 *
 * Return: bytes written, 0 if the file takes nothing now, -errno on error
 */
static ssize_t pcap_write(struct pcap *p)
{
	size_t first = MIN(p->used, p->size - p->head);
	struct iovec iov[2] = {
		{ p->buf + p->head, first },
		{ p->buf, p->used - first },
	};
	ssize_t n;

	n = writev(p->fd, iov, iov[1].iov_len ? 2 : 1);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		n = -errno;
		warn_perror("pcap: can't write %s, capture stopped", p->path);
		p->failed = true;
		return n;
	}

	p->head = (p->head + (size_t)n) % p->size;
	p->used -= (size_t)n;
	if (!p->used)
		p->head = 0;
	return n;
}

/**
 * pcap_flush() - write the ring out, once enough waits or once a second
 * @p:		capture (nothing happens if it is off, or stopped)
 * @now:	the loop's clock, seconds
 *
 * Called once per iteration of the main loop: one write, whatever it
 * takes of what waits; the rest waits for the next iteration.
 */
void pcap_flush(struct pcap *p, uint32_t now)
{
	if (!p->buf || p->failed || !p->used)
		return;
	if (p->used < PCAP_FLUSH_MIN && now == p->flushed)
		return;
	p->flushed = now;
	pcap_write(p);
}

/**
 * pcap_log_stats() - log what was captured and what wasn't (SIGUSR1)
 * @p:		capture (nothing is logged if it is off)
 */
void pcap_log_stats(const struct pcap *p)
{
	if (!p->buf)
		return;
	logmsg(LOG_NOTICE, "pcap: %lu frames captured to %s%s, %lu frames "
	       "(%llu bytes) not captured: buffer full", p->frames, p->path,
	       p->failed ? " (stopped: write error)" : "", p->lost,
	       p->lost_bytes);
}

/**
 * pcap_drain() - write everything the ring holds, at exit, waiting a
 *		  bounded time for a full pipe
 * @p:		capture, on
 */
static void pcap_drain(struct pcap *p)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
	int i;

	for (i = 0; i < PCAP_CLOSE_TRIES && p->used && !p->failed; i++) {
		if (!pcap_write(p) && poll(&pfd, 1, PCAP_CLOSE_WAIT_MS) < 0 &&
		    errno != EINTR)
			break;
	}
	if (p->used && !p->failed)
		warn("pcap: %zu bytes of captured frames not written to %s: "
		     "it takes no more, the file ends cut short", p->used,
		     p->path);
}

/**
 * pcap_close() - end a capture: write what waits, report, release
 * @p:		capture (nothing happens if it is off)
 */
void pcap_close(struct pcap *p)
{
	if (!p->buf)
		return;
	pcap_drain(p);
	if (p->lost)
		warn("pcap: %lu frames (%llu bytes) not captured: buffer full",
		     p->lost, p->lost_bytes);
	info("pcap: %lu frames captured to %s", p->frames, p->path);
	close(p->fd);
	free(p->buf);
	p->buf = NULL;
	p->fd = -1;
}
