// SPDX-License-Identifier: GPL-2.0-or-later
/* test_fwdrule.c - unit tests for fwdrule.c: passt's -t and -u syntax
 *
 * Copyright (c) 2026 merd authors
 *
 * Every form passt's man page gives for --tcp-ports and --udp-ports, as a
 * user types them, one option after the other into one table of rules:
 * the rules each makes (host ports, guest port, address, interface, its
 * text), and every way an argument can be wrong, with the one line merd
 * would print for it. Then the look-ups merd makes with the rules (which
 * rule takes a packet, which guest port it goes to, the ranges the raw
 * sockets' filters test), and fwdrule_fit() against a plain model of it
 * (merge the two closest ranges, one pair at a time) on pseudo-random
 * inputs.
 */

#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fwdrule.h"
#include "unit.h"
#include "util.h"

/* Host's ephemeral range and merd's flow ports, as merd.c would skip them */
static const struct port_range skip_std[] = {
	{ 61000, 61767 }, { 32768, 60999 },
};

/* The table the options of a test fill, cleared by fresh() */
static struct fwdrules rules;

/* fresh() - an empty table, as merd.c starts with */
static struct fwdrules *fresh(void)
{
	memset(&rules, 0, sizeof(rules));
	return &rules;
}

/* ok_skip() - the argument is taken, with skip ranges */
static void ok_skip(struct fwdrules *r, uint8_t proto, const char *spec,
		    const struct port_range *skip, int nskip)
{
	char err[FWDRULE_ERR_LEN];
	int ret;

	memset(err, 'x', sizeof(err));
	ret = fwdrule_parse(r, proto, spec, skip, nskip, err, sizeof(err));
	if (ret)
		fail_msg("%s %s: %s", proto == IPPROTO_TCP ? "-t" : "-u", spec,
			 err);
	assert_string_equal(err, "");
}

/* ok() - the argument is taken */
static void ok(struct fwdrules *r, uint8_t proto, const char *spec)
{
	ok_skip(r, proto, spec, NULL, 0);
}

/* fails() - the argument is refused, with exactly that message, one line
 * that fits FWDRULE_ERR_LEN
 */
static void fails(struct fwdrules *r, uint8_t proto, const char *spec,
		  const char *msg)
{
	char err[FWDRULE_ERR_LEN];

	memset(err, 'x', sizeof(err));
	assert_int_equal(fwdrule_parse(r, proto, spec, skip_std,
				       ARRAY_SIZE(skip_std), err, sizeof(err)),
			 -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	assert_null(strchr(err, '\n'));
	assert_string_equal(err, msg);
}

/* fails_fresh() - the argument is refused as the only option */
static void fails_fresh(uint8_t proto, const char *spec, const char *msg)
{
	fails(fresh(), proto, spec, msg);
}

/* rule_is() - rule @i has these ports and text, no address, no interface */
static void rule_is(const struct fwdrules *r, int i, uint8_t proto,
		    uint16_t first, uint16_t last, uint16_t to,
		    const char *text)
{
	const struct fwdrule *f;

	assert_true(i < r->n);
	f = &r->rule[i];
	assert_int_equal(f->proto, proto);
	assert_int_equal(f->first, first);
	assert_int_equal(f->last, last);
	assert_int_equal(f->to, to);
	assert_string_equal(f->text, text);
	assert_int_equal(f->ifi, 0);
}

/* plain() - rule @i is bound to no address and no interface */
static void plain(const struct fwdrules *r, int i)
{
	assert_false(r->rule[i].addr_set);
	assert_string_equal(r->rule[i].ifname, "");
}

/* v4() - an IPv4 address from text, mapped */
static union inany_addr v4(const char *s)
{
	union inany_addr a;
	struct in_addr a4;

	assert_int_equal(inet_pton(AF_INET, s, &a4), 1);
	inany_from_v4(&a, a4.s_addr);
	return a;
}

/* v6() - an IPv6 address from text */
static union inany_addr v6(const char *s)
{
	union inany_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a.a6), 1);
	return a;
}

/* bound_to() - rule @i is bound to that address */
static void bound_to(const struct fwdrules *r, int i, union inany_addr a)
{
	assert_true(r->rule[i].addr_set);
	assert_memory_equal(&r->rule[i].addr, &a, sizeof(a));
}

/* -t 22: one rule, port 22 to 22 */
static void test_single_port(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "22");
	assert_int_equal(r->n, 1);
	rule_is(r, 0, IPPROTO_TCP, 22, 22, 22, "-t 22");
	plain(r, 0);
	assert_false(r->rule[0].wide);
	assert_int_equal(r->mode[0], FWDRULE_SPEC);
	assert_int_equal(r->mode[1], FWDRULE_UNSET);
	assert_int_equal(fwdrule_ports(r, IPPROTO_TCP), 1);
	assert_int_equal(fwdrule_ports(r, IPPROTO_UDP), 0);

	r = fresh();
	ok(r, IPPROTO_UDP, "1");
	rule_is(r, 0, IPPROTO_UDP, 1, 1, 1, "-u 1");
	assert_int_equal(r->mode[1], FWDRULE_SPEC);
	assert_int_equal(r->mode[0], FWDRULE_UNSET);

	r = fresh();
	ok(r, IPPROTO_TCP, "65535");
	rule_is(r, 0, IPPROTO_TCP, 65535, 65535, 65535, "-t 65535");

	r = fresh();				/* up to five digits */
	ok(r, IPPROTO_TCP, "00080");
	rule_is(r, 0, IPPROTO_TCP, 80, 80, 80, "-t 00080");
}

/* -t 22-80 and -t 22:23, -t 22-80:32-90, as the man page has them */
static void test_range_and_mapping(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "8000-8010");
	rule_is(r, 0, IPPROTO_TCP, 8000, 8010, 8000, "-t 8000-8010");
	assert_int_equal(fwdrule_ports(r, IPPROTO_TCP), 11);

	r = fresh();
	ok(r, IPPROTO_TCP, "22:23");
	rule_is(r, 0, IPPROTO_TCP, 22, 22, 23, "-t 22:23");
	assert_int_equal(fwdrule_to(&r->rule[0], 22), 23);

	r = fresh();
	ok(r, IPPROTO_TCP, "22-80:32-90");
	rule_is(r, 0, IPPROTO_TCP, 22, 80, 32, "-t 22-80:32-90");
	assert_int_equal(fwdrule_to(&r->rule[0], 22), 32);
	assert_int_equal(fwdrule_to(&r->rule[0], 80), 90);

	r = fresh();				/* a range of one */
	ok(r, IPPROTO_UDP, "53-53:5353-5353");
	rule_is(r, 0, IPPROTO_UDP, 53, 53, 5353, "-u 53-53:5353-5353");

	r = fresh();				/* to the top, and down */
	ok(r, IPPROTO_UDP, "1-10:65526-65535,65526-65535:1-10");
	rule_is(r, 0, IPPROTO_UDP, 1, 10, 65526, "-u 1-10:65526-65535");
	rule_is(r, 1, IPPROTO_UDP, 65526, 65535, 1, "-u 65526-65535:1-10");
	assert_int_equal(fwdrule_to(&r->rule[0], 10), 65535);
	assert_int_equal(fwdrule_to(&r->rule[1], 65535), 10);
}

