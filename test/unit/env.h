/* SPDX-License-Identifier: GPL-2.0-or-later */
/* env.h - a context for the data path tests, and what it sends the guest
 *
 * Copyright (c) 2026 merd authors
 *
 * The guest sits at 10.42.0.2/24 behind 10.42.0.1 with MTU 1500; the host
 * leaves from 192.0.2.2. The context has a guest connection (one end of a
 * socketpair, never written to: tap_flush() isn't called) so that frames
 * for the guest are queued in its transmit ring, where ring_next() takes
 * them out again, one by one, with an independent reader that checks the
 * length field and the Ethernet header. No raw socket is opened: the raw
 * descriptors are -1, so nothing merd would send to the network leaves
 * (a send fails with EBADF, which merd only traces).
 */

#ifndef ENV_H
#define ENV_H

#include <unistd.h>
#include <sys/socket.h>

#include "fwd.h"
#include "inany.h"
#include "ip4.h"
#include "ip6.h"
#include "merd.h"
#include "ref.h"
#include "tap.h"

#define GUEST		0x0a2a0002	/* 10.42.0.2 */
#define GW		0x0a2a0001	/* 10.42.0.1 */
#define HOST		0xc0000202	/* 192.0.2.2, the host's address */

/**
 * v4() - an IPv4 address in its mapped form, as a flow's sides hold it
 * @a:		address, host order (as GUEST, GW and HOST are written)
 *
 * Return: the address, ::ffff:@a
 */
static inline union inany_addr v4(uint32_t a)
{
	union inany_addr x;

	inany_from_v4(&x, htonl(a));
	return x;
}

/**
 * struct env - a context whose guest link is a ring the test reads
 * @c:		context
 * @peer:	other end of the guest connection
 */
struct env {
	struct ctx c;
	int peer;
};

/**
 * env_new() - a context as described above
 *
 * Return: the environment, to env_free()
 */
static inline struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	struct ctx *c;
	int sv[2], i;

	assert_non_null(e);
	c = &e->c;
	c->guest4.addr.s_addr = htonl(GUEST);
	c->guest4.prefix_len = 24;
	c->guest4.gw.s_addr = htonl(GW);
	c->link.mtu = 1500;
	memcpy(c->link.mac, our_mac, ETH_ALEN);
	memcpy(c->tap.guest_mac, guest_mac, ETH_ALEN);
	c->tap.guest_mac_known = true;
	c->host.mtu = 1500;
	c->host.out4.s_addr = htonl(HOST);
	c->tap.fd_listen = c->epollfd = c->fd_timer = -1;
	c->fwd.ip_id = 0x1000;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c->tap.fd = sv[0];
	e->peer = sv[1];
	assert_int_equal(tap_tx_init(&c->tap.tx, TAP_TX_QUEUE), 0);

	for (i = 0; i < RAW_PROTOS; i++)
		c->fwd.raw.fd[i] = c->fwd.raw.fd6[i] = -1;
	c->fwd.raw.fd_send = c->fwd.raw.fd_send6 = -1;
	c->opts.v4 = true;
	c->guest4.enabled = true;
	return e;
}

/**
 * env_fwd_new() - env_new(), with what forwarding needs: a table of 64
 *		   flows, reassembly, the scratch buffer, the clock at 1000
 *		   (no host port: no block is claimed)
 *
 * Return: the environment, to env_fwd_free()
 */
static inline struct env *env_fwd_new(void)
{
	struct env *e = env_new();

	assert_int_equal(ct_init(&e->c.fwd.ct, 64), 0);
	assert_int_equal(frag_init(&e->c.fwd.frag), 0);
	e->c.fwd.scratch = malloc(RAW_PKT_MAX);
	assert_non_null(e->c.fwd.scratch);
	e->c.now = 1000;
	return e;
}

/**
 * env_free() - release an environment
 * @e:		environment
 */
static inline void env_free(struct env *e)
{
	if (e->c.tap.fd >= 0)
		close(e->c.tap.fd);
	close(e->peer);
	free(e->c.tap.tx.buf);
	free(e);
}

