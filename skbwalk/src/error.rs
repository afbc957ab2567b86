//! The one error type of the walk.

/// What stops a walk. Problems that only spoil part of a result are warnings in the report instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The dump could not be read.
    #[error("{path}: {source}")]
    Dump {
        /// The dump path.
        path: String,
        /// What vmcore said.
        #[source]
        source: vmcore::Error,
    },
    /// The debuginfo could not be read.
    #[error(transparent)]
    Types(#[from] kstructs::Error),
    /// The walk needs a type or member that this kernel's debuginfo does not have (in any of the
    /// spellings the supported kernel generations use).
    #[error("the walk cannot run on kernel {release}: {source}")]
    Layout {
        /// The kernel release (from the dump, else the vmlinux).
        release: String,
        /// What was missing.
        #[source]
        source: Box<kstructs::Error>,
    },
    /// The debuginfo does not describe the kernel of the dump.
    #[error("{vmlinux} does not match the dump {vmcore}: {reason}")]
    Mismatch {
        /// The debuginfo path.
        vmlinux: String,
        /// The dump path.
        vmcore: String,
        /// Which identifiers differ, with both values.
        reason: String,
    },
    /// Nothing tells where the kernel is in the dump.
    #[error("cannot locate the kernel in {vmcore}: {reason}")]
    NoLayout {
        /// The dump path.
        vmcore: String,
        /// Why.
        reason: String,
    },
    /// No vmlinux, and the dump cannot give the kernel's symbols itself.
    #[error(
        "{vmcore}: no --vmlinux and no symbols in the dump: {reason}; pass --vmlinux VMLINUX or \
         --system-map System.map-<release>"
    )]
    NoSymbols {
        /// The dump path.
        vmcore: String,
        /// What is missing.
        reason: String,
    },
    /// No debuginfo was given and none was found where distributions install it.
    #[error("no --vmlinux given and no debuginfo for kernel {release} found; tried: {tried}")]
    NoDebuginfo {
        /// The dump's kernel release.
        release: String,
        /// The paths tried.
        tried: String,
    },
    /// The task list cannot be walked, so no pid can be found and no socket reached.
    #[error(
        "cannot walk the task list at init_task ({init_task:#x}): {}; the kernel's \
         location in the dump (KERNELOFFSET, phys_base) may be wrong, or its memory damaged",
        stop.as_ref().map_or("it is empty", |w| w.message.as_str())
    )]
    TaskList {
        /// `init_task`'s address.
        init_task: u64,
        /// What stopped the walk (its kind, the address at fault and a sentence), or `None` when
        /// the list read as empty.
        stop: Option<Box<crate::warnings::Warning>>,
    },
    /// No task has that pid.
    #[error("no process with pid {pid} in the dump (run `skbwalk ... top` to list the sockets of every process)")]
    NoSuchPid {
        /// The pid asked for.
        pid: i32,
    },
    /// No task read has that pid, but part of the task list could not be read: the process may
    /// be on a page the dump left out (or damaged), so "no such process" cannot be said.
    #[error(
        "pid {pid} is not among the tasks that could be read, and the task list is incomplete \
         ({}): whether the process exists cannot be told from this dump",
        gap.message
    )]
    PidNotInReadableTasks {
        /// The pid asked for.
        pid: i32,
        /// Why the task list is incomplete: the first warning of its walk (e.g. an
        /// [`Unreadable`](crate::warnings::WarningKind::Unreadable) task a filtered dump left out).
        gap: Box<crate::warnings::Warning>,
    },
    /// The running kernel cannot be read (`--live`).
    #[error("{problem}")]
    Live {
        /// What stands in the way, and its fix.
        problem: crate::live::LiveProblem,
    },
    /// The fd is not open in that process.
    #[error("pid {pid} ({comm}) has no open fd {fd}; its open fds are: {open}")]
    FdNotOpen {
        /// The pid.
        pid: i32,
        /// Its comm.
        comm: String,
        /// The fd asked for.
        fd: u32,
        /// The fds it has, as text.
        open: String,
    },
    /// The fd is not a socket.
    #[error("fd {fd} of pid {pid} is not a socket: it is {what}")]
    NotASocket {
        /// The pid.
        pid: i32,
        /// The fd.
        fd: u32,
        /// What it is (path, or the f_op symbol).
        what: String,
    },
    /// A value read from the dump that no kernel would hold (a garbage pointer, an impossible
    /// compound order): the object it leads to is not read.
    #[error("cannot read {what} at {addr:#x}: {why}")]
    Corrupt {
        /// What was being read, with the value found.
        what: String,
        /// The kernel virtual address concerned.
        addr: u64,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A read the walk cannot do without.
    #[error("cannot read {what} at {addr:#x}: {source}")]
    Read {
        /// What was being read.
        what: String,
        /// Its kernel virtual address.
        addr: u64,
        /// Why the read failed.
        #[source]
        source: vmcore::Error,
    },
}

impl Error {
    /// Whether this is a read of a page the dump left out as filtered (`makedumpfile -d`). Of
    /// the kernel's own memory (the image, per-CPU areas, vmalloc areas, slabs) only the
    /// zero-page filter leaves pages out — the others drop page cache, user and free pages — so
    /// there such a page most likely held zeros: where "no pointer here" errs safe (the
    /// reverse-reference scan: an allocation stays unattributed) a caller may read it so.
    pub fn is_filtered(&self) -> bool {
        matches!(
            self,
            Error::Read {
                source: vmcore::Error::Excluded { .. },
                ..
            }
        )
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
