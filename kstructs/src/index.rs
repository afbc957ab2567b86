//! The DWARF name index: one pass over the top-level entries of every unit.
//!
//! Only names are indexed (struct/union/enum/typedef/base-type names to their entry, and
//! enumerator names to their values); layouts are resolved later, on demand, by
//! the resolver module. Subtrees are skipped with `DW_AT_sibling`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use gimli::{constants as dw, AttributeValue};

use crate::reader::{Dwarf, R};

/// A small, fast, non-cryptographic hasher for name keys (FxHash).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A debugging-information entry: its unit's header offset and its own offset, both in
/// `.debug_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DieRef {
    pub(crate) unit: u64,
    pub(crate) die: u64,
}

/// One indexed definition; `complete` is false for `DW_AT_declaration` entries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Def {
    pub(crate) at: DieRef,
    pub(crate) complete: bool,
}

/// Which namespace a name lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    Struct = 0,
    Union = 1,
    Enum = 2,
    Typedef = 3,
    Base = 4,
    /// A variable (DWARF: any top-level `DW_TAG_variable`; BTF: `VAR`, per-cpu ones only).
    Var = 5,
}

/// How a type name is spelled, for both backends: `struct x`, `union x`, `enum x`, or a bare
/// name looked up as struct/union first, then typedef, then base type, then enum. Returns the
/// namespaces to search, in order, and the bare name.
pub(crate) fn type_spaces(name: &str) -> (&'static [Ns], &str) {
    let name = name.trim();
    if let Some(r) = name.strip_prefix("struct ") {
        (&[Ns::Struct], r.trim())
    } else if let Some(r) = name.strip_prefix("union ") {
        (&[Ns::Union], r.trim())
    } else if let Some(r) = name.strip_prefix("enum ") {
        (&[Ns::Enum], r.trim())
    } else {
        (
            &[Ns::Struct, Ns::Union, Ns::Typedef, Ns::Base, Ns::Enum],
            name,
        )
    }
}

/// An enum's name without its optional `enum ` prefix (`"pageflags"`, `"enum pageflags"`).
pub(crate) fn enum_bare(name: &str) -> &str {
    let name = name.trim();
    name.strip_prefix("enum ").unwrap_or(name).trim()
}

/// The first complete definition of a name in each namespace.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Slots([Option<Def>; 6]);

impl Slots {
    fn offer(&mut self, ns: Ns, def: Def) {
        let slot = &mut self.0[ns as usize];
        match slot {
            Some(old) if old.complete || !def.complete => {}
            _ => *slot = Some(def),
        }
    }
    pub(crate) fn get(&self, ns: Ns) -> Option<Def> {
        self.0[ns as usize]
    }
}

/// The name index of a whole `.debug_info` (variables too: a definition that refers to its
/// declaration with `DW_AT_specification` has no name, so a variable's slot may hold only its
/// declaration, which carries the type).
#[derive(Default)]
pub(crate) struct Index {
    pub(crate) types: FxMap<Box<[u8]>, Slots>,
    pub(crate) enumerators: FxMap<Box<[u8]>, i64>,
    /// `.debug_info` offsets of every unit header, ascending.
    pub(crate) units: Vec<u64>,
}

impl Index {
    fn merge(&mut self, later: Index) {
        for (k, v) in later.types {
            match self.types.get_mut(&k) {
                Some(s) => {
                    for (i, d) in v.0.iter().enumerate() {
                        if let Some(d) = d {
                            let ns = [
                                Ns::Struct,
                                Ns::Union,
                                Ns::Enum,
                                Ns::Typedef,
                                Ns::Base,
                                Ns::Var,
                            ][i];
                            s.offer(ns, *d);
                        }
                    }
                }
                None => {
                    self.types.insert(k, v);
                }
            }
        }
        for (k, v) in later.enumerators {
            self.enumerators.entry(k).or_insert(v);
        }
    }

    fn offer(&mut self, name: &[u8], ns: Ns, def: Def) {
        if let Some(s) = self.types.get_mut(name) {
            s.offer(ns, def);
        } else {
            let mut s = Slots::default();
            s.offer(ns, def);
            self.types.insert(name.into(), s);
        }
    }

    /// Build the index, splitting the units over `threads` threads (by size, in order, so that
    /// "first in `.debug_info` order" wins after the merge).
    pub(crate) fn build(dwarf: &Dwarf<'_>, threads: usize) -> Result<Index, (gimli::Error, u64)> {
        let mut headers = Vec::new();
        let mut it = dwarf.units();
        while let Some(h) = it.next().map_err(|e| (e, 0))? {
            headers.push(h);
        }
        let total: u64 = headers
            .iter()
            .map(|h| h.length_including_self() as u64)
            .sum();
        let threads = threads.max(1);
        let mut chunks: Vec<&[gimli::UnitHeader<R<'_>>]> = Vec::new();
        let (mut start, mut acc, mut k) = (0, 0u64, 1u64);
        for (i, h) in headers.iter().enumerate() {
            acc += h.length_including_self() as u64;
            if acc * threads as u64 >= total * k && (k as usize) < threads {
                chunks.push(&headers[start..=i]);
                start = i + 1;
                k += 1;
            }
        }
        chunks.push(&headers[start..]);
        let parts: Vec<Result<Index, (gimli::Error, u64)>> = if chunks.len() == 1 {
            vec![index_units(dwarf, chunks[0])]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = chunks
                    .iter()
                    .map(|c| s.spawn(move || index_units(dwarf, c)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or(Err((gimli::Error::Io, 0))))
                    .collect()
            })
        };
        let mut index = Index::default();
        for p in parts {
            index.merge(p?);
        }
        index.units = headers
            .iter()
            .filter_map(|h| h.offset().as_debug_info_offset())
            .map(|o| o.0 as u64)
            .collect();
        Ok(index)
    }
}

