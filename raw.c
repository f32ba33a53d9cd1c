// SPDX-License-Identifier: GPL-2.0-or-later
/* raw.c - the raw sockets: one per protocol, shared by every flow
 *
 * Copyright (c) 2026 merd authors
 *
 * Every raw socket of a protocol gets a copy of every packet of that
 * protocol the host receives; per-flow raw sockets would make each packet
 * the host receives cost a copy per flow (doc/design.md). merd opens
 * three receiving sockets, TCP, UDP and ICMP, whatever the number of flows,
 * and one IPPROTO_RAW socket that only sends (IP_HDRINCL: merd writes the
 * whole IPv4 header, so TTL, TOS, ECN, DF and the identification travel as
 * the guest set them).
 *
 * A classic BPF program on each receiving socket keeps only what concerns
 * the ports this merd claimed (port.c): TCP and UDP to those ports, ICMP
 * echo replies to those identifiers, and ICMP errors quoting a packet sent
 * from them. The kernel runs it before queueing, so the host's own traffic,
 * and other merds', never reaches this process.
 *
 * Guest packets leave in batches: fwd.c fills send slots (headers rewritten
 * in the slot, payload where it lies in qemu's stream buffer) and
 * raw_flush() hands them to one sendmmsg(). Packets from the network come
 * in batches too: raw_handler() reads as many as the queue toward the guest
 * can take with one recvmmsg(), and stops reading (raw_resume() starts
 * again) when that queue is full, so nothing is read only to be dropped.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <netinet/ip6.h>
#include <sys/socket.h>

#include "epoll.h"
#include "ip.h"
#include "ip6.h"
#include "merd.h"
#include "raw.h"
#include "tap.h"
#include "uplink.h"
#include "util.h"

/* linux/in6.h's, which glibc's headers lack: ask for the flow label */
#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO	11
#endif

/* The receive sockets' protocols, by enum raw_proto */
static const uint8_t raw_protos[RAW_PROTOS] = { IPPROTO_TCP, IPPROTO_UDP,
						IPPROTO_ICMP };
static const uint8_t raw_protos6[RAW_PROTOS] = { IPPROTO_TCP, IPPROTO_UDP,
						 IPPROTO_ICMPV6 };

/* Return value of a filter keeping the whole packet */
#define BPF_ACCEPT	0xffffffffU

/**
 * struct bpf_prog - a classic BPF program being written
 * @insn:	instructions
 * @n:		instructions written
 */
struct bpf_prog {
	struct sock_filter insn[BPF_MAXINSNS];
	unsigned int n;
};

/**
 * bpf_emit() - append one instruction
 * @p:		program
 * @code:	opcode
 * @jt:		jump offset if true
 * @jf:		jump offset if false
 * @k:		constant
 */
static void bpf_emit(struct bpf_prog *p, uint16_t code, uint8_t jt,
		     uint8_t jf, uint32_t k)
{
	struct sock_filter i = { code, jt, jf, k };

	p->insn[p->n++] = i;
}

/**
 * bpf_ranges() - accept if the accumulator is in one of the ranges
 * @p:		program
 * @r:		ranges
 * @n:		their number
 *
 * Three instructions a range, with short jumps only; falls through if the
 * value is in none of them.
 */
static void bpf_ranges(struct bpf_prog *p, const struct port_range *r, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		bpf_emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 2, r[i].lo);
		bpf_emit(p, BPF_JMP | BPF_JGT | BPF_K, 1, 0, r[i].hi);
		bpf_emit(p, BPF_RET | BPF_K, 0, 0, BPF_ACCEPT);
	}
}

/**
 * bpf_l4() - program for the TCP and UDP sockets: destination port in range
 * @p:		program, empty
 * @r:		ranges
 * @n:		their number
 * @v6:		for an IPv6 socket, whose packets start at the transport
 *		header (RFC 3542 3: no IPv6 header on raw sockets)
 */
