//! Where tests write their files: one directory per test process under the target
//! directory's scratch space; the directories of finished test processes are removed when the
//! next one starts (a failed test binary's files stay until the next test binary runs).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What names a test process's scratch directory (before its pid).
const PREFIX: &str = "skbwalk-run-";

/// This process's scratch directory under `tmpdir` (a test's `env!("CARGO_TARGET_TMPDIR")`):
/// `tmpdir/skbwalk-run-<pid>`, created on first use, after removing every `skbwalk-run-<pid>`
/// whose process is gone (looked up in `/proc`; without `/proc` nothing is removed). A
/// process has one: the first `tmpdir` it names.
///
/// ```no_run
/// let d = testdata::scratch::root(env!("CARGO_MANIFEST_DIR"));
/// assert!(d.is_dir() && d.ends_with(format!("skbwalk-run-{}", std::process::id())));
/// ```
pub fn root(tmpdir: &str) -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = Path::new(tmpdir);
        let proc_fs = Path::new("/proc/self").exists();
        if let Ok(entries) = std::fs::read_dir(base).map(|e| e.filter(|_| proc_fs)) {
            for e in entries.flatten() {
                let name = e.file_name();
                let Some(pid) = name
                    .to_str()
                    .and_then(|n| n.strip_prefix(PREFIX))
                    .and_then(|p| p.parse::<u32>().ok())
                else {
                    continue;
                };
                if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let d = base.join(format!("{PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the scratch directory");
        d
    })
    .clone()
}
