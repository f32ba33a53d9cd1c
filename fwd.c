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
 *   gateway when it runs out), the flow (conntrack.c: found, or created
 *   with a host port of its own, port.c), size against the uplink's MTU
 *   (ICMP fragmentation needed if DF is set), then the headers are copied
 *   out and rewritten with incremental checksums (nat.c) and the packet
 *   joins a batch for sendmmsg() on the IPPROTO_RAW socket (raw.c), headers
 *   from the copy, payload straight from qemu's stream buffer.
 *
 * Peer to guest (fwd_raw_handler(), fwd_from_host()):
 *   recvmmsg() on the socket of the protocol (the kernel's filter only
 *   passes packets for this merd's ports), the flow by its host side, the
 *   headers rewritten back, and the packet cut to the guest's MTU: TCP into
 *   segments (tcp.c), other datagrams into fragments. ICMP errors about a
 *   flow are translated, the packet they quote included.
 *
 * The gateway address means the host itself: traffic to it goes to the
 * host's loopback (DNS to the host's loopback resolver, if it has one) and
 * answers come back from the gateway address. --no-map-gw turns that off.
 */

#include <errno.h>
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
#include "frag.h"
#include "fwd.h"
#include "icmp.h"
#include "ip4.h"
#include "log.h"
#include "nat.h"
#include "port.h"
#include "raw.h"
#include "tap.h"
#include "tcp.h"

/* Loopback's MTU: traffic to the gateway address goes there */
#define LOOPBACK_MTU	65536
#define DNS_PORT	53
/* Header bytes of each transport copied out of a guest frame */
#define UDP_HDR		8
#define ICMP_ECHO_HDR	8

/**
 * struct fwd_pkt - a guest packet on its way out
 * @ip:		bytes from the IPv4 header on
 * @len:	IPv4 total length
 * @h:		IPv4 header, aligned copy
 * @l4len:	transport header bytes copied with the IPv4 header
 * @proto:	protocol
 * @sport:	source port or echo identifier, host order
 * @dport:	destination port, host order, 0 for ICMP
 * @flags:	TCP flags
 * @mapped:	to the gateway address, which means the host
 */
struct fwd_pkt {
	const uint8_t *ip;
	size_t len;
	struct iphdr h;
	size_t l4len;
	uint8_t proto;
	uint16_t sport;
	uint16_t dport;
	uint8_t flags;
	bool mapped;
};

/**
 * struct fwd_astr - an address as text, returned by value
 * @s:		the text
 */
struct fwd_astr {
	char s[INET_ADDRSTRLEN];
};

/**
 * fwd_ntoa() - an address for the trace, without a shared buffer
 * @addr:	address, network order
 *
 * Return: text, valid until the end of the caller's full expression
 */
static struct fwd_astr fwd_ntoa(uint32_t addr)
{
	struct fwd_astr a;

	inet_ntop(AF_INET, &addr, a.s, sizeof(a.s));
	return a;
}

/**
 * fwd_filter_update() - rebuild the raw sockets' filters for the claimed
 *			 port blocks, if they changed
 * @c:		context
 */
static void fwd_filter_update(struct ctx *c)
{
	struct port_range r[PORT_RANGES_MAX];
	int n, ret;

	if (!c->ports.changed)
		return;
	n = port_ranges(&c->ports, r, PORT_RANGES_MAX);
	ret = raw_filter(&c->raw, r, n);
	if (ret)
		err("can't update the raw socket filters: %s", strerror(-ret));
	else
		debug("raw socket filters now cover %d port ranges", n);
}

/**
 * fwd_init() - open raw sockets, allocate flows, ports and buffers
 * @c:		context, configuration complete
 *
 * Return: 0 on success, -errno
 */
