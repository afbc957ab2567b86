//! The reverse-reference scan (`shared/spec/meminfo.md` §5): for the `other` pages no rule
//! names, who in the kernel's memory holds a pointer to them.
//!
//! One pass over the memory that holds the kernel's pointers, in this order (the first
//! referrer found names an allocation):
//!
//! | where | referrer named as |
//! |---|---|
//! | the image's data, `.data..ro_after_init` and bss (`_sdata`…`_edata`, `__start_ro_after_init`…, `__bss_start`…`__bss_stop`) | `symbol+0xoff` |
//! | each possible CPU's first per-CPU chunk (`__per_cpu_offset[cpu]` + `__per_cpu_start`, `pcpu_unit_size` bytes) | `CPU n symbol+0xoff`, or `CPU n per-CPU +0xoff` past the static variables |
//! | the vmalloc areas that have pages (`vm_struct.pages`): module data, vmalloc'ed tables, kernel stacks | `vmalloc <caller> 0xaddr+0xoff` |
//! | the allocated objects of every slab (free objects — the slab's freelist, each CPU's lockless freelist — are left out: a freed object's stale words name nothing) | `slab <cache> 0xobject+0xoff` |
//!
//! A word refers to an allocation when it is the direct-map address of a byte of it (the
//! kernel's virtual address of its memory, `page_address()`), or the address of one of its
//! `struct page`s. An allocation is a compound page (head and tails), or one page. Physical
//! and DMA addresses are not looked for: a small number is too often one by chance.
//!
//! Memory stays bounded: the allocations looked for (at most the census's
//! `MAX_UNITS`) and a bitmap of pfns (of 2^k-pfn regions past 256 GiB) of at most 2^26
//! bits (8 MiB); reads are 1 MiB at a time.

use serde::Serialize;

use crate::warnings::{WarningKind, Warnings};
use crate::Kernel;

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;
/// The filter's size in bits (8 MiB): one bit per pfn up to 256 GiB of RAM, per 2^k pfns beyond.
const MAX_COARSE_BITS: u64 = 1 << 26;
/// Most bytes of vmalloc areas scanned (a machine's vmalloc space in use is far less).
const MAX_VMALLOC_BYTES: u64 = 64 << 30;

/// Where a referrer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Region {
    /// The kernel image's data, read-only-after-init data or bss.
    Image,
    /// A per-CPU area.
    PerCpu,
    /// A vmalloc area.
    Vmalloc,
    /// An allocated slab object.
    Slab,
}

/// How a referrer's word points at the allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Via {
    /// The direct-map address of a byte of it.
    DirectMap,
    /// The address of one of its `struct page`s.
    StructPage,
}

/// An allocation of `other` pages and the first word found pointing at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Referrer {
    /// The allocation's first pfn.
    pub pfn: u64,
    /// Its head `struct page`.
    pub page: u64,
    /// Its pages.
    pub pages: u64,
    /// The address of the word that points at it.
    pub at: u64,
    /// The word's value.
    pub value: u64,
    /// How it points.
    pub via: Via,
    /// Where the word is.
    pub region: Region,
    /// The word's place for a person: `table_perturb+0x8`, `CPU 1 runqueues+0x40`,
    /// `slab kmalloc-512 0xffff…+0x18`, `vmalloc load_module 0xffffffffc0…+0x1c0`.
    pub name: String,
    /// What the census groups it under (`census.owners.referenced`): the symbol, per-CPU
    /// symbol, slab cache or vmalloc caller.
    pub group: String,
}

/// The allocations looked for, and where in the kernel's address spaces they are.
struct Targets<'a> {
    /// (head pfn, pages), in pfn order.
    units: &'a [(u64, u32)],
    /// One bit per 2^`shift` pfns holding any unit.
    coarse: Vec<u64>,
    shift: u32,
    max_pfn: u64,
    vmemmap: u64,
    page_size_of_struct: u64,
    direct: crate::kernel::DirectMap,
    space: crate::space::KernelSpace,
}

