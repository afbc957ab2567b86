//! `meminfo` on synthetic machines of every layout generation: counters by enumerator name,
//! exact = global + every online CPU's delta, the breakdown, and damaged per-CPU areas.

mod common;
use common::open_kernel;

use skbwalk::meminfo::meminfo;
use testdata::sample::write_qemu_elf;
use testdata::synth::SynthKernel;
use testdata::vmstat::VmstatSpec;
use testdata::world::{World, WorldConfig};

const PS: i64 = 4096;

fn machine(gen: u32, name: &str, damage: bool) -> (std::path::PathBuf, World) {
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "skbwalk-meminfo-{}-{gen}-{name}",
        std::process::id()
    ));
    let k = SynthKernel::build_gen(&dir.join("k"), 5, gen).unwrap();
    let mut w = World::new(k, WorldConfig::kaslr());
    w.add_task(1, "init", 8);
    // 5.10 and older keep NR_PAGETABLE and NR_KERNEL_STACK_KB among the zone counters.
    let zone_old = w.k.has("zone.NR_PAGETABLE");
    let mut zone_global = vec![
        ("NR_FREE_PAGES", 100_000),
        ("NR_ZONE_INACTIVE_ANON", 3000),
        ("NR_MLOCK", 7),
    ];
    let mut node_global = vec![
        ("NR_INACTIVE_ANON", 3000),
        ("NR_ACTIVE_ANON", 2000),
        ("NR_INACTIVE_FILE", 10_000),
        ("NR_ACTIVE_FILE", 5000),
        ("NR_UNEVICTABLE", 10),
        ("NR_SLAB_RECLAIMABLE_B", 4000),
        ("NR_SLAB_UNRECLAIMABLE_B", 6000),
        ("NR_ANON_MAPPED", 4500),
        ("NR_FILE_PAGES", 15_500),
        ("NR_SHMEM", 500),
        ("NR_KERNEL_MISC_RECLAIMABLE", 3),
    ];
    let lower = if zone_old {
        &mut zone_global
    } else {
        &mut node_global
    };
    lower.push(("NR_PAGETABLE", 400));
    lower.push(("NR_KERNEL_STACK_KB", 1024));
    let spec = VmstatSpec {
        possible: 4,
        online: vec![0, 1, 3],
        zone_global,
        node_global,
        zone_deltas: vec![
            (0, 1, "NR_FREE_PAGES", -20),
            (1, 2, "NR_FREE_PAGES", 5),
            (2, 1, "NR_FREE_PAGES", 100), // offline CPU: not counted
            (3, 0, "NR_ZONE_INACTIVE_ANON", 8),
        ],
        node_deltas: vec![
            (0, "NR_INACTIVE_ANON", 8),
            (3, "NR_ACTIVE_ANON", -3),
            (1, "NR_SLAB_UNRECLAIMABLE_B", 12),
            (2, "NR_SHMEM", 50), // offline
        ],
        totalram_pages: 262_144,
        vmalloc_pages: 1500,
        pcpu: (40, 4),
        unmapped_cpus: if damage { vec![3] } else { vec![] },
    };
    w.set_vmstat(&spec);
    let p = dir.join("vmcore.elf");
    write_qemu_elf(&mut w, &p, true).unwrap();
    (p, w)
}

#[test]
fn counters_and_breakdown_on_every_generation() {
    for gen in [4, 510, 61, 612] {
        let (p, w) = machine(gen, "ok", false);
        let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
        let m = meminfo(&k).unwrap();
        let c = |n: &str| {
            m.counters
                .get(n)
                .copied()
                .unwrap_or_else(|| panic!("gen {gen}: no {n}"))
        };
        assert!(m.complete, "gen {gen}: {:?}", m.warnings);
        assert_eq!(m.online_cpus, vec![0, 1, 3], "gen {gen}");
        // global as stored; exact adds online CPUs' deltas of every zone
        assert_eq!(
            (c("NR_FREE_PAGES").global, c("NR_FREE_PAGES").exact),
            (100_000, 99_985),
            "gen {gen}"
        );
        assert_eq!(c("NR_ZONE_INACTIVE_ANON").exact, 3008, "gen {gen}");
        assert_eq!(c("NR_INACTIVE_ANON").exact, 3008, "gen {gen}");
        assert_eq!(c("NR_ACTIVE_ANON").exact, 1997, "gen {gen}");
        assert_eq!(c("NR_SLAB_UNRECLAIMABLE_B").exact, 6012, "gen {gen}");
        assert_eq!(
            c("NR_SHMEM").exact,
            500,
            "gen {gen}: an offline CPU's delta counted"
        );
        assert_eq!(c("NR_MLOCK").exact, 7);
        // aliases and item counts are not counters; a counter's name is the real one
        for alias in [
            "NR_LRU_BASE",
            "NR_ZONE_LRU_BASE",
            "NR_VM_ZONE_STAT_ITEMS",
            "NR_VM_NODE_STAT_ITEMS",
        ] {
            assert!(!m.counters.contains_key(alias), "gen {gen}: {alias} listed");
        }
        let b = &m.breakdown;
        assert_eq!(b.total, 262_144 * PS);
        assert_eq!(b.free, 99_985 * PS);
        assert_eq!(b.user, (3008 + 1997 + 10_000 + 5000 + 10) * PS, "gen {gen}");
        assert_eq!(b.lines.file, 15_000 * PS);
        assert_eq!(b.lines.percpu, 160 * PS);
        assert!(!b.stacks_in_vmalloc);
        let kernel = (4000 + 6012 + 400 + 1500 + 160 + 3) * PS + 1024 * 1024;
        assert_eq!(b.kernel, kernel, "gen {gen}");
        assert_eq!(b.allocpage, b.total - b.free - b.user - b.kernel);
    }
}

