#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh - build the libFuzzer harnesses, replay the saved inputs, fuzz
#
# Usage: test/fuzz/run.sh [SECONDS]	(default 30 seconds per harness; 0:
#					replay only, no fuzzing)
#
# Builds test/fuzz/build/fuzz_{tap,fwd,dhcp,arp,conntrack,ip6,ndp,dhcpv6,
# fwdrule} with clang, libFuzzer, AddressSanitizer and UBSan (no recovery:
# any report is a crash). Then:
#
# 1. for each harness, replays every input of its saved corpus, test/fuzz/corpus/NAME/, and
#    of test/fuzz/crashes/NAME-* (inputs that once failed, each on its own):
#    each must pass, so a regression fails the run;
# 2. fuzzes each for SECONDS, FUZZ_JOBS of them at a time (default 1),
#    starting from a copy of the saved corpus in
#    test/fuzz/build/corpus_NAME/, which keeps what earlier runs found: new
#    inputs stay there, the saved corpus isn't touched (README.md: how to
#    refresh it).
#
# Prints one line per harness and step; the full libFuzzer output is in
# test/fuzz/build/fuzz_NAME.{replay,log}, a crashing input in
# test/fuzz/build/fuzz_NAME-crash-*. Exits 1 if a harness couldn't be
# built, failed on a saved input (fuzzing goes on after that) or crashed
# while fuzzing. A missing dependency (clang, libFuzzer's runtime, unshare)
# fails the run at once, with one line saying what is missing.
#
# Needs clang (Debian 12: clang-14) and libFuzzer's runtime, which Debian
# ships in libclang-rt-14-dev (only recommended by clang-14); root, for
# fuzz_tap and fuzz_fwd's network namespace (lib.sh). Environment: FUZZ_CC
# (default clang), FUZZ_FLAGS (more libFuzzer options for fuzzing, e.g.
# -use_value_profile=1).

set -uo pipefail

me=run.sh
secs=${1:-30}
case "$secs" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_deps

fail=0
built=""
for h in $HARNESSES; do
	if build_harness "$h"; then
		built="$built $h"
	else
		fail=1
	fi
done

# replay NAME LABEL FILES...: run fuzz_NAME on FILES, in one process; on a
# failure, name the file it failed on. Return 1 on a failure
replay() {
	local h=$1 label=$2 log=$build/fuzz_$1.replay bad

	shift 2
	if run_harness "$h" -timeout=10 \
		-artifact_prefix="$build/fuzz_$h-replay-" "$@" \
		>>"$log" 2>&1; then
		return 0
	fi
	bad=$(sed -n 's/^Running: //p' "$log" | tail -n 1)
	echo "fuzz_$h: FAILS on $label${bad##*/} (regression, or open bug:" \
		"crashes/README.md; log: $log)"
	return 1
}

# fuzz NAME: fuzz fuzz_NAME for $secs seconds from its saved corpus and
# what earlier runs found; print one line; return 1 on a crash
fuzz() {
	local h=$1 saved=$corpus_dir/$1 corpus=$build/corpus_$1
	local log=$build/fuzz_$1.log rc runs rate last cov ft corp unit

	mkdir -p "$corpus"
	find "$saved" -type f -exec cp -p {} "$corpus"/ \; 2>/dev/null

	# shellcheck disable=SC2086
	run_harness "$h" -max_total_time="$secs" -max_len="${MAXLEN[$h]}" \
		-timeout=10 -print_final_stats=1 \
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
		echo "fuzz_$h: CRASH after ${runs:-?} runs:" \
			"${unit:-no input saved} (log: $log)"
		return 1
	else
		echo "fuzz_$h: ok: ${runs:-?} runs in ${secs}s," \
			"${rate:-?} exec/s, cov ${cov:-?} ft ${ft:-?}," \
			"corpus ${corp:-?}"
	fi
	return 0
}

for h in $built; do
	saved=$corpus_dir/$h
	: >"$build/fuzz_$h.replay"

	# Saved inputs: the corpus at once (the first failure stops it), and
	# each input of crashes/ on its own (fixed bugs stay fixed; an open
	# one fails until fixed). Fuzzing goes on anyway
	mapfile -t inputs < <(find "$saved" -type f 2>/dev/null | sort)
	ok=1
	if [ ${#inputs[@]} -eq 0 ]; then
		echo "fuzz_$h: no saved corpus in $saved"
		ok=0
	elif ! replay "$h" "corpus/$h/" "${inputs[@]}"; then
		ok=0
	fi
	ncrash=0
	for input in "$here"/crashes/"$h"-*; do
		[ -e "$input" ] || continue
		ncrash=$((ncrash + 1))
		replay "$h" "crashes/" "$input" || ok=0
	done
	if [ $ok -eq 1 ]; then
		echo "fuzz_$h: replay ok: ${#inputs[@]} inputs of" \
			"corpus/$h/, $ncrash of crashes/"
	else
		fail=1
	fi
done

# Fuzzing: FUZZ_JOBS harnesses at a time (default 1), each line printed
# as its harness ends, a failure marked by a file (wait -n can miss the
# status of a job that ended before it was called)
if [ "$secs" -gt 0 ]; then
	rm -f "$build"/fuzz_*.failed
	for h in $built; do
		while [ "$(jobs -rp | wc -l)" -ge "${FUZZ_JOBS:-1}" ]; do
			wait -n
		done
		{ fuzz "$h" || : >"$build/fuzz_$h.failed"; } &
	done
	wait
	for h in $built; do
		[ ! -e "$build/fuzz_$h.failed" ] || fail=1
	done
fi

exit $fail
