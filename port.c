// SPDX-License-Identifier: GPL-2.0-or-later
/* port.c - host ports merd holds for its flows, claimed in blocks
 *
 * Copyright (c) 2026 merd authors
 *
 * Every host port a flow leaves from is held by an ordinary socket, so that
 * the host's own stack stays quiet about the flow's packets (the raw socket
 * has seen them already: raw delivery comes before the protocol's lookup)
 * and no other program can take the port:
 *
 * - TCP: a listening socket with IP_MINTTL 255 and a TCP-MD5 key for every
 *   address (TCP_MD5SIG_EXT, prefix length 0). Segments for the port (the
 *   peer's SYN-ACK, and everything after) find the listener, and the kernel
 *   drops them before TCP looks at them, without a reset: for a TTL below
 *   255 (RFC 5082's check), and for lacking the MD5 option that the key
 *   demands (RFC 2385). Neither needs a privilege, unlike a socket filter
 *   on a TCP socket, which takes CAP_NET_ADMIN on current kernels; the MD5
 *   key also covers a peer on the host's own link that sends with TTL 255,
 *   where the kernel has TCP-MD5 at all (doc/design.md has the readings).
 * - UDP: a UDP socket with a one-instruction filter, "ret #0", so that
 *   answers draw no ICMP port unreachable; a filter on a UDP socket needs
 *   no privilege.
 * - ICMP echo identifiers share the UDP numbers: the UDP socket holds the
 *   number, and while echo flows use it, a ping socket (SOCK_DGRAM,
 *   IPPROTO_ICMP) with the same filter holds the identifier too, where
 *   ping_group_range lets merd open one, so that no host ping socket shares
 *   it and reads the guest's replies.
 *
 * All are bound to the wildcard address, so loopback flows (the gateway
 * mapped to the host) are covered too; TCP and UDP ones are dual-stack
 * AF_INET6 sockets where the host has IPv6, so that one socket holds the
 * port for both families (and IPV6_MINHOPCOUNT does for IPv6 what
 * IP_MINTTL does for IPv4).
 *
 * A port is shared by every flow that uses it (conntrack.c keeps their
 * peers apart), so sockets grow with ports in use, never with flows. Ports
 * come from a range outside the host's ephemeral range, in blocks of
 * PORT_BLOCK, each claimed whole when merd needs more ports: merd holds the
 * block's first port, TCP and UDP, then every other one. Another merd finds
 * that first port taken and uses other blocks. The raw sockets' filters
 * then only test which blocks this merd claimed: a handful of ranges,
 * whatever the number of flows, and no packet for another merd, or for the
 * host's own connections, is ever copied to this one. A block no flow used
 * for PORT_BLOCK_IDLE seconds is given back, but for the last one.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "port.h"
#include "util.h"

/* RFC 5082: only a packet sent with TTL 255 from the next hop has 255 */
#define PORT_MINTTL	255
/* Length of the TCP-MD5 key nobody else has (RFC 2385 keys are secrets) */
#define PORT_MD5_KEYLEN	16

/**
 * port_md5() - give a TCP socket an MD5 key for every peer, IPv4 and IPv6
 * @fd:		socket, AF_INET or dual-stack AF_INET6
 * @family:	its family
 *
 * On a dual-stack socket, a key for ::ffff:0.0.0.0 with prefix length 0
 * is the key for every IPv4 peer; one for :: every IPv6 peer.
 *
 * Return: 0 on success (or when the kernel has no TCP-MD5), -errno
 */
static int port_md5(int fd, int family)
{
	struct tcp_md5sig md5 = { .tcpm_flags = TCP_MD5SIG_FLAG_PREFIX,
				  .tcpm_prefixlen = 0,
				  .tcpm_keylen = PORT_MD5_KEYLEN };
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&md5.tcpm_addr;
	int i;

	for (i = 0; i < (family == AF_INET6 ? 2 : 1); i++) {
		memset(&md5.tcpm_addr, 0, sizeof(md5.tcpm_addr));
		md5.tcpm_addr.ss_family = (sa_family_t)family;
		if (family == AF_INET6 && !i) {
			a6->sin6_addr.s6_addr[10] = 0xff;
			a6->sin6_addr.s6_addr[11] = 0xff;
		}
		if (getrandom(md5.tcpm_key, PORT_MD5_KEYLEN, 0) !=
		    PORT_MD5_KEYLEN)
			return -EIO;
		/* Best effort: a kernel without TCP-MD5 has IP_MINTTL */
		if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG_EXT, &md5,
			       sizeof(md5)) && errno != ENOPROTOOPT &&
		    errno != ENOENT)
			return -errno;
	}
	return 0;
}