static void bpf_l4(struct bpf_prog *p, const struct port_range *r, int n,
		   bool v6)
{
	/* ldxb 4*([0]&0xf): X = IPv4 header length; IPv6: ldx #0 */
	if (v6)
		bpf_emit(p, BPF_LDX | BPF_IMM, 0, 0, 0);
	else
		bpf_emit(p, BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0);
	/* ldh [x + 2]: destination port */
	bpf_emit(p, BPF_LD | BPF_H | BPF_IND, 0, 0, 2);
	bpf_ranges(p, r, n);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

/**
 * bpf_quoted() - accept an ICMP error if the quoted packet's source port
 *		  (or echo identifier) is ours, for one quoted protocol
 * @p:		program; X holds outer plus quoted IPv4 header lengths and
 *		A the quoted protocol
 * @proto:	quoted protocol this section handles
 * @off:	offset of the port or identifier, from X + 8
 * @r:		ranges
 * @n:		their number
 *
 * Skips to the next section if the quoted protocol isn't @proto.
 */
static void bpf_quoted(struct bpf_prog *p, uint8_t proto, uint32_t off,
		       const struct port_range *r, int n)
{
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(3 * n + 2), proto);
	bpf_emit(p, BPF_LD | BPF_H | BPF_IND, 0, 0, 8 + off);
	bpf_ranges(p, r, n);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

/**
 * bpf_icmp() - program for the ICMP socket
 * @p:		program, empty
 * @rr:		ranges per class: TCP and UDP for the quoted ports, ICMP for
 *		echo identifiers
 *
 * Echo replies to our identifiers (UDP ports double as echo identifiers),
 * and destination unreachable, time exceeded and parameter problem quoting
 * a packet we sent from one of our ports or identifiers (RFC 792: the quote
 * starts 8 bytes into the ICMP message).
 */
static void bpf_icmp(struct bpf_prog *p, const struct raw_ranges *rr)
{
	const struct port_range *r = rr->r[PORT_ICMP];
	int n = rr->n[PORT_ICMP];

	bpf_emit(p, BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0);
	bpf_emit(p, BPF_LD | BPF_B | BPF_IND, 0, 0, 0);		/* type */
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(3 * n + 2),
		 ICMP_ECHOREPLY);
	bpf_emit(p, BPF_LD | BPF_H | BPF_IND, 0, 0, 4);		/* id */
	bpf_ranges(p, r, n);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);

	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 3, 0, ICMP_DEST_UNREACH);
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 2, 0, ICMP_TIME_EXCEEDED);
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, ICMP_PARAMETERPROB);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);

	/* M[0] = quoted protocol; X += quoted header length */
	bpf_emit(p, BPF_LD | BPF_B | BPF_IND, 0, 0,
		 8 + offsetof(struct iphdr, protocol));
	bpf_emit(p, BPF_ST, 0, 0, 0);
	bpf_emit(p, BPF_LD | BPF_B | BPF_IND, 0, 0, 8);
	bpf_emit(p, BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xf);
	bpf_emit(p, BPF_ALU | BPF_LSH | BPF_K, 0, 0, 2);
	bpf_emit(p, BPF_ALU | BPF_ADD | BPF_X, 0, 0, 0);
	bpf_emit(p, BPF_MISC | BPF_TAX, 0, 0, 0);
	bpf_emit(p, BPF_LD | BPF_MEM, 0, 0, 0);

	bpf_quoted(p, IPPROTO_TCP, 0, rr->r[PORT_TCP], rr->n[PORT_TCP]);
	bpf_quoted(p, IPPROTO_UDP, 0, rr->r[PORT_UDP], rr->n[PORT_UDP]);
	bpf_quoted(p, IPPROTO_ICMP, 4, r, n);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

/**
 * bpf_icmp6() - program for the ICMPv6 socket
 * @p:		program, empty
 * @rr:		ranges per class, as bpf_icmp()
 *
 * Echo replies to our identifiers, and the errors of RFC 4443 3 quoting a
 * packet we sent from one of our ports or identifiers: the quoted IPv6
 * header starts 8 bytes into the message, and merd's packets carry no
 * extension headers, so the quoted ports are 40 bytes after it.
 */
