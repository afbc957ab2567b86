//! Every member offset the walk uses, resolved once by name through `kstructs` (never typed in),
//! with the version-tolerant choices recorded.

use std::sync::Arc;

use kstructs::{Member, Types};

use crate::struct_page::StructPage;

/// A bitfield's location: byte offset from the object and bit within that byte.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bit {
    /// Byte offset.
    pub byte: u64,
    /// Bit (LSB = 0) within the byte.
    pub bit: u32,
    /// Width.
    pub width: u32,
}

impl Bit {
    /// Extract from an object's bytes.
    pub(crate) fn get(&self, obj: &[u8]) -> u64 {
        // Widths come from debuginfo: a field wider than 64 bits or past `obj` reads as 0
        // rather than panicking.
        let mut w = [0u8; 8];
        let n = (self.bit.saturating_add(self.width).div_ceil(8) as usize).min(8);
        let src = usize::try_from(self.byte)
            .ok()
            .and_then(|start| obj.get(start..start.checked_add(n)?));
        if let Some(src) = src {
            w[..n].copy_from_slice(src);
        }
        let mask = 1u64.checked_shl(self.width).map_or(u64::MAX, |m| m - 1);
        u64::from_le_bytes(w).checked_shr(self.bit).unwrap_or(0) & mask
    }
}

pub(crate) fn bit(m: Member) -> Bit {
    let (bit, width) = m
        .bitfield
        .map_or((0, (m.ty.size * 8) as u32), |b| (b.bit_offset, b.bit_size));
    Bit {
        byte: m.offset,
        bit,
        width,
    }
}

/// How a process's threads are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    /// `task_struct.thread_group` (to 6.6): a ring through every thread, leader included, with
    /// no separate head.
    Ring(u64),
    /// `task_struct.thread_node` (6.7+): every thread, leader included, on the list headed by
    /// `signal->thread_head`.
    SignalList { node: u64, signal: u64, head: u64 },
}

/// How a frag names its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FragPage {
    /// `bio_vec.bv_page` (6.1) or `skb_frag_struct.page.p` (4.x/5.x): a `struct page *`.
    Page(u64),
    /// `skb_frag.netmem` (6.12+): bit 0 set means a `net_iov`, not a page.
    Netmem(u64),
}

/// Offsets and sizes the walk needs.
#[derive(Debug, Clone)]
pub(crate) struct Offsets {
    pub task_tasks: u64,
    pub task_pid: u64,
    pub task_tgid: u64,
    pub task_comm: u64,
    pub task_files: u64,
    pub task_threads: Option<Threads>,
    pub files_fdt: u64,
    pub fdt_max_fds: u64,
    pub fdt_fd: u64,
    pub file_f_op: u64,
    pub file_private_data: u64,
    pub file_f_inode: u64,
    pub file_dentry: u64,
    pub dentry_name: u64,
    pub inode_mode: u64,
    pub socket_state: u64,
    pub socket_type: u64,
    pub socket_sk: u64,
    pub sk_family: u64,
    pub sk_state: u64,
    pub sk_daddr: u64,
    pub sk_rcv_saddr: u64,
    pub sk_dport: u64,
    pub sk_num: u64,
    pub sk_v6_daddr: Option<u64>,
    pub sk_v6_rcv_saddr: Option<u64>,
    pub sk_receive_queue: u64,
    pub sk_error_queue: u64,
    pub sk_write_queue: u64,
    pub sk_rmem_alloc: u64,
    pub sk_rcvbuf: u64,
    pub sk_sndbuf: u64,
    pub sk_wmem_queued: u64,
    pub sk_type: Bit,
    pub sk_socket: Option<u64>,
    pub sk_protocol: Bit,
    pub tcp_rtx_queue: Option<u64>,
    pub tcp_ooo_queue: Option<u64>,
    pub unix_addr: Option<u64>,
    pub unix_address_len: Option<u64>,
    pub unix_address_name: Option<u64>,
    pub skb_head_next: u64,
    pub skb_head_prev: u64,
    pub skb_head_qlen: u64,
    pub skb_next: u64,
    pub skb_prev: u64,
    pub skb_rbnode: u64,
    pub skb_len: u64,
    pub skb_data_len: u64,
    pub skb_truesize: u64,
    pub skb_head: u64,
    pub skb_end: u64,
    pub skb_end_is_offset: bool,
    pub skb_head_frag: Bit,
    pub skb_fclone: Bit,
    pub skb_size: u64,
    pub shinfo_nr_frags: u64,
    pub shinfo_frag_list: u64,
    pub shinfo_frags: u64,
    pub shinfo_size: u64,
    pub max_skb_frags: u64,
    pub frag_size: u64,
    pub frag_page: FragPage,
    pub frag_offset: u64,
    pub frag_len: u64,
    pub rb_left: u64,
    pub rb_right: u64,
    /// `struct page`: its layout and what its bytes say.
    pub page: StructPage,
    /// `slab_cache` from the head `struct page`: in `struct slab` from 5.17, in `struct page` before
    /// (both overlay the page, so one offset serves).
    pub slab_cache: u64,
    pub kmem_cache_size: u64,
    /// TCP's hash tables, or the type or member the debuginfo lacks to describe them.
    pub tcp_tables: Result<TcpTables, Arc<kstructs::Error>>,
    /// UDP's hash table, or the type or member the debuginfo lacks to describe it.
    pub udp_table: Result<UdpTable, Arc<kstructs::Error>>,
    /// Where a task's cgroup path is, or what the debuginfo lacks (no `CONFIG_CGROUPS`).
    pub cgroup: Result<crate::cgroup::CgroupLayout, Arc<kstructs::Error>>,
}

