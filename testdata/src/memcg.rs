//! The synthetic machine's memory cgroups: `root_mem_cgroup` and a `mem_cgroup` per cgroup path
//! (linked on their parents' `css.children`), each with its counters split as rstat leaves
//! them — `state[]`, `state_pending[]` and per-CPU `state[]` − `state_prev[]` — pages charged to
//! it (LRU pages naming it, kernel pages naming its `obj_cgroup`) and sockets charging it.

use crate::vmstat::{MEMCG_PCP, PCP_END, ZONE_PCP};
use crate::world::World;

/// One memory cgroup to write.
#[derive(Debug, Clone, Default)]
pub struct MemcgSpec {
    /// Its cgroup path (`/` for the root; parents are listed before their children).
    pub path: String,
    /// `memory.usage` (pages).
    pub usage: u64,
    /// Counters by item (`NR_ANON_MAPPED`, `MEMCG_SOCK`, …): (the hierarchical `state[]`, its
    /// `state_pending[]`, and each possible CPU's delta not yet flushed).
    pub stats: Vec<(&'static str, i64, i64, Vec<i64>)>,
    /// Anonymous LRU pages to allocate and charge to it (`memcg_data` = the memcg).
    pub lru_pages: u64,
    /// Kernel pages to allocate and charge to it through its `obj_cgroup`
    /// (`memcg_data` = objcg | `MEMCG_DATA_KMEM`).
    pub kmem_pages: u64,
    /// Sockets (`struct sock`) charging it (`sk_memcg`).
    pub socks: Vec<u64>,
}

impl World {
    /// Write the memcgs of `specs` (after [`World::set_vmstat`]: their per-CPU parts live in
    /// each CPU's area). Returns each one's `struct mem_cgroup`.
    pub fn set_memcgs(&mut self, specs: &[MemcgSpec]) -> Vec<u64> {
        let k = std::sync::Arc::clone(&self.k);
        let o = |key: &str| k.o(key);
        assert!(!self.pcpu_areas.is_empty(), "set_vmstat first");
        let item = |name: &str| -> u64 {
            if k.has(&format!("node.{name}")) {
                o(&format!("node.{name}"))
            } else {
                o(&format!("memcg.{name}"))
            }
        };
        let mut addrs: Vec<(String, u64)> = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            let (m, _) = self.kmalloc(o("mem_cgroup"));
            let css_set = self.css_set_of(&s.path);
            let cgrp = self.read_u64(css_set + o("css_set.dfl_cgrp"));
            self.write_u64(m + o("mem_cgroup.css.cgroup"), cgrp);
            self.write_u32(
                m + o("mem_cgroup.css.flags"),
                1 << 3 | o("CSS_ONLINE") as u32,
            );
            let children = m + o("mem_cgroup.css.children");
            self.write_u64(children, children);
            self.write_u64(children + 8, children);
            if s.path == "/" {
                assert!(i == 0, "the root memcg comes first");
                self.write_u64(self.ksym("root_mem_cgroup"), m);
            } else {
                let (parent, _) = s.path.rsplit_once('/').expect("a path starts with /");
                let parent = if parent.is_empty() { "/" } else { parent };
                let p = addrs
                    .iter()
                    .find(|(q, _)| q == parent)
                    .map(|&(_, a)| a)
                    .expect("a parent memcg is listed before its children");
                self.write_u64(m + o("mem_cgroup.css.parent"), p);
                // append to the parent's children
                let head = p + o("mem_cgroup.css.children");
                let node = m + o("mem_cgroup.css.sibling");
                let last = self.read_u64(head + 8);
                self.write_u64(node, head);
                self.write_u64(node + 8, last);
                self.write_u64(last, node);
                self.write_u64(head + 8, node);
            }
            self.write_u64(m + o("mem_cgroup.memory.usage"), s.usage);
            let (v, _) = self.kmalloc(o("memcg_vmstats"));
            self.write_u64(m + o("mem_cgroup.vmstats"), v);
            let pcp = MEMCG_PCP + i as u64 * o("memcg_vmstats_percpu");
            assert!(
                pcp + o("memcg_vmstats_percpu") <= PCP_END,
                "too many memcgs for the per-CPU areas"
            );
            self.write_u64(m + o("mem_cgroup.vmstats_percpu"), pcp);
            for (name, global, pending, deltas) in &s.stats {
                let at = item(name) * 8;
                self.write_u64(v + o("memcg_vmstats.state") + at, *global as u64);
                self.write_u64(v + o("memcg_vmstats.state_pending") + at, *pending as u64);
                for (cpu, &d) in deltas.iter().enumerate() {
                    // cumulative per-CPU state, of which a flush already took `prev`
                    let area = self.pcpu_areas[cpu] + (pcp - ZONE_PCP);
                    let prev = 1000 + cpu as i64;
                    self.write_u64(
                        area + o("memcg_vmstats_percpu.state") + at,
                        (prev + d) as u64,
                    );
                    self.write_u64(
                        area + o("memcg_vmstats_percpu.state_prev") + at,
                        prev as u64,
                    );
                }
            }
            let (objcg, _) = self.kmalloc(o("obj_cgroup"));
            self.write_u64(objcg + o("obj_cgroup.memcg"), m);
            self.write_u64(m + o("mem_cgroup.objcg"), objcg);
            let lru = 1u64 << o("PG_lru") | 1 << o("PG_swapbacked");
            for (n, data, flags) in [
                (s.lru_pages, m, lru),
                (s.kmem_pages, objcg | o("MEMCG_DATA_KMEM"), 0),
            ] {
                for _ in 0..n {
                    let p = self.alloc_pages(0);
                    let sp = self.page_struct(p / self.page_size());
                    self.write_u64(sp + o("page.flags"), flags);
                    self.write_u32(sp + o("page._refcount"), 1);
                    self.write_u64(sp + o("page.memcg_data"), data);
                }
            }
            for &sk in &s.socks {
                self.write_u64(sk + o("sock.sk_memcg"), m);
            }
            addrs.push((s.path.clone(), m));
        }
        self.memcgs.extend(addrs.iter().cloned());
        addrs.into_iter().map(|(_, a)| a).collect()
    }
}
