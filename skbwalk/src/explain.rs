//! `explain`: the incident's reasoning with this dump's numbers (`shared/spec/meminfo.md` §4):
//! the breakdown and whether allocpage is abnormal; how much of it socket queues pin and who
//! holds it; why sockstat and slabtop missed it; one sentence that says where the memory is.

pub use crate::slab::SlabUsage;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::census::Census;
use crate::meminfo::{meminfo_with, Breakdown};
use crate::top::TopSocket;
use crate::warnings::{Warning, WarningKind, Warnings};
use crate::{Kernel, Result};

/// allocpage above this share of MemTotal is called abnormal (on healthy machines it is a few
/// percent: driver rings, page-frag caches, early allocations).
pub const ABNORMAL_ALLOCPAGE_PERCENT: f64 = 10.0;
/// How many holders are listed.
pub const TOP_SOCKETS: usize = 10;
/// `PAGE_SIZE << SKB_FRAG_PAGE_ORDER` with 4 KiB pages: the page a frag can sit in.
pub const FRAG_PAGE_BYTES: u64 = 32 << 10;

/// `PAGE_SIZE << SKB_FRAG_PAGE_ORDER` for a kernel's page size: `get_order(32768)` pages,
/// so 32 KiB with 4 and 16 KiB pages and one page with 64 KiB ones.
pub fn frag_page_bytes(page_size: u64) -> u64 {
    FRAG_PAGE_BYTES.max(page_size)
}

/// " in cgroup PATH" for a holder in a cgroup below the root (a container, a pod, a service),
/// nothing for the root or an unknown one.
pub fn in_cgroup(path: Option<&str>) -> String {
    match path {
        Some(p) if p != "/" => format!(" in cgroup {p}"),
        _ => String::new(),
    }
}

/// What sockstat shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Sockstat {
    /// `tcp_memory_allocated` × page size: sockstat's "TCP: mem", in bytes.
    pub tcp_memory_allocated_bytes: u64,
    /// TCP sockets: `tcp_sockets_allocated` (its global count plus every online CPU's delta).
    pub tcp_sockets: i64,
}

/// The memory cgroup the top socket charges (`sk_memcg`) and its `sock` counter: the pod's own
/// view of the socket, which charges truesize where the queue pins whole pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HolderMemcg {
    /// Its path (`None` where it cannot be read).
    pub path: Option<String>,
    /// `memory.stat`'s `sock` of that memcg in bytes (hierarchical; global and exact).
    pub sock: crate::counter::Counter,
    /// What the socket pins.
    pub pinned_bytes: u64,
}

/// The memcg the socket at `sk` charges and its `sock` counter; `None` for a socket charging no
/// memcg (the root's, or a kernel without memory cgroups).
fn holder_memcg(k: &Kernel, sk: u64, pinned_bytes: u64, w: &mut Warnings) -> Option<HolderMemcg> {
    let mut ws = Warnings::default();
    let tree = crate::memcg::Tree::read_subtree(k, sk, &mut ws);
    w.adopt(&ws.into_vec(), "memory cgroup of the top socket: ");
    let tree = tree?;
    let node = tree.nodes.first()?;
    let c = tree.counter(0, "MEMCG_SOCK")?;
    let unit = crate::cgroups::unit("MEMCG_SOCK", k.page_size()) as i64;
    Some(HolderMemcg {
        path: crate::cgroup::cgroup_path(k, node.cgroup).ok(),
        sock: crate::counter::Counter {
            global: c.global.max(0).saturating_mul(unit),
            exact: c.exact.max(0).saturating_mul(unit),
        },
        pinned_bytes,
    })
}

/// The largest owner of allocpage beyond socket queues (census `other`), by pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LargestOwner {
    /// Its key (`vmalloc`, `page_pool`, `pipe`, …).
    pub owner: &'static str,
    /// Its bytes.
    pub bytes: u64,
    /// Its largest holder, where the census names holders.
    pub holder: Option<String>,
}

/// The largest owner of `other` pages but socket queues and the unattributed rest.
fn largest_owner(c: &Census, page_size: u64) -> Option<LargestOwner> {
    let (key, pages) = c
        .other
        .parts()
        .into_iter()
        .filter(|&(k, p)| p > 0 && k != "skb" && k != "unattributed")
        .max_by_key(|&(_, p)| p)?;
    Some(LargestOwner {
        owner: key,
        bytes: pages.saturating_mul(page_size),
        holder: c
            .owners
            .get(key)
            .and_then(|h| h.first())
            .map(|h| h.holder.clone()),
    })
}

