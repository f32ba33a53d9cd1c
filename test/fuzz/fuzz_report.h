/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_report.h - where a harness reports a broken invariant
 *
 * Copyright (c) 2026 merd authors
 *
 * Every harness includes it, those that link no more than the unit they
 * fuzz directly, the others through fuzz_common.h.
 */

#ifndef FUZZ_REPORT_H
#define FUZZ_REPORT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Where invariant failures are reported: stderr as it was at start-up,
 * kept open if libFuzzer's -close_fd_mask=2 silences merd's own messages
 */
static FILE *fuzz_err;

/* Name of the harness, for messages */
static const char *fuzz_who;

/**
 * fuzz_report_init() - keep a copy of stderr for reports
 * @who:	harness name, for messages
 */
static inline void fuzz_report_init(const char *who)
{
	fuzz_who = who;
	fuzz_err = fdopen(dup(STDERR_FILENO), "w");
	if (!fuzz_err)
		fuzz_err = stderr;
}

/**
 * fuzz_vfail() - report a broken invariant on fuzz_err, and abort
 * @prefix:	what comes first, "" for nothing
 * @fmt:	printf() format of the report, without newline
 * @ap:		its arguments
 */
__attribute__((format(printf, 2, 0), noreturn))
static inline void fuzz_vfail(const char *prefix, const char *fmt, va_list ap)
{
	FILE *f = fuzz_err ? fuzz_err : stderr;

	fputs(prefix, f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
	abort();
}

/**
 * fuzz_fail() - report a broken invariant on fuzz_err, and abort
 * @fmt:	printf() format of the report, without newline
 * @...:	its arguments
 */
__attribute__((format(printf, 1, 2), noreturn))
static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fuzz_vfail("", fmt, ap);
}

/**
 * fuzz_invariant() - report a broken invariant, the harness named first
 * @fmt:	printf() format of the report, without newline
 * @...:	its arguments
 */
__attribute__((format(printf, 1, 2), noreturn))
static inline void fuzz_invariant(const char *fmt, ...)
{
	va_list ap;

	fprintf(fuzz_err ? fuzz_err : stderr, "%s: invariant broken: ",
		fuzz_who ? fuzz_who : "fuzz");
	va_start(ap, fmt);
	fuzz_vfail("", fmt, ap);
}

#endif /* FUZZ_REPORT_H */
