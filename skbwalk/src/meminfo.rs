//! `meminfo`: the kernel's memory counters as it held them, exactly, and the partition of
//! MemTotal into free / user / kernel / allocpage (`shared/spec/meminfo.md` §1–2).
//!
//! Counters are read by enumerator name from `vm_zone_stat[]` and `vm_node_stat[]`; `exact`
//! adds every online CPU's unfolded delta (`vm_stat_diff` of each zone's `per_cpu_zonestats`, or
//! `pageset` before 5.14; `vm_node_stat_diff` of each node's `per_cpu_nodestats`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::counter::items;
use crate::cpus::{cpu_offsets, CpuOffsets};
use crate::warnings::{Warning, WarningKind, Warnings};
use crate::{Kernel, Result};

/// Most NUMA nodes looked at (MAX_NUMNODES is 1024 with NODES_SHIFT 10).
const MAX_NODES: u64 = 1 << 10;
/// Most zones in a node (MAX_NR_ZONES is at most 6).
const MAX_ZONES: u64 = 8;

pub use crate::counter::Counter;

/// The lines of the kernel's share and the informational lines, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Lines {
    /// NR_ANON_MAPPED (informational: overlaps `user`).
    pub anon: i64,
    /// NR_FILE_PAGES − NR_SHMEM (informational).
    pub file: i64,
    /// NR_SHMEM (informational).
    pub shmem: i64,
    /// NR_SLAB_RECLAIMABLE_B.
    pub slab_reclaimable: i64,
    /// NR_SLAB_UNRECLAIMABLE_B.
    pub slab_unreclaimable: i64,
    /// NR_PAGETABLE (+ NR_SECONDARY_PAGETABLE).
    pub page_tables: i64,
    /// `nr_vmalloc_pages` (7.1+: the node counter `NR_VMALLOC`).
    pub vmalloc: i64,
    /// NR_KERNEL_STACK_KB (counted in `kernel` only when stacks are not in vmalloc space).
    pub kernel_stack: i64,
    /// `pcpu_nr_populated × pcpu_nr_units`.
    pub percpu: i64,
    /// Every huge page pool (`nr_huge_pages << order`).
    pub hugetlb: i64,
    /// NR_KERNEL_MISC_RECLAIMABLE.
    pub kernel_misc_reclaimable: i64,
}

/// MemTotal split into parts that add up to it, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Breakdown {
    /// `_totalram_pages` (MemTotal).
    pub total: i64,
    /// NR_FREE_PAGES.
    pub free: i64,
    /// Every page on an LRU (anon, page cache, shmem, mlocked).
    pub user: i64,
    /// Slab, page tables, vmalloc, stacks (outside vmalloc), percpu, hugetlb, misc.
    pub kernel: i64,
    /// What no counter explains: `total − free − user − kernel`.
    pub allocpage: i64,
    /// The lines.
    pub lines: Lines,
    /// Whether task stacks are vmalloc'ed (CONFIG_VMAP_STACK): then they are in `vmalloc`.
    pub stacks_in_vmalloc: bool,
}

/// The `meminfo` report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct MeminfoReport {
    /// Bytes per page.
    pub page_size: u64,
    /// Every counter of `enum zone_stat_item` and `enum node_stat_item`, by name, in pages
    /// (NR_KERNEL_STACK_KB in KiB).
    pub counters: BTreeMap<String, Counter>,
    /// Values kept outside the counter arrays, by symbol name (pages, except
    /// `pcpu_nr_units`).
    pub globals: BTreeMap<String, i64>,
    /// The partition of MemTotal.
    pub breakdown: Breakdown,
    /// The page census (every struct page classified), with its checks against the counters.
    pub census: Option<crate::census::Census>,
    /// The online CPUs whose deltas were added.
    pub online_cpus: Vec<u32>,
    /// Their `__per_cpu_offset`s, for other per-CPU reads of the same report (`explain`).
    #[serde(skip)]
    pub(crate) cpu_offsets: CpuOffsets,
    /// Whether every counter and delta could be read.
    pub complete: bool,
    /// What could not be read, and what is odd.
    pub warnings: Vec<Warning>,
}

