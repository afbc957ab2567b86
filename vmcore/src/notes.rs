//! ELF note parsing: a fallible iterator over `(name, type, desc)` that never trusts a length it has
//! not checked, and the notes a dump carries that we use (VMCOREINFO, QEMU's CPU state).

use crate::pod::{self, pod, U32};
use crate::{Error, Result};

/// `Elf64_Nhdr`: the name and descriptor sizes and the type of one note.
#[repr(C)]
#[derive(Clone, Copy)]
struct Nhdr {
    n_namesz: U32,
    n_descsz: U32,
    n_type: U32,
}

pod!(Nhdr = 12);

/// One ELF note.
#[derive(Debug, Clone, Copy)]
pub struct Note<'a> {
    /// The owner name without its NUL terminator (e.g. `CORE`, `VMCOREINFO`, `QEMU`).
    pub name: &'a [u8],
    /// The note type (`NT_PRSTATUS` = 1, …).
    pub n_type: u32,
    /// The descriptor bytes.
    pub desc: &'a [u8],
}

/// Iterator over the notes in a byte buffer (a PT_NOTE segment, or kdump's note area).
///
/// Like gimli's iterators, `next` returns `Result<Option<_>>` and stops for good after an error.
pub struct Notes<'a> {
    data: &'a [u8],
    failed: bool,
}

impl<'a> Notes<'a> {
    /// Iterate the notes in `data` (little-endian, 4-byte aligned as Linux writes them).
    pub fn new(data: &'a [u8]) -> Self {
        Notes {
            data,
            failed: false,
        }
    }

    /// The next note, `Ok(None)` at the end, or an error for a malformed header.
    pub fn next_note(&mut self) -> Result<Option<Note<'a>>> {
        if self.failed || self.data.len() < std::mem::size_of::<Nhdr>() {
            return Ok(None);
        }
        let Some(h) = pod::from_bytes::<Nhdr>(self.data) else {
            return Ok(None);
        };
        let (namesz, descsz, n_type) = (
            h.n_namesz.get() as usize,
            h.n_descsz.get() as usize,
            h.n_type.get(),
        );
        if namesz == 0 && descsz == 0 && n_type == 0 {
            // Zero padding at the end of a segment.
            return Ok(None);
        }
        let name_end = 12usize.checked_add(namesz);
        let desc_start = name_end.map(|e| (e + 3) & !3);
        let desc_end = desc_start.and_then(|s| s.checked_add(descsz));
        let (Some(name_end), Some(desc_start), Some(desc_end)) = (name_end, desc_start, desc_end)
        else {
            self.failed = true;
            return Err(Error::Malformed {
                what: "ELF note",
                reason: "size overflow".into(),
            });
        };
        if desc_end > self.data.len() {
            self.failed = true;
            return Err(Error::Malformed {
                what: "ELF note",
                reason: format!(
                    "note needs {desc_end} bytes but only {} remain",
                    self.data.len()
                ),
            });
        }
        let mut name = &self.data[12..name_end];
        while let [rest @ .., 0] = name {
            name = rest;
        }
        let desc = &self.data[desc_start..desc_end];
        let next = ((desc_end + 3) & !3).min(self.data.len());
        self.data = &self.data[next..];
        Ok(Some(Note { name, n_type, desc }))
    }
}

impl<'a> Iterator for Notes<'a> {
    type Item = Result<Note<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_note().transpose()
    }
}

/// `NT_PRSTATUS`.
pub const NT_PRSTATUS: u32 = 1;

/// What the notes of a dump tell us, gathered once.
#[derive(Debug, Clone, Default)]
pub struct NoteSummary {
    /// The raw VMCOREINFO text, if a `VMCOREINFO` note is present.
    pub vmcoreinfo: Option<Vec<u8>>,
    /// CR3 of each CPU from QEMU's `QEMU` notes (QEMUCPUState), in note order.
    pub qemu_cr3: Vec<u64>,
    /// Number of `NT_PRSTATUS` notes (one per CPU that was saved).
    pub prstatus: usize,
    /// Problems met while parsing (the notes before them are kept).
    pub warnings: Vec<String>,
}

/// Offset of `cr[0]` in QEMU's `QEMUCPUState` (target/i386/arch_dump.c): version and size (2×u32),
/// 16 general registers, rip and rflags (18×u64), then 10 segment descriptors of 24 bytes.
const QEMU_CPUSTATE_CR0: usize = 8 + 18 * 8 + 10 * 24;

impl NoteSummary {
    /// Gather what we use from a buffer of notes; a malformed note ends parsing with a warning.
    pub fn gather(data: &[u8]) -> Self {
        let mut s = NoteSummary::default();
        s.add(data);
        s
    }

