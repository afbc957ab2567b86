//! Any bytes as kernel memory holding the kallsyms tables ([`skbwalk_fuzz::kallsyms_memory`]):
//! symbols or a typed error, never a panic, a hang or an unbounded allocation.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Some((mem, tables)) = skbwalk_fuzz::kallsyms_memory(data) {
            if let Ok(t) = kstructs::SymbolTable::from_kallsyms(&mem, &tables, 0x1e00_0000) {
                let _ = t.lookup("init_task");
            }
        }
    });
}
