//! A kdump-compressed dump writer, laid out as makedumpfile lays its files out.
//!
//! ```
//! use testdata::{kdump_writer::{write_kdump, Compression, KdumpOptions}, phys::PhysImage};
//! let mut image = PhysImage::new(vec![(0, 0x10_0000)]);
//! image.write(0x2000, b"hello");
//! let opts = KdumpOptions { compression: Compression::Zlib, ..KdumpOptions::default() };
//! let bytes = write_kdump(&image, &opts);
//! assert_eq!(&bytes[..8], b"KDUMP   ");
//! ```
//!
//! Layout (block size = page size = 4096):
//!
//! | blocks | content |
//! |---|---|
//! | 0 | `disk_dump_header` |
//! | 1.. | `kdump_sub_header`, then the ELF notes, then VMCOREINFO (`sub_hdr_size` blocks in all) |
//! | then | bitmap 1 (RAM pfns), bitmap 2 (RAM pfns not excluded), each rounded up to whole blocks |
//! | then | one `page_desc` per set bit of bitmap 2, the shared zero page, then every other page |
//!
//! Sub-header fields that the chosen header version does not define are filled with `0xA5`
//! bytes, so a reader that reads them anyway gets garbage and a test notices.

use std::io::Write;

use crate::phys::{PhysImage, PAGE_SIZE};

/// How pages are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Every page stored raw.
    #[default]
    None,
    /// zlib (`makedumpfile -c`), flag 0x1.
    Zlib,
    /// LZO1X (`makedumpfile -l`), flag 0x2.
    Lzo,
    /// snappy, raw format (`makedumpfile -p`), flag 0x4.
    Snappy,
    /// zstd (`makedumpfile -z`), flag 0x20.
    Zstd,
}

impl Compression {
    /// Every compression, for tests that try them all.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Zlib,
        Compression::Lzo,
        Compression::Snappy,
        Compression::Zstd,
    ];

    /// The page descriptor / header status flag of this compression.
    pub fn flag(self) -> u32 {
        match self {
            Compression::None => 0,
            Compression::Zlib => 0x1,
            Compression::Lzo => 0x2,
            Compression::Snappy => 0x4,
            Compression::Zstd => 0x20,
        }
    }

    /// The name a reader reports for it (`"none"`, `"zlib"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zlib => "zlib",
            Compression::Lzo => "lzo",
            Compression::Snappy => "snappy",
            Compression::Zstd => "zstd",
        }
    }

    /// Compress one page; `None` for [`Compression::None`].
    pub fn compress(self, page: &[u8]) -> Option<Vec<u8>> {
        Some(match self {
            Compression::None => return None,
            Compression::Zlib => {
                // makedumpfile: compress2(..., Z_BEST_SPEED), zlib wrapper.
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(page).expect("in-memory write");
                e.finish().expect("in-memory write")
            }
            Compression::Lzo => lzokay_native::compress(page).expect("lzo compress"),
            Compression::Snappy => snap::raw::Encoder::new()
                .compress_vec(page)
                .expect("snappy compress"),
            Compression::Zstd => zstd::bulk::compress(page, 1).expect("zstd compress"),
        })
    }
}

/// What to write.
#[derive(Debug, Clone)]
pub struct KdumpOptions {
    /// Page compression.
    pub compression: Compression,
    /// `header_version`, 1..=6 (makedumpfile and QEMU write 6).
    pub header_version: i32,
    /// Write makedumpfile's flattened stream instead of the plain file.
    pub flattened: bool,
    /// Leave zero-filled pages out of bitmap 2, so they read as excluded. Off, they are kept as
    /// one shared zero page, as QEMU and makedumpfile (`-d 1` included) write them.
    pub exclude_zero_pages: bool,
    /// Leave these pfns out of bitmap 2.
    pub exclude_pfns: Vec<u64>,
    /// VMCOREINFO text to store (header version 3+).
    pub vmcoreinfo: Option<Vec<u8>>,
    /// ELF note bytes to store (header version 4+).
    pub notes: Option<Vec<u8>>,
    /// `utsname.release`; empty leaves the whole utsname empty, as QEMU does.
    pub utsname_release: String,
    /// `phys_base` in the sub-header.
    pub phys_base: u64,
    /// Write the older `DISKDUMP` signature (no kdump sub-header fields).
    pub signature_diskdump: bool,
    /// Set `DUMP_DH_COMPRESSED_INCOMPLETE` in the header status.
    pub incomplete: bool,
    /// Write one part of a `makedumpfile --split` set: the pfns `start..end` only (the bitmaps
    /// stay the whole dump's, as makedumpfile writes them).
    pub split: Option<(u64, u64)>,
}

