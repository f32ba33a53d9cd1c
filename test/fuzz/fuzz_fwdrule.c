// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_fwdrule.c - libFuzzer harness: -t and -u arguments to fwdrule.c
 *
 * Copyright (c) 2026 merd authors
 *
 * Feeds up to four made-up -t or -u arguments, one after the other as
 * merd.c's option loop would, to fwdrule_parse() on a fresh table, and
 * checks what it made (no sockets, no namespace needed).
 *
 * The input:
 *
 *   byte 0	bits 0-3  protocol of argument i in bit i: 0 TCP, 1 UDP
 *		bits 4-5  the ports "all" and exclusions only skip: none;
 *			  the host's ephemeral range and merd's ports, as
 *			  merd.c passes them; a few unsorted, overlapping
 *			  ones, one empty; all but port 65001
 *		bit 6	  a message buffer of FUZZ_ERR_SMALL bytes, else
 *			  FWDRULE_ERR_LEN
 *   then	the arguments, separated by a NUL or a newline; the fourth
 *		ends at the next separator or at the end; each is copied
 *		into a buffer of its own size, its terminator included, so
 *		that a read past it is AddressSanitizer's to see
 *
 * The first argument refused ends the input, as it ends merd.
 *
 * Invariants (abort() on any violation):
 * - a refused argument: a message, NUL-terminated within the buffer,
 *   nothing written past it, printable ASCII only (one line), naming the
 *   option ("-t " or "-u " first); the buffer is the size asked for;
 * - a taken one: the rules before it unchanged, byte for byte, new ones
 *   after them; every rule of TCP or UDP, ports 1 <= first <= last, a
 *   guest port 1 or more whose range ends at 65535 at most, no interface
 *   index yet; its text NUL-terminated, printable, starting with its
 *   option; its interface name NUL-terminated, printable, no space, '/',
 *   ':' or '%'; an address only if bound to one, then neither the
 *   unspecified address nor multicast nor IPv4 broadcast, else all zero;
 *   a wide rule holds none of the skipped ports;
 * - the modes: a protocol unset or "none" has no rule; one with lists
 *   has rules, none wide; one with "all" or exclusions only, rules, all
 *   wide;
 * - no two rules of a protocol take the same packet (host ports in
 *   common, either without address or the same one, either without
 *   interface or the same one);
 * - fwdrule_ports() is the sum of the rules' sizes;
 * - fwdrule_ranges(), for a few room sizes: at most that many, at least
 *   one if the protocol has a rule, ascending, disjoint, not adjacent,
 *   every rule within one of them; given room for every rule, exactly
 *   the ports of the rules;
 * - fwdrule_match(), once each rule's interface has an index (the same
 *   for the same name): a packet to a rule's first, last and middle port,
 *   at its address (any if it has none) and its interface, finds that
 *   rule and no other, and fwdrule_to() keeps the offset; port 0 and
 *   other protocols find nothing.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fwdrule.h"
#include "inany.h"
#include "fuzz_report.h"

/* The checks aren't merd's code: no coverage feedback from their loops */
#if defined(__clang__)
#define NOCOV	__attribute__((no_sanitize("coverage")))
#else
#define NOCOV
#endif

/* Arguments per input */
#define FUZZ_ARGS	4
/* The small message buffer: messages are cut there */
#define FUZZ_ERR_SMALL	7
/* Bytes after the message buffer that must stay as they were */
#define FUZZ_ERR_GUARD	16
/* What the bytes of the message buffer start as */
#define FUZZ_ERR_FILL	0x5a
/* Printable ASCII */
#define FUZZ_PRINT_FIRST	' '
#define FUZZ_PRINT_LAST	'~'
/* Ports as bits */
#define FUZZ_PORTS	65536
#define FUZZ_WORDS	(FUZZ_PORTS / 64)

/* What "all" and exclusions only leave out, bits 4-5 of byte 0 */
static const struct port_range skip_merd[] = {
	{ 32768, 60999 }, { 61000, 61767 },
};
static const struct port_range skip_odd[] = {
	{ 1000, 1999 }, { 1, 10 }, { 500, 1500 }, { 65535, 65535 },
	{ 30000, 29000 }, { 0, 0 },
};
static const struct port_range skip_most[] = {
	{ 1, 65000 }, { 65002, 65535 },
};

/**
 * struct fuzz_skip - a list of skipped ports
 * @r:		the ranges, NULL for none
 * @n:		their number
 */
struct fuzz_skip {
	const struct port_range *r;
	int n;
};

static const struct fuzz_skip fuzz_skips[] = {
	{ NULL, 0 },
	{ skip_merd, sizeof(skip_merd) / sizeof(skip_merd[0]) },
	{ skip_odd, sizeof(skip_odd) / sizeof(skip_odd[0]) },
	{ skip_most, sizeof(skip_most) / sizeof(skip_most[0]) },
};