int fwd_init(struct ctx *c)
{
	int ret, i;

	ret = raw_init(&c->raw);
	if (ret)
		return ret;
	ret = ct_init(&c->ct, c->flows_max);
	if (ret)
		return ret;
	for (i = 0; i < CT_STATES; i++)
		if (c->ct_timeout[i])
			c->ct.timeout[i] = c->ct_timeout[i];
	ret = port_init(&c->ports, c->ports_lo, c->ports_hi);
	if (ret)
		return ret;
	ret = frag_init(&c->frag);
	if (ret)
		return ret;
	c->scratch = malloc(RAW_PKT_MAX);
	if (!c->scratch)
		return -ENOMEM;

	c->ports.changed = true;
	fwd_filter_update(c);
	return 0;
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
 * fwd_proto_name() - name of a forwarded protocol, for the trace
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 *
 * Return: "TCP", "UDP" or "ICMP"
 */
static const char *fwd_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	default:
		return "ICMP";
	}
}

/**
 * fwd_release() - release what a flow holds and forget it
 * @c:		context
 * @idx:	flow number
 * @why:	for the trace
 */
static void fwd_release(struct ctx *c, uint32_t idx, const char *why)
{
	const struct flow *f = &c->ct.flows[idx];

	trace(c, "flow %u: %s %s:%u, host port %u, %s", idx,
	      fwd_proto_name(f->proto), fwd_ntoa(f->daddr).s, f->dport,
	      f->hport, why);

	port_release(&c->ports, fwd_port_class(f->proto), f->hport, f->fd,
		     c->now);
	ct_remove(&c->ct, idx);
}

/**
 * fwd_cleanup() - release everything at exit
 * @c:		context
 */
void fwd_cleanup(struct ctx *c)
{
	fwd_forget(c);
	port_free(&c->ports);
	ct_free(&c->ct);
	frag_free(&c->frag);
	raw_close(&c->raw);
	free(c->scratch);
}

/**
 * fwd_forget() - forget every flow: the guest went away
 * @c:		context
 */
void fwd_forget(struct ctx *c)
{
	int s;

	for (s = 0; c->ct.flows && s < CT_STATES; s++)
		while (c->ct.aging[s].head != FLOW_NONE)
			fwd_release(c, c->ct.aging[s].head, "guest gone");
	c->raw.nout = 0;
	frag_flush(&c->frag);
}

/**
 * fwd_timer() - once a second: expire flows, give back idle port blocks
 * @c:		context
 */
void fwd_timer(struct ctx *c)
{
	uint32_t idx;

	while ((idx = ct_expired(&c->ct, c->now)) != FLOW_NONE)
		fwd_release(c, idx, "expired");
	port_tick(&c->ports, c->now);
	fwd_filter_update(c);
	frag_tick(&c->frag, c->now);
}

/**
 * fwd_dst_ok() - tell whether the guest may send to an address
 * @c:		context
 * @daddr:	destination, network order
 *
 * Unicast only: not "this network", loopback (except through the gateway
 * mapping), multicast, reserved, limited broadcast, the guest's subnet
 * broadcast, nor the guest's own address.
 *
 * Return: true if allowed
 */
bool fwd_dst_ok(const struct ctx *c, uint32_t daddr)
{
	uint32_t h = ntohl(daddr), mask = c->guest.prefix_len ?
		     ~0U << (32 - c->guest.prefix_len) : 0;

	if (!ip4_is_unicast(daddr))
		return false;
	if (c->guest.prefix_len < 31 && (h | mask) == 0xffffffff &&
	    (h & mask) == (ntohl(c->guest.addr.s_addr) & mask))
		return false;	/* the subnet's broadcast address */
	return daddr != c->guest.addr.s_addr;
}

/**
 * fwd_l4_parse() - check the transport header of a guest packet
 * @c:		context
 * @p:		packet; @proto, ports, @flags and @l4len filled in
 *
 * Return: 0 if forwardable, -1 to drop
 */
