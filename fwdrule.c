// SPDX-License-Identifier: GPL-2.0-or-later
/* fwdrule.c - inbound port forwarding rules: passt's -t and -u syntax
 *
 * Copyright (c) 2026 merd authors
 *
 * One -t (TCP) or -u (UDP) argument is one of:
 *
 *   none		nothing is forwarded for that protocol
 *   all		every port but those the caller skips (the host's
 *			ephemeral range, merd's own flow ports)
 *   [PREFIX/]LIST	the ports of LIST, a comma-separated list of
 *			  PORT, FIRST-LAST, PORT:GUESTPORT,
 *			  FIRST-LAST:GFIRST-GLAST	forwarded ports
 *			  ~PORT, ~FIRST-LAST		excluded ports
 *			where PREFIX is ADDR, [ADDR], ADDR%IFACE, [ADDR]%IFACE
 *			or %IFACE: the address (IPv4 or IPv6, unicast) and
 *			interface the whole list is bound to
 *
 * Exclusions, wherever they are in the list, cut the ranges of the same
 * argument: each piece left is a rule of its own, mapped with the offset
 * of its range. A list of exclusions only stands for every port but those
 * and the skipped ones, as "all" does. Rules of one protocol may not
 * overlap: two rules whose host ports meet and that could both match a
 * packet (either has no address, or both have the same; either has no
 * interface, or both have the same) are an error, as are "none" or "all"
 * (or a list of exclusions only) with any other argument for the protocol.
 *
 * Every argument is checked whole before it makes rules: port numbers are
 * one to five decimal digits, 1 to 65535, nothing else (no sign, no space,
 * no base prefix); every error names the option and quotes the part of the
 * argument at fault, made printable and cut short, on one line.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fwdrule.h"
#include "util.h"

/* Ports forwarded: 0 means "any port" to the socket API */
#define FWDRULE_PORT_MIN	1
#define FWDRULE_PORT_MAX	UINT16_MAX
/* Most digits of a port number, as in "65535" */
#define FWDRULE_DIGITS_MAX	5
/* Port numbers are decimal */
#define FWDRULE_BASE	10
/* Most items in one argument: each takes a character, and a comma but the
 * last
 */
#define FWDRULE_ITEMS_MAX	(FWDRULE_SPEC_MAX / 2 + 1)
/* Most characters of an argument quoted in a message */
#define FWDRULE_QUOTE_MAX	64
/* What a quote or a rule's text cut short ends with */
#define FWDRULE_ELLIPSIS	"..."
/* Bits in a word of a port map */
#define FWDRULE_WORD_BITS	64
/* Longest port range as text, with its terminator */
#define FWDRULE_RANGE_STRLEN	sizeof("65535-65535")
/* Printable ASCII: space to tilde */
#define FWDRULE_PRINT_FIRST	' '
#define FWDRULE_PRINT_LAST	'~'

/**
 * struct fwdrule_map - a bit per port number
 * @w:		the bits: port p is bit p % 64 of word p / 64
 */
struct fwdrule_map {
	uint64_t w[(FWDRULE_PORT_MAX + 1) / FWDRULE_WORD_BITS];
};

/**
 * struct fwdrule_item - one item of an argument's list
 * @off:	where it starts in the argument
 * @len:	its length, at least 1
 * @excl:	an exclusion, "~PORT" or "~FIRST-LAST"
 * @host:	host ports
 * @guest:	guest ports, @host without ":" (and for an exclusion)
 */
struct fwdrule_item {
	uint16_t off;
	uint16_t len;
	bool excl;
	struct port_range host;
	struct port_range guest;
};

/**
 * struct fwdrule_ctx - one call of fwdrule_parse()
 * @rules:	rules so far, and the new ones
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @opt:	"-t" or "-u"
 * @mode:	the protocol's enum fwdrule_mode in @rules
 * @spec:	the argument
 * @len:	its length
 * @pfxlen:	length of its prefix with the '/', 0 without one
 * @addr_set:	the prefix has an address
 * @addr:	that address
 * @ifname:	the prefix's interface, "" without one
 * @err:	buffer for the message, NULL for none
 * @errlen:	its size
 * @item:	the items of the list
 * @nitems:	their number
 * @map:	ports excluded (and, for "all" and exclusions only, skipped)
 */
struct fwdrule_ctx {
	struct fwdrules *rules;
	uint8_t proto;
	const char *opt;
	uint8_t *mode;
	const char *spec;
	size_t len;
	size_t pfxlen;
	bool addr_set;
	union inany_addr addr;
	char ifname[IFNAMSIZ];
	char *err;
	size_t errlen;
	struct fwdrule_item item[FWDRULE_ITEMS_MAX];
	int nitems;
	struct fwdrule_map map;
};

