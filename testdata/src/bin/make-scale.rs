//! Build a large SYNTHETIC dump for the scale benchmark: `make-scale DIR SOCKETS SKBS`.
//!
//! SOCKETS TCP sockets spread over tasks of 100 fds each, SKBS skbs spread over their receive queues,
//! each skb with a small kmalloc head and one or two virtio frags in order-3 pages.

use std::path::PathBuf;
use std::process::ExitCode;

use testdata::sample::write_qemu_elf;
use testdata::synth::SynthKernel;
use testdata::world::{FragSrc, Head, Queue, SkbSpec, SockSpec, World, WorldConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(sockets), Some(skbs)) = (
        args.first().map(PathBuf::from),
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: make-scale DIR SOCKETS SKBS");
        return ExitCode::from(2);
    };
    let k = match SynthKernel::build(&dir.join("kernel"), 5) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("make-scale: {e}");
            return ExitCode::from(1);
        }
    };
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
    let path = dir.join("vmcore.elf");
    if let Err(e) = write_qemu_elf(&mut w, &path, true) {
        eprintln!("make-scale: {}: {e}", path.display());
        return ExitCode::from(1);
    }
    println!("vmcore  {}", path.display());
    println!("vmlinux {}", w.k.vmlinux.display());
    ExitCode::SUCCESS
}
