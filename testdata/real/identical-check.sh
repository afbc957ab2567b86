#!/usr/bin/env bash
# Behaviour-preserving changes, checked: two skbwalk binaries must print byte-identical output
# (stdout, stderr and exit code) for every command on every dump file of the tier's dump sets.
#
#   identical-check.sh OLD_BIN NEW_BIN DUMP_SET_DIR...
#
# Per dump file: info, top, top -n 5, meminfo, explain (each --json, and top/meminfo/explain as
# text too), and every manifest socket's --pid/--fd --all-skbs --json; with the -dbg vmlinux
# (an empty layout cache each run, so neither binary reads the other's). Prints one line per
# difference and "N runs, M differ" last; exit 1 when any differs.
set -uo pipefail
[ $# -ge 3 ] || { sed -n '2,10p' "$0"; exit 2; }
OLD=$1 NEW=$2; shift 2
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
runs=0 differ=0
run() { # run BIN OUT ARGS...: stdout, stderr and exit code into OUT.{out,err,rc}
    local bin=$1 out=$2; shift 2
    rm -rf "$WORK/cache"; mkdir -p "$WORK/cache"
    XDG_CACHE_HOME=$WORK/cache HOME=$WORK/cache timeout 600 "$bin" "$@" > "$out.out" 2> "$out.err"
    echo $? > "$out.rc"
}
for set in "$@"; do
    M=$set/manifest.json
    [ -f "$M" ] || { echo "no manifest in $set"; differ=$((differ + 1)); continue; }
    V=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["vmlinux"])' "$M")
    python3 - "$M" > "$WORK/files" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for boot, b in sorted(m["boots"].items()):
    socks = " ".join(f"{s['pid']}:{s['fd']}" for s in b["sockets"])
    for f in b["files"].values():
        print(f["path"], socks)
PY
    while read -r dump socks; do
        cmds=("info --json" "top --json" "top -n 5 --json" "top" "meminfo --json" "meminfo"
              "explain --json" "explain")
        for s in $socks; do cmds+=("--pid ${s%:*} --fd ${s#*:} --all-skbs --json"); done
        for c in "${cmds[@]}"; do
            # shellcheck disable=SC2086
            run "$OLD" "$WORK/a" --vmcore "$dump" --vmlinux "$V" $c
            # shellcheck disable=SC2086
            run "$NEW" "$WORK/b" --vmcore "$dump" --vmlinux "$V" $c
            runs=$((runs + 1))
            for x in out err rc; do
                if ! cmp -s "$WORK/a.$x" "$WORK/b.$x"; then
                    differ=$((differ + 1))
                    echo "DIFFERS ($x): $(basename "$(dirname "$dump")")/$(basename "$dump") $c"
                    diff <(head -c 20000 "$WORK/a.$x") <(head -c 20000 "$WORK/b.$x") | head -n 6
                    break
                fi
            done
        done
    done < "$WORK/files"
done
echo "$runs runs, $differ differ"
[ "$differ" -eq 0 ]