/* -t 22,25: a rule per item, in order, each with its own text */
static void test_list(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "22,25,8000-8010:9000-9010,65535");
	assert_int_equal(r->n, 4);
	rule_is(r, 0, IPPROTO_TCP, 22, 22, 22, "-t 22");
	rule_is(r, 1, IPPROTO_TCP, 25, 25, 25, "-t 25");
	rule_is(r, 2, IPPROTO_TCP, 8000, 8010, 9000,
		"-t 8000-8010:9000-9010");
	rule_is(r, 3, IPPROTO_TCP, 65535, 65535, 65535, "-t 65535");
	assert_int_equal(fwdrule_ports(r, IPPROTO_TCP), 14);
	assert_int_equal(r->mode[0], FWDRULE_SPEC);
}

/* -t 192.0.2.1/22, IPv4 stored mapped, with or without brackets */
static void test_addr_v4(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "127.0.0.1/8080:80");
	rule_is(r, 0, IPPROTO_TCP, 8080, 8080, 80, "-t 127.0.0.1/8080:80");
	bound_to(r, 0, v4("127.0.0.1"));
	assert_string_equal(r->rule[0].ifname, "");

	ok(r, IPPROTO_TCP, "[192.0.2.1]/22,25");
	rule_is(r, 1, IPPROTO_TCP, 22, 22, 22, "-t [192.0.2.1]/22");
	rule_is(r, 2, IPPROTO_TCP, 25, 25, 25, "-t [192.0.2.1]/25");
	bound_to(r, 1, v4("192.0.2.1"));
	bound_to(r, 2, v4("192.0.2.1"));
	assert_int_equal(r->n, 3);
}

/* -t 2001:db8::1/22, with brackets and without; ::ffff:a.b.c.d is IPv4 */
static void test_addr_v6(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "2001:db8::1/22");
	rule_is(r, 0, IPPROTO_TCP, 22, 22, 22, "-t 2001:db8::1/22");
	bound_to(r, 0, v6("2001:db8::1"));

	ok(r, IPPROTO_TCP, "[2001:db8::2]/22-23:2222-2223");
	rule_is(r, 1, IPPROTO_TCP, 22, 23, 2222,
		"-t [2001:db8::2]/22-23:2222-2223");
	bound_to(r, 1, v6("2001:db8::2"));

	ok(r, IPPROTO_UDP, "::1/53");
	bound_to(r, 2, v6("::1"));

	ok(r, IPPROTO_UDP, "::ffff:192.0.2.9/53");
	bound_to(r, 3, v4("192.0.2.9"));
	assert_true(inany_is_v4(&r->rule[3].addr));
}

/* -t %eth0/22, -t 192.0.2.1%eth0/22, and IPv6 with an interface */
static void test_iface(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "%eth0/22");
	rule_is(r, 0, IPPROTO_TCP, 22, 22, 22, "-t %eth0/22");
	assert_false(r->rule[0].addr_set);
	assert_string_equal(r->rule[0].ifname, "eth0");

	ok(r, IPPROTO_TCP, "192.0.2.1%eth1/22");
	rule_is(r, 1, IPPROTO_TCP, 22, 22, 22, "-t 192.0.2.1%eth1/22");
	bound_to(r, 1, v4("192.0.2.1"));
	assert_string_equal(r->rule[1].ifname, "eth1");

	ok(r, IPPROTO_TCP, "[2001:db8::1]%eth2/22");
	bound_to(r, 2, v6("2001:db8::1"));
	assert_string_equal(r->rule[2].ifname, "eth2");

	/* An address before '%' without brackets: the interface, not a
	 * zone of the address
	 */
	ok(r, IPPROTO_TCP, "fe80::1%eth0/23");
	bound_to(r, 3, v6("fe80::1"));
	assert_string_equal(r->rule[3].ifname, "eth0");

	ok(r, IPPROTO_UDP, "%abcdefghijklmno/30");	/* IFNAMSIZ - 1 */
	assert_string_equal(r->rule[4].ifname, "abcdefghijklmno");
	ok(r, IPPROTO_UDP, "%br-lan.10_x/30");
	assert_string_equal(r->rule[5].ifname, "br-lan.10_x");
	assert_int_equal(r->n, 6);
}

/* -t 2000-5000,~3000-3010: the range cut in two, each piece mapped as the
 * range was
 */
static void test_exclusions_middle(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "2000-5000,~3000-3010");
	assert_int_equal(r->n, 2);
	rule_is(r, 0, IPPROTO_TCP, 2000, 2999, 2000, "-t 2000-5000");
	rule_is(r, 1, IPPROTO_TCP, 3011, 5000, 3011, "-t 2000-5000");
	assert_int_equal(fwdrule_ports(r, IPPROTO_TCP), 3001 - 11);
	assert_int_equal(r->mode[0], FWDRULE_SPEC);

	r = fresh();
	ok(r, IPPROTO_TCP, "192.0.2.1/20-30,~25");
	assert_int_equal(r->n, 2);
	rule_is(r, 0, IPPROTO_TCP, 20, 24, 20, "-t 192.0.2.1/20-30");
	rule_is(r, 1, IPPROTO_TCP, 26, 30, 26, "-t 192.0.2.1/20-30");
	bound_to(r, 0, v4("192.0.2.1"));
	bound_to(r, 1, v4("192.0.2.1"));

	r = fresh();				/* the offset stays */
	ok(r, IPPROTO_UDP, "100-200:1100-1200,~150-159,~170");
	assert_int_equal(r->n, 3);
	rule_is(r, 0, IPPROTO_UDP, 100, 149, 1100, "-u 100-200:1100-1200");
	rule_is(r, 1, IPPROTO_UDP, 160, 169, 1160, "-u 100-200:1100-1200");
	rule_is(r, 2, IPPROTO_UDP, 171, 200, 1171, "-u 100-200:1100-1200");
	assert_int_equal(fwdrule_to(&r->rule[2], 200), 1200);

	r = fresh();				/* one exclusion, two ranges */
	ok(r, IPPROTO_TCP, "10-20,30-40,~15-35");
	assert_int_equal(r->n, 2);
	rule_is(r, 0, IPPROTO_TCP, 10, 14, 10, "-t 10-20");
	rule_is(r, 1, IPPROTO_TCP, 36, 40, 36, "-t 30-40");
}

/* Exclusions at the ends of a range, before it in the list, or of ports
 * no range has
 */
static void test_exclusions_ends(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "20-30,~20,~30");
	assert_int_equal(r->n, 1);
	rule_is(r, 0, IPPROTO_TCP, 21, 29, 21, "-t 20-30");

	r = fresh();
	ok(r, IPPROTO_TCP, "~20-22,20-30:120-130,~28-30");
	assert_int_equal(r->n, 1);
	rule_is(r, 0, IPPROTO_TCP, 23, 27, 123, "-t 20-30:120-130");

	r = fresh();
	ok(r, IPPROTO_TCP, "22,~80");
	assert_int_equal(r->n, 1);
	rule_is(r, 0, IPPROTO_TCP, 22, 22, 22, "-t 22");
	assert_int_equal(r->mode[0], FWDRULE_SPEC);

	r = fresh();
	ok(r, IPPROTO_TCP, "1-65535,~1,~65535");
	rule_is(r, 0, IPPROTO_TCP, 2, 65534, 2, "-t 1-65535");
	assert_false(r->rule[0].wide);
}

