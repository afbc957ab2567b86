//! On the real Debian dumps (5.10, 6.1, 6.12) of the real-dump tier (skipped with a note when they are absent):
//! the things the drgn oracle does not cover.
//!
//! `SKBWALK_DUMPS_DIR` names a capture directory made by `testdata/real/make-dumps.sh`.

use std::path::PathBuf;

use skbwalk::hashtables::{hashed_sockets, Table};
use skbwalk::warnings::Warnings;
use skbwalk::{socket_report, Kernel};

fn capture() -> Option<(PathBuf, serde_json::Value)> {
    let Some(dir) = std::env::var_os("SKBWALK_DUMPS_DIR").map(PathBuf::from) else {
        eprintln!("note: SKBWALK_DUMPS_DIR not set; real-dump checks skipped (./test.sh sets it)");
        return None;
    };
    let m = std::fs::read(dir.join("manifest.json")).ok()?;
    Some((dir, serde_json::from_slice(&m).ok()?))
}

#[test]
fn every_inet_socket_is_in_its_kernel_hash_table() {
    let Some((dir, m)) = capture() else { return };
    let vmlinux = PathBuf::from(m["kernel"]["vmlinux"].as_str().unwrap());
    for boot in ["A", "B", "C"] {
        let k = Kernel::open(&dir.join(boot).join("vmcore.elf"), Some(&vmlinux)).unwrap();
        let mut w = Warnings::default();
        let hashed = hashed_sockets(&k, k.off().unwrap(), &mut w);
        assert!(w.is_empty(), "{:?}", w.into_vec());
        // Before 5.19 listeners are found in `listening_hash`, from 5.19 in `lhash2`.
        let listen = if k.types.has_member("inet_hashinfo", "listening_hash") {
            Table::TcpListeningHash
        } else {
            Table::TcpListen
        };
        let mut checked = 0;
        for s in m["boots"][boot]["sockets"].as_array().unwrap() {
            let (pid, fd) = (
                s["pid"].as_i64().unwrap() as i32,
                s["fd"].as_u64().unwrap() as u32,
            );
            let r = socket_report(&k, pid, fd).unwrap();
            let want = match (
                r.id.family.as_str(),
                r.id.sock_type.as_str(),
                r.id.state.as_str(),
            ) {
                ("AF_INET" | "AF_INET6", "SOCK_STREAM", "LISTEN") => listen,
                ("AF_INET" | "AF_INET6", "SOCK_STREAM", _) => Table::TcpEstablished,
                ("AF_INET" | "AF_INET6", "SOCK_DGRAM", _) => Table::Udp,
                _ => continue,
            };
            let found = hashed.iter().find(|h| h.sk == r.id.sock.0);
            assert_eq!(
                found.map(|h| h.table),
                Some(want),
                "boot {boot} pid {pid} fd {fd} {} {}",
                r.id.family,
                r.id.state
            );
            checked += 1;
        }
        assert!(
            checked >= 8,
            "boot {boot}: only {checked} inet sockets checked"
        );
    }
}

#[test]
fn page_refcounts_equal_the_references_found_but_for_driver_held_pages() {
    let Some((dir, m)) = capture() else { return };
    let vmlinux = PathBuf::from(m["kernel"]["vmlinux"].as_str().unwrap());
    let k = Kernel::open(&dir.join("A").join("vmcore.elf"), Some(&vmlinux)).unwrap();
    let t = skbwalk::top(&k, |_, _| {}).unwrap();
    let p = &t.page_refs;
    assert!(p.pages >= 100, "{p:?}");
    assert_eq!((p.fewer_than_found, p.unreadable), (0, 0), "{p:?}");
    // Every frag holds exactly one reference: only pages the driver still uses (its receive ring's
    // posted buffers, its page-frag cache's current page) hold more.
    assert!(p.pages_with_unaccounted * 20 <= p.pages, "{p:?}");
}
