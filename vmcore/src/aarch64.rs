//! arm64 kernel address translation: the linear map by arithmetic, everything else (the kernel
//! image, vmalloc, vmemmap, modules) by a walk of `swapper_pg_dir` — 4, 16 or 64 KiB granules,
//! 39- to 52-bit virtual addresses, 52-bit output addresses (LPA with 64 KiB pages, LPA2 with
//! 4 and 16 KiB pages), block mappings at any level that allows them.
//!
//! The layout comes from VMCOREINFO. The address size in use is `64 - NUMBER(TCR_EL1_T1SZ)`,
//! not `NUMBER(VA_BITS)`: a kernel built for 52 bits runs with 48 on a CPU without LPA2 (and
//! then `NUMBER(PHYS_OFFSET)` is "negative", e.g. `0xfff1000040000000`, so that the linear map's
//! arithmetic with the 52-bit `PAGE_OFFSET` still lands on RAM). KASLR moves the image
//! (`NUMBER(kimage_voffset)`), not the linear map.
//!
//! ```
//! use vmcore::aarch64::Aarch64Layout;
//! use vmcore::VmcoreInfo;
//! let vi = VmcoreInfo::parse(b"PAGESIZE=4096\nNUMBER(VA_BITS)=48\nNUMBER(TCR_EL1_T1SZ)=0x10\n\
//!     NUMBER(kimage_voffset)=0xffff7fffc0000000\nNUMBER(PHYS_OFFSET)=0x40000000\n\
//!     SYMBOL(swapper_pg_dir)=ffff800009a3c000\nKERNELOFFSET=0\n");
//! let l = Aarch64Layout::from_vmcoreinfo(&vi).unwrap();
//! assert_eq!((l.va_bits, l.levels(), l.top_table), (48, 4, 0x4_9a3c000));
//! // the linear map: PAGE_OFFSET 0xffff000000000000 is PHYS_OFFSET
//! assert_eq!(l.linear(0xffff_0000_0123_4000), Some(0x4123_4000));
//! ```

use crate::arch::{Arch, ArchFacts};
use crate::{Error, PhysMem, Result, VmcoreInfo};

/// Where an arm64 kernel's page tables and image are, and how its addresses are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aarch64Layout {
    /// `PAGE_SHIFT`: 12, 14 or 16 (4, 16 or 64 KiB granule).
    pub page_shift: u32,
    /// Virtual address bits in use (`64 - TCR_EL1.T1SZ`).
    pub va_bits: u8,
    /// `NUMBER(VA_BITS)`: the bits the kernel was built for (52 where it may run with 48).
    pub config_va_bits: u8,
    /// Descriptors in the LPA2 format: output address bits 51:50 in descriptor bits 9:8 (4 and
    /// 16 KiB granules with 52-bit addresses).
    pub lpa2: bool,
    /// Physical address of `swapper_pg_dir`.
    pub top_table: u64,
    /// `kimage_voffset`: kernel-image virtual address less its physical address.
    pub kimage_voffset: u64,
    /// `PHYS_OFFSET` (`memstart_addr`): the physical address of `PAGE_OFFSET`.
    pub phys_offset: u64,
    /// KASLR displacement of the kernel image (`KERNELOFFSET`).
    pub kaslr_offset: u64,
    /// `VMEMMAP_START`: `NUMBER(VMEMMAP_START)`, or where a kernel that does not export it
    /// (before 6.2, unless its distribution backported the export) puts it.
    pub vmemmap_start: u64,
}

