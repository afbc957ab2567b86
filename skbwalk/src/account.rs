//! The accounting of `../shared/spec/accounting.md`, as pure functions of walked skbs.
//!
//! A compound page referenced by several skbs of a socket counts once; pinned memory is whole
//! compound pages plus head slots plus sk_buff slots.

use crate::hash::Map;

use crate::page::Compound;
use crate::skb::Skb;

/// Figures over a set of skbs (a queue, a socket, the system).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Totals {
    /// skbs, `frag_list` members included.
    pub skbs: u64,
    /// Sum of `len` over top-level skbs.
    pub len: u64,
    /// Sum of `truesize` over top-level skbs.
    pub truesize: u64,
    /// Distinct compound heads referenced.
    pub unique_pages: u64,
    /// `PAGE_SIZE << order` summed over those heads.
    pub page_bytes: u64,
    /// `page_bytes` + head bytes + struct bytes.
    pub pinned_bytes: u64,
    /// `pinned_bytes / truesize` (0 when truesize is 0), unrounded.
    pub amplification: f64,
}

/// x86-64's page size. The accounting uses each kernel's own ([`crate::page::Compound::bytes`]).
pub const PAGE_SIZE: u64 = 4096;

/// Bytes of a compound page of `order` with 4 KiB pages (x86-64). A page read from a dump
/// knows its kernel's page size: [`crate::page::Compound::bytes`].
pub fn compound_bytes(order: u32) -> u64 {
    PAGE_SIZE << order
}

/// What one skb pins on its own: its compound pages, its head slot, its `sk_buff` slot. (In
/// a socket or system total a page shared by several skbs counts once: [`Totals`].)
pub fn skb_pinned_bytes(skb: &Skb) -> u64 {
    skb.pages.iter().map(|c| c.bytes()).sum::<u64>() + skb.head_bytes + skb.struct_bytes
}

impl Skb {
    /// Page bytes + head bytes + struct bytes of this skb alone ([`skb_pinned_bytes`]).
    pub fn pinned_bytes(&self) -> u64 {
        skb_pinned_bytes(self)
    }
}

/// An skb in a report (`shared/spec/cli.md`): addresses as `0x…` strings, its frags, and what
/// it pins; the walk's own bookkeeping (`head`, `fclone`, `pages`, `head_page`) stays out.
impl serde::Serialize for Skb {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use crate::hex::Hex;
        use serde::ser::SerializeStruct;
        let fields = 11 + usize::from(self.parent.is_some()) + usize::from(self.head_estimated);
        let mut m = s.serialize_struct("Skb", fields)?;
        m.serialize_field("addr", &Hex(self.addr))?;
        m.serialize_field("queue", &self.queue)?;
        match self.parent {
            Some(p) => m.serialize_field("parent", &Hex(p))?,
            None => m.skip_field("parent")?,
        }
        m.serialize_field("len", &self.len)?;
        m.serialize_field("data_len", &self.data_len)?;
        m.serialize_field("truesize", &self.truesize)?;
        m.serialize_field("head_frag", &self.head_frag)?;
        m.serialize_field("nr_frags", &self.nr_frags)?;
        m.serialize_field("frags", &self.frags)?;
        m.serialize_field("head_bytes", &self.head_bytes)?;
        if self.head_estimated {
            m.serialize_field("head_estimated", &true)?;
        } else {
            m.skip_field("head_estimated")?;
        }
        m.serialize_field("struct_bytes", &self.struct_bytes)?;
        m.serialize_field("pinned_bytes", &self.pinned_bytes())?;
        m.end()
    }
}

/// Accumulates skbs; pages dedupe by compound head.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    totals: Totals,
    /// Compound head → what references it.
    pages: Map<u64, PageTally>,
}

/// One compound page in a [`Tally`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageTally {
    /// Its order.
    pub(crate) order: u32,
    /// Its bytes (`PAGE_SIZE << order`).
    pub(crate) bytes: u64,
    /// skbs referencing it.
    pub(crate) skbs: u32,
    /// References to it ([`crate::refs::references`]: one per frag, one per page-fragment head).
    pub(crate) refs: u32,
}

impl Tally {
    /// Add one skb.
    pub(crate) fn add(&mut self, skb: &Skb) {
        let t = &mut self.totals;
        t.skbs += 1;
        if skb.parent.is_none() {
            t.len += u64::from(skb.len);
            t.truesize += u64::from(skb.truesize);
        }
        t.pinned_bytes += skb.head_bytes + skb.struct_bytes;
        fn page<'a>(pages: &'a mut Map<u64, PageTally>, c: &Compound) -> &'a mut PageTally {
            pages.entry(c.head).or_insert(PageTally {
                order: c.order,
                bytes: c.bytes(),
                skbs: 0,
                refs: 0,
            })
        }
        for c in &skb.pages {
            let e = page(&mut self.pages, c);
            e.skbs = e.skbs.saturating_add(1);
        }
        crate::refs::references(skb, |c| {
            let e = page(&mut self.pages, &c);
            e.refs = e.refs.saturating_add(1);
        });
    }

    /// Distinct pages, by compound head.
    pub(crate) fn pages(&self) -> &Map<u64, PageTally> {
        &self.pages
    }

    /// The totals.
    pub(crate) fn totals(&self) -> Totals {
        let mut t = self.totals;
        t.unique_pages = self.pages.len() as u64;
        t.page_bytes = self.pages.values().map(|p| p.bytes).sum();
        t.pinned_bytes += t.page_bytes;
        t.amplification = amplification(t.pinned_bytes, t.truesize);
        t
    }
}

