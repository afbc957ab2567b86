//! The kernel's own compressed symbol table (kallsyms), decoded from kernel memory.
//!
//! Since 6.0, VMCOREINFO names the tables (`kallsyms_names`, `kallsyms_num_syms`,
//! `kallsyms_token_table`, `kallsyms_token_index`, and `kallsyms_offsets` — with
//! `kallsyms_relative_base` before 7.0 — or `kallsyms_addresses` on kernels without relative
//! offsets). Each name is a length (one byte, or two with the high bit of the first set: the
//! "big symbol" encoding of 6.1+) and that many token indexes; the expanded name's first
//! character is the symbol type (`T`, `t`, `D`, …).
//!
//! Addresses come in four encodings ([`Encoding`]): plain `kallsyms_addresses`; unsigned offsets
//! from `kallsyms_relative_base`; the same with `KALLSYMS_ABSOLUTE_PERCPU` (x86-64 SMP before
//! 6.15: per-cpu symbols as non-negative absolute values, all others as negative offsets below
//! `kallsyms_relative_base - 1`); and, from 7.0 (commit "kallsyms: Get rid of kallsyms relative
//! base"), signed offsets from each entry's own address. Which one a kernel uses is decided from
//! the dump, never from its release: the tables VMCOREINFO names narrow the candidates, and the
//! one that decodes `_stext` to the address VMCOREINFO gives (`SYMBOL(_stext)`) is taken; a
//! table no candidate decodes to that address is refused rather than guessed at.
//!
//! Every count and offset comes from the dump and is checked before it sizes a read.

use crate::error::{Error, Result};
use crate::symbols::Symbols;

/// Reads kernel virtual memory: what the decoder needs of a dump.
pub trait Memory {
    /// Fill `buf` from virtual address `addr`, or say why not.
    fn read(&self, addr: u64, buf: &mut [u8]) -> std::result::Result<(), String>;
}

/// Runtime addresses of the kallsyms tables (KASLR applied), as VMCOREINFO's `SYMBOL()` lines
/// give them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KallsymsTables {
    /// `kallsyms_names`.
    pub names: u64,
    /// `kallsyms_num_syms`.
    pub num_syms: u64,
    /// `kallsyms_token_table`.
    pub token_table: u64,
    /// `kallsyms_token_index`.
    pub token_index: u64,
    /// `kallsyms_offsets` (relative kernels: every 6.x and 7.x).
    pub offsets: Option<u64>,
    /// `kallsyms_relative_base` (with `offsets`, before 7.0).
    pub relative_base: Option<u64>,
    /// `kallsyms_addresses` (kernels built without relative kallsyms).
    pub addresses: Option<u64>,
    /// `_stext` where the kernel runs (VMCOREINFO's `SYMBOL(_stext)`): the check that picks the
    /// address encoding. Without it the encoding is inferred from the tables alone.
    pub stext: Option<u64>,
}

/// How a kernel stores its symbols' addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `kallsyms_addresses`: one `unsigned long` per symbol.
    Addresses,
    /// `kallsyms_relative_base + (u32)kallsyms_offsets[i]`.
    BaseRelative,
    /// `KALLSYMS_ABSOLUTE_PERCPU`: a non-negative offset is the address, a negative one is
    /// `kallsyms_relative_base - 1 - offset`.
    AbsolutePercpu,
    /// 7.0+: `&kallsyms_offsets[i] + (s32)kallsyms_offsets[i]`.
    PlaceRelative,
}

impl Encoding {
    /// The encodings these tables can be in, the likeliest first.
    fn candidates(t: &KallsymsTables) -> Vec<Encoding> {
        match (t.addresses, t.offsets, t.relative_base) {
            (Some(_), _, _) => vec![Encoding::Addresses],
            (None, Some(_), Some(_)) => vec![
                Encoding::AbsolutePercpu,
                Encoding::BaseRelative,
                Encoding::PlaceRelative,
            ],
            (None, Some(_), None) => vec![Encoding::PlaceRelative],
            (None, None, _) => Vec::new(),
        }
    }

    /// The runtime address of entry `i` whose raw value is `raw` (the whole `unsigned long` for
    /// [`Encoding::Addresses`], else the 32-bit offset), and whether KASLR moved it (absolute
    /// per-cpu values do not move).
    fn address(self, raw: u64, i: usize, t: &KallsymsTables, base: u64) -> (u64, bool) {
        let o = raw as u32 as i32;
        match self {
            Encoding::Addresses => (raw, true),
            Encoding::BaseRelative => (base.wrapping_add(u64::from(raw as u32)), true),
            Encoding::AbsolutePercpu if o >= 0 => (o as u64, false),
            Encoding::AbsolutePercpu => (base.wrapping_sub(1).wrapping_sub(o as i64 as u64), true),
            Encoding::PlaceRelative => {
                let entry = t.offsets.unwrap_or(0).wrapping_add(4 * i as u64);
                (entry.wrapping_add(o as i64 as u64), true)
            }
        }
    }
}

