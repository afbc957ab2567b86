//! Sockets no fd reaches, found where the kernel keeps them: TCP's established hash (`tcp_hashinfo.ehash`,
//! which also holds `TIME_WAIT` and `NEW_SYN_RECV` mini-sockets), its listening hash (`lhash2`, or `listening_hash` before 5.19), and
//! `udp_table`. Every chain walk is cycle-guarded and bounded.

use crate::links::{Chain, Stop};

use crate::offsets::{Listeners, Offsets, TcpTables, UdpTable};
use crate::warnings::{WarningKind, Warnings};
use crate::{Kernel, Result};

/// Most buckets read from one table.
const MAX_BUCKETS: u64 = 1 << 26;
/// Largest bucket believed (real buckets are 8 to a few hundred bytes, with lock debugging).
const MAX_STRIDE: u64 = 1 << 16;
/// Most sockets taken from all tables together.
const MAX_HASHED: usize = 1 << 22;

/// What the socket walk already read of a TCP socket's place in the established hash: the word
/// at its chain node (`skc_nulls_node.next`) and its `skc_state`. The chain walk takes these
/// instead of reading them again: a second touch of every socket, whose pages the resident
/// budget had mostly given back by then (a third of the page faults of a 400 000-socket `top`).
pub(crate) type Link = (u64, u8);

/// The [`Link`] of the socket at `sk`, whose `skc_state` is `state` (`None` when the layout has
/// no TCP tables or the word cannot be read).
pub(crate) fn link_of(k: &Kernel, o: &Offsets, sk: u64, state: u8) -> Option<Link> {
    let t = o.tcp_tables.as_ref().ok()?;
    let next = k
        .u64(sk + t.ehash_buckets.node_off, "sock.skc_nulls_node")
        .ok()?;
    Some((next, state))
}

/// Which table a socket was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    /// `tcp_hashinfo.ehash`.
    TcpEstablished,
    /// `tcp_hashinfo.lhash2` (5.19 on).
    TcpListen,
    /// `tcp_hashinfo.listening_hash` (before 5.19).
    TcpListeningHash,
    /// `udp_table.hash`.
    Udp,
}

impl Table {
    /// Name in reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Table::TcpEstablished => "tcp_ehash",
            Table::TcpListen => "tcp_lhash2",
            Table::TcpListeningHash => "tcp_listening_hash",
            Table::Udp => "udp_table",
        }
    }
}

/// A socket found in a hash table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hashed {
    /// The `sock_common` address (a full `sock`, or a timewait/request mini-socket).
    pub sk: u64,
    /// Where it was found.
    pub table: Table,
    /// `skc_state`.
    pub state: u8,
}

/// Where a hash table's buckets are: `count` buckets of `stride` bytes from `base`, the list head at
/// `head_off` in a bucket, the list node at `node_off` in a socket; `nulls` lists end at odd pointers.
#[derive(Clone, Copy)]
struct TableLayout {
    base: u64,
    count: u64,
    stride: u64,
    head_off: u64,
    node_off: u64,
    nulls: bool,
}

struct Walk<'a> {
    k: &'a Kernel,
    o: &'a crate::offsets::Offsets,
    w: &'a mut Warnings,
    out: Vec<Hashed>,
    /// Every socket reached so far, on any chain of any table.
    seen: Chain,
    /// Sockets already walked, sorted by address, with their [`Link`] when it was read.
    known: &'a [(u64, Option<Link>)],
    /// The chain-node offset the links were read at ([`link_of`]): only chains on that node
    /// take them.
    known_off: Option<u64>,
}

