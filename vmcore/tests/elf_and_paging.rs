//! ELF dumps and x86-64 translation, on images whose page tables the test builds.

use testdata::elf_writer::{note, qemu_cpu_state, write_elf, ElfOptions};
use testdata::kdump_writer::{write_kdump, Compression, KdumpOptions};
use testdata::pagetables::PageTables;
use testdata::phys::PhysImage;
use vmcore::x86_64::{KernelLayout, START_KERNEL_MAP};
use vmcore::{Dump, Error, PageState};

fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("vmcore-test-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// 64 MiB of RAM with a hole, patterned pages, page tables at 0x100000.
fn image(levels: u8) -> (PhysImage, PageTables) {
    let mut img = PhysImage::new(vec![(0, 0x200_0000), (0x300_0000, 0x400_0000)]);
    for pfn in (0..0x2000u64).step_by(7) {
        let a = pfn * 4096;
        if img.in_ram(a) {
            img.write(a, format!("page {pfn:#x}").as_bytes());
        }
    }
    let top = 0x10_0000;
    img.write(top, &[0u8; 4096]);
    let pt = PageTables::new(levels, top, 0x11_0000, 0x20_0000);
    (img, pt)
}

fn vmcoreinfo(levels: u8, kaslr: u64, phys_base: u64) -> String {
    format!(
        "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(init_top_pgt)={:x}\nNUMBER(phys_base)={}\nKERNELOFFSET={kaslr:x}\nNUMBER(pgtable_l5_enabled)={}\n",
        // init_top_pgt at phys 0x100000: vaddr = phys - phys_base + START_KERNEL_MAP
        0x10_0000u64.wrapping_sub(phys_base).wrapping_add(START_KERNEL_MAP),
        phys_base as i64,
        u8::from(levels == 5)
    )
}

#[test]
fn elf_reads_every_layout_byte_for_byte() {
    let (img, _) = image(4);
    for (sparse, late) in [(false, false), (true, true), (true, false)] {
        let notes = note("VMCOREINFO", 0, b"OSRELEASE=6.1.0-test\n");
        let elf = write_elf(
            &img,
            &ElfOptions {
                notes,
                sparse,
                filtered: false,
                phdrs_late: late,
                ..Default::default()
            },
        );
        let d = Dump::open(&tmp(&format!("elf-{sparse}-{late}"), &elf)).unwrap();
        assert_eq!(d.info().format, "ELF");
        assert_eq!(d.info().osrelease.as_deref(), Some("6.1.0-test"));
        for &addr in &[0u64, 0x7000, 0x1ff_fff0, 0x300_0000, 0x3ff_f000] {
            let mut got = [0u8; 64];
            let mut want = [0u8; 64];
            let n = if addr == 0x1ff_fff0 { 16 } else { 64 };
            d.read_phys(addr, &mut got[..n]).unwrap();
            img.read(addr, &mut want[..n]);
            assert_eq!(got, want, "at {addr:#x}");
        }
        assert!(matches!(
            d.read_phys(0x250_0000, &mut [0u8; 8]),
            Err(Error::NotPresent { paddr: 0x250_0000 })
        ));
        assert!(
            matches!(
                d.read_phys(0x1ff_fff8, &mut [0u8; 16]),
                Err(Error::NotPresent { .. })
            ),
            "read running into the hole"
        );
        assert_eq!(d.page_state(0x250_0000), PageState::NotPresent);
        assert_eq!(d.page_state(0x300_0000), PageState::Present);
    }
}

#[test]
fn page_walk_4_and_5_levels_with_large_pages() {
    for levels in [4u8, 5] {
        let (mut img, mut pt) = image(levels);
        let direct = if levels == 5 {
            0xff11_0000_0000_0000
        } else {
            0xffff_8880_0000_0000
        };
        pt.map(&mut img, direct, 0, 0x4000_0000, 0x4000_0000); // 1 GiB page
        pt.map(
            &mut img,
            0xffff_c900_0000_0000,
            0x300_0000,
            0x40_0000,
            0x20_0000,
        ); // 2 MiB pages
        pt.map(&mut img, 0xffff_ea00_0000_1000, 0x7000, 0x2000, 0x1000); // 4 KiB pages
        let vi = vmcoreinfo(levels, 0, 0);
        let elf = write_elf(
            &img,
            &ElfOptions {
                notes: note("VMCOREINFO", 0, vi.as_bytes()),
                sparse: true,
                filtered: false,
                phdrs_late: false,
                ..Default::default()
            },
        );
        let d = Dump::open(&tmp(&format!("walk{levels}"), &elf)).unwrap();
        assert_eq!(d.layout().unwrap().levels, levels);
        assert_eq!(d.translate(direct + 0x123_4567).unwrap(), 0x123_4567);
        assert_eq!(d.translate(0xffff_c900_0021_0008).unwrap(), 0x321_0008);
        assert_eq!(d.translate(0xffff_ea00_0000_2ff8).unwrap(), 0x8ff8);
        assert_eq!(
            d.translate(START_KERNEL_MAP + 0x100_0000).unwrap(),
            0x100_0000,
            "kernel text is arithmetic"
        );
        let mut a = [0u8; 11];
        d.read_virt(0xffff_ea00_0000_1000 + 0x6000 - 0x6000, &mut a)
            .unwrap();
        assert_eq!(&a[..8], b"page 0x7");
        let e = d.translate(0xffff_c900_1000_0000).unwrap_err().to_string();
        assert!(e.contains("not present"), "{e}");
        assert!(
            d.translate(0x0000_8000_0000_0000)
                .unwrap_err()
                .to_string()
                .contains("non-canonical")
                || levels == 5
        );
        // A read crossing from a mapped into an unmapped page fails with the unmapped address.
        assert!(d.read_virt(0xffff_ea00_0000_2ffc, &mut [0u8; 8]).is_err());
    }
}

#[test]
fn kaslr_recovered_from_cr3_without_vmcoreinfo() {
    let (mut img, mut pt) = image(4);
    let kaslr = 0x2200_0000u64;
    let phys_load = 0x140_0000u64 & !0x1f_ffff; // _text at 20 MiB physical
    let text = 0xffff_ffff_8100_0000 + kaslr;
    pt.map(&mut img, text, phys_load, 0x40_0000, 0x20_0000);
    let notes = [
        note("CORE", 1, &[0u8; 336]),
        note("QEMU", 0, &qemu_cpu_state(0x10_0000 | 0x1000 | 5, 0)),
    ]
    .concat();
    let elf = write_elf(
        &img,
        &ElfOptions {
            notes,
            sparse: true,
            filtered: false,
            phdrs_late: true,
            ..Default::default()
        },
    );
    let mut d = Dump::open(&tmp("cr3", &elf)).unwrap();
    assert!(d.layout().is_none());
    assert_eq!(d.notes().qemu_cr3.len(), 1);
    let l = KernelLayout::from_cr3(
        d.phys(),
        d.notes().qemu_cr3[0],
        None,
        0xffff_ffff_8100_0000,
        None,
    )
    .unwrap();
    assert_eq!(l.kaslr_offset, kaslr);
    assert_eq!(l.phys_base.wrapping_add(text - START_KERNEL_MAP), phys_load);
    d.set_layout(l);
    assert_eq!(d.translate(text + 0x1234).unwrap(), phys_load + 0x1234);
}

/// Without PTI a PGD may sit on an odd page (a 7.2 guest's CR3 was 0x316b000): CR3 is taken as
/// it is when the page below (the PTI kernel half, were PTI on) maps no kernel image, and a
/// page below that maps one elsewhere is refused by init_top_pgt's check.
#[test]
fn kernel_found_from_a_pgd_on_an_odd_page() {
    let kaslr = 0x2200_0000u64;
    let text = 0xffff_ffff_8100_0000 + kaslr;
    let phys_load = 0x140_0000u64;
    let start_kernel_map = 0xffff_ffff_8000_0000u64;
    let phys_base = phys_load.wrapping_sub(text - start_kernel_map);
    for garbage_below in [false, true] {
        let mut img = PhysImage::new(vec![(0, 0x200_0000), (0x300_0000, 0x400_0000)]);
        img.write(0x10_0000, &[0u8; 8192]);
        if garbage_below {
            // another tree at the even page, mapping the image region to other memory
            let mut fake = PageTables::new(4, 0x10_0000, 0x18_0000, 0x1c_0000);
            fake.map(&mut img, text, 0x60_0000, 0x20_0000, 0x20_0000);
        }
        let mut pt = PageTables::new(4, 0x10_1000, 0x11_0000, 0x17_0000);
        pt.map(&mut img, text, phys_load, 0x40_0000, 0x20_0000);
        let init_top_pgt_link = start_kernel_map
            .wrapping_add(0x10_1000u64.wrapping_sub(phys_base))
            .wrapping_sub(kaslr);
        let notes = note("QEMU", 0, &qemu_cpu_state(0x10_1000, 0));
        let elf = write_elf(
            &img,
            &ElfOptions {
                notes,
                sparse: true,
                filtered: false,
                phdrs_late: true,
                ..Default::default()
            },
        );
        let d = Dump::open(&tmp(&format!("cr3-odd-{garbage_below}"), &elf)).unwrap();
        let l = KernelLayout::from_cr3(
            d.phys(),
            d.notes().qemu_cr3[0],
            None,
            0xffff_ffff_8100_0000,
            Some(init_top_pgt_link),
        )
        .unwrap();
        assert_eq!(l.kaslr_offset, kaslr, "garbage below: {garbage_below}");
        assert_eq!(l.top_table, 0x10_1000, "garbage below: {garbage_below}");
    }
}

#[test]
fn kdump_and_elf_of_one_image_read_alike() {
    let (mut img, mut pt) = image(4);
    pt.map(&mut img, 0xffff_8880_0000_0000, 0, 0x4000_0000, 0x4000_0000);
    let vi = vmcoreinfo(4, 0, 0);
    let elf = write_elf(
        &img,
        &ElfOptions {
            notes: note("VMCOREINFO", 0, vi.as_bytes()),
            sparse: true,
            filtered: false,
            phdrs_late: true,
            ..Default::default()
        },
    );
    let e = Dump::open(&tmp("same-elf", &elf)).unwrap();
    for (i, c) in Compression::ALL.iter().enumerate() {
        for flattened in [false, true] {
            let kd = write_kdump(
                &img,
                &KdumpOptions {
                    compression: *c,
                    header_version: 6,
                    flattened,
                    vmcoreinfo: Some(vi.clone().into_bytes()),
                    ..Default::default()
                },
            );
            let k = Dump::open(&tmp(&format!("same-kd-{i}-{flattened}"), &kd)).unwrap();
            assert_eq!(
                k.info().format,
                if flattened {
                    "kdump-compressed (flattened)"
                } else {
                    "kdump-compressed"
                }
            );
            assert_eq!(k.info().osrelease.as_deref(), Some("6.1.0-test"));
            for addr in [0xffff_8880_0000_7000u64, 0xffff_8880_0300_0ff0] {
                let (mut a, mut b) = ([0u8; 40], [0u8; 40]);
                e.read_virt(addr, &mut a).unwrap();
                k.read_virt(addr, &mut b).unwrap();
                assert_eq!(a, b);
            }
        }
    }
}

#[test]
fn truncated_or_corrupt_elf_is_an_error_not_a_panic() {
    let (img, _) = image(4);
    let elf = write_elf(
        &img,
        &ElfOptions {
            notes: note("VMCOREINFO", 0, b"OSRELEASE=x\n"),
            sparse: true,
            filtered: false,
            phdrs_late: false,
            ..Default::default()
        },
    );
    for cut in [
        0usize,
        3,
        17,
        63,
        64,
        100,
        64 + 56 * 3,
        4096,
        elf.len() / 2,
        elf.len() - 1,
    ] {
        let p = tmp(&format!("cut{cut}"), &elf[..cut]);
        match Dump::open(&p) {
            Err(e) => assert!(!e.to_string().is_empty()),
            Ok(d) => {
                // A cut inside page data: headers parse, but reads past the end must fail cleanly.
                let _ = d.read_phys(0x3ff_f000, &mut [0u8; 8]);
            }
        }
    }
    let mut bad = elf.clone();
    bad[32..40].copy_from_slice(&(elf.len() as u64 - 10).to_le_bytes()); // e_phoff near the end
    assert!(matches!(
        Dump::open(&tmp("phoff", &bad)),
        Err(Error::Truncated { .. })
    ));
    let mut bad = elf.clone();
    bad[64 + 56 + 8..64 + 56 + 16].copy_from_slice(&u64::MAX.to_le_bytes()); // a PT_LOAD's p_offset
    assert!(Dump::open(&tmp("ploff", &bad)).is_err());
    // Program headers that lie about physical memory.
    let field = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    // PT_LOADs with stored bytes (p_filesz > 0)
    let loads: Vec<usize> = (0..u16::from_le_bytes([elf[56], elf[57]]) as usize)
        .map(|i| 64 + 56 * i)
        .filter(|&at| elf[at] == 1 && field(&elf, at + 32) > 0)
        .collect();
    assert!(loads.len() >= 2, "{loads:?}");
    let (l0, l1) = (loads[0], loads[1]);
    // Two segments claiming the same physical range with different bytes: refused, naming it.
    let mut bad = elf.clone();
    let p0 = field(&elf, l0 + 24);
    bad[l1 + 24..l1 + 32].copy_from_slice(&p0.to_le_bytes());
    let e = Dump::open(&tmp("overlap", &bad)).unwrap_err().to_string();
    assert!(e.contains("overlap"), "{e}");
    // The same range described twice with the same bytes (kdump's kernel-text segment): fine,
    // and counted once.
    let mut dup = elf.clone();
    let copy = dup[l0..l0 + 56].to_vec();
    dup[l1..l1 + 56].copy_from_slice(&copy);
    let d = Dump::open(&tmp("dup", &dup)).unwrap();
    let whole = Dump::open(&tmp("whole", &elf))
        .unwrap()
        .info()
        .pages_present;
    assert_eq!(
        d.info().pages_present,
        whole - field(&elf, l1 + 40).div_ceil(4096),
        "a page described twice counts once"
    );
    // A segment reaching past the 52-bit physical address space.
    let mut bad = elf.clone();
    bad[l1 + 40..l1 + 48].copy_from_slice(&(1u64 << 52).to_le_bytes());
    let e = Dump::open(&tmp("huge", &bad)).unwrap_err().to_string();
    assert!(e.contains("52-bit"), "{e}");
    // Another machine's core: physical memory reads, no x86-64 layout is assumed.
    let mut other = elf.clone();
    other[18] = 3; // EM_386
    let d = Dump::open(&tmp("machine", &other)).unwrap();
    assert_eq!(d.info().machine, "i386");
    assert!(d.layout().is_none());
    assert!(d.layout_error().unwrap().contains("x86-64"));
    assert!(matches!(
        Dump::open(&tmp("garbage", b"hello world, not a dump at all")),
        Err(Error::UnknownFormat(_))
    ));
}

#[test]
fn more_than_65535_segments_use_pn_xnum() {
    // Alternating written pages and 16-page holes (longer than the writer merges): one segment each.
    let mut img = PhysImage::new(vec![(0, 70_000 * 17 * 4096)]);
    for i in 0..70_000u64 {
        img.write(i * 17 * 4096, &i.to_le_bytes());
    }
    let elf = write_elf(
        &img,
        &ElfOptions {
            notes: note("VMCOREINFO", 0, b"OSRELEASE=x\n"),
            sparse: true,
            filtered: false,
            phdrs_late: false,
            ..Default::default()
        },
    );
    assert_eq!(
        u16::from_le_bytes([elf[56], elf[57]]),
        0xffff,
        "e_phnum is PN_XNUM"
    );
    let path = tmp("xnum", &elf);
    let d = Dump::open(&path).unwrap();
    // The file is ~280 MiB: the mapping keeps it readable, the directory entry can go now.
    let _ = std::fs::remove_file(&path);
    for i in [0u64, 1, 65_534, 65_535, 69_999] {
        let mut b = [0u8; 8];
        d.read_phys(i * 17 * 4096, &mut b).unwrap();
        assert_eq!(u64::from_le_bytes(b), i);
    }
    assert_eq!(d.info().osrelease.as_deref(), Some("x"));
}

/// Any architecture's translation plugs in behind [`vmcore::arch::Arch`]: a linear map (as a
/// test image or another architecture's direct map would be) reads through the dump's cache
/// like the x86-64 page tables, across pages, and says what it is.
#[test]
fn another_architecture_plugs_in_behind_arch() {
    use vmcore::arch::{Arch, ArchFacts};
    #[derive(Debug)]
    struct Linear(u64);
    impl Arch for Linear {
        fn translate_sized(
            &self,
            _: &dyn vmcore::PhysMem,
            vaddr: u64,
        ) -> vmcore::Result<(u64, u32)> {
            vaddr
                .checked_sub(self.0)
                .map(|p| (p, 12))
                .ok_or_else(|| vmcore::Error::Missing(format!("{vaddr:#x} below the map")))
        }
        fn facts(&self) -> ArchFacts {
            let mut f = KernelLayout {
                top_table: 0,
                levels: 4,
                phys_base: 0,
                kaslr_offset: 0,
            }
            .facts();
            f.machine = "linear-test";
            f.levels = None;
            f
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }
    let (img, _) = image(4);
    let elf = write_elf(
        &img,
        &ElfOptions {
            notes: note("CORE", 1, &[0u8; 336]),
            sparse: true,
            filtered: false,
            phdrs_late: true,
            ..Default::default()
        },
    );
    let mut d = Dump::open(&tmp("linear-arch", &elf)).unwrap();
    let base = 0xffff_8880_0000_0000u64;
    d.set_arch(Box::new(Linear(base)));
    assert!(d.layout().is_none(), "not an x86-64 layout");
    assert_eq!(d.arch().unwrap().facts().machine, "linear-test");
    // "page 0x7" was written at pfn 7; a read crossing into the next page works too
    let mut buf = [0u8; 8];
    d.read_virt(base + 7 * 4096, &mut buf).unwrap();
    assert_eq!(&buf, b"page 0x7");
    let mut across = [0u8; 16];
    d.read_virt(base + 8 * 4096 - 8, &mut across).unwrap();
    assert!(d.read_virt(base - 4096, &mut buf).is_err());
}