/**
 * struct fwdrule_quote - part of an argument, fit for a message
 * @s:		at most FWDRULE_QUOTE_MAX characters of it, anything but
 *		printable ASCII as '?', FWDRULE_ELLIPSIS after a longer one
 */
struct fwdrule_quote {
	char s[FWDRULE_QUOTE_MAX + sizeof(FWDRULE_ELLIPSIS)];
};

/**
 * struct fwdrule_rstr - a port range as text, "22" or "23-24"
 * @s:		the text
 */
struct fwdrule_rstr {
	char s[FWDRULE_RANGE_STRLEN];
};

/**
 * enum fwdrule_num - what parsing a number or a range found, the worse the
 *		      higher
 * @NUM_OK:	a port, or a range of them
 * @NUM_RANGE:	digits, but not a port: 0, above 65535, too many digits
 * @NUM_NONE:	no digit where one must be
 */
enum fwdrule_num {
	NUM_OK,
	NUM_RANGE,
	NUM_NONE,
};

/**
 * fwdrule_err() - write the message of a failure
 * @c:		call context: its @err and @errlen
 * @fmt:	printf() format, one line without newline
 * @...:	its arguments
 *
 * Return: -1, for fwdrule_parse() to return
 */
__attribute__((format(printf, 2, 3)))
static int fwdrule_err(const struct fwdrule_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->err || !c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/**
 * fwdrule_q() - part of an argument, fit for a message
 * @s:		where it starts, no NUL in the first @len characters
 * @len:	its length
 *
 * Return: the text, valid until the end of the caller's full expression
 */
static struct fwdrule_quote fwdrule_q(const char *s, size_t len)
{
	struct fwdrule_quote q;
	size_t i;

	for (i = 0; i < len && i < FWDRULE_QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < FWDRULE_PRINT_FIRST || ch > FWDRULE_PRINT_LAST)
			ch = '?';
		q.s[i] = (char)ch;
	}
	if (i < len)
		memcpy(q.s + i, FWDRULE_ELLIPSIS, sizeof(FWDRULE_ELLIPSIS));
	else
		q.s[i] = '\0';
	return q;
}

/**
 * fwdrule_rstr() - a port range as text
 * @r:		the range
 *
 * Return: "FIRST-LAST", or "PORT" for a single port
 */
static struct fwdrule_rstr fwdrule_rstr(struct port_range r)
{
	struct fwdrule_rstr t;

	if (r.lo == r.hi)
		snprintf(t.s, sizeof(t.s), "%u", r.lo);
	else
		snprintf(t.s, sizeof(t.s), "%u-%u", r.lo, r.hi);
	return t;
}

/**
 * fwdrule_map_get() - tell whether a port is in a map
 * @m:		the map
 * @port:	port, 0 to 65535
 *
 * Return: true if it is
 */
static bool fwdrule_map_get(const struct fwdrule_map *m, uint32_t port)
{
	return (m->w[port / FWDRULE_WORD_BITS] >>
		(port % FWDRULE_WORD_BITS)) & 1;
}

/**
 * fwdrule_map_set() - put a range of ports in a map
 * @m:		the map
 * @lo:		first port
 * @hi:		last port, nothing if below @lo
 */
static void fwdrule_map_set(struct fwdrule_map *m, uint32_t lo, uint32_t hi)
{
	uint32_t p;

	for (p = lo; p <= hi && p <= FWDRULE_PORT_MAX; p++)
		m->w[p / FWDRULE_WORD_BITS] |= 1ULL << (p % FWDRULE_WORD_BITS);
}

/**
 * fwdrule_num() - parse a port number
 * @s:		text
 * @len:	its length
 * @pos:	where the number starts, moved past its digits
 * @port:	set to the port, 0 on failure
 *
 * Return: NUM_OK, NUM_NONE without a digit at @pos, NUM_RANGE for 0, a
 *	   number above 65535 or more than FWDRULE_DIGITS_MAX digits
 */
static enum fwdrule_num fwdrule_num(const char *s, size_t len, size_t *pos,
				    uint16_t *port)
{
	size_t start = *pos;
	uint32_t v = 0;

	*port = 0;
	for (; *pos < len && s[*pos] >= '0' && s[*pos] <= '9'; (*pos)++) {
		if (*pos - start < FWDRULE_DIGITS_MAX)
			v = v * FWDRULE_BASE + (uint32_t)(s[*pos] - '0');
	}
	if (*pos == start)
		return NUM_NONE;
	if (*pos - start > FWDRULE_DIGITS_MAX || v < FWDRULE_PORT_MIN ||
	    v > FWDRULE_PORT_MAX)
		return NUM_RANGE;
	*port = (uint16_t)v;
	return NUM_OK;
}

