/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.h - small helpers every unit may use
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef UTIL_H
#define UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_ether.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

/* Offset of the flags byte in a TCP header (RFC 9293 3.1) */
#define TCP_OFF_FLAGS	13

/* "52:54:00:12:34:56" and its terminator */
#define MAC_STRLEN	18

/**
 * prefix4_mask() - IPv4 netmask of a prefix length
 * @len:	prefix length, 0 to 32
 *
 * Return: the mask, host order
 */
static inline uint32_t prefix4_mask(int len)
{
	return len <= 0 ? 0 : len >= 32 ? 0xffffffffU : ~0U << (32 - len);
}

/**
 * struct mac_str - a MAC address as text, returned by value
 * @s:		the text
 */
struct mac_str {
	char s[MAC_STRLEN];
};

/**
 * mac_ntop() - a MAC address as text, without a shared buffer
 * @mac:	address, ETH_ALEN bytes
 *
 * Return: text, valid until the end of the caller's full expression
 */
static inline struct mac_str mac_ntop(const uint8_t *mac)
{
	struct mac_str m;

	snprintf(m.s, sizeof(m.s), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	return m;
}

/**
 * iov_const() - a pointer to read-only bytes, for an iovec that only
 *		 reads them (writev(), sendmsg(), the transmit ring)
 * @p:		bytes
 *
 * Return: @p, without const
 */
static inline void *iov_const(const void *p)
{
	union {
		const void *c;
		void *v;
	} u = { .c = p };

	return u.v;
}

/**
 * ring_copy_in() - append bytes to a ring buffer, wrapping around
 * @buf:	the ring
 * @size:	its size
 * @head:	offset of its oldest byte
 * @used:	bytes in it, at least @len fewer than @size; grows by @len
 * @data:	bytes
 * @len:	count
 */
static inline void ring_copy_in(uint8_t *buf, size_t size, size_t head,
				size_t *used, const void *data, size_t len)
{
	size_t tail = (head + *used) % size;
	size_t first = MIN(len, size - tail);

	memcpy(buf + tail, data, first);
	memcpy(buf, (const uint8_t *)data + first, len - first);
	*used += len;
}

#endif /* UTIL_H */
