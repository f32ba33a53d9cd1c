// SPDX-License-Identifier: GPL-2.0-or-later
/* icmp.c - ICMP errors for the guest: merd's own, and the network's
 *
 * Copyright (c) 2026 merd authors
 *
 * merd is the guest's first hop: it says "time exceeded" when a packet's TTL
 * runs out (so traceroute shows it), "fragmentation needed" with the MTU when
 * a packet that mustn't be fragmented doesn't fit (so path MTU discovery
 * works), and "administratively prohibited" when it can't take a new flow.
 * Errors come from the gateway address, as from a router, and quote the
 * guest's packet as RFC 792 and RFC 1812 4.3.2.3 say (icmp_error()).
 *
 * Errors the network sends about one of the guest's flows are translated
 * (icmp_error_in()): the flow is found by the packet they quote, which was
 * sent from the host; the quote is rewritten back into the packet as the
 * guest sent it, every checksum in it kept right (nat.c); and the error gets
 * a new outer header, to the guest, from the router that sent it (or from
 * the gateway, if that was the host itself). "Fragmentation needed" about
 * a flow whose TCP segments merd cuts (tcp.c) isn't passed on: it makes
 * merd's pieces smaller instead (icmp_tso_mtu()).
 */

#include <string.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/uio.h>

#include "conntrack.h"
#include "csum.h"
#include "icmp.h"
#include "ip4.h"
#include "log.h"
#include "merd.h"
#include "nat.h"
#include "raw.h"
#include "tap.h"
#include "tcp.h"

/* Room for a quoted IPv4 header with options, and a TCP header, and a byte
 * more: what follows the copy must start at an even offset to be summed
 * apart (csum_partial())
 */
#define ICMP_QUOTE_HDR_MAX	(60 + TCP_HLEN_MAX + 1)

/**
 * icmp_error_build() - an ICMP error about a packet, to its source
 * @hdr:	set to the error's IPv4 and ICMP headers (ICMP_ERROR_HDR
 *		bytes); the quote, @orig's first bytes, follows them
 * @type:	ICMP type
 * @code:	ICMP code
 * @mtu:	next-hop MTU for "fragmentation needed" (RFC 1191), else 0
 * @saddr:	source of the error, network order
 * @orig:	the packet (its header and payload lie one after the other,
 *		as both parsers leave them)
 * @room:	most bytes the error may take, headers included
 * @id:		IPv4 identification
 *
 * Return: length of the quote, 0 if no error is due: RFC 1122 3.2.2, never
 *	   about an ICMP error, a later fragment, or a packet whose source
 *	   doesn't name one host
 */
size_t icmp_error_build(uint8_t *hdr, uint8_t type, uint8_t code,
			uint16_t mtu, uint32_t saddr,
			const struct ip_view *orig, size_t room, uint16_t id)
{
	struct icmphdr ih = { .type = type, .code = code };
	uint32_t src = inany_v4(&orig->src), sum;
	uint8_t otype;
	size_t quote;

	if (orig->frag || (!ip4_is_unicast(src) && !ip4_is_loopback(src)) ||
	    room <= ICMP_ERROR_HDR)
		return 0;
	if (orig->proto == IPPROTO_ICMP && pkt_get(orig->l4, 0, &otype, 1) &&
	    otype != ICMP_ECHO)
		return 0;

	quote = MIN(orig->hdr.len + orig->l4.len, room - ICMP_ERROR_HDR);
	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
		ih.un.frag.mtu = htons(mtu);

	memcpy(hdr + IP4_HLEN_MIN, &ih, sizeof(ih));
	sum = csum_partial(hdr + IP4_HLEN_MIN, ICMP_HLEN, 0);
	ih.checksum = csum_finish(csum_partial(orig->hdr.p, quote, sum));
	memcpy(hdr + IP4_HLEN_MIN, &ih, sizeof(ih));
	ip4_header(hdr, saddr, src, IPPROTO_ICMP, id, ICMP_HLEN + quote);
	return quote;
}

/**
 * icmp_error() - send the guest an ICMP error about one of its packets
 * @c:		context
 * @type:	ICMP type
 * @code:	ICMP code
 * @mtu:	next-hop MTU for "fragmentation needed" (RFC 1191), else 0
 * @saddr:	source of the error, network order
 * @orig:	the guest's packet (its header and payload lie one after the
 *		other, as both parsers leave them)
 */
void icmp_error(struct ctx *c, uint8_t type, uint8_t code, uint16_t mtu,
		uint32_t saddr, const struct ip_view *orig)
{
	uint8_t hdr[ICMP_ERROR_HDR];
	struct iovec iov[2];
	size_t quote;

	if (ip4_is_loopback(inany_v4(&orig->src)))
		return;
	/* As much as fits in 576 bytes (RFC 1812 4.3.2.3), and in the link */
	quote = icmp_error_build(hdr, type, code, mtu, saddr, orig,
				 MIN((size_t)ICMP_ERROR_MAX,
				     (size_t)c->link.mtu), c->fwd.ip_id);
	if (!quote)
		return;
	c->fwd.ip_id++;

	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = iov_const(orig->hdr.p);	/* only read */
	iov[1].iov_len = quote;
	tap_send_ip(c, iov, 2);

	trace(c, "icmp: type %u code %u to the guest about a packet to %s",
	      type, code, inany_ntop(&orig->dst).s);
}

