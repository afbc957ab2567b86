//! Owners of `other` pages that the kernel's own structures name (`shared/spec/meminfo.md` §5),
//! each found structurally through BTF/DWARF and globals, never guessed from page contents.
//!
//! | owner | how it is recognised | kernels |
//! |---|---|---|
//! | `page_pool` | the head page's `pp_magic` is `PP_SIGNATURE` (bits 0-1 and 6.15's DMA index masked); the pool is `page.pp`, its device `pool.slow.netdev` (6.7+); from 6.8 "destroyed" once its driver destroyed it with pages out (`user.detach_time`), "device gone" once its device unregistered (moved to `lo`, or `NET_PTR_POISON` with its namespace) | 5.14+ |
//! | `page_frag` | the current page of each CPU's `netdev_alloc_cache` and `napi_alloc_cache` (`page`, and `page_small` 6.1–6.13 while its `offset` is not 0: at 0 the 1 KiB cache holds no reference and `va` is stale): `va` to 6.12, `encoded_page` from 6.13; each task's `task_frag.page`; each socket's `sk_frag.page` | all |
//! | `kernel_page_table` | every table page a walk of the kernel's half of the page tables reaches (`init_top_pgt`, `swapper_pg_dir`): the kernel allocates those for vmalloc, vmemmap and split direct-map ranges without `PG_table` | all |
//! | `hash_table` | the large system hash tables made after boot by `alloc_large_system_hash` (pages from the buddy allocator where not vmalloc'ed): TCP's `ehash`, `bhash`, `bhash2` (6.1+), `lhash2`; UDP's and UDP-Lite's `hash` (with `hash2`, and `hash4` where present); the IP ID generator (`ip_idents` with `ip_tstamps`); the TCP metrics hash (`tcp_metrics_hash`, 1 << `tcp_metrics_hash_log` buckets); MPTCP's token hash (`token_hash`, `token_mask` + 1 buckets); the source-port perturbation table (`table_perturb`, 2^16 u32s where it is a pointer: allocated since 5.19 and its stable backports); the mount and mountpoint hashes — each from its global pointer and its size | all |
//! | `pipe` | every pipe a task holds open (`f_op` = `pipefifo_fops`, or an S_IFIFO inode: 6.15+ anonymous pipes have `pipeanon_fops`; `file.private_data`): the pages of `bufs[tail..head)` and `tmp_page` (two from 6.15) | all |
//! | `packet_ring` | every AF_PACKET socket a task holds open (`sk_family` 17; `struct packet_sock` begins with its `struct sock`): the blocks of its `rx_ring` and `tx_ring` (`pg_vec_len` blocks, each `pg_vec[i].buffer`, 2^`pg_vec_order` pages, a compound page from the buddy allocator; vzalloc'ed blocks are `vmalloc`'s) | all |
//! | `trace_ring` | the tracing ring buffers: every instance on `ftrace_trace_arrays`, its `array_buffer` and snapshot (`max_buffer`, 7.1+ `snapshot_buffer`): each possible CPU's ring of `buffer_page`s (from `pages`, flag bits masked) and reader page, each `buffer_page.page` (2^`subbuf_order` pages from 6.8) | all |
//! | `perf_ring` | every perf event file a task holds open (`f_op` = `perf_fops`): its ring's user page, data pages and AUX pages (`perf_rings.rs`) | 5.8+ (`struct perf_buffer`) |
//! | `io_uring` | every io_uring instance a task holds open (`f_op` = `io_uring_fops`): its rings and SQE array, kernel-allocated only (`io_uring.rs`) | all |
//! | `nic_ring` | the buffers posted to every virtio NIC's queues and the rings' memory (`nic_rings.rs`) | where `vring_virtqueue` is in the kernel's types (Debian 6.12+) or a module's BTF (`btf_modules`, Debian 6.1) |
//! | `large_kmalloc` | page type `PGTY_large_kmalloc` | 6.15+ (earlier they are unmarked) |
//! | `offline` | page type `PGTY_offline` (6.8+), or `PG_offline` (0x100 below `PAGE_TYPE_BASE`) before: balloon and hot-unplugged pages | all |
//! | `zsmalloc` | page type `PGTY_zsmalloc` | 6.8+ |
//!
//! The census asks, for each `other` page, the first owner that claims it: socket queues
//! (`skb`), `vmalloc`, then these in the order of [`Owner`], then the reverse-reference scan
//! (`referenced`: a word of kernel memory points at it, `crate::referrers`), and last
//! `unattributed`. A compound page is claimed by its head.

use serde::Serialize;

pub use crate::owner::Owner;

use crate::hash::Map;
use crate::task::FdHolders;
use crate::warnings::{WarningKind, Warnings};
use crate::Kernel;

/// Most pipe buffers read per pipe (`pipe-max-size` is 1 MiB by default: 256 buffers; root
/// may raise it).
const MAX_PIPE_BUFS: u64 = 1 << 16;

/// Who holds pages of an owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OwnerHolder {
    /// What holds them, for a person: `pipe 0x… (pid 1234 cat fd 4, …)`,
    /// `CPU 0 netdev_alloc_cache`, `page_pool 0x… (eth0)`.
    pub holder: String,
    /// The first task holding it, where a task does.
    pub pid: Option<i32>,
    /// Its comm.
    pub comm: Option<String>,
    /// Its fd, where a file holds it.
    pub fd: Option<u32>,
    /// Its cgroup (v2 path).
    pub cgroup: Option<String>,
    /// The pages of it the census found in `other`.
    pub pages: u64,
    /// The task holding it, for its cgroup.
    #[serde(skip)]
    pub(crate) task: u64,
}

impl OwnerHolder {
    /// A holder that is a task (its file `fd`, where a file holds the pages).
    fn of_task(holder: String, t: &crate::task::Task, fd: Option<u32>) -> OwnerHolder {
        OwnerHolder {
            pid: Some(t.tgid),
            comm: Some(t.comm.clone()),
            fd,
            task: t.addr,
            ..OwnerHolder::named(holder)
        }
    }

