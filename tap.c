// SPDX-License-Identifier: GPL-2.0-or-later
/* tap.c - the guest's side: qemu's stream socket, framing, transmit ring
 *
 * Copyright (c) 2026 merd authors
 *
 * qemu (-netdev stream, or -netdev socket,fd=N through qrap) connects to an
 * AF_UNIX stream socket and sends each Ethernet frame after its length as a
 * 32-bit big-endian number. A read can return many frames and part of one;
 * a write can be partial or fail with EAGAIN. Received bytes are kept until
 * a frame is whole; frames for the guest go through a byte ring (struct
 * tap_tx), written with at most two iovecs, whatever the number of frames.
 *
 * What a frame means is the main loop's business (merd.c, struct tap_ops):
 * this unit knows nothing of ARP, DHCP or forwarding, and they learn of the
 * connection only through tap_connected(), tap_room() and tap_gone().
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "epoll.h"
#include "ip4.h"
#include "log.h"
#include "merd.h"
#include "pcap.h"
#include "systemd.h"
#include "tap.h"

/* Reads per EPOLLIN event before going back to the loop, for fairness */
#define TAP_READS_PER_EVENT	8
#define TAP_LISTEN_BACKLOG	8
/* In the socket directory: held while merd picks and claims a default path,
 * so that two merds never take, or replace, the same one
 */
#define TAP_SOCK_LOCK		"merd.lock"
#define TAP_SOCK_LOCK_MODE	0600

static const uint8_t tap_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff };

/**
 * tap_parse() - split bytes read from the stream into frames
 * @buf:	bytes read, starting at a length field
 * @len:	number of bytes
 * @fn:		called for each complete frame
 * @arg:	passed to @fn
 * @consumed:	set to the bytes taken by complete frames and their lengths
 * @bad:	set to the offending length on error
 *
 * Return: 0 on success (a partial frame may remain after @consumed),
 *	   -EBADMSG if a length is zero, shorter than an Ethernet header or
 *	   longer than TAP_FRAME_MAX
 */
int tap_parse(const uint8_t *buf, size_t len, tap_frame_fn fn, void *arg,
	      size_t *consumed, uint32_t *bad)
{
	size_t off = 0;

	while (len - off >= TAP_HDR_LEN) {
		uint32_t flen;

		memcpy(&flen, buf + off, sizeof(flen));
		flen = ntohl(flen);
		if (flen < TAP_FRAME_MIN || flen > TAP_FRAME_MAX) {
			*consumed = off;
			*bad = flen;
			return -EBADMSG;
		}
		if (len - off - TAP_HDR_LEN < flen)
			break;

		fn(arg, buf + off + TAP_HDR_LEN, flen);
		off += TAP_HDR_LEN + flen;
	}

	*consumed = off;
	return 0;
}

/**
 * tap_init() - allocate the stream buffers, once, before the loop
 * @c:		context
 *
 * Return: 0 on success, -ENOMEM
 */
int tap_init(struct ctx *c)
{
	c->tap.fd = -1;
	c->tap.fd_dir = -1;
	c->tap.rx.size = TAP_RX_BATCH + TAP_HDR_LEN + TAP_FRAME_MAX;
	c->tap.rx.buf = malloc(c->tap.rx.size);
	c->tap.ref.hdr = malloc(TAP_REF_FRAMES * sizeof(*c->tap.ref.hdr));
	c->tap.ref.iov = malloc((size_t)2 * TAP_REF_FRAMES * sizeof(struct iovec));
	if (!c->tap.rx.buf || !c->tap.ref.hdr || !c->tap.ref.iov ||
	    tap_tx_init(&c->tap.tx, TAP_TX_QUEUE))
		return -ENOMEM;
	return 0;
}

/**
 * tap_free() - release the stream buffers
 * @c:		context
 */
void tap_free(struct ctx *c)
{
	free(c->tap.rx.buf);
	free(c->tap.tx.buf);
	free(c->tap.ref.hdr);
	free(c->tap.ref.iov);
	c->tap.rx.buf = c->tap.tx.buf = NULL;
	c->tap.ref.hdr = NULL;
	c->tap.ref.iov = NULL;
}

/**
 * tap_tx_init() - allocate a transmit ring
 * @tx:		ring
 * @size:	bytes it holds
 *
 * Return: 0 on success, -ENOMEM
 */
int tap_tx_init(struct tap_tx *tx, size_t size)
{
	tx->buf = malloc(size);
	if (!tx->buf)
		return -ENOMEM;
	tx->size = size;
	tx->head = tx->used = 0;
	tx->dropped = 0;
	return 0;
}

/**
 * tap_tx_copy_in() - append bytes to the ring, wrapping around
 * @tx:		ring, with at least @len bytes free
 * @data:	bytes
 * @len:	count
 */
