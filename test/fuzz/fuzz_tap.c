// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_tap.c - libFuzzer harness: a qemu stream through tap_parse()
 *
 * Copyright (c) 2026 merd authors
 *
 * The input is a control header followed by the bytes qemu would write on
 * merd's socket:
 *
 *   byte 0	flags:
 *		  bits 0-1  guest configuration (fuzz_guest_conf())
 *		  bits 2-3  transmit ring size: merd's TAP_TX_QUEUE, or a
 *			    small ring that fills and wraps around
 *		  bit 4	    small send buffer on the socket to the guest, so
 *			    that writes are partial and the ring wraps
 *		  bit 5	    correct the IPv4 and UDP checksums of each frame
 *			    before tap_frame() sees it (a guest can send
 *			    those frames too: this only gets the fuzzer past
 *			    the checksums)
 *		  bits 6-7  a slow guest: it reads what merd wrote after
 *			    every 1, 4 or 64 flushes, or only at the end, so
 *			    that the socket fills, writes are partial and the
 *			    ring wraps
 *   bytes 1-8	four read sizes, 16-bit little-endian, used in turn: the
 *		stream arrives in reads of these sizes (0: all that is left)
 *   bytes 9-	the stream: frames, each after its 32-bit big-endian length
 *
 * MUST RUN IN A PRIVATE NETWORK NAMESPACE WITH ONLY LOOPBACK: tap_frame()
 * hands IPv4 that isn't DHCP to fwd_from_guest(), which sends it on raw
 * sockets. fuzz_netns_check() aborts otherwise; run.sh runs it under
 * `unshare -n`. There, sends to anything but the gateway (mapped to the
 * host's loopback) fail with ENETUNREACH and draw ICMP errors.
 *
 * Forwarding is set up once, as merd.c's main() does (fwd_init(), with a
 * small flow table), and forgotten after each input (fwd_forget(), as
 * tap_close() does); what the raw sockets receive is thrown away.
 *
 * Each read is appended to a receive buffer sized as merd sizes it, split
 * with tap_parse(), each frame counted and handed to tap_frame(), the batch
 * of forwarded packets sent (fwd_flush()) and the unconsumed rest moved to
 * the start, as tap_input() does; a framing error sends the batch and ends
 * the stream, as it closes the connection in merd. The part of the
 * receive buffer past the bytes held is poisoned for AddressSanitizer, so
 * that tap_parse() reading past what was received is caught.
 *
 * Replies go through the real tap_send() and transmit ring to one end of a
 * socketpair, flushed once per read like the main loop does; the other end
 * plays qemu and checks the stream it gets: well framed, each frame an ARP
 * reply of 60 bytes, a DHCP reply with a valid IPv4 header, no larger than
 * tap.c's reply buffer, or a valid IPv4 packet from forwarding no larger
 * than the guest's MTU. For each ARP or DHCP frame, the harness also works
 * out the reply tap_frame() queues, as tap_frame() does (with the real
 * arp() and dhcp()): the ring must grow by exactly that frame and its
 * length, or count a drop if, and only if, it is full. Frames that go to
 * forwarding, and fwd_flush(), may queue anything (resets, ICMP errors) or
 * drop it: the frames the ring grew by are checked (IPv4 from our MAC to
 * the guest's, or broadcast until it is known, ip4_parse() passes, at most
 * the guest's MTU) and expected too. The guest must receive exactly the
 * frames queued, byte for byte, in order, across wrap-arounds of the ring
 * and partial writes.
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
#include <sys/socket.h>

#include "arp.h"
#include "csum.h"
#include "dhcp.h"
#include "fwd.h"
#include "ip4.h"
#include "log.h"
#include "merd.h"
#include "pkt.h"
#include "tap.h"

#include "fuzz_common.h"

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
 * @rx:		receive buffer, sized like merd's
 * @tx:		transmit rings, one per size
 * @sp:		socketpairs: [i][0] is merd's end, [i][1] qemu's; [1] has a
 *		small send buffer
 * @out:	what qemu's end received, not yet split into frames
 * @out_len:	bytes in @out
 * @fix:	correct checksums before tap_frame()
 * @frames:	frames handed to tap_frame() for the current input
 * @exp:	what the guest must receive: frames queued, with their lengths
 * @exp_head:	offset in @exp of the next byte the guest must receive
 * @exp_len:	end of what @exp holds
 * @grown:	frames the ring grew by, copied out of it
 */
static struct fuzz_state {
	struct ctx c;
	struct guest_conf confs[NCONF];
	struct tap_rx rx;
	struct tap_tx tx[NRING];
	int sp[2][2];
	uint8_t out[2 * (TAP_HDR_LEN + FUZZ_FRAME_MAX)];
	size_t out_len;
	bool fix;
	unsigned long frames;
	uint8_t *exp;
	size_t exp_head;
	size_t exp_len;
	uint8_t *grown;
} st;

/* Bytes queued in a ring, plus one frame partly written to the socket */
#define EXP_SIZE	(TAP_TX_QUEUE + 2 * (TAP_HDR_LEN + FUZZ_FRAME_MAX))

/**
 * LLVMFuzzerInitialize() - check the namespace, quiet logging, set up
 *			    forwarding, allocate buffers and sockets
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i, one = 1;

	(void)argc;
	(void)argv;
	fuzz_init("fuzz_tap", true);

	for (i = 0; i < NCONF; i++)
		fuzz_guest_conf(&st.confs[i], i);
	fuzz_fwd_setup(&st.c, &st.confs[0]);

	/* merd.c's buffers_init() */
	st.rx.size = TAP_RX_BATCH + TAP_HDR_LEN + TAP_FRAME_MAX;
	st.rx.buf = malloc(st.rx.size);
	if (!st.rx.buf)
		abort();
	POISON(st.rx.buf, st.rx.size);

	for (i = 0; i < NRING; i++) {
		if (tap_tx_init(&st.tx[i], ring_size[i]))
			abort();
	}
	st.exp = malloc(EXP_SIZE);
	st.grown = malloc(TAP_TX_QUEUE);
	if (!st.exp || !st.grown)
		abort();

	for (i = 0; i < 2; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
			       SOCK_CLOEXEC, 0, st.sp[i]))
			abort();
	}
	/* The kernel rounds this up to its minimum, a few kilobytes */
	if (setsockopt(st.sp[1][0], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one)))
		abort();
	return 0;
}