impl Walk<'_> {
    /// Walk one chain from `first`; `nulls` lists end at an odd pointer, plain lists at NULL.
    fn chain(&mut self, first: u64, node_off: u64, nulls: bool, table: Table) {
        let mut node = first;
        loop {
            if node == 0 || (nulls && node & 1 == 1) {
                return;
            }
            let sk = node.wrapping_sub(node_off);
            if let Err(stop) = self.seen.admit(sk) {
                let msg = match stop {
                    Stop::Loop(_) => format!("{}: chain loops at {sk:#x}; stopped", table.as_str()),
                    Stop::Limit(_) => format!("more than {MAX_HASHED} hashed sockets; stopped"),
                    _ => format!(
                        "{}: bad chain pointer {node:#x}; chain skipped",
                        table.as_str()
                    ),
                };
                let at = match stop {
                    Stop::Loop(_) => Some(sk),
                    Stop::Limit(_) => None,
                    _ => Some(node),
                };
                self.w.push(stop.kind(), at, msg);
                return;
            }
            let link = if Some(node_off) == self.known_off {
                self.known
                    .binary_search_by_key(&sk, |&(s, _)| s)
                    .ok()
                    .and_then(|i| self.known[i].1)
            } else {
                None
            };
            let state = match link {
                Some((_, state)) => state,
                None => self
                    .k
                    .u8(sk + self.o.sk_state, "sock_common.skc_state")
                    .unwrap_or(0),
            };
            self.out.push(Hashed { sk, table, state });
            node = match link {
                Some((next, _)) => next,
                None => match self.k.u64(node, "hash chain next") {
                    Ok(n) => n,
                    Err(e) => {
                        self.w.push(
                            crate::warnings::WarningKind::of(&e),
                            None,
                            format!("{}: {e}; chain stopped", table.as_str()),
                        );
                        return;
                    }
                },
            };
        }
    }

    /// Every bucket of a table.
    fn table(&mut self, t: TableLayout, table: Table) {
        let TableLayout {
            base,
            count,
            stride,
            head_off,
            node_off,
            nulls,
        } = t;
        if count > MAX_BUCKETS || base == 0 {
            self.w.push(
                crate::warnings::WarningKind::Corrupt,
                Some(base),
                format!(
                    "{}: implausible table ({count} buckets at {base:#x}); skipped",
                    table.as_str()
                ),
            );
            return;
        }
        if stride < head_off.saturating_add(8) || stride > MAX_STRIDE {
            self.w.push(
                crate::warnings::WarningKind::Corrupt,
                None,
                format!(
                    "{}: bucket of {stride} bytes cannot hold a list head at +{head_off}; skipped",
                    table.as_str()
                ),
            );
            return;
        }
        // Whole buckets per read, about a page at a time (at least one bucket).
        let chunk = (4096 / stride).max(1);
        let mut i = 0;
        while i < count {
            let n = chunk.min(count - i);
            let raw = match self
                .k
                .bytes(base + i * stride, (n * stride) as usize, "hash buckets")
            {
                Ok(r) => r,
                Err(e) => {
                    self.w.push(
                        crate::warnings::WarningKind::of(&e),
                        Some(base),
                        format!("{}: {e}; buckets {i}.. skipped", table.as_str()),
                    );
                    i += n;
                    continue;
                }
            };
            for j in 0..n {
                let o = (j * stride + head_off) as usize;
                let Some(first) = raw.get(o..o + 8).and_then(|b| b.try_into().ok()) else {
                    continue;
                };
                let first = u64::from_le_bytes(first);
                self.chain(first, node_off, nulls, table);
            }
            i += n;
        }
    }
}

