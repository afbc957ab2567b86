//! The `cgroups` report: every memory cgroup with the kernel's own counters as its
//! `memory.stat` shows them (global and exact, see `memcg.rs`), the pages the census finds
//! charged to it, and what its sockets pin next to its `sock` counter — the pod whose stalled
//! socket pins whole pages while its `sock` counter charges truesize.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::census::Class;
use crate::counter::Counter;
use crate::hash::Map;
use crate::hex::Hex;
use crate::memcg::Tree;
use crate::warnings::{Warning, WarningKind, Warnings};
use crate::{Kernel, Result};

/// `memory.stat`'s rows (v2) that are memory, each with the items it reads, first found
/// (7.x moved `vmalloc` from `MEMCG_VMALLOC` to `NR_VMALLOC`). `slab` is the sum of the two
/// slab rows, as the kernel prints it.
const ROWS: &[(&str, &[&str])] = &[
    ("anon", &["NR_ANON_MAPPED"]),
    ("file", &["NR_FILE_PAGES"]),
    ("kernel", &["MEMCG_KMEM"]),
    ("kernel_stack", &["NR_KERNEL_STACK_KB"]),
    ("pagetables", &["NR_PAGETABLE"]),
    ("sec_pagetables", &["NR_SECONDARY_PAGETABLE"]),
    ("percpu", &["MEMCG_PERCPU_B"]),
    ("sock", &["MEMCG_SOCK"]),
    ("vmalloc", &["MEMCG_VMALLOC", "NR_VMALLOC"]),
    ("shmem", &["NR_SHMEM"]),
    ("zswap", &["MEMCG_ZSWAP_B"]),
    ("zswapped", &["MEMCG_ZSWAPPED"]),
    ("file_mapped", &["NR_FILE_MAPPED"]),
    ("file_dirty", &["NR_FILE_DIRTY"]),
    ("file_writeback", &["NR_WRITEBACK"]),
    ("swapcached", &["NR_SWAPCACHE"]),
    ("inactive_anon", &["NR_INACTIVE_ANON"]),
    ("active_anon", &["NR_ACTIVE_ANON"]),
    ("inactive_file", &["NR_INACTIVE_FILE"]),
    ("active_file", &["NR_ACTIVE_FILE"]),
    ("unevictable", &["NR_UNEVICTABLE"]),
    ("slab_reclaimable", &["NR_SLAB_RECLAIMABLE_B"]),
    ("slab_unreclaimable", &["NR_SLAB_UNRECLAIMABLE_B"]),
];

/// Bytes per unit of a memcg counter: `_B` items count bytes, `_KB` KiB, the rest pages
/// (`memcg_page_state_unit`).
pub fn unit(item: &str, page_size: u64) -> u64 {
    if item.ends_with("_B") {
        1
    } else if item.ends_with("_KB") {
        1024
    } else {
        page_size
    }
}

/// Pages charged to a memcg, as the census finds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Charged {
    /// Pages whose `struct page` names the memcg (a compound page's tails with their head).
    pub pages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Pages by census class (`lru_anon`, `lru_file`, `other`, `page_table`, …).
    pub by_class: BTreeMap<&'static str, u64>,
}

impl Charged {
    fn add(&mut self, o: &Charged) {
        self.pages += o.pages;
        self.bytes += o.bytes;
        for (c, n) in &o.by_class {
            *self.by_class.entry(c).or_default() += n;
        }
    }
}

/// What the sockets charging a memcg (`sk_memcg`) pin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SocketPins {
    /// Sockets.
    pub sockets: u64,
    /// The sum of their pinned bytes (`top`'s per-socket `pinned_bytes`).
    pub pinned_bytes: u64,
    /// The sum of their truesize.
    pub truesize: u64,
}

impl SocketPins {
    fn add(&mut self, o: &SocketPins) {
        self.sockets += o.sockets;
        self.pinned_bytes += o.pinned_bytes;
        self.truesize += o.truesize;
    }
}