static void tap_tx_copy_in(struct tap_tx *tx, const void *data, size_t len)
{
	ring_copy_in(tx->buf, tx->size, tx->head, &tx->used, data, len);
}

/**
 * tap_tx_pushv() - queue one frame given in pieces, with its length field
 * @tx:		ring
 * @first:	first piece of the frame (its Ethernet header, or all of it)
 * @first_len:	its length
 * @iov:	further pieces, may be NULL
 * @cnt:	number of further pieces
 *
 * Return: 0 on success, -ENOBUFS if the ring is full (frame dropped)
 */
int tap_tx_pushv(struct tap_tx *tx, const void *first, size_t first_len,
		 const struct iovec *iov, int cnt)
{
	size_t len = first_len;
	uint32_t hdr;
	int i;

	for (i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	if (tx->size - tx->used < TAP_HDR_LEN + len) {
		tx->dropped++;
		return -ENOBUFS;
	}

	hdr = htonl((uint32_t)len);
	tap_tx_copy_in(tx, &hdr, sizeof(hdr));
	tap_tx_copy_in(tx, first, first_len);
	for (i = 0; i < cnt; i++)
		tap_tx_copy_in(tx, iov[i].iov_base, iov[i].iov_len);
	return 0;
}

/**
 * tap_tx_push() - queue one frame, with its length field, for qemu
 * @tx:		ring
 * @frame:	Ethernet frame
 * @len:	its length
 *
 * Return: 0 on success, -ENOBUFS if the ring is full (frame dropped)
 */
int tap_tx_push(struct tap_tx *tx, const void *frame, size_t len)
{
	return tap_tx_pushv(tx, frame, len, NULL, 0);
}

/**
 * tap_tx_write() - write as much of the ring as the socket takes
 * @tx:		ring
 * @fd:		connected socket
 *
 * Return: bytes written (the ring may still hold some if the socket is
 *	   full), or -errno on a write error other than EAGAIN
 */
ssize_t tap_tx_write(struct tap_tx *tx, int fd)
{
	ssize_t total = 0;

	while (tx->used) {
		size_t first = MIN(tx->used, tx->size - tx->head);
		struct iovec iov[2] = {
			{ tx->buf + tx->head, first },
			{ tx->buf, tx->used - first },
		};
		struct msghdr mh = {
			.msg_iov = iov,
			.msg_iovlen = iov[1].iov_len ? 2 : 1,
		};
		ssize_t n;

		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}

		tx->head = (tx->head + (size_t)n) % tx->size;
		tx->used -= (size_t)n;
		total += n;
	}

	if (!tx->used)
		tx->head = 0;
	return total;
}

/**
 * tap_sock_probe() - tell whether a live program serves a socket path
 * @path:	path of an existing file
 *
 * Return: 1 if something accepts connections there, 0 if the file is a
 *	   stale socket that can be removed, -errno if it isn't a socket or
 *	   can't be checked
 */
int tap_sock_probe(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;

	memcpy(a.sun_path, path, strlen(path) + 1);
	/* EAGAIN: the backlog is full, so it is certainly alive */
	if (!connect(fd, (struct sockaddr *)&a, sizeof(a)) || errno == EAGAIN)
		ret = 1;
	else if (errno == ECONNREFUSED)
		ret = 0;
	else
		ret = -errno;

	close(fd);
	return ret;
}

/**
 * tap_sock_bind_at() - bind a socket to a path, its file made with no
 *			permission for others (0600), whatever the umask
 * @fd:		socket
 * @a:		the path's address
 *
 * Return: 0 on success, -1 with errno set
 */
static int tap_sock_bind_at(int fd, const struct sockaddr_un *a)
{
	mode_t old = umask(TAP_SOCK_UMASK);
	int ret = bind(fd, (const struct sockaddr *)a, sizeof(*a));
	int e = errno;

	umask(old);
	errno = e;
	return ret;
}

/**
 * tap_sock_bind() - create a listening socket at a path
 * @path:	socket path
 *
 * A stale socket file (nobody listening) is replaced; a live one, or any
 * other kind of file, is left alone. The file is made 0600 (it can't be
 * reached by others in between), listening then starts.
 *
 * Return: listening descriptor, or -errno (-EADDRINUSE if a live program
 *	   serves @path)
 */
static int tap_sock_bind(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;

	if (tap_sock_bind_at(fd, &a)) {
		ret = -errno;
		if (ret != -EADDRINUSE)
			goto fail;

		ret = tap_sock_probe(path);
		if (ret) {
			ret = ret > 0 ? -EADDRINUSE : ret;
			goto fail;
		}
		if (unlink(path) || tap_sock_bind_at(fd, &a)) {
			ret = -errno;
			goto fail;
		}
	}

	if (listen(fd, TAP_LISTEN_BACKLOG)) {
		ret = -errno;
		unlink(path);
		goto fail;
	}
	return fd;

fail:
	close(fd);
	return ret;
}

