//! Kernel virtual memory over physical memory: the one trait each architecture's address
//! translation implements (x86-64's `KernelLayout`, arm64's `Aarch64Layout`), so that a dump, a test image or
//! another architecture reads kernel addresses the same way. [`crate::Dump`] caches what it
//! translates per thread, whatever the architecture.
//!
//! ```
//! use vmcore::arch::Arch;
//! use vmcore::x86_64::KernelLayout;
//! let l = KernelLayout { top_table: 0x10_0000, levels: 4, phys_base: 0, kaslr_offset: 0x2000_0000 };
//! let f = l.facts();
//! assert_eq!((f.machine, f.kaslr_offset, f.levels), ("x86_64", 0x2000_0000, Some(4)));
//! ```

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{PhysMem, Result};

/// What a kernel's address layout says of itself: for reports, and for the rules that depend
/// on the architecture (what a kernel pointer looks like, the page size).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchFacts {
    /// The machine (`x86_64`, `aarch64`).
    pub machine: &'static str,
    /// KASLR displacement of the kernel image.
    pub kaslr_offset: u64,
    /// Physical load offset of the image, where the architecture has one (x86-64 `phys_base`).
    pub phys_base: Option<u64>,
    /// Page-table levels.
    pub levels: Option<u8>,
    /// The kernel's page size (the granule on arm64).
    pub page_size: u64,
    /// Virtual address bits in use.
    pub va_bits: Option<u8>,
    /// The lowest kernel virtual address (the start of the kernel half of the address space):
    /// no kernel pointer lies below it.
    pub kernel_start: u64,
}

/// Translation of a kernel's virtual addresses to physical ones.
pub trait Arch: Send + Sync + std::fmt::Debug {
    /// The physical address of `vaddr`, and the size of the mapping that holds it as an address
    /// shift (12 for a 4 KiB page, 21 for 2 MiB, 30 for 1 GiB or a linear region): a caller may
    /// reuse a translation for the rest of that mapping.
    fn translate_sized(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<(u64, u32)>;

    /// What this layout says of itself.
    fn facts(&self) -> ArchFacts;

    /// The layout as `Any`, for a caller that needs one architecture's own (e.g. x86-64's
    /// page-table root): `downcast_ref` it.
    fn as_any(&self) -> &dyn std::any::Any;

    /// Every page-table page of the kernel's half of the address space below the top table,
    /// found by walking it, at most `limit` of them; `None` where this layout cannot walk its
    /// tables.
    fn table_pages(&self, mem: &dyn PhysMem, limit: usize) -> Option<TablePages> {
        let _ = (mem, limit);
        None
    }
}

/// The page-table pages a walk from the top table reached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TablePages {
    /// Physical address of each table page (each once).
    pub pages: Vec<u64>,
    /// Tables that could not be read (filtered from the dump, or not in it): what they point
    /// to is not in `pages`.
    pub unreadable: u64,
    /// The walk stopped at its limit.
    pub truncated: bool,
}

/// One paging scheme, for [`walk_tables`].
pub(crate) struct Tables<'a> {
    /// The top table and how many of its entries to follow from which (the kernel's half).
    pub top: u64,
    pub top_entries: std::ops::Range<u64>,
    /// Entries in a table below the top, and its bytes.
    pub entries: u64,
    /// Levels below the top that hold tables: a table at depth `levels` holds leaves only.
    pub levels: u32,
    /// The next table an entry at `depth` (0: the top) names, if it names one.
    pub child: &'a dyn Fn(u64, u32) -> Option<u64>,
}

/// Walk the tables of `t` from its top, each table page once.
pub(crate) fn walk_tables(mem: &dyn PhysMem, t: &Tables<'_>, limit: usize) -> TablePages {
    let mut out = TablePages::default();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(t.top, 0u32)];
    let mut buf = vec![0u8; (t.entries.max(t.top_entries.end) * 8) as usize];
    while let Some((table, depth)) = stack.pop() {
        let range = if depth == 0 {
            t.top_entries.clone()
        } else {
            0..t.entries
        };
        let bytes = &mut buf[..(range.end * 8) as usize];
        if mem.read_phys(table, bytes).is_err() {
            out.unreadable += 1;
            continue;
        }
        if depth >= t.levels {
            continue;
        }
        for i in range {
            let at = (i * 8) as usize;
            let e = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
            let Some(child) = (t.child)(e, depth) else {
                continue;
            };
            if !seen.insert(child) {
                continue;
            }
            if out.pages.len() >= limit {
                out.truncated = true;
                return out;
            }
            out.pages.push(child);
            stack.push((child, depth + 1));
        }
    }
    out
}

/// Entries of each thread's translation cache (direct-mapped by page number).
const TLB_ENTRIES: usize = 1 << 12;

/// Source of [`Translator`] ids: a thread's cache entries are tagged with the translator that
/// made them, so translators (and dumps) never share an entry.
static NEXT_TRANSLATOR: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// (translator id, virtual page, physical page) per slot, for 4 KiB mappings and for 2 MiB
    /// regions of large mappings (the direct map and vmemmap use them); id 0 is empty. A dump's
    /// page tables never change, so an entry stays true for its translator. Per thread: no
    /// locks for walkers that read one dump from several threads.
    static TLB: RefCell<[Vec<(u64, u64, u64)>; 2]> =
        RefCell::new([vec![(0, 0, 0); TLB_ENTRIES], vec![(0, 0, 0); TLB_ENTRIES]]);
}

/// An [`Arch`] with a bounded, per-thread cache of page translations.
pub(crate) struct Translator {
    arch: Box<dyn Arch>,
    id: u64,
}

impl Translator {
    /// Wrap a layout.
    pub(crate) fn new(arch: Box<dyn Arch>) -> Self {
        Translator {
            arch,
            id: NEXT_TRANSLATOR.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The layout in use.
    pub(crate) fn arch(&self) -> &dyn Arch {
        self.arch.as_ref()
    }

    /// Translate, caching by 4 KiB page (or 2 MiB region of a large mapping).
    pub(crate) fn translate(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<u64> {
        const BIG: u64 = (1 << 21) - 1;
        let (small, big) = (vaddr & !0xfff, vaddr & !BIG);
        let slot_s = ((small >> 12) as usize) & (TLB_ENTRIES - 1);
        let slot_b = ((big >> 21) as usize) & (TLB_ENTRIES - 1);
        let hit = TLB.with(|t| {
            let t = t.borrow();
            let (id, v, p) = t[1][slot_b];
            if id == self.id && v == big {
                return Some(p | (vaddr & BIG));
            }
            let (id, v, p) = t[0][slot_s];
            (id == self.id && v == small).then_some(p | (vaddr & 0xfff))
        });
        if let Some(p) = hit {
            return Ok(p);
        }
        let (paddr, shift) = self.arch.translate_sized(mem, small)?;
        TLB.with(|t| {
            let mut t = t.borrow_mut();
            if shift >= 21 {
                t[1][slot_b] = (self.id, big, paddr & !BIG);
            } else {
                t[0][slot_s] = (self.id, small, paddr);
            }
        });
        Ok(paddr | (vaddr & 0xfff))
    }
}
