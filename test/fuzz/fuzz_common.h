/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_common.h - set-up and checks shared by the libFuzzer harnesses
 *
 * Copyright (c) 2026 merd authors
 *
 * Start-up (where invariant failures are reported, quiet logging, the
 * network namespace check), the guest configurations, the checks merd.c's
 * frame_handler() makes before it hands a frame to arp() or dhcp(),
 * worked out independently, checksum correction of mutated frames, and
 * forwarding set up, reset between inputs and torn down as merd does it.
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
#include <sys/resource.h>
#include <sys/socket.h>

#include "csum.h"
#include "dhcp.h"
#include "fwd.h"
#include "ip.h"
#include "ip4.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "pkt.h"
#include "port.h"
#include "raw.h"
#include "tap.h"

#include "fuzz_netns.h"
#include "fuzz_report.h"

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

/* The checks aren't merd's code: no coverage feedback from their loops,
 * which would cost time and steer the fuzzer to nothing
 */
#if defined(__clang__)
#define NOCOV	__attribute__((no_sanitize("coverage")))
#else
#define NOCOV
#endif

/* merd.c's REPLY_MAX: the buffer frame_handler() hands to arp() and
 * dhcp(); no reply merd builds is larger
 */
#define FUZZ_REPLY_MAX	4096
/* The shortest DHCP reply: headers, a 300-byte BOOTP message (RFC 1542) */
#define FUZZ_DHCP_REPLY_MIN	(ETH_HLEN + IP4_HLEN_MIN + UDP_HLEN + 300)

/* Forwarding as merd sets it up, with a small flow table, and a port range
 * of FUZZ_PORT_BLOCKS blocks of which the harness itself holds all but the
 * first FUZZ_PORTS_FREE ports of each (fuzz_ports_crowd()): a few flows to
 * one peer take every port merd has toward it, so that more blocks are
 * claimed, finished flows give way and new ones are refused, and idle
 * blocks are given back
 */
#define FUZZ_FLOWS	64
#define FUZZ_PORT_BLOCKS 3
#define FUZZ_PORTS_FREE	8
#define FUZZ_PORTS_LO	61000
#define FUZZ_PORTS_HI	(FUZZ_PORTS_LO + FUZZ_PORT_BLOCKS * PORT_BLOCK - 1)
#define FUZZ_NOW	1000U
/* The host's addresses flows leave from: not configured in the namespace,
 * so that sends from them fail
 */
#define FUZZ_HOST_ADDR	"198.51.100.2"
#define FUZZ_HOST_ADDR6	"2001:db8:7::2"

static const uint8_t fuzz_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff };

/* Fixed keys, so that an input does the same every time it runs */
static const uint64_t fuzz_key[2] = { 0x0706050403020100ULL,
				      0x0f0e0d0c0b0a0908ULL };

/**
 * fuzz_init() - start-up of every harness, from LLVMFuzzerInitialize()
 * @who:	harness name, for messages
 * @netns:	the harness reaches forwarding: abort unless in a private
 *		network namespace with only loopback (fuzz_netns_check()),
 *		and raise the descriptor limit, as merd.c's nofile_raise()
 *		does (port blocks hold hundreds of sockets)
 */