static void bpf_icmp6(struct bpf_prog *p, const struct raw_ranges *rr)
{
	const struct port_range *r = rr->r[PORT_ICMP];
	int n = rr->n[PORT_ICMP];
	const uint32_t qnxt = ICMP_HLEN + offsetof(struct ip6_hdr, ip6_nxt);

	/* X + 8, bpf_quoted()'s base, is the quoted transport header */
	bpf_emit(p, BPF_LDX | BPF_IMM, 0, 0, IP6_HLEN);
	bpf_emit(p, BPF_LD | BPF_B | BPF_ABS, 0, 0, 0);		/* type */
	bpf_emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(3 * n + 2),
		 ICMP6_ECHO_REPLY);
	bpf_emit(p, BPF_LD | BPF_H | BPF_ABS, 0, 0, 4);		/* id */
	bpf_ranges(p, r, n);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);

	/* Types 1 to 4: unreachable, too big, time exceeded, parameter */
	bpf_emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, ICMP6_DST_UNREACH);
	bpf_emit(p, BPF_JMP | BPF_JGT | BPF_K, 0, 1, ICMP6_PARAM_PROB);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);

	/* A: the quoted next header */
	bpf_emit(p, BPF_LD | BPF_B | BPF_ABS, 0, 0, qnxt);
	bpf_quoted(p, IPPROTO_TCP, 0, rr->r[PORT_TCP], rr->n[PORT_TCP]);
	bpf_quoted(p, IPPROTO_UDP, 0, rr->r[PORT_UDP], rr->n[PORT_UDP]);
	bpf_quoted(p, IPPROTO_ICMPV6, 4, r, n);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

/**
 * raw_attach() - attach a program to a socket
 * @fd:		socket
 * @p:		program
 *
 * Return: 0 on success, -errno
 */
static int raw_attach(int fd, struct bpf_prog *p)
{
	struct sock_fprog prog = {
		.len = (unsigned short)p->n,
		.filter = p->insn,
	};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			  sizeof(prog)) ? -errno : 0;
}

/**
 * raw_filter_classes() - (re)attach the filters for the ports merd now
 *			  holds, per class
 * @r:		raw sockets
 * @rr:		ranges per class (TCP ports, UDP ports, echo identifiers),
 *		at most RAW_RANGES_MAX each (0: accept nothing of it)
 *
 * SO_ATTACH_FILTER swaps programs atomically: no packet sees none.
 *
 * Return: 0 on success, -errno
 */
int raw_filter_classes(const struct raw *r, const struct raw_ranges *rr)
{
	struct bpf_prog *p = calloc(1, sizeof(*p));
	int ret, i;

	if (!p)
		return -ENOMEM;
	for (i = 0; i < PORT_CLASSES; i++)
		if (rr->n[i] < 0 || rr->n[i] > RAW_RANGES_MAX) {
			free(p);
			return -EINVAL;
		}

	bpf_l4(p, rr->r[PORT_TCP], rr->n[PORT_TCP], false);
	ret = raw_attach(r->fd[RAW_TCP], p);
	p->n = 0;
	bpf_l4(p, rr->r[PORT_UDP], rr->n[PORT_UDP], false);
	if (!ret)
		ret = raw_attach(r->fd[RAW_UDP], p);
	p->n = 0;
	bpf_icmp(p, rr);
	if (!ret)
		ret = raw_attach(r->fd[RAW_ICMP], p);

	if (r->fd6[RAW_TCP] >= 0) {
		p->n = 0;
		bpf_l4(p, rr->r[PORT_TCP], rr->n[PORT_TCP], true);
		if (!ret)
			ret = raw_attach(r->fd6[RAW_TCP], p);
		p->n = 0;
		bpf_l4(p, rr->r[PORT_UDP], rr->n[PORT_UDP], true);
		if (!ret)
			ret = raw_attach(r->fd6[RAW_UDP], p);
		p->n = 0;
		bpf_icmp6(p, rr);
		if (!ret)
			ret = raw_attach(r->fd6[RAW_ICMP], p);
	}

	free(p);
	return ret;
}

