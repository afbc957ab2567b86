//! Memory allocators of the synthetic kernel: pages, compound pages, slab caches and objects,
//! kmalloc, page-frag caches and virtio receive buffers.

use super::*;

impl World {
    /// Physical pages from the buddy allocator (bump), naturally aligned.
    pub fn alloc_pages(&mut self, order: u32) -> u64 {
        let size = self.page_size() << order;
        let p = align(self.heap, size);
        assert!(p + size <= self.cfg.ram_size, "synthetic RAM exhausted");
        self.heap = p + size;
        p
    }

    /// Mark `[paddr, +PAGE_SIZE<<order)` as a compound page (head flags, order, tail links).
    pub(super) fn make_compound(&mut self, paddr: u64, order: u32, extra_flag: Option<u64>) -> u64 {
        let pfn = paddr / self.page_size();
        let head = self.page_struct(pfn);
        let mut flags = extra_flag.map_or(0, |b| 1 << b);
        if order > 0 {
            flags |= 1 << self.k.o("PG_head");
            let at = self.k.o("order.at");
            self.write_bytes(head + at, &[order as u8]);
            for i in 1..(1u64 << order) {
                let tail = self.page_struct(pfn + i);
                self.write_u64(tail + self.k.o("page.compound_head"), head | 1);
            }
        }
        self.write_u64(head + self.k.o("page.flags"), flags);
        self.write_u32(head + self.k.o("page._refcount"), 1);
        head
    }

    /// A new slab cache (`struct kmem_cache`) with slot `size` and slabs of `order`.
    pub fn new_cache(&mut self, name: &str, size: u64, order: u32) -> u64 {
        let p = self.alloc_pages(0);
        let kc = self.virt(p);
        self.write_u32(kc + self.k.o("kmem_cache.size"), size as u32);
        self.write_bytes(kc + 512, name.as_bytes());
        self.write_u64(kc + self.k.o("kmem_cache.name"), kc + 512);
        self.caches.insert(
            name.to_string(),
            Cache {
                kmem_cache: kc,
                size,
                order,
                cur: 0,
                left: 0,
                slabs: 0,
                per_slab: 0,
                cur_head: 0,
            },
        );
        kc
    }

    /// SLUB's bookkeeping for every cache, as the kernel keeps it (once the per-CPU areas exist):
    /// the caches on `slab_caches`; node 0 with `total_objects` (every slab made) and, on its
    /// partial list, the slab being filled (`inuse` its objects handed out); per-CPU
    /// `kmem_cache_cpu`s with no current slab. Active objects are then exactly those allocated.
    pub(super) fn write_slab_caches(&mut self) {
        if !self.k.has("kmem_cache.node") || self.pcpu_areas.is_empty() {
            return;
        }
        let o = |w: &World, key: &str| w.k.o(key);
        let head = self.ksym("slab_caches");
        let list = o(self, "kmem_cache.list");
        let mut names: Vec<String> = self.caches.keys().cloned().collect();
        names.sort();
        // node structures from pages of their own (a kmalloc here would change the caches)
        let per_page = self.page_size() / o(self, "kmem_cache_node").max(1);
        let mut prev = head;
        for (i, name) in names.iter().enumerate() {
            // per-CPU kmem_cache_cpu at 0x2000 + i·32 of each CPU's area (the zone and node
            // stats take 0x1000..0x1500): zero, no current slab
            let pcp = 0x2000 + i as u64 * o(self, "kmem_cache_cpu");
            if pcp + o(self, "kmem_cache_cpu") > 0x3000 {
                break;
            }
            let c = &self.caches[name];
            let (kc, slabs, per_slab, left, cur_head) =
                (c.kmem_cache, c.slabs, c.per_slab, c.left, c.cur_head);
            self.write_u64(kc + o(self, "kmem_cache.cpu_slab"), pcp);
            let n = i as u64;
            if n.is_multiple_of(per_page) {
                let p = self.alloc_pages(0);
                self.heap_node_page = self.virt(p);
            }
            let node = self.heap_node_page + (n % per_page) * o(self, "kmem_cache_node");
            self.write_u64(kc + o(self, "kmem_cache.node"), node);
            self.write_u64(
                node + o(self, "kmem_cache_node.total_objects"),
                slabs * per_slab,
            );
            let partial = node + o(self, "kmem_cache_node.partial");
            if cur_head != 0 && left > 0 {
                let link = cur_head + o(self, "slabobj.list");
                self.write_u64(partial, link);
                self.write_u64(partial + 8, link);
                self.write_u64(link, partial);
                self.write_u64(link + 8, partial);
                // inuse (bits 0-15) and objects (bits 16-30) of the counters word
                let counters = (per_slab - left) | per_slab << 16;
                self.write_u64(cur_head + o(self, "slabobj.counters"), counters);
            } else {
                self.write_u64(partial, partial);
                self.write_u64(partial + 8, partial);
            }
            // slab_caches: append
            self.write_u64(prev, kc + list);
            self.write_u64(kc + list + 8, prev);
            prev = kc + list;
        }
        self.write_u64(prev, head);
        self.write_u64(head + 8, prev);
    }