/**
 * fwdrule_range() - parse "PORT" or "FIRST-LAST"
 * @s:		text
 * @len:	its length
 * @pos:	where the range starts, moved past it, past what looks like
 *		one if its numbers aren't ports
 * @r:		set to the range (in any order) on success
 *
 * Return: the worse of what fwdrule_num() returned for its numbers
 */
static enum fwdrule_num fwdrule_range(const char *s, size_t len, size_t *pos,
				      struct port_range *r)
{
	enum fwdrule_num ret = fwdrule_num(s, len, pos, &r->lo);

	if (ret == NUM_NONE)
		return ret;
	r->hi = r->lo;
	if (*pos < len && s[*pos] == '-') {
		enum fwdrule_num last;

		(*pos)++;
		last = fwdrule_num(s, len, pos, &r->hi);
		ret = MAX(ret, last);
	}
	return ret;
}

/**
 * fwdrule_item() - parse one item of a list
 * @c:		call context
 * @it:		the item: @off and @len set, the rest filled in
 *
 * Return: 0 on success, -1 with the message written
 */
static int fwdrule_item(const struct fwdrule_ctx *c, struct fwdrule_item *it)
{
	const char *s = c->spec + it->off;
	size_t len = it->len, pos = 0;
	enum fwdrule_num ret;

	if ((len == strlen("all") && !memcmp(s, "all", len)) ||
	    (len == strlen("none") && !memcmp(s, "none", len)))
		return fwdrule_err(c, "%s '%s': must be the whole argument",
				   c->opt, fwdrule_q(s, len).s);

	it->excl = s[0] == '~';
	if (it->excl)
		pos++;
	ret = fwdrule_range(s, len, &pos, &it->host);
	it->guest = it->host;
	if (ret != NUM_NONE && pos < len && s[pos] == ':') {
		enum fwdrule_num guest;

		if (it->excl)
			return fwdrule_err(c, "%s '%s': an exclusion has no "
					   "guest ports", c->opt,
					   fwdrule_q(s, len).s);
		pos++;
		guest = fwdrule_range(s, len, &pos, &it->guest);
		ret = MAX(ret, guest);
	}
	/* Syntax first: "0x16" is no port, rather than port 0 */
	if (ret == NUM_NONE || pos != len)
		return fwdrule_err(c, "%s '%s': not a port or range", c->opt,
				   fwdrule_q(s, len).s);
	if (ret == NUM_RANGE)
		return fwdrule_err(c, "%s '%s': ports are %d to %d", c->opt,
				   fwdrule_q(s, len).s, FWDRULE_PORT_MIN,
				   FWDRULE_PORT_MAX);
	if (it->host.lo > it->host.hi || it->guest.lo > it->guest.hi)
		return fwdrule_err(c, "%s '%s': first port above last", c->opt,
				   fwdrule_q(s, len).s);
	if (it->host.hi - it->host.lo != it->guest.hi - it->guest.lo)
		return fwdrule_err(c, "%s '%s': host ports %s and guest ports "
				   "%s differ in size", c->opt,
				   fwdrule_q(s, len).s,
				   fwdrule_rstr(it->host).s,
				   fwdrule_rstr(it->guest).s);
	return 0;
}

/**
 * fwdrule_unicast() - tell whether an address may be bound to
 * @a:		the address
 *
 * Return: false for the unspecified address, multicast ones and the IPv4
 *	   limited broadcast address
 */
static bool fwdrule_unicast(const union inany_addr *a)
{
	if (inany_is_v4(a)) {
		uint32_t v4 = ntohl(inany_v4(a));

		return v4 != INADDR_ANY && v4 != INADDR_BROADCAST &&
		       !IN_MULTICAST(v4);
	}
	return !IN6_IS_ADDR_UNSPECIFIED(&a->a6) &&
	       !IN6_IS_ADDR_MULTICAST(&a->a6);
}

/**
 * fwdrule_addr() - parse the address of a prefix
 * @c:		call context: @addr and @addr_set set on success
 * @a:		the address, without brackets
 * @alen:	its length
 * @q:		what to quote in a message: the address as written
 * @qlen:	its length
 *
 * Return: 0 on success, -1 with the message written
 */
static int fwdrule_addr(struct fwdrule_ctx *c, const char *a, size_t alen,
			const char *q, size_t qlen)
{
	char buf[INET6_ADDRSTRLEN];
	struct in_addr a4;

	if (alen >= sizeof(buf))
		goto bad;
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1)
		inany_from_v4(&c->addr, a4.s_addr);
	else if (inet_pton(AF_INET6, buf, &c->addr.a6) != 1)
		goto bad;

	if (!fwdrule_unicast(&c->addr))
		return fwdrule_err(c, "%s '%s': not a unicast address", c->opt,
				   fwdrule_q(q, qlen).s);
	c->addr_set = true;
	return 0;