/**
 * tap_sock_name() - the last component of the socket path
 * @path:	socket path
 *
 * Return: pointer into @path
 */
static const char *tap_sock_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/**
 * tap_sock_dir_keep() - keep the socket file's directory open, to remove
 *			 the file from at exit
 * @c:		context, @sock_path bound
 *
 * merd's root may be another by then (isolation.c): the path alone would no
 * longer name the file. If the directory can't be opened, tap.fd_dir stays
 * -1 and the path is used.
 */
static void tap_sock_dir_keep(struct ctx *c)
{
	const char *path = c->opts.sock_path, *name = tap_sock_name(path);
	char dir[UNIX_PATH_LEN] = ".";
	size_t len = (size_t)(name - path);

	if (len) {
		/* Keep the slash only when it is the root itself */
		len = len > 1 ? len - 1 : len;
		memcpy(dir, path, len);
		dir[len] = '\0';
	}
	c->tap.fd_dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/**
 * tap_sock_perms() - give the socket file its configured mode and group,
 *		      exit on failure
 * @c:		context, @sock_path bound
 *
 * The file stays its creator's (root's, when merd starts as root), not the
 * user's merd then serves as: any process of that user (nobody) could
 * otherwise connect to it as the guest. So a merd that dropped root may be
 * unable to remove it at exit; the next start replaces a stale one.
 */
static void tap_sock_perms(const struct ctx *c)
{
	const char *path = c->opts.sock_path;

	if (c->opts.sock_gid != (gid_t)-1 &&
	    fchownat(AT_FDCWD, path, (uid_t)-1, c->opts.sock_gid,
		     AT_SYMLINK_NOFOLLOW)) {
		int e = errno;

		unlink(path);
		die("can't set the owner and group of socket %s: %s", path,
		    strerror(e));
	}
	if (chmod(path, c->opts.sock_mode)) {
		int e = errno;

		unlink(path);
		die("can't set the mode of socket %s: %s", path, strerror(e));
	}
}

/**
 * tap_fd_check() - check the connected socket --fd names, exit if unfit
 * @c:		context: @sock_path is set to describe it
 *
 * It must be a connected stream socket (qemu's -netdev passt, a wrapper
 * like qrap): it is made non-blocking and closed on exec.
 */
static void tap_fd_check(struct ctx *c)
{
	int fd = c->opts.fd, type = 0, flags;
	socklen_t len = sizeof(type);
	struct sockaddr_storage a;
	socklen_t alen = sizeof(a);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_STREAM || getpeername(fd, (struct sockaddr *)&a, &alen))
		die("--fd %d: not a connected stream socket", fd);
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC))
		die("--fd %d: %s", fd, strerror(errno));
	snprintf(c->opts.sock_path, sizeof(c->opts.sock_path),
		 "descriptor %d", fd);
}

/**
 * tap_sock_inherit() - serve the listening socket the service manager
 *			passed (systemd.c)
 * @c:		context: @sock_path is set to the socket's path
 * @fd:		the socket
 *
 * Its file, mode and group are the socket unit's, and stay at exit.
 */
static void tap_sock_inherit(struct ctx *c, int fd)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	if (!getsockname(fd, (struct sockaddr *)&a, &len) &&
	    len > offsetof(struct sockaddr_un, sun_path) && a.sun_path[0]) {
		a.sun_path[sizeof(a.sun_path) - 1] = '\0';
		snprintf(c->opts.sock_path, sizeof(c->opts.sock_path), "%s",
			 a.sun_path);
	} else {
		snprintf(c->opts.sock_path, sizeof(c->opts.sock_path),
			 "(inherited socket)");
	}
	c->tap.fd_listen = fd;
	c->tap.inherited = true;
}

/**
 * tap_sock_dir_check() - check that a directory is fit for the default
 *			  socket paths, exit if not
 * @dir:	its path
 *
 * It must be a directory, not a symbolic link to one, owned by merd's user
 * (root, for root) and writable by nobody else: then no other user can put
 * a socket, or anything else, in it. Its parent is root's /run, the user's
 * own runtime directory or the sticky /tmp, where nobody else can rename or
 * remove it.
 */
