//! The BTF backend: kernel types from a `.BTF` blob (the vmlinux section, or the copy the
//! running kernel keeps in its image and so in every dump).
//!
//! The blob is read in place. Opening checks the header and walks the type section once,
//! recording where each type record starts and indexing names; every record, reference and
//! string offset is bounds-checked when it is read, and every chain (typedefs, qualifiers,
//! anonymous members, arrays) is bounded, so a damaged blob is an error naming the type id,
//! never a panic or an allocation sized by an unchecked field.
//!
//! Answers follow the DWARF backend's rules exactly (same lookup order, same view through
//! anonymous members, same bitfield normalization), so the walk never knows which one answered:
//! `tests` compare the two on the synthetic kernels and on real vmlinux files.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use crate::elf::ElfFile;
use crate::index::{FxMap, Ns};
use crate::resolve::Fail;
use crate::types::{Bitfield, Member, TypeInfo, TypeKind};
use crate::Backend;

/// `BTF_MAGIC` as stored little-endian.
const MAGIC: u16 = 0xeb9f;
/// Longest chain of typedefs/qualifiers, anonymous-member nesting or array nesting we follow
/// (the DWARF backend's limit).
const MAX_DEPTH: u32 = 64;
/// Largest number of types a blob may declare: each record is at least 12 bytes, so this only
/// rejects what the type section's length already rules out.
const RECORD_MIN: usize = 12;

// BTF_KIND_*.
const INT: u8 = 1;
const PTR: u8 = 2;
const ARRAY: u8 = 3;
const STRUCT: u8 = 4;
const UNION: u8 = 5;
const ENUM: u8 = 6;
const FWD: u8 = 7;
const TYPEDEF: u8 = 8;
const VOLATILE: u8 = 9;
const CONST: u8 = 10;
const RESTRICT: u8 = 11;
const FUNC: u8 = 12;
const FUNC_PROTO: u8 = 13;
const VAR: u8 = 14;
const DATASEC: u8 = 15;
const FLOAT: u8 = 16;
const DECL_TAG: u8 = 17;
const TYPE_TAG: u8 = 18;
const ENUM64: u8 = 19;

/// `BTF_INT_SIGNED` in an INT's encoding.
const INT_SIGNED: u32 = 1;
/// Older pahole dropped the signedness of character types: Debian's 5.10 BTF encodes `char`,
/// `signed char` and `unsigned char` alike with no encoding bits. `signed char` is signed by its
/// name; in a blob that lost it, plain `char` is taken as signed too (x86-64 kernels before 6.2,
/// whose `char` was signed, are the ones built with such a pahole; from 6.2 the kernel builds with
/// `-funsigned-char` and pahole records it).
const SIGNED_CHAR: &str = "signed char";

/// Where the blob's bytes live.
pub(crate) enum Blob {
    /// The `.BTF` section of a mapped vmlinux.
    Mapped(Arc<ElfFile>, Range<usize>),
    /// A copy (read from a dump, or from `/sys/kernel/btf/vmlinux`).
    Owned(Vec<u8>),
}

impl Blob {
    fn bytes(&self) -> &[u8] {
        match self {
            Blob::Mapped(elf, r) => elf.map.get(r.clone()).unwrap_or(&[]),
            Blob::Owned(v) => v,
        }
    }
}

/// One type record, decoded from its fixed 12-byte head.
#[derive(Debug, Clone, Copy)]
struct Rec<'a> {
    id: u32,
    name_off: u32,
    kind: u8,
    vlen: u16,
    kflag: bool,
    /// `size` or `type`, by kind.
    size_type: u32,
    /// The kind-specific data after the head.
    extra: &'a [u8],
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Bytes of kind-specific data after the head of a record.
fn extra_len(kind: u8, vlen: u16) -> Option<usize> {
    let n = usize::from(vlen);
    Some(match kind {
        INT | VAR | DECL_TAG => 4,
        PTR | FWD | TYPEDEF | VOLATILE | CONST | RESTRICT | FUNC | FLOAT | TYPE_TAG => 0,
        ARRAY => 12,
        STRUCT | UNION | DATASEC | ENUM64 => 12 * n,
        ENUM | FUNC_PROTO => 8 * n,
        _ => return None,
    })
}

