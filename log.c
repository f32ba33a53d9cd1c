// SPDX-License-Identifier: GPL-2.0-or-later
/* log.c - logging to stderr or syslog
 *
 * Copyright (c) 2026 merd authors
 *
 * The two settings below are the only state outside struct ctx: they are
 * fixed once at start-up, and every unit, including those that never see a
 * context (start-up helpers, qrap), logs the same way.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static bool log_debug_on;	/* print LOG_DEBUG messages */
static bool log_syslog;		/* send messages to syslog, not stderr */

/**
 * log_init() - set where messages go and how verbose they are
 * @debug:	print debug messages
 * @use_syslog:	log to syslog (daemonised) instead of stderr
 */
void log_init(bool debug, bool use_syslog)
{
	log_debug_on = debug;
	if (use_syslog && !log_syslog)
		openlog("merd", LOG_PID, LOG_DAEMON);
	log_syslog = use_syslog;
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
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (suffix && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", suffix);

	if (log_syslog) {
		syslog(pri, "%s", msg);
		return;
	}

	if (log_debug_on) {
		struct timespec ts;

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

	if (pri == LOG_DEBUG && !log_debug_on)
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
