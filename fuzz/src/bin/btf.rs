//! Any bytes as a BTF blob (the dump's copy of the kernel's `.BTF`): a typed error or answers,
//! never a panic, a hang or an allocation sized by an unchecked field.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let syms = kstructs::SymbolTable::from_triples([], "none");
        if let Ok(t) = kstructs::Types::from_btf(data.to_vec(), syms, "fuzz") {
            skbwalk_fuzz::ask_everything(&t);
            let _ = t.enumerators("pageflags");
            let _ = t.variable_type("runqueues");
            let _ = t.member("sk_buff", "next");
        }
    });
}
