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
 *			    raw sockets (raw_handler() with fwd_from_host(),
 *			    then raw_resume()), as the main loop does, and
 *			    hand the guest what the host's own stack
 *			    answered to packets to the mapped gateway
 *		  bit 5	    a second passes, and fwd_timer() runs,
 *			    after every chunk
 *		  bit 6	    the clock starts 100 s before it wraps around
 *		  bit 7	    send the batch after every guest packet, not
 *			    only when another kind of chunk comes (or
 *			    32 wait, or the input ends)
 *   chunks	byte 0: kind and flags
 *		  bits 0-1  0: a guest packet, framed (Ethernet header
 *			       to merd's MAC) and given to merd.c's
 *			       frame_handler(), as tap.c hands frames;
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
 *			    bits 4-7 (guest packets: the addresses and
 *			    ports, or echo id, of its side on the guest's
 *			    link; host packets: those of its side on the
 *			    host's, or for an ICMP error, quoting a packet
 *			    the flow sent); a TCP segment's sequence and
 *			    acknowledgement numbers are then taken as
 *			    offsets from what the flow saw of each side
 *			    (0 and 0: the next segment, in the window)
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
 * Ports: the harness holds all but the first few ports of each block of
 * merd's range (fuzz_common.h), so that flows to one peer soon take every
 * port merd has toward it: more blocks are claimed, up to three, finished
 * flows give way, new ones are refused, and idle blocks are given back.
 *
 * Every frame queued for the guest is checked: IPv4 from merd's MAC to the
 * guest's (or broadcast while unknown), ip4_parse() passes (header
 * checksum), no bytes past the IPv4 total length, at most the guest's MTU;
 * TCP and UDP checksums right (UDP 0 excepted), ICMP checksums right (echo
 * replies only if the host's one was), only ICMP types 0, 3, 11, 12. The
 * fragments of one packet must come in order and whole, and are put back
 * together for these checks. For a host packet, the harness looks the flow
 * up itself, by scanning the flows for the side whose key the packet has
 * (for an ICMP error, the packet it quotes): without one, nothing may
 * reach the guest, nor for a fragment (raw sockets return whole packets),
 * nor for a TCP or UDP packet whose checksum is neither right nor the
 * pseudo-header sum the kernel leaves for offloaded ones, nor for one
 * whose TTL runs out on the way; with one, what reaches the guest must be
 * addressed as the other side of the flow says (from its "our" address
 * and port to its endpoint's, echo id, TTL one less unless the flow is
 * mapped to the host's loopback) and the payload must arrive whole, in
 * order, TCP sequence numbers following, if nothing was dropped. A
 * translated ICMP error comes from the router that sent it (the gateway
 * for the host itself, the peer's address as the guest knows it for the
 * peer), TTL one less, and quotes the packet as the guest sent it:
 * addresses, ports or echo id, and an IPv4 header checksum still right if
 * it was. What guest packets draw must be resets and ICMP errors from the
 * gateway.
 *
 * A guest packet queued to be sent must be NATed right: from the other
 * side's "our" address and port to its endpoint, as the harness finds the
 * flow by scanning, TTL one less unless mapped, header checksum right,
 * transport checksum right if the guest's was. A new flow is refused (a
 * reset for a SYN, "administratively prohibited" for the rest) only if the
 * table is full of live flows, or if no block of ports is left to claim.
 * Fragments from the guest:
 * whenever merd acts on a reassembled datagram, every 8-byte block of it
 * must have come in some fragment of it.
 *
 * After every chunk, conntrack must be consistent: the aging lists well
 * linked, each flow in the list of its state, in expiry order, as many as
 * @count, the free list the rest; each side of each flow found by
 * ct_lookup() with its key; the index holding exactly two entries a flow;
 * each flow opened by the guest toward the host's network, all addresses
 * IPv4-mapped, routed as fwd.c routes (the gateway mapped to loopback and
 * the host's resolver, the rest from the host's address); each flow's host
 * port in a claimed block, held by merd for its protocol (port.c), the
 * references of each port flows use exactly those flows, each block's
 * count the flows in it (and, at the start and end of each input, the sum
 * of all its ports' references); the raw socket filters updated for the
 * claimed blocks. After
 * fwd_timer(), no flow is past its deadline (it lives at least its
 * timeout: now > expires), no reassembly at or past its time, no block
 * idle too long but the last one.
 *
 * Between inputs: fwd_forget() (nothing may be left of the guest's flows,
 * ports or fragments), the raw sockets drained, and, for inputs to behave
 * the same whatever ran before, the flow table set up anew (fixed hash
 * key), the first block of ports alone claimed, port counters, the IPv4
 * identification and the clock reset (fuzz_fwd_reset()).
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
#include <sys/epoll.h>
#include <sys/socket.h>

#include "conntrack.h"
#include "csum.h"
#include "dhcp.h"
#include "epoll.h"
#include "frag.h"
#include "fwd.h"
#include "icmp.h"
#include "inany.h"
#include "ip.h"
#include "ip4.h"
#include "log.h"
#include "merd.h"
#include "pkt.h"
#include "port.h"
#include "raw.h"
#include "tap.h"

#include "fuzz_common.h"
#include "fuzz_merd.h"

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
#define NPORTS		(FUZZ_PORTS_HI - FUZZ_PORTS_LO + 1)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)	fuzz_fail("fuzz_fwd: invariant broken: " __VA_ARGS__)

static const uint8_t guest_mac[ETH_ALEN] = { 0x52, 0x54, 0x00,
					     0x12, 0x34, 0x56 };

/**
 * enum chk_src - where the frames being checked come from
 * @SRC_GUEST:	answers to guest packets: resets and ICMP errors
 * @SRC_HOST:	a host packet whose flow the harness found
 * @SRC_NOFLOW:	a host packet without a flow (or to be dropped): nothing
 *		may come
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
 * @side:	(SRC_HOST) the side of it the packet came on
 * @ttl:	(SRC_HOST) expected TTL
 * @esrc:	(SRC_HOST, @err) expected source of the translated error
 * @qsum_ok:	(SRC_HOST, @err) the quoted IPv4 header was whole, checksum
 *		right
 * @acc:	payload received so far, transport header stripped
 * @acc_len:	its length
 * @seq:	(TCP) sequence number the next segment must have
 * @syn:	(SRC_GUEST) the guest's packet is a SYN without ACK
 * @refused:	(SRC_GUEST) a new flow was refused: a reset for a SYN, or
 *		"administratively prohibited"
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
	unsigned int side;
	uint8_t ttl;
	uint32_t esrc;
	bool qsum_ok;
	bool syn;
	bool refused;
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
 */
static struct fuzz_state {
	struct ctx c;
	struct fuzz_guest confs[NCONF];
	struct tap_tx tx[2];
	uint8_t *arena;
	size_t arena_len;
	struct fmodel_key *fmodel;
	int fmodel_n;
	uint8_t *pkt;
	uint8_t *out;
} st;

/**
 * fuzz_conf() - guest configuration number @n
 * @g:		configuration to fill
 * @n:		0: /24, MTU 1500; 1: /16, MTU 65520; 2: /24, MTU 576;
 *		3: /32, MTU 68
 */
static void fuzz_conf(struct fuzz_guest *g, int n)
{
	static const unsigned int mtu[NCONF] = { 1500, MTU_MAX, 576, MTU_MIN };
	static const int prefix[NCONF] = { 24, 16, 24, 32 };

	fuzz_guest_init(g);
	g->g4.prefix_len = prefix[n];
	g->link.mtu = mtu[n];
	inet_pton(AF_INET, "192.0.2.53", &g->g4.dns[g->g4.dns_n++]);
}

/**
 * raw_watch() - the raw sockets in the epoll set, read from (as after
 *		 merd.c's loop_init())
 * @c:		context
 * @op:		EPOLL_CTL_ADD or EPOLL_CTL_MOD
 */
static void raw_watch(struct ctx *c, int op)
{
	int i;

	for (i = 0; i < RAW_PROTOS; i++)
		if (epoll_ref_ctl(c->epollfd, op, c->fwd.raw.fd[i], EPOLLIN,
				  EPOLL_TYPE_RAW, i))
			abort();
	c->fwd.raw.paused = false;
}

/**
 * LLVMFuzzerInitialize() - check the namespace, quiet logging
 * @argc:	unused
 * @argv:	unused
 *
 * Forwarding is set up with the first input (setup()): libFuzzer calls
 * this in a -merge=1 run's controlling process too, which runs no input
 * and must hold no port the process running them needs.
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init("fuzz_fwd", true);
	return 0;
}

/**
 * setup() - set forwarding up as merd does, and the rest, once
 */
static void setup(void)
{
	struct ctx *c = &st.c;
	int i;

	for (i = 0; i < NCONF; i++)
		fuzz_conf(&st.confs[i], i);
	fuzz_fwd_setup(c, &st.confs[0]);

	/* tap_send_ip() needs a connection: one nobody reads */
	c->tap.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	c->epollfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->tap.fd < 0 || c->epollfd < 0)
		abort();
	raw_watch(c, EPOLL_CTL_ADD);
	st.tx[0] = c->tap.tx;
	if (tap_tx_init(&st.tx[1], SMALL_RING))
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
}

/* Bytes */

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
 * get16() - load a 16-bit value in network order
 * @p:		where
 *
 * Return: value, host order
 */
NOCOV static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return ntohs(v);
}

