// SPDX-License-Identifier: GPL-2.0-or-later
/* icmp6.c - ICMPv6 errors for the guest: merd's own, and the network's
 *
 * Copyright (c) 2026 merd authors
 *
 * The IPv6 side of icmp.c. merd, the guest's first hop, sends "time
 * exceeded" when a packet's hop limit runs out, "packet too big" with the
 * MTU when a packet doesn't fit the uplink (IPv6 routers never fragment,
 * RFC 8200 5), and "administratively prohibited" when it can't take a new
 * flow, from the guest's router address, quoting as much of the guest's
 * packet as fits in the minimum MTU (RFC 4443 2.4 (c)).
 *
 * Errors the network sends about one of the guest's flows are translated
 * (icmp6_error_in()): the flow is found by the packet they quote, the quote
 * is rewritten back into the packet as the guest sent it, checksums kept
 * right, and the error gets a new IPv6 header, to the guest, from the
 * router that sent it (the guest's router, if that was the host itself).
 */

#include <string.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip6.h>
#include <sys/uio.h>

#include "conntrack.h"
#include "csum.h"
#include "icmp6.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "nat.h"
#include "tap.h"

/* Room for a quoted IPv6 header with a TCP header, and a byte more: what
 * follows the copy must start at an even offset to be summed apart
 */
#define ICMP6_QUOTE_HDR_MAX	(IP6_HLEN + TCP_HLEN_MAX + 1)

/**
 * icmp6_is_error() - tell whether an ICMPv6 type is an error (RFC 4443 2.1)
 * @type:	type
 *
 * Return: true for types below 128
 */
static bool icmp6_is_error(uint8_t type)
{
	return type < ICMP6_ECHO_REQUEST;
}

/**
 * icmp6_send() - send the guest an ICMPv6 message, checksum computed
 * @c:		context
 * @src:	source address
 * @dst:	destination, the guest
 * @hops:	hop limit
 * @msg:	the message's first 8 bytes, checksum field zero
 * @body:	what follows them
 * @len:	length of @body
 */
static void icmp6_send(struct ctx *c, const struct in6_addr *src,
		       const struct in6_addr *dst, uint8_t hops, uint8_t *msg,
		       const uint8_t *body, size_t len)
{
	uint8_t hdr[IP6_HLEN];
	struct iovec iov[3];
	uint32_t sum;
	uint16_t check;

	sum = csum_pseudo6(src, dst, IPPROTO_ICMPV6,
			   (uint32_t)(ICMP_HLEN + len));
	sum = csum_partial(msg, ICMP_HLEN, sum);
	check = csum_finish(csum_partial(body, len, sum));
	memcpy(msg + ICMP_OFF_CHECK, &check, sizeof(check));
	ip6_header(hdr, src, dst, IPPROTO_ICMPV6, hops, ICMP_HLEN + len);

	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = msg;
	iov[1].iov_len = ICMP_HLEN;
	iov[2].iov_base = iov_const(body);
	iov[2].iov_len = len;
	tap_send_ip(c, iov, 3);
}

/**
 * icmp6_error() - send the guest an ICMPv6 error about one of its packets
 * @c:		context
 * @type:	ICMPv6 type
 * @code:	its code
 * @info:	MTU for "packet too big", pointer for "parameter problem",
 *		else 0 (RFC 4443 3)
 * @orig:	the guest's packet (header and payload one after the other)
 */
void icmp6_error(struct ctx *c, uint8_t type, uint8_t code, uint32_t info,
		 const struct ip_view *orig)
{
	uint8_t msg[ICMP_HLEN] = { type, code };
	uint32_t n = htonl(info);
	uint8_t otype;
	size_t quote;

	/* RFC 4443 2.4 (e): never about an error, nor to a source that
	 * isn't one host
	 */
	if (IN6_IS_ADDR_UNSPECIFIED(&orig->src.a6) ||
	    IN6_IS_ADDR_MULTICAST(&orig->src.a6))
		return;
	if (orig->proto == IPPROTO_ICMPV6 && pkt_get(orig->l4, 0, &otype, 1) &&
	    icmp6_is_error(otype))
		return;

	quote = MIN(orig->hdr.len + orig->l4.len,
		    (size_t)MIN(c->link.mtu, (unsigned)IP6_MTU_MIN) -
		    IP6_HLEN - ICMP_HLEN);
	memcpy(msg + 4, &n, sizeof(n));
	icmp6_send(c, &c->guest6.gw, &orig->src.a6, IP6_DEFAULT_HOPS, msg,
		   orig->hdr.p, quote);

	trace(c, "icmp6: type %u code %u to the guest about a packet to %s",
	      type, code, inany_ntop(&orig->dst).s);
}

