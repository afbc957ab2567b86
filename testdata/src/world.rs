//! A synthetic kernel's memory, built object by object: tasks, fd tables, sockets, queues, skbs,
//! slab caches, page-frag caches and compound pages — written into a [`PhysImage`] at the offsets the
//! synthetic kernel's compiler reports, with page tables, the direct map and vmemmap.
//!
//! Alongside the memory, the builder keeps what it put there ([`ExpectedSkb`]), so tests can compare
//! skbwalk's findings with the fixture's own record.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::pagetables::PageTables;
use crate::phys::{PhysImage, PAGE_SIZE};
use crate::synth::{SynthKernel, LINK_TEXT, RELEASE};

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

/// Where things are in the synthetic machine.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// KASLR displacement of the kernel image (0 = `nokaslr`).
    pub kaslr_offset: u64,
    /// Physical address `_text` is loaded at.
    pub phys_load: u64,
    /// Start of the direct map.
    pub page_offset_base: u64,
    /// Start of the `struct page` array.
    pub vmemmap_base: u64,
    /// 4 or 5 paging levels.
    pub levels: u8,
    /// RAM size in bytes.
    pub ram_size: u64,
    /// Page size of the direct map: 2 MiB or 1 GiB.
    pub direct_map_page: u64,
}

impl WorldConfig {
    /// A machine booted with `nokaslr`.
    pub fn nokaslr() -> Self {
        WorldConfig {
            kaslr_offset: 0,
            phys_load: 0x100_0000,
            page_offset_base: 0xffff_8880_0000_0000,
            vmemmap_base: 0xffff_ea00_0000_0000,
            levels: 4,
            ram_size: 512 << 20,
            direct_map_page: 1 << 30,
        }
    }

    /// A machine with KASLR: randomized image, direct map and vmemmap; the image loaded elsewhere.
    pub fn kaslr() -> Self {
        WorldConfig {
            kaslr_offset: 0x1c00_0000,
            phys_load: 0x2a0_0000,
            page_offset_base: 0xffff_9a0c_0000_0000,
            vmemmap_base: 0xffff_d84c_0020_0000,
            levels: 4,
            ram_size: 512 << 20,
            direct_map_page: 2 << 20,
        }
    }

    /// `phys_base` as the kernel computes it.
    pub fn phys_base(&self) -> u64 {
        self.phys_load
            .wrapping_sub(LINK_TEXT + self.kaslr_offset - START_KERNEL_MAP)
    }
}

/// Which queue of a socket an skb is on (names as in `../shared/spec/cli.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Queue {
    /// `sk_receive_queue`.
    Receive,
    /// TCP `out_of_order_queue` (rbtree).
    OutOfOrder,
    /// `sk_write_queue`.
    Write,
    /// TCP `tcp_rtx_queue` (rbtree).
    Retransmit,
    /// `sk_error_queue`.
    Error,
}

impl Queue {
    /// The queue's name in skbwalk's output.
    pub fn name(self) -> &'static str {
        match self {
            Queue::Receive => "receive",
            Queue::OutOfOrder => "out_of_order",
            Queue::Write => "write",
            Queue::Retransmit => "retransmit",
            Queue::Error => "error",
        }
    }
}

/// Where an skb's head buffer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// kmalloc (a slab object); `head_frag` clear.
    Kmalloc,
    /// A 1 KiB slice of an order-0 page (small NAPI heads); `head_frag` set.
    Frag1k,
    /// Carved from an order-3 page-frag cache; `head_frag` set.
    Frag32k,
}

/// Which page-frag cache a frag is carved from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragSrc {
    /// virtio_net mergeable receive buffers: 1536-byte slots of order-3 pages, some slots consumed by
    /// packets that were since freed (so the socket pins pages it barely uses).
    Virtio,
    /// `sk_page_frag`: exact-size carving of order-3 pages (TCP send path).
    Tx,
    /// A frag pointing into a *tail* page of an order-3 page, offset relative to that tail.
    TailPage,
}

/// What one skb should look like.
#[derive(Debug, Clone)]
pub struct SkbSpec {
    /// Bytes in the linear area.
    pub linear: u32,
    /// Where the head lives.
    pub head: Head,
    /// Frag sizes and sources.
    pub frags: Vec<(u32, FragSrc)>,
    /// Children on `frag_list`.
    pub frag_list: Vec<SkbSpec>,
    /// Allocated from `skbuff_fclone_cache`.
    pub fclone: bool,
}

impl SkbSpec {
    /// A linear skb with a kmalloc head.
    pub fn linear(len: u32) -> Self {
        SkbSpec {
            linear: len,
            head: Head::Kmalloc,
            frags: vec![],
            frag_list: vec![],
            fclone: false,
        }
    }
}

/// A frag as the fixture wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedFrag {
    /// `bv_page`.
    pub page: u64,
    /// Its compound head's `struct page`.
    pub head: u64,
    /// Compound order.
    pub order: u32,
    /// `bv_offset`.
    pub offset: u32,
    /// `bv_len`.
    pub size: u32,
}

