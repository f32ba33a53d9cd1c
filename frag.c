// SPDX-License-Identifier: GPL-2.0-or-later
/* frag.c - IPv4 fragments: reassembly of the guest's, and fragmentation
 *
 * Copyright (c) 2026 merd authors
 *
 * Only the first fragment of a datagram carries its ports: later ones
 * can't be matched to a flow. So merd reassembles what the guest sends in
 * fragments (RFC 791 3.2, "reassembly"), keyed by source, destination,
 * protocol and identification, before looking at ports, and forwards the
 * whole datagram, fragmented again if it doesn't fit the uplink. A datagram
 * whose fragments overlap is dropped whole, as Linux does since 4.19 (the
 * overlap is how fragment attacks work); one that isn't complete after
 * FRAG_TIMEOUT seconds is forgotten. At most FRAG_SLOTS datagrams are
 * reassembled at once, in buffers allocated at start-up.
 *
 * The other way, the kernel has reassembled whatever raw sockets return;
 * a datagram larger than the guest's MTU is fragmented for it here.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/ip.h>

#include "csum.h"
#include "frag.h"
#include "ip4.h"
#include "util.h"

/* Room for the largest IPv4 header in front of the payload */
#define FRAG_HDR_ROOM	60
#define FRAG_BLOCKS	((FRAG_DGRAM_MAX + FRAG_UNIT - 1) / FRAG_UNIT)
#define FRAG_SLOT_MEM	(FRAG_HDR_ROOM + FRAG_DGRAM_MAX + FRAG_BLOCKS / 8 + 1)

/**
 * frag_init() - allocate the reassembly buffers
 * @f:		reassembly state
 *
 * Return: 0 on success, -ENOMEM
 */
int frag_init(struct frag *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	f->mem = malloc((size_t)FRAG_SLOTS * FRAG_SLOT_MEM);
	if (!f->mem)
		return -ENOMEM;
	for (i = 0; i < FRAG_SLOTS; i++) {
		f->slot[i].buf = f->mem + (size_t)i * FRAG_SLOT_MEM;
		f->slot[i].map = f->slot[i].buf + FRAG_HDR_ROOM +
				 FRAG_DGRAM_MAX;
	}
	return 0;
}

/**
 * frag_free() - release the reassembly buffers
 * @f:		reassembly state
 */
void frag_free(struct frag *f)
{
	free(f->mem);
	f->mem = NULL;
}

/**
 * frag_slot_reset() - forget a datagram
 * @s:		its slot
 */
static void frag_slot_reset(struct frag_slot *s)
{
	s->used = false;
	s->total = s->got = s->end = s->hlen = 0;
	memset(s->map, 0, FRAG_BLOCKS / 8 + 1);
}

/**
 * frag_slot_get() - find the slot of a datagram, or take one for it
 * @f:		reassembly state
 * @ip:		a fragment
 * @now:	current time, seconds
 *
 * Return: slot; the one reassembling the oldest datagram if all are used
 */
static struct frag_slot *frag_slot_get(struct frag *f, const struct ip_view *ip,
				       uint32_t now)
{
	uint32_t saddr = inany_v4(&ip->src), daddr = inany_v4(&ip->dst);
	struct frag_slot *s, *pick = NULL;
	int i;

	for (i = 0; i < FRAG_SLOTS; i++) {
		s = &f->slot[i];
		if (s->used && s->saddr == saddr && s->daddr == daddr &&
		    s->id == ip->id && s->proto == ip->proto)
			return s;
		if (!pick || (pick->used && (!s->used ||
		    (int32_t)(s->expires - pick->expires) < 0)))
			pick = s;
	}

	frag_slot_reset(pick);
	pick->used = true;
	pick->saddr = saddr;
	pick->daddr = daddr;
	pick->id = ip->id;
	pick->proto = ip->proto;
	pick->expires = now + FRAG_TIMEOUT;
	return pick;
}

/**
 * frag_blocks_take() - mark blocks received, failing on any overlap
 * @s:		slot
 * @first:	first block
 * @last:	last block, inclusive
 *
 * Return: 0, or -1 if a block was already there
 */
static int frag_blocks_take(struct frag_slot *s, size_t first, size_t last)
{
	size_t b;

	for (b = first; b <= last; b++)
		if (s->map[b / 8] & (1U << (b % 8)))
			return -1;
	for (b = first; b <= last; b++)
		s->map[b / 8] |= (uint8_t)(1U << (b % 8));
	return 0;
}

/**
 * frag_complete() - write the header of a whole datagram
 * @s:		slot with every fragment
 * @out:	set to the datagram, from its header
 */
static void frag_complete(struct frag_slot *s, struct pkt *out)
{
	uint8_t *ip = s->buf + FRAG_HDR_ROOM - s->hlen;
	struct iphdr ih;

	memcpy(&ih, ip, sizeof(ih));
	ih.frag_off &= htons((uint16_t)~(IP_MF | IP_OFFMASK));
	ih.tot_len = htons((uint16_t)(s->hlen + s->total));
	ih.check = 0;
	memcpy(ip, &ih, sizeof(ih));
	ih.check = csum_ip4_header(ip, s->hlen);
	memcpy(ip, &ih, sizeof(ih));

	out->p = ip;
	out->len = s->hlen + s->total;
}

