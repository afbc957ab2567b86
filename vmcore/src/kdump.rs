//! The kdump-compressed format (`makedumpfile -c/-l/-p/-z`, QEMU `dump-guest-memory -z/-l/-s`).
//!
//! A file in this format is a sequence of blocks of `block_size` bytes (the page size):
//!
//! | blocks | content |
//! |---|---|
//! | 0 | `struct disk_dump_header`: signature `"KDUMP   "` (or the older `"DISKDUMP"`), header version, `utsname`, `block_size`, `sub_hdr_size`, `bitmap_blocks`, 32-bit `max_mapnr`, ... |
//! | 1 .. 1+`sub_hdr_size` | `struct kdump_sub_header` (`phys_base`, `dump_level`, offsets and sizes of VMCOREINFO, ELF notes and eraseinfo, 64-bit pfn fields), usually followed by the notes and VMCOREINFO themselves |
//! | next `bitmap_blocks` | two bitmaps of one bit per pfn: the first marks RAM, the second the pages stored in the file |
//! | then | one `page_desc { offset: i64, size: u32, flags: u32, page_flags: u64 }` per set bit of the second bitmap, in pfn order, then the page data they point to |
//!
//! A page's data is compressed with zlib (flag `0x1`), LZO1X (`0x2`), snappy (`0x4`) or zstd
//! (`0x20`) when that made it smaller, and stored raw (flags `0`, `size` = page size) otherwise.
//! Fields of the sub-header exist only from the header version that introduced them (VMCOREINFO
//! from 3, notes from 4, eraseinfo from 5, 64-bit pfns from 6); they are not read in older files.
//! All integers are little-endian (x86-64).
//!
//! [`KdumpDump`] reads the headers and bitmaps once, builds a rank index over the second bitmap
//! so a page's descriptor is found in constant time, and decompresses pages on demand into a
//! small cache. Nothing is allocated from a size field before checking it against the file.
//!
//! ```no_run
//! use vmcore::{kdump::KdumpDump, source::MmapSource, PhysMem};
//! let dump = KdumpDump::parse(Box::new(MmapSource::open("vmcore".as_ref())?))?;
//! println!("{} pages stored, compression {}", dump.pages_present(), dump.compression());
//! let mut word = [0u8; 8];
//! dump.read_phys(0x1000, &mut word)?;
//! # Ok::<(), vmcore::Error>(())
//! ```

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Mutex;

use crate::source::{check_range, Source};
use crate::{Error, PageState, PhysMem, Result};

/// Signature of a kdump-compressed file written by makedumpfile or QEMU.
pub const KDUMP_SIGNATURE: &[u8; 8] = b"KDUMP   ";
/// Signature of the older diskdump format.
pub const DISKDUMP_SIGNATURE: &[u8; 8] = b"DISKDUMP";

/// Page descriptor flag: the page is zlib-compressed.
pub const DUMP_DH_COMPRESSED_ZLIB: u32 = 0x1;
/// Page descriptor flag: the page is LZO1X-compressed.
pub const DUMP_DH_COMPRESSED_LZO: u32 = 0x2;
/// Page descriptor flag: the page is snappy-compressed (raw snappy format).
pub const DUMP_DH_COMPRESSED_SNAPPY: u32 = 0x4;
/// Header status flag: the dump was cut short (e.g. the disk filled up).
pub const DUMP_DH_COMPRESSED_INCOMPLETE: u32 = 0x8;
/// Header status flag: unused `vmemmap` pages were excluded.
pub const DUMP_DH_EXCLUDED_VMEMMAP: u32 = 0x10;
/// Page descriptor flag: the page is zstd-compressed.
pub const DUMP_DH_COMPRESSED_ZSTD: u32 = 0x20;
/// Old diskdump header status: the dump is incomplete.
pub const DUMP_HEADER_INCOMPLETED: u32 = 0x1;

const COMPRESSION_MASK: u32 = DUMP_DH_COMPRESSED_ZLIB
    | DUMP_DH_COMPRESSED_LZO
    | DUMP_DH_COMPRESSED_SNAPPY
    | DUMP_DH_COMPRESSED_ZSTD;

/// Size of `struct disk_dump_header` on x86-64.
pub const HEADER_SIZE: usize = 464;
/// The only `block_size` accepted: the x86-64 page size.
const X86_64_PAGE_SIZE: i32 = 4096;
/// Most page frames a dump can describe: 2^52 bytes of physical address space in 4 KiB pages.
const MAX_PFNS: u64 = 1 << 40;
/// Bytes of the page descriptor table checked at open for data past the end of the file
/// (64 MiB: every descriptor of a dump of up to 2.8M stored pages).
const DESC_SCAN: u64 = 64 << 20;
/// Every page-descriptor flag makedumpfile defines.
const KNOWN_DESC_FLAGS: u32 =
    COMPRESSION_MASK | DUMP_DH_COMPRESSED_INCOMPLETE | DUMP_DH_EXCLUDED_VMEMMAP;
