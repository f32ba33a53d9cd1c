// SPDX-License-Identifier: GPL-2.0-or-later
/* fwd.c - the router: guest packets out from the host's address, answers in
 *
 * Copyright (c) 2026 merd authors
 *
 * DOC: Theory of Operation
 *
 * merd is the guest's router. What the guest sends over IPv4 (TCP, UDP,
 * ICMP echo) leaves from the host's own address through raw sockets, as the
 * guest's own packets with only addresses, ports and TTL changed: the
 * guest's TCP talks to the peer's TCP end to end.
 *
 * Guest to peer (fwd_from_guest()):
 *   checks (no spoofing: anything the guest sends leaves from the host's
 *   address, only to unicast destinations, only TCP, UDP and ICMP echo),
 *   reassembly of fragments (frag.c), TTL (ICMP time exceeded from the
 *   gateway when it runs out), the flow (conntrack.c: found, or created,
 *   below), size against the uplink's MTU (ICMP fragmentation needed if DF
 *   is set), then the headers are copied into a send slot and rewritten with
 *   incremental checksums (nat.c), and the packet joins a batch for
 *   sendmmsg() on the IPPROTO_RAW socket (raw.c), headers from the copy,
 *   payload straight from qemu's stream buffer. With --tso, a TCP segment
 *   larger than the path takes, on a flow where merd told the guest its
 *   own link's MSS (fwd_tso_syn()), joins it as pieces the path takes
 *   (tcp.c).
 *
 * Peer to guest (fwd_from_host(), called by raw.c for each packet read):
 *   the same parsers, the flow by its host side, the headers copied and
 *   rewritten, and the packet cut to the guest's MTU: TCP into segments
 *   (tcp.c), other datagrams into fragments. ICMP errors about a flow are
 *   translated, the packet they quote included (icmp.c).
 *
 * A packet arriving on one side of a flow leaves on the other from that
 * side's "our" address and port to its endpoint (conntrack.c): the same
 * rewrite serves both directions.
 *
 * The gateway address means the host itself: traffic to it goes to the
 * host's loopback (DNS to the host's loopback resolver, if it has one) and
 * answers come back from the gateway address. --no-map-gw turns that off.
 *
 * DOC: Flow lifecycle and host ports
 *
 * A new flow's host port is picked as RFC 6056's algorithm 1 (3.3.1) does:
 * from a random place among merd's claimed ports, the first one free
 * toward the peer. So consecutive flows, to one peer or many, show no
 * sequence an off-path attacker could follow (RFC 5452 asks it of a
 * resolver's source ports, which the guest's resolver chose at random and
 * merd would otherwise undo). A port is free for this peer unless a flow
 * to this very peer holds it, TIME_WAIT included, which avoids algorithm
 * 1's one weakness, reusing a tuple the peer still holds: one lookup per
 * try, no system call, and while less than half the ports toward a peer
 * are taken, fewer than two tries on average. A port
 * serves any number of flows to different peers (conntrack.c's tuple
 * rule). When merd's claimed ports are all taken for that peer, it claims
 * another block (port.c).
 *
 * Finished flows give way: when no port merd holds is free toward the
 * peer and it may claim no more blocks, the oldest finished flow among
 * FWD_PROBE_FREE tries hands over its port (TCP closed or in TIME_WAIT, those the guest closed first before
 * those the peer did, so that the peer holds no TIME_WAIT of its own for
 * the tuple; then UDP flows of a single exchange, and echo flows, as Linux
 * conntrack's early drop takes unassured entries). A late segment of the
 * old connection can't reach the new one: the new flow takes from the peer
 * only a SYN-ACK for its own SYN, then only segments in its window
 * (conntrack.c). When the table is full, the oldest finished flow of all
 * gives way the same way. Only when every flow is live is a new flow
 * refused (a reset, or ICMP administratively prohibited).
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "conntrack.h"
#include "csum.h"
#include "frag.h"
#include "fwd.h"
#include "icmp.h"
#include "icmp6.h"
#include "inbound.h"
#include "ip4.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "nat.h"
#include "port.h"
#include "raw.h"
#include "siphash.h"
#include "tap.h"
#include "tcp.h"

/* Loopback's MTU: traffic to the gateway address goes there */
#define LOOPBACK_MTU	65536
#define DNS_PORT	53
/* Ports tried for one free toward a peer before a finished flow to that
 * peer gives way: a bound on the work per new flow
 */
#define FWD_PROBE_FREE	32
/* TIME_WAIT flows looked at, oldest first, for one the guest closed first,
 * when the table is full
 */
#define FWD_TW_SCAN	32
/* Linux conntrack: a UDP flow answered, with traffic still going after
 * this many seconds, is a stream (nf_conntrack_proto_udp.c, stream_ts)
 */
#define FWD_UDP_STREAM_AFTER	2
/* RFC 8200 4.5: reassembly gives up 60 s after the first fragment */
#define FWD_FRAG6_TIMEOUT	60
/* RFC 3927: IPv4 link-local addresses, 169.254.0.0/16, host order */
#define FWD_LL4_NET	0xa9fe0000

/* How readily a finished flow gives way: lower first */
enum fwd_rank {
	FWD_RANK_CLOSED,	/* TCP reset, or closed by the guest first */
	FWD_RANK_PEER_CLOSED,	/* TCP closed by the peer first */
	FWD_RANK_UNASSURED,	/* UDP of one exchange, ICMP echo */
	FWD_RANK_LIVE,		/* never given away */
};

/**
 * fwd_proto_name() - name of a forwarded protocol, for the trace
 * @proto:	IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6
 *
 * Return: "TCP", "UDP", "ICMP" or "ICMPv6"
 */
const char *fwd_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	default:
		return "ICMP";
	}
}

/**
 * fwd_port_class() - how a flow of a protocol holds its port
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 *
 * Return: port class
 */
static enum port_class fwd_port_class(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return PORT_TCP;
	case IPPROTO_UDP:
		return PORT_UDP;
	default:
		return PORT_ICMP;
	}
}

/**
 * fwd_host_side() - the side of a flow on the host's network
 * @f:		flow
 *
 * Return: the flowside
 */
static const struct flowside *fwd_host_side(const struct flow *f)
{
	return &f->side[ct_side_of(f, PIF_HOST)];
}

/**
 * fwd_filter_update() - rebuild the raw sockets' filters for the claimed
 *			 port blocks, if they changed
 * @c:		context
 */
static void fwd_filter_update(struct ctx *c)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	struct port_range blocks[PORT_RANGES_MAX];
	struct raw_ranges rr = { .n = { 0 } };
	unsigned int i;
	int n, ret;

	if (!c->fwd.ports.changed)
		return;
	n = port_ranges(&c->fwd.ports, blocks, PORT_RANGES_MAX);

	/* Forwarded ports and claimed blocks, fit together */
	static_assert(PORT_RANGES_MAX < RAW_RANGES_MAX, "room for both");
	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		enum port_class cls = fwd_port_class(protos[i]);
		int m = fwdrule_ranges(&c->fwd.rules, protos[i], rr.r[cls],
				       RAW_RANGES_MAX - PORT_RANGES_MAX);

		memcpy(&rr.r[cls][m], blocks, (size_t)n * sizeof(*blocks));
		rr.n[cls] = (m + n) ? fwdrule_fit(rr.r[cls], m + n,
						RAW_RANGES_MAX) : 0;
	}
	memcpy(rr.r[PORT_ICMP], blocks, (size_t)n * sizeof(*blocks));
	rr.n[PORT_ICMP] = n;

	ret = raw_filter_classes(&c->fwd.raw, &rr);
	if (ret)
		err("can't update the raw socket filters: %s", strerror(-ret));
	else
		debug("raw socket filters now cover %d, %d and %d port ranges",
		      rr.n[PORT_TCP], rr.n[PORT_UDP], rr.n[PORT_ICMP]);
}

/**
 * fwd_init() - open raw sockets, allocate flows, ports and buffers
 * @c:		context, configuration complete
 * @max_blocks:	most port blocks the descriptor limit allows
 *
 * Return: 0 on success, -errno (-EPERM or -EACCES: no raw sockets)
 */
int fwd_init(struct ctx *c, uint32_t max_blocks)
{
	struct fwd *fwd = &c->fwd;
	int ret, i;

	/* IPv6 sockets also while the host has no IPv6: it may get some */
	ret = raw_init(&fwd->raw, c->opts.v6);
	if (ret == -EAFNOSUPPORT && c->opts.v6) {
		info("the kernel has no IPv6: serving IPv4 only");
		c->guest6.enabled = c->opts.v6 = false;
		ret = raw_init(&fwd->raw, false);
	}
	if (ret)
		return ret;
	uplink_init(c);
	ret = ct_init(&fwd->ct, c->opts.flows_max);
	if (ret)
		return ret;
	for (i = 0; i < CT_STATES; i++)
		if (c->opts.ct_timeout[i])
			fwd->ct.timeout[i] = c->opts.ct_timeout[i];
	ret = port_init(&fwd->ports, c->opts.ports_lo, c->opts.ports_hi,
			max_blocks);
	if (ret)
		return ret;
	ret = frag_init(&fwd->frag);
	if (ret)
		return ret;
	fwd->scratch = malloc(RAW_PKT_MAX);
	if (!fwd->scratch)
		return -ENOMEM;
	tap_ref_range(c, fwd->raw.in, (size_t)RAW_BATCH * RAW_PKT_MAX);
	if (getrandom(fwd->port_key, sizeof(fwd->port_key), 0) !=
	    sizeof(fwd->port_key))
		return -EIO;

	return 0;
}

/**
 * fwd_ports_init() - claim the first block of host ports
 * @c:		context, after fwd_init()
 *
 * So that a merd that can't hold ports fails at start, not with its first
 * flow.
 *
 * Return: 0 on success, -ENOSPC if no block is free, -EACCES without the
 *	   privilege for ports below 1024, other -errno
 */
int fwd_ports_init(struct ctx *c)
{
	struct ports *p = &c->fwd.ports;
	int ret;

	ret = port_claim(p, c->now);
	if (ret == -ENOSPC) {
		/* Tell a port merd may not bind from one that is taken */
		int fd = port_hold(PORT_TCP, p->lo);

		if (fd < 0)
			return fd == -EADDRINUSE ? -ENOSPC : fd;
		close(fd);
	}
	if (ret)
		return ret;
	fwd_filter_update(c);
	return 0;
}

/**
 * fwd_release() - release what a flow holds and forget it
 * @c:		context
 * @idx:	flow number
 * @why:	for the trace
 */
