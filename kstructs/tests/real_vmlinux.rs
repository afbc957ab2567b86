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

/// Where the virtio core is a module (Debian 5.10, 6.1), its types come from the `virtio_ring.ko`
/// debug file the tier keeps beside the vmlinux: each member the NIC-ring walk reads is at the
/// offset pahole gives of the same file (read unrelocated, every name would be the first
/// string and no type would be found). Where it is built in, vmlinux has them.
#[test]
#[ignore = "needs the real-dump tier (SKBWALK_VMLINUX; ./test.sh runs it)"]
fn module_debuginfo_matches_pahole() {
    let v = vmlinux();
    let types = Types::open_with_cache(&v, None).expect("open vmlinux");
    let debug = v
        .ancestors()
        .find(|a| a.ends_with("usr/lib/debug"))
        .expect("the vmlinux of a -dbg package");
    let ko = std::fs::read_dir(debug.join("lib/modules"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|release| release.path().join("kernel/drivers/virtio/virtio_ring.ko"))
        .find(|p| p.is_file());
    let Some(ko) = ko else {
        assert!(
            types.size_of("vring_virtqueue").is_ok(),
            "no virtio_ring.ko: the virtio core is built in, and vmlinux has its types"
        );
        return;
    };
    assert!(types.size_of("vring_virtqueue").is_err(), "a module's type");
    types.add_module_debuginfo("virtio_ring", &ko).unwrap();
    assert_eq!(types.modules(), ["virtio_ring"]);
    let mut pahole = Pahole::new(&ko);
    for (ty, path) in [
        ("vring_virtqueue", "vq"),
        ("vring_virtqueue", "split.vring.num"),
        ("vring_virtqueue", "split.vring.desc"),
        ("vring_virtqueue", "split.desc_state"),
        ("vring_virtqueue", "split.queue_size_in_bytes"),
        ("vring_virtqueue", "use_dma_api"),
        ("virtqueue", "list"),
        ("virtqueue", "name"),
        ("virtio_device", "dev"),
        ("virtio_device", "vqs"),
    ] {
        let m = types.member(ty, path).unwrap();
        let bits = m.offset * 8 + m.bitfield.map_or(0, |b| u64::from(b.bit_offset));
        assert_eq!(Some(bits), pahole.offset(ty, path), "{ty}.{path}");
    }
    pahole.load(&["vring_virtqueue", "vring_desc_state_split"]);
    for t in ["vring_virtqueue", "vring_desc_state_split"] {
        assert_eq!(
            Some(types.size_of(t).unwrap()),
            pahole.types[t].size,
            "sizeof {t}"
        );
    }
}