/// One memory cgroup.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct MemCgroup {
    /// Its path on the default hierarchy (`/` for the root), `None` where it cannot be read.
    pub path: Option<String>,
    /// Depth below the root (0).
    pub depth: u32,
    /// The `struct mem_cgroup`.
    pub memcg: Hex,
    /// `online`, `dying` (removed, still pinned by pages or references) or `offline`.
    pub state: &'static str,
    /// `memory.current`: its page counter's usage (hierarchical), in bytes.
    pub memory_current_bytes: u64,
    /// `memory.stat`'s memory rows in bytes (hierarchical, negative values shown as 0, as the
    /// kernel does): `global` is what it shows without a flush, `exact` after a full one.
    pub stat: BTreeMap<&'static str, Counter>,
    /// Every counter the kernel keeps per memcg, by enum name, in its own unit (pages; bytes
    /// for `_B`, KiB for `_KB`), hierarchical.
    pub counters: BTreeMap<String, Counter>,
    /// Pages charged to this memcg itself.
    pub charged: Charged,
    /// Pages charged to it and every memcg below it.
    pub charged_subtree: Charged,
    /// The sockets charging this memcg itself (for the root: sockets charging none;
    /// `TIME_WAIT` and `NEW_SYN_RECV` mini-sockets charge no memcg and count in none).
    pub sockets: SocketPins,
    /// The sockets charging it or any memcg below it.
    pub sockets_subtree: SocketPins,
    /// Its charged pages (subtree) by class against its exact counters (`lru_anon`, `lru_file`,
    /// `page_table`): one structure read two ways, equal when both are whole.
    pub checks: Vec<crate::census::Check>,
    /// What it holds, the sort key: `charged_subtree.bytes` + `sockets_subtree.pinned_bytes`.
    pub holds_bytes: u64,
}

/// The `cgroups` report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CgroupsReport {
    /// Bytes per page.
    pub page_size: u64,
    /// The memcg tree in pre-order from the root, siblings by what they hold (most first).
    pub cgroups: Vec<MemCgroup>,
    /// Whether everything could be read.
    pub complete: bool,
    /// What could not.
    pub warnings: Vec<Warning>,
}