static int fwd_l4_parse(const struct ctx *c, struct fwd_pkt *p)
{
	size_t ihl = ip4_hlen(&p->h), avail = p->len - ihl;
	const uint8_t *l4 = p->ip + ihl;
	struct tcphdr th;
	struct udphdr uh;
	struct icmphdr ih;

	p->proto = p->h.protocol;
	switch (p->proto) {
	case IPPROTO_TCP:
		if (avail < sizeof(th))
			return -1;
		memcpy(&th, l4, sizeof(th));
		p->l4len = (size_t)th.doff * 4;
		if (p->l4len < sizeof(th) || p->l4len > avail)
			return -1;
		p->sport = ntohs(th.source);
		p->dport = ntohs(th.dest);
		p->flags = l4[offsetof(struct tcphdr, ack_seq) + 5];
		return p->dport ? 0 : -1;
	case IPPROTO_UDP:
		if (avail < sizeof(uh))
			return -1;
		memcpy(&uh, l4, sizeof(uh));
		if (ntohs(uh.len) < sizeof(uh) || ntohs(uh.len) > avail)
			return -1;
		p->l4len = UDP_HDR;
		p->sport = ntohs(uh.source);
		p->dport = ntohs(uh.dest);
		return p->dport ? 0 : -1;
	case IPPROTO_ICMP:
		if (avail < ICMP_ECHO_HDR)
			return -1;
		memcpy(&ih, l4, sizeof(ih));
		if (ih.type != ICMP_ECHO || ih.code)
			return -1;	/* only echo requests go out */
		p->l4len = ICMP_ECHO_HDR;
		p->sport = ntohs(ih.un.echo.id);
		p->dport = 0;
		return 0;
	default:
		trace(c, "fwd: protocol %u not forwarded", p->proto);
		return -1;
	}
}

/**
 * fwd_refuse() - tell the guest a new flow can't be had
 * @c:		context
 * @p:		its first packet
 */
static void fwd_refuse(struct ctx *c, const struct fwd_pkt *p)
{
	if (p->proto == IPPROTO_TCP)
		tcp_rst(c, p->ip, p->len);
	else
		icmp_error(c, ICMP_DEST_UNREACH, ICMP_CODE_ADMIN_PROHIBITED, 0,
			   c->guest.gw.s_addr, p->ip, p->len);
}

/**
 * fwd_flow_new() - start a flow for a guest packet
 * @c:		context
 * @p:		its first packet
 *
 * Return: flow number, FLOW_NONE if the table is full or no port is left
 */
static uint32_t fwd_flow_new(struct ctx *c, const struct fwd_pkt *p)
{
	enum port_class cls = fwd_port_class(p->proto);
	struct flow f = { .proto = p->proto, .gaddr = p->h.saddr,
			  .gport = p->sport, .daddr = p->h.daddr,
			  .dport = p->dport, .fd = -1 };
	enum ct_state state;
	uint32_t idx;

	if (c->ct.count >= c->ct.max) {
		trace(c, "fwd: flow table full (%u), new flow refused",
		      c->ct.max);
		return FLOW_NONE;
	}

	if (p->mapped) {
		f.haddr = htonl(INADDR_LOOPBACK);
		f.raddr = (p->dport == DNS_PORT && c->dns_host.s_addr) ?
			  c->dns_host.s_addr : htonl(INADDR_LOOPBACK);
	} else {
		f.haddr = c->out_addr.s_addr;
		f.raddr = p->h.daddr;
	}

	f.hport = port_alloc(&c->ports, cls, &f.fd);
	if (!f.hport) {
		trace(c, "fwd: no host port left, new flow refused");
		return FLOW_NONE;
	}
	fwd_filter_update(c);

	if (p->proto == IPPROTO_TCP)
		state = CT_TCP_SYN_SENT;
	else
		state = p->proto == IPPROTO_UDP ? CT_UDP : CT_ICMP;
	idx = ct_insert(&c->ct, &f, state, c->now);

	trace(c, "flow %u: %s %s:%u from guest port %u, host port %u", idx,
	      fwd_proto_name(p->proto), fwd_ntoa(f.raddr).s, f.dport, f.gport,
	      f.hport);
	return idx;
}

/**
 * fwd_flow_get() - find or start the flow of a guest packet
 * @c:		context
 * @p:		packet
 *
 * Return: flow number, or FLOW_NONE after answering the guest (reset or
 *	   ICMP error) or dropping the packet
 */
