// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_fwd.c - libFuzzer harness: the forwarding engine from both sides
 *
 * Copyright (c) 2026 merd authors
 *
 * MUST RUN IN A PRIVATE NETWORK NAMESPACE WITH ONLY LOOPBACK: raw sockets
 * send what the fuzzer makes up. fuzz_netns_check() aborts otherwise; run.sh
 * runs it under `unshare -n`. There, merd's sends to anything but the
 * gateway (which it maps to the host's loopback) fail with ENETUNREACH and
 * become ICMP errors for the guest.
 *
 * The input is a control byte, then chunks:
 *
 *   byte 0	control:
 *		  bits 0-1  guest configuration (fuzz_conf())
 *		  bit 2	    the host's uplink MTU is 576, not 1500: guest
 *			    packets are fragmented on the way out, or
 *			    draw "fragmentation needed"
 *		  bit 3	    small queue to the guest (16 KiB): it fills
 *		  bit 4	    loopback: after each batch sent, read the
 *			    raw sockets (fwd_raw_handler()), as the main
 *			    loop does, and hand the guest what the
 *			    host's own stack answered to packets to the
 *			    mapped gateway
 *		  bit 5	    a second passes, and fwd_timer() runs,
 *			    after every chunk
 *		  bit 6	    the clock starts 100 s before it wraps
 *			    around, and host ports are given from the
 *			    end of the first block on: more blocks are
 *			    claimed, the filters cover several, idle
 *			    ones are given back
 *		  bit 7	    send the batch after every guest packet, not
 *			    only when another kind of chunk comes (or
 *			    32 wait, or the input ends)
 *   chunks	byte 0: kind and flags
 *		  bits 0-1  0: a guest packet, framed (Ethernet header
 *			       to merd's MAC) and given to tap_frame();
 *			    1: a guest packet, ip4_parse() then
 *			       fwd_from_guest();
 *			    2: a packet from the host's raw sockets, to
 *			       fwd_from_host();
 *			    3: time: the clock moves on by the 16-bit
 *			       length field, in seconds, and fwd_timer()
 *			       runs
 *		  bit 2	    fix the checksums first: guest packets get a
 *			    right IPv4 header checksum and (unless a
 *			    fragment) transport checksum; host packets
 *			    a right transport checksum
 *		  bit 3	    aim at a flow (if any): the packet is
 *			    rewritten to belong to the flow picked by
 *			    bits 4-7 (guest packets: its guest-side
 *			    addresses, ports or echo id; host packets:
 *			    from its remote address and port to its
 *			    host port or echo id, or for an ICMP error,
 *			    quoting a packet the flow sent)
 *		  bits 4-7  which live flow, in aging-list order, modulo
 *			    their number
 *		byte 1-2: length, big-endian (what is left if larger);
 *		then the packet, from its IPv4 header
 *
 * Host packets are made what the kernel hands a raw socket: version 4,
 * header length within the packet, total length the packet's length,
 * header checksum right (ip_rcv() checks it). Transport checksums aren't
 * checked by the kernel before raw delivery: those are the fuzzer's.
 *
 * Every frame queued for the guest is checked: IPv4 from merd's MAC to the
 * guest's (or broadcast while unknown), ip4_parse() passes (header
 * checksum), no bytes past the IPv4 total length, at most the guest's MTU;
 * TCP and UDP checksums right (UDP 0 excepted), ICMP checksums right (echo
 * replies only if the host's one was), only ICMP types 0, 3, 11, 12. The
 * fragments of one packet must come in order and whole, and are put back
 * together for these checks. For a host packet, the harness looks the flow
 * up itself: without one, nothing may reach the guest; with one, what does
 * must be addressed as the flow says (addresses, ports, echo id, TTL one
 * less unless the flow is mapped to the host's loopback, the quoted packet
 * of an ICMP error as the guest sent it), and the
 * payload must arrive whole, in order, TCP sequence numbers following, if
 * nothing was dropped. What guest packets draw must be resets and ICMP
 * errors from the gateway.
 *
 * A guest packet queued to be sent must be NATed right: from the flow's
 * host address and port, to its remote address, TTL one less unless mapped,
 * header checksum right, transport checksum right if the guest's was.
 * Fragments from the guest: whenever merd acts on a reassembled datagram,
 * every 8-byte block of it must have come in some fragment of it.
 *
 * After every chunk, conntrack must be consistent: the aging lists well
 * linked, each flow in the list of its state, in expiry order, as many as
 * @count, the free list the rest; each flow found by ct_lookup_guest() and
 * ct_lookup_host(), each index holding exactly @count entries; each flow's
 * host port in range, held (port.c), and ports held only for flows. After
 * fwd_timer(), no flow is past its deadline (it lives at least its timeout:
 * now > expires), no reassembly at or past its time.
 *
 * Between inputs: fwd_forget(), the raw sockets drained, and, for inputs to
 * behave the same whatever ran before, the flow table set up anew (fixed
 * hash key), port allocation, the IPv4 identification and clock reset.
 * At most FUZZ_FLOWS flows: each holds a socket.
 */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "conntrack.h"
#include "csum.h"
#include "dhcp.h"
#include "frag.h"
#include "fwd.h"
#include "ip4.h"
#include "log.h"
#include "merd.h"
#include "pkt.h"
#include "port.h"
#include "raw.h"
#include "tap.h"

#include "fuzz_common.h"

/* The checks aren't merd's code: no coverage feedback from their loops,
 * which would cost most of the time and steer the fuzzer to nothing
 */
#if defined(__clang__)
#define NOCOV	__attribute__((no_sanitize("coverage")))
#else
#define NOCOV
#endif

#define FUZZ_NOW_WRAP	(0U - 100U)
#define SMALL_RING	16384
#define NCONF		4

#define CTL_CONF(f)	((f) & 3)
#define CTL_HOST_576	0x04
#define CTL_SMALL_RING	0x08
#define CTL_LOOPBACK	0x10
#define CTL_TICK	0x20
#define CTL_WRAP	0x40
#define CTL_FLUSH_EACH	0x80

#define CH_KIND(t)	((t) & 3)
#define CH_TAP		0
#define CH_GUEST	1
#define CH_HOST		2
#define CH_TIME		3
#define CH_FIX		0x04
#define CH_AIM		0x08
#define CH_FLOW(t)	((t) >> 4)

/* Guest frames wait here, as in merd's receive buffer, until the batch of
 * packets pointing into them is sent
 */
#define ARENA_SIZE	((size_t)1024 * 1024)
#define DGRAM_MAX	65535
/* Fragment model: keys and blocks of the guest's fragments, per input */
#define FMODEL_KEYS	64
#define FMODEL_BLOCKS	((DGRAM_MAX + 7) / 8)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)	fuzz_fail("fuzz_fwd: invariant broken: " __VA_ARGS__)

static const uint8_t guest_mac[ETH_ALEN] = { 0x52, 0x54, 0x00,
					     0x12, 0x34, 0x56 };

/**
 * enum chk_src - where the frames being checked come from
 * @SRC_GUEST:	answers to guest packets: resets and ICMP errors
 * @SRC_HOST:	a host packet whose flow the harness found
 * @SRC_NOFLOW:	a host packet without a flow: nothing may come
 * @SRC_ANY:	anything well formed (loopback answers, a timer)
 */
enum chk_src {
	SRC_GUEST,
	SRC_HOST,
	SRC_NOFLOW,
	SRC_ANY,
};

/**
 * struct chk - what frames queued for the guest are checked against
 * @src:	enum chk_src
 * @whole:	the source isn't a fragment: fragment trains must be whole
 * @icmp_ok:	echo replies must have a right checksum
 * @err:	(SRC_HOST) an ICMP error about the flow
 * @f:		(SRC_HOST) copy of the flow
 * @ttl:	(SRC_HOST, not @err) expected TTL
 * @orig:	(SRC_HOST, not @err) the host packet as given
 * @orig_len:	its length
 * @acc:	payload received so far, transport header stripped
 * @acc_len:	its length
 * @seq:	(TCP) sequence number the next segment must have
 * @lossy:	frames were dropped (queue full): no continuity to check
 * @datagrams:	datagrams (whole, or put back together) seen
 * @grp:	fragments being put back together: header, then payload
 * @grp_len:	payload bytes in @grp
 * @grp_open:	a train of fragments started
 */
static struct chk {
	enum chk_src src;
	bool whole;
	bool icmp_ok;
	bool err;
	struct flow f;
	uint8_t ttl;
	const uint8_t *orig;
	size_t orig_len;
	uint8_t *acc;
	size_t acc_len;
	uint32_t seq;
	bool lossy;
	unsigned int datagrams;
	uint8_t *grp;
	size_t grp_len;
	bool grp_open;
} chk;

/**
 * struct fmodel_key - a datagram the guest sent fragments of
 * @saddr:	source
 * @daddr:	destination
 * @id:		identification
 * @proto:	protocol
 * @totals:	distinct totals given by last fragments, up to 2 (more: 2)
 * @total:	the first of them
 * @map:	8-byte blocks received, ever, in this input
 */
struct fmodel_key {
	uint32_t saddr;
	uint32_t daddr;
	uint16_t id;
	uint8_t proto;
	int totals;
	size_t total;
	uint8_t map[FMODEL_BLOCKS / 8 + 1];
};

/**
 * struct fuzz_state - allocated once
 * @c:		merd's context, forwarding set up once
 * @confs:	guest configurations
 * @tx:		queues to the guest: merd's size, and a small one
 * @arena:	guest frames, like merd's receive buffer
 * @arena_len:	bytes used in @arena
 * @fmodel:	fragment model
 * @fmodel_n:	keys used in @fmodel
 * @pkt:	scratch for a host packet or a datagram being checked
 * @out:	scratch: a packet from the send batch, put together
 * @full_check:	ct_check() also scans every port of the range (slow)
 */
static struct fuzz_state {
	struct ctx c;
	struct guest_conf confs[NCONF];
	struct tap_tx tx[2];
	uint8_t *arena;
	size_t arena_len;
	struct fmodel_key *fmodel;
	int fmodel_n;
	uint8_t *pkt;
	uint8_t *out;
	bool full_check;
} st;

/**
 * fuzz_conf() - guest configuration number @n
 * @g:		configuration to fill
 * @n:		0: /24, MTU 1500; 1: /16, MTU 65520; 2: /24, MTU 576;
 *		3: /32, MTU 68
 */
static void fuzz_conf(struct guest_conf *g, int n)
{
	static const unsigned int mtu[NCONF] = { 1500, MTU_MAX, 576, MTU_MIN };
	static const int prefix[NCONF] = { 24, 16, 24, 32 };

	fuzz_guest_init(g);
	g->prefix_len = prefix[n];
	g->mtu = mtu[n];
	inet_pton(AF_INET, "192.0.2.53", &g->dns[g->dns_n++]);
}

/**
 * ct_reset() - a new flow table, the same every time; port allocation from
 *		the start of the range (claimed blocks are kept: claiming one
 *		costs a handful of system calls)
 * @c:		context, no flow left
 */
static void ct_reset(struct ctx *c)
{
	static const uint64_t key[2] = { 0x0706050403020100ULL,
					 0x0f0e0d0c0b0a0908ULL };

	ct_free(&c->ct);
	if (ct_init(&c->ct, FUZZ_FLOWS))
		abort();
	memcpy(c->ct.key, key, sizeof(key));
	memset(c->ports.cursor, 0, sizeof(c->ports.cursor));
}

/**
 * LLVMFuzzerInitialize() - check the namespace, set forwarding up as merd
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ctx *c = &st.c;
	int i;

	(void)argc;
	(void)argv;
	fuzz_init("fuzz_fwd", true);

	for (i = 0; i < NCONF; i++)
		fuzz_conf(&st.confs[i], i);
	fuzz_fwd_setup(c, &st.confs[0]);

	/* tap_send_ip() needs a connection: one nobody reads */
	c->fd_tap = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (c->fd_tap < 0)
		abort();
	for (i = 0; i < 2; i++)
		if (tap_tx_init(&st.tx[i], i ? SMALL_RING : TAP_TX_QUEUE))
			abort();

	st.arena = malloc(ARENA_SIZE);
	st.fmodel = calloc(FMODEL_KEYS, sizeof(*st.fmodel));
	st.pkt = malloc(DGRAM_MAX + 64);
	st.out = malloc(DGRAM_MAX + 64);
	chk.acc = malloc(DGRAM_MAX + 64);
	chk.grp = malloc(DGRAM_MAX + 64);
	if (!st.arena || !st.fmodel || !st.pkt || !st.out || !chk.acc ||
	    !chk.grp)
		abort();
	POISON(st.arena, ARENA_SIZE);
	return 0;
}

/* Checksums */

/**
 * l4_sum_ok() - tell whether a transport checksum is right
 * @saddr:	source, network order
 * @daddr:	destination
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 * @l4:		transport header and payload
 * @len:	their length
 *
 * Return: true if right (a UDP checksum of zero counts as right)
 */
NOCOV static bool l4_sum_ok(uint32_t saddr, uint32_t daddr, uint8_t proto,
		      const uint8_t *l4, size_t len)
{
	uint32_t sum = 0;

	if (proto == IPPROTO_UDP && len >= 8 && !l4[6] && !l4[7])
		return true;
	if (proto != IPPROTO_ICMP)
		sum = csum_pseudo4(saddr, daddr, proto, (uint16_t)len);
	return csum_fold(csum_partial(l4, len, sum)) == 0xffff;
}

/**
 * fix_ip_sum() - write a right IPv4 header checksum
 * @ip:		packet
 * @len:	bytes available
 */
static void fix_ip_sum(uint8_t *ip, size_t len)
{
	size_t hlen;
	uint16_t sum;

	if (len < IP4_HLEN_MIN)
		return;
	hlen = (size_t)(ip[0] & 0xf) * 4;
	if (hlen < IP4_HLEN_MIN || hlen > len)
		return;
	memset(ip + 10, 0, 2);
	sum = csum_ip4_header(ip, hlen);
	memcpy(ip + 10, &sum, 2);
}

/**
 * fix_l4_sum() - write a right transport checksum, unless a fragment
 * @ip:		packet, header checked for length
 * @len:	bytes available
 */
static void fix_l4_sum(uint8_t *ip, size_t len)
{
	size_t hlen, tot, l4len, coff;
	struct iphdr h;
	uint16_t sum;
	uint8_t *l4;

	if (len < sizeof(h))
		return;
	hlen = (size_t)(ip[0] & 0xf) * 4;
	if (hlen < IP4_HLEN_MIN || hlen > len)
		return;
	memcpy(&h, ip, sizeof(h));
	tot = MIN((size_t)ntohs(h.tot_len), len);
	if (tot < hlen || (ntohs(h.frag_off) & (IP_MF | IP_OFFMASK)))
		return;
	l4 = ip + hlen;
	l4len = tot - hlen;

	switch (h.protocol) {
	case IPPROTO_TCP:
		coff = 16;
		break;
	case IPPROTO_UDP:
		coff = 6;
		break;
	case IPPROTO_ICMP:
		coff = 2;
		break;
	default:
		return;
	}
	if (l4len < coff + 2)
		return;
	if (h.protocol == IPPROTO_UDP && !l4[6] && !l4[7])
		return;		/* none, and none now */
	memset(l4 + coff, 0, 2);
	if (h.protocol == IPPROTO_ICMP)
		sum = csum_finish(csum_partial(l4, l4len, 0));
	else
		sum = csum_l4_ip4(h.saddr, h.daddr, h.protocol, l4, l4len);
	if (h.protocol == IPPROTO_UDP && !sum)
		sum = 0xffff;
	memcpy(l4 + coff, &sum, 2);
}

/* Conntrack */

/**
 * live_flows() - flows in the aging lists, checking the lists
 * @c:		context
 * @out:	filled with flow numbers, FUZZ_FLOWS at most
 *
 * Return: number of flows
 */
NOCOV static uint32_t live_flows(const struct ctx *c, uint32_t *out)
{
	const struct conntrack *ct = &c->ct;
	uint8_t seen[FUZZ_FLOWS] = { 0 };
	uint32_t n = 0, idx, prev, steps;
	int s;

	for (s = 0; s < CT_STATES; s++) {
		prev = FLOW_NONE;
		steps = 0;
		for (idx = ct->aging[s].head; idx != FLOW_NONE;
		     idx = ct->flows[idx].next) {
			const struct flow *f;

			if (idx >= ct->max || seen[idx] || ++steps > ct->max)
				FAIL("aging list %s: flow %u out of range, "
				     "twice or in a loop", ct_state_name[s],
				     idx);
			f = &ct->flows[idx];
			seen[idx] = 1;
			if (f->state != s)
				FAIL("flow %u in state %u is in the list of %s",
				     idx, f->state, ct_state_name[s]);
			if (f->prev != prev)
				FAIL("flow %u: prev %u, follows %u", idx,
				     f->prev, prev);
			if (prev != FLOW_NONE &&
			    (int32_t)(f->expires - ct->flows[prev].expires) < 0)
				FAIL("list %s not in expiry order at flow %u",
				     ct_state_name[s], idx);
			out[n++] = idx;
			prev = idx;
		}
		if (ct->aging[s].tail != prev)
			FAIL("list %s: tail %u, last %u", ct_state_name[s],
			     ct->aging[s].tail, prev);
	}
	if (n != ct->count)
		FAIL("%u flows in the aging lists, count %u", n, ct->count);

	steps = 0;
	for (idx = ct->free; idx != FLOW_NONE; idx = ct->flows[idx].next) {
		if (idx >= ct->max || seen[idx])
			FAIL("free list: flow %u out of range or in use", idx);
		seen[idx] = 1;
		steps++;
	}
	if (steps != ct->max - ct->count)
		FAIL("%u free flows, %u of %u used", steps, ct->count, ct->max);
	return n;
}

/**
 * ct_check() - conntrack, its indexes and the ports consistent
 * @c:		context
 */
NOCOV static void ct_check(const struct ctx *c)
{
	const struct conntrack *ct = &c->ct;
	const struct ports *p = &c->ports;
	uint32_t live[FUZZ_FLOWS], n, i, gn = 0, hn = 0, busy = 0, used = 0;
	uint32_t range = (uint32_t)p->hi - p->lo + 1;

	n = live_flows(c, live);
	for (i = 0; i < n; i++) {
		const struct flow *f = &ct->flows[live[i]];
		int cls = f->proto == IPPROTO_TCP ? PORT_TCP : PORT_UDP;

		if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP &&
		    f->proto != IPPROTO_ICMP)
			FAIL("flow %u of protocol %u", live[i], f->proto);
		if (ct_lookup_guest(ct, f->proto, f->gaddr, f->gport, f->daddr,
				    f->dport) != live[i])
			FAIL("flow %u not found by its guest side", live[i]);
		if (ct_lookup_host(ct, f->proto, f->hport, f->raddr,
				   f->dport) != live[i])
			FAIL("flow %u not found by its host side", live[i]);
		if (f->hport < p->lo || f->hport > p->hi || f->fd < 0 ||
		    !p->busy[cls][f->hport - p->lo] ||
		    !((f->hport - p->lo) % PORT_BLOCK) ||
		    p->blocks[(f->hport - p->lo) / PORT_BLOCK].fd_tcp < 0)
			FAIL("flow %u: host port %u not held (fd %d)", live[i],
			     f->hport, f->fd);
		if ((int32_t)(f->expires - c->now) >
		    (int32_t)ct->timeout[f->state])
			FAIL("flow %u expires in %d s, timeout %u", live[i],
			     (int32_t)(f->expires - c->now),
			     ct->timeout[f->state]);
	}
	for (i = 0; i <= ct->mask; i++) {
		gn += ct->gtab[i] != FLOW_NONE;
		hn += ct->htab[i] != FLOW_NONE;
	}
	if (gn != ct->count || hn != ct->count)
		FAIL("indexes hold %u and %u flows, count %u", gn, hn,
		     ct->count);
	for (i = 0; i < p->nblocks; i++) {
		uint32_t k, lo = i * PORT_BLOCK;
		uint32_t hi = MIN(lo + PORT_BLOCK, range);

		used += p->blocks[i].used;
		if (p->blocks[i].fd_tcp < 0 && !p->blocks[i].used)
			continue;	/* unclaimed: see below */
		for (k = lo; k < hi; k++)
			busy += p->busy[PORT_TCP][k] + p->busy[PORT_UDP][k];
	}
	for (i = 0; st.full_check && i < range; i++)
		if ((p->busy[PORT_TCP][i] || p->busy[PORT_UDP][i]) &&
		    p->blocks[i / PORT_BLOCK].fd_tcp < 0)
			FAIL("port %u held in a block not claimed",
			     p->lo + i);
	if (busy != ct->count || used != ct->count)
		FAIL("%u ports held, blocks count %u, for %u flows", busy,
		     used, ct->count);
}

