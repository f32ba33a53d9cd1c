// SPDX-License-Identifier: GPL-2.0-or-later
/* dhcp.c - DHCP server handing the guest the host's own IPv4 identity
 *
 * Copyright (c) 2026 merd authors
 *
 * There is one client and one address: the guest always gets the host's
 * address, prefix, gateway, DNS servers, search list and MTU. The server
 * keeps no lease state; it answers DISCOVER with OFFER, REQUEST with ACK or
 * NAK in the SELECTING, INIT-REBOOT, RENEWING and REBINDING states (RFC 2131
 * 4.3.2), INFORM with ACK (4.3.5), and takes note of RELEASE and DECLINE.
 *
 * Requests are parsed with a cursor that is checked before every access; an
 * option that overruns its field, a missing end option or a wrong option
 * length drops the request.
 */

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/udp.h>

#include "csum.h"
#include "dhcp.h"
#include "log.h"

#define BOOTREQUEST	1
#define BOOTREPLY	2
#define DHCP_MAGIC	0x63825363	/* RFC 2131 3: magic cookie */
#define DHCP_FLAG_BROADCAST 0x8000	/* RFC 2131 2, Figure 2 */
#define ARPHRD_ETHER_BOOTP 1		/* RFC 1700: htype for Ethernet */

/* RFC 1542 2.1: a BOOTP message is at least 300 octets, so pad replies */
#define BOOTP_MIN_LEN	300
/* RFC 2132 9.10: every client accepts 576-byte IP datagrams */
#define DHCP_MIN_MAX_SIZE 576
/* RFC 2132 2: a single option carries at most 255 bytes of data */
#define OPT_DATA_MAX	255
/* Option codes are one octet (RFC 2132 2) */
#define OPT_CODES	256

/* Options, RFC 2132 and RFC 3397 */
enum {
	OPT_PAD = 0,
	OPT_SUBNET_MASK = 1,
	OPT_ROUTER = 3,
	OPT_DNS = 6,
	OPT_DOMAIN_NAME = 15,
	OPT_MTU = 26,
	OPT_BROADCAST = 28,
	OPT_REQUESTED_IP = 50,
	OPT_LEASE_TIME = 51,
	OPT_OVERLOAD = 52,
	OPT_MSG_TYPE = 53,
	OPT_SERVER_ID = 54,
	OPT_PRL = 55,
	OPT_MESSAGE = 56,
	OPT_MAX_SIZE = 57,
	OPT_T1 = 58,
	OPT_T2 = 59,
	OPT_SEARCH = 119,
	OPT_END = 255,
};

/* Message types, RFC 2132 9.6 */
enum {
	DHCPDISCOVER = 1,
	DHCPOFFER,
	DHCPREQUEST,
	DHCPDECLINE,
	DHCPACK,
	DHCPNAK,
	DHCPRELEASE,
	DHCPINFORM,
};

/* RFC 2132 9.3: option overload values */
#define OVERLOAD_FILE	1
#define OVERLOAD_SNAME	2

/**
 * struct bootp - fixed part of a DHCP message (RFC 2131 2, Figure 1)
 * @op:		BOOTREQUEST or BOOTREPLY
 * @htype:	hardware address type
 * @hlen:	hardware address length
 * @hops:	relay hops
 * @xid:	transaction ID
 * @secs:	seconds since the client began
 * @flags:	broadcast flag
 * @ciaddr:	client address, if it has one
 * @yiaddr:	"your" address, given by the server
 * @siaddr:	next server
 * @giaddr:	relay agent address
 * @chaddr:	client hardware address
 * @sname:	server host name, or options if overloaded
 * @file:	boot file name, or options if overloaded
 * @magic:	DHCP_MAGIC
 */
struct bootp {
	uint8_t op;
	uint8_t htype;
	uint8_t hlen;
	uint8_t hops;
	uint32_t xid;
	uint16_t secs;
	uint16_t flags;
	uint32_t ciaddr;
	uint32_t yiaddr;
	uint32_t siaddr;
	uint32_t giaddr;
	uint8_t chaddr[16];
	uint8_t sname[64];
	uint8_t file[128];
	uint32_t magic;
};

_Static_assert(sizeof(struct bootp) == 240, "BOOTP header layout");

