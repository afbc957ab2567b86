#!/usr/bin/env bash
# Build the bundled SYNTHETIC sample dump (the incident's shape) and run skbwalk's main job on it:
# the socket at pid 146935, fd 11. Extra arguments go to skbwalk (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")"
# Two builds: a --bin filter applies to every -p of one cargo command.
cargo build -q --release -p testdata --bin make-sample
cargo build -q --release -p skbwalk-cli
# The sample is rebuilt whenever its builder is newer than it.
if [ ! target/sample/vmcore.elf -nt target/release/make-sample ]; then
    ./target/release/make-sample target/sample --kdump >/dev/null
fi
exec ./target/release/skbwalk --vmcore target/sample/vmcore.elf --vmlinux target/sample/kernel/vmlinux --pid 146935 --fd 11 "$@"
