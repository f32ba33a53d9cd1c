#!/bin/bash
# mkguest.sh OUTDIR - build the tiny qemu guest used by merd's tests:
#   OUTDIR/vmlinuz            Debian's cloud kernel (extracted, never installed)
#   OUTDIR/initramfs.cpio.gz  busybox-static + virtio-net modules + /init + udhcpc hook
#
# Needs on Debian 12:  apt-get install busybox-static cpio
#   (apt, dpkg and gzip are always there; qemu-system-x86 is needed to *run* the guest.
#    xz-utils/zstd are optional: busybox's own unxz handles .ko.xz modules.)
# Needs the apt lists (`apt-get update`); as root the script runs it itself if the kernel
# package cannot be found. Only Debian's mirrors are contacted, through apt-get download.
#
# Cached: does nothing if both outputs exist and are newer than this script, ./init and
# ./udhcpc.script. The downloaded .deb is kept in OUTDIR/deb. Safe to run concurrently
# (flock on OUTDIR/.lock). Environment:
#   MERD_GUEST_KERNEL_PKG  kernel package to use instead of the automatic choice
#   MERD_BUSYBOX           busybox binary to put in the guest (default: /bin/busybox)
set -euo pipefail

trap 'echo "mkguest: error: command failed at line $LINENO" >&2' ERR
die() { echo "mkguest: error: $*" >&2; exit 1; }
log() { echo "mkguest: $*" >&2; }