/**
 * port_socket() - an unbound socket that will hold a port, set up so that
 *		   the kernel drops what arrives for it without answering
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @proto:	0, or IPPROTO_ICMP for a ping socket
 * @want:	AF_INET or AF_INET6 for a socket of that family only, 0 for
 *		dual-stack where possible
 * @family:	set to the socket's family: AF_INET6, dual-stack, where the
 *		host has IPv6 (and for anything but a ping socket), else
 *		AF_INET
 *
 * Return: descriptor, or -errno
 */
static int port_socket(int type, int proto, int want, int *family)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop };
	int fd = -1, ttl = PORT_MINTTL, v6only = want == AF_INET6, ret = 0;
	int flags = type | SOCK_NONBLOCK | SOCK_CLOEXEC;

	*family = AF_INET6;
	if (!proto && want != AF_INET)
		fd = socket(AF_INET6, flags, 0);
	if (fd >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
				  sizeof(v6only))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0 && want == AF_INET6)
		return -errno;
	if (fd < 0) {
		*family = AF_INET;
		fd = socket(AF_INET, flags, proto);
	}
	if (fd < 0)
		return -errno;

	if (type == SOCK_DGRAM) {
		/* Drop everything: the raw socket handles the traffic */
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			       sizeof(prog)))
			ret = -errno;
	} else if (setsockopt(fd, IPPROTO_IP, IP_MINTTL, &ttl, sizeof(ttl)) ||
		   (*family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, &ttl,
			       sizeof(ttl)))) {
		ret = -errno;
	} else {
		ret = port_md5(fd, *family);
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/**
 * port_hold_at() - hold a port at an address, so that the host leaves it
 *		    alone there
 * @cls:	PORT_TCP: listening TCP socket; PORT_UDP: UDP socket;
 *		PORT_ICMP: ping socket on the echo identifier
 * @port:	port or identifier, host order
 * @addr:	address to bind, NULL for every address
 * @ifname:	interface to bind to (SO_BINDTODEVICE), NULL or "" for any
 *
 * Return: descriptor, or -errno (-EADDRINUSE if the port is taken, -EACCES
 *	   below port 1024 without CAP_NET_BIND_SERVICE, or for a ping socket
 *	   ping_group_range doesn't allow, -EADDRNOTAVAIL for an address the
 *	   host doesn't have, -ENODEV for no such interface)
 */
int port_hold_at(enum port_class cls, uint16_t port,
		 const union inany_addr *addr, const char *ifname)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = { htonl(INADDR_ANY) },
	};
	struct sockaddr_in6 a6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port),
		.sin6_addr = IN6ADDR_ANY_INIT,
	};
	int fd, off = 0, family, want = 0;

	if (addr) {
		want = inany_is_v4(addr) ? AF_INET : AF_INET6;
		a.sin_addr.s_addr = inany_v4(addr);
		a6.sin6_addr = addr->a6;
	}
	fd = port_socket(cls == PORT_TCP ? SOCK_STREAM : SOCK_DGRAM,
			 cls == PORT_ICMP ? IPPROTO_ICMP : 0, want, &family);
	if (fd < 0)
		return fd;
	/* Ping sockets start with SO_REUSEADDR on, and two such sockets may
	 * share an identifier: merd's must keep it to itself
	 */
	if ((cls == PORT_ICMP &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof(off))) ||
	    (ifname && *ifname &&
	     setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
			(socklen_t)strlen(ifname))) ||
	    (family == AF_INET6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6)) :
	     bind(fd, (struct sockaddr *)&a, sizeof(a))) ||
	    (cls == PORT_TCP && listen(fd, 1))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/**
 * port_hold() - hold a port on every address, so that the host leaves it
 *		 alone
 * @cls:	PORT_TCP, PORT_UDP or PORT_ICMP, as port_hold_at()
 * @port:	port or identifier, host order
 *
 * Return: descriptor, or -errno, as port_hold_at()
 */
int port_hold(enum port_class cls, uint16_t port)
{
	return port_hold_at(cls, port, NULL, NULL);
}

/**
 * port_fwd_hold() - hold a port forwarded to the guest, for merd's lifetime
 * @p:		port state
 * @cls:	PORT_TCP or PORT_UDP
 * @port:	port, host order
 * @addr:	address to bind, NULL for every address
 * @ifname:	interface to bind to, NULL or "" for any
 *
 * A port held on every address of every interface is shared with merd's
 * flows if it lies in their range (port_claim_block()): one socket holds
 * it for both. Call port_fwd_sort() once all are held.
 *
 * Return: 0 on success, -errno as port_hold_at(), -ENOMEM
 */