static void tap_sock_dir_check(const char *dir)
{
	struct stat st;

	if (fstatat(AT_FDCWD, dir, &st, AT_SYMLINK_NOFOLLOW))
		die("can't use socket directory %s: %s", dir, strerror(errno));
	if (S_ISLNK(st.st_mode))
		die("socket directory %s is a symbolic link: refusing it "
		    "(remove it, or give --socket)", dir);
	if (!S_ISDIR(st.st_mode))
		die("socket directory %s is not a directory: refusing it "
		    "(remove it, or give --socket)", dir);
	if (st.st_uid != geteuid())
		die("socket directory %s belongs to uid %u, not to merd's %u: "
		    "refusing it (remove it, or give --socket)", dir,
		    (unsigned int)st.st_uid, (unsigned int)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		die("socket directory %s is writable by its group or others: "
		    "refusing it (chmod go-w, or give --socket)", dir);
}

/**
 * tap_sock_dir() - find, and create if needed, the directory of the
 *		    default socket paths, exit if it's unfit
 * @dir:	set to its path
 * @size:	size of @dir
 *
 * Root's is TAP_SOCK_DIR_ROOT; a user's is "merd" in $XDG_RUNTIME_DIR if
 * that is set (to an absolute path, as the XDG Base Directory
 * Specification asks), else TAP_SOCK_DIR_TMP_FMT with the user's ID.
 */
static void tap_sock_dir(char *dir, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	mode_t mode = TAP_SOCK_DIR_MODE_USER, old;
	int n, ret, e;

	if (!geteuid()) {
		n = snprintf(dir, size, "%s", TAP_SOCK_DIR_ROOT);
		mode = TAP_SOCK_DIR_MODE_ROOT;
	} else if (xdg && *xdg == '/') {
		n = snprintf(dir, size, "%s/%s", xdg, TAP_SOCK_DIR_XDG);
	} else {
		n = snprintf(dir, size, TAP_SOCK_DIR_TMP_FMT,
			     (unsigned int)geteuid());
	}
	if (n < 0 || (size_t)n >= size ||
	    snprintf(NULL, 0, "%s/" TAP_SOCK_NAME_FMT, dir, TAP_SOCK_MAX) >=
	    (int)UNIX_PATH_LEN)
		die("socket directory %s: path too long for a socket (give "
		    "--socket)", n < 0 ? "" : dir);

	/* Exactly @mode, whatever the umask */
	old = umask(0);
	ret = mkdir(dir, mode);
	e = errno;
	umask(old);
	if (ret && e != EEXIST)
		die("can't create socket directory %s: %s", dir, strerror(e));
	tap_sock_dir_check(dir);
}

/**
 * tap_sock_lock() - take the lock of a socket directory, waiting for it
 * @dir:	checked socket directory
 *
 * Return: descriptor holding the lock; exits on failure
 */
static int tap_sock_lock(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, TAP_SOCK_LOCK);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  TAP_SOCK_LOCK_MODE);
	if (fd < 0 || flock(fd, LOCK_EX))
		die("can't lock %s: %s", path, strerror(errno));
	return fd;
}

/**
 * tap_sock_default() - listen on the first free default socket path, exit
 *			on failure
 * @c:		context: @sock_path is set to the path taken
 *
 * Under the directory's lock, so that another merd starting at the same
 * time neither takes the same path nor replaces it as stale in between.
 */
static void tap_sock_default(struct ctx *c)
{
	char dir[UNIX_PATH_LEN];
	int lock, i;

	tap_sock_dir(dir, sizeof(dir));
	lock = tap_sock_lock(dir);
	for (i = 1; i <= TAP_SOCK_MAX; i++) {
		int fd;

		if (snprintf(c->opts.sock_path, sizeof(c->opts.sock_path),
			     "%s/" TAP_SOCK_NAME_FMT, dir, i) >=
		    (int)sizeof(c->opts.sock_path))
			die("socket directory %s: path too long", dir);
		fd = tap_sock_bind(c->opts.sock_path);
		if (fd >= 0) {
			c->tap.fd_listen = fd;
			tap_sock_perms(c);
			tap_sock_dir_keep(c);
			close(lock);
			return;
		}
		if (fd != -EADDRINUSE && fd != -ENOTSOCK)
			die("can't listen on %s: %s", c->opts.sock_path,
			    strerror(-fd));
	}
	die("no free socket path among %s/" TAP_SOCK_NAME_FMT " to "
	    TAP_SOCK_NAME_FMT ": give one with --socket", dir, 1,
	    TAP_SOCK_MAX);
}

/**
 * tap_sock_init() - create the socket qemu connects to, exit on failure
 * @c:		context: @sock_path is used if set, filled in otherwise
 */
