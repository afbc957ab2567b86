//! Kernel page tables built inside a [`PhysImage`]: x86-64 (4 or 5 levels; 4 KiB, 2 MiB and
//! 1 GiB pages) and arm64 (a 4, 16 or 64 KiB granule, 48-bit addresses; pages and blocks).

use crate::phys::{PhysImage, PAGE_SIZE};

const PRESENT_RW: u64 = 0x3;
const PS: u64 = 1 << 7;
const NX: u64 = 1 << 63;
const ADDR: u64 = 0x000f_ffff_ffff_f000;
/// arm64: the access flag, set on every leaf as the kernel sets it.
const AF: u64 = 1 << 10;
/// arm64: UXN and PXN.
const XN: u64 = 3 << 53;

/// Which descriptors and index widths the tables use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// x86-64: 512 entries per table, `levels` of them.
    X86_64 { levels: u8 },
    /// arm64: tables of one granule (`1 << page_shift` bytes), the top one indexed by what is
    /// left of `va_bits`.
    Arm64 { page_shift: u32, va_bits: u32 },
}

/// A page-table tree under construction; table pages come from a bump allocator in RAM.
#[derive(Debug, Clone)]
pub struct PageTables {
    /// Physical address of the top-level table.
    pub top: u64,
    format: Format,
    first_table: u64,
    next_table: u64,
    table_end: u64,
}

impl PageTables {
    /// Start an x86-64 tree (4 or 5 levels) whose tables are allocated from `[pool, pool_end)`;
    /// the top table is `top` (it may lie elsewhere, e.g. in the kernel image as `init_top_pgt`).
    pub fn new(levels: u8, top: u64, pool: u64, pool_end: u64) -> Self {
        assert!(levels == 4 || levels == 5);
        PageTables {
            top,
            format: Format::X86_64 { levels },
            first_table: pool,
            next_table: pool,
            table_end: pool_end,
        }
    }

    /// Start an arm64 tree (`swapper_pg_dir` at `top`) for a granule of `1 << page_shift` bytes
    /// and `va_bits` of address, as `ARM64_HW_PGTABLE_LEVELS` lays it out.
    pub fn arm64(page_shift: u32, va_bits: u32, top: u64, pool: u64, pool_end: u64) -> Self {
        assert!(matches!(page_shift, 12 | 14 | 16) && (39..=48).contains(&va_bits));
        PageTables {
            top,
            format: Format::Arm64 {
                page_shift,
                va_bits,
            },
            first_table: pool.next_multiple_of(1 << page_shift),
            next_table: pool.next_multiple_of(1 << page_shift),
            table_end: pool_end,
        }
    }

    /// Every table made so far below the top one, in the order made.
    pub fn tables(&self) -> Vec<u64> {
        (self.first_table..self.next_table)
            .step_by(self.table_size() as usize)
            .collect()
    }

    /// Bytes of one (non-top) table.
    fn table_size(&self) -> u64 {
        match self.format {
            Format::X86_64 { .. } => PAGE_SIZE,
            Format::Arm64 { page_shift, .. } => 1 << page_shift,
        }
    }

    fn alloc(&mut self) -> u64 {
        let t = self.next_table;
        let size = self.table_size();
        assert!(t + size <= self.table_end, "page-table pool exhausted");
        self.next_table += size;
        t
    }

    /// Map `[vaddr, vaddr+len)` to `[paddr, …)` with pages (or blocks) of `page_size`: x86-64
    /// 4 KiB, 2 MiB or 1 GiB; arm64 the granule or a level's block (2 MiB with 4 KiB pages,
    /// 32 MiB with 16 KiB, 512 MiB with 64 KiB).
    pub fn map(&mut self, img: &mut PhysImage, vaddr: u64, paddr: u64, len: u64, page_size: u64) {
        assert!(page_size.is_power_of_two());
        assert_eq!(vaddr % page_size, 0);
        assert_eq!(paddr % page_size, 0);
        let mut off = 0;
        while off < len {
            self.map_one(img, vaddr + off, paddr + off, page_size);
            off += page_size;
        }
    }

