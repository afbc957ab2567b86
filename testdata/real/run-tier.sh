#!/usr/bin/env bash
# Real-dump tier: compare skbwalk against the drgn oracle on real Debian dumps (one kernel's dump set).
#   1. make (or reuse) the dumps: make-dumps.sh
#   2. per boot, oracle.py on that capture's ELF dump (--all: every fd socket, then every sock only the
#      kernel's hash tables reach: tcp ehash incl. TIME_WAIT/NEW_SYN_RECV mini-sockets, lhash2, udp_table) (boot C: on a copy with a grafted VMCOREINFO note),
#      cached next to the dumps, keyed by the oracle's hash
#   3. oracle sanity checks (queues the scenario says are full are full, the nginx socket pins order-3 pages,
#      each process in the cgroup it read from /proc/self/cgroup,
#      the manifest's no-fd sockets -- orphan with unsent data, TIME_WAIT, NEW_SYN_RECV -- are in the walk),
#      and the oracle on makedumpfile's kdump files must agree with the oracle on the ELF
#   4. for every dump file of the capture (ELF, QEMU flattened kdump, rebuilt kdump, makedumpfile zlib/lzo)
#      and every socket in the manifest: `skbwalk --vmcore D --vmlinux V --pid P --fd F --json` vs the
#      oracle (compare.py), `skbwalk info --json` vs the dump's VMCOREINFO, `skbwalk top --json` vs the
#      oracle's --all (compare-top.py: per-socket totals, system totals with cross-socket page dedupe), and
#      byte-for-byte `skbwalk read ADDR LEN [--phys]` vs drgn's prog.read (readcheck.py: addresses drgn picks
#      on the ELF; on makedumpfile -d 31 dumps, reads of filtered pages must fail with "excluded").
# arm64 sets (make-dumps.sh SKBWALK_KERNEL=arm64-*): boot A only, no makedumpfile dumps, so the checks
# that need those (oracle-consistency on -d 31, lossy, split) are skipped, each with a "skip" line; info
# is checked against the arm64 facts of VMCOREINFO; a kernel without CONFIG_KALLSYMS_ALL (arm64 6.1)
# must refuse to run from the dump alone, in one line (debuginfo-check.py --dump-alone-fails).
# Last line: "N passed, M failed".   Knobs: SKBWALK_BIN (default <repo>/target/release/skbwalk),
# SKBWALK_DUMPS_DIR (skip make-dumps.sh, use this dump directory), SKBWALK_TIER_FILTER (regex on test names),
# SKBWALK_TIMEOUT (seconds per skbwalk run, default 300), SKBWALK_LIVE=0 (no boot L), SKBWALK_RECAPTURE_LIVE=1.
#   5. boot L (x86-64): skbwalk --live inside a guest booted like A, against skbwalk on that guest's ELF
#      dump taken right after (make-live.sh, live-check.py; cached under DIR/live/ by the binary's hash)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${SKBWALK_BIN:-$REPO/target/release/skbwalk}
FILTER=${SKBWALK_TIER_FILTER:-.}
TMO=${SKBWALK_TIMEOUT:-300}
declare -A TIME=(); STAGES=(); LAST=$(date +%s.%N)
mark() { # mark STAGE: add the time since the previous mark to STAGE
    local now; now=$(date +%s.%N)
    [ -n "${TIME[$1]:-}" ] || STAGES+=("$1")
    TIME[$1]=$(echo "${TIME[$1]:-0} + $now - $LAST" | bc); LAST=$now
}
. "$HERE/drgn-env.sh"
if [ -n "${SKBWALK_DUMPS_DIR:-}" ]; then DIR=$SKBWALK_DUMPS_DIR; else DIR=$("$HERE/make-dumps.sh" | tail -n1); fi
mark make-dumps
M=$DIR/manifest.json
[ -f "$M" ] || { echo "no manifest at $M" >&2; exit 1; }
VMLINUX=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["vmlinux"])' "$M")
# the -dbg package's System.map (Debian's /boot one is a placeholder), for dumps without kallsyms
# (sid's -dbg package keeps it beside the real vmlinux, usr/lib/debug/lib/modules/<release>/System.map)
KREL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["release"])' "$M")
SMAP=$(dirname "$VMLINUX")/System.map-$KREL
[ -f "$SMAP" ] || SMAP=$(dirname "$(readlink -f "$VMLINUX")")/System.map
OHASH=$(cat "$HERE/oracle.py" "$HERE/add-vmcoreinfo.py" "$HERE/drgnkit.py" | sha256sum | cut -c1-12)
RHASH=$(cat "$HERE/readcheck.py" "$HERE/drgnkit.py" | sha256sum | cut -c1-12)
MHASH=$(cat "$HERE/meminfo-oracle.py" | sha256sum | cut -c1-12)
CHASH=$(cat "$HERE/cgroups-oracle.py" "$HERE/meminfo-oracle.py" | sha256sum | cut -c1-12)
WHASH=$(cat "$HERE/owners-oracle.py" | sha256sum | cut -c1-12)
PASS=0; FAIL=0; FAILED=()
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT

