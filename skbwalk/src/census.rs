//! The page census (`shared/spec/meminfo.md` §3): every `struct page` of the dump, classified by
//! the first rule that matches, in one pass of large sequential reads of the vmemmap.
//!
//! | rule | class |
//! |---|---|
//! | its `struct page` cannot be read | `unreadable` |
//! | `PG_reserved` | `reserved` |
//! | head of a free buddy block: it and the next 2^order − 1 pfns | `free` |
//! | a compound tail | its head's class |
//! | slab | `slab` |
//! | page table | `page_table` |
//! | `PG_lru` | `lru_anon` (`PG_swapbacked`) or `lru_file` |
//! | `_refcount` 0, and no page type naming an owner (large kmalloc, offline, zsmalloc) | `unused` |
//! | anything else | `other`: `skb` (held by a socket queue), `vmalloc`, the owners the kernel's structures name (`owners.rs`), `referenced` (a pointer names it: `referrers.rs`), `unattributed` |
//!
//! The pfns are `min_low_pfn` to `max_pfn`: arm64's RAM starts at `PHYS_OFFSET`, and what the
//! vmemmap holds below its first struct page is other memory.

use std::collections::BTreeMap;

use crate::hash::Set;

use serde::Serialize;

use crate::counter::Counter;
use crate::owner::Owner;
use crate::owners::{Named, OwnerHolder};
use crate::struct_page::StructPage;
use crate::warnings::{Warning, WarningKind, Warnings};
use crate::{Kernel, Result};

/// Struct pages read per vmemmap read.
const CHUNK_PAGES: u64 = 4096;
/// Largest buddy order believed (MAX_ORDER is 10 or 11; MAX_PAGE_ORDER 10).
const MAX_BUDDY_ORDER: u64 = 11;
/// Largest compound order believed (gigantic pages: 18).
const MAX_COMPOUND_ORDER: u32 = 18;
/// Most vmalloc areas and pages followed.
const MAX_VMAP_AREAS: usize = 1 << 22;
const MAX_VMALLOC_PAGES: u64 = 1 << 28;
/// Most unattributed allocations the reverse-reference scan looks for, and most slabs it reads
/// (16 bytes each).
const MAX_UNITS: usize = 1 << 22;

/// A census class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Class {
    /// The struct page could not be read.
    Unreadable,
    /// `PG_reserved`.
    Reserved,
    /// In a free buddy block.
    Free,
    /// Slab.
    Slab,
    /// Page table.
    PageTable,
    /// On an LRU, swap-backed (anon, shmem).
    LruAnon,
    /// On an LRU, file-backed.
    LruFile,
    /// Refcount 0 but not in the buddy lists (per-CPU lists, being freed).
    Unused,
    /// Anything else: pages taken straight from the buddy allocator.
    Other,
}

impl Class {
    /// The spec's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Unreadable => "unreadable",
            Class::Reserved => "reserved",
            Class::Free => "free",
            Class::Slab => "slab",
            Class::PageTable => "page_table",
            Class::LruAnon => "lru_anon",
            Class::LruFile => "lru_file",
            Class::Unused => "unused",
            Class::Other => "other",
        }
    }
}

