// SPDX-License-Identifier: GPL-2.0-or-later
/* ndp.c - neighbour discovery and router advertisements for the guest's link
 *
 * Copyright (c) 2026 merd authors
 *
 * merd is every other node on the guest's link, and its router. As arp.c
 * does for IPv4, it answers a neighbour solicitation for any unicast
 * address with its own MAC, except for the guest's own addresses: those
 * are the guest's duplicate address detection, and an answer would tell
 * the guest its address is taken. It answers router solicitations with a
 * router advertisement from the router's link-local address: the prefix,
 * on-link and for SLAAC, the MTU, the DNS servers and search list, and the
 * managed flag, for DHCPv6 to hand out the host's own address. Any other
 * NDP or MLD message from the guest is swallowed: nobody else is on the
 * link to hear it.
 *
 * Solicitations are checked as RFC 4861 6.1.1 and 7.1.1 say (hop limit
 * 255, code 0, checksum, length, options of nonzero length inside the
 * message) and dropped quietly otherwise.
 */

#include <assert.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>

#include "csum.h"
#include "dhcp.h"
#include "inany.h"
#include "ip6.h"
#include "log.h"
#include "ndp.h"
#include "util.h"

/* RFC 3810 5.2: MLDv2 report; glibc names only MLDv1's messages */
#define MLD2_LISTENER_REPORT	143
/* RFC 8106 5.1, 5.2: recursive DNS server and DNS search list options */
#define ND_OPT_RDNSS		25
#define ND_OPT_DNSSL		31

/* RFC 4861 4.6: option lengths count 8-octet units, in one octet */
#define NDP_OPT_UNIT		8
#define NDP_OPT_LEN_MAX		(UINT8_MAX * NDP_OPT_UNIT)
/* RFC 4861 4.6.1: a link-layer address option for Ethernet is one unit */
#define NDP_OPT_LLA_LEN		NDP_OPT_UNIT

/* RFC 4861 6.2.1: AdvCurHopLimit, the hop limit hosts should use */
#define NDP_RA_CUR_HOPS		IP6_DEFAULT_HOPS
/* RFC 4861 6.2.1: AdvDefaultLifetime, by default 3 * MaxRtrAdvInterval,
 * and at most 9000 seconds
 */
#define NDP_RA_LIFETIME		1800
#define NDP_RA_LIFETIME_MAX	9000
/* RFC 4861 6.2.1: AdvValidLifetime and AdvPreferredLifetime of the prefix.
 * Shorter than the defaults (30 and 7 days): every RA refreshes them, and
 * a prefix the host loses leaves the guest within the hour
 */
#define NDP_PREFIX_VALID	3600
#define NDP_PREFIX_PREFERRED	1800
/* RFC 8106 5.1, 5.2: RDNSS and DNSSL lifetimes SHOULD by default be at
 * least 3 * MaxRtrAdvInterval
 */
#define NDP_DNS_LIFETIME	(3 * NDP_RA_INTERVAL_MAX)

/* RFC 4291 appendix A: the universal/local bit, inverted in EUI-64 */
#define NDP_EUI64_UL	0x02

static_assert(NDP_RA_LIFETIME <= NDP_RA_LIFETIME_MAX &&
	      NDP_RA_LIFETIME >= NDP_RA_INTERVAL_MAX,
	      "RFC 4861 6.2.1: MaxRtrAdvInterval <= lifetime <= 9000 s");
static_assert(NDP_RA_INTERVAL_MIN >= 3 && NDP_RA_INTERVAL_MAX <= 1800 &&
	      NDP_RA_INTERVAL_MIN * 4 <= NDP_RA_INTERVAL_MAX * 3,
	      "RFC 4861 6.2.1: 3 <= MinRtrAdvInterval <= 0.75 * Max <= 1350");
static_assert(NDP_PREFIX_PREFERRED <= NDP_PREFIX_VALID,
	      "RFC 4862 5.5.3 c): preferred lifetime within the valid one");

