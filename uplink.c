// SPDX-License-Identifier: GPL-2.0-or-later
/* uplink.c - guest packets sent as Ethernet frames on the host's uplink,
 *	      consecutive TCP segments of a flow joined into one GSO packet
 *
 * Copyright (c) 2026 merd authors
 *
 * A raw IP socket takes one packet a send, and the kernel routes, filters
 * and queues each: for a guest's bulk upload that is one trip through
 * ip_output() every 1,448 bytes, and on a veth the peer's receive of each
 * too, in merd's time (doc/design.md, "Side by side"). A TCP socket, as
 * passt has, hands the kernel 64 KiB at a time instead, which it cuts only
 * at the device, or never (veth takes GSO packets whole).
 *
 * merd gets the same: where the next hop of a packet's destination is on
 * the uplink and the kernel knows its Ethernet address (neigh.c), the
 * packet goes out as a frame on an AF_PACKET socket with PACKET_VNET_HDR.
 * A run of a flow's segments in the send batch, in sequence, with the same
 * headers but for sequence number, lengths and checksums, goes as one
 * packet with a virtio-net header asking for segmentation (GSO) at the
 * segments' own size: the device, or the kernel's GSO just before it, cuts
 * it into exactly the segments the guest sent, as tcp_gso_segment() does
 * (sequence numbers, IPv4 identifications counting up, PSH and FIN on the
 * last, checksums anew). The guest's checksum of every segment is checked
 * first, as GRO does, so that the new ones can't hide damage.
 *
 * What this skips of the host: its routing for the packet (neigh.c asked
 * the kernel for the route of each destination, and forgets them when
 * routes change), its netfilter output hooks, and its neighbour state
 * machine (neigh.c sends a packet the kernel's way now and then to keep
 * it going). Everything else, and everything when this is off, goes
 * through the raw sockets as before.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "csum.h"
#include "ip.h"
#include "ip4.h"
#include "ip6.h"
#include "merd.h"
#include "neigh.h"
#include "tcp.h"
#include "uplink.h"

/* What precedes the IP header in a frame sent: virtio-net header, then
 * Ethernet
 */
#define UPLINK_PRE	(sizeof(struct virtio_net_hdr) + ETH_HLEN)
/* Pieces of one message: the header above, the IP and TCP headers, then
 * the payload of each segment in the run
 */
#define UPLINK_IOV	(2 + RAW_BATCH)
/* IPv4 flags and fragment offset: a fragment has either set */
#define UPLINK_IP4_FRAG	0x3fff

/* The host's count of tracked connections, in its network namespace */
#define UPLINK_CT_COUNT	"/proc/sys/net/netfilter/nf_conntrack_count"
/* Digits and a newline: the count is an unsigned int */
#define UPLINK_CT_LEN	16

/**
 * uplink_init() - open the AF_PACKET socket that sends on the uplink
 * @c:		context: the uplink's interface known
 *
 * The socket's protocol is 0: it receives nothing, so it costs the host's
 * receive path nothing (no tap on every frame, as ETH_P_ALL would be).
 * The count of the host's tracked connections is opened now too, while
 * merd can still open files; uplink_timer() reads it.
 *
 * Without the socket, or with --no-gso, the raw sockets send everything.
 */
void uplink_init(struct ctx *c)
{
	struct uplink *u = &c->fwd.up;
	int one = 1, fd;

	u->on = u->use = false;
	u->forced = c->opts.gso_forced;
	u->fd_ct = -1;
	if (!c->opts.gso)
		return;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		warn("no GSO sends on the uplink: AF_PACKET socket: %s",
		     strerror(errno));
		return;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) {
		warn("no GSO sends on the uplink: PACKET_VNET_HDR: %s",
		     strerror(errno));
		close(fd);
		return;
	}
	u->fd = fd;
	u->on = true;
	u->fd_ct = open(UPLINK_CT_COUNT, O_RDONLY | O_CLOEXEC);
	/* No connection tracking in the kernel: nothing to keep in step */
	u->use = u->forced || u->fd_ct < 0;
}