/* What reaches the guest */

/**
 * check_nat_in() - addresses and ports of a datagram for a host packet's flow
 * @ip:		datagram, whole, from its IPv4 header
 * @len:	its length
 * @h:		its header
 */
NOCOV static void check_nat_in(const uint8_t *ip, size_t len,
			       const struct iphdr *h)
{
	const struct flow *f = &chk.f;
	size_t hl = ip4_hlen(h);
	const uint8_t *l4 = ip + hl;
	uint16_t a, b;

	if (h->daddr != f->gaddr)
		FAIL("flow's packet for the guest sent to %08x, not %08x",
		     ntohl(h->daddr), ntohl(f->gaddr));

	if (chk.err) {
		struct iphdr q;
		size_t qhl;

		if (h->protocol != IPPROTO_ICMP ||
		    (l4[0] != ICMP_DEST_UNREACH &&
		     l4[0] != ICMP_TIME_EXCEEDED &&
		     l4[0] != ICMP_PARAMETERPROB))
			FAIL("ICMP error about a flow became protocol %u "
			     "type %u", h->protocol, l4[0]);
		/* RFC 792: the quoted header, and 64 bits of the data */
		if (len < hl + 8 + sizeof(q))
			FAIL("%zu-byte ICMP error (%zu of header) for the "
			     "guest quotes %zu bytes of its packet, not even "
			     "the IPv4 header", len, hl, len - hl - 8);
		memcpy(&q, l4 + 8, sizeof(q));
		qhl = ip4_hlen(&q);
		if (q.saddr != f->gaddr || q.daddr != f->daddr ||
		    q.protocol != f->proto)
			FAIL("ICMP error quotes a packet from %08x to %08x, "
			     "protocol %u: the guest sent %08x to %08x, %u",
			     ntohl(q.saddr), ntohl(q.daddr), q.protocol,
			     ntohl(f->gaddr), ntohl(f->daddr), f->proto);
		if (len < hl + 8 + qhl + 8)
			return;
		memcpy(&a, l4 + 8 + qhl + (f->proto == IPPROTO_ICMP ? 4 : 0),
		       2);
		memcpy(&b, l4 + 8 + qhl + 2, 2);
		if (ntohs(a) != f->gport ||
		    (f->proto != IPPROTO_ICMP && ntohs(b) != f->dport))
			FAIL("ICMP error quotes ports %u, %u: the guest's "
			     "were %u, %u", ntohs(a), ntohs(b), f->gport,
			     f->dport);
		return;
	}

	if (h->saddr != f->daddr || h->protocol != f->proto)
		FAIL("flow's packet from %08x protocol %u, not %08x, %u",
		     ntohl(h->saddr), h->protocol, ntohl(f->daddr), f->proto);
	if (h->ttl != chk.ttl)
		FAIL("TTL %u for the guest, %u expected", h->ttl, chk.ttl);
	if (f->proto == IPPROTO_ICMP) {
		memcpy(&a, l4 + 4, 2);
		if (l4[0] != ICMP_ECHOREPLY || ntohs(a) != f->gport)
			FAIL("echo reply of type %u id %u, the guest's is %u",
			     l4[0], ntohs(a), f->gport);
		return;
	}
	memcpy(&a, l4, 2);
	memcpy(&b, l4 + 2, 2);
	if (ntohs(a) != f->dport || ntohs(b) != f->gport)
		FAIL("ports %u to %u for the guest, flow has %u to %u",
		     ntohs(a), ntohs(b), f->dport, f->gport);
}

