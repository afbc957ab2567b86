//! The one error type of this crate.

/// Everything that can go wrong reading a dump. Errors carry the address or file offset at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or mapped.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path at fault.
        path: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not a dump format this crate knows.
    #[error("not a crash dump: {0}")]
    UnknownFormat(String),
    /// A header or table is malformed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which structure (e.g. "kdump header").
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The file ends before a structure it describes.
    #[error("truncated dump: {what} needs bytes {offset:#x}..{end:#x} but the file has {len:#x}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Start of the read in the file.
        offset: u64,
        /// End of the read in the file.
        end: u64,
        /// The file's length.
        len: u64,
    },
    /// The physical address is not in the dump at all.
    #[error("physical address {paddr:#x} is not in the dump")]
    NotPresent {
        /// The physical address.
        paddr: u64,
    },
    /// The page was filtered out when the dump was made (e.g. `makedumpfile -d 31`).
    #[error("physical address {paddr:#x} was excluded from the dump (filtered)")]
    Excluded {
        /// The physical address.
        paddr: u64,
    },
    /// The page is stored in another part of a split dump set than the ones opened.
    #[error(
        "physical address {paddr:#x} is not in this file: it is one part of a split dump (pfns \
         {start_pfn:#x}..{end_pfn:#x}), and another part holds that page; open every part \
         (--vmcore given once per file)"
    )]
    InOtherPart {
        /// The physical address.
        paddr: u64,
        /// First pfn of the part(s) opened (of the one read).
        start_pfn: u64,
        /// End pfn (exclusive).
        end_pfn: u64,
    },
    /// The page is stored in a part of a split dump set that was not given.
    #[error(
        "physical address {paddr:#x} is in the part of the split dump that holds pfns \
         {start_pfn:#x}..{end_pfn:#x}, which was not given"
    )]
    PartMissing {
        /// The physical address.
        paddr: u64,
        /// First pfn of the missing range.
        start_pfn: u64,
        /// End pfn (exclusive) of the missing range.
        end_pfn: u64,
    },
    /// A stored page could not be decoded.
    #[error("page at physical address {paddr:#x} is corrupt: {reason}")]
    CorruptPage {
        /// The physical address of the page.
        paddr: u64,
        /// Why it could not be decoded.
        reason: String,
    },
    /// A virtual address has no translation.
    #[error("cannot translate virtual address {vaddr:#x}: {reason}")]
    Translation {
        /// The virtual address.
        vaddr: u64,
        /// Why (which table entry was not present, or which read failed).
        reason: String,
    },
    /// The dump lacks something needed for an operation (e.g. no VMCOREINFO and no CR3).
    #[error("{0}")]
    Missing(String),
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
