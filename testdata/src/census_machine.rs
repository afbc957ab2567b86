//! A SYNTHETIC dump of a large machine for the census benchmark.
//!
//! Every struct page of the machine is in the dump (the vmemmap is written): boot memory is
//! reserved, the memory beyond what the fixture allocates is free buddy blocks of order 10
//! (their heads carry the buddy page type and the order), the rest as a small world leaves it. RAM contents themselves are not
//! stored (zero-filled segments), so the file is about the size of the vmemmap (1/64 of RAM).

use std::io;
use std::path::Path;

use crate::sample::{kdump_without_zero_pages, write_qemu_elf, Sample};
use crate::synth::SynthKernel;
use crate::vmstat::VmstatSpec;
use crate::world::{World, WorldConfig};

/// Write the dump of a `gib`-GiB machine into `dir` (`vmcore.elf`, `kernel/vmlinux`, and with
/// `kdump` also `vmcore.kdump`, zlib-compressed, its zero pages left out).
pub fn write_census_machine(dir: &Path, gib: u64, kdump: bool) -> io::Result<Sample> {
    let k = SynthKernel::build(&dir.join("kernel"), 5)?;
    let mut cfg = WorldConfig::kaslr();
    cfg.ram_size = gib << 30;
    let mut w = World::new(k, cfg);
    w.add_task(1, "init", 8);
    let pages = w.cfg.ram_size / w.page_size();
    w.set_vmstat(&VmstatSpec {
        possible: 1,
        online: vec![0],
        zone_global: vec![],
        totalram_pages: pages - w.boot_pages(),
        pcpu: (1, 1),
        ..VmstatSpec::default()
    });
    w.boot_and_free = Some(0);
    let vmcore = dir.join("vmcore.elf");
    write_qemu_elf(&mut w, &vmcore, true)?;
    if kdump {
        std::fs::write(dir.join("vmcore.kdump"), kdump_without_zero_pages(&w))?;
    }
    Ok(Sample {
        vmcore,
        vmlinux: w.k.vmlinux.clone(),
    })
}
