//! `meminfo` (counters, per-CPU deltas, breakdown, page census) over a fuzzed physical image:
//! the input overwrites u64 slots in the pages that hold the counters, the node, the per-CPU
//! areas, the vmemmap of the skbs' frag pages and the walk's objects. Records as in `walk`.
use skbwalk::Kernel;
use vmcore::source::BytesSource;

fn main() {
    let m = skbwalk_fuzz::machine();
    afl::fuzz!(|data: &[u8]| {
        let mut elf = m.elf.clone();
        for rec in data.chunks_exact(10) {
            let slot = usize::from(u16::from_le_bytes([rec[0], rec[1]])) % m.slots.len();
            let at = m.slots[slot];
            elf[at..at + 8].copy_from_slice(&rec[2..10]);
        }
        let Ok(dump) = vmcore::Dump::from_source(Box::new(BytesSource(elf)), false) else {
            return;
        };
        let Ok(types) = kstructs::Types::open_with_cache(&m.vmlinux, Some(&m.cache)) else {
            return;
        };
        let Ok(k) = Kernel::from_parts(dump, types, "fuzzed") else {
            return;
        };
        let _ = skbwalk::meminfo::meminfo(&k);
    });
}
