//! ELF64 core dumps: QEMU `dump-guest-memory` (ELF), a copied `/proc/vmcore`, `makedumpfile -E`.
//!
//! Physical ranges come from `PT_LOAD.p_paddr`. Bytes between `p_filesz` and `p_memsz` are
//! *excluded*, not zero: `makedumpfile -E` describes the pages it filtered out that way (crash and
//! libkdumpfile report them as excluded too), while `/proc/vmcore` and QEMU store every byte
//! (`p_filesz == p_memsz`). Bytes outside every `PT_LOAD` are not in the dump.

use crate::notes::NoteSummary;
use crate::pod::{self, from_bytes, pod, U16, U32, U64};
use crate::source::{check_range, Source};
use crate::{Error, PageState, PhysMem, Result};

/// `PT_LOAD`.
pub(crate) const PT_LOAD: u32 = 1;
/// `PT_NOTE`.
pub(crate) const PT_NOTE: u32 = 4;
/// Upper bound on program headers we accept (QEMU writes one per RAM block, kdump one per range).
pub(crate) const MAX_PHDRS: u64 = 1 << 20;
/// Upper bound on the bytes of notes we read.
pub(crate) const MAX_NOTES: u64 = 64 << 20;
/// x86-64's physical address space (MAXPHYADDR is at most 52 bits).
const PHYS_LIMIT: u64 = 1 << 52;
/// Largest overlap of two `PT_LOAD`s accepted (and compared byte for byte): kdump's kernel-text
/// segment is a few tens of MiB.
const MAX_OVERLAP: u64 = 64 << 20;

/// One `PT_LOAD` as a physical range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// First physical address.
    pub paddr: u64,
    /// Bytes of memory described (`p_memsz`).
    pub memsz: u64,
    /// Bytes stored in the file (`p_filesz`); the rest (to `p_memsz`) was filtered out
    /// (`makedumpfile -E`) and reads as [`Error::Excluded`], not zeroes.
    pub filesz: u64,
    /// Where the stored bytes start in the file.
    pub offset: u64,
    /// `p_vaddr` (0 in QEMU's dumps without paging; the kernel-text segment of kdump's).
    pub vaddr: u64,
}

/// `ET_CORE`.
pub(crate) const ET_CORE: u16 = 4;

/// Whether `bytes` start an ELF64 little-endian `ET_CORE` file.
pub fn is_elf_core(bytes: &[u8]) -> bool {
    bytes.len() >= 18
        && is_elf64le(&bytes[..16])
        && u16::from_le_bytes([bytes[16], bytes[17]]) == ET_CORE
}

/// Whether `e_ident` says ELF, 64-bit, little-endian.
pub(crate) fn is_elf64le(ident: &[u8]) -> bool {
    ident.len() >= 6 && &ident[..4] == b"\x7fELF" && ident[4] == 2 && ident[5] == 1
}

/// An ELF core dump.
pub struct ElfDump {
    src: Box<dyn Source>,
    /// Segments sorted by `paddr`.
    segments: Vec<Segment>,
    notes: NoteSummary,
    machine: u16,
    /// For each region of `1 << region_shift` bytes of physical memory, the first segment
    /// starting at or after it (one entry past the last region): segment lookups search only
    /// their region's segments. Empty when the address space is too sparse for a table
    /// (lookups search all of them).
    region_start: Vec<u32>,
    /// log2 of the region size: regions are about as many as segments (a filtered dump has one
    /// segment per run of kept pages, hundreds of thousands), at least a page.
    region_shift: u32,
}

/// Most regions indexed (a 16 MiB table).
const MAX_REGIONS: u64 = 1 << 22;

/// The region table of `segments` (sorted by `paddr`) and its region size's log2.
fn region_index(segments: &[Segment]) -> (Vec<u32>, u32) {
    let end = segments
        .iter()
        .map(|s| s.paddr.saturating_add(s.memsz))
        .max()
        .unwrap_or(0);
    // About two regions per segment, within [a page, 1 GiB], and no more than MAX_REGIONS.
    let want = (2 * segments.len() as u64).clamp(1, MAX_REGIONS);
    let mut shift = 12;
    while shift < 30 && end.div_ceil(1 << shift) > want {
        shift += 1;
    }
    let regions = end.div_ceil(1 << shift);
    if regions > MAX_REGIONS || segments.len() > u32::MAX as usize {
        return (Vec::new(), shift);
    }
    let table = (0..=regions)
        .map(|r| segments.partition_point(|s| s.paddr < r << shift) as u32)
        .collect();
    (table, shift)
}