/// An skb as the fixture wrote it, with the accounting the spec defines.
#[derive(Debug, Clone)]
pub struct ExpectedSkb {
    /// Address of the `sk_buff`.
    pub addr: u64,
    /// Queue it is on.
    pub queue: Queue,
    /// Parent skb for `frag_list` members.
    pub parent: Option<u64>,
    /// `len`.
    pub len: u32,
    /// `data_len`.
    pub data_len: u32,
    /// `truesize`.
    pub truesize: u32,
    /// `head_frag`.
    pub head_frag: bool,
    /// Frags in index order.
    pub frags: Vec<ExpectedFrag>,
    /// Distinct compound heads this skb references, with orders (frags, and the head if head_frag).
    pub pages: BTreeMap<u64, u32>,
    /// Slab slot size of the head (0 when head_frag).
    pub head_bytes: u64,
    /// Slab slot size of the sk_buff.
    pub struct_bytes: u64,
}

impl ExpectedSkb {
    /// Pinned bytes of this skb alone.
    pub fn pinned(&self) -> u64 {
        self.pages.values().map(|o| PAGE_SIZE << o).sum::<u64>()
            + self.head_bytes
            + self.struct_bytes
    }
}

/// Kind of socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockKind {
    /// AF_INET SOCK_STREAM (struct tcp_sock).
    Tcp,
    /// AF_INET6 SOCK_STREAM.
    Tcp6,
    /// AF_INET SOCK_DGRAM (struct udp_sock).
    Udp,
    /// AF_UNIX SOCK_STREAM.
    UnixStream,
    /// AF_UNIX SOCK_DGRAM.
    UnixDgram,
}

/// A socket's identity.
#[derive(Debug, Clone)]
pub struct SockSpec {
    /// Kind.
    pub kind: SockKind,
    /// TCP state number (`TCP_ESTABLISHED` = 1 …); for others the `skc_state` stored.
    pub tcp_state: u8,
    /// `socket.state` (`SS_CONNECTED` = 3 …).
    pub ss_state: u32,
    /// Local IPv4 address (host order a.b.c.d as `[a,b,c,d]`) and port.
    pub local: ([u8; 4], u16),
    /// Remote address and port.
    pub remote: ([u8; 4], u16),
    /// AF_UNIX bound path.
    pub unix_path: Option<String>,
    /// `sk_rcvbuf`, `sk_sndbuf`.
    pub bufs: (i32, i32),
}

impl SockSpec {
    /// A TCP socket in `state` between two IPv4 endpoints.
    pub fn tcp(state: u8, local: ([u8; 4], u16), remote: ([u8; 4], u16)) -> Self {
        SockSpec {
            kind: SockKind::Tcp,
            tcp_state: state,
            ss_state: 3,
            local,
            remote,
            unix_path: None,
            bufs: (6_291_456, 2_626_560),
        }
    }
}

/// Handle of a socket in the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SockId(pub usize);

/// What the fixture knows about one socket.
#[derive(Debug, Clone)]
pub struct ExpectedSocket {
    /// Address of the `struct sock`.
    pub sock: u64,
    /// Pid of the task holding it, and fd.
    pub pid: i32,
    /// fd number.
    pub fd: u32,
    /// Identity.
    pub spec: SockSpec,
    /// Its skbs in walk order (queue by queue, list order, frag_list members after their parent).
    pub skbs: Vec<ExpectedSkb>,
    /// `sk_rmem_alloc` stored.
    pub rmem_alloc: i32,
    /// `sk_wmem_queued` stored.
    pub wmem_queued: i32,
}

struct Cache {
    kmem_cache: u64,
    size: u64,
    order: u32,
    cur: u64,
    left: u64,
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
    frag_caches: HashMap<&'static str, FragCache>,
    refs: HashMap<u64, u32>,
    tasks: Vec<Task>,
    /// Sockets, in creation order.
    pub sockets: Vec<ExpectedSocket>,
    rng: u64,
    /// Proportion (per 256) of virtio buffer slots consumed by packets that were freed since.
    pub virtio_skip: u64,
    mini_socks: Vec<(u64, u8)>,
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
        let top = k.sym("init_top_pgt") - LINK_TEXT + cfg.phys_load;
        let mut pt = PageTables::new(cfg.levels, top, TABLE_POOL, TABLE_POOL_END);
        for (addr, bytes) in &k.sections {
            img.write(addr - LINK_TEXT + cfg.phys_load, bytes);
        }
        // Kernel image: 2 MiB pages from _text (cleanup_highmap leaves nothing below it).
        let text = LINK_TEXT + cfg.kaslr_offset;
        pt.map(&mut img, text, cfg.phys_load & !0x1f_ffff, 8 << 20, 2 << 20);
        pt.map(
            &mut img,
            cfg.page_offset_base,
            0,
            align(cfg.ram_size, cfg.direct_map_page),
            cfg.direct_map_page,
        );
        let vmemmap_len = align(cfg.ram_size / PAGE_SIZE * k.o("page"), 2 << 20);
        pt.map(
            &mut img,
            cfg.vmemmap_base,
            VMEMMAP_PHYS,
            vmemmap_len,
            2 << 20,
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
            frag_caches: HashMap::new(),
            refs: HashMap::new(),
            tasks: Vec::new(),
            sockets: Vec::new(),
            rng: 0x9e37_79b9_7f4a_7c15,
            virtio_skip: 192,
            mini_socks: Vec::new(),
        };
        w.init_hash_tables();
        let (pob, vmb) = (w.cfg.page_offset_base, w.cfg.vmemmap_base);
        w.write_u64(w.ksym("page_offset_base"), pob);
        w.write_u64(w.ksym("vmemmap_base"), vmb);
        w.write_u64(w.ksym("vmalloc_base"), 0xffff_c900_0000_0000);
        let max_pfn = w.cfg.ram_size / PAGE_SIZE;
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

