//! Any bytes as a dump: ELF headers and notes, VMCOREINFO, kdump headers, bitmaps and page
//! descriptors, the flattened reader and every decompressor (through page reads), x86-64
//! translation.
use vmcore::source::BytesSource;
use vmcore::{flattened::is_flattened, Dump};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let flat = is_flattened(data);
        let Ok(dump) = Dump::from_source(Box::new(BytesSource(data.to_vec())), flat) else {
            return;
        };
        let _ = dump.info();
        let _ = dump.warnings();
        let mut buf = vec![0u8; 8192];
        for paddr in [0u64, 0x1000, 0x9f000, 0x100000, 0x1000000, u64::MAX - 4096] {
            let _ = dump.read_phys(paddr, &mut buf);
            let _ = dump.page_state(paddr);
        }
        for vaddr in [0xffff_ffff_8100_0000u64, 0xffff_8880_0000_0000, 0] {
            let _ = dump.read_virt(vaddr, &mut buf[..64]);
        }
    });
}