/* RFC 4291 2.7.1: all-nodes, link-local scope */
static const struct in6_addr ndp_all_nodes = { { { 0xff, 0x02, [15] = 1 } } };

/**
 * struct ndp_opt_dns - header of the RDNSS and DNSSL options (RFC 8106 5)
 * @type:	ND_OPT_RDNSS or ND_OPT_DNSSL
 * @len:	length of the option, header included, in 8-octet units
 * @reserved:	zero
 * @lifetime:	seconds the servers or names may be used, network order
 */
struct ndp_opt_dns {
	uint8_t type;
	uint8_t len;
	uint16_t reserved;
	uint32_t lifetime;
};

/**
 * struct ndp_in - what merd reads from a valid solicitation's options
 * @slla:	source link-layer address (RFC 4861 4.6.1)
 * @has_slla:	@slla was there
 */
struct ndp_in {
	uint8_t slla[ETH_ALEN];
	bool has_slla;
};

/**
 * struct ndp_buf - an ICMPv6 message being written
 * @p:		its first byte
 * @len:	bytes written
 * @size:	room for it, never below @len
 */
struct ndp_buf {
	uint8_t *p;
	size_t len;
	size_t size;
};

/**
 * ndp_ntop() - an IPv6 address as text, for trace()
 * @a:		address
 *
 * Return: text, valid until the end of the caller's full expression
 */
static struct inany_str ndp_ntop(const struct in6_addr *a)
{
	union inany_addr any = { .a6 = *a };

	return inany_ntop(&any);
}

/**
 * ndp_put() - append bytes to a message
 * @b:		message
 * @src:	bytes
 * @n:		their number
 *
 * Return: true if appended, false if there is no room (nothing written)
 */
static bool ndp_put(struct ndp_buf *b, const void *src, size_t n)
{
	if (n > b->size - b->len)
		return false;
	memcpy(b->p + b->len, src, n);
	b->len += n;
	return true;
}

/**
 * ndp_opt_lla() - append a link-layer address option (RFC 4861 4.6.1)
 * @b:		message
 * @type:	ND_OPT_SOURCE_LINKADDR or ND_OPT_TARGET_LINKADDR
 * @mac:	address
 *
 * Return: true if appended, false if there is no room
 */
static bool ndp_opt_lla(struct ndp_buf *b, uint8_t type, const uint8_t *mac)
{
	uint8_t o[NDP_OPT_LLA_LEN] = { type, NDP_OPT_LLA_LEN / NDP_OPT_UNIT };

	memcpy(o + sizeof(struct nd_opt_hdr), mac, ETH_ALEN);
	return ndp_put(b, o, sizeof(o));
}

/**
 * ndp_opts_check() - walk the options of a message (RFC 4861 4.6)
 * @opts:	the options, up to the end of the message
 * @in:		filled with what merd reads from them
 *
 * Every step moves on by at least one unit, so the walk ends within
 * @opts.len / NDP_OPT_UNIT steps.
 *
 * Return: true if every option has a nonzero length and ends inside @opts
 */
static bool ndp_opts_check(struct pkt opts, struct ndp_in *in)
{
	size_t off = 0;

	in->has_slla = false;
	while (off < opts.len) {
		struct nd_opt_hdr h;
		size_t len;

		if (!pkt_get(opts, off, &h, sizeof(h)) || !h.nd_opt_len)
			return false;
		len = (size_t)h.nd_opt_len * NDP_OPT_UNIT;
		if (!pkt_in(opts, off, len))
			return false;
		if (h.nd_opt_type == ND_OPT_SOURCE_LINKADDR &&
		    len == NDP_OPT_LLA_LEN &&
		    pkt_get(opts, off + sizeof(h), in->slla, ETH_ALEN))
			in->has_slla = true;
		off += len;
	}
	return true;
}

/**
 * ndp_check() - check a solicitation from the guest (RFC 4861 6.1.1, 7.1.1)
 * @c:		context
 * @ip:		packet, ICMPv6
 * @min:	length of the message before its options
 * @in:		filled with what merd reads from the options
 *
 * Return: true if valid
 */
