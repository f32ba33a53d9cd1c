// SPDX-License-Identifier: GPL-2.0-or-later
/* dhcpv6.c - DHCPv6 server handing the guest the host's own IPv6 address
 *
 * Copyright (c) 2026 merd authors
 *
 * There is one client and one address: every IA_NA the guest asks for gets
 * the host's global address (c->guest6.addr), whatever address the client
 * hints at, with the DNS servers and domain list. The server keeps no
 * bindings: it answers Solicit with Advertise (or Reply, with Rapid
 * Commit), Request, Renew and Rebind with the address, Confirm with
 * whether the client's addresses are on the host's prefix,
 * Information-request with the configuration only, and acknowledges
 * Release and Decline (RFC 8415 18.3). It identifies itself with a DUID-LL
 * made of merd's MAC address on the guest's link, and sends from the
 * guest's router address, c->guest6.gw.
 *
 * Messages are parsed with a cursor checked before every access (pkt.h),
 * options inside IAs and inside IA Address options included; an option
 * overrunning its area, a fixed part too short for its kind, a repeated
 * single-instance option or a wrong length drops the message. Relay
 * messages aren't served: the guest is on merd's link.
 */

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/udp.h>

#include "csum.h"
#include "dhcp.h"
#include "dhcpv6.h"
#include "ip6.h"
#include "log.h"
#include "pkt.h"
#include "util.h"

/* RFC 8415 8: a message is a type, a 3-byte transaction ID, options */
#define D6_XID_LEN	3
#define D6_HDR_LEN	(1 + D6_XID_LEN)
/* RFC 8415 21.1: an option is a 16-bit code, a 16-bit length, its data */
#define D6_OPT_HLEN	4

/* RFC 8415 7.3: message types */
enum {
	D6_SOLICIT = 1,
	D6_ADVERTISE,
	D6_REQUEST,
	D6_CONFIRM,
	D6_RENEW,
	D6_REBIND,
	D6_REPLY,
	D6_RELEASE,
	D6_DECLINE,
	D6_RECONFIGURE,
	D6_INFORMATION_REQUEST,
	D6_RELAY_FORW,
	D6_RELAY_REPL,
};

/* Options: RFC 8415 21, RFC 3646 3 (23) and 4 (24) */
enum {
	D6_OPT_CLIENTID = 1,
	D6_OPT_SERVERID = 2,
	D6_OPT_IA_NA = 3,
	D6_OPT_IA_TA = 4,
	D6_OPT_IAADDR = 5,
	D6_OPT_ORO = 6,
	D6_OPT_PREFERENCE = 7,
	D6_OPT_ELAPSED_TIME = 8,
	D6_OPT_STATUS_CODE = 13,
	D6_OPT_RAPID_COMMIT = 14,
	D6_OPT_DNS_SERVERS = 23,
	D6_OPT_DOMAIN_LIST = 24,
	D6_OPT_IA_PD = 25,
	D6_OPT_IAPREFIX = 26,
};

/* RFC 8415 21: "each option may appear only once" unless noted: IAs may
 * repeat (one per IAID); these are the ones merd reads that may not
 */
#define D6_OPT_ONCE	(1U << D6_OPT_CLIENTID | 1U << D6_OPT_SERVERID |   \
			 1U << D6_OPT_ORO | 1U << D6_OPT_PREFERENCE |	   \
			 1U << D6_OPT_ELAPSED_TIME | 1U << D6_OPT_RAPID_COMMIT)
/* Codes below this are tracked for repetitions */
#define D6_OPT_TRACKED	32

/* RFC 8415 21.13: status codes */
enum {
	D6_SUCCESS = 0,
	D6_NO_ADDRS_AVAIL = 2,
	D6_NO_BINDING = 3,
	D6_NOT_ON_LINK = 4,
	D6_NO_PREFIX_AVAIL = 6,
};

/* RFC 8415 11.1: a DUID is a 2-byte type and 1 to 128 bytes */
#define DUID_LEN_MIN	3
#define DUID_LEN_MAX	130
/* RFC 8415 11.4: DUID-LL, type 3, with a hardware type (RFC 826: 1 is
 * Ethernet) and the link-layer address
 */
#define DUID_LL		3
#define DUID_HW_ETHER	1
#define DUID_LL_LEN	(2 + 2 + ETH_ALEN)

/* Fixed parts: RFC 8415 21.4 (IA_NA: IAID, T1, T2; IA_PD's, 21.21, is
 * the same), 21.5 (IA_TA: IAID), 21.6 (IA Address: address, preferred and
 * valid lifetimes), 21.22 (IA Prefix: lifetimes, length, prefix), 21.9
 * (Elapsed Time)
 */
#define IA_NA_LEN	12
#define IA_TA_LEN	4
#define IAID_LEN	4
#define IAADDR_LEN	24
#define IAPREFIX_LEN	25
#define ELAPSED_LEN	2

