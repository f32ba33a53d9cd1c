// SPDX-License-Identifier: GPL-2.0-or-later
/* inbound.c - port forwarding: remote clients and the host's own programs
 *	       reach the guest's services
 *
 * Copyright (c) 2026 merd authors
 *
 * DOC: Theory of Operation
 *
 * The guest has the host's address, so a forwarded port needs no address
 * rewritten toward a remote client: a segment for the host's port 2222
 * (-t 2222:22) goes to the guest's port 22 with its source untouched, and
 * the guest sees the client's own address and port. The guest's answers
 * leave from the host's address and port 2222, as its outbound packets do.
 * A flow is opened by the remote's SYN or datagram (its initiator side is
 * on the host's network, fwd.c) and ages like any other.
 *
 * A program on the host itself can't be shown the guest as coming from
 * the guest's own address: its connections (to 127.0.0.1, ::1 or the
 * host's address) reach the guest from the gateway address, the mirror of
 * the gateway mapping for outbound flows; --no-map-gw turns that off, and
 * they are refused.
 *
 * Every forwarded host port is held for merd's lifetime by a socket the
 * kernel drops everything for (port.c), so the host's own stack never
 * answers for it, and no other program gets it; the raw sockets' filters
 * let its packets through (fwd.c). Without a guest, or before the guest
 * has an address, merd answers as a closed port would: a reset, or ICMP
 * port unreachable, from the address the client wrote to.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <sys/uio.h>

#include "fwdrule.h"
#include "icmp.h"
#include "icmp6.h"
#include "inbound.h"
#include "ip4.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "port.h"
#include "raw.h"
#include "tap.h"
#include "tcp.h"

/* The loopback device's index in every network namespace (the kernel's
 * LOOPBACK_IFINDEX: it is the first device of each)
 */
#define INBOUND_LO_IFINDEX	1
/* RFC 1812 4.3.2.3, RFC 4443 2.4 (c): how much an error quotes */
#define INBOUND_ICMP_ROOM	ICMP_ERROR_MAX
#define INBOUND_ICMP6_ROOM	IP6_MTU_MIN

/**
 * struct inbound_skip - ports of wide rules merd couldn't hold
 * @taken:	another program holds them
 * @priv:	they need CAP_NET_BIND_SERVICE
 * @first_taken: the first of @taken, for the message
 */
struct inbound_skip {
	uint32_t taken;
	uint32_t priv;
	uint16_t first_taken;
};

/**
 * inbound_proto_name() - the protocol of a rule, for messages
 * @r:		rule
 *
 * Return: "TCP" or "UDP"
 */
static const char *inbound_proto_name(const struct fwdrule *r)
{
	return r->proto == IPPROTO_TCP ? "TCP" : "UDP";
}

/**
 * inbound_hold_port() - hold one host port of a rule, or die saying why not
 * @c:		context
 * @r:		rule
 * @port:	host port
 * @skip:	counts of the ports a wide rule leaves out
 */
static void inbound_hold_port(struct ctx *c, const struct fwdrule *r,
			      uint16_t port, struct inbound_skip *skip)
{
	enum port_class cls = r->proto == IPPROTO_TCP ? PORT_TCP : PORT_UDP;
	int ret;

	ret = port_fwd_hold(&c->fwd.ports, cls, port,
			    r->addr_set ? &r->addr : NULL, r->ifname);
	if (!ret)
		return;
	if (r->wide && ret == -EADDRINUSE) {
		if (!skip->taken++)
			skip->first_taken = port;
		return;
	}
	if (r->wide && ret == -EACCES) {
		skip->priv++;
		return;
	}

	switch (ret) {
	case -EADDRINUSE:
		die("%s: host %s port %u is held by another program",
		    r->text, inbound_proto_name(r), port);
	case -EACCES:
		die("%s: host port %u is below %u: merd needs "
		    "CAP_NET_BIND_SERVICE for it", r->text, port,
		    IPPORT_RESERVED);
	case -EADDRNOTAVAIL:
		die("%s: %s is not an address of this host", r->text,
		    inany_ntop(&r->addr).s);
	case -ENODEV:
		die("%s: no interface %s", r->text, r->ifname);
	case -EMFILE:
	case -ENFILE:
		die("%s: out of descriptors at host port %u: raise the "
		    "descriptor limit (ulimit -n)", r->text, port);
	default:
		die("%s: can't hold host %s port %u: %s", r->text,
		    inbound_proto_name(r), port, strerror(-ret));
	}
}

