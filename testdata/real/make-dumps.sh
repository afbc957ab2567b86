#!/usr/bin/env bash
# Real-dump tier: produce crash dumps of a real Debian cloud kernel running the scenarios in
# scenarios/*.c, in every format we can make here.  Idempotent; everything lives under
#   $SKBWALK_TESTDATA_CACHE (default ~/.cache/skbwalk-testdata), keyed by kernel version + script hash.
# Prints the dump directory on the last line of stdout.
#
# Environment knobs:
#   SKBWALK_KERNEL   which kernel generation: 6.1 (default; Debian 12 bookworm, the machine's own apt),
#                    5.10 (Debian 11 bullseye), 6.12 (Debian 13 trixie) or sid (the newest cloud kernel
#                    Debian unstable ships, 7.2 at the time of writing) -- those three through a private
#                    apt configuration under the cache (the machine's apt sources are never changed).
#                    sid's kernel is resolved once and pinned in $CACHE/pins/sid, so later runs are
#                    repeatable; SKBWALK_REFRESH_SID=1 (or the pinned version gone from both the cache
#                    and the archive) resolves the newest again.
#                    arm64 guests (qemu-system-aarch64 -M virt under TCG, console ttyAMA0): arm64-6.1
#                    (bookworm's cloud-arm64 kernel, -cpu max,lpa2=off: 48-bit VA), arm64-6.12 (trixie's,
#                    -cpu max: 52-bit VA with LPA2) and arm64-6.12-48 (the same kernel, -cpu max,lpa2=off:
#                    48-bit) -- arm64 packages through a private apt configuration of their own
#                    (APT::Architecture=arm64; the machine's dpkg architectures never change), the scenarios
#                    cross-compiled (aarch64-linux-gnu-gcc -static), busybox from busybox-static:arm64.
#                    arm64 sets have boot A only (ELF, QEMU kdump-zlib and kdump-raw-zlib) and no
#                    makedumpfile outputs: the host's makedumpfile is an x86-64 build that cannot read arm64 dumps
#   SKBWALK_RECAPTURE=1   capture every boot again (the fresh path), keeping downloads
#   SKBWALK_KPKG     kernel package (default: the newest of that generation's cloud kernels apt knows)
#   SKBWALK_ACCEL    qemu accelerator (default tcg; kvm hangs on this machine)
#   SKBWALK_MEM      guest memory (default 768M)       SKBWALK_BOOTS  which boots (default "A B C D"; arm64 "A")
#   SKBWALK_NO_INSTALL=1  never apt-get/pip install missing tools
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SKBWALK_TESTDATA_CACHE:-$HOME/.cache/skbwalk-testdata}
ACCEL=${SKBWALK_ACCEL:-tcg}
MEM=${SKBWALK_MEM:-768M}
KGEN=${SKBWALK_KERNEL:-6.1}
ARCH=amd64   # Debian's name of the guest architecture
case $KGEN in arm64-*) ARCH=arm64;; esac
if [ $ARCH = arm64 ]; then BOOTS=${SKBWALK_BOOTS:-A}; else BOOTS=${SKBWALK_BOOTS:-A B C D}; fi
mkdir -p "$CACHE/debs" "$CACHE/kernel" "$CACHE/build" "$CACHE/dumps"
TIMINGS=()

log() { echo "[make-dumps $(date +%T)] $*" >&2; }
timed() { # timed NAME CMD...  -- run, record wall time
    local name=$1 t0 t1; shift
    t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N)
    TIMINGS+=("$name=$(printf '%.1f' "$(echo "$t1 - $t0" | bc)")")
    log "$name took $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s"
}