/**
 * check_payload() - collect a datagram's payload for the host packet's
 * @ip:		datagram, whole
 * @len:	its length
 * @h:		its header
 */
NOCOV static void check_payload(const uint8_t *ip, size_t len,
				const struct iphdr *h)
{
	size_t hl = ip4_hlen(h), thl = 8;
	struct tcphdr th;

	if (h->protocol == IPPROTO_TCP) {
		memcpy(&th, ip + hl, sizeof(th));
		thl = (size_t)th.doff * 4;
		if (!chk.lossy && ntohl(th.seq) != chk.seq)
			FAIL("segment with sequence %u, %u expected",
			     ntohl(th.seq), chk.seq);
	}
	if (len < hl + thl || chk.acc_len + len - hl - thl > DGRAM_MAX)
		FAIL("datagram of %zu bytes, headers %zu, after %zu", len,
		     hl + thl, chk.acc_len);
	memcpy(chk.acc + chk.acc_len, ip + hl + thl, len - hl - thl);
	chk.acc_len += len - hl - thl;
	chk.seq += (uint32_t)(len - hl - thl);
}

/**
 * check_dgram() - check a datagram for the guest, whole or put together
 * @ip:		datagram, from its IPv4 header
 * @len:	its length, the IPv4 total length
 */
NOCOV static void check_dgram(const uint8_t *ip, size_t len)
{
	const uint8_t *l4;
	struct iphdr h;
	size_t l4len;

	memcpy(&h, ip, sizeof(h));
	l4 = ip + ip4_hlen(&h);
	l4len = len - ip4_hlen(&h);
	chk.datagrams++;

	switch (h.protocol) {
	case IPPROTO_TCP:
		if (l4len < 20 || l4[12] >> 4 < 5 ||
		    (size_t)(l4[12] >> 4) * 4 > l4len)
			FAIL("TCP segment of %zu bytes, data offset %u", l4len,
			     l4[12] >> 4);
		if (!l4_sum_ok(h.saddr, h.daddr, IPPROTO_TCP, l4, l4len))
			FAIL("bad TCP checksum on a %zu-byte segment", l4len);
		break;
	case IPPROTO_UDP: {
		uint16_t ulen;

		if (l4len < 8)
			FAIL("UDP datagram of %zu bytes", l4len);
		memcpy(&ulen, l4 + 4, 2);
		if (ntohs(ulen) == l4len &&
		    !l4_sum_ok(h.saddr, h.daddr, IPPROTO_UDP, l4, l4len))
			FAIL("bad UDP checksum on a %zu-byte datagram", l4len);
		break;
	}
	case IPPROTO_ICMP:
		if (l4len < 8 || (l4[0] != ICMP_ECHOREPLY &&
				  l4[0] != ICMP_DEST_UNREACH &&
				  l4[0] != ICMP_TIME_EXCEEDED &&
				  l4[0] != ICMP_PARAMETERPROB))
			FAIL("ICMP type %u, %zu bytes, for the guest",
			     l4len ? l4[0] : 0, l4len);
		if ((l4[0] != ICMP_ECHOREPLY || chk.icmp_ok) &&
		    !l4_sum_ok(0, 0, IPPROTO_ICMP, l4, l4len))
			FAIL("bad ICMP checksum, type %u, %zu bytes", l4[0],
			     l4len);
		break;
	default:
		FAIL("protocol %u for the guest", h.protocol);
	}

	switch (chk.src) {
	case SRC_GUEST:
		if (!(h.protocol == IPPROTO_TCP && (l4[13] & TH_RST)) &&
		    !(h.protocol == IPPROTO_ICMP && l4[0] != ICMP_ECHOREPLY &&
		      h.saddr == st.c.guest.gw.s_addr))
			FAIL("a guest packet drew protocol %u from %08x",
			     h.protocol, ntohl(h.saddr));
		break;
	case SRC_HOST:
		check_nat_in(ip, len, &h);
		if (!chk.err)
			check_payload(ip, len, &h);
		break;
	case SRC_NOFLOW:
		FAIL("a host packet without a flow reached the guest");
	case SRC_ANY:
		break;
	}
}

