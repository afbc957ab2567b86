//! One kernel counter as `meminfo` reports it: a leaf the census and `meminfo` share.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Error, Kernel, Result};

/// Most entries of a counter enum.
const MAX_ITEMS: i64 = 256;

/// One counter: the global value (what `/proc/meminfo` would show) and the exact one (global
/// plus every online CPU's unfolded delta).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Counter {
    /// `vm_zone_stat[i]` / `vm_node_stat[i]`.
    pub global: i64,
    /// Global plus the per-CPU deltas.
    pub exact: i64,
}

/// The counters of one enum: (name, index) without aliases and the `NR_VM_*_ITEMS` count, and
/// the count.
pub(crate) fn items(k: &Kernel, enum_name: &str) -> Result<(Vec<(String, usize)>, usize)> {
    let all = k
        .types
        .enumerators(enum_name)
        .map_err(|e| k.layout_error(e))?;
    let count = all
        .iter()
        .find(|(n, _)| n.starts_with("NR_VM_") && n.ends_with("_ITEMS"))
        .map(|&(_, v)| v)
        .unwrap_or_else(|| all.iter().map(|&(_, v)| v + 1).max().unwrap_or(0));
    if !(0..=MAX_ITEMS).contains(&count) {
        return Err(Error::NoLayout {
            vmcore: k.vmcore_path.clone(),
            reason: format!("enum {enum_name} counts {count} items"),
        });
    }
    // An alias (`NR_LRU_BASE = 0`, then `NR_INACTIVE_ANON = NR_LRU_BASE`) names a value a real
    // counter has: the counter keeps the name.
    let mut by_value: BTreeMap<i64, String> = BTreeMap::new();
    for (name, v) in all {
        if (name.starts_with("NR_VM_") && name.ends_with("_ITEMS")) || !(0..count).contains(&v) {
            continue;
        }
        match by_value.get(&v) {
            Some(old) if !old.ends_with("_BASE") => {}
            _ => {
                by_value.insert(v, name);
            }
        }
    }
    let out = by_value
        .into_iter()
        .map(|(v, name)| (name, v as usize))
        .collect();
    Ok((out, count as usize))
}
