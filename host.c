// SPDX-License-Identifier: GPL-2.0-or-later
/* host.c - the host's uplink, and the identity the guest gets from it
 *
 * Copyright (c) 2026 merd authors
 *
 * At start, and again whenever the kernel says a link, an address or a
 * route changed (a netlink socket in the event loop), merd reads the
 * default route of each family, its gateway, the address and prefix on its
 * interface, and that interface's MAC and MTU (netlink.c), and every
 * address the host has on any interface, which the guest reaches only
 * through the gateway mapping (fwd.c). From that, and from what the
 * command line fixed, come the guest's address, prefix, gateway and MTU,
 * and the address its flows leave from.
 *
 * When they change, the guest is served the new identity: flows that left
 * from the host's old address end (the address is gone; the guest's next
 * segment of one draws a reset), DHCP refuses the old lease when the guest
 * renews it, so that it asks for the new one, and router advertisements
 * withdraw the old IPv6 prefix. A default route that merely goes away
 * changes nothing: the guest keeps its identity, and its flows survive the
 * host's network coming back as it was. Without any default route at start,
 * merd waits for one, and serves once it appears.
 */

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>

#include "fwd.h"
#include "host.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "neigh.h"
#include "netlink.h"
#include "util.h"

/* Used when the host's interface doesn't say, and for want of a prefix */
#define HOST_MTU_DEFAULT	ETH_DATA_LEN
#define HOST_PREFIX4_DEFAULT	24
#define HOST_PREFIX6_DEFAULT	64

static const char *const host_why_text[HOST_WHY_MAX] = {
	[HOST_OK]		= "served",
	[HOST_OFF]		= "off",
	[HOST_NO_ROUTE4]	= "no default IPv4 route",
	[HOST_NO_ROUTE6]	= "the host has no default IPv6 route",
	[HOST_NO_ADDR4]		= "no IPv4 address on the uplink",
	[HOST_NO_ADDR6]		= "no global IPv6 address on the uplink",
	[HOST_NO_GW4]		= "the default route has no gateway address",
	[HOST_GW_IS_ADDR]	= "the gateway is the guest's own address",
	[HOST_MTU_LOW6]		= "the MTU is below IPv6's 1280",
};

/**
 * host_why() - say why a family isn't served
 * @why:	enum host_why
 *
 * Return: the reason, as text
 */
const char *host_why(enum host_why why)
{
	return why < HOST_WHY_MAX ? host_why_text[why] : "unknown";
}

/**
 * host_route() - find the default route of a family, if there is one
 * @family:	AF_INET or AF_INET6
 * @want:	interface asked for with --interface, 0 for any
 * @ifi:	set to the route's interface, 0 if there is none
 * @gw:		set to its gateway
 *
 * Return: 0 on success (a route or none), -errno if netlink failed
 */
static int host_route(int family, unsigned int want, unsigned int *ifi,
		      void *gw)
{
	int ret = nl_route_default(family, want, ifi, gw);

	if (ret == -ENOENT) {
		*ifi = 0;
		return 0;
	}
	return ret;
}

/**
 * host_read() - read the host's uplink of each family served, and every
 *		 address the host has
 * @c:		context: options
 * @h:		filled in; out and loopback resolver fields left zero
 *
 * Return: 0 on success, -ENODEV if --interface names no interface (now),
 *	   -errno if netlink failed
 */
