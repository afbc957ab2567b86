//! Following kernel links — `list_head` rings, `sk_buff_head` queues, hash chains, freelists —
//! through memory that may be damaged or missing. One rule decides when a walk must stop
//! ([`Chain::admit`]: a link that is no kernel pointer, one met before, or one past the bound),
//! and one fallible iterator walks a `list_head` ring ([`ListWalk`]); [`list_entries`] collects
//! a ring with warnings, walking back from the head where the forward walk broke.

use crate::hash::Set;
use crate::space::KernelSpace;
use crate::warnings::{WarningKind, Warnings};
use crate::{Error, Kernel};

/// Why a walk stopped before its end.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum Stop {
    /// A link that is no kernel pointer (or misaligned).
    Bad(u64),
    /// A link met before: the chain loops.
    Loop(u64),
    /// More links than the bound.
    Limit(usize),
    /// A link that could not be read.
    Unreadable(Error),
}

impl Stop {
    /// The warning kind of this stop.
    pub(crate) fn kind(&self) -> WarningKind {
        match self {
            Stop::Bad(_) => WarningKind::Corrupt,
            Stop::Loop(_) => WarningKind::Loop,
            Stop::Limit(_) => WarningKind::Limit,
            Stop::Unreadable(e) => WarningKind::of(e),
        }
    }

    /// Why the walk stopped, for a person.
    pub(crate) fn why(&self) -> String {
        match self {
            Stop::Unreadable(e) => e.to_string(),
            Stop::Bad(at) => format!("{at:#x} is not a kernel pointer"),
            Stop::Loop(at) => format!("the links loop at {at:#x}"),
            Stop::Limit(n) => format!("more than {n} links (deeper than any hierarchy)"),
        }
    }

    /// The address at fault, where one is.
    pub(crate) fn addr(&self) -> Option<u64> {
        match self {
            Stop::Bad(at) | Stop::Loop(at) => Some(*at),
            _ => None,
        }
    }
}

/// The links of one walk so far: admits each next link or says why the walk must stop.
#[derive(Debug)]
pub(crate) struct Chain {
    seen: Set<u64>,
    space: KernelSpace,
    limit: usize,
    align: u64,
}

impl Chain {
    /// A chain of at most `limit` links, each a pointer into `space` aligned to `align`.
    pub(crate) fn new(space: KernelSpace, limit: usize, align: u64) -> Chain {
        Chain::reusing(Set::default(), space, limit, align)
    }

    /// As [`Chain::new`], reusing `set`'s allocation (it is cleared).
    pub(crate) fn reusing(
        mut set: Set<u64>,
        space: KernelSpace,
        limit: usize,
        align: u64,
    ) -> Chain {
        set.clear();
        Chain {
            seen: set,
            space,
            limit,
            align,
        }
    }

    /// Take `link` as the next one, or say why the walk stops there.
    pub(crate) fn admit(&mut self, link: u64) -> Result<(), Stop> {
        if !self.space.contains(link, self.align) {
            return Err(Stop::Bad(link));
        }
        if self.seen.len() >= self.limit {
            return Err(Stop::Limit(self.limit));
        }
        if !self.seen.insert(link) {
            return Err(Stop::Loop(link));
        }
        Ok(())
    }

    /// Whether `link` was admitted.
    pub(crate) fn contains(&self, link: u64) -> bool {
        self.seen.contains(&link)
    }

    /// How many links were admitted.
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }

    /// The set of admitted links, for reuse.
    pub(crate) fn into_set(self) -> Set<u64> {
        self.seen
    }
}

/// A walk of a circular `list_head` ring from its head, yielding each entry's `list_head`
/// address (the object is `entry - member`), then at most one [`Stop`] when it ends early.
pub(crate) struct ListWalk<'k> {
    k: &'k Kernel,
    head: u64,
    /// The next link to follow: `None` once the walk ended.
    cur: Option<u64>,
    /// Where the followed link is in the head (0 for a `list_head`'s `next`, 8 for `prev`).
    head_link: u64,
    /// Where it is in each entry.
    entry_link: u64,
    chain: Chain,
    what: &'k str,
}

impl<'k> ListWalk<'k> {
    /// Walk the `list_head` ring at `head` forwards (`next` links), at most `limit` entries.
    pub(crate) fn forward(k: &'k Kernel, head: u64, limit: usize, what: &'k str) -> Self {
        ListWalk::links(k, head, 0, 0, limit, what)
    }

    /// Walk the `list_head` ring at `head` backwards (`prev` links), at most `limit` entries.
    pub(crate) fn backward(k: &'k Kernel, head: u64, limit: usize, what: &'k str) -> Self {
        ListWalk::links(k, head, 8, 8, limit, what)
    }

    /// Walk a ring whose head keeps its link at `head_link` and whose entries keep theirs at
    /// `entry_link` (an `sk_buff_head` and its `sk_buff`s), yielding the entries' addresses.
    pub(crate) fn links(
        k: &'k Kernel,
        head: u64,
        head_link: u64,
        entry_link: u64,
        limit: usize,
        what: &'k str,
    ) -> Self {
        ListWalk {
            k,
            head,
            cur: Some(head),
            head_link,
            entry_link,
            chain: Chain::new(k.space(), limit, 8),
            what,
        }
    }

    /// How many entries were yielded.
    pub(crate) fn walked(&self) -> usize {
        self.chain.len()
    }
}

impl Iterator for ListWalk<'_> {
    type Item = Result<u64, Stop>;

    fn next(&mut self) -> Option<Self::Item> {
        let at = self.cur.take()?;
        let link = if at == self.head {
            self.head_link
        } else {
            self.entry_link
        };
        let next = match self.k.u64(at + link, self.what) {
            Ok(n) => n,
            Err(e) => return Some(Err(Stop::Unreadable(e))),
        };
        if next == self.head {
            return None;
        }
        if let Err(s) = self.chain.admit(next) {
            return Some(Err(s));
        }
        self.cur = Some(next);
        Some(Ok(next))
    }
}

