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
//! bounded cache of each reading thread's own. Nothing is allocated from a size field before
//! checking it against the file.
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

use crate::source::{check_range, Source};
use crate::{Error, Result};

mod bitmap;
mod cache;
mod checks;
mod codec;
mod header;
mod pages;
mod part;

use bitmap::count_bits;
use cache::PageCaches;
pub use codec::{decompress, lzo1x_decompress};
use header::{page_descs, read_sub_header, DiskDumpHeader, PageDesc};

/// Signature of a kdump-compressed file written by makedumpfile or QEMU.
pub(crate) const KDUMP_SIGNATURE: &[u8; 8] = b"KDUMP   ";
/// Signature of the older diskdump format.
pub(crate) const DISKDUMP_SIGNATURE: &[u8; 8] = b"DISKDUMP";

/// Page descriptor flag: the page is zlib-compressed.
pub(crate) const DUMP_DH_COMPRESSED_ZLIB: u32 = 0x1;
/// Page descriptor flag: the page is LZO1X-compressed.
pub(crate) const DUMP_DH_COMPRESSED_LZO: u32 = 0x2;
/// Page descriptor flag: the page is snappy-compressed (raw snappy format).
pub(crate) const DUMP_DH_COMPRESSED_SNAPPY: u32 = 0x4;
/// Header status flag: the dump was cut short (e.g. the disk filled up).
pub(crate) const DUMP_DH_COMPRESSED_INCOMPLETE: u32 = 0x8;
/// Header status flag: unused `vmemmap` pages were excluded.
pub(crate) const DUMP_DH_EXCLUDED_VMEMMAP: u32 = 0x10;
/// Page descriptor flag: the page is zstd-compressed.
pub(crate) const DUMP_DH_COMPRESSED_ZSTD: u32 = 0x20;
/// Old diskdump header status: the dump is incomplete.
pub(crate) const DUMP_HEADER_INCOMPLETED: u32 = 0x1;

const COMPRESSION_MASK: u32 = DUMP_DH_COMPRESSED_ZLIB
    | DUMP_DH_COMPRESSED_LZO
    | DUMP_DH_COMPRESSED_SNAPPY
    | DUMP_DH_COMPRESSED_ZSTD;

/// The only `block_size` accepted for an x86-64 machine: its page size.
const X86_64_PAGE_SIZE: i32 = 4096;
/// Most page frames a dump can describe: 2^52 bytes of physical address space in 4 KiB pages.
const MAX_PFNS: u64 = 1 << 40;
/// Bytes of the page descriptor table checked at open for data past the end of the file
/// (64 MiB: every descriptor of a dump of up to 2.8M stored pages).
const DESC_SCAN: u64 = 64 << 20;
/// Every page-descriptor flag makedumpfile defines.
const KNOWN_DESC_FLAGS: u32 =
    COMPRESSION_MASK | DUMP_DH_COMPRESSED_INCOMPLETE | DUMP_DH_EXCLUDED_VMEMMAP;
/// Size of a `struct page_desc`.
const PAGE_DESC_SIZE: u64 = std::mem::size_of::<PageDesc>() as u64;
/// Bits of the second bitmap per entry of the rank index.
const RANK_BITS: u64 = 4096;
const _: () = assert!(
    RANK_BITS.is_multiple_of(8),
    "rank blocks start on a bitmap byte"
);
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
    utsname: [[u8; 65]; 6],
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
    cache: PageCaches,
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
        let mut sig = [0u8; 8];
        let sig_len = total.min(8) as usize;
        src.read_at(0, &mut sig[..sig_len], "kdump signature")?;
        if !is_kdump(&sig[..sig_len]) {
            return Err(Error::UnknownFormat(
                "no KDUMP or DISKDUMP signature".into(),
            ));
        }
        let hdr: DiskDumpHeader = crate::pod::read(&*src, 0, "kdump header")?;
        let signature = if &hdr.signature == KDUMP_SIGNATURE {
            Signature::Kdump
        } else {
            Signature::Diskdump
        };
        let header_version = hdr.header_version.get();
        let utsname = hdr.utsname;
        let status = hdr.status.get();
        let block_size = hdr.block_size.get();
        let sub_hdr_size = hdr.sub_hdr_size.get();
        let bitmap_blocks = u64::from(hdr.bitmap_blocks.get());
        let max_mapnr_32 = u64::from(hdr.max_mapnr.get());

        // x86-64 pages are 4 KiB; arm64's are 4, 16 or 64 KiB, and QEMU writes arm64 guests'
        // dumps in 64 KiB blocks whatever the kernel's page size
        let machine = utsname_field(&utsname, 4).unwrap_or_default();
        let allowed: &[i32] = if machine == "x86_64" {
            &[X86_64_PAGE_SIZE]
        } else {
            &[4096, 16384, 65536]
        };
        if !allowed.contains(&block_size) {
            return Err(malformed(format!(
                "block_size {block_size} is not a page size of the machine ({})",
                if machine == "x86_64" {
                    "x86-64: 4096"
                } else {
                    "arm64: 4096, 16384 or 65536; x86-64: 4096"
                }
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
            cache: PageCaches::default(),
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

    /// Make this part's page caches its share of one dump's, when it is one of `parts` parts
    /// of a split set (a walk over the set then holds one dump's worth of decompressed pages
    /// per thread, not one per part).
    pub(crate) fn share_cache(&mut self, parts: usize) {
        self.cache = PageCaches::of_pages(cache::CACHE_PAGES / parts.max(1));
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

    /// Bytes `range` of bitmap 1 (or 2 with `second`), empty past its end: a page read touches
    /// (and, for a mapped file, counts in the resident budget) only the bytes it needs, not the
    /// whole bitmap each time.
    fn bitmap_range(&self, second: bool, range: std::ops::Range<usize>) -> &[u8] {
        let base = if second && self.two_bitmaps {
            self.bitmap_len as usize
        } else {
            0
        };
        let (start, end) = (base + range.start, base + range.end);
        match &self.bitmap_copy {
            Some(v) => v.get(start..end).unwrap_or(&[]),
            None => self
                .src
                .slice(self.bitmap_offset + start as u64, end.saturating_sub(start))
                .unwrap_or(&[]),
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
        utsname_field(&self.utsname, i)
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
        let b1 = self.bitmap_range(false, byte..byte + 1).first()? >> bit & 1 != 0;
        let b2 = self.bitmap_range(true, byte..byte + 1).first()? >> bit & 1 != 0;
        Some((b1, b2))
    }
}

/// Field `i` of a header's `utsname` (0 sysname … 4 machine), or `None` when empty or not
/// printable text.
fn utsname_field(utsname: &[[u8; 65]; 6], i: usize) -> Option<String> {
    let f = utsname.get(i)?;
    let f = &f[..f.iter().position(|&b| b == 0).unwrap_or(f.len())];
    if f.is_empty() || !f.iter().all(|&b| b.is_ascii_graphic() || b == b' ') {
        return None;
    }
    Some(String::from_utf8_lossy(f).into_owned())
}
