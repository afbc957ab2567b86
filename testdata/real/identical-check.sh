#!/usr/bin/env bash
# Behaviour-preserving changes, checked: two skbwalk binaries must print the same output (stdout,
# stderr and exit code) for every command on every dump file of the given dump sets.
#
#   identical-check.sh [--additive] OLD NEW SET...
#
# OLD and NEW: skbwalk binaries, or git revisions of this repository (built once each, in a
# worktree under $SKBWALK_IDENT_BUILD, default /tmp/skbwalk-ident). A SET is a tier dump set
# (a directory with manifest.json: every dump file of every boot, with the -dbg vmlinux and every
# manifest socket), or a testdata dump directory (vmcore.elf, vmcore.kdump if present, and
# kernel/vmlinux beside them, as bench/scale.sh and make-sample write them; the socket asked for
# is nginx's 146935:11).
# Per dump file: info, top, top -n 5, meminfo, explain (each --json, and top/meminfo/explain as
# text too), and each socket's --pid/--fd --all-skbs --json; an empty layout cache each run, so
# neither binary reads the other's.
# --additive: a JSON output may differ from OLD's only by keys NEW adds (the contracts' "add, never
# rename": every key OLD printed is there with the same value); text, stderr and exit codes must
# still be byte-identical. Such runs are counted apart ("additive").
# Prints one line per difference and "N runs, M differ[, A additive]" last; exit 1 when any differs.
set -uo pipefail
ADDITIVE=0
[ "${1:-}" = --additive ] && { ADDITIVE=1; shift; }
[ $# -ge 3 ] || { sed -n '2,19p' "$0"; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
bin_of() { # a binary as given, or the release build of a git revision
    if [ -x "$1" ] && [ -f "$1" ]; then echo "$1"; return; fi
    local rev root tree
    rev=$(git -C "$REPO" rev-parse --verify "$1^{commit}") || { echo "neither a binary nor a revision: $1" >&2; exit 2; }
    root=${SKBWALK_IDENT_BUILD:-/tmp/skbwalk-ident}; tree=$root/${rev:0:12}
    if [ ! -x "$tree/target/release/skbwalk" ]; then
        mkdir -p "$root"
        [ -d "$tree" ] || git -C "$REPO" worktree add -q --detach "$tree" "$rev" >&2
        (cd "$tree" && cargo build -q --release -p skbwalk-cli >&2) || { echo "cannot build $1" >&2; exit 2; }
    fi
    echo "$tree/target/release/skbwalk"
}
OLD=$(bin_of "$1") || exit 2
NEW=$(bin_of "$2") || exit 2
shift 2
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
runs=0 differ=0 additive=0
run() { # run BIN OUT ARGS...: stdout, stderr and exit code into OUT.{out,err,rc}
    local bin=$1 out=$2; shift 2
    rm -rf "$WORK/cache"; mkdir -p "$WORK/cache"
    XDG_CACHE_HOME=$WORK/cache HOME=$WORK/cache timeout 600 "$bin" "$@" > "$out.out" 2> "$out.err"
    echo $? > "$out.rc"
}
# OLD's JSON is contained in NEW's: same values for every key OLD has, in objects at any depth
contained() {
    python3 - "$1" "$2" <<'PY'
import json, sys
def sub(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and all(k in b and sub(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(sub(x, y) for x, y in zip(a, b))
    return a == b
try:
    sys.exit(0 if sub(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))) else 1)
except ValueError:
    sys.exit(1)
PY
}
for set in "$@"; do
    if [ -f "$set/manifest.json" ]; then
        M=$set/manifest.json
        V=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["vmlinux"])' "$M")
        python3 - "$M" > "$WORK/files" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for boot, b in sorted(m["boots"].items()):
    socks = " ".join(f"{s['pid']}:{s['fd']}" for s in b["sockets"])
    for f in b["files"].values():
        print(f["path"], socks)
PY
    elif [ -f "$set/vmcore.elf" ] && [ -f "$set/kernel/vmlinux" ]; then
        V=$set/kernel/vmlinux
        : > "$WORK/files"
        for f in "$set/vmcore.elf" "$set/vmcore.kdump"; do
            [ ! -f "$f" ] || echo "$f 146935:11" >> "$WORK/files"
        done
    else
        echo "no manifest.json and no vmcore.elf + kernel/vmlinux in $set"; differ=$((differ + 1)); continue
    fi
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
                cmp -s "$WORK/a.$x" "$WORK/b.$x" && continue
                if [ "$x" = out ] && [ $ADDITIVE = 1 ] && [[ "$c" == *--json* ]] \
                   && contained "$WORK/a.out" "$WORK/b.out" \
                   && cmp -s "$WORK/a.err" "$WORK/b.err" && cmp -s "$WORK/a.rc" "$WORK/b.rc"; then
                    additive=$((additive + 1))
                    echo "additive: $(basename "$(dirname "$dump")")/$(basename "$dump") $c:" \
                        "$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); print(" ".join(sorted(set(b) - set(a))) or "(nested keys)")' "$WORK/a.out" "$WORK/b.out")"
                    break
                fi
                differ=$((differ + 1))
                echo "DIFFERS ($x): $(basename "$(dirname "$dump")")/$(basename "$dump") $c"
                diff <(head -c 20000 "$WORK/a.$x") <(head -c 20000 "$WORK/b.$x") | head -n 6
                break
            done
        done
    done < "$WORK/files"
done
echo "$runs runs, $differ differ$([ $ADDITIVE = 0 ] || echo ", $additive additive")"
[ "$differ" -eq 0 ]