static void fwd_release(struct ctx *c, uint32_t idx, const char *why)
{
	const struct flow *f = &c->fwd.ct.flows[idx];
	const struct flowside *h = fwd_host_side(f);

	trace(c, "flow %u: %s %s:%u, host port %u, %s", idx,
	      fwd_proto_name(f->proto), inany_ntop(&h->eaddr).s, h->eport,
	      h->oport, why);

	if (f->flags & CT_PORT_HELD)
		port_unref(&c->fwd.ports, fwd_port_class(f->proto), h->oport,
			   c->now);
	ct_remove(&c->fwd.ct, idx);
}

/**
 * fwd_cleanup() - release everything at exit
 * @c:		context
 */
void fwd_cleanup(struct ctx *c)
{
	fwd_forget(c);
	port_free(&c->fwd.ports);
	ct_free(&c->fwd.ct);
	frag_free(&c->fwd.frag);
	raw_close(&c->fwd.raw);
	uplink_close(&c->fwd.up);
	free(c->fwd.scratch);
}

/**
 * fwd_forget() - forget every flow: the guest went away
 * @c:		context
 */
void fwd_forget(struct ctx *c)
{
	struct conntrack *ct = &c->fwd.ct;
	int s;

	for (s = 0; ct->flows && s < CT_STATES; s++)
		while (ct->aging[s].head != FLOW_NONE)
			fwd_release(c, ct->aging[s].head, "guest gone");
	c->fwd.raw.nout = 0;
	frag_flush(&c->fwd.frag);
	memset(c->fwd.frag6, 0, sizeof(c->fwd.frag6));
}

/**
 * typedef fwd_flow_pred - tells whether fwd_release_where() ends a flow
 * @c:		context
 * @f:		the flow
 * @arg:	what the caller passed on
 *
 * Return: true to end it
 */
typedef bool (*fwd_flow_pred)(const struct ctx *c, const struct flow *f,
			      const void *arg);

/**
 * fwd_release_where() - end every flow a predicate picks
 * @c:		context
 * @pred:	the predicate
 * @arg:	passed to it
 * @why:	for the trace
 *
 * Return: number of flows ended
 */
static uint32_t fwd_release_where(struct ctx *c, fwd_flow_pred pred,
				  const void *arg, const char *why)
{
	struct conntrack *ct = &c->fwd.ct;
	uint32_t n = 0, idx, next;
	int s;

	for (s = 0; ct->flows && s < CT_STATES; s++) {
		for (idx = ct->aging[s].head; idx != FLOW_NONE; idx = next) {
			next = ct->flows[idx].next;
			if (!pred(c, &ct->flows[idx], arg))
				continue;
			fwd_release(c, idx, why);
			n++;
		}
	}
	return n;
}

/**
 * fwd_from_addr() - fwd_flow_pred: the flow leaves from an address
 * @c:		context
 * @f:		the flow
 * @arg:	union inany_addr, the host's address
 *
 * Return: true if its host side's own address is @arg
 */
static bool fwd_from_addr(const struct ctx *c, const struct flow *f,
			  const void *arg)
{
	(void)c;
	return inany_equals(&fwd_host_side(f)->oaddr, arg);
}

/**
 * fwd_addr_gone() - end the flows that leave from a host address gone
 * @c:		context
 * @addr:	the host's old address
 *
 * Return: number of flows ended
 */
uint32_t fwd_addr_gone(struct ctx *c, const union inany_addr *addr)
{
	return fwd_release_where(c, fwd_from_addr, addr,
				 "the host's address changed");
}

/**
 * fwd_timer() - once a second: expire flows, give back idle port blocks
 * @c:		context
 */
void fwd_timer(struct ctx *c)
{
	uint32_t idx;

	while ((idx = ct_expired(&c->fwd.ct, c->now)) != FLOW_NONE)
		fwd_release(c, idx, "expired");
	port_tick(&c->fwd.ports, c->now);
	fwd_filter_update(c);
	frag_tick(&c->fwd.frag, c->now);
	uplink_timer(c);
}

/**
 * fwd_ll4_refused() - tell whether an IPv4 destination is link-local, and
 *		       not one --allow-link-local lets the guest reach
 * @c:		context
 * @daddr:	destination, network order
 *
 * RFC 3927 2.6.2: 169.254.0.0/16 is never forwarded. Such an address names
 * something on one of the host's own links, such as a cloud's metadata
 * service (169.254.169.254), which hands out the host's credentials.
 *
 * Return: true if the guest may not reach it
 */
static bool fwd_ll4_refused(const struct ctx *c, uint32_t daddr)
{
	int i;

	if ((ntohl(daddr) & IN_CLASSB_NET) != FWD_LL4_NET)
		return false;
	for (i = 0; i < c->opts.ll_allow_n; i++)
		if (c->opts.ll_allow[i].s_addr == daddr)
			return false;
	return true;
}

/**
 * fwd_dst_ok() - tell whether the guest may send to an address
 * @c:		context
 * @daddr:	destination, network order
 *
 * Unicast only: not "this network", loopback (except through the gateway
 * mapping), multicast, reserved, limited broadcast, the guest's subnet
 * broadcast, nor the guest's own address; and not link-local
 * (fwd_ll4_refused()).
 *
 * Return: true if allowed
 */
bool fwd_dst_ok(const struct ctx *c, uint32_t daddr)
{
	uint32_t h = ntohl(daddr), mask = prefix4_mask(c->guest4.prefix_len);

	if (!ip4_is_unicast(daddr) || fwd_ll4_refused(c, daddr))
		return false;
	if (c->guest4.prefix_len < 31 && (h | mask) == 0xffffffff &&
	    (h & mask) == (ntohl(c->guest4.addr.s_addr) & mask))
		return false;	/* the subnet's broadcast address */
	return daddr != c->guest4.addr.s_addr;
}

/**
 * fwd_dst6_ok() - tell whether the guest may send to an IPv6 address
 * @c:		context
 * @daddr:	destination
 *
 * Global unicast only (ip6_is_unicast()), and none of the guest's own.
 *
 * Return: true if allowed
 */
bool fwd_dst6_ok(const struct ctx *c, const struct in6_addr *daddr)
{
	int i;

	if (!ip6_is_unicast(daddr) ||
	    IN6_ARE_ADDR_EQUAL(daddr, &c->guest6.addr))
		return false;
	for (i = 0; i < c->guest6.own_n; i++)
		if (IN6_ARE_ADDR_EQUAL(daddr, &c->guest6.own[i]))
			return false;
	return true;
}

/**
 * fwd_dst_host() - tell whether a destination is one of the host's own
 * @c:		context
 * @dst:	destination
 *
 * Any address of the host, on any interface (host.c keeps the list): a
 * docker0 or VPN address, whose services trust the host, as much as the
 * uplink's. The guest reaches the host only through the gateway mapping.
 * With more addresses of the family than merd keeps, every destination
 * of that family counts as the host's: merd can't tell.
 *
 * Return: true if it is the host's, or might be
 */
static bool fwd_dst_host(const struct ctx *c, const union inany_addr *dst)
{
	const struct host_conf *h = &c->host;
	int i;

	if (inany_is_v4(dst)) {
		uint32_t a = inany_v4(dst);

		if (h->addrs4_n > HOST_ADDRS_MAX)
			return true;
		for (i = 0; i < h->addrs4_n; i++)
			if (h->addrs4[i].s_addr == a)
				return true;
		return false;
	}
	if (h->addrs6_n > HOST_ADDRS_MAX)
		return true;
	for (i = 0; i < h->addrs6_n; i++)
		if (IN6_ARE_ADDR_EQUAL(&h->addrs6[i], &dst->a6))
			return true;
	return false;
}

/**
 * fwd_to_host() - fwd_flow_pred: the guest opened the flow toward an
 *		   address of the host's
 * @c:		context
 * @f:		the flow
 * @arg:	unused
 *
 * Return: true if so
 */
static bool fwd_to_host(const struct ctx *c, const struct flow *f,
			const void *arg)
{
	(void)arg;
	return f->pif[INISIDE] == PIF_TAP &&
	       fwd_dst_host(c, &fwd_host_side(f)->eaddr);
}

/**
 * fwd_confine_flows() - end the guest's flows to what became the host's
 *			 own address
 * @c:		context, the host's new addresses set
 *
 * Flows the guest opened toward an address the host has now would reach
 * the host itself from here on. Those through the gateway mapping, and
 * those opened by a peer, stay.
 *
 * Return: number of flows ended
 */
uint32_t fwd_confine_flows(struct ctx *c)
{
	return fwd_release_where(c, fwd_to_host, NULL,
				 "its peer is the host's address");
}

/**
 * fwd_refuse_confined() - refuse a guest packet to where it may not go
 * @c:		context
 * @ip:		the packet, to a unicast address
 * @what:	what the destination is, for the trace
 *
 * ICMP "communication administratively prohibited" (RFC 1812 5.2.7.1,
 * RFC 4443 3.1), as a filtering router answers: the guest's connect()
 * fails at once (EHOSTUNREACH, or EACCES over IPv6), whatever the
 * protocol, and nothing reaches the host or the link.
 */
static void fwd_refuse_confined(struct ctx *c, const struct ip_view *ip,
				const char *what)
{
	drop(c, DROP_CONFINED, "fwd: packet to %s refused: %s",
	     inany_ntop(&ip->dst).s, what);
	if (ip->family == AF_INET6)
		icmp6_error(c, ICMP6_DST_UNREACH, ICMP6_CODE_ADMIN, 0, ip);
	else
		icmp_error(c, ICMP_DEST_UNREACH, ICMP_CODE_ADMIN_PROHIBITED, 0,
			   c->guest4.gw.s_addr, ip);
}

/**
 * fwd_dst_ll() - tell whether a guest packet goes to a link-local address
 *		  it may not reach
 * @c:		context
 * @ip:		the packet
 *
 * IPv4: fwd_ll4_refused(). IPv6: any link-local address (RFC 4291 2.5.6:
 * never forwarded) but the router's, where it means the host.
 *
 * Return: true if it is to be refused
 */
static bool fwd_dst_ll(const struct ctx *c, const struct ip_view *ip)
{
	if (ip->family == AF_INET)
		return fwd_ll4_refused(c, inany_v4(&ip->dst));
	return IN6_IS_ADDR_LINKLOCAL(&ip->dst.a6) &&
	       (c->opts.no_map_gw ||
		!IN6_ARE_ADDR_EQUAL(&ip->dst.a6, &c->guest6.gw));
}

/**
 * fwd_rank() - how readily a flow gives way to a new one
 * @f:		flow
 *
 * Return: enum fwd_rank
 */