# every test name starts with the kernel release, so the tiers of several kernels read apart
KTAG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["release"])' "$M")
KGEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"].get("generation", "6.1"))' "$M")
ARCH=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"].get("arch", "amd64"))' "$M")
# a kernel built without CONFIG_KALLSYMS_ALL (Debian's arm64 6.1): its kallsyms name no data symbols
KCONFIG=""
for c in "$(dirname "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["vmlinuz"])' "$M")")/boot/config-$KREL" \
         "${VMLINUX%/usr/lib/debug/boot/*}/boot/config-$KREL"; do [ -f "$c" ] && KCONFIG=$c && break; done
DUMP_ALONE_FAILS=
if [ -n "$KCONFIG" ] && grep -x '# CONFIG_KALLSYMS_ALL is not set' "$KCONFIG" >/dev/null; then DUMP_ALONE_FAILS=1; fi
skip() { echo "skip $KTAG $1: $2"; }
ok()   { PASS=$((PASS+1)); echo "ok   $KTAG $1"; }
bad()  { FAIL=$((FAIL+1)); FAILED+=("$KTAG $1"); echo "FAIL $KTAG $1: $2"; }
want() { [[ "$1" =~ $FILTER ]]; }
# the meminfo oracle's answer for the boot's ELF ($ELF, into $MO), once: meminfo, explain and cgroups read it
meminfo_oracle() {
    if [ ! -s "$MO" ]; then
        python3 "$HERE/meminfo-oracle.py" --vmcore "$ELF" --vmlinux "$VMLINUX" > "$MO.tmp" 2> "$WORK/err" \
            && mv "$MO.tmp" "$MO" || { rm -f "$MO.tmp"; cat "$WORK/err" >&2; }
    fi
}
# verdicts FILE NAME: count a checker's "ok NAME" / "FAIL NAME: why" lines; any other line is a
# failure of the checker itself, reported as NAME
verdicts() {
    local verdict rest
    while read -r verdict rest; do
        case $verdict in
            ok) ok "$rest";;
            FAIL) bad "${rest%%: *}" "${rest#*: }";;
            note) echo "note $KTAG $rest";;
            *) bad "$2" "$verdict $rest";;
        esac
    done < "$1"
}

for boot in $(python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["boots"])))' "$M"); do
    # boot A runs two vCPUs with the busy scenario: its meminfo must show unfolded per-CPU deltas
    if [ "$boot" = A ]; then MI_NEED_DELTAS=1; else MI_NEED_DELTAS=; fi
    # boot D is the incident's shape: explain must say the memory is in the socket queues
    if [ "$boot" = D ]; then MI_INCIDENT=1; else MI_INCIDENT=; fi
    B=$DIR/$boot; OD=$B/oracle-$OHASH
    mkdir -p "$OD"
    ELF=$B/vmcore.elf
    if [ "$boot" = C ] || ! python3 - "$ELF" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb"); eh = f.read(64); phoff, = struct.unpack_from("<Q", eh, 32); n, = struct.unpack_from("<H", eh, 56)
