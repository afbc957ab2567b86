//! Bad input is normal in forensics: loops, garbage pointers, impossible counts, filtered pages.
//! Each gives a warning and a partial result — never a panic, a hang or unbounded memory.

mod common;
use common::open_kernel;

use skbwalk::{socket_report, top};
use testdata::elf_writer::{write_elf, ElfOptions};
use testdata::kdump_writer::{write_kdump, Compression, KdumpOptions};
use testdata::sample::{incident_world, qemu_notes, SampleSize};
use testdata::synth::SynthKernel;
use testdata::world::{World, WorldConfig};

fn world(name: &str) -> (std::path::PathBuf, World) {
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skbwalk-corrupt-{}-{name}", std::process::id()));
    let k = SynthKernel::build(&dir.join("k"), 4).unwrap();
    let w = incident_world(k, WorldConfig::nokaslr(), SampleSize { stalled_skbs: 40 });
    (dir, w)
}

fn write(dir: &std::path::Path, w: &mut World) -> std::path::PathBuf {
    let vi = w.finish();
    let p = dir.join("vmcore");
    std::fs::write(
        &p,
        write_elf(
            &w.img,
            &ElfOptions {
                notes: qemu_notes(w, true, &vi),
                sparse: true,
                filtered: false,
                phdrs_late: false,
                ..Default::default()
            },
        ),
    )
    .unwrap();
    p
}

/// Finish `w` and write it as a zlib kdump with page `pfn` left out (as makedumpfile filters it).
fn kdump_without(w: &mut World, pfn: u64, name: &str) -> std::path::PathBuf {
    let vi = w.finish();
    let opts = KdumpOptions {
        compression: Compression::Zlib,
        header_version: 6,
        vmcoreinfo: Some(vi.clone().into_bytes()),
        notes: Some(qemu_notes(w, false, &vi)),
        exclude_pfns: vec![pfn],
        ..Default::default()
    };
    let p = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "skbwalk-corrupt-{}-{name}.kdump",
        std::process::id()
    ));
    std::fs::write(&p, write_kdump(&w.img, &opts)).unwrap();
    p
}

/// The `task_struct` of nginx (pid 146935).
fn nginx_task(w: &World) -> u64 {
    (0..)
        .map(|i| w.task_addr(i))
        .find(|&t| w.read_u64(t + w.k.o("task_struct.pid")) as u32 == 146935)
        .unwrap()
}

fn nginx_skbs(w: &World) -> Vec<u64> {
    let s = w
        .sockets
        .iter()
        .find(|s| s.pid == 146935 && s.fd == 11)
        .unwrap();
    s.skbs.iter().map(|s| s.addr).collect()
}

