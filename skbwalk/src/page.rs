//! Pages: compound head and order of a `struct page`, and the slab slot an address lives in.

use crate::hash::Map;

use crate::offsets::Offsets;
use crate::struct_page::MAX_STRUCT_PAGE;
use crate::{Error, Kernel, Result};

/// A compound page as a frag sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Compound {
    /// `struct page` of the head.
    pub head: u64,
    /// Compound order (0 for a plain page).
    pub order: u32,
    /// The kernel's `PAGE_SHIFT` (12 on x86-64; 12, 14 or 16 on arm64).
    pub page_shift: u8,
}

impl Compound {
    /// Bytes of the compound page, `PAGE_SIZE << order`: what one referenced page pins, however
    /// little of it the skb uses.
    pub fn bytes(&self) -> u64 {
        1u64 << (u32::from(self.page_shift) + self.order)
    }
}

/// Largest order we believe (MAX_ORDER is 10 or 11 on x86-64; gigantic pages 18).
const MAX_SANE_ORDER: u32 = 18;

/// Most pages each memo holds; past it the memo starts over (a memo, not a record: memory
/// stays bounded whatever the dump holds, and a page forgotten is read again).
const MEMO_PAGES: usize = 1 << 16;

/// Put `k` in a memo, starting the memo over when it holds [`MEMO_PAGES`].
fn remember<V>(memo: &mut Map<u64, V>, k: u64, v: V) {
    if memo.len() >= MEMO_PAGES {
        memo.clear();
    }
    memo.insert(k, v);
}

/// Memoizing page lookups: a head page's order and slab cache are read once (while the memo
/// holds them).
#[derive(Default)]
pub(crate) struct Pages {
    heads: Map<u64, u32>,
    slab_slot: Map<u64, Option<u64>>,
}

impl Pages {
    /// Check that `page` is a `struct page` address inside vmemmap.
    fn check_page(k: &Kernel, o: &Offsets, page: u64, what: &str) -> Result<()> {
        let (rel, size) = (page.wrapping_sub(k.vmemmap_base), o.page.size);
        // (A mask where a division would do: this runs for every page reference.)
        let aligned = if size.is_power_of_two() {
            rel & (size - 1) == 0
        } else {
            rel.is_multiple_of(size)
        };
        let ok = page >= k.vmemmap_base && rel < (1u64 << 46) && aligned;
        if ok {
            Ok(())
        } else {
            Err(Error::Corrupt {
                what: format!("{what}: {page:#x} is not a struct page in vmemmap"),
                addr: page,
                why: "garbage page pointer",
            })
        }
    }

    /// `compound_head(page)` and the head's order.
    pub(crate) fn compound(&mut self, k: &Kernel, o: &Offsets, page: u64) -> Result<Compound> {
        Self::check_page(k, o, page, "frag page")?;
        let sp = &o.page;
        let mut buf = [0u8; MAX_STRUCT_PAGE];
        let bytes = sp.bytes(&mut buf);
        k.read(page, bytes, "struct page")?;
        let head = sp.head(page, bytes).map_err(|bad| Error::Corrupt {
            what: format!(
                "struct page {page:#x}: tail word {:#x} names no head this kernel would store",
                bad.0
            ),
            addr: page,
            why: "garbage compound head",
        })?;
        if head != page {
            Self::check_page(k, o, head, "compound head")?;
        }
        let page_shift = k.page_size().trailing_zeros() as u8;
        if let Some(&order) = self.heads.get(&head) {
            return Ok(Compound {
                head,
                order,
                page_shift,
            });
        }
        if head != page {
            k.read(head, bytes, "struct page")?;
        }
        let flags = sp.flags(bytes);
        let order = if !sp.is_head(flags) {
            0
        } else {
            let order = u32::from(k.u8(head + sp.order_offset(), "compound order")?);
            if order > MAX_SANE_ORDER {
                return Err(Error::Corrupt {
                    what: format!("compound order {order} of head page"),
                    addr: head,
                    why: "implausible compound order",
                });
            }
            order
        };
        remember(&mut self.heads, head, order);
        Ok(Compound {
            head,
            order,
            page_shift,
        })
    }

    /// The slab slot size (`kmem_cache->size`) of the object at `vaddr`, `None` if its page is not a slab.
    pub(crate) fn slab_slot(&mut self, k: &Kernel, o: &Offsets, vaddr: u64) -> Result<Option<u64>> {
        let page = k.virt_to_page(vaddr)?;
        let head = self.compound(k, o, page)?.head;
        if let Some(&s) = self.slab_slot.get(&head) {
            return Ok(s);
        }
        // Without a slab mark, the slab_cache pointer is checked instead.
        let sp = &o.page;
        let mut buf = [0u8; MAX_STRUCT_PAGE];
        let bytes = sp.bytes(&mut buf);
        let is_slab = match sp.slab_mark_word() {
            Some(_) => {
                k.read(head, bytes, "struct page")?;
                sp.is_slab(bytes).unwrap_or(true)
            }
            None => true,
        };
        let slot = match is_slab {
            false => None,
            true => {
                let cache = k.u64(head + o.slab_cache, "slab.slab_cache")?;
                if k.is_kernel_ptr(cache, 8) {
                    let size = k.u32(cache + o.kmem_cache_size, "kmem_cache.size")?;
                    Some(u64::from(size)).filter(|&s| s > 0)
                } else {
                    None
                }
            }
        };
        remember(&mut self.slab_slot, head, slot);
        Ok(slot)
    }
}

/// The head of the compound page `page` belongs to (itself when none, or when its struct page
/// cannot be read), as the walk reads it.
pub(crate) fn head_of(k: &Kernel, page: u64) -> u64 {
    k.off()
        .ok()
        .and_then(|o| Pages::default().compound(k, o, page).ok())
        .map_or(page, |c| c.head)
}