/// Every socket in the TCP and UDP hash tables. Tables the debuginfo does not describe are skipped
/// with a warning. `known`: sockets already walked, sorted by address, with the [`Link`] read
/// then (the answer is the same with none).
pub(crate) fn hashed_sockets(
    k: &Kernel,
    o: &Offsets,
    w: &mut Warnings,
    known: &[(u64, Option<Link>)],
) -> Vec<Hashed> {
    let mut walk = Walk {
        k,
        o,
        w,
        out: Vec::new(),
        seen: Chain::new(k.space(), MAX_HASHED, 8),
        known,
        known_off: o.tcp_tables.as_ref().ok().map(|t| t.ehash_buckets.node_off),
    };
    match &o.tcp_tables {
        Ok(l) => match tcp_tables(k, l) {
            Ok((ehash, (listen, ltable))) => {
                walk.table(ehash, Table::TcpEstablished);
                walk.table(listen, ltable);
            }
            // a read of tcp_hashinfo failed (unreadable, corrupt), or its symbol is missing
            Err(e) => walk.w.push(
                WarningKind::of(&e),
                None,
                format!("TCP hash tables not walked: {e}"),
            ),
        },
        Err(e) => walk.w.push(
            WarningKind::Unsupported,
            None,
            format!("TCP hash tables not walked: {e}"),
        ),
    }
    match &o.udp_table {
        Ok(l) => match udp_table(k, l) {
            Ok(u) => walk.table(u, Table::Udp),
            Err(e) => walk.w.push(
                WarningKind::of(&e),
                None,
                format!("UDP hash table not walked: {e}"),
            ),
        },
        Err(e) => walk.w.push(
            WarningKind::Unsupported,
            None,
            format!("UDP hash table not walked: {e}"),
        ),
    }
    walk.out
}

/// A hash table's buckets as `tcp_hashinfo` or `udp_table` give them.
fn layout(base: u64, count: u64, b: crate::offsets::Buckets, nulls: bool) -> TableLayout {
    TableLayout {
        base,
        count,
        stride: b.stride,
        head_off: b.head_off,
        node_off: b.node_off,
        nulls,
    }
}

/// `tcp_hashinfo`'s established and listening tables, read from the kernel.
fn tcp_tables(k: &Kernel, l: &TcpTables) -> Result<(TableLayout, (TableLayout, Table))> {
    let hi = k.global("tcp_hashinfo")?;
    let ehash = layout(
        k.u64(hi + l.ehash, "tcp_hashinfo.ehash")?,
        u64::from(k.u32(hi + l.ehash_mask, "tcp_hashinfo.ehash_mask")?) + 1,
        l.ehash_buckets,
        true,
    );
    let listen = match l.listen {
        Listeners::ListeningHash { offset, count } => (
            layout(hi + offset, count, l.listen_buckets, true),
            Table::TcpListeningHash,
        ),
        Listeners::Lhash2 { lhash2, mask } => (
            layout(
                k.u64(hi + lhash2, "tcp_hashinfo.lhash2")?,
                u64::from(k.u32(hi + mask, "tcp_hashinfo.lhash2_mask")?) + 1,
                l.listen_buckets,
                true,
            ),
            Table::TcpListen,
        ),
    };
    Ok((ehash, listen))
}

/// `udp_table`'s buckets, read from the kernel.
fn udp_table(k: &Kernel, l: &UdpTable) -> Result<TableLayout> {
    let ut = k.global("udp_table")?;
    let base = k.u64(ut + l.hash, "udp_table.hash")?;
    let mask = k.u32(ut + l.mask, "udp_table.mask")?;
    Ok(layout(base, u64::from(mask) + 1, l.buckets, false))
}

#[cfg(test)]
mod tests {
    use super::{hashed_sockets, link_of, Link, Table};
    use crate::Kernel;

    /// The links of the established-hash sockets `hashed` holds, as the socket walk gives them.
    fn links(k: &Kernel, hashed: &[super::Hashed]) -> Vec<(u64, Option<Link>)> {
        let o = k.off().unwrap();
        let mut known: Vec<(u64, Option<Link>)> = hashed
            .iter()
            .filter(|h| h.table == Table::TcpEstablished)
            .map(|h| (h.sk, link_of(k, o, h.sk, h.state)))
            .collect();
        known.sort_unstable_by_key(|&(sk, _)| sk);
        known
    }