/// The header of a blob: its type and string sections, each checked to lie inside it.
fn header(b: &[u8]) -> Result<(Range<usize>, Range<usize>), Fail> {
    if b.len() < 24 {
        return Err(malformed(format!(
            "{} bytes is shorter than a BTF header (24)",
            b.len()
        )));
    }
    let magic = u16::from_le_bytes([b[0], b[1]]);
    if magic != MAGIC {
        return Err(malformed(if magic == MAGIC.swap_bytes() {
            "big-endian BTF (this reader handles little-endian kernels)".to_string()
        } else {
            format!("bad magic {magic:#06x} (BTF starts with 0xeb9f)")
        }));
    }
    if b[2] != 1 {
        return Err(malformed(format!("BTF version {} (only 1 exists)", b[2])));
    }
    let word = |i: usize| u32_at(b, 4 + 4 * i).map_or(0, |v| v as usize);
    let (hdr_len, type_off, type_len, str_off, str_len) =
        (word(0), word(1), word(2), word(3), word(4));
    if hdr_len < 24 || hdr_len > b.len() {
        return Err(malformed(format!(
            "header length {hdr_len} (blob {} bytes)",
            b.len()
        )));
    }
    let section = |what: &str, off: usize, len: usize| -> Result<Range<usize>, Fail> {
        let start = hdr_len.checked_add(off);
        match start.and_then(|s| s.checked_add(len).map(|e| s..e)) {
            Some(r) if r.end <= b.len() => Ok(r),
            _ => Err(malformed(format!(
                "{what} section ({len} bytes at {off:#x} after the header) runs past the \
                 end of the blob ({} bytes)",
                b.len()
            ))),
        }
    };
    Ok((
        section("type", type_off, type_len)?,
        section("string", str_off, str_len)?,
    ))
}

/// Check a blob's header only (magic, version, sections inside the blob): what a module's BTF
/// must pass to be added; the rest is read on the first question.
pub(crate) fn check_header(b: &[u8]) -> Result<(), String> {
    header(b).map(|_| ()).map_err(|f| match f {
        Fail::Bad { reason, .. } => reason,
        f => format!("{f:?}"),
    })
}

/// What opening the blob computes: record offsets and the name index.
struct Parsed {
    types: Range<usize>,
    strs: Range<usize>,
    /// The id of the blob's first type: 1, or for split BTF (a module's, on the kernel's) one
    /// past the base's last.
    first_id: u32,
    /// Where the blob's strings start in the offsets its records use: 0, or for split BTF the
    /// base's string section length.
    str_start: u32,
    /// `offs[id - first_id]`: start of type `id` in the type section.
    offs: Vec<u32>,
    /// First complete definition of each name per namespace ([`Ns`] order).
    names: FxMap<Box<[u8]>, [Option<u32>; 6]>,
    /// First value of each enumerator name, in type-id order.
    enumerators: FxMap<Box<[u8]>, i64>,
    /// `signed char` is encoded unsigned: the producer dropped character signedness.
    lost_char_sign: bool,
}

/// Why a blob cannot be used at all.
fn malformed(reason: impl Into<String>) -> Fail {
    Fail::Bad {
        at: None,
        reason: reason.into(),
    }
}

/// An error about type `id`.
fn bad_type<T>(id: u32, reason: impl std::fmt::Display) -> Result<T, Fail> {
    Err(Fail::Bad {
        at: Some(u64::from(id)),
        reason: reason.to_string(),
    })
}