/// Where the per-CPU deltas live in this kernel.
struct Layout {
    /// `pglist_data.node_zones`, `sizeof(struct zone)`, number of zones.
    node_zones: u64,
    zone_size: u64,
    nr_zones: u64,
    /// `zone.per_cpu_zonestats` (or `zone.pageset`) and the `vm_stat_diff` offset in it.
    zone_pcp: u64,
    zone_diff: u64,
    /// `pglist_data.per_cpu_nodestats` and the `vm_node_stat_diff` offset in it.
    node_pcp: u64,
    node_diff: u64,
}

impl Layout {
    fn resolve(k: &Kernel) -> std::result::Result<Layout, kstructs::Error> {
        let t = &k.types;
        let nz = t.member("pglist_data", "node_zones")?;
        let zone_size = t.size_of("struct zone")?;
        let (which, zone_pcp) = t.first_member("zone", &["per_cpu_zonestats", "pageset"])?;
        let zone_diff = if which == 0 {
            t.member("per_cpu_zonestat", "vm_stat_diff")?
        } else {
            t.member("per_cpu_pageset", "vm_stat_diff")?
        };
        Ok(Layout {
            node_zones: nz.offset,
            zone_size,
            nr_zones: (nz.ty.size / zone_size.max(1)).min(MAX_ZONES),
            zone_pcp: zone_pcp.offset,
            zone_diff: zone_diff.offset,
            node_pcp: t.member("pglist_data", "per_cpu_nodestats")?.offset,
            node_diff: t.member("per_cpu_nodestat", "vm_node_stat_diff")?.offset,
        })
    }
}

/// The `pglist_data` of every node that has one.
fn nodes(k: &Kernel, w: &mut Warnings) -> Result<Vec<u64>> {
    if let Ok(a) = k.global("contig_page_data") {
        return Ok(vec![a]);
    }
    let base = k.global("node_data")?;
    let n = k
        .global("nr_node_ids")
        .and_then(|a| k.u32(a, "nr_node_ids"))
        .map(u64::from)
        .unwrap_or(MAX_NODES)
        .clamp(1, MAX_NODES);
    let raw = k.bytes(base, n as usize * 8, "node_data[]")?;
    let mut out = Vec::new();
    for (nid, c) in raw.chunks_exact(8).enumerate() {
        let p = u64::from_le_bytes(c.try_into().unwrap_or_default());
        if k.is_kernel_ptr(p, 8) {
            out.push(p);
        } else if p != 0 {
            w.push(
                WarningKind::Corrupt,
                Some(base),
                format!("node_data[{nid}] = {p:#x} is not a kernel pointer; that node's per-CPU deltas are left out"),
            );
        }
    }
    Ok(out)
}

/// Sum, into `exact`, every online CPU's s8 deltas of the per-CPU stats that `obj` (a node or
/// a zone) points to at `pcp_at`; the delta array sits at `diff_at` in them.
fn add_deltas(
    k: &Kernel,
    (obj, pcp_at, diff_at): (u64, u64, u64),
    cpus: &[(u32, u64)],
    count: usize,
    exact: &mut [i64],
    what: &str,
    w: &mut Warnings,
) {
    let pcp = match k.u64(obj.wrapping_add(pcp_at), what) {
        Ok(0) => return,
        Ok(p) => p,
        Err(e) => {
            w.push(
                WarningKind::of(&e),
                Some(obj),
                format!("{what} of {obj:#x}: {e}"),
            );
            return;
        }
    };
    for &(cpu, off) in cpus {
        let at = pcp.wrapping_add(diff_at).wrapping_add(off);
        match k.bytes(at, count, what) {
            Ok(d) => {
                for (e, &b) in exact.iter_mut().zip(&d) {
                    *e = e.saturating_add(i64::from(b as i8));
                }
            }
            Err(e) => w.push(
                WarningKind::of(&e),
                Some(at),
                format!("{what} of CPU {cpu}: {e}; its deltas are not in \"exact\""),
            ),
        }
    }
}

/// Read an `atomic_long_t` / `unsigned long` global, if the kernel has it.
fn global(k: &Kernel, name: &str, w: &mut Warnings) -> Option<i64> {
    let a = match k.symbol(name) {
        Ok(a) => a,
        // 6.17 moved tcp_memory_allocated into `net_aligned_data` (a cache line of its own)
        Err(_) if name == "tcp_memory_allocated" => {
            let at = k.symbol("net_aligned_data").ok()?;
            at + k
                .types
                .member("net_aligned_data", "tcp_memory_allocated")
                .ok()?
                .offset
        }
        Err(_) => return None,
    };
    match k.u64(a, name) {
        Ok(v) => Some(v as i64),
        Err(e) => {
            w.push(WarningKind::of(&e), Some(a), format!("{name}: {e}"));
            None
        }
    }
}

