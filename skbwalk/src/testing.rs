//! What the unit tests share: scratch directories and opening a kernel without a cache (the
//! real-dump tier's capture is `testdata::real_tier::capture`).

use std::path::{Path, PathBuf};

use crate::kernel::OpenOptions;
use crate::Kernel;

/// A fresh scratch directory under the target directory (never `/tmp`, never `~/.cache`).
pub(crate) fn scratch(name: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tmp");
    let d = testdata::scratch::root(base.to_str().unwrap()).join(format!("unit-{name}"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Open a dump with no layout cache.
pub(crate) fn open(vmcore: &Path, vmlinux: Option<&Path>) -> Kernel {
    let opts = OpenOptions {
        vmlinux: vmlinux.map(Path::to_path_buf),
        cache_dir: Some(None),
        ..Default::default()
    };
    Kernel::open_with(vmcore, &opts).unwrap()
}