static enum fwd_rank fwd_rank(const struct flow *f)
{
	unsigned int tap = ct_side_of(f, PIF_TAP);

	switch (f->state) {
	case CT_TCP_CLOSE:
		return FWD_RANK_CLOSED;
	case CT_TCP_TIME_WAIT:
		return (f->flags & CT_FIN_FIRST(tap)) ? FWD_RANK_CLOSED :
							 FWD_RANK_PEER_CLOSED;
	case CT_UDP:
	case CT_ICMP:
		return FWD_RANK_UNASSURED;
	default:
		return FWD_RANK_LIVE;
	}
}

/**
 * fwd_older() - tell whether a flow gives way before another
 * @a:		flow
 * @b:		flow, or NULL
 *
 * Return: true if @a ranks lower, or the same and expires sooner
 */
static bool fwd_older(const struct flow *a, const struct flow *b)
{
	if (!b)
		return true;
	if (fwd_rank(a) != fwd_rank(b))
		return fwd_rank(a) < fwd_rank(b);
	return (int32_t)(a->expires - b->expires) < 0;
}

/**
 * fwd_reclaim() - make room in a full table: the oldest finished flow goes
 * @c:		context
 *
 * Reset flows first, then one in TIME_WAIT that the guest closed first
 * (among the oldest few), then the oldest in TIME_WAIT, then UDP flows of
 * a single exchange, then echo flows.
 *
 * Return: true if a flow went, false if every flow is live
 */
static bool fwd_reclaim(struct ctx *c)
{
	static const enum ct_state then[] = { CT_TCP_TIME_WAIT, CT_UDP,
					      CT_ICMP };
	struct conntrack *ct = &c->fwd.ct;
	uint32_t idx = ct->aging[CT_TCP_CLOSE].head, tw;
	unsigned int i, n;

	for (tw = ct->aging[CT_TCP_TIME_WAIT].head, n = 0;
	     idx == FLOW_NONE && tw != FLOW_NONE && n < FWD_TW_SCAN;
	     tw = ct->flows[tw].next, n++)
		if (fwd_rank(&ct->flows[tw]) == FWD_RANK_CLOSED)
			idx = tw;
	for (i = 0; idx == FLOW_NONE && i < ARRAY_SIZE(then); i++)
		idx = ct->aging[then[i]].head;
	if (idx == FLOW_NONE)
		return false;
	fwd_release(c, idx, "given way: table full");
	return true;
}

/**
 * fwd_port_draw() - a random place among the claimed ports to start from
 * @c:		context
 *
 * SipHash of a counter under a key from getrandom() at start: as good as
 * getrandom() for an observer, with no system call per flow.
 *
 * Return: 32 random bits, to be taken modulo the ports claimed
 */
static uint32_t fwd_port_draw(struct ctx *c)
{
	uint64_t n = c->fwd.port_draws++;

	return (uint32_t)siphash_words(&n, 1, c->fwd.port_key);
}

/**
 * fwd_port_pick() - pick the host port of a new flow toward a peer
 * @c:		context
 * @proto:	protocol
 * @hs:		the flow's host side, but @oport, which is set on success
 * @victim:	set to a finished flow that must give way first (it holds
 *		the port toward this peer), or FLOW_NONE
 *
 * A free port of the claimed blocks first, then a free one of a newly
 * claimed block; only when merd may claim no more does a finished flow
 * toward the peer give way, the oldest among FWD_PROBE_FREE tries.
 *
 * Return: 0 on success, -ENOSPC if every port toward the peer is live
 */
static int fwd_port_pick(struct ctx *c, uint8_t proto, struct flowside *hs,
			 uint32_t *victim)
{
	struct ports *p = &c->fwd.ports;
	enum port_class cls = fwd_port_class(proto);
	uint32_t start, i, idx, tries;
	uint16_t port;

	start = fwd_port_draw(c);
	for (;;) {
		uint32_t n = port_count(p);
		bool more = port_claimable(p, c->now);
		const struct flow *best = NULL;
		uint16_t best_port = 0;

		*victim = FLOW_NONE;
		for (i = tries = 0; i < n; i++) {
			port = port_nth(p, cls, (start + i) % n);
			if (!port)	/* past a short last block, or not ours */
				continue;
			tries++;
			hs->oport = port;
			idx = ct_lookup(&c->fwd.ct, proto, PIF_HOST, hs, NULL);
			if (idx == FLOW_NONE) {
				*victim = FLOW_NONE;
				return 0;
			}
			if (fwd_rank(&c->fwd.ct.flows[idx]) != FWD_RANK_LIVE &&
			    fwd_older(&c->fwd.ct.flows[idx], best)) {
				best = &c->fwd.ct.flows[idx];
				best_port = port;
				*victim = idx;
			}
			if (!more && best && tries >= FWD_PROBE_FREE)
				break;
		}
		if (more && !port_claim(p, c->now)) {
			fwd_filter_update(c);
			continue;
		}
		if (!best)
			return -ENOSPC;
		hs->oport = best_port;
		return 0;
	}
}

/**
 * struct fwd_route - where a guest packet goes
 * @mapped:	to the gateway (router) address, which means the host
 * @haddr:	host address it leaves from
 * @raddr:	where the host sends it
 * @mtu:	MTU toward there
 */
struct fwd_route {
	bool mapped;
	union inany_addr haddr;
	union inany_addr raddr;
	size_t mtu;
};

/**
 * fwd_route6() - decide where a guest's IPv6 packet goes
 * @c:		context
 * @ip:		the packet
 * @dns:	it is for the DNS port
 * @r:		filled in
 */
static void fwd_route6(const struct ctx *c, const struct ip_view *ip,
		       bool dns, struct fwd_route *r)
{
	r->mapped = !c->opts.no_map_gw &&
		    IN6_ARE_ADDR_EQUAL(&ip->dst.a6, &c->guest6.gw);
	if (r->mapped) {
		r->haddr.a6 = in6addr_loopback;
		r->raddr.a6 = (dns && !IN6_IS_ADDR_UNSPECIFIED(&c->host.dns6_lo)) ?
			      c->host.dns6_lo : in6addr_loopback;
		r->mtu = LOOPBACK_MTU;
	} else {
		r->haddr.a6 = c->host.out6;
		r->raddr = ip->dst;
		r->mtu = c->host.mtu;
	}
}

/**
 * fwd_route() - decide where a guest packet goes
 * @c:		context
 * @ip:		the packet
 * @l4:		its transport header
 * @r:		filled in
 */
static void fwd_route(const struct ctx *c, const struct ip_view *ip,
		      const struct l4_view *l4, struct fwd_route *r)
{
	uint32_t daddr = inany_v4(&ip->dst);
	bool dns = l4->dport == DNS_PORT;

	if (ip->family == AF_INET6) {
		fwd_route6(c, ip, dns, r);
		return;
	}
	r->mapped = !c->opts.no_map_gw && daddr == c->guest4.gw.s_addr;
	if (r->mapped) {
		inany_from_v4(&r->haddr, htonl(INADDR_LOOPBACK));
		inany_from_v4(&r->raddr, (dns && c->host.dns4_lo.s_addr) ?
			      c->host.dns4_lo.s_addr : htonl(INADDR_LOOPBACK));
		r->mtu = LOOPBACK_MTU;
	} else {
		inany_from_v4(&r->haddr, c->host.out4.s_addr);
		r->raddr = ip->dst;
		r->mtu = c->host.mtu;
	}
}

/**
 * fwd_flow_new() - start a flow for a guest packet
 * @c:		context
 * @ip:		its first packet
 * @l4:		its transport header
 * @r:		where it goes
 *
 * Return: flow number, FLOW_NONE if every flow, or every port toward the
 *	   peer, is live
 */
static uint32_t fwd_flow_new(struct ctx *c, const struct ip_view *ip,
			     const struct l4_view *l4,
			     const struct fwd_route *r)
{
	struct conntrack *ct = &c->fwd.ct;
	struct flowside hs = { .eport = l4->dport };
	uint32_t idx, victim;
	struct flow *f;

	if (ct->count >= ct->max && !fwd_reclaim(c)) {
		drop(c, DROP_TABLE_FULL, "fwd: flow table full (%u), new "
		     "flow refused", ct->max);
		return FLOW_NONE;
	}

	hs.eaddr = r->raddr;
	hs.oaddr = r->haddr;
	if (fwd_port_pick(c, ip->proto, &hs, &victim))
		goto refuse;
	if (victim != FLOW_NONE)
		fwd_release(c, victim, "given way: its port is taken over");
	if (port_ref(&c->fwd.ports, fwd_port_class(ip->proto), hs.oport))
		goto refuse;

	idx = ct_alloc(ct);
	f = &ct->flows[idx];
	f->proto = ip->proto;
	f->af = (uint8_t)ip->family;
	f->pif[INISIDE] = PIF_TAP;
	f->pif[TGTSIDE] = PIF_HOST;
	f->side[INISIDE].eaddr = ip->src;
	f->side[INISIDE].oaddr = ip->dst;
	f->side[INISIDE].eport = l4->sport;
	f->side[INISIDE].oport = l4->dport;
	f->side[TGTSIDE] = hs;
	f->flags = CT_PORT_HELD;
	ct_insert(ct, idx, ip->proto == IPPROTO_TCP ? CT_TCP_SYN_SENT :
		  ip->proto == IPPROTO_UDP ? CT_UDP : CT_ICMP, c->now);

	trace(c, "flow %u: %s %s:%u from guest port %u, host port %u", idx,
	      fwd_proto_name(ip->proto), inany_ntop(&hs.eaddr).s, hs.eport,
	      l4->sport, hs.oport);
	return idx;

refuse:
	drop(c, DROP_NO_PORT, "fwd: no host port left toward %s:%u, new flow "
	     "refused", inany_ntop(&hs.eaddr).s, hs.eport);
	return FLOW_NONE;
}

/**
 * fwd_refuse() - tell the guest a new flow can't be had
 * @c:		context
 * @ip:		its first packet
 * @l4:		its transport header
 */
static void fwd_refuse(struct ctx *c, const struct ip_view *ip,
		       const struct l4_view *l4)
{
	if (ip->proto == IPPROTO_TCP)
		tcp_rst(c, ip, l4);
	else if (ip->family == AF_INET6)
		icmp6_error(c, ICMP6_DST_UNREACH, ICMP6_CODE_ADMIN, 0, ip);
	else
		icmp_error(c, ICMP_DEST_UNREACH, ICMP_CODE_ADMIN_PROHIBITED, 0,
			   c->guest4.gw.s_addr, ip);
}

