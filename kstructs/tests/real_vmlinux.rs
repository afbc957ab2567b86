//! The real kernel (`SKBWALK_VMLINUX`; ignored outside the real-dump tier, which runs them): shapes, sizes and enumerators the walk relies
//! on, checked against `pahole`'s view of the same file; symbols against the `System.map` beside
//! it. (Every member the walk reads is checked by skbwalk's real-dump tests, from the walk.)

mod support;

use std::path::{Path, PathBuf};

use kstructs::Types;
use support::walk;
use testdata::pahole::Pahole;

fn vmlinux() -> PathBuf {
    testdata::real_tier::vmlinux()
}

fn system_map(vmlinux: &Path) -> Option<PathBuf> {
    testdata::real_tier::system_map(vmlinux)
}

#[test]
#[ignore = "needs the real-dump tier (SKBWALK_VMLINUX; ./test.sh runs it)"]
fn types_and_symbols_match_pahole_and_system_map() {
    let v = vmlinux();
    let types = Types::open_with_cache(&v, None).expect("open vmlinux");
    assert!(types.build_id().is_some_and(|b| b.len() >= 16));
    // Every member the walk reads is checked against pahole by skbwalk's real-dump test
    // (every_member_the_walk_reads_matches_pahole), from the walk's own questions.
    let mut pahole = Pahole::new(&v);

    // Shapes the walk relies on.
    let frags = types.member("skb_shared_info", "frags").unwrap();
    match &frags.ty.kind {
        kstructs::TypeKind::Array { elem, count } => {
            // 4.19 skb_frag_struct, 5.4-6.3 bio_vec, 6.4+ skb_frag (netmem from 6.12)
            assert!(
                matches!(
                    elem.name.as_deref(),
                    Some("bio_vec" | "skb_frag" | "skb_frag_struct")
                ),
                "frag type {:?}",
                elem.name
            );
            assert_eq!(*count, Some(17), "MAX_SKB_FRAGS");
            assert_eq!(frags.ty.size, 17 * elem.size);
            assert_eq!(types.size_of("skb_frag_t").unwrap(), elem.size);
        }
        k => panic!("frags is {k:?}"),
    }
    for bf in ["head_frag", "cloned", "fclone"] {
        assert!(
            types.member("sk_buff", bf).unwrap().bitfield.is_some(),
            "{bf}"
        );
    }

    // Sizes.
    pahole.load(walk::SIZES);
    for s in ["sk_buff", "skb_shared_info", "page"] {
        assert_eq!(
            Some(types.size_of(s).unwrap()),
            pahole.types[s].size,
            "sizeof {s}"
        );
    }

    // Enumerators: the named enum against pahole, the anonymous ones for their shape.
    pahole.load(&["pageflags"]);
    let pg_head = pahole.types["pageflags"].enumerators["PG_head"];
    assert_eq!(types.enumerator("PG_head").unwrap(), pg_head);
    assert_eq!(types.enum_value("pageflags", "PG_head").unwrap(), pg_head);
    let vals: Vec<i64> = walk::ENUMERATORS
        .iter()
        .map(|e| types.enumerator(e).unwrap())
        .collect();
    let tcp = &vals[1..13];
    assert!(
        tcp.windows(2).all(|w| w[1] == w[0] + 1),
        "TCP states {tcp:?}"
    );
    let ss = &vals[13..];
    assert_eq!(ss, &[0, 1, 2, 3, 4], "SS_*: SS_FREE = 0 and consecutive");

    // Symbols, against System.map when it is beside the vmlinux (x86-64's own two besides).
    let mut head = [0u8; 20];
    std::io::Read::read_exact(&mut std::fs::File::open(&v).unwrap(), &mut head).unwrap();
    let x86 = u16::from_le_bytes([head[18], head[19]]) == 62; // EM_X86_64
    let symbols: Vec<&str> = walk::SYMBOLS
        .iter()
        .chain(if x86 { walk::X86_64_SYMBOLS } else { &[] })
        .copied()
        .collect();
    for s in &symbols {
        types.symbol(s).unwrap();
    }
    // every Debian -dbg package of the tier ships its System.map
    let map = system_map(&v).expect("the -dbg package's System.map beside the vmlinux");
    let from_map = Types::open_with_cache(&v, None)
        .unwrap()
        .with_system_map(&map)
        .unwrap();
    for s in &symbols {
        assert_eq!(types.symbol(s).unwrap(), from_map.symbol(s).unwrap(), "{s}");
    }
    let ops = types.symbol("socket_file_ops").unwrap();
    assert_eq!(types.symbol_at(ops + 8), Some(("socket_file_ops", 8)));
    let banner = types.symbol("linux_banner").unwrap();
    let bytes = types.static_bytes(banner, 14).expect("linux_banner bytes");
    assert_eq!(bytes, b"Linux version ");
    let uts = types.symbol("init_uts_ns").unwrap();
    let name_off = types
        .member("uts_namespace", "name.release")
        .unwrap()
        .offset;
    let release = types
        .static_bytes(uts + name_off, 65)
        .expect("init_uts_ns bytes");
    let release = String::from_utf8_lossy(release.split(|&b| b == 0).next().unwrap());
    assert!(
        v.to_string_lossy().ends_with(&*release),
        "release {release} vs {}",
        v.display()
    );
}

#[test]
#[ignore = "needs the real-dump tier (SKBWALK_VMLINUX; ./test.sh runs it)"]
fn warm_cache_answers_without_index() {
    let v = vmlinux();
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kstructs-real-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cold: Vec<_> = {
        let t = Types::open_with_cache(&v, Some(&dir)).unwrap();
        let r = walk::MEMBERS
            .iter()
            .map(|(ty, p)| t.member(ty, p).ok())
            .collect();
        assert!(t.is_index_built());
        t.save_cache().unwrap();
        r
    };
    let t = Types::open_with_cache(&v, Some(&dir)).unwrap();
    let warm: Vec<_> = walk::MEMBERS
        .iter()
        .map(|(ty, p)| t.member(ty, p).ok())
        .collect();
    assert_eq!(cold, warm);
    assert!(!t.is_index_built(), "the warm run read the DWARF");
    let _ = std::fs::remove_dir_all(&dir);
}
