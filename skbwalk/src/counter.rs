//! One kernel counter as `meminfo` reports it: a leaf the census and `meminfo` share.

use serde::Serialize;

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