/**
 * fwd_flow_get() - find or start the flow of a guest packet
 * @c:		context
 * @ip:		packet
 * @l4:		its transport header
 * @r:		where it goes
 * @side:	set to the side of the flow it came on
 *
 * Return: flow number, or FLOW_NONE after answering the guest (reset or
 *	   ICMP error) or dropping the packet
 */
static uint32_t fwd_flow_get(struct ctx *c, const struct ip_view *ip,
			     const struct l4_view *l4,
			     const struct fwd_route *r, unsigned int *side)
{
	struct flowside key;
	uint32_t idx;

	flowside_set(&key, &ip->src, l4->sport, &ip->dst, l4->dport);
	idx = ct_lookup(&c->fwd.ct, ip->proto, PIF_TAP, &key, side);
	if (idx != FLOW_NONE)
		return idx;

	/* Only a SYN opens a TCP flow; anything else is for a connection
	 * merd doesn't know (anymore): reset, as the peer would
	 */
	if (ip->proto == IPPROTO_TCP &&
	    (l4->flags & (TH_SYN | TH_ACK)) != TH_SYN) {
		tcp_rst(c, ip, l4);
		return FLOW_NONE;
	}

	if (!r->mapped && fwd_dst_host(c, &ip->dst)) {
		fwd_refuse_confined(c, ip, "the host's own address, reached "
				    "only through the gateway");
		return FLOW_NONE;
	}

	*side = INISIDE;
	idx = fwd_flow_new(c, ip, l4, r);
	if (idx == FLOW_NONE)
		fwd_refuse(c, ip, l4);
	return idx;
}

/**
 * fwd_track() - advance a flow's state for a packet, refresh its timeout
 * @c:		context
 * @idx:	flow number
 * @side:	side the packet came from
 * @l4:		its transport header
 * @len:	its length, IP header included, for the flow's counters
 *
 * Return: 0 to forward the packet, -1 to drop it (out of the window)
 */
static int fwd_track(struct ctx *c, uint32_t idx, unsigned int side,
		     const struct l4_view *l4, size_t len)
{
	struct flow *f = &c->fwd.ct.flows[idx];
	enum ct_state s = f->state;

	switch (f->proto) {
	case IPPROTO_TCP:
		if (ct_tcp_track(f, side, l4, &s)) {
			drop(c, DROP_WINDOW, "flow %u: TCP segment from the %s "
			     "out of the window, dropped", idx,
			     f->pif[side] == PIF_TAP ? "guest" : "peer");
			return -1;
		}
		break;
	case IPPROTO_UDP:
		/* Linux conntrack: answered, and still going two seconds
		 * on, it is a stream (and no longer gives way)
		 */
		if ((f->flags & CT_REPLIED) &&
		    c->now - f->created >= FWD_UDP_STREAM_AFTER)
			s = CT_UDP_STREAM;
		if (side == TGTSIDE)
			f->flags |= CT_REPLIED;
		break;
	default:
		break;
	}
	ct_refresh(&c->fwd.ct, idx, s, c->now);
	f->pkts[side]++;
	f->bytes[side] += len;
	return 0;
}

/**
 * fwd_path_mtu() - the MTU toward a flow's peer, as fwd_route() has it
 * @c:		context
 * @f:		flow
 *
 * Return: the uplink's MTU; loopback's for a peer that is the host itself
 *	   (the gateway mapping, or the host's own connection to a
 *	   forwarded port)
 */
static size_t fwd_path_mtu(const struct ctx *c, const struct flow *f)
{
	const union inany_addr *peer = &fwd_host_side(f)->eaddr;

	if (inany_is_v4(peer) ? ip4_is_loopback(inany_v4(peer)) :
	    IN6_IS_ADDR_LOOPBACK(&peer->a6))
		return LOOPBACK_MTU;
	return fwd_dst_host(c, peer) ? LOOPBACK_MTU : c->host.mtu;
}

/**
 * fwd_tso_syn() - offer the guest segments as large as its link takes, in
 *		   the peer's SYN (or SYN-ACK) on its way to the guest
 * @c:		context
 * @f:		the flow
 * @th:		the SYN's TCP header, options included, in merd's copy
 * @v6:		the flow is IPv6
 *
 * The guest's TCP sends segments of the MSS the peer announced, which the
 * peer sized for its own link (RFC 9293 3.7.1). Where the guest's link
 * takes more than the path does (guest MTU 65520 behind an uplink of 1500),
 * the guest is told the MSS its link allows instead, and merd remembers
 * the one the path takes: the smaller of the peer's and what the host's
 * route allows. tcp_to_host() then cuts the guest's large segments to it,
 * as a NIC's segmentation offload would, and the guest spends one frame
 * and merd one look-up on what was some 45 of each. Only with --tso (off
 * by default: doc/design.md says why); nothing changes without an MSS
 * option (the guest keeps the default, and there is no room to add one),
 * where the guest's link is no larger, or where the peer's MSS is below
 * TCP_TSO_MSS_MIN.
 */
static void fwd_tso_syn(const struct ctx *c, struct flow *f, struct wpkt th,
			bool v6)
{
	size_t hdrs = (v6 ? IP6_HLEN : IP4_HLEN_MIN) + TCP_HLEN_MIN;
	size_t mtu = fwd_path_mtu(c, f), path, off = 0;
	uint16_t peer, guest;

	/* MTU_MAX keeps the guest's MSS in the option's 16 bits */
	if (!c->opts.tso || c->link.mtu <= hdrs || mtu <= hdrs)
		return;
	guest = (uint16_t)(c->link.mtu - hdrs);
	peer = tcp_syn_mss(wpkt_ro(th), &off);
	path = MIN((size_t)peer, mtu - hdrs);
	if (path < TCP_TSO_MSS_MIN || guest <= path)
		return;
	tcp_mss_set(th, off, guest);
	if (!f->mss || path < f->mss)
		f->mss = (uint16_t)path;
	trace(c, "flow %u: MSS %u for the guest, %zu on the path: merd cuts "
	      "its segments", (uint32_t)(f - c->fwd.ct.flows), (unsigned)guest,
	      (size_t)f->mss);
}

/**
 * fwd_tso_piece() - how much of a guest segment's payload a piece carries,
 *		     if merd is to cut it (fwd_tso_syn())
 * @f:		its flow
 * @ip:		the segment
 * @l4:		its TCP header
 * @l3len:	length of the IP header it leaves with
 * @mtu:	MTU toward the peer now
 *
 * The path MSS counts the TCP header's options in (RFC 9293 3.7.1): a
 * piece carries that, less the options. Never a SYN or a reset, nor a
 * fragment (only the guest's IPv6 ones are forwarded as they come); nor
 * where the uplink's MTU fell so far that pieces would be smaller than
 * TCP_TSO_MSS_MIN allows: such a segment goes on as it came, and draws
 * fragmentation needed, or packet too big, as before.
 *
 * Return: bytes of payload a piece carries, 0 if the segment isn't cut
 */
static size_t fwd_tso_piece(const struct flow *f, const struct ip_view *ip,
			    const struct l4_view *l4, size_t l3len,
			    size_t mtu)
{
	size_t mss = f->mss, opt;

	if (!mss || ip->proto != IPPROTO_TCP ||
	    (ip->family == AF_INET6 && ip->fraghdr) ||
	    (l4->flags & (TH_SYN | TH_RST)))
		return 0;
	opt = l4->hdr.len - TCP_HLEN_MIN;
	if (mtu < l3len + TCP_HLEN_MIN + TCP_TSO_MSS_MIN)
		return 0;
	mss = MIN(mss, mtu - l3len - TCP_HLEN_MIN);
	if (l4->data.len <= mss - opt)
		return 0;
	return mss - opt;
}

/**
 * fwd_send_frag() - frag_split() callback: send one fragment at once
 * @arg:	context
 * @hdr:	fragment's IPv4 header
 * @hlen:	its length
 * @data:	fragment's payload
 * @len:	its length
 */
static void fwd_send_frag(void *arg, const uint8_t *hdr, size_t hlen,
			  const uint8_t *data, size_t len)
{
	struct ctx *c = arg;
	struct iovec iov[2] = { { iov_const(hdr), hlen },
				{ iov_const(data), len } };
	uint32_t daddr;
	int ret;

	memcpy(&daddr, hdr + offsetof(struct iphdr, daddr), sizeof(daddr));
	ret = raw_send(&c->fwd.raw, iov, 2, daddr);
	if (ret)
		drop(c, raw_drop_why(ret), "fwd: fragment not sent: %s",
		     strerror(-ret));
}

/**
 * fwd_out_fragmented() - send a too large datagram as fragments
 * @c:		context
 * @o:		the datagram, headers rewritten, in a send slot
 * @l3len:	length of its IPv4 header
 * @mtu:	MTU toward the peer
 */
static void fwd_out_fragmented(struct ctx *c, const struct raw_out *o,
			       size_t l3len, size_t mtu)
{
	size_t l4len = o->iov[0].iov_len - l3len;
	struct pkt hdr = { o->hdr, l3len };
	struct pkt payload = { c->fwd.scratch, l4len + o->iov[1].iov_len };

	memcpy(c->fwd.scratch, o->hdr + l3len, l4len);
	memcpy(c->fwd.scratch + l4len, o->iov[1].iov_base, o->iov[1].iov_len);
	if (frag_split(hdr, payload, mtu, c->fwd.ip_id++, fwd_send_frag, c) < 0)
		drop(c, DROP_TOO_BIG, "fwd: %zu-byte datagram can't be "
		     "fragmented", l3len + payload.len);
}

/**
 * fwd_send_error() - tell the guest why one of its packets didn't go out
 * @c:		context
 * @o:		the packet
 * @e:		errno of the send
 */
static void fwd_send_error(struct ctx *c, const struct raw_out *o, int e)
{
	struct pkt quote = { o->quote, o->quote_len };
	struct ip_view orig;
	uint8_t code;

	switch (e) {
	case ENETUNREACH:
		code = ICMP_NET_UNREACH;
		break;
	case EHOSTUNREACH:
		code = ICMP_HOST_UNREACH;
		break;
	case EACCES:
	case EPERM:
		code = ICMP_CODE_ADMIN_PROHIBITED;	/* host firewall */
		break;
	default:	/* raw_full(): the host's queue, not the peer */
		drop(c, raw_drop_why(e), "fwd: send failed: %s",
		     strerror(e));
		return;
	}
	if (o->v6) {
		if (!ip6_parse_quote(quote, &orig))
			icmp6_error(c, ICMP6_DST_UNREACH,
				    code == ICMP_CODE_ADMIN_PROHIBITED ?
				    ICMP6_CODE_ADMIN : ICMP6_CODE_ADDR, 0,
				    &orig);
		return;
	}
	if (!ip4_parse_quote(quote, &orig))
		icmp_error(c, ICMP_DEST_UNREACH, code, 0, c->guest4.gw.s_addr,
			   &orig);
}