f.seek(phoff); ph = [struct.unpack("<IIQQQQQQ", f.read(56)) for _ in range(n)]
ok = False
for p in ph:
    if p[0] == 4:
        f.seek(p[2]); ok |= b"VMCOREINFO" in f.read(p[5])
sys.exit(0 if ok else 1)
PY
    then
        if [ ! -f "$OD/vmcore-with-vmcoreinfo.elf" ]; then
            python3 "$HERE/add-vmcoreinfo.py" "$ELF" "$OD/vmcore-with-vmcoreinfo.elf" >&2
        fi
        ELF=$OD/vmcore-with-vmcoreinfo.elf
    fi
    [ -f "$OD/info.json" ] || python3 "$HERE/oracle.py" --vmcore "$ELF" --vmlinux "$VMLINUX" --info > "$OD/info.json"
    if [ ! -s "$OD/all.json" ]; then
        python3 "$HERE/oracle.py" --vmcore "$ELF" --vmlinux "$VMLINUX" --all --no-skbs > "$OD/all.json.tmp" \
            && mv "$OD/all.json.tmp" "$OD/all.json" || rm -f "$OD/all.json.tmp"
    fi
    # addresses for the byte-for-byte read checks, and what drgn reads there (ELF; which fault on -d 31)
    RX=$OD/reads-$RHASH.json
    if [ ! -s "$RX" ]; then
        kd=(); for D in "$B"/vmcore.mdf-*.kdump; do [ -e "$D" ] && kd+=(--kdump "$D"); done
        python3 "$HERE/readcheck.py" pick --vmcore "$ELF" --vmlinux "$VMLINUX" --manifest "$M" --boot "$boot" \
            "${kd[@]}" > "$RX.tmp" 2> "$WORK/err" && mv "$RX.tmp" "$RX" || { rm -f "$RX.tmp"; cat "$WORK/err" >&2; }
    fi
    # sockets: "pid fd comm role expect"
    python3 - "$M" "$boot" > "$WORK/sockets" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["boots"][sys.argv[2]]["sockets"]:
    print(s["pid"], s["fd"], s["comm"], s["scenario"] + "/" + s["role"], s.get("expect", "-"), s.get("cgroup", "-"))
PY
    while read -r pid fd comm role expect cgroup; do
        o=$OD/$pid-$fd.json
        if [ ! -s "$o" ]; then
            python3 "$HERE/oracle.py" --vmcore "$ELF" --vmlinux "$VMLINUX" --pid "$pid" --fd "$fd" > "$o.tmp" && mv "$o.tmp" "$o"
        fi
        name="$boot oracle-sanity $role pid=$pid fd=$fd"
        if want "$name"; then
            if msg=$(python3 "$HERE/sanity.py" socket "$o" "$expect" "$comm" "$role" "$KGEN" "$cgroup"); then ok "$name"; else bad "$name" "$msg"; fi
        fi
    done < "$WORK/sockets"
    # sockets no fd reaches (manifest "nofd_sockets": the orphan with unsent data, TIME_WAIT and NEW_SYN_RECV
    # mini-sockets): the oracle's own hash-table walk (--all) must list each, in an expected state, with the
    # queue the manifest names non-empty (mini-sockets: zero totals)
    python3 - "$M" "$boot" > "$WORK/nofd" <<'PY'
import json, sys
for i, s in enumerate(json.load(open(sys.argv[1]))["boots"][sys.argv[2]].get("nofd_sockets", [])):
    print(i, s["scenario"] + "/" + s["role"], s["local"] + "-" + s["remote"])