/**
 * inbound_init() - hold every forwarded port, or end merd saying why not
 * @c:		context, after fwd_init(), before the first block of flow
 *		ports is claimed
 *
 * Ports a wide rule ("all", exclusions only) can't have, because another
 * program holds them or they need a privilege, are left out, as passt
 * does, and counted in one line; any other port that can't be held ends
 * merd with exit status 1, before it serves anything.
 */
void inbound_init(struct ctx *c)
{
	struct fwdrules *rules = &c->fwd.rules;
	struct inbound_skip skip = { 0, 0, 0 };
	bool ifaces = false;
	int i;

	for (i = 0; i < rules->n; i++) {
		struct fwdrule *r = &rules->rule[i];
		uint32_t port;

		if (r->ifname[0]) {
			r->ifi = if_nametoindex(r->ifname);
			if (!r->ifi)
				die("%s: no interface %s", r->text, r->ifname);
			ifaces = true;
		}
		for (port = r->first; port <= r->last; port++)
			inbound_hold_port(c, r, (uint16_t)port, &skip);
	}
	port_fwd_sort(&c->fwd.ports);

	if (ifaces && raw_pktinfo(&c->fwd.raw))
		die("can't have the raw sockets tell interfaces: %s",
		    strerror(errno));
	if (skip.taken)
		info("forwarding leaves out %u host ports other programs "
		     "hold (the first: %u)", skip.taken, skip.first_taken);
	if (skip.priv)
		info("forwarding leaves out %u host ports below %u: merd "
		     "lacks CAP_NET_BIND_SERVICE", skip.priv, IPPORT_RESERVED);
}

/**
 * inbound_guest_addr() - the guest's address for inbound traffic
 * @c:		context
 * @family:	AF_INET or AF_INET6
 * @a:		set to the address
 *
 * The one merd gave it (DHCP, DHCPv6) once the guest has it, else, for
 * IPv6, the global address it sent from last (SLAAC).
 *
 * Return: true if the guest has an address of that family
 */
bool inbound_guest_addr(const struct ctx *c, int family,
			union inany_addr *a)
{
	int i;

	if (family == AF_INET) {
		if (!c->guest4.enabled || !c->guest4.bound)
			return false;
		inany_from_v4(a, c->guest4.addr.s_addr);
		return true;
	}
	if (!c->guest6.enabled)
		return false;
	if (c->guest6.bound) {
		a->a6 = c->guest6.addr;
		return true;
	}
	for (i = 0; i < c->guest6.own_n; i++) {
		if (ip6_is_unicast(&c->guest6.own[i]) &&
		    !IN6_IS_ADDR_LINKLOCAL(&c->guest6.own[i])) {
			a->a6 = c->guest6.own[i];
			return true;
		}
	}
	return false;
}

/**
 * inbound_from_host() - tell whether a packet comes from the host itself
 * @c:		context
 * @ip:		packet from a raw socket
 * @ifi:	interface it came in on, 0 if unknown
 *
 * Return: true for loopback sources, the host's own addresses, and
 *	   anything that came in on the loopback device
 */