impl Aarch64Layout {
    /// From VMCOREINFO: `PAGESIZE`, `NUMBER(VA_BITS)`, `NUMBER(TCR_EL1_T1SZ)` (when the kernel
    /// exports it, 5.12+; else the address size is `VA_BITS`), `NUMBER(kimage_voffset)`,
    /// `NUMBER(PHYS_OFFSET)`, `SYMBOL(swapper_pg_dir)`, `KERNELOFFSET`.
    pub fn from_vmcoreinfo(info: &VmcoreInfo) -> Result<Self> {
        let missing = |what: &str| Error::Missing(format!("VMCOREINFO has no {what}"));
        let page_shift: u32 = match info.page_size.ok_or_else(|| missing("PAGESIZE"))? {
            4096 => 12,
            16384 => 14,
            65536 => 16,
            p => {
                return Err(Error::Malformed {
                    what: "VMCOREINFO",
                    reason: format!("PAGESIZE={p} is no arm64 granule (4, 16 or 64 KiB)"),
                })
            }
        };
        let config = info
            .number("VA_BITS")
            .ok_or_else(|| missing("NUMBER(VA_BITS)"))?;
        let va_bits = match info.number("TCR_EL1_T1SZ") {
            Some(t1sz) => 64u64.saturating_sub(t1sz),
            None => config,
        };
        for (what, bits) in [("NUMBER(VA_BITS)", config), ("64 - TCR_EL1_T1SZ", va_bits)] {
            if !(36..=52).contains(&bits) {
                return Err(Error::Malformed {
                    what: "VMCOREINFO",
                    reason: format!("{what} is {bits}: no arm64 kernel has that address size"),
                });
            }
        }
        let kimage_voffset = info
            .number("kimage_voffset")
            .ok_or_else(|| missing("NUMBER(kimage_voffset)"))?;
        let phys_offset = info
            .number("PHYS_OFFSET")
            .ok_or_else(|| missing("NUMBER(PHYS_OFFSET)"))?;
        let swapper = info
            .symbol("swapper_pg_dir")
            .ok_or_else(|| missing("SYMBOL(swapper_pg_dir)"))?;
        let kaslr_offset = info.kaslr_offset()?;
        // 5.4 to 6.8: -(1 << (VA_BITS - VMEMMAP_SHIFT)), VMEMMAP_SHIFT = PAGE_SHIFT -
        // STRUCT_PAGE_MAX_SHIFT (6: a 64-byte struct page). Later kernels export it.
        let vmemmap_start = info
            .number("VMEMMAP_START")
            .unwrap_or_else(|| (1u64 << (config - (u64::from(page_shift) - 6))).wrapping_neg());
        Ok(Aarch64Layout {
            vmemmap_start,
            page_shift,
            va_bits: va_bits as u8,
            config_va_bits: config as u8,
            // 52-bit addresses with 4 or 16 KiB pages exist only with LPA2 (FEAT_LPA2, TCR.DS)
            lpa2: page_shift < 16 && va_bits == 52,
            // swapper_pg_dir is in the kernel image: its physical address by arithmetic
            top_table: swapper.wrapping_sub(kimage_voffset),
            kimage_voffset,
            phys_offset,
            kaslr_offset,
        })
    }

    /// The `vmemmap` array base for `struct page`s of `struct_page_size` bytes: `VMEMMAP_START`
    /// less the pages below `PHYS_OFFSET` (`memstart_addr`, signed: "negative" for a 52-bit
    /// kernel running with 48 bits), as the kernel computes it, in wrapping arithmetic.
    pub fn vmemmap(&self, struct_page_size: u64) -> u64 {
        let first_pfn = (self.phys_offset as i64 >> self.page_shift) as u64;
        self.vmemmap_start
            .wrapping_sub(first_pfn.wrapping_mul(struct_page_size))
    }

    /// Translation levels for `bits` of address (`ARM64_HW_PGTABLE_LEVELS`).
    fn levels_for(&self, bits: u8) -> u32 {
        (u32::from(bits) - 4) / (self.page_shift - 3)
    }

    /// Translation levels in use.
    pub fn levels(&self) -> u32 {
        self.levels_for(self.va_bits)
    }