/* RFC 8415 18.2.1: an Advertise of preference 255 is taken at once */
#define D6_PREFERENCE_MAX	255

/* IAs of a message answered, and addresses of an IA returned with zero
 * lifetimes (they aren't the host's): more are left out
 */
#define D6_IA_MAX	8
#define D6_STALE_MAX	4

/* RFC 8415 7.1: All_DHCP_Relay_Agents_and_Servers, ff02::1:2 */
static const uint8_t d6_all_servers[16] = { 0xff, 0x02, [13] = 0x01,
					    [15] = 0x02 };

/**
 * struct d6_ia - an IA of a message
 * @type:	D6_OPT_IA_NA, D6_OPT_IA_TA or D6_OPT_IA_PD
 * @iaid:	its IAID, as sent
 * @opts:	its options, checked to be whole
 */
struct d6_ia {
	uint16_t type;
	uint8_t iaid[IAID_LEN];
	struct pkt opts;
};

/**
 * struct d6_req - what merd needs from a client's message
 * @type:	message type
 * @xid:	transaction ID
 * @clientid:	Client Identifier data, @clientid.p NULL if absent
 * @serverid:	Server Identifier data, @serverid.p NULL if absent
 * @rapid:	Rapid Commit was given
 * @oro:	an Option Request Option was given
 * @want_dns:	it asks for DNS servers
 * @want_domain: it asks for the domain list
 * @ia:		IAs, the first D6_IA_MAX
 * @ia_n:	entries in @ia
 * @ia_total:	IAs in the message, @ia or not
 * @seen:	options met, by code, below D6_OPT_TRACKED
 */
struct d6_req {
	uint8_t type;
	uint8_t xid[D6_XID_LEN];
	struct pkt clientid;
	struct pkt serverid;
	bool rapid;
	bool oro;
	bool want_dns;
	bool want_domain;
	struct d6_ia ia[D6_IA_MAX];
	int ia_n;
	int ia_total;
	uint32_t seen;
};

/**
 * struct d6_out - a reply being built
 * @buf:	message bytes
 * @len:	bytes written
 * @cap:	bytes available
 * @full:	something didn't fit: the message is incomplete
 */
struct d6_out {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool full;
};

/**
 * pkt_be16() - read a 16-bit big-endian number out of a view
 * @v:		view
 * @off:	offset
 * @out:	set to the number, host order
 *
 * Return: true if read, false if outside @v
 */
static bool pkt_be16(struct pkt v, size_t off, uint16_t *out)
{
	uint16_t n;

	if (!pkt_get(v, off, &n, sizeof(n)))
		return false;
	*out = ntohs(n);
	return true;
}

/**
 * d6_opt_next() - take the next option of an option area
 * @v:		option area
 * @off:	offset of the next option, advanced past it
 * @code:	set to its code
 * @data:	set to its data
 *
 * Return: 1 if an option was taken, 0 at the end of @v, -1 if the next
 *	   option overruns @v
 */
static int d6_opt_next(struct pkt v, size_t *off, uint16_t *code,
		       struct pkt *data)
{
	uint16_t len;

	if (*off == v.len)
		return 0;
	if (!pkt_be16(v, *off, code) || !pkt_be16(v, *off + 2, &len) ||
	    !pkt_sub(v, *off + D6_OPT_HLEN, len, data))
		return -1;
	*off += D6_OPT_HLEN + (size_t)len;
	return 1;
}

/**
 * d6_opts_check() - check that an option area holds whole options
 * @v:		option area
 *
 * Return: 0 if so, -1 if an option overruns it
 */
static int d6_opts_check(struct pkt v)
{
	struct pkt d;
	size_t off = 0;
	uint16_t code;
	int rc;

	while ((rc = d6_opt_next(v, &off, &code, &d)) > 0)
		;
	return rc;
}

/**
 * d6_ia_opts_check() - check the options of an IA, and those of the IA
 *			Address and IA Prefix options in it
 * @v:		options of the IA, after its fixed part
 *
 * Return: 0 if well formed, -1 if an option overruns its area, or an IA
 *	   Address or IA Prefix option is shorter than its fixed part
 */
static int d6_ia_opts_check(struct pkt v)
{
	struct pkt d, sub;
	size_t off = 0;
	uint16_t code;
	int rc;

	while ((rc = d6_opt_next(v, &off, &code, &d)) > 0) {
		if (code == D6_OPT_IAADDR &&
		    (!pkt_tail(d, IAADDR_LEN, &sub) || d6_opts_check(sub)))
			return -1;
		if (code == D6_OPT_IAPREFIX &&
		    (!pkt_tail(d, IAPREFIX_LEN, &sub) || d6_opts_check(sub)))
			return -1;
	}
	return rc;
}