int port_fwd_hold(struct ports *p, enum port_class cls, uint16_t port,
		  const union inany_addr *addr, const char *ifname)
{
	struct port_fwd *f;
	int fd;

	if (p->nfwd == p->fwd_cap) {
		uint32_t cap = p->fwd_cap ? 2 * p->fwd_cap : PORT_BLOCK;

		f = realloc(p->fwd, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		p->fwd = f;
		p->fwd_cap = cap;
	}
	fd = port_hold_at(cls, port, addr, ifname);
	if (fd < 0)
		return fd;
	f = &p->fwd[p->nfwd++];
	f->port = port;
	f->cls = (uint8_t)cls;
	f->wild = !addr && !(ifname && *ifname);
	f->fd = fd;
	return 0;
}

/**
 * port_fwd_cmp() - qsort() order of forwarded ports: by port, then class
 * @a:		one struct port_fwd
 * @b:		another
 *
 * Return: <0, 0, >0
 */
static int port_fwd_cmp(const void *a, const void *b)
{
	const struct port_fwd *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (int)x->cls - (int)y->cls;
}

/**
 * port_fwd_sort() - order the forwarded ports for port_fwd_find()
 * @p:		port state
 */
void port_fwd_sort(struct ports *p)
{
	if (p->nfwd)
		qsort(p->fwd, p->nfwd, sizeof(*p->fwd), port_fwd_cmp);
}

/**
 * port_fwd_find() - the socket holding a forwarded port on every address
 * @p:		port state, forwarded ports sorted
 * @cls:	class
 * @port:	port, host order
 *
 * Return: descriptor, -1 if the port isn't forwarded so
 */
static int port_fwd_find(const struct ports *p, enum port_class cls,
			 uint16_t port)
{
	struct port_fwd key = { .port = port, .cls = (uint8_t)cls };
	const struct port_fwd *f;

	if (!p->nfwd)
		return -1;
	f = bsearch(&key, p->fwd, p->nfwd, sizeof(*p->fwd), port_fwd_cmp);
	return f && f->wild ? f->fd : -1;
}

/**
 * port_init() - set up the range, claiming nothing yet
 * @p:		port state
 * @lo:		first port
 * @hi:		last port, at least @lo
 * @max_claimed: most blocks that may be claimed at once, at least 1
 *
 * Return: 0 on success, -errno
 */
int port_init(struct ports *p, uint16_t lo, uint16_t hi, uint32_t max_claimed)
{
	memset(p, 0, sizeof(*p));
	p->lo = lo;
	p->hi = hi;
	p->nblocks = ((uint32_t)hi - lo + PORT_BLOCK) / PORT_BLOCK;
	p->max_claimed = MIN(MAX(max_claimed, 1U), p->nblocks);
	p->ping = true;
	p->blocks = calloc(p->nblocks, sizeof(*p->blocks));
	p->claimed = calloc(p->nblocks, sizeof(*p->claimed));
	if (!p->blocks || !p->claimed) {
		port_free(p);
		return -ENOMEM;
	}
	return 0;
}

/**
 * port_base() - first port of a block
 * @p:		port state
 * @b:		block number
 *
 * Return: port, host order
 */
static uint16_t port_base(const struct ports *p, uint32_t b)
{
	return (uint16_t)(p->lo + b * PORT_BLOCK);
}

/**
 * port_block_len() - number of ports in a block (the last may be short)
 * @p:		port state
 * @b:		block number
 *
 * Return: number of ports
 */
static uint32_t port_block_len(const struct ports *p, uint32_t b)
{
	return MIN((uint32_t)PORT_BLOCK, (uint32_t)p->hi - port_base(p, b) + 1);
}

/**
 * port_unclaim() - give a block back, closing every socket it holds
 * @p:		port state
 * @b:		block number, claimed
 */
static void port_unclaim(struct ports *p, uint32_t b)
{
	struct port_block *blk = &p->blocks[b];
	uint32_t i, last = p->claimed[--p->nclaimed];

	for (i = 0; i < port_block_len(p, b); i++) {
		struct port_slot *s = &blk->slot[i];

		if (s->fd_tcp >= 0 && !(s->shared & PORT_SHARED(PORT_TCP)))
			close(s->fd_tcp);
		if (s->fd_udp >= 0 && !(s->shared & PORT_SHARED(PORT_UDP)))
			close(s->fd_udp);
		if (s->fd_ping >= 0)
			close(s->fd_ping);
	}
	free(blk->slot);
	blk->slot = NULL;

	/* The last claimed block takes its place in the list */
	p->claimed[blk->pos] = last;
	p->blocks[last].pos = blk->pos;
	p->changed = true;
}

/**
 * port_free() - give back every block and release the state
 * @p:		port state
 */
void port_free(struct ports *p)
{
	uint32_t i;

	while (p->blocks && p->claimed && p->nclaimed)
		port_unclaim(p, p->claimed[p->nclaimed - 1]);
	for (i = 0; i < p->nfwd; i++)
		close(p->fwd[i].fd);
	free(p->fwd);
	free(p->blocks);
	free(p->claimed);
	memset(p, 0, sizeof(*p));
}

/**
 * port_slot_hold() - hold one port of a block being claimed, for a class
 * @p:		port state
 * @s:		its slot
 * @cls:	PORT_TCP or PORT_UDP
 * @port:	port, host order
 *
 * A port forwarded to the guest on every address is held already: its
 * socket serves the flows too, and stays open when the block goes.
 *
 * Return: descriptor, or -errno
 */
static int port_slot_hold(const struct ports *p, struct port_slot *s,
			  enum port_class cls, uint16_t port)
{
	int fd = port_fwd_find(p, cls, port);

	if (fd >= 0) {
		s->shared |= (uint8_t)PORT_SHARED(cls);
		return fd;
	}
	return port_hold(cls, port);
}

/**
 * port_block_close() - close what a block being claimed holds so far
 * @blk:	the block, slots allocated
 * @n:		slots filled in
 */
static void port_block_close(struct port_block *blk, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		const struct port_slot *s = &blk->slot[i];

		if (s->fd_tcp >= 0 && !(s->shared & PORT_SHARED(PORT_TCP)))
			close(s->fd_tcp);
		if (s->fd_udp >= 0 && !(s->shared & PORT_SHARED(PORT_UDP)))
			close(s->fd_udp);
	}
	free(blk->slot);
	blk->slot = NULL;
}

