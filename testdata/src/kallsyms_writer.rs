//! Kernel kallsyms tables as `scripts/kallsyms` lays them out, for the decoder's tests: names
//! compressed with a token table (multi-character tokens included), the two-byte length of
//! "big" symbols, and each address encoding (base-relative, absolute per-cpu, plain addresses,
//! and 7.0's place-relative offsets).
//!
//! ```
//! use testdata::kallsyms_writer::{build, Encoding};
//! let img = build(&[("_text", 'T', 0xffffffff81000000), ("init_task", 'D', 0xffffffff82a0c940)],
//!                 Encoding::BaseRelative, 0xffffffff82000000);
//! assert_eq!(img.num_syms_value, 2);
//! assert!(img.relative_base.is_some() && img.addresses.is_none());
//! ```

/// How addresses are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `kallsyms_offsets` as unsigned offsets from `kallsyms_relative_base`.
    BaseRelative,
    /// `KALLSYMS_ABSOLUTE_PERCPU`: symbols below 4 GiB (per-cpu) absolute, the rest negative.
    AbsolutePercpu,
    /// `kallsyms_addresses`: full addresses.
    Addresses,
    /// 7.0+: each entry of `kallsyms_offsets` is the symbol's distance from the entry itself
    /// (a signed 32-bit place-relative offset); there is no `kallsyms_relative_base`.
    PlaceRelative,
}

/// The tables, placed in memory: `regions` are (address, bytes) to serve reads from, and the
/// fields are the addresses VMCOREINFO would give.
#[derive(Debug, Clone)]
pub struct KallsymsImage {
    /// Memory holding every table.
    pub regions: Vec<(u64, Vec<u8>)>,
    /// `kallsyms_names`.
    pub names: u64,
    /// `kallsyms_num_syms`.
    pub num_syms: u64,
    /// How many symbols.
    pub num_syms_value: u32,
    /// `kallsyms_token_table`.
    pub token_table: u64,
    /// `kallsyms_token_index`.
    pub token_index: u64,
    /// `kallsyms_offsets`.
    pub offsets: Option<u64>,
    /// `kallsyms_relative_base`.
    pub relative_base: Option<u64>,
    /// `kallsyms_addresses`.
    pub addresses: Option<u64>,
}

/// Multi-character tokens given the byte values no name uses.
const TOKENS: &[&str] = &["kallsyms_", "init_", "_t", "sk", "__"];

/// Build tables for `syms` (name, type letter, runtime address; sorted by address as the
/// kernel's are) with `enc`, placed from `at` upwards.
pub fn build(syms: &[(&str, char, u64)], enc: Encoding, at: u64) -> KallsymsImage {
    let mut used = [false; 256];
    for (n, t, _) in syms {
        used[*t as usize] = true;
        for b in n.bytes() {
            used[usize::from(b)] = true;
        }
    }
    let mut table: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    // no name holds a NUL: its slot gets a token of its own, as every slot of a kernel's has
    table[0] = b"~0".to_vec();
    let free: Vec<usize> = (1..256).filter(|&b| !used[b]).collect();
    let mut multi = Vec::new();
    for (tok, &slot) in TOKENS.iter().zip(&free) {
        table[slot] = tok.as_bytes().to_vec();
        multi.push((tok.as_bytes(), slot as u8));
    }
    // Names: greedy longest token first.
    let mut names = Vec::new();
    for (n, t, _) in syms {
        let mut full = vec![*t as u8];
        full.extend_from_slice(n.as_bytes());
        let mut enc_bytes = Vec::new();
        let mut i = 0;
        while i < full.len() {
            match multi.iter().find(|(tok, _)| full[i..].starts_with(tok)) {
                Some((tok, slot)) => {
                    enc_bytes.push(*slot);
                    i += tok.len();
                }
                None => {
                    enc_bytes.push(full[i]);
                    i += 1;
                }
            }
        }
        let len = enc_bytes.len();
        if len > 0x7f {
            names.push(0x80 | (len & 0x7f) as u8);
            names.push((len >> 7) as u8);
        } else {
            names.push(len as u8);
        }
        names.extend_from_slice(&enc_bytes);
    }
    let mut token_table = Vec::new();
    let mut token_index = Vec::new();
    for t in &table {
        token_index.extend_from_slice(&(token_table.len() as u16).to_le_bytes());
        token_table.extend_from_slice(t);
        token_table.push(0);
    }
    let base = syms
        .iter()
        .map(|s| s.2)
        .filter(|&a| enc != Encoding::AbsolutePercpu || a >= 1 << 32)
        .min()
        .unwrap_or(0);
    let mut addr_table = Vec::new();
    for (_, _, a) in syms {
        match enc {
            Encoding::BaseRelative => {
                addr_table.extend_from_slice(&((a - base) as u32).to_le_bytes())
            }
            Encoding::AbsolutePercpu if *a < 1 << 32 => {
                addr_table.extend_from_slice(&(*a as u32).to_le_bytes())
            }
            Encoding::AbsolutePercpu => {
                let off = base.wrapping_sub(1).wrapping_sub(*a) as i64 as i32;
                addr_table.extend_from_slice(&off.to_le_bytes())
            }
            Encoding::Addresses => addr_table.extend_from_slice(&a.to_le_bytes()),
            // written once the table's own address is known (below)
            Encoding::PlaceRelative => {}
        }
    }
    let mut img = KallsymsImage {
        regions: Vec::new(),
        names: 0,
        num_syms: 0,
        num_syms_value: syms.len() as u32,
        token_table: 0,
        token_index: 0,
        offsets: None,
        relative_base: None,
        addresses: None,
    };
    let mut next = at;
    let mut place = |img: &mut KallsymsImage, bytes: Vec<u8>| {
        let a = next;
        next += (bytes.len() as u64).div_ceil(256) * 256 + 256;
        img.regions.push((a, bytes));
        a
    };
    img.num_syms = place(&mut img, (syms.len() as u32).to_le_bytes().to_vec());
    img.names = place(&mut img, names);
    img.token_table = place(&mut img, token_table);
    img.token_index = place(&mut img, token_index);
    match enc {
        Encoding::Addresses => img.addresses = Some(place(&mut img, addr_table)),
        Encoding::PlaceRelative => {
            // placed first, then filled in: each entry is its symbol's distance from itself
            let at = place(&mut img, vec![0; 4 * syms.len()]);
            let table: Vec<u8> = syms
                .iter()
                .enumerate()
                .flat_map(|(i, s)| {
                    (s.2.wrapping_sub(at + 4 * i as u64) as i64 as i32).to_le_bytes()
                })
                .collect();
            if let Some(r) = img.region_mut(at) {
                *r = table;
            }
            img.offsets = Some(at);
        }
        _ => {
            img.offsets = Some(place(&mut img, addr_table));
            img.relative_base = Some(place(&mut img, base.to_le_bytes().to_vec()));
        }
    }
    img
}

