//! [`Kernel`]: a dump, the debuginfo that describes it, and typed reads of kernel memory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kstructs::{KallsymsTables, Prefer, SymbolTable, Types, TypesFrom};
use vmcore::x86_64::{KernelLayout, LINK_TEXT};

use crate::memory::{ForKallsyms, KernelMemory};
use vmcore::Dump;

use crate::offsets::Offsets;
use crate::space::KernelSpace;
use crate::{Error, Result};

/// Default direct-map base without KASLR (`__PAGE_OFFSET_BASE_L4`).
const DEFAULT_PAGE_OFFSET: u64 = 0xffff_8880_0000_0000;
/// Default vmemmap base without KASLR (`VMEMMAP_START` with 4-level paging).
const DEFAULT_VMEMMAP: u64 = 0xffff_ea00_0000_0000;

/// Largest `.BTF` read from a dump (6.12 cloud: 4.5 MiB; a kernel with every option: ~10 MiB).
const MAX_BTF: u64 = 64 << 20;
/// The bound of an x86-64 direct map: 4 PiB, 5-level tables' (64 TiB with 4 levels).
const MAX_DIRECT_MAP: u64 = 1 << 52;

/// The direct map's layout: [`DirectMap::pfn`] is `__pa()` / `PAGE_SIZE` by arithmetic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DirectMap {
    arm64: Option<vmcore::aarch64::Aarch64Layout>,
    base: u64,
    page_size: u64,
}

impl DirectMap {
    /// The pfn of direct-map address `vaddr`: `vaddr` − `page_offset_base` on x86-64,
    /// `__lm_to_phys` on arm64; `None` outside the direct map.
    pub(crate) fn pfn(&self, vaddr: u64) -> Option<u64> {
        let pa = match &self.arm64 {
            Some(a) => a.linear(vaddr)?,
            None => vaddr
                .checked_sub(self.base)
                .filter(|&d| d < MAX_DIRECT_MAP)?,
        };
        Some(pa / self.page_size)
    }
}

/// An open dump with the kernel types that describe it.
///
/// ```no_run
/// let k = skbwalk::Kernel::open("vmcore".as_ref(), Some("vmlinux".as_ref()))?;
/// let report = skbwalk::socket_report(&k, 146935, 11)?;
/// println!("{} skbs pin {} bytes", report.totals.skbs, report.totals.pinned_bytes);
/// # Ok::<(), skbwalk::Error>(())
/// ```
pub struct Kernel {
    /// The memory the kernel is read from (a dump).
    mem: Box<dyn KernelMemory>,
    /// Kernel types and symbols.
    pub(crate) types: Types,
    /// Offsets the walk uses, resolved on first use: `info` and `read` never need them.
    off: OnceLock<Offsets>,
    /// KASLR displacement of the kernel image.
    pub(crate) kaslr_offset: u64,
    /// Start of the direct map (`page_offset_base`).
    pub(crate) page_offset_base: u64,
    /// Start of the `struct page` array (`vmemmap_base`).
    pub(crate) vmemmap_base: u64,
    /// Where kernel pointers lie (the architecture's kernel half).
    space: KernelSpace,
    /// The kernel's page size.
    page_size: u64,
    /// The vmcore path, for messages.
    pub(crate) vmcore_path: String,
    /// Things worth knowing that did not stop the open (e.g. how the layout was found).
    pub(crate) notes: Vec<String>,
    /// Set once the loaded modules' types were added to `types` (`module_types::load`).
    pub(crate) module_types: OnceLock<()>,
}