impl<'a> Targets<'a> {
    fn new(k: &Kernel, units: &'a [(u64, u32)], max_pfn: u64, struct_page: u64) -> Targets<'a> {
        let mut shift = 0;
        while max_pfn >> shift > MAX_COARSE_BITS {
            shift += 1;
        }
        let mut coarse = vec![0u64; ((max_pfn >> shift) / 64 + 1) as usize];
        for &(head, n) in units {
            for r in (head >> shift)..=((head + u64::from(n.max(1)) - 1) >> shift) {
                if let Some(b) = coarse.get_mut((r / 64) as usize) {
                    *b |= 1 << (r % 64);
                }
            }
        }
        Targets {
            units,
            coarse,
            shift,
            max_pfn,
            vmemmap: k.vmemmap_base(),
            page_size_of_struct: struct_page.max(1),
            direct: k.direct_map(),
            space: k.space(),
        }
    }

    /// The unit pfn `pfn` is in.
    fn unit(&self, pfn: u64) -> Option<usize> {
        if pfn >= self.max_pfn {
            return None;
        }
        let r = pfn >> self.shift;
        if self.coarse[(r / 64) as usize] >> (r % 64) & 1 == 0 {
            return None;
        }
        let i = self
            .units
            .partition_point(|&(h, _)| h <= pfn)
            .checked_sub(1)?;
        let (h, n) = self.units[i];
        (pfn < h + u64::from(n)).then_some(i)
    }

    /// The unit word `v` points into, and how.
    fn of(&self, v: u64) -> Option<(usize, Via)> {
        let d = v.wrapping_sub(self.vmemmap);
        if d < self.max_pfn.saturating_mul(self.page_size_of_struct) {
            return d
                .is_multiple_of(self.page_size_of_struct)
                .then(|| {
                    self.unit(d / self.page_size_of_struct)
                        .map(|u| (u, Via::StructPage))
                })
                .flatten();
        }
        self.direct
            .pfn(v)
            .and_then(|pfn| self.unit(pfn))
            .map(|u| (u, Via::DirectMap))
    }
}

/// What the scan found and read.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// One per allocation a word points at, in pfn order.
    pub referrers: Vec<Referrer>,
    /// Bytes of kernel memory scanned.
    pub scanned: u64,
}

/// A word found for unit `u`, not yet named.
#[derive(Clone, Copy)]
struct Hit {
    at: u64,
    value: u64,
    via: Via,
    region: Region,
    /// For a per-CPU hit, (cpu, its offset); for a vmalloc hit, the index of its caller's
    /// name and the area's start; for a slab hit, its cache and its object.
    ctx: (u64, u64),
}

struct Scan<'a, 'k> {
    k: &'k Kernel,
    t: Targets<'a>,
    hits: Vec<Option<Hit>>,
    left: usize,
    scanned: u64,
    names: Vec<String>,
    /// Each slab cache read, `slab <name>` by `kmem_cache` address.
    cache_names: crate::hash::Map<u64, String>,
}

impl Targets<'_> {
    /// Each word of `buf` (read from `addr`) that points into an allocation from outside it:
    /// `hit(unit, word address, value, how)`, in address order.
    fn words(&self, addr: u64, buf: &[u8], mut hit: impl FnMut(usize, u64, u64, Via)) {
        for (i, c) in buf.chunks_exact(8).enumerate() {
            let v = u64::from_le_bytes(c.try_into().unwrap_or_default());
            if v == 0 || !self.space.contains(v, 1) {
                continue;
            }
            if let Some((u, via)) = self.of(v) {
                let at = addr.wrapping_add((i as u64) * 8);
                // a word inside the allocation itself refers to nothing
                if self.of(at).map(|x| x.0) != Some(u) {
                    hit(u, at, v, via);
                }
            }
        }
    }
}

impl Scan<'_, '_> {
    /// Look at the words of `buf`, read from `addr`: each allocation not yet referred to takes
    /// the first word found pointing at it.
    fn words(&mut self, addr: u64, buf: &[u8], region: Region, ctx: (u64, u64)) {
        self.scanned += buf.len() as u64;
        let (hits, left) = (&mut self.hits, &mut self.left);
        self.t.words(addr, buf, |u, at, value, via| {
            if hits[u].is_none() {
                hits[u] = Some(Hit {
                    at,
                    value,
                    via,
                    region,
                    ctx,
                });
                *left -= 1;
            }
        });
    }

