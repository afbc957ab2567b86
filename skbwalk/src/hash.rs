//! The walk's hash maps and sets. Their keys are kernel addresses and pfns, millions of them on
//! a big dump, hashed with foldhash's seeded fast hash instead of std's SipHash: hashing was a
//! tenth of `top`'s time. The seed is random per process, so a dump cannot be built to make
//! every key collide on every run.

/// A hash map keyed by addresses.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A hash set of addresses.
pub(crate) type Set<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
