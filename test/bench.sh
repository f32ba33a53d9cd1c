#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench.sh - TCP throughput through merd, over IPv4 and IPv6, outbound and
# through a forwarded port (remote clients to a server in the guest), against
# the host's own server, connections per second, how many flows it holds and at what cost, and what merd costs the
# host's own traffic, both families, with 0 and with 10,000 guest flows of
# each family open. Prints numbers; checks nothing
# beyond what it needs to measure the right thing.
#
#      guest ns                    host ns                      remote ns
#  +--------------+  stream  +-----------------+   veth   +--------------------+
#  | tap0 (pump)  |<-------->| ./merd          |h0 -- r0 | 10.42.0.100 iperf3 |
#  | 10.42.0.2    |  socket  | 10.42.0.2/24    |          | 10.42.0.1 gateway  |
#  | iperf3 -c    |          | iperf3 -c (own) |          |                    |
#  +--------------+          +-----------------+          +--------------------+
#
# The guest is the guest namespace's Linux stack behind test/pump (see
# doc/design.md, "Test guests"), configured by busybox udhcpc from merd. Its tap has a
# 10,000-frame ring: with the default 1000, tun dropped guest frames during
# bursts (the pump isn't lossless there), and those drops were the guest's
# TCP retransmits. Drops are counted and printed, by place.
#
# MTUs measured, guest <-> remote:
#   host link 1500,  guest 1500:  the common case
#   host link 1500,  guest 65520: what a guest can choose when the uplink
#                                 can't: TCP from the remote still arrives as
#                                 64 KiB GRO/GSO packets that merd can pass
#                                 whole; the guest's own segments stay at the
#                                 remote's MSS (1460): merd forwards packets,
#                                 it doesn't terminate TCP
#   host link 65520, guest 65520: merd's ceiling, 64 KiB packets both ways
# The host's own throughput is measured on the 1500 link, where the host
# handles the most packets per byte.
#
# Usage (root; `make bench` builds first): test/bench.sh
# Environment: BENCH_TIME (iperf3 seconds, default 4), BENCH_FLOWS (10000),
# BENCH_REPEAT (rounds for the host's own throughput, median shown: 3),
# PASST and SLIRP4NETNS (the peers' binaries, default passt and slirp4netns
# on PATH; measured side by side with merd when there), BENCH_SIDE_ROUNDS
# (rounds of the side-by-side table, medians shown: 3), BENCH_SIDE_ONLY
# (stop after the side-by-side table).
# Only namespaces this script creates are touched, and they are removed on
# exit, whatever happens.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
secs=${BENCH_TIME:-4}
nflows=${BENCH_FLOWS:-10000}
reps=${BENCH_REPEAT:-3}
side_rounds=${BENCH_SIDE_ROUNDS:-3}
tag="merdb$$"
host="$tag-host" remote="$tag-remote" guest="$tag-guest"
tmp=$(mktemp -d "/tmp/$tag.XXXXXX")
sock="$tmp/merd.socket"
py=/usr/bin/python3
pids=()
merd_pid=
pump_pid=
echo_pid=
split_pid=

HOST_ADDR=10.42.0.2 GATEWAY=10.42.0.1 REMOTE=10.42.0.100
HOST6=2001:db8:42::2 GATEWAY6=2001:db8:42::1 REMOTE6=2001:db8:42::100

die() { echo "bench.sh: $*" >&2; exit 1; }
# n NS COMMAND...: run in a namespace (in the foreground: background jobs call
# ip netns exec directly, so that $! is the program's own pid)
n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	for ns in "$guest" "$host" "$remote"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "run as root (it creates network namespaces)"
for f in "$top/merd" "$top/test/pump"; do
	[ -x "$f" ] || die "$f missing: make all test/pump"
done
for t in iperf3 socat ss busybox; do
	command -v "$t" >/dev/null || die "$t missing"
done

# wait_until SECONDS COMMAND...: poll every 0.1 s, for at most SECONDS
wait_until() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# topology HOST_LINK_MTU: the three namespaces, remote's iperf3 server
topology() {
	local ns
	for ns in "$host" "$remote" "$guest"; do
		ip netns add "$ns"
		mkdir -p "/etc/netns/$ns"
		: >"/etc/netns/$ns/resolv.conf"	# udhcpc's hook writes here
		n "$ns" ip link set lo up
	done
	echo "nameserver $GATEWAY" >"/etc/netns/$host/resolv.conf"
	n "$host" ip link add h0 type veth peer name r0 netns "$remote"
	n "$host" ip link set h0 mtu "$1" up
	n "$host" ip addr add "$HOST_ADDR/24" dev h0
	n "$remote" ip link set r0 mtu "$1" up
	n "$remote" ip addr add "$REMOTE/24" dev r0
	n "$remote" ip addr add "$GATEWAY/24" dev r0
	n "$host" ip route add default via "$GATEWAY"
	n "$host" ip addr add "$HOST6/64" dev h0 nodad
	n "$remote" ip addr add "$REMOTE6/64" dev r0 nodad
	n "$remote" ip addr add "$GATEWAY6/64" dev r0 nodad
	n "$host" ip -6 route add default via "$GATEWAY6"
	ip netns exec "$remote" iperf3 -s -B "$REMOTE" >/dev/null 2>&1 &
	pids+=($!)
	ip netns exec "$remote" iperf3 -s -B "$REMOTE6" -p 5202 >/dev/null 2>&1 &
	pids+=($!)
	wait_until 10 port_listening "$remote" 5201 || die "iperf3 server didn't start"
	wait_until 10 port_listening "$remote" 5202 || die "iperf3 server didn't start"
}

