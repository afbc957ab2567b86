//! Page read throughput of the kdump reader, per compression (MB/s of decompressed output).
//!
//! `cargo bench -p vmcore --bench decompress`. A plain `main` timed with `std::time`: a
//! synthetic 64 MiB image of realistic pages (kernel text-like strings, zero pages, random
//! bytes, pointer-filled slab pages, sparse pages) is written by `testdata`'s kdump writer
//! with each compression, and every page is read once through `PhysMem::read_phys` (each
//! page is a cache miss, so each read decompresses).

use std::time::Instant;

use testdata::kdump_writer::{write_kdump, Compression, KdumpOptions};
use testdata::phys::{PhysImage, PAGE_SIZE};
use vmcore::kdump::KdumpDump;
use vmcore::source::BytesSource;
use vmcore::PhysMem;

const RAM: u64 = 64 << 20;

fn image() -> PhysImage {
    let mut img = PhysImage::new(vec![(0, RAM)]);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let words: &[&[u8]] = &[
        b"skb_release_data",
        b"tcp_v4_rcv",
        b"kfree_skb_reason",
        b"netif_receive_skb",
        b"__alloc_pages",
        b"struct sk_buff",
        b"ip_local_deliver",
        b"napi_gro_receive",
        b" ",
        b"\n",
        b"=",
        b"0x",
        b"ffff8880",
    ];
    for pfn in 0..RAM / PAGE_SIZE {
        let base = pfn * PAGE_SIZE;
        let kind = rnd() % 20;
        let page: Vec<u8> = match kind {
            0..=5 => continue, // 30% zero pages
            6..=13 => {
                // 40% text-like
                let mut p = Vec::with_capacity(PAGE_SIZE as usize + 32);
                while p.len() < PAGE_SIZE as usize {
                    p.extend_from_slice(words[(rnd() % words.len() as u64) as usize]);
                }
                p.truncate(PAGE_SIZE as usize);
                p
            }
            14..=16 => (0..PAGE_SIZE / 8)
                .flat_map(|_| rnd().to_le_bytes())
                .collect(), // 15% random
            _ => (0..PAGE_SIZE / 8)
                // 15% slab-like: kernel pointers, small counters, zeroes
                .flat_map(|i| match i % 4 {
                    0 => (0xffff_8880_0000_0000 + (rnd() & 0xff_ffc0)).to_le_bytes(),
                    1 => (rnd() % 64).to_le_bytes(),
                    _ => 0u64.to_le_bytes(),
                })
                .collect(),
        };
        img.write(base, &page);
    }
    img
}

fn main() {
    let img = image();
    let pages = RAM / PAGE_SIZE;
    println!(
        "{:>8} {:>10} {:>8} {:>12}",
        "method", "file MiB", "ratio", "read MB/s"
    );
    for compression in Compression::ALL {
        let bytes = write_kdump(
            &img,
            &KdumpOptions {
                compression,
                ..Default::default()
            },
        );
        let file_mib = bytes.len() as f64 / (1 << 20) as f64;
        let dump = KdumpDump::parse(Box::new(BytesSource(bytes))).expect("parse");
        let mut buf = vec![0u8; PAGE_SIZE as usize];
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            for pfn in 0..pages {
                dump.read_phys(pfn * PAGE_SIZE, &mut buf).expect("read");
                std::hint::black_box(&buf);
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        let mbps = RAM as f64 / 1e6 / best;
        println!(
            "{:>8} {:>10.1} {:>8.2} {:>12.0}",
            compression.name(),
            file_mib,
            RAM as f64 / (1 << 20) as f64 / file_mib,
            mbps
        );
    }
}
