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
 *   of up to 64 KiB that arrived as many (../shared/NOTES.md, 3). It is cut
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
#include "log.h"
#include "tap.h"
#include "tcp.h"

#define TCP_HLEN_MIN	20
#define TCP_HLEN_MAX	60
/* The flags byte of the TCP header, and its CWR bit (RFC 3168 6.1) */
#define TCP_OFF_FLAGS	13
#define TCP_FLAG_CWR	0x80

/**
 * tcp_rst() - answer a guest's segment with a reset (RFC 793 3.4)
 * @c:		context
 * @ip:		the guest's packet, from its IPv4 header, checked
 * @len:	its length
 */
void tcp_rst(struct ctx *c, const uint8_t *ip, size_t len)
{
	uint8_t out[IP4_HLEN_MIN + TCP_HLEN_MIN];
	struct tcphdr in, th = { 0 };
	struct iphdr ih;
	struct iovec iov = { out, sizeof(out) };

	memcpy(&ih, ip, sizeof(ih));
	if (len < ip4_hlen(&ih) + sizeof(in))
		return;
	memcpy(&in, ip + ip4_hlen(&ih), sizeof(in));
	/* Never a reset for a reset (RFC 793), nor to a source that doesn't
	 * name one host (RFC 1122 4.2.3.10)
	 */
	if (in.rst || !ip4_is_unicast(ih.saddr))
		return;

	th.source = in.dest;
	th.dest = in.source;
	th.doff = TCP_HLEN_MIN / 4;
	th.rst = 1;
	if (in.ack) {
		th.seq = in.ack_seq;
	} else {
		/* SEG.SEQ + SEG.LEN, SYN and FIN counting one each */
		size_t seglen = ntohs(ih.tot_len) - ip4_hlen(&ih) -
				(size_t)in.doff * 4 + in.syn + in.fin;

		th.ack_seq = htonl(ntohl(in.seq) + (uint32_t)seglen);
		th.ack = 1;
	}
	th.check = csum_l4_ip4(ih.daddr, ih.saddr, IPPROTO_TCP, &th,
			       sizeof(th));

	ip4_header(out, ih.daddr, ih.saddr, IPPROTO_TCP, c->ip_id++,
		   sizeof(th));
	memcpy(out + IP4_HLEN_MIN, &th, sizeof(th));
	tap_send_ip(c, &iov, 1);

	trace(c, "tcp: reset to the guest, port %u to %u", ntohs(in.dest),
	      ntohs(in.source));
}

/**
 * tcp_segment() - send one segment of a larger packet to the guest
 * @c:		context
 * @ip:		the packet: IPv4 and TCP headers, then the payload
 * @hlen:	IPv4 plus TCP header length
 * @off:	offset of this segment's payload in the packet's
 * @n:		payload bytes in this segment
 * @idx:	segment number, 0 for the first
 * @last:	this is the last segment
 */
static void tcp_segment(struct ctx *c, const uint8_t *ip, size_t hlen,
			size_t off, size_t n, uint16_t idx, bool last)
{
	uint8_t hdr[60 + TCP_HLEN_MAX] __attribute__((aligned(4)));
	const uint8_t *payload = ip + hlen + off;
	struct iovec iov[2] = { { hdr, hlen },
				{ iov_const(payload), n } };
	struct iphdr *ih = (struct iphdr *)hdr;
	struct tcphdr *th;
	uint8_t *flags;
	uint32_t sum;

	memcpy(hdr, ip, hlen);
	th = (struct tcphdr *)(hdr + ip4_hlen(ih));

	ih->tot_len = htons((uint16_t)(hlen + n));
	ih->id = htons((uint16_t)(ntohs(ih->id) + idx));
	ih->check = 0;
	ih->check = csum_ip4_header(ih, ip4_hlen(ih));

	th->seq = htonl(ntohl(th->seq) + (uint32_t)off);
	flags = (uint8_t *)th + TCP_OFF_FLAGS;
	if (!last)	/* FIN and PSH belong with the last byte */
		*flags &= (uint8_t)~(TH_FIN | TH_PUSH);
	if (idx)	/* RFC 3168 6.1.2: CWR on the first segment only */
		*flags &= (uint8_t)~TCP_FLAG_CWR;
	th->check = 0;
	sum = csum_pseudo4(ih->saddr, ih->daddr, IPPROTO_TCP,
			   (uint16_t)(hlen - ip4_hlen(ih) + n));
	sum = csum_partial(th, hlen - ip4_hlen(ih), sum);
	th->check = csum_finish(csum_partial(payload, n, sum));

	tap_send_ip(c, iov, 2);
}

/**
 * tcp_to_guest() - send a TCP packet to the guest, segmented to its MTU
 * @c:		context
 * @ip:		packet, addresses and ports already the guest's, aligned
 * @len:	its length (the IPv4 total length)
 *
 * Return: number of segments sent, 0 if the packet was malformed
 */
int tcp_to_guest(struct ctx *c, uint8_t *ip, size_t len)
{
	const struct iphdr *ih = (const struct iphdr *)ip;
	const struct tcphdr *th;
	size_t ihl = ip4_hlen(ih), hlen, payload, mss, off;
	uint16_t i;

	if (len < ihl + TCP_HLEN_MIN)
		return 0;
	th = (const struct tcphdr *)(ip + ihl);
	hlen = ihl + (size_t)th->doff * 4;
	if ((size_t)th->doff * 4 < TCP_HLEN_MIN || hlen > len ||
	    c->guest.mtu <= hlen)
		return 0;

	payload = len - hlen;
	mss = c->guest.mtu - hlen;
	if (!payload) {
		tcp_segment(c, ip, hlen, 0, 0, 0, true);
		return 1;
	}
	for (i = 0, off = 0; off < payload; off += mss, i++)
		tcp_segment(c, ip, hlen, off, MIN(mss, payload - off), i,
			    off + mss >= payload);
	return i;
}
