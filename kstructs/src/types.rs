//! What a lookup answers: members, their types, bitfield positions.

/// A member found by [`Types::member`](crate::Types::member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Byte offset from the start of the outer type. For a bitfield, the byte that holds the
    /// field's least significant bit (see [`Bitfield`]).
    pub offset: u64,
    /// The member's type, typedefs and qualifiers followed.
    pub ty: TypeInfo,
    /// Set when the member is a bitfield.
    pub bitfield: Option<Bitfield>,
}

/// Where a bitfield's bits are, normalized to little-endian, LSB-first numbering.
///
/// Both DWARF encodings (`DW_AT_data_bit_offset` of DWARF 4/5 and the older big-endian-style
/// `DW_AT_bit_offset` counted from the MSB of a `DW_AT_byte_size` storage unit) are turned into
/// this one form. To read the field's value:
///
/// 1. read `n = (bit_offset + bit_size).div_ceil(8)` bytes at [`Member::offset`] (at most 8 for
///    any field of an integer type up to 57 bits; reading a little-endian `u64` window there works
///    whenever `bit_offset + bit_size <= 64`),
/// 2. interpret them as a little-endian unsigned integer `w`,
/// 3. the value is `(w >> bit_offset) & ((1 << bit_size) - 1)`, sign-extended from `bit_size`
///    bits if the member's type is signed.
///
/// Equivalently, the field occupies absolute bits `offset * 8 + bit_offset ..
/// offset * 8 + bit_offset + bit_size` of the outer object, bit `k` being bit `k % 8` (LSB = 0)
/// of byte `k / 8`. This is what gcc and clang produce on little-endian targets (x86-64, arm64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bitfield {
    /// Bit position of the field's least significant bit, counted from bit 0 (LSB) of the byte
    /// at [`Member::offset`]; always `0..8`.
    pub bit_offset: u32,
    /// Width of the field in bits.
    pub bit_size: u32,
}

/// A type, with typedefs and `const`/`volatile` qualifiers followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// What kind of type it is.
    pub kind: TypeKind,
    /// `sizeof` the type in bytes (0 for `void`, functions and incomplete types).
    pub size: u64,
    /// The tag or base-type name (`sk_buff`, `unsigned int`, `bio_vec`); `None` when anonymous.
    pub name: Option<String>,
    /// The outermost typedef name that was followed to get here (`skb_frag_t`, `atomic_t`), if
    /// any.
    pub typedef: Option<String>,
}

/// The kind of a [`TypeInfo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    /// An integer, character, boolean or floating-point base type.
    Base {
        /// Whether the encoding is signed.
        signed: bool,
    },
    /// A pointer (or C++ reference).
    Pointer {
        /// The pointed-to type; `None` for `void *` and when the chain is too deep to follow.
        target: Option<Box<TypeInfo>>,
    },
    /// A `struct` (or class).
    Struct,
    /// A `union`.
    Union,
    /// An `enum`.
    Enum,
    /// An array; multi-dimensional arrays nest.
    Array {
        /// The element type.
        elem: Box<TypeInfo>,
        /// Number of elements; `None` for flexible arrays (`x[]`).
        count: Option<u64>,
    },
    /// A function (what a function pointer points at).
    Function,
    /// `void`.
    Void,
}

impl TypeInfo {
    /// `true` for structs and unions.
    pub fn is_aggregate(&self) -> bool {
        matches!(self.kind, TypeKind::Struct | TypeKind::Union)
    }
}