int host_read(const struct ctx *c, struct host_conf *h)
{
	unsigned int want = 0, ifi4 = 0;
	int ret;

	memset(h, 0, sizeof(*h));
	h->prefix4 = h->prefix6 = -1;
	if (*c->opts.ifname && !(want = if_nametoindex(c->opts.ifname)))
		return -ENODEV;
	if (c->opts.v4 && (ret = host_route(AF_INET, want, &ifi4, &h->gw4)))
		return ret;
	if (c->opts.v6 &&
	    (ret = host_route(AF_INET6, want, &h->ifi6, &h->gw6)))
		return ret;

	h->route4 = ifi4 != 0;
	h->route6 = h->ifi6 != 0;
	h->ifi = ifi4 ? ifi4 : h->ifi6 ? h->ifi6 : want;
	if (!h->ifi6)
		h->ifi6 = h->ifi;
	if (h->ifi && (ret = nl_link_get(h)))
		return ret;
	if (ifi4 && nl_addr_get(AF_INET, ifi4, h->gw4.s_addr, &h->addr4,
				&h->prefix4))
		h->prefix4 = -1;
	if (h->ifi6 && nl_addr_get(AF_INET6, h->ifi6, 0, &h->addr6,
				   &h->prefix6))
		h->prefix6 = -1;
	return nl_addrs_all(h);
}

/**
 * host_mtu() - the guest link's MTU from the host's
 * @c:		context: options, the current MTU
 * @h:		what the host has
 *
 * Without an uplink (no default route now), the MTU stays what it was.
 *
 * Return: the MTU, --mtu's if it was given
 */
static unsigned int host_mtu(const struct ctx *c, const struct host_conf *h)
{
	if (c->opts.fixed.mtu || (!h->ifi && c->link.mtu))
		return c->link.mtu;
	if (!h->mtu)
		return HOST_MTU_DEFAULT;
	return MIN(MAX(h->mtu, (unsigned int)MTU_MIN), (unsigned int)MTU_MAX);
}

/**
 * host_guest4() - the IPv4 identity the guest gets from what the host has
 * @c:		context: options, and the current identity
 * @h:		what the host has
 * @g:		set to the identity: the current one, with what the command
 *		line didn't fix taken from @h
 *
 * Return: HOST_OK if @g can be served, else why not
 */
enum host_why host_guest4(const struct ctx *c, const struct host_conf *h,
			  struct guest4 *g)
{
	const struct conf_fixed *fx = &c->opts.fixed;

	*g = c->guest4;
	if (!c->opts.v4)
		return HOST_OFF;
	if (!h->route4 && !(fx->gw4 && fx->addr4))
		return HOST_NO_ROUTE4;
	if (!fx->addr4) {
		if (h->prefix4 < 0)
			return HOST_NO_ADDR4;
		g->addr = h->addr4;
	}
	if (!fx->prefix4)
		g->prefix_len = h->prefix4 >= 0 ? h->prefix4 :
						  HOST_PREFIX4_DEFAULT;
	if (!fx->gw4)
		g->gw = h->gw4;
	if (!g->gw.s_addr)
		return HOST_NO_GW4;
	if (g->gw.s_addr == g->addr.s_addr)
		return HOST_GW_IS_ADDR;
	g->enabled = true;
	return HOST_OK;
}

/**
 * host_prefix6() - set an IPv6 prefix from an address and a length
 * @prefix:	set to @addr with the host bits zero
 * @addr:	address
 * @len:	prefix length, 0 to 128
 */
static void host_prefix6(struct in6_addr *prefix, const struct in6_addr *addr,
			 int len)
{
	int i;

	for (i = 0; i < (int)sizeof(prefix->s6_addr); i++) {
		int bits = MIN(MAX(len - i * 8, 0), 8);

		prefix->s6_addr[i] = addr->s6_addr[i] &
				     (uint8_t)(0xff00 >> bits);
	}
}

/**
 * host_guest6() - the IPv6 identity the guest gets from what the host has
 * @c:		context: options, and the current identity
 * @h:		what the host has
 * @mtu:	the guest link's MTU
 * @g:		set to the identity, as host_guest4() does
 *
 * The guest's router is link-local, as RFC 4861 6.1.2 wants an RA's
 * source to be: the host's own gateway where that is link-local, else
 * fe80::1.
 *
 * Return: HOST_OK if @g can be served, else why not
 */
