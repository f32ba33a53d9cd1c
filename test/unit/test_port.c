// SPDX-License-Identifier: GPL-2.0-or-later
/* test_port.c - unit tests for port.c: host ports held for flows, claimed
 *		 in blocks
 *
 * Copyright (c) 2026 merd authors
 *
 * port.c binds real sockets. So that the tests never take a port from
 * anything on the machine, the program moves to a network namespace of
 * its own first (unshare(CLONE_NEWNET), as root) and refuses to run any
 * test if it can't; binding to the wildcard address needs no interface,
 * not even loopback up. Whether a port is held is asked of the kernel:
 * binding it from the test must fail with EADDRINUSE, and succeed again
 * once merd let it go.
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "merd.h"
#include "port.h"
#include "unit.h"

/* Three blocks: two whole ones and one of 10 ports (its first, then 9) */
#define LO		40000
#define HI		(LO + 2 * PORT_BLOCK + 9)
#define USABLE		(2 * (PORT_BLOCK - 1) + 9)

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

/* bound_port() - the port a socket is bound to */
static uint16_t bound_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

/* sock_int() - an integer socket option */
static int sock_int(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int v;

	assert_int_equal(getsockopt(fd, SOL_SOCKET, opt, &v, &len), 0);
	return v;
}

/* is_base() - is @port the first port of a block? */
static bool is_base(uint16_t port)
{
	return (port - LO) % PORT_BLOCK == 0;
}

/* ports_setup() - cmocka fixture: the test range, nothing claimed */
static int ports_setup(void **state)
{
	struct ports *p = malloc(sizeof(*p));

	assert_non_null(p);
	assert_int_equal(port_init(p, LO, HI), 0);
	assert_int_equal(p->nblocks, 3);
	assert_int_equal(p->claimed, 0);
	*state = p;
	return 0;
}

/* ports_teardown() - cmocka fixture: give back everything */
static int ports_teardown(void **state)
{
	struct ports *p = *state;
	uint16_t port;

	port_free(p);
	free(p);
	for (port = LO; port <= HI; port += 37)
		assert_false(taken(SOCK_STREAM, port) ||
			     taken(SOCK_DGRAM, port));
	return 0;
}

/* The first flow claims block 0 by its first port, TCP and UDP, and gets
 * the port after it, held by a listening TCP socket
 */
static void test_first(void **state)
{
	struct ports *p = *state;
	int fd = -1;
	uint16_t port;

	assert_false(taken(SOCK_STREAM, LO));
	port = port_alloc(p, PORT_TCP, &fd);
	assert_int_equal(port, LO + 1);
	assert_int_equal(p->claimed, 1);
	assert_true(p->changed);
	assert_true(taken(SOCK_STREAM, LO));
	assert_true(taken(SOCK_DGRAM, LO));
	assert_false(taken(SOCK_STREAM, LO + PORT_BLOCK));

	assert_int_equal(bound_port(fd), port);
	assert_int_equal(sock_int(fd, SO_TYPE), SOCK_STREAM);
	assert_int_equal(sock_int(fd, SO_ACCEPTCONN), 1);
	assert_true(taken(SOCK_STREAM, port));
	assert_false(taken(SOCK_DGRAM, port));

	port_release(p, PORT_TCP, port, fd, 1);
	assert_false(taken(SOCK_STREAM, port));
	assert_true(taken(SOCK_STREAM, LO));	/* the block stays claimed */
}

/* alloc_all() - allocate until none is left, alternating @a and @b;
 * every port distinct, inside the range, never a block's first, held
 *
 * Return: number allocated
 */
static unsigned int alloc_all(struct ports *p, enum port_class a,
			      enum port_class b, int *fds, uint16_t *ports)
{
	static bool seen[65536];
	unsigned int n = 0;

	memset(seen, 0, sizeof(seen));
	for (;;) {
		enum port_class cls = n % 2 ? b : a;
		uint16_t port = port_alloc(p, cls, &fds[n]);

		if (!port)
			break;
		assert_true(port >= LO && port <= HI);
		assert_false(is_base(port));
		assert_false(seen[port]);
		seen[port] = true;
		assert_int_equal(bound_port(fds[n]), port);
		if (sock_int(fds[n], SO_PROTOCOL) != IPPROTO_ICMP)
			assert_true(taken(cls == PORT_TCP ? SOCK_STREAM :
					  SOCK_DGRAM, port));
		ports[n++] = port;
		assert_true(n <= USABLE);
	}
	return n;
}

