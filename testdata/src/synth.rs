//! The synthetic kernel: `testdata/c/synth/kernel61.c` compiled into a "vmlinux" with DWARF, linked at
//! kernel addresses, plus the offsets its own compiler reports (never typed by hand).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol};

/// The C source of the synthetic kernel.
pub const KERNEL61_C: &str = include_str!("../c/synth/kernel61.c");
/// Its release string.
pub const RELEASE: &str = "6.1.0-synthetic";
/// Link address of `_text`.
pub const LINK_TEXT: u64 = 0xffff_ffff_8100_0000;

/// A compiled synthetic kernel.
#[derive(Debug, Clone)]
pub struct SynthKernel {
    /// The vmlinux with DWARF (`--vmlinux` for skbwalk).
    pub vmlinux: PathBuf,
    /// `struct.member` → byte offset, `struct` → size, `struct.field@bit` → bit position,
    /// plus `PG_head`, `PG_slab`, `MAX_SKB_FRAGS`.
    pub layout: HashMap<String, u64>,
    /// Link-time symbol addresses.
    pub symbols: HashMap<String, u64>,
    /// Initialized sections (link address, bytes) to copy into memory.
    pub sections: Vec<(u64, Vec<u8>)>,
    /// The GNU build-id of the vmlinux.
    pub build_id: Vec<u8>,
}

fn run(cmd: &mut Command) -> io::Result<Vec<u8>> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out.stdout)
}

impl SynthKernel {
    /// Compile the 6.1 generation into `dir` (created if needed) with DWARF version `dwarf` (4 or 5).
    pub fn build(dir: &Path, dwarf: u8) -> io::Result<SynthKernel> {
        Self::build_gen(dir, dwarf, 61)
    }

    /// Compile generation `gen` of the layouts that moved between kernels: 4 (4.19
    /// `skb_frag_struct`, `page[1].compound_order`, slab fields in `struct page`), 510 (5.10:
    /// `bio_vec`, no folio, slab fields in `struct page`, listeners in `listening_hash`), 61 (6.1
    /// `bio_vec`, folio overlay, `struct slab`) or 612 (6.12 `netmem` frags, order in folio
    /// `_flags_1`, slab as a page type).
    pub fn build_gen(dir: &Path, dwarf: u8, gen: u32) -> io::Result<SynthKernel> {
        Self::build_with(dir, dwarf, gen, &[])
    }

    /// [`build_gen`](Self::build_gen) with extra `-D` definitions for odd layouts
    /// (`SYNTH_EHASH_PAD=N`: hash buckets of N more bytes).
    pub fn build_with(
        dir: &Path,
        dwarf: u8,
        gen: u32,
        defines: &[&str],
    ) -> io::Result<SynthKernel> {
        std::fs::create_dir_all(dir)?;
        let defines: Vec<String> = defines.iter().map(|d| format!("-D{d}")).collect();
        let src = dir.join("kernel61.c");
        std::fs::write(&src, KERNEL61_C)?;
        let release = format!("-DSYNTH_RELEASE=\"{RELEASE}\"");
        let gen = format!("-DSYNTH_GEN={gen}");
        let obj = dir.join("kernel61.o");
        let vmlinux = dir.join("vmlinux");
        let offsets = dir.join("offsets");
        run(Command::new("gcc")
            .args([
                "-g",
                &format!("-gdwarf-{dwarf}"),
                "-O0",
                "-fno-pic",
                "-mcmodel=kernel",
                "-ffreestanding",
                "-fno-eliminate-unused-debug-types",
                &release,
                &gen,
                "-c",
            ])
            .args(&defines)
            .arg(&src)
            .arg("-o")
            .arg(&obj))?;
        run(Command::new("ld")
            .args(["-static", "-nostdlib", "-e", "start_kernel", "--build-id"])
            .arg(format!("-Ttext={LINK_TEXT:#x}"))
            .arg(format!("--defsym=_text={LINK_TEXT:#x}"))
            .arg("-o")
            .arg(&vmlinux)
            .arg(&obj))?;
        run(Command::new("gcc")
            .args(["-O0", "-DSYNTH_OFFSETS", &release, &gen])
            .args(&defines)
            .arg(&src)
            .arg("-o")
            .arg(&offsets))?;
        let text = String::from_utf8_lossy(&run(&mut Command::new(&offsets))?).into_owned();
        let mut layout = HashMap::new();
        for line in text.lines() {
            let (k, v) = line
                .rsplit_once(' ')
                .ok_or_else(|| io::Error::other(format!("bad offsets line {line:?}")))?;
            layout.insert(
                k.to_string(),
                v.parse()
                    .map_err(|_| io::Error::other(format!("bad offsets line {line:?}")))?,
            );
        }
        let data = std::fs::read(&vmlinux)?;
        let file = object::File::parse(&*data).map_err(io::Error::other)?;
        let symbols = file
            .symbols()
            .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
            .collect();
        let sections = file
            .sections()
            .filter(|s| {
                s.address() >= LINK_TEXT && s.kind() != object::SectionKind::UninitializedData
            })
            .filter_map(|s| Some((s.address(), s.data().ok()?.to_vec())))
            .collect();
        let build_id = file.build_id().ok().flatten().unwrap_or_default().to_vec();
        Ok(SynthKernel {
            vmlinux,
            layout,
            symbols,
            sections,
            build_id,
        })
    }

    /// Whether the C file printed `key` (members some generations lack).
    pub fn has(&self, key: &str) -> bool {
        self.layout.contains_key(key)
    }

    /// An offset or size by key (panics on a key the C file does not print: fixtures are code).
    pub fn o(&self, key: &str) -> u64 {
        *self
            .layout
            .get(key)
            .unwrap_or_else(|| panic!("synthetic kernel layout has no {key}"))
    }

    /// A link-time symbol address.
    pub fn sym(&self, name: &str) -> u64 {
        *self
            .symbols
            .get(name)
            .unwrap_or_else(|| panic!("synthetic kernel has no symbol {name}"))
    }
}
