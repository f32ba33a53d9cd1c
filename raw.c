// SPDX-License-Identifier: GPL-2.0-or-later
/* raw.c - the raw sockets: one per protocol, shared by every flow
 *
 * Copyright (c) 2026 merd authors
 *
 * Every raw socket of a protocol gets a copy of every packet of that
 * protocol the host receives; per-flow raw sockets would make each packet
 * the host receives cost a copy per flow (../shared/NOTES.md, 1). merd opens
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
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>

#include "raw.h"

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
 */
static void bpf_l4(struct bpf_prog *p, const struct port_range *r, int n)
{
	/* ldxb 4*([0]&0xf): X = IPv4 header length */
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
 * @r:		ranges
 * @n:		their number
 *
 * Echo replies to our identifiers (UDP ports double as echo identifiers),
 * and destination unreachable, time exceeded and parameter problem quoting
 * a packet we sent from one of our ports or identifiers (RFC 792: the quote
 * starts 8 bytes into the ICMP message).
 */
static void bpf_icmp(struct bpf_prog *p, const struct port_range *r, int n)
{
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

	bpf_quoted(p, IPPROTO_TCP, 0, r, n);
	bpf_quoted(p, IPPROTO_UDP, 0, r, n);
	bpf_quoted(p, IPPROTO_ICMP, 4, r, n);
	bpf_emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

/**
 * raw_filter_len() - instructions of the largest program, for @n ranges
 * @n:		number of ranges
 *
 * Return: instruction count of the ICMP program
 */
unsigned int raw_filter_len(int n)
{
	struct port_range r[PORT_RANGES_MAX] = { { 0, 0 } };
	struct bpf_prog *p = calloc(1, sizeof(*p));
	unsigned int len;

	if (!p)
		return 0;
	bpf_icmp(p, r, n);
	len = p->n;
	free(p);
	return len;
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
 * raw_filter() - (re)attach the filters for the ports merd now holds
 * @r:		raw sockets
 * @ranges:	claimed port ranges
 * @n:		their number, at most PORT_RANGES_MAX (0: accept nothing)
 *
 * SO_ATTACH_FILTER swaps programs atomically: no packet sees none.
 *
 * Return: 0 on success, -errno
 */
int raw_filter(const struct raw *r, const struct port_range *ranges, int n)
{
	struct bpf_prog *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;

	bpf_l4(p, ranges, n);
	ret = raw_attach(r->fd[RAW_TCP], p);
	if (!ret)
		ret = raw_attach(r->fd[RAW_UDP], p);

	p->n = 0;
	bpf_icmp(p, ranges, n);
	if (!ret)
		ret = raw_attach(r->fd[RAW_ICMP], p);

	free(p);
	return ret;
}

/**
 * raw_open() - open a receiving raw socket that accepts nothing yet
 * @proto:	IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP
 *
 * Return: descriptor, or -errno
 */
static int raw_open(int proto)
{
	struct bpf_prog none = { .n = 0 };
	int fd, size = RAW_RCVBUF, ret;
	char b;

	fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;

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
 * raw_init() - open the raw sockets and allocate their buffers
 * @r:		raw sockets
 *
 * Return: 0 on success, -errno (-EPERM without CAP_NET_RAW)
 */
int raw_init(struct raw *r)
{
	static const int protos[RAW_PROTOS] = { IPPROTO_TCP, IPPROTO_UDP,
						IPPROTO_ICMP };
	int i, ret, v;

	memset(r, 0, sizeof(*r));
	r->fd_send = -1;
	for (i = 0; i < RAW_PROTOS; i++)
		r->fd[i] = -1;

	for (i = 0; i < RAW_PROTOS; i++) {
		r->fd[i] = raw_open(protos[i]);
		if (r->fd[i] < 0) {
			ret = r->fd[i];
			goto fail;
		}
	}

	/* IPPROTO_RAW implies IP_HDRINCL and receives nothing */
	r->fd_send = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (r->fd_send < 0) {
		ret = -errno;
		goto fail;
	}
	/* Send what the guest sends: up to the device MTU, whatever the
	 * host's path MTU cache says; routers on the path tell the guest
	 */
	v = IP_PMTUDISC_PROBE;
	setsockopt(r->fd_send, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));

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

	for (i = 0; i < RAW_PROTOS; i++)
		if (r->fd[i] >= 0)
			close(r->fd[i]);
	if (r->fd_send >= 0)
		close(r->fd_send);
	free(r->in);
	r->in = NULL;
	r->fd_send = -1;
	for (i = 0; i < RAW_PROTOS; i++)
		r->fd[i] = -1;
}
