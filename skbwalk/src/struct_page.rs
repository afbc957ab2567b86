//! `struct page`: its layout resolved once from the debuginfo, and the one place that answers
//! what a page's bytes say — compound head, order, slab, buddy, page table, LRU — for the walk,
//! the census and the slab reader alike.
//!
//! Every encoding is decided from what the debuginfo describes, never from the release:
//!
//! | fact | how it is decided |
//! |---|---|
//! | a tail's head | member `compound_head` (to 7.0): the word is head + 1; member `compound_info` (7.1+): when `sizeof(struct page)` is a power of two and the kernel optimizes hugetlb vmemmap (`struct zone` has `vmemmap_tails`), the word is a mask with bit 0 set (head = the tail's own address & mask: `compound_info_has_mask()`), otherwise head + 1 |
//! | the order | `page[1].compound_order` (to 6.2), folio `_folio_order` (6.1–6.5), else the low byte of folio `_flags_1` |
//! | slab | `PG_slab` in `enum pageflags` (to 6.9), else the page type `PGTY_slab` |
//! | buddy, page table | `enum pagetype` (`PGTY_buddy`, `PGTY_table`, 6.8+) in the top byte of `page_type`; before, bits cleared below `PAGE_TYPE_BASE`: `PG_buddy` 0x80, and `PG_table` 0x400 while `PG_kmemcg` held 0x200 (`struct page` has `mem_cgroup`, to 5.10) or 0x200 once it is gone (`memcg_data`, 5.11+); a kernel with neither member leaves `PG_table` undecided (buddy pages are still told) |
//! | `PG_head`, `PG_reserved`, `PG_lru`, `PG_swapbacked` | `enum pageflags` |
//! | a page_pool page, and its references | `struct page` has `pp_magic` and `pp_ref_count` (6.7+): `pp_magic` holds `PP_SIGNATURE` (0x40 + `POISON_POINTER_DELTA`, 0xdead000000000000 on x86-64 and arm64; the kernel's `PP_MAGIC_MASK` ignores bits 0–1 and the DMA-index bits in between), and the page's frag references are counted in `pp_ref_count`, its `_refcount` staying 1 |

use crate::le::{u32_at, u64_at};
use kstructs::Types;

/// Largest `struct page` believed (64 bytes on x86-64 and arm64; debug builds add a little).
pub(crate) const MAX_STRUCT_PAGE: usize = 256;

/// Where a compound page's order is stored, by kernel generation (offset from the head).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderField {
    /// `page[1].compound_order` (before 6.3; 6.1 has it and folio `_folio_order` on the same byte).
    PageCompoundOrder(u64),
    /// folio `_folio_order` (6.1–6.5), offset from the folio.
    FolioOrder(u64),
    /// Low byte of folio `_flags_1` (6.6 on), offset from the folio.
    FolioFlags1(u64),
}

impl OrderField {
    /// Offset of the order byte from the head `struct page`.
    pub(crate) fn offset(self) -> u64 {
        match self {
            OrderField::PageCompoundOrder(o)
            | OrderField::FolioOrder(o)
            | OrderField::FolioFlags1(o) => o,
        }
    }
}

/// How a compound tail names its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TailEncoding {
    /// The word is the head's address + 1.
    HeadPlusOne,
    /// The word is a mask with bit 0 set: head = the tail's own address & mask (7.1+
    /// `compound_info` with a power-of-two `struct page` and hugetlb vmemmap optimization).
    Mask,
}

/// How a kernel marks a slab page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlabMark {
    /// `PG_slab` in `page.flags` (up to 6.9): the bit number from `enum pageflags`.
    Flag(u32),
    /// A page type in the top byte of `page.page_type` (6.12 `enum pagetype`: `PGTY_slab`).
    PageType(u8),
    /// Neither is described: every head page's `slab_cache` word is read and checked as a pointer.
    Unknown,
}

/// How a kernel marks buddy and page-table pages in `page_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageTypes {
    /// Before 6.8: a type is a bit cleared below `PAGE_TYPE_BASE` (0xf0000000); `PG_buddy` is
    /// 0x80 throughout, `PG_table` may be undecided.
    Bits {
        buddy: u32,
        table: Result<u32, &'static str>,
    },
    /// 6.8 on: the top byte holds an `enum pagetype` value.
    TopByte { buddy: u8, table: u8 },
}

const PAGE_TYPE_BASE: u32 = 0xf000_0000;