/**
 * d6_ia_take() - check and store an IA_NA, IA_TA or IA_PD option
 * @r:		message being parsed
 * @type:	option code
 * @d:		option data
 *
 * Return: 0 if acceptable, -1 if malformed, or if its IAID repeats that of
 *	   an IA of the same kind (RFC 8415 12: unique per kind)
 */
static int d6_ia_take(struct d6_req *r, uint16_t type, struct pkt d)
{
	size_t fixed = type == D6_OPT_IA_TA ? IA_TA_LEN : IA_NA_LEN;
	struct d6_ia ia = { .type = type };
	int i;

	if (!pkt_get(d, 0, ia.iaid, IAID_LEN) ||
	    !pkt_tail(d, fixed, &ia.opts) || d6_ia_opts_check(ia.opts))
		return -1;

	for (i = 0; i < r->ia_n; i++) {
		if (r->ia[i].type == type &&
		    !memcmp(r->ia[i].iaid, ia.iaid, IAID_LEN))
			return -1;
	}
	r->ia_total++;
	if (r->ia_n < D6_IA_MAX)
		r->ia[r->ia_n++] = ia;
	return 0;
}

/**
 * d6_oro_take() - note which options an Option Request Option asks for
 * @r:		message being parsed
 * @d:		option data
 *
 * Return: 0 if acceptable, -1 if its length is odd (RFC 8415 21.7: it is
 *	   a list of 16-bit codes)
 */
static int d6_oro_take(struct d6_req *r, struct pkt d)
{
	uint16_t code;
	size_t off;

	if (d.len % sizeof(code))
		return -1;
	r->oro = true;
	for (off = 0; pkt_be16(d, off, &code); off += sizeof(code)) {
		if (code == D6_OPT_DNS_SERVERS)
			r->want_dns = true;
		else if (code == D6_OPT_DOMAIN_LIST)
			r->want_domain = true;
	}
	return 0;
}

/**
 * d6_duid_take() - check a Client or Server Identifier option
 * @d:		option data
 * @out:	set to @d if well formed
 *
 * Return: 0 if its length is a DUID's (RFC 8415 11.1), -1 if not
 */
static int d6_duid_take(struct pkt d, struct pkt *out)
{
	if (d.len < DUID_LEN_MIN || d.len > DUID_LEN_MAX)
		return -1;
	*out = d;
	return 0;
}

/**
 * d6_opt_take() - check and store one option of a message
 * @r:		message being parsed
 * @code:	option code
 * @d:		option data
 *
 * Return: 0 if acceptable, -1 if malformed (the message is dropped)
 */
static int d6_opt_take(struct d6_req *r, uint16_t code, struct pkt d)
{
	if (code < D6_OPT_TRACKED) {
		uint32_t bit = 1U << code;

		if ((D6_OPT_ONCE & bit) && (r->seen & bit))
			return -1;
		r->seen |= bit;
	}

	switch (code) {
	case D6_OPT_CLIENTID:
		return d6_duid_take(d, &r->clientid);
	case D6_OPT_SERVERID:
		return d6_duid_take(d, &r->serverid);
	case D6_OPT_IA_NA:
	case D6_OPT_IA_TA:
	case D6_OPT_IA_PD:
		return d6_ia_take(r, code, d);
	case D6_OPT_ORO:
		return d6_oro_take(r, d);
	case D6_OPT_ELAPSED_TIME:
		return d.len == ELAPSED_LEN ? 0 : -1;
	case D6_OPT_RAPID_COMMIT:	/* RFC 8415 21.14: no data */
		r->rapid = true;
		return d.len ? -1 : 0;
	default:
		return 0;
	}
}

/**
 * d6_from_client() - tell whether a message type is one clients send
 * @type:	message type
 *
 * Return: true for Solicit, Request, Confirm, Renew, Rebind, Release,
 *	   Decline and Information-request
 */
static bool d6_from_client(uint8_t type)
{
	switch (type) {
	case D6_SOLICIT:
	case D6_REQUEST:
	case D6_CONFIRM:
	case D6_RENEW:
	case D6_REBIND:
	case D6_RELEASE:
	case D6_DECLINE:
	case D6_INFORMATION_REQUEST:
		return true;
	default:
		return false;
	}
}

/**
 * d6_parse() - check a client's message and extract what merd needs
 * @m:		message, the UDP payload, untrusted
 * @r:		filled on success
 *
 * Return: 0 on success, -1 to drop the message
 */
static int d6_parse(struct pkt m, struct d6_req *r)
{
	struct pkt opts, d;
	size_t off = 0;
	uint16_t code;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!pkt_get(m, 0, &r->type, 1) ||
	    !pkt_get(m, 1, r->xid, D6_XID_LEN) ||
	    !pkt_tail(m, D6_HDR_LEN, &opts))
		return -1;

	while ((rc = d6_opt_next(opts, &off, &code, &d)) > 0) {
		if (d6_opt_take(r, code, d))
			return -1;
	}
	return rc;
}