/// The `explain` report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ExplainReport {
    /// Bytes per page.
    pub page_size: u64,
    /// MemTotal split (bytes).
    pub breakdown: Breakdown,
    /// The census.
    pub census: Option<Census>,
    /// allocpage as a percentage of MemTotal.
    pub allocpage_percent: f64,
    /// Whether that is above [`ABNORMAL_ALLOCPAGE_PERCENT`].
    pub allocpage_abnormal: bool,
    /// Bytes of pages the socket queues pin (census `other.skb` × page size).
    pub skb_pinned_page_bytes: u64,
    /// What every socket queue pins, all told (`top`'s system `pinned_bytes`).
    pub sockets_pinned_bytes: u64,
    /// What the kernel charged those queues (`truesize`).
    pub sockets_truesize: u64,
    /// The top holders, as `top` ranks them.
    pub top_sockets: Vec<TopSocket>,
    /// The memory cgroup the first of them charges, with its `sock` counter.
    pub top_socket_memcg: Option<HolderMemcg>,
    /// The largest owner of allocpage beyond socket queues.
    pub largest_owner: Option<LargestOwner>,
    /// Bytes of allocpage no owner was found for (census `other.unattributed`).
    pub unattributed_bytes: u64,
    /// What sockstat showed.
    pub sockstat: Sockstat,
    /// What slabtop showed for the skb caches, by cache name.
    pub skb_slab: BTreeMap<String, SlabUsage>,
    /// The seed's worst case: active `skbuff_head_cache` objects × `worst_case_frags` ×
    /// `worst_case_frag_page_bytes`.
    pub worst_case_bytes: u64,
    /// Pages an skb can pin at most: MAX_SKB_FRAGS + 1 (the head's).
    pub worst_case_frags: u64,
    /// The page each can be: [`frag_page_bytes`] of the kernel's page size (32 KiB with 4 KiB
    /// pages, 64 KiB with 64 KiB ones).
    pub worst_case_frag_page_bytes: u64,
    /// Where the memory is, in one sentence.
    pub summary: String,
    /// Whether every part could be read.
    pub complete: bool,
    /// What could not.
    pub warnings: Vec<Warning>,
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
}

/// `tcp_sockets_allocated`: a `percpu_counter` (count + every online CPU's s32).
fn tcp_sockets(k: &Kernel, cpus: &[(u32, u64)]) -> Option<i64> {
    let t = &k.types;
    let a = k.global("tcp_sockets_allocated").ok()?;
    let count = t.member("percpu_counter", "count").ok()?.offset;
    let counters = t.member("percpu_counter", "counters").ok()?.offset;
    let mut v = k.u64(a + count, "percpu_counter.count").ok()? as i64;
    let pcp = k.u64(a + counters, "percpu_counter.counters").ok()?;
    for &(_, off) in cpus {
        v = v.saturating_add(i64::from(
            k.u32(pcp.wrapping_add(off), "percpu_counter delta").ok()? as i32,
        ));
    }
    Some(v)
}

