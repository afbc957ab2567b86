//! Symbol tables: the vmlinux `.symtab`, a `System.map`, or the dump's kallsyms.

use std::collections::hash_map::Entry;
use std::hash::Hasher;
use std::path::Path;

use object::{Object, ObjectSymbol, SymbolKind};

use crate::error::{Error, Result};
use crate::index::{FxHasher, FxMap};

/// Among symbols of one name, the one a lookup gives: a global one, then the lowest address.
fn better(a: &Sym, than: &Sym) -> bool {
    (!a.global, a.addr) < (!than.global, than.addr)
}

fn name_hash(name: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(name.as_bytes());
    h.finish()
}

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
    /// In the source's order.
    syms: Vec<Sym>,
    /// Indexes of `syms` sorted by address (among equal addresses globals first, then larger),
    /// made on the first question by address: a walk asks only by name.
    by_addr: std::sync::OnceLock<Vec<u32>>,
    /// Name hash → index in `syms` (among equal names a global one, then the lowest address).
    /// Names are not copied: a lookup checks the name, and the rare hash collision falls back
    /// to a scan.
    by_name: FxMap<u64, u32>,
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
        self.syms.push(Sym {
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
        let mut by_name: FxMap<u64, u32> = FxMap::default();
        by_name.reserve(self.syms.len());
        for (i, s) in self.syms.iter().enumerate() {
            let name = self.name_of(s);
            match by_name.entry(name_hash(name)) {
                Entry::Occupied(mut e) => {
                    let prev = &self.syms[*e.get() as usize];
                    if self.name_of(prev) == name && better(s, prev) {
                        e.insert(i as u32);
                    }
                }
                Entry::Vacant(e) => {
                    e.insert(i as u32);
                }
            }
        }
        self.by_name = by_name;
        self
    }

    /// `syms` indexes in address order.
    fn by_addr(&self) -> &[u32] {
        self.by_addr.get_or_init(|| {
            let mut v: Vec<u32> = (0..self.syms.len() as u32).collect();
            v.sort_unstable_by_key(|&i| {
                let s = &self.syms[i as usize];
                (s.addr, !s.global, u64::MAX - s.size, i)
            });
            v
        })
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
        self.by_addr().iter().map(|&i| {
            let s = &self.syms[i as usize];
            (self.name_of(s), s.addr, s.kind)
        })
    }

    /// How many symbols.
    pub(crate) fn len(&self) -> usize {
        self.syms.len()
    }

    /// Address of `name` (a global symbol, then the lowest address, among equal names).
    pub(crate) fn lookup(&self, name: &str) -> Option<u64> {
        let &i = self.by_name.get(&name_hash(name))?;
        let s = &self.syms[i as usize];
        if self.name_of(s) == name {
            return Some(s.addr);
        }
        // Another name with the same 64-bit hash took the slot.
        self.syms
            .iter()
            .filter(|s| self.name_of(s) == name)
            .reduce(|best, s| if better(s, best) { s } else { best })
            .map(|s| s.addr)
    }

    /// The symbol containing `addr`, or else the nearest one below it, with the offset.
    pub(crate) fn at(&self, addr: u64) -> Option<(&str, u64)> {
        let by_addr = self.by_addr();
        let end = by_addr.partition_point(|&i| self.syms[i as usize].addr <= addr);
        if end == 0 {
            return None;
        }
        // Prefer a symbol whose extent contains addr, scanning back over a few candidates.
        let candidates: Vec<&Sym> = by_addr[end.saturating_sub(16)..end]
            .iter()
            .map(|&i| &self.syms[i as usize])
            .collect();
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
