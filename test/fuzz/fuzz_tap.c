// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_tap.c - libFuzzer harness: a qemu stream through tap.c and merd.c
 *
 * Copyright (c) 2026 merd authors
 *
 * The input is a control header followed by the bytes qemu would write on
 * merd's socket:
 *
 *   byte 0	flags:
 *		  bits 0-1  guest configuration (fuzz_guest_conf(); IPv6
 *			    served but with the smallest MTU,
 *			    fuzz_guest6_conf())
 *		  bits 2-3  transmit ring size: merd's TAP_TX_QUEUE, or a
 *			    small ring that fills and wraps around
 *		  bit 4	    small send buffer on merd's end of the
 *			    connection, so that writes are partial and the
 *			    ring wraps
 *		  bit 5	    correct the IPv4 and UDP checksums of each frame
 *			    in merd's receive buffer, or its IPv6 transport
 *			    checksum, before the dispatcher sees it (a
 *			    guest can send those frames too: this only gets
 *			    the fuzzer past the checksums)
 *		  bits 6-7  a slow guest: it reads what merd wrote after
 *			    every 1, 4 or 64 flushes, or only at the end, so
 *			    that the socket fills, writes are partial and the
 *			    ring wraps
 *   bytes 1-8	four write sizes, 16-bit little-endian, used in turn: the
 *		guest writes the stream in pieces of these sizes (0: all
 *		that is left), and merd reads each before the next comes
 *   bytes 9-	the stream: frames, each after its 32-bit big-endian length
 *
 * MUST RUN IN A PRIVATE NETWORK NAMESPACE WITH ONLY LOOPBACK: IPv4 that
 * isn't DHCP, and IPv6 that isn't NDP, MLD or DHCPv6, goes to
 * fwd_from_guest(), which sends it on raw sockets.
 * fuzz_netns_check() aborts otherwise; run.sh runs it under `unshare -n`.
 * There, sends to anything but the gateway (mapped to the host's
 * loopback) fail with ENETUNREACH and draw ICMP errors.
 *
 * Forwarding is set up once, as merd.c's main() does (fwd_init(),
 * fwd_ports_init(), with a small flow table), reset between inputs
 * (fuzz_fwd_reset()); what the raw sockets receive is thrown away.
 *
 * Each input is one connection, made as qemu makes it: the harness
 * connects to a listening socket (an abstract AF_UNIX address), and
 * tap_listen_handler() accepts it into the epoll set. Then the real
 * tap_handler() reads each piece and hands the frames to the harness's
 * struct tap_ops. What a frame means is merd.c's business: its static
 * frame_handler() and merd_tap_ops, compiled in here (fuzz_merd.h) so that
 * the very dispatcher merd runs (ARP, DHCP, NDP, DHCPv6, forwarding of
 * both families) is fuzzed, not a copy; the harness's ops call
 * merd_tap_ops' around their checks. The
 * main loop's tap_flush() follows each piece. At the end the guest reads
 * all merd queued, then hangs up: tap_handler() with EPOLLRDHUP must read
 * the end of the stream and close, tap_gone() say so once, and the flows
 * are forgotten (fwd_forget(), as merd.c's loop does). A framing error
 * closes the connection from merd's side instead.
 *
 * merd's receive buffer is poisoned for AddressSanitizer but for the bytes
 * it holds and those a read is about to bring, so that tap_parse() reading
 * past what was received is caught.
 *
 * Checks, on top of the sanitisers. The harness parses the stream itself:
 * the frames handed to the dispatcher must be exactly the stream's, whole,
 * in order, each in the receive buffer within the bytes held, counted by
 * tap.c; the connection must close for a framing error (a length out of
 * TAP_FRAME_MIN..TAP_FRAME_MAX) if, and only if, there is one in what was
 * sent, after every frame before it; what is left unparsed at the end
 * must be exactly the partial frame that follows. For each ARP, DHCP,
 * NDP or DHCPv6 frame, the harness works out on its own whether merd must
 * answer it (fuzz_frame_in(), fuzz_is_dhcp(), ip6_parse()) and the reply
 * it must queue (with the real arp(), dhcp(), ndp() and dhcpv6()): the
 * ring must grow by exactly that frame and its
 * length, or count a drop if, and only if, it is full. Frames that go to
 * forwarding, and the end of a batch (fwd_flush()), may queue anything
 * (resets, ICMP errors) or drop it: the frames the ring grew by are
 * checked (IPv4 or IPv6 from our MAC to the guest's, or broadcast until
 * it is known, ip4_parse() or ip6_parse() passes, at most the guest's
 * MTU) and expected too. The guest must receive exactly the frames
 * queued, byte for byte, in order, across wrap-arounds of the ring and
 * partial writes, each an ARP reply of 60 bytes, a DHCP or DHCPv6 reply no
 * larger than merd's reply buffer or a valid IPv4 or IPv6 packet no
 * larger than the guest's MTU; EPOLLOUT must be
 * armed exactly while merd has bytes it couldn't write.
 */

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "arp.h"
#include "csum.h"
#include "dhcp.h"
#include "dhcpv6.h"
#include "fwd.h"
#include "ip.h"
#include "ip4.h"
#include "ip6.h"
#include "ndp.h"
#include "log.h"
#include "merd.h"
#include "pkt.h"
#include "tap.h"

#include "fuzz_common.h"
#include "fuzz_merd.h"

/* Largest frame forwarding can queue: the largest guest MTU */
#define FUZZ_FRAME_MAX	(ETH_HLEN + MTU_MAX)

#define CTL_LEN		9
#define CTL_CONF(f)	((f) & 3)
#define CTL_RING(f)	(((f) >> 2) & 3)
#define CTL_SMALL_SNDBUF 0x10
#define CTL_FIX_CSUMS	0x20
#define CTL_READ(f)	((f) >> 6)

#define NCONF		4
#define NRING		4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)	fuzz_fail("fuzz_tap: invariant broken: " __VA_ARGS__)

/* Transmit ring sizes: merd's, and three small ones that fill up. A write
 * to an AF_UNIX stream socket with the smallest send buffer takes about two
 * 2 KiB buffers at most, and only a larger write can be partial, move the
 * head of the ring and so make frames wrap around its end: 6007 and 9001
 * bytes do, with a slow guest. 128 bytes hold two ARP replies exactly, for
 * the check that a reply is dropped only if it doesn't fit.
 */
static const size_t ring_size[NRING] = {
	TAP_TX_QUEUE,
	6007,
	9001,
	2 * (TAP_HDR_LEN + ETH_FRAME_MIN),
};

/* The guest reads after this many flushes: UINT_MAX is only at the end */
static const unsigned int read_every[4] = { 1, 4, 64, UINT_MAX };

/**
 * struct fuzz_state - allocated once, reset for each input
 * @c:		context, forwarding set up once
 * @confs:	guest configurations
 * @tx:		transmit rings, one per size
 * @addr:	the listening socket's address
 * @addr_len:	its length
 * @peer:	the guest's end of the current connection
 * @s:		the stream of the current input
 * @slen:	its length
 * @sent:	bytes of it the guest wrote so far
 * @next:	offset in it of the next frame's length field, as the harness
 *		parses the stream
 * @out:	what the guest received, not yet split into frames
 * @out_len:	bytes in @out
 * @fix:	correct checksums before the dispatcher
 * @bounds:	frames of TAP_FRAME_MIN or TAP_FRAME_MAX bytes handed on
 * @frames:	frames handed to the dispatcher for the current input
 * @exp:	what the guest must receive: frames queued, with their lengths
 * @exp_head:	offset in @exp of the next byte the guest must receive
 * @exp_len:	end of what @exp holds
 * @grown:	frames the ring grew by, copied out of it
 */
static struct fuzz_state {
	struct ctx c;
	struct fuzz_guest confs[NCONF];
	struct tap_tx tx[NRING];
	struct sockaddr_un addr;
	socklen_t addr_len;
	int peer;
	const uint8_t *s;
	size_t slen;
	size_t sent;
	size_t next;
	uint8_t out[2 * (TAP_HDR_LEN + FUZZ_FRAME_MAX)];
	size_t out_len;
	bool fix;
	unsigned long bounds;
	unsigned long frames;
	uint8_t *exp;
	size_t exp_head;
	size_t exp_len;
	uint8_t *grown;
} st;

/* Bytes queued in a ring, plus one frame partly written to the socket */
#define EXP_SIZE	(TAP_TX_QUEUE + 2 * (TAP_HDR_LEN + FUZZ_FRAME_MAX))

static const struct tap_ops fuzz_ops;

/**
 * LLVMFuzzerInitialize() - check the namespace, quiet logging
 * @argc:	unused
 * @argv:	unused
 *
 * Forwarding is set up with the first input (setup()): libFuzzer calls
 * this in a -merge=1 run's controlling process too, which runs no input
 * and must hold no port the process running them needs.
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init("fuzz_tap", true);
	return 0;
}

/**
 * setup() - set forwarding up as merd does, and the rest, once
 */
static void setup(void)
{
	struct ctx *c = &st.c;
	int i;

	for (i = 0; i < NCONF; i++) {
		fuzz_guest_conf(&st.confs[i], i);
		if (st.confs[i].link.mtu >= IP6_MTU_MIN)
			fuzz_guest6_conf(&st.confs[i], i % 2);
	}
	fuzz_fwd_setup(c, &st.confs[0]);

	for (i = 0; i < NRING; i++) {
		if (!i)
			st.tx[i] = c->tap.tx;	/* tap_init()'s */
		else if (tap_tx_init(&st.tx[i], ring_size[i]))
			abort();
	}
	st.exp = malloc(EXP_SIZE);
	st.grown = malloc(TAP_TX_QUEUE);
	if (!st.exp || !st.grown)
		abort();
	POISON(c->tap.rx.buf, c->tap.rx.size);

	/* The socket qemu connects to, in the abstract namespace */
	st.addr.sun_family = AF_UNIX;
	snprintf(st.addr.sun_path + 1, sizeof(st.addr.sun_path) - 1,
		 "merd-fuzz-tap-%d", (int)getpid());
	st.addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				  strlen(st.addr.sun_path + 1));
	snprintf(c->opts.sock_path, sizeof(c->opts.sock_path), "@%s",
		 st.addr.sun_path + 1);
	c->tap.fd_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
				  SOCK_CLOEXEC, 0);
	c->epollfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->tap.fd_listen < 0 || c->epollfd < 0 ||
	    bind(c->tap.fd_listen, (struct sockaddr *)&st.addr, st.addr_len) ||
	    listen(c->tap.fd_listen, 1))
		abort();
	st.peer = -1;
}