    /// Add the notes of another buffer (a dump may have several PT_NOTE segments).
    pub fn add(&mut self, data: &[u8]) {
        let mut from = 0usize;
        while from < data.len() {
            match self.add_chain(&data[from..]) {
                None => return,
                Some(broken_at) => {
                    // Resynchronise on the next note with a name we know, so that one damaged
                    // note does not hide the VMCOREINFO after it.
                    let start = from + broken_at + 4;
                    match find_known_note(data, start) {
                        Some(at) => {
                            self.warnings.push(format!(
                                "note chain resumed at offset {at:#x} after the damaged note"
                            ));
                            from = at;
                        }
                        None => return,
                    }
                }
            }
        }
    }

    /// Gather one chain of notes; on a damaged note, its offset in `data`.
    fn add_chain(&mut self, data: &[u8]) -> Option<usize> {
        let mut notes = Notes::new(data);
        loop {
            let at = data.len() - notes.data.len();
            let note = notes.next_note().transpose()?;
            match note {
                Ok(n) if n.name == b"VMCOREINFO" => self.vmcoreinfo = Some(n.desc.to_vec()),
                Ok(n) if n.name == b"CORE" && n.n_type == NT_PRSTATUS => self.prstatus += 1,
                Ok(n) if n.name == b"QEMU" => {
                    let cr3 = QEMU_CPUSTATE_CR0 + 3 * 8;
                    if let Some(b) = n.desc.get(cr3..cr3 + 8) {
                        self.qemu_cr3
                            .push(u64::from_le_bytes(b.try_into().unwrap_or_default()));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    self.warnings.push(format!("at offset {at:#x}: {e}"));
                    return Some(at);
                }
            }
        }
    }
}

/// Names of the notes a dump's reader looks for.
const KNOWN_NAMES: [&[u8]; 3] = [b"VMCOREINFO\0", b"QEMU\0", b"CORE\0"];

/// The first 4-aligned offset at or after `from` where a note with a known name starts and fits
/// in `data`.
fn find_known_note(data: &[u8], from: usize) -> Option<usize> {
    let mut at = from.next_multiple_of(4);
    const NHDR: usize = std::mem::size_of::<Nhdr>();
    while at.checked_add(NHDR)? <= data.len() {
        let namesz = pod::from_bytes::<Nhdr>(&data[at..])?.n_namesz.get() as usize;
        let name = data.get(at + NHDR..(at + NHDR).checked_add(namesz)?);
        if KNOWN_NAMES.iter().any(|k| name == Some(*k))
            && matches!(Notes::new(&data[at..]).next_note(), Ok(Some(_)))
        {
            return Some(at);
        }
        at += 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(name: &[u8], t: u32, desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(((name.len() + 1) as u32).to_le_bytes());
        v.extend((desc.len() as u32).to_le_bytes());
        v.extend(t.to_le_bytes());
        v.extend(name);
        v.push(0);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v.extend(desc);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn iterates_and_gathers() {
        let mut buf = note(b"CORE", NT_PRSTATUS, &[1; 336]);
        buf.extend(note(b"VMCOREINFO", 0, b"OSRELEASE=6.1.0\n"));
        let mut qemu = vec![0u8; 456];
        qemu[QEMU_CPUSTATE_CR0 + 24..QEMU_CPUSTATE_CR0 + 32]
            .copy_from_slice(&0x1234000u64.to_le_bytes());
        buf.extend(note(b"QEMU", 0, &qemu));
        let s = NoteSummary::gather(&buf);
        assert_eq!(s.prstatus, 1);
        assert_eq!(s.vmcoreinfo.as_deref(), Some(&b"OSRELEASE=6.1.0\n"[..]));
        assert_eq!(s.qemu_cr3, vec![0x1234000]);
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn truncated_note_is_an_error_not_a_panic() {
        let buf = note(b"VMCOREINFO", 0, b"OSRELEASE=6.1.0\n");
        for cut in 0..buf.len() {
            let s = NoteSummary::gather(&buf[..cut]);
            assert!(s.vmcoreinfo.is_none());
        }
        let mut bad = buf.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut it = Notes::new(&bad);
        assert!(it.next_note().is_err());
        assert!(
            it.next_note().unwrap().is_none(),
            "stops for good after an error"
        );
    }

    #[test]
    fn a_damaged_note_does_not_hide_the_vmcoreinfo_after_it() {
        let mut buf = note(b"CORE", NT_PRSTATUS, &[1; 336]);
        buf.extend(note(b"VMCOREINFO", 0, b"OSRELEASE=6.1.0\n"));
        for bad in [u32::MAX, 0x10_0000, 337] {
            let mut b = buf.clone();
            b[0..4].copy_from_slice(&bad.to_le_bytes()); // CORE's namesz
            let s = NoteSummary::gather(&b);
            assert_eq!(
                s.vmcoreinfo.as_deref(),
                Some(&b"OSRELEASE=6.1.0\n"[..]),
                "namesz {bad}"
            );
            assert!(s.warnings.len() >= 2, "{:?}", s.warnings);
        }
        // Garbage everywhere: warnings, no note, and no hang.
        let junk: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let s = NoteSummary::gather(&junk);
        assert!(s.vmcoreinfo.is_none());
    }
}