    /// Physical address of a kernel virtual address (image, direct map or vmemmap).
    pub fn phys(&self, vaddr: u64) -> u64 {
        if vaddr >= START_KERNEL_MAP {
            vaddr - (LINK_TEXT + self.cfg.kaslr_offset) + self.cfg.phys_load
        } else if vaddr >= self.cfg.vmemmap_base && vaddr < self.cfg.vmemmap_base + (1 << 40) {
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
        self.heap.div_ceil(PAGE_SIZE)
    }

    /// Pages below the allocator's start: kernel image, page tables, vmemmap (reserved at boot).
    pub fn boot_pages(&self) -> u64 {
        self.heap_start / PAGE_SIZE
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

    /// Physical pages from the buddy allocator (bump), naturally aligned.
    pub fn alloc_pages(&mut self, order: u32) -> u64 {
        let size = PAGE_SIZE << order;
        let p = align(self.heap, size);
        assert!(p + size <= self.cfg.ram_size, "synthetic RAM exhausted");
        self.heap = p + size;
        p
    }

    /// Mark `[paddr, +PAGE_SIZE<<order)` as a compound page (head flags, order, tail links).
    fn make_compound(&mut self, paddr: u64, order: u32, extra_flag: Option<u64>) -> u64 {
        let pfn = paddr / PAGE_SIZE;
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
            },
        );
        kc
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
            let p = self.alloc_pages(order);
            let flag = self.k.has("PG_slab").then(|| self.k.o("PG_slab"));
            let head = self.make_compound(p, order, flag);
            if self.k.has("PGTY_slab") {
                // 6.12: a page type in the top byte of page_type (the rest of the word: 0xffffff)
                let ty = (self.k.o("PGTY_slab") << 24 | 0x00ff_ffff) as u32;
                self.write_u32(head + self.k.o("page.page_type"), ty);
            }
            self.write_u64(head + self.k.o("slab_cache.at"), kc);
            let c = self.caches.get_mut(name).unwrap();
            c.cur = p;
            c.left = (PAGE_SIZE << order) / size;
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
        if slot > 2 * PAGE_SIZE {
            // large kmalloc: straight from the page allocator, as the kernel does
            let order = (slot / PAGE_SIZE).trailing_zeros();
            let p = self.alloc_pages(order);
            return (self.virt(p), PAGE_SIZE << order);
        }
        let name = format!("kmalloc-{slot}");
        let a = self.slab_alloc(&name);
        (a, slot)
    }

    /// Carve `size` bytes from a page-frag cache of `order`; returns (head struct page, offset in compound).
    fn frag_alloc(&mut self, cache: &'static str, order: u32, size: u64) -> (u64, u64) {
        let total = PAGE_SIZE << order;
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
        let head = self.page_struct(p / PAGE_SIZE);
        *self.refs.entry(head).or_insert(1) += 1;
        (head, off)
    }

    fn virtio_frag(&mut self, size: u32) -> (u64, u64) {
        // Slots already consumed by packets of other flows, since freed.
        while self.next_rand() % 256 < self.virtio_skip {
            let (head, _) = self.frag_alloc("virtio", 3, 1536);
            *self.refs.get_mut(&head).unwrap() -= 1;
        }
        self.frag_alloc("virtio", 3, align(size as u64, 64).max(1536))
    }

    /// Add a task (thread-group leader) to the task list with an fd table of `max_fds` slots.
    pub fn add_task(&mut self, pid: i32, comm: &str, max_fds: u32) -> usize {
        let t = self.slab_alloc("task_struct");
        self.write_u32(t + self.k.o("task_struct.pid"), pid as u32);
        self.write_u32(t + self.k.o("task_struct.tgid"), pid as u32);
        let mut c = comm.as_bytes().to_vec();
        c.truncate(15);
        c.push(0);
        self.write_bytes(t + self.k.o("task_struct.comm"), &c);
        self.write_u64(t + self.k.o("task_struct.group_leader"), t);
        let tg = t + self.k.o("task_struct.thread_group");
        self.write_u64(tg, tg);
        self.write_u64(tg + 8, tg);
        // Append to init_task.tasks.
        let head = self.ksym("init_task") + self.k.o("task_struct.tasks");
        let node = t + self.k.o("task_struct.tasks");
        let last = self.read_u64(head + 8);
        self.write_u64(node, head);
        self.write_u64(node + 8, last);
        self.write_u64(last, node);
        self.write_u64(head + 8, node);
        let files = self.slab_alloc("files_cache");
        let (fdt, _) = self.kmalloc(self.k.o("fdtable"));
        let (fd_array, _) = self.kmalloc(max_fds as u64 * 8);
        self.write_u64(files + self.k.o("files_struct.fdt"), fdt);
        self.write_u32(fdt + self.k.o("fdtable.max_fds"), max_fds);
        self.write_u64(fdt + self.k.o("fdtable.fd"), fd_array);
        self.write_u64(t + self.k.o("task_struct.files"), files);
        self.tasks.push(Task {
            addr: t,
            files,
            fd_array,
            max_fds,
        });
        self.tasks.len() - 1
    }

