//! Where tests write their files: one directory per test process under the target
//! directory's scratch space, and the directories of earlier runs' finished processes removed
//! when a new one starts (a failed run's files stay for inspection until the next run).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch directory under `tmpdir` (a test's `env!("CARGO_TARGET_TMPDIR")`):
/// `tmpdir/run-<pid>`, created on first use, after removing every `run-<pid>` whose process
/// is gone.
///
/// ```
/// let d = testdata::scratch::root(std::env::temp_dir().to_str().unwrap());
/// assert!(d.is_dir() && d.ends_with(format!("run-{}", std::process::id())));
/// ```
pub fn root(tmpdir: &str) -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = Path::new(tmpdir);
        if let Ok(entries) = std::fs::read_dir(base) {
            for e in entries.flatten() {
                let name = e.file_name();
                let Some(pid) = name
                    .to_str()
                    .and_then(|n| n.strip_prefix("run-"))
                    .and_then(|p| p.parse::<u32>().ok())
                else {
                    continue;
                };
                if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let d = base.join(format!("run-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the scratch directory");
        d
    })
    .clone()
}