static inline void fuzz_init(const char *who, bool netns)
{
	struct rlimit rl;

	fuzz_report_init(who);
	if (netns) {
		fuzz_netns_check(who);
		if (!getrlimit(RLIMIT_NOFILE, &rl)) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	log_init(false, false);
}

/**
 * fuzz_ctx_init() - a context with nothing open
 * @c:		context to clear
 */
static inline void fuzz_ctx_init(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->tap.fd_listen = c->tap.fd = c->epollfd = c->fd_timer = -1;
	c->opts.trace = false;	/* one log line per packet otherwise */
	c->opts.v4 = true;
}

/**
 * struct fuzz_guest - what merd gives the guest: its link, its IPv4 and
 *		       IPv6 identities
 * @link:	as c->link
 * @g4:		as c->guest4
 * @g6:		as c->guest6: not served unless fuzz_guest6_conf() says so
 */
struct fuzz_guest {
	struct guest_link link;
	struct guest4 g4;
	struct guest6 g6;
};

/**
 * fuzz_guest_set() - give a context a guest configuration
 * @c:		context
 * @g:		configuration
 *
 * Also forgets the addresses merd learnt the guest sends from (they are
 * part of c->guest6), so that each input starts from the same.
 */
static inline void fuzz_guest_set(struct ctx *c, const struct fuzz_guest *g)
{
	c->link = g->link;
	c->guest4 = g->g4;
	c->guest6 = g->g6;
	c->opts.v6 = g->g6.enabled;
}

/**
 * fuzz_guest_init() - what every guest configuration shares: the guest at
 *		       192.0.2.10 behind 192.0.2.1, our MAC 9a:55:9a:55:9a:55
 * @g:		configuration to clear and fill; the rest is up to the caller
 */
static inline void fuzz_guest_init(struct fuzz_guest *g)
{
	static const uint8_t mac[ETH_ALEN] = { 0x9a, 0x55, 0x9a,
					       0x55, 0x9a, 0x55 };

	memset(g, 0, sizeof(*g));
	g->g4.enabled = true;
	inet_pton(AF_INET, "192.0.2.10", &g->g4.addr);
	inet_pton(AF_INET, "192.0.2.1", &g->g4.gw);
	memcpy(g->link.mac, mac, ETH_ALEN);
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
static inline void fuzz_guest_conf(struct fuzz_guest *g, int n)
{
	struct guest_link *l = &g->link;
	struct guest4 *g4 = &g->g4;
	int i;

	fuzz_guest_init(g);

	switch (n) {
	case 0:
		g4->prefix_len = 24;
		l->mtu = 1500;
		inet_pton(AF_INET, "192.0.2.53", &g4->dns[g4->dns_n++]);
		strcpy(l->search[l->search_n++], "example.com");
		break;
	case 1:
		g4->prefix_len = 0;
		l->mtu = MTU_MAX;
		for (i = 0; i < DNS_MAX; i++)
			g4->dns[g4->dns_n++].s_addr = htonl(0xc6120000U + i);
		for (i = 0; i < SEARCH_MAX; i++)
			fuzz_name(l->search[l->search_n++], DOMAIN_MAX,
				  (char)('a' + i));
		break;
	case 2:
		g4->prefix_len = 16;
		l->mtu = 9000;
		for (i = 0; i < DNS_MAX; i++)
			g4->dns[g4->dns_n++].s_addr = htonl(0xc6120000U + i);
		for (i = 0; i < 5; i++)
			fuzz_name(l->search[l->search_n++], DOMAIN_MAX,
				  (char)('a' + i));
		break;
	default:
		g4->prefix_len = 32;
		l->mtu = MTU_MIN;
		break;
	}
}

/**
 * fuzz_guest6_conf() - serve IPv6 in a guest configuration, as conf.c
 *			would: the guest at 2001:db8:6::10 behind the router
 *			address fe80::1
 * @g:		configuration, its link MTU at least IP6_MTU_MIN
 * @n:		0: /64, one DNS server; 1: /48, every DNS server, the
 *		guest's link-local address already known
 */
static inline void fuzz_guest6_conf(struct fuzz_guest *g, int n)
{
	struct guest6 *g6 = &g->g6;
	int i;

	memset(g6, 0, sizeof(*g6));
	g6->enabled = true;
	inet_pton(AF_INET6, "2001:db8:6::10", &g6->addr);
	inet_pton(AF_INET6, "fe80::1", &g6->gw);
	g6->prefix_len = n ? 48 : 64;
	g6->prefix = g6->addr;
	for (i = g6->prefix_len; i < 128; i++)
		g6->prefix.s6_addr[i / 8] &= (uint8_t)~(0x80U >> (i % 8));
	inet_pton(AF_INET6, "2001:db8:6::53", &g6->dns[g6->dns_n++]);
	if (!n)
		return;
	for (i = g6->dns_n; i < DNS_MAX; i++) {
		g6->dns[g6->dns_n] = g6->dns[0];
		g6->dns[g6->dns_n++].s6_addr[15] = (uint8_t)(0x60 + i);
	}
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", &g6->own[g6->own_n++]);
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
 * fuzz_frame_in() - the checks frame_handler() makes before looking at the
 *		     EtherType: an Ethernet header, to our MAC, broadcast or
 *		     an IPv6 multicast MAC (RFC 2464 7: 33:33 and 32 bits)
 * @c:		context
 * @f:		frame
 * @eh:		filled with its Ethernet header
 * @l3:		filled with what follows the header
 *
 * Return: true if frame_handler() goes on with the frame
 */
static inline bool fuzz_frame_in(const struct ctx *c, struct pkt f,
				 struct ethhdr *eh, struct pkt *l3)
{
	static const uint8_t mcast6[2] = { 0x33, 0x33 };

	if (!fuzz_eth_split(f, eh, l3))
		return false;
	return !memcmp(eh->h_dest, c->link.mac, ETH_ALEN) ||
	       !memcmp(eh->h_dest, fuzz_bcast, ETH_ALEN) ||
	       !memcmp(eh->h_dest, mcast6, sizeof(mcast6));
}

/**
 * fuzz_to_dhcp_port() - tell whether an IPv4 packet is a whole UDP
 *			 datagram to the DHCP server port
 * @ip:		packet, parsed
 *
 * Worked out from the packet's bytes, not from the view's fields that
 * merd's own dhcp_for_server() reads.
 *
 * Return: true if so, whatever its destination address
 */
static inline bool fuzz_to_dhcp_port(const struct ip_view *ip)
{
	struct udphdr uh;
	struct iphdr h;

	return pkt_get(ip->hdr, 0, &h, sizeof(h)) &&
	       h.protocol == IPPROTO_UDP &&
	       !(ntohs(h.frag_off) & (IP_MF | IP_OFFMASK)) &&
	       pkt_get(ip->l4, 0, &uh, sizeof(uh)) &&
	       ntohs(uh.dest) == DHCP_SERVER_PORT;
}

/**
 * fuzz_is_dhcp() - tell whether frame_handler() must hand an IPv4 packet
 *		    to dhcp(), independently of dhcp_for_server()
 * @c:		context
 * @ip:		packet, parsed
 *
 * Return: true if to the DHCP server port, broadcast or to the gateway;
 *	   anything else goes to fwd_from_guest()
 */
static inline bool fuzz_is_dhcp(const struct ctx *c, const struct ip_view *ip)
{
	struct iphdr h;

	return fuzz_to_dhcp_port(ip) && pkt_get(ip->hdr, 0, &h, sizeof(h)) &&
	       (h.daddr == htonl(INADDR_BROADCAST) ||
		h.daddr == c->guest4.gw.s_addr);
}

/**
 * fuzz_eth_to_guest() - tell whether a frame merd queued for the guest has
 *			 the Ethernet header of IP from merd
 * @c:		context
 * @eh:		the frame's Ethernet header
 *
 * Return: true for IPv4, or IPv6 if served, from our MAC to the guest's,
 *	   or to broadcast while the guest's isn't known
 */
static inline bool fuzz_eth_to_guest(const struct ctx *c,
				     const struct ethhdr *eh)
{
	return (ntohs(eh->h_proto) == ETH_P_IP ||
		(ntohs(eh->h_proto) == ETH_P_IPV6 && c->guest6.enabled)) &&
	       !memcmp(eh->h_source, c->link.mac, ETH_ALEN) &&
	       !memcmp(eh->h_dest, c->tap.guest_mac_known ? c->tap.guest_mac :
				   fuzz_bcast, ETH_ALEN);
}

/**
 * fuzz_fix_csums6() - correct the transport checksum of an IPv6 packet
 * @l3:		packet, from its fixed header, modified
 * @len:	bytes there
 *
 * TCP, UDP and ICMPv6, after hop-by-hop, routing and destination options
 * headers (RFC 8200 4: their length in 8-byte units, the first not
 * counted), up to the payload length; not in a fragment. This only gets
 * the fuzzer past the checksums.
 */
static inline void fuzz_fix_csums6(uint8_t *l3, size_t len)
{
	size_t off = sizeof(struct ip6_hdr), end, coff;
	struct ip6_hdr h;
	uint16_t sum;
	uint8_t nh;
	int n;

	if (len < sizeof(h))
		return;
	memcpy(&h, l3, sizeof(h));
	end = sizeof(h) + ntohs(h.ip6_plen);
	if ((ntohl(h.ip6_flow) >> 28) != 6 || end > len)
		return;
	for (nh = h.ip6_nxt, n = 0; n < IP6_EXT_MAX; n++) {
		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
		    nh != IPPROTO_DSTOPTS)
			break;
		if (off + 2 > end)
			return;
		nh = l3[off];
		off += ((size_t)l3[off + 1] + 1) * 8;
	}
	if (nh != IPPROTO_TCP && nh != IPPROTO_UDP && nh != IPPROTO_ICMPV6)
		return;
	coff = csum_l4_offset(nh);
	if (off + coff + 2 > end)
		return;
	memset(l3 + off + coff, 0, 2);
	sum = csum_l4_ip6(&h.ip6_src, &h.ip6_dst, nh, l3 + off, end - off);
	if (nh == IPPROTO_UDP && !sum)
		sum = 0xffff;	/* RFC 8200 8.1 */
	memcpy(l3 + off + coff, &sum, 2);
}

/**
 * fuzz_fix_csums() - correct the IPv4 header and UDP checksums of a frame,
 *		      or the transport checksum of an IPv6 one
 * @f:		frame, modified
 * @len:	its length
 *
 * An IPv4 UDP checksum of zero ("none") is left alone. Anything that
 * doesn't look like IPv4 or IPv6, or whose lengths don't fit the frame,
 * is left as it is.
 */
static inline void fuzz_fix_csums(uint8_t *f, size_t len)
{
	uint8_t *l3 = f + ETH_HLEN, *l4;
	size_t hlen, tot, ulen;
	struct udphdr uh;
	struct iphdr h;
	uint16_t sum;

	if (len >= ETH_HLEN && f[12] == 0x86 && f[13] == 0xdd) {
		fuzz_fix_csums6(l3, len - ETH_HLEN);
		return;
	}
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
 * fuzz_ports_crowd() - play the other programs on the host: hold every port
 *			of the range but the first FUZZ_PORTS_FREE of each
 *			block, TCP and UDP, for the whole run
 *
 * merd then finds those ports taken when it claims a block (port.c leaves
 * them out), and has FUZZ_PORTS_FREE places per block.
 */
static inline void fuzz_ports_crowd(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	unsigned int p;
	int fd, type;

	for (p = FUZZ_PORTS_LO; p <= FUZZ_PORTS_HI; p++) {
		if ((p - FUZZ_PORTS_LO) % PORT_BLOCK < FUZZ_PORTS_FREE)
			continue;
		for (type = 0; type < 2; type++) {
			fd = socket(AF_INET, (type ? SOCK_DGRAM : SOCK_STREAM) |
				    SOCK_CLOEXEC, 0);
			a.sin_port = htons((uint16_t)p);
			if (fd < 0 || bind(fd, (struct sockaddr *)&a,
					   sizeof(a)) ||
			    (!type && listen(fd, 1)))
				fuzz_fail("%s: can't hold port %u: %s",
					  fuzz_who, p, strerror(errno));
		}
	}
}

/**
 * fuzz_fwd_setup() - set forwarding up as merd.c's main() does, from
 *		      fuzz_tap and fuzz_fwd (they link fwd.c)
 * @c:		context to fill, with nothing open
 * @g:		guest configuration to start with
 *
 * conf() done by hand: no address on the uplink, so flows leave from a
 * made-up host address; sends to it fail in the namespace. Aborts if
 * fwd_init() fails (it needs root or CAP_NET_RAW). The port and hash keys
 * are fixed (fuzz_fwd_reset()).
 */
static inline void fuzz_fwd_setup(struct ctx *c, const struct fuzz_guest *g)
{
	int ret;

	fuzz_ctx_init(c);
	fuzz_guest_set(c, g);
	c->opts.flows_max = FUZZ_FLOWS;
	c->opts.ports_lo = FUZZ_PORTS_LO;
	c->opts.ports_hi = FUZZ_PORTS_HI;
	inet_pton(AF_INET, FUZZ_HOST_ADDR, &c->host.out4);
	inet_pton(AF_INET6, FUZZ_HOST_ADDR6, &c->host.out6);
	c->host.mtu = 1500;
	c->now = FUZZ_NOW;
	if (tap_init(c))
		abort();
	fuzz_ports_crowd();

	ret = fwd_init(c, FUZZ_PORT_BLOCKS);
	if (ret)
		fuzz_fail("%s: fwd_init: %s (needs root or CAP_NET_RAW)",
			  fuzz_who, strerror(-ret));
	memcpy(c->fwd.port_key, fuzz_key, sizeof(fuzz_key));
	ret = fwd_ports_init(c);
	if (ret)
		fuzz_fail("%s: fwd_ports_init: %s", fuzz_who, strerror(-ret));
}

/**
 * fuzz_fwd_reset() - forwarding as after start-up, for the next input:
 *		      a new flow table (fixed hash key, merd's timeouts), the
 *		      first block of ports, alone claimed, as claimed at
 *		      FUZZ_NOW (as if merd had run since then), port
 *		      counters, identification and reassembly cleared
 * @c:		context, no flow left (fuzz_fwd_forget(),
 *		fuzz_ports_restore()), its clock set
 *
 * The claimed block is kept: claiming one costs hundreds of system calls.
 */
static inline void fuzz_fwd_reset(struct ctx *c)
{
	struct ports *p = &c->fwd.ports;

	ct_free(&c->fwd.ct);
	if (ct_init(&c->fwd.ct, FUZZ_FLOWS))
		abort();
	memcpy(c->fwd.ct.key, fuzz_key, sizeof(fuzz_key));

	/* As merd claimed them, at FUZZ_NOW, whatever the input's clock:
	 * fuzz_ports_restore() left the first block alone claimed
	 */
	p->retry = 0;
	p->blocks[0].idle = FUZZ_NOW;
	p->ping = true;
	c->fwd.port_draws = 0;
	c->fwd.ip_id = 0;
	c->fwd.frag6_id = 0;
	c->fwd.raw.nout = 0;
	frag_flush(&c->fwd.frag);
}

/**
 * fuzz_fwd_forget() - what merd does when the guest goes away: forget its
 *		       flows, and check that nothing is left of them
 * @c:		context
 */
static inline void fuzz_fwd_forget(struct ctx *c)
{
	const struct ports *p = &c->fwd.ports;
	uint32_t i, k;
	int cls, f;

	fwd_forget(c);
	if (c->fwd.ct.count || c->fwd.raw.nout)
		fuzz_fail("%s: invariant broken: fwd_forget() left %u flows, "
			  "%d packets", fuzz_who, c->fwd.ct.count,
			  c->fwd.raw.nout);
	for (i = 0; i < p->nblocks; i++) {
		if (p->blocks[i].used)
			fuzz_fail("%s: invariant broken: fwd_forget() left "
				  "block %u used %u times", fuzz_who, i,
				  p->blocks[i].used);
		for (k = 0; p->blocks[i].slot && k < PORT_BLOCK; k++)
			for (cls = 0; cls < PORT_CLASSES; cls++)
				if (p->blocks[i].slot[k].refs[cls])
					fuzz_fail("%s: invariant broken: "
						  "fwd_forget() left port %u "
						  "held", fuzz_who,
						  p->lo + i * PORT_BLOCK + k);
	}
	for (f = 0; f < FRAG_SLOTS; f++)
		if (c->fwd.frag.slot[f].used)
			fuzz_fail("%s: invariant broken: fwd_forget() left a "
				  "reassembly", fuzz_who);
	for (f = 0; f < FWD_FRAG6_MAX; f++)
		if (c->fwd.frag6[f].expires)
			fuzz_fail("%s: invariant broken: fwd_forget() left an "
				  "IPv6 datagram's fragments going to flow %u",
				  fuzz_who, c->fwd.frag6[f].flow);
}

/**
 * fuzz_ports_restore() - after fuzz_fwd_forget(): a minute passes, so that
 *			  fwd_timer() gives back the blocks claimed but the
 *			  first (else they are claimed anew, at FUZZ_NOW)
 * @c:		context, no flow left
 *
 * Done before the input ends, so that what it claimed is freed within it:
 * libFuzzer runs an input again to look for leaks when it allocated more
 * than it freed.
 */
static inline void fuzz_ports_restore(struct ctx *c)
{
	struct ports *p = &c->fwd.ports;
	uint32_t now = c->now;
	int ret;

	c->now += PORT_BLOCK_IDLE;
	fwd_timer(c);
	c->now = now;
	if (p->nclaimed == 1 && p->claimed[0] == 0)
		return;

	port_free(p);
	if (port_init(p, FUZZ_PORTS_LO, FUZZ_PORTS_HI, FUZZ_PORT_BLOCKS))
		abort();
	c->now = FUZZ_NOW;
	ret = fwd_ports_init(c);
	if (ret)
		fuzz_fail("%s: fwd_ports_init: %s", fuzz_who, strerror(-ret));
	c->now = now;
}

/**
 * fuzz_raw_drain() - throw away what the raw sockets received
 * @c:		context
 */
static inline void fuzz_raw_drain(const struct ctx *c)
{
	char b;
	int i;

	for (i = 0; i < RAW_PROTOS; i++) {
		while (recv(c->fwd.raw.fd[i], &b, 1, MSG_DONTWAIT) >= 0)
			;
		while (c->fwd.raw.fd6[i] >= 0 &&
		       recv(c->fwd.raw.fd6[i], &b, 1, MSG_DONTWAIT) >= 0)
			;
	}
}

#endif /* FUZZ_COMMON_H */
