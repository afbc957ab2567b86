//! The kdump-compressed reader and the flattened source, against dumps made by `testdata`'s writer.

use testdata::kdump_writer::{
    flatten_records, write_kdump, write_kdump_with_layout, Compression, KdumpLayout, KdumpOptions,
};
use testdata::phys::{PhysImage, PAGE_SIZE};
use vmcore::flattened::{is_flattened, FlattenedSource};
use vmcore::kdump::KdumpDump;
use vmcore::source::{BytesSource, MmapSource, Source};
use vmcore::{Error, PageState, PhysMem, Result};

fn open(bytes: Vec<u8>) -> Result<KdumpDump> {
    if is_flattened(&bytes) {
        KdumpDump::parse(Box::new(FlattenedSource::new(BytesSource(bytes))?))
    } else {
        KdumpDump::parse(Box::new(BytesSource(bytes)))
    }
}

const HOLE: u64 = 0x9f000;
const HIGH: u64 = 0x1000_0000;

/// RAM in three ranges (so the bitmaps span several blocks and rank entries), with pages of
/// text, random bytes, repeated words, zeroes and partly written pages.
fn image() -> PhysImage {
    let mut img = PhysImage::new(vec![
        (0, HOLE),
        (0x10_0000, 0x40_0000),
        (HIGH, HIGH + 0x8000),
    ]);
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let text = b"skb_release_data+0x1a4/0x2b0 kfree_skb_reason tcp_v4_rcv ip_local_deliver_finish ";
    let pfns: Vec<u64> = img.ram_pfns().collect();
    for pfn in pfns {
        let base = pfn * PAGE_SIZE;
        match pfn % 7 {
            0 => {} // zero page
            1 | 2 => {
                let page: Vec<u8> = (0..PAGE_SIZE as usize)
                    .map(|i| text[(i + pfn as usize) % text.len()])
                    .collect();
                img.write(base, &page);
            }
            3 => {
                let page: Vec<u8> = (0..PAGE_SIZE / 8)
                    .flat_map(|_| rnd().to_le_bytes())
                    .collect();
                img.write(base, &page);
            }
            4 => {
                for i in 0..PAGE_SIZE / 8 {
                    img.write_u64(base + i * 8, 0xffff_8880_0000_0000 + (i % 16) * 0x40);
                }
            }
            _ => img.write_u64(base + (pfn % 500) * 8, rnd()),
        }
    }
    img
}

/// The expected contents of page `pfn` (`PhysImage::read` goes byte by byte: too slow here).
fn want_page(img: &PhysImage, pfn: u64, out: &mut [u8]) {
    match img.page(pfn) {
        Some(p) => out.copy_from_slice(p),
        None => out.fill(0),
    }
}