void tap_sock_init(struct ctx *c)
{
	int fd;

	if (c->opts.fd >= 0) {
		tap_fd_check(c);
		return;
	}
	fd = sd_listen_fd();
	if (fd == -EINVAL)
		die("socket activation: merd takes one listening AF_UNIX "
		    "stream socket");
	if (fd < -1)
		die("socket activation: %s", strerror(-fd));
	if (fd >= 0) {
		tap_sock_inherit(c, fd);
		return;
	}

	if (c->opts.sock_path_set) {
		fd = tap_sock_bind(c->opts.sock_path);
		if (fd == -EADDRINUSE)
			die("socket %s is in use by another program",
			    c->opts.sock_path);
		if (fd < 0)
			die("can't listen on %s: %s", c->opts.sock_path,
			    strerror(-fd));
		c->tap.fd_listen = fd;
		tap_sock_perms(c);
		tap_sock_dir_keep(c);
		return;
	}

	tap_sock_default(c);
}

/**
 * tap_sock_cleanup() - remove the socket file at exit
 * @c:		context
 *
 * Once merd has dropped root, the directory may not let it (root's
 * TAP_SOCK_DIR_ROOT doesn't): the file is then left, and the next merd to
 * start finds it stale and replaces it.
 */
void tap_sock_cleanup(const struct ctx *c)
{
	const char *path = c->opts.sock_path;
	int ret;

	if (c->tap.fd_listen < 0 || c->tap.inherited)
		return;
	if (c->tap.fd_dir >= 0)
		ret = unlinkat(c->tap.fd_dir, tap_sock_name(path), 0);
	else
		ret = unlink(path);
	if (!ret)
		return;
	if (errno == EACCES || errno == EPERM)
		debug("socket %s left for the next merd to replace: %s", path,
		      strerror(errno));
	else if (errno != ENOENT)
		warn_perror("can't remove socket %s", path);
}

/**
 * tap_close() - forget the connected guest
 * @c:		context
 * @why:	reason, for the log
 */
static void tap_close(struct ctx *c, const char *why)
{
	epoll_ctl(c->epollfd, EPOLL_CTL_DEL, c->tap.fd, NULL);
	close(c->tap.fd);
	c->tap.fd = -1;
	c->tap.rx.len = 0;
	c->tap.tx.head = c->tap.tx.used = 0;
	c->tap.ref.niov = c->tap.ref.frames = 0;
	c->tap.ref.bytes = 0;
	c->tap.tx_waiting = false;
	c->tap.guest_mac_known = false;
	c->tap.gone = true;

	info("guest disconnected (%s) after %lu frames", why, c->tap.frames);

	/* A connection that never sent a frame wasn't a guest: it may be
	 * another merd probing the socket path, or qrap finding a socket;
	 * but with --fd there was only ever the one
	 */
	if ((c->opts.one_off && c->tap.frames) || c->tap.fd_listen < 0) {
		info("--one-off: exiting");
		c->quit = true;
	}
}

/**
 * tap_gone() - tell whether a guest went away, once
 * @c:		context
 *
 * Return: true if a guest connection ended since the last call
 */
bool tap_gone(struct ctx *c)
{
	bool gone = c->tap.gone;

	c->tap.gone = false;
	return gone;
}

/**
 * tap_connected() - tell whether a guest is connected
 * @c:		context
 *
 * Return: true if frames for the guest can be queued
 */
bool tap_connected(const struct ctx *c)
{
	return c->tap.fd >= 0;
}

/**
 * tap_room() - bytes the queue toward the guest can take now
 * @c:		context
 *
 * Return: free bytes in the transmit ring, less what frames queued by
 *	   reference may need of it (tap_ref_settle())
 */
size_t tap_room(const struct ctx *c)
{
	return c->tap.tx.size - c->tap.tx.used - c->tap.ref.bytes;
}

/**
 * tap_hung_up() - tell whether the peer of a connection has gone
 * @fd:		connected socket
 *
 * Return: true if it hung up (bytes it sent before may still be queued)
 */
