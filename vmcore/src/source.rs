//! Byte sources a dump is read from: a memory-mapped file, or a flattened stream's logical view.

use crate::{Error, Result};

/// Random access to the bytes of a dump file, by offset.
///
/// Implemented by [`MmapSource`] (a plain file) and by the flattened module's `FlattenedSource`
/// (makedumpfile's flattened format, where records place data at logical offsets).
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
/// process's resident memory would pass [`RSS_BUDGET`], the mapping's pages are given back to
/// the page cache (`MADV_DONTNEED`; the data stays mapped and re-faults from the cache), so a
/// walk over a 100 GiB dump keeps its RSS inside the budget (as long as the caller's own memory
/// fits in it).
pub struct MmapSource {
    map: memmap2::Mmap,
    /// Tags this mapping in the per-thread memo of windows read.
    id: u64,
    /// Releases so far: a thread's memo of windows read is good until the next.
    epoch: std::sync::atomic::AtomicU64,
    /// Each thread's reads not yet added to `reads`, one cache line per shard: threads
    /// walking in parallel do not bounce one counter between cores on every read.
    shards: Box<[Shard; SHARDS]>,
    /// What the threads write, on a cache line of its own: every read loads `map`, and a
    /// counter written beside it would take the line from the other cores each time.
    shared: Shared,
}

/// The written part of an [`MmapSource`].
#[repr(align(128))]
struct Shared {
    /// Reads (in distinct fault-around windows) so far, counted in batches of [`BATCH`].
    reads: std::sync::atomic::AtomicU64,
    /// The read count at which to look at the resident size next.
    next_look: std::sync::atomic::AtomicU64,
    /// Held by the thread looking at the resident size: the file-backed resident bytes of the
    /// process outside this mapping (the binary, other mapped files, a split set's other parts),
    /// as measured right after this mapping's last release.
    look: std::sync::Mutex<u64>,
    /// Set while the looking thread gives the pages back: the other threads wait for it at
    /// their next count instead of faulting pages in under it (a release racing two walking
    /// threads was measured to let the resident size pass 1 GiB).
    releasing: std::sync::atomic::AtomicBool,
}

/// Linux maps this much around a faulting page of a file mapping (`fault_around_bytes`).
const FAULT_AROUND: u64 = 64 << 10;

/// The resident size (anonymous plus mapped file pages) a process reading mapped dumps is kept
/// under: mapped pages are given back when the file-backed part passes what the anonymous part
/// leaves of it (see [`file_allowance`]).
pub const RSS_BUDGET: u64 = 256 << 20;

/// Mapped file pages kept resident at least, however much anonymous memory the process holds
/// (below this, re-faulting the walk's hot pages would cost more than the budget saves).
const MIN_FILE_RESIDENT: u64 = 32 << 20;

/// How many file-backed resident bytes may stay mapped while `anon` bytes are anonymous: the
/// budget less the anonymous memory and two looks' growth (the growth between looks is aimed
/// at, not bounded), at least 32 MiB.
///
/// ```
/// use vmcore::source::{file_allowance, RSS_BUDGET};
/// assert_eq!(file_allowance(0), RSS_BUDGET - (48 << 20));
/// assert_eq!(file_allowance(RSS_BUDGET), 32 << 20);
/// ```
pub fn file_allowance(anon: u64) -> u64 {
    RSS_BUDGET
        .saturating_sub(2 * CHECK_GROWTH)
        .saturating_sub(anon)
        .max(MIN_FILE_RESIDENT)
}