/// `OtherSplit`, its parts in order and the field of each [`Owner`], from one list: a new owner
/// is one line here (and a missing one a compile error in `of`).
macro_rules! other_split {
    ($( $(#[$doc:meta])* $field:ident $(=> $owner:ident)?, )*) => {
        /// `other` split by owner.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        #[non_exhaustive]
        pub struct OtherSplit {
            $( $(#[$doc])* pub $field: u64, )*
        }

        impl OtherSplit {
            /// How many parts there are.
            pub const PARTS: usize = [$(stringify!($field)),*].len();

            /// Every part by its key (`census.other.<key>`), in the order the census asks them.
            pub fn parts(&self) -> [(&'static str, u64); Self::PARTS] {
                [$((stringify!($field), self.$field)),*]
            }

            /// The pages of `owner`.
            fn of(&mut self, owner: Owner) -> &mut u64 {
                match owner {
                    $($(Owner::$owner => &mut self.$field,)?)*
                }
            }

            fn add(&mut self, o: &OtherSplit) {
                $(self.$field += o.$field;)*
            }
        }
    };
}

other_split! {
    /// Compound pages a socket queue's skb references (frag or `head_frag` head).
    skb,
    /// Pages in some `vm_struct.pages[]`.
    vmalloc,
    /// page_pool pages ([`crate::owners`]).
    page_pool => PagePool,
    /// The current pages of page-frag caches.
    page_frag => PageFrag,
    /// Pipe buffers.
    pipe => Pipe,
    /// AF_PACKET rings.
    packet_ring => PacketRing,
    /// Tracing ring buffers.
    trace_ring => TraceRing,
    /// perf events' ring buffers.
    perf_ring => PerfRing,
    /// io_uring rings and SQE arrays.
    io_uring => IoUring,
    /// NIC rings: posted receive/transmit buffers and ring memory.
    nic_ring => NicRing,
    /// The kernel's large hash tables made after boot.
    hash_table => HashTable,
    /// The kernel's own page tables (no `PG_table`).
    kernel_page_table => KernelPageTable,
    /// Large kmalloc pages (typed from 6.15).
    large_kmalloc => LargeKmalloc,
    /// Offline (balloon, hot-unplugged) pages.
    offline => Offline,
    /// zsmalloc pages.
    zsmalloc => Zsmalloc,
    /// Pages no rule names, but a pointer the reverse-reference scan found does
    /// ([`Census::referrers`]).
    referenced => Referenced,
    /// The rest.
    unattributed,
}

/// One class next to the counter it should agree with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// The class.
    pub class: &'static str,
    /// Its pages in the census.
    pub census: u64,
    /// The counters it is compared with (`+`-joined).
    pub counter: String,
    /// Their exact value, in pages.
    pub counter_pages: i64,
    /// census − counter.
    pub difference: i64,
}

/// The census.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Census {
    /// Pages classified (every pfn below `max_pfn` that has a struct page).
    pub pages: u64,
    /// Pages per class.
    pub classes: BTreeMap<&'static str, u64>,
    /// `other`, by owner.
    pub other: OtherSplit,
    /// Who holds each owner's pages (`census.owners.<key>`), most pages first.
    pub owners: BTreeMap<&'static str, Vec<OwnerHolder>>,
    /// Classes against counters.
    pub checks: Vec<Check>,
    /// Pages charged to a memory cgroup, by what their `struct page` names (a memcg or an
    /// `obj_cgroup`, see `memcg.rs`) and class: what `cgroups` resolves to each memcg.
    #[serde(skip)]
    pub(crate) charged: BTreeMap<(crate::memcg::ChargeKey, &'static str), u64>,
    /// The allocations of `other` only a pointer names (`other.referenced`): each with the
    /// first word the reverse-reference scan found pointing at it, in pfn order.
    pub referrers: Vec<crate::referrers::Referrer>,
    /// Bytes of kernel memory the reverse-reference scan read.
    pub referrer_scan_bytes: u64,
    /// The largest allocations still `unattributed` (at most [`LARGEST_UNATTRIBUTED`], by
    /// pages, then pfn): where to look next, with `crash` or drgn.
    pub unattributed_largest: Vec<Allocation>,
    /// Whether every struct page and owner list could be read.
    pub complete: bool,
    /// What could not.
    pub warnings: Vec<Warning>,
}

/// Every `struct page` of the vmalloc areas (`vmap_area_list`, or 6.9+'s `vmap_nodes[].busy`).
/// The pages of the vmalloc areas, each with the caller that asked for its area.
#[derive(Debug, Default)]
struct Vmalloc {
    /// `struct page` → the index of its caller.
    pages: crate::hash::Map<u64, u32>,
    callers: Vec<String>,
    by_caller: crate::hash::Map<String, u32>,
    /// Each area with pages: (address, its `struct page`s, caller), for the referrer scan.
    areas: Vec<crate::referrers::Area>,
}

fn vmalloc_pages(k: &Kernel, w: &mut Warnings) -> Vmalloc {
    let mut out = Vmalloc::default();
    let t = &k.types;
    let caller = t.member("vm_struct", "caller").ok().map(|m| m.offset);
    let vm_addr = t.member("vm_struct", "addr").ok().map(|m| m.offset);
    let (Ok(va_list), Ok(va_vm), Ok(vm_pages), Ok(vm_nr)) = (
        t.member("vmap_area", "list"),
        t.member("vmap_area", "vm"),
        t.member("vm_struct", "pages"),
        t.member("vm_struct", "nr_pages"),
    ) else {
        w.push(
            WarningKind::Unsupported,
            None,
            "vmalloc areas: this kernel's vmap_area/vm_struct have no list/vm/pages; census \"vmalloc\" is 0",
        );
        return out;
    };
    let mut heads = Vec::new();
    if let Ok(h) = k.global("vmap_area_list") {
        heads.push(h);
    } else if let (Ok(nodes), Ok(nr), Ok(busy_head), Ok(size)) = (
        k.global("vmap_nodes"),
        k.global("nr_vmap_nodes"),
        t.member("vmap_node", "busy.head"),
        t.size_of("struct vmap_node"),
    ) {
        let base = k.u64(nodes, "vmap_nodes").unwrap_or(0);
        let n = k.u32(nr, "nr_vmap_nodes").unwrap_or(0).min(1024);
        for i in 0..u64::from(n) {
            heads.push(base.wrapping_add(i * size + busy_head.offset));
        }
    } else {
        w.push(
            WarningKind::Unsupported,
            None,
            "vmalloc areas: no vmap_area_list or vmap_nodes; census \"vmalloc\" is 0",
        );
        return out;
    }
    // the area's holder: the function that asked for it (vm_struct.caller)
    let caller_name = |vm: u64| {
        caller
            .and_then(|at| k.u64(vm + at, "vm_struct.caller").ok())
            .and_then(|c| k.symbolize(c))
            .map_or_else(
                || "an unknown caller".to_string(),
                |s| s.split('+').next().unwrap_or(&s).to_string(),
            )
    };
    let flags = t.member("vm_struct", "flags").ok().map(|m| m.offset);
    let size = t.member("vm_struct", "size").ok().map(|m| m.offset);
    let mut total = 0u64;
    for head in heads {
        let areas = crate::links::list_entries(
            k,
            head,
            va_list.offset,
            MAX_VMAP_AREAS,
            "vmap_area list",
            w,
        );
        for va in areas {
            let Ok(vm) = k.u64(va + va_vm.offset, "vmap_area.vm") else {
                continue;
            };
            if vm == 0 || !k.is_kernel_ptr(vm, 8) {
                continue;
            }
            let (Ok(pages), Ok(nr)) = (
                k.u64(vm + vm_pages.offset, "vm_struct.pages"),
                k.u32(vm + vm_nr.offset, "vm_struct.nr_pages"),
            ) else {
                continue;
            };
            if pages == 0 || nr == 0 {
                // a vmap'ed area with no pages[] (6.x's dma_common_contiguous_remap: arm64's
                // DMA atomic pools): its pages by translation, RAM only, ioremaps left out
                if let Some(mapped) = mapped_pages(k, vm, (flags, size, vm_addr), &mut total) {
                    let h = caller_index(&mut out, caller_name(vm));
                    out.pages.extend(mapped.into_iter().map(|p| (p, h)));
                }
                continue;
            }
            total += u64::from(nr);
            if total > MAX_VMALLOC_PAGES {
                w.push(
                    WarningKind::Limit,
                    Some(vm),
                    "vmalloc areas: more pages than any machine has; stopped",
                );
                return out;
            }
            let h = caller_index(&mut out, caller_name(vm));
            match k.u64s(pages, nr as usize, "vm_struct.pages[]") {
                Ok(pages) => {
                    out.pages.extend(pages.iter().map(|&p| (p, h)));
                    if let Some(a) = vm_addr.and_then(|at| k.u64(vm + at, "vm_struct.addr").ok()) {
                        out.areas.push(crate::referrers::Area {
                            addr: a,
                            pages,
                            caller: h,
                        });
                    }
                }
                Err(e) => w.push(
                    WarningKind::of(&e),
                    Some(vm),
                    format!("vm_struct at {vm:#x}: pages[]: {e}"),
                ),
            }
        }
    }
    out
}

/// The index of caller `by` in `out.callers`, added where new.
fn caller_index(out: &mut Vmalloc, by: String) -> u32 {
    let n = out.callers.len() as u32;
    let h = *out.by_caller.entry(by.clone()).or_insert(n);
    if h == n {
        out.callers.push(by);
    }
    h
}

/// `VM_IOREMAP` (the same bit in every kernel): an area mapping device memory.
const VM_IOREMAP: u64 = 1;
/// Largest vmap'ed area without pages[] translated page by page.
const MAX_MAPPED_AREA: u64 = 1 << 30;

/// The `struct page`s of the RAM a vmap'ed area without `pages[]` maps (vm_struct at `vm`,
/// its `flags`, `size` and `addr` at those offsets), found by translating each of its pages;
/// `None` for an ioremap, an area past [`MAX_MAPPED_AREA`] or one that cannot be read. `total`
/// counts the pages, as for the other areas.
fn mapped_pages(
    k: &Kernel,
    vm: u64,
    (flags, size, addr): (Option<u64>, Option<u64>, Option<u64>),
    total: &mut u64,
) -> Option<Vec<u64>> {
    let f = k.u64(vm + flags?, "vm_struct.flags").ok()?;
    let len = k.u64(vm + size?, "vm_struct.size").ok()?;
    if f & VM_IOREMAP != 0 || len > MAX_MAPPED_AREA {
        return None;
    }
    let addr = k.u64(vm + addr?, "vm_struct.addr").ok()?;
    let ps = k.page_size().max(1);
    let max_pfn = k.memory().phys_end() / ps;
    let end = addr.checked_add(len)?;
    let mut out = Vec::new();
    let mut va = addr;
    while va < end {
        // (the guard page, and any hole, does not translate)
        if let Ok(pa) = k.memory().translate(va) {
            if pa / ps < max_pfn {
                out.extend(k.pfn_to_page(pa / ps).ok()?);
            }
        }
        let Some(next) = va.checked_add(ps) else {
            break;
        };
        va = next;
    }
    *total += out.len() as u64;
    Some(out)
}

/// Take the census of `k`. `skb_pages`: compound heads (struct page address, order) held by
/// socket queues (from [`crate::top()`]); `counters`: `meminfo`'s, for the checks.
pub fn census(
    k: &Kernel,
    skb_pages: &[(u64, u32)],
    counters: &BTreeMap<String, Counter>,
) -> Result<Census> {
    census_with(k, skb_pages, counters, &CensusOptions::default())
}

/// What a census does beyond classifying every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CensusOptions {
    /// Run the reverse-reference scan ([`Census::referrers`]; default: yes). Without it the
    /// pages it would name stay `unattributed`.
    pub referrers: bool,
}

impl Default for CensusOptions {
    fn default() -> Self {
        CensusOptions { referrers: true }
    }
}

impl CensusOptions {
    /// The census without the reverse-reference scan.
    pub fn without_referrers() -> Self {
        CensusOptions { referrers: false }
    }
}

/// [`census`] with `opts`.
///
/// ```no_run
/// # fn main() -> skbwalk::Result<()> {
/// use skbwalk::census::{census_with, CensusOptions};
/// let k = skbwalk::Kernel::open("vmcore".as_ref(), None)?;
/// let c = census_with(&k, &[], &Default::default(), &CensusOptions::without_referrers())?;
/// println!("{} pages unattributed", c.other.unattributed);
/// # Ok(())
/// # }
/// ```
pub fn census_with(
    k: &Kernel,
    skb_pages: &[(u64, u32)],
    counters: &BTreeMap<String, Counter>,
    opts: &CensusOptions,
) -> Result<Census> {
    census_in(
        k,
        skb_pages,
        counters,
        STRETCH_PAGES,
        crate::parallel::threads(),
        opts,
    )
}

/// [`census`] in stretches of `stretch` pfns on `threads` threads (the result is the same for
/// any of them).
fn census_in(
    k: &Kernel,
    skb_pages: &[(u64, u32)],
    counters: &BTreeMap<String, Counter>,
    stretch: u64,
    threads: usize,
    opts: &CensusOptions,
) -> Result<Census> {
    let mut w = Warnings::default();
    let l = &k.off()?.page;
    StructPage::census_needs(&k.types).map_err(|e| k.layout_error(e))?;
    if let Some(why) = l.table_undecided() {
        w.push(
            WarningKind::Unsupported,
            None,
            format!(
                "page-table pages cannot be told: {why}; they are counted in their other classes"
            ),
        );
    }
    let max_pfn = k.u64(k.global("max_pfn")?, "max_pfn")?;
    // max_pfn comes from the dump: never walk past the memory the dump describes
    let dump_pfns = k.memory().phys_end() / k.page_size().max(1);
    let max_pfn = if max_pfn > dump_pfns {
        w.push(
            WarningKind::Corrupt,
            None,
            format!("max_pfn {max_pfn:#x} is past the end of the dump's memory (pfn {dump_pfns:#x}): the census stops there"),
        );
        dump_pfns
    } else {
        max_pfn
    };
    // the first pfn of memory (`min_low_pfn`: arm64's RAM starts at PHYS_OFFSET, and the
    // vmemmap below its struct page is other memory; 0 on x86-64)
    let min_pfn = k
        .global("min_low_pfn")
        .and_then(|a| k.u64(a, "min_low_pfn"))
        .unwrap_or(0)
        .min(max_pfn);
    let vmalloc = vmalloc_pages(k, &mut w);
    let named = crate::owners::named(k, &mut w);
    // pfn ranges held by skbs
    let mut skb_pfns = Set::default();
    for &(head, order) in skb_pages {
        if let Some(pfn) = head.checked_sub(k.vmemmap_base).map(|d| d / l.size) {
            for i in 0..(1u64 << order.min(MAX_COMPOUND_ORDER)) {
                skb_pfns.insert(pfn + i);
            }
        }
    }
    let scanner = Scanner {
        k,
        l,
        skb_pfns: &skb_pfns,
        vmalloc: &vmalloc,
        charge: crate::memcg::PageCharge::resolve(&k.types).ok(),
        named: &named,
    };
    // Stretches of pfns scanned on every core, each from an empty carry. Buddy blocks and
    // compound pages are aligned to their order, so none crosses a stretch boundary in a sane
    // dump; where one does (a corrupt order), the next stretch is scanned again with the carry
    // it really starts with: the census is the one a single pass makes.
    // A few stretches per thread at a time, added up in order: memory stays that of a few
    // tallies whatever max_pfn a dump claims.
    let stretch = stretch.max(1);
    let count = max_pfn.div_ceil(stretch);
    let batch = (threads.max(1) * 4) as u64;
    let range = |i: u64| {
        i.saturating_mul(stretch).max(min_pfn)..(i + 1).saturating_mul(stretch).min(max_pfn)
    };
    let mut t = Tally::default();
    let mut carry = Carry::default();
    let mut first = min_pfn / stretch;
    while first < count {
        let n = batch.min(count - first);
        let scanned = crate::parallel::map(n as usize, threads, |i| {
            scanner.scan(range(first + i as u64), Carry::default())
        });
        for (i, (tally, exit)) in scanned.into_iter().enumerate() {
            let r = range(first + i as u64);
            let (tally, exit) = if carry.reaches(r.start) {
                scanner.scan(r, carry)
            } else {
                (tally, exit)
            };
            t.add(tally);
            carry = exit;
        }
        first += n;
    }
    let Tally {
        classes,
        other,
        charged,
        held,
        pages,
        unreadable_runs,
        bad_orders,
        bad_tails,
        unattributed,
        slabs,
        units_dropped,
    } = t;
    let mut other = other;
    if units_dropped > 0 {
        w.push(
            WarningKind::Limit,
            None,
            format!("referrer scan: more than {MAX_UNITS} unattributed allocations or slabs; {units_dropped} are not looked for or read"),
        );
    }
    let found = if opts.referrers {
        crate::referrers::scan(
            k,
            &unattributed,
            max_pfn,
            (&vmalloc.areas, &vmalloc.callers),
            &slabs,
            &mut w,
        )
    } else {
        crate::referrers::Found::default()
    };
    let referenced: u64 = found.referrers.iter().map(|r| r.pages).sum();
    let unattributed_largest = {
        let named: Set<u64> = found.referrers.iter().map(|r| r.pfn).collect();
        let mut v: Vec<Allocation> = unattributed
            .iter()
            .filter(|(pfn, _)| !named.contains(pfn))
            .map(|&(pfn, n)| Allocation {
                pfn,
                page: k.vmemmap_base.wrapping_add(pfn * l.size),
                pages: u64::from(n),
            })
            .collect();
        v.sort_by(|a, b| b.pages.cmp(&a.pages).then(a.pfn.cmp(&b.pfn)));
        v.truncate(LARGEST_UNATTRIBUTED);
        v
    };
    other.referenced = referenced;
    other.unattributed = other.unattributed.saturating_sub(referenced);
    if unreadable_runs > 0 {
        w.push(
            WarningKind::Unreadable,
            None,
            format!(
                "{} struct pages could not be read (filtered from the dump, or not in it): counted as \"unreadable\"",
                classes.get(&Class::Unreadable).copied().unwrap_or(0)
            ),
        );
    }
    if bad_orders > 0 {
        w.push(
            WarningKind::Corrupt,
            None,
            format!(
                "{bad_orders} buddy or compound heads with an impossible order: each counted alone"
            ),
        );
    }
    if bad_tails > 0 {
        w.push(
            WarningKind::Corrupt,
            None,
            format!("{bad_tails} compound tail pages whose head is not the compound page before them: counted as \"other\""),
        );
    }
    let checks = checks(
        &classes.iter().map(|(&c, &n)| (c.as_str(), n)).collect(),
        counters,
        &[
            Class::Free,
            Class::Slab,
            Class::LruAnon,
            Class::LruFile,
            Class::PageTable,
        ],
    );
    let mut owners = holders(k, named, &vmalloc, held, &mut w);
    let mut by_group: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &found.referrers {
        *by_group.entry(&r.group).or_default() += r.pages;
    }
    if !by_group.is_empty() {
        let mut v: Vec<OwnerHolder> = by_group
            .into_iter()
            .map(|(g, pages)| OwnerHolder {
                pages,
                ..OwnerHolder::named(g.to_string())
            })
            .collect();
        v.sort_by(|a, b| b.pages.cmp(&a.pages).then_with(|| a.holder.cmp(&b.holder)));
        owners.insert(Owner::Referenced.as_str(), v);
    }
    let warnings = w.into_vec();
    Ok(Census {
        pages,
        classes: classes.into_iter().map(|(c, v)| (c.as_str(), v)).collect(),
        other,
        owners,
        checks,
        referrers: found.referrers,
        referrer_scan_bytes: found.scanned,
        unattributed_largest,
        charged: charged
            .into_iter()
            .map(|((key, class), n)| ((key, class.as_str()), n))
            .collect(),
        complete: warnings.is_empty(),
        warnings,
    })
}

/// The holders of the owners' pages: each named holder with its pages, each page_pool by pool
/// (with its device where the pool names one), tasks with their cgroup.
fn holders(
    k: &Kernel,
    named: Named,
    vmalloc: &Vmalloc,
    held: crate::hash::Map<Held, u64>,
    w: &mut Warnings,
) -> BTreeMap<&'static str, Vec<OwnerHolder>> {
    let mut out: BTreeMap<&'static str, Vec<OwnerHolder>> = BTreeMap::new();
    let mut named: Vec<Option<(Owner, OwnerHolder)>> =
        named.holders.into_iter().map(Some).collect();
    let mut paths = crate::cgroup::CgroupPaths::new(k);
    for (h, pages) in held {
        let (owner, mut holder) = match h {
            Held::Vmalloc(i) => (
                "vmalloc",
                crate::owners::OwnerHolder::named(format!(
                    "{}'s vmalloc areas",
                    vmalloc.callers.get(i as usize).map_or("?", String::as_str)
                )),
            ),
            Held::Named(i) => match named.get_mut(i as usize).and_then(Option::take) {
                Some((o, h)) => (o.as_str(), h),
                None => continue,
            },
            Held::Pool(pool) => (
                Owner::PagePool.as_str(),
                crate::owners::pool_holder(k, pool),
            ),
            Held::Nobody => continue,
        };
        if holder.task != 0 {
            holder.cgroup = paths.of_task(holder.task, w).map(|p| p.to_string());
        }
        holder.pages = pages;
        out.entry(owner).or_default().push(holder);
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| b.pages.cmp(&a.pages).then_with(|| a.holder.cmp(&b.holder)));
    }
    out
}

/// The counters each class should agree with.
const CHECKED: &[(Class, &[&str])] = &[
    (Class::Free, &["NR_FREE_PAGES"]),
    (
        Class::Slab,
        &["NR_SLAB_RECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE_B"],
    ),
    (Class::LruAnon, &["NR_INACTIVE_ANON", "NR_ACTIVE_ANON"]),
    (Class::LruFile, &["NR_INACTIVE_FILE", "NR_ACTIVE_FILE"]),
    (Class::PageTable, &["NR_PAGETABLE"]),
];

/// Each class of `which` (pages in `classes`, by name) next to the exact counters it should
/// agree with, where the counters are there: the census's own checks, and a memory cgroup's
/// charged pages against its counters.
pub(crate) fn checks(
    classes: &BTreeMap<&str, u64>,
    counters: &BTreeMap<String, Counter>,
    which: &[Class],
) -> Vec<Check> {
    let exact = |names: &[&str]| -> Option<i64> {
        let mut sum = 0i64;
        for n in names {
            sum = sum.saturating_add(counters.get(*n)?.exact);
        }
        Some(sum)
    };
    let mut out = Vec::new();
    for &(class, names) in CHECKED.iter().filter(|(c, _)| which.contains(c)) {
        let census = classes.get(class.as_str()).copied().unwrap_or(0);
        if let Some(v) = exact(names) {
            out.push(Check {
                class: class.as_str(),
                census,
                counter: names.join("+"),
                counter_pages: v,
                difference: (census as i64).saturating_sub(v),
            });
        }
    }
    out
}

/// Most allocations listed in [`Census::unattributed_largest`].
pub const LARGEST_UNATTRIBUTED: usize = 32;

/// An allocation of pages: a compound page with its tails, or one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Allocation {
    /// Its first pfn.
    pub pfn: u64,
    /// Its head `struct page`.
    pub page: u64,
    /// Its pages.
    pub pages: u64,
}