PY
    while read -r idx role conn; do
        name="$boot oracle-sanity $role $conn"
        want "$name" || continue
        if [ ! -s "$OD/all.json" ]; then bad "$name" "oracle --all failed"; continue; fi
        if msg=$(python3 - "$M" "$boot" "$idx" "$OD/all.json" <<'PY'
import json, sys
m, boot, idx, allf = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = json.load(open(m))["boots"][boot]["nofd_sockets"][idx]
socks = json.load(open(allf))["sockets"]
hits = [r for r in socks if r.get("reached_by", "fd") != "fd" and r.get("local") == s["local"]
        and r.get("remote") == s["remote"] and r.get("family") == s["family"]]
errs = []
if len(hits) != 1:
    fd = [r for r in socks if r.get("local") == s["local"] and r.get("remote") == s["remote"]]
    errs.append(f"{len(hits)} socks without fd for {s['local']} -> {s['remote']} in the oracle's hash-table walk"
                + (f" (reached by fd: {[(r['pid'], r['fd'], r['state']) for r in fd]})" if fd else ""))
else:
    r = hits[0]
    t, q = r["totals"], r.get("queues", {})
    if r["state"] not in s["states"]: errs.append(f"state {r['state']} not in {s['states']}")
    if r["reached_by"] != "tcp_ehash": errs.append(f"reached_by {r['reached_by']} (expected tcp_ehash)")
    if r["pid"] is not None or r["fd"] is not None: errs.append("has pid/fd")
    if s["expect"] == "empty" and t["skbs"] != 0: errs.append(f"expected no skbs, found {t['skbs']}")
    if s["expect"] in ("receive", "write", "retransmit") and q.get(s["expect"], {}).get("skbs", 0) == 0:
        errs.append(f"{s['expect']} queue empty")
    if s["expect"] == "write" and not r.get("orphan"): errs.append("not an orphan (sk_socket set)")
    if r["state"] in ("TIME_WAIT", "NEW_SYN_RECV") and any(t[k] for k in ("skbs", "truesize", "pinned_bytes")):
        errs.append(f"mini-socket with non-zero totals {t}")
print("; ".join(errs)); sys.exit(1 if errs else 0)
PY
        ); then ok "$name"; else bad "$name" "$msg"; fi
    done < "$WORK/nofd"
    name="$boot oracle-sanity hash-table walk"
    if want "$name"; then
        if [ ! -s "$OD/all.json" ]; then bad "$name" "oracle --all failed"
        elif msg=$(python3 - "$OD/all.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
w = [x for x in a["warnings"] if any(t in x for t in ("ehash", "lhash2", "udp_table", "nulls"))]
n = sum(1 for s in a["sockets"] if s.get("reached_by", "fd") != "fd")
errs = (["warnings: " + "; ".join(w[:3])] if w else []) + ([] if n else ["no sock without an fd found"])
print("; ".join(errs)); sys.exit(1 if errs else 0)
PY
        ); then ok "$name"; else bad "$name" "$msg"; fi
    fi
    mark "oracle (ELF) + sanity"

    # The oracle itself on makedumpfile's dumps (drgn reads them through libkdumpfile): must equal the ELF
    # answer, i.e. `-d 31` kept every page the walk needs.  (drgn cannot open QEMU's own kdump output.)
    for D in "$B"/vmcore.mdf-*.kdump; do
        [ -e "$D" ] || continue
        dn=$(basename "$D")
        while read -r pid fd comm role expect cgroup; do
            name="$boot oracle-consistency $dn $role pid=$pid fd=$fd"
            want "$name" || continue
            o=$OD/$dn.$pid-$fd.json
            if [ ! -s "$o" ]; then
                python3 "$HERE/oracle.py" --vmcore "$D" --vmlinux "$VMLINUX" --pid "$pid" --fd "$fd" --no-crosscheck \
                    > "$o.tmp" 2> "$WORK/err" && mv "$o.tmp" "$o" || { bad "$name" "oracle failed: $(tail -n1 "$WORK/err")"; continue; }
            fi
            if msg=$(python3 "$HERE/compare.py" "$OD/$pid-$fd.json" "$o"); then ok "$name"; else bad "$name" "$msg"; fi
        done < "$WORK/sockets"
    done
    # ... and its --all (fd sockets and the hash-table walk) too
    for D in "$B"/vmcore.mdf-*.kdump; do
        [ -e "$D" ] || continue
        dn=$(basename "$D")
        name="$boot oracle-consistency $dn all"
        want "$name" || continue
        o=$OD/$dn.all.json
        if [ ! -s "$o" ]; then
            python3 "$HERE/oracle.py" --vmcore "$D" --vmlinux "$VMLINUX" --all --no-skbs --no-crosscheck \
                > "$o.tmp" 2> "$WORK/err" && mv "$o.tmp" "$o" || { bad "$name" "oracle failed: $(tail -n1 "$WORK/err")"; continue; }
        fi
        if [ ! -s "$OD/all.json" ]; then bad "$name" "oracle --all failed on the ELF"
        elif msg=$(python3 "$HERE/compare-top.py" "$OD/all.json" "$o"); then ok "$name"; else bad "$name" "$msg"; fi
    done
    [ "$ARCH" = amd64 ] || skip "$boot oracle-consistency" "no makedumpfile dumps of $ARCH kernels (the host's makedumpfile reads x86-64 dumps only)"
    mark "oracle on -d 31 kdumps"

    for D in "$B"/vmcore.*; do
        case $D in *.json) continue;; esac
        dn=$(basename "$D")
        name="$boot $dn info"
        if want "$name"; then
            if [ ! -x "$BIN" ]; then bad "$name" "skbwalk binary not found at $BIN (cargo build --release)"
            elif ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" info --json > "$WORK/info.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk exited non-zero: $(head -c 300 "$WORK/err")"
            elif msg=$(PYTHONPATH=$HERE python3 - "$OD/info.json" "$WORK/info.json" "$ARCH" "$ELF" "$D" <<'PY'
import json, struct, sys
e, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def n(v):
    if isinstance(v, str) and v.lower().startswith(("0x", "-0x")): v = int(v, 16)
    return v & (2**64 - 1) if isinstance(v, int) else v
keys = ("osrelease", "kaslr_offset", "phys_base", "page_size", "paging_levels")
if sys.argv[3] == "arm64":
    # arm64, from the ELF's VMCOREINFO: no phys_base (null); VA bits in use 64 - TCR_EL1.T1SZ, the
    # levels those take with the kernel's granule, LPA2 for 52 bits with 4/16 KiB pages; the
    # dump's page size is the kdump block size (QEMU: 64 KiB) or the kernel's for the ELF
    from drgnkit import vmcoreinfo_note
    vi = dict(l.split("=", 1) for l in vmcoreinfo_note(sys.argv[4])[1].decode().splitlines() if "=" in l)
    ps = int(vi["PAGESIZE"]); shift = ps.bit_length() - 1
    va = 64 - int(vi["NUMBER(TCR_EL1_T1SZ)"], 0)
    bs = ps
    head = open(sys.argv[5], "rb").read(8192)
    for at in (0, 4096 + 16):   # a diskdump header, at the start or in a flattened file's first record
        if head[at:at + 8] == b"KDUMP   ":
            bs, = struct.unpack_from("<i", head, at + 428)
    e = dict(e, machine="aarch64", kernel_page_size=ps, page_size=bs, va_bits=va,
             paging_levels=-(-(va - shift) // (shift - 3)), lpa2=va == 52 and ps != 65536,
             phys_offset=hex(int(vi["NUMBER(PHYS_OFFSET)"], 16)))
    keys = ("osrelease", "kaslr_offset", "phys_base", "page_size", "paging_levels", "machine",
            "kernel_page_size", "va_bits", "lpa2", "phys_offset")
for k in keys:
    if n(e.get(k)) != n(a.get(k)):
        print(f"{k}: expected {e.get(k)!r}, got {a.get(k)!r}"); sys.exit(1)
PY
            ); then ok "$name"; else bad "$name" "$msg"; fi
        fi
        # meminfo: counters (global and exact), globals and the breakdown, against drgn on the ELF
        name="$boot $dn meminfo"
        rm -f "$WORK/mi.json"
        MO=$OD/meminfo-$MHASH.json
        if want "$name" || want "$boot $dn explain"; then
            meminfo_oracle
            if [ ! -s "$MO" ]; then bad "$name" "meminfo-oracle.py failed: $(tail -n1 "$WORK/err")"
            elif ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" meminfo --json > "$WORK/mi.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk exited non-zero: $(head -c 300 "$WORK/err")"
            elif msg=$(python3 "$HERE/meminfo-oracle.py" --compare "$MO" "$WORK/mi.json" ${MI_NEED_DELTAS:+--need-deltas} --top "$OD/all.json"); then ok "$name"
            else bad "$name" "$msg"; fi
        fi
        # explain: the skb caches' usage, sockstat and the top holder, against drgn
        name="$boot $dn explain"
        rm -f "$WORK/ex.json"
        if want "$name"; then
            if [ ! -s "$MO" ]; then bad "$name" "meminfo-oracle.py failed"
            elif ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" explain --json > "$WORK/ex.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk exited non-zero: $(head -c 300 "$WORK/err")"
            elif msg=$(python3 "$HERE/meminfo-oracle.py" --compare-explain "$MO" "$WORK/ex.json" --top "$OD/all.json" \
                    ${MI_INCIDENT:+--incident}); then ok "$name"
            else bad "$name" "$msg"; fi
        fi
        # owners of allocpage the kernel's structures name: every pipe against drgn and the
        # manifest (what each pipe's process wrote); boot B's 16 MiB of pipes named by explain
        name="$boot $dn owners"
        OWN=$OD/owners-$WHASH.json
        if want "$name"; then
            if [ ! -s "$OWN" ]; then
                python3 "$HERE/owners-oracle.py" --vmcore "$ELF" --vmlinux "$VMLINUX" > "$OWN.tmp" 2> "$WORK/err" \
                    && mv "$OWN.tmp" "$OWN" || { rm -f "$OWN.tmp"; cat "$WORK/err" >&2; }
            fi
            big=; [ "$boot" = B ] && big=1
            if [ ! -s "$OWN" ]; then bad "$name" "owners-oracle.py failed: $(tail -n1 "$WORK/err")"
            elif [ ! -s "$WORK/mi.json" ] && ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" meminfo --json \
                    > "$WORK/mi.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk meminfo exited non-zero: $(head -c 300 "$WORK/err")"
            elif [ -n "$big" ] && [ ! -s "$WORK/ex.json" ] && ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" \
                    explain --json > "$WORK/ex.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk explain exited non-zero: $(head -c 300 "$WORK/err")"
            elif [ ! -s "$OD/all.json" ]; then bad "$name" "oracle --all failed"
            elif msg=$(python3 "$HERE/owners-oracle.py" --compare "$OWN" "$WORK/mi.json" --manifest "$M" --boot "$boot" --top "$OD/all.json" \
                    ${big:+--big --explain "$WORK/ex.json"}); then ok "$name"
            else bad "$name" "$msg"; fi
        fi
        # the reverse-reference scan, on the ELF (drgn reads it): every referrer's word read by
        # drgn, no image referrer missed, the unattributed share of other at most 2 % (#28)
        name="$boot $dn referrers"
        if [ "$dn" = vmcore.elf ] && want "$name"; then
            if [ ! -s "$WORK/mi.json" ] && ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" meminfo --json \
                    > "$WORK/mi.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk meminfo exited non-zero: $(head -c 300 "$WORK/err")"
            elif msg=$(python3 "$HERE/owners-oracle.py" --referrers "$WORK/mi.json" --vmcore "$ELF" --vmlinux "$VMLINUX" 2>&1); then
                ok "$name"
            else bad "$name" "$(echo "$msg" | tail -n1)"; fi
        fi
        # cgroups: every memcg's counters (global and exact), memory.current, charged pages and
        # socket pins against drgn on the ELF; explain's memcg of the top socket against the same
        name="$boot $dn cgroups"
        CO=$OD/cgroups-$CHASH.json
        if want "$name"; then
            meminfo_oracle
            if [ ! -s "$CO" ] && [ -s "$MO" ] && [ -s "$OD/all.json" ]; then
                python3 "$HERE/cgroups-oracle.py" --vmcore "$ELF" --vmlinux "$VMLINUX" --top "$OD/all.json" \
                    --census "$MO" > "$CO.tmp" 2> "$WORK/err" && mv "$CO.tmp" "$CO" || { rm -f "$CO.tmp"; cat "$WORK/err" >&2; }
            fi
            if [ ! -s "$CO" ]; then bad "$name" "cgroups-oracle.py failed: $(tail -n1 "$WORK/err")"
            elif ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" cgroups --json > "$WORK/cg.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk exited non-zero: $(head -c 300 "$WORK/err")"
            elif [ ! -s "$WORK/ex.json" ] && ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" explain --json \
                    > "$WORK/ex.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk explain exited non-zero: $(head -c 300 "$WORK/err")"
            elif msg=$(python3 "$HERE/cgroups-oracle.py" --compare "$CO" "$WORK/cg.json" --explain "$WORK/ex.json" \
                    ${MI_INCIDENT:+--incident}); then ok "$name"
            else bad "$name" "$msg"; fi
        fi
        name="$boot $dn top"
        if want "$name"; then
            if [ ! -s "$OD/all.json" ]; then bad "$name" "oracle --all failed"
            elif ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" top --json > "$WORK/top.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk exited non-zero: $(head -c 300 "$WORK/err")"
            elif msg=$(python3 "$HERE/compare-top.py" "$OD/all.json" "$WORK/top.json"); then ok "$name"
            else bad "$name" "$msg"; fi
        fi
        mark "skbwalk info+top"
        if want "$boot $dn read"; then
            if [ ! -s "$RX" ]; then bad "$boot $dn read" "readcheck.py pick failed"
            else
                python3 "$HERE/readcheck.py" run --expect "$RX" --bin "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" \
                    --timeout "$TMO" > "$WORK/reads" 2>&1 || true
                while read -r verdict rest; do
                    n="$boot $dn ${rest%%: *}"
                    want "$n" || continue
                    case $verdict in
                        ok) ok "$n";;
                        FAIL) bad "$n" "${rest#*: }";;
                        *) bad "$boot $dn read" "readcheck.py: $verdict $rest";;
                    esac
                done < "$WORK/reads"
            fi
        fi
        mark "skbwalk read vs drgn"
        while read -r pid fd comm role expect cgroup; do
            name="$boot $dn $role pid=$pid fd=$fd"
            want "$name" || continue
            if [ ! -x "$BIN" ]; then bad "$name" "skbwalk binary not found at $BIN"; continue; fi
            if ! timeout "$TMO" "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" --pid "$pid" --fd "$fd" --json \
                    > "$WORK/out.json" 2> "$WORK/err"; then
                bad "$name" "skbwalk exited non-zero: $(head -c 300 "$WORK/err")"; continue
            fi
            if msg=$(python3 "$HERE/compare.py" "$OD/$pid-$fd.json" "$WORK/out.json"); then ok "$name"
            else bad "$name" "$msg"; fi
        done < "$WORK/sockets"
        mark "skbwalk --pid/--fd"
        # The same answers whichever debuginfo answers: DWARF, the vmlinux's BTF, or the dump's own
        # BTF with its kallsyms (or the -dbg System.map where VMCOREINFO has no kallsyms tables).
        if want "$boot $dn debuginfo"; then
            SMAP_ARG=()
            # the dump alone, but for a dump without VMCOREINFO (boot C): nothing there says
            # where the kernel image is (before 6.0 the kallsyms tables are found in it)
            if ! grep -aq 'SYMBOL(_stext)' <(head -c 16M "$D") 2>/dev/null; then SMAP_ARG=(--system-map "$SMAP"); fi
            socks=(); while read -r pid fd comm role expect cgroup; do [ "$expect" = receive ] && socks+=(--socket "$pid:$fd"); done < "$WORK/sockets"
            # no KALLSYMS_ALL: the dump alone must refuse in one line; the dump's BTF answers with System.map
            DAF=(); [ -z "$DUMP_ALONE_FAILS" ] || { DAF=(--dump-alone-fails); SMAP_ARG=(--system-map "$SMAP"); }
            # no module BTF (5.10): the dump alone has no type of a module's (the virtio core's)
            NMB=(); grep -q ' btf_modules$' "$SMAP" || NMB=(--no-module-btf)
            python3 "$HERE/debuginfo-check.py" --bin "$BIN" --vmcore "$D" --vmlinux "$VMLINUX" "${SMAP_ARG[@]}" \
                "${DAF[@]}" "${NMB[@]}" "${socks[@]:0:4}" --timeout "$TMO" --prefix "$boot $dn " > "$WORK/di" 2>&1 || true
            verdicts "$WORK/di" "$boot $dn debuginfo (debuginfo-check.py)"
        fi
        mark "debuginfo sources"
    done
