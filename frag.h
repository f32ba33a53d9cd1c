/* SPDX-License-Identifier: GPL-2.0-or-later */
/* frag.h - IPv4 fragments: reassembly of the guest's, and fragmentation
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef FRAG_H
#define FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ip.h"
#include "pkt.h"

/* Datagrams being reassembled at once; the oldest gives way */
#define FRAG_SLOTS	8
/* Seconds a datagram may take to arrive whole (Linux's ipfrag_time) */
#define FRAG_TIMEOUT	30
/* Largest datagram: the total length field is 16 bits (RFC 791) */
#define FRAG_DGRAM_MAX	65535
/* Fragment offsets count 8-byte blocks (RFC 791) */
#define FRAG_UNIT	8

/**
 * struct frag_slot - one datagram being reassembled
 * @used:	slot in use
 * @saddr:	source address, network order
 * @daddr:	destination address
 * @id:		identification
 * @proto:	protocol
 * @expires:	when it is given up, seconds
 * @total:	payload length, known once the last fragment came, else 0
 * @got:	payload bytes received
 * @end:	end of the furthest fragment received
 * @hlen:	header length of the first fragment, 0 until it came
 * @buf:	header room (60 bytes), then the payload
 * @map:	one bit per 8-byte block received
 */
struct frag_slot {
	bool used;
	uint32_t saddr;
	uint32_t daddr;
	uint32_t id;
	uint8_t proto;
	uint32_t expires;
	size_t total;
	size_t got;
	size_t end;
	size_t hlen;
	uint8_t *buf;
	uint8_t *map;
};

/**
 * struct frag - reassembly state
 * @slot:	datagrams being reassembled
 * @mem:	their buffers, allocated once
 */
struct frag {
	struct frag_slot slot[FRAG_SLOTS];
	uint8_t *mem;
};

typedef void (*frag_out_fn)(void *arg, const uint8_t *hdr, size_t hlen,
			    const uint8_t *data, size_t len);

int frag_init(struct frag *f);
void frag_free(struct frag *f);
int frag_in(struct frag *f, const struct ip_view *ip, uint32_t now,
	    struct pkt *out);
void frag_done(struct frag *f, struct pkt out);
void frag_tick(struct frag *f, uint32_t now);
void frag_flush(struct frag *f);
int frag_split(struct pkt hdr, struct pkt payload, size_t mtu, uint16_t id,
	       frag_out_fn out, void *arg);

#endif /* FRAG_H */
