//! perf ring buffers: the pages `perf_mmap` gives a perf event's ring (`struct perf_buffer`,
//! `kernel/events/internal.h`), found from the event's file.
//!
//! | step | how |
//! |---|---|
//! | the events | every open file whose `f_op` is `&perf_fops`: `file.private_data` is the `struct perf_event` |
//! | the ring | `perf_event.rb`; events redirected with `PERF_EVENT_IOC_SET_OUTPUT` share one, named once |
//! | its pages | `user_page` (the control page), `data_pages[0..nr_pages)` and the AUX area's `aux_pages[0..aux_nr_pages)`: each a direct-map address of an order-0 page `rb_alloc` / `rb_alloc_aux` took from the buddy allocator (AUX's high-order blocks are split, one entry per page) |
//!
//! Where the kernel has `CONFIG_PERF_USE_VMALLOC` (`perf_buffer.page_order` exists; none of
//! x86-64's or arm64's) the ring is vmalloc'ed and the census's `vmalloc` names it.

use crate::hash::Set;
use crate::Kernel;

/// Most data or AUX pages read for one ring (2^24 4 KiB pages is 64 GiB).
const MAX_PAGES: u64 = 1 << 24;

/// Where a perf event's ring keeps its pages.
pub(crate) struct PerfRings {
    fops: u64,
    event_rb: u64,
    nr_pages: u64,
    user_page: u64,
    data_pages: u64,
    aux: Option<(u64, u64)>,
    /// The rings named already (shared through `PERF_EVENT_IOC_SET_OUTPUT`).
    seen: Set<u64>,
}

/// One ring: its `struct perf_buffer` and the `struct page` addresses of its pages.
pub(crate) struct PerfRing {
    pub rb: u64,
    pub pages: Vec<u64>,
}

impl PerfRings {
    /// The layout, or `None` where the kernel has no `perf_fops`, no `struct perf_buffer`
    /// (before 5.8 it was `struct ring_buffer`) or vmalloc'ed rings.
    pub(crate) fn resolve(k: &Kernel) -> Option<PerfRings> {
        let t = &k.types;
        let m = |ty: &str, f: &str| t.member(ty, f).map(|m| m.offset).ok();
        if m("perf_buffer", "page_order").is_some() {
            return None;
        }
        Some(PerfRings {
            fops: k.global("perf_fops").ok()?,
            event_rb: m("perf_event", "rb")?,
            nr_pages: m("perf_buffer", "nr_pages")?,
            user_page: m("perf_buffer", "user_page")?,
            data_pages: m("perf_buffer", "data_pages")?,
            aux: m("perf_buffer", "aux_nr_pages").zip(m("perf_buffer", "aux_pages")),
            seen: Set::default(),
        })
    }

    /// The ring behind `file` when it is a perf event's with a ring not named before.
    pub(crate) fn of_file(&mut self, k: &Kernel, file: u64) -> crate::Result<Option<PerfRing>> {
        let Some(event) = crate::task::private_of(k, file, self.fops)? else {
            return Ok(None);
        };
        let rb = k.u64(event + self.event_rb, "perf_event.rb")?;
        if !k.is_kernel_ptr(rb, 8) || !self.seen.insert(rb) {
            return Ok(None);
        }
        let mut pages = Vec::new();
        let mut add = |va: u64| {
            if let Some(p) = k.direct_page(va) {
                pages.push(p);
            }
        };
        add(k.u64(rb + self.user_page, "perf_buffer.user_page")?);
        let n = k.u32(rb + self.nr_pages, "perf_buffer.nr_pages")? as u64;
        for va in self.array(k, rb + self.data_pages, n, "perf_buffer.data_pages[]")? {
            add(va);
        }
        if let Some((nr, at)) = self.aux {
            let n = k.u32(rb + nr, "perf_buffer.aux_nr_pages")? as u64;
            let arr = k.u64(rb + at, "perf_buffer.aux_pages")?;
            if n > 0 && k.is_kernel_ptr(arr, 8) {
                for va in self.array(k, arr, n, "perf_buffer.aux_pages[]")? {
                    add(va);
                }
            }
        }
        Ok(Some(PerfRing { rb, pages }))
    }

    /// `n` pointers at `at` (at most [`MAX_PAGES`]; a negative count reads none).
    fn array(&self, k: &Kernel, at: u64, n: u64, what: &str) -> crate::Result<Vec<u64>> {
        if n == 0 || n > u32::MAX as u64 / 2 {
            return Ok(Vec::new());
        }
        let mut v = k.u64s(at, n.min(MAX_PAGES) as usize, what)?;
        v.retain(|&va| va != 0);
        Ok(v)
    }
}
