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
