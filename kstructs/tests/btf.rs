//! The BTF reader on blobs written by `testdata::btf_writer` (every kind, both bitfield
//! encodings, damaged blobs) and on this machine's own kernel BTF (`/sys/kernel/btf/vmlinux`).

use kstructs::{Error, SymbolTable, TypeKind, Types};
use testdata::btf_writer::{kind, BtfWriter};

fn types(blob: Vec<u8>) -> Result<Types, Error> {
    Types::from_btf(
        blob,
        SymbolTable::from_triples([], "no symbols"),
        "test blob",
    )
}

/// A small kernel-shaped blob with every kind in it.
fn every_kind() -> Vec<u8> {
    let mut w = BtfWriter::new();
    let u32t = w.int("unsigned int", 4, false); // 1
    let u8t = w.int("unsigned char", 1, false); // 2
    let int = w.int("int", 4, true); // 3
    let flags3 = w.int_bits("unsigned char", 1, false, 0, 3); // 4: an old-style bitfield type
    let fwd = w.fwd("sk_buff", false); // 5: a declaration, completed below
    let pfwd = w.ptr(fwd); // 6
    let cst = w.modifier(kind::CONST, "", u32t); // 7
    let vol = w.modifier(kind::VOLATILE, "", cst); // 8
    let tag = w.modifier(kind::TYPE_TAG, "rcu", vol); // 9
    let td = w.typedef("refcount_t", tag); // 10
    let arr = w.array(u32t, int, 17); // 11
    let flex = w.array(u8t, int, 0); // 12
                                     // 13: struct skb_frag with old-style (no kind_flag) bitfields.
    let frag = w.structure(
        "skb_frag",
        8,
        false,
        &[
            ("page", u32t, 0, 0),
            ("flags", flags3, 37, 0),
            ("len", u8t, 48, 0),
        ],
    );
    // 14: anonymous union inside sk_buff: {next, prev} / rbnode
    let anon_s = w.structure(
        "",
        16,
        false,
        &[("next", pfwd, 0, 0), ("prev", pfwd, 64, 0)],
    );
    let anon_u = w.union("", 16, false, &[("", anon_s, 0, 0), ("rbnode", arr, 0, 0)]); // 15
                                                                                       // 16: sk_buff with kind_flag bitfields.
    let skb = w.structure(
        "sk_buff",
        256,
        true,
        &[
            ("", anon_u, 0, 0),
            ("users", td, 128, 0),
            ("head_frag", u8t, 1027, 1),
            ("pfmemalloc", u8t, 1028, 1),
            ("frags", arr, 1056, 0),
            ("frag", frag, 1600, 0),
            ("data", flex, 2048, 0),
        ],
    );
    let e = w.enumeration(
        "pageflags",
        4,
        false,
        &[("PG_locked", 0), ("PG_head", 16), ("PG_big", -2)],
    ); // 17
    let e64 = w.enum64("big", false, &[("BIG_ONE", 1 << 40), ("BIG_NEG", -1)]); // 18
    let se = w.enumeration("", 4, true, &[("SS_FREE", 0), ("SS_MINUS", -5)]); // 19
    let f = w.float("double", 8); // 20
    let proto = w.func_proto(int, &[("skb", pfwd)]); // 21
    let func = w.func("kfree_skb", proto); // 22
    let fp = w.ptr(proto); // 23
    let ops = w.structure(
        "proto_ops",
        16,
        false,
        &[("release", fp, 0, 0), ("weight", f, 64, 0)],
    ); // 24
    let v = w.var("runqueues", ops); // 25
    w.datasec(".data..percpu", 16, &[(v, 0, 16)]); // 26
    w.decl_tag("noinline", func, -1); // 27
    let _ = (skb, e, e64, se);
    w.finish()
}