/**
 * icmp_is_error() - tell whether an ICMP type is an error merd translates
 * @type:	ICMP type
 *
 * Return: true for destination unreachable, time exceeded, parameter
 *	   problem
 */
static bool icmp_is_error(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

/**
 * icmp_error_src() - whom the translated error comes from, for the guest
 * @c:		context
 * @f:		flow
 * @ts:		its side on the guest's link
 * @src:	source of the error, network order
 *
 * Return: the router that sent it; the gateway if it was the host (or the
 *	   peer the gateway address stands for)
 */
static uint32_t icmp_error_src(const struct ctx *c, const struct flow *f,
			       unsigned int ts, uint32_t src)
{
	const struct flowside *host = &f->side[ct_other(ts)];
	const struct flowside *tap = &f->side[ts];

	if (src == inany_v4(&host->eaddr) &&
	    !inany_equals(&host->eaddr, &tap->oaddr))
		return inany_v4(&tap->oaddr);
	if (ip4_is_loopback(src) || src == c->host.out4.s_addr)
		return c->guest4.gw.s_addr;
	return src;
}

/**
 * icmp_quote_rewrite() - rewrite a quoted packet into the one a side's
 *			  endpoint sent
 * @q:		copy of the quoted header and transport header
 * @qhl:	length of the quoted IPv4 header
 * @qip:	the quote as parsed
 * @tap:	the flow's side the error goes to
 */
static void icmp_quote_rewrite(struct wpkt q, size_t qhl,
			       const struct ip_view *qip,
			       const struct flowside *tap)
{
	struct nat_rw rw = {
		.osaddr = inany_v4(&qip->src), .odaddr = inany_v4(&qip->dst),
		.saddr = inany_v4(&tap->eaddr), .daddr = inany_v4(&tap->oaddr),
		.sport = tap->eport, .dport = tap->oport,
	};
	struct wpkt ql4 = { NULL, 0 };

	wpkt_tail(q, qhl, &ql4);
	nat_l4(ql4, qip->proto, &rw);
	nat_ip4(q, rw.saddr, rw.daddr);
}

/**
 * icmp_tso_mtu() - take a path MTU from "fragmentation needed" about a
 *		    flow whose segments merd cuts
 * @c:		context
 * @f:		the flow
 * @idx:	its number, for the trace
 * @l4:		the error's ICMP header
 *
 * The packet that didn't fit was one of merd's pieces (tcp_to_host()): the
 * pieces get smaller, and the guest, whose segments are cut anyway, keeps
 * its MSS: the error stops here. The guest's TCP sends again what was lost
 * when the peer doesn't acknowledge it, and that is cut to the new size.
 *
 * Return: true if the error was taken, false if it goes on to the guest
 */
static bool icmp_tso_mtu(const struct ctx *c, struct flow *f, uint32_t idx,
			 const struct l4_view *l4)
{
	uint16_t mtu, mss;

	if (!f->mss || l4->type != ICMP_DEST_UNREACH ||
	    l4->code != ICMP_FRAG_NEEDED ||
	    !pkt_get(l4->hdr, offsetof(struct icmphdr, un.frag.mtu), &mtu,
		     sizeof(mtu)))
		return false;
	mss = tcp_tso_mtu(f, ntohs(mtu));
	trace(c, "flow %u: path MTU %u: merd cuts segments to %u", idx,
	      ntohs(mtu), mss);
	(void)mss;
	(void)idx;
	return true;
}

/**
 * icmp_translate() - translate an ICMP error about a flow to its other side
 * @c:		context
 * @ip:		the error, as received
 * @l4:		its ICMP header; @data is the quote
 * @pif:	where it came from: PIF_HOST (the network, for the guest) or
 *		PIF_TAP (the guest, for the network)
 *
 * The quoted packet left from the side the error came on: its key there,
 * turned around, finds the flow; the quote is rewritten into the packet as
 * the other side's endpoint sent it, and the error goes to that endpoint
 * from the router that sent it (toward the network: from the host's
 * address, as the endpoint knows it). A router's hop: the TTL drops by one.
 */
static void icmp_translate(struct ctx *c, const struct ip_view *ip,
			   const struct l4_view *l4, uint8_t pif)
{
	uint8_t hdr[IP4_HLEN_MIN + ICMP_HLEN + ICMP_QUOTE_HDR_MAX];
	struct wpkt q = { hdr + IP4_HLEN_MIN + ICMP_HLEN, 0 };
	struct iovec iov[2] = { { hdr, 0 }, { NULL, 0 } };
	struct pkt rest = { NULL, 0 };
	const struct flowside *to;
	struct flowside key;
	struct ip_view qip;
	struct l4_view ql4;
	struct flow *f;
	unsigned int from;
	size_t len, room;
	struct iphdr nh;
	uint32_t idx, sum;
	int ret;
	uint16_t check;

	if (!icmp_is_error(l4->type) || ip4_parse_quote(l4->data, &qip) ||
	    l4_parse_quote(&qip, &ql4))
		return;

	flowside_set(&key, &qip.dst, ql4.dport, &qip.src, ql4.sport);
	idx = ct_lookup(&c->fwd.ct, qip.proto, pif, &key, &from);
	if (idx == FLOW_NONE) {
		trace(c, "fwd: no flow for ICMP type %u from %s about protocol "
		      "%u to %s:%u from %s port %u", l4->type,
		      inany_ntop(&ip->src).s, qip.proto,
		      inany_ntop(&qip.dst).s, ql4.dport,
		      pif == PIF_HOST ? "host" : "guest", ql4.sport);
		return;
	}
	f = &c->fwd.ct.flows[idx];
	to = &f->side[ct_other(from)];
	if (pif == PIF_TAP && ip->ttl <= 1)
		return;
	if (pif == PIF_HOST && icmp_tso_mtu(c, f, idx, l4))
		return;

	/* The quote's headers, rewritten in a copy; the rest stays where it
	 * was received
	 */
	q.len = MIN(qip.hdr.len + qip.l4.len, (size_t)ICMP_QUOTE_HDR_MAX - 1);
	if (q.len % 2 && q.len < l4->data.len)
		q.len++;	/* the rest is summed apart: from an even offset */
	memcpy(q.p, l4->data.p, q.len);
	if (!pkt_tail(l4->data, q.len, &rest))
		return;
	icmp_quote_rewrite(q, qip.hdr.len, &qip, to);

	/* A new header, without options, right before the ICMP message: to
	 * fit, only the quote may be cut (RFC 1812 4.3.2.3)
	 */
	room = pif == PIF_HOST ? c->link.mtu : ICMP_ERROR_MAX;
	len = MIN(IP4_HLEN_MIN + ICMP_HLEN + q.len + rest.len, room);
	q.len = MIN(q.len, len - (IP4_HLEN_MIN + ICMP_HLEN));
	rest.len = len - (IP4_HLEN_MIN + ICMP_HLEN + q.len);
	nh = (struct iphdr){ .version = 4, .ihl = IP4_HLEN_MIN / 4,
			     .tos = ip->tos, .id = htons((uint16_t)ip->id),
			     .ttl = ip->ttl > 1 ? ip->ttl - 1 : 1,
			     .protocol = IPPROTO_ICMP,
			     .saddr = pif == PIF_HOST ?
				      icmp_error_src(c, f, ct_other(from),
						     inany_v4(&ip->src)) :
				      inany_v4(&to->oaddr),
			     .daddr = inany_v4(&to->eaddr) };
	nh.tot_len = htons((uint16_t)len);
	nh.check = csum_ip4_header(&nh, sizeof(nh));
	memcpy(hdr, &nh, sizeof(nh));

	memcpy(hdr + IP4_HLEN_MIN, l4->hdr.p, ICMP_HLEN);
	memset(hdr + IP4_HLEN_MIN + 2, 0, 2);
	sum = csum_partial(hdr + IP4_HLEN_MIN, ICMP_HLEN + q.len, 0);
	check = csum_finish(csum_partial(rest.p, rest.len, sum));
	memcpy(hdr + IP4_HLEN_MIN + 2, &check, 2);

	iov[0].iov_len = IP4_HLEN_MIN + ICMP_HLEN + q.len;
	iov[1].iov_base = iov_const(rest.p);
	iov[1].iov_len = rest.len;
	if (pif == PIF_HOST) {
		tap_send_ip(c, iov, 2);
	} else if ((ret = raw_send(&c->fwd.raw, iov, 2, nh.daddr))) {
		drop(c, raw_drop_why(ret), "flow %u: ICMP error for the peer "
		     "not sent: %s", idx, strerror(-ret));
		return;
	}

	trace(c, "flow %u: ICMP type %u code %u for the %s", idx, l4->type,
	      l4->code, pif == PIF_HOST ? "guest" : "peer");
}

/**
 * icmp_error_in() - translate an ICMP error about one of the guest's flows
 * @c:		context
 * @ip:		the error, as received
 * @l4:		its ICMP header; @data is the quote
 */
void icmp_error_in(struct ctx *c, const struct ip_view *ip,
		   const struct l4_view *l4)
{
	icmp_translate(c, ip, l4, PIF_HOST);
}

/**
 * icmp_error_out() - pass on an ICMP error the guest sent about a flow
 * @c:		context
 * @ip:		the error, from the guest (its destination unchecked: the
 *		flow says where it goes)
 * @l4:		its ICMP header; @data is the quote
 *
 * As a router would: the guest refusing a datagram (port unreachable)
 * tells the peer, from the host's address, about the packet it sent.
 */
void icmp_error_out(struct ctx *c, const struct ip_view *ip,
		    const struct l4_view *l4)
{
	icmp_translate(c, ip, l4, PIF_TAP);
}
