//! SLUB cache usage: slot size, total and active objects of a `kmem_cache`, more exact than
//! `/proc/slabinfo` (which leaves per-CPU free objects counted as active).
//!
//! total = Σ nodes `total_objects` (CONFIG_SLUB_DEBUG); free = every online CPU's lockless
//! freelist (hardened pointers decoded) and per-CPU partial slabs (`objects − inuse`), where the
//! kernel has `kmem_cache_cpu` (to 7.0); every online CPU's sheaves (`main` and `spare`: the
//! `size` objects each holds) where it has `cpu_sheaves` (6.18+, the only per-CPU cache from
//! 7.0), and the full sheaves of every node's barn; plus every node's partial slabs
//! (`objects − inuse`); active = total − free. Objects in a `rcu_free` sheaf wait for a grace
//! period and count as active, as drgn counts them. The nodes are `kmem_cache.node[]`, or the
//! `node` of each `per_node[]` entry (7.1+), whose `barn` is there too (in the node before).

use crate::hash::Set;
use crate::links::{Chain, Stop};

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
#[non_exhaustive]
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
    cpu: Option<CpuSlab>,
    sheaves: Option<Sheaves>,
    /// `kmem_cache.node[]` or `.per_node[]`: where entry `n` is, and the node pointer in it.
    node: u64,
    node_stride: u64,
    node_ptr: u64,
    /// Where a node's barn pointer is: in the `per_node[]` entry (7.1+) or the node (6.18–7.0).
    barn: Option<Barn>,
    s_cache: u64,
    s_counters: Bit,
    s_objects: Bit,
    s_next: Option<u64>,
    s_list: u64,
    /// `slab.freelist` (`page.freelist` before 5.17).
    s_freelist: Option<u64>,
    n_partial: u64,
    n_total: u64,
}

/// `kmem_cache_cpu` (to 7.0): the per-CPU slab and its lockless freelist.
struct CpuSlab {
    cpu_slab: u64,
    c_freelist: u64,
    c_slab: u64,
    c_partial: Option<u64>,
}

/// `slub_percpu_sheaves` (6.18+): each CPU's `main` and `spare` `slab_sheaf`.
struct Sheaves {
    cpu_sheaves: u64,
    main: u64,
    spare: u64,
    size: u64,
    /// `slab_sheaf.objects[]`.
    objects: Option<u64>,
}

impl Sheaves {
    /// The non-null `main` and `spare` sheaves of `cache` on each CPU of `cpu_offsets`, their
    /// pointers read with `read`.
    fn per_cpu(
        &self,
        k: &Kernel,
        cache: u64,
        cpu_offsets: &[(u32, u64)],
        read: &dyn Fn(u64, &str) -> Result<u64>,
    ) -> Result<Vec<u64>> {
        let pcs = k.u64(
            cache.wrapping_add(self.cpu_sheaves),
            "kmem_cache.cpu_sheaves",
        )?;
        // 6.18–6.19 give sheaves only to caches made with a sheaf_capacity: NULL elsewhere (a
        // per-CPU pointer is an offset, so only 0 says "none")
        let cpus = if pcs == 0 { &[][..] } else { cpu_offsets };
        let mut out = Vec::new();
        for &(_, off) in cpus {
            let c = pcs.wrapping_add(off);
            for (at, what) in [
                (self.main, "slub_percpu_sheaves.main"),
                (self.spare, "slub_percpu_sheaves.spare"),
            ] {
                let sheaf = read(c.wrapping_add(at), what)?;
                if sheaf != 0 {
                    out.push(sheaf);
                }
            }
        }
        Ok(out)
    }

    /// How many free objects the sheaf at `sheaf` holds (`size`, at most [`MAX_SHEAF`]).
    fn len(&self, k: &Kernel, sheaf: u64) -> Result<u64> {
        Ok(u64::from(k.u32(sheaf.wrapping_add(self.size), "slab_sheaf.size")?).min(MAX_SHEAF))
    }
}