    /// Add a thread to a task: same `files`, linked on the leader's `thread_group`.
    pub fn add_thread(&mut self, task: usize, pid: i32, comm: &str) -> u64 {
        let leader = self.tasks[task].addr;
        let t = self.slab_alloc("task_struct");
        self.write_u32(t + self.k.o("task_struct.pid"), pid as u32);
        let tgid = self.read_u64(leader + self.k.o("task_struct.pid")) as u32;
        self.write_u32(t + self.k.o("task_struct.tgid"), tgid);
        self.write_bytes(
            t + self.k.o("task_struct.comm"),
            format!("{comm}\0").as_bytes(),
        );
        self.write_u64(t + self.k.o("task_struct.group_leader"), leader);
        self.write_u64(t + self.k.o("task_struct.files"), self.tasks[task].files);
        let head = leader + self.k.o("task_struct.thread_group");
        let node = t + self.k.o("task_struct.thread_group");
        let last = self.read_u64(head + 8);
        self.write_u64(node, head);
        self.write_u64(node + 8, last);
        self.write_u64(last, node);
        self.write_u64(head + 8, node);
        t
    }

    /// Task address.
    pub fn task_addr(&self, task: usize) -> u64 {
        self.tasks[task].addr
    }

    fn install_fd(&mut self, task: usize, fd: u32, file: u64) {
        assert!(fd < self.tasks[task].max_fds);
        let slot = self.tasks[task].fd_array + fd as u64 * 8;
        self.write_u64(slot, file);
    }

    /// Open a regular file at `fd` (f_op = ext4_file_operations, dentry named `name`).
    pub fn add_regular_file(&mut self, task: usize, fd: u32, name: &str) -> u64 {
        let file = self.slab_alloc("filp");
        let dentry = self.slab_alloc("dentry");
        let (name_buf, _) = self.kmalloc(64);
        self.write_bytes(name_buf, format!("{name}\0").as_bytes());
        self.write_u64(dentry + self.k.o("dentry.d_name.name"), name_buf);
        self.write_u32(dentry + self.k.o("dentry.d_name.len"), name.len() as u32);
        self.write_u64(dentry + self.k.o("dentry.d_parent"), dentry);
        let inode = self.slab_alloc("inode_cache");
        self.write_u16(inode + self.k.o("inode.i_mode"), 0o100644);
        self.write_u64(file + self.k.o("file.f_path.dentry"), dentry);
        self.write_u64(file + self.k.o("file.f_inode"), inode);
        let fop = self.ksym("ext4_file_operations");
        self.write_u64(file + self.k.o("file.f_op"), fop);
        self.write_u64(file + self.k.o("file.f_count"), 1);
        self.install_fd(task, fd, file);
        file
    }

    /// Install an already-open file at another fd (dup, or a file shared by two tasks).
    pub fn dup_fd(&mut self, task: usize, fd: u32, file: u64) {
        self.install_fd(task, fd, file);
    }

    /// The `struct file` of a socket.
    pub fn socket_file(&self, s: SockId) -> u64 {
        let sock = self.sockets[s.0].sock;
        let socket = self.read_u64(sock + self.k.o("sock.sk_socket"));
        self.read_u64(socket + self.k.o("socket.file"))
    }

    /// Create a socket held by `task` at `fd`.
    pub fn add_socket(&mut self, task: usize, pid: i32, fd: u32, spec: SockSpec) -> SockId {
        let sk = self.new_sock(&spec, true);
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        let stype = if matches!(spec.kind, SockKind::Udp | SockKind::UnixDgram) {
            2
        } else {
            1
        };
        let socket = self.slab_alloc("sock_inode_cache");
        self.write_u32(socket + k("socket.state"), spec.ss_state);
        self.write_u16(socket + k("socket.type"), stype);
        self.write_u64(socket + k("socket.sk"), sk);
        self.write_u64(sk + k("sock.sk_socket"), socket);
        let file = self.slab_alloc("filp");
        let inode = self.slab_alloc("inode_cache");
        self.write_u16(inode + k("inode.i_mode"), 0o140777);
        self.write_u64(file + k("file.f_inode"), inode);
        let fop = self.ksym("socket_file_ops");
        self.write_u64(file + k("file.f_op"), fop);
        self.write_u64(file + k("file.private_data"), socket);
        self.write_u64(file + k("file.f_count"), 1);
        self.write_u64(socket + k("socket.file"), file);
        self.install_fd(task, fd, file);
        self.sockets.push(ExpectedSocket {
            sock: sk,
            pid,
            fd,
            spec,
            skbs: Vec::new(),
            rmem_alloc: 0,
            wmem_queued: 0,
        });
        SockId(self.sockets.len() - 1)
    }