/// The page types that name an owner, from `enum pagetype` (6.8+); before, `PG_offline`
/// (0x100 below `PAGE_TYPE_BASE`, a macro: 5.10 and 6.1 alike) alone.
fn owner_types(t: &Types) -> Vec<(u32, crate::owner::Owner)> {
    use crate::owner::Owner;
    if t.enumerator("PGTY_buddy").is_err() {
        return vec![(0x100, Owner::Offline)];
    }
    [
        ("PGTY_large_kmalloc", Owner::LargeKmalloc),
        ("PGTY_offline", Owner::Offline),
        ("PGTY_zsmalloc", Owner::Zsmalloc),
    ]
    .iter()
    .filter_map(|&(n, o)| {
        t.enumerator(n)
            .ok()
            .filter(|v| (0..=255).contains(v))
            .map(|v| (v as u32, o))
    })
    .collect()
}

/// A tail whose word names no head this layout can believe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadTail(pub u64);

/// The resolved layout of `struct page`.
#[derive(Debug, Clone)]
pub(crate) struct StructPage {
    /// `sizeof(struct page)`.
    pub size: u64,
    flags: u64,
    compound: u64,
    tail: TailEncoding,
    refcount: u64,
    private: u64,
    page_type: u64,
    order: OrderField,
    pg_head: u32,
    pg_reserved: u32,
    pg_lru: u32,
    pg_swapbacked: u32,
    slab: SlabMark,
    /// Buddy and page-table types.
    types: PageTypes,
    /// `pp_magic`, and `pp_ref_count` where page_pool pages count their references there
    /// (6.6+).
    page_pool: Option<(u64, Option<u64>)>,
    /// `pp`: the pool of a page_pool page.
    pp: Option<u64>,
    /// Page types that name an owner of the page: (top byte value, or the bit cleared below
    /// `PAGE_TYPE_BASE` before 6.8; the owner).
    owner_types: Vec<(u32, crate::owner::Owner)>,
}

/// `POISON_POINTER_DELTA` (`CONFIG_ILLEGAL_POINTER_VALUE` on x86-64 and arm64): the kernel's
/// poison values (`PP_SIGNATURE`, `NET_PTR_POISON`) are small offsets above it.
pub(crate) const POISON_POINTER_DELTA: u64 = 0xdead_0000_0000_0000;

/// `PP_SIGNATURE`'s low byte, and `POISON_POINTER_DELTA`'s top 16 bits.
const PP_SIGNATURE_LOW: u64 = 0x40;
const POISON_TOP: u64 = POISON_POINTER_DELTA >> 48;

impl StructPage {
    /// Resolve from the debuginfo; the first missing mandatory member is the error.
    pub(crate) fn resolve(t: &Types) -> kstructs::Result<StructPage> {
        let o = |m: &str| t.member("page", m).map(|m| m.offset);
        let bit = |name: &str| t.enumerator(name).map(|v| v as u32);
        let size = t.size_of("page")?;
        let (compound, tail) = match t.member("page", "compound_head") {
            Ok(m) => (m.offset, TailEncoding::HeadPlusOne),
            Err(e) => match t.member("page", "compound_info") {
                // compound_info_has_mask(): CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP (whose zones
                // keep vmemmap_tails) and a power-of-two struct page
                Ok(m) if size.is_power_of_two() && t.member("zone", "vmemmap_tails").is_ok() => {
                    (m.offset, TailEncoding::Mask)
                }
                Ok(m) => (m.offset, TailEncoding::HeadPlusOne),
                Err(_) => return Err(e),
            },
        };
        let order = if let Ok(m) = t.member("page", "compound_order") {
            OrderField::PageCompoundOrder(size + m.offset)
        } else if let Ok(m) = t.member("folio", "_folio_order") {
            OrderField::FolioOrder(m.offset)
        } else {
            OrderField::FolioFlags1(t.member("folio", "_flags_1")?.offset)
        };
        let slab = if let Ok(b) = t.enumerator("PG_slab") {
            SlabMark::Flag(b as u32)
        } else {
            match t.enumerator("PGTY_slab") {
                Ok(v) if (0..=255).contains(&v) => SlabMark::PageType(v as u8),
                _ => SlabMark::Unknown,
            }
        };
        let types = match (t.enumerator("PGTY_buddy"), t.enumerator("PGTY_table")) {
            (Ok(b), Ok(tb)) => PageTypes::TopByte {
                buddy: b as u8,
                table: tb as u8,
            },
            // The bits are macros, absent from BTF and DWARF. PG_kmemcg (0x200, pushing
            // PG_table to 0x400) went with the same 5.11 series that replaced
            // page.mem_cgroup by page.memcg_data.
            _ => PageTypes::Bits {
                buddy: 0x80,
                table: if t.member("page", "mem_cgroup").is_ok() {
                    Ok(0x400)
                } else if t.member("page", "memcg_data").is_ok() {
                    Ok(0x200)
                } else {
                    Err(
                        "struct page has neither mem_cgroup (PG_table 0x400, to 5.10) nor \
                         memcg_data (0x200, 5.11+): this kernel's PG_table cannot be told",
                    )
                },
            },
        };
        Ok(StructPage {
            size,
            flags: o("flags")?,
            compound,
            tail,
            refcount: o("_refcount")?,
            // the census's alone (the walk does not need them): 0 when absent, and the census
            // asks for them itself first (census_needs)
            private: o("private").unwrap_or(0),
            page_type: o("page_type")?,
            order,
            pg_head: bit("PG_head")?,
            pg_reserved: bit("PG_reserved").unwrap_or(0),
            pg_lru: bit("PG_lru").unwrap_or(0),
            pg_swapbacked: bit("PG_swapbacked").unwrap_or(0),
            slab,
            types,
            page_pool: o("pp_magic")
                .ok()
                .map(|magic| (magic, o("pp_ref_count").ok())),
            pp: o("pp").ok(),
            owner_types: owner_types(t),
        })
    }