enum host_why host_guest6(const struct ctx *c, const struct host_conf *h,
			  unsigned int mtu, struct guest6 *g)
{
	static const struct in6_addr fe80_1 = { { { 0xfe, 0x80, [15] = 1 } } };
	const struct conf_fixed *fx = &c->opts.fixed;

	*g = c->guest6;
	if (!c->opts.v6)
		return HOST_OFF;
	if (!h->route6 && !fx->addr6)
		return HOST_NO_ROUTE6;
	if (!fx->addr6 && h->prefix6 < 0)
		return HOST_NO_ADDR6;
	if (mtu < IP6_MTU_MIN)
		return HOST_MTU_LOW6;
	if (!fx->addr6)
		g->addr = h->addr6;
	g->prefix_len = h->prefix6 >= 0 ? h->prefix6 : HOST_PREFIX6_DEFAULT;
	host_prefix6(&g->prefix, &g->addr, g->prefix_len);
	if (!fx->gw6)
		g->gw = IN6_IS_ADDR_LINKLOCAL(&h->gw6) ? h->gw6 : fe80_1;
	g->enabled = true;
	return HOST_OK;
}

/**
 * host_out() - set the addresses flows leave from
 * @c:		context, the guest's identity set
 * @h:		what the host has; @out4 and @out6 set
 *
 * The host's own address of each family; where it has none, as with
 * --address offline, the guest's.
 */
static void host_out(const struct ctx *c, struct host_conf *h)
{
	h->out4 = h->prefix4 >= 0 ? h->addr4 : c->guest4.addr;
	h->out6 = h->prefix6 >= 0 ? h->addr6 : c->guest6.addr;
}

/**
 * host_addrs_note() - say when the host has more addresses than merd keeps,
 *		       or no longer has
 * @old:	what merd knew, zero at start
 * @h:		what the host has now
 *
 * Once when it starts, once when it ends: in between, the guest's new
 * flows of that family are refused (fwd.c), as merd can't tell the host's
 * other addresses from remote ones.
 */
static void host_addrs_note(const struct host_conf *old,
			    const struct host_conf *h)
{
	static const char *const fam[] = { "IPv4", "IPv6" };
	const int was[] = { old->addrs4_n, old->addrs6_n };
	const int now[] = { h->addrs4_n, h->addrs6_n };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(now); i++) {
		if (now[i] > HOST_ADDRS_MAX && was[i] <= HOST_ADDRS_MAX)
			warn("%s: the host has %d addresses, more than the %d "
			     "merd tells from remote ones: the guest's new "
			     "%s flows are refused but to the gateway", fam[i],
			     now[i], HOST_ADDRS_MAX, fam[i]);
		else if (now[i] <= HOST_ADDRS_MAX && was[i] > HOST_ADDRS_MAX)
			info("%s: the host has %d addresses again: the guest's "
			     "new flows go out", fam[i], now[i]);
	}
}

/**
 * host_addrs_changed() - tell whether the host's addresses changed
 * @old:	what merd knew
 * @h:		what the host has now
 *
 * Return: true if a list or its count differs
 */
static bool host_addrs_changed(const struct host_conf *old,
			       const struct host_conf *h)
{
	return old->addrs4_n != h->addrs4_n || old->addrs6_n != h->addrs6_n ||
	       memcmp(old->addrs4, h->addrs4, sizeof(h->addrs4)) != 0 ||
	       memcmp(old->addrs6, h->addrs6, sizeof(h->addrs6)) != 0;
}

/**
 * host_init() - read the host, and set what the guest gets from it
 * @c:		context, options parsed
 * @why4:	set to why IPv4 isn't served, HOST_OK if it is
 * @why6:	set to why IPv6 isn't served, HOST_OK if it is
 *
 * Return: 0 on success, -errno as host_read()
 */
int host_init(struct ctx *c, enum host_why *why4, enum host_why *why6)
{
	struct host_conf h;
	int ret;

	ret = host_read(c, &h);
	if (ret)
		return ret;
	host_addrs_note(&c->host, &h);
	c->host = h;
	c->link.mtu = host_mtu(c, &h);
	*why4 = host_guest4(c, &h, &c->guest4);
	*why6 = host_guest6(c, &h, c->link.mtu, &c->guest6);
	host_out(c, &c->host);
	c->host.why4 = *why4;
	c->host.why6 = *why6;
	return 0;
}

