// SPDX-License-Identifier: GPL-2.0-or-later
/* port.c - host ports held for guest flows, claimed in blocks
 *
 * Copyright (c) 2026 merd authors
 *
 * Every flow leaves the host from a port of its own, and that port is held
 * by an ordinary socket for as long as the flow lives:
 *
 * - TCP: a listening socket with a one-instruction cBPF filter, "ret #0".
 *   Segments for the port (the peer's SYN-ACK, and everything after) find
 *   the listener, are dropped by its filter, and so draw no RST from the
 *   host's stack; the raw socket has already seen them (raw delivery comes
 *   before TCP's lookup). See ../shared/NOTES.md, 2.
 * - UDP: a UDP socket with the same filter, so that answers draw no ICMP
 *   port unreachable.
 * - ICMP echo identifiers: a ping socket (SOCK_DGRAM, IPPROTO_ICMP) bound to
 *   the identifier, with the same filter, so that no ping socket on the host
 *   shares it and reads the guest's replies. Where ping_group_range doesn't
 *   let merd open ping sockets, a UDP socket on the same number stands in.
 *
 * Both are bound to the wildcard address, so loopback flows (the gateway
 * mapped to the host) are covered too, and no other program, nor another
 * merd, can take the port meanwhile.
 *
 * Ports come from a range outside the host's ephemeral range, in blocks of
 * PORT_BLOCK. merd claims a block by holding its first port, TCP and UDP:
 * another merd finds that port taken and uses other blocks. The raw sockets'
 * filters then only test which blocks this merd claimed: a handful of
 * ranges, whatever the number of flows, and no packet for another merd, or
 * for the host's own connections, is ever copied to this one.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <sys/socket.h>

#include "port.h"
#include "util.h"

/**
 * port_socket() - a socket with a drop-all filter, bound to a port
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @proto:	0, or IPPROTO_ICMP for a ping socket
 * @port:	port or echo identifier, host order
 *
 * Return: descriptor, or -errno
 */
static int port_socket(int type, int proto, uint16_t port)
{
	/* Drop everything: the raw socket handles the traffic */
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop };
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = { htonl(INADDR_ANY) },
	};
	int fd;

	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    (type == SOCK_STREAM && listen(fd, 1))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/**
 * port_hold() - hold a port, so that the host leaves it alone
 * @cls:	PORT_TCP: listening TCP socket; PORT_UDP: UDP socket;
 *		PORT_ICMP: ping socket on the echo identifier, or UDP socket
 *		if merd may not open ping sockets
 * @port:	port or identifier, host order
 *
 * Return: descriptor, or -errno (-EADDRINUSE if the port is taken)
 */
int port_hold(enum port_class cls, uint16_t port)
{
	int fd;

	switch (cls) {
	case PORT_TCP:
		return port_socket(SOCK_STREAM, 0, port);
	case PORT_ICMP:
		fd = port_socket(SOCK_DGRAM, IPPROTO_ICMP, port);
		if (fd != -EACCES && fd != -EPERM)
			return fd;
		/* ping_group_range leaves merd out: hold the number as UDP */
		/* fall through */
	default:
		return port_socket(SOCK_DGRAM, 0, port);
	}
}

/**
 * port_space() - the number space of a class
 * @cls:	class
 *
 * Return: PORT_TCP, or PORT_UDP for UDP ports and echo identifiers
 */
static int port_space(enum port_class cls)
{
	return cls == PORT_TCP ? PORT_TCP : PORT_UDP;
}

/**
 * port_init() - set up the range, claiming nothing yet
 * @p:		port state
 * @lo:		first port
 * @hi:		last port, at least @lo + 1
 *
 * Return: 0 on success, -errno
 */
