/* SPDX-License-Identifier: GPL-2.0-or-later */
/* systemd.h - socket activation and readiness, systemd's two protocols
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef SYSTEMD_H
#define SYSTEMD_H

/* Longest notification merd sends: a state and MAINPID= */
#define SD_NOTIFY_MAX	128

int sd_listen_fd(void);
int sd_notify_open(void);
void sd_notify_state(int fd, const char *state);

#endif /* SYSTEMD_H */
