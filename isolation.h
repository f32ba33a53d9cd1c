/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isolation.h - what merd gives up once it is set up
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef ISOLATION_H
#define ISOLATION_H

struct ctx;

void isolate(struct ctx *c);

#endif /* ISOLATION_H */
