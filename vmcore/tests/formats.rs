//! Split dump sets, ELF segment tails, and the formats refused by name, against files made by
//! `testdata`'s writers.

use std::path::{Path, PathBuf};

use testdata::elf_writer::{note, write_elf, ElfOptions};
use testdata::kdump_writer::{write_kdump, write_split_set, Compression, KdumpOptions};
use testdata::phys::{PhysImage, PAGE_SIZE};
use vmcore::{Dump, Error, PageState};

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let d = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("vmcore-formats-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// RAM in two ranges, every page written with its own pfn so a page read from the wrong slot
/// shows; some pages never written (zero) and some filtered out.
fn image() -> PhysImage {
    let mut img = PhysImage::new(vec![(0, 0x9f000), (0x10_0000, 0x80_0000)]);
    for pfn in img.ram_pfns().collect::<Vec<_>>() {
        if pfn % 7 != 3 {
            img.write(
                pfn * PAGE_SIZE,
                format!("page {pfn:#x} ").repeat(300).as_bytes(),
            );
        }
    }
    img
}

fn opts() -> KdumpOptions {
    KdumpOptions {
        compression: Compression::Zlib,
        exclude_pfns: (0..2048).filter(|p| p % 11 == 5).collect(),
        vmcoreinfo: Some(b"OSRELEASE=6.1.0-split\nPAGESIZE=4096\n".to_vec()),
        ..Default::default()
    }
}

fn paths(files: &[(Vec<u8>, (u64, u64))], tag: &str) -> Vec<PathBuf> {
    files
        .iter()
        .enumerate()
        .map(|(i, (b, _))| tmp(&format!("{tag}-{i}"), b))
        .collect()
}

fn refs(p: &[PathBuf]) -> Vec<&Path> {
    p.iter().map(PathBuf::as_path).collect()
}

fn page(d: &Dump, pfn: u64) -> Result<Vec<u8>, Error> {
    let mut b = vec![0u8; PAGE_SIZE as usize];
    d.read_phys(pfn * PAGE_SIZE, &mut b).map(|_| b)
}

#[test]
fn a_split_set_reads_as_the_single_file() {
    let img = image();
    let whole = Dump::open(&tmp("whole", &write_kdump(&img, &opts()))).unwrap();
    for n in [2, 3] {
        let files = write_split_set(&img, &opts(), n);
        let mut p = paths(&files, &format!("set{n}"));
        p.reverse(); // any order
        let set = Dump::open_parts(&refs(&p)).unwrap();
        assert_eq!(set.info().parts.len(), n);
        assert!(
            set.info().missing_pfns.is_empty(),
            "{:?}",
            set.info().missing_pfns
        );
        assert_eq!(set.info().pages_present, whole.info().pages_present);
        assert!(set.warnings().is_empty(), "{:?}", set.warnings());
        for pfn in 0..img.max_pfn() + 2 {
            assert_eq!(
                set.page_state(pfn * PAGE_SIZE),
                whole.page_state(pfn * PAGE_SIZE)
            );
            match (page(&set, pfn), page(&whole, pfn)) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "pfn {pfn:#x}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!(
                    "pfn {pfn:#x}: set {a:?}, whole {b:?}",
                    a = a.is_ok(),
                    b = b.is_ok()
                ),
            }
        }
        // A read across the boundary of two parts.
        let boundary = files[1].1 .0 * PAGE_SIZE;
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        if set.read_phys(boundary - 32, &mut a).is_ok() {
            whole.read_phys(boundary - 32, &mut b).unwrap();
            assert_eq!(a, b);
        }
    }
}