/**
 * get32() - load a 32-bit value in network order
 * @p:		where
 *
 * Return: value, host order
 */
NOCOV static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/**
 * put32() - store a 32-bit value in network order
 * @p:		where
 * @v:		value, host order
 */
static void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

/**
 * v4() - the IPv4 address of a flow's address, or one that can't be
 *	  the address of a packet if it isn't IPv4-mapped
 * @a:		address
 *
 * Return: address, network order
 */
NOCOV static uint32_t v4(const union inany_addr *a)
{
	return inany_is_v4(a) ? inany_v4(a) : htonl(0xffffffffU);
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
 * l4_sum_trusted() - tell whether a host packet's TCP or UDP checksum
 *		      shows it wasn't corrupted: right (over the IP payload,
 *		      or over the UDP length), none for UDP, or the
 *		      pseudo-header sum the kernel leaves for an offloaded
 *		      one
 * @saddr:	source, network order
 * @daddr:	destination
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @l4:		transport header and payload
 * @len:	their length
 *
 * Return: true if so
 */
NOCOV static bool l4_sum_trusted(uint32_t saddr, uint32_t daddr,
				 uint8_t proto, const uint8_t *l4, size_t len)
{
	size_t coff = proto == IPPROTO_TCP ? 16 : 6, ulen;
	uint16_t field, pseudo;

	if (len < coff + 2)
		return false;
	memcpy(&field, l4 + coff, 2);
	pseudo = csum_fold(csum_pseudo4(saddr, daddr, proto, (uint16_t)len));
	if (field == pseudo || l4_sum_ok(saddr, daddr, proto, l4, len))
		return true;
	if (proto != IPPROTO_UDP)
		return false;
	ulen = get16(l4 + 4);
	return ulen >= 8 && ulen <= len &&
	       l4_sum_ok(saddr, daddr, proto, l4, ulen);
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
	const struct conntrack *ct = &c->fwd.ct;
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
		if (idx >= ct->used || seen[idx])
			FAIL("free list: flow %u out of range or in use", idx);
		seen[idx] = 1;
		steps++;
	}
	if (steps != ct->used - ct->count)
		FAIL("%u free flows, %u of %u used", steps, ct->count,
		     ct->used);
	return n;
}

/**
 * flow_find() - the flow and side a key belongs to, found by scanning the
 *		 live flows, not through the index
 * @c:		context
 * @proto:	protocol
 * @pif:	interface
 * @k:		key
 * @side:	set to the side, if found
 *
 * Return: flow number, FLOW_NONE if no flow has that key
 */
