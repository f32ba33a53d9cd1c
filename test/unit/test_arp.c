// SPDX-License-Identifier: GPL-2.0-or-later
/* test_arp.c - unit tests for arp.c: the ARP responder on the guest's link
 *
 * Copyright (c) 2026 merd authors
 *
 * Requests are built byte by byte as RFC 826 lays them out, each in a
 * buffer malloc()ed to its exact length, so that AddressSanitizer catches
 * any read past the frame; replies go to an exact-size buffer as well.
 */

#include "arp.h"
#include "unit.h"

#define REPLY_LEN	60	/* ETH_FRAME_MIN: what a reply is padded to */
#define ARP_FRAME_LEN	42	/* Ethernet header and Ethernet/IPv4 ARP */

/**
 * struct arp_req - fields of a request to build
 * @hrd:	hardware type
 * @pro:	protocol type
 * @hln:	hardware address length
 * @pln:	protocol address length
 * @op:		opcode
 * @sip:	sender address, dotted
 * @tip:	target address, dotted
 * @len:	frame length (trailing bytes are zero padding)
 */
struct arp_req {
	uint16_t hrd, pro;
	uint8_t hln, pln;
	uint16_t op;
	const char *sip, *tip;
	size_t len;
};

/* ctx_make() - a context with the guest at 10.42.0.2/24 behind 10.42.0.1 */
static struct ctx *ctx_make(void)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	inet_pton(AF_INET, "10.42.0.2", &c->guest4.addr);
	c->guest4.prefix_len = 24;
	inet_pton(AF_INET, "10.42.0.1", &c->guest4.gw);
	c->link.mtu = 1400;
	memcpy(c->link.mac, our_mac, ETH_ALEN);
	c->tap.fd = -1;
	return c;
}

/* setup() - cmocka fixture: a fresh context per test */
static int setup(void **state)
{
	*state = ctx_make();
	return 0;
}

/* teardown() - cmocka fixture: free the context */
static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* put_ip() - write a dotted IPv4 address as four bytes */
static void put_ip(uint8_t *p, const char *dotted)
{
	assert_int_equal(inet_pton(AF_INET, dotted, p), 1);
}

/* arp_build() - a broadcast request from the guest, in a malloc()ed frame
 * of exactly r->len bytes (the first r->len bytes of the full layout)
 */
static uint8_t *arp_build(const struct arp_req *r)
{
	uint8_t full[128] = { 0 };
	uint8_t *f;

	assert_true(r->len <= sizeof(full));
	memcpy(full, bcast, ETH_ALEN);
	memcpy(full + 6, guest_mac, ETH_ALEN);
	put16(full + 12, 0x0806);
	put16(full + 14, r->hrd);
	put16(full + 16, r->pro);
	full[18] = r->hln;
	full[19] = r->pln;
	put16(full + 20, r->op);
	memcpy(full + 22, guest_mac, ETH_ALEN);
	put_ip(full + 28, r->sip);
	memset(full + 32, 0, ETH_ALEN);
	put_ip(full + 38, r->tip);

	f = malloc(r->len ? r->len : 1);
	assert_non_null(f);
	memcpy(f, full, r->len);
	return f;
}

/* arp_run() - hand a request to arp(), with a reply buffer of @size bytes
 *
 * Return: the reply length, the reply copied to @out (REPLY_LEN bytes)
 */
static size_t arp_run(const struct ctx *c, const struct arp_req *r,
		      size_t size, uint8_t *out)
{
	uint8_t *f = arp_build(r), *reply = malloc(size ? size : 1);
	struct pkt p = { f, r->len };
	size_t n;

	assert_non_null(reply);
	memset(reply, 0xa5, size);
	n = arp(c, p, reply, size);
	assert_true(n <= size);
	if (out)
		memcpy(out, reply, MIN(size, (size_t)REPLY_LEN));
	free(reply);
	free(f);
	return n;
}

/* request() - a well-formed Ethernet/IPv4 request from the guest */
static struct arp_req request(const char *tip)
{
	struct arp_req r = { .hrd = 1, .pro = 0x0800, .hln = 6, .pln = 4,
			     .op = 1, .sip = "10.42.0.2", .tip = tip,
			     .len = ARP_FRAME_LEN };
	return r;
}

/* check_reply() - a reply telling the guest that @tip is at our MAC */
static void check_reply(const uint8_t *f, const char *tip, const char *sip)
{
	uint8_t ip[4];
	size_t i;

	assert_memory_equal(f, guest_mac, ETH_ALEN);		/* to */
	assert_memory_equal(f + 6, our_mac, ETH_ALEN);		/* from */
	assert_int_equal(f[12] << 8 | f[13], 0x0806);
	assert_int_equal(f[14] << 8 | f[15], 1);		/* Ethernet */
	assert_int_equal(f[16] << 8 | f[17], 0x0800);		/* IPv4 */
	assert_int_equal(f[18], 6);
	assert_int_equal(f[19], 4);
	assert_int_equal(f[20] << 8 | f[21], 2);		/* reply */
	assert_memory_equal(f + 22, our_mac, ETH_ALEN);		/* sha */
	put_ip(ip, tip);
	assert_memory_equal(f + 28, ip, 4);			/* spa */
	assert_memory_equal(f + 32, guest_mac, ETH_ALEN);	/* tha */
	put_ip(ip, sip);
	assert_memory_equal(f + 38, ip, 4);			/* tpa */
	for (i = ARP_FRAME_LEN; i < REPLY_LEN; i++)
		assert_int_equal(f[i], 0);			/* padding */
}

/**
 * assert_answered() - a request gets the reply check_reply() wants: our MAC
 *		       for its target, to its sender
 * @c:		context
 * @r:		request
 * @size:	size of the reply buffer handed to arp()
 */