#[test]
fn a_lone_part_never_returns_another_pages_bytes() {
    let img = image();
    let whole = Dump::open(&tmp("whole-lone", &write_kdump(&img, &opts()))).unwrap();
    let files = write_split_set(&img, &opts(), 3);
    let p = paths(&files, "lone");
    for (i, (_, (start, end))) in files.iter().enumerate() {
        let d = Dump::open(&p[i]).unwrap();
        assert_eq!(d.info().parts.len(), 1);
        assert_eq!(
            (d.info().parts[0].start_pfn, d.info().parts[0].end_pfn),
            (*start, *end)
        );
        assert!(!d.info().missing_pfns.is_empty());
        assert!(
            d.warnings().iter().any(|w| w.contains("split dump")),
            "{:?}",
            d.warnings()
        );
        let mut held = 0;
        for pfn in 0..img.max_pfn() {
            let want = page(&whole, pfn);
            match page(&d, pfn) {
                Ok(got) => {
                    assert!(
                        (*start..*end).contains(&pfn),
                        "part {i} read pfn {pfn:#x} outside its range"
                    );
                    assert_eq!(Some(&got), want.as_ref().ok(), "part {i} pfn {pfn:#x}");
                    held += 1;
                }
                Err(Error::InOtherPart {
                    start_pfn, end_pfn, ..
                }) => {
                    assert!(!(*start..*end).contains(&pfn));
                    assert_eq!((start_pfn, end_pfn), (*start, *end));
                    assert!(want.is_ok());
                    assert_eq!(d.page_state(pfn * PAGE_SIZE), PageState::Elsewhere);
                }
                Err(e) => assert_eq!(e.to_string(), want.unwrap_err().to_string()),
            }
        }
        assert_eq!(held, d.info().pages_present, "part {i}");
    }
    // Two of three parts: the missing range is named, the rest reads.
    let set = Dump::open_parts(&[p[0].as_path(), p[2].as_path()]).unwrap();
    let (a, b) = files[1].1;
    assert_eq!(set.info().missing_pfns, vec![(a, b)]);
    let stored = (a..b).find(|&pfn| page(&whole, pfn).is_ok()).unwrap();
    assert!(matches!(
        page(&set, stored),
        Err(Error::PartMissing { start_pfn, end_pfn, .. }) if (start_pfn, end_pfn) == (a, b)
    ));
}