/**
 * expect_reply() - the reply frame_handler() must queue for a frame,
 *		    worked out independently
 * @c:		context
 * @frame:	frame
 * @len:	its length
 * @reply:	buffer, FUZZ_REPLY_MAX bytes, as frame_handler()'s
 * @fwd:	set if frame_handler() must hand the frame to fwd_from_guest()
 *
 * Return: length of the reply, 0 for none (or forwarded)
 */
static size_t expect_reply(const struct ctx *c, const uint8_t *frame,
			   size_t len, uint8_t *reply, bool *fwd)
{
	struct pkt f = { frame, len }, l3;
	struct ip_view ip;
	struct ethhdr eh;
	bool bound = false;
	size_t rlen;

	if (!fuzz_frame_in(c, f, &eh, &l3))
		return 0;

	switch (ntohs(eh.h_proto)) {
	case ETH_P_ARP:
		return arp(c, f, reply, FUZZ_REPLY_MAX);
	case ETH_P_IP:
		/* frame_ip4() */
		if (ip4_parse(l3, &ip))
			return 0;
		if (!fuzz_is_dhcp(c, &ip)) {
			*fwd = true;
			return 0;
		}
		return dhcp(c, &ip, reply, FUZZ_REPLY_MAX, &bound);
	case ETH_P_IPV6:
		/* frame_ip6(): the source it learnt doesn't change what
		 * ndp() says, now that it is learnt
		 */
		if (!c->guest6.enabled || ip6_parse(l3, &ip))
			return 0;
		if (ndp(c, &ip, reply, FUZZ_REPLY_MAX, &rlen))
			return rlen;
		if (dhcpv6_for_server(c, &ip))
			return dhcpv6(c, &ip, reply, FUZZ_REPLY_MAX);
		*fwd = !IN6_IS_ADDR_MULTICAST(&ip.dst.a6);
		return 0;
	default:
		return 0;
	}
}

