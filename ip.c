// SPDX-License-Identifier: GPL-2.0-or-later
/* ip.c - transport headers: checked once, read from the view afterwards
 *
 * Copyright (c) 2026 merd authors
 */

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>

#include "ip.h"
#include "util.h"

/* RFC 7323 2.2: the window scale option */
#define TCPOPT_WS_KIND	3
#define TCPOPT_WS_LEN	3
/* RFC 7323 2.3: a shift above 14 is taken as 14 */
#define TCP_WSCALE_MAX	14

/**
 * l4_tcp_opt() - find a TCP option of a given kind and length
 * @opt:	the options, after the fixed header
 * @kind:	option kind
 * @len:	its length, kind and length bytes included
 * @off:	set to the option's offset in @opt, if found
 *
 * Walks the options with a bounded cursor: a length field never takes it
 * past their end. An option of @kind but another length is passed over.
 *
 * Return: true if the whole option lies in @opt
 */
bool l4_tcp_opt(struct pkt opt, uint8_t kind, uint8_t len, size_t *off)
{
	size_t o = 0;
	uint8_t k, l;

	while (pkt_get(opt, o, &k, 1)) {
		if (k == TCPOPT_EOL)
			break;
		if (k == TCPOPT_NOP) {
			o++;
			continue;
		}
		if (!pkt_get(opt, o + 1, &l, 1) || l < 2)
			break;
		if (k == kind && l == len && o + len <= opt.len) {
			*off = o;
			return true;
		}
		o += l;
	}
	return false;
}

/**
 * l4_tcp_wscale() - the window scale option of a TCP header, if any
 * @opt:	the options, after the fixed header
 *
 * Return: the shift, at most TCP_WSCALE_MAX, or L4_NO_WSCALE
 */
static uint8_t l4_tcp_wscale(struct pkt opt)
{
	size_t off;
	uint8_t shift;

	if (!l4_tcp_opt(opt, TCPOPT_WS_KIND, TCPOPT_WS_LEN, &off) ||
	    !pkt_get(opt, off + 2, &shift, 1))
		return L4_NO_WSCALE;
	return MIN(shift, (uint8_t)TCP_WSCALE_MAX);
}

/**
 * l4_tcp() - check a TCP header
 * @v:		bytes from the TCP header on
 * @l4:		filled in
 *
 * Return: 0 on success, -1 if it is malformed
 */
static int l4_tcp(struct pkt v, struct l4_view *l4)
{
	struct tcphdr th;
	size_t hlen;

	if (!pkt_get(v, 0, &th, sizeof(th)))
		return -1;
	hlen = (size_t)th.doff * 4;
	if (hlen < TCP_HLEN_MIN || !pkt_sub(v, 0, hlen, &l4->hdr) ||
	    !pkt_tail(v, hlen, &l4->data))
		return -1;

	l4->sport = ntohs(th.source);
	l4->dport = ntohs(th.dest);
	l4->seq = ntohl(th.seq);
	l4->ack = ntohl(th.ack_seq);
	l4->win = ntohs(th.window);
	pkt_get(v, TCP_OFF_FLAGS, &l4->flags, 1);
	l4->wscale = L4_NO_WSCALE;
	if (l4->flags & TH_SYN) {
		struct pkt opt;

		pkt_sub(l4->hdr, sizeof(th), hlen - sizeof(th), &opt);
		l4->wscale = l4_tcp_wscale(opt);
	}
	return 0;
}

/**
 * l4_udp() - check a UDP header and its length field
 * @v:		bytes from the UDP header on
 * @l4:		filled in
 *
 * Return: 0 on success, -1 if it is malformed
 */
static int l4_udp(struct pkt v, struct l4_view *l4)
{
	struct udphdr uh;
	size_t ulen;

	if (!pkt_get(v, 0, &uh, sizeof(uh)))
		return -1;
	ulen = ntohs(uh.len);
	if (ulen < sizeof(uh) || !pkt_sub(v, 0, UDP_HLEN, &l4->hdr) ||
	    !pkt_sub(v, UDP_HLEN, ulen - UDP_HLEN, &l4->data))
		return -1;
	l4->sport = ntohs(uh.source);
	l4->dport = ntohs(uh.dest);
	return 0;
}

