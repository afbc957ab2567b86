//! A `makedumpfile --split` set: one dump written as N kdump files, each holding the pages of
//! one pfn range (`split_start_pfn`..`split_end_pfn` in its sub-header) and all carrying the
//! whole dump's bitmaps.
//!
//! [`SplitSet::new`] checks that the parts belong to one dump (same header, same bitmaps, pfn
//! ranges that do not overlap) and reads them as one; ranges no part covers are reported by
//! [`SplitSet::missing`], and a page the set stores there reads as
//! [`Error::InOtherPart`], never as another page's bytes.
//!
//! ```no_run
//! use vmcore::Dump;
//! let d = Dump::open_parts(&["vmcore-1".as_ref(), "vmcore-2".as_ref(), "vmcore-3".as_ref()])?;
//! for p in &d.info().parts {
//!     println!("{}: pfns {:#x}..{:#x}", p.path, p.start_pfn, p.end_pfn);
//! }
//! # Ok::<(), vmcore::Error>(())
//! ```

use std::ops::Range;

use crate::kdump::KdumpDump;
use crate::{Error, PageState, PhysMem, Result};

/// The parts of one split dump, by pfn range.
pub(crate) struct SplitSet {
    /// Sorted by their first pfn; ranges disjoint.
    parts: Vec<(KdumpDump, String)>,
    missing: Vec<Range<u64>>,
}

fn bad(reason: String) -> Error {
    Error::Malformed {
        what: "split dump set",
        reason,
    }
}

impl SplitSet {
    /// The set of `parts` (each a kdump file and its name for messages).
    pub(crate) fn new(mut parts: Vec<(KdumpDump, String)>) -> Result<SplitSet> {
        if parts.is_empty() {
            return Err(bad("no parts".into()));
        }
        for (p, name) in &parts {
            if p.split_range().is_none() {
                return Err(bad(format!(
                    "{name} is a whole dump, not a part of a split set (its sub-header has no \
                     split flag): give it alone"
                )));
            }
        }
        parts.sort_by_key(|(p, _)| p.split_range().map_or(0, |r| r.start));
        let n = parts.len();
        for (p, _) in &mut parts {
            p.share_cache(n);
        }
        let (first, first_name) = &parts[0];
        for (p, name) in &parts[1..] {
            let differs = if p.header_version() != first.header_version() {
                Some("header version")
            } else if p.max_mapnr() != first.max_mapnr() {
                Some("max_mapnr")
            } else if p.utsname_release() != first.utsname_release() {
                Some("kernel release")
            } else if p.phys_base() != first.phys_base() {
                Some("phys_base")
            } else if p.bitmap_bytes() != first.bitmap_bytes() {
                Some("page bitmaps")
            } else if p.vmcoreinfo() != first.vmcoreinfo() {
                Some("VMCOREINFO")
            } else if p.notes() != first.notes() {
                Some("ELF notes (CPU registers at the crash)")
            } else {
                None
            };
            if let Some(what) = differs {
                return Err(bad(format!(
                    "{name} and {first_name} are parts of different dumps (their {what} differ)"
                )));
            }
        }
        let mut missing = Vec::new();
        let mut covered = 0u64;
        for w in parts.windows(2) {
            let (a, b) = (
                w[0].0.split_range().unwrap_or(0..0),
                w[1].0.split_range().unwrap_or(0..0),
            );
            if b.start < a.end && !a.is_empty() && !b.is_empty() {
                return Err(bad(format!(
                    "{} (pfns {:#x}..{:#x}) and {} (pfns {:#x}..{:#x}) overlap: the same part \
                     twice, or parts of different splits",
                    w[0].1, a.start, a.end, w[1].1, b.start, b.end
                )));
            }
        }
        for (p, _) in &parts {
            let r = p.split_range().unwrap_or(0..0);
            if r.start > covered {
                missing.push(covered..r.start);
            }
            covered = covered.max(r.end);
        }
        let end = first.max_mapnr();
        if covered < end {
            missing.push(covered..end);
        }
        // Pfn ranges no part covers but that hold nothing are not missing.
        missing.retain(|r| first.stored_in(r.clone()) > 0);
        Ok(SplitSet { parts, missing })
    }

    /// The parts in pfn order: the reader, its name, its pfn range.
    pub(crate) fn parts(&self) -> impl Iterator<Item = (&KdumpDump, &str, Range<u64>)> {
        self.parts
            .iter()
            .map(|(p, n)| (p, n.as_str(), p.split_range().unwrap_or(0..0)))
    }

    /// Pfn ranges that hold stored pages but no part given covers.
    pub(crate) fn missing(&self) -> &[Range<u64>] {
        &self.missing
    }

    /// The first part (every part carries the set's header, notes and VMCOREINFO).
    pub(crate) fn first(&self) -> &KdumpDump {
        &self.parts[0].0
    }

    /// The part holding `pfn`.
    fn part(&self, pfn: u64) -> Option<&KdumpDump> {
        let i = self
            .parts
            .partition_point(|(p, _)| p.split_range().is_some_and(|r| r.start <= pfn));
        let (p, _) = self.parts.get(i.checked_sub(1)?)?;
        p.split_range()
            .is_some_and(|r| r.contains(&pfn))
            .then_some(p)
    }

    /// Pages stored in the parts given.
    pub(crate) fn pages_present(&self) -> u64 {
        self.parts.iter().map(|(p, _)| p.pages_present()).sum()
    }
}

impl PhysMem for SplitSet {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.first().page_size();
        let mut done = 0usize;
        while done < buf.len() {
            // (Errors are made only when they happen: a built one costs a drop on every read.)
            let Some(addr) = paddr.checked_add(done as u64) else {
                return Err(Error::NotPresent { paddr: u64::MAX });
            };
            let n = ((ps - (addr & (ps - 1))) as usize).min(buf.len() - done);
            let pfn = addr / ps;
            match self.part(pfn) {
                Some(p) => p.read_phys(addr, &mut buf[done..done + n])?,
                None => {
                    return Err(match self.first().pfn_state(pfn) {
                        PageState::Excluded => Error::Excluded { paddr: addr },
                        PageState::NotPresent => Error::NotPresent { paddr: addr },
                        _ => {
                            let r = self
                                .missing
                                .iter()
                                .find(|r| r.contains(&pfn))
                                .cloned()
                                .unwrap_or(pfn..pfn + 1);
                            Error::PartMissing {
                                paddr: addr,
                                start_pfn: r.start,
                                end_pfn: r.end,
                            }
                        }
                    })
                }
            }
            done += n;
        }
        Ok(())
    }

    fn page_state(&self, paddr: u64) -> PageState {
        let pfn = paddr / self.first().page_size();
        match self.part(pfn) {
            Some(p) => p.pfn_state(pfn),
            None => self.first().pfn_state(pfn),
        }
    }
}
