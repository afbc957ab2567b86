//! Finding the kallsyms tables in a kernel image by their structure, for kernels whose
//! VMCOREINFO does not name them (before 6.0: RHEL 8/9, Ubuntu 20.04/22.04, Debian 11, Alibaba
//! Cloud Linux 3 — kernels that carry BTF but not the tables' addresses).
//!
//! `scripts/kallsyms` lays the tables out, each label aligned (8 bytes on 64-bit kernels
//! before 6.4), in this order: `kallsyms_offsets` (4 bytes per symbol) and
//! `kallsyms_relative_base`, or `kallsyms_addresses` (8 bytes per symbol); `kallsyms_num_syms`;
//! `kallsyms_names`; `kallsyms_markers` (one `u32` per 256 symbols: the offset of symbol 256·i in
//! the names); `kallsyms_token_table` (256 NUL-terminated strings); `kallsyms_token_index` (256
//! ascending `u16` offsets into it). The search starts from the token index — 256 ascending
//! offsets from 0, the rarest shape in an image — and walks back, each table checked against
//! the next: the token strings end where the index says, the markers ascend from 0, the names
//! table decoded hop by hop lands on every marker and ends where the markers begin, and the
//! symbol count before it needs as many markers as there are. Which address table precedes the
//! count is left to the decoder, which takes the encoding that puts `_stext` where VMCOREINFO
//! says (see [`crate::kallsyms`]).

use crate::error::{Error, Result};
use crate::kallsyms::{KallsymsTables, Memory};

/// Read size while scanning.
const CHUNK: usize = 1 << 20;
/// The image is searched this far from its start at most.
pub const MAX_IMAGE: u64 = 128 << 20;
/// This many wholly unreadable MiB in a row end the image (its holes are a few pages to 2 MiB).
const MAX_EMPTY_CHUNKS: usize = 8;
/// Memory is present or absent by pages.
const PAGE: usize = 4096;
/// Longest token believed (they are short substrings: `__x64_sys_` and the like).
const MAX_TOKEN: usize = 128;

