// SPDX-License-Identifier: GPL-2.0-or-later
/* nat.c - address, port and echo identifier rewriting, checksums kept right
 *
 * Copyright (c) 2026 merd authors
 *
 * Every change to a header is paired with an incremental update of each
 * checksum covering it (RFC 1624 eqn. 3, csum.c): the IPv4 header checksum
 * for addresses and TTL; the TCP and UDP checksums for addresses (through
 * the pseudo-header) and ports; the ICMP checksum for the echo identifier.
 * A zero UDP checksum means "none" (RFC 768) and stays zero.
 *
 * The functions work on copies of headers merd owns (struct wpkt), which
 * may be incomplete, as in the packet an ICMP error quotes (RFC 792: IP
 * header and 8 bytes): a field, or a checksum, outside the bytes given is
 * left alone.
 */

#include <stdbool.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>

#include "csum.h"
#include "nat.h"

/* Offsets in the IPv4 header (RFC 791 3.1) */
#define IP_OFF_TTL	8
#define IP_OFF_CHECK	10
#define IP_OFF_SADDR	12
#define IP_OFF_DADDR	16
/* Offsets in transport headers: ports (RFC 9293 3.1, RFC 768), the echo
 * identifier (RFC 792), checksums
 */
#define L4_OFF_SPORT	0
#define L4_OFF_DPORT	2
#define ICMP_OFF_ID	4
/* RFC 8200 3: addresses in the IPv6 header */
#define IP6_OFF_SADDR	8
#define IP6_OFF_DADDR	24

/**
 * get16() - read a raw 16-bit word, if it is there
 * @v:		bytes
 * @off:	offset
 * @w:		set to the word, as stored
 *
 * Return: true if @off + 2 is inside @v
 */
static bool get16(struct wpkt v, size_t off, uint16_t *w)
{
	return pkt_get(wpkt_ro(v), off, w, sizeof(*w));
}

/**
 * nat_ip4() - set the addresses of an IPv4 header, fixing its checksum
 * @ip:		IPv4 header, at least 20 bytes
 * @saddr:	new source address, network order
 * @daddr:	new destination address, network order
 */
void nat_ip4(struct wpkt ip, uint32_t saddr, uint32_t daddr)
{
	uint32_t os, od;
	uint16_t check;

	if (!get16(ip, IP_OFF_CHECK, &check) ||
	    !pkt_get(wpkt_ro(ip), IP_OFF_SADDR, &os, 4) ||
	    !pkt_get(wpkt_ro(ip), IP_OFF_DADDR, &od, 4))
		return;
	check = csum_update32(check, os, saddr);
	check = csum_update32(check, od, daddr);
	wpkt_put(ip, IP_OFF_SADDR, &saddr, 4);
	wpkt_put(ip, IP_OFF_DADDR, &daddr, 4);
	wpkt_put(ip, IP_OFF_CHECK, &check, 2);
}

/**
 * nat_ttl_dec() - decrement the TTL of an IPv4 header (RFC 1812 5.3.1)
 * @ip:		IPv4 header, TTL at least 1
 */
void nat_ttl_dec(struct wpkt ip)
{
	uint16_t old, new, check;

	if (!get16(ip, IP_OFF_TTL, &old) || !get16(ip, IP_OFF_CHECK, &check))
		return;
	ip.p[IP_OFF_TTL]--;
	get16(ip, IP_OFF_TTL, &new);
	check = csum_update16(check, old, new);
	wpkt_put(ip, IP_OFF_CHECK, &check, 2);
}

/**
 * nat_ip6() - set the addresses of an IPv6 header (it has no checksum)
 * @ip:		IPv6 header, at least 40 bytes
 * @saddr:	new source address
 * @daddr:	new destination address
 */
void nat_ip6(struct wpkt ip, const struct in6_addr *saddr,
	     const struct in6_addr *daddr)
{
	wpkt_put(ip, IP6_OFF_SADDR, saddr, sizeof(*saddr));
	wpkt_put(ip, IP6_OFF_DADDR, daddr, sizeof(*daddr));
}

/**
 * nat_is_echo_reply() - tell whether an ICMP or ICMPv6 header is an echo
 *			 reply's (the identifier is then the reply's)
 * @l4:		ICMP header
 * @proto:	IPPROTO_ICMP or IPPROTO_ICMPV6
 *
 * Return: true for an echo reply
 */
static bool nat_is_echo_reply(struct wpkt l4, uint8_t proto)
{
	return l4.len && l4.p[0] == (proto == IPPROTO_ICMP ? ICMP_ECHOREPLY :
				     ICMP6_ECHO_REPLY);
}

/**
 * nat_set16() - set a 16-bit field and follow it in a checksum
 * @l4:		transport header
 * @off:	offset of the field
 * @v:		new value, host order
 * @check:	checksum to update, raw
 */
static void nat_set16(struct wpkt l4, size_t off, uint16_t v, uint16_t *check)
{
	uint16_t old, new = htons(v);

	if (!get16(l4, off, &old))
		return;
	*check = csum_update16(*check, old, new);
	wpkt_put(l4, off, &new, 2);
}



/**
 * nat_ports_set() - set the ports (or echo identifier), checksum left
 *		     alone, for a packet whose checksum is computed in full
 *		     afterwards
 * @l4:		transport header
 * @proto:	protocol
 * @sport:	new source port (ICMP: identifier of a request)
 * @dport:	new destination port (ICMP: identifier of a reply)
 */
void nat_ports_set(struct wpkt l4, uint8_t proto, uint16_t sport,
		   uint16_t dport)
{
	uint16_t junk = 0;

	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		nat_set16(l4, ICMP_OFF_ID, nat_is_echo_reply(l4, proto) ?
			  dport : sport, &junk);
		return;
	}
	nat_set16(l4, L4_OFF_SPORT, sport, &junk);
	nat_set16(l4, L4_OFF_DPORT, dport, &junk);
}

/**
 * nat_l4() - rewrite ports and follow address changes in a transport header
 * @l4:		transport header (or the start of one, in an ICMP quote)
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 * @rw:		old addresses, new addresses and ports
 */
void nat_l4(struct wpkt l4, uint8_t proto, const struct nat_rw *rw)
{
	size_t coff = csum_l4_offset(proto);
	uint16_t check = 0, junk = 0;
	bool have_check = get16(l4, coff, &check);
	uint16_t *ck = have_check ? &check : &junk;

	if (proto == IPPROTO_UDP && have_check && !check) {
		nat_ports_set(l4, proto, rw->sport, rw->dport);
		return;		/* RFC 768: no checksum, and none now */
	}

	/* Pseudo-header: all but ICMP for IPv4 (RFC 792) have one */
	if (rw->v6) {
		*ck = csum_update_addr6(*ck, &rw->osaddr6, &rw->saddr6);
		*ck = csum_update_addr6(*ck, &rw->odaddr6, &rw->daddr6);
	} else if (proto != IPPROTO_ICMP) {
		*ck = csum_update32(*ck, rw->osaddr, rw->saddr);
		*ck = csum_update32(*ck, rw->odaddr, rw->daddr);
	}
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		nat_set16(l4, ICMP_OFF_ID, nat_is_echo_reply(l4, proto) ?
			  rw->dport : rw->sport, ck);
	} else {
		nat_set16(l4, L4_OFF_SPORT, rw->sport, ck);
		nat_set16(l4, L4_OFF_DPORT, rw->dport, ck);
	}
	if (!have_check)
		return;
	if (proto == IPPROTO_UDP && !check)
		check = 0xffff;	/* RFC 768: a computed zero is sent as ones */
	wpkt_put(l4, coff, &check, 2);
}