/**
 * raw_filter() - (re)attach the filters, the same ranges for every class
 * @r:		raw sockets
 * @ranges:	claimed port ranges
 * @n:		their number, at most RAW_RANGES_MAX (0: accept nothing)
 *
 * Return: 0 on success, -errno
 */
int raw_filter(const struct raw *r, const struct port_range *ranges, int n)
{
	struct raw_ranges *rr = calloc(1, sizeof(*rr));
	int ret, i;

	if (!rr)
		return -ENOMEM;
	if (n < 0 || n > RAW_RANGES_MAX) {
		free(rr);
		return -EINVAL;
	}
	for (i = 0; i < PORT_CLASSES; i++) {
		if (n)
			memcpy(rr->r[i], ranges, (size_t)n * sizeof(*ranges));
		rr->n[i] = n;
	}
	ret = raw_filter_classes(r, rr);
	free(rr);
	return ret;
}

/**
 * raw_open6_opts() - ask an IPv6 raw socket for what its header held
 * @fd:		socket
 * @proto:	its protocol
 *
 * RFC 3542 3: IPv6 raw sockets give the payload only; the destination,
 * hop limit, traffic class and flow label come as ancillary data. The
 * ICMPv6 socket also lets only echo replies and errors through (RFC 3542
 * 3.2), so NDP and MLD never wake merd.
 *
 * Return: 0 on success, -errno
 */
static int raw_open6_opts(int fd, int proto)
{
	static const int opts[] = { IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT,
				    IPV6_RECVTCLASS, IPV6_FLOWINFO };
	struct icmp6_filter f;
	unsigned int i;
	int on = 1;

	for (i = 0; i < ARRAY_SIZE(opts); i++)
		if (setsockopt(fd, IPPROTO_IPV6, opts[i], &on, sizeof(on)))
			return -errno;
	if (proto != IPPROTO_ICMPV6)
		return 0;
	ICMP6_FILTER_SETBLOCKALL(&f);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
	ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
	ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f);
	ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
	ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &f);
	return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) ?
	       -errno : 0;
}

/**
 * raw_open() - open a receiving raw socket that accepts nothing yet
 * @family:	AF_INET or AF_INET6
 * @proto:	IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6
 *
 * Return: descriptor, or -errno
 */
static int raw_open(int family, int proto)
{
	struct bpf_prog none = { .n = 0 };
	int fd, size = RAW_RCVBUF, ret;
	char b;

	fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6 && (ret = raw_open6_opts(fd, proto))) {
		close(fd);
		return ret;
	}

	bpf_emit(&none, BPF_RET | BPF_K, 0, 0, 0);
	ret = raw_attach(fd, &none);
	if (ret) {
		close(fd);
		return ret;
	}
	/* Whatever arrived before the filter was attached */
	while (recv(fd, &b, 1, MSG_DONTWAIT) >= 0)
		;

	/* Past net.core.rmem_max only with CAP_NET_ADMIN: try, then settle */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return fd;
}

/**
 * raw_init6() - open the IPv6 raw sockets
 * @r:		raw sockets
 *
 * Return: 0 on success, -errno
 */
static int raw_init6(struct raw *r)
{
	int i, v = IPV6_PMTUDISC_PROBE;

	for (i = 0; i < RAW_PROTOS; i++) {
		r->fd6[i] = raw_open(AF_INET6, raw_protos6[i]);
		if (r->fd6[i] < 0)
			return r->fd6[i];
	}
	/* IPPROTO_RAW: the header is included (IPV6_HDRINCL on Linux) */
	r->fd_send6 = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			     IPPROTO_RAW);
	if (r->fd_send6 < 0)
		return -errno;
	setsockopt(r->fd_send6, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
	return 0;
}

/**
 * raw_init() - open the raw sockets and allocate their buffers
 * @r:		raw sockets
 * @v6:		open the IPv6 ones too
 *
 * Return: 0 on success, -errno (-EPERM without CAP_NET_RAW)
 */