/* -t ~20000-20010: every other port, but the skipped ones */
static void test_exclusion_only(void **state)
{
	struct fwdrules *r = fresh();
	int i;

	(void)state;
	ok(r, IPPROTO_TCP, "~22");
	assert_int_equal(r->n, 2);
	rule_is(r, 0, IPPROTO_TCP, 1, 21, 1, "-t ~22");
	rule_is(r, 1, IPPROTO_TCP, 23, 65535, 23, "-t ~22");
	assert_true(r->rule[0].wide && r->rule[1].wide);
	plain(r, 0);
	assert_int_equal(r->mode[0], FWDRULE_ALL);

	r = fresh();
	ok_skip(r, IPPROTO_TCP, "~22", skip_std, ARRAY_SIZE(skip_std));
	assert_int_equal(r->n, 3);
	rule_is(r, 0, IPPROTO_TCP, 1, 21, 1, "-t ~22");
	rule_is(r, 1, IPPROTO_TCP, 23, 32767, 23, "-t ~22");
	rule_is(r, 2, IPPROTO_TCP, 61768, 65535, 61768, "-t ~22");

	r = fresh();
	ok_skip(r, IPPROTO_UDP, "127.0.0.1/~22,~80-100", skip_std,
		ARRAY_SIZE(skip_std));
	assert_int_equal(r->n, 4);
	rule_is(r, 0, IPPROTO_UDP, 1, 21, 1, "-u 127.0.0.1/~22,~80-100");
	rule_is(r, 1, IPPROTO_UDP, 23, 79, 23, "-u 127.0.0.1/~22,~80-100");
	rule_is(r, 2, IPPROTO_UDP, 101, 32767, 101,
		"-u 127.0.0.1/~22,~80-100");
	rule_is(r, 3, IPPROTO_UDP, 61768, 65535, 61768,
		"-u 127.0.0.1/~22,~80-100");
	for (i = 0; i < r->n; i++) {
		bound_to(r, i, v4("127.0.0.1"));
		assert_true(r->rule[i].wide);
	}
	assert_int_equal(r->mode[1], FWDRULE_ALL);
	assert_int_equal(r->mode[0], FWDRULE_UNSET);

	r = fresh();
	ok(r, IPPROTO_TCP, "%eth0/~1-1000");
	rule_is(r, 0, IPPROTO_TCP, 1001, 65535, 1001, "-t %eth0/~1-1000");
	assert_string_equal(r->rule[0].ifname, "eth0");
}

/* -t all: every port but the skipped ones, whatever their order */
static void test_all(void **state)
{
	static const struct port_range skip[] = {
		{ 61000, 61767 }, { 100, 200 }, { 32768, 60999 },
		{ 150, 250 }, { 5, 3 } /* empty */, { 0, 0 },
	};
	struct fwdrules *r = fresh();
	int i;

	(void)state;
	ok_skip(r, IPPROTO_TCP, "all", skip, ARRAY_SIZE(skip));
	assert_int_equal(r->n, 3);
	rule_is(r, 0, IPPROTO_TCP, 1, 99, 1, "-t all");
	rule_is(r, 1, IPPROTO_TCP, 251, 32767, 251, "-t all");
	rule_is(r, 2, IPPROTO_TCP, 61768, 65535, 61768, "-t all");
	for (i = 0; i < r->n; i++) {
		assert_true(r->rule[i].wide);
		plain(r, i);
	}
	assert_int_equal(r->mode[0], FWDRULE_ALL);
	assert_int_equal(fwdrule_ports(r, IPPROTO_TCP),
			 99 + (32767 - 251 + 1) + (65535 - 61768 + 1));

	ok(r, IPPROTO_UDP, "all");		/* nothing skipped */
	assert_int_equal(r->n, 4);
	rule_is(r, 3, IPPROTO_UDP, 1, 65535, 1, "-u all");
	assert_int_equal(r->mode[1], FWDRULE_ALL);
	assert_int_equal(fwdrule_ports(r, IPPROTO_UDP), 65535);

	/* skip may be NULL whatever the count */
	r = fresh();
	ok_skip(r, IPPROTO_TCP, "all", NULL, 3);
	rule_is(r, 0, IPPROTO_TCP, 1, 65535, 1, "-t all");
}

/* -t all with so many holes skipped that it makes too many rules */
static void test_all_too_many(void **state)
{
	struct port_range holes[FWDRULE_MAX];
	char err[FWDRULE_ERR_LEN];
	struct fwdrules *r = fresh();
	int i;

	(void)state;
	for (i = 0; i < FWDRULE_MAX; i++)	/* 257 runs between them */
		holes[i].lo = holes[i].hi = (uint16_t)(100 + 2 * i);
	assert_int_equal(fwdrule_parse(r, IPPROTO_TCP, "all", holes,
				       FWDRULE_MAX, err, sizeof(err)), -1);
	assert_string_equal(err, "-t 'all': more than 256 rules in all (each "
			    "range left between exclusions is one)");

	r = fresh();				/* one hole fewer: 256 */
	ok_skip(r, IPPROTO_TCP, "all", holes, FWDRULE_MAX - 1);
	assert_int_equal(r->n, FWDRULE_MAX);
	rule_is(r, 0, IPPROTO_TCP, 1, 99, 1, "-t all");
	rule_is(r, 1, IPPROTO_TCP, 101, 101, 101, "-t all");
	rule_is(r, FWDRULE_MAX - 1, IPPROTO_TCP, 2 * FWDRULE_MAX + 97, 65535,
		2 * FWDRULE_MAX + 97, "-t all");
}

/* -t none: no rule; again is fine; UDP is another matter */
static void test_none(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "none");
	assert_int_equal(r->n, 0);
	assert_int_equal(r->mode[0], FWDRULE_NONE);
	ok(r, IPPROTO_TCP, "none");
	assert_int_equal(r->mode[0], FWDRULE_NONE);
	ok(r, IPPROTO_UDP, "53");
	assert_int_equal(r->n, 1);
	assert_int_equal(r->mode[1], FWDRULE_SPEC);
	assert_int_equal(fwdrule_ports(r, IPPROTO_TCP), 0);
	assert_null(fwdrule_match(r, IPPROTO_TCP, NULL, 0, 53));
	assert_non_null(fwdrule_match(r, IPPROTO_UDP, NULL, 0, 53));
}

/* Options repeat: rules pile up, TCP and UDP apart */
static void test_repeated(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "22");
	ok(r, IPPROTO_TCP, "80-81");
	ok(r, IPPROTO_UDP, "53");
	ok(r, IPPROTO_UDP, "22");		/* TCP's 22 is another port */
	ok(r, IPPROTO_TCP, "127.0.0.1/8080");
	assert_int_equal(r->n, 5);
	rule_is(r, 0, IPPROTO_TCP, 22, 22, 22, "-t 22");
	rule_is(r, 1, IPPROTO_TCP, 80, 81, 80, "-t 80-81");
	rule_is(r, 2, IPPROTO_UDP, 53, 53, 53, "-u 53");
	rule_is(r, 3, IPPROTO_UDP, 22, 22, 22, "-u 22");
	rule_is(r, 4, IPPROTO_TCP, 8080, 8080, 8080, "-t 127.0.0.1/8080");
	assert_int_equal(r->mode[0], FWDRULE_SPEC);
	assert_int_equal(r->mode[1], FWDRULE_SPEC);
	assert_int_equal(fwdrule_ports(r, IPPROTO_TCP), 4);
	assert_int_equal(fwdrule_ports(r, IPPROTO_UDP), 2);
}