#[test]
fn sets_that_are_not_one_dump_are_refused() {
    let img = image();
    let files = write_split_set(&img, &opts(), 2);
    let p = paths(&files, "bad");
    let whole = tmp("whole-bad", &write_kdump(&img, &opts()));
    // Another capture of the same machine: its VMCOREINFO (KASLR) differs.
    let other_opts = KdumpOptions {
        vmcoreinfo: Some(b"OSRELEASE=6.1.0-split\nPAGESIZE=4096\nKERNELOFFSET=1e000000\n".to_vec()),
        ..opts()
    };
    let other_files = write_split_set(&img, &other_opts, 2);
    let q = paths(&other_files, "other");
    let elf = tmp("elf-bad", &write_elf(&img, &ElfOptions::default()));
    for (what, set, want) in [
        (
            "a whole dump",
            vec![p[0].as_path(), whole.as_path()],
            "not a part",
        ),
        (
            "the same part twice",
            vec![p[0].as_path(), p[0].as_path()],
            "overlap",
        ),
        (
            "another dump's part",
            vec![p[0].as_path(), q[1].as_path()],
            "different dumps",
        ),
        (
            "an ELF",
            vec![p[0].as_path(), elf.as_path()],
            "not a kdump-compressed file",
        ),
    ] {
        match Dump::open_parts(&set) {
            Err(e) => assert!(e.to_string().contains(want), "{what}: {e}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }
}

#[test]
fn elf_tails_are_excluded_not_zero() {
    let img = image();
    let notes = note("VMCOREINFO", 0, b"OSRELEASE=6.1.0-tails\n");
    let filtered = Dump::open(&tmp(
        "tails.elf",
        &write_elf(
            &img,
            &ElfOptions {
                notes: notes.clone(),
                filtered: true,
                ..Default::default()
            },
        ),
    ))
    .unwrap();
    let sparse = Dump::open(&tmp(
        "zeros.elf",
        &write_elf(
            &img,
            &ElfOptions {
                notes,
                sparse: true,
                ..Default::default()
            },
        ),
    ))
    .unwrap();
    let never: Vec<u64> = img.ram_pfns().filter(|&p| img.page(p).is_none()).collect();
    assert!(never.len() > 100);
    for &pfn in &never {
        // Stored zeroes read as zeroes; a tail is filtered out.
        assert_eq!(page(&sparse, pfn).unwrap(), vec![0u8; PAGE_SIZE as usize]);
        assert!(
            matches!(page(&filtered, pfn), Err(Error::Excluded { .. })),
            "pfn {pfn:#x}"
        );
        assert_eq!(filtered.page_state(pfn * PAGE_SIZE), PageState::Excluded);
    }
    for pfn in img.ram_pfns().filter(|&p| img.page(p).is_some()).take(50) {
        assert_eq!(page(&filtered, pfn).unwrap(), img.page(pfn).unwrap());
    }
    // info counts them: present + excluded = RAM.
    let i = filtered.info();
    assert_eq!(i.pages_excluded, never.len() as u64);
    assert_eq!(
        i.pages_present + i.pages_excluded,
        img.ram_pfns().count() as u64
    );
    assert_eq!(sparse.info().pages_excluded, 0);
    // Outside every PT_LOAD: not in the dump.
    assert!(matches!(
        page(&filtered, 0x9f),
        Err(Error::NotPresent { .. })
    ));
}

#[test]
fn an_arm64_core_lacking_its_layout_reads_physically_and_says_what_is_missing() {
    let img = image();
    let vi = b"OSRELEASE=6.1.0-arm\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffff800081000000\n";
    let mut elf = write_elf(
        &img,
        &ElfOptions {
            notes: note("VMCOREINFO", 0, vi),
            ..Default::default()
        },
    );
    elf[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    let d = Dump::open(&tmp("arm.elf", &elf)).unwrap();
    assert_eq!(d.info().machine, "aarch64");
    assert_eq!(page(&d, 0x105).unwrap(), img.page(0x105).unwrap());
    assert!(d.arch().is_none());
    assert!(
        d.layout_error().unwrap().contains("NUMBER(VA_BITS)"),
        "{:?}",
        d.layout_error()
    );
}

#[test]
fn another_machines_core_reads_physically_but_has_no_layout() {
    let img = image();
    let mut elf = write_elf(
        &img,
        &ElfOptions {
            notes: note("VMCOREINFO", 0, b"OSRELEASE=6.1.0-rv\nPAGESIZE=4096\n"),
            ..Default::default()
        },
    );
    elf[18..20].copy_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    let d = Dump::open(&tmp("rv.elf", &elf)).unwrap();
    assert_eq!(d.info().machine, "RISC-V");
    assert_eq!(page(&d, 0x105).unwrap(), img.page(0x105).unwrap());
    assert!(d.arch().is_none());
    assert!(
        d.layout_error().unwrap().contains("RISC-V machine"),
        "{:?}",
        d.layout_error()
    );
}

#[test]
fn foreign_formats_are_named() {
    let img = image();
    let mut kd = write_kdump(&img, &opts());
    // A 32-bit header: block_size where the 32-bit layout has it.
    let mut k32 = kd.clone();
    k32[416..420].copy_from_slice(&4096i32.to_le_bytes());
    k32[428..432].copy_from_slice(&1i32.to_le_bytes());
    let mut be = kd.clone();
    be[8..12].copy_from_slice(&6i32.to_be_bytes());
    be[428..432].copy_from_slice(&4096i32.to_be_bytes());
    let mut elf32 = write_elf(&img, &ElfOptions::default());
    elf32[4] = 1;
    let mut exe = write_elf(&img, &ElfOptions::default());
    exe[16..18].copy_from_slice(&2u16.to_le_bytes());
    kd[0..8].copy_from_slice(&0xa819_0173_618f_23edu64.to_le_bytes());
    for (what, bytes, want) in [
        ("32-bit kdump", k32, "32-bit kdump-compressed"),
        ("big-endian kdump", be, "big-endian kdump-compressed"),
        ("32-bit ELF", elf32, "32-bit ELF core dump"),
        ("an executable", exe, "a vmlinux?"),
        ("LKCD", kd, "LKCD"),
    ] {
        match Dump::open(&tmp(what, &bytes)) {
            Err(Error::UnknownFormat(m)) => assert!(m.contains(want), "{what}: {m}"),
            other => panic!("{what}: {:?}", other.map(|d| d.info().format.clone())),
        }
    }
}