static bool tap_hung_up(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return poll(&pfd, 1, 0) > 0 &&
	       (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/**
 * tap_listen_handler() - accept a connection from qemu
 * @c:		context
 * @ops:	what to do with frames an old connection left
 */
void tap_listen_handler(struct ctx *c, const struct tap_ops *ops)
{
	int fd;

	fd = accept4(c->tap.fd_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			warn_perror_rl(c, LOG_RL_CLIENT, "accept on %s",
				       c->opts.sock_path);
		return;
	}

	/* qemu restarting: the old connection may have hung up already */
	if (c->tap.fd >= 0 && tap_hung_up(c->tap.fd))
		tap_handler(c, EPOLLIN | EPOLLRDHUP, ops);

	if (c->tap.fd >= 0) {
		warn_rl(c, LOG_RL_CLIENT, "refusing a second client on %s: a "
			"guest is connected", c->opts.sock_path);
		close(fd);
		return;
	}

	if (tap_adopt(c, fd))
		close(fd);
}

/**
 * tap_adopt() - take a connection to qemu as the guest's
 * @c:		context, no guest connected
 * @fd:		connected socket, non-blocking
 *
 * Return: 0 on success, -1 if it can't be watched
 */
int tap_adopt(struct ctx *c, int fd)
{
	int big = INT_MAX;

	/* As large socket buffers as the host allows (net.core.wmem_max,
	 * rmem_max: the kernel caps what is asked): the kernel, not the
	 * ring, then holds what qemu hasn't read yet, and frames go from the
	 * raw sockets' buffers to the socket with no copy in between
	 * (tap_send_ip_ref(): the ring must be empty). The default of 208
	 * KiB held three 64 KiB frames, and the ring took a copy of nearly
	 * every byte toward a guest of MTU 65520 (perf, 2026-12-02)
	 */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));

	if (epoll_ref_ctl(c->epollfd, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP,
			  EPOLL_TYPE_TAP, fd)) {
		err_perror("epoll_ctl for the guest connection");
		return -1;
	}

	c->tap.fd = fd;
	c->tap.rx.len = 0;
	c->tap.tx.head = c->tap.tx.used = 0;
	c->tap.frames = 0;
	info("guest connected on %s", c->opts.sock_path);
	return 0;
}

/**
 * struct tap_dispatch - where tap_parse() hands frames
 * @c:		context
 * @ops:	the main loop's handlers
 */
struct tap_dispatch {
	struct ctx *c;
	const struct tap_ops *ops;
};

/**
 * tap_frame_cb() - tap_parse() callback: count, capture and dispatch one
 *		    frame
 * @arg:	struct tap_dispatch
 * @frame:	Ethernet frame
 * @len:	its length
 *
 * Captured before it is handled, so that anything sent because of it comes
 * after it in the capture.
 */
static void tap_frame_cb(void *arg, const uint8_t *frame, size_t len)
{
	const struct tap_dispatch *d = arg;

	d->c->tap.frames++;
	pcap_frame(&d->c->pcap, frame, len, NULL, 0);
	d->ops->frame(d->c, frame, len);
}

/**
 * tap_input() - read from qemu and handle every complete frame
 * @c:		context
 * @drain:	the peer hung up: read everything it sent, then close
 * @ops:	the main loop's handlers
 *
 * Return: 0, or -1 if the connection was closed
 */
static int tap_input(struct ctx *c, bool drain, const struct tap_ops *ops)
{
	struct tap_dispatch d = { c, ops };
	struct tap_rx *rx = &c->tap.rx;
	int i;

	for (i = 0; drain || i < TAP_READS_PER_EVENT; i++) {
		size_t room = rx->size - rx->len, used;
		uint32_t bad;
		ssize_t n;

		n = read(c->tap.fd, rx->buf + rx->len, room);
		if (n == 0) {
			tap_close(c, "end of stream");
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			warn_perror_rl(c, LOG_RL_FRAME, "read from guest");
			tap_close(c, "read error");
			return -1;
		}

		rx->len += (size_t)n;
		if (tap_parse(rx->buf, rx->len, tap_frame_cb, &d, &used,
			      &bad)) {
			warn_rl(c, LOG_RL_FRAME, "bad frame length %u from "
				"guest (valid: %u to %u)", bad, TAP_FRAME_MIN,
				TAP_FRAME_MAX);
			ops->batch(c);
			tap_close(c, "framing error");
			return -1;
		}

		/* Queued packets point into the buffer: send them first */
		ops->batch(c);
		memmove(rx->buf, rx->buf + used, rx->len - used);
		rx->len -= used;

		if ((size_t)n < room && !drain)
			return 0;
	}
	return 0;
}

/**
 * tap_ref_settle() - write the frames queued by reference, and copy what
 *		      the socket doesn't take now into the ring, in order
 * @c:		context, connected
 *
 * Must run before the buffers their payloads lie in change (the end of
 * raw_handler()), and before anything else is queued. The ring is empty
 * while frames wait here, and has room for all of them
 * (tap_send_ip_ref()).
 *
 * Return: true, false if the connection was closed on a write error
 */
