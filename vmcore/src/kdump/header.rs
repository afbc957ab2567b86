//! The kdump headers as makedumpfile lays them out on x86-64: `struct disk_dump_header`,
//! `struct kdump_sub_header` (which fields each header version defines) and
//! `struct page_desc`, read as plain-old-data.

use super::SubHeader;
use crate::pod::{self, pod, I32, I64, U32, U64};
use crate::source::Source;
use crate::Result;

/// `struct disk_dump_header` (x86-64: `struct timeval` is two 8-byte words, aligned to 8).
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct DiskDumpHeader {
    pub signature: [u8; 8],
    pub header_version: I32,
    /// `struct new_utsname`: sysname, nodename, release, version, machine, domainname.
    pub utsname: [[u8; 65]; 6],
    _pad: [u8; 6],
    pub timestamp: [U64; 2],
    pub status: U32,
    pub block_size: I32,
    pub sub_hdr_size: I32,
    pub bitmap_blocks: U32,
    pub max_mapnr: U32,
    pub total_ram_blocks: U32,
    pub device_blocks: U32,
    pub written_blocks: U32,
    pub current_cpu: U32,
    pub nr_cpus: I32,
}

/// `struct kdump_sub_header`, version 6 (earlier versions define a prefix of it).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawSubHeader {
    phys_base: U64,
    dump_level: I32,
    split: I32,
    start_pfn: U64,
    end_pfn: U64,
    offset_vmcoreinfo: U64,
    size_vmcoreinfo: U64,
    offset_note: U64,
    size_note: U64,
    offset_eraseinfo: U64,
    size_eraseinfo: U64,
    start_pfn_64: U64,
    end_pfn_64: U64,
    max_mapnr_64: U64,
}

/// `struct page_desc`: where one stored page's data is, how long, how compressed.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct PageDesc {
    pub offset: I64,
    pub size: U32,
    pub flags: U32,
    pub page_flags: U64,
}

pod!(DiskDumpHeader = 464, RawSubHeader = 104, PageDesc = 24);

pub(super) fn read_sub_header(src: &dyn Source, bs: u64, version: i32) -> Result<SubHeader> {
    // How much of the sub-header this version defines; the rest reads as zero.
    let size = match version {
        i32::MIN..=0 => 8,
        1 => 12,
        2 => 32,
        3 => 48,
        4 => 64,
        5 => 80,
        _ => std::mem::size_of::<RawSubHeader>(),
    };
    let mut b = [0u8; std::mem::size_of::<RawSubHeader>()];
    src.read_at(bs, &mut b[..size], "kdump sub-header")?;
    let r: &RawSubHeader = pod::from_bytes(&b).expect("a whole sub-header");
    let range =
        |off: U64, len: U64| (off.get() != 0 && len.get() != 0).then_some((off.get(), len.get()));
    let v = version;
    Ok(SubHeader {
        phys_base: r.phys_base.get(),
        dump_level: (v >= 1).then(|| r.dump_level.get()),
        split: (v >= 2).then(|| r.split.get()),
        start_pfn: (v >= 2).then(|| {
            if v >= 6 {
                r.start_pfn_64.get()
            } else {
                r.start_pfn.get()
            }
        }),
        end_pfn: (v >= 2).then(|| {
            if v >= 6 {
                r.end_pfn_64.get()
            } else {
                r.end_pfn.get()
            }
        }),
        vmcoreinfo: if v >= 3 {
            range(r.offset_vmcoreinfo, r.size_vmcoreinfo)
        } else {
            None
        },
        notes: if v >= 4 {
            range(r.offset_note, r.size_note)
        } else {
            None
        },
        eraseinfo: if v >= 5 {
            range(r.offset_eraseinfo, r.size_eraseinfo)
        } else {
            None
        },
        max_mapnr_64: (v >= 6).then(|| r.max_mapnr_64.get()),
    })
}

/// The page descriptors at the start of `bytes` (as many as it holds whole).
pub(super) fn page_descs(bytes: &[u8]) -> &[PageDesc] {
    let n = bytes.len() / std::mem::size_of::<PageDesc>();
    pod::slice_from_bytes(bytes, n).expect("n whole descriptors")
}
