//! `top`: every socket reachable from every task's fd table, ranked by what it pins, with system-wide
//! totals that count a page shared by several sockets once.

use std::collections::BTreeMap;

use crate::hash::Map;

use serde::Serialize;

use crate::account::{amplification, Totals};
use crate::hashtables::{hashed_sockets, link_of, Link};
use crate::kind::State;
pub use crate::refs::{PageRef, PageRefs};
use crate::report::SocketId;
use crate::skb::{QueueName, Walker};
use crate::socket::{mini_identity, sock_identity};
use crate::task::{file_socket, socket_file_ops, tasks, FdHolders};
use crate::walk::{queue_totals, walk_identified, walk_socket, WalkedSocket};
use crate::{Kernel, Result};

/// A process holding a socket.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Holder {
    /// pid (thread-group id).
    pub pid: i32,
    /// comm.
    pub comm: String,
    /// fd.
    pub fd: u32,
    /// Its cgroup (v2 path), `None` where it cannot be read or the kernel has no cgroups.
    pub cgroup: Option<String>,
    /// The `task_struct`.
    #[serde(skip)]
    pub(crate) task: u64,
}

/// One socket in the ranking.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TopSocket {
    /// First holder's pid (null for a socket no fd reaches).
    pub pid: Option<i32>,
    /// Its comm.
    pub comm: Option<String>,
    /// Its fd.
    pub fd: Option<u32>,
    /// Its cgroup (v2 path): which container or pod holds the socket.
    pub cgroup: Option<String>,
    /// How the socket was found: `fd`, or the hash table holding a socket no fd reaches
    /// (`tcp_ehash`, `tcp_lhash2`, `udp_table`).
    pub reached_by: &'static str,
    /// Every (pid, fd) holding this same `struct file`.
    pub holders: Vec<Holder>,
    /// Which socket.
    #[serde(flatten)]
    pub id: SocketId,
    /// Per-queue totals.
    pub queues: BTreeMap<QueueName, Totals>,
    /// Socket totals.
    pub totals: Totals,
    /// How many of its pages other sockets reference too.
    pub shared_pages: u64,
}

/// System-wide figures.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[non_exhaustive]
pub struct SystemTotals {
    /// Sockets found.
    pub sockets: u64,
    /// skbs.
    pub skbs: u64,
    /// Sum of truesize.
    pub truesize: u64,
    /// Distinct compound pages across all sockets.
    pub unique_pages: u64,
    /// Their bytes.
    pub page_bytes: u64,
    /// Page bytes (deduplicated) + head and struct bytes of every skb.
    pub pinned_bytes: u64,
    /// pinned / truesize.
    pub amplification: f64,
}

/// The `top` report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TopReport {
    /// Sockets, most pinned first.
    pub sockets: Vec<TopSocket>,
    /// System totals.
    pub totals: SystemTotals,
    /// `_refcount` of every referenced page against the references found in socket queues.
    pub page_refs: PageRefs,
    /// Whether the walk saw everything it looked for (no warnings).
    pub complete: bool,
    /// Every compound page the queues reference: (head `struct page`, order). Not in the JSON;
    /// the page census attributes pages to sockets with it.
    #[serde(skip)]
    pub skb_pages: Vec<(u64, u32)>,
    /// What spoiled part of the result.
    pub warnings: Vec<crate::warnings::Warning>,
}

/// How [`top`] walks.
///
/// ```
/// let opts = skbwalk::top::TopOptions { keep: Some(10), ..Default::default() };
/// assert!(opts.threads.is_none() && opts.progress.is_none());
/// ```
#[derive(Default)]
pub struct TopOptions<'p> {
    /// Keep the first N sockets of the ranking (`None`: all). The system totals and page
    /// sharing still count every socket; memory for the ranking stays bounded by N whatever the
    /// number of sockets.
    pub keep: Option<usize>,
    /// Threads walking sockets (`None`: the cores, at most 8, or `SKBWALK_THREADS`). The
    /// report is the same for any number.
    pub threads: Option<usize>,
    /// Called with (sockets done, sockets found) as the walk goes.
    pub progress: Option<&'p mut dyn FnMut(usize, usize)>,
}

impl std::fmt::Debug for TopOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopOptions")
            .field("keep", &self.keep)
            .field("threads", &self.threads)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl<'p> TopOptions<'p> {
    /// Keep the first `n` sockets of the ranking.
    pub fn keep(mut self, n: Option<usize>) -> Self {
        self.keep = n;
        self
    }

    /// Walk on `n` threads.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// Report progress to `f` (sockets done, sockets found).
    pub fn progress(mut self, f: &'p mut dyn FnMut(usize, usize)) -> Self {
        self.progress = Some(f);
        self
    }
}