    /// Links the socket walk read give the chain walk's answer without reading the sockets
    /// again; the walk does take them (links that end every chain at once find fewer sockets).
    #[test]
    fn known_links_give_the_same_sockets() {
        use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
        use testdata::synth::SynthKernel;
        use testdata::world::WorldConfig;
        let dir = crate::testing::scratch("hash-links");
        let k = SynthKernel::build(&dir.join("k"), 5).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 20 });
        let path = dir.join("vmcore");
        write_qemu_elf(&mut w, &path, true).unwrap();
        let k = crate::testing::open(&path, Some(&w.k.vmlinux));
        let o = k.off().unwrap();
        let mut warn = crate::warnings::Warnings::default();
        let plain = hashed_sockets(&k, o, &mut warn, &[]);
        assert!(warn.is_empty(), "{:?}", warn.into_vec());
        let known = links(&k, &plain);
        assert!(
            known.len() >= 4,
            "established sockets in the fixture: {}",
            known.len()
        );
        let mut warn = crate::warnings::Warnings::default();
        assert_eq!(hashed_sockets(&k, o, &mut warn, &known), plain);
        // The walk takes what a link says (here, a state no socket is in) instead of reading.
        let marked: Vec<(u64, Option<Link>)> = known
            .iter()
            .map(|&(sk, l)| (sk, l.map(|(next, _)| (next, 0xee))))
            .collect();
        let mut warn = crate::warnings::Warnings::default();
        let got = hashed_sockets(&k, o, &mut warn, &marked);
        assert_eq!(got.len(), plain.len());
        for (g, p) in got.iter().zip(&plain) {
            let marked = known.binary_search_by_key(&p.sk, |&(sk, _)| sk).is_ok();
            assert_eq!(g.state == 0xee, marked, "{p:?}");
        }
    }

    #[test]
    #[ignore = "needs the real-dump tier (SKBWALK_DUMPS_DIR; ./test.sh runs it)"]
    fn every_inet_socket_is_in_its_kernel_hash_table() {
        let (dir, m) = testdata::real_tier::capture();
        let vmlinux = std::path::PathBuf::from(m["kernel"]["vmlinux"].as_str().unwrap());
        for boot in testdata::real_tier::boots(&m, &["A", "B", "C"]) {
            let k = crate::testing::open(&dir.join(boot).join("vmcore.elf"), Some(&vmlinux));
            let mut w = crate::warnings::Warnings::default();
            let hashed = hashed_sockets(&k, k.off().unwrap(), &mut w, &[]);
            assert!(w.is_empty(), "{:?}", w.into_vec());
            let mut lw = crate::warnings::Warnings::default();
            let with_links = hashed_sockets(&k, k.off().unwrap(), &mut lw, &links(&k, &hashed));
            assert_eq!(
                with_links, hashed,
                "boot {boot}: the same with the walk's links"
            );
            // Before 5.19 listeners are found in `listening_hash`, from 5.19 in `lhash2`.
            let listen = if k.types.has_member("inet_hashinfo", "listening_hash") {
                Table::TcpListeningHash
            } else {
                Table::TcpListen
            };
            let mut checked = 0;
            for s in m["boots"][boot]["sockets"].as_array().unwrap() {
                let (pid, fd) = (
                    s["pid"].as_i64().unwrap() as i32,
                    s["fd"].as_u64().unwrap() as u32,
                );
                let r = crate::socket_report(&k, pid, fd).unwrap();
                use crate::kind::{Family, SockType, State, TcpState};
                let want = match (r.id.family, r.id.sock_type, r.id.state) {
                    (
                        Family::Inet | Family::Inet6,
                        SockType::Stream,
                        State::Tcp(TcpState::Listen),
                    ) => listen,
                    (Family::Inet | Family::Inet6, SockType::Stream, _) => Table::TcpEstablished,
                    (Family::Inet | Family::Inet6, SockType::Dgram, _) => Table::Udp,
                    _ => continue,
                };
                let found = hashed.iter().find(|h| h.sk == r.id.sock.0);
                assert_eq!(
                    found.map(|h| h.table),
                    Some(want),
                    "boot {boot} pid {pid} fd {fd} {} {}",
                    r.id.family,
                    r.id.state
                );
                checked += 1;
            }
            assert!(
                checked >= 8,
                "boot {boot}: only {checked} inet sockets checked"
            );
        }
    }
}
