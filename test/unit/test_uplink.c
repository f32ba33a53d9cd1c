// SPDX-License-Identifier: GPL-2.0-or-later
/* test_uplink.c - unit tests for merd's sends on the uplink: guest packets
 *		   as Ethernet frames on the AF_PACKET socket, a flow's
 *		   consecutive segments joined into one GSO packet, --tso's
 *		   large segments sent whole
 *
 * Copyright (c) 2026 merd authors
 *
 * What matters is what the network sees: the kernel (or the NIC) cuts a
 * GSO packet at the device, so each frame merd hands the AF_PACKET socket
 * is cut here as tcp_gso_segment() and inet_gso_segment() would cut it
 * (every segment the super packet's headers, the sequence number advanced
 * by gso_size a segment, the IPv4 identification counting up, PSH and FIN
 * on the last only, CWR on the first only, the lengths and the IPv4 header
 * checksum anew), and its NEEDS_CSUM checksum completed as the kernel
 * does: the super header's pseudo-header sum adjusted for each segment's
 * length, then the sum over the TCP header and payload. The same guest
 * packets are sent twice, from the same seed: once with the uplink path
 * off, where merd hands every one to the raw sockets, and once on; the
 * segments that would reach the wire must be the same, byte for byte.
 *
 * The binary is linked with -Wl,--wrap=sendmmsg,--wrap=neigh_mac:
 * __wrap_sendmmsg() keeps what merd sends on the environment's raw
 * descriptors (-1) and on the AF_PACKET socket (UP_FD, never opened), or
 * fails the latter as a full socket would; __wrap_neigh_mac() answers
 * with the next hop's address the test chose (or none), without netlink.
 */

#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "conntrack.h"
#include "frag.h"
#include "fwd.h"
#include "env6.h"
#include "conn.h"
#include "neigh.h"
#include "uplink.h"

#define PEER2		0xc0000251	/* 192.0.2.81 */
#define GPORT		40522
#define PPORT		443
#define HPORT		61001
#define UP_FD		1000		/* the AF_PACKET socket: never opened */
#define UP_IFI		3		/* the uplink's interface */
#define GUEST_MTU	65520		/* the guest's link, for --tso */

/* The uplink's MAC address, and its next hop's */
static const uint8_t host_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0xaa, 0xbb,
					    0x01 };
static const uint8_t hop_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0xcc, 0xdd,
					   0x02 };

/* Timestamps option, two NOPs first: 12 bytes */
static const uint8_t ts[12] = { 1, 1, 8, 10, 0, 0, 1, 2, 3, 4, 5, 6 };

/* What __wrap_sendmmsg() keeps */
#define RAW_CAP_MAX	256
#define RAW_CAP_LEN	9216
#define UP_CAP_MAX	64
#define UP_CAP_LEN	(RAW_PKT_MAX + 64)

/**
 * struct cap - a message merd handed sendmmsg()
 * @len:	its length, its pieces joined
 * @namelen:	length of its address
 * @name:	its address
 * @p:		its bytes
 */
struct cap {
	size_t len;
	socklen_t namelen;
	struct sockaddr_storage name;
	uint8_t *p;
};

static uint8_t raw_buf[RAW_CAP_MAX][RAW_CAP_LEN];
static uint8_t up_buf[UP_CAP_MAX][UP_CAP_LEN];
static struct cap raw_cap[RAW_CAP_MAX], up_cap[UP_CAP_MAX];
static int nraw, nup;
/* sendmmsg() calls on the AF_PACKET socket, and messages it was offered */
static int up_calls, up_offered;
/* Messages the AF_PACKET socket takes before it is full, -1: no end */
static int up_room = -1;
/* What __wrap_neigh_mac() answers, and how often it was asked */
static const uint8_t *neigh_answer;
static int neigh_asked;

int __real_sendmmsg(int fd, struct mmsghdr *mm, unsigned int n, int flags);
int __wrap_sendmmsg(int fd, struct mmsghdr *mm, unsigned int n, int flags);
const uint8_t *__wrap_neigh_mac(struct ctx *c, const union inany_addr *dst);

/* cap_keep() - copy message @mm into @cap, its bytes into @buf */
static void cap_keep(struct cap *cap, uint8_t *buf, size_t size,
		     struct mmsghdr *mm)
{
	const struct msghdr *mh = &mm->msg_hdr;
	size_t k;

	cap->p = buf;
	cap->len = 0;
	for (k = 0; k < mh->msg_iovlen; k++) {
		const struct iovec *v = &mh->msg_iov[k];

		assert_true(cap->len + v->iov_len <= size);
		memcpy(buf + cap->len, v->iov_base, v->iov_len);
		cap->len += v->iov_len;
	}
	memset(&cap->name, 0, sizeof(cap->name));
	cap->namelen = (socklen_t)mh->msg_namelen;
	assert_true(cap->namelen <= sizeof(cap->name));
	memcpy(&cap->name, mh->msg_name, cap->namelen);
	mm->msg_len = (unsigned int)cap->len;
}

/**
 * __wrap_sendmmsg() - keep what merd sends on the raw sockets (negative
 *		       descriptors) and on the AF_PACKET socket (UP_FD)
 * @fd:		descriptor
 * @mm:		messages
 * @n:		their number
 * @flags:	flags
 *
 * The AF_PACKET socket takes @up_room messages more, then fails with
 * EAGAIN, as a full socket does.
 *
 * Return: messages taken, -1 with errno set, or what sendmmsg() returns
 */