/// Struct pages one thread scans at a time: 1 GiB of memory, the largest compound page.
const STRETCH_PAGES: u64 = 1 << MAX_COMPOUND_ORDER;

/// What a stretch of pfns adds up to.
#[derive(Default)]
struct Tally {
    classes: BTreeMap<Class, u64>,
    other: OtherSplit,
    /// Charged pages by (charge, class).
    charged: BTreeMap<(crate::memcg::ChargeKey, Class), u64>,
    /// `other` pages by holder.
    held: crate::hash::Map<Held, u64>,
    pages: u64,
    unreadable_runs: u64,
    bad_orders: u64,
    bad_tails: u64,
    /// The `unattributed` pages as allocations: (head pfn, pages), in pfn order.
    unattributed: Vec<(u64, u32)>,
    /// The slabs: (first pfn, pages), in pfn order.
    slabs: Vec<(u64, u32)>,
    /// Allocations past [`MAX_UNITS`], not recorded.
    units_dropped: u64,
}

impl Tally {
    fn add(&mut self, t: Tally) {
        for (c, n) in t.classes {
            *self.classes.entry(c).or_default() += n;
        }
        for (c, n) in t.charged {
            *self.charged.entry(c).or_default() += n;
        }
        self.other.add(&t.other);
        for (h, n) in t.held {
            *self.held.entry(h).or_default() += n;
        }
        self.pages += t.pages;
        self.unreadable_runs += t.unreadable_runs;
        self.bad_orders += t.bad_orders;
        self.bad_tails += t.bad_tails;
        self.units_dropped += t.units_dropped;
        for (head, n) in t.unattributed {
            unit_page(&mut self.unattributed, head, n, &mut self.units_dropped);
        }
        for (head, n) in t.slabs {
            unit_page(&mut self.slabs, head, n, &mut self.units_dropped);
        }
    }
}