/**
 * expect_push() - note a frame the guest must receive
 * @frame:	frame
 * @len:	its length
 */
static void expect_push(const uint8_t *frame, size_t len)
{
	uint32_t hdr = htonl((uint32_t)len);

	if (st.exp_len + TAP_HDR_LEN + len > EXP_SIZE) {
		memmove(st.exp, st.exp + st.exp_head,
			st.exp_len - st.exp_head);
		st.exp_len -= st.exp_head;
		st.exp_head = 0;
	}
	if (st.exp_len + TAP_HDR_LEN + len > EXP_SIZE)
		FAIL("more queued than any ring holds");

	memcpy(st.exp + st.exp_len, &hdr, TAP_HDR_LEN);
	memcpy(st.exp + st.exp_len + TAP_HDR_LEN, frame, len);
	st.exp_len += TAP_HDR_LEN + len;
}

/**
 * fwd_frame_cb() - tap_parse() callback: a frame forwarding queued
 * @arg:	context
 * @frame:	the frame, copied out of the ring
 * @len:	its length
 */
NOCOV static void fwd_frame_cb(void *arg, const uint8_t *frame, size_t len)
{
	const struct ctx *c = arg;
	struct pkt f = { frame, len }, l3;
	struct ip_view ip;
	struct ethhdr eh;

	if (!fuzz_eth_split(f, &eh, &l3))
		FAIL("forwarding queued a %zu-byte frame", len);
	if (!fuzz_eth_to_guest(c, &eh))
		FAIL("forwarding queued a frame with a bad Ethernet header");
	if (ntohs(eh.h_proto) == ETH_P_IPV6 ? ip6_parse(l3, &ip) :
	    ip4_parse(l3, &ip))
		FAIL("forwarding queued a bad IPv%d packet, %zu bytes",
		     ntohs(eh.h_proto) == ETH_P_IPV6 ? 6 : 4, l3.len);
	if (l3.len > c->link.mtu)
		FAIL("forwarding queued a %zu-byte packet (protocol %u, ICMP "
		     "type %d) for a guest with MTU %u", l3.len, ip.proto,
		     (ip.proto == IPPROTO_ICMP || ip.proto == IPPROTO_ICMPV6) &&
		     ip.l4.len ? ip.l4.p[0] : -1, c->link.mtu);
	expect_push(frame, len);
}

