//! Byte sources a dump is read from: a memory-mapped file, or a flattened stream's logical view.

use crate::{Error, Result};

/// Random access to the bytes of a dump file, by offset.
///
/// Implemented by [`MmapSource`] (a plain file) and by
/// [`FlattenedSource`](crate::flattened::FlattenedSource) (makedumpfile's flattened format,
/// where records place data at logical offsets).
pub trait Source: Send + Sync {
    /// Logical length of the file.
    fn len(&self) -> u64;
    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Borrow `len` bytes at `offset`, if they are contiguous in the backing store.
    fn slice(&self, offset: u64, len: usize) -> Option<&[u8]>;
    /// Copy bytes at `offset` into `buf`; `what` names the structure for the error.
    fn read_at(&self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()>;
    /// Bytes at `offset` as a borrowed slice or an owned copy.
    fn bytes(
        &self,
        offset: u64,
        len: usize,
        what: &'static str,
    ) -> Result<std::borrow::Cow<'_, [u8]>> {
        if let Some(s) = self.slice(offset, len) {
            return Ok(std::borrow::Cow::Borrowed(s));
        }
        let mut v = vec![0u8; len];
        self.read_at(offset, &mut v, what)?;
        Ok(std::borrow::Cow::Owned(v))
    }
}

/// A whole file mapped into memory (never read whole).
///
/// Resident pages of the mapping count in the process's RSS however large the dump: when the
/// process's file-backed resident memory passes [`RELEASE_EVERY`], the mapping's pages are given
/// back to the page cache (`MADV_DONTNEED`; the data stays mapped and re-faults from the
/// cache), so a walk over a 100 GiB dump holds at most about that much of it resident.
pub struct MmapSource {
    map: memmap2::Mmap,
    /// Reads (in distinct fault-around windows) so far.
    read_since_release: std::sync::atomic::AtomicU64,
    /// The fault-around window of the last read.
    last_window: std::sync::atomic::AtomicU64,
}

/// Linux maps this much around a faulting page of a file mapping (`fault_around_bytes`).
const FAULT_AROUND: u64 = 64 << 10;

/// Resident bytes of mapped files past which a mapped dump's pages are given back.
pub const RELEASE_EVERY: u64 = 128 << 20;

impl MmapSource {
    /// Map `path` read-only.
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        // Regular files only, opened without blocking: a FIFO or a device is named, never waited on.
        let (file, _) = regfile::open(path).map_err(io)?;
        // SAFETY: the map is read-only; a dump file changing underneath us is outside our contract.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Ok(MmapSource {
            map,
            read_since_release: std::sync::atomic::AtomicU64::new(0),
            last_window: std::sync::atomic::AtomicU64::new(u64::MAX),
        })
    }

    /// After every [`CHECK_EVERY`] reads (in distinct fault-around windows), ask the kernel
    /// how much of the file is resident, and give it back past [`RELEASE_EVERY`]. Measured, not
    /// estimated: one fault can map a whole large folio of the page cache.
    fn account(&self, offset: u64, len: usize) {
        use std::sync::atomic::Ordering;
        let end = offset.saturating_add(len as u64);
        let (first, last) = (offset / FAULT_AROUND, end.saturating_sub(1) / FAULT_AROUND);
        if self.last_window.swap(last, Ordering::Relaxed) == first && first == last {
            return;
        }
        let n = self.read_since_release.fetch_add(1, Ordering::Relaxed) + 1;
        if !n.is_multiple_of(CHECK_EVERY)
            || resident_file_bytes().is_some_and(|r| r < RELEASE_EVERY)
        {
            return;
        }
        // SAFETY: a read-only shared file mapping: MADV_DONTNEED drops the pages from this
        // process's page tables only; every later access (including slices lent earlier)
        // re-reads the same bytes from the page cache or the file.
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }

    /// The whole mapped file.
    pub fn as_bytes(&self) -> &[u8] {
        &self.map
    }
}

/// Reads between two looks at the resident size.
const CHECK_EVERY: u64 = 64;

/// File-backed resident bytes of this process (`/proc/self/statm`'s shared pages); `None` where
/// the system does not say (then every check releases).
fn resident_file_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let shared: u64 = s.split_whitespace().nth(2)?.parse().ok()?;
    Some(shared * 4096)
}

/// Check that `offset..offset+len` fits in `total`, as a typed error.
pub fn check_range(offset: u64, len: u64, total: u64, what: &'static str) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= total => Ok(()),
        end => Err(Error::Truncated {
            what,
            offset,
            end: end.unwrap_or(u64::MAX),
            len: total,
        }),
    }
}

/// `len` bytes at `offset` of `bytes`, if they are there.
fn slice_of(bytes: &[u8], offset: u64, len: usize) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

/// Copy from `bytes` at `offset`, or say what was cut short.
fn read_from(bytes: &[u8], offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
    match slice_of(bytes, offset, buf.len()) {
        Some(s) => {
            buf.copy_from_slice(s);
            Ok(())
        }
        None => check_range(offset, buf.len() as u64, bytes.len() as u64, what),
    }
}

impl Source for MmapSource {
    fn len(&self) -> u64 {
        self.map.len() as u64
    }
    fn slice(&self, offset: u64, len: usize) -> Option<&[u8]> {
        self.account(offset, len);
        slice_of(&self.map, offset, len)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
        self.account(offset, buf.len());
        read_from(&self.map, offset, buf, what)
    }
}

/// A dump held in memory: bytes already read, or built by a test.
pub struct BytesSource(pub Vec<u8>);

impl Source for BytesSource {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn slice(&self, offset: u64, len: usize) -> Option<&[u8]> {
        slice_of(&self.0, offset, len)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
        read_from(&self.0, offset, buf, what)
    }
}