NOCOV static uint32_t flow_find(const struct ctx *c, uint8_t proto,
				uint8_t pif, const struct flowside *k,
				unsigned int *side)
{
	uint32_t live[FUZZ_FLOWS], n, i;
	unsigned int s;

	n = live_flows(c, live);
	for (i = 0; i < n; i++) {
		const struct flow *f = &c->fwd.ct.flows[live[i]];

		for (s = 0; s < SIDES; s++) {
			const struct flowside *fs = &f->side[s];

			if (f->proto == proto && f->pif[s] == pif &&
			    fs->eport == k->eport && fs->oport == k->oport &&
			    inany_equals(&fs->eaddr, &k->eaddr) &&
			    inany_equals(&fs->oaddr, &k->oaddr)) {
				*side = s;
				return live[i];
			}
		}
	}
	return FLOW_NONE;
}

/**
 * port_cls() - the class a flow of a protocol holds its port as
 * @proto:	protocol
 *
 * Return: enum port_class
 */
NOCOV static int port_cls(uint8_t proto)
{
	return proto == IPPROTO_TCP ? PORT_TCP :
	       proto == IPPROTO_UDP ? PORT_UDP : PORT_ICMP;
}

/**
 * slot_of() - the slot of a port, if it is in a claimed block
 * @p:		ports
 * @port:	port
 *
 * Return: slot, NULL if none
 */
NOCOV static const struct port_slot *slot_of(const struct ports *p,
					     uint16_t port)
{
	uint32_t off = (uint32_t)port - p->lo;

	if (port < p->lo || port > p->hi || !p->blocks[off / PORT_BLOCK].slot)
		return NULL;
	return &p->blocks[off / PORT_BLOCK].slot[off % PORT_BLOCK];
}

/**
 * check_route() - a flow is what fwd_flow_new() makes: the guest toward
 *		   the host's network, routed as fwd_route() routes
 * @c:		context
 * @idx:	flow number
 */
NOCOV static void check_route(const struct ctx *c, uint32_t idx)
{
	const struct flow *f = &c->fwd.ct.flows[idx];
	const struct flowside *t = &f->side[INISIDE], *h = &f->side[TGTSIDE];
	uint32_t haddr = c->host.out4.s_addr, raddr = v4(&t->oaddr);
	unsigned int s;

	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP &&
	    f->proto != IPPROTO_ICMP)
		FAIL("flow %u of protocol %u", idx, f->proto);
	if (f->pif[INISIDE] != PIF_TAP || f->pif[TGTSIDE] != PIF_HOST ||
	    f->af != AF_INET)
		FAIL("flow %u from interface %u to %u, family %u", idx,
		     f->pif[INISIDE], f->pif[TGTSIDE], f->af);
	for (s = 0; s < SIDES; s++)
		if (!inany_is_v4(&f->side[s].eaddr) ||
		    !inany_is_v4(&f->side[s].oaddr))
			FAIL("flow %u: side %u has addresses that aren't "
			     "IPv4-mapped", idx, s);
	if (!c->opts.no_map_gw && raddr == c->guest4.gw.s_addr) {
		haddr = htonl(INADDR_LOOPBACK);
		raddr = (t->oport == 53 && c->host.dns4_lo.s_addr) ?
			c->host.dns4_lo.s_addr : htonl(INADDR_LOOPBACK);
	}
	if (v4(&h->oaddr) != haddr || v4(&h->eaddr) != raddr ||
	    h->eport != t->oport)
		FAIL("flow %u to %08x port %u leaves from %08x to %08x port "
		     "%u", idx, ntohl(v4(&t->oaddr)), t->oport,
		     ntohl(v4(&h->oaddr)), ntohl(v4(&h->eaddr)), h->eport);
}

/**
 * ct_check() - conntrack, its index and the ports consistent
 * @c:		context
 * @full:	compare the references of every port of the claimed blocks
 *		with the flows (else only those of the ports flows use)
 */
