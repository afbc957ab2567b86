//! io_uring rings: the pages the kernel takes for an io_uring instance's submission and
//! completion rings and its SQE array, found from the instance's file.
//!
//! | kernels | where the pages are (`struct io_ring_ctx`) |
//! |---|---|
//! | to 6.11 | `rings` and `sq_sqes`: direct-map addresses of compound pages `io_mem_alloc` took with `__get_free_pages(…__GFP_COMP…)` (6.5–6.11's `ring_pages` hold only `IORING_SETUP_NO_MMAP`'s user pages) |
//! | 6.12–6.13 | `ring_pages[0..n_ring_pages)` and `sqe_pages[0..n_sqe_pages)` (`io_pages_map`: one compound page, or order-0 pages vmap'ed), unless `flags` has `IORING_SETUP_NO_MMAP` |
//! | 6.14+ | `ring_region` and `sq_region` (`struct io_mapped_region`): `pages[0..nr_pages)`, unless the region's flags say `IO_REGION_F_USER_PROVIDED` |
//!
//! The layout is told by the members the kernel has, not by its version. User-provided rings
//! (`IORING_SETUP_NO_MMAP`) are a task's own pinned pages — LRU pages, not allocpage — and are
//! not named. Every page is claimed through its compound head, so a compound ring counts whole.
//!
//! Provided-buffer rings (`IORING_REGISTER_PBUF_RING`), each `struct io_buffer_list` in the
//! instance's `io_bl_xa`: on 6.12–6.13 those with `IOBL_MMAP` in `flags` (the kernel's own
//! pages, `buf_pages[0..buf_nr_pages)`, as the rings); from 6.14 those with `IOBL_BUF_RING` whose
//! `region` is not user-provided. Before 6.12 they are the task's pinned pages (6.1) or not
//! followed (6.7–6.11: `is_mmap`). Zero-copy receive areas are user or dma-buf memory.

use crate::hash::Set;
use crate::Kernel;

/// `IORING_SETUP_NO_MMAP` (`ctx->flags`, 6.5+).
const SETUP_NO_MMAP: u64 = 1 << 14;
/// `IO_REGION_F_USER_PROVIDED` (`io_uring/memmap.c`).
const REGION_USER_PROVIDED: u64 = 2;
/// Most pages believed in one ring's page array (a ring of 32768 entries fits in a few hundred).
const MAX_PAGES: u64 = 1 << 16;

/// `IOBL_BUF_RING` (6.14+) and `IOBL_MMAP` (6.12–6.13) in `io_buffer_list.flags`.
const IOBL_BUF_RING: u64 = 1;
const IOBL_MMAP: u64 = 2;

/// A member's offset and size.
type Field = (u64, u64);

/// `struct io_mapped_region` (6.14+).
struct Region {
    pages: u64,
    nr_pages: Field,
    flags: Field,
}

impl Region {
    fn resolve(k: &Kernel) -> Option<Region> {
        let f = |m: &str| {
            k.types
                .member("io_mapped_region", m)
                .ok()
                .map(|m| (m.offset, m.ty.size))
        };
        Some(Region {
            pages: f("pages")?.0,
            nr_pages: f("nr_pages")?,
            flags: f("flags")?,
        })
    }

    /// The compound heads of the region at `r`, unless user-provided.
    fn heads(&self, k: &Kernel, r: u64, out: &mut Vec<u64>) -> crate::Result<()> {
        if field(k, r, self.flags, "io_mapped_region.flags")? & REGION_USER_PROVIDED != 0 {
            return Ok(());
        }
        let n = field(k, r, self.nr_pages, "io_mapped_region.nr_pages")?;
        let arr = k.u64(r + self.pages, "io_mapped_region.pages")?;
        heads(k, arr, n, "io_mapped_region.pages[]", out)
    }
}

/// Where provided-buffer rings keep their pages (`struct io_buffer_list`).
enum BufRings {
    /// 6.12–6.13: `buf_pages[0..buf_nr_pages)` where `flags` has `IOBL_MMAP`.
    Pages { flags: Field, pages: u64, nr: Field },
    /// 6.14+: `region` (a [`Region`]) where `flags` has `IOBL_BUF_RING`.
    Region { flags: Field, region: u64 },
}