fn err(reason: impl Into<String>) -> Error {
    Error::Kallsyms {
        reason: reason.into(),
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}

/// The token index at `at`, if 256 ascending offsets from 0 are there.
fn token_index(b: &[u8], at: usize) -> Option<[usize; 256]> {
    let mut idx = [0usize; 256];
    if u16_at(b, at)? != 0 {
        return None;
    }
    for i in 1..256 {
        idx[i] = u16_at(b, at + 2 * i)?;
        let step = idx[i].checked_sub(idx[i - 1])?;
        if !(2..=MAX_TOKEN + 1).contains(&step) {
            return None;
        }
    }
    Some(idx)
}

/// The token table's start: the strings end exactly where the index at `ti` says, the last one
/// within the 8 bytes before the index.
fn token_table(b: &[u8], ti: usize, idx: &[usize; 256]) -> Option<usize> {
    let lo = ti.checked_sub(idx[255] + MAX_TOKEN + 8)?;
    let hi = ti.checked_sub(idx[255] + 2)?;
    (lo..=hi).rev().filter(|t| t % 4 == 0).find(|&t| {
        (0..256).all(|i| {
            let s = t + idx[i];
            let end = if i < 255 { t + idx[i + 1] - 1 } else { ti };
            match b.get(s..end) {
                Some(tok) if i < 255 => {
                    !tok.is_empty() && !tok.contains(&0) && b.get(end) == Some(&0)
                }
                Some(rest) => match rest.iter().position(|&c| c == 0) {
                    Some(n) => n > 0 && ti - (s + n + 1) < 8,
                    None => false,
                },
                None => false,
            }
        })
    })
}

/// `kallsyms_markers`: (start, values), ending within 8 bytes before the token table at `tt`
/// (zero padding between them reads as a lone 0: the longer run is taken).
fn markers(b: &[u8], tt: usize) -> Option<(usize, Vec<u64>)> {
    let run = |end: usize| -> Option<(usize, Vec<u64>)> {
        let mut at = end.checked_sub(4)?;
        let mut vals: Vec<u64> = Vec::new();
        loop {
            let v = u32_at(b, at)?;
            if vals.last().is_some_and(|&next| v >= next) {
                return None;
            }
            vals.push(v);
            if v == 0 {
                vals.reverse();
                return Some((at, vals));
            }
            at = at.checked_sub(4)?;
        }
    };
    [tt, tt.checked_sub(4)?]
        .into_iter()
        .filter_map(run)
        .max_by_key(|(_, v)| v.len())
}

/// Hop over `n` names from `at` (each: a length, one byte or two for "big" names, then that many
/// token bytes); the offset reached.
fn hop(b: &[u8], mut at: usize, n: usize) -> Option<usize> {
    for _ in 0..n {
        let mut len = usize::from(*b.get(at)?);
        at += 1;
        if len & 0x80 != 0 {
            len = (len & 0x7f) | (usize::from(*b.get(at)?) << 7);
            at += 1;
        }
        if len == 0 {
            return None;
        }
        at += len;
    }
    (at <= b.len()).then_some(at)
}

/// The names' start, given the markers at `m` (their values `mk`): the symbol count 8 bytes
/// before it needs exactly `mk.len()` markers, and the names decode onto every marker and end
/// where the markers begin.
fn names(b: &[u8], m: usize, mk: &[u64]) -> Option<(usize, usize)> {
    let last = usize::try_from(*mk.last()?).ok()?;
    let hi = m.checked_sub(last)?;
    let lo = hi.saturating_sub(256 * 1024);
    (lo..=hi)
        .rev()
        .filter(|x| x % 8 == 0 && *x >= 8)
        .find_map(|x| {
            let n = usize::try_from(u32_at(b, x - 8)?).ok()?;
            if n == 0 || n.div_ceil(256) != mk.len() {
                return None;
            }
            for w in mk.windows(2) {
                let from = x + usize::try_from(w[0]).ok()?;
                if hop(b, from, 256)? != x + usize::try_from(w[1]).ok()? {
                    return None;
                }
            }
            let end = hop(b, x + last, n - 256 * (mk.len() - 1))?;
            (end <= m && m - end < 8).then_some((x, n))
        })
}

/// Candidate tables found in the kernel image starting at `image` (runtime address), read
/// through `mem`: the base-relative layout first, then the plain-addresses one. `Err` when no
/// token index with all the tables before it is found.
pub fn find_tables(
    mem: &dyn Memory,
    image: u64,
    stext: Option<u64>,
) -> Result<Vec<KallsymsTables>> {
    let mut buf: Vec<u8> = Vec::new();
    let mut scanned = 0usize;
    let mut empty_chunks = 0;
    while (buf.len() as u64) < MAX_IMAGE && empty_chunks < MAX_EMPTY_CHUNKS {
        let mut chunk = vec![0u8; CHUNK];
        if mem.read(image + buf.len() as u64, &mut chunk).is_err() {
            // Holes are normal: the kernel frees the gap between its text and rodata, and a
            // filtered dump (makedumpfile -d 16) leaves freed pages out. An unreadable page
            // reads as zeros (no table is made of them) and the search goes on past it, until
            // a run of wholly unreadable MiB says the image is over.
            let mut readable = false;
            for (i, page) in chunk.chunks_mut(PAGE).enumerate() {
                let at = image + (buf.len() + i * PAGE) as u64;
                if mem.read(at, page).is_ok() {
                    readable = true;
                } else {
                    page.fill(0);
                }
            }
            empty_chunks = if readable { 0 } else { empty_chunks + 1 };
        } else {
            empty_chunks = 0;
        }
        buf.extend_from_slice(&chunk);
        // a token index wholly inside what is read (its 512 bytes may cross the chunk's end)
        let end = buf.len().saturating_sub(512);
        let mut at = scanned - scanned % 4;
        while at < end {
            if buf[at] == 0 && buf[at + 1] == 0 {
                if let Some(t) = found(&buf, at, image, stext) {
                    return Ok(t);
                }
            }
            at += 4;
        }
        scanned = end;
    }
    Err(err(format!(
        "no kallsyms tables in the {} MiB of kernel image read from {image:#x}",
        buf.len() >> 20
    )))
}

fn found(b: &[u8], ti: usize, image: u64, stext: Option<u64>) -> Option<Vec<KallsymsTables>> {
    let idx = token_index(b, ti)?;
    let tt = token_table(b, ti, &idx)?;
    let (m, mk) = markers(b, tt)?;
    let (names, n) = names(b, m, &mk)?;
    let at = |o: usize| image + o as u64;
    let count = names - 8;
    let common = KallsymsTables {
        names: at(names),
        num_syms: at(count),
        token_table: at(tt),
        token_index: at(ti),
        offsets: None,
        relative_base: None,
        addresses: None,
        stext,
    };
    let mut out = Vec::new();
    if let Some(base) = count.checked_sub(8) {
        if let Some(offsets) = base.checked_sub((4 * n).next_multiple_of(8)) {
            out.push(KallsymsTables {
                offsets: Some(at(offsets)),
                relative_base: Some(at(base)),
                ..common.clone()
            });
        }
    }
    if let Some(addresses) = count.checked_sub(8 * n) {
        out.push(KallsymsTables {
            addresses: Some(at(addresses)),
            ..common
        });
    }
    (!out.is_empty()).then_some(out)
}