/**
 * host_dns4_gw() - point the guest's DNS entries for the gateway at a new one
 * @g:		the guest's new IPv4 identity
 * @old:	the gateway before, INADDR_ANY if there was none
 *
 * A resolver on the host's loopback is reached through the gateway
 * address (conf.c): the entry follows the gateway.
 */
static void host_dns4_gw(struct guest4 *g, struct in_addr old)
{
	int i;

	for (i = 0; i < g->dns_n; i++)
		if (g->dns[i].s_addr == old.s_addr)
			g->dns[i] = g->gw;
}

/**
 * host_apply4() - serve a new IPv4 identity, if it changed
 * @c:		context
 * @g:		the new identity
 * @out:	the address flows leave from now
 * @mtu_changed: the link's MTU changed too
 */
static void host_apply4(struct ctx *c, struct guest4 *g, struct in_addr out,
			bool mtu_changed)
{
	struct guest4 *old = &c->guest4;
	char a[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	bool renum = old->enabled && (g->addr.s_addr != old->addr.s_addr ||
				      g->prefix_len != old->prefix_len);
	uint32_t ended = 0;

	if (old->enabled && g->gw.s_addr == old->gw.s_addr && !renum &&
	    out.s_addr == c->host.out4.s_addr && !mtu_changed)
		return;

	if (out.s_addr != c->host.out4.s_addr) {
		union inany_addr from;

		inany_from_v4(&from, c->host.out4.s_addr);
		ended = fwd_addr_gone(c, &from);
	}
	if (g->gw.s_addr != old->gw.s_addr) {
		g->gw_prev = old->gw;
		host_dns4_gw(g, old->gw);
	}
	if (renum) {
		g->renumbered = true;
		g->bound = false;
	}

	inet_ntop(AF_INET, &g->addr, a, sizeof(a));
	inet_ntop(AF_INET, &g->gw, gw, sizeof(gw));
	info("%s: guest gets %s/%d, gateway %s, MTU %u%s",
	     old->enabled ? "the host's network changed" :
			    "the host has a default IPv4 route",
	     a, g->prefix_len, gw, c->link.mtu,
	     renum ? " (its next DHCP renewal is refused)" : "");
	if (ended)
		info("    %u flows from the host's old address ended", ended);
	*old = *g;
	c->host.out4 = out;
}

/**
 * host_apply6() - serve a new IPv6 identity, if it changed
 * @c:		context
 * @g:		the new identity
 * @out:	the address flows leave from now
 * @mtu_changed: the link's MTU changed too
 */
static void host_apply6(struct ctx *c, struct guest6 *g,
			const struct in6_addr *out, bool mtu_changed)
{
	struct guest6 *old = &c->guest6;
	char a[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];
	bool renum = old->enabled &&
		     (!IN6_ARE_ADDR_EQUAL(&g->addr, &old->addr) ||
		      !IN6_ARE_ADDR_EQUAL(&g->prefix, &old->prefix) ||
		      g->prefix_len != old->prefix_len);
	uint32_t ended = 0;

	if (old->enabled && IN6_ARE_ADDR_EQUAL(&g->gw, &old->gw) && !renum &&
	    IN6_ARE_ADDR_EQUAL(out, &c->host.out6) && !mtu_changed)
		return;

	if (!IN6_ARE_ADDR_EQUAL(out, &c->host.out6)) {
		union inany_addr from = { .a6 = c->host.out6 };

		ended = fwd_addr_gone(c, &from);
	}
	if (renum) {
		g->prev = old->addr;
		g->prev_prefix = old->prefix;
		g->prev_len = old->prefix_len;
		g->bound = false;
	}

	inet_ntop(AF_INET6, &g->addr, a, sizeof(a));
	inet_ntop(AF_INET6, &g->gw, gw, sizeof(gw));
	info("%s: guest gets %s/%d, router %s, MTU %u",
	     old->enabled ? "the host's network changed" :
			    "the host has a default IPv6 route",
	     a, g->prefix_len, gw, c->link.mtu);
	if (ended)
		info("    %u flows from the host's old address ended", ended);
	*old = *g;
	c->host.out6 = *out;
	/* Tell the guest at once: the next tick sends a router advertisement */
	c->ra_next = c->now;
}

/**
 * host_why_note() - say, once, that a family's new state can't be served
 * @c:		context
 * @family:	AF_INET or AF_INET6
 * @was:	the reason noted before, HOST_OK if none
 * @why:	the reason now
 */
static void host_why_note(const struct ctx *c, int family, enum host_why was,
			  enum host_why why)
{
	bool served = family == AF_INET ? c->guest4.enabled :
					  c->guest6.enabled;

	if (why == was || why == HOST_OFF)
		return;
	if (why == HOST_OK) {
		if (was == HOST_NO_ROUTE4 || was == HOST_NO_ROUTE6)
			info("%s: the default route is back",
			     family == AF_INET ? "IPv4" : "IPv6");
		return;
	}
	if (served)
		info("%s: %s, the guest keeps what it has",
		     family == AF_INET ? "IPv4" : "IPv6", host_why(why));
	else
		info("%s: %s, waiting", family == AF_INET ? "IPv4" : "IPv6",
		     host_why(why));
}

/**
 * host_update() - read the host again, and serve what changed
 * @c:		context
 *
 * The host's addresses are read again too: a new one is refused to the
 * guest from then on, and the guest's flows to it end. The next hops
 * remembered are forgotten, whatever the read finds: any route may have
 * changed (neigh.c asks again).
 *
 * Return: 0 on success, -errno if the host couldn't be read (the old
 *	   state is kept)
 */
int host_update(struct ctx *c)
{
	enum host_why why4, why6;
	struct guest4 g4;
	struct guest6 g6;
	bool mtu_changed, addrs_changed;
	struct host_conf h;
	unsigned int mtu;
	uint32_t ended;
	int ret;

	neigh_forget(c);
	ret = host_read(c, &h);
	if (ret)
		return ret;
	mtu = host_mtu(c, &h);
	mtu_changed = mtu != c->link.mtu;
	if (mtu_changed)
		c->link.mtu = mtu;
	why4 = host_guest4(c, &h, &g4);
	why6 = host_guest6(c, &h, mtu, &g6);
	if (why4 == HOST_OK)
		host_apply4(c, &g4, h.prefix4 >= 0 ? h.addr4 : g4.addr,
			    mtu_changed);
	if (why6 == HOST_OK)
		host_apply6(c, &g6, h.prefix6 >= 0 ? &h.addr6 : &g6.addr,
			    mtu_changed);
	host_why_note(c, AF_INET, c->host.why4, why4);
	host_why_note(c, AF_INET6, c->host.why6, why6);

	/* The rest of what netlink says; what merd derived stays */
	h.out4 = c->host.out4;
	h.out6 = c->host.out6;
	h.dns4_lo = c->host.dns4_lo;
	h.dns6_lo = c->host.dns6_lo;
	h.why4 = why4;
	h.why6 = why6;
	host_addrs_note(&c->host, &h);
	addrs_changed = host_addrs_changed(&c->host, &h);
	if (addrs_changed)
		debug("the host has %d IPv4 and %d IPv6 addresses the guest "
		      "reaches only through the gateway", h.addrs4_n,
		      h.addrs6_n);
	c->host = h;
	if (addrs_changed && (ended = fwd_confine_flows(c)))
		info("%u flows to what is now the host's own address ended",
		     ended);
	return 0;
}

/**
 * host_handler() - the kernel told of changes: follow them
 * @c:		context
 */
void host_handler(struct ctx *c)
{
	int ret;

	if (!nl_monitor_read(c->fd_nl))
		return;
	ret = host_update(c);
	if (ret)
		warn("can't read the host's network configuration: %s",
		     strerror(-ret));
}