static bool tap_ref_settle(struct ctx *c)
{
	struct tap_ref *r = &c->tap.ref;
	int i = 0;

	while (i < r->niov) {
		struct msghdr mh = { .msg_iov = r->iov + i,
				     .msg_iovlen = (size_t)MIN(r->niov - i,
							       IOV_MAX) };
		ssize_t n = sendmsg(c->tap.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			warn_perror_rl(c, LOG_RL_FRAME, "write to guest");
			tap_close(c, "write error");
			return false;
		}
		if (n <= 0)
			break;
		for (; i < r->niov && (size_t)n >= r->iov[i].iov_len; i++)
			n -= (ssize_t)r->iov[i].iov_len;
		if (i < r->niov && n) {
			r->iov[i].iov_base = (uint8_t *)r->iov[i].iov_base + n;
			r->iov[i].iov_len -= (size_t)n;
		}
	}
	for (; i < r->niov; i++)
		tap_tx_copy_in(&c->tap.tx, r->iov[i].iov_base,
			       r->iov[i].iov_len);
	r->niov = r->frames = 0;
	r->bytes = 0;
	return true;
}

/**
 * tap_ref_range() - where payloads queued by reference may lie
 * @c:		context
 * @buf:	the buffer (the raw sockets' receive buffers)
 * @len:	its length
 */
void tap_ref_range(struct ctx *c, const void *buf, size_t len)
{
	c->tap.ref.lo = buf;
	c->tap.ref.hi = c->tap.ref.lo + len;
}

/**
 * tap_ref_fits() - tell whether a frame can be queued by reference now
 * @c:		context
 * @iov:	the packet's pieces: its headers, then its payload
 * @cnt:	number of pieces
 * @len:	the frame's length, its Ethernet header included
 *
 * Return: true if the payload lies in the buffer of tap_ref_range(), the
 *	   ring is empty (it would otherwise go first) and can take every
 *	   frame queued by reference, and there is room here
 */
static bool tap_ref_fits(const struct ctx *c, const struct iovec *iov,
			 int cnt, size_t len)
{
	const struct tap_ref *r = &c->tap.ref;
	int i;

	if (!r->lo || c->tap.tx.used || r->frames == TAP_REF_FRAMES ||
	    r->niov + cnt > 2 * TAP_REF_FRAMES ||
	    iov[0].iov_len > TAP_REF_HDR - TAP_HDR_LEN - ETH_HLEN ||
	    r->bytes + TAP_HDR_LEN + len > c->tap.tx.size)
		return false;
	for (i = 1; i < cnt; i++) {
		const uint8_t *p = iov[i].iov_base;

		if (p < r->lo || p > r->hi ||
		    iov[i].iov_len > (size_t)(r->hi - p))
			return false;
	}
	return true;
}

/**
 * tap_send_ip_ref() - queue an IPv4 or IPv6 packet for the guest, its
 *		       payload not copied if it can stay where it is
 * @c:		context
 * @iov:	the packet's pieces: its headers (copied), then its payload
 * @cnt:	number of pieces, at least 1
 *
 * Where the payload lies in the raw sockets' receive buffers and nothing
 * waits in the ring, the frame is written from there, with the others of
 * the batch, at the end of raw_handler() (tap_flush()): a copy of every
 * byte to the guest saved, 10% of merd's time toward a guest of MTU 65520
 * (perf, 2026-12-02: memmove() under tap_tx_pushv()). What the socket
 * doesn't take then is copied into the ring, as every frame was before.
 * Otherwise, as tap_send_ip().
 *
 * Return: 0 if queued, -ENOTCONN without a guest, -ENOBUFS if full
 */
int tap_send_ip_ref(struct ctx *c, const struct iovec *iov, int cnt)
{
	const uint8_t *first = iov[0].iov_base;
	bool v6 = iov[0].iov_len && (first[0] >> 4) == 6;
	struct tap_ref *r = &c->tap.ref;
	size_t len = ETH_HLEN;
	uint32_t field;
	uint8_t *h;
	int i;

	for (i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	if (c->tap.fd < 0 || !tap_ref_fits(c, iov, cnt, len))
		return tap_send_ip(c, iov, cnt);

	h = r->hdr[r->frames];
	field = htonl((uint32_t)len);
	memcpy(h, &field, sizeof(field));
	eth_header(h + TAP_HDR_LEN, c->tap.guest_mac_known ?
		   c->tap.guest_mac : tap_bcast, c->link.mac,
		   v6 ? ETH_P_IPV6 : ETH_P_IP);
	memcpy(h + TAP_HDR_LEN + ETH_HLEN, first, iov[0].iov_len);
	pcap_frame(&c->pcap, h + TAP_HDR_LEN, ETH_HLEN, iov, cnt);

	r->iov[r->niov].iov_base = h;
	r->iov[r->niov++].iov_len = TAP_HDR_LEN + ETH_HLEN + iov[0].iov_len;
	for (i = 1; i < cnt; i++)
		r->iov[r->niov++] = iov[i];
	r->frames++;
	r->bytes += TAP_HDR_LEN + len;
	return 0;
}

/**
 * tap_flush() - write queued frames to qemu, arm EPOLLOUT if some remain
 * @c:		context
 */
void tap_flush(struct ctx *c)
{
	bool waiting;
	ssize_t n;

	if (c->tap.fd < 0 || !tap_ref_settle(c) || !c->tap.tx.used)
		return;

	n = tap_tx_write(&c->tap.tx, c->tap.fd);
	if (n < 0) {
		errno = (int)-n;
		warn_perror_rl(c, LOG_RL_FRAME, "write to guest");
		tap_close(c, "write error");
		return;
	}

	waiting = c->tap.tx.used > 0;
	if (waiting == c->tap.tx_waiting)
		return;

	if (epoll_ref_ctl(c->epollfd, EPOLL_CTL_MOD, c->tap.fd,
			  EPOLLIN | EPOLLRDHUP | (waiting ? EPOLLOUT : 0),
			  EPOLL_TYPE_TAP, c->tap.fd))
		warn_perror("epoll_ctl on the guest connection");
	c->tap.tx_waiting = waiting;
}

/**
 * tap_handler() - handle events on the qemu connection
 * @c:		context
 * @events:	epoll events
 * @ops:	the main loop's handlers for what arrives
 */
void tap_handler(struct ctx *c, uint32_t events, const struct tap_ops *ops)
{
	if (events & EPOLLERR) {
		tap_close(c, "socket error");
		return;
	}

	/* Once the peer hung up, what it sent is finite: take it all now */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) {
		if (tap_input(c, events & (EPOLLHUP | EPOLLRDHUP), ops))
			return;
	}

	if (events & EPOLLOUT)
		tap_flush(c);
}

