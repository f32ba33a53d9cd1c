/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowtab.h - the flow table, listed for whoever runs merd (SIGUSR1)
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef FLOWTAB_H
#define FLOWTAB_H

#include <stdint.h>

struct ctx;

uint32_t flowtab_log(const struct ctx *c);

#endif /* FLOWTAB_H */