impl Parsed {
    /// Parse `b`, on its `base` when it is split BTF (a module's).
    fn parse(b: &[u8], base: Option<Layer<'_>>) -> Result<Parsed, Fail> {
        let (types, strs) = header(b)?;
        let (first_id, str_start) = match base {
            // Split BTF on split BTF (a module's module) does not exist.
            Some(l) if l.p.first_id != 1 => {
                return Err(malformed("a split BTF's base is itself split"));
            }
            Some(l) => (
                l.p.offs.len() as u32 + 1,
                u32::try_from(l.p.strs.len()).map_err(|_| malformed("base strings over 4 GiB"))?,
            ),
            None => (1, 0),
        };
        let mut p = Parsed {
            offs: Vec::with_capacity(types.len() / RECORD_MIN),
            first_id,
            str_start,
            types,
            strs,
            names: FxMap::default(),
            enumerators: FxMap::default(),
            lost_char_sign: false,
        };
        let tb = &b[p.types.clone()];
        let mut at = 0usize;
        while at < tb.len() {
            let id = p.first_id + p.offs.len() as u32;
            let (Some(info), Some(_)) = (u32_at(tb, at + 4), u32_at(tb, at + 8)) else {
                return bad_type(id, "record truncated at the end of the type section");
            };
            let kind = ((info >> 24) & 0x1f) as u8;
            let vlen = (info & 0xffff) as u16;
            let Some(n) = extra_len(kind, vlen) else {
                return bad_type(id, format!("unknown kind {kind}"));
            };
            let end = at + 12 + n;
            if end > tb.len() {
                return bad_type(id, "record runs past the end of the type section");
            }
            p.offs.push(at as u32);
            at = end;
        }
        let top = Layer { b, p: &p };
        let (names, enumerators, lost_char_sign) = View { top, base }.index()?;
        p.names = names;
        p.enumerators = enumerators;
        p.lost_char_sign = lost_char_sign;
        Ok(p)
    }

    fn rec<'a>(&self, b: &'a [u8], id: u32) -> Result<Rec<'a>, Fail> {
        let Some(&off) = id
            .checked_sub(self.first_id)
            .and_then(|i| self.offs.get(i as usize))
        else {
            return bad_type(
                id,
                format!(
                    "out of range (the blob has types {} to {})",
                    self.first_id,
                    self.first_id as usize + self.offs.len() - 1
                ),
            );
        };
        let tb = &b[self.types.clone()];
        let at = off as usize;
        let (Some(name_off), Some(info), Some(size_type)) =
            (u32_at(tb, at), u32_at(tb, at + 4), u32_at(tb, at + 8))
        else {
            return bad_type(id, "record truncated");
        };
        let kind = ((info >> 24) & 0x1f) as u8;
        let vlen = (info & 0xffff) as u16;
        let n = extra_len(kind, vlen).unwrap_or(0);
        let Some(extra) = tb.get(at + 12..at + 12 + n) else {
            return bad_type(id, "record truncated");
        };
        Ok(Rec {
            id,
            name_off,
            kind,
            vlen,
            kflag: info >> 31 != 0,
            size_type,
            extra,
        })
    }

    fn str<'a>(&self, b: &'a [u8], off: u32, id: u32) -> Result<&'a [u8], Fail> {
        let s = &b[self.strs.clone()];
        let Some(tail) = s.get(off as usize..) else {
            return bad_type(
                id,
                format!(
                    "name offset {off:#x} past the string section ({} bytes)",
                    s.len()
                ),
            );
        };
        match tail.iter().position(|&c| c == 0) {
            Some(end) => Ok(&tail[..end]),
            None => bad_type(id, format!("name at {off:#x} is not NUL-terminated")),
        }
    }
}