bad:
	return fwdrule_err(c, "%s '%s': not an IPv4 or IPv6 address", c->opt,
			   fwdrule_q(q, qlen).s);
}

/**
 * fwdrule_ifname() - check and keep the interface name of a prefix
 * @c:		call context: @ifname set on success
 * @p:		the prefix, for messages
 * @plen:	its length
 * @name:	the name, within @p
 * @nlen:	its length
 *
 * Names follow Linux's dev_valid_name(), and printable ASCII only: 1 to
 * IFNAMSIZ - 1 characters, no '/', ':', '%' or space, not "." or "..".
 *
 * Return: 0 on success, -1 with the message written
 */
static int fwdrule_ifname(struct fwdrule_ctx *c, const char *p, size_t plen,
			  const char *name, size_t nlen)
{
	size_t i;

	if (!nlen)
		return fwdrule_err(c, "%s '%s': no interface name after '%%'",
				   c->opt, fwdrule_q(p, plen).s);
	if (nlen >= IFNAMSIZ)
		return fwdrule_err(c, "%s '%s': interface names are at most %d "
				   "characters", c->opt,
				   fwdrule_q(name, nlen).s, IFNAMSIZ - 1);
	for (i = 0; i < nlen; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch <= FWDRULE_PRINT_FIRST || ch > FWDRULE_PRINT_LAST ||
		    ch == '/' || ch == ':' || ch == '%')
			break;
	}
	if (i < nlen || (nlen == strlen(".") && name[0] == '.') ||
	    (nlen == strlen("..") && !memcmp(name, "..", nlen)))
		return fwdrule_err(c, "%s '%s': not an interface name", c->opt,
				   fwdrule_q(name, nlen).s);
	memcpy(c->ifname, name, nlen);
	c->ifname[nlen] = '\0';
	return 0;
}

/**
 * fwdrule_prefix() - parse what comes before the '/' of an argument
 * @c:		call context: address and interface set on success
 * @plen:	length of the prefix, from the start of @c->spec
 *
 * Return: 0 on success, -1 with the message written
 */
static int fwdrule_prefix(struct fwdrule_ctx *c, size_t plen)
{
	const char *p = c->spec, *name = NULL, *a = p;
	size_t alen = plen, qlen, nlen = 0;
	bool bracket = p[0] == '[';

	if (!plen)
		return fwdrule_err(c, "%s '%s': nothing before '/'", c->opt,
				   fwdrule_q(c->spec, c->len).s);

	if (bracket) {
		const char *close = memchr(p, ']', plen);
		size_t rest;

		if (!close)
			return fwdrule_err(c, "%s '%s': no ']' after the "
					   "address", c->opt,
					   fwdrule_q(p, plen).s);
		a = p + 1;
		alen = (size_t)(close - a);
		qlen = alen + 2;	/* and the brackets */
		rest = plen - qlen;
		if (rest && close[1] != '%')
			return fwdrule_err(c, "%s '%s': neither '%%' nor '/' "
					   "after ']'", c->opt,
					   fwdrule_q(p, plen).s);
		if (rest) {
			name = close + 2;
			nlen = rest - 1;
		}
	} else {
		const char *pct = memchr(p, '%', plen);

		if (pct) {
			alen = (size_t)(pct - p);
			name = pct + 1;
			nlen = plen - alen - 1;
		}
		qlen = alen;
	}

	if ((bracket || alen) &&
	    fwdrule_addr(c, a, alen, p, qlen))
		return -1;
	if (name && fwdrule_ifname(c, p, plen, name, nlen))
		return -1;
	return 0;
}

/**
 * fwdrule_text_arg() - the argument part of a rule's text
 * @r:		the rule
 *
 * Return: what follows the option in @r->text
 */
static const char *fwdrule_text_arg(const struct fwdrule *r)
{
	const char *sp = memchr(r->text, ' ', sizeof(r->text));

	return sp ? sp + 1 : r->text;
}

/**
 * fwdrule_overlap() - tell whether two rules could take the same packet
 * @a:		a rule
 * @b:		another one
 *
 * Return: true for the same protocol, host ports in common, and scopes
 *	   that meet (either without address or both the same one, either
 *	   without interface or both the same one)
 */
static bool fwdrule_overlap(const struct fwdrule *a, const struct fwdrule *b)
{
	if (a->proto != b->proto || a->last < b->first || b->last < a->first)
		return false;
	if (a->addr_set && b->addr_set && !inany_equals(&a->addr, &b->addr))
		return false;
	if (a->ifname[0] && b->ifname[0] &&
	    strncmp(a->ifname, b->ifname, sizeof(a->ifname)) != 0)
		return false;
	return true;
}