/* Host and guest ranges of different sizes, backwards ranges */
static void test_bad_ranges(void **state)
{
	(void)state;
	fails_fresh(IPPROTO_TCP, "22:23-24",
		    "-t '22:23-24': host ports 22 and guest ports 23-24 "
		    "differ in size");
	fails_fresh(IPPROTO_UDP, "20-30:40-41",
		    "-u '20-30:40-41': host ports 20-30 and guest ports 40-41 "
		    "differ in size");
	fails_fresh(IPPROTO_TCP, "80-22",
		    "-t '80-22': first port above last");
	fails_fresh(IPPROTO_TCP, "1-2:4-3",
		    "-t '1-2:4-3': first port above last");
	fails_fresh(IPPROTO_TCP, "~30-20",
		    "-t '~30-20': first port above last");
}

/* 0, 65536 and longer numbers are no ports, as host, guest or excluded */
static void test_out_of_range(void **state)
{
	static const char *const bad[] = {
		"0", "65536", "99999999", "22-65536", "22:0", "0-5", "~0",
		"000000022", "99999", "1-2:65535-65536", "~65530-70000",
		"184467440737095516160",
	};
	char msg[FWDRULE_ERR_LEN];
	unsigned int i;

	(void)state;
	fails_fresh(IPPROTO_UDP, "0", "-u '0': ports are 1 to 65535");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(msg, sizeof(msg), "-t '%s': ports are 1 to 65535",
			 bad[i]);
		fails_fresh(IPPROTO_TCP, bad[i], msg);
	}
	fails_fresh(IPPROTO_TCP, "22,65536",
		    "-t '65536': ports are 1 to 65535");
}

/* Anything but digits where a port goes */
static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"abc", "22a", "+22", "-22", " 22", "22 ", "22-", "22:", "0x16",
		"2 2", "~", "22--23", "22:23:24", "22-23-24", "~~22", "22\t",
		"ALL", "None", "auto", ":22", "22-:23", "22:-23", "1e3", "22.0",
		"-", "~-5", "22;23", "\xe2\x80\xa8",
	};
	char msg[FWDRULE_ERR_LEN];
	unsigned int i;

	(void)state;
	fails_fresh(IPPROTO_TCP, "abc", "-t 'abc': not a port or range");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char q[64];
		size_t j;

		for (j = 0; bad[i][j] && j + 1 < sizeof(q); j++)
			q[j] = bad[i][j] < ' ' || bad[i][j] > '~' ? '?' :
				bad[i][j];
		q[j] = '\0';
		snprintf(msg, sizeof(msg), "-u '%s': not a port or range", q);
		fails_fresh(IPPROTO_UDP, bad[i], msg);
	}
	fails_fresh(IPPROTO_TCP, "22,abc,80", "-t 'abc': not a port or range");
	fails_fresh(IPPROTO_TCP, "~22:23",
		    "-t '~22:23': an exclusion has no guest ports");
	fails_fresh(IPPROTO_TCP, "all,22",
		    "-t 'all': must be the whole argument");
	fails_fresh(IPPROTO_TCP, "22,none",
		    "-t 'none': must be the whole argument");
	fails_fresh(IPPROTO_TCP, "1.2.3.4/22/23",
		    "-t '22/23': not a port or range");
}

/* Empty arguments, empty items */
static void test_empty(void **state)
{
	(void)state;
	fails_fresh(IPPROTO_TCP, "", "-t '': no ports given");
	fails_fresh(IPPROTO_UDP, NULL, "-u '': no ports given");
	fails_fresh(IPPROTO_TCP, "22,,23",
		    "-t '22,,23': empty item in the list");
	fails_fresh(IPPROTO_TCP, "22,", "-t '22,': empty item in the list");
	fails_fresh(IPPROTO_TCP, ",22", "-t ',22': empty item in the list");
	fails_fresh(IPPROTO_TCP, ",", "-t ',': empty item in the list");
	fails_fresh(IPPROTO_TCP, "127.0.0.1/22,",
		    "-t '127.0.0.1/22,': empty item in the list");
	fails_fresh(IPPROTO_TCP, "127.0.0.1/",
		    "-t '127.0.0.1/': no ports after '/'");
	fails_fresh(IPPROTO_TCP, "/22", "-t '/22': nothing before '/'");
	fails_fresh(IPPROTO_TCP, "/", "-t '/': nothing before '/'");
}

/* none with anything else for the protocol */
static void test_none_conflict(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "22");
	fails(r, IPPROTO_TCP, "none", "-t 'none' conflicts with -t '22'");

	r = fresh();
	ok(r, IPPROTO_TCP, "none");
	fails(r, IPPROTO_TCP, "22", "-t '22' conflicts with -t 'none'");
	fails(r, IPPROTO_TCP, "all", "-t 'all' conflicts with -t 'none'");
	fails(r, IPPROTO_TCP, "~22", "-t '~22' conflicts with -t 'none'");
	ok(r, IPPROTO_UDP, "22");		/* UDP has its own mode */
	fails(r, IPPROTO_UDP, "none", "-u 'none' conflicts with -u '22'");

	r = fresh();
	ok(r, IPPROTO_TCP, "all");
	fails(r, IPPROTO_TCP, "none", "-t 'none' conflicts with -t 'all'");
}

/* all, or exclusions only, with lists of ports for the protocol; with
 * each other, they may not overlap
 */
static void test_all_conflict(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "all");
	fails(r, IPPROTO_TCP, "22", "-t '22' conflicts with -t 'all'");
	fails(r, IPPROTO_TCP, "~22", "-t '~22' overlaps -t 'all'");
	fails(r, IPPROTO_TCP, "all", "-t 'all' overlaps -t 'all'");
	ok(r, IPPROTO_UDP, "22");
	fails(r, IPPROTO_UDP, "all", "-u 'all' conflicts with -u '22'");

	r = fresh();
	ok(r, IPPROTO_TCP, "~22");
	fails(r, IPPROTO_TCP, "22:2222",
	      "-t '22:2222' conflicts with -t '~22'");

	r = fresh();
	ok(r, IPPROTO_TCP, "80");
	fails(r, IPPROTO_TCP, "~22", "-t '~22' conflicts with -t '80'");

	fails_fresh(IPPROTO_TCP, "all,22",
		    "-t 'all': must be the whole argument");
}

/* ADDR/all, as libvirt writes a <portForward> with an address and no
 * range: wide rules of their own scope, which may stand side by side, but
 * not overlap
 */
