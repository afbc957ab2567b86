//! The walk against synthetic dumps whose every object the fixture placed (and recorded) itself.

mod common;
use common::open_kernel;

use std::collections::BTreeMap;

use skbwalk::{socket_report, top, Kernel};
use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
use testdata::synth::SynthKernel;
use testdata::world::{ExpectedSocket, World, WorldConfig};

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skbwalk-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Build the incident world and write it as a sparse ELF dump; returns (dump path, world).
fn incident(
    name: &str,
    cfg: WorldConfig,
    vmcoreinfo: bool,
    skbs: usize,
) -> (std::path::PathBuf, World) {
    let dir = tmpdir(name);
    let k = SynthKernel::build(&dir.join("k"), 5).unwrap();
    let mut w = incident_world(k, cfg, SampleSize { stalled_skbs: skbs });
    let path = dir.join("vmcore");
    write_qemu_elf(&mut w, &path, vmcoreinfo).unwrap();
    (path, w)
}

/// The six figures the fixture can predict, in `expected_totals` order.
fn figures(t: &skbwalk::account::Totals) -> (u64, u64, u64, u64, u64, u64) {
    (
        t.skbs,
        t.len,
        t.truesize,
        t.unique_pages,
        t.page_bytes,
        t.pinned_bytes,
    )
}

fn expected_totals(s: &ExpectedSocket) -> (u64, u64, u64, u64, u64, u64) {
    let mut pages = BTreeMap::new();
    let (mut len, mut truesize, mut other) = (0u64, 0u64, 0u64);
    for skb in &s.skbs {
        if skb.parent.is_none() {
            len += skb.len as u64;
            truesize += skb.truesize as u64;
        }
        other += skb.head_bytes + skb.struct_bytes;
        pages.extend(skb.pages.iter().map(|(&h, &o)| (h, skb.page_size << o)));
    }
    let page_bytes: u64 = pages.values().sum();
    (
        s.skbs.len() as u64,
        len,
        truesize,
        pages.len() as u64,
        page_bytes,
        page_bytes + other,
    )
}

fn check_socket(k: &Kernel, s: &ExpectedSocket) {
    let r =
        socket_report(k, s.pid, s.fd).unwrap_or_else(|e| panic!("pid {} fd {}: {e}", s.pid, s.fd));
    assert!(r.warnings.is_empty(), "warnings: {:?}", r.warnings);
    assert_eq!(r.id.sock.0, s.sock);
    assert_eq!(
        r.skbs.len(),
        s.skbs.len(),
        "skb count of pid {} fd {}",
        s.pid,
        s.fd
    );
    for (got, want) in r.skbs.iter().zip(&s.skbs) {
        assert_eq!(got.addr, want.addr);
        assert_eq!(got.queue.as_str(), want.queue.name());
        assert_eq!(got.parent, want.parent);
        assert_eq!(
            (got.len, got.data_len, got.truesize, got.head_frag),
            (want.len, want.data_len, want.truesize, want.head_frag)
        );
        assert_eq!(got.frags.len(), want.frags.len());
        for (gf, wf) in got.frags.iter().zip(&want.frags) {
            assert_eq!(
                (
                    gf.page,
                    gf.compound.map_or(gf.page, |c| c.head),
                    gf.compound.map_or(0, |c| c.order),
                    gf.offset,
                    gf.size
                ),
                (wf.page, wf.head, wf.order, wf.offset, wf.size)
            );
        }
        assert_eq!(
            got.head_bytes, want.head_bytes,
            "head bytes of {:#x}",
            want.addr
        );
        assert_eq!(got.struct_bytes, want.struct_bytes);
        assert_eq!(got.pinned_bytes(), want.pinned());
    }
    assert_eq!(figures(&r.totals), expected_totals(s));
    assert_eq!(r.kernel.sk_rmem_alloc, s.rmem_alloc as i64);
    assert_eq!(r.kernel.sk_wmem_queued, s.wmem_queued as i64);
}