/// The memory cgroups of `k`.
///
/// ```no_run
/// let k = skbwalk::Kernel::open("vmcore".as_ref(), None)?;
/// for c in skbwalk::cgroups::cgroups(&k)?.cgroups {
///     let sock = c.stat.get("sock").map_or(0, |s| s.exact);
///     println!("{:?}: sock {sock} B, its sockets pin {} B", c.path, c.sockets_subtree.pinned_bytes);
/// }
/// # Ok::<(), skbwalk::Error>(())
/// ```
pub fn cgroups(k: &Kernel) -> Result<CgroupsReport> {
    let mut w = Warnings::default();
    let tree = Tree::read(k, None, &mut w)?;
    let page_size = k.page_size();
    // what each memcg's sockets pin
    let mut pins: Map<u64, SocketPins> = Map::default();
    let mut skb_pages = Vec::new();
    match crate::top(k, Default::default()) {
        Ok(t) => {
            w.adopt(&t.warnings, "socket walk: ");
            let root = tree.nodes.first().map_or(0, |n| n.addr);
            for s in &t.sockets {
                // a mini-socket has no sk_memcg (the word there is the next object's): it
                // charges no memcg, and holds no queue
                if s.id.state.is_mini() {
                    continue;
                }
                let m = match crate::memcg::sk_memcg(k, &tree.layout, s.id.sock.0) {
                    Some(Ok(0)) => root,
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        w.push(
                            WarningKind::of(&e),
                            Some(s.id.sock.0),
                            format!("sk_memcg of the socket at {:#x}: {e}", s.id.sock.0),
                        );
                        continue;
                    }
                    None => {
                        w.push(
                            WarningKind::Unsupported,
                            None,
                            "struct sock has no sk_memcg: sockets are counted in no cgroup",
                        );
                        break;
                    }
                };
                let p = pins.entry(m).or_default();
                p.sockets += 1;
                p.pinned_bytes += s.totals.pinned_bytes;
                p.truesize += s.totals.truesize;
            }
            skb_pages = t.skb_pages;
        }
        Err(e) => w.push(WarningKind::of(&e), None, format!("the socket walk: {e}")),
    }
    // what the census finds charged
    // (the charges only: no reverse-reference scan)
    let charged = match crate::census::census_with(
        k,
        &skb_pages,
        &BTreeMap::new(),
        &crate::census::CensusOptions::without_referrers(),
    ) {
        Ok(c) => {
            w.adopt(&c.warnings, "census: ");
            {
                let known = tree.nodes.iter().map(|n| n.addr).collect();
                crate::memcg::charged_by_memcg(k, &tree.layout, &c.charged, &known, &mut w)
            }
        }
        Err(e) => {
            w.push(WarningKind::of(&e), None, format!("the census: {e}"));
            Map::default()
        }
    };
    let mut out: Vec<MemCgroup> = tree
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let path = match crate::cgroup::cgroup_path(k, n.cgroup) {
                Ok(p) => Some(p),
                Err(stop) => {
                    w.push(
                        stop.kind(),
                        Some(stop.addr().unwrap_or(n.addr)),
                        format!("path of the memcg at {:#x}: {}", n.addr, stop.why()),
                    );
                    None
                }
            };
            let counters: BTreeMap<String, Counter> = tree
                .items
                .iter()
                .zip(&tree.counters[i])
                .map(|(it, &c)| (it.name.clone(), c))
                .collect();
            let mut charged_here = Charged::default();
            for (&class, &p) in charged.get(&n.addr).into_iter().flatten() {
                charged_here.pages += p;
                charged_here.bytes += p * page_size;
                *charged_here.by_class.entry(class).or_default() += p;
            }
            let sockets = pins.get(&n.addr).copied().unwrap_or_default();
            MemCgroup {
                path,
                depth: n.depth,
                memcg: Hex(n.addr),
                state: if n.online {
                    "online"
                } else if n.dying {
                    "dying"
                } else {
                    "offline"
                },
                memory_current_bytes: (n.usage.max(0) as u64).saturating_mul(page_size),
                stat: stat_rows(&counters, page_size),
                counters,
                checks: Vec::new(),
                charged_subtree: charged_here.clone(),
                charged: charged_here,
                sockets,
                sockets_subtree: sockets,
                holds_bytes: 0,
            }
        })
        .collect();
    // subtree sums, bottom-up (a child follows its parent in the tree's pre-order)
    for i in (0..out.len()).rev() {
        if let Some(p) = tree.nodes[i].parent {
            let (c, s) = (out[i].charged_subtree.clone(), out[i].sockets_subtree);
            out[p].charged_subtree.add(&c);
            out[p].sockets_subtree.add(&s);
        }
    }
    for c in &mut out {
        // the counters are in pages for these items
        c.checks = crate::census::checks(
            &c.charged_subtree.by_class,
            &c.counters,
            &[Class::LruAnon, Class::LruFile, Class::PageTable],
        );
        c.holds_bytes = c.charged_subtree.bytes + c.sockets_subtree.pinned_bytes;
    }
    let order = by_holdings(&tree, &out);
    let mut slots: Vec<Option<MemCgroup>> = out.into_iter().map(Some).collect();
    let cgroups = order.into_iter().filter_map(|i| slots[i].take()).collect();
    let warnings = w.into_vec();
    Ok(CgroupsReport {
        page_size,
        cgroups,
        complete: warnings.is_empty(),
        warnings,
    })
}

/// The memory rows of `memory.stat` from the counters, in bytes, clamped at 0.
fn stat_rows(
    counters: &BTreeMap<String, Counter>,
    page_size: u64,
) -> BTreeMap<&'static str, Counter> {
    let bytes = |item: &str, v: i64| v.max(0).saturating_mul(unit(item, page_size) as i64);
    let mut rows = BTreeMap::new();
    for &(row, items) in ROWS {
        if let Some((item, c)) = items
            .iter()
            .find_map(|&it| counters.get(it).map(|c| (it, c)))
        {
            rows.insert(
                row,
                Counter {
                    global: bytes(item, c.global),
                    exact: bytes(item, c.exact),
                },
            );
        }
    }
    if let (Some(r), Some(u)) = (rows.get("slab_reclaimable"), rows.get("slab_unreclaimable")) {
        let slab = Counter {
            global: r.global.saturating_add(u.global),
            exact: r.exact.saturating_add(u.exact),
        };
        rows.insert("slab", slab);
    }
    rows
}