/**
 * expect_reply() - the reply tap_frame() builds for a frame, worked out again
 * @c:		context
 * @frame:	frame
 * @len:	its length
 * @reply:	buffer, FUZZ_REPLY_MAX bytes, as tap_frame()'s
 * @fwd:	set if tap_frame() hands the frame to fwd_from_guest()
 *
 * Return: length of the reply, 0 for none (or forwarded)
 */
static size_t expect_reply(const struct ctx *c, const uint8_t *frame,
			   size_t len, uint8_t *reply, bool *fwd)
{
	struct pkt f = { frame, len }, l3;
	struct ip4_view ip;
	struct ethhdr eh;

	if (!fuzz_frame_in(c, f, &eh, &l3))
		return 0;

	switch (ntohs(eh.h_proto)) {
	case ETH_P_ARP:
		return arp(c, f, reply, FUZZ_REPLY_MAX);
	case ETH_P_IP:
		/* tap_ip4() */
		if (ip4_parse(l3, &ip))
			return 0;
		if (!fuzz_is_dhcp(c, &ip)) {
			*fwd = true;
			return 0;
		}
		return dhcp(c, &ip, reply, FUZZ_REPLY_MAX);
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
static void fwd_frame_cb(void *arg, const uint8_t *frame, size_t len)
{
	const struct ctx *c = arg;
	struct pkt f = { frame, len }, l3;
	struct ip4_view ip;
	struct ethhdr eh;

	if (!fuzz_eth_split(f, &eh, &l3))
		FAIL("forwarding queued a %zu-byte frame", len);
	if (!fuzz_eth_to_guest(c, &eh))
		FAIL("forwarding queued a frame with a bad Ethernet header");
	if (ip4_parse(l3, &ip))
		FAIL("forwarding queued a bad IPv4 packet, %zu bytes", l3.len);
	if (l3.len > c->guest.mtu)
		FAIL("forwarding queued a %zu-byte packet (protocol %u, ICMP "
		     "type %d) for a guest with MTU %u", l3.len, ip.h.protocol,
		     ip.h.protocol == IPPROTO_ICMP && ip.l4.len ?
		     ip.l4.p[0] : -1, c->guest.mtu);
	expect_push(frame, len);
}

/**
 * take_grown() - check and expect the frames the ring grew by
 * @c:		context
 * @used:	bytes the ring held before
 */
static void take_grown(struct ctx *c, size_t used)
{
	size_t n = c->tx.used - used, tail, first, consumed;
	uint32_t bad;

	if (c->tx.used < used)
		FAIL("the ring shrank from %zu to %zu bytes without a write",
		     used, c->tx.used);
	if (!n)
		return;
	tail = (c->tx.head + used) % c->tx.size;
	first = MIN(n, c->tx.size - tail);
	memcpy(st.grown, c->tx.buf + tail, first);
	memcpy(st.grown + first, c->tx.buf, n - first);
	if (tap_parse(st.grown, n, fwd_frame_cb, c, &consumed, &bad) ||
	    consumed != n)
		FAIL("forwarding queued %zu bytes that aren't whole frames",
		     n);
}

/**
 * flush_fwd() - fwd_flush(), as tap_input() calls it, and check what the
 *		 failed sends drew
 * @c:		context
 */
static void flush_fwd(struct ctx *c)
{
	size_t used = c->tx.used;

	fwd_flush(c);
	take_grown(c, used);
	if (c->raw.nout)
		FAIL("%d packets left in the batch", c->raw.nout);
}

/**
 * frame_cb() - tap_parse() callback: tap.c's tap_frame_cb(), plus checks
 * @arg:	context
 * @frame:	frame, inside the receive buffer
 * @len:	its length
 */
static void frame_cb(void *arg, const uint8_t *frame, size_t len)
{
	struct ctx *c = arg;
	size_t off = (size_t)(frame - st.rx.buf), used, rlen;
	uint8_t reply[FUZZ_REPLY_MAX];
	unsigned long dropped;
	bool fwd = false;

	if (frame < st.rx.buf + TAP_HDR_LEN || off + len > st.rx.len)
		FAIL("frame at %zu, %zu bytes, outside the %zu bytes held",
		     off, len, st.rx.len);
	if (len < TAP_FRAME_MIN || len > TAP_FRAME_MAX)
		FAIL("frame of %zu bytes handed on", len);

	if (st.fix)
		fuzz_fix_csums(st.rx.buf + off, len);	/* our own buffer */

	st.frames++;
	c->tap_frames++;
	used = c->tx.used;
	dropped = c->tx.dropped;
	tap_frame(c, frame, len);

	rlen = expect_reply(c, frame, len, reply, &fwd);
	if (fwd) {
		/* Anything, or a drop: resets, ICMP errors */
		take_grown(c, used);
		return;
	}
	if (rlen > FUZZ_REPLY_MAX)
		FAIL("reply of %zu bytes", rlen);
	if (!rlen) {
		if (c->tx.used != used || c->tx.dropped != dropped)
			FAIL("queued or dropped a reply to a frame without one");
		return;
	}

	if (c->tx.dropped == dropped + 1 && c->tx.used == used) {
		if (c->tx.size - used >= TAP_HDR_LEN + rlen)
			FAIL("dropped a %zu-byte reply, %zu of %zu bytes free",
			     rlen, c->tx.size - used, c->tx.size);
		return;
	}
	if (c->tx.dropped != dropped || c->tx.used != used + TAP_HDR_LEN + rlen)
		FAIL("queue went from %zu to %zu bytes for a %zu-byte reply",
		     used, c->tx.used, rlen);
	expect_push(reply, rlen);
}

/**
 * out_frame_cb() - tap_parse() callback for what the guest receives
 * @arg:	context
 * @frame:	frame merd sent
 * @len:	its length
 */
static void out_frame_cb(void *arg, const uint8_t *frame, size_t len)
{
	const struct ctx *c = arg;
	struct pkt f = { frame, len }, l3;
	struct ip4_view ip;
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
		if (ip.h.protocol == IPPROTO_UDP &&
		    (len < FUZZ_DHCP_REPLY_MIN || len > FUZZ_REPLY_MAX))
			FAIL("sent a DHCP reply of %zu bytes", len);
		if (ip.h.protocol != IPPROTO_UDP && l3.len > c->guest.mtu)
			FAIL("sent a %zu-byte packet, MTU %u", l3.len,
			     c->guest.mtu);
		break;
	default:
		FAIL("sent a frame of EtherType 0x%04x", ntohs(proto));
	}
}

/**
 * guest_recv() - read what merd wrote to the guest, check its framing
 * @c:		context
 * @fd:		qemu's end of the socketpair
 */
static void guest_recv(const struct ctx *c, int fd)
{
	for (;;) {
		size_t used;
		uint32_t bad;
		ssize_t n;

		n = recv(fd, st.out + st.out_len, sizeof(st.out) - st.out_len,
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
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
					      ETH_HLEN + c->guest.mtu))
				FAIL("sent a frame length of %u", ntohl(flen));
		}
	}
}

