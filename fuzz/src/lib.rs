//! Shared pieces of the fuzz targets: the synthetic machine the walk target mutates, and the
//! questions every debuginfo target asks.
//!
//! Each target is a binary in `src/bin/` built with `cargo afl build --release` and run by
//! `fuzz/run.sh`; see `fuzz/README.md`.

use std::path::{Path, PathBuf};

use testdata::sample::{incident_world, write_qemu_elf, SampleSize};
use testdata::synth::SynthKernel;
use testdata::world::WorldConfig;

/// Where fixtures are built (once, reused by every run).
pub fn work_dir() -> PathBuf {
    let d = std::env::var_os("SKBWALK_FUZZ_WORK")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("skbwalk-fuzz"));
    std::fs::create_dir_all(&d).expect("fuzz work dir");
    d
}

/// The synthetic incident machine, as the walk target sees it.
pub struct Machine {
    /// The ELF dump's bytes.
    pub elf: Vec<u8>,
    /// Its vmlinux.
    pub vmlinux: PathBuf,
    /// Layout cache directory (warm after the first run).
    pub cache: PathBuf,
    /// File offsets of the u64 slots a mutation may overwrite: the pages holding the nginx
    /// socket, its skbs and their shared info, and the task list and fd tables.
    pub slots: Vec<usize>,
}

/// Build (or load) the machine: a small incident world, 40 stalled skbs.
pub fn machine() -> Machine {
    let dir = work_dir().join("walk");
    let vmcore = dir.join("vmcore.elf");
    let hot = dir.join("hot-pages.txt");
    let k = SynthKernel::build(&dir.join("kernel"), 5).expect("synthetic kernel");
    let vmlinux = k.vmlinux.clone();
    if !hot.exists() || !vmcore.exists() {
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 40 });
        write_qemu_elf(&mut w, &vmcore, true).expect("write sample");
        let mut pages = Vec::new();
        let mut add = |vaddr: u64, w: &testdata::world::World| pages.push(w.phys(vaddr) >> 12);
        let s = w
            .sockets
            .iter()
            .find(|s| s.pid == 146935 && s.fd == 11)
            .expect("nginx socket");
        add(s.sock, &w);
        let (head, end) = (w.k.o("sk_buff.head"), w.k.o("sk_buff.end"));
        for skb in s.skbs.iter().take(12) {
            add(skb.addr, &w);
            let shinfo = w.read_u64(skb.addr + head) + (w.read_u64(skb.addr + end) & 0xffff_ffff);
            add(shinfo, &w);
        }
        add(w.ksym("init_task"), &w);
        for t in 0..3 {
            add(w.task_addr(t), &w);
        }
        // what meminfo and the census read: the counter arrays, the node, the per-CPU areas,
        // and the struct pages of the skbs' frag pages (vmemmap)
        for sym in [
            "vm_zone_stat",
            "vm_node_stat",
            "__per_cpu_offset",
            "max_pfn",
            "vmap_area_list",
        ] {
            add(w.ksym(sym), &w);
        }
        let pgdat = w.read_u64(w.ksym("node_data"));
        add(pgdat, &w);
        for skb in s.skbs.iter().take(4) {
            for &page in skb.pages.keys() {
                add(page, &w);
            }
        }
        pages.sort_unstable();
        pages.dedup();
        let text: String = pages.iter().map(|p| format!("{p}\n")).collect();
        std::fs::write(&hot, text).expect("hot pages");
    }
    let elf = std::fs::read(&vmcore).expect("read sample");
    let parsed = vmcore::elf::ElfDump::parse(Box::new(vmcore::source::BytesSource(elf.clone())))
        .expect("sample parses");
    let mut slots = Vec::new();
    for line in std::fs::read_to_string(&hot).expect("hot pages").lines() {
        let Ok(pfn) = line.parse::<u64>() else {
            continue;
        };
        let paddr = pfn << 12;
        for seg in parsed.segments() {
            if paddr >= seg.paddr && paddr + 4096 <= seg.paddr + seg.filesz {
                let off = (seg.offset + paddr - seg.paddr) as usize;
                slots.extend((0..512).map(|i| off + i * 8));
            }
        }
    }
    assert!(!slots.is_empty(), "no hot page is stored in the sample");
    Machine {
        elf,
        vmlinux,
        cache: dir.join("cache"),
        slots,
    }
}