/**
 * port_claim_block() - claim one block: its first port, then every other
 * @p:		port state
 * @b:		block number, not claimed
 * @now:	current time, seconds
 *
 * A port of the block another program holds is left out (its descriptors
 * stay -1); only the first port, the claim's marker, must be had.
 *
 * Return: 0 on success, -errno if the first port is taken (another merd,
 *	   or another program)
 */
static int port_claim_block(struct ports *p, uint32_t b, uint32_t now)
{
	struct port_block *blk = &p->blocks[b];
	uint16_t base = port_base(p, b);
	struct port_slot *s;
	uint32_t i;

	blk->slot = calloc(PORT_BLOCK, sizeof(*blk->slot));
	if (!blk->slot)
		return -ENOMEM;
	s = &blk->slot[0];
	s->fd_ping = -1;
	s->fd_tcp = port_slot_hold(p, s, PORT_TCP, base);
	s->fd_udp = s->fd_tcp < 0 ? s->fd_tcp :
		    port_slot_hold(p, s, PORT_UDP, base);
	if (s->fd_udp < 0) {
		int ret = s->fd_udp;

		s->fd_udp = -1;
		port_block_close(blk, 1);
		return ret;
	}

	for (i = 1; i < port_block_len(p, b); i++) {
		uint16_t port = (uint16_t)(base + i);

		s = &blk->slot[i];
		s->fd_ping = -1;
		s->fd_tcp = port_slot_hold(p, s, PORT_TCP, port);
		s->fd_udp = port_slot_hold(p, s, PORT_UDP, port);
		s->fd_tcp = MAX(s->fd_tcp, -1);
		s->fd_udp = MAX(s->fd_udp, -1);
	}
	blk->used = 0;
	blk->idle = now;
	blk->pos = p->nclaimed;
	p->claimed[p->nclaimed++] = b;
	p->changed = true;
	return 0;
}

/**
 * port_claimable() - tell whether another block may be claimed now
 * @p:		port state
 * @now:	current time, seconds
 *
 * Return: false if merd holds all the blocks it may, or found none free
 *	   less than a second ago
 */
bool port_claimable(const struct ports *p, uint32_t now)
{
	return p->nclaimed < p->max_claimed &&
	       (!p->retry_set || (int32_t)(now - p->retry) >= 0);
}

