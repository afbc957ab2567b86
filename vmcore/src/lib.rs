//! Read Linux crash dumps (x86-64 and arm64) by physical and kernel-virtual address.
//!
//! Formats are detected from content, never the file name:
//!
//! | format | produced by | module |
//! |---|---|---|
//! | ELF64 `ET_CORE` | QEMU `dump-guest-memory`, a copied `/proc/vmcore` | [`elf`] |
//! | kdump-compressed (`KDUMP   `, `DISKDUMP`) | `makedumpfile -c/-l/-p/-z`, QEMU `kdump-*` | [`kdump`] |
//! | flattened | `makedumpfile -F`, QEMU `kdump-zlib` and friends | [`flattened`] (wraps either) |
//! | split sets | `makedumpfile --split` (N kdump files, one pfn range each) | [`Dump::open_parts`] |
//!
//! ```no_run
//! let dump = vmcore::Dump::open("vmcore".as_ref())?;
//! let mut word = [0u8; 8];
//! dump.read_phys(0x1000, &mut word)?;
//! println!("{}", dump.info().format);
//! # Ok::<(), vmcore::Error>(())
//! ```
#![deny(missing_docs)]
// Every type the API carries can be named by a caller.
#![deny(unnameable_types)]

pub mod aarch64;
pub mod arch;
mod error;
pub use error::{Error, Result};

mod detect;
pub mod dump;
pub mod elf;
pub mod flattened;
pub mod kcore;
pub mod kdump;
pub mod notes;
mod pod;
pub mod source;
mod split;
#[cfg(test)]
mod testing;
mod threads;
pub mod vmcoreinfo;
pub mod x86_64;

pub use dump::{Dump, DumpInfo, PartInfo};
pub use vmcoreinfo::VmcoreInfo;

/// Where a physical page stands in a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageState {
    /// Stored in the dump.
    Present,
    /// RAM the dump describes but whose contents were filtered out.
    Excluded,
    /// Not part of the dump at all.
    NotPresent,
    /// Stored in another part of a `makedumpfile --split` set than the one(s) opened.
    Elsewhere,
}

/// Physical memory of a dump: the one trait every format implements.
pub trait PhysMem: Send + Sync {
    /// Fill `buf` from physical address `paddr`; reads may cross page boundaries.
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()>;
    /// Whether the page holding `paddr` is stored, excluded or absent.
    fn page_state(&self, paddr: u64) -> PageState;
}