# ---- 0. tools --------------------------------------------------------------------------------
need_tools() {
    local missing=()
    command -v $QEMU_BIN >/dev/null || missing+=($QEMU_PKG)
    [ -x /bin/busybox ] && file -L /bin/busybox | grep static >/dev/null || missing+=(busybox-static)   # cpio
    if [ $ARCH = arm64 ]; then
        command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
        [ -d /usr/aarch64-linux-gnu/include ] || missing+=(libc6-dev-arm64-cross)
    else
        command -v makedumpfile >/dev/null || missing+=(makedumpfile)
        command -v gcc >/dev/null || missing+=(gcc libc6-dev)
    fi
    command -v bc >/dev/null || missing+=(bc)
    command -v file >/dev/null || missing+=(file)
    if [ ${#missing[@]} -gt 0 ]; then
        [ "${SKBWALK_NO_INSTALL:-0}" = 1 ] && { echo "missing tools: ${missing[*]}" >&2; exit 1; }
        log "installing ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    fi
    command -v pahole >/dev/null || missing+=(dwarves)
}
if [ $ARCH = arm64 ]; then QEMU_BIN=qemu-system-aarch64; QEMU_PKG=qemu-system-arm
else QEMU_BIN=qemu-system-x86_64; QEMU_PKG=qemu-system-x86; fi
need_tools
. "$HERE/drgn-env.sh"

# QEMU >= 8.2 writes kdump-raw-* (and Debian's builds lzo/snappy): on bookworm (QEMU 7.2) take
# bookworm-backports' qemu-system-x86 (arm64: qemu-system-arm) when that suite is reachable; otherwise
# keep 7.2 (elf, kdump-zlib).
qemu_version() { $QEMU_BIN --version | sed -n 's/^QEMU emulator version \([0-9][0-9.]*\).*/\1/p'; }
qemu_recent() { [ "$(printf '%s\n' 8.2 "$(qemu_version)" | sort -V | head -n1)" = 8.2 ]; }
prefer_backports_qemu() {
    qemu_recent && return 0
    [ "${SKBWALK_NO_INSTALL:-0}" = 1 ] && { log "QEMU $(qemu_version) < 8.2: no kdump-raw-* (SKBWALK_NO_INSTALL=1)"; return 0; }
    . /etc/os-release 2>/dev/null || true
    [ "${VERSION_CODENAME:-}" = bookworm ] || { log "QEMU $(qemu_version) < 8.2 and not bookworm: no kdump-raw-*"; return 0; }
    local list=/etc/apt/sources.list.d/skbwalk-bookworm-backports.list
    if ! grep -rqs '^deb .*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ \
        && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list.d/*.sources; then
        echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$list"
    fi
    apt-get update -qq >&2 || { log "apt-get update failed; keeping QEMU $(qemu_version)"; return 0; }
    # the other QEMU system package, when installed, moves along (both depend on one qemu-system-common)
    local pkgs=($QEMU_PKG) o
    for o in qemu-system-x86 qemu-system-arm; do
        [ $o = $QEMU_PKG ] || ! dpkg -s $o >/dev/null 2>&1 || pkgs+=($o)
    done
    if apt-cache policy $QEMU_PKG | grep 'bookworm-backports' >/dev/null; then  # not grep -q: under pipefail an early exit fails the pipe
        log "installing ${pkgs[*]} from bookworm-backports (QEMU $(qemu_version) cannot write kdump-raw-*)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports "${pkgs[@]}" >&2 \
            || log "backports $QEMU_PKG install failed; keeping QEMU $(qemu_version)"
    else
        log "bookworm-backports has no $QEMU_PKG (unreachable?); keeping QEMU $(qemu_version)"
    fi
}
prefer_backports_qemu
QEMU_VERSION=$(qemu_version)
log "QEMU $QEMU_VERSION"

# ---- 1. kernel packages (apt-get download, never installed) --------------------------------
APT=()   # extra apt options: a private configuration for suites the machine's sources do not name
case $KGEN in
    6.1)  SUITE=""; KPAT='^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' ;;
    5.10) SUITE=bullseye; KPAT='^linux-image-5\.10\.0-[0-9]+-cloud-amd64$' ;;
    6.12) SUITE=trixie; KPAT='^linux-image-6\.12\.[0-9]+\+deb13-cloud-amd64$' ;;
    # sid splits the image: linux-image-<abi> is a meta package over linux-binary-<abi> (vmlinuz under
    # /usr/lib/modules/<abi>/) and linux-modules-<abi>; the -dbg package keeps the old name
    sid)  SUITE=sid; KPAT='^linux-image-[0-9]+\.[0-9]+\.[0-9]+\+deb[0-9]+-cloud-amd64$' ;;
    # arm64: the -cpu model chooses the VA size a 52-bit kernel runs with (6.12: CONFIG_ARM64_VA_BITS_52)
    arm64-6.1)     SUITE=bookworm; CPU=max,lpa2=off; KPAT='^linux-image-6\.1\.0-[0-9]+-cloud-arm64$' ;;
    arm64-6.12)    SUITE=trixie; CPU=max; KPAT='^linux-image-6\.12\.[0-9]+\+deb13-cloud-arm64$' ;;
    arm64-6.12-48) SUITE=trixie; CPU=max,lpa2=off; KPAT='^linux-image-6\.12\.[0-9]+\+deb13-cloud-arm64$' ;;
    *) echo "SKBWALK_KERNEL=$KGEN: not one of 6.1, 5.10, 6.12, sid, arm64-6.1, arm64-6.12, arm64-6.12-48" >&2; exit 2 ;;