static bool ndp_check(const struct ctx *c, const struct ip_view *ip,
		      size_t min, struct ndp_in *in)
{
	struct icmp6_hdr ih;
	struct pkt opts;

	if (ip->ttl != IP6_NDP_HOPS) {
		trace(c, "ndp: hop limit %u, not from the link, dropped",
		      ip->ttl);
		return false;
	}
	if (ip->l4.len < min || !pkt_get(ip->l4, 0, &ih, sizeof(ih)) ||
	    ih.icmp6_code) {
		trace(c, "ndp: truncated or code not 0, dropped");
		return false;
	}
	if (csum_l4_ip6(&ip->src.a6, &ip->dst.a6, IPPROTO_ICMPV6, ip->l4.p,
			ip->l4.len)) {
		trace(c, "ndp: bad checksum, dropped");
		return false;
	}
	if (IN6_IS_ADDR_MULTICAST(&ip->src.a6) ||
	    !pkt_tail(ip->l4, min, &opts) || !ndp_opts_check(opts, in)) {
		trace(c, "ndp: multicast source or malformed option, dropped");
		return false;
	}
	return true;
}

/**
 * ndp_is_guest_eui64() - tell whether an address has the interface
 *			  identifier the guest's MAC gives (RFC 4291 2.5.1,
 *			  appendix A): its SLAAC and link-local addresses,
 *			  even before it sends from them
 * @c:		context
 * @a:		address
 *
 * Return: true if the last 64 bits are the modified EUI-64 of the guest's
 *	   MAC, once that is known
 */
static bool ndp_is_guest_eui64(const struct ctx *c, const struct in6_addr *a)
{
	const uint8_t *m = c->tap.guest_mac;
	const uint8_t iid[8] = { (uint8_t)(m[0] ^ NDP_EUI64_UL), m[1], m[2],
				 0xff, 0xfe, m[3], m[4], m[5] };

	return c->tap.guest_mac_known && !memcmp(&a->s6_addr[8], iid, 8);
}

/**
 * ndp_is_guest() - tell whether an address is one of the guest's own
 * @c:		context
 * @a:		address
 *
 * Return: true for the DHCPv6 address and those the guest sent from
 */
static bool ndp_is_guest(const struct ctx *c, const struct in6_addr *a)
{
	const struct guest6 *g = &c->guest6;
	int i;

	if (IN6_ARE_ADDR_EQUAL(a, &g->addr) || ndp_is_guest_eui64(c, a))
		return true;
	for (i = 0; i < g->own_n && i < GUEST6_OWN_MAX; i++)
		if (IN6_ARE_ADDR_EQUAL(a, &g->own[i]))
			return true;
	return false;
}

/**
 * ndp_na() - build a solicited neighbour advertisement (RFC 4861 7.2.4)
 * @c:		context
 * @target:	address asked about, and the source of the advertisement
 * @dst:	source of the solicitation
 * @dmac:	its MAC address
 * @reply:	buffer for the frame
 * @size:	size of @reply
 *
 * Return: frame length, 0 if it doesn't fit
 */
static size_t ndp_na(const struct ctx *c, const struct in6_addr *target,
		     const struct in6_addr *dst, const uint8_t *dmac,
		     uint8_t *reply, size_t size)
{
	uint8_t msg[sizeof(struct nd_neighbor_advert) + NDP_OPT_LLA_LEN];
	struct ndp_buf b = { msg, 0, sizeof(msg) };
	struct nd_neighbor_advert na = {
		.nd_na_type = ND_NEIGHBOR_ADVERT,
		.nd_na_flags_reserved = ND_NA_FLAG_SOLICITED |
					ND_NA_FLAG_OVERRIDE,
		.nd_na_target = *target,
	};

	if (IN6_ARE_ADDR_EQUAL(target, &c->guest6.gw))
		na.nd_na_flags_reserved |= ND_NA_FLAG_ROUTER;
	if (!ndp_put(&b, &na, sizeof(na)) ||
	    !ndp_opt_lla(&b, ND_OPT_TARGET_LINKADDR, c->link.mac))
		return 0;

	return ip6_l4_frame(reply, size, dmac, c->link.mac, target, dst,
			    IPPROTO_ICMPV6, IP6_NDP_HOPS, b.p, b.len);
}

