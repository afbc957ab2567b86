//! Writes ELF64 core dumps from a [`PhysImage`], as QEMU's `dump-guest-memory` and `/proc/vmcore` do.

use crate::phys::{PhysImage, PAGE_SIZE};

/// How to lay out the ELF dump.
#[derive(Debug, Clone, Default)]
pub struct ElfOptions {
    /// Notes to put in one `PT_NOTE` (build them with [`note`]).
    pub notes: Vec<u8>,
    /// Keep fixtures small: runs of never-written pages become segments of at most 1 MiB whose
    /// file bytes are one shared block of zeroes (`p_filesz = p_memsz`, overlapping file ranges
    /// are legal ELF), so they read as zeroes without being written out.
    pub sparse: bool,
    /// Write runs of never-written pages as `p_memsz > p_filesz` tails instead, as
    /// `makedumpfile -E` writes pages it filtered out: they read as excluded.
    pub filtered: bool,
    /// Put the program headers after the notes instead of right after the ELF header (as QEMU does).
    pub phdrs_late: bool,
    /// `e_machine`: the dumped machine's architecture.
    pub machine: ElfMachine,
}

/// The architectures whose dumps the writer makes (`e_machine`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElfMachine {
    /// `EM_X86_64` (62).
    #[default]
    X86_64,
    /// `EM_AARCH64` (183).
    Aarch64,
}

impl ElfMachine {
    /// The `e_machine` value.
    pub fn e_machine(self) -> u16 {
        match self {
            ElfMachine::X86_64 => 62,
            ElfMachine::Aarch64 => 183,
        }
    }
}