/// Ask the debuginfo every kind of question the walk asks (sizes, nested members, bitfields,
/// enumerators, symbols); errors are answers too.
pub fn ask_everything(t: &kstructs::Types) {
    for ty in [
        "sk_buff",
        "struct page",
        "skb_shared_info",
        "sock",
        "nosuch",
    ] {
        let _ = t.size_of(ty);
    }
    for (ty, m) in [
        ("sk_buff", "head_frag"),
        ("sk_buff", "len"),
        ("sock", "__sk_common.skc_family"),
        ("sock", "sk_backlog.rmem_alloc"),
        ("page", "compound_head"),
        ("skb_shared_info", "frags"),
        ("task_struct", "comm"),
    ] {
        let _ = t.member(ty, m);
    }
    let _ = t.first_member("skb_frag_t", &["bv_page", "page.p", "netmem"]);
    let _ = t.enumerator("PG_head");
    let _ = t.enum_value("pageflags", "PG_slab");
    let _ = t.symbol("init_task");
    let _ = t.symbol_at(0xffff_ffff_8100_0000);
}

/// Write `data` to a scratch file of this process under `dir` and return its path.
pub fn scratch(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(format!("{name}-{}", std::process::id()));
    std::fs::write(&p, data).expect("scratch file");
    p
}

/// The machine's dump with `data`'s records applied (u16 slot index, u64 value each), opened as
/// a kernel; `None` when the damage makes it unopenable (a fine outcome).
pub fn patched_kernel(m: &Machine, data: &[u8]) -> Option<skbwalk::Kernel> {
    let mut elf = m.elf.clone();
    for rec in data.chunks_exact(10) {
        let slot = usize::from(u16::from_le_bytes([rec[0], rec[1]])) % m.slots.len();
        let at = m.slots[slot];
        elf[at..at + 8].copy_from_slice(&rec[2..10]);
    }
    let dump = vmcore::Dump::from_source(Box::new(vmcore::source::BytesSource(elf)), false).ok()?;
    let types = kstructs::Types::open_with_cache(&m.vmlinux, Some(&m.cache)).ok()?;
    skbwalk::Kernel::from_parts(dump, types, "fuzzed").ok()
}

/// Where the `kallsyms` target's memory starts.
pub const KALLSYMS_BASE: u64 = 0xffff_ffff_a240_0000;

/// Fuzz input → kernel memory and table addresses: 7 little-endian `u32` offsets (names,
/// num_syms, token_table, token_index, offsets, relative_base, addresses; `u32::MAX` = absent)
/// into the rest, which is the memory at [`KALLSYMS_BASE`]; reads outside it fail.
pub fn kallsyms_memory(data: &[u8]) -> Option<(FlatMemory, kstructs::KallsymsTables)> {
    let (head, mem) = data.split_at_checked(28)?;
    let at = |i: usize| {
        let v = u32::from_le_bytes(head[4 * i..4 * i + 4].try_into().ok()?);
        (v != u32::MAX).then(|| KALLSYMS_BASE.wrapping_add(u64::from(v)))
    };
    let vals = [at(0), at(1), at(2), at(3), at(4), at(5), at(6)];
    let names = [
        "kallsyms_names",
        "kallsyms_num_syms",
        "kallsyms_token_table",
        "kallsyms_token_index",
        "kallsyms_offsets",
        "kallsyms_relative_base",
        "kallsyms_addresses",
    ];
    let t = kstructs::KallsymsTables::from_lookup(|n| {
        names.iter().position(|&x| x == n).and_then(|i| vals[i])
    })
    .ok()?;
    Some((FlatMemory(mem.to_vec()), t))
}

/// Kernel memory that is one run of bytes at [`KALLSYMS_BASE`].
pub struct FlatMemory(pub Vec<u8>);

impl kstructs::Memory for FlatMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
        let start = addr.checked_sub(KALLSYMS_BASE).ok_or("below")? as usize;
        let src = self
            .0
            .get(start..start.checked_add(buf.len()).ok_or("overflow")?)
            .ok_or("past the end")?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Serialize a [`testdata::kallsyms_writer::KallsymsImage`] as a `kallsyms` fuzz input.
pub fn kallsyms_seed(img: &testdata::kallsyms_writer::KallsymsImage) -> Vec<u8> {
    let end = img.regions.iter().map(|r| r.0 + r.1.len() as u64).max().unwrap_or(0);
    let base = img.regions.iter().map(|r| r.0).min().unwrap_or(0);
    let mut mem = vec![0u8; (end - base) as usize + 4096];
    for (a, b) in &img.regions {
        let o = (a - base) as usize;
        mem[o..o + b.len()].copy_from_slice(b);
    }
    let off = |a: Option<u64>| a.map_or(u32::MAX, |a| (a - base) as u32);
    let mut out = Vec::new();
    for a in [
        Some(img.names),
        Some(img.num_syms),
        Some(img.token_table),
        Some(img.token_index),
        img.offsets,
        img.relative_base,
        img.addresses,
    ] {
        out.extend_from_slice(&off(a).to_le_bytes());
    }
    out.extend_from_slice(&mem);
    out
}
