//! The bundled sample: a SYNTHETIC dump in the incident's shape (`../shared/seed/incident.txt`).
//!
//! nginx, pid 146935, holds at fd 11 a TCP socket whose receive queue nobody reads: thousands of small
//! skbs whose frags sit in order-3 (32 KiB) pages carved by virtio_net's mergeable receive path, some
//! with 17 frags of a few bytes. Around it: a few ordinary processes with ordinary sockets.

use std::io;
use std::path::Path;

use crate::elf_writer::{note, qemu_cpu_state, write_elf, ElfMachine, ElfOptions};
use crate::synth::SynthKernel;
use crate::vmstat::VmstatSpec;
use crate::world::{
    FragSrc, Head, Queue, SkbSpec, SockKind, SockSpec, World, WorldArch, WorldConfig,
};

/// The cgroup (v2 path) of the incident's nginx: a container of a Kubernetes pod.
pub const POD_A: &str = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7e1f0c.slice/cri-containerd-4b2c9a.scope";
/// The cgroup of curl: a container of another pod.
pub const POD_B: &str = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod91d3aa.slice/cri-containerd-e07b11.scope";

/// The sample's shape; [`SampleSize::default`] is what the README runs.
#[derive(Debug, Clone, Copy)]
pub struct SampleSize {
    /// skbs on nginx's fd 11 receive queue.
    pub stalled_skbs: usize,
}

impl Default for SampleSize {
    fn default() -> Self {
        SampleSize { stalled_skbs: 3000 }
    }
}

fn rx_skb(i: usize) -> SkbSpec {
    // Mixed shapes: mostly a few frags, every 7th the incident's 17 frags of 10 bytes.
    let frags: Vec<(u32, FragSrc)> = if i.is_multiple_of(7) {
        vec![(10, FragSrc::Virtio); 17]
    } else {
        let n = 1 + (i * 5 + 3) % 6;
        (0..n)
            .map(|j| ((100 + (i * 131 + j * 977) % 1300) as u32, FragSrc::Virtio))
            .collect()
    };
    SkbSpec {
        linear: 128,
        head: Head::Frag1k,
        frags,
        frag_list: vec![],
        fclone: false,
    }
}