/// A blob and, once asked, what parsing it found: shared by a kernel's backend and the module
/// BTFs split on it.
pub(crate) struct Core {
    blob: Blob,
    /// Names the blob in messages (`/boot/vmlinux .BTF`, `the dump's .BTF`, `module virtio_ring's BTF`).
    origin: String,
    parsed: OnceLock<Result<Parsed, (Option<u64>, String)>>,
}

impl Core {
    /// The parsed blob (parsed now, on `base` for split BTF, or the earlier result).
    fn layer(&self, base: Option<Layer<'_>>) -> Res<Layer<'_>> {
        let b = self.blob.bytes();
        let parsed = self.parsed.get_or_init(|| {
            Parsed::parse(b, base).map_err(|f| match f {
                Fail::Bad { at, reason } => (at, reason),
                other => (None, format!("{other:?}")),
            })
        });
        match parsed {
            Ok(p) => Ok(Layer { b, p }),
            Err((at, reason)) => Err(Fail::Bad {
                at: *at,
                reason: reason.clone(),
            }),
        }
    }
}

/// Types from a BTF blob, parsed on the first question: a kernel's, or a module's split on the
/// kernel's (its type ids and string offsets continue the base's, and its types refer to the
/// base's).
pub(crate) struct BtfBackend {
    core: Arc<Core>,
    base: Option<Arc<Core>>,
}

type Res<T> = Result<T, Fail>;

/// A type after typedefs and qualifiers (None = void), and the first typedef name seen.
type Stripped<'a> = (Option<Rec<'a>>, Option<String>);

impl BtfBackend {
    pub(crate) fn new(blob: Blob, origin: String) -> Self {
        BtfBackend {
            core: Arc::new(Core {
                blob,
                origin,
                parsed: OnceLock::new(),
            }),
            base: None,
        }
    }

    /// A module's BTF, split on `base` (the kernel's).
    pub(crate) fn split(blob: Vec<u8>, origin: String, base: Arc<Core>) -> Self {
        BtfBackend {
            base: Some(base),
            ..BtfBackend::new(Blob::Owned(blob), origin)
        }
    }

    /// The blob, for module BTFs to be split on (none for a split one: modules split on the
    /// kernel's only).
    pub(crate) fn core(&self) -> Option<Arc<Core>> {
        self.base.is_none().then(|| self.core.clone())
    }

    /// Parse the blob now (or return the earlier result): for the caller that wants a damaged
    /// blob reported at open time.
    pub(crate) fn check(&self) -> Result<(), crate::Error> {
        match self.view() {
            Ok(_) => Ok(()),
            Err(f) => match self.wrap(f) {
                Fail::Other(e) => Err(*e),
                f => Err(crate::Error::MalformedBtf {
                    blob: self.core.origin.clone(),
                    type_id: None,
                    reason: format!("{f:?}"),
                }),
            },
        }
    }

    /// Turn a malformation into the crate error that names this blob.
    fn wrap(&self, f: Fail) -> Fail {
        match f {
            Fail::Bad { at, reason } => Fail::Other(Box::new(crate::Error::MalformedBtf {
                blob: self.core.origin.clone(),
                type_id: at.and_then(|a| u32::try_from(a).ok()),
                reason,
            })),
            f => f,
        }
    }

    fn view(&self) -> Res<View<'_>> {
        let base = match &self.base {
            Some(b) => Some(b.layer(None)?),
            None => None,
        };
        Ok(View {
            top: self.core.layer(base)?,
            base,
        })
    }
}

/// One parsed blob.
#[derive(Clone, Copy)]
struct Layer<'a> {
    b: &'a [u8],
    p: &'a Parsed,
}

/// A parsed blob (on its base, when it is split), borrowed for one question.
struct View<'a> {
    top: Layer<'a>,
    base: Option<Layer<'a>>,
}

/// What a blob's name index holds: first definition per name and namespace, first value per
/// enumerator name, and whether character signedness was lost.
type Index = (
    FxMap<Box<[u8]>, [Option<u32>; 6]>,
    FxMap<Box<[u8]>, i64>,
    bool,
);