/// `pinned / truesize` (0 when truesize is 0), unrounded: printing rounds.
pub(crate) fn amplification(pinned: u64, truesize: u64) -> f64 {
    if truesize == 0 {
        0.0
    } else {
        pinned as f64 / truesize as f64
    }
}

/// Totals of a set of skbs.
pub(crate) fn totals<'a>(skbs: impl IntoIterator<Item = &'a Skb>) -> Totals {
    let mut t = Tally::default();
    for s in skbs {
        t.add(s);
    }
    t.totals()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skb::QueueName;

    fn skb(parent: Option<u64>, pages: &[(u64, u32)], truesize: u32) -> Skb {
        Skb {
            addr: 1,
            queue: QueueName::Receive,
            parent,
            len: 10,
            data_len: 10,
            truesize,
            head_frag: false,
            fclone: 0,
            head: 0,
            nr_frags: pages.len() as u8,
            frags: vec![],
            pages: pages
                .iter()
                .map(|&(head, order)| Compound {
                    head,
                    order,
                    page_shift: 12,
                })
                .collect(),
            head_page: None,
            head_bytes: 1024,
            head_estimated: false,
            struct_bytes: 256,
        }
    }

    #[test]
    fn shared_pages_count_once_and_children_add_no_len() {
        let a = skb(None, &[(0x100, 3), (0x200, 3)], 2000);
        let b = skb(None, &[(0x100, 3)], 2000);
        let c = skb(Some(1), &[(0x300, 0)], 999);
        let t = totals([&a, &b, &c]);
        assert_eq!(t.skbs, 3);
        assert_eq!(t.len, 20);
        assert_eq!(t.truesize, 4000);
        assert_eq!(t.unique_pages, 3);
        assert_eq!(t.page_bytes, 2 * 32768 + 4096);
        assert_eq!(t.pinned_bytes, t.page_bytes + 3 * (1024 + 256));
        assert_eq!(t.amplification, 73_472.0 / 4000.0);
        assert_eq!(a.pinned_bytes(), 2 * 32768 + 1280);
    }

    /// A page counts once per skb in `skbs` and once per frag (and page-fragment head) in `refs`.
    #[test]
    fn a_page_tally_counts_skbs_and_references() {
        use crate::skb::Frag;
        let c = |head| Compound {
            head,
            order: 3,
            page_shift: 12,
        };
        let frag = |head| Frag {
            page: head,
            compound: Some(c(head)),
            offset: 0,
            size: 100,
        };
        let mut a = skb(None, &[(0x100, 3)], 2000);
        a.frags = vec![frag(0x100), frag(0x100)];
        let mut b = skb(None, &[(0x100, 3), (0x200, 3)], 2000);
        b.frags = vec![frag(0x200)];
        b.head_frag = true;
        b.head_page = Some(c(0x100));
        let mut t = Tally::default();
        t.add(&a);
        t.add(&b);
        let p = |h| t.pages()[&h];
        assert_eq!((p(0x100).skbs, p(0x100).refs), (2, 3));
        assert_eq!((p(0x200).skbs, p(0x200).refs, p(0x200).order), (1, 1, 3));
    }

    #[test]
    fn empty_is_zero() {
        let t = totals([]);
        assert_eq!(t, Totals::default());
    }

    /// A page pins its own kernel's page size: a 64 KiB-page arm64 kernel's order-0 page is
    /// 64 KiB, its order-3 page 512 KiB; the frag page is one such page there.
    #[test]
    fn pages_pin_their_kernels_page_size() {
        let c = |order, page_shift| Compound {
            head: 0x100,
            order,
            page_shift,
        };
        assert_eq!(c(3, 12).bytes(), 32 << 10);
        assert_eq!(c(0, 16).bytes(), 64 << 10);
        assert_eq!(c(3, 16).bytes(), 512 << 10);
        let mut a = skb(None, &[], 1000);
        a.pages = vec![c(0, 16), c(1, 14)];
        assert_eq!(a.pinned_bytes(), (64 << 10) + (32 << 10) + 1024 + 256);
        use crate::explain::frag_page_bytes;
        assert_eq!(
            (
                frag_page_bytes(4096),
                frag_page_bytes(16384),
                frag_page_bytes(65536)
            ),
            (32768, 32768, 65536)
        );
    }
}
