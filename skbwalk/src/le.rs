//! Little-endian integers at a byte offset of a buffer read from the dump: a leaf the readers
//! of raw kernel structures share. Past the buffer's end they read as 0, never panic.

/// The `u64` at byte `at` of `b`.
pub(crate) fn u64_at(b: &[u8], at: u64) -> u64 {
    usize::try_from(at)
        .ok()
        .and_then(|a| b.get(a..a.checked_add(8)?))
        .map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap_or_default()))
}

/// The `u32` at byte `at` of `b`.
pub(crate) fn u32_at(b: &[u8], at: u64) -> u32 {
    usize::try_from(at)
        .ok()
        .and_then(|a| b.get(a..a.checked_add(4)?))
        .map_or(0, |s| u32::from_le_bytes(s.try_into().unwrap_or_default()))
}

/// The `u16` at byte `at` of `b`.
pub(crate) fn u16_at(b: &[u8], at: u64) -> u16 {
    usize::try_from(at)
        .ok()
        .and_then(|a| b.get(a..a.checked_add(2)?))
        .map_or(0, |s| u16::from_le_bytes(s.try_into().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn integers_read_little_endian_and_zero_past_the_end() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(super::u64_at(&b, 1), 0x0908_0706_0504_0302);
        assert_eq!(super::u32_at(&b, 0), 0x0403_0201);
        assert_eq!(super::u16_at(&b, 7), 0x0908);
        assert_eq!(super::u64_at(&b, 2), 0);
        assert_eq!(super::u16_at(&b, u64::MAX), 0);
    }
}