int raw_init(struct raw *r, bool v6)
{
	int i, ret, v;

	memset(r, 0, sizeof(*r));
	r->fd_send = r->fd_send6 = -1;
	for (i = 0; i < RAW_PROTOS; i++)
		r->fd[i] = r->fd6[i] = -1;

	for (i = 0; i < RAW_PROTOS; i++) {
		r->fd[i] = raw_open(AF_INET, raw_protos[i]);
		if (r->fd[i] < 0) {
			ret = r->fd[i];
			goto fail;
		}
	}

	/* IPPROTO_RAW implies IP_HDRINCL and receives nothing; non-blocking,
	 * as the IPv6 one: a full send buffer drops (raw_full()), it never
	 * holds the loop
	 */
	r->fd_send = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    IPPROTO_RAW);
	if (r->fd_send < 0) {
		ret = -errno;
		goto fail;
	}
	/* Send what the guest sends: up to the device MTU, whatever the
	 * host's path MTU cache says; routers on the path tell the guest
	 */
	v = IP_PMTUDISC_PROBE;
	setsockopt(r->fd_send, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	if (v6 && (ret = raw_init6(r)))
		goto fail;

	r->in = aligned_alloc(64, (size_t)RAW_BATCH * RAW_PKT_MAX);
	if (!r->in) {
		ret = -ENOMEM;
		goto fail;
	}
	return 0;

fail:
	raw_close(r);
	return ret;
}

/**
 * raw_close() - close the raw sockets and free their buffers
 * @r:		raw sockets
 */
void raw_close(struct raw *r)
{
	int i;

	for (i = 0; i < RAW_PROTOS; i++) {
		if (r->fd[i] >= 0)
			close(r->fd[i]);
		if (r->fd6[i] >= 0)
			close(r->fd6[i]);
		r->fd[i] = r->fd6[i] = -1;
	}
	if (r->fd_send >= 0)
		close(r->fd_send);
	if (r->fd_send6 >= 0)
		close(r->fd_send6);
	free(r->in);
	r->in = NULL;
	r->fd_send = r->fd_send6 = -1;
}

/**
 * raw_out_slot() - the next free slot of the send batch
 * @r:		raw sockets
 *
 * Return: the slot, to fill in and raw_out_commit()
 */
struct raw_out *raw_out_slot(struct raw *r)
{
	struct raw_out *o = &r->out[r->nout];

	o->gso = 0;
	o->up = false;
	return o;
}

/**
 * raw_out_commit() - add the slot raw_out_slot() gave to the batch, and
 *		      send the batch if it is full
 * @c:		context
 * @on_err:	called for a packet the kernel refused
 *
 * The packet is offered to the uplink (uplink_take()) here, but for a
 * segment to be cut there (@gso set): fwd_out_cut() offered it already.
 */
void raw_out_commit(struct ctx *c, raw_err_fn on_err)
{
	struct raw *r = &c->fwd.raw;

	if (!r->out[r->nout].gso)
		uplink_take(c, &r->out[r->nout]);
	if (++r->nout == RAW_BATCH)
		raw_flush(c, on_err);
}

/**
 * raw_full() - tell whether a send failed only for want of room now
 * @err:	errno of the send
 *
 * The socket's send buffer is full (EAGAIN: packets the host still holds,
 * waiting for a neighbour to resolve or a queue to drain), or a queue on
 * the way is (ENOBUFS). The packet is dropped, as a full NIC queue drops:
 * merd never waits, nor tries again.
 *
 * Return: true for EAGAIN, EWOULDBLOCK and ENOBUFS
 */
