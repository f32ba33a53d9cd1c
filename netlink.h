/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netlink.h - what the host's routing tables say about its uplink
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef NETLINK_H
#define NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "merd.h"

int nl_route_default(int family, unsigned int ifi_want, unsigned int *ifi,
		     void *gw);
int nl_addr_get(int family, unsigned int ifi, uint32_t gw4, void *addr,
		int *prefix_len);
int nl_addrs_all(struct host_conf *h);
int nl_link_get(struct host_conf *h);
int nl_monitor_open(void);
bool nl_monitor_read(int fd);

#endif /* NETLINK_H */
