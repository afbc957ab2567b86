//! Where types and symbols come from (`--types`, `--system-map`, no `--vmlinux`) and the
//! `"debuginfo"` object every JSON report carries, on the bundled synthetic sample.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

mod common;
use common::{json, stderr};

use testdata::sample::{write_sample, SampleSize};

struct Sample {
    dir: PathBuf,
    vmcore: PathBuf,
    vmlinux: PathBuf,
}

fn sample() -> &'static Sample {
    static S: OnceLock<Sample> = OnceLock::new();
    S.get_or_init(|| {
        let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("skbwalk-di-{}", std::process::id()));
        let (s, _) = write_sample(&dir, SampleSize { stalled_skbs: 40 }).unwrap();
        Sample {
            dir,
            vmcore: s.vmcore,
            vmlinux: s.vmlinux,
        }
    })
}

/// skbwalk with an empty layout cache of its own (not shared with the other CLI tests).
fn run(args: &[&str]) -> Output {
    common::skbwalk()
        .env("XDG_CACHE_HOME", sample().dir.join("cache"))
        .args(args)
        .output()
        .unwrap()
}

/// The sample's vmlinux with a `.BTF` section pahole made from its DWARF (pahole is one of the
/// suite's tools: .ci/run installs dwarves; without it the test fails, it does not skip).
fn vmlinux_with_btf() -> &'static Path {
    static V: OnceLock<PathBuf> = OnceLock::new();
    V.get_or_init(|| {
        let v = sample().dir.join("vmlinux-btf");
        std::fs::copy(&sample().vmlinux, &v).unwrap();
        let ok = Command::new("pahole")
            .arg("-J")
            .arg(&v)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "pahole -J failed or is missing (Debian package dwarves; .ci/run installs it)"
        );
        v
    })
}

#[test]
fn every_report_says_what_answered() {
    let s = sample();
    let (d, v) = (s.vmcore.to_str().unwrap(), s.vmlinux.to_str().unwrap());
    for cmd in [
        &["info"][..],
        &["top"],
        &["meminfo"],
        &["explain"],
        &["--pid", "146935", "--fd", "11"],
    ] {
        let mut args = vec!["--vmcore", d, "--vmlinux", v, "--json"];
        args.extend_from_slice(cmd);
        let r = json(&run(&args));
        let di = &r["debuginfo"];
        assert_eq!(di["types"], "dwarf", "{cmd:?}: {di}");
        assert_eq!(di["symbols"], "symtab", "{cmd:?}: {di}");
        assert_eq!(di["file"], v, "{cmd:?}: {di}");
    }
    // read --phys needs no kernel: debuginfo is null.
    let r = json(&run(&[
        "--vmcore", d, "--json", "read", "--phys", "0x1000", "16",
    ]));
    assert!(r["debuginfo"].is_null(), "{r}");
}

/// Drop `"debuginfo"` and the warnings' messages (which name the source that answered: "type
/// `x` not found in the BTF of …"); their kinds and addresses stay compared.
fn strip_source_names(r: &mut serde_json::Value) {
    r.as_object_mut().unwrap().remove("debuginfo");
    if let Some(ws) = r.get_mut("warnings").and_then(|w| w.as_array_mut()) {
        for w in ws {
            w.as_object_mut().unwrap().remove("message");
        }
    }
}

#[test]
fn btf_and_dwarf_of_one_vmlinux_give_the_same_reports() {
    let vb = vmlinux_with_btf();
    let s = sample();
    let (d, vb) = (s.vmcore.to_str().unwrap(), vb.to_str().unwrap());
    for cmd in [
        &["top"][..],
        &["meminfo"],
        &["explain"],
        &["--pid", "146935", "--fd", "11"],
    ] {
        let mut base = vec!["--vmcore", d, "--vmlinux", vb, "--json"];
        base.extend_from_slice(cmd);
        let mut btf = json(&run(&base));
        let mut dwarf_args = base.clone();
        dwarf_args.extend_from_slice(&["--types", "dwarf"]);
        let mut dwarf = json(&run(&dwarf_args));
        assert_eq!(btf["debuginfo"]["types"], "btf", "{cmd:?}");
        assert_eq!(dwarf["debuginfo"]["types"], "dwarf", "{cmd:?}");
        for r in [&mut btf, &mut dwarf] {
            strip_source_names(r);
        }
        assert_eq!(btf, dwarf, "{cmd:?}");
    }
    // The text view says it in one line.
    let out = run(&["--vmcore", d, "--vmlinux", vb, "top"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .starts_with("debuginfo: types from BTF of "),
        "{text}"
    );
}

#[test]
fn refusals_name_what_is_missing() {
    let s = sample();
    let (d, v) = (s.vmcore.to_str().unwrap(), s.vmlinux.to_str().unwrap());
    // --types btf on a vmlinux without .BTF.
    let out = run(&["--vmcore", d, "--vmlinux", v, "--types", "btf", "top"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no .BTF section"),
        "{}",
        stderr(&out)
    );
    // A bad --types value is a usage error.
    assert_eq!(
        run(&["--vmcore", d, "--types", "stabs", "top"])
            .status
            .code(),
        Some(2)
    );
    // Nothing but a dump whose VMCOREINFO has no kallsyms tables (the synthetic one).
    let out = run(&["--vmcore", d, "top"]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("kallsyms_names") && e.contains("--system-map"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    // Debian's one-line placeholder System.map.
    let placeholder = s.dir.join("System.map-placeholder");
    std::fs::write(
        &placeholder,
        "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n",
    )
    .unwrap();
    let out = run(&[
        "--vmcore",
        d,
        "--system-map",
        placeholder.to_str().unwrap(),
        "top",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("placeholder"), "{}", stderr(&out));
    // A System.map without the BTF symbols: the dump's BTF cannot be found.
    let nm = s.dir.join("System.map-nobtf");
    std::fs::write(
        &nm,
        "ffffffff81000000 T _text\nffffffff82a0c940 D init_task\n",
    )
    .unwrap();
    let out = run(&["--vmcore", d, "--system-map", nm.to_str().unwrap(), "top"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("__start_BTF"), "{}", stderr(&out));
}
