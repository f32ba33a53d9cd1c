// SPDX-License-Identifier: GPL-2.0-or-later
/* test_port.c - unit tests for port.c: host ports held for flows, claimed
 *		 in blocks
 *
 * Copyright (c) 2026 merd authors
 *
 * port.c binds real sockets. So that the tests never take a port from
 * anything on the machine, the program moves to a network namespace of
 * its own first (unshare(CLONE_NEWNET), as root) and refuses to run any
 * test if it can't; there it brings loopback up, to knock on the ports
 * merd holds. Whether a port is held is asked of the kernel: binding it
 * from the test must fail with EADDRINUSE, and succeed again once merd let
 * it go. That the host's stack stays quiet for a held port is seen on
 * loopback: a connection attempt to it gets no answer at all (no SYN-ACK,
 * no reset), a datagram to it no port unreachable, where the same to a
 * port nobody holds is refused at once.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "merd.h"
#include "port.h"
#include "netns.h"
#include "unit.h"

/* Three blocks: two whole ones and one of 10 ports */
#define LO		40000
#define HI		(LO + 2 * PORT_BLOCK + 9)
#define LAST_LEN	10

/* How long a knock on a port waits for an answer, milliseconds: loopback
 * answers within the system call, this is only a margin
 */
#define KNOCK_MS	100

/* bind_test() - bind a socket of @type to @port from outside port.c
 *
 * Return: the socket, or -errno
 */
static int bind_test(int type, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, type, 0), ret;

	assert_true(fd >= 0);
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return fd;
	ret = -errno;
	close(fd);
	return ret;
}

/* Sockets a test holds ports with, "another program": closed by the
 * teardown if the test failed before it closed them, so that the next
 * test starts with every port free
 */
static int others[8];
static unsigned int nothers;

/* other() - hold @port of @type as another program would
 *
 * Return: the socket
 */
static int other(int type, uint16_t port)
{
	int fd = bind_test(type, port);

	assert_true(fd >= 0);
	assert_true(nothers < ARRAY_SIZE(others));
	others[nothers++] = fd;
	return fd;
}

/* other_close() - let go of a port held by other() */
static void other_close(int fd)
{
	unsigned int i;

	for (i = 0; i < nothers; i++) {
		if (others[i] == fd) {
			others[i] = others[--nothers];
			close(fd);
			return;
		}
	}
	fail_msg("socket %d isn't one of the test's", fd);
}

/* taken() - is @port of @type held by someone? */
static bool taken(int type, uint16_t port)
{
	int fd = bind_test(type, port);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	assert_int_equal(fd, -EADDRINUSE);
	return true;
}

/* held() - is @port held both ways, TCP and UDP? */
static bool held(uint16_t port)
{
	return taken(SOCK_STREAM, port) && taken(SOCK_DGRAM, port);
}

/* bound_port() - the port a socket is bound to */
static uint16_t bound_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

/* sock_int() - an integer socket option */
static int sock_int(int fd, int level, int opt)
{
	socklen_t len = sizeof(int);
	int v;

	assert_int_equal(getsockopt(fd, level, opt, &v, &len), 0);
	return v;
}

/* filter_len() - instructions of the filter on a socket, 0 if none */
static int filter_len(int fd)
{
	socklen_t len = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &len))
		return 0;
	return (int)len;
}

/* slot() - port.c's record of a port of a claimed block */
static const struct port_slot *slot(const struct ports *p, uint16_t port)
{
	const struct port_block *b = &p->blocks[(port - p->lo) / PORT_BLOCK];

	assert_non_null(b->slot);
	return &b->slot[(port - p->lo) % PORT_BLOCK];
}

/* ports_setup() - cmocka fixture: the test range, nothing claimed */
static int ports_setup(void **state)
{
	struct ports *p = malloc(sizeof(*p));

	assert_non_null(p);
	assert_int_equal(port_init(p, LO, HI, 3), 0);
	*state = p;
	return 0;
}

/* ports_teardown() - cmocka fixture: give back everything, every port of
 * the range free again
 */