    /// A TCP socket no fd reaches (closed by its process, still holding data: e.g. FIN_WAIT1 with an
    /// unsent write queue). It is only in `tcp_hashinfo.ehash`. Recorded with pid -1 and fd `u32::MAX`.
    pub fn add_orphan(&mut self, spec: SockSpec) -> SockId {
        let sk = self.new_sock(&spec, true);
        self.sockets.push(ExpectedSocket {
            sock: sk,
            pid: -1,
            fd: u32::MAX,
            spec,
            skbs: Vec::new(),
            rmem_alloc: 0,
            wmem_queued: 0,
        });
        SockId(self.sockets.len() - 1)
    }

    /// A `TIME_WAIT` (`inet_timewait_sock`) or `NEW_SYN_RECV` (`request_sock`) mini-socket in the
    /// established hash; returns its address.
    pub fn add_mini_sock(
        &mut self,
        state: u8,
        local: ([u8; 4], u16),
        remote: ([u8; 4], u16),
    ) -> u64 {
        let (cache, obj) = if state == 6 {
            ("tw_sock_TCP", "inet_timewait_sock")
        } else {
            ("request_sock_TCP", "request_sock")
        };
        if !self.caches.contains_key(cache) {
            let size = align(self.k.o(obj), 64);
            self.new_cache(cache, size, 0);
        }
        let sk = self.slab_alloc(cache);
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        self.write_u16(sk + k("sock.__sk_common.skc_family"), 2);
        self.write_bytes(sk + k("sock.__sk_common.skc_state"), &[state]);
        self.write_bytes(sk + k("sock.__sk_common.skc_rcv_saddr"), &local.0);
        self.write_bytes(sk + k("sock.__sk_common.skc_daddr"), &remote.0);
        self.write_u16(sk + k("sock.__sk_common.skc_num"), local.1);
        self.write_bytes(
            sk + k("sock.__sk_common.skc_dport"),
            &remote.1.to_be_bytes(),
        );
        self.hash_insert(sk, "ehash", (local.1 ^ remote.1) as u64);
        self.mini_socks.push((sk, state));
        sk
    }

    /// Mini-sockets added, `(address, state)`.
    pub fn mini_socks(&self) -> &[(u64, u8)] {
        &self.mini_socks
    }

    fn init_hash_tables(&mut self) {
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        let hi = self.ksym("tcp_hashinfo");
        let (ehash, _) = self.kmalloc(EHASH_SIZE * k("inet_ehash_bucket"));
        for i in 0..EHASH_SIZE {
            self.write_u64(ehash + i * k("inet_ehash_bucket"), (i << 1) | 1);
        }
        self.write_u64(hi + k("inet_hashinfo.ehash"), ehash);
        self.write_u32(hi + k("inet_hashinfo.ehash_mask"), (EHASH_SIZE - 1) as u32);
        let (lhash, _) = self.kmalloc(LHASH_SIZE * k("inet_listen_hashbucket"));
        for i in 0..LHASH_SIZE {
            let h =
                lhash + i * k("inet_listen_hashbucket") + k("inet_listen_hashbucket.nulls_head");
            self.write_u64(h, (i << 1) | 1);
        }
        self.write_u64(hi + k("inet_hashinfo.lhash2"), lhash);
        self.write_u32(hi + k("inet_hashinfo.lhash2_mask"), (LHASH_SIZE - 1) as u32);
        if kk.has("inet_hashinfo.listening_hash") {
            // before 5.19 listeners are in listening_hash[32] (nulls lists), lhash2 chains plain
            // hlists through icsk_listen_portaddr_node, which the fixtures leave empty
            for i in 0..LHASH_SIZE {
                let h = lhash
                    + i * k("inet_listen_hashbucket")
                    + k("inet_listen_hashbucket.nulls_head");
                self.write_u64(h, 0);
            }
            for i in 0..OLD_LISTENING_HASH_SIZE {
                let h = hi
                    + k("inet_hashinfo.listening_hash")
                    + i * k("inet_listen_hashbucket")
                    + k("inet_listen_hashbucket.nulls_head");
                self.write_u64(h, (i << 1) | 1);
            }
        }
        let ut = self.ksym("udp_table");
        let (hash, _) = self.kmalloc(UDP_HASH_SIZE * k("udp_hslot"));
        self.write_u64(ut + k("udp_table.hash"), hash);
        self.write_u32(ut + k("udp_table.mask"), (UDP_HASH_SIZE - 1) as u32);
    }

