//! One part of a `makedumpfile --split` set: every part carries the whole set's bitmaps and
//! the descriptors of its own pfn range.

use super::{count_bits, KdumpDump, RANK_BITS};

impl KdumpDump {
    /// A part of a split set: its pfn range, and the descriptors it holds.
    pub(super) fn find_part(&mut self) {
        let Some(sub) = &self.sub else { return };
        if sub.split.unwrap_or(0) == 0 {
            return;
        }
        let (Some(start), Some(end)) = (sub.start_pfn, sub.end_pfn) else {
            return;
        };
        let (start, end) = (start.min(self.nbits), end.min(self.nbits));
        if start > end {
            self.warnings.push(format!(
                "split part with start pfn {start:#x} after its end pfn {end:#x}: read as holding no pages"
            ));
            self.part = Some(start..start);
            self.desc_base = 0;
            self.pages_present = 0;
            return;
        }
        self.desc_base = self.stored_before(start);
        self.pages_present = self.stored_before(end) - self.desc_base;
        self.part = Some(start..end);
    }

    /// Pages stored (in the whole set, for a split part) before `pfn`.
    pub(super) fn stored_before(&self, pfn: u64) -> u64 {
        let pfn = pfn.min(self.nbits);
        let block = pfn / RANK_BITS;
        match self.rank.get(block as usize) {
            Some(r) => {
                // (RANK_BITS is a multiple of 8: the block starts on a byte.)
                let from = block * RANK_BITS;
                let bytes = self.bitmap_range(true, (from / 8) as usize..pfn.div_ceil(8) as usize);
                r + count_bits(bytes, 0, pfn - from)
            }
            None => self.rank.last().copied().unwrap_or(0),
        }
    }

    /// For one part of a `makedumpfile --split` set, the pfns it holds (`start..end`).
    pub fn split_range(&self) -> Option<std::ops::Range<u64>> {
        self.part.clone()
    }

    /// Pages the whole dump stores: for a split part, those of every part.
    pub fn pages_in_set(&self) -> u64 {
        self.rank.last().copied().unwrap_or(0)
    }

    /// Pages the whole dump (every part, for a split part) stores in `pfns`.
    pub fn stored_in(&self, pfns: std::ops::Range<u64>) -> u64 {
        self.stored_before(pfns.end)
            .saturating_sub(self.stored_before(pfns.start))
    }

    /// The bitmaps' bytes, to check that parts belong to one dump.
    pub(crate) fn bitmap_bytes(&self) -> &[u8] {
        self.bitmaps()
    }
}