    /// The lowest kernel (TTBR1) address: `-(1 << va_bits)`.
    pub fn kernel_start(&self) -> u64 {
        (1u64 << self.va_bits).wrapping_neg()
    }

    /// The physical address of a linear-map address (`__lm_to_phys`), `None` outside the linear
    /// map's first half-space (`[-(1 << va_bits), -(1 << (va_bits - 1)))`, always linear).
    pub fn linear(&self, vaddr: u64) -> Option<u64> {
        let start = self.kernel_start();
        let end = (1u64 << (self.va_bits - 1)).wrapping_neg();
        if !(start..end).contains(&vaddr) {
            return None;
        }
        // (x & ~PAGE_OFFSET) + PHYS_OFFSET, with PAGE_OFFSET = -(1 << VA_BITS) as built
        let low = vaddr & ((1u64 << self.config_va_bits) - 1);
        Some(low.wrapping_add(self.phys_offset))
    }

    /// The linear-map address of physical address `paddr` (`__phys_to_virt`), the inverse of
    /// [`Aarch64Layout::linear`]; `None` where no linear address maps it.
    ///
    /// ```
    /// # use vmcore::{aarch64::Aarch64Layout, VmcoreInfo};
    /// # let vi = VmcoreInfo::parse(b"PAGESIZE=4096\nNUMBER(VA_BITS)=48\nNUMBER(TCR_EL1_T1SZ)=0x10\n\
    /// #     NUMBER(kimage_voffset)=0xffff7fffc0000000\nNUMBER(PHYS_OFFSET)=0x40000000\n\
    /// #     SYMBOL(swapper_pg_dir)=ffff800009a3c000\nKERNELOFFSET=0\n");
    /// # let l = Aarch64Layout::from_vmcoreinfo(&vi).unwrap();
    /// assert_eq!(l.linear_va(0x4123_4000), Some(0xffff_0000_0123_4000));
    /// ```
    pub fn linear_va(&self, paddr: u64) -> Option<u64> {
        let mask = (1u64 << self.config_va_bits) - 1;
        let va = (paddr.wrapping_sub(self.phys_offset) & mask) | !mask;
        (self.linear(va) == Some(paddr)).then_some(va)
    }

    /// The output address of a table, block or page descriptor.
    fn output(&self, entry: u64) -> u64 {
        let low_mask = |top: u32| ((1u64 << top) - 1) & !((1u64 << self.page_shift) - 1);
        if self.page_shift == 16 {
            // 64 KiB: bits 47:16, and with LPA bits 51:48 in descriptor bits 15:12
            (entry & low_mask(48)) | (((entry >> 12) & 0xf) << 48)
        } else if self.lpa2 {
            (entry & low_mask(50)) | (((entry >> 8) & 0x3) << 50)
        } else {
            entry & low_mask(48)
        }
    }

