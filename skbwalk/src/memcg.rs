//! Memory cgroups as the kernel keeps them: the memcg tree under `root_mem_cgroup`, each memcg's
//! statistics exactly (its `memory.stat` after a full flush), and which memcg a charged page
//! names.
//!
//! **Counters.** Writers add to the current CPU's part; the parts reach the memcg and its
//! ancestors later:
//! - 5.13+ (rstat): per-CPU `memcg_vmstats_percpu.state[]` is cumulative and `state_prev[]`
//!   what a flush has propagated; a flush adds the difference, and what a child's flush
//!   propagated but its parent's has not yet, `memcg_vmstats.state_pending[]`, to `state[]`.
//!   Exact hierarchical value of X: `state[X]` + Σ over X's subtree (X included) of
//!   (`state_pending` + Σ possible CPUs (`state` − `state_prev`)).
//! - 5.10 (batched atomics): `mem_cgroup.vmstats[]` holds the hierarchical value; each CPU's
//!   `vmstats_percpu->stat[]` the delta not yet added to it and its ancestors. Exact: `vmstats[X]`
//!   + Σ over the subtree of Σ possible CPUs `stat[]`.
//!
//! `"global"` is `state[]` (`vmstats[]`) alone: what `memory.stat` shows when no flush ran. On
//! 6.10+ the arrays are indexed through the boot-time map `mem_cgroup_stats_index` (an item's
//! enum value to its slot; 0xff: not tracked); before, by the enum value.
//!
//! **Charged pages.** `page.memcg_data` (`mem_cgroup` to 5.10): low bits are flags
//! (`page_memcg_data_flags`, widened by `objext_flags` from 6.10). Bit 0 marks a slab page's
//! per-object vector (not a charge of the page); `MEMCG_DATA_KMEM` an `obj_cgroup` pointer
//! (kernel pages, 5.14+); from 7.x (`mem_cgroup_per_node.objcg`) every charged folio names an
//! `obj_cgroup`. An `obj_cgroup` names its memcg in `memcg`.

use std::collections::BTreeMap;

use kstructs::Types;

use crate::counter::Counter;
use crate::hash::{Map, Set};
use crate::warnings::{WarningKind, Warnings};
use crate::{Error, Kernel, Result};

/// Most memcgs walked (live and dying): far beyond any real machine's tree.
pub(crate) const MAX_MEMCGS: usize = 1 << 16;
/// Longest stat array believed (7.2 has 54 slots; MEMCG_NR_STAT is below 128 everywhere).
const MAX_SLOTS: u64 = 256;

/// Which memcg a charged page names, decoded from its `struct page` bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageCharge {
    /// `memcg_data` (or 5.10's `mem_cgroup`) in `struct page`.
    at: u64,
    /// The flag bits.
    mask: u64,
    /// `MEMCG_DATA_KMEM`: the pointer is an `obj_cgroup` (0 where no such flag).
    kmem: u64,
    /// Every charged page names an `obj_cgroup` (7.x).
    objcg_always: bool,
}

/// A charge read from a page: the pointer, its low bit set where it is an `obj_cgroup`.
pub(crate) type ChargeKey = u64;

impl PageCharge {
    /// The decoding rule of this kernel, or what its debuginfo lacks (no `CONFIG_MEMCG`).
    pub(crate) fn resolve(t: &Types) -> kstructs::Result<PageCharge> {
        if let Ok(m) = t.member("page", "memcg_data") {
            let flags = t
                .enumerator("__NR_OBJEXTS_FLAGS")
                .or_else(|_| t.enumerator("__NR_MEMCG_DATA_FLAGS"))?;
            Ok(PageCharge {
                at: m.offset,
                mask: (flags as u64).saturating_sub(1),
                kmem: t.enumerator("MEMCG_DATA_KMEM").map_or(0, |v| v as u64),
                objcg_always: t.has_member("mem_cgroup_per_node", "objcg"),
            })
        } else {
            // 5.10: `mem_cgroup` (bit 0: the slab page's obj_cgroup vector), a memcg pointer
            Ok(PageCharge {
                at: t.member("page", "mem_cgroup")?.offset,
                mask: 1,
                kmem: 0,
                objcg_always: false,
            })
        }
    }