/* The table, and a copy of it before each argument */
static struct fwdrules rules, before;


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fail() - report a broken invariant, and abort (fuzz_report.h) */
#define fail(...)	fuzz_invariant(__VA_ARGS__)

/**
 * LLVMFuzzerInitialize() - keep a copy of stderr for reports
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_report_init("fuzz_fwdrule");
	return 0;
}

/**
 * opt_of() - the option of a protocol
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 *
 * Return: "-t" or "-u"
 */
static const char *opt_of(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "-t" : "-u";
}

/**
 * printable() - tell whether a string is printable ASCII only
 * @s:		the string
 * @max:	its buffer's size
 *
 * Return: true if NUL-terminated within @max, and printable before that
 */
NOCOV static bool printable(const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i]; i++)
		if (s[i] < FUZZ_PRINT_FIRST || s[i] > FUZZ_PRINT_LAST)
			return false;
	return i < max;
}

/**
 * check_err() - the message of a refused argument
 * @buf:	the buffer, @errlen bytes then FUZZ_ERR_GUARD more
 * @errlen:	the size fwdrule_parse() was given
 * @proto:	the argument's protocol
 */
NOCOV static void check_err(const char *buf, size_t errlen, uint8_t proto)
{
	const char *opt = opt_of(proto);
	size_t i;

	for (i = errlen; i < errlen + FUZZ_ERR_GUARD; i++)
		if ((uint8_t)buf[i] != FUZZ_ERR_FILL)
			fail("message written past its buffer, at %zu", i);
	if (!printable(buf, errlen))
		fail("message not one printable line");
	if (errlen > strlen(opt) + 1 && strncmp(buf, opt, strlen(opt)) != 0)
		fail("message doesn't name %s: %s", opt, buf);
	if (!buf[0])
		fail("empty message");
	if (errlen > strlen(opt) + 1 && buf[strlen(opt)] != ' ')
		fail("message doesn't go on after %s: %s", opt, buf);
}

/**
 * unicast() - tell whether a bound address is one a host may have
 * @a:		the address
 *
 * Return: false for unspecified, multicast and IPv4 broadcast addresses
 */
NOCOV static bool unicast(const union inany_addr *a)
{
	static const uint8_t zero[16];

	if (inany_is_v4(a)) {
		const uint8_t *b = (const uint8_t *)&a->v4mapped.a4;

		if (!b[0] && !b[1] && !b[2] && !b[3])
			return false;
		if ((b[0] & 0xf0) == 0xe0)		/* 224/4 */
			return false;
		return !(b[0] == 0xff && b[1] == 0xff && b[2] == 0xff &&
			 b[3] == 0xff);
	}
	return memcmp(a, zero, sizeof(zero)) != 0 &&
	       a->a6.s6_addr[0] != 0xff;
}

/**
 * check_rule() - one rule on its own
 * @r:		the rule
 * @sk:		the ports skipped
 */
NOCOV static void check_rule(const struct fwdrule *r,
			     const struct fuzz_skip *sk)
{
	static const union inany_addr zero;
	const char *opt;
	size_t i;
	int j;

	if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		fail("rule of protocol %u", r->proto);
	opt = opt_of(r->proto);
	if (!r->first || r->first > r->last)
		fail("rule %u-%u", r->first, r->last);
	if (!r->to || (uint32_t)r->to + (r->last - r->first) > UINT16_MAX)
		fail("rule %u-%u to %u", r->first, r->last, r->to);
	if (r->ifi)
		fail("rule with interface index %u", r->ifi);
	if (!printable(r->text, sizeof(r->text)) ||
	    strncmp(r->text, opt, strlen(opt)) != 0 || r->text[2] != ' ')
		fail("rule text '%.*s'", (int)sizeof(r->text), r->text);
	if (!printable(r->ifname, sizeof(r->ifname)))
		fail("interface name not terminated");
	for (i = 0; r->ifname[i]; i++)
		if (strchr(" /:%", r->ifname[i]))
			fail("interface name '%s'", r->ifname);
	if (r->addr_set && !unicast(&r->addr))
		fail("rule %s bound to %s", r->text, inany_ntop(&r->addr).s);
	if (!r->addr_set && memcmp(&r->addr, &zero, sizeof(zero)) != 0)
		fail("rule %s has an address, unbound", r->text);
	for (j = 0; r->wide && sk->r && j < sk->n; j++) {
		const struct port_range *s = &sk->r[j];

		if (s->lo <= s->hi && s->lo <= r->last && r->first <= s->hi)
			fail("wide rule %s %u-%u holds skipped %u-%u",
			     r->text, r->first, r->last, s->lo, s->hi);
	}
}