#[test]
fn an_unreadable_per_cpu_area_is_a_warning_not_a_wrong_total() {
    let (p, w) = machine(61, "damaged", true);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let m = meminfo(&k).unwrap();
    assert!(!m.complete);
    assert!(
        m.warnings.iter().any(|x| x.message.contains("CPU 3")),
        "{:?}",
        m.warnings
    );
    // CPU 3's deltas are left out, the others are in
    assert_eq!(m.counters["NR_ACTIVE_ANON"].exact, 2000);
    assert_eq!(m.counters["NR_INACTIVE_ANON"].exact, 3008);
}

#[test]
fn the_census_classifies_every_page_and_names_the_skb_pages() {
    // x86-64 on three layout generations, and arm64 with 64 KiB pages
    for (gen, cfg, name) in [
        (510, WorldConfig::kaslr(), "510"),
        (61, WorldConfig::kaslr(), "61"),
        (612, WorldConfig::kaslr(), "612"),
        (61, WorldConfig::arm64_64k(), "61-arm64-64k"),
    ] {
        let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("skbwalk-census-{}-{name}", std::process::id()));
        let k = SynthKernel::build_gen(&dir.join("k"), 5, gen).unwrap();
        let mut w = testdata::sample::incident_world(
            k,
            cfg,
            testdata::sample::SampleSize { stalled_skbs: 300 },
        );
        let page = w.page_size();
        w.add_vmalloc(37);
        w.add_vmalloc(5);
        let p = dir.join("vmcore.elf");
        write_qemu_elf(&mut w, &p, true).unwrap();
        let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
        let m = meminfo(&k).unwrap();
        let c = m.census.as_ref().expect("census");
        assert!(m.complete, "{name}: {:?}", m.warnings);
        assert_eq!(c.other.vmalloc, 42, "{name}");
        let t = skbwalk::top(&k, Default::default()).unwrap();
        assert_eq!(
            c.pages,
            w.cfg.ram_size / page,
            "{name}: every pfn below max_pfn"
        );
        assert_eq!(
            c.classes.values().sum::<u64>(),
            c.pages,
            "{name}: one class per page"
        );
        assert_eq!(
            c.other.skb,
            t.totals.page_bytes / page,
            "{name}: every page the queues hold is census other/skb"
        );
        assert!(c.classes["slab"] > 0, "{name}: {:?}", c.classes);
        let o = c.classes["other"];
        assert_eq!(
            o,
            c.other.skb + c.other.vmalloc + c.other.unattributed,
            "{name}"
        );
        assert!(c.checks.iter().any(|x| x.class == "free"), "{name}");
    }
}

#[test]
fn fuzz_finding_garbage_counters_saturate_instead_of_overflowing() {
    // fuzz/findings/meminfo: counters and per-CPU deltas near i64::MAX overflowed the
    // breakdown's sums (a panic in debug builds, a wrapped total in release).
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skbwalk-meminfo-{}-garbage", std::process::id()));
    let k = SynthKernel::build_gen(&dir.join("k"), 5, 61).unwrap();
    let mut w = World::new(k, WorldConfig::kaslr());
    w.add_task(1, "init", 8);
    w.set_vmstat(&VmstatSpec {
        possible: 1,
        online: vec![0],
        zone_global: vec![("NR_FREE_PAGES", i64::MAX)],
        node_global: vec![
            ("NR_INACTIVE_ANON", i64::MAX),
            ("NR_ACTIVE_ANON", i64::MAX),
            ("NR_FILE_PAGES", i64::MIN),
            ("NR_SHMEM", i64::MAX),
            ("NR_SLAB_RECLAIMABLE_B", i64::MAX),
            ("NR_SLAB_UNRECLAIMABLE_B", i64::MAX),
        ],
        zone_deltas: vec![(0, 0, "NR_FREE_PAGES", 127)],
        node_deltas: vec![(0, "NR_ACTIVE_ANON", 127)],
        totalram_pages: u64::MAX,
        vmalloc_pages: u64::MAX,
        pcpu: (u64::MAX, u32::MAX),
        unmapped_cpus: vec![],
    });
    let p = dir.join("vmcore.elf");
    write_qemu_elf(&mut w, &p, true).unwrap();
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let m = meminfo(&k).unwrap();
    assert_eq!(
        m.counters["NR_FREE_PAGES"].exact,
        i64::MAX,
        "saturated, not wrapped"
    );
    assert!(!m.complete, "garbage counters went unnoticed");
    let e = skbwalk::explain::explain(&k).unwrap();
    assert!(!e.complete);
}

