// SPDX-License-Identifier: GPL-2.0-or-later
/* log.c - logging to stderr or syslog
 *
 * Copyright (c) 2026 merd authors
 *
 * The settings below are the only state outside struct ctx: they are fixed
 * at start-up, and every unit, including those that never see a context
 * (start-up helpers, qrap), logs the same way. With a log file (-l, as
 * passt's), messages go there instead of stderr or syslog; the file never
 * grows past its size limit: when the next line wouldn't fit, it is cut
 * back to nothing and says so in its first line.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Room for a log file line's time stamp and "merd: " */
#define LOG_STAMP_MAX	64

static bool log_debug_on;	/* print LOG_DEBUG messages */
static bool log_syslog;		/* send messages to syslog, not stderr */
static bool log_quiet;		/* leave out LOG_INFO messages */
static int log_fd = -1;		/* the log file, or -1 */
static size_t log_size;		/* its size limit, bytes */
static size_t log_written;	/* its size now */

/**
 * log_init() - set where messages go and how verbose they are
 * @debug:	print debug messages
 * @use_syslog:	log to syslog (daemonised) instead of stderr
 */
void log_init(bool debug, bool use_syslog)
{
	log_debug_on = debug;
	if (use_syslog && !log_syslog)
		openlog("merd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = use_syslog;
}

/**
 * log_quiet_set() - leave out informational messages (-q)
 */
void log_quiet_set(void)
{
	log_quiet = true;
}

/**
 * log_file_open() - send messages to a file from now on
 * @path:	file, appended to
 * @size:	most bytes it may hold, at least LOG_SIZE_MIN
 *
 * Return: 0 on success, -errno
 */
int log_file_open(const char *path, size_t size)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	off_t end;

	if (fd < 0)
		return -errno;
	end = lseek(fd, 0, SEEK_END);
	log_fd = fd;
	log_size = size;
	log_written = end > 0 ? (size_t)end : 0;
	return 0;
}

/**
 * log_file_write() - append a line to the log file, within its limit
 * @line:	the line, newline included
 * @len:	its length
 */
static void log_file_write(const char *line, size_t len)
{
	static const char cut[] = "merd: log file reached its size limit, "
				  "cut\n";

	if (log_written + len > log_size) {
		if (ftruncate(log_fd, 0))
			return;
		log_written = 0;
		if (write(log_fd, cut, sizeof(cut) - 1) > 0)
			log_written = sizeof(cut) - 1;
	}
	if (write(log_fd, line, len) > 0)
		log_written += len;
}

/**
 * log_debug_enabled() - tell whether debug messages are printed
 *
 * Return: true if they are
 */
bool log_debug_enabled(void)
{
	return log_debug_on;
}

/**
 * vlogmsg() - print one message
 * @pri:	syslog priority
 * @suffix:	appended after the message (": strerror"), or NULL
 * @fmt:	format string
 * @ap:		arguments
 */
static void vlogmsg(int pri, const char *suffix, const char *fmt, va_list ap)
{
	char msg[BUFSIZ];
	struct timespec ts;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (suffix && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", suffix);

	if (log_fd >= 0) {
		char line[BUFSIZ + LOG_STAMP_MAX];

		clock_gettime(CLOCK_REALTIME, &ts);
		n = snprintf(line, sizeof(line), "%lld.%06ld merd: %s\n",
			     (long long)ts.tv_sec, ts.tv_nsec / 1000, msg);
		if (n > 0)
			log_file_write(line, MIN((size_t)n, sizeof(line) - 1));
		/* Until merd is in the background, errors show where it
		 * was started too
		 */
		if (pri > LOG_ERR || log_syslog)
			return;
	}

	if (log_syslog) {
		syslog(pri, "%s", msg);
		return;
	}

	if (log_debug_on) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(stderr, "%lld.%06ld ", (long long)ts.tv_sec,
			ts.tv_nsec / 1000);
	}
	fprintf(stderr, "merd: %s\n", msg);
}

/**
 * logmsg() - log a message if its priority is enabled
 * @pri:	syslog priority
 * @fmt:	format string
 */
void logmsg(int pri, const char *fmt, ...)
{
	va_list ap;

	if ((pri == LOG_DEBUG && !log_debug_on) ||
	    (pri == LOG_INFO && log_quiet))
		return;
	va_start(ap, fmt);
	vlogmsg(pri, NULL, fmt, ap);
	va_end(ap);
}

/**
 * logmsg_perror() - log a message followed by the description of errno
 * @pri:	syslog priority
 * @fmt:	format string
 */
void logmsg_perror(int pri, const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vlogmsg(pri, strerror(e), fmt, ap);
	va_end(ap);
}

/**
 * log_rl_allow() - tell whether a rate-limited message may be logged now
 * @rl:		its limit's state
 * @now:	monotonic clock, seconds
 *
 * At most LOG_RL_BURST messages per LOG_RL_INTERVAL seconds. When a new
 * interval starts after some were held back, a line says how many.
 *
 * Return: true if the message may be logged
 */
bool log_rl_allow(struct log_rl *rl, uint32_t now)
{
	if (!rl->n || now - rl->start >= LOG_RL_INTERVAL) {
		if (rl->suppressed)
			logmsg(LOG_WARNING, "%u similar messages suppressed",
			       rl->suppressed);
		rl->start = now;
		rl->n = 0;
		rl->suppressed = 0;
	}
	if (rl->n < LOG_RL_BURST) {
		rl->n++;
		return true;
	}
	rl->suppressed++;
	return false;
}

/**
 * log_raw() - write a line to the log file as it is, if there is one
 * @line:	text, with its newline
 * @len:	its length
 *
 * Async-signal-safe: one write(), nothing else.
 */
void log_raw(const char *line, size_t len)
{
	if (log_fd >= 0 && write(log_fd, line, len) < 0)
		return;
}
