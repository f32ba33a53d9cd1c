// SPDX-License-Identifier: GPL-2.0-or-later
/* tcp.c - TCP segments merd writes itself: resets, GRO's undoing, and
 * segmentation offload for the guest
 *
 * Copyright (c) 2026 merd authors
 *
 * The guest's TCP talks to the peer's TCP end to end; merd only rewrites
 * addresses and ports. Three exceptions:
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
 *   computed in full;
 * - the other way, where the guest's link takes larger segments than the
 *   path to the peer does, the peer's SYN tells the guest the MSS of its
 *   link (fwd.c, fwd_tso_syn(); tcp_syn_mss(), tcp_mss_set()), and the
 *   guest's segments are cut here to the path's MSS on their way out
 *   (tcp_to_host()), as a NIC's segmentation offload cuts its host's:
 *   the same pieces (tcp_piece()), after the guest's checksum was checked
 *   over the whole segment. An ICMP error saying the path takes less makes
 *   the pieces smaller (tcp_tso_mtu()); the guest never hears of it.
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
 * tcp_piece() - the headers of one piece of a TCP segment being cut
 * @h:		set to the piece's IP (IPv4 or IPv6) and TCP headers,
 *		@hdr.len bytes
 * @hdr:	the segment's IP and TCP headers, as its pieces leave
 * @l3len:	length of the IP header in @hdr
 * @plen:	the piece's payload length
 * @psum:	unfolded sum of that payload (csum_partial())
 * @off:	its offset in the segment's payload
 * @idx:	piece number, 0 for the first
 * @last:	this is the last piece
 *
 * What a TSO engine, or GSO (tcp_gso_segment()), does to each piece: the
 * sequence number moves on by @off, FIN and PSH stay with the last byte,
 * CWR with the first piece only (RFC 3168 6.1.2); acknowledgment, window,
 * urgent pointer and options are copied; the IPv4 identification counts
 * up from the segment's (DF, and the rest of the header, as it was); the
 * lengths are the piece's, and both checksums are computed in full.
 */
static void tcp_piece(uint8_t *h, struct pkt hdr, size_t l3len, size_t plen,
		      uint32_t psum, size_t off, uint16_t idx, bool last)
{
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
		i6.ip6_plen = htons((uint16_t)(l4len + plen));
		memcpy(h, &i6, sizeof(i6));
	} else {
		memcpy(&ih, h, sizeof(ih));
		ih.tot_len = htons((uint16_t)(hdr.len + plen));
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
				   (uint32_t)(l4len + plen));
	else
		sum = csum_pseudo4(ih.saddr, ih.daddr, IPPROTO_TCP,
				   (uint16_t)(l4len + plen));
	/* The header's length is a multiple of 4: the payload's sum adds on */
	sum = csum_add(csum_partial(h + l3len, l4len, sum), psum);
	th.check = csum_finish(sum);
	memcpy(h + l3len + offsetof(struct tcphdr, check), &th.check,
	       sizeof(th.check));
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

	tcp_piece(h, hdr, l3len, payload.len,
		  csum_partial(payload.p, payload.len, 0), off, idx, last);
	tap_send_ip_ref(c, iov, 2);
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

/**
 * tcp_syn_mss() - the maximum segment size option of a SYN (RFC 9293 3.7.1)
 * @th:		TCP header, options included
 * @off:	set to the option's offset in @th, if there is one
 *
 * Return: the option's value, 0 if there is none
 */
uint16_t tcp_syn_mss(struct pkt th, size_t *off)
{
	struct pkt opt;
	uint16_t mss;
	size_t o;

	if (!pkt_tail(th, TCP_HLEN_MIN, &opt) ||
	    !l4_tcp_opt(opt, TCPOPT_MAXSEG, TCPOLEN_MAXSEG, &o) ||
	    !pkt_get(opt, o + 2, &mss, sizeof(mss)))
		return 0;
	*off = TCP_HLEN_MIN + o;
	return ntohs(mss);
}

/**
 * tcp_mss_set() - set the maximum segment size option of a SYN, fixing the
 *		   TCP checksum incrementally (RFC 1624)
 * @th:		TCP header, options included, checksum field as it stands
 * @off:	offset of the option in @th (tcp_syn_mss())
 * @mss:	new value
 *
 * The option needn't be aligned: the checksum follows the 16-bit words of
 * the header its value touches, one or two.
 */
void tcp_mss_set(struct wpkt th, size_t off, uint16_t mss)
{
	size_t v = off + 2, w = v & ~(size_t)1, n = v % 2 ? 4 : 2, i;
	uint16_t old[2], new[2], check, val = htons(mss);

	if (!pkt_get(wpkt_ro(th), w, old, n) ||
	    !pkt_get(wpkt_ro(th), TCP_OFF_CHECK, &check, sizeof(check)) ||
	    !wpkt_put(th, v, &val, sizeof(val)))
		return;
	memcpy(new, th.p + w, n);
	for (i = 0; i < n / 2; i++)
		check = csum_update16(check, old[i], new[i]);
	wpkt_put(th, TCP_OFF_CHECK, &check, sizeof(check));
}