/**
 * d6_duid() - merd's DUID: DUID-LL of its MAC on the guest's link
 * @c:		context
 * @duid:	filled, DUID_LL_LEN bytes
 */
static void d6_duid(const struct ctx *c, uint8_t *duid)
{
	uint16_t type = htons(DUID_LL), hw = htons(DUID_HW_ETHER);

	memcpy(duid, &type, sizeof(type));
	memcpy(duid + sizeof(type), &hw, sizeof(hw));
	memcpy(duid + sizeof(type) + sizeof(hw), c->link.mac, ETH_ALEN);
}

/**
 * d6_is_us() - tell whether a Server Identifier names merd
 * @c:		context
 * @sid:	Server Identifier data
 *
 * Return: true if it is merd's DUID
 */
static bool d6_is_us(const struct ctx *c, struct pkt sid)
{
	uint8_t duid[DUID_LL_LEN];

	d6_duid(c, duid);
	return sid.len == sizeof(duid) && !memcmp(sid.p, duid, sizeof(duid));
}

/**
 * d6_ids_ok() - check identifiers as RFC 8415 16 says, per message type
 * @c:		context
 * @r:		message
 *
 * Solicit, Confirm and Rebind go to any server: they must carry a Client
 * Identifier and no Server Identifier (16.2, 16.5, 16.7). Request, Renew,
 * Release and Decline must carry both, the Server Identifier ours (16.4,
 * 16.6, 16.8, 16.9). An Information-request may name a server, which must
 * be merd, and has no IA (16.12).
 *
 * Return: true if the message is to be answered
 */
static bool d6_ids_ok(const struct ctx *c, const struct d6_req *r)
{
	bool has_cid = r->clientid.p, has_sid = r->serverid.p;
	bool ours = has_sid && d6_is_us(c, r->serverid);

	switch (r->type) {
	case D6_SOLICIT:
	case D6_CONFIRM:
	case D6_REBIND:
		return has_cid && !has_sid;
	case D6_REQUEST:
	case D6_RENEW:
	case D6_RELEASE:
	case D6_DECLINE:
		return has_cid && ours;
	case D6_INFORMATION_REQUEST:
		return (!has_sid || ours) && !r->ia_total;
	default:
		return false;
	}
}

/**
 * d6_on_link() - tell whether an address is on the host's prefix
 * @c:		context
 * @a:		address
 *
 * Return: true if the first c->guest6.prefix_len bits match the prefix
 */
static bool d6_on_link(const struct ctx *c, const struct in6_addr *a)
{
	int len = c->guest6.prefix_len, i;

	for (i = 0; i < (int)sizeof(a->s6_addr); i++) {
		int bits = MIN(MAX(len - i * CHAR_BIT, 0), CHAR_BIT);
		uint8_t mask = (uint8_t)(0xff00U >> bits);

		if ((a->s6_addr[i] ^ c->guest6.prefix.s6_addr[i]) & mask)
			return false;
	}
	return true;
}

/**
 * d6_fits_link() - tell whether a client's address is appropriate for the
 *		    link (RFC 8415 18.3.2, 18.3.3)
 * @c:		context
 * @a:		address
 *
 * Return: true if it is the host's, or on the host's prefix
 */
static bool d6_fits_link(const struct ctx *c, const struct in6_addr *a)
{
	return !memcmp(a, &c->guest6.addr, sizeof(*a)) || d6_on_link(c, a);
}

/**
 * d6_ia_addr_next() - the next IA Address option of an IA
 * @ia:		IA_NA or IA_TA, options checked
 * @off:	offset in its options, advanced
 * @a:		set to the address
 *
 * Return: true if one was found, false at the end
 */
static bool d6_ia_addr_next(const struct d6_ia *ia, size_t *off,
			    struct in6_addr *a)
{
	struct pkt d;
	uint16_t code;

	if (ia->type == D6_OPT_IA_PD)
		return false;	/* prefixes, not addresses */
	while (d6_opt_next(ia->opts, off, &code, &d) > 0) {
		if (code == D6_OPT_IAADDR && pkt_get(d, 0, a, sizeof(*a)))
			return true;
	}
	return false;
}

/**
 * d6_addrs_off_link() - look at the addresses in a message's IAs
 * @c:		context
 * @r:		message
 * @n:		set to the number of addresses, if not NULL
 *
 * Return: true if one of them is neither the host's nor on its prefix
 */