NOCOV static void ct_check(const struct ctx *c, bool full)
{
	static uint32_t refs[PORT_CLASSES][NPORTS];
	const struct conntrack *ct = &c->fwd.ct;
	const struct ports *p = &c->fwd.ports;
	uint32_t live[FUZZ_FLOWS], n, i, k, entries = 0;
	uint32_t used[FUZZ_PORT_BLOCKS] = { 0 };
	unsigned int s;
	int cls;

	n = live_flows(c, live);
	for (i = 0; i < n; i++) {
		const struct flow *f = &ct->flows[live[i]];
		const struct flowside *h = &f->side[TGTSIDE];
		const struct port_slot *sl;

		check_route(c, live[i]);
		for (s = 0; s < SIDES; s++) {
			unsigned int got = SIDES;

			if (ct_lookup(ct, f->proto, f->pif[s], &f->side[s],
				      &got) != live[i] || got != s)
				FAIL("side %u of flow %u not found by its key",
				     s, live[i]);
		}
		cls = port_cls(f->proto);
		sl = slot_of(p, h->oport);
		if (!sl || (cls == PORT_TCP ? sl->fd_tcp : sl->fd_udp) < 0)
			FAIL("flow %u: host port %u not held for %s", live[i],
			     h->oport, fwd_proto_name(f->proto));
		refs[cls][h->oport - p->lo] = 0;
		used[(h->oport - p->lo) / PORT_BLOCK]++;
		if ((int32_t)(f->expires - c->now) >
		    (int32_t)ct->timeout[f->state])
			FAIL("flow %u expires in %d s, timeout %u", live[i],
			     (int32_t)(f->expires - c->now),
			     ct->timeout[f->state]);
	}
	for (i = 0; i < n; i++) {
		const struct flow *f = &ct->flows[live[i]];

		refs[port_cls(f->proto)][f->side[TGTSIDE].oport - p->lo]++;
	}
	for (i = 0; i < n; i++) {
		const struct flow *f = &ct->flows[live[i]];
		uint16_t port = f->side[TGTSIDE].oport;

		cls = port_cls(f->proto);
		if (slot_of(p, port)->refs[cls] != refs[cls][port - p->lo])
			FAIL("port %u: %u references as %s, %u flows", port,
			     slot_of(p, port)->refs[cls],
			     fwd_proto_name(f->proto), refs[cls][port - p->lo]);
	}
	for (i = 0; i <= ct->mask; i++)
		entries += !!ct->tab[i];
	if (entries != SIDES * ct->count)
		FAIL("index holds %u entries, count %u", entries, ct->count);

	/* Ports: claimed blocks, what they count */
	if (p->lo != FUZZ_PORTS_LO || p->hi != FUZZ_PORTS_HI ||
	    p->nblocks != FUZZ_PORT_BLOCKS || !p->nclaimed ||
	    p->nclaimed > p->max_claimed)
		FAIL("ports %u-%u, %u blocks claimed of %u", p->lo, p->hi,
		     p->nclaimed, p->max_claimed);
	if (p->changed)
		FAIL("claimed blocks changed, raw socket filters not updated");
	for (i = 0; i < p->nclaimed; i++)
		if (p->claimed[i] >= p->nblocks ||
		    !p->blocks[p->claimed[i]].slot ||
		    p->blocks[p->claimed[i]].pos != i)
			FAIL("claimed block %u: block %u, not claimed or at "
			     "%u", i, p->claimed[i],
			     p->blocks[p->claimed[i]].pos);
	for (i = 0; i < p->nblocks; i++) {
		const struct port_block *b = &p->blocks[i];
		uint32_t nslot = 0, sum = 0;

		for (k = 0; k < p->nclaimed; k++)
			nslot += p->claimed[k] == i;
		if (nslot != !!b->slot)
			FAIL("block %u %s, listed %u times", i,
			     b->slot ? "claimed" : "not claimed", nslot);
		if (b->used != used[i])
			FAIL("block %u used %u times, by %u flows", i, b->used,
			     used[i]);
		if (!full || !b->slot)
			continue;
		for (k = 0; k < PORT_BLOCK * PORT_CLASSES; k++)
			sum += b->slot[k / PORT_CLASSES].refs[k % PORT_CLASSES];
		if (sum != b->used)
			FAIL("block %u: %u references to its ports, used %u",
			     i, sum, b->used);
	}
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
	const struct flowside *t = &chk.f.side[ct_other(chk.side)];
	uint8_t proto = chk.f.proto;
	size_t hl = ip4_hlen(h);
	const uint8_t *l4 = ip + hl;

	if (h->daddr != v4(&t->eaddr))
		FAIL("flow's packet for the guest sent to %08x, not %08x",
		     ntohl(h->daddr), ntohl(v4(&t->eaddr)));

	if (chk.err) {
		struct iphdr q;
		size_t qhl;

		if (h->protocol != IPPROTO_ICMP ||
		    (l4[0] != ICMP_DEST_UNREACH &&
		     l4[0] != ICMP_TIME_EXCEEDED &&
		     l4[0] != ICMP_PARAMETERPROB))
			FAIL("ICMP error about a flow became protocol %u "
			     "type %u", h->protocol, l4[0]);
		if (h->saddr != chk.esrc || h->ttl != chk.ttl)
			FAIL("ICMP error about a flow from %08x TTL %u, not "
			     "%08x TTL %u", ntohl(h->saddr), h->ttl,
			     ntohl(chk.esrc), chk.ttl);
		/* RFC 792: the quoted header, and 64 bits of the data */
		if (len < hl + 8 + sizeof(q))
			FAIL("%zu-byte ICMP error (%zu of header) for the "
			     "guest quotes %zu bytes of its packet, not even "
			     "the IPv4 header", len, hl, len - hl - 8);
		memcpy(&q, l4 + 8, sizeof(q));
		qhl = ip4_hlen(&q);
		if (q.saddr != v4(&t->eaddr) || q.daddr != v4(&t->oaddr) ||
		    q.protocol != proto)
			FAIL("ICMP error quotes a packet from %08x to %08x, "
			     "protocol %u: the guest sent %08x to %08x, %u",
			     ntohl(q.saddr), ntohl(q.daddr), q.protocol,
			     ntohl(v4(&t->eaddr)), ntohl(v4(&t->oaddr)),
			     proto);
		if (chk.qsum_ok && len >= hl + 8 + qhl &&
		    csum_fold(csum_partial(l4 + 8, qhl, 0)) != 0xffff)
			FAIL("ICMP error quotes an IPv4 header whose checksum "
			     "translation broke");
		if (len < hl + 8 + qhl + 8)
			return;
		if (proto == IPPROTO_ICMP ?
		    get16(l4 + 8 + qhl + 4) != t->eport :
		    get16(l4 + 8 + qhl) != t->eport ||
		    get16(l4 + 8 + qhl + 2) != t->oport)
			FAIL("ICMP error quotes ports %u, %u: the guest's "
			     "were %u, %u", get16(l4 + 8 + qhl),
			     get16(l4 + 8 + qhl + 2), t->eport, t->oport);
		return;
	}

	if (h->saddr != v4(&t->oaddr) || h->protocol != proto)
		FAIL("flow's packet from %08x protocol %u, not %08x, %u",
		     ntohl(h->saddr), h->protocol, ntohl(v4(&t->oaddr)),
		     proto);
	if (h->ttl != chk.ttl)
		FAIL("TTL %u for the guest, %u expected", h->ttl, chk.ttl);
	if (proto == IPPROTO_ICMP) {
		if (l4[0] != ICMP_ECHOREPLY || get16(l4 + 4) != t->eport)
			FAIL("echo reply of type %u id %u, the guest's is %u",
			     l4[0], get16(l4 + 4), t->eport);
		return;
	}
	if (get16(l4) != t->oport || get16(l4 + 2) != t->eport)
		FAIL("ports %u to %u for the guest, flow has %u to %u",
		     get16(l4), get16(l4 + 2), t->oport, t->eport);
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
	case IPPROTO_UDP:
		if (l4len < 8)
			FAIL("UDP datagram of %zu bytes", l4len);
		if (get16(l4 + 4) == l4len &&
		    !l4_sum_ok(h.saddr, h.daddr, IPPROTO_UDP, l4, l4len))
			FAIL("bad UDP checksum on a %zu-byte datagram", l4len);
		break;
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
		      h.saddr == st.c.guest4.gw.s_addr))
			FAIL("a guest packet drew protocol %u from %08x",
			     h.protocol, ntohl(h.saddr));
		if ((h.protocol == IPPROTO_TCP && chk.syn) ||
		    (h.protocol == IPPROTO_ICMP && l4[0] == ICMP_DEST_UNREACH &&
		     l4[1] == ICMP_CODE_ADMIN_PROHIBITED))
			chk.refused = true;
		break;
	case SRC_HOST:
		check_nat_in(ip, len, &h);
		if (!chk.err)
			check_payload(ip, len, &h);
		break;
	case SRC_NOFLOW:
		FAIL("a host packet without a flow, or to be dropped, reached "
		     "the guest");
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
	struct ip_view ip;
	struct ethhdr eh;

	if (!fuzz_eth_split(f, &eh, &l3))
		FAIL("frame of %zu bytes", len);
	if (!fuzz_eth_to_guest(c, &eh))
		FAIL("bad Ethernet header, EtherType 0x%04x",
		     ntohs(eh.h_proto));
	if (ip4_parse(l3, &ip))
		FAIL("sent the guest a bad IPv4 packet (%zu bytes)", l3.len);
	if (ip.hdr.len + ip.l4.len != l3.len)
		FAIL("frame of %zu bytes for a %zu-byte IPv4 packet", l3.len,
		     ip.hdr.len + ip.l4.len);
	if (l3.len > c->link.mtu)
		FAIL("%zu-byte packet (protocol %u, ICMP type %d) for a guest "
		     "with MTU %u", l3.len, ip.proto,
		     ip.proto == IPPROTO_ICMP && ip.l4.len ? ip.l4.p[0] :
		     -1, c->link.mtu);

	if (ip_is_fragment(&ip))
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
	chk.qsum_ok = false;
	chk.syn = false;
	chk.refused = false;
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

	if (c->tap.tx.head)
		FAIL("queue to the guest moved without a write");
	chk.lossy = c->tap.tx.dropped != dropped;
	if (tap_parse(c->tap.tx.buf, c->tap.tx.used, check_frame, c, &used,
		      &bad))
		FAIL("queued a frame length of %u", bad);
	if (used != c->tap.tx.used)
		FAIL("%zu bytes queued, %zu in whole frames", c->tap.tx.used,
		     used);
	if (chk.grp_open && !chk.lossy)
		FAIL("fragments of a datagram cut short");
	c->tap.tx.used = 0;
}

