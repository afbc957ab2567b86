//! Counting set bits of the kdump bitmaps (the rank index that finds a page's descriptor).

/// Set bits of `bits` (bit `i` = byte `i/8`, bit `i%8`) in `[from, to)`; bits past the slice count as clear.
pub(super) fn count_bits(bits: &[u8], from: u64, to: u64) -> u64 {
    let to = to.min(bits.len() as u64 * 8);
    if from >= to {
        return 0;
    }
    let (fb, tb) = ((from / 8) as usize, (to / 8) as usize);
    let (fo, to_) = (from % 8, to % 8);
    if fb == tb {
        let mask = ((1u16 << to_) - (1u16 << fo)) as u8;
        return (bits[fb] & mask).count_ones() as u64;
    }
    let mut n = (bits[fb] >> fo).count_ones() as u64;
    let mid = &bits[fb + 1..tb];
    let mut words = mid.chunks_exact(8);
    for w in &mut words {
        n += u64::from_le_bytes(w.try_into().expect("8 bytes")).count_ones() as u64;
    }
    n += words
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>();
    if to_ != 0 {
        n += (bits[tb] & ((1u8 << to_) - 1)).count_ones() as u64;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_bits_ranges() {
        let b = [
            0b1010_1010u8,
            0xff,
            0x00,
            0x0f,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0x01,
        ];
        let naive = |f: u64, t: u64| {
            (f..t)
                .filter(|&i| b[(i / 8) as usize] >> (i % 8) & 1 != 0)
                .count() as u64
        };
        for f in 0..96 {
            for t in f..=96 {
                assert_eq!(count_bits(&b, f, t), naive(f, t), "{f}..{t}");
            }
        }
        assert_eq!(count_bits(&b, 90, 200), naive(90, 96));
    }
}