fn check_reads(dump: &KdumpDump, img: &PhysImage, excluded: &dyn Fn(u64) -> bool) {
    let mut got = vec![0u8; PAGE_SIZE as usize];
    let mut want = vec![0u8; PAGE_SIZE as usize];
    for pfn in img.ram_pfns() {
        let paddr = pfn * PAGE_SIZE;
        if excluded(pfn) {
            assert_eq!(dump.page_state(paddr), PageState::Excluded);
            assert!(
                matches!(dump.read_phys(paddr + 8, &mut got[..8]), Err(Error::Excluded { paddr: p }) if p == paddr + 8)
            );
            continue;
        }
        assert_eq!(dump.page_state(paddr), PageState::Present, "pfn {pfn:#x}");
        dump.read_phys(paddr, &mut got)
            .unwrap_or_else(|e| panic!("pfn {pfn:#x}: {e}"));
        want_page(img, pfn, &mut want);
        assert_eq!(got, want, "pfn {pfn:#x}");
    }
    // Reads crossing page boundaries, of odd lengths.
    for (start, len) in [
        (0x10_0ff9u64, 16usize),
        (0x10_1ffd, 3 * PAGE_SIZE as usize + 5),
        (HIGH + 0x7001, 0xfff),
    ] {
        let pfns = start / PAGE_SIZE..=(start + len as u64 - 1) / PAGE_SIZE;
        if pfns.clone().any(excluded) {
            continue;
        }
        let mut got = vec![0u8; len];
        let mut want = vec![0u8; len];
        dump.read_phys(start, &mut got).unwrap();
        img.read(start, &mut want);
        assert_eq!(got, want, "read at {start:#x}+{len:#x}");
    }
    // Addresses outside RAM.
    for paddr in [
        HOLE,
        HOLE + 0x123,
        0x80_0000,
        HIGH + 0x8000,
        u64::MAX - 3,
        1 << 52,
    ] {
        assert_eq!(dump.page_state(paddr), PageState::NotPresent, "{paddr:#x}");
        assert!(
            matches!(
                dump.read_phys(paddr, &mut got[..4]),
                Err(Error::NotPresent { .. })
            ),
            "{paddr:#x}"
        );
    }
    // A read running off the end of a RAM range fails at the first absent byte.
    let r = dump.read_phys(HOLE - 4, &mut got[..8]);
    assert!(
        matches!(r, Err(Error::NotPresent { paddr }) if paddr == HOLE),
        "{r:?}"
    );
}

#[test]
fn every_compression_version_and_container_round_trips() {
    let img = image();
    let ram = img.ram_pfns().count() as u64;
    for compression in Compression::ALL {
        for header_version in 1..=6 {
            for flattened in [false, true] {
                let opts = KdumpOptions {
                    compression,
                    header_version,
                    flattened,
                    phys_base: 0x2a0_0000,
                    ..Default::default()
                };
                let bytes = write_kdump(&img, &opts);
                assert_eq!(is_flattened(&bytes), flattened);
                let dump = open(bytes).unwrap();
                let what = format!("{compression:?} v{header_version} flattened={flattened}");
                assert_eq!(dump.signature(), "KDUMP", "{what}");
                assert_eq!(dump.header_version(), header_version, "{what}");
                assert_eq!(dump.page_size(), 4096);
                assert_eq!(dump.compression(), compression.name(), "{what}");
                assert!(!dump.is_incomplete());
                assert_eq!(dump.max_mapnr(), img.max_pfn());
                assert_eq!(dump.pages_ram(), ram);
                assert_eq!(dump.pages_present(), ram);
                assert_eq!(dump.pages_excluded(), 0);
                assert_eq!(dump.utsname_release().as_deref(), Some("6.1.0-skbwalk"));
                assert_eq!(dump.utsname_machine().as_deref(), Some("x86_64"));
                assert_eq!(dump.phys_base(), Some(0x2a0_0000));
                if header_version >= 3 {
                    assert!(dump.warnings().is_empty(), "{what}: {:?}", dump.warnings());
                } else {
                    // Versions 1 and 2 cannot hold VMCOREINFO: the reader says so.
                    assert!(
                        dump.warnings()
                            .iter()
                            .any(|w| w.contains("predates VMCOREINFO")),
                        "{what}: {:?}",
                        dump.warnings()
                    );
                }
                check_reads(&dump, &img, &|_| false);
            }
        }
    }
}