/**
 * icmp6_error_src() - whom the translated error comes from, for the guest
 * @c:		context
 * @f:		flow
 * @ts:		its side on the guest's link
 * @src:	source of the error
 *
 * Return: the router that sent it; the guest's router if it was the host
 *	   (or the peer the router address stands for)
 */
static const struct in6_addr *icmp6_error_src(const struct ctx *c,
					      const struct flow *f,
					      unsigned int ts,
					      const struct in6_addr *src)
{
	const struct flowside *host = &f->side[ct_other(ts)];
	const struct flowside *tap = &f->side[ts];

	if (IN6_ARE_ADDR_EQUAL(src, &host->eaddr.a6) &&
	    !inany_equals(&host->eaddr, &tap->oaddr))
		return &tap->oaddr.a6;
	if (IN6_IS_ADDR_LOOPBACK(src) || IN6_ARE_ADDR_EQUAL(src, &c->host.out6))
		return &c->guest6.gw;
	return src;
}

/**
 * icmp6_quote_rewrite() - rewrite a quoted packet into the guest's
 * @q:		copy of the quoted header (fixed only) and transport header
 * @qip:	the quote as parsed
 * @tap:	the flow's side on the guest's link
 */
static void icmp6_quote_rewrite(struct wpkt q, const struct ip_view *qip,
				const struct flowside *tap)
{
	struct nat_rw rw = { .sport = tap->eport, .dport = tap->oport,
			     .v6 = true, .osaddr6 = qip->src.a6,
			     .odaddr6 = qip->dst.a6, .saddr6 = tap->eaddr.a6,
			     .daddr6 = tap->oaddr.a6 };
	struct wpkt ql4 = { NULL, 0 };

	wpkt_tail(q, qip->hdr.len, &ql4);
	nat_l4(ql4, qip->proto, &rw);
	nat_ip6(q, &rw.saddr6, &rw.daddr6);
}

/**
 * icmp6_error_in() - translate an ICMPv6 error about a guest's flow
 * @c:		context
 * @ip:		the error, as received
 * @l4:		its ICMPv6 header; @data is the quote
 */
void icmp6_error_in(struct ctx *c, const struct ip_view *ip,
		    const struct l4_view *l4)
{
	uint8_t body[ICMP6_QUOTE_HDR_MAX + IP6_MTU_MIN];
	uint8_t msg[ICMP_HLEN];
	struct wpkt q = { body, 0 };
	struct flowside key;
	struct ip_view qip;
	struct l4_view ql4;
	const struct flow *f;
	unsigned int hs, ts;
	uint32_t idx;
	size_t len;

	if (!icmp6_is_error(l4->type) || ip6_parse_quote(l4->data, &qip) ||
	    qip.hdr.len != IP6_HLEN || l4_parse_quote(&qip, &ql4))
		return;

	flowside_set(&key, &qip.dst, ql4.dport, &qip.src, ql4.sport);
	idx = ct_lookup(&c->fwd.ct, qip.proto, PIF_HOST, &key, &hs);
	if (idx == FLOW_NONE) {
		trace(c, "fwd: no flow for ICMPv6 type %u from %s about "
		      "protocol %u to %s:%u from host port %u", l4->type,
		      inany_ntop(&ip->src).s, qip.proto,
		      inany_ntop(&qip.dst).s, ql4.dport, ql4.sport);
		return;
	}
	f = &c->fwd.ct.flows[idx];
	ts = ct_other(hs);

	/* The quote, cut to what fits the minimum MTU (RFC 4443 2.4 (c)) and
	 * the guest's link, copied and rewritten
	 */
	len = MIN(l4->data.len, (size_t)MIN(c->link.mtu,
					    (unsigned)IP6_MTU_MIN) -
				IP6_HLEN - ICMP_HLEN);
	q.len = len;
	memcpy(body, l4->data.p, len);
	icmp6_quote_rewrite(q, &qip, &f->side[ts]);

	memcpy(msg, l4->hdr.p, ICMP_HLEN);
	memset(msg + ICMP_OFF_CHECK, 0, 2);
	icmp6_send(c, icmp6_error_src(c, f, ts, &ip->src.a6),
		   &f->side[ts].eaddr.a6, ip->ttl > 1 ? ip->ttl - 1 : 1, msg,
		   body, len);

	trace(c, "flow %u: ICMPv6 type %u code %u for the guest", idx,
	      l4->type, l4->code);
}