/**
 * ndp_ns() - answer a neighbour solicitation from the guest
 * @c:		context
 * @ip:		packet, ICMPv6 type 135
 * @reply:	buffer for the reply frame
 * @size:	size of @reply
 *
 * Return: length of the reply frame, 0 if there is none
 */
static size_t ndp_ns(const struct ctx *c, const struct ip_view *ip,
		     uint8_t *reply, size_t size)
{
	const struct in6_addr *src = &ip->src.a6;
	struct nd_neighbor_solicit ns;
	const uint8_t *dmac;
	struct ndp_in in;

	if (!ndp_check(c, ip, sizeof(ns), &in) ||
	    !pkt_get(ip->l4, 0, &ns, sizeof(ns)) ||
	    IN6_IS_ADDR_MULTICAST(&ns.nd_ns_target) || c->opts.no_ndp)
		return 0;
	if (IN6_IS_ADDR_UNSPECIFIED(src)) {
		trace(c, "ndp: duplicate address detection for %s, silent",
		      ndp_ntop(&ns.nd_ns_target).s);
		return 0;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&ns.nd_ns_target) ||
	    IN6_IS_ADDR_LOOPBACK(&ns.nd_ns_target) ||
	    ndp_is_guest(c, &ns.nd_ns_target)) {
		trace(c, "ndp: solicitation for %s, the guest's, silent",
		      ndp_ntop(&ns.nd_ns_target).s);
		return 0;
	}

	/* The frame's source; the option's only if that isn't known */
	dmac = c->tap.guest_mac_known ? c->tap.guest_mac :
	       in.has_slla ? in.slla : NULL;
	if (!dmac)
		return 0;

	trace(c, "ndp: %s is at our MAC, told %s",
	      ndp_ntop(&ns.nd_ns_target).s, ndp_ntop(src).s);
	return ndp_na(c, &ns.nd_ns_target, src, dmac, reply, size);
}

/**
 * ndp_rs() - answer a router solicitation from the guest (RFC 4861 6.2.6)
 * @c:		context
 * @ip:		packet, ICMPv6 type 133
 * @reply:	buffer for the reply frame
 * @size:	size of @reply
 *
 * Return: length of the reply frame, 0 if there is none
 */
static size_t ndp_rs(const struct ctx *c, const struct ip_view *ip,
		     uint8_t *reply, size_t size)
{
	const struct in6_addr *dst = &ip->src.a6;
	const uint8_t *dmac;
	struct ndp_in in;

	if (!ndp_check(c, ip, sizeof(struct nd_router_solicit), &in))
		return 0;
	if (IN6_IS_ADDR_UNSPECIFIED(dst) && in.has_slla) {
		trace(c, "ndp: link-layer address from ::, dropped");
		return 0;
	}
	if (c->opts.no_ra)
		return 0;

	dmac = c->tap.guest_mac_known ? c->tap.guest_mac :
	       in.has_slla ? in.slla : NULL;
	if (IN6_IS_ADDR_UNSPECIFIED(dst) || !dmac) {
		trace(c, "ndp: router advertisement to ff02::1");
		return ndp_ra_all(c, reply, size);
	}

	trace(c, "ndp: router advertisement to %s", ndp_ntop(dst).s);
	return ndp_ra(c, dst, dmac, reply, size);
}

/**
 * ndp_is_ndp() - tell whether an ICMPv6 type is NDP's or MLD's
 * @type:	ICMPv6 type
 *
 * Return: true for MLD (RFC 2710 3, RFC 3810 5) and NDP (RFC 4861 4)
 */