port_listening() { n "$1" ss -Hltn "sport = :$2" | grep -q .; }

teardown() {
	stop_merd
	local p ns
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	for ns in "$guest" "$host" "$remote"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$ns"
		rm -rf "/etc/netns/$ns"
	done
	rm -f "$sock"
}

# start_merd ARGS...: ./merd in the host namespace, in the foreground
start_merd() {
	rm -f "$tmp/merd.log"
	# Not through a function: $! must be merd's pid (ip netns exec execs it)
	ip netns exec "$host" "$top/merd" -f -s "$sock" "$@" >"$tmp/merd.log" 2>&1 &
	merd_pid=$!
	pids+=("$merd_pid")
	wait_until 10 grep -qs "listening on" "$tmp/merd.log" ||
		die "merd didn't start: $(cat "$tmp/merd.log")"
}

stop_merd() {
	[ -n "$merd_pid" ] || return 0
	kill "$merd_pid" 2>/dev/null || true
	wait "$merd_pid" 2>/dev/null || true
	merd_pid=
}

# start_guest MTU: tap0 in the guest namespace, bridged to merd, leased
start_guest() {
	rm -f "$tmp/pump.out"
	ip netns exec "$guest" "$top/test/pump" tap0 "$sock" >"$tmp/pump.out" 2>&1 &
	pump_pid=$!
	pids+=("$pump_pid")
	wait_until 10 grep -qx ready "$tmp/pump.out" || die "pump: $(cat "$tmp/pump.out")"
	# tun drops what doesn't fit its ring (txqueuelen frames) rather than
	# making the guest's stack wait: a longer ring, so that the guest's
	# losses measure merd rather than the pump (drops are still counted)
	n "$guest" ip link set tap0 txqueuelen 10000 up
	n "$guest" busybox udhcpc -i tap0 -f -q -n -t 4 -T 1 -O mtu \
		-s "$top/test/guest/udhcpc.script" >"$tmp/udhcpc.out" 2>&1 ||
		die "udhcpc: $(cat "$tmp/udhcpc.out")"
	local mtu
	mtu=$(n "$guest" cat /sys/class/net/tap0/mtu)
	[ "$mtu" = "$1" ] || die "guest MTU is $mtu, not $1"
	# IPv6 from merd's router advertisements: a default route and a
	# global address past duplicate address detection
	wait_until 15 guest6_ready || die "guest got no IPv6: $(n "$guest" ip -6 addr)"
}
guest6_ready() {
	n "$guest" ip -6 route show default | grep -q . &&
		n "$guest" ip -6 addr show dev tap0 scope global | grep -v tentative |
		grep -q inet6
}

# dsacked NS: segments the namespace's TCP retransmitted and its peer then
# reported as duplicates (DSACK): spurious retransmits, after reordering
dsacked() {
	n "$1" awk '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) k[i] = $i; h = 1 }
		else for (i = 2; i <= NF; i++) if (k[i] == "TCPDSACKRecvSegs") print $i }' \
		/proc/net/netstat
}

# iperf NS [ARGS...]: "Gbit/s retransmits" measured at the receiver; to the
# remote's IPv4 address, or to $to
iperf() {
	local ns=$1; shift
	if ! timeout $((secs + 30)) ip netns exec "$ns" \
		iperf3 -c "${to:-$REMOTE}" -t "$secs" -J "$@" >"$tmp/iperf.json" 2>&1; then
		{ echo "iperf3 failed:"; cat "$tmp/iperf.json"; } >&2
		echo "- -"
		return
	fi
	$py -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print("%.2f %s" % (e["sum_received"]["bits_per_second"] / 1e9,
                   e["sum_sent"].get("retransmits", "-")))' "$tmp/iperf.json"
}

# Where packets were lost, counters since the topology was made: "guest tap
# TX drops (the guest's kernel: tun's ring was full, pump behind), guest tap
# RX drops, drops at merd's raw sockets (their receive buffers were full)"
losses() {
	local tx rx raw
	tx=$(n "$guest" cat /sys/class/net/tap0/statistics/tx_dropped)
	rx=$(n "$guest" cat /sys/class/net/tap0/statistics/rx_dropped)
	raw=$(n "$host" awk 'NR > 1 { d += $NF } END { print d + 0 }' /proc/net/raw)
	echo "$tx $rx $raw"
}

# merd's descriptors: "raw-sockets udp-sockets tcp-listeners all-fds"
merd_fds() {
	local raw udp tcp fds
	raw=$(n "$host" ss -Hwanp | grep -c "pid=$merd_pid," || true)
	udp=$(n "$host" ss -Huanp | grep -c "pid=$merd_pid," || true)
	tcp=$(n "$host" ss -Hltnp | grep -c "pid=$merd_pid," || true)
	fds=$(find "/proc/$merd_pid/fd" -mindepth 1 | wc -l)
	echo "$raw $udp $tcp $fds"
}