    /// sockstat's figures: `tcp_sockets_allocated` (every TCP full socket; per-CPU parts 0)
    /// and `tcp_memory_allocated` (the pages their queues charge: truesize, rounded up).
    pub(super) fn write_sockstat(&mut self) {
        if !self.k.has("percpu_counter.count") || self.pcpu_areas.is_empty() {
            return;
        }
        let tcp: Vec<&ExpectedSocket> = self
            .sockets
            .iter()
            .filter(|s| {
                matches!(s.spec.kind, SockKind::Tcp | SockKind::Tcp6)
                    && ![6, 12].contains(&s.spec.tcp_state)
            })
            .collect();
        let count = tcp.len() as u64;
        let truesize: u64 = tcp
            .iter()
            .flat_map(|s| s.skbs.iter())
            .filter(|k| k.parent.is_none())
            .map(|k| u64::from(k.truesize))
            .sum();
        let a = self.ksym("tcp_sockets_allocated");
        self.write_u64(a + self.k.o("percpu_counter.count"), count);
        self.write_u64(a + self.k.o("percpu_counter.counters"), 0x2f00);
        self.write_u64(
            self.ksym("tcp_memory_allocated"),
            truesize.div_ceil(self.page_size()),
        );
    }

    /// Slot size of a cache.
    pub fn cache_size(&self, name: &str) -> u64 {
        self.caches[name].size
    }

    /// Allocate one object from a slab cache (created on first use as a kmalloc-style cache).
    pub fn slab_alloc(&mut self, name: &str) -> u64 {
        if !self.caches.contains_key(name) {
            let size: u64 = name
                .strip_prefix("kmalloc-")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1024);
            self.new_cache(name, size, if size >= 1024 { 3 } else { 0 });
        }
        let c = &self.caches[name];
        let (order, size, kc) = (c.order, c.size, c.kmem_cache);
        if c.left == 0 {
            let page = self.page_size();
            let p = self.alloc_pages(order);
            let flag = self.k.has("PG_slab").then(|| self.k.o("PG_slab"));
            let head = self.make_compound(p, order, flag);
            if self.k.has("PGTY_slab") {
                // 6.12: a page type in the top byte of page_type (the rest of the word: 0xffffff)
                let ty = (self.k.o("PGTY_slab") << 24 | 0x00ff_ffff) as u32;
                self.write_u32(head + self.k.o("page.page_type"), ty);
            }
            self.write_u64(head + self.k.o("slab_cache.at"), kc);
            // every slab says how many objects it has (inuse: all, as a full slab; the slab
            // being filled gets its real inuse in write_slab_caches)
            let per_slab = (page << order) / size;
            if self.k.has("slabobj.counters") {
                self.write_u64(
                    head + self.k.o("slabobj.counters"),
                    per_slab | per_slab << 16,
                );
            }
            let c = self.caches.get_mut(name).unwrap();
            c.cur = p;
            c.left = per_slab;
            c.slabs += 1;
            c.per_slab = c.left;
            c.cur_head = head;
        }
        let c = self.caches.get_mut(name).unwrap();
        let obj = c.cur;
        c.cur += size;
        c.left -= 1;
        self.virt(obj)
    }

    /// A kmalloc object of at least `size` bytes; returns (address, slot size).
    pub fn kmalloc(&mut self, size: u64) -> (u64, u64) {
        let slot = size.next_power_of_two().max(64);
        let page = self.page_size();
        if slot > 2 * page {
            // large kmalloc (above KMALLOC_MAX_CACHE_SIZE): straight from the page allocator
            let order = (slot / page).trailing_zeros();
            let p = self.alloc_pages(order);
            return (self.virt(p), page << order);
        }
        let name = format!("kmalloc-{slot}");
        let a = self.slab_alloc(&name);
        (a, slot)
    }

    /// Carve `size` bytes from a page-frag cache of `order`; returns (head struct page, offset in compound).
    pub(super) fn frag_alloc(&mut self, cache: &'static str, order: u32, size: u64) -> (u64, u64) {
        let total = self.page_size() << order;
        let need_new = self
            .frag_caches
            .get(cache)
            .is_none_or(|c| c.offset + size > total);
        if need_new {
            let p = self.alloc_pages(order);
            self.make_compound(p, order, None);
            self.frag_caches.insert(
                cache,
                FragCache {
                    order,
                    page: p,
                    offset: 0,
                },
            );
        }
        let c = self.frag_caches.get_mut(cache).unwrap();
        let (p, off) = (c.page, c.offset);
        c.offset += size;
        let _ = c.order;
        let head = self.page_struct(p / self.page_size());
        *self.refs.entry(head).or_insert(1) += 1;
        (head, off)
    }

    pub(super) fn virtio_frag(&mut self, size: u32) -> (u64, u64) {
        // Slots already consumed by packets of other flows, since freed.
        while self.next_rand() % 256 < self.virtio_skip {
            let (head, _) = self.frag_alloc("virtio", self.frag_order(), 1536);
            *self.refs.get_mut(&head).unwrap() -= 1;
        }
        self.frag_alloc(
            "virtio",
            self.frag_order(),
            align(size as u64, 64).max(1536),
        )
    }
}
