#!/usr/bin/env bash
# The whole test suite: formatting, lints, the fast tier (unit, synthetic-dump and CLI tests), then the
# real-dump tier (real Debian 5.10, 6.1, 6.12 and sid x86-64 dumps and 6.1 and 6.12 arm64 dumps made in
# QEMU, compared field by field with the drgn oracle; for each x86-64 kernel run-tier.sh also boots L:
# skbwalk --live inside the guest against a dump of the same moment, SKBWALK_LIVE=0 to skip it).
#   SKBWALK_SKIP_REAL=1          run only the fast tier
#   SKBWALK_KERNELS="6.1 ..."    which real kernels (default: 5.10 6.1 6.12 sid arm64-6.1 arm64-6.12
#                                arm64-6.12-48; sid is the newest cloud kernel Debian unstable ships,
#                                pinned once resolved; arm64-*: Debian's cloud-arm64 kernels under
#                                qemu-system-aarch64, 6.12 with 52-bit VA + LPA2 and with 48-bit VA)
#   SKBWALK_RECAPTURE_KERNELS="6.1"  capture these kernels' dumps again from scratch (the fresh path;
#                                downloads are kept), instead of reusing the cached dumps
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)
KERNELS=${SKBWALK_KERNELS:-5.10 6.1 6.12 sid arm64-6.1 arm64-6.12 arm64-6.12-48}
# The real tier's dumps are made by QEMU (one guest at a time, one kernel after the other) in the
# background from the start, beside the fast tier and then beside the checks of the kernels whose
# dumps are ready: target/dumps-<kernel>.{log,dir,rc}. The checks are the critical path, so the
# producer runs niced: it takes the CPU they leave (the guests confirm their states before a dump
# is taken, so a slower guest changes no verdict).
producer=""
if [ "${SKBWALK_SKIP_REAL:-0}" != 1 ]; then
    mkdir -p target
    for kgen in $KERNELS; do rm -f "target/dumps-$kgen.rc" "target/dumps-$kgen.dir"; done
    . testdata/real/drgn-env.sh   # capture-check reads the captures with drgn
    set -m                        # the producer gets a process group of its own, to stop it whole
    (
        for kgen in $KERNELS; do
            recapture=0
            for k in ${SKBWALK_RECAPTURE_KERNELS:-}; do [ "$k" != "$kgen" ] || recapture=1; done
            t0=$(date +%s)
            rc=0
            SKBWALK_KERNEL=$kgen SKBWALK_RECAPTURE=$recapture nice -n 10 bash testdata/real/make-dumps.sh \
                > "target/dumps-$kgen.out" 2> "target/dumps-$kgen.log" || rc=$?
            tail -n1 "target/dumps-$kgen.out" > "target/dumps-$kgen.dir"
            echo "dumps for $kgen ($([ $recapture = 1 ] && echo "captured again" || echo "made or reused")): $(( $(date +%s) - t0 )) s" >> "target/dumps-$kgen.log"
            echo "$rc" > "target/dumps-$kgen.rc"
        done
    ) &
    producer=$!
    set +m
    trap '[ -z "$producer" ] || kill -- -"$producer" 2>/dev/null || true' EXIT
fi
# The disk: the tier's cache and QEMU's dumps share it; a full disk fails dumps and copies midway. Its
# free space is sampled every 10 s (target/disk.log) and the least of it printed at the end.
CACHE=${SKBWALK_TESTDATA_CACHE:-$HOME/.cache/skbwalk-testdata}
mkdir -p target "$CACHE"
( while :; do df -B1M --output=avail "$CACHE" | tail -n1; sleep 10; done ) > target/disk.log 2>/dev/null &
disk_sampler=$!
trap '[ -z "$producer" ] || kill -- -"$producer" 2>/dev/null || true; kill $disk_sampler 2>/dev/null || true' EXIT
echo "== fast tier"
cargo fmt --all -- --check
python3 tools/import-circles.py      # no circle of imports inside any crate
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q
mkdir -p target
# test scratch files (CARGO_TARGET_TMPDIR) from earlier runs
rm -rf target/tmp
cargo test --workspace 2>&1 | tee target/fast-tier.log
# this machine's own kernel BTF, where it has one
if [ -r /sys/kernel/btf/vmlinux ]; then
    cargo test -q -p kstructs --test btf this_machines_kernel_btf -- --ignored 2>&1 | tee -a target/fast-tier.log
fi
# the library as another tool uses it: skbwalk/examples/amplified.rs on the bundled sample
cargo build -q --release -p testdata --bin make-sample
[ target/sample/vmcore.elf -nt target/release/make-sample ] || ./target/release/make-sample target/sample >/dev/null
cargo run -q -p skbwalk --example amplified -- target/sample/vmcore.elf target/sample/kernel/vmlinux 3 \
    | tee target/example.log
grep -q 'nginx' target/example.log || { echo "the example did not find nginx's socket"; exit 1; }
echo "fast tier: $(( $(date +%s) - start )) s"
if [ "${SKBWALK_SKIP_REAL:-0}" = 1 ]; then
    echo "real-dump tier skipped (SKBWALK_SKIP_REAL=1)"
    exit 0
