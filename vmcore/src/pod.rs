//! On-disk headers as plain-old-data, the way `object` reads them: `#[repr(C)]` structs whose
//! fields are endian-aware integers stored as byte arrays (alignment 1, no padding the format
//! does not name, every bit pattern a value), borrowed in place from the file's bytes. A field
//! is read with `.get()`; a header's layout is checked against the format's size at compile
//! time, next to its definition.

use crate::source::Source;
use crate::Result;

macro_rules! int {
    ($(#[$m:meta])* $name:ident, $t:ty, $from:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Default, PartialEq, Eq)]
        #[repr(transparent)]
        pub(crate) struct $name([u8; std::mem::size_of::<$t>()]);

        impl $name {
            /// The value.
            pub(crate) fn get(self) -> $t {
                <$t>::$from(self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.get().fmt(f)
            }
        }

        // SAFETY: a byte array: alignment 1, no padding, every bit pattern valid.
        unsafe impl Pod for $name {}
    };
}

int!(/// A little-endian `u16`.
    U16, u16, from_le_bytes);
int!(/// A little-endian `u32`.
    U32, u32, from_le_bytes);
int!(/// A little-endian `i32`.
    I32, i32, from_le_bytes);
int!(/// A little-endian `u64`.
    U64, u64, from_le_bytes);
int!(/// A little-endian `i64`.
    I64, i64, from_le_bytes);
int!(/// A big-endian `i64` (makedumpfile's flattened format).
    I64Be, i64, from_be_bytes);

/// A type every byte pattern of its size is a value of, with alignment 1 and no padding.
///
/// # Safety
/// Implement only for `#[repr(C)]` or `#[repr(transparent)]` types made of byte arrays and
/// other `Pod` types (whose alignment is then 1).
pub(crate) unsafe trait Pod: Sized + Copy + 'static {}

// SAFETY: byte arrays.
unsafe impl<const N: usize> Pod for [u8; N] {}

/// Mark header structs as [`Pod`] and check each against the format's size.
macro_rules! pod {
    ($($t:ty = $size:expr),* $(,)?) => {
        $(
            // SAFETY: `#[repr(C)]`, made of `Pod` fields only (checked: alignment 1, size
            // as the format says).
            unsafe impl $crate::pod::Pod for $t {}
            const _: () = assert!(std::mem::size_of::<$t>() == $size);
            const _: () = assert!(std::mem::align_of::<$t>() == 1);
        )*
    };
}
pub(crate) use pod;

/// Borrow a `T` from the start of `bytes`, if they are long enough.
pub(crate) fn from_bytes<T: Pod>(bytes: &[u8]) -> Option<&T> {
    if bytes.len() < std::mem::size_of::<T>() || std::mem::align_of::<T>() != 1 {
        return None;
    }
    // SAFETY: `T` is `Pod`: alignment 1 (checked), every bit pattern a value; `bytes` holds at
    // least `size_of::<T>()` bytes, borrowed for the returned lifetime.
    Some(unsafe { &*bytes.as_ptr().cast::<T>() })
}

/// `count` consecutive `T`s from the start of `bytes`, if they are long enough.
pub(crate) fn slice_from_bytes<T: Pod>(bytes: &[u8], count: usize) -> Option<&[T]> {
    let len = count.checked_mul(std::mem::size_of::<T>())?;
    if bytes.len() < len || std::mem::align_of::<T>() != 1 {
        return None;
    }
    // SAFETY: as in `from_bytes`, for `count` elements laid end to end (no padding between
    // elements of alignment 1).
    Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), count) })
}

/// Read a `T` at `offset` of `src`; `what` names it in the error. Read in place: no buffer
/// is allocated (page descriptors and flattened records are read this way, one per page or
/// record).
pub(crate) fn read<T: Pod>(src: &dyn Source, offset: u64, what: &'static str) -> Result<T> {
    // SAFETY: `T` is `Pod`: all zeroes is a value.
    let mut t: T = unsafe { std::mem::zeroed() };
    // SAFETY: `T` is `Pod`: alignment 1, no padding, every bit pattern a value, so its
    // `size_of::<T>()` bytes may be written as bytes; the borrow ends before `t` is used.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut((&mut t as *mut T).cast::<u8>(), std::mem::size_of::<T>())
    };
    src.read_at(offset, bytes, what)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Rec {
        a: U16,
        b: U32,
        c: I64Be,
    }
    pod!(Rec = 14);

    #[test]
    fn fields_read_in_their_byte_order_from_any_alignment() {
        let mut bytes = vec![0xffu8];
        bytes.extend_from_slice(&0x1234u16.to_le_bytes());
        bytes.extend_from_slice(&0xdead_beefu32.to_le_bytes());
        bytes.extend_from_slice(&(-2i64).to_be_bytes());
        let r: &Rec = from_bytes(&bytes[1..]).unwrap();
        assert_eq!((r.a.get(), r.b.get(), r.c.get()), (0x1234, 0xdead_beef, -2));
        assert!(from_bytes::<Rec>(&bytes[2..]).is_none(), "too short");
        let two = [bytes[1..].to_vec(), bytes[1..].to_vec()].concat();
        let rs: &[Rec] = slice_from_bytes(&two, 2).unwrap();
        assert_eq!(rs[1].b.get(), 0xdead_beef);
        assert!(slice_from_bytes::<Rec>(&two, 3).is_none());
        assert!(slice_from_bytes::<Rec>(&two, usize::MAX).is_none());
        let src = crate::source::BytesSource(bytes.clone());
        let r: Rec = read(&src, 1, "rec").unwrap();
        assert_eq!((r.a.get(), r.b.get(), r.c.get()), (0x1234, 0xdead_beef, -2));
        assert!(read::<Rec>(&src, 2, "rec").is_err(), "past the end");
    }
}
