//! Tasks and their open files: `init_task.tasks`, thread groups, `files → fdt → fd[]`.

use crate::hash::{Map, Set};
use crate::links::list_entries;
use crate::offsets::Threads;

use crate::warnings::Warnings;
use crate::{Error, Kernel, Result};

/// Most tasks followed on `init_task.tasks` (PID_MAX_LIMIT is 4M).
pub(crate) const MAX_TASKS: usize = 1 << 22;
/// Most fds examined in one table (`sysctl fs.nr_open` caps at about 1G; real tables are far smaller).
pub(crate) const MAX_FDS: u32 = 1 << 24;
/// `fs.nr_open`'s default, the bound when the kernel's `sysctl_nr_open` cannot be read.
const DEFAULT_NR_OPEN: u32 = 1 << 20;

/// A task as the walk needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    /// `task_struct` address.
    pub addr: u64,
    /// `pid` (the thread id).
    pub pid: i32,
    /// `tgid` (the process id).
    pub tgid: i32,
    /// `comm`.
    pub comm: String,
    /// `files` (0 for kernel threads).
    pub files: u64,
}

fn read_task(k: &Kernel, addr: u64) -> Result<Task> {
    let o = k.off()?;
    Ok(Task {
        addr,
        pid: k.u32(addr + o.task_pid, "task_struct.pid")? as i32,
        tgid: k.u32(addr + o.task_tgid, "task_struct.tgid")? as i32,
        comm: k.cstr(addr + o.task_comm, 16, "task_struct.comm")?,
        files: k.u64(addr + o.task_files, "task_struct.files")?,
    })
}

/// Every thread-group leader on `init_task.tasks` (init_task itself excluded), and their threads.
pub(crate) fn tasks(k: &Kernel, w: &mut Warnings) -> Result<Vec<Task>> {
    let init = k.global("init_task")?;
    // the list's own warnings first: when it yields nothing, they are the reason
    let mut lw = Warnings::default();
    let leaders = list_entries(
        k,
        init + k.off()?.task_tasks,
        k.off()?.task_tasks,
        MAX_TASKS,
        "init_task.tasks",
        &mut lw,
    );
    if leaders.is_empty() {
        // A running kernel always has tasks besides init_task (pid 1 at least): an empty
        // list means it could not be read, and "no such pid" or "0 sockets" would be a lie.
        return Err(Error::TaskList {
            init_task: init,
            stop: lw.into_vec().into_iter().next().map(Box::new),
        });
    }
    w.extend(lw);
    let mut out = Vec::with_capacity(leaders.len());
    for addr in leaders {
        match read_task(k, addr) {
            Ok(t) => out.push(t),
            Err(e) => w.push(
                crate::warnings::WarningKind::of(&e),
                Some(addr),
                format!("task at {addr:#x}: {e}"),
            ),
        }
        let threads = match k.off()?.task_threads {
            Some(Threads::Ring(tg)) => {
                list_entries(k, addr + tg, tg, MAX_TASKS, "task_struct.thread_group", w)
            }
            // the list's head is in signal_struct: every entry is a thread, the leader too
            Some(Threads::SignalList { node, signal, head }) => {
                match k.u64(addr + signal, "task_struct.signal") {
                    Ok(sig) if k.is_kernel_ptr(sig, 8) => list_entries(
                        k,
                        sig + head,
                        node,
                        MAX_TASKS,
                        "signal_struct.thread_head",
                        w,
                    )
                    .into_iter()
                    .filter(|&t| t != addr)
                    .collect(),
                    Ok(sig) => {
                        w.push(
                            crate::warnings::WarningKind::Corrupt,
                            Some(addr),
                            format!("task at {addr:#x}: signal {sig:#x} is not a kernel pointer: its threads are not listed"),
                        );
                        Vec::new()
                    }
                    Err(e) => {
                        w.push(
                            crate::warnings::WarningKind::of(&e),
                            Some(addr),
                            format!("task at {addr:#x}: its threads: {e}"),
                        );
                        Vec::new()
                    }
                }
            }
            None => Vec::new(),
        };
        {
            for t in threads {
                match read_task(k, t) {
                    Ok(t) => out.push(t),
                    Err(e) => w.push(
                        crate::warnings::WarningKind::of(&e),
                        Some(t),
                        format!("thread at {t:#x}: {e}"),
                    ),
                }
            }
        }
    }
    Ok(out)
}