#[test]
fn every_socket_matches_the_fixture_kaslr() {
    let (path, w) = incident("kaslr", WorldConfig::kaslr(), true, 300);
    let k = open_kernel(&path, Some(&w.k.vmlinux)).unwrap();
    assert_eq!(k.kaslr_offset(), w.cfg.kaslr_offset);
    for s in w.sockets.iter().filter(|s| s.pid > 0) {
        check_socket(&k, s);
    }
    let r = socket_report(&k, 146935, 11).unwrap();
    assert_eq!(r.comm, "nginx");
    assert_eq!(r.cgroup.as_deref(), Some(testdata::sample::POD_A));
    assert_eq!(r.id.family, "AF_INET");
    assert_eq!(r.id.sock_type, "SOCK_STREAM");
    assert_eq!(r.id.state, "ESTABLISHED");
    assert_eq!(r.id.local.as_deref(), Some("10.0.0.5:443"));
    assert_eq!(r.id.remote.as_deref(), Some("10.0.0.9:51234"));
    assert!(
        r.totals.amplification > 2.0,
        "the incident's shape pins far more than truesize: {:?}",
        r.totals
    );
    assert!(r.skbs.iter().any(|s| s.nr_frags == 17));
}

/// arm64 with 64 KiB pages (RHEL's and Alibaba Cloud Linux's kernels): the walk finds every
/// socket as the fixture wrote it, frags on order-0 64 KiB pages (`SKB_FRAG_PAGE_ORDER` is 0),
/// and `top` ranks the stalled socket first with page bytes counted in 64 KiB pages.
#[test]
fn every_socket_matches_the_fixture_on_arm64_with_64k_pages() {
    let (path, w) = incident("arm64-64k", WorldConfig::arm64_64k(), true, 300);
    assert_eq!(w.frag_order(), 0);
    let k = open_kernel(&path, Some(&w.k.vmlinux)).unwrap();
    assert_eq!(k.page_size(), 65536);
    assert_eq!(k.kaslr_offset(), w.cfg.kaslr_offset);
    assert_eq!(k.vmemmap_base(), w.cfg.vmemmap_base);
    for s in w.sockets.iter().filter(|s| s.pid > 0) {
        check_socket(&k, s);
    }
    let r = socket_report(&k, 146935, 11).unwrap();
    assert!(r.skbs.iter().any(|s| s.nr_frags == 17));
    assert!(r
        .skbs
        .iter()
        .flat_map(|s| &s.frags)
        .all(|f| f.compound.is_none_or(|c| c.order == 0)));
    let t = top(&k, Default::default()).unwrap();
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(t.sockets[0].pid, Some(146935));
    assert_eq!(t.sockets[0].totals.page_bytes % 65536, 0);
    let nginx = w
        .sockets
        .iter()
        .find(|s| s.pid == 146935 && s.fd == 11)
        .unwrap();
    assert_eq!(figures(&t.sockets[0].totals), expected_totals(nginx));
}

#[test]
fn nokaslr_and_no_vmcoreinfo_locate_the_kernel_from_cr3() {
    for (name, cfg) in [
        ("nokaslr", WorldConfig::nokaslr()),
        ("cr3", WorldConfig::kaslr()),
    ] {
        let (path, w) = incident(name, cfg, false, 50);
        let k = open_kernel(&path, Some(&w.k.vmlinux)).unwrap();
        assert_eq!(k.kaslr_offset(), w.cfg.kaslr_offset, "{name}");
        assert_eq!(
            k.dump().unwrap().layout().unwrap().phys_base,
            w.cfg.phys_base(),
            "{name}"
        );
        assert!(k.notes().iter().any(|n| n.contains("no VMCOREINFO")));
        for s in w.sockets.iter().filter(|s| s.pid > 0) {
            check_socket(&k, s);
        }
    }
}