static uint32_t fwd_flow_get(struct ctx *c, const struct fwd_pkt *p)
{
	uint32_t idx;

	idx = ct_lookup_guest(&c->ct, p->proto, p->h.saddr, p->sport,
			      p->h.daddr, p->dport);
	if (idx != FLOW_NONE)
		return idx;

	/* Only a SYN opens a TCP flow; anything else is for a connection
	 * merd doesn't know (anymore): reset, as the peer would
	 */
	if (p->proto == IPPROTO_TCP &&
	    (p->flags & (TH_SYN | TH_ACK)) != TH_SYN) {
		tcp_rst(c, p->ip, p->len);
		return FLOW_NONE;
	}

	idx = fwd_flow_new(c, p);
	if (idx == FLOW_NONE)
		fwd_refuse(c, p);
	return idx;
}

/**
 * fwd_track() - advance a flow's state for a packet, refresh its timeout
 * @c:		context
 * @idx:	flow number
 * @from:	CT_FROM_GUEST or CT_FROM_PEER
 * @flags:	TCP flags, if TCP
 */
static void fwd_track(struct ctx *c, uint32_t idx, int from, uint8_t flags)
{
	struct flow *f = &c->ct.flows[idx];
	enum ct_state s;

	switch (f->proto) {
	case IPPROTO_TCP:
		s = ct_tcp_track(f, from, flags);
		break;
	case IPPROTO_UDP:
		s = (from == CT_FROM_PEER || f->state == CT_UDP_STREAM) ?
		    CT_UDP_STREAM : CT_UDP;
		break;
	default:
		s = CT_ICMP;
		break;
	}
	ct_refresh(&c->ct, idx, s, c->now);
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
	const struct ctx *c = arg;
	struct iovec iov[2] = { { iov_const(hdr), hlen },
				{ iov_const(data), len } };
	struct iphdr ih;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct msghdr mh = { .msg_name = &dst, .msg_namelen = sizeof(dst),
			     .msg_iov = iov, .msg_iovlen = 2 };

	memcpy(&ih, hdr, sizeof(ih));
	dst.sin_addr.s_addr = ih.daddr;
	if (sendmsg(c->raw.fd_send, &mh, 0) < 0)
		trace(c, "fwd: fragment not sent: %s", strerror(errno));
}

/**
 * fwd_out_fragmented() - send a too large datagram as fragments
 * @c:		context
 * @o:		the datagram, headers rewritten, in the send batch slot
 * @mtu:	MTU toward the peer
 */
static void fwd_out_fragmented(struct ctx *c, const struct raw_out *o,
			       size_t mtu)
{
	size_t len = o->iov[0].iov_len + o->iov[1].iov_len;

	memcpy(c->scratch, o->iov[0].iov_base, o->iov[0].iov_len);
	memcpy(c->scratch + o->iov[0].iov_len, o->iov[1].iov_base,
	       o->iov[1].iov_len);
	if (frag_split(c->scratch, len, mtu, c->ip_id++, fwd_send_frag, c) < 0)
		trace(c, "fwd: %zu-byte datagram can't be fragmented", len);
}

/**
 * fwd_out() - rewrite a guest packet's headers and queue it for sending
 * @c:		context
 * @p:		packet
 * @idx:	its flow
 */
static void fwd_out(struct ctx *c, const struct fwd_pkt *p, uint32_t idx)
{
	const struct flow *f = &c->ct.flows[idx];
	struct raw_out *o = &c->raw.out[c->raw.nout];
	size_t ihl = ip4_hlen(&p->h), hlen = ihl + p->l4len;
	size_t mtu = p->mapped ? LOOPBACK_MTU : c->host.mtu;

	if (p->len > mtu && (ntohs(p->h.frag_off) & IP_DF)) {
		icmp_error(c, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
			   (uint16_t)MIN(mtu, (size_t)UINT16_MAX),
			   c->guest.gw.s_addr, p->ip, p->len);
		return;
	}

	memcpy(o->hdr, p->ip, hlen);
	o->quote_len = MIN(p->len, ihl + 8);
	memcpy(o->quote, p->ip, o->quote_len);
	if (!p->mapped)
		nat_ttl_dec(o->hdr);
	nat_l4(o->hdr + ihl, p->l4len, p->proto, p->h.saddr, p->h.daddr,
	       f->haddr, f->raddr, NAT_SPORT, f->hport);
	nat_ip4(o->hdr, f->haddr, f->raddr);

	o->iov[0].iov_base = o->hdr;
	o->iov[0].iov_len = hlen;
	o->iov[1].iov_base = iov_const(p->ip + hlen);
	o->iov[1].iov_len = p->len - hlen;
	o->dst.sin_family = AF_INET;
	o->dst.sin_addr.s_addr = f->raddr;

	if (p->len > mtu) {
		fwd_out_fragmented(c, o, mtu);
		return;
	}
	if (++c->raw.nout == RAW_BATCH)
		fwd_flush(c);
}