/**
 * check_frag() - a fragment for the guest: put the datagram back together
 * @ip:		fragment, from its IPv4 header, parsed
 * @len:	its length
 */
NOCOV static void check_frag(const uint8_t *ip, size_t len)
{
	struct iphdr h, g;
	size_t off, n;
	uint16_t fo;

	memcpy(&h, ip, sizeof(h));
	fo = ntohs(h.frag_off);
	off = (size_t)(fo & IP_OFFMASK) * 8;
	n = len - ip4_hlen(&h);

	if (!chk.whole || chk.lossy)
		return;		/* fragments in, or some lost */
	if (ip4_hlen(&h) != sizeof(h))
		FAIL("fragment with IPv4 options");
	if ((fo & IP_MF) && n % 8)
		FAIL("fragment of %zu bytes, not the last", n);

	if (!off) {
		if (chk.grp_open)
			FAIL("fragments of a datagram cut short");
		memcpy(chk.grp, ip, sizeof(h));
		chk.grp_len = 0;
		chk.grp_open = true;
	} else {
		memcpy(&g, chk.grp, sizeof(g));
		if (!chk.grp_open || off != chk.grp_len || g.id != h.id ||
		    g.saddr != h.saddr || g.daddr != h.daddr ||
		    g.protocol != h.protocol)
			FAIL("fragment at %zu out of order (%zu put together)",
			     off, chk.grp_len);
	}
	if (sizeof(h) + off + n > DGRAM_MAX)
		FAIL("fragments past %d bytes", DGRAM_MAX);
	memcpy(chk.grp + sizeof(h) + off, ip + sizeof(h), n);
	chk.grp_len = off + n;

	if (fo & IP_MF)
		return;
	chk.grp_open = false;
	memcpy(&g, chk.grp, sizeof(g));
	g.tot_len = htons((uint16_t)(sizeof(g) + chk.grp_len));
	g.frag_off = htons(fo & IP_DF);
	memcpy(chk.grp, &g, sizeof(g));
	check_dgram(chk.grp, sizeof(g) + chk.grp_len);
}