int __wrap_sendmmsg(int fd, struct mmsghdr *mm, unsigned int n, int flags)
{
	unsigned int i;

	if (fd == UP_FD) {
		up_calls++;
		up_offered += (int)n;
		assert_int_equal(flags, MSG_DONTWAIT);
		if (!up_room) {
			errno = EAGAIN;
			return -1;
		}
		if (up_room > 0 && n > (unsigned int)up_room)
			n = (unsigned int)up_room;
		for (i = 0; i < n; i++) {
			assert_true(nup < UP_CAP_MAX);
			cap_keep(&up_cap[nup], up_buf[nup], UP_CAP_LEN,
				 &mm[i]);
			nup++;
		}
		if (up_room > 0)
			up_room -= (int)n;
		return (int)n;
	}
	if (fd >= 0)
		return __real_sendmmsg(fd, mm, n, flags);
	for (i = 0; i < n; i++) {
		assert_true(nraw < RAW_CAP_MAX);
		cap_keep(&raw_cap[nraw], raw_buf[nraw], RAW_CAP_LEN, &mm[i]);
		nraw++;
	}
	return (int)n;
}

/**
 * __wrap_neigh_mac() - the next hop's MAC the test chose, or none
 * @c:		context
 * @dst:	destination: the peer, always, here
 *
 * Return: @neigh_answer
 */
const uint8_t *__wrap_neigh_mac(struct ctx *c, const union inany_addr *dst)
{
	(void)c;
	(void)dst;
	neigh_asked++;
	return neigh_answer;
}

/* caps_reset() - forget what was sent */
static void caps_reset(void)
{
	nraw = nup = 0;
	up_calls = up_offered = 0;
}

/**
 * struct seglist - the segments that reach the wire, IP header on
 * @n:		how many
 * @len:	their lengths
 * @p:		their bytes, allocated
 */
#define SEG_MAX		256
struct seglist {
	int n;
	size_t len[SEG_MAX];
	uint8_t *p[SEG_MAX];
};

/* seg_add() - append a copy of @len bytes at @p to @l, as a segment */
static uint8_t *seg_add(struct seglist *l, const uint8_t *p, size_t len)
{
	assert_true(l->n < SEG_MAX);
	l->p[l->n] = dup_exact(p, len);
	l->len[l->n] = len;
	return l->p[l->n++];
}

/* seg_free() - release the segments of @l */
static void seg_free(struct seglist *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		free(l->p[i]);
	l->n = 0;
}

/* up_vh() - the virtio-net header of AF_PACKET message @i */
static struct virtio_net_hdr up_vh(int i)
{
	struct virtio_net_hdr vh;

	assert_true(i < nup);
	memcpy(&vh, up_cap[i].p, sizeof(vh));
	return vh;
}

/**
 * cut() - the segments AF_PACKET message @m puts on the wire, as the
 *	   kernel's GSO cuts it (see the top of the file)
 * @m:		the message
 * @out:	segments appended to it
 *
 * Checks the frame on the way: addressed to the uplink, from its MAC to
 * the next hop's, and, for GSO, virtio-net header fields that describe
 * the packet's headers, length fields over all of it.
 *
 * Return: number of segments
 */
static int cut(const struct cap *m, struct seglist *out)
{
	const struct sockaddr_ll *sll = (const struct sockaddr_ll *)&m->name;
	const size_t pre = sizeof(struct virtio_net_hdr) + ETH_HLEN;
	const uint8_t *eh = m->p + sizeof(struct virtio_net_hdr);
	const uint8_t *ip = m->p + pre, *th;
	size_t iplen, l3, thl, hlen, payload, l4len, mss, off;
	struct virtio_net_hdr vh;
	uint32_t seq;
	uint16_t id;
	bool v6;
	int n, k;

	assert_int_equal(m->namelen, sizeof(*sll));
	assert_int_equal(sll->sll_family, AF_PACKET);
	assert_int_equal(sll->sll_ifindex, UP_IFI);
	assert_true(m->len > pre + 20);
	memcpy(&vh, m->p, sizeof(vh));
	iplen = m->len - pre;
	v6 = (ip[0] >> 4) == 6;
	assert_memory_equal(eh, hop_mac, ETH_ALEN);
	assert_memory_equal(eh + ETH_ALEN, host_mac, ETH_ALEN);
	assert_int_equal(get16(eh + 12), v6 ? ETH_P_IPV6 : ETH_P_IP);

	if (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		/* Sent as it is: the kernel touches nothing */
		assert_int_equal(vh.flags, 0);
		assert_int_equal(vh.gso_size, 0);
		seg_add(out, ip, iplen);
		return 1;
	}

	l3 = v6 ? R6_HLEN : ip_hlen(ip);
	th = ip + l3;
	thl = (size_t)(th[R_TCP_DOFF] >> 4) * 4;
	hlen = l3 + thl;
	l4len = iplen - l3;
	assert_true(iplen >= hlen);
	payload = iplen - hlen;
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN,
			 v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
			      VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.hdr_len, ETH_HLEN + hlen);
	assert_int_equal(vh.csum_start, ETH_HLEN + l3);
	assert_int_equal(vh.csum_offset, R_TCP_CHECK);
	assert_true(vh.gso_size > 0);
	if (v6) {
		assert_int_equal(ip[R6_NH], IPPROTO_TCP);
		assert_int_equal(get16(ip + R6_PLEN), l4len);
	} else {
		assert_int_equal(ip[R_IP_PROTO], IPPROTO_TCP);
		assert_int_equal(get16(ip + R_IP_LEN), iplen);
		assert_int_equal(get16(ip + R_IP_FRAG) & (R_MF | R_OFFMASK),
				 0);
		assert_true(ip_csum_ok(ip));
	}

	/* virtio_net_hdr_to_skb(): no larger than gso_size, not GSO, but
	 * the checksum is completed all the same
	 */
	mss = vh.gso_size;
	n = !mss || payload <= mss ? 1 : (int)((payload + mss - 1) / mss);
	seq = get32(th + R_TCP_SEQ);
	id = v6 ? 0 : get16(ip + R_IP_ID);
	for (k = 0, off = 0; k < n; k++, off += mss) {
		size_t pl = MIN(mss, payload - off), seglen = thl + pl;
		uint8_t *s = malloc(hlen + pl), *st = s + l3;
		uint32_t partial;

		assert_non_null(s);
		memcpy(s, ip, hlen);
		memcpy(s + hlen, ip + hlen + off, pl);
		put32(st + R_TCP_SEQ, seq + (uint32_t)off);
		if (k + 1 < n)
			st[R_TCP_FLAGS] &= (uint8_t)~(R_FIN | R_PSH);
		if (k)
			st[R_TCP_FLAGS] &= (uint8_t)~R_CWR;
		if (v6) {
			put16(s + R6_PLEN, (uint16_t)seglen);
		} else {
			put16(s + R_IP_LEN, (uint16_t)(hlen + pl));
			put16(s + R_IP_ID, (uint16_t)(id + k));
			ip_csum_set(s);
		}
		/* tcp_gso_segment(): the pseudo-header's sum, less the
		 * super packet's length, plus this one's; then
		 * skb_checksum_help() from csum_start on
		 */
		partial = (uint32_t)get16(th + R_TCP_CHECK) +
			  (uint16_t)~(uint16_t)l4len + (uint32_t)seglen;
		put16(st + R_TCP_CHECK, ref_sum(NULL, 0, partial));
		put16(st + R_TCP_CHECK, (uint16_t)~ref_sum(st, seglen, 0));

		assert_true(out->n < SEG_MAX);
		out->p[out->n] = s;
		out->len[out->n++] = hlen + pl;
	}
	return n;
}