/// Walk every socket of every task (and every socket only the kernel's hash tables reach),
/// ranked by the bytes each pins.
///
/// ```no_run
/// use skbwalk::top::TopOptions;
/// let k = skbwalk::Kernel::open("vmcore".as_ref(), None)?;
/// let r = skbwalk::top(&k, TopOptions::default().keep(Some(10)))?;
/// assert!(r.sockets.len() <= 10);
/// println!("{} sockets pin {} B", r.totals.sockets, r.totals.pinned_bytes);
/// # Ok::<(), skbwalk::Error>(())
/// ```
pub fn top(k: &Kernel, opts: TopOptions<'_>) -> Result<TopReport> {
    let mut none = |_: usize, _: usize| {};
    let progress: &mut dyn FnMut(usize, usize) = match opts.progress {
        Some(p) => p,
        None => &mut none,
    };
    let keep = opts.keep;
    let threads = opts
        .threads
        .map_or_else(crate::parallel::threads, |t| t.clamp(1, 64));
    let mut w = Walker::new(k)?;
    let all = tasks(k, &mut w.warnings)?;
    let fds = FdHolders::of(k, &all, threads, &mut w.warnings);
    // (Looked up only when there are files to test: a lookup can add to the layout cache.)
    let ops = if fds.files.is_empty() {
        None
    } else {
        socket_file_ops(k)
    };
    // (An error is boxed: a result per open file stays two words, not an `Error`'s size.)
    let kinds = crate::parallel::map(fds.files.len(), threads, |g| {
        file_socket(k, fds.files[g], ops).map_err(Box::new)
    });
    let sock_files: Vec<(u64, usize)> = kinds
        .into_iter()
        .enumerate()
        .filter_map(|(g, kind)| match kind {
            Ok(Some(s)) => Some((s, g)),
            Ok(None) => None,
            Err(e) => {
                let (pid, fd) = fds.first(&all, g);
                w.warnings.push(
                    crate::warnings::WarningKind::of(&e),
                    None,
                    format!("pid {pid} fd {fd}: {e}"),
                );
                None
            }
        })
        .collect();
    let n = sock_files.len();
    let mut b = Builder {
        keep,
        ..Builder::default()
    };
    // Each socket is summarized as soon as it is walked and its skbs dropped: memory stays
    // proportional to sockets and pages, not skbs. The walks run on every core; the summaries
    // are added in socket order, so the report is the one a single thread makes.
    let sockets: Vec<u64> = sock_files.iter().map(|(s, _)| *s).collect();
    let mut done = 0;
    // The `struct sock` of every fd socket, with its place in the established hash as the walk
    // read it: a hashed socket among them is not added twice, and the chain walk does not
    // read it again.
    let mut seen: Vec<(u64, Option<Link>)> = Vec::with_capacity(n);
    let warnings = &mut w.warnings;
    walk_in_order(k, &sockets, threads, |i, walked, ws| {
        progress(i, n);
        let g = sock_files[i].1;
        warnings.append(ws);
        match walked {
            Ok(s) => {
                seen.push((s.id.sock, s.chain));
                b.add_summary(s, holders(&fds, &all, g), "fd")
            }
            Err(e) => {
                let (pid, fd) = fds.first(&all, g);
                warnings.push(
                    crate::warnings::WarningKind::of(&e),
                    None,
                    format!("pid {pid} fd {fd}: {e}"),
                )
            }
        }
        done += 1;
    })?;
    debug_assert_eq!(done, n);
    drop((fds, sock_files, sockets));
    seen.sort_unstable_by_key(|&(sk, _)| sk);
    seen.dedup_by_key(|&mut (sk, _)| sk);
    // Sockets no fd reaches (orphaned TCP, TIME_WAIT and request mini-sockets, kernel sockets),
    // from the hash tables.
    let mut hash_warnings = crate::warnings::Warnings::default();
    let hashed = hashed_sockets(k, w.o, &mut hash_warnings, &seen);
    w.warnings.extend(hash_warnings);
    let tw = k.types.enumerator("TCP_TIME_WAIT").ok();
    let req = k.types.enumerator("TCP_NEW_SYN_RECV").ok();
    for h in hashed {
        if seen.binary_search_by_key(&h.sk, |&(sk, _)| sk).is_ok() {
            continue;
        }
        let st = Some(i64::from(h.state));
        let id = if st == tw || st == req {
            mini_identity(k, h.sk)
        } else {
            let socket =
                w.o.sk_socket
                    .and_then(|o| k.u64(h.sk + o, "sock.sk_socket").ok())
                    .filter(|&s| s != 0);
            sock_identity(k, h.sk, socket)
        };
        match id {
            Ok(id) => {
                let s = Summary::of(walk_identified(&mut w, id), &mut w);
                b.add_summary(s, Vec::new(), h.table.as_str())
            }
            Err(e) => w.warnings.push(
                crate::warnings::WarningKind::of(&e),
                Some(h.sk),
                format!("{} socket {:#x}: {e}", h.table.as_str(), h.sk),
            ),
        }
    }
    progress(n, n);
    Ok(b.finish(k, w.o, threads, w.warnings))
}