/// A node's `node_barn` and its list of full sheaves.
struct Barn {
    /// The barn pointer's offset in the `per_node[]` entry, or in `kmem_cache_node`.
    at: u64,
    in_entry: bool,
    full: u64,
    sheaf_link: u64,
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
        let cpu = match m("kmem_cache", "cpu_slab") {
            Ok(cpu_slab) => Some(CpuSlab {
                cpu_slab,
                c_freelist: m("kmem_cache_cpu", "freelist")?,
                c_slab: t
                    .first_member("kmem_cache_cpu", &["slab", "page"])?
                    .1
                    .offset,
                c_partial: m("kmem_cache_cpu", "partial").ok(),
            }),
            Err(_) => None,
        };
        let sheaves = match m("kmem_cache", "cpu_sheaves") {
            Ok(cpu_sheaves) => Some(Sheaves {
                cpu_sheaves,
                main: m("slub_percpu_sheaves", "main")?,
                spare: m("slub_percpu_sheaves", "spare")?,
                size: m("slab_sheaf", "size")?,
                objects: m("slab_sheaf", "objects").ok(),
            }),
            Err(_) => None,
        };
        if cpu.is_none() && sheaves.is_none() {
            // name what is missing: a kernel with neither per-CPU cache
            m("kmem_cache", "cpu_slab")?;
        }
        let (node, node_stride, node_ptr, barn_in_entry) = match m("kmem_cache", "per_node") {
            Ok(pn) => (
                pn,
                t.size_of("kmem_cache_per_node_ptrs")?,
                m("kmem_cache_per_node_ptrs", "node")?,
                m("kmem_cache_per_node_ptrs", "barn").ok(),
            ),
            Err(_) => (m("kmem_cache", "node")?, 8, 0, None),
        };
        let barn = match (barn_in_entry, m("kmem_cache_node", "barn")) {
            (Some(at), _) => Some((at, true)),
            (None, Ok(at)) => Some((at, false)),
            (None, Err(_)) => None,
        };
        let barn = match barn {
            Some((at, in_entry)) => Some(Barn {
                at,
                in_entry,
                full: m("node_barn", "sheaves_full")?,
                sheaf_link: m("slab_sheaf", "barn_list")?,
            }),
            None => None,
        };
        Ok(Layout {
            list: m("kmem_cache", "list")?,
            name: m("kmem_cache", "name")?,
            size: m("kmem_cache", "size")?,
            offset: m("kmem_cache", "offset")?,
            random: m("kmem_cache", "random").ok(),
            cpu,
            sheaves,
            node,
            node_stride,
            node_ptr,
            barn,
            s_cache: m(slab, "slab_cache")?,
            s_counters: bit(t.member(slab, "inuse")?),
            s_objects: bit(t.member(slab, "objects")?),
            s_next: m(slab, "next").ok(),
            s_list: m(slab, "slab_list")?,
            s_freelist: m(slab, "freelist").ok(),
            n_partial: m("kmem_cache_node", "partial")?,
            n_total: m("kmem_cache_node", "total_objects")?,
        })
    }
}

/// Most objects a sheaf holds (`sheaf_capacity` is a few dozen; a page of pointers at most).
const MAX_SHEAF: u64 = 512;

