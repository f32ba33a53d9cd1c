/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fwd.h - the router: guest packets out from the host's address, answers in
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef FWD_H
#define FWD_H

#include "ip4.h"
#include "merd.h"
#include "raw.h"

int fwd_init(struct ctx *c);
void fwd_cleanup(struct ctx *c);
void fwd_forget(struct ctx *c);
void fwd_timer(struct ctx *c);
bool fwd_dst_ok(const struct ctx *c, uint32_t daddr);
void fwd_from_guest(struct ctx *c, const struct ip4_view *ip);
void fwd_from_host(struct ctx *c, uint8_t *ip, size_t len);
void fwd_flush(struct ctx *c);
void fwd_raw_handler(struct ctx *c, enum raw_proto proto);
void fwd_raw_resume(struct ctx *c);

#endif /* FWD_H */
