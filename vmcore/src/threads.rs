//! A number for each thread, for what a reader keeps per thread (counters, caches) so that
//! threads reading one dump in parallel do not share a lock or a cache line on every read.

use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THIS: usize = NEXT.fetch_add(1, Ordering::Relaxed);
}

/// This thread's number: 0, 1, 2, … in the order threads first ask.
pub(crate) fn this_thread() -> usize {
    THIS.with(|t| *t)
}
