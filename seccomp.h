/* SPDX-License-Identifier: GPL-2.0-or-later */
/* seccomp.h - the system calls merd makes once it serves, and no others
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef SECCOMP_H
#define SECCOMP_H

int seccomp_install(void);

#endif /* SECCOMP_H */
