//! The vmlinux file: memory map, ELF sections, build-id, and the raw debug sections.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, SectionFlags, SectionKind};

use crate::error::{Error, Result};

/// An initialized, allocated section: where it lives at link time and in the file.
#[derive(Debug, Clone)]
struct LoadSection {
    addr: u64,
    file: Range<usize>,
}

/// A mapped ELF file with what we need from its headers.
pub(crate) struct ElfFile {
    pub(crate) path: PathBuf,
    pub(crate) map: memmap2::Mmap,
    pub(crate) build_id: Option<Vec<u8>>,
    pub(crate) little_endian: bool,
    /// A sampled hash of the debug sections' bytes: the layout cache is keyed by it as well as by
    /// the build-id, so a damaged or different vmlinux with the same build-id never reuses it.
    pub(crate) fingerprint: u64,
    /// The `.BTF` section's bytes in the map, when there is one.
    pub(crate) btf: Option<Range<usize>>,
    /// Whether there is DWARF (a non-empty `.debug_info`).
    pub(crate) has_dwarf: bool,
    load: Vec<LoadSection>,
}

/// FNV-1a over `data`, continuing from `h`.
pub(crate) fn fnv1a(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Hash of each debug section's size and of 4 KiB samples at 18 evenly spaced places (first and
/// last included): cheap on a 165 MB `.debug_info`, and any damage that moves, grows or rewrites
/// the sections changes it.
fn fingerprint(map: &[u8], ranges: &[(&str, Range<usize>)]) -> u64 {
    const SAMPLES: usize = 18;
    const BLOCK: usize = 4096;
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (name, r) in ranges {
        h = fnv1a(h, name.as_bytes());
        h = fnv1a(h, &(r.len() as u64).to_le_bytes());
        let Some(bytes) = map.get(r.clone()) else {
            continue;
        };
        if bytes.len() <= BLOCK * SAMPLES {
            h = fnv1a(h, bytes);
            continue;
        }
        let step = (bytes.len() - BLOCK) / (SAMPLES - 1);
        for i in 0..SAMPLES {
            let at = i * step;
            h = fnv1a(h, &bytes[at..at + BLOCK]);
        }
    }
    h
}

/// Debug sections, either in place in the map or decompressed into memory.
pub(crate) struct DebugSections {
    sections: HashMap<&'static str, SectionBytes>,
}

enum SectionBytes {
    Mapped(Range<usize>),
    Owned(Vec<u8>),
}

/// The DWARF sections gimli may want for type information.
const DEBUG_SECTIONS: &[&str] = &[
    ".debug_info",
    ".debug_abbrev",
    ".debug_str",
    ".debug_line_str",
    ".debug_str_offsets",
    ".debug_addr",
    ".debug_types",
    ".debug_line",
    ".debug_rnglists",
    ".debug_ranges",
];

fn not_elf(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::NotElf {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

impl ElfFile {
    /// Map `path` and read its section headers and build-id.
    pub(crate) fn open(path: &Path) -> Result<ElfFile> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let (file, _) = regfile::open(path).map_err(io)?;
        // SAFETY: the vmlinux is a read-only input; like every mmap reader we assume nobody
        // truncates it underneath us.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        let obj = object::File::parse(&*map).map_err(|e| not_elf(path, e))?;
        if obj.format() != object::BinaryFormat::Elf {
            return Err(not_elf(path, "not ELF"));
        }
        let build_id = obj
            .build_id()
            .map_err(|e| not_elf(path, e))?
            .map(<[u8]>::to_vec);
        let mut load = Vec::new();
        for s in obj.sections() {
            let alloc = match s.flags() {
                SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_ALLOC) != 0,
                _ => false,
            };
            if !alloc || s.kind() == SectionKind::UninitializedData || s.address() == 0 {
                continue;
            }
            if let Some((off, size)) = s.file_range() {
                let (Ok(off), Ok(size)) = (usize::try_from(off), usize::try_from(size)) else {
                    continue;
                };
                if off.checked_add(size).is_some_and(|end| end <= map.len()) {
                    load.push(LoadSection {
                        addr: s.address(),
                        file: off..off + size,
                    });
                }
            }
        }
        let little_endian = obj.is_little_endian();
        let ranges: Vec<(&str, Range<usize>)> = DEBUG_SECTIONS
            .iter()
            .filter_map(|&name| {
                let (off, size) = obj.section_by_name(name)?.file_range()?;
                let start = usize::try_from(off).ok()?;
                Some((name, start..start.checked_add(usize::try_from(size).ok()?)?))
            })
            .collect();
        let btf = obj.section_by_name(".BTF").and_then(|s| {
            let (off, size) = s.file_range()?;
            let start = usize::try_from(off).ok()?;
            let end = start.checked_add(usize::try_from(size).ok()?)?;
            (end <= map.len() && size > 0).then_some(start..end)
        });
        let mut ranges = ranges;
        if let Some(r) = &btf {
            ranges.push((".BTF", r.clone()));
        }
        let fingerprint = fingerprint(&map, &ranges);
        let has_dwarf = obj
            .section_by_name(".debug_info")
            .is_some_and(|s| s.size() > 0);
        drop(obj);
        if !has_dwarf && btf.is_none() {
            return Err(Error::NoDebugInfo {
                path: path.to_owned(),
            });
        }
        Ok(ElfFile {
            path: path.to_owned(),
            map,
            build_id,
            little_endian,
            fingerprint,
            btf,
            has_dwarf,
            load,
        })
    }

    /// Bytes of an initialized allocated section at a link-time address.
    pub(crate) fn static_bytes(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let s = self
            .load
            .iter()
            .find(|s| addr >= s.addr && addr - s.addr < s.file.len() as u64)?;
        let start = s.file.start + usize::try_from(addr - s.addr).ok()?;
        let end = start.checked_add(len)?;
        if end > s.file.end {
            return None;
        }
        self.map.get(start..end)
    }

    /// Locate (and decompress if needed) the debug sections.
    pub(crate) fn debug_sections(&self) -> Result<DebugSections> {
        let obj = object::File::parse(&*self.map).map_err(|e| not_elf(&self.path, e))?;
        let relocatable = obj.kind() == object::ObjectKind::Relocatable;
        let mut sections = HashMap::new();
        for &name in DEBUG_SECTIONS {
            let Some(s) = obj.section_by_name(name) else {
                continue;
            };
            let compressed = s
                .compressed_file_range()
                .map_err(|e| not_elf(&self.path, e))?;
            let bytes = if compressed.format == object::CompressionFormat::None {
                match s.file_range() {
                    Some((off, size)) => {
                        let r = usize::try_from(off).unwrap_or(usize::MAX)
                            ..usize::try_from(off.saturating_add(size)).unwrap_or(usize::MAX);
                        if r.end > self.map.len() || r.start > r.end {
                            return Err(not_elf(
                                &self.path,
                                format!("section {name} extends past the end of the file"),
                            ));
                        }
                        SectionBytes::Mapped(r)
                    }
                    None => SectionBytes::Owned(Vec::new()),
                }
            } else {
                let data = s.uncompressed_data().map_err(|e| Error::Compression {
                    path: self.path.clone(),
                    section: name.to_owned(),
                    reason: format!("{:?}: {e}", compressed.format),
                })?;
                SectionBytes::Owned(data.into_owned())
            };
            let bytes = match relocatable {
                true => {
                    let data = match &bytes {
                        SectionBytes::Mapped(r) => &self.map[r.clone()],
                        SectionBytes::Owned(v) => v.as_slice(),
                    };
                    relocated(&obj, &s, data, self.little_endian).map_or(bytes, SectionBytes::Owned)
                }
                false => bytes,
            };
            sections.insert(name, bytes);
        }
        Ok(DebugSections { sections })
    }
}

/// A relocatable file's debug section (a module's `.ko`) with its relocations applied, or `None`
/// when it has none. In such a file a section's offsets into the others (`.debug_str`,
/// `.debug_abbrev`, `.debug_line`) are relocations against those sections' symbols, and the
/// bytes hold zero: read unrelocated, every name would be the first string. Only absolute
/// relocations of 32 and 64 bits are applied (what debug sections hold); a relocation outside the
/// section or of another kind is left alone.
fn relocated(
    obj: &object::File<'_>,
    s: &object::Section<'_, '_>,
    data: &[u8],
    little_endian: bool,
) -> Option<Vec<u8>> {
    use object::{ObjectSymbol, RelocationKind, RelocationTarget};
    let mut relocs = s.relocations().peekable();
    relocs.peek()?;
    let mut out = data.to_vec();
    for (at, r) in relocs {
        let (RelocationKind::Absolute, RelocationTarget::Symbol(i)) = (r.kind(), r.target()) else {
            continue;
        };
        let Ok(sym) = obj.symbol_by_index(i) else {
            continue;
        };
        let n = usize::from(r.size() / 8);
        let Some(field) = usize::try_from(at)
            .ok()
            .and_then(|a| out.get_mut(a..a.checked_add(n)?))
            .filter(|_| n == 4 || n == 8)
        else {
            continue;
        };
        let implicit = if r.has_implicit_addend() {
            let mut b = [0u8; 8];
            if little_endian {
                b[..n].copy_from_slice(field);
                u64::from_le_bytes(b)
            } else {
                b[8 - n..].copy_from_slice(field);
                u64::from_be_bytes(b)
            }
        } else {
            0
        };
        let v = sym
            .address()
            .wrapping_add(r.addend() as u64)
            .wrapping_add(implicit);
        if little_endian {
            field.copy_from_slice(&v.to_le_bytes()[..n]);
        } else {
            field.copy_from_slice(&v.to_be_bytes()[8 - n..]);
        }
    }
    Some(out)
}

impl DebugSections {
    /// The bytes of section `name` (empty when absent).
    pub(crate) fn get<'a>(&'a self, map: &'a [u8], name: &str) -> &'a [u8] {
        match self.sections.get(name) {
            Some(SectionBytes::Mapped(r)) => &map[r.clone()],
            Some(SectionBytes::Owned(v)) => v,
            None => &[],
        }
    }
}
