//! SLUB cache usage: slot size, total and active objects of a `kmem_cache`, more exact than
//! `/proc/slabinfo` (which leaves per-CPU free objects counted as active).
//!
//! total = Σ nodes `total_objects` (CONFIG_SLUB_DEBUG); free = every online CPU's lockless
//! freelist (hardened pointers decoded) and per-CPU partial slabs (`objects − inuse`), plus every
//! node's partial slabs (`objects − inuse`); active = total − free.

use crate::hash::Set;

use serde::Serialize;

use crate::offsets::{bit, Bit};
use crate::warnings::{WarningKind, Warnings};
use crate::{Kernel, Result};

/// Most caches on `slab_caches`, slabs on a partial list, objects on one freelist.
const MAX_CACHES: usize = 1 << 14;
const MAX_PARTIAL: usize = 1 << 22;
const MAX_FREELIST: usize = 1 << 16;

/// One cache's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlabUsage {
    /// `kmem_cache.size`: bytes per slot.
    pub slot_size: u64,
    /// Objects in all its slabs.
    pub total_objects: u64,
    /// Objects allocated (total minus every free one).
    pub active_objects: u64,
}

struct Layout {
    list: u64,
    name: u64,
    size: u64,
    offset: u64,
    random: Option<u64>,
    cpu_slab: u64,
    node: u64,
    c_freelist: u64,
    c_slab: u64,
    c_partial: Option<u64>,
    s_cache: u64,
    s_counters: Bit,
    s_objects: Bit,
    s_next: Option<u64>,
    s_list: u64,
    n_partial: u64,
    n_total: u64,
}

impl Layout {
    fn resolve(k: &Kernel) -> std::result::Result<Layout, kstructs::Error> {
        let t = &k.types;
        let m = |ty: &str, f: &str| t.member(ty, f).map(|m| m.offset);
        let slab = if t.size_of("struct slab").is_ok() {
            "slab"
        } else {
            "page"
        };
        let (_, cur) = t.first_member("kmem_cache_cpu", &["slab", "page"])?;
        Ok(Layout {
            list: m("kmem_cache", "list")?,
            name: m("kmem_cache", "name")?,
            size: m("kmem_cache", "size")?,
            offset: m("kmem_cache", "offset")?,
            random: m("kmem_cache", "random").ok(),
            cpu_slab: m("kmem_cache", "cpu_slab")?,
            node: m("kmem_cache", "node")?,
            c_freelist: m("kmem_cache_cpu", "freelist")?,
            c_slab: cur.offset,
            c_partial: m("kmem_cache_cpu", "partial").ok(),
            s_cache: m(slab, "slab_cache")?,
            s_counters: bit(t.member(slab, "inuse")?),
            s_objects: bit(t.member(slab, "objects")?),
            s_next: m(slab, "next").ok(),
            s_list: m(slab, "slab_list")?,
            n_partial: m("kmem_cache_node", "partial")?,
            n_total: m("kmem_cache_node", "total_objects")?,
        })
    }
}