/**
 * check_frame() - tap_parse() callback: one frame queued for the guest
 * @arg:	context
 * @frame:	the frame
 * @len:	its length
 */
NOCOV static void check_frame(void *arg, const uint8_t *frame, size_t len)
{
	const struct ctx *c = arg;
	struct pkt f = { frame, len }, l3;
	struct ip4_view ip;
	struct ethhdr eh;

	if (!fuzz_eth_split(f, &eh, &l3))
		FAIL("frame of %zu bytes", len);
	if (!fuzz_eth_to_guest(c, &eh))
		FAIL("bad Ethernet header, EtherType 0x%04x",
		     ntohs(eh.h_proto));
	if (ip4_parse(l3, &ip))
		FAIL("sent the guest a bad IPv4 packet (%zu bytes)", l3.len);
	if (ip.hlen + ip.l4.len != l3.len)
		FAIL("frame of %zu bytes for a %zu-byte IPv4 packet", l3.len,
		     ip.hlen + ip.l4.len);
	if (l3.len > c->guest.mtu)
		FAIL("%zu-byte packet (protocol %u, ICMP type %d) for a guest "
		     "with MTU %u", l3.len, ip.h.protocol,
		     ip.h.protocol == IPPROTO_ICMP && ip.l4.len ? ip.l4.p[0] :
		     -1, c->guest.mtu);

	if (ip4_is_fragment(&ip))
		check_frag(l3.p, l3.len);
	else
		check_dgram(l3.p, l3.len);
}

/**
 * chk_start() - get ready to check what comes for the guest
 * @src:	enum chk_src
 */
static void chk_start(enum chk_src src)
{
	chk.src = src;
	chk.whole = true;
	chk.icmp_ok = true;
	chk.err = false;
	chk.acc_len = 0;
	chk.datagrams = 0;
	chk.grp_open = false;
}

/**
 * take_queued() - check what the queue to the guest holds, then empty it
 * @c:		context
 * @dropped:	drops counted before: fragment trains may then be cut
 */
NOCOV static void take_queued(struct ctx *c, unsigned long dropped)
{
	size_t used;
	uint32_t bad;

	if (c->tx.head)
		FAIL("queue to the guest moved without a write");
	chk.lossy = c->tx.dropped != dropped;
	if (tap_parse(c->tx.buf, c->tx.used, check_frame, c, &used, &bad))
		FAIL("queued a frame length of %u", bad);
	if (used != c->tx.used)
		FAIL("%zu bytes queued, %zu in whole frames", c->tx.used, used);
	if (chk.grp_open && !chk.lossy)
		FAIL("fragments of a datagram cut short");
	c->tx.used = 0;
}

/**
 * flush() - send the batch, as tap_input() does before moving its buffer,
 *	     and check what failures drew
 * @c:		context
 */
static void flush(struct ctx *c)
{
	unsigned long dropped = c->tx.dropped;

	chk_start(SRC_GUEST);
	fwd_flush(c);
	take_queued(c, dropped);
	POISON(st.arena, ARENA_SIZE);
	st.arena_len = 0;
	if (c->raw.nout)
		FAIL("%d packets left in the batch after fwd_flush()",
		     c->raw.nout);
}

/**
 * loopback() - hand the guest what the raw sockets received
 * @c:		context
 */
static void loopback(struct ctx *c)
{
	unsigned long dropped = c->tx.dropped;
	int i;

	chk_start(SRC_ANY);
	chk.icmp_ok = false;
	for (i = 0; i < RAW_PROTOS; i++)
		fwd_raw_handler(c, (enum raw_proto)i);
	take_queued(c, dropped);
	fwd_raw_resume(c);
}

/* Guest packets */

/**
 * pick_flow() - a live flow, by a selector
 * @c:		context
 * @sel:	selector, taken modulo the number of flows
 *
 * Return: the flow, NULL if there is none
 */
static const struct flow *pick_flow(const struct ctx *c, unsigned int sel)
{
	uint32_t live[FUZZ_FLOWS], n;

	n = live_flows(c, live);
	return n ? &c->ct.flows[live[sel % n]] : NULL;
}

/**
 * put16() - store a 16-bit value in network order
 * @p:		where
 * @v:		value, host order
 */