/// `Elf64_Ehdr`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Ehdr {
    pub(crate) e_ident: [u8; 16],
    pub(crate) e_type: U16,
    pub(crate) e_machine: U16,
    e_version: U32,
    e_entry: U64,
    pub(crate) e_phoff: U64,
    e_shoff: U64,
    e_flags: U32,
    e_ehsize: U16,
    pub(crate) e_phentsize: U16,
    pub(crate) e_phnum: U16,
    e_shentsize: U16,
    e_shnum: U16,
    e_shstrndx: U16,
}

/// `Elf64_Phdr`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Phdr {
    pub(crate) p_type: U32,
    p_flags: U32,
    pub(crate) p_offset: U64,
    pub(crate) p_vaddr: U64,
    pub(crate) p_paddr: U64,
    pub(crate) p_filesz: U64,
    pub(crate) p_memsz: U64,
    p_align: U64,
}

/// `Elf64_Shdr`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Shdr {
    sh_name: U32,
    sh_type: U32,
    sh_flags: U64,
    sh_addr: U64,
    sh_offset: U64,
    sh_size: U64,
    sh_link: U32,
    sh_info: U32,
    sh_addralign: U64,
    sh_entsize: U64,
}

pod!(Ehdr = 64, Phdr = 56, Shdr = 64);

/// Whether the section headers name Xen's xc_core sections.
fn is_xen(src: &dyn Source, ehdr: &Ehdr) -> bool {
    let (shoff, shentsize, shnum, shstrndx) = (
        ehdr.e_shoff.get(),
        u64::from(ehdr.e_shentsize.get()),
        u64::from(ehdr.e_shnum.get()),
        u64::from(ehdr.e_shstrndx.get()),
    );
    if shoff == 0 || shentsize < 64 || shnum == 0 || shnum > 4096 || shstrndx >= shnum {
        return false;
    }
    let Ok(table) = src.bytes(shoff, (shnum * shentsize) as usize, "ELF section headers") else {
        return false;
    };
    let sh = |i: u64| from_bytes::<Shdr>(&table[(i * shentsize) as usize..]);
    let Some(names_sh) = sh(shstrndx) else {
        return false;
    };
    let (str_off, str_len) = (names_sh.sh_offset.get(), names_sh.sh_size.get());
    let Ok(strs) = src.bytes(str_off, str_len.min(1 << 16) as usize, "ELF section names") else {
        return false;
    };
    let names: Vec<&str> = (0..shnum)
        .filter_map(|i| {
            let at = sh(i)?.sh_name.get() as usize;
            let tail = strs.get(at..)?;
            let end = tail.iter().position(|&c| c == 0)?;
            std::str::from_utf8(&tail[..end]).ok()
        })
        .collect();
    crate::detect::is_xen_core(&names)
}

