#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# deps.sh - install what building and testing merd needs, if it's missing
#
# Debian 12 packages only. As root, missing ones are installed with apt-get
# (after apt-get update); otherwise the missing list is printed and the
# script fails.

set -euo pipefail

PKGS=(
	# build
	build-essential pkg-config libmnl-dev
	# unit tests
	libcmocka-dev
	# integration tests: namespaces, real peers, captures
	iproute2 python3-pytest python3-pytest-timeout python3-scapy busybox-static isc-dhcp-client
	socat iperf3 tcpdump tshark iputils-ping traceroute dnsmasq-base curl
	# the uplink's offloads off, a firewall that tracks connections
	ethtool nftables
	# the man pages, checked with groff; socket activation and the units
	# (systemd-socket-activate, systemd-analyze: no running systemd needed)
	groff-base systemd
	# IPv6: rdisc6 and ndisc6 (router and neighbour discovery from the guest)
	ndisc6
	# end-to-end: qemu booting Debian's cloud kernel with a busybox initramfs
	qemu-system-x86 cpio
	# static checks, and fuzzing (libFuzzer's runtime is only recommended)
	cppcheck clang-tidy clang-format clang libclang-rt-14-dev
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: install them as root: apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture: answer no, quietly
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
