//! Resolving what is asked, from the name index down to the few DWARF entries involved.

use std::cell::RefCell;
use std::rc::Rc;

use gimli::{constants as dw, AttributeValue};

use crate::index::{const_value, DieRef, FxMap, Index, Ns};
use crate::types::{Bitfield, Member, TypeInfo, TypeKind};

pub(crate) use crate::reader::{Dwarf, R};

/// Why a resolution step failed; turned into a [`crate::Error`] by the caller.
#[derive(Debug)]
pub(crate) enum Fail {
    NoType,
    NoMember,
    NotAggregate(String),
    NoEnumerator,
    Bad { at: Option<u64>, reason: String },
    Other(Box<crate::Error>),
}

impl From<gimli::Error> for Fail {
    fn from(e: gimli::Error) -> Fail {
        Fail::Bad {
            at: None,
            reason: e.to_string(),
        }
    }
}

type Res<T> = std::result::Result<T, Fail>;

/// A type entry after typedefs/qualifiers (None = void), and the first typedef name seen.
type Stripped = (Option<(DieRef, Attrs)>, Option<String>);

fn bad<T>(at: DieRef, reason: impl Into<String>) -> Res<T> {
    Err(Fail::Bad {
        at: Some(at.die),
        reason: reason.into(),
    })
}

/// The attributes of one entry that layout questions need.
#[derive(Debug)]
struct Attrs {
    tag: dw::DwTag,
    name: Option<String>,
    ty: Option<DieRef>,
    byte_size: Option<u64>,
    decl: bool,
    signed: bool,
    member_location: Option<u64>,
    data_bit_offset: Option<u64>,
    bit_offset: Option<u64>,
    bit_size: Option<u64>,
    upper_bound: Option<u64>,
    count: Option<u64>,
    const_value: Option<i64>,
}

fn udata(v: &AttributeValue<R<'_>>) -> Option<u64> {
    match *v {
        AttributeValue::Sdata(x) if x < 0 => None,
        _ => v.udata_value(),
    }
}

/// Longest chain of typedefs/qualifiers or pointer nesting we follow.
const MAX_DEPTH: u32 = 64;

