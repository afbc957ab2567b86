//! Any bytes as the layout cache of a good vmlinux: a damaged cache must be refused or give
//! answers that are still answers (never a panic), and is never trusted past its checks.
fn main() {
    let m = skbwalk_fuzz::machine();
    let dir = skbwalk_fuzz::work_dir().join(format!("cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = {
        let t = kstructs::Types::open_with_cache(&m.vmlinux, Some(&dir)).expect("vmlinux");
        skbwalk_fuzz::ask_everything(&t);
        t.save_cache().expect("save");
        t.cache_path().expect("cache path")
    };
    afl::fuzz!(|data: &[u8]| {
        std::fs::write(&path, data).expect("cache file");
        if let Ok(t) = kstructs::Types::open_with_cache(&m.vmlinux, Some(&dir)) {
            skbwalk_fuzz::ask_everything(&t);
        }
    });
}
