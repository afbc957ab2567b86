#!/usr/bin/env bash
# The corrupt-dump corpus on one kernel's real dumps: drgn picks the kernel addresses (cached in the
# dumps directory), then corrupt-corpus.py builds each damaged case and judges skbwalk on it.
#   corrupt-corpus.sh DUMPS_DIR SKBWALK_BIN
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
D=$1; BIN=$2
. "$HERE/drgn-env.sh"
V=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["vmlinux"])' "$D/manifest.json")
H=$(cat "$HERE/corrupt-corpus.py" "$HERE/drgnkit.py" | sha256sum | cut -c1-12)
T=$D/A/corrupt-targets-$H.json
if [ ! -s "$T" ]; then
    python3 "$HERE/corrupt-corpus.py" pick --vmcore "$D/A/vmcore.elf" --vmlinux "$V" --manifest "$D/manifest.json" \
        > "$T.tmp" && mv "$T.tmp" "$T"
fi
# a filtered makedumpfile kdump (-d 31, or -d 17: its first descriptors reach the pages the walk
# reads, which the damage to "4096 descriptors" needs; sid's unfiltered -d 0 file does not); arm64
# sets have none (the host's makedumpfile reads x86-64 dumps only): QEMU's own
K=$(ls "$D"/A/vmcore.mdf-d31-zlib.kdump "$D"/A/vmcore.mdf-d17-zlib.kdump 2>/dev/null | head -n1 || true)
[ -n "$K" ] || K=$D/A/vmcore.kdump-raw-zlib
WORK=${TMPDIR:-/tmp}/skbwalk-corrupt-$$
trap 'rm -rf "$WORK"' EXIT
python3 "$HERE/corrupt-corpus.py" run --targets "$T" --bin "$BIN" --vmlinux "$V" --elf "$D/A/vmcore.elf" \
    --kdump "$K" --flat "$D/A/vmcore.kdump-zlib.flat" --work "$WORK"
