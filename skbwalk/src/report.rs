//! The socket report (`skbwalk --pid P --fd F`): identity, per-queue and per-socket totals, every skb.
//! Field names are the JSON contract of `../shared/spec/cli.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::account::Totals;
use crate::skb::{QueueName, Skb, Walker};
use crate::socket::Identity;
pub use crate::socket::KernelView;
use crate::task::{describe_file, file_socket, find_process, open_files, socket_file_ops};
use crate::walk::{queue_totals, walk_identified, walk_socket, WalkedSocket};
use crate::{Error, Kernel, Result};

pub use crate::hex::Hex;

/// A page many of the socket's skbs reference.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SharedPage {
    /// Compound head.
    pub head: Hex,
    /// Order.
    pub order: u32,
    /// skbs of this socket referencing it.
    pub skbs: u32,
    /// The page's `_refcount`, when readable.
    pub refcount: Option<i32>,
}

/// Who a socket is, as reports print it (`sock`, `family`, `type`, `state`, `local`, `remote`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SocketId {
    /// `struct sock` address.
    pub sock: Hex,
    /// `AF_…`.
    pub family: crate::kind::Family,
    /// `SOCK_…`.
    #[serde(rename = "type")]
    pub sock_type: crate::kind::SockType,
    /// TCP's state (without its `TCP_` prefix), or the `struct socket`'s.
    pub state: crate::kind::State,
    /// Local address or AF_UNIX path.
    pub local: Option<String>,
    /// Remote address.
    pub remote: Option<String>,
}

impl From<Identity> for SocketId {
    fn from(i: Identity) -> Self {
        SocketId {
            sock: Hex(i.sock),
            family: i.family,
            sock_type: i.sock_type,
            state: i.state,
            local: i.local,
            remote: i.remote,
        }
    }
}

/// The report for the socket at one fd of one process: who holds it, and its [`SockReport`]
/// (whose fields it derefs to: `r.totals`, `r.skbs`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SocketReport {
    /// Process id.
    pub pid: i32,
    /// Its comm.
    pub comm: String,
    /// fd number.
    pub fd: u32,
    /// The process's cgroup (its v2 path, `/` for the root), `None` where it cannot be read
    /// or the kernel has no cgroups.
    pub cgroup: Option<String>,
    /// The socket.
    #[serde(flatten)]
    pub sock: SockReport,
}

impl std::ops::Deref for SocketReport {
    type Target = SockReport;
    fn deref(&self) -> &SockReport {
        &self.sock
    }
}

/// The report for one `struct sock`: identity, the kernel's own accounting, queues, totals,
/// pages and every skb.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SockReport {
    /// Which socket.
    #[serde(flatten)]
    pub id: SocketId,
    /// The kernel's own accounting.
    pub kernel: KernelView,
    /// Per-queue totals (the error queue only when non-empty).
    pub queues: BTreeMap<QueueName, Totals>,
    /// Per-socket totals (pages deduplicated across queues).
    pub totals: Totals,
    /// The most-shared pages (up to 10).
    pub most_shared_pages: Vec<SharedPage>,
    /// Every skb, queue by queue in queue order, `frag_list` members after their parent.
    pub skbs: Vec<Skb>,
    /// Whether the walk saw everything it looked for (no warnings).
    pub complete: bool,
    /// What spoiled part of the result.
    pub warnings: Vec<crate::warnings::Warning>,
}

/// The report for the socket at `fd` of process `pid`.
pub fn socket_report(k: &Kernel, pid: i32, fd: u32) -> Result<SocketReport> {
    let mut w = Walker::new(k)?;
    let task = find_process(k, pid, &mut w.warnings)?;
    let files = open_files(k, task.files, &mut w.warnings)?;
    let Some(&(_, file)) = files.iter().find(|(f, _)| *f == fd) else {
        return Err(Error::FdNotOpen {
            pid,
            comm: task.comm,
            fd,
            open: crate::task::fd_list(files.iter().map(|&(f, _)| f), 32),
        });
    };
    let Some(socket) = file_socket(k, file, socket_file_ops(k))? else {
        return Err(Error::NotASocket {
            pid,
            fd,
            what: describe_file(k, file),
        });
    };
    let cgroup = crate::cgroup::CgroupPaths::new(k)
        .of_task(task.addr, &mut w.warnings)
        .map(|p| p.to_string());
    let ws = walk_socket(&mut w, socket)?;
    Ok(SocketReport {
        pid,
        comm: task.comm,
        fd,
        cgroup,
        sock: sock_of(k, w, ws),
    })
}

/// The report for the `struct sock` at `sk`, found by the caller (in a hash table, a slab, a
/// backtrace): no process or fd needed.
///
/// ```no_run
/// let k = skbwalk::Kernel::open("vmcore".as_ref(), None)?;
/// let r = skbwalk::report::sock_report(&k, 0xffff88c1c2733f00)?;
/// println!("{} {} pins {} B", r.id.family, r.id.state, r.totals.pinned_bytes);
/// # Ok::<(), skbwalk::Error>(())
/// ```
pub fn sock_report(k: &Kernel, sk: u64) -> Result<SockReport> {
    let mut w = Walker::new(k)?;
    let sk = k.ptr(sk, "struct sock")?;
    let socket =
        w.o.sk_socket
            .and_then(|o| k.u64(sk + o, "sock.sk_socket").ok())
            .filter(|&s| k.is_kernel_ptr(s, 8));
    let id = crate::socket::sock_identity(k, sk, socket)?;
    let ws = walk_identified(&mut w, id);
    Ok(sock_of(k, w, ws))
}

/// The report body of a walked socket.
fn sock_of(k: &Kernel, w: Walker<'_>, ws: WalkedSocket) -> SockReport {
    let mut shared: Vec<(u64, u32, u32)> = ws
        .tally
        .pages()
        .iter()
        .map(|(&h, p)| (h, p.order, p.skbs))
        .collect();
    shared.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let most_shared_pages = shared
        .iter()
        .take(10)
        .map(|&(head, order, skbs)| SharedPage {
            head: Hex(head),
            order,
            skbs,
            refcount: k
                .u32(head + w.o.page.refcount_offset(), "page._refcount")
                .ok()
                .map(|v| v as i32),
        })
        .collect();
    SockReport {
        kernel: ws.id.kernel_view,
        queues: queue_totals(&ws),
        totals: ws.tally.totals(),
        most_shared_pages,
        skbs: ws.queues.into_iter().flat_map(|(_, q)| q).collect(),
        id: ws.id.into(),
        complete: w.warnings.is_empty(),
        warnings: w.warnings.into_vec(),
    }
}