static bool ndp_is_ndp(uint8_t type)
{
	switch (type) {
	case MLD_LISTENER_QUERY:
	case MLD_LISTENER_REPORT:
	case MLD_LISTENER_REDUCTION:
	case MLD2_LISTENER_REPORT:
	case ND_ROUTER_SOLICIT:
	case ND_ROUTER_ADVERT:
	case ND_NEIGHBOR_SOLICIT:
	case ND_NEIGHBOR_ADVERT:
	case ND_REDIRECT:
		return true;
	default:
		return false;
	}
}

/**
 * ndp() - handle NDP and MLD from the guest
 * @c:		context
 * @ip:		IPv6 packet from the guest, checked by ip6_parse()
 * @reply:	buffer for a reply frame
 * @size:	size of @reply
 * @rlen:	set to the length of the reply frame, 0 for none
 *
 * Return: true if the packet was NDP or MLD, for merd alone: the caller
 *	   drops it; false for anything else, which the caller forwards
 */
bool ndp(const struct ctx *c, const struct ip_view *ip, uint8_t *reply,
	 size_t size, size_t *rlen)
{
	uint8_t type;

	*rlen = 0;
	if (!c->guest6.enabled || ip->family != AF_INET6 ||
	    ip->proto != IPPROTO_ICMPV6 || ip->frag ||
	    !pkt_get(ip->l4, 0, &type, sizeof(type)) || !ndp_is_ndp(type))
		return false;

	if (ip->fraghdr || ip->mf) {
		trace(c, "ndp: fragmented NDP or MLD, dropped (RFC 6980 5)");
		return true;
	}

	switch (type) {
	case ND_NEIGHBOR_SOLICIT:
		*rlen = ndp_ns(c, ip, reply, size);
		break;
	case ND_ROUTER_SOLICIT:
		*rlen = ndp_rs(c, ip, reply, size);
		break;
	default:
		break;	/* RA, NA, redirect, MLD: nobody else is on the link */
	}
	return true;
}

/**
 * ndp_dad_target() - the address a guest's duplicate address detection is
 *		      about
 * @c:		context
 * @ip:		IPv6 packet from the guest, checked by ip6_parse()
 * @target:	set to the address the guest is about to take
 *
 * A neighbour solicitation from :: is the guest claiming its target (RFC
 * 4862 5.4.2), whatever way it made the address (EUI-64, stable privacy,
 * temporary): from then on NDP must not answer for it.
 *
 * Return: true for a valid DAD solicitation, with @target set
 */
bool ndp_dad_target(const struct ctx *c, const struct ip_view *ip,
		    struct in6_addr *target)
{
	struct nd_neighbor_solicit ns;
	struct ndp_in in;

	if (!c->guest6.enabled || ip->proto != IPPROTO_ICMPV6 || ip->frag ||
	    ip->mf || !IN6_IS_ADDR_UNSPECIFIED(&ip->src.a6) ||
	    !pkt_get(ip->l4, 0, &ns, sizeof(ns)) ||
	    ns.nd_ns_type != ND_NEIGHBOR_SOLICIT ||
	    !ndp_check(c, ip, sizeof(ns), &in) ||
	    IN6_IS_ADDR_MULTICAST(&ns.nd_ns_target) ||
	    IN6_IS_ADDR_UNSPECIFIED(&ns.nd_ns_target))
		return false;
	*target = ns.nd_ns_target;
	return true;
}

/**
 * ndp_opt_prefix_old() - withdraw the prefix the host had before, if any
 * @c:		context
 * @b:		message
 *
 * The host's address changed (host.c): the old prefix is announced with
 * a preferred lifetime of 0, so that the guest's addresses in it are
 * deprecated at once and new connections use the new prefix. The valid
 * lifetime of 0 leaves them two more hours at most (RFC 4862 5.5.3 e),
 * for the flows the guest still has there.
 *
 * Return: true if appended or not needed, false if there is no room
 */