static void put16(uint8_t *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

/**
 * aim_l4() - write in a transport header the ports, or for an echo flow the
 *	      type and id, that make a packet one of a flow's
 * @l4:		transport header, at least 8 bytes
 * @proto:	protocol of the flow
 * @echo:	ICMP type, for an echo flow
 * @id:		echo id, for an echo flow
 * @sport:	source port, for the others
 * @dport:	destination port, for the others
 */
static void aim_l4(uint8_t *l4, uint8_t proto, uint8_t echo, uint16_t id,
		   uint16_t sport, uint16_t dport)
{
	if (proto == IPPROTO_ICMP) {
		l4[0] = echo;
		l4[1] = 0;
		put16(l4 + 4, id);
	} else {
		put16(l4, sport);
		put16(l4 + 2, dport);
	}
}

/**
 * aim_guest() - make a guest packet one of a flow's
 * @ip:		packet
 * @len:	its length
 * @f:		the flow
 */
static void aim_guest(uint8_t *ip, size_t len, const struct flow *f)
{
	size_t hl;
	uint8_t *l4;

	if (len < IP4_HLEN_MIN)
		return;
	if ((ip[0] & 0xf) < 5 || ip[0] >> 4 != 4)
		ip[0] = 0x45;
	hl = (size_t)(ip[0] & 0xf) * 4;
	memcpy(ip + 12, &f->gaddr, 4);
	memcpy(ip + 16, &f->daddr, 4);
	ip[9] = f->proto;
	if (len < hl + 8 || ((ip[6] & 0x1f) | ip[7]))
		return;		/* no transport header here */
	l4 = ip + hl;
	aim_l4(l4, f->proto, ICMP_ECHO, f->gport, f->gport, f->dport);
}

/**
 * fmodel_get() - the model of a fragmented datagram of the guest
 * @h:		header of one of its fragments
 * @add:	add it if new
 *
 * Return: the model, NULL if unknown or no room
 */
NOCOV static struct fmodel_key *fmodel_get(const struct iphdr *h, bool add)
{
	struct fmodel_key *k;
	int i;

	for (i = 0; i < st.fmodel_n; i++) {
		k = &st.fmodel[i];
		if (k->saddr == h->saddr && k->daddr == h->daddr &&
		    k->id == h->id && k->proto == h->protocol)
			return k;
	}
	if (!add || st.fmodel_n == FMODEL_KEYS)
		return NULL;
	k = &st.fmodel[st.fmodel_n++];
	memset(k, 0, sizeof(*k));
	k->saddr = h->saddr;
	k->daddr = h->daddr;
	k->id = h->id;
	k->proto = h->protocol;
	return k;
}

/**
 * fmodel_add() - note a fragment the guest sent
 * @ip:		the fragment, parsed, without options
 * @len:	its length
 */
NOCOV static void fmodel_add(const uint8_t *ip, size_t len)
{
	struct fmodel_key *k;
	size_t off, n, b;
	struct iphdr h;
	uint16_t fo;

	memcpy(&h, ip, sizeof(h));
	fo = ntohs(h.frag_off);
	off = (size_t)(fo & IP_OFFMASK) * 8;
	n = len - sizeof(h);
	if (!n || off + n > DGRAM_MAX)
		return;
	k = fmodel_get(&h, true);
	if (!k)
		return;
	for (b = off / 8; b <= (off + n - 1) / 8; b++)
		k->map[b / 8] |= (uint8_t)(1U << (b % 8));
	if (fo & IP_MF)
		return;
	if (!k->totals) {
		k->total = off + n;
		k->totals = 1;
	} else if (k->total != off + n) {
		k->totals = 2;
	}
}

/**
 * fmodel_check() - merd acted on a datagram: was it all there?
 * @ip:		the fragment that completed it
 */
NOCOV static void fmodel_check(const uint8_t *ip)
{
	const struct fmodel_key *k;
	struct iphdr h;
	size_t b;

	memcpy(&h, ip, sizeof(h));
	k = fmodel_get(&h, false);
	if (!k || k->totals != 1)
		return;
	for (b = 0; b <= (k->total - 1) / 8; b++)
		if (!(k->map[b / 8] & (1U << (b % 8))))
			FAIL("merd acted on a reassembled %zu-byte datagram "
			     "(id %u) whose bytes %zu to %zu the guest never "
			     "sent", k->total, ntohs(h.id), b * 8,
			     MIN(b * 8 + 7, k->total - 1));
}

/**
 * struct snap - what shows merd did something with a packet
 * @aging:	heads and tails of the aging lists
 * @count:	flows
 * @used:	bytes queued for the guest
 * @dropped:	frames dropped
 * @nout:	packets in the send batch
 * @ip_id:	identification of merd's own packets
 */
struct snap {
	struct ct_list aging[CT_STATES];
	uint32_t count;
	size_t used;
	unsigned long dropped;
	int nout;
	uint16_t ip_id;
};

/**
 * snap_take() - take a snapshot
 * @c:		context
 * @s:		snapshot
 */
NOCOV static void snap_take(const struct ctx *c, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->aging, c->ct.aging, sizeof(s->aging));
	s->count = c->ct.count;
	s->used = c->tx.used;
	s->dropped = c->tx.dropped;
	s->nout = c->raw.nout;
	s->ip_id = c->ip_id;
}

/**
 * check_out() - the packet fwd_from_guest() just put in the send batch
 * @c:		context
 * @ip:		the guest's packet, parsed, not a fragment
 * @l4_ok:	its transport checksum was right
 */
NOCOV static void check_out(const struct ctx *c, const struct ip4_view *ip,
		      bool l4_ok)
{
	const struct raw_out *o = &c->raw.out[c->raw.nout - 1];
	size_t len = o->iov[0].iov_len + o->iov[1].iov_len, hl;
	uint16_t sport = 0, dport = 0, a, b;
	const struct flow *f;
	bool mapped;
	struct iphdr h;
	uint32_t idx;

	if (len != ip->hlen + ip->l4.len || o->iov[0].iov_len < ip->hlen + 8)
		FAIL("%zu bytes to send (%zu of headers) for a %zu-byte "
		     "packet", len, o->iov[0].iov_len, ip->hlen + ip->l4.len);
	memcpy(st.out, o->iov[0].iov_base, o->iov[0].iov_len);
	memcpy(st.out + o->iov[0].iov_len, o->iov[1].iov_base,
	       o->iov[1].iov_len);
	memcpy(&h, st.out, sizeof(h));
	hl = ip4_hlen(&h);

	memcpy(&a, ip->l4.p, 2);
	memcpy(&b, ip->l4.p + 2, 2);
	if (ip->h.protocol == IPPROTO_ICMP)
		memcpy(&a, ip->l4.p + 4, 2);
	else
		dport = ntohs(b);
	sport = ntohs(a);
	idx = ct_lookup_guest(&c->ct, ip->h.protocol, ip->h.saddr, sport,
			      ip->h.daddr, dport);
	if (idx == FLOW_NONE)
		FAIL("packet queued to send without a flow");
	f = &c->ct.flows[idx];
	mapped = !c->no_map_gw && ip->h.daddr == c->guest.gw.s_addr;

	if (csum_fold(csum_partial(st.out, hl, 0)) != 0xffff)
		FAIL("bad IPv4 header checksum on a packet sent");
	if (h.saddr != f->haddr || h.daddr != f->raddr ||
	    o->dst.sin_addr.s_addr != f->raddr ||
	    h.protocol != ip->h.protocol ||
	    h.ttl != (mapped ? ip->h.ttl : ip->h.ttl - 1))
		FAIL("sent from %08x to %08x (to %08x), TTL %u: flow has "
		     "%08x to %08x, guest TTL %u", ntohl(h.saddr),
		     ntohl(h.daddr), ntohl(o->dst.sin_addr.s_addr), h.ttl,
		     ntohl(f->haddr), ntohl(f->raddr), ip->h.ttl);
	memcpy(&a, st.out + hl + (h.protocol == IPPROTO_ICMP ? 4 : 0), 2);
	memcpy(&b, st.out + hl + 2, 2);
	if (ntohs(a) != f->hport ||
	    (h.protocol != IPPROTO_ICMP && ntohs(b) != f->dport))
		FAIL("sent from port %u to %u, flow has %u to %u", ntohs(a),
		     ntohs(b), f->hport, f->dport);
	if (l4_ok && !l4_sum_ok(h.saddr, h.daddr, h.protocol, st.out + hl,
				len - hl))
		FAIL("NAT broke the %s checksum of a guest packet",
		     h.protocol == IPPROTO_TCP ? "TCP" :
		     h.protocol == IPPROTO_UDP ? "UDP" : "ICMP");
}

