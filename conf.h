/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conf.h - command line, host discovery and resolv.conf
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef CONF_H
#define CONF_H

#include "merd.h"

void conf(struct ctx *c, int argc, char **argv);
void conf_print(const struct ctx *c);

#endif /* CONF_H */
