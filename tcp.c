// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp.c - TCP segments merd writes itself: resets, and GRO's undoing
 *
 * Copyright (c) 2026 merd authors
 *
 * The guest's TCP talks to the peer's TCP end to end; merd only rewrites
 * addresses and ports. Two exceptions:
 *
 * - a segment merd can't forward (no room for a new flow, or a flow merd no
 *   longer knows) is answered with a reset, as RFC 793 (p. 36) has a host
 *   answer a segment for no connection, so the guest fails fast;
 * - raw sockets see packets after GRO: one read can return a TCP "segment"
 *   of up to 64 KiB that arrived as many (doc/design.md). It is cut
 *   back into segments that fit the guest's MTU, each with its own sequence
 *   number, IP identification and checksums. The checksum field of such a
 *   packet was never valid for it (and on veth or loopback the sender left
 *   only the pseudo-header sum there), so every segment's checksum is
 *   computed in full.
 */

#include <string.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/uio.h>

#include "csum.h"
#include "ip4.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "tap.h"
#include "tcp.h"

/* The CWR bit of the flags byte (RFC 3168 6.1) */
#define TCP_FLAG_CWR	0x80

/**
 * tcp_rst_header() - the reset answering a guest's segment
 * @l4:		the guest's TCP header
 * @th:		set to the reset's header, checksum zero
 */
static void tcp_rst_header(const struct l4_view *l4, struct tcphdr *th)
{
	memset(th, 0, sizeof(*th));
	th->source = htons(l4->dport);
	th->dest = htons(l4->sport);
	th->doff = TCP_HLEN_MIN / 4;
	th->rst = 1;
	if (l4->flags & TH_ACK) {
		th->seq = htonl(l4->ack);
	} else {
		/* SEG.SEQ + SEG.LEN, SYN and FIN counting one each */
		uint32_t seglen = (uint32_t)l4->data.len +
				  !!(l4->flags & TH_SYN) +
				  !!(l4->flags & TH_FIN);

		th->ack_seq = htonl(l4->seq + seglen);
		th->ack = 1;
	}
}

/**
 * tcp_rst_build() - the reset answering a segment (RFC 9293 3.10.7.1),
 *		     from the address and port it was sent to
 * @out:	buffer, TCP_RST_MAX bytes: IP (IPv4 or IPv6) and TCP headers
 * @ip:		the segment's packet
 * @l4:		its TCP header
 * @id:		IPv4 identification to use
 *
 * Return: length of the packet, 0 if none is due: never a reset for a
 *	   reset (RFC 9293 3.10.7.1), nor to a source that doesn't name one
 *	   host (RFC 1122 4.2.3.10)
 */
size_t tcp_rst_build(uint8_t *out, const struct ip_view *ip,
		     const struct l4_view *l4, uint16_t id)
{
	struct tcphdr th;
	size_t l3len;

	if (l4->flags & TH_RST)
		return 0;
	tcp_rst_header(l4, &th);

	if (ip->family == AF_INET6) {
		if (!ip6_is_unicast(&ip->src.a6) &&
		    !IN6_IS_ADDR_LINKLOCAL(&ip->src.a6) &&
		    !IN6_IS_ADDR_LOOPBACK(&ip->src.a6))
			return 0;
		th.check = csum_l4_ip6(&ip->dst.a6, &ip->src.a6, IPPROTO_TCP,
				       &th, sizeof(th));
		l3len = ip6_header(out, &ip->dst.a6, &ip->src.a6, IPPROTO_TCP,
				   IP6_DEFAULT_HOPS, sizeof(th));
	} else {
		uint32_t saddr = inany_v4(&ip->dst), daddr = inany_v4(&ip->src);

		if (!ip4_is_unicast(daddr) && !ip4_is_loopback(daddr))
			return 0;
		th.check = csum_l4_ip4(saddr, daddr, IPPROTO_TCP, &th,
				       sizeof(th));
		l3len = ip4_header(out, saddr, daddr, IPPROTO_TCP, id,
				   sizeof(th));
	}
	memcpy(out + l3len, &th, sizeof(th));
	return l3len + sizeof(th);
}

/**
 * tcp_rst() - answer a guest's segment with a reset (RFC 9293 3.10.7.1)
 * @c:		context
 * @ip:		the guest's packet, IPv4 or IPv6
 * @l4:		its TCP header
 */
