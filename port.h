/* SPDX-License-Identifier: GPL-2.0-or-later */
/* port.h - host ports held for guest flows, claimed in blocks
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef PORT_H
#define PORT_H

#include <stdbool.h>
#include <stdint.h>

/* Ports are claimed in blocks of this many: the raw sockets' filters test
 * one range per run of claimed blocks, whatever the number of flows
 */
#define PORT_BLOCK	256
/* A block nobody used for this long is given back (one is always kept) */
#define PORT_BLOCK_IDLE	60
/* Most ranges a filter tests: more are merged (accepting a few ports too
 * many costs a lookup, never a wrong answer)
 */
#define PORT_RANGES_MAX	32

/* What a port is held for: TCP, UDP, or an ICMP echo identifier (drawn
 * from the UDP numbers, so the two share a busy map and a cursor)
 */
enum port_class {
	PORT_TCP,
	PORT_UDP,
	PORT_ICMP,
};

/* Number spaces: TCP ports, and UDP ports with echo identifiers */
#define PORT_SPACES	2

/**
 * struct port_range - inclusive range of ports
 * @lo:		first port
 * @hi:		last port
 */
struct port_range {
	uint16_t lo;
	uint16_t hi;
};

/**
 * struct port_block - a block of ports, claimed or not
 * @fd_tcp:	TCP listener on the block's first port while claimed, or -1
 * @fd_udp:	UDP socket on the block's first port while claimed, or -1
 * @used:	ports of the block held for flows, both classes
 * @idle:	when @used dropped to zero, seconds
 */
struct port_block {
	int fd_tcp;
	int fd_udp;
	uint16_t used;
	uint32_t idle;
};

/**
 * struct ports - the host ports merd may use
 * @lo:		first port of the configured range
 * @hi:		last port
 * @nblocks:	number of blocks in the range
 * @blocks:	the blocks
 * @busy:	per space, per port of the range: held for a flow
 * @cursor:	per space, where the next search starts (offset in range)
 * @claimed:	blocks claimed
 * @changed:	the claimed set changed since port_ranges() was last called
 */
struct ports {
	uint16_t lo;
	uint16_t hi;
	uint32_t nblocks;
	struct port_block *blocks;
	uint8_t *busy[PORT_SPACES];
	uint32_t cursor[PORT_SPACES];
	uint32_t claimed;
	bool changed;
};

int port_init(struct ports *p, uint16_t lo, uint16_t hi);
void port_free(struct ports *p);
uint16_t port_alloc(struct ports *p, enum port_class cls, int *fd);
void port_release(struct ports *p, enum port_class cls, uint16_t port, int fd,
		  uint32_t now);
void port_tick(struct ports *p, uint32_t now);
int port_ranges(struct ports *p, struct port_range *r, int max);
int port_hold(enum port_class cls, uint16_t port);

#endif /* PORT_H */