    /// The charge a head or order-0 page's bytes name, if any (a slab page's object vector is
    /// none: its objects are charged one by one).
    pub(crate) fn key(&self, sp: &[u8]) -> Option<ChargeKey> {
        let at = usize::try_from(self.at).ok()?;
        let v = u64::from_le_bytes(sp.get(at..at + 8)?.try_into().ok()?);
        let ptr = v & !self.mask;
        if ptr == 0 || v & 1 != 0 {
            return None;
        }
        let objcg = self.objcg_always || (self.kmem != 0 && v & self.kmem != 0);
        Some(ptr | u64::from(objcg))
    }
}

/// The memcg a charge names: the pointer itself, or its `obj_cgroup`'s `memcg`.
pub(crate) fn memcg_of(k: &Kernel, key: ChargeKey, objcg_memcg: u64) -> Result<u64> {
    if key & 1 == 0 {
        return Ok(key);
    }
    k.u64((key & !1) + objcg_memcg, "obj_cgroup.memcg")
}

/// Where the statistics are.
#[derive(Debug, Clone, Copy)]
enum Stats {
    /// 5.10: `vmstats[]` in `mem_cgroup`, per-CPU `stat[]` in `vmstats_percpu`.
    Batched {
        vmstats: u64,
        percpu: u64,
        stat: u64,
    },
    /// rstat: `vmstats` → `memcg_vmstats { state[], state_pending[] }`; per-CPU
    /// `vmstats_percpu` → `{ state[], state_prev[] }`.
    Rstat {
        vmstats: u64,
        state: u64,
        pending: u64,
        percpu: u64,
        pcpu_state: u64,
        pcpu_prev: u64,
    },
}

/// Where a memcg's links, counters and page counter are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemcgLayout {
    children: u64,
    sibling: u64,
    css_cgroup: u64,
    css_flags: u64,
    usage: u64,
    objcg_memcg: u64,
    stats: Stats,
    /// Length of the stat arrays.
    slots: u64,
    css_online: u64,
    css_dying: u64,
    sk_memcg: Option<u64>,
}

impl MemcgLayout {
    /// This kernel's layout, or the member its debuginfo lacks.
    fn resolve(t: &Types) -> kstructs::Result<MemcgLayout> {
        let m = |ty: &str, p: &str| t.member(ty, p);
        let css = m("mem_cgroup", "css")?.offset;
        let stats_percpu = m("mem_cgroup", "vmstats_percpu")?.offset;
        let (stats, slots) = if let Ok(stat) = m("memcg_vmstats_percpu", "stat") {
            let v = m("mem_cgroup", "vmstats")?;
            (
                Stats::Batched {
                    vmstats: v.offset,
                    percpu: stats_percpu,
                    stat: stat.offset,
                },
                v.ty.size / 8,
            )
        } else {
            let state = m("memcg_vmstats", "state")?;
            (
                Stats::Rstat {
                    vmstats: m("mem_cgroup", "vmstats")?.offset,
                    state: state.offset,
                    pending: m("memcg_vmstats", "state_pending")?.offset,
                    percpu: stats_percpu,
                    pcpu_state: m("memcg_vmstats_percpu", "state")?.offset,
                    pcpu_prev: m("memcg_vmstats_percpu", "state_prev")?.offset,
                },
                state.ty.size / 8,
            )
        };
        let bit = |name: &str| t.enumerator(name).map(|v| v as u64);
        Ok(MemcgLayout {
            children: css + m("cgroup_subsys_state", "children")?.offset,
            sibling: css + m("cgroup_subsys_state", "sibling")?.offset,
            css_cgroup: css + m("cgroup_subsys_state", "cgroup")?.offset,
            css_flags: css + m("cgroup_subsys_state", "flags")?.offset,
            usage: m("mem_cgroup", "memory")?.offset + m("page_counter", "usage")?.offset,
            objcg_memcg: m("obj_cgroup", "memcg")?.offset,
            stats,
            slots: slots.min(MAX_SLOTS),
            css_online: bit("CSS_ONLINE").unwrap_or(2),
            css_dying: bit("CSS_DYING").unwrap_or(8),
            sk_memcg: m("sock", "sk_memcg").ok().map(|m| m.offset),
        })
    }
}