#[test]
fn excluded_pages_are_typed_errors_and_counted() {
    let img = image();
    let extra = [0x105u64, 0x106, 0x107, HIGH / PAGE_SIZE + 3];
    for compression in [Compression::None, Compression::Zstd] {
        let opts = KdumpOptions {
            compression,
            exclude_zero_pages: true,
            exclude_pfns: extra.to_vec(),
            ..Default::default()
        };
        let dump = open(write_kdump(&img, &opts)).unwrap();
        let is_excluded = |pfn: u64| {
            extra.contains(&pfn) || !img.page(pfn).is_some_and(|p| p.iter().any(|&b| b != 0))
        };
        let n_excluded = img.ram_pfns().filter(|&p| is_excluded(p)).count() as u64;
        assert!(n_excluded > extra.len() as u64);
        assert_eq!(dump.pages_excluded(), n_excluded);
        assert_eq!(dump.pages_present() + n_excluded, dump.pages_ram());
        check_reads(&dump, &img, &is_excluded);
        // A read that starts in a stored page and runs into an excluded one.
        let mut buf = [0u8; 16];
        let r = dump.read_phys(0x105 * PAGE_SIZE - 8, &mut buf);
        assert!(
            matches!(r, Err(Error::Excluded { paddr }) if paddr == 0x105 * PAGE_SIZE),
            "{r:?}"
        );
    }
}

#[test]
fn vmcoreinfo_and_notes_by_header_version() {
    let img = image();
    let vmcoreinfo =
        b"OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff82a1b4e0\n".to_vec();
    let notes: Vec<u8> = (0..700u32).map(|i| (i * 7) as u8).collect();
    for header_version in 1..=6 {
        for flattened in [false, true] {
            let opts = KdumpOptions {
                header_version,
                flattened,
                vmcoreinfo: Some(vmcoreinfo.clone()),
                notes: Some(notes.clone()),
                ..Default::default()
            };
            let dump = open(write_kdump(&img, &opts)).unwrap();
            let want_vi = (header_version >= 3).then_some(&vmcoreinfo);
            let want_notes = (header_version >= 4).then_some(&notes);
            assert_eq!(dump.vmcoreinfo().as_ref(), want_vi, "v{header_version}");
            assert_eq!(dump.notes().as_ref(), want_notes, "v{header_version}");
            assert_eq!(dump.eraseinfo(), None);
            let sub = dump.sub_header().unwrap();
            assert_eq!(sub.dump_level, Some(1));
            assert_eq!(sub.split.is_some(), header_version >= 2);
            assert_eq!(sub.max_mapnr_64.is_some(), header_version >= 6);
            check_reads(&dump, &img, &|_| false);
        }
    }
}

#[test]
fn diskdump_signature_and_odd_utsname() {
    let img = image();
    let opts = KdumpOptions {
        signature_diskdump: true,
        compression: Compression::Lzo,
        ..Default::default()
    };
    let dump = open(write_kdump(&img, &opts)).unwrap();
    assert_eq!(dump.signature(), "DISKDUMP");
    assert_eq!(dump.compression(), "lzo", "from the page descriptors");
    assert_eq!(dump.vmcoreinfo(), None);
    assert_eq!(dump.phys_base(), None);
    check_reads(&dump, &img, &|_| false);

    // QEMU leaves utsname empty.
    let opts = KdumpOptions {
        utsname_release: String::new(),
        ..Default::default()
    };
    let dump = open(write_kdump(&img, &opts)).unwrap();
    assert_eq!(dump.utsname_release(), None);
    // Garbage utsname is not an error either.
    let mut bytes = write_kdump(&img, &KdumpOptions::default());
    bytes[12..12 + 390].fill(0xff);
    let dump = open(bytes).unwrap();
    assert_eq!(dump.utsname_release(), None);
    check_reads(&dump, &img, &|_| false);

    let opts = KdumpOptions {
        incomplete: true,
        ..Default::default()
    };
    assert!(open(write_kdump(&img, &opts)).unwrap().is_incomplete());
}