impl ElfDump {
    /// Parse the ELF header, program headers and notes of `src`.
    pub fn parse(src: Box<dyn Source>) -> Result<Self> {
        let ehdr: Ehdr = pod::read(&*src, 0, "ELF header")?;
        if !is_elf64le(&ehdr.e_ident) || ehdr.e_type.get() != ET_CORE {
            return Err(Error::UnknownFormat(
                "not an ELF64 little-endian core file".into(),
            ));
        }
        // Another machine's 64-bit little-endian core still has readable physical memory; the
        // x86-64 kernel layout is what the caller must not assume (see `machine`).
        let machine = ehdr.e_machine.get();
        let phoff = ehdr.e_phoff.get();
        let phentsize = u64::from(ehdr.e_phentsize.get());
        let mut phnum = u64::from(ehdr.e_phnum.get());
        if phentsize < 56 {
            return Err(Error::Malformed {
                what: "ELF header",
                reason: format!("e_phentsize {phentsize} < 56"),
            });
        }
        if phnum == 0xffff {
            // PN_XNUM: the real count is in section header 0's sh_info.
            let sh: Shdr = pod::read(&*src, ehdr.e_shoff.get(), "ELF section header 0")?;
            phnum = u64::from(sh.sh_info.get());
        }
        if phnum > MAX_PHDRS {
            return Err(Error::Malformed {
                what: "ELF header",
                reason: format!("{phnum} program headers"),
            });
        }
        let table_len = phnum * phentsize;
        check_range(phoff, table_len, src.len(), "ELF program headers")?;
        // Lent by a mapped file, not copied (a filtered dump's table is tens of MiB); the
        // segment list is sized once (phnum is bounded and the table is in the file).
        let table = src.bytes(phoff, table_len as usize, "ELF program headers")?;
        let mut segments = Vec::with_capacity(phnum as usize);
        let mut notes = NoteSummary::default();
        for i in 0..phnum as usize {
            let ph: &Phdr = from_bytes(&table[i * phentsize as usize..])
                .expect("the table holds phnum entries of phentsize >= 56 bytes");
            let p_type = ph.p_type.get();
            let offset = ph.p_offset.get();
            let vaddr = ph.p_vaddr.get();
            let paddr = ph.p_paddr.get();
            let filesz = ph.p_filesz.get();
            let memsz = ph.p_memsz.get();
            match p_type {
                PT_LOAD => {
                    check_range(offset, filesz, src.len(), "PT_LOAD contents")?;
                    if filesz > memsz || paddr.checked_add(memsz).is_none_or(|e| e > PHYS_LIMIT) {
                        return Err(Error::Malformed {
                            what: "PT_LOAD",
                            reason: format!(
                                "segment {i}: paddr {paddr:#x} filesz {filesz:#x} memsz {memsz:#x} \
                                 (beyond the 52-bit physical address space, or filesz > memsz)"
                            ),
                        });
                    }
                    if memsz > 0 {
                        segments.push(Segment {
                            paddr,
                            memsz,
                            filesz,
                            offset,
                            vaddr,
                        });
                    }
                }
                PT_NOTE => {
                    if filesz > MAX_NOTES {
                        return Err(Error::Malformed {
                            what: "PT_NOTE",
                            reason: format!("{filesz} bytes of notes"),
                        });
                    }
                    check_range(offset, filesz, src.len(), "PT_NOTE contents")?;
                    notes.add(&src.bytes(offset, filesz as usize, "PT_NOTE contents")?);
                }
                _ => {}
            }
        }
        if segments.is_empty() && is_xen(&*src, &ehdr) {
            return Err(Error::UnknownFormat(
                "a Xen xc_core dump (xl dump-core / xc_domain_dumpcore: .xen_pages sections, no \
                 PT_LOAD): that format is not read"
                    .into(),
            ));
        }
        segments.sort_by_key(|s| (s.paddr, std::cmp::Reverse(s.memsz)));
        let (region_start, region_shift) = region_index(&segments);
        let dump = ElfDump {
            src,
            segments,
            notes,
            machine,
            region_start,
            region_shift,
        };
        dump.check_overlaps()?;
        Ok(dump)
    }

    /// Overlapping `PT_LOAD`s are allowed only when they agree: kdump's `/proc/vmcore` adds a
    /// kernel-text segment inside a RAM range, with the same bytes. Segments that overlap with
    /// different contents make every read in the overlap a guess, so the dump is refused.
    fn check_overlaps(&self) -> Result<()> {
        let mut widest: Option<&Segment> = None;
        for seg in &self.segments {
            if let Some(w) = widest {
                let end = (w.paddr + w.memsz).min(seg.paddr + seg.memsz);
                if seg.paddr < end {
                    self.compare_overlap(w, seg, seg.paddr, end)?;
                }
            }
            if widest.is_none_or(|w| seg.paddr + seg.memsz > w.paddr + w.memsz) {
                widest = Some(seg);
            }
        }
        Ok(())
    }

    fn compare_overlap(&self, a: &Segment, b: &Segment, start: u64, end: u64) -> Result<()> {
        let refuse = |why: String| Error::Malformed {
            what: "PT_LOAD",
            reason: format!(
                "segments at physical {:#x} and {:#x} overlap ({start:#x}..{end:#x}) {why}: the \
                 program headers are damaged",
                a.paddr, b.paddr
            ),
        };
        if end - start > MAX_OVERLAP {
            return Err(refuse(format!(
                "by more than the {} MiB a kernel-text segment can",
                MAX_OVERLAP >> 20
            )));
        }
        let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
        let mut at = start;
        while at < end {
            let n = (end - at).min(x.len() as u64) as usize;
            self.segment_bytes(a, at - a.paddr, &mut x[..n])?;
            self.segment_bytes(b, at - b.paddr, &mut y[..n])?;
            if let Some(i) = x[..n].iter().zip(&y[..n]).position(|(p, q)| p != q) {
                return Err(refuse(format!(
                    "with different contents (first difference at {:#x})",
                    at + i as u64
                )));
            }
            at += n as u64;
        }
        Ok(())
    }

    /// `out.len()` bytes of `seg` from `rel` bytes into it (zeroes past `p_filesz`).
    /// The stored bytes of `seg` at `rel` (all of `out` must lie in its `p_filesz`).
    fn segment_bytes(&self, seg: &Segment, rel: u64, out: &mut [u8]) -> Result<()> {
        self.src.read_at(seg.offset + rel, out, "PT_LOAD contents")
    }