esac
private_apt() { # private_apt SUITE: apt options for an apt state of its own, made and refreshed here
    local d=$CACHE/apt/$1 k=/usr/share/keyrings/debian-archive-keyring.gpg
    [ $ARCH = amd64 ] || d=$CACHE/apt/$1-$ARCH
    mkdir -p "$d/lists/partial" "$d/archives/partial"
    if [ $ARCH = amd64 ]; then
        echo "deb [signed-by=$k] http://deb.debian.org/debian $1 main" > "$d/sources.list"
    else
        # another architecture: its packages only (the suite and its updates and security fixes);
        # no dpkg status, no preferences of the machine's, nothing ever installed
        { echo "deb [arch=$ARCH signed-by=$k] http://deb.debian.org/debian $1 main"
          echo "deb [arch=$ARCH signed-by=$k] http://deb.debian.org/debian $1-updates main"
          echo "deb [arch=$ARCH signed-by=$k] http://deb.debian.org/debian-security $1-security main"; } > "$d/sources.list"
    fi
    APT=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
         -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d" -o Dir::State::status=/dev/null)
    [ $ARCH = amd64 ] || APT+=(-o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH"
         -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
         -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Acquire::Languages=none)
    # a day-old list is fresh enough: the suites here are stable releases (apt stores them as *_Packages.lz4)
    if [ -z "$(find "$d/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null)" ]; then
        log "apt-get update ($1, private lists in $d)"
        apt-get "${APT[@]}" update -qq >&2
    fi
}
[ -z "$SUITE" ] || private_apt "$SUITE"
KPKG=${SKBWALK_KPKG:-}
KVER=""
PIN=$CACHE/pins/$KGEN
if [ "$KGEN" = sid ] && [ -z "$KPKG" ] && [ -s "$PIN" ] && [ "${SKBWALK_REFRESH_SID:-0}" != 1 ]; then
    read -r pkg ver < "$PIN"
    if [ -f "$CACHE/kernel/${pkg#linux-image-}-$ver/.done" ] || apt-cache "${APT[@]}" show "$pkg-dbg=$ver" >/dev/null 2>&1; then
        KPKG=$pkg; KVER=$ver; log "sid kernel pinned: $KPKG $KVER ($PIN)"
    else
        log "pinned sid kernel $pkg $ver: gone from the cache and the archive; resolving the newest"
    fi
fi
if [ -z "$KPKG" ]; then
    # the newest cloud kernel whose -dbg package apt can also fetch
    for p in $(apt-cache "${APT[@]}" search --names-only "$KPAT" | awk '{print $1}' | sort -Vr); do
        if apt-cache "${APT[@]}" show "$p-dbg" >/dev/null 2>&1; then KPKG=$p; break; fi
    done
    [ -n "$KPKG" ] || { echo "no $KGEN cloud kernel with a -dbg package known to apt (pattern $KPAT; apt-get update?)" >&2; exit 1; }
