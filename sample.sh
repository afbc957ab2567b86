#!/usr/bin/env bash
# Build the bundled SYNTHETIC sample dump (the incident's shape) and run skbwalk's main job on it:
# the socket at pid 146935, fd 11. Extra arguments go to skbwalk (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")"
cargo build -q --release -p testdata --bin make-sample -p skbwalk-cli
[ -f target/sample/vmcore.elf ] || ./target/release/make-sample target/sample --kdump >/dev/null
exec ./target/release/skbwalk --vmcore target/sample/vmcore.elf --vmlinux target/sample/kernel/vmlinux --pid 146935 --fd 11 "$@"