/**
 * take_grown() - check and expect the frames the ring grew by
 * @c:		context
 * @used:	bytes the ring held before
 */
static void take_grown(struct ctx *c, size_t used)
{
	const struct tap_tx *tx = &c->tap.tx;
	size_t n = tx->used - used, tail, first, consumed;
	uint32_t bad;

	if (tx->used < used)
		FAIL("the ring shrank from %zu to %zu bytes without a write",
		     used, tx->used);
	if (!n)
		return;
	tail = (tx->head + used) % tx->size;
	first = MIN(n, tx->size - tail);
	memcpy(st.grown, tx->buf + tail, first);
	memcpy(st.grown + first, tx->buf, n - first);
	if (tap_parse(st.grown, n, fwd_frame_cb, c, &consumed, &bad) ||
	    consumed != n)
		FAIL("forwarding queued %zu bytes that aren't whole frames",
		     n);
}

/**
 * ops_batch() - struct tap_ops' @batch: merd's (fwd_flush()), then check
 *		 what the failed sends drew
 * @c:		context
 */
static void ops_batch(struct ctx *c)
{
	size_t used = c->tap.tx.used;

	merd_tap_ops.batch(c);
	take_grown(c, used);
	if (c->fwd.raw.nout)
		FAIL("%d packets left in the batch", c->fwd.raw.nout);
}

