/* SPDX-License-Identifier: GPL-2.0-or-later */
/* drop.h - what merd drops, counted by reason
 *
 * Copyright (c) 2026 merd authors
 *
 * Every packet or frame merd drops on purpose is counted under its reason:
 * the flow table summary (SIGUSR1, flowtab.c) lists the counts, so that a
 * user can see why traffic went missing without --trace. Counting costs an
 * increment; the trace line is only written with --trace.
 */

#ifndef DROP_H
#define DROP_H

/**
 * enum drop_why - why a packet was dropped
 * @DROP_MALFORMED:	truncated or malformed, from the guest
 * @DROP_NOT_OURS:	a frame for another MAC address
 * @DROP_REFUSED:	a protocol, option or destination merd doesn't
 *			forward
 * @DROP_TABLE_FULL:	no flow could be had: the table is full
 * @DROP_NO_PORT:	no host port was left toward the peer
 * @DROP_NO_FLOW:	from the network, and no flow or forwarded port
 * @DROP_CSUM:		bad checksum from the network, or on a guest TCP
 *			segment merd was to cut in pieces (tcp_to_host())
 * @DROP_TOO_BIG:	too large, and can't be fragmented
 * @DROP_FRAG:		a fragment of no datagram merd knows
 * @DROP_SEND:		the kernel refused to send it
 * @DROP_GUEST_FULL:	the queue to the guest was full
 * @DROP_HOST_FULL:	the host's send buffer was full (EAGAIN, ENOBUFS):
 *			dropped rather than waited for
 * @DROP_CONFINED:	to a link-local address, or to one of the host's
 *			own other than through the gateway mapping
 * @DROP_WINDOW:	a TCP segment outside the window seen on its flow
 *			(Linux conntrack's tcp_in_window()): a spoofed RST or
 *			FIN never ends a flow
 * @DROP_MAX:		number of reasons
 */
enum drop_why {
	DROP_MALFORMED,
	DROP_NOT_OURS,
	DROP_REFUSED,
	DROP_TABLE_FULL,
	DROP_NO_PORT,
	DROP_NO_FLOW,
	DROP_CSUM,
	DROP_TOO_BIG,
	DROP_FRAG,
	DROP_SEND,
	DROP_GUEST_FULL,
	DROP_HOST_FULL,
	DROP_CONFINED,
	DROP_WINDOW,
	DROP_MAX,
};

extern const char *const drop_name[DROP_MAX];

/* Count a drop under its reason, and trace it with --trace (log.h's) */
#define drop(c, why, ...)						\
	do {								\
		(c)->drops[why]++;					\
		trace(c, __VA_ARGS__);					\
	} while (0)

#endif /* DROP_H */