#[test]
fn every_kind_answers() {
    let t = types(every_kind()).unwrap();
    assert_eq!(t.debuginfo().types, kstructs::TypesFrom::Btf);
    // Anonymous struct inside an anonymous union: seen through.
    let next = t.member("sk_buff", "next").unwrap();
    assert_eq!(next.offset, 0);
    let TypeKind::Pointer {
        target: Some(target),
    } = &next.ty.kind
    else {
        panic!("{next:?}")
    };
    // The declaration is swapped for the complete sk_buff.
    assert_eq!((target.kind.clone(), target.size), (TypeKind::Struct, 256));
    assert_eq!(t.member("sk_buff", "prev").unwrap().offset, 8);
    assert_eq!(t.member("struct sk_buff", "rbnode").unwrap().offset, 0);
    // Typedef, type tag, volatile and const followed; the typedef name kept.
    let users = t.member("sk_buff", "users").unwrap();
    assert_eq!(users.offset, 16);
    assert_eq!(users.ty.typedef.as_deref(), Some("refcount_t"));
    assert_eq!(users.ty.kind, TypeKind::Base { signed: false });
    // kind_flag bitfields.
    let hf = t.member("sk_buff", "head_frag").unwrap();
    assert_eq!(
        (
            hf.offset,
            hf.bitfield.unwrap().bit_offset,
            hf.bitfield.unwrap().bit_size
        ),
        (128, 3, 1)
    );
    assert_eq!(
        t.member("sk_buff", "pfmemalloc")
            .unwrap()
            .bitfield
            .unwrap()
            .bit_offset,
        4
    );
    // Old-style bitfield: the INT's width says it (37 = byte 4, bit 5).
    let fl = t.member("sk_buff", "frag.flags").unwrap();
    assert_eq!(
        (
            fl.offset,
            fl.bitfield.unwrap().bit_offset,
            fl.bitfield.unwrap().bit_size
        ),
        (200 + 4, 5, 3)
    );
    assert!(t.member("skb_frag", "len").unwrap().bitfield.is_none());
    // Arrays: counted and flexible.
    let frags = t.member("sk_buff", "frags").unwrap();
    assert_eq!(frags.ty.size, 68);
    assert!(matches!(
        frags.ty.kind,
        TypeKind::Array {
            count: Some(17),
            ..
        }
    ));
    assert!(matches!(
        t.member("sk_buff", "data").unwrap().ty.kind,
        TypeKind::Array { count: None, .. }
    ));
    // Function pointers and floats.
    let rel = t.member("proto_ops", "release").unwrap();
    assert!(
        matches!(rel.ty.kind, TypeKind::Pointer { target: Some(ref f) } if f.kind == TypeKind::Function)
    );
    assert_eq!(
        t.member("proto_ops", "weight").unwrap().ty.kind,
        TypeKind::Base { signed: true }
    );
    // Sizes by every spelling.
    assert_eq!(t.size_of("sk_buff").unwrap(), 256);
    assert_eq!(t.size_of("refcount_t").unwrap(), 4);
    assert_eq!(t.size_of("enum pageflags").unwrap(), 4);
    assert_eq!(t.size_of("double").unwrap(), 8);
    // Enumerators: unsigned (no kind_flag), signed, 64-bit.
    assert_eq!(t.enumerator("PG_head").unwrap(), 16);
    assert_eq!(t.enumerator("PG_big").unwrap(), 0xffff_fffe);
    assert_eq!(t.enumerator("SS_MINUS").unwrap(), -5);
    assert_eq!(t.enumerator("BIG_ONE").unwrap(), 1 << 40);
    assert_eq!(t.enumerator("BIG_NEG").unwrap(), -1);
    assert_eq!(t.enum_value("pageflags", "PG_head").unwrap(), 16);
    assert_eq!(t.enumerators("enum big").unwrap().len(), 2);
    // Not found is not an error of the blob.
    assert!(matches!(
        t.member("sk_buff", "nope"),
        Err(Error::MemberNotFound { .. })
    ));
    assert!(matches!(
        t.size_of("runqueues"),
        Err(Error::TypeNotFound { .. })
    ));
    assert!(matches!(
        t.member("sk_buff", "users.x"),
        Err(Error::NotAggregate { .. })
    ));
    assert!(matches!(
        t.enumerator("PG_nope"),
        Err(Error::EnumeratorNotFound { .. })
    ));
}