static bool ndp_opt_prefix_old(const struct ctx *c, struct ndp_buf *b)
{
	const struct guest6 *g = &c->guest6;
	struct nd_opt_prefix_info pi = {
		.nd_opt_pi_type = ND_OPT_PREFIX_INFORMATION,
		.nd_opt_pi_len = sizeof(pi) / NDP_OPT_UNIT,
		.nd_opt_pi_prefix_len = (uint8_t)g->prev_len,
		.nd_opt_pi_flags_reserved = ND_OPT_PI_FLAG_ONLINK |
					    ND_OPT_PI_FLAG_AUTO,
		.nd_opt_pi_prefix = g->prev_prefix,
	};

	if (!g->prev_len || (g->prev_len == g->prefix_len &&
			     IN6_ARE_ADDR_EQUAL(&g->prev_prefix, &g->prefix)))
		return true;
	return ndp_put(b, &pi, sizeof(pi));
}

/**
 * ndp_ra_head() - append an RA's header and the options it always has
 * @c:		context
 * @b:		message, empty
 *
 * Return: true if appended, false if there is no room
 */
static bool ndp_ra_head(const struct ctx *c, struct ndp_buf *b)
{
	struct nd_router_advert ra = { .nd_ra_type = ND_ROUTER_ADVERT };
	struct nd_opt_mtu mtu = {
		.nd_opt_mtu_type = ND_OPT_MTU,
		.nd_opt_mtu_len = sizeof(mtu) / NDP_OPT_UNIT,
		.nd_opt_mtu_mtu = htonl(c->link.mtu),
	};
	struct nd_opt_prefix_info pi = {
		.nd_opt_pi_type = ND_OPT_PREFIX_INFORMATION,
		.nd_opt_pi_len = sizeof(pi) / NDP_OPT_UNIT,
		.nd_opt_pi_prefix_len = (uint8_t)c->guest6.prefix_len,
		.nd_opt_pi_flags_reserved = ND_OPT_PI_FLAG_ONLINK |
					    ND_OPT_PI_FLAG_AUTO,
		.nd_opt_pi_valid_time = htonl(NDP_PREFIX_VALID),
		.nd_opt_pi_preferred_time = htonl(NDP_PREFIX_PREFERRED),
		.nd_opt_pi_prefix = c->guest6.prefix,
	};

	/* Fields of one union: set one by one, not initialised together */
	ra.nd_ra_curhoplimit = NDP_RA_CUR_HOPS;
	/* Managed and other configuration: ask DHCPv6, unless it's off */
	if (!c->opts.no_dhcpv6)
		ra.nd_ra_flags_reserved = ND_RA_FLAG_MANAGED | ND_RA_FLAG_OTHER;
	ra.nd_ra_router_lifetime = htons(NDP_RA_LIFETIME);
	return ndp_put(b, &ra, sizeof(ra)) &&
	       ndp_opt_lla(b, ND_OPT_SOURCE_LINKADDR, c->link.mac) &&
	       ndp_put(b, &mtu, sizeof(mtu)) && ndp_put(b, &pi, sizeof(pi)) &&
	       ndp_opt_prefix_old(c, b);
}

/**
 * ndp_opt_rdnss() - append the DNS servers, if any (RFC 8106 5.1)
 * @c:		context
 * @b:		message
 *
 * Left out, with a trace, if there is no room.
 */
static void ndp_opt_rdnss(const struct ctx *c, struct ndp_buf *b)
{
	size_t n = (size_t)MIN(MAX(c->guest6.dns_n, 0), DNS_MAX);
	size_t len = sizeof(struct ndp_opt_dns) + n * sizeof(struct in6_addr);
	struct ndp_opt_dns h = {
		.type = ND_OPT_RDNSS,
		.len = (uint8_t)(len / NDP_OPT_UNIT),
		.lifetime = htonl(NDP_DNS_LIFETIME),
	};

	if (!n)
		return;
	if (len > b->size - b->len) {
		trace(c, "ndp: no room for the DNS servers in the RA");
		return;
	}
	ndp_put(b, &h, sizeof(h));
	ndp_put(b, c->guest6.dns, n * sizeof(struct in6_addr));
}

/**
 * ndp_opt_dnssl() - append the search list, if any (RFC 8106 5.2)
 * @c:		context
 * @b:		message
 *
 * Names are encoded by dhcp_encode_search() (RFC 1035 3.1, uncompressed),
 * and padded with zeros to a whole number of units. Left out, with a
 * trace, if there is no room.
 */