/// Build the incident world on `kernel`.
pub fn incident_world(kernel: SynthKernel, cfg: WorldConfig, size: SampleSize) -> World {
    let mut w = World::new(kernel, cfg);
    // systemd: AF_UNIX stream and datagram sockets with a little unread data.
    let systemd = w.add_task(1, "systemd", 64);
    w.set_cgroup(systemd, "/init.scope");
    w.add_regular_file(systemd, 0, "null");
    let mut us = SockSpec::tcp(7, ([0; 4], 0), ([0; 4], 0));
    us.kind = SockKind::UnixStream;
    us.unix_path = Some("/run/systemd/private".into());
    let s = w.add_socket(systemd, 1, 3, us.clone());
    w.queue(
        s,
        Queue::Receive,
        &[
            SkbSpec::linear(300),
            SkbSpec::linear(1200),
            SkbSpec::linear(64),
        ],
    );
    us.kind = SockKind::UnixDgram;
    us.unix_path = Some("/run/systemd/notify".into());
    let s = w.add_socket(systemd, 1, 4, us);
    w.queue(s, Queue::Receive, &[SkbSpec::linear(512)]);
    // chronyd: UDP with two unread datagrams.
    let chronyd = w.add_task(640, "chronyd", 64);
    w.set_cgroup(chronyd, "/system.slice/chrony.service");
    let mut udp = SockSpec::tcp(7, ([127, 0, 0, 1], 323), ([0; 4], 0));
    udp.kind = SockKind::Udp;
    let s = w.add_socket(chronyd, 640, 5, udp);
    w.queue(
        s,
        Queue::Receive,
        &[SkbSpec::linear(48), SkbSpec::linear(48)],
    );
    // sshd: an established connection with data in flight: write queue and retransmit rbtree.
    let sshd = w.add_task(812, "sshd", 64);
    w.set_cgroup(sshd, "/system.slice/ssh.service");
    let s = w.add_socket(
        sshd,
        812,
        4,
        SockSpec::tcp(1, ([10, 0, 0, 5], 22), ([10, 0, 0, 1], 50522)),
    );
    let tx = |n: u32| SkbSpec {
        linear: 0,
        head: Head::Frag32k,
        frags: vec![(n, FragSrc::Tx)],
        frag_list: vec![],
        fclone: true,
    };
    w.queue(s, Queue::Write, &[tx(1448), tx(700)]);
    w.queue(s, Queue::Retransmit, &[tx(1448), tx(1448), tx(1448)]);
    w.add_socket(
        sshd,
        812,
        3,
        SockSpec::tcp(10, ([0, 0, 0, 0], 22), ([0; 4], 0)),
    );
    // curl: a receive queue, and out-of-order segments waiting for a hole, one with a frag_list.
    let curl = w.add_task(2001, "curl", 64);
    w.set_cgroup(curl, POD_B);
    let s = w.add_socket(
        curl,
        2001,
        5,
        SockSpec::tcp(1, ([10, 0, 0, 5], 40112), ([93, 184, 216, 34], 443)),
    );
    w.queue(s, Queue::Receive, &[rx_skb(1), rx_skb(2)]);
    let curl_sock = w.sockets[s.0].sock;
    let mut gro = rx_skb(3);
    gro.frag_list = vec![
        rx_skb(4),
        SkbSpec {
            frags: vec![(1000, FragSrc::TailPage)],
            ..rx_skb(5)
        },
    ];
    w.queue(
        s,
        Queue::OutOfOrder,
        &[rx_skb(6), gro, rx_skb(8), rx_skb(9), rx_skb(10)],
    );
    // Sockets no fd reaches: a closed connection still flushing its write queue (FIN_WAIT1),
    // a TIME_WAIT and a half-open request, all only in tcp_hashinfo.
    let orphan = w.add_orphan(SockSpec::tcp(
        4,
        ([10, 0, 0, 5], 443),
        ([10, 0, 0, 77], 40001),
    ));
    w.queue(orphan, Queue::Write, &[tx(1448), tx(1448)]);
    w.add_mini_sock(6, ([10, 0, 0, 5], 443), ([10, 0, 0, 78], 40002));
    w.add_mini_sock(12, ([10, 0, 0, 5], 443), ([10, 0, 0, 79], 40003));
    // nginx: the incident. A listening socket, logs, and fd 11 never read; a worker thread shares files.
    let nginx = w.add_task(146935, "nginx", 256);
    w.set_cgroup(nginx, POD_A);
    w.add_regular_file(nginx, 2, "error.log");
    w.add_regular_file(nginx, 5, "access.log");
    w.add_socket(
        nginx,
        146935,
        6,
        SockSpec::tcp(10, ([0, 0, 0, 0], 443), ([0; 4], 0)),
    );
    w.add_thread(nginx, 146936, "nginx");
    let s = w.add_socket(
        nginx,
        146935,
        11,
        SockSpec::tcp(1, ([10, 0, 0, 5], 443), ([10, 0, 0, 9], 51234)),
    );
    let skbs: Vec<SkbSpec> = (0..size.stalled_skbs).map(rx_skb).collect();
    w.queue(s, Queue::Receive, &skbs);
    let nginx_sock = w.sockets[s.0].sock;
    // The counters of the incident's shape: what the world handed out is mostly skb pages,
    // which no counter explains (allocpage); a little page cache, anon and slab; two CPUs with
    // deltas not yet folded in.
    // Counts are of 4 KiB pages' worth of bytes, so that larger pages keep the same bytes.
    let total = w.cfg.ram_size / w.page_size() - w.boot_pages();
    let per = (w.page_size() / 4096) as i64;
    let pages = |n: i64| (n / per).max(1);
    w.set_vmstat(&VmstatSpec {
        possible: 2,
        online: vec![0, 1],
        zone_global: vec![],
        node_global: vec![
            ("NR_ACTIVE_FILE", pages(64)),
            ("NR_INACTIVE_FILE", pages(32)),
            ("NR_FILE_PAGES", pages(96)),
            ("NR_ACTIVE_ANON", pages(40)),
            ("NR_ANON_MAPPED", pages(40)),
            ("NR_SLAB_UNRECLAIMABLE_B", 100),
        ],
        zone_deltas: vec![(0, 1, "NR_FREE_PAGES", -12), (1, 1, "NR_FREE_PAGES", 3)],
        node_deltas: vec![(1, "NR_ACTIVE_ANON", 9), (1, "NR_ANON_MAPPED", 9)],
        totalram_pages: total,
        vmalloc_pages: pages(12) as u64,
        pcpu: (pages(8) as u64, 2),
        unmapped_cpus: vec![],
    });
    let memcgs = sample_memcgs(&w, nginx_sock, curl_sock);
    w.set_memcgs(&memcgs);
    // when the dump is written: the struct pages of boot memory and of what was never
    // allocated, and NR_FREE_PAGES to match (the deltas above add -9)
    w.boot_and_free = Some(9);
    w
}

