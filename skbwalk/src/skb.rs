//! sk_buffs: reading one (with its `skb_shared_info` frags and `frag_list`), and walking the queues
//! a socket holds them on — list queues and rbtree queues, each cycle-guarded and bounded.

use crate::hash::Set;
use crate::le::{u32_at, u64_at};
use crate::links::{Chain, ListWalk, Stop};

use crate::offsets::{FragPage, Offsets};
pub use crate::page::Compound;
use crate::page::Pages;
use crate::warnings::{WarningKind, Warnings};
use crate::{Kernel, Result};

/// Most skbs one queue walk follows before it stops with a warning.
pub const MAX_QUEUE_SKBS: usize = 1 << 22;
/// Deepest `frag_list` nesting followed.
pub const MAX_FRAG_LIST_DEPTH: usize = 4;
/// Most members of one `frag_list`.
pub const MAX_FRAG_LIST: usize = 1 << 16;
/// Largest `truesize` believed (an skb of 256 MiB does not exist).
const MAX_SANE_TRUESIZE: u32 = 1 << 28;
/// Largest head buffer (`end - head`) believed: kmalloc and page-frag heads are far smaller.
const MAX_HEAD_LEN: u64 = 1 << 22;
/// Deepest rbtree descent (a red-black tree of 2^32 nodes is at most 64 deep).
const MAX_RB_DEPTH: usize = 128;

/// The queues of a socket, named as in the JSON output (as a map key too: ordered by that name,
/// so maps of queues serialize in the order they always have).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// `sk_receive_queue`.
    Receive,
    /// TCP `out_of_order_queue`.
    OutOfOrder,
    /// `sk_write_queue`.
    Write,
    /// TCP `tcp_rtx_queue`.
    Retransmit,
    /// `sk_error_queue`.
    Error,
}

impl QueueName {
    /// Every queue, in report order.
    pub const ALL: [QueueName; 5] = [
        QueueName::Receive,
        QueueName::OutOfOrder,
        QueueName::Write,
        QueueName::Retransmit,
        QueueName::Error,
    ];

    /// The name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Receive => "receive",
            QueueName::OutOfOrder => "out_of_order",
            QueueName::Write => "write",
            QueueName::Retransmit => "retransmit",
            QueueName::Error => "error",
        }
    }
}

impl PartialOrd for QueueName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for QueueName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::fmt::Display for QueueName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl serde::Serialize for QueueName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One frag of an skb.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Frag {
    /// The `struct page` the frag names.
    pub page: u64,
    /// Its compound head and order (None when they could not be read).
    pub compound: Option<Compound>,
    /// Offset in `page` (may exceed the page size for a compound head).
    pub offset: u32,
    /// Length.
    pub size: u32,
}

/// One sk_buff as read from the dump, with what it pins.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Skb {
    /// Address of the `sk_buff`.
    pub addr: u64,
    /// The queue it was found on.
    pub queue: QueueName,
    /// Parent, for `frag_list` members.
    pub parent: Option<u64>,
    /// `len`.
    pub len: u32,
    /// `data_len`.
    pub data_len: u32,
    /// `truesize`.
    pub truesize: u32,
    /// `head_frag`.
    pub head_frag: bool,
    /// `fclone`.
    pub fclone: u8,
    /// `skb->head`.
    pub head: u64,
    /// `nr_frags` as stored.
    pub nr_frags: u8,
    /// The frags read (at most MAX_SKB_FRAGS).
    pub frags: Vec<Frag>,
    /// Distinct compound pages this skb references (frags, and the head when `head_frag`).
    pub(crate) pages: Vec<Compound>,
    /// The compound page of a page-fragment head (`head_frag`).
    pub head_page: Option<Compound>,
    /// Bytes of the head buffer when it is a slab object (0 when `head_frag`).
    pub head_bytes: u64,
    /// Whether `head_bytes` is an estimate (slab unreadable).
    pub head_estimated: bool,
    /// Slab slot size of the `sk_buff` itself.
    pub struct_bytes: u64,
}

/// A frag in a report: the page it names, its compound head and order (the page itself and 0
/// when they could not be read), offset and length.
impl serde::Serialize for Frag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use crate::hex::Hex;
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Frag", 5)?;
        m.serialize_field("page", &Hex(self.page))?;
        m.serialize_field("head", &Hex(self.compound.map_or(self.page, |c| c.head)))?;
        m.serialize_field("order", &self.compound.map_or(0, |c| c.order))?;
        m.serialize_field("offset", &self.offset)?;
        m.serialize_field("size", &self.size)?;
        m.end()
    }
}

