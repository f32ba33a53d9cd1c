// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_arp.c - libFuzzer harness: one Ethernet frame from the guest to arp()
 *
 * Copyright (c) 2026 merd authors
 *
 * The input is one frame as tap_parse() would hand it to merd.c's
 * frame_handler(). It goes through the checks frame_handler() makes before
 * calling arp() (length, destination MAC, EtherType) and then to arp()
 * itself, once for each guest configuration below. The reply buffer is
 * exactly ETH_FRAME_MIN bytes on the heap, the smallest arp() accepts, so
 * that AddressSanitizer catches a write past the 60 bytes of a reply; the
 * result must match the one with frame_handler()'s 4096-byte buffer.
 *
 * Invariants checked on top of the sanitisers: the reply is 0 or 60 bytes,
 * and a reply is an ARP reply from our MAC, to the asker, for the address
 * asked about, never for the guest's own address.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if_arp.h>

#include "arp.h"
#include "log.h"
#include "merd.h"
#include "pkt.h"
#include "tap.h"

#include "fuzz_common.h"

#define ARP_BODY_OFF	(ETH_HLEN + sizeof(struct arphdr))

#define NCONF		2

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctx fuzz_ctx[NCONF];

#define FAIL(...)	fuzz_fail("fuzz_arp: invariant broken: " __VA_ARGS__)

/**
 * fuzz_conf() - set up the guest configuration number @n
 * @c:		context to fill
 * @n:		0: a /24 with a gateway; 1: a /32, another MAC
 */
static void fuzz_conf(struct ctx *c, int n)
{
	static const uint8_t mac1[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };

	struct fuzz_guest g;

	fuzz_ctx_init(c);
	fuzz_guest_init(&g);
	g.g4.prefix_len = n ? 32 : 24;
	g.link.mtu = 1500;
	if (n)
		memcpy(g.link.mac, mac1, ETH_ALEN);
	fuzz_guest_set(c, &g);
}

/**
 * LLVMFuzzerInitialize() - quiet logging, set the configurations up once
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i;

	(void)argc;
	(void)argv;
	fuzz_init("fuzz_arp", false);
	for (i = 0; i < NCONF; i++)
		fuzz_conf(&fuzz_ctx[i], i);
	return 0;
}

/**
 * check_reply() - check an ARP reply against the request
 * @c:		context
 * @req:	request frame
 * @r:		reply frame, ETH_FRAME_MIN bytes
 */
static void check_reply(const struct ctx *c, struct pkt req, const uint8_t *r)
{
	static const uint8_t zero[ETH_FRAME_MIN];
	uint8_t sha[ETH_ALEN], sip[4], tip[4];
	size_t b = ARP_BODY_OFF, rb = ARP_BODY_OFF;
	struct arphdr rah;
	uint16_t proto;

	if (!pkt_get(req, b, sha, ETH_ALEN) ||
	    !pkt_get(req, b + ETH_ALEN, sip, 4) ||
	    !pkt_get(req, b + 2 * ETH_ALEN + 4, tip, 4))
		FAIL("reply to a truncated request");

	memcpy(&proto, r + 2 * ETH_ALEN, sizeof(proto));
	memcpy(&rah, r + ETH_HLEN, sizeof(rah));
	if (memcmp(r, sha, ETH_ALEN) ||
	    memcmp(r + ETH_ALEN, c->link.mac, ETH_ALEN) ||
	    ntohs(proto) != ETH_P_ARP)
		FAIL("bad Ethernet header on the reply");
	if (ntohs(rah.ar_hrd) != ARPHRD_ETHER || ntohs(rah.ar_pro) != ETH_P_IP ||
	    rah.ar_hln != ETH_ALEN || rah.ar_pln != 4 ||
	    ntohs(rah.ar_op) != ARPOP_REPLY)
		FAIL("bad ARP header on the reply");
	if (memcmp(r + rb, c->link.mac, ETH_ALEN) ||
	    memcmp(r + rb + ETH_ALEN, tip, 4) ||
	    memcmp(r + rb + ETH_ALEN + 4, sha, ETH_ALEN) ||
	    memcmp(r + rb + 2 * ETH_ALEN + 4, sip, 4))
		FAIL("ARP reply addresses don't answer the request");
	if (!memcmp(tip, &c->guest4.addr.s_addr, 4))
		FAIL("answered for the guest's own address");
	if (memcmp(r + rb + 2 * ETH_ALEN + 8, zero,
		   ETH_FRAME_MIN - (rb + 2 * ETH_ALEN + 8)))
		FAIL("padding of the ARP reply isn't zero");
}

/**
 * fuzz_one() - what frame_handler() does with an ARP frame, for one context
 * @c:		context
 * @data:	frame
 * @size:	its length
 */
static void fuzz_one(const struct ctx *c, const uint8_t *data, size_t size)
{
	struct pkt f = { data, size }, l3;
	uint8_t big[FUZZ_REPLY_MAX];
	size_t rlen, blen;
	struct ethhdr eh;
	uint8_t *reply;

	/* frame_handler() checks */
	if (!fuzz_frame_in(c, f, &eh, &l3))
		return;
	if (ntohs(eh.h_proto) != ETH_P_ARP)
		return;

	reply = malloc(ETH_FRAME_MIN);
	if (!reply)
		abort();
	rlen = arp(c, f, reply, ETH_FRAME_MIN);
	if (rlen != 0 && rlen != ETH_FRAME_MIN)
		FAIL("reply of %zu bytes, not 0 or %d", rlen, ETH_FRAME_MIN);

	blen = arp(c, f, big, sizeof(big));
	if (blen != rlen || (rlen && memcmp(big, reply, rlen)))
		FAIL("reply depends on the size of the buffer");

	if (rlen)
		check_reply(c, f, reply);
	free(reply);
}

/**
 * LLVMFuzzerTestOneInput() - one frame from the guest, every configuration
 * @data:	frame
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int i;

	/* tap_parse() hands frame_handler() nothing outside these bounds */
	if (size < TAP_FRAME_MIN || size > TAP_FRAME_MAX)
		return 0;

	for (i = 0; i < NCONF; i++)
		fuzz_one(&fuzz_ctx[i], data, size);
	return 0;
}
