//! The walk over a fuzzed physical image: the input overwrites u64 slots in the pages that
//! hold the nginx socket, its skbs, their shared info and the task list of the synthetic
//! incident; then the socket report and `top` run. Records: u16 slot index, u64 value.
fn main() {
    let m = skbwalk_fuzz::machine();
    afl::fuzz!(|data: &[u8]| {
        if let Some(k) = skbwalk_fuzz::patched_kernel(&m, data) {
            let _ = skbwalk::socket_report(&k, 146935, 11);
            let _ = skbwalk::top(&k, Default::default());
        }
    });
}