/**
 * fwdrule_add() - add a rule, if room is left and it overlaps no other
 * @c:		call context: protocol, prefix, rules
 * @wide:	from "all" or exclusions only
 * @host:	host ports
 * @to:		guest port of the first one
 * @item:	the part of the argument it comes from, after the prefix
 * @ilen:	its length
 *
 * Return: 0 on success, -1 with the message written
 */
static int fwdrule_add(const struct fwdrule_ctx *c, bool wide,
		       struct port_range host, uint16_t to, const char *item,
		       size_t ilen)
{
	struct fwdrules *rules = c->rules;
	struct fwdrule *r;
	int i, n;

	if (rules->n >= FWDRULE_MAX)
		return fwdrule_err(c, "%s '%s': more than %d rules in all "
				   "(each range left between exclusions is "
				   "one)", c->opt, fwdrule_q(item, ilen).s,
				   FWDRULE_MAX);

	r = &rules->rule[rules->n];
	memset(r, 0, sizeof(*r));
	r->proto = c->proto;
	r->wide = wide;
	r->addr_set = c->addr_set;
	r->addr = c->addr;
	memcpy(r->ifname, c->ifname, sizeof(r->ifname));
	r->first = host.lo;
	r->last = host.hi;
	r->to = to;
	n = snprintf(r->text, sizeof(r->text), "%s %.*s%.*s", c->opt,
		     (int)c->pfxlen, c->spec, (int)ilen, item);
	if (n < 0 || (size_t)n >= sizeof(r->text))
		memcpy(r->text + sizeof(r->text) - sizeof(FWDRULE_ELLIPSIS),
		       FWDRULE_ELLIPSIS, sizeof(FWDRULE_ELLIPSIS));

	for (i = 0; i < rules->n; i++) {
		const struct fwdrule *o = &rules->rule[i];

		if (fwdrule_overlap(o, r))
			return fwdrule_err(c, "%s '%s' overlaps %s '%s'",
					   c->opt, fwdrule_text_arg(r), c->opt,
					   fwdrule_text_arg(o));
	}
	rules->n++;
	return 0;
}

/**
 * fwdrule_runs() - add a rule for each run of ports not in the map
 * @c:		call context, @map the ports to leave out
 * @host:	host ports
 * @to:		guest port of @host.lo: each run keeps the offset
 * @wide:	from "all" or exclusions only
 * @item:	the part of the argument they come from, after the prefix
 * @ilen:	its length
 * @made:	incremented for every rule added
 *
 * Return: 0 on success, -1 with the message written
 */
static int fwdrule_runs(const struct fwdrule_ctx *c, struct port_range host,
			uint16_t to, bool wide, const char *item, size_t ilen,
			int *made)
{
	uint32_t p = host.lo;

	while (p <= host.hi) {
		struct port_range run;

		while (p <= host.hi && fwdrule_map_get(&c->map, p))
			p++;
		if (p > host.hi)
			break;
		run.lo = (uint16_t)p;
		while (p <= host.hi && !fwdrule_map_get(&c->map, p))
			p++;
		run.hi = (uint16_t)(p - 1);
		if (fwdrule_add(c, wide, run, (uint16_t)(to + run.lo - host.lo),
				item, ilen))
			return -1;
		(*made)++;
	}
	return 0;
}

/**
 * fwdrule_conflict() - write the message of a mode conflict
 * @c:		call context
 *
 * Return: -1
 */
static int fwdrule_conflict(const struct fwdrule_ctx *c)
{
	int i;

	if (*c->mode == FWDRULE_NONE)
		return fwdrule_err(c, "%s '%s' conflicts with %s 'none'",
				   c->opt, fwdrule_q(c->spec, c->len).s,
				   c->opt);
	for (i = 0; i < c->rules->n; i++) {
		const struct fwdrule *o = &c->rules->rule[i];

		if (o->proto == c->proto)
			return fwdrule_err(c, "%s '%s' conflicts with %s '%s'",
					   c->opt,
					   fwdrule_q(c->spec, c->len).s,
					   c->opt, fwdrule_text_arg(o));
	}
	return fwdrule_err(c, "%s '%s' conflicts with an earlier %s", c->opt,
			   fwdrule_q(c->spec, c->len).s, c->opt);
}

/**
 * fwdrule_wide() - rules for every port but those excluded and skipped
 * @c:		call context, exclusions in @map
 * @skip:	ports to skip, any order, ranges with lo above hi ignored
 * @nskip:	their number
 * @item:	the part of the argument the rules come from, after the prefix
 * @ilen:	its length
 *
 * Return: 0 on success, -1 with the message written
 */