/// Read an enumerator's `DW_AT_const_value`.
pub(crate) fn const_value(v: &AttributeValue<R<'_>>) -> Option<i64> {
    Some(match *v {
        AttributeValue::Data1(x) => i64::from(x),
        AttributeValue::Data2(x) => i64::from(x),
        AttributeValue::Data4(x) => i64::from(x),
        AttributeValue::Data8(x) => x as i64,
        AttributeValue::Sdata(x) => x,
        AttributeValue::Udata(x) => x as i64,
        _ => return None,
    })
}

fn index_units(
    dwarf: &Dwarf<'_>,
    headers: &[gimli::UnitHeader<R<'_>>],
) -> Result<Index, (gimli::Error, u64)> {
    let mut index = Index::default();
    for h in headers {
        let off = h.offset().as_debug_info_offset().map_or(0, |o| o.0 as u64);
        let unit = dwarf.unit(*h).map_err(|e| (e, off))?;
        index_unit(dwarf, &unit, &mut index).map_err(|e| (e, off))?;
    }
    Ok(index)
}

fn index_unit(
    dwarf: &Dwarf<'_>,
    unit: &gimli::Unit<R<'_>>,
    index: &mut Index,
) -> gimli::Result<()> {
    let unit_off = match unit.header.offset() {
        gimli::UnitSectionOffset::DebugInfoOffset(o) => o.0 as u64,
        gimli::UnitSectionOffset::DebugTypesOffset(o) => o.0 as u64,
    };
    let base = unit_off;
    let mut cursor = unit.entries();
    let Some((_, root)) = cursor.next_dfs()? else {
        return Ok(());
    };
    if !root.has_children() {
        return Ok(());
    }
    // First child of the unit DIE.
    if !matches!(cursor.next_dfs()?, Some((1, _))) {
        return Ok(());
    }
    while let Some(e) = cursor.current() {
        let ns = match e.tag() {
            dw::DW_TAG_structure_type | dw::DW_TAG_class_type => Some(Ns::Struct),
            dw::DW_TAG_union_type => Some(Ns::Union),
            dw::DW_TAG_enumeration_type => Some(Ns::Enum),
            dw::DW_TAG_typedef => Some(Ns::Typedef),
            dw::DW_TAG_base_type => Some(Ns::Base),
            dw::DW_TAG_variable => Some(Ns::Var),
            _ => None,
        };
        if let Some(ns) = ns {
            let mut name = None;
            let mut decl = false;
            let mut attrs = e.attrs();
            while let Some(a) = attrs.next()? {
                match a.name() {
                    dw::DW_AT_name => name = Some(dwarf.attr_string(unit, a.value())?),
                    dw::DW_AT_declaration => decl = true,
                    _ => {}
                }
            }
            let at = DieRef {
                unit: base,
                die: e
                    .offset()
                    .to_unit_section_offset(unit)
                    .as_debug_info_offset()
                    .map_or(0, |o| o.0 as u64),
            };
            let mut enum_known = false;
            if let Some(name) = &name {
                let bytes = name.slice();
                if ns == Ns::Enum {
                    enum_known = index
                        .types
                        .get(bytes)
                        .and_then(|s| s.get(Ns::Enum))
                        .is_some_and(|d| d.complete);
                }
                index.offer(
                    bytes,
                    ns,
                    Def {
                        at,
                        complete: !decl,
                    },
                );
            }
            if ns == Ns::Enum && !decl && !enum_known && e.has_children() {
                index_enumerators(dwarf, unit, e.offset(), index)?;
            }
        }
        if cursor.next_sibling()?.is_none() {
            break;
        }
    }
    Ok(())
}

fn index_enumerators(
    dwarf: &Dwarf<'_>,
    unit: &gimli::Unit<R<'_>>,
    at: gimli::UnitOffset,
    index: &mut Index,
) -> gimli::Result<()> {
    let mut tree = unit.entries_tree(Some(at))?;
    let root = tree.root()?;
    let mut children = root.children();
    let mut first = true;
    while let Some(child) = children.next()? {
        let e = child.entry();
        if e.tag() != dw::DW_TAG_enumerator {
            continue;
        }
        let Some(name) = e.attr_value(dw::DW_AT_name)? else {
            continue;
        };
        let name = dwarf.attr_string(unit, name)?;
        let bytes = name.slice();
        if first {
            // Anonymous enums repeat in every unit that includes their header: if the first
            // constant is known, the whole enum was indexed already.
            if index.enumerators.contains_key(bytes) {
                return Ok(());
            }
            first = false;
        }
        if let Some(v) = e
            .attr_value(dw::DW_AT_const_value)?
            .as_ref()
            .and_then(const_value)
        {
            index.enumerators.entry(bytes.into()).or_insert(v);
        }
    }
    Ok(())
}
