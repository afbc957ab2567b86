//! Warnings: what spoiled part of a result, kept with the result (bounded), each typed: what kind
//! of damage, where (a kernel address, when one applies) and a sentence.

use serde::Serialize;

use crate::hex::Hex;

/// At most this many warnings are kept; the rest are counted.
pub const MAX_WARNINGS: usize = 200;

/// What kind of damage a warning reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WarningKind {
    /// Memory the walk needed is not in the dump (filtered out, never dumped, not mapped).
    Unreadable,
    /// A value no kernel would hold: a garbage pointer, `nr_frags` over MAX_SKB_FRAGS, a length
    /// past its buffer, counters that disagree.
    Corrupt,
    /// A list, tree or `frag_list` that loops or reaches an object a second time.
    Loop,
    /// A walk limit was reached; what lies past it was not walked.
    Limit,
    /// The dump file itself is damaged or incomplete (truncated, marked incomplete, bad notes).
    Dump,
    /// Something present that the walk does not count, or a table this kernel's debuginfo lacks.
    Unsupported,
    /// More warnings than [`MAX_WARNINGS`]: the message counts them.
    Dropped,
}

impl WarningKind {
    /// The kind of a walk error turned into a warning: a failed read is `Unreadable`, a type,
    /// member or symbol this kernel's debuginfo lacks is `Unsupported` (no damage), a BTF blob
    /// read from the dump that does not parse and any other error found in the data are
    /// `Corrupt`.
    pub(crate) fn of(e: &crate::Error) -> WarningKind {
        match e {
            crate::Error::Read { source, .. } => match source {
                vmcore::Error::Missing(_) => WarningKind::Corrupt,
                _ => WarningKind::Unreadable,
            },
            crate::Error::Dump { .. } => WarningKind::Dump,
            // a BTF blob that does not parse (a module's, as the kernel keeps it in the dump):
            // damage, not a type the kernel lacks
            crate::Error::Types(kstructs::Error::MalformedBtf { .. }) => WarningKind::Corrupt,
            // a type, member or symbol this kernel's debuginfo lacks
            crate::Error::Layout { .. } | crate::Error::Types(_) => WarningKind::Unsupported,
            _ => WarningKind::Corrupt,
        }
    }
}

/// One warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Warning {
    /// What kind of damage.
    pub kind: WarningKind,
    /// The kernel address at fault, when one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<Hex>,
    /// What happened and what was done about it, for a person.
    pub message: String,
}

impl Warning {
    /// A warning a caller makes itself (a tool adding its own to a report's).
    ///
    /// ```
    /// use skbwalk::warnings::{Warning, WarningKind};
    /// let w = Warning::new(WarningKind::Dump, None, "the file was cut short");
    /// assert_eq!(w.to_string(), "the file was cut short");
    /// ```
    pub fn new(kind: WarningKind, addr: Option<u64>, message: impl Into<String>) -> Warning {
        Warning {
            kind,
            addr: addr.map(Hex),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A bounded list of warnings.
#[derive(Debug, Clone, Default)]
pub(crate) struct Warnings {
    list: Vec<Warning>,
    dropped: usize,
}

impl Warnings {
    /// Carry the warnings of a part of the answer (the socket walk, the census), each message
    /// after `prefix` (`"census: "`), or as it is with an empty one.
    pub(crate) fn adopt(&mut self, from: &[Warning], prefix: &str) {
        for x in from {
            self.push(
                x.kind,
                x.addr.map(|a| a.0),
                format!("{prefix}{}", x.message),
            );
        }
    }

    /// Add one.
    pub(crate) fn push(
        &mut self,
        kind: WarningKind,
        addr: Option<u64>,
        message: impl Into<String>,
    ) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(Warning {
                kind,
                addr: addr.map(Hex),
                message: message.into(),
            });
        } else {
            self.dropped += 1;
        }
    }

    /// The first warning, if any.
    pub(crate) fn first(&self) -> Option<&Warning> {
        self.list.first()
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty() && self.dropped == 0
    }

    /// The warnings, with a last one counting those dropped.
    pub(crate) fn into_vec(mut self) -> Vec<Warning> {
        if self.dropped > 0 {
            self.list.push(Warning {
                kind: WarningKind::Dropped,
                addr: None,
                message: format!("… and {} more warnings", self.dropped),
            });
        }
        self.list
    }

    /// Append another list as if its warnings had been pushed here (its dropped ones count as
    /// dropped here: no "… and N more" entry in between).
    pub(crate) fn append(&mut self, other: Warnings) {
        for w in other.list {
            if self.list.len() < MAX_WARNINGS {
                self.list.push(w);
            } else {
                self.dropped += 1;
            }
        }
        self.dropped += other.dropped;
    }

    /// Append another list.
    pub(crate) fn extend(&mut self, other: Warnings) {
        for w in other.into_vec() {
            if self.list.len() < MAX_WARNINGS {
                self.list.push(w);
            } else {
                self.dropped += 1;
            }
        }
    }
}