/// Where a table's chains are: buckets of `stride` bytes, the list head at `head_off` in a
/// bucket, the list node at `node_off` in a socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buckets {
    pub stride: u64,
    pub head_off: u64,
    pub node_off: u64,
}

/// `tcp_hashinfo`'s layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpTables {
    /// `inet_hashinfo.ehash` and `.ehash_mask`.
    pub ehash: u64,
    pub ehash_mask: u64,
    /// `inet_ehash_bucket` chains on `skc_nulls_node`.
    pub ehash_buckets: Buckets,
    pub listen: Listeners,
    /// `inet_listen_hashbucket` chains on `skc_nulls_node`.
    pub listen_buckets: Buckets,
}

/// Where TCP keeps its listeners.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listeners {
    /// Before 5.19: the fixed `listening_hash[count]` at this offset of `inet_hashinfo`
    /// (lhash2 then chains `icsk_listen_portaddr_node` and holds the same sockets).
    ListeningHash { offset: u64, count: u64 },
    /// From 5.19: `lhash2` and `lhash2_mask`, chaining `skc_nulls_node`.
    Lhash2 { lhash2: u64, mask: u64 },
}

/// `udp_table`'s layout: `hash` and `mask`, `udp_hslot` buckets chaining `skc_node`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UdpTable {
    pub hash: u64,
    pub mask: u64,
    pub buckets: Buckets,
}

impl Buckets {
    /// Buckets of type `bucket`, whose list head is member `head`, chaining sockets on the node
    /// at `node_off`.
    fn of(t: &Types, bucket: &str, head: &str, node_off: u64) -> kstructs::Result<Buckets> {
        Ok(Buckets {
            stride: t.size_of(bucket)?,
            head_off: t.member(bucket, head)?.offset,
            node_off,
        })
    }
}

impl TcpTables {
    fn resolve(t: &Types) -> kstructs::Result<TcpTables> {
        let m = |ty: &str, p: &str| t.member(ty, p).map(|m| m.offset);
        let nulls_node = m("sock_common", "skc_nulls_node")?;
        let listen_buckets = Buckets::of(t, "inet_listen_hashbucket", "nulls_head", nulls_node)?;
        let listen = match t.member("inet_hashinfo", "listening_hash") {
            Ok(lh) => Listeners::ListeningHash {
                offset: lh.offset,
                count: match lh.ty.kind {
                    kstructs::TypeKind::Array { count: Some(n), .. } => n,
                    _ => lh.ty.size / listen_buckets.stride.max(1),
                },
            },
            Err(_) => Listeners::Lhash2 {
                lhash2: m("inet_hashinfo", "lhash2")?,
                mask: m("inet_hashinfo", "lhash2_mask")?,
            },
        };
        Ok(TcpTables {
            ehash: m("inet_hashinfo", "ehash")?,
            ehash_mask: m("inet_hashinfo", "ehash_mask")?,
            ehash_buckets: Buckets::of(t, "inet_ehash_bucket", "chain", nulls_node)?,
            listen,
            listen_buckets,
        })
    }
}

impl UdpTable {
    fn resolve(t: &Types) -> kstructs::Result<UdpTable> {
        let m = |ty: &str, p: &str| t.member(ty, p).map(|m| m.offset);
        Ok(UdpTable {
            hash: m("udp_table", "hash")?,
            mask: m("udp_table", "mask")?,
            buckets: Buckets::of(t, "udp_hslot", "head", m("sock_common", "skc_node")?)?,
        })
    }
}

