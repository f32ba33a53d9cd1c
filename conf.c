// SPDX-License-Identifier: GPL-2.0-or-later
/* conf.c - command line, host discovery and resolv.conf: what the guest gets
 *
 * Copyright (c) 2026 merd authors
 *
 * Options are spelled as passt spells them. Every value is checked before
 * anything is started; a bad one ends merd with one line naming the option
 * and exit status 1. Whatever isn't given comes from the host: the default
 * route's interface, gateway, address, prefix, MAC and MTU (netlink.c), and
 * DNS servers and search list from /etc/resolv.conf.
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <net/if.h>

#include "conf.h"
#include "fwdrule.h"
#include "host.h"
#include "ip4.h"
#include "ip6.h"
#include "log.h"
#include "merd.h"
#include "netlink.h"
#include "pcap.h"
#include "tap.h"

#define RESOLV_CONF	"/etc/resolv.conf"
/* RFC 1035 2.3.4: labels are at most 63 octets */
#define LABEL_MAX	63

/* Used on the guest's link when the host's interface has no MAC: locally
 * administered, unicast (IEEE 802 bit 1 of the first octet set, bit 0 clear)
 */
static const uint8_t conf_default_mac[ETH_ALEN] = { 0x9a, 0x55, 0x9a,
						    0x55, 0x9a, 0x55 };

enum {
	OPT_TRACE = UCHAR_MAX + 1,
	OPT_VERSION,
	OPT_NO_MAP_GW,
	OPT_ALLOW_LL,
	OPT_FLOWS,
	OPT_PORTS,
	OPT_TIMEOUT,
	OPT_NO_NDP,
	OPT_NO_RA,
	OPT_NO_DHCPV6,
	OPT_SOCKET_MODE,
	OPT_SOCKET_GROUP,
	OPT_LOG_SIZE,
	OPT_RUNAS,
	OPT_TSO,
	OPT_NO_TSO,
	OPT_GSO,
	OPT_NO_GSO,
	OPT_MAX,
};

#define PORT_RANGE_FILE	"/proc/sys/net/ipv4/ip_local_port_range"
/* Forwarding rules listed at start, one line each: then a count */
#define CONF_RULES_SHOWN	8
/* The socket file: only merd's user may connect, unless told otherwise */
#define CONF_SOCK_MODE		0600
#define CONF_SOCK_MODE_MAX	0777
/* Largest --log-size: 1 GiB */
#define CONF_LOG_SIZE_MAX	(1UL << 30)
/* Started as root, merd serves as this user (passt does the same), or as
 * the overflow ID where it has no passwd entry
 */
#define CONF_RUNAS_DEFAULT	"nobody"
#define CONF_NOBODY_ID		65534
/* RFC 3927: IPv4 link-local addresses, 169.254.0.0/16, host order */
#define CONF_LL4_NET		0xa9fe0000
/* Fewest ports worth a default range above the ephemeral one */
#define PORTS_MIN	16

/**
 * struct conf_given - which values came from the command line
 * @addr:	--address, IPv4
 * @prefix:	--netmask
 * @gw:		--gateway, IPv4
 * @addr6:	--address, IPv6
 * @gw6:	--gateway, IPv6
 * @only4:	--ipv4-only
 * @only6:	--ipv6-only
 * @mtu:	--mtu
 * @mac:	--mac-addr
 * @dns:	--dns (possibly "none")
 * @search:	--search (possibly "none")
 * @seen:	options met so far, to refuse repeated single-value ones
 * @fwd:	-t and -u arguments, parsed once the ports merd uses are known
 * @fwd_proto:	IPPROTO_TCP or IPPROTO_UDP, for each of @fwd
 * @fwd_n:	number of them
 */
struct conf_given {
	bool addr, prefix, gw, mtu, mac, dns, search;
	bool addr6, gw6, only4, only6;
	bool seen[OPT_MAX];
	const char *fwd[FWDRULE_MAX];
	uint8_t fwd_proto[FWDRULE_MAX];
	int fwd_n;
};


static const struct option conf_longopts[] = {
	{ "socket",	required_argument,	NULL,	's' },
	{ "foreground",	no_argument,		NULL,	'f' },
	{ "debug",	no_argument,		NULL,	'd' },
	{ "trace",	no_argument,		NULL,	OPT_TRACE },
	{ "interface",	required_argument,	NULL,	'i' },
	{ "address",	required_argument,	NULL,	'a' },
	{ "netmask",	required_argument,	NULL,	'n' },
	{ "gateway",	required_argument,	NULL,	'g' },
	{ "dns",	required_argument,	NULL,	'D' },
	{ "search",	required_argument,	NULL,	'S' },
	{ "mtu",	required_argument,	NULL,	'm' },
	{ "mac-addr",	required_argument,	NULL,	'M' },
	{ "pid",	required_argument,	NULL,	'P' },
	{ "one-off",	no_argument,		NULL,	'1' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "version",	no_argument,		NULL,	OPT_VERSION },
	{ "no-map-gw",	no_argument,		NULL,	OPT_NO_MAP_GW },
	{ "allow-link-local", required_argument, NULL,	OPT_ALLOW_LL },
	{ "flows",	required_argument,	NULL,	OPT_FLOWS },
	{ "ports",	required_argument,	NULL,	OPT_PORTS },
	{ "timeout",	required_argument,	NULL,	OPT_TIMEOUT },
	{ "ipv4-only",	no_argument,		NULL,	'4' },
	{ "ipv6-only",	no_argument,		NULL,	'6' },
	{ "no-ndp",	no_argument,		NULL,	OPT_NO_NDP },
	{ "no-ra",	no_argument,		NULL,	OPT_NO_RA },
	{ "no-dhcpv6",	no_argument,		NULL,	OPT_NO_DHCPV6 },
	{ "tso",	no_argument,		NULL,	OPT_TSO },
	{ "no-tso",	no_argument,		NULL,	OPT_NO_TSO },
	{ "gso",	no_argument,		NULL,	OPT_GSO },
	{ "no-gso",	no_argument,		NULL,	OPT_NO_GSO },
	{ "socket-mode", required_argument,	NULL,	OPT_SOCKET_MODE },
	{ "socket-group", required_argument,	NULL,	OPT_SOCKET_GROUP },
	{ "fd",		required_argument,	NULL,	'F' },
	{ "log-file",	required_argument,	NULL,	'l' },
	{ "log-size",	required_argument,	NULL,	OPT_LOG_SIZE },
	{ "runas",	required_argument,	NULL,	OPT_RUNAS },
	{ "pcap",	required_argument,	NULL,	'p' },
	{ "quiet",	no_argument,		NULL,	'q' },
	{ "tcp-ports",	required_argument,	NULL,	't' },
	{ "udp-ports",	required_argument,	NULL,	'u' },
	{ NULL,		0,			NULL,	0 },
};

