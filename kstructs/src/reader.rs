//! The gimli types over the vmlinux's DWARF sections: a leaf the index and the resolver share.

/// The gimli reader over our sections.
pub(crate) type R<'a> = gimli::EndianSlice<'a, gimli::RunTimeEndian>;
/// The DWARF sections of the vmlinux.
pub(crate) type Dwarf<'a> = gimli::Dwarf<R<'a>>;