bool raw_full(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

/**
 * raw_drop_why() - the drop reason for a failed send
 * @err:	errno of the send, positive or negative
 *
 * Return: DROP_HOST_FULL if raw_full(), else DROP_SEND
 */
enum drop_why raw_drop_why(int err)
{
	return raw_full(err < 0 ? -err : err) ? DROP_HOST_FULL : DROP_SEND;
}

/**
 * raw_flush_run() - send packets of one family with as few sendmmsg() as
 *		     the kernel allows
 * @c:		context
 * @mm:		messages of the batch's packets that leave here
 * @idx:	each message's packet in the send batch
 * @from:	first message of the run
 * @n:		packets in the run
 * @on_err:	called for a packet the kernel refused, with its errno
 *
 * A refused packet is reported and the run goes on after it, but a full
 * socket (raw_full()) ends the run: what is left of it is reported with
 * the same errno, without another system call. So a batch costs at most
 * one sendmmsg() a packet, and never waits.
 */
static void raw_flush_run(struct ctx *c, struct mmsghdr *mm, const int *idx,
			  int from, int n, raw_err_fn on_err)
{
	struct raw *r = &c->fwd.raw;
	int fd = r->out[idx[from]].v6 ? r->fd_send6 : r->fd_send, done = 0;

	while (done < n) {
		int sent = sendmmsg(fd, mm + from + done,
				    (unsigned int)(n - done), MSG_DONTWAIT);
		int err = errno;

		if (sent >= 0) {
			done += sent;
			r->sent += (uint64_t)sent;
			continue;
		}
		if (err == EINTR)
			continue;
		/* The first packet left failed: report it, go on */
		on_err(c, &r->out[idx[from + done++]], err);
		while (raw_full(err) && done < n)
			on_err(c, &r->out[idx[from + done++]], err);
	}
}

/**
 * raw_flush() - send the batch of guest packets
 * @c:		context
 * @on_err:	called for a packet the kernel refused, with its errno
 *
 * Must run before the buffer the payloads point into changes. What leaves
 * on the uplink goes first (uplink_flush()); IPv4 and IPv6 packets go to
 * their own raw sockets, in runs, in order.
 */
void raw_flush(struct ctx *c, raw_err_fn on_err)
{
	struct raw *r = &c->fwd.raw;
	struct mmsghdr mm[RAW_BATCH];
	int i, n = 0, start = 0;
	int idx[RAW_BATCH] = { 0 };

	if (c->fwd.up.on)
		uplink_flush(c, on_err);
	for (i = 0; i < r->nout; i++) {
		struct raw_out *o = &r->out[i];

		if (o->up)
			continue;
		memset(&mm[n], 0, sizeof(mm[n]));
		if (o->v6) {
			mm[n].msg_hdr.msg_name = &o->dst6;
			mm[n].msg_hdr.msg_namelen = sizeof(o->dst6);
		} else {
			mm[n].msg_hdr.msg_name = &o->dst;
			mm[n].msg_hdr.msg_namelen = sizeof(o->dst);
		}
		mm[n].msg_hdr.msg_iov = o->iov;
		mm[n].msg_hdr.msg_iovlen = 2;
		idx[n++] = i;
	}

	for (i = 1; i <= n; i++) {
		if (i < n && r->out[idx[i]].v6 == r->out[idx[start]].v6)
			continue;
		raw_flush_run(c, mm, idx, start, i - start, on_err);
		start = i;
	}
	r->nout = 0;
	if (c->fwd.up.syn_raw)
		uplink_syn_sent(c);
}

/**
 * raw_send() - send one packet at once, outside the batch
 * @r:		raw sockets
 * @iov:	the packet, from its IPv4 header
 * @cnt:	number of pieces
 * @daddr:	destination, network order
 *
 * Never waits: a full send buffer fails it (raw_full()).
 *
 * Return: 0 on success, -errno
 */
int raw_send(const struct raw *r, const struct iovec *iov, int cnt,
	     uint32_t daddr)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_addr = { daddr } };
	struct msghdr mh = { .msg_name = &dst, .msg_namelen = sizeof(dst),
			     .msg_iov = iov_const(iov),
			     .msg_iovlen = (size_t)cnt };

	return sendmsg(r->fd_send, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}

/**
 * raw_send6() - send one IPv6 packet at once, outside the batch
 * @r:		raw sockets
 * @iov:	the packet, from its IPv6 header
 * @cnt:	number of pieces
 * @daddr:	destination
 *
 * Never waits, as raw_send().
 *
 * Return: 0 on success, -errno
 */
int raw_send6(const struct raw *r, const struct iovec *iov, int cnt,
	      const struct in6_addr *daddr)
{
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6,
				    .sin6_addr = *daddr };
	struct msghdr mh = { .msg_name = &dst, .msg_namelen = sizeof(dst),
			     .msg_iov = iov_const(iov),
			     .msg_iovlen = (size_t)cnt };

	return sendmsg(r->fd_send6, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}

