#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser with AFL++ (cargo-afl: works on the stable toolchain;
# libFuzzer through cargo-fuzz needs nightly). Builds the targets, writes the seed corpora
# (synthetic dumps of every kind, and the real tier's dump headers when present), runs each target
# for a fixed number of executions, and prints executions, crashes and hangs per target.
#   fuzz/run.sh [TARGET...]         default: every target
#   FUZZ_EXECS=200000               executions per target (afl-fuzz -E)
#   FUZZ_SECONDS=600                wall-clock cap per target (afl-fuzz -V)
# Needs: cargo install cargo-afl && cargo afl config --build (done by .ci/run when fuzzing).
set -euo pipefail
cd "$(dirname "$0")"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(dump notes vmcoreinfo decompress dwarf cache walk meminfo btf kallsyms)
out=${FUZZ_OUT:-$PWD/target/fuzz-out}
seeds=$out/seeds
cargo afl build --release -q
real=()
for d in "$HOME"/.cache/skbwalk-testdata/dumps/current-*; do [ -d "$d" ] && real+=("$d"); done
rm -rf "$seeds"
./target/release/seeds "$seeds" "${real[@]}"
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export SKBWALK_FUZZ_WORK=$out/work
fail=0
printf '%-11s %10s %8s %6s %6s\n' target execs paths crashes hangs > "$out/summary.txt"
for t in "${targets[@]}"; do
    rm -rf "$out/$t"
    timeout $(( ${FUZZ_SECONDS:-600} + 120 )) cargo afl fuzz -i "$seeds/$t" -o "$out/$t" \
        -E "${FUZZ_EXECS:-200000}" -V "${FUZZ_SECONDS:-600}" -t 5000 -m none \
        -- "./target/release/$t" > "$out/$t.log" 2>&1 || true
    st=$out/$t/default/fuzzer_stats
    if [ ! -f "$st" ]; then echo "$t: afl-fuzz did not start; see $out/$t.log"; tail -5 "$out/$t.log"; fail=1; continue; fi
    get() { sed -n "s/^$1 *: *//p" "$st"; }
    printf '%-11s %10s %8s %6s %6s\n' "$t" "$(get execs_done)" "$(get corpus_count)" \
        "$(get saved_crashes)" "$(get saved_hangs)" >> "$out/summary.txt"
    if [ "$(get saved_crashes)" != 0 ] || [ "$(get saved_hangs)" != 0 ]; then
        mkdir -p "findings/$t"
        cp "$out/$t"/default/crashes/id* "$out/$t"/default/hangs/id* "findings/$t/" 2>/dev/null || true
        fail=1
    fi
done
cat "$out/summary.txt"
exit $fail