static void test_all_scoped(void **state)
{
	struct fwdrules *r = fresh();
	const struct port_range skip[] = { { 1000, 65535 } };

	(void)state;
	ok_skip(r, IPPROTO_TCP, "127.0.0.1/all", skip, 1);
	assert_int_equal(r->n, 1);
	rule_is(r, 0, IPPROTO_TCP, 1, 999, 1, "-t 127.0.0.1/all");
	assert_true(r->rule[0].addr_set && r->rule[0].wide);
	assert_int_equal(r->mode[0], FWDRULE_ALL);
	ok_skip(r, IPPROTO_TCP, "192.0.2.1%lo/all", skip, 1);
	assert_int_equal(r->n, 2);
	assert_string_equal(r->rule[1].ifname, "lo");
	ok_skip(r, IPPROTO_TCP, "192.0.2.2/~22", skip, 1);
	assert_int_equal(r->n, 4);
	assert_int_equal(fwdrule_parse(r, IPPROTO_TCP, "all", skip, 1, NULL,
				       0), -1);
	assert_int_equal(fwdrule_parse(r, IPPROTO_TCP, "127.0.0.1/all", skip,
				       1, NULL, 0), -1);
	assert_int_equal(fwdrule_parse(r, IPPROTO_TCP, "22", skip, 1, NULL,
				       0), -1);
	assert_int_equal(r->n, 4);
}

/* Rules of a protocol that could take the same packet */
static void test_overlap(void **state)
{
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "80");
	fails(r, IPPROTO_TCP, "70-90", "-t '70-90' overlaps -t '80'");

	fails_fresh(IPPROTO_TCP, "1-100,50-60",
		    "-t '50-60' overlaps -t '1-100'");
	fails_fresh(IPPROTO_TCP, "22,22", "-t '22' overlaps -t '22'");

	r = fresh();
	ok(r, IPPROTO_TCP, "10-20");
	fails(r, IPPROTO_TCP, "20-30", "-t '20-30' overlaps -t '10-20'");
	ok(r, IPPROTO_TCP, "21-30");		/* adjacent is fine */
	ok(r, IPPROTO_UDP, "10-30");		/* so is the other protocol */

	/* No address meets every address, no interface every interface */
	r = fresh();
	ok(r, IPPROTO_TCP, "80");
	fails(r, IPPROTO_TCP, "127.0.0.1/80",
	      "-t '127.0.0.1/80' overlaps -t '80'");
	fails(r, IPPROTO_TCP, "%eth0/79-80",
	      "-t '%eth0/79-80' overlaps -t '80'");

	r = fresh();
	ok(r, IPPROTO_TCP, "%eth0/80");
	fails(r, IPPROTO_TCP, "127.0.0.1/80",
	      "-t '127.0.0.1/80' overlaps -t '%eth0/80'");
	fails(r, IPPROTO_TCP, "127.0.0.1%eth0/80",
	      "-t '127.0.0.1%eth0/80' overlaps -t '%eth0/80'");
	ok(r, IPPROTO_TCP, "%eth1/80");
	ok(r, IPPROTO_TCP, "127.0.0.1%eth2/80");

	/* Different addresses never meet, IPv4 written as IPv6 is IPv4 */
	r = fresh();
	ok(r, IPPROTO_TCP, "127.0.0.1/80");
	ok(r, IPPROTO_TCP, "192.0.2.1/80");
	ok(r, IPPROTO_TCP, "[::1]/80");
	ok(r, IPPROTO_TCP, "127.0.0.1%eth0/81");
	ok(r, IPPROTO_TCP, "127.0.0.1%eth1/81");
	fails(r, IPPROTO_TCP, "::ffff:127.0.0.1/80",
	      "-t '::ffff:127.0.0.1/80' overlaps -t '127.0.0.1/80'");
	fails(r, IPPROTO_TCP, "[::1]/79-81", "-t '[::1]/79-81' overlaps -t "
	      "'[::1]/80'");
	assert_int_equal(r->n, 5);
}

/* Exclusions that overlap, and exclusions that leave nothing */
static void test_bad_exclusions(void **state)
{
	(void)state;
	fails_fresh(IPPROTO_TCP, "1-100,~10-20,~15",
		    "-t '~15' overlaps -t '~10-20'");
	fails_fresh(IPPROTO_TCP, "~10-20,~20-30",
		    "-t '~20-30' overlaps -t '~10-20'");
	fails_fresh(IPPROTO_TCP, "~22,~22", "-t '~22' overlaps -t '~22'");
	fails_fresh(IPPROTO_TCP, "22,80,~22",
		    "-t '22': every port of it is excluded");
	fails_fresh(IPPROTO_TCP, "10-20,~5-25",
		    "-t '10-20': every port of it is excluded");
	fails_fresh(IPPROTO_TCP, "~1-65535",
		    "-t '~1-65535': leaves no port to forward");
	/* Skipped ports count: skip_std and this leave nothing */
	fails_fresh(IPPROTO_TCP, "~1-32767,~61768-65535",
		    "-t '~1-32767,~61768-65535': leaves no port to forward");
}

/* Interface names Linux wouldn't have */
static void test_bad_ifname(void **state)
{
	(void)state;
	fails_fresh(IPPROTO_TCP, "%abcdefghijklmnop/22",
		    "-t 'abcdefghijklmnop': interface names are at most 15 "
		    "characters");
	fails_fresh(IPPROTO_TCP, "127.0.0.1%abcdefghijklmnopqrstuvwxyz/22",
		    "-t 'abcdefghijklmnopqrstuvwxyz': interface names are at "
		    "most 15 characters");
	fails_fresh(IPPROTO_TCP, "%/22",
		    "-t '%': no interface name after '%'");
	fails_fresh(IPPROTO_TCP, "127.0.0.1%/22",
		    "-t '127.0.0.1%': no interface name after '%'");
	fails_fresh(IPPROTO_TCP, "[::1]%/22",
		    "-t '[::1]%': no interface name after '%'");
	fails_fresh(IPPROTO_TCP, "%eth 0/22",
		    "-t 'eth 0': not an interface name");
	fails_fresh(IPPROTO_TCP, "%../22", "-t '..': not an interface name");
	fails_fresh(IPPROTO_TCP, "%./22", "-t '.': not an interface name");
	fails_fresh(IPPROTO_TCP, "%eth0:1/22",
		    "-t 'eth0:1': not an interface name");
	fails_fresh(IPPROTO_TCP, "%a%b/22", "-t 'a%b': not an interface name");
	fails_fresh(IPPROTO_TCP, "%\x01/22", "-t '?': not an interface name");
}