/**
 * guest_chunk() - a packet from the guest
 * @c:		context
 * @t:		chunk kind and flags
 * @p:		packet, from its IPv4 header
 * @len:	its length
 */
static void guest_chunk(struct ctx *c, uint8_t t, const uint8_t *p,
			size_t len)
{
	size_t eth = CH_KIND(t) == CH_TAP ? ETH_HLEN : 0;
	const struct flow *f = NULL;
	struct snap before, after;
	struct ip4_view ip;
	bool parsed, l4_ok = false;
	uint8_t *buf;

	if (eth + len < TAP_FRAME_MIN)
		return;
	if (st.arena_len + eth + len > ARENA_SIZE)
		flush(c);
	buf = st.arena + st.arena_len;
	UNPOISON(buf, eth + len);
	st.arena_len += eth + len;
	if (eth)
		eth_header(buf, c->guest.our_mac, guest_mac, ETH_P_IP);
	memcpy(buf + eth, p, len);

	if (t & CH_AIM)
		f = pick_flow(c, CH_FLOW(t));
	if (f)
		aim_guest(buf + eth, len, f);
	if (t & CH_FIX) {
		fix_ip_sum(buf + eth, len);
		fix_l4_sum(buf + eth, len);
	}

	parsed = !ip4_parse((struct pkt){ buf + eth, len }, &ip);
	if (!parsed && !eth)
		return;		/* fwd_from_guest() takes them parsed */
	if (parsed && eth && fuzz_is_dhcp(c, &ip))
		return;		/* fuzz_tap's business */
	if (parsed && !ip4_is_fragment(&ip) &&
	    (ip.h.protocol == IPPROTO_TCP || ip.h.protocol == IPPROTO_UDP ||
	     ip.h.protocol == IPPROTO_ICMP))
		l4_ok = l4_sum_ok(ip.h.saddr, ip.h.daddr, ip.h.protocol,
				  ip.l4.p, ip.l4.len);
	if (parsed && ip4_is_fragment(&ip) && ip.hlen == IP4_HLEN_MIN)
		fmodel_add(ip.hdr.p, ip.hlen + ip.l4.len);

	chk_start(SRC_GUEST);
	snap_take(c, &before);
	if (eth) {
		c->tap_frames++;
		tap_frame(c, buf, eth + len);
	} else {
		fwd_from_guest(c, &ip);
	}
	snap_take(c, &after);

	if (parsed && !ip4_is_fragment(&ip) && after.nout == before.nout + 1)
		check_out(c, &ip, l4_ok);
	if (parsed && ip4_is_fragment(&ip) && memcmp(&before, &after,
						     sizeof(before)))
		fmodel_check(ip.hdr.p);
	take_queued(c, before.dropped);

	if (c->raw.nout >= RAW_BATCH)
		FAIL("%d packets in the batch", c->raw.nout);
}

/* Host packets */

/**
 * aim_host() - make a host packet an answer to a flow, or an ICMP error
 *		about it
 * @ip:		packet, header length checked
 * @len:	its length
 * @f:		the flow
 */
static void aim_host(uint8_t *ip, size_t len, const struct flow *f)
{
	size_t hl = (size_t)(ip[0] & 0xf) * 4, qhl;
	uint8_t *l4 = ip + hl, *q, *ql4;

	if (ip[9] == IPPROTO_ICMP && len >= hl + 8 &&
	    (l4[0] == ICMP_DEST_UNREACH || l4[0] == ICMP_TIME_EXCEEDED ||
	     l4[0] == ICMP_PARAMETERPROB)) {
		memcpy(ip + 16, &f->haddr, 4);
		if (len < hl + 8 + IP4_HLEN_MIN + 8)
			return;
		q = l4 + 8;
		if (q[0] >> 4 != 4 || (q[0] & 0xf) < 5)
			q[0] = 0x45;
		qhl = (size_t)(q[0] & 0xf) * 4;
		memcpy(q + 12, &f->haddr, 4);
		memcpy(q + 16, &f->raddr, 4);
		q[9] = f->proto;
		if (len < hl + 8 + qhl + 8)
			return;
		ql4 = q + qhl;
		if (f->proto == IPPROTO_ICMP) {
			ql4[0] = ICMP_ECHO;
			put16(ql4 + 4, f->hport);
		} else {
			put16(ql4, f->hport);
			put16(ql4 + 2, f->dport);
		}
		return;
	}

	memcpy(ip + 12, &f->raddr, 4);
	memcpy(ip + 16, &f->haddr, 4);
	ip[9] = f->proto;
	if (len < hl + 8)
		return;
	aim_l4(l4, f->proto, ICMP_ECHOREPLY, f->hport, f->dport, f->hport);
}

/**
 * host_flow() - the flow a host packet belongs to, found independently
 * @c:		context
 * @ip:		packet, as the kernel hands it over
 * @len:	its length
 * @err:	set if it is an ICMP error about the flow
 *
 * Return: flow number, FLOW_NONE if none
 */
NOCOV static uint32_t host_flow(const struct ctx *c, const uint8_t *ip,
				size_t len, bool *err)
{
	size_t hl = (size_t)(ip[0] & 0xf) * 4, qhl;
	const uint8_t *l4 = ip + hl, *q;
	uint16_t a, b = 0;
	struct iphdr h, qh;

	memcpy(&h, ip, sizeof(h));
	*err = false;
	if (len < hl + 8)
		return FLOW_NONE;

	if (h.protocol == IPPROTO_ICMP && l4[0] != ICMP_ECHOREPLY) {
		*err = true;
		if ((l4[0] != ICMP_DEST_UNREACH &&
		     l4[0] != ICMP_TIME_EXCEEDED &&
		     l4[0] != ICMP_PARAMETERPROB) ||
		    len < hl + 8 + sizeof(qh) + 8)
			return FLOW_NONE;
		q = l4 + 8;
		memcpy(&qh, q, sizeof(qh));
		qhl = ip4_hlen(&qh);
		if (qh.version != 4 || qhl < sizeof(qh) ||
		    len < hl + 8 + qhl + 8)
			return FLOW_NONE;
		if (qh.protocol == IPPROTO_ICMP) {
			memcpy(&a, q + qhl + 4, 2);
		} else {
			memcpy(&a, q + qhl, 2);
			memcpy(&b, q + qhl + 2, 2);
		}
		return ct_lookup_host(&c->ct, qh.protocol, ntohs(a), qh.daddr,
				      ntohs(b));
	}

	if (h.protocol == IPPROTO_TCP && len < hl + 20)
		return FLOW_NONE;
	if (h.protocol == IPPROTO_ICMP) {
		memcpy(&a, l4 + 4, 2);
	} else {
		memcpy(&a, l4 + 2, 2);
		memcpy(&b, l4, 2);
	}
	return ct_lookup_host(&c->ct, h.protocol, ntohs(a), h.saddr, ntohs(b));
}

