//! x86-64 page tables built inside a [`PhysImage`]: 4 or 5 levels, 4 KiB, 2 MiB and 1 GiB pages.

use crate::phys::{PhysImage, PAGE_SIZE};

const PRESENT_RW: u64 = 0x3;
const PS: u64 = 1 << 7;
const NX: u64 = 1 << 63;
const ADDR: u64 = 0x000f_ffff_ffff_f000;

/// A page-table tree under construction; table pages come from a bump allocator in RAM.
#[derive(Debug, Clone)]
pub struct PageTables {
    /// Physical address of the top-level table.
    pub top: u64,
    /// 4 or 5.
    pub levels: u8,
    next_table: u64,
    table_end: u64,
}

impl PageTables {
    /// Start a tree whose tables are allocated from `[pool, pool_end)`; the top table is `top`
    /// (it may lie elsewhere, e.g. in the kernel image as `init_top_pgt`).
    pub fn new(levels: u8, top: u64, pool: u64, pool_end: u64) -> Self {
        assert!(levels == 4 || levels == 5);
        PageTables {
            top,
            levels,
            next_table: pool,
            table_end: pool_end,
        }
    }

    fn alloc(&mut self) -> u64 {
        let t = self.next_table;
        assert!(t + PAGE_SIZE <= self.table_end, "page-table pool exhausted");
        self.next_table += PAGE_SIZE;
        t
    }

    /// Map `[vaddr, vaddr+len)` to `[paddr, …)` with pages of `page_size` (4 KiB, 2 MiB or 1 GiB).
    pub fn map(&mut self, img: &mut PhysImage, vaddr: u64, paddr: u64, len: u64, page_size: u64) {
        assert!(matches!(page_size, 0x1000 | 0x20_0000 | 0x4000_0000));
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
        let mut table = self.top;
        let mut shift = if self.levels == 5 { 48 } else { 39 };
        loop {
            let slot = table + ((vaddr >> shift) & 0x1ff) * 8;
            if shift == leaf_shift {
                let flags = if page_size == PAGE_SIZE {
                    PRESENT_RW
                } else {
                    PRESENT_RW | PS
                };
                img.write_u64(slot, paddr | flags | NX);
                return;
            }
            let mut raw = [0u8; 8];
            img.read(slot, &mut raw);
            let entry = u64::from_le_bytes(raw);
            table = if entry & 1 != 0 {
                entry & ADDR
            } else {
                let t = self.alloc();
                img.write(t, &[0u8; PAGE_SIZE as usize]);
                img.write_u64(slot, t | PRESENT_RW);
                t
            };
            shift -= 9;
        }
    }
}