/// The tables as `scripts/kallsyms` emits them before 6.4: one run of memory at `at`, each
/// label 8-byte aligned, in the order addresses (or offsets and relative base), count, names,
/// markers, token table, token index — between 4 KiB of other bytes on each side. VMCOREINFO
/// names none of them before 6.0: the decoder's image search finds them (`enc`: base-relative,
/// absolute per-cpu or addresses).
pub fn build_contiguous(syms: &[(&str, char, u64)], enc: Encoding, at: u64) -> KallsymsImage {
    assert!(
        enc != Encoding::PlaceRelative,
        "7.0's tables are named by VMCOREINFO"
    );
    let parts = build(syms, enc, 0x1000_0000);
    let part = |a: Option<u64>| -> Vec<u8> {
        a.and_then(|a| parts.regions.iter().find(|r| r.0 == a))
            .map(|r| r.1.clone())
            .unwrap_or_default()
    };
    let names = part(Some(parts.names));
    // markers: the offset of symbol 256·i in the names
    let mut markers = Vec::new();
    let mut pos = 0usize;
    for i in 0..syms.len() {
        if i % 256 == 0 {
            markers.extend_from_slice(&(pos as u32).to_le_bytes());
        }
        let mut len = usize::from(names[pos]);
        pos += 1;
        if len & 0x80 != 0 {
            len = (len & 0x7f) | (usize::from(names[pos]) << 7);
            pos += 1;
        }
        pos += len;
    }
    let mut mem: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let mut img = KallsymsImage {
        regions: Vec::new(),
        names: 0,
        num_syms: 0,
        num_syms_value: parts.num_syms_value,
        token_table: 0,
        token_index: 0,
        offsets: None,
        relative_base: None,
        addresses: None,
    };
    let label = |mem: &mut Vec<u8>, bytes: &[u8]| -> u64 {
        while !mem.len().is_multiple_of(8) {
            mem.push(0);
        }
        let a = at + mem.len() as u64;
        mem.extend_from_slice(bytes);
        a
    };
    match enc {
        Encoding::Addresses => img.addresses = Some(label(&mut mem, &part(parts.addresses))),
        _ => {
            img.offsets = Some(label(&mut mem, &part(parts.offsets)));
            img.relative_base = Some(label(&mut mem, &part(parts.relative_base)));
        }
    }
    img.num_syms = label(&mut mem, &part(Some(parts.num_syms)));
    img.names = label(&mut mem, &names);
    label(&mut mem, &markers);
    img.token_table = label(&mut mem, &part(Some(parts.token_table)));
    img.token_index = label(&mut mem, &part(Some(parts.token_index)));
    mem.extend((0..4096u32).map(|i| (i.wrapping_mul(40503) >> 8) as u8));
    img.regions.push((at, mem));
    img
}

impl KallsymsImage {
    /// Serve a read from the regions, each readable (zeros after its bytes) to the end of its
    /// last 4 KiB page; `Err` elsewhere, as a dump would.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
        // The region a read starts in is the last one starting at or below it.
        let start_in = self
            .regions
            .iter()
            .filter(|r| r.0 <= addr)
            .max_by_key(|r| r.0);
        if let Some((a, bytes)) = start_in {
            let next = self.regions.iter().map(|r| r.0).filter(|&s| s > *a).min();
            let end = (a + bytes.len() as u64 + 256).div_ceil(4096) * 4096;
            let end = next.map_or(end, |n| end.max(n));
            if addr + buf.len() as u64 <= end {
                let start = (addr - a) as usize;
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = bytes.get(start + i).copied().unwrap_or(0);
                }
                return Ok(());
            }
        }
        Err(format!("{addr:#x}: not in the dump"))
    }

    /// The region that starts at `addr`, to damage it.
    pub fn region_mut(&mut self, addr: u64) -> Option<&mut Vec<u8>> {
        self.regions
            .iter_mut()
            .find(|r| r.0 == addr)
            .map(|r| &mut r.1)
    }
}
