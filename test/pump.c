// SPDX-License-Identifier: GPL-2.0-or-later
/* pump.c - lossless bridge between a tap device and merd's stream socket
 *
 * Copyright (c) 2026 merd authors
 *
 * Usage: pump TAPNAME SOCKPATH
 *
 * Creates tap device TAPNAME in the current network namespace, connects to
 * SOCKPATH and moves frames both ways with blocking I/O, one thread per
 * direction: a full socket blocks the tap reader, and the kernel queues
 * behind it, up to the tap's txqueuelen (the tap driver drops past that
 * rather than make the sender wait, so the tests give it a long queue).
 * This is the "guest" of the tests:
 * the Linux stack of a network namespace behind a tap. qemu's hub does the
 * same job but drops frames under load (doc/design.md, "Test guests").
 *
 * Prints "ready" on stdout once both ends are open; exits when either closes.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

/* Larger than any frame: 64 KiB of IP plus the Ethernet header */
#define FRAME_MAX	(65535 + 14)

/**
 * struct pump - the two descriptors
 * @tap:	tap device
 * @sock:	connected stream socket
 */
struct pump {
	int tap;
	int sock;
};

/**
 * write_all() - write a whole buffer vector, however many calls it takes
 * @fd:		descriptor
 * @iov:	buffers, modified
 * @cnt:	number of buffers
 *
 * Return: 0 on success, -1 on error
 */
static int write_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt) {
		ssize_t n = writev(fd, iov, cnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/**
 * read_all() - read exactly @len bytes
 * @fd:		descriptor
 * @buf:	destination
 * @len:	bytes wanted
 *
 * Return: 0 on success, -1 on error or end of stream
 */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/**
 * tap_to_sock() - thread: frames from the tap, length-prefixed to merd
 * @arg:	struct pump
 *
 * Return: NULL, after exiting the process when the stream ends
 */
static void *tap_to_sock(void *arg)
{
	static uint8_t buf[FRAME_MAX];
	const struct pump *p = arg;

	for (;;) {
		ssize_t n = read(p->tap, buf, sizeof(buf));
		uint32_t hdr;
		struct iovec iov[2];

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;

		hdr = htonl((uint32_t)n);
		iov[0].iov_base = &hdr;
		iov[0].iov_len = sizeof(hdr);
		iov[1].iov_base = buf;
		iov[1].iov_len = (size_t)n;
		if (write_all(p->sock, iov, 2))
			break;
	}
	exit(EXIT_SUCCESS);
}

/**
 * sock_to_tap() - thread: frames from merd to the tap
 * @arg:	struct pump
 *
 * Return: NULL, after exiting the process when the stream ends
 */
static void *sock_to_tap(void *arg)
{
	static uint8_t buf[FRAME_MAX];
	const struct pump *p = arg;

	for (;;) {
		uint32_t len;

		if (read_all(p->sock, &len, sizeof(len)))
			break;
		len = ntohl(len);
		if (len > sizeof(buf)) {
			fprintf(stderr, "pump: frame of %u bytes from merd\n",
				len);
			exit(EXIT_FAILURE);
		}
		if (read_all(p->sock, buf, len))
			break;
		/* A tap write takes a whole frame or fails: never partial */
		while (write(p->tap, buf, len) < 0 && errno == EINTR)
			;
	}
	exit(EXIT_SUCCESS);
}

/**
 * tap_open() - create a tap device
 * @name:	interface name
 *
 * Return: descriptor, exits on failure
 */
static int tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("pump: /dev/net/tun");
		exit(EXIT_FAILURE);
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		perror("pump: TUNSETIFF");
		exit(EXIT_FAILURE);
	}
	return fd;
}

/**
 * sock_open() - connect to merd
 * @path:	socket path
 *
 * Return: descriptor, exits on failure
 */
static int sock_open(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "pump: connect %s: %s\n", path,
			strerror(errno));
		exit(EXIT_FAILURE);
	}
	return fd;
}

/**
 * main() - pump
 * @argc:	argument count
 * @argv:	TAPNAME SOCKPATH
 *
 * Return: 0 when either end closes
 */
int main(int argc, char **argv)
{
	struct pump p;
	pthread_t t;

	if (argc != 3) {
		fprintf(stderr, "Usage: %s TAPNAME SOCKPATH\n", argv[0]);
		return EXIT_FAILURE;
	}

	p.tap = tap_open(argv[1]);
	p.sock = sock_open(argv[2]);
	printf("ready\n");
	fflush(stdout);

	if (pthread_create(&t, NULL, tap_to_sock, &p)) {
		fprintf(stderr, "pump: can't start a thread\n");
		return EXIT_FAILURE;
	}
	sock_to_tap(&p);
	return EXIT_SUCCESS;
}
