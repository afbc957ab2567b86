//! The layout cache: answers already given for one kernel (keyed by its build-id), kept in a
//! small binary file so that a second run asking the same questions never reads the DWARF.
//!
//! File: `<cache dir>/layouts-<build-id hex>-<fingerprint hex>.bin`, where the fingerprint is a
//! sampled hash of the vmlinux's debug sections (two files with one build-id but different DWARF
//! never share a cache). Format (all integers little-endian): magic `SKBWKLC\0`, `u32` version,
//! `u32` build-id length + bytes, `u64` fingerprint, `u32` entry count, entries (`u32` key length +
//! key bytes, then a tagged answer), and a trailing `u64` FNV-1a hash of everything before it. A
//! file larger than [`MAX_FILE`], or with a wrong magic, version, build-id, fingerprint or hash, or
//! that does not parse exactly, is ignored (and replaced on the next save). It is read only if it
//! is a regular file, and written only by an explicit save, never after the DWARF gave an error.
//! Writes go to a temporary file in the same directory that is then renamed over the old one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::types::{Bitfield, Member, TypeInfo, TypeKind};

const MAGIC: &[u8; 8] = b"SKBWKLC\0";
const VERSION: u32 = 5;
/// The largest cache file read (real ones are a few KiB).
pub(crate) const MAX_FILE: u64 = 16 << 20;
const MAX_DEPTH: u32 = 64;

/// A remembered answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Size(u64),
    Member(Member),
    Value(i64),
    NoType,
    NoMember,
    NotAggregate(String),
    NoEnumerator,
    Enumerators(Vec<(String, i64)>),
    /// A symbol's link-time address.
    Symbol(u64),
    NoSymbol,
    /// The symbol containing a link-time address, and the offset in it.
    At(String, u64),
}

/// Query keys: `s\x1f<type>`, `m\x1f<type>\x1f<path>`, `e\x1f<name>`, `v\x1f<enum>\x1f<name>`,
/// `l\x1f<enum>` (every enumerator), `y\x1f<symbol>` (a `.symtab` symbol), `a\x1f<address>` (the
/// `.symtab` symbol containing a link-time address, in hex).
pub(crate) fn key(kind: char, parts: &[&str]) -> String {
    let mut k = String::from(kind);
    for p in parts {
        k.push('\x1f');
        k.push_str(p);
    }
    k
}

/// The cache of one kernel.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    pub(crate) path: Option<PathBuf>,
    build_id: Vec<u8>,
    fingerprint: u64,
    pub(crate) answers: HashMap<String, Answer>,
    pub(crate) dirty: bool,
    /// A DWARF read failed: what was learnt is not written.
    pub(crate) poisoned: bool,
}

/// FNV-1a of `data` from the standard offset basis.
pub(crate) fn fnv1a(data: &[u8]) -> u64 {
    crate::elf::fnv1a(0xcbf2_9ce4_8422_2325, data)
}