/**
 * raw_room() - packets the queue to the guest can take now
 * @c:		context
 *
 * A packet from a raw socket can be 64 KiB, and become dozens of frames
 * with their own headers once cut to the guest's MTU.
 *
 * Return: number of raw packets it is safe to read now
 */
static unsigned int raw_room(const struct ctx *c)
{
	size_t segs = RAW_PKT_MAX / (c->link.mtu > 200 ? c->link.mtu - 120 :
				     80) + 1;
	size_t worst = RAW_PKT_MAX + segs * (TAP_HDR_LEN + ETH_HLEN + 120);

	return (unsigned int)MIN(tap_room(c) / worst, (size_t)RAW_BATCH);
}

/**
 * raw_pause() - stop or restart reading the raw sockets
 * @c:		context
 * @pause:	stop if true
 */
static void raw_pause(struct ctx *c, bool pause)
{
	struct raw *r = &c->fwd.raw;
	int i;

	if (r->paused == pause)
		return;
	for (i = 0; i < RAW_PROTOS; i++) {
		epoll_ref_ctl(c->epollfd, EPOLL_CTL_MOD, r->fd[i],
			      pause ? 0 : EPOLLIN, EPOLL_TYPE_RAW, i);
		if (r->fd6[i] >= 0)
			epoll_ref_ctl(c->epollfd, EPOLL_CTL_MOD, r->fd6[i],
				      pause ? 0 : EPOLLIN, EPOLL_TYPE_RAW,
				      RAW_PROTOS + i);
	}
	r->paused = pause;
}

/**
 * raw_resume() - read the raw sockets again once the queue drained
 * @c:		context
 */
void raw_resume(struct ctx *c)
{
	if (c->fwd.raw.paused && raw_room(c) == RAW_BATCH)
		raw_pause(c, false);
}

/**
 * raw6_header() - put back the IPv6 header a raw socket took off
 * @buf:	RAW_PKT_MAX bytes: the payload was received at IP6_HLEN
 * @mh:		the message: source in its name, the rest in ancillary data
 * @len:	payload length
 * @proto:	the socket's protocol
 * @ifi:	set to the interface it came in on
 *
 * Return: length of the packet with its header, 0 if something is missing
 */
static size_t raw6_header(uint8_t *buf, struct msghdr *mh, size_t len,
			  uint8_t proto, unsigned int *ifi)
{
	const struct sockaddr_in6 *src = mh->msg_name;
	uint32_t flow = 0, vtf;
	struct in6_pktinfo pi;
	struct cmsghdr *cm;
	bool dst = false;
	int hops = 0, tclass = 0;
	struct ip6_hdr h;

	if (mh->msg_namelen < sizeof(*src) || src->sin6_family != AF_INET6)
		return 0;
	for (cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR(mh, cm)) {
		const void *d = CMSG_DATA(cm);

		if (cm->cmsg_level != IPPROTO_IPV6)
			continue;
		if (cm->cmsg_type == IPV6_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, d, sizeof(pi));
			dst = true;
		} else if (cm->cmsg_type == IPV6_HOPLIMIT &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(hops))) {
			memcpy(&hops, d, sizeof(hops));
		} else if (cm->cmsg_type == IPV6_TCLASS &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(tclass))) {
			memcpy(&tclass, d, sizeof(tclass));
		} else if (cm->cmsg_type == IPV6_FLOWINFO &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(flow))) {
			memcpy(&flow, d, sizeof(flow));
		}
	}
	if (!dst)
		return 0;
	*ifi = (unsigned int)pi.ipi6_ifindex;

	/* Version 6, traffic class, flow label (RFC 8200 3) */
	vtf = 6U << 28 | (uint32_t)(tclass & 0xff) << 20 |
	      (ntohl(flow) & IP6_FLOWLABEL_MASK);
	ip6_header(buf, &src->sin6_addr, &pi.ipi6_addr, proto,
		   (uint8_t)hops, len);
	memcpy(&h, buf, sizeof(h));
	h.ip6_flow = htonl(vtf);
	memcpy(buf, &h, sizeof(h));
	return IP6_HLEN + len;
}

