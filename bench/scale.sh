#!/usr/bin/env bash
# Scale benchmark: a SYNTHETIC dump with SOCKETS sockets and SKBS skbs (default 100000 / 1000000);
# skbwalk `top` against drgn doing the same walk (bench/drgn_walk.py) on the same dump, in one run.
# Both print the same system totals; the script checks they are equal, then prints skbs/s, peak RSS and ratios.
# KDUMP=1 also writes the dump as a zlib kdump and times skbwalk on it (drgn's libkdumpfile does not
# open it), checking its totals equal the ELF's.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SOCKETS=${1:-100000}
SKBS=${2:-1000000}
DIR=${SCALE_DIR:-/tmp/skbwalk-scale-$SOCKETS-$SKBS}
cargo build -q --release -p testdata --bin make-scale -p skbwalk-cli --manifest-path "$REPO/Cargo.toml"
cargo build -q --release -p skbwalk-cli --manifest-path "$REPO/Cargo.toml"
KDUMP=${KDUMP:-0}
if [ ! -f "$DIR/vmcore.elf" ] || { [ "$KDUMP" = 1 ] && [ ! -f "$DIR/vmcore.kdump" ]; }; then
    FLAG=; [ "$KDUMP" = 1 ] && FLAG=--kdump
    /usr/bin/time -f "built the dump in %e s (peak %M KiB)" "$REPO/target/release/make-scale" "$DIR" "$SOCKETS" "$SKBS" $FLAG >/dev/null
    # The kernel writing gigabytes back while skbwalk runs would be timed too.
    sync
fi
echo "dump: $DIR/vmcore.elf ($(du -h "$DIR/vmcore.elf" | cut -f1)), $SOCKETS sockets, $SKBS skbs"
CACHE=$(mktemp -d); trap 'rm -rf "$CACHE"' EXIT
run() { PEAKMEM_OUT=$CACHE/time python3 "$REPO/bench/peakmem.py" "$@" > "$CACHE/out"; read -r T M A < "$CACHE/time"; }
XDG_CACHE_HOME=$CACHE run "$REPO/target/release/skbwalk" --vmcore "$DIR/vmcore.elf" --vmlinux "$DIR/kernel/vmlinux" top --json
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; t.pop("amplification"); print(json.dumps(t, sort_keys=True))' "$CACHE/out" > "$CACHE/skbwalk.json"
ST=$T; SM=$M; SA=$A
if [ "${NO_DRGN:-0}" = 1 ]; then
    awk -v n="$SKBS" -v st="$ST" -v sm="$SM" -v sa="$SA" 'BEGIN{
        printf "skbwalk top: %8.2f s  %10.0f skbs/s  peak RSS %7.1f MiB  peak anonymous %7.1f MiB (drgn not run: NO_DRGN=1)\n", st, n/st, sm/1024, sa/1024 }'
    XDG_CACHE_HOME=$CACHE run "$REPO/target/release/skbwalk" --vmcore "$DIR/vmcore.elf" --vmlinux "$DIR/kernel/vmlinux" top -n 20 --json
    awk -v n="$SKBS" -v st="$T" -v sm="$M" -v sa="$A" 'BEGIN{
        printf "skbwalk top -n 20: %8.2f s  %10.0f skbs/s  peak RSS %7.1f MiB  peak anonymous %7.1f MiB\n", st, n/st, sm/1024, sa/1024 }'
    exit 0
fi
XDG_CACHE_HOME=$CACHE run "$REPO/target/release/skbwalk" --vmcore "$DIR/vmcore.elf" --vmlinux "$DIR/kernel/vmlinux" top -n 20 --json
NT=$T; NM=$M; NA=$A
run python3 "$REPO/bench/drgn_walk.py" "$DIR/vmcore.elf" "$DIR/kernel/vmlinux"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$CACHE/out" > "$CACHE/drgn.json"
DT=$T; DM=$M; DA=$A
if ! cmp -s "$CACHE/skbwalk.json" "$CACHE/drgn.json"; then
    echo "MISMATCH: skbwalk $(cat "$CACHE/skbwalk.json") vs drgn $(cat "$CACHE/drgn.json")"; exit 1
fi
echo "totals agree: $(cat "$CACHE/skbwalk.json")"
awk -v n="$SKBS" -v st="$ST" -v sm="$SM" -v sa="$SA" -v dt="$DT" -v dm="$DM" -v da="$DA" 'BEGIN{
    printf "skbwalk top: %8.2f s  %10.0f skbs/s  peak RSS %7.1f MiB  peak anonymous %7.1f MiB\n", st, n/st, sm/1024, sa/1024
    printf "drgn walk:   %8.2f s  %10.0f skbs/s  peak RSS %7.1f MiB  peak anonymous %7.1f MiB\n", dt, n/dt, dm/1024, da/1024
    printf "skbwalk is %.1fx faster; its peak RSS is %.0f%% of drgn'"'"'s (the mapped dump'"'"'s page cache counts), its anonymous memory %.0f%%\n", dt/st, 100*sm/dm, 100*sa/da }'
awk -v n="$SKBS" -v st="$NT" -v sm="$NM" -v sa="$NA" -v dt="$DT" 'BEGIN{
    printf "skbwalk top -n 20: %6.2f s  %10.0f skbs/s  peak RSS %7.1f MiB  peak anonymous %7.1f MiB (%.1fx drgn)\n", st, n/st, sm/1024, sa/1024, dt/st }'
if [ "$KDUMP" = 1 ]; then
    XDG_CACHE_HOME=$CACHE run "$REPO/target/release/skbwalk" --vmcore "$DIR/vmcore.kdump" --vmlinux "$DIR/kernel/vmlinux" top -n 20 --json
    python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; t.pop("amplification"); print(json.dumps(t, sort_keys=True))' "$CACHE/out" > "$CACHE/kdump.json"
    if ! cmp -s "$CACHE/skbwalk.json" "$CACHE/kdump.json"; then
        echo "MISMATCH: kdump $(cat "$CACHE/kdump.json") vs ELF $(cat "$CACHE/skbwalk.json")"; exit 1
    fi
    awk -v n="$SKBS" -v st="$T" -v sm="$M" -v sa="$A" -v et="$NT" -v sz="$(du -h "$DIR/vmcore.kdump" | cut -f1)" 'BEGIN{
        printf "same dump as zlib kdump (%s): skbwalk top -n 20: %6.2f s  %10.0f skbs/s  peak RSS %7.1f MiB  peak anonymous %7.1f MiB (%.1fx the ELF time; totals equal)\n", sz, st, n/st, sm/1024, sa/1024, st/et }'
fi