done
# boot A's stalled nginx socket, PID:FD
NG=$(python3 -c 'import json,sys; s=[s for s in json.load(open(sys.argv[1]))["boots"].get("A", {}).get("sockets", []) if s["comm"] == "nginx" and s["role"] == "server"]; print("%d:%d" % (s[0]["pid"], s[0]["fd"]) if s else "")' "$M")
# No kernel fact chosen by release: boot A's ELF with OSRELEASE flipped in VMCOREINFO answers alike
if want "A release-flip" && [ -f "$DIR/A/vmcore.elf" ]; then
    python3 "$HERE/release-flip-check.py" --bin "$BIN" --vmcore "$DIR/A/vmcore.elf" --vmlinux "$VMLINUX" \
        --socket "$NG" --prefix "A " > "$WORK/flip" 2>&1 || true
    verdicts "$WORK/flip" "A release-flip (release-flip-check.py)"
    mark "release flip"
fi
# makedumpfile -d 31 of a kernel it does not know (6.12, sid): every answer INCOMPLETE, named
if want "A lossy" && [ -f "$DIR/A/lossy-d31.kdump" ]; then
    python3 "$HERE/lossy-check.py" --bin "$BIN" --vmcore "$DIR/A/lossy-d31.kdump" --vmlinux "$VMLINUX" \
        --socket "$NG" --prefix "A " > "$WORK/lossy" 2>&1 || true
    verdicts "$WORK/lossy" "A lossy-d31 (lossy-check.py)"
    mark "lossy -d 31"
