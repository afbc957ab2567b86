//! Damaged inputs and broken outputs at the command line: every case ends in exit 0 with a
//! result (and its warnings), exit 1 with one sentence naming the input, or exit 3 under
//! `--strict` — never a panic, a hang, or a raw terminal escape.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod common;
use common::stderr;

use testdata::sample::{incident_world, write_qemu_elf, write_sample, SampleSize};
use testdata::synth::SynthKernel;
use testdata::world::{SockSpec, WorldConfig};

fn dir() -> &'static Path {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("skbwalk-damaged-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fn sample() -> &'static (PathBuf, PathBuf) {
    static S: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    S.get_or_init(|| {
        let (s, _) =
            write_sample(&dir().join("sample"), SampleSize { stalled_skbs: 3000 }).unwrap();
        (s.vmcore, s.vmlinux)
    })
}

/// A dump whose nginx receive queue loops back on itself, and whose chronyd is named with a
/// terminal escape sequence.
fn damaged() -> &'static (PathBuf, PathBuf) {
    static S: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    S.get_or_init(|| {
        let d = dir().join("damaged");
        let k = SynthKernel::build(&d.join("k"), 5).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 40 });
        let nginx = w
            .sockets
            .iter()
            .find(|s| s.pid == 146935 && s.fd == 11)
            .unwrap();
        let skbs: Vec<u64> = nginx.skbs.iter().map(|s| s.addr).collect();
        let next = w.k.o("sk_buff.next");
        w.write_u64(skbs[9] + next, skbs[4]);
        let evil = w.add_task(4242, "\x1b]0;owned\x07\x1b[2J", 8);
        w.add_regular_file(evil, 0, "x");
        w.add_socket(
            evil,
            4242,
            1,
            SockSpec::tcp(1, ([10, 0, 0, 1], 80), ([10, 0, 0, 2], 999)),
        );
        let vmcore = d.join("vmcore.elf");
        write_qemu_elf(&mut w, &vmcore, true).unwrap();
        (vmcore, w.k.vmlinux.clone())
    })
}

/// The arguments that select the incident's socket.
fn nginx_fd11<'a>(d: &'a str, v: &'a str) -> [&'a str; 8] {
    [
        "--vmcore",
        d,
        "--vmlinux",
        v,
        "--pid",
        "146935",
        "--fd",
        "11",
    ]
}

/// Run with a deadline: a hang fails the test instead of stalling it.
fn run_with(args: &[&str], stdout: Stdio) -> Output {
    let mut child = common::skbwalk()
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("skbwalk {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(args: &[&str]) -> Output {
    run_with(args, Stdio::piped())
}

/// Exit 1 with one sentence that names `input` and says `reason`.
fn refused(o: &Output, input: &str, reason: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(
        e.contains(input) && e.contains(reason),
        "want {input:?} and {reason:?}: {e}"
    );
}

#[test]
fn paths_that_are_not_regular_files() {
    let (d, v) = sample();
    let (d, v) = (d.to_str().unwrap(), v.to_str().unwrap());
    let fifo = dir().join("fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let fifo = fifo.to_str().unwrap();
    let loop_ = dir().join("loop");
    let _ = std::fs::remove_file(&loop_);
    std::os::unix::fs::symlink(&loop_, &loop_).unwrap();
    let loop_ = loop_.to_str().unwrap();
    let long = format!("/tmp/{}", "x".repeat(5000));
    let sub = dir().to_str().unwrap();

    refused(&run(&["--vmcore", fifo, "info"]), fifo, "FIFO");
    refused(&run(&["--vmcore", sub, "info"]), sub, "directory");
    refused(
        &run(&["--vmcore", "/dev/null", "info"]),
        "/dev/null",
        "device",
    );
    refused(&run(&["--vmcore", loop_, "info"]), loop_, "symbolic links");
    refused(&run(&["--vmcore", &long, "info"]), "xxxx", "too long");
    let a = [
        "--vmcore",
        d,
        "--vmlinux",
        fifo,
        "--pid",
        "146935",
        "--fd",
        "11",
    ];
    refused(&run(&a), fifo, "FIFO");
    let a = ["--vmcore", d, "--vmlinux", "/dev/zero", "top"];
    refused(&run(&a), "/dev/zero", "device");
    let a = ["--vmcore", d, "--vmlinux", sub, "top"];
    refused(&run(&a), sub, "directory");
    let _ = v;
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_exit_1() {
    let (d, v) = sample();
    let (d, v) = (d.to_str().unwrap(), v.to_str().unwrap());
    let socket = nginx_fd11(d, v);
    for extra in [&["--all-skbs"][..], &["--all-skbs", "--json"], &["top"]] {
        let args: Vec<&str> = socket.iter().chain(extra).copied().collect();
        let args = if extra == ["top"] {
            vec!["--vmcore", d, "--vmlinux", v, "top", "-n", "100000"]
        } else {
            args
        };
        // Closed pipe: read one byte, then close our end.
        let mut child = common::skbwalk()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        let got = out.read_exact(&mut one);
        drop(out);
        let o = child.wait_with_output().unwrap();
        let e = stderr(&o);
        assert!(got.is_ok(), "{args:?}: no output: {e}");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {e}");
        assert!(!e.contains("panicked") && !e.contains("Broken pipe"), "{e}");

        // Full disk.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = run_with(&args, Stdio::from(full));
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
        assert!(e.contains("No space left"), "{e}");
        assert!(!e.contains("panicked"), "{e}");
    }
}

#[test]
fn a_damaged_dump_is_a_partial_answer_marked_incomplete() {
    let (d, v) = damaged();
    let (d, v) = (d.to_str().unwrap(), v.to_str().unwrap());
    let socket = nginx_fd11(d, v);
    // JSON: complete false, typed warnings.
    let args: Vec<&str> = socket.iter().copied().chain(["--json"]).collect();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["complete"], false);
    let w = &j["warnings"][0];
    assert_eq!(w["kind"], "loop", "{w}");
    assert!(w["addr"].is_string() && w["message"].is_string(), "{w}");
    // Text: INCOMPLETE at the top.
    let o = run(&socket);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("INCOMPLETE"), "{text:.300}");
    // --strict: exit 3, the same answer.
    let args: Vec<&str> = socket.iter().copied().chain(["--strict"]).collect();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("INCOMPLETE"));
    // A complete answer under --strict is exit 0.
    let (sd, sv) = sample();
    let o = run(&[
        "--vmcore",
        sd.to_str().unwrap(),
        "--vmlinux",
        sv.to_str().unwrap(),
        "--pid",
        "146935",
        "--fd",
        "11",
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn names_from_the_dump_cannot_drive_the_terminal() {
    let (d, v) = damaged();
    let o = run(&[
        "--vmcore",
        d.to_str().unwrap(),
        "--vmlinux",
        v.to_str().unwrap(),
        "top",
        "-n",
        "1000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (what, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(!bytes.contains(&0x1b), "{what} has a raw ESC");
        assert!(!bytes.contains(&0x07), "{what} has a raw BEL");
    }
    let o = run(&[
        "--vmcore",
        d.to_str().unwrap(),
        "--vmlinux",
        v.to_str().unwrap(),
        "--pid",
        "4242",
        "--fd",
        "99",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!o.stderr.contains(&0x1b), "{}", stderr(&o));
    assert!(stderr(&o).contains("\\x1b]0;owned"), "{}", stderr(&o));
}
