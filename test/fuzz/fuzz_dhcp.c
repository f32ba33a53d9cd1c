// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_dhcp.c - libFuzzer harness: one Ethernet frame from the guest to dhcp()
 *
 * Copyright (c) 2026 merd authors
 *
 * The input is one frame as tap_parse() would hand it to merd.c's
 * frame_handler(). It goes through the checks frame_handler() makes
 * (destination MAC, EtherType, ip4_parse()) and then to dhcp(), for each
 * guest configuration below, whatever the packet: dhcp() must answer only
 * what dhcp_for_server() takes (UDP, no fragment, port 67, to broadcast or
 * the gateway), and dhcp_for_server() must take exactly that, as the
 * harness works it out from the packet's bytes.
 *
 * Checksums stop a mutated header before dhcp() almost every time, so each
 * input is also tried a second time with its IPv4 header checksum and, if
 * it has one, its UDP checksum corrected: a guest can send any of these
 * frames too.
 *
 * dhcp() is called with three buffers, each allocated to its exact size so
 * that AddressSanitizer catches a write past it: frame_handler()'s 4096
 * bytes, the smallest dhcp() takes (Ethernet header and 576 bytes), and
 * one larger than any reply. Invariants checked on top of the sanitisers:
 * - a request gets a reply with every buffer or with none: a reply that
 *   doesn't fit leaves options out, it isn't dropped;
 * - a reply that fits a smaller buffer is the same, byte for byte, as the
 *   one built in the largest;
 * - each reply is at least ETH + IPv4 + UDP + 300 bytes (RFC 1542 2.1), at
 *   most the buffer's size;
 * - its IPv4 header passes ip4_parse() (so its checksum is right), the IPv4
 *   length matches the frame, the UDP header, length and checksum are
 *   right, from port 67 to port 68, from the gateway and our MAC;
 * - the IPv4 datagram fits the MTU, or 576 bytes if the MTU is smaller;
 * - the BOOTP message is a BOOTREPLY with the request's xid and the magic
 *   cookie, and its options are well formed and end with an end option.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/udp.h>

#include "csum.h"
#include "dhcp.h"
#include "ip4.h"
#include "log.h"
#include "merd.h"
#include "pkt.h"
#include "tap.h"

#include "fuzz_common.h"

/* A buffer larger than any reply dhcp() can build */
#define FUZZ_REPLY_BIG	4096
/* The smallest buffer dhcp() builds a reply in: every client takes 576 */
#define FUZZ_REPLY_MIN	(ETH_HLEN + 576)

#define BOOTP_LEN	240	/* fixed part, magic cookie included */
#define BOOTP_MIN_LEN	300
#define DHCP_MAGIC	0x63825363

#define NCONF		4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctx fuzz_ctx[NCONF];

#define FAIL(c, ...)							\
	do {								\
		fprintf(fuzz_err, "fuzz_dhcp: configuration %d: ",	\
			(int)((c) - fuzz_ctx));				\
		fuzz_fail(__VA_ARGS__);					\
	} while (0)

/**
 * fuzz_conf() - set up the guest configuration number @n
 * @c:		context to fill
 * @n:		fuzz_guest_conf(), configuration 0 with a second DNS server
 *		and search domain
 *
 * All share the address, gateway and MAC, so that one seed fits them all.
 */
static void fuzz_conf(struct ctx *c, int n)
{
	struct fuzz_guest g;

	fuzz_ctx_init(c);
	fuzz_guest_conf(&g, n);
	if (!n) {
		inet_pton(AF_INET, "198.51.100.53", &g.g4.dns[g.g4.dns_n++]);
		strcpy(g.link.search[g.link.search_n++], "lab.example.org");
	}
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
	fuzz_init("fuzz_dhcp", false);
	for (i = 0; i < NCONF; i++)
		fuzz_conf(&fuzz_ctx[i], i);
	return 0;
}

/**
 * check_opts() - walk the options of a reply
 * @c:		context, for messages
 * @v:		option bytes, after the magic cookie
 *
 * Return: the DHCP message type found
 */
static uint8_t check_opts(const struct ctx *c, struct pkt v)
{
	uint8_t type = 0, code, len;
	size_t off = 0;

	for (;;) {
		if (!pkt_get(v, off, &code, 1))
			FAIL(c, "reply options have no end option");
		if (code == 255)
			break;
		if (code == 0) {
			off++;
			continue;
		}
		if (!pkt_get(v, off + 1, &len, 1) || !pkt_in(v, off + 2, len))
			FAIL(c, "reply option %u overruns the message", code);
		if (code == 53) {
			if (len != 1 || type)
				FAIL(c, "bad message type option in reply");
			type = v.p[off + 2];
		}
		off += 2U + len;
	}

	if (type != 2 && type != 5 && type != 6)	/* OFFER, ACK, NAK */
		FAIL(c, "reply of DHCP message type %u", type);
	return type;
}

/**
 * check_reply() - check a reply frame built by dhcp()
 * @c:		context
 * @req:	the request it answers
 * @r:		reply frame
 * @rlen:	its length
 * @size:	size of the buffer it was built in
 */