    /// Insert a sock at the head of a chain: `ehash`/`lhash2` (nulls lists via `skc_nulls_node`) or
    /// `udp` (`skc_node`).
    fn hash_insert(&mut self, sk: u64, table: &str, hash: u64) {
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        let (head, node) = match table {
            "ehash" => {
                let base = self.read_u64(self.ksym("tcp_hashinfo") + k("inet_hashinfo.ehash"));
                (
                    base + (hash & (EHASH_SIZE - 1)) * k("inet_ehash_bucket"),
                    sk + k("sock.__sk_common.skc_nulls_node"),
                )
            }
            "lhash2" if kk.has("inet_hashinfo.listening_hash") => {
                let b = self.ksym("tcp_hashinfo")
                    + k("inet_hashinfo.listening_hash")
                    + (hash & (OLD_LISTENING_HASH_SIZE - 1)) * k("inet_listen_hashbucket");
                (
                    b + k("inet_listen_hashbucket.nulls_head"),
                    sk + k("sock.__sk_common.skc_nulls_node"),
                )
            }
            "lhash2" => {
                let base = self.read_u64(self.ksym("tcp_hashinfo") + k("inet_hashinfo.lhash2"));
                let b = base + (hash & (LHASH_SIZE - 1)) * k("inet_listen_hashbucket");
                (
                    b + k("inet_listen_hashbucket.nulls_head"),
                    sk + k("sock.__sk_common.skc_nulls_node"),
                )
            }
            _ => {
                let base = self.read_u64(self.ksym("udp_table") + k("udp_table.hash"));
                (
                    base + (hash & (UDP_HASH_SIZE - 1)) * k("udp_hslot") + k("udp_hslot.head"),
                    sk + k("sock.__sk_common.skc_node"),
                )
            }
        };
        let first = self.read_u64(head);
        self.write_u64(node, first);
        self.write_u64(node + 8, head);
        if first & 1 == 0 && first != 0 {
            self.write_u64(first + 8, node);
        }
        self.write_u64(head, node);
    }

    /// Allocate and fill a `struct sock` (hashed into the TCP/UDP tables when `hashed`).
    fn new_sock(&mut self, spec: &SockSpec, hashed: bool) -> u64 {
        let (cache, obj, family, stype) = match spec.kind {
            SockKind::Tcp => ("TCP", "tcp_sock", 2u16, 1u16),
            SockKind::Tcp6 => ("TCPv6", "tcp_sock", 10, 1),
            SockKind::Udp => ("UDP", "udp_sock", 2, 2),
            SockKind::UnixStream => ("UNIX", "unix_sock", 1, 1),
            SockKind::UnixDgram => ("UNIX", "unix_sock", 1, 2),
        };
        if !self.caches.contains_key(cache) {
            let size = align(self.k.o(obj), 64);
            self.new_cache(cache, size, 3);
        }
        let sk = self.slab_alloc(cache);
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        let (o_family, o_state, o_type, o_proto) = (
            k("sock.__sk_common.skc_family"),
            k("sock.__sk_common.skc_state"),
            k("sock.sk_type"),
            k("sock.sk_protocol"),
        );
        self.write_u16(sk + o_family, family);
        let state = if matches!(spec.kind, SockKind::Tcp | SockKind::Tcp6) {
            spec.tcp_state
        } else {
            spec.tcp_state.max(7)
        };
        self.write_bytes(sk + o_state, &[state]);
        self.write_u16(sk + o_type, stype);
        let proto = match spec.kind {
            SockKind::Tcp | SockKind::Tcp6 => 6,
            SockKind::Udp => 17,
            _ => 0,
        };
        self.write_u16(sk + o_proto, proto);
        self.write_bytes(sk + k("sock.__sk_common.skc_rcv_saddr"), &spec.local.0);
        self.write_bytes(sk + k("sock.__sk_common.skc_daddr"), &spec.remote.0);
        self.write_u16(sk + k("sock.__sk_common.skc_num"), spec.local.1);
        self.write_bytes(
            sk + k("sock.__sk_common.skc_dport"),
            &spec.remote.1.to_be_bytes(),
        );
        if spec.kind == SockKind::Tcp6 {
            let mapped = |a: [u8; 4]| {
                let mut v = [0u8; 16];
                v[10] = 0xff;
                v[11] = 0xff;
                v[12..].copy_from_slice(&a);
                v
            };
            self.write_bytes(
                sk + k("sock.__sk_common.skc_v6_rcv_saddr"),
                &mapped(spec.local.0),
            );
            self.write_bytes(
                sk + k("sock.__sk_common.skc_v6_daddr"),
                &mapped(spec.remote.0),
            );
        }
        self.write_u32(sk + k("sock.sk_rcvbuf"), spec.bufs.0 as u32);
        self.write_u32(sk + k("sock.sk_sndbuf"), spec.bufs.1 as u32);
        for q in [
            "sock.sk_receive_queue",
            "sock.sk_error_queue",
            "sock.sk_write_queue",
        ] {
            let h = sk + k(q);
            self.write_u64(h, h);
            self.write_u64(h + 8, h);
        }
        if let Some(path) = &spec.unix_path {
            let (addr, _) = self.kmalloc(8 + 110);
            let len = 2 + path.len() + 1;
            self.write_u32(addr + k("unix_address.len"), len as u32);
            let name = addr + k("unix_address.name");
            self.write_u16(name, 1);
            self.write_bytes(name + 2, format!("{path}\0").as_bytes());
            self.write_u64(sk + k("unix_sock.addr"), addr);
        }
        if hashed {
            match spec.kind {
                SockKind::Tcp | SockKind::Tcp6 if spec.tcp_state == 10 => {
                    self.hash_insert(sk, "lhash2", spec.local.1 as u64)
                }
                SockKind::Tcp | SockKind::Tcp6 => {
                    self.hash_insert(sk, "ehash", (spec.local.1 ^ spec.remote.1) as u64)
                }
                SockKind::Udp => self.hash_insert(sk, "udp", spec.local.1 as u64),
                _ => {}
            }
        }
        sk
    }

