//! `meminfo` (counters, per-CPU deltas, breakdown, page census) and `explain` (SLUB usage)
//! over a fuzzed physical image: the input overwrites u64 slots in the pages that hold the
//! counters, the node, the per-CPU areas, the vmemmap of the skbs' frag pages and the walk's
//! objects. Records as in `walk`.
fn main() {
    let m = skbwalk_fuzz::machine();
    afl::fuzz!(|data: &[u8]| {
        if let Some(k) = skbwalk_fuzz::patched_kernel(&m, data) {
            let _ = skbwalk::explain::explain(&k);
        }
    });
}