#[test]
fn dump_files_on_disk() {
    let img = image();
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("vmcore-kdump-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for flattened in [false, true] {
        let path = dir.join(if flattened { "flat" } else { "plain" });
        let opts = KdumpOptions {
            compression: Compression::Snappy,
            flattened,
            ..Default::default()
        };
        std::fs::write(&path, write_kdump(&img, &opts)).unwrap();
        let dump = if flattened {
            KdumpDump::parse(Box::new(FlattenedSource::open(&path).unwrap())).unwrap()
        } else {
            KdumpDump::parse(Box::new(MmapSource::open(&path).unwrap())).unwrap()
        };
        check_reads(&dump, &img, &|_| false);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reads_from_many_threads() {
    let img = image();
    let opts = KdumpOptions {
        compression: Compression::Zlib,
        ..Default::default()
    };
    let dump = open(write_kdump(&img, &opts)).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (dump, img) = (&dump, &img);
            s.spawn(move || {
                let mut got = [0u8; 64];
                let mut want = [0u8; 64];
                for pfn in img
                    .ram_pfns()
                    .filter(|p| p % 4 == t)
                    .chain(img.ram_pfns().take(200))
                {
                    let paddr = pfn * PAGE_SIZE + 0x7c0;
                    dump.read_phys(paddr, &mut got).unwrap();
                    img.read(paddr, &mut want);
                    assert_eq!(got, want);
                }
            });
        }
    });
}

// ---- bad input ----

/// Small image, so that cutting it everywhere stays fast.
fn small_image() -> PhysImage {
    let mut img = PhysImage::new(vec![(0, 0x20000)]);
    for pfn in 0..0x20u64 {
        if pfn % 3 != 0 {
            let page: Vec<u8> = (0..PAGE_SIZE)
                .map(|i| ((i * (pfn + 1)) % 251) as u8)
                .collect();
            img.write(pfn * PAGE_SIZE, &page);
        }
    }
    img
}

fn set_i32(b: &mut [u8], at: u64, v: i32) {
    b[at as usize..at as usize + 4].copy_from_slice(&v.to_le_bytes());
}
fn set_u64(b: &mut [u8], at: u64, v: u64) {
    b[at as usize..at as usize + 8].copy_from_slice(&v.to_le_bytes());
}
fn desc_at(layout: &KdumpLayout, pfn: u64) -> u64 {
    layout.descs + 24 * layout.desc_pfns.iter().position(|&p| p == pfn).unwrap() as u64
}
fn read_desc(b: &[u8], at: u64) -> (u64, u32, u32) {
    let at = at as usize;
    (
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap()),
        u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()),
        u32::from_le_bytes(b[at + 12..at + 16].try_into().unwrap()),
    )
}

fn expect_corrupt(dump: &KdumpDump, pfn: u64) -> String {
    let mut buf = [0u8; 8];
    match dump.read_phys(pfn * PAGE_SIZE, &mut buf) {
        Err(Error::CorruptPage { paddr, reason }) => {
            assert_eq!(paddr, pfn * PAGE_SIZE);
            reason
        }
        other => panic!("pfn {pfn:#x}: expected CorruptPage, got {other:?}"),
    }
}

#[test]
fn truncated_files_give_typed_errors_at_every_cut() {
    let img = small_image();
    for compression in [Compression::None, Compression::Zlib, Compression::Lzo] {
        for flattened in [false, true] {
            let opts = KdumpOptions {
                compression,
                flattened,
                vmcoreinfo: Some(b"X=1\n".to_vec()),
                ..Default::default()
            };
            let full = write_kdump(&img, &opts);
            let cuts = (0..full.len()).step_by(if full.len() > 40_000 { 61 } else { 17 });
            for cut in cuts {
                let Ok(dump) = open(full[..cut].to_vec()) else {
                    // Any error is fine at open; the point is no panic. Check the kind.
                    match open(full[..cut].to_vec()).unwrap_err() {
                        Error::Truncated { .. }
                        | Error::UnknownFormat(_)
                        | Error::Malformed { .. } => {}
                        e => panic!("cut {cut}: unexpected {e:?}"),
                    }
                    continue;
                };
                let mut got = vec![0u8; PAGE_SIZE as usize];
                let mut want = vec![0u8; PAGE_SIZE as usize];
                for pfn in img.ram_pfns() {
                    match dump.read_phys(pfn * PAGE_SIZE, &mut got) {
                        Ok(()) => {
                            want_page(&img, pfn, &mut want);
                            assert_eq!(got, want, "cut {cut} pfn {pfn}");
                        }
                        Err(Error::CorruptPage { .. } | Error::NotPresent { .. }) => {}
                        Err(e) => panic!("cut {cut} pfn {pfn}: {e:?}"),
                    }
                }
                let _ = (
                    dump.vmcoreinfo(),
                    dump.notes(),
                    dump.compression(),
                    dump.pages_excluded(),
                );
            }
        }
    }
}

