// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_dhcpv6.c - libFuzzer harness: one DHCPv6 message from the guest to
 *		   dhcpv6()
 *
 * Copyright (c) 2026 merd authors
 *
 * The input is the UDP payload: the DHCPv6 message, whatever it holds. The
 * harness wraps it in an Ethernet frame from the guest's link-local
 * address, port 546, to port 547 of ff02::1:2 and, again, of merd's own
 * address (the router's, c->guest6.gw), with a correct UDP checksum, so
 * that the checksum never stops it before the parser. Each frame goes
 * through ip6_parse(), as merd.c's frame handler does, and
 * dhcpv6_for_server() must take it; then dhcpv6() builds its reply for each
 * guest configuration below.
 *
 * dhcpv6() is called with three buffers, each allocated to its exact size
 * so that AddressSanitizer catches a write past it: frame_handler()'s 4096
 * bytes, the smallest dhcpv6() takes (Ethernet header and 1280 bytes), and
 * one larger than any reply. Invariants checked on top of the sanitisers:
 * - a message gets a reply with every buffer or with none: what doesn't
 *   fit (the DNS servers, the domain list) is left out;
 * - a reply that fits a smaller buffer is the same, byte for byte, as the
 *   one built in the largest;
 * - the reply is at most the buffer's size, and its IPv6 packet fits the
 *   MTU, or 1280 bytes if the MTU is smaller;
 * - it is IPv6 from merd's MAC to the guest's (broadcast while unknown),
 *   passes ip6_parse(), is UDP from merd's address port 547 to the client's
 *   port 546, lengths and checksum right, the checksum not zero;
 * - the message is an Advertise or a Reply to a client's message type, with
 *   its transaction ID; every option, and every option inside an IA and
 *   inside an IA Address, lies inside its parent; merd's DUID-LL is there,
 *   exactly once;
 * - every address given with a nonzero valid lifetime is the host's.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>

#include "csum.h"
#include "dhcpv6.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "pkt.h"
#include "tap.h"

#include "fuzz_common.h"

/* A buffer larger than any reply dhcpv6() can build */
#define FUZZ_REPLY_BIG		70000
/* The smallest buffer dhcpv6() builds a reply in: every link takes 1280 */
#define FUZZ_REPLY6_MIN		(ETH_HLEN + IP6_MTU_MIN)
/* Headers in front of the message */
#define FUZZ_HDRS		(ETH_HLEN + IP6_HLEN + UDP_HLEN)
/* The largest message a UDP datagram carries */
#define FUZZ_MSG_MAX		(IP_MAXPACKET - UDP_HLEN)

/* RFC 8415 7.3: message types the harness looks for, and those clients
 * send (Solicit, Request, Confirm, Renew, Rebind, Release, Decline,
 * Information-request), as a mask
 */
#define D6_SOLICIT		1
#define D6_ADVERTISE		2
#define D6_REPLY		7
#define D6_FROM_CLIENT		(1U << 1 | 1U << 3 | 1U << 4 | 1U << 5 | \
				 1U << 6 | 1U << 8 | 1U << 9 | 1U << 11)
/* RFC 8415 21: options the harness looks into */
#define D6_OPT_SERVERID		2
#define D6_OPT_IA_NA		3
#define D6_OPT_IA_TA		4
#define D6_OPT_IAADDR		5
#define D6_OPT_IA_PD		25

#define NCONF	4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctx fuzz_ctx[NCONF];

/* The guest's link-local address, source of every message */
static struct in6_addr fuzz_client;
/* ff02::1:2, All_DHCP_Relay_Agents_and_Servers (RFC 8415 7.1) */
static struct in6_addr fuzz_all_servers;

#define FAIL(c, ...)							\
	do {								\
		fprintf(fuzz_err, "fuzz_dhcpv6: configuration %d: ",	\
			(int)((c) - fuzz_ctx));				\
		fuzz_fail(__VA_ARGS__);					\
	} while (0)

/**
 * fuzz_conf() - set up the guest configuration number @n
 * @c:		context to fill
 * @n:		fuzz_guest_conf() for the link (MTU, search list), and IPv6:
 *		0: 2001:db8:1::42/64, one DNS server; 1: every DNS server,
 *		prefix 0; 2: /128, every DNS server; 3: /48, no DNS server,
 *		the guest's MAC not known yet
 */