/// A stat item: its enum name and its slot in the arrays.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub name: String,
    pub slot: usize,
}

/// The items this kernel's memcgs track: `node_stat_item` then `memcg_stat_item`, mapped to
/// their slots.
fn items(k: &Kernel, l: &MemcgLayout) -> Result<Vec<Item>> {
    let (mut all, _) = crate::counter::items(k, "node_stat_item")?;
    let memcg = k
        .types
        .enumerators("memcg_stat_item")
        .map_err(|e| k.layout_error(e))?;
    let nr = memcg
        .iter()
        .find(|(n, _)| n == "MEMCG_NR_STAT")
        .map(|&(_, v)| v)
        .unwrap_or_else(|| memcg.iter().map(|&(_, v)| v + 1).max().unwrap_or(0));
    all.extend(
        memcg
            .into_iter()
            .filter(|(n, v)| n != "MEMCG_NR_STAT" && (0..nr).contains(v))
            .map(|(n, v)| (n, v as usize)),
    );
    if nr as u64 == l.slots {
        return Ok(all
            .into_iter()
            .map(|(name, slot)| Item { name, slot })
            .collect());
    }
    // 6.10+: compressed, through the boot-time index
    let at = k.symbol("mem_cgroup_stats_index").map_err(|_| Error::NoLayout {
        vmcore: k.vmcore_path.clone(),
        reason: format!(
            "the memcg stat arrays hold {} slots for {nr} items and the symbol mem_cgroup_stats_index (their map) is unknown",
            l.slots
        ),
    })?;
    let index = k.bytes(at, nr.clamp(0, 1024) as usize, "mem_cgroup_stats_index")?;
    Ok(all
        .into_iter()
        .filter_map(|(name, v)| {
            let slot = usize::from(*index.get(v)?);
            (slot < l.slots as usize).then_some(Item { name, slot })
        })
        .collect())
}

/// One memcg as read: where it is, its parent's index, and its own counter parts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub addr: u64,
    pub parent: Option<usize>,
    pub depth: u32,
    pub cgroup: u64,
    pub online: bool,
    pub dying: bool,
    /// `memory.usage` (pages, hierarchical by the page counter itself).
    pub usage: i64,
    /// `state[]` (5.10: `vmstats[]`).
    global: Vec<i64>,
    /// What this memcg holds back: `state_pending[]` + its CPUs' unpropagated deltas.
    held: Vec<i64>,
}

/// The memcg tree, in pre-order (a parent before its children), with the items and exact
/// hierarchical counters.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    pub items: Vec<Item>,
    /// Per node, per item: `global` and `exact` hierarchical values.
    pub counters: Vec<Vec<Counter>>,
    pub(crate) layout: MemcgLayout,
}