static int ports_teardown(void **state)
{
	struct ports *p = *state;
	uint32_t port;

	while (nothers)
		other_close(others[nothers - 1]);
	port_free(p);
	free(p);
	for (port = LO; port <= HI; port += 1 + (port < LO + 300 ? 0 : 36))
		assert_false(taken(SOCK_STREAM, (uint16_t)port) ||
			     taken(SOCK_DGRAM, (uint16_t)port));
	return 0;
}

/* A new range claims nothing, counts its blocks (the last one short), and
 * may claim between one and all of them
 */
static void test_init(void **state)
{
	struct ports *p = *state, q;

	assert_int_equal(p->nblocks, 3);
	assert_int_equal(p->nclaimed, 0);
	assert_int_equal(p->max_claimed, 3);
	assert_int_equal(port_count(p), 0);
	assert_true(port_claimable(p, 1));
	assert_false(taken(SOCK_STREAM, LO));

	assert_int_equal(port_init(&q, LO, HI, 0), 0);
	assert_int_equal(q.max_claimed, 1);
	port_free(&q);
	assert_int_equal(port_init(&q, LO, HI, 100), 0);
	assert_int_equal(q.max_claimed, 3);
	port_free(&q);
	assert_int_equal(port_init(&q, LO, LO, 5), 0);
	assert_int_equal(q.nblocks, 1);
	assert_int_equal(q.max_claimed, 1);
	port_free(&q);
}

/* The first claim takes block 0, every port of it, TCP and UDP: listeners
 * with IP_MINTTL 255 and UDP sockets with a filter; the places it adds are
 * its ports, in order, for every class
 */
static void test_claim_first(void **state)
{
	struct ports *p = *state;
	uint32_t i;

	assert_int_equal(port_claim(p, 1), 0);
	assert_int_equal(p->nclaimed, 1);
	assert_true(p->changed);
	assert_int_equal(port_count(p), PORT_BLOCK);
	assert_false(taken(SOCK_STREAM, LO + PORT_BLOCK));
	assert_false(taken(SOCK_DGRAM, LO + PORT_BLOCK));

	for (i = 0; i < PORT_BLOCK; i++) {
		uint16_t port = (uint16_t)(LO + i);
		const struct port_slot *s = slot(p, port);

		assert_true(held(port));
		assert_int_equal(port_nth(p, PORT_TCP, i), port);
		assert_int_equal(port_nth(p, PORT_UDP, i), port);
		assert_int_equal(port_nth(p, PORT_ICMP, i), port);

		assert_int_equal(bound_port(s->fd_tcp), port);
		assert_int_equal(sock_int(s->fd_tcp, SOL_SOCKET, SO_TYPE),
				 SOCK_STREAM);
		assert_int_equal(sock_int(s->fd_tcp, SOL_SOCKET,
					  SO_ACCEPTCONN), 1);
		assert_int_equal(sock_int(s->fd_tcp, IPPROTO_IP, IP_MINTTL),
				 255);
		assert_int_equal(bound_port(s->fd_udp), port);
		assert_int_equal(sock_int(s->fd_udp, SOL_SOCKET, SO_TYPE),
				 SOCK_DGRAM);
		assert_int_equal(sock_int(s->fd_udp, SOL_SOCKET,
					  SO_PROTOCOL), IPPROTO_UDP);
		assert_int_equal(filter_len(s->fd_udp), 1);
		assert_int_equal(s->fd_ping, -1);
		assert_int_equal(s->refs[PORT_TCP] + s->refs[PORT_UDP] +
				 s->refs[PORT_ICMP], 0);
	}
}

/* lo_addr() - 127.0.0.1:@port */
static struct sockaddr_in lo_addr(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr = { htonl(INADDR_LOOPBACK) } };

	return a;
}

/* knock_tcp() - try to connect to @port on loopback, with TTL @ttl
 *
 * Return: 0 if nothing answered within KNOCK_MS, else the error the
 *	   connection got (ECONNREFUSED for a reset; 0 can't come back:
 *	   an accepted connection fails the test)
 */
static int knock_tcp(uint16_t port, int ttl)
{
	struct sockaddr_in a = lo_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), e;
	struct pollfd pfd;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl,
				    sizeof(ttl)), 0);
	if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
		fail_msg("connected to held port %u", port);
	if (errno != EINPROGRESS) {
		e = errno;
		close(fd);
		return e;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (!poll(&pfd, 1, KNOCK_MS)) {
		close(fd);
		return 0;
	}
	e = sock_int(fd, SOL_SOCKET, SO_ERROR);
	close(fd);
	if (!e)
		fail_msg("connected to held port %u", port);
	return e;
}