/**
 * struct dhcp_req - what merd needs from a request
 * @type:	message type (option 53)
 * @reqip:	requested address (option 50), network order, 0 if absent
 * @srvid:	server identifier (option 54), network order, 0 if absent
 * @maxsize:	largest message the client takes (option 57), 0 if absent
 * @overload:	option overload (option 52), 0 if absent
 * @prl:	parameter request list (option 55), in the client's order,
 *		each code once: at most one entry per code
 * @prl_len:	entries in @prl, 0 if the client sent no list
 * @prl_has:	codes in @prl, a bit per code: a repeat is found at once,
 *		so that the list costs what its length does (a 64 KiB
 *		request holds 65,000 codes)
 * @seen:	options met so far in this request, to refuse repetitions
 */
struct dhcp_req {
	uint8_t type;
	uint32_t reqip;
	uint32_t srvid;
	uint16_t maxsize;
	uint8_t overload;
	uint8_t prl[OPT_CODES];
	size_t prl_len;
	uint8_t prl_has[OPT_CODES / 8];
	uint8_t seen[OPT_CODES / 8];
};

/**
 * struct dhcp_opts - option area of a reply being built
 * @buf:	option bytes
 * @len:	bytes written
 * @cap:	bytes available, keeping one for the end option
 * @done:	options already written, by code
 */
struct dhcp_opts {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint8_t done[OPT_CODES / 8];
};

/**
 * dhcp_prl_add() - add parameter request list entries, skipping repeats
 * @r:		request
 * @codes:	option codes
 * @n:		their number
 *
 * Constant time per code: @r->prl_has tells a repeat.
 */
static void dhcp_prl_add(struct dhcp_req *r, const uint8_t *codes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t code = codes[i], bit = (uint8_t)(1U << (code % 8));

		if ((r->prl_has[code / 8] & bit) ||
		    r->prl_len >= sizeof(r->prl))
			continue;
		r->prl_has[code / 8] |= bit;
		r->prl[r->prl_len++] = code;
	}
}

/**
 * dhcp_opt_take() - check and store one option of a request
 * @r:		request being parsed
 * @code:	option code
 * @data:	option data
 * @len:	its length
 * @main:	the option is in the options field, not in sname or file
 *
 * Return: 0 if acceptable, -1 if malformed (the request is dropped)
 */
static int dhcp_opt_take(struct dhcp_req *r, uint8_t code, const uint8_t *data,
			 size_t len, bool main)
{
	bool repeated = r->seen[code / 8] & (1U << (code % 8));
	uint16_t u16;

	r->seen[code / 8] |= (uint8_t)(1U << (code % 8));

	switch (code) {
	case OPT_MSG_TYPE:	/* RFC 2132 9.6: length 1, types 1 to 8 */
		if (len != 1 || repeated || !data[0] || data[0] > DHCPINFORM)
			return -1;
		r->type = data[0];
		return 0;
	case OPT_REQUESTED_IP:	/* RFC 2132 9.1: length 4 */
		if (len != 4 || repeated)
			return -1;
		memcpy(&r->reqip, data, 4);
		return 0;
	case OPT_SERVER_ID:	/* RFC 2132 9.7: length 4 */
		if (len != 4 || repeated)
			return -1;
		memcpy(&r->srvid, data, 4);
		return 0;
	case OPT_MAX_SIZE:	/* RFC 2132 9.10: length 2, at least 576 */
		if (len != 2 || repeated)
			return -1;
		memcpy(&u16, data, 2);
		r->maxsize = MAX(ntohs(u16), DHCP_MIN_MAX_SIZE);
		return 0;
	case OPT_OVERLOAD:	/* RFC 2132 9.3: length 1, values 1 to 3 */
		if (!main)
			return 0;	/* meaningless outside options */
		if (len != 1 || repeated || !data[0] ||
		    data[0] > (OVERLOAD_FILE | OVERLOAD_SNAME))
			return -1;
		r->overload = data[0];
		return 0;
	case OPT_PRL:		/* RFC 3396: repeated instances concatenate */
		if (!len)
			return -1;
		dhcp_prl_add(r, data, len);
		return 0;
	default:
		return 0;
	}
}

/**
 * dhcp_opts_parse() - walk one option area (options, file or sname field)
 * @r:		request being parsed
 * @v:		option bytes
 * @main:	@v is the options field
 *
 * Return: 0 if the area is well formed and ends with an end option, -1 if
 *	   an option overruns it or the end option is missing
 */