/// The thread-group leader with `pid`.
///
/// A pid not among the tasks read is "no such pid" only when the whole task list was read:
/// where part of it was unreadable (a task on a page the dump left out), the process may be
/// there, and the answer is [`Error::PidNotInReadableTasks`] naming why.
pub(crate) fn find_process(k: &Kernel, pid: i32, w: &mut Warnings) -> Result<Task> {
    let mut tw = Warnings::default();
    let all = tasks(k, &mut tw)?;
    let found = all
        .iter()
        .find(|t| t.pid == pid && t.tgid == pid)
        .or_else(|| all.iter().find(|t| t.pid == pid))
        .cloned();
    match found {
        Some(t) => {
            w.append(tw);
            Ok(t)
        }
        None => match tw.first() {
            None => Err(Error::NoSuchPid { pid }),
            Some(gap) => Err(Error::PidNotInReadableTasks {
                pid,
                gap: Box::new(gap.clone()),
            }),
        },
    }
}

/// The open fds of a `files_struct`: `(fd, struct file *)`. A `max_fds` beyond what the kernel
/// allows (`fs.nr_open`) is cut there, with a warning; slots that hold no kernel pointer are
/// skipped, with one warning per table.
pub(crate) fn open_files(k: &Kernel, files: u64, w: &mut Warnings) -> Result<Vec<(u32, u64)>> {
    if files == 0 {
        return Ok(Vec::new());
    }
    let files = k.ptr(files, "task_struct.files")?;
    let fdt = k.ptr(
        k.u64(files + k.off()?.files_fdt, "files_struct.fdt")?,
        "files_struct.fdt",
    )?;
    let max_fds = k.u32(fdt + k.off()?.fdt_max_fds, "fdtable.max_fds")?;
    let arr = k.ptr(k.u64(fdt + k.off()?.fdt_fd, "fdtable.fd")?, "fdtable.fd")?;
    let limit = k
        .global("sysctl_nr_open")
        .and_then(|a| k.u32(a, "sysctl_nr_open"))
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_NR_OPEN)
        .min(MAX_FDS);
    let max = max_fds.min(limit);
    if max_fds > limit {
        w.push(
            crate::warnings::WarningKind::Corrupt,
            Some(fdt),
            format!("fdtable at {fdt:#x}: max_fds {max_fds} is beyond fs.nr_open {limit}; read {limit} slots"),
        );
    }
    let mut garbage = 0u32;
    let mut out = Vec::new();
    // Read the pointer array in chunks: one read per 512 fds.
    let mut fd = 0u32;
    while fd < max {
        let n = (max - fd).min(512);
        let raw = match k.bytes(arr + u64::from(fd) * 8, n as usize * 8, "fdtable.fd[]") {
            Ok(r) => r,
            Err(e) if fd > 0 => {
                w.push(
                    crate::warnings::WarningKind::of(&e),
                    Some(arr),
                    format!("fdtable.fd[] at {arr:#x}: slots from {fd} of {max} unreadable ({e}); stopped"),
                );
                break;
            }
            Err(e) => return Err(e),
        };
        for (i, c) in raw.chunks_exact(8).enumerate() {
            let f = u64::from_le_bytes(c.try_into().unwrap_or_default());
            if f == 0 {
                continue;
            }
            if k.is_kernel_ptr(f, 8) {
                out.push((fd + i as u32, f));
            } else {
                garbage += 1;
            }
        }
        fd += n;
    }
    if garbage > 0 {
        w.push(
            crate::warnings::WarningKind::Corrupt,
            Some(arr),
            format!("fdtable.fd[] at {arr:#x}: {garbage} slots hold no kernel pointer; skipped"),
        );
    }
    Ok(out)
}

