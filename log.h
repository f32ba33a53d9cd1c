/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h - logging to stderr or syslog, and the per-packet trace
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <syslog.h>

/* Smallest --log-size: room for a few hundred lines */
#define LOG_SIZE_MIN		(64UL * 1024)
/* Default --log-size, as passt's */
#define LOG_SIZE_DEFAULT	(1024UL * 1024)

void log_init(bool debug, bool use_syslog);
void log_quiet_set(void);
int log_file_open(const char *path, size_t size);
bool log_debug_enabled(void);
void logmsg(int pri, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void logmsg_perror(int pri, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define err(...)	logmsg(LOG_ERR, __VA_ARGS__)
#define warn(...)	logmsg(LOG_WARNING, __VA_ARGS__)
#define info(...)	logmsg(LOG_INFO, __VA_ARGS__)
#define err_perror(...)	logmsg_perror(LOG_ERR, __VA_ARGS__)
#define warn_perror(...) logmsg_perror(LOG_WARNING, __VA_ARGS__)

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