/**
 * fwd_out_cut() - queue a guest segment larger than the path, to be cut
 * @c:		context
 * @o:		the segment, headers rewritten, in the batch's next slot
 * @l3len:	length of its IP header
 * @piece:	payload bytes a piece carries (fwd_tso_piece())
 *
 * Where it leaves on the uplink, it leaves whole, as a GSO packet the
 * kernel cuts at the device (uplink.c): one system call's share and one
 * copy for what would be some 45 pieces here (doc/design.md has the
 * numbers); otherwise tcp_to_host() cuts it.
 */
static void fwd_out_cut(struct ctx *c, struct raw_out *o, size_t l3len,
			size_t piece)
{
	if (uplink_take(c, o)) {
		o->gso = (uint16_t)piece;
		raw_out_commit(c, fwd_send_error);
		return;
	}
	tcp_to_host(c, o, l3len, piece, fwd_send_error);
}

/**
 * fwd_flush() - send the batch of guest packets
 * @c:		context
 *
 * Must run before the buffer the payloads point into changes.
 */
void fwd_flush(struct ctx *c)
{
	raw_flush(c, fwd_send_error);
}

/**
 * fwd_out6() - rewrite a guest's IPv6 packet and queue it for sending
 * @c:		context
 * @ip:		packet
 * @l4:		its transport header; NULL for a fragment but the first
 * @r:		where it goes
 * @to:		the flow's other side
 * @piece:	payload of a piece, to cut a TCP segment into pieces of
 *		(fwd_tso_piece()), 0 to send it whole
 *
 * Extension headers are left out but for a fragment header: none that
 * merd forwards means anything to the routers on the path or to the peer
 * (ip6_parse() refused the others), and the raw sockets' filters find
 * merd's ports in errors by the fixed header's length. A fragment keeps
 * its fragment header, and only the first has ports to rewrite; its
 * checksum, over the whole datagram, follows the changes all the same.
 */
static void fwd_out6(struct ctx *c, const struct ip_view *ip,
		     const struct l4_view *l4, const struct fwd_route *r,
		     const struct flowside *to, size_t piece)
{
	struct raw_out *o = raw_out_slot(&c->fwd.raw);
	size_t fh = ip->fraghdr ? sizeof(struct ip6_frag) : 0;
	size_t l3len = IP6_HLEN + fh, l4hlen = l4 ? l4->hdr.len : 0;
	size_t hlen = l3len + l4hlen, len = l3len + ip->l4.len;
	struct nat_rw rw = { .sport = to->oport, .dport = to->eport,
			     .v6 = true, .osaddr6 = ip->src.a6,
			     .odaddr6 = ip->dst.a6, .saddr6 = to->oaddr.a6,
			     .daddr6 = to->eaddr.a6 };
	struct wpkt hdr = { o->hdr, hlen }, l4hdr = { NULL, 0 };
	uint32_t vtf = htonl(6U << 28 | (uint32_t)ip->tos << 20 |
			     ip->flowlabel);

	if (len > r->mtu && !piece) {
		/* RFC 8200 5: routers don't fragment; RFC 4443 3.2 */
		icmp6_error(c, ICMP6_PACKET_TOO_BIG, 0,
			    (uint32_t)MIN(r->mtu, (size_t)UINT16_MAX), ip);
		return;
	}

	ip6_header(o->hdr, &ip->src.a6, &ip->dst.a6,
		   fh ? IPPROTO_FRAGMENT : ip->proto,
		   r->mapped ? ip->ttl : (uint8_t)(ip->ttl - 1),
		   fh + ip->l4.len);
	memcpy(o->hdr, &vtf, sizeof(vtf));
	if (fh) {
		memcpy(o->hdr + IP6_HLEN, ip->hdr.p + ip->fraghdr, fh);
		o->hdr[IP6_HLEN] = ip->proto;	/* ip6f_nxt: what follows */
	}
	if (l4hlen)
		memcpy(o->hdr + l3len, l4->hdr.p, l4hlen);
	o->quote_len = MIN(len, (size_t)IP6_HLEN + 8);
	memcpy(o->quote, o->hdr, MIN(o->quote_len, hlen));
	if (o->quote_len > hlen)
		memcpy(o->quote + hlen, ip->l4.p + l4hlen,
		       o->quote_len - hlen);
	if (l4hlen && wpkt_tail(hdr, l3len, &l4hdr))
		nat_l4(l4hdr, ip->proto, &rw);
	nat_ip6(hdr, &rw.saddr6, &rw.daddr6);

	o->iov[0].iov_base = o->hdr;
	o->iov[0].iov_len = hlen;
	o->iov[1].iov_base = iov_const(ip->l4.p + l4hlen);
	o->iov[1].iov_len = ip->l4.len - l4hlen;
	o->v6 = true;
	memset(&o->dst6, 0, sizeof(o->dst6));
	o->dst6.sin6_family = AF_INET6;
	o->dst6.sin6_addr = rw.daddr6;
	if (piece)
		fwd_out_cut(c, o, l3len, piece);
	else
		raw_out_commit(c, fwd_send_error);
}

/**
 * fwd_out() - rewrite a guest packet's headers and queue it for sending
 * @c:		context
 * @ip:		packet
 * @l4:		its transport header
 * @r:		where it goes
 * @f:		its flow
 * @side:	the side it came on
 */
static void fwd_out(struct ctx *c, const struct ip_view *ip,
		    const struct l4_view *l4, const struct fwd_route *r,
		    const struct flow *f, unsigned int side)
{
	const struct flowside *to = &f->side[ct_other(side)];
	struct raw_out *o = raw_out_slot(&c->fwd.raw);
	size_t l3len = ip->hdr.len, hlen = l3len + l4->hdr.len;
	struct nat_rw rw = { .osaddr = inany_v4(&ip->src),
			     .odaddr = inany_v4(&ip->dst),
			     .saddr = inany_v4(&to->oaddr),
			     .daddr = inany_v4(&to->eaddr),
			     .sport = to->oport, .dport = to->eport };
	struct wpkt hdr = { o->hdr, hlen }, l4hdr = { NULL, 0 };
	size_t len = l3len + ip->l4.len, piece;

	if (ip->family == AF_INET6) {
		fwd_out6(c, ip, l4, r, to,
			 fwd_tso_piece(f, ip, l4, IP6_HLEN, r->mtu));
		return;
	}
	piece = fwd_tso_piece(f, ip, l4, l3len, r->mtu);
	if (len > r->mtu && ip->df && !piece) {
		icmp_error(c, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
			   (uint16_t)MIN(r->mtu, (size_t)UINT16_MAX),
			   c->guest4.gw.s_addr, ip);
		return;
	}

	memcpy(o->hdr, ip->hdr.p, l3len);
	memcpy(o->hdr + l3len, l4->hdr.p, l4->hdr.len);
	o->quote_len = MIN(len, l3len + 8);
	memcpy(o->quote, ip->hdr.p, o->quote_len);
	if (!r->mapped)
		nat_ttl_dec(hdr);
	wpkt_tail(hdr, l3len, &l4hdr);
	nat_l4(l4hdr, ip->proto, &rw);
	nat_ip4(hdr, rw.saddr, rw.daddr);

	o->iov[0].iov_base = o->hdr;
	o->iov[0].iov_len = hlen;
	o->iov[1].iov_base = iov_const(ip->l4.p + l4->hdr.len);
	o->iov[1].iov_len = ip->l4.len - l4->hdr.len;
	o->v6 = false;
	o->dst.sin_family = AF_INET;
	o->dst.sin_addr.s_addr = rw.daddr;

	if (piece) {
		fwd_out_cut(c, o, l3len, piece);
		return;
	}
	if (len > r->mtu) {
		fwd_out_fragmented(c, o, l3len, r->mtu);
		return;
	}
	raw_out_commit(c, fwd_send_error);
}

/**
 * fwd_frag6_first() - the transport header of a first fragment
 * @ip:		the fragment
 * @l4:		filled in: ports (echo identifier), header
 *
 * The datagram's length fields describe the whole of it, not the
 * fragment: UDP's is not checked here (the peer reassembles and does).
 *
 * Return: 0 on success, -1 if the header isn't all in this fragment
 */
static int fwd_frag6_first(const struct ip_view *ip, struct l4_view *l4)
{
	uint16_t ports[2];

	if (ip->proto != IPPROTO_UDP)
		return l4_parse(ip, l4);
	memset(l4, 0, sizeof(*l4));
	l4->proto = ip->proto;
	if (!pkt_get(ip->l4, 0, ports, sizeof(ports)) ||
	    !pkt_sub(ip->l4, 0, UDP_HLEN, &l4->hdr))
		return -1;
	l4->sport = ntohs(ports[0]);
	l4->dport = ntohs(ports[1]);
	pkt_tail(ip->l4, UDP_HLEN, &l4->data);
	return 0;
}

/**
 * fwd_guest_l4_6_check() - what the guest may send over IPv6
 * @c:		context
 * @ip:		packet
 * @l4:		its transport header, as parsed
 * @parsed:	what parsing it returned
 *
 * Global unicast destinations, and the router address where it means the
 * host; TCP, UDP and ICMPv6 echo requests.
 *
 * Return: 0 if it may be forwarded, -1 to drop it
 */
static int fwd_guest_l4_6_check(const struct ctx *c, const struct ip_view *ip,
				const struct l4_view *l4, int parsed)
{
	bool router = !c->opts.no_map_gw &&
		      IN6_ARE_ADDR_EQUAL(&ip->dst.a6, &c->guest6.gw);

	if (!router && !fwd_dst6_ok(c, &ip->dst.a6))
		return -1;
	if (ip->proto != IPPROTO_TCP && ip->proto != IPPROTO_UDP &&
	    ip->proto != IPPROTO_ICMPV6) {
		trace(c, "fwd: IPv6 next header %u not forwarded", ip->proto);
		return -1;
	}
	if (parsed)
		return -1;
	if (ip->proto == IPPROTO_ICMPV6)
		return l4->type == ICMP6_ECHO_REQUEST && !l4->code ? 0 : -1;
	return l4->dport ? 0 : -1;
}

/**
 * fwd_guest_l4_6() - check what the guest may send over IPv6, and its
 *		      transport header
 * @c:		context
 * @ip:		packet, whole
 * @l4:		filled in
 *
 * Return: 0 if it may be forwarded, -1 to drop it
 */