/* release_all() - let go of what alloc_all() got */
static void release_all(struct ports *p, enum port_class a,
			enum port_class b, const int *fds,
			const uint16_t *ports, unsigned int n, uint32_t now)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		port_release(p, i % 2 ? b : a, ports[i], fds[i], now);
}

/* Every port of every block but the first ones, then no more; TCP and UDP
 * count apart, UDP and ICMP echo identifiers share their numbers
 */
static void test_exhaust(void **state)
{
	struct ports *p = *state;
	static int tfd[USABLE + 1], ufd[USABLE + 1];
	static uint16_t tport[USABLE + 1], uport[USABLE + 1];
	unsigned int nt, nu;
	int fd;

	nt = alloc_all(p, PORT_TCP, PORT_TCP, tfd, tport);
	assert_int_equal(nt, USABLE);
	assert_int_equal(p->claimed, 3);
	assert_int_equal(port_alloc(p, PORT_TCP, &fd), 0);

	nu = alloc_all(p, PORT_UDP, PORT_ICMP, ufd, uport);
	assert_int_equal(nu, USABLE);
	assert_int_equal(port_alloc(p, PORT_UDP, &fd), 0);
	assert_int_equal(port_alloc(p, PORT_ICMP, &fd), 0);
	assert_int_equal(p->claimed, 3);

	release_all(p, PORT_TCP, PORT_TCP, tfd, tport, nt, 1);
	nt = port_alloc(p, PORT_TCP, &fd);
	assert_int_not_equal(nt, 0);
	port_release(p, PORT_TCP, (uint16_t)nt, fd, 1);
	assert_int_equal(port_alloc(p, PORT_UDP, &fd), 0);
	release_all(p, PORT_UDP, PORT_ICMP, ufd, uport, nu, 1);
}

/* UDP and ICMP draw from one space, TCP from its own */
static void test_spaces(void **state)
{
	struct ports *p = *state;
	int fu, fi, ft, fu2;

	assert_int_equal(port_alloc(p, PORT_UDP, &fu), LO + 1);
	assert_int_equal(port_alloc(p, PORT_ICMP, &fi), LO + 2);
	assert_int_equal(port_alloc(p, PORT_TCP, &ft), LO + 1);
	assert_int_equal(port_alloc(p, PORT_UDP, &fu2), LO + 3);
	assert_int_equal(sock_int(ft, SO_TYPE), SOCK_STREAM);
	assert_int_equal(sock_int(fu, SO_TYPE), SOCK_DGRAM);
	assert_int_equal(sock_int(fu, SO_PROTOCOL), IPPROTO_UDP);
	assert_int_equal(sock_int(fi, SO_TYPE), SOCK_DGRAM);
	port_release(p, PORT_UDP, LO + 1, fu, 1);
	port_release(p, PORT_ICMP, LO + 2, fi, 1);
	port_release(p, PORT_TCP, LO + 1, ft, 1);
	port_release(p, PORT_UDP, LO + 3, fu2, 1);
}

/* A port just released isn't handed out again at once: allocation goes
 * round the claimed block, skipping its first port, and wraps; no other
 * block is claimed while this one has room
 */
static void test_cursor(void **state)
{
	struct ports *p = *state;
	uint16_t port, prev;
	unsigned int i;
	int fd;

	/* Whole blocks only (see test_cursor_partial_block()) */
	port_free(p);
	assert_int_equal(port_init(p, LO, LO + 2 * PORT_BLOCK - 1), 0);
	prev = port_alloc(p, PORT_UDP, &fd);
	assert_int_equal(prev, LO + 1);
	port_release(p, PORT_UDP, prev, fd, 1);
	for (i = 0; i < 3 * PORT_BLOCK; i++) {
		port = port_alloc(p, PORT_UDP, &fd);
		assert_int_not_equal(port, prev);
		assert_false(is_base(port));
		if (prev == LO + PORT_BLOCK - 1)
			assert_int_equal(port, LO + 1);	/* wrapped */
		else
			assert_int_equal(port, prev + 1);
		port_release(p, PORT_UDP, port, fd, 1);
		prev = port;
	}
	assert_int_equal(p->claimed, 1);
}

