//! Page references: each frag (and each page-fragment head) holds one reference on its compound
//! page; comparing the references found in socket queues with the page's `_refcount` (a
//! page_pool page's `pp_ref_count`) shows the references held elsewhere — a driver's receive
//! ring or page-frag cache, another subsystem, a leak.

use serde::Serialize;

use crate::hex::Hex;
use crate::page::Compound;
use crate::skb::Skb;
use crate::Kernel;

/// How many of the pages with unaccounted references are listed.
const EXAMPLES: usize = 10;

/// Each page reference `skb` holds, as (compound head, order): one per frag, one for a
/// page-fragment head. The one rule references are counted by.
pub(crate) fn references(skb: &Skb, mut each: impl FnMut(Compound)) {
    for c in skb.frags.iter().filter_map(|f| f.compound) {
        each(c);
    }
    if let Some(c) = skb.head_page {
        each(c);
    }
}

impl PageRefs {
    /// Read the `_refcount` of each distinct page, given as (compound head, order, references
    /// found), and compare; on `threads` threads (the result is the same for any number).
    pub(crate) fn check(
        k: &Kernel,
        o: &crate::offsets::Offsets,
        pages: &[(u64, u32, u64)],
        threads: usize,
    ) -> PageRefs {
        const CHUNK: usize = 4096;
        let parts = crate::parallel::map(pages.len().div_ceil(CHUNK), threads, |c| {
            let chunk = &pages[c * CHUNK..((c + 1) * CHUNK).min(pages.len())];
            Self::check_some(k, o, chunk)
        });
        let mut out = PageRefs::default();
        for p in parts {
            out.pages += p.pages;
            out.refs_found += p.refs_found;
            out.pages_with_unaccounted += p.pages_with_unaccounted;
            out.unaccounted_refs += p.unaccounted_refs;
            out.fewer_than_found += p.fewer_than_found;
            out.unreadable += p.unreadable;
            out.page_pool += p.page_pool;
            out.examples.extend(p.examples);
        }
        out.keep_examples();
        out
    }

    /// [`PageRefs::check`] of some pages, on this thread.
    fn check_some(k: &Kernel, o: &crate::offsets::Offsets, pages: &[(u64, u32, u64)]) -> PageRefs {
        let mut out = PageRefs::default();
        for &(head, order, found) in pages {
            out.pages += 1;
            out.refs_found += found;
            let mut buf = [0u8; crate::struct_page::MAX_STRUCT_PAGE];
            let sp = o.page.bytes(&mut buf);
            if k.read(head, sp, "struct page").is_err() {
                out.unreadable += 1;
                continue;
            }
            // a page_pool page keeps its frags' references in pp_ref_count
            let rc = match o.page.page_pool_refs(sp) {
                Some(pp) => {
                    out.page_pool += 1;
                    pp
                }
                None => i64::from(o.page.refcount(sp) as i32),
            };
            let e = rc - found as i64;
            if e < 0 {
                out.fewer_than_found += 1;
            } else if e > 0 {
                out.pages_with_unaccounted += 1;
                out.unaccounted_refs += e as u64;
                out.examples.push(PageRef {
                    head: Hex(head),
                    order,
                    refcount: rc,
                    refs_found: found,
                    unaccounted: e as u64,
                });
                if out.examples.len() >= 4 * EXAMPLES {
                    out.keep_examples();
                }
            }
        }
        out.keep_examples();
        out
    }

    /// Keep the pages with the most unaccounted references (ties by address: a total order,
    /// so the same pages whatever order they came in).
    fn keep_examples(&mut self) {
        self.examples
            .sort_by(|a, b| b.unaccounted.cmp(&a.unaccounted).then(a.head.cmp(&b.head)));
        self.examples.truncate(EXAMPLES);
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One page whose `_refcount` exceeds the references found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// Page_pool pages among them, whose references are their `pp_ref_count` (absent when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub page_pool: u64,
    /// The pages with the most unaccounted references.
    pub examples: Vec<PageRef>,
}
