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
 * The functions work on headers that may be incomplete, as in the packet
 * an ICMP error quotes (RFC 792: IP header and 8 bytes): a field, or a
 * checksum, outside the bytes given is left alone.
 */

#include <stdbool.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/ip.h>

#include "csum.h"
#include "nat.h"

/* Offsets in the IPv4 header (RFC 791 3.1) */
#define IP_OFF_TTL	8
#define IP_OFF_CHECK	10
#define IP_OFF_SADDR	12
#define IP_OFF_DADDR	16

/**
 * get16() - read a raw 16-bit word
 * @p:		location, any alignment
 *
 * Return: value, as stored
 */
static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/**
 * put16() - write a raw 16-bit word
 * @p:		location, any alignment
 * @v:		value, as to be stored
 */
static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/**
 * nat_ip4() - set the addresses of an IPv4 header, fixing its checksum
 * @ip:		IPv4 header
 * @saddr:	new source address, network order
 * @daddr:	new destination address, network order
 */
void nat_ip4(uint8_t *ip, uint32_t saddr, uint32_t daddr)
{
	uint16_t check = get16(ip + IP_OFF_CHECK);
	uint32_t os, od;

	memcpy(&os, ip + IP_OFF_SADDR, 4);
	memcpy(&od, ip + IP_OFF_DADDR, 4);
	check = csum_update32(check, os, saddr);
	check = csum_update32(check, od, daddr);
	memcpy(ip + IP_OFF_SADDR, &saddr, 4);
	memcpy(ip + IP_OFF_DADDR, &daddr, 4);
	put16(ip + IP_OFF_CHECK, check);
}

/**
 * nat_ttl_dec() - decrement the TTL of an IPv4 header (RFC 1812 5.3.1)
 * @ip:		IPv4 header, TTL at least 1
 */
void nat_ttl_dec(uint8_t *ip)
{
	uint16_t old = get16(ip + IP_OFF_TTL), new;

	ip[IP_OFF_TTL]--;
	new = get16(ip + IP_OFF_TTL);
	put16(ip + IP_OFF_CHECK,
	      csum_update16(get16(ip + IP_OFF_CHECK), old, new));
}

/**
 * nat_port_off() - where the port (or echo identifier) lies
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 * @which:	NAT_SPORT or NAT_DPORT
 *
 * Return: offset in the transport header
 */
static size_t nat_port_off(uint8_t proto, enum nat_port which)
{
	if (proto == IPPROTO_ICMP)
		return 4;	/* RFC 792: identifier of echo and echo reply */
	return which == NAT_SPORT ? 0 : 2;
}

/**
 * nat_check_off() - where the transport checksum lies
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 *
 * Return: offset in the transport header
 */
static size_t nat_check_off(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;	/* RFC 793 3.1 */
	case IPPROTO_UDP:
		return 6;	/* RFC 768 */
	default:
		return 2;	/* RFC 792 */
	}
}

/**
 * nat_l4_port() - read a port or echo identifier
 * @l4:		transport header, at least 8 bytes
 * @proto:	protocol
 * @which:	NAT_SPORT or NAT_DPORT
 *
 * Return: port, host order
 */
uint16_t nat_l4_port(const uint8_t *l4, uint8_t proto, enum nat_port which)
{
	return ntohs(get16(l4 + nat_port_off(proto, which)));
}

/**
 * nat_port_set() - set a port or echo identifier, checksum left alone
 * @l4:		transport header, at least 8 bytes
 * @proto:	protocol
 * @which:	NAT_SPORT or NAT_DPORT
 * @port:	new value, host order
 *
 * For a packet whose checksum is computed in full afterwards.
 *
 * Return: the old value, raw
 */
uint16_t nat_port_set(uint8_t *l4, uint8_t proto, enum nat_port which,
		      uint16_t port)
{
	size_t off = nat_port_off(proto, which);
	uint16_t old = get16(l4 + off);

	put16(l4 + off, htons(port));
	return old;
}

/**
 * nat_l4() - rewrite a port and follow address changes in a transport header
 * @l4:		transport header (or the start of one, in an ICMP quote)
 * @len:	bytes available at @l4
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 * @osaddr:	source address the checksum was computed with
 * @odaddr:	destination address the checksum was computed with
 * @saddr:	new source address (TCP, UDP pseudo-header)
 * @daddr:	new destination address
 * @which:	which port to set
 * @port:	new port or echo identifier, host order
 */
void nat_l4(uint8_t *l4, size_t len, uint8_t proto, uint32_t osaddr,
	    uint32_t odaddr, uint32_t saddr, uint32_t daddr,
	    enum nat_port which, uint16_t port)
{
	size_t poff = nat_port_off(proto, which), coff = nat_check_off(proto);
	uint16_t oport = 0, nport = htons(port), check;
	bool have_port = poff + 2 <= len;

	if (have_port)
		oport = nat_port_set(l4, proto, which, port);
	if (coff + 2 > len)
		return;

	check = get16(l4 + coff);
	if (proto == IPPROTO_UDP && !check)
		return;		/* RFC 768: no checksum, and none now */

	if (proto != IPPROTO_ICMP) {
		check = csum_update32(check, osaddr, saddr);
		check = csum_update32(check, odaddr, daddr);
	}
	if (have_port)
		check = csum_update16(check, oport, nport);
	if (proto == IPPROTO_UDP && !check)
		check = 0xffff;	/* RFC 768: a computed zero is sent as ones */
	put16(l4 + coff, check);
}