    /// `e_machine` (62: x86-64).
    pub fn machine(&self) -> u16 {
        self.machine
    }

    /// The `PT_LOAD` segments, sorted by physical address.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// What the notes say (VMCOREINFO, QEMU CPU state).
    pub fn notes(&self) -> &NoteSummary {
        &self.notes
    }

    /// Pages (of `page_size`) with stored contents, as merged pfn ranges.
    fn stored_pages(&self, page_size: u64) -> Vec<(u64, u64)> {
        let ps = page_size.max(1);
        merge(
            self.segments
                .iter()
                .filter(|s| s.filesz > 0)
                .map(|s| (s.paddr / ps, (s.paddr + s.filesz.min(s.memsz)).div_ceil(ps)))
                .collect(),
        )
    }

    /// Pages (of `page_size`) with stored contents; a page covered by several segments counts
    /// once.
    pub fn pages_present(&self, page_size: u64) -> u64 {
        span(&self.stored_pages(page_size))
    }

    /// Pages (of `page_size`) that a segment describes past its `p_filesz` (`p_memsz` >
    /// `p_filesz`: what `makedumpfile -E` filtered out) and no segment stores.
    pub fn pages_excluded(&self, page_size: u64) -> u64 {
        let ps = page_size.max(1);
        let tails = merge(
            self.segments
                .iter()
                .filter(|s| s.memsz > s.filesz)
                .map(|s| {
                    (
                        (s.paddr + s.filesz).div_ceil(ps),
                        (s.paddr + s.memsz).div_ceil(ps),
                    )
                })
                .collect(),
        );
        span(&tails) - overlap(&tails, &self.stored_pages(page_size))
    }

    /// Whether `paddr` is stored by some segment (`Some(true)`), only described past a
    /// segment's `p_filesz` (`Some(false)`), or outside every segment (`None`). Overlaps are
    /// allowed (kdump adds a kernel-text segment inside a RAM range); among the segments
    /// covering `paddr` the one starting last that stores it wins.
    fn stored(&self, paddr: u64) -> Option<(bool, &Segment)> {
        let r = usize::try_from(paddr >> self.region_shift).unwrap_or(usize::MAX);
        let idx = match (self.region_start.get(r), self.region_start.get(r + 1)) {
            (Some(&lo), Some(&hi)) => {
                let (lo, hi) = (lo as usize, hi as usize);
                lo + self.segments[lo..hi].partition_point(|s| s.paddr <= paddr)
            }
            // Past the last region: every segment starts before paddr.
            (Some(_), None) | (None, None) if !self.region_start.is_empty() => self.segments.len(),
            _ => self.segments.partition_point(|s| s.paddr <= paddr),
        };
        let covering = self.segments[..idx]
            .iter()
            .rev()
            .take(8)
            .filter(|s| paddr - s.paddr < s.memsz);
        let mut tail = None;
        for s in covering {
            if paddr - s.paddr < s.filesz {
                return Some((true, s));
            }
            tail.get_or_insert(s);
        }
        tail.map(|s| (false, s))
    }
}

impl PhysMem for ElfDump {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            // (Errors are made only when they happen: a built one costs a drop on every read.)
            let Some(addr) = paddr.checked_add(done as u64) else {
                return Err(Error::NotPresent { paddr: u64::MAX });
            };
            let seg = match self.stored(addr) {
                Some((true, seg)) => seg,
                // Described by a PT_LOAD past its p_filesz: filtered out, not zero.
                Some((false, _)) => return Err(Error::Excluded { paddr: addr }),
                None => return Err(Error::NotPresent { paddr: addr }),
            };
            let rel = addr - seg.paddr;
            let n = (seg.filesz.min(seg.memsz) - rel).min((buf.len() - done) as u64) as usize;
            self.segment_bytes(seg, rel, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(())
    }

    fn page_state(&self, paddr: u64) -> PageState {
        match self.stored(paddr) {
            Some((true, _)) => PageState::Present,
            Some((false, _)) => PageState::Excluded,
            None => PageState::NotPresent,
        }
    }
}

/// Sort and merge half-open intervals.
fn merge(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.retain(|r| r.1 > r.0);
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if r.0 <= last.1 => last.1 = last.1.max(r.1),
            _ => out.push(r),
        }
    }
    out
}

fn span(v: &[(u64, u64)]) -> u64 {
    v.iter().map(|r| r.1 - r.0).sum()
}

/// Length of the intersection of two merged interval lists.
fn overlap(a: &[(u64, u64)], b: &[(u64, u64)]) -> u64 {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if hi > lo {
            n += hi - lo;
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    n
}