    /// Scan `len` bytes of kernel virtual memory from `addr`; what cannot be read is counted in
    /// `unreadable` (pages).
    fn range(
        &mut self,
        addr: u64,
        len: u64,
        region: Region,
        ctx: (u64, u64),
        unreadable: &mut u64,
    ) {
        let ps = self.k.page_size().max(1);
        let mut buf = vec![0u8; CHUNK];
        let mut at = addr & !7;
        let end = addr.saturating_add(len);
        while at < end && self.left > 0 {
            let n = (CHUNK as u64).min(end - at) as usize;
            if self.k.read(at, &mut buf[..n], "referrer scan").is_ok() {
                self.words(at, &buf[..n], region, ctx);
            } else {
                // page by page: a hole costs only its own pages
                let mut p = at;
                while p < at + n as u64 {
                    let m = (ps - p % ps).min(at + n as u64 - p) as usize;
                    match self.k.read(p, &mut buf[..m], "referrer scan") {
                        Ok(()) => self.words(p, &buf[..m], region, ctx),
                        Err(e) if e.is_filtered() => {}
                        Err(_) => *unreadable += 1,
                    }
                    p += m as u64;
                }
            }
            at += n as u64;
        }
    }
}

/// A vmalloc area with pages.
#[derive(Debug, Clone)]
pub(crate) struct Area {
    /// `vm_struct.addr`.
    pub addr: u64,
    /// Its `struct page`s (`vm_struct.pages[]`).
    pub pages: Vec<u64>,
    /// Its caller, an index into the callers' names.
    pub caller: u32,
}

/// Find who points at the allocations `units` ((head pfn, pages), in pfn order, below
/// `max_pfn`): the image's data, the per-CPU areas, the vmalloc areas `areas`, then the
/// allocated objects of the slabs `slab_units`. What cannot be read is a warning; the scan goes on without it.
pub(crate) fn scan(
    k: &Kernel,
    units: &[(u64, u32)],
    max_pfn: u64,
    (areas, callers): (&[Area], &[String]),
    slab_units: &[(u64, u32)],
    w: &mut Warnings,
) -> Found {
    let Ok(off) = k.off() else {
        return Found::default();
    };
    if units.is_empty() {
        return Found::default();
    }
    let mut s = Scan {
        k,
        t: Targets::new(k, units, max_pfn, off.page.size),
        hits: vec![None; units.len()],
        left: units.len(),
        scanned: 0,
        names: Vec::new(),
        cache_names: crate::hash::Map::default(),
    };
    let mut unreadable = 0u64;
    // the image
    for (a, b) in [
        ("_sdata", "_edata"),
        ("__start_ro_after_init", "__end_ro_after_init"),
        ("__bss_start", "__bss_stop"),
    ] {
        if let (Ok(a), Ok(b)) = (k.symbol(a), k.symbol(b)) {
            if a < b && b - a < 1 << 30 {
                s.range(a, b - a, Region::Image, (0, 0), &mut unreadable);
            }
        }
    }
    // the possible CPUs, for their per-CPU areas and their slab caches' free objects
    let cpus = crate::cpus::possible_cpu_offsets(k, w)
        .map(|(_, c)| c)
        .unwrap_or_default();
    percpu(&mut s, &cpus, &mut unreadable);
    vmalloc(&mut s, areas, callers, w, &mut unreadable);
    if s.left > 0 {
        slabs(&mut s, slab_units, &cpus, w, &mut unreadable);
    }
    if unreadable > 0 {
        w.push(
            WarningKind::Unreadable,
            None,
            format!("referrer scan: {unreadable} pages of kernel memory could not be read; their pointers are not known"),
        );
    }
    let referrers = named(&s, off.page.size);
    Found {
        referrers,
        scanned: s.scanned,
    }
}

