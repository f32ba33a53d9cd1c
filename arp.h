/* SPDX-License-Identifier: GPL-2.0-or-later */
/* arp.h - ARP responder for the guest's link
 *
 * Copyright (c) 2026 merd authors
 */

#ifndef ARP_H
#define ARP_H

#include <stddef.h>
#include <stdint.h>

#include "merd.h"
#include "pkt.h"

/* Minimum Ethernet frame length without FCS (IEEE 802.3) */
#define ETH_FRAME_MIN	60

size_t arp(const struct ctx *c, struct pkt frame, uint8_t *reply, size_t size);

#endif /* ARP_H */