/// Walk state shared by every queue of one report: page memo and warnings.
pub(crate) struct Walker<'k> {
    /// The kernel.
    pub(crate) k: &'k Kernel,
    /// Its layouts.
    pub(crate) o: &'k Offsets,
    /// Page lookups.
    pub(crate) pages: Pages,
    /// What went wrong along the way.
    pub(crate) warnings: Warnings,
    /// Every skb read for the current socket: a `frag_list` or queue link that reaches one a
    /// second time is not followed again (work stays linear in the skbs of the dump).
    visited: Set<u64>,
    /// skbs and tree nodes the report may still read: one budget for the whole report, so no
    /// input can make the work grow faster than the dump.
    budget: u64,
    /// Buffers the current `sk_buff` and `skb_shared_info` are read into.
    raw_skb: Vec<u8>,
    raw_shinfo: Vec<u8>,
    /// The cycle guard of the list or tree being walked, kept for the next one.
    chain_seen: Set<u64>,
    /// Buffers of walked skbs handed back ([`Walker::recycle`]) for the next ones.
    spare: Spare,
}

/// Most buffers of each kind a walker keeps for reuse.
const SPARE_BUFFERS: usize = 1 << 12;
/// Largest queue buffer (in skbs) a walker keeps for reuse.
const SPARE_QUEUE_SKBS: usize = 1 << 12;

/// Emptied buffers of walked skbs and queues: `top` walks a million skbs through a few
/// thousand allocations instead of three per skb (allocating was a tenth of its time, and the
/// frees of another thread's buffers made the threads wait on the allocator's locks).
#[derive(Default)]
struct Spare {
    frags: Vec<Vec<Frag>>,
    pages: Vec<Vec<Compound>>,
    queues: Vec<Vec<Skb>>,
}

/// `set`, emptied for reuse, or a new set when it grew large: clearing costs a set's
/// capacity, and one huge queue or socket must not make every later walk pay for it.
fn emptied(mut set: Set<u64>) -> Set<u64> {
    if set.capacity() > SPARE_QUEUE_SKBS {
        return Set::default();
    }
    set.clear();
    set
}

/// Keep `v` (emptied) in `pool` if the pool has room.
fn keep<T>(pool: &mut Vec<Vec<T>>, mut v: Vec<T>) {
    if pool.len() < SPARE_BUFFERS && v.capacity() > 0 {
        v.clear();
        pool.push(v);
    }
}

/// The walk budget of one report: far more skbs than any machine holds (a 1 TiB machine full
/// of 2 KiB skbs has 512M; real queues hold thousands), far fewer than garbage can ask for.
pub(crate) const WALK_BUDGET: u64 = 1 << 25;

impl<'k> Walker<'k> {
    /// A walker over `k`; fails when the debuginfo lacks a layout the walk needs.
    pub(crate) fn new(k: &'k Kernel) -> Result<Self> {
        let mut warnings = Warnings::default();
        for m in k.memory().warnings() {
            warnings.push(
                crate::warnings::WarningKind::Dump,
                None,
                format!("{}: {m}", k.vmcore_path),
            );
        }
        Ok(Walker {
            k,
            o: k.off()?,
            pages: Pages::default(),
            warnings,
            visited: Set::default(),
            budget: WALK_BUDGET,
            raw_skb: Vec::new(),
            raw_shinfo: Vec::new(),
            chain_seen: Set::default(),
            spare: Spare::default(),
        })
    }

    /// An empty queue buffer, reused if one was handed back.
    pub(crate) fn queue_buffer(&mut self) -> Vec<Skb> {
        self.spare.queues.pop().unwrap_or_default()
    }

    /// Hand the buffers of walked queues back for the next skbs this walker reads.
    pub(crate) fn recycle(&mut self, queues: Vec<(QueueName, Vec<Skb>)>) {
        let spare = &mut self.spare;
        for (_, mut q) in queues {
            for skb in q.drain(..) {
                keep(&mut spare.frags, skb.frags);
                keep(&mut spare.pages, skb.pages);
            }
            if q.capacity() <= SPARE_QUEUE_SKBS {
                keep(&mut spare.queues, q);
            }
        }
    }