# median X...: "median(min-max)" of numbers ("-" for a failed run is left out)
median() {
	$py -c 'import sys
v = sorted(float(x) for x in sys.argv[1:] if x != "-")
if not v:
    print("-")
elif len(v) == 1:
    print("%.2f" % v[0])
else:
    print("%.2f(%.2f-%.2f)" % (v[len(v) // 2], v[0], v[-1]))' "$@"
}

# pct A B: (B - A) / A in percent
pct() {
	$py -c 'import sys
try:
    a, b = (float(x.split("(")[0]) for x in sys.argv[1:])
    print("%+.1f%%" % ((b - a) / a * 100))
except ValueError:
    print("n/a")' "$1" "$2"
}

printf 'merd bench: %s, kernel %s, %s CPUs, iperf3 %s s per run, %s\n' \
	"$("$top/merd" --version 2>&1 | head -n1)" "$(uname -r)" "$(nproc)" "$secs" "$(date -u +%FT%TZ)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- side by side: merd, passt, slirp4netns ---------------------------------
# The same topology, guest and measurements for each daemon in turn, every
# row one daemon after the other, so that what else runs on the machine
# falls on all alike; merd's ratio to each peer is printed. merd and passt
# serve the guest through the same pump and are configured by the guest's
# DHCP client and their router advertisements; slirp4netns (which only
# speaks to a tap device) configures the guest's tap itself. A peer that
# isn't installed is left out.
peer_py="$top/test/tcp_peer.py"
passt_bin=${PASST:-$(command -v passt || true)}
slirp_bin=${SLIRP4NETNS:-$(command -v slirp4netns || true)}
daemons=merd
[ -n "$passt_bin" ] && [ -x "$passt_bin" ] && daemons+=" passt"
[ -n "$slirp_bin" ] && [ -x "$slirp_bin" ] && daemons+=" slirp"
dpid=

# start_daemon NAME GUEST-MTU: NAME serving the guest, the guest configured
start_daemon() {
	case $1 in
	merd)
		start_merd -m "$2"
		dpid=$merd_pid
		start_guest "$2"
		;;
	passt)
		ip netns exec "$host" "$passt_bin" -f -s "$sock" -m "$2" \
			>"$tmp/passt.log" 2>&1 &
		dpid=$!
		pids+=("$dpid")
		wait_until 10 test -S "$sock" || die "passt didn't start: $(cat "$tmp/passt.log")"
		start_guest "$2"
		;;
	slirp)
		ip netns exec "$guest" sleep 3600 &
		pids+=($!)
		ip netns exec "$host" "$slirp_bin" --configure --mtu="$2" \
			--disable-host-loopback --enable-ipv6 "$!" tap0 \
			>"$tmp/slirp.log" 2>&1 &
		dpid=$!
		pids+=("$dpid")
		wait_until 10 guest_has 10.0.2.100 ||
			die "slirp4netns didn't configure the guest: $(cat "$tmp/slirp.log")"
		wait_until 15 guest6_ready || true
		;;
	esac
}
guest_has() { n "$guest" ip -4 addr show dev tap0 2>/dev/null | grep -q "inet $1/"; }

# stop_daemon: the daemon and everything started for the guest since the
# topology's servers, the guest's tap gone with them
stop_daemon() {
	local p keep=$1
	merd_pid=
	pump_pid=
	for p in "${pids[@]:keep}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]:keep}"; do wait "$p" 2>/dev/null || true; done
	pids=("${pids[@]:0:keep}")
	rm -f "$sock"
	wait_until 10 sh -c "! ip netns exec $guest ip link show tap0 >/dev/null 2>&1" ||
		die "the guest's tap outlived its daemon"
}