/* Addresses that don't parse, or aren't one host's */
static void test_bad_addr(void **state)
{
	static const char *const bad[] = {
		"1.2.3.400", "1.2.3", "localhost", "192.0.2.1 ", "::g",
		"1:2:3:4:5:6:7:8:9", "[fe80::1%eth0]", "[]", "[[::1]",
		"192.0.2.1]", "0000:0000:0000:0000:0000:0000:0000:0000:0000",
	};
	static const char *const multi[] = {
		"224.0.0.1", "0.0.0.0", "::", "[ff02::1]", "255.255.255.255",
		"::ffff:0.0.0.0", "239.255.255.250", "[::]",
	};
	char spec[FWDRULE_ERR_LEN], msg[FWDRULE_ERR_LEN];
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(spec, sizeof(spec), "%s/22", bad[i]);
		snprintf(msg, sizeof(msg),
			 "-t '%s': not an IPv4 or IPv6 address", bad[i]);
		fails_fresh(IPPROTO_TCP, spec, msg);
	}
	for (i = 0; i < ARRAY_SIZE(multi); i++) {
		snprintf(spec, sizeof(spec), "%s/22", multi[i]);
		snprintf(msg, sizeof(msg), "-t '%s': not a unicast address",
			 multi[i]);
		fails_fresh(IPPROTO_TCP, spec, msg);
	}
	fails_fresh(IPPROTO_TCP, "1.2.3.400%eth0/22",
		    "-t '1.2.3.400': not an IPv4 or IPv6 address");
	fails_fresh(IPPROTO_TCP, "[::1/22",
		    "-t '[::1': no ']' after the address");
	fails_fresh(IPPROTO_TCP, "[::1]x/22",
		    "-t '[::1]x': neither '%' nor '/' after ']'");
	fails_fresh(IPPROTO_TCP, "[::1]:22/22",
		    "-t '[::1]:22': neither '%' nor '/' after ']'");
	/* An address longer than any IPv6 one is quoted cut short */
	fails_fresh(IPPROTO_TCP, "1111111111222222222233333333334444444444"
		    "5555555555666666666677777777778888888888/22",
		    "-t '1111111111222222222233333333334444444444"
		    "555555555566666666667777...': not an IPv4 or IPv6 "
		    "address");
}

/* FWDRULE_MAX rules in all, over both protocols, and not one more */
static void test_too_many(void **state)
{
	char spec[FWDRULE_SPEC_MAX + 1];
	struct fwdrules *r = fresh();
	size_t len;
	int i;

	(void)state;
	for (i = 0; i < FWDRULE_MAX; i++) {
		snprintf(spec, sizeof(spec), "%d", 1000 + 2 * i);
		ok(r, i % 2 ? IPPROTO_UDP : IPPROTO_TCP, spec);
	}
	assert_int_equal(r->n, FWDRULE_MAX);
	fails(r, IPPROTO_TCP, "5000", "-t '5000': more than 256 rules in all "
	      "(each range left between exclusions is one)");
	fails(r, IPPROTO_UDP, "6000-6010,~6005", "-u '6000-6010': more than "
	      "256 rules in all (each range left between exclusions is one)");
	assert_int_equal(r->n, FWDRULE_MAX);

	/* Exclusions make them too: 150 ranges each of these */
	r = fresh();
	len = (size_t)snprintf(spec, sizeof(spec), "1-300");
	for (i = 2; i < 300; i += 2)
		len += (size_t)snprintf(spec + len, sizeof(spec) - len, ",~%d",
					i);
	assert_true(len < sizeof(spec) - 1);
	ok(r, IPPROTO_TCP, spec);
	assert_int_equal(r->n, 150);
	rule_is(r, 0, IPPROTO_TCP, 1, 1, 1, "-t 1-300");
	rule_is(r, 149, IPPROTO_TCP, 299, 300, 299, "-t 1-300");
	fails(r, IPPROTO_UDP, spec, "-u '1-300': more than 256 rules in all "
	      "(each range left between exclusions is one)");
}

/* FWDRULE_SPEC_MAX characters are fine, one more isn't */
static void test_too_long(void **state)
{
	char spec[FWDRULE_SPEC_MAX + 2], msg[FWDRULE_ERR_LEN];
	struct fwdrules *r = fresh();
	size_t len = 0;
	int i;

	(void)state;
	for (i = 0; i < 170; i++)		/* 170 * 6 - 1 = 1019 */
		len += (size_t)snprintf(spec + len, sizeof(spec) - len,
					"%s%d", i ? "," : "", 10000 + i);
	len += (size_t)snprintf(spec + len, sizeof(spec) - len, ",2000");
	assert_int_equal(len, FWDRULE_SPEC_MAX);
	ok(r, IPPROTO_TCP, spec);
	assert_int_equal(r->n, 171);

	r = fresh();
	spec[len - 4] = '\0';			/* "2000" off, the comma kept */
	len -= 4;
	len += (size_t)snprintf(spec + len, sizeof(spec) - len, "20000");
	assert_int_equal(len, FWDRULE_SPEC_MAX + 1);
	snprintf(msg, sizeof(msg), "-t '%.64s...': longer than 1024 characters",
		 spec);
	fails(r, IPPROTO_TCP, spec, msg);
	assert_int_equal(r->n, 0);
}

/* Messages: cut to the buffer, none without one, what can't be printed
 * as '?', long parts cut short; a protocol that isn't TCP or UDP
 */
static void test_messages(void **state)
{
	char small[8], err[FWDRULE_ERR_LEN], spec[200];
	struct fwdrules *r = fresh();

	(void)state;
	assert_int_equal(fwdrule_parse(r, IPPROTO_TCP, "abc", NULL, 0, small,
				       sizeof(small)), -1);
	assert_string_equal(small, "-t 'abc");
	assert_int_equal(fwdrule_parse(r, IPPROTO_TCP, "abc", NULL, 0, NULL,
				       0), -1);
	assert_int_equal(fwdrule_parse(r, IPPROTO_TCP, "abc", NULL, 0, err,
				       0), -1);
	assert_int_equal(fwdrule_parse(r, IPPROTO_TCP, "22", NULL, 0, NULL,
				       0), 0);

	fails_fresh(IPPROTO_TCP, "2\x01\x7f\xff\n",
		    "-t '2\?\?\?\?': not a port or range");
	memset(spec, 'x', 100);
	spec[100] = '\0';
	fails_fresh(IPPROTO_TCP, spec, "-t 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...': not a port or "
		    "range");

	assert_int_equal(fwdrule_parse(fresh(), IPPROTO_ICMP, "22", NULL, 0,
				       err, sizeof(err)), -1);
	assert_string_equal(err, "protocol 1: not TCP or UDP");
	assert_int_equal(fwdrule_parse(NULL, IPPROTO_TCP, "22", NULL, 0, err,
				       sizeof(err)), -1);
	assert_string_equal(err, "-t: no valid table of rules");
}

/* A text longer than FWDRULE_TEXT_LEN ends in "...", and so do messages
 * quoting it
 */
static void test_text_cut(void **state)
{
	static const char long_rule[] =
		"[2001:db8:1234:5678:9abc:def0:1234:5678]%abcdefghijklmno/"
		"65000-65535:1000-1535";
	static const char cut[] =
		"-t [2001:db8:1234:5678:9abc:def0:1234:5678]%...";
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, long_rule);
	assert_int_equal(strlen(r->rule[0].text), FWDRULE_TEXT_LEN - 1);
	assert_string_equal(r->rule[0].text, cut);
	assert_string_equal(r->rule[0].ifname, "abcdefghijklmno");
	assert_int_equal(r->rule[0].first, 65000);
	assert_int_equal(r->rule[0].to, 1000);
	fails(r, IPPROTO_TCP, "65100",
	      "-t '65100' overlaps -t '[2001:db8:1234:5678:9abc:def0:1234:"
	      "5678]%...'");
}