static int fwd_guest_l4_6(const struct ctx *c, const struct ip_view *ip,
			  struct l4_view *l4)
{
	return fwd_guest_l4_6_check(c, ip, l4, l4_parse(ip, l4));
}

/**
 * fwd_guest_l4_6_first() - fwd_guest_l4_6() for a first fragment
 * @c:		context
 * @ip:		the fragment
 * @l4:		filled in
 *
 * Return: 0 if it may be forwarded, -1 to drop it
 */
static int fwd_guest_l4_6_first(const struct ctx *c, const struct ip_view *ip,
				struct l4_view *l4)
{
	return fwd_guest_l4_6_check(c, ip, l4, fwd_frag6_first(ip, l4));
}

/**
 * fwd_guest_l4() - check what the guest may send, and its transport header
 * @c:		context
 * @ip:		packet, whole (reassembled if it came in fragments)
 * @l4:		filled in
 *
 * Return: 0 if it may be forwarded, -1 to drop it
 */
static int fwd_guest_l4(const struct ctx *c, const struct ip_view *ip,
			struct l4_view *l4)
{
	if (ip->family == AF_INET6)
		return fwd_guest_l4_6(c, ip, l4);
	if (!fwd_dst_ok(c, inany_v4(&ip->dst)))
		return -1;
	if (ip->proto != IPPROTO_TCP && ip->proto != IPPROTO_UDP &&
	    ip->proto != IPPROTO_ICMP) {
		trace(c, "fwd: protocol %u not forwarded", ip->proto);
		return -1;
	}
	if (l4_parse(ip, l4))
		return -1;
	if (ip->proto == IPPROTO_ICMP)	/* only echo requests go out */
		return l4->type == ICMP_ECHO && !l4->code ? 0 : -1;
	return l4->dport ? 0 : -1;
}

/**
 * fwd_guest_error() - pass on an ICMP error the guest sent about a flow
 * @c:		context
 * @ip:		packet from the guest, whole
 *
 * Return: true if it was an ICMP or ICMPv6 error (passed on or dropped)
 */
static bool fwd_guest_error(struct ctx *c, const struct ip_view *ip)
{
	struct l4_view l4;

	if ((ip->proto != IPPROTO_ICMP && ip->proto != IPPROTO_ICMPV6) ||
	    l4_parse(ip, &l4))
		return false;
	if (ip->proto == IPPROTO_ICMP) {
		if (l4.type == ICMP_ECHO)
			return false;
		icmp_error_out(c, ip, &l4);
		return true;
	}
	if (l4.type >= ICMP6_ECHO_REQUEST)	/* RFC 4443 2.1: not an error */
		return false;
	icmp6_error_out(c, ip, &l4);
	return true;
}

/**
 * fwd_from_guest_whole() - forward a whole IPv4 packet from the guest
 * @c:		context
 * @ip:		packet, checked by ip4_parse(), not a fragment
 */
static void fwd_from_guest_whole(struct ctx *c, const struct ip_view *ip)
{
	struct fwd_route r;
	struct l4_view l4;
	unsigned int side;
	uint32_t idx;

	if (fwd_guest_error(c, ip))
		return;
	if (fwd_dst_ll(c, ip)) {
		fwd_refuse_confined(c, ip, "link-local");
		return;
	}
	if (fwd_guest_l4(c, ip, &l4)) {
		drop(c, DROP_REFUSED, "fwd: packet to %s dropped",
		     inany_ntop(&ip->dst).s);
		return;
	}

	fwd_route(c, ip, &l4, &r);
	if (!r.mapped && ip->ttl <= 1) {
		/* RFC 1812 5.3.1, RFC 4443 3.3: time exceeded in transit */
		if (ip->family == AF_INET6)
			icmp6_error(c, ICMP6_TIME_EXCEEDED,
				    ICMP6_TIME_EXCEED_TRANSIT, 0, ip);
		else
			icmp_error(c, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0,
				   c->guest4.gw.s_addr, ip);
		return;
	}

	idx = fwd_flow_get(c, ip, &l4, &r, &side);
	if (idx == FLOW_NONE ||
	    fwd_track(c, idx, side, &l4, ip->hdr.len + ip->l4.len))
		return;
	fwd_out(c, ip, &l4, &r, &c->fwd.ct.flows[idx], side);
}

/**
 * fwd_frag6_slot() - the record of a fragmented guest datagram
 * @c:		context
 * @ip:		one of its fragments
 * @add:	make one if there is none (the first fragment), taking the
 *		oldest slot, or an expired one
 *
 * Return: the record, or NULL
 */
static struct fwd_frag6 *fwd_frag6_slot(struct ctx *c,
					const struct ip_view *ip, bool add)
{
	struct fwd_frag6 *old = &c->fwd.frag6[0];
	int i;

	for (i = 0; i < FWD_FRAG6_MAX; i++) {
		struct fwd_frag6 *s = &c->fwd.frag6[i];

		if (s->id == ip->id && (int32_t)(s->expires - c->now) > 0 &&
		    IN6_ARE_ADDR_EQUAL(&s->src, &ip->src.a6) &&
		    IN6_ARE_ADDR_EQUAL(&s->dst, &ip->dst.a6))
			return s;
		if ((int32_t)(s->expires - old->expires) < 0)
			old = s;
	}
	return add ? old : NULL;
}

/**
 * fwd_from_guest_frag6() - forward a fragment of a guest's IPv6 datagram
 * @c:		context
 * @ip:		the fragment
 *
 * Fragments go out as they came, not reassembled: the first one finds or
 * starts the flow (its transport header is in it), and the others follow
 * it, found by source, destination and identification (RFC 8200 4.5), so
 * that no fragment joins another flow. Fragments arriving before the
 * first are dropped; the guest's stack sends the first one first.
 */
static void fwd_from_guest_frag6(struct ctx *c, const struct ip_view *ip)
{
	struct fwd_frag6 *s = fwd_frag6_slot(c, ip, !ip->frag);
	const struct flow *f;
	struct fwd_route r;
	struct l4_view l4;
	unsigned int side;
	uint32_t idx;

	if (ip->frag) {
		f = s && s->flow < c->fwd.ct.max ? &c->fwd.ct.flows[s->flow] :
		    NULL;
		side = f ? ct_side_of(f, PIF_TAP) : INISIDE;
		/* Its flow gone, or another in its slot: one started in the
		 * same second has the same creation time, so it must at
		 * least be between the fragment's addresses
		 */
		if (!f || f->created != s->created || !f->proto ||
		    f->proto != ip->proto ||
		    !inany_equals(&f->side[side].eaddr, &ip->src) ||
		    !inany_equals(&f->side[side].oaddr, &ip->dst)) {
			drop(c, DROP_FRAG, "fwd: IPv6 fragment of no known "
			     "datagram, dropped");
			return;
		}
		fwd_route6(c, ip, false, &r);
		if (!r.mapped && ip->ttl <= 1)
			return;	/* the first one drew the error */
		fwd_out6(c, ip, NULL, &r, &f->side[ct_other(side)], 0);
		return;
	}

	if (fwd_dst_ll(c, ip)) {
		fwd_refuse_confined(c, ip, "link-local");
		return;
	}
	if (fwd_guest_l4_6_first(c, ip, &l4)) {
		drop(c, DROP_REFUSED, "fwd: IPv6 fragment to %s dropped",
		     inany_ntop(&ip->dst).s);
		return;
	}
	fwd_route(c, ip, &l4, &r);
	if (!r.mapped && ip->ttl <= 1) {
		icmp6_error(c, ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_TRANSIT,
			    0, ip);
		return;
	}
	idx = fwd_flow_get(c, ip, &l4, &r, &side);
	if (idx == FLOW_NONE ||
	    fwd_track(c, idx, side, &l4, ip->hdr.len + ip->l4.len))
		return;
	f = &c->fwd.ct.flows[idx];
	*s = (struct fwd_frag6){ .src = ip->src.a6, .dst = ip->dst.a6,
				 .id = ip->id, .flow = idx,
				 .created = f->created,
				 .expires = c->now + FWD_FRAG6_TIMEOUT };
	fwd_out6(c, ip, &l4, &r, &f->side[ct_other(side)], 0);
}

/**
 * fwd_from_guest() - forward an IP packet from the guest
 * @c:		context
 * @ip:		packet, checked by ip4_parse() or ip6_parse()
 */
void fwd_from_guest(struct ctx *c, const struct ip_view *ip)
{
	struct ip_view wip;
	struct pkt whole;

	if (ip->family == AF_INET6) {
		if (ip->fraghdr)
			fwd_from_guest_frag6(c, ip);
		else
			fwd_from_guest_whole(c, ip);
		return;
	}

	if (ip->hdr.len != IP4_HLEN_MIN) {
		drop(c, DROP_REFUSED, "fwd: IPv4 options not forwarded");
		return;
	}
	if (!ip_is_fragment(ip)) {
		fwd_from_guest_whole(c, ip);
		return;
	}

	if (frag_in(&c->fwd.frag, ip, c->now, &whole) != 1)
		return;
	if (!ip4_parse(whole, &wip))
		fwd_from_guest_whole(c, &wip);
	/* The batch points into the reassembly buffer: send it first */
	fwd_flush(c);
	frag_done(&c->fwd.frag, whole);
}

/**
 * fwd_guest_frag() - frag_split() callback: one fragment to the guest
 * @arg:	context
 * @hdr:	fragment's IPv4 header
 * @hlen:	its length
 * @data:	fragment's payload
 * @len:	its length
 */
static void fwd_guest_frag(void *arg, const uint8_t *hdr, size_t hlen,
			   const uint8_t *data, size_t len)
{
	struct iovec iov[2] = { { iov_const(hdr), hlen },
				{ iov_const(data), len } };

	tap_send_ip(arg, iov, 2);
}

/**
 * fwd_to_guest_ip() - send a datagram to the guest, fragmented to its MTU
 * @c:		context
 * @hdr:	its IPv4 header, and the transport header
 * @l3len:	length of the IPv4 header in @hdr
 * @payload:	the rest
 */
void fwd_to_guest_ip(struct ctx *c, struct pkt hdr, size_t l3len,
		     struct pkt payload)
{
	struct iovec iov[2] = { { iov_const(hdr.p), hdr.len },
				{ iov_const(payload.p), payload.len } };
	uint8_t h[IP4_HLEN_MIN];
	struct pkt h4 = { h, sizeof(h) }, all;
	size_t l4len = hdr.len - l3len;