#[test]
fn wrong_magic_and_absurd_header_fields() {
    let img = small_image();
    let (good, layout) = write_kdump_with_layout(&img, &KdumpOptions::default());
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        open(b)
    };
    assert!(matches!(
        patched(&|b| b[..8].copy_from_slice(b"KDUMP\0\0\0")),
        Err(Error::UnknownFormat(_))
    ));
    assert!(matches!(
        open(b"\x7fELF".to_vec()),
        Err(Error::UnknownFormat(_))
    ));
    assert!(matches!(open(Vec::new()), Err(Error::UnknownFormat(_))));
    assert!(matches!(
        open(b"KDUMP   ".to_vec()),
        Err(Error::Truncated { .. })
    ));
    // block_size
    for bs in [0, 3, 4095, -4096, 8192, 1 << 30] {
        assert!(
            matches!(
                patched(&|b| set_i32(b, 428, bs)),
                Err(Error::Malformed { .. })
            ),
            "block_size {bs}"
        );
    }
    // sub_hdr_size
    assert!(matches!(
        patched(&|b| set_i32(b, 432, -1)),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        patched(&|b| set_i32(b, 432, i32::MAX)),
        Err(Error::Truncated { .. })
    ));
    // bitmap_blocks past EOF
    let blocks = (good.len() as u64 / PAGE_SIZE) as i32;
    assert!(matches!(
        patched(&|b| set_i32(b, 436, blocks)),
        Err(Error::Truncated { .. })
    ));
    assert!(matches!(
        patched(&|b| set_i32(b, 436, -1)),
        Err(Error::Truncated { .. })
    ));
    let e = patched(&|b| set_i32(b, 428, 8192)).unwrap_err().to_string();
    assert!(e.contains("block_size 8192") && e.contains("4096"), "{e}");
    // header_version: 0 and below are not versions; newer than 6 is read as 6, with a warning.
    for v in [0, -1] {
        let e = patched(&|b| set_i32(b, 8, v)).unwrap_err().to_string();
        assert!(e.contains(&format!("header_version {v}")), "{e}");
    }
    let dump = patched(&|b| set_i32(b, 8, 99)).unwrap();
    assert!(
        dump.warnings().iter().any(|w| w.contains("version 99")),
        "{:?}",
        dump.warnings()
    );
    check_small(&dump, &img);
    // A 64-bit max_mapnr beyond the physical address space is refused ...
    for absurd in [u64::MAX, 1 << 60, (1 << 40) + 1] {
        let e = patched(&|b| set_u64(b, layout.sub_header + 96, absurd))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_mapnr"), "{e}");
    }
    // ... and one merely larger than the bitmaps is bounded by them, with a warning.
    let dump = patched(&|b| set_u64(b, layout.sub_header + 96, 1 << 40)).unwrap();
    assert_eq!(dump.max_mapnr(), 1 << 40);
    assert!(!dump.warnings().is_empty());
    check_small(&dump, &img);
    // VMCOREINFO and notes ranges past EOF are ignored, with a warning.
    let dump = patched(&|b| {
        set_u64(b, layout.sub_header + 32, 0x1000);
        set_u64(b, layout.sub_header + 40, u64::MAX);
        set_u64(b, layout.sub_header + 48, u64::MAX - 5);
        set_u64(b, layout.sub_header + 56, 10);
    })
    .unwrap();
    assert_eq!((dump.vmcoreinfo(), dump.notes()), (None, None));
    assert_eq!(dump.warnings().len(), 2);
    check_small(&dump, &img);
}

