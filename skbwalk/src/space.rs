//! The kernel half of the virtual address space: where every kernel pointer lies, per the
//! architecture and its paging (x86-64 with 4 or 5 levels, arm64 with 39 to 52 bits).

/// The range of addresses a kernel pointer may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KernelSpace {
    start: u64,
}

/// No kernel object lives in the last 16 MiB (x86-64's fixmap and vsyscall page, arm64's
/// fixmap region ends below): `addr + offset` for any member offset cannot overflow.
const END: u64 = 0xffff_ffff_ff00_0000;

impl KernelSpace {
    /// x86-64 with 4-level paging: the canonical upper half.
    #[cfg(test)]
    pub(crate) const X86_64: KernelSpace = KernelSpace {
        start: 0xffff_8000_0000_0000,
    };

    /// The space from `start` (an architecture's lowest kernel address) to the top.
    pub(crate) fn from_start(start: u64) -> KernelSpace {
        KernelSpace {
            start: start.min(END),
        }
    }

    /// Whether `addr` looks like a kernel pointer: inside the space, aligned to `align`.
    pub(crate) fn contains(self, addr: u64, align: u64) -> bool {
        (self.start..END).contains(&addr) && addr.is_multiple_of(align)
    }
}

#[cfg(test)]
mod tests {
    use super::KernelSpace;

    #[test]
    fn kernel_pointers_per_architecture() {
        let x = KernelSpace::X86_64;
        assert!(!x.contains(0xffff_ffff_ff60_0000, 8), "vsyscall page");
        assert!(x.contains(0xffff_ffff_c000_0000, 8), "modules");
        assert!(x.contains(0xffff_8880_0000_0000, 8), "direct map");
        assert!(!x.contains(0xffff_8880_0000_0004, 8), "misaligned");
        assert!(!x.contains(0x7fff_0000_0000, 8), "user space");
        assert!(
            !x.contains(0xffff_0000_0000_0000, 8),
            "arm64's linear map is not x86's"
        );
        let arm = KernelSpace::from_start(0xffff_0000_0000_0000);
        assert!(
            arm.contains(0xffff_0000_0000_0000, 8),
            "arm64 48-bit linear map"
        );
        assert!(!arm.contains(0xfff0_0000_0000_0000, 8));
        let arm52 = KernelSpace::from_start(0xfff0_0000_0000_0000);
        assert!(
            arm52.contains(0xfff0_0000_0000_0000, 8),
            "arm64 52-bit linear map"
        );
    }
}