fi
echo "== real-dump tier"
cargo build --release -p skbwalk-cli
# The checks of one kernel are mostly one core's work (drgn, one guest at a time): two lanes check
# two kernels at once, each kernel into target/checks-<kernel>.log with its counts in
# target/checks-<kernel>.result, printed in order once every lane is done. A lane that stops
# (a cargo test failing under set -e) leaves its kernels without a result: each counts as failed.
check_kernel() { # check_kernel KERNEL: wait for its dumps, then every check of the tier on them
    local kgen=$1 t0 dumps log clog p f pass=0 fail=0
    echo "== real-dump tier: Linux $kgen"
    t0=$(date +%s)
    while [ ! -s "target/dumps-$kgen.rc" ] && kill -0 "$producer" 2>/dev/null; do sleep 2; done
    cat "target/dumps-$kgen.log" 2>/dev/null || true
    echo "waited $(( $(date +%s) - t0 )) s for them"
    if [ "$(cat "target/dumps-$kgen.rc" 2>/dev/null)" != 0 ]; then
        echo "make-dumps.sh failed for $kgen (log above)"; echo "0 1" > "target/checks-$kgen.result"; return
    fi
    dumps=$(cat "target/dumps-$kgen.dir")
    SKBWALK_VMLINUX=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["vmlinux"])' "$dumps/manifest.json")
    export SKBWALK_VMLINUX
    # Every member the walk uses, on the real Debian vmlinux, against pahole.
    cargo test --release -p kstructs --test real_vmlinux -- --include-ignored
    # What the oracle does not cover (kernel hash tables, the globals table, BTF and kallsyms
    # answers), on the same dumps: the real-dump integration tests and the unit tests that
    # read the tier's dumps (arm64 sets: boot A, x86-64 sets: every boot).
    SKBWALK_DUMPS_DIR=$dumps cargo test --release -p skbwalk --test real_dumps --lib -- --include-ignored
    log=target/real-tier-$kgen.log
    SKBWALK_DUMPS_DIR=$dumps bash testdata/real/run-tier.sh > "$log" 2>&1 || true
    cat "$log"
    read -r p f < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -n1)
    [ -n "${p:-}" ] || { echo "real-dump tier for $kgen printed no result"; p=0; f=1; }
    pass=$((pass + p)); fail=$((fail + f))
    # The corrupt-dump corpus: damaged copies of this kernel's boot-A dumps (README lists the cases).
    clog=target/corrupt-corpus-$kgen.log
    bash testdata/real/corrupt-corpus.sh "$dumps" target/release/skbwalk > "$clog" 2>&1 || true
    cat "$clog"
    p=$(grep -c '^ok ' "$clog" || true); f=$(grep -c '^FAIL ' "$clog" || true)
    [ "$p" -ge 50 ] || { echo "corrupt corpus for $kgen: only $p cases passed"; f=$((f + 1)); }
    echo "corrupt corpus ($kgen): $p passed, $f failed"
    pass=$((pass + p)); fail=$((fail + f))
    echo "$pass $fail" > "target/checks-$kgen.result"
}
lane() { for kgen in "$@"; do check_kernel "$kgen" > "target/checks-$kgen.log" 2>&1; done; }
set -- $KERNELS
lane1=(); lane2=()
while [ $# -gt 0 ]; do lane1+=("$1"); shift; [ $# -eq 0 ] || { lane2+=("$1"); shift; }; done
for kgen in $KERNELS; do rm -f "target/checks-$kgen.result" "target/checks-$kgen.log"; done
lane "${lane1[@]}" & l1=$!
l2=""
if [ ${#lane2[@]} -gt 0 ]; then lane "${lane2[@]}" & l2=$!; fi
# both lanes, and the producer (by pid: a bare wait would wait for the disk sampler too)
wait "$l1" || true
[ -z "$l2" ] || wait "$l2" || true
[ -z "$producer" ] || wait "$producer" 2>/dev/null || true
pass=0; fail=0
for kgen in $KERNELS; do
    cat "target/checks-$kgen.log" 2>/dev/null || true
    if read -r p f < "target/checks-$kgen.result" 2>/dev/null; then
        pass=$((pass + p)); fail=$((fail + f))
    else
        echo "the checks of $kgen stopped before their end (log above)"; fail=$((fail + 1))
    fi
done
# the benchmark's short mode: skbwalk's answers equal drgn's on a scale dump and the real 6.1 dump
# (timings are not checked: bench/run.sh without --short prints them)
if ! bash bench/run.sh --short > target/bench-short.log 2>&1 || grep -q MISMATCH target/bench-short.log; then
    echo "bench/run.sh --short: failed, or skbwalk and drgn disagree"; fail=$((fail + 1))
fi
cat target/bench-short.log
producer=""   # done: the lanes' wait above waited for it too
# every failure again, last: a CI log shows only its tail
if [ "$fail" -gt 0 ]; then
    echo "failed checks:"
    # (a grep finding nothing fails, and with pipefail set -e would end the script right here)
    { for kgen in $KERNELS; do grep -h -e '^FAIL ' -e 'Errno' -e 'stopped before' -e '^corrupt corpus for' -e 'printed no result' "target/checks-$kgen.log" 2>/dev/null || true; done
      grep -h MISMATCH target/bench-short.log 2>/dev/null || true; } | cut -c1-300 | head -n 40 | sed 's/^/  /' || true
fi
kill $disk_sampler 2>/dev/null || true
least=$(sort -n target/disk.log 2>/dev/null | head -n1 || true)
echo "disk: tier cache $(du -sm "$CACHE" 2>/dev/null | cut -f1 || true) MiB, target/ $(du -sm target 2>/dev/null | cut -f1 || true) MiB, least free ${least:-?} MiB"
echo "all tiers: $(( $(date +%s) - start )) s"
echo "real-dump tier (all kernels): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