/// Where distributions install debuginfo for `release`.
pub(crate) fn debuginfo_candidates(release: &str) -> Vec<PathBuf> {
    [
        format!("/usr/lib/debug/boot/vmlinux-{release}"),
        format!("/usr/lib/debug/lib/modules/{release}/vmlinux"),
        format!("/usr/lib/debug/vmlinux-{release}"),
        format!("/boot/vmlinux-{release}"),
        format!("/lib/modules/{release}/build/vmlinux"),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect()
}

/// Where [`Kernel::open_with`] takes the kernel's types and symbols from.
///
/// The default is the rule of the command line: a vmlinux (given, or found where distributions
/// install debuginfo for the dump's release) answers with its BTF when it has one, else its
/// DWARF; with none, the dump's own BTF and kallsyms answer (6.0+ kernels with
/// `CONFIG_DEBUG_INFO_BTF`), or its BTF and a `System.map` for older ones.
///
/// ```no_run
/// use skbwalk::kernel::OpenOptions;
/// let opts = OpenOptions { system_map: Some("System.map-5.10.0-32-cloud-amd64".into()), ..Default::default() };
/// let k = skbwalk::Kernel::open_with("vmcore".as_ref(), &opts)?;
/// println!("types from {}", k.types().debuginfo().types.as_str());
/// # Ok::<(), skbwalk::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The vmlinux (`None`: look where distributions install it, then use the dump).
    pub vmlinux: Option<PathBuf>,
    /// Symbols from this `System.map` instead of the vmlinux's `.symtab` or the dump's kallsyms.
    pub system_map: Option<PathBuf>,
    /// Force the type source (`None`: BTF when present, else DWARF).
    pub types: Option<TypesFrom>,
    /// The layout cache directory: `None` for the default (`~/.cache/skbwalk`), `Some(None)` for
    /// no cache.
    pub cache_dir: Option<Option<PathBuf>>,
}