    /// Spend one unit of the walk budget; false (with one warning, the first time) when it is
    /// spent.
    fn spend(&mut self) -> bool {
        match self.budget {
            0 => false,
            1 => {
                self.budget = 0;
                self.warnings.push(
                    WarningKind::Limit,
                    None,
                    format!("the walk read {WALK_BUDGET} skbs and tree nodes, its budget for one report; the rest was not walked"),
                );
                false
            }
            _ => {
                self.budget -= 1;
                true
            }
        }
    }

    /// Start the skbs of another socket: the visited set is per socket (a page or skb shared by
    /// two sockets is each one's).
    pub(crate) fn begin_socket(&mut self) {
        self.visited = emptied(std::mem::take(&mut self.visited));
    }

    /// Read one skb and, after it, its `frag_list` members (depth-first), appending to `out`;
    /// returns the skb's `next` link as read with it (`None` when the skb was not read: seen
    /// before, or the budget spent).
    pub(crate) fn read_skb(
        &mut self,
        addr: u64,
        queue: QueueName,
        parent: Option<u64>,
        depth: usize,
        out: &mut Vec<Skb>,
    ) -> Result<Option<u64>> {
        if !self.spend() {
            return Ok(None);
        }
        if !self.visited.insert(addr) {
            self.warnings.push(
                WarningKind::Loop,
                Some(addr),
                format!("skb {addr:#x} is reached a second time (a frag_list or queue link points back at it); not counted again"),
            );
            return Ok(None);
        }
        let (mut skb, next, end) = self.decode_sk_buff(addr, queue, parent)?;
        // skb_shinfo() is head + end: an end below head, or more than a head buffer can be, is garbage.
        let head_len = end.wrapping_sub(skb.head);
        if end < skb.head || head_len > MAX_HEAD_LEN {
            self.warnings.push(
                WarningKind::Corrupt,
                Some(addr),
                format!("skb {addr:#x}: end {end:#x} is not within {MAX_HEAD_LEN} bytes after head {:#x}; its frags are not read", skb.head),
            );
            skb.head_estimated = true;
            out.push(skb);
            return Ok(Some(next));
        }
        // The walker's buffer, lent for this skb (a read error leaves a new one behind).
        let mut shinfo = std::mem::take(&mut self.raw_shinfo);
        shinfo.resize(self.o.shinfo_size as usize, 0);
        self.k.read(end, &mut shinfo, "skb_shared_info")?;
        self.read_frags(&mut skb, &shinfo);
        self.size_head(&mut skb, head_len);
        self.size_struct(&mut skb);
        let frag_list = u64_at(&shinfo, self.o.shinfo_frag_list);
        self.raw_shinfo = shinfo;
        out.push(skb);
        if frag_list != 0 {
            self.follow_frag_list(addr, frag_list, queue, depth, out);
        }
        Ok(Some(next))
    }

    /// The `sk_buff` at `addr` decoded: the skb (no frags yet), its `next` link and where its
    /// `skb_shared_info` is (`end`).
    fn decode_sk_buff(
        &mut self,
        addr: u64,
        queue: QueueName,
        parent: Option<u64>,
    ) -> Result<(Skb, u64, u64)> {
        let o = self.o;
        // The walker's buffer, lent for this skb (a read error leaves a new one behind).
        let mut raw = std::mem::take(&mut self.raw_skb);
        raw.resize(o.skb_size as usize, 0);
        self.k.read(addr, &mut raw, "sk_buff")?;
        let next = u64_at(&raw, o.skb_next);
        let head = u64_at(&raw, o.skb_head);
        let end = if o.skb_end_is_offset {
            head.wrapping_add(u64::from(u32_at(&raw, o.skb_end)))
        } else {
            u64_at(&raw, o.skb_end)
        };
        let skb = Skb {
            addr,
            queue,
            parent,
            len: u32_at(&raw, o.skb_len),
            data_len: u32_at(&raw, o.skb_data_len),
            truesize: u32_at(&raw, o.skb_truesize),
            head_frag: o.skb_head_frag.get(&raw) != 0,
            fclone: o.skb_fclone.get(&raw) as u8,
            head,
            nr_frags: 0,
            frags: self.spare.frags.pop().unwrap_or_default(),
            pages: self.spare.pages.pop().unwrap_or_default(),
            head_page: None,
            head_bytes: 0,
            head_estimated: false,
            struct_bytes: 0,
        };
        self.raw_skb = raw;
        if skb.truesize > MAX_SANE_TRUESIZE {
            self.warnings.push(
                WarningKind::Corrupt,
                Some(addr),
                format!(
                    "skb {addr:#x}: truesize {:#x} is implausible (over {MAX_SANE_TRUESIZE} bytes)",
                    skb.truesize
                ),
            );
        }
        Ok((skb, next, end))
    }