/**
 * conf_usage() - print usage and exit
 * @name:	program name
 * @status:	exit status
 */
static void conf_usage(const char *name, int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
"Usage: %s [OPTION]...\n"
"Give a qemu guest the host's own IPv4 and IPv6 identity over a stream\n"
"socket.\n"
"\n"
"  -s, --socket PATH	socket qemu connects to\n"
"			default: first free of " TAP_SOCK_DEFAULT_RANGE "\n"
"  -F, --fd FD		serve the connected socket on descriptor FD\n"
"			rather than a socket file (implies --one-off)\n"
"      --socket-mode MODE  permissions of the socket file, octal\n"
"			default: 0600, only merd's user may connect\n"
"      --socket-group GROUP  group of the socket file, name or number\n"
"			default: merd's\n"
"      --runas USER[:GROUP]  user and group to serve as, once set up\n"
"			default: nobody when started as root, else merd's\n"
"  -f, --foreground	don't run in background\n"
"  -d, --debug		print debugging messages\n"
"      --trace		print one line per packet handled (implies -d)\n"
"  -q, --quiet		leave out informational messages\n"
"  -l, --log-file FILE	log to FILE, not to stderr or syslog\n"
"      --log-size SIZE	most bytes FILE holds; past it, it starts\n"
"			anew (default: 1 MiB)\n"
"  -p, --pcap FILE	capture the frames to and from the guest to FILE,\n"
"			pcap format (truncated, made 0600)\n"
"  -i, --interface NAME	host interface to take the identity of\n"
"			default: the one of the default route\n"
"  -4, --ipv4-only	serve IPv4 only\n"
"  -6, --ipv6-only	serve IPv6 only\n"
"  -a, --address ADDR	IPv4 or IPv6 address for the guest, one of each\n"
"			default: the host's\n"
"  -n, --netmask MASK	IPv4 netmask or prefix length (default: the host's)\n"
"  -g, --gateway ADDR	IPv4 gateway or IPv6 router for the guest, one of\n"
"			each (default: the host's; IPv6: link-local)\n"
"  -D, --dns ADDR	DNS server for the guest, repeatable, or \"none\"\n"
"			default: nameservers of " RESOLV_CONF "\n"
"  -S, --search LIST	search domains, space-separated, repeatable,\n"
"			or \"none\" (default: from " RESOLV_CONF ")\n"
"  -m, --mtu MTU		MTU for the guest, %d to %d\n"
"			default: the host interface's\n"
"  -M, --mac-addr ADDR	MAC address merd uses on the guest's link\n"
"			default: the host interface's\n"
"  -P, --pid FILE	write the process ID to FILE\n"
"  -1, --one-off		exit when the guest disconnects\n"
"      --no-ndp		don't answer neighbour solicitations\n"
"      --no-ra		send no router advertisements\n"
"      --no-dhcpv6	don't answer DHCPv6\n"
"      --tso		where the guest's MTU is larger than the path's,\n"
"			tell it the TCP MSS its link takes and cut its\n"
"			segments to the path's (segmentation offload,\n"
"			the default)\n"
"      --no-tso		tell the guest the peer's TCP MSS as it is\n"
"      --gso		send what goes out of the host's uplink as\n"
"			Ethernet frames, a flow's segments joined into\n"
"			GSO packets, even while the host tracks\n"
"			connections (default: only while it doesn't)\n"
"      --no-gso		send everything through the host's IP output\n"
"			(raw sockets), where its netfilter rules see it\n"
"  -t, --tcp-ports SPEC	forward host TCP ports to the guest, repeatable:\n"
"			none, all, or a list of PORT, FIRST-LAST,\n"
"			PORT:GUESTPORT, FIRST-LAST:GFIRST-GLAST, ~PORT\n"
"			or ~FIRST-LAST (all but these), after an\n"
"			optional ADDR/, ADDR%%IFACE/ or %%IFACE/\n"
"			default: none\n"
"  -u, --udp-ports SPEC	forward host UDP ports to the guest, as -t\n"
"      --no-map-gw	the gateway address is the gateway, not the host\n"
"			default: traffic to it goes to the host's loopback,\n"
"			and the host's own connections to forwarded ports\n"
"			reach the guest from it\n"
"      --allow-link-local ADDR  let the guest reach this IPv4 link-local\n"
"			address (169.254.0.0/16), repeatable, at most %d\n"
"			default: link-local addresses are refused\n"
"      --flows N		size of the flow table (default: %d)\n"
"      --ports LOW-HIGH	host ports for guest flows\n"
"			default: those above the host's ephemeral range\n"
"      --timeout STATE=SECONDS  flow timeout, repeatable; STATE is one of\n"
"			tcp-syn-sent tcp-syn-recv tcp-established\n"
"			tcp-fin-wait tcp-close-wait tcp-last-ack\n"
"			tcp-time-wait tcp-close udp udp-stream icmp\n"
"  -h, --help		print this help and exit\n"
"      --version		print the version and exit\n",
		name, MTU_MIN, MTU_MAX, LL_ALLOW_MAX, FLOWS_DEFAULT);
	exit(status);
}

/**
 * conf_bad() - report a bad option value and exit with status 1
 * @opt:	long option name
 * @arg:	value given
 * @why:	what is wrong with it
 */
static void __attribute__((noreturn))
conf_bad(const char *opt, const char *arg, const char *why)
{
	die("invalid --%s '%s': %s", opt, arg, why);
}

/**
 * conf_addr4() - parse a unicast IPv4 address for the guest's link
 * @opt:	long option name, for errors
 * @arg:	dotted quad
 * @a:		set to the address
 */
