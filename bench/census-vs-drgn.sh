#!/usr/bin/env bash
# Benchmark: the page census, skbwalk (`meminfo --json`, which also reads every counter and walks every
# socket) against drgn classifying the same pages the way a drgn user would (bench/drgn_census.py:
# for_each_page and drgn's page-flag helpers), on the same real dump in one run. Best of 3 each.
# Usage: bench/census-vs-drgn.sh [DUMP_DIR]   (default: the real tier's 6.1 capture, boot A)
# drgn's for_each_page runs to the end of the node's span, past max_pfn (the spec's bound): the extra
# pages are reserved ones; every other class must agree, and the script checks it.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$HOME/.cache/skbwalk-testdata/dumps/current-6.1}
. "$REPO/bench/real-dump.sh"
real_dump "$DIR"
cargo build -q --release -p skbwalk-cli --manifest-path "$REPO/Cargo.toml"
. "$REPO/testdata/real/drgn-env.sh"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
best() {  # best-of-3 wall seconds of "$@" (bench/measure.py), stdout of one more run kept in $T/out
    "$@" > "$T/out" 2> "$T/err" || { cat "$T/err" >&2; return 1; }
    python3 "$REPO/bench/measure.py" 3 -- "$@" | cut -d' ' -f1
}
S=$(best "$REPO/target/release/skbwalk" --vmcore "$D" --vmlinux "$V" meminfo --json); cp "$T/out" "$T/s.json"
G=$(best python3 "$REPO/bench/drgn_census.py" "$D" "$V"); cp "$T/out" "$T/d.json"
python3 - "$T/s.json" "$T/d.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["census"]; d = json.load(open(sys.argv[2]))
sc, dc = dict(s["classes"]), dict(d["classes"])
extra = d["pages"] - s["pages"]
if dc.get("reserved", 0) - sc.get("reserved", 0) != extra or {k: v for k, v in sc.items() if k != "reserved"} != {k: v for k, v in dc.items() if k != "reserved"}:
    print(f"MISMATCH: skbwalk {s['pages']} {sc} vs drgn {d['pages']} {dc}"); sys.exit(1)
print(f"classes agree ({s['pages']} pages below max_pfn; drgn also counts {extra} reserved pages past it)")
PY
awk -v s="$S" -v g="$G" 'BEGIN{ printf "skbwalk meminfo (counters + socket walk + census): %.4f s\ndrgn census (for_each_page): %.3f s\nskbwalk is %.1fx faster\n", s, g, g/s }'
