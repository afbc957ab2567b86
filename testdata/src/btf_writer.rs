//! A BTF blob writer: every kind of `include/uapi/linux/btf.h`, for the reader's tests (shapes
//! pahole does not emit, such as bitfields without `kind_flag`, and damaged blobs).
//!
//! Type ids are given in order from 1; a reference may name an id not yet written (for loops and
//! out-of-range ids).
//!
//! ```
//! use testdata::btf_writer::BtfWriter;
//! let mut w = BtfWriter::new();
//! let int = w.int("int", 4, true);
//! let s = w.structure("pair", 8, false, &[("a", int, 0, 0), ("b", int, 32, 0)]);
//! assert_eq!((int, s), (1, 2));
//! let blob = w.finish();
//! assert_eq!(&blob[..2], &[0x9f, 0xeb]);
//! ```

/// `BTF_KIND_*` values.
#[allow(missing_docs)]
pub mod kind {
    pub const INT: u8 = 1;
    pub const PTR: u8 = 2;
    pub const ARRAY: u8 = 3;
    pub const STRUCT: u8 = 4;
    pub const UNION: u8 = 5;
    pub const ENUM: u8 = 6;
    pub const FWD: u8 = 7;
    pub const TYPEDEF: u8 = 8;
    pub const VOLATILE: u8 = 9;
    pub const CONST: u8 = 10;
    pub const RESTRICT: u8 = 11;
    pub const FUNC: u8 = 12;
    pub const FUNC_PROTO: u8 = 13;
    pub const VAR: u8 = 14;
    pub const DATASEC: u8 = 15;
    pub const FLOAT: u8 = 16;
    pub const DECL_TAG: u8 = 17;
    pub const TYPE_TAG: u8 = 18;
    pub const ENUM64: u8 = 19;
}

/// Builds one BTF blob.
#[derive(Debug, Clone)]
pub struct BtfWriter {
    types: Vec<u8>,
    strs: Vec<u8>,
    next: u32,
    /// Where this blob's strings start in its offsets: 0, or for split BTF the base's string
    /// section length.
    str_start: u32,
}

impl Default for BtfWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl BtfWriter {
    /// An empty blob (the string section starts with the empty string).
    pub fn new() -> Self {
        BtfWriter {
            types: Vec::new(),
            strs: vec![0],
            next: 1,
            str_start: 0,
        }
    }

    /// An empty split blob on `base` (a module's BTF on the kernel's, as the kernel builds
    /// them): its type ids continue the base's, its string offsets continue past the base's
    /// strings, and its own string section has no leading empty string (offset 0 is the base's).
    pub fn split_on(base: &BtfWriter) -> Self {
        BtfWriter {
            types: Vec::new(),
            strs: Vec::new(),
            next: base.next,
            str_start: base.str_start + base.strs.len() as u32,
        }
    }

