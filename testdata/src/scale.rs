//! Large SYNTHETIC dumps for the scale benchmark and the parallel-walk tests: SOCKETS TCP
//! sockets spread over tasks of 100 fds each, SKBS skbs spread over their receive queues, each
//! skb with a small kmalloc head and one or two virtio frags in order-3 pages.

use std::io;
use std::path::{Path, PathBuf};

use crate::sample::write_qemu_elf;
use crate::synth::SynthKernel;
use crate::world::{FragSrc, Head, Queue, SkbSpec, SockSpec, World, WorldConfig};

/// Where a scale dump was written.
#[derive(Debug, Clone)]
pub struct ScaleDump {
    /// The ELF dump.
    pub vmcore: PathBuf,
    /// The same memory as a zlib kdump, when asked for ([`write_scale_with`]).
    pub kdump: Option<PathBuf>,
    /// Its synthetic vmlinux.
    pub vmlinux: PathBuf,
}

/// Build the kernel and write the dump under `dir`.
///
/// ```no_run
/// let d = testdata::scale::write_scale("/tmp/scale".as_ref(), 1000, 10_000)?;
/// println!("{}", d.vmcore.display());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_scale(dir: &Path, sockets: usize, skbs: usize) -> io::Result<ScaleDump> {
    write_scale_with(dir, sockets, skbs, false)
}

/// [`write_scale`], and with `kdump` the same memory as `vmcore.kdump` too (zlib, zero pages
/// excluded: what the compressed-dump reader is measured on).
pub fn write_scale_with(
    dir: &Path,
    sockets: usize,
    skbs: usize,
    kdump: bool,
) -> io::Result<ScaleDump> {
    let k = SynthKernel::build(&dir.join("kernel"), 5)?;
    let mut cfg = WorldConfig::kaslr();
    // struct pages, slab objects and order-3 frag pages for this many skbs.
    cfg.ram_size = (((skbs as u64 * 12 * 1024) + sockets as u64 * 8192) >> 30)
        .max(1)
        .next_power_of_two()
        << 30;
    let mut w = World::new(k, cfg);
    w.virtio_skip = 64;
    let per_task = 100usize;
    let mut done = 0usize;
    for i in 0..sockets {
        if i % per_task == 0 {
            let pid = 1000 + (i / per_task) as i32;
            w.add_task(pid, &format!("worker{}", i / per_task), 128);
        }
        let task = i / per_task;
        let pid = 1000 + task as i32;
        let fd = 3 + (i % per_task) as u32;
        let s = w.add_socket(
            task,
            pid,
            fd,
            SockSpec::tcp(
                1,
                ([10, 1, (i >> 8) as u8, i as u8], 443),
                ([10, 2, 0, 1], 30000 + (i % 30000) as u16),
            ),
        );
        let n = skbs * (i + 1) / sockets - done;
        done += n;
        let specs: Vec<SkbSpec> = (0..n)
            .map(|j| SkbSpec {
                linear: 64,
                head: Head::Kmalloc,
                frags: vec![(200 + (j as u32 * 97) % 1200, FragSrc::Virtio); 1 + j % 2],
                frag_list: vec![],
                fclone: false,
            })
            .collect();
        w.queue(s, Queue::Receive, &specs);
    }
    let vmcore = dir.join("vmcore.elf");
    write_qemu_elf(&mut w, &vmcore, true)?;
    let kdump = if kdump {
        let path = dir.join("vmcore.kdump");
        std::fs::write(&path, crate::sample::kdump_without_zero_pages(&w))?;
        Some(path)
    } else {
        None
    };
    Ok(ScaleDump {
        vmcore,
        kdump,
        vmlinux: w.k.vmlinux.clone(),
    })
}
