/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tap.h - the guest's side: qemu's stream socket, framing, transmit ring
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef TAP_H
#define TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/if_ether.h>
#include <netinet/ip.h>

struct ctx;

/* qemu's stream netdev: each frame follows its length, 32-bit big-endian */
#define TAP_HDR_LEN	4
#define TAP_FRAME_MIN	ETH_HLEN
#define TAP_FRAME_MAX	(ETH_HLEN + IP_MAXPACKET)

/* Receive buffer for the qemu stream: room for many frames per read(),
 * plus the largest frame so that a partial one can always be completed
 */
#define TAP_RX_BATCH	((size_t)1024 * 1024)
/* Bound on what waits to be written to qemu */
#define TAP_TX_QUEUE	((size_t)8 * 1024 * 1024)

/* Default socket paths: merd_1.socket ... merd_100.socket in a directory
 * no other user can write (tap_sock_dir()): qrap.c has the same list
 */
#define TAP_SOCK_NAME_FMT	"merd_%d.socket"
#define TAP_SOCK_MAX		100
/* The directory: root's, the user's runtime one, or a fallback in /tmp */
#define TAP_SOCK_DIR_ROOT	"/run/merd"
#define TAP_SOCK_DIR_XDG	"merd"
#define TAP_SOCK_DIR_TMP_FMT	"/tmp/merd-%u"
/* Modes it is created with: root's is open to users a --socket-mode lets
 * in, a user's is private
 */
#define TAP_SOCK_DIR_MODE_ROOT	0755
#define TAP_SOCK_DIR_MODE_USER	0700
/* umask while the socket file is made: 0600, nobody but merd's user */
#define TAP_SOCK_UMASK	0177
#define TAP_SOCK_DEFAULT_RANGE "merd_1.socket to merd_100.socket in\n" \
	"\t\t\t$XDG_RUNTIME_DIR/merd, else /tmp/merd-UID (root: /run/merd)"

/**
 * struct tap_rx - bytes read from qemu, not yet split into frames
 * @buf:	buffer, TAP_RX_BATCH + TAP_FRAME_MAX + 4 bytes
 * @size:	size of @buf
 * @len:	bytes held in @buf, starting at offset 0
 */
struct tap_rx {
	uint8_t *buf;
	size_t size;
	size_t len;
};

/**
 * struct tap_tx - byte ring of length-prefixed frames waiting for qemu
 * @buf:	ring storage
 * @size:	size of @buf
 * @head:	offset of the first byte not yet written
 * @used:	bytes queued
 * @dropped:	frames dropped because the queue was full
 */
struct tap_tx {
	uint8_t *buf;
	size_t size;
	size_t head;
	size_t used;
	unsigned long dropped;
};

/* Frames queued by reference (tap_send_ip_ref()) before they are written:
 * a batch of raw packets cut to 1500-byte frames is some 45 a packet; and
 * the room each has for its length field, Ethernet, IP and TCP headers
 */
#define TAP_REF_FRAMES	1024
#define TAP_REF_HDR	(TAP_HDR_LEN + ETH_HLEN + 60 + 60)

/**
 * struct tap_ref - frames whose payload is still where it was received
 * @hdr:	each frame's length field and headers, copied
 * @iov:	each frame's pieces: its @hdr, then its payload in place
 * @niov:	pieces in @iov
 * @frames:	frames queued
 * @bytes:	their bytes, length fields included
 * @lo:		start of the buffer payloads may lie in (the raw sockets'
 *		receive buffers), NULL for none
 * @hi:		its end
 */
struct tap_ref {
	uint8_t (*hdr)[TAP_REF_HDR];
	struct iovec *iov;
	int niov;
	int frames;
	size_t bytes;
	const uint8_t *lo;
	const uint8_t *hi;
};

/**
 * struct tap - the connection to qemu
 * @fd_listen:	listening AF_UNIX socket
 * @inherited:	@fd_listen came from the service manager (socket
 *		activation): its file is not merd's to remove
 * @fd_dir:	the socket file's directory (O_PATH), to remove the file
 *		from at exit whatever merd's root is then, -1 if none
 * @fd:		connected qemu socket, -1 if none
 * @frames:	frames received on the current connection
 * @rx:		receive state of @fd
 * @tx:		transmit queue of @fd
 * @ref:	frames for @fd whose payload wasn't copied, before @tx
 * @tx_waiting:	EPOLLOUT is armed on @fd
 * @gone:	a guest went away since tap_gone() last said so
 * @guest_mac:	MAC address of the guest, learnt from its frames
 * @guest_mac_known: @guest_mac is valid
 */
struct tap {
	int fd_listen;
	bool inherited;
	int fd_dir;
	int fd;
	unsigned long frames;
	struct tap_rx rx;
	struct tap_tx tx;
	struct tap_ref ref;
	bool tx_waiting;
	bool gone;
	uint8_t guest_mac[ETH_ALEN];
	bool guest_mac_known;
};

typedef void (*tap_frame_fn)(void *arg, const uint8_t *frame, size_t len);

/**
 * struct tap_ops - what the main loop does with what the guest sends
 * @frame:	handle one frame; it lies in the receive buffer until @batch
 * @batch:	the frames handed so far are done with: whatever still points
 *		into them (packets queued for sending) must go now
 */
struct tap_ops {
	void (*frame)(struct ctx *c, const uint8_t *frame, size_t len);
	void (*batch)(struct ctx *c);
};

int tap_parse(const uint8_t *buf, size_t len, tap_frame_fn fn, void *arg,
	      size_t *consumed, uint32_t *bad);
int tap_init(struct ctx *c);
int tap_tx_init(struct tap_tx *tx, size_t size);
int tap_tx_pushv(struct tap_tx *tx, const void *first, size_t first_len,
		 const struct iovec *iov, int cnt);
int tap_tx_push(struct tap_tx *tx, const void *frame, size_t len);
ssize_t tap_tx_write(struct tap_tx *tx, int fd);
int tap_sock_probe(const char *path);
void tap_sock_init(struct ctx *c);
int tap_adopt(struct ctx *c, int fd);
void tap_sock_cleanup(const struct ctx *c);
void tap_free(struct ctx *c);
void tap_listen_handler(struct ctx *c, const struct tap_ops *ops);
void tap_handler(struct ctx *c, uint32_t events, const struct tap_ops *ops);
bool tap_gone(struct ctx *c);
bool tap_connected(const struct ctx *c);
size_t tap_room(const struct ctx *c);
void tap_learn_mac(struct ctx *c, const uint8_t *src);
int tap_send(struct ctx *c, const void *frame, size_t len);
int tap_send_ip(struct ctx *c, const struct iovec *iov, int cnt);
int tap_send_ip_ref(struct ctx *c, const struct iovec *iov, int cnt);
void tap_ref_range(struct ctx *c, const void *buf, size_t len);
void tap_flush(struct ctx *c);

#endif /* TAP_H */
