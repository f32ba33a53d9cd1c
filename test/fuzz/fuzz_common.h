/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_common.h - set-up and checks shared by the libFuzzer harnesses
 *
 * Copyright (c) 2026 merd authors
 *
 * Start-up (where invariant failures are reported, quiet logging, the
 * network namespace check), the guest configurations, the checks tap.c
 * makes before it hands a frame to arp() or dhcp(), checksum correction
 * of mutated frames, and forwarding set up and torn down as merd does it.
 *
 * Everything is static inline: a harness that doesn't link fwd.c (fuzz_arp,
 * fuzz_dhcp) doesn't use, so doesn't emit, the helpers that call into it.
 */

#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "csum.h"
#include "dhcp.h"
#include "fwd.h"
#include "ip4.h"
#include "log.h"
#include "merd.h"
#include "pkt.h"
#include "raw.h"

#include "fuzz_netns.h"

/* POISON() and UNPOISON() mark memory AddressSanitizer must not let be
 * read, and again usable; nothing without AddressSanitizer
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FUZZ_ASAN)
#define FUZZ_ASAN 1
#endif

#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)	((void)(p), (void)(n))
#define UNPOISON(p, n)	((void)(p), (void)(n))
#endif

/* tap.c's TAP_REPLY_MAX: the buffer tap_frame() hands to arp() and dhcp();
 * no reply merd builds is larger
 */
#define FUZZ_REPLY_MAX	1536
/* The shortest DHCP reply: headers, a 300-byte BOOTP message (RFC 1542) */
#define FUZZ_DHCP_REPLY_MIN	(ETH_HLEN + IP4_HLEN_MIN + UDP_HLEN + 300)

/* Forwarding as merd sets it up, with a small flow table: flows hold
 * sockets
 */
#define FUZZ_FLOWS	64
#define FUZZ_PORTS_LO	61000
#define FUZZ_PORTS_HI	65535
#define FUZZ_NOW	1000U

static const uint8_t fuzz_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff };

/* Where invariant failures are reported: stderr as it was at start-up,
 * kept open if libFuzzer's -close_fd_mask=2 silences merd's own messages
 */
static FILE *fuzz_err;

/* Name of the harness, for messages */
static const char *fuzz_who;

/**
 * fuzz_fail() - report a broken invariant on fuzz_err, and abort
 * @fmt:	printf() format of the report, without newline
 * @...:	its arguments
 */
__attribute__((format(printf, 1, 2), noreturn))
static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(fuzz_err, fmt, ap);
	va_end(ap);
	fputc('\n', fuzz_err);
	fflush(fuzz_err);
	abort();
}

/**
 * fuzz_init() - start-up of every harness, from LLVMFuzzerInitialize()
 * @who:	harness name, for messages
 * @netns:	the harness reaches forwarding: abort unless in a private
 *		network namespace with only loopback (fuzz_netns_check())
 */
static inline void fuzz_init(const char *who, bool netns)
{
	fuzz_who = who;
	fuzz_err = fdopen(dup(STDERR_FILENO), "w");
	if (!fuzz_err)
		fuzz_err = stderr;
	if (netns)
		fuzz_netns_check(who);
	log_init(false, false);
}

/**
 * fuzz_ctx_init() - a context with nothing open
 * @c:		context to clear
 */
static inline void fuzz_ctx_init(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->fd_listen = c->fd_tap = c->epollfd = -1;
	c->trace = false;	/* one log line per packet otherwise */
}

/**
 * fuzz_guest_init() - what every guest configuration shares: the guest at
 *		       192.0.2.10 behind 192.0.2.1, our MAC 9a:55:9a:55:9a:55
 * @g:		configuration to clear and fill; the rest is up to the caller
 */
static inline void fuzz_guest_init(struct guest_conf *g)
{
	static const uint8_t mac[ETH_ALEN] = { 0x9a, 0x55, 0x9a,
					       0x55, 0x9a, 0x55 };

	memset(g, 0, sizeof(*g));
	inet_pton(AF_INET, "192.0.2.10", &g->addr);
	inet_pton(AF_INET, "192.0.2.1", &g->gw);
	memcpy(g->our_mac, mac, ETH_ALEN);
}

/**
 * fuzz_name() - write a search domain of a given length, in 63-byte labels
 * @buf:	destination, at least @len + 1 bytes
 * @len:	length, at most DOMAIN_MAX
 * @tag:	letter that makes the names differ
 */
static inline void fuzz_name(char *buf, size_t len, char tag)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (i % 64 == 63) ? '.' : (i % 64 ? 'a' : tag);
	buf[len] = '\0';
}

/**
 * fuzz_guest_conf() - guest configuration number @n of fuzz_tap and
 *		       fuzz_dhcp, on top of fuzz_guest_init()
 * @g:		configuration to fill
 * @n:		0: ordinary, one DNS server and one search domain; 1: every
 *		list full, longest names, largest MTU, prefix 0; 2: jumbo MTU
 *		with a long search list that still fits an option area;
 *		3: smallest MTU, /32, no DNS, no search
 */
