//! The memory a kernel is read from, behind one trait: a crash dump today; a running kernel
//! (`/proc/kcore`) or a test image plug in the same way, and the walk does not know which.
//!
//! ```no_run
//! use skbwalk::memory::KernelMemory;
//! let dump = skbwalk::vmcore::Dump::open("vmcore".as_ref())?;
//! let mem: &dyn KernelMemory = &dump;
//! println!("{} bytes of physical address space", mem.phys_end());
//! # Ok::<(), skbwalk::vmcore::Error>(())
//! ```

use vmcore::arch::Arch;
use vmcore::Dump;

/// Kernel memory, readable by virtual address.
pub trait KernelMemory: Send + Sync + std::fmt::Debug {
    /// Read kernel virtual memory; reads may cross pages.
    fn read_virt(&self, vaddr: u64, buf: &mut [u8]) -> vmcore::Result<()>;
    /// The physical address of a kernel virtual address.
    fn translate(&self, vaddr: u64) -> vmcore::Result<u64>;
    /// The end of the physical address space it describes: nothing at or above is RAM.
    fn phys_end(&self) -> u64;
    /// The machine's page size.
    fn page_size(&self) -> u64;
    /// What its reader found wrong that did not stop it (damaged headers, a truncated file).
    fn warnings(&self) -> &[String];
    /// The kernel release its own metadata names (VMCOREINFO, a kdump header), if any.
    fn release(&self) -> Option<&str>;
    /// What translates its kernel virtual addresses.
    fn arch(&self) -> Option<&dyn Arch>;
    /// The crash dump, when this memory is one (its format, parts, notes).
    fn as_dump(&self) -> Option<&Dump> {
        None
    }
    /// Whether this is a running kernel's memory (it moves while it is read).
    fn is_live(&self) -> bool {
        false
    }
    /// The page-table pages of the kernel's address space, at most `limit`; `None` where this
    /// memory cannot walk them.
    fn kernel_table_pages(&self, limit: usize) -> Option<vmcore::arch::TablePages> {
        let _ = limit;
        None
    }
}

/// Any kernel memory (a dump, the running kernel) as the kallsyms decoder reads it.
pub(crate) struct ForKallsyms<'a>(pub(crate) &'a dyn KernelMemory);

impl kstructs::Memory for ForKallsyms<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> std::result::Result<(), String> {
        self.0.read_virt(addr, buf).map_err(|e| e.to_string())
    }
}

impl KernelMemory for Dump {
    fn read_virt(&self, vaddr: u64, buf: &mut [u8]) -> vmcore::Result<()> {
        Dump::read_virt(self, vaddr, buf)
    }
    fn translate(&self, vaddr: u64) -> vmcore::Result<u64> {
        Dump::translate(self, vaddr)
    }
    fn phys_end(&self) -> u64 {
        Dump::phys_end(self)
    }
    fn page_size(&self) -> u64 {
        self.info().page_size
    }
    fn warnings(&self) -> &[String] {
        Dump::warnings(self)
    }
    fn release(&self) -> Option<&str> {
        self.info().osrelease.as_deref().filter(|r| !r.is_empty())
    }
    fn arch(&self) -> Option<&dyn Arch> {
        Dump::arch(self)
    }
    fn as_dump(&self) -> Option<&Dump> {
        Some(self)
    }
    fn kernel_table_pages(&self, limit: usize) -> Option<vmcore::arch::TablePages> {
        Dump::kernel_table_pages(self, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::KernelMemory;
    use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
    use testdata::synth::SynthKernel;
    use testdata::world::WorldConfig;

    /// Memory that is not a `Dump` (as a live kernel's or a test image's would be): it reads
    /// through a dump underneath, but says nothing of being one.
    #[derive(Debug)]
    struct Other(vmcore::Dump);

    impl KernelMemory for Other {
        fn read_virt(&self, vaddr: u64, buf: &mut [u8]) -> vmcore::Result<()> {
            self.0.read_virt(vaddr, buf)
        }
        fn translate(&self, vaddr: u64) -> vmcore::Result<u64> {
            self.0.translate(vaddr)
        }
        fn phys_end(&self) -> u64 {
            self.0.phys_end()
        }
        fn page_size(&self) -> u64 {
            self.0.info().page_size
        }
        fn warnings(&self) -> &[String] {
            &[]
        }
        fn release(&self) -> Option<&str> {
            None
        }
        fn arch(&self) -> Option<&dyn vmcore::arch::Arch> {
            self.0.arch()
        }
    }

    /// The walk reads any memory alike: the incident's socket report, `top` and `meminfo` from
    /// a kernel over memory that is no dump equal those over the dump.
    #[test]
    fn the_walk_reads_any_memory_alike() {
        let dir = crate::testing::scratch("memory-other");
        let k = SynthKernel::build_gen(&dir.join("k"), 4, 61).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 30 });
        let path = dir.join("vmcore");
        write_qemu_elf(&mut w, &path, true).unwrap();
        let over_dump = crate::testing::open(&path, Some(&w.k.vmlinux));
        let types = kstructs::Types::open_with_cache(&w.k.vmlinux, None).unwrap();
        let other = Other(vmcore::Dump::open(&path).unwrap());
        let over_other = crate::Kernel::from_memory(Box::new(other), types, "other").unwrap();
        assert!(over_other.dump().is_none());
        let a =
            serde_json::to_string(&crate::socket_report(&over_dump, 146935, 11).unwrap()).unwrap();
        let b =
            serde_json::to_string(&crate::socket_report(&over_other, 146935, 11).unwrap()).unwrap();
        assert_eq!(a, b);
        let a =
            serde_json::to_string(&crate::top(&over_dump, Default::default()).unwrap()).unwrap();
        let b =
            serde_json::to_string(&crate::top(&over_other, Default::default()).unwrap()).unwrap();
        assert_eq!(a, b);
        let a = serde_json::to_string(&crate::meminfo::meminfo(&over_dump).unwrap()).unwrap();
        let b = serde_json::to_string(&crate::meminfo::meminfo(&over_other).unwrap()).unwrap();
        assert_eq!(a, b);
        std::fs::remove_dir_all(&dir).ok();
    }
}