fn check_small(dump: &KdumpDump, img: &PhysImage) {
    let mut got = vec![0u8; PAGE_SIZE as usize];
    let mut want = vec![0u8; PAGE_SIZE as usize];
    for pfn in img.ram_pfns() {
        dump.read_phys(pfn * PAGE_SIZE, &mut got).unwrap();
        want_page(img, pfn, &mut want);
        assert_eq!(got, want);
    }
}

#[test]
fn bad_page_descriptors_are_corrupt_pages() {
    let img = small_image();
    let (good, layout) = write_kdump_with_layout(
        &img,
        &KdumpOptions {
            compression: Compression::Zlib,
            ..Default::default()
        },
    );
    let pfn = 5;
    let at = desc_at(&layout, pfn);
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        open(b).unwrap()
    };
    let len = good.len() as u64;
    expect_corrupt(&patched(&|b| set_u64(b, at, len + 100)), pfn);
    expect_corrupt(&patched(&|b| set_u64(b, at, len - 10)), pfn);
    expect_corrupt(&patched(&|b| set_u64(b, at, u64::MAX)), pfn); // negative offset
    expect_corrupt(&patched(&|b| set_u64(b, at, 0)), pfn); // unwritten (incomplete dump)
    expect_corrupt(&patched(&|b| set_i32(b, at + 8, -1)), pfn); // size 4 GiB
    expect_corrupt(&patched(&|b| set_i32(b, at + 8, 0)), pfn);
    expect_corrupt(&patched(&|b| set_i32(b, at + 8, 4097)), pfn);
    expect_corrupt(&patched(&|b| set_i32(b, at + 12, 0x3)), pfn); // zlib and lzo at once
                                                                  // An unknown flag is named as such (not as a size mismatch).
    let e = expect_corrupt(&patched(&|b| set_i32(b, at + 12, 0x40)), pfn);
    assert!(e.contains("unknown bits 0x40"), "{e}");
    // A raw page whose size is not the page size.
    expect_corrupt(&patched(&|b| set_i32(b, at + 12, 0)), pfn);
    // Neighbours still read.
    let dump = patched(&|b| set_u64(b, at, len + 100));
    let mut buf = [0u8; 8];
    dump.read_phys((pfn + 1) * PAGE_SIZE, &mut buf).unwrap();
    // The descriptor table cut off by the end of the file.
    let mut b = good.clone();
    b.truncate(at as usize + 10);
    expect_corrupt(&open(b).unwrap(), pfn);
}

#[test]
fn corrupt_compressed_data_is_a_corrupt_page() {
    let img = small_image();
    for compression in [
        Compression::Zlib,
        Compression::Lzo,
        Compression::Snappy,
        Compression::Zstd,
    ] {
        for flattened in [false, true] {
            let (plain, layout) = write_kdump_with_layout(
                &img,
                &KdumpOptions {
                    compression,
                    ..Default::default()
                },
            );
            let pfn = 7;
            let at = desc_at(&layout, pfn);
            let (off, size, flags) = read_desc(&plain, at);
            assert_eq!(
                flags,
                compression.flag(),
                "{compression:?}: the fixture page compresses"
            );
            let reopen = |b: Vec<u8>| {
                if flattened {
                    open(flatten_records(&[(0, &b[..])])).unwrap()
                } else {
                    open(b).unwrap()
                }
            };
            // Compressed data cut short.
            let mut b = plain.clone();
            set_i32(&mut b, at + 8, size as i32 / 2);
            let r = expect_corrupt(&reopen(b), pfn);
            assert!(
                r.contains(compression.name()) || r.contains("bytes"),
                "{compression:?}: {r}"
            );
            // Garbage in place of the compressed data.
            let mut b = plain.clone();
            b[off as usize..off as usize + size as usize].fill(0xff);
            expect_corrupt(&reopen(b), pfn);
            // Valid data that decompresses to the wrong size (half a page, then a page and a half).
            for n in [2048usize, 6144] {
                let mut b = plain.clone();
                let data = compression.compress(&vec![0x5a; n]).unwrap();
                let new_off = b.len() as u64;
                b.extend_from_slice(&data);
                set_u64(&mut b, at, new_off);
                set_i32(&mut b, at + 8, data.len() as i32);
                let r = expect_corrupt(&reopen(b), pfn);
                assert!(
                    r.contains(compression.name()) || r.contains("bytes"),
                    "{compression:?} {n}: {r}"
                );
            }
        }
    }
}

