/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcap.h - capture of the frames between merd and the guest (-p, --pcap)
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef PCAP_H
#define PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "tap.h"

/* Records (header and frame) waiting to be written: the capture's whole
 * memory, allocated when the file is opened. Over a second of a guest
 * sending at a few tens of Mbit/s, or a burst of sixty-odd largest frames
 */
#define PCAP_BUF_SIZE	((size_t)4 * 1024 * 1024)
/* Write as soon as this much waits; less waits at most until the next
 * second (the loop's timer wakes it once a second)
 */
#define PCAP_FLUSH_MIN	((size_t)64 * 1024)
/* Longest frame kept whole: every frame of the stream */
#define PCAP_SNAPLEN	TAP_FRAME_MAX

/**
 * struct pcap - a capture to a file, off while @buf is NULL
 * @fd:		the file, O_NONBLOCK
 * @path:	its path, for messages
 * @buf:	ring of records waiting to be written, PCAP_BUF_SIZE bytes
 * @size:	size of @buf
 * @head:	offset in @buf of the first byte not yet written
 * @used:	bytes waiting in @buf
 * @flushed:	the second (of the loop's clock) of the last write
 * @failed:	a write failed: the capture stopped there
 * @frames:	frames captured (put in @buf)
 * @lost:	frames not captured: @buf was full
 * @lost_bytes:	their length, in bytes
 */
struct pcap {
	int fd;
	const char *path;
	uint8_t *buf;
	size_t size;
	size_t head;
	size_t used;
	uint32_t flushed;
	bool failed;
	unsigned long frames;
	unsigned long lost;
	unsigned long long lost_bytes;
};

int pcap_open(struct pcap *p, const char *path);
void pcap_frame(struct pcap *p, const void *first, size_t first_len,
		const struct iovec *iov, int cnt);
void pcap_flush(struct pcap *p, uint32_t now);
void pcap_log_stats(const struct pcap *p);
void pcap_close(struct pcap *p);

#endif /* PCAP_H */