/// Record `n` pages of the allocation whose head is pfn `head` in `units` (in pfn order), or
/// count it in `dropped` past [`MAX_UNITS`].
fn unit_page(units: &mut Vec<(u64, u32)>, head: u64, n: u32, dropped: &mut u64) {
    if let Some((h, m)) = units.last_mut() {
        if *h == head {
            *m += n;
            return;
        }
    }
    if units.len() >= MAX_UNITS {
        *dropped += 1;
    } else {
        units.push((head, n));
    }
}

/// The free block or compound page the scan is inside, carried from one pfn to the next.
#[derive(Debug, Clone, Copy, Default)]
struct Carry {
    /// The free buddy block ends before this pfn.
    free_until: u64,
    /// (head pfn, end pfn, what its head is) of the compound page: its tails are the same.
    compound: Option<(u64, u64, Seen)>,
}

/// Who holds an `other` page: a holder the kernel's structures name ([`Named`]), or the pool
/// a page_pool page names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Held {
    Vmalloc(u32),
    Named(u32),
    Pool(u64),
    Nobody,
}

impl Carry {
    /// Whether this carry decides anything at `pfn` or after.
    fn reaches(&self, pfn: u64) -> bool {
        self.free_until > pfn || self.compound.is_some_and(|(_, end, _)| end > pfn)
    }
}