    /// The skb's frags from its `skb_shared_info`: each frag's page and compound head, and the
    /// distinct compound pages it references.
    fn read_frags(&mut self, skb: &mut Skb, shinfo: &[u8]) {
        let (k, o, addr) = (self.k, self.o, skb.addr);
        skb.nr_frags = shinfo.get(o.shinfo_nr_frags as usize).copied().unwrap_or(0);
        let mut n = u64::from(skb.nr_frags);
        if n > o.max_skb_frags {
            self.warnings.push(
                WarningKind::Corrupt,
                Some(addr),
                format!(
                    "skb {addr:#x}: nr_frags {n} exceeds MAX_SKB_FRAGS {}; frags ignored",
                    o.max_skb_frags
                ),
            );
            n = 0;
        }
        skb.frags.reserve_exact(n as usize);
        skb.pages
            .reserve_exact(n as usize + usize::from(skb.head_frag));
        for i in 0..n {
            let f = o.shinfo_frags + i * o.frag_size;
            let (page, net_iov) = match o.frag_page {
                FragPage::Page(p) => (u64_at(shinfo, f + p), false),
                FragPage::Netmem(p) => {
                    let v = u64_at(shinfo, f + p);
                    (v & !1, v & 1 != 0)
                }
            };
            let offset = u32_at(shinfo, f + o.frag_offset);
            let size = u32_at(shinfo, f + o.frag_len);
            let compound = if net_iov {
                self.warnings.push(
                    WarningKind::Unsupported,
                    Some(addr),
                    format!("skb {addr:#x} frag {i}: a net_iov (devmem), not a page; not counted"),
                );
                None
            } else {
                match self.pages.compound(k, o, page) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        self.warnings.push(
                            WarningKind::of(&e),
                            Some(addr),
                            format!("skb {addr:#x} frag {i}: {e}"),
                        );
                        None
                    }
                }
            };
            if let Some(c) = compound {
                if !skb.pages.contains(&c) {
                    skb.pages.push(c);
                }
            }
            skb.frags.push(Frag {
                page,
                compound,
                offset,
                size,
            });
        }
    }

    /// What the skb's head costs: the page of a page-fragment head (`head_frag`), else the slab
    /// slot holding it (estimated from `head_len` when it cannot be read).
    fn size_head(&mut self, skb: &mut Skb, head_len: u64) {
        let (k, o, addr, head) = (self.k, self.o, skb.addr, skb.head);
        if skb.head_frag {
            match k
                .virt_to_page(head)
                .and_then(|p| self.pages.compound(k, o, p))
            {
                Ok(c) => {
                    skb.head_page = Some(c);
                    if !skb.pages.contains(&c) {
                        skb.pages.push(c);
                    }
                }
                Err(e) => self.warnings.push(
                    WarningKind::of(&e),
                    Some(addr),
                    format!("skb {addr:#x} head page: {e}"),
                ),
            }
        } else {
            match self.pages.slab_slot(k, o, head) {
                Ok(Some(slot)) => skb.head_bytes = slot,
                r => {
                    if let Err(e) = r {
                        self.warnings.push(
                            WarningKind::of(&e),
                            Some(addr),
                            format!("skb {addr:#x} head slab: {e}"),
                        );
                    }
                    let size = head_len + o.shinfo_size;
                    skb.head_bytes = size.div_ceil(64) * 64;
                    skb.head_estimated = true;
                }
            }
        }
    }

    /// The slab slot the `sk_buff` itself takes (its size rounded to a cache line when the slab
    /// cannot be read).
    fn size_struct(&mut self, skb: &mut Skb) {
        let (k, o, addr) = (self.k, self.o, skb.addr);
        match self.pages.slab_slot(k, o, addr) {
            Ok(Some(slot)) => skb.struct_bytes = slot,
            r => {
                if let Err(e) = r {
                    self.warnings.push(
                        WarningKind::of(&e),
                        Some(addr),
                        format!("skb {addr:#x} slab: {e}"),
                    );
                }
                skb.struct_bytes = o.skb_size.div_ceil(64) * 64;
            }
        }
    }

    /// The `frag_list` members of the skb at `addr` (first: `frag_list`), each read with its
    /// own `frag_list`, within the depth and the walk budget; a bad link or a loop stops it.
    fn follow_frag_list(
        &mut self,
        addr: u64,
        frag_list: u64,
        queue: QueueName,
        depth: usize,
        out: &mut Vec<Skb>,
    ) {
        if depth >= MAX_FRAG_LIST_DEPTH {
            self.warnings.push(WarningKind::Limit, Some(addr), format!("skb {addr:#x}: frag_list nested deeper than {MAX_FRAG_LIST_DEPTH}; not followed"));
            return;
        }
        let mut seen = Chain::new(self.k.space(), MAX_FRAG_LIST, 8);
        let mut cur = frag_list;
        while cur != 0 {
            if seen.admit(cur).is_err() {
                self.warnings.push(WarningKind::Loop, Some(cur), format!("skb {addr:#x}: frag_list is corrupt at {cur:#x} (bad pointer or loop); stopped"));
                break;
            }
            if self.budget == 0 {
                break;
            }
            let read = match self.read_skb(cur, queue, Some(addr), depth + 1, out) {
                Ok(read) => read,
                Err(e) => {
                    self.warnings.push(
                        WarningKind::of(&e),
                        Some(cur),
                        format!("skb {addr:#x}: frag_list member {cur:#x}: {e}"),
                    );
                    break;
                }
            };
            match self.next_of(cur, read) {
                Ok(n) => cur = n,
                Err(e) => {
                    self.warnings.push(
                        WarningKind::of(&e),
                        Some(addr),
                        format!("skb {addr:#x}: frag_list: {e}"),
                    );
                    break;
                }
            }
        }
    }

    /// `skb->next` of the skb at `addr`: the value [`Walker::read_skb`] read with it, or read
    /// now when it was not read (an skb visited before, or the budget spent).
    fn next_of(&self, addr: u64, read: Option<u64>) -> Result<u64> {
        match read {
            Some(next) => Ok(next),
            None => self.k.u64(addr + self.o.skb_next, "sk_buff.next"),
        }
    }

    /// Walk an `sk_buff_head` list at `head`; a corrupt link ends the walk with a warning, and
    /// then the queue is walked back from its head (`prev` links) to the break, so one skb on a
    /// page the dump left out does not hide every skb queued behind it.
    pub(crate) fn walk_list(&mut self, head: u64, queue: QueueName, out: &mut Vec<Skb>) {
        let k = self.k;
        let what = queue.as_str();
        let qlen = k.u32(head + self.o.skb_head_qlen, "sk_buff_head.qlen").ok();
        let mut cur = match k.u64(head + self.o.skb_head_next, "sk_buff_head.next") {
            Ok(n) => n,
            Err(e) => {
                self.warnings.push(
                    crate::warnings::WarningKind::of(&e),
                    Some(head),
                    format!("{what} queue at {head:#x}: {e}"),
                );
                return;
            }
        };
        let set = emptied(std::mem::take(&mut self.chain_seen));
        let mut chain = Chain::reusing(set, k.space(), MAX_QUEUE_SKBS, 8);
        let mut count = 0u64;
        let broken = loop {
            if cur == head {
                break None;
            }
            if let Err(stop) = chain.admit(cur) {
                let msg = match stop {
                    Stop::Loop(_) => format!(
                        "{what} queue at {head:#x}: loop at skb {cur:#x} after {count} skbs; stopped"
                    ),
                    Stop::Limit(_) => {
                        format!("{what} queue at {head:#x}: more than {MAX_QUEUE_SKBS} skbs; stopped")
                    }
                    _ => format!(
                        "{what} queue at {head:#x}: bad next pointer {cur:#x} after {count} skbs; stopped"
                    ),
                };
                let at = if matches!(stop, Stop::Limit(_)) {
                    head
                } else {
                    cur
                };
                let kind = stop.kind();
                self.warnings.push(kind, Some(at), msg);
                break (!matches!(stop, Stop::Limit(_))).then_some(kind);
            }
            if self.budget == 0 {
                break None;
            }
            let read = match self.read_skb(cur, queue, None, 0, out) {
                Ok(read) => read,
                Err(e) => {
                    let kind = crate::warnings::WarningKind::of(&e);
                    self.warnings.push(
                        kind,
                        Some(cur),
                        format!("{what} queue at {head:#x}: skb {cur:#x}: {e}; stopped"),
                    );
                    break Some(kind);
                }
            };
            count += 1;
            cur = match self.next_of(cur, read) {
                Ok(n) => n,
                Err(e) => {
                    let kind = crate::warnings::WarningKind::of(&e);
                    self.warnings.push(
                        kind,
                        Some(head),
                        format!("{what} queue at {head:#x}: {e}; stopped"),
                    );
                    break Some(kind);
                }
            };
        };
        if let Some(kind) = broken {
            self.walk_back(head, queue, &chain, kind, out);
        }
        self.chain_seen = chain.into_set();
        if let Some(q) = qlen {
            if cur == head && u64::from(q) != count {
                self.warnings.push(
                    crate::warnings::WarningKind::Corrupt,
                    Some(head),
                    format!("{what} queue at {head:#x}: qlen says {q}, the list holds {count}"),
                );
            }
        }
    }

    /// After a forward walk of the queue at `head` broke: the skbs from the queue's tail back to
    /// the break (`prev` links, stopping at an skb the forward walk reached or at a bad link),
    /// read in queue order, with a warning (of the break's `kind`) counting them.
    fn walk_back(
        &mut self,
        head: u64,
        queue: QueueName,
        forward: &Chain,
        kind: WarningKind,
        out: &mut Vec<Skb>,
    ) {
        let found: Vec<u64> = ListWalk::links(
            self.k,
            head,
            self.o.skb_head_prev,
            self.o.skb_prev,
            MAX_QUEUE_SKBS.saturating_sub(forward.len()),
            "sk_buff.prev",
        )
        .map_while(std::result::Result::ok)
        .take_while(|&p| !forward.contains(p))
        .collect();
        if found.is_empty() {
            return;
        }
        let n = found.len();
        for &skb in found.iter().rev() {
            if self.budget == 0 {
                break;
            }
            if let Err(e) = self.read_skb(skb, queue, None, 0, out) {
                self.warnings.push(
                    crate::warnings::WarningKind::of(&e),
                    Some(skb),
                    format!("{} queue at {head:#x}: skb {skb:#x}: {e}", queue.as_str()),
                );
            }
        }
        self.warnings.push(
            kind,
            Some(head),
            format!(
                "{} queue at {head:#x}: {n} more skbs found walking back from the head (prev links) to the break",
                queue.as_str()
            ),
        );
    }

    /// Walk an rbtree of skbs (`rb_root` at `root`) in key order.
    pub(crate) fn walk_rbtree(&mut self, root: u64, queue: QueueName, out: &mut Vec<Skb>) {
        let k = self.k;
        let what = queue.as_str();
        let node = match k.u64(root, "rb_root.rb_node") {
            Ok(n) => n,
            Err(e) => {
                self.warnings.push(
                    crate::warnings::WarningKind::of(&e),
                    Some(root),
                    format!("{what} rbtree at {root:#x}: {e}"),
                );
                return;
            }
        };
        let set = emptied(std::mem::take(&mut self.chain_seen));
        let mut seen = Chain::reusing(set, k.space(), MAX_QUEUE_SKBS, 4);
        let mut stack: Vec<u64> = Vec::new();
        let mut cur = node;
        loop {
            while cur != 0 && self.spend() {
                if stack.len() >= MAX_RB_DEPTH || seen.admit(cur).is_err() {
                    self.warnings.push(crate::warnings::WarningKind::Corrupt, Some(cur), format!("{what} rbtree at {root:#x}: corrupt node {cur:#x} (bad pointer, loop or too deep); subtree skipped"));
                    break;
                }
                stack.push(cur);
                cur = match k.u64(cur + self.o.rb_left, "rb_node.rb_left") {
                    Ok(l) => l,
                    Err(e) => {
                        self.warnings.push(
                            crate::warnings::WarningKind::of(&e),
                            Some(root),
                            format!("{what} rbtree at {root:#x}: {e}"),
                        );
                        0
                    }
                };
            }
            let Some(n) = stack.pop() else { break };
            let skb = n - self.o.skb_rbnode;
            if let Err(e) = self.read_skb(skb, queue, None, 0, out) {
                self.warnings.push(
                    crate::warnings::WarningKind::of(&e),
                    Some(skb),
                    format!("{what} rbtree at {root:#x}: skb {skb:#x}: {e}"),
                );
            }
            cur = match k.u64(n + self.o.rb_right, "rb_node.rb_right") {
                Ok(r) => r,
                Err(e) => {
                    self.warnings.push(
                        crate::warnings::WarningKind::of(&e),
                        Some(root),
                        format!("{what} rbtree at {root:#x}: {e}"),
                    );
                    0
                }
            };
        }
        self.chain_seen = seen.into_set();
    }
}
