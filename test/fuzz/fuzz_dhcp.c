// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_dhcp.c - libFuzzer harness: one Ethernet frame from the guest to dhcp()
 *
 * Copyright (c) 2026 merd authors
 *
 * The input is one frame as tap_parse() would hand it to tap_frame(). It
 * goes through the checks tap_frame() and tap_ip4() make (destination MAC,
 * EtherType, ip4_parse(), UDP, no fragment, port 67) and then to dhcp(),
 * for each guest configuration below.
 *
 * Checksums stop a mutated header before dhcp() almost every time, so each
 * input is also tried a second time with its IPv4 header checksum and, if
 * it has one, its UDP checksum corrected: a guest can send any of these
 * frames too.
 *
 * dhcp() is called with three buffers, each allocated to its exact size so
 * that AddressSanitizer catches a write past it: tap.c's 1536 bytes, the
 * smallest dhcp() takes (Ethernet header and 576 bytes), and one larger
 * than any reply. Invariants checked on top of the sanitisers:
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

/* tap.c's TAP_REPLY_MAX: the buffer tap_frame() hands to dhcp() */
#define FUZZ_REPLY_MAX	1536
/* A buffer larger than any reply dhcp() can build */
#define FUZZ_REPLY_BIG	4096
/* The smallest buffer dhcp() builds a reply in: every client takes 576 */
#define FUZZ_REPLY_MIN	(ETH_HLEN + 576)

#define BOOTP_LEN	240	/* fixed part, magic cookie included */
#define BOOTP_MIN_LEN	300
#define DHCP_MAGIC	0x63825363
#define REPLY_MIN	(ETH_HLEN + IP4_HLEN_MIN + UDP_HLEN + BOOTP_MIN_LEN)

#define NCONF		4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctx fuzz_ctx[NCONF];

/* Where invariant failures are reported: stderr as it was at start-up,
 * kept open if libFuzzer's -close_fd_mask=2 silences merd's own messages
 */
static FILE *fuzz_err;

#define FAIL(c, ...)							\
	do {								\
		fprintf(fuzz_err, "fuzz_dhcp: configuration %d: ",	\
			(int)((c) - fuzz_ctx));				\
		fprintf(fuzz_err, __VA_ARGS__);				\
		fputc('\n', fuzz_err);					\
		fflush(fuzz_err);					\
		abort();						\
	} while (0)

/**
 * fuzz_name() - write a search domain of a given length, in 63-byte labels
 * @buf:	destination, at least @len + 1 bytes
 * @len:	length, at most DOMAIN_MAX
 * @tag:	letter that makes the names differ
 */
static void fuzz_name(char *buf, size_t len, char tag)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (i % 64 == 63) ? '.' : (i % 64 ? 'a' : tag);
	buf[len] = '\0';
}

/**
 * fuzz_conf() - set up the guest configuration number @n
 * @c:		context to fill
 * @n:		0: ordinary; 1: every list full, longest names, largest MTU,
 *		prefix 0; 2: jumbo MTU with a long search list that still
 *		fits an option area; 3: smallest MTU, /32, no DNS, no search
 *
 * All share the address, gateway and MAC, so that one seed fits them all.
 */