/// The vmalloc areas' pages, each read through the direct map (its `struct page`).
fn vmalloc(
    s: &mut Scan<'_, '_>,
    areas: &[Area],
    callers: &[String],
    w: &mut Warnings,
    unreadable: &mut u64,
) {
    let k = s.k;
    let Ok(struct_page) = k.off().map(|o| o.page.size.max(1)) else {
        return;
    };
    let ps = k.page_size().max(1);
    let base = s.names.len() as u64;
    s.names.extend(callers.iter().cloned());
    let mut buf = vec![0u8; ps as usize];
    let mut total = 0u64;
    for a in areas {
        if s.left == 0 {
            break;
        }
        total += a.pages.len() as u64 * ps;
        if total > MAX_VMALLOC_BYTES {
            w.push(
                WarningKind::Limit,
                None,
                "referrer scan: more vmalloc memory than any machine has; the rest is not scanned",
            );
            break;
        }
        for (i, &page) in a.pages.iter().enumerate() {
            let pfn = page.wrapping_sub(k.vmemmap_base()) / struct_page;
            let Some(va) = k.pfn_va(pfn) else {
                *unreadable += 1;
                continue;
            };
            match k.read(va, &mut buf, "vmalloc page") {
                Ok(()) => s.words(
                    a.addr.wrapping_add(i as u64 * ps),
                    &buf,
                    Region::Vmalloc,
                    (base + u64::from(a.caller), a.addr),
                ),
                Err(e) if e.is_filtered() => {}
                Err(_) => *unreadable += 1,
            }
        }
    }
}

/// Each possible CPU's first per-CPU chunk (`cpus`: `(cpu, __per_cpu_offset[cpu])`).
fn percpu(s: &mut Scan<'_, '_>, cpus: &[(u32, u64)], unreadable: &mut u64) {
    let k = s.k;
    let (Ok(start), Ok(end)) = (
        k.percpu_symbol("__per_cpu_start"),
        k.percpu_symbol("__per_cpu_end"),
    ) else {
        return;
    };
    let unit = k
        .global("pcpu_unit_size")
        .and_then(|a| k.u32(a, "pcpu_unit_size"))
        .map(u64::from)
        .unwrap_or(end.wrapping_sub(start))
        .min(64 << 20);
    for &(cpu, o) in cpus {
        s.range(
            start.wrapping_add(o),
            unit,
            Region::PerCpu,
            (u64::from(cpu), o),
            unreadable,
        );
    }
}

/// Most pages of one slab read (the buddy allocator's largest block: 4 MiB of 4 KiB pages).
const MAX_SLAB_PAGES: u64 = 1 << 10;
/// Slabs one thread reads at a time.
const SLAB_BATCH: usize = 256;

/// What one thread found in a run of slabs: the first hit of each allocation, in order.
#[derive(Default)]
struct SlabHits {
    hits: crate::hash::Map<usize, Hit>,
    /// The names of the caches it read (`slab <name>`), by `kmem_cache` address.
    names: crate::hash::Map<u64, String>,
    scanned: u64,
    unreadable: u64,
    unknown: u64,
}

/// The allocated objects of the slabs `slab_units` ((first pfn, pages)), on every core: runs of
/// slabs read in parallel, their hits taken in pfn order (the answer one pass gives).
fn slabs(
    s: &mut Scan<'_, '_>,
    slab_units: &[(u64, u32)],
    cpus: &[(u32, u64)],
    w: &mut Warnings,
    unreadable: &mut u64,
) {
    let k = s.k;
    let l = match crate::slab::Objects::resolve(k) {
        Ok(l) => l,
        Err(e) => {
            w.push(
                WarningKind::of(&e),
                None,
                format!("referrer scan: slab objects are not scanned: {e}"),
            );
            return;
        }
    };
    let Ok(struct_page) = k.off().map(|o| o.page.size) else {
        return;
    };
    let free = l.cpu_free(k, cpus, w);
    let threads = crate::parallel::threads();
    let batches: Vec<&[(u64, u32)]> = slab_units.chunks(SLAB_BATCH).collect();
    let mut unknown = 0u64;
    for group in batches.chunks(threads.max(1) * 4) {
        if s.left == 0 {
            break;
        }
        let t = &s.t;
        let found = crate::parallel::map(group.len(), threads, |i| {
            slab_run(k, &l, &free, t, group[i], struct_page)
        });
        for f in found {
            s.scanned += f.scanned;
            *unreadable += f.unreadable;
            unknown += f.unknown;
            s.cache_names.extend(f.names);
            let mut hits: Vec<(usize, Hit)> = f.hits.into_iter().collect();
            hits.sort_by_key(|(_, h)| h.at);
            for (u, h) in hits {
                if s.hits[u].is_none() {
                    s.hits[u] = Some(h);
                    s.left -= 1;
                }
            }
        }
    }
    if unknown > 0 {
        w.push(
            WarningKind::Corrupt,
            None,
            format!("referrer scan: {unknown} slabs name no readable cache or have an impossible size; their objects are not scanned"),
        );
    }
}