impl KallsymsTables {
    /// The tables from a name → runtime-address lookup (e.g. VMCOREINFO's `SYMBOL()` lines);
    /// `Err` names the symbols that are missing.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let syms: HashMap<&str, u64> = HashMap::new();
    /// let err = kstructs::KallsymsTables::from_lookup(|n| syms.get(n).copied()).unwrap_err();
    /// assert!(err.contains("kallsyms_names"));
    /// ```
    pub fn from_lookup(get: impl Fn(&str) -> Option<u64>) -> std::result::Result<Self, String> {
        let mut missing = Vec::new();
        let mut need = |n: &'static str| {
            let v = get(n);
            if v.is_none() {
                missing.push(n);
            }
            v.unwrap_or(0)
        };
        let t = KallsymsTables {
            names: need("kallsyms_names"),
            num_syms: need("kallsyms_num_syms"),
            token_table: need("kallsyms_token_table"),
            token_index: need("kallsyms_token_index"),
            offsets: get("kallsyms_offsets"),
            relative_base: get("kallsyms_relative_base"),
            addresses: get("kallsyms_addresses"),
            stext: get("_stext"),
        };
        if t.addresses.is_none() && t.offsets.is_none() {
            missing.push("kallsyms_offsets (or kallsyms_addresses)");
        }
        if missing.is_empty() {
            Ok(t)
        } else {
            Err(missing.join(", "))
        }
    }
}

/// More symbols than any kernel has (6.12 cloud: ~127 000): a garbage count is refused before
/// it sizes anything.
const MAX_SYMS: u64 = 1 << 22;
/// `KSYM_NAME_LEN` is 512 since 6.1: a longer expanded name means a damaged table.
const MAX_NAME: usize = 1024;
/// Read size for the names table.
const CHUNK: usize = 64 << 10;
/// Memory is present or absent by pages.
const PAGE: usize = 4096;

fn err(reason: impl Into<String>) -> Error {
    Error::Kallsyms {
        reason: reason.into(),
    }
}

fn read(mem: &dyn Memory, addr: u64, len: usize, what: &str) -> Result<Vec<u8>> {
    let mut b = vec![0u8; len];
    mem.read(addr, &mut b).map_err(|e| {
        err(format!(
            "cannot read {what} ({len} bytes at {addr:#x}): {e}"
        ))
    })?;
    Ok(b)
}

/// Reads a table sequentially in chunks, never past `limit` bytes in all.
struct Stream<'m> {
    mem: &'m dyn Memory,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
    left: usize,
}

impl Stream<'_> {
    fn byte(&mut self) -> Result<u8> {
        if self.pos == self.buf.len() {
            if self.left == 0 {
                return Err(err(
                    "kallsyms_names runs past the size its symbol count allows",
                ));
            }
            // Chunks end on page boundaries; when a large one fails (the table ends just before
            // memory the dump lacks), the page it starts in is read alone.
            let to_page = PAGE - (self.next % PAGE as u64) as usize;
            let n = (CHUNK - PAGE + to_page).min(self.left);
            let mut b = vec![0u8; n];
            self.buf = match self.mem.read(self.next, &mut b) {
                Ok(()) => b,
                Err(_) => read(
                    self.mem,
                    self.next,
                    to_page.min(self.left),
                    "kallsyms_names",
                )?,
            };
            let n = self.buf.len();
            self.next = self.next.wrapping_add(n as u64);
            self.left -= n;
            self.pos = 0;
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }
}