/// Size of `struct kdump_sub_header` (version 6) on x86-64.
pub const SUB_HEADER_SIZE: usize = 104;
/// Size of a `struct page_desc`.
pub const PAGE_DESC_SIZE: u64 = 24;

const UTSNAME_OFFSET: usize = 12;
const UTSNAME_FIELD: usize = 65;
/// Bits of the second bitmap per entry of the rank index.
const RANK_BITS: u64 = 4096;
/// Decompressed pages kept in the cache.
const CACHE_PAGES: usize = 128;
/// Page descriptors sampled at open to tell which compressions are in use.
const DESC_SAMPLE: u64 = 256;

/// Which of the two header signatures a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// `"KDUMP   "`: makedumpfile or QEMU, with a `kdump_sub_header`.
    Kdump,
    /// `"DISKDUMP"`: the older diskdump format (no VMCOREINFO, notes or `phys_base`).
    Diskdump,
}

/// The fields of `struct kdump_sub_header` that the header version defines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubHeader {
    /// Physical load offset of the kernel (`phys_base`).
    pub phys_base: u64,
    /// makedumpfile's `-d` level (version 1+).
    pub dump_level: Option<i32>,
    /// Whether this file is one part of a split dump (version 2+).
    pub split: Option<i32>,
    /// First pfn of a split part (version 2+; 64-bit from version 6).
    pub start_pfn: Option<u64>,
    /// End pfn of a split part (version 2+; 64-bit from version 6).
    pub end_pfn: Option<u64>,
    /// File offset and size of VMCOREINFO (version 3+; `None` when zero).
    pub vmcoreinfo: Option<(u64, u64)>,
    /// File offset and size of the ELF notes (version 4+; `None` when zero).
    pub notes: Option<(u64, u64)>,
    /// File offset and size of the eraseinfo text (version 5+; `None` when zero).
    pub eraseinfo: Option<(u64, u64)>,
    /// 64-bit `max_mapnr` (version 6+).
    pub max_mapnr_64: Option<u64>,
}