static int dhcp_opts_parse(struct dhcp_req *r, struct pkt v, bool main)
{
	size_t off = 0;

	while (off < v.len) {
		uint8_t code = v.p[off], len;

		if (code == OPT_END)
			return 0;
		if (code == OPT_PAD) {
			off++;
			continue;
		}
		if (!pkt_get(v, off + 1, &len, 1) || !pkt_in(v, off + 2, len))
			return -1;
		if (dhcp_opt_take(r, code, v.p + off + 2, len, main))
			return -1;
		off += 2U + len;
	}
	return -1;	/* RFC 2131 4.1: the options end with an end option */
}

/**
 * dhcp_parse() - check a request and extract what the server needs
 * @bp:		BOOTP message, starting at the fixed part, untrusted
 * @msg:	fixed part, copied out of @bp
 * @r:		parsed request, filled on success
 *
 * Return: 0 on success, -1 to drop the request
 */
static int dhcp_parse(struct pkt bp, struct bootp *msg, struct dhcp_req *r)
{
	struct pkt opts;

	memset(r, 0, sizeof(*r));
	if (!pkt_get(bp, 0, msg, sizeof(*msg)) ||
	    !pkt_tail(bp, sizeof(*msg), &opts))
		return -1;
	if (msg->op != BOOTREQUEST || msg->htype != ARPHRD_ETHER_BOOTP ||
	    msg->hlen != ETH_ALEN || ntohl(msg->magic) != DHCP_MAGIC)
		return -1;

	if (dhcp_opts_parse(r, opts, true))
		return -1;

	/* RFC 2131 4.1: with option overload, "file" and then "sname" hold
	 * more options, and each ends with an end option
	 */
	if (r->overload & OVERLOAD_FILE) {
		struct pkt f = { bp.p + offsetof(struct bootp, file),
				 sizeof(msg->file) };

		if (dhcp_opts_parse(r, f, false))
			return -1;
	}
	if (r->overload & OVERLOAD_SNAME) {
		struct pkt s = { bp.p + offsetof(struct bootp, sname),
				 sizeof(msg->sname) };

		if (dhcp_opts_parse(r, s, false))
			return -1;
	}

	return r->type ? 0 : -1;	/* plain BOOTP isn't served */
}

/**
 * dhcp_opt_put() - append an option to a reply, once per code
 * @o:		option area
 * @code:	option code
 * @data:	option data, split into several instances if longer than 255
 *		bytes (RFC 3396)
 * @len:	data length
 *
 * Return: true if written, false if it doesn't fit (nothing written)
 */
static bool dhcp_opt_put(struct dhcp_opts *o, uint8_t code, const void *data,
			 size_t len)
{
	size_t parts = len ? (len + OPT_DATA_MAX - 1) / OPT_DATA_MAX : 1;
	const uint8_t *p = data;

	if (o->done[code / 8] & (1U << (code % 8)))
		return true;
	if (o->cap - o->len < len + 2 * parts)
		return false;

	do {
		size_t n = MIN(len, (size_t)OPT_DATA_MAX);

		o->buf[o->len++] = code;
		o->buf[o->len++] = (uint8_t)n;
		memcpy(o->buf + o->len, p, n);
		o->len += n;
		p += n;
		len -= n;
	} while (len);

	o->done[code / 8] |= (uint8_t)(1U << (code % 8));
	return true;
}

/**
 * dhcp_opt_put32() - append an option holding one 32-bit value
 * @o:		option area
 * @code:	option code
 * @v:		value, network order
 */
static void dhcp_opt_put32(struct dhcp_opts *o, uint8_t code, uint32_t v)
{
	dhcp_opt_put(o, code, &v, sizeof(v));
}

/**
 * dhcp_encode_search() - encode the search list for option 119
 * @g:		guest configuration
 * @buf:	destination
 * @size:	size of @buf
 *
 * RFC 3397 2: a series of names in RFC 1035 3.1 encoding (length-prefixed
 * labels, each name ending with a zero octet), uncompressed.
 *
 * Return: encoded length, 0 if there are no names or they don't fit
 */