static void fuzz_conf(struct ctx *c, int n)
{
	static const uint8_t guest[ETH_ALEN] = { 0x52, 0x54, 0x00,
						 0x12, 0x34, 0x56 };
	static const int prefix[NCONF] = { 64, 0, 128, 48 };
	struct guest6 *g6 = &c->guest6;
	struct fuzz_guest g;
	int i;

	fuzz_ctx_init(c);
	fuzz_guest_conf(&g, n);
	fuzz_guest_set(c, &g);

	g6->enabled = true;
	inet_pton(AF_INET6, "2001:db8:1::42", &g6->addr);
	inet_pton(AF_INET6, "fe80::1", &g6->gw);
	g6->prefix_len = prefix[n];
	g6->prefix = g6->addr;
	for (i = prefix[n]; i < 128; i++)
		g6->prefix.s6_addr[i / 8] &= (uint8_t)~(0x80U >> (i % 8));
	if (!n) {
		inet_pton(AF_INET6, "2001:db8::53", &g6->dns[g6->dns_n++]);
	} else if (n < 3) {
		for (i = 0; i < DNS_MAX; i++) {
			g6->dns[g6->dns_n] = g6->addr;
			g6->dns[g6->dns_n++].s6_addr[15] = (uint8_t)i;
		}
	}

	memcpy(c->tap.guest_mac, guest, ETH_ALEN);
	c->tap.guest_mac_known = n != 3;
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
	fuzz_init("fuzz_dhcpv6", false);
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", &fuzz_client);
	inet_pton(AF_INET6, "ff02::1:2", &fuzz_all_servers);
	for (i = 0; i < NCONF; i++)
		fuzz_conf(&fuzz_ctx[i], i);
	return 0;
}

/**
 * be16() - a big-endian 16-bit number
 * @p:		its two bytes
 *
 * Return: the number
 */
static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/**
 * be32() - a big-endian 32-bit number
 * @p:		its four bytes
 *
 * Return: the number
 */
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/**
 * walk() - check that an option area holds whole options
 * @c:		context, for messages
 * @v:		option area
 * @what:	what it is, for messages
 * @code:	an option code to look for
 * @found:	set to the data of the first option of @code, if not NULL
 *
 * Return: the number of options of @code
 */
NOCOV static int walk(const struct ctx *c, struct pkt v, const char *what,
		      uint16_t code, struct pkt *found)
{
	size_t off = 0;
	int n = 0;

	while (off < v.len) {
		size_t len;

		if (v.len - off < 4)
			FAIL(c, "half an option header in %s", what);
		len = be16(v.p + off + 2);
		if (len > v.len - off - 4)
			FAIL(c, "option %u overruns %s", be16(v.p + off), what);
		if (be16(v.p + off) == code && !n++ && found) {
			found->p = v.p + off + 4;
			found->len = len;
		}
		off += 4 + len;
	}
	return n;
}

/**
 * check_ia() - check an IA of a reply, and the addresses in it
 * @c:		context
 * @code:	D6_OPT_IA_NA, D6_OPT_IA_TA or D6_OPT_IA_PD
 * @ia:		its data
 */
NOCOV static void check_ia(const struct ctx *c, uint16_t code, struct pkt ia)
{
	size_t fixed = code == D6_OPT_IA_TA ? 4 : 12, off = 0;
	struct pkt opts, a;

	if (ia.len < fixed)
		FAIL(c, "IA %u of %zu bytes in a reply", code, ia.len);
	opts.p = ia.p + fixed;
	opts.len = ia.len - fixed;
	walk(c, opts, "an IA", 0, NULL);

	while (off < opts.len) {
		uint16_t sub = be16(opts.p + off);

		a.p = opts.p + off + 4;
		a.len = be16(opts.p + off + 2);
		off += 4 + a.len;
		if (sub != D6_OPT_IAADDR)
			continue;
		if (code == D6_OPT_IA_PD || a.len < 24)
			FAIL(c, "bad IA Address option in a reply");
		walk(c, (struct pkt){ a.p + 24, a.len - 24 },
		     "an IA Address", 0, NULL);
		if (be32(a.p + 20) && memcmp(a.p, &c->guest6.addr, 16))
			FAIL(c, "an address that isn't the host's handed out");
		if (be32(a.p + 16) > be32(a.p + 20))
			FAIL(c, "preferred lifetime above the valid one");
	}
}

