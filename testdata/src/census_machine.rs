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
    write_census_machine_with(dir, gib, kdump, 0)
}

/// Pages in use that nothing names, for the reverse-reference scan to look for.
pub const CENSUS_TARGETS: u64 = 64;

/// [`write_census_machine`], with `slab_mib` MiB of allocated kmalloc-64 objects whose words
/// are pointers (to their neighbours), numbers and zeros, as kernel objects are, and
/// [`CENSUS_TARGETS`] pages in use that no word points at: the reverse-reference scan reads
/// every object and finds nothing (its benchmark).
pub fn write_census_machine_with(
    dir: &Path,
    gib: u64,
    kdump: bool,
    slab_mib: u64,
) -> io::Result<Sample> {
    let k = SynthKernel::build(&dir.join("kernel"), 5)?;
    let mut cfg = WorldConfig::kaslr();
    cfg.ram_size = gib << 30;
    let mut w = World::new(k, cfg);
    w.add_task(1, "init", 8);
    if slab_mib > 0 {
        let ps = w.page_size();
        for _ in 0..CENSUS_TARGETS {
            let p = w.alloc_pages(0);
            let sp = w.page_struct(p / ps);
            w.write_u32(sp + w.k.o("page._refcount"), 1);
        }
        let mut prev = 0u64;
        for _ in 0..(slab_mib << 20) / 64 {
            let obj = w.slab_alloc("kmalloc-64");
            let words = [prev, obj + 64, 0x1234, obj, 0, 0xdead_beef, prev + 8, 0];
            let bytes: Vec<u8> = words.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_bytes(obj, &bytes);
            prev = obj;
        }
    }
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