/// What one mapping may keep resident while `anon` bytes are anonymous and `others` bytes of
/// other files are mapped: the [`file_allowance`] less what the others hold (they count in the
/// budget but are not this mapping's to give back), at least [`MIN_FILE_RESIDENT`] — so that
/// a large mapped vmlinux does not make every look release a nearly empty dump mapping.
fn share(anon: u64, others: u64) -> u64 {
    file_allowance(anon)
        .saturating_sub(others)
        .max(MIN_FILE_RESIDENT)
}

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
            id: NEXT_SOURCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            epoch: std::sync::atomic::AtomicU64::new(0),
            shards: Box::new(std::array::from_fn(|_| Shard::default())),
            shared: Shared {
                reads: std::sync::atomic::AtomicU64::new(0),
                next_look: std::sync::atomic::AtomicU64::new(LOOK_EVERY),
                look: std::sync::Mutex::new(0),
                releasing: std::sync::atomic::AtomicBool::new(false),
            },
        })
    }

    /// Every [`LOOK_EVERY`] fault-around windows read, ask the kernel how much of the file is
    /// resident, and give it back past this mapping's share of [`file_allowance`]. Measured,
    /// not estimated: one fault can map a whole 2 MiB folio of the page cache, or 64 KiB
    /// around the page read, and which one the kernel does is not ours to know.
    fn account(&self, offset: u64, len: usize) {
        use std::sync::atomic::Ordering;
        let end = offset.saturating_add(len as u64);
        let (first, last) = (offset / FAULT_AROUND, end.saturating_sub(1) / FAULT_AROUND);
        // Only windows this thread has not read since the last release can fault pages in; a
        // read across many windows counts each (a large slice can fault in many folios).
        let epoch = self.epoch.load(Ordering::Relaxed);
        let windows = RECENT.with(|r| {
            let mut r = r.borrow_mut();
            if r.source != self.id || r.epoch != epoch {
                r.source = self.id;
                r.epoch = epoch;
                r.windows.fill(u64::MAX);
            }
            let span = last.saturating_sub(first);
            let mut new = span.saturating_sub(RECENT_SPAN);
            for w in first..=first + span.min(RECENT_SPAN) {
                let slot = &mut r.windows[(w % RECENT_SLOTS as u64) as usize];
                if *slot != w {
                    *slot = w;
                    new += 1;
                }
            }
            new
        });
        if windows == 0 {
            return;
        }
        let shard = &self.shards[crate::threads::this_thread() % SHARDS].0;
        let pending = shard
            .fetch_add(windows, Ordering::Relaxed)
            .saturating_add(windows);
        if pending < BATCH {
            return;
        }
        shard.store(0, Ordering::Relaxed);
        if self.shared.releasing.load(Ordering::Acquire) {
            // Wait for the release to finish (the lock is held throughout it).
            drop(self.shared.look.lock());
        }
        let n = self
            .shared
            .reads
            .fetch_add(pending, Ordering::Relaxed)
            .saturating_add(pending);
        if n < self.shared.next_look.load(Ordering::Relaxed) {
            return;
        }
        // One thread looks at a time; the others go on, unless a whole interval has passed
        // since the look was due: on a busy machine the looking thread can lose its core for a
        // time slice, in which the other threads would fault in gigabytes unwatched (measured).
        // (A poisoned lock still guards a plain number.)
        let mut others = match self.shared.look.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                let due = self.shared.next_look.load(Ordering::Relaxed);
                if n < due.saturating_add(LOOK_EVERY) {
                    return;
                }
                self.shared
                    .look
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            }
        };
        if n < self.shared.next_look.load(Ordering::Relaxed) {
            // Another thread looked while this one waited.
            return;
        }
        self.shared
            .next_look
            .store(n.saturating_add(LOOK_EVERY), Ordering::Relaxed);
        let Some((resident, anon)) = resident_bytes() else {
            self.shared.next_look.store(u64::MAX, Ordering::Relaxed);
            return;
        };
        if resident.saturating_sub(*others) < share(anon, *others) {
            return;
        }
        self.shared.releasing.store(true, Ordering::Release);
        // SAFETY: a read-only shared file mapping: MADV_DONTNEED drops the pages from this
        // process's page tables only; every later access (including slices lent earlier)
        // re-reads the same bytes from the page cache or the file.
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
        self.epoch.fetch_add(1, Ordering::Relaxed);
        self.shared.releasing.store(false, Ordering::Release);
        *others = resident_bytes().map_or(0, |(file, _)| file);
    }

    /// The whole mapped file.
    pub fn as_bytes(&self) -> &[u8] {
        &self.map
    }
}

/// Most the resident file pages grow by between two looks: [`LOOK_EVERY`] reads, each
/// faulting in at most [`MAX_FAULT`].
const CHECK_GROWTH: u64 = 24 << 20;
/// The most one fault maps on x86-64: a PMD-mapped 2 MiB folio of the page cache.
const MAX_FAULT: u64 = 2 << 20;
/// Reads (in distinct fault-around windows) between two looks at the resident size.
const LOOK_EVERY: u64 = CHECK_GROWTH / MAX_FAULT;