bool inbound_from_host(const struct ctx *c, const struct ip_view *ip,
		       unsigned int ifi)
{
	if (ifi == INBOUND_LO_IFINDEX)
		return true;
	if (ip->family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&ip->src.a6) ||
		       IN6_ARE_ADDR_EQUAL(&ip->src.a6, &c->host.addr6) ||
		       IN6_ARE_ADDR_EQUAL(&ip->src.a6, &c->host.out6);
	return ip4_is_loopback(inany_v4(&ip->src)) ||
	       inany_v4(&ip->src) == c->host.addr4.s_addr ||
	       inany_v4(&ip->src) == c->host.out4.s_addr;
}

/**
 * inbound_send() - send a packet merd wrote to a host-side peer, at once
 * @c:		context
 * @iov:	the packet, from its IP header
 * @cnt:	number of pieces
 * @ip:		the packet it answers: its source is the destination
 */
static void inbound_send(struct ctx *c, const struct iovec *iov, int cnt,
			 const struct ip_view *ip)
{
	int ret;

	if (ip->family == AF_INET6)
		ret = raw_send6(&c->fwd.raw, iov, cnt, &ip->src.a6);
	else
		ret = raw_send(&c->fwd.raw, iov, cnt, inany_v4(&ip->src));
	if (ret)
		drop(c, raw_drop_why(ret), "inbound: answer to %s not sent: %s",
		     inany_ntop(&ip->src).s, strerror(-ret));
}

/**
 * inbound_icmp() - send an ICMP error about a host-side packet to its
 *		    source, from the address it was sent to
 * @c:		context
 * @ip:		the packet (header and payload one after the other)
 * @type:	ICMP type; for IPv6, the ICMPv6 one
 * @code:	its code
 */
void inbound_icmp(struct ctx *c, const struct ip_view *ip, uint8_t type,
		  uint8_t code)
{
	uint8_t hdr[ICMP6_ERROR_HDR];
	struct iovec iov[2];
	size_t quote;

	if (ip->family == AF_INET6) {
		quote = icmp6_error_build(hdr, type, code, 0, &ip->dst.a6, ip,
					  INBOUND_ICMP6_ROOM);
		iov[0].iov_len = ICMP6_ERROR_HDR;
	} else {
		quote = icmp_error_build(hdr, type, code, 0,
					 inany_v4(&ip->dst), ip,
					 INBOUND_ICMP_ROOM, c->fwd.ip_id);
		iov[0].iov_len = ICMP_ERROR_HDR;
	}
	if (!quote)
		return;
	c->fwd.ip_id++;
	iov[0].iov_base = hdr;
	iov[1].iov_base = iov_const(ip->hdr.p);
	iov[1].iov_len = quote;
	inbound_send(c, iov, 2, ip);
}

/**
 * inbound_refuse() - answer for the guest as a closed port would
 * @c:		context
 * @ip:		a packet for a forwarded port that can't go on
 * @l4:		its transport header
 * @why:	for the trace
 *
 * A reset for TCP (RFC 9293 3.10.7.1), ICMP port unreachable for UDP
 * (RFC 1122 4.1.3.1), from the address and port the client wrote to.
 */
void inbound_refuse(struct ctx *c, const struct ip_view *ip,
		    const struct l4_view *l4, const char *why)
{
	uint8_t out[TCP_RST_MAX];
	struct iovec iov = { out, 0 };

	trace(c, "inbound: %s %s:%u to host port %u refused: %s",
	      ip->proto == IPPROTO_TCP ? "TCP" : "UDP",
	      inany_ntop(&ip->src).s, l4->sport, l4->dport, why);
	if (ip->proto == IPPROTO_UDP) {
		if (ip->family == AF_INET6)
			inbound_icmp(c, ip, ICMP6_DST_UNREACH,
				     ICMP6_DST_UNREACH_NOPORT);
		else
			inbound_icmp(c, ip, ICMP_DEST_UNREACH,
				     ICMP_PORT_UNREACH);
		return;
	}
	iov.iov_len = tcp_rst_build(out, ip, l4, c->fwd.ip_id);
	if (!iov.iov_len)
		return;
	c->fwd.ip_id++;
	inbound_send(c, &iov, 1, ip);
}