/**
 * fwd_send_error() - tell the guest why one of its packets didn't go out
 * @c:		context
 * @o:		the packet
 * @e:		errno of the send
 */
static void fwd_send_error(struct ctx *c, const struct raw_out *o, int e)
{
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
	default:
		trace(c, "fwd: send failed: %s", strerror(e));
		return;
	}
	icmp_error(c, ICMP_DEST_UNREACH, code, 0, c->guest.gw.s_addr,
		   o->quote, o->quote_len);
}

/**
 * fwd_flush() - send the batch of guest packets
 * @c:		context
 *
 * Must run before the buffer the payloads point into changes.
 */
void fwd_flush(struct ctx *c)
{
	struct mmsghdr mm[RAW_BATCH];
	int i, done = 0;

	for (i = 0; i < c->raw.nout; i++) {
		struct raw_out *o = &c->raw.out[i];

		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_name = &o->dst;
		mm[i].msg_hdr.msg_namelen = sizeof(o->dst);
		mm[i].msg_hdr.msg_iov = o->iov;
		mm[i].msg_hdr.msg_iovlen = 2;
	}

	while (done < c->raw.nout) {
		int n = sendmmsg(c->raw.fd_send, mm + done,
				 (unsigned int)(c->raw.nout - done), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The first packet left failed: report it, go on */
			fwd_send_error(c, &c->raw.out[done], errno);
			done++;
			continue;
		}
		done += n;
	}
	c->raw.nout = 0;
}

/**
 * fwd_from_guest() - forward an IPv4 packet from the guest
 * @c:		context
 * @ip:		packet, checked by ip4_parse()
 */