/// The allocated objects of the slabs `run`, in order; a slab hit's context is (its cache,
/// its object).
fn slab_run(
    k: &Kernel,
    l: &crate::slab::Objects,
    free: &crate::hash::Set<u64>,
    t: &Targets<'_>,
    run: &[(u64, u32)],
    struct_page: u64,
) -> SlabHits {
    let mut out = SlabHits::default();
    let mut caches: crate::hash::Map<u64, Option<crate::slab::CacheFacts>> =
        crate::hash::Map::default();
    let ps = k.page_size().max(1);
    let mut buf = Vec::new();
    for &(pfn, pages) in run {
        if u64::from(pages) > MAX_SLAB_PAGES {
            // no slab is larger than the buddy allocator's largest block: a corrupt order
            out.unknown += 1;
            continue;
        }
        let page = k.vmemmap_base().wrapping_add(pfn * struct_page);
        let (Ok(slab), Some(va)) = (l.slab(k, page), k.pfn_va(pfn)) else {
            out.unknown += 1;
            continue;
        };
        let Some(f) = caches
            .entry(slab.cache)
            .or_insert_with(|| l.cache(k, slab.cache).ok())
            .clone()
        else {
            out.unknown += 1;
            continue;
        };
        out.names
            .entry(slab.cache)
            .or_insert_with(|| format!("slab {}", f.name));
        buf.resize((u64::from(pages) * ps) as usize, 0);
        if let Err(e) = k.read(va, &mut buf, "slab") {
            // a slab whose pages the dump filtered as zero holds no pointer; read page by page,
            // what is kept is scanned
            if !e.is_filtered() {
                out.unreadable += u64::from(pages);
                continue;
            }
            for (i, chunk) in buf.chunks_mut(ps as usize).enumerate() {
                match k.read(va + i as u64 * ps, chunk, "slab page") {
                    Ok(()) => {}
                    Err(e) if e.is_filtered() => chunk.fill(0),
                    Err(_) => {
                        out.unreadable += 1;
                        chunk.fill(0);
                    }
                }
            }
        }
        out.scanned += buf.len() as u64;
        let freed = l.slab_free(&slab, &f, va, &buf);
        let size = f.size.max(8) as usize;
        let n = (slab.objects as usize).min(buf.len() / size);
        for i in 0..n {
            let obj = va + (i * size) as u64;
            if freed.contains(&obj) || free.contains(&obj) {
                continue;
            }
            let hits = &mut out.hits;
            t.words(obj, &buf[i * size..(i + 1) * size], |u, at, value, via| {
                hits.entry(u).or_insert(Hit {
                    at,
                    value,
                    via,
                    region: Region::Slab,
                    ctx: (slab.cache, obj),
                });
            });
        }
    }
    out
}