    /// Add a string; its offset (0 for "").
    pub fn str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.str_start + self.strs.len() as u32;
        self.strs.extend_from_slice(s.as_bytes());
        self.strs.push(0);
        off
    }

    fn word(&mut self, v: u32) {
        self.types.extend_from_slice(&v.to_le_bytes());
    }

    /// A raw record head: name, kind, vlen, kind_flag, size-or-type; returns its id. The caller
    /// appends the kind's data with [`BtfWriter::data`].
    pub fn head(&mut self, name: &str, kind: u8, vlen: u16, kflag: bool, size_type: u32) -> u32 {
        let name = self.str(name);
        self.word(name);
        self.word(u32::from(vlen) | (u32::from(kind & 0x1f) << 24) | (u32::from(kflag) << 31));
        self.word(size_type);
        let id = self.next;
        self.next += 1;
        id
    }

    /// Append words of kind-specific data.
    pub fn data(&mut self, words: &[u32]) {
        for &w in words {
            self.word(w);
        }
    }

    /// An integer of `size` bytes using all its bits.
    pub fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        self.int_bits(name, size, signed, 0, size * 8)
    }

    /// An integer with an explicit bit offset and width (the pre-`kind_flag` bitfield encoding).
    pub fn int_bits(&mut self, name: &str, size: u32, signed: bool, offset: u32, bits: u32) -> u32 {
        let id = self.head(name, kind::INT, 0, false, size);
        self.data(&[(u32::from(signed) << 24) | (offset << 16) | bits]);
        id
    }

    /// A pointer to `to`.
    pub fn ptr(&mut self, to: u32) -> u32 {
        self.head("", kind::PTR, 0, false, to)
    }

    /// An array of `n` `elem`s.
    pub fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        let id = self.head("", kind::ARRAY, 0, false, 0);
        self.data(&[elem, index, n]);
        id
    }

    /// A struct (or with `union`, a union); members are (name, type, bit offset, bitfield
    /// size), the bitfield size only encoded with `kflag`.
    fn aggregate(
        &mut self,
        k: u8,
        name: &str,
        size: u32,
        kflag: bool,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        let names: Vec<u32> = members.iter().map(|m| self.str(m.0)).collect();
        let id = self.head(name, k, members.len() as u16, kflag, size);
        for (m, n) in members.iter().zip(names) {
            let off = if kflag { (m.3 << 24) | m.2 } else { m.2 };
            self.data(&[n, m.1, off]);
        }
        id
    }

    /// A struct: members are (name, type, bit offset, bitfield size with `kflag`).
    pub fn structure(
        &mut self,
        name: &str,
        size: u32,
        kflag: bool,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        self.aggregate(kind::STRUCT, name, size, kflag, members)
    }

    /// A union.
    pub fn union(
        &mut self,
        name: &str,
        size: u32,
        kflag: bool,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        self.aggregate(kind::UNION, name, size, kflag, members)
    }

    /// A 32-bit-valued enum (`signed` sets `kind_flag`).
    pub fn enumeration(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i32)],
    ) -> u32 {
        let names: Vec<u32> = values.iter().map(|v| self.str(v.0)).collect();
        let id = self.head(name, kind::ENUM, values.len() as u16, signed, size);
        for (v, n) in values.iter().zip(names) {
            self.data(&[n, v.1 as u32]);
        }
        id
    }

    /// A 64-bit-valued enum.
    pub fn enum64(&mut self, name: &str, signed: bool, values: &[(&str, i64)]) -> u32 {
        let names: Vec<u32> = values.iter().map(|v| self.str(v.0)).collect();
        let id = self.head(name, kind::ENUM64, values.len() as u16, signed, 8);
        for (v, n) in values.iter().zip(names) {
            self.data(&[n, v.1 as u64 as u32, ((v.1 as u64) >> 32) as u32]);
        }
        id
    }

    /// A forward declaration of a struct (or union).
    pub fn fwd(&mut self, name: &str, union: bool) -> u32 {
        self.head(name, kind::FWD, 0, union, 0)
    }

    /// A typedef of `to`.
    pub fn typedef(&mut self, name: &str, to: u32) -> u32 {
        self.head(name, kind::TYPEDEF, 0, false, to)
    }

    /// `volatile`, `const`, `restrict` or a type tag (by `k`) of `to`.
    pub fn modifier(&mut self, k: u8, name: &str, to: u32) -> u32 {
        self.head(name, k, 0, false, to)
    }

    /// A function prototype returning `ret` with `params` (name, type).
    pub fn func_proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let names: Vec<u32> = params.iter().map(|p| self.str(p.0)).collect();
        let id = self.head("", kind::FUNC_PROTO, params.len() as u16, false, ret);
        for (p, n) in params.iter().zip(names) {
            self.data(&[n, p.1]);
        }
        id
    }

    /// A function of prototype `proto`.
    pub fn func(&mut self, name: &str, proto: u32) -> u32 {
        self.head(name, kind::FUNC, 0, false, proto)
    }

    /// A variable of type `ty`.
    pub fn var(&mut self, name: &str, ty: u32) -> u32 {
        let id = self.head(name, kind::VAR, 0, false, ty);
        self.data(&[1]);
        id
    }

    /// A data section holding `vars` (type, offset, size).
    pub fn datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
        let id = self.head(name, kind::DATASEC, vars.len() as u16, false, size);
        for v in vars {
            self.data(&[v.0, v.1, v.2]);
        }
        id
    }

    /// A floating-point type.
    pub fn float(&mut self, name: &str, size: u32) -> u32 {
        self.head(name, kind::FLOAT, 0, false, size)
    }

    /// A declaration tag on `to` (component -1: the type itself).
    pub fn decl_tag(&mut self, name: &str, to: u32, component: i32) -> u32 {
        let id = self.head(name, kind::DECL_TAG, 0, false, to);
        self.data(&[component as u32]);
        id
    }

    /// The blob: a 24-byte header, the types, the strings.
    pub fn finish(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(24 + self.types.len() + self.strs.len());
        b.extend_from_slice(&0xeb9fu16.to_le_bytes());
        b.push(1);
        b.push(0);
        for w in [
            24,
            0,
            self.types.len() as u32,
            self.types.len() as u32,
            self.strs.len() as u32,
        ] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&self.types);
        b.extend_from_slice(&self.strs);
        b
    }
}