static void conf_addr4(const char *opt, const char *arg, struct in_addr *a)
{
	if (inet_pton(AF_INET, arg, a) != 1)
		conf_bad(opt, arg, "not an IPv4 address");
	if (!ip4_is_unicast(a->s_addr))
		conf_bad(opt, arg, "not a unicast address");
}

/**
 * conf_allow_ll() - parse --allow-link-local
 * @c:		context
 * @arg:	an IPv4 link-local address (RFC 3927: 169.254.0.0/16)
 *
 * IPv6 link-local addresses can't be given: they name an address on one
 * link, the guest's own for the guest.
 */
static void conf_allow_ll(struct ctx *c, const char *arg)
{
	struct in_addr a;

	if (inet_pton(AF_INET, arg, &a) != 1)
		conf_bad("allow-link-local", arg, "not an IPv4 address");
	if ((ntohl(a.s_addr) & IN_CLASSB_NET) != CONF_LL4_NET)
		conf_bad("allow-link-local", arg, "not in 169.254.0.0/16");
	if (c->opts.ll_allow_n >= LL_ALLOW_MAX)
		conf_bad("allow-link-local", arg, "too many addresses");
	c->opts.ll_allow[c->opts.ll_allow_n++] = a;
}

/**
 * conf_netmask() - parse a netmask or prefix length
 * @arg:	dotted netmask or number from 0 to 32
 *
 * Return: prefix length
 */
static int conf_netmask(const char *arg)
{
	struct in_addr m;
	char *end;
	long len;

	if (inet_pton(AF_INET, arg, &m) == 1) {
		uint32_t h = ntohl(m.s_addr);

		if (h & (~h >> 1))
			conf_bad("netmask", arg,
				 "mask bits are not contiguous");
		return __builtin_popcount(h);
	}

	errno = 0;
	len = strtol(arg, &end, 10);
	if (errno || end == arg || *end || len < 0 || len > 32)
		conf_bad("netmask", arg,
			 "not a netmask nor a prefix length from 0 to 32");
	return (int)len;
}

/**
 * conf_mtu() - parse an MTU
 * @arg:	number
 *
 * Return: MTU
 */
static unsigned int conf_mtu(const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < MTU_MIN || v > MTU_MAX)
		die("invalid --mtu '%s': must be a number from %d to %d", arg,
		    MTU_MIN, MTU_MAX);
	return (unsigned int)v;
}

/**
 * conf_mac() - parse a unicast MAC address
 * @arg:	six colon-separated hexadecimal octets
 * @mac:	set to the address
 */
static void conf_mac(const char *arg, uint8_t *mac)
{
	static const uint8_t zero[ETH_ALEN];
	const char *p = arg;
	int i;

	for (i = 0; i < ETH_ALEN; i++, p += 3) {
		char octet[3] = { 0 }, *end;

		/* Two hex digits, then ':' or, after the last, the end */
		if (!isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]) ||
		    p[2] != (i == ETH_ALEN - 1 ? '\0' : ':'))
			conf_bad("mac-addr", arg,
				 "not a MAC address like 9a:55:9a:55:9a:55");
		memcpy(octet, p, 2);
		mac[i] = (uint8_t)strtoul(octet, &end, 16);
	}

	if ((mac[0] & 1) || !memcmp(mac, zero, ETH_ALEN))
		conf_bad("mac-addr", arg, "not a unicast address");
}

/**
 * conf_domain_ok() - check a domain name and drop a trailing dot
 * @name:	dotted name, modified in place
 *
 * RFC 1035 2.3.4 limits, and letters, digits, hyphens and underscores
 * (RFC 2181 11 allows more, but no resolver configuration needs it).
 *
 * Return: true if it is usable in a search list
 */
static bool conf_domain_ok(char *name)
{
	size_t len = strlen(name), label = 0, i;

	if (len > 1 && name[len - 1] == '.')
		name[--len] = '\0';
	if (!len || len > DOMAIN_MAX)
		return false;

	for (i = 0; i <= len; i++) {
		if (name[i] == '.' || !name[i]) {
			if (!label || label > LABEL_MAX)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)name[i]) ||
			   name[i] == '-' || name[i] == '_') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

/**
 * conf_search_add() - add search domains from a space-separated list
 * @g:		the guest's link
 * @list:	names, modified
 * @strict:	exit on a bad name (command line) instead of skipping it
 *
 * Return: number of names added
 */
static int conf_search_add(struct guest_link *g, char *list, bool strict)
{
	char *save = NULL, *name;
	int n = 0;

	for (name = strtok_r(list, " \t\n", &save); name;
	     name = strtok_r(NULL, " \t\n", &save)) {
		char copy[DOMAIN_MAX + 2];

		snprintf(copy, sizeof(copy), "%s", name);
		if (!conf_domain_ok(copy) || strlen(name) > DOMAIN_MAX + 1) {
			if (strict)
				conf_bad("search", name, "not a domain name");
			warn("skipping search domain '%s': not a domain name",
			     name);
			continue;
		}
		if (g->search_n == SEARCH_MAX) {
			if (strict)
				die("too many --search domains (at most %d)",
				    SEARCH_MAX);
			warn("skipping search domain %s: at most %d are used",
			     copy, SEARCH_MAX);
			continue;
		}
		memcpy(g->search[g->search_n++], copy, strlen(copy) + 1);
		n++;
	}
	return n;
}

/**
 * conf_dns_add() - add a DNS server for the guest
 * @g:		the guest's IPv4 configuration
 * @a:		server address
 * @strict:	exit when the list is full instead of skipping
 */
static void conf_dns_add(struct guest4 *g, struct in_addr a, bool strict)
{
	int i;

	for (i = 0; i < g->dns_n; i++)
		if (g->dns[i].s_addr == a.s_addr)
			return;
	if (g->dns_n == DNS_MAX) {
		if (strict)
			die("too many --dns servers (at most %d)", DNS_MAX);
		warn("skipping DNS server %s: at most %d are used",
		     inet_ntoa(a), DNS_MAX);
		return;
	}
	g->dns[g->dns_n++] = a;
}

/**
 * conf_number() - parse a number in a range
 * @opt:	long option name, for errors
 * @arg:	decimal number
 * @min:	smallest value allowed
 * @max:	largest value allowed
 *
 * Return: the number
 */
static unsigned long conf_number(const char *opt, const char *arg,
				 unsigned long min, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < min || v > max)
		die("invalid --%s '%s': must be a number from %lu to %lu", opt,
		    arg, min, max);
	return v;
}