static void check_reply(const struct ctx *c, const struct ip_view *req,
			const uint8_t *r, size_t rlen, size_t size)
{
	struct pkt f = { r, rlen }, l3, bp;
	uint32_t xid, rxid, magic;
	struct ip_view ip;
	struct udphdr uh;
	struct ethhdr eh;
	size_t ulen;

	if (rlen < FUZZ_DHCP_REPLY_MIN || rlen > size)
		FAIL(c, "reply of %zu bytes (valid: %d to %zu)", rlen,
		     FUZZ_DHCP_REPLY_MIN, size);

	if (!fuzz_eth_split(f, &eh, &l3))
		FAIL(c, "truncated reply");
	if (ntohs(eh.h_proto) != ETH_P_IP ||
	    memcmp(eh.h_source, c->link.mac, ETH_ALEN))
		FAIL(c, "bad Ethernet header on the reply");

	if (ip4_parse(l3, &ip))
		FAIL(c, "reply has a bad IPv4 header (checksum or lengths)");
	if (ip.l4.len + ip.hdr.len != l3.len)
		FAIL(c, "IPv4 length %zu of the reply, frame holds %zu",
		     ip.l4.len + ip.hdr.len, l3.len);
	if (ip.proto != IPPROTO_UDP || ip_is_fragment(&ip) ||
	    inany_v4(&ip.src) != c->guest4.gw.s_addr)
		FAIL(c, "reply isn't a whole UDP datagram from the gateway");
	if (l3.len > MAX(c->link.mtu, 576U))
		FAIL(c, "reply of %zu bytes exceeds the MTU %u and 576 bytes",
		     l3.len, c->link.mtu);

	if (!pkt_get(ip.l4, 0, &uh, sizeof(uh)))
		FAIL(c, "reply has no UDP header");
	ulen = ntohs(uh.len);
	if (ulen != ip.l4.len || ntohs(uh.source) != DHCP_SERVER_PORT ||
	    ntohs(uh.dest) != DHCP_CLIENT_PORT || !uh.check)
		FAIL(c, "bad UDP header on the reply");
	if (csum_fold(csum_partial(ip.l4.p, ulen,
				   csum_pseudo4(inany_v4(&ip.src),
						inany_v4(&ip.dst),
						IPPROTO_UDP,
						(uint16_t)ulen))) != 0xffff)
		FAIL(c, "bad UDP checksum on the reply");

	if (!pkt_tail(ip.l4, UDP_HLEN, &bp) || bp.len < BOOTP_MIN_LEN)
		FAIL(c, "BOOTP reply shorter than %d bytes", BOOTP_MIN_LEN);
	memcpy(&rxid, bp.p + 4, 4);
	memcpy(&magic, bp.p + BOOTP_LEN - 4, 4);
	/* dhcp() answers only a request whose fixed part it could read */
	if (!pkt_get(req->l4, UDP_HLEN + 4, &xid, 4))
		FAIL(c, "reply to a request without a BOOTP header");
	if (bp.p[0] != 2 || rxid != xid || ntohl(magic) != DHCP_MAGIC)
		FAIL(c, "bad BOOTP header on the reply");

	(void)check_opts(c, (struct pkt){ bp.p + BOOTP_LEN,
					  bp.len - BOOTP_LEN });
}

/**
 * fuzz_one() - what frame_handler() and frame_ip4() do with a frame, one
 *		context
 * @c:		context
 * @data:	frame
 * @size:	its length
 */
static void fuzz_one(const struct ctx *c, const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { FUZZ_REPLY_MAX, FUZZ_REPLY_MIN };
	struct pkt f = { data, size }, l3;
	uint8_t big[FUZZ_REPLY_BIG];
	size_t rlen, blen, i;
	struct ip_view ip;
	bool for_server, bound = false;
	struct ethhdr eh;
	uint8_t *reply;

	/* frame_handler() checks */
	if (!fuzz_frame_in(c, f, &eh, &l3))
		return;
	if (ntohs(eh.h_proto) != ETH_P_IP)
		return;

	/* frame_ip4(): parsed, then to dhcp() if dhcp_for_server() says so;
	 * dhcp() makes that check again, so it gets everything here
	 */
	if (ip4_parse(l3, &ip))
		return;
	for_server = fuzz_is_dhcp(c, &ip);
	if (dhcp_for_server(c, &ip) != for_server)
		FAIL(c, "dhcp_for_server() says %d for a packet %s the DHCP "
		     "server", !for_server, for_server ? "for" : "not for");

	/* The largest reply, then frame_handler()'s buffer and the smallest,
	 * each exactly on the heap
	 */
	blen = dhcp(c, &ip, big, sizeof(big), &bound);
	if (blen && !for_server)
		FAIL(c, "dhcp() answered a packet not for the DHCP server");
	if (blen)
		check_reply(c, &ip, big, blen, sizeof(big));

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		reply = malloc(sizes[i]);
		if (!reply)
			abort();
		rlen = dhcp(c, &ip, reply, sizes[i], &bound);
		if (rlen)
			check_reply(c, &ip, reply, rlen, sizes[i]);

		if (!rlen != !blen)
			FAIL(c, "reply of %zu bytes in %zu, %zu bytes in %d",
			     rlen, sizes[i], blen, FUZZ_REPLY_BIG);
		if (blen <= sizes[i] &&
		    (rlen != blen || memcmp(reply, big, blen)))
			FAIL(c, "the %zu-byte reply differs in a %zu-byte "
			     "buffer (%zu bytes)", blen, sizes[i], rlen);
		free(reply);
	}
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
	uint8_t *fixed;
	int i;

	/* tap_parse() hands frame_handler() nothing outside these bounds */
	if (size < TAP_FRAME_MIN || size > TAP_FRAME_MAX)
		return 0;

	for (i = 0; i < NCONF; i++)
		fuzz_one(&fuzz_ctx[i], data, size);

	fixed = malloc(size);
	if (!fixed)
		abort();
	memcpy(fixed, data, size);
	fuzz_fix_csums(fixed, size);
	if (memcmp(fixed, data, size)) {
		for (i = 0; i < NCONF; i++)
			fuzz_one(&fuzz_ctx[i], fixed, size);
	}
	free(fixed);
	return 0;
}