static inline void fuzz_guest_conf(struct guest_conf *g, int n)
{
	int i;

	fuzz_guest_init(g);

	switch (n) {
	case 0:
		g->prefix_len = 24;
		g->mtu = 1500;
		inet_pton(AF_INET, "192.0.2.53", &g->dns[g->dns_n++]);
		strcpy(g->search[g->search_n++], "example.com");
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
 * fuzz_eth_split() - take a frame apart: Ethernet header, and the rest
 * @f:		frame
 * @eh:		filled with its Ethernet header
 * @l3:		filled with what follows the header
 *
 * Return: true if the frame holds a whole Ethernet header
 */
static inline bool fuzz_eth_split(struct pkt f, struct ethhdr *eh,
				  struct pkt *l3)
{
	return pkt_get(f, 0, eh, sizeof(*eh)) && pkt_tail(f, ETH_HLEN, l3);
}

/**
 * fuzz_frame_in() - the checks tap_frame() makes before looking at the
 *		     EtherType: an Ethernet header, to our MAC or broadcast
 * @c:		context
 * @f:		frame
 * @eh:		filled with its Ethernet header
 * @l3:		filled with what follows the header
 *
 * Return: true if tap_frame() goes on with the frame
 */
static inline bool fuzz_frame_in(const struct ctx *c, struct pkt f,
				 struct ethhdr *eh, struct pkt *l3)
{
	if (!fuzz_eth_split(f, eh, l3))
		return false;
	return !memcmp(eh->h_dest, c->guest.our_mac, ETH_ALEN) ||
	       !memcmp(eh->h_dest, fuzz_bcast, ETH_ALEN);
}

/**
 * fuzz_to_dhcp_port() - tell whether an IPv4 packet is a whole UDP
 *			 datagram to the DHCP server port
 * @ip:		packet, parsed
 *
 * Return: true if so, whatever its destination address
 */
static inline bool fuzz_to_dhcp_port(const struct ip4_view *ip)
{
	struct udphdr uh;

	return ip->h.protocol == IPPROTO_UDP && !ip4_is_fragment(ip) &&
	       pkt_get(ip->l4, 0, &uh, sizeof(uh)) &&
	       ntohs(uh.dest) == DHCP_SERVER_PORT;
}

/**
 * fuzz_is_dhcp() - tell whether tap_frame() hands an IPv4 packet to dhcp()
 * @c:		context
 * @ip:		packet, parsed
 *
 * Return: true as tap_ip4() decides it: to the DHCP server port, broadcast
 *	   or to the gateway; anything else goes to fwd_from_guest()
 */
static inline bool fuzz_is_dhcp(const struct ctx *c,
				const struct ip4_view *ip)
{
	return fuzz_to_dhcp_port(ip) &&
	       (ip->h.daddr == htonl(INADDR_BROADCAST) ||
		ip->h.daddr == c->guest.gw.s_addr);
}

/**
 * fuzz_eth_to_guest() - tell whether a frame merd queued for the guest has
 *			 the Ethernet header of IPv4 from merd
 * @c:		context
 * @eh:		the frame's Ethernet header
 *
 * Return: true for IPv4 from our MAC to the guest's, or to broadcast while
 *	   the guest's isn't known
 */
static inline bool fuzz_eth_to_guest(const struct ctx *c,
				     const struct ethhdr *eh)
{
	return ntohs(eh->h_proto) == ETH_P_IP &&
	       !memcmp(eh->h_source, c->guest.our_mac, ETH_ALEN) &&
	       !memcmp(eh->h_dest, c->guest_mac_known ? c->guest_mac :
				   fuzz_bcast, ETH_ALEN);
}

/**
 * fuzz_fix_csums() - correct the IPv4 header and UDP checksums of a frame
 * @f:		frame, modified
 * @len:	its length
 *
 * A UDP checksum of zero ("none") is left alone. Anything that doesn't
 * look like IPv4, or whose lengths don't fit the frame, is left as it is.
 */
static inline void fuzz_fix_csums(uint8_t *f, size_t len)
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
 * fuzz_fwd_setup() - set forwarding up as merd.c's main() does, from
 *		      fuzz_tap and fuzz_fwd (they link fwd.c)
 * @c:		context to fill, with nothing open
 * @g:		guest configuration to start with
 *
 * conf() done by hand: no address on the uplink, so flows leave from a
 * made-up host address; sends to it fail in the namespace. Aborts if
 * fwd_init() fails (it needs root or CAP_NET_RAW).
 */
static inline void fuzz_fwd_setup(struct ctx *c, const struct guest_conf *g)
{
	int ret;

	fuzz_ctx_init(c);
	c->fd_timer = -1;
	c->guest = *g;
	c->flows_max = FUZZ_FLOWS;
	c->ports_lo = FUZZ_PORTS_LO;
	c->ports_hi = FUZZ_PORTS_HI;
	inet_pton(AF_INET, "198.51.100.2", &c->out_addr);
	c->host.mtu = 1500;
	c->now = FUZZ_NOW;
	ret = fwd_init(c);
	if (ret) {
		fprintf(fuzz_err, "%s: fwd_init: %s (needs root or "
			"CAP_NET_RAW)\n", fuzz_who, strerror(-ret));
		abort();
	}
}

/**
 * fuzz_fwd_forget() - what tap_close() does with forwarding: forget the
 *		       guest's flows, and check that nothing is left of them
 * @c:		context
 */
static inline void fuzz_fwd_forget(struct ctx *c)
{
	fwd_forget(c);
	if (c->ct.count || c->raw.nout)
		fuzz_fail("%s: invariant broken: fwd_forget() left %u flows, "
			  "%d packets", fuzz_who, c->ct.count, c->raw.nout);
}

/**
 * fuzz_raw_drain() - throw away what the raw sockets received
 * @c:		context
 */
static inline void fuzz_raw_drain(const struct ctx *c)
{
	char b;
	int i;

	for (i = 0; i < RAW_PROTOS; i++)
		while (recv(c->raw.fd[i], &b, 1, MSG_DONTWAIT) >= 0)
			;
}

#endif /* FUZZ_COMMON_H */
