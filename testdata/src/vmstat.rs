//! The synthetic machine's memory counters: `vm_zone_stat[]`, `vm_node_stat[]`, one node with four
//! zones, per-CPU delta areas reached through `__per_cpu_offset[]`, the online mask, and the
//! globals `meminfo` reads (`_totalram_pages`, `nr_vmalloc_pages`, percpu).

use crate::world::World;

/// Per-CPU pointers are small offsets, as in the kernel: `ptr + __per_cpu_offset[cpu]` is the
/// CPU's copy. Zone `z`'s stats sit at `ZONE_PCP + z * 0x100`, the node's at `NODE_PCP`; the
/// slab caches' per-CPU parts from 0x2000, the memcgs' from [`MEMCG_PCP`] to [`PCP_END`].
pub(crate) const ZONE_PCP: u64 = 0x1000;
const NODE_PCP: u64 = 0x1400;
/// Where the memcgs' per-CPU statistics start (`memcg.rs`).
pub(crate) const MEMCG_PCP: u64 = 0x3000;
/// The end of each CPU's area (16 KiB from `ZONE_PCP`, whatever the page size).
pub(crate) const PCP_END: u64 = 0x5000;

/// What to write.
#[derive(Debug, Clone, Default)]
pub struct VmstatSpec {
    /// `nr_cpu_ids`: CPUs that have a per-CPU area.
    pub possible: u32,
    /// Online CPUs (bits of `__cpu_online_mask`).
    pub online: Vec<u32>,
    /// Global zone counters by enumerator name (`vm_zone_stat[]`).
    pub zone_global: Vec<(&'static str, i64)>,
    /// Global node counters by enumerator name (`vm_node_stat[]`).
    pub node_global: Vec<(&'static str, i64)>,
    /// Per-CPU zone deltas: (cpu, zone index 0..4, name, delta).
    pub zone_deltas: Vec<(u32, u64, &'static str, i8)>,
    /// Per-CPU node deltas: (cpu, name, delta).
    pub node_deltas: Vec<(u32, &'static str, i8)>,
    /// `_totalram_pages`.
    pub totalram_pages: u64,
    /// `nr_vmalloc_pages`.
    pub vmalloc_pages: u64,
    /// `pcpu_nr_populated` and `pcpu_nr_units`.
    pub pcpu: (u64, u32),
    /// CPUs whose `__per_cpu_offset` points at unmapped memory (a damaged dump).
    pub unmapped_cpus: Vec<u32>,
}

impl World {
    /// A vmalloc area of `pages` pages: the pages, a `vm_struct` with its `pages[]`, and a
    /// `vmap_area` on `vmap_area_list`. Returns the struct page addresses.
    pub fn add_vmalloc(&mut self, pages: u32) -> Vec<u64> {
        let k = std::sync::Arc::clone(&self.k);
        let o = |key: &str| k.o(key);
        let mut structs = Vec::new();
        for _ in 0..pages {
            let p = self.alloc_pages(0);
            self.write_bytes(self.virt(p), b"vmalloc'ed");
            let sp = self.page_struct(p / self.page_size());
            self.write_u32(sp + o("page._refcount"), 1);
            structs.push(sp);
        }
        let (arr, _) = self.kmalloc(u64::from(pages) * 8);
        for (i, &sp) in structs.iter().enumerate() {
            self.write_u64(arr + i as u64 * 8, sp);
        }
        let (vm, _) = self.kmalloc(o("vm_struct"));
        self.write_u64(vm + o("vm_struct.pages"), arr);
        self.write_u32(vm + o("vm_struct.nr_pages"), pages);
        let (va, _) = self.kmalloc(o("vmap_area"));
        self.write_u64(va + o("vmap_area.vm"), vm);
        let head = self.ksym("vmap_area_list");
        let node = va + o("vmap_area.list");
        let last = self.read_u64(head + 8);
        self.write_u64(node, head);
        self.write_u64(node + 8, last);
        self.write_u64(last, node);
        self.write_u64(head + 8, node);
        structs
    }

    /// Make the struct pages tell what a booted kernel's would: `PG_reserved` below the
    /// allocator's start, free buddy blocks (order 10 where aligned, else order 0) from the
    /// allocation cursor to the end of RAM. Call after the last allocation; returns the free
    /// pages.
    pub fn mark_boot_and_free(&mut self) -> u64 {
        let k = std::sync::Arc::clone(&self.k);
        let (flags, pt, private) = (
            k.o("page.flags"),
            k.o("page.type_word"),
            k.o("page.private"),
        );
        let (reserved, buddy) = (1u64 << k.o("PG_reserved"), k.o("buddy.type") as u32);
        for pfn in 0..self.boot_pages() {
            let sp = self.page_struct(pfn);
            self.write_u64(sp + flags, reserved);
        }
        let pages = self.cfg.ram_size / self.page_size();
        let mut pfn = self.used_pages();
        let first = pfn;
        while pfn < pages {
            let order = if pfn.is_multiple_of(1024) && pfn + 1024 <= pages {
                10
            } else {
                0
            };
            let sp = self.page_struct(pfn);
            self.write_u32(sp + pt, buddy);
            self.write_u64(sp + private, order);
            pfn += 1 << order;
        }
        pages - first
    }

    /// Set one global counter (`vm_zone_stat[]` or `vm_node_stat[]`, by enumerator name).
    pub fn set_counter(&mut self, name: &str, value: i64) {
        let (array, key) = if self.k.has(&format!("zone.{name}")) {
            ("vm_zone_stat", format!("zone.{name}"))
        } else {
            ("vm_node_stat", format!("node.{name}"))
        };
        let at = self.ksym(array) + self.k.o(&key) * 8;
        self.write_u64(at, value as u64);
    }

    /// Write the counters of `s` into the machine.
    pub fn set_vmstat(&mut self, s: &VmstatSpec) {
        let k = std::sync::Arc::clone(&self.k);
        let o = |key: &str| k.o(key);
        let zone_idx = |name: &str| o(&format!("zone.{name}"));
        let node_idx = |name: &str| o(&format!("node.{name}"));
        for &(name, v) in &s.zone_global {
            self.write_u64(self.ksym("vm_zone_stat") + zone_idx(name) * 8, v as u64);
        }
        for &(name, v) in &s.node_global {
            self.write_u64(self.ksym("vm_node_stat") + node_idx(name) * 8, v as u64);
        }
        let pgdat_p = self.alloc_pages(1);
        let pgdat = self.virt(pgdat_p);
        self.write_u64(self.ksym("node_data"), pgdat);
        self.write_u32(self.ksym("nr_node_ids"), 1);
        self.write_u32(self.ksym("nr_cpu_ids"), s.possible);
        let zone_pcp_at = if k.has("zone.pageset") {
            o("zone.pageset")
        } else {
            o("zone.per_cpu_zonestats")
        };
        let zone_diff = if k.has("per_cpu_pageset.vm_stat_diff") {
            o("per_cpu_pageset.vm_stat_diff")
        } else {
            o("per_cpu_zonestat.vm_stat_diff")
        };
        for z in 0..4 {
            let zone = pgdat + o("pglist_data.node_zones") + z * o("zone");
            self.write_u64(zone + zone_pcp_at, ZONE_PCP + z * 0x100);
        }
        self.write_u64(pgdat + o("pglist_data.per_cpu_nodestats"), NODE_PCP);
        let mut mask = 0u64;
        for &c in &s.online {
            mask |= 1 << c;
        }
        self.write_u64(self.ksym("__cpu_online_mask"), mask);
        let possible = u64::MAX >> (64 - s.possible.clamp(1, 64));
        self.write_u64(self.ksym("__cpu_possible_mask"), possible);
        let mut areas = Vec::new();
        // 16 KiB per CPU, whatever the page size
        let order = (PCP_END - ZONE_PCP).div_ceil(self.page_size()).ilog2();
        for cpu in 0..s.possible {
            let area_p = self.alloc_pages(order);
            let area = self.virt(area_p);
            let off = if s.unmapped_cpus.contains(&cpu) {
                0xffff_8880_0000_0000u64.wrapping_add(0x7f00_0000_0000)
            } else {
                area.wrapping_sub(ZONE_PCP)
            };
            self.write_u64(self.ksym("__per_cpu_offset") + u64::from(cpu) * 8, off);
            areas.push(area);
            self.pcpu_areas.push(area);
        }
        for &(cpu, z, name, d) in &s.zone_deltas {
            let at = areas[cpu as usize] + z * 0x100 + zone_diff + zone_idx(name);
            self.write_bytes(at, &[d as u8]);
        }
        for &(cpu, name, d) in &s.node_deltas {
            let at = areas[cpu as usize]
                + (NODE_PCP - ZONE_PCP)
                + o("per_cpu_nodestat.vm_node_stat_diff")
                + node_idx(name);
            self.write_bytes(at, &[d as u8]);
        }
        self.write_u64(self.ksym("_totalram_pages"), s.totalram_pages);
        self.write_u64(self.ksym("nr_vmalloc_pages"), s.vmalloc_pages);
        self.write_u64(self.ksym("pcpu_nr_populated"), s.pcpu.0);
        self.write_u32(self.ksym("pcpu_nr_units"), s.pcpu.1);
    }
}
