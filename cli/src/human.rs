//! Human-readable text for each report.

use std::fmt::Write;

use serde::Serialize;
use skbwalk::account::Totals;
use skbwalk::top::TopReport;
use skbwalk::{Kernel, SocketReport};

/// What `info` prints (JSON keys of cli.md, then extras).
#[derive(Debug, Default, Serialize)]
pub struct InfoOut {
    pub format: String,
    pub compression: String,
    pub page_size: u64,
    pub pages_present: u64,
    pub pages_excluded: u64,
    pub osrelease: Option<String>,
    pub kaslr_offset: Option<String>,
    pub phys_base: Option<String>,
    pub paging_levels: Option<u8>,
    pub header_version: Option<i32>,
    pub vmcoreinfo: bool,
    pub incomplete: bool,
    pub cpus: usize,
    pub machine: String,
    /// The architecture (cli.md: `x86_64`, `aarch64`), when kernel addresses translate.
    pub arch: Option<String>,
    /// The kernel's page size (arm64: 4, 16 or 64 KiB; may differ from the dump's block size).
    pub kernel_page_size: Option<u64>,
    /// Virtual address bits in use.
    pub va_bits: Option<u8>,
    /// arm64: `PHYS_OFFSET` (`memstart_addr`), the physical address of the linear map's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phys_offset: Option<String>,
    /// arm64: descriptors in the LPA2 format (52-bit addresses with 4 or 16 KiB pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lpa2: Option<bool>,
    /// A split dump's parts given (path, start_pfn, end_pfn, pages).
    pub parts: Vec<PartOut>,
    /// Pfn ranges of a split dump whose parts were not given.
    pub missing_pfns: Vec<(String, String)>,
    pub complete: bool,
    pub warnings: Vec<skbwalk::warnings::Warning>,
}

impl InfoOut {
    /// An `info` report holding only what the kernel's layout `arch` says (KASLR offset,
    /// phys_base, paging, architecture, page size, VA bits, arm64's PHYS_OFFSET and LPA2): the
    /// rest for the caller to fill, dump or running kernel alike.
    pub fn with_arch(arch: Option<&dyn skbwalk::vmcore::arch::Arch>) -> InfoOut {
        let layout = arch.map(|a| a.facts());
        let arm64 = arch.and_then(|a| {
            a.as_any()
                .downcast_ref::<skbwalk::vmcore::aarch64::Aarch64Layout>()
        });
        InfoOut {
            kaslr_offset: layout.as_ref().map(|l| format!("{:#x}", l.kaslr_offset)),
            phys_base: layout
                .as_ref()
                .and_then(|l| l.phys_base)
                .map(|p| format!("{p:#x}")),
            paging_levels: layout.as_ref().and_then(|l| l.levels),
            arch: layout.as_ref().map(|l| l.machine.to_string()),
            kernel_page_size: layout.as_ref().map(|l| l.page_size),
            va_bits: layout.as_ref().and_then(|l| l.va_bits),
            phys_offset: arm64.map(|l| format!("{:#x}", l.phys_offset)),
            lpa2: arm64.map(|l| l.lpa2),
            ..InfoOut::default()
        }
    }
}

/// One part of a split dump, for `info`.
#[derive(Debug, Serialize)]
pub struct PartOut {
    pub path: String,
    pub start_pfn: String,
    pub end_pfn: String,
    pub pages_present: u64,
}

/// Bytes as a short human figure.
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn synthetic_banner(k: &Kernel) -> &'static str {
    match k.dump().and_then(|d| d.info().osrelease.as_deref()) {
        Some(r) if r.contains("synthetic") => {
            "*** SYNTHETIC sample dump (built by testdata/, not a real kernel) ***\n"
        }
        _ => "",
    }
}

