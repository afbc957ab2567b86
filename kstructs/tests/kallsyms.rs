//! The kallsyms decoder on tables written by `testdata::kallsyms_writer`: every address
//! encoding, multi-character tokens and "big" symbol names, KASLR, and damaged tables.

use kstructs::{Error, KallsymsTables, Memory, SymbolTable};
use testdata::kallsyms_writer::{build, Encoding, KallsymsImage};

struct Mem<'a>(&'a KallsymsImage);

impl Memory for Mem<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
        self.0.read(addr, buf)
    }
}

fn tables(img: &KallsymsImage) -> KallsymsTables {
    tables_with_stext(img, Some(STEXT))
}

/// `_stext` where the test kernel runs.
const STEXT: u64 = 0xffff_ffff_8100_0000 + KASLR;

fn tables_with_stext(img: &KallsymsImage, stext: Option<u64>) -> KallsymsTables {
    let vi = [
        ("_stext", stext),
        ("kallsyms_names", Some(img.names)),
        ("kallsyms_num_syms", Some(img.num_syms)),
        ("kallsyms_token_table", Some(img.token_table)),
        ("kallsyms_token_index", Some(img.token_index)),
        ("kallsyms_offsets", img.offsets),
        ("kallsyms_relative_base", img.relative_base),
        ("kallsyms_addresses", img.addresses),
    ];
    KallsymsTables::from_lookup(|n| vi.iter().find(|v| v.0 == n).and_then(|v| v.1)).unwrap()
}

const KASLR: u64 = 0x1e00_0000;

fn symbols(long: &str) -> Vec<(String, char, u64)> {
    let mut v = vec![
        ("fixed_percpu_data".to_string(), 'A', 0x0),
        ("runqueues".to_string(), 'D', 0x2_f6c0),
        ("_text".to_string(), 'T', 0xffff_ffff_8100_0000 + KASLR),
        ("_stext".to_string(), 'T', 0xffff_ffff_8100_0000 + KASLR),
        (
            "sk_skb_reason_drop".to_string(),
            't',
            0xffff_ffff_8190_0000 + KASLR,
        ),
        (
            "kallsyms_names".to_string(),
            'R',
            0xffff_ffff_8240_0000 + KASLR,
        ),
        ("init_task".to_string(), 'D', 0xffff_ffff_82a0_c940 + KASLR),
        (long.to_string(), 'T', 0xffff_ffff_82b0_0000 + KASLR),
        (
            "__start_BTF".to_string(),
            'R',
            0xffff_ffff_82c0_0000 + KASLR,
        ),
    ];
    v.sort_by_key(|s| s.2);
    v
}

#[test]
fn every_encoding_decodes_to_link_time_addresses() {
    // A Rust-style long name: more than 127 tokens, so its length takes two bytes.
    let long = format!("_RNvNtCs{}", "x9".repeat(100));
    for (enc, stext) in [
        Encoding::BaseRelative,
        Encoding::AbsolutePercpu,
        Encoding::Addresses,
        Encoding::PlaceRelative,
    ]
    .into_iter()
    .flat_map(|e| [(e, Some(STEXT)), (e, None)])
    {
        let mut syms = symbols(&long);
        if enc != Encoding::AbsolutePercpu {
            syms.retain(|s| s.2 > 1 << 32);
        }
        let refs: Vec<(&str, char, u64)> = syms.iter().map(|s| (s.0.as_str(), s.1, s.2)).collect();
        let img = build(&refs, enc, 0xffff_ffff_8240_0000 + KASLR);
        let t =
            SymbolTable::from_kallsyms(&Mem(&img), &tables_with_stext(&img, stext), KASLR).unwrap();
        assert_eq!(t.len(), syms.len(), "{enc:?}");
        for (name, kind, addr) in &syms {
            let link = if *addr > 1 << 32 { addr - KASLR } else { *addr };
            assert_eq!(t.lookup(name), Some(link), "{enc:?} {name}");
            assert!(
                t.iter()
                    .any(|(n, a, k)| n == name && a == link && k == *kind),
                "{enc:?} {name}"
            );
        }
    }
}

#[test]
fn missing_tables_are_named() {
    let e = KallsymsTables::from_lookup(|n| (n == "kallsyms_names").then_some(1)).unwrap_err();
    assert!(
        e.contains("kallsyms_num_syms") && e.contains("kallsyms_offsets"),
        "{e}"
    );
    // 7.0+: offsets without a relative base are the place-relative encoding, not a gap.
    let t = KallsymsTables::from_lookup(|n| {
        (n != "kallsyms_relative_base" && n != "kallsyms_addresses").then_some(1)
    })
    .unwrap();
    assert!(t.offsets.is_some() && t.relative_base.is_none());
}

