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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>

#include "conf.h"
#include "fwd.h"
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
 * nofile_raise() - raise RLIMIT_NOFILE to its hard limit, size the table
 * @c:		context: @flows_max reduced if descriptors can't cover it
 *
 * Each flow holds its host port with a socket (port.c), so the flow table
 * can't be larger than the descriptors merd may open.
 */
static void nofile_raise(struct ctx *c)
{
	/* Descriptors besides flows: stdio, epoll, sockets, port blocks */
	rlim_t spare = 64 + 2 * ((rlim_t)c->ports_hi - c->ports_lo + 1) /
		       PORT_BLOCK;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		warn_perror("can't raise the descriptor limit to %llu",
			    (unsigned long long)rl.rlim_max);

	if (rl.rlim_cur != RLIM_INFINITY &&
	    c->flows_max + spare > rl.rlim_cur) {
		if (rl.rlim_cur <= spare)
			die("descriptor limit %llu too low for any flow",
			    (unsigned long long)rl.rlim_cur);
		warn("flow table cut to %llu flows: the descriptor limit is "
		     "%llu", (unsigned long long)(rl.rlim_cur - spare),
		     (unsigned long long)rl.rlim_cur);
		c->flows_max = (uint32_t)(rl.rlim_cur - spare);
	}
}

/**
 * clock_now() - seconds of the monotonic clock
 *
 * Return: seconds
 */
static uint32_t clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec;
}

/**
 * loop_init() - watch the raw sockets and a one-second timer
 * @c:		context
 */
static void loop_init(struct ctx *c)
{
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	int i;

	for (i = 0; i < RAW_PROTOS; i++)
		if (epoll_add_ref(c, c->raw.fd[i], EPOLLIN, EPOLL_TYPE_RAW, i))
			die("epoll_ctl: %s", strerror(errno));

	c->fd_timer = timerfd_create(CLOCK_MONOTONIC,
				     TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->fd_timer < 0 || timerfd_settime(c->fd_timer, 0, &its, NULL) ||
	    epoll_add(c, c->fd_timer, EPOLLIN, EPOLL_TYPE_TIMER))
		die("can't set up the timer: %s", strerror(errno));
}

/**
 * timer_handler() - once a second: age flows
 * @c:		context
 */
static void timer_handler(struct ctx *c)
{
	uint64_t expirations;

	if (read(c->fd_timer, &expirations, sizeof(expirations)) < 0)
		return;
	fwd_timer(c);
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
		c->now = clock_now();

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
			case EPOLL_TYPE_TIMER:
				timer_handler(c);
				break;
			case EPOLL_TYPE_RAW:
				fwd_raw_handler(c, (enum raw_proto)ref.fd);
				break;
			default:
				break;
			}
		}

		/* Everything queued while handling this batch, in one go */
		tap_flush(c);
		fwd_raw_resume(c);
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

	int ret;

	conf(&c, argc, argv);
	nofile_raise(&c);
	buffers_init(&c);
	signals_block(&sigs);
	c.now = clock_now();
	ret = fwd_init(&c);
	if (ret == -EPERM || ret == -EACCES)
		die("can't open raw sockets: merd needs CAP_NET_RAW");
	if (ret)
		die("can't set up forwarding: %s", strerror(-ret));
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
	loop_init(&c);

	loop(&c);

	tap_sock_cleanup(&c);
	if (*c.pidfile)
		unlink(c.pidfile);
	fwd_cleanup(&c);
	free(c.rx.buf);
	free(c.tx.buf);
	return EXIT_SUCCESS;
}