/**
 * conf_ports() - parse a port range
 * @c:		context: @ports_lo and @ports_hi set
 * @arg:	LOW-HIGH
 */
static void conf_ports(struct ctx *c, const char *arg)
{
	char lo[8], *hi;

	hi = strchr(arg, '-');
	if (!hi || (size_t)(hi - arg) >= sizeof(lo))
		conf_bad("ports", arg, "not a range like 61000-65535");
	memcpy(lo, arg, (size_t)(hi - arg));
	lo[hi - arg] = '\0';
	c->opts.ports_lo = (uint16_t)conf_number("ports", lo, 1, UINT16_MAX - 1);
	c->opts.ports_hi = (uint16_t)conf_number("ports", hi + 1, c->opts.ports_lo + 1UL,
					    UINT16_MAX);
}

/**
 * conf_timeout() - parse STATE=SECONDS for --timeout
 * @c:		context: @ct_timeout set
 * @arg:	option value
 */
static void conf_timeout(struct ctx *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	int i;

	if (!eq)
		conf_bad("timeout", arg, "not STATE=SECONDS");
	for (i = 0; i < CT_STATES; i++) {
		if (strlen(ct_state_name[i]) == (size_t)(eq - arg) &&
		    !strncmp(arg, ct_state_name[i], (size_t)(eq - arg))) {
			c->opts.ct_timeout[i] = (uint32_t)conf_number("timeout",
						eq + 1, 1, UINT32_MAX / 2);
			return;
		}
	}
	conf_bad("timeout", arg, "unknown state (see --help)");
}

/**
 * conf_once() - refuse a single-value option given twice
 * @given:	options seen
 * @opt:	option character
 * @name:	long name, for the error
 */
static void conf_once(struct conf_given *given, int opt, const char *name)
{
	if (given->seen[opt])
		die("option --%s given more than once", name);
	given->seen[opt] = true;
}

/**
 * conf_string() - copy an option's string value, refusing one too long
 * @opt:	long option name
 * @arg:	value
 * @dst:	destination
 * @size:	size of @dst
 */
static void conf_string(const char *opt, const char *arg, char *dst,
			size_t size)
{
	if (!*arg || strlen(arg) >= size)
		conf_bad(opt, arg, "empty or too long");
	memcpy(dst, arg, strlen(arg) + 1);
}

/**
 * conf_addr6() - parse a unicast IPv6 address for the guest's link
 * @opt:	long option name, for errors
 * @arg:	address text
 * @a:		set to the address
 * @ll_ok:	a link-local address is fine (the router's)
 */
static void conf_addr6(const char *opt, const char *arg, struct in6_addr *a,
		       bool ll_ok)
{
	if (inet_pton(AF_INET6, arg, a) != 1)
		conf_bad(opt, arg, "not an IPv6 address");
	if (!ip6_is_unicast(a) && !(ll_ok && IN6_IS_ADDR_LINKLOCAL(a)))
		conf_bad(opt, arg, ll_ok ? "not a unicast address" :
			 "not a global unicast address");
}

/**
 * conf_addr() - parse an address option that takes one of each family
 * @opt:	long option name
 * @arg:	IPv4 or IPv6 address
 * @a4:		set if @arg is IPv4
 * @a6:		set if @arg is IPv6
 * @seen4:	an IPv4 one was given; set
 * @seen6:	an IPv6 one was given; set
 */
static void conf_addr(const char *opt, const char *arg, struct in_addr *a4,
		      struct in6_addr *a6, bool *seen4, bool *seen6)
{
	bool v6 = strchr(arg, ':') != NULL;
	bool *seen = v6 ? seen6 : seen4;

	if (*seen)
		die("option --%s given more than once for IPv%d", opt,
		    v6 ? 6 : 4);
	if (v6)
		conf_addr6(opt, arg, a6, !strcmp(opt, "gateway"));
	else
		conf_addr4(opt, arg, a4);
	*seen = true;
}

/**
 * conf_dns6_add() - add an IPv6 DNS server for the guest, once
 * @g:		guest's IPv6 configuration
 * @a:		server address
 * @strict:	exit when the list is full instead of skipping
 */
static void conf_dns6_add(struct guest6 *g, const struct in6_addr *a,
			  bool strict)
{
	int i;

	for (i = 0; i < g->dns_n; i++)
		if (IN6_ARE_ADDR_EQUAL(&g->dns[i], a))
			return;
	if (g->dns_n == DNS_MAX) {
		char text[INET6_ADDRSTRLEN];

		if (strict)
			die("too many --dns servers (at most %d)", DNS_MAX);
		inet_ntop(AF_INET6, a, text, sizeof(text));
		warn("skipping DNS server %s: at most %d are used", text,
		     DNS_MAX);
		return;
	}
	g->dns[g->dns_n++] = *a;
}

/**
 * conf_dns_opt() - take one --dns option
 * @c:		context
 * @given:	which values were given; @dns or @dns6 set
 * @arg:	address, or "none"
 */
static void conf_dns_opt(struct ctx *c, struct conf_given *given,
			 const char *arg)
{
	struct in6_addr a6;
	struct in_addr a;

	given->dns = true;
	if (!strcmp(arg, "none"))
		return;
	if (strchr(arg, ':')) {
		if (inet_pton(AF_INET6, arg, &a6) != 1 ||
		    IN6_IS_ADDR_MULTICAST(&a6) || IN6_IS_ADDR_UNSPECIFIED(&a6))
			conf_bad("dns", arg, "not a unicast IPv6 address");
		conf_dns6_add(&c->guest6, &a6, true);
		return;
	}
	conf_addr4("dns", arg, &a);
	conf_dns_add(&c->guest4, a, true);
}

/**
 * conf_sock_mode() - parse --socket-mode
 * @c:		context
 * @arg:	octal permissions, at most 0777
 */
static void conf_sock_mode(struct ctx *c, const char *arg)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 8);
	if (errno || end == arg || *end || *arg == '-' || *arg == '+' ||
	    v > CONF_SOCK_MODE_MAX)
		conf_bad("socket-mode", arg, "not octal permissions, such as "
			 "0660");
	c->opts.sock_mode = (mode_t)v;
}