/**
 * env_fwd_free() - release an environment of env_fwd_new()
 * @e:		environment
 */
static inline void env_fwd_free(struct env *e)
{
	ct_free(&e->c.fwd.ct);
	frag_free(&e->c.fwd.frag);
	free(e->c.fwd.scratch);
	env_free(e);
}

/**
 * ring_get() - copy bytes out of the transmit ring, consuming them
 * @tx:		ring
 * @dst:	where, NULL to skip them
 * @n:		how many, no more than it holds
 */
static inline void ring_get(struct tap_tx *tx, uint8_t *dst, size_t n)
{
	size_t i;

	assert_true(n <= tx->used);
	for (i = 0; i < n; i++) {
		if (dst)
			dst[i] = tx->buf[(tx->head + i) % tx->size];
	}
	tx->head = (tx->head + n) % tx->size;
	tx->used -= n;
}

/**
 * ring_next() - the next IPv4 packet queued for the guest
 * @e:		environment
 * @ip:		where to copy it
 * @size:	room there
 *
 * Checks its length field, and its Ethernet header: to the guest's MAC
 * (broadcast while unknown), from merd's, IPv4.
 *
 * Return: its length, 0 if nothing is queued
 */
static inline size_t ring_next(struct env *e, uint8_t *ip, size_t size)
{
	struct tap_tx *tx = &e->c.tap.tx;
	uint8_t lenf[4], eh[ETH_HLEN];
	size_t len;

	if (!tx->used)
		return 0;
	assert_true(tx->used >= sizeof(lenf) + ETH_HLEN);
	ring_get(tx, lenf, sizeof(lenf));
	len = get32(lenf);
	assert_true(len >= ETH_HLEN && len <= tx->used);
	ring_get(tx, eh, ETH_HLEN);
	assert_memory_equal(eh, e->c.tap.guest_mac_known ? guest_mac : bcast,
			    ETH_ALEN);
	assert_memory_equal(eh + ETH_ALEN, our_mac, ETH_ALEN);
	assert_int_equal(get16(eh + 12), ETH_P_IP);
	len -= ETH_HLEN;
	assert_true(len <= size);
	ring_get(tx, ip, len);
	return len;
}

/**
 * parse_ok() - the views of a packet, which must be well-formed, as the
 *		data path gets them (ip4_parse(), then l4_parse())
 * @p:		packet, from its IPv4 header
 * @len:	its length
 * @ip:		filled in
 * @l4:		filled in, NULL if not wanted
 */
static inline void parse_ok(const uint8_t *p, size_t len, struct ip_view *ip,
			    struct l4_view *l4)
{
	struct pkt v = { p, len };

	assert_int_equal(ip4_parse(v, ip), 0);
	if (l4)
		assert_int_equal(l4_parse(ip, l4), 0);
}

/**
 * env_from_host() - hand fwd_from_host() a copy of @p, as raw.c would
 * @e:		environment
 * @p:		packet from the network, from its IP header
 * @len:	its length
 */
static inline void env_from_host(struct env *e, const uint8_t *p, size_t len)
{
	uint8_t *b = dup_exact(p, len);
	struct pkt v = { b, len };

	fwd_from_host(&e->c, v, 0);
	free(b);
}

/**
 * env_from_guest() - hand fwd_from_guest() a copy of @g, parsed as merd.c
 *		      parses it
 * @e:		environment
 * @g:		packet from the guest, from its IP header (either family)
 * @len:	its length
 *
 * Return: the copy, which the send batch may point into, to free()
 */
static inline uint8_t *env_from_guest(struct env *e, const uint8_t *g,
				      size_t len)
{
	uint8_t *b = dup_exact(g, len);
	struct ip_view ip;
	struct pkt v = { b, len };

	if ((g[0] >> 4) == 6)
		assert_int_equal(ip6_parse(v, &ip), 0);
	else
		assert_int_equal(ip4_parse(v, &ip), 0);
	fwd_from_guest(&e->c, &ip);
	return b;
}

#endif /* ENV_H */
