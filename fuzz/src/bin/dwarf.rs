//! Any bytes as a vmlinux: ELF sections, the DWARF index and layout reader, .symtab.
fn main() {
    let dir = skbwalk_fuzz::work_dir();
    afl::fuzz!(|data: &[u8]| {
        let p = skbwalk_fuzz::scratch(&dir, "vmlinux", data);
        if let Ok(t) = kstructs::Types::open_with_cache(&p, None) {
            skbwalk_fuzz::ask_everything(&t);
        }
    });
}