impl Offsets {
    /// Resolve everything from the debuginfo; the first missing mandatory member is the error.
    pub(crate) fn resolve(t: &Types) -> kstructs::Result<Offsets> {
        let off = |ty: &str, p: &str| t.member(ty, p).map(|m| m.offset);
        let opt = |ty: &str, p: &str| t.member(ty, p).ok().map(|m| m.offset);
        let first = |ty: &str, ps: &[&str]| t.first_member(ty, ps);
        let (fi, fpage) = first("skb_frag_t", &["bv_page", "page.p", "netmem"])?;
        let frag_page = if fi == 2 {
            FragPage::Netmem(fpage.offset)
        } else {
            FragPage::Page(fpage.offset)
        };
        let frags = t.member("skb_shared_info", "frags")?;
        let max_skb_frags = match &frags.ty.kind {
            kstructs::TypeKind::Array { count: Some(n), .. } => *n,
            _ => 17,
        };
        let skb_end = t.member("sk_buff", "end")?;
        let threads = match (
            off("task_struct", "thread_group"),
            off("task_struct", "thread_node"),
        ) {
            (Ok(ring), _) => Some(Threads::Ring(ring)),
            (Err(_), Ok(node)) => Some(Threads::SignalList {
                node,
                signal: off("task_struct", "signal")?,
                head: off("signal_struct", "thread_head")?,
            }),
            (Err(_), Err(_)) => None,
        };
        Ok(Offsets {
            task_tasks: off("task_struct", "tasks")?,
            task_pid: off("task_struct", "pid")?,
            task_tgid: off("task_struct", "tgid")?,
            task_comm: off("task_struct", "comm")?,
            task_files: off("task_struct", "files")?,
            task_threads: threads,
            files_fdt: off("files_struct", "fdt")?,
            fdt_max_fds: off("fdtable", "max_fds")?,
            fdt_fd: off("fdtable", "fd")?,
            file_f_op: off("file", "f_op")?,
            file_private_data: off("file", "private_data")?,
            file_f_inode: off("file", "f_inode")?,
            file_dentry: off("file", "f_path.dentry")?,
            dentry_name: off("dentry", "d_name.name")?,
            inode_mode: off("inode", "i_mode")?,
            socket_state: off("socket", "state")?,
            socket_type: off("socket", "type")?,
            socket_sk: off("socket", "sk")?,
            sk_family: off("sock", "__sk_common.skc_family")?,
            sk_state: off("sock", "__sk_common.skc_state")?,
            sk_daddr: off("sock", "__sk_common.skc_daddr")?,
            sk_rcv_saddr: off("sock", "__sk_common.skc_rcv_saddr")?,
            sk_dport: off("sock", "__sk_common.skc_dport")?,
            sk_num: off("sock", "__sk_common.skc_num")?,
            sk_v6_daddr: opt("sock", "__sk_common.skc_v6_daddr"),
            sk_v6_rcv_saddr: opt("sock", "__sk_common.skc_v6_rcv_saddr"),
            sk_receive_queue: off("sock", "sk_receive_queue")?,
            sk_error_queue: off("sock", "sk_error_queue")?,
            sk_write_queue: off("sock", "sk_write_queue")?,
            sk_rmem_alloc: first("sock", &["sk_backlog.rmem_alloc", "sk_rmem_alloc"])?
                .1
                .offset,
            sk_rcvbuf: off("sock", "sk_rcvbuf")?,
            sk_sndbuf: off("sock", "sk_sndbuf")?,
            sk_wmem_queued: off("sock", "sk_wmem_queued")?,
            sk_type: bit(t.member("sock", "sk_type")?),
            sk_socket: opt("sock", "sk_socket"),
            sk_protocol: bit(t.member("sock", "sk_protocol")?),
            tcp_rtx_queue: opt("sock", "tcp_rtx_queue"),
            tcp_ooo_queue: opt("tcp_sock", "out_of_order_queue"),
            unix_addr: opt("unix_sock", "addr"),
            unix_address_len: opt("unix_address", "len"),
            unix_address_name: opt("unix_address", "name"),
            skb_head_next: off("sk_buff_head", "next")?,
            skb_head_prev: off("sk_buff_head", "prev")?,
            skb_head_qlen: off("sk_buff_head", "qlen")?,
            skb_next: off("sk_buff", "next")?,
            skb_prev: off("sk_buff", "prev")?,
            skb_rbnode: off("sk_buff", "rbnode")?,
            skb_len: off("sk_buff", "len")?,
            skb_data_len: off("sk_buff", "data_len")?,
            skb_truesize: off("sk_buff", "truesize")?,
            skb_head: off("sk_buff", "head")?,
            skb_end_is_offset: skb_end.ty.size == 4,
            skb_end: skb_end.offset,
            skb_head_frag: bit(t.member("sk_buff", "head_frag")?),
            skb_fclone: bit(t.member("sk_buff", "fclone")?),
            skb_size: t.size_of("sk_buff")?,
            shinfo_nr_frags: off("skb_shared_info", "nr_frags")?,
            shinfo_frag_list: off("skb_shared_info", "frag_list")?,
            shinfo_frags: frags.offset,
            shinfo_size: t.size_of("skb_shared_info")?,
            max_skb_frags,
            frag_size: t.size_of("skb_frag_t")?,
            frag_page,
            frag_offset: first("skb_frag_t", &["bv_offset", "page_offset", "offset"])?
                .1
                .offset,
            frag_len: first("skb_frag_t", &["bv_len", "size", "len"])?.1.offset,
            rb_left: off("rb_node", "rb_left")?,
            rb_right: off("rb_node", "rb_right")?,
            page: StructPage::resolve(t)?,
            slab_cache: t
                .member("slab", "slab_cache")
                .or_else(|_| t.member("page", "slab_cache"))?
                .offset,
            kmem_cache_size: off("kmem_cache", "size")?,
            tcp_tables: TcpTables::resolve(t).map_err(Arc::new),
            udp_table: UdpTable::resolve(t).map_err(Arc::new),
            cgroup: crate::cgroup::CgroupLayout::resolve(t),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::FragPage;
    use crate::hashtables::{hashed_sockets, Table};
    use crate::struct_page::SlabMark;
    use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
    use testdata::synth::SynthKernel;
    use testdata::world::WorldConfig;

    /// Each kernel generation's layout is recognised: 4.19 `skb_frag_struct` with
    /// `page[1].compound_order` and the slab fields in `struct page`, 5.10 `bio_vec` and
    /// listeners in `listening_hash`, 6.12 `netmem` frags with the order in folio `_flags_1` and
    /// slabs as a page type.
    #[test]
    fn older_and_newer_frag_and_page_layouts_are_recognised() {
        for gen in [4u32, 510, 612] {
            let dir = crate::testing::scratch(&format!("layouts-{gen}"));
            let k = SynthKernel::build_gen(&dir.join("k"), 4, gen).unwrap();
            let mut w = incident_world(k, WorldConfig::nokaslr(), SampleSize { stalled_skbs: 20 });
            let path = dir.join("vmcore");
            write_qemu_elf(&mut w, &path, true).unwrap();
            let k = crate::testing::open(&path, Some(&w.k.vmlinux));
            let off = k.off().unwrap();
            let want_frag = match gen {
                4 => FragPage::Page(0),
                510 => FragPage::Page(w.k.o("frag.page")),
                _ => FragPage::Netmem(0),
            };
            assert_eq!(off.frag_page, want_frag, "gen {gen}");
            assert_eq!(off.slab_cache, w.k.o("slab_cache.at"), "gen {gen}");
            match (gen, off.page.slab_mark()) {
                (4 | 510, SlabMark::Flag(b)) => assert_eq!(u64::from(b), w.k.o("PG_slab")),
                (612, SlabMark::PageType(value)) => {
                    assert_eq!(
                        (off.page.slab_mark_word(), u64::from(value)),
                        (Some(w.k.o("page.page_type")), 0xf5)
                    )
                }
                (g, m) => panic!("gen {g}: slab mark {m:?}"),
            }
            let want_order = if gen == 4 || gen == 510 {
                "PageCompoundOrder"
            } else {
                "FolioFlags1"
            };
            assert!(
                format!("{:?}", off.page.order_field()).starts_with(want_order),
                "gen {gen}: {:?}",
                off.page.order_field()
            );
            // Listeners: listening_hash before 5.19, lhash2 after; each fixture listener is
            // found there.
            let mut hw = crate::warnings::Warnings::default();
            let hashed = hashed_sockets(&k, off, &mut hw, &[]);
            assert!(hw.is_empty(), "gen {gen}: {:?}", hw.into_vec());
            let want_table = if gen == 612 {
                Table::TcpListen
            } else {
                Table::TcpListeningHash
            };
            let t = crate::top(&k, Default::default()).unwrap();
            let listeners: Vec<_> = t
                .sockets
                .iter()
                .filter(|s| s.id.state == "LISTEN")
                .collect();
            assert!(
                !listeners.is_empty(),
                "gen {gen}: no listener in the fixture"
            );
            for l in listeners {
                let h = hashed.iter().find(|h| h.sk == l.id.sock.0);
                assert_eq!(h.map(|h| h.table), Some(want_table), "gen {gen}");
            }
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}
