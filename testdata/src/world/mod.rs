//! A synthetic kernel's memory, built object by object: tasks, fd tables, sockets, queues, skbs,
//! slab caches, page-frag caches and compound pages — written into a [`PhysImage`] at the offsets the
//! synthetic kernel's compiler reports, with page tables, the direct map and vmemmap.
//!
//! Alongside the memory, the builder keeps what it put there ([`ExpectedSkb`]), so tests can compare
//! skbwalk's findings with the fixture's own record.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::pagetables::PageTables;
use crate::phys::PhysImage;
use crate::synth::{SynthKernel, LINK_TEXT, RELEASE};

mod alloc;
mod owners;
mod skbs;
mod sockets;
mod spec;
mod tasks;

pub use spec::*;

/// `__START_KERNEL_map`.
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
const TABLE_POOL: u64 = 0x300_0000;
const TABLE_POOL_END: u64 = 0x3c0_0000;
const VMEMMAP_PHYS: u64 = 0x400_0000;
const HEAP_START: u64 = 0x800_0000;
/// Bytes of headroom before `skb->data` (NET_SKB_PAD).
const HEADROOM: u64 = 64;
const EHASH_SIZE: u64 = 64;
const LHASH_SIZE: u64 = 16;
/// `INET_LHTABLE_SIZE`: the fixed listening hash before 5.19.
const OLD_LISTENING_HASH_SIZE: u64 = 32;
const UDP_HASH_SIZE: u64 = 32;

struct Cache {
    kmem_cache: u64,
    size: u64,
    order: u32,
    cur: u64,
    left: u64,
    /// Slabs made, objects each holds, and the head struct page of the one being filled.
    slabs: u64,
    per_slab: u64,
    cur_head: u64,
}

struct FragCache {
    order: u32,
    page: u64,
    offset: u64,
}

struct Task {
    addr: u64,
    files: u64,
    fd_array: u64,
    max_fds: u32,
}

/// The synthetic machine under construction.
pub struct World {
    /// The kernel whose layout is used.
    pub k: Arc<SynthKernel>,
    /// Addresses.
    pub cfg: WorldConfig,
    /// The physical memory.
    pub img: PhysImage,
    pt: PageTables,
    pub(crate) heap: u64,
    heap_start: u64,
    /// When set, [`World::finish`] marks boot memory reserved and the unallocated rest free
    /// (buddy blocks), and sets NR_FREE_PAGES to their count plus this value (to cancel the
    /// per-CPU deltas the fixture wrote).
    pub boot_and_free: Option<i64>,
    caches: HashMap<String, Cache>,
    /// Each possible CPU's per-CPU area (written by `set_vmstat`).
    pub(crate) pcpu_areas: Vec<u64>,
    /// The page `kmem_cache_node`s are being placed in.
    heap_node_page: u64,
    frag_caches: HashMap<&'static str, FragCache>,
    refs: HashMap<u64, u32>,
    tasks: Vec<Task>,
    /// Sockets, in creation order.
    pub sockets: Vec<ExpectedSocket>,
    /// The memcgs written by `set_memcgs`: (cgroup path, `struct mem_cgroup`).
    pub memcgs: Vec<(String, u64)>,
    rng: u64,
    /// Proportion (per 256) of virtio buffer slots consumed by packets that were freed since.
    pub virtio_skip: u64,
    mini_socks: Vec<(u64, u8)>,
    /// cgroup path → (its `css_set`, its kernfs node); "/" is `init_css_set` and the root.
    cgroups: HashMap<String, (u64, u64)>,
}