/// One ELF note, padded as Linux writes them.
pub fn note(name: &str, n_type: u32, desc: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(((name.len() + 1) as u32).to_le_bytes());
    v.extend((desc.len() as u32).to_le_bytes());
    v.extend(n_type.to_le_bytes());
    v.extend(name.as_bytes());
    v.push(0);
    pad4(&mut v);
    v.extend(desc);
    pad4(&mut v);
    v
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// A QEMU `QEMU` CPU-state note descriptor carrying `cr3` and `cr4` (target/i386/arch_dump.c layout).
pub fn qemu_cpu_state(cr3: u64, cr4: u64) -> Vec<u8> {
    let mut d = vec![0u8; 8 + 18 * 8 + 10 * 24 + 5 * 8 + 8];
    d[0..4].copy_from_slice(&1u32.to_le_bytes());
    let len = d.len() as u32;
    d[4..8].copy_from_slice(&len.to_le_bytes());
    let cr0 = 8 + 18 * 8 + 10 * 24;
    d[cr0 + 24..cr0 + 32].copy_from_slice(&cr3.to_le_bytes());
    d[cr0 + 32..cr0 + 40].copy_from_slice(&cr4.to_le_bytes());
    d
}

#[derive(Clone, Copy)]
struct Seg {
    paddr: u64,
    memsz: u64,
    /// The pages were written (else: never-written, zero).
    stored: bool,
    /// Bytes at the end described but not stored (`filtered`).
    tail: u64,
}

/// Longest segment of the shared zero block in sparse mode.
const ZERO_RUN: u64 = 256 * PAGE_SIZE;

/// Holes shorter than this are written out as zeroes.
const MIN_HOLE: u64 = 4 * PAGE_SIZE;
/// `PN_XNUM`: the program header count does not fit `e_phnum`; section header 0's `sh_info` has it.
const PN_XNUM: usize = 0xffff;

fn segments(img: &PhysImage, sparse: bool, min_hole: u64) -> Vec<Seg> {
    let mut segs: Vec<Seg> = Vec::new();
    for &(start, end) in &img.ram {
        if !sparse {
            segs.push(Seg {
                paddr: start,
                memsz: end - start,
                stored: true,
                tail: 0,
            });
            continue;
        }
        let mut pfn = start / PAGE_SIZE;
        while pfn < end / PAGE_SIZE {
            let stored = img.page(pfn).is_some();
            let run_start = pfn;
            while pfn < end / PAGE_SIZE && img.page(pfn).is_some() == stored {
                pfn += 1;
            }
            let memsz = (pfn - run_start) * PAGE_SIZE;
            match segs.last_mut() {
                // Short holes between stored runs are stored as zeroes (fewer segments).
                Some(last)
                    if last.paddr + last.memsz == run_start * PAGE_SIZE
                        && (stored || memsz < min_hole)
                        && last.stored =>
                {
                    last.memsz += memsz
                }
                _ => segs.push(Seg {
                    paddr: run_start * PAGE_SIZE,
                    memsz,
                    stored,
                    tail: 0,
                }),
            }
        }
    }
    segs
}

/// The whole ELF file as bytes.
pub fn write_elf(img: &PhysImage, opts: &ElfOptions) -> Vec<u8> {
    // Filtered: every never-written run is a tail, however short (as makedumpfile -E cuts them).
    let min_hole = if opts.filtered { 0 } else { MIN_HOLE };
    let mut segs = segments(img, opts.sparse || opts.filtered, min_hole);
    if opts.filtered {
        // One tail per run: the run is appended to the stored segment before it, as
        // makedumpfile -E does, when there is one.
        let mut merged: Vec<Seg> = Vec::new();
        for s in segs {
            match merged.last_mut() {
                Some(last) if !s.stored && last.stored && last.paddr + last.memsz == s.paddr => {
                    last.memsz += s.memsz;
                    last.tail += s.memsz;
                }
                _ => merged.push(Seg {
                    tail: if s.stored { 0 } else { s.memsz },
                    ..s
                }),
            }
        }
        segs = merged;
    } else if opts.sparse {
        segs = segs
            .into_iter()
            .flat_map(|s| {
                let chunks = if s.stored {
                    1
                } else {
                    s.memsz.div_ceil(ZERO_RUN)
                };
                (0..chunks).map(move |i| {
                    if s.stored {
                        Seg { ..s }
                    } else {
                        let start = s.paddr + i * ZERO_RUN;
                        Seg {
                            paddr: start,
                            memsz: ZERO_RUN.min(s.paddr + s.memsz - start),
                            stored: false,
                            tail: 0,
                        }
                    }
                })
            })
            .collect();
    }
    let phnum = segs.len() + 1;
    let phdr_size = 56 * phnum;
    let (phoff, notes_off) = if opts.phdrs_late {
        (64 + opts.notes.len() as u64, 64u64)
    } else {
        (64, 64 + phdr_size as u64)
    };
    let xnum = phnum >= PN_XNUM;
    let shoff = (64 + phdr_size + opts.notes.len()) as u64;
    let mut data_off = shoff + if xnum { 64 } else { 0 };
    data_off = data_off.div_ceil(PAGE_SIZE) * PAGE_SIZE;

    let mut out = Vec::new();
    out.extend(b"\x7fELF\x02\x01\x01");
    out.resize(16, 0);
    out.extend(4u16.to_le_bytes()); // ET_CORE
    out.extend(opts.machine.e_machine().to_le_bytes());
    out.extend(1u32.to_le_bytes());
    out.extend(0u64.to_le_bytes()); // entry
    out.extend(phoff.to_le_bytes());
    out.extend(if xnum { shoff } else { 0 }.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(64u16.to_le_bytes());
    out.extend(56u16.to_le_bytes());
    out.extend((phnum.min(PN_XNUM) as u16).to_le_bytes());
    out.extend(if xnum { 64u16 } else { 0 }.to_le_bytes()); // e_shentsize
    out.extend(u16::from(xnum).to_le_bytes()); // e_shnum
    out.extend(0u16.to_le_bytes());

    let mut phdrs = Vec::new();
    let ph = |v: &mut Vec<u8>, t: u32, off: u64, paddr: u64, filesz: u64, memsz: u64| {
        v.extend(t.to_le_bytes());
        v.extend(if t == 1 { 7u32 } else { 0 }.to_le_bytes());
        v.extend(off.to_le_bytes());
        v.extend(0u64.to_le_bytes());
        v.extend(paddr.to_le_bytes());
        v.extend(filesz.to_le_bytes());
        v.extend(memsz.to_le_bytes());
        v.extend(if t == 1 { PAGE_SIZE } else { 0 }.to_le_bytes());
    };
    ph(
        &mut phdrs,
        4,
        notes_off,
        0,
        opts.notes.len() as u64,
        opts.notes.len() as u64,
    );
    // Sparse mode: never-written runs all point at one block of zeroes after the data.
    let stored_bytes: u64 = segs
        .iter()
        .filter(|s| s.stored)
        .map(|s| s.memsz - s.tail)
        .sum();
    let zero_block = data_off + stored_bytes;
    let needs_zero_block = opts.sparse && !opts.filtered && segs.iter().any(|s| !s.stored);
    let mut off = data_off;
    for s in &segs {
        if s.stored {
            let filesz = s.memsz - s.tail;
            ph(&mut phdrs, 1, off, s.paddr, filesz, s.memsz);
            off += filesz;
        } else if opts.filtered {
            ph(&mut phdrs, 1, off, s.paddr, 0, s.memsz);
        } else {
            ph(&mut phdrs, 1, zero_block, s.paddr, s.memsz, s.memsz);
        }
    }
    if opts.phdrs_late {
        out.extend(&opts.notes);
        out.extend(&phdrs);
    } else {
        out.extend(&phdrs);
        out.extend(&opts.notes);
    }
    if xnum {
        let mut sh0 = [0u8; 64];
        sh0[44..48].copy_from_slice(&(phnum as u32).to_le_bytes()); // sh_info
        out.extend(sh0);
    }
    out.resize(data_off as usize, 0);
    let mut page = vec![0u8; PAGE_SIZE as usize];
    for s in segs.iter().filter(|s| s.stored) {
        for pfn in s.paddr / PAGE_SIZE..(s.paddr + s.memsz - s.tail) / PAGE_SIZE {
            match img.page(pfn) {
                Some(p) => out.extend(p),
                None => {
                    page.fill(0);
                    out.extend(&page)
                }
            }
        }
    }
    if needs_zero_block {
        out.resize(out.len() + ZERO_RUN as usize, 0);
    }
    out
}
