/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pkt.h - bounds-checked access to frames from the guest or the network
 *
 * Copyright (c) 2026 merd authors
 *
 * Frames are never read by casting pointers into them: they are hostile
 * and unaligned. A header is copied out with pkt_get(), which fails when
 * the range isn't inside the frame, and the caller then drops the frame.
 */

#ifndef PKT_H
#define PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/**
 * struct pkt - a view of bytes received
 * @p:		first byte
 * @len:	number of bytes
 */
struct pkt {
	const uint8_t *p;
	size_t len;
};

/**
 * pkt_in() - tell whether a range lies inside a view
 * @v:		view
 * @off:	offset of the range
 * @n:		length of the range
 *
 * Return: true if [off, off + n) is inside @v, without overflow
 */
static inline bool pkt_in(struct pkt v, size_t off, size_t n)
{
	return off <= v.len && n <= v.len - off;
}

/**
 * pkt_get() - copy a range out of a view
 * @v:		view
 * @off:	offset of the range
 * @dst:	destination
 * @n:		length of the range
 *
 * Return: true if copied, false if the range isn't inside @v
 */
static inline bool pkt_get(struct pkt v, size_t off, void *dst, size_t n)
{
	if (!pkt_in(v, off, n))
		return false;
	memcpy(dst, v.p + off, n);
	return true;
}

/**
 * pkt_sub() - narrow a view to a range of it
 * @v:		view
 * @off:	offset of the range
 * @n:		length of the range
 * @out:	narrowed view, set on success
 *
 * Return: true on success, false if the range isn't inside @v
 */
static inline bool pkt_sub(struct pkt v, size_t off, size_t n, struct pkt *out)
{
	if (!pkt_in(v, off, n))
		return false;
	out->p = v.p + off;
	out->len = n;
	return true;
}

/**
 * pkt_tail() - the part of a view from an offset to its end
 * @v:		view
 * @off:	offset
 * @out:	narrowed view, set on success
 *
 * Return: true on success, false if @off is past the end of @v
 */
static inline bool pkt_tail(struct pkt v, size_t off, struct pkt *out)
{
	if (off > v.len)
		return false;
	out->p = v.p + off;
	out->len = v.len - off;
	return true;
}

/**
 * struct wpkt - a view of bytes merd owns and may rewrite: copies of
 *		 headers, and its receive buffers
 * @p:		first byte
 * @len:	number of bytes
 */
struct wpkt {
	uint8_t *p;
	size_t len;
};

/**
 * wpkt_ro() - the read-only view of writable bytes
 * @w:		writable view
 *
 * Return: the same bytes, as a struct pkt
 */
static inline struct pkt wpkt_ro(struct wpkt w)
{
	struct pkt v = { w.p, w.len };

	return v;
}

/**
 * wpkt_put() - copy bytes into a range of a writable view
 * @w:		view
 * @off:	offset of the range
 * @src:	bytes
 * @n:		length of the range
 *
 * Return: true if copied, false if the range isn't inside @w
 */
static inline bool wpkt_put(struct wpkt w, size_t off, const void *src,
			    size_t n)
{
	if (!pkt_in(wpkt_ro(w), off, n))
		return false;
	memcpy(w.p + off, src, n);
	return true;
}

/**
 * wpkt_tail() - the part of a writable view from an offset to its end
 * @w:		view
 * @off:	offset
 * @out:	narrowed view, set on success
 *
 * Return: true on success, false if @off is past the end of @w
 */
static inline bool wpkt_tail(struct wpkt w, size_t off, struct wpkt *out)
{
	if (off > w.len)
		return false;
	out->p = w.p + off;
	out->len = w.len - off;
	return true;
}

#endif /* PKT_H */