void tcp_rst(struct ctx *c, const struct ip_view *ip, const struct l4_view *l4)
{
	uint8_t out[TCP_RST_MAX];
	struct iovec iov = { out, 0 };

	/* The guest's own packets never come from loopback */
	if (ip->family == AF_INET6 ? IN6_IS_ADDR_LOOPBACK(&ip->src.a6) :
	    ip4_is_loopback(inany_v4(&ip->src)))
		return;
	iov.iov_len = tcp_rst_build(out, ip, l4, c->fwd.ip_id);
	if (!iov.iov_len)
		return;
	c->fwd.ip_id++;
	tap_send_ip(c, &iov, 1);

	trace(c, "tcp: reset to the guest, port %u to %u", l4->dport,
	      l4->sport);
}

/**
 * tcp_segment() - send one segment of a larger packet to the guest
 * @c:		context
 * @hdr:	the packet's IP (IPv4 or IPv6) and TCP headers, rewritten
 *		for the guest
 * @l3len:	length of the IP header in @hdr
 * @payload:	this segment's payload
 * @off:	its offset in the packet's payload
 * @idx:	segment number, 0 for the first
 * @last:	this is the last segment
 */
static void tcp_segment(struct ctx *c, struct pkt hdr, size_t l3len,
			struct pkt payload, size_t off, uint16_t idx, bool last)
{
	uint8_t h[60 + TCP_HLEN_MAX];
	struct iovec iov[2] = { { h, hdr.len },
				{ iov_const(payload.p), payload.len } };
	size_t l4len = hdr.len - l3len;
	bool v6 = hdr.len && (hdr.p[0] >> 4) == 6;
	struct iphdr ih;
	struct ip6_hdr i6;
	struct tcphdr th;
	uint32_t sum;

	memcpy(h, hdr.p, hdr.len);
	memcpy(&th, h + l3len, sizeof(th));
	if (v6) {
		memcpy(&i6, h, sizeof(i6));
		i6.ip6_plen = htons((uint16_t)(l4len + payload.len));
		memcpy(h, &i6, sizeof(i6));
	} else {
		memcpy(&ih, h, sizeof(ih));
		ih.tot_len = htons((uint16_t)(hdr.len + payload.len));
		ih.id = htons((uint16_t)(ntohs(ih.id) + idx));
		ih.check = 0;
		memcpy(h, &ih, sizeof(ih));
		ih.check = csum_ip4_header(h, l3len);
		memcpy(h, &ih, sizeof(ih));
	}

	th.seq = htonl(ntohl(th.seq) + (uint32_t)off);
	th.check = 0;
	memcpy(h + l3len, &th, sizeof(th));
	if (!last)	/* FIN and PSH belong with the last byte */
		h[l3len + TCP_OFF_FLAGS] &= (uint8_t)~(TH_FIN | TH_PUSH);
	if (idx)	/* RFC 3168 6.1.2: CWR on the first segment only */
		h[l3len + TCP_OFF_FLAGS] &= (uint8_t)~TCP_FLAG_CWR;

	if (v6)
		sum = csum_pseudo6(&i6.ip6_src, &i6.ip6_dst, IPPROTO_TCP,
				   (uint32_t)(l4len + payload.len));
	else
		sum = csum_pseudo4(ih.saddr, ih.daddr, IPPROTO_TCP,
				   (uint16_t)(l4len + payload.len));
	sum = csum_partial(h + l3len, l4len, sum);
	th.check = csum_finish(csum_partial(payload.p, payload.len, sum));
	memcpy(h + l3len + offsetof(struct tcphdr, check), &th.check,
	       sizeof(th.check));

	tap_send_ip(c, iov, 2);
}

/**
 * tcp_to_guest() - send a TCP packet to the guest, segmented to its MTU
 * @c:		context
 * @hdr:	IPv4 and TCP headers, addresses and ports already the guest's
 * @l3len:	length of the IPv4 header in @hdr
 * @payload:	the payload, which may be many segments' worth (GRO)
 *
 * Return: number of segments sent, 0 if the headers leave no room
 */
int tcp_to_guest(struct ctx *c, struct pkt hdr, size_t l3len,
		 struct pkt payload)
{
	size_t mss, off;
	uint16_t i;

	if (c->link.mtu <= hdr.len || hdr.len > 60 + TCP_HLEN_MAX)
		return 0;

	mss = c->link.mtu - hdr.len;
	if (!payload.len) {
		tcp_segment(c, hdr, l3len, payload, 0, 0, true);
		return 1;
	}
	for (i = 0, off = 0; off < payload.len; off += mss, i++) {
		struct pkt seg;

		pkt_sub(payload, off, MIN(mss, payload.len - off), &seg);
		tcp_segment(c, hdr, l3len, seg, off, i, off + mss >= payload.len);
	}
	return i;
}
