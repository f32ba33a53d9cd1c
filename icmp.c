// SPDX-License-Identifier: GPL-2.0-or-later
/* icmp.c - ICMP errors merd sends the guest, as its router
 *
 * Copyright (c) 2026 merd authors
 *
 * merd is the guest's first hop: it says "time exceeded" when a packet's TTL
 * runs out (so traceroute shows it), "fragmentation needed" with the MTU when
 * a packet that mustn't be fragmented doesn't fit (so path MTU discovery
 * works), and "administratively prohibited" when it can't take a new flow.
 * Errors come from the gateway address, as from a router, and quote the
 * guest's packet as RFC 792 and RFC 1812 4.3.2.3 say.
 */

#include <string.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/uio.h>

#include "csum.h"
#include "icmp.h"
#include "ip4.h"
#include "log.h"
#include "tap.h"

/* ICMP header: type, code, checksum, and 4 bytes (RFC 792) */
#define ICMP_HLEN	8

/**
 * icmp_error() - send the guest an ICMP error about one of its packets
 * @c:		context
 * @type:	ICMP type
 * @code:	ICMP code
 * @mtu:	next-hop MTU for "fragmentation needed" (RFC 1191), else 0
 * @saddr:	source of the error, network order
 * @orig:	the guest's packet, from its IPv4 header
 * @orig_len:	bytes of it available
 */
void icmp_error(struct ctx *c, uint8_t type, uint8_t code, uint16_t mtu,
		uint32_t saddr, const uint8_t *orig, size_t orig_len)
{
	uint8_t hdr[IP4_HLEN_MIN + ICMP_HLEN];
	struct icmphdr ih = { .type = type, .code = code };
	struct iphdr oh;
	struct iovec iov[2];
	size_t quote;
	uint32_t sum;

	if (orig_len < sizeof(oh))
		return;
	memcpy(&oh, orig, sizeof(oh));

	/* RFC 1122 3.2.2: never about an ICMP error, a later fragment, or a
	 * packet whose source doesn't name one host
	 */
	if ((ntohs(oh.frag_off) & IP_OFFMASK) || !ip4_is_unicast(oh.saddr))
		return;
	if (oh.protocol == IPPROTO_ICMP && orig_len >= ip4_hlen(&oh) + 1 &&
	    orig[ip4_hlen(&oh)] != ICMP_ECHO)
		return;

	/* As much as fits in 576 bytes (RFC 1812 4.3.2.3), and in the link */
	quote = MIN(orig_len,
		    MIN((size_t)ICMP_ERROR_MAX, (size_t)c->guest.mtu) -
		    sizeof(hdr));
	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
		ih.un.frag.mtu = htons(mtu);

	memcpy(hdr + IP4_HLEN_MIN, &ih, sizeof(ih));
	sum = csum_partial(hdr + IP4_HLEN_MIN, ICMP_HLEN, 0);
	ih.checksum = csum_finish(csum_partial(orig, quote, sum));
	memcpy(hdr + IP4_HLEN_MIN, &ih, sizeof(ih));
	ip4_header(hdr, saddr, oh.saddr, IPPROTO_ICMP, c->ip_id++,
		   ICMP_HLEN + quote);

	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = iov_const(orig);	/* only read */
	iov[1].iov_len = quote;
	tap_send_ip(c, iov, 2);

	trace(c, "icmp: type %u code %u to the guest about a packet to %s",
	      type, code, inet_ntoa((struct in_addr){ oh.daddr }));
}
