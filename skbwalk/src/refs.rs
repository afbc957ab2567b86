//! Page references: each frag (and each page-fragment head) holds one reference on its compound
//! page; comparing the references found in socket queues with the page's `_refcount` shows the
//! references held elsewhere — a driver's receive ring or page-frag cache, another subsystem, a leak.

use std::collections::HashMap;

use serde::Serialize;

use crate::report::Hex;
use crate::skb::Skb;
use crate::Kernel;

/// How many of the pages with unaccounted references are listed.
const EXAMPLES: usize = 10;

/// Counts references by compound head.
#[derive(Debug, Default)]
pub struct RefCounter {
    refs: HashMap<u64, (u32, u64)>,
}

impl RefCounter {
    /// Count the references one skb holds: one per frag, one for a page-fragment head.
    pub fn add(&mut self, skb: &Skb) {
        Self::references(skb, |head, order| self.count(head, order));
    }

    /// Each page reference `skb` holds, as (compound head, order): one per frag, one for a
    /// page-fragment head. The one rule [`RefCounter::add`] counts by.
    pub fn references(skb: &Skb, mut each: impl FnMut(u64, u32)) {
        for c in skb.frags.iter().filter_map(|f| f.compound) {
            each(c.head, c.order);
        }
        if let Some(c) = skb.head_page {
            each(c.head, c.order);
        }
    }

    /// Count one reference to the compound page at `head`.
    pub fn count(&mut self, head: u64, order: u32) {
        self.refs.entry(head).or_insert((order, 0)).1 += 1;
    }

    /// Read each page's `_refcount` and compare.
    pub fn check(&self, k: &Kernel, o: &crate::offsets::Offsets) -> PageRefs {
        let mut out = PageRefs {
            pages: self.refs.len() as u64,
            ..PageRefs::default()
        };
        let mut extra: Vec<PageRef> = Vec::new();
        for (&head, &(order, found)) in &self.refs {
            out.refs_found += found;
            let Ok(rc) = k.u32(head + o.page_refcount, "page._refcount") else {
                out.unreadable += 1;
                continue;
            };
            let rc = i64::from(rc as i32);
            let e = rc - found as i64;
            if e < 0 {
                out.fewer_than_found += 1;
            } else if e > 0 {
                out.pages_with_unaccounted += 1;
                out.unaccounted_refs += e as u64;
                extra.push(PageRef {
                    head: Hex(head),
                    order,
                    refcount: rc,
                    refs_found: found,
                    unaccounted: e as u64,
                });
            }
        }
        extra.sort_by(|a, b| b.unaccounted.cmp(&a.unaccounted).then(a.head.cmp(&b.head)));
        extra.truncate(EXAMPLES);
        out.examples = extra;
        out
    }
}

/// One page whose `_refcount` exceeds the references found.
#[derive(Debug, Clone, Serialize)]
pub struct PageRef {
    /// Compound head.
    pub head: Hex,
    /// Order.
    pub order: u32,
    /// `_refcount`.
    pub refcount: i64,
    /// References found in socket queues.
    pub refs_found: u64,
    /// `refcount - refs_found`.
    pub unaccounted: u64,
}

/// The comparison over every page the sockets reference.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageRefs {
    /// Distinct compound pages checked.
    pub pages: u64,
    /// References found (frags and page-fragment heads).
    pub refs_found: u64,
    /// Pages whose `_refcount` is larger than the references found.
    pub pages_with_unaccounted: u64,
    /// Sum of the differences.
    pub unaccounted_refs: u64,
    /// Pages whose `_refcount` is smaller than the references found (inconsistent dump or a bug).
    pub fewer_than_found: u64,
    /// Pages whose `_refcount` could not be read.
    pub unreadable: u64,
    /// The pages with the most unaccounted references.
    pub examples: Vec<PageRef>,
}