#[test]
fn top_ranks_the_stalled_socket_first_and_dedupes_pages() {
    let (path, w) = incident("top", WorldConfig::kaslr(), true, 200);
    let k = open_kernel(&path, Some(&w.k.vmlinux)).unwrap();
    let t = top(&k, Default::default()).unwrap();
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    // every holder with its cgroup: the pods', the services', none for sockets no fd reaches
    let cg = |pid: i32| {
        t.sockets
            .iter()
            .find(|s| s.pid == Some(pid))
            .and_then(|s| s.cgroup.clone())
    };
    assert_eq!(cg(146935).as_deref(), Some(testdata::sample::POD_A));
    assert_eq!(cg(2001).as_deref(), Some(testdata::sample::POD_B));
    assert_eq!(cg(812).as_deref(), Some("/system.slice/ssh.service"));
    assert_eq!(cg(1).as_deref(), Some("/init.scope"));
    for s in &t.sockets {
        assert_eq!(s.cgroup.is_some(), s.pid.is_some(), "{:?}", s.id);
        assert!(s.holders.iter().all(|h| h.cgroup == s.cgroup));
    }
    assert_eq!(t.sockets.len(), w.sockets.len() + w.mini_socks().len());
    assert_eq!(
        (t.sockets[0].pid, t.sockets[0].fd),
        (Some(146935), Some(11))
    );
    // Sockets no fd reaches come from tcp_hashinfo: the orphan with its write queue, and mini-sockets.
    let orphan = w.sockets.iter().find(|s| s.pid < 0).unwrap();
    let found = t
        .sockets
        .iter()
        .find(|s| s.id.sock.0 == orphan.sock)
        .expect("orphan found");
    assert_eq!(
        (
            found.reached_by,
            found.id.state.to_string().as_str(),
            found.pid
        ),
        ("tcp_ehash", "FIN_WAIT1", None)
    );
    assert_eq!(figures(&found.totals), expected_totals(orphan));
    for &(addr, state) in w.mini_socks() {
        let m = t
            .sockets
            .iter()
            .find(|s| s.id.sock.0 == addr)
            .expect("mini-socket found");
        assert_eq!(
            m.id.state,
            if state == 6 {
                "TIME_WAIT"
            } else {
                "NEW_SYN_RECV"
            }
        );
        assert_eq!(m.totals.skbs, 0);
    }
    // Listening and UDP sockets are in their tables too, but reached by fd first.
    assert!(t
        .sockets
        .iter()
        .filter(|s| s.id.state == "LISTEN")
        .all(|s| s.reached_by == "fd"));
    // Every frag and page-fragment head holds one reference; the fixture's frag caches hold one more
    // on each page they carved, which top reports as unaccounted.
    let pr = &t.page_refs;
    let frags: u64 = w
        .sockets
        .iter()
        .flat_map(|s| &s.skbs)
        .map(|s| s.frags.len() as u64 + u64::from(s.head_frag))
        .sum();
    assert_eq!(pr.refs_found, frags);
    assert_eq!(pr.pages, t.totals.unique_pages);
    assert_eq!((pr.fewer_than_found, pr.unreadable), (0, 0));
    assert_eq!(pr.pages_with_unaccounted, pr.pages);
    assert_eq!(pr.unaccounted_refs, pr.pages);
    assert!(pr
        .examples
        .iter()
        .all(|e| e.unaccounted == 1 && e.refcount as u64 == e.refs_found + 1));
    // nginx's thread shares the fd table: one entry per struct file, holders listed once per process.
    assert_eq!(t.sockets[0].holders.len(), 1);
    let mut pages = BTreeMap::new();
    for s in &w.sockets {
        for skb in &s.skbs {
            pages.extend(skb.pages.iter().map(|(&h, &o)| (h, o)));
        }
    }
    assert_eq!(t.totals.unique_pages, pages.len() as u64);
    // Sockets fed from the same frag caches share pages: the system total is less than the sum.
    let sum: u64 = t.sockets.iter().map(|s| s.totals.page_bytes).sum();
    assert!(t.totals.page_bytes <= sum);
    for s in t.sockets.iter().filter(|s| s.reached_by == "fd") {
        let (pid, fd) = (s.pid.unwrap(), s.fd.unwrap());
        let r = socket_report(&k, pid, fd).unwrap();
        assert_eq!(
            (&r.totals, &r.queues),
            (&s.totals, &s.queues),
            "top and the socket report agree for pid {pid} fd {fd}"
        );
    }
}

#[test]
fn errors_name_what_is_wrong() {
    let (path, w) = incident("errors", WorldConfig::nokaslr(), true, 5);
    let k = open_kernel(&path, Some(&w.k.vmlinux)).unwrap();
    let e = socket_report(&k, 4242, 1).unwrap_err().to_string();
    assert!(
        e.contains("no process with pid 4242") && e.contains("top"),
        "{e}"
    );
    let e = socket_report(&k, 146935, 12).unwrap_err().to_string();
    assert!(
        e.contains("no open fd 12") && e.contains("2, 5, 6, 11"),
        "{e}"
    );
    let e = socket_report(&k, 146935, 5).unwrap_err().to_string();
    assert!(
        e.contains("not a socket") && e.contains("access.log"),
        "{e}"
    );
}

