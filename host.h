/* SPDX-License-Identifier: GPL-2.0-or-later */
/* host.h - the host's uplink, and the identity the guest gets from it
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef HOST_H
#define HOST_H

struct ctx;
struct host_conf;
struct guest4;
struct guest6;

/**
 * enum host_why - whether a family can be served, and if not, why
 * @HOST_OK:		served
 * @HOST_OFF:		turned off on the command line (or by the kernel)
 * @HOST_NO_ROUTE4:	no default IPv4 route, and no --address/--gateway
 * @HOST_NO_ROUTE6:	no default IPv6 route, and no IPv6 --address
 * @HOST_NO_ADDR4:	the uplink has no IPv4 address
 * @HOST_NO_ADDR6:	the uplink has no global IPv6 address
 * @HOST_NO_GW4:	the default IPv4 route has no gateway
 * @HOST_GW_IS_ADDR:	the gateway is the guest's own address
 * @HOST_MTU_LOW6:	the MTU is too low for IPv6
 * @HOST_WHY_MAX:	number of reasons
 */
enum host_why {
	HOST_OK = 0,
	HOST_OFF,
	HOST_NO_ROUTE4,
	HOST_NO_ROUTE6,
	HOST_NO_ADDR4,
	HOST_NO_ADDR6,
	HOST_NO_GW4,
	HOST_GW_IS_ADDR,
	HOST_MTU_LOW6,
	HOST_WHY_MAX,
};

const char *host_why(enum host_why why);
int host_read(const struct ctx *c, struct host_conf *h);
enum host_why host_guest4(const struct ctx *c, const struct host_conf *h,
			  struct guest4 *g);
enum host_why host_guest6(const struct ctx *c, const struct host_conf *h,
			  unsigned int mtu, struct guest6 *g);
int host_init(struct ctx *c, enum host_why *why4, enum host_why *why6);
int host_update(struct ctx *c);
void host_handler(struct ctx *c);

#endif /* HOST_H */
