//! What the unit tests share: a fixture's physical image as memory to read.

use testdata::phys::PhysImage;

use crate::{PageState, PhysMem, Result};

/// A `testdata` physical image read as a dump's physical memory (every page present).
pub(crate) struct Img(pub PhysImage);

impl PhysMem for Img {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        self.0.read(paddr, buf);
        Ok(())
    }
    fn page_state(&self, _: u64) -> PageState {
        PageState::Present
    }
}
