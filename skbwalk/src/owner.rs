//! The owners of `other` pages the census names beyond socket queues and vmalloc: a leaf the
//! census, the struct page reader and `owners` share.

use serde::Serialize;

/// An owner of `other` pages, in the order the census asks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Owner {
    /// page_pool pages (a NIC's receive pool).
    PagePool,
    /// The current page of a page-frag cache (per-CPU skb caches, a task's or a socket's).
    PageFrag,
    /// Pipe buffers.
    Pipe,
    /// The blocks of AF_PACKET sockets' receive and transmit rings (`PACKET_RX_RING`,
    /// `PACKET_TX_RING`).
    PacketRing,
    /// The tracing ring buffers (ftrace's, per instance).
    TraceRing,
    /// perf events' ring buffers (`perf_mmap`), per event file.
    PerfRing,
    /// io_uring instances' submission and completion rings and SQE arrays.
    IoUring,
    /// NIC rings: the buffers posted to a virtio NIC's queues, and the rings' memory.
    NicRing,
    /// The kernel's large hash tables made after boot (`alloc_large_system_hash` without
    /// `HASH_EARLY`: whole pages from the buddy allocator).
    HashTable,
    /// The kernel's own page tables (vmalloc, vmemmap, split direct-map tables): no
    /// `PG_table`, counted by no counter.
    KernelPageTable,
    /// Large kmalloc allocations (page type from 6.15).
    LargeKmalloc,
    /// Offline pages: balloon, memory hot-unplug.
    Offline,
    /// zsmalloc pages (zram, zswap).
    Zsmalloc,
    /// Pages no rule names but a pointer does: the reverse-reference scan's
    /// (`census.referrers`), grouped by where the pointer is.
    Referenced,
}

impl Owner {
    /// The spec's key (`census.other.<key>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::PagePool => "page_pool",
            Owner::PageFrag => "page_frag",
            Owner::Pipe => "pipe",
            Owner::PacketRing => "packet_ring",
            Owner::TraceRing => "trace_ring",
            Owner::PerfRing => "perf_ring",
            Owner::IoUring => "io_uring",
            Owner::NicRing => "nic_ring",
            Owner::HashTable => "hash_table",
            Owner::KernelPageTable => "kernel_page_table",
            Owner::LargeKmalloc => "large_kmalloc",
            Owner::Offline => "offline",
            Owner::Zsmalloc => "zsmalloc",
            Owner::Referenced => "referenced",
        }
    }
}
