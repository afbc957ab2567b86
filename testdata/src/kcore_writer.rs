//! Writes a running kernel's `/proc/kcore` for a [`World`]: an ELF core whose `PT_LOAD`s are
//! kernel virtual ranges — the kernel image and the direct map with their physical addresses in
//! `p_paddr`, vmemmap with -1 there, as 4.11+ kernels write them — and a VMCOREINFO note (4.19+).
//! The file is sparse: pages never written are holes that read as zeroes, as unmapped kernel
//! memory reads through kcore.

use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

use crate::elf_writer::note;
use crate::phys::PAGE_SIZE;
use crate::world::World;

/// One virtual range of the file.
struct Range {
    vaddr: u64,
    size: u64,
    paddr: Option<u64>,
}

/// Write `w`'s memory to `path` as `/proc/kcore` shows it, with `vmcoreinfo` (from
/// [`World::finish`]) in its notes.
pub fn write_kcore(w: &World, vmcoreinfo: &str, path: &Path) -> io::Result<()> {
    let cfg = &w.cfg;
    let ranges = [
        Range {
            vaddr: crate::synth::LINK_TEXT + cfg.kaslr_offset,
            size: 8 << 20,
            paddr: Some(cfg.phys_load & !0x1f_ffff),
        },
        Range {
            vaddr: cfg.page_offset_base,
            size: cfg.ram_size,
            paddr: Some(0),
        },
        Range {
            vaddr: cfg.vmemmap_base,
            size: w.vmemmap_len(),
            paddr: None,
        },
    ];
    let mut notes = note("CORE", 1, &[0u8; 336]);
    notes.extend(note("CORE", 3, &[0u8; 136]));
    notes.extend(note("VMCOREINFO", 0, vmcoreinfo.as_bytes()));
    let phnum = ranges.len() as u64 + 1;
    let notes_off = 64 + 56 * phnum;
    let data = (notes_off + notes.len() as u64).div_ceil(PAGE_SIZE) * PAGE_SIZE;
    let mut hdr = Vec::new();
    hdr.extend(b"\x7fELF\x02\x01\x01");
    hdr.resize(16, 0);
    hdr.extend(4u16.to_le_bytes()); // ET_CORE
    hdr.extend(62u16.to_le_bytes()); // EM_X86_64
    hdr.extend(1u32.to_le_bytes());
    hdr.extend(0u64.to_le_bytes());
    hdr.extend(64u64.to_le_bytes()); // e_phoff
    hdr.extend(0u64.to_le_bytes());
    hdr.extend(0u32.to_le_bytes());
    hdr.extend(64u16.to_le_bytes());
    hdr.extend(56u16.to_le_bytes());
    hdr.extend((phnum as u16).to_le_bytes());
    hdr.extend([0u8; 6]);
    let ph = |v: &mut Vec<u8>, t: u32, off: u64, vaddr: u64, paddr: u64, size: u64| {
        v.extend(t.to_le_bytes());
        v.extend(if t == 1 { 7u32 } else { 0 }.to_le_bytes());
        v.extend(off.to_le_bytes());
        v.extend(vaddr.to_le_bytes());
        v.extend(paddr.to_le_bytes());
        v.extend(size.to_le_bytes());
        v.extend(size.to_le_bytes());
        v.extend(if t == 1 { PAGE_SIZE } else { 0 }.to_le_bytes());
    };
    ph(&mut hdr, 4, notes_off, 0, 0, notes.len() as u64);
    let mut offsets = Vec::new();
    let mut off = data;
    for r in &ranges {
        ph(
            &mut hdr,
            1,
            off,
            r.vaddr,
            r.paddr.unwrap_or(u64::MAX),
            r.size,
        );
        offsets.push(off);
        off += r.size;
    }
    hdr.extend(&notes);
    let mut f = std::fs::File::create(path)?;
    f.write_all(&hdr)?;
    f.set_len(off)?;
    for (r, &base) in ranges.iter().zip(&offsets) {
        for i in 0..r.size / PAGE_SIZE {
            let paddr = match r.paddr {
                Some(p) => p + i * PAGE_SIZE,
                None => w.phys(r.vaddr + i * PAGE_SIZE),
            };
            // pages never written stay holes
            if let Some(page) = w.img.page(paddr / PAGE_SIZE) {
                f.seek(SeekFrom::Start(base + i * PAGE_SIZE))?;
                f.write_all(page)?;
            }
        }
    }
    Ok(())
}