/* knock_udp() - send a datagram to @port on loopback, from a connected
 * socket
 *
 * Return: 0 if no error came back within KNOCK_MS, else the error
 *	   (ECONNREFUSED for a port unreachable)
 */
static int knock_udp(uint16_t port)
{
	struct sockaddr_in a = lo_addr(port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), e = 0;
	struct pollfd pfd = { .events = POLLERR };
	char b = 'x';

	assert_true(fd >= 0);
	pfd.fd = fd;
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(send(fd, &b, 1, 0), 1);
	if (poll(&pfd, 1, KNOCK_MS) > 0)
		e = sock_int(fd, SOL_SOCKET, SO_ERROR);
	close(fd);
	return e;
}

/* md5_works() - does this kernel have TCP-MD5 signatures? */
static bool md5_works(void)
{
	struct tcp_md5sig md5 = { .tcpm_keylen = 4 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	assert_true(fd >= 0);
	md5.tcpm_addr.ss_family = AF_INET;
	ok = !setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5));
	close(fd);
	return ok;
}

/* The host's stack never answers for a held port: a SYN to it draws no
 * SYN-ACK and no reset (TTL below 255; with 255, the MD5 key, where the
 * kernel has it), a datagram no port unreachable. The same knocks on a
 * port nobody holds are refused at once, so they would have shown an
 * answer
 */
static void test_holders_silent(void **state)
{
	struct ports *p = *state;

	assert_int_equal(port_claim(p, 1), 0);
	assert_int_equal(knock_tcp(LO + PORT_BLOCK, 64), ECONNREFUSED);
	assert_int_equal(knock_udp(LO + PORT_BLOCK), ECONNREFUSED);

	assert_int_equal(knock_tcp(LO + 1, 64), 0);
	assert_int_equal(knock_tcp(LO + PORT_BLOCK - 1, 1), 0);
	if (md5_works())
		assert_int_equal(knock_tcp(LO + 7, 255), 0);
	assert_int_equal(knock_udp(LO + 1), 0);
	assert_int_equal(knock_udp(LO), 0);
}

/* Ports of a block some other program holds are left out, per protocol:
 * not a place for that class (UDP and ICMP echo identifiers share the UDP
 * numbers), and the other program keeps them
 */
static void test_busy_ports(void **state)
{
	struct ports *p = *state;
	int tcp = other(SOCK_STREAM, LO + 5);
	int udp = other(SOCK_DGRAM, LO + 6);

	assert_int_equal(port_claim(p, 1), 0);
	assert_int_equal(port_nth(p, PORT_TCP, 5), 0);
	assert_int_equal(port_nth(p, PORT_UDP, 5), LO + 5);
	assert_int_equal(port_nth(p, PORT_ICMP, 5), LO + 5);
	assert_int_equal(port_nth(p, PORT_TCP, 6), LO + 6);
	assert_int_equal(port_nth(p, PORT_UDP, 6), 0);
	assert_int_equal(port_nth(p, PORT_ICMP, 6), 0);
	assert_int_equal(port_nth(p, PORT_TCP, 4), LO + 4);
	assert_int_equal(port_nth(p, PORT_UDP, 7), LO + 7);

	port_free(p);
	assert_int_equal(bound_port(tcp), LO + 5);
	assert_int_equal(bound_port(udp), LO + 6);
	assert_false(taken(SOCK_STREAM, LO + 6));
	other_close(tcp);
	other_close(udp);
	assert_int_equal(port_init(p, LO, HI, 3), 0);
}

/* A block whose first port someone else holds (another merd), TCP or UDP,
 * is skipped: the next one is claimed
 */
