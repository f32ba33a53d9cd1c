/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tcp.h - TCP segments merd writes itself: resets, and GRO's undoing
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef TCP_H
#define TCP_H

#include <stddef.h>
#include <stdint.h>

#include "merd.h"

void tcp_rst(struct ctx *c, const uint8_t *ip, size_t len);
int tcp_to_guest(struct ctx *c, uint8_t *ip, size_t len);

#endif /* TCP_H */