static int fwdrule_wide(struct fwdrule_ctx *c, const struct port_range *skip,
			int nskip, const char *item, size_t ilen)
{
	const struct port_range every = { FWDRULE_PORT_MIN, FWDRULE_PORT_MAX };
	int i, made = 0;

	for (i = 0; skip && i < nskip; i++)
		fwdrule_map_set(&c->map, skip[i].lo, skip[i].hi);
	if (fwdrule_runs(c, every, FWDRULE_PORT_MIN, true, item, ilen, &made))
		return -1;
	if (!made)
		return fwdrule_err(c, "%s '%s': leaves no port to forward",
				   c->opt, fwdrule_q(c->spec, c->len).s);
	*c->mode = FWDRULE_ALL;
	return 0;
}

/**
 * fwdrule_split() - cut the list of an argument into items, and parse them
 * @c:		call context, @pfxlen set: @item and @nitems filled in
 *
 * Return: 0 on success, -1 with the message written
 */
static int fwdrule_split(struct fwdrule_ctx *c)
{
	size_t i, start = c->pfxlen;

	if (start == c->len)
		return fwdrule_err(c, "%s '%s': no ports after '/'", c->opt,
				   fwdrule_q(c->spec, c->len).s);

	for (i = start; i <= c->len; i++) {
		struct fwdrule_item *it;

		if (i < c->len && c->spec[i] != ',')
			continue;
		if (i == start)
			return fwdrule_err(c, "%s '%s': empty item in the list",
					   c->opt,
					   fwdrule_q(c->spec, c->len).s);
		if (c->nitems >= FWDRULE_ITEMS_MAX)	/* can't be */
			return fwdrule_err(c, "%s '%s': too many items",
					   c->opt,
					   fwdrule_q(c->spec, c->len).s);
		it = &c->item[c->nitems++];
		it->off = (uint16_t)start;
		it->len = (uint16_t)(i - start);
		if (fwdrule_item(c, it))
			return -1;
		start = i + 1;
	}
	return 0;
}

/**
 * fwdrule_exclude() - put the exclusions of the list in the map
 * @c:		call context, items parsed
 *
 * Return: 0 on success, -1 with the message written if two overlap
 */
static int fwdrule_exclude(struct fwdrule_ctx *c)
{
	int i, j;

	for (i = 0; i < c->nitems; i++) {
		const struct fwdrule_item *it = &c->item[i];
		uint32_t p;

		if (!it->excl)
			continue;
		for (p = it->host.lo; p <= it->host.hi; p++)
			if (fwdrule_map_get(&c->map, p))
				break;
		if (p > it->host.hi) {
			fwdrule_map_set(&c->map, it->host.lo, it->host.hi);
			continue;
		}
		for (j = 0; j < i; j++) {
			const struct fwdrule_item *o = &c->item[j];

			if (o->excl && o->host.lo <= it->host.hi &&
			    it->host.lo <= o->host.hi)
				break;
		}
		return fwdrule_err(c, "%s '%s' overlaps %s '%s'", c->opt,
				   fwdrule_q(c->spec + it->off, it->len).s,
				   c->opt,
				   j < i ? fwdrule_q(c->spec + c->item[j].off,
						     c->item[j].len).s : "?");
	}
	return 0;
}

/**
 * fwdrule_parse() - add the rules of one -t or -u argument
 * @rules:	rules of the options so far (zeroed before the first call)
 * @proto:	IPPROTO_TCP for -t, IPPROTO_UDP for -u
 * @spec:	the argument
 * @skip:	ports "all" and exclusions only leave out, any order (the
 *		host's ephemeral range, merd's flow ports); may be NULL
 * @nskip:	their number
 * @err:	filled with a one-line message on failure, may be NULL
 * @errlen:	its size, FWDRULE_ERR_LEN fits every message
 *
 * Return: 0 on success, -1 on failure, @rules then maybe partly changed
 */