fi
KREL=${KPKG#linux-image-}                                   # e.g. 6.1.0-56-cloud-amd64
[ -n "$KVER" ] || KVER=$(apt-cache "${APT[@]}" policy "$KPKG" | awk '/Candidate:/{print $2}')  # e.g. 6.1.192-2
[ -n "$KVER" ] && [ "$KVER" != "(none)" ] || { echo "apt has no candidate for $KPKG" >&2; exit 1; }
if [ "$KGEN" = sid ]; then mkdir -p "$CACHE/pins"; echo "$KPKG $KVER" > "$PIN"; fi
KDIR=$CACHE/kernel/$KREL-$KVER
# what an unpacked kernel holds changes with the rule extract() follows: a tree unpacked by an older
# rule is unpacked again (2: the virtio core's module debug files are kept)
EXTRACTED=2
extracted() { [ "$(cat "$KDIR/.done" 2>/dev/null)" = "$EXTRACTED" ]; }
fetch_debs() {
    cd "$CACHE/debs"
    # The image: whichever of -unsigned / signed (or sid's linux-binary-[unsigned-]<abi>) holds vmlinuz.
    IMG_DEB=""; MODS_DEB=""
    for p in "$KPKG-unsigned" "$KPKG" "linux-binary-unsigned-$KREL" "linux-binary-$KREL"; do
        local deb=$(ls ${p}_${KVER}_$ARCH.deb 2>/dev/null || true)
        if [ -z "$deb" ] && apt-cache "${APT[@]}" show "$p=$KVER" >/dev/null 2>&1; then
            apt-get "${APT[@]}" download -q "$p=$KVER" >&2 2>/dev/null || apt-get "${APT[@]}" download -q "$p=$KVER" >&2
            deb=$(ls ${p}_${KVER}_$ARCH.deb 2>/dev/null || true)
        fi
        if [ -n "$deb" ] && dpkg-deb -c "$deb" | grep -F -e "boot/vmlinuz-$KREL" -e "modules/$KREL/vmlinuz" >/dev/null; then IMG_DEB=$CACHE/debs/$deb; break; fi
    done
    [ -n "$IMG_DEB" ] || { echo "no package of $KPKG $KVER holds /boot/vmlinuz" >&2; exit 1; }
    DBG_DEB=$CACHE/debs/${KPKG}-dbg_${KVER}_$ARCH.deb
    [ -f "$DBG_DEB" ] || extracted || apt-get "${APT[@]}" download -q "$KPKG-dbg=$KVER" >&2
    # the modules, when the image package does not carry them (sid: linux-modules-<abi>)
    if ! dpkg-deb -c "$IMG_DEB" | grep -F "modules/$KREL/kernel/drivers/net/virtio_net" >/dev/null; then
        local mp=linux-modules-$KREL
        MODS_DEB=$CACHE/debs/${mp}_${KVER}_$ARCH.deb
        [ -f "$MODS_DEB" ] || apt-get "${APT[@]}" download -q "$mp=$KVER" >&2
    fi
    # arm64: busybox-static:arm64 of the same suite (amd64 guests take the host's /bin/busybox)
    BUSYBOX_DEB=""
    if [ $ARCH != amd64 ]; then
        local bv; bv=$(apt-cache "${APT[@]}" policy busybox-static | awk '/Candidate:/{print $2}')
        BUSYBOX_DEB=$(ls busybox-static_*"${bv#*:}"_$ARCH.deb 2>/dev/null | head -n1 || true)
        if [ -z "$BUSYBOX_DEB" ]; then
            apt-get "${APT[@]}" download -q "busybox-static=$bv" >&2
            BUSYBOX_DEB=$(ls busybox-static_*"${bv#*:}"_$ARCH.deb | head -n1)
        fi
        BUSYBOX_DEB=$CACHE/debs/$BUSYBOX_DEB
    fi
    cd - >/dev/null
}
timed fetch fetch_debs

extract() {
    if extracted; then return; fi
    rm -rf "$KDIR"; mkdir -p "$KDIR"
    dpkg-deb -x "$IMG_DEB" "$KDIR"
    # the -dbg package without its modules' debug info (~1.2 GB unpacked per kernel, never read: drgn and
    # skbwalk load the vmlinux only): vmlinux, System.map and their links; but the virtio core's modules
    # (virtio, virtio_ring) where it is one (5.10, 6.1): owners-oracle.py reads their types for the NIC rings
    dpkg-deb --fsys-tarfile "$DBG_DEB" | tar -x -C "$KDIR"
    find "$KDIR/usr/lib/debug" \( -name '*.ko' -o -name '*.ko.*' \) \
        ! -name 'virtio.ko*' ! -name 'virtio_ring.ko*' -delete
    if [ $ARCH != amd64 ]; then
        # QEMU -kernel takes the plain Image (Debian's arm64 vmlinuz may be gzip-compressed)
        local z; z=$(ls "$KDIR/boot/vmlinuz-$KREL" "$KDIR/usr/lib/modules/$KREL/vmlinuz"* 2>/dev/null | head -n1 || true)
        if gzip -t "$z" 2>/dev/null; then gzip -dc "$z" > "$KDIR/Image"; else cp "$z" "$KDIR/Image"; fi
        mkdir -p "$KDIR/busybox"; dpkg-deb -x "$BUSYBOX_DEB" "$KDIR/busybox"
    fi
    [ -z "$MODS_DEB" ] || dpkg-deb -x "$MODS_DEB" "$KDIR"
    echo "$EXTRACTED" > "$KDIR/.done"
    # unpacked, the -dbg package (250-340 MB) is not needed again: fetch_debs skips it while $KDIR is done
    rm -f "$DBG_DEB"
}
timed extract extract
VMLINUZ=$KDIR/boot/vmlinuz-$KREL
for z in "$KDIR/usr/lib/modules/$KREL/vmlinuz" "$KDIR/usr/lib/modules/$KREL/vmlinuz.unsigned"; do
    [ -f "$VMLINUZ" ] || VMLINUZ=$z
done
[ $ARCH = amd64 ] || VMLINUZ=$KDIR/Image
VMLINUX=$KDIR/usr/lib/debug/boot/vmlinux-$KREL
[ -f "$VMLINUZ" ] && [ -f "$VMLINUX" ] || { echo "extracted tree lacks vmlinuz or vmlinux" >&2; exit 1; }

# ---- 2. key: kernel version + hash of everything that shapes the dumps ------------------------
HASH=$( (cd "$HERE" && cat make-dumps.sh capture.py capture-check.py sanity.py mod-deps.py fix-elf-phdrs.py guest/init scenarios/*.c scenarios/*.h;
         echo "qemu $QEMU_VERSION"
         # arm64-6.12 and arm64-6.12-48 boot the same kernel: the -cpu model tells their dumps apart
         [ $ARCH = amd64 ] || echo "cpu $CPU") | sha256sum | cut -c1-12)
KEY=$KREL-$KVER-$HASH
BUILD=$CACHE/build/$KEY
OUT=$CACHE/dumps/$KEY
mkdir -p "$BUILD" "$OUT"

# ---- 3. initramfs: busybox + modules + scenario programs -------------------------------------
initramfs() {
    if [ -f "$BUILD/initramfs.cpio.gz" ]; then return; fi
    local root=$BUILD/root mods=$KDIR/lib/modules/$KREL
    [ -d "$mods" ] || mods=$KDIR/usr/lib/modules/$KREL   # merged /usr (Debian 13)
    rm -rf "$root"; mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,etc,scen,lib/modules}
    if [ $ARCH = amd64 ]; then cp /bin/busybox "$root/bin/busybox"
    else cp "$(ls "$KDIR"/busybox/bin/busybox "$KDIR"/busybox/usr/bin/busybox 2>/dev/null | head -n1 || true)" "$root/bin/busybox"; fi
    ln -sf busybox "$root/bin/sh"
    cp "$HERE/guest/init" "$root/init"; chmod +x "$root/init"
    python3 "$HERE/mod-deps.py" "$mods" virtio_pci virtio_net qemu_fw_cfg tun > "$BUILD/modules.load"
    # busybox insmod takes plain ELF modules: compressed ones (.ko.xz on Debian 13) go in decompressed
    : > "$root/etc/modules.load"
    while read -r m; do
        local ko=${m%.xz}; ko=${ko%.zst}; ko=${ko%.gz}
        mkdir -p "$root/lib/modules/$(dirname "$m")"
        python3 "$HERE/mod-deps.py" --cat "$mods/$m" > "$root/lib/modules/$ko"
        echo "$ko" >> "$root/etc/modules.load"
    done < "$BUILD/modules.load"
    local cc=gcc
    [ $ARCH = amd64 ] || cc=aarch64-linux-gnu-gcc
    for c in "$HERE"/scenarios/*.c; do
        $cc -O2 -Wall -static -o "$root/scen/$(basename "$c" .c)" "$c"
    done
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$BUILD/initramfs.cpio.gz.tmp")
    mv "$BUILD/initramfs.cpio.gz.tmp" "$BUILD/initramfs.cpio.gz"
}
timed initramfs initramfs

# ---- 4. boots ---------------------------------------------------------------------------------
# A: KASLR + vmcoreinfo, every QEMU format this QEMU writes (+ makedumpfile conversions below)
# B: nokaslr + vmcoreinfo, ELF only          C: KASLR, no vmcoreinfo device, ELF only
APPEND_BASE="console=ttyS0 panic=-1 loglevel=4"
[ $ARCH = amd64 ] || APPEND_BASE="console=ttyAMA0 panic=-1 loglevel=4"
capture() { # capture NAME DIR: one boot of the scenario guest, dumps into DIR
    local name=$1 dir=$2
    local common=(--kernel "$VMLINUZ" --initrd "$BUILD/initramfs.cpio.gz" --outdir "$dir" --accel "$ACCEL")
    [ $ARCH = amd64 ] || common+=(--arch arm64 --cpu "$CPU")
    case $ARCH-$name in
        # arm64: the formats QEMU writes for aarch64 (10.0: no lzo/snappy), no makedumpfile conversions
        arm64-A) python3 "$HERE/capture.py" --vmcoreinfo --smp 2 --append "$APPEND_BASE" \
               --formats elf,kdump-zlib,kdump-raw-zlib "${common[@]}" --mem "$MEM" ;;
        *-A) python3 "$HERE/capture.py" --vmcoreinfo --smp 2 --append "$APPEND_BASE" \
               --formats elf,kdump-zlib,kdump-lzo,kdump-snappy,kdump-raw-zlib,kdump-raw-lzo,kdump-raw-snappy \
               "${common[@]}" --mem "$MEM" ;;
        *-B) python3 "$HERE/capture.py" --vmcoreinfo --append "$APPEND_BASE nokaslr skbw.pipes=big" --formats elf "${common[@]}" --mem "$MEM" ;;
        *-C) python3 "$HERE/capture.py" --append "$APPEND_BASE" --formats elf "${common[@]}" --mem "$MEM" ;;
        # D: the incident's shape — a small guest whose stalled nginx (autotuned receive buffer, see
        # scenarios/nginx.c) pins a large share of memory: 14 writes to the draining neighbour per
        # write to nginx, until nginx's window closes
        *-D) python3 "$HERE/capture.py" --vmcoreinfo --append "$APPEND_BASE skbw.incident=1" --formats elf \
               --writes 100000 --gap 0 --drain-ratio 14 "${common[@]}" --mem 256M ;;
    esac
}
# convert DIR (capture A): makedumpfile from a phdr-fixed ELF copy; rebuild QEMU's flattened files
convert() {
    local dir=$1
    if [ $ARCH != amd64 ]; then  # the host's makedumpfile reads x86-64 dumps only: QEMU's raw kdump checked, no more
        for raw in "$dir"/vmcore.kdump-raw-*; do
            [ -e "$raw" ] || continue
            python3 "$HERE/kdump-check.py" "$raw" --expect "${raw##*/vmcore.kdump-raw-}" > "$raw.check.json"
        done
        return 0
    fi
    # -d 31 drops zero, page-cache, user and free pages.  bookworm's makedumpfile (1.7.2) predates
    # 6.12's page types: with no PG_slab it takes slab pages (slab_cache overlays page->mapping) for
    # page cache and drops them, so on 6.12 and newer the filter is -d 17 (zero and free pages) only.
    local d=31
    case $KGEN in 6.12|sid) d=17;; esac
    python3 "$HERE/fix-elf-phdrs.py" "$dir/vmcore.elf" "$dir/vmcore.elf.fixed"
    makedumpfile -d $d -c "$dir/vmcore.elf.fixed" "$dir/vmcore.mdf-d$d-zlib.kdump" >&2
    makedumpfile -d $d -l "$dir/vmcore.elf.fixed" "$dir/vmcore.mdf-d$d-lzo.kdump" >&2
    # where -d 31 loses pages the walk needs, the lossy dump users of these kernels hold
    # (lossy-check.py: every answer INCOMPLETE; not a vmcore.* file: the oracle cannot read it)
    [ "$d" = 31 ] || makedumpfile -d 31 -c "$dir/vmcore.elf.fixed" "$dir/lossy-d31.kdump" >&2
    # the newest kernel also unfiltered (-d 0, every page, compressed): what makedumpfile writes
    # when told to keep everything of a kernel it does not know
    if [ "$KGEN" = sid ]; then
        makedumpfile -d 0 -c "$dir/vmcore.elf.fixed" "$dir/vmcore.mdf-d0-zlib.kdump" >&2
        python3 "$HERE/kdump-check.py" "$dir/vmcore.mdf-d0-zlib.kdump" --expect zlib > "$dir/vmcore.mdf-d0-zlib.kdump.check.json"
    fi
    rm -f "$dir/vmcore.elf.fixed"
    python3 "$HERE/kdump-check.py" "$dir/vmcore.mdf-d$d-zlib.kdump" --expect zlib > "$dir/vmcore.mdf-d$d-zlib.kdump.check.json"
    python3 "$HERE/kdump-check.py" "$dir/vmcore.mdf-d$d-lzo.kdump" --expect lzo > "$dir/vmcore.mdf-d$d-lzo.kdump.check.json"
    for flat in "$dir"/vmcore.kdump-*.flat; do
        [ -e "$flat" ] || continue
        local kind=${flat##*/vmcore.kdump-}; kind=${kind%.flat}
        makedumpfile -R "${flat%.flat}.rebuilt.kdump" < "$flat" >&2
        python3 "$HERE/kdump-check.py" "${flat%.flat}.rebuilt.kdump" --expect "$kind" > "${flat%.flat}.rebuilt.kdump.check.json"
    done
    for raw in "$dir"/vmcore.kdump-raw-*; do   # QEMU >= 8.2: already a regular diskdump file
        case $raw in *.json) continue;; esac
        [ -e "$raw" ] || continue
        python3 "$HERE/kdump-check.py" "$raw" --expect "${raw##*/vmcore.kdump-raw-}" > "$raw.check.json"
    done
}
# A capture races the guest (TCP timers, makedumpfile's view of page flags): capture.py waits for the
# guest to confirm the states the tier checks, capture-check.py applies the tier's sanity rules with drgn
# and checks drgn can walk every scenario socket of the makedumpfile dumps.  A capture that fails either
# is made again (SKBWALK_CAPTURE_ATTEMPTS, default 3), each reason kept in the boot's retries.log.
ATTEMPTS=${SKBWALK_CAPTURE_ATTEMPTS:-3}
boot() {
    local name=$1 dir=$OUT/$1 tmp=$OUT/$1.tmp attempt why
    if [ -f "$dir/capture.json" ] && [ "${SKBWALK_RECAPTURE:-0}" != 1 ]; then log "boot $name cached"; return; fi
    rm -rf "$dir" "$tmp" "$OUT/$name.retries.log"
    for attempt in $(seq 1 "$ATTEMPTS"); do
        rm -rf "$tmp"; mkdir -p "$tmp"
        if ! capture "$name" "$tmp" > "$OUT/$name.err" 2>&1; then
            cat "$OUT/$name.err" >&2
            why="capture: $(grep -v '^\s' "$OUT/$name.err" | tail -n1)"
        elif cat "$OUT/$name.err" >&2 && [ "$name" = A ] && ! convert "$tmp" 2> "$OUT/$name.err"; then
            cat "$OUT/$name.err" >&2
            why="convert: $(tail -n1 "$OUT/$name.err")"
        elif ! why=$(python3 "$HERE/capture-check.py" --dir "$tmp" --vmlinux "$VMLINUX" --generation "$KGEN" 2>&2); then
            :
        else
            [ ! -f "$OUT/$name.retries.log" ] || mv "$OUT/$name.retries.log" "$tmp/retries.log"
            rm -f "$OUT/$name.err"; mv "$tmp" "$dir"
            log "boot $name: $why (attempt $attempt)"
            return
        fi
        log "boot $name attempt $attempt failed: $why"
        echo "attempt $attempt: $why" >> "$OUT/$name.retries.log"
    done
    echo "boot $name: no usable capture in $ATTEMPTS attempts (reasons in $OUT/$name.retries.log)" >&2
    exit 1
}
for b in $BOOTS; do timed "boot_$b" boot "$b"; done