/**
 * l4_icmp() - check an ICMP or ICMPv6 header
 * @v:		bytes from the ICMP header on
 * @echo:	type of an echo request: ICMP_ECHO or ICMP6_ECHO_REQUEST
 * @reply:	type of an echo reply: ICMP_ECHOREPLY or ICMP6_ECHO_REPLY
 * @l4:		filled in: an echo's identifier in @sport (request) or
 *		@dport (reply)
 *
 * ICMPv6 messages start as ICMP ones do (RFC 4443 2.1), and its echo
 * messages have the identifier where ICMP's have it (RFC 4443 4.1, 4.2).
 *
 * Return: 0 on success, -1 if it is malformed
 */
static int l4_icmp(struct pkt v, uint8_t echo, uint8_t reply,
		   struct l4_view *l4)
{
	struct icmphdr ih;

	if (!pkt_get(v, 0, &ih, sizeof(ih)) ||
	    !pkt_sub(v, 0, ICMP_HLEN, &l4->hdr) ||
	    !pkt_tail(v, ICMP_HLEN, &l4->data))
		return -1;
	l4->type = ih.type;
	l4->code = ih.code;
	if (ih.type == echo)
		l4->sport = ntohs(ih.un.echo.id);
	else if (ih.type == reply)
		l4->dport = ntohs(ih.un.echo.id);
	return 0;
}

/**
 * l4_parse() - check the transport header of a packet
 * @ip:		checked packet, not a later fragment
 * @l4:		filled in
 *
 * Return: 0 on success, -1 if it is malformed or of another protocol
 */
int l4_parse(const struct ip_view *ip, struct l4_view *l4)
{
	memset(l4, 0, sizeof(*l4));
	l4->proto = ip->proto;
	switch (ip->proto) {
	case IPPROTO_TCP:
		return l4_tcp(ip->l4, l4);
	case IPPROTO_UDP:
		return l4_udp(ip->l4, l4);
	case IPPROTO_ICMP:
		if (ip->family == AF_INET6)
			return -1;
		return l4_icmp(ip->l4, ICMP_ECHO, ICMP_ECHOREPLY, l4);
	case IPPROTO_ICMPV6:
		if (ip->family != AF_INET6)
			return -1;
		return l4_icmp(ip->l4, ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY,
			       l4);
	default:
		return -1;
	}
}

/**
 * l4_quote_echo() - read the identifier of a quoted echo request
 * @q:		the quoted ICMP or ICMPv6 header, at least ICMP_HLEN bytes
 * @echo:	type of an echo request: ICMP_ECHO or ICMP6_ECHO_REQUEST
 * @l4:		@type and @sport set on success
 *
 * Return: 0 on success, -1 if it isn't an echo request
 */
static int l4_quote_echo(struct pkt q, uint8_t echo, struct l4_view *l4)
{
	uint8_t type;
	uint16_t id;

	if (!pkt_get(q, 0, &type, 1) || type != echo ||
	    !pkt_get(q, 4, &id, sizeof(id)))
		return -1;
	l4->type = type;
	l4->sport = ntohs(id);
	return 0;
}

/**
 * l4_parse_quote() - read the ports of the packet an ICMP error quotes
 * @ip:		the quoted packet, as ip4_parse_quote() or ip6_parse_quote()
 *		found it
 * @l4:		filled in: protocol, ports (or echo identifier, as for a
 *		request), and @hdr, as much of the header as was quoted
 *
 * RFC 792 quotes 8 bytes of the transport header, which hold the ports and
 * the echo identifier; more may be there, or not. RFC 4443 2.4 (c) quotes
 * as much as fits in 1280 bytes, which may still be less than 8 bytes of
 * it after long extension headers.
 *
 * Return: 0 on success, -1 if the quote holds less, or isn't TCP, UDP or
 *	   an ICMP or ICMPv6 echo request
 */
int l4_parse_quote(const struct ip_view *ip, struct l4_view *l4)
{
	uint16_t w[2];

	memset(l4, 0, sizeof(*l4));
	l4->proto = ip->proto;
	if (!pkt_get(ip->l4, 0, w, sizeof(w)) || ip->l4.len < ICMP_HLEN)
		return -1;
	l4->hdr = ip->l4;
	switch (ip->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		l4->sport = ntohs(w[0]);
		l4->dport = ntohs(w[1]);
		return 0;
	case IPPROTO_ICMP:
		if (ip->family == AF_INET6)
			return -1;
		return l4_quote_echo(ip->l4, ICMP_ECHO, l4);
	case IPPROTO_ICMPV6:
		if (ip->family != AF_INET6)
			return -1;
		return l4_quote_echo(ip->l4, ICMP6_ECHO_REQUEST, l4);
	default:
		return -1;
	}
}