static void test_busy_block(void **state)
{
	struct ports *p = *state;
	int o = other(SOCK_DGRAM, LO), o2;

	assert_int_equal(port_claim(p, 1), 0);
	assert_int_equal(p->nclaimed, 1);
	assert_int_equal(p->claimed[0], 1);
	assert_null(p->blocks[0].slot);
	assert_int_equal(port_nth(p, PORT_TCP, 0), LO + PORT_BLOCK);
	assert_false(taken(SOCK_STREAM, LO));	/* its TCP side left alone */
	other_close(o);

	o2 = other(SOCK_STREAM, LO + 2 * PORT_BLOCK);
	assert_int_equal(port_claim(p, 1), 0);	/* block 0 is free now */
	assert_int_equal(p->claimed[1], 0);
	assert_int_equal(port_claim(p, 1), -ENOSPC);
	assert_int_equal(p->nclaimed, 2);
	assert_false(taken(SOCK_DGRAM, LO + 2 * PORT_BLOCK));
	other_close(o2);
}

/* All three blocks: the places of the short last one past its end are no
 * port; every port distinct and inside the range; no fourth block
 */
static void test_claim_all(void **state)
{
	static bool seen[65536];
	struct ports *p = *state;
	uint32_t i, n = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 3; i++)
		assert_int_equal(port_claim(p, 1), 0);
	assert_int_equal(port_count(p), 3 * PORT_BLOCK);
	assert_false(port_claimable(p, 1));
	assert_int_equal(port_claim(p, 1), -ENOSPC);

	for (i = 0; i < port_count(p); i++) {
		uint16_t port = port_nth(p, PORT_UDP, i);

		assert_int_equal(port_nth(p, PORT_TCP, i), port);
		if (!port) {
			assert_true(i >= 2 * PORT_BLOCK + LAST_LEN);
			continue;
		}
		assert_true(port >= LO && port <= HI);
		assert_false(seen[port]);
		seen[port] = true;
		n++;
	}
	assert_int_equal(n, HI - LO + 1);
	assert_true(held(HI));
	assert_false(taken(SOCK_STREAM, HI + 1));
}

/* With every free block claimed, another claim fails and isn't tried again
 * for a second (each busy block costs system calls); then it finds the
 * block freed meanwhile
 */
static void test_claim_retry(void **state)
{
	struct ports *p = *state;
	int b1 = other(SOCK_STREAM, LO + PORT_BLOCK);
	int b2 = other(SOCK_STREAM, LO + 2 * PORT_BLOCK);

	assert_int_equal(port_claim(p, 50), 0);
	assert_true(port_claimable(p, 50));
	assert_int_equal(port_claim(p, 50), -ENOSPC);
	assert_false(port_claimable(p, 50));
	other_close(b1);
	assert_int_equal(port_claim(p, 50), -ENOSPC);
	assert_true(port_claimable(p, 51));
	assert_int_equal(port_claim(p, 51), 0);
	assert_int_equal(p->claimed[1], 1);
	other_close(b2);
}

/* Flows reference ports per class; a block counts its references, and is
 * idle from when the last goes; a port outside the claimed blocks can't be
 * referenced, and an unreferenced one isn't unreferenced below zero
 */
static void test_refs(void **state)
{
	struct ports *p = *state;
	const struct port_block *b = &p->blocks[0];

	assert_int_equal(port_claim(p, 10), 0);
	assert_int_equal(port_ref(p, PORT_TCP, LO + 3), 0);
	assert_int_equal(port_ref(p, PORT_TCP, LO + 3), 0);
	assert_int_equal(port_ref(p, PORT_UDP, LO + 3), 0);
	assert_int_equal(slot(p, LO + 3)->refs[PORT_TCP], 2);
	assert_int_equal(slot(p, LO + 3)->refs[PORT_UDP], 1);
	assert_int_equal(b->used, 3);
	assert_int_equal(port_ref(p, PORT_TCP, LO + PORT_BLOCK), -EINVAL);
	assert_int_equal(port_ref(p, PORT_TCP, LO - 1), -EINVAL);
	assert_int_equal(port_ref(p, PORT_UDP, HI + 1), -EINVAL);

	port_unref(p, PORT_TCP, LO + 3, 20);
	port_unref(p, PORT_UDP, LO + 3, 21);
	assert_int_equal(b->used, 1);
	assert_int_equal(b->idle, 10);
	port_unref(p, PORT_UDP, LO + 3, 22);		/* none left: no-op */
	port_unref(p, PORT_ICMP, LO + 4, 22);
	assert_int_equal(b->used, 1);
	port_unref(p, PORT_TCP, LO + 3, 30);
	assert_int_equal(b->used, 0);
	assert_int_equal(b->idle, 30);
	assert_true(held(LO + 3));		/* the block still holds it */
}

