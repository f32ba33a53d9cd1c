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
 *		  bits 0-1  guest configuration (fuzz_conf(): IPv6 in
 *			    0 and 1)
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
 *			    1: a guest packet, ip4_parse() (ip6_parse())
 *			       then fwd_from_guest();
 *			    2: a packet from the host's raw sockets, to
 *			       fwd_from_host();
 *			    3: time: the clock moves on by the 16-bit
 *			       length field, in seconds, and fwd_timer()
 *			       runs
 *		  bit 2	    fix the checksums first: guest packets get a
 *			    right IPv4 header checksum and (unless a
 *			    fragment) transport checksum; host packets
 *			    a right transport checksum (IPv6 has no
 *			    header checksum)
 *		  bit 3	    aim at a flow (if any): the packet is
 *			    rewritten to belong to the flow picked by
 *			    bits 4-7 (guest packets: the addresses and
 *			    ports, or echo id, of its side on the guest's
 *			    link; host packets: those of its side on the
 *			    host's, or for an ICMP error, quoting a packet
 *			    the flow sent; a flow of the packet's IP
 *			    version); a TCP segment's sequence and
 *			    acknowledgement numbers are then taken as
 *			    offsets from what the flow saw of each side
 *			    (0 and 0: the next segment, in the window)
 *		  bits 4-7  which live flow, in aging-list order, modulo
 *			    their number
 *		byte 1-2: length, big-endian (what is left if larger);
 *		then the packet, from its IP header: IPv6 if its version
 *		is 6, else IPv4
 *
 * Host packets are made what the kernel hands a raw socket: version 4,
 * header length within the packet, total length the packet's length,
 * header checksum right (ip_rcv() checks it). Transport checksums aren't
 * checked by the kernel before raw delivery: those are the fuzzer's. An
 * IPv6 one is what raw.c's raw6_header() rebuilds: the fixed header
 * alone, payload length the packet's, next header one of the three
 * sockets', TCP, UDP or ICMPv6, the ICMPv6 checksum right (the kernel
 * checks it for raw sockets, RFC 3542 3.1).
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
 * IPv6 the same way: frames IPv6 from merd's MAC, ip6_parse() passes, no
 * extension header but merd's own fragment header, at most the MTU; TCP,
 * UDP and ICMPv6 checksums right over the pseudo-header (merd computes
 * them in full), ICMPv6 only echo replies and errors 1 to 4; fragments in
 * order, one identification, M on all but the last, put back together
 * for the checks; a flow's packets from its "our" address to its endpoint
 * with the host packet's traffic class and flow label, hop limit one
 * less unless from the host itself; translated errors from the router
 * that sent them (the router address for the host itself), hop limit one
 * less, quoting the guest's addresses and ports, the quoted segment's
 * checksum still right if it was and all of it is there. What guest
 * packets draw: resets, ICMPv6 errors from the router address. Frames
 * frame_ip6() hands to ndp() or dhcpv6() aren't given (fuzz_ndp and
 * fuzz_dhcpv6 have them).
 *
 * A guest packet queued to be sent must be NATed right: from the other
 * side's "our" address and port to its endpoint, as the harness finds the
 * flow by scanning, TTL one less unless mapped, header checksum right,
 * transport checksum right if the guest's was. A new flow is refused (a
 * reset for a SYN, "administratively prohibited" for the rest) only if the
 * table is full of live flows, or if no block of ports is left to claim.
 * Fragments from the guest:
 * whenever merd acts on a reassembled datagram, every 8-byte block of it
 * must have come in some fragment of it. Over IPv6: the guest's packet
 * leaves with its first word, hop limit one less unless to the router
 * address, its extension headers left out but its fragment header (next
 * header fixed), the quote kept for an error the guest's; its fragments
 * go out as they come, the first with its flow, a later one only after a
 * first fragment of its datagram (source, destination, identification)
 * came with a flow still there (same slot, creation time, protocol,
 * addresses on the guest's side), less than a minute before, from and to
 * where that flow sends.
 *
 * After every chunk, conntrack must be consistent: the aging lists well
 * linked, each flow in the list of its state, in expiry order, as many as
 * @count, the free list the rest; each side of each flow found by
 * ct_lookup() with its key; the index holding exactly two entries a flow;
 * each flow opened by the guest toward the host's network, all addresses
 * IPv4-mapped (IPv6 flows: none but the guest's own source), routed as
 * fwd.c routes (the gateway, or router address, mapped to loopback and
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
 * ports or fragments, IPv6 ones' records included), the raw sockets
 * drained, and, for inputs to behave the same whatever ran before, the
 * flow table set up anew (fixed hash key), the first block of ports alone
 * claimed, port counters, the IPv4 and IPv6 identifications and the clock
 * reset (fuzz_fwd_reset()).
 */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
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
#include "dhcpv6.h"
#include "icmp.h"
#include "icmp6.h"
#include "inany.h"
#include "ip.h"
#include "ip4.h"
#include "ip6.h"
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
/* RFC 3810 5.2: MLDv2's report, which glibc doesn't name */
#define FUZZ_MLD2_REPORT 143

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
 *		right; for IPv6, the quoted transport segment (@qlen bytes)
 * @qlen:	(SRC_HOST, @err, IPv6) the quoted payload length
 * @vtf:	(SRC_HOST, IPv6) the host packet's first word: traffic class
 *		and flow label the guest must get
 * @esrc6:	(SRC_HOST, @err, IPv6) expected source of the translated
 *		error
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
 * @grp_id:	identification of an IPv6 train
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
	size_t qlen;
	uint32_t vtf;
	struct in6_addr esrc6;
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
	uint32_t grp_id;
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
 * @n:		0: /24, MTU 1500, IPv6 /64; 1: /16, MTU 65520, IPv6 /48
 *		(fuzz_guest6_conf()); 2: /24, MTU 576; 3: /32, MTU 68: too
 *		small for IPv6, which conf.c then doesn't serve
 */
static void fuzz_conf(struct fuzz_guest *g, int n)
{
	static const unsigned int mtu[NCONF] = { 1500, MTU_MAX, 576, MTU_MIN };
	static const int prefix[NCONF] = { 24, 16, 24, 32 };

	fuzz_guest_init(g);
	g->g4.prefix_len = prefix[n];
	g->link.mtu = mtu[n];
	inet_pton(AF_INET, "192.0.2.53", &g->g4.dns[g->g4.dns_n++]);
	if (g->link.mtu >= IP6_MTU_MIN)
		fuzz_guest6_conf(g, n);
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

	for (i = 0; i < RAW_PROTOS; i++) {
		if (epoll_ref_ctl(c->epollfd, op, c->fwd.raw.fd[i], EPOLLIN,
				  EPOLL_TYPE_RAW, i))
			abort();
		if (c->fwd.raw.fd6[i] >= 0 &&
		    epoll_ref_ctl(c->epollfd, op, c->fwd.raw.fd6[i], EPOLLIN,
				  EPOLL_TYPE_RAW, RAW_PROTOS + i))
			abort();
	}
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
 * check_route6() - an IPv6 flow is what fwd_flow_new() makes: no address
 *		    but the guest's own IPv4-mapped, routed as fwd_route6()
 *		    routes (the router address to the host's loopback, its
 *		    DNS port to the host's resolver there; the rest from the
 *		    host's address)
 * @c:		context
 * @idx:	flow number
 */
NOCOV static void check_route6(const struct ctx *c, uint32_t idx)
{
	const struct flow *f = &c->fwd.ct.flows[idx];
	const struct flowside *t = &f->side[INISIDE], *h = &f->side[TGTSIDE];
	struct in6_addr haddr = c->host.out6, raddr = t->oaddr.a6;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	unsigned int s;

	/* The guest's source is anything ip6_parse() takes: merd replaces
	 * it (RFC 6890 2.2.3 would have a router drop IPv4-mapped ones)
	 */
	for (s = 0; s < SIDES; s++)
		if ((s != INISIDE && inany_is_v4(&f->side[s].eaddr)) ||
		    inany_is_v4(&f->side[s].oaddr))
			FAIL("IPv6 flow %u: side %u has IPv4-mapped "
			     "addresses", idx, s);
	if (!c->opts.no_map_gw && IN6_ARE_ADDR_EQUAL(&raddr, &c->guest6.gw)) {
		haddr = in6addr_loopback;
		raddr = (t->oport == 53 &&
			 !IN6_IS_ADDR_UNSPECIFIED(&c->host.dns6_lo)) ?
			c->host.dns6_lo : in6addr_loopback;
	}
	if (!IN6_ARE_ADDR_EQUAL(&h->oaddr.a6, &haddr) ||
	    !IN6_ARE_ADDR_EQUAL(&h->eaddr.a6, &raddr) || h->eport != t->oport)
		FAIL("IPv6 flow %u to port %u leaves from %s to %s port %u",
		     idx, t->oport,
		     inet_ntop(AF_INET6, &h->oaddr, a, sizeof(a)),
		     inet_ntop(AF_INET6, &h->eaddr, b, sizeof(b)), h->eport);
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
	bool v6 = f->af == AF_INET6;
	unsigned int s;

	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP &&
	    f->proto != (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))
		FAIL("flow %u of protocol %u", idx, f->proto);
	if (f->pif[INISIDE] != PIF_TAP || f->pif[TGTSIDE] != PIF_HOST ||
	    (f->af != AF_INET && (f->af != AF_INET6 || !c->guest6.enabled)))
		FAIL("flow %u from interface %u to %u, family %u", idx,
		     f->pif[INISIDE], f->pif[TGTSIDE], f->af);
	if (v6) {
		check_route6(c, idx);
		return;
	}
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

/* What reaches the guest over IPv6 */

/**
 * a6s() - an IPv6 address as text, for messages
 * @a:		address
 * @buf:	INET6_ADDRSTRLEN bytes
 *
 * Return: @buf
 */
NOCOV static const char *a6s(const void *a, char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

/**
 * at6() - tell whether the 16 bytes at @p are the address @a
 * @p:		bytes
 * @a:		address
 *
 * Return: true if so
 */
NOCOV static bool at6(const uint8_t *p, const union inany_addr *a)
{
	return !memcmp(p, &a->a6, sizeof(a->a6));
}

/**
 * l6_sum_ok() - tell whether a transport checksum over IPv6 is right
 * @ip:		the packet's fixed header, for its addresses
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMPV6
 * @l4:		transport header and payload
 * @len:	their length
 *
 * Return: true if right; a UDP checksum of zero never is (RFC 8200 8.1)
 */
NOCOV static bool l6_sum_ok(const uint8_t *ip, uint8_t proto,
			    const uint8_t *l4, size_t len)
{
	struct in6_addr s, d;

	if (proto == IPPROTO_UDP && len >= 8 && !l4[6] && !l4[7])
		return false;
	memcpy(&s, ip + offsetof(struct ip6_hdr, ip6_src), sizeof(s));
	memcpy(&d, ip + offsetof(struct ip6_hdr, ip6_dst), sizeof(d));
	return csum_fold(csum_partial(l4, len, csum_pseudo6(&s, &d, proto,
							     (uint32_t)len))) ==
	       0xffff;
}

/**
 * is_icmp6_error() - tell whether an ICMPv6 type is one of the errors
 *		      merd passes on or sends (RFC 4443 3: 1 to 4)
 * @type:	type
 *
 * Return: true for destination unreachable, packet too big, time
 *	   exceeded, parameter problem
 */
NOCOV static bool is_icmp6_error(uint8_t type)
{
	return type >= ICMP6_DST_UNREACH && type <= ICMP6_PARAM_PROB;
}

/**
 * check_nat_in6() - addresses and ports of an IPv6 datagram for a host
 *		     packet's flow
 * @ip:		datagram, whole, from its fixed header
 * @len:	its length
 */
NOCOV static void check_nat_in6(const uint8_t *ip, size_t len)
{
	const struct flowside *t = &chk.f.side[ct_other(chk.side)];
	const uint8_t *l4 = ip + IP6_HLEN, *q = l4 + ICMP_HLEN;
	uint8_t proto = chk.f.proto, nh = ip[IP6_OFF_NXT];
	uint8_t hops = ip[offsetof(struct ip6_hdr, ip6_hlim)];
	const uint8_t *ql4 = q + IP6_HLEN;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (!at6(ip + offsetof(struct ip6_hdr, ip6_dst), &t->eaddr))
		FAIL("flow's IPv6 packet for the guest sent to %s, not %s",
		     a6s(ip + offsetof(struct ip6_hdr, ip6_dst), a),
		     a6s(&t->eaddr.a6, b));

	if (chk.err) {
		if (nh != IPPROTO_ICMPV6 || !is_icmp6_error(l4[0]))
			FAIL("ICMPv6 error about a flow became next header "
			     "%u type %u", nh, l4[0]);
		if (memcmp(ip + offsetof(struct ip6_hdr, ip6_src),
			   &chk.esrc6, 16) || hops != chk.ttl)
			FAIL("ICMPv6 error about a flow from %s hop limit %u, "
			     "not %s, %u",
			     a6s(ip + offsetof(struct ip6_hdr, ip6_src), a),
			     hops, a6s(&chk.esrc6, b), chk.ttl);
		/* RFC 4443 2.4 (c): as much as fits, at least the header */
		if (len < IP6_HLEN + ICMP_HLEN + IP6_HLEN)
			FAIL("%zu-byte ICMPv6 error for the guest quotes less "
			     "than an IPv6 header", len);
		if (!at6(q + offsetof(struct ip6_hdr, ip6_src), &t->eaddr) ||
		    !at6(q + offsetof(struct ip6_hdr, ip6_dst), &t->oaddr) ||
		    q[IP6_OFF_NXT] != proto)
			FAIL("ICMPv6 error quotes a packet from %s to %s, "
			     "next header %u: not the guest's",
			     a6s(q + offsetof(struct ip6_hdr, ip6_src), a),
			     a6s(q + offsetof(struct ip6_hdr, ip6_dst), b),
			     q[IP6_OFF_NXT]);
		if (len < IP6_HLEN + ICMP_HLEN + IP6_HLEN + 8)
			return;
		if (proto == IPPROTO_ICMPV6 ? get16(ql4 + 4) != t->eport :
		    get16(ql4) != t->eport || get16(ql4 + 2) != t->oport)
			FAIL("ICMPv6 error quotes ports %u, %u: the guest's "
			     "were %u, %u", get16(ql4), get16(ql4 + 2),
			     t->eport, t->oport);
		/* The quoted segment, all there and right as merd sent it,
		 * is right for the guest's addresses and ports too
		 */
		if (chk.qsum_ok &&
		    len - IP6_HLEN - ICMP_HLEN - IP6_HLEN >= chk.qlen &&
		    !l6_sum_ok(q, proto, ql4, chk.qlen))
			FAIL("ICMPv6 error quotes a %zu-byte segment whose "
			     "checksum translation broke", chk.qlen);
		return;
	}

	if (!at6(ip + offsetof(struct ip6_hdr, ip6_src), &t->oaddr) ||
	    nh != proto)
		FAIL("flow's IPv6 packet from %s next header %u, not %s, %u",
		     a6s(ip + offsetof(struct ip6_hdr, ip6_src), a), nh,
		     a6s(&t->oaddr.a6, b), proto);
	if (hops != chk.ttl || get32(ip) != chk.vtf)
		FAIL("hop limit %u, first word %08x for the guest, %u and "
		     "%08x expected", hops, get32(ip), chk.ttl, chk.vtf);
	if (proto == IPPROTO_ICMPV6) {
		if (l4[0] != ICMP6_ECHO_REPLY || get16(l4 + 4) != t->eport)
			FAIL("echo reply of type %u id %u, the guest's is %u",
			     l4[0], get16(l4 + 4), t->eport);
		return;
	}
	if (get16(l4) != t->oport || get16(l4 + 2) != t->eport)
		FAIL("ports %u to %u for the guest, flow has %u to %u",
		     get16(l4), get16(l4 + 2), t->oport, t->eport);
}

/**
 * check_dgram6() - check an IPv6 datagram for the guest, whole or put
 *		    together from merd's fragments
 * @ip:		datagram, from its fixed header, no extension header
 * @len:	its length
 */
NOCOV static void check_dgram6(const uint8_t *ip, size_t len)
{
	const uint8_t *l4 = ip + IP6_HLEN, *src = ip + offsetof(struct ip6_hdr,
								 ip6_src);
	uint8_t nh = ip[IP6_OFF_NXT];
	size_t l4len = len - IP6_HLEN, thl = 8;
	struct tcphdr th;

	chk.datagrams++;
	switch (nh) {
	case IPPROTO_TCP:
		if (l4len < 20 || l4[12] >> 4 < 5 ||
		    (size_t)(l4[12] >> 4) * 4 > l4len)
			FAIL("IPv6 TCP segment of %zu bytes, data offset %u",
			     l4len, l4[12] >> 4);
		if (!l6_sum_ok(ip, nh, l4, l4len))
			FAIL("bad TCP checksum on a %zu-byte IPv6 segment",
			     l4len);
		thl = (size_t)(l4[12] >> 4) * 4;
		break;
	case IPPROTO_UDP:
		if (l4len < 8)
			FAIL("IPv6 UDP datagram of %zu bytes", l4len);
		if (get16(l4 + 4) == l4len && !l6_sum_ok(ip, nh, l4, l4len))
			FAIL("bad UDP checksum on a %zu-byte IPv6 datagram",
			     l4len);
		break;
	case IPPROTO_ICMPV6:
		/* merd computes every ICMPv6 checksum in full */
		if (l4len < 8 || (l4[0] != ICMP6_ECHO_REPLY &&
				  !is_icmp6_error(l4[0])))
			FAIL("ICMPv6 type %u, %zu bytes, for the guest",
			     l4len ? l4[0] : 0, l4len);
		if (!l6_sum_ok(ip, nh, l4, l4len))
			FAIL("bad ICMPv6 checksum, type %u, %zu bytes", l4[0],
			     l4len);
		break;
	default:
		FAIL("IPv6 next header %u for the guest", nh);
	}

	switch (chk.src) {
	case SRC_GUEST:
		if (!(nh == IPPROTO_TCP && (l4[13] & TH_RST)) &&
		    !(nh == IPPROTO_ICMPV6 && is_icmp6_error(l4[0]) &&
		      !memcmp(src, &st.c.guest6.gw, 16)))
			FAIL("a guest IPv6 packet drew next header %u type %u",
			     nh, l4[0]);
		if ((nh == IPPROTO_TCP && chk.syn) ||
		    (nh == IPPROTO_ICMPV6 && l4[0] == ICMP6_DST_UNREACH &&
		     l4[1] == ICMP6_CODE_ADMIN))
			chk.refused = true;
		break;
	case SRC_HOST:
		check_nat_in6(ip, len);
		if (chk.err)
			break;
		if (nh == IPPROTO_TCP) {
			memcpy(&th, l4, sizeof(th));
			if (!chk.lossy && ntohl(th.seq) != chk.seq)
				FAIL("IPv6 segment with sequence %u, %u "
				     "expected", ntohl(th.seq), chk.seq);
		}
		if (chk.acc_len + l4len - thl > DGRAM_MAX)
			FAIL("IPv6 datagrams past %d bytes", DGRAM_MAX);
		memcpy(chk.acc + chk.acc_len, l4 + thl, l4len - thl);
		chk.acc_len += l4len - thl;
		chk.seq += (uint32_t)(l4len - thl);
		break;
	case SRC_NOFLOW:
		FAIL("an IPv6 host packet without a flow, or to be dropped, "
		     "reached the guest");
	case SRC_ANY:
		break;
	}
}

/**
 * check_frag6() - a fragment merd cut for the guest: put the datagram
 *		   back together, in order, whole, one identification
 * @ip:		fragment, from its fixed header, fragment header right
 *		after it
 * @len:	its length
 */
NOCOV static void check_frag6(const uint8_t *ip, size_t len)
{
	const uint8_t *fh = ip + IP6_HLEN;
	uint16_t offlg = get16(fh + offsetof(struct ip6_frag, ip6f_offlg));
	size_t off = offlg & ~(size_t)IP6_FRAG_UNIT_MASK;
	size_t n = len - IP6_HLEN - sizeof(struct ip6_frag);
	uint32_t id = get32(fh + offsetof(struct ip6_frag, ip6f_ident));
	bool mf = offlg & 1;	/* RFC 8200 4.5: the M flag */

	if (!chk.whole || chk.lossy)
		return;
	if (mf && n % 8)
		FAIL("IPv6 fragment of %zu bytes, not the last", n);
	if (!off) {
		if (chk.grp_open)
			FAIL("IPv6 fragments of a datagram cut short");
		memcpy(chk.grp, ip, IP6_HLEN);
		chk.grp[IP6_OFF_NXT] = fh[0];
		chk.grp_len = 0;
		chk.grp_id = id;
		chk.grp_open = true;
	} else if (!chk.grp_open || off != chk.grp_len || id != chk.grp_id ||
		   memcmp(chk.grp, ip, 4) || chk.grp[7] != ip[7] ||
		   memcmp(chk.grp + 8, ip + 8, 32) ||
		   chk.grp[IP6_OFF_NXT] != fh[0]) {
		/* Not the next part, or not with the first's first word,
		 * hop limit and addresses
		 */
		FAIL("IPv6 fragment at %zu out of order or of another "
		     "datagram (%zu put together)", off, chk.grp_len);
	}
	if (IP6_HLEN + off + n > DGRAM_MAX)
		FAIL("IPv6 fragments past %d bytes", DGRAM_MAX);
	memcpy(chk.grp + IP6_HLEN + off, fh + sizeof(struct ip6_frag), n);
	chk.grp_len = off + n;
	if (mf)
		return;
	chk.grp_open = false;
	put16(chk.grp + offsetof(struct ip6_hdr, ip6_plen),
	      (uint16_t)chk.grp_len);
	check_dgram6(chk.grp, IP6_HLEN + chk.grp_len);
}

/**
 * check_frame6() - an IPv6 frame queued for the guest
 * @c:		context
 * @l3:		what follows its Ethernet header
 */
NOCOV static void check_frame6(const struct ctx *c, struct pkt l3)
{
	struct ip_view ip;

	if (ip6_parse(l3, &ip))
		FAIL("sent the guest a bad IPv6 packet (%zu bytes)", l3.len);
	if (ip.hdr.len + ip.l4.len != l3.len)
		FAIL("frame of %zu bytes for a %zu-byte IPv6 packet", l3.len,
		     ip.hdr.len + ip.l4.len);
	if (l3.len > c->link.mtu)
		FAIL("%zu-byte IPv6 packet (next header %u) for a guest with "
		     "MTU %u", l3.len, ip.proto, c->link.mtu);
	if (ip.hdr.len != IP6_HLEN + (ip.fraghdr ? sizeof(struct ip6_frag) :
				      0) || (ip.fraghdr && ip.fraghdr !=
					     IP6_HLEN))
		FAIL("IPv6 packet for the guest with %zu bytes of headers",
		     ip.hdr.len);
	if (ip.fraghdr)
		check_frag6(l3.p, l3.len);
	else
		check_dgram6(l3.p, l3.len);
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
	if (ntohs(eh.h_proto) == ETH_P_IPV6) {
		check_frame6(c, l3);
		return;
	}
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
	for (i = 0; i < RAW_PROTOS; i++) {
		raw_handler(c, (enum raw_proto)i, fwd_from_host);
		if (c->fwd.raw.fd6[i] >= 0)
			raw_handler(c, RAW_PROTOS + (unsigned int)i,
				    fwd_from_host);
	}
	take_queued(c, dropped);
	raw_resume(c);
}

/* Guest packets */

/**
 * pick_flow() - a live flow of a family, by a selector
 * @c:		context
 * @sel:	selector, taken modulo the number of such flows
 * @af:		AF_INET or AF_INET6
 *
 * Return: the flow, NULL if there is none
 */
static const struct flow *pick_flow(const struct ctx *c, unsigned int sel,
				    int af)
{
	uint32_t live[FUZZ_FLOWS], n, i, k = 0;

	n = live_flows(c, live);
	for (i = 0; i < n; i++)
		if (c->fwd.ct.flows[live[i]].af == af)
			live[k++] = live[i];
	return k ? &c->fwd.ct.flows[live[sel % k]] : NULL;
}

/**
 * aim_l4() - write in a transport header what makes a packet one of a
 *	      flow's side: ports, or echo type and id; for TCP, sequence
 *	      and acknowledgement numbers as offsets from what each side sent
 * @l4:		transport header, at least 8 bytes
 * @len:	bytes from it to the end of the packet
 * @f:		the flow
 * @side:	the side the packet comes on
 * @echo:	ICMP or ICMPv6 type, for an echo flow
 */
static void aim_l4(uint8_t *l4, size_t len, const struct flow *f,
		   unsigned int side, uint8_t echo)
{
	const struct flowside *s = &f->side[side];

	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) {
		bool req = echo == ICMP_ECHO || echo == ICMP6_ECHO_REQUEST;

		l4[0] = echo;
		l4[1] = 0;
		put16(l4 + 4, req ? s->eport : s->oport);
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

/* IPv6 guest packets */

/* IPv6 fragment model: first fragments noted per input */
#define FM6_MAX		256

/**
 * struct fmodel6 - the first fragment of a datagram the guest sent in
 *		    fragments over IPv6, and the flow it had when it came
 * @src:	source
 * @dst:	destination
 * @id:		identification
 * @proto:	what the fragments carry
 * @flow:	the flow of its transport header, when it came
 * @created:	that flow's creation time
 * @when:	when it came
 * @oaddr:	address that flow sends from
 * @eaddr:	address it sends to
 */
struct fmodel6 {
	struct in6_addr src;
	struct in6_addr dst;
	uint32_t id;
	uint8_t proto;
	uint32_t flow;
	uint32_t created;
	uint32_t when;
	union inany_addr oaddr;
	union inany_addr eaddr;
};

/**
 * struct fm6_state - the first fragments noted in this input
 * @m:		what was noted, oldest first
 * @n:		entries in @m
 * @full:	some were forgotten: a later fragment may go out unexplained
 */
static struct fm6_state {
	struct fmodel6 m[FM6_MAX];
	int n;
	bool full;
} fm6;

/**
 * fm6_note() - note a first fragment that came with a flow (merd may have
 *		taken it, and remembered the flow for the later ones)
 * @c:		context
 * @ip:		the first fragment, parsed
 * @idx:	the flow its transport header belongs to
 */
NOCOV static void fm6_note(const struct ctx *c, const struct ip_view *ip,
			   uint32_t idx)
{
	const struct flow *f = &c->fwd.ct.flows[idx];
	const struct flowside *to = &f->side[ct_other(ct_side_of(f,
								 PIF_TAP))];
	struct fmodel6 *m;

	if (fm6.n == FM6_MAX) {
		memmove(fm6.m, fm6.m + 1, sizeof(fm6.m[0]) * (FM6_MAX - 1));
		fm6.n--;
		fm6.full = true;
	}
	m = &fm6.m[fm6.n++];
	m->src = ip->src.a6;
	m->dst = ip->dst.a6;
	m->id = ip->id;
	m->proto = ip->proto;
	m->flow = idx;
	m->created = f->created;
	m->when = c->now;
	m->oaddr = to->oaddr;
	m->eaddr = to->eaddr;
}

/**
 * fm6_follows() - tell whether a later fragment merd sent follows a first
 *		   one noted, within the minute, whose flow is still there
 *		   (the same slot, creation time, protocol and addresses on
 *		   the guest's side: merd can tell no more), from and to
 *		   where that flow sends
 * @c:		context
 * @m:		what was noted of a first fragment
 * @ip:		the later fragment, parsed
 * @h:		what merd sent for it, from its fixed header
 *
 * Return: true if so
 */
NOCOV static bool fm6_follows(const struct ctx *c, const struct fmodel6 *m,
			      const struct ip_view *ip, const uint8_t *h)
{
	const struct flow *f = &c->fwd.ct.flows[m->flow];
	unsigned int side = ct_side_of(f, PIF_TAP);

	/* RFC 8200 4.5: reassembly gives up 60 s after the first */
	return m->id == ip->id && IN6_ARE_ADDR_EQUAL(&m->src, &ip->src.a6) &&
	       IN6_ARE_ADDR_EQUAL(&m->dst, &ip->dst.a6) &&
	       (int32_t)(c->now - m->when) < 60 && f->proto == m->proto &&
	       f->created == m->created &&
	       IN6_ARE_ADDR_EQUAL(&f->side[side].eaddr.a6, &m->src) &&
	       IN6_ARE_ADDR_EQUAL(&f->side[side].oaddr.a6, &m->dst) &&
	       at6(h + offsetof(struct ip6_hdr, ip6_src), &m->oaddr) &&
	       at6(h + offsetof(struct ip6_hdr, ip6_dst), &m->eaddr);
}

/**
 * guest_key6() - the key a whole guest IPv6 packet (or a first fragment)
 *		  has, from its bytes
 * @ip:		packet, parsed
 * @k:		filled in
 *
 * Return: true if it has a transport header to take ports from
 */
NOCOV static bool guest_key6(const struct ip_view *ip, struct flowside *k)
{
	const uint8_t *l4 = ip->l4.p;

	if (ip->l4.len < 8)
		return false;
	memset(k, 0, sizeof(*k));
	k->eaddr.a6 = ip->src.a6;
	k->oaddr.a6 = ip->dst.a6;
	if (ip->proto == IPPROTO_ICMPV6) {
		k->eport = get16(l4 + 4);
	} else {
		k->eport = get16(l4);
		k->oport = get16(l4 + 2);
	}
	return true;
}

/**
 * out6_flow() - the flow an IPv6 packet merd sent for the guest must be
 *		 of: by its key, or for a later fragment, its first's
 * @c:		context
 * @ip:		the guest's packet, parsed
 * @h:		what merd sent, from its fixed header
 * @to:		set to the addresses it must go from and to
 *
 * Return: the flow's number
 */
NOCOV static uint32_t out6_flow(const struct ctx *c, const struct ip_view *ip,
				const uint8_t *h, union inany_addr *to)
{
	const struct flow *f;
	struct flowside k;
	unsigned int side;
	uint32_t idx;
	int i;

	if (!ip->frag) {
		if (!guest_key6(ip, &k))
			FAIL("a %zu-byte IPv6 packet without transport header "
			     "sent", ip->l4.len);
		idx = flow_find(c, ip->proto, PIF_TAP, &k, &side);
		if (idx == FLOW_NONE)
			FAIL("IPv6 packet queued to send without a flow");
		f = &c->fwd.ct.flows[idx];
		to[0] = f->side[ct_other(side)].oaddr;
		to[1] = f->side[ct_other(side)].eaddr;
		return idx;
	}

	for (i = fm6.n - 1; i >= 0; i--) {
		if (fm6_follows(c, &fm6.m[i], ip, h)) {
			to[0] = fm6.m[i].oaddr;
			to[1] = fm6.m[i].eaddr;
			return fm6.m[i].flow;
		}
	}
	if (!fm6.full)
		FAIL("a later IPv6 fragment (id %08x) went out, with no first "
		     "fragment's flow to follow (still there, within the "
		     "minute, where it sends)", ip->id);
	memcpy(&to[0].a6, h + offsetof(struct ip6_hdr, ip6_src), 16);
	memcpy(&to[1].a6, h + offsetof(struct ip6_hdr, ip6_dst), 16);
	return FLOW_NONE;
}

/**
 * check_out6() - the packet fwd_from_guest() just put in the send batch,
 *		  for a guest IPv6 packet
 * @c:		context
 * @ip:		the guest's packet, parsed
 * @l4_ok:	its transport checksum was right (not a fragment)
 *
 * The guest's first word, its hop limit one less unless to the router
 * address, no extension header but its fragment header (next header
 * fixed), from the other side's "our" address and port to its endpoint,
 * transport checksum right if it was; the quote kept for an error the
 * packet as the guest sent it, with that header.
 */
NOCOV static void check_out6(const struct ctx *c, const struct ip_view *ip,
			     bool l4_ok)
{
	const struct raw_out *o = &c->fwd.raw.out[c->fwd.raw.nout - 1];
	size_t len = o->iov[0].iov_len + o->iov[1].iov_len, l3;
	size_t fh = ip->fraghdr ? sizeof(struct ip6_frag) : 0;
	const uint8_t *h = st.out, *g = ip->hdr.p;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	union inany_addr to[2];
	uint8_t q[RAW_QUOTE_MAX];
	uint32_t idx;
	bool mapped;

	l3 = IP6_HLEN + fh;
	if (!o->v6 || len != l3 + ip->l4.len || o->iov[0].iov_len < l3)
		FAIL("%zu bytes to send (%zu of headers, IPv%d) for a "
		     "%zu-byte IPv6 packet", len, o->iov[0].iov_len,
		     o->v6 ? 6 : 4, ip->hdr.len + ip->l4.len);
	memcpy(st.out, o->iov[0].iov_base, o->iov[0].iov_len);
	memcpy(st.out + o->iov[0].iov_len, o->iov[1].iov_base,
	       o->iov[1].iov_len);
	idx = out6_flow(c, ip, h, to);
	mapped = !c->opts.no_map_gw &&
		 IN6_ARE_ADDR_EQUAL(&ip->dst.a6, &c->guest6.gw);

	if (memcmp(h, g, 4) || get16(h + 4) != len - IP6_HLEN ||
	    h[IP6_OFF_NXT] != (fh ? IPPROTO_FRAGMENT : ip->proto) ||
	    h[7] != (mapped ? ip->ttl : ip->ttl - 1))
		FAIL("IPv6 header sent: first word %08x, length %u, next "
		     "header %u, hop limit %u, for the guest's %08x, %u, "
		     "hop limit %u", get32(h), get16(h + 4), h[IP6_OFF_NXT],
		     h[7], get32(g), ip->proto, ip->ttl);
	if (fh && (h[IP6_HLEN] != ip->proto ||
		   memcmp(h + IP6_HLEN + 1, g + ip->fraghdr + 1, fh - 1)))
		FAIL("IPv6 fragment header sent not the guest's");
	if (!at6(h + offsetof(struct ip6_hdr, ip6_src), &to[0]) ||
	    !at6(h + offsetof(struct ip6_hdr, ip6_dst), &to[1]) ||
	    o->dst6.sin6_family != AF_INET6 ||
	    memcmp(&o->dst6.sin6_addr, &to[1].a6, 16))
		FAIL("IPv6 packet of flow %d sent from %s to %s", (int)idx,
		     a6s(h + offsetof(struct ip6_hdr, ip6_src), a),
		     a6s(h + offsetof(struct ip6_hdr, ip6_dst), b));
	if (!ip->frag) {
		const struct flow *f = &c->fwd.ct.flows[idx];
		const struct flowside *s =
			&f->side[ct_other(ct_side_of(f, PIF_TAP))];
		const uint8_t *l4 = h + l3;

		if (ip->proto == IPPROTO_ICMPV6 ?
		    get16(l4 + 4) != s->oport :
		    get16(l4) != s->oport || get16(l4 + 2) != s->eport)
			FAIL("IPv6 sent from port %u to %u, flow has %u to %u",
			     get16(l4), get16(l4 + 2), s->oport, s->eport);
		if (l4_ok && !fh && !l6_sum_ok(h, ip->proto, l4, len - l3))
			FAIL("NAT broke the %s checksum of a guest IPv6 "
			     "packet", fwd_proto_name(ip->proto));
	}

	/* The quote: what was sent, as the guest had it */
	if (o->quote_len != MIN(len, (size_t)IP6_HLEN + 8))
		FAIL("%zu bytes kept for an error about a %zu-byte IPv6 "
		     "packet", o->quote_len, len);
	memcpy(q, h, o->quote_len);
	memcpy(q + offsetof(struct ip6_hdr, ip6_src), &ip->src.a6, 16);
	memcpy(q + offsetof(struct ip6_hdr, ip6_dst), &ip->dst.a6, 16);
	if (!fh && o->quote_len > IP6_HLEN)
		memcpy(q + IP6_HLEN, ip->l4.p, o->quote_len - IP6_HLEN);
	if (memcmp(o->quote, q, o->quote_len))
		FAIL("the quote kept for an error isn't the guest's IPv6 "
		     "packet");
}

/**
 * aim_guest6() - make a guest IPv6 packet one of a flow's
 * @ip:		packet
 * @len:	its length
 * @f:		the flow, IPv6
 *
 * Addresses, and what follows the fixed header if it isn't an extension
 * header, or follows a fragment header, but the fuzzer's next header: the
 * flow's protocol, ports (echo identifier), TCP sequence numbers.
 */
static void aim_guest6(uint8_t *ip, size_t len, const struct flow *f)
{
	unsigned int side = ct_side_of(f, PIF_TAP);
	size_t off = IP6_HLEN;

	if (len < IP6_HLEN)
		return;
	ip[0] = (uint8_t)(0x60 | (ip[0] & 0xf));
	put16(ip + 4, (uint16_t)(len - IP6_HLEN));
	memcpy(ip + offsetof(struct ip6_hdr, ip6_src), &f->side[side].eaddr,
	       16);
	memcpy(ip + offsetof(struct ip6_hdr, ip6_dst), &f->side[side].oaddr,
	       16);
	if (ip[IP6_OFF_NXT] == IPPROTO_FRAGMENT) {
		if (len < IP6_HLEN + sizeof(struct ip6_frag))
			return;
		ip[IP6_HLEN] = f->proto;
		if (get16(ip + IP6_HLEN + 2) & ~(unsigned)IP6_FRAG_UNIT_MASK)
			return;		/* a later one: no transport header */
		off += sizeof(struct ip6_frag);
	} else if (ip[IP6_OFF_NXT] == IPPROTO_HOPOPTS ||
		   ip[IP6_OFF_NXT] == IPPROTO_ROUTING ||
		   ip[IP6_OFF_NXT] == IPPROTO_DSTOPTS) {
		return;
	} else {
		ip[IP6_OFF_NXT] = f->proto;
	}
	if (len < off + 8)
		return;
	aim_l4(ip + off, len - off, f, side, ICMP6_ECHO_REQUEST);
}

/**
 * to_ndp_or_dhcpv6() - tell whether merd.c's frame_ip6() hands a guest
 *			packet to ndp() or dhcpv6() rather than forwarding
 * @c:		context
 * @ip:		packet, parsed
 *
 * Worked out from the packet's bytes: ICMPv6 of the types of MLD (RFC 2710
 * 3, RFC 3810 5) and NDP (RFC 4861 4), not a later fragment; UDP to the
 * DHCPv6 server port (RFC 8415 7.2) at All_DHCP_Relay_Agents_and_Servers
 * or at the router address, not a fragment.
 *
 * Return: true if so: fuzz_ndp and fuzz_dhcpv6 check those
 */
NOCOV static bool to_ndp_or_dhcpv6(const struct ctx *c,
				   const struct ip_view *ip)
{
	static const uint8_t ndp[] = {
		MLD_LISTENER_QUERY, MLD_LISTENER_REPORT,
		MLD_LISTENER_REDUCTION, ND_ROUTER_SOLICIT, ND_ROUTER_ADVERT,
		ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT, ND_REDIRECT,
		FUZZ_MLD2_REPORT,
	};
	/* RFC 8415 7.1: All_DHCP_Relay_Agents_and_Servers, ff02::1:2 */
	static const uint8_t servers[16] = { 0xff, 0x02, [13] = 1, [15] = 2 };
	size_t i;

	if (ip->proto == IPPROTO_ICMPV6 && !ip->frag && ip->l4.len) {
		for (i = 0; i < sizeof(ndp); i++)
			if (ip->l4.p[0] == ndp[i])
				return true;
	}
	return ip->proto == IPPROTO_UDP && !ip_is_fragment(ip) &&
	       ip->l4.len >= 4 &&
	       get16(ip->l4.p + 2) == DHCPV6_SERVER_PORT &&
	       (!memcmp(&ip->dst.a6, servers, 16) ||
		IN6_ARE_ADDR_EQUAL(&ip->dst.a6, &c->guest6.gw));
}

/**
 * confined4() - tell whether merd refuses the guest an IPv4 destination
 *		 as confined (fwd.c): link-local, unless allowed
 * @c:		context
 * @dst:	destination, network order
 *
 * Return: true if so
 */
NOCOV static bool confined4(const struct ctx *c, uint32_t dst)
{
	int i;

	if ((ntohl(dst) & 0xffff0000) != 0xa9fe0000)	/* 169.254/16 */
		return false;
	for (i = 0; i < c->opts.ll_allow_n; i++)
		if (c->opts.ll_allow[i].s_addr == dst)
			return false;
	return true;
}

/**
 * confined6() - tell whether merd refuses the guest an IPv6 destination
 *		 as confined (fwd.c): link-local, or the router without
 *		 the gateway mapping
 * @c:		context
 * @dst:	destination
 *
 * Return: true if so
 */
NOCOV static bool confined6(const struct ctx *c, const struct in6_addr *dst)
{
	return IN6_IS_ADDR_LINKLOCAL(dst) ||
	       (c->opts.no_map_gw && IN6_ARE_ADDR_EQUAL(dst, &c->guest6.gw));
}

/**
 * guest_chunk6() - an IPv6 packet from the guest
 * @c:		context
 * @t:		chunk kind and flags
 * @p:		packet, from its fixed header
 * @len:	its length
 */
static void guest_chunk6(struct ctx *c, uint8_t t, const uint8_t *p,
			 size_t len)
{
	size_t eth = CH_KIND(t) == CH_TAP ? ETH_HLEN : 0;
	const struct flow *f = NULL;
	struct snap before, after;
	struct ip_view ip;
	bool parsed, first, l4_ok = false;
	struct flowside k;
	unsigned int side;
	uint32_t idx;
	uint8_t *buf;

	if (eth + len < TAP_FRAME_MIN || (!eth && !c->guest6.enabled))
		return;		/* frame_ip6() forwards nothing then */
	if (st.arena_len + eth + len > ARENA_SIZE)
		flush(c);
	buf = st.arena + st.arena_len;
	UNPOISON(buf, eth + len);
	st.arena_len += eth + len;
	if (eth)
		eth_header(buf, c->link.mac, guest_mac, ETH_P_IPV6);
	memcpy(buf + eth, p, len);

	if (t & CH_AIM)
		f = pick_flow(c, CH_FLOW(t), AF_INET6);
	if (f)
		aim_guest6(buf + eth, len, f);
	if (t & CH_FIX)
		fuzz_fix_csums6(buf + eth, len);

	parsed = !ip6_parse((struct pkt){ buf + eth, len }, &ip);
	if (!parsed && !eth)
		return;		/* fwd_from_guest() takes them parsed */
	if (parsed && eth && to_ndp_or_dhcpv6(c, &ip))
		return;		/* fuzz_ndp's and fuzz_dhcpv6's business */
	first = parsed && !ip.frag;
	if (parsed && !ip.fraghdr &&
	    (ip.proto == IPPROTO_TCP || ip.proto == IPPROTO_UDP ||
	     ip.proto == IPPROTO_ICMPV6))
		l4_ok = l6_sum_ok(ip.hdr.p, ip.proto, ip.l4.p, ip.l4.len);

	chk_start(SRC_GUEST);
	chk.syn = first && ip.proto == IPPROTO_TCP &&
		  ip.l4.len >= TCP_HLEN_MIN &&
		  (ip.l4.p[TCP_OFF_FLAGS] & (TH_SYN | TH_ACK)) == TH_SYN;
	snap_take(c, &before);
	if (eth)
		merd_tap_ops.frame(c, buf, eth + len);
	else
		fwd_from_guest(c, &ip);
	snap_take(c, &after);

	if (parsed && c->guest6.enabled && after.nout == before.nout + 1)
		check_out6(c, &ip, l4_ok);
	take_queued(c, before.dropped);
	if (first && ip.fraghdr && guest_key6(&ip, &k) &&
	    (idx = flow_find(c, ip.proto, PIF_TAP, &k, &side)) != FLOW_NONE)
		fm6_note(c, &ip, idx);

	/* As for IPv4: only a full table, or no port left, refuses, but for
	 * confined destinations (fwd.c: link-local, the router without the
	 * mapping)
	 */
	if (chk.refused && !(parsed && confined6(c, &ip.dst.a6)) &&
	    c->fwd.ct.count < c->fwd.ct.max &&
	    c->fwd.ports.nclaimed < c->fwd.ports.max_claimed)
		FAIL("a new IPv6 flow was refused with %u of %u flows, %u of "
		     "%u port blocks claimed (clock %u)", c->fwd.ct.count,
		     c->fwd.ct.max, c->fwd.ports.nclaimed,
		     c->fwd.ports.max_claimed, c->now);
	if (c->fwd.raw.nout >= RAW_BATCH)
		FAIL("%d packets in the batch", c->fwd.raw.nout);
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

	if (len && p[0] >> 4 == 6) {
		guest_chunk6(c, t, p, len);
		return;
	}
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
		f = pick_flow(c, CH_FLOW(t), AF_INET);
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
	if (chk.refused && !(parsed && confined4(c, inany_v4(&ip.dst))) &&
	    c->fwd.ct.count < c->fwd.ct.max &&
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

/* IPv6 host packets */

/**
 * aim_host6() - make an IPv6 host packet one of a flow's side on the
 *		 host's network, or an ICMPv6 error about a packet the flow
 *		 sent
 * @ip:		packet, fixed header whole
 * @len:	its length
 * @f:		the flow, IPv6
 */
static void aim_host6(uint8_t *ip, size_t len, const struct flow *f)
{
	unsigned int side = ct_side_of(f, PIF_HOST);
	const struct flowside *s = &f->side[side];
	uint8_t *l4 = ip + IP6_HLEN, *q = l4 + ICMP_HLEN, *ql4 = q + IP6_HLEN;

	if (ip[IP6_OFF_NXT] == IPPROTO_ICMPV6 && len >= IP6_HLEN + ICMP_HLEN &&
	    is_icmp6_error(l4[0])) {
		memcpy(ip + offsetof(struct ip6_hdr, ip6_dst), &s->oaddr, 16);
		if (len < IP6_HLEN + ICMP_HLEN + IP6_HLEN)
			return;
		q[0] = (uint8_t)(0x60 | (q[0] & 0xf));
		if (!get16(q + 4))
			put16(q + 4, (uint16_t)(len - (ql4 - ip)));
		memcpy(q + offsetof(struct ip6_hdr, ip6_src), &s->oaddr, 16);
		memcpy(q + offsetof(struct ip6_hdr, ip6_dst), &s->eaddr, 16);
		q[IP6_OFF_NXT] = f->proto;
		if (len < (size_t)(ql4 - ip) + 8)
			return;
		if (f->proto == IPPROTO_ICMPV6) {
			ql4[0] = ICMP6_ECHO_REQUEST;
			put16(ql4 + 4, s->oport);
		} else {
			put16(ql4, s->oport);
			put16(ql4 + 2, s->eport);
		}
		return;
	}

	memcpy(ip + offsetof(struct ip6_hdr, ip6_src), &s->eaddr, 16);
	memcpy(ip + offsetof(struct ip6_hdr, ip6_dst), &s->oaddr, 16);
	ip[IP6_OFF_NXT] = f->proto;
	if (len < IP6_HLEN + 8)
		return;
	aim_l4(l4, len - IP6_HLEN, f, side, ICMP6_ECHO_REPLY);
}

/**
 * fix_l4_sum6() - write a right transport checksum in an IPv6 host packet
 * @ip:		packet, as raw.c rebuilds it: no extension header
 * @len:	its length
 */
static void fix_l4_sum6(uint8_t *ip, size_t len)
{
	uint8_t nh = ip[IP6_OFF_NXT], *l4 = ip + IP6_HLEN;
	size_t coff = csum_l4_offset(nh);
	struct in6_addr s, d;
	uint16_t sum;

	if (len < IP6_HLEN + coff + 2)
		return;
	memcpy(&s, ip + offsetof(struct ip6_hdr, ip6_src), sizeof(s));
	memcpy(&d, ip + offsetof(struct ip6_hdr, ip6_dst), sizeof(d));
	memset(l4 + coff, 0, 2);
	sum = csum_l4_ip6(&s, &d, nh, l4, len - IP6_HLEN);
	if (nh == IPPROTO_UDP && !sum)
		sum = 0xffff;	/* RFC 8200 8.1 */
	memcpy(l4 + coff, &sum, 2);
}

/**
 * l4_sum_trusted6() - tell whether an IPv6 host packet's TCP or UDP
 *		       checksum shows it wasn't corrupted: right, or the
 *		       pseudo-header sum the kernel leaves for an offloaded
 *		       one; never zero (RFC 8200 8.1)
 * @ip:		packet
 * @len:	its length
 *
 * Return: true if so
 */
NOCOV static bool l4_sum_trusted6(const uint8_t *ip, size_t len)
{
	uint8_t nh = ip[IP6_OFF_NXT];
	size_t coff = nh == IPPROTO_TCP ? 16 : 6, l4len = len - IP6_HLEN;
	struct in6_addr s, d;
	uint16_t field, pseudo;

	if (l4len < coff + 2)
		return false;
	memcpy(&field, ip + IP6_HLEN + coff, 2);
	memcpy(&s, ip + offsetof(struct ip6_hdr, ip6_src), sizeof(s));
	memcpy(&d, ip + offsetof(struct ip6_hdr, ip6_dst), sizeof(d));
	pseudo = csum_fold(csum_pseudo6(&s, &d, nh, (uint32_t)l4len));
	if (nh == IPPROTO_UDP && !field)
		return false;
	return field == pseudo || l6_sum_ok(ip, nh, ip + IP6_HLEN, l4len);
}

/**
 * host_flow6() - the flow an IPv6 host packet belongs to, found
 *		  independently
 * @c:		context
 * @ip:		packet, as raw.c hands it over: fixed header, payload
 *		length right, next header TCP, UDP or ICMPv6
 * @len:	its length
 * @err:	set if it is an ICMPv6 error about the flow
 * @side:	set to the side of the flow it comes on
 *
 * Return: flow number, FLOW_NONE if none (or it can't be parsed)
 */
NOCOV static uint32_t host_flow6(const struct ctx *c, const uint8_t *ip,
				 size_t len, bool *err, unsigned int *side)
{
	const uint8_t *l4 = ip + IP6_HLEN, *q = l4 + ICMP_HLEN;
	uint8_t nh = ip[IP6_OFF_NXT];
	size_t l4len = len - IP6_HLEN, ql4;
	struct flowside k;

	memset(&k, 0, sizeof(k));
	*err = false;
	if (l4len < 8)
		return FLOW_NONE;

	if (nh == IPPROTO_ICMPV6 && l4[0] != ICMP6_ECHO_REPLY) {
		*err = true;
		if (!is_icmp6_error(l4[0]) ||
		    l4len < ICMP_HLEN + IP6_HLEN || q[0] >> 4 != 6 ||
		    !get16(q + 4))
			return FLOW_NONE;
		/* What the quote holds of the transport header, bounded by
		 * its payload length: merd sends no extension header
		 */
		ql4 = MIN((size_t)get16(q + 4), l4len - ICMP_HLEN - IP6_HLEN);
		if (ql4 < 8)
			return FLOW_NONE;
		memcpy(&k.eaddr.a6, q + offsetof(struct ip6_hdr, ip6_dst), 16);
		memcpy(&k.oaddr.a6, q + offsetof(struct ip6_hdr, ip6_src), 16);
		switch (q[IP6_OFF_NXT]) {
		case IPPROTO_ICMPV6:
			if (q[IP6_HLEN] != ICMP6_ECHO_REQUEST)
				return FLOW_NONE;
			k.oport = get16(q + IP6_HLEN + 4);
			break;
		case IPPROTO_TCP:
		case IPPROTO_UDP:
			k.oport = get16(q + IP6_HLEN);
			k.eport = get16(q + IP6_HLEN + 2);
			break;
		default:
			return FLOW_NONE;
		}
		return flow_find(c, q[IP6_OFF_NXT], PIF_HOST, &k, side);
	}

	memcpy(&k.eaddr.a6, ip + offsetof(struct ip6_hdr, ip6_src), 16);
	memcpy(&k.oaddr.a6, ip + offsetof(struct ip6_hdr, ip6_dst), 16);
	switch (nh) {
	case IPPROTO_TCP:
		if (l4len < 20 || l4[12] >> 4 < 5 ||
		    (size_t)(l4[12] >> 4) * 4 > l4len)
			return FLOW_NONE;
		break;
	case IPPROTO_UDP:
		if (get16(l4 + 4) < 8 || get16(l4 + 4) > l4len)
			return FLOW_NONE;
		break;
	default:
		k.oport = get16(l4 + 4);
		return flow_find(c, nh, PIF_HOST, &k, side);
	}
	k.eport = get16(l4);
	k.oport = get16(l4 + 2);
	return flow_find(c, nh, PIF_HOST, &k, side);
}

/**
 * error_src6() - whom a translated ICMPv6 error must come from
 * @c:		context
 * @f:		the flow
 * @hs:		its side on the host's network
 * @src:	source of the error
 *
 * Return: the peer's address as the guest knows it for the peer (unless
 *	   the guest knows it as the router address), the router address
 *	   for the host itself, else the router that sent it
 */
NOCOV static struct in6_addr error_src6(const struct ctx *c,
					const struct flow *f, unsigned int hs,
					const struct in6_addr *src)
{
	const struct flowside *h = &f->side[hs], *t = &f->side[ct_other(hs)];

	if (IN6_ARE_ADDR_EQUAL(src, &h->eaddr.a6) &&
	    !inany_equals(&h->eaddr, &t->oaddr))
		return t->oaddr.a6;
	if (IN6_IS_ADDR_LOOPBACK(src) || IN6_ARE_ADDR_EQUAL(src, &c->host.out6))
		return c->guest6.gw;
	return *src;
}

/**
 * host_chunk6() - an IPv6 packet from a raw socket
 * @c:		context
 * @t:		chunk kind and flags
 * @p:		packet, from its fixed header
 * @len:	its length
 *
 * Made what raw.c hands on (raw6_header()): version 6, the fixed header
 * alone, payload length right, next header the socket's (TCP, UDP or
 * ICMPv6), whose checksum the kernel checked (RFC 4443 2.3).
 */
static void host_chunk6(struct ctx *c, uint8_t t, const uint8_t *p,
			size_t len)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMPV6 };
	const struct flow *f = NULL;
	unsigned long dropped;
	unsigned int side = 0, i;
	size_t thl = 8;
	struct in6_addr src;
	uint32_t idx;
	uint8_t *buf;
	bool err, known = false;

	if (len < IP6_HLEN)
		return;
	buf = malloc(len);	/* exactly: reads past it are caught */
	if (!buf)
		abort();
	memcpy(buf, p, len);
	buf[0] = (uint8_t)(0x60 | (buf[0] & 0xf));
	put16(buf + 4, (uint16_t)(len - IP6_HLEN));
	for (i = 0; i < sizeof(protos); i++)
		known |= buf[IP6_OFF_NXT] == protos[i];
	if (!known)
		buf[IP6_OFF_NXT] = protos[buf[IP6_OFF_NXT] % sizeof(protos)];
	if (t & CH_AIM)
		f = pick_flow(c, CH_FLOW(t), AF_INET6);
	if (f)
		aim_host6(buf, len, f);
	if ((t & CH_FIX) || buf[IP6_OFF_NXT] == IPPROTO_ICMPV6)
		fix_l4_sum6(buf, len);

	memcpy(st.pkt, buf, len);
	idx = host_flow6(c, buf, len, &err, &side);
	memcpy(&src, buf + offsetof(struct ip6_hdr, ip6_src), sizeof(src));

	chk_start(idx == FLOW_NONE ? SRC_NOFLOW : SRC_HOST);
	chk.err = err;
	chk.vtf = get32(buf);
	if (idx != FLOW_NONE) {
		uint8_t hops = buf[offsetof(struct ip6_hdr, ip6_hlim)];
		const struct flowside *from, *to;

		chk.f = c->fwd.ct.flows[idx];
		chk.side = side;
		from = &chk.f.side[side];
		to = &chk.f.side[ct_other(side)];
		if (err) {
			const uint8_t *q = buf + IP6_HLEN + ICMP_HLEN;
			size_t have = len - IP6_HLEN - ICMP_HLEN - IP6_HLEN;

			chk.esrc6 = error_src6(c, &chk.f, side, &src);
			chk.ttl = hops > 1 ? (uint8_t)(hops - 1) : 1;
			chk.qlen = get16(q + 4);
			chk.qsum_ok = chk.qlen <= have &&
				      l6_sum_ok(q, chk.f.proto, q + IP6_HLEN,
						chk.qlen);
		} else {
			/* The host itself (the router address) is no hop */
			bool hop = inany_equals(&from->eaddr, &to->oaddr);

			chk.ttl = hop ? (uint8_t)(hops - 1) : hops;
			if (hop && hops <= 1)
				chk.src = SRC_NOFLOW;	/* no hop left */
			if (buf[IP6_OFF_NXT] != IPPROTO_ICMPV6 &&
			    !l4_sum_trusted6(buf, len))
				chk.src = SRC_NOFLOW;	/* corrupted */
		}
	}
	if (buf[IP6_OFF_NXT] == IPPROTO_TCP && len >= IP6_HLEN + 20) {
		thl = (size_t)(buf[IP6_HLEN + 12] >> 4) * 4;
		chk.seq = get32(buf + IP6_HLEN + 4);
	}

	dropped = c->tap.tx.dropped;
	fwd_from_host(c, (struct pkt){ buf, len }, 0);
	take_queued(c, dropped);
	free(buf);

	/* Everything after the transport header, whole and in order */
	if (chk.src == SRC_HOST && !chk.err && chk.datagrams &&
	    c->tap.tx.dropped == dropped && IP6_HLEN + thl <= len &&
	    (chk.acc_len != len - IP6_HLEN - thl ||
	     memcmp(chk.acc, st.pkt + IP6_HLEN + thl, chk.acc_len)))
		FAIL("%zu payload bytes reached the guest in %u IPv6 "
		     "datagrams, %zu sent, %s", chk.acc_len, chk.datagrams,
		     len - IP6_HLEN - thl,
		     chk.acc_len == len - IP6_HLEN - thl ? "changed" : "");
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

	if (len && p[0] >> 4 == 6) {
		host_chunk6(c, t, p, len);
		return;
	}
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
		f = pick_flow(c, CH_FLOW(t), AF_INET);
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
	fwd_from_host(c, (struct pkt){ buf, len }, 0);
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
	/* The guest of MTU_MAX behind 1500 or 576: where --tso cuts */
	c->opts.tso = CTL_CONF(ctl) == 1;
	c->host.dns4_lo.s_addr = CTL_CONF(ctl) == 1 ? htonl(0x7f000035) : 0;
	c->host.dns6_lo = CTL_CONF(ctl) == 1 ? in6addr_loopback : in6addr_any;
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
	fm6.n = 0;
	fm6.full = false;
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
