// SPDX-License-Identifier: GPL-2.0-or-later
/* flowtab.c - the flow table, listed for whoever runs merd (SIGUSR1)
 *
 * Copyright (c) 2026 merd authors
 *
 * One log line per flow, in the order they expire: its number, protocol,
 * state, the guest's address and port, the host port it uses, the peer's
 * address and port, who opened it, its age, and packets and bytes each
 * way; then a summary, and the packets dropped by reason. Logged as
 * notices (-q leaves them in), so they go where merd's messages go: stderr,
 * syslog or the log file.
 */

#include <stdio.h>

#include "conntrack.h"
#include "flowtab.h"
#include "log.h"
#include "merd.h"
#include "pcap.h"

/**
 * flowtab_line() - log one flow
 * @c:		context
 * @idx:	flow number, in use
 */
static void flowtab_line(const struct ctx *c, uint32_t idx)
{
	const struct flow *f = &c->fwd.ct.flows[idx];
	unsigned int ts = ct_side_of(f, PIF_TAP), hs = ct_other(ts);
	const struct flowside *t = &f->side[ts], *h = &f->side[hs];

	logmsg(LOG_NOTICE, "flow %u: %s %s guest %s:%u host port %u peer "
	       "%s:%u, opened by the %s, %u s; from the guest %u packets "
	       "%llu bytes, to it %u packets %llu bytes", idx,
	       fwd_proto_name(f->proto), ct_state_name[f->state],
	       inany_ntop(&t->eaddr).s, t->eport, h->oport,
	       inany_ntop(&h->eaddr).s, h->eport,
	       ts == INISIDE ? "guest" : "peer", c->now - f->created,
	       f->pkts[ts], (unsigned long long)f->bytes[ts], f->pkts[hs],
	       (unsigned long long)f->bytes[hs]);
}

const char *const drop_name[DROP_MAX] = {
	[DROP_MALFORMED]	= "malformed",
	[DROP_NOT_OURS]		= "not-ours",
	[DROP_REFUSED]		= "not-forwarded",
	[DROP_TABLE_FULL]	= "table-full",
	[DROP_NO_PORT]		= "no-port",
	[DROP_NO_FLOW]		= "no-flow",
	[DROP_CSUM]		= "bad-checksum",
	[DROP_TOO_BIG]		= "too-big",
	[DROP_FRAG]		= "unknown-fragment",
	[DROP_SEND]		= "send-failed",
	[DROP_GUEST_FULL]	= "guest-queue-full",
	[DROP_HOST_FULL]	= "host-queue-full",
	[DROP_CONFINED]		= "confined",
	[DROP_WINDOW]		= "out-of-window",
};

/**
 * flowtab_drops() - log the counts of packets dropped, by reason
 * @c:		context
 */
static void flowtab_drops(const struct ctx *c)
{
	char line[DROP_MAX * 40] = "";
	size_t off = 0;
	int i;

	for (i = 0; i < DROP_MAX; i++) {
		int w;

		if (!c->drops[i])
			continue;
		w = snprintf(line + off, sizeof(line) - off, "%s%s %llu",
			     off ? ", " : "", drop_name[i],
			     (unsigned long long)c->drops[i]);
		if (w > 0)
			off = MIN(off + (size_t)w, sizeof(line) - 1);
	}
	logmsg(LOG_NOTICE, "drops: %s", off ? line : "none");
}

/**
 * flowtab_log() - log every flow, then a summary (and, with --pcap, a
 *		   line on the capture)
 * @c:		context
 *
 * Return: number of flows listed
 */
uint32_t flowtab_log(const struct ctx *c)
{
	const struct conntrack *ct = &c->fwd.ct;
	char states[CT_STATES * 32] = "";
	uint32_t n = 0, by[CT_STATES] = { 0 }, idx;
	size_t off = 0;
	int s;

	for (s = 0; ct->flows && s < CT_STATES; s++) {
		for (idx = ct->aging[s].head; idx != FLOW_NONE;
		     idx = ct->flows[idx].next) {
			flowtab_line(c, idx);
			by[s]++;
			n++;
		}
	}
	for (s = 0; s < CT_STATES; s++) {
		int w;

		if (!by[s])
			continue;
		w = snprintf(states + off, sizeof(states) - off, "%s%s %u",
			     off ? ", " : "", ct_state_name[s], by[s]);
		if (w > 0)
			off = MIN(off + (size_t)w, sizeof(states) - 1);
	}
	logmsg(LOG_NOTICE, "flows: %u of %u%s%s; host ports: %u blocks of "
	       "%u claimed, %u forwarded ports held", n, ct->max,
	       n ? ", " : "", states, c->fwd.ports.nclaimed, PORT_BLOCK,
	       c->fwd.ports.nfwd);
	flowtab_drops(c);
	if (c->fwd.up.on)
		logmsg(LOG_NOTICE, "uplink: %llu frames sent on %s, %llu of "
		       "them GSO packets of %llu segments; %s",
		       (unsigned long long)c->fwd.up.frames, c->host.ifname,
		       (unsigned long long)c->fwd.up.gso,
		       (unsigned long long)c->fwd.up.segs,
		       c->fwd.up.use ? "in use" : "not in use: the host "
		       "tracks connections");
	pcap_log_stats(&c->pcap);
	return n;
}
