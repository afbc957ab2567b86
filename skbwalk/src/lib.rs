//! skbwalk: where the memory of a Linux crash dump is — down to the process, the socket, the
//! sk_buff and the page.
//!
//! The walk goes task → files → fd → `struct file` → `struct socket` → `sock` → its queues → every
//! `sk_buff` → `skb_shared_info` frags and `frag_list` → each frag's page → its compound head and
//! order, and reports the memory each skb and socket keeps alive next to what `truesize` claims
//! (`../shared/spec/accounting.md`).
//!
//! ```no_run
//! let k = skbwalk::Kernel::open("vmcore".as_ref(), Some("vmlinux-6.1.0-27-cloud-amd64".as_ref()))?;
//! let r = skbwalk::socket_report(&k, 146935, 11)?;
//! println!("{} skbs, truesize {} B, pinned {} B ({}x)",
//!     r.totals.skbs, r.totals.truesize, r.totals.pinned_bytes, r.totals.amplification);
//! let top = skbwalk::top(&k, Default::default())?;
//! println!("{} sockets pin {} B", top.totals.sockets, top.totals.pinned_bytes);
//! # Ok::<(), skbwalk::Error>(())
//! ```
#![deny(missing_docs)]
// Every type a report carries can be named by a caller.
#![deny(unnameable_types)]

pub mod account;
pub mod census;
mod cgroup;
pub mod cgroups;
mod counter;
mod cpus;
mod error;
pub mod explain;
mod globals;
mod hash;
mod hashtables;
mod hex;
mod io_uring;
pub mod kernel;
pub mod kind;
mod le;
mod links;
pub mod live;
mod memcg;
pub mod meminfo;
pub mod memory;
mod module_types;
mod nic_rings;
mod offsets;
mod owner;
pub mod owners;
mod page;
mod parallel;
mod perf_rings;
pub mod referrers;
mod refs;
pub mod report;
pub mod skb;
mod slab;
mod socket;
mod space;
mod struct_page;
mod task;
#[cfg(test)]
mod testing;
pub mod top;
mod walk;
pub mod warnings;
mod xarray;

pub use error::{Error, Result};
pub use kernel::Kernel;
pub use report::{sock_report, socket_report, SockReport, SocketReport};
pub use top::{top, TopReport};
/// The dump reader and the debuginfo reader this crate is built on, re-exported so a caller
/// uses the same versions (e.g. for [`Kernel::from_parts`]).
pub use {kstructs, vmcore};