static void ndp_opt_dnssl(const struct ctx *c, struct ndp_buf *b)
{
	size_t room = MIN(b->size - b->len, (size_t)NDP_OPT_LEN_MAX);
	struct ndp_opt_dns h = {
		.type = ND_OPT_DNSSL,
		.lifetime = htonl(NDP_DNS_LIFETIME),
	};
	size_t n, len;

	/* Whole units only, so that the padding always fits */
	room -= room % NDP_OPT_UNIT;
	if (c->link.search_n <= 0 || room <= sizeof(h))
		return;
	n = dhcp_encode_search(&c->link, b->p + b->len + sizeof(h),
			       room - sizeof(h));
	if (!n) {
		trace(c, "ndp: no room for the search list in the RA");
		return;
	}

	len = sizeof(h) + n;
	len += (NDP_OPT_UNIT - len % NDP_OPT_UNIT) % NDP_OPT_UNIT;
	h.len = (uint8_t)(len / NDP_OPT_UNIT);
	memset(b->p + b->len + sizeof(h) + n, 0, len - sizeof(h) - n);
	memcpy(b->p + b->len, &h, sizeof(h));
	b->len += len;
}

/**
 * ndp_ra() - build a router advertisement (RFC 4861 4.2, 6.2.3)
 * @c:		context
 * @dst:	destination address: the solicitor, or all-nodes
 * @dmac:	destination MAC
 * @buf:	buffer for the frame
 * @size:	size of @buf
 *
 * From the router's link-local address and merd's MAC, hop limit 255: the
 * managed and other flags, the link-layer address, MTU and prefix options,
 * then the DNS servers and search list where they fit in @buf and in the
 * link's MTU.
 *
 * Return: frame length, 0 if not even the RA without the DNS options fits
 */
size_t ndp_ra(const struct ctx *c, const struct in6_addr *dst,
	      const uint8_t *dmac, uint8_t *buf, size_t size)
{
	const size_t hdrs = ETH_HLEN + IP6_HLEN;
	size_t mtu = MAX((size_t)c->link.mtu, (size_t)IP6_MTU_MIN);
	struct ndp_buf b;

	if (size < hdrs)
		return 0;

	/* Built in place, where ip6_l4_frame() puts the message */
	b.p = buf + hdrs;
	b.len = 0;
	b.size = MIN(size - hdrs, mtu - IP6_HLEN);
	if (!ndp_ra_head(c, &b))
		return 0;
	ndp_opt_rdnss(c, &b);
	ndp_opt_dnssl(c, &b);

	return ip6_l4_frame(buf, size, dmac, c->link.mac, &c->guest6.gw, dst,
			    IPPROTO_ICMPV6, IP6_NDP_HOPS, b.p, b.len);
}

/**
 * ndp_ra_all() - build a router advertisement to all nodes (ff02::1), as
 *		  unsolicited ones go, and answers to a solicitor without a
 *		  unicast address or known MAC
 * @c:		context
 * @buf:	buffer for the frame
 * @size:	size of @buf
 *
 * Return: frame length, 0 if it doesn't fit
 */
size_t ndp_ra_all(const struct ctx *c, uint8_t *buf, size_t size)
{
	uint8_t mac[ETH_ALEN];

	ip6_mcast_mac(mac, &ndp_all_nodes);
	return ndp_ra(c, &ndp_all_nodes, mac, buf, size);
}

/**
 * ndp_ra_next() - when to send the next unsolicited RA (RFC 4861 6.2.4)
 * @now:	current time, seconds
 * @rnd:	a random number
 *
 * Return: @now plus a time uniformly spread over the interval limits
 */
uint32_t ndp_ra_next(uint32_t now, uint32_t rnd)
{
	return now + NDP_RA_INTERVAL_MIN +
	       rnd % (NDP_RA_INTERVAL_MAX - NDP_RA_INTERVAL_MIN + 1);
}
