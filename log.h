/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h - logging to stderr or syslog, and the per-packet trace
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>

/* Smallest --log-size: room for a few hundred lines */
#define LOG_SIZE_MIN		(64UL * 1024)
/* Default --log-size, as passt's */
#define LOG_SIZE_DEFAULT	(1024UL * 1024)

/* Messages the guest or a local client can trigger at will: at most this
 * many per interval of this many seconds each (log_rl_allow())
 */
#define LOG_RL_BURST		5
#define LOG_RL_INTERVAL		60

/**
 * enum log_rl_id - the messages that are rate-limited, each on its own
 * @LOG_RL_DECLINE:	the guest declined its address (DHCP, DHCPv6)
 * @LOG_RL_FRAME:	a bad frame or a read or write error on the guest's
 *			connection
 * @LOG_RL_CLIENT:	a client refused or not accepted on the socket
 * @LOG_RL_MAX:		number of them
 */
enum log_rl_id {
	LOG_RL_DECLINE,
	LOG_RL_FRAME,
	LOG_RL_CLIENT,
	LOG_RL_MAX,
};

/**
 * struct log_rl - state of one rate-limited message
 * @start:	when its interval started, seconds
 * @n:		messages logged in it
 * @suppressed:	messages held back in it
 */
struct log_rl {
	uint32_t start;
	uint32_t n;
	uint32_t suppressed;
};

void log_init(bool debug, bool use_syslog);
void log_quiet_set(void);
int log_file_open(const char *path, size_t size);
bool log_debug_enabled(void);
void logmsg(int pri, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool log_rl_allow(struct log_rl *rl, uint32_t now);
void log_raw(const char *line, size_t len);
void logmsg_perror(int pri, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define err(...)	logmsg(LOG_ERR, __VA_ARGS__)
#define warn(...)	logmsg(LOG_WARNING, __VA_ARGS__)
#define info(...)	logmsg(LOG_INFO, __VA_ARGS__)
#define err_perror(...)	logmsg_perror(LOG_ERR, __VA_ARGS__)
#define warn_perror(...) logmsg_perror(LOG_WARNING, __VA_ARGS__)

/* warn() and warn_perror(), LOG_RL_BURST times per LOG_RL_INTERVAL at most:
 * for what the guest or a local client can make merd say again and again.
 * @c is the context (its clock, and the limits' state in @rl), @id an enum
 * log_rl_id
 */
#define warn_rl(c, id, ...)						\
	do {								\
		if (log_rl_allow(&(c)->rl[id], (c)->now))		\
			warn(__VA_ARGS__);				\
	} while (0)

#define warn_perror_rl(c, id, ...)					\
	do {								\
		int rl_errno_ = errno;					\
									\
		if (log_rl_allow(&(c)->rl[id], (c)->now)) {		\
			errno = rl_errno_;				\
			warn_perror(__VA_ARGS__);			\
		}							\
	} while (0)

/* Log an error and exit with status 1: for start-up failures only */
#define die(...)							\
	do {								\
		logmsg(LOG_ERR, __VA_ARGS__);				\
		exit(EXIT_FAILURE);					\
	} while (0)

#define debug(...)							\
	do {								\
		if (log_debug_enabled())				\
			logmsg(LOG_DEBUG, __VA_ARGS__);			\
	} while (0)

/* One line per packet, only with --trace: costs a branch otherwise */
#define trace(c, ...)							\
	do {								\
		if ((c)->opts.trace)						\
			logmsg(LOG_DEBUG, __VA_ARGS__);			\
	} while (0)

#endif /* LOG_H */
