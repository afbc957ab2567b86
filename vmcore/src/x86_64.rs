//! x86-64 kernel address translation: the kernel-text shortcut and a page-table walk (4 or 5 levels,
//! 2 MiB and 1 GiB pages) for the direct map, vmalloc and vmemmap.

use crate::arch::{Arch, ArchFacts};
use crate::{Error, PhysMem, Result, VmcoreInfo};

/// `__START_KERNEL_map`: where the kernel image is mapped (before KASLR).
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// `KERNEL_IMAGE_SIZE` with KASLR: the kernel-text mapping spans 1 GiB.
pub const KERNEL_IMAGE_SIZE: u64 = 1 << 30;
/// Link-time address of `_text` on x86-64 (`__START_KERNEL`).
pub const LINK_TEXT: u64 = 0xffff_ffff_8100_0000;

const ENTRY_ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
const PRESENT: u64 = 1;
const PAGE_SIZE_BIT: u64 = 1 << 7;
/// Where the kernel's page tables and image are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelLayout {
    /// Physical address of the top-level page table (`init_top_pgt`).
    pub top_table: u64,
    /// 4 or 5 paging levels.
    pub levels: u8,
    /// `phys_base`: physical address the kernel image was loaded at, less its link address.
    pub phys_base: u64,
    /// KASLR displacement of the kernel image (`KERNELOFFSET`).
    pub kaslr_offset: u64,
}

impl KernelLayout {
    /// From VMCOREINFO: `SYMBOL(init_top_pgt)` (or `swapper_pg_dir`), `NUMBER(phys_base)`,
    /// `KERNELOFFSET`, `NUMBER(pgtable_l5_enabled)`.
    pub fn from_vmcoreinfo(info: &VmcoreInfo) -> Result<Self> {
        let missing = |what: &str| Error::Missing(format!("VMCOREINFO has no {what}"));
        let phys_base = info.phys_base.ok_or_else(|| missing("NUMBER(phys_base)"))?;
        let top = info
            .symbol("init_top_pgt")
            .or_else(|| info.symbol("swapper_pg_dir"))
            .ok_or_else(|| missing("SYMBOL(init_top_pgt)"))?;
        if !(START_KERNEL_MAP..START_KERNEL_MAP + KERNEL_IMAGE_SIZE).contains(&top) {
            return Err(Error::Missing(format!(
                "SYMBOL(init_top_pgt)={top:#x} is outside the kernel image"
            )));
        }
        Ok(KernelLayout {
            // The top table is in the kernel image: translate it arithmetically, never through itself.
            top_table: top.wrapping_sub(START_KERNEL_MAP).wrapping_add(phys_base),
            levels: if info.pgtable_l5.unwrap_or(false) {
                5
            } else {
                4
            },
            phys_base,
            kaslr_offset: info.kaslr_offset()?,
        })
    }

    /// Without VMCOREINFO: from a CPU's CR3 (QEMU's notes), find the kernel image mapping.
    ///
    /// `cleanup_highmap()` clears every kernel-text PMD below `_text`, so the first present 2 MiB
    /// mapping of the 1 GiB image region is `_text`: that gives the KASLR offset
    /// (`text_link` is `_text` from the vmlinux symbol table, usually [`LINK_TEXT`]) and
    /// `phys_base`. If `init_top_pgt_link` (the symbol's link address) is given, the result uses the
    /// kernel's own top table rather than the CR3 of whatever task was running.
    /// The caller should then check the result, e.g. by comparing `linux_banner` with the vmlinux.
    pub fn from_cr3(
        mem: &dyn PhysMem,
        cr3: u64,
        cr4: Option<u64>,
        text_link: u64,
        init_top_pgt_link: Option<u64>,
    ) -> Result<Self> {
        // With PTI, bit 12 selects the user copy of an 8 KiB PGD pair (the kernel's half is the
        // page below); without PTI it is an ordinary address bit of a PGD that may sit on an odd
        // page (measured: a 7.2 guest's CR3 0x316b000 with nothing in the page below). The
        // kernel half is tried first, then CR3 as it is; a candidate counts only when the
        // kernel's own top table (init_top_pgt, where the candidate puts it) maps the image the
        // same way.
        let levels = if cr4.is_some_and(|c| c & (1 << 12) != 0) {
            5
        } else {
            4
        };
        let table = cr3 & ENTRY_ADDR_MASK;
        let mut candidates = vec![table & !(1 << 12)];
        if table & (1 << 12) != 0 {
            candidates.push(table);
        }
        for top_table in candidates {
            if let Some(layout) =
                Self::image_mapping(mem, top_table, levels, text_link, init_top_pgt_link)
            {
                return Ok(layout);
            }
        }
        Err(Error::Missing(format!(
            "no kernel image mapping found from CR3 {cr3:#x}"
        )))
    }