static void assert_answered(const struct ctx *c, const struct arp_req *r,
			    size_t size)
{
	uint8_t out[REPLY_LEN];

	assert_int_equal(arp_run(c, r, size, out), REPLY_LEN);
	check_reply(out, r->tip, r->sip);
}

/* The gateway resolves to our MAC, in a reply padded to 60 bytes */
static void test_gateway(void **state)
{
	struct arp_req r = request("10.42.0.1");

	assert_answered(*state, &r, REPLY_LEN);
}

/* Any other address, on the link or not, resolves to our MAC too */
static void test_any_address(void **state)
{
	static const char *const tips[] = { "10.42.0.3", "10.42.0.254",
					    "10.42.0.255", "192.0.2.1",
					    "8.8.8.8", "127.0.0.1" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tips); i++) {
		struct arp_req r = request(tips[i]);

		assert_answered(*state, &r, 1536);
	}
}

/* A request padded to the Ethernet minimum is answered the same way */
static void test_padded_request(void **state)
{
	struct arp_req r = request("10.42.0.1");

	r.len = 60;
	assert_answered(*state, &r, REPLY_LEN);
}

/* A sender other than the guest (e.g. a second address) gets its answer */
static void test_other_sender(void **state)
{
	struct arp_req r = request("10.42.0.1");

	r.sip = "10.42.0.7";
	assert_answered(*state, &r, REPLY_LEN);
}

/* RFC 5227 probe and announcement of the guest's address: no answer, or
 * the guest would find its own address in use
 */
static void test_guest_address_silent(void **state)
{
	struct arp_req probe = request("10.42.0.2");
	struct arp_req announce = request("10.42.0.2");
	struct arp_req other = request("10.42.0.2");

	probe.sip = "0.0.0.0";
	other.sip = "10.42.0.9";
	assert_int_equal(arp_run(*state, &probe, REPLY_LEN, NULL), 0);
	assert_int_equal(arp_run(*state, &announce, REPLY_LEN, NULL), 0);
	assert_int_equal(arp_run(*state, &other, REPLY_LEN, NULL), 0);
}

/* A probe for another address is answered: that address isn't the guest's */
static void test_probe_other_address(void **state)
{
	struct arp_req r = request("10.42.0.1");

	r.sip = "0.0.0.0";
	assert_answered(*state, &r, REPLY_LEN);
}

/* Unspecified, multicast and broadcast targets are nobody's: no answer */
static void test_unicast_targets_only(void **state)
{
	static const char *const tips[] = { "0.0.0.0", "224.0.0.1",
					    "239.255.255.250",
					    "255.255.255.255" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tips); i++) {
		struct arp_req r = request(tips[i]);

		assert_int_equal(arp_run(*state, &r, REPLY_LEN, NULL), 0);
	}
}

/* Other hardware or protocol types, or address lengths: no answer */
static void test_not_ethernet_ip4(void **state)
{
	struct arp_req r[8];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(r); i++)
		r[i] = request("10.42.0.1");
	r[0].hrd = 6;		/* IEEE 802 */
	r[1].hrd = 0;
	r[2].pro = 0x86dd;	/* IPv6 */
	r[3].pro = 0x0806;
	r[4].hln = 8;
	r[5].hln = 0;
	r[6].pln = 16;
	r[7].pln = 6;

	for (i = 0; i < ARRAY_SIZE(r); i++)
		assert_int_equal(arp_run(*state, &r[i], REPLY_LEN, NULL), 0);
}

/* Only requests are answered: replies (gratuitous or not), RARP, junk */
static void test_not_request(void **state)
{
	static const uint16_t ops[] = { 0, 2, 3, 4, 8, 9, 0x0101, 0xffff };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		struct arp_req r = request("10.42.0.1");

		r.op = ops[i];
		assert_int_equal(arp_run(*state, &r, REPLY_LEN, NULL), 0);
	}
}

/* Truncated frames, at every length short of a full request: no answer,
 * and ASan checks nothing past the frame is read
 */
static void test_truncated(void **state)
{
	size_t len;

	for (len = 0; len < ARP_FRAME_LEN; len++) {
		struct arp_req r = request("10.42.0.1");

		r.len = len;
		assert_int_equal(arp_run(*state, &r, REPLY_LEN, NULL), 0);
	}
}

/* A reply buffer shorter than 60 bytes gets nothing written */
static void test_small_buffer(void **state)
{
	struct arp_req r = request("10.42.0.1");
	uint8_t *f = arp_build(&r), reply[REPLY_LEN];
	struct pkt p = { f, r.len };
	size_t i;

	memset(reply, 0xa5, sizeof(reply));
	assert_int_equal(arp(*state, p, reply, REPLY_LEN - 1), 0);
	for (i = 0; i < sizeof(reply); i++)
		assert_int_equal(reply[i], 0xa5);
	free(f);
}

/* RFC 826: the reply goes to the requester's sender hardware address,
 * here different from the frame's Ethernet source
 */
static void test_reply_to_sha(void **state)
{
	static const uint8_t sha[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x42 };
	struct arp_req r = request("10.42.0.1");
	uint8_t *f = arp_build(&r), reply[REPLY_LEN];
	struct pkt p = { f, r.len };

	memcpy(f + 22, sha, ETH_ALEN);
	assert_int_equal(arp(*state, p, reply, sizeof(reply)), REPLY_LEN);
	assert_memory_equal(reply, sha, ETH_ALEN);
	assert_memory_equal(reply + 32, sha, ETH_ALEN);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gateway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_any_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_padded_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_sender, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_guest_address_silent,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_other_address,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unicast_targets_only,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_ethernet_ip4, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_small_buffer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reply_to_sha, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