/// Whether task stacks are vmalloc'ed: the stack of the first task after `init_task` lies in
/// the vmalloc area (x86-64: `vmalloc_base`, 32 TiB with 4-level paging; 12.5 PiB with 5;
/// arm64: outside the linear map).
fn stacks_in_vmalloc(k: &Kernel) -> Result<bool> {
    let o = k.off()?;
    let init = k.global("init_task")?;
    let next = k.u64(init + o.task_tasks, "init_task.tasks.next")?;
    if !k.is_kernel_ptr(next, 8) {
        return Err(crate::Error::Corrupt {
            what: "init_task.tasks.next".into(),
            addr: next,
            why: "not a kernel pointer",
        });
    }
    let first = next - o.task_tasks;
    let stack_off = k
        .types
        .member("task_struct", "stack")
        .map_err(|e| k.layout_error(e))?
        .offset;
    let stack = k.u64(first.wrapping_add(stack_off), "task_struct.stack")?;
    // arm64: a stack is either in the linear map (page allocator) or vmalloc'ed
    if let Some(l) = k.arm64() {
        return Ok(l.linear(stack).is_none());
    }
    let base = k
        .global("vmalloc_base")
        .and_then(|a| k.u64(a, "vmalloc_base"))
        .unwrap_or(0xffff_c900_0000_0000);
    Ok(stack >= base && stack - base < 32 << 40)
}

/// The `meminfo` report of `k`.
///
/// ```no_run
/// let k = skbwalk::Kernel::open("vmcore".as_ref(), Some("vmlinux".as_ref()))?;
/// let m = skbwalk::meminfo::meminfo(&k)?;
/// println!("allocpage {} bytes of {}", m.breakdown.allocpage, m.breakdown.total);
/// # Ok::<(), skbwalk::Error>(())
/// ```
pub fn meminfo(k: &Kernel) -> Result<MeminfoReport> {
    meminfo_with(k, None)
}