impl Tree {
    /// Read the tree under `root_mem_cgroup` (or under `top`, a memcg address).
    pub(crate) fn read(k: &Kernel, top: Option<u64>, w: &mut Warnings) -> Result<Tree> {
        let layout = MemcgLayout::resolve(&k.types).map_err(|e| k.layout_error(e))?;
        if k.types.has_member("mem_cgroup", "kmem_stat") {
            w.push(
                WarningKind::Unsupported,
                None,
                "this kernel keeps NMI-safe kernel-memory atomics (mem_cgroup.kmem_stat) beside the counters: they are not folded into \"exact\"",
            );
        }
        let items = items(k, &layout)?;
        let (_, cpus) = crate::cpus::possible_cpu_offsets(k, w)?;
        let root = match top {
            Some(t) => t,
            None => k.u64(k.global("root_mem_cgroup")?, "root_mem_cgroup")?,
        };
        if !k.is_kernel_ptr(root, 8) {
            return Err(Error::NoLayout {
                vmcore: k.vmcore_path.clone(),
                reason: format!(
                    "root_mem_cgroup is {root:#x}: no memory cgroups (cgroup_disable=memory?)"
                ),
            });
        }
        let mut nodes = Vec::new();
        let mut seen = Set::default();
        let mut stack = vec![(root, None, 0u32)];
        while let Some((addr, parent, depth)) = stack.pop() {
            if nodes.len() >= MAX_MEMCGS {
                w.push(
                    WarningKind::Limit,
                    None,
                    format!("more than {MAX_MEMCGS} memory cgroups: the rest are not read"),
                );
                break;
            }
            if !seen.insert(addr) {
                w.push(
                    WarningKind::Loop,
                    Some(addr),
                    format!("the memcg at {addr:#x} is reached twice: the tree's links loop"),
                );
                continue;
            }
            let node = match read_node(k, &layout, &cpus, addr, parent, depth) {
                Ok(n) => n,
                Err(e) => {
                    w.push(
                        WarningKind::of(&e),
                        Some(addr),
                        format!("memcg at {addr:#x}: {e}; it and its children are left out"),
                    );
                    continue;
                }
            };
            let me = nodes.len();
            nodes.push(node);
            let children = crate::links::list_entries(
                k,
                addr + layout.children,
                layout.sibling,
                MAX_MEMCGS,
                "cgroup_subsys_state.children",
                w,
            );
            // pushed in reverse: popped in list order
            for c in children.into_iter().rev() {
                stack.push((c, Some(me), depth + 1));
            }
        }
        // exact = global + what the subtree holds back, summed bottom-up (children follow
        // their parent in pre-order)
        let mut held: Vec<Vec<i64>> = nodes
            .iter()
            .map(|d| items.iter().map(|i| d.held[i.slot]).collect())
            .collect();
        for i in (0..nodes.len()).rev() {
            if let Some(p) = nodes[i].parent {
                let child = std::mem::take(&mut held[i]);
                for (a, b) in held[p].iter_mut().zip(&child) {
                    *a = a.saturating_add(*b);
                }
                held[i] = child;
            }
        }
        let counters = nodes
            .iter()
            .zip(&held)
            .map(|(d, h)| {
                items
                    .iter()
                    .zip(h)
                    .map(|(it, &h)| Counter {
                        global: d.global[it.slot],
                        exact: d.global[it.slot].saturating_add(h),
                    })
                    .collect()
            })
            .collect();
        Ok(Tree {
            nodes,
            items,
            counters,
            layout,
        })
    }

    /// The counter `name` of node `i`.
    pub(crate) fn counter(&self, i: usize, name: &str) -> Option<Counter> {
        let j = self.items.iter().position(|it| it.name == name)?;
        self.counters.get(i)?.get(j).copied()
    }

    /// The subtree of the memcg the socket at `sk` charges; `None` where it charges none
    /// (a socket of the root memcg, a kernel without memory cgroups) or it cannot be read
    /// (with a warning).
    pub(crate) fn read_subtree(k: &Kernel, sk: u64, w: &mut Warnings) -> Option<Tree> {
        let layout = MemcgLayout::resolve(&k.types).ok()?;
        let m = match sk_memcg(k, &layout, sk)? {
            Ok(0) => return None,
            Ok(m) => m,
            Err(e) => {
                w.push(
                    WarningKind::of(&e),
                    Some(sk),
                    format!("sk_memcg of the socket at {sk:#x}: {e}"),
                );
                return None;
            }
        };
        match Tree::read(k, Some(m), w) {
            Ok(t) => Some(t),
            Err(e) => {
                w.push(
                    WarningKind::of(&e),
                    Some(m),
                    format!("the memcg at {m:#x}: {e}"),
                );
                None
            }
        }
    }
}

/// Read `n` longs at `at`.
fn longs(k: &Kernel, at: u64, n: u64, what: &str) -> Result<Vec<i64>> {
    let b = k.bytes(at, (n * 8) as usize, what)?;
    Ok(b.chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()))
        .collect())
}