/**
 * frag_in() - take a fragment from the guest
 * @f:		reassembly state
 * @ip:		fragment, checked by ip4_parse()
 * @now:	current time, seconds
 * @out:	set to the whole datagram, from its IPv4 header, when this
 *		fragment completes it
 *
 * The datagram stays valid until frag_done() or the next frag_in().
 *
 * Return: 1 if complete, 0 if more fragments are awaited, -1 if the
 *	   fragment (and its datagram) was dropped
 */
int frag_in(struct frag *f, const struct ip_view *ip, uint32_t now,
	    struct pkt *out)
{
	size_t hlen = ip->hdr.len, off = ip->frag, n = ip->l4.len;
	struct frag_slot *s;

	/* RFC 791: all but the last carry a multiple of 8 bytes */
	if (!n || (ip->mf && n % FRAG_UNIT) ||
	    off + n + hlen > FRAG_DGRAM_MAX)
		return -1;

	s = frag_slot_get(f, ip, now);
	/* The last fragment sets the length: nothing may lie past it, be it
	 * received before or after (or the bytes past it would stand in for a
	 * hole when counting)
	 */
	if ((!ip->mf && (s->total ? s->total != off + n : s->end > off + n)) ||
	    (s->total && off + n > s->total) ||
	    frag_blocks_take(s, off / FRAG_UNIT, (off + n - 1) / FRAG_UNIT)) {
		frag_slot_reset(s);
		return -1;
	}

	if (!ip->mf)
		s->total = off + n;
	if (!off) {
		s->hlen = hlen;
		memcpy(s->buf + FRAG_HDR_ROOM - hlen, ip->hdr.p, hlen);
	}
	memcpy(s->buf + FRAG_HDR_ROOM + off, ip->l4.p, n);
	s->got += n;
	if (off + n > s->end)
		s->end = off + n;

	if (!s->total || s->got != s->total || !s->hlen)
		return 0;
	/* The limit holds for the first fragment's header, options and all */
	if (s->hlen + s->total > FRAG_DGRAM_MAX) {
		frag_slot_reset(s);
		return -1;
	}

	frag_complete(s, out);
	return 1;
}

/**
 * frag_done() - release the slot of a datagram frag_in() returned
 * @f:		reassembly state
 * @out:	the datagram
 */
void frag_done(struct frag *f, struct pkt out)
{
	int i;

	for (i = 0; i < FRAG_SLOTS; i++)
		if (out.p >= f->slot[i].buf &&
		    out.p <= f->slot[i].buf + FRAG_HDR_ROOM)
			frag_slot_reset(&f->slot[i]);
}

/**
 * frag_tick() - forget datagrams that took too long
 * @f:		reassembly state
 * @now:	current time, seconds
 */
void frag_tick(struct frag *f, uint32_t now)
{
	int i;

	for (i = 0; i < FRAG_SLOTS; i++)
		if (f->slot[i].used &&
		    (int32_t)(now - f->slot[i].expires) >= 0)
			frag_slot_reset(&f->slot[i]);
}

/**
 * frag_flush() - forget every datagram (the guest went away)
 * @f:		reassembly state
 */
void frag_flush(struct frag *f)
{
	int i;

	for (i = 0; f->mem && i < FRAG_SLOTS; i++)
		frag_slot_reset(&f->slot[i]);
}

/**
 * frag_split() - cut a datagram into fragments that fit an MTU
 * @hdr:	its IPv4 header, without options
 * @payload:	its payload
 * @mtu:	largest fragment
 * @id:		identification for the fragments if the datagram has none
 * @out:	called for each fragment: its header, and a slice of @payload
 * @arg:	passed to @out
 *
 * Return: number of fragments, or -1 if it can't be done (options, tiny
 *	   MTU, DF set)
 */
int frag_split(struct pkt hdr, struct pkt payload, size_t mtu, uint16_t id,
	       frag_out_fn out, void *arg)
{
	uint8_t buf[sizeof(struct iphdr)];
	size_t step, off;
	struct iphdr ih;
	uint16_t fo;
	int count = 0;

	if (!pkt_get(hdr, 0, &ih, sizeof(ih)))
		return -1;
	fo = ntohs(ih.frag_off);
	if (ip4_hlen(&ih) != sizeof(ih) || (fo & IP_DF) || mtu <= sizeof(ih))
		return -1;

	step = (mtu - sizeof(ih)) / FRAG_UNIT * FRAG_UNIT;
	if (!step)
		return -1;
	if (!ih.id)
		ih.id = htons(id);

	for (off = 0; off < payload.len; off += step, count++) {
		size_t n = MIN(payload.len - off, step);

		ih.tot_len = htons((uint16_t)(sizeof(ih) + n));
		ih.frag_off = htons((uint16_t)(((fo & IP_OFFMASK) +
						off / FRAG_UNIT) |
			((off + n < payload.len || (fo & IP_MF)) ? IP_MF : 0)));
		ih.check = 0;
		memcpy(buf, &ih, sizeof(ih));
		ih.check = csum_ip4_header(buf, sizeof(ih));
		memcpy(buf, &ih, sizeof(ih));
		out(arg, buf, sizeof(buf), payload.p + off, n);
	}
	return count;
}
