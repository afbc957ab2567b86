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

/// Most data or AUX pages believed for one ring (2^24 4 KiB pages is 64 GiB): a count above
/// it, or data pages not a power of two, or a page outside the direct map, is a damaged ring
/// (an error, so a warning and an incomplete census), never a count read past its array.
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
        let corrupt =
            |what: String, addr: u64, why: &'static str| crate::Error::Corrupt { what, addr, why };
        let mut pages = Vec::new();
        let mut add = |va: u64, what: &str| -> crate::Result<()> {
            match k.direct_page(va) {
                Some(p) => pages.push(p),
                None if va == 0 => {}
                None => {
                    return Err(corrupt(
                        format!("{what} {va:#x}"),
                        rb,
                        "not a direct-map address",
                    ))
                }
            }
            Ok(())
        };
        add(
            k.u64(rb + self.user_page, "perf_buffer.user_page")?,
            "perf_buffer.user_page",
        )?;
        // perf_mmap takes a power of two of data pages (or none)
        let n = k.u32(rb + self.nr_pages, "perf_buffer.nr_pages")? as u64;
        if n > MAX_PAGES || (n != 0 && !n.is_power_of_two()) {
            let why = "not a power of two a ring can have";
            return Err(corrupt(format!("perf_buffer.nr_pages {n}"), rb, why));
        }
        for va in k.u64s(rb + self.data_pages, n as usize, "perf_buffer.data_pages[]")? {
            add(va, "perf_buffer.data_pages[]")?;
        }
        if let Some((nr, at)) = self.aux {
            let n = k.u32(rb + nr, "perf_buffer.aux_nr_pages")? as u64;
            if n > MAX_PAGES {
                let why = "more pages than an AUX area can have";
                return Err(corrupt(format!("perf_buffer.aux_nr_pages {n}"), rb, why));
            }
            if n > 0 {
                let arr = k.ptr(
                    k.u64(rb + at, "perf_buffer.aux_pages")?,
                    "perf_buffer.aux_pages",
                )?;
                for va in k.u64s(arr, n as usize, "perf_buffer.aux_pages[]")? {
                    add(va, "perf_buffer.aux_pages[]")?;
                }
            }
        }
        Ok(Some(PerfRing { rb, pages }))
    }
}
