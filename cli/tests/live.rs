//! `--live`: the running kernel read through /proc/kcore. Here the "running kernel" is the
//! sample machine written as its /proc/kcore under a root (`--live-root`): its answers must be
//! the dump's, each live report must say it is live, and each refusal must name its fix.

use std::path::PathBuf;
use std::sync::OnceLock;

mod common;
use common::{json, run, stderr};

use testdata::sample::{write_sample, SampleSize};

/// (dump, vmlinux, live root).
fn machine() -> &'static (PathBuf, PathBuf, PathBuf) {
    static S: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("skbwalk-cli-live-{}", std::process::id()));
        let (s, w) = write_sample(&dir, SampleSize { stalled_skbs: 60 }).unwrap();
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("proc")).unwrap();
        testdata::kcore_writer::write_kcore(&w, &w.vmcoreinfo(), &root.join("proc/kcore")).unwrap();
        (s.vmcore, s.vmlinux, root)
    })
}

/// A report without its `"source"` and `"live"` keys.
fn content(mut v: serde_json::Value) -> serde_json::Value {
    let o = v.as_object_mut().unwrap();
    o.remove("source");
    o.remove("live");
    v
}

#[test]
fn every_command_answers_live_as_the_dump_does() {
    let (d, v, root) = machine();
    let (d, v, root) = (
        d.to_str().unwrap(),
        v.to_str().unwrap(),
        root.to_str().unwrap(),
    );
    for cmd in [
        &["--pid", "146935", "--fd", "11"][..],
        &["top"],
        &["meminfo"],
        &["explain"],
        &["read", "0xffffffff9d000000", "32"],
    ] {
        let dump = json(&run(
            &[&["--vmcore", d, "--vmlinux", v, "--json"][..], cmd].concat()
        ));
        let live = json(&run(&[
            &["--live", "--live-root", root, "--vmlinux", v, "--json"][..],
            cmd,
        ]
        .concat()));
        assert_eq!(dump["source"], "dump", "{cmd:?}");
        assert_eq!(live["source"], "live", "{cmd:?}");
        let l = &live["live"];
        assert!(l["kcore"].as_str().unwrap().ends_with("proc/kcore"), "{l}");
        assert!(
            l["started"].as_str().unwrap().ends_with('Z') && l["seconds"].as_f64().unwrap() >= 0.0
        );
        assert!(!l["moving"].as_array().unwrap().is_empty());
        assert_eq!(content(dump), content(live), "{cmd:?}");
    }
    let out = run(&["--live", "--live-root", root, "--vmlinux", v, "top"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("live: ") && text.contains("proc/kcore read from"),
        "{text}"
    );
    let info = json(&run(&["--live", "--live-root", root, "info", "--json"]));
    assert_eq!(info["format"], "/proc/kcore (live)");
    assert_eq!(info["arch"], "x86_64");
    assert!(
        info["osrelease"].as_str().is_some_and(|r| !r.is_empty()),
        "{info}"
    );
}

#[test]
fn top_watch_gives_one_document_per_sample_with_growth() {
    let (_, v, root) = machine();
    let out = run(&[
        "--live",
        "--live-root",
        root.to_str().unwrap(),
        "--vmlinux",
        v.to_str().unwrap(),
        "top",
        "--watch",
        "0.2",
        "--samples",
        "3",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let docs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 3);
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(d["sample"], i as u64 + 1);
        assert_eq!(d["source"], "live");
        let g = d["growth"].as_array().unwrap();
        assert_eq!(g.len(), d["sockets"].as_array().unwrap().len());
        // nothing moves in a file: every socket's growth is 0
        assert!(g.iter().all(|x| x["growth_bytes"] == 0), "{g:?}");
    }
    assert!(docs[2]["elapsed_seconds"].as_f64().unwrap() >= 0.4);
}

#[test]
fn refusals_name_their_fix() {
    let (_, v, root) = machine();
    let none = root.join("nothing-here");
    let out = run(&["--live", "--live-root", none.to_str().unwrap(), "top"]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("CONFIG_PROC_KCORE") && e.lines().count() == 1,
        "{e}"
    );
    // a dump and the running kernel at once is bad usage
    let out = run(&["--live", "--vmcore", v.to_str().unwrap(), "top"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // --watch is for the running kernel
    let out = run(&["--vmcore", v.to_str().unwrap(), "top", "--watch", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // no vmlinux: the sample kernel has no BTF in /sys
    let out = run(&["--live", "--live-root", root.to_str().unwrap(), "top"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("CONFIG_DEBUG_INFO_BTF"),
        "{}",
        stderr(&out)
    );
}
