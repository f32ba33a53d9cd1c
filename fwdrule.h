/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fwdrule.h - inbound port forwarding rules: passt's -t and -u syntax
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef FWDRULE_H
#define FWDRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "inany.h"
#include "port.h"

/* Most rules all -t and -u options together may make (each range left
 * between exclusions is one)
 */
#define FWDRULE_MAX	256
/* Longest argument of one -t or -u */
#define FWDRULE_SPEC_MAX	1024
/* Room for an error message */
#define FWDRULE_ERR_LEN	256
/* Room for a rule's text as written, for messages */
#define FWDRULE_TEXT_LEN	48

/**
 * enum fwdrule_mode - what the options said for one protocol
 * @FWDRULE_UNSET:	nothing
 * @FWDRULE_NONE:	"none"
 * @FWDRULE_SPEC:	lists of ports (any number of options)
 * @FWDRULE_ALL:	"all", or a spec of exclusions only
 */
enum fwdrule_mode {
	FWDRULE_UNSET,
	FWDRULE_NONE,
	FWDRULE_SPEC,
	FWDRULE_ALL,
};

/**
 * struct fwdrule - host ports forwarded to the guest
 * @proto:	IPPROTO_TCP or IPPROTO_UDP
 * @wide:	from "all" or a spec of exclusions only: ports another
 *		program holds, or that need a privilege merd lacks, are left
 *		out rather than being an error
 * @addr_set:	only packets for @addr are forwarded
 * @addr:	the bound address, IPv4 as IPv4-mapped IPv6
 * @ifname:	only packets that came in on this interface, "" for any
 * @ifi:	its index, found at start (0 until then)
 * @first:	first host port
 * @last:	last host port, at least @first
 * @to:		guest port @first goes to; the others follow in order
 * @text:	the option and the part of its argument that made the rule,
 *		for messages, e.g. "-t 8000-8010"
 */
struct fwdrule {
	uint8_t proto;
	bool wide;
	bool addr_set;
	union inany_addr addr;
	char ifname[IFNAMSIZ];
	unsigned int ifi;
	uint16_t first;
	uint16_t last;
	uint16_t to;
	char text[FWDRULE_TEXT_LEN];
};

/**
 * struct fwdrules - every forwarding rule
 * @rule:	rules, in the order given
 * @n:		number of them
 * @mode:	per protocol, [0] TCP and [1] UDP: enum fwdrule_mode
 */
struct fwdrules {
	struct fwdrule rule[FWDRULE_MAX];
	int n;
	uint8_t mode[2];
};

int fwdrule_parse(struct fwdrules *rules, uint8_t proto, const char *spec,
		  const struct port_range *skip, int nskip, char *err,
		  size_t errlen);
const struct fwdrule *fwdrule_match(const struct fwdrules *rules,
				    uint8_t proto,
				    const union inany_addr *dst,
				    unsigned int ifi, uint16_t port);
uint16_t fwdrule_to(const struct fwdrule *r, uint16_t port);
uint32_t fwdrule_ports(const struct fwdrules *rules, uint8_t proto);
int fwdrule_ranges(const struct fwdrules *rules, uint8_t proto,
		   struct port_range *out, int max);
int fwdrule_fit(struct port_range *r, int n, int max);

#endif /* FWDRULE_H */