/// fd numbers for a message: runs of three or more folded (`0-3, 5, 11, 12`), at most `max`
/// runs shown.
pub(crate) fn fd_list(fds: impl IntoIterator<Item = u32>, max: usize) -> String {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for fd in fds {
        match runs.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(fd) => *end = fd,
            _ => runs.push((fd, fd)),
        }
    }
    if runs.is_empty() {
        return "none".into();
    }
    let total: u64 = runs.iter().map(|(a, b)| u64::from(b - a) + 1).sum();
    let mut s: Vec<String> = runs
        .iter()
        .take(max)
        .map(|&(a, b)| match b - a {
            0 => a.to_string(),
            1 => format!("{a}, {b}"),
            _ => format!("{a}-{b}"),
        })
        .collect();
    if runs.len() > max {
        s.push(format!("… ({total} fds in all)"));
    }
    s.join(", ")
}

/// What an open file is, for a message: the dentry's name, else the `f_op` symbol.
pub(crate) fn describe_file(k: &Kernel, file: u64) -> String {
    let Ok(o) = k.off() else {
        return format!("file {file:#x}");
    };
    let name = k
        .u64(file + o.file_dentry, "file.f_path.dentry")
        .ok()
        .filter(|&d| k.is_kernel_ptr(d, 8))
        .and_then(|d| {
            let p = k.u64(d + o.dentry_name, "dentry.d_name.name").ok()?;
            k.cstr(p, 256, "dentry name").ok().filter(|s| !s.is_empty())
        });
    let fop = k
        .u64(file + o.file_f_op, "file.f_op")
        .ok()
        .and_then(|f| k.symbolize(f));
    match (name, fop) {
        (Some(n), Some(f)) => format!("{n:?} (f_op {f})"),
        (Some(n), None) => format!("{n:?}"),
        (None, Some(f)) => format!("a file with f_op {f}"),
        (None, None) => format!("the file at {file:#x}"),
    }
}

/// `S_IFSOCK` and `S_IFIFO`: an inode's file type (`i_mode & S_IFMT`).
pub(crate) const S_IFSOCK: u16 = 0o140000;
pub(crate) const S_IFIFO: u16 = 0o010000;

/// Whether the open file at `file` is of the kind whose `f_op` is `ops` (as looked up once
/// for every file of a walk) or whose inode has file type `mode`.
pub(crate) fn file_is(k: &Kernel, file: u64, ops: Option<u64>, mode: u16) -> Result<bool> {
    let o = k.off()?;
    let fop = k.u64(file + o.file_f_op, "file.f_op")?;
    if ops == Some(fop) {
        return Ok(true);
    }
    let inode = k.u64(file + o.file_f_inode, "file.f_inode")?;
    Ok(
        k.is_kernel_ptr(inode, 8)
            && k.u16(inode + o.inode_mode, "inode.i_mode")? & 0o170000 == mode,
    )
}

/// `file.private_data` of `file` when its `f_op` is `fops` and the word is a kernel pointer
/// (a perf event's `struct perf_event`, an io_uring's `struct io_ring_ctx`).
pub(crate) fn private_of(k: &Kernel, file: u64, fops: u64) -> Result<Option<u64>> {
    let o = k.off()?;
    if k.u64(file + o.file_f_op, "file.f_op")? != fops {
        return Ok(None);
    }
    let p = k.u64(file + o.file_private_data, "file.private_data")?;
    Ok(k.is_kernel_ptr(p, 8).then_some(p))
}

/// `&socket_file_ops`, for [`file_socket`] (looked up once for every file of a walk).
pub(crate) fn socket_file_ops(k: &Kernel) -> Option<u64> {
    k.global("socket_file_ops").ok()
}