    /// The layout the first present 2 MiB of the kernel image region gives through `top_table`,
    /// if init_top_pgt (when its link address is known) maps that page alike.
    fn image_mapping(
        mem: &dyn PhysMem,
        top_table: u64,
        levels: u8,
        text_link: u64,
        init_top_pgt_link: Option<u64>,
    ) -> Option<Self> {
        let probe = KernelLayout {
            top_table,
            levels,
            phys_base: 0,
            kaslr_offset: 0,
        };
        let mut vaddr = START_KERNEL_MAP;
        while vaddr < START_KERNEL_MAP + KERNEL_IMAGE_SIZE {
            if let Ok(paddr) = probe.walk(mem, vaddr) {
                let kaslr_offset = vaddr.wrapping_sub(text_link & !0x1f_ffff);
                let phys_base = paddr.wrapping_sub(vaddr - START_KERNEL_MAP);
                let mut layout = KernelLayout {
                    top_table,
                    levels,
                    phys_base,
                    kaslr_offset,
                };
                if let Some(link) = init_top_pgt_link {
                    layout.top_table = link
                        .wrapping_add(kaslr_offset)
                        .wrapping_sub(START_KERNEL_MAP)
                        .wrapping_add(phys_base);
                    if layout.walk(mem, vaddr).ok() != Some(paddr) {
                        return None;
                    }
                }
                return Some(layout);
            }
            vaddr += 1 << 21;
        }
        None
    }