/**
 * ops_frame() - struct tap_ops' @frame: checks around merd's
 *		 (frame_handler())
 * @c:		context
 * @frame:	frame, inside the receive buffer
 * @len:	its length
 */
static void ops_frame(struct ctx *c, const uint8_t *frame, size_t len)
{
	const struct tap_rx *rx = &c->tap.rx;
	size_t off = (size_t)(frame - rx->buf), used, rlen;
	uint8_t reply[FUZZ_REPLY_MAX];
	unsigned long dropped;
	bool fwd = false;
	uint32_t flen;

	if (frame < rx->buf + TAP_HDR_LEN || off > rx->len ||
	    len > rx->len - off)
		FAIL("frame at %zu, %zu bytes, outside the %zu bytes held",
		     off, len, rx->len);
	if (len < TAP_FRAME_MIN || len > TAP_FRAME_MAX)
		FAIL("frame of %zu bytes handed on", len);

	/* The next frame of the stream, whole, within what was sent */
	if (st.next + TAP_HDR_LEN > st.sent)
		FAIL("a frame handed on past the %zu bytes sent", st.sent);
	memcpy(&flen, st.s + st.next, sizeof(flen));
	if (ntohl(flen) != len || st.next + TAP_HDR_LEN + len > st.sent ||
	    memcmp(frame, st.s + st.next + TAP_HDR_LEN, len))
		FAIL("frame of %zu bytes handed on, the stream has %u at %zu",
		     len, ntohl(flen), st.next);
	st.next += TAP_HDR_LEN + len;

	/* Frames at the bounds are coverage of their own, so that the corpus
	 * keeps some: tap_parse() must take both
	 */
	if (len == TAP_FRAME_MIN || len == TAP_FRAME_MAX)
		st.bounds++;

	if (st.fix)
		fuzz_fix_csums(rx->buf + off, len);	/* our own buffer */

	st.frames++;
	if (c->tap.frames != st.frames)
		FAIL("%lu frames counted, %lu handed on", c->tap.frames,
		     st.frames);
	used = c->tap.tx.used;
	dropped = c->tap.tx.dropped;
	merd_tap_ops.frame(c, frame, len);

	rlen = expect_reply(c, frame, len, reply, &fwd);
	if (fwd) {
		/* Anything, or a drop: resets, ICMP errors */
		take_grown(c, used);
		return;
	}
	if (rlen > FUZZ_REPLY_MAX)
		FAIL("reply of %zu bytes", rlen);
	if (!rlen) {
		if (c->tap.tx.used != used || c->tap.tx.dropped != dropped)
			FAIL("queued or dropped a reply to a frame without one");
		return;
	}

	if (c->tap.tx.dropped == dropped + 1 && c->tap.tx.used == used) {
		if (c->tap.tx.size - used >= TAP_HDR_LEN + rlen)
			FAIL("dropped a %zu-byte reply, %zu of %zu bytes free",
			     rlen, c->tap.tx.size - used, c->tap.tx.size);
		return;
	}
	if (c->tap.tx.dropped != dropped ||
	    c->tap.tx.used != used + TAP_HDR_LEN + rlen)
		FAIL("queue went from %zu to %zu bytes for a %zu-byte reply",
		     used, c->tap.tx.used, rlen);
	expect_push(reply, rlen);
}