/**
 * host_chunk() - a packet from a raw socket
 * @c:		context
 * @t:		chunk kind and flags
 * @p:		packet, from its IPv4 header
 * @len:	its length
 */
static void host_chunk(struct ctx *c, uint8_t t, const uint8_t *p, size_t len)
{
	const struct flow *f = NULL;
	unsigned long dropped;
	size_t hl, thl = 8;
	struct iphdr h;
	uint32_t idx;
	uint8_t *buf;
	bool err;

	/* What ip_rcv() lets through to a raw socket */
	if (len < IP4_HLEN_MIN || (p[0] & 0xf) < 5 ||
	    (size_t)(p[0] & 0xf) * 4 > len)
		return;
	buf = malloc(len);	/* exactly: reads past it are caught */
	if (!buf)
		abort();
	memcpy(buf, p, len);
	buf[0] = (uint8_t)(0x40 | (buf[0] & 0xf));
	put16(buf + 2, (uint16_t)len);
	if (t & CH_AIM)
		f = pick_flow(c, CH_FLOW(t));
	if (f)
		aim_host(buf, len, f);
	if (t & CH_FIX)
		fix_l4_sum(buf, len);
	fix_ip_sum(buf, len);

	memcpy(&h, buf, sizeof(h));
	hl = ip4_hlen(&h);
	memcpy(st.pkt, buf, len);
	idx = host_flow(c, buf, len, &err);

	chk_start(idx == FLOW_NONE ? SRC_NOFLOW : SRC_HOST);
	chk.whole = !(ntohs(h.frag_off) & (IP_MF | IP_OFFMASK));
	chk.icmp_ok = h.protocol == IPPROTO_ICMP && chk.whole &&
		      l4_sum_ok(0, 0, IPPROTO_ICMP, buf + hl, len - hl);
	chk.err = err;
	if (idx != FLOW_NONE)
		chk.f = c->ct.flows[idx];
	/* The host itself (the mapped gateway) is no hop: TTL as it is */
	chk.ttl = chk.f.raddr == chk.f.daddr ? (uint8_t)(h.ttl - 1) : h.ttl;
	if (idx != FLOW_NONE && !err && h.ttl <= 1 &&
	    chk.f.raddr == chk.f.daddr)
		chk.src = SRC_NOFLOW;	/* no TTL left */
	if (h.protocol == IPPROTO_TCP && len >= hl + 20) {
		thl = (size_t)(buf[hl + 12] >> 4) * 4;
		memcpy(&chk.seq, buf + hl + 4, 4);
		chk.seq = ntohl(chk.seq);
	}

	dropped = c->tx.dropped;
	fwd_from_host(c, buf, len);
	take_queued(c, dropped);
	free(buf);

	/* Everything after the transport header, whole and in order */
	if (chk.src == SRC_HOST && !chk.err && chk.whole && chk.datagrams &&
	    c->tx.dropped == dropped && hl + thl <= len &&
	    (chk.acc_len != len - hl - thl ||
	     memcmp(chk.acc, st.pkt + hl + thl, chk.acc_len)))
		FAIL("%zu payload bytes reached the guest in %u datagrams, "
		     "%zu sent, %s", chk.acc_len, chk.datagrams,
		     len - hl - thl,
		     chk.acc_len == len - hl - thl ? "changed" : "");
}

/* The input */

/**
 * timer_check() - after fwd_timer(): nothing past its time
 * @c:		context
 */
NOCOV static void timer_check(const struct ctx *c)
{
	uint32_t live[FUZZ_FLOWS], n, i;

	n = live_flows(c, live);
	for (i = 0; i < n; i++)
		if ((int32_t)(c->now - c->ct.flows[live[i]].expires) > 0)
			FAIL("flow %u expired at %u, still there at %u",
			     live[i], c->ct.flows[live[i]].expires, c->now);
	for (i = 0; i < FRAG_SLOTS; i++)
		if (c->frag.slot[i].used &&
		    (int32_t)(c->now - c->frag.slot[i].expires) >= 0)
			FAIL("reassembly %u expired, still there", i);
}

/**
 * tick() - the clock moves on, fwd_timer() runs
 * @c:		context
 * @secs:	seconds
 */
static void tick(struct ctx *c, uint32_t secs)
{
	unsigned long dropped = c->tx.dropped;

	c->now += secs;
	chk_start(SRC_NOFLOW);
	fwd_timer(c);
	take_queued(c, dropped);
	timer_check(c);
}

/**
 * LLVMFuzzerTestOneInput() - one run of chunks from both sides
 * @data:	control byte, then chunks
 * @size:	input length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx *c = &st.c;
	size_t off = 1;
	uint8_t ctl;

	if (size < 1)
		return 0;
	ctl = data[0];

	c->guest = st.confs[CTL_CONF(ctl)];
	c->no_map_gw = CTL_CONF(ctl) == 2;
	c->dns_host.s_addr = CTL_CONF(ctl) == 1 ? htonl(0x7f000035) : 0;
	c->host.mtu = (ctl & CTL_HOST_576) ? 576 : 1500;
	c->tx = st.tx[!!(ctl & CTL_SMALL_RING)];
	c->tx.head = c->tx.used = 0;
	c->tx.dropped = 0;
	c->guest_mac_known = false;
	c->tap_frames = 0;
	c->ip_id = 0;
	c->now = (ctl & CTL_WRAP) ? FUZZ_NOW_WRAP : FUZZ_NOW;
	ct_reset(c);
	if (ctl & CTL_WRAP)
		c->ports.cursor[PORT_TCP] = c->ports.cursor[PORT_UDP] =
			PORT_BLOCK - 4;
	fuzz_raw_drain(c);
	st.arena_len = 0;
	st.fmodel_n = 0;

	while (off + 3 <= size) {
		uint8_t t = data[off];
		size_t len = ((size_t)data[off + 1] << 8) | data[off + 2];

		off += 3;
		if (CH_KIND(t) == CH_TIME) {
			flush(c);
			tick(c, (uint32_t)len);
			ct_check(c);
			continue;
		}
		len = MIN(len, size - off);

		if (CH_KIND(t) == CH_HOST) {
			flush(c);
			host_chunk(c, t, data + off, len);
		} else {
			guest_chunk(c, t, data + off, len);
			if (ctl & CTL_FLUSH_EACH)
				flush(c);
		}
		off += len;
		if ((ctl & CTL_LOOPBACK) && !st.arena_len)
			loopback(c);
		if (ctl & CTL_TICK) {
			flush(c);
			tick(c, 1);
		}
		ct_check(c);
	}
	flush(c);
	if (ctl & CTL_LOOPBACK)
		loopback(c);
	st.full_check = true;
	ct_check(c);
	st.full_check = false;

	/* The guest went away: nothing held for the next input */
	fuzz_fwd_forget(c);
	for (off = 0; off < FRAG_SLOTS; off++)
		if (c->frag.slot[off].used)
			FAIL("fwd_forget() left a reassembly");
	fuzz_raw_drain(c);
	st.tx[!!(ctl & CTL_SMALL_RING)] = c->tx;
	return 0;
}