impl Default for KdumpOptions {
    fn default() -> Self {
        KdumpOptions {
            compression: Compression::None,
            header_version: 6,
            flattened: false,
            exclude_zero_pages: false,
            exclude_pfns: Vec::new(),
            vmcoreinfo: None,
            notes: None,
            utsname_release: "6.1.0-skbwalk".into(),
            phys_base: 0,
            signature_diskdump: false,
            incomplete: false,
            split: None,
        }
    }
}

/// Where the writer put things in the plain (not flattened) file, for tests that corrupt it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KdumpLayout {
    /// File offset of the sub-header.
    pub sub_header: u64,
    /// File offset and length of the notes, if stored.
    pub notes: Option<(u64, u64)>,
    /// File offset and length of VMCOREINFO, if stored.
    pub vmcoreinfo: Option<(u64, u64)>,
    /// File offset of bitmap 1.
    pub bitmap1: u64,
    /// File offset of bitmap 2.
    pub bitmap2: u64,
    /// File offset of the page descriptor table.
    pub descs: u64,
    /// pfn of each page descriptor, in table order.
    pub desc_pfns: Vec<u64>,
    /// File offset of the first page's data (the shared zero page).
    pub data: u64,
    /// Length of the plain file.
    pub len: u64,
}

/// Write `image` as a kdump-compressed file (or flattened stream, per `opts.flattened`).
pub fn write_kdump(image: &PhysImage, opts: &KdumpOptions) -> Vec<u8> {
    let (plain, layout) = write_kdump_with_layout(image, opts);
    if opts.flattened {
        flatten_like_makedumpfile(&plain, &layout)
    } else {
        plain
    }
}

const BS: u64 = PAGE_SIZE;