/// The default cache directory: `$XDG_CACHE_HOME/skbwalk`, else `~/.cache/skbwalk`.
pub(crate) fn default_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("skbwalk"));
    }
    std::env::var_os("HOME")
        .filter(|x| !x.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("skbwalk"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Cache {
    /// A cache for `build_id` in `dir`, loaded from disk when a valid file is there.
    pub(crate) fn open(dir: &Path, build_id: &[u8], fingerprint: u64) -> Cache {
        let path = dir.join(format!("layouts-{}-{fingerprint:016x}.bin", hex(build_id)));
        let answers = regfile::read_bounded(&path, MAX_FILE)
            .ok()
            .and_then(|data| decode(&data, build_id, fingerprint))
            .unwrap_or_default();
        Cache {
            path: Some(path),
            build_id: build_id.to_vec(),
            fingerprint,
            answers,
            dirty: false,
            poisoned: false,
        }
    }

    /// Write the cache if it changed since it was loaded or last saved.
    pub(crate) fn save(&mut self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if !self.dirty || self.poisoned {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let data = encode(&self.answers, &self.build_id, self.fingerprint);
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        std::fs::write(&tmp, &data)?;
        if let Err(e) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.dirty = false;
        Ok(())
    }
}

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn opt_str(&mut self, s: &Option<String>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.bytes(s.as_bytes());
            }
            None => self.u8(0),
        }
    }
    fn ty(&mut self, t: &TypeInfo) {
        self.u64(t.size);
        self.opt_str(&t.name);
        self.opt_str(&t.typedef);
        match &t.kind {
            TypeKind::Base { signed } => {
                self.u8(0);
                self.u8(u8::from(*signed));
            }
            TypeKind::Pointer { target } => {
                self.u8(1);
                match target {
                    Some(t) => {
                        self.u8(1);
                        self.ty(t);
                    }
                    None => self.u8(0),
                }
            }
            TypeKind::Struct => self.u8(2),
            TypeKind::Union => self.u8(3),
            TypeKind::Enum => self.u8(4),
            TypeKind::Array { elem, count } => {
                self.u8(5);
                match count {
                    Some(c) => {
                        self.u8(1);
                        self.u64(*c);
                    }
                    None => self.u8(0),
                }
                self.ty(elem);
            }
            TypeKind::Function => self.u8(6),
            TypeKind::Void => self.u8(7),
        }
    }
}

fn encode(answers: &HashMap<String, Answer>, build_id: &[u8], fingerprint: u64) -> Vec<u8> {
    let mut w = W(Vec::new());
    w.0.extend_from_slice(MAGIC);
    w.u32(VERSION);
    w.bytes(build_id);
    w.u64(fingerprint);
    let mut keys: Vec<&String> = answers.keys().collect();
    keys.sort();
    w.u32(keys.len() as u32);
    for k in keys {
        w.bytes(k.as_bytes());
        match &answers[k] {
            Answer::Size(s) => {
                w.u8(0);
                w.u64(*s);
            }
            Answer::Member(m) => {
                w.u8(1);
                w.u64(m.offset);
                match m.bitfield {
                    Some(b) => {
                        w.u8(1);
                        w.u32(b.bit_offset);
                        w.u32(b.bit_size);
                    }
                    None => w.u8(0),
                }
                w.ty(&m.ty);
            }
            Answer::Value(v) => {
                w.u8(2);
                w.u64(*v as u64);
            }
            Answer::NoType => w.u8(3),
            Answer::NoMember => w.u8(4),
            Answer::NotAggregate(c) => {
                w.u8(5);
                w.bytes(c.as_bytes());
            }
            Answer::NoEnumerator => w.u8(6),
            Answer::Symbol(a) => {
                w.u8(8);
                w.u64(*a);
            }
            Answer::NoSymbol => w.u8(9),
            Answer::At(name, off) => {
                w.u8(10);
                w.bytes(name.as_bytes());
                w.u64(*off);
            }
            Answer::Enumerators(v) => {
                w.u8(7);
                w.u32(v.len() as u32);
                for (name, value) in v {
                    w.bytes(name.as_bytes());
                    w.u64(*value as u64);
                }
            }
        }
    }
    let h = fnv1a(&w.0);
    w.u64(h);
    w.0
}

struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }
    fn flag(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn ty(&mut self, depth: u32) -> Option<TypeInfo> {
        if depth > MAX_DEPTH {
            return None;
        }
        let size = self.u64()?;
        let name = self.opt_str()?;
        let typedef = self.opt_str()?;
        let kind = match self.u8()? {
            0 => TypeKind::Base {
                signed: self.flag()?,
            },
            1 => TypeKind::Pointer {
                target: if self.flag()? {
                    Some(Box::new(self.ty(depth + 1)?))
                } else {
                    None
                },
            },
            2 => TypeKind::Struct,
            3 => TypeKind::Union,
            4 => TypeKind::Enum,
            5 => {
                let count = if self.flag()? {
                    Some(self.u64()?)
                } else {
                    None
                };
                TypeKind::Array {
                    elem: Box::new(self.ty(depth + 1)?),
                    count,
                }
            }
            6 => TypeKind::Function,
            7 => TypeKind::Void,
            _ => return None,
        };
        Some(TypeInfo {
            kind,
            size,
            name,
            typedef,
        })
    }
}