/* raw_segs() - what merd handed the raw sockets, as the kernel sends it
 * (it fills in the IPv4 length and header checksum: merd's must be right)
 */
static void raw_segs(struct seglist *out)
{
	int i;

	for (i = 0; i < nraw; i++) {
		const uint8_t *p = raw_cap[i].p;

		if ((p[0] >> 4) == 4) {
			assert_int_equal(get16(p + R_IP_LEN), raw_cap[i].len);
			assert_true(ip_csum_ok(p));
		}
		seg_add(out, p, raw_cap[i].len);
	}
}

/**
 * wire() - the segments that reach the wire, from what was sent: the
 *	    AF_PACKET messages cut, then the raw sockets' packets
 * @out:	filled in
 * @per_msg:	segments of each AF_PACKET message, set, NULL if not wanted
 */
static void wire(struct seglist *out, int *per_msg)
{
	int i;

	out->n = 0;
	for (i = 0; i < nup; i++) {
		int n = cut(&up_cap[i], out);

		if (per_msg)
			per_msg[i] = n;
	}
	raw_segs(out);
}

/* seg_equal() - @a and @b are the same segments, byte for byte */
static void seg_equal(const struct seglist *a, const struct seglist *b)
{
	int i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		if (a->len[i] != b->len[i])
			fail_msg("segment %d: %zu bytes, not %zu", i, b->len[i],
				 a->len[i]);
		if (memcmp(a->p[i], b->p[i], a->len[i]) != 0)
			fail_msg("segment %d differs", i);
	}
}

/* Guest packets handed to fwd_from_guest() since the last batch_flush():
 * the send batch points into them
 */
#define BATCH_MAX	128
static uint8_t *batch[BATCH_MAX];
static int nbatch;

/* batch_add() - hand fwd_from_guest() packet @p (freed), keep its copy */
static void batch_add(struct env *e, uint8_t *p, size_t len)
{
	assert_true(nbatch < BATCH_MAX);
	batch[nbatch++] = env_from_guest(e, p, len);
	free(p);
}

/* batch_flush() - send the batch, release the guest's packets */
static void batch_flush(struct env *e)
{
	int i;

	fwd_flush(&e->c);
	for (i = 0; i < nbatch; i++)
		free(batch[i]);
	nbatch = 0;
}

/* send_seg() - one segment of @k from the guest into the batch */
static void send_seg(struct env *e, struct conn *k, uint8_t flags,
		     const uint8_t *opt, size_t optlen, size_t payload)
{
	size_t len;
	uint8_t *p = gpkt(k, flags, opt, optlen, payload, &len);

	batch_add(e, p, len);
}

/* Options of a SYN-ACK: MSS, SACK permitted, timestamps, window scale 7;
 * 20 bytes
 */
static void synack_opts(uint8_t *o, uint16_t mss)
{
	static const uint8_t rest[] = { 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8,
					3, 3, 7 };

	memset(o, 1, 20);			/* NOPs */
	o[0] = 2;
	o[1] = 4;
	put16(o + 2, mss);
	memcpy(o + 4, rest, sizeof(rest));
}

/**
 * conn_open() - open @k: flow, guest SYN out, the peer's SYN-ACK (MSS
 *		 1460) in, the guest's ACK out, window scale 7 both ways;
 *		 what was sent, forgotten
 * @e:		environment
 * @k:		connection, @v6, @peer and ports set
 */
