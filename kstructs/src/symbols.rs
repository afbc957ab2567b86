//! Symbol tables: the vmlinux `.symtab`, a `System.map`, or the dump's kallsyms.

use std::collections::HashMap;
use std::path::Path;

use object::{Object, ObjectSymbol, SymbolKind};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy)]
struct Sym {
    addr: u64,
    size: u64,
    name: (u32, u32),
    global: bool,
    /// The `nm`-style type letter (`T`, `t`, `D`, …); `?` when the source does not say.
    kind: u8,
}

/// Link-time symbols, by name and by address.
#[derive(Debug, Default)]
pub(crate) struct Symbols {
    names: String,
    /// Sorted by address; among equal addresses globals first.
    by_addr: Vec<Sym>,
    by_name: HashMap<Box<str>, u32>,
    pub(crate) source: String,
}

impl Symbols {
    /// An empty table whose "not found" errors name `source`.
    pub(crate) fn named(source: &str) -> Symbols {
        Symbols {
            source: source.to_owned(),
            ..Default::default()
        }
    }

    /// Add a symbol with an `nm`-style type letter (upper case: global).
    pub(crate) fn push_typed(&mut self, addr: u64, size: u64, name: &str, kind: u8) {
        self.push(addr, size, name, kind.is_ascii_uppercase(), kind);
    }

    fn push(&mut self, addr: u64, size: u64, name: &str, global: bool, kind: u8) {
        if name.is_empty() {
            return;
        }
        let (Ok(start), Ok(len)) = (u32::try_from(self.names.len()), u32::try_from(name.len()))
        else {
            return;
        };
        self.names.push_str(name);
        self.by_addr.push(Sym {
            addr,
            size,
            name: (start, len),
            global,
            kind,
        });
    }

    fn name_of(&self, s: &Sym) -> &str {
        let (start, len) = (s.name.0 as usize, s.name.1 as usize);
        &self.names[start..start + len]
    }

    pub(crate) fn finish(mut self) -> Self {
        self.by_addr
            .sort_by_key(|s| (s.addr, !s.global, u64::MAX - s.size));
        let mut by_name: HashMap<Box<str>, u32> = HashMap::with_capacity(self.by_addr.len());
        for (i, s) in self.by_addr.iter().enumerate() {
            let name = self.name_of(s);
            match by_name.get_mut(name) {
                Some(prev) if !self.by_addr[*prev as usize].global && s.global => *prev = i as u32,
                Some(_) => {}
                None => {
                    by_name.insert(name.into(), i as u32);
                }
            }
        }
        self.by_name = by_name;
        self
    }

    /// Read `.symtab` (falling back to `.dynsym`) of a parsed ELF file.
    pub(crate) fn from_elf(data: &[u8], path: &Path) -> Result<Symbols> {
        let obj = object::File::parse(data).map_err(|e| Error::NotElf {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let mut syms = Symbols {
            source: path.display().to_string(),
            ..Default::default()
        };
        for s in obj.symbols() {
            if s.is_undefined() || matches!(s.kind(), SymbolKind::Section | SymbolKind::File) {
                continue;
            }
            if let Ok(name) = s.name() {
                let kind = match s.kind() {
                    SymbolKind::Text => b't',
                    SymbolKind::Data | SymbolKind::Tls => b'd',
                    _ => b'?',
                };
                let kind = if s.is_global() {
                    kind.to_ascii_uppercase()
                } else {
                    kind
                };
                syms.push(s.address(), s.size(), name, s.is_global(), kind);
            }
        }
        Ok(syms.finish())
    }

    /// Parse a `System.map` (`<hex address> <type letter> <name>` per line).
    pub(crate) fn from_system_map(path: &Path) -> Result<Symbols> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        // A System.map is a few MiB; 256 MiB bounds a wrong file (or /dev/zero) named here.
        let data = regfile::read_bounded(path, 256 << 20).map_err(io)?;
        let text = String::from_utf8(data).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "not text (byte {} is not UTF-8)",
                    e.utf8_error().valid_up_to()
                ),
            ))
        })?;
        let mut syms = Symbols {
            source: path.display().to_string(),
            ..Default::default()
        };
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let mut it = line.split_whitespace();
            let bad = || Error::BadSystemMap {
                path: path.to_owned(),
                line: i + 1,
            };
            let (Some(addr), Some(kind), Some(name)) = (it.next(), it.next(), it.next()) else {
                return Err(bad());
            };
            // Three fields, or four with a module name in brackets; anything else (such as
            // Debian's one-line placeholder "The real System.map is in the ... -dbg package")
            // is not a System.map.
            match it.next() {
                None => {}
                Some(m) if m.starts_with('[') && it.next().is_none() => {}
                Some(_) => return Err(bad()),
            }
            let addr = u64::from_str_radix(addr, 16).map_err(|_| bad())?;
            if kind.len() != 1 {
                return Err(bad());
            }
            syms.push_typed(addr, 0, name, kind.as_bytes()[0]);
        }
        Ok(syms.finish())
    }

    /// Every symbol, in address order: name, address, type letter.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, u64, u8)> + '_ {
        self.by_addr
            .iter()
            .map(|s| (self.name_of(s), s.addr, s.kind))
    }

    /// How many symbols.
    pub(crate) fn len(&self) -> usize {
        self.by_addr.len()
    }

    /// Address of `name`.
    pub(crate) fn lookup(&self, name: &str) -> Option<u64> {
        self.by_name
            .get(name)
            .map(|&i| self.by_addr[i as usize].addr)
    }

    /// The symbol containing `addr`, or else the nearest one below it, with the offset.
    pub(crate) fn at(&self, addr: u64) -> Option<(&str, u64)> {
        let end = self.by_addr.partition_point(|s| s.addr <= addr);
        if end == 0 {
            return None;
        }
        // Prefer a symbol whose extent contains addr, scanning back over a few candidates.
        let candidates = &self.by_addr[end.saturating_sub(16)..end];
        let best_addr = candidates.last()?.addr;
        let pick = candidates
            .iter()
            .rev()
            .find(|s| s.size > 0 && addr - s.addr < s.size)
            .or_else(|| {
                // Nearest below: the first (global-first ordering) symbol at the highest address.
                candidates.iter().find(|s| s.addr == best_addr)
            })?;
        Some((self.name_of(pick), addr - pick.addr))
    }
}