pub fn info(i: &InfoOut) -> String {
    let mut s = String::new();
    let na = || "unknown".to_string();
    let _ = writeln!(
        s,
        "format:         {}{}",
        i.format,
        i.header_version
            .map(|v| format!(" (header version {v})"))
            .unwrap_or_default()
    );
    let _ = writeln!(s, "compression:    {}", i.compression);
    let _ = writeln!(s, "page size:      {}", i.page_size);
    let _ = writeln!(
        s,
        "pages present:  {} ({})",
        i.pages_present,
        bytes(i.pages_present * i.page_size)
    );
    let _ = writeln!(s, "pages excluded: {}", i.pages_excluded);
    let _ = writeln!(
        s,
        "kernel release: {}",
        i.osrelease.clone().unwrap_or_else(na)
    );
    let _ = writeln!(
        s,
        "KASLR offset:   {}",
        i.kaslr_offset.clone().unwrap_or_else(na)
    );
    match &i.phys_offset {
        // arm64 has no phys_base: the linear map's physical start is what locates RAM
        Some(p) => {
            let _ = writeln!(s, "PHYS_OFFSET:    {p}");
        }
        None => {
            let _ = writeln!(
                s,
                "phys_base:      {}",
                i.phys_base.clone().unwrap_or_else(na)
            );
        }
    }
    let mut paging = i
        .paging_levels
        .map(|l| format!("{l}-level"))
        .unwrap_or_else(na);
    if i.arch.as_deref() == Some("aarch64") {
        if let (Some(ps), Some(va)) = (i.kernel_page_size, i.va_bits) {
            paging += &format!(", {} KiB pages, {va}-bit VA", ps / 1024);
        }
        if i.lpa2 == Some(true) {
            paging += " (LPA2)";
        }
    }
    let _ = writeln!(s, "paging:         {paging}");
    let _ = writeln!(
        s,
        "VMCOREINFO:     {}",
        if i.vmcoreinfo { "yes" } else { "no" }
    );
    let _ = writeln!(s, "CPUs saved:     {}", i.cpus);
    if i.machine != "x86_64" {
        let _ = writeln!(s, "machine:        {}", i.machine);
    }
    for p in &i.parts {
        let _ = writeln!(
            s,
            "split part:     {} (pfns {}..{}, {} pages)",
            p.path, p.start_pfn, p.end_pfn, p.pages_present
        );
    }
    for (a, b) in &i.missing_pfns {
        let _ = writeln!(s, "missing part:   pfns {a}..{b} (not given)");
    }
    if i.incomplete {
        let _ = writeln!(
            s,
            "WARNING: the dump is marked incomplete (makedumpfile ran out of space)"
        );
    }
    s
}

fn totals_row(s: &mut String, name: &str, t: &Totals) {
    let _ = writeln!(
        s,
        "{name:<13} {:>8} {:>11} {:>11} {:>7} {:>11} {:>11} {:>6.2}x",
        t.skbs,
        bytes(t.len),
        bytes(t.truesize),
        t.unique_pages,
        bytes(t.page_bytes),
        bytes(t.pinned_bytes),
        t.amplification
    );
}