/* The rule a packet is forwarded by, and its guest port */
static void test_match(void **state)
{
	union inany_addr lo4 = v4("127.0.0.1"), doc = v4("192.0.2.1");
	union inany_addr doc2 = v4("192.0.2.2"), other = v4("198.51.100.1");
	union inany_addr a6 = v6("2001:db8::1"), b6 = v6("2001:db8::2");
	struct fwdrules *r = fresh();
	const struct fwdrule *f;

	(void)state;
	ok(r, IPPROTO_TCP, "80");				/* 0 */
	ok(r, IPPROTO_TCP, "127.0.0.1/8080:80");		/* 1 */
	ok(r, IPPROTO_TCP, "%eth0/9000-9001:19000-19001");	/* 2 */
	ok(r, IPPROTO_TCP, "192.0.2.1%eth1/7000-7010:17000-17010"); /* 3 */
	ok(r, IPPROTO_UDP, "53:5353");				/* 4 */
	ok(r, IPPROTO_TCP, "[2001:db8::1]/443");		/* 5 */
	ok(r, IPPROTO_TCP, "192.0.2.1/8080:8081");		/* 6 */
	r->rule[2].ifi = 3;			/* as merd.c finds them */
	r->rule[3].ifi = 4;

	assert_ptr_equal(fwdrule_match(r, IPPROTO_TCP, &other, 7, 80),
			 &r->rule[0]);
	assert_ptr_equal(fwdrule_match(r, IPPROTO_TCP, NULL, 0, 80),
			 &r->rule[0]);
	assert_null(fwdrule_match(r, IPPROTO_UDP, &other, 0, 80));
	assert_null(fwdrule_match(r, IPPROTO_TCP, &other, 0, 81));
	assert_null(fwdrule_match(r, IPPROTO_ICMP, &other, 0, 80));

	f = fwdrule_match(r, IPPROTO_TCP, &lo4, 1, 8080);
	assert_ptr_equal(f, &r->rule[1]);
	assert_int_equal(fwdrule_to(f, 8080), 80);
	f = fwdrule_match(r, IPPROTO_TCP, &doc, 1, 8080);
	assert_ptr_equal(f, &r->rule[6]);
	assert_int_equal(fwdrule_to(f, 8080), 8081);
	assert_null(fwdrule_match(r, IPPROTO_TCP, &other, 1, 8080));
	assert_null(fwdrule_match(r, IPPROTO_TCP, NULL, 1, 8080));

	f = fwdrule_match(r, IPPROTO_TCP, &other, 3, 9001);
	assert_ptr_equal(f, &r->rule[2]);
	assert_int_equal(fwdrule_to(f, 9001), 19001);
	assert_null(fwdrule_match(r, IPPROTO_TCP, &other, 4, 9000));
	assert_null(fwdrule_match(r, IPPROTO_TCP, &other, 0, 9000));

	f = fwdrule_match(r, IPPROTO_TCP, &doc, 4, 7005);
	assert_ptr_equal(f, &r->rule[3]);
	assert_int_equal(fwdrule_to(f, 7005), 17005);
	assert_ptr_equal(fwdrule_match(r, IPPROTO_TCP, &doc, 4, 7000), f);
	assert_ptr_equal(fwdrule_match(r, IPPROTO_TCP, &doc, 4, 7010), f);
	assert_int_equal(fwdrule_to(f, 7010), 17010);
	assert_null(fwdrule_match(r, IPPROTO_TCP, &doc, 4, 6999));
	assert_null(fwdrule_match(r, IPPROTO_TCP, &doc, 4, 7011));
	assert_null(fwdrule_match(r, IPPROTO_TCP, &doc, 3, 7005));
	assert_null(fwdrule_match(r, IPPROTO_TCP, &doc2, 4, 7005));

	f = fwdrule_match(r, IPPROTO_UDP, NULL, 0, 53);
	assert_ptr_equal(f, &r->rule[4]);
	assert_int_equal(fwdrule_to(f, 53), 5353);
	assert_null(fwdrule_match(r, IPPROTO_UDP, NULL, 0, 54));
	assert_null(fwdrule_match(r, IPPROTO_TCP, NULL, 0, 53));

	assert_ptr_equal(fwdrule_match(r, IPPROTO_TCP, &a6, 0, 443),
			 &r->rule[5]);
	assert_null(fwdrule_match(r, IPPROTO_TCP, &b6, 0, 443));

	assert_int_equal(fwdrule_ports(r, IPPROTO_TCP), 1 + 1 + 2 + 11 + 1 + 1);
	assert_int_equal(fwdrule_ports(r, IPPROTO_UDP), 1);
	assert_null(fwdrule_match(NULL, IPPROTO_TCP, NULL, 0, 80));
}

/* The host ports of a protocol, merged, then fit in a number of ranges */
static void test_ranges(void **state)
{
	struct port_range out[8];
	struct fwdrules *r = fresh();

	(void)state;
	ok(r, IPPROTO_TCP, "127.0.0.1/80");
	ok(r, IPPROTO_TCP, "192.0.2.1/80-81");
	ok(r, IPPROTO_TCP, "82-90,100");
	ok(r, IPPROTO_TCP, "65535");
	ok(r, IPPROTO_UDP, "53,1-10");

	assert_int_equal(fwdrule_ranges(r, IPPROTO_TCP, out, 8), 3);
	assert_int_equal(out[0].lo, 80);
	assert_int_equal(out[0].hi, 90);
	assert_int_equal(out[1].lo, 100);
	assert_int_equal(out[1].hi, 100);
	assert_int_equal(out[2].lo, 65535);
	assert_int_equal(out[2].hi, 65535);

	assert_int_equal(fwdrule_ranges(r, IPPROTO_TCP, out, 2), 2);
	assert_int_equal(out[0].lo, 80);
	assert_int_equal(out[0].hi, 100);
	assert_int_equal(out[1].lo, 65535);

	assert_int_equal(fwdrule_ranges(r, IPPROTO_TCP, out, 1), 1);
	assert_int_equal(out[0].lo, 80);
	assert_int_equal(out[0].hi, 65535);

	assert_int_equal(fwdrule_ranges(r, IPPROTO_UDP, out, 8), 2);
	assert_int_equal(out[0].lo, 1);
	assert_int_equal(out[0].hi, 10);
	assert_int_equal(out[1].lo, 53);
	assert_int_equal(out[1].hi, 53);

	assert_int_equal(fwdrule_ranges(r, IPPROTO_UDP, out, 0), 0);
	assert_int_equal(fwdrule_ranges(NULL, IPPROTO_UDP, out, 8), 0);
	assert_int_equal(fwdrule_ports(NULL, IPPROTO_UDP), 0);
	assert_int_equal(fwdrule_ranges(r, IPPROTO_ICMP, out, 8), 0);
	r = fresh();
	ok(r, IPPROTO_TCP, "none");
	assert_int_equal(fwdrule_ranges(r, IPPROTO_TCP, out, 8), 0);
}

/* range_eq() - a range is @lo to @hi */
static void range_eq(struct port_range r, uint16_t lo, uint16_t hi)
{
	assert_int_equal(r.lo, lo);
	assert_int_equal(r.hi, hi);
}