# ---- 6. manifest ---------------------------------------------------------------------------
python3 - "$OUT" "$KPKG" "$KVER" "$KREL" "$VMLINUX" "$VMLINUZ" "$HASH" "${TIMINGS[*]}" <<'PY'
import json, os, sys
out, kpkg, kver, krel, vmlinux, vmlinuz, h, timings = sys.argv[1:]
gen = os.environ.get("SKBWALK_KERNEL", "6.1")
m = {"kernel": {"package": kpkg, "version": kver, "release": krel, "vmlinux": vmlinux, "vmlinuz": vmlinuz,
                "generation": gen, "arch": "arm64" if gen.startswith("arm64-") else "amd64"},
     "script_hash": h, "boots": {}}
old = {}
if os.path.exists(os.path.join(out, "manifest.json")):
    old = json.load(open(os.path.join(out, "manifest.json")))
m["last_run_timings_s"] = {k: float(v) for k, v in (t.split("=") for t in timings.split())}
# stage timings of the runs that did the work (cached stages report ~0 s and do not overwrite)
m["timings_s"] = dict(old.get("timings_s", {}))
for k, v in m["last_run_timings_s"].items():
    if v >= 0.5 or k not in m["timings_s"]:
        m["timings_s"][k] = v
desc = {"A": "KASLR on, -device vmcoreinfo; all formats of one capture (VM stopped across dumps)",
        "B": "nokaslr, -device vmcoreinfo, skbw.pipes=big (16 MiB of unread pipes); ELF", "C": "KASLR on, no vmcoreinfo device (no VMCOREINFO note); ELF"}