static void conn_open(struct env *e, struct conn *k)
{
	static const uint8_t wscale[4] = { 1, 3, 3, 7 };
	uint8_t opt[20], *p;
	size_t len;

	k->gseq = rng();
	k->pseq = rng();
	k->id = (uint16_t)rng();
	flow_add(&e->c, k);

	send_seg(e, k, R_SYN, wscale, sizeof(wscale), 0);
	batch_flush(e);
	assert_int_equal(nraw + nup, 1);

	synack_opts(opt, 1460);
	p = ppkt(k, R_SYN | R_ACK, opt, sizeof(opt), 0, &len);
	env_from_host(e, p, len);
	free(p);
	assert_true(e->c.tap.tx.used > 0);
	ring_get(&e->c.tap.tx, NULL, e->c.tap.tx.used);

	send_seg(e, k, R_ACK, NULL, 0, 0);
	batch_flush(e);
	assert_int_equal(nraw + nup, 2);
	caps_reset();
	e->c.fwd.up.frames = e->c.fwd.up.gso = e->c.fwd.up.segs = 0;
}

/* conn4() and conn6(): the test's connections, @i-th of them */
static struct conn conn4(int i)
{
	struct conn k = { .v6 = false, .peer = PEER,
			  .gport = (uint16_t)(GPORT + i), .pport = PPORT,
			  .hport = (uint16_t)(HPORT + i) };

	return k;
}

static struct conn conn6(int i)
{
	struct conn k = conn4(i);

	k.v6 = true;
	return k;
}

/* A script: opens its connections, then has the guest send */
typedef void (*script_fn)(struct env *e);

/**
 * run() - run @script in a fresh environment from @seed, the uplink path
 *	   on or off, and leave what was sent in the captures
 * @script:	what the guest does
 * @seed:	random seed: the same packets, either way
 * @on:		AF_PACKET path on (c->fwd.up.on and .use)
 * @out:	set to the segments that reach the wire
 * @per_msg:	segments of each AF_PACKET message, NULL if not wanted
 * @drops:	set to the drops counted, by reason, NULL if not wanted
 * @up:		set to the uplink's counters, NULL if not wanted
 */
static void run(script_fn script, uint32_t seed, bool on,
		struct seglist *out, int *per_msg, uint64_t *drops,
		struct uplink *up)
{
	struct env *e = env_fwd_new();
	struct ctx *c = &e->c;

	env6_on(e);
	c->host.ifi = c->host.ifi6 = UP_IFI;
	memcpy(c->host.mac, host_mac, ETH_ALEN);
	c->fwd.up.on = c->fwd.up.use = on;
	c->fwd.up.fd = UP_FD;
	c->fwd.up.fd_ct = -1;
	caps_reset();
	up_room = -1;
	nbatch = 0;
	rng_seed(seed);
	script(e);
	assert_int_equal(c->fwd.raw.nout, 0);
	assert_int_equal(nbatch, 0);
	wire(out, per_msg);
	if (drops)
		memcpy(drops, c->drops, sizeof(c->drops));
	if (up)
		*up = c->fwd.up;
	env_fwd_free(e);
}

/**
 * both() - run @script with the path off, then on: the same segments must
 *	    reach the wire; the captures are the second run's
 * @script:	what the guest does
 * @seed:	random seed
 * @per_msg:	segments of each AF_PACKET message, set
 * @up:		set to the uplink's counters of the second run
 *
 * Return: number of AF_PACKET messages of the second run
 */
static int both(script_fn script, uint32_t seed, int *per_msg,
		struct uplink *up)
{
	struct seglist *off = calloc(1, sizeof(*off));
	struct seglist *on = calloc(1, sizeof(*on));

	assert_non_null(off);
	assert_non_null(on);
	run(script, seed, false, off, NULL, NULL, NULL);
	assert_int_equal(nup, 0);
	run(script, seed, true, on, per_msg, NULL, up);
	seg_equal(off, on);
	seg_free(off);
	seg_free(on);
	free(off);
	free(on);
	return nup;
}

/* check_msgs() - @n AF_PACKET messages, of the segments in @want, each
 * a GSO packet (of its first segment's payload, @mss) if it carries more
 * than one, and nothing through the raw sockets
 */
static void check_msgs(int n, const int *per_msg, const int *want, int nwant,
		       size_t mss)
{
	int i;

	assert_int_equal(n, nwant);
	assert_int_equal(nraw, 0);
	for (i = 0; i < n && i < nwant; i++) {
		struct virtio_net_hdr vh = up_vh(i);

		if (per_msg[i] != want[i])
			fail_msg("message %d: %d segments, not %d", i,
				 per_msg[i], want[i]);
		if (want[i] > 1)
			assert_int_equal(vh.gso_size, mss);
		else
			assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	}
}

/* check_up() - the uplink's counters: @frames sent, @gso of them GSO
 * packets, of @segs segments
 */
static void check_up(const struct uplink *up, uint64_t frames, uint64_t gso,
		     uint64_t segs)
{
	assert_int_equal(up->frames, frames);
	assert_int_equal(up->gso, gso);
	assert_int_equal(up->segs, segs);
}

/* env_setup() - cmocka fixture: the next hop known, nothing sent */
static int env_setup(void **state)
{
	(void)state;
	neigh_answer = hop_mac;
	neigh_asked = 0;
	up_room = -1;
	caps_reset();
	return 0;
}

/* send_ten() - ten full segments of @k with timestamps, PSH on the last,
 * then the batch sent
 * @e:		environment
 * @k:		open connection
 * @payload:	each segment's payload, the path's MSS less the timestamps
 */