size_t dhcp_encode_search(const struct guest_link *g, uint8_t *buf,
			  size_t size)
{
	size_t len = 0;
	int i;

	for (i = 0; i < g->search_n; i++) {
		const char *s = g->search[i];

		while (*s) {
			size_t l = strcspn(s, ".");

			if (len + 1 + l >= size)
				return 0;
			buf[len++] = (uint8_t)l;
			memcpy(buf + len, s, l);
			len += l;
			s += l;
			if (*s == '.')
				s++;
		}
		if (len >= size)
			return 0;
		buf[len++] = 0;
	}
	return len;
}

/**
 * dhcp_opt_param() - append one configuration option, if merd has it
 * @c:		context
 * @o:		option area
 * @code:	option code asked for
 */
static void dhcp_opt_param(const struct ctx *c, struct dhcp_opts *o,
			   uint8_t code)
{
	const struct guest4 *g = &c->guest4;
	const struct guest_link *l = &c->link;
	uint32_t mask = htonl(prefix4_mask(g->prefix_len));
	uint8_t buf[DNS_MAX * 4 > SEARCH_MAX * (DOMAIN_MAX + 2) ?
		    DNS_MAX * 4 : SEARCH_MAX * (DOMAIN_MAX + 2)];
	uint16_t mtu = htons((uint16_t)l->mtu);
	size_t len;

	switch (code) {
	case OPT_SUBNET_MASK:
		dhcp_opt_put32(o, code, mask);
		break;
	case OPT_ROUTER:
		if (g->gw.s_addr)
			dhcp_opt_put32(o, code, g->gw.s_addr);
		break;
	case OPT_BROADCAST:
		dhcp_opt_put32(o, code, g->addr.s_addr | ~mask);
		break;
	case OPT_DNS:
		if (g->dns_n)
			dhcp_opt_put(o, code, g->dns,
				     (size_t)g->dns_n * sizeof(g->dns[0]));
		break;
	case OPT_DOMAIN_NAME:	/* RFC 2132 3.17: no terminating zero */
		if (l->search_n)
			dhcp_opt_put(o, code, l->search[0],
				     strlen(l->search[0]));
		break;
	case OPT_SEARCH:
		len = dhcp_encode_search(l, buf, sizeof(buf));
		if (len)
			dhcp_opt_put(o, code, buf, len);
		break;
	case OPT_MTU:
		dhcp_opt_put(o, code, &mtu, sizeof(mtu));
		break;
	default:
		break;
	}
}

/**
 * dhcp_opts_build() - write the options of a reply
 * @c:		context
 * @r:		request
 * @type:	reply type: DHCPOFFER, DHCPACK or DHCPNAK
 * @o:		option area to fill
 */
static void dhcp_opts_build(const struct ctx *c, const struct dhcp_req *r,
			    uint8_t type, struct dhcp_opts *o)
{
	/* Sent in this order when the client sends no request list */
	static const uint8_t all[] = { OPT_SUBNET_MASK, OPT_ROUTER, OPT_DNS,
				       OPT_DOMAIN_NAME, OPT_SEARCH, OPT_MTU };
	static const char nak_msg[] = "requested address is not the host's";
	const uint8_t *prl = r->prl_len ? r->prl : all;
	size_t prl_len = r->prl_len ? r->prl_len : sizeof(all), i;

	dhcp_opt_put(o, OPT_MSG_TYPE, &type, 1);
	dhcp_opt_put32(o, OPT_SERVER_ID, c->guest4.gw.s_addr);

	if (type == DHCPNAK) {
		dhcp_opt_put(o, OPT_MESSAGE, nak_msg, sizeof(nak_msg) - 1);
		return;
	}

	/* RFC 2131 4.3.5: no lease time in the answer to DHCPINFORM */
	if (r->type != DHCPINFORM) {
		dhcp_opt_put32(o, OPT_LEASE_TIME, htonl(DHCP_LEASE_TIME));
		dhcp_opt_put32(o, OPT_T1, htonl(DHCP_T1));
		dhcp_opt_put32(o, OPT_T2, htonl(DHCP_T2));
	}

	/* RFC 2132 9.8: try to follow the client's order */
	for (i = 0; i < prl_len; i++)
		dhcp_opt_param(c, o, prl[i]);
}

/**
 * dhcp_decide() - pick the reply to a request (RFC 2131 4.3)
 * @c:		context
 * @msg:	fixed part of the request
 * @r:		parsed options
 *
 * Return: DHCPOFFER, DHCPACK, DHCPNAK, or 0 for no reply
 */