/// The encoding is the one that puts `_stext` where VMCOREINFO says: tables that decode
/// plausibly both ways (base-relative offsets read as absolute per-cpu ones have no negative
/// entry here) take VMCOREINFO's word, and a table no encoding reads right is refused.
#[test]
fn the_encoding_is_the_one_that_decodes_stext_right() {
    let mut syms = symbols("some_function");
    syms.retain(|s| s.2 > 1 << 32);
    let refs: Vec<(&str, char, u64)> = syms.iter().map(|s| (s.0.as_str(), s.1, s.2)).collect();
    // Base-relative offsets are all non-negative: absolute per-cpu would read them as absolute
    // addresses below 4 GiB, and only _stext's check tells.
    let img = build(&refs, Encoding::BaseRelative, 0xffff_ffff_8240_0000 + KASLR);
    let t = SymbolTable::from_kallsyms(&Mem(&img), &tables(&img), KASLR).unwrap();
    assert_eq!(t.lookup("init_task"), Some(0xffff_ffff_82a0_c940));
    // A wrong _stext from VMCOREINFO: no encoding matches, and the error says so.
    let e = SymbolTable::from_kallsyms(
        &Mem(&img),
        &tables_with_stext(&img, Some(STEXT + 0x20_0000)),
        KASLR,
    )
    .unwrap_err();
    match e {
        Error::Kallsyms { reason } => assert!(reason.contains("_stext"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn damaged_tables_are_typed_errors() {
    let syms = symbols("long_enough");
    let refs: Vec<(&str, char, u64)> = syms.iter().map(|s| (s.0.as_str(), s.1, s.2)).collect();
    let good = build(
        &refs,
        Encoding::AbsolutePercpu,
        0xffff_ffff_8240_0000 + KASLR,
    );
    let decode =
        |img: &KallsymsImage, t: &KallsymsTables| SymbolTable::from_kallsyms(&Mem(img), t, KASLR);
    let expect = |what: &str, r: Result<SymbolTable, Error>, want: &str| match r {
        Err(Error::Kallsyms { reason }) => assert!(reason.contains(want), "{what}: {reason}"),
        other => panic!("{what}: {other:?}"),
    };
    for (count, want) in [
        (0u32, "kallsyms_num_syms is 0"),
        (u32::MAX, "between 1 and"),
    ] {
        let mut img = good.clone();
        img.region_mut(img.num_syms)
            .unwrap()
            .copy_from_slice(&count.to_le_bytes());
        expect("count", decode(&img, &tables(&img)), want);
    }
    // More symbols claimed than the offsets table holds: the read fails at its end.
    let mut img = good.clone();
    img.region_mut(img.num_syms)
        .unwrap()
        .copy_from_slice(&4000u32.to_le_bytes());
    expect(
        "count too high",
        decode(&img, &tables(&img)),
        "cannot read kallsyms_offsets",
    );
    // A token index past the token table (no NUL in reach).
    let mut img = good.clone();
    let ti = img.token_index;
    img.region_mut(ti).unwrap()[..2].copy_from_slice(&0xfff0u16.to_le_bytes());
    expect(
        "token index",
        decode(&img, &tables(&img)),
        "kallsyms_token_table",
    );
    // Names cut short: the stream runs into unreadable memory.
    let mut img = good.clone();
    let n = img.names;
    img.region_mut(n).unwrap().truncate(3);
    let mut t = tables(&img);
    t.names = n;
    // (the memory after the 3 bytes reads as zeros to the page's end: a zero length is no name)
    expect("names cut short", decode(&img, &t), "empty name");
    // Tables at addresses the dump does not hold.
    let mut t = tables(&good);
    t.names = 0xdead_0000;
    expect(
        "unreadable names",
        decode(&good, &t),
        "cannot read kallsyms_names",
    );
    // Random damage to every table: an answer or a typed error, never a panic.
    let mut seed = 0x1234_5678_9abc_def1u64;
    for _ in 0..3000 {
        let mut img = good.clone();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let r = (seed % img.regions.len() as u64) as usize;
        let bytes = &mut img.regions[r].1;
        let at = ((seed >> 8) as usize) % bytes.len();
        bytes[at] = (seed >> 40) as u8;
        let _ = decode(&img, &tables(&img));
    }
}

/// Before 6.0 VMCOREINFO names no table: they are found in the kernel image by their
/// structure — each address layout of the time — and decode to the same symbols; an image
/// without them is an error that says so.
#[test]
fn tables_are_found_in_the_image_before_6_0() {
    use testdata::kallsyms_writer::build_contiguous;
    // enough symbols for several markers (one per 256)
    let mut syms = symbols("x");
    for i in 0..700u64 {
        syms.push((
            format!("fn_{i}"),
            't',
            0xffff_ffff_8120_0000 + KASLR + 16 * i,
        ));
    }
    syms.sort_by_key(|s| s.2);
    for enc in [
        Encoding::BaseRelative,
        Encoding::AbsolutePercpu,
        Encoding::Addresses,
    ] {
        let mut syms = syms.clone();
        if enc != Encoding::AbsolutePercpu {
            syms.retain(|s| s.2 > 1 << 32);
        }
        let refs: Vec<(&str, char, u64)> = syms.iter().map(|s| (s.0.as_str(), s.1, s.2)).collect();
        let image = 0xffff_ffff_8100_0000 + KASLR;
        let img = build_contiguous(&refs, enc, image);
        let t = SymbolTable::from_kallsyms_in_image(&Mem(&img), image, STEXT, KASLR)
            .unwrap_or_else(|e| panic!("{enc:?}: {e}"));
        assert_eq!(t.len(), syms.len(), "{enc:?}");
        for (name, _, addr) in &syms {
            let link = if *addr > 1 << 32 { addr - KASLR } else { *addr };
            assert_eq!(t.lookup(name), Some(link), "{enc:?} {name}");
        }
        // a hole before the tables (a freed or filtered page) does not stop the search
        let mut holed = img.clone();
        let mem = holed.regions.remove(0).1;
        let cut = 4096; // the first page (the bytes before the tables) is not in the dump
        holed
            .regions
            .push((image + cut as u64, mem[cut..].to_vec()));
        let t = SymbolTable::from_kallsyms_in_image(&Mem(&holed), image, STEXT, KASLR)
            .unwrap_or_else(|e| panic!("{enc:?} with a hole: {e}"));
        assert_eq!(t.len(), syms.len(), "{enc:?} with a hole");
        // the same image with its token index damaged: nothing to find
        let mut bad = img.clone();
        let at = (img.token_index - image) as usize;
        bad.regions[0].1[at + 2] = 0xff;
        assert!(SymbolTable::from_kallsyms_in_image(&Mem(&bad), image, STEXT, KASLR).is_err());
    }
}