fn decode(data: &[u8], build_id: &[u8], fingerprint: u64) -> Option<HashMap<String, Answer>> {
    let body_len = data.len().checked_sub(8)?;
    let (body, sum) = data.split_at(body_len);
    if fnv1a(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let mut r = Rd(body);
    if r.take(8)? != MAGIC
        || r.u32()? != VERSION
        || r.bytes()? != build_id
        || r.u64()? != fingerprint
    {
        return None;
    }
    let n = r.u32()?;
    let mut answers = HashMap::new();
    for _ in 0..n {
        let k = r.string()?;
        let a = match r.u8()? {
            0 => Answer::Size(r.u64()?),
            1 => {
                let offset = r.u64()?;
                let bitfield = if r.flag()? {
                    Some(Bitfield {
                        bit_offset: r.u32()?,
                        bit_size: r.u32()?,
                    })
                } else {
                    None
                };
                Answer::Member(Member {
                    offset,
                    bitfield,
                    ty: r.ty(0)?,
                })
            }
            2 => Answer::Value(r.u64()? as i64),
            3 => Answer::NoType,
            4 => Answer::NoMember,
            5 => Answer::NotAggregate(r.string()?),
            6 => Answer::NoEnumerator,
            7 => {
                let n = r.u32()? as usize;
                // each entry is at least 12 bytes: a count that the file cannot hold is damage
                if n > r.0.len() / 12 {
                    return None;
                }
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push((r.string()?, r.u64()? as i64));
                }
                Answer::Enumerators(v)
            }
            8 => Answer::Symbol(r.u64()?),
            9 => Answer::NoSymbol,
            10 => Answer::At(r.string()?, r.u64()?),
            _ => return None,
        };
        answers.insert(k, a);
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HashMap<String, Answer> {
        let ptr = TypeInfo {
            kind: TypeKind::Pointer {
                target: Some(Box::new(TypeInfo {
                    kind: TypeKind::Struct,
                    size: 64,
                    name: Some("page".into()),
                    typedef: None,
                })),
            },
            size: 8,
            name: None,
            typedef: None,
        };
        let mut m = HashMap::new();
        m.insert(key('s', &["sk_buff"]), Answer::Size(232));
        m.insert(
            key('l', &["zone_stat_item"]),
            Answer::Enumerators(vec![
                ("NR_FREE_PAGES".into(), 0),
                ("NR_ZONE_LRU_BASE".into(), 1),
            ]),
        );
        m.insert(
            key('m', &["sk_buff", "head_frag"]),
            Answer::Member(Member {
                offset: 126,
                ty: ptr,
                bitfield: Some(Bitfield {
                    bit_offset: 2,
                    bit_size: 1,
                }),
            }),
        );
        m.insert(key('e', &["PG_head"]), Answer::Value(-6));
        m.insert(
            key('y', &["init_task"]),
            Answer::Symbol(0xffff_ffff_82a0_c940),
        );
        m.insert(key('y', &["nope"]), Answer::NoSymbol);
        m.insert(
            key('a', &["ffffffff81234567"]),
            Answer::At("kernel_clone".into(), 0x67),
        );
        m.insert(key('m', &["x", "y"]), Answer::NotAggregate("y".into()));
        m.insert(key('m', &["x", "z"]), Answer::NoMember);
        m
    }

    #[test]
    fn roundtrip_and_corruption() {
        let m = sample();
        let data = encode(&m, b"\x01\x02", 7);
        assert_eq!(decode(&data, b"\x01\x02", 7), Some(m));
        assert_eq!(decode(&data, b"\x01\x03", 7), None, "other build-id");
        assert_eq!(decode(&data, b"\x01\x02", 8), None, "other DWARF");
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0x40;
            assert_eq!(decode(&d, b"\x01\x02", 7), None, "flipped byte {i}");
            assert_eq!(decode(&data[..i], b"\x01\x02", 7), None, "truncated at {i}");
        }
    }
}