fn is_aggregate(kind: u8) -> bool {
    matches!(kind, STRUCT | UNION)
}

impl<'a> View<'a> {
    fn rec(&self, id: u32) -> Res<Rec<'a>> {
        match self.base {
            Some(l) if id < self.top.p.first_id => l.p.rec(l.b, id),
            _ => self.top.p.rec(self.top.b, id),
        }
    }

    /// The string at `off`: in the base's section below the blob's own, else in its own.
    fn str(&self, off: u32, id: u32) -> Res<&'a [u8]> {
        match self.base {
            Some(l) if off < self.top.p.str_start => l.p.str(l.b, off, id),
            _ => self.top.p.str(self.top.b, off - self.top.p.str_start, id),
        }
    }

    fn lost_char_sign(&self) -> bool {
        self.top.p.lost_char_sign || self.base.is_some_and(|l| l.p.lost_char_sign)
    }

    /// The first value of enumerator `name`: the blob's own, else its base's.
    fn enumerator(&self, name: &str) -> Option<i64> {
        let own = self.top.p.enumerators.get(name.as_bytes()).copied();
        own.or_else(|| self.base?.p.enumerators.get(name.as_bytes()).copied())
    }

    /// Index the top blob's names, in id order: the first complete definition wins, as in DWARF.
    fn index(&self) -> Res<Index> {
        let (mut names, mut enumerators, mut lost) = (FxMap::default(), FxMap::default(), false);
        let p = self.top.p;
        for id in p.first_id..p.first_id + p.offs.len() as u32 {
            let r = self.rec(id)?;
            let ns = match r.kind {
                STRUCT => Some((Ns::Struct, true)),
                UNION => Some((Ns::Union, true)),
                FWD if r.kflag => Some((Ns::Union, false)),
                FWD => Some((Ns::Struct, false)),
                ENUM | ENUM64 => Some((Ns::Enum, r.vlen > 0)),
                TYPEDEF => Some((Ns::Typedef, true)),
                INT | FLOAT => Some((Ns::Base, true)),
                VAR => Some((Ns::Var, true)),
                _ => None,
            };
            if matches!(r.kind, ENUM | ENUM64) {
                for i in 0..usize::from(r.vlen) {
                    let (name, v) = self.enumerator_at(&r, i)?;
                    if !name.is_empty() && !enumerators.contains_key(name) {
                        enumerators.insert(name.into(), v);
                    }
                }
            }
            let Some((ns, complete)) = ns else { continue };
            if r.name_off == 0 || !complete {
                continue;
            }
            let name = self.str(r.name_off, id)?;
            if r.kind == INT
                && name == SIGNED_CHAR.as_bytes()
                && u32_at(r.extra, 0).unwrap_or(0) >> 24 & INT_SIGNED == 0
            {
                lost = true;
            }
            let slots: &mut [Option<u32>; 6] = names.entry(name.into()).or_default();
            slots[ns as usize].get_or_insert(id);
        }
        Ok((names, enumerators, lost))
    }

    /// Enumerator `i` of an ENUM or ENUM64 record: its name and value (sign by `kind_flag`).
    fn enumerator_at(&self, r: &Rec<'_>, i: usize) -> Res<(&'a [u8], i64)> {
        let (stride, wide) = if r.kind == ENUM64 {
            (12, true)
        } else {
            (8, false)
        };
        let at = i * stride;
        let (Some(name_off), Some(lo)) = (u32_at(r.extra, at), u32_at(r.extra, at + 4)) else {
            return bad_type(r.id, "enumerator truncated");
        };
        let v = if wide {
            let hi = u32_at(r.extra, at + 8).unwrap_or(0);
            ((u64::from(hi) << 32) | u64::from(lo)) as i64
        } else if r.kflag {
            i64::from(lo as i32)
        } else {
            i64::from(lo)
        };
        Ok((self.str(name_off, r.id)?, v))
    }

    fn name(&self, r: &Rec<'_>) -> Res<Option<String>> {
        if r.name_off == 0 {
            return Ok(None);
        }
        let s = self.str(r.name_off, r.id)?;
        Ok(Some(String::from_utf8_lossy(s).into_owned()))
    }

    /// A name's first definition in the given namespaces: the blob's own, else its base's.
    fn lookup(&self, name: &str, spaces: &[Ns]) -> Option<u32> {
        let find = |l: Layer<'_>| {
            let slots = l.p.names.get(name.as_bytes())?;
            spaces.iter().find_map(|&ns| slots[ns as usize])
        };
        find(self.top).or_else(|| find(self.base?))
    }

    /// As the DWARF backend: `struct x`, `union x`, `enum x`, or a bare name (struct/union,
    /// typedef, base type, enum).
    fn find_type(&self, name: &str) -> Res<u32> {
        let (spaces, bare) = crate::index::type_spaces(name);
        self.lookup(bare, spaces).ok_or(Fail::NoType)
    }

    /// Follow typedefs, qualifiers and type tags; swap a forward declaration for its complete
    /// definition. Id 0 is void.
    fn strip(&self, mut id: u32) -> Res<Stripped<'a>> {
        let mut typedef = None;
        for _ in 0..MAX_DEPTH {
            if id == 0 {
                return Ok((None, typedef));
            }
            let r = self.rec(id)?;
            match r.kind {
                TYPEDEF => {
                    if typedef.is_none() {
                        typedef = self.name(&r)?;
                    }
                    id = r.size_type;
                }
                VOLATILE | CONST | RESTRICT | TYPE_TAG => id = r.size_type,
                FWD => {
                    let ns = if r.kflag { Ns::Union } else { Ns::Struct };
                    let full = self
                        .name(&r)?
                        .and_then(|n| self.lookup(&n, &[ns]))
                        .filter(|&f| f != id);
                    match full {
                        Some(f) => id = f,
                        None => return Ok((Some(r), typedef)),
                    }
                }
                ENUM | ENUM64 if r.vlen == 0 => {
                    let full = self
                        .name(&r)?
                        .and_then(|n| self.lookup(&n, &[Ns::Enum]))
                        .filter(|&f| f != id);
                    match full {
                        Some(f) => id = f,
                        None => return Ok((Some(r), typedef)),
                    }
                }
                _ => return Ok((Some(r), typedef)),
            }
        }
        bad_type(id, "typedef/qualifier chain too long (a cycle?)")
    }

    fn type_info(&self, id: u32, depth: u32) -> Res<TypeInfo> {
        let (found, typedef) = self.strip(id)?;
        let Some(r) = found else {
            return Ok(TypeInfo {
                kind: TypeKind::Void,
                size: 0,
                name: None,
                typedef,
            });
        };
        let size = u64::from(r.size_type);
        let (kind, size) = match r.kind {
            INT => {
                let enc = u32_at(r.extra, 0).unwrap_or(0) >> 24;
                let signed = enc & INT_SIGNED != 0
                    || self.name(&r)?.is_some_and(|n| {
                        n == SIGNED_CHAR || (n == "char" && self.lost_char_sign())
                    });
                (TypeKind::Base { signed }, size)
            }
            FLOAT => (TypeKind::Base { signed: true }, size),
            PTR => {
                // `void *` has no target, as in DWARF (where `const void *` has `void`).
                let target = if r.size_type != 0 && depth < MAX_DEPTH / 8 {
                    Some(Box::new(self.type_info(r.size_type, depth + 1)?))
                } else {
                    None
                };
                (TypeKind::Pointer { target }, 8)
            }
            STRUCT => (TypeKind::Struct, size),
            UNION => (TypeKind::Union, size),
            // A declaration with no definition anywhere: incomplete, size unknown.
            FWD if r.kflag => (TypeKind::Union, 0),
            FWD => (TypeKind::Struct, 0),
            ENUM | ENUM64 => (TypeKind::Enum, size),
            FUNC_PROTO | FUNC => (TypeKind::Function, 0),
            ARRAY => {
                if depth >= MAX_DEPTH {
                    return bad_type(r.id, "array nesting too deep");
                }
                let (Some(elem_id), Some(nelems)) = (u32_at(r.extra, 0), u32_at(r.extra, 8)) else {
                    return bad_type(r.id, "array record truncated");
                };
                let elem = self.type_info(elem_id, depth + 1)?;
                // BTF cannot tell `x[]` from `x[0]`: both are a flexible array.
                let count = (nelems > 0).then_some(u64::from(nelems));
                return Ok(TypeInfo {
                    size: count.unwrap_or(0).saturating_mul(elem.size),
                    kind: TypeKind::Array {
                        elem: Box::new(elem),
                        count,
                    },
                    name: None,
                    typedef,
                });
            }
            k => return bad_type(r.id, format!("kind {k} is not a type a member can have")),
        };
        Ok(TypeInfo {
            kind,
            size,
            name: self.name(&r)?,
            typedef,
        })
    }

    /// Member `i` of a struct/union: name offset, type id, bit position and bitfield width.
    fn member_at(&self, r: &Rec<'_>, i: usize) -> Res<(u32, u32, u64, Option<u32>)> {
        let at = i * 12;
        let (Some(name_off), Some(ty), Some(off)) = (
            u32_at(r.extra, at),
            u32_at(r.extra, at + 4),
            u32_at(r.extra, at + 8),
        ) else {
            return bad_type(r.id, "member truncated");
        };
        if r.kflag {
            let bits = off >> 24;
            return Ok((
                name_off,
                ty,
                u64::from(off & 0xff_ffff),
                (bits > 0).then_some(bits),
            ));
        }
        // Without kind_flag a bitfield is a member whose type is an INT narrower than its
        // storage (or shifted in it).
        let (t, _) = self.strip(ty)?;
        if let Some(t) = t.filter(|t| t.kind == INT) {
            let enc = u32_at(t.extra, 0).unwrap_or(0);
            let (shift, nbits) = ((enc >> 16) & 0xff, enc & 0xff);
            if shift != 0 || u64::from(nbits) != u64::from(t.size_type) * 8 {
                return Ok((name_off, ty, u64::from(off) + u64::from(shift), Some(nbits)));
            }
        }
        Ok((name_off, ty, u64::from(off), None))
    }

    /// Search `agg`'s members for `name`, through anonymous structs and unions. Returns the bit
    /// position from the start of `agg`, the member's type id and its bitfield width.
    fn find_member(
        &self,
        agg: &Rec<'_>,
        name: &[u8],
        depth: u32,
    ) -> Res<Option<(u64, u32, Option<u32>)>> {
        if depth > MAX_DEPTH {
            return bad_type(agg.id, "anonymous member nesting too deep");
        }
        for i in 0..usize::from(agg.vlen) {
            let (name_off, ty, pos, bits) = self.member_at(agg, i)?;
            if name_off != 0 {
                if self.str(name_off, agg.id)? == name {
                    return Ok(Some((pos, ty, bits)));
                }
                continue;
            }
            if let (Some(inner), _) = self.strip(ty)? {
                if is_aggregate(inner.kind) {
                    if let Some((p, t, b)) = self.find_member(&inner, name, depth + 1)? {
                        return Ok(Some((pos + p, t, b)));
                    }
                }
            }
        }
        Ok(None)
    }

    fn member(&self, type_name: &str, path: &str) -> Res<Member> {
        let top = self.find_type(type_name)?;
        let agg = match self.strip(top)? {
            (Some(r), _) if is_aggregate(r.kind) => r,
            _ => return Err(Fail::NotAggregate(type_name.to_owned())),
        };
        let mut agg = agg;
        let mut pos = 0u64;
        let mut last: Option<(u32, Option<u32>)> = None;
        for (i, comp) in path.split('.').enumerate() {
            if let Some((ty, _)) = last {
                match self.strip(ty)? {
                    (Some(r), _) if is_aggregate(r.kind) => agg = r,
                    _ => {
                        let done: Vec<&str> = path.split('.').take(i).collect();
                        return Err(Fail::NotAggregate(done.join(".")));
                    }
                }
            }
            let (p, ty, bits) = self
                .find_member(&agg, comp.as_bytes(), 0)?
                .ok_or(Fail::NoMember)?;
            pos += p;
            last = Some((ty, bits));
        }
        let (ty, bits) = last.ok_or(Fail::NoMember)?;
        Ok(Member {
            offset: pos / 8,
            ty: self.type_info(ty, 0)?,
            bitfield: bits.map(|bit_size| Bitfield {
                bit_offset: (pos % 8) as u32,
                bit_size,
            }),
        })
    }

    /// The type of variable `name` (BTF has per-cpu variables only).
    fn variable_type(&self, name: &str) -> Res<TypeInfo> {
        let id = self.lookup(name, &[Ns::Var]).ok_or(Fail::NoType)?;
        let r = self.rec(id)?;
        self.type_info(r.size_type, 0)
    }

    fn find_enum(&self, enum_name: &str) -> Res<Rec<'a>> {
        let bare = crate::index::enum_bare(enum_name);
        let id = self.lookup(bare, &[Ns::Enum]).ok_or(Fail::NoType)?;
        self.rec(id)
    }

    fn enumerators(&self, enum_name: &str) -> Res<Vec<(String, i64)>> {
        let r = self.find_enum(enum_name)?;
        (0..usize::from(r.vlen))
            .map(|i| {
                let (n, v) = self.enumerator_at(&r, i)?;
                Ok((String::from_utf8_lossy(n).into_owned(), v))
            })
            .collect()
    }
}