/// The `kmem_cache` called `name` on `slab_caches`.
pub(crate) fn find_cache(k: &Kernel, name: &str, w: &mut Warnings) -> Result<Option<u64>> {
    let l = Layout::resolve(k).map_err(|e| k.layout_error(e))?;
    let head = k.global("slab_caches")?;
    for c in crate::task::list_entries(k, head, l.list, MAX_CACHES, "slab_caches", w) {
        let Ok(p) = k.u64(c.wrapping_add(l.name), "kmem_cache.name") else {
            continue;
        };
        if k.cstr(p, 64, "kmem_cache name").is_ok_and(|n| n == name) {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Usage of the cache at `cache` over the online CPUs (`cpu_offsets`: cpu → `__per_cpu_offset`).
pub(crate) fn usage(
    k: &Kernel,
    cache: u64,
    cpu_offsets: &[(u32, u64)],
    w: &mut Warnings,
) -> Result<SlabUsage> {
    let l = Layout::resolve(k).map_err(|e| k.layout_error(e))?;
    let slot_size = u64::from(k.u32(cache.wrapping_add(l.size), "kmem_cache.size")?);
    let fp_offset = u64::from(k.u32(cache.wrapping_add(l.offset), "kmem_cache.offset")?);
    let random = match l.random {
        Some(r) => Some(k.u64(cache.wrapping_add(r), "kmem_cache.random")?),
        None => None,
    };
    let slab_free = |slab: u64| -> Result<u64> {
        let raw = k.bytes(
            slab.wrapping_add(l.s_counters.byte.min(l.s_objects.byte)),
            8,
            "slab counters",
        )?;
        let base = l.s_counters.byte.min(l.s_objects.byte);
        let at = |b: &Bit| Bit {
            byte: b.byte - base,
            ..*b
        };
        let (inuse, objects) = (at(&l.s_counters).get(&raw), at(&l.s_objects).get(&raw));
        Ok(objects.saturating_sub(inuse))
    };
    let mut free = 0u64;
    let cpu_slab = k.u64(cache.wrapping_add(l.cpu_slab), "kmem_cache.cpu_slab")?;
    for &(cpu, off) in cpu_offsets {
        let c = cpu_slab.wrapping_add(off);
        let slab = k.u64(c.wrapping_add(l.c_slab), "kmem_cache_cpu.slab")?;
        if slab != 0 && k.u64(slab.wrapping_add(l.s_cache), "slab.slab_cache").ok() == Some(cache) {
            // the lockless freelist: next pointers at object + offset, hardened if `random`
            let mut p = k.u64(c.wrapping_add(l.c_freelist), "kmem_cache_cpu.freelist")?;
            let mut seen = Set::default();
            while p != 0 {
                if !Kernel::is_kernel_ptr(p, 1) || !seen.insert(p) || seen.len() > MAX_FREELIST {
                    w.push(
                        WarningKind::Corrupt,
                        Some(p),
                        format!("kmem_cache at {cache:#x}: CPU {cpu}'s freelist is corrupt at {p:#x}; stopped"),
                    );
                    break;
                }
                free += 1;
                let at = p.wrapping_add(fp_offset);
                let raw = k.u64(at, "freelist pointer")?;
                p = match random {
                    Some(r) => raw ^ r ^ at.swap_bytes(),
                    None => raw,
                };
            }
        }
        if let (Some(pl), Some(next)) = (l.c_partial, l.s_next) {
            let mut s = k.u64(c.wrapping_add(pl), "kmem_cache_cpu.partial")?;
            let mut seen = Set::default();
            while s != 0 && seen.insert(s) && seen.len() <= MAX_PARTIAL {
                free = free.saturating_add(slab_free(s)?);
                s = k.u64(s.wrapping_add(next), "slab.next")?;
            }
        }
    }
    let nr_nodes = k
        .global("nr_node_ids")
        .and_then(|a| k.u32(a, "nr_node_ids"))
        .unwrap_or(1)
        .clamp(1, 1024);
    let mut total = 0u64;
    for n in 0..u64::from(nr_nodes) {
        let node = k.u64(cache.wrapping_add(l.node + n * 8), "kmem_cache.node[]")?;
        if !Kernel::is_kernel_ptr(node, 8) {
            continue;
        }
        total = total.saturating_add(k.u64(
            node.wrapping_add(l.n_total),
            "kmem_cache_node.total_objects",
        )?);
        for s in crate::task::list_entries(
            k,
            node.wrapping_add(l.n_partial),
            l.s_list,
            MAX_PARTIAL,
            "kmem_cache_node.partial",
            w,
        ) {
            free = free.saturating_add(slab_free(s)?);
        }
    }
    Ok(SlabUsage {
        slot_size,
        total_objects: total,
        active_objects: total.saturating_sub(free),
    })
}