#[test]
fn a_looping_queue_stops_with_the_skbs_walked_so_far() {
    let (dir, mut w) = world("loop");
    let skbs = nginx_skbs(&w);
    let next = w.k.o("sk_buff.next");
    w.write_u64(skbs[9] + next, skbs[4]);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let r = socket_report(&k, 146935, 11).unwrap();
    // skbs 0..=9 forwards; then back from the queue's tail (prev links) to skb 10
    assert_eq!(r.totals.skbs, 40);
    assert!(!r.complete);
    assert!(
        r.warnings.iter().any(|m| m.message.contains("loop")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|m| m.message.contains("30 more skbs found walking back")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_garbage_next_pointer_and_impossible_nr_frags_are_warnings() {
    let (dir, mut w) = world("garbage");
    let skbs = nginx_skbs(&w);
    let next = w.k.o("sk_buff.next");
    w.write_u64(skbs[20] + next, 0xdead_beef_0000_0000);
    // and skb 30's prev: the walk back from the tail stops there too
    w.write_u64(skbs[30] + w.k.o("sk_buff.prev"), 0x0000_beef_0000_0000);
    // skb 3: nr_frags beyond MAX_SKB_FRAGS.
    let (head_off, end_off, nr) = (
        w.k.o("sk_buff.head"),
        w.k.o("sk_buff.end"),
        w.k.o("skb_shared_info.nr_frags"),
    );
    let mut b = [0u8; 8];
    w.img.read(w.phys(skbs[3] + head_off), &mut b);
    let head = u64::from_le_bytes(b);
    let mut e = [0u8; 4];
    w.img.read(w.phys(skbs[3] + end_off), &mut e);
    let shinfo = head + u32::from_le_bytes(e) as u64;
    w.write_bytes(shinfo + nr, &[200]);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let r = socket_report(&k, 146935, 11).unwrap();
    // skbs 0..=20 forwards, 30..=39 back from the tail: 21..=29 lie between the two breaks
    assert_eq!(r.totals.skbs, 31);
    assert!(!r.complete);
    assert!(
        r.warnings
            .iter()
            .any(|m| m.message.contains("10 more skbs found walking back")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|m| m.message.contains("bad next pointer")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|m| m.message.contains("nr_frags 200 exceeds MAX_SKB_FRAGS 17")),
        "{:?}",
        r.warnings
    );
    // top still ranks every socket and carries the warnings.
    let t = top(&k, Default::default()).unwrap();
    assert_eq!(t.sockets.len(), w.sockets.len() + w.mini_socks().len());
    assert!(!t.warnings.is_empty());
}

#[test]
fn an_excluded_page_in_a_filtered_dump_is_named() {
    let (_dir, mut w) = world("excluded");
    let skbs = nginx_skbs(&w);
    let victim = w.phys(skbs[30]) / 4096;
    let p = kdump_without(&mut w, victim, "excluded");
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let r = socket_report(&k, 146935, 11).unwrap();
    assert!(
        r.totals.skbs >= 1 && r.totals.skbs < 40,
        "partial: {}",
        r.totals.skbs
    );
    let msg = r
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(msg.contains("excluded from the dump"), "{msg}");
    // The physical address named lies in the excluded page (its hex starts with the pfn's).
    assert!(
        msg.contains(&format!("physical address {:#x}", victim)),
        "{msg}"
    );
}

#[test]
fn a_task_list_that_loops_does_not_hang() {
    let (dir, mut w) = world("tasks");
    let tasks = w.k.o("task_struct.tasks");
    let t1 = w.task_addr(1);
    let t3 = w.task_addr(3);
    w.write_u64(t3 + tasks, t1 + tasks);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let t = top(&k, Default::default()).unwrap();
    assert!(
        t.warnings
            .iter()
            .any(|m| m.message.contains("init_task.tasks")),
        "{:?}",
        t.warnings
    );
    // nginx sits past the loop: it is found walking back from the list's head
    let r = socket_report(&k, 146935, 11).unwrap();
    assert!(!r.complete);
    assert_eq!(r.totals.skbs, 40);
    assert!(
        r.warnings
            .iter()
            .any(|m| m.message.contains("init_task.tasks") && m.message.contains("walking back")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_pid_past_a_break_in_both_directions_is_not_said_to_be_absent() {
    // the task list broken forwards before nginx and backwards after it: nginx cannot be
    // reached, and "no process with pid" would be a confident wrong answer
    let (dir, mut w) = world("tasks-both");
    let tasks = w.k.o("task_struct.tasks");
    let pid = w.k.o("task_struct.pid");
    let nginx = (0..)
        .find(|&i| w.read_u64(w.task_addr(i) + pid) as u32 == 146935)
        .unwrap();
    let at = w.task_addr(nginx) + tasks;
    // the links into nginx's node (the node before it, or the list's head, and the one after)
    let (before, after) = (w.read_u64(at + 8), w.read_u64(at));
    w.write_u64(before, 0xdead_0000_0000_0000);
    w.write_u64(after + 8, 0xdead_0000_0000_0000);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let err = socket_report(&k, 146935, 11).unwrap_err();
    let e = err.to_string();
    assert!(
        e.contains("pid 146935 is not among the tasks that could be read")
            && e.contains("init_task.tasks"),
        "{e}"
    );
    assert!(!e.contains("no process with pid"), "{e}");
    // the gap as data: a garbage link, and where it was read
    match err {
        skbwalk::Error::PidNotInReadableTasks { pid, gap } => {
            assert_eq!(pid, 146935);
            assert_eq!(gap.kind, skbwalk::warnings::WarningKind::Corrupt, "{gap:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_garbage_cgroup_link_is_a_warning_and_no_path() {
    // nginx's css_set → dfl_cgrp → kn chain broken: its sockets are still walked, the
    // cgroup is unknown (not "/"), and the report says why
    let (dir, mut w) = world("cgroup");
    let t = nginx_task(&w);
    let css = w.read_u64(t + w.k.o("task_struct.cgroups"));
    let cgrp = w.read_u64(css + w.k.o("css_set.dfl_cgrp"));
    let kn = w.read_u64(cgrp + w.k.o("cgroup.kn"));
    w.write_u64(kn + w.k.o("kernfs_node.parent"), 0x4141_4141_4141_4141);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let r = socket_report(&k, 146935, 11).unwrap();
    assert_eq!(r.cgroup, None);
    assert_eq!(r.totals.skbs, 40);
    assert!(
        r.warnings
            .iter()
            .any(|x| x.message.contains("cgroup")
                && x.kind == skbwalk::warnings::WarningKind::Corrupt),
        "{:?}",
        r.warnings
    );
    // a loop of parents ends too
    w.write_u64(kn + w.k.o("kernfs_node.parent"), kn);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let t = top(&k, Default::default()).unwrap();
    let nginx = t.sockets.iter().find(|s| s.pid == Some(146935)).unwrap();
    assert_eq!(nginx.cgroup, None);
    assert!(!t.complete);
    assert!(
        t.warnings.iter().any(|x| x.message.contains("cgroup")
            && x.kind == skbwalk::warnings::WarningKind::Loop),
        "{:?}",
        t.warnings
    );
}

#[test]
fn an_unreadable_tcp_hashinfo_is_unreadable_not_unsupported() {
    // the page holding tcp_hashinfo left out of a filtered dump: the hash tables cannot be
    // walked because of the dump, not because the kernel lacks them
    let (_dir, mut w) = world("hashinfo");
    let victim = w.phys(w.ksym("tcp_hashinfo")) / 4096;
    let p = kdump_without(&mut w, victim, "hashinfo");
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let t = top(&k, Default::default()).unwrap();
    let hw = t
        .warnings
        .iter()
        .find(|w| w.message.starts_with("TCP hash tables not walked"))
        .unwrap_or_else(|| panic!("{:?}", t.warnings));
    assert_eq!(
        hw.kind,
        skbwalk::warnings::WarningKind::Unreadable,
        "{}",
        hw.message
    );
    assert!(hw.message.contains("excluded"), "{}", hw.message);
    // the fd sockets are still there
    assert!(t.sockets.iter().any(|s| s.pid == Some(146935)));
}

#[test]
fn frag_list_fan_in_counts_each_skb_once() {
    // frag_lists pointing at later skbs of the same queue: walked naively, every skb is
    // reached through every path to it (exponential); each must be read once.
    let (dir, mut w) = world("fan-in");
    let skbs = nginx_skbs(&w);
    let (head, end) = (w.k.o("sk_buff.head"), w.k.o("sk_buff.end"));
    let frag_list = w.k.o("skb_shared_info.frag_list");
    for i in 10..26 {
        let shinfo = w.read_u64(skbs[i] + head) + (w.read_u64(skbs[i] + end) & 0xffff_ffff);
        w.write_u64(shinfo + frag_list, skbs[i + 1]);
    }
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let t = std::time::Instant::now();
    let r = socket_report(&k, 146935, 11).unwrap();
    assert!(t.elapsed().as_secs() < 5, "took {:?}", t.elapsed());
    assert_eq!(r.totals.skbs as usize, skbs.len(), "each skb counted once");
    assert!(!r.complete);
    assert!(
        r.warnings
            .iter()
            .any(|m| m.message.contains("a second time")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn an_unreadable_task_list_is_an_error_not_an_empty_machine() {
    let (dir, mut w) = world("no-tasks");
    let head = w.ksym("init_task") + w.k.o("task_struct.tasks");
    w.write_u64(head, 0); // zeroed memory: both links
    w.write_u64(head + 8, 0);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    for e in [
        socket_report(&k, 146935, 11).map(|_| ()).unwrap_err(),
        top(&k, Default::default()).map(|_| ()).unwrap_err(),
    ] {
        let e = e.to_string();
        assert!(e.contains("cannot walk the task list"), "{e}");
        assert!(!e.contains("no process with pid"), "{e}");
    }
}

#[test]
fn an_absurd_fd_table_is_bounded_and_named() {
    let (dir, mut w) = world("max-fds");
    let nginx = nginx_task(&w);
    let files = w.read_u64(nginx + w.k.o("task_struct.files"));
    let fdt = w.read_u64(files + w.k.o("files_struct.fdt"));
    w.write_u32(fdt + w.k.o("fdtable.max_fds"), u32::MAX);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    // fd 11 is still found, with a warning about the table.
    let r = socket_report(&k, 146935, 11).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|m| m.message.contains("max_fds 4294967295")),
        "{:?}",
        r.warnings
    );
    assert!(!r.complete);
    // An fd that is not open: one short sentence, not every slot of the table.
    let e = socket_report(&k, 146935, 100_000)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("has no open fd 100000") && e.len() < 2000,
        "{} bytes: {e:.300}",
        e.len()
    );
}

#[test]
fn debuginfo_of_another_kernel_is_refused() {
    let (dir, mut w) = world("mismatch");
    let p = write(&dir, &mut w);
    // Same types, different build: a vmlinux built from the same source with another release string.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let src = other.join("k.c");
    std::fs::write(&src, testdata::synth::KERNEL61_C).unwrap();
    let obj = other.join("k.o");
    let st = std::process::Command::new("gcc")
        .args([
            "-g",
            "-O0",
            "-fno-pic",
            "-mcmodel=kernel",
            "-ffreestanding",
            "-fno-eliminate-unused-debug-types",
            "-DSYNTH_RELEASE=\"6.1.0-other\"",
            "-c",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    let vml = other.join("vmlinux");
    let st = std::process::Command::new("ld")
        .args([
            "-static",
            "-nostdlib",
            "-e",
            "start_kernel",
            "--build-id",
            "-Ttext=0xffffffff81000000",
            "--defsym=_text=0xffffffff81000000",
            "-o",
        ])
        .arg(&vml)
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    let e = open_kernel(&p, Some(&vml))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("does not match") && e.contains("BUILD-ID"),
        "{e}"
    );
}

#[test]
fn fuzz_finding_a_garbage_vmemmap_base_is_not_an_overflow() {
    // fuzz/findings/walk: a vmemmap_base near the top of the address space made
    // virt_to_page overflow (a panic in debug builds, a wrong page in release).
    let (dir, mut w) = world("vmemmap-base");
    let at = w.ksym("vmemmap_base");
    w.write_u64(at, 0xffff_ffff_ffff_f000);
    let p = write(&dir, &mut w);
    match open_kernel(&p, Some(&w.k.vmlinux)) {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(k) => {
            if let Ok(r) = socket_report(&k, 146935, 11) {
                assert!(!r.complete, "garbage vmemmap_base went unnoticed");
            }
            let _ = top(&k, Default::default());
            let _ = skbwalk::meminfo::meminfo(&k);
        }
    }
}

#[test]
fn a_max_pfn_past_the_dump_stops_the_census_with_a_warning() {
    let (dir, mut w) = world("max-pfn");
    let at = w.ksym("max_pfn");
    w.write_u64(at, 1 << 50);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let t = std::time::Instant::now();
    let m = skbwalk::meminfo::meminfo(&k).unwrap();
    assert!(t.elapsed().as_secs() < 10);
    assert!(!m.complete);
    assert!(
        m.warnings.iter().any(|x| x.message.contains("max_pfn")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn hash_buckets_larger_than_a_page_are_walked_not_looped() {
    // A debuginfo whose inet_ehash_bucket is over 4 KiB once made the bucket loop step 0 (a hang).
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skbwalk-corrupt-{}-big-bucket", std::process::id()));
    let k = SynthKernel::build_with(&dir.join("k"), 4, 61, &["SYNTH_EHASH_PAD=8192"]).unwrap();
    assert!(k.o("inet_ehash_bucket") > 4096);
    let mut w = incident_world(k, WorldConfig::nokaslr(), SampleSize { stalled_skbs: 4 });
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let t = std::time::Instant::now();
    let r = top(&k, Default::default()).unwrap();
    assert!(t.elapsed().as_secs() < 10);
    assert!(
        r.sockets.iter().any(|s| s.id.state == "TIME_WAIT"),
        "the ehash walk found no mini-socket"
    );
}

#[test]
fn fuzz_finding_a_pointer_at_the_top_of_the_address_space_is_not_followed() {
    // fuzz/findings/walk: a task link of 0xffffffffffffff00 passed as a kernel pointer, and
    // task + offset overflowed. No object lives in the last 16 MiB (fixmap, vsyscall).
    let (dir, mut w) = world("top-pointer");
    let tasks = w.k.o("task_struct.tasks");
    let t3 = w.task_addr(3);
    w.write_u64(t3 + tasks, 0xffff_ffff_ffff_ff00);
    let p = write(&dir, &mut w);
    let k = open_kernel(&p, Some(&w.k.vmlinux)).unwrap();
    let t = top(&k, Default::default()).unwrap();
    assert!(!t.complete);
    assert!(
        t.warnings
            .iter()
            .any(|m| m.message.contains("0xffffffffffffff00")),
        "{:?}",
        t.warnings
    );
}
