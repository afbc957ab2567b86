#!/usr/bin/env bash
# Boot L of a dump set: skbwalk --live inside a real guest (x86-64 kernels), then an ELF dump of the
# same moment.  Usage: make-live.sh DUMPDIR [SKBWALK_BINARY]
# DUMPDIR is a set make-dumps.sh made (boot A's kernel and initramfs are reused as they are); the boot
# goes to DUMPDIR/live/L-<binary hash>-<script hash>/ (older L boots of the set are removed: one
# 800 MB ELF per kernel).  Boots A-D and their key do not depend on anything here, so a new skbwalk
# binary boots L again and nothing else.  Prints the boot's directory on the last line of stdout.
#   SKBWALK_RECAPTURE_LIVE=1   boot L again even when cached
#   SKBWALK_ACCEL, SKBWALK_MEM as make-dumps.sh (defaults tcg, 768M)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DIR=$(readlink -f "$1")
BIN=$(readlink -f "${2:-$REPO/target/release/skbwalk}")
ACCEL=${SKBWALK_ACCEL:-tcg}
MEM=${SKBWALK_MEM:-768M}
log() { echo "[make-live $(date +%T)] $*" >&2; }
M=$DIR/manifest.json
[ -f "$M" ] || { echo "no manifest at $M" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no skbwalk binary at $BIN" >&2; exit 1; }
ARCH=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"].get("arch", "amd64"))' "$M")
[ "$ARCH" = amd64 ] || { echo "boot L is made for x86-64 kernels only (this set: $ARCH)" >&2; exit 2; }
VMLINUZ=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["vmlinuz"])' "$M")
CACHE=$(dirname "$(dirname "$DIR")")          # DIR is $CACHE/dumps/<key>
INITRD_A=$CACHE/build/$(basename "$DIR")/initramfs.cpio.gz
[ -f "$INITRD_A" ] || { echo "boot A's initramfs is not at $INITRD_A" >&2; exit 1; }

BHASH=$(sha256sum "$BIN" | cut -c1-12)
SHASH=$( (cd "$HERE" && cat make-live.sh capture-live.py capture.py guest/live-init guest/live-agent guest/churn.c) | sha256sum | cut -c1-12)
L=$DIR/live/L-$BHASH-$SHASH
if [ -f "$L/live.json" ] && [ "${SKBWALK_RECAPTURE_LIVE:-0}" != 1 ]; then
    log "boot L cached ($L)"; echo "$L"; exit 0
fi
mkdir -p "$DIR/live"
for old in "$DIR"/live/L-*; do
    if [ -e "$old" ] && [ "$old" != "$L" ]; then log "removing older boot L $old"; rm -rf "$old"; fi
done
rm -rf "$L" "$L.tmp"; mkdir -p "$L.tmp"

# the second cpio: skbwalk (a stripped copy), the shared libraries ldd names, the agent, the churn
# program, and a user for the not-root case
root=$L.tmp/root
mkdir -p "$root/bin" "$root/etc"
if command -v strip >/dev/null; then strip -o "$root/bin/skbwalk" "$BIN"; else cp "$BIN" "$root/bin/skbwalk"; fi
chmod 755 "$root/bin/skbwalk"
for lib in $(ldd "$BIN" | awk '/=> \//{print $3} /^[ \t]*\/[^ ]*ld-linux/{print $1}'); do
    mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
gcc -O2 -Wall -static -o "$root/bin/churn" "$HERE/guest/churn.c"
cp "$HERE/guest/live-init" "$root/live-init"; cp "$HERE/guest/live-agent" "$root/live-agent"
chmod 755 "$root/live-init" "$root/live-agent"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$L.tmp/live.cpio.gz")
cat "$INITRD_A" "$L.tmp/live.cpio.gz" > "$L.tmp/initrd"
rm -rf "$root"
log "boot L: $(basename "$BIN") $BHASH, initrd $(du -h "$L.tmp/initrd" | cut -f1) (boot A's + $(du -h "$L.tmp/live.cpio.gz" | cut -f1))"

t0=$(date +%s)
# a boot under TCG can die before the guest runs (5.10: "IO-APIC + timer doesn't work", seen in a
# fresh CI run): made again, as make-dumps.sh makes a capture again (SKBWALK_CAPTURE_ATTEMPTS)
ok=
for attempt in $(seq 1 "${SKBWALK_CAPTURE_ATTEMPTS:-3}"); do
    if nice -n 19 python3 "$HERE/capture-live.py" --kernel "$VMLINUZ" --initrd "$L.tmp/initrd" \
        --append "console=ttyS0 panic=-1 loglevel=4 rdinit=/live-init" --outdir "$L.tmp" --accel "$ACCEL" --mem "$MEM" >&2
    then
        ok=1; break
    fi
    log "boot L attempt $attempt failed: $(grep -m1 -E 'Kernel panic|RuntimeError' "$L.tmp/serial.log" 2>/dev/null)"
    echo "attempt $attempt: $(grep -m1 'Kernel panic' "$L.tmp/serial.log" 2>/dev/null || echo 'see the output above')" >> "$L.tmp/retries.log"
done
[ -n "$ok" ] || { echo "boot L: no live boot in ${SKBWALK_CAPTURE_ATTEMPTS:-3} attempts" >&2; exit 1; }
rm -f "$L.tmp/initrd"
echo "$BIN" > "$L.tmp/binary.txt"
mv "$L.tmp" "$L"
log "boot L took $(( $(date +%s) - t0 )) s"
echo "$L"