int fwdrule_parse(struct fwdrules *rules, uint8_t proto, const char *spec,
		  const struct port_range *skip, int nskip, char *err,
		  size_t errlen)
{
	static const char all[] = "all";
	struct fwdrule_ctx c;
	int i, idx;

	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';

	if (proto == IPPROTO_TCP) {
		c.opt = "-t";
		idx = 0;
	} else if (proto == IPPROTO_UDP) {
		c.opt = "-u";
		idx = 1;
	} else {
		return fwdrule_err(&c, "protocol %u: not TCP or UDP", proto);
	}
	if (!rules || rules->n < 0 || rules->n > FWDRULE_MAX)
		return fwdrule_err(&c, "%s: no valid table of rules", c.opt);

	c.rules = rules;
	c.proto = proto;
	c.mode = &rules->mode[idx];
	c.spec = spec ? spec : "";
	c.len = strnlen(c.spec, FWDRULE_SPEC_MAX + 1);
	if (c.len > FWDRULE_SPEC_MAX)
		return fwdrule_err(&c, "%s '%s': longer than %d characters",
				   c.opt, fwdrule_q(c.spec, c.len).s,
				   FWDRULE_SPEC_MAX);
	if (!c.len)
		return fwdrule_err(&c, "%s '': no ports given", c.opt);

	if (!strcmp(c.spec, "none")) {
		if (*c.mode != FWDRULE_UNSET && *c.mode != FWDRULE_NONE)
			return fwdrule_conflict(&c);
		*c.mode = FWDRULE_NONE;
		return 0;
	}
	{
		const char *slash = memchr(c.spec, '/', c.len);

		if (slash) {
			if (fwdrule_prefix(&c, (size_t)(slash - c.spec)))
				return -1;
			c.pfxlen = (size_t)(slash - c.spec) + 1;
		}
	}
	/* "all", or ADDR/all as libvirt writes a <portForward> without
	 * ranges: wide rules of different scopes may be had together, as
	 * long as they don't overlap (fwdrule_add())
	 */
	if (!strcmp(c.spec + c.pfxlen, all)) {
		if (*c.mode != FWDRULE_UNSET && *c.mode != FWDRULE_ALL)
			return fwdrule_conflict(&c);
		return fwdrule_wide(&c, skip, nskip, c.spec + c.pfxlen,
				    c.len - c.pfxlen);
	}
	if (fwdrule_split(&c) || fwdrule_exclude(&c))
		return -1;

	for (i = 0; i < c.nitems && c.item[i].excl; i++)
		;
	if (i == c.nitems) {		/* exclusions only */
		if (*c.mode != FWDRULE_UNSET && *c.mode != FWDRULE_ALL)
			return fwdrule_conflict(&c);
		return fwdrule_wide(&c, skip, nskip, c.spec + c.pfxlen,
				    c.len - c.pfxlen);
	}

	if (*c.mode != FWDRULE_UNSET && *c.mode != FWDRULE_SPEC)
		return fwdrule_conflict(&c);
	for (i = 0; i < c.nitems; i++) {
		const struct fwdrule_item *it = &c.item[i];
		int made = 0;

		if (it->excl)
			continue;
		if (fwdrule_runs(&c, it->host, it->guest.lo, false,
				 c.spec + it->off, it->len, &made))
			return -1;
		if (!made)
			return fwdrule_err(&c, "%s '%s': every port of it is "
					   "excluded", c.opt,
					   fwdrule_q(c.spec + it->off,
						     it->len).s);
	}
	*c.mode = FWDRULE_SPEC;
	return 0;
}

/**
 * fwdrule_count() - number of rules, within bounds
 * @rules:	rules
 *
 * Return: @rules->n, clamped to 0 to FWDRULE_MAX
 */
static int fwdrule_count(const struct fwdrules *rules)
{
	return MAX(0, MIN(rules->n, FWDRULE_MAX));
}

/**
 * fwdrule_match() - the rule an incoming packet is forwarded by
 * @rules:	rules
 * @proto:	the packet's protocol
 * @dst:	its destination address, IPv4 mapped; NULL matches only
 *		rules without address
 * @ifi:	index of the interface it came in on, 0 if unknown
 * @port:	its destination port
 *
 * A rule with an interface matches when its @ifi is @ifi: until the caller
 * sets it, 0, that is packets of unknown interface.
 *
 * Return: the first rule whose protocol, host ports, address (if it has
 *	   one) and interface (if it has one) match, NULL if none
 */
const struct fwdrule *fwdrule_match(const struct fwdrules *rules,
				    uint8_t proto,
				    const union inany_addr *dst,
				    unsigned int ifi, uint16_t port)
{
	int i, n;

	if (!rules)
		return NULL;
	n = fwdrule_count(rules);
	for (i = 0; i < n; i++) {
		const struct fwdrule *r = &rules->rule[i];

		if (r->proto != proto || port < r->first || port > r->last)
			continue;
		if (r->addr_set && (!dst || !inany_equals(&r->addr, dst)))
			continue;
		if (r->ifname[0] && r->ifi != ifi)
			continue;
		return r;
	}
	return NULL;
}

/**
 * fwdrule_to() - the guest port a host port of a rule goes to
 * @r:		rule
 * @port:	host port, @r->first to @r->last
 *
 * Return: @r->to + (@port - @r->first)
 */
uint16_t fwdrule_to(const struct fwdrule *r, uint16_t port)
{
	return (uint16_t)(r->to + (port - r->first));
}

/**
 * fwdrule_ports() - number of host ports the rules of a protocol forward
 * @rules:	rules
 * @proto:	protocol
 *
 * Return: sum of the sizes of its rules (a port bound to two addresses
 *	   counts twice)
 */
