//! Warnings: what spoiled part of a result, kept with the result (bounded).

/// At most this many warnings are kept; the rest are counted.
pub const MAX_WARNINGS: usize = 200;

/// A bounded list of warnings.
#[derive(Debug, Clone, Default)]
pub struct Warnings {
    list: Vec<String>,
    dropped: usize,
}

impl Warnings {
    /// Add one.
    pub fn push(&mut self, w: impl Into<String>) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(w.into());
        } else {
            self.dropped += 1;
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The warnings, with a last line counting the ones dropped.
    pub fn into_vec(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list
                .push(format!("… and {} more warnings", self.dropped));
        }
        self.list
    }

    /// Append another list.
    pub fn extend(&mut self, other: Warnings) {
        for w in other.into_vec() {
            self.push(w);
        }
    }
}