    /// Translate a kernel virtual address to physical.
    pub fn translate(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<u64> {
        if (START_KERNEL_MAP..START_KERNEL_MAP + KERNEL_IMAGE_SIZE).contains(&vaddr) {
            return Ok((vaddr - START_KERNEL_MAP).wrapping_add(self.phys_base));
        }
        self.walk(mem, vaddr)
    }

    /// Walk the page tables for `vaddr`.
    pub fn walk(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<u64> {
        self.walk_sized(mem, vaddr).map(|(p, _)| p)
    }

    /// Translate, with the size of the mapping found (as its address shift: 12, 21 or 30; 30 for
    /// the kernel-image mapping, which is linear).
    pub fn translate_sized(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<(u64, u32)> {
        if (START_KERNEL_MAP..START_KERNEL_MAP + KERNEL_IMAGE_SIZE).contains(&vaddr) {
            return Ok(((vaddr - START_KERNEL_MAP).wrapping_add(self.phys_base), 12));
        }
        self.walk_sized(mem, vaddr)
    }

    /// [`KernelLayout::walk`], with the mapping's address shift.
    pub fn walk_sized(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<(u64, u32)> {
        let top_shift = if self.levels == 5 { 48 } else { 39 };
        let sign_bits = 64 - (top_shift + 9);
        if ((vaddr as i64) << sign_bits >> sign_bits) as u64 != vaddr {
            return Err(Error::Translation {
                vaddr,
                reason: "non-canonical address".into(),
            });
        }
        let mut table = self.top_table;
        let mut shift = top_shift;
        loop {
            let index = (vaddr >> shift) & 0x1ff;
            let entry_addr = table + index * 8;
            let mut raw = [0u8; 8];
            mem.read_phys(entry_addr, &mut raw)
                .map_err(|e| Error::Translation {
                    vaddr,
                    reason: format!(
                        "page-table entry at {entry_addr:#x} (level {}): {e}",
                        shift_level(shift)
                    ),
                })?;
            let entry = u64::from_le_bytes(raw);
            if entry & PRESENT == 0 {
                return Err(Error::Translation {
                    vaddr,
                    reason: format!(
                        "level-{} entry at {entry_addr:#x} is not present ({entry:#x})",
                        shift_level(shift)
                    ),
                });
            }
            if shift == 12 || ((shift == 21 || shift == 30) && entry & PAGE_SIZE_BIT != 0) {
                let page_mask = (1u64 << shift) - 1;
                return Ok((
                    (entry & ENTRY_ADDR_MASK & !page_mask) | (vaddr & page_mask),
                    shift,
                ));
            }
            table = entry & ENTRY_ADDR_MASK;
            shift -= 9;
        }
    }
}

fn shift_level(shift: u32) -> u32 {
    (shift - 12) / 9 + 1
}

impl Arch for KernelLayout {
    fn translate_sized(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<(u64, u32)> {
        KernelLayout::translate_sized(self, mem, vaddr)
    }

    fn facts(&self) -> ArchFacts {
        ArchFacts {
            machine: "x86_64",
            kaslr_offset: self.kaslr_offset,
            phys_base: Some(self.phys_base),
            levels: Some(self.levels),
            page_size: 4096,
            va_bits: Some(if self.levels == 5 { 57 } else { 48 }),
            // the canonical upper half
            kernel_start: if self.levels == 5 {
                0xff00_0000_0000_0000
            } else {
                0xffff_8000_0000_0000
            },
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    /// The kernel's half: the top table's entries 256-511 (4 and 5 levels alike); an entry
    /// names a table when present and, at the PUD and PMD levels, not a 1 GiB or 2 MiB page.
    fn table_pages(&self, mem: &dyn PhysMem, limit: usize) -> Option<crate::arch::TablePages> {
        let levels = u32::from(self.levels);
        let child = move |e: u64, depth: u32| {
            let level = levels - depth; // 4 (or 5) at the top, 1 for PTE tables
            let leaf = level == 1 || ((level == 2 || level == 3) && e & PAGE_SIZE_BIT != 0);
            (e & PRESENT != 0 && !leaf).then_some(e & ENTRY_ADDR_MASK)
        };
        Some(crate::arch::walk_tables(
            mem,
            &crate::arch::Tables {
                top: self.top_table,
                top_entries: 256..512,
                entries: 512,
                levels: levels - 1,
                child: &child,
            },
            limit,
        ))
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;
    use crate::testing::Img;
    use testdata::pagetables::PageTables;
    use testdata::phys::PhysImage;

    /// The walk finds exactly the tables the kernel's half needed (a 4 KiB mapping's PTE table,
    /// a 2 MiB mapping's PMD table, every table above them), none of the user half's, each
    /// once; a limit cuts it short and says so.
    #[test]
    fn the_kernel_half_tables_are_found() {
        let mut img = PhysImage::new(vec![(0, 64 << 20)]);
        let mut pt = PageTables::new(4, 0x10_0000, 0x20_0000, 0x40_0000);
        pt.map(&mut img, 0x40_0000, 0x80_0000, 0x3000, 4096); // user half
        let user = pt.tables().len();
        pt.map(&mut img, 0xffff_c900_0000_0000, 0x90_0000, 0x3000, 4096);
        pt.map(&mut img, 0xffff_ea00_0000_0000, 0xc0_0000, 4 << 20, 2 << 20);
        let layout = KernelLayout {
            top_table: pt.top,
            levels: 4,
            phys_base: 0,
            kaslr_offset: 0,
        };
        let mem = Img(img);
        let t = layout.table_pages(&mem, 1000).unwrap();
        let mut got = t.pages.clone();
        got.sort_unstable();
        assert_eq!(got, pt.tables()[user..].to_vec());
        assert_eq!((t.unreadable, t.truncated), (0, false));
        assert!(layout.table_pages(&mem, 2).unwrap().truncated);
    }
}
