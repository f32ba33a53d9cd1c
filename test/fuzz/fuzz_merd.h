/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_merd.h - merd.c's frame dispatcher, for the harnesses that need it
 *
 * Copyright (c) 2026 merd authors
 *
 * What a frame from the guest means (ARP, DHCP, forwarding) is decided by
 * merd.c: frame_handler(), static, handed to tap.c in merd_tap_ops with
 * fwd_flush() as the end of a batch. fuzz_tap and fuzz_fwd drive that very
 * code, not a copy of it that could drift: merd.c is compiled into them,
 * its main() renamed out of libFuzzer's way. Its start-up and main loop
 * come along unused; conf() and conf_print(), which main() calls and which
 * would bring conf.c, netlink.c and libmnl, are stubs that abort.
 *
 * The harnesses still work out on their own what frame_handler() must do
 * with each frame (fuzz_frame_in(), fuzz_is_dhcp()), and check it did.
 */

#ifndef FUZZ_MERD_H
#define FUZZ_MERD_H

#include <stdlib.h>

#ifndef MERD_VERSION
#define MERD_VERSION "fuzz"
#endif

#define main merd_main
#include "merd.c"
#undef main

int merd_main(int argc, char **argv);

/**
 * conf() - stub: the harnesses configure the context themselves
 * @c:		unused
 * @argc:	unused
 * @argv:	unused
 */
void conf(struct ctx *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	abort();
}

/**
 * conf_print() - stub
 * @c:		unused
 */
void conf_print(const struct ctx *c)
{
	(void)c;
	abort();
}

#endif /* FUZZ_MERD_H */