/// What every stretch's scan reads from.
struct Scanner<'a> {
    k: &'a Kernel,
    l: &'a StructPage,
    skb_pfns: &'a Set<u64>,
    vmalloc: &'a Vmalloc,
    /// How a page names its memcg (`None`: no `CONFIG_MEMCG`).
    charge: Option<crate::memcg::PageCharge>,
    /// The pages the kernel's structures name.
    named: &'a Named,
}

impl Scanner<'_> {
    /// Classify the struct pages of `range`, starting inside `c`.
    fn scan(&self, range: std::ops::Range<u64>, mut c: Carry) -> (Tally, Carry) {
        let l = self.l;
        let mut t = Tally::default();
        let mut buf = vec![0u8; (CHUNK_PAGES * l.size) as usize];
        let mut readable_buf = vec![true; CHUNK_PAGES as usize];
        let mut pfn = range.start;
        // charged pages run-length counted: neighbours mostly share their memcg
        let mut run: Option<((crate::memcg::ChargeKey, Class), u64)> = None;
        while pfn < range.end {
            let n = CHUNK_PAGES.min(range.end - pfn);
            let readable = &mut readable_buf[..n as usize];
            self.read_chunk(pfn, &mut buf[..(n * l.size) as usize], readable, &mut t);
            for i in 0..n {
                if !readable[i as usize] {
                    continue;
                }
                let p = pfn + i;
                t.pages += 1;
                let Seen {
                    class,
                    charge,
                    claim,
                } = self.classify(p, &buf, i, n, &mut c, &mut t);
                *t.classes.entry(class).or_default() += 1;
                if let Some(key) = charge {
                    match &mut run {
                        Some((k, m)) if *k == (key, class) => *m += 1,
                        _ => {
                            if let Some((k, m)) = run.replace(((key, class), 1)) {
                                *t.charged.entry(k).or_default() += m;
                            }
                        }
                    }
                }
                // one allocation: a compound page's tails go with their head
                let head = match c.compound {
                    Some((h, end, _)) if (h..end).contains(&p) => h,
                    _ => p,
                };
                if class == Class::Other && !self.attribute_other(p, claim, &mut t) {
                    unit_page(&mut t.unattributed, head, 1, &mut t.units_dropped);
                } else if class == Class::Slab {
                    unit_page(&mut t.slabs, head, 1, &mut t.units_dropped);
                }
            }
            pfn += n;
        }
        if let Some((k, m)) = run {
            *t.charged.entry(k).or_default() += m;
        }
        (t, c)
    }

    /// Read the struct pages of `buf.len() / size` pfns from `pfn`: one read, or on failure one
    /// per page of vmemmap, so that a hole or a filtered page costs only its own struct pages.
    /// `readable` says which were read; those the dump lacks are counted `unreadable`, those
    /// with no mapping at all (a hole without mem_map) are no pages.
    fn read_chunk(&self, pfn: u64, buf: &mut [u8], readable: &mut [bool], t: &mut Tally) {
        let (k, l) = (self.k, self.l);
        let n = readable.len() as u64;
        let at = k.vmemmap_base.wrapping_add(pfn * l.size);
        readable.fill(true);
        if k.read(at, buf, "vmemmap").is_ok() {
            return;
        }
        let per = (k.page_size() / l.size).max(1);
        let mut i = 0;
        while i < n {
            let m = per.min(n - i);
            let (s, e) = ((i * l.size) as usize, ((i + m) * l.size) as usize);
            match k
                .memory()
                .read_virt(at.wrapping_add(i * l.size), &mut buf[s..e])
            {
                Ok(()) => {}
                Err(vmcore::Error::Translation { .. }) => {
                    readable[i as usize..(i + m) as usize].fill(false);
                }
                Err(_) => {
                    t.unreadable_runs += 1;
                    *t.classes.entry(Class::Unreadable).or_default() += m;
                    t.pages += m;
                    readable[i as usize..(i + m) as usize].fill(false);
                }
            }
            i += m;
        }
    }

    /// The class of pfn `p` (struct page `i` of the `n` in `buf`), by the first rule that
    /// matches; a free block or a compound head it starts is carried in `c`.
    fn classify(&self, p: u64, buf: &[u8], i: u64, n: u64, c: &mut Carry, t: &mut Tally) -> Seen {
        let (k, l) = (self.k, self.l);
        if p < c.free_until {
            return Seen::of(Class::Free);
        }
        let sp = &buf[(i * l.size) as usize..((i + 1) * l.size) as usize];
        let flags = l.flags(sp);
        if l.is_reserved(flags) {
            return Seen::of(Class::Reserved);
        }
        if !l.is_tail(sp) && l.is_buddy(sp) {
            let order = l.private(sp);
            if order > MAX_BUDDY_ORDER {
                t.bad_orders += 1;
            } else {
                c.free_until = p + (1 << order);
            }
            return Seen::of(Class::Free);
        }
        if l.is_tail(sp) {
            let page = k.vmemmap_base.wrapping_add(p * l.size);
            let head_pfn = l
                .head(page, sp)
                .ok()
                .map(|h| h.wrapping_sub(k.vmemmap_base) / l.size);
            return match c.compound {
                Some((h, end, head)) if Some(h) == head_pfn && p < end => head,
                _ => {
                    t.bad_tails += 1;
                    Seen::of(Class::Other)
                }
            };
        }
        let own = if l.is_slab(sp) == Some(true) {
            Class::Slab
        } else if l.is_table(sp) == Ok(true) {
            Class::PageTable
        } else if let Some(anon) = l.lru(flags) {
            if anon {
                Class::LruAnon
            } else {
                Class::LruFile
            }
        } else if l.refcount(sp) == 0 && l.typed_owner(sp).is_none() {
            // (a typed page is in use whatever its count: 7.x allocates large kmalloc pages
            // frozen, at _refcount 0)
            Class::Unused
        } else {
            Class::Other
        };
        // a page in use names the memcg it is charged to (a slab page's objects are charged
        // one by one, and a page no one holds is charged to no one)
        let charge = match (own, &self.charge) {
            (Class::Slab | Class::Unused, _) | (_, None) => None,
            (_, Some(pc)) => pc.key(sp),
        };
        let claim = if own == Class::Other {
            self.claim(p, sp)
        } else {
            None
        };
        let seen = Seen {
            class: own,
            charge,
            claim,
        };
        if l.is_head(flags) {
            match head_order(k, l, p, sp, buf, i, n) {
                Some(o) if o <= MAX_COMPOUND_ORDER => c.compound = Some((p, p + (1 << o), seen)),
                _ => t.bad_orders += 1,
            }
        }
        seen
    }

    /// The owner the head or order-0 page `p` (its bytes `sp`) names: the kernel's structures
    /// ([`Named`]), a page_pool, or its page type.
    fn claim(&self, p: u64, sp: &[u8]) -> Option<(Owner, Held)> {
        let page = self.k.vmemmap_base.wrapping_add(p * self.l.size);
        if let Some(pool) = self.l.page_pool(sp) {
            return Some((Owner::PagePool, Held::Pool(pool)));
        }
        if let Some(&(o, h)) = self.named.by_page.get(&page) {
            return Some((o, Held::Named(h)));
        }
        self.l.typed_owner(sp).map(|o| (o, Held::Nobody))
    }

    /// Who holds an `other` page: a socket queue's skb, a vmalloc area, the owner its head
    /// names, or no one known (`false`).
    fn attribute_other(&self, p: u64, claim: Option<(Owner, Held)>, t: &mut Tally) -> bool {
        let page = self.k.vmemmap_base.wrapping_add(p * self.l.size);
        if self.skb_pfns.contains(&p) {
            t.other.skb += 1;
        } else if let Some(&h) = self.vmalloc.pages.get(&page) {
            t.other.vmalloc += 1;
            *t.held.entry(Held::Vmalloc(h)).or_default() += 1;
        } else if let Some((o, h)) = claim {
            *t.other.of(o) += 1;
            *t.held.entry(h).or_default() += 1;
        } else {
            t.other.unattributed += 1;
            return false;
        }
        true
    }
}