static uint8_t dhcp_decide(struct ctx *c, const struct bootp *msg,
			   const struct dhcp_req *r)
{
	uint32_t ours = c->guest4.addr.s_addr;

	switch (r->type) {
	case DHCPDISCOVER:
		return DHCPOFFER;
	case DHCPINFORM:
		return DHCPACK;
	case DHCPREQUEST:
		break;
	case DHCPDECLINE:
		warn_rl(c, LOG_RL_DECLINE, "guest declined %s: it found the "
			"address in use", inet_ntoa(c->guest4.addr));
		return 0;
	case DHCPRELEASE:
		trace(c, "dhcp: guest released its address");
		return 0;
	default:
		return 0;
	}

	/* SELECTING: the server identifier names the server chosen */
	if (r->srvid) {
		if (r->srvid != c->guest4.gw.s_addr) {
			trace(c, "dhcp: guest chose another server");
			return 0;
		}
		return r->reqip == ours ? DHCPACK : DHCPNAK;
	}
	/* The host's address or prefix changed since the guest's lease: it
	 * renews or remembers one that is no more; NAK it, so that it starts
	 * again (RFC 2131 4.3.2) and is offered the new one
	 */
	if (c->guest4.renumbered)
		return DHCPNAK;
	/* INIT-REBOOT: the client asks to keep an address it remembers */
	if (r->reqip)
		return r->reqip == ours ? DHCPACK : DHCPNAK;
	/* RENEWING or REBINDING: the client's address is in ciaddr */
	if (msg->ciaddr)
		return msg->ciaddr == ours ? DHCPACK : DHCPNAK;

	return DHCPNAK;
}

/**
 * dhcp_reply_dst() - where a reply goes (RFC 2131 4.1)
 * @msg:	fixed part of the request
 * @type:	reply type
 * @yiaddr:	address given, network order
 * @daddr:	set to the destination address, network order
 * @dmac:	set to the destination MAC
 */
static void dhcp_reply_dst(const struct bootp *msg, uint8_t type,
			   uint32_t yiaddr, uint32_t *daddr, uint8_t *dmac)
{
	/* An INFORM without ciaddr breaks RFC 2131 4.4.3: broadcast to it */
	if (type == DHCPNAK || (!msg->ciaddr && !yiaddr) ||
	    (!msg->ciaddr && (ntohs(msg->flags) & DHCP_FLAG_BROADCAST))) {
		*daddr = htonl(INADDR_BROADCAST);
		memset(dmac, 0xff, ETH_ALEN);
		return;
	}

	*daddr = msg->ciaddr ? msg->ciaddr : yiaddr;
	memcpy(dmac, msg->chaddr, ETH_ALEN);
}

/**
 * dhcp_udp_check() - find the BOOTP message in a UDP datagram
 * @ip:		checked IPv4 packet carrying UDP
 * @bp:		set to the UDP payload
 *
 * Return: 0 on success, -1 if the UDP header, length or checksum is bad
 */
static int dhcp_udp_check(const struct ip_view *ip, struct pkt *bp)
{
	struct udphdr uh;
	size_t ulen;

	if (!pkt_get(ip->l4, 0, &uh, sizeof(uh)))
		return -1;
	ulen = ntohs(uh.len);
	if (ulen < sizeof(uh) || ulen > ip->l4.len)
		return -1;
	if (uh.check && csum_fold(csum_partial(ip->l4.p, ulen,
			csum_pseudo4(inany_v4(&ip->src), inany_v4(&ip->dst),
				     IPPROTO_UDP,
				     (uint16_t)ulen))) != 0xffff)
		return -1;

	return pkt_sub(ip->l4, sizeof(uh), ulen - sizeof(uh), bp) ? 0 : -1;
}

/**
 * dhcp_type_name() - name of a message type, for the trace
 * @type:	DHCPDISCOVER to DHCPINFORM
 *
 * Return: name without the DHCP prefix
 */
static const char *dhcp_type_name(uint8_t type)
{
	static const char *const names[] = { "?", "DISCOVER", "OFFER",
					     "REQUEST", "DECLINE", "ACK", "NAK",
					     "RELEASE", "INFORM" };

	return type < ARRAY_SIZE(names) ? names[type] : "?";
}

/**
 * dhcp_for_server() - tell whether a guest packet is a request for merd
 * @c:		context
 * @ip:		checked IPv4 packet
 *
 * UDP to port 67, whole (not a fragment), to the limited broadcast address
 * or to the server identifier, the gateway (RENEWING unicasts to it), or
 * the gateway before the host's last change (the guest's lease names it).
 *
 * Return: true if dhcp() should answer it
 */