    fn map_one(&mut self, img: &mut PhysImage, vaddr: u64, paddr: u64, page_size: u64) {
        let leaf_shift = page_size.trailing_zeros();
        let (mut shift, mut bits, stride, granule) = match self.format {
            Format::X86_64 { levels } => {
                assert!(matches!(page_size, 0x1000 | 0x20_0000 | 0x4000_0000));
                (if levels == 5 { 48 } else { 39 }, 9, 9, 12)
            }
            Format::Arm64 {
                page_shift,
                va_bits,
            } => {
                let stride = page_shift - 3;
                let levels = (va_bits - 4) / stride;
                let top_shift = page_shift + stride * (levels - 1);
                assert!(
                    leaf_shift >= page_shift
                        && (leaf_shift - page_shift).is_multiple_of(stride)
                        && leaf_shift <= page_shift + stride,
                    "no arm64 block of {page_size:#x} bytes with this granule"
                );
                (top_shift, va_bits - top_shift, stride, page_shift)
            }
        };
        let mut table = self.top;
        loop {
            let slot = table + ((vaddr >> shift) & ((1 << bits) - 1)) * 8;
            if shift == leaf_shift {
                let entry = match self.format {
                    Format::X86_64 { .. } if page_size == PAGE_SIZE => paddr | PRESENT_RW | NX,
                    Format::X86_64 { .. } => paddr | PRESENT_RW | PS | NX,
                    // a page at the last level, a block above it
                    Format::Arm64 { .. } if leaf_shift == granule => paddr | 0x3 | AF | XN,
                    Format::Arm64 { .. } => paddr | 0x1 | AF | XN,
                };
                img.write_u64(slot, entry);
                return;
            }
            let mut raw = [0u8; 8];
            img.read(slot, &mut raw);
            let entry = u64::from_le_bytes(raw);
            table = if entry & 1 != 0 {
                entry & ADDR & !(self.table_size() - 1)
            } else {
                let t = self.alloc();
                img.write(t, &vec![0u8; self.table_size() as usize]);
                // a table descriptor: valid, and "table" (bit 1) on arm64 as RW on x86-64
                img.write_u64(slot, t | PRESENT_RW);
                t
            };
            shift -= stride;
            bits = stride;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(img: &PhysImage, at: u64) -> u64 {
        let mut b = [0u8; 8];
        img.read(at, &mut b);
        u64::from_le_bytes(b)
    }

    #[test]
    fn arm64_64k_tables_have_three_levels_and_512_mib_blocks() {
        let mut img = PhysImage::new(vec![(0, 64 << 20)]);
        let mut pt = PageTables::arm64(16, 48, 0x1_0000, 0x10_0000, 0x40_0000);
        let va = 0xffff_ffff_8100_0000u64;
        pt.map(&mut img, va, 0x20_0000, 0x1_0000, 0x1_0000);
        // level 1: bits 47:42 of 64 entries; level 2: bits 41:29; level 3: bits 28:16
        let l1 = read(&img, 0x1_0000 + ((va >> 42) & 0x3f) * 8);
        assert_eq!(l1 & 3, 3, "a table descriptor");
        let l2 = read(&img, (l1 & ADDR) + ((va >> 29) & 0x1fff) * 8);
        let l3 = read(&img, (l2 & ADDR) + ((va >> 16) & 0x1fff) * 8);
        assert_eq!(l3 & 3, 3, "a page descriptor");
        assert_eq!(l3 & 0xffff_ffff_0000, 0x20_0000);
        pt.map(&mut img, 0xffff_0000_0000_0000, 0, 512 << 20, 512 << 20);
        let l1 = read(&img, 0x1_0000);
        let block = read(&img, l1 & ADDR);
        assert_eq!(
            (block & 3, block & 0xffff_ffff_0000),
            (1, 0),
            "a 512 MiB block"
        );
    }
}
