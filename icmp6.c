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
 * "Packet too big" about a flow whose TCP segments merd cuts (tcp.c)
 * makes merd's pieces smaller instead (icmp6_tso_mtu()).
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
#include "raw.h"
#include "tap.h"
#include "tcp.h"

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
 * icmp6_build() - the IPv6 header and checksum of an ICMPv6 message
 * @hdr:	set to the IPv6 header, IP6_HLEN bytes
 * @src:	source address
 * @dst:	destination
 * @hops:	hop limit
 * @msg:	the message's first 8 bytes, checksum field zero: set
 * @body:	what follows them
 * @len:	length of @body
 */
static void icmp6_build(uint8_t *hdr, const struct in6_addr *src,
			const struct in6_addr *dst, uint8_t hops, uint8_t *msg,
			const uint8_t *body, size_t len)
{
	uint32_t sum;
	uint16_t check;

	sum = csum_pseudo6(src, dst, IPPROTO_ICMPV6,
			   (uint32_t)(ICMP_HLEN + len));
	sum = csum_partial(msg, ICMP_HLEN, sum);
	check = csum_finish(csum_partial(body, len, sum));
	memcpy(msg + ICMP_OFF_CHECK, &check, sizeof(check));
	ip6_header(hdr, src, dst, IPPROTO_ICMPV6, hops, ICMP_HLEN + len);
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

	icmp6_build(hdr, src, dst, hops, msg, body, len);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = msg;
	iov[1].iov_len = ICMP_HLEN;
	iov[2].iov_base = iov_const(body);
	iov[2].iov_len = len;
	tap_send_ip(c, iov, 3);
}

/**
 * icmp6_error_build() - an ICMPv6 error about a packet, to its source
 * @hdr:	set to the error's IPv6 and ICMPv6 headers (ICMP6_ERROR_HDR
 *		bytes); the quote, @orig's first bytes, follows them
 * @type:	ICMPv6 type
 * @code:	its code
 * @info:	MTU for "packet too big", pointer for "parameter problem",
 *		else 0 (RFC 4443 3)
 * @src:	source of the error
 * @orig:	the packet (header and payload one after the other)
 * @room:	most bytes the error may take, headers included
 *
 * Return: length of the quote, 0 if no error is due (RFC 4443 2.4 (e):
 *	   never about an error, nor to a source that isn't one host)
 */