bool dhcp_for_server(const struct ctx *c, const struct ip_view *ip)
{
	uint32_t daddr = inany_v4(&ip->dst);
	struct udphdr uh;

	return ip->proto == IPPROTO_UDP && !ip_is_fragment(ip) &&
	       pkt_get(ip->l4, 0, &uh, sizeof(uh)) &&
	       ntohs(uh.dest) == DHCP_SERVER_PORT &&
	       (daddr == htonl(INADDR_BROADCAST) ||
		daddr == c->guest4.gw.s_addr ||
		(c->guest4.gw_prev.s_addr &&
		 daddr == c->guest4.gw_prev.s_addr));
}

/**
 * dhcp() - answer a DHCP request from the guest
 * @c:		context
 * @ip:		checked IPv4 packet for UDP port 67, untrusted payload
 * @reply:	buffer for the reply frame
 * @size:	size of @reply
 * @bound:	set to true if the reply acknowledges the guest's address
 *		(left alone otherwise)
 *
 * Return: length of the reply frame, 0 if there is none
 */
size_t dhcp(struct ctx *c, const struct ip_view *ip, uint8_t *reply,
	    size_t size, bool *bound)
{
	union {
		struct bootp m;
		uint8_t b[DHCP_MIN_MAX_SIZE * 3];
	} out = { 0 };
	struct dhcp_opts o = { .buf = out.b + sizeof(struct bootp) };
	uint8_t dmac[ETH_ALEN], type;
	struct bootp msg, *rm = &out.m;
	uint32_t daddr, yiaddr;
	struct dhcp_req r;
	size_t limit, len;
	struct pkt bp;

	if (size < ETH_HLEN + DHCP_MIN_MAX_SIZE)
		return 0;	/* every client takes 576 bytes: be able to */
	if (!dhcp_for_server(c, ip))
		return 0;
	if (dhcp_udp_check(ip, &bp) || dhcp_parse(bp, &msg, &r)) {
		trace(c, "dhcp: malformed request, dropped");
		return 0;
	}
	if (msg.giaddr) {
		trace(c, "dhcp: relayed request, dropped");
		return 0;
	}

	type = dhcp_decide(c, &msg, &r);
	trace(c, "dhcp: %s from %s, %s", dhcp_type_name(r.type),
	      mac_ntop(msg.chaddr).s, type ? dhcp_type_name(type) : "no reply");
	if (!type)
		return 0;

	/* The reply must fit the client's limit, our buffer and the MTU */
	limit = r.maxsize ? r.maxsize : DHCP_MIN_MAX_SIZE;
	limit = MIN(limit, MAX(c->link.mtu, (unsigned)DHCP_MIN_MAX_SIZE));
	limit = MIN(limit, size - ETH_HLEN) - IP4_HLEN_MIN - UDP_HLEN;
	limit = MIN(limit, sizeof(out));
	o.cap = limit - sizeof(msg) - 1;
	dhcp_opts_build(c, &r, type, &o);
	o.buf[o.len++] = OPT_END;

	yiaddr = (type == DHCPNAK || r.type == DHCPINFORM) ?
		 0 : c->guest4.addr.s_addr;
	rm->op = BOOTREPLY;
	rm->htype = msg.htype;
	rm->hlen = msg.hlen;
	rm->xid = msg.xid;
	rm->flags = msg.flags;
	rm->ciaddr = type == DHCPACK ? msg.ciaddr : 0;	/* RFC 2131 Table 3 */
	rm->yiaddr = yiaddr;
	memcpy(rm->chaddr, msg.chaddr, sizeof(rm->chaddr));
	rm->magic = htonl(DHCP_MAGIC);

	len = MAX(sizeof(msg) + o.len, (size_t)BOOTP_MIN_LEN);
	dhcp_reply_dst(&msg, type, yiaddr, &daddr, dmac);

	len = ip4_udp_frame(reply, size, dmac, c->link.mac,
			    c->guest4.gw.s_addr, daddr, DHCP_SERVER_PORT,
			    DHCP_CLIENT_PORT, 0, out.b, len);
	if (len && yiaddr && type == DHCPACK)
		*bound = true;
	return len;
}
