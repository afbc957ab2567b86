//! Walking one socket: its identity, then its queues' skbs, tallied as it goes.

use std::collections::BTreeMap;

use crate::account::{Tally, Totals};
use crate::skb::{QueueName, Skb, Walker};
use crate::socket::{identity, walk_queues, Identity};
use crate::Result;

/// A walked socket: identity, per-queue skbs and the socket's page tally.
pub(crate) struct WalkedSocket {
    /// Identity.
    pub(crate) id: Identity,
    /// Queues in report order.
    pub(crate) queues: Vec<(QueueName, Vec<Skb>)>,
    /// The socket-wide tally.
    pub(crate) tally: Tally,
}

/// Walk one socket's queues.
pub(crate) fn walk_socket(w: &mut Walker<'_>, socket: u64) -> Result<WalkedSocket> {
    let id = identity(w.k, socket)?;
    Ok(walk_identified(w, id))
}

/// Walk the queues of a socket already identified.
pub(crate) fn walk_identified(w: &mut Walker<'_>, id: Identity) -> WalkedSocket {
    let queues = walk_queues(w, &id);
    let mut tally = Tally::default();
    for s in queues.iter().flat_map(|(_, q)| q) {
        tally.add(s);
    }
    WalkedSocket { id, queues, tally }
}

/// Per-queue totals (error queue only when non-empty).
pub(crate) fn queue_totals(ws: &WalkedSocket) -> BTreeMap<QueueName, Totals> {
    // A socket's skbs are mostly on one queue, whose totals are then the socket's (already
    // tallied: not tallied again).
    let mut held = ws.queues.iter().filter(|(_, q)| !q.is_empty());
    let only = match (held.next(), held.next()) {
        (Some((n, _)), None) => Some(*n),
        _ => None,
    };
    ws.queues
        .iter()
        .filter(|(n, q)| *n != QueueName::Error || !q.is_empty())
        .map(|(n, q)| {
            let t = if q.is_empty() {
                Totals::default()
            } else if only == Some(*n) {
                ws.tally.totals()
            } else {
                crate::account::totals(q)
            };
            (*n, t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::{Family, SockType, State, TcpState};
    use crate::page::Compound;

    fn skb(queue: QueueName, head: u64, truesize: u32) -> Skb {
        Skb {
            addr: head,
            queue,
            parent: None,
            len: 100,
            data_len: 100,
            truesize,
            head_frag: false,
            fclone: 0,
            head: 0,
            nr_frags: 1,
            frags: vec![],
            pages: vec![Compound {
                head,
                order: 3,
                page_shift: 12,
            }],
            head_page: None,
            head_bytes: 1024,
            head_estimated: false,
            struct_bytes: 256,
        }
    }

    fn walked(queues: Vec<(QueueName, Vec<Skb>)>) -> WalkedSocket {
        let mut tally = Tally::default();
        for s in queues.iter().flat_map(|(_, q)| q) {
            tally.add(s);
        }
        let id = Identity {
            sock: 1,
            family: Family::from_abi(2),
            sock_type: SockType::Stream,
            state: State::Tcp(TcpState::from_abi(1)),
            local: None,
            remote: None,
            is_tcp: true,
            mini: false,
            kernel_view: Default::default(),
        };
        WalkedSocket { id, queues, tally }
    }

    /// Each queue's totals are its own skbs' (the socket's tally stands in for a queue only
    /// when every skb is on it), and the error queue shows only when it holds skbs.
    #[test]
    fn queue_totals_are_each_queues_own() {
        use QueueName::{Error, Receive, Write};
        let cases = [
            vec![(Receive, vec![1, 2, 2]), (Write, vec![]), (Error, vec![])],
            vec![(Receive, vec![]), (Write, vec![3]), (Error, vec![])],
            vec![(Receive, vec![1, 2]), (Write, vec![2, 4]), (Error, vec![])],
            vec![(Receive, vec![]), (Write, vec![]), (Error, vec![5])],
            vec![(Receive, vec![]), (Write, vec![]), (Error, vec![])],
        ];
        for case in cases {
            let queues: Vec<(QueueName, Vec<Skb>)> = case
                .iter()
                .map(|(n, heads)| (*n, heads.iter().map(|&h| skb(*n, h << 12, 700)).collect()))
                .collect();
            let want: BTreeMap<QueueName, Totals> = queues
                .iter()
                .filter(|(n, q)| *n != Error || !q.is_empty())
                .map(|(n, q)| (*n, crate::account::totals(q)))
                .collect();
            let ws = walked(queues);
            assert_eq!(queue_totals(&ws), want, "{case:?}");
        }
    }
}