/// The `explain` report of `k`.
///
/// ```no_run
/// let k = skbwalk::Kernel::open("vmcore".as_ref(), Some("vmlinux".as_ref()))?;
/// println!("{}", skbwalk::explain::explain(&k)?.summary);
/// # Ok::<(), skbwalk::Error>(())
/// ```
pub fn explain(k: &Kernel) -> Result<ExplainReport> {
    let mut w = Warnings::default();
    let top = crate::top(k, Default::default());
    let m = meminfo_with(k, top.as_ref().ok().map(|t| &t.skb_pages[..]))?;
    w.adopt(&m.warnings, "");
    let (top_sockets, pinned, truesize) = match top {
        Ok(t) => {
            // the socket walk's own gaps make the answer incomplete too
            w.adopt(&t.warnings, "socket walk: ");
            (
                t.sockets.into_iter().take(TOP_SOCKETS).collect::<Vec<_>>(),
                t.totals.pinned_bytes,
                t.totals.truesize,
            )
        }
        Err(e) => {
            w.push(WarningKind::of(&e), None, format!("the socket walk: {e}"));
            (Vec::new(), 0, 0)
        }
    };
    let cpus = m.cpu_offsets.clone();
    let page_size = m.page_size;
    let sockstat = Sockstat {
        tcp_memory_allocated_bytes: m
            .globals
            .get("tcp_memory_allocated")
            .map_or(0, |&p| (p.max(0) as u64).saturating_mul(page_size)),
        tcp_sockets: tcp_sockets(k, &cpus).unwrap_or_else(|| {
            w.push(
                WarningKind::Unsupported,
                None,
                "tcp_sockets_allocated could not be read: tcp_sockets is 0",
            );
            0
        }),
    };
    let mut skb_slab = BTreeMap::new();
    for name in ["skbuff_head_cache", "skbuff_fclone_cache"] {
        match crate::slab::find_cache(k, name, &mut w) {
            Ok(Some(c)) => match crate::slab::usage(k, c, &cpus, &mut w) {
                Ok(u) => {
                    skb_slab.insert(name.to_string(), u);
                }
                Err(e) => w.push(
                    WarningKind::of(&e),
                    Some(c),
                    format!("slab cache {name}: {e}"),
                ),
            },
            Ok(None) => w.push(
                WarningKind::Unsupported,
                None,
                format!("no slab cache named {name} (merged into another?)"),
            ),
            Err(e) => w.push(WarningKind::of(&e), None, format!("slab caches: {e}")),
        }
    }
    let worst_case_frags = k.off().map(|o| o.max_skb_frags).unwrap_or(17) + 1;
    let worst_case_frag_page_bytes = frag_page_bytes(k.page_size());
    let worst_case_bytes = skb_slab.get("skbuff_head_cache").map_or(0, |u| {
        u.active_objects
            .saturating_mul(worst_case_frags)
            .saturating_mul(worst_case_frag_page_bytes)
    });
    let b = m.breakdown;
    let allocpage_percent = if b.total > 0 {
        b.allocpage as f64 * 100.0 / b.total as f64
    } else {
        0.0
    };
    let allocpage_abnormal = allocpage_percent > ABNORMAL_ALLOCPAGE_PERCENT;
    let skb_pinned_page_bytes = m
        .census
        .as_ref()
        .map_or(0, |c| c.other.skb.saturating_mul(page_size));
    let allocpage = b.allocpage.max(0) as u64;
    let top_socket_memcg = top_sockets
        .first()
        .and_then(|s| holder_memcg(k, s.id.sock.0, s.totals.pinned_bytes, &mut w));
    let holder = top_sockets.first().map(|s| {
        format!(
            "{} {} {}{} ({} {} {} → {}), which pins {} for {} of truesize{}",
            s.pid.map_or("no process".into(), |p| format!("pid {p}")),
            s.comm.clone().unwrap_or_default(),
            s.fd.map_or("(no fd)".into(), |f| format!("fd {f}")),
            in_cgroup(s.cgroup.as_deref()),
            s.id.family,
            s.id.state,
            s.id.local.clone().unwrap_or_default(),
            s.id.remote.clone().unwrap_or_default(),
            mib(s.totals.pinned_bytes),
            mib(s.totals.truesize),
            top_socket_memcg.as_ref().map_or(String::new(), |m| {
                let whose = if m.path.is_some() && m.path == s.cgroup {
                    "its cgroup's".to_string()
                } else {
                    format!("memory cgroup {}'s", m.path.as_deref().unwrap_or("?"))
                };
                format!(
                    ", while {whose} memory.stat sock shows {}",
                    mib(m.sock.exact.max(0) as u64)
                )
            }),
        )
    });
    let share = if allocpage > 0 {
        skb_pinned_page_bytes as f64 * 100.0 / allocpage as f64
    } else {
        0.0
    };
    // With parts of the dump unread, no conclusion is drawn: the socket walk, the census or
    // the counters may be missing exactly what would change it (a makedumpfile that does not
    // know the kernel filters pages a walk needs).
    // Gaps in what was read (unreadable, corrupt, looping or cut-short memory, a damaged
    // file) block a conclusion; what this kernel lacks or the walk does not count (a merged
    // slab cache, a counter it does not have) leaves the report INCOMPLETE but the memory read.
    let all = w.clone().into_vec();
    let gaps: Vec<_> = all
        .iter()
        .filter(|x| x.kind != WarningKind::Unsupported)
        .collect();
    let largest_owner = m.census.as_ref().and_then(|c| largest_owner(c, page_size));
    let unattributed_bytes = m
        .census
        .as_ref()
        .map_or(0, |c| c.other.unattributed.saturating_mul(page_size));
    // what is unexplained matters in bytes, whatever its share: more than the ≤ 2 % of census
    // "other" (or 64 pages) a named owner leaves on a healthy machine
    let hidden = m.census.as_ref().is_some_and(|c| {
        let other: u64 = c.other.parts().iter().map(|p| p.1).sum();
        c.other.unattributed > (other / 50).max(64)
    });
    let largest_said = largest_owner.as_ref().map_or(String::new(), |o| {
        // pages only a pointer names are said as such, with where the most pointers are
        let (what, by) = if o.owner == crate::owner::Owner::Referenced.as_str() {
            ("pages only a pointer names", "most pointed at from")
        } else {
            (o.owner, "most held by")
        };
        format!(
            "the largest owner beyond socket queues is {what} ({}{})",
            mib(o.bytes),
            o.holder
                .as_ref()
                .map_or(String::new(), |h| format!(", {by} {h}"))
        )
    });
    let owners_said = if largest_said.is_empty() {
        format!("{} of it has no owner found", mib(unattributed_bytes))
    } else {
        format!(
            "{largest_said}, and {} has no owner found",
            mib(unattributed_bytes)
        )
    };
    let summary = if let Some(first) = gaps.first() {
        format!(
            "INCOMPLETE: {} part(s) of the dump could not be read (first: {}), so no conclusion is drawn from it: allocpage is {} ({allocpage_percent:.1}% of {}); socket queues pin at least {}{}.",
            gaps.len(),
            first.message,
            mib(allocpage),
            mib(b.total as u64),
            mib(skb_pinned_page_bytes),
            holder.map_or(String::new(), |h| format!("; the largest socket holder found is {h}, at least"))
        )
    } else {
        match (allocpage_abnormal, holder) {
        (true, Some(h)) if share >= 50.0 => format!(
            "The memory is in socket receive and send queues: allocpage is {} ({allocpage_percent:.1}% of {}), and {:.0}% of it ({}) is pages that queued skbs pin — most held by {h}; sockstat's tcp mem ({}) and slabtop's skbuff_head_cache miss it because they count truesize and sk_buff structs, not the compound pages the frags keep alive.",
            mib(allocpage), mib(b.total as u64), share, mib(skb_pinned_page_bytes),
            mib(sockstat.tcp_memory_allocated_bytes)
        ),
        (true, _) => format!(
            "allocpage is {} ({allocpage_percent:.1}% of {}), but socket queues pin only {} of it: {}.",
            mib(allocpage), mib(b.total as u64), mib(skb_pinned_page_bytes), owners_said
        ),
        (false, h) if !hidden => format!(
            "Nothing is hidden: allocpage is {} ({allocpage_percent:.1}% of {}, normal); free {}, user {}, kernel {}; {}{}.",
            mib(allocpage), mib(b.total as u64), mib(b.free as u64), mib(b.user as u64), mib(b.kernel as u64),
            owners_said,
            h.map_or(String::new(), |h| format!("; the largest socket holder is {h}"))
        ),
        (false, h) => format!(
            "allocpage is {} ({allocpage_percent:.1}% of {}, a normal share), but {} of it has no owner found{}{}.",
            mib(allocpage), mib(b.total as u64), mib(unattributed_bytes),
            if largest_said.is_empty() { String::new() } else { format!("; {largest_said}") },
            h.map_or(String::new(), |h| format!("; the largest socket holder is {h}"))
        ),
        }
    };
    let warnings = w.into_vec();
    Ok(ExplainReport {
        page_size,
        breakdown: b,
        census: m.census,
        allocpage_percent,
        allocpage_abnormal,
        skb_pinned_page_bytes,
        sockets_pinned_bytes: pinned,
        sockets_truesize: truesize,
        top_sockets,
        top_socket_memcg,
        largest_owner,
        unattributed_bytes,
        sockstat,
        skb_slab,
        worst_case_bytes,
        worst_case_frags,
        worst_case_frag_page_bytes,
        summary,
        complete: warnings.is_empty(),
        warnings,
    })
}