/* A block unused for PORT_BLOCK_IDLE seconds is given back, every port of
 * it free again, and the claimed places close up; a used one never is,
 * and the last one is kept
 */
static void test_tick(void **state)
{
	struct ports *p = *state;
	struct port_range r[4];
	uint32_t i;

	assert_int_equal(port_claim(p, 100), 0);
	assert_int_equal(port_claim(p, 100), 0);
	assert_int_equal(port_ref(p, PORT_UDP, LO + PORT_BLOCK + 9), 0);
	assert_int_equal(port_ranges(p, r, 4), 1);
	assert_false(p->changed);

	port_tick(p, 100 + PORT_BLOCK_IDLE - 1);
	assert_int_equal(p->nclaimed, 2);
	assert_false(p->changed);

	/* Block 0, idle since its claim, goes; block 1 takes its places */
	port_tick(p, 100 + PORT_BLOCK_IDLE);
	assert_int_equal(p->nclaimed, 1);
	assert_true(p->changed);
	for (i = 0; i < PORT_BLOCK; i++)
		assert_false(taken(SOCK_STREAM, (uint16_t)(LO + i)) ||
			     taken(SOCK_DGRAM, (uint16_t)(LO + i)));
	assert_int_equal(port_count(p), PORT_BLOCK);
	assert_int_equal(port_nth(p, PORT_TCP, 0), LO + PORT_BLOCK);
	assert_int_equal(port_ranges(p, r, 4), 1);
	assert_int_equal(r[0].lo, LO + PORT_BLOCK);
	assert_int_equal(r[0].hi, LO + 2 * PORT_BLOCK - 1);

	/* In use: stays whatever the time */
	port_tick(p, 100000);
	assert_int_equal(p->nclaimed, 1);

	/* Idle, but the last one: kept */
	port_unref(p, PORT_UDP, LO + PORT_BLOCK + 9, 200);
	port_tick(p, 200 + 10 * PORT_BLOCK_IDLE);
	assert_int_equal(p->nclaimed, 1);
	assert_true(held(LO + PORT_BLOCK));

	/* Another block claimed: the one idle for long goes at once, the
	 * new one is kept, the last
	 */
	assert_int_equal(port_claim(p, 1000), 0);
	port_tick(p, 1001);
	assert_int_equal(p->nclaimed, 1);
	assert_int_equal(p->claimed[0], 0);
	assert_true(held(LO));
	assert_false(taken(SOCK_STREAM, LO + PORT_BLOCK));
}

/* set_ping() - let the test's group open ping sockets, or not (this
 * namespace's setting only)
 */
static void set_ping(bool on)
{
	const char *v = on ? "0 0\n" : "1 0\n";
	int fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, v, strlen(v)), (ssize_t)strlen(v));
	close(fd);
}

/* ping_test() - a ping socket of the test's own on echo identifier @id
 *
 * Return: the socket, or -errno
 */
static int ping_test(uint16_t id)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(id) };
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), ret;

	if (fd < 0)
		return -errno;
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return fd;
	ret = -errno;
	close(fd);
	return ret;
}

/* An echo identifier in use is held by a ping socket too where ping
 * sockets are allowed, opened by its first reference and closed with its
 * last; a host program's own ping on it makes the reference fail; where
 * they aren't allowed, the UDP socket on the number is enough
 */