elif want "A lossy" && [ "$ARCH" != amd64 ]; then
    skip "A lossy" "no makedumpfile -d 31 dump of $ARCH kernels (the host's makedumpfile reads x86-64 dumps only)"
fi
# makedumpfile --split sets of boot A (2 parts zlib, 3 parts lzo, -d 31) read as the single files
if want "split" && [ "$ARCH" != amd64 ]; then
    skip "A split" "no makedumpfile --split sets of $ARCH kernels (the host's makedumpfile reads x86-64 dumps only)"
elif want "split"; then
    python3 "$HERE/split-check.py" --bin "$BIN" --boot "$DIR/A" --manifest "$M" --vmlinux "$VMLINUX" \
        --timeout "$TMO" --prefix "A " > "$WORK/split" 2>&1 || true
    verdicts "$WORK/split" "A split (split-check.py)"
    mark "split sets"
fi
# boot L: skbwalk --live inside a guest of this kernel (boot A's kernel and initramfs, skbwalk added as a
# second cpio), against skbwalk on the ELF dump taken right after (make-live.sh, live-check.py; cached
# by the binary's hash).  x86-64 only: no aarch64 build of skbwalk here.
if want "L live" && [ "$ARCH" != amd64 ]; then
    skip "L live" "no aarch64 build of skbwalk on this machine to run in an $ARCH guest"
elif want "L live" && [ "${SKBWALK_LIVE:-1}" = 0 ]; then
    skip "L live" "SKBWALK_LIVE=0"
elif want "L live"; then
    if ! LDIR=$(bash "$HERE/make-live.sh" "$DIR" "$BIN" | tail -n1) || [ ! -f "$LDIR/live.json" ]; then
        bad "L live boot" "make-live.sh failed (its output above)"
    else
        python3 "$HERE/live-check.py" --live-dir "$LDIR" --bin "$BIN" --vmlinux "$VMLINUX" --timeout "$TMO" \
            --prefix "L " > "$WORK/live" 2>&1 || true
        verdicts "$WORK/live" "L live (live-check.py)"
    fi
    mark "boot L (live)"
fi
for st in "${STAGES[@]}"; do printf 'time %-26s %6.1f s\n' "$st" "${TIME[$st]}"; done
if [ $FAIL -gt 0 ]; then
    echo "failed tests:"; printf '  %s\n' "${FAILED[@]}" | head -n 50
fi
echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
