//! The running kernel: memory from `/proc/kcore`, types from `/sys/kernel/btf/vmlinux` (or a
//! vmlinux), symbols from `/proc/kallsyms` (or, where `kptr_restrict` hides its addresses, the
//! kallsyms tables VMCOREINFO names, as for a dump). The walk reads it through the same
//! [`KernelMemory`] as a dump and does not know which it reads.
//!
//! ```no_run
//! let k = skbwalk::live::open(&skbwalk::live::LiveOptions::default())?;
//! let top = skbwalk::top(&k, Default::default())?;
//! println!("{} sockets", top.sockets.len());
//! # Ok::<(), skbwalk::Error>(())
//! ```

use std::path::{Path, PathBuf};

use kstructs::{KallsymsTables, Prefer, SymbolTable, Types, TypesFrom};
use vmcore::kcore::Kcore;

use crate::memory::{ForKallsyms, KernelMemory};
use crate::{Error, Kernel, Result};

/// Where [`open`] reads the running kernel from; the defaults are the machine's own files.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LiveOptions {
    /// The kernel's memory (`/proc/kcore`).
    pub kcore: PathBuf,
    /// The kernel's BTF (`/sys/kernel/btf/vmlinux`).
    pub btf: PathBuf,
    /// The kernel's symbols (`/proc/kallsyms`).
    pub kallsyms: PathBuf,
    /// `kernel.osrelease` (`/proc/sys/kernel/osrelease`), for kernels whose kcore has no
    /// VMCOREINFO.
    pub osrelease: PathBuf,
    /// The lockdown state (`/sys/kernel/security/lockdown`), to name why kcore is refused.
    pub lockdown: PathBuf,
    /// A vmlinux instead of the BTF and kallsyms.
    pub vmlinux: Option<PathBuf>,
    /// Force the type source of the vmlinux.
    pub types: Option<TypesFrom>,
    /// The layout cache directory (as [`crate::kernel::OpenOptions::cache_dir`]).
    pub cache_dir: Option<Option<PathBuf>>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            kcore: "/proc/kcore".into(),
            btf: "/sys/kernel/btf/vmlinux".into(),
            kallsyms: "/proc/kallsyms".into(),
            osrelease: "/proc/sys/kernel/osrelease".into(),
            lockdown: "/sys/kernel/security/lockdown".into(),
            vmlinux: None,
            types: None,
            cache_dir: None,
        }
    }
}

impl LiveOptions {
    /// The options for a machine whose files are under `root` (`root/proc/kcore`, …): a test
    /// tree, or the host's `/proc` and `/sys` mounted into a container.
    pub fn under(root: &Path) -> LiveOptions {
        let at = |p: &str| root.join(p.trim_start_matches('/'));
        LiveOptions {
            kcore: at("/proc/kcore"),
            btf: at("/sys/kernel/btf/vmlinux"),
            kallsyms: at("/proc/kallsyms"),
            osrelease: at("/proc/sys/kernel/osrelease"),
            lockdown: at("/sys/kernel/security/lockdown"),
            ..LiveOptions::default()
        }
    }
}

/// Why the running kernel cannot be read: each one sentence that names the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LiveProblem {
    /// `/proc/kcore` refused: not root, or no `CAP_SYS_RAWIO`.
    #[error("{0}: permission denied: reading the running kernel needs root (CAP_SYS_RAWIO); run skbwalk --live with sudo")]
    NotRoot(String),
    /// Kernel lockdown in confidentiality mode blocks `/proc/kcore` for everyone.
    #[error("{0}: the kernel is locked down (lockdown={1}), which blocks /proc/kcore even for root; boot with lockdown=integrity or none (or without Secure Boot's lockdown), or take a crash dump instead")]
    Lockdown(String, String),
    /// No `/proc/kcore`.
    #[error("{0} does not exist: the kernel is built without CONFIG_PROC_KCORE, or this is a container without the host's /proc (run on the host, or mount its /proc)")]
    NoKcore(String),
    /// `/proc/kallsyms` shows only zero addresses and kcore names no kallsyms tables.
    #[error("{0} shows every address as 0 (kernel.kptr_restrict), and the kernel's VMCOREINFO names no kallsyms tables (before 6.0): run as root with sysctl kernel.kptr_restrict=1 (or 0), or pass --vmlinux")]
    KptrRestrict(String),
    /// No BTF and no vmlinux.
    #[error("no kernel types: {0} is missing (a kernel without CONFIG_DEBUG_INFO_BTF) and no vmlinux was found for {1}: pass --vmlinux (from the kernel's -dbg / debuginfo package)")]
    NoTypes(String, String),
}