fn read_node(
    k: &Kernel,
    l: &MemcgLayout,
    cpus: &[(u32, u64)],
    addr: u64,
    parent: Option<usize>,
    depth: u32,
) -> Result<Node> {
    let flags = u64::from(k.u32(addr + l.css_flags, "cgroup_subsys_state.flags")?);
    let n = l.slots;
    let (global, mut held, pcpu, parts) = match l.stats {
        Stats::Batched {
            vmstats,
            percpu,
            stat,
        } => (
            longs(k, addr + vmstats, n, "mem_cgroup.vmstats")?,
            vec![0; n as usize],
            k.u64(addr + percpu, "mem_cgroup.vmstats_percpu")?,
            (stat, None),
        ),
        Stats::Rstat {
            vmstats,
            state,
            pending,
            percpu,
            pcpu_state,
            pcpu_prev,
        } => {
            let v = k.ptr(
                k.u64(addr + vmstats, "mem_cgroup.vmstats")?,
                "mem_cgroup.vmstats",
            )?;
            (
                longs(k, v + state, n, "memcg_vmstats.state")?,
                longs(k, v + pending, n, "memcg_vmstats.state_pending")?,
                k.u64(addr + percpu, "mem_cgroup.vmstats_percpu")?,
                (pcpu_state, Some(pcpu_prev)),
            )
        }
    };
    for &(_, off) in cpus {
        let base = pcpu.wrapping_add(off);
        let now = longs(k, base + parts.0, n, "memcg_vmstats_percpu.state")?;
        let prev = match parts.1 {
            Some(p) => longs(k, base + p, n, "memcg_vmstats_percpu.state_prev")?,
            None => vec![0; n as usize],
        };
        for ((h, a), b) in held.iter_mut().zip(now).zip(prev) {
            *h = h.saturating_add(a.wrapping_sub(b));
        }
    }
    Ok(Node {
        addr,
        parent,
        depth,
        cgroup: k.u64(addr + l.css_cgroup, "cgroup_subsys_state.cgroup")?,
        online: flags & l.css_online != 0,
        dying: flags & l.css_dying != 0,
        usage: k.u64(addr + l.usage, "mem_cgroup.memory.usage")? as i64,
        global,
        held,
    })
}

/// The memcg a socket charges (`sk_memcg`; null for a socket of the root memcg, which is never
/// charged), if this kernel has the member.
pub(crate) fn sk_memcg(k: &Kernel, l: &MemcgLayout, sk: u64) -> Option<Result<u64>> {
    let at = l.sk_memcg?;
    // low bits left for flags (a tagged-pointer variant was proposed in 2025)
    Some(k.u64(sk + at, "sock.sk_memcg").map(|v| v & !7))
}

/// Charged pages by memcg: census keys resolved to the memcgs of the tree (`known`). A page
/// whose word names none of them (a page in flux when the dump was taken, a damaged struct page)
/// is counted in none, with one warning giving their number.
pub(crate) fn charged_by_memcg(
    k: &Kernel,
    l: &MemcgLayout,
    charged: &BTreeMap<(ChargeKey, &'static str), u64>,
    known: &Set<u64>,
    w: &mut Warnings,
) -> Map<u64, BTreeMap<&'static str, u64>> {
    let mut out: Map<u64, BTreeMap<&'static str, u64>> = Map::default();
    let mut memo: Map<ChargeKey, Option<u64>> = Map::default();
    let mut stray = 0u64;
    for (&(key, class), &pages) in charged {
        let m = *memo.entry(key).or_insert_with(|| {
            memcg_of(k, key, l.objcg_memcg)
                .ok()
                .filter(|m| known.contains(m))
        });
        match m {
            Some(m) => *out.entry(m).or_default().entry(class).or_default() += pages,
            None => stray += pages,
        }
    }
    if stray > 0 {
        w.push(
            WarningKind::Corrupt,
            None,
            format!("{stray} charged pages name no memory cgroup of the tree (pages in flux when the dump was taken, or damaged struct pages): they are counted in none"),
        );
    }
    out
}