/// What the census makes of one pfn.
#[derive(Debug, Clone, Copy)]
struct Seen {
    class: Class,
    charge: Option<crate::memcg::ChargeKey>,
    claim: Option<(Owner, Held)>,
}

impl Seen {
    fn of(class: Class) -> Seen {
        Seen {
            class,
            charge: None,
            claim: None,
        }
    }
}

/// The order of the compound head at pfn `p` (its struct page `sp`, `i` within the chunk `buf`
/// of `n` pages): from the head itself or the next struct page, read from the chunk when it is
/// there.
fn head_order(
    k: &Kernel,
    l: &StructPage,
    p: u64,
    sp: &[u8],
    buf: &[u8],
    i: u64,
    n: u64,
) -> Option<u32> {
    let at = l.order_offset();
    if at < l.size {
        return sp.get(at as usize).map(|&b| u32::from(b));
    }
    let off = i * l.size + at;
    if i + 1 < n {
        return buf.get(off as usize).map(|&b| u32::from(b));
    }
    k.u8(
        k.vmemmap_base.wrapping_add(p * l.size + at),
        "compound order",
    )
    .ok()
    .map(u32::from)
}

#[cfg(test)]
mod tests {
    use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
    use testdata::synth::SynthKernel;
    use testdata::world::WorldConfig;