/// A kdump-compressed (or diskdump) dump, read through a [`Source`].
pub struct KdumpDump {
    src: Box<dyn Source>,
    signature: Signature,
    header_version: i32,
    utsname: [u8; 6 * UTSNAME_FIELD],
    status: u32,
    page_shift: u32,
    sub: Option<SubHeader>,
    max_mapnr: u64,
    /// Number of pfns the bitmaps answer for: `max_mapnr` bounded by the bitmap size.
    nbits: u64,
    bitmap_offset: u64,
    /// Bytes of one bitmap.
    bitmap_len: u64,
    /// Whether the file has two bitmaps (otherwise the one bitmap serves as both).
    two_bitmaps: bool,
    /// A copy of the bitmaps when the source cannot lend them as one slice.
    bitmap_copy: Option<Vec<u8>>,
    /// `rank[i]`: set bits of bitmap 2 before pfn `i * RANK_BITS`.
    rank: Vec<u64>,
    /// For one part of a `makedumpfile --split` set: the pfns this file holds. Every part
    /// carries the whole set's bitmaps, and descriptors for its own pfns only.
    part: Option<std::ops::Range<u64>>,
    /// Stored pages before the part's first pfn (its first descriptor's index in the set).
    desc_base: u64,
    pages_ram: u64,
    pages_present: u64,
    pages_excluded: u64,
    desc_offset: u64,
    desc_flags_seen: u32,
    cache: Mutex<PageCache>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for KdumpDump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdumpDump")
            .field("signature", &self.signature)
            .field("header_version", &self.header_version)
            .field("page_size", &self.page_size())
            .field("compression", &self.compression())
            .field("max_mapnr", &self.max_mapnr)
            .field("pages_present", &self.pages_present)
            .field("pages_excluded", &self.pages_excluded())
            .finish_non_exhaustive()
    }
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::Malformed {
        what: "kdump header",
        reason: reason.into(),
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn le_i32(b: &[u8], at: usize) -> i32 {
    le_u32(b, at) as i32
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Whether `bytes` (the start of a file) carry a kdump or diskdump signature.
pub fn is_kdump(bytes: &[u8]) -> bool {
    bytes.starts_with(KDUMP_SIGNATURE) || bytes.starts_with(DISKDUMP_SIGNATURE)
}

impl KdumpDump {
    /// Read the headers and bitmaps of the dump held by `src`.
    ///
    /// Fails with [`Error::UnknownFormat`] without a signature, [`Error::Malformed`] for
    /// impossible header values, and [`Error::Truncated`] when the headers or bitmaps lie past
    /// the end of the file. Problems with single pages surface only when they are read.
    pub fn parse(src: Box<dyn Source>) -> Result<KdumpDump> {
        let total = src.len();
        let mut hdr = [0u8; HEADER_SIZE];
        let sig_len = total.min(8) as usize;
        src.read_at(0, &mut hdr[..sig_len], "kdump signature")?;
        if !is_kdump(&hdr[..sig_len]) {
            return Err(Error::UnknownFormat(
                "no KDUMP or DISKDUMP signature".into(),
            ));
        }
        src.read_at(0, &mut hdr, "kdump header")?;
        let signature = if hdr.starts_with(KDUMP_SIGNATURE) {
            Signature::Kdump
        } else {
            Signature::Diskdump
        };
        let header_version = le_i32(&hdr, 8);
        let mut utsname = [0u8; 6 * UTSNAME_FIELD];
        utsname.copy_from_slice(&hdr[UTSNAME_OFFSET..UTSNAME_OFFSET + 6 * UTSNAME_FIELD]);
        let status = le_u32(&hdr, 424);
        let block_size = le_i32(&hdr, 428);
        let sub_hdr_size = le_i32(&hdr, 432);
        let bitmap_blocks = le_u32(&hdr, 436) as u64;
        let max_mapnr_32 = le_u32(&hdr, 440) as u64;

        if block_size != X86_64_PAGE_SIZE {
            return Err(malformed(format!(
                "block_size {block_size} is not the x86-64 page size {X86_64_PAGE_SIZE} \
                 (only x86-64 dumps with 4 KiB pages are supported)"
            )));
        }
        if header_version < 1 {
            return Err(malformed(format!(
                "header_version {header_version} is not a kdump header version (1 to 6)"
            )));
        }
        let bs = block_size as u64;
        if sub_hdr_size < 0 {
            return Err(malformed(format!("negative sub_hdr_size {sub_hdr_size}")));
        }
        let mut warnings = Vec::new();
        if header_version > 6 {
            warnings.push(format!(
                "header version {header_version} is newer than 6; read as version 6"
            ));
        }
        if signature == Signature::Kdump && header_version < 3 {
            warnings.push(format!(
                "header version {header_version} predates VMCOREINFO in the header (version 3)"
            ));
        }

        let sub = match signature {
            Signature::Kdump => Some(read_sub_header(&*src, bs, header_version)?),
            Signature::Diskdump => None,
        };
        let max_mapnr = sub
            .as_ref()
            .and_then(|s| s.max_mapnr_64)
            .unwrap_or(max_mapnr_32);

        // The bitmaps: bounded by the file before anything is allocated or mapped.
        let bitmap_offset = (1 + sub_hdr_size as u64) * bs;
        let bitmap_total = bitmap_blocks * bs;
        check_range(bitmap_offset, bitmap_total, total, "kdump bitmaps")?;
        // crash's rule: two bitmaps when there is room for two bitmaps of max_mapnr bits.
        let one_bitmap = max_mapnr.div_ceil(8).div_ceil(bs).saturating_mul(bs);
        let two_bitmaps = match signature {
            Signature::Kdump => bitmap_total >= one_bitmap.saturating_mul(2),
            Signature::Diskdump => bitmap_total >= one_bitmap.saturating_mul(2) && bitmap_total > 0,
        };
        let bitmap_len = if two_bitmaps {
            bitmap_total / 2
        } else {
            bitmap_total
        };
        if max_mapnr > MAX_PFNS {
            return Err(malformed(format!(
                "max_mapnr {max_mapnr} pages is beyond the 52-bit physical address space"
            )));
        }
        let nbits = max_mapnr.min(bitmap_len * 8);
        if max_mapnr > bitmap_len * 8 {
            warnings.push(format!(
                "max_mapnr {max_mapnr} exceeds the {} pfns the bitmaps describe",
                bitmap_len * 8
            ));
        }
        let desc_offset = bitmap_offset + bitmap_total;

        let bitmap_copy = match usize::try_from(bitmap_total)
            .ok()
            .and_then(|n| src.slice(bitmap_offset, n))
        {
            Some(_) => None,
            None => {
                let mut v = vec![0u8; bitmap_total as usize];
                src.read_at(bitmap_offset, &mut v, "kdump bitmaps")?;
                Some(v)
            }
        };

        let mut dump = KdumpDump {
            src,
            signature,
            header_version,
            utsname,
            status,
            page_shift: bs.trailing_zeros(),
            sub,
            max_mapnr,
            nbits,
            bitmap_offset,
            bitmap_len,
            two_bitmaps,
            bitmap_copy,
            rank: Vec::new(),
            part: None,
            desc_base: 0,
            pages_ram: 0,
            pages_present: 0,
            pages_excluded: 0,
            desc_offset,
            desc_flags_seen: 0,
            cache: Mutex::new(PageCache::default()),
            warnings,
        };
        dump.build_rank();
        dump.find_part();
        dump.pages_ram = count_bits(dump.bitmap1(), 0, nbits);
        dump.pages_excluded = dump.count_excluded();
        dump.check_ranges();
        dump.sample_descs();
        dump.check_descs();
        Ok(dump)
    }

    fn bitmaps(&self) -> &[u8] {
        match &self.bitmap_copy {
            Some(v) => v,
            None => {
                let n = if self.two_bitmaps {
                    self.bitmap_len * 2
                } else {
                    self.bitmap_len
                };
                self.src
                    .slice(self.bitmap_offset, n as usize)
                    .expect("bitmaps were lent at parse")
            }
        }
    }

    fn bitmap1(&self) -> &[u8] {
        &self.bitmaps()[..self.bitmap_len as usize]
    }

    fn bitmap2(&self) -> &[u8] {
        let b = self.bitmaps();
        if self.two_bitmaps {
            &b[self.bitmap_len as usize..]
        } else {
            b
        }
    }

    fn build_rank(&mut self) {
        let blocks = self.nbits.div_ceil(RANK_BITS);
        let mut rank = Vec::with_capacity(blocks as usize + 1);
        let mut sum = 0u64;
        {
            let b2 = self.bitmap2();
            for i in 0..blocks {
                rank.push(sum);
                let start = i * RANK_BITS;
                sum += count_bits(b2, start, (start + RANK_BITS).min(self.nbits));
            }
        }
        rank.push(sum);
        self.pages_present = sum;
        self.rank = rank;
    }

    /// A part of a split set: its pfn range, and the descriptors it holds.
    fn find_part(&mut self) {
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
    fn stored_before(&self, pfn: u64) -> u64 {
        let pfn = pfn.min(self.nbits);
        let block = pfn / RANK_BITS;
        match self.rank.get(block as usize) {
            Some(r) => r + count_bits(self.bitmap2(), block * RANK_BITS, pfn),
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

    /// Validate the VMCOREINFO, notes and eraseinfo ranges; drop (with a warning) those outside the file.
    fn check_ranges(&mut self) {
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
    fn check_descs(&mut self) {
        let n = self.pages_present;
        if n == 0 {
            return;
        }
        let total = self.src.len();
        let table_end = self
            .desc_offset
            .saturating_add(n.saturating_mul(PAGE_DESC_SIZE));
        let desc = |at: u64| {
            let mut d = [0u8; PAGE_DESC_SIZE as usize];
            self.src
                .read_at(at, &mut d, "kdump page descriptor")
                .ok()
                .map(|_| (le_u64(&d, 0) as i64, u64::from(le_u32(&d, 8))))
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
            for d in buf[..len].chunks_exact(PAGE_DESC_SIZE as usize) {
                let (off, size) = (le_u64(d, 0) as i64, u64::from(le_u32(d, 8)));
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
    fn sample_descs(&mut self) {
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
            for d in buf.chunks_exact(PAGE_DESC_SIZE as usize) {
                self.desc_flags_seen |= le_u32(d, 12) & COMPRESSION_MASK;
            }
        }
    }

    /// `"KDUMP"` or `"DISKDUMP"`.
    pub fn signature(&self) -> &'static str {
        match self.signature {
            Signature::Kdump => "KDUMP",
            Signature::Diskdump => "DISKDUMP",
        }
    }

    /// Which signature the file has.
    pub fn signature_kind(&self) -> Signature {
        self.signature
    }

    /// The `header_version` field (makedumpfile writes 6, QEMU 6; older tools 1 to 5).
    pub fn header_version(&self) -> i32 {
        self.header_version
    }

    /// The page (block) size.
    pub fn page_size(&self) -> u64 {
        1 << self.page_shift
    }

    /// The raw `status` field of the header.
    pub fn status(&self) -> u32 {
        self.status
    }

    /// The compression flags in use: those the header's status announces (kdump only), and those
    /// found on a sample of the first page descriptors.
    pub fn compression_flags(&self) -> u32 {
        let from_status = match self.signature {
            Signature::Kdump => self.status & COMPRESSION_MASK,
            // In diskdump files bit 0 of the status means "incomplete", not zlib.
            Signature::Diskdump => 0,
        };
        from_status | self.desc_flags_seen
    }

    /// The compression of the pages: `"none"`, `"zlib"`, `"lzo"`, `"snappy"`, `"zstd"`, or
    /// `"mixed"` when more than one is in use (see [`compression_flags`](Self::compression_flags)).
    pub fn compression(&self) -> &'static str {
        match self.compression_flags() {
            0 => "none",
            DUMP_DH_COMPRESSED_ZLIB => "zlib",
            DUMP_DH_COMPRESSED_LZO => "lzo",
            DUMP_DH_COMPRESSED_SNAPPY => "snappy",
            DUMP_DH_COMPRESSED_ZSTD => "zstd",
            _ => "mixed",
        }
    }

    /// Whether the writer marked the dump incomplete (it ran out of space or was interrupted).
    pub fn is_incomplete(&self) -> bool {
        match self.signature {
            Signature::Kdump => self.status & DUMP_DH_COMPRESSED_INCOMPLETE != 0,
            Signature::Diskdump => self.status & DUMP_HEADER_INCOMPLETED != 0,
        }
    }

    fn utsname_field(&self, i: usize) -> Option<String> {
        let f = &self.utsname[i * UTSNAME_FIELD..(i + 1) * UTSNAME_FIELD];
        let f = &f[..f.iter().position(|&b| b == 0).unwrap_or(f.len())];
        if f.is_empty() || !f.iter().all(|&b| b.is_ascii_graphic() || b == b' ') {
            return None;
        }
        Some(String::from_utf8_lossy(f).into_owned())
    }

    /// `utsname.release` (the kernel version), or `None` when empty or not printable text
    /// (QEMU leaves it empty).
    pub fn utsname_release(&self) -> Option<String> {
        self.utsname_field(2)
    }

    /// `utsname.machine` (e.g. `x86_64`), or `None` when empty or not printable text.
    pub fn utsname_machine(&self) -> Option<String> {
        self.utsname_field(4)
    }

    /// The sub-header fields the header version defines (`None` for a diskdump file).
    pub fn sub_header(&self) -> Option<&SubHeader> {
        self.sub.as_ref()
    }

    /// The kernel's `phys_base` from the sub-header (`None` for a diskdump file).
    pub fn phys_base(&self) -> Option<u64> {
        self.sub.as_ref().map(|s| s.phys_base)
    }

    /// Number of page frames the dump describes (64-bit `max_mapnr` from version 6 on).
    pub fn max_mapnr(&self) -> u64 {
        self.max_mapnr
    }

    /// Pages of RAM (set in the first bitmap).
    pub fn pages_ram(&self) -> u64 {
        self.pages_ram
    }

    /// Pages stored in the file (set in the second bitmap).
    pub fn pages_present(&self) -> u64 {
        self.pages_present
    }

    /// Pages of RAM that were filtered out (set in the first bitmap, clear in the second).
    pub fn pages_excluded(&self) -> u64 {
        self.pages_excluded
    }

    fn count_excluded(&self) -> u64 {
        if !self.two_bitmaps {
            return 0;
        }
        let (b1, b2) = (self.bitmap1(), self.bitmap2());
        let nbytes = (self.nbits / 8) as usize;
        let mut n: u64 = b1[..nbytes]
            .iter()
            .zip(&b2[..nbytes])
            .map(|(a, b)| (a & !b).count_ones() as u64)
            .sum();
        let tail = self.nbits % 8;
        if tail != 0 {
            let mask = (1u8 << tail) - 1;
            n += (b1[nbytes] & !b2[nbytes] & mask).count_ones() as u64;
        }
        n
    }

    fn range_bytes(&self, range: Option<(u64, u64)>, what: &'static str) -> Option<Vec<u8>> {
        let (off, size) = range?;
        self.src
            .bytes(off, size as usize, what)
            .ok()
            .map(Cow::into_owned)
    }

    /// The raw VMCOREINFO text (version 3+), when the sub-header points at one inside the file.
    pub fn vmcoreinfo(&self) -> Option<Vec<u8>> {
        self.range_bytes(self.sub.as_ref()?.vmcoreinfo, "kdump VMCOREINFO")
    }

    /// The raw ELF notes (version 4+): `NT_PRSTATUS` per CPU, QEMU's CPU state notes, VMCOREINFO.
    pub fn notes(&self) -> Option<Vec<u8>> {
        self.range_bytes(self.sub.as_ref()?.notes, "kdump ELF notes")
    }

    /// The raw eraseinfo text (version 5+), when present.
    pub fn eraseinfo(&self) -> Option<Vec<u8>> {
        self.range_bytes(self.sub.as_ref()?.eraseinfo, "kdump eraseinfo")
    }

    /// Things found odd but not fatal while opening (e.g. a VMCOREINFO range past the end of file).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The bits of `pfn` in bitmap 1 (RAM) and bitmap 2 (stored); `None` past the bitmaps.
    fn bits(&self, pfn: u64) -> Option<(bool, bool)> {
        if pfn >= self.nbits {
            return None;
        }
        let (byte, bit) = ((pfn / 8) as usize, pfn % 8);
        let b1 = self.bitmap1()[byte] >> bit & 1 != 0;
        let b2 = self.bitmap2()[byte] >> bit & 1 != 0;
        Some((b1, b2))
    }

    /// Index of `pfn`'s page descriptor in this file (the pfn must be set in bitmap 2, and in
    /// the part's range for a split part).
    fn desc_index(&self, pfn: u64) -> u64 {
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
    fn page_desc(&self, pfn: u64) -> Result<(u64, usize, u32)> {
        let paddr = pfn << self.page_shift;
        let corrupt = |reason: String| Error::CorruptPage { paddr, reason };
        let at = self.desc_offset + self.desc_index(pfn) * PAGE_DESC_SIZE;
        let mut d = [0u8; PAGE_DESC_SIZE as usize];
        self.src
            .read_at(at, &mut d, "kdump page descriptor")
            .map_err(|_| {
                corrupt(format!(
                    "page descriptor at {at:#x} lies past the end of the file ({:#x} bytes)",
                    self.src.len()
                ))
            })?;
        let offset = le_u64(&d, 0) as i64;
        let size = le_u32(&d, 8);
        let flags = le_u32(&d, 12);
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
    fn decode_page(
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
    fn read_stored(&self, pfn: u64, off: usize, out: &mut [u8]) -> Result<()> {
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(pfn)
        {
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
        let mut page = vec![0u8; ps].into_boxed_slice();
        self.decode_page(pfn, (offset, size, flags), &mut page)?;
        out.copy_from_slice(&page[off..off + out.len()]);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(pfn, page);
        Ok(())
    }
}

impl PhysMem for KdumpDump {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size();
        let mut done = 0usize;
        while done < buf.len() {
            let addr = paddr
                .checked_add(done as u64)
                .ok_or(Error::NotPresent { paddr: u64::MAX })?;
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

fn read_sub_header(src: &dyn Source, bs: u64, version: i32) -> Result<SubHeader> {
    // How much of the sub-header this version defines.
    let size = match version {
        i32::MIN..=0 => 8,
        1 => 12,
        2 => 32,
        3 => 48,
        4 => 64,
        5 => 80,
        _ => SUB_HEADER_SIZE,
    };
    let mut b = [0u8; SUB_HEADER_SIZE];
    src.read_at(bs, &mut b[..size], "kdump sub-header")?;
    let range = |at: usize| {
        let (off, len) = (le_u64(&b, at), le_u64(&b, at + 8));
        (off != 0 && len != 0).then_some((off, len))
    };
    let v = version;
    Ok(SubHeader {
        phys_base: le_u64(&b, 0),
        dump_level: (v >= 1).then(|| le_i32(&b, 8)),
        split: (v >= 2).then(|| le_i32(&b, 12)),
        start_pfn: (v >= 2).then(|| {
            if v >= 6 {
                le_u64(&b, 80)
            } else {
                le_u64(&b, 16)
            }
        }),
        end_pfn: (v >= 2).then(|| {
            if v >= 6 {
                le_u64(&b, 88)
            } else {
                le_u64(&b, 24)
            }
        }),
        vmcoreinfo: if v >= 3 { range(32) } else { None },
        notes: if v >= 4 { range(48) } else { None },
        eraseinfo: if v >= 5 { range(64) } else { None },
        max_mapnr_64: (v >= 6).then(|| le_u64(&b, 96)),
    })
}

/// Set bits of `bits` (bit `i` = byte `i/8`, bit `i%8`) in `[from, to)`; bits past the slice count as clear.
fn count_bits(bits: &[u8], from: u64, to: u64) -> u64 {
    let to = to.min(bits.len() as u64 * 8);
    if from >= to {
        return 0;
    }
    let (fb, tb) = ((from / 8) as usize, (to / 8) as usize);
    let (fo, to_) = (from % 8, to % 8);
    if fb == tb {
        let mask = ((1u16 << to_) - (1u16 << fo)) as u8;
        return (bits[fb] & mask).count_ones() as u64;
    }
    let mut n = (bits[fb] >> fo).count_ones() as u64;
    let mid = &bits[fb + 1..tb];
    let mut words = mid.chunks_exact(8);
    for w in &mut words {
        n += u64::from_le_bytes(w.try_into().expect("8 bytes")).count_ones() as u64;
    }
    n += words
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>();
    if to_ != 0 {
        n += (bits[tb] & ((1u8 << to_) - 1)).count_ones() as u64;
    }
    n
}

/// Decompress one page of `data` compressed as `method` (one of the `DUMP_DH_COMPRESSED_*`
/// flags, or 0 for raw) into `out`, which must be filled exactly.
pub fn decompress(method: u32, data: &[u8], out: &mut [u8]) -> std::result::Result<(), String> {
    let want = out.len();
    let got = match method {
        0 => {
            if data.len() != want {
                return Err(format!("raw page has {} bytes, not {want}", data.len()));
            }
            out.copy_from_slice(data);
            want
        }
        DUMP_DH_COMPRESSED_ZLIB => {
            let mut z = flate2::Decompress::new(true);
            match z.decompress(data, out, flate2::FlushDecompress::Finish) {
                Ok(flate2::Status::StreamEnd) => z.total_out() as usize,
                Ok(_) if z.total_out() as usize == want => {
                    return Err(format!("zlib data decompresses to more than {want} bytes"))
                }
                Ok(_) => {
                    return Err(format!(
                        "zlib data ends after {} bytes of {want}",
                        z.total_out()
                    ))
                }
                Err(e) => return Err(format!("zlib: {e}")),
            }
        }
        DUMP_DH_COMPRESSED_LZO => lzo1x_decompress(data, out).map_err(|e| format!("lzo: {e}"))?,
        DUMP_DH_COMPRESSED_SNAPPY => {
            let n = snap::raw::decompress_len(data).map_err(|e| format!("snappy: {e}"))?;
            if n != want {
                return Err(format!("snappy data decompresses to {n} bytes, not {want}"));
            }
            snap::raw::Decoder::new()
                .decompress(data, out)
                .map_err(|e| format!("snappy: {e}"))?
        }
        DUMP_DH_COMPRESSED_ZSTD => ZSTD.with(|z| {
            let mut z = z.borrow_mut();
            if z.is_none() {
                *z = Some(zstd::bulk::Decompressor::new().map_err(|e| format!("zstd: {e}"))?);
            }
            z.as_mut()
                .expect("just set")
                .decompress_to_buffer(data, out)
                .map_err(|e| format!("zstd: {e}"))
        })?,
        other => return Err(format!("unknown compression flags {other:#x}")),
    };
    if got != want {
        return Err(format!("page decompresses to {got} bytes, not {want}"));
    }
    Ok(())
}

thread_local! {
    static ZSTD: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Decompress an LZO1X stream (as `lzo1x_decompress_safe`) into `out`; returns the bytes written.
///
/// Every read and write is bounds-checked: corrupt input gives an error, never a panic, and the
/// output never grows past `out`.
pub fn lzo1x_decompress(src: &[u8], out: &mut [u8]) -> std::result::Result<usize, &'static str> {
    const INPUT: &str = "input overrun";
    const OUTPUT: &str = "output overrun";
    struct In<'a> {
        s: &'a [u8],
        i: usize,
    }
    impl In<'_> {
        fn byte(&mut self) -> std::result::Result<usize, &'static str> {
            let b = *self.s.get(self.i).ok_or(INPUT)?;
            self.i += 1;
            Ok(b as usize)
        }
        fn le16(&mut self) -> std::result::Result<usize, &'static str> {
            Ok(self.byte()? | self.byte()? << 8)
        }
        /// A length continued in zero bytes: each zero adds 255, the final non-zero byte adds itself.
        fn ext_len(&mut self, base: usize) -> std::result::Result<usize, &'static str> {
            let mut n = base;
            loop {
                match self.byte()? {
                    0 => n = n.checked_add(255).ok_or(OUTPUT)?,
                    b => return n.checked_add(b).ok_or(OUTPUT),
                }
            }
        }
        fn take(&mut self, n: usize) -> std::result::Result<&[u8], &'static str> {
            let end = self.i.checked_add(n).ok_or(INPUT)?;
            let s = self.s.get(self.i..end).ok_or(INPUT)?;
            self.i = end;
            Ok(s)
        }
    }
    let mut ip = In { s: src, i: 0 };
    let mut op = 0usize;
    let literal = |ip: &mut In,
                   op: &mut usize,
                   out: &mut [u8],
                   n: usize|
     -> std::result::Result<(), &'static str> {
        let s = ip.take(n)?;
        out.get_mut(*op..*op + n).ok_or(OUTPUT)?.copy_from_slice(s);
        *op += n;
        Ok(())
    };
    let mut state = 0usize;
    match src.first() {
        Some(&b) if b >= 22 => {
            ip.i = 1;
            literal(&mut ip, &mut op, out, b as usize - 17)?;
            state = 4;
        }
        Some(&b) if b >= 18 => {
            ip.i = 1;
            state = b as usize - 17;
            literal(&mut ip, &mut op, out, state)?;
        }
        Some(_) => {}
        None => return Err(INPUT),
    }
    loop {
        let inst = ip.byte()?;
        let (dist, len, next);
        if inst >= 64 {
            // M2: 3..8 bytes within 2 KiB.
            let h = ip.byte()?;
            dist = (h << 3) + ((inst >> 2) & 7) + 1;
            len = (inst >> 5) + 1;
            next = inst & 3;
        } else if inst >= 32 {
            // M3: within 16 KiB.
            let l = inst & 31;
            len = if l == 0 { ip.ext_len(31)? + 2 } else { l + 2 };
            let v = ip.le16()?;
            dist = (v >> 2) + 1;
            next = v & 3;
        } else if inst >= 16 {
            // M4: 16..48 KiB, or the end of the stream.
            let l = inst & 7;
            len = if l == 0 { ip.ext_len(7)? + 2 } else { l + 2 };
            let v = ip.le16()?;
            let d = ((inst & 8) << 11) + (v >> 2);
            if d == 0 {
                break;
            }
            dist = d + 16384;
            next = v & 3;
        } else if state == 0 {
            // A run of 4 or more literals.
            let n = if inst == 0 {
                ip.ext_len(15)? + 3
            } else {
                inst + 3
            };
            literal(&mut ip, &mut op, out, n)?;
            state = 4;
            continue;
        } else if state != 4 {
            // M1 after 1..3 literals: 2 bytes within 1 KiB.
            let h = ip.byte()?;
            dist = (inst >> 2) + (h << 2) + 1;
            len = 2;
            next = inst & 3;
        } else {
            // M1 after a literal run: 3 bytes at 2..3 KiB.
            let h = ip.byte()?;
            dist = (inst >> 2) + (h << 2) + 2049;
            len = 3;
            next = inst & 3;
        }
        if dist > op {
            return Err("lookbehind overrun");
        }
        if op + len > out.len() {
            return Err(OUTPUT);
        }
        let from = op - dist;
        if dist >= len {
            out.copy_within(from..from + len, op);
        } else {
            for k in 0..len {
                out[op + k] = out[from + k];
            }
        }
        op += len;
        state = next;
        literal(&mut ip, &mut op, out, next)?;
    }
    if ip.i != src.len() {
        return Err("input not consumed");
    }
    Ok(op)
}

/// A small LRU cache of decompressed pages.
#[derive(Default)]
struct PageCache {
    entries: Vec<CacheEntry>,
    clock: u64,
}

struct CacheEntry {
    pfn: u64,
    used: u64,
    page: Box<[u8]>,
}

impl PageCache {
    fn get(&mut self, pfn: u64) -> Option<&[u8]> {
        self.clock += 1;
        let clock = self.clock;
        let e = self.entries.iter_mut().find(|e| e.pfn == pfn)?;
        e.used = clock;
        Some(&e.page)
    }

    fn insert(&mut self, pfn: u64, page: Box<[u8]>) {
        self.clock += 1;
        let used = self.clock;
        if let Some(e) = self.entries.iter_mut().find(|e| e.pfn == pfn) {
            e.page = page;
            e.used = used;
        } else if self.entries.len() < CACHE_PAGES {
            self.entries.push(CacheEntry { pfn, used, page });
        } else {
            let lru = self
                .entries
                .iter_mut()
                .min_by_key(|e| e.used)
                .expect("cache is full");
            *lru = CacheEntry { pfn, used, page };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_bits_ranges() {
        let b = [
            0b1010_1010u8,
            0xff,
            0x00,
            0x0f,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0x01,
        ];
        let naive = |f: u64, t: u64| {
            (f..t)
                .filter(|&i| b[(i / 8) as usize] >> (i % 8) & 1 != 0)
                .count() as u64
        };
        for f in 0..96 {
            for t in f..=96 {
                assert_eq!(count_bits(&b, f, t), naive(f, t), "{f}..{t}");
            }
        }
        assert_eq!(count_bits(&b, 90, 200), naive(90, 96));
    }

    #[test]
    fn lzo_round_trip_and_corruption_never_panics() {
        let mut page = vec![0u8; 4096];
        for (i, b) in page.iter_mut().enumerate() {
            *b = if i % 300 < 100 {
                (i % 7) as u8
            } else {
                b"the quick brown fox "[i % 20]
            };
        }
        let c = lzokay_native::compress(&page).unwrap();
        let mut out = vec![0u8; 4096];
        assert_eq!(lzo1x_decompress(&c, &mut out), Ok(4096));
        assert_eq!(out, page);
        // Literal-only and zero pages.
        for p in [
            vec![0u8; 4096],
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ] {
            let c = lzokay_native::compress(&p).unwrap();
            assert_eq!(lzo1x_decompress(&c, &mut out), Ok(4096));
            assert_eq!(out, p);
        }
        // Every truncation and many single-byte corruptions: errors or wrong output, never a panic.
        for cut in 0..c.len() {
            let _ = lzo1x_decompress(&c[..cut], &mut out);
        }
        for i in 0..c.len() {
            for x in [0x00u8, 0x11, 0x20, 0x40, 0xff] {
                let mut bad = c.clone();
                bad[i] ^= x;
                let _ = lzo1x_decompress(&bad, &mut out);
            }
        }
        let mut small = [0u8; 100];
        assert_eq!(lzo1x_decompress(&c, &mut small), Err("output overrun"));
    }

    #[test]
    fn decompress_checks_sizes() {
        let page = vec![7u8; 4096];
        let mut out = vec![0u8; 4096];
        let z = {
            use std::io::Write;
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&page[..4000]).unwrap();
            e.finish().unwrap()
        };
        assert!(decompress(DUMP_DH_COMPRESSED_ZLIB, &z, &mut out)
            .unwrap_err()
            .contains("4000"));
        let s = snap::raw::Encoder::new()
            .compress_vec(&[1u8; 5000])
            .unwrap();
        assert!(decompress(DUMP_DH_COMPRESSED_SNAPPY, &s, &mut out).is_err());
        let zs = zstd::bulk::compress(&[1u8; 5000], 1).unwrap();
        assert!(decompress(DUMP_DH_COMPRESSED_ZSTD, &zs, &mut out).is_err());
        let zs = zstd::bulk::compress(&page, 1).unwrap();
        assert!(decompress(DUMP_DH_COMPRESSED_ZSTD, &zs, &mut out).is_ok());
        assert_eq!(out, page);
        assert!(decompress(0x40, &zs, &mut out).is_err());
    }

    #[test]
    fn cache_is_bounded_lru() {
        let mut c = PageCache::default();
        for pfn in 0..(CACHE_PAGES as u64 + 10) {
            c.insert(pfn, vec![pfn as u8; 8].into_boxed_slice());
            assert!(c.get(0).is_some(), "pfn 0 is kept hot");
        }
        assert_eq!(c.entries.len(), CACHE_PAGES);
        assert!(c.get(1).is_none());
        assert_eq!(
            c.get(CACHE_PAGES as u64 + 9).unwrap()[0],
            (CACHE_PAGES + 9) as u8
        );
    }
}