/**
 * flush() - the end of a batch, as tap.c calls merd's (fwd_flush()) before
 *	     moving its buffer, and check what failures drew
 * @c:		context
 */
static void flush(struct ctx *c)
{
	unsigned long dropped = c->tap.tx.dropped;

	chk_start(SRC_GUEST);
	merd_tap_ops.batch(c);
	take_queued(c, dropped);
	POISON(st.arena, st.arena_len);	/* the rest still is */
	st.arena_len = 0;
	if (c->fwd.raw.nout)
		FAIL("%d packets left in the batch after fwd_flush()",
		     c->fwd.raw.nout);
}

/**
 * loopback() - hand the guest what the raw sockets received, as the main
 *		loop does
 * @c:		context
 */
static void loopback(struct ctx *c)
{
	unsigned long dropped = c->tap.tx.dropped;
	int i;

	chk_start(SRC_ANY);
	chk.icmp_ok = false;
	for (i = 0; i < RAW_PROTOS; i++)
		raw_handler(c, (enum raw_proto)i, fwd_from_host);
	take_queued(c, dropped);
	raw_resume(c);
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
	return n ? &c->fwd.ct.flows[live[sel % n]] : NULL;
}

/**
 * aim_l4() - write in a transport header what makes a packet one of a
 *	      flow's side: ports, or echo type and id; for TCP, sequence
 *	      and acknowledgement numbers as offsets from what each side sent
 * @l4:		transport header, at least 8 bytes
 * @len:	bytes from it to the end of the packet
 * @f:		the flow
 * @side:	the side the packet comes on
 * @echo:	ICMP type, for an echo flow
 */
static void aim_l4(uint8_t *l4, size_t len, const struct flow *f,
		   unsigned int side, uint8_t echo)
{
	const struct flowside *s = &f->side[side];

	if (f->proto == IPPROTO_ICMP) {
		l4[0] = echo;
		l4[1] = 0;
		put16(l4 + 4, echo == ICMP_ECHO ? s->eport : s->oport);
		return;
	}
	put16(l4, s->eport);
	put16(l4 + 2, s->oport);
	if (f->proto != IPPROTO_TCP || len < TCP_HLEN_MIN)
		return;
	put32(l4 + 4, get32(l4 + 4) + f->seen[side].end);
	if (l4[TCP_OFF_FLAGS] & TH_ACK)
		put32(l4 + 8, get32(l4 + 8) + f->seen[ct_other(side)].end);
}

/**
 * aim_guest() - make a guest packet one of a flow's
 * @ip:		packet
 * @len:	its length
 * @f:		the flow
 */
static void aim_guest(uint8_t *ip, size_t len, const struct flow *f)
{
	unsigned int side = ct_side_of(f, PIF_TAP);
	uint32_t a;
	size_t hl;

	if (len < IP4_HLEN_MIN)
		return;
	if ((ip[0] & 0xf) < 5 || ip[0] >> 4 != 4)
		ip[0] = 0x45;
	hl = (size_t)(ip[0] & 0xf) * 4;
	a = v4(&f->side[side].eaddr);
	memcpy(ip + 12, &a, 4);
	a = v4(&f->side[side].oaddr);
	memcpy(ip + 16, &a, 4);
	ip[9] = f->proto;
	if (len < hl + 8 || ((ip[6] & 0x1f) | ip[7]))
		return;		/* no transport header here */
	aim_l4(ip + hl, len - hl, f, side, ICMP_ECHO);
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
	memcpy(s->aging, c->fwd.ct.aging, sizeof(s->aging));
	s->count = c->fwd.ct.count;
	s->used = c->tap.tx.used;
	s->dropped = c->tap.tx.dropped;
	s->nout = c->fwd.raw.nout;
	s->ip_id = c->fwd.ip_id;
}

/**
 * guest_key() - the key a whole guest packet has, from its bytes
 * @ip:		packet, parsed, not a fragment
 * @k:		filled in
 *
 * Return: true if it has a transport header to take ports from
 */
