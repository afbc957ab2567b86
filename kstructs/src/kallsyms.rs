//! The kernel's own compressed symbol table (kallsyms), decoded from kernel memory.
//!
//! Since 6.0, VMCOREINFO names the tables (`kallsyms_names`, `kallsyms_num_syms`,
//! `kallsyms_token_table`, `kallsyms_token_index`, and `kallsyms_offsets` with
//! `kallsyms_relative_base`, or `kallsyms_addresses` on kernels without base-relative offsets).
//! Each name is a length (one byte, or two with the high bit of the first set: the "big symbol"
//! encoding of 6.1+) and that many token indexes; the expanded name's first character is the
//! symbol type (`T`, `t`, `D`, …). Addresses are base-relative offsets, with
//! `KALLSYMS_ABSOLUTE_PERCPU` (x86-64 SMP before 6.15) encoding per-cpu symbols as non-negative
//! absolute values and all others as negative offsets below `kallsyms_relative_base - 1`.
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
    /// `kallsyms_offsets` (base-relative kernels: every 6.x).
    pub offsets: Option<u64>,
    /// `kallsyms_relative_base` (with `offsets`).
    pub relative_base: Option<u64>,
    /// `kallsyms_addresses` (kernels built without base-relative kallsyms).
    pub addresses: Option<u64>,
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
        };
        if t.addresses.is_none() && t.offsets.is_none() {
            missing.push("kallsyms_offsets (or kallsyms_addresses)");
        }
        if t.addresses.is_none() && t.offsets.is_some() && t.relative_base.is_none() {
            missing.push("kallsyms_relative_base");
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
    // Addresses first: a damaged offsets table fails before the names are expanded.
    let addrs: Vec<(u64, bool)> = match (t.offsets, t.relative_base, t.addresses) {
        (Some(off), Some(base_at), _) => {
            let base = u64::from_le_bytes(
                read(mem, base_at, 8, "kallsyms_relative_base")?
                    .try_into()
                    .unwrap_or([0; 8]),
            );
            let raw = read(mem, off, num * 4, "kallsyms_offsets")?;
            let offs: Vec<i32> = raw
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            // With KALLSYMS_ABSOLUTE_PERCPU every non-percpu symbol is a negative offset; without
            // it all offsets are unsigned and an image smaller than 2 GiB has none above i32::MAX.
            let absolute_percpu = offs.iter().any(|&o| o < 0);
            offs.iter()
                .map(|&o| {
                    if !absolute_percpu {
                        (base.wrapping_add(u64::from(o as u32)), true)
                    } else if o >= 0 {
                        (o as u64, false)
                    } else {
                        (base.wrapping_sub(1).wrapping_sub(o as i64 as u64), true)
                    }
                })
                .collect()
        }
        (_, _, Some(at)) => read(mem, at, num * 8, "kallsyms_addresses")?
            .chunks_exact(8)
            .map(|c| (u64::from_le_bytes(c.try_into().unwrap_or([0; 8])), true))
            .collect(),
        _ => {
            return Err(err(
                "neither kallsyms_offsets nor kallsyms_addresses is known",
            ))
        }
    };
    let mut s = Stream {
        mem,
        next: t.names,
        buf: Vec::new(),
        pos: 0,
        left: num * (2 + 0x3fff),
    };
    let mut syms = Symbols::named("the dump's kallsyms");
    let mut name = Vec::with_capacity(64);
    for (i, &(addr, relocated)) in addrs.iter().enumerate() {
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
        let text = String::from_utf8_lossy(rest);
        let link = if relocated {
            addr.wrapping_sub(kaslr_offset)
        } else {
            addr
        };
        syms.push_typed(link, 0, &text, kind);
    }
    Ok(syms.finish())
}
