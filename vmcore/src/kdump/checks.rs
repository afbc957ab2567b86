//! What the open checks of a kdump file against itself: the ranges the sub-header names, the
//! descriptor table against the bitmaps and the file, the compressions in use.

use super::{
    page_descs, KdumpDump, PageDesc, COMPRESSION_MASK, DESC_SAMPLE, DESC_SCAN, PAGE_DESC_SIZE,
};
use crate::source::check_range;

impl KdumpDump {
    /// Validate the VMCOREINFO, notes and eraseinfo ranges; drop (with a warning) those outside the file.
    pub(super) fn check_ranges(&mut self) {
        let total = self.src.len();
        let Some(sub) = self.sub.as_mut() else { return };
        for (name, range) in [
            ("VMCOREINFO", &mut sub.vmcoreinfo),
            ("notes", &mut sub.notes),
            ("eraseinfo", &mut sub.eraseinfo),
        ] {
            if let Some((off, size)) = *range {
                if check_range(off, size, total, "kdump sub-header range").is_err()
                    || usize::try_from(size).is_err()
                {
                    self.warnings.push(format!(
                        "{name} at {off:#x}+{size:#x} lies outside the file ({total:#x} bytes); ignored"
                    ));
                    *range = None;
                }
            }
        }
    }

    /// The descriptor table against the bitmaps and the file: page data starts after the last
    /// descriptor (makedumpfile and QEMU both write `offset_data = descs + 24 * dumpable`), and
    /// the last page's data ends inside the file. A bitmap claiming pages with no descriptor
    /// would shift every later page onto another's data; a truncated copy loses its last pages.
    pub(super) fn check_descs(&mut self) {
        let n = self.pages_present;
        if n == 0 {
            return;
        }
        let total = self.src.len();
        let table_end = self
            .desc_offset
            .saturating_add(n.saturating_mul(PAGE_DESC_SIZE));
        let desc = |at: u64| {
            crate::pod::read::<PageDesc>(&*self.src, at, "kdump page descriptor")
                .ok()
                .map(|d| (d.offset.get(), u64::from(d.size.get())))
        };
        if let Some((first, _)) = desc(self.desc_offset) {
            if first > 0 && (first as u64) < table_end {
                self.warnings.push(format!(
                    "bitmap 2 counts {n} dumped pages, but the first page's data starts at {first:#x}, \
                     inside the {n}-entry descriptor table ({:#x}..{table_end:#x}): the bitmaps or \
                     the descriptors are damaged, and pages may read another page's data",
                    self.desc_offset
                ));
            }
        }
        if desc(table_end - PAGE_DESC_SIZE).is_none() {
            self.warnings.push(format!(
                "the file ({total:#x} bytes) ends inside the page descriptor table \
                 ({:#x}..{table_end:#x}): it is truncated, and the last pages are missing",
                self.desc_offset
            ));
            return;
        }
        // makedumpfile does not write page data in pfn order: the data that ends last can belong
        // to any descriptor. Scan the table (the first DESC_SCAN bytes of it on huge dumps).
        let scan = (n * PAGE_DESC_SIZE).min(DESC_SCAN);
        let mut past_end = 0u64;
        let mut first_bad = None;
        let mut at = self.desc_offset;
        let mut buf = vec![0u8; PAGE_DESC_SIZE as usize * 2048];
        while at < self.desc_offset + scan {
            let len = (self.desc_offset + scan - at).min(buf.len() as u64) as usize;
            if self
                .src
                .read_at(at, &mut buf[..len], "kdump page descriptors")
                .is_err()
            {
                break;
            }
            for d in page_descs(&buf[..len]) {
                let (off, size) = (d.offset.get(), u64::from(d.size.get()));
                if off > 0 && (off as u64).saturating_add(size) > total {
                    past_end += 1;
                    first_bad.get_or_insert((off, size));
                }
            }
            at += len as u64;
        }
        if let Some((off, size)) = first_bad {
            self.warnings.push(format!(
                "{past_end} pages' data lies past the end of the file ({total:#x} bytes; the \
                 first at {off:#x}+{size:#x}): it is truncated, and those pages are missing"
            ));
        }
    }

    /// Read the flags of the first few page descriptors, to tell which compressions are in use.
    pub(super) fn sample_descs(&mut self) {
        let n = self.pages_present.min(DESC_SAMPLE);
        let avail = self.src.len().saturating_sub(self.desc_offset) / PAGE_DESC_SIZE;
        let n = n.min(avail);
        if n == 0 {
            return;
        }
        let mut buf = vec![0u8; (n * PAGE_DESC_SIZE) as usize];
        if self
            .src
            .read_at(self.desc_offset, &mut buf, "kdump page descriptors")
            .is_ok()
        {
            for d in page_descs(&buf) {
                self.desc_flags_seen |= d.flags.get() & COMPRESSION_MASK;
            }
        }
    }
}
