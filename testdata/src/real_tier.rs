//! The real-dump tier as tests find it: the capture directory `SKBWALK_DUMPS_DIR` names and the
//! vmlinux `SKBWALK_VMLINUX` names (`./test.sh` sets both, per kernel).
//!
//! Tests that need them are `#[ignore]`d with [`IGNORE`] as the reason, and `./test.sh` runs them
//! with `--include-ignored`: a test that runs finds its inputs or fails, never passes having
//! checked nothing.

use std::path::PathBuf;

/// The reason real-dump tests are ignored outside the tier.
pub const IGNORE: &str = "needs the real-dump tier (SKBWALK_DUMPS_DIR; ./test.sh runs it)";

/// The capture directory and its parsed `manifest.json`. Panics when the variable is unset or
/// the manifest cannot be read or is no JSON: the test was asked to check real dumps.
pub fn capture() -> (PathBuf, serde_json::Value) {
    let dir = std::env::var_os("SKBWALK_DUMPS_DIR")
        .map(PathBuf::from)
        .expect("SKBWALK_DUMPS_DIR names no capture directory (./test.sh sets it)");
    let m = std::fs::read(dir.join("manifest.json"))
        .unwrap_or_else(|e| panic!("{}: no manifest.json: {e}", dir.display()));
    let m = serde_json::from_slice(&m)
        .unwrap_or_else(|e| panic!("{}: manifest.json is no JSON: {e}", dir.display()));
    (dir, m)
}

/// Which of `want` (boot names: A, B, C, D) the capture of `manifest` made (its `boots`), given
/// its kernel generation. x86-64 sets make every boot the tests ask for (a missing one fails the
/// test); arm64 sets (`arm64-*`) make boot A only.
pub fn boots<'a>(manifest: &serde_json::Value, want: &[&'a str]) -> Vec<&'a str> {
    let made = manifest["boots"]
        .as_object()
        .expect("manifest.json lists its boots");
    let generation = manifest["kernel"]["generation"].as_str().unwrap_or("");
    let have: Vec<&'a str> = want
        .iter()
        .copied()
        .filter(|b| made.contains_key(*b))
        .collect();
    if !generation.starts_with("arm64-") {
        assert_eq!(
            have, want,
            "an x86-64 capture makes every boot the tests read"
        );
    }
    assert!(
        have.contains(&"A") || !want.contains(&"A"),
        "every capture makes boot A"
    );
    have
}

/// The vmlinux `SKBWALK_VMLINUX` names. Panics when it is unset or is no file.
pub fn vmlinux() -> PathBuf {
    let v = std::env::var_os("SKBWALK_VMLINUX")
        .map(PathBuf::from)
        .expect("SKBWALK_VMLINUX names no vmlinux (./test.sh sets it)");
    assert!(v.is_file(), "SKBWALK_VMLINUX {} is no file", v.display());
    v
}

/// The `System.map` of the `-dbg` package beside `vmlinux`: `System.map-<release>` next to
/// `vmlinux-<release>` (to 6.12), or `System.map` beside the real file the link names (sid).
pub fn system_map(vmlinux: &std::path::Path) -> Option<PathBuf> {
    let name = vmlinux.file_name()?.to_str()?;
    let release = name.strip_prefix("vmlinux-")?;
    let beside = vmlinux.with_file_name(format!("System.map-{release}"));
    if beside.is_file() {
        return Some(beside);
    }
    let real = std::fs::canonicalize(vmlinux).ok()?;
    let p = real.with_file_name("System.map");
    p.is_file().then_some(p)
}