    pub(crate) fn named(holder: String) -> OwnerHolder {
        OwnerHolder {
            holder,
            pid: None,
            comm: None,
            fd: None,
            cgroup: None,
            pages: 0,
            task: 0,
        }
    }
}

/// The pages the kernel's structures name: a head `struct page` → (owner, holder index).
#[derive(Debug, Default)]
pub(crate) struct Named {
    pub by_page: Map<u64, (Owner, u32)>,
    pub holders: Vec<(Owner, OwnerHolder)>,
}

impl Named {
    fn holder(&mut self, owner: Owner, h: OwnerHolder) -> u32 {
        self.holders.push((owner, h));
        (self.holders.len() - 1) as u32
    }

    /// A new holder of `owner` claiming every page of `pages`.
    fn claim_all(&mut self, k: &Kernel, owner: Owner, h: OwnerHolder, pages: Vec<u64>) {
        let h = self.holder(owner, h);
        for page in pages {
            self.claim(k, page, owner, h);
        }
    }

    /// Claim the page `page` (a `struct page` address) for holder `h`. A page two owners name
    /// goes to the one first in [`Owner`]'s order (the census's), whichever walk reached it
    /// first; between two holders of one owner, to the first claim.
    fn claim(&mut self, k: &Kernel, page: u64, owner: Owner, h: u32) {
        if k.is_kernel_ptr(page, 8) {
            self.by_page
                .entry(page)
                .and_modify(|e| {
                    if owner < e.0 {
                        *e = (owner, h);
                    }
                })
                .or_insert((owner, h));
        }
    }
}

/// Every page the kernel's structures name as a page-frag cache's or a pipe's, with holders;
/// what cannot be read is a warning.
pub(crate) fn named(k: &Kernel, w: &mut Warnings) -> Named {
    let mut n = Named::default();
    frag_caches(k, &mut n, w);
    trace_rings(k, &mut n, w);
    for q in crate::nic_rings::nic_rings(k, w) {
        n.claim_all(k, Owner::NicRing, OwnerHolder::named(q.holder), q.pages);
    }
    kernel_tables(k, &mut n, w);
    hash_tables(k, &mut n, w);
    let all = match crate::task::tasks(k, w) {
        Ok(t) => t,
        Err(e) => {
            w.push(
                WarningKind::of(&e),
                None,
                format!("owners of allocpage: the task list: {e}"),
            );
            return n;
        }
    };
    task_frags(k, &all, &mut n, w);
    let fds = FdHolders::of(k, &all, crate::parallel::threads(), w);
    open_files(k, &all, &fds, &mut n, w);
    n
}

/// `NET_PTR_POISON` (`include/linux/poison.h`, 6.8+): 0x801 + `POISON_POINTER_DELTA`, what
/// `page_pool_unreg_netdev_wipe` leaves in `pool.slow.netdev` when the pool's namespace goes
/// away (its loopback device unregisters) while the pool is still listed.
const NET_PTR_POISON: u64 = crate::struct_page::POISON_POINTER_DELTA + 0x801;
/// `LOOPBACK_IFINDEX`.
const LOOPBACK_IFINDEX: u32 = 1;