static bool d6_addrs_off_link(const struct ctx *c, const struct d6_req *r,
			      int *n)
{
	bool off_link = false;
	struct in6_addr a;
	int i, count = 0;

	for (i = 0; i < r->ia_n; i++) {
		size_t off = 0;

		while (d6_ia_addr_next(&r->ia[i], &off, &a)) {
			count++;
			off_link |= !d6_fits_link(c, &a);
		}
	}
	if (n)
		*n = count;
	return off_link;
}

/**
 * d6_put() - append bytes to a reply
 * @o:		reply
 * @p:		bytes
 * @n:		their number
 *
 * Sets @o->full, and writes nothing, if they don't fit.
 */
static void d6_put(struct d6_out *o, const void *p, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	if (n)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/**
 * d6_put16() - append a 16-bit number to a reply, in network order
 * @o:		reply
 * @v:		number, host order
 */
static void d6_put16(struct d6_out *o, uint16_t v)
{
	v = htons(v);
	d6_put(o, &v, sizeof(v));
}

/**
 * d6_put32() - append a 32-bit number to a reply, in network order
 * @o:		reply
 * @v:		number, host order
 */
static void d6_put32(struct d6_out *o, uint32_t v)
{
	v = htonl(v);
	d6_put(o, &v, sizeof(v));
}

/**
 * d6_opt_open() - start an option whose length is known at its end
 * @o:		reply
 * @code:	option code
 *
 * Return: where the option starts, for d6_opt_close()
 */
static size_t d6_opt_open(struct d6_out *o, uint16_t code)
{
	size_t start = o->len;

	d6_put16(o, code);
	d6_put16(o, 0);
	return start;
}

/**
 * d6_opt_close() - set the length of an option started by d6_opt_open()
 * @o:		reply
 * @start:	where the option starts
 */
static void d6_opt_close(struct d6_out *o, size_t start)
{
	uint16_t len;

	if (o->full)
		return;
	len = htons((uint16_t)(o->len - start - D6_OPT_HLEN));
	memcpy(o->buf + start + 2, &len, sizeof(len));
}

/**
 * d6_opt_put() - append a whole option to a reply
 * @o:		reply
 * @code:	option code
 * @data:	option data
 * @len:	its length
 */
static void d6_opt_put(struct d6_out *o, uint16_t code, const void *data,
		       size_t len)
{
	size_t start = d6_opt_open(o, code);

	d6_put(o, data, len);
	d6_opt_close(o, start);
}

/**
 * d6_opt_try() - append an option to a reply if it fits, else leave it out
 * @o:		reply, complete so far
 * @code:	option code
 * @data:	option data
 * @len:	its length
 */
static void d6_opt_try(struct d6_out *o, uint16_t code, const void *data,
		       size_t len)
{
	size_t before = o->len;

	d6_opt_put(o, code, data, len);
	if (o->full) {
		o->len = before;
		o->full = false;
	}
}

/**
 * d6_status() - append a Status Code option (RFC 8415 21.13)
 * @o:		reply
 * @status:	status code
 * @msg:	message for the user, UTF-8, not terminated in the option
 */
static void d6_status(struct d6_out *o, uint16_t status, const char *msg)
{
	size_t start = d6_opt_open(o, D6_OPT_STATUS_CODE);

	d6_put16(o, status);
	d6_put(o, msg, strlen(msg));
	d6_opt_close(o, start);
}

/**
 * d6_iaaddr() - append an IA Address option (RFC 8415 21.6)
 * @o:		reply
 * @a:		address
 * @preferred:	preferred lifetime, seconds
 * @valid:	valid lifetime, seconds
 */
static void d6_iaaddr(struct d6_out *o, const struct in6_addr *a,
		      uint32_t preferred, uint32_t valid)
{
	size_t start = d6_opt_open(o, D6_OPT_IAADDR);

	d6_put(o, a, sizeof(*a));
	d6_put32(o, preferred);
	d6_put32(o, valid);
	d6_opt_close(o, start);
}

/**
 * d6_ia_stale() - give back, with zero lifetimes, the addresses of a
 *		   Renew's or Rebind's IA that aren't the host's
 * @c:		context
 * @ia:		IA_NA of the message
 * @o:		reply, inside the IA_NA
 *
 * RFC 8415 18.3.4, 18.3.5: an address no longer appropriate is returned
 * with lifetimes of 0, so that the client stops using it at once (the host
 * got another address since).
 */
static void d6_ia_stale(const struct ctx *c, const struct d6_ia *ia,
			struct d6_out *o)
{
	struct in6_addr a;
	size_t off = 0;
	int n = 0;

	while (n < D6_STALE_MAX && d6_ia_addr_next(ia, &off, &a)) {
		if (!memcmp(&a, &c->guest6.addr, sizeof(a)))
			continue;
		d6_iaaddr(o, &a, 0, 0);
		n++;
	}
}

/**
 * d6_ia_na() - append the answer to an IA_NA: the host's address
 * @c:		context
 * @r:		message
 * @ia:		IA_NA of the message
 * @o:		reply
 *
 * A Request whose IA holds an address off the host's prefix gets the IA
 * back with status NotOnLink (RFC 8415 18.3.2); the client asks again
 * without it. The addresses of a Solicit are hints, and ignored.
 */
static void d6_ia_na(const struct ctx *c, const struct d6_req *r,
		     const struct d6_ia *ia, struct d6_out *o)
{
	size_t start = d6_opt_open(o, D6_OPT_IA_NA), off = 0;
	struct in6_addr a;
	bool off_link = false;

	d6_put(o, ia->iaid, IAID_LEN);
	while (r->type == D6_REQUEST && d6_ia_addr_next(ia, &off, &a))
		off_link |= !d6_fits_link(c, &a);

	if (off_link) {
		d6_put32(o, 0);
		d6_put32(o, 0);
		d6_status(o, D6_NOT_ON_LINK, "address not on this link");
	} else {
		d6_put32(o, DHCPV6_T1);
		d6_put32(o, DHCPV6_T2);
		d6_iaaddr(o, &c->guest6.addr, DHCPV6_PREFERRED_LIFETIME,
			  DHCPV6_VALID_LIFETIME);
		if (r->type == D6_RENEW || r->type == D6_REBIND)
			d6_ia_stale(c, ia, o);
	}
	d6_opt_close(o, start);
}

/**
 * d6_ia_none() - append the answer to an IA_TA or IA_PD: nothing to give
 * @r:		message
 * @ia:		IA_TA or IA_PD of the message
 * @o:		reply
 *
 * merd has one address, handed out in IA_NA, and no prefix to delegate.
 * RFC 8415 18.3.1 and 18.3.2 want the IA back with no addresses and status
 * NoAddrsAvail (IA_TA) or NoPrefixAvail (IA_PD), rather than no answer,
 * so that the client knows; to a Renew, Rebind, Release or Decline of one,
 * there is no binding (18.3.4, 18.3.5, 18.3.7, 18.3.8): NoBinding.
 */
static void d6_ia_none(const struct d6_req *r, const struct d6_ia *ia,
		       struct d6_out *o)
{
	size_t start = d6_opt_open(o, ia->type);
	bool assign = r->type == D6_SOLICIT || r->type == D6_REQUEST;

	d6_put(o, ia->iaid, IAID_LEN);
	if (ia->type == D6_OPT_IA_PD) {
		d6_put32(o, 0);		/* T1 */
		d6_put32(o, 0);		/* T2 */
	}
	if (!assign)
		d6_status(o, D6_NO_BINDING, "no binding for this IA");
	else if (ia->type == D6_OPT_IA_PD)
		d6_status(o, D6_NO_PREFIX_AVAIL, "no prefix to delegate");
	else
		d6_status(o, D6_NO_ADDRS_AVAIL, "one address only, in IA_NA");
	d6_opt_close(o, start);
}

/**
 * d6_ias() - append the answers to the IAs of a message
 * @c:		context
 * @r:		message
 * @o:		reply
 *
 * Release and Decline of an IA_NA need no answer in it (merd has the
 * binding: it's the host's address); Confirm and Information-request get
 * no IA (RFC 8415 18.3.3, 18.3.6).
 */
static void d6_ias(const struct ctx *c, const struct d6_req *r,
		   struct d6_out *o)
{
	bool release = r->type == D6_RELEASE || r->type == D6_DECLINE;
	int i;

	if (r->type == D6_CONFIRM || r->type == D6_INFORMATION_REQUEST)
		return;

	for (i = 0; i < r->ia_n; i++) {
		const struct d6_ia *ia = &r->ia[i];

		if (ia->type != D6_OPT_IA_NA)
			d6_ia_none(r, ia, o);
		else if (!release)
			d6_ia_na(c, r, ia, o);
	}
}

/**
 * d6_config() - append DNS servers and domain list, where they fit
 * @c:		context
 * @r:		message
 * @o:		reply, complete so far
 *
 * RFC 8415 21.7 makes the Option Request Option mandatory where these
 * matter, and clients send one (dhclient -6, systemd-networkd and
 * NetworkManager list 23 and 24): they get what they list. A client
 * without one gets both, as dhcp.c gives everything to a client without a
 * parameter request list: RFC 8415 18.3 lets a server send options it
 * wasn't asked for.
 */
static void d6_config(const struct ctx *c, const struct d6_req *r,
		      struct d6_out *o)
{
	uint8_t names[SEARCH_MAX * (DOMAIN_MAX + 2)];
	size_t dns_n = (size_t)MAX(c->guest6.dns_n, 0), len;

	dns_n = MIN(dns_n, ARRAY_SIZE(c->guest6.dns));
	if (dns_n && (!r->oro || r->want_dns))
		d6_opt_try(o, D6_OPT_DNS_SERVERS, c->guest6.dns,
			   dns_n * sizeof(c->guest6.dns[0]));

	if (r->oro && !r->want_domain)
		return;
	len = dhcp_encode_search(&c->link, names, sizeof(names));
	if (len)
		d6_opt_try(o, D6_OPT_DOMAIN_LIST, names, len);
}

/**
 * d6_status_top() - append the message's own status, where RFC 8415 wants
 *		     one
 * @c:		context
 * @r:		message
 * @o:		reply
 *
 * Confirm: Success if every address is on the host's prefix, NotOnLink if
 * not (18.3.3); Release and Decline: Success (18.3.7, 18.3.8).
 */
static void d6_status_top(const struct ctx *c, const struct d6_req *r,
			  struct d6_out *o)
{
	if (r->type == D6_CONFIRM) {
		if (d6_addrs_off_link(c, r, NULL))
			d6_status(o, D6_NOT_ON_LINK, "not on this link");
		else
			d6_status(o, D6_SUCCESS, "addresses on this link");
	} else if (r->type == D6_RELEASE || r->type == D6_DECLINE) {
		d6_status(o, D6_SUCCESS, "done");
	}
}

/**
 * d6_build() - write the reply to a message
 * @c:		context
 * @r:		message
 * @type:	D6_ADVERTISE or D6_REPLY
 * @o:		reply to fill
 *
 * Return: 0 on success, -1 if the reply doesn't fit (without the DNS
 *	   servers and domain list, which are left out if they don't)
 */
static int d6_build(const struct ctx *c, const struct d6_req *r,
		    uint8_t type, struct d6_out *o)
{
	static const uint8_t pref = D6_PREFERENCE_MAX;
	uint8_t duid[DUID_LL_LEN];

	d6_put(o, &type, sizeof(type));
	d6_put(o, r->xid, sizeof(r->xid));
	d6_duid(c, duid);
	d6_opt_put(o, D6_OPT_SERVERID, duid, sizeof(duid));
	if (r->clientid.p)
		d6_opt_put(o, D6_OPT_CLIENTID, r->clientid.p, r->clientid.len);
	if (type == D6_ADVERTISE)	/* RFC 8415 21.8 */
		d6_opt_put(o, D6_OPT_PREFERENCE, &pref, sizeof(pref));
	if (r->type == D6_SOLICIT && type == D6_REPLY)	/* 18.3.1 */
		d6_opt_put(o, D6_OPT_RAPID_COMMIT, NULL, 0);
	d6_status_top(c, r, o);
	d6_ias(c, r, o);
	if (o->full)
		return -1;

	if (r->type != D6_CONFIRM && r->type != D6_RELEASE &&
	    r->type != D6_DECLINE)
		d6_config(c, r, o);
	return 0;
}

/**
 * d6_decide() - pick the reply to a client's message (RFC 8415 18.3)
 * @c:		context
 * @r:		message
 *
 * Return: D6_ADVERTISE, D6_REPLY, or 0 for no reply
 */
static uint8_t d6_decide(struct ctx *c, const struct d6_req *r)
{
	struct inany_str a;
	int n;

	if (!d6_ids_ok(c, r)) {
		trace(c, "dhcpv6: identifiers don't fit, or another server's");
		return 0;
	}

	switch (r->type) {
	case D6_SOLICIT:
		return r->rapid ? D6_REPLY : D6_ADVERTISE;
	case D6_CONFIRM:
		/* 18.3.3: no address to confirm, no reply */
		(void)d6_addrs_off_link(c, r, &n);
		return n ? D6_REPLY : 0;
	case D6_DECLINE:
		inet_ntop(AF_INET6, &c->guest6.addr, a.s, sizeof(a.s));
		warn_rl(c, LOG_RL_DECLINE, "guest declined %s: it found the "
			"address in use", a.s);
		return D6_REPLY;
	default:
		return D6_REPLY;
	}
}

/**
 * d6_type_name() - name of a message type, for the trace
 * @type:	message type
 *
 * Return: its name in RFC 8415 7.3
 */
static const char *d6_type_name(uint8_t type)
{
	static const char *const names[] = {
		"?", "SOLICIT", "ADVERTISE", "REQUEST", "CONFIRM", "RENEW",
		"REBIND", "REPLY", "RELEASE", "DECLINE", "RECONFIGURE",
		"INFORMATION-REQUEST", "RELAY-FORW", "RELAY-REPL",
	};

	static_assert(ARRAY_SIZE(names) == D6_RELAY_REPL + 1,
		      "a name for each message type");
	return type < ARRAY_SIZE(names) ? names[type] : "?";
}

/**
 * d6_udp_check() - find the DHCPv6 message in a UDP datagram
 * @ip:		checked IPv6 packet carrying UDP
 * @m:		set to the UDP payload
 *
 * Return: 0 on success, -1 if the UDP header, length or checksum is bad
 *	   (RFC 8200 8.1: over IPv6, a zero checksum is bad too)
 */
static int d6_udp_check(const struct ip_view *ip, struct pkt *m)
{
	struct udphdr uh;
	size_t ulen;

	if (!pkt_get(ip->l4, 0, &uh, sizeof(uh)))
		return -1;
	ulen = ntohs(uh.len);
	if (ulen < sizeof(uh) || ulen > ip->l4.len || !uh.check)
		return -1;
	if (csum_l4_ip6(&ip->src.a6, &ip->dst.a6, IPPROTO_UDP, ip->l4.p,
			ulen))
		return -1;

	return pkt_sub(ip->l4, sizeof(uh), ulen - sizeof(uh), m) ? 0 : -1;
}

/**
 * dhcpv6_for_server() - tell whether a guest packet is a message for merd
 * @c:		context
 * @ip:		checked IPv6 packet
 *
 * IPv6 is served and DHCPv6 not disabled; UDP to port 547, whole (not a
 * fragment), to All_DHCP_Relay_Agents_and_Servers or to merd's own
 * link-local address, the router's, which is also the server's.
 *
 * Return: true if dhcpv6() should answer it
 */
bool dhcpv6_for_server(const struct ctx *c, const struct ip_view *ip)
{
	const struct in6_addr *dst = &ip->dst.a6;
	struct udphdr uh;

	return c->guest6.enabled && !c->opts.no_dhcpv6 &&
	       ip->family == AF_INET6 && ip->proto == IPPROTO_UDP &&
	       !ip_is_fragment(ip) &&
	       pkt_get(ip->l4, 0, &uh, sizeof(uh)) &&
	       ntohs(uh.dest) == DHCPV6_SERVER_PORT &&
	       (!memcmp(dst, d6_all_servers, sizeof(*dst)) ||
		!memcmp(dst, &c->guest6.gw, sizeof(*dst)));
}

/**
 * dhcpv6() - answer a DHCPv6 message from the guest
 * @c:		context
 * @ip:		checked IPv6 packet for UDP port 547, untrusted payload
 * @reply:	buffer for the reply frame, at least Ethernet header and
 *		IP6_MTU_MIN bytes
 * @size:	size of @reply
 *
 * The reply goes from merd's link-local address to the client's source
 * address, at the guest's MAC, learnt from its frames (broadcast until
 * then, as tap.c does). It is built in place, in @reply, and fits the MTU.
 *
 * Return: length of the reply frame, 0 if there is none
 */
size_t dhcpv6(struct ctx *c, const struct ip_view *ip, uint8_t *reply,
	      size_t size)
{
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
						 0xff, 0xff, 0xff };
	const struct in6_addr *client = &ip->src.a6;
	struct d6_out o = { .buf = reply + ETH_HLEN + IP6_HLEN + UDP_HLEN };
	uint8_t type;
	struct d6_req r;
	struct pkt m;
	size_t limit;

	if (size < ETH_HLEN + IP6_MTU_MIN || !dhcpv6_for_server(c, ip))
		return 0;
	if (IN6_IS_ADDR_UNSPECIFIED(client) || IN6_IS_ADDR_MULTICAST(client) ||
	    d6_udp_check(ip, &m) || !pkt_get(m, 0, &type, sizeof(type))) {
		trace(c, "dhcpv6: malformed message, dropped");
		return 0;
	}
	if (!d6_from_client(type)) {
		trace(c, "dhcpv6: %s isn't a client's message, dropped",
		      d6_type_name(type));
		return 0;
	}
	if (d6_parse(m, &r)) {
		trace(c, "dhcpv6: malformed %s, dropped", d6_type_name(type));
		return 0;
	}

	type = d6_decide(c, &r);
	trace(c, "dhcpv6: %s from %s, %s", d6_type_name(r.type),
	      inany_ntop(&ip->src).s, type ? d6_type_name(type) : "no reply");
	if (!type)
		return 0;

	limit = MIN(size - ETH_HLEN, MAX((size_t)c->link.mtu,
					 (size_t)IP6_MTU_MIN));
	o.cap = MIN(limit - IP6_HLEN - UDP_HLEN, (size_t)UINT16_MAX - UDP_HLEN);
	if (d6_build(c, &r, type, &o)) {
		trace(c, "dhcpv6: reply doesn't fit in %zu bytes", o.cap);
		return 0;
	}

	return ip6_udp_frame(reply, size,
			     c->tap.guest_mac_known ? c->tap.guest_mac : bcast,
			     c->link.mac, &c->guest6.gw, client,
			     DHCPV6_SERVER_PORT, DHCPV6_CLIENT_PORT, o.buf,
			     o.len);
}