void fwd_from_guest(struct ctx *c, const struct ip4_view *ip)
{
	struct fwd_pkt p = { .ip = ip->hdr.p, .len = ip->hlen + ip->l4.len,
			     .h = ip->h };
	uint8_t *whole = NULL;
	size_t whole_len;
	uint32_t idx;

	if (ip->hlen != IP4_HLEN_MIN) {
		trace(c, "fwd: IPv4 options not forwarded");
		return;
	}
	if (ip4_is_fragment(ip)) {
		if (frag_in(&c->frag, p.ip, p.len, c->now, &whole,
			    &whole_len) != 1)
			return;
		p.ip = whole;
		p.len = whole_len;
		memcpy(&p.h, whole, sizeof(p.h));
	}

	if (!fwd_dst_ok(c, p.h.daddr) || fwd_l4_parse(c, &p)) {
		trace(c, "fwd: packet to %s dropped",
		      inet_ntoa((struct in_addr){ p.h.daddr }));
		goto out;
	}

	p.mapped = !c->no_map_gw && p.h.daddr == c->guest.gw.s_addr;
	if (!p.mapped && p.h.ttl <= 1) {
		/* RFC 1812 5.3.1: time exceeded in transit */
		icmp_error(c, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0,
			   c->guest.gw.s_addr, p.ip, p.len);
		goto out;
	}

	idx = fwd_flow_get(c, &p);
	if (idx == FLOW_NONE)
		goto out;
	fwd_track(c, idx, CT_FROM_GUEST, p.flags);
	fwd_out(c, &p, idx);

out:
	if (whole) {
		fwd_flush(c);
		frag_done(&c->frag, whole);
	}
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
 * fwd_to_guest_ip() - send a packet for the guest, cut to its MTU
 * @c:		context
 * @ip:		packet, addresses and ports the guest's, checksums right
 *		except TCP's (computed per segment), aligned
 * @len:	its length
 */
static void fwd_to_guest_ip(struct ctx *c, uint8_t *ip, size_t len)
{
	const struct iphdr *ih = (const struct iphdr *)ip;
	struct iovec iov = { ip, len };

	if (ih->protocol == IPPROTO_TCP) {
		tcp_to_guest(c, ip, len);
		return;
	}
	if (len <= c->guest.mtu) {
		tap_send_ip(c, &iov, 1);
		return;
	}
	if (frag_split(ip, len, c->guest.mtu, c->ip_id++, fwd_guest_frag,
		       c) < 0)
		trace(c, "fwd: %zu-byte datagram too large for the guest", len);
}

/**
 * fwd_udp_csum() - compute a UDP checksum in full, unless there is none
 * @ih:		IPv4 header, addresses final
 * @l4:		UDP header and payload
 * @len:	their length
 */
static void fwd_udp_csum(const struct iphdr *ih, uint8_t *l4, size_t len)
{
	struct udphdr *uh = (struct udphdr *)l4;

	if (!uh->check)
		return;		/* RFC 768: none given, none now */
	uh->check = 0;
	uh->check = csum_l4_ip4(ih->saddr, ih->daddr, IPPROTO_UDP, l4, len);
	if (!uh->check)
		uh->check = 0xffff;
}

/**
 * fwd_icmp_error_in() - translate an ICMP error about one of our flows
 * @c:		context
 * @ip:		the error, aligned, from its IPv4 header
 * @len:	its length
 */
static void fwd_icmp_error_in(struct ctx *c, uint8_t *ip, size_t len)
{
	struct iphdr *oh = (struct iphdr *)ip, qh, nh;
	size_t ohl = ip4_hlen(oh), qhl;
	uint8_t *q = ip + ohl + 8, *ql4;
	struct icmphdr *icmp = (struct icmphdr *)(ip + ohl);
	uint32_t osrc, idx;
	const struct flow *f;
	uint16_t hport, dport = 0;

	if (len < ohl + 8 + sizeof(qh) + 8 ||
	    (icmp->type != ICMP_DEST_UNREACH &&
	     icmp->type != ICMP_TIME_EXCEEDED &&
	     icmp->type != ICMP_PARAMETERPROB))
		return;
	memcpy(&qh, q, sizeof(qh));
	qhl = ip4_hlen(&qh);
	if (qh.version != 4 || qhl < sizeof(qh) || len < ohl + 8 + qhl + 8)
		return;
	ql4 = q + qhl;

	hport = nat_l4_port(ql4, qh.protocol, NAT_SPORT);
	if (qh.protocol != IPPROTO_ICMP)
		dport = nat_l4_port(ql4, qh.protocol, NAT_DPORT);
	idx = ct_lookup_host(&c->ct, qh.protocol, hport, qh.daddr, dport);
	if (idx == FLOW_NONE) {
		trace(c, "fwd: no flow for ICMP type %u from %s about protocol "
		      "%u to %s:%u from host port %u", icmp->type,
		      fwd_ntoa(oh->saddr).s, qh.protocol, fwd_ntoa(qh.daddr).s,
		      dport, hport);
		return;
	}
	f = &c->ct.flows[idx];

	/* The quoted packet as the guest sent it */
	nat_l4(ql4, len - (size_t)(ql4 - ip), qh.protocol, qh.saddr, qh.daddr,
	       f->gaddr, f->daddr, NAT_SPORT, f->gport);
	nat_ip4(q, f->gaddr, f->daddr);

	/* From the router that sent it; from the gateway if it's the host */
	osrc = oh->saddr;
	if (osrc == f->raddr && f->raddr != f->daddr)
		osrc = f->daddr;
	else if (ip4_is_loopback(osrc) || osrc == c->out_addr.s_addr)
		osrc = c->guest.gw.s_addr;

	/* A new header, without options, right before the ICMP message: to
	 * fit the guest's link, only the quote may be cut (RFC 1812 4.3.2.3)
	 */
	nh = (struct iphdr){ .version = 4, .ihl = IP4_HLEN_MIN / 4,
			     .tos = oh->tos, .id = oh->id,
			     .ttl = oh->ttl > 1 ? oh->ttl - 1 : 1,
			     .protocol = IPPROTO_ICMP, .saddr = osrc,
			     .daddr = f->gaddr };
	ip += ohl - IP4_HLEN_MIN;
	len = MIN(len - (ohl - IP4_HLEN_MIN), (size_t)c->guest.mtu);
	nh.tot_len = htons((uint16_t)len);
	nh.check = csum_ip4_header(&nh, sizeof(nh));
	memcpy(ip, &nh, sizeof(nh));

	icmp->checksum = 0;
	icmp->checksum = csum_finish(csum_partial(icmp, len - sizeof(nh), 0));

	trace(c, "flow %u: ICMP type %u code %u for the guest", idx,
	      icmp->type, icmp->code);
	fwd_to_guest_ip(c, ip, len);
}

/**
 * fwd_csum_trusted() - tell whether a TCP or UDP checksum may be recomputed
 * @ih:		IPv4 header, addresses as received
 * @l4:		transport header and payload
 * @len:	their length
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
static bool fwd_csum_trusted(const struct iphdr *ih, const uint8_t *l4,
			     size_t len)
{
	size_t coff = ih->protocol == IPPROTO_TCP ?
		      offsetof(struct tcphdr, check) :
		      offsetof(struct udphdr, check);
	uint32_t pseudo = csum_pseudo4(ih->saddr, ih->daddr, ih->protocol,
				       (uint16_t)len);
	uint16_t check;

	if (len < coff + sizeof(check))
		return false;
	memcpy(&check, l4 + coff, sizeof(check));
	if (ih->protocol == IPPROTO_UDP && !check)
		return true;
	if (check == csum_fold(pseudo))
		return true;
	return csum_fold(csum_partial(l4, len, pseudo)) == 0xffff;
}

/**
 * fwd_from_host() - forward a packet from a raw socket to the guest
 * @c:		context
 * @ip:		packet, aligned, from its IPv4 header, untrusted
 * @len:	bytes received
 */
void fwd_from_host(struct ctx *c, uint8_t *ip, size_t len)
{
	struct iphdr *ih = (struct iphdr *)ip;
	size_t ihl, tot;
	uint8_t *l4, flags = 0;
	uint16_t hport, rport = 0;
	const struct flow *f;
	uint32_t idx;

	if (len < sizeof(*ih) || ih->version != 4)
		return;
	ihl = ip4_hlen(ih);
	tot = ntohs(ih->tot_len);
	if (ihl < sizeof(*ih) || tot < ihl + 8 || tot > len)
		return;
	l4 = ip + ihl;

	if (ih->protocol == IPPROTO_ICMP && l4[0] != ICMP_ECHOREPLY) {
		fwd_icmp_error_in(c, ip, tot);
		return;
	}

	hport = nat_l4_port(l4, ih->protocol, NAT_DPORT);
	if (ih->protocol != IPPROTO_ICMP)
		rport = nat_l4_port(l4, ih->protocol, NAT_SPORT);
	if (ih->protocol == IPPROTO_TCP) {
		if (tot < ihl + sizeof(struct tcphdr))
			return;
		flags = l4[offsetof(struct tcphdr, ack_seq) + 5];
	}

	idx = ct_lookup_host(&c->ct, ih->protocol, hport, ih->saddr, rport);
	if (idx != FLOW_NONE && ih->protocol != IPPROTO_ICMP &&
	    !fwd_csum_trusted(ih, l4, tot - ihl)) {
		trace(c, "flow %u: bad checksum from %s, dropped", idx,
		      fwd_ntoa(ih->saddr).s);
		return;
	}
	if (idx == FLOW_NONE) {
		trace(c, "fwd: no flow for protocol %u from %s:%u to host "
		      "port %u", ih->protocol, fwd_ntoa(ih->saddr).s, rport,
		      hport);
		return;
	}
	fwd_track(c, idx, CT_FROM_PEER, flags);
	f = &c->ct.flows[idx];

	/* Answers from the host itself (the gateway mapped to loopback) come
	 * from the guest's router, not through it
	 */
	if (f->raddr == f->daddr) {
		if (ih->ttl <= 1)
			return;
		nat_ttl_dec(ip);
	}
	/* TCP and UDP checksums are computed in full below (tcp.c for TCP):
	 * updating them here too would be work thrown away
	 */
	if (ih->protocol == IPPROTO_ICMP)
		nat_l4(l4, tot - ihl, ih->protocol, ih->saddr, ih->daddr,
		       f->daddr, f->gaddr, NAT_DPORT, f->gport);
	else
		nat_port_set(l4, ih->protocol, NAT_DPORT, f->gport);
	nat_ip4(ip, f->daddr, f->gaddr);
	if (ih->protocol == IPPROTO_UDP)
		fwd_udp_csum(ih, l4, tot - ihl);

	fwd_to_guest_ip(c, ip, tot);
}

/**
 * fwd_room() - frames the queue to the guest can take, in packets
 * @c:		context
 *
 * A packet from a raw socket can be 64 KiB, and become dozens of frames
 * with their own headers once cut to the guest's MTU.
 *
 * Return: number of raw packets it is safe to read now
 */
static unsigned int fwd_room(const struct ctx *c)
{
	size_t segs = RAW_PKT_MAX / (c->guest.mtu > 200 ? c->guest.mtu - 120 :
				     80) + 1;
	size_t worst = RAW_PKT_MAX + segs * (TAP_HDR_LEN + ETH_HLEN + 120);

	return (unsigned int)MIN((c->tx.size - c->tx.used) / worst,
				 (size_t)RAW_BATCH);
}

/**
 * fwd_raw_pause() - stop or restart reading the raw sockets
 * @c:		context
 * @pause:	stop if true
 */
static void fwd_raw_pause(struct ctx *c, bool pause)
{
	int i;

	if (c->raw.paused == pause)
		return;
	for (i = 0; i < RAW_PROTOS; i++) {
		union epoll_ref ref = { .type = EPOLL_TYPE_RAW, .fd = i };
		struct epoll_event ev = { .events = pause ? 0 : EPOLLIN,
					  .data.u64 = ref.u64 };

		epoll_ctl(c->epollfd, EPOLL_CTL_MOD, c->raw.fd[i], &ev);
	}
	c->raw.paused = pause;
}

/**
 * fwd_raw_resume() - read the raw sockets again once the queue drained
 * @c:		context
 */
void fwd_raw_resume(struct ctx *c)
{
	if (c->raw.paused && fwd_room(c) == RAW_BATCH)
		fwd_raw_pause(c, false);
}

/**
 * fwd_raw_handler() - read a batch from a raw socket, forward to the guest
 * @c:		context
 * @proto:	which socket
 */
void fwd_raw_handler(struct ctx *c, enum raw_proto proto)
{
	struct mmsghdr mm[RAW_BATCH];
	struct iovec iov[RAW_BATCH];
	unsigned int room = fwd_room(c), i;
	int n;

	if (c->fd_tap >= 0 && !room) {
		fwd_raw_pause(c, true);
		return;
	}
	if (c->fd_tap < 0)
		room = RAW_BATCH;	/* read and drop: nobody to give it */

	for (i = 0; i < room; i++) {
		iov[i].iov_base = c->raw.in + (size_t)i * RAW_PKT_MAX;
		iov[i].iov_len = RAW_PKT_MAX;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}

	n = recvmmsg(c->raw.fd[proto], mm, room, MSG_DONTWAIT, NULL);
	if (n <= 0 || c->fd_tap < 0)
		return;
	for (i = 0; i < (unsigned int)n; i++)
		fwd_from_host(c, iov[i].iov_base, mm[i].msg_len);
}
