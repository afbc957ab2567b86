#!/usr/bin/env bash
# The benchmark: skbwalk against drgn (and crash, where it opens the dump) on the same dumps in the
# same run, with ratios and peak RSS. One command:
#   bench/run.sh            real 6.1 dump of the tier (socket cold/warm/BTF/dump-only, top, info,
#                           census) and the synthetic scale dumps (100 k, 1 M skbs against drgn;
#                           4 M skbs skbwalk alone, for linearity)
#   bench/run.sh --short    what CI runs: a 10 k-skb synthetic dump and the real dump's socket and
#                           top, checking that skbwalk's answers equal drgn's; no timing claims
# Needs the real tier's dumps (./test.sh makes them) and drgn (testdata/real/drgn-env.sh).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHORT=0; [ "${1:-}" = --short ] && SHORT=1
. "$REPO/testdata/real/drgn-env.sh"
. "$REPO/bench/real-dump.sh"
REAL=${SKBWALK_BENCH_DUMPS:-$HOME/.cache/skbwalk-testdata/dumps/current-6.1}
cargo build -q --release -p skbwalk-cli -p testdata --bin make-scale --bin skbwalk --manifest-path "$REPO/Cargo.toml"
BIN=$REPO/target/release/skbwalk
if [ "$SHORT" = 1 ]; then
    echo "== short mode: answers must agree"
    T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
    SCALE_DIR=$T/scale bash "$REPO/bench/scale.sh" 1000 10000 | grep -E "totals agree|MISMATCH"
    if [ -f "$REAL/manifest.json" ]; then
        real_dump "$REAL"
        python3 "$REPO/testdata/real/oracle.py" --vmcore "$D" --vmlinux "$V" --pid "$PID" --fd "$FD" --no-crosscheck > "$T/o.json"
        XDG_CACHE_HOME=$T "$BIN" --vmcore "$D" --pid "$PID" --fd "$FD" --json > "$T/s.json"
        python3 "$REPO/testdata/real/compare.py" "$T/o.json" "$T/s.json" && echo "socket pid $PID fd $FD (only the dump): skbwalk = drgn"
        python3 "$REPO/testdata/real/oracle.py" --vmcore "$D" --vmlinux "$V" --all --no-skbs --no-crosscheck > "$T/oa.json"
        XDG_CACHE_HOME=$T "$BIN" --vmcore "$D" --vmlinux "$V" top --json > "$T/t.json"
        python3 "$REPO/testdata/real/compare-top.py" "$T/oa.json" "$T/t.json" && echo "top: skbwalk = drgn"
    else
        echo "no real dumps at $REAL (./test.sh makes them): real-dump check skipped"
    fi
    exit 0
fi
echo "== real dump: $REAL (boot A)"
bash "$REPO/bench/vs-drgn.sh" "$REAL"
real_dump "$REAL"
read -r it im < <(python3 "$REPO/bench/measure.py" 5 -- "$BIN" --vmcore "$D" info --json)
awk -v t="$it" -v m="$im" 'BEGIN{ printf "%-36s skbwalk %8.4f s %7.1f MiB (no debuginfo read)\n", "info", t, m/1024 }'
if command -v crash >/dev/null; then
    printf 'net -s %s\nquit\n' "$PID" > /tmp/skbwalk-crash-cmds.$$
    if read -r ct cm < <(python3 "$REPO/bench/measure.py" 3 -- crash -s -i /tmp/skbwalk-crash-cmds.$$ "$V" "$D" 2>/dev/null); then
        read -r st sm < <(python3 "$REPO/bench/measure.py" 3 -- "$BIN" --vmcore "$D" --vmlinux "$V" --pid "$PID" --fd "$FD" --json)
        awk -v st="$st" -v sm="$sm" -v ct="$ct" -v cm="$cm" 'BEGIN{
            printf "%-36s skbwalk %8.4f s %7.1f MiB | crash %7.3f s %7.1f MiB | %6.1fx faster (crash only lists the sockets)\n",
                   "socket (crash: open + net -s PID)", st, sm/1024, ct, cm/1024, ct/st }'
    else
        echo "crash could not open $D with $V (skipped)"
    fi
    rm -f /tmp/skbwalk-crash-cmds.$$
fi
bash "$REPO/bench/census-vs-drgn.sh" "$REAL"
# the reverse-reference scan: skbwalk's census looks for a pointer to every unnamed allocation
# in one pass; crash's `search -k` looks for one page's addresses in all kernel memory, per page
if command -v crash >/dev/null; then
    T=$(mktemp -d)
    "$BIN" --vmcore "$D" --vmlinux "$V" meminfo --json > "$T/mi.json"
    read -r n va < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["census"]; r=c["referrers"]
u=[x for x in r if x["via"] == "direct_map"][0]; print(len(r) + len(c["unattributed_largest"]), hex(u["value"] & ~0xfff))' "$T/mi.json")
    printf 'search -k -m 0xfff %s\nquit\n' "$va" > "$T/cmds"
    if read -r ct cm < <(python3 "$REPO/bench/measure.py" 3 -- crash -s -i "$T/cmds" "$V" "$D" 2>/dev/null); then
        read -r st sm < <(python3 "$REPO/bench/measure.py" 3 -- "$BIN" --vmcore "$D" --vmlinux "$V" meminfo --json)
        awk -v st="$st" -v sm="$sm" -v ct="$ct" -v cm="$cm" -v n="$n" 'BEGIN{
            printf "%-36s skbwalk %8.4f s %7.1f MiB | crash %7.3f s %7.1f MiB | %6.1fx faster for %d pages than crash for 1\n",
                   "referrers (crash: open + search -k)", st, sm/1024, ct, cm/1024, ct/st, n }'
    else
        echo "crash could not open $D with $V (skipped)"
    fi
    rm -rf "$T"
fi
echo "== synthetic scale dumps"
bash "$REPO/bench/scale.sh" 10000 100000
KDUMP=1 bash "$REPO/bench/scale.sh" 100000 1000000
NO_DRGN=1 bash "$REPO/bench/scale.sh" 400000 4000000
