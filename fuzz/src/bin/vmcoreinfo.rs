//! Any bytes as VMCOREINFO text, and the kernel layout made from it.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let info = vmcore::vmcoreinfo::VmcoreInfo::parse(data);
        let _ = info.symbol("init_top_pgt");
        let _ = info.number("phys_base");
        let _ = info.offset("page.flags");
        let _ = info.size("page");
        let _ = vmcore::x86_64::KernelLayout::from_vmcoreinfo(&info);
    });
}