/// Open the running kernel as `opts` says.
pub fn open(opts: &LiveOptions) -> Result<Kernel> {
    let kcore = open_kcore(opts)?;
    let name = opts.kcore.display().to_string();
    let release = kcore
        .vmcoreinfo()
        .and_then(|v| v.osrelease.clone())
        .or_else(|| {
            std::fs::read_to_string(&opts.osrelease)
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|r| !r.is_empty());
    let kaslr = kcore.arch().map_or(0, |a| a.facts().kaslr_offset);
    let vmlinux = opts.vmlinux.clone().or_else(|| {
        release.as_deref().and_then(|r| {
            crate::kernel::debuginfo_candidates(r)
                .into_iter()
                .find(|p| p.is_file())
        })
    });
    let types = match vmlinux {
        Some(v) => {
            let prefer = match opts.types {
                Some(TypesFrom::Dwarf) => Prefer::Dwarf,
                Some(_) => Prefer::Btf,
                None => Prefer::Auto,
            };
            let cache = match &opts.cache_dir {
                None => kstructs::default_cache_dir(),
                Some(d) => d.clone(),
            };
            Types::open_as(&v, cache.as_deref(), prefer)?
        }
        None => {
            let blob = std::fs::read(&opts.btf).map_err(|_| Error::Live {
                problem: LiveProblem::NoTypes(
                    opts.btf.display().to_string(),
                    release.clone().unwrap_or_else(|| "this kernel".into()),
                ),
            })?;
            let symbols = symbols(opts, &kcore, kaslr)?;
            Types::from_btf(blob, symbols, &opts.btf.display().to_string())?
        }
    };
    Kernel::from_memory(Box::new(kcore), types, &name)
}

/// `/proc/kcore` as `opts` names it, or the sentence that says why it cannot be read.
pub fn open_kcore(opts: &LiveOptions) -> Result<Kcore> {
    let path = opts.kcore.display().to_string();
    match Kcore::open(&opts.kcore) {
        Ok(k) => Ok(k),
        Err(vmcore::Error::Io { source, .. }) => {
            let lockdown = std::fs::read_to_string(&opts.lockdown).ok();
            match problem_of(source.kind(), &path, lockdown.as_deref()) {
                Some(problem) => Err(Error::Live { problem }),
                None => Err(Error::Dump {
                    source: vmcore::Error::Io {
                        path: path.clone(),
                        source,
                    },
                    path,
                }),
            }
        }
        Err(source) => Err(Error::Dump { path, source }),
    }
}

/// The problem an error opening `/proc/kcore` (at `path`) means, given the lockdown file's
/// text; `None` for an error that is none of them.
fn problem_of(kind: std::io::ErrorKind, path: &str, lockdown: Option<&str>) -> Option<LiveProblem> {
    match kind {
        std::io::ErrorKind::NotFound => Some(LiveProblem::NoKcore(path.into())),
        std::io::ErrorKind::PermissionDenied => Some(match lockdown.and_then(lockdown_mode) {
            Some(m) if m == "confidentiality" => LiveProblem::Lockdown(path.into(), m),
            _ => LiveProblem::NotRoot(path.into()),
        }),
        _ => None,
    }
}

/// The lockdown mode `/sys/kernel/security/lockdown` selects (`none [integrity]
/// confidentiality` → `integrity`).
fn lockdown_mode(text: &str) -> Option<String> {
    let open = text.find('[')?;
    let close = text[open..].find(']')? + open;
    Some(text[open + 1..close].to_string())
}

/// The kernel's symbols at link-time addresses: `/proc/kallsyms` less the KASLR offset, or
/// where `kptr_restrict` zeroes it, the kallsyms tables VMCOREINFO names (6.0+).
fn symbols(opts: &LiveOptions, kcore: &Kcore, kaslr: u64) -> Result<SymbolTable> {
    let path = opts.kallsyms.display().to_string();
    let text = std::fs::read_to_string(&opts.kallsyms).unwrap_or_default();
    let parsed = parse_kallsyms(&text);
    if parsed.iter().any(|&(_, a, _)| a != 0) {
        return Ok(SymbolTable::from_triples(
            parsed
                .into_iter()
                .map(|(n, a, t)| (n, a.wrapping_sub(kaslr), t)),
            &path,
        ));
    }
    let tables = kcore
        .vmcoreinfo()
        .map(|v| KallsymsTables::from_lookup(|n| v.symbol(n)));
    match tables {
        Some(Ok(t)) => Ok(SymbolTable::from_kallsyms(&ForKallsyms(kcore), &t, kaslr)?),
        _ => Err(Error::Live {
            problem: LiveProblem::KptrRestrict(path),
        }),
    }
}

/// `/proc/kallsyms`'s lines: `(name, address, type)`; module symbols (`[module]`) left out.
fn parse_kallsyms(text: &str) -> Vec<(&str, u64, char)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_ascii_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let kind = f.next()?.chars().next()?;
            let name = f.next()?;
            f.next().is_none().then_some((name, addr, kind))
        })
        .collect()
}

