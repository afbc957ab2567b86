//! A small LRU cache of decompressed pages (a walk reads the same few pages many times).

use super::CACHE_PAGES;

/// A small LRU cache of decompressed pages.
#[derive(Default)]
pub(super) struct PageCache {
    entries: Vec<CacheEntry>,
    clock: u64,
}

struct CacheEntry {
    pfn: u64,
    used: u64,
    page: Box<[u8]>,
}

impl PageCache {
    pub(super) fn get(&mut self, pfn: u64) -> Option<&[u8]> {
        self.clock += 1;
        let clock = self.clock;
        let e = self.entries.iter_mut().find(|e| e.pfn == pfn)?;
        e.used = clock;
        Some(&e.page)
    }

    pub(super) fn insert(&mut self, pfn: u64, page: Box<[u8]>) {
        self.clock += 1;
        let used = self.clock;
        if let Some(e) = self.entries.iter_mut().find(|e| e.pfn == pfn) {
            e.page = page;
            e.used = used;
        } else if self.entries.len() < CACHE_PAGES {
            self.entries.push(CacheEntry { pfn, used, page });
        } else {
            let lru = self
                .entries
                .iter_mut()
                .min_by_key(|e| e.used)
                .expect("cache is full");
            *lru = CacheEntry { pfn, used, page };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_bounded_lru() {
        let mut c = PageCache::default();
        for pfn in 0..(CACHE_PAGES as u64 + 10) {
            c.insert(pfn, vec![pfn as u8; 8].into_boxed_slice());
            assert!(c.get(0).is_some(), "pfn 0 is kept hot");
        }
        assert_eq!(c.entries.len(), CACHE_PAGES);
        assert!(c.get(1).is_none());
        assert_eq!(
            c.get(CACHE_PAGES as u64 + 9).unwrap()[0],
            (CACHE_PAGES + 9) as u8
        );
    }
}