for b in sorted(os.listdir(out)):
    d = os.path.join(out, b)
    if b.endswith(".tmp") or not os.path.isfile(os.path.join(d, "capture.json")):
        continue
    cap = json.load(open(os.path.join(d, "capture.json")))
    files = {}
    for f in sorted(os.listdir(d)):
        if f.startswith("vmcore.") and not f.endswith(".json"):
            files[f] = {"path": os.path.join(d, f), "bytes": os.path.getsize(os.path.join(d, f))}
            chk = os.path.join(d, f + ".check.json")
            if os.path.exists(chk):
                files[f]["check"] = json.load(open(chk))
    m["boots"][b] = {"description": desc.get(b, ""), "dir": d, "sockets": cap["sockets"],
                     "nofd_sockets": cap.get("nofd", []), "pipes": cap.get("pipes", []), "packet_rings": cap.get("packet_rings", []),
                     "trace": cap.get("trace", []), "perf_rings": cap.get("perf_rings", []),
                     "io_urings": cap.get("io_urings", []), "napi_frags": cap.get("napi_frags", []),
                     "capture": cap["capture"], "files": files}
    retries = os.path.join(d, "retries.log")
    if os.path.exists(retries):  # captures made again, and why (make-dumps.sh boot())
        m["boots"][b]["capture_retries"] = open(retries).read().splitlines()
json.dump(m, open(os.path.join(out, "manifest.json"), "w"), indent=2)
PY
ln -sfn "$KEY" "$CACHE/dumps/current-$KGEN"
[ "$KGEN" != 6.1 ] || ln -sfn "$KEY" "$CACHE/dumps/current"
log "timings: ${TIMINGS[*]}"
echo "$OUT"