/**
 * check_msg() - check the DHCPv6 message of a reply
 * @c:		context
 * @req:	the message it answers
 * @m:		the reply's message
 */
NOCOV static void check_msg(const struct ctx *c, struct pkt req, struct pkt m)
{
	uint8_t duid[10] = { 0, 3, 0, 1 };
	struct pkt opts, sid = { 0 };
	size_t off = 0;

	if (m.len < 4 || req.len < 4)
		FAIL(c, "reply of %zu bytes to a message of %zu", m.len,
		     req.len);
	if (m.p[0] != D6_ADVERTISE && m.p[0] != D6_REPLY)
		FAIL(c, "reply of message type %u", m.p[0]);
	if (req.p[0] >= 32 || !(D6_FROM_CLIENT & 1U << req.p[0]))
		FAIL(c, "reply to message type %u", req.p[0]);
	if (m.p[0] == D6_ADVERTISE && req.p[0] != D6_SOLICIT)
		FAIL(c, "Advertise to message type %u", req.p[0]);
	if (memcmp(m.p + 1, req.p + 1, 3))
		FAIL(c, "reply with another transaction ID");

	opts.p = m.p + 4;
	opts.len = m.len - 4;
	memcpy(duid + 4, c->link.mac, ETH_ALEN);
	if (walk(c, opts, "the reply", D6_OPT_SERVERID, &sid) != 1 ||
	    sid.len != sizeof(duid) || memcmp(sid.p, duid, sizeof(duid)))
		FAIL(c, "no server identifier, or not merd's, or twice");

	while (off < opts.len) {
		uint16_t code = be16(opts.p + off);
		struct pkt d = { opts.p + off + 4, be16(opts.p + off + 2) };

		if (code == D6_OPT_IA_NA || code == D6_OPT_IA_TA ||
		    code == D6_OPT_IA_PD)
			check_ia(c, code, d);
		off += 4 + d.len;
	}
}

/**
 * check_reply() - check a reply frame built by dhcpv6()
 * @c:		context
 * @req:	the message it answers
 * @r:		reply frame
 * @rlen:	its length
 * @size:	size of the buffer it was built in
 */
NOCOV static void check_reply(const struct ctx *c, struct pkt req,
			      const uint8_t *r, size_t rlen, size_t size)
{
	struct pkt f = { r, rlen }, l3, m;
	struct ip_view ip;
	struct udphdr uh;
	struct ethhdr eh;

	if (rlen < FUZZ_HDRS + 4 || rlen > size)
		FAIL(c, "reply of %zu bytes in a buffer of %zu", rlen, size);
	if (!fuzz_eth_split(f, &eh, &l3) || ntohs(eh.h_proto) != ETH_P_IPV6 ||
	    memcmp(eh.h_source, c->link.mac, ETH_ALEN) ||
	    memcmp(eh.h_dest, c->tap.guest_mac_known ? c->tap.guest_mac :
			      fuzz_bcast, ETH_ALEN))
		FAIL(c, "bad Ethernet header on the reply");

	if (ip6_parse(l3, &ip) || ip.hdr.len != IP6_HLEN ||
	    ip.hdr.len + ip.l4.len != l3.len)
		FAIL(c, "reply has a bad IPv6 header, or lengths");
	if (ip.proto != IPPROTO_UDP || !ip.ttl ||
	    memcmp(&ip.src.a6, &c->guest6.gw, 16) ||
	    memcmp(&ip.dst.a6, &fuzz_client, 16))
		FAIL(c, "reply isn't UDP from merd's address to the client");
	if (l3.len > MAX(c->link.mtu, (unsigned int)IP6_MTU_MIN))
		FAIL(c, "reply of %zu bytes exceeds the MTU %u and 1280",
		     l3.len, c->link.mtu);

	memcpy(&uh, ip.l4.p, sizeof(uh));
	if (ntohs(uh.len) != ip.l4.len ||
	    ntohs(uh.source) != DHCPV6_SERVER_PORT ||
	    ntohs(uh.dest) != DHCPV6_CLIENT_PORT || !uh.check ||
	    csum_l4_ip6(&ip.src.a6, &ip.dst.a6, IPPROTO_UDP, ip.l4.p,
			ip.l4.len))
		FAIL(c, "bad UDP header or checksum on the reply");

	m.p = ip.l4.p + UDP_HLEN;
	m.len = ip.l4.len - UDP_HLEN;
	check_msg(c, req, m);
}