/// [`meminfo`], with the socket walk's pages when the caller already has them (`explain`).
pub(crate) fn meminfo_with(k: &Kernel, skb_pages: Option<&[(u64, u32)]>) -> Result<MeminfoReport> {
    let mut w = Warnings::default();
    for m in k.memory().warnings() {
        w.push(WarningKind::Dump, None, format!("{}: {m}", k.vmcore_path));
    }
    let page_size = k.page_size().max(1);
    let layout = Layout::resolve(k).map_err(|e| k.layout_error(e))?;
    let (zone_items, zone_n) = items(k, "zone_stat_item")?;
    let (node_items, node_n) = items(k, "node_stat_item")?;
    // A counter array that cannot be read leaves its counters out, with a warning.
    let mut array = |sym: &str, n: usize| -> Vec<u8> {
        match k.symbol(sym).and_then(|a| k.bytes(a, n * 8, sym)) {
            Ok(b) => b,
            Err(e) => {
                w.push(
                    WarningKind::of(&e),
                    None,
                    format!("{sym}[]: {e}; its counters are left out"),
                );
                Vec::new()
            }
        }
    };
    let zone_global = array("vm_zone_stat", zone_n);
    let node_global = array("vm_node_stat", node_n);
    let as_i64 = |b: &[u8]| -> Vec<i64> {
        b.chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect()
    };
    let (zg, ng) = (as_i64(&zone_global), as_i64(&node_global));
    let (mut ze, mut ne) = (zg.clone(), ng.clone());

    let (cpus, cpu_off) = cpu_offsets(k, &mut w)?;
    for pgdat in nodes(k, &mut w)? {
        let node = (pgdat, layout.node_pcp, layout.node_diff);
        let what = "per_cpu_nodestats.vm_node_stat_diff";
        add_deltas(k, node, &cpu_off, node_n, &mut ne, what, &mut w);
        for z in 0..layout.nr_zones {
            let zone = pgdat.wrapping_add(layout.node_zones + z * layout.zone_size);
            let zone = (zone, layout.zone_pcp, layout.zone_diff);
            let what = "per_cpu_zonestats.vm_stat_diff";
            add_deltas(k, zone, &cpu_off, zone_n, &mut ze, what, &mut w);
        }
    }
    let mut counters = BTreeMap::new();
    for ((name, i), (g, e)) in zone_items
        .iter()
        .map(|(n, i)| ((n, i), (&zg, &ze)))
        .chain(node_items.iter().map(|(n, i)| ((n, i), (&ng, &ne))))
    {
        if let (Some(&global), Some(&exact)) = (g.get(*i), e.get(*i)) {
            counters.insert(name.clone(), Counter { global, exact });
        }
    }

    let mut globals = BTreeMap::new();
    // `_totalram_pages` since 5.0 (before, `totalram_pages` was the variable; since, it is
    // an inline function of that name).
    for name in [
        "_totalram_pages",
        "nr_vmalloc_pages",
        "pcpu_nr_populated",
        "totalreserve_pages",
        "tcp_memory_allocated",
    ] {
        if let Some(v) = global(k, name, &mut w) {
            globals.insert(name.to_string(), v);
        }
    }
    if let Some(units) = k
        .global("pcpu_nr_units")
        .ok()
        .and_then(|a| k.u32(a, "pcpu_nr_units").ok())
    {
        globals.insert("pcpu_nr_units".into(), i64::from(units as i32));
    }
    let hugetlb = hugetlb_pages(k, &mut w);
    globals.insert("hugetlb_pages".into(), hugetlb);

    let stacks = match stacks_in_vmalloc(k) {
        Ok(s) => s,
        Err(e) => {
            w.push(
                WarningKind::of(&e),
                None,
                format!("where task stacks live: {e}; counted as not in vmalloc"),
            );
            false
        }
    };
    let breakdown = breakdown(&counters, &globals, page_size as i64, stacks, &mut w);
    // The census needs the pages socket queues hold: the same walk as `top`.
    let walked;
    let skb_pages = match skb_pages {
        Some(p) => p,
        None => match crate::top(k, Default::default()) {
            Ok(t) => {
                walked = t.skb_pages;
                &walked[..]
            }
            Err(e) => {
                w.push(
                    WarningKind::of(&e),
                    None,
                    format!("the socket walk failed ({e}): census \"skb\" is 0"),
                );
                &[]
            }
        },
    };
    let census = match crate::census::census(k, skb_pages, &counters) {
        Ok(c) => {
            w.adopt(&c.warnings, "census: ");
            Some(c)
        }
        Err(e) => {
            w.push(WarningKind::of(&e), None, format!("census: {e}"));
            None
        }
    };
    let warnings = w.into_vec();
    Ok(MeminfoReport {
        page_size,
        counters,
        globals,
        breakdown,
        census,
        online_cpus: cpus,
        cpu_offsets: cpu_off,
        complete: warnings.is_empty(),
        warnings,
    })
}

/// Pages in every huge page pool: `hstates[i].nr_huge_pages << hstates[i].order` for
/// `i < hugetlb_max_hstate` (0 on kernels without hugetlbfs).
fn hugetlb_pages(k: &Kernel, w: &mut Warnings) -> i64 {
    let (Ok(hstates), Ok(max)) = (k.global("hstates"), k.global("hugetlb_max_hstate")) else {
        return 0;
    };
    let t = &k.types;
    let (Ok(size), Ok(nr), Ok(order)) = (
        t.size_of("struct hstate"),
        t.member("hstate", "nr_huge_pages"),
        t.member("hstate", "order"),
    ) else {
        w.push(
            WarningKind::Unsupported,
            None,
            "struct hstate has no nr_huge_pages or order: hugetlb counted as 0",
        );
        return 0;
    };
    let n = k.u32(max, "hugetlb_max_hstate").unwrap_or(0).min(8);
    let mut pages = 0i64;
    for i in 0..u64::from(n) {
        let h = hstates + i * size;
        match (
            k.u64(h + nr.offset, "hstate.nr_huge_pages"),
            k.u32(h + order.offset, "hstate.order"),
        ) {
            (Ok(count), Ok(ord)) if ord < 31 => {
                pages = pages.saturating_add((count as i64).saturating_mul(1 << ord))
            }
            (Ok(_), Ok(ord)) => w.push(
                WarningKind::Corrupt,
                Some(h),
                format!("hstate {i}: order {ord}; not counted"),
            ),
            (Err(e), _) | (_, Err(e)) => w.push(
                WarningKind::of(&e),
                Some(h),
                format!("hstate {i}: {e}; not counted"),
            ),
        }
    }
    pages
}