static const struct tap_ops fuzz_ops = {
	.frame = ops_frame,
	.batch = ops_batch,
};

/**
 * out_frame_cb() - tap_parse() callback for what the guest receives
 * @arg:	context
 * @frame:	frame merd sent
 * @len:	its length
 */
NOCOV static void out_frame_cb(void *arg, const uint8_t *frame, size_t len)
{
	const struct ctx *c = arg;
	struct pkt f = { frame, len }, l3;
	struct ip_view ip;
	uint16_t proto;

	memcpy(&proto, frame + 2 * ETH_ALEN, sizeof(proto));

	switch (ntohs(proto)) {
	case ETH_P_ARP:
		if (len != ETH_FRAME_MIN)
			FAIL("sent an ARP frame of %zu bytes", len);
		break;
	case ETH_P_IP:
		if (!pkt_tail(f, ETH_HLEN, &l3) || ip4_parse(l3, &ip))
			FAIL("sent a bad IPv4 packet");
		/* DHCP replies; forwarding sends resets and ICMP errors */
		if (ip.proto == IPPROTO_UDP &&
		    (len < FUZZ_DHCP_REPLY_MIN || len > FUZZ_REPLY_MAX))
			FAIL("sent a DHCP reply of %zu bytes", len);
		if (ip.proto != IPPROTO_UDP && l3.len > c->link.mtu)
			FAIL("sent a %zu-byte packet, MTU %u", l3.len,
			     c->link.mtu);
		break;
	case ETH_P_IPV6:
		if (!c->guest6.enabled || !pkt_tail(f, ETH_HLEN, &l3) ||
		    ip6_parse(l3, &ip))
			FAIL("sent a bad IPv6 packet");
		/* DHCPv6 replies, NDP's; forwarding sends resets and
		 * ICMPv6 errors: all fit the link
		 */
		if (len > FUZZ_REPLY_MAX && ip.proto == IPPROTO_UDP)
			FAIL("sent a DHCPv6 reply of %zu bytes", len);
		if (l3.len > c->link.mtu)
			FAIL("sent a %zu-byte IPv6 packet (next header %u), "
			     "MTU %u", l3.len, ip.proto, c->link.mtu);
		break;
	default:
		FAIL("sent a frame of EtherType 0x%04x", ntohs(proto));
	}
}

/**
 * guest_recv() - read what merd wrote to the guest, check its framing
 * @c:		context
 * @closed:	merd closed its end: the stream may end
 */