    /// Build one skb (and its frag_list children) in memory; returns its address and records.
    fn build_skb(
        &mut self,
        spec: &SkbSpec,
        sk: u64,
        queue: Queue,
        parent: Option<u64>,
        out: &mut Vec<ExpectedSkb>,
    ) -> u64 {
        let k = |w: &World, s: &str| w.k.o(s);
        let cache = if spec.fclone {
            "skbuff_fclone_cache"
        } else {
            "skbuff_head_cache"
        };
        let skb = self.slab_alloc(cache);
        let struct_bytes = self.cache_size(cache);
        let shinfo_size = skb_data_align(k(self, "skb_shared_info"));
        let mut pages = BTreeMap::new();
        let (head, head_size, head_bytes, head_frag) = match spec.head {
            Head::Kmalloc => {
                let want = skb_data_align(HEADROOM + spec.linear as u64) + shinfo_size;
                let (a, slot) = self.kmalloc(want);
                (a, slot, slot, false)
            }
            Head::Frag1k => {
                let size = 1024u64;
                assert!(
                    skb_data_align(HEADROOM + spec.linear as u64) + shinfo_size <= size,
                    "linear too big for a 1k head"
                );
                let (hp, off) = self.frag_alloc("napi1k", 0, size);
                let pfn = (hp - self.cfg.vmemmap_base) / k(self, "page");
                pages.insert(hp, 0);
                (self.virt(pfn * PAGE_SIZE + off), size, 0, true)
            }
            Head::Frag32k => {
                let size = skb_data_align(HEADROOM + spec.linear as u64) + shinfo_size;
                let (hp, off) = self.frag_alloc("tx", 3, size);
                let pfn = (hp - self.cfg.vmemmap_base) / k(self, "page");
                pages.insert(hp, 3);
                (self.virt(pfn * PAGE_SIZE + off), size, 0, true)
            }
        };
        let end = head_size - shinfo_size;
        let shinfo = head + end;
        let mut frags = Vec::new();
        for (i, &(size, src)) in spec.frags.iter().enumerate() {
            let (hp, off, page) = match src {
                FragSrc::Virtio => {
                    let (hp, off) = self.virtio_frag(size);
                    (hp, off, hp)
                }
                FragSrc::Tx => {
                    let (hp, off) = self.frag_alloc("tx", 3, size as u64);
                    (hp, off, hp)
                }
                FragSrc::TailPage => {
                    let (hp, off) = self.frag_alloc("tx", 3, size as u64);
                    let tail = hp + (off / PAGE_SIZE) * k(self, "page");
                    (hp, off % PAGE_SIZE, tail)
                }
            };
            pages.insert(hp, 3);
            let f = shinfo + k(self, "skb_shared_info.frags") + i as u64 * k(self, "frag");
            self.write_u64(f + k(self, "frag.page"), page);
            self.write_u32(f + k(self, "frag.len"), size);
            self.write_u32(f + k(self, "frag.offset"), off as u32);
            frags.push(ExpectedFrag {
                page,
                head: hp,
                order: 3,
                offset: off as u32,
                size,
            });
        }
        self.write_bytes(
            shinfo + k(self, "skb_shared_info.nr_frags"),
            &[spec.frags.len() as u8],
        );
        self.write_u32(shinfo + k(self, "skb_shared_info.dataref"), 1);
        let data_len: u32 = spec.frags.iter().map(|f| f.0).sum();
        let mut truesize = (skb_data_align(k(self, "sk_buff")) + head_size) as u32
            + spec
                .frags
                .iter()
                .map(|f| align(f.0 as u64, 64).max(1536) as u32)
                .sum::<u32>();
        self.write_u64(skb + k(self, "sk_buff.head"), head);
        self.write_u64(skb + k(self, "sk_buff.data"), head + HEADROOM);
        self.write_u32(
            skb + k(self, "sk_buff.tail"),
            (HEADROOM + spec.linear as u64) as u32,
        );
        self.write_u32(skb + k(self, "sk_buff.end"), end as u32);
        self.write_u64(skb + k(self, "sk_buff.sk"), sk);
        self.write_u32(skb + k(self, "sk_buff.users"), 1);
        if head_frag {
            self.set_bit(skb, k(self, "sk_buff.head_frag@bit"));
        }
        if spec.fclone {
            self.set_bit(skb, k(self, "sk_buff.fclone@bit"));
        }
        let idx = out.len();
        out.push(ExpectedSkb {
            addr: skb,
            queue,
            parent,
            len: 0,
            data_len: 0,
            truesize: 0,
            head_frag,
            frags,
            pages,
            head_bytes,
            struct_bytes,
        });
        // frag_list children: linked by ->next, NULL-terminated.
        let mut child_len = 0u32;
        let mut prev: Option<u64> = None;
        for c in &spec.frag_list {
            let before = out.len();
            let ca = self.build_skb(c, sk, queue, Some(skb), out);
            child_len += out[before].len;
            truesize += out[before].truesize;
            match prev {
                None => self.write_u64(shinfo + k(self, "skb_shared_info.frag_list"), ca),
                Some(p) => self.write_u64(p + k(self, "sk_buff.next"), ca),
            }
            prev = Some(ca);
        }
        let len = spec.linear + data_len + child_len;
        self.write_u32(skb + k(self, "sk_buff.len"), len);
        self.write_u32(skb + k(self, "sk_buff.data_len"), data_len + child_len);
        self.write_u32(skb + k(self, "sk_buff.truesize"), truesize);
        let e = &mut out[idx];
        e.len = len;
        e.data_len = data_len + child_len;
        e.truesize = truesize;
        skb
    }