/**
 * uplink_close() - close the AF_PACKET socket and the count
 * @u:		uplink
 */
void uplink_close(struct uplink *u)
{
	if (u->on)
		close(u->fd);
	if (u->fd_ct >= 0)
		close(u->fd_ct);
	u->on = u->use = false;
	u->fd_ct = -1;
}

/**
 * uplink_ct_count() - read the host's count of tracked connections
 * @u:		uplink, @fd_ct open
 *
 * Return: the count, -1 if it can't be read
 */
static long uplink_ct_count(const struct uplink *u)
{
	char buf[UPLINK_CT_LEN];
	ssize_t n;

	if (lseek(u->fd_ct, 0, SEEK_SET) < 0)
		return -1;
	n = read(u->fd_ct, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/**
 * uplink_tracked() - stop sending on the uplink if the host tracks now
 * @c:		context
 * @n:		the host's count of tracked connections
 *
 * Return: true if it tracks (the path isn't in use, or no longer)
 */
static bool uplink_tracked(struct ctx *c, long n)
{
	struct uplink *u = &c->fwd.up;

	if (!n)
		return false;
	if (u->use) {
		u->use = false;
		info("the host tracks connections: guest packets leave "
		     "through its IP output, where its firewall sees them "
		     "(--gso to send frames on %s anyway)", c->host.ifname);
	}
	return true;
}

/**
 * uplink_timer() - send on the uplink only while the host tracks nothing
 * @c:		context
 *
 * Frames sent here never pass the host's netfilter hooks, so its
 * connection tracking would never see the guest's side of a flow, and a
 * stateful firewall (one that drops what is "invalid", as firewalld does)
 * would drop the peer's answers. Linux tracks connections in a network
 * namespace only once a rule there needs it: then every packet merd sends
 * through the raw sockets leaves an entry, for 30 s at least (the UDP and
 * ICMP timeouts; longer for TCP). So once a second: while the count is
 * above zero, everything goes through the raw sockets, the host's own
 * output path; once raw packets have left and the count stays at zero,
 * nothing tracks them, and frames on the uplink are safe again. Every
 * SYN leaves through the raw sockets, and uplink_syn_sent() looks at the
 * count at once, before the flow's data can take the path. --gso sends
 * there whatever the count says.
 */
void uplink_timer(struct ctx *c)
{
	struct uplink *u = &c->fwd.up;
	uint64_t sent = c->fwd.raw.sent;

	if (!u->on || u->forced || u->fd_ct < 0)
		return;
	if (!uplink_tracked(c, uplink_ct_count(u)) && !u->use &&
	    sent != u->raw_seen) {
		u->use = true;
		info("the host tracks no connections: guest packets leave as "
		     "frames on %s", c->host.ifname);
	}
	u->raw_seen = sent;
}

/**
 * uplink_syn_sent() - look at the host's count once a SYN left through
 *		       the raw sockets, while the path is in use
 * @c:		context
 *
 * The kernel tracked the SYN, if a rule makes it track, before the send
 * returned: the count is above zero now, and the flow's first segment of
 * data, a round trip away, already leaves through the host's IP output.
 * Without this, a firewall loaded while the path is in use would see that
 * flow's first second only in the peer's answers, and drop them all as
 * invalid. Costs two system calls a new TCP flow, only while the path is
 * in use.
 */
void uplink_syn_sent(struct ctx *c)
{
	struct uplink *u = &c->fwd.up;

	u->syn_raw = false;
	if (u->use && !u->forced && u->fd_ct >= 0)
		uplink_tracked(c, uplink_ct_count(u));
}

/**
 * uplink_ifi() - the interface a family's packets leave on, if this path
 *		  can take them
 * @c:		context
 * @v6:		IPv6
 *
 * Frames carry the uplink's own MAC address as their source: only the
 * interface it was read from can take them.
 *
 * Return: interface index, 0 if the family doesn't use this path
 */
static unsigned int uplink_ifi(const struct ctx *c, bool v6)
{
	if (!c->fwd.up.use || !c->host.ifi)
		return 0;
	if (v6 && c->host.ifi6 != c->host.ifi)
		return 0;
	return c->host.ifi;
}

/**
 * uplink_tcp_off() - where a packet's TCP header starts, if it is TCP
 * @o:		packet, headers filled in
 *
 * Return: the IP header's length, 0 unless the packet is TCP and its
 *	   headers hold a whole TCP header after it
 */
static size_t uplink_tcp_off(const struct raw_out *o)
{
	const uint8_t *h = o->hdr;
	size_t l3len;

	if (o->v6) {
		if (h[offsetof(struct ip6_hdr, ip6_nxt)] != IPPROTO_TCP)
			return 0;
		l3len = IP6_HLEN;
	} else {
		if (h[offsetof(struct iphdr, protocol)] != IPPROTO_TCP)
			return 0;
		l3len = (size_t)(h[0] & 0x0f) * 4;
	}
	return o->iov[0].iov_len >= l3len + TCP_HLEN_MIN ? l3len : 0;
}

/**
 * uplink_tcp_on() - tell whether a packet is TCP, past its flow's SYN
 * @o:		packet, headers filled in
 *
 * Only those leave as frames: TCP is where the gain is, and everything
 * else, SYNs above all, goes on through the host's IP output, so that a
 * host that starts tracking connections sees merd's flows begin, and
 * uplink_timer() the count rise.
 *
 * Return: true for a TCP segment without SYN, not a fragment
 */
static bool uplink_tcp_on(const struct raw_out *o)
{
	size_t l3len = uplink_tcp_off(o);
	uint16_t frag;

	if (!l3len)
		return false;
	if (!o->v6) {
		memcpy(&frag, o->hdr + offsetof(struct iphdr, frag_off),
		       sizeof(frag));
		if (ntohs(frag) & UPLINK_IP4_FRAG)
			return false;
	}
	return !(o->hdr[l3len + TCP_OFF_FLAGS] & TH_SYN);
}

/**
 * uplink_is_syn() - tell whether a packet is a TCP SYN (or SYN-ACK)
 * @o:		packet, headers filled in
 *
 * Return: true if it is
 */
static bool uplink_is_syn(const struct raw_out *o)
{
	size_t l3len = uplink_tcp_off(o);

	return l3len && (o->hdr[l3len + TCP_OFF_FLAGS] & TH_SYN);
}

/**
 * uplink_take() - decide whether a packet in the send batch leaves here
 * @c:		context
 * @o:		packet, filled in, before raw_out_commit()
 *
 * Sets @o->up, and @o->mac to the next hop's address, when it does.
 *
 * Return: true if it leaves as a frame on the uplink
 */
bool uplink_take(struct ctx *c, struct raw_out *o)
{
	union inany_addr a;
	const uint8_t *mac;

	o->up = false;
	if (!uplink_ifi(c, o->v6))
		return false;
	if (!uplink_tcp_on(o)) {
		if (uplink_is_syn(o))
			c->fwd.up.syn_raw = true;
		return false;
	}
	if (o->v6)
		a.a6 = o->dst6.sin6_addr;
	else
		inany_from_v4(&a, o->dst.sin_addr.s_addr);
	mac = neigh_mac(c, &a);
	if (!mac)
		return false;
	memcpy(o->mac, mac, ETH_ALEN);
	o->up = true;
	return true;
}

/**
 * uplink_l3len() - length of the IP header of a packet that may join a run
 * @o:		packet
 *
 * Only TCP in a plain header joins: IPv4 without options or fragments,
 * IPv6 without extension headers.
 *
 * Return: IP header length, 0 if the packet can't join a run
 */
static size_t uplink_l3len(const struct raw_out *o)
{
	const uint8_t *h = o->hdr;
	uint16_t frag;

	if (o->v6) {
		if (o->iov[0].iov_len < IP6_HLEN + TCP_HLEN_MIN ||
		    h[offsetof(struct ip6_hdr, ip6_nxt)] != IPPROTO_TCP)
			return 0;
		return IP6_HLEN;
	}
	if (o->iov[0].iov_len < IP4_HLEN_MIN + TCP_HLEN_MIN ||
	    h[0] != 0x45 || h[offsetof(struct iphdr, protocol)] != IPPROTO_TCP)
		return 0;
	memcpy(&frag, h + offsetof(struct iphdr, frag_off), sizeof(frag));
	if (ntohs(frag) & UPLINK_IP4_FRAG)
		return 0;
	return IP4_HLEN_MIN;
}

/**
 * uplink_same() - tell whether two headers match but for what GSO changes
 * @a:		headers of one segment
 * @b:		headers of the next
 * @len:	their length (the same)
 * @l3len:	IP header length
 *
 * GSO gives every segment the first one's headers, but for the lengths,
 * checksums, IPv4 identification, sequence number, and PSH and FIN, which
 * only the last keeps. The caller checked the sequence numbers and flags.
 *
 * Return: true if the rest is the same
 */
static bool uplink_same(const uint8_t *a, const uint8_t *b, size_t len,
			size_t l3len)
{
	const uint8_t *ta = a + l3len, *tb = b + l3len;

	if (l3len == IP6_HLEN) {
		/* Version, class and flow label; next header on */
		if (memcmp(a, b, 4) != 0 ||
		    memcmp(a + 6, b + 6, IP6_HLEN - 6) != 0)
			return false;
	} else {
		/* Version to TOS; flags to protocol; the addresses */
		if (memcmp(a, b, 2) != 0 || memcmp(a + 6, b + 6, 4) != 0 ||
		    memcmp(a + 12, b + 12, 8) != 0)
			return false;
	}
	/* Ports; acknowledgment, offset, flags (checked apart) and window;
	 * urgent pointer and options
	 */
	return !memcmp(ta, tb, 4) && !memcmp(ta + 8, tb + 8, 5) &&
	       !memcmp(ta + 14, tb + 14, 2) &&
	       !memcmp(ta + 18, tb + 18, len - l3len - 18);
}

/**
 * uplink_tcp_ok() - check the guest's checksum of a segment
 * @o:		the segment, headers rewritten (NAT kept the sum valid)
 * @l3len:	its IP header length
 *
 * Return: true if it is right
 */
static bool uplink_tcp_ok(const struct raw_out *o, size_t l3len)
{
	size_t l4len = o->iov[0].iov_len - l3len + o->iov[1].iov_len;
	const uint8_t *h = o->hdr;
	uint32_t sum;

	if (o->v6) {
		const struct ip6_hdr *ip6 = (const struct ip6_hdr *)h;

		sum = csum_pseudo6(&ip6->ip6_src, &ip6->ip6_dst, IPPROTO_TCP,
				   (uint32_t)l4len);
	} else {
		uint32_t s, d;

		memcpy(&s, h + offsetof(struct iphdr, saddr), sizeof(s));
		memcpy(&d, h + offsetof(struct iphdr, daddr), sizeof(d));
		sum = csum_pseudo4(s, d, IPPROTO_TCP, (uint16_t)l4len);
	}
	/* The header's length is a multiple of 4: the payload's sum adds on */
	sum = csum_partial(h + l3len, o->iov[0].iov_len - l3len, sum);
	sum = csum_partial(o->iov[1].iov_base, o->iov[1].iov_len, sum);
	return csum_fold(sum) == 0xffff;
}

/**
 * uplink_seq() - a segment's sequence number
 * @o:		segment
 * @l3len:	its IP header length
 *
 * Return: sequence number, host order
 */
static uint32_t uplink_seq(const struct raw_out *o, size_t l3len)
{
	uint32_t seq;

	memcpy(&seq, o->hdr + l3len + offsetof(struct tcphdr, seq),
	       sizeof(seq));
	return ntohl(seq);
}

/**
 * uplink_id() - a segment's IPv4 identification
 * @o:		IPv4 segment
 *
 * Return: identification, host order
 */
static uint16_t uplink_id(const struct raw_out *o)
{
	uint16_t id;

	memcpy(&id, o->hdr + offsetof(struct iphdr, id), sizeof(id));
	return ntohs(id);
}

/**
 * uplink_run() - how many packets from one on leave together
 * @r:		send batch
 * @i:		first packet, to leave here (@up set)
 *
 * A run is a flow's segments one after the other in the batch, in
 * sequence (and, for IPv4, identifications counting up by one, as GSO
 * numbers its segments: as GRO, merd won't join what GSO wouldn't give
 * back), all the first one's size but the last, which may be shorter,
 * with the same headers (uplink_same()), none but the last with PSH (as
 * GRO ends a run there), no SYN, FIN, RST, URG or CWR, and no more than an
 * IPv4 packet holds.
 *
 * Return: packets in the run, 1 for one that leaves alone
 */
static int uplink_run(const struct raw *r, int i)
{
	const struct raw_out *first = &r->out[i], *prev = first;
	size_t l3len = uplink_l3len(first), seg = first->iov[1].iov_len;
	size_t hlen = first->iov[0].iov_len, total = hlen + seg;
	const uint8_t nopsh = (uint8_t)~TH_PUSH;
	int j;

	if (!l3len || !seg || first->gso ||
	    (first->hdr[l3len + TCP_OFF_FLAGS] & nopsh) != TH_ACK)
		return 1;
	for (j = i + 1; j < r->nout; j++) {
		const struct raw_out *o = &r->out[j];
		size_t len = o->iov[1].iov_len;
		uint8_t flags = o->hdr[l3len + TCP_OFF_FLAGS];

		if (!o->up || o->v6 != first->v6 || o->gso ||
		    o->iov[0].iov_len != hlen || !len || len > seg ||
		    total + len > IP_MAXPACKET ||
		    prev->iov[1].iov_len != seg ||
		    (prev->hdr[l3len + TCP_OFF_FLAGS] & TH_PUSH) ||
		    (flags & nopsh) != TH_ACK ||
		    memcmp(o->mac, first->mac, ETH_ALEN) != 0 ||
		    uplink_seq(o, l3len) != uplink_seq(prev, l3len) + seg ||
		    (!o->v6 &&
		     uplink_id(o) != (uint16_t)(uplink_id(prev) + 1)) ||
		    !uplink_same(first->hdr, o->hdr, hlen, l3len))
			break;
		total += len;
		prev = o;
	}
	return j - i;
}

/**
 * uplink_super() - turn a run's first header into the GSO packet's
 * @o:		first packet of the run
 * @l3len:	its IP header length
 * @payload:	payload bytes of the whole run
 * @psh:	the last segment has PSH
 *
 * Lengths cover the whole run; the TCP checksum holds the pseudo-header's
 * sum only, for the kernel to complete (VIRTIO_NET_HDR_F_NEEDS_CSUM, as
 * CHECKSUM_PARTIAL has it); the IPv4 header's is computed, GSO computes
 * each segment's anew anyway.
 */
static void uplink_super(struct raw_out *o, size_t l3len, size_t payload,
			 bool psh)
{
	size_t hlen = o->iov[0].iov_len, l4len = hlen - l3len + payload;
	uint8_t *h = o->hdr;
	uint16_t v, check;
	uint32_t sum;

	if (o->v6) {
		const struct ip6_hdr *ip6 = (const struct ip6_hdr *)h;

		v = htons((uint16_t)l4len);
		memcpy(h + offsetof(struct ip6_hdr, ip6_plen), &v, sizeof(v));
		sum = csum_pseudo6(&ip6->ip6_src, &ip6->ip6_dst, IPPROTO_TCP,
				   (uint32_t)l4len);
	} else {
		uint32_t s, d;

		v = htons((uint16_t)(hlen + payload));
		memcpy(h + offsetof(struct iphdr, tot_len), &v, sizeof(v));
		memset(h + offsetof(struct iphdr, check), 0, sizeof(v));
		check = csum_ip4_header(h, l3len);
		memcpy(h + offsetof(struct iphdr, check), &check, sizeof(v));
		memcpy(&s, h + offsetof(struct iphdr, saddr), sizeof(s));
		memcpy(&d, h + offsetof(struct iphdr, daddr), sizeof(d));
		sum = csum_pseudo4(s, d, IPPROTO_TCP, (uint16_t)l4len);
	}
	if (psh)
		h[l3len + TCP_OFF_FLAGS] |= TH_PUSH;
	check = csum_fold(sum);
	memcpy(h + l3len + TCP_OFF_CHECK, &check, sizeof(check));
}

/**
 * uplink_pre() - fill in the virtio-net and Ethernet headers of a frame
 * @c:		context
 * @pre:	UPLINK_PRE bytes
 * @o:		first packet of what the frame carries
 * @l3len:	its IP header length, if GSO
 * @gso:	segment size to cut at, 0 for a packet sent as it is
 *
 * The virtio-net header's fields are in the host's byte order, as
 * AF_PACKET reads them (legacy virtio, little-endian on little-endian
 * hosts).
 */
static void uplink_pre(const struct ctx *c, uint8_t *pre,
		       const struct raw_out *o, size_t l3len, size_t gso)
{
	struct virtio_net_hdr vh = { 0 };
	struct ethhdr eh;

	if (gso) {
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.gso_type = o->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
				      VIRTIO_NET_HDR_GSO_TCPV4;
		/* RFC 3168 6.1.2: CWR on the first segment only, which a NIC
		 * without ECN segmentation wouldn't do: the kernel then cuts
		 */
		if (o->hdr[l3len + TCP_OFF_FLAGS] & TCP_FLAG_CWR)
			vh.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		vh.hdr_len = (uint16_t)(ETH_HLEN + o->iov[0].iov_len);
		vh.gso_size = (uint16_t)gso;
		vh.csum_start = (uint16_t)(ETH_HLEN + l3len);
		vh.csum_offset = TCP_OFF_CHECK;
	}
	memcpy(eh.h_dest, o->mac, ETH_ALEN);
	memcpy(eh.h_source, c->host.mac, ETH_ALEN);
	eh.h_proto = htons(o->v6 ? ETH_P_IPV6 : ETH_P_IP);
	memcpy(pre, &vh, sizeof(vh));
	memcpy(pre + sizeof(vh), &eh, sizeof(eh));
}

/**
 * struct uplink_batch - messages of one uplink_flush()
 * @mm:		messages
 * @iov:	their pieces
 * @pre:	their virtio-net and Ethernet headers
 * @first:	each message's first packet in the send batch
 * @cnt:	packets each message carries
 * @n:		messages
 */
struct uplink_batch {
	struct mmsghdr mm[RAW_BATCH];
	struct iovec iov[RAW_BATCH][UPLINK_IOV];
	uint8_t pre[RAW_BATCH][UPLINK_PRE];
	int first[RAW_BATCH];
	int cnt[RAW_BATCH];
	int n;
};

/**
 * uplink_add() - add one message, of a run of packets, to the batch
 * @c:		context
 * @b:		messages so far
 * @i:		the run's first packet
 * @n:		packets in the run (uplink_run())
 *
 * The run ends before the first segment whose checksum doesn't hold; a
 * damaged first one leaves alone, as it came, for the peer to drop, as it
 * would have.
 *
 * Return: packets the message carries
 */
static int uplink_add(struct ctx *c, struct uplink_batch *b, int i, int n)
{
	struct raw_out *o = &c->fwd.raw.out[i];
	size_t l3len = uplink_l3len(o), gso = o->gso;
	struct iovec *iov = b->iov[b->n];
	int k;

	if (gso) {	/* one large segment (fwd_out_cut()) */
		if (!uplink_tcp_ok(o, l3len)) {
			drop(c, DROP_CSUM, "tcp: guest segment with a bad "
			     "checksum, dropped");
			return 1;
		}
		uplink_super(o, l3len, o->iov[1].iov_len,
			     o->hdr[l3len + TCP_OFF_FLAGS] & TH_PUSH);
		c->fwd.up.gso++;
		c->fwd.up.segs += (o->iov[1].iov_len + gso - 1) / gso;
	}
	for (k = 0; n > 1 && k < n; k++) {
		if (!uplink_tcp_ok(&c->fwd.raw.out[i + k], l3len))
			n = k ? k : 1;
	}
	if (n > 1) {
		const struct raw_out *last = &c->fwd.raw.out[i + n - 1];
		size_t payload = 0;

		gso = o->iov[1].iov_len;
		for (k = 0; k < n; k++)
			payload += c->fwd.raw.out[i + k].iov[1].iov_len;
		uplink_super(o, l3len, payload,
			     last->hdr[l3len + TCP_OFF_FLAGS] & TH_PUSH);
		c->fwd.up.gso++;
		c->fwd.up.segs += (uint64_t)n;
	}
	uplink_pre(c, b->pre[b->n], o, l3len, gso);
	iov[0].iov_base = b->pre[b->n];
	iov[0].iov_len = UPLINK_PRE;
	iov[1] = o->iov[0];
	for (k = 0; k < n; k++)
		iov[2 + k] = c->fwd.raw.out[i + k].iov[1];

	memset(&b->mm[b->n], 0, sizeof(b->mm[b->n]));
	b->mm[b->n].msg_hdr.msg_iov = iov;
	b->mm[b->n].msg_hdr.msg_iovlen = 2 + (size_t)n;
	b->first[b->n] = i;
	b->cnt[b->n++] = n;
	c->fwd.up.frames++;
	return n;
}

/**
 * uplink_refused() - report a message the kernel refused
 * @c:		context
 * @b:		messages
 * @k:		the one refused
 * @err:	errno
 * @on_err:	called for its first packet, as a raw send's failure is
 *
 * The other packets it carried count as dropped for the same reason.
 */
static void uplink_refused(struct ctx *c, const struct uplink_batch *b,
			   int k, int err, raw_err_fn on_err)
{
	on_err(c, &c->fwd.raw.out[b->first[k]], err);
	c->drops[raw_drop_why(err)] += (uint64_t)(b->cnt[k] - 1);
}

/**
 * uplink_flush() - send the batch's packets that leave on the uplink
 * @c:		context
 * @on_err:	called for a packet the kernel refused, with its errno
 *
 * Sends the packets uplink_take() chose (@up set), in runs; raw_flush()
 * sends the rest. A full socket ends the batch, and what is left is
 * reported with the same errno, without another system call.
 */
void uplink_flush(struct ctx *c, raw_err_fn on_err)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = (int)c->host.ifi };
	struct raw *r = &c->fwd.raw;
	struct uplink_batch b;
	int i, n, done = 0;

	b.n = 0;
	for (i = 0; i < r->nout; i += n) {
		n = 1;
		if (r->out[i].up)
			n = uplink_add(c, &b, i, uplink_run(r, i));
	}
	for (i = 0; i < b.n; i++) {
		b.mm[i].msg_hdr.msg_name = &sll;
		b.mm[i].msg_hdr.msg_namelen = sizeof(sll);
	}
	while (done < b.n) {
		int sent = sendmmsg(c->fwd.up.fd, b.mm + done,
				    (unsigned int)(b.n - done), MSG_DONTWAIT);
		int err = errno;

		if (sent >= 0) {
			done += sent;
			continue;
		}
		if (err == EINTR)
			continue;
		uplink_refused(c, &b, done++, err, on_err);
		while (raw_full(err) && done < b.n)
			uplink_refused(c, &b, done++, err, on_err);
	}
}