    /// Stretches far smaller than the machine's buddy blocks make blocks cross stretch
    /// boundaries: the rescans with the real carry give the census of one pass, on any number
    /// of threads.
    #[test]
    fn the_census_is_the_same_in_any_stretches_on_any_threads() {
        let dir = crate::testing::scratch("census-stretch");
        let k = SynthKernel::build_gen(&dir.join("k"), 5, 61).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 40 });
        w.add_vmalloc(9);
        let p = dir.join("vmcore.elf");
        write_qemu_elf(&mut w, &p, true).unwrap();
        let opts = crate::kernel::OpenOptions {
            vmlinux: Some(w.k.vmlinux.clone()),
            cache_dir: Some(None),
            ..Default::default()
        };
        let k = crate::Kernel::open_with(&p, &opts).unwrap();
        let skb_pages = crate::top(&k, Default::default()).unwrap().skb_pages;
        let counters = crate::meminfo::meminfo(&k).unwrap().counters;
        let one = super::census_in(
            &k,
            &skb_pages,
            &counters,
            u64::MAX / 2,
            1,
            &Default::default(),
        )
        .unwrap();
        assert!(one.complete, "{:?}", one.warnings);
        assert!(one.classes["free"] > 1024, "{:?}", one.classes);
        for (stretch, threads) in [
            (super::STRETCH_PAGES, 2),
            (64, 1),
            (64, 3),
            (1000, 2),
            (1, 2),
        ] {
            let c = super::census_in(
                &k,
                &skb_pages,
                &counters,
                stretch,
                threads,
                &Default::default(),
            )
            .unwrap();
            assert_eq!(c, one, "stretch {stretch}, {threads} threads");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
