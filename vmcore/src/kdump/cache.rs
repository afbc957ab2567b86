//! Decompressed pages, kept per thread: each thread reading a compressed dump has its own
//! bounded, set-associative cache (a walk reads the same pages many times, and threads walking
//! in parallel have working sets of their own: one shared cache behind one lock made two
//! threads slower than one).

use std::sync::{Mutex, MutexGuard};

/// Pages one thread's cache of a whole dump holds (4 MiB of 4 KiB pages); the parts of a split
/// set share this among them.
pub(super) const CACHE_PAGES: usize = 1024;
/// Pages a pfn may be kept in (least recently used of them replaced).
pub(super) const WAYS: usize = 4;
/// Caches of one dump; threads past this many share them.
const SHARDS: usize = 8;
/// A slot holding no page (no pfn is this large).
const EMPTY: u64 = u64::MAX;

/// The per-thread caches of one dump, each allocated when its thread first reads.
pub(super) struct PageCaches {
    shards: Box<[Mutex<PageCache>]>,
}

impl Default for PageCaches {
    fn default() -> Self {
        Self::of_pages(CACHE_PAGES)
    }
}

impl PageCaches {
    /// Caches of `pages` pages each (rounded down to whole sets, at least one).
    pub(super) fn of_pages(pages: usize) -> Self {
        let sets = (pages / WAYS).max(1);
        PageCaches {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(PageCache {
                        sets,
                        ..PageCache::default()
                    })
                })
                .collect(),
        }
    }

    /// The calling thread's cache (a poisoned lock still guards whole pages: a fill that
    /// failed left its slot empty).
    pub(super) fn mine(&self) -> MutexGuard<'_, PageCache> {
        self.shards[shard()]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The calling thread's shard.
fn shard() -> usize {
    crate::threads::this_thread() % SHARDS
}

/// One thread's decompressed pages.
#[derive(Default)]
pub(super) struct PageCache {
    /// Sets of [`WAYS`] slots (the slots are allocated at the first fill).
    sets: usize,
    slots: Vec<Slot>,
    clock: u64,
}

struct Slot {
    pfn: u64,
    used: u64,
    page: Box<[u8]>,
}

impl PageCache {
    /// The first slot of the set `pfn` is kept in.
    fn set_of(&self, pfn: u64) -> usize {
        // Fibonacci hashing: neighbouring pfns spread over the sets.
        ((pfn.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % self.sets.max(1)) * WAYS
    }

    /// Page `pfn`, if kept.
    pub(super) fn get(&mut self, pfn: u64) -> Option<&[u8]> {
        if self.slots.is_empty() {
            return None;
        }
        self.clock += 1;
        let clock = self.clock;
        let s = self.set_of(pfn);
        let e = self.slots[s..s + WAYS].iter_mut().find(|e| e.pfn == pfn)?;
        e.used = clock;
        Some(&e.page)
    }

    /// Keep page `pfn` of `len` bytes, written by `fill` into the buffer of the slot it
    /// replaces (no allocation once the cache is warm); when `fill` fails the slot is left
    /// empty and its error returned.
    pub(super) fn fill<E>(
        &mut self,
        pfn: u64,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<&[u8], E> {
        if self.slots.is_empty() {
            self.slots = (0..self.sets.max(1) * WAYS)
                .map(|_| Slot {
                    pfn: EMPTY,
                    used: 0,
                    page: Box::default(),
                })
                .collect();
        }
        self.clock += 1;
        let s = self.set_of(pfn);
        let set = &mut self.slots[s..s + WAYS];
        let i = set
            .iter()
            .position(|e| e.pfn == pfn)
            .unwrap_or_else(|| (0..WAYS).min_by_key(|&i| set[i].used).unwrap_or(0));
        let e = &mut set[i];
        e.pfn = EMPTY;
        if e.page.len() != len {
            e.page = vec![0u8; len].into_boxed_slice();
        }
        fill(&mut e.page)?;
        e.pfn = pfn;
        e.used = self.clock;
        Ok(&e.page)
    }

    /// Pages kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|e| e.pfn != EMPTY).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(c: &mut PageCache, pfn: u64) {
        c.fill(pfn, 8, |b| {
            b.fill(pfn as u8);
            Ok::<(), ()>(())
        })
        .unwrap();
    }

    #[test]
    fn cache_is_bounded_and_keeps_what_is_used() {
        let mut c = PageCache {
            sets: CACHE_PAGES / WAYS,
            ..PageCache::default()
        };
        assert!(c.get(0).is_none());
        for pfn in 0..(4 * CACHE_PAGES as u64) {
            put(&mut c, pfn);
            assert!(c.get(0).is_some(), "pfn 0 is kept hot");
        }
        assert_eq!(c.len(), CACHE_PAGES);
        let last = 4 * CACHE_PAGES as u64 - 1;
        assert_eq!(c.get(last).unwrap()[0], last as u8);
        let kept = (0..=last).filter(|&p| c.get(p).is_some()).count();
        assert_eq!(kept, CACHE_PAGES);
    }

    #[test]
    fn a_failed_fill_keeps_nothing() {
        let mut c = PageCache {
            sets: 1,
            ..PageCache::default()
        };
        put(&mut c, 7);
        assert_eq!(c.fill(7, 8, |_| Err("corrupt")), Err("corrupt"));
        assert!(
            c.get(7).is_none(),
            "a page that failed to decode is not served"
        );
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn a_smaller_cache_holds_fewer_pages() {
        let caches = PageCaches::of_pages(64);
        let mut c = caches.mine();
        for pfn in 0..1000 {
            put(&mut c, pfn);
        }
        assert_eq!(c.len(), 64);
        assert_eq!(PageCaches::of_pages(1).mine().sets, 1, "at least one set");
    }

    #[test]
    fn each_thread_has_its_own_cache() {
        let caches = PageCaches::default();
        put(&mut caches.mine(), 1);
        let mine = shard();
        std::thread::scope(|s| {
            s.spawn(|| {
                // (Threads past SHARDS share caches: only a thread on another shard is checked.)
                if shard() != mine {
                    assert!(caches.mine().get(1).is_none(), "another thread's page");
                }
            });
        });
        assert!(caches.mine().get(1).is_some());
    }
}