/// `io_ring_ctx`'s page arrays (6.12–6.13): `ring_pages`/`n_ring_pages`, then
/// `sqe_pages`/`n_sqe_pages`.
type Arrays = [(u64, Field, &'static str); 2];

/// Where a ring's pages are named.
enum Layout {
    /// 6.14+: `ring_region`, `sq_region`.
    Regions([u64; 2], Region),
    /// 6.12–6.13: the page arrays; 6.5–6.11 have them too, for `IORING_SETUP_NO_MMAP`'s user
    /// pages only (empty otherwise: the rings are `rings` and `sq_sqes`, as `Direct`'s).
    Pages(Arrays, [u64; 2]),
    /// To 6.4: `rings` and `sq_sqes`.
    Direct([u64; 2]),
}

impl Layout {
    /// `struct io_mapped_region`'s layout, where the kernel has regions (6.14+).
    fn region(&self) -> Option<&Region> {
        match self {
            Layout::Regions(_, r) => Some(r),
            _ => None,
        }
    }
}

/// What finds io_uring instances' rings.
pub(crate) struct IoUrings {
    fops: u64,
    ctx_flags: Field,
    layout: Layout,
    /// `io_ring_ctx.io_bl_xa` and the buffer lists' layout, where followed.
    bufs: Option<(u64, BufRings)>,
    /// The instances named already (a ring file may sit in several fd tables).
    seen: Set<u64>,
}

/// One instance: its `struct io_ring_ctx` and the `struct page` addresses of its rings.
pub(crate) struct IoRing {
    pub ctx: u64,
    pub pages: Vec<u64>,
}

impl IoUrings {
    /// The layout, or `None` where the kernel has no io_uring (`io_uring_fops`,
    /// `struct io_ring_ctx`).
    pub(crate) fn resolve(k: &Kernel) -> Option<IoUrings> {
        let t = &k.types;
        let f = |ty: &str, m: &str| t.member(ty, m).ok().map(|m| (m.offset, m.ty.size));
        let o = |ty: &str, m: &str| f(ty, m).map(|m| m.0);
        let direct = [o("io_ring_ctx", "rings")?, o("io_ring_ctx", "sq_sqes")?];
        let layout = if let Some(ring) = o("io_ring_ctx", "ring_region") {
            Layout::Regions([ring, o("io_ring_ctx", "sq_region")?], Region::resolve(k)?)
        } else if let Some(ring) = o("io_ring_ctx", "ring_pages") {
            let arrays = [
                (
                    ring,
                    f("io_ring_ctx", "n_ring_pages")?,
                    "io_ring_ctx.ring_pages",
                ),
                (
                    o("io_ring_ctx", "sqe_pages")?,
                    f("io_ring_ctx", "n_sqe_pages")?,
                    "io_ring_ctx.sqe_pages",
                ),
            ];
            Layout::Pages(arrays, direct)
        } else {
            Layout::Direct(direct)
        };
        let lists = if let Some(at) = o("io_buffer_list", "region") {
            layout
                .region()
                .and(f("io_buffer_list", "flags"))
                .map(|flags| BufRings::Region { flags, region: at })
        } else {
            f("io_buffer_list", "flags")
                .zip(o("io_buffer_list", "buf_pages"))
                .zip(f("io_buffer_list", "buf_nr_pages"))
                .map(|((flags, pages), nr)| BufRings::Pages { flags, pages, nr })
        };
        Some(IoUrings {
            fops: k.global("io_uring_fops").ok()?,
            ctx_flags: f("io_ring_ctx", "flags")?,
            bufs: o("io_ring_ctx", "io_bl_xa").zip(lists),
            layout,
            seen: Set::default(),
        })
    }

    /// The rings behind `file` when it is an io_uring instance not named before.
    pub(crate) fn of_file(&mut self, k: &Kernel, file: u64) -> crate::Result<Option<IoRing>> {
        let Some(ctx) = crate::task::private_of(k, file, self.fops)? else {
            return Ok(None);
        };
        if !self.seen.insert(ctx) {
            return Ok(None);
        }
        let no_mmap = field(k, ctx, self.ctx_flags, "io_ring_ctx.flags")? & SETUP_NO_MMAP != 0;
        let mut pages = Vec::new();
        match &self.layout {
            Layout::Regions(regions, region) => {
                for &r in regions {
                    region.heads(k, ctx + r, &mut pages)?;
                }
            }
            // NO_MMAP: the task's own pinned pages, whichever pointers name them
            Layout::Pages(..) if no_mmap => {}
            Layout::Pages(arrays, direct) => {
                if k.u64(ctx + arrays[0].0, arrays[0].2)? == 0 {
                    // 6.5–6.11: no arrays unless NO_MMAP
                    direct_heads(k, ctx, direct, &mut pages)?;
                } else {
                    for &(at, n, what) in arrays {
                        let arr = k.u64(ctx + at, what)?;
                        let n = field(k, ctx, n, what)?;
                        heads(k, arr, n, what, &mut pages)?;
                    }
                }
            }
            Layout::Direct(direct) => direct_heads(k, ctx, direct, &mut pages)?,
        }
        if let Some((xa, lists)) = &self.bufs {
            for bl in crate::xarray::pointers(k, ctx + xa)? {
                match lists {
                    BufRings::Pages {
                        flags,
                        pages: at,
                        nr,
                    } => {
                        if field(k, bl, *flags, "io_buffer_list.flags")? & IOBL_MMAP != 0 {
                            let arr = k.u64(bl + at, "io_buffer_list.buf_pages")?;
                            let n = field(k, bl, *nr, "io_buffer_list.buf_nr_pages")?;
                            heads(k, arr, n, "io_buffer_list.buf_pages[]", &mut pages)?;
                        }
                    }
                    BufRings::Region { flags, region } => {
                        let Some(r) = self.layout.region() else {
                            continue; // resolve() names it only with the rings' regions
                        };
                        if field(k, bl, *flags, "io_buffer_list.flags")? & IOBL_BUF_RING != 0 {
                            r.heads(k, bl + region, &mut pages)?;
                        }
                    }
                }
            }
        }
        Ok(Some(IoRing { ctx, pages }))
    }
}

/// An unsigned member of 1, 2, 4 or 8 bytes at `base`.
fn field(k: &Kernel, base: u64, (at, size): Field, what: &str) -> crate::Result<u64> {
    let b = k.bytes(base + at, size.clamp(1, 8) as usize, what)?;
    let mut v = [0u8; 8];
    v[..b.len()].copy_from_slice(&b);
    Ok(u64::from_le_bytes(v))
}

/// The compound heads of the `n` struct pages in the array at `arr`. A count past
/// [`MAX_PAGES`], or an array or entry that is not a kernel pointer, is a damaged ring: an
/// error, never a count read past the array.
fn heads(k: &Kernel, arr: u64, n: u64, what: &str, out: &mut Vec<u64>) -> crate::Result<()> {
    if n == 0 {
        return Ok(());
    }
    if n > MAX_PAGES {
        return Err(crate::Error::Corrupt {
            what: format!("{what}: {n} pages"),
            addr: arr,
            why: "more pages than an io_uring ring has",
        });
    }
    for p in k.u64s(k.ptr(arr, what)?, n as usize, what)? {
        out.push(crate::page::head_of(k, k.ptr(p, what)?));
    }
    Ok(())
}

/// The compound heads of the pages `rings` and `sq_sqes` point into (direct-map addresses).
fn direct_heads(k: &Kernel, ctx: u64, at: &[u64; 2], out: &mut Vec<u64>) -> crate::Result<()> {
    for (&m, what) in at.iter().zip(["io_ring_ctx.rings", "io_ring_ctx.sq_sqes"]) {
        let va = k.u64(ctx + m, what)?;
        match k.direct_page(va) {
            Some(p) => out.push(crate::page::head_of(k, p)),
            None if va == 0 => {}
            None => {
                return Err(crate::Error::Corrupt {
                    what: format!("{what} {va:#x}"),
                    addr: ctx,
                    why: "not a direct-map address",
                })
            }
        }
    }
    Ok(())
}
