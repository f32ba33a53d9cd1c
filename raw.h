/* SPDX-License-Identifier: GPL-2.0-or-later */
/* raw.h - the raw sockets: one per protocol, shared by every flow
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef RAW_H
#define RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "drop.h"
#include "pkt.h"
#include "port.h"

struct ctx;

/* Receive sockets, by protocol (ICMP: ICMPv6 for the IPv6 ones); the
 * IPv6 sockets are numbered from RAW_PROTOS on, in the same order
 */
enum raw_proto {
	RAW_TCP,
	RAW_UDP,
	RAW_ICMP,
	RAW_PROTOS,
};

/* Packets per recvmmsg() and per sendmmsg() */
#define RAW_BATCH	32
/* Largest IPv4 packet, as the raw sockets return it (after GRO) */
#define RAW_PKT_MAX	65536
/* Headers copied out of a guest frame and rewritten: IP and TCP, options */
#define RAW_HDR_MAX	120
/* What an ICMP error about a packet quotes of it: RFC 792, header + 8;
 * for IPv6 merd keeps the fixed header and 8 bytes too (RFC 4443 2.4 asks
 * for as much as fits, but a send error can only be about those)
 */
#define RAW_QUOTE_MAX	(60 + 8)
/* Room for the ancillary data of one IPv6 packet received */
#define RAW_CMSG6_LEN	256
/* Socket buffer asked for the receive sockets */
#define RAW_RCVBUF	(8 * 1024 * 1024)

/**
 * struct raw_out - one packet waiting in the send batch
 * @hdr:	rewritten IP and transport headers
 * @iov:	@hdr, then the rest of the packet where it lies
 * @dst:	destination, IPv4
 * @dst6:	destination, IPv6
 * @v6:		the packet is IPv6
 * @quote:	the guest's original IP header and 8 bytes, for an ICMP error
 * @quote_len:	length of @quote
 * @gso:	segment size, for a segment larger than the path that leaves
 *		whole on the uplink and is cut there (uplink.c), else 0
 * @up:		it leaves on the uplink (uplink_take())
 * @mac:	then, the next hop's Ethernet address
 */
struct raw_out {
	uint8_t hdr[RAW_HDR_MAX] __attribute__((aligned(8)));
	struct iovec iov[2];
	struct sockaddr_in dst;
	struct sockaddr_in6 dst6;
	bool v6;
	uint8_t quote[RAW_QUOTE_MAX];
	size_t quote_len;
	uint16_t gso;
	bool up;
	uint8_t mac[ETH_ALEN];
};

/**
 * struct raw - raw sockets, their buffers and the send batch
 * @fd:		receive sockets, by enum raw_proto
 * @fd6:	IPv6 receive sockets, by enum raw_proto, -1 without IPv6
 * @fd_send:	IPPROTO_RAW socket for everything merd sends (IP_HDRINCL)
 * @fd_send6:	IPv6 IPPROTO_RAW socket (the header included), or -1
 * @paused:	receive sockets taken out of the loop: the queue to the
 *		guest is too full to take more
 * @pktinfo4:	the IPv4 receive sockets tell the incoming interface
 * @in:		receive buffers, RAW_BATCH of RAW_PKT_MAX bytes, aligned
 * @out:	send batch
 * @nout:	packets in @out
 * @sent:	packets the send sockets took, in all
 */
struct raw {
	int fd[RAW_PROTOS];
	int fd6[RAW_PROTOS];
	int fd_send;
	int fd_send6;
	bool paused;
	bool pktinfo4;
	uint8_t *in;
	struct raw_out out[RAW_BATCH];
	int nout;
	uint64_t sent;
};

/* Most port ranges a filter tests per class: jumps over a section of
 * them must fit classic BPF's 8-bit offsets (three instructions a range)
 */
#define RAW_RANGES_MAX	64

/**
 * struct raw_ranges - what the filters let through, per port class
 * @r:		ranges of TCP ports, UDP ports, echo identifiers
 * @n:		their numbers
 */
struct raw_ranges {
	struct port_range r[PORT_CLASSES][RAW_RANGES_MAX];
	int n[PORT_CLASSES];
};

typedef void (*raw_err_fn)(struct ctx *c, const struct raw_out *o, int err);
typedef void (*raw_pkt_fn)(struct ctx *c, struct pkt pkt, unsigned int ifi);

int raw_init(struct raw *r, bool v6);
void raw_close(struct raw *r);
int raw_filter(const struct raw *r, const struct port_range *ranges, int n);
int raw_filter_classes(const struct raw *r, const struct raw_ranges *rr);
struct raw_out *raw_out_slot(struct raw *r);
void raw_out_commit(struct ctx *c, raw_err_fn on_err);
void raw_flush(struct ctx *c, raw_err_fn on_err);
bool raw_full(int err);
enum drop_why raw_drop_why(int err);
int raw_send(const struct raw *r, const struct iovec *iov, int cnt,
	     uint32_t daddr);
int raw_send6(const struct raw *r, const struct iovec *iov, int cnt,
	      const struct in6_addr *daddr);
int raw_pktinfo(struct raw *r);
void raw_handler(struct ctx *c, unsigned int id, raw_pkt_fn fn);
void raw_resume(struct ctx *c);

#endif /* RAW_H */
