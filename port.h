/* SPDX-License-Identifier: GPL-2.0-or-later */
/* port.h - host ports merd holds for its flows, claimed in blocks
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef PORT_H
#define PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "inany.h"

/* Ports are claimed in blocks of this many: the raw sockets' filters test
 * one range per run of claimed blocks, whatever the number of flows
 */
#define PORT_BLOCK	256
/* A block no flow used for this long is given back (one is always kept) */
#define PORT_BLOCK_IDLE	60
/* Most ranges a filter tests: more are merged (accepting a few ports too
 * many costs a lookup, never a wrong answer)
 */
#define PORT_RANGES_MAX	32
/* Descriptors a claimed block may take: a TCP and a UDP socket per port,
 * and a ping socket per echo identifier in use
 */
#define PORT_BLOCK_FDS	(3U * PORT_BLOCK)

/**
 * enum port_class - what a port is used as: a TCP port, a UDP port, or an
 *		     ICMP echo identifier (drawn from the UDP numbers)
 * @PORT_TCP:	TCP
 * @PORT_UDP:	UDP
 * @PORT_ICMP:	ICMP echo identifier
 * @PORT_CLASSES: number of classes
 */
enum port_class {
	PORT_TCP,
	PORT_UDP,
	PORT_ICMP,
	PORT_CLASSES,
};

/**
 * struct port_range - inclusive range of ports
 * @lo:		first port
 * @hi:		last port
 */
struct port_range {
	uint16_t lo;
	uint16_t hi;
};

/* Bit of struct port_slot's @shared for a class */
#define PORT_SHARED(cls)	(1U << (cls))

/**
 * struct port_slot - one port of a claimed block
 * @fd_tcp:	TCP listener holding it, -1 if another program has it
 * @fd_udp:	UDP socket holding it, -1 if another program has it
 * @fd_ping:	ping socket holding it as an echo identifier while echo
 *		flows use it and the host lets merd open one, else -1
 * @refs:	per class, flows using it
 * @shared:	PORT_SHARED() bits: the socket is a forwarded port's,
 *		not the block's own
 */
struct port_slot {
	int fd_tcp;
	int fd_udp;
	int fd_ping;
	uint32_t refs[PORT_CLASSES];
	uint8_t shared;
};

/**
 * struct port_fwd - a host port held for forwarding to the guest
 * @port:	port, host order
 * @cls:	PORT_TCP or PORT_UDP
 * @wild:	held on every address of every interface
 * @fd:		the socket holding it
 */
struct port_fwd {
	uint16_t port;
	uint8_t cls;
	bool wild;
	int fd;
};

/**
 * struct port_block - a block of ports, claimed or not
 * @slot:	its ports, allocated while claimed
 * @pos:	its place in the claimed list, while claimed
 * @used:	references to its ports, all classes
 * @idle:	when @used dropped to zero, seconds
 */
struct port_block {
	struct port_slot *slot;
	uint32_t pos;
	uint32_t used;
	uint32_t idle;
};

/**
 * struct ports - the host ports merd may use
 * @lo:		first port of the configured range
 * @hi:		last port
 * @nblocks:	number of blocks in the range
 * @max_claimed: most blocks merd may claim (descriptors)
 * @blocks:	the blocks
 * @claimed:	block numbers of the claimed blocks, in claim order
 * @nclaimed:	number of them
 * @ping:	ping sockets may be opened (ping_group_range lets merd in)
 * @changed:	the claimed set changed since port_ranges() was last called
 * @retry:	when to try claiming again, after no block was free
 * @retry_set:	@retry holds such a time
 * @fwd:	ports forwarded to the guest, held for merd's lifetime
 * @nfwd:	number of them
 * @fwd_cap:	room in @fwd
 */
struct ports {
	uint16_t lo;
	uint16_t hi;
	uint32_t nblocks;
	uint32_t max_claimed;
	struct port_block *blocks;
	uint32_t *claimed;
	uint32_t nclaimed;
	bool ping;
	bool changed;
	uint32_t retry;
	bool retry_set;
	struct port_fwd *fwd;
	uint32_t nfwd;
	uint32_t fwd_cap;
};

int port_init(struct ports *p, uint16_t lo, uint16_t hi, uint32_t max_claimed);
void port_free(struct ports *p);
uint32_t port_count(const struct ports *p);
uint16_t port_nth(const struct ports *p, enum port_class cls, uint32_t i);
bool port_claimable(const struct ports *p, uint32_t now);
int port_claim(struct ports *p, uint32_t now);
int port_ref(struct ports *p, enum port_class cls, uint16_t port);
void port_unref(struct ports *p, enum port_class cls, uint16_t port,
		uint32_t now);
void port_tick(struct ports *p, uint32_t now);
int port_ranges(struct ports *p, struct port_range *r, int max);
int port_hold(enum port_class cls, uint16_t port);
int port_hold_at(enum port_class cls, uint16_t port,
		 const union inany_addr *addr, const char *ifname);
int port_fwd_hold(struct ports *p, enum port_class cls, uint16_t port,
		  const union inany_addr *addr, const char *ifname);
void port_fwd_sort(struct ports *p);

#endif /* PORT_H */