/// Every holder of file `g` of `fds`.
fn holders(fds: &FdHolders, all: &[crate::task::Task], g: usize) -> Vec<Holder> {
    fds.of_file(g)
        .iter()
        .map(|&(_, t, fd)| Holder {
            pid: all[t as usize].tgid,
            comm: all[t as usize].comm.clone(),
            fd,
            cgroup: None,
            task: all[t as usize].addr,
        })
        .collect()
}

/// What `top` keeps of a walked socket: its skbs are gone.
struct Summary {
    id: crate::socket::Identity,
    totals: Totals,
    queues: BTreeMap<QueueName, Totals>,
    /// Compound heads the socket's skbs reference (each once), with order, bytes and the
    /// references to each (frags and page-fragment heads), for `_refcount` checks.
    pages: Vec<(u64, u32, u64, u32)>,
    /// A TCP socket's place in the established hash, read beside the socket for the chain
    /// walk that follows.
    chain: Option<Link>,
}

impl Summary {
    /// Summarize a walked socket, handing its skbs' buffers back to the walker `w`.
    fn of(ws: WalkedSocket, w: &mut Walker<'_>) -> Summary {
        let chain = match ws.id.state {
            State::Tcp(st) if ws.id.is_tcp => link_of(w.k, w.o, ws.id.sock, st.abi()),
            _ => None,
        };
        let s = Summary {
            chain,
            totals: ws.tally.totals(),
            queues: queue_totals(&ws),
            pages: ws
                .tally
                .pages()
                .iter()
                .map(|(&h, p)| (h, p.order, p.bytes, p.refs))
                .collect(),
            id: ws.id,
        };
        w.recycle(ws.queues);
        s
    }
}

type Walked = (Result<Summary>, crate::warnings::Warnings);

