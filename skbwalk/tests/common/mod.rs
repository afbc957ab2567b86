//! What the integration tests share.

use std::path::Path;

use skbwalk::kernel::OpenOptions;
use skbwalk::Kernel;

/// `Kernel::open` with the tests' own layout cache (in the target directory), never the
/// user's `~/.cache/skbwalk`.
#[allow(dead_code)]
pub fn open_kernel(vmcore: &Path, vmlinux: Option<&Path>) -> skbwalk::Result<Kernel> {
    let opts = OpenOptions {
        vmlinux: vmlinux.map(Path::to_path_buf),
        cache_dir: Some(Some(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache"),
        )),
        ..Default::default()
    };
    Kernel::open_with(vmcore, &opts)
}