/// Pre-order from the root, each node's children by `holds_bytes` (most first).
fn by_holdings(tree: &Tree, out: &[MemCgroup]) -> Vec<usize> {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); out.len()];
    let mut roots = Vec::new();
    for (i, n) in tree.nodes.iter().enumerate() {
        match n.parent {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    for c in &mut children {
        c.sort_by_key(|&i| std::cmp::Reverse(out[i].holds_bytes));
    }
    let mut order = Vec::with_capacity(out.len());
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(i) = stack.pop() {
        order.push(i);
        stack.extend(children[i].iter().rev());
    }
    order
}

#[cfg(test)]
mod tests {
    use testdata::sample::{charged_pages, sample_memcg_sock, SAMPLE_MEMCG_ANON};
    use testdata::sample::{incident_world, write_qemu_elf, SampleSize, POD_A, POD_B};
    use testdata::synth::SynthKernel;
    use testdata::world::WorldConfig;

    use super::*;

    /// The sample and what its pods' sockets charge (nginx's, curl's: pages).
    fn sample(name: &str, skbs: usize) -> (std::path::PathBuf, crate::Kernel, (i64, i64)) {
        let dir = crate::testing::scratch(name);
        let k = SynthKernel::build_gen(&dir.join("k"), 5, 61).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: skbs });
        let charge = |fd: u32| {
            let s = w.sockets.iter().find(|s| {
                s.fd == fd && (s.pid == 146935 || s.pid == 2001) && s.spec.tcp_state == 1
            });
            charged_pages(&w, s.unwrap().sock)
        };
        let charges = (charge(11), charge(5));
        let p = dir.join("vmcore.elf");
        write_qemu_elf(&mut w, &p, true).unwrap();
        let k = crate::testing::open(&p, Some(&w.k.vmlinux));
        (dir, k, charges)
    }

    fn by_path<'r>(r: &'r CgroupsReport, path: &str) -> &'r MemCgroup {
        r.cgroups
            .iter()
            .find(|c| c.path.as_deref() == Some(path))
            .unwrap_or_else(|| panic!("no cgroup {path}"))
    }

    /// The fixture splits each counter as rstat leaves it mid-flight (global, pending, per-CPU
    /// deltas); every memcg's exact value is the one a full flush gives, and its global the
    /// `state[]` alone. Charged pages, their checks against the counters, and the sockets
    /// charging each memcg are found; siblings are ordered by what they hold.
    #[test]
    fn every_memcg_has_its_exact_counters_charged_pages_and_sockets() {
        let (dir, k, (nginx_pages, curl_pages)) = sample("cgroups", 300);
        let r = cgroups(&k).unwrap();
        assert!(r.complete, "{:?}", r.warnings);
        assert_eq!(r.cgroups.len(), 9);
        assert_eq!(r.cgroups[0].path.as_deref(), Some("/"));
        assert_eq!(r.cgroups[0].depth, 0);
        let ps = k.page_size() as i64;
        for (path, pages) in sample_memcg_sock(nginx_pages, curl_pages) {
            let c = by_path(&r, path);
            assert_eq!(c.counters["MEMCG_SOCK"].exact, pages, "{path}");
            assert_eq!(c.stat["sock"].exact, pages * ps, "{path}");
            assert_eq!(c.state, "online");
        }
        // what memory.stat shows without a flush: the leaf's state[] alone
        assert_eq!(
            by_path(&r, POD_A).counters["MEMCG_SOCK"].global,
            nginx_pages - 70
        );
        for &(path, pages) in SAMPLE_MEMCG_ANON {
            let c = by_path(&r, path);
            assert_eq!(c.counters["NR_ACTIVE_ANON"].exact, pages, "{path}");
            assert_eq!(
                c.charged_subtree.by_class["lru_anon"], pages as u64,
                "{path}"
            );
            let lru = c.checks.iter().find(|x| x.class == "lru_anon").unwrap();
            assert_eq!(lru.difference, 0, "{path}: {lru:?}");
        }
        let a = by_path(&r, POD_A);
        // 3 LRU pages naming the memcg, 2 kernel pages naming its obj_cgroup
        assert_eq!(a.charged.pages, 5);
        assert_eq!(a.charged.by_class["other"], 2);
        assert_eq!(a.charged.bytes, 5 * k.page_size());
        // nginx's stalled socket charges the pod its truesize but pins far more
        let top = crate::top(&k, Default::default()).unwrap();
        let nginx = top.sockets.iter().find(|s| s.fd == Some(11)).unwrap();
        assert_eq!(a.sockets.sockets, 1);
        assert_eq!(a.sockets.pinned_bytes, nginx.totals.pinned_bytes);
        assert!(a.sockets.pinned_bytes > 2 * a.stat["sock"].exact as u64);
        assert_eq!(by_path(&r, POD_B).sockets.sockets, 1);
        // sockets charging no memcg are the root's own; the subtree counts every socket but
        // the mini-sockets (TIME_WAIT, NEW_SYN_RECV), which charge none
        let minis = top.sockets.iter().filter(|s| s.id.state.is_mini()).count() as u64;
        assert!(minis > 0, "the world has mini-sockets");
        assert_eq!(
            r.cgroups[0].sockets_subtree.sockets,
            top.totals.sockets - minis
        );
        assert_eq!(r.cgroups[0].charged_subtree.pages, 2 + 1 + 5 + 1);
        // pre-order, siblings by what they hold: nginx's pod before curl's
        let order: Vec<&str> = r.cgroups.iter().filter_map(|c| c.path.as_deref()).collect();
        let pos = |p: &str| order.iter().position(|&q| q == p).unwrap();
        assert!(pos("/kubepods.slice") < pos(POD_A) && pos(POD_A) < pos(POD_B));
        assert!(pos("/kubepods.slice") < pos("/system.slice"));
        for c in &r.cgroups {
            assert_eq!(
                c.holds_bytes,
                c.charged_subtree.bytes + c.sockets_subtree.pinned_bytes
            );
        }
        // explain names the pod's sock counter next to what the socket pins
        let e = crate::explain::explain(&k).unwrap();
        let m = e.top_socket_memcg.clone().unwrap();
        assert_eq!(m.path.as_deref(), Some(POD_A));
        assert_eq!(m.sock.exact, nginx_pages * ps);
        let said = format!(
            "memory.stat sock shows {:.1} MiB",
            (nginx_pages * ps) as f64 / 1048576.0
        );
        assert!(e.summary.contains(&said), "{}", e.summary);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A loop in the children lists, a memcg whose counters are unreadable: warnings and the
    /// rest of the tree, never a hang.
    #[test]
    fn a_looping_or_unreadable_tree_is_a_warning() {
        let dir = crate::testing::scratch("cgroups-bad");
        let k = SynthKernel::build_gen(&dir.join("k"), 5, 61).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 2 });
        let memcg =
            |w: &testdata::world::World, p: &str| w.memcgs.iter().find(|(q, _)| q == p).unwrap().1;
        let o = |w: &testdata::world::World, key: &str| w.k.o(key);
        // POD_B's counters behind a pointer that is no kernel address
        let b = memcg(&w, POD_B);
        let at = b + o(&w, "mem_cgroup.vmstats");
        w.write_u64(at, 0x1234);
        // POD_A's children ring leads into /kubepods.slice's siblings: back up the tree
        let (a, kp) = (memcg(&w, POD_A), memcg(&w, "/kubepods.slice"));
        let children = a + o(&w, "mem_cgroup.css.children");
        let sibling = kp + o(&w, "mem_cgroup.css.sibling");
        w.write_u64(children, sibling);
        let p = dir.join("vmcore.elf");
        write_qemu_elf(&mut w, &p, true).unwrap();
        let k = crate::testing::open(&p, Some(&w.k.vmlinux));
        let r = cgroups(&k).unwrap();
        assert!(!r.complete);
        let has = |kind: WarningKind, what: &str| {
            r.warnings
                .iter()
                .any(|x| x.kind == kind && x.message.contains(what))
        };
        assert!(has(WarningKind::Corrupt, "left out"), "{:?}", r.warnings);
        assert!(has(WarningKind::Loop, "reached twice"), "{:?}", r.warnings);
        assert!(r.cgroups.iter().all(|c| c.path.as_deref() != Some(POD_B)));
        // the rest is read, and read once
        let nginx = by_path(&r, POD_A).counters["MEMCG_SOCK"];
        assert_eq!(nginx.exact, nginx.global + 70);
        let kubepods = r
            .cgroups
            .iter()
            .filter(|c| c.path.as_deref() == Some("/kubepods.slice"))
            .count();
        assert_eq!(kubepods, 1);
        std::fs::remove_dir_all(&dir).ok();
    }
}