/// The 256 tokens, from `kallsyms_token_index` and `kallsyms_token_table`.
fn tokens(mem: &dyn Memory, t: &KallsymsTables) -> Result<Vec<Vec<u8>>> {
    let idx = read(mem, t.token_index, 512, "kallsyms_token_index")?;
    let idx: Vec<usize> = idx
        .chunks_exact(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
        .collect();
    let max = idx.iter().copied().max().unwrap_or(0);
    // Tokens are short strings; the last one starts at `max`.
    let table = read(mem, t.token_table, max + 256, "kallsyms_token_table")?;
    idx.iter()
        .enumerate()
        .map(|(i, &start)| {
            let tail = &table[start..];
            match tail.iter().position(|&c| c == 0) {
                Some(end) => Ok(tail[..end].to_vec()),
                None => Err(err(format!(
                    "token {i} at kallsyms_token_table+{start:#x} is not NUL-terminated"
                ))),
            }
        })
        .collect()
}

/// Decode the kallsyms of a kernel image loaded `kaslr_offset` above its link address. The
/// symbols are returned at link-time addresses (per-cpu symbols, absolute, as they are), like
/// every other symbol source.
pub(crate) fn decode(mem: &dyn Memory, t: &KallsymsTables, kaslr_offset: u64) -> Result<Symbols> {
    let num = u64::from(u32::from_le_bytes(
        read(mem, t.num_syms, 4, "kallsyms_num_syms")?
            .try_into()
            .unwrap_or([0; 4]),
    ));
    if num == 0 || num > MAX_SYMS {
        return Err(err(format!(
            "kallsyms_num_syms is {num} (a kernel has between 1 and {MAX_SYMS})"
        )));
    }
    let num = num as usize;
    let tokens = tokens(mem, t)?;
    // The raw address table first: a damaged one fails before the names are expanded.
    let candidates = Encoding::candidates(t);
    let raw: Vec<u64> = match (t.addresses, t.offsets) {
        (Some(at), _) => read(mem, at, num * 8, "kallsyms_addresses")?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
        (None, Some(off)) => read(mem, off, num * 4, "kallsyms_offsets")?
            .chunks_exact(4)
            .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        (None, None) => {
            return Err(err(
                "neither kallsyms_offsets nor kallsyms_addresses is known",
            ))
        }
    };
    let base = match t.relative_base {
        Some(at) if t.addresses.is_none() => u64::from_le_bytes(
            read(mem, at, 8, "kallsyms_relative_base")?
                .try_into()
                .unwrap_or([0; 8]),
        ),
        _ => 0,
    };
    let names = expand_names(mem, t, &tokens, num)?;
    let encoding = choose(&candidates, &names, &raw, t, base)?;
    let mut syms = Symbols::named("the dump's kallsyms");
    for (i, ((kind, text), &r)) in names.iter().zip(&raw).enumerate() {
        let (addr, relocated) = encoding.address(r, i, t, base);
        let link = if relocated {
            addr.wrapping_sub(kaslr_offset)
        } else {
            addr
        };
        syms.push_typed(link, 0, text, *kind);
    }
    Ok(syms.finish())
}

/// Every symbol's (type, name), in table order.
fn expand_names(
    mem: &dyn Memory,
    t: &KallsymsTables,
    tokens: &[Vec<u8>],
    num: usize,
) -> Result<Vec<(u8, String)>> {
    let mut s = Stream {
        mem,
        next: t.names,
        buf: Vec::new(),
        pos: 0,
        left: num * (2 + 0x3fff),
    };
    let mut out = Vec::with_capacity(num);
    let mut name = Vec::with_capacity(64);
    for i in 0..num {
        let mut len = usize::from(s.byte()?);
        if len & 0x80 != 0 {
            len = (len & 0x7f) | (usize::from(s.byte()?) << 7);
        }
        name.clear();
        for _ in 0..len {
            name.extend_from_slice(&tokens[usize::from(s.byte()?)]);
            if name.len() > MAX_NAME {
                return Err(err(format!(
                    "symbol {i}: name longer than {MAX_NAME} bytes (damaged kallsyms_names)"
                )));
            }
        }
        let Some((&kind, rest)) = name.split_first() else {
            return Err(err(format!("symbol {i}: empty name")));
        };
        out.push((kind, String::from_utf8_lossy(rest).into_owned()));
    }
    Ok(out)
}

/// The encoding that decodes `_stext` where VMCOREINFO says it is. Without that address (or
/// without an `_stext` symbol), the tables decide alone: place-relative when there is no base,
/// absolute per-cpu when some offset is negative (every non-per-cpu symbol is), else
/// base-relative.
fn choose(
    candidates: &[Encoding],
    names: &[(u8, String)],
    raw: &[u64],
    t: &KallsymsTables,
    base: u64,
) -> Result<Encoding> {
    let stext = names.iter().position(|(_, n)| n == "_stext");
    if let (Some(want), Some(i)) = (t.stext, stext) {
        return candidates
            .iter()
            .copied()
            .find(|e| e.address(raw[i], i, t, base).0 == want)
            .ok_or_else(|| {
                let got: Vec<String> = candidates
                    .iter()
                    .map(|e| format!("{e:?} {:#x}", e.address(raw[i], i, t, base).0))
                    .collect();
                err(format!(
                    "no address encoding decodes _stext to {want:#x}, the address VMCOREINFO gives \
                     (decoded: {})",
                    got.join(", ")
                ))
            });
    }
    let negative = raw.iter().any(|&r| (r as u32 as i32) < 0);
    let pick = |e: Encoding| candidates.contains(&e).then_some(e);
    pick(Encoding::Addresses)
        .or_else(|| t.relative_base.is_none().then_some(Encoding::PlaceRelative))
        .or_else(|| {
            if negative {
                pick(Encoding::AbsolutePercpu)
            } else {
                pick(Encoding::BaseRelative)
            }
        })
        .ok_or_else(|| err("no address encoding fits these tables"))
}