NOCOV static bool guest_key(const struct ip_view *ip, struct flowside *k)
{
	const uint8_t *h = ip->hdr.p, *l4 = ip->l4.p;
	uint32_t a;

	if (ip->l4.len < 8)
		return false;
	memset(k, 0, sizeof(*k));
	memcpy(&a, h + 12, 4);
	inany_from_v4(&k->eaddr, a);
	memcpy(&a, h + 16, 4);
	inany_from_v4(&k->oaddr, a);
	if (h[9] == IPPROTO_ICMP) {
		k->eport = get16(l4 + 4);
	} else {
		k->eport = get16(l4);
		k->oport = get16(l4 + 2);
	}
	return true;
}

/**
 * check_out() - the packet fwd_from_guest() just put in the send batch
 * @c:		context
 * @ip:		the guest's packet, parsed, not a fragment
 * @l4_ok:	its transport checksum was right
 */
NOCOV static void check_out(const struct ctx *c, const struct ip_view *ip,
			    bool l4_ok)
{
	const struct raw_out *o = &c->fwd.raw.out[c->fwd.raw.nout - 1];
	size_t len = o->iov[0].iov_len + o->iov[1].iov_len, hl;
	size_t glen = ip->hdr.len + ip->l4.len;
	const struct flowside *to;
	const struct flow *f;
	struct flowside k;
	unsigned int side;
	bool mapped;
	struct iphdr h;
	uint32_t idx;

	if (len != glen || o->iov[0].iov_len < ip->hdr.len + 8)
		FAIL("%zu bytes to send (%zu of headers) for a %zu-byte "
		     "packet", len, o->iov[0].iov_len, glen);
	memcpy(st.out, o->iov[0].iov_base, o->iov[0].iov_len);
	memcpy(st.out + o->iov[0].iov_len, o->iov[1].iov_base,
	       o->iov[1].iov_len);
	memcpy(&h, st.out, sizeof(h));
	hl = ip4_hlen(&h);

	if (!guest_key(ip, &k))
		FAIL("a %zu-byte packet without transport header queued",
		     glen);
	idx = flow_find(c, ip->hdr.p[9], PIF_TAP, &k, &side);
	if (idx == FLOW_NONE)
		FAIL("packet queued to send without a flow");
	f = &c->fwd.ct.flows[idx];
	to = &f->side[ct_other(side)];
	mapped = !c->opts.no_map_gw && v4(&k.oaddr) == c->guest4.gw.s_addr;

	if (hl != ip->hdr.len ||
	    csum_fold(csum_partial(st.out, hl, 0)) != 0xffff)
		FAIL("bad IPv4 header on a packet sent");
	if (h.saddr != v4(&to->oaddr) || h.daddr != v4(&to->eaddr) ||
	    o->dst.sin_addr.s_addr != h.daddr ||
	    o->dst.sin_family != AF_INET || h.protocol != ip->proto ||
	    h.ttl != (mapped ? ip->ttl : ip->ttl - 1))
		FAIL("sent from %08x to %08x (to %08x), TTL %u: flow has "
		     "%08x to %08x, guest TTL %u", ntohl(h.saddr),
		     ntohl(h.daddr), ntohl(o->dst.sin_addr.s_addr), h.ttl,
		     ntohl(v4(&to->oaddr)), ntohl(v4(&to->eaddr)), ip->ttl);
	if (h.protocol == IPPROTO_ICMP ?
	    get16(st.out + hl + 4) != to->oport :
	    get16(st.out + hl) != to->oport ||
	    get16(st.out + hl + 2) != to->eport)
		FAIL("sent from port %u to %u, flow has %u to %u",
		     get16(st.out + hl), get16(st.out + hl + 2), to->oport,
		     to->eport);
	if (l4_ok && !l4_sum_ok(h.saddr, h.daddr, h.protocol, st.out + hl,
				len - hl))
		FAIL("NAT broke the %s checksum of a guest packet",
		     fwd_proto_name(h.protocol));
	if (memcmp(o->quote, ip->hdr.p, o->quote_len) ||
	    o->quote_len != MIN(glen, ip->hdr.len + 8))
		FAIL("the quote kept for an error isn't the guest's packet");
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
	struct ip_view ip;
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
		eth_header(buf, c->link.mac, guest_mac, ETH_P_IP);
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
	if (parsed && !ip_is_fragment(&ip) &&
	    (ip.proto == IPPROTO_TCP || ip.proto == IPPROTO_UDP ||
	     ip.proto == IPPROTO_ICMP))
		l4_ok = l4_sum_ok(inany_v4(&ip.src), inany_v4(&ip.dst),
				  ip.proto, ip.l4.p, ip.l4.len);
	if (parsed && ip_is_fragment(&ip) && ip.hdr.len == IP4_HLEN_MIN)
		fmodel_add(ip.hdr.p, ip.hdr.len + ip.l4.len);

	chk_start(SRC_GUEST);
	chk.syn = parsed && !ip_is_fragment(&ip) && ip.proto == IPPROTO_TCP &&
		  ip.l4.len >= TCP_HLEN_MIN &&
		  (ip.l4.p[TCP_OFF_FLAGS] & (TH_SYN | TH_ACK)) == TH_SYN;
	snap_take(c, &before);
	if (eth)
		merd_tap_ops.frame(c, buf, eth + len);
	else
		fwd_from_guest(c, &ip);
	snap_take(c, &after);

	if (parsed && !ip_is_fragment(&ip) && after.nout == before.nout + 1)
		check_out(c, &ip, l4_ok);
	if (parsed && ip_is_fragment(&ip) && memcmp(&before, &after,
						   sizeof(before)))
		fmodel_check(ip.hdr.p);
	take_queued(c, before.dropped);

	/* Only a full table of live flows, or every port toward the peer
	 * live with no block left to claim, refuses a flow: the harness holds
	 * no block's first port
	 */
	if (chk.refused && c->fwd.ct.count < c->fwd.ct.max &&
	    c->fwd.ports.nclaimed < c->fwd.ports.max_claimed)
		FAIL("a new flow was refused with %u of %u flows, %u of %u "
		     "port blocks claimed (clock %u)", c->fwd.ct.count,
		     c->fwd.ct.max, c->fwd.ports.nclaimed,
		     c->fwd.ports.max_claimed, c->now);

	if (c->fwd.raw.nout >= RAW_BATCH)
		FAIL("%d packets in the batch", c->fwd.raw.nout);
}