/**
 * conf_id() - parse a user or group number
 * @arg:	decimal number
 * @id:		set to it
 *
 * Return: true if @arg is one, below (uid_t)-1
 */
static bool conf_id(const char *arg, unsigned long *id)
{
	char *end;

	errno = 0;
	*id = strtoul(arg, &end, 10);
	return !errno && end != arg && !*end && *arg != '-' && *arg != '+' &&
	       *id < (uid_t)-1;
}

/**
 * conf_group() - parse a group, by name or number
 * @opt:	long option name, for errors
 * @arg:	group name, or number
 *
 * Return: the group's ID
 */
static gid_t conf_group(const char *opt, const char *arg)
{
	const struct group *g = getgrnam(arg);
	unsigned long v;

	if (g)
		return g->gr_gid;
	if (!conf_id(arg, &v))
		conf_bad(opt, arg, "no such group");
	return (gid_t)v;
}

/**
 * conf_runas() - parse --runas USER[:GROUP], as passt spells it
 * @c:		context
 * @arg:	login or number, then optionally a group name or number
 *
 * Without a group, the user's own (its passwd entry's), or the same number
 * for a user number that has no entry.
 */
static void conf_runas(struct ctx *c, char *arg)
{
	char *group = strchr(arg, ':');
	const struct passwd *pw;
	unsigned long v;

	if (group)
		*group++ = '\0';
	pw = getpwnam(arg);
	if (pw) {
		c->opts.runas_uid = pw->pw_uid;
		c->opts.runas_gid = pw->pw_gid;
	} else if (conf_id(arg, &v)) {
		pw = getpwuid((uid_t)v);
		c->opts.runas_uid = (uid_t)v;
		c->opts.runas_gid = pw ? pw->pw_gid : (gid_t)v;
	} else {
		conf_bad("runas", arg, "no such user");
	}
	if (group)
		c->opts.runas_gid = conf_group("runas", group);
	c->opts.runas = true;
}

/**
 * conf_opt() - apply one command line option
 * @c:		context
 * @given:	which values were given
 * @opt:	option returned by getopt_long()
 * @arg:	its argument, or NULL
 * @name:	program name, for --help
 */
static void conf_opt(struct ctx *c, struct conf_given *given, int opt,
		     char *arg, const char *name)
{
	switch (opt) {
	case 's':
		conf_once(given, opt, "socket");
		conf_string("socket", arg, c->opts.sock_path, sizeof(c->opts.sock_path));
		c->opts.sock_path_set = true;
		break;
	case 'f':
		c->opts.foreground = true;
		break;
	case 'd':
		c->opts.debug = true;
		break;
	case OPT_TRACE:
		c->opts.trace = c->opts.debug = true;
		break;
	case 'i':
		conf_once(given, opt, "interface");
		conf_string("interface", arg, c->opts.ifname, sizeof(c->opts.ifname));
		break;
	case 'a':
		conf_addr("address", arg, &c->guest4.addr,
			  &c->guest6.addr, &given->addr, &given->addr6);
		break;
	case 'n':
		conf_once(given, opt, "netmask");
		c->guest4.prefix_len = conf_netmask(arg);
		given->prefix = true;
		break;
	case 'g':
		conf_addr("gateway", arg, &c->guest4.gw, &c->guest6.gw,
			  &given->gw, &given->gw6);
		break;
	case 'D':
		conf_dns_opt(c, given, arg);
		break;
	case 'F':
		conf_once(given, opt, "fd");
		c->opts.fd = (int)conf_number("fd", arg, 0, INT_MAX);
		c->opts.one_off = true;
		break;
	case 'l':
		conf_once(given, opt, "log-file");
		conf_string("log-file", arg, c->opts.log_file,
			    sizeof(c->opts.log_file));
		break;
	case OPT_RUNAS:
		conf_once(given, opt, "runas");
		conf_runas(c, arg);
		break;
	case OPT_LOG_SIZE:
		conf_once(given, opt, "log-size");
		c->opts.log_size = conf_number("log-size", arg, LOG_SIZE_MIN,
					       CONF_LOG_SIZE_MAX);
		break;
	case 'p':
		conf_once(given, opt, "pcap");
		conf_string("pcap", arg, c->opts.pcap_file,
			    sizeof(c->opts.pcap_file));
		break;
	case 'q':
		c->opts.quiet = true;
		break;
	case OPT_SOCKET_MODE:
		conf_once(given, opt, "socket-mode");
		conf_sock_mode(c, arg);
		break;
	case OPT_SOCKET_GROUP:
		conf_once(given, opt, "socket-group");
		c->opts.sock_gid = conf_group("socket-group", arg);
		break;
	case 't':
	case 'u':
		if (given->fwd_n == FWDRULE_MAX)
			die("too many -t and -u options: at most %d",
			    FWDRULE_MAX);
		given->fwd_proto[given->fwd_n] = opt == 't' ? IPPROTO_TCP :
							      IPPROTO_UDP;
		given->fwd[given->fwd_n++] = arg;
		break;
	case 'S':
		given->search = true;
		if (strcmp(arg, "none") != 0 &&
		    !conf_search_add(&c->link, arg, true))
			conf_bad("search", arg, "no domain name in it");
		break;
	case 'm':
		conf_once(given, opt, "mtu");
		c->link.mtu = conf_mtu(arg);
		given->mtu = true;
		break;
	case 'M':
		conf_once(given, opt, "mac-addr");
		conf_mac(arg, c->link.mac);
		given->mac = true;
		break;
	case 'P':
		conf_once(given, opt, "pid");
		conf_string("pid", arg, c->opts.pidfile, sizeof(c->opts.pidfile));
		break;
	case '1':
		c->opts.one_off = true;
		break;
	case 'h':
		conf_usage(name, EXIT_SUCCESS);
		break;
	case OPT_VERSION:
		printf(MERD_VERSION_STR "\n");
		exit(EXIT_SUCCESS);
	case OPT_NO_MAP_GW:
		c->opts.no_map_gw = true;
		break;
	case OPT_ALLOW_LL:
		conf_allow_ll(c, arg);
		break;
	case OPT_FLOWS:
		conf_once(given, opt, "flows");
		c->opts.flows_max = (uint32_t)conf_number("flows", arg, 1,
						     FLOWS_MAX);
		break;
	case OPT_PORTS:
		conf_once(given, opt, "ports");
		conf_ports(c, arg);
		break;
	case OPT_TIMEOUT:
		conf_timeout(c, arg);
		break;
	case '4':
		c->opts.v6 = false;
		given->only4 = true;
		break;
	case '6':
		c->opts.v4 = false;
		given->only6 = true;
		break;
	case OPT_NO_NDP:
		c->opts.no_ndp = true;
		break;
	case OPT_NO_RA:
		c->opts.no_ra = true;
		break;
	case OPT_NO_DHCPV6:
		c->opts.no_dhcpv6 = true;
		break;
	case OPT_TSO:
		c->opts.tso = true;
		break;
	case OPT_NO_TSO:
		c->opts.tso = false;
		break;
	case OPT_GSO:
		c->opts.gso = c->opts.gso_forced = true;
		break;
	case OPT_NO_GSO:
		c->opts.gso = c->opts.gso_forced = false;
		break;
	default:
		break;
	}
}

