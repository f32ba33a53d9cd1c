/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tap.h - the guest's side: qemu's stream socket, framing, frame dispatch
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef TAP_H
#define TAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <netinet/ip.h>

#include "merd.h"

/* qemu's stream netdev: each frame follows its length, 32-bit big-endian */
#define TAP_HDR_LEN	4
#define TAP_FRAME_MIN	ETH_HLEN
#define TAP_FRAME_MAX	(ETH_HLEN + IP_MAXPACKET)

/* Default socket paths: /tmp/merd_1.socket ... /tmp/merd_100.socket */
#define TAP_SOCK_FMT	"/tmp/merd_%d.socket"
#define TAP_SOCK_MAX	100
#define TAP_SOCK_DEFAULT_RANGE "/tmp/merd_1.socket to /tmp/merd_100.socket"

typedef void (*tap_frame_fn)(void *arg, const uint8_t *frame, size_t len);

int tap_parse(const uint8_t *buf, size_t len, tap_frame_fn fn, void *arg,
	      size_t *consumed, uint32_t *bad);
int tap_tx_init(struct tap_tx *tx, size_t size);
int tap_tx_pushv(struct tap_tx *tx, const void *first, size_t first_len,
		 const struct iovec *iov, int cnt);
int tap_tx_push(struct tap_tx *tx, const void *frame, size_t len);
ssize_t tap_tx_write(struct tap_tx *tx, int fd);
int tap_sock_probe(const char *path);
void tap_sock_init(struct ctx *c);
void tap_listen_handler(struct ctx *c);
void tap_handler(struct ctx *c, uint32_t events);
void tap_frame(struct ctx *c, const uint8_t *frame, size_t len);
int tap_send(struct ctx *c, const void *frame, size_t len);
int tap_send_ip(struct ctx *c, const struct iovec *iov, int cnt);
void tap_flush(struct ctx *c);
void tap_sock_cleanup(const struct ctx *c);

#endif /* TAP_H */