#[test]
fn an_unreadable_counter_array_leaves_its_counters_out_with_a_warning() {
    let (_, mut w) = machine(61, "no-node-stat", false);
    // a filtered dump that lost the page of vm_node_stat[] (the synthetic kernel gives each
    // array a page of its own)
    let pfn = w.phys(w.ksym("vm_node_stat")) / 4096;
    assert_ne!(pfn, w.phys(w.ksym("vm_zone_stat")) / 4096);
    let vi = w.finish();
    let opts = testdata::kdump_writer::KdumpOptions {
        compression: testdata::kdump_writer::Compression::Zlib,
        header_version: 6,
        vmcoreinfo: Some(vi.clone().into_bytes()),
        notes: Some(testdata::sample::qemu_notes(&w, false, &vi)),
        exclude_pfns: vec![pfn],
        ..Default::default()
    };
    let p = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "skbwalk-meminfo-{}-no-node-stat.kdump",
        std::process::id()
    ));
    std::fs::write(&p, testdata::kdump_writer::write_kdump(&w.img, &opts)).unwrap();
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let m = meminfo(&k).unwrap();
    assert!(!m.complete);
    assert!(
        m.warnings
            .iter()
            .any(|x| x.message.contains("vm_node_stat")),
        "{:?}",
        m.warnings
    );
    assert!(
        !m.counters.contains_key("NR_ACTIVE_ANON"),
        "a node counter reported from an unreadable array"
    );
    assert_eq!(
        m.counters["NR_FREE_PAGES"].global, 100_000,
        "the zone counters are there"
    );
    // the census does not need the counters
    assert!(m.census.as_ref().is_some_and(|c| c.pages > 0));
}

#[test]
fn fuzz_finding_a_null_task_list_does_not_underflow_the_stack_check() {
    // fuzz/findings/meminfo: init_task.tasks.next = 0 made "where do stacks live" underflow.
    let (_, mut w) = machine(61, "null-tasks", false);
    let head = w.ksym("init_task") + w.k.o("task_struct.tasks");
    w.write_u64(head, 0);
    let p = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "skbwalk-meminfo-{}-null-tasks.elf",
        std::process::id()
    ));
    write_qemu_elf(&mut w, &p, true).unwrap();
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let m = meminfo(&k).unwrap();
    assert!(!m.complete);
    assert!(
        m.warnings.iter().any(|x| x.message.contains("task stacks")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn fuzz_finding_a_garbage_node_pointer_is_skipped_not_overflowed() {
    // fuzz/findings/meminfo: node_data[0] near the top of the address space overflowed the
    // zone address arithmetic.
    let (_, mut w) = machine(61, "garbage-node", false);
    let nd = w.ksym("node_data");
    w.write_u64(nd, 0xffff_ffff_ffff_f000);
    let p = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "skbwalk-meminfo-{}-garbage-node.elf",
        std::process::id()
    ));
    write_qemu_elf(&mut w, &p, true).unwrap();
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let m = meminfo(&k).unwrap();
    // the node is not a pointer into memory: its per-CPU deltas are not added
    assert_eq!(
        m.counters["NR_FREE_PAGES"].exact,
        m.counters["NR_FREE_PAGES"].global
    );
    let _ = skbwalk::explain::explain(&k).unwrap();
}

/// A CPU's partial slab list that comes back on itself is said, not cut short silently:
/// explain's slab usage warns of the loop and the report is incomplete.
#[test]
fn a_looping_per_cpu_partial_slab_list_is_a_warning() {
    use testdata::sample::{incident_world, SampleSize};
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("meminfo-partial-loop-{}", std::process::id()));
    let k = SynthKernel::build_gen(&dir.join("k"), 4, 61).unwrap();
    let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 20 });
    w.finish();
    let kc = w.read_u64(w.ksym("skbuff_head_cache"));
    let cpu_slab = w.read_u64(kc + w.k.o("kmem_cache.cpu_slab"));
    let kcc = cpu_slab.wrapping_add(w.read_u64(w.ksym("__per_cpu_offset")));
    // a slab whose next is itself, on CPU 0's partial list
    let p = w.alloc_pages(0);
    let slab = w.virt(p);
    w.write_u64(slab + w.k.o("slabobj.list"), slab);
    w.write_u64(kcc + w.k.o("kmem_cache_cpu.partial"), slab);
    let path = dir.join("vmcore.elf");
    write_qemu_elf(&mut w, &path, true).unwrap();
    let k = open_kernel(&path, Some(&w.k.vmlinux)).unwrap();
    let e = skbwalk::explain::explain(&k).unwrap();
    assert!(!e.complete);
    assert!(
        e.warnings
            .iter()
            .any(|x| x.message.contains("partial slab list loops")),
        "{:?}",
        e.warnings
    );
    std::fs::remove_dir_all(&dir).ok();
}