/* Host packets */

/**
 * aim_host() - make a host packet one of a flow's side on the host's
 *		network, or an ICMP error about a packet the flow sent
 * @ip:		packet, header length checked
 * @len:	its length
 * @f:		the flow
 */
static void aim_host(uint8_t *ip, size_t len, const struct flow *f)
{
	unsigned int side = ct_side_of(f, PIF_HOST);
	const struct flowside *s = &f->side[side];
	size_t hl = (size_t)(ip[0] & 0xf) * 4, qhl;
	uint8_t *l4 = ip + hl, *q, *ql4;
	uint32_t e = v4(&s->eaddr), o = v4(&s->oaddr);

	if (ip[9] == IPPROTO_ICMP && len >= hl + 8 &&
	    (l4[0] == ICMP_DEST_UNREACH || l4[0] == ICMP_TIME_EXCEEDED ||
	     l4[0] == ICMP_PARAMETERPROB)) {
		memcpy(ip + 16, &o, 4);
		if (len < hl + 8 + IP4_HLEN_MIN + 8)
			return;
		q = l4 + 8;
		if (q[0] >> 4 != 4 || (q[0] & 0xf) < 5)
			q[0] = 0x45;
		qhl = (size_t)(q[0] & 0xf) * 4;
		memcpy(q + 12, &o, 4);
		memcpy(q + 16, &e, 4);
		q[9] = f->proto;
		fix_ip_sum(q, len - hl - 8);	/* as merd sent it */
		if (len < hl + 8 + qhl + 8)
			return;
		ql4 = q + qhl;
		if (f->proto == IPPROTO_ICMP) {
			ql4[0] = ICMP_ECHO;
			put16(ql4 + 4, s->oport);
		} else {
			put16(ql4, s->oport);
			put16(ql4 + 2, s->eport);
		}
		return;
	}

	memcpy(ip + 12, &e, 4);
	memcpy(ip + 16, &o, 4);
	ip[9] = f->proto;
	if (len < hl + 8)
		return;
	aim_l4(l4, len - hl, f, side, ICMP_ECHOREPLY);
}

/**
 * host_flow() - the flow a host packet belongs to, found independently
 * @c:		context
 * @ip:		packet, as the kernel hands it over
 * @len:	its length
 * @err:	set if it is an ICMP error about the flow
 * @side:	set to the side of the flow it comes on
 *
 * Return: flow number, FLOW_NONE if none (or it can't be parsed)
 */
NOCOV static uint32_t host_flow(const struct ctx *c, const uint8_t *ip,
				size_t len, bool *err, unsigned int *side)
{
	size_t hl = (size_t)(ip[0] & 0xf) * 4, qhl, qtot, ql4;
	const uint8_t *l4 = ip + hl, *q;
	struct flowside k;
	struct iphdr h, qh;

	memcpy(&h, ip, sizeof(h));
	memset(&k, 0, sizeof(k));
	*err = false;
	if (len < hl + 8)
		return FLOW_NONE;

	if (h.protocol == IPPROTO_ICMP && l4[0] != ICMP_ECHOREPLY) {
		*err = true;
		if ((l4[0] != ICMP_DEST_UNREACH &&
		     l4[0] != ICMP_TIME_EXCEEDED &&
		     l4[0] != ICMP_PARAMETERPROB) ||
		    len < hl + 8 + sizeof(qh))
			return FLOW_NONE;
		q = l4 + 8;
		memcpy(&qh, q, sizeof(qh));
		qhl = ip4_hlen(&qh);
		qtot = ntohs(qh.tot_len);
		if (qh.version != 4 || qhl < sizeof(qh) || qtot < qhl ||
		    len < hl + 8 + qhl)
			return FLOW_NONE;
		/* What the quote holds of the transport header, bounded by
		 * its total length
		 */
		ql4 = MIN(qtot, len - hl - 8) - qhl;
		if (ql4 < 8)
			return FLOW_NONE;
		inany_from_v4(&k.eaddr, qh.daddr);
		inany_from_v4(&k.oaddr, qh.saddr);
		switch (qh.protocol) {
		case IPPROTO_ICMP:
			if (q[qhl] != ICMP_ECHO)
				return FLOW_NONE;
			k.oport = get16(q + qhl + 4);
			break;
		case IPPROTO_TCP:
		case IPPROTO_UDP:
			k.oport = get16(q + qhl);
			k.eport = get16(q + qhl + 2);
			break;
		default:
			return FLOW_NONE;
		}
		return flow_find(c, qh.protocol, PIF_HOST, &k, side);
	}

	inany_from_v4(&k.eaddr, h.saddr);
	inany_from_v4(&k.oaddr, h.daddr);
	switch (h.protocol) {
	case IPPROTO_TCP:
		if (len < hl + 20 || l4[12] >> 4 < 5 ||
		    (size_t)(l4[12] >> 4) * 4 > len - hl)
			return FLOW_NONE;
		k.eport = get16(l4);
		k.oport = get16(l4 + 2);
		break;
	case IPPROTO_UDP:
		if (get16(l4 + 4) < 8 || get16(l4 + 4) > len - hl)
			return FLOW_NONE;
		k.eport = get16(l4);
		k.oport = get16(l4 + 2);
		break;
	case IPPROTO_ICMP:
		k.oport = get16(l4 + 4);
		break;
	default:
		return FLOW_NONE;
	}
	return flow_find(c, h.protocol, PIF_HOST, &k, side);
}

/**
 * error_src() - whom a translated ICMP error must come from, for the guest
 * @c:		context
 * @f:		the flow
 * @hs:		its side on the host's network
 * @src:	source of the error
 *
 * Return: the gateway for the host itself, the peer's address as the
 *	   guest knows it for the peer, else the router that sent it
 */
