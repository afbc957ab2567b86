//! [`Hex`]: an address as reports print it. A leaf every report type shares.

use serde::{Serialize, Serializer};

/// An address, serialized as a lower-case `0x…` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hex(pub u64);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:#x}", self.0))
    }
}