/**
 * conf_args() - read the command line
 * @c:		context
 * @given:	set for each value given
 * @argc:	argument count
 * @argv:	arguments
 */
static void conf_args(struct ctx *c, struct conf_given *given, int argc,
		      char **argv)
{
	const char *name = argv[0] ? argv[0] : "merd";
	int opt;

	opterr = 0;	/* one line of ours instead of getopt's */
	while ((opt = getopt_long(argc, argv, ":s:fdi:a:n:g:D:S:m:M:P:1h46t:u:l:qF:p:",
				  conf_longopts, NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			const char *bad = argv[optind - 1];

			die("%s '%s' (see %s --help)",
			    opt == '?' ? "unknown option" :
					 "missing value for option",
			    bad, name);
		}
		conf_opt(c, given, opt, optarg, name);
	}

	if (optind < argc)
		die("unexpected argument '%s' (see %s --help)", argv[optind],
		    name);
}

/**
 * conf_host() - read the host, and set what the guest gets from it
 * @c:		context
 * @given:	which values were given on the command line
 *
 * A family is served where the host has a default route of it, or where
 * the command line gives what it would have found (IPv4: --address and
 * --gateway; IPv6: --address). With neither, merd waits for a route
 * (host.c). A host that has a route but not the rest is a mistake to
 * report now: no address, or a gateway that isn't one.
 */
static void conf_host(struct ctx *c, const struct conf_given *given)
{
	static const uint8_t zero[ETH_ALEN];
	const char *via = *c->opts.ifname ? " via " : "";
	enum host_why why4, why6;
	int ret;

	ret = host_init(c, &why4, &why6);
	if (ret == -ENODEV && !if_nametoindex(c->opts.ifname))
		die("invalid --interface '%s': no such interface",
		    c->opts.ifname);
	if (ret)
		die("can't read the host's network configuration: %s",
		    strerror(-ret));
	if (!given->mac)
		memcpy(c->link.mac, memcmp(c->host.mac, zero, ETH_ALEN) ?
		       c->host.mac : conf_default_mac, ETH_ALEN);

	if (why4 == HOST_NO_ADDR4)
		die("no IPv4 address on %s: give --address",
		    *c->host.ifname ? c->host.ifname : "the uplink");
	if (why4 == HOST_NO_GW4)
		die("the default route has no gateway address: give --gateway");
	if (why4 == HOST_GW_IS_ADDR)
		die("the gateway %s is the guest's own address",
		    inet_ntoa(c->guest4.gw));
	if (c->guest4.enabled &&
	    ((c->guest4.addr.s_addr ^ c->guest4.gw.s_addr) &
	     htonl(prefix4_mask(c->guest4.prefix_len))))
		warn("the gateway %s is outside the guest's subnet",
		     inet_ntoa(c->guest4.gw));
	if (given->gw6 && !IN6_IS_ADDR_LINKLOCAL(&c->guest6.gw))
		die("invalid --gateway: the IPv6 router must be link-local");
	if (given->only6 && why6 != HOST_OK && why6 != HOST_NO_ROUTE6)
		die("can't serve IPv6: %s", host_why(why6));
	if (why6 != HOST_OK && why6 != HOST_OFF)
		c->guest6.off = host_why(why6);
	if (!c->guest4.enabled && !c->guest6.enabled)
		info("no default %s route%s%s yet: waiting for one (or give "
		     "--gateway and --address)",
		     given->only4 ? "IPv4" : given->only6 ? "IPv6" :
		     "IPv4 or IPv6", via, c->opts.ifname);
}

/**
 * conf_dns_loopback() - use a resolver on the host's loopback, if possible
 * @c:		context
 * @a:		its address
 * @text:	as written, for the log
 *
 * The guest reaches it through the gateway address, which means the host:
 * DNS to the gateway goes to the first such resolver (fwd.c).
 */
static void conf_dns_loopback(struct ctx *c, struct in_addr a,
			      const char *text)
{
	if (c->opts.no_map_gw) {
		info("DNS server %s is on the host's loopback: with "
		     "--no-map-gw the guest can't use it", text);
		return;
	}
	if (!c->host.dns4_lo.s_addr)
		c->host.dns4_lo = a;
	conf_dns_add(&c->guest4, c->guest4.gw, false);
}

/**
 * conf_resolv6() - take an IPv6 nameserver line of resolv.conf
 * @c:		context
 * @val:	the address, as written
 *
 * ::1 is reached through the router address, as the IPv4 loopback one is
 * through the gateway; link-local ones (with a zone) can't be used.
 */
static void conf_resolv6(struct ctx *c, const char *val)
{
	struct in6_addr a;

	if (inet_pton(AF_INET6, val, &a) != 1 || IN6_IS_ADDR_MULTICAST(&a) ||
	    IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LINKLOCAL(&a))
		return;
	if (!IN6_IS_ADDR_LOOPBACK(&a)) {
		conf_dns6_add(&c->guest6, &a, false);
		return;
	}
	if (c->opts.no_map_gw || !c->guest6.enabled)
		return;
	c->host.dns6_lo = a;
	conf_dns6_add(&c->guest6, &c->guest6.gw, false);
}

/**
 * conf_resolv() - read DNS servers and search list from resolv.conf
 * @c:		context
 * @given:	which values were given on the command line
 * @path:	file to read
 *
 * Follows glibc: the last "search" or "domain" line wins. Nameservers on
 * loopback are useless to the guest and skipped with a note.
 */
static void conf_resolv(struct ctx *c, const struct conf_given *given,
			const char *path)
{
	char line[BUFSIZ];
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		if (!given->dns || !given->search)
			warn_perror("can't read %s, the guest gets no DNS "
				    "configuration from it", path);
		return;
	}

	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *key;
		struct in_addr a;

		key = strtok_r(line, " \t\n", &save);
		if (!key || *key == '#' || *key == ';')
			continue;

		if (!strcmp(key, "nameserver") && !given->dns) {
			const char *val = strtok_r(NULL, " \t\n", &save);

			if (val && strchr(val, ':')) {
				conf_resolv6(c, val);
				continue;
			}
			if (!val || inet_pton(AF_INET, val, &a) != 1)
				continue;
			if (ip4_is_loopback(a.s_addr)) {
				conf_dns_loopback(c, a, val);
				continue;
			}
			conf_dns_add(&c->guest4, a, false);
		} else if ((!strcmp(key, "search") || !strcmp(key, "domain")) &&
			   !given->search) {
			c->link.search_n = 0;
			conf_search_add(&c->link, save, false);
		}
	}
	fclose(f);
}