impl Backend for BtfBackend {
    fn btf_core(&self) -> Option<Arc<Core>> {
        self.core()
    }
    fn is_loaded(&self) -> bool {
        self.core.parsed.get().is_some()
    }
    fn size_of(&self, type_name: &str) -> Res<u64> {
        let r = self.view().and_then(|v| {
            let id = v.find_type(type_name)?;
            Ok(v.type_info(id, 0)?.size)
        });
        r.map_err(|f| self.wrap(f))
    }
    fn member(&self, type_name: &str, path: &str) -> Res<Member> {
        self.view()
            .and_then(|v| v.member(type_name, path))
            .map_err(|f| self.wrap(f))
    }
    fn enumerator(&self, name: &str) -> Res<i64> {
        let r = self
            .view()
            .and_then(|v| v.enumerator(name).ok_or(Fail::NoEnumerator));
        r.map_err(|f| self.wrap(f))
    }
    fn enum_value(&self, enum_name: &str, constant: &str) -> Res<i64> {
        let r = self.view().and_then(|v| {
            let r = v.find_enum(enum_name)?;
            for i in 0..usize::from(r.vlen) {
                let (n, val) = v.enumerator_at(&r, i)?;
                if n == constant.as_bytes() {
                    return Ok(val);
                }
            }
            Err(Fail::NoEnumerator)
        });
        r.map_err(|f| self.wrap(f))
    }
    fn enumerators(&self, enum_name: &str) -> Res<Vec<(String, i64)>> {
        self.view()
            .and_then(|v| v.enumerators(enum_name))
            .map_err(|f| self.wrap(f))
    }
    fn variable_type(&self, name: &str) -> Res<TypeInfo> {
        self.view()
            .and_then(|v| v.variable_type(name))
            .map_err(|f| self.wrap(f))
    }
}