/**
 * overlap() - tell whether two rules could take the same packet
 * @a:		a rule
 * @b:		another one
 *
 * Return: true if they could
 */
NOCOV static bool overlap(const struct fwdrule *a, const struct fwdrule *b)
{
	if (a->proto != b->proto || a->last < b->first || b->last < a->first)
		return false;
	if (a->addr_set && b->addr_set &&
	    memcmp(&a->addr, &b->addr, sizeof(a->addr)) != 0)
		return false;
	return !a->ifname[0] || !b->ifname[0] ||
	       !strcmp(a->ifname, b->ifname);
}

/**
 * check_modes() - what each protocol's mode says of its rules
 */
NOCOV static void check_modes(void)
{
	static const uint8_t protos[2] = { IPPROTO_TCP, IPPROTO_UDP };
	int p, i;

	for (p = 0; p < 2; p++) {
		int n = 0, wide = 0;

		for (i = 0; i < rules.n; i++) {
			if (rules.rule[i].proto != protos[p])
				continue;
			n++;
			wide += rules.rule[i].wide;
		}
		switch (rules.mode[p]) {
		case FWDRULE_UNSET:
		case FWDRULE_NONE:
			if (n)
				fail("mode %u with %d rules", rules.mode[p], n);
			break;
		case FWDRULE_SPEC:
			if (!n || wide)
				fail("lists: %d rules, %d wide", n, wide);
			break;
		case FWDRULE_ALL:
			if (!n || wide != n)
				fail("all: %d rules, %d wide", n, wide);
			break;
		default:
			fail("mode %u", rules.mode[p]);
		}
	}
}

/**
 * map_set() - put ports in a map
 * @m:		the map
 * @lo:		first port
 * @hi:		last port
 */
NOCOV static void map_set(uint64_t *m, uint32_t lo, uint32_t hi)
{
	uint32_t p;

	for (p = lo; p <= hi; p++)
		m[p / 64] |= 1ULL << (p % 64);
}

/**
 * map_count() - number of ports in a map
 * @m:		the map
 *
 * Return: the number
 */
NOCOV static uint32_t map_count(const uint64_t *m)
{
	uint32_t n = 0;
	int i;

	for (i = 0; i < FUZZ_WORDS; i++)
		n += (uint32_t)__builtin_popcountll(m[i]);
	return n;
}

/**
 * check_ranges() - fwdrule_ports() and fwdrule_ranges() of a protocol
 * @proto:	the protocol
 */
NOCOV static void check_ranges(uint8_t proto)
{
	static const int room[] = { FWDRULE_MAX, 32, 3, 1 };
	static struct port_range out[FWDRULE_MAX];
	static uint64_t map[FUZZ_WORDS];
	uint32_t sum = 0, total;
	int i, j, k, n = 0;

	memset(map, 0, sizeof(map));
	for (i = 0; i < rules.n; i++) {
		const struct fwdrule *r = &rules.rule[i];

		if (r->proto != proto)
			continue;
		n++;
		sum += (uint32_t)(r->last - r->first) + 1;
		map_set(map, r->first, r->last);
	}
	if (fwdrule_ports(&rules, proto) != sum)
		fail("fwdrule_ports() %u, not %u",
		     fwdrule_ports(&rules, proto), sum);

	for (k = 0; k < (int)(sizeof(room) / sizeof(room[0])); k++) {
		int got = fwdrule_ranges(&rules, proto, out, room[k]);

		if (got < 0 || got > room[k] || (n && !got) || (!n && got))
			fail("fwdrule_ranges() %d for %d rules in %d", got, n,
			     room[k]);
		for (j = 0; j < got; j++) {
			if (out[j].lo > out[j].hi ||
			    (j && out[j].lo <= (uint32_t)out[j - 1].hi + 1))
				fail("fwdrule_ranges() %d: %u-%u after %u-%u",
				     j, out[j].lo, out[j].hi,
				     j ? out[j - 1].lo : 0,
				     j ? out[j - 1].hi : 0);
		}
		for (i = 0; i < rules.n; i++) {
			const struct fwdrule *r = &rules.rule[i];

			if (r->proto != proto)
				continue;
			for (j = 0; j < got; j++)
				if (out[j].lo <= r->first &&
				    r->last <= out[j].hi)
					break;
			if (j == got)
				fail("rule %s %u-%u in no range of %d",
				     r->text, r->first, r->last, room[k]);
		}
		if (room[k] < n)
			continue;
		for (j = 0, total = 0; j < got; j++)
			total += (uint32_t)(out[j].hi - out[j].lo) + 1;
		if (total != map_count(map))
			fail("fwdrule_ranges() with room: %u ports, not %u",
			     total, map_count(map));
	}
}

