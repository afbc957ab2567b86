//! Kernel-shaped C compiled by the system gcc with several DWARF flavours: what `Types` reports
//! must equal what the compiled program prints about its own layout (`offsetof`, `sizeof`,
//! bitfield bits found at run time, enumerator values).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kstructs::{Error, TypeKind, Types};
use testdata::cc;

/// One fact printed by a C program.
#[derive(Debug)]
enum Fact {
    Member {
        ty: String,
        path: String,
        bit: u64,
        bits: u32,
    },
    Size {
        ty: String,
        size: u64,
    },
    Count {
        ty: String,
        path: String,
        count: u64,
    },
    Enum {
        name: String,
        value: i64,
    },
}

fn parse(out: &str) -> Vec<Fact> {
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            match f[0] {
                "member" => Fact::Member {
                    ty: f[1].into(),
                    path: f[2].into(),
                    bit: f[3].parse().unwrap(),
                    bits: f[4].parse().unwrap(),
                },
                "size" => Fact::Size {
                    ty: f[1..f.len() - 1].join(" "),
                    size: f[f.len() - 1].parse().unwrap(),
                },
                "count" => Fact::Count {
                    ty: f[1].into(),
                    path: f[2].into(),
                    count: f[3].parse().unwrap(),
                },
                "enum" => Fact::Enum {
                    name: f[1].into(),
                    value: f[2].parse().unwrap(),
                },
                _ => panic!("bad line {l:?}"),
            }
        })
        .collect()
}

/// The programs: name and sources (in link order).
const PROGRAMS: &[(&str, &[&str])] = &[
    ("gen4x", &["gen4x.c"]),
    ("gen61", &["dup_a.c", "gen61.c"]),
    ("netmem", &["netmem.c"]),
];

/// DWARF flavours: name and gcc flags.
const FLAVOURS: &[(&str, &[&str])] = &[
    ("dwarf2", &["-gdwarf-2", "-gstrict-dwarf"]),
    ("dwarf4", &["-gdwarf-4"]),
    ("dwarf5", &["-gdwarf-5"]),
    ("dwarf5-zlib", &["-gdwarf-5", "-gz=zlib"]),
];

fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR")).join("kstructs-synth");
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

/// Build (once per test process) `program` with `flavour`; returns the executable.
fn build(program: &str, flavour: &str) -> PathBuf {
    let exe = work_dir().join(format!("{program}-{flavour}"));
    if exe.exists() {
        return exe;
    }
    let srcs: Vec<PathBuf> = PROGRAMS
        .iter()
        .find(|p| p.0 == program)
        .unwrap()
        .1
        .iter()
        .map(|s| cc::kstructs_c_dir().join(s))
        .collect();
    let srcs: Vec<&Path> = srcs.iter().map(PathBuf::as_path).collect();
    let tmp = work_dir().join(format!(
        "{program}-{flavour}.tmp{:?}",
        std::thread::current().id()
    ));
    let tmp = PathBuf::from(tmp.to_string_lossy().replace(['(', ')'], ""));
    if flavour == "btf" {
        // DWARF 5 and, beside it, the BTF pahole makes from it (as the kernel build does).
        std::fs::copy(build(program, "dwarf5"), &tmp).unwrap();
        let st = Command::new("pahole").arg("-J").arg(&tmp).status().unwrap();
        assert!(st.success(), "pahole -J failed");
    } else if flavour == "dwarf5-zstd" {
        let plain = build(program, "dwarf5");
        let st = Command::new("objcopy")
            .arg("--compress-debug-sections=zstd")
            .arg(&plain)
            .arg(&tmp)
            .status()
            .unwrap();
        assert!(
            st.success(),
            "objcopy --compress-debug-sections=zstd failed"
        );
    } else {
        let flags = FLAVOURS.iter().find(|f| f.0 == flavour).unwrap().1;
        let mut args = vec![
            "-g",
            "-O0",
            "-fno-eliminate-unused-debug-types",
            "-Wl,--build-id",
        ];
        args.extend_from_slice(flags);
        cc::compile_executable(&srcs, &tmp, &args).unwrap();
    }
    std::fs::rename(&tmp, &exe).unwrap();
    exe
}