# rr_us [one]: 1-byte request/response from the guest for 3 s: "median-us
# mean-us daemon% pump% machine%" (the mean is what a transaction rate, as
# netperf's TCP_RR, measures; the CPU split as costed_iperf's). With "one",
# the daemon, the pump, the remote's echo server and the guest's client all
# on the first CPU for it, so that no wake-up in the exchange has another
# CPU to wake (on this machine's virtual CPUs, with no cpuidle driver, an
# idle CPU has halted and costs the hypervisor a round trip to wake), and
# what is left is the work along the way
rr_us() {
	local p lat
	local -A mask
	local pin=()
	if [ "${1:-}" = one ]; then
		for p in "$dpid" ${pump_pid:+"$pump_pid"} "$echo_pid"; do
			mask[$p]=$(taskset -p "$p" | awk '{ print $NF }')
			taskset -a -p 1 "$p" >/dev/null
		done
		pin=(taskset 1)
	fi
	split_start 2
	lat=$(n "$guest" "${pin[@]}" "$py" "$peer_py" rr "$REMOTE" 7000 3 |
		$py -c 'import json, sys; r = json.loads(sys.stdin.read())
print("%.1f %.1f" % (r["median_us"], r["mean_us"]) if r["median_us"] else "- -")')
	echo "$lat $(split_read)"
	for p in "${!mask[@]}"; do
		taskset -a -p "${mask[$p]}" "$p" >/dev/null 2>&1 || true
	done
}
# warm_up: one ping from the guest, then a second of rest, before a daemon
# is measured, the same for each: merd sends frames on the uplink from the
# first timer tick after it first sent through the host's IP output
# (uplink.c), and no run should measure that second
warm_up() {
	n "$guest" ping -c 1 -W 1 "$REMOTE" >/dev/null 2>&1 || true
	sleep 1
}
# cps: connections per second (4 at a time), from the guest for 3 s
cps() {
	n "$guest" "$py" "$peer_py" churn "$REMOTE" 7000 3 --parallel 4 |
		$py -c 'import json, sys; r = json.loads(sys.stdin.read())
print("%.0f" % r["rate"] if not r["errors"] else "%.0f(%d failed)" %
      (r["rate"], sum(r["errors"].values())))'
}

# frames: packets through the guest's tap, both ways (what a daemon handles)
frames() {
	n "$guest" awk '{ s += $1 } END { print s }' \
		/sys/class/net/tap0/statistics/rx_packets \
		/sys/class/net/tap0/statistics/tx_packets
}

# split_start SECONDS: test/cpu_split.py on the daemon and the pump from
# half a second on, for SECONDS, in the background; split_read: wait for
# it, and print its "daemon% pump% machine%" ("- - -" if it printed nothing)
split_start() {
	rm -f "$tmp/split.out"
	$py "$top/test/cpu_split.py" 0.5 "$1" "$dpid" ${pump_pid:+"$pump_pid"} \
		>"$tmp/split.out" 2>/dev/null &
	split_pid=$!
}
split_read() {
	wait "$split_pid" || true
	if [ -s "$tmp/split.out" ]; then cat "$tmp/split.out"; else echo "- - -"; fi
}

# costed_iperf ARGS...: iperf from the guest as iperf() does, with perf
# stat on the daemon meanwhile, and the run's CPU split (test/cpu_split.py,
# from the middle of the run: the daemon, the pump's busiest thread and the
# machine, in per cent of one CPU): "Gbit/s CPU-ns-per-frame
# syscalls-per-frame daemon% pump% machine%" (CPU time, not cycles: this
# machine's virtual CPUs have no cycle counter)
costed_iperf() {
	local f0 f1 rate ns calls split perf_pid=
	rm -f "$tmp/perf.csv"
	f0=$(frames)
	if command -v perf >/dev/null; then	# Debian's linux-perf
		perf stat -x, -e task-clock,raw_syscalls:sys_enter -p "$dpid" \
			-o "$tmp/perf.csv" -- sleep "$secs" 2>/dev/null &
		perf_pid=$!
	fi
	split_start "$((secs - 1))"
	rate=$(iperf "$guest" "$@" | cut -d' ' -f1)
	[ -z "$perf_pid" ] || wait "$perf_pid" || true
	split=$(split_read)
	f1=$(frames)
	ns=$(awk -F, '$3 == "task-clock" { print $1 * 1e6 }' "$tmp/perf.csv" 2>/dev/null)
	calls=$(awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 }' "$tmp/perf.csv" 2>/dev/null)
	$py -c 'import sys
rate, ns, calls, fr = sys.argv[1:5]
try:
    fr = float(fr)
    cost = ["%.0f" % (float(ns) / fr), "%.2f" % (float(calls) / fr)]
except (ValueError, ZeroDivisionError):
    cost = ["-", "-"]
print(rate, *cost, *sys.argv[5:])' "$rate" "${ns:--}" "${calls:--}" "$((f1 - f0))" $split
}

# ceiling DAEMON% PUMP% MACHINE%: how many times its rate a run could have
# reached had the daemon cost nothing, with the rest of the work costing
# what it did: the rest would have had all the machine's CPUs, and the
# pump's busiest thread a whole CPU, whichever bound comes first ("-"
# where a figure is missing). For a peer's runs, the most merd/peer could
# be on this machine with this pump, whatever merd did.
ceiling() {
	$py -c 'import os, sys
try:
    d, m = float(sys.argv[1]), float(sys.argv[3])
    bounds = [100.0 * (os.cpu_count() or 1) / (m - d)]
    if sys.argv[2] != "-":
        bounds.append(100.0 / float(sys.argv[2]))
    print("%.2f" % min(bounds))
except (ValueError, ZeroDivisionError):
    print("-")' "$@"
}

# ratio A B [lower]: A / B, "-" where either is missing
ratio() {
	$py -c 'import sys
try:
    a, b = (float(x.split("(")[0]) for x in sys.argv[1:3])
    print("%.2f" % (a / b))
except (ValueError, ZeroDivisionError):
    print("-")' "$1" "$2"
}

# keep KEY VALUE: one more round's VALUE of KEY
keep() { side["$1"]="${side["$1"]:+${side["$1"]} }$2"; }
declare -A side
for cfg in "1500 1500" "1500 65520"; do
	read -r link gmtu <<<"$cfg"
	topology "$link"
	ip netns exec "$remote" "$py" "$peer_py" serve "$REMOTE" 7000 --quiet >/dev/null 2>&1 &
	echo_pid=$!
	pids+=("$echo_pid")
	wait_until 10 port_listening "$remote" 7000 || die "echo server didn't start"
	base=${#pids[@]}
	for _ in $(seq "$side_rounds"); do
	for d in $daemons; do
		start_daemon "$d" "$gmtu"
		warm_up
		for dir in up down; do
			opt=
			[ "$dir" = down ] && opt=-R
			# shellcheck disable=SC2086
			read -r a b c e f g <<<"$(costed_iperf $opt)"
			keep "$d $cfg $dir" "$a"; keep "$d $cfg $dir ns" "$b"
			keep "$d $cfg $dir calls" "$c"
			keep "$d $cfg $dir cpu" "$e"; keep "$d $cfg $dir pump" "$f"
			keep "$d $cfg $dir busy" "$g"
			keep "$d $cfg $dir ceiling" "$(ceiling "$e" "$f" "$g")"
		done
		keep "$d $cfg up6" "$(to=$REMOTE6 iperf "$guest" -p 5202 | cut -d' ' -f1)"
		keep "$d $cfg down6" "$(to=$REMOTE6 iperf "$guest" -p 5202 -R | cut -d' ' -f1)"
		if [ "$gmtu" = 1500 ]; then
			read -r a b e f g <<<"$(rr_us)"
			keep "$d rr" "$a"; keep "$d rr mean" "$b"
			keep "$d rr cpu" "$e"; keep "$d rr pump" "$f"; keep "$d rr busy" "$g"
			read -r a b <<<"$(rr_us one)"
			keep "$d rr one" "$a"; keep "$d rr one mean" "$b"
			n "$guest" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
				net.ipv4.tcp_tw_reuse=1
			keep "$d cps" "$(cps)"
		fi
		keep "$d rss" "$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$dpid/status")"
		stop_daemon "$base"
	done
	done
	teardown
done

# median VALUES...: their median ("-" where none is a number; a count of
# failures in brackets after a value is left out)
median() {
	$py -c 'import statistics, sys
v = []
for x in sys.argv[1:]:
    try:
        v.append(float(x.split("(")[0]))
    except ValueError:
        pass
m = statistics.median(v) if v else None
print("-" if m is None else "%.0f" % m if m >= 100 else "%.1f" % m if m >= 10
      else "%.2f" % m)' "$@"
}

echo
echo "Side by side (${daemons// /, }; the same namespaces, pump and guest), the"
echo "median of $side_rounds rounds, each daemon in turn in every round: TCP"
echo "Gbit/s at the receiver, latency in microseconds (median), peak RSS in MiB,"
echo "the daemon's CPU time and system calls per frame through the guest's tap"
echo "during the TCP runs; merd/peer: above 1 merd is better for throughput and"
echo "connections, below 1 for latency, memory and costs. slirp4netns has no pump"
echo "in its path (it serves the tap itself)"
hdr=$(printf '%-34s' "")
for d in $daemons; do hdr+=$(printf ' %-10s' "$d"); done
for d in $daemons; do [ "$d" = merd ] || hdr+=$(printf ' %-12s' "merd/$d"); done
echo "$hdr"
side_row() {	# LABEL KEY [-]: with "-", no ratios (they'd mean nothing)
	local line d
	declare -A med
	line=$(printf '%-34s' "$1")
	for d in $daemons; do
		# shellcheck disable=SC2086
		med[$d]=$(median ${side["$d $2"]:--})
		line+=$(printf ' %-10s' "${med[$d]}")
	done
	for d in $daemons; do
		[ "$d" = merd ] || [ "${3:-}" = - ] ||
			line+=$(printf ' %-12s' "$(ratio "${med[merd]}" "${med[$d]}")")
	done
	echo "$line"
}
side_split() {	# LABEL KEY: the medians of a run's CPU split, daemon/pump/machine
	local line d part v
	line=$(printf '%-34s' "$1")
	for d in $daemons; do
		v=
		for part in cpu pump busy; do
			# shellcheck disable=SC2086
			v+=${v:+/}$(median ${side["$d $2 $part"]:--} | cut -d. -f1)
		done
		line+=$(printf ' %-10s' "$v")
	done
	echo "$line"
}
side_row "guest->remote, MTU 1500" "1500 1500 up"
side_row "remote->guest, MTU 1500" "1500 1500 down"
side_row "guest->remote, guest MTU 65520" "1500 65520 up"
side_row "remote->guest, guest MTU 65520" "1500 65520 down"
side_row "IPv6 guest->remote, MTU 1500" "1500 1500 up6"
side_row "IPv6 remote->guest, MTU 1500" "1500 1500 down6"
side_row "IPv6 guest->remote, guest 65520" "1500 65520 up6"
side_row "IPv6 remote->guest, guest 65520" "1500 65520 down6"
side_row "request/response 1 byte (us)" "rr"
side_row "  the same, mean (us)" "rr mean"
side_row "  all on one CPU, median (us)" "rr one"
side_row "  all on one CPU, mean (us)" "rr one mean"
side_row "connections/s (3 s, 4 at a time)" "cps"
side_row "peak RSS (MiB)" "rss"
side_row "CPU ns/frame, guest->remote 1500" "1500 1500 up ns"
side_row "CPU ns/frame, remote->guest 1500" "1500 1500 down ns"
side_row "syscalls/frame, guest->remote 1500" "1500 1500 up calls"
side_row "syscalls/frame, remote->guest 1500" "1500 1500 down calls"
side_row "CPU ns/frame, guest->remote 65520" "1500 65520 up ns"
side_row "CPU ns/frame, remote->guest 65520" "1500 65520 down ns"
echo
echo "Where the CPU went in the same runs (test/cpu_split.py, per cent of one CPU"
echo "of $(nproc)): the daemon / the pump's busiest thread / the whole machine; and"
echo "the ceiling: how many times its rate the run could have reached had the"
echo "daemon cost nothing (the rest of the work then has every CPU, and the pump's"
echo "busiest thread one CPU to itself). A peer's ceiling is the most that"
echo "merd/peer could be here, whatever merd does"
side_split "CPU %, request/response 1 byte" "rr"
for cfg in "1500 1500" "1500 65520"; do
	read -r link gmtu <<<"$cfg"
	side_split "CPU %, guest->remote, guest $gmtu" "$link $gmtu up"
	side_row "  ceiling" "$link $gmtu up ceiling" -
	side_split "CPU %, remote->guest, guest $gmtu" "$link $gmtu down"
	side_row "  ceiling" "$link $gmtu down ceiling" -
done
[ -z "${BENCH_SIDE_ONLY:-}" ] || exit 0

# ---- guest <-> remote through merd ---------------------------------------
declare -A res
for cfg in "1500 1500" "1500 65520" "65520 65520"; do
	read -r link gmtu <<<"$cfg"
	topology "$link"
	start_merd -m "$gmtu"
	start_guest "$gmtu"
	warm_up
	d0=$(dsacked "$guest")
	res["$cfg up"]="$(iperf "$guest") $(($(dsacked "$guest") - d0))"
	res["$cfg up loss"]=$(losses)
	d0=$(dsacked "$remote")
	res["$cfg down"]="$(iperf "$guest" -R) $(($(dsacked "$remote") - d0))"
	res["$cfg down loss"]=$(losses)
	res["$cfg up6"]=$(to=$REMOTE6 iperf "$guest" -p 5202)
	res["$cfg down6"]=$(to=$REMOTE6 iperf "$guest" -p 5202 -R)
	teardown
done

echo
echo "Guest <-> remote TCP through merd, Gbit/s at the receiver"
echo "(sender's retransmits/of which the receiver had already got: DSACKed)"
printf '%-16s %-10s %-20s %-20s\n' "host link MTU" "guest MTU" "guest->remote" "remote->guest"
for cfg in "1500 1500" "1500 65520" "65520 65520"; do
	read -r link gmtu <<<"$cfg"
	read -r up upr upd <<<"${res["$cfg up"]}"
	read -r dn dnr dnd <<<"${res["$cfg down"]}"
	printf '%-16s %-10s %-20s %-20s\n' "$link" "$gmtu" "$up ($upr/$upd)" "$dn ($dnr/$dnd)"
done
echo
echo "The same over IPv6 (retransmits)"
printf '%-16s %-10s %-20s %-20s\n' "host link MTU" "guest MTU" "guest->remote" "remote->guest"
for cfg in "1500 1500" "1500 65520" "65520 65520"; do
	read -r link gmtu <<<"$cfg"
	read -r up upr <<<"${res["$cfg up6"]}"
	read -r dn dnr <<<"${res["$cfg down6"]}"
	printf '%-16s %-10s %-20s %-20s\n' "$link" "$gmtu" "$up ($upr)" "$dn ($dnr)"
done
echo
echo "Packets dropped during those runs: guest->remote | remote->guest"
printf '%-16s %-10s %-28s %-28s\n' "host link MTU" "guest MTU" \
	"tapTX tapRX merd-raw" "tapTX tapRX merd-raw"
for cfg in "1500 1500" "1500 65520" "65520 65520"; do
	read -r link gmtu <<<"$cfg"
	read -r t1 r1 w1 <<<"${res["$cfg up loss"]}"
	read -r t2 r2 w2 <<<"${res["$cfg down loss"]}"
	printf '%-16s %-10s %-28s %-28s\n' "$link" "$gmtu" "$t1 $r1 $w1" \
		"$((t2 - t1)) $((r2 - r1)) $((w2 - w1))"
done
echo "(tapTX: the guest kernel's tun ring was full, pump and merd behind; tapRX:"
echo " the guest kernel dropped what pump wrote; merd-raw: merd's raw sockets'"
echo " receive buffers overflowed)"

# ---- remote clients -> the guest's server, through a forwarded port -------
# iperf3's server in the guest behind -t 5301:5201 (one listener for both
# families), its client in the remote namespace to the host's address; and
# the same client to an iperf3 server of the host's own (port 5401), the
# ceiling: the ratio is what forwarding through merd costs
topology 1500
ip netns exec "$host" iperf3 -s -p 5401 >/dev/null 2>&1 &
pids+=($!)
wait_until 10 port_listening "$host" 5401 || die "the host's iperf3 didn't start"
start_merd -t 5301:5201
start_guest 1500
warm_up
ip netns exec "$guest" iperf3 -s >/dev/null 2>&1 &
pids+=($!)
wait_until 10 port_listening "$guest" 5201 || die "the guest's iperf3 didn't start"
declare -A inb
inb[in]=$(to=$HOST_ADDR iperf "$remote" -p 5301)
inb[out]=$(to=$HOST_ADDR iperf "$remote" -p 5301 -R)
inb[in6]=$(to=$HOST6 iperf "$remote" -p 5301)
inb[out6]=$(to=$HOST6 iperf "$remote" -p 5301 -R)
inb[hin]=$(to=$HOST_ADDR iperf "$remote" -p 5401)
inb[hout]=$(to=$HOST_ADDR iperf "$remote" -p 5401 -R)
inb[hin6]=$(to=$HOST6 iperf "$remote" -p 5401)
inb[hout6]=$(to=$HOST6 iperf "$remote" -p 5401 -R)
stop_merd
teardown

echo
echo "Remote client -> guest server through merd -t (link and guest MTU 1500),"
echo "Gbit/s at the receiver (retransmits), and the host's own server as the"
echo "ceiling; \"vs host\": merd's rate against it"
printf '%-12s %-22s %-22s %-10s\n' "" "through merd" "host's own server" "vs host"
for k in in out in6 out6; do
	case $k in
	in) label="to guest" ;;
	out) label="from guest" ;;
	in6) label="to guest 6" ;;
	out6) label="from guest 6" ;;
	esac
	read -r m mr <<<"${inb[$k]}"
	read -r h hr <<<"${inb[h$k]}"
	printf '%-12s %-22s %-22s %-10s\n' "$label" "$m ($mr)" "$h ($hr)" "$(pct "$h" "$m")"