uint32_t fwdrule_ports(const struct fwdrules *rules, uint8_t proto)
{
	uint32_t sum = 0;
	int i, n;

	if (!rules)
		return 0;
	n = fwdrule_count(rules);
	for (i = 0; i < n; i++) {
		const struct fwdrule *r = &rules->rule[i];

		if (r->proto == proto && r->first <= r->last)
			sum += (uint32_t)(r->last - r->first) + 1;
	}
	return sum;
}

/**
 * fwdrule_ranges() - the host ports of a protocol's rules, as few ranges
 * @rules:	rules
 * @proto:	protocol
 * @out:	filled with ranges, ascending, disjoint, not adjacent
 * @max:	room in @out
 *
 * Return: number of ranges, at most @max (0 if @max is below 1): every
 *	   port of a rule is in one, and, once they didn't fit, a few more
 */
int fwdrule_ranges(const struct fwdrules *rules, uint8_t proto,
		   struct port_range *out, int max)
{
	struct port_range all[FWDRULE_MAX];
	int i, n = 0, count;

	if (!rules || !out || max < 1)
		return 0;
	count = fwdrule_count(rules);
	for (i = 0; i < count; i++) {
		const struct fwdrule *r = &rules->rule[i];

		if (r->proto != proto)
			continue;
		all[n].lo = r->first;
		all[n].hi = r->last;
		n++;
	}
	n = fwdrule_fit(all, n, max);
	memcpy(out, all, (size_t)n * sizeof(*out));
	return n;
}

/**
 * fwdrule_cmp() - order of port ranges for qsort(): by first, then last
 * @a:		range
 * @b:		range
 *
 * Return: negative, zero or positive as @a comes before, with or after @b
 */
static int fwdrule_cmp(const void *a, const void *b)
{
	const struct port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

/**
 * fwdrule_gaps() - count the gaps between ranges up to some size
 * @r:		ranges, ascending, disjoint
 * @n:		their number
 * @size:	largest gap counted, the difference between a range's first
 *		port and the last one of the range before it
 *
 * Return: number of gaps of at most @size
 */
static int fwdrule_gaps(const struct port_range *r, int n, uint32_t size)
{
	int i, count = 0;

	for (i = 0; i + 1 < n; i++)
		if ((uint32_t)(r[i + 1].lo - r[i].hi) <= size)
			count++;
	return count;
}

/**
 * fwdrule_fit() - sort and merge port ranges, then fit them in a number
 * @r:		ranges, each with lo at most hi (else they are swapped);
 *		the result, ascending, disjoint, not adjacent
 * @n:		their number
 * @max:	most ranges to leave, at least 1 (less is taken as 1)
 *
 * Overlapping and adjacent ranges are merged; then, while more than @max
 * are left, the two neighbours with the smallest gap between them (the
 * first such pair on a tie). Merging two neighbours leaves the other gaps
 * as they were, so that is merging across the smallest gaps, found here
 * by a binary search on their size rather than one merge at a time.
 *
 * Return: number of ranges left, at most @max; they cover every port
 *	   the input did, and, if it didn't fit, the fewest more ports
 */
int fwdrule_fit(struct port_range *r, int n, int max)
{
	uint32_t lo = 1, hi = FWDRULE_PORT_MAX;
	int i, m = 0, k, eq;

	if (!r || n <= 0)
		return 0;
	max = MAX(max, 1);

	for (i = 0; i < n; i++) {
		if (r[i].lo > r[i].hi) {
			uint16_t t = r[i].lo;

			r[i].lo = r[i].hi;
			r[i].hi = t;
		}
	}
	qsort(r, (size_t)n, sizeof(*r), fwdrule_cmp);
	for (i = 1; i < n; i++) {
		if ((uint32_t)r[m].hi + 1 >= r[i].lo) {
			r[m].hi = MAX(r[m].hi, r[i].hi);
			continue;
		}
		r[++m] = r[i];
	}
	m++;
	if (m <= max)
		return m;

	/* Smallest gap size with at least k gaps up to it: merge every
	 * gap below it, and the first ones of that size, k in all
	 */
	k = m - max;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (fwdrule_gaps(r, m, mid) >= k)
			hi = mid;
		else
			lo = mid + 1;
	}
	eq = k - fwdrule_gaps(r, m, lo - 1);

	for (i = 1, n = 0; i < m; i++) {
		uint32_t gap = (uint32_t)(r[i].lo - r[n].hi);

		if (gap < lo || (gap == lo && eq > 0)) {
			if (gap == lo)
				eq--;
			r[n].hi = r[i].hi;
			continue;
		}
		r[++n] = r[i];
	}
	return n + 1;
}
