//! Reading pages: bitmap state, descriptor, decompression through the page cache.

use super::{
    check_range, decompress, KdumpDump, PageDesc, COMPRESSION_MASK, KNOWN_DESC_FLAGS,
    PAGE_DESC_SIZE,
};
use crate::{Error, PageState, PhysMem, Result};

impl KdumpDump {
    /// Index of `pfn`'s page descriptor in this file (the pfn must be set in bitmap 2, and in
    /// the part's range for a split part).
    pub(super) fn desc_index(&self, pfn: u64) -> u64 {
        self.stored_before(pfn) - self.desc_base
    }

    /// The state of page frame `pfn` (for a split part: [`PageState::Elsewhere`] when the set
    /// stores it in another part).
    pub fn pfn_state(&self, pfn: u64) -> PageState {
        match self.bits(pfn) {
            Some((_, true)) if self.part.as_ref().is_some_and(|r| !r.contains(&pfn)) => {
                PageState::Elsewhere
            }
            Some((_, true)) => PageState::Present,
            Some((true, false)) => PageState::Excluded,
            _ => PageState::NotPresent,
        }
    }

    /// The descriptor of the stored page `pfn`, as `(offset, size, flags)`.
    pub(super) fn page_desc(&self, pfn: u64) -> Result<(u64, usize, u32)> {
        let paddr = pfn << self.page_shift;
        let corrupt = |reason: String| Error::CorruptPage { paddr, reason };
        let at = self.desc_offset + self.desc_index(pfn) * PAGE_DESC_SIZE;
        let d: PageDesc =
            crate::pod::read(&*self.src, at, "kdump page descriptor").map_err(|_| {
                corrupt(format!(
                    "page descriptor at {at:#x} lies past the end of the file ({:#x} bytes)",
                    self.src.len()
                ))
            })?;
        let (offset, size, flags) = (d.offset.get(), d.size.get(), d.flags.get());
        if offset == 0 {
            return Err(corrupt(
                "page descriptor has no data (incomplete dump)".into(),
            ));
        }
        if offset < 0 {
            return Err(corrupt(format!(
                "page descriptor has negative offset {offset}"
            )));
        }
        let ps = self.page_size();
        if size == 0 || size as u64 > ps {
            return Err(corrupt(format!("page data size {size} is not in 1..={ps}")));
        }
        if flags & !KNOWN_DESC_FLAGS != 0 {
            return Err(corrupt(format!(
                "page descriptor flags {flags:#x} have unknown bits {:#x} (a compression this \
                 reader does not know, or a damaged descriptor)",
                flags & !KNOWN_DESC_FLAGS
            )));
        }
        if (flags & COMPRESSION_MASK).count_ones() > 1 {
            return Err(corrupt(format!(
                "page descriptor flags {flags:#x} name several compressions"
            )));
        }
        if flags & COMPRESSION_MASK == 0 && size as u64 != ps {
            return Err(corrupt(format!(
                "uncompressed page data has size {size}, not the page size {ps}"
            )));
        }
        let offset = offset as u64;
        if check_range(offset, size as u64, self.src.len(), "kdump page data").is_err() {
            return Err(corrupt(format!(
                "page data at {offset:#x}+{size:#x} lies past the end of the file ({:#x} bytes)",
                self.src.len()
            )));
        }
        Ok((offset, size as usize, flags))
    }

    /// Decode stored page `pfn`, whose descriptor is `(offset, size, flags)`, into `out` (one page long).
    pub(super) fn decode_page(
        &self,
        pfn: u64,
        (offset, size, flags): (u64, usize, u32),
        out: &mut [u8],
    ) -> Result<()> {
        let paddr = pfn << self.page_shift;
        let data = self
            .src
            .bytes(offset, size, "kdump page data")
            .map_err(|e| Error::CorruptPage {
                paddr,
                reason: e.to_string(),
            })?;
        decompress(flags & COMPRESSION_MASK, &data, out)
            .map_err(|reason| Error::CorruptPage { paddr, reason })
    }

    /// Copy `out.len()` bytes at offset `off` of stored page `pfn` into `out`.
    pub(super) fn read_stored(&self, pfn: u64, off: usize, out: &mut [u8]) -> Result<()> {
        let mut cache = self.cache.mine();
        if let Some(hit) = cache.get(pfn) {
            out.copy_from_slice(&hit[off..off + out.len()]);
            return Ok(());
        }
        let ps = self.page_size() as usize;
        // A raw page the source can lend: copy straight out of it, no cache needed.
        let (offset, size, flags) = self.page_desc(pfn)?;
        if flags & COMPRESSION_MASK == 0 {
            if let Some(raw) = self.src.slice(offset, size) {
                out.copy_from_slice(&raw[off..off + out.len()]);
                return Ok(());
            }
        }
        let page = cache.fill(pfn, ps, |page| {
            self.decode_page(pfn, (offset, size, flags), page)
        })?;
        out.copy_from_slice(&page[off..off + out.len()]);
        Ok(())
    }
}

impl PhysMem for KdumpDump {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size();
        let mut done = 0usize;
        while done < buf.len() {
            // (Errors are made only when they happen: a built one costs a drop on every read.)
            let Some(addr) = paddr.checked_add(done as u64) else {
                return Err(Error::NotPresent { paddr: u64::MAX });
            };
            let pfn = addr >> self.page_shift;
            let off = (addr & (ps - 1)) as usize;
            let n = (ps as usize - off).min(buf.len() - done);
            match self.pfn_state(pfn) {
                PageState::NotPresent => return Err(Error::NotPresent { paddr: addr }),
                PageState::Excluded => return Err(Error::Excluded { paddr: addr }),
                PageState::Elsewhere => {
                    let r = self.part.clone().unwrap_or(0..0);
                    return Err(Error::InOtherPart {
                        paddr: addr,
                        start_pfn: r.start,
                        end_pfn: r.end,
                    });
                }
                PageState::Present => self.read_stored(pfn, off, &mut buf[done..done + n])?,
            }
            done += n;
        }
        Ok(())
    }

    fn page_state(&self, paddr: u64) -> PageState {
        self.pfn_state(paddr >> self.page_shift)
    }
}