done

# ---- connections per second, and concurrent flows ---------------------------
# The same loop (tcp_peer.py churn: 4 connections at a time, each connect,
# 16 bytes echoed, close, the client first) from the host namespace for 4 s
# (longer, the host's own TIME_WAIT limits it: 28k ports a minute), then from
# the guest through merd for CHURN_TIME s; then CONCURRENT connections held
# open at once, over 4 ports of the remote, and what merd holds for them.
churn_secs=${CHURN_TIME:-10}
nconc=${CONCURRENT:-15000}
peer="$top/test/tcp_peer.py"
topology 1500
for p in 7000 7001 7002 7003 7004; do
	ip netns exec "$remote" "$py" "$peer" serve "$REMOTE" "$p" --quiet >/dev/null 2>&1 &
	pids+=($!)
done
wait_until 10 port_listening "$remote" 7004 || die "echo servers didn't start"
churn_rate() {	# NS SECONDS
	n "$1" "$py" "$peer" churn "$REMOTE" 7000 "$2" --parallel 4 |
		$py -c 'import json, sys; r = json.loads(sys.stdin.read())
print("%.0f %d" % (r["rate"], sum(r["errors"].values())))'
}
read -r host_rate host_err <<<"$(churn_rate "$host" 4)"
start_merd
start_guest 1500
n "$guest" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
read -r guest_rate guest_err <<<"$(churn_rate "$guest" "$churn_secs")"
read -r _ _ _ churn_fds <<<"$(merd_fds)"
churn_rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$merd_pid/status")
mkfifo "$tmp/hold.in"
exec 4<>"$tmp/hold.in"
per=$((nconc / 4))
for p in 7001 7002 7003 7004; do
	ip netns exec "$guest" "$py" "$peer" clients "$REMOTE" "$p" "$per" --size 64 --hold \
		--timeout 120 <"$tmp/hold.in" >"$tmp/hold.$p" 2>&1 &
	pids+=($!)