static void fuzz_conf(struct ctx *c, int n)
{
	static const uint8_t mac[ETH_ALEN] = { 0x9a, 0x55, 0x9a,
					       0x55, 0x9a, 0x55 };
	struct guest_conf *g = &c->guest;
	int i;

	memset(c, 0, sizeof(*c));
	c->fd_listen = c->fd_tap = c->epollfd = -1;
	c->trace = false;	/* one log line per packet otherwise */

	inet_pton(AF_INET, "192.0.2.10", &g->addr);
	inet_pton(AF_INET, "192.0.2.1", &g->gw);
	memcpy(g->our_mac, mac, ETH_ALEN);

	switch (n) {
	case 0:
		g->prefix_len = 24;
		g->mtu = 1500;
		inet_pton(AF_INET, "192.0.2.53", &g->dns[g->dns_n++]);
		inet_pton(AF_INET, "198.51.100.53", &g->dns[g->dns_n++]);
		strcpy(g->search[g->search_n++], "example.com");
		strcpy(g->search[g->search_n++], "lab.example.org");
		break;
	case 1:
		g->prefix_len = 0;
		g->mtu = MTU_MAX;
		for (i = 0; i < DNS_MAX; i++)
			g->dns[g->dns_n++].s_addr = htonl(0xc6120000U + i);
		for (i = 0; i < SEARCH_MAX; i++)
			fuzz_name(g->search[g->search_n++], DOMAIN_MAX,
				  (char)('a' + i));
		break;
	case 2:
		g->prefix_len = 16;
		g->mtu = 9000;
		for (i = 0; i < DNS_MAX; i++)
			g->dns[g->dns_n++].s_addr = htonl(0xc6120000U + i);
		for (i = 0; i < 5; i++)
			fuzz_name(g->search[g->search_n++], DOMAIN_MAX,
				  (char)('a' + i));
		break;
	default:
		g->prefix_len = 32;
		g->mtu = MTU_MIN;
		break;
	}
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
	fuzz_err = fdopen(dup(STDERR_FILENO), "w");
	if (!fuzz_err)
		fuzz_err = stderr;
	log_init(false, false);
	for (i = 0; i < NCONF; i++)
		fuzz_conf(&fuzz_ctx[i], i);
	return 0;
}

/**
 * fix_csums() - correct the IPv4 header and UDP checksums of a frame
 * @f:		frame, modified
 * @len:	its length
 *
 * A UDP checksum of zero ("none") is left alone. Anything that doesn't
 * look like IPv4, or whose lengths don't fit the frame, is left as it is.
 */