/* A search starting in the last block, partial and not claimed, must
 * still find the free ports of block 0: the cursor sits there after the
 * last port of block 1 was given out
 */
static void test_cursor_partial_block(void **state)
{
	struct ports *p = *state;
	static int fds[2 * PORT_BLOCK];
	static uint16_t ports[2 * PORT_BLOCK];
	int other = bind_test(SOCK_DGRAM, LO + 2 * PORT_BLOCK), fd;
	unsigned int i, n = 0;
	uint16_t port;

	/* Block 2 is another merd's: blocks 0 and 1 fill up */
	assert_true(other >= 0);
	while (n < ARRAY_SIZE(fds) && (port = port_alloc(p, PORT_UDP, &fds[n])))
		ports[n++] = port;
	assert_int_equal(n, 2 * (PORT_BLOCK - 1));
	assert_int_equal(ports[n - 1], LO + 2 * PORT_BLOCK - 1);

	/* Block 0 free again but for its last ten ports */
	for (i = 0; i < PORT_BLOCK - 1 - 10; i++) {
		port_release(p, PORT_UDP, ports[i], fds[i], 1);
		fds[i] = -1;
	}
	port = port_alloc(p, PORT_UDP, &fd);

	if (port)
		port_release(p, PORT_UDP, port, fd, 1);
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			port_release(p, PORT_UDP, ports[i], fds[i], 1);
	close(other);
	if (port != LO + 1)
		fail_msg("port_alloc() gave %u, not %u: a search starting in "
			  "an unclaimed partial last block skips a whole "
			  "block's worth of offsets, past the range's end into "
			  "block 0, and gives up before reaching its free "
			  "ports", port, LO + 1);
}

/* Ports and blocks held by something else are skipped */
static void test_busy(void **state)
{
	struct ports *p = *state;
	int other = bind_test(SOCK_STREAM, LO + 1), other_base, fd, fd2;
	uint16_t port;

	assert_true(other >= 0);
	port = port_alloc(p, PORT_TCP, &fd);
	assert_int_equal(port, LO + 2);
	close(other);
	port_release(p, PORT_TCP, port, fd, 1);
	port_free(p);

	/* Another merd holds block 0: block 1 it is */
	other_base = bind_test(SOCK_DGRAM, LO);
	assert_true(other_base >= 0);
	assert_int_equal(port_init(p, LO, HI), 0);
	port = port_alloc(p, PORT_TCP, &fd);
	assert_int_equal(port, LO + PORT_BLOCK + 1);
	assert_int_equal(p->claimed, 1);
	assert_true(p->blocks[0].fd_tcp < 0);
	port = port_alloc(p, PORT_UDP, &fd2);
	assert_int_equal(port, LO + PORT_BLOCK + 1);
	close(other_base);
	port_release(p, PORT_TCP, LO + PORT_BLOCK + 1, fd, 1);
	port_release(p, PORT_UDP, LO + PORT_BLOCK + 1, fd2, 1);
}

/* A block idle for PORT_BLOCK_IDLE seconds is given back, its first port
 * free again; a used one never is, and the last one is kept
 */