/// The referrers found, named.
fn named(s: &Scan<'_, '_>, struct_page: u64) -> Vec<Referrer> {
    let k = s.k;
    let mut out = Vec::new();
    for (u, h) in s.hits.iter().enumerate() {
        let Some(h) = h else { continue };
        let (head, n) = s.t.units[u];
        let (name, group) = match h.region {
            Region::Image => {
                let sym = k.symbolize(h.at).unwrap_or_else(|| format!("{:#x}", h.at));
                let group = sym.split('+').next().unwrap_or(&sym).to_string();
                (sym, group)
            }
            Region::PerCpu => {
                let (cpu, o) = h.ctx;
                match k.percpu_symbolize(h.at.wrapping_sub(o)) {
                    Some(sym) => {
                        let group = format!("per-CPU {}", sym.split('+').next().unwrap_or(&sym));
                        (format!("CPU {cpu} {sym}"), group)
                    }
                    None => (
                        format!("CPU {cpu} per-CPU {:#x}", h.at),
                        "per-CPU dynamic area".to_string(),
                    ),
                }
            }
            Region::Vmalloc => {
                let (i, start) = h.ctx;
                let what = s.names.get(i as usize).map_or("?", String::as_str);
                let group = format!("vmalloc {what}");
                (format!("{group} {start:#x}+{:#x}", h.at - start), group)
            }
            Region::Slab => {
                let (cache, obj) = h.ctx;
                // (a slab is scanned only once its cache was read, its name with it)
                let group = s
                    .cache_names
                    .get(&cache)
                    .cloned()
                    .unwrap_or_else(|| format!("slab {cache:#x}"));
                (format!("{group} {obj:#x}+{:#x}", h.at - obj), group)
            }
        };
        out.push(Referrer {
            pfn: head,
            page: k.vmemmap_base().wrapping_add(head * struct_page),
            pages: u64::from(n),
            at: h.at,
            value: h.value,
            via: h.via,
            region: h.region,
            name,
            group,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
    use testdata::synth::SynthKernel;
    use testdata::world::WorldConfig;

    /// Pages no rule names, one pointed at by a kmalloc object's word (its direct-map
    /// address), one by a struct page address, one by nothing: the census names the first two
    /// `referenced` with the slab cache and the word, the third stays unattributed.
    #[test]
    fn a_word_in_a_slab_object_names_the_page_it_points_at() {
        let dir = crate::testing::scratch("referrers");
        let k = SynthKernel::build_gen(&dir.join("k"), 5, 61).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 4 });
        let ps = w.page_size();
        let mut pages = Vec::new();
        for _ in 0..3 {
            let p = w.alloc_pages(0);
            let sp = w.page_struct(p / ps);
            w.write_u32(sp + w.k.o("page._refcount"), 1);
            pages.push(p);
        }
        let (obj, _) = w.kmalloc(128);
        w.write_u64(obj + 0x18, w.virt(pages[0]) + 0x40);
        w.write_u64(obj + 0x20, w.page_struct(pages[1] / ps));
        let path = dir.join("vmcore.elf");
        write_qemu_elf(&mut w, &path, true).unwrap();
        let opts = crate::kernel::OpenOptions {
            vmlinux: Some(w.k.vmlinux.clone()),
            cache_dir: Some(None),
            ..Default::default()
        };
        let k = crate::Kernel::open_with(&path, &opts).unwrap();
        let mi = crate::meminfo::meminfo(&k).unwrap();
        let c = mi.census.expect("a census");
        let by_pfn = |pfn: u64| c.referrers.iter().find(|r| r.pfn == pfn);
        let r0 = by_pfn(pages[0] / ps).expect("the page the object points into");
        assert_eq!(
            (r0.at, r0.via, r0.region),
            (obj + 0x18, super::Via::DirectMap, super::Region::Slab)
        );
        assert_eq!(r0.group, "slab kmalloc-128");
        assert_eq!(r0.name, format!("slab kmalloc-128 {obj:#x}+0x18"));
        let r1 = by_pfn(pages[1] / ps).expect("the page whose struct page the object names");
        assert_eq!((r1.at, r1.via), (obj + 0x20, super::Via::StructPage));
        assert!(by_pfn(pages[2] / ps).is_none());
        assert!(c
            .unattributed_largest
            .iter()
            .any(|a| a.pfn == pages[2] / ps));
        assert_eq!(
            c.other.referenced,
            c.referrers.iter().map(|r| r.pages).sum::<u64>()
        );
        assert!(c.owners["referenced"]
            .iter()
            .any(|h| h.holder == "slab kmalloc-128" && h.pages >= 2));
        // the same machine as makedumpfile -d 1 writes it (zero pages left out): the pages the
        // scan reads that the dump filtered are zeros, not unreadable memory
        let kd = dir.join("vmcore.kdump");
        std::fs::write(&kd, testdata::sample::kdump_without_zero_pages(&w)).unwrap();
        let kk = crate::Kernel::open_with(&kd, &opts).unwrap();
        let ck = crate::meminfo::meminfo(&kk)
            .unwrap()
            .census
            .expect("a census");
        assert_eq!(ck.referrers, c.referrers);
        assert!(
            !ck.warnings
                .iter()
                .any(|w| w.message.contains("referrer scan")),
            "{:?}",
            ck.warnings
        );
        // the only owner beyond socket queues: explain says what it is and where the pointers are
        let ex = crate::explain::explain(&k).unwrap();
        let lo = ex.largest_owner.expect("a largest owner");
        assert_eq!(lo.owner, "referenced");
        assert!(
            ex.summary.contains("pages only a pointer names")
                && ex.summary.contains("most pointed at from slab kmalloc-128"),
            "{}",
            ex.summary
        );
    }
}