    /// For a page_pool page, its `pp_ref_count` (the references its frags hold); `None` for
    /// any other page.
    pub(crate) fn page_pool_refs(&self, sp: &[u8]) -> Option<i64> {
        let refs = self.page_pool?.1?;
        self.is_page_pool(sp).then(|| u64_at(sp, refs) as i64)
    }

    /// Whether `pp_magic` says page_pool (5.14+).
    fn is_page_pool(&self, sp: &[u8]) -> bool {
        let Some((magic, _)) = self.page_pool else {
            return false;
        };
        let m = u64_at(sp, magic);
        // PP_MAGIC_MASK leaves out bits 0-1 and the DMA index from bit 7 (6.15+)
        m & 0x7c == PP_SIGNATURE_LOW && m >> 48 == POISON_TOP
    }

    /// The pool of a page_pool head page (`pp_magic` is `PP_SIGNATURE`); `None` for any other.
    pub(crate) fn page_pool(&self, sp: &[u8]) -> Option<u64> {
        self.is_page_pool(sp)
            .then(|| self.pp.map(|pp| u64_at(sp, pp)))?
    }

    /// The owner `page_type` names (large kmalloc, offline, zsmalloc), if any.
    pub(crate) fn typed_owner(&self, sp: &[u8]) -> Option<crate::owner::Owner> {
        let pt = self.page_type(sp);
        self.owner_types
            .iter()
            .find(|&&(v, _)| match self.types {
                PageTypes::Bits { .. } => pt & (PAGE_TYPE_BASE | v) == PAGE_TYPE_BASE,
                PageTypes::TopByte { .. } => pt >> 24 == v,
            })
            .map(|&(_, o)| o)
    }

    /// What the census reads beyond the walk: the first one this kernel's debuginfo lacks is
    /// the error (the walk runs without them).
    pub(crate) fn census_needs(t: &Types) -> kstructs::Result<()> {
        t.member("page", "private")?;
        for b in ["PG_reserved", "PG_lru", "PG_swapbacked"] {
            t.enumerator(b)?;
        }
        Ok(())
    }

