//! Census throughput: `cargo bench -p skbwalk --bench census [-- GIB [SLAB_MIB]]` (default 64 GiB,
//! 2048 MiB).
//!
//! Builds (once, under `target/census-bench/`) a SYNTHETIC dump of a GIB-GiB machine whose every
//! struct page is stored, then takes the census three times from the ELF dump and prints struct
//! pages per second and the best time. The spec's target: 16 M struct pages (64 GiB) in ≤ 1.5 s.
//! The ratio against drgn on a real dump is `bench/census-vs-drgn.sh`.
//!
//! Then the reverse-reference scan: the same machine with SLAB_MIB of allocated kmalloc-64
//! objects full of pointers and 64 pages nothing points at, so the scan reads every object. The
//! census with and without the scan (best of 3 each, same dump, same process): the scan's time
//! is the difference, its throughput the bytes it read over that time, its memory the growth of
//! the process's peak RSS (`VmHWM`) over the census without it.
use std::time::Instant;

use skbwalk::census::{census, census_with, CensusOptions};
use skbwalk::Kernel;

/// The process's peak RSS in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let nums: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let gib = nums.first().copied().unwrap_or(64);
    let slab_mib = nums.get(1).copied().unwrap_or(2048);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/census-bench");
    let dir = root.join(format!("{gib}g"));
    if !dir.join("vmcore.kdump").exists() {
        let t = Instant::now();
        testdata::census_machine::write_census_machine(&dir, gib, true).expect("build the dump");
        eprintln!("built the dumps in {:.1} s", t.elapsed().as_secs_f64());
    }
    census_of(gib, &dir, "vmcore.elf");
    if slab_mib > 0 {
        scan(gib, &root, slab_mib);
    }
    census_of(gib, &dir, "vmcore.kdump");
}

/// The census of `dir/name`, best of 3.
fn census_of(gib: u64, dir: &std::path::Path, name: &str) {
    let k = Kernel::open(&dir.join(name), Some(&dir.join("kernel/vmlinux"))).expect("open");
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

/// The reverse-reference scan on the machine with `slab_mib` MiB of slab objects.
fn scan(gib: u64, root: &std::path::Path, slab_mib: u64) {
    let dir = root.join(format!("{gib}g-slab{slab_mib}"));
    if !dir.join("vmcore.elf").exists() {
        let t = Instant::now();
        testdata::census_machine::write_census_machine_with(&dir, gib, false, slab_mib)
            .expect("build the dump");
        eprintln!("built the slab dump in {:.1} s", t.elapsed().as_secs_f64());
    }
    let k = Kernel::open(&dir.join("vmcore.elf"), Some(&dir.join("kernel/vmlinux"))).expect("open");
    let counters = Default::default();
    let best_of = |opts: &CensusOptions| {
        let mut best = f64::MAX;
        let mut last = None;
        for _ in 0..3 {
            let t = Instant::now();
            let c = census_with(&k, &[], &counters, opts).expect("census");
            best = best.min(t.elapsed().as_secs_f64());
            last = Some(c);
        }
        (best, last.expect("three runs"))
    };
    let (without, c0) = best_of(&CensusOptions::without_referrers());
    let peak0 = peak_kib();
    let (with, c) = best_of(&CensusOptions::default());
    let peak1 = peak_kib();
    assert_eq!(
        c0.other.unattributed,
        c.other.unattributed + c.other.referenced
    );
    assert!(
        c.referrers.is_empty(),
        "nothing points at the targets: {:?}",
        &c.referrers[..1]
    );
    let scan = (with - without).max(1e-6);
    let bytes = c.referrer_scan_bytes as f64;
    println!(
        "reverse-reference scan of a {gib} GiB machine with {slab_mib} MiB of slab objects: {:.0} MiB read in {scan:.3} s ({with:.3} s census with it, {without:.3} s without; best of 3) = {:.2} GiB/s; peak RSS {} MiB without, {} MiB with (+{} MiB)",
        bytes / (1 << 20) as f64,
        bytes / scan / (1u64 << 30) as f64,
        peak0 / 1024,
        peak1 / 1024,
        peak1.saturating_sub(peak0) / 1024,
    );
}
