//! The kdump sub-header: which fields each header version defines, read as little-endian
//! integers at their x86-64 offsets.

use super::{le_i32, le_u64, SubHeader, SUB_HEADER_SIZE};
use crate::source::Source;
use crate::Result;

pub(super) fn read_sub_header(src: &dyn Source, bs: u64, version: i32) -> Result<SubHeader> {
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
