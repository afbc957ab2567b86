//! Page codecs of the kdump format: zlib, LZO1X (our own decoder: bounded, never panics),
//! snappy and zstd, each filling exactly one page.

use std::cell::RefCell;

use super::{
    DUMP_DH_COMPRESSED_LZO, DUMP_DH_COMPRESSED_SNAPPY, DUMP_DH_COMPRESSED_ZLIB,
    DUMP_DH_COMPRESSED_ZSTD,
};

/// Decompress one page of `data` compressed as `method` (one of the `DUMP_DH_COMPRESSED_*`
/// flags, or 0 for raw) into `out`, which must be filled exactly.
pub fn decompress(method: u32, data: &[u8], out: &mut [u8]) -> std::result::Result<(), String> {
    let want = out.len();
    let got = match method {
        0 => {
            if data.len() != want {
                return Err(format!("raw page has {} bytes, not {want}", data.len()));
            }
            out.copy_from_slice(data);
            want
        }
        DUMP_DH_COMPRESSED_ZLIB => ZLIB.with(|z| {
            // One inflater per thread, reset for each page (a new one was a 40 KiB state to
            // allocate and clear per page).
            let mut z = z.borrow_mut();
            let z = z.get_or_insert_with(|| flate2::Decompress::new(true));
            z.reset(true);
            match z.decompress(data, out, flate2::FlushDecompress::Finish) {
                Ok(flate2::Status::StreamEnd) => Ok(z.total_out() as usize),
                Ok(_) if z.total_out() as usize == want => {
                    Err(format!("zlib data decompresses to more than {want} bytes"))
                }
                Ok(_) => Err(format!(
                    "zlib data ends after {} bytes of {want}",
                    z.total_out()
                )),
                Err(e) => Err(format!("zlib: {e}")),
            }
        })?,
        DUMP_DH_COMPRESSED_LZO => lzo1x_decompress(data, out).map_err(|e| format!("lzo: {e}"))?,
        DUMP_DH_COMPRESSED_SNAPPY => {
            let n = snap::raw::decompress_len(data).map_err(|e| format!("snappy: {e}"))?;
            if n != want {
                return Err(format!("snappy data decompresses to {n} bytes, not {want}"));
            }
            snap::raw::Decoder::new()
                .decompress(data, out)
                .map_err(|e| format!("snappy: {e}"))?
        }
        DUMP_DH_COMPRESSED_ZSTD => ZSTD.with(|z| {
            let mut z = z.borrow_mut();
            if z.is_none() {
                *z = Some(zstd::bulk::Decompressor::new().map_err(|e| format!("zstd: {e}"))?);
            }
            z.as_mut()
                .expect("just set")
                .decompress_to_buffer(data, out)
                .map_err(|e| format!("zstd: {e}"))
        })?,
        other => return Err(format!("unknown compression flags {other:#x}")),
    };
    if got != want {
        return Err(format!("page decompresses to {got} bytes, not {want}"));
    }
    Ok(())
}