/// A page_pool's holder: the pool, and its device's name where the pool names one
/// (`slow.netdev`, 6.7+), with ", destroyed" once its driver destroyed it with pages still out
/// (`user.detach_time` set, 6.8+: the leak drgn's `pp_leak` script hunts). "device gone" where
/// its device unregistered: the kernel then moves a listed pool to the loopback device
/// (`page_pool_unreg_netdev`: a destroyed pool on `lo`, which makes none of its own), and wipes
/// it to `NET_PTR_POISON` when the namespace goes.
pub(crate) fn pool_holder(k: &Kernel, pool: u64) -> OwnerHolder {
    let t = &k.types;
    let word = |ty: &str, path: &str, at: u64| {
        let m = t.member(ty, path).ok()?;
        k.u64(at + m.offset, path).ok()
    };
    let netdev = word("page_pool", "slow.netdev", pool);
    let destroyed = word("page_pool", "user.detach_time", pool).is_some_and(|d| d != 0);
    let dev = match netdev {
        Some(NET_PTR_POISON) => Some("device gone".to_string()),
        Some(d) if k.is_kernel_ptr(d, 8) => {
            let ifindex = t
                .member("net_device", "ifindex")
                .ok()
                .and_then(|m| k.u32(d + m.offset, "net_device.ifindex").ok());
            if destroyed && ifindex == Some(LOOPBACK_IFINDEX) {
                Some("device gone".to_string())
            } else {
                t.member("net_device", "name")
                    .ok()
                    .and_then(|m| k.cstr(d + m.offset, 16, "net_device.name").ok())
            }
        }
        _ => None,
    };
    let state = [dev, destroyed.then(|| "destroyed".to_string())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    OwnerHolder::named(match state.is_empty() {
        false => format!("page_pool {pool:#x} ({state})"),
        true => format!("page_pool {pool:#x}"),
    })
}

/// Largest hash table believed (alloc_large_system_hash caps at a fraction of memory).
const MAX_HASH_BYTES: u64 = 1 << 34;

/// The kernel's large hash tables: (name, start, bytes).
fn hash_tables(k: &Kernel, n: &mut Named, w: &mut Warnings) {
    let t = &k.types;
    let mut tables: Vec<(String, u64, u64)> = Vec::new();
    let elem = |ty: &str| t.size_of(ty).ok();
    // one table: `count` entries of `ty` at the pointer `base + member`
    let one =
        |name: &str,
         ptr_at: u64,
         count: u64,
         ty: &str|
         -> crate::Result<Option<(String, u64, u64)>> {
            let Some(size) = elem(ty) else {
                return Ok(None);
            };
            let start = k.u64(ptr_at, name)?;
            Ok((start != 0 && count > 0)
                .then(|| (name.to_string(), start, count.saturating_mul(size))))
        };
    let u32_at = |a: u64, what: &str| k.u32(a, what).map(u64::from);
    let res = (|| -> crate::Result<()> {
        if let Ok(h) = k.global("tcp_hashinfo") {
            let m = |p: &str| t.member("inet_hashinfo", p).map(|m| m.offset);
            if let (Ok(e), Ok(mask)) = (m("ehash"), m("ehash_mask")) {
                let count = u32_at(h + mask, "inet_hashinfo.ehash_mask")? + 1;
                tables.extend(one(
                    "TCP established hash (tcp_hashinfo.ehash)",
                    h + e,
                    count,
                    "inet_ehash_bucket",
                )?);
            }
            if let Ok(size) = m("bhash_size") {
                let count = u32_at(h + size, "inet_hashinfo.bhash_size")?;
                if let Ok(b) = m("bhash") {
                    tables.extend(one(
                        "TCP bind hash (tcp_hashinfo.bhash)",
                        h + b,
                        count,
                        "inet_bind_hashbucket",
                    )?);
                }
                if let Ok(b) = m("bhash2") {
                    tables.extend(one(
                        "TCP bind2 hash (tcp_hashinfo.bhash2)",
                        h + b,
                        count,
                        "inet_bind_hashbucket",
                    )?);
                }
            }
            if let (Ok(l), Ok(mask)) = (m("lhash2"), m("lhash2_mask")) {
                let count = u32_at(h + mask, "inet_hashinfo.lhash2_mask")? + 1;
                tables.extend(one(
                    "TCP listen hash (tcp_hashinfo.lhash2)",
                    h + l,
                    count,
                    "inet_listen_hashbucket",
                )?);
            }
        }
        // UDP's slots: `hash`, then `hash2` (and 6.13+'s `hash4`) in the same allocation
        for name in ["udp_table", "udplite_table"] {
            let Ok(u) = k.symbol(name) else { continue };
            let (Ok(mask), Ok(hash)) =
                (t.member("udp_table", "mask"), t.member("udp_table", "hash"))
            else {
                continue;
            };
            let count = u32_at(u + mask.offset, "udp_table.mask")? + 1;
            let start = k.u64(u + hash.offset, "udp_table.hash")?;
            let mut end = start;
            for (member, ty) in [
                ("hash", "udp_hslot"),
                ("hash2", "udp_hslot_main"),
                ("hash2", "udp_hslot"),
                ("hash4", "udp_hslot"),
            ] {
                let (Ok(m), Some(size)) = (t.member("udp_table", member), elem(ty)) else {
                    continue;
                };
                if member == "hash2" && ty == "udp_hslot" && elem("udp_hslot_main").is_some() {
                    continue;
                }
                let p = k.u64(u + m.offset, "udp_table slots")?;
                if p >= start && p - start < MAX_HASH_BYTES {
                    end = end.max(p + count * size);
                }
            }
            if start != 0 {
                tables.push((format!("UDP hash ({name}.hash)"), start, end - start));
            }
        }
        // the IP ID generator: ip_idents (atomic_t), and where the kernel has them ip_tstamps
        // (u32) in the same allocation, ip_idents_mask + 1 of each
        if let (Ok(a), Ok(m), Ok(id)) = (
            k.symbol("ip_idents"),
            k.symbol("ip_idents_mask"),
            t.size_of("atomic_t"),
        ) {
            let count = u32_at(m, "ip_idents_mask")? + 1;
            let per = id + if k.symbol("ip_tstamps").is_ok() { 4 } else { 0 };
            let start = k.u64(a, "ip_idents")?;
            if start != 0 {
                tables.push((
                    "IP ID hash (ip_idents, ip_tstamps)".into(),
                    start,
                    count * per,
                ));
            }
        }
        // TCP metrics: 1 << tcp_metrics_hash_log buckets
        if let (Ok(a), Ok(l)) = (
            k.symbol("tcp_metrics_hash"),
            k.symbol("tcp_metrics_hash_log"),
        ) {
            let log = u32_at(l, "tcp_metrics_hash_log")?;
            if log < 32 {
                tables.extend(one(
                    "TCP metrics hash (tcp_metrics_hash)",
                    a,
                    1 << log,
                    "tcpm_hash_bucket",
                )?);
            }
        }
        // MPTCP's token hash: token_mask + 1 buckets
        if let (Ok(a), Ok(m)) = (k.symbol("token_hash"), k.symbol("token_mask")) {
            let count = u32_at(m, "token_mask")? + 1;
            tables.extend(one(
                "MPTCP token hash (token_hash)",
                a,
                count,
                "token_bucket",
            )?);
        }
        // the source-port perturbation table: a pointer to INET_TABLE_PERTURB_SIZE (1 << 16)
        // u32s since it is allocated ("tcp: dynamically allocate the perturb table used by
        // source ports", 5.19 and its stable backports to 4.9+); an array in bss before
        if let Ok(a) = k.symbol("table_perturb") {
            let start = k.u64(a, "table_perturb")?;
            if k.direct_pfn(start).is_some() {
                tables.push((
                    "source port perturbation (table_perturb)".into(),
                    start,
                    4 << 16,
                ));
            }
        }
        for (name, mask) in [
            ("mount_hashtable", "m_hash_mask"),
            ("mountpoint_hashtable", "mp_hash_mask"),
        ] {
            if let (Ok(a), Ok(m)) = (k.symbol(name), k.symbol(mask)) {
                let count = u32_at(m, mask)? + 1;
                tables.extend(one(name, a, count, "hlist_head")?);
            }
        }
        Ok(())
    })();
    if let Err(e) = res {
        w.push(
            WarningKind::of(&e),
            None,
            format!("the kernel's hash tables: {e}"),
        );
    }
    let page_size = k.page_size();
    for (name, start, bytes) in tables {
        if bytes == 0 || bytes > MAX_HASH_BYTES || !k.is_kernel_ptr(start, 8) {
            continue;
        }
        let h = n.holder(Owner::HashTable, OwnerHolder::named(name));
        let mut va = start & !(page_size - 1);
        while va < start + bytes {
            // the direct map only: a vmalloc'ed table is the census's vmalloc already
            if let Ok(page) = k.virt_to_page(va) {
                n.claim(k, page, Owner::HashTable, h);
            }
            va += page_size;
        }
    }
}

/// Most kernel page-table pages believed (a 64 GiB machine has a few thousand).
const MAX_TABLE_PAGES: usize = 1 << 22;

/// The kernel's page-table pages.
fn kernel_tables(k: &Kernel, n: &mut Named, w: &mut Warnings) {
    let Some(t) = k.memory().kernel_table_pages(MAX_TABLE_PAGES) else {
        return;
    };
    if t.unreadable > 0 {
        w.push(
            WarningKind::Unreadable,
            None,
            format!(
                "{} kernel page-table pages could not be read: the tables below them are not named",
                t.unreadable
            ),
        );
    }
    if t.truncated {
        w.push(
            WarningKind::Limit,
            None,
            format!("more than {MAX_TABLE_PAGES} kernel page-table pages: the rest are not named"),
        );
    }
    let Ok(size) = k.off().map(|o| o.page.size) else {
        return;
    };
    let h = n.holder(
        Owner::KernelPageTable,
        OwnerHolder::named("the kernel's page tables".into()),
    );
    for pa in t.pages {
        let page = k.vmemmap_base.wrapping_add(pa / k.page_size() * size);
        n.claim(k, page, Owner::KernelPageTable, h);
    }
}

/// `struct page_frag_cache`'s current page: `va` (to 6.12) or `encoded_page` (6.13+, the
/// page's address with the order and pfmemalloc in its low bits).
fn frag_cache_page(k: &Kernel, cache: u64) -> crate::Result<Option<u64>> {
    let t = &k.types;
    let va = if let Ok(m) = t.member("page_frag_cache", "va") {
        k.u64(cache + m.offset, "page_frag_cache.va")?
    } else {
        let m = t
            .member("page_frag_cache", "encoded_page")
            .map_err(|e| k.layout_error(e))?;
        k.u64(cache + m.offset, "page_frag_cache.encoded_page")? & !(k.page_size() - 1)
    };
    if va == 0 {
        return Ok(None);
    }
    k.virt_to_page(va).map(Some)
}

/// `struct page_frag_1k`'s page (6.1–6.13's `napi_alloc_cache.page_small`), while the cache
/// holds it. `page_frag_alloc_1k` takes a reference for each 1 KiB frag when it takes a page
/// and hands one out with each frag, from the top down: the cache keeps `offset / 1 KiB` of
/// them. At `offset` 0 it keeps none and `va` is stale — the page goes back to the buddy
/// allocator with its last frag and may be anyone's by the dump.
fn frag_1k_page(k: &Kernel, at: u64) -> crate::Result<Option<u64>> {
    let t = &k.types;
    let va = k.u64(
        at + t
            .member("page_frag_1k", "va")
            .map_err(|e| k.layout_error(e))?
            .offset,
        "page_frag_1k.va",
    )?;
    let m = t
        .member("page_frag_1k", "offset")
        .map_err(|e| k.layout_error(e))?;
    let offset = k.u16(at + m.offset, "page_frag_1k.offset")?;
    if va == 0 || offset == 0 {
        return Ok(None);
    }
    k.virt_to_page(va).map(Some)
}

/// Each online CPU's skb page-frag caches.
fn frag_caches(k: &Kernel, n: &mut Named, w: &mut Warnings) {
    let t = &k.types;
    let Ok((_, cpus)) = crate::cpus::cpu_offsets(k, w) else {
        return;
    };
    let mut caches = Vec::new();
    if let Ok(a) = k.percpu_symbol("netdev_alloc_cache") {
        caches.push(("netdev_alloc_cache", a, "page_frag_cache"));
    }
    if let Ok(a) = k.percpu_symbol("napi_alloc_cache") {
        if let Ok(m) = t.member("napi_alloc_cache", "page") {
            caches.push(("napi_alloc_cache", a + m.offset, "page_frag_cache"));
        }
        // 6.1–6.13: a 1 KiB frag cache beside it (`struct page_frag_1k`: va first)
        if let Ok(m) = t.member("napi_alloc_cache", "page_small") {
            caches.push(("napi_alloc_cache.page_small", a + m.offset, "page_frag_1k"));
        }
    }
    for &(cpu, off) in &cpus {
        for &(name, at, ty) in &caches {
            let at = at.wrapping_add(off);
            let page = if ty == "page_frag_1k" {
                frag_1k_page(k, at)
            } else {
                frag_cache_page(k, at)
            };
            match page {
                Ok(Some(p)) => {
                    let h = n.holder(
                        Owner::PageFrag,
                        OwnerHolder::named(format!("CPU {cpu} {name}")),
                    );
                    n.claim(k, crate::page::head_of(k, p), Owner::PageFrag, h);
                }
                Ok(None) => {}
                Err(e) => w.push(
                    WarningKind::of(&e),
                    Some(at),
                    format!("CPU {cpu} {name}: {e}"),
                ),
            }
        }
    }
}

/// Most trace instances followed, and pages of one CPU's ring (a ring of 2^24 4 KiB pages is
/// 64 GiB).
const MAX_TRACE_ARRAYS: usize = 1 << 12;
const MAX_RING_PAGES: usize = 1 << 24;

/// Where the tracing ring buffers keep their pages.
struct TraceLayout {
    tr_list: u64,
    tr_name: u64,
    /// `array_buffer` and the snapshot's (`max_buffer`, `snapshot_buffer` from 7.1), where the
    /// kernel has one.
    buffers: Vec<(u64, &'static str)>,
    ab_buffer: u64,
    tb_buffers: u64,
    cpu_pages: u64,
    cpu_reader: u64,
    bp_list: u64,
    bp_page: u64,
}

impl TraceLayout {
    fn resolve(k: &Kernel) -> std::result::Result<TraceLayout, kstructs::Error> {
        let t = &k.types;
        let m = |ty: &str, f: &str| t.member(ty, f).map(|m| m.offset);
        let mut buffers = vec![(m("trace_array", "array_buffer")?, "buffer")];
        if let Ok((_, s)) = t.first_member("trace_array", &["max_buffer", "snapshot_buffer"]) {
            buffers.push((s.offset, "snapshot"));
        }
        Ok(TraceLayout {
            tr_list: m("trace_array", "list")?,
            tr_name: m("trace_array", "name")?,
            buffers,
            ab_buffer: m("array_buffer", "buffer")?,
            tb_buffers: m("trace_buffer", "buffers")?,
            cpu_pages: m("ring_buffer_per_cpu", "pages")?,
            cpu_reader: m("ring_buffer_per_cpu", "reader_page")?,
            bp_list: m("buffer_page", "list")?,
            bp_page: m("buffer_page", "page")?,
        })
    }
}

/// The tracing ring buffers: every trace instance on `ftrace_trace_arrays` (the global one has
/// no name), its buffer and its snapshot buffer; for each possible CPU with a
/// `ring_buffer_per_cpu`, the ring of `buffer_page`s from `pages` (whose links carry the
/// RB_PAGE_HEAD/RB_PAGE_UPDATE flags in their two low bits) and the reader page, each
/// `buffer_page.page` a sub-buffer in the direct map (2^`subbuf_order` pages from 6.8, a compound
/// page). One holder per instance and buffer.
fn trace_rings(k: &Kernel, n: &mut Named, w: &mut Warnings) {
    let (Ok(l), Ok(head)) = (TraceLayout::resolve(k), k.global("ftrace_trace_arrays")) else {
        return;
    };
    let cpus = match crate::cpus::possible_cpu_offsets(k, w) {
        Ok((c, _)) => c,
        Err(_) => return,
    };
    for tr in crate::links::list_entries(
        k,
        head,
        l.tr_list,
        MAX_TRACE_ARRAYS,
        "ftrace_trace_arrays",
        w,
    ) {
        let name = k
            .u64(tr + l.tr_name, "trace_array.name")
            .ok()
            .filter(|&p| p != 0)
            .and_then(|p| k.cstr(p, 64, "trace_array.name").ok())
            .unwrap_or_else(|| "global".to_string());
        for &(at, what) in &l.buffers {
            let res = (|| -> crate::Result<Vec<u64>> {
                let tb = k.u64(tr + at + l.ab_buffer, "array_buffer.buffer")?;
                if tb == 0 {
                    return Ok(Vec::new());
                }
                let per_cpu = k.u64(
                    k.ptr(tb, "trace_buffer")? + l.tb_buffers,
                    "trace_buffer.buffers",
                )?;
                let mut pages = Vec::new();
                for &cpu in &cpus {
                    let cb = k.u64(
                        k.ptr(per_cpu, "trace_buffer.buffers")? + u64::from(cpu) * 8,
                        "buffers[cpu]",
                    )?;
                    if cb == 0 {
                        continue;
                    }
                    pages.extend(cpu_ring(k, &l, cb, w)?);
                }
                Ok(pages)
            })();
            match res {
                Ok(pages) if !pages.is_empty() => {
                    let h = n.holder(
                        Owner::TraceRing,
                        OwnerHolder::named(format!("trace instance {name} {what} ({tr:#x})")),
                    );
                    for page in pages.into_iter().filter_map(|data| k.direct_page(data)) {
                        n.claim(k, page, Owner::TraceRing, h);
                    }
                }
                Ok(_) => {}
                Err(e) => w.push(
                    WarningKind::of(&e),
                    Some(tr),
                    format!("owners of allocpage: trace instance {name} {what}: {e}"),
                ),
            }
        }
    }
}

/// The sub-buffers (`buffer_page.page`) of one CPU's ring buffer at `cb`: the ring from `pages`
/// and the reader page.
fn cpu_ring(k: &Kernel, l: &TraceLayout, cb: u64, w: &mut Warnings) -> crate::Result<Vec<u64>> {
    let mut out = Vec::new();
    let reader = k.u64(cb + l.cpu_reader, "ring_buffer_per_cpu.reader_page")?;
    if reader != 0 {
        out.push(k.u64(
            k.ptr(reader, "reader_page")? + l.bp_page,
            "buffer_page.page",
        )?);
    }
    let start = k.u64(cb + l.cpu_pages, "ring_buffer_per_cpu.pages")? & !3;
    if start == 0 {
        return Ok(out);
    }
    let mut chain = crate::links::Chain::new(k.space(), MAX_RING_PAGES, 8);
    let mut link = start;
    loop {
        if let Err(stop) = chain.admit(link) {
            w.push(
                stop.kind(),
                Some(link),
                format!("a trace ring buffer's page list stops at {link:#x}: its pages after are not named"),
            );
            break;
        }
        let bpage = link.wrapping_sub(l.bp_list);
        out.push(k.u64(bpage + l.bp_page, "buffer_page.page")?);
        link = k.u64(link, "buffer_page.list.next")? & !3;
        if link == start {
            break;
        }
    }
    Ok(out)
}

/// `AF_PACKET` (`sk_family` of a packet socket).
const AF_PACKET: u16 = 17;
/// Most blocks of one packet ring (`tp_block_nr` is an unsigned int; rings of 2^16 blocks are
/// far past any real one).
const MAX_RING_BLOCKS: u64 = 1 << 16;

/// Where a packet socket keeps its rings (`struct packet_sock`, whose first member is its
/// `struct sock`): `rx_ring` and `tx_ring`, each a `packet_ring_buffer`.
struct PacketRings {
    rx: u64,
    tx: u64,
    pg_vec: u64,
    len: u64,
}

impl PacketRings {
    fn resolve(k: &Kernel) -> std::result::Result<PacketRings, kstructs::Error> {
        let m = |ty: &str, f: &str| k.types.member(ty, f).map(|m| m.offset);
        Ok(PacketRings {
            rx: m("packet_sock", "rx_ring")?,
            tx: m("packet_sock", "tx_ring")?,
            pg_vec: m("packet_ring_buffer", "pg_vec")?,
            len: m("packet_ring_buffer", "pg_vec_len")?,
        })
    }
}

/// The head `struct page` of each block of the packet ring at `ring` (a `packet_ring_buffer`):
/// `pg_vec_len` blocks of 2^`pg_vec_order` pages, each `pg_vec[i].buffer` (`struct pgv` is one
/// pointer) a compound page from the buddy allocator (`alloc_one_pg_vec_page`); a block the
/// kernel had to vzalloc is a vmalloc area's, and counted there.
fn packet_ring(k: &Kernel, l: &PacketRings, ring: u64) -> crate::Result<Vec<u64>> {
    let vec = k.u64(ring + l.pg_vec, "packet_ring_buffer.pg_vec")?;
    let len = u64::from(k.u32(ring + l.len, "packet_ring_buffer.pg_vec_len")?);
    if vec == 0 || len == 0 {
        return Ok(Vec::new());
    }
    let blocks = k.u64s(
        k.ptr(vec, "packet_ring_buffer.pg_vec")?,
        len.min(MAX_RING_BLOCKS) as usize,
        "pg_vec[]",
    )?;
    Ok(blocks
        .into_iter()
        .filter_map(|b| k.direct_page(b))
        .collect())
}

/// `struct page_frag.page` at `at`, if set.
fn frag_page(k: &Kernel, at: u64, what: &str) -> crate::Result<Option<u64>> {
    let p = k.u64(at, what)?;
    Ok((p != 0).then_some(p))
}

/// Each task's `task_frag` (the page its sendmsg copies into).
fn task_frags(k: &Kernel, all: &[crate::task::Task], n: &mut Named, w: &mut Warnings) {
    let Ok(at) = k
        .types
        .member("task_struct", "task_frag")
        .and_then(|m| Ok(m.offset + k.types.member("page_frag", "page")?.offset))
    else {
        return;
    };
    for t in all {
        match frag_page(k, t.addr + at, "task_struct.task_frag.page") {
            Ok(Some(p)) => {
                let hd =
                    OwnerHolder::of_task(format!("pid {} {} task_frag", t.tgid, t.comm), t, None);
                let h = n.holder(Owner::PageFrag, hd);
                n.claim(k, crate::page::head_of(k, p), Owner::PageFrag, h);
            }
            Ok(None) => {}
            Err(e) => w.push(
                WarningKind::of(&e),
                Some(t.addr),
                format!("task_frag of pid {} ({}): {e}", t.tgid, t.comm),
            ),
        }
    }
}

/// Where a pipe's buffers are.
struct PipeLayout {
    head: u64,
    tail: u64,
    ring_size: u64,
    bufs: u64,
    tmp_page: u64,
    tmp_pages: u64,
    buf_size: u64,
    buf_page: u64,
    fops: Option<u64>,
}

impl PipeLayout {
    fn resolve(k: &Kernel) -> kstructs::Result<PipeLayout> {
        let t = &k.types;
        let m = |ty: &str, p: &str| t.member(ty, p);
        let tmp = m("pipe_inode_info", "tmp_page")?;
        Ok(PipeLayout {
            head: m("pipe_inode_info", "head")?.offset,
            tail: m("pipe_inode_info", "tail")?.offset,
            ring_size: m("pipe_inode_info", "ring_size")?.offset,
            bufs: m("pipe_inode_info", "bufs")?.offset,
            tmp_page: tmp.offset,
            // 6.15+: tmp_page[2]
            tmp_pages: (tmp.ty.size / 8).clamp(1, 4),
            buf_size: t.size_of("pipe_buffer")?,
            buf_page: m("pipe_buffer", "page")?.offset,
            fops: k.global("pipefifo_fops").ok(),
        })
    }
}

/// Every open file that is a pipe (its buffers' pages), a socket (its `sk_frag` page, an
/// AF_PACKET socket's rings), a perf event (its ring) or an io_uring instance (its rings).
fn open_files(
    k: &Kernel,
    all: &[crate::task::Task],
    fds: &FdHolders,
    n: &mut Named,
    w: &mut Warnings,
) {
    let Ok(o) = k.off() else { return };
    let pipe = PipeLayout::resolve(k).ok();
    let sk_frag = k
        .types
        .member("sock", "sk_frag")
        .and_then(|m| Ok(m.offset + k.types.member("page_frag", "page")?.offset))
        .ok();
    let socket_ops = crate::task::socket_file_ops(k);
    let rings = PacketRings::resolve(k).ok();
    let mut perf = crate::perf_rings::PerfRings::resolve(k);
    let mut uring = crate::io_uring::IoUrings::resolve(k);
    let mut pipes: Map<u64, (u32, Vec<String>)> = Map::default();
    for (g, &file) in fds.files.iter().enumerate() {
        let members = fds.of_file(g);
        let Some(&(_, ti, fd)) = members.first() else {
            continue;
        };
        let t = &all[ti as usize];
        let holder = |what: String| OwnerHolder::of_task(what, t, Some(fd));
        let res = (|| -> crate::Result<()> {
            if let Some(ring) = perf
                .as_mut()
                .map(|p| p.of_file(k, file))
                .transpose()?
                .flatten()
            {
                let what = format!(
                    "perf ring {:#x} (pid {} {} fd {fd})",
                    ring.rb, t.tgid, t.comm
                );
                n.claim_all(k, Owner::PerfRing, holder(what), ring.pages);
                return Ok(());
            }
            if let Some(ring) = uring
                .as_mut()
                .map(|u| u.of_file(k, file))
                .transpose()?
                .flatten()
            {
                let what = format!(
                    "io_uring {:#x} (pid {} {} fd {fd})",
                    ring.ctx, t.tgid, t.comm
                );
                n.claim_all(k, Owner::IoUring, holder(what), ring.pages);
                return Ok(());
            }
            if let Some(pl) = &pipe {
                if crate::task::file_is(k, file, pl.fops, crate::task::S_IFIFO)? {
                    let p = k.u64(file + o.file_private_data, "file.private_data")?;
                    // a pipe's two ends are two files: one holder, every end named
                    let ends = members.iter().map(|&(_, ti, fd)| {
                        let t = &all[ti as usize];
                        format!("pid {} {} fd {fd}", t.tgid, t.comm)
                    });
                    if let Some((_, names)) = pipes.get_mut(&p) {
                        names.extend(ends);
                        return Ok(());
                    }
                    let h = n.holder(Owner::Pipe, holder(String::new()));
                    pipes.insert(p, (h, ends.collect()));
                    for page in pipe_pages(k, pl, p)? {
                        n.claim(k, page, Owner::Pipe, h);
                    }
                    return Ok(());
                }
            }
            if let (Some(at), Some(sock)) =
                (sk_frag, crate::task::file_socket(k, file, socket_ops)?)
            {
                let sk = k.u64(sock + o.socket_sk, "socket.sk")?;
                if k.is_kernel_ptr(sk, 8)
                    && k.u16(sk + o.sk_family, "sock.skc_family")? == AF_PACKET
                {
                    if let Some(rl) = &rings {
                        for (ring, what) in [(rl.rx, "rx"), (rl.tx, "tx")] {
                            let blocks = packet_ring(k, rl, sk + ring)?;
                            if blocks.is_empty() {
                                continue;
                            }
                            let h = n.holder(
                                Owner::PacketRing,
                                holder(format!(
                                    "AF_PACKET socket {sk:#x} {what} ring (pid {} {} fd {fd})",
                                    t.tgid, t.comm
                                )),
                            );
                            for page in blocks {
                                n.claim(k, page, Owner::PacketRing, h);
                            }
                        }
                    }
                }
                if k.is_kernel_ptr(sk, 8) {
                    if let Some(p) = frag_page(k, sk + at, "sock.sk_frag.page")? {
                        let h = n.holder(
                            Owner::PageFrag,
                            holder(format!(
                                "socket {sk:#x} sk_frag (pid {} {} fd {fd})",
                                t.tgid, t.comm
                            )),
                        );
                        n.claim(k, crate::page::head_of(k, p), Owner::PageFrag, h);
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = res {
            w.push(
                WarningKind::of(&e),
                Some(file),
                format!("owners of allocpage: pid {} fd {fd}: {e}", t.tgid),
            );
        }
    }
    for (p, (h, ends)) in pipes {
        if let Some((_, hd)) = n.holders.get_mut(h as usize) {
            hd.holder = format!("pipe {p:#x} ({})", ends.join(", "));
        }
    }
}

/// The pages of the pipe at `p`: its buffers from `tail` to `head` and its spare page(s).
fn pipe_pages(k: &Kernel, l: &PipeLayout, p: u64) -> crate::Result<Vec<u64>> {
    let p = k.ptr(p, "pipe_inode_info")?;
    let head = u64::from(k.u32(p + l.head, "pipe_inode_info.head")?);
    let tail = u64::from(k.u32(p + l.tail, "pipe_inode_info.tail")?);
    let ring = u64::from(k.u32(p + l.ring_size, "pipe_inode_info.ring_size")?);
    let mut out = Vec::new();
    for i in 0..l.tmp_pages {
        let tp = k.u64(p + l.tmp_page + i * 8, "pipe_inode_info.tmp_page")?;
        if tp != 0 {
            out.push(tp);
        }
    }
    let used = u64::from((head as u32).wrapping_sub(tail as u32));
    if ring == 0 || !ring.is_power_of_two() || used > ring.min(MAX_PIPE_BUFS) {
        return Err(crate::Error::Corrupt {
            what: format!("pipe at {p:#x}"),
            addr: p,
            why: "head, tail and ring_size name no ring",
        });
    }
    let bufs = k.ptr(k.u64(p + l.bufs, "pipe_inode_info.bufs")?, "pipe_buffer")?;
    for i in 0..used {
        let slot = (tail + i) & (ring - 1);
        let page = k.u64(bufs + slot * l.buf_size + l.buf_page, "pipe_buffer.page")?;
        if page != 0 {
            out.push(page);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
    use testdata::synth::SynthKernel;
    use testdata::world::{SockSpec, World, WorldConfig};

    use super::{Named, Owner, OwnerHolder};
    use crate::census::Census;

    fn census_of(name: &str, add: impl FnOnce(&mut World)) -> Census {
        let dir = crate::testing::scratch(name);
        let k = SynthKernel::build_gen(&dir.join("k"), 5, 61).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 4 });
        add(&mut w);
        let p = dir.join("vmcore.elf");
        write_qemu_elf(&mut w, &p, true).unwrap();
        let k = crate::testing::open(&p, Some(&w.k.vmlinux));
        let c = crate::meminfo::meminfo(&k).unwrap().census.unwrap();
        std::fs::remove_dir_all(&dir).ok();
        c
    }

    #[test]
    fn a_page_two_owners_name_goes_to_the_first_in_owner_order() {
        let dir = crate::testing::scratch("claim-order");
        let k = SynthKernel::build_gen(&dir.join("k"), 5, 61).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 1 });
        let p = dir.join("vmcore.elf");
        write_qemu_elf(&mut w, &p, true).unwrap();
        let k = crate::testing::open(&p, Some(&w.k.vmlinux));
        let page = w.page_struct(1);
        let mut n = Named::default();
        let pipe = n.holder(Owner::Pipe, OwnerHolder::named("pipe".into()));
        let frag = n.holder(Owner::PageFrag, OwnerHolder::named("frag".into()));
        let frag2 = n.holder(Owner::PageFrag, OwnerHolder::named("frag2".into()));
        n.claim(&k, page, Owner::Pipe, pipe);
        // page_frag comes before pipe in the census's order: it takes the page
        n.claim(&k, page, Owner::PageFrag, frag);
        // a second holder of the same owner does not; nor does a later owner
        n.claim(&k, page, Owner::PageFrag, frag2);
        n.claim(&k, page, Owner::IoUring, pipe);
        assert_eq!(n.by_page[&page], (Owner::PageFrag, frag));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn perf_rings_are_named_once_with_every_page() {
        let base = census_of("perf-base", |_| {});
        let mut ring = 0;
        let c = census_of("perf", |w| {
            let t = w.add_task(777, "perf", 16);
            let (rb, pages) = w.add_perf_ring(t, 7, 8, 2);
            assert_eq!(pages.len(), 1 + 8 + 2);
            // a second event whose output is the same ring: not a second holder
            w.add_perf_output(t, 8, rb);
            ring = rb;
        });
        assert!(c.complete, "{:?}", c.warnings);
        assert_eq!(c.other.perf_ring, 1 + 8 + 2);
        assert_eq!(c.other.unattributed, base.other.unattributed);
        let rings = &c.owners["perf_ring"];
        assert_eq!(rings.len(), 1, "{rings:?}");
        assert_eq!(
            rings[0].holder,
            format!("perf ring {ring:#x} (pid 777 perf fd 7)")
        );
        assert_eq!(
            (rings[0].pid, rings[0].fd, rings[0].pages),
            (Some(777), Some(7), 11)
        );
    }

    /// A perf ring whose data-page count no ring can have, an io_uring whose rings pointer is
    /// outside the direct map: each a warning, the census incomplete, none of their pages
    /// counted from what lies past their arrays.
    #[test]
    fn damaged_perf_and_io_uring_rings_make_the_census_incomplete() {
        let c = census_of("rings-damaged", |w| {
            let t = w.add_task(779, "rings", 16);
            let (rb, _) = w.add_perf_ring(t, 7, 8, 0);
            let at = rb + w.k.o("perf_buffer.nr_pages");
            w.write_u32(at, 3);
            let (ctx, _) = w.add_io_uring(t, 9, 2, 1);
            let at = ctx + w.k.o("io_ring_ctx.rings");
            w.write_u64(at, 0x4141_4141_4141_4141);
        });
        assert!(!c.complete);
        assert_eq!((c.other.perf_ring, c.other.io_uring), (0, 0));
        let said: Vec<&str> = c.warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(
            said.iter().any(|m| m.contains("perf_buffer.nr_pages 3"))
                && said
                    .iter()
                    .any(|m| m.contains("io_ring_ctx.rings 0x4141414141414141")),
            "{said:?}"
        );
    }

    #[test]
    fn io_uring_rings_are_named_whole_once() {
        let base = census_of("uring-base", |_| {});
        let mut ctx = 0;
        let c = census_of("uring", |w| {
            let t = w.add_task(778, "uring", 16);
            let (x, _) = w.add_io_uring(t, 9, 2, 1);
            ctx = x;
        });
        assert!(c.complete, "{:?}", c.warnings);
        // the rings' order-2 page and the SQEs' order-1 page, each claimed whole by its head
        assert_eq!(c.other.io_uring, 4 + 2);
        assert_eq!(c.other.unattributed, base.other.unattributed);
        let h = &c.owners["io_uring"];
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(
            h[0].holder,
            format!("io_uring {ctx:#x} (pid 778 uring fd 9)")
        );
        assert_eq!((h[0].pid, h[0].fd, h[0].pages), (Some(778), Some(9), 6));
    }

    /// Each owner claims exactly the pages the fixture gave it, with its holder: what was
    /// unattributed before stays so, every added page is named.
    #[test]
    fn pipes_frag_pages_page_pools_and_offline_pages_are_named() {
        let base = census_of("owners-base", |_| {});
        let (mut pool, mut gone, mut orphan, mut destroyed) = (0, 0, 0, 0);
        let c = census_of("owners", |w| {
            let t = w.add_task(4242, "piper", 16);
            w.set_cgroup(t, "/system.slice/piper.service");
            w.add_pipe(t, 3, 4, 5);
            w.set_task_frag(t, 3);
            let s = w.add_socket(
                t,
                4242,
                5,
                SockSpec::tcp(1, ([10, 0, 0, 5], 2000), ([10, 0, 0, 6], 80)),
            );
            w.set_sk_frag(s, 2);
            pool = w.add_page_pool(Some("eth0"));
            for _ in 0..3 {
                w.add_page_pool_page(pool);
            }
            // a pool whose namespace went away with a page still out (NET_PTR_POISON)
            gone = w.add_page_pool(None);
            w.add_page_pool_page(gone);
            // a pool its driver destroyed, then its device unregistered: moved to lo
            orphan = w.add_page_pool(Some("eth1"));
            w.destroy_page_pool(orphan, true);
            w.add_page_pool_page(orphan);
            // a pool its driver destroyed, its device still there
            destroyed = w.add_page_pool(Some("eth2"));
            w.destroy_page_pool(destroyed, false);
            w.add_page_pool_page(destroyed);
            w.add_offline_page();
        });
        assert!(c.complete, "{:?}", c.warnings);
        assert_eq!(c.other.unattributed, base.other.unattributed);
        assert_eq!(c.other.pipe, 5 + 1);
        assert_eq!(c.other.page_frag, 8 + 4);
        assert_eq!(c.other.page_pool, 3 + 1 + 1 + 1);
        assert_eq!(c.other.offline, 1);
        let pipe = &c.owners["pipe"][0];
        assert_eq!(pipe.pages, 6);
        assert_eq!((pipe.pid, pipe.fd), (Some(4242), Some(3)));
        assert_eq!(pipe.cgroup.as_deref(), Some("/system.slice/piper.service"));
        assert!(
            pipe.holder
                .contains("pid 4242 piper fd 3, pid 4242 piper fd 4"),
            "{}",
            pipe.holder
        );
        let frags: Vec<(&str, u64)> = c.owners["page_frag"]
            .iter()
            .map(|h| (h.holder.as_str(), h.pages))
            .collect();
        assert_eq!(frags[0], ("pid 4242 piper task_frag", 8));
        assert!(
            frags[1].0.contains("sk_frag (pid 4242 piper fd 5)") && frags[1].1 == 4,
            "{frags:?}"
        );
        let pools: Vec<(&str, u64)> = c.owners["page_pool"]
            .iter()
            .map(|h| (h.holder.as_str(), h.pages))
            .collect();
        for want in [
            (format!("page_pool {pool:#x} (eth0)"), 3),
            (format!("page_pool {gone:#x} (device gone)"), 1),
            (format!("page_pool {orphan:#x} (device gone, destroyed)"), 1),
            (format!("page_pool {destroyed:#x} (eth2, destroyed)"), 1),
        ] {
            assert!(
                pools.contains(&(want.0.as_str(), want.1)),
                "{want:?} in {pools:?}"
            );
        }
        // the census's other parts add up to its "other" class
        let parts: u64 = c.other.parts().iter().map(|p| p.1).sum();
        assert_eq!(parts, c.classes["other"]);
    }
}