/// The pages a socket charges its memcg for (`MEMCG_SOCK`): its queued skbs' truesize, in
/// pages, as `__sk_mem_raise_allocated` charges it.
pub fn charged_pages(w: &World, sock: u64) -> i64 {
    let s = w
        .sockets
        .iter()
        .find(|s| s.sock == sock)
        .expect("a socket of the world");
    let truesize: u64 = s
        .skbs
        .iter()
        .filter(|k| k.parent.is_none())
        .map(|k| u64::from(k.truesize))
        .sum();
    truesize.div_ceil(w.page_size()) as i64
}

/// The sample's memory cgroups: the root, the two pods' chains and `system.slice`. The
/// counters are split as rstat leaves them mid-flight (a leaf's CPUs not yet flushed, a pod
/// slice holding its child's last flush in `state_pending`); the exact values
/// ([`sample_memcg_sock`], [`SAMPLE_MEMCG_ANON`]) are what a full flush gives. Each pod's
/// `sock` counter is what its socket charges, its truesize — for nginx's far below the whole
/// pages its queue pins.
pub fn sample_memcgs(w: &World, nginx_sock: u64, curl_sock: u64) -> Vec<crate::memcg::MemcgSpec> {
    use crate::memcg::MemcgSpec;
    let (a, b) = (POD_A, POD_B);
    let (ta, tb) = (
        charged_pages(w, nginx_sock).max(120),
        charged_pages(w, curl_sock),
    );
    let up = |p: &str, n: usize| -> String {
        let mut p = p.to_string();
        for _ in 0..n {
            p.truncate(p.rfind('/').unwrap_or(0));
        }
        p
    };
    // (path, sock: global, pending, per-CPU; anon: global, per-CPU; lru pages, kmem pages,
    // sockets): the leaf's CPUs hold 70 pages back, its pod slice 50 it has not taken
    type Row = (String, [i64; 4], [i64; 3], u64, u64, Vec<u64>);
    let rows: Vec<Row> = vec![
        (
            "/".into(),
            [ta - 120 + tb, 0, 0, 0],
            [4, 0, 0],
            2,
            1,
            vec![],
        ),
        (up(a, 3), [ta - 120 + tb, 0, 0, 0], [2, 0, 0], 0, 0, vec![]),
        (up(a, 2), [ta - 120, 0, 0, 0], [1, 0, 0], 0, 0, vec![]),
        (up(a, 1), [ta - 120, 50, 0, 0], [1, 0, 0], 0, 0, vec![]),
        (
            a.into(),
            [ta - 70, 0, 60, 10],
            [1, 2, 0],
            3,
            2,
            vec![nginx_sock],
        ),
        (up(b, 2), [tb, 0, 0, 0], [1, 0, 0], 0, 0, vec![]),
        (up(b, 1), [tb, 0, 0, 0], [1, 0, 0], 0, 0, vec![]),
        (b.into(), [tb, 0, 0, 0], [1, 0, 0], 1, 0, vec![curl_sock]),
        (
            "/system.slice".into(),
            [0, 0, 0, 0],
            [0, 0, 0],
            0,
            0,
            vec![],
        ),
    ];
    rows.into_iter()
        .map(
            |(path, sock, anon, lru_pages, kmem_pages, socks)| MemcgSpec {
                usage: (sock[0] + sock[1] + sock[2] + sock[3]) as u64 + lru_pages + kmem_pages,
                path,
                stats: vec![
                    ("MEMCG_SOCK", sock[0], sock[1], vec![sock[2], sock[3]]),
                    ("NR_ACTIVE_ANON", anon[0], 0, vec![anon[1], anon[2]]),
                ],
                lru_pages,
                kmem_pages,
                socks,
            },
        )
        .collect()
}

/// The exact hierarchical `MEMCG_SOCK` (pages) of the sample's memcgs, given what nginx's and
/// curl's sockets charge ([`charged_pages`]): (path, value).
pub fn sample_memcg_sock(nginx: i64, curl: i64) -> Vec<(&'static str, i64)> {
    let nginx = nginx.max(120);
    vec![
        ("/", nginx + curl),
        (POD_A, nginx),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7e1f0c.slice",
            nginx,
        ),
        ("/kubepods.slice/kubepods-burstable.slice", nginx),
        ("/kubepods.slice", nginx + curl),
        (POD_B, curl),
        ("/system.slice", 0),
    ]
}