NOCOV static uint32_t error_src(const struct ctx *c, const struct flow *f,
				unsigned int hs, uint32_t src)
{
	if (src == v4(&f->side[hs].eaddr))
		return v4(&f->side[ct_other(hs)].oaddr);
	if ((ntohl(src) >> 24) == 127 || src == c->host.out4.s_addr)
		return c->guest4.gw.s_addr;
	return src;
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
	unsigned int side = 0;
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
	idx = host_flow(c, buf, len, &err, &side);

	chk_start(idx == FLOW_NONE ? SRC_NOFLOW : SRC_HOST);
	chk.whole = !(ntohs(h.frag_off) & (IP_MF | IP_OFFMASK));
	chk.icmp_ok = h.protocol == IPPROTO_ICMP && chk.whole &&
		      l4_sum_ok(0, 0, IPPROTO_ICMP, buf + hl, len - hl);
	chk.err = err;
	if (idx != FLOW_NONE) {
		const struct flowside *from, *to;

		chk.f = c->fwd.ct.flows[idx];
		chk.side = side;
		from = &chk.f.side[side];
		to = &chk.f.side[ct_other(side)];
		if (err) {
			const uint8_t *q = buf + hl + 8;
			size_t qhl = (size_t)(q[0] & 0xf) * 4;

			chk.esrc = error_src(c, &chk.f, side, h.saddr);
			chk.ttl = h.ttl > 1 ? (uint8_t)(h.ttl - 1) : 1;
			chk.qsum_ok = len >= hl + 8 + qhl &&
				      csum_fold(csum_partial(q, qhl, 0)) ==
				      0xffff;
		} else {
			/* The host itself (the mapped gateway) is no hop:
			 * TTL as it is
			 */
			bool hop = inany_equals(&from->eaddr, &to->oaddr);

			chk.ttl = hop ? (uint8_t)(h.ttl - 1) : h.ttl;
			if (hop && h.ttl <= 1)
				chk.src = SRC_NOFLOW;	/* no TTL left */
			if ((h.protocol == IPPROTO_TCP ||
			     h.protocol == IPPROTO_UDP) &&
			    !l4_sum_trusted(h.saddr, h.daddr, h.protocol,
					    buf + hl, len - hl))
				chk.src = SRC_NOFLOW;	/* corrupted */
		}
		if (!chk.whole)
			chk.src = SRC_NOFLOW;	/* reassembled before raw */
	}
	if (h.protocol == IPPROTO_TCP && len >= hl + 20) {
		thl = (size_t)(buf[hl + 12] >> 4) * 4;
		chk.seq = get32(buf + hl + 4);
	}

	dropped = c->tap.tx.dropped;
	fwd_from_host(c, (struct pkt){ buf, len });
	take_queued(c, dropped);
	free(buf);

	/* Everything after the transport header, whole and in order */
	if (chk.src == SRC_HOST && !chk.err && chk.datagrams &&
	    c->tap.tx.dropped == dropped && hl + thl <= len &&
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
	const struct ports *p = &c->fwd.ports;
	uint32_t live[FUZZ_FLOWS], n, i;

	n = live_flows(c, live);
	for (i = 0; i < n; i++)
		if ((int32_t)(c->now - c->fwd.ct.flows[live[i]].expires) > 0)
			FAIL("flow %u expired at %u, still there at %u",
			     live[i], c->fwd.ct.flows[live[i]].expires,
			     c->now);
	for (i = 0; i < FRAG_SLOTS; i++)
		if (c->fwd.frag.slot[i].used &&
		    (int32_t)(c->now - c->fwd.frag.slot[i].expires) >= 0)
			FAIL("reassembly %u expired, still there", i);
	for (i = 0; p->nclaimed > 1 && i < p->nclaimed; i++) {
		const struct port_block *b = &p->blocks[p->claimed[i]];

		if (!b->used && c->now - b->idle >= PORT_BLOCK_IDLE)
			FAIL("block %u idle since %u, still claimed at %u",
			     p->claimed[i], b->idle, c->now);
	}
}

/**
 * tick() - the clock moves on, fwd_timer() runs
 * @c:		context
 * @secs:	seconds
 */
static void tick(struct ctx *c, uint32_t secs)
{
	unsigned long dropped = c->tap.tx.dropped;

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
	static bool ready;
	struct ctx *c = &st.c;
	size_t off = 1;
	uint8_t ctl;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	ctl = data[0];

	fuzz_guest_set(c, &st.confs[CTL_CONF(ctl)]);
	c->opts.no_map_gw = CTL_CONF(ctl) == 2;
	c->host.dns4_lo.s_addr = CTL_CONF(ctl) == 1 ? htonl(0x7f000035) : 0;
	c->host.mtu = (ctl & CTL_HOST_576) ? 576 : 1500;
	c->tap.tx = st.tx[!!(ctl & CTL_SMALL_RING)];
	c->tap.tx.head = c->tap.tx.used = 0;
	c->tap.tx.dropped = 0;
	c->tap.guest_mac_known = false;
	c->tap.frames = 0;
	c->now = (ctl & CTL_WRAP) ? FUZZ_NOW_WRAP : FUZZ_NOW;
	fuzz_fwd_reset(c);
	if (c->fwd.raw.paused)
		raw_watch(c, EPOLL_CTL_MOD);
	fuzz_raw_drain(c);
	st.arena_len = 0;
	st.fmodel_n = 0;
	ct_check(c, true);

	while (off + 3 <= size) {
		uint8_t t = data[off];
		size_t len = ((size_t)data[off + 1] << 8) | data[off + 2];

		off += 3;
		if (CH_KIND(t) == CH_TIME) {
			flush(c);
			tick(c, (uint32_t)len);
			ct_check(c, false);
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
		ct_check(c, false);
	}
	flush(c);
	if (ctl & CTL_LOOPBACK)
		loopback(c);
	ct_check(c, true);

	/* The guest went away: nothing held for the next input */
	fuzz_fwd_forget(c);
	fuzz_ports_restore(c);
	fuzz_raw_drain(c);
	st.tx[!!(ctl & CTL_SMALL_RING)] = c->tap.tx;
	return 0;
}
