//! Any bytes as a PT_NOTE segment.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let s = vmcore::notes::NoteSummary::gather(data);
        let _ = (s.vmcoreinfo, s.qemu_cr3, s.warnings);
    });
}