/// The former name of [`OpenOptions`] (it named a second thing `Debuginfo` beside
/// `kstructs::Debuginfo`, which says where the types and symbols came from).
#[deprecated(note = "renamed OpenOptions")]
pub type Debuginfo = OpenOptions;

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl Kernel {
    /// Open `vmcore` and its debuginfo (`vmlinux`; when `None`, found by the dump's release, or
    /// else the dump's own BTF and kallsyms): [`Kernel::open_with`] with the default rule.
    pub fn open(vmcore: &Path, vmlinux: Option<&Path>) -> Result<Kernel> {
        let opts = OpenOptions {
            vmlinux: vmlinux.map(Path::to_path_buf),
            ..Default::default()
        };
        Self::open_with(vmcore, &opts)
    }

    /// Open `vmcore` with types and symbols from where `opts` says (see [`Debuginfo`]).
    pub fn open_with(vmcore: &Path, opts: &OpenOptions) -> Result<Kernel> {
        Self::open_parts_with(&[vmcore], opts)
    }

    /// Open the files of one `makedumpfile --split` set as one dump (one file: as
    /// [`Kernel::open_with`]), with types and symbols from where `opts` says.
    pub fn open_parts_with(vmcores: &[&Path], opts: &OpenOptions) -> Result<Kernel> {
        let vmcore_path = vmcores
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ");
        let dump = Dump::open_parts(vmcores).map_err(|source| Error::Dump {
            path: vmcore_path.clone(),
            source,
        })?;
        let release = dump.info().osrelease.clone().filter(|r| !r.is_empty());
        let found = match &opts.vmlinux {
            Some(p) => Some(p.clone()),
            None => release
                .as_deref()
                .and_then(|r| debuginfo_candidates(r).into_iter().find(|p| p.is_file())),
        };
        let prefer = match opts.types {
            Some(TypesFrom::Dwarf) => Prefer::Dwarf,
            Some(_) => Prefer::Btf,
            None => Prefer::Auto,
        };
        let Some(vmlinux) = found else {
            if opts.types == Some(TypesFrom::Dwarf) {
                let release = release.ok_or_else(|| Error::NoDebuginfo {
                    release: "(unknown: the dump has no VMCOREINFO or utsname)".into(),
                    tried: "nothing; pass --vmlinux".into(),
                })?;
                let tried = debuginfo_candidates(&release)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Error::NoDebuginfo { release, tried });
            }
            return Self::from_dump_alone(dump, opts.system_map.as_deref(), &vmcore_path);
        };
        let cache = match &opts.cache_dir {
            None => kstructs::default_cache_dir(),
            Some(d) => d.clone(),
        };
        let mut types = Types::open_as(&vmlinux, cache.as_deref(), prefer)?;
        if let Some(m) = &opts.system_map {
            types = types.with_system_map(m)?;
        }
        Self::from_parts(dump, types, &vmcore_path)
    }

    /// No vmlinux: types from the BTF the kernel keeps in its image (`__start_BTF` ..
    /// `__stop_BTF`), symbols from its kallsyms (VMCOREINFO names the tables since 6.0) or
    /// from `system_map`.
    fn from_dump_alone(
        mut dump: Dump,
        system_map: Option<&Path>,
        vmcore_path: &str,
    ) -> Result<Kernel> {
        let no_layout = |reason: String| Error::NoLayout {
            vmcore: vmcore_path.to_string(),
            reason,
        };
        let symbols = match system_map {
            Some(m) => SymbolTable::from_system_map(m)?,
            None => {
                let vi = dump.vmcoreinfo().ok_or_else(|| Error::NoSymbols {
                    vmcore: vmcore_path.to_string(),
                    reason: "it has no VMCOREINFO, so no kallsyms tables".into(),
                })?;
                let tables = KallsymsTables::from_lookup(|n| vi.symbol(n));
                let kaslr_offset = dump
                    .arch()
                    .ok_or_else(|| {
                        no_layout(format!(
                            "its VMCOREINFO gives no layout{}",
                            dump.layout_error()
                                .map(|e| format!(" ({e})"))
                                .unwrap_or_default()
                        ))
                    })?
                    .facts()
                    .kaslr_offset;
                match (tables, vi.symbol("_stext")) {
                    (Ok(t), _) => {
                        SymbolTable::from_kallsyms(&ForKallsyms(&dump), &t, kaslr_offset)?
                    }
                    // Before 6.0 VMCOREINFO names no tables: they are found in the image.
                    (Err(missing), Some(stext)) => SymbolTable::from_kallsyms_in_image(
                        &ForKallsyms(&dump),
                        stext,
                        stext,
                        kaslr_offset,
                    )
                    .map_err(|e| Error::NoSymbols {
                        vmcore: vmcore_path.to_string(),
                        reason: format!(
                            "its VMCOREINFO lacks {missing} (kernels export the kallsyms tables \
                             there from 6.0), and the kernel image holds none this tool could \
                             find ({e}): pass --system-map or --vmlinux"
                        ),
                    })?,
                    (Err(missing), None) => {
                        return Err(Error::NoSymbols {
                            vmcore: vmcore_path.to_string(),
                            reason: format!(
                                "its VMCOREINFO lacks {missing} and _stext (kernels export the \
                                 kallsyms tables there from 6.0): pass --system-map or --vmlinux"
                            ),
                        })
                    }
                }
            }
        };
        if dump.arch().is_none() {
            let layout = Self::locate(&dump, vmcore_path, |n| symbols.lookup(n))?;
            dump.set_layout(layout);
        }
        let kaslr = dump.arch().map_or(0, |a| a.facts().kaslr_offset);
        let (Some(start), Some(stop)) =
            (symbols.lookup("__start_BTF"), symbols.lookup("__stop_BTF"))
        else {
            return Err(Error::NoDebuginfo {
                release: dump
                    .info()
                    .osrelease
                    .clone()
                    .unwrap_or_else(|| "(unknown)".into()),
                // kallsyms without data symbols (no CONFIG_KALLSYMS_ALL: Debian's 6.1 arm64
                // kernels) lacks every variable the walk needs, BTF's bounds among them
                tried: if symbols.lookup("init_task").is_none() {
                    format!(
                        "the dump's own BTF and symbols, but the symbols ({}) hold no data \
                         symbols (no init_task, no __start_BTF: a kernel built without \
                         CONFIG_KALLSYMS_ALL): pass --vmlinux or --system-map",
                        symbols.from().as_str()
                    )
                } else {
                    format!(
                        "the dump's own BTF, but the symbols ({}) have no __start_BTF/__stop_BTF \
                         (a kernel built without CONFIG_DEBUG_INFO_BTF): pass --vmlinux",
                        symbols.from().as_str()
                    )
                },
            });
        };
        let len = stop
            .checked_sub(start)
            .filter(|&l| l > 0 && l <= MAX_BTF)
            .ok_or_else(|| Error::Dump {
                path: vmcore_path.to_string(),
                source: vmcore::Error::Missing(format!(
                    "__start_BTF {start:#x} .. __stop_BTF {stop:#x} is not a BTF blob of 1 byte \
                     to {} MiB",
                    MAX_BTF >> 20
                )),
            })?;
        let mut blob = vec![0u8; len as usize];
        dump.read_virt(start.wrapping_add(kaslr), &mut blob)
            .map_err(|source| Error::Read {
                what: format!("the kernel's BTF ({len} bytes at __start_BTF)"),
                addr: start.wrapping_add(kaslr),
                source,
            })?;
        let types = Types::from_btf(blob, symbols, "the dump's BTF (__start_BTF)")?;
        Self::from_parts(dump, types, vmcore_path)
    }

    /// Locate the kernel from the CPU state (CR3) in the notes, for a dump without VMCOREINFO,
    /// with `symbol` giving link-time addresses (`_text`, `init_top_pgt`).
    fn locate(
        dump: &Dump,
        vmcore_path: &str,
        symbol: impl Fn(&str) -> Option<u64>,
    ) -> Result<KernelLayout> {
        match dump.info().machine.as_str() {
            "x86_64" => {}
            "aarch64" => {
                return Err(Error::NoLayout {
                    vmcore: vmcore_path.to_string(),
                    reason: dump.layout_error().map_or_else(
                        || {
                            "an arm64 dump without VMCOREINFO: its CPU notes carry no TTBR1 to \
                             find the page tables from (physical memory reads with read --phys)"
                                .to_string()
                        },
                        |e| format!("an arm64 dump whose VMCOREINFO gives no layout: {e}"),
                    ),
                });
            }
            m => {
                return Err(Error::NoLayout {
                    vmcore: vmcore_path.to_string(),
                    reason: format!(
                        "it is a dump of a {m} machine: its physical memory reads (read --phys), \
                         but this tool walks x86-64 and arm64 kernels only"
                    ),
                });
            }
        }
        let cr3 = dump
            .notes()
            .qemu_cr3
            .first()
            .copied()
            .ok_or_else(|| Error::NoLayout {
                vmcore: vmcore_path.to_string(),
                reason: match (dump.layout_error(), dump.vmcoreinfo().is_some()) {
                    (Some(e), _) => format!(
                        "its VMCOREINFO is unusable ({e}) and the notes hold no CPU state (CR3)"
                    ),
                    (None, true) => {
                        "its VMCOREINFO gives no layout and the notes hold no CPU state (CR3)"
                            .into()
                    }
                    (None, false) => match dump.warnings() {
                        [] => "no VMCOREINFO and no CPU state (CR3) in the notes".into(),
                        [w, ..] => format!(
                            "no VMCOREINFO and no CPU state (CR3) in the notes; the dump reader \
                             warned: {w}"
                        ),
                    },
                },
            })?;
        let text = symbol("_text").unwrap_or(LINK_TEXT);
        let top = symbol("init_top_pgt");
        KernelLayout::from_cr3(dump.phys(), cr3, None, text, top).map_err(|e| Error::NoLayout {
            vmcore: vmcore_path.to_string(),
            reason: e.to_string(),
        })
    }

    /// A kernel from a dump and debuginfo the caller has already opened (with its own cache
    /// directory, or a dump read from memory). `vmcore_name` names the dump in messages. The
    /// debuginfo is checked against the dump (build-id, release, banner) as by [`Kernel::open`].
    ///
    /// ```no_run
    /// use std::path::Path;
    /// let dump = vmcore::Dump::open(Path::new("vmcore"))?;
    /// let types = kstructs::Types::open_with_cache(Path::new("vmlinux"), Some(Path::new("/tmp/c")))?;
    /// let k = skbwalk::Kernel::from_parts(dump, types, "vmcore")?;
    /// println!("KASLR offset {:#x}", k.kaslr_offset());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_parts(mut dump: Dump, types: Types, vmcore_name: &str) -> Result<Kernel> {
        let vmcore_path = vmcore_name.to_string();
        let vmlinux = types.origin().to_string();
        let release = dump.info().osrelease.clone().filter(|r| !r.is_empty());
        let mismatch = |reason: String| Error::Mismatch {
            vmlinux: vmlinux.clone(),
            vmcore: vmcore_path.clone(),
            reason,
        };
        let mut notes = Vec::new();
        // Identity: build-id first, then the release string.
        let dump_build_id = dump.vmcoreinfo().and_then(|v| v.build_id.clone());
        let vmlinux_build_id = types.build_id_hex();
        let vmlinux_release = Self::vmlinux_release(&types);
        match (&dump_build_id, &vmlinux_build_id) {
            (Some(d), Some(v)) if !d.is_empty() && !v.is_empty() => {
                if !d.eq_ignore_ascii_case(v) && !v.starts_with(d.as_str()) {
                    return Err(mismatch(format!(
                        "the dump's BUILD-ID is {d}, the vmlinux's is {v}"
                    )));
                }
            }
            _ => {
                if let (Some(d), Some(v)) = (&release, &vmlinux_release) {
                    if d != v {
                        return Err(mismatch(format!(
                            "the dump's OSRELEASE is {d}, the vmlinux is {v}"
                        )));
                    }
                }
            }
        }
        if dump.arch().is_none() {
            let layout = Self::locate(&dump, &vmcore_path, |n| types.symbol(n).ok())?;
            notes.push(format!(
                "no VMCOREINFO: kernel located from CR3 {:#x}: KASLR offset {:#x}, phys_base {:#x}",
                dump.notes().qemu_cr3.first().copied().unwrap_or(0),
                layout.kaslr_offset,
                layout.phys_base
            ));
            dump.set_layout(layout);
        }
        Self::over(Box::new(dump), types, vmcore_path, notes)
    }

    /// A kernel read from any memory — a crash dump, a running kernel, a test image — with
    /// debuginfo the caller has opened: the walk does not know which memory it reads. The
    /// memory must know its address translation ([`KernelMemory::arch`]); the debuginfo is
    /// checked against it by release and `linux_banner`.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// let dump = vmcore::Dump::open(Path::new("vmcore"))?;
    /// let types = kstructs::Types::open_with_cache(Path::new("vmlinux"), None)?;
    /// let k = skbwalk::Kernel::from_memory(Box::new(dump), types, "vmcore")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_memory(mem: Box<dyn KernelMemory>, types: Types, name: &str) -> Result<Kernel> {
        if let (Some(m), Some(v)) = (mem.release(), Self::vmlinux_release(&types)) {
            if m != v {
                return Err(Error::Mismatch {
                    vmlinux: types.origin().to_string(),
                    vmcore: name.to_string(),
                    reason: format!("the memory's release is {m}, the vmlinux is {v}"),
                });
            }
        }
        Self::over(mem, types, name.to_string(), Vec::new())
    }

    /// The kernel over `mem`, whose layout is known: the banner check and the direct map and
    /// vmemmap bases.
    fn over(
        mem: Box<dyn KernelMemory>,
        types: Types,
        vmcore_path: String,
        notes: Vec<String>,
    ) -> Result<Kernel> {
        let vmlinux = types.origin().to_string();
        let mismatch = |reason: String| Error::Mismatch {
            vmlinux: vmlinux.clone(),
            vmcore: vmcore_path.clone(),
            reason,
        };
        let layout = mem
            .arch()
            .ok_or_else(|| Error::NoLayout {
                vmcore: vmcore_path.clone(),
                reason: "no kernel layout after VMCOREINFO and CR3 recovery".into(),
            })?
            .facts();
        let mut k = Kernel {
            mem,
            types,
            off: OnceLock::new(),
            kaslr_offset: layout.kaslr_offset,
            page_offset_base: DEFAULT_PAGE_OFFSET,
            vmemmap_base: DEFAULT_VMEMMAP,
            space: KernelSpace::from_start(layout.kernel_start),
            page_size: layout.page_size,
            vmcore_path: vmcore_path.clone(),
            notes,
            module_types: OnceLock::new(),
        };
        k.check_banner().map_err(mismatch)?;
        let unreadable = |e: Error| Error::NoLayout {
            vmcore: vmcore_path.clone(),
            reason: e.to_string(),
        };
        if let Ok(a) = k.global("page_offset_base") {
            k.page_offset_base = k.u64(a, "page_offset_base").map_err(unreadable)?;
        }
        if let Ok(a) = k.global("vmemmap_base") {
            k.vmemmap_base = k.u64(a, "vmemmap_base").map_err(unreadable)?;
        }
        // arm64: `vmemmap` is arithmetic on the layout (VMEMMAP_START, memstart_addr)
        if let Some(l) = k.arm64().copied() {
            let size = k.types.size_of("page").map_err(|e| k.layout_error(e))?;
            k.vmemmap_base = l.vmemmap(size);
            k.page_offset_base = l.kernel_start();
        }
        let _ = k.types.save_cache();
        Ok(k)
    }

    /// Kernel types and symbols (the debuginfo that describes this kernel).
    pub fn types(&self) -> &Types {
        &self.types
    }

    /// The arm64 layout, when the kernel is an arm64 one.
    pub(crate) fn arm64(&self) -> Option<&vmcore::aarch64::Aarch64Layout> {
        self.mem.arch()?.as_any().downcast_ref()
    }

    /// The kernel's page size (`PAGE_SIZE`: 4 KiB on x86-64; 4, 16 or 64 KiB on arm64), which
    /// need not be the dump's block size (QEMU writes arm64 dumps in 64 KiB blocks).
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// KASLR displacement of the kernel image.
    pub fn kaslr_offset(&self) -> u64 {
        self.kaslr_offset
    }

    /// Start of the direct map (`page_offset_base`).
    pub fn page_offset_base(&self) -> u64 {
        self.page_offset_base
    }

    /// Start of the `struct page` array (`vmemmap_base`).
    pub fn vmemmap_base(&self) -> u64 {
        self.vmemmap_base
    }

    /// The dump's name, as messages give it.
    pub fn vmcore_path(&self) -> &str {
        &self.vmcore_path
    }

    /// Things worth knowing that did not stop the open (e.g. how the layout was found).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The memory this kernel is read from.
    pub fn memory(&self) -> &dyn KernelMemory {
        self.mem.as_ref()
    }

    /// The crash dump this kernel is read from, when it is one.
    pub fn dump(&self) -> Option<&Dump> {
        self.mem.as_dump()
    }

    /// Every member offset the walk uses, resolved from the debuginfo on the first call.
    ///
    /// A type or member this kernel lacks (and no other generation's spelling of it) is
    /// [`Error::Layout`], naming it and the kernel's release.
    pub(crate) fn off(&self) -> Result<&Offsets> {
        if let Some(o) = self.off.get() {
            return Ok(o);
        }
        let o = Offsets::resolve(&self.types).map_err(|e| self.layout_error(e))?;
        let _ = self.types.save_cache();
        Ok(self.off.get_or_init(|| o))
    }

    /// [`Error::Layout`] for a type or member this kernel's debuginfo lacks, naming the release.
    pub(crate) fn layout_error(&self, e: kstructs::Error) -> Error {
        Error::Layout {
            release: self
                .release()
                .unwrap_or_else(|| "of unknown release".into()),
            source: Box::new(e),
        }
    }

    /// The kernel's release: the dump's (VMCOREINFO or kdump utsname), else the vmlinux's
    /// (the debuginfo was checked against the dump's `linux_banner`), else the dump's memory
    /// (`init_uts_ns`, when types and symbols come from the dump itself).
    pub fn release(&self) -> Option<String> {
        self.mem
            .release()
            .map(str::to_string)
            .or_else(|| Self::vmlinux_release(&self.types))
            .or_else(|| self.release_from_memory())
    }

    /// Write the debuginfo's layout cache if it learnt something (and no DWARF read failed), so the
    /// next run on this kernel answers without reading DWARF. The CLI calls it after each command.
    pub fn save_cache(&self) -> Result<()> {
        Ok(self.types.save_cache()?)
    }

    /// The release in the vmlinux (`init_uts_ns.name.release`).
    pub(crate) fn vmlinux_release(types: &Types) -> Option<String> {
        let base = types.symbol("init_uts_ns").ok()?;
        let off = types.member("uts_namespace", "name.release").ok()?.offset;
        types.static_bytes(base + off, 65).map(c_string)
    }

    /// Compare `linux_banner` in memory with the vmlinux's: proves both the match and the layout.
    fn check_banner(&self) -> std::result::Result<(), String> {
        let Ok(sym) = self.types.symbol("linux_banner") else {
            return Ok(());
        };
        let Some(want) = self.types.static_bytes(sym, 128) else {
            return Ok(());
        };
        let want = c_string(want);
        let mut got = vec![0u8; want.len()];
        match self.mem.read_virt(sym + self.kaslr_offset, &mut got) {
            Ok(()) if got == want.as_bytes() => Ok(()),
            Ok(()) => Err(format!(
                "linux_banner differs: the vmlinux says {:?}, the dump {:?}",
                want.trim_end(),
                c_string(&got).trim_end()
            )),
            // Unreadable banner (filtered dump): nothing to compare.
            Err(_) => Ok(()),
        }
    }

    /// The kernel release as the dump's memory has it (`init_uts_ns.name.release`), for dumps
    /// whose headers do not say (no VMCOREINFO, empty utsname).
    pub fn release_from_memory(&self) -> Option<String> {
        let base = self.global("init_uts_ns").ok()?;
        let off = self
            .types
            .member("uts_namespace", "name.release")
            .ok()?
            .offset;
        self.cstr(base + off, 65, "init_uts_ns.name.release")
            .ok()
            .filter(|s| !s.is_empty())
    }

    /// Runtime address of a global the walk reads: one of [`crate::globals::GLOBALS`] (where
    /// its type is written down, since BTF has none for it) or [`crate::globals::LABELS`].
    pub(crate) fn global(&self, name: &str) -> Result<u64> {
        debug_assert!(
            crate::globals::global(name).is_some() || crate::globals::LABELS.contains(&name),
            "{name} is not in globals::GLOBALS: add it with its type"
        );
        self.symbol(name)
    }

    /// Runtime address of a kernel symbol (KASLR applied).
    pub fn symbol(&self, name: &str) -> Result<u64> {
        Ok(self.types.symbol(name)? + self.kaslr_offset)
    }

    /// The address of a per-CPU variable as `per_cpu_ptr` takes it (add `__per_cpu_offset[cpu]`):
    /// where per-CPU symbols are zero-based (x86-64 to 6.14: `__per_cpu_start` is 0) KASLR does
    /// not move them.
    pub(crate) fn percpu_symbol(&self, name: &str) -> Result<u64> {
        let raw = self.types.symbol(name)?;
        let zero_based = self.types.symbol("__per_cpu_start").is_ok_and(|s| s == 0);
        Ok(if zero_based {
            raw
        } else {
            raw.wrapping_add(self.kaslr_offset)
        })
    }

    /// The per-CPU variable containing `rel`, an offset into a CPU's area as
    /// [`Kernel::percpu_symbol`] gives them, as `name+0xoff`.
    pub(crate) fn percpu_symbolize(&self, rel: u64) -> Option<String> {
        let zero_based = self.types.symbol("__per_cpu_start").is_ok_and(|s| s == 0);
        let (start, end) = (
            self.percpu_symbol("__per_cpu_start").ok()?,
            self.percpu_symbol("__per_cpu_end").ok()?,
        );
        if !(start..end).contains(&rel) {
            return None;
        }
        if zero_based {
            let (name, off) = self.types.symbol_name_at(rel)?;
            Some(if off == 0 {
                name
            } else {
                format!("{name}+{off:#x}")
            })
        } else {
            self.symbolize(rel)
        }
    }

    /// The symbol containing a runtime address, as `name+0xoff`.
    pub fn symbolize(&self, addr: u64) -> Option<String> {
        // (remembered in the layout cache: a warm run does not build the symbol table)
        let (name, off) = self
            .types
            .symbol_name_at(addr.wrapping_sub(self.kaslr_offset))?;
        Some(if off == 0 {
            name
        } else {
            format!("{name}+{off:#x}")
        })
    }

    /// Read bytes at a kernel virtual address.
    pub fn read(&self, addr: u64, buf: &mut [u8], what: &str) -> Result<()> {
        self.mem.read_virt(addr, buf).map_err(|source| Error::Read {
            what: what.to_string(),
            addr,
            source,
        })
    }

    /// Read `len` bytes.
    pub(crate) fn bytes(&self, addr: u64, len: usize, what: &str) -> Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        self.read(addr, &mut v, what)?;
        Ok(v)
    }

    /// Read `n` u64s (an array of pointers or longs).
    pub(crate) fn u64s(&self, addr: u64, n: usize, what: &str) -> Result<Vec<u64>> {
        let raw = self.bytes(addr, n.saturating_mul(8), what)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| crate::le::u64_at(c, 0))
            .collect())
    }

    /// Read a u64.
    pub fn u64(&self, addr: u64, what: &str) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Read a u32.
    pub fn u32(&self, addr: u64, what: &str) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Read a u16.
    pub fn u16(&self, addr: u64, what: &str) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read(addr, &mut b, what)?;
        Ok(u16::from_le_bytes(b))
    }

    /// Read a u8.
    pub fn u8(&self, addr: u64, what: &str) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read(addr, &mut b, what)?;
        Ok(b[0])
    }

    /// A NUL-terminated string of at most `max` bytes. The bytes up to the end of its page are
    /// read first: a string that ends there is read even where the next page is one the dump
    /// left out.
    pub(crate) fn cstr(&self, addr: u64, max: usize, what: &str) -> Result<String> {
        let page = self.page_size.max(1);
        let in_page = (page - addr % page).min(max as u64) as usize;
        let first = self.bytes(addr, in_page, what)?;
        if in_page == max || first.contains(&0) {
            return Ok(c_string(&first));
        }
        Ok(c_string(&self.bytes(addr, max, what)?))
    }

    /// `virt_to_page`: the `struct page` of a kernel virtual address (any mapped address).
    pub(crate) fn virt_to_page(&self, vaddr: u64) -> Result<u64> {
        let paddr = self.mem.translate(vaddr).map_err(|source| Error::Read {
            what: "page of address".into(),
            addr: vaddr,
            source,
        })?;
        self.pfn_to_page(paddr / self.page_size.max(1))?
            .ok_or_else(|| Error::Corrupt {
                what: format!("struct page of physical {paddr:#x}: vmemmap_base {:#x} is not a kernel address", self.vmemmap_base),
                addr: vaddr,
                why: "garbage vmemmap_base",
            })
    }

    /// `pfn_to_page`: the `struct page` of pfn `pfn` in the vmemmap (`None` past the address
    /// space: a garbage pfn); an error when the layout of `struct page` is unknown.
    pub(crate) fn pfn_to_page(&self, pfn: u64) -> Result<Option<u64>> {
        Ok(pfn
            .checked_mul(self.off()?.page.size)
            .and_then(|o| self.vmemmap_base.checked_add(o)))
    }

    /// The `struct page` of a direct-map address ([`Kernel::direct_pfn`]), where it is one.
    pub(crate) fn direct_page(&self, vaddr: u64) -> Option<u64> {
        self.pfn_to_page(self.direct_pfn(vaddr)?).ok()?
    }

    /// The pfn a direct-map (linear-map) address is in, by arithmetic: `vaddr` −
    /// `page_offset_base` on x86-64, `__lm_to_phys` on arm64; `None` outside the direct map.
    pub(crate) fn direct_pfn(&self, vaddr: u64) -> Option<u64> {
        self.direct_map().pfn(vaddr)
    }

    /// How this kernel's direct map is laid out, for a caller that converts many addresses.
    pub(crate) fn direct_map(&self) -> DirectMap {
        DirectMap {
            arm64: self.arm64().copied(),
            base: self.page_offset_base,
            page_size: self.page_size.max(1),
        }
    }

    /// The direct-map address of pfn `pfn` (`pfn_to_virt`), the inverse of
    /// [`Kernel::direct_pfn`].
    pub(crate) fn pfn_va(&self, pfn: u64) -> Option<u64> {
        let pa = pfn.checked_mul(self.page_size)?;
        match self.arm64() {
            Some(a) => a.linear_va(pa),
            None => (pa < MAX_DIRECT_MAP).then(|| self.page_offset_base.wrapping_add(pa)),
        }
    }

    /// `v`, read from the dump as a pointer to `what`, when it is a kernel pointer
    /// ([`Kernel::is_kernel_ptr`]); else an error that says so, before any member of it is read.
    pub(crate) fn ptr(&self, v: u64, what: &str) -> Result<u64> {
        if self.is_kernel_ptr(v, 8) {
            Ok(v)
        } else {
            Err(Error::Corrupt {
                what: format!("{what}: {v:#x} is not a kernel pointer"),
                addr: v,
                why: "garbage pointer",
            })
        }
    }

    /// Whether `addr` looks like a kernel pointer of this kernel's architecture (its kernel
    /// half of the address space, below the last 16 MiB), aligned to `align`.
    pub(crate) fn is_kernel_ptr(&self, addr: u64, align: u64) -> bool {
        self.space.contains(addr, align)
    }

    /// The kernel half of the address space.
    pub(crate) fn space(&self) -> KernelSpace {
        self.space
    }
}