/// The partition of MemTotal (spec §2), from the exact counters.
fn breakdown(
    c: &BTreeMap<String, Counter>,
    g: &BTreeMap<String, i64>,
    ps: i64,
    stacks_in_vmalloc: bool,
    w: &mut Warnings,
) -> Breakdown {
    let mut missing = Vec::new();
    let mut get = |name: &str, required: bool| -> i64 {
        match c.get(name) {
            Some(v) => v.exact,
            None => {
                if required {
                    missing.push(name.to_string());
                }
                0
            }
        }
    };
    let pages = |v: i64| v.saturating_mul(ps);
    let free = pages(get("NR_FREE_PAGES", true));
    let user = pages(
        [
            "NR_INACTIVE_ANON",
            "NR_ACTIVE_ANON",
            "NR_INACTIVE_FILE",
            "NR_ACTIVE_FILE",
            "NR_UNEVICTABLE",
        ]
        .iter()
        .map(|n| get(n, true))
        .fold(0i64, i64::saturating_add),
    );
    let file_pages = get("NR_FILE_PAGES", true);
    let shmem = get("NR_SHMEM", true);
    let lines = Lines {
        anon: pages(get("NR_ANON_MAPPED", true)),
        file: pages(file_pages.saturating_sub(shmem)),
        shmem: pages(shmem),
        slab_reclaimable: pages(get("NR_SLAB_RECLAIMABLE_B", true)),
        slab_unreclaimable: pages(get("NR_SLAB_UNRECLAIMABLE_B", true)),
        page_tables: pages(
            get("NR_PAGETABLE", true).saturating_add(get("NR_SECONDARY_PAGETABLE", false)),
        ),
        // 7.1 counts vmalloc pages in the node counter NR_VMALLOC; before, in nr_vmalloc_pages
        vmalloc: pages(match c.get("NR_VMALLOC") {
            Some(v) => v.exact,
            None => g.get("nr_vmalloc_pages").copied().unwrap_or(0),
        }),
        kernel_stack: get("NR_KERNEL_STACK_KB", true).saturating_mul(1024),
        percpu: pages(
            g.get("pcpu_nr_populated")
                .copied()
                .unwrap_or(0)
                .saturating_mul(g.get("pcpu_nr_units").copied().unwrap_or(0)),
        ),
        hugetlb: pages(g.get("hugetlb_pages").copied().unwrap_or(0)),
        kernel_misc_reclaimable: pages(get("NR_KERNEL_MISC_RECLAIMABLE", false)),
    };
    for name in ["nr_vmalloc_pages", "pcpu_nr_populated", "pcpu_nr_units"] {
        let counted_as_node_stat = name == "nr_vmalloc_pages" && c.contains_key("NR_VMALLOC");
        if !g.contains_key(name) && !counted_as_node_stat {
            missing.push(name.to_string());
        }
    }
    let total = pages(g.get("_totalram_pages").copied().unwrap_or_else(|| {
        missing.push("_totalram_pages".into());
        0
    }));
    if !missing.is_empty() {
        w.push(
            WarningKind::Unsupported,
            None,
            format!(
                "this kernel has no {}: counted as 0 in the breakdown",
                missing.join(", ")
            ),
        );
    }
    // counters come from the dump: saturate rather than overflow on garbage
    let kernel = [
        lines.slab_reclaimable,
        lines.slab_unreclaimable,
        lines.page_tables,
        lines.vmalloc,
        if stacks_in_vmalloc {
            0
        } else {
            lines.kernel_stack
        },
        lines.percpu,
        lines.hugetlb,
        lines.kernel_misc_reclaimable,
    ]
    .into_iter()
    .fold(0i64, i64::saturating_add);
    if total <= 0 {
        w.push(
            WarningKind::Corrupt,
            None,
            format!("MemTotal (_totalram_pages) is {total} bytes: the breakdown means nothing"),
        );
    }
    let allocpage = total
        .saturating_sub(free)
        .saturating_sub(user)
        .saturating_sub(kernel);
    if allocpage < 0 {
        w.push(
            WarningKind::Corrupt,
            None,
            format!(
                "allocpage is negative ({allocpage} bytes): the counters add up to more than \
                 MemTotal (percpu's first chunk and boot-time huge pages sit outside it)"
            ),
        );
    }
    Breakdown {
        total,
        free,
        user,
        kernel,
        allocpage,
        lines,
        stacks_in_vmalloc,
    }
}
