#!/usr/bin/env bash
# Benchmark: skbwalk against drgn doing the same walk (testdata/real/oracle.py) on the same real dump, in one run.
# Usage: bench/vs-drgn.sh [DUMP_DIR]   (default: the real tier's current capture, boot A)
# Prints wall time and peak RSS of each, best of 3, and the ratios. Needs drgn (pip install drgn).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$HOME/.cache/skbwalk-testdata/dumps/current}
. "$REPO/bench/real-dump.sh"
real_dump "$DIR"
cargo build -q --release -p skbwalk-cli --manifest-path "$REPO/Cargo.toml"
BIN=$REPO/target/release/skbwalk
ORACLE=$REPO/testdata/real/oracle.py
CACHE=$(mktemp -d); trap 'rm -rf "$CACHE"' EXIT

# best-of-5 "seconds maxrss_kib" of a command (bench/measure.py: wall time from fork to exit, the
# child's ru_maxrss); COLD=1 empties the layout cache before each run
measure() {
    if [ "${COLD:-0}" = 1 ]; then python3 "$REPO/bench/measure.py" 5 --cold "$CACHE/skbwalk" -- "$@"
    else python3 "$REPO/bench/measure.py" 5 -- "$@"; fi
}

row() { # name skbwalk(t m) drgn(t m)
    awk -v n="$1" -v st="$2" -v sm="$3" -v dt="$4" -v dm="$5" 'BEGIN{
        printf "%-36s skbwalk %8.4f s %7.1f MiB | drgn %7.3f s %7.1f MiB | %6.1fx faster, %5.1f%% of the memory\n",
               n, st, sm/1024, dt, dm/1024, (st>0?dt/st:0), (dm>0?100*sm/dm:0) }'
}

echo "dump: $D ($(du -h "$D" | cut -f1)); vmlinux: $V"
echo "socket: pid $PID fd $FD"
read -r dt dm < <(measure python3 "$ORACLE" --vmcore "$D" --vmlinux "$V" --pid "$PID" --fd "$FD" --no-crosscheck)
read -r xt xm < <(COLD=1 XDG_CACHE_HOME=$CACHE measure "$BIN" --vmcore "$D" --vmlinux "$V" --types dwarf --pid "$PID" --fd "$FD" --json)
read -r ct cm < <(COLD=1 XDG_CACHE_HOME=$CACHE measure "$BIN" --vmcore "$D" --vmlinux "$V" --pid "$PID" --fd "$FD" --json)
read -r wt wm < <(XDG_CACHE_HOME=$CACHE measure "$BIN" --vmcore "$D" --vmlinux "$V" --pid "$PID" --fd "$FD" --json)
read -r nt nm < <(COLD=1 XDG_CACHE_HOME=$CACHE measure "$BIN" --vmcore "$D" --pid "$PID" --fd "$FD" --json)
row "socket report, cold, DWARF" "$xt" "$xm" "$dt" "$dm"
row "socket report, cold, BTF (default)" "$ct" "$cm" "$dt" "$dm"
row "socket report, warm layout cache" "$wt" "$wm" "$dt" "$dm"
row "socket report, only the dump" "$nt" "$nm" "$dt" "$dm"
read -r dt dm < <(measure python3 "$ORACLE" --vmcore "$D" --vmlinux "$V" --all --no-skbs --no-crosscheck)
read -r ct cm < <(COLD=1 XDG_CACHE_HOME=$CACHE measure "$BIN" --vmcore "$D" --vmlinux "$V" top --json)
read -r wt wm < <(XDG_CACHE_HOME=$CACHE measure "$BIN" --vmcore "$D" --vmlinux "$V" top --json)
row "top (every socket), cold cache" "$ct" "$cm" "$dt" "$dm"
row "top (every socket), warm cache" "$wt" "$wm" "$dt" "$dm"
