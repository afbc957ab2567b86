//! Any bytes as one compressed kdump page; the first byte picks the method (zlib, lzo,
//! snappy, zstd, raw).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&m, rest)) = data.split_first() else {
            return;
        };
        let method = [0x1, 0x2, 0x4, 0x20, 0x0][usize::from(m) % 5];
        let mut out = vec![0u8; 4096];
        let _ = vmcore::kdump::decompress(method, rest, &mut out);
        let _ = vmcore::kdump::lzo1x_decompress(rest, &mut out);
    });
}
