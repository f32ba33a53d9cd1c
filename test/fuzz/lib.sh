# shellcheck shell=bash disable=SC2034,SC2154
# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - what run.sh and corpus.sh share: the harnesses, how they are
# built and run, the dependency checks
#
# Sourced, not run. The caller sets $me (its name, for messages) first.
#
# fuzz_tap and fuzz_fwd reach merd's forwarding code, which sends what the
# fuzzer makes up on raw sockets. They run only inside a new network
# namespace with nothing but loopback (unshare -n, so as root, or with
# CAP_SYS_ADMIN and CAP_NET_RAW), where sends to anything but 127/8 fail
# with ENETUNREACH; netns_run() checks that the namespace has no route, and
# the harnesses themselves refuse to start where anything but loopback is up
# or routable. Each holds at most 64 flows, forgotten after every input, and
# the sockets of at most three blocks of host ports (of which the harness
# holds most ports itself: fuzz_common.h).
#
# Environment: FUZZ_CC (default clang).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$here/build
corpus_dir=$here/corpus
CC=${FUZZ_CC:-clang}

CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
CFLAGS="$CFLAGS -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -I$top"
HARNESSES="tap fwd dhcp arp conntrack ip6 ndp dhcpv6 fwdrule"

# merd's units each harness links, as the unit tests do: fuzz_tap and
# fuzz_fwd compile merd.c in too (fuzz_merd.h: its frame dispatcher), which
# reaches arp(), dhcp() and the whole forwarding path; conntrack.c and
# fwdrule.c need nothing; fuzz_ip6, the IP and transport parsers
DATAPATH="tap.c arp.c dhcp.c ip.c ip4.c ip6.c csum.c log.c fwd.c conntrack.c nat.c"
DATAPATH="$DATAPATH port.c raw.c icmp.c icmp6.c tcp.c frag.c ndp.c dhcpv6.c"
DATAPATH="$DATAPATH fwdrule.c inbound.c flowtab.c systemd.c pcap.c uplink.c neigh.c"
declare -A SRCS=(
	[tap]="$DATAPATH"
	[fwd]="$DATAPATH"
	[dhcp]="dhcp.c ip4.c csum.c log.c"
	[arp]="arp.c ip4.c csum.c log.c"
	[conntrack]="conntrack.c"
	[ip6]="ip.c ip4.c ip6.c csum.c"
	[ndp]="ndp.c ip6.c dhcp.c ip4.c csum.c log.c"
	[dhcpv6]="dhcpv6.c dhcp.c ip6.c ip4.c csum.c log.c"
	[fwdrule]="fwdrule.c"
)

# Longest input per harness: two frames of the largest size for the stream,
# a few chunks of the largest packets for fwd, the largest frame for DHCP;
# ARP reads 42 bytes of a frame; a few hundred conntrack operations; for
# IPv6, the longest chain ip6_parse() walks (IP6_EXT_MAX headers of 2 KiB)
# and a transport header; for NDP, a message after a few extension headers;
# for DHCPv6, a message (the payload only) larger than any client's; for
# fwdrule, four -t or -u arguments, each a little over FWDRULE_SPEC_MAX
declare -A MAXLEN=([tap]=131200 [fwd]=200000 [dhcp]=65549 [arp]=512
		   [conntrack]=4096 [ip6]=16512 [ndp]=4096 [dhcpv6]=4096
		   [fwdrule]=4200)

# Features corpus.sh's merge keeps: by default every edge and every hit
# count bucket of each (a few hundred inputs for conntrack, whose probe
# lengths are counts); for tap and fwd, whose inputs are large and whose
# buckets would keep 500 to 600 files and 1.5 to 6 MB, every edge only:
# 150 files, under 400 KiB, and a 30 s run finds the buckets again
declare -A MERGE_FLAGS=([tap]=-use_counters=0 [fwd]=-use_counters=0)

# Harnesses that reach forwarding: only in a private network namespace
declare -A NETNS=([tap]=1 [fwd]=1)

# die MESSAGE: one line on stderr, exit 1
die() {
	echo "$me: $*" >&2
	exit 1
}

# check_deps: clang, libFuzzer's runtime with the sanitisers', and a way to
# make network namespaces; dies with one line naming what is missing
check_deps() {
	local probe

	command -v "$CC" >/dev/null ||
		die "$CC not found: apt-get install clang-14 libclang-rt-14-dev"
	probe=$(mktemp -d) || die "can't create a temporary directory"
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
		'{ (void)d; (void)n; return 0; }' >"$probe/probe.c"
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -o "$probe/probe" "$probe/probe.c" 2>/dev/null; then
		rm -rf "$probe"
		die "$CC can't link libFuzzer with ASan and UBSan:" \
			"apt-get install libclang-rt-14-dev"
	fi
	rm -rf "$probe"

	command -v unshare >/dev/null ||
		die "unshare not found (util-linux): fuzz_tap and fuzz_fwd" \
			"run in a private network namespace"
	command -v ip >/dev/null ||
		die "ip not found: apt-get install iproute2"
	unshare -n true 2>/dev/null ||
		die "unshare -n fails (not root?): fuzz_tap and fuzz_fwd" \
			"need a private network namespace"
	if ! mkdir -p "$build" || [ ! -w "$build" ]; then
		die "can't write to $build"
	fi
}

# build_harness NAME: build test/fuzz/build/fuzz_NAME; on failure, print
# the compiler's output and one line, and return 1
build_harness() {
	local h=$1 s srcs=""

	for s in ${SRCS[$h]}; do srcs="$srcs $top/$s"; done
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -o "$build/fuzz_$h" "$here/fuzz_$h.c" $srcs -lmnl \
		2>"$build/fuzz_$h.build.log"; then
		cat "$build/fuzz_$h.build.log" >&2
		echo "fuzz_$h: BUILD FAILED (log: $build/fuzz_$h.build.log)"
		return 1
	fi
}

# netns_run CMD...: run CMD in a new network namespace with only loopback
# up, after checking that it has no route at all (so no raw send can leave)
netns_run() {
	# shellcheck disable=SC2016
	unshare -n -- sh -c '
		ip link set lo up || exit 125
		if [ -n "$(ip -4 route show table main)" ] ||
		   [ -n "$(ip -6 route show table main 2>/dev/null | grep -v "^fe80\|^::1")" ]; then
			echo "the new network namespace has routes" >&2
			exit 125
		fi
		exec "$@"' sh "$@"
}

# run_harness NAME ARGS...: run fuzz_NAME with ARGS, in a private network
# namespace if it needs one. -close_fd_mask=2: warn() lines from merd go
# nowhere; libFuzzer and the sanitisers keep a copy of stderr for their own
# reports, the harnesses for theirs
run_harness() {
	local h=$1

	shift
	if [ -n "${NETNS[$h]:-}" ]; then
		netns_run "$build/fuzz_$h" -close_fd_mask=2 "$@"
	else
		"$build/fuzz_$h" -close_fd_mask=2 "$@"
	fi
}

# corpus_stats DIR: "N files, K KiB"
corpus_stats() {
	local n kib

	n=$(find "$1" -type f | wc -l)
	kib=$(du -sk --apparent-size "$1" | cut -f1)
	echo "$n files, $kib KiB"
}