int port_init(struct ports *p, uint16_t lo, uint16_t hi)
{
	uint32_t n = (uint32_t)hi - lo + 1, i;
	int c;

	memset(p, 0, sizeof(*p));
	p->lo = lo;
	p->hi = hi;
	p->nblocks = (n + PORT_BLOCK - 1) / PORT_BLOCK;
	p->blocks = calloc(p->nblocks, sizeof(*p->blocks));
	for (c = 0; c < PORT_SPACES; c++)
		p->busy[c] = calloc(n, 1);
	if (!p->blocks || !p->busy[PORT_TCP] || !p->busy[PORT_UDP]) {
		port_free(p);
		return -ENOMEM;
	}
	for (i = 0; i < p->nblocks; i++)
		p->blocks[i].fd_tcp = p->blocks[i].fd_udp = -1;
	return 0;
}

/**
 * port_unclaim() - give a block back
 * @p:		port state
 * @b:		block number
 */
static void port_unclaim(struct ports *p, uint32_t b)
{
	struct port_block *blk = &p->blocks[b];

	close(blk->fd_tcp);
	close(blk->fd_udp);
	blk->fd_tcp = blk->fd_udp = -1;
	p->claimed--;
	p->changed = true;
}

/**
 * port_free() - give back every block and release the state
 * @p:		port state
 */
void port_free(struct ports *p)
{
	uint32_t b;

	for (b = 0; p->blocks && b < p->nblocks; b++)
		if (p->blocks[b].fd_tcp >= 0)
			port_unclaim(p, b);
	free(p->blocks);
	free(p->busy[PORT_TCP]);
	free(p->busy[PORT_UDP]);
	memset(p, 0, sizeof(*p));
}

/**
 * port_claim() - claim a block by holding its first port, TCP and UDP
 * @p:		port state
 * @b:		block number
 *
 * Return: 0 on success, -errno if another program or merd has it
 */
static int port_claim(struct ports *p, uint32_t b)
{
	struct port_block *blk = &p->blocks[b];
	uint16_t base = (uint16_t)(p->lo + b * PORT_BLOCK);
	int ret;

	/* A block must have a port for flows besides its first one */
	if ((uint32_t)p->hi - base < 1)
		return -ENOSPC;

	blk->fd_tcp = port_hold(PORT_TCP, base);
	if (blk->fd_tcp < 0) {
		ret = blk->fd_tcp;
		blk->fd_tcp = -1;
		return ret;
	}
	blk->fd_udp = port_hold(PORT_UDP, base);
	if (blk->fd_udp < 0) {
		ret = blk->fd_udp;
		close(blk->fd_tcp);
		blk->fd_tcp = blk->fd_udp = -1;
		return ret;
	}

	blk->used = 0;
	p->claimed++;
	p->changed = true;
	return 0;
}

/**
 * port_try_claimed() - hold a free port of a claimed block
 * @p:		port state
 * @cls:	port class
 * @fd:		set to the holding socket
 *
 * Starts after the port given last, so that a port just released isn't
 * handed out again at once (the peer may remember the old connection).
 *
 * Return: port, or 0 if every port of the claimed blocks is taken
 */
static uint16_t port_try_claimed(struct ports *p, enum port_class cls, int *fd)
{
	uint32_t n = (uint32_t)p->hi - p->lo + 1, k;
	int sp = port_space(cls);

	for (k = 0; k < n; k++) {
		uint32_t off = (p->cursor[sp] + k) % n, b = off / PORT_BLOCK;
		struct port_block *blk = &p->blocks[b];
		uint16_t port = (uint16_t)(p->lo + off);
		int s;

		if (blk->fd_tcp < 0) {
			/* On to the next block, or the range's end */
			k += MIN(PORT_BLOCK - off % PORT_BLOCK, n - off) - 1;
			continue;
		}
		if (!(off % PORT_BLOCK) || p->busy[sp][off])
			continue;

		s = port_hold(cls, port);
		if (s < 0)
			continue;	/* some other program holds it */

		p->busy[sp][off] = 1;
		blk->used++;
		p->cursor[sp] = off + 1;
		*fd = s;
		return port;
	}
	return 0;
}