/**
 * tap_queue() - queue a frame for the guest, if there is one
 * @c:		context
 * @first:	first piece of the frame
 * @first_len:	its length
 * @iov:	further pieces, may be NULL
 * @cnt:	number of further pieces
 *
 * A queued frame is captured (--pcap) here: the queue is written in order,
 * so the capture's order is the stream's. A frame dropped isn't.
 *
 * Return: 0 if queued, -ENOTCONN without a guest, -ENOBUFS if the queue
 *	   is full
 */
static int tap_queue(struct ctx *c, const void *first, size_t first_len,
		     const struct iovec *iov, int cnt)
{
	if (c->tap.fd < 0)
		return -ENOTCONN;
	if (!tap_ref_settle(c))		/* what was queued before goes first */
		return -ENOTCONN;
	if (tap_tx_pushv(&c->tap.tx, first, first_len, iov, cnt)) {
		drop(c, DROP_GUEST_FULL, "tap: queue full, dropped a frame");
		return -ENOBUFS;
	}
	pcap_frame(&c->pcap, first, first_len, iov, cnt);
	return 0;
}

/**
 * tap_send() - queue a frame for the guest
 * @c:		context
 * @frame:	Ethernet frame
 * @len:	its length
 *
 * Return: 0 if queued, -ENOTCONN without a guest, -ENOBUFS if the queue
 *	   is full
 */
int tap_send(struct ctx *c, const void *frame, size_t len)
{
	return tap_queue(c, frame, len, NULL, 0);
}

/**
 * tap_send_ip() - queue an IPv4 or IPv6 packet for the guest, in pieces
 * @c:		context
 * @iov:	the packet's pieces, from its IP header
 * @cnt:	number of pieces
 *
 * Adds the Ethernet header, its EtherType from the IP version: to the
 * guest's MAC once known, broadcast until then.
 *
 * Return: 0 if queued, -ENOTCONN without a guest, -ENOBUFS if full
 */
int tap_send_ip(struct ctx *c, const struct iovec *iov, int cnt)
{
	const uint8_t *first = iov[0].iov_base;
	uint8_t eh[ETH_HLEN];
	bool v6 = iov[0].iov_len && (first[0] >> 4) == 6;

	eth_header(eh, c->tap.guest_mac_known ? c->tap.guest_mac : tap_bcast,
		   c->link.mac, v6 ? ETH_P_IPV6 : ETH_P_IP);
	return tap_queue(c, eh, sizeof(eh), iov, cnt);
}

/**
 * tap_learn_mac() - remember the guest's MAC address from a frame
 * @c:		context
 * @src:	source MAC of a frame from the guest
 */
void tap_learn_mac(struct ctx *c, const uint8_t *src)
{
	static const uint8_t zero[ETH_ALEN];

	if ((src[0] & 1) || !memcmp(src, zero, ETH_ALEN))
		return;	/* multicast or unset: not a station address */
	if (c->tap.guest_mac_known && !memcmp(c->tap.guest_mac, src, ETH_ALEN))
		return;

	memcpy(c->tap.guest_mac, src, ETH_ALEN);
	c->tap.guest_mac_known = true;
	debug("guest MAC is %s", mac_ntop(src).s);
}