/**
 * check_match() - each rule takes packets to it, and only it does
 */
NOCOV static void check_match(void)
{
	union inany_addr any;
	int i, j, k;

	inany_from_v4(&any, htonl(0xcb007107));		/* 203.0.113.7 */
	for (i = 0; i < rules.n; i++) {
		struct fwdrule *r = &rules.rule[i];

		for (j = 0; j <= i && r->ifname[0]; j++)
			if (!strcmp(rules.rule[j].ifname, r->ifname))
				break;
		r->ifi = r->ifname[0] ? (unsigned int)j + 1 : 0;
	}
	for (i = 0; i < rules.n; i++) {
		const struct fwdrule *r = &rules.rule[i];
		const union inany_addr *dst = r->addr_set ? &r->addr : &any;
		uint16_t ports[3];

		ports[0] = r->first;
		ports[1] = r->last;
		ports[2] = (uint16_t)(r->first + (r->last - r->first) / 2);
		for (k = 0; k < 3; k++) {
			const struct fwdrule *m;

			m = fwdrule_match(&rules, r->proto, dst, r->ifi,
					  ports[k]);
			if (m != r)
				fail("port %u of %s: matched %s", ports[k],
				     r->text, m ? m->text : "nothing");
			if (fwdrule_to(m, ports[k]) !=
			    (uint16_t)(r->to + ports[k] - r->first))
				fail("port %u of %s: to %u", ports[k], r->text,
				     fwdrule_to(m, ports[k]));
		}
		if (fwdrule_match(&rules, IPPROTO_ICMP, dst, r->ifi, r->first))
			fail("ICMP matched %s", r->text);
	}
	if (fwdrule_match(&rules, IPPROTO_TCP, &any, 0, 0) ||
	    fwdrule_match(&rules, IPPROTO_UDP, &any, 0, 0))
		fail("port 0 matched");
	for (i = 0; i < rules.n; i++)
		rules.rule[i].ifi = 0;
}

/**
 * check_table() - every invariant of a table after an argument was taken
 * @sk:		the ports skipped
 */
NOCOV static void check_table(const struct fuzz_skip *sk)
{
	int i, j;

	if (rules.n < before.n || rules.n > FWDRULE_MAX)
		fail("%d rules after %d", rules.n, before.n);
	if (memcmp(rules.rule, before.rule,
		   (size_t)before.n * sizeof(rules.rule[0])) != 0)
		fail("earlier rules changed");
	for (i = 0; i < rules.n; i++)
		check_rule(&rules.rule[i], sk);
	check_modes();
	for (i = 0; i < rules.n; i++)
		for (j = i + 1; j < rules.n; j++)
			if (overlap(&rules.rule[i], &rules.rule[j]))
				fail("%s overlaps %s", rules.rule[i].text,
				     rules.rule[j].text);
	check_ranges(IPPROTO_TCP);
	check_ranges(IPPROTO_UDP);
	check_match();
}

/**
 * LLVMFuzzerTestOneInput() - a fresh table, then the input's arguments
 * @data:	header byte and arguments
 * @size:	their length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[FWDRULE_ERR_LEN + FUZZ_ERR_GUARD];
	const struct fuzz_skip *sk;
	size_t pos = 1, errlen;
	uint8_t head;
	int a;

	if (!size)
		return 0;
	head = data[0];
	sk = &fuzz_skips[(head >> 4) & 3];
	errlen = head & 0x40 ? FUZZ_ERR_SMALL : FWDRULE_ERR_LEN;
	memset(&rules, 0, sizeof(rules));

	for (a = 0; a < FUZZ_ARGS && pos <= size; a++) {
		uint8_t proto = head >> a & 1 ? IPPROTO_UDP : IPPROTO_TCP;
		size_t end = pos;
		char *spec;
		int ret;

		while (end < size && data[end] && data[end] != '\n')
			end++;
		spec = malloc(end - pos + 1);
		if (!spec)
			abort();
		memcpy(spec, data + pos, end - pos);
		spec[end - pos] = '\0';
		pos = end + 1;

		before = rules;
		memset(err, FUZZ_ERR_FILL, sizeof(err));
		ret = fwdrule_parse(&rules, proto, spec, sk->r, sk->n, err,
				    errlen);
		free(spec);
		if (ret != 0 && ret != -1)
			fail("fwdrule_parse() returned %d", ret);
		if (ret) {
			check_err(err, errlen, proto);
			break;
		}
		if ((uint8_t)err[0] != 0)
			fail("message on success: %.*s", (int)errlen, err);
		check_table(sk);
	}
	return 0;
}
