//! The CPUs a kernel has (online, possible) and where each one's per-CPU data is.

use crate::warnings::{WarningKind, Warnings};
use crate::{Kernel, Result};

/// Most CPUs looked at (NR_CPUS is at most 8192).
const MAX_CPUS: u64 = 1 << 13;

/// The CPUs set in `mask` (`__cpu_online_mask`, `__cpu_possible_mask`), bounded by
/// `nr_cpu_ids`.
fn cpus_in(k: &Kernel, mask: &str, which: &str, w: &mut Warnings) -> Vec<u32> {
    let nr = k
        .global("nr_cpu_ids")
        .and_then(|a| k.u32(a, "nr_cpu_ids"))
        .map(u64::from)
        .unwrap_or(MAX_CPUS)
        .min(MAX_CPUS);
    let bits = match k
        .global(mask)
        .and_then(|a| k.bytes(a, nr.div_ceil(64) as usize * 8, mask))
    {
        Ok(m) => m,
        Err(e) => {
            w.push(
                WarningKind::of(&e),
                None,
                format!("{which} CPUs: {e}; per-CPU deltas of CPU 0 only"),
            );
            return vec![0];
        }
    };
    (0..nr as u32)
        .filter(|&c| bits[c as usize / 8] >> (c % 8) & 1 == 1)
        .collect()
}

/// `(cpu, __per_cpu_offset[cpu])`.
pub(crate) type CpuOffsets = Vec<(u32, u64)>;

/// The online CPUs, and `(cpu, __per_cpu_offset[cpu])` of those whose offset could be read.
pub(crate) fn cpu_offsets(k: &Kernel, w: &mut Warnings) -> Result<(Vec<u32>, CpuOffsets)> {
    offsets_of(k, cpus_in(k, "__cpu_online_mask", "online", w), w)
}

/// As [`cpu_offsets`] for the possible CPUs: where rstat's flush looks (a CPU gone offline
/// keeps its per-CPU parts).
pub(crate) fn possible_cpu_offsets(k: &Kernel, w: &mut Warnings) -> Result<(Vec<u32>, CpuOffsets)> {
    offsets_of(k, cpus_in(k, "__cpu_possible_mask", "possible", w), w)
}

fn offsets_of(k: &Kernel, cpus: Vec<u32>, w: &mut Warnings) -> Result<(Vec<u32>, CpuOffsets)> {
    let per_cpu_offset = k.global("__per_cpu_offset")?;
    let mut cpu_off = Vec::new();
    for &c in &cpus {
        match k.u64(per_cpu_offset + u64::from(c) * 8, "__per_cpu_offset[]") {
            Ok(o) => cpu_off.push((c, o)),
            Err(e) => w.push(
                WarningKind::of(&e),
                None,
                format!("__per_cpu_offset[{c}]: {e}; CPU {c}'s per-CPU data is left out"),
            ),
        }
    }
    Ok((cpus, cpu_off))
}