/// The layouts that moved between kernels — 4.19 `skb_frag_struct` with `page[1].compound_order` and
/// the slab fields in `struct page`, 5.10 `bio_vec` without folios or `struct slab` and listeners in
/// `listening_hash`, 6.12 `netmem` frags with the order in folio `_flags_1` and slabs as a page
/// type — walked with the same code, from DWARF (that each layout is recognised is tested
/// next to `offsets.rs`).
#[test]
fn older_and_newer_frag_and_page_layouts() {
    for gen in [4u32, 510, 612] {
        let dir = tmpdir(&format!("gen{gen}"));
        let k = SynthKernel::build_gen(&dir.join("k"), 4, gen).unwrap();
        let mut w = incident_world(k, WorldConfig::nokaslr(), SampleSize { stalled_skbs: 60 });
        let path = dir.join("vmcore");
        write_qemu_elf(&mut w, &path, true).unwrap();
        let k = open_kernel(&path, Some(&w.k.vmlinux)).unwrap();
        for s in w.sockets.iter().filter(|s| s.pid > 0) {
            check_socket(&k, s);
        }
        if gen == 612 {
            // A frag whose netmem has bit 0 set is a net_iov (devmem), not a page: named, not counted.
            let s = w
                .sockets
                .iter()
                .find(|s| s.pid == 146935 && s.fd == 11)
                .unwrap();
            let skb = s.skbs[0].clone();
            let o = |key: &str| w.k.o(key);
            let mut raw = [0u8; 8];
            w.img.read(w.phys(skb.addr + o("sk_buff.head")), &mut raw);
            let head = u64::from_le_bytes(raw);
            let mut end = [0u8; 4];
            w.img.read(w.phys(skb.addr + o("sk_buff.end")), &mut end);
            let frag0 = head
                + u64::from(u32::from_le_bytes(end))
                + o("skb_shared_info.frags")
                + o("frag.page");
            let page = skb.frags[0].page;
            w.write_u64(frag0, page | 1);
            write_qemu_elf(&mut w, &path, true).unwrap();
            let k = open_kernel(&path, Some(&w.k.vmlinux)).unwrap();
            let r = socket_report(&k, 146935, 11).unwrap();
            assert!(
                r.warnings.iter().any(|m| m.message.contains("net_iov")),
                "{:?}",
                r.warnings
            );
            assert_eq!(r.skbs[0].frags.len(), skb.frags.len());
        }
    }
}

/// `top` walks sockets on several threads: the report is byte for byte the one a single thread
/// makes, and a kept ranking is the head of the full one with the same totals.
#[test]
fn top_is_the_same_on_any_number_of_threads() {
    use skbwalk::top::{top, TopOptions};
    let dir = tmpdir("scale-threads");
    let d = testdata::scale::write_scale(&dir, 700, 7000).unwrap();
    let k = open_kernel(&d.vmcore, Some(&d.vmlinux)).unwrap();
    let run = |threads, keep| {
        let r = top(&k, TopOptions::default().keep(keep).threads(threads)).unwrap();
        serde_json::to_value(&r).unwrap()
    };
    let one = run(1, None);
    assert_eq!(one["totals"]["sockets"], 700);
    assert_eq!(one["totals"]["skbs"], 7000);
    for t in [2, 3, 8] {
        assert_eq!(run(t, None), one, "{t} threads");
    }
    let mut head = one.clone();
    head["sockets"].as_array_mut().unwrap().truncate(25);
    assert_eq!(run(2, Some(25)), head);
}

/// `sock_report` on a `struct sock` address the caller found: the same report as through the
/// owner's fd, without the holder.
#[test]
fn sock_report_by_address_equals_the_fd_report() {
    let (vmcore, w) = incident("sock-report", WorldConfig::kaslr(), true, 30);
    let k = open_kernel(&vmcore, Some(&w.k.vmlinux)).unwrap();
    let by_fd = socket_report(&k, 146935, 11).unwrap();
    let by_addr = skbwalk::sock_report(&k, by_fd.id.sock.0).unwrap();
    assert_eq!(
        serde_json::to_value(&by_addr).unwrap(),
        serde_json::to_value(&by_fd.sock).unwrap()
    );
    assert!(by_addr.totals.skbs >= 30);
    assert!(
        skbwalk::sock_report(&k, 0x1234).is_err(),
        "not a kernel pointer"
    );
}