	if (hdr.len + payload.len <= c->link.mtu) {
		tap_send_ip(c, iov, 2);
		return;
	}
	/* Fragments get a header without options (RFC 791 3.1 would copy
	 * some to every fragment: none the guest needs from its router), and
	 * frag_split() takes the payload in one piece, the transport header
	 * and the rest joined in the scratch buffer
	 */
	memcpy(h, hdr.p, sizeof(h));
	h[0] = (uint8_t)(4 << 4 | IP4_HLEN_MIN / 4);
	memcpy(c->fwd.scratch, hdr.p + l3len, l4len);
	if (payload.len)
		memcpy(c->fwd.scratch + l4len, payload.p, payload.len);
	all.p = c->fwd.scratch;
	all.len = l4len + payload.len;
	if (frag_split(h4, all, c->link.mtu, c->fwd.ip_id++, fwd_guest_frag,
		       c) < 0)
		drop(c, DROP_TOO_BIG, "fwd: %zu-byte datagram too large for "
		     "the guest", l3len + all.len);
}

/**
 * fwd_csum_trusted() - tell whether a TCP or UDP checksum may be recomputed
 * @ip:		packet, addresses as received
 *
 * Toward the guest, TCP and UDP checksums are computed anew (GRO merged the
 * segments; tcp.c). That must not hide corruption: the field must be either
 * right, or the pseudo-header sum the kernel leaves for a packet whose
 * checksum was offloaded or verified (CHECKSUM_PARTIAL on veth and
 * loopback, and GRO's merged packets: tcp4_gro_complete()). A UDP checksum
 * of zero means none (RFC 768).
 *
 * Return: true if the packet may go on
 */
static bool fwd_csum_trusted(const struct ip_view *ip)
{
	size_t coff = ip->proto == IPPROTO_TCP ?
		      offsetof(struct tcphdr, check) :
		      offsetof(struct udphdr, check);
	uint32_t pseudo = ip->family == AF_INET6 ?
			  csum_pseudo6(&ip->src.a6, &ip->dst.a6, ip->proto,
				       (uint32_t)ip->l4.len) :
			  csum_pseudo4(inany_v4(&ip->src), inany_v4(&ip->dst),
				       ip->proto, (uint16_t)ip->l4.len);
	uint16_t check;

	if (!pkt_get(ip->l4, coff, &check, sizeof(check)))
		return false;
	if (ip->proto == IPPROTO_UDP && !check)
		return ip->family == AF_INET;	/* RFC 8200 8.1: IPv6 has one */
	if (check == csum_fold(pseudo))
		return true;
	return csum_fold(csum_partial(ip->l4.p, ip->l4.len, pseudo)) == 0xffff;
}

/**
 * fwd_udp_csum() - compute a UDP checksum in full, unless there is none
 * @hdr:	IPv4 and UDP headers, rewritten
 * @l3len:	length of the IPv4 header
 * @payload:	the datagram's payload
 */
static void fwd_udp_csum(struct wpkt hdr, size_t l3len, struct pkt payload)
{
	size_t coff = l3len + offsetof(struct udphdr, check);
	uint32_t saddr, daddr, sum;
	uint16_t check, ulen = (uint16_t)(UDP_HLEN + payload.len);

	if (!pkt_get(wpkt_ro(hdr), coff, &check, sizeof(check)) || !check)
		return;		/* RFC 768: none given, none now */
	memcpy(&saddr, hdr.p + offsetof(struct iphdr, saddr), sizeof(saddr));
	memcpy(&daddr, hdr.p + offsetof(struct iphdr, daddr), sizeof(daddr));
	check = 0;
	wpkt_put(hdr, coff, &check, sizeof(check));
	sum = csum_pseudo4(saddr, daddr, IPPROTO_UDP, ulen);
	sum = csum_partial(hdr.p + l3len, UDP_HLEN, sum);
	check = csum_finish(csum_partial(payload.p, payload.len, sum));
	if (!check)
		check = 0xffff;
	wpkt_put(hdr, coff, &check, sizeof(check));
}

/**
 * fwd_icmp_csum() - compute an ICMP checksum in full
 * @hdr:	IPv4 and ICMP headers, rewritten
 * @l3len:	length of the IPv4 header
 * @payload:	the message's data
 */
static void fwd_icmp_csum(struct wpkt hdr, size_t l3len, struct pkt payload)
{
	size_t coff = l3len + offsetof(struct icmphdr, checksum);
	uint16_t check = 0;
	uint32_t sum;

	wpkt_put(hdr, coff, &check, sizeof(check));
	sum = csum_partial(hdr.p + l3len, ICMP_HLEN, 0);
	check = csum_finish(csum_partial(payload.p, payload.len, sum));
	wpkt_put(hdr, coff, &check, sizeof(check));
}

/**
 * fwd_l4_csum6() - compute a UDP or ICMPv6 checksum in full, over the
 *		    IPv6 pseudo-header
 * @hdr:	IPv6 (fixed) and transport headers, rewritten
 * @proto:	IPPROTO_UDP or IPPROTO_ICMPV6
 * @payload:	what follows the transport header
 */
static void fwd_l4_csum6(struct wpkt hdr, uint8_t proto, struct pkt payload)
{
	size_t coff = IP6_HLEN + csum_l4_offset(proto);
	size_t l4hlen = hdr.len - IP6_HLEN;
	struct in6_addr s6, d6;
	uint16_t check = 0;
	uint32_t sum;

	memcpy(&s6, hdr.p + offsetof(struct ip6_hdr, ip6_src), sizeof(s6));
	memcpy(&d6, hdr.p + offsetof(struct ip6_hdr, ip6_dst), sizeof(d6));
	wpkt_put(hdr, coff, &check, sizeof(check));
	sum = csum_pseudo6(&s6, &d6, proto, (uint32_t)(l4hlen + payload.len));
	sum = csum_partial(hdr.p + IP6_HLEN, l4hlen, sum);
	check = csum_finish(csum_partial(payload.p, payload.len, sum));
	if (proto == IPPROTO_UDP && !check)
		check = 0xffff;		/* RFC 8200 8.1 */
	wpkt_put(hdr, coff, &check, sizeof(check));
}

/**
 * fwd_to_guest_frag6() - send a datagram too large for the guest's link
 *			  in fragments
 * @c:		context
 * @hdr:	its IPv6 (fixed) and transport headers, checksum set
 * @payload:	the rest
 *
 * The raw socket saw the datagram reassembled (the kernel reassembles
 * IPv6 before raw delivery), or merged by GRO: merd cuts it again, as the
 * sender's stack did, with a fragment header of its own (RFC 8200 4.5).
 */
static void fwd_to_guest_frag6(struct ctx *c, struct pkt hdr,
			       struct pkt payload)
{
	size_t l4len = hdr.len - IP6_HLEN, total = l4len + payload.len;
	size_t chunk = (c->link.mtu - IP6_HLEN - sizeof(struct ip6_frag)) &
		       ~(size_t)IP6_FRAG_UNIT_MASK;
	struct ip6_frag fh = { .ip6f_nxt = hdr.p[IP6_OFF_NXT],
			       .ip6f_ident = htonl(++c->fwd.frag6_id) };
	uint8_t h[IP6_HLEN + sizeof(fh)];
	size_t off;

	memcpy(c->fwd.scratch, hdr.p + IP6_HLEN, l4len);
	if (payload.len)
		memcpy(c->fwd.scratch + l4len, payload.p, payload.len);

	for (off = 0; off < total; off += chunk) {
		size_t n = MIN(chunk, total - off);
		struct iovec iov[2] = { { h, sizeof(h) },
					{ c->fwd.scratch + off, n } };
		uint16_t plen = htons((uint16_t)(sizeof(fh) + n));

		memcpy(h, hdr.p, IP6_HLEN);
		h[IP6_OFF_NXT] = IPPROTO_FRAGMENT;
		memcpy(h + offsetof(struct ip6_hdr, ip6_plen), &plen,
		       sizeof(plen));
		fh.ip6f_offlg = htons((uint16_t)off |
				      (off + n < total ? 1 : 0)); /* M flag */
		memcpy(h + IP6_HLEN, &fh, sizeof(fh));
		tap_send_ip(c, iov, 2);
	}
}

/**
 * fwd_to_guest6() - rewrite an IPv6 packet of a flow for the guest, send it
 * @c:		context
 * @ip:		packet, as received (raw.c put back its fixed header)
 * @l4:		its transport header
 * @f:		its flow
 * @from:	the flow's side it came on
 * @to:		the other side, the guest's
 */
static void fwd_to_guest6(struct ctx *c, const struct ip_view *ip,
			  const struct l4_view *l4, struct flow *f,
			  const struct flowside *from,
			  const struct flowside *to)
{
	uint8_t buf[IP6_HLEN + TCP_HLEN_MAX];
	size_t hlen = IP6_HLEN + l4->hdr.len;
	struct wpkt hdr = { buf, hlen }, l4hdr = { NULL, 0 };
	struct pkt payload = { NULL, 0 };
	uint8_t hops = ip->ttl;
	uint32_t vtf = htonl(6U << 28 | (uint32_t)ip->tos << 20 |
			     ip->flowlabel);

	/* As for IPv4: a router's hop, but not for the host's own answers */
	if (inany_equals(&from->eaddr, &to->oaddr)) {
		if (hops <= 1)
			return;
		hops--;
	}
	ip6_header(buf, &to->oaddr.a6, &to->eaddr.a6, ip->proto, hops,
		   ip->l4.len);
	memcpy(buf, &vtf, sizeof(vtf));
	memcpy(buf + IP6_HLEN, l4->hdr.p, l4->hdr.len);
	pkt_tail(ip->l4, l4->hdr.len, &payload);
	wpkt_tail(hdr, IP6_HLEN, &l4hdr);
	nat_ports_set(l4hdr, ip->proto, to->oport, to->eport);

	if (ip->proto == IPPROTO_TCP) {
		if (l4->flags & TH_SYN)
			fwd_tso_syn(c, f, l4hdr, true);
		tcp_to_guest(c, wpkt_ro(hdr), IP6_HLEN, payload);
		return;
	}
	fwd_l4_csum6(hdr, ip->proto, payload);
	if (hlen + payload.len > c->link.mtu)
		fwd_to_guest_frag6(c, wpkt_ro(hdr), payload);
	else
		fwd_to_guest_ip(c, wpkt_ro(hdr), IP6_HLEN, payload);
}

/**
 * fwd_to_guest() - rewrite a packet of a flow for the guest, and send it
 * @c:		context
 * @ip:		packet, as received
 * @l4:		its transport header
 * @f:		its flow
 * @side:	the side it came on
 */