static void test_icmp_holder(void **state)
{
	struct ports *p = *state;
	int fd, ping;

	assert_int_equal(port_claim(p, 1), 0);
	set_ping(true);
	assert_int_equal(port_ref(p, PORT_ICMP, LO + 1), 0);
	fd = slot(p, LO + 1)->fd_ping;
	assert_true(fd >= 0);
	assert_int_equal(sock_int(fd, SOL_SOCKET, SO_PROTOCOL), IPPROTO_ICMP);
	assert_int_equal(bound_port(fd), LO + 1);
	assert_int_equal(filter_len(fd), 1);
	ping = ping_test(LO + 1);
	if (ping >= 0) {
		close(ping);
		port_unref(p, PORT_ICMP, LO + 1, 1);
		set_ping(false);
		fail_msg("a host ping socket could bind echo identifier %u, "
			 "which merd's ping socket holds (merd bug: port.c "
			 "leaves SO_REUSEADDR on, as ping sockets are made, "
			 "and ping_get_port() lets two such sockets share "
			 "an identifier)", LO + 1);
	}
	assert_int_equal(ping, -EADDRINUSE);
	assert_int_equal(port_ref(p, PORT_ICMP, LO + 1), 0);
	assert_int_equal(slot(p, LO + 1)->fd_ping, fd);
	port_unref(p, PORT_ICMP, LO + 1, 1);
	assert_int_equal(slot(p, LO + 1)->fd_ping, fd);
	port_unref(p, PORT_ICMP, LO + 1, 1);
	assert_int_equal(slot(p, LO + 1)->fd_ping, -1);
	ping = ping_test(LO + 1);
	assert_true(ping >= 0);

	/* The identifier is the host's own ping's now */
	assert_int_equal(port_ref(p, PORT_ICMP, LO + 1), -EADDRINUSE);
	assert_int_equal(slot(p, LO + 1)->refs[PORT_ICMP], 0);
	assert_int_equal(p->blocks[0].used, 0);
	close(ping);

	set_ping(false);
	assert_int_equal(port_ref(p, PORT_ICMP, LO + 2), 0);
	assert_false(p->ping);
	assert_int_equal(slot(p, LO + 2)->fd_ping, -1);
	assert_true(taken(SOCK_DGRAM, LO + 2));
	port_unref(p, PORT_ICMP, LO + 2, 1);
}

/* port_hold(): a listener, a UDP socket, a ping socket where allowed; a
 * port held already is refused with EADDRINUSE
 */
static void test_hold(void **state)
{
	int t, u, t2, i;

	(void)state;
	t = port_hold(PORT_TCP, LO + 100);
	u = port_hold(PORT_UDP, LO + 100);
	assert_true(t >= 0 && u >= 0);
	assert_int_equal(sock_int(t, SOL_SOCKET, SO_ACCEPTCONN), 1);
	assert_int_equal(sock_int(u, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	t2 = port_hold(PORT_TCP, LO + 100);
	assert_int_equal(t2, -EADDRINUSE);
	assert_int_equal(port_hold(PORT_UDP, LO + 100), -EADDRINUSE);
	set_ping(false);
	i = port_hold(PORT_ICMP, LO + 100);
	assert_true(i == -EACCES || i == -EPERM);
	set_ping(true);
	i = port_hold(PORT_ICMP, LO + 100);
	set_ping(false);
	assert_true(i >= 0);
	assert_int_equal(sock_int(i, SOL_SOCKET, SO_PROTOCOL), IPPROTO_ICMP);
	close(i);
	close(t);
	close(u);
	assert_false(taken(SOCK_STREAM, LO + 100));
}

/* A range whose last block is only its first port: that block is claimed
 * like the others, and its one port is a place
 */
static void test_tiny_last_block(void **state)
{
	struct ports *p = *state;
	uint32_t i;

	port_free(p);
	assert_int_equal(port_init(p, LO, LO + PORT_BLOCK, 2), 0);
	assert_int_equal(p->nblocks, 2);
	assert_int_equal(port_claim(p, 1), 0);
	assert_int_equal(port_claim(p, 1), 0);
	assert_int_equal(port_nth(p, PORT_TCP, PORT_BLOCK), LO + PORT_BLOCK);
	for (i = PORT_BLOCK + 1; i < 2 * PORT_BLOCK; i++)
		assert_int_equal(port_nth(p, PORT_UDP, i), 0);
	assert_true(held(LO + PORT_BLOCK));
	assert_false(taken(SOCK_STREAM, LO + PORT_BLOCK + 1));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, ports_setup, \
						ports_teardown)
	const struct CMUnitTest tests[] = {
		T(test_init),
		T(test_claim_first),
		T(test_holders_silent),
		T(test_busy_ports),
		T(test_busy_block),
		T(test_claim_all),
		T(test_claim_retry),
		T(test_refs),
		T(test_tick),
		T(test_icmp_holder),
		T(test_hold),
		T(test_tiny_last_block),
	};
#undef T
	if (unit_netns("test_port"))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
