//! Write the seed corpora of every target to `DIR/<target>/`: small synthetic dumps of every
//! kind and version, pages in every compression, VMCOREINFO, notes, the synthetic vmlinux and
//! its layout cache, and — when the real-dump tier has run — the first 64 KiB of each real dump
//! (headers, notes, bitmaps) and its VMCOREINFO.
//!
//! `seeds DIR [REAL_DUMPS_DIR...]`
use std::path::{Path, PathBuf};

use testdata::elf_writer::{note, write_elf, ElfOptions};
use testdata::kdump_writer::{write_kdump_with_layout, Compression, KdumpOptions};
use testdata::phys::PhysImage;

fn put(dir: &Path, target: &str, name: &str, data: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("seed dir");
    std::fs::write(d.join(name), data).expect("seed");
}

const VMCOREINFO: &str = "OSRELEASE=6.1.0-seed\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff8260a000\nNUMBER(phys_base)=0\nKERNELOFFSET=0\nNUMBER(pgtable_l5_enabled)=0\nSIZE(page)=64\nOFFSET(page.flags)=0\nBUILD-ID=0123456789abcdef\n";

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: seeds DIR [REAL_DUMPS_DIR...]"));
    let mut img = PhysImage::new(vec![(0, 0x9f000), (0x100000, 0x140000)]);
    for pfn in [0u64, 1, 5, 0x100, 0x120] {
        img.write(
            pfn * 4096,
            format!("seed page {pfn:#x} ").repeat(40).as_bytes(),
        );
    }
    let notes = [
        note("CORE", 1, &[0u8; 336]),
        note("VMCOREINFO", 0, VMCOREINFO.as_bytes()),
    ]
    .concat();
    put(&dir, "notes", "core-vmcoreinfo", &notes);
    put(&dir, "vmcoreinfo", "synthetic", VMCOREINFO.as_bytes());
    for sparse in [false, true] {
        let elf = write_elf(
            &img,
            &ElfOptions {
                notes: notes.clone(),
                sparse,
                filtered: false,
                phdrs_late: sparse,
            },
        );
        put(&dir, "dump", &format!("elf-sparse{sparse}"), &elf);
    }
    for c in Compression::ALL {
        for version in [1, 4, 6] {
            for flattened in [false, true] {
                let opts = KdumpOptions {
                    compression: c,
                    header_version: version,
                    flattened,
                    vmcoreinfo: Some(VMCOREINFO.as_bytes().to_vec()),
                    notes: Some(notes.clone()),
                    ..KdumpOptions::default()
                };
                let bytes = testdata::kdump_writer::write_kdump(&img, &opts);
                put(
                    &dir,
                    "dump",
                    &format!("kdump-{c:?}-v{version}-flat{flattened}"),
                    &bytes,
                );
            }
        }
        // One stored page, for the decompressor: method byte then the page data.
        let (plain, layout) = write_kdump_with_layout(
            &img,
            &KdumpOptions {
                compression: c,
                ..KdumpOptions::default()
            },
        );
        let d = layout.descs as usize + 24; // pfn 1's descriptor (pfn 0 is the zero page's)
        let off = u64::from_le_bytes(plain[d..d + 8].try_into().unwrap()) as usize;
        let size = u32::from_le_bytes(plain[d + 8..d + 12].try_into().unwrap()) as usize;
        let method = match c {
            Compression::None => 4u8,
            Compression::Zlib => 0,
            Compression::Lzo => 1,
            Compression::Snappy => 2,
            Compression::Zstd => 3,
        };
        if let Some(data) = plain.get(off..off + size) {
            put(
                &dir,
                "decompress",
                &format!("{c:?}"),
                &[&[method][..], data].concat(),
            );
        }
    }
    // The synthetic vmlinux and its cache.
    let m = skbwalk_fuzz::machine();
    put(
        &dir,
        "dwarf",
        "synthetic-vmlinux",
        &std::fs::read(&m.vmlinux).unwrap(),
    );
    let cdir = skbwalk_fuzz::work_dir().join("seed-cache");
    let _ = std::fs::remove_dir_all(&cdir);
    let t = kstructs::Types::open_with_cache(&m.vmlinux, Some(&cdir)).unwrap();
    skbwalk_fuzz::ask_everything(&t);
    t.save_cache().unwrap();
    put(
        &dir,
        "cache",
        "synthetic",
        &std::fs::read(t.cache_path().unwrap()).unwrap(),
    );
    // BTF: the synthetic vmlinux's, made by pahole (when installed), and a written blob.
    let btf_copy = skbwalk_fuzz::work_dir().join("seed-vmlinux-btf");
    std::fs::copy(&m.vmlinux, &btf_copy).unwrap();
    let pahole = std::process::Command::new("pahole")
        .arg("-J")
        .arg(&btf_copy)
        .status()
        .is_ok_and(|s| s.success());
    if pahole {
        let data = std::fs::read(&btf_copy).unwrap();
        let obj = object::File::parse(&*data).unwrap();
        use object::{Object, ObjectSection};
        if let Some(s) = obj.section_by_name(".BTF") {
            put(&dir, "btf", "synthetic-pahole", s.data().unwrap());
        }
    }
    let mut w = testdata::btf_writer::BtfWriter::new();
    let int = w.int("int", 4, true);
    let p = w.ptr(0);
    let b = w.int_bits("unsigned char", 1, false, 0, 3);
    let inner = w.structure("", 8, false, &[("next", p, 0, 0)]);
    w.structure(
        "sk_buff",
        32,
        true,
        &[("", inner, 0, 0), ("len", int, 64, 0), ("head_frag", int, 96, 1)],
    );
    w.structure("page", 8, false, &[("flags", b, 5, 0)]);
    w.enumeration("pageflags", 4, false, &[("PG_head", 16), ("PG_slab", 7)]);
    w.enum64("big", true, &[("BIG", -1)]);
    w.typedef("skb_frag_t", int);
    put(&dir, "btf", "written", &w.finish());
    // kallsyms: each address encoding.
    use testdata::kallsyms_writer::{build, Encoding};
    let syms = [
        ("fixed_percpu_data", 'A', 0u64),
        ("_text", 'T', 0xffff_ffff_9f00_0000),
        ("init_task", 'D', 0xffff_ffff_a0a0_c940),
    ];
    for enc in [Encoding::BaseRelative, Encoding::AbsolutePercpu, Encoding::Addresses] {
        let s: Vec<_> = syms
            .iter()
            .copied()
            .filter(|s| enc == Encoding::AbsolutePercpu || s.2 > 1 << 32)
            .collect();
        let img = build(&s, enc, skbwalk_fuzz::KALLSYMS_BASE);
        put(&dir, "kallsyms", &format!("{enc:?}"), &skbwalk_fuzz::kallsyms_seed(&img));
    }
    // The walk: no change, and one pointer zeroed.
    for t in ["walk", "meminfo"] {
        put(&dir, t, "none", &[]);
        put(&dir, t, "one", &[7, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
    // Real dumps' headers.
    for real in args {
        let Ok(boots) = std::fs::read_dir(&real) else {
            continue;
        };
        for boot in boots.flatten().filter(|b| b.path().is_dir()) {
            let Ok(files) = std::fs::read_dir(boot.path()) else {
                continue;
            };
            for f in files.flatten() {
                let p = f.path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if !name.starts_with("vmcore") || name.ends_with(".json") {
                    continue;
                }
                let mut head = vec![0u8; 64 << 10];
                let n = std::fs::File::open(&p)
                    .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
                    .unwrap_or(0);
                head.truncate(n);
                let tag = format!(
                    "real-{}-{}-{name}",
                    Path::new(&real).file_name().unwrap().to_string_lossy(),
                    boot.file_name().to_string_lossy()
                );
                put(&dir, "dump", &tag, &head);
                if let Ok(d) = vmcore::Dump::open(&p) {
                    if let Some(vi) = &d.notes().vmcoreinfo {
                        put(&dir, "vmcoreinfo", &tag, vi);
                    }
                }
            }
        }
    }
}