    /// Queue skbs on a socket (list queues in order; rbtree queues sorted in the order given).
    pub fn queue(&mut self, s: SockId, queue: Queue, specs: &[SkbSpec]) {
        let sk = self.sockets[s.0].sock;
        let mut recs = Vec::new();
        let mut tops = Vec::new();
        for spec in specs {
            tops.push(self.build_skb(spec, sk, queue, None, &mut recs));
        }
        let truesize: i64 = recs
            .iter()
            .filter(|r| r.parent.is_none())
            .map(|r| r.truesize as i64)
            .sum();
        match queue {
            Queue::OutOfOrder | Queue::Retransmit => {
                let root = if queue == Queue::OutOfOrder {
                    sk + self.k.o("tcp_sock.out_of_order_queue")
                } else {
                    sk + self.k.o("sock.tcp_rtx_queue")
                };
                let r = self.build_rbtree(&tops, 0);
                self.write_u64(root, r);
            }
            _ => {
                let field = match queue {
                    Queue::Receive => "sock.sk_receive_queue",
                    Queue::Write => "sock.sk_write_queue",
                    _ => "sock.sk_error_queue",
                };
                let h = sk + self.k.o(field);
                let (o_next, o_prev) = (self.k.o("sk_buff.next"), self.k.o("sk_buff.prev"));
                let mut prev = self.read_u64(h + 8);
                for &skb in &tops {
                    self.write_u64(skb + o_prev, prev);
                    self.write_u64(skb + o_next, h);
                    if prev == h {
                        self.write_u64(h, skb);
                    } else {
                        self.write_u64(prev + o_next, skb);
                    }
                    prev = skb;
                }
                self.write_u64(h + 8, prev);
                let ql =
                    self.read_u64(h + self.k.o("sk_buff_head.qlen")) as u32 + tops.len() as u32;
                self.write_u32(h + self.k.o("sk_buff_head.qlen"), ql);
            }
        }
        let sock = &mut self.sockets[s.0];
        match queue {
            Queue::Receive | Queue::OutOfOrder | Queue::Error => sock.rmem_alloc += truesize as i32,
            _ => sock.wmem_queued += truesize as i32,
        }
        let (rm, wq) = (sock.rmem_alloc, sock.wmem_queued);
        self.write_u32(sk + self.k.o("sock.sk_backlog.rmem_alloc"), rm as u32);
        self.write_u32(sk + self.k.o("sock.sk_wmem_queued"), wq as u32);
        self.sockets[s.0].skbs.extend(recs);
        // Keep the record in walk order: queue by queue as skbwalk reports them.
        self.sockets[s.0].skbs.sort_by_key(|r| r.queue);
    }

    /// Balanced binary tree over `skbs` (in-order = given order); returns the root's rb_node address.
    fn build_rbtree(&mut self, skbs: &[u64], parent: u64) -> u64 {
        if skbs.is_empty() {
            return 0;
        }
        let mid = skbs.len() / 2;
        let node = skbs[mid] + self.k.o("sk_buff.rbnode");
        self.write_u64(node + self.k.o("rb_node.__rb_parent_color"), parent | 1);
        let l = self.build_rbtree(&skbs[..mid], node);
        let r = self.build_rbtree(&skbs[mid + 1..], node);
        self.write_u64(node + self.k.o("rb_node.rb_left"), l);
        self.write_u64(node + self.k.o("rb_node.rb_right"), r);
        node
    }

    /// Finish: write page refcounts. Returns the VMCOREINFO text the kernel would export.
    pub fn finish(&mut self) -> String {
        let refs: Vec<(u64, u32)> = self.refs.iter().map(|(&a, &r)| (a, r)).collect();
        for (head, r) in refs {
            self.write_u32(head + self.k.o("page._refcount"), r);
        }
        if let Some(delta) = self.boot_and_free.take() {
            let free = self.mark_boot_and_free() as i64;
            self.set_counter("NR_FREE_PAGES", free + delta);
        }
        self.vmcoreinfo()
    }

    /// The VMCOREINFO text for this machine.
    pub fn vmcoreinfo(&self) -> String {
        let c = &self.cfg;
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

    /// Physical address of the top-level page table (what CR3 holds).
    pub fn cr3(&self) -> u64 {
        self.pt.top
    }
}
