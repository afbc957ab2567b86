//! What a test asks the world for (configuration, socket and skb specs) and what the world
//! records it built (expected skbs and sockets).

use std::collections::BTreeMap;

use super::START_KERNEL_MAP;
use crate::synth::LINK_TEXT;

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
    /// Paging levels: 4 or 5 on x86-64 (arm64: what its granule and 48 bits give).
    pub levels: u8,
    /// RAM size in bytes.
    pub ram_size: u64,
    /// Page size of the direct map: 2 MiB or 1 GiB (arm64: a block of its granule).
    pub direct_map_page: u64,
    /// The architecture and its page size.
    pub arch: WorldArch,
}

/// The machine's architecture: what its dump says it is, how its page tables are built and its
/// kernel's page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorldArch {
    /// x86-64: 4 KiB pages, `levels` of page tables, `page_offset_base` and `vmemmap_base`.
    X86_64,
    /// arm64 with 48-bit virtual addresses and pages of `1 << page_shift` bytes: the linear map
    /// at `PAGE_OFFSET` (`page_offset_base`), `vmemmap` at `VMEMMAP_START` (`vmemmap_base`), the
    /// image and vmemmap mapped by `swapper_pg_dir` (`init_top_pgt`'s storage), RAM from physical
    /// address 0 (`PHYS_OFFSET` 0, as on machines whose DRAM starts there).
    Arm64 {
        /// `PAGE_SHIFT`: 12, 14 or 16.
        page_shift: u32,
    },
}

impl WorldArch {
    /// The kernel's page size.
    pub fn page_size(self) -> u64 {
        match self {
            WorldArch::X86_64 => 4096,
            WorldArch::Arm64 { page_shift } => 1 << page_shift,
        }
    }
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
            arch: WorldArch::X86_64,
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
            arch: WorldArch::X86_64,
        }
    }

    /// An arm64 machine with 64 KiB pages and 48-bit addresses (what RHEL's and Alibaba Cloud
    /// Linux's arm64 kernels run), KASLR on: `PAGE_OFFSET` is `-(1 << 48)`, `VMEMMAP_START`
    /// `-(1 << (48 - (16 - 6)))` (the kernel's rule before it exported it, so the reader's
    /// fallback is what is tested), the image moved by `kaslr_offset`.
    pub fn arm64_64k() -> Self {
        WorldConfig {
            kaslr_offset: 0x1c00_0000,
            phys_load: 0x2a0_0000,
            page_offset_base: 0xffff_0000_0000_0000,
            vmemmap_base: 0xffff_ffc0_0000_0000,
            levels: 3,
            ram_size: 512 << 20,
            direct_map_page: 512 << 20,
            arch: WorldArch::Arm64 { page_shift: 16 },
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
    /// The kernel's page size (a compound page of order `o` is `page_size << o` bytes).
    pub page_size: u64,
    /// Slab slot size of the head (0 when head_frag).
    pub head_bytes: u64,
    /// Slab slot size of the sk_buff.
    pub struct_bytes: u64,
}

impl ExpectedSkb {
    /// Pinned bytes of this skb alone.
    pub fn pinned(&self) -> u64 {
        self.pages
            .values()
            .map(|o| self.page_size << o)
            .sum::<u64>()
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
