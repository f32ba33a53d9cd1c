#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# corpus.sh - refresh the saved fuzz corpus, test/fuzz/corpus/NAME/
#
# Usage: test/fuzz/corpus.sh [SECONDS [NAME...]]
#	(default 600 seconds each, every harness; 0: no fuzzing, merge again
#	what the last refresh found)
#
# For each harness NAME (tap, fwd, dhcp, arp, conntrack): builds it as
# run.sh does, fuzzes it for SECONDS into an empty directory starting from
# everything known (the saved corpus, test/fuzz/build/corpus_NAME/ that
# run.sh's runs left, and the seeds seeds.py writes), then merge-minimises
# all of it (libFuzzer -merge=1 into an empty directory: the smallest set of
# inputs, preferring short ones, with every feature any of them has;
# MERGE_FLAGS in lib.sh) and puts the result in place of
# test/fuzz/corpus/NAME/. Prints the corpus's
# size and the coverage it reaches. Work files are in test/fuzz/build/refresh/.
#
# A crash while fuzzing stops the refresh of that harness, the saved corpus
# untouched: fix the bug, or save the input in crashes/ (crashes/README.md).
#
# Needs what run.sh needs, and scapy for seeds.py (python3-scapy).
# Environment: FUZZ_CC (default clang), PYTHON (default /usr/bin/python3),
# FUZZ_FLAGS (more libFuzzer options for fuzzing, not for the merge, e.g.
# -use_value_profile=1).

set -uo pipefail

me=corpus.sh
secs=${1:-600}
case "$secs" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS [NAME...]]" >&2; exit 2 ;;
esac
shift $(($# ? 1 : 0))

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
PYTHON=${PYTHON:-/usr/bin/python3}
names=${*:-$HARNESSES}

for h in $names; do
	[ -n "${MAXLEN[$h]:-}" ] || die "no harness $h (harnesses: $HARNESSES)"
done
check_deps
"$PYTHON" -c "import scapy" 2>/dev/null ||
	die "no scapy for $PYTHON: apt-get install python3-scapy (seeds.py)"

work=$build/refresh
mkdir -p "$work" || die "can't create $work"
seeds=$(mktemp -d "$work/seeds.XXXXXX") || die "can't create a seeds directory"
trap 'rm -rf "$seeds"' EXIT
"$PYTHON" "$here/seeds.py" "$seeds" || die "seeds.py failed"

for h in $names; do
	build_harness "$h" || exit 1

	sources=()
	for d in "$corpus_dir/$h" "$build/corpus_$h" "$seeds/corpus_$h"; do
		[ -d "$d" ] && sources+=("$d")
	done
	found=$work/found_$h
	merged=$work/corpus_$h
	rm -rf "$merged"
	mkdir -p "$merged"

	# SECONDS 0: merge again what the last refresh found, no fuzzing
	if [ "$secs" -gt 0 ]; then
		rm -rf "$found"
		mkdir -p "$found"
		# shellcheck disable=SC2086
		if ! run_harness "$h" -max_total_time="$secs" \
			-max_len="${MAXLEN[$h]}" -timeout=10 \
			-print_final_stats=1 -artifact_prefix="$work/fuzz_$h-" \
			${FUZZ_FLAGS:-} "$found" "${sources[@]}" \
			>"$work/fuzz_$h.log" 2>&1; then
			echo "fuzz_$h: CRASH while fuzzing, corpus/$h/ left" \
				"as it was (log: $work/fuzz_$h.log)"
			exit 1
		fi
	fi
	[ -d "$found" ] && sources+=("$found")

	# shellcheck disable=SC2086
	if ! run_harness "$h" -merge=1 ${MERGE_FLAGS[$h]:-} \
		-max_len="${MAXLEN[$h]}" -timeout=10 "$merged" \
		"${sources[@]}" >"$work/fuzz_$h.merge.log" 2>&1; then
		echo "fuzz_$h: merge failed, corpus/$h/ left as it was" \
			"(log: $work/fuzz_$h.merge.log)"
		exit 1
	fi

	rm -rf "${corpus_dir:?}/$h"
	mkdir -p "$corpus_dir/$h"
	cp -p "$merged"/* "$corpus_dir/$h"/
	# "MERGE-OUTER: 145 new files with 704 new features added; 692 new
	# coverage edges"
	stats=$(sed -n 's/^MERGE-OUTER: .* with \([0-9]*\) new features.*; \([0-9]*\) new coverage edges$/cov \2 ft \1/p' \
		"$work/fuzz_$h.merge.log")
	echo "fuzz_$h: corpus/$h/: $(corpus_stats "$corpus_dir/$h")," \
		"${stats:-cov ?}"
done
