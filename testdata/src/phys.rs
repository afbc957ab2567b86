//! A sparse in-memory physical address space, the input of every dump writer.

use std::collections::BTreeMap;

/// Page size of every synthetic image (x86-64).
pub const PAGE_SIZE: u64 = 4096;

/// Sparse physical memory: RAM ranges, and the pages that hold non-zero data.
///
/// Pages inside `ram` that were never written read as zeroes.
#[derive(Debug, Clone, Default)]
pub struct PhysImage {
    /// RAM ranges `[start, end)`, page-aligned, sorted, non-overlapping.
    pub ram: Vec<(u64, u64)>,
    pages: BTreeMap<u64, Box<[u8]>>,
}

impl PhysImage {
    /// An image with the given RAM ranges (page-aligned).
    pub fn new(ram: Vec<(u64, u64)>) -> Self {
        PhysImage {
            ram,
            pages: BTreeMap::new(),
        }
    }

    /// Whether `paddr` lies in RAM.
    pub fn in_ram(&self, paddr: u64) -> bool {
        self.ram.iter().any(|&(s, e)| paddr >= s && paddr < e)
    }

    /// Write `bytes` at `paddr` (may span pages). Panics outside RAM: fixtures are code, so a bad fixture is a bug.
    pub fn write(&mut self, paddr: u64, bytes: &[u8]) {
        let mut done = 0usize;
        while done < bytes.len() {
            let addr = paddr + done as u64;
            assert!(self.in_ram(addr), "fixture writes outside RAM at {addr:#x}");
            let pfn = addr / PAGE_SIZE;
            let off = (addr % PAGE_SIZE) as usize;
            let n = (PAGE_SIZE as usize - off).min(bytes.len() - done);
            let page = self
                .pages
                .entry(pfn)
                .or_insert_with(|| vec![0u8; PAGE_SIZE as usize].into_boxed_slice());
            page[off..off + n].copy_from_slice(&bytes[done..done + n]);
            done += n;
        }
    }

    /// Write a little-endian u64.
    pub fn write_u64(&mut self, paddr: u64, v: u64) {
        self.write(paddr, &v.to_le_bytes());
    }

    /// Read bytes back (zeroes for unwritten RAM).
    pub fn read(&self, paddr: u64, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            let addr = paddr + i as u64;
            *b = self
                .pages
                .get(&(addr / PAGE_SIZE))
                .map_or(0, |p| p[(addr % PAGE_SIZE) as usize]);
        }
    }

    /// The page at `pfn`: its bytes if written, `None` if it reads as zeroes.
    pub fn page(&self, pfn: u64) -> Option<&[u8]> {
        self.pages.get(&pfn).map(|p| &p[..])
    }

    /// Every RAM page frame number, in order.
    pub fn ram_pfns(&self) -> impl Iterator<Item = u64> + '_ {
        self.ram
            .iter()
            .flat_map(|&(s, e)| s / PAGE_SIZE..e.div_ceil(PAGE_SIZE))
    }

    /// Highest RAM pfn + 1.
    pub fn max_pfn(&self) -> u64 {
        self.ram
            .iter()
            .map(|&(_, e)| e.div_ceil(PAGE_SIZE))
            .max()
            .unwrap_or(0)
    }
}
