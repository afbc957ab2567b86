//! `--vmcore` given once per part of a split set, `info` listing parts, and `info` on a dump
//! whose kernel cannot be located (files made by `testdata`'s writers).

use std::path::PathBuf;

mod common;
use common::run;

use testdata::kdump_writer::{write_split_set, Compression, KdumpOptions};
use testdata::phys::{PhysImage, PAGE_SIZE};

fn parts() -> (Vec<PathBuf>, Vec<(u64, u64)>) {
    let mut img = PhysImage::new(vec![(0, 0x9f000), (0x10_0000, 0x40_0000)]);
    for pfn in img.ram_pfns().collect::<Vec<_>>() {
        img.write(
            pfn * PAGE_SIZE,
            format!("pfn {pfn:#x};").repeat(100).as_bytes(),
        );
    }
    let opts = KdumpOptions {
        compression: Compression::Zlib,
        ..Default::default()
    };
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skbwalk-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let set = write_split_set(&img, &opts, 3);
    let paths = set
        .iter()
        .enumerate()
        .map(|(i, (b, _))| {
            let p = dir.join(format!("part{i}"));
            std::fs::write(&p, b).unwrap();
            p
        })
        .collect();
    (paths, set.iter().map(|s| s.1).collect())
}

#[test]
fn a_split_set_is_given_part_by_part() {
    let (p, ranges) = parts();
    let s: Vec<&str> = p.iter().map(|p| p.to_str().unwrap()).collect();
    let o = run(&[
        "--vmcore", s[0], "--vmcore", s[1], "--vmcore", s[2], "info", "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let i: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(i["parts"].as_array().unwrap().len(), 3, "{i}");
    assert_eq!(i["missing_pfns"].as_array().unwrap().len(), 0, "{i}");
    assert_eq!(i["parts"][1]["start_pfn"], format!("{:#x}", ranges[1].0));
    // A page of the middle part, through the set and through that part alone.
    let pfn = ranges[1].0 + 2;
    let addr = format!("{:#x}", pfn * PAGE_SIZE);
    let want = format!("pfn {pfn:#x};");
    for vm in [
        &["--vmcore", s[0], "--vmcore", s[1], "--vmcore", s[2]][..],
        &["--vmcore", s[1]],
    ] {
        let mut a = vm.to_vec();
        a.extend(["read", "--phys", &addr, "16"]);
        let o = run(&a);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains(&want[..8]));
    }
    // The same page through another part alone: refused, in one sentence, exit 1.
    let o = run(&["--vmcore", s[0], "read", "--phys", &addr, "16"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("not in this file") && e.trim().lines().count() == 1,
        "{e}"
    );
    // info on the lone part: its range and the missing ones, with a warning; exit 0.
    let o = run(&["--vmcore", s[0], "info"]);
    assert!(o.status.success());
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(
        t.contains("split part:") && t.contains("missing part:"),
        "{t}"
    );
    // info needs no kernel: a dump with neither VMCOREINFO nor CPU state still reports its own
    // facts, with a warning that the kernel was not located (exit 0; 3 under --strict).
    let args = [
        "--vmcore", s[0], "--vmcore", s[1], "--vmcore", s[2], "info", "--json",
    ];
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let i: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(i["complete"], false);
    assert!(
        i["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("could not be located"),
        "{i}"
    );
    assert_eq!(
        i["pages_present"].as_u64(),
        Some(
            i["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["pages_present"].as_u64().unwrap())
                .sum()
        )
    );
    let mut strict = args.to_vec();
    strict.push("--strict");
    assert_eq!(run(&strict).status.code(), Some(3));
}