static void send_ten(struct env *e, struct conn *k, size_t payload)
{
	int i;

	for (i = 0; i < 10; i++)
		send_seg(e, k, R_ACK | (i == 9 ? R_PSH : 0), ts, sizeof(ts),
			 payload);
	batch_flush(e);
}

/* s_full10() - ten full segments of one IPv4 flow, timestamps, the IPv4
 * identification about to wrap, PSH on the last
 */
static void s_full10(struct env *e)
{
	struct conn k = conn4(0);

	conn_open(e, &k);
	k.id = 0xfffb;
	send_ten(e, &k, 1448);
}

/* Ten consecutive full-size segments of one IPv4 flow: one AF_PACKET
 * message, GSO at 1448 bytes, whose segments are the ten the raw socket
 * gets without the path; counted as one GSO packet of ten segments
 */
static void test_full_run4(void **state)
{
	static const int want[] = { 10 };
	int per_msg[UP_CAP_MAX], n;
	struct virtio_net_hdr vh;
	struct uplink up;

	(void)state;
	n = both(s_full10, 101, per_msg, &up);
	check_msgs(n, per_msg, want, 1, 1448);
	vh = up_vh(0);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(up_calls, 1);
	assert_true(neigh_asked > 0);
	check_up(&up, 1, 1, 10);
}

/* s_full10_6() - s_full10(), over IPv6 */
static void s_full10_6(struct env *e)
{
	struct conn k = conn6(0);

	conn_open(e, &k);
	send_ten(e, &k, 1428);
}

/* The same over IPv6: GSO TCPV6, ten segments of 1428 bytes */
static void test_full_run6(void **state)
{
	static const int want[] = { 10 };
	int per_msg[UP_CAP_MAX], n;
	struct uplink up;

	(void)state;
	n = both(s_full10_6, 102, per_msg, &up);
	check_msgs(n, per_msg, want, 1, 1428);
	assert_int_equal(up_vh(0).gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	check_up(&up, 1, 1, 10);
}

/* s_short_last() - nine full segments and a shorter one, then five full,
 * a shorter one and four full again: a shorter one ends its run
 */
static void s_short(struct env *e)
{
	struct conn k = conn4(0);
	int i;

	conn_open(e, &k);
	for (i = 0; i < 10; i++)
		send_seg(e, &k, R_ACK, NULL, 0, i == 9 ? 700 : 1460);
	batch_flush(e);
	for (i = 0; i < 10; i++)
		send_seg(e, &k, R_ACK, NULL, 0, i == 5 ? 1 : 1460);
	batch_flush(e);
}

/* A shorter last segment still joins the run; one in the middle ends the
 * run with it, and the next starts a new one
 */
static void test_short(void **state)
{
	static const int want[] = { 10, 6, 4 };
	int per_msg[UP_CAP_MAX], n;
	struct uplink up;

	(void)state;
	n = both(s_short, 103, per_msg, &up);
	check_msgs(n, per_msg, want, 3, 1460);
	check_up(&up, 3, 3, 20);
}

/* s_flags() - ten segments a batch, the fifth with PSH, then with each of
 * SYN, URG, CWR, ECE; FIN and RST on the last of a batch
 */
static void s_flags(struct env *e)
{
	static const uint8_t mid[] = { R_PSH, R_URG, R_CWR, R_ECE };
	struct conn k = conn4(0), r = conn4(1);
	size_t f;
	int i;

	conn_open(e, &k);
	conn_open(e, &r);
	for (f = 0; f < ARRAY_SIZE(mid); f++) {
		for (i = 0; i < 10; i++)
			send_seg(e, &k, R_ACK | (i == 4 ? mid[f] : 0), NULL, 0,
				 1000);
		batch_flush(e);
	}
	for (i = 0; i < 10; i++)
		send_seg(e, &k, R_ACK | (i == 9 ? R_FIN : 0), NULL, 0, 1000);
	batch_flush(e);

	for (i = 0; i < 10; i++)
		send_seg(e, &r, R_ACK | (i == 9 ? R_RST : 0), NULL, 0, 1000);
	batch_flush(e);
}

/* PSH in the middle ends the run after it, and rides on the GSO packet's
 * last segment only; a segment with URG, CWR, ECE, FIN or RST is never
 * joined: it leaves alone, and the runs around it go as GSO packets
 */
static void test_flags(void **state)
{
	static const int want[] = { 5, 5,		/* PSH */
				    4, 1, 5,		/* URG */
				    4, 1, 5,		/* CWR */
				    4, 1, 5,		/* ECE */
				    9, 1,		/* FIN */
				    9, 1 };		/* RST */
	int per_msg[UP_CAP_MAX], n;
	const uint8_t *ip;

	(void)state;
	n = both(s_flags, 104, per_msg, NULL);
	check_msgs(n, per_msg, want, ARRAY_SIZE(want), 1000);
	ip = up_cap[0].p + sizeof(struct virtio_net_hdr) + ETH_HLEN;
	assert_true(ip[20 + R_TCP_FLAGS] & R_PSH);
	ip = up_cap[12].p + sizeof(struct virtio_net_hdr) + ETH_HLEN;
	assert_int_equal(ip[20 + R_TCP_FLAGS], R_ACK | R_FIN);
	ip = up_cap[14].p + sizeof(struct virtio_net_hdr) + ETH_HLEN;
	assert_int_equal(ip[20 + R_TCP_FLAGS], R_ACK | R_RST);
}

/* s_syn() - a SYN carrying data (TCP Fast Open) and the segments after it,
 * in one batch
 */
static void s_syn(struct env *e)
{
	struct conn k = conn4(0);
	int i;

	k.gseq = rng();
	k.pseq = 0;
	k.id = 1;
	flow_add(&e->c, &k);
	send_seg(e, &k, R_SYN, NULL, 0, 1000);
	for (i = 0; i < 4; i++)
		send_seg(e, &k, R_ACK, NULL, 0, 1000);
	batch_flush(e);
}

/* A SYN is never joined to what follows it: it leaves through the raw
 * socket (the host's IP output, where its connection tracking would see
 * the flow begin), and uplink_syn_sent() is due
 */
static void test_syn(void **state)
{
	int per_msg[UP_CAP_MAX], n;

	(void)state;
	n = both(s_syn, 105, per_msg, NULL);
	assert_int_equal(n, 0);
	assert_true(nraw >= 1);
	assert_true(raw_cap[0].len > IP4_HLEN_MIN + TCP_OFF_FLAGS);
	assert_true(raw_cap[0].p[IP4_HLEN_MIN + TCP_OFF_FLAGS] & R_SYN);
}

/* s_two_flows() - two flows, in blocks of 3 and 4, then one by one */
static void s_two_flows(struct env *e)
{
	struct conn a = conn4(0), b = conn4(1);
	int i, j;

	conn_open(e, &a);
	conn_open(e, &b);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++)
			send_seg(e, &a, R_ACK, NULL, 0, 1460);
		for (j = 0; j < 4; j++)
			send_seg(e, &b, R_ACK, NULL, 0, 1460);
	}
	batch_flush(e);
	for (i = 0; i < 6; i++) {
		send_seg(e, &a, R_ACK, NULL, 0, 1460);
		send_seg(e, &b, R_ACK, NULL, 0, 1460);
	}
	batch_flush(e);
}