fn flavours() -> Vec<&'static str> {
    let mut v: Vec<&str> = FLAVOURS
        .iter()
        .map(|f| f.0)
        .filter(|f| *f != "dwarf5-zlib" || cc::gcc_supports(&["-g", "-gz=zlib"]))
        .collect();
    let probe = work_dir().join("zstd-probe");
    let ok = Command::new("objcopy")
        .arg("--compress-debug-sections=zstd")
        .arg(build("netmem", "dwarf5"))
        .arg(&probe)
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        v.push("dwarf5-zstd");
    } else {
        eprintln!("note: objcopy cannot compress with zstd here; zstd sections not tested");
    }
    // pahole is part of the test suite's tools (.ci/run installs dwarves): no BTF flavour
    // without it would be a test that checks nothing
    assert!(
        has_pahole(),
        "pahole is needed for the BTF flavour (Debian package dwarves; .ci/run installs it)"
    );
    v.push("btf");
    v
}

fn has_pahole() -> bool {
    Command::new("pahole")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn check(types: &Types, facts: &[Fact], what: &str) -> usize {
    let mut errors = Vec::new();
    for f in facts {
        match f {
            Fact::Member {
                ty,
                path,
                bit,
                bits,
            } => match types.member(ty, path) {
                Ok(m) => {
                    let ours = m.offset * 8 + m.bitfield.map_or(0, |b| u64::from(b.bit_offset));
                    let our_bits = m.bitfield.map_or(0, |b| b.bit_size);
                    if ours != *bit || our_bits != *bits {
                        errors.push(format!(
                            "{ty}.{path}: ours bit {ours} x{our_bits}, gcc {bit} x{bits}"
                        ));
                    }
                    if let Some(b) = m.bitfield {
                        assert!(b.bit_offset < 8, "{ty}.{path} bit_offset {}", b.bit_offset);
                    }
                }
                Err(e) => errors.push(format!("{ty}.{path}: {e}")),
            },
            Fact::Size { ty, size } => match types.size_of(ty) {
                Ok(s) if s == *size => {}
                r => errors.push(format!("sizeof {ty}: ours {r:?}, gcc {size}")),
            },
            Fact::Count { ty, path, count } => match types.member(ty, path).map(|m| m.ty.kind) {
                Ok(TypeKind::Array { count: c, .. }) if c == Some(*count) => {}
                // pahole flattens `int x[3][5]` into one array of 15: BTF cannot say more.
                Ok(TypeKind::Array {
                    count: Some(c),
                    elem,
                }) if types.debuginfo().types == kstructs::TypesFrom::Btf
                    && !matches!(elem.kind, TypeKind::Array { .. })
                    && c > *count
                    && c % *count == 0 => {}
                r => errors.push(format!("count {ty}.{path}: ours {r:?}, gcc {count}")),
            },
            Fact::Enum { name, value } => match types.enumerator(name) {
                Ok(v) if v == *value => {}
                r => errors.push(format!("{name}: ours {r:?}, gcc {value}")),
            },
        }
    }
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
    facts.len()
}

#[test]
fn layouts_match_the_compiler() {
    let mut n = 0;
    for flavour in flavours() {
        for (program, _) in PROGRAMS {
            let exe = build(program, flavour);
            let facts = parse(&cc::run_executable(&exe).unwrap());
            assert!(facts.len() > 10, "{program}: too few facts");
            let types = Types::open_with_cache(&exe, None).unwrap();
            n += check(&types, &facts, &format!("{program} {flavour}"));
            if flavour == "btf" {
                // BTF answered (it is preferred), and the DWARF beside it says the same to every
                // question asked.
                assert_eq!(types.debuginfo().types, kstructs::TypesFrom::Btf);
                let dwarf = Types::open_as(&exe, None, kstructs::Prefer::Dwarf).unwrap();
                let (asked, diffs) = types.compare_answers(&dwarf);
                assert!(asked > 10 && diffs.is_empty(), "{program}: {diffs:#?}");
            }
        }
    }
    assert!(n > 300, "only {n} facts checked");
}

#[test]
fn shapes_and_errors() {
    for flavour in ["dwarf4", "dwarf5"] {
        let t = Types::open_with_cache(&build("gen61", flavour), None).unwrap();
        // The first `struct sk_buff_head` / `kmem_cache` in .debug_info are declarations (dup_a.c).
        let q = t.member("dup_user", "queue").unwrap();
        match &q.ty.kind {
            TypeKind::Pointer {
                target: Some(target),
            } => {
                assert_eq!(target.kind, TypeKind::Struct);
                assert_eq!(target.size, t.size_of("struct sk_buff_head").unwrap());
                assert!(target.size > 0);
            }
            k => panic!("{k:?}"),
        }
        assert!(t.size_of("kmem_cache").unwrap() > 0);
        // Typedefs followed, names kept.
        let hf = t.member("sk_buff", "head_frag").unwrap();
        assert_eq!(hf.ty.typedef.as_deref(), Some("__u8"));
        assert_eq!(hf.ty.name.as_deref(), Some("unsigned char"));
        assert_eq!(hf.ty.kind, TypeKind::Base { signed: false });
        let sb = t.member("sk_buff", "signed_bits").unwrap();
        assert_eq!(sb.ty.kind, TypeKind::Base { signed: true });
        let frags = t.member("skb_shared_info", "frags").unwrap();
        let TypeKind::Array { elem, .. } = &frags.ty.kind else {
            panic!()
        };
        assert_eq!(elem.typedef.as_deref(), Some("skb_frag_t"));
        assert_eq!(elem.name.as_deref(), Some("bio_vec"));
        let d = t.member("sk_buff", "destructor").unwrap();
        assert!(
            matches!(&d.ty.kind, TypeKind::Pointer { target: Some(f) } if f.kind == TypeKind::Function)
        );
        assert_eq!(
            t.size_of("skb_frag_t").unwrap(),
            t.size_of("struct bio_vec").unwrap()
        );
        assert_eq!(t.size_of("union sk_buff").ok(), None);
        assert_eq!(
            t.enum_value("enum pageflags", "PG_head").unwrap(),
            t.enumerator("PG_head").unwrap()
        );
        assert_eq!(t.size_of("enum pageflags").unwrap(), 4);
        // Every enumerator, in declaration order, agreeing with the one-by-one answers.
        let all = t.enumerators("enum pageflags").unwrap();
        assert!(all.len() > 3, "{all:?}");
        assert_eq!(all[0].1, 0, "{all:?}");
        for (name, v) in &all {
            assert_eq!(t.enum_value("pageflags", name).unwrap(), *v, "{name}");
        }
        assert!(matches!(
            t.enumerators("nosuch_enum"),
            Err(Error::TypeNotFound { .. })
        ));
        // Version tolerance.
        let (i, m) = t
            .first_member("page", &["_folio_order", "compound_order"])
            .unwrap();
        assert_eq!(
            (i, m.offset),
            (1, t.member("page", "compound_order").unwrap().offset)
        );
        assert!(t.has_member("folio", "_folio_order"));
        assert!(!t.has_member("page", "_folio_order"));
        assert!(!t.has_member("nosuchtype", "x"));
        // Errors.
        match t.first_member("page", &["a", "b.c"]) {
            Err(Error::MemberNotFound { tried, .. }) => assert_eq!(tried, ["a", "b.c"]),
            r => panic!("{r:?}"),
        }
        let e = t.member("sk_buff", "nosuch").unwrap_err();
        assert!(e.to_string().contains("nosuch"), "{e}");
        assert!(matches!(
            t.member("sk_buff", "len.x"),
            Err(Error::NotAggregate { .. })
        ));
        assert!(matches!(
            t.size_of("nosuch"),
            Err(Error::TypeNotFound { .. })
        ));
        assert!(matches!(
            t.enumerator("NOSUCH"),
            Err(Error::EnumeratorNotFound { .. })
        ));
        assert!(matches!(
            t.enum_value("pageflags", "TCP_LISTEN"),
            Err(Error::EnumeratorNotFound { .. })
        ));
        // Symbols.
        let main = t.symbol("main").unwrap();
        assert_eq!(t.symbol_at(main + 3), Some(("main", 3)));
        let g = t.symbol("g_skb").unwrap();
        assert_eq!(t.symbol_at(g), Some(("g_skb", 0)));
        assert!(t.static_bytes(g, 8).is_none(), "g_skb is in .bss");
        assert!(matches!(
            t.symbol("nosuch"),
            Err(Error::SymbolNotFound { .. })
        ));
    }
    let t = Types::open_with_cache(&build("netmem", "dwarf5"), None).unwrap();
    match t.member("flex", "items").unwrap().ty.kind {
        TypeKind::Array { count: None, .. } => {}
        k => panic!("{k:?}"),
    }
    match t.member("matrix", "cells").unwrap().ty.kind {
        TypeKind::Array {
            count: Some(3),
            elem,
        } => {
            assert!(matches!(elem.kind, TypeKind::Array { count: Some(5), .. }));
            assert_eq!(elem.size, 20);
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn system_map_symbols() {
    let exe = build("gen61", "dwarf5");
    let out = Command::new("nm")
        .arg("--defined-only")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(out.status.success());
    let map = work_dir().join("System.map-gen61");
    std::fs::write(&map, &out.stdout).unwrap();
    let elf = Types::open_with_cache(&exe, None).unwrap();
    let sm = Types::open_with_cache(&exe, None)
        .unwrap()
        .with_system_map(&map)
        .unwrap();
    for s in ["main", "g_skb", "g_sock"] {
        assert_eq!(elf.symbol(s).unwrap(), sm.symbol(s).unwrap(), "{s}");
    }
    let bad = work_dir().join("System.map-bad");
    std::fs::write(&bad, "ffffffff81000000 T _text\nnot a line\n").unwrap();
    match Types::open_with_cache(&exe, None)
        .unwrap()
        .with_system_map(&bad)
    {
        Err(Error::BadSystemMap { line: 2, .. }) => {}
        r => panic!("{r:?}"),
    }
}

#[test]
fn layout_cache() {
    let exe = build("gen61", "dwarf5");
    let facts = parse(&cc::run_executable(&exe).unwrap());
    let dir = work_dir().join("cache");
    let _ = std::fs::remove_dir_all(&dir);
    let path = {
        let t = Types::open_with_cache(&exe, Some(&dir)).unwrap();
        assert!(!t.is_index_built());
        check(&t, &facts, "cold");
        assert!(!t.has_member("sk_buff", "nosuch"));
        assert!(t.size_of("nosuch").is_err());
        assert!(t.is_index_built());
        t.save_cache().unwrap();
        t.cache_path().unwrap()
    };
    assert!(path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("layouts-"));
    let t = Types::open_with_cache(&exe, Some(&dir)).unwrap();
    check(&t, &facts, "warm");
    assert!(!t.has_member("sk_buff", "nosuch"));
    assert!(matches!(
        t.size_of("nosuch"),
        Err(Error::TypeNotFound { .. })
    ));
    assert!(!t.is_index_built(), "warm run built the index");
    drop(t);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    // A "not found" answered by the cache names the cache and the file it was made from.
    let t = Types::open_with_cache(&exe, Some(&dir)).unwrap();
    let e = t.size_of("nosuch").unwrap_err().to_string();
    assert!(
        e.contains("layout cache") && e.contains(&*path.to_string_lossy()),
        "{e}"
    );
    drop(t);

    // A corrupt cache is ignored and rewritten by the next save; dropping never writes.
    let mut data = std::fs::read(&path).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x10;
    std::fs::write(&path, &data).unwrap();
    {
        let t = Types::open_with_cache(&exe, Some(&dir)).unwrap();
        check(&t, &facts, "after corruption");
        assert!(t.is_index_built());
    }
    assert_eq!(std::fs::read(&path).unwrap(), data, "drop wrote the cache");
    {
        let t = Types::open_with_cache(&exe, Some(&dir)).unwrap();
        check(&t, &facts, "after corruption");
        t.save_cache().unwrap();
    }
    let t = Types::open_with_cache(&exe, Some(&dir)).unwrap();
    check(&t, &facts, "rewritten");
    assert!(!t.is_index_built());
    drop(t);

    // A cache that is not a regular file (here /dev/zero, which would read for ever) is
    // ignored, not read.
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    let t = Types::open_with_cache(&exe, Some(&dir)).unwrap();
    check(&t, &facts, "cache is /dev/zero");
    assert!(t.is_index_built());
    drop(t);
    std::fs::remove_file(&path).unwrap();
}

/// Copy of `exe` with `section`'s bytes replaced by pseudo-random garbage (the build-id note
/// is untouched, so the copy claims to be the same build).
fn with_garbage_section(exe: &Path, section: &str, out: &str) -> PathBuf {
    let mut d = std::fs::read(exe).unwrap();
    let r = object_range(exe, section);
    let mut s = 0x1234_5678_9abc_def1u64;
    for b in &mut d[r] {
        *b = xorshift(&mut s);
    }
    let p = work_dir().join(out);
    std::fs::write(&p, &d).unwrap();
    p
}

#[test]
fn a_bad_vmlinux_never_poisons_the_cache() {
    let exe = build("gen61", "dwarf5");
    let facts = parse(&cc::run_executable(&exe).unwrap());
    let dir = work_dir().join("cache-poison");
    let _ = std::fs::remove_dir_all(&dir);
    let files = || std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);

    // Right build-id, broken .debug_str: its failures are errors and are never saved.
    let bad = with_garbage_section(&exe, ".debug_str", "gen61-bad-str");
    {
        let t = Types::open_with_cache(&bad, Some(&dir)).unwrap();
        let errs = ask_everything(&t);
        assert!(errs > 0, "garbage .debug_str answered everything");
        t.save_cache().unwrap();
    }
    // The good file afterwards is answered from its own DWARF, correctly.
    let t = Types::open_with_cache(&exe, Some(&dir)).unwrap();
    check(&t, &facts, "good after bad");
    t.save_cache().unwrap();
    drop(t);
    let n = files();

    // With a warm cache for the good file, a vmlinux with the same build-id but random DWARF
    // is not served the good file's answers: it is read, and fails.
    let random = with_garbage_section(&exe, ".debug_info", "gen61-random-info");
    let t = Types::open_with_cache(&random, Some(&dir)).unwrap();
    assert!(
        matches!(t.size_of("sk_buff"), Err(Error::MalformedDwarf { .. })),
        "random DWARF accepted with a warm cache"
    );
    t.save_cache().unwrap();
    drop(t);
    assert_eq!(files(), n, "a failed open wrote a cache file");
}

fn xorshift(seed: &mut u64) -> u8 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    (*seed >> 24) as u8
}

fn ask_everything(t: &Types) -> usize {
    let mut errs = 0;
    for (ty, p) in [
        ("sk_buff", "head_frag"),
        ("sock", "__sk_common.skc_family"),
        ("page", "compound_head"),
    ] {
        errs += usize::from(t.member(ty, p).is_err());
    }
    errs += usize::from(t.size_of("skb_shared_info").is_err());
    errs += usize::from(t.enumerator("PG_head").is_err());
    errs += usize::from(t.enum_value("pageflags", "PG_head").is_err());
    errs
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let exe = build("gen61", "dwarf5");
    let dir = work_dir();
    // Stripped.
    let stripped = dir.join("gen61-stripped");
    let st = Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(&exe)
        .status()
        .unwrap();
    assert!(st.success());
    let e = Types::open_with_cache(&stripped, None).unwrap_err();
    assert!(matches!(e, Error::NoDebugInfo { .. }), "{e:?}");
    assert!(e.to_string().contains("-dbg"), "{e}");
    // Not ELF, missing.
    let text = dir.join("not-elf");
    std::fs::write(&text, b"this is not an ELF file at all").unwrap();
    assert!(matches!(
        Types::open_with_cache(&text, None),
        Err(Error::NotElf { .. })
    ));
    assert!(matches!(
        Types::open_with_cache(&dir.join("missing"), None),
        Err(Error::Io { .. })
    ));
    // Truncated at many lengths.
    let data = std::fs::read(&exe).unwrap();
    let cut = dir.join("truncated");
    for len in (0..data.len()).step_by(data.len() / 97 + 1) {
        std::fs::write(&cut, &data[..len]).unwrap();
        if let Ok(t) = Types::open_with_cache(&cut, None) {
            ask_everything(&t);
        }
    }
    // Garbage in .debug_info, whole or after the unit header.
    let obj = object_range(&exe, ".debug_info");
    let garbage = dir.join("garbage");
    let mut malformed = 0;
    for seed in 1..40u64 {
        let mut d = data.clone();
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let start = if seed & 1 == 0 {
            obj.start
        } else {
            obj.start + 12
        };
        for b in &mut d[start..obj.end] {
            *b = xorshift(&mut s);
        }
        std::fs::write(&garbage, &d).unwrap();
        let t = Types::open_with_cache(&garbage, None).unwrap();
        if matches!(t.size_of("sk_buff"), Err(Error::MalformedDwarf { .. })) {
            malformed += 1;
        }
        ask_everything(&t);
    }
    assert!(
        malformed > 10,
        "garbage DWARF gave MalformedDwarf only {malformed} times"
    );
}

/// File range of a section, read with `readelf` (independent of the crate under test).
fn object_range(exe: &Path, name: &str) -> std::ops::Range<usize> {
    let out = Command::new("readelf")
        .args(["-S", "-W"])
        .arg(exe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let l = line.split(']').nth(1).unwrap_or("");
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.first() == Some(&name) {
            let off = usize::from_str_radix(f[3], 16).unwrap();
            let size = usize::from_str_radix(f[4], 16).unwrap();
            return off..off + size;
        }
    }
    panic!("no {name} in {}", exe.display());
}