fn put(buf: &mut [u8], at: u64, bytes: &[u8]) {
    buf[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
}

/// Write `image` as a plain kdump-compressed file; also say where everything went.
/// (`opts.flattened` is ignored.)
pub fn write_kdump_with_layout(image: &PhysImage, opts: &KdumpOptions) -> (Vec<u8>, KdumpLayout) {
    let v = opts.header_version;
    assert!((1..=6).contains(&v), "header_version {v} not in 1..=6");
    let kdump = !opts.signature_diskdump;
    let max_mapnr = image.max_pfn();

    // Sub-header, notes and VMCOREINFO.
    let notes = opts.notes.as_ref().filter(|_| kdump && v >= 4);
    let vmcoreinfo = opts.vmcoreinfo.as_ref().filter(|_| kdump && v >= 3);
    let sub_len =
        104 + notes.map_or(0, |n| n.len()) as u64 + vmcoreinfo.map_or(0, |n| n.len()) as u64;
    let sub_hdr_size = sub_len.div_ceil(BS);
    let bitmap_len = max_mapnr.div_ceil(8).div_ceil(BS).max(1) * BS;
    let bitmap_blocks = 2 * bitmap_len / BS;
    let bitmap1 = (1 + sub_hdr_size) * BS;
    let bitmap2 = bitmap1 + bitmap_len;
    let descs = bitmap2 + bitmap_len;

    let zero = vec![0u8; PAGE_SIZE as usize];
    let page_of = |pfn: u64| image.page(pfn).unwrap_or(&zero);
    let excluded = |pfn: u64| {
        opts.exclude_pfns.contains(&pfn)
            || (opts.exclude_zero_pages && page_of(pfn).iter().all(|&b| b == 0))
    };
    let ram: Vec<u64> = image.ram_pfns().collect();
    let dumped: Vec<u64> = ram.iter().copied().filter(|&p| !excluded(p)).collect();
    // This file's pages: all of them, or a split part's range.
    let held: Vec<u64> = match opts.split {
        Some((a, b)) => dumped
            .iter()
            .copied()
            .filter(|p| (a..b).contains(p))
            .collect(),
        None => dumped.clone(),
    };
    let data = descs + held.len() as u64 * 24;

    // Page data: the shared zero page first, then the others in pfn order.
    let encode = |page: &[u8]| -> (Vec<u8>, u32) {
        match opts.compression.compress(page) {
            Some(c) if (c.len() as u64) < PAGE_SIZE => (c, opts.compression.flag()),
            _ => (page.to_vec(), 0),
        }
    };
    let mut body = Vec::new();
    let mut desc_table = Vec::with_capacity(held.len() * 24);
    let (zero_data, zero_flags) = encode(&zero);
    let zero_desc = (data, zero_data.len() as u32, zero_flags);
    body.extend_from_slice(&zero_data);
    for &pfn in &held {
        let (off, size, flags) = match image.page(pfn) {
            Some(p) if p.iter().any(|&b| b != 0) => {
                let (d, f) = encode(p);
                let off = data + body.len() as u64;
                body.extend_from_slice(&d);
                (off, d.len() as u32, f)
            }
            _ => zero_desc,
        };
        desc_table.extend_from_slice(&(off as i64).to_le_bytes());
        desc_table.extend_from_slice(&size.to_le_bytes());
        desc_table.extend_from_slice(&flags.to_le_bytes());
        desc_table.extend_from_slice(&0u64.to_le_bytes());
    }

    let len = data + body.len() as u64;
    let mut f = vec![0u8; len as usize];

    // disk_dump_header
    put(&mut f, 0, if kdump { b"KDUMP   " } else { b"DISKDUMP" });
    put(&mut f, 8, &v.to_le_bytes());
    if !opts.utsname_release.is_empty() {
        let field = |i: u64| 12 + 65 * i;
        put(&mut f, field(0), b"Linux");
        put(&mut f, field(1), b"skbwalk-test");
        let rel = opts.utsname_release.as_bytes();
        put(&mut f, field(2), &rel[..rel.len().min(64)]);
        put(&mut f, field(3), b"#1 SMP PREEMPT_DYNAMIC");
        put(&mut f, field(4), b"x86_64");
        put(&mut f, field(5), b"(none)");
    }
    put(&mut f, 408, &1_700_000_000i64.to_le_bytes()); // timestamp.tv_sec
    let mut status = if kdump { opts.compression.flag() } else { 0 };
    if opts.incomplete {
        status |= if kdump { 0x8 } else { 0x1 };
    }
    put(&mut f, 424, &status.to_le_bytes());
    put(&mut f, 428, &(BS as i32).to_le_bytes());
    put(&mut f, 432, &(sub_hdr_size as i32).to_le_bytes());
    put(&mut f, 436, &(bitmap_blocks as u32).to_le_bytes());
    put(&mut f, 440, &(max_mapnr as u32).to_le_bytes());
    put(&mut f, 444, &(dumped.len() as u32).to_le_bytes()); // total_ram_blocks
    put(&mut f, 452, &(dumped.len() as u32).to_le_bytes()); // written_blocks
    put(&mut f, 460, &1i32.to_le_bytes()); // nr_cpus

    // kdump_sub_header
    let sub = BS;
    let mut layout = KdumpLayout {
        sub_header: sub,
        bitmap1,
        bitmap2,
        descs,
        data,
        len,
        ..Default::default()
    };
    if kdump {
        let mut s = [0xa5u8; 104];
        let mut at = |off: usize, bytes: &[u8]| s[off..off + bytes.len()].copy_from_slice(bytes);
        at(0, &opts.phys_base.to_le_bytes());
        at(8, &1i32.to_le_bytes()); // dump_level
        let (start, end) = opts.split.unwrap_or((0, max_mapnr));
        if v >= 2 {
            at(12, &i32::from(opts.split.is_some()).to_le_bytes()); // split
            at(16, &start.to_le_bytes());
            at(24, &end.to_le_bytes());
        }
        let mut tail = sub + 104;
        if v >= 4 {
            let r = notes.map(|n| (tail, n.len() as u64));
            at(48, &r.map_or(0, |r| r.0).to_le_bytes());
            at(56, &r.map_or(0, |r| r.1).to_le_bytes());
            tail += r.map_or(0, |r| r.1);
            layout.notes = r;
        }
        if v >= 3 {
            let r = vmcoreinfo.map(|n| (tail, n.len() as u64));
            at(32, &r.map_or(0, |r| r.0).to_le_bytes());
            at(40, &r.map_or(0, |r| r.1).to_le_bytes());
            layout.vmcoreinfo = r;
        }
        if v >= 5 {
            at(64, &[0u8; 16]); // no eraseinfo
        }
        if v >= 6 {
            at(80, &start.to_le_bytes());
            at(88, &end.to_le_bytes());
            at(96, &max_mapnr.to_le_bytes());
        }
        put(&mut f, sub, &s);
        if let (Some(n), Some(r)) = (notes, layout.notes) {
            put(&mut f, r.0, n);
        }
        if let (Some(n), Some(r)) = (vmcoreinfo, layout.vmcoreinfo) {
            put(&mut f, r.0, n);
        }
    }

    for &pfn in &ram {
        f[(bitmap1 + pfn / 8) as usize] |= 1 << (pfn % 8);
    }
    for &pfn in &dumped {
        f[(bitmap2 + pfn / 8) as usize] |= 1 << (pfn % 8);
    }
    put(&mut f, descs, &desc_table);
    put(&mut f, data, &body);
    layout.desc_pfns = held;
    (f, layout)
}

/// A `makedumpfile --split` set of `parts` files, the pfns cut into ranges holding about as
/// many stored pages each (as makedumpfile divides them); returns each file and its range.
pub fn write_split_set(
    image: &PhysImage,
    opts: &KdumpOptions,
    parts: usize,
) -> Vec<(Vec<u8>, (u64, u64))> {
    let max = image.max_pfn();
    let ram: Vec<u64> = image.ram_pfns().collect();
    let per = ram.len().div_ceil(parts.max(1)).max(1);
    let mut bounds: Vec<u64> = (1..parts)
        .map(|i| ram.get(i * per).copied().unwrap_or(max))
        .collect();
    bounds.insert(0, 0);
    bounds.push(max);
    bounds
        .windows(2)
        .map(|w| {
            let range = (w[0], w[1]);
            let o = KdumpOptions {
                split: Some(range),
                ..opts.clone()
            };
            (write_kdump(image, &o), range)
        })
        .collect()
}

/// A flattened stream of `records` (logical offset, bytes), in the order given, with the end marker.
pub fn flatten_records(records: &[(u64, &[u8])]) -> Vec<u8> {
    let mut v = vec![0u8; 4096];
    v[..12].copy_from_slice(b"makedumpfile");
    v[16..24].copy_from_slice(&1i64.to_be_bytes());
    v[24..32].copy_from_slice(&1i64.to_be_bytes());
    for (off, data) in records {
        v.extend_from_slice(&(*off as i64).to_be_bytes());
        v.extend_from_slice(&(data.len() as i64).to_be_bytes());
        v.extend_from_slice(data);
    }
    v.extend_from_slice(&(-1i64).to_be_bytes());
    v.extend_from_slice(&(-1i64).to_be_bytes());
    v
}

/// Cut a plain file into records the way makedumpfile streams it: headers and bitmaps first,
/// then page descriptors and page data interleaved as their write caches fill (so records do
/// not come in logical order), in records of varying sizes.
pub fn flatten_like_makedumpfile(plain: &[u8], layout: &KdumpLayout) -> Vec<u8> {
    let mut recs: Vec<(u64, &[u8])> = Vec::new();
    let head = chunks(0, layout.bitmap1, BS);
    let bitmaps = chunks(layout.bitmap1, layout.descs, 3 * BS);
    let descs = chunks(layout.descs, layout.data, 1000);
    let data = chunks(layout.data, layout.len, 7000);
    for &(s, e) in head.iter().chain(&bitmaps) {
        recs.push((s, &plain[s as usize..e as usize]));
    }
    let (mut d, mut p) = (descs.iter(), data.iter());
    loop {
        // Two data records for each descriptor record.
        let a = p.next();
        let b = p.next();
        let c = d.next();
        for &(s, e) in [a, b, c].into_iter().flatten() {
            recs.push((s, &plain[s as usize..e as usize]));
        }
        if a.is_none() && c.is_none() {
            break;
        }
    }
    flatten_records(&recs)
}

/// `[start, end)` cut into pieces of at most `size` bytes.
fn chunks(start: u64, end: u64, size: u64) -> Vec<(u64, u64)> {
    let mut v = Vec::new();
    let mut s = start;
    while s < end {
        let e = (s + size).min(end);
        v.push((s, e));
        s = e;
    }
    v
}