/* fwdrule_fit() on inputs small enough to work out by hand */
static void test_fit_examples(void **state)
{
	struct port_range r[8];

	(void)state;
	r[0] = (struct port_range){ 30, 40 };
	r[1] = (struct port_range){ 10, 20 };
	r[2] = (struct port_range){ 22, 25 };
	r[3] = (struct port_range){ 15, 18 };
	assert_int_equal(fwdrule_fit(r, 4, 8), 3);
	range_eq(r[0], 10, 20);
	range_eq(r[1], 22, 25);
	range_eq(r[2], 30, 40);
	assert_int_equal(fwdrule_fit(r, 3, 2), 2);	/* gaps 2 and 5 */
	range_eq(r[0], 10, 25);
	range_eq(r[1], 30, 40);

	r[0] = (struct port_range){ 6, 10 };		/* adjacent */
	r[1] = (struct port_range){ 1, 5 };
	assert_int_equal(fwdrule_fit(r, 2, 4), 1);
	range_eq(r[0], 1, 10);

	r[0] = (struct port_range){ 65535, 65535 };	/* the ends */
	r[1] = (struct port_range){ 65534, 65535 };
	r[2] = (struct port_range){ 0, 0 };
	assert_int_equal(fwdrule_fit(r, 3, 4), 2);
	range_eq(r[0], 0, 0);
	range_eq(r[1], 65534, 65535);
	assert_int_equal(fwdrule_fit(r, 2, 1), 1);
	range_eq(r[0], 0, 65535);

	r[0] = (struct port_range){ 20, 10 };		/* backwards */
	assert_int_equal(fwdrule_fit(r, 1, 1), 1);
	range_eq(r[0], 10, 20);

	r[0] = (struct port_range){ 1, 1 };		/* a tie: the first */
	r[1] = (struct port_range){ 7, 7 };
	r[2] = (struct port_range){ 4, 4 };
	assert_int_equal(fwdrule_fit(r, 3, 2), 2);
	range_eq(r[0], 1, 4);
	range_eq(r[1], 7, 7);

	r[0] = (struct port_range){ 5, 9 };		/* the same, twice */
	r[1] = (struct port_range){ 5, 9 };
	r[2] = (struct port_range){ 6, 7 };
	assert_int_equal(fwdrule_fit(r, 3, 3), 1);
	range_eq(r[0], 5, 9);

	r[0] = (struct port_range){ 1, 1 };		/* max below 1 */
	r[1] = (struct port_range){ 100, 100 };
	assert_int_equal(fwdrule_fit(r, 2, 0), 1);
	range_eq(r[0], 1, 100);
	assert_int_equal(fwdrule_fit(r, 0, 4), 0);
	assert_int_equal(fwdrule_fit(NULL, 3, 4), 0);
}

/* Most ranges of the pseudo-random inputs */
#define FIT_N	4096
/* Ports, as bits */
#define FIT_WORDS	(65536 / 64)

/* map_set() - put ports @lo to @hi in a map */
static void map_set(uint64_t *m, uint32_t lo, uint32_t hi)
{
	uint32_t p;

	for (p = lo; p <= hi; p++)
		m[p / 64] |= 1ULL << (p % 64);
}

/* map_has() - port @p is in a map */
static int map_has(const uint64_t *m, uint32_t p)
{
	return (int)((m[p / 64] >> (p % 64)) & 1);
}

/* model_fit() - what fwdrule_fit() must give, the plain way: the runs of
 * a map of the ports, then, while more than @max, the two with the
 * smallest gap merged (the first pair on a tie), one pair at a time
 */
static int model_fit(const uint64_t *m, struct port_range *out, int max)
{
	int n = 0, i, best;
	uint32_t p = 0;

	while (p <= 65535) {
		uint32_t lo;

		while (p <= 65535 && !map_has(m, p))
			p++;
		if (p > 65535)
			break;
		lo = p;
		while (p <= 65535 && map_has(m, p))
			p++;
		out[n].lo = (uint16_t)lo;
		out[n].hi = (uint16_t)(p - 1);
		n++;
	}
	while (n > max) {
		best = 0;
		for (i = 1; i + 1 < n; i++)
			if (out[i + 1].lo - out[i].hi <
			    out[best + 1].lo - out[best].hi)
				best = i;
		out[best].hi = out[best + 1].hi;
		memmove(&out[best + 1], &out[best + 2],
			(size_t)(n - best - 2) * sizeof(*out));
		n--;
	}
	return n;
}

/* fwdrule_fit() on pseudo-random inputs: no more than @max ranges,
 * ascending, disjoint, not adjacent, every input port covered, and the
 * very ranges of the plain model
 */
static void test_fit_random(void **state)
{
	static struct port_range in[FIT_N], r[FIT_N], want[FIT_N];
	static uint64_t map[FIT_WORDS];
	uint32_t seed;

	(void)state;
	for (seed = 1; seed <= 12; seed++) {
		int n, max, got, exp, i;

		rng_seed(seed * 7919);
		n = 1 + (int)(rng() % FIT_N);
		max = seed % 4 ? 1 + (int)(rng() % 64) : PORT_RANGES_MAX;
		memset(map, 0, sizeof(map));
		for (i = 0; i < n; i++) {
			uint32_t lo = rng() % 65536, len, hi;

			len = seed % 3 ? rng() % 16 : rng() % 2000;
			hi = lo + len > 65535 ? 65535 : lo + len;
			in[i].lo = (uint16_t)lo;
			in[i].hi = (uint16_t)hi;
			if (seed % 5 == 0 && i % 2)	/* some backwards */
				in[i] = (struct port_range){ (uint16_t)hi,
							     (uint16_t)lo };
			map_set(map, lo, hi);
		}
		memcpy(r, in, (size_t)n * sizeof(*r));

		got = fwdrule_fit(r, n, max);
		exp = model_fit(map, want, max);
		assert_true(got >= 1 && got <= max);
		assert_int_equal(got, exp);
		for (i = 0; i < got; i++) {
			assert_true(r[i].lo <= r[i].hi);
			if (i)
				assert_true(r[i].lo > r[i - 1].hi + 1);
			range_eq(r[i], want[i].lo, want[i].hi);
		}
		for (i = 0; i < n; i++) {
			uint16_t lo = MIN(in[i].lo, in[i].hi);
			uint16_t hi = MAX(in[i].lo, in[i].hi);
			int j;

			for (j = 0; j < got; j++)
				if (r[j].lo <= lo && hi <= r[j].hi)
					break;
			if (j == got)
				fail_msg("seed %u: %u-%u not covered", seed,
					 lo, hi);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_port),
		cmocka_unit_test(test_range_and_mapping),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_addr_v4),
		cmocka_unit_test(test_addr_v6),
		cmocka_unit_test(test_iface),
		cmocka_unit_test(test_exclusions_middle),
		cmocka_unit_test(test_exclusions_ends),
		cmocka_unit_test(test_exclusion_only),
		cmocka_unit_test(test_all),
		cmocka_unit_test(test_all_too_many),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_repeated),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_none_conflict),
		cmocka_unit_test(test_all_conflict),
		cmocka_unit_test(test_all_scoped),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_bad_exclusions),
		cmocka_unit_test(test_bad_ifname),
		cmocka_unit_test(test_bad_addr),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_text_cut),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_fit_examples),
		cmocka_unit_test(test_fit_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