/**
 * flush() - what tap_flush() does, then maybe let the guest read
 * @c:		context
 * @peer:	guest end of the socketpair
 * @read:	the guest reads now
 */
static void flush(struct ctx *c, int peer, bool read)
{
	size_t before = c->tx.used;
	ssize_t n;

	n = tap_tx_write(&c->tx, c->fd_tap);
	if (n < 0)
		FAIL("tap_tx_write: %s", strerror((int)-n));
	if ((size_t)n > before || c->tx.used != before - (size_t)n)
		FAIL("tap_tx_write wrote %zd of %zu queued, %zu left", n,
		     before, c->tx.used);
	if (read)
		guest_recv(c, peer);
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
	const uint8_t *s = data + CTL_LEN;
	size_t slen, off = 0, i = 0;
	unsigned int every, flushes = 0;
	uint16_t rd[4];
	int framing_error = 0, peer;
	uint8_t flags;

	if (size < CTL_LEN)
		return 0;
	flags = data[0];
	memcpy(rd, data + 1, sizeof(rd));
	slen = size - CTL_LEN;

	c->guest = st.confs[CTL_CONF(flags)];
	c->tx = st.tx[CTL_RING(flags)];
	c->tx.head = c->tx.used = 0;
	c->tx.dropped = 0;
	c->tap_frames = 0;
	c->guest_mac_known = false;
	c->fd_tap = st.sp[!!(flags & CTL_SMALL_SNDBUF)][0];
	peer = st.sp[!!(flags & CTL_SMALL_SNDBUF)][1];
	st.fix = flags & CTL_FIX_CSUMS;
	every = read_every[CTL_READ(flags)];
	st.frames = 0;
	st.out_len = 0;
	st.rx.len = 0;
	st.exp_head = st.exp_len = 0;

	while (off < slen) {
		size_t room = st.rx.size - st.rx.len, n, used;
		uint16_t want = le16toh(rd[i++ % 4]);
		uint32_t bad;

		/* read() of what the guest sent, at most @room */
		n = MIN(want ? want : slen - off, slen - off);
		n = MIN(n, room);
		if (!n)
			FAIL("receive buffer full: %zu bytes held", st.rx.len);
		UNPOISON(st.rx.buf + st.rx.len, n);
		memcpy(st.rx.buf + st.rx.len, s + off, n);
		off += n;
		st.rx.len += n;

		if (tap_parse(st.rx.buf, st.rx.len, frame_cb, c, &used,
			      &bad)) {
			uint32_t flen;

			/* tap_input(): the batch goes before the close */
			flush_fwd(c);
			/* merd checks and closes the connection */
			if (bad >= TAP_FRAME_MIN && bad <= TAP_FRAME_MAX)
				FAIL("framing error on a valid length %u",
				     bad);
			if (used > st.rx.len - TAP_HDR_LEN)
				FAIL("framing error past the bytes held");
			memcpy(&flen, st.rx.buf + used, sizeof(flen));
			if (ntohl(flen) != bad)
				FAIL("framing error on length %u, %u there",
				     bad, ntohl(flen));
			framing_error = 1;
			break;
		}
		if (used > st.rx.len)
			FAIL("consumed %zu of %zu bytes", used, st.rx.len);

		/* Queued packets point into the buffer: sent before it moves */
		flush_fwd(c);
		memmove(st.rx.buf, st.rx.buf + used, st.rx.len - used);
		POISON(st.rx.buf + st.rx.len - used, used);
		st.rx.len -= used;

		/* The main loop flushes after each batch of events */
		flush(c, peer, !(++flushes % every));
	}

	if (!framing_error) {
		/* What is left is part of one frame, never a whole one */
		if (st.rx.len >= TAP_HDR_LEN) {
			uint32_t flen;

			memcpy(&flen, st.rx.buf, sizeof(flen));
			flen = ntohl(flen);
			if (flen < TAP_FRAME_MIN || flen > TAP_FRAME_MAX ||
			    st.rx.len - TAP_HDR_LEN >= flen)
				FAIL("%zu bytes left unparsed, frame length %u",
				     st.rx.len, flen);
		}
		/* The guest reads until merd has nothing left to write */
		guest_recv(c, peer);
		while (c->tx.used)
			flush(c, peer, true);
		if (st.out_len)
			FAIL("%zu bytes of a partial frame sent", st.out_len);
		if (st.exp_len != st.exp_head)
			FAIL("%zu bytes queued never reached the guest",
			     st.exp_len - st.exp_head);
	} else {
		/* tap_close(): what was written is read, the rest dropped */
		guest_recv(c, peer);
	}

	if (c->tap_frames != st.frames)
		FAIL("%lu frames counted, %lu handed to tap_frame()",
		     c->tap_frames, st.frames);

	/* tap_close(): the guest's flows are forgotten */
	fuzz_fwd_forget(c);
	fuzz_raw_drain(c);
	c->fd_tap = -1;

	/* Ready for the next input: nothing held, nothing in the socket */
	POISON(st.rx.buf, st.rx.len);
	st.rx.len = 0;
	st.out_len = 0;
	return 0;
}