/// Free objects in every online CPU's `kmem_cache_cpu`: its lockless freelist and its partial
/// slabs.
fn cpu_slab_free(
    k: &Kernel,
    cache: u64,
    cl: &CpuSlab,
    l: &Layout,
    cpu_offsets: &[(u32, u64)],
    slab_free: &dyn Fn(u64) -> Result<u64>,
    w: &mut Warnings,
) -> Result<u64> {
    let fp_offset = u64::from(k.u32(cache.wrapping_add(l.offset), "kmem_cache.offset")?);
    let random = match l.random {
        Some(r) => Some(k.u64(cache.wrapping_add(r), "kmem_cache.random")?),
        None => None,
    };
    let mut free = 0u64;
    let cpu_slab = k.u64(cache.wrapping_add(cl.cpu_slab), "kmem_cache.cpu_slab")?;
    for &(cpu, off) in cpu_offsets {
        let c = cpu_slab.wrapping_add(off);
        let slab = k.u64(c.wrapping_add(cl.c_slab), "kmem_cache_cpu.slab")?;
        if slab != 0 && k.u64(slab.wrapping_add(l.s_cache), "slab.slab_cache").ok() == Some(cache) {
            let head = k.u64(c.wrapping_add(cl.c_freelist), "kmem_cache_cpu.freelist")?;
            let bad = walk_freelist(k, head, (fp_offset, random), 1, |_| {
                free += 1;
                true
            })?;
            if let Some(p) = bad {
                w.push(
                    WarningKind::Corrupt,
                    Some(p),
                    format!("kmem_cache at {cache:#x}: CPU {cpu}'s freelist is corrupt at {p:#x}; stopped"),
                );
            }
        }
        if let (Some(pl), Some(next)) = (cl.c_partial, l.s_next) {
            let mut s = k.u64(c.wrapping_add(pl), "kmem_cache_cpu.partial")?;
            let mut chain = Chain::new(k.space(), MAX_PARTIAL, 8);
            while s != 0 {
                // a list that comes back on itself, runs past the bound or leaves the kernel's
                // memory is said, not cut silently
                if let Err(stop) = chain.admit(s) {
                    let what = match stop {
                        Stop::Limit(_) => "is longer than any kernel's",
                        Stop::Loop(_) => "loops",
                        _ => "has a bad link",
                    };
                    w.push(
                        stop.kind(),
                        Some(s),
                        format!("kmem_cache at {cache:#x}: CPU {cpu}'s partial slab list {what} at {s:#x}; stopped"),
                    );
                    break;
                }
                free = free.saturating_add(slab_free(s)?);
                s = k.u64(s.wrapping_add(next), "slab.next")?;
            }
        }
    }
    Ok(free)
}

/// The NUMA nodes a cache has entries for (`nr_node_ids`, 1 where unreadable).
fn nr_nodes(k: &Kernel) -> u64 {
    k.global("nr_node_ids")
        .and_then(|a| k.u32(a, "nr_node_ids"))
        .map_or(1, |n| u64::from(n.clamp(1, 1024)))
}

impl Layout {
    /// The full sheaves of the barn of a cache's node (`entry` its `node[]`/`per_node[]` entry,
    /// `node` the `kmem_cache_node`; 6.18+); none where the kernel has no barns.
    fn full_sheaves(
        &self,
        k: &Kernel,
        entry: u64,
        node: u64,
        w: &mut Warnings,
    ) -> Result<Vec<u64>> {
        let Some(b) = &self.barn else {
            return Ok(Vec::new());
        };
        let holder = if b.in_entry { entry } else { node };
        if !k.is_kernel_ptr(holder, 8) {
            return Ok(Vec::new());
        }
        let barn = k.u64(holder.wrapping_add(b.at), "node_barn pointer")?;
        if !k.is_kernel_ptr(barn, 8) {
            return Ok(Vec::new());
        }
        Ok(crate::links::list_entries(
            k,
            barn.wrapping_add(b.full),
            b.sheaf_link,
            MAX_PARTIAL,
            "node_barn.sheaves_full",
            w,
        ))
    }
}

/// Walk a lockless freelist from `head`: next pointers at object + `fp_offset`, hardened with
/// `random` ([`decode`]). `each(object)` is called for each object until it says stop (`false`),
/// the list ends, or a link is not a kernel pointer aligned to `align`, repeats, or passes
/// `MAX_FREELIST`: that link is returned.
fn walk_freelist(
    k: &Kernel,
    head: u64,
    (fp_offset, random): (u64, Option<u64>),
    align: u64,
    mut each: impl FnMut(u64) -> bool,
) -> Result<Option<u64>> {
    let mut chain = Chain::new(k.space(), MAX_FREELIST, align);
    let mut p = head;
    while p != 0 {
        if chain.admit(p).is_err() {
            return Ok(Some(p));
        }
        if !each(p) {
            break;
        }
        let at = p.wrapping_add(fp_offset);
        p = decode(k.u64(at, "freelist pointer")?, at, random);
    }
    Ok(None)
}

/// A freelist's next pointer `raw`, stored at `at`: with `CONFIG_SLAB_FREELIST_HARDENED` (a
/// cache's `random`) it is `ptr ^ random ^ swab(at)` (`freelist_ptr_decode`).
fn decode(raw: u64, at: u64, random: Option<u64>) -> u64 {
    match random {
        Some(r) => raw ^ r ^ at.swap_bytes(),
        None => raw,
    }
}

