//! The entries of a kernel `struct xarray` (`include/linux/xarray.h`), read from the dump.
//!
//! | entry | how it is told |
//! |---|---|
//! | a node | internal (`entry & 3 == 2`) and above 4096: `struct xa_node` at `entry - 2`, `XA_CHUNK_SIZE` (64) `slots`, `shift` 0 at the leaves |
//! | sibling, retry, zero | internal and at most 4096: no entry of their own |
//! | a value | `entry & 1`: not a pointer, left out |
//! | a pointer | anything else not 0 |
//!
//! Bounded: past [`MAX_NODES`] nodes, or at a node whose `shift` is not below its parent's (a
//! loop or garbage), the walk is an error, never a partial answer given as whole.

use crate::Kernel;

/// `XA_CHUNK_SIZE` (`CONFIG_BASE_SMALL` off, as on every distribution kernel).
const CHUNK: u64 = 64;
/// Most nodes believed in one array (2^16 nodes hold up to 4 M entries): more is a damaged
/// array, an error rather than a walk cut short in silence.
const MAX_NODES: usize = 1 << 16;

/// The pointer entries of the xarray at `xa`, in index order. A node that cannot be read ends
/// the walk with its error.
pub(crate) fn pointers(k: &Kernel, xa: u64) -> crate::Result<Vec<u64>> {
    let t = &k.types;
    let layout = |ty: &str, m: &str| t.member(ty, m).map(|m| m.offset);
    let head = layout("xarray", "xa_head").map_err(|e| k.layout_error(e))?;
    let shift = layout("xa_node", "shift").map_err(|e| k.layout_error(e))?;
    let slots = layout("xa_node", "slots").map_err(|e| k.layout_error(e))?;
    let mut out = Vec::new();
    let mut nodes = 0usize;
    // (entry, the largest shift a node there may have)
    let mut stack = vec![(k.u64(xa + head, "xarray.xa_head")?, u64::MAX)];
    while let Some((entry, below)) = stack.pop() {
        match entry {
            0 => {}
            e if e & 3 == 2 && e > 4096 => {
                nodes += 1;
                let node = e - 2;
                if nodes > MAX_NODES {
                    return Err(crate::Error::Corrupt {
                        what: format!("xarray at {xa:#x}: over {MAX_NODES} nodes"),
                        addr: node,
                        why: "more nodes than its entries can fill",
                    });
                }
                let s = u64::from(k.u8(node + shift, "xa_node.shift")?);
                if s >= below || s > 60 {
                    return Err(crate::Error::Corrupt {
                        what: format!("xarray at {xa:#x}: a node of shift {s}"),
                        addr: node,
                        why: "not shallower than its parent: a loop or garbage",
                    });
                }
                let raw = k.bytes(node + slots, (CHUNK * 8) as usize, "xa_node.slots")?;
                // pushed last to first, so popped in index order
                for c in raw.chunks_exact(8).rev() {
                    stack.push((crate::le::u64_at(c, 0), s));
                }
            }
            e if e & 3 == 2 || e & 1 == 1 => {}
            e => out.push(e),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
    use testdata::synth::SynthKernel;
    use testdata::world::WorldConfig;

    /// A two-level array: its pointers in index order; values, siblings and retry entries
    /// left out. Then a node naming itself (a loop): an error, not a partial list.
    #[test]
    fn pointers_in_index_order_and_bounded() {
        let dir = crate::testing::scratch("xarray");
        let k = SynthKernel::build_gen(&dir.join("k"), 5, 61).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 1 });
        let o = |w: &testdata::world::World, key: &str| w.k.o(key);
        let (xa, _) = w.kmalloc(o(&w, "xarray"));
        let (root, _) = w.kmalloc(o(&w, "xa_node"));
        let (leaf, _) = w.kmalloc(o(&w, "xa_node"));
        let slot =
            |w: &testdata::world::World, node: u64, i: u64| node + o(w, "xa_node.slots") + 8 * i;
        w.write_bytes(root + o(&w, "xa_node.shift"), &[6]);
        w.write_bytes(leaf + o(&w, "xa_node.shift"), &[0]);
        w.write_u64(xa + o(&w, "xarray.xa_head"), root + 2);
        // root: the leaf at index 0-63, a pointer covering 64-127
        w.write_u64(slot(&w, root, 0), leaf + 2);
        w.write_u64(slot(&w, root, 1), 0xffff_8880_0000_1000);
        // leaf: pointers at 3 and 9, a value at 4, a sibling of 3 at 5, a retry entry at 6
        w.write_u64(slot(&w, leaf, 3), 0xffff_8880_0000_3000);
        w.write_u64(slot(&w, leaf, 4), (7 << 1) | 1);
        w.write_u64(slot(&w, leaf, 5), (3 << 2) | 2);
        w.write_u64(slot(&w, leaf, 6), (256 << 2) | 2);
        w.write_u64(slot(&w, leaf, 9), 0xffff_8880_0000_9000);
        let p = dir.join("vmcore.elf");
        write_qemu_elf(&mut w, &p, true).unwrap();
        let k = crate::testing::open(&p, Some(&w.k.vmlinux));
        let got = super::pointers(&k, xa).unwrap();
        assert_eq!(
            got,
            [
                0xffff_8880_0000_3000,
                0xffff_8880_0000_9000,
                0xffff_8880_0000_1000
            ]
        );
        // the root naming itself at 128-191
        w.write_u64(slot(&w, root, 2), root + 2);
        let p = dir.join("loop.elf");
        write_qemu_elf(&mut w, &p, true).unwrap();
        let k = crate::testing::open(&p, Some(&w.k.vmlinux));
        let e = super::pointers(&k, xa).unwrap_err().to_string();
        assert!(e.contains("not shallower than its parent"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