/// One resolution session: borrows the DWARF and the index, caches parsed units.
pub(crate) struct Resolver<'a> {
    dwarf: &'a Dwarf<'a>,
    index: &'a Index,
    units: RefCell<FxMap<u64, Rc<gimli::Unit<R<'a>>>>>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(dwarf: &'a Dwarf<'a>, index: &'a Index) -> Self {
        Resolver {
            dwarf,
            index,
            units: RefCell::default(),
        }
    }

    fn unit(&self, off: u64) -> Res<Rc<gimli::Unit<R<'a>>>> {
        if let Some(u) = self.units.borrow().get(&off) {
            return Ok(u.clone());
        }
        let header = self
            .dwarf
            .debug_info
            .header_from_offset(gimli::DebugInfoOffset(off as usize))?;
        let unit = Rc::new(self.dwarf.unit(header)?);
        self.units.borrow_mut().insert(off, unit.clone());
        Ok(unit)
    }

    fn reference(&self, d: DieRef, v: &AttributeValue<R<'a>>) -> Res<Option<DieRef>> {
        Ok(match *v {
            AttributeValue::UnitRef(o) => Some(DieRef {
                unit: d.unit,
                die: d.unit + o.0 as u64,
            }),
            AttributeValue::DebugInfoRef(o) => {
                let die = o.0 as u64;
                let i = self.index.units.partition_point(|&u| u <= die);
                if i == 0 {
                    return bad(d, "DW_AT_type reference before the first unit");
                }
                Some(DieRef {
                    unit: self.index.units[i - 1],
                    die,
                })
            }
            _ => return bad(d, "unsupported DW_AT_type form"),
        })
    }

    fn read(&self, d: DieRef) -> Res<Attrs> {
        let unit = self.unit(d.unit)?;
        let Some(rel) = d.die.checked_sub(d.unit) else {
            return bad(d, "entry offset before its unit");
        };
        let e = unit.entry(gimli::UnitOffset(rel as usize))?;
        let mut a = Attrs {
            tag: e.tag(),
            name: None,
            ty: None,
            byte_size: None,
            decl: false,
            signed: false,
            member_location: None,
            data_bit_offset: None,
            bit_offset: None,
            bit_size: None,
            upper_bound: None,
            count: None,
            const_value: None,
        };
        let mut attrs = e.attrs();
        while let Some(at) = attrs.next()? {
            let v = at.value();
            match at.name() {
                dw::DW_AT_name => {
                    let s = self.dwarf.attr_string(&unit, v)?;
                    a.name = Some(String::from_utf8_lossy(s.slice()).into_owned());
                }
                dw::DW_AT_type => a.ty = self.reference(d, &v)?,
                dw::DW_AT_byte_size => a.byte_size = udata(&v),
                dw::DW_AT_declaration => a.decl = true,
                dw::DW_AT_encoding => {
                    if let AttributeValue::Encoding(enc) = v {
                        a.signed = matches!(
                            enc,
                            dw::DW_ATE_signed
                                | dw::DW_ATE_signed_char
                                | dw::DW_ATE_float
                                | dw::DW_ATE_signed_fixed
                        );
                    }
                }
                dw::DW_AT_data_member_location => {
                    a.member_location = match v {
                        AttributeValue::Exprloc(expr) => {
                            // DWARF 2/3 style: DW_OP_plus_uconst <uleb>.
                            let mut r = expr.0;
                            let op = gimli::Reader::read_u8(&mut r).ok();
                            match op {
                                Some(0x23) => gimli::Reader::read_uleb128(&mut r).ok(),
                                _ => {
                                    return bad(
                                        d,
                                        "unsupported DW_AT_data_member_location expression",
                                    )
                                }
                            }
                        }
                        _ => udata(&v),
                    }
                }
                dw::DW_AT_data_bit_offset => a.data_bit_offset = udata(&v),
                dw::DW_AT_bit_offset => a.bit_offset = udata(&v),
                dw::DW_AT_bit_size => a.bit_size = udata(&v),
                dw::DW_AT_upper_bound => a.upper_bound = udata(&v),
                dw::DW_AT_count => a.count = udata(&v),
                dw::DW_AT_const_value => a.const_value = const_value(&v),
                _ => {}
            }
        }
        Ok(a)
    }

    fn children(&self, d: DieRef) -> Res<Vec<DieRef>> {
        let unit = self.unit(d.unit)?;
        let mut tree = unit.entries_tree(Some(gimli::UnitOffset((d.die - d.unit) as usize)))?;
        let root = tree.root()?;
        let mut out = Vec::new();
        let mut it = root.children();
        while let Some(c) = it.next()? {
            out.push(DieRef {
                unit: d.unit,
                die: d.unit + c.entry().offset().0 as u64,
            });
        }
        Ok(out)
    }

    /// The complete definition for `name` in one of `spaces`, in order.
    fn lookup(&self, name: &str, spaces: &[Ns]) -> Option<DieRef> {
        let slots = self.index.types.get(name.as_bytes())?;
        spaces
            .iter()
            .filter_map(|&ns| slots.get(ns))
            .find(|d| d.complete)
            .map(|d| d.at)
    }

    /// Find a type by name: `struct x`, `union x`, `enum x`, or a bare name (struct/union first,
    /// then typedef, then base type, then enum).
    pub(crate) fn find_type(&self, name: &str) -> Res<DieRef> {
        let (spaces, bare) = crate::index::type_spaces(name);
        self.lookup(bare, spaces).ok_or(Fail::NoType)
    }

    /// Follow typedefs and qualifiers; swap a declaration for its complete definition.
    /// Returns the final entry (None = void) and the first typedef name seen.
    fn strip(&self, mut d: Option<DieRef>) -> Res<Stripped> {
        let mut typedef = None;
        for _ in 0..MAX_DEPTH {
            let Some(cur) = d else {
                return Ok((None, typedef));
            };
            let a = self.read(cur)?;
            match a.tag {
                dw::DW_TAG_typedef => {
                    if typedef.is_none() {
                        typedef = a.name.clone();
                    }
                    d = a.ty;
                }
                dw::DW_TAG_const_type
                | dw::DW_TAG_volatile_type
                | dw::DW_TAG_restrict_type
                | dw::DW_TAG_atomic_type => d = a.ty,
                dw::DW_TAG_structure_type
                | dw::DW_TAG_class_type
                | dw::DW_TAG_union_type
                | dw::DW_TAG_enumeration_type
                    if a.decl =>
                {
                    let ns = match a.tag {
                        dw::DW_TAG_union_type => Ns::Union,
                        dw::DW_TAG_enumeration_type => Ns::Enum,
                        _ => Ns::Struct,
                    };
                    match a.name.as_deref().and_then(|n| self.lookup(n, &[ns])) {
                        Some(full) if full != cur => d = Some(full),
                        _ => return Ok((Some((cur, a)), typedef)),
                    }
                }
                _ => return Ok((Some((cur, a)), typedef)),
            }
        }
        bad(
            d.unwrap_or(DieRef { unit: 0, die: 0 }),
            "typedef/qualifier chain too long (a cycle?)",
        )
    }

    /// Describe the type at `d` (None = void).
    pub(crate) fn type_info(&self, d: Option<DieRef>, depth: u32) -> Res<TypeInfo> {
        let (found, typedef) = self.strip(d)?;
        let Some((at, a)) = found else {
            return Ok(TypeInfo {
                kind: TypeKind::Void,
                size: 0,
                name: None,
                typedef,
            });
        };
        let (kind, size) = match a.tag {
            dw::DW_TAG_base_type => (
                TypeKind::Base { signed: a.signed },
                a.byte_size.unwrap_or(0),
            ),
            dw::DW_TAG_pointer_type
            | dw::DW_TAG_reference_type
            | dw::DW_TAG_rvalue_reference_type
            | dw::DW_TAG_ptr_to_member_type => {
                let target = match a.ty {
                    Some(_) if depth < MAX_DEPTH / 8 => {
                        Some(Box::new(self.type_info(a.ty, depth + 1)?))
                    }
                    _ => None,
                };
                let size = a
                    .byte_size
                    .unwrap_or(u64::from(self.unit(at.unit)?.header.address_size()));
                (TypeKind::Pointer { target }, size)
            }
            dw::DW_TAG_structure_type | dw::DW_TAG_class_type => {
                (TypeKind::Struct, a.byte_size.unwrap_or(0))
            }
            dw::DW_TAG_union_type => (TypeKind::Union, a.byte_size.unwrap_or(0)),
            dw::DW_TAG_enumeration_type => (TypeKind::Enum, a.byte_size.unwrap_or(0)),
            dw::DW_TAG_subroutine_type => (TypeKind::Function, 0),
            dw::DW_TAG_unspecified_type => (TypeKind::Void, 0),
            dw::DW_TAG_array_type => {
                if depth >= MAX_DEPTH {
                    return bad(at, "array nesting too deep");
                }
                let elem = self.type_info(a.ty, depth + 1)?;
                let mut dims = Vec::new();
                for c in self.children(at)? {
                    let s = self.read(c)?;
                    if s.tag == dw::DW_TAG_subrange_type {
                        dims.push(s.count.or(s.upper_bound.map(|u| u.wrapping_add(1))));
                    }
                }
                if dims.is_empty() {
                    dims.push(None);
                }
                let mut t = elem;
                for (i, count) in dims.iter().enumerate().rev() {
                    let size = match (i, a.byte_size) {
                        (0, Some(s)) => s,
                        _ => count.unwrap_or(0).saturating_mul(t.size),
                    };
                    t = TypeInfo {
                        kind: TypeKind::Array {
                            elem: Box::new(t),
                            count: *count,
                        },
                        size,
                        name: None,
                        typedef: None,
                    };
                }
                t.typedef = typedef;
                return Ok(t);
            }
            t => return bad(at, format!("unexpected type entry {t}")),
        };
        Ok(TypeInfo {
            kind,
            size,
            name: a.name,
            typedef,
        })
    }

    /// Search the members of aggregate `agg` for `name`, looking through anonymous
    /// structs/unions. Returns the bit position (from the start of `agg`) and the member entry.
    fn find_member(&self, agg: DieRef, name: &str, depth: u32) -> Res<Option<(u64, Attrs)>> {
        if depth > MAX_DEPTH {
            return bad(agg, "anonymous member nesting too deep");
        }
        for c in self.children(agg)? {
            let a = self.read(c)?;
            if a.tag != dw::DW_TAG_member {
                continue;
            }
            match a.name.as_deref() {
                Some(n) if n == name => {
                    let pos = self.bit_position(c, &a)?;
                    return Ok(Some((pos, a)));
                }
                Some(_) => {}
                None => {
                    if let (Some((inner, ia)), _) = self.strip(a.ty)? {
                        if matches!(
                            ia.tag,
                            dw::DW_TAG_structure_type
                                | dw::DW_TAG_union_type
                                | dw::DW_TAG_class_type
                        ) {
                            if let Some((p, m)) = self.find_member(inner, name, depth + 1)? {
                                let base = a.member_location.unwrap_or(0) * 8;
                                return Ok(Some((base + p, m)));
                            }
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// Bit position of a member's first (least significant) bit from the start of its parent.
    fn bit_position(&self, at: DieRef, a: &Attrs) -> Res<u64> {
        let loc = a.member_location.unwrap_or(0);
        let Some(bits) = a.bit_size else {
            return Ok(loc * 8);
        };
        if let Some(dbo) = a.data_bit_offset {
            return Ok(loc * 8 + dbo);
        }
        if let Some(bo) = a.bit_offset {
            // DWARF 2/3: counted from the MSB of a storage unit of DW_AT_byte_size bytes.
            let storage = match a.byte_size {
                Some(s) => s,
                None => self.type_info(a.ty, 0)?.size,
            };
            return match (storage * 8).checked_sub(bo + bits) {
                Some(lsb) => Ok(loc * 8 + lsb),
                None => bad(at, "DW_AT_bit_offset outside its storage unit"),
            };
        }
        Ok(loc * 8)
    }

    /// Resolve a dotted member path in `type_name`.
    pub(crate) fn member(&self, type_name: &str, path: &str) -> Res<Member> {
        let mut agg = self.find_type(type_name)?;
        let mut pos = 0u64;
        let mut last = None;
        for (i, comp) in path.split('.').enumerate() {
            if i > 0 {
                let prev: &Attrs = last.as_ref().ok_or(Fail::NoMember)?;
                match self.strip(prev.ty)? {
                    (Some((d, a)), _)
                        if matches!(
                            a.tag,
                            dw::DW_TAG_structure_type
                                | dw::DW_TAG_union_type
                                | dw::DW_TAG_class_type
                        ) =>
                    {
                        agg = d
                    }
                    _ => {
                        let done: Vec<&str> = path.split('.').take(i).collect();
                        return Err(Fail::NotAggregate(done.join(".")));
                    }
                }
            } else {
                let (found, _) = self.strip(Some(agg))?;
                match found {
                    Some((d, a))
                        if matches!(
                            a.tag,
                            dw::DW_TAG_structure_type
                                | dw::DW_TAG_union_type
                                | dw::DW_TAG_class_type
                        ) && !a.decl =>
                    {
                        agg = d
                    }
                    _ => return Err(Fail::NotAggregate(type_name.to_owned())),
                }
            }
            let (p, a) = self.find_member(agg, comp, 0)?.ok_or(Fail::NoMember)?;
            pos += p;
            last = Some(a);
        }
        let a = last.ok_or(Fail::NoMember)?;
        let ty = self.type_info(a.ty, 0)?;
        let bitfield = a.bit_size.map(|bits| Bitfield {
            bit_offset: (pos % 8) as u32,
            bit_size: bits as u32,
        });
        Ok(Member {
            offset: pos / 8,
            ty,
            bitfield,
        })
    }

    /// `sizeof(type_name)`.
    pub(crate) fn size_of(&self, type_name: &str) -> Res<u64> {
        let d = self.find_type(type_name)?;
        Ok(self.type_info(Some(d), 0)?.size)
    }

    /// The type of the top-level variable `name` (its definition, or else its declaration).
    pub(crate) fn variable_type(&self, name: &str) -> Res<TypeInfo> {
        let slots = self.index.types.get(name.as_bytes()).ok_or(Fail::NoType)?;
        let d = slots.get(Ns::Var).ok_or(Fail::NoType)?;
        let a = self.read(d.at)?;
        self.type_info(a.ty, 0)
    }

    /// The enum named `enum_name` (`"x"` or `"enum x"`).
    fn find_enum(&self, enum_name: &str) -> Res<DieRef> {
        let bare = crate::index::enum_bare(enum_name);
        self.lookup(bare, &[Ns::Enum]).ok_or(Fail::NoType)
    }

    /// Every constant of enum `enum_name`, in declaration order.
    pub(crate) fn enumerators(&self, enum_name: &str) -> Res<Vec<(String, i64)>> {
        let d = self.find_enum(enum_name)?;
        let mut out = Vec::new();
        for c in self.children(d)? {
            let a = self.read(c)?;
            if a.tag == dw::DW_TAG_enumerator {
                let (Some(name), Some(v)) = (a.name, a.const_value) else {
                    return Err(Fail::Bad {
                        at: Some(c.die),
                        reason: "enumerator without a name or constant value".into(),
                    });
                };
                out.push((name.to_string(), v));
            }
        }
        Ok(out)
    }

    /// The value of `constant` in enum `enum_name`.
    pub(crate) fn enum_value(&self, enum_name: &str, constant: &str) -> Res<i64> {
        let d = self.find_enum(enum_name)?;
        for c in self.children(d)? {
            let a = self.read(c)?;
            if a.tag == dw::DW_TAG_enumerator && a.name.as_deref() == Some(constant) {
                return a.const_value.ok_or(Fail::Bad {
                    at: Some(c.die),
                    reason: "enumerator without a constant value".into(),
                });
            }
        }
        Err(Fail::NoEnumerator)
    }
}