/**
 * port_alloc() - hold a host port for a new flow
 * @p:		port state
 * @cls:	PORT_TCP, PORT_UDP or PORT_ICMP
 * @fd:		set to the socket holding it
 *
 * Return: port, host order, or 0 if no port is left
 */
uint16_t port_alloc(struct ports *p, enum port_class cls, int *fd)
{
	uint16_t port;
	uint32_t b;

	port = port_try_claimed(p, cls, fd);
	if (port)
		return port;

	for (b = 0; b < p->nblocks; b++) {
		if (p->blocks[b].fd_tcp >= 0 || port_claim(p, b))
			continue;
		p->cursor[port_space(cls)] = b * PORT_BLOCK;
		port = port_try_claimed(p, cls, fd);
		if (port)
			return port;
	}
	return 0;
}

/**
 * port_release() - let go of a flow's port
 * @p:		port state
 * @cls:	class it was allocated in
 * @port:	port, host order
 * @fd:		socket holding it
 * @now:	current time, seconds
 */
void port_release(struct ports *p, enum port_class cls, uint16_t port, int fd,
		  uint32_t now)
{
	uint32_t off = (uint32_t)port - p->lo;
	struct port_block *blk = &p->blocks[off / PORT_BLOCK];

	close(fd);
	p->busy[port_space(cls)][off] = 0;
	if (!--blk->used)
		blk->idle = now;
}

/**
 * port_tick() - give back blocks unused for a while, keeping one
 * @p:		port state
 * @now:	current time, seconds
 */
void port_tick(struct ports *p, uint32_t now)
{
	uint32_t b;

	for (b = 0; b < p->nblocks && p->claimed > 1; b++) {
		const struct port_block *blk = &p->blocks[b];

		if (blk->fd_tcp >= 0 && !blk->used &&
		    now - blk->idle >= PORT_BLOCK_IDLE)
			port_unclaim(p, b);
	}
}

/**
 * port_ranges_merge() - make room by merging the two closest ranges
 * @r:		ranges, ascending
 * @n:		their number, at least 2
 *
 * Return: number of ranges left, @n - 1
 */
static int port_ranges_merge(struct port_range *r, int n)
{
	int best = 0, i;

	for (i = 1; i < n - 1; i++)
		if (r[i + 1].lo - r[i].hi < r[best + 1].lo - r[best].hi)
			best = i;
	r[best].hi = r[best + 1].hi;
	memmove(&r[best + 1], &r[best + 2],
		(size_t)(n - best - 2) * sizeof(*r));
	return n - 1;
}

/**
 * port_ranges() - the claimed blocks, as few ranges as possible
 * @p:		port state, @changed cleared
 * @r:		filled with ranges, ascending
 * @max:	room in @r, at least 1; at most PORT_RANGES_MAX are returned
 *
 * Adjacent blocks make one range; past @max ranges, the two closest are
 * merged until they fit.
 *
 * Return: number of ranges
 */
int port_ranges(struct ports *p, struct port_range *r, int max)
{
	struct port_range all[PORT_RANGES_MAX + 1] = { { 0, 0 } };
	int n = 0;
	uint32_t b;

	p->changed = false;
	max = MIN(MAX(max, 1), PORT_RANGES_MAX);

	for (b = 0; b < p->nblocks; b++) {
		uint16_t lo = (uint16_t)(p->lo + b * PORT_BLOCK);
		uint16_t hi = (uint32_t)lo + PORT_BLOCK - 1 > p->hi ?
			      p->hi : (uint16_t)(lo + PORT_BLOCK - 1);

		if (p->blocks[b].fd_tcp < 0)
			continue;
		if (n && (uint32_t)all[n - 1].hi + 1 == lo) {
			all[n - 1].hi = hi;
			continue;
		}
		all[n].lo = lo;
		all[n].hi = hi;
		if (++n > max)
			n = port_ranges_merge(all, n);
	}
	memcpy(r, all, (size_t)n * sizeof(*r));
	return n;
}