/// Reads a thread counts on its own before adding them to the shared count.
const BATCH: u64 = 8;
/// Counter shards of one [`MmapSource`] (threads beyond this share them).
const SHARDS: usize = 16;

/// One thread's share of the read count, alone on its cache line.
#[derive(Default)]
#[repr(align(128))]
struct Shard(std::sync::atomic::AtomicU64);

/// Slots of a thread's memo of windows read (a window goes in slot `window % RECENT_SLOTS`).
const RECENT_SLOTS: usize = 1024;
/// Windows of one read looked up in the memo (the rest of a larger read count as new).
const RECENT_SPAN: u64 = 64;

/// A thread's memo of windows read: faults happen only in windows not in it.
struct Recent {
    /// The mapping (its id) and release epoch the memo is of.
    source: u64,
    epoch: u64,
    windows: [u64; RECENT_SLOTS],
}

/// Source of [`MmapSource`] ids, for the per-thread last-window memo.
static NEXT_SOURCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

thread_local! {
    /// The windows this thread read of one mapping since its last release.
    static RECENT: std::cell::RefCell<Recent> = const {
        std::cell::RefCell::new(Recent { source: 0, epoch: 0, windows: [u64::MAX; RECENT_SLOTS] })
    };
}

/// (file-backed, anonymous) resident bytes of this process (`/proc/self/statm`'s shared pages,
/// and resident less shared, read through one descriptor kept open); `None` where the system
/// does not say.
fn resident_bytes() -> Option<(u64, u64)> {
    use std::os::unix::fs::FileExt;
    static STATM: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();
    let f = STATM
        .get_or_init(|| std::fs::File::open("/proc/self/statm").ok())
        .as_ref()?;
    let mut buf = [0u8; 128];
    let n = f.read_at(&mut buf, 0).ok()?;
    let s = std::str::from_utf8(&buf[..n]).ok()?;
    let mut fields = s.split_whitespace().skip(1);
    let resident: u64 = fields.next()?.parse().ok()?;
    let shared: u64 = fields.next()?.parse().ok()?;
    Some((shared * 4096, resident.saturating_sub(shared) * 4096))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading every page of a mapped file far larger than the budget keeps the file-backed
    /// resident size inside it (without the release it would reach the whole file).
    #[test]
    fn mapped_reads_stay_inside_the_budget() {
        let Some(_) = resident_bytes() else {
            eprintln!("skipped: no /proc/self/statm here");
            return;
        };
        let size = RSS_BUDGET * 2 + (64 << 20);
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tmp");
        let path = testdata::scratch::root(base.to_str().unwrap()).join("budget");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(size).unwrap();
        drop(f);
        let src = MmapSource::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut peak = 0;
        let mut word = [0u8; 8];
        for (i, off) in (0..size).step_by(4096).enumerate() {
            src.read_at(off, &mut word, "page").unwrap();
            if i % 256 == 0 {
                peak = peak.max(resident_bytes().unwrap().0);
            }
        }
        assert!(
            peak < RSS_BUDGET,
            "file-backed resident size reached {} MiB (budget {} MiB)",
            peak >> 20,
            RSS_BUDGET >> 20
        );
        assert!(peak > MIN_FILE_RESIDENT / 2, "the file was read: {peak}");
    }

    #[test]
    fn a_mapping_shares_the_allowance_with_other_mapped_files() {
        assert_eq!(share(0, 0), file_allowance(0));
        assert_eq!(share(0, 100 << 20), file_allowance(0) - (100 << 20));
        assert_eq!(
            share(0, 1 << 40),
            MIN_FILE_RESIDENT,
            "a huge vmlinux mapping"
        );
    }

    #[test]
    fn allowance_leaves_room_for_anonymous_memory() {
        assert_eq!(file_allowance(0), RSS_BUDGET - 2 * CHECK_GROWTH);
        assert_eq!(
            file_allowance(100 << 20),
            RSS_BUDGET - 2 * CHECK_GROWTH - (100 << 20)
        );
        assert_eq!(file_allowance(u64::MAX), MIN_FILE_RESIDENT);
    }
}