/**
 * conf_fwd() - defaults for forwarding: ports and flows
 * @c:		context
 * @eph:	set to the host's ephemeral port range, 0-0 if unknown
 */
static void conf_fwd(struct ctx *c, struct port_range *eph)
{
	unsigned long elo = 0, ehi = 0;
	char line[64], *end;
	FILE *f;

	if (!c->opts.flows_max)
		c->opts.flows_max = FLOWS_DEFAULT;

	f = fopen(PORT_RANGE_FILE, "re");
	if (f && fgets(line, sizeof(line), f)) {
		elo = strtoul(line, &end, 10);
		ehi = strtoul(end, &end, 10);
		if (elo > UINT16_MAX || ehi > UINT16_MAX || elo > ehi)
			elo = ehi = 0;
	}
	if (f)
		fclose(f);
	eph->lo = (uint16_t)elo;
	eph->hi = (uint16_t)ehi;

	if (c->opts.ports_lo) {
		if (ehi && c->opts.ports_lo <= ehi && c->opts.ports_hi >= elo)
			warn("--ports %u-%u overlaps the host's ephemeral "
			     "range %lu-%lu: the host may take some of them",
			     c->opts.ports_lo, c->opts.ports_hi, elo, ehi);
		return;
	}
	if (!ehi)
		die("can't read %s: give --ports", PORT_RANGE_FILE);
	if (UINT16_MAX - ehi < PORTS_MIN)
		die("the host's ephemeral ports %lu-%lu leave no range above "
		    "them: give --ports", elo, ehi);
	c->opts.ports_lo = (uint16_t)(ehi + 1);
	c->opts.ports_hi = UINT16_MAX;
}

/**
 * conf_rules() - parse the -t and -u options into forwarding rules
 * @c:		context, the ports for flows known
 * @given:	the options' arguments
 * @eph:	the host's ephemeral port range, 0-0 if unknown
 *
 * "all", and specs of exclusions only, leave out the host's ephemeral
 * ports, as passt does, and the ports merd's flows leave from.
 */
static void conf_rules(struct ctx *c, const struct conf_given *given,
		       struct port_range eph)
{
	struct port_range skip[2] = { eph,
				      { c->opts.ports_lo, c->opts.ports_hi } };
	char err[FWDRULE_ERR_LEN];
	int i;

	for (i = 0; i < given->fwd_n; i++) {
		uint8_t proto = given->fwd_proto[i];

		if (fwdrule_parse(&c->fwd.rules, proto, given->fwd[i],
				  eph.hi ? skip : skip + 1, eph.hi ? 2 : 1,
				  err, sizeof(err)))
			die("%s", err);
	}
}

/**
 * conf_pcap() - start the capture --pcap asks for, exit if it can't be
 * @c:		context
 *
 * At start, before anything could take merd's privileges away: the file
 * stays open for merd's lifetime.
 */
static void conf_pcap(struct ctx *c)
{
	int ret;

	if (!*c->opts.pcap_file)
		return;
	ret = pcap_open(&c->pcap, c->opts.pcap_file);
	if (ret == -ELOOP)	/* O_NOFOLLOW: the file itself is a link */
		die("can't open capture file %s: it is a symbolic link",
		    c->opts.pcap_file);
	if (ret)
		die("can't open capture file %s: %s", c->opts.pcap_file,
		    strerror(-ret));
	info("capturing frames to %s", c->opts.pcap_file);
}

/**
 * conf_runas_default() - serve as nobody when started as root, unless told
 * @c:		context
 */
static void conf_runas_default(struct ctx *c)
{
	const struct passwd *pw;

	if (c->opts.runas)
		return;
	if (geteuid()) {
		c->opts.runas_uid = geteuid();
		c->opts.runas_gid = getegid();
		return;
	}
	pw = getpwnam(CONF_RUNAS_DEFAULT);
	c->opts.runas_uid = pw ? pw->pw_uid : CONF_NOBODY_ID;
	c->opts.runas_gid = pw ? pw->pw_gid : CONF_NOBODY_ID;
}

/**
 * conf_fixed() - note which parts of the guest's identity never follow the
 *		  host
 * @c:		context
 * @given:	which values were given on the command line
 */
static void conf_fixed(struct ctx *c, const struct conf_given *given)
{
	struct conf_fixed *fx = &c->opts.fixed;

	fx->addr4 = given->addr;
	fx->prefix4 = given->prefix;
	fx->gw4 = given->gw;
	fx->addr6 = given->addr6;
	fx->gw6 = given->gw6;
	fx->mtu = given->mtu;
}

/**
 * conf() - set up the context from the command line and the host
 * @c:		context, zeroed
 * @argc:	argument count
 * @argv:	arguments
 *
 * Exits with status 1 and one line of explanation on any bad value.
 */