/// The `struct socket` behind a file, if it is a socket (`f_op == &socket_file_ops`, as
/// [`socket_file_ops`] found it, or an S_IFSOCK inode).
pub(crate) fn file_socket(k: &Kernel, file: u64, ops: Option<u64>) -> Result<Option<u64>> {
    if !file_is(k, file, ops, S_IFSOCK)? {
        return Ok(None);
    }
    let o = k.off()?;
    Ok(Some(
        k.u64(file + o.file_private_data, "file.private_data")?,
    ))
}

/// Which tasks hold each open file, read once per fd table (threads share tables; a
/// `struct file` may sit in several): compact, so memory per fd stays a few words however many
/// fds the dump holds; a holder's comm is copied only when its socket joins the ranking (and
/// freed when the ranking is cut).
pub(crate) struct FdHolders {
    /// Each open file, in the order first found.
    pub files: Vec<u64>,
    /// (file's index, task's index, fd), grouped by file in the order found.
    members: Vec<(u32, u32, u32)>,
    /// Where each file's members start in `members` (one past the end at the end).
    start: Vec<u32>,
}

impl FdHolders {
    pub(crate) fn of(
        k: &Kernel,
        all: &[crate::task::Task],
        threads: usize,
        warnings: &mut crate::warnings::Warnings,
    ) -> Self {
        // Each fd table once (threads share them), read on every core, taken in task order.
        let mut tables_seen = Set::default();
        let owners: Vec<usize> = (0..all.len())
            .filter(|&ti| all[ti].files != 0 && tables_seen.insert(all[ti].files))
            .collect();
        let read = crate::parallel::map(owners.len(), threads, |i| {
            let mut w = crate::warnings::Warnings::default();
            let open = open_files(k, all[owners[i]].files, &mut w);
            (open, w)
        });
        let mut index: Map<u64, u32> = Map::default();
        let mut files = Vec::new();
        let mut members = Vec::new();
        for (&ti, (open, w)) in owners.iter().zip(read) {
            let t = &all[ti];
            warnings.append(w);
            let open = match open {
                Ok(f) => f,
                Err(e) => {
                    warnings.push(
                        crate::warnings::WarningKind::of(&e),
                        None,
                        format!("pid {} ({}): fd table: {e}", t.tgid, t.comm),
                    );
                    continue;
                }
            };
            for (fd, file) in open {
                let g = *index.entry(file).or_insert_with(|| {
                    files.push(file);
                    (files.len() - 1) as u32
                });
                members.push((g, ti as u32, fd));
            }
        }
        // Stable: each file's holders stay in the order found.
        members.sort_by_key(|m| m.0);
        let mut start = Vec::with_capacity(files.len() + 1);
        let mut m = 0;
        for g in 0..files.len() as u32 {
            start.push(m as u32);
            while members.get(m).is_some_and(|x| x.0 == g) {
                m += 1;
            }
        }
        start.push(m as u32);
        FdHolders {
            files,
            members,
            start,
        }
    }

    /// The (task, fd) pairs holding file `g`.
    pub(crate) fn of_file(&self, g: usize) -> &[(u32, u32, u32)] {
        &self.members[self.start[g] as usize..self.start[g + 1] as usize]
    }

    /// pid and fd of the first holder of file `g`.
    pub(crate) fn first(&self, all: &[crate::task::Task], g: usize) -> (i32, u32) {
        self.of_file(g)
            .first()
            .map_or((0, 0), |&(_, t, fd)| (all[t as usize].tgid, fd))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fd_lists_are_folded_and_bounded() {
        assert_eq!(super::fd_list([], 8), "none");
        assert_eq!(super::fd_list([0, 1, 2, 3, 5, 11, 12], 8), "0-3, 5, 11, 12");
        let every_other = super::fd_list((0..1_000_000).step_by(2), 8);
        assert!(every_other.len() < 100, "{every_other}");
        assert!(
            every_other.ends_with("(500000 fds in all)"),
            "{every_other}"
        );
        assert_eq!(super::fd_list(0..10_000_000, 8), "0-9999999");
    }
}