/**
 * port_claim() - claim one more block, the first one free
 * @p:		port state
 * @now:	current time, seconds
 *
 * Blocks other programs (or merds) hold cost two system calls each to
 * find out: after none was found, merd doesn't look again for a second.
 *
 * Return: 0 on success, -ENOSPC if no block is left (or may be claimed)
 */
int port_claim(struct ports *p, uint32_t now)
{
	uint32_t b;

	if (!port_claimable(p, now))
		return -ENOSPC;
	for (b = 0; b < p->nblocks; b++)
		if (!p->blocks[b].slot && !port_claim_block(p, b, now))
			return 0;
	p->retry = now + 1;
	p->retry_set = true;
	return -ENOSPC;
}

/**
 * port_count() - number of places in the claimed blocks
 * @p:		port state
 *
 * Return: places port_nth() takes
 */
uint32_t port_count(const struct ports *p)
{
	return p->nclaimed * PORT_BLOCK;
}

/**
 * port_slot() - the slot of a port, if it is in a claimed block
 * @p:		port state
 * @port:	port, host order
 *
 * Return: slot, NULL if the port isn't in a claimed block
 */
static struct port_slot *port_slot(const struct ports *p, uint16_t port)
{
	uint32_t off = (uint32_t)port - p->lo;

	if (port < p->lo || port > p->hi || !p->blocks[off / PORT_BLOCK].slot)
		return NULL;
	return &p->blocks[off / PORT_BLOCK].slot[off % PORT_BLOCK];
}

/**
 * port_nth() - a place in the claimed blocks, as a port usable by a class
 * @p:		port state
 * @cls:	class
 * @i:		place, below port_count()
 *
 * Return: port, host order, or 0 if that place isn't one merd holds for
 *	   the class (past the range's end, or another program has it)
 */
uint16_t port_nth(const struct ports *p, enum port_class cls, uint32_t i)
{
	uint32_t b = p->claimed[i / PORT_BLOCK];
	uint16_t port;
	const struct port_slot *s;

	if (i % PORT_BLOCK >= port_block_len(p, b))
		return 0;
	port = (uint16_t)(port_base(p, b) + i % PORT_BLOCK);
	s = port_slot(p, port);
	if ((cls == PORT_TCP ? s->fd_tcp : s->fd_udp) < 0)
		return 0;
	return port;
}

/**
 * port_ref() - a flow starts using a port
 * @p:		port state
 * @cls:	its class
 * @port:	port from port_nth()
 *
 * The first echo flow on an identifier opens a ping socket on it, where
 * the host allows (merd stops trying once it is told it may not).
 *
 * Return: 0 on success, -EADDRINUSE if a host program has that identifier
 *	   for its own pings, other -errno for no ping socket
 */
int port_ref(struct ports *p, enum port_class cls, uint16_t port)
{
	struct port_slot *s = port_slot(p, port);

	if (!s)
		return -EINVAL;
	if (cls == PORT_ICMP && !s->refs[cls] && p->ping) {
		int fd = port_hold(PORT_ICMP, port);

		if (fd == -EACCES || fd == -EPERM)
			p->ping = false;
		else if (fd < 0)
			return fd;
		else
			s->fd_ping = fd;
	}
	s->refs[cls]++;
	p->blocks[((uint32_t)port - p->lo) / PORT_BLOCK].used++;
	return 0;
}

/**
 * port_unref() - a flow stops using a port
 * @p:		port state
 * @cls:	class it was used as
 * @port:	port
 * @now:	current time, seconds
 */
void port_unref(struct ports *p, enum port_class cls, uint16_t port,
		uint32_t now)
{
	struct port_slot *s = port_slot(p, port);
	struct port_block *blk;

	if (!s || !s->refs[cls])
		return;
	if (!--s->refs[cls] && cls == PORT_ICMP && s->fd_ping >= 0) {
		close(s->fd_ping);
		s->fd_ping = -1;
	}
	blk = &p->blocks[((uint32_t)port - p->lo) / PORT_BLOCK];
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
	uint32_t i;

	for (i = p->nclaimed; i-- > 0 && p->nclaimed > 1;) {
		uint32_t b = p->claimed[i];
		const struct port_block *blk = &p->blocks[b];

		if (!blk->used && now - blk->idle >= PORT_BLOCK_IDLE)
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
		uint16_t lo = port_base(p, b);
		uint16_t hi = (uint16_t)(lo + port_block_len(p, b) - 1);

		if (!p->blocks[b].slot)
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