static void fwd_to_guest(struct ctx *c, const struct ip_view *ip,
			 const struct l4_view *l4, struct flow *f,
			 unsigned int side)
{
	const struct flowside *from = &f->side[side];
	const struct flowside *to = &f->side[ct_other(side)];
	uint8_t buf[60 + TCP_HLEN_MAX];
	size_t l3len = ip->hdr.len, hlen = l3len + l4->hdr.len;
	struct wpkt hdr = { buf, hlen }, l4hdr = { NULL, 0 };
	struct nat_rw rw = { .osaddr = inany_v4(&ip->src),
			     .odaddr = inany_v4(&ip->dst),
			     .saddr = inany_v4(&to->oaddr),
			     .daddr = inany_v4(&to->eaddr),
			     .sport = to->oport, .dport = to->eport };
	struct pkt payload = { NULL, 0 };

	if (ip->family == AF_INET6) {
		fwd_to_guest6(c, ip, l4, f, from, to);
		return;
	}
	memcpy(buf, ip->hdr.p, l3len);
	memcpy(buf + l3len, l4->hdr.p, l4->hdr.len);
	pkt_tail(ip->l4, l4->hdr.len, &payload);

	/* Through merd, a router, the TTL drops by one; but answers from the
	 * host itself (the gateway mapped to loopback) come from the guest's
	 * router, not through it
	 */
	if (inany_equals(&from->eaddr, &to->oaddr)) {
		if (ip->ttl <= 1)
			return;
		nat_ttl_dec(hdr);
	}
	wpkt_tail(hdr, l3len, &l4hdr);
	/* Checksums are computed in full below (tcp.c for TCP): updating
	 * them here too would be work thrown away; and for an echo reply an
	 * update can't tell an all-zero message (whose checksum is 0xffff)
	 */
	nat_ports_set(l4hdr, ip->proto, rw.sport, rw.dport);
	nat_ip4(hdr, rw.saddr, rw.daddr);

	if (ip->proto == IPPROTO_TCP) {
		if (l4->flags & TH_SYN)
			fwd_tso_syn(c, f, l4hdr, false);
		tcp_to_guest(c, wpkt_ro(hdr), l3len, payload);
		return;
	}
	if (ip->proto == IPPROTO_UDP)
		fwd_udp_csum(hdr, l3len, payload);
	else
		fwd_icmp_csum(hdr, l3len, payload);
	fwd_to_guest_ip(c, wpkt_ro(hdr), l3len, payload);
}

/**
 * fwd_flow_new_in() - start a flow for a packet to a forwarded port
 * @c:		context
 * @ip:		its first packet
 * @l4:		its transport header
 * @r:		the rule forwarding the port
 * @gaddr:	the guest's address
 * @local:	from the host itself: the guest sees it from the gateway
 *
 * Return: flow number, FLOW_NONE if the table is full of live flows, or the
 *	   guest's side of the flow is another flow's
 */
static uint32_t fwd_flow_new_in(struct ctx *c, const struct ip_view *ip,
				const struct l4_view *l4,
				const struct fwdrule *r,
				const union inany_addr *gaddr, bool local)
{
	struct conntrack *ct = &c->fwd.ct;
	union inany_addr gw;
	struct flowside ts;
	struct flow *f;
	uint32_t idx;

	if (ip->family == AF_INET6)
		gw.a6 = c->guest6.gw;
	else
		inany_from_v4(&gw, c->guest4.gw.s_addr);
	flowside_set(&ts, gaddr, fwdrule_to(r, l4->dport),
		     local ? &gw : &ip->src, l4->sport);
	if (ct_lookup(ct, ip->proto, PIF_TAP, &ts, NULL) != FLOW_NONE) {
		trace(c, "inbound: the guest's side of %s:%u is another "
		      "flow's", inany_ntop(&ts.oaddr).s, ts.oport);
		return FLOW_NONE;
	}
	if (ct->count >= ct->max && !fwd_reclaim(c))
		return FLOW_NONE;

	idx = ct_alloc(ct);
	f = &ct->flows[idx];
	f->proto = ip->proto;
	f->af = (uint8_t)ip->family;
	f->pif[INISIDE] = PIF_HOST;
	f->pif[TGTSIDE] = PIF_TAP;
	flowside_set(&f->side[INISIDE], &ip->src, l4->sport, &ip->dst,
		     l4->dport);
	f->side[TGTSIDE] = ts;
	/* A forwarded port in a claimed block is shared with flows there */
	if (!port_ref(&c->fwd.ports, fwd_port_class(ip->proto), l4->dport))
		f->flags = CT_PORT_HELD;
	ct_insert(ct, idx, ip->proto == IPPROTO_TCP ? CT_TCP_SYN_SENT : CT_UDP,
		  c->now);

	trace(c, "flow %u: %s %s:%u to host port %u, guest port %u%s", idx,
	      fwd_proto_name(ip->proto), inany_ntop(&ip->src).s, l4->sport,
	      l4->dport, ts.eport, local ? ", from the gateway" : "");
	return idx;
}

/**
 * fwd_dst_unicast() - tell whether a packet was sent to one host
 * @c:		context
 * @ip:		packet from a raw socket
 *
 * Return: false for multicast, limited broadcast, and the broadcast
 *	   address of the host's subnet
 */
static bool fwd_dst_unicast(const struct ctx *c, const struct ip_view *ip)
{
	uint32_t d = inany_v4(&ip->dst), mask;

	if (ip->family == AF_INET6)
		return !IN6_IS_ADDR_MULTICAST(&ip->dst.a6);
	/* RFC 919: all ones in the host part; /31 and /32 have none */
	if (c->host.prefix4 >= 0 && c->host.prefix4 < 31) {
		mask = prefix4_mask(c->host.prefix4);
		if ((ntohl(d) & ~mask) == ~mask &&
		    (ntohl(d) & mask) == (ntohl(c->host.addr4.s_addr) & mask))
			return false;
	}
	return ip4_is_unicast(d) || ip4_is_loopback(d);
}

/**
 * fwd_inbound() - a packet from the host's side that no flow knows: open
 *		   a flow if it is for a forwarded port
 * @c:		context
 * @ip:		packet, as received
 * @l4:		its transport header
 * @ifi:	interface it came in on, 0 if unknown
 */
static void fwd_inbound(struct ctx *c, const struct ip_view *ip,
			const struct l4_view *l4, unsigned int ifi)
{
	const struct fwdrule *r = NULL;
	union inany_addr gaddr;
	bool local;
	uint32_t idx;

	if ((ip->proto == IPPROTO_TCP || ip->proto == IPPROTO_UDP) &&
	    fwd_dst_unicast(c, ip))
		r = fwdrule_match(&c->fwd.rules, ip->proto, &ip->dst, ifi,
				  l4->dport);
	if (!r) {
		drop(c, DROP_NO_FLOW, "fwd: no flow for protocol %u from %s:%u "
		     "to host port %u", ip->proto, inany_ntop(&ip->src).s,
		     l4->sport, l4->dport);
		return;
	}
	if (!fwd_csum_trusted(ip)) {
		drop(c, DROP_CSUM, "inbound: bad checksum from %s, dropped",
		     inany_ntop(&ip->src).s);
		return;
	}

	/* Only a SYN opens a TCP flow; anything else is for a connection
	 * that isn't (anymore): a reset, as from a closed port
	 */
	local = inbound_from_host(c, ip, ifi);
	if (ip->proto == IPPROTO_TCP &&
	    (l4->flags & (TH_SYN | TH_ACK)) != TH_SYN)
		inbound_refuse(c, ip, l4, "no such connection");
	else if (local && c->opts.no_map_gw)
		inbound_refuse(c, ip, l4, "from the host itself, and "
			       "--no-map-gw");
	else if (!tap_connected(c))
		inbound_refuse(c, ip, l4, "no guest");
	else if (!inbound_guest_addr(c, ip->family, &gaddr))
		inbound_refuse(c, ip, l4, "the guest has no address yet");
	else if (!local && ip->ttl <= 1)
		/* RFC 1812 5.3.1, RFC 4443 3.3: time exceeded in transit */
		inbound_icmp(c, ip, ip->family == AF_INET6 ?
			     ICMP6_TIME_EXCEEDED : ICMP_TIME_EXCEEDED,
			     ICMP_EXC_TTL);	/* ICMP6_TIME_EXCEED_TRANSIT too */
	else if ((idx = fwd_flow_new_in(c, ip, l4, r, &gaddr, local)) ==
		 FLOW_NONE)
		inbound_refuse(c, ip, l4, "no room for a new flow");
	else if (!fwd_track(c, idx, INISIDE, l4, ip->hdr.len + ip->l4.len))
		fwd_to_guest(c, ip, l4, &c->fwd.ct.flows[idx], INISIDE);
}

/**
 * fwd_from_host() - forward a packet from a raw socket to the guest
 * @c:		context
 * @pkt:	packet, from its IP header, untrusted
 * @ifi:	interface it came in on, 0 if unknown
 */
void fwd_from_host(struct ctx *c, struct pkt pkt, unsigned int ifi)
{
	struct flowside key;
	struct ip_view ip;
	struct l4_view l4;
	unsigned int side;
	uint32_t idx;
	bool v6 = pkt.len && (pkt.p[0] >> 4) == 6;

	if ((v6 ? ip6_parse(pkt, &ip) : ip4_parse(pkt, &ip)) ||
	    ip_is_fragment(&ip) || l4_parse(&ip, &l4))
		return;

	if (ip.proto == IPPROTO_ICMP && l4.type != ICMP_ECHOREPLY) {
		icmp_error_in(c, &ip, &l4);
		return;
	}
	if (ip.proto == IPPROTO_ICMPV6 && l4.type != ICMP6_ECHO_REPLY) {
		icmp6_error_in(c, &ip, &l4);
		return;
	}

	flowside_set(&key, &ip.src, l4.sport, &ip.dst, l4.dport);
	idx = ct_lookup(&c->fwd.ct, ip.proto, PIF_HOST, &key, &side);
	if (idx == FLOW_NONE) {
		fwd_inbound(c, &ip, &l4, ifi);
		return;
	}
	if (ip.proto != IPPROTO_ICMP && ip.proto != IPPROTO_ICMPV6 &&
	    !fwd_csum_trusted(&ip)) {
		drop(c, DROP_CSUM, "flow %u: bad checksum from %s, dropped",
		     idx, inany_ntop(&ip.src).s);
		return;
	}
	if (fwd_track(c, idx, side, &l4, ip.hdr.len + ip.l4.len))
		return;
	fwd_to_guest(c, &ip, &l4, &c->fwd.ct.flows[idx], side);
}