#[test]
fn flattened_records_out_of_order_and_overridden() {
    let img = small_image();
    let (plain, layout) = write_kdump_with_layout(
        &img,
        &KdumpOptions {
            compression: Compression::Snappy,
            ..Default::default()
        },
    );
    // Garbage over the whole file first, then the real bytes in reverse order of 1000-byte
    // pieces, then a stale header that a later record overrides again.
    let garbage = vec![0xccu8; plain.len()];
    let mut recs: Vec<(u64, &[u8])> = vec![(0, &garbage[..])];
    let pieces: Vec<(u64, &[u8])> = plain
        .chunks(1000)
        .enumerate()
        .map(|(i, c)| (i as u64 * 1000, c))
        .collect();
    recs.extend(pieces.iter().rev().copied());
    let stale = vec![0u8; 4096];
    recs.push((0, &stale[..]));
    recs.push((0, &plain[..4096]));
    let stream = flatten_records(&recs);
    let src = FlattenedSource::new(BytesSource(stream.clone())).unwrap();
    assert_eq!(src.len(), plain.len() as u64);
    let mut all = vec![0u8; plain.len()];
    src.read_at(0, &mut all, "test").unwrap();
    assert!(all == plain, "logical file differs");
    let dump = open(stream).unwrap();
    check_small(&dump, &img);
    assert_eq!(dump.pages_present(), layout.desc_pfns.len() as u64);

    // A stream with a hole: the hole reads as zeroes; past the end is Truncated.
    let src =
        FlattenedSource::new(BytesSource(flatten_records(&[(10, b"ab"), (0, b"xy")]))).unwrap();
    let mut b = [9u8; 12];
    src.read_at(0, &mut b, "test").unwrap();
    assert_eq!(&b, b"xy\0\0\0\0\0\0\0\0ab");
    assert!(matches!(
        src.read_at(5, &mut [0; 8], "test"),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn a_cut_tail_and_a_bitmap_without_descriptors_are_warned_at_open() {
    let img = image();
    let (good, layout) = write_kdump_with_layout(
        &img,
        &KdumpOptions {
            compression: Compression::Zlib,
            ..Default::default()
        },
    );
    assert!(open(good.clone()).unwrap().warnings().is_empty());
    // The last bytes of page data cut off: the pages whose data is gone are counted at open.
    let mut cut = good.clone();
    cut.truncate(good.len() - 5000); // past the block padding at the end
    let d = open(cut).unwrap();
    assert!(
        d.warnings()
            .iter()
            .any(|w| w.contains("past the end of the file")),
        "{:?}",
        d.warnings()
    );
    // Bitmap 2 claiming pages that have no descriptor: every later page would read another's
    // data, so the open says so.
    let mut b = good.clone();
    b[layout.bitmap2 as usize..layout.descs as usize].fill(0xff);
    let d = open(b).unwrap();
    assert!(
        d.warnings().iter().any(|w| w.contains("descriptor table")),
        "{:?}",
        d.warnings()
    );
}