/// The objects on the circular `list_head` ring at `head` (entries at `member` inside each),
/// at most `limit` of them. A walk that breaks leaves a warning, and then the ring is walked
/// back from the head along `prev` links to recover the entries beyond the break (a task on a
/// page the dump left out must not hide every task after it).
pub(crate) fn list_entries(
    k: &Kernel,
    head: u64,
    member: u64,
    limit: usize,
    what: &str,
    w: &mut Warnings,
) -> Vec<u64> {
    let mut out = Vec::new();
    let mut fwd = ListWalk::forward(k, head, limit, what);
    let stop = loop {
        match fwd.next() {
            None => return out,
            Some(Ok(e)) => out.push(e - member),
            Some(Err(s)) => break s,
        }
    };
    let n = out.len();
    let msg = match &stop {
        Stop::Unreadable(e) if n == 0 && fwd.walked() == 0 => format!("{what}: {e}"),
        Stop::Unreadable(e) => format!("{what}: {e}; stopped"),
        Stop::Bad(l) | Stop::Loop(l) => {
            format!("{what}: bad or looping link {l:#x} after {n} entries; stopped")
        }
        Stop::Limit(l) => format!("{what}: more than {l} entries; stopped"),
    };
    let addr = match stop {
        Stop::Bad(l) | Stop::Loop(l) => Some(l),
        _ => None,
    };
    let kind = stop.kind();
    w.push(kind, addr, msg);
    if matches!(stop, Stop::Limit(_)) {
        return out;
    }
    // back from the head, up to the entries the forward walk reached
    let mut back = Vec::new();
    let mut bwd = ListWalk::backward(k, head, limit.saturating_sub(n), what);
    for e in bwd.by_ref() {
        match e {
            Ok(e) if !fwd.chain.contains(e) => back.push(e - member),
            _ => break,
        }
    }
    if !back.is_empty() {
        w.push(
            kind,
            Some(head),
            format!(
                "{what}: {} more entries found walking back from the head (prev links) to the break",
                back.len()
            ),
        );
        out.extend(back.into_iter().rev());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_stops_at_a_bad_link_a_loop_and_the_bound() {
        let x86 = KernelSpace::X86_64;
        let mut c = Chain::new(x86, 3, 8);
        assert!(c.admit(0xffff_8880_0000_1000).is_ok());
        assert!(matches!(c.admit(0), Err(Stop::Bad(0))));
        assert!(matches!(c.admit(0xffff_8880_0000_1004), Err(Stop::Bad(_))));
        assert!(matches!(c.admit(0x0000_7fff_0000_1000), Err(Stop::Bad(_))));
        assert!(matches!(c.admit(0xffff_8880_0000_1000), Err(Stop::Loop(_))));
        assert!(c.admit(0xffff_8880_0000_2000).is_ok());
        assert!(c.admit(0xffff_8880_0000_3000).is_ok());
        assert!(matches!(
            c.admit(0xffff_8880_0000_4000),
            Err(Stop::Limit(3))
        ));
        assert_eq!(c.len(), 3);
        assert!(c.contains(0xffff_8880_0000_2000));
        let c = Chain::reusing(c.into_set(), x86, 3, 8);
        assert_eq!(c.len(), 0);
    }

    /// The task list of a synthetic machine, broken at one task: walking back from the head
    /// recovers every task after the break, in list order; broken in both directions around one
    /// task, only that task is missing.
    #[test]
    fn a_broken_ring_is_walked_back_from_its_head() {
        use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
        use testdata::synth::SynthKernel;
        use testdata::world::WorldConfig;
        let dir = crate::testing::scratch("links-back");
        let sk = SynthKernel::build(&dir.join("k"), 4).unwrap();
        let mut w = incident_world(sk, WorldConfig::nokaslr(), SampleSize { stalled_skbs: 2 });
        let member = w.k.o("task_struct.tasks");
        let head = w.ksym("init_task") + member;
        let open = |w: &mut testdata::world::World, name: &str| {
            let path = dir.join(name);
            write_qemu_elf(w, &path, true).unwrap();
            crate::testing::open(&path, Some(&w.k.vmlinux))
        };
        let k = open(&mut w, "whole");
        let mut warn = Warnings::default();
        let all = list_entries(&k, head, member, 1000, "init_task.tasks", &mut warn);
        assert!(warn.is_empty() && all.len() >= 4, "{}", all.len());
        // task 1's next link is garbage: tasks 2.. come back through the prev links
        w.write_u64(all[1] + member, 0xdead_0000_0000_0000);
        let k = open(&mut w, "forward-broken");
        let mut warn = Warnings::default();
        let got = list_entries(&k, head, member, 1000, "init_task.tasks", &mut warn);
        assert_eq!(got, all);
        let msgs: Vec<String> = warn.into_vec().into_iter().map(|w| w.message).collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("bad or looping link 0xdead000000000000 after 2 entries"));
        let more = all.len() - 2;
        assert!(msgs[1].contains(&format!("{more} more entries found walking back")));
        // and task 3's prev too: task 2 lies between the breaks
        w.write_u64(all[3] + member + 8, 0xdead_0000_0000_0000);
        let k = open(&mut w, "both-broken");
        let mut warn = Warnings::default();
        let got = list_entries(&k, head, member, 1000, "init_task.tasks", &mut warn);
        let mut want = all.clone();
        want.remove(2);
        assert_eq!(got, want);
    }
}