    /// The part of `buf` one `struct page` fills: where callers read a page's bytes.
    pub(crate) fn bytes<'b>(&self, buf: &'b mut [u8; MAX_STRUCT_PAGE]) -> &'b mut [u8] {
        &mut buf[..self.size.min(MAX_STRUCT_PAGE as u64) as usize]
    }

    /// The `flags` word.
    pub(crate) fn flags(&self, sp: &[u8]) -> u64 {
        u64_at(sp, self.flags)
    }

    /// `page_type` (the `_mapcount` word).
    pub(crate) fn page_type(&self, sp: &[u8]) -> u32 {
        u32_at(sp, self.page_type)
    }

    /// `_refcount`.
    pub(crate) fn refcount(&self, sp: &[u8]) -> u32 {
        u32_at(sp, self.refcount)
    }

    /// Offset of `_refcount`.
    pub(crate) fn refcount_offset(&self) -> u64 {
        self.refcount
    }

    /// `private` (a free buddy head's order).
    pub(crate) fn private(&self, sp: &[u8]) -> u64 {
        u64_at(sp, self.private)
    }

    /// Whether the word that names a head has its tail bit set.
    pub(crate) fn is_tail(&self, sp: &[u8]) -> bool {
        u64_at(sp, self.compound) & 1 == 1
    }

    /// The head `struct page` of the page at `addr` whose bytes are `sp` (`addr` itself when
    /// it is not a tail). `Err` when the word is not what this kernel stores in a tail.
    pub(crate) fn head(&self, addr: u64, sp: &[u8]) -> Result<u64, BadTail> {
        let w = u64_at(sp, self.compound);
        if w & 1 == 0 {
            return Ok(addr);
        }
        match self.tail {
            TailEncoding::HeadPlusOne => Ok(w - 1),
            TailEncoding::Mask => {
                // Contiguous high ones: a block of a power of two struct pages, at least two.
                let span = (!(w & !1)).wrapping_add(1);
                if span.is_power_of_two() && span >= 2 * self.size {
                    Ok(addr & (w & !1))
                } else {
                    Err(BadTail(w))
                }
            }
        }
    }

    /// `PG_head`.
    pub(crate) fn is_head(&self, flags: u64) -> bool {
        flags >> (self.pg_head & 63) & 1 == 1
    }

    /// `PG_reserved`.
    pub(crate) fn is_reserved(&self, flags: u64) -> bool {
        flags >> (self.pg_reserved & 63) & 1 == 1
    }

    /// `PG_lru`, and `PG_swapbacked` with it.
    pub(crate) fn lru(&self, flags: u64) -> Option<bool> {
        (flags >> (self.pg_lru & 63) & 1 == 1)
            .then_some(flags >> (self.pg_swapbacked & 63) & 1 == 1)
    }

    /// Offset of a head's order byte from the head.
    pub(crate) fn order_offset(&self) -> u64 {
        self.order.offset()
    }

    /// How the order is stored.
    #[cfg(test)]
    pub(crate) fn order_field(&self) -> OrderField {
        self.order
    }

    /// How slab pages are marked.
    #[cfg(test)]
    pub(crate) fn slab_mark(&self) -> SlabMark {
        self.slab
    }

    /// Offset of the word the slab mark is in: `flags` or `page_type`.
    pub(crate) fn slab_mark_word(&self) -> Option<u64> {
        match self.slab {
            SlabMark::Flag(_) => Some(self.flags),
            SlabMark::PageType(_) => Some(self.page_type),
            SlabMark::Unknown => None,
        }
    }

    /// Whether a head page is a slab; `None` when the debuginfo describes no slab mark.
    pub(crate) fn is_slab(&self, sp: &[u8]) -> Option<bool> {
        match self.slab {
            SlabMark::Flag(bit) => Some(self.flags(sp) >> (bit & 63) & 1 == 1),
            SlabMark::PageType(v) => Some(self.page_type(sp) >> 24 == u32::from(v)),
            SlabMark::Unknown => None,
        }
    }

    /// Whether `page_type` says buddy.
    pub(crate) fn is_buddy(&self, sp: &[u8]) -> bool {
        let pt = self.page_type(sp);
        match self.types {
            PageTypes::Bits { buddy, .. } => pt & (PAGE_TYPE_BASE | buddy) == PAGE_TYPE_BASE,
            PageTypes::TopByte { buddy, .. } => (pt >> 24) as u8 == buddy,
        }
    }

    /// Whether `page_type` says page table; `Err` when this kernel's `PG_table` cannot be told.
    pub(crate) fn is_table(&self, sp: &[u8]) -> Result<bool, &'static str> {
        let pt = self.page_type(sp);
        Ok(match self.types {
            PageTypes::Bits { table, .. } => pt & (PAGE_TYPE_BASE | table?) == PAGE_TYPE_BASE,
            PageTypes::TopByte { table, .. } => (pt >> 24) as u8 == table,
        })
    }

    /// Why page-table pages cannot be told, if they cannot.
    pub(crate) fn table_undecided(&self) -> Option<&'static str> {
        match self.types {
            PageTypes::Bits {
                table: Err(why), ..
            } => Some(why),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(tail: TailEncoding) -> StructPage {
        StructPage {
            size: 64,
            flags: 0,
            compound: 8,
            tail,
            refcount: 52,
            private: 40,
            page_type: 48,
            order: OrderField::FolioFlags1(64),
            pg_head: 6,
            pg_reserved: 10,
            pg_lru: 4,
            pg_swapbacked: 19,
            slab: SlabMark::PageType(0xf5),
            types: PageTypes::TopByte {
                buddy: 0xf0,
                table: 0xf2,
            },
            page_pool: Some((8, Some(40))),
            pp: Some(16),
            owner_types: vec![(0xf8, crate::owner::Owner::LargeKmalloc)],
        }
    }

    fn page_with(word: u64) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[8..16].copy_from_slice(&word.to_le_bytes());
        b
    }

    /// 7.1+: an order-3 page's tails hold 0xfffffffffffffe01 (measured on a real 7.2 dump);
    /// every tail of the block finds the same head by masking its own address, and a word
    /// that is no such mask is refused rather than read as a head + 1 pointer.
    #[test]
    fn masked_tails_name_their_head_by_their_own_address() {
        let l = layout(TailEncoding::Mask);
        let head = 0xffff_ea00_0012_3400u64; // 8 struct pages of 64 bytes: 512-aligned
        for i in 1..8u64 {
            let tail = head + i * 64;
            assert_eq!(l.head(tail, &page_with(0xffff_ffff_ffff_fe01)), Ok(head));
        }
        assert_eq!(l.head(head, &page_with(0)), Ok(head));
        // a head + 1 pointer is not a mask of contiguous high ones
        assert_eq!(
            l.head(head + 64, &page_with(head + 1)),
            Err(BadTail(head + 1))
        );
        // a mask smaller than two struct pages is no compound page
        assert_eq!(
            l.head(head + 64, &page_with(0xffff_ffff_ffff_ffc1)),
            Err(BadTail(0xffff_ffff_ffff_ffc1))
        );
        // the older encoding: head + 1
        let old = layout(TailEncoding::HeadPlusOne);
        assert_eq!(old.head(head + 64, &page_with(head + 1)), Ok(head));
    }

    /// A page_pool page (7.2's virtio_net: `pp_magic` 0xdead000000000040, `_refcount` 1) counts
    /// its frag references in `pp_ref_count`; a page whose magic is anything else is no pool's.
    #[test]
    fn page_pool_pages_count_references_in_pp_ref_count() {
        let l = layout(TailEncoding::Mask);
        let mut b = page_with(0xdead_0000_0000_0040);
        b[40..48].copy_from_slice(&2u64.to_le_bytes());
        assert_eq!(l.page_pool_refs(&b), Some(2));
        // a pool that maps DMA keeps an index from bit 7: still a pool's page
        let mut dma = page_with(0xdead_0000_0000_00c0);
        dma[40..48].copy_from_slice(&3u64.to_le_bytes());
        assert_eq!(l.page_pool_refs(&dma), Some(3));
        assert_eq!(l.page_pool_refs(&page_with(0xdead_0000_0000_0100)), None);
        assert_eq!(l.page_pool_refs(&page_with(0x40)), None);
    }

    #[test]
    fn page_types_by_top_byte_and_by_cleared_bits() {
        let mut b = [0u8; 64];
        let l = layout(TailEncoding::Mask);
        b[48..52].copy_from_slice(&0xf200_0000u32.to_le_bytes());
        assert_eq!((l.is_table(&b), l.is_buddy(&b)), (Ok(true), false));
        b[48..52].copy_from_slice(&0xf500_0000u32.to_le_bytes());
        assert_eq!(l.is_slab(&b), Some(true));
        let mut old = layout(TailEncoding::HeadPlusOne);
        old.types = PageTypes::Bits {
            buddy: 0x80,
            table: Ok(0x400),
        };
        b[48..52].copy_from_slice(&(!0x400u32).to_le_bytes());
        assert_eq!((old.is_table(&b), old.is_buddy(&b)), (Ok(true), false));
        // PG_table undecided: page tables cannot be told, free pages still can
        old.types = PageTypes::Bits {
            buddy: 0x80,
            table: Err("undecided"),
        };
        assert!(old.is_table(&b).is_err());
        b[48..52].copy_from_slice(&(!0x80u32).to_le_bytes());
        assert!(old.is_buddy(&b));
    }
}