[[ $# -eq 1 && -n $1 ]] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUT=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INPUTS=("$HERE/mkguest.sh" "$HERE/init" "$HERE/udhcpc.script")
for f in "${INPUTS[@]}"; do [[ -r $f ]] || die "missing input file $f"; done

up_to_date() {
    local o i
    for o in "$OUT/vmlinuz" "$OUT/initramfs.cpio.gz"; do
        [[ -s $o ]] || return 1
        for i in "${INPUTS[@]}"; do [[ $o -nt $i ]] || return 1; done
    done
}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
up_to_date && exit 0

# Serialize parallel builds (e.g. several test processes) into the same OUTDIR.
if command -v flock >/dev/null; then
    exec 9>"$OUT/.lock"
    flock 9
    up_to_date && exit 0
fi

for t in apt-get apt-cache dpkg dpkg-deb cpio gzip find sort; do
    command -v "$t" >/dev/null || die "'$t' not found (apt-get install apt dpkg cpio gzip findutils coreutils)"
done

BB=${MERD_BUSYBOX:-/bin/busybox}
[[ -x $BB ]] || BB=$(command -v busybox || true)
[[ -n $BB && -x $BB ]] || die "busybox not found: apt-get install busybox-static"
# The initramfs has no libc, so busybox must be the static build: refuse an ELF with a
# PT_INTERP (dynamic loader) program header.
has_interp() {
    local phoff phentsize phnum i
    phoff=$(od -An -j32 -N8 -t u8 "$1" | tr -d ' ')
    phentsize=$(od -An -j54 -N2 -t u2 "$1" | tr -d ' ')
    phnum=$(od -An -j56 -N2 -t u2 "$1" | tr -d ' ')
    for ((i = 0; i < phnum; i++)); do
        [[ $(od -An -j$((phoff + i * phentsize)) -N4 -t u4 "$1" | tr -d ' ') == 3 ]] && return 0
    done
    return 1
}
has_interp "$BB" && die "$BB is dynamically linked: apt-get install busybox-static"

# ---- choose the kernel package ---------------------------------------------------------
candidate_of() { apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }'; }
available() { local c; c=$(candidate_of "$1"); [[ -n $c && $c != "(none)" ]]; }

pick_kernel_pkg() {
    local dep p
    if [[ -n ${MERD_GUEST_KERNEL_PKG:-} ]]; then
        available "$MERD_GUEST_KERNEL_PKG" && { echo "$MERD_GUEST_KERNEL_PKG"; return 0; }
        return 1
    fi
    # The metapackage points at the current stable ABI (signed image); the -unsigned
    # package holds the same kernel without the signature dance.
    dep=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
          awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64/ { print $2; exit }')
    for p in ${dep:+"$dep-unsigned" "$dep"}; do
        available "$p" && { echo "$p"; return 0; }
    done
    # Fallback: newest -unsigned cloud image apt knows about.
    for p in $(apt-cache pkgnames linux-image- 2>/dev/null |
               grep -E '^linux-image-.*-cloud-amd64-unsigned$' | sort -rV); do
        available "$p" && { echo "$p"; return 0; }
    done
    return 1
}

PKG=$(pick_kernel_pkg) || {
    if [[ $EUID -eq 0 ]]; then
        log "kernel package not found in apt lists; running apt-get update"
        apt-get update -qq >&2 || die "apt-get update failed"
        PKG=$(pick_kernel_pkg) || die "no linux-image-*-cloud-amd64-unsigned package available${MERD_GUEST_KERNEL_PKG:+ (asked for $MERD_GUEST_KERNEL_PKG)}"
    else
        die "no linux-image-*-cloud-amd64-unsigned package in apt lists (run apt-get update as root)"
    fi
}
VER=$(candidate_of "$PKG")
log "kernel package $PKG $VER"

# ---- download (cached) and extract --------------------------------------------------------
mkdir -p "$OUT/deb"
DEB=$(find "$OUT/deb" -maxdepth 1 -name "${PKG}_${VER//:/%3a}_*.deb" | head -n1)
if [[ -z $DEB ]]; then
    # As root apt would try to drop to user _apt, which cannot write OUTDIR: stay root.
    aptopt=()
    [[ $EUID -eq 0 ]] && aptopt=(-o APT::Sandbox::User=root)
    (cd "$OUT/deb" && apt-get -q "${aptopt[@]}" download "$PKG=$VER" >&2) ||
        die "apt-get download $PKG=$VER failed"
    DEB=$(find "$OUT/deb" -maxdepth 1 -name "${PKG}_${VER//:/%3a}_*.deb" | head -n1)
    [[ -n $DEB ]] || die "apt-get download left no ${PKG}_${VER}_*.deb in $OUT/deb"
    # Drop stale kernels so the cache does not grow with every kernel update.
    find "$OUT/deb" -maxdepth 1 -name '*.deb' ! -samefile "$DEB" -delete
fi

WORK=$(mktemp -d "$OUT/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
dpkg -x "$DEB" "$WORK/pkg" || die "dpkg -x $DEB failed"

KIMG=$(find "$WORK/pkg/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n1)
[[ -n $KIMG ]] || die "no /boot/vmlinuz-* in $DEB"
MODDIR=$(find "$WORK/pkg/lib/modules" "$WORK/pkg/usr/lib/modules" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n1 || true)
[[ -n $MODDIR ]] || die "no lib/modules/<version> in $DEB"

# ---- initramfs tree -----------------------------------------------------------------------
R=$WORK/root
mkdir -p "$R"/{bin,dev,proc,sys,tmp,etc,run,lib/modules}
ln -s bin "$R/sbin"
mkdir -p "$R/usr"
ln -s ../bin "$R/usr/bin"
ln -s ../bin "$R/usr/sbin"
cp "$BB" "$R/bin/busybox"
for a in $("$BB" --list); do
    [[ $a == busybox ]] || ln -sf busybox "$R/bin/$a"
done
install -m 0755 "$HERE/init" "$R/init"
install -m 0755 "$HERE/udhcpc.script" "$R/udhcpc.script"
# Only root can mknod; /init reopens the console from devtmpfs anyway.
mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true

# Modules: copy each one (decompressed: busybox insmod cannot read .ko.xz/.ko.zst) after
# its dependencies, read from the module's own .modinfo "depends=" string (no kmod here).
declare -A SEEN=()
ORDER=()
is_builtin() {
    [[ -r $MODDIR/modules.builtin ]] &&
        grep -qE "/(${1}|${1//_/-})\.ko\$" "$MODDIR/modules.builtin"
}
find_mod() {
    find "$MODDIR/kernel" -type f \( -name "$1.ko*" -o -name "${1//_/-}.ko*" \) | head -n1
}
decompress() {  # SRC DST
    case $1 in
    *.ko) cp "$1" "$2" ;;
    *.ko.xz) if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else "$BB" xzcat "$1" >"$2"; fi ;;
    *.ko.gz) gzip -dc "$1" >"$2" ;;
    *.ko.zst) command -v zstd >/dev/null || die "$1 is zstd-compressed: apt-get install zstd"
              zstd -qdc "$1" >"$2" ;;
    *) die "unknown module format: $1" ;;
    esac
}
add_mod() {  # NAME [optional]
    local name=$1 f deps d
    [[ -n ${SEEN[$name]:-} ]] && return 0
    SEEN[$name]=1
    is_builtin "$name" && return 0
    f=$(find_mod "$name")
    if [[ -z $f ]]; then
        [[ ${2:-} == optional ]] && return 0
        die "kernel module $name not found in $DEB"
    fi
    decompress "$f" "$R/lib/modules/$name.ko"
    deps=$(tr '\0' '\n' <"$R/lib/modules/$name.ko" | sed -n 's/^depends=//p' | head -n1)
    for d in ${deps//,/ }; do add_mod "$d"; done
    ORDER+=("$name")
}
add_mod virtio_pci
add_mod virtio_net
add_mod qemu_fw_cfg optional   # lets qemu_guest.py pass long scripts via -fw_cfg
printf '%s\n' "${ORDER[@]}" >"$R/lib/modules/order"
log "modules: ${ORDER[*]:-(all built in)}"

# ---- outputs (written atomically: a killed build never leaves a half file) -------------
cp "$KIMG" "$WORK/vmlinuz"
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) |
    gzip -n -6 >"$WORK/initramfs.cpio.gz"
echo "$PKG $VER" >"$WORK/kernel-package"
mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
mv -f "$WORK/kernel-package" "$OUT/kernel-package"
mv -f "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"   # last: its mtime marks completion
log "built $OUT/vmlinuz and $OUT/initramfs.cpio.gz"
