/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inany.h - addresses of either family, IPv4 as IPv4-mapped IPv6
 *
 * Copyright (c) 2026 merd authors
 *
 * Flow keys hold addresses of both families in the same 16 bytes: an IPv4
 * address is stored as ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so that one key
 * layout, one hash and one comparison serve IPv4 and IPv6 flows alike.
 */

#ifndef INANY_H
#define INANY_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

/**
 * union inany_addr - an IPv6 address, or an IPv4 one mapped into it
 * @a6:		as IPv6
 * @v4mapped:	the IPv4-mapped form: 80 zero bits, 16 one bits, IPv4
 * @v4mapped.zero:	zeroes
 * @v4mapped.one:	ones
 * @v4mapped.a4:	the IPv4 address, network order
 */
union inany_addr {
	struct in6_addr a6;
	struct {
		uint8_t zero[10];
		uint8_t one[2];
		struct in_addr a4;
	} v4mapped;
};

static_assert(sizeof(union inany_addr) == 16, "inany_addr is 16 bytes");

/* Text form of either family, and its terminator */
#define INANY_ADDRSTRLEN	INET6_ADDRSTRLEN

/**
 * inany_from_v4() - an IPv4 address in its mapped form
 * @a:		set to the mapped address
 * @v4:		IPv4 address, network order
 */
static inline void inany_from_v4(union inany_addr *a, uint32_t v4)
{
	memset(a->v4mapped.zero, 0, sizeof(a->v4mapped.zero));
	memset(a->v4mapped.one, 0xff, sizeof(a->v4mapped.one));
	a->v4mapped.a4.s_addr = v4;
}

/**
 * inany_is_v4() - tell whether an address is an IPv4-mapped one
 * @a:		address
 *
 * Return: true for ::ffff:0:0/96
 */
static inline bool inany_is_v4(const union inany_addr *a)
{
	return IN6_IS_ADDR_V4MAPPED(&a->a6);
}

/**
 * inany_v4() - the IPv4 address of a mapped one
 * @a:		address, IPv4-mapped
 *
 * Return: IPv4 address, network order
 */
static inline uint32_t inany_v4(const union inany_addr *a)
{
	return a->v4mapped.a4.s_addr;
}

/**
 * inany_equals() - compare two addresses
 * @a:		address
 * @b:		address
 *
 * Return: true if they are the same
 */
static inline bool inany_equals(const union inany_addr *a,
				const union inany_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/**
 * struct inany_str - an address as text, returned by value
 * @s:		the text
 */
struct inany_str {
	char s[INANY_ADDRSTRLEN];
};

/**
 * inany_ntop() - an address as text, IPv4 in dotted form
 * @a:		address
 *
 * Return: text, valid until the end of the caller's full expression
 */
static inline struct inany_str inany_ntop(const union inany_addr *a)
{
	struct inany_str t;

	if (inany_is_v4(a))
		inet_ntop(AF_INET, &a->v4mapped.a4, t.s, sizeof(t.s));
	else
		inet_ntop(AF_INET6, &a->a6, t.s, sizeof(t.s));
	return t;
}

#endif /* INANY_H */