/// Walk `sockets` on `threads` threads, each with its own walker, and hand each socket's
/// summary and warnings to `take` in socket order (at most a few chunks per thread wait for
/// their turn).
fn walk_in_order(
    k: &Kernel,
    sockets: &[u64],
    threads: usize,
    mut take: impl FnMut(usize, Result<Summary>, crate::warnings::Warnings),
) -> Result<()> {
    let walk = |w: &mut Walker<'_>, socket: u64| -> Walked {
        let r = walk_socket(w, socket).map(|ws| Summary::of(ws, w));
        (r, std::mem::take(&mut w.warnings))
    };
    if threads <= 1 || sockets.len() < 64 {
        let mut w = Walker::new(k)?;
        w.warnings = Default::default();
        for (i, &s) in sockets.iter().enumerate() {
            let (r, ws) = walk(&mut w, s);
            take(i, r, ws);
        }
        return Ok(());
    }
    // Threads claim chunks of sockets (one channel message per chunk, not per socket).
    const CHUNK: usize = 32;
    let chunks = sockets.len().div_ceil(CHUNK);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<Walked>)>(threads * 2);
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..threads {
            let tx = tx.clone();
            let next = &next;
            let mut w = Walker::new(k)?;
            // The dump's own warnings are the main walker's; this one starts clean.
            w.warnings = Default::default();
            scope.spawn(move || loop {
                let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if c >= chunks {
                    break;
                }
                let part = &sockets[c * CHUNK..((c + 1) * CHUNK).min(sockets.len())];
                let walked = part.iter().map(|&s| walk(&mut w, s)).collect();
                if tx.send((c, walked)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Vec<Walked>> = BTreeMap::new();
        let mut want = 0;
        for (c, walked) in rx {
            pending.insert(c, walked);
            while let Some(done) = pending.remove(&want) {
                for (j, (r, ws)) in done.into_iter().enumerate() {
                    take(want * CHUNK + j, r, ws);
                }
                want += 1;
            }
        }
        Ok(())
    })
}

/// Accumulates the ranking and the system totals, one walked socket at a time.
#[derive(Default)]
struct Builder {
    /// Ranked sockets kept so far, each with the compound heads it references.
    sockets: Vec<(TopSocket, Vec<u64>)>,
    /// How many sockets the report keeps (`None`: all).
    keep: Option<usize>,
    /// Compound head → what the sockets hold of it (every page here is in some socket's page
    /// list, and each of those is referenced at least once: `account::Tally`).
    pages: Map<u64, PageUse>,
    sys: SystemTotals,
}

/// One compound page as the walked sockets hold it.
#[derive(Default, Clone, Copy)]
struct PageUse {
    order: u32,
    /// `PAGE_SIZE << order`.
    bytes: u64,
    /// Sockets whose skbs reference it.
    sockets: u32,
    /// References found (frags and page-fragment heads).
    refs: u32,
}

impl Builder {
    fn add_summary(&mut self, s: Summary, holders: Vec<Holder>, reached_by: &'static str) {
        let totals = s.totals;
        let sys = &mut self.sys;
        sys.sockets += 1;
        sys.skbs += totals.skbs;
        sys.truesize += totals.truesize;
        sys.pinned_bytes += totals.pinned_bytes - totals.page_bytes;
        for &(h, order, bytes, refs) in &s.pages {
            let p = self.pages.entry(h).or_insert(PageUse {
                order,
                bytes,
                ..PageUse::default()
            });
            p.sockets += 1;
            p.refs = p.refs.saturating_add(refs);
        }
        let pages = s.pages.iter().map(|&(h, _, _, _)| h).collect();
        let first = holders.first();
        let socket = TopSocket {
            pid: first.map(|h| h.pid),
            comm: first.map(|h| h.comm.clone()),
            fd: first.map(|h| h.fd),
            cgroup: None,
            reached_by,
            holders,
            queues: s.queues,
            id: s.id.into(),
            totals,
            shared_pages: 0,
        };
        self.sockets.push((socket, pages));
        if let Some(n) = self.keep {
            // Amortized: rank and cut when twice the kept number has gathered.
            if self.sockets.len() >= 2 * n.max(16) {
                self.rank();
                self.sockets.truncate(n);
            }
        }
    }

    /// Most pinned first; ties by pid, fd and sock address (a total order, so cutting the
    /// ranking early keeps exactly the sockets a full ranking would).
    fn rank(&mut self) {
        self.sockets.sort_by(|(a, _), (b, _)| {
            b.totals
                .pinned_bytes
                .cmp(&a.totals.pinned_bytes)
                .then(a.pid.cmp(&b.pid))
                .then(a.fd.cmp(&b.fd))
                .then(a.id.sock.cmp(&b.id.sock))
        });
    }

    fn finish(
        mut self,
        k: &Kernel,
        o: &crate::offsets::Offsets,
        threads: usize,
        warnings: crate::warnings::Warnings,
    ) -> TopReport {
        for (s, pages) in self.sockets.iter_mut() {
            s.shared_pages = pages.iter().filter(|h| self.pages[h].sockets > 1).count() as u64;
        }
        let sys = &mut self.sys;
        sys.unique_pages = self.pages.len() as u64;
        sys.page_bytes = self.pages.values().map(|p| p.bytes).sum();
        sys.pinned_bytes += sys.page_bytes;
        sys.amplification = amplification(sys.pinned_bytes, sys.truesize);
        let mut skb_pages: Vec<(u64, u32)> =
            self.pages.iter().map(|(&h, p)| (h, p.order)).collect();
        skb_pages.sort_unstable();
        let referenced: Vec<(u64, u32, u64)> = self
            .pages
            .iter()
            .map(|(&h, p)| (h, p.order, u64::from(p.refs)))
            .collect();
        let page_refs = PageRefs::check(k, o, &referenced, threads);
        self.rank();
        if let Some(n) = self.keep {
            self.sockets.truncate(n);
        }
        // the cgroups of the holders the report keeps
        let mut warnings = warnings;
        let mut paths = crate::cgroup::CgroupPaths::new(k);
        for (s, _) in self.sockets.iter_mut() {
            for h in s.holders.iter_mut() {
                h.cgroup = paths.of_task(h.task, &mut warnings).map(|p| p.to_string());
            }
            s.cgroup = s.holders.first().and_then(|h| h.cgroup.clone());
        }
        TopReport {
            skb_pages,
            page_refs,
            sockets: self.sockets.into_iter().map(|(s, _)| s).collect(),
            totals: self.sys,
            complete: warnings.is_empty(),
            warnings: warnings.into_vec(),
        }
    }
}