/// The `kmem_cache` called `name` on `slab_caches`.
pub(crate) fn find_cache(k: &Kernel, name: &str, w: &mut Warnings) -> Result<Option<u64>> {
    let l = Layout::resolve(k).map_err(|e| k.layout_error(e))?;
    let head = k.global("slab_caches")?;
    for c in crate::links::list_entries(k, head, l.list, MAX_CACHES, "slab_caches", w) {
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
    if let Some(cl) = &l.cpu {
        free = free.saturating_add(cpu_slab_free(k, cache, cl, &l, cpu_offsets, &slab_free, w)?);
    }
    // a sheaf's `size` objects are free ones (at most a page of pointers, as the kernel sizes them)
    if let Some(sh) = &l.sheaves {
        for sheaf in sh.per_cpu(k, cache, cpu_offsets, &|a, what| k.u64(a, what))? {
            free = free.saturating_add(sh.len(k, sheaf)?);
        }
    }
    let mut total = 0u64;
    for n in 0..nr_nodes(k) {
        let entry = cache.wrapping_add(l.node + n * l.node_stride);
        let node = k.u64(entry.wrapping_add(l.node_ptr), "kmem_cache node pointer")?;
        if !k.is_kernel_ptr(node, 8) {
            continue;
        }
        total = total.saturating_add(k.u64(
            node.wrapping_add(l.n_total),
            "kmem_cache_node.total_objects",
        )?);
        for s in crate::links::list_entries(
            k,
            node.wrapping_add(l.n_partial),
            l.s_list,
            MAX_PARTIAL,
            "kmem_cache_node.partial",
            w,
        ) {
            free = free.saturating_add(slab_free(s)?);
        }
        if let Some(sh) = &l.sheaves {
            for sheaf in l.full_sheaves(k, entry, node, w)? {
                free = free.saturating_add(sh.len(k, sheaf)?);
            }
        }
    }
    Ok(SlabUsage {
        slot_size,
        total_objects: total,
        active_objects: total.saturating_sub(free),
    })
}

/// What the referrer scan needs of one cache.
#[derive(Debug, Clone)]
pub(crate) struct CacheFacts {
    pub name: String,
    /// Bytes per slot.
    pub size: u64,
    fp_offset: u64,
    random: Option<u64>,
}

/// A slab: its cache, its objects and the head of its own freelist.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slab {
    pub cache: u64,
    pub objects: u64,
    freelist: u64,
}

/// The objects of slabs, allocated or free: what the referrer scan reads.
pub(crate) struct Objects {
    l: Layout,
    s_freelist: u64,
}

impl Objects {
    /// The layout, where the kernel's slabs name their freelist.
    pub(crate) fn resolve(k: &Kernel) -> Result<Objects> {
        let l = Layout::resolve(k).map_err(|e| k.layout_error(e))?;
        let s_freelist = match l.s_freelist {
            Some(f) => f,
            None => {
                k.types
                    .member("slab", "freelist")
                    .map_err(|e| k.layout_error(e))?;
                0
            }
        };
        Ok(Objects { l, s_freelist })
    }

    /// The slab whose head `struct page` is at `page`.
    pub(crate) fn slab(&self, k: &Kernel, page: u64) -> Result<Slab> {
        let l = &self.l;
        let raw = k.bytes(page.wrapping_add(l.s_objects.byte), 8, "slab objects")?;
        Ok(Slab {
            cache: k.u64(page.wrapping_add(l.s_cache), "slab.slab_cache")?,
            objects: Bit {
                byte: 0,
                ..l.s_objects
            }
            .get(&raw),
            freelist: k.u64(page.wrapping_add(self.s_freelist), "slab.freelist")?,
        })
    }

    /// The facts of the cache at `cache`.
    pub(crate) fn cache(&self, k: &Kernel, cache: u64) -> Result<CacheFacts> {
        let l = &self.l;
        let name = k.u64(cache.wrapping_add(l.name), "kmem_cache.name")?;
        Ok(CacheFacts {
            name: k.cstr(name, 64, "kmem_cache name")?,
            size: u64::from(k.u32(cache.wrapping_add(l.size), "kmem_cache.size")?),
            fp_offset: u64::from(k.u32(cache.wrapping_add(l.offset), "kmem_cache.offset")?),
            random: match l.random {
                Some(r) => Some(k.u64(cache.wrapping_add(r), "kmem_cache.random")?),
                None => None,
            },
        })
    }