static void test_tick(void **state)
{
	struct ports *p = *state;
	static int fds[PORT_BLOCK];
	static uint16_t ports[PORT_BLOCK];
	struct port_range r[4];
	unsigned int i;

	/* Block 0 full, one port of block 1 */
	for (i = 0; i < PORT_BLOCK; i++) {
		ports[i] = port_alloc(p, PORT_TCP, &fds[i]);
		assert_int_not_equal(ports[i], 0);
	}
	assert_int_equal(ports[PORT_BLOCK - 1], LO + PORT_BLOCK + 1);
	assert_int_equal(p->claimed, 2);
	assert_int_equal(port_ranges(p, r, 4), 1);
	assert_int_equal(r[0].lo, LO);
	assert_int_equal(r[0].hi, LO + 2 * PORT_BLOCK - 1);

	/* Blocks in use stay whatever the time */
	port_tick(p, 100000);
	assert_int_equal(p->claimed, 2);

	port_release(p, PORT_TCP, ports[PORT_BLOCK - 1], fds[PORT_BLOCK - 1],
		     100);
	port_tick(p, 100 + PORT_BLOCK_IDLE - 1);
	assert_int_equal(p->claimed, 2);
	assert_false(p->changed);
	assert_true(taken(SOCK_STREAM, LO + PORT_BLOCK));

	port_tick(p, 100 + PORT_BLOCK_IDLE);
	assert_int_equal(p->claimed, 1);
	assert_true(p->changed);
	assert_false(taken(SOCK_STREAM, LO + PORT_BLOCK));
	assert_false(taken(SOCK_DGRAM, LO + PORT_BLOCK));
	assert_true(taken(SOCK_STREAM, LO));
	assert_int_equal(port_ranges(p, r, 4), 1);
	assert_int_equal(r[0].hi, LO + PORT_BLOCK - 1);

	/* Idle too now, but the last one: kept */
	for (i = 0; i + 1 < PORT_BLOCK; i++)
		port_release(p, PORT_TCP, ports[i], fds[i], 200);
	port_tick(p, 200 + 10 * PORT_BLOCK_IDLE);
	assert_int_equal(p->claimed, 1);
	assert_true(taken(SOCK_STREAM, LO));
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

/* An echo identifier is held by a ping socket where ping sockets are
 * allowed, by a UDP socket on the same number where they aren't; with
 * ping sockets, nothing but port.c keeps the blocks' first numbers out
 */
static void test_icmp_holder(void **state)
{
	struct ports *p = *state;
	static int fds[USABLE + 1];
	static uint16_t ports[USABLE + 1];
	unsigned int n;
	int fd;
	uint16_t port;

	set_ping(false);
	port = port_alloc(p, PORT_ICMP, &fd);
	assert_int_equal(port, LO + 1);
	assert_int_equal(sock_int(fd, SO_PROTOCOL), IPPROTO_UDP);
	assert_true(taken(SOCK_DGRAM, port));
	port_release(p, PORT_ICMP, port, fd, 1);

	set_ping(true);
	port = port_alloc(p, PORT_ICMP, &fd);
	set_ping(false);
	assert_int_equal(port, LO + 2);
	assert_int_equal(sock_int(fd, SO_PROTOCOL), IPPROTO_ICMP);
	assert_int_equal(bound_port(fd), port);
	port_release(p, PORT_ICMP, port, fd, 1);

	set_ping(true);
	n = alloc_all(p, PORT_ICMP, PORT_ICMP, fds, ports);
	set_ping(false);
	assert_int_equal(n, USABLE);
	release_all(p, PORT_ICMP, PORT_ICMP, fds, ports, n, 1);
}

/* A range whose last block is only its first port: that block is never
 * claimed, and the range runs out after block 0
 */
static void test_tiny_last_block(void **state)
{
	struct ports *p = *state;
	static int fds[PORT_BLOCK];
	static uint16_t ports[PORT_BLOCK];
	unsigned int n;
	int fd;

	port_free(p);
	assert_int_equal(port_init(p, LO, LO + PORT_BLOCK), 0);
	assert_int_equal(p->nblocks, 2);
	n = alloc_all(p, PORT_UDP, PORT_UDP, fds, ports);
	assert_int_equal(n, PORT_BLOCK - 1);
	assert_int_equal(port_alloc(p, PORT_TCP, &fd), LO + 1);
	assert_int_equal(p->claimed, 1);
	assert_false(taken(SOCK_STREAM, LO + PORT_BLOCK));
	port_release(p, PORT_TCP, LO + 1, fd, 1);
	release_all(p, PORT_UDP, PORT_UDP, fds, ports, n, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, ports_setup, \
						ports_teardown)
	const struct CMUnitTest tests[] = {
		T(test_first),
		T(test_exhaust),
		T(test_spaces),
		T(test_cursor),
		T(test_cursor_partial_block),
		T(test_busy),
		T(test_tick),
		T(test_icmp_holder),
		T(test_tiny_last_block),
	};
#undef T
	struct rlimit rl;

	/* Never bind a port of the machine's own namespace */
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "test_port: unshare(CLONE_NEWNET): %s: these "
			"tests bind ports and only run in a network namespace "
			"of their own (as root)\n", strerror(errno));
		return 1;
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