void conf(struct ctx *c, int argc, char **argv)
{
	struct port_range eph = { 0, 0 };
	struct conf_given given = { 0 };

	c->opts.v4 = c->opts.v6 = true;
	c->opts.gso = c->opts.tso = true;
	c->opts.sock_mode = CONF_SOCK_MODE;
	c->opts.sock_gid = (gid_t)-1;
	c->opts.fd = -1;
	conf_args(c, &given, argc, argv);
	if (given.only4 && given.only6)
		die("--ipv4-only and --ipv6-only exclude each other");
	log_init(c->opts.debug, false);
	if (c->opts.quiet)
		log_quiet_set();
	if (*c->opts.log_file) {
		int ret = log_file_open(c->opts.log_file, c->opts.log_size ?
					c->opts.log_size : LOG_SIZE_DEFAULT);

		if (ret)
			die("can't open log file %s: %s", c->opts.log_file,
			    strerror(-ret));
	}
	conf_pcap(c);
	conf_fixed(c, &given);
	conf_runas_default(c);
	conf_host(c, &given);
	conf_resolv(c, &given, RESOLV_CONF);
	conf_fwd(c, &eph);
	conf_rules(c, &given, eph);
}

/**
 * conf_append() - append a word to a space-separated list
 * @buf:	end of the list so far
 * @size:	room left in @buf
 * @i:		index of the word, 0 for the first (no space before it)
 * @word:	word
 *
 * Return: characters written, at most @size - 1
 */
static size_t conf_append(char *buf, size_t size, int i, const char *word)
{
	int n = snprintf(buf, size, "%s%s", i ? " " : "", word);

	return n < 0 ? 0 : MIN((size_t)n, size - 1);
}

/**
 * conf_print4() - say what the guest gets over IPv4
 * @c:		context
 * @list:	scratch for the DNS list
 * @size:	size of @list
 */
static void conf_print4(const struct ctx *c, char *list, size_t size)
{
	const struct guest4 *g = &c->guest4;
	char addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	size_t off = 0;
	int i;

	inet_ntop(AF_INET, &g->addr, addr, sizeof(addr));
	inet_ntop(AF_INET, &g->gw, gw, sizeof(gw));
	info("guest gets %s/%d, gateway %s, MTU %u", addr, g->prefix_len, gw,
	     c->link.mtu);
	for (i = 0; i < g->dns_n; i++) {
		inet_ntop(AF_INET, &g->dns[i], addr, sizeof(addr));
		off += conf_append(list + off, size - off, i, addr);
	}
	info("    DNS: %s", g->dns_n ? list : "none");
	if (c->host.dns4_lo.s_addr) {
		inet_ntop(AF_INET, &c->host.dns4_lo, addr, sizeof(addr));
		info("    DNS to %s goes to the host's resolver %s", gw, addr);
	}
}

/**
 * conf_print6() - say what the guest gets over IPv6
 * @c:		context
 * @list:	scratch for the DNS list
 * @size:	size of @list
 */
static void conf_print6(const struct ctx *c, char *list, size_t size)
{
	const struct guest6 *g = &c->guest6;
	char addr[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];
	size_t off = 0;
	int i;

	inet_ntop(AF_INET6, &g->addr, addr, sizeof(addr));
	inet_ntop(AF_INET6, &g->gw, gw, sizeof(gw));
	info("guest gets %s/%d, router %s%s%s%s", addr, g->prefix_len, gw,
	     c->opts.no_ndp ? ", no NDP" : "", c->opts.no_ra ? ", no RA" : "",
	     c->opts.no_dhcpv6 ? ", no DHCPv6" : "");
	for (i = 0; i < g->dns_n; i++) {
		inet_ntop(AF_INET6, &g->dns[i], addr, sizeof(addr));
		off += conf_append(list + off, size - off, i, addr);
	}
	info("    DNS: %s", g->dns_n ? list : "none");
	if (!IN6_IS_ADDR_UNSPECIFIED(&c->host.dns6_lo)) {
		inet_ntop(AF_INET6, &c->host.dns6_lo, addr, sizeof(addr));
		info("    DNS to %s goes to the host's resolver %s", gw, addr);
	}
}

/**
 * conf_print_rules() - say which host ports go to the guest
 * @c:		context
 */
static void conf_print_rules(const struct ctx *c)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	const struct fwdrules *rules = &c->fwd.rules;
	unsigned int p;
	int i;

	for (p = 0; p < ARRAY_SIZE(protos); p++) {
		uint32_t n = fwdrule_ports(rules, protos[p]);
		int shown = 0;

		if (!n)
			continue;
		info("forwarding %u host %s ports to the guest:", n,
		     protos[p] == IPPROTO_TCP ? "TCP" : "UDP");
		for (i = 0; i < rules->n; i++) {
			const struct fwdrule *r = &rules->rule[i];

			if (r->proto != protos[p] || shown++ >= CONF_RULES_SHOWN)
				continue;
			info("    %u-%u to guest ports %u-%u (%s)", r->first,
			     r->last, r->to, r->to + (r->last - r->first),
			     r->text);
		}
		if (shown > CONF_RULES_SHOWN)
			info("    and %d more ranges", shown - CONF_RULES_SHOWN);
	}
}

/**
 * conf_print() - say what the guest will be given
 * @c:		context
 */
void conf_print(const struct ctx *c)
{
	const struct guest_link *l = &c->link;
	char list[SEARCH_MAX * (DOMAIN_MAX + 1) + 1];
	size_t off;
	int i;

	if (c->host.ifi)
		info("host interface %s, MTU %u", c->host.ifname, c->host.mtu);
	if (c->guest4.enabled)
		conf_print4(c, list, sizeof(list));
	else if (c->host.why4 != HOST_OFF)
		info("no IPv4 for the guest yet: %s",
		     host_why((enum host_why)c->host.why4));
	else
		info("no IPv4 for the guest");
	if (c->guest6.enabled)
		conf_print6(c, list, sizeof(list));
	else if (c->guest6.off)
		info("no IPv6 for the guest: %s", c->guest6.off);
	else
		info("no IPv6 for the guest");

	for (off = 0, i = 0; i < l->search_n; i++)
		off += conf_append(list + off, sizeof(list) - off, i,
				   l->search[i]);
	info("    search: %s", l->search_n ? list : "none");
	info("    host ports %u-%u, up to %u flows%s", c->opts.ports_lo,
	     c->opts.ports_hi, c->opts.flows_max,
	     c->opts.no_map_gw ? "" : ", gateway means the host");
	info("    merd's MAC on the guest's link: %s", mac_ntop(l->mac).s);
	conf_print_rules(c);
}
