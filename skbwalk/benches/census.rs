//! Census throughput: `cargo bench -p skbwalk --bench census [-- GIB]` (default 64).
//!
//! Builds (once, under `target/census-bench/`) a SYNTHETIC dump of a GIB-GiB machine whose every
//! struct page is stored, then takes the census three times from the ELF dump and prints struct
//! pages per second and the best time. The spec's target: 16 M struct pages (64 GiB) in ≤ 1.5 s.
//! The ratio against drgn on a real dump is `bench/census-vs-drgn.sh`.
use std::time::Instant;

use skbwalk::census::census;
use skbwalk::Kernel;

fn main() {
    let gib: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(64);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/census-bench")
        .join(format!("{gib}g"));
    let vmlinux = dir.join("kernel/vmlinux");
    if !dir.join("vmcore.kdump").exists() {
        let t = Instant::now();
        testdata::census_machine::write_census_machine(&dir, gib, true).expect("build the dump");
        eprintln!("built the dumps in {:.1} s", t.elapsed().as_secs_f64());
    }
    for name in ["vmcore.elf", "vmcore.kdump"] {
        let k = Kernel::open(&dir.join(name), Some(&vmlinux)).expect("open");
        let counters = Default::default();
        let mut best = f64::MAX;
        let mut pages = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let c = census(&k, &[], &counters).expect("census");
            best = best.min(t.elapsed().as_secs_f64());
            pages = c.pages;
            assert!(c.complete, "{:?}", c.warnings);
        }
        println!(
            "census of a {gib} GiB machine from {name}: {pages} struct pages in {best:.3} s (best of 3) = {:.1} M struct pages/s",
            pages as f64 / best / 1e6
        );
    }
}