impl KernelMemory for Kcore {
    fn read_virt(&self, vaddr: u64, buf: &mut [u8]) -> vmcore::Result<()> {
        Kcore::read_virt(self, vaddr, buf)
    }
    fn translate(&self, vaddr: u64) -> vmcore::Result<u64> {
        Kcore::translate(self, vaddr)
    }
    fn phys_end(&self) -> u64 {
        Kcore::phys_end(self)
    }
    fn page_size(&self) -> u64 {
        Kcore::page_size(self)
    }
    fn warnings(&self) -> &[String] {
        Kcore::warnings(self)
    }
    fn release(&self) -> Option<&str> {
        self.vmcoreinfo()?.osrelease.as_deref()
    }
    fn arch(&self) -> Option<&dyn vmcore::arch::Arch> {
        Kcore::arch(self)
    }
    fn is_live(&self) -> bool {
        true
    }
    fn kernel_table_pages(&self, limit: usize) -> Option<vmcore::arch::TablePages> {
        Kcore::arch(self)?.table_pages(self, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kallsyms_lines_and_lockdown_modes() {
        let t = "ffffffff81000000 T _text\nffffffffc0a01000 t foo\t[virtio_net]\n0000000000000000 A fixed_percpu_data\nbad line\n";
        assert_eq!(
            parse_kallsyms(t),
            vec![
                ("_text", 0xffff_ffff_8100_0000, 'T'),
                ("fixed_percpu_data", 0, 'A')
            ]
        );
        assert_eq!(
            lockdown_mode("none integrity [confidentiality]\n").as_deref(),
            Some("confidentiality")
        );
        assert_eq!(
            lockdown_mode("[none] integrity confidentiality").as_deref(),
            Some("none")
        );
        assert_eq!(lockdown_mode(""), None);
    }

    #[test]
    fn each_refusal_names_its_fix() {
        use std::io::ErrorKind::{NotFound, Other, PermissionDenied};
        let say = |k, l| problem_of(k, "/proc/kcore", l).map(|p| p.to_string());
        let root = say(PermissionDenied, Some("[none] integrity confidentiality")).unwrap();
        assert!(root.contains("needs root (CAP_SYS_RAWIO)"), "{root}");
        assert_eq!(say(PermissionDenied, None), Some(root));
        let locked = say(PermissionDenied, Some("none integrity [confidentiality]")).unwrap();
        assert!(
            locked.contains("locked down (lockdown=confidentiality)"),
            "{locked}"
        );
        let gone = say(NotFound, None).unwrap();
        assert!(
            gone.contains("CONFIG_PROC_KCORE") && gone.contains("container"),
            "{gone}"
        );
        assert_eq!(say(Other, None), None);
    }

    /// A synthetic machine's memory as its `/proc/kcore` and as its crash dump.
    fn machine(name: &str) -> (PathBuf, testdata::world::World) {
        use testdata::elf_writer::{write_elf, ElfOptions};
        use testdata::sample::{incident_world, qemu_notes, SampleSize};
        use testdata::synth::SynthKernel;
        use testdata::world::WorldConfig;
        let dir = crate::testing::scratch(name);
        let k = SynthKernel::build_gen(&dir.join("k"), 4, 61).unwrap();
        let mut w = incident_world(k, WorldConfig::kaslr(), SampleSize { stalled_skbs: 30 });
        let vi = w.finish();
        let opts = ElfOptions {
            notes: qemu_notes(&w, true, &vi),
            sparse: true,
            ..Default::default()
        };
        std::fs::write(dir.join("vmcore"), write_elf(&w.img, &opts)).unwrap();
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        testdata::kcore_writer::write_kcore(&w, &vi, &dir.join("proc/kcore")).unwrap();
        (dir, w)
    }

    /// Read as a running kernel (kcore), the machine gives the answers its dump gives: the
    /// socket report, `top` and `meminfo`, JSON byte for byte.
    #[test]
    fn a_running_kernel_reads_as_its_dump() {
        let (dir, w) = machine("live-kcore");
        let dump = crate::testing::open(&dir.join("vmcore"), Some(&w.k.vmlinux));
        let mut o = LiveOptions::under(&dir);
        o.vmlinux = Some(w.k.vmlinux.clone());
        o.cache_dir = Some(None);
        let live = open(&o).unwrap();
        assert!(live.memory().is_live() && !dump.memory().is_live());
        assert!(live.dump().is_none());
        let a = serde_json::to_string(&crate::socket_report(&dump, 146935, 11).unwrap()).unwrap();
        let b = serde_json::to_string(&crate::socket_report(&live, 146935, 11).unwrap()).unwrap();
        assert_eq!(a, b);
        let a = serde_json::to_string(&crate::top(&dump, Default::default()).unwrap()).unwrap();
        let b = serde_json::to_string(&crate::top(&live, Default::default()).unwrap()).unwrap();
        assert_eq!(a, b);
        let a = serde_json::to_string(&crate::meminfo::meminfo(&dump).unwrap()).unwrap();
        let b = serde_json::to_string(&crate::meminfo::meminfo(&live).unwrap()).unwrap();
        assert_eq!(a, b);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Without a vmlinux: no BTF is "no types", and kallsyms showing only zeros with no
    /// kallsyms tables in VMCOREINFO is kptr_restrict — each named with its fix.
    #[test]
    fn missing_types_and_hidden_symbols_are_named() {
        let (dir, _w) = machine("live-errors");
        let mut o = LiveOptions::under(&dir);
        o.cache_dir = Some(None);
        let e = open(&o).err().expect("an error").to_string();
        assert!(
            e.contains("no kernel types") && e.contains("CONFIG_DEBUG_INFO_BTF"),
            "{e}"
        );
        std::fs::create_dir_all(dir.join("sys/kernel/btf")).unwrap();
        std::fs::write(
            dir.join("sys/kernel/btf/vmlinux"),
            b"not read before the symbols",
        )
        .unwrap();
        std::fs::write(
            dir.join("proc/kallsyms"),
            "0000000000000000 T _text
0000000000000000 D init_task
",
        )
        .unwrap();
        let e = open(&o).err().expect("an error").to_string();
        assert!(
            e.contains("kptr_restrict") && e.contains("--vmlinux"),
            "{e}"
        );
        std::fs::remove_file(dir.join("proc/kcore")).unwrap();
        let e = open(&o).err().expect("an error").to_string();
        assert!(
            e.contains("does not exist") && e.contains("CONFIG_PROC_KCORE"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
