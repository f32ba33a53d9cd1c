/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.h - small helpers every unit may use
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef UTIL_H
#define UTIL_H

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

#endif /* UTIL_H */