done
held=0
for p in 7001 7002 7003 7004; do
	wait_until 120 grep -q holding "$tmp/hold.$p" || true
	held=$((held + $($py -c 'import json, sys
print(json.loads(open(sys.argv[1]).readline())["connected"])' "$tmp/hold.$p" 2>/dev/null || echo 0)))
done
read -r _ conc_udp conc_tcp conc_fds <<<"$(merd_fds)"
conc_rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$merd_pid/status")
exec 4>&-
teardown

echo
echo "Connections per second, one server, 4 at a time, failures in brackets:"
printf '%-22s %-22s %-8s\n' "host ns (4 s)" "guest, merd (${churn_secs} s)" "ratio"
printf '%-22s %-22s %-8s\n' "$host_rate ($host_err)" "$guest_rate ($guest_err)" \
	"$($py -c "print('%.2f' % ($guest_rate / $host_rate))")"
echo "merd after the churn: $churn_fds descriptors, $churn_rss KiB resident"
echo
echo "Concurrent TCP connections, guest -> 4 ports of the remote: $held of $nconc held"
echo "merd meanwhile: $conc_fds descriptors ($conc_tcp TCP, $conc_udp UDP port holders)," \
	"$conc_rss KiB resident"

# ---- the host's own TCP, with merd holding 0 and N guest flows -------------
# Rounds of: no merd; merd with 0 guest flows; the same merd with N. The
# states alternate, so that load from elsewhere on the machine drifting over
# the minutes falls on all three alike; each number is the median of the rounds.
declare -A own
measure_own() {	# STATE
	own["$1 up"]+=" $(iperf "$host" | cut -d' ' -f1)"
	own["$1 dn"]+=" $(iperf "$host" -R | cut -d' ' -f1)"
	own["$1 up6"]+=" $(to=$REMOTE6 iperf "$host" -p 5202 | cut -d' ' -f1)"
	own["$1 dn6"]+=" $(to=$REMOTE6 iperf "$host" -p 5202 -R | cut -d' ' -f1)"
}

# open_flows: one datagram from each of N guest source ports to 40 ports of
# the remote, in bursts of 250 a tenth of a second apart (what the guest's
# tun ring can't hold is lost): N flows, sharing a few host ports
open_flows() {	# REMOTE-ADDRESS
	n "$guest" "$py" - "$1" "$nflows" <<'EOF'
import socket, sys, time
remote, n = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in remote else socket.AF_INET
for i in range(n):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 20000 + i))
    s.sendto(b"x", (remote, 9000 + i % 40))   # N distinct flows
    s.close()
    if i % 250 == 0:
        time.sleep(0.1)
EOF
}
# Flows merd started, as its trace says
flows_held() { grep -c "from guest port" "$tmp/merd.log" || true; }
all_held() { [ "$(flows_held)" -ge $((2 * nflows)) ]; }

topology 1500
ip netns exec "$remote" socat -u "UDP4-RECV:9,bind=$REMOTE" OPEN:/dev/null &
pids+=($!)
ip netns exec "$remote" socat -u "UDP6-RECV:9,bind=[$REMOTE6]" OPEN:/dev/null &
pids+=($!)
for ((r = 0; r < reps; r++)); do
	measure_own none
	start_merd --trace --timeout udp=900 --timeout udp-stream=900
	start_guest 1500
	measure_own zero
	[ "$r" -eq 0 ] && read -r raw0 udp0 tcp0 fds0 <<<"$(merd_fds)"
	t0=$(date +%s.%N)
	open_flows "$REMOTE"
	open_flows "$REMOTE6"
	wait_until 30 all_held ||
		echo "warning: merd started only $(flows_held) flows of $((2 * nflows)) (guest" \
			"tap TX drops: $(n "$guest" cat /sys/class/net/tap0/statistics/tx_dropped))"
	t1=$(date +%s.%N)
	[ "$r" -eq 0 ] && open_time=$($py -c "print($t1 - $t0)") &&
		read -r rawn udpn tcpn fdsn <<<"$(merd_fds)"
	measure_own many
	# still all there after measuring
	[ "$r" -eq 0 ] && read -r rawm udpm _ fdsm <<<"$(merd_fds)"
	stop_merd	# the pump goes with it, and its tap
done
for k in none zero many; do
	for d in up dn up6 dn6; do
		# shellcheck disable=SC2086 # a list of numbers
		own["$k $d"]=$(median ${own["$k $d"]})
	done
done
none_up=${own["none up"]} none_dn=${own["none dn"]}
zero_up=${own["zero up"]} zero_dn=${own["zero dn"]}
nflows_up=${own["many up"]} nflows_dn=${own["many dn"]}

echo
echo "Host's own TCP, host ns <-> remote (link MTU 1500), Gbit/s at the receiver,"
echo "median of $reps alternating rounds (min-max)"
printf '%-28s %-22s %-22s\n' "" "host->remote" "remote->host"
printf '%-28s %-22s %-22s\n' "no merd" "$none_up" "$none_dn"
printf '%-28s %-22s %-22s\n' "merd, 0 guest flows" "$zero_up" "$zero_dn"
printf '%-28s %-22s %-22s\n' "merd, $((2 * nflows)) guest flows" "$nflows_up" "$nflows_dn"
printf '%-28s %-22s %-22s\n' "  change vs 0 flows" "$(pct "$zero_up" "$nflows_up")" \
	"$(pct "$zero_dn" "$nflows_dn")"
printf '%-28s %-22s %-22s\n' "  change vs no merd" "$(pct "$none_up" "$nflows_up")" \
	"$(pct "$none_dn" "$nflows_dn")"
echo "The same over IPv6 (the $nflows guest flows of each family open)"
for k in none zero many; do
	case $k in
	none) label="no merd" ;;
	zero) label="merd, 0 guest flows" ;;
	many) label="merd, $((2 * nflows)) guest flows" ;;
	esac
	printf '%-28s %-22s %-22s\n' "$label" "${own["$k up6"]}" "${own["$k dn6"]}"
done
printf '%-28s %-22s %-22s\n' "  change vs 0 flows" \
	"$(pct "${own["zero up6"]}" "${own["many up6"]}")" \
	"$(pct "${own["zero dn6"]}" "${own["many dn6"]}")"

echo
echo "merd's descriptors (ss in the host namespace; /proc/PID/fd)"
printf '%-28s %-8s %-12s %-14s %-8s\n' "" "raw" "UDP sockets" "TCP listeners" "all fds"
printf '%-28s %-8s %-12s %-14s %-8s\n' "0 guest flows" "$raw0" "$udp0" "$tcp0" "$fds0"
printf '%-28s %-8s %-12s %-14s %-8s\n' "$((2 * nflows)) guest flows" "$rawn" "$udpn" "$tcpn" "$fdsn"
printf '%-28s %-8s %-12s %-14s %-8s\n' "  after the measurement" "$rawm" "$udpm" "-" "$fdsm"
printf '%s guest flows opened in %.1f s (first round), to 40 peers: they\n' \
	"$((2 * nflows))" "$open_time"
echo "share host ports, which merd holds a block at a time (TCP and UDP each)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