    /// The free objects on `slab`'s own freelist (the slab's memory `mem`, read from `va`):
    /// the chain stops, with the objects found so far, at a pointer outside the slab or a loop.
    pub(crate) fn slab_free(&self, slab: &Slab, f: &CacheFacts, va: u64, mem: &[u8]) -> Set<u64> {
        let mut out = Set::default();
        let mut p = slab.freelist;
        let end = va + mem.len() as u64;
        while p != 0 && (va..end).contains(&p) && out.len() < MAX_FREELIST {
            if !out.insert(p) {
                break;
            }
            let at = p.wrapping_add(f.fp_offset);
            let Some(raw) = at
                .checked_sub(va)
                .and_then(|o| mem.get(o as usize..o as usize + 8))
            else {
                break;
            };
            p = decode(
                u64::from_le_bytes(raw.try_into().unwrap_or_default()),
                at,
                f.random,
            );
        }
        out
    }

    /// Every cache's free objects held per CPU (over the possible CPUs `cpu_offsets`): each
    /// lockless freelist (to 7.0), each `main` and `spare` sheaf and each node barn's full
    /// sheaves (6.18+). What cannot be read is a warning: those objects are read as allocated.
    pub(crate) fn cpu_free(
        &self,
        k: &Kernel,
        cpu_offsets: &[(u32, u64)],
        w: &mut Warnings,
    ) -> Set<u64> {
        let l = &self.l;
        let mut out = Set::default();
        let Ok(head) = k.global("slab_caches") else {
            return out;
        };
        let mut failed = 0u32;
        for cache in crate::links::list_entries(k, head, l.list, MAX_CACHES, "slab_caches", w) {
            if self
                .cpu_free_of(k, cache, cpu_offsets, w, &mut out)
                .is_err()
            {
                failed += 1;
            }
        }
        if failed > 0 {
            w.push(
                WarningKind::Unreadable,
                None,
                format!("referrer scan: the per-CPU free objects of {failed} caches could not be read; they are read as allocated"),
            );
        }
        out
    }

    fn cpu_free_of(
        &self,
        k: &Kernel,
        cache: u64,
        cpu_offsets: &[(u32, u64)],
        w: &mut Warnings,
        out: &mut Set<u64>,
    ) -> Result<()> {
        let l = &self.l;
        let f = self.cache(k, cache)?;
        // (a per-CPU word on a page the dump filtered as zero is 0: no freelist, no sheaf)
        let word = |a: u64, what: &str| match k.u64(a, what) {
            Err(e) if e.is_filtered() => Ok(0),
            r => r,
        };
        if let Some(cl) = &l.cpu {
            let cpu_slab = k.u64(cache.wrapping_add(cl.cpu_slab), "kmem_cache.cpu_slab")?;
            for &(_, off) in cpu_offsets {
                let c = cpu_slab.wrapping_add(off);
                // (silently cut where the list goes bad, or reaches an object already taken)
                let head = word(c.wrapping_add(cl.c_freelist), "kmem_cache_cpu.freelist")?;
                walk_freelist(k, head, (f.fp_offset, f.random), 8, |p| out.insert(p))?;
            }
        }
        let Some(sh) = &l.sheaves else {
            return Ok(());
        };
        let Some(objects) = sh.objects else {
            return Ok(());
        };
        let sheaf_objects = |sheaf: u64, out: &mut Set<u64>| -> Result<()> {
            let n = sh.len(k, sheaf)?;
            out.extend(k.u64s(
                sheaf.wrapping_add(objects),
                n as usize,
                "slab_sheaf.objects",
            )?);
            Ok(())
        };
        for sheaf in sh.per_cpu(k, cache, cpu_offsets, &word)? {
            sheaf_objects(sheaf, out)?;
        }
        for n in 0..nr_nodes(k) {
            let entry = cache.wrapping_add(l.node + n * l.node_stride);
            let node = k.u64(entry.wrapping_add(l.node_ptr), "kmem_cache node pointer")?;
            for sheaf in l.full_sheaves(k, entry, node, w)? {
                sheaf_objects(sheaf, out)?;
            }
        }
        Ok(())
    }
}