/// The exact hierarchical `NR_ACTIVE_ANON` of the sample's memcgs, equal to the LRU pages
/// charged to each subtree: (path, value).
pub const SAMPLE_MEMCG_ANON: &[(&str, i64)] =
    &[("/", 6), ("/kubepods.slice", 4), (POD_A, 3), (POD_B, 1)];

/// A written sample: the dump and the vmlinux beside it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The dump file.
    pub vmcore: std::path::PathBuf,
    /// The synthetic vmlinux with DWARF.
    pub vmlinux: std::path::PathBuf,
}

/// The notes a QEMU ELF dump carries for this machine.
pub fn qemu_notes(w: &World, with_vmcoreinfo: bool, vmcoreinfo: &str) -> Vec<u8> {
    let mut notes = note("CORE", 1, &[0u8; 336]);
    if w.cfg.arch == WorldArch::X86_64 {
        // x86-64's CPU state (CR3, CR4); arm64 dumps are read by their VMCOREINFO alone
        notes.extend(note("QEMU", 0, &qemu_cpu_state(w.cr3(), 0x3506f0)));
    }
    if with_vmcoreinfo {
        notes.extend(note("VMCOREINFO", 0, vmcoreinfo.as_bytes()));
    }
    notes
}

/// Finish `w` and write it to `path` as QEMU's `dump-guest-memory` would: an ELF core with the CPU
/// notes (and VMCOREINFO when asked), program headers after the notes; unwritten RAM left sparse.
pub fn write_qemu_elf(w: &mut World, path: &Path, with_vmcoreinfo: bool) -> io::Result<()> {
    let vi = w.finish();
    let opts = ElfOptions {
        notes: qemu_notes(w, with_vmcoreinfo, &vi),
        sparse: true,
        filtered: false,
        phdrs_late: true,
        machine: match w.cfg.arch {
            WorldArch::Arm64 { .. } => ElfMachine::Aarch64,
            _ => ElfMachine::X86_64,
        },
    };
    std::fs::write(path, write_elf(&w.img, &opts))
}

/// Build the sample into `dir` (`vmcore.elf`, `vmlinux`); KASLR on, VMCOREINFO present.
pub fn write_sample(dir: &Path, size: SampleSize) -> io::Result<(Sample, World)> {
    let k = SynthKernel::build(&dir.join("kernel"), 5)?;
    let mut w = incident_world(k, WorldConfig::kaslr(), size);
    let vmcore = dir.join("vmcore.elf");
    write_qemu_elf(&mut w, &vmcore, true)?;
    Ok((
        Sample {
            vmcore,
            vmlinux: w.k.vmlinux.clone(),
        },
        w,
    ))
}

/// The world as a zlib kdump as QEMU writes it (header version 6, VMCOREINFO and notes, zero pages
/// kept as one shared zero page): x86-64 worlds only (QEMU writes arm64 kdumps in 64 KiB blocks,
/// which this writer does not).
pub fn qemu_kdump(w: &World) -> Vec<u8> {
    kdump_of(w, false)
}

/// [`qemu_kdump`] with the zero pages left out of the dump (they read as excluded): the large
/// synthetic machines, whose RAM is mostly never written, would otherwise carry a page
/// descriptor for each of millions of zero pages.
pub fn kdump_without_zero_pages(w: &World) -> Vec<u8> {
    kdump_of(w, true)
}

fn kdump_of(w: &World, exclude_zero_pages: bool) -> Vec<u8> {
    assert_eq!(
        w.cfg.arch,
        WorldArch::X86_64,
        "kdump files of x86-64 worlds only"
    );
    let vi = w.vmcoreinfo();
    let opts = crate::kdump_writer::KdumpOptions {
        compression: crate::kdump_writer::Compression::Zlib,
        header_version: 6,
        vmcoreinfo: Some(vi.clone().into_bytes()),
        notes: Some(qemu_notes(w, false, &vi)),
        utsname_release: crate::synth::RELEASE.into(),
        exclude_zero_pages,
        ..Default::default()
    };
    crate::kdump_writer::write_kdump(&w.img, &opts)
}