/// Each damaged blob is `MalformedBtf` naming the reason: never a panic.
#[test]
fn damaged_blobs_are_typed_errors() {
    let good = every_kind();
    let header_word = |b: &mut Vec<u8>, i: usize, v: u32| {
        b[4 + 4 * i..8 + 4 * i].copy_from_slice(&v.to_le_bytes())
    };
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    let mut b = good.clone();
    b[0] = 0x00;
    cases.push(("bad magic", b, "magic"));
    let mut b = good.clone();
    b.swap(0, 1);
    cases.push(("big-endian", b, "big-endian"));
    let mut b = good.clone();
    b[2] = 2;
    cases.push(("version", b, "version"));
    cases.push(("truncated header", good[..20].to_vec(), "header"));
    let mut b = good.clone();
    header_word(&mut b, 0, 1 << 30);
    cases.push(("header length", b, "header length"));
    let mut b = good.clone();
    header_word(&mut b, 2, 1 << 30);
    cases.push(("type section past end", b, "type section"));
    let mut b = good.clone();
    header_word(&mut b, 4, 1 << 30);
    cases.push(("string section past end", b, "string section"));
    let cut = good.len() - 100;
    let mut b = good[..cut].to_vec();
    header_word(&mut b, 3, 0);
    header_word(&mut b, 4, 0);
    header_word(&mut b, 2, (cut - 24) as u32);
    cases.push(("truncated record", b, "past the end"));
    // An unknown kind.
    let mut w = BtfWriter::new();
    w.head("x", 31, 0, false, 0);
    cases.push(("unknown kind", w.finish(), "unknown kind"));
    // A member whose type id is out of range.
    let mut w = BtfWriter::new();
    w.structure("s", 4, false, &[("a", 999, 0, 0)]);
    let out_of_range = w.finish();
    // A typedef loop.
    let mut w = BtfWriter::new();
    w.typedef("a", 2);
    w.typedef("b", 1);
    w.structure("s", 4, false, &[("m", 1, 0, 0)]);
    let typedef_loop = w.finish();
    // An anonymous member that is its own struct.
    let mut w = BtfWriter::new();
    w.structure("s", 4, false, &[("", 1, 0, 0)]);
    let member_loop = w.finish();
    // A name past the string section.
    let mut w = BtfWriter::new();
    w.int("int", 4, true);
    let mut bad_name = w.finish();
    bad_name[24..28].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    for (what, blob, want) in cases.iter().map(|(a, b, c)| (*a, b.clone(), *c)).chain([(
        "bad name offset",
        bad_name,
        "name offset",
    )]) {
        match types(blob) {
            Err(Error::MalformedBtf { reason, blob, .. }) => {
                assert!(reason.contains(want), "{what}: {reason}");
                assert_eq!(blob, "test blob");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // These parse; the question that meets the damage fails, naming the type id.
    for (what, blob, q) in [
        ("out of range", out_of_range, "a"),
        ("typedef loop", typedef_loop, "m"),
        ("member loop", member_loop, "zzz"),
    ] {
        let t = types(blob).unwrap();
        match t.member("s", q) {
            Err(Error::MalformedBtf {
                type_id: Some(_),
                reason,
                ..
            }) => {
                assert!(!reason.is_empty(), "{what}")
            }
            other => panic!("{what}: {other:?}"),
        }
    }
}

/// Random damage anywhere in a blob: an answer or a typed error, never a panic.
#[test]
fn random_damage_never_panics() {
    let good = every_kind();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..2000 {
        let mut b = good.clone();
        for _ in 0..1 + round % 8 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % b.len();
            b[at] = (seed >> 32) as u8;
        }
        if let Ok(t) = types(b) {
            let _ = t.member("sk_buff", "frag.flags");
            let _ = t.member("sk_buff", "next");
            let _ = t.size_of("sk_buff");
            let _ = t.enumerators("pageflags");
            let _ = t.enumerator("BIG_NEG");
        }
    }
}

/// The running kernel's BTF (6.18 here): the walk's core members resolve with sane layouts.
#[test]
#[ignore = "needs this machine's /sys/kernel/btf/vmlinux; ./test.sh runs it where the file is"]
fn this_machines_kernel_btf() {
    let blob = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let t = Types::from_btf(
        blob,
        SymbolTable::from_triples([], "none"),
        "/sys/kernel/btf/vmlinux",
    )
    .unwrap();
    assert_eq!(t.size_of("list_head").unwrap(), 16);
    assert_eq!(t.member("list_head", "prev").unwrap().offset, 8);
    let skb = t.size_of("sk_buff").unwrap();
    assert!((192..=512).contains(&skb), "sizeof(sk_buff) {skb}");
    let hf = t.member("sk_buff", "head_frag").unwrap();
    assert_eq!(hf.bitfield.map(|b| b.bit_size), Some(1));
    assert!(hf.offset < skb);
    // Seen through anonymous unions and structs.
    assert_eq!(t.member("sk_buff", "next").unwrap().offset, 0);
    let (_, ch) = t
        .first_member("page", &["compound_head", "compound_info"])
        .unwrap();
    assert!(ch.offset < 64);
    assert!(t.member("sock", "__sk_common.skc_family").is_ok());
    let frags = t.member("skb_shared_info", "frags").unwrap();
    assert!(matches!(frags.ty.kind, TypeKind::Array { count: Some(n), .. } if n >= 17));
    assert_eq!(t.enumerator("TCP_ESTABLISHED").unwrap(), 1);
    assert!(t.enumerators("pagetype").is_ok() || t.enumerators("pageflags").is_ok());
}

/// Character signedness: kept where the blob records it; where it was dropped (Debian's 5.10
/// BTF has `char`, `signed char` and `unsigned char` all without encoding bits) `signed char`
/// and `char` are signed, as on x86-64 before 6.2.
#[test]
fn character_signedness() {
    let field = |w: &mut BtfWriter, ids: [u32; 3]| {
        w.structure(
            "s",
            3,
            false,
            &[
                ("c", ids[0], 0, 0),
                ("sc", ids[1], 8, 0),
                ("uc", ids[2], 16, 0),
            ],
        );
    };
    let signed =
        |t: &Types, m: &str| t.member("s", m).unwrap().ty.kind == TypeKind::Base { signed: true };
    // 6.2+ (and pahole ≥ 1.21): `char` unsigned (-funsigned-char), `signed char` marked signed.
    let mut w = BtfWriter::new();
    let ids = [
        w.int("char", 1, false),
        w.int("signed char", 1, true),
        w.int("unsigned char", 1, false),
    ];
    field(&mut w, ids);
    let t = types(w.finish()).unwrap();
    assert!(!signed(&t, "c") && signed(&t, "sc") && !signed(&t, "uc"));
    // Old pahole: no bits on any of them.
    let mut w = BtfWriter::new();
    let ids = [
        w.int("char", 1, false),
        w.int("signed char", 1, false),
        w.int("unsigned char", 1, false),
    ];
    field(&mut w, ids);
    let t = types(w.finish()).unwrap();
    assert!(signed(&t, "c") && signed(&t, "sc") && !signed(&t, "uc"));
}

/// A module's BTF split on the kernel's: its types answer once added, refer to the kernel's by
/// id, never shadow them; a damaged one is a typed error and is not added.
#[test]
fn module_btf_is_split_on_the_kernels() {
    let mut base = BtfWriter::new();
    let int = base.int("int", 4, true);
    let long = base.int("long unsigned int", 8, false);
    let dev = base.structure(
        "device",
        16,
        false,
        &[("parent", long, 0, 0), ("id", int, 64, 0)],
    );
    let mut m = BtfWriter::split_on(&base);
    let pdev = m.ptr(dev);
    let fdev = m.fwd("device", false);
    let pfwd = m.ptr(fdev);
    let arr = m.array(long, int, 4);
    let state = m.enumeration(
        "vq_layout",
        4,
        false,
        &[("VQ_LAYOUT_SPLIT", 0), ("VQ_LAYOUT_PACKED", 1)],
    );
    let vvq = m.structure(
        "vring_virtqueue",
        64,
        false,
        &[
            ("dev", pdev, 0, 0),
            ("owner", pfwd, 64, 0),
            ("num", int, 128, 0),
            ("layout", state, 160, 0),
            ("desc", arr, 192, 0),
        ],
    );
    // The module's own copy of a kernel type does not shadow the kernel's.
    m.structure("device", 8, false, &[("other", int, 0, 0)]);
    assert_eq!(vvq, dev + 6, "ids continue the base's");
    let t = types(base.finish()).unwrap();
    assert!(matches!(
        t.size_of("vring_virtqueue"),
        Err(Error::TypeNotFound { .. })
    ));

    let mut bad = m.finish();
    bad[0] = 0;
    match t.add_module_btf("broken", bad) {
        Err(Error::MalformedBtf { blob, .. }) => assert!(blob.contains("broken"), "{blob}"),
        other => panic!("a damaged module blob: {other:?}"),
    }
    assert!(t.modules().is_empty());

    t.add_module_btf("virtio_ring", m.finish()).unwrap();
    assert_eq!(t.modules(), ["virtio_ring"]);
    assert_eq!(t.size_of("vring_virtqueue").unwrap(), 64);
    assert_eq!(t.member("vring_virtqueue", "num").unwrap().offset, 16);
    assert_eq!(t.member("vring_virtqueue", "desc").unwrap().ty.size, 32);
    // A member whose type is the kernel's, by id or through a declaration, is the kernel's.
    let dev_ty = t.member("vring_virtqueue", "dev").unwrap().ty;
    let TypeKind::Pointer { target: Some(to) } = dev_ty.kind else {
        panic!("dev: {dev_ty:?}")
    };
    assert_eq!((to.name.as_deref(), to.size), (Some("device"), 16));
    assert_eq!(t.size_of("device").unwrap(), 16, "the kernel's device");
    assert_eq!(t.enum_value("vq_layout", "VQ_LAYOUT_PACKED").unwrap(), 1);
    assert_eq!(t.enumerator("VQ_LAYOUT_PACKED").unwrap(), 1);
    assert!(matches!(
        t.member("vring_virtqueue", "nothing"),
        Err(Error::MemberNotFound { .. })
    ));
}