size_t icmp6_error_build(uint8_t *hdr, uint8_t type, uint8_t code,
			 uint32_t info, const struct in6_addr *src,
			 const struct ip_view *orig, size_t room)
{
	uint8_t *msg = hdr + IP6_HLEN;
	uint32_t n = htonl(info);
	uint8_t otype;
	size_t quote;

	if (IN6_IS_ADDR_UNSPECIFIED(&orig->src.a6) ||
	    IN6_IS_ADDR_MULTICAST(&orig->src.a6) || room <= ICMP6_ERROR_HDR)
		return 0;
	if (orig->proto == IPPROTO_ICMPV6 && pkt_get(orig->l4, 0, &otype, 1) &&
	    icmp6_is_error(otype))
		return 0;

	quote = MIN(orig->hdr.len + orig->l4.len, room - ICMP6_ERROR_HDR);
	memset(msg, 0, ICMP_HLEN);
	msg[0] = type;
	msg[1] = code;
	memcpy(msg + 4, &n, sizeof(n));
	icmp6_build(hdr, src, &orig->src.a6, IP6_DEFAULT_HOPS, msg,
		    orig->hdr.p, quote);
	return quote;
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
	uint8_t hdr[ICMP6_ERROR_HDR];
	struct iovec iov[2];
	size_t quote;

	quote = icmp6_error_build(hdr, type, code, info, &c->guest6.gw, orig,
				  MIN(c->link.mtu, (unsigned)IP6_MTU_MIN));
	if (!quote)
		return;
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = iov_const(orig->hdr.p);
	iov[1].iov_len = quote;
	tap_send_ip(c, iov, 2);

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
 * icmp6_quote_rewrite() - rewrite a quoted packet into the one a side's
 *			   endpoint sent
 * @q:		copy of the quoted header (fixed only) and transport header
 * @qip:	the quote as parsed
 * @tap:	the flow's side the error goes to
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
 * icmp6_tso_mtu() - take a path MTU from "packet too big" about a flow
 *		     whose segments merd cuts
 * @c:		context
 * @f:		the flow
 * @idx:	its number, for the trace
 * @l4:		the error's ICMPv6 header
 *
 * As icmp.c's icmp_tso_mtu(): the pieces get smaller, the error stops here.
 *
 * Return: true if the error was taken, false if it goes on to the guest
 */
static bool icmp6_tso_mtu(const struct ctx *c, struct flow *f, uint32_t idx,
			  const struct l4_view *l4)
{
	uint32_t mtu;
	uint16_t mss;

	if (!f->mss || l4->type != ICMP6_PACKET_TOO_BIG ||
	    !pkt_get(l4->hdr, offsetof(struct icmp6_hdr, icmp6_mtu), &mtu,
		     sizeof(mtu)))
		return false;
	mss = tcp_tso_mtu(f, ntohl(mtu));
	trace(c, "flow %u: path MTU %u: merd cuts segments to %u", idx,
	      ntohl(mtu), mss);
	(void)mss;
	(void)idx;
	return true;
}

/**
 * icmp6_translate() - translate an ICMPv6 error about a flow to its other
 *		       side
 * @c:		context
 * @ip:		the error, as received
 * @l4:		its ICMPv6 header; @data is the quote
 * @pif:	where it came from: PIF_HOST (the network, for the guest) or
 *		PIF_TAP (the guest, for the network)
 *
 * As icmp.c's icmp_translate(): the flow found by the quote, the quote
 * rewritten for the other side, the error sent on from its router (toward
 * the network: from the host's address), a hop later.
 */
static void icmp6_translate(struct ctx *c, const struct ip_view *ip,
			    const struct l4_view *l4, uint8_t pif)
{
	uint8_t body[ICMP6_QUOTE_HDR_MAX + IP6_MTU_MIN];
	uint8_t msg[ICMP_HLEN], hdr[IP6_HLEN];
	struct wpkt q = { body, 0 };
	const struct flowside *to;
	struct flowside key;
	struct ip_view qip;
	struct l4_view ql4;
	struct flow *f;
	unsigned int from;
	struct iovec iov[3];
	uint32_t idx;
	size_t len;

	if (!icmp6_is_error(l4->type) || ip6_parse_quote(l4->data, &qip) ||
	    qip.hdr.len != IP6_HLEN || l4_parse_quote(&qip, &ql4))
		return;

	flowside_set(&key, &qip.dst, ql4.dport, &qip.src, ql4.sport);
	idx = ct_lookup(&c->fwd.ct, qip.proto, pif, &key, &from);
	if (idx == FLOW_NONE) {
		trace(c, "fwd: no flow for ICMPv6 type %u from %s about "
		      "protocol %u to %s:%u from %s port %u", l4->type,
		      inany_ntop(&ip->src).s, qip.proto,
		      inany_ntop(&qip.dst).s, ql4.dport,
		      pif == PIF_HOST ? "host" : "guest", ql4.sport);
		return;
	}
	f = &c->fwd.ct.flows[idx];
	to = &f->side[ct_other(from)];
	if (pif == PIF_TAP && ip->ttl <= 1)
		return;
	if (pif == PIF_HOST && icmp6_tso_mtu(c, f, idx, l4))
		return;

	/* The quote, cut to what fits the minimum MTU (RFC 4443 2.4 (c)) and
	 * the guest's link, copied and rewritten
	 */
	len = MIN(l4->data.len, (size_t)(pif == PIF_HOST ?
					 MIN(c->link.mtu,
					     (unsigned)IP6_MTU_MIN) :
					 IP6_MTU_MIN) - IP6_HLEN - ICMP_HLEN);
	q.len = len;
	memcpy(body, l4->data.p, len);
	icmp6_quote_rewrite(q, &qip, to);

	memcpy(msg, l4->hdr.p, ICMP_HLEN);
	memset(msg + ICMP_OFF_CHECK, 0, 2);
	if (pif == PIF_HOST) {
		icmp6_send(c, icmp6_error_src(c, f, ct_other(from),
					      &ip->src.a6),
			   &to->eaddr.a6, ip->ttl > 1 ? ip->ttl - 1 : 1, msg,
			   body, len);
	} else {
		int ret;

		icmp6_build(hdr, &to->oaddr.a6, &to->eaddr.a6,
			    (uint8_t)(ip->ttl - 1),
			    msg, body, len);
		iov[0].iov_base = hdr;
		iov[0].iov_len = sizeof(hdr);
		iov[1].iov_base = msg;
		iov[1].iov_len = ICMP_HLEN;
		iov[2].iov_base = body;
		iov[2].iov_len = len;
		ret = raw_send6(&c->fwd.raw, iov, 3, &to->eaddr.a6);
		if (ret) {
			drop(c, raw_drop_why(ret), "flow %u: ICMPv6 error for "
			     "the peer not sent: %s", idx, strerror(-ret));
			return;
		}
	}

	trace(c, "flow %u: ICMPv6 type %u code %u for the %s", idx, l4->type,
	      l4->code, pif == PIF_HOST ? "guest" : "peer");
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
	icmp6_translate(c, ip, l4, PIF_HOST);
}

/**
 * icmp6_error_out() - pass on an ICMPv6 error the guest sent about a flow
 * @c:		context
 * @ip:		the error, from the guest
 * @l4:		its ICMPv6 header; @data is the quote
 */
void icmp6_error_out(struct ctx *c, const struct ip_view *ip,
		     const struct l4_view *l4)
{
	icmp6_translate(c, ip, l4, PIF_TAP);
}