pub fn socket(r: &SocketReport, all: bool, k: &Kernel) -> String {
    let mut s = String::from(synthetic_banner(k));
    let peer = match (&r.id.local, &r.id.remote) {
        (Some(l), Some(p)) => format!("{l} -> {p}"),
        (Some(l), None) => l.clone(),
        _ => String::new(),
    };
    let _ = writeln!(
        s,
        "pid {} ({}) fd {}: {} {} {} {}",
        r.pid, r.comm, r.fd, r.id.family, r.id.sock_type, r.id.state, peer
    );
    if let Some(c) = r.cgroup.as_deref().filter(|c| *c != "/") {
        let _ = writeln!(s, "cgroup {c}");
    }
    let _ = writeln!(s, "struct sock {:#x}", r.id.sock.0);
    let kv = &r.kernel;
    let _ = writeln!(
        s,
        "kernel's view: sk_rmem_alloc {} of sk_rcvbuf {}; sk_wmem_queued {} of sk_sndbuf {}\n",
        bytes(kv.sk_rmem_alloc.max(0) as u64),
        bytes(kv.sk_rcvbuf.max(0) as u64),
        bytes(kv.sk_wmem_queued.max(0) as u64),
        bytes(kv.sk_sndbuf.max(0) as u64)
    );
    let _ = writeln!(
        s,
        "{:<13} {:>8} {:>11} {:>11} {:>7} {:>11} {:>11} {:>7}",
        "queue", "skbs", "len", "truesize", "pages", "page bytes", "pinned", "ampl."
    );
    for q in skbwalk::skb::QueueName::ALL {
        if let Some(t) = r.queues.get(&q) {
            totals_row(&mut s, q.as_str(), t);
        }
    }
    totals_row(&mut s, "socket", &r.totals);
    let _ = writeln!(
        s,
        "\nThis socket keeps {} alive; truesize accounting says {} ({:.2}x).",
        bytes(r.totals.pinned_bytes),
        bytes(r.totals.truesize),
        r.totals.amplification
    );
    if !r.most_shared_pages.is_empty() {
        let _ = writeln!(
            s,
            "\nmost-shared pages:\n{:<20} {:>5} {:>6} {:>9}",
            "compound head", "order", "skbs", "refcount"
        );
        for p in &r.most_shared_pages {
            let rc = p.refcount.map_or("?".into(), |v| v.to_string());
            let _ = writeln!(
                s,
                "{:<20} {:>5} {:>6} {:>9}",
                format!("{:#x}", p.head.0),
                p.order,
                p.skbs,
                rc
            );
        }
    }
    if !r.skbs.is_empty() {
        let shown = if all {
            r.skbs.len()
        } else {
            r.skbs.len().min(20)
        };
        let _ = writeln!(
            s,
            "\nskbs ({shown} of {}{}):",
            r.skbs.len(),
            if shown < r.skbs.len() {
                "; --all-skbs or --json for all"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "{:<20} {:<12} {:>7} {:>8} {:>8} {:>5} {:>10}",
            "sk_buff", "queue", "len", "data_len", "truesize", "frags", "pinned"
        );
        for b in r.skbs.iter().take(shown) {
            let name = if b.parent.is_some() {
                format!("  {:#x}", b.addr)
            } else {
                format!("{:#x}", b.addr)
            };
            let _ = writeln!(
                s,
                "{name:<20} {:<12} {:>7} {:>8} {:>8} {:>5} {:>10}",
                b.queue,
                b.len,
                b.data_len,
                b.truesize,
                b.nr_frags,
                bytes(b.pinned_bytes())
            );
        }
    }
    s
}

pub fn top(r: &TopReport, n: usize, k: &Kernel) -> String {
    let mut s = String::from(synthetic_banner(k));
    // a cgroup column where some holder is in a cgroup below the root (containers, services)
    let cgroups = r
        .sockets
        .iter()
        .take(n)
        .any(|t| t.cgroup.as_deref().is_some_and(|c| c != "/"));
    let _ = writeln!(
        s,
        "{:>8} {:<15} {:>4} {:<9} {:<12} {:>7} {:>11} {:>11} {:>7} {:>7}{}",
        "pid",
        "comm",
        "fd",
        "family",
        "state",
        "skbs",
        "truesize",
        "pinned",
        "ampl.",
        "shared",
        if cgroups { "  cgroup" } else { "" }
    );
    for t in r.sockets.iter().take(n) {
        let _ = writeln!(
            s,
            "{:>8} {:<15} {:>4} {:<9} {:<12} {:>7} {:>11} {:>11} {:>6.2}x {:>7}{}",
            t.pid.map_or("-".into(), |p| p.to_string()),
            t.comm
                .clone()
                .unwrap_or_else(|| format!("({})", t.reached_by)),
            t.fd.map_or("-".into(), |f| f.to_string()),
            t.id.family,
            t.id.state,
            t.totals.skbs,
            bytes(t.totals.truesize),
            bytes(t.totals.pinned_bytes),
            t.totals.amplification,
            t.shared_pages,
            match (cgroups, t.cgroup.as_deref()) {
                (true, Some(c)) => format!("  {c}"),
                (true, None) => "  -".to_string(),
                _ => String::new(),
            }
        );
    }
    if r.sockets.len() > n {
        let _ = writeln!(
            s,
            "… {} more sockets (-n N to show more)",
            r.sockets.len() - n
        );
    }
    let p = &r.page_refs;
    if p.pages > 0 {
        let _ = writeln!(
            s,
            "\npage references: {} pages hold {} references from socket queues; {} pages have {} more (_refcount) held elsewhere (driver rings, page-frag caches, other users){}",
            p.pages,
            p.refs_found,
            p.pages_with_unaccounted,
            p.unaccounted_refs,
            if p.fewer_than_found > 0 { format!("; {} pages have FEWER references than found", p.fewer_than_found) } else { String::new() }
        );
        if p.page_pool > 0 {
            let _ = writeln!(
                s,
                "  ({} of them are page_pool pages: their references are pp_ref_count, not _refcount)",
                p.page_pool
            );
        }
    }
    let t = &r.totals;
    let _ = writeln!(
        s,
        "\nsystem: {} sockets, {} skbs; truesize {}; {} distinct pages ({}); pinned {} ({:.2}x)",
        t.sockets,
        t.skbs,
        bytes(t.truesize),
        t.unique_pages,
        bytes(t.page_bytes),
        bytes(t.pinned_bytes),
        t.amplification
    );
    s
}

/// The memory dashboard: total → free, user, kernel (with its lines), allocpage.
pub fn meminfo(r: &skbwalk::meminfo::MeminfoReport, k: &Kernel) -> String {
    let b = &r.breakdown;
    let l = &b.lines;
    let mut s = String::from(synthetic_banner(k));
    let total = b.total.max(1) as f64;
    let row = |s: &mut String, indent: usize, name: &str, v: i64, note: &str| {
        let fig = if v < 0 {
            format!("-{}", bytes(v.unsigned_abs()))
        } else {
            bytes(v as u64)
        };
        let _ = writeln!(
            s,
            "{:indent$}{name:<w$} {fig:>10} {:>6.1}%{note}",
            "",
            v as f64 * 100.0 / total,
            w = 26 - indent
        );
    };
    let _ = writeln!(
        s,
        "memory of {} ({} online CPUs; counters exact: global + per-CPU deltas)",
        k.dump()
            .and_then(|d| d.info().osrelease.as_deref())
            .unwrap_or("unknown kernel"),
        r.online_cpus.len()
    );
    row(&mut s, 0, "total (MemTotal)", b.total, "");
    row(&mut s, 2, "free", b.free, "");
    row(&mut s, 2, "user (LRU pages)", b.user, "");
    row(&mut s, 4, "anon", l.anon, "  (mapped; part of user)");
    row(&mut s, 4, "file", l.file, "  (page cache; part of user)");
    row(&mut s, 4, "shmem", l.shmem, "  (part of user)");
    row(&mut s, 2, "kernel", b.kernel, "");
    row(&mut s, 4, "slab_reclaimable", l.slab_reclaimable, "");
    row(&mut s, 4, "slab_unreclaimable", l.slab_unreclaimable, "");
    row(&mut s, 4, "page_tables", l.page_tables, "");
    row(&mut s, 4, "vmalloc", l.vmalloc, "");
    let stacks = if b.stacks_in_vmalloc {
        "  (in vmalloc: not added again)"
    } else {
        ""
    };
    row(&mut s, 4, "kernel_stack", l.kernel_stack, stacks);
    row(&mut s, 4, "percpu", l.percpu, "");
    row(&mut s, 4, "hugetlb", l.hugetlb, "");
    row(
        &mut s,
        4,
        "kernel_misc_reclaimable",
        l.kernel_misc_reclaimable,
        "",
    );
    row(
        &mut s,
        2,
        "allocpage",
        b.allocpage,
        "  <- pages from the buddy allocator no counter explains",
    );
    if let Some(c) = &r.census {
        let ps = r.page_size;
        let _ = writeln!(
            s,
            "\npage census: {} struct pages, each in one class{}",
            c.pages,
            if c.complete {
                ""
            } else {
                " (INCOMPLETE: see the warnings)"
            }
        );
        let _ = writeln!(
            s,
            "  {:<26} {:>10} {:>10}   agrees with",
            "class", "pages", "bytes"
        );
        for (class, &n) in &c.classes {
            let check = c
                .checks
                .iter()
                .find(|x| x.class == *class)
                .map(|x| {
                    format!(
                        "   {} = {} (difference {:+})",
                        x.counter, x.counter_pages, x.difference
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(s, "  {class:<26} {n:>10} {:>10}{check}", bytes(n * ps));
            if *class == "other" {
                for (key, v) in c.other.parts() {
                    let always = ["skb", "vmalloc", "unattributed"].contains(&key);
                    if v == 0 && !always {
                        continue;
                    }
                    let name = match key {
                        "skb" => "skb (socket queues)",
                        "referenced" => "referenced (a pointer)",
                        _ => key,
                    };
                    let top =
                        c.owners
                            .get(key)
                            .and_then(|h| h.first())
                            .map_or(String::new(), |h| {
                                let more = c.owners[key].len() - 1;
                                format!(
                                    "   most: {} ({} pages){}",
                                    h.holder,
                                    h.pages,
                                    if more > 0 {
                                        format!(", {more} more holders")
                                    } else {
                                        String::new()
                                    }
                                )
                            });
                    let _ = writeln!(s, "    {name:<24} {v:>10} {:>10}{top}", bytes(v * ps));
                }
            }
        }
    }
    let moved: Vec<String> = r
        .counters
        .iter()
        .filter(|(_, c)| c.exact != c.global)
        .map(|(n, c)| format!("{n} {:+}", c.exact - c.global))
        .collect();
    if !moved.is_empty() {
        let _ = writeln!(
            s,
            "\nunfolded per-CPU deltas (exact - global, pages): {}",
            moved.join(", ")
        );
    }
    s
}

/// The incident's reasoning, step by step, with this dump's numbers.
pub fn cgroups(r: &skbwalk::cgroups::CgroupsReport, k: &Kernel) -> String {
    let mut s = String::from(synthetic_banner(k));
    let _ = writeln!(
        s,
        "{:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}  cgroup (hierarchical; exact, per-CPU parts folded)",
        "holds", "current", "charged", "anon", "file", "kernel", "sock"
    );
    let _ = writeln!(
        s,
        "{:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "", "pages", "", "", "", "/ pinned"
    );
    let row = |c: &skbwalk::cgroups::MemCgroup, name: &str| {
        c.stat
            .get(name)
            .map_or("-".into(), |v| bytes(v.exact.max(0) as u64))
    };
    for c in &r.cgroups {
        let name = c.path.as_deref().unwrap_or("?");
        let leaf = if c.depth == 0 {
            name
        } else {
            name.rsplit('/').next().unwrap_or(name)
        };
        let sock = if c.sockets_subtree.sockets > 0 {
            format!(
                "{} / {}",
                row(c, "sock"),
                bytes(c.sockets_subtree.pinned_bytes)
            )
        } else {
            row(c, "sock")
        };
        let _ = writeln!(
            s,
            "{:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}  {}{}{}",
            bytes(c.holds_bytes),
            bytes(c.memory_current_bytes),
            c.charged_subtree.pages,
            row(c, "anon"),
            row(c, "file"),
            row(c, "kernel"),
            sock,
            "  ".repeat(c.depth as usize),
            leaf,
            if c.state == "online" {
                String::new()
            } else {
                format!(" ({})", c.state)
            }
        );
    }
    s
}

pub fn explain(r: &skbwalk::explain::ExplainReport, k: &Kernel) -> String {
    let mut s = String::from(synthetic_banner(k));
    let b = &r.breakdown;
    let pos = |v: i64| bytes(v.max(0) as u64);
    let _ = writeln!(
        s,
        "1. memory: total {}, free {}, user {}, kernel {}, allocpage {} ({:.1}% of total: {})",
        pos(b.total),
        pos(b.free),
        pos(b.user),
        pos(b.kernel),
        pos(b.allocpage),
        r.allocpage_percent,
        if r.allocpage_abnormal {
            "ABNORMAL"
        } else {
            "normal"
        }
    );
    let _ = writeln!(
        s,
        "2. socket queues pin {} of pages (census other/skb); all queues pin {} for {} of truesize",
        bytes(r.skb_pinned_page_bytes),
        bytes(r.sockets_pinned_bytes),
        bytes(r.sockets_truesize)
    );
    for t in r.top_sockets.iter().take(5) {
        let _ = writeln!(
            s,
            "   {:>8} {:<15} fd {:<5} {} {} {} -> {}: pinned {} ({:.1}x truesize){}",
            t.pid.map_or("-".into(), |p| p.to_string()),
            t.comm.clone().unwrap_or_default(),
            t.fd.map_or("-".into(), |f| f.to_string()),
            t.id.family,
            t.id.state,
            t.id.local.clone().unwrap_or_default(),
            t.id.remote.clone().unwrap_or_default(),
            bytes(t.totals.pinned_bytes),
            t.totals.amplification,
            skbwalk::explain::in_cgroup(t.cgroup.as_deref())
        );
    }
    if let Some(m) = &r.top_socket_memcg {
        let _ = writeln!(
            s,
            "   its memory cgroup {}: memory.stat sock {} (exact; {} unflushed), while the socket pins {}",
            m.path.as_deref().unwrap_or("?"),
            bytes(m.sock.exact.max(0) as u64),
            bytes(m.sock.global.max(0) as u64),
            bytes(m.pinned_bytes)
        );
    }
    let _ = writeln!(
        s,
        "3. why the usual views missed it: sockstat's TCP mem {} ({} TCP sockets)",
        bytes(r.sockstat.tcp_memory_allocated_bytes),
        r.sockstat.tcp_sockets
    );
    for (name, u) in &r.skb_slab {
        let _ = writeln!(
            s,
            "   slabtop {name}: {} active of {} objects x {} B = {}",
            u.active_objects,
            u.total_objects,
            u.slot_size,
            bytes(u.active_objects.saturating_mul(u.slot_size))
        );
    }
    let _ = writeln!(
        s,
        "   worst case (active skbuff_head_cache x (MAX_SKB_FRAGS + 1) x {} KiB): {}",
        r.worst_case_frag_page_bytes >> 10,
        bytes(r.worst_case_bytes)
    );
    let _ = writeln!(s, "4. {}", r.summary);
    s
}