/* Two flows interleaved: runs never cross flows (each message carries one
 * flow's segments, the ports tell), and each flow's order is kept; one by
 * one, nothing is joined
 */
static void test_two_flows(void **state)
{
	static const int want[] = { 3, 4, 3, 4, 3, 4,
				    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	int per_msg[UP_CAP_MAX], n, i;

	(void)state;
	n = both(s_two_flows, 106, per_msg, NULL);
	check_msgs(n, per_msg, want, ARRAY_SIZE(want), 1460);
	for (i = 0; i < n; i++) {
		const uint8_t *ip = up_cap[i].p +
				    sizeof(struct virtio_net_hdr) + ETH_HLEN;
		bool b = i < 6 ? i % 2 : (i - 6) % 2;

		assert_int_equal(get16(ip + 20), HPORT + b);
	}
}

/* s_gap() - a lost segment after the fourth; a retransmission after the
 * eighth
 */
static void s_gap(struct env *e)
{
	struct conn k = conn4(0);
	int i;

	conn_open(e, &k);
	for (i = 0; i < 12; i++) {
		if (i == 4)
			k.gseq += 1460;
		if (i == 8)
			k.gseq -= 2 * 1460;
		send_seg(e, &k, R_ACK, NULL, 0, 1460);
	}
	batch_flush(e);
}

/* A gap in the sequence numbers (a segment the guest lost, or one sent
 * before) ends the run
 */
static void test_gap(void **state)
{
	static const int want[] = { 4, 4, 4 };
	int per_msg[UP_CAP_MAX], n;

	(void)state;
	n = both(s_gap, 107, per_msg, NULL);
	check_msgs(n, per_msg, want, ARRAY_SIZE(want), 1460);
}

/* Which segment of s_bad() is damaged */
static int bad_at;

/* s_bad() - ten segments, the one at @bad_at with a payload byte changed
 * after its checksum was computed
 */
static void s_bad(struct env *e)
{
	struct conn k = conn4(0);
	size_t len;
	int i;

	conn_open(e, &k);
	for (i = 0; i < 10; i++) {
		uint8_t *p = gpkt(&k, R_ACK, NULL, 0, 1460, &len);

		if (i == bad_at)
			p[len - 7] ^= 0x10;
		batch_add(e, p, len);
	}
	batch_flush(e);
}

/* A segment whose guest checksum is wrong ends the run before it, and
 * leaves alone, as it came (its checksum still wrong: the peer drops it,
 * as it would have); a bad first segment too, the rest joined after it.
 * Nothing is dropped by merd
 */
static void test_bad_csum(void **state)
{
	static const int want_mid[] = { 4, 1, 5 }, want_first[] = { 1, 9 };
	int per_msg[UP_CAP_MAX], n;
	const uint8_t *ip;

	(void)state;
	bad_at = 4;
	n = both(s_bad, 108, per_msg, NULL);
	check_msgs(n, per_msg, want_mid, ARRAY_SIZE(want_mid), 1460);
	ip = up_cap[1].p + sizeof(struct virtio_net_hdr) + ETH_HLEN;
	assert_false(ip_l4_csum_ok(ip));

	bad_at = 0;
	n = both(s_bad, 108, per_msg, NULL);
	check_msgs(n, per_msg, want_first, ARRAY_SIZE(want_first), 1460);
	ip = up_cap[0].p + sizeof(struct virtio_net_hdr) + ETH_HLEN;
	assert_false(ip_l4_csum_ok(ip));
}

/* Without the next hop's MAC address (neigh_mac() has none yet), all of
 * it goes through the raw socket, as without the path
 */
static void test_no_neigh(void **state)
{
	int per_msg[UP_CAP_MAX], n;
	struct uplink up;

	(void)state;
	neigh_answer = NULL;
	n = both(s_full10, 109, per_msg, &up);
	assert_int_equal(n, 0);
	assert_int_equal(up_calls, 0);
	assert_int_equal(nraw, 10);
	assert_true(neigh_asked >= 10);
	check_up(&up, 0, 0, 0);
}

/* s_options() - segments whose headers differ in what GSO would copy
 * from the first: the timestamp value, the window, the options' length
 */
static void s_options(struct env *e)
{
	struct conn k = conn4(0);
	uint8_t t[12];
	size_t len;
	int i;

	conn_open(e, &k);
	memcpy(t, ts, sizeof(t));
	for (i = 0; i < 6; i++) {
		if (i == 3)
			t[7]++;			/* TSval, a tick later */
		send_seg(e, &k, R_ACK, t, sizeof(t), 1448);
	}
	for (i = 0; i < 6; i++) {
		uint8_t *p = gpkt(&k, R_ACK, t, sizeof(t), 1448, &len);

		if (i >= 2) {			/* the window opens */
			put16(p + 20 + R_TCP_WIN, 60000);
			ip_l4_csum_set(p);
		}
		batch_add(e, p, len);
	}
	for (i = 0; i < 4; i++)
		send_seg(e, &k, R_ACK, t, i < 2 ? sizeof(t) : 0, 1448);
	batch_flush(e);
}

/* Segments whose TCP options (timestamps a tick apart), windows, or
 * option lengths differ are not joined: GSO would give them the first
 * one's
 */
static void test_options(void **state)
{
	static const int want[] = { 3, 5, 4, 2, 2 };
	int per_msg[UP_CAP_MAX], n;

	(void)state;
	n = both(s_options, 110, per_msg, NULL);
	check_msgs(n, per_msg, want, ARRAY_SIZE(want), 1448);
}

/* Segment size of s_jumbo()'s: the uplink's MTU 9000, timestamps */
#define JUMBO_SEG	(9000 - 20 - 20 - 12)

/* s_jumbo() - twenty jumbo segments, guest and uplink at 9000 */
static void s_jumbo(struct env *e)
{
	struct conn k = conn4(0);
	int i;

	e->c.link.mtu = e->c.host.mtu = 9000;
	conn_open(e, &k);
	peer_ack(e, &k);
	for (i = 0; i < 20; i++)
		send_seg(e, &k, R_ACK, ts, sizeof(ts), JUMBO_SEG);
	batch_flush(e);
}

/* A run ends where one more segment would make the GSO packet larger
 * than an IP packet can be (65535 bytes)
 */
static void test_jumbo(void **state)
{
	static const int want[] = { 7, 7, 6 };
	int per_msg[UP_CAP_MAX], n, i;

	(void)state;
	n = both(s_jumbo, 111, per_msg, NULL);
	check_msgs(n, per_msg, want, ARRAY_SIZE(want), JUMBO_SEG);
	for (i = 0; i < n; i++)
		assert_true(up_cap[i].len - sizeof(struct virtio_net_hdr) -
			    ETH_HLEN <= 65535);
}

/* Flags of s_tso()'s large segments */
static uint8_t tso_flags;

/* s_tso() - --tso: the guest's link at 65520, the peer's MSS 1460; one
 * 64 KiB segment with timestamps, over IPv4, then over IPv6
 */
static void s_tso(struct env *e)
{
	struct conn k4 = conn4(0), k6 = conn6(1);

	e->c.link.mtu = GUEST_MTU;
	e->c.opts.tso = true;
	conn_open(e, &k4);
	conn_open(e, &k6);
	assert_int_equal(e->c.fwd.ct.flows[k4.idx].mss, 1460);
	assert_int_equal(e->c.fwd.ct.flows[k6.idx].mss, 1440);
	send_seg(e, &k4, tso_flags, ts, sizeof(ts), GUEST_MTU - 20 - 32);
	batch_flush(e);
	send_seg(e, &k6, tso_flags, ts, sizeof(ts), 30000);
	batch_flush(e);
}

/* --tso's large segment, the path on: one GSO message each, cut at the
 * piece test_tso expects (1448 bytes, 1428 over IPv6), into the pieces
 * the raw socket gets without the path
 */
static void test_tso(void **state)
{
	int per_msg[UP_CAP_MAX], n;
	struct uplink up;

	(void)state;
	tso_flags = R_ACK | R_PSH;
	n = both(s_tso, 112, per_msg, &up);
	assert_int_equal(n, 2);
	assert_int_equal(nraw, 0);
	assert_int_equal(per_msg[0], 46);
	assert_int_equal(up_vh(0).gso_size, 1448);
	assert_int_equal(up_vh(0).gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(per_msg[1], 22);
	assert_int_equal(up_vh(1).gso_size, 1428);
	assert_int_equal(up_vh(1).gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	check_up(&up, 2, 2, 46 + 22);
}

/* s_tso_bad() - --tso, a large segment whose checksum is wrong, then a
 * good one
 */
static void s_tso_bad(struct env *e)
{
	struct conn k = conn4(0);
	uint8_t *p;
	size_t len;

	e->c.link.mtu = GUEST_MTU;
	e->c.opts.tso = true;
	conn_open(e, &k);
	p = gpkt(&k, R_ACK, ts, sizeof(ts), 20000, &len);
	p[len - 7] ^= 0x10;
	batch_add(e, p, len);
	send_seg(e, &k, R_ACK, ts, sizeof(ts), 5000);
	batch_flush(e);
}

/* A --tso segment whose guest checksum is wrong isn't sent at all, the
 * path on or off (its pieces' checksums would be right), and is counted
 * as such; the good one after it goes as a GSO packet
 */
static void test_tso_bad_csum(void **state)
{
	struct seglist *l = calloc(1, sizeof(*l));
	uint64_t drops[DROP_MAX];
	int per_msg[UP_CAP_MAX], n;
	struct uplink up;

	(void)state;
	assert_non_null(l);
	run(s_tso_bad, 115, false, l, NULL, drops, NULL);
	assert_int_equal(drops[DROP_CSUM], 1);
	seg_free(l);
	run(s_tso_bad, 115, true, l, NULL, drops, NULL);
	assert_int_equal(drops[DROP_CSUM], 1);
	seg_free(l);
	free(l);

	n = both(s_tso_bad, 115, per_msg, &up);
	assert_int_equal(n, 1);
	assert_int_equal(per_msg[0], 4);
	check_up(&up, 1, 1, 4);
}

/* How s_ids() moves the IPv4 identification from one segment to the
 * next
 */
static int id_step;

/* s_ids() - ten full segments, the identification moving by @id_step */
static void s_ids(struct env *e)
{
	struct conn k = conn4(0);
	int i;

	conn_open(e, &k);
	for (i = 0; i < 10; i++) {
		send_seg(e, &k, R_ACK, ts, sizeof(ts), 1448);
		k.id = (uint16_t)(k.id - 1 + id_step);
	}
	batch_flush(e);
}

/* GSO numbers the IPv4 identifications of the segments it cuts from the
 * first one's, one up each (inet_gso_segment()); segments whose own
 * don't count up so (a host-wide counter shared with other flows moves by
 * more, some stacks send DF segments with one fixed value) would reach
 * the wire with other identifications than the guest gave them: not
 * joined (GRO doesn't join them either), whatever else is the same
 */
static void test_ip_id(void **state)
{
	int per_msg[UP_CAP_MAX];

	(void)state;
	id_step = 2;
	both(s_ids, 116, per_msg, NULL);
	id_step = 0;
	both(s_ids, 117, per_msg, NULL);
}

/* A --tso segment with CWR goes as a GSO packet that says so: with
 * VIRTIO_NET_HDR_GSO_ECN (SKB_GSO_TCP_ECN), or a NIC without TSO_ECN
 * would be handed it to cut, and would copy CWR into every segment
 * (the cut segments are checked to carry it on the first only)
 */
static void test_tso_cwr(void **state)
{
	int per_msg[UP_CAP_MAX], n;

	(void)state;
	tso_flags = R_ACK | R_CWR;
	n = both(s_tso, 118, per_msg, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(per_msg[0], 46);
	assert_true(up_vh(0).gso_type & VIRTIO_NET_HDR_GSO_ECN);
	assert_true(up_vh(1).gso_type & VIRTIO_NET_HDR_GSO_ECN);
}

/* Messages the AF_PACKET socket takes in s_full_batch(), once the
 * connection is open
 */
static int room;

/* s_full_batch() - a full send batch of one flow, PSH every eighth
 * segment, then five segments
 */
static void s_full_batch(struct env *e)
{
	struct conn k = conn4(0);
	int i;

	conn_open(e, &k);
	up_room = room;
	for (i = 0; i < RAW_BATCH; i++) {
		send_seg(e, &k, R_ACK | (i % 8 == 7 ? R_PSH : 0), NULL, 0,
			 1460);
	}
	for (i = 0; i < 5; i++)
		send_seg(e, &k, R_ACK, NULL, 0, 1460);
	batch_flush(e);
}

/* A full AF_PACKET socket (EAGAIN): the messages it didn't take are
 * dropped, every segment they carried counted as the host's full queue
 * (as the raw path counts each packet), without another call; nothing is
 * sent twice, nor through the raw socket; and the socket taking only part
 * of a batch, the rest is dropped after it, once
 */
static void test_eagain(void **state)
{
	struct seglist *l = calloc(1, sizeof(*l));
	uint64_t drops[DROP_MAX];
	int per_msg[UP_CAP_MAX];
	struct uplink up;

	(void)state;
	assert_non_null(l);
	room = 0;
	run(s_full_batch, 113, true, l, per_msg, drops, &up);
	assert_int_equal(nup, 0);
	assert_int_equal(nraw, 0);
	/* The 32 of the batch in 4 messages, then 5 in one: two calls */
	assert_int_equal(up_calls, 2);
	assert_int_equal(up_offered, 5);
	assert_int_equal(drops[DROP_HOST_FULL], RAW_BATCH + 5);
	assert_int_equal(up.frames, 5);
	seg_free(l);

	room = 2;
	run(s_full_batch, 113, true, l, per_msg, drops, &up);
	assert_int_equal(nup, 2);
	assert_int_equal(nraw, 0);
	assert_int_equal(up_calls, 3);
	assert_int_equal(up_offered, 4 + 2 + 1);
	/* Two messages of eight taken: 16 and the last five dropped */
	assert_int_equal(drops[DROP_HOST_FULL], RAW_BATCH - 16 + 5);
	assert_int_equal(l->n, 16);
	seg_free(l);
	free(l);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup(name, env_setup)
	const struct CMUnitTest tests[] = {
		T(test_full_run4),
		T(test_full_run6),
		T(test_short),
		T(test_flags),
		T(test_syn),
		T(test_two_flows),
		T(test_gap),
		T(test_bad_csum),
		T(test_no_neigh),
		T(test_options),
		T(test_jumbo),
		T(test_tso),
		T(test_tso_bad_csum),
		T(test_ip_id),
		T(test_tso_cwr),
		T(test_eagain),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