static void fix_csums(uint8_t *f, size_t len)
{
	uint8_t *l3 = f + ETH_HLEN, *l4;
	size_t hlen, tot, ulen;
	struct udphdr uh;
	struct iphdr h;
	uint16_t sum;

	if (len < ETH_HLEN + sizeof(h) || f[12] != 0x08 || f[13] != 0x00)
		return;
	memcpy(&h, l3, sizeof(h));
	hlen = h.ihl * 4U;
	if (h.version != 4 || hlen < IP4_HLEN_MIN || hlen > len - ETH_HLEN)
		return;

	memset(l3 + offsetof(struct iphdr, check), 0, 2);
	sum = csum_ip4_header(l3, hlen);
	memcpy(l3 + offsetof(struct iphdr, check), &sum, 2);

	tot = ntohs(h.tot_len);
	if (h.protocol != IPPROTO_UDP || tot < hlen + sizeof(uh) ||
	    tot > len - ETH_HLEN)
		return;
	l4 = l3 + hlen;
	memcpy(&uh, l4, sizeof(uh));
	ulen = ntohs(uh.len);
	if (!uh.check || ulen < sizeof(uh) || ulen > tot - hlen)
		return;

	memset(l4 + offsetof(struct udphdr, check), 0, 2);
	sum = csum_l4_ip4(h.saddr, h.daddr, IPPROTO_UDP, l4, ulen);
	if (!sum)
		sum = 0xffff;
	memcpy(l4 + offsetof(struct udphdr, check), &sum, 2);
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
static void check_reply(const struct ctx *c, const struct ip4_view *req,
			const uint8_t *r, size_t rlen, size_t size)
{
	struct pkt f = { r, rlen }, l3, bp;
	uint32_t xid, rxid, magic;
	struct ip4_view ip;
	struct udphdr uh;
	struct ethhdr eh;
	size_t ulen;

	if (rlen < REPLY_MIN || rlen > size)
		FAIL(c, "reply of %zu bytes (valid: %d to %zu)", rlen,
		     REPLY_MIN, size);

	if (!pkt_get(f, 0, &eh, sizeof(eh)) || !pkt_tail(f, ETH_HLEN, &l3))
		FAIL(c, "truncated reply");
	if (ntohs(eh.h_proto) != ETH_P_IP ||
	    memcmp(eh.h_source, c->guest.our_mac, ETH_ALEN))
		FAIL(c, "bad Ethernet header on the reply");

	if (ip4_parse(l3, &ip))
		FAIL(c, "reply has a bad IPv4 header (checksum or lengths)");
	if (ip.l4.len + ip.hlen != l3.len)
		FAIL(c, "IPv4 length %zu of the reply, frame holds %zu",
		     ip.l4.len + ip.hlen, l3.len);
	if (ip.h.protocol != IPPROTO_UDP || ip4_is_fragment(&ip) ||
	    ip.h.saddr != c->guest.gw.s_addr)
		FAIL(c, "reply isn't a whole UDP datagram from the gateway");
	if (l3.len > MAX(c->guest.mtu, 576U))
		FAIL(c, "reply of %zu bytes exceeds the MTU %u and 576 bytes",
		     l3.len, c->guest.mtu);

	if (!pkt_get(ip.l4, 0, &uh, sizeof(uh)))
		FAIL(c, "reply has no UDP header");
	ulen = ntohs(uh.len);
	if (ulen != ip.l4.len || ntohs(uh.source) != DHCP_SERVER_PORT ||
	    ntohs(uh.dest) != DHCP_CLIENT_PORT || !uh.check)
		FAIL(c, "bad UDP header on the reply");
	if (csum_fold(csum_partial(ip.l4.p, ulen,
				   csum_pseudo4(ip.h.saddr, ip.h.daddr,
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
 * fuzz_one() - what tap_frame() and tap_ip4() do with a frame, one context
 * @c:		context
 * @data:	frame
 * @size:	its length
 */
static void fuzz_one(const struct ctx *c, const uint8_t *data, size_t size)
{
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
						 0xff, 0xff, 0xff };
	static const size_t sizes[] = { FUZZ_REPLY_MAX, FUZZ_REPLY_MIN };
	struct pkt f = { data, size }, l3;
	uint8_t big[FUZZ_REPLY_BIG];
	size_t rlen, blen, i;
	struct ip4_view ip;
	struct udphdr uh;
	struct ethhdr eh;
	uint8_t *reply;

	/* tap_frame() checks */
	if (!pkt_get(f, 0, &eh, sizeof(eh)) || !pkt_tail(f, ETH_HLEN, &l3))
		return;
	if (memcmp(eh.h_dest, c->guest.our_mac, ETH_ALEN) &&
	    memcmp(eh.h_dest, bcast, ETH_ALEN))
		return;
	if (ntohs(eh.h_proto) != ETH_P_IP)
		return;

	/* tap_ip4() checks */
	if (ip4_parse(l3, &ip))
		return;
	if (ip.h.protocol != IPPROTO_UDP || ip4_is_fragment(&ip) ||
	    !pkt_get(ip.l4, 0, &uh, sizeof(uh)) ||
	    ntohs(uh.dest) != DHCP_SERVER_PORT)
		return;

	/* The largest reply, then tap.c's buffer and the smallest, each
	 * exactly on the heap
	 */
	blen = dhcp(c, &ip, big, sizeof(big));
	if (blen)
		check_reply(c, &ip, big, blen, sizeof(big));

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		reply = malloc(sizes[i]);
		if (!reply)
			abort();
		rlen = dhcp(c, &ip, reply, sizes[i]);
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

	/* tap_parse() hands tap_frame() nothing outside these bounds */
	if (size < TAP_FRAME_MIN || size > TAP_FRAME_MAX)
		return 0;

	for (i = 0; i < NCONF; i++)
		fuzz_one(&fuzz_ctx[i], data, size);

	fixed = malloc(size);
	if (!fixed)
		abort();
	memcpy(fixed, data, size);
	fix_csums(fixed, size);
	if (memcmp(fixed, data, size)) {
		for (i = 0; i < NCONF; i++)
			fuzz_one(&fuzz_ctx[i], fixed, size);
	}
	free(fixed);
	return 0;
}
