#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh - boot a throwaway qemu guest through merd, in private namespaces
#
#   guest (qemu, TCG)          host namespace                 remote namespace
#   +---------------+  stream  +----------------------+  veth  +---------------------+
#   | eth0: udhcpc  |<-------->| merd                 |h0 -- r0| gateway 10.42.0.1   |
#   | Debian kernel |  socket  | 10.42.0.2/24, MTU1400|        | web 10.42.0.100:8080|
#   +---------------+          +----------------------+        +---------------------+
#
# Nothing here touches the machine's own network: every address lives in the
# namespaces this script creates, and removes on exit, whatever happens.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tag="merd-demo-$$"
host="$tag-host"
remote="$tag-remote"
tmp=$(mktemp -d "/tmp/$tag.XXXXXX")
sock="$tmp/merd.socket"
cache="${MERD_GUEST_CACHE:-$top/test/guest/cache}"
merd_pid=

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
n() { local ns=$1; shift; echo "[$ns] $*"; ip netns exec "$ns" "$@"; }

cleanup() {
	[ -n "$merd_pid" ] && kill "$merd_pid" 2>/dev/null && wait "$merd_pid" 2>/dev/null
	for ns in "$host" "$remote"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null || true
		rm -rf "/etc/netns/$ns"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it creates namespaces)" >&2; exit 1; }

say "Building the guest: Debian's cloud kernel and a busybox initramfs"
"$top/test/guest/mkguest.sh" "$cache" >/dev/null
kernel="$cache/vmlinuz"
initrd="$cache/initramfs.cpio.gz"

say "Creating the host and remote namespaces"
for ns in "$host" "$remote"; do
	ip netns add "$ns"
	mkdir -p "/etc/netns/$ns"
	n "$ns" ip link set lo up
done
printf 'search example.test lab.example.test\nnameserver 10.42.0.1\nnameserver 10.42.0.53\n' \
	>"/etc/netns/$host/resolv.conf"
printf 'nameserver 10.42.0.1\n' >"/etc/netns/$remote/resolv.conf"
n "$host" ip link add h0 type veth peer name r0 netns "$remote"
n "$host" ip link set h0 mtu 1400 up
n "$host" ip addr add 10.42.0.2/24 dev h0
n "$host" ip route add default via 10.42.0.1
n "$remote" ip link set r0 mtu 1400 up
n "$remote" ip addr add 10.42.0.100/24 dev r0
n "$remote" ip addr add 10.42.0.1/24 dev r0

say "Starting a web server in the remote namespace"
mkdir -p "$tmp/www"
echo "<h1>Hello from the remote namespace</h1>" >"$tmp/www/index.html"
head -c 4194304 /dev/urandom >"$tmp/www/file.bin"
echo "    file.bin: $(sha256sum "$tmp/www/file.bin" | cut -c1-16)... (4 MiB)"
ip netns exec "$remote" busybox httpd -f -p 10.42.0.100:8080 -h "$tmp/www" &
disown	# killed with the namespace, without a word from bash

say "Starting merd in the host namespace"
ip netns exec "$host" "$top/merd" -f -s "$sock" 2>"$tmp/merd.log" &
merd_pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
sed 's/^/    /' "$tmp/merd.log"
[ -S "$sock" ] || { echo "demo.sh: merd didn't start" >&2; exit 1; }

say "Booting the guest with -netdev stream (about 5 s under TCG)"
script=$(base64 -w0 <<'EOF'
echo "guest$ ip -4 addr show eth0"; ip -4 addr show eth0
echo "guest$ ip route"; ip route
echo "guest$ cat /etc/resolv.conf"; cat /etc/resolv.conf
gw=$(ip route | sed -n 's/default via \([^ ]*\).*/\1/p')
echo "guest$ arping -c 1 -I eth0 $gw"; arping -c 1 -w 3 -I eth0 "$gw"
echo "guest$ ping -c 2 10.42.0.100"; ping -c 2 -W 2 10.42.0.100
echo "guest$ wget -q -O - http://10.42.0.100:8080/"
wget -q -O - http://10.42.0.100:8080/
echo "guest$ wget -q -O - http://10.42.0.100:8080/file.bin | sha256sum"
wget -q -O - http://10.42.0.100:8080/file.bin | sha256sum | cut -c1-16
EOF
)
timeout 120 qemu-system-x86_64 -accel tcg -cpu max -m 256 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 merd.script=$script" \
	-device virtio-net-pci,netdev=n0,romfile= \
	-netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$sock" |
	tr -d '\r' | sed -n '/udhcpc: started/,/MERD-DONE/p' |
	grep -v 'MERD-\(TIME\|DONE\|SCRIPT\|DHCP\)' | sed 's/^/    /'

say "Done: the guest got the host's own address, gateway, DNS, search list and
MTU, and reached the remote from the host's address"
