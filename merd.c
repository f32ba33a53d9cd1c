// SPDX-License-Identifier: GPL-2.0-or-later
/* merd.c - MacVTap Egress and Routing Daemon: start-up and the main loop
 *
 * Copyright (c) 2026 merd authors
 *
 * One process per guest, one epoll loop, one struct ctx. See doc/design.md
 * for how a frame travels through the units.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "conf.h"
#include "log.h"
#include "merd.h"
#include "tap.h"

#define EPOLL_EVENTS	64

/**
 * signals_block() - hold back SIGINT, SIGTERM, SIGHUP for a signalfd
 * @set:	filled with the signals held
 *
 * Called before the socket exists, so that a signal can't end merd before
 * it is able to remove the socket file.
 */
static void signals_block(sigset_t *set)
{
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, set, NULL))
		die("can't block signals: %s", strerror(errno));
}

/**
 * signals_init() - take the held signals through a signalfd in the loop
 * @c:		context
 * @set:	signals held by signals_block()
 */
static void signals_init(const struct ctx *c, const sigset_t *set)
{
	int fd;

	fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0 || epoll_add(c, fd, EPOLLIN, EPOLL_TYPE_SIGNAL))
		die("can't set up signal handling: %s", strerror(errno));
}

/**
 * signal_handler() - leave the main loop on a termination signal
 * @c:		context
 * @fd:		signalfd
 */
static void signal_handler(struct ctx *c, int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	info("signal %u received, exiting", si.ssi_signo);
	c->quit = true;
}

/**
 * pidfile_write() - write a process ID to the --pid file
 * @c:		context
 * @pid:	process ID
 *
 * Return: 0 on success (or no --pid), -1 with errno set
 */
static int pidfile_write(const struct ctx *c, pid_t pid)
{
	FILE *f;

	if (!*c->pidfile)
		return 0;
	f = fopen(c->pidfile, "we");
	if (!f)
		return -1;
	if (fprintf(f, "%d\n", pid) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/**
 * daemonise() - go to the background, detached from the terminal
 * @c:		context
 *
 * The parent writes the PID file before it exits, so that whoever started
 * merd finds it as soon as the command returns.
 */
static void daemonise(const struct ctx *c)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		die("can't fork: %s", strerror(errno));
	if (pid > 0) {
		if (pidfile_write(c, pid)) {
			int e = errno;

			kill(pid, SIGTERM);
			die("can't write PID file %s: %s", c->pidfile,
			    strerror(e));
		}
		_exit(EXIT_SUCCESS);
	}

	if (setsid() < 0)
		die("can't start a new session: %s", strerror(errno));

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("can't open /dev/null: %s", strerror(errno));
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	if (chdir("/"))
		warn_perror("chdir /");
}

/**
 * buffers_init() - allocate the stream buffers, once, before the loop
 * @c:		context
 */
static void buffers_init(struct ctx *c)
{
	c->rx.size = TAP_RX_BATCH + TAP_HDR_LEN + TAP_FRAME_MAX;
	c->rx.buf = malloc(c->rx.size);
	if (!c->rx.buf || tap_tx_init(&c->tx, TAP_TX_QUEUE))
		die("can't allocate buffers: %s", strerror(ENOMEM));
}

/**
 * loop() - wait for events and dispatch them until told to quit
 * @c:		context
 */
static void loop(struct ctx *c)
{
	struct epoll_event events[EPOLL_EVENTS];

	while (!c->quit) {
		int n, i;

		n = epoll_wait(c->epollfd, events, EPOLL_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}

		for (i = 0; i < n; i++) {
			union epoll_ref ref = { .u64 = events[i].data.u64 };

			switch (ref.type) {
			case EPOLL_TYPE_LISTEN:
				tap_listen_handler(c);
				break;
			case EPOLL_TYPE_TAP:
				if (ref.fd == c->fd_tap)
					tap_handler(c, events[i].events);
				break;
			case EPOLL_TYPE_SIGNAL:
				signal_handler(c, ref.fd);
				break;
			default:
				break;
			}
		}

		/* Everything queued while handling this batch, in one go */
		tap_flush(c);
	}
}

/**
 * main() - set up from the command line and the host, then serve the guest
 * @argc:	argument count
 * @argv:	options
 *
 * Return: 0 on a clean exit, 1 on any error
 */
int main(int argc, char **argv)
{
	struct ctx c = { .fd_listen = -1, .fd_tap = -1, .epollfd = -1 };
	sigset_t sigs;

	conf(&c, argc, argv);
	buffers_init(&c);
	signals_block(&sigs);
	tap_sock_init(&c);

	info("listening on %s", c.sock_path);
	conf_print(&c);

	if (c.foreground) {
		if (pidfile_write(&c, getpid()))
			die("can't write PID file %s: %s", c.pidfile,
			    strerror(errno));
	} else {
		daemonise(&c);
		log_init(c.debug, true);
	}

	/* Only now: a signalfd added to epoll before fork() would keep
	 * waking the parent's wait queue, and the child would never see its
	 * signals
	 */
	c.epollfd = epoll_create1(EPOLL_CLOEXEC);
	if (c.epollfd < 0)
		die("epoll_create1: %s", strerror(errno));
	signals_init(&c, &sigs);
	if (epoll_add(&c, c.fd_listen, EPOLLIN, EPOLL_TYPE_LISTEN))
		die("epoll_ctl: %s", strerror(errno));

	loop(&c);

	tap_sock_cleanup(&c);
	if (*c.pidfile)
		unlink(c.pidfile);
	free(c.rx.buf);
	free(c.tx.buf);
	return EXIT_SUCCESS;
}
