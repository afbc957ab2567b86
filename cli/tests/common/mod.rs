//! What the CLI tests share: the binary with the tests' own layout cache, and reading its output.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The `skbwalk` binary, with the layout cache of the tests (in the target directory), never
/// the user's `~/.cache`.
pub fn skbwalk() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skbwalk"));
    c.env(
        "XDG_CACHE_HOME",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache"),
    );
    c
}

/// Run it with `args`.
pub fn run(args: &[&str]) -> Output {
    skbwalk().args(args).output().unwrap()
}

/// Its JSON, asserting it succeeded.
pub fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Its stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
