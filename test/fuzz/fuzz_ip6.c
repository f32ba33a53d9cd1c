// SPDX-License-Identifier: GPL-2.0-or-later
/* fuzz_ip6.c - libFuzzer harness: IPv6 packets to ip6_parse() and
 *		ip6_parse_quote(), then to l4_parse() and l4_parse_quote()
 *
 * Copyright (c) 2026 merd authors
 *
 * The input is what follows the Ethernet header of a frame: an IPv6 packet
 * from the guest or from a raw socket, or the packet an ICMPv6 error
 * quotes. It goes to ip6_parse() and to ip6_parse_quote(); where either
 * takes it, the transport header goes to l4_parse() (if the packet isn't
 * a later fragment, as the data path does) or l4_parse_quote(). Needs no
 * context, no socket and no namespace.
 *
 * Invariants checked on top of the sanitisers (abort() on any violation):
 * - the parsers return 0, IP6_E_MALFORMED or IP6_E_UNSAFE; on
 *   IP6_E_UNSAFE the fixed header's fields are set; a payload length of 0
 *   (a jumbogram, RFC 2675) is never taken;
 * - a view's header starts at the first byte, holds at least the fixed
 *   header and, if any, the whole fragment header; its payload starts where
 *   the header ends; both lie inside the input; for ip6_parse() they add
 *   up to the payload length, for ip6_parse_quote() to at most that;
 * - the walk ended on a protocol, not on an extension header it walks,
 *   unless the packet is a later fragment;
 * - a packet whose payload length fits in the input parses the same, and
 *   to the same view, as a packet and as a quote;
 * - a transport view lies inside the IP view's payload, its header first;
 *   ICMPv6 headers are 8 bytes, an echo's identifier read where it is.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include "inany.h"
#include "ip.h"
#include "ip6.h"
#include "pkt.h"
#include "fuzz_report.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* fail() - report a broken invariant, and abort (fuzz_report.h) */
#define fail(...)	fuzz_invariant(__VA_ARGS__)

/**
 * LLVMFuzzerInitialize() - keep a copy of stderr for reports
 * @argc:	unused
 * @argv:	unused
 *
 * Return: 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_report_init("fuzz_ip6");
	return 0;
}

/**
 * inside() - tell whether a view lies inside another
 * @in:		outer view
 * @v:		inner view
 *
 * Return: true if every byte of @v is one of @in
 */
static bool inside(struct pkt in, struct pkt v)
{
	return v.p >= in.p && (size_t)(v.p - in.p) <= in.len &&
	       v.len <= in.len - (size_t)(v.p - in.p);
}

/**
 * check_fixed() - check the fields of the fixed header against the input
 * @in:		input, at least IP6_HLEN bytes
 * @ip:		view
 * @what:	which parser, for reports
 */
static void check_fixed(struct pkt in, const struct ip_view *ip,
			const char *what)
{
	if (ip->family != AF_INET6 || !ip->df)
		fail("%s: family %d, df %d", what, ip->family, ip->df);
	if (memcmp(&ip->src.a6, in.p + 8, 16) != 0 ||
	    memcmp(&ip->dst.a6, in.p + 24, 16) != 0)
		fail("%s: addresses aren't the header's", what);
	if (ip->ttl != in.p[7] || ip->flowlabel > IP6_FLOWLABEL_MASK)
		fail("%s: hop limit %u, flow label %#x", what, ip->ttl,
		     ip->flowlabel);
}

/**
 * check_view() - check a view ip6_parse() or ip6_parse_quote() took
 * @in:		input
 * @ip:		view
 * @plen:	payload length field
 * @quote:	from ip6_parse_quote()
 */
static void check_view(struct pkt in, const struct ip_view *ip, size_t plen,
		       bool quote)
{
	const char *what = quote ? "ip6_parse_quote()" : "ip6_parse()";
	size_t total = ip->hdr.len + ip->l4.len;

	check_fixed(in, ip, what);
	if (!plen)
		fail("%s: took a payload length of 0 (jumbogram)", what);
	if (ip->hdr.p != in.p || ip->hdr.len < IP6_HLEN ||
	    !inside(in, ip->hdr))
		fail("%s: header of %zu bytes at %td", what, ip->hdr.len,
		     ip->hdr.p - in.p);
	if (ip->l4.p != ip->hdr.p + ip->hdr.len || !inside(in, ip->l4))
		fail("%s: payload at %td, %zu bytes, header %zu, input %zu",
		     what, ip->l4.p - in.p, ip->l4.len, ip->hdr.len, in.len);
	if (quote ? total > IP6_HLEN + plen : total != IP6_HLEN + plen)
		fail("%s: %zu bytes in the view, payload length %zu", what,
		     total, plen);
	if (ip->fraghdr &&
	    (ip->fraghdr < IP6_HLEN || ip->fraghdr + 8U > ip->hdr.len))
		fail("%s: fragment header at %u, header %zu", what,
		     ip->fraghdr, ip->hdr.len);
	if (!ip->fraghdr && (ip->frag || ip->mf || ip->id))
		fail("%s: fragment fields without a fragment header", what);
	if (!ip->frag &&
	    (ip->proto == IPPROTO_HOPOPTS || ip->proto == IPPROTO_ROUTING ||
	     ip->proto == IPPROTO_FRAGMENT || ip->proto == IPPROTO_DSTOPTS))
		fail("%s: walk ended on extension header %u", what,
		     ip->proto);
}

