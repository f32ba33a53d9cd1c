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
#include <net/if_arp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>

#include "arp.h"
#include "conf.h"
#include "dhcp.h"
#include "dhcpv6.h"
#include "epoll.h"
#include "flowtab.h"
#include "fwd.h"
#include "host.h"
#include "inbound.h"
#include "isolation.h"
#include "ip4.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "ndp.h"
#include "neigh.h"
#include "netlink.h"
#include "pcap.h"
#include "raw.h"
#include "systemd.h"
#include "tap.h"

#define EPOLL_EVENTS	64
/* Large enough for any reply merd builds itself (ARP, DHCP, NDP, DHCPv6:
 * eight search domains of 253 characters and eight DNS servers)
 */
#define REPLY_MAX	4096
/* RFC 4861 6.2.4: the first few unsolicited RAs after the guest comes, at
 * most MAX_INITIAL_RTR_ADVERT_INTERVAL (16 s) apart
 */
#define RA_INITIAL	3
#define RA_INITIAL_INTERVAL	4
/* Descriptors besides port blocks: stdio, epoll, timer, signals, raw
 * sockets, the guest's connection, log and PID files
 */
#define FDS_SPARE	64
/* --pid file: readable by all, as PID files are */
#define PIDFILE_MODE	0644

/**
 * signals_block() - hold back SIGINT, SIGTERM, SIGHUP, SIGUSR1 for a
 *		    signalfd
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
	sigaddset(set, SIGUSR1);
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
	if (fd < 0 || epoll_ref_ctl(c->epollfd, EPOLL_CTL_ADD, fd, EPOLLIN,
				    EPOLL_TYPE_SIGNAL, fd))
		die("can't set up signal handling: %s", strerror(errno));
}

/**
 * signal_handler() - list the flows on SIGUSR1, leave the main loop on a
 *		      termination signal
 * @c:		context
 * @fd:		signalfd
 */
static void signal_handler(struct ctx *c, int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR1) {
		flowtab_log(c);
		return;
	}
	info("signal %u received, exiting", si.ssi_signo);
	c->quit = true;
}

/**
 * pidfile_write() - write a process ID to the --pid file
 * @c:		context
 * @pid:	process ID
 *
 * A symbolic link is refused (ELOOP), never followed. The file stays its
 * creator's: were it the user's merd serves as (nobody), any process of
 * that user could change it, and have whoever reads it signal another
 * process.
 *
 * Return: 0 on success (or no --pid), -1 with errno set
 */