fn align(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

/// `SKB_DATA_ALIGN`: round to the cache line.
pub fn skb_data_align(v: u64) -> u64 {
    align(v, 64)
}

impl World {
    /// An empty machine: kernel image copied in, page tables for the image, direct map and vmemmap,
    /// `init_task` with an empty task list.
    pub fn new(k: SynthKernel, cfg: WorldConfig) -> World {
        let mut img = PhysImage::new(vec![(0, cfg.ram_size)]);
        // the top table: x86-64's init_top_pgt, and its storage as arm64's swapper_pg_dir
        let top = k.sym("init_top_pgt") - LINK_TEXT + cfg.phys_load;
        let page = cfg.arch.page_size();
        let (mut pt, image_page) = match cfg.arch {
            WorldArch::X86_64 => (
                PageTables::new(cfg.levels, top, TABLE_POOL, TABLE_POOL_END),
                2 << 20,
            ),
            WorldArch::Arm64 { page_shift } => (
                PageTables::arm64(page_shift, 48, top, TABLE_POOL, TABLE_POOL_END),
                page,
            ),
        };
        for (addr, bytes) in &k.sections {
            img.write(addr - LINK_TEXT + cfg.phys_load, bytes);
        }
        // Kernel image: 2 MiB pages from _text on x86-64 (cleanup_highmap leaves nothing below
        // it), pages of the granule on arm64.
        let text = LINK_TEXT + cfg.kaslr_offset;
        pt.map(
            &mut img,
            text,
            cfg.phys_load & !(image_page - 1),
            8 << 20,
            image_page,
        );
        pt.map(
            &mut img,
            cfg.page_offset_base,
            0,
            align(cfg.ram_size, cfg.direct_map_page),
            cfg.direct_map_page,
        );
        let vmemmap_len = align(cfg.ram_size / page * k.o("page"), 2 << 20);
        pt.map(
            &mut img,
            cfg.vmemmap_base,
            VMEMMAP_PHYS,
            vmemmap_len,
            image_page,
        );
        // Objects live above the struct page array (bigger machines have a bigger one).
        let heap = HEAP_START.max(align(VMEMMAP_PHYS + vmemmap_len, 2 << 20));
        let mut w = World {
            k: Arc::new(k),
            cfg,
            img,
            pt,
            heap,
            heap_start: heap,
            boot_and_free: None,
            caches: HashMap::new(),
            pcpu_areas: Vec::new(),
            heap_node_page: 0,
            frag_caches: HashMap::new(),
            refs: HashMap::new(),
            tasks: Vec::new(),
            sockets: Vec::new(),
            memcgs: Vec::new(),
            rng: 0x9e37_79b9_7f4a_7c15,
            virtio_skip: 192,
            mini_socks: Vec::new(),
            cgroups: HashMap::new(),
        };
        w.init_hash_tables();
        let (pob, vmb) = (w.cfg.page_offset_base, w.cfg.vmemmap_base);
        w.write_u64(w.ksym("page_offset_base"), pob);
        w.write_u64(w.ksym("vmemmap_base"), vmb);
        w.write_u64(w.ksym("vmalloc_base"), 0xffff_c900_0000_0000);
        let max_pfn = w.cfg.ram_size / w.page_size();
        w.write_u64(w.ksym("max_pfn"), max_pfn);
        let init = w.ksym("init_task");
        let tasks = init + w.k.o("task_struct.tasks");
        w.write_u64(tasks, tasks);
        w.write_u64(tasks + 8, tasks);
        w.write_bytes(init + w.k.o("task_struct.comm"), b"swapper/0\0");
        w.write_u64(init + w.k.o("task_struct.group_leader"), init);
        let tg = init + w.k.o("task_struct.thread_group");
        w.write_u64(tg, tg);
        w.write_u64(tg + 8, tg);
        w.init_cgroups();
        let vl = w.ksym("vmap_area_list");
        w.write_u64(vl, vl);
        w.write_u64(vl + 8, vl);
        for (name, size, order) in [
            ("skbuff_head_cache", "sk_buff", 0),
            ("skbuff_fclone_cache", "sk_buff", 1),
        ] {
            let slot = if name == "skbuff_fclone_cache" {
                align(2 * w.k.o(size) + 8, 64)
            } else {
                align(w.k.o(size), 64)
            };
            let cache = w.new_cache(name, slot, order);
            let ptr = w.ksym(name);
            w.write_u64(ptr, cache);
        }
        w
    }

    /// Runtime (KASLR-applied) address of a kernel symbol.
    pub fn ksym(&self, name: &str) -> u64 {
        self.k.sym(name) + self.cfg.kaslr_offset
    }

    /// Bytes of the vmemmap mapping: the struct pages of all RAM, in 2 MiB pages.
    pub fn vmemmap_len(&self) -> u64 {
        align(
            self.cfg.ram_size / self.page_size() * self.k.o("page"),
            2 << 20,
        )
    }

    /// The kernel's page size (`PAGE_SIZE`).
    pub fn page_size(&self) -> u64 {
        self.cfg.arch.page_size()
    }

    /// The order of the page-frag caches' pages (`SKB_FRAG_PAGE_ORDER`, 32 KiB:
    /// `get_order(32768)`): 3 with 4 KiB pages, 0 with 64 KiB.
    pub fn frag_order(&self) -> u32 {
        (32768 / self.page_size()).max(1).trailing_zeros()
    }

    /// Physical address of a kernel virtual address (image, direct map or vmemmap).
    pub fn phys(&self, vaddr: u64) -> u64 {
        if vaddr >= START_KERNEL_MAP {
            vaddr - (LINK_TEXT + self.cfg.kaslr_offset) + self.cfg.phys_load
        } else if vaddr.wrapping_sub(self.cfg.vmemmap_base) < self.vmemmap_len() {
            vaddr - self.cfg.vmemmap_base + VMEMMAP_PHYS
        } else {
            assert!(
                vaddr >= self.cfg.page_offset_base
                    && vaddr < self.cfg.page_offset_base + self.cfg.ram_size,
                "{vaddr:#x} not mapped"
            );
            vaddr - self.cfg.page_offset_base
        }
    }

    /// Direct-map address of a physical address.
    pub fn virt(&self, paddr: u64) -> u64 {
        self.cfg.page_offset_base + paddr
    }

    /// `struct page` address of a pfn.
    pub fn page_struct(&self, pfn: u64) -> u64 {
        self.cfg.vmemmap_base + pfn * self.k.o("page")
    }

    /// Write bytes at a kernel virtual address.
    pub fn write_bytes(&mut self, vaddr: u64, b: &[u8]) {
        let p = self.phys(vaddr);
        self.img.write(p, b);
    }

    /// Write a u64 at a kernel virtual address.
    pub fn write_u64(&mut self, vaddr: u64, v: u64) {
        self.write_bytes(vaddr, &v.to_le_bytes());
    }

    /// Write a u32.
    pub fn write_u32(&mut self, vaddr: u64, v: u32) {
        self.write_bytes(vaddr, &v.to_le_bytes());
    }

    fn write_u16(&mut self, vaddr: u64, v: u16) {
        self.write_bytes(vaddr, &v.to_le_bytes());
    }

    /// Pages below the allocation cursor: everything the machine has handed out so far
    /// (kernel image, page tables, slabs, skb pages).
    pub fn used_pages(&self) -> u64 {
        self.heap.div_ceil(self.page_size())
    }

    /// Pages below the allocator's start: kernel image, page tables, vmemmap (reserved at boot).
    pub fn boot_pages(&self) -> u64 {
        self.heap_start / self.page_size()
    }

    /// Read back a u64 written at `vaddr`.
    pub fn read_u64(&self, vaddr: u64) -> u64 {
        let mut b = [0u8; 8];
        self.img.read(self.phys(vaddr), &mut b);
        u64::from_le_bytes(b)
    }

    fn read_u8(&self, vaddr: u64) -> u8 {
        let mut b = [0u8; 1];
        self.img.read(self.phys(vaddr), &mut b);
        b[0]
    }

    fn set_bit(&mut self, vaddr_bits: u64, bit: u64) {
        let a = vaddr_bits + bit / 8;
        let v = self.read_u8(a) | (1 << (bit % 8));
        self.write_bytes(a, &[v]);
    }

    fn next_rand(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Finish: write page refcounts. Returns the VMCOREINFO text the kernel would export.
    pub fn finish(&mut self) -> String {
        let refs: Vec<(u64, u32)> = self.refs.iter().map(|(&a, &r)| (a, r)).collect();
        for (head, r) in refs {
            self.write_u32(head + self.k.o("page._refcount"), r);
        }
        self.write_slab_caches();
        self.write_sockstat();
        if let Some(delta) = self.boot_and_free.take() {
            let free = self.mark_boot_and_free() as i64;
            self.set_counter("NR_FREE_PAGES", free + delta);
        }
        self.vmcoreinfo()
    }

    /// The VMCOREINFO text for this machine.
    pub fn vmcoreinfo(&self) -> String {
        let c = &self.cfg;
        if let WorldArch::Arm64 { .. } = c.arch {
            return self.vmcoreinfo_arm64();
        }
        let hex: String = self.k.build_id.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "OSRELEASE={RELEASE}\nBUILD-ID={hex}\nPAGESIZE=4096\nSYMBOL(init_uts_ns)={:x}\nSYMBOL(init_top_pgt)={:x}\nSYMBOL(swapper_pg_dir)={:x}\n\
NUMBER(pgtable_l5_enabled)={}\nSIZE(page)={}\nOFFSET(page.flags)={}\nOFFSET(page.compound_head)={}\n\
NUMBER(PG_head_mask)={}\nKERNELOFFSET={:x}\nNUMBER(phys_base)={}\n",
            self.ksym("init_uts_ns"),
            self.ksym("init_top_pgt"),
            self.ksym("init_top_pgt"),
            u8::from(c.levels == 5),
            self.k.o("page"),
            self.k.o("page.flags"),
            self.k.o("page.compound_head"),
            1u64 << self.k.o("PG_head"),
            c.kaslr_offset,
            c.phys_base() as i64,
        )
    }

    /// arm64's VMCOREINFO (arch/arm64/kernel/vmcore_info.c): the layout numbers, no CR3.
    fn vmcoreinfo_arm64(&self) -> String {
        let c = &self.cfg;
        let hex: String = self.k.build_id.iter().map(|b| format!("{b:02x}")).collect();
        let kimage_voffset = (LINK_TEXT + c.kaslr_offset).wrapping_sub(c.phys_load);
        format!(
            "OSRELEASE={RELEASE}\nBUILD-ID={hex}\nPAGESIZE={}\nSYMBOL(init_uts_ns)={:x}\n\
SYMBOL(swapper_pg_dir)={:x}\nSIZE(page)={}\nOFFSET(page.flags)={}\nOFFSET(page.compound_head)={}\n\
NUMBER(PG_head_mask)={}\nNUMBER(VA_BITS)=48\nNUMBER(kimage_voffset)={kimage_voffset:#x}\n\
NUMBER(PHYS_OFFSET)=0x0\nNUMBER(TCR_EL1_T1SZ)=0x10\nKERNELOFFSET={:x}\n",
            self.page_size(),
            self.ksym("init_uts_ns"),
            self.ksym("init_top_pgt"),
            self.k.o("page"),
            self.k.o("page.flags"),
            self.k.o("page.compound_head"),
            1u64 << self.k.o("PG_head"),
            c.kaslr_offset,
        )
    }

    /// Physical address of the top-level page table (what CR3 holds).
    pub fn cr3(&self) -> u64 {
        self.pt.top
    }
}