/**
 * frame_build() - the message in a frame from the client, checksum right
 * @msg:	message
 * @len:	its length, at most FUZZ_MSG_MAX
 * @dst:	destination address
 * @flen:	set to the frame length
 *
 * Return: the frame, allocated to its exact length, to free()
 */
static uint8_t *frame_build(const uint8_t *msg, size_t len,
			    const struct in6_addr *dst, size_t *flen)
{
	static const uint8_t mcast[ETH_ALEN] = { 0x33, 0x33, 0, 1, 0, 2 };
	uint8_t *f = malloc(FUZZ_HDRS + len);
	uint16_t sum;
	struct udphdr uh = {
		.source = htons(DHCPV6_CLIENT_PORT),
		.dest = htons(DHCPV6_SERVER_PORT),
		.len = htons((uint16_t)(UDP_HLEN + len)),
	};
	struct ip6_hdr h = {
		.ip6_flow = htonl(6U << 28),
		.ip6_plen = uh.len,
		.ip6_nxt = IPPROTO_UDP,
		.ip6_hlim = 1,
		.ip6_src = fuzz_client,
		.ip6_dst = *dst,
	};

	if (!f)
		abort();
	memcpy(f, mcast, ETH_ALEN);
	memcpy(f + ETH_ALEN, fuzz_ctx[0].tap.guest_mac, ETH_ALEN);
	f[12] = ETH_P_IPV6 >> 8;
	f[13] = ETH_P_IPV6 & 0xff;
	memcpy(f + ETH_HLEN, &h, sizeof(h));
	memcpy(f + ETH_HLEN + IP6_HLEN, &uh, sizeof(uh));
	memcpy(f + FUZZ_HDRS, msg, len);
	sum = csum_l4_ip6(&fuzz_client, dst, IPPROTO_UDP,
			  f + ETH_HLEN + IP6_HLEN, UDP_HLEN + len);
	if (!sum)
		sum = 0xffff;
	memcpy(f + ETH_HLEN + IP6_HLEN + UDP_OFF_CHECK, &sum, sizeof(sum));

	*flen = FUZZ_HDRS + len;
	return f;
}

/**
 * fuzz_one() - one context, one frame: what frame_handler() does with it
 * @c:		context
 * @ip:		the frame's packet, parsed
 * @req:	the message it carries
 */
static void fuzz_one(const struct ctx *c, const struct ip_view *ip,
		     struct pkt req)
{
	static const size_t sizes[] = { FUZZ_REPLY_MAX, FUZZ_REPLY6_MIN };
	static uint8_t big[FUZZ_REPLY_BIG];
	size_t blen, i;

	if (!dhcpv6_for_server(c, ip))
		FAIL(c, "dhcpv6_for_server() refuses a message to port 547");

	blen = dhcpv6(c, ip, big, sizeof(big));
	if (blen)
		check_reply(c, req, big, blen, sizeof(big));

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint8_t *reply = malloc(sizes[i]);
		size_t rlen;

		if (!reply)
			abort();
		rlen = dhcpv6(c, ip, reply, sizes[i]);
		if (rlen)
			check_reply(c, req, reply, rlen, sizes[i]);

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
 * fuzz_to() - the message to one destination, every configuration
 * @data:	message
 * @size:	its length
 * @dst:	destination address
 */
static void fuzz_to(const uint8_t *data, size_t size,
		    const struct in6_addr *dst)
{
	struct pkt l3, req = { data, size };
	struct ip_view ip;
	size_t flen;
	uint8_t *f;
	int i;

	f = frame_build(data, size, dst, &flen);
	l3.p = f + ETH_HLEN;
	l3.len = flen - ETH_HLEN;
	if (ip6_parse(l3, &ip))
		FAIL(&fuzz_ctx[0], "ip6_parse() refuses a DHCPv6 message");

	for (i = 0; i < NCONF; i++)
		fuzz_one(&fuzz_ctx[i], &ip, req);
	free(f);
}

/**
 * LLVMFuzzerTestOneInput() - one message from the guest, to ff02::1:2 and
 *			      to merd's address, every configuration
 * @data:	DHCPv6 message
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MSG_MAX)
		return 0;

	fuzz_to(data, size, &fuzz_all_servers);
	fuzz_to(data, size, &fuzz_ctx[0].guest6.gw);
	return 0;
}