    /// Walk `swapper_pg_dir` for `vaddr`: the physical address and the mapping's address shift.
    pub fn walk_sized(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<(u64, u32)> {
        if vaddr < self.kernel_start() {
            return Err(Error::Translation {
                vaddr,
                reason: format!(
                    "not a kernel address (below {:#x}, the start of the {}-bit kernel space)",
                    self.kernel_start(),
                    self.va_bits
                ),
            });
        }
        let stride = self.page_shift - 3;
        let levels = self.levels();
        let mut shift = self.page_shift + stride * (levels - 1);
        // A kernel built for 52 bits with the same number of levels at 48 keeps its 52-bit top
        // table (TTBR1 then points into it): index it with the built width.
        let top_bits = if self.levels_for(self.config_va_bits) == levels {
            self.config_va_bits
        } else {
            self.va_bits
        };
        let mut bits = u32::from(top_bits) - shift;
        let mut table = self.top_table;
        let first_level = 4 - levels as i32;
        for level in first_level..=3 {
            let index = (vaddr >> shift) & ((1u64 << bits) - 1);
            let at = table.wrapping_add(index * 8);
            let mut raw = [0u8; 8];
            mem.read_phys(at, &mut raw)
                .map_err(|e| Error::Translation {
                    vaddr,
                    reason: format!("level-{level} descriptor at {at:#x}: {e}"),
                })?;
            let entry = u64::from_le_bytes(raw);
            if entry & 1 == 0 {
                return Err(Error::Translation {
                    vaddr,
                    reason: format!(
                        "level-{level} descriptor at {at:#x} is not valid ({entry:#x})"
                    ),
                });
            }
            let is_table = entry & 2 != 0;
            if level == 3 || !is_table {
                if level == 3 && !is_table {
                    return Err(Error::Translation {
                        vaddr,
                        reason: format!("level-3 descriptor at {at:#x} is reserved ({entry:#x})"),
                    });
                }
                let mask = (1u64 << shift) - 1;
                return Ok(((self.output(entry) & !mask) | (vaddr & mask), shift));
            }
            table = self.output(entry);
            shift -= stride;
            bits = stride;
        }
        unreachable!("level 3 always returns")
    }

    /// Translate: the linear map by arithmetic, anything else by the page tables.
    pub fn translate_sized(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<(u64, u32)> {
        match self.linear(vaddr) {
            // 2 MiB-aligned runs of the linear map are physically contiguous where
            // PHYS_OFFSET is 2 MiB aligned (memstart_addr is, at least)
            Some(p) if self.phys_offset & 0x1f_ffff == 0 => Ok((p, 21)),
            Some(p) => Ok((p, self.page_shift)),
            None => self.walk_sized(mem, vaddr),
        }
    }
}

impl Arch for Aarch64Layout {
    fn translate_sized(&self, mem: &dyn PhysMem, vaddr: u64) -> Result<(u64, u32)> {
        Aarch64Layout::translate_sized(self, mem, vaddr)
    }

    fn facts(&self) -> ArchFacts {
        ArchFacts {
            machine: "aarch64",
            kaslr_offset: self.kaslr_offset,
            phys_base: None,
            levels: Some(self.levels() as u8),
            page_size: 1 << self.page_shift,
            va_bits: Some(self.va_bits),
            kernel_start: self.kernel_start(),
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    /// `swapper_pg_dir` from the first entry of the kernel's space (TTBR1 holds nothing
    /// else); a descriptor names a table when bits 1:0 are 0b11 above level 3.
    fn table_pages(&self, mem: &dyn PhysMem, limit: usize) -> Option<crate::arch::TablePages> {
        let stride = self.page_shift - 3;
        let levels = self.levels();
        let shift = self.page_shift + stride * (levels - 1);
        let top_bits = if self.levels_for(self.config_va_bits) == levels {
            self.config_va_bits
        } else {
            self.va_bits
        };
        let bits = u32::from(top_bits) - shift;
        let first = (self.kernel_start() >> shift) & ((1u64 << bits) - 1);
        // level -1 at the top with 5 levels (LPA2), 0 with 4
        let first_level = 4 - levels as i32;
        let child = move |e: u64, depth: u32| {
            (e & 3 == 3 && first_level + (depth as i32) < 3).then(|| self.output(e))
        };
        Some(crate::arch::walk_tables(
            mem,
            &crate::arch::Tables {
                top: self.top_table,
                top_entries: first..(1u64 << bits),
                entries: 1u64 << stride,
                levels: levels - 1,
                child: &child,
            },
            limit,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PageState;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Sparse physical memory: 8-byte words.
    #[derive(Default)]
    struct Mem(Mutex<BTreeMap<u64, u64>>);

    impl PhysMem for Mem {
        fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
            let m = self.0.lock().unwrap();
            let w = m.get(&paddr).copied().unwrap_or(0);
            buf.copy_from_slice(&w.to_le_bytes()[..buf.len()]);
            Ok(())
        }
        fn page_state(&self, _: u64) -> PageState {
            PageState::Present
        }
    }

    /// Page tables built the way the kernel builds them, for `l`'s geometry.
    struct Tables<'a> {
        l: &'a Aarch64Layout,
        mem: Mem,
        next_table: u64,
    }

    impl<'a> Tables<'a> {
        fn new(l: &'a Aarch64Layout) -> Self {
            Tables {
                l,
                mem: Mem::default(),
                next_table: l.top_table + (1 << 20),
            }
        }

        /// The descriptor bits for output address `pa`.
        fn oa(&self, pa: u64) -> u64 {
            let l = self.l;
            let low = pa & ((1u64 << 48) - 1) & !((1u64 << l.page_shift) - 1);
            if l.page_shift == 16 {
                low | ((pa >> 48) & 0xf) << 12
            } else if l.lpa2 {
                (pa & ((1u64 << 50) - 1) & !((1u64 << l.page_shift) - 1)) | ((pa >> 50) & 3) << 8
            } else {
                low
            }
        }

        /// Map `va` to `pa` with a leaf at the level whose entries span `1 << leaf_shift`.
        fn map(&mut self, va: u64, pa: u64, leaf_shift: u32) {
            let l = self.l;
            let stride = l.page_shift - 3;
            let levels = l.levels();
            let mut shift = l.page_shift + stride * (levels - 1);
            let top_bits = if l.levels_for(l.config_va_bits) == levels {
                l.config_va_bits
            } else {
                l.va_bits
            };
            let mut bits = u32::from(top_bits) - shift;
            let mut table = l.top_table;
            loop {
                let at = table + ((va >> shift) & ((1 << bits) - 1)) * 8;
                if shift == leaf_shift {
                    let kind = if shift == l.page_shift { 3 } else { 1 };
                    // AF, and inner shareable where bits 9:8 are SH (with LPA2 they are OA)
                    let attrs = if l.lpa2 { 0x400 } else { 0x700 };
                    self.mem
                        .0
                        .lock()
                        .unwrap()
                        .insert(at, self.oa(pa) | kind | attrs);
                    return;
                }
                let existing = self.mem.0.lock().unwrap().get(&at).copied();
                table = match existing {
                    Some(e) => l.output(e),
                    None => {
                        let t = self.next_table;
                        self.next_table += 1 << l.page_shift;
                        self.mem.0.lock().unwrap().insert(at, self.oa(t) | 3);
                        t
                    }
                };
                shift -= stride;
                bits = stride;
            }
        }
    }

    fn layout(page_shift: u32, va_bits: u8, config_va_bits: u8) -> Aarch64Layout {
        Aarch64Layout {
            page_shift,
            va_bits,
            config_va_bits,
            lpa2: page_shift < 16 && va_bits == 52,
            top_table: 0x4100_0000,
            kimage_voffset: 0,
            phys_offset: 0x4000_0000,
            kaslr_offset: 0,
            vmemmap_start: 0xffff_fc00_0000_0000,
        }
    }

    fn check(l: &Aarch64Layout, maps: &[(u64, u64, u32)]) {
        let mut t = Tables::new(l);
        for &(va, pa, leaf) in maps {
            t.map(va, pa, leaf);
        }
        for &(va, pa, leaf) in maps {
            for off in [0, 8, (1u64 << leaf) - 8] {
                assert_eq!(
                    l.walk_sized(&t.mem, va + off).unwrap(),
                    (pa + off, leaf),
                    "{l:?} va {va:#x}+{off:#x}"
                );
            }
        }
        // an address nothing maps
        let hole = maps[0].0 + (1u64 << (maps[0].2 + 1)) * 7;
        let e = l.walk_sized(&t.mem, hole).unwrap_err().to_string();
        assert!(e.contains("is not valid"), "{e}");
        // below the kernel half
        assert!(l.walk_sized(&t.mem, 0x0000_7fff_0000_0000).is_err());
    }

    #[test]
    fn four_kib_pages_48_and_39_bits() {
        let l = layout(12, 48, 48);
        assert_eq!(l.levels(), 4);
        check(
            &l,
            &[
                (0xffff_8000_8000_1000, 0x4_5678_9000, 12), // vmalloc page
                (0xffff_fc00_0020_0000, 0x4800_0000, 21),   // vmemmap 2 MiB block
                (0xffff_0000_4000_0000, 0xc000_0000, 30),   // a 1 GiB block
            ],
        );
        let l = layout(12, 39, 39);
        assert_eq!(l.levels(), 3);
        check(&l, &[(0xffff_ffc0_1234_5000, 0x9_8765_4000, 12)]);
    }

    #[test]
    fn lpa2_52_bits_five_levels_and_high_output_addresses() {
        let l = layout(12, 52, 52);
        assert!(l.lpa2);
        assert_eq!(l.levels(), 5);
        check(
            &l,
            &[
                (0xfff0_8000_8000_1000, 0x000c_0000_1234_5000, 12), // PA bit 51:50 set
                (0xfffd_0000_0020_0000, 0x0004_0000_0040_0000, 21),
            ],
        );
        // the same kernel on a CPU without LPA2: 48 bits, four levels from swapper_pg_dir
        let l = layout(12, 48, 52);
        assert!(!l.lpa2);
        assert_eq!(l.levels(), 4);
        check(&l, &[(0xffff_8000_8000_1000, 0x4_5678_9000, 12)]);
    }

    #[test]
    fn sixty_four_kib_pages_with_lpa_and_a_52_bit_top_table() {
        let l = layout(16, 48, 48);
        assert_eq!(l.levels(), 3);
        check(
            &l,
            &[
                (0xffff_8000_8001_0000, 0x000f_0000_0001_0000, 16), // LPA: PA bits 51:48
                (0xffff_fc00_2000_0000, 0x6000_0000, 29),           // a 512 MiB block
            ],
        );
        // built for 52 bits, running with 48: still three levels, the 52-bit top table
        let l = layout(16, 48, 52);
        check(&l, &[(0xffff_8000_8001_0000, 0x4001_0000, 16)]);
        let l = layout(16, 52, 52);
        check(&l, &[(0xfff8_0000_8001_0000, 0x4001_0000, 16)]);
    }

    #[test]
    fn sixteen_kib_pages_47_bits() {
        let l = layout(14, 47, 47);
        assert_eq!(l.levels(), 3);
        check(&l, &[(0xffff_c000_8000_4000, 0x4_0000_8000, 14)]);
    }

    #[test]
    fn the_linear_map_by_arithmetic() {
        let l = layout(12, 48, 48);
        assert_eq!(l.linear(0xffff_0000_0000_0000), Some(0x4000_0000));
        assert_eq!(
            l.linear(0xffff_7fff_ffff_f000),
            Some(0x4000_0000 + 0x7fff_ffff_f000)
        );
        assert_eq!(
            l.linear(0xffff_8000_0000_0000),
            None,
            "vmalloc is not linear"
        );
        assert_eq!(
            l.linear(0xfffe_ffff_ffff_f000),
            None,
            "below the kernel space"
        );
        // a 52-bit kernel on a 48-bit CPU: PHYS_OFFSET is "negative" (measured on trixie's 6.12)
        let mut l = layout(12, 48, 52);
        l.phys_offset = 0xfff1_0000_4000_0000;
        assert_eq!(l.linear(0xffff_0000_0123_4000), Some(0x4123_4000));
        assert_eq!(l.linear_va(0x4123_4000), Some(0xffff_0000_0123_4000));
        assert_eq!(
            l.linear_va(0x3fff_f000),
            None,
            "below PHYS_OFFSET's first address"
        );
        let mem = Mem::default();
        assert_eq!(
            l.translate_sized(&mem, 0xffff_0000_0123_4000).unwrap(),
            (0x4123_4000, 21)
        );
    }

    #[test]
    fn layouts_from_vmcoreinfo() {
        let vi = |t: &str| VmcoreInfo::parse(t.as_bytes());
        let base = "PAGESIZE=4096\nNUMBER(VA_BITS)=52\nNUMBER(kimage_voffset)=0xffff7fffc0000000\n\
                    NUMBER(PHYS_OFFSET)=0xfff1000040000000\nSYMBOL(swapper_pg_dir)=ffff800009a3c000\n\
                    KERNELOFFSET=1234000\n";
        let l = Aarch64Layout::from_vmcoreinfo(&vi(&format!("{base}NUMBER(TCR_EL1_T1SZ)=0x10\n")))
            .unwrap();
        assert_eq!((l.va_bits, l.config_va_bits, l.lpa2), (48, 52, false));
        assert_eq!((l.kaslr_offset, l.top_table), (0x123_4000, 0x49a3_c000));
        let l = Aarch64Layout::from_vmcoreinfo(&vi(&format!("{base}NUMBER(TCR_EL1_T1SZ)=0xc\n")))
            .unwrap();
        assert_eq!((l.va_bits, l.lpa2, l.levels()), (52, true, 5));
        // vmemmap as drgn computed it on trixie's 6.12 with 48 bits
        // not exported: 5.4-6.8's formula, -(1 << (52 - 6))
        assert_eq!(l.vmemmap_start, 0xffff_c000_0000_0000);
        let l = Aarch64Layout::from_vmcoreinfo(&vi(&format!(
            "{base}NUMBER(TCR_EL1_T1SZ)=0x10\nNUMBER(VMEMMAP_START)=0xffffc1ffc0000000\n"
        )))
        .unwrap();
        assert_eq!(l.vmemmap(64), 0xffff_fdff_bf00_0000);
        for bad in [
            base.replace("PAGESIZE=4096", "PAGESIZE=8192"),
            base.replace("NUMBER(VA_BITS)=52", "NUMBER(VA_BITS)=64"),
            base.replace("NUMBER(PHYS_OFFSET)", "NUMBER(XPHYS_OFFSET)"),
            base.replace("SYMBOL(swapper_pg_dir)", "SYMBOL(x)"),
        ] {
            assert!(Aarch64Layout::from_vmcoreinfo(&vi(&bad)).is_err(), "{bad}");
        }
    }

    /// The walk of `swapper_pg_dir` finds exactly the tables a mapping needed, one per level
    /// below the top, for 4 and 64 KiB granules.
    #[test]
    fn the_kernel_tables_are_found() {
        use crate::testing::Img;
        use testdata::pagetables::PageTables;
        use testdata::phys::PhysImage;
        for (shift, levels_want) in [(12u32, 4usize), (16, 3)] {
            let mut img = PhysImage::new(vec![(0, 64 << 20)]);
            let mut pt = PageTables::arm64(shift, 48, 0x10_0000, 0x20_0000, 0x100_0000);
            let granule = 1u64 << shift;
            pt.map(
                &mut img,
                0xffff_8000_1000_0000,
                0x120_0000,
                3 * granule,
                granule,
            );
            let l = Aarch64Layout {
                page_shift: shift,
                va_bits: 48,
                config_va_bits: 48,
                lpa2: false,
                top_table: pt.top,
                kimage_voffset: 0,
                phys_offset: 0,
                kaslr_offset: 0,
                vmemmap_start: 0,
            };
            let mem = Img(img);
            let t = crate::arch::Arch::table_pages(&l, &mem, 1000).unwrap();
            let mut got = t.pages.clone();
            got.sort_unstable();
            assert_eq!(got, pt.tables(), "{shift}");
            assert_eq!(got.len(), levels_want - 1, "{shift}");
        }
    }
}