/**
 * raw_ifindex4() - the interface an IPv4 packet came in on
 * @mh:		the message, with IP_PKTINFO ancillary data if asked for
 *
 * Return: interface index, 0 if unknown
 */
static unsigned int raw_ifindex4(struct msghdr *mh)
{
	struct in_pktinfo pi;
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			return (unsigned int)pi.ipi_ifindex;
		}
	}
	return 0;
}

/**
 * raw_pktinfo() - have the IPv4 receive sockets tell the interface too
 * @r:		raw sockets
 *
 * Only needed for forwarding rules bound to an interface: the IPv6
 * sockets tell it anyway (raw6_header()).
 *
 * Return: 0 on success, -errno
 */
int raw_pktinfo(struct raw *r)
{
	int i, on = 1;

	for (i = 0; i < RAW_PROTOS; i++)
		if (setsockopt(r->fd[i], IPPROTO_IP, IP_PKTINFO, &on,
			       sizeof(on)))
			return -errno;
	r->pktinfo4 = true;
	return 0;
}

/**
 * raw_handler() - read a batch from a raw socket, pass on each packet
 * @c:		context
 * @id:		which socket: enum raw_proto, plus RAW_PROTOS for IPv6
 * @fn:		called for each packet received, from its IP header (for
 *		IPv6, the one raw6_header() puts back), with the interface
 *		it came in on where known; without a guest too (inbound
 *		forwarding answers for the guest then)
 */
void raw_handler(struct ctx *c, unsigned int id, raw_pkt_fn fn)
{
	struct raw *r = &c->fwd.raw;
	struct sockaddr_in6 names[RAW_BATCH];
	uint8_t cmsg[RAW_BATCH][RAW_CMSG6_LEN] __attribute__((aligned(8)));
	struct mmsghdr mm[RAW_BATCH];
	struct iovec iov[RAW_BATCH];
	unsigned int room = raw_room(c), i;
	bool guest = tap_connected(c), v6 = id >= RAW_PROTOS;
	size_t skip = v6 ? IP6_HLEN : 0;
	int n, fd;

	if (id >= 2 * RAW_PROTOS)
		return;
	fd = v6 ? r->fd6[id - RAW_PROTOS] : r->fd[id];
	if (guest && !room) {
		raw_pause(c, true);
		return;
	}
	if (!guest)
		room = RAW_BATCH;	/* nothing queues toward the guest */

	for (i = 0; i < room; i++) {
		iov[i].iov_base = r->in + (size_t)i * RAW_PKT_MAX + skip;
		iov[i].iov_len = RAW_PKT_MAX - skip;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		if (v6) {
			mm[i].msg_hdr.msg_name = &names[i];
			mm[i].msg_hdr.msg_namelen = sizeof(names[i]);
		}
		if (v6 || r->pktinfo4) {
			mm[i].msg_hdr.msg_control = cmsg[i];
			mm[i].msg_hdr.msg_controllen = sizeof(cmsg[i]);
		}
	}

	n = recvmmsg(fd, mm, room, MSG_DONTWAIT, NULL);
	for (i = 0; n > 0 && i < (unsigned int)n; i++) {
		size_t len = MIN((size_t)mm[i].msg_len, RAW_PKT_MAX - skip);
		struct pkt p = { r->in + (size_t)i * RAW_PKT_MAX, len };
		unsigned int ifi = 0;

		if (v6)
			p.len = raw6_header(r->in + (size_t)i * RAW_PKT_MAX,
					    &mm[i].msg_hdr, len,
					    raw_protos6[id - RAW_PROTOS], &ifi);
		else if (r->pktinfo4)
			ifi = raw_ifindex4(&mm[i].msg_hdr);
		if (p.len)
			fn(c, p, ifi);
	}
	/* Frames may point into the buffers: out before the next read */
	tap_flush(c);
}