static void guest_recv(const struct ctx *c, bool closed)
{
	for (;;) {
		size_t used;
		uint32_t bad;
		ssize_t n;

		n = recv(st.peer, st.out + st.out_len,
			 sizeof(st.out) - st.out_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (!n && closed)
			return;
		if (n <= 0)
			FAIL("guest end of the socket: %s",
			     n ? strerror(errno) : "end of stream");

		/* Byte for byte what was queued, in order */
		if ((size_t)n > st.exp_len - st.exp_head ||
		    memcmp(st.out + st.out_len, st.exp + st.exp_head,
			   (size_t)n))
			FAIL("the guest received bytes %zu to %zu of the queue "
			     "wrong", st.exp_head, st.exp_head + (size_t)n);
		st.exp_head += (size_t)n;
		if (st.exp_head == st.exp_len)
			st.exp_head = st.exp_len = 0;

		st.out_len += (size_t)n;
		if (tap_parse(st.out, st.out_len, out_frame_cb, iov_const(c),
			      &used, &bad))
			FAIL("sent a frame length of %u", bad);
		memmove(st.out, st.out + used, st.out_len - used);
		st.out_len -= used;

		if (st.out_len >= TAP_HDR_LEN) {
			uint32_t flen;

			memcpy(&flen, st.out, sizeof(flen));
			if (ntohl(flen) > MAX(FUZZ_REPLY_MAX,
					      ETH_HLEN + c->link.mtu))
				FAIL("sent a frame length of %u", ntohl(flen));
		}
	}
}

/**
 * flush() - what the main loop does after each batch of events
 *	     (tap_flush()), then maybe let the guest read
 * @c:		context
 * @read:	the guest reads now
 */
static void flush(struct ctx *c, bool read)
{
	size_t before = c->tap.tx.used;

	tap_flush(c);
	if (!tap_connected(c))
		FAIL("tap_flush() closed the connection");
	if (c->tap.tx.used > before)
		FAIL("tap_flush() wrote %zu of %zu queued, %zu left",
		     before - c->tap.tx.used, before, c->tap.tx.used);
	if (c->tap.tx_waiting != (c->tap.tx.used > 0))
		FAIL("EPOLLOUT %s with %zu bytes left to write",
		     c->tap.tx_waiting ? "armed" : "not armed",
		     c->tap.tx.used);
	if (read)
		guest_recv(c, false);
}

/**
 * stream_error() - tell whether what was sent of the stream holds a
 *		    framing error, as the harness parses it
 * @next:	set to the offset of the first frame not whole in it, or of
 *		the bad length
 *
 * Return: true if a length field out of bounds was sent
 */
NOCOV static bool stream_error(size_t *next)
{
	size_t pos = 0;
	uint32_t flen;

	while (pos + TAP_HDR_LEN <= st.sent) {
		memcpy(&flen, st.s + pos, sizeof(flen));
		flen = ntohl(flen);
		if (flen < TAP_FRAME_MIN || flen > TAP_FRAME_MAX) {
			*next = pos;
			return true;
		}
		if (st.sent - pos - TAP_HDR_LEN < flen)
			break;
		pos += TAP_HDR_LEN + flen;
	}
	*next = pos;
	return false;
}

/**
 * connect_guest() - the guest connects, merd accepts
 * @c:		context
 * @small:	small send buffer on merd's end
 */
static void connect_guest(struct ctx *c, bool small)
{
	int one = 1;

	st.peer = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (st.peer < 0 ||
	    connect(st.peer, (struct sockaddr *)&st.addr, st.addr_len))
		abort();
	tap_listen_handler(c, &fuzz_ops);
	if (!tap_connected(c) || c->tap.frames || c->tap.rx.len ||
	    c->tap.tx.used)
		FAIL("tap_listen_handler() left fd %d, %lu frames, %zu bytes "
		     "held, %zu queued", c->tap.fd, c->tap.frames,
		     c->tap.rx.len, c->tap.tx.used);
	/* The kernel rounds this up to its minimum, a few kilobytes */
	if (small && setsockopt(c->tap.fd, SOL_SOCKET, SO_SNDBUF, &one,
				sizeof(one)))
		abort();
}

/**
 * hang_up() - the guest goes away; merd must see it and forget its flows
 * @c:		context
 */
static void hang_up(struct ctx *c)
{
	close(st.peer);
	st.peer = -1;
	if (tap_connected(c))
		tap_handler(c, EPOLLIN | EPOLLRDHUP, &fuzz_ops);
	if (tap_connected(c) || c->tap.rx.len || c->tap.tx.used)
		FAIL("after the guest hung up: fd %d, %zu bytes held, %zu "
		     "queued", c->tap.fd, c->tap.rx.len, c->tap.tx.used);
	if (!tap_gone(c) || tap_gone(c))
		FAIL("tap_gone() didn't say once that the guest went away");
	fuzz_fwd_forget(c);
	fuzz_ports_restore(c);
}

/**
 * LLVMFuzzerTestOneInput() - one connection's worth of stream
 * @data:	control header, then the stream
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx *c = &st.c;
	struct tap_rx *rx = &c->tap.rx;
	unsigned int every, flushes = 0;
	size_t i = 0, next, hi = 0;
	bool framing_error;
	static bool ready;
	uint16_t rd[4];
	uint8_t flags;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < CTL_LEN)
		return 0;
	flags = data[0];
	memcpy(rd, data + 1, sizeof(rd));
	st.s = data + CTL_LEN;
	st.slen = size - CTL_LEN;

	fuzz_guest_set(c, &st.confs[CTL_CONF(flags)]);
	c->tap.tx = st.tx[CTL_RING(flags)];
	c->tap.tx.head = c->tap.tx.used = 0;
	c->tap.tx.dropped = 0;
	c->tap.guest_mac_known = false;
	c->now = FUZZ_NOW;
	fuzz_fwd_reset(c);
	st.fix = flags & CTL_FIX_CSUMS;
	every = read_every[CTL_READ(flags)];
	st.frames = 0;
	st.out_len = 0;
	st.sent = st.next = 0;
	st.exp_head = st.exp_len = 0;
	connect_guest(c, flags & CTL_SMALL_SNDBUF);

	while (st.sent < st.slen && tap_connected(c)) {
		uint16_t want = le16toh(rd[i++ % 4]);
		size_t n = MIN(want ? want : st.slen - st.sent,
			       st.slen - st.sent);
		ssize_t w;

		/* The guest writes; merd's buffer takes that much next */
		w = send(st.peer, st.s + st.sent, n, MSG_DONTWAIT);
		if (w <= 0)
			FAIL("the guest can't write %zu bytes: %s", n,
			     w ? strerror(errno) : "nothing written");
		if ((size_t)w > rx->size - rx->len)
			FAIL("receive buffer full: %zu bytes held", rx->len);
		UNPOISON(rx->buf + rx->len, (size_t)w);
		hi = rx->len + (size_t)w;
		st.sent += (size_t)w;

		tap_handler(c, EPOLLIN, &fuzz_ops);
		if (tap_connected(c)) {
			if (rx->len != st.sent - st.next ||
			    memcmp(rx->buf, st.s + st.next, rx->len))
				FAIL("%zu bytes held after a read, %zu sent "
				     "and not handed on", rx->len,
				     st.sent - st.next);
			POISON(rx->buf + rx->len, hi - rx->len);
			/* The main loop flushes after each batch of events */
			flush(c, !(++flushes % every));
		}
	}

	framing_error = stream_error(&next);
	if (framing_error != !tap_connected(c))
		FAIL("%s after %zu bytes of the stream, framing error at %zu",
		     tap_connected(c) ? "still connected" : "connection closed",
		     st.sent, framing_error ? next : st.sent);
	if (st.next != next)
		FAIL("%zu bytes of whole frames handed on, %zu sent", st.next,
		     next);
	if (c->tap.frames != st.frames)
		FAIL("%lu frames counted, %lu handed on", c->tap.frames,
		     st.frames);

	if (!framing_error) {
		/* The guest reads until merd has nothing left to write */
		guest_recv(c, false);
		while (c->tap.tx.used)
			flush(c, true);
		if (st.out_len)
			FAIL("%zu bytes of a partial frame sent", st.out_len);
		if (st.exp_len != st.exp_head)
			FAIL("%zu bytes queued never reached the guest",
			     st.exp_len - st.exp_head);
	} else {
		/* tap_close(): what was written is read, the rest dropped */
		guest_recv(c, true);
		if (!tap_gone(c) || tap_gone(c))
			FAIL("tap_gone() didn't say once that merd closed");
		fuzz_fwd_forget(c);
		fuzz_ports_restore(c);
	}

	/* The guest goes away: its flows are forgotten */
	if (!framing_error)
		hang_up(c);
	else
		close(st.peer);
	st.peer = -1;
	fuzz_raw_drain(c);

	/* Ready for the next input: nothing held, nothing in the socket */
	POISON(rx->buf, MAX(hi, rx->len));
	st.tx[CTL_RING(flags)] = c->tap.tx;
	return 0;
}
