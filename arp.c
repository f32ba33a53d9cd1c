// SPDX-License-Identifier: GPL-2.0-or-later
/* arp.c - ARP responder for the guest's link
 *
 * Copyright (c) 2026 merd authors
 *
 * merd is every other station on the guest's link: it answers requests for
 * any IPv4 address with its own MAC, so that the gateway and any neighbour
 * resolve, except for the guest's own address. Requests for that one are
 * the guest's duplicate address detection (RFC 5227 probes, sender 0.0.0.0)
 * or announcements (sender and target both the guest's address), and must
 * go unanswered.
 */

#include <string.h>
#include <arpa/inet.h>
#include <net/if_arp.h>

#include "arp.h"
#include "ip4.h"
#include "log.h"

/**
 * struct arp_ip4 - body of an Ethernet/IPv4 ARP packet (RFC 826)
 * @sha:	sender hardware address
 * @sip:	sender protocol address
 * @tha:	target hardware address
 * @tip:	target protocol address
 */
struct arp_ip4 {
	uint8_t sha[ETH_ALEN];
	uint8_t sip[4];
	uint8_t tha[ETH_ALEN];
	uint8_t tip[4];
};

#define ARP_LEN	(sizeof(struct arphdr) + sizeof(struct arp_ip4))

/**
 * arp_is_request_for_us() - check an ARP packet and tell if merd answers it
 * @c:		context
 * @ah:		fixed header, copied from the frame
 * @body:	addresses, copied from the frame
 *
 * Return: true if this is an Ethernet/IPv4 request merd must answer
 */
static bool arp_is_request_for_us(const struct ctx *c, const struct arphdr *ah,
				  const struct arp_ip4 *body)
{
	uint32_t tip;

	if (ntohs(ah->ar_hrd) != ARPHRD_ETHER ||
	    ntohs(ah->ar_pro) != ETH_P_IP ||
	    ah->ar_hln != ETH_ALEN || ah->ar_pln != 4) {
		trace(c, "arp: not Ethernet/IPv4, dropped");
		return false;
	}
	if (ntohs(ah->ar_op) != ARPOP_REQUEST)
		return false;

	memcpy(&tip, body->tip, sizeof(tip));
	if (tip == c->guest4.addr.s_addr) {
		trace(c, "arp: request for the guest's own address, silent");
		return false;
	}
	if (tip == htonl(INADDR_ANY) || IN_MULTICAST(ntohl(tip)) ||
	    tip == htonl(INADDR_BROADCAST))
		return false;

	return true;
}

/**
 * arp() - answer an ARP request from the guest
 * @c:		context
 * @frame:	Ethernet frame carrying ARP, untrusted
 * @reply:	buffer for the reply frame
 * @size:	size of @reply, at least ETH_FRAME_MIN
 *
 * Return: length of the reply frame, 0 if there is none
 */
size_t arp(const struct ctx *c, struct pkt frame, uint8_t *reply, size_t size)
{
	struct arp_ip4 body, rbody;
	struct arphdr ah, rah;
	struct ethhdr eh;
	size_t off;

	if (!pkt_get(frame, 0, &eh, sizeof(eh)) ||
	    !pkt_get(frame, ETH_HLEN, &ah, sizeof(ah)) ||
	    !pkt_get(frame, ETH_HLEN + sizeof(ah), &body, sizeof(body))) {
		trace(c, "arp: truncated frame, dropped");
		return 0;
	}
	if (!arp_is_request_for_us(c, &ah, &body) || size < ETH_FRAME_MIN)
		return 0;

	rah = ah;
	rah.ar_op = htons(ARPOP_REPLY);
	memcpy(rbody.sha, c->link.mac, ETH_ALEN);
	memcpy(rbody.sip, body.tip, sizeof(rbody.sip));
	memcpy(rbody.tha, body.sha, ETH_ALEN);
	memcpy(rbody.tip, body.sip, sizeof(rbody.tip));

	memset(reply, 0, ETH_FRAME_MIN);
	off = eth_header(reply, body.sha, c->link.mac, ETH_P_ARP);
	memcpy(reply + off, &rah, sizeof(rah));
	memcpy(reply + off + sizeof(rah), &rbody, sizeof(rbody));

	trace(c, "arp: %u.%u.%u.%u is at our MAC, told %u.%u.%u.%u",
	      body.tip[0], body.tip[1], body.tip[2], body.tip[3],
	      body.sip[0], body.sip[1], body.sip[2], body.sip[3]);

	return MAX((size_t)ETH_FRAME_MIN, ETH_HLEN + ARP_LEN);
}