thread_local! {
    static ZLIB: RefCell<Option<flate2::Decompress>> = const { RefCell::new(None) };
    static ZSTD: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Decompress an LZO1X stream (as `lzo1x_decompress_safe`) into `out`; returns the bytes written.
///
/// Every read and write is bounds-checked: corrupt input gives an error, never a panic, and the
/// output never grows past `out`.
pub fn lzo1x_decompress(src: &[u8], out: &mut [u8]) -> std::result::Result<usize, &'static str> {
    const INPUT: &str = "input overrun";
    const OUTPUT: &str = "output overrun";
    struct In<'a> {
        s: &'a [u8],
        i: usize,
    }
    impl In<'_> {
        fn byte(&mut self) -> std::result::Result<usize, &'static str> {
            let b = *self.s.get(self.i).ok_or(INPUT)?;
            self.i += 1;
            Ok(b as usize)
        }
        fn le16(&mut self) -> std::result::Result<usize, &'static str> {
            Ok(self.byte()? | self.byte()? << 8)
        }
        /// A length continued in zero bytes: each zero adds 255, the final non-zero byte adds itself.
        fn ext_len(&mut self, base: usize) -> std::result::Result<usize, &'static str> {
            let mut n = base;
            loop {
                match self.byte()? {
                    0 => n = n.checked_add(255).ok_or(OUTPUT)?,
                    b => return n.checked_add(b).ok_or(OUTPUT),
                }
            }
        }
        fn take(&mut self, n: usize) -> std::result::Result<&[u8], &'static str> {
            let end = self.i.checked_add(n).ok_or(INPUT)?;
            let s = self.s.get(self.i..end).ok_or(INPUT)?;
            self.i = end;
            Ok(s)
        }
    }
    let mut ip = In { s: src, i: 0 };
    let mut op = 0usize;
    let literal = |ip: &mut In,
                   op: &mut usize,
                   out: &mut [u8],
                   n: usize|
     -> std::result::Result<(), &'static str> {
        let s = ip.take(n)?;
        out.get_mut(*op..*op + n).ok_or(OUTPUT)?.copy_from_slice(s);
        *op += n;
        Ok(())
    };
    let mut state = 0usize;
    match src.first() {
        Some(&b) if b >= 22 => {
            ip.i = 1;
            literal(&mut ip, &mut op, out, b as usize - 17)?;
            state = 4;
        }
        Some(&b) if b >= 18 => {
            ip.i = 1;
            state = b as usize - 17;
            literal(&mut ip, &mut op, out, state)?;
        }
        Some(_) => {}
        None => return Err(INPUT),
    }
    loop {
        let inst = ip.byte()?;
        let (dist, len, next);
        if inst >= 64 {
            // M2: 3..8 bytes within 2 KiB.
            let h = ip.byte()?;
            dist = (h << 3) + ((inst >> 2) & 7) + 1;
            len = (inst >> 5) + 1;
            next = inst & 3;
        } else if inst >= 32 {
            // M3: within 16 KiB.
            let l = inst & 31;
            len = if l == 0 { ip.ext_len(31)? + 2 } else { l + 2 };
            let v = ip.le16()?;
            dist = (v >> 2) + 1;
            next = v & 3;
        } else if inst >= 16 {
            // M4: 16..48 KiB, or the end of the stream.
            let l = inst & 7;
            len = if l == 0 { ip.ext_len(7)? + 2 } else { l + 2 };
            let v = ip.le16()?;
            let d = ((inst & 8) << 11) + (v >> 2);
            if d == 0 {
                break;
            }
            dist = d + 16384;
            next = v & 3;
        } else if state == 0 {
            // A run of 4 or more literals.
            let n = if inst == 0 {
                ip.ext_len(15)? + 3
            } else {
                inst + 3
            };
            literal(&mut ip, &mut op, out, n)?;
            state = 4;
            continue;
        } else if state != 4 {
            // M1 after 1..3 literals: 2 bytes within 1 KiB.
            let h = ip.byte()?;
            dist = (inst >> 2) + (h << 2) + 1;
            len = 2;
            next = inst & 3;
        } else {
            // M1 after a literal run: 3 bytes at 2..3 KiB.
            let h = ip.byte()?;
            dist = (inst >> 2) + (h << 2) + 2049;
            len = 3;
            next = inst & 3;
        }
        if dist > op {
            return Err("lookbehind overrun");
        }
        if op + len > out.len() {
            return Err(OUTPUT);
        }
        let from = op - dist;
        if dist >= len {
            out.copy_within(from..from + len, op);
        } else {
            for k in 0..len {
                out[op + k] = out[from + k];
            }
        }
        op += len;
        state = next;
        literal(&mut ip, &mut op, out, next)?;
    }
    if ip.i != src.len() {
        return Err("input not consumed");
    }
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzo_round_trip_and_corruption_never_panics() {
        let mut page = vec![0u8; 4096];
        for (i, b) in page.iter_mut().enumerate() {
            *b = if i % 300 < 100 {
                (i % 7) as u8
            } else {
                b"the quick brown fox "[i % 20]
            };
        }
        let c = lzokay_native::compress(&page).unwrap();
        let mut out = vec![0u8; 4096];
        assert_eq!(lzo1x_decompress(&c, &mut out), Ok(4096));
        assert_eq!(out, page);
        // Literal-only and zero pages.
        for p in [
            vec![0u8; 4096],
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ] {
            let c = lzokay_native::compress(&p).unwrap();
            assert_eq!(lzo1x_decompress(&c, &mut out), Ok(4096));
            assert_eq!(out, p);
        }
        // Every truncation and many single-byte corruptions: errors or wrong output, never a panic.
        for cut in 0..c.len() {
            let _ = lzo1x_decompress(&c[..cut], &mut out);
        }
        for i in 0..c.len() {
            for x in [0x00u8, 0x11, 0x20, 0x40, 0xff] {
                let mut bad = c.clone();
                bad[i] ^= x;
                let _ = lzo1x_decompress(&bad, &mut out);
            }
        }
        let mut small = [0u8; 100];
        assert_eq!(lzo1x_decompress(&c, &mut small), Err("output overrun"));
    }

    #[test]
    fn decompress_checks_sizes() {
        let page = vec![7u8; 4096];
        let mut out = vec![0u8; 4096];
        let z = {
            use std::io::Write;
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&page[..4000]).unwrap();
            e.finish().unwrap()
        };
        assert!(decompress(DUMP_DH_COMPRESSED_ZLIB, &z, &mut out)
            .unwrap_err()
            .contains("4000"));
        let s = snap::raw::Encoder::new()
            .compress_vec(&[1u8; 5000])
            .unwrap();
        assert!(decompress(DUMP_DH_COMPRESSED_SNAPPY, &s, &mut out).is_err());
        let zs = zstd::bulk::compress(&[1u8; 5000], 1).unwrap();
        assert!(decompress(DUMP_DH_COMPRESSED_ZSTD, &zs, &mut out).is_err());
        let zs = zstd::bulk::compress(&page, 1).unwrap();
        assert!(decompress(DUMP_DH_COMPRESSED_ZSTD, &zs, &mut out).is_ok());
        assert_eq!(out, page);
        assert!(decompress(0x40, &zs, &mut out).is_err());
    }
}
