#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh - build the libFuzzer harnesses and run each one for a while
#
# Usage: test/fuzz/run.sh [SECONDS]	(default 30 seconds per harness)
#
# Builds test/fuzz/build/fuzz_{tap,fwd,dhcp,arp} with clang, libFuzzer,
# AddressSanitizer and UBSan (no recovery: any report is a crash), writes
# seed corpora into test/fuzz/build/corpus_* with seeds.py (skipped if scapy
# is missing; the corpora also keep what earlier runs found), and runs each
# harness for SECONDS, after replaying the inputs of test/fuzz/crashes/ that
# belong to it (crashes/NAME-*). Prints one line per harness; the full libFuzzer output
# is in test/fuzz/build/fuzz_NAME.log, a crashing input in
# test/fuzz/build/fuzz_NAME-crash-*. Exits 1 if any harness crashed, failed
# on an input of crashes/ (fuzzing goes on after that) or couldn't be built.
#
# fuzz_tap and fuzz_fwd reach merd's forwarding code, which sends what the
# fuzzer makes up on raw sockets. They run only inside a new network
# namespace with nothing but loopback (unshare -n, so as root, or with
# CAP_SYS_ADMIN and CAP_NET_RAW), where sends to anything but 127/8 fail
# with ENETUNREACH; run.sh checks that the namespace has no route, and the
# harnesses themselves refuse to start where anything but loopback is up or
# routable. Each holds at most 64 flows, each flow a socket, forgotten after
# every input.
#
# Needs clang (Debian 12: clang-14) and libFuzzer's runtime, which Debian
# ships in libclang-rt-14-dev (only recommended by clang-14). Environment:
# FUZZ_CC (default clang), PYTHON (default /usr/bin/python3), FUZZ_FLAGS (more
# libFuzzer options, e.g. -use_value_profile=1).

set -uo pipefail

secs=${1:-30}
case "$secs" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$here/build
CC=${FUZZ_CC:-clang}
PYTHON=${PYTHON:-/usr/bin/python3}

CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
CFLAGS="$CFLAGS -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -I$top"
HARNESSES="tap fwd dhcp arp"

# merd's units each harness links, as the unit tests do: tap.c reaches
# arp(), dhcp() and the whole forwarding path, the other two don't need it
DATAPATH="tap.c arp.c dhcp.c ip4.c csum.c log.c fwd.c conntrack.c nat.c"
DATAPATH="$DATAPATH port.c raw.c icmp.c tcp.c frag.c"
declare -A SRCS=(
	[tap]="$DATAPATH"
	[fwd]="$DATAPATH"
	[dhcp]="dhcp.c ip4.c csum.c log.c"
	[arp]="arp.c ip4.c csum.c log.c"
)

# Longest input per harness: two frames of the largest size for the stream,
# a few chunks of the largest packets for fwd, the largest frame for DHCP;
# ARP reads 42 bytes of a frame
declare -A MAXLEN=([tap]=131200 [fwd]=200000 [dhcp]=65549 [arp]=512)

# Harnesses that reach forwarding: only in a private network namespace
declare -A NETNS=([tap]=1 [fwd]=1)

# netns_run CMD...: run CMD in a new network namespace with only loopback
# up, after checking that it has no route at all (so no raw send can leave)
netns_run() {
	# shellcheck disable=SC2016
	unshare -n -- sh -c '
		ip link set lo up || exit 125
		if [ -n "$(ip -4 route show table main)" ] ||
		   [ -n "$(ip -6 route show table main 2>/dev/null | grep -v "^fe80\|^::1")" ]; then
			echo "run.sh: the new network namespace has routes" >&2
			exit 125
		fi
		exec "$@"' sh "$@"
}

# run_harness NAME CMD...: run CMD, in a private namespace if NAME needs one
run_harness() {
	local h=$1
	shift
	if [ -n "${NETNS[$h]:-}" ]; then
		netns_run "$@"
	else
		"$@"
	fi
}

if ! command -v "$CC" >/dev/null; then
	echo "run.sh: $CC not found: apt-get install clang-14 libclang-rt-14-dev" >&2
	exit 1
fi
if ! command -v unshare >/dev/null || ! command -v ip >/dev/null ||
	! unshare -n true 2>/dev/null; then
	echo "run.sh: can't make a network namespace (unshare -n: root?);" \
		"fuzz_tap and fuzz_fwd need one" >&2
	exit 1
fi

mkdir -p "$build"
fail=0
built=""

for h in $HARNESSES; do
	srcs=""
	for s in ${SRCS[$h]}; do srcs="$srcs $top/$s"; done
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -o "$build/fuzz_$h" "$here/fuzz_$h.c" $srcs \
		2>"$build/fuzz_$h.build.log"; then
		cat "$build/fuzz_$h.build.log" >&2
		grep -q "fuzzer" "$build/fuzz_$h.build.log" &&
			echo "run.sh: libFuzzer missing? apt-get install libclang-rt-14-dev" >&2
		echo "fuzz_$h: BUILD FAILED (log: $build/fuzz_$h.build.log)"
		fail=1
	else
		built="$built $h"
	fi
done

if "$PYTHON" -c "import scapy" 2>/dev/null; then
	"$PYTHON" "$here/seeds.py" "$build" || echo "run.sh: seeds.py failed, going on" >&2
else
	echo "run.sh: no scapy for $PYTHON (python3-scapy): starting without seeds" >&2
fi

for h in $built; do
	corpus=$build/corpus_$h
	log=$build/fuzz_$h.log
	mkdir -p "$corpus"
	: >"$build/fuzz_$h.regress.log"

	# Inputs that failed (crashes/NAME-*) must pass, each on its own: fixed
	# bugs stay fixed (an open one, crashes/README.md, fails until fixed).
	# Fuzzing goes on anyway
	for input in "$here"/crashes/"$h"-*; do
		[ -e "$input" ] || continue
		if ! run_harness "$h" "$build/fuzz_$h" -close_fd_mask=2 \
			-artifact_prefix="$build/fuzz_$h-regress-" "$input" \
			>>"$build/fuzz_$h.regress.log" 2>&1; then
			echo "fuzz_$h: FAILS on crashes/${input##*/} (regression, or open bug: crashes/README.md; log: $build/fuzz_$h.regress.log)"
			fail=1
		fi
	done

	# -close_fd_mask=2: warn() lines from merd go nowhere; libFuzzer and
	# the sanitisers keep a copy of stderr for their own reports
	# shellcheck disable=SC2086
	run_harness "$h" "$build/fuzz_$h" -max_total_time="$secs" \
		-max_len="${MAXLEN[$h]}" \
		-timeout=10 -close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix="$build/fuzz_$h-" ${FUZZ_FLAGS:-} \
		"$corpus" >"$log" 2>&1
	rc=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")

	if [ $rc -ne 0 ]; then
		unit=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log" |
			head -n 1)
		echo "fuzz_$h: CRASH after ${runs:-?} runs: ${unit:-no input saved} (log: $log)"
		fail=1
	else
		echo "fuzz_$h: ok: ${runs:-?} runs in ${secs}s, ${rate:-?} exec/s, cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?}"
	fi
done

exit $fail