/**
 * tcp_tso_mtu() - a path MTU the network reported for a flow merd cuts
 *		   segments of: the pieces get smaller
 * @f:		the flow, its path MSS set (@f->mss)
 * @mtu:	the MTU the error gave (ICMP fragmentation needed, RFC 1191;
 *		ICMPv6 packet too big, RFC 8201)
 *
 * Only ever lowers the MSS, and not below what the smallest MTU a path
 * may have allows (576 bytes for IPv4, as RFC 1122 3.3.3 has every host
 * take; 1280 for IPv6, RFC 8201 4): an error that says less, or zero (a
 * router older than RFC 1191), can't make the pieces tiny.
 *
 * Return: the path MSS now
 */
uint16_t tcp_tso_mtu(struct flow *f, uint32_t mtu)
{
	bool v6 = f->af == AF_INET6;
	uint32_t least = v6 ? IP6_MTU_MIN : TCP_TSO_MTU_MIN4;
	uint32_t hdrs = (v6 ? IP6_HLEN : IP4_HLEN_MIN) + TCP_HLEN_MIN;

	mtu = MAX(mtu, least);
	if (mtu - hdrs < f->mss)
		f->mss = (uint16_t)(mtu - hdrs);
	return f->mss;
}

/**
 * tcp_to_host() - cut a guest's TCP segment into pieces that fit the path,
 *		   and queue them in the send batch
 * @c:		context
 * @o:		the segment, headers rewritten as it leaves, in the batch's
 *		next slot (raw_out_slot()), not committed: the payload where
 *		it lies, in @o->iov[1]
 * @l3len:	length of its IP header
 * @piece:	most payload bytes a piece may carry: the path MSS, less
 *		the segment's TCP options
 * @on_err:	called for a piece the kernel refused (raw_out_commit())
 *
 * The pieces are tcp_to_guest()'s (tcp_piece()), each in a slot of its
 * own, its payload in place: one pass over the payload sums every piece
 * and, before any leaves, checks the guest's checksum over the whole (the
 * pieces' checksums, computed anew, must not hide a segment damaged on the
 * way from the guest). The first piece keeps the guest's header for an
 * ICMP error about a failed send; the others none, so that a failure
 * draws one error, not one a piece.
 *
 * Return: number of pieces queued, 0 if the segment was dropped (bad
 *	   checksum; or headers, or pieces, merd can't make)
 */
int tcp_to_host(struct ctx *c, const struct raw_out *o, size_t l3len,
		size_t piece, raw_err_fn on_err)
{
	const uint8_t *data = o->iov[1].iov_base;
	size_t len = o->iov[1].iov_len, hlen = o->iov[0].iov_len, off;
	uint32_t sums[TCP_TSO_PIECES_MAX], all = 0, sum;
	uint8_t h[RAW_HDR_MAX], quote[RAW_QUOTE_MAX];
	struct sockaddr_in6 dst6 = o->dst6;
	struct sockaddr_in dst = o->dst;
	size_t quote_len = o->quote_len;
	struct pkt hdr = { h, hlen };
	bool v6 = o->v6;
	uint16_t i, n;

	if (!piece || !len || hlen > sizeof(h) ||
	    hlen < l3len + TCP_HLEN_MIN || quote_len > sizeof(quote) ||
	    (len - 1) / piece >= TCP_TSO_PIECES_MAX) {
		drop(c, DROP_TOO_BIG, "tcp: %zu-byte segment not cut",
		     hlen + len);
		return 0;
	}
	n = (uint16_t)((len - 1) / piece + 1);
	memcpy(h, o->hdr, hlen);
	memcpy(quote, o->quote, quote_len);

	for (i = 0, off = 0; i < n; i++, off += piece) {
		sums[i] = csum_partial(data + off, MIN(piece, len - off), 0);
		all = csum_add(all, off % 2 ? csum_swab(sums[i]) : sums[i]);
	}
	if (v6) {
		struct in6_addr s6, d6;

		memcpy(&s6, h + offsetof(struct ip6_hdr, ip6_src), sizeof(s6));
		memcpy(&d6, h + offsetof(struct ip6_hdr, ip6_dst), sizeof(d6));
		sum = csum_pseudo6(&s6, &d6, IPPROTO_TCP,
				   (uint32_t)(hlen - l3len + len));
	} else {
		uint32_t s4, d4;

		memcpy(&s4, h + offsetof(struct iphdr, saddr), sizeof(s4));
		memcpy(&d4, h + offsetof(struct iphdr, daddr), sizeof(d4));
		sum = csum_pseudo4(s4, d4, IPPROTO_TCP,
				   (uint16_t)(hlen - l3len + len));
	}
	sum = csum_add(csum_partial(h + l3len, hlen - l3len, sum), all);
	if (csum_fold(sum) != 0xffff) {
		drop(c, DROP_CSUM, "tcp: guest segment with a bad checksum, "
		     "dropped");
		return 0;
	}

	for (i = 0, off = 0; i < n; i++, off += piece) {
		struct raw_out *p = raw_out_slot(&c->fwd.raw);
		size_t plen = MIN(piece, len - off);

		tcp_piece(p->hdr, hdr, l3len, plen, sums[i], off, i,
			  i + 1 == n);
		p->iov[0].iov_base = p->hdr;
		p->iov[0].iov_len = hlen;
		p->iov[1].iov_base = iov_const(data + off);
		p->iov[1].iov_len = plen;
		p->v6 = v6;
		p->dst = dst;
		p->dst6 = dst6;
		p->quote_len = i ? 0 : quote_len;
		if (!i)
			memcpy(p->quote, quote, quote_len);
		raw_out_commit(c, on_err);
	}
	return n;
}