static int pidfile_write(const struct ctx *c, pid_t pid)
{
	int fd;

	if (!*c->opts.pidfile)
		return 0;
	fd = open(c->opts.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		  O_CLOEXEC, PIDFILE_MODE);
	if (fd < 0)
		return -1;
	if (dprintf(fd, "%d\n", pid) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/**
 * pidfile_why() - what to say when the --pid file couldn't be written
 * @e:		errno of pidfile_write()
 *
 * Return: a reason for the user, the kernel's but for a symbolic link
 */
static const char *pidfile_why(int e)
{
	if (e == ELOOP)
		return "it is a symbolic link, which merd never follows";
	return strerror(e);
}

/**
 * pidfile_dir_open() - keep the --pid file's directory at hand
 * @c:		context
 *
 * Once isolated, merd has no filesystem: the file is removed at exit
 * through this descriptor, where merd's user may remove it.
 */
static void pidfile_dir_open(struct ctx *c)
{
	char dir[PATH_MAX];
	const char *slash;

	if (!*c->opts.pidfile)
		return;
	slash = strrchr(c->opts.pidfile, '/');
	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else {
		snprintf(dir, sizeof(dir), "%.*s",
			 (int)(slash - c->opts.pidfile + 1), c->opts.pidfile);
	}
	c->fd_piddir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/**
 * pidfile_remove() - remove the --pid file at exit, where merd may
 * @c:		context
 *
 * A merd that started as root and serves as nobody can't, in a directory
 * only root writes: the file is left, and the next start rewrites it.
 */
static void pidfile_remove(const struct ctx *c)
{
	const char *slash = strrchr(c->opts.pidfile, '/');

	if (c->fd_piddir < 0 ||
	    !unlinkat(c->fd_piddir, slash ? slash + 1 : c->opts.pidfile, 0))
		return;
	debug("PID file %s left: %s", c->opts.pidfile, strerror(errno));
}

/**
 * daemonise() - go to the background, detached from the terminal
 * @c:		context
 *
 * The parent waits until the daemon serves (isolated, its loop about to
 * run: it writes a byte to @c->fd_ready then), writes the PID file and
 * exits with status 0; if the daemon ends first, with status 1. So whoever
 * started merd (libvirt) finds it serving once it returns.
 */
static void daemonise(struct ctx *c)
{
	int fd, ready[2];
	char byte;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC))
		die("can't make a pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("can't fork: %s", strerror(errno));
	if (pid > 0) {
		close(ready[1]);
		if (read(ready[0], &byte, 1) != 1)
			die("merd stopped before serving (see the system log)");
		if (pidfile_write(c, pid)) {
			int e = errno;

			kill(pid, SIGTERM);
			die("can't write PID file %s: %s", c->opts.pidfile,
			    pidfile_why(e));
		}
		_exit(EXIT_SUCCESS);
	}

	close(ready[0]);
	c->fd_ready = ready[1];
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
 * nofile_raise() - raise RLIMIT_NOFILE to its hard limit, and say how many
 *		    port blocks it leaves room for
 * @c:		context
 *
 * Each port of a claimed block is held by sockets (port.c): descriptors
 * grow with the ports in use, never with the flows; each forwarded port
 * takes one more.
 *
 * Return: most port blocks merd may claim at once
 */
static uint32_t nofile_raise(const struct ctx *c)
{
	uint32_t need = ((uint32_t)c->opts.ports_hi - c->opts.ports_lo +
			 PORT_BLOCK) / PORT_BLOCK;
	rlim_t held = (rlim_t)fwdrule_ports(&c->fwd.rules, IPPROTO_TCP) +
		      fwdrule_ports(&c->fwd.rules, IPPROTO_UDP);
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		warn_perror("can't raise the descriptor limit to %llu",
			    (unsigned long long)rl.rlim_max);

	if (rl.rlim_cur == RLIM_INFINITY)
		return need;
	/* Forwarded ports are each held by a socket for merd's lifetime: all
	 * of them, or merd doesn't start
	 */
	if (rl.rlim_cur < FDS_SPARE + PORT_BLOCK_FDS + held)
		die("descriptor limit %llu too low: merd needs %llu, for "
		    "%llu forwarded ports and a block of ports for flows "
		    "(ulimit -n)", (unsigned long long)rl.rlim_cur,
		    (unsigned long long)(FDS_SPARE + PORT_BLOCK_FDS + held),
		    (unsigned long long)held);
	room = (rl.rlim_cur - FDS_SPARE - held) / (rlim_t)PORT_BLOCK_FDS;
	if (room < need)
		warn("--ports %u-%u cut to %llu blocks of %u: the descriptor "
		     "limit is %llu", c->opts.ports_lo, c->opts.ports_hi,
		     (unsigned long long)room, PORT_BLOCK,
		     (unsigned long long)rl.rlim_cur);
	return (uint32_t)MIN(room, (rlim_t)need);
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
 * loop_init() - watch the raw sockets, the host's changes, the next hops
 *		 and a timer
 * @c:		context
 *
 * What changed on the host between conf() and the netlink subscription is
 * read once more after it.
 */
static void loop_init(struct ctx *c)
{
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	int i, ret;

	for (i = 0; i < RAW_PROTOS; i++) {
		if (epoll_ref_ctl(c->epollfd, EPOLL_CTL_ADD, c->fwd.raw.fd[i],
				  EPOLLIN, EPOLL_TYPE_RAW, i))
			die("epoll_ctl: %s", strerror(errno));
		if (c->fwd.raw.fd6[i] >= 0 &&
		    epoll_ref_ctl(c->epollfd, EPOLL_CTL_ADD, c->fwd.raw.fd6[i],
				  EPOLLIN, EPOLL_TYPE_RAW, RAW_PROTOS + i))
			die("epoll_ctl: %s", strerror(errno));
	}

	c->fd_nl = nl_monitor_open();
	if (c->fd_nl < 0 ||
	    epoll_ref_ctl(c->epollfd, EPOLL_CTL_ADD, c->fd_nl, EPOLLIN,
			  EPOLL_TYPE_NETLINK, c->fd_nl))
		die("can't follow the host's network changes: %s",
		    strerror(c->fd_nl < 0 ? -c->fd_nl : errno));
	ret = neigh_init(c);
	if (ret)
		warn("can't follow the next hops' addresses, everything goes "
		     "through the raw sockets: %s", strerror(-ret));
	if (host_update(c))
		warn("can't read the host's network configuration again");

	c->fd_timer = timerfd_create(CLOCK_MONOTONIC,
				     TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->fd_timer < 0 || timerfd_settime(c->fd_timer, 0, &its, NULL) ||
	    epoll_ref_ctl(c->epollfd, EPOLL_CTL_ADD, c->fd_timer, EPOLLIN,
			  EPOLL_TYPE_TIMER, c->fd_timer))
		die("can't set up the timer: %s", strerror(errno));
}

/**
 * ra_timer() - send the guest an unsolicited router advertisement when due
 * @c:		context
 *
 * RFC 4861 6.2.4: a few at first, then at random intervals between
 * MinRtrAdvInterval and MaxRtrAdvInterval, to ff02::1.
 */
static void ra_timer(struct ctx *c)
{
	uint8_t frame[REPLY_MAX];
	uint32_t rnd = 0;
	size_t len;

	if (!c->guest6.enabled || c->opts.no_ra || !tap_connected(c) ||
	    (int32_t)(c->now - c->ra_next) < 0)
		return;
	len = ndp_ra_all(c, frame, sizeof(frame));
	if (len)
		tap_send(c, frame, len);
	if (c->ra_initial) {
		c->ra_initial--;
		c->ra_next = c->now + RA_INITIAL_INTERVAL;
		return;
	}
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
		rnd = c->now;
	c->ra_next = ndp_ra_next(c->now, rnd);
}

/**
 * guest6_learn() - remember an address the guest sends from
 * @c:		context
 * @a:		source of an IPv6 packet from the guest
 *
 * NDP never answers for these (the guest's own), and merd never forwards
 * to them. Most recent first; the oldest is forgotten.
 */
static void guest6_learn(struct ctx *c, const struct in6_addr *a)
{
	struct guest6 *g = &c->guest6;
	int i;

	if (IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_MULTICAST(a) ||
	    IN6_ARE_ADDR_EQUAL(a, &g->addr) || IN6_ARE_ADDR_EQUAL(a, &g->gw))
		return;
	for (i = 0; i < g->own_n; i++)
		if (IN6_ARE_ADDR_EQUAL(a, &g->own[i]))
			return;
	if (g->own_n < GUEST6_OWN_MAX)
		g->own_n++;
	memmove(&g->own[1], &g->own[0],
		sizeof(g->own[0]) * (size_t)(g->own_n - 1));
	g->own[0] = *a;
}

/**
 * guest4_learn_arp() - note that the guest has its IPv4 address, if an ARP
 *			packet of its says so
 * @c:		context
 * @arp:	ARP packet from the guest, untrusted
 *
 * An announcement or a request from the address (RFC 5227 2.3) means the
 * guest configured it, whether or not it asked merd's DHCP.
 */
static void guest4_learn_arp(struct ctx *c, struct pkt arp)
{
	struct arphdr ah;
	uint32_t spa;

	if (pkt_get(arp, 0, &ah, sizeof(ah)) && ah.ar_hln == ETH_ALEN &&
	    ah.ar_pln == sizeof(spa) &&
	    pkt_get(arp, sizeof(ah) + ETH_ALEN, &spa, sizeof(spa)) &&
	    spa == c->guest4.addr.s_addr)
		c->guest4.bound = true;
}

/**
 * guest_forget() - the guest went away: forget its flows and addresses
 * @c:		context
 */
static void guest_forget(struct ctx *c)
{
	fwd_forget(c);
	c->guest4.bound = false;
	c->guest6.bound = false;
	c->guest6.own_n = 0;
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
	ra_timer(c);
}

/**
 * frame_ip4() - handle an IPv4 packet from the guest
 * @c:		context
 * @l3:		bytes after the Ethernet header
 * @reply:	buffer for a reply frame
 * @size:	size of @reply
 *
 * Return: length of the reply frame in @reply, 0 for none
 */
static size_t frame_ip4(struct ctx *c, struct pkt l3, uint8_t *reply,
			size_t size)
{
	struct ip_view ip;

	if (!c->guest4.enabled)
		return 0;
	if (ip4_parse(l3, &ip)) {
		drop(c, DROP_MALFORMED, "tap: malformed IPv4 packet, dropped");
		return 0;
	}

	if (dhcp_for_server(c, &ip)) {
		bool acked = false;
		size_t len = dhcp(c, &ip, reply, size, &acked);

		/* A lease of the current identity: renewals are fine again */
		if (acked) {
			c->guest4.bound = true;
			c->guest4.renumbered = false;
		}
		return len;
	}

	if (inany_v4(&ip.src) == c->guest4.addr.s_addr)
		c->guest4.bound = true;
	fwd_from_guest(c, &ip);
	return 0;
}

/**
 * frame_ip6() - handle an IPv6 packet from the guest
 * @c:		context
 * @l3:		bytes after the Ethernet header
 * @reply:	buffer for a reply frame
 * @size:	size of @reply
 *
 * Return: length of the reply frame in @reply, 0 for none
 */
static size_t frame_ip6(struct ctx *c, struct pkt l3, uint8_t *reply,
			size_t size)
{
	struct in6_addr dad;
	struct ip_view ip;
	size_t rlen = 0;
	int ret;

	if (!c->guest6.enabled)
		return 0;
	ret = ip6_parse(l3, &ip);
	if (ret) {
		drop(c, DROP_MALFORMED, "tap: %s IPv6 packet, dropped",
		     ret == IP6_E_UNSAFE ? "unforwardable" : "malformed");
		return 0;
	}
	guest6_learn(c, &ip.src.a6);
	if (ndp_dad_target(c, &ip, &dad))
		guest6_learn(c, &dad);
	else
		dad = ip.src.a6;
	if (IN6_ARE_ADDR_EQUAL(&dad, &c->guest6.addr))
		c->guest6.bound = true;

	if (ndp(c, &ip, reply, size, &rlen))
		return rlen;
	if (dhcpv6_for_server(c, &ip))
		return dhcpv6(c, &ip, reply, size);
	if (IN6_IS_ADDR_MULTICAST(&ip.dst.a6))
		return 0;	/* MLD, mDNS, and the like: not routed */
	fwd_from_guest(c, &ip);
	return 0;
}

/**
 * frame_handler() - handle one Ethernet frame from the guest
 * @c:		context
 * @frame:	frame, any alignment, untrusted
 * @len:	its length, at least TAP_FRAME_MIN
 */
static void frame_handler(struct ctx *c, const uint8_t *frame, size_t len)
{
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
						 0xff, 0xff, 0xff };
	uint8_t reply[REPLY_MAX];
	struct pkt f = { frame, len }, l3;
	struct ethhdr eh;
	size_t rlen = 0;

	if (!pkt_get(f, 0, &eh, sizeof(eh)) || !pkt_tail(f, ETH_HLEN, &l3))
		return;

	/* Ours, broadcast, or IPv6 multicast (RFC 2464 7: 33:33:...) */
	if (memcmp(eh.h_dest, c->link.mac, ETH_ALEN) != 0 &&
	    memcmp(eh.h_dest, bcast, ETH_ALEN) != 0 &&
	    !(eh.h_dest[0] == 0x33 && eh.h_dest[1] == 0x33)) {
		drop(c, DROP_NOT_OURS, "tap: frame not for us, dropped");
		return;
	}
	tap_learn_mac(c, eh.h_source);

	switch (ntohs(eh.h_proto)) {
	case ETH_P_ARP:
		if (!c->guest4.enabled)	/* no IPv4 (yet): no neighbours */
			break;
		guest4_learn_arp(c, l3);
		rlen = arp(c, f, reply, sizeof(reply));
		break;
	case ETH_P_IP:
		rlen = frame_ip4(c, l3, reply, sizeof(reply));
		break;
	case ETH_P_IPV6:
		rlen = frame_ip6(c, l3, reply, sizeof(reply));
		break;
	default:
		drop(c, DROP_REFUSED, "tap: EtherType 0x%04x not handled",
		     ntohs(eh.h_proto));
		break;
	}

	if (rlen)
		tap_send(c, reply, rlen);
}

/* What the loop does with what the guest sends: frames are dispatched,
 * and once a batch of them is done with, the packets queued toward the
 * network (which point into it) are sent
 */
static const struct tap_ops merd_tap_ops = {
	.frame = frame_handler,
	.batch = fwd_flush,
};

/**
 * loop_dispatch() - handle one epoll event
 * @c:		context
 * @ev:		the event
 */
static void loop_dispatch(struct ctx *c, const struct epoll_event *ev)
{
	union epoll_ref ref = { .u64 = ev->data.u64 };

	switch (ref.type) {
	case EPOLL_TYPE_LISTEN:
		tap_listen_handler(c, &merd_tap_ops);
		if (tap_connected(c)) {
			c->ra_next = c->now;	/* RAs for the new guest */
			c->ra_initial = RA_INITIAL;
		}
		break;
	case EPOLL_TYPE_TAP:
		if (ref.id == c->tap.fd)
			tap_handler(c, ev->events, &merd_tap_ops);
		break;
	case EPOLL_TYPE_SIGNAL:
		signal_handler(c, ref.id);
		break;
	case EPOLL_TYPE_TIMER:
		timer_handler(c);
		break;
	case EPOLL_TYPE_RAW:
		raw_handler(c, (unsigned int)ref.id, fwd_from_host);
		break;
	case EPOLL_TYPE_NETLINK:
		host_handler(c);
		break;
	case EPOLL_TYPE_NEIGH:
		neigh_handler(c);
		break;
	default:
		break;
	}
	/* The guest went away: so do its flows */
	if (tap_gone(c))
		guest_forget(c);
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

		for (i = 0; i < n; i++)
			loop_dispatch(c, &events[i]);

		/* Everything queued while handling this batch, in one go */
		tap_flush(c);
		pcap_flush(&c->pcap, c->now);
		if (tap_gone(c))
			guest_forget(c);
		raw_resume(c);
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
	struct ctx c = { .tap = { .fd_listen = -1, .fd = -1 }, .epollfd = -1,
			 .fd_nl = -1, .fd_notify = -1, .fd_ready = -1,
			 .fd_piddir = -1, .neigh = { .fd = -1 } };
	uint32_t max_blocks;
	sigset_t sigs;
	int ret;

	conf(&c, argc, argv);
	max_blocks = nofile_raise(&c);
	if (tap_init(&c))
		die("can't allocate buffers: %s", strerror(ENOMEM));
	signals_block(&sigs);
	c.now = clock_now();
	ret = fwd_init(&c, max_blocks);
	if (ret == -EPERM || ret == -EACCES)
		die("can't open raw sockets: merd needs CAP_NET_RAW");
	if (ret)
		die("can't set up forwarding: %s", strerror(-ret));
	inbound_init(&c);
	ret = fwd_ports_init(&c);
	if (ret == -EACCES && c.opts.ports_lo < IPPORT_RESERVED)
		die("can't hold host ports %u-%u: below %u merd needs "
		    "CAP_NET_BIND_SERVICE", c.opts.ports_lo, c.opts.ports_hi,
		    IPPORT_RESERVED);
	if (ret == -ENOSPC)
		die("no block of host ports %u-%u is free: other programs, or "
		    "other merds, hold them (see --ports)", c.opts.ports_lo,
		    c.opts.ports_hi);
	if (ret)
		die("can't hold host ports: %s", strerror(-ret));
	tap_sock_init(&c);

	if (c.opts.fd >= 0)
		info("serving %s", c.opts.sock_path);
	else
		info("listening on %s", c.opts.sock_path);
	conf_print(&c);

	pidfile_dir_open(&c);
	if (c.opts.foreground) {
		if (pidfile_write(&c, getpid()))
			die("can't write PID file %s: %s", c.opts.pidfile,
			    pidfile_why(errno));
	} else {
		daemonise(&c);
		log_init(c.opts.debug, true);
	}

	/* Only now: a signalfd added to epoll before fork() would keep
	 * waking the parent's wait queue, and the child would never see its
	 * signals
	 */
	c.epollfd = epoll_create1(EPOLL_CLOEXEC);
	if (c.epollfd < 0)
		die("epoll_create1: %s", strerror(errno));
	signals_init(&c, &sigs);
	if (c.tap.fd_listen >= 0 &&
	    epoll_ref_ctl(c.epollfd, EPOLL_CTL_ADD, c.tap.fd_listen, EPOLLIN,
			  EPOLL_TYPE_LISTEN, c.tap.fd_listen))
		die("epoll_ctl: %s", strerror(errno));
	if (c.opts.fd >= 0 && tap_adopt(&c, c.opts.fd))
		die("can't serve --fd %d", c.opts.fd);
	loop_init(&c);
	c.fd_notify = sd_notify_open();
	isolate(&c);

	sd_notify_state(c.fd_notify, "READY=1");
	if (c.fd_ready >= 0) {	/* the parent waits for this (daemonise()) */
		if (write(c.fd_ready, "", 1) != 1)
			die("can't tell the parent merd serves");
		close(c.fd_ready);
	}
	loop(&c);
	sd_notify_state(c.fd_notify, "STOPPING=1");

	tap_sock_cleanup(&c);
	pidfile_remove(&c);
	fwd_cleanup(&c);
	neigh_close(&c);
	pcap_close(&c.pcap);
	tap_free(&c);
	return EXIT_SUCCESS;
}