/**
 * check_l4() - parse and check the transport header of a view
 * @ip:		view ip6_parse() or ip6_parse_quote() took
 * @quote:	with l4_parse_quote(), else l4_parse()
 */
static void check_l4(const struct ip_view *ip, bool quote)
{
	struct l4_view l4;
	uint16_t id;

	if (quote ? l4_parse_quote(ip, &l4) : l4_parse(ip, &l4))
		return;
	if (l4.proto != ip->proto || l4.hdr.p != ip->l4.p ||
	    !inside(ip->l4, l4.hdr))
		fail("transport header of %zu bytes, payload %zu",
		     l4.hdr.len, ip->l4.len);
	if (quote) {
		if (l4.hdr.len < 8 || l4.data.len)
			fail("quoted transport header of %zu bytes",
			     l4.hdr.len);
		return;
	}
	if (!inside(ip->l4, l4.data) || l4.data.p != l4.hdr.p + l4.hdr.len)
		fail("transport data not after the header");
	if (ip->proto != IPPROTO_ICMPV6)
		return;
	memcpy(&id, ip->l4.p + 4, sizeof(id));
	if (l4.hdr.len != 8 || l4.data.len != ip->l4.len - 8 ||
	    l4.type != ip->l4.p[0] || l4.code != ip->l4.p[1] ||
	    l4.sport != (l4.type == 128 ? ntohs(id) : 0) ||
	    l4.dport != (l4.type == 129 ? ntohs(id) : 0))
		fail("ICMPv6 type %u: header %zu, ids %u %u", l4.type,
		     l4.hdr.len, l4.sport, l4.dport);
}

/**
 * LLVMFuzzerTestOneInput() - one IPv6 packet, as a packet and as a quote
 * @data:	packet, from the fixed header on
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt in = { data, size };
	struct ip_view ip, q;
	int ret, qret;
	size_t plen;

	ret = ip6_parse(in, &ip);
	qret = ip6_parse_quote(in, &q);
	if (ret != 0 && ret != IP6_E_MALFORMED && ret != IP6_E_UNSAFE)
		fail("ip6_parse() returned %d", ret);
	if (qret != 0 && qret != IP6_E_MALFORMED && qret != IP6_E_UNSAFE)
		fail("ip6_parse_quote() returned %d", qret);
	if (size < IP6_HLEN) {
		if (ret || qret)
			return 0;
		fail("took %zu bytes", size);
	}
	plen = (size_t)data[4] << 8 | data[5];

	if (ret == IP6_E_UNSAFE)
		check_fixed(in, &ip, "ip6_parse(), unsafe");
	if (qret == IP6_E_UNSAFE)
		check_fixed(in, &q, "ip6_parse_quote(), unsafe");
	if (!ret) {
		check_view(in, &ip, plen, false);
		if (!ip.frag)
			check_l4(&ip, false);
	}
	if (!qret) {
		check_view(in, &q, plen, true);
		if (!q.frag)
			check_l4(&q, true);
	}

	/* Whole: a quote of it is the packet */
	if (plen <= size - IP6_HLEN) {
		if (ret != qret)
			fail("whole packet: ip6_parse() %d, quote %d", ret,
			     qret);
		if (!ret &&
		    (ip.hdr.len != q.hdr.len || ip.l4.len != q.l4.len ||
		     ip.proto != q.proto || ip.fraghdr != q.fraghdr ||
		     ip.id != q.id || ip.frag != q.frag || ip.mf != q.mf ||
		     ip.tos != q.tos || ip.flowlabel != q.flowlabel))
			fail("whole packet: views differ as a quote");
	} else if (!ret) {
		fail("payload length %zu past %zu bytes taken", plen, size);
	}
	return 0;
}
