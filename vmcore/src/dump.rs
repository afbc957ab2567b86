//! [`Dump`]: open any supported dump by content and read it by physical or kernel-virtual address.

use std::path::Path;

use crate::aarch64::Aarch64Layout;
use crate::arch::{Arch, Translator};
use crate::elf::{is_elf_core, ElfDump};
use crate::flattened::{is_flattened, FlattenedSource};
use crate::kdump::KdumpDump;
use crate::notes::NoteSummary;
use crate::source::{MmapSource, Source};
use crate::split::SplitSet;
use crate::x86_64::KernelLayout;
use crate::{Error, PageState, PhysMem, Result, VmcoreInfo};

/// The format-specific reader behind a [`Dump`].
enum Backend {
    Elf(ElfDump),
    Kdump(Box<KdumpDump>),
    Split(Box<SplitSet>),
}

impl Backend {
    fn mem(&self) -> &dyn PhysMem {
        match self {
            Backend::Elf(e) => e,
            Backend::Kdump(k) => k.as_ref(),
            Backend::Split(s) => s.as_ref(),
        }
    }

    /// The kdump reader whose header speaks for the dump (a split set's first part).
    fn kdump(&self) -> Option<&KdumpDump> {
        match self {
            Backend::Kdump(k) => Some(k),
            Backend::Split(s) => Some(s.first()),
            Backend::Elf(_) => None,
        }
    }
}

/// One file of a `makedumpfile --split` set, as [`DumpInfo::parts`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// The file.
    pub path: String,
    /// First pfn it holds.
    pub start_pfn: u64,
    /// End pfn (exclusive).
    pub end_pfn: u64,
    /// Pages stored in it.
    pub pages_present: u64,
}

/// What `skbwalk info` reports about a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpInfo {
    /// `ELF`, `kdump-compressed` or `diskdump`, with `(flattened)` when read through that format.
    pub format: String,
    /// Page compression (`none` for ELF; for kdump the methods the page descriptors use).
    pub compression: String,
    /// Page size.
    pub page_size: u64,
    /// Pages whose contents are in the dump.
    pub pages_present: u64,
    /// Pages the dump describes as RAM but filtered out.
    pub pages_excluded: u64,
    /// Kernel release from VMCOREINFO (or the kdump header's utsname).
    pub osrelease: Option<String>,
    /// The kdump header version, for kdump-compressed dumps.
    pub header_version: Option<i32>,
    /// Whether the dump carries VMCOREINFO.
    pub has_vmcoreinfo: bool,
    /// Whether makedumpfile marked the dump incomplete (it ran out of space).
    pub incomplete: bool,
    /// Number of CPUs with saved registers (`NT_PRSTATUS` notes).
    pub cpus: usize,
    /// The machine the dump is of (`x86_64`, or another architecture's name: its physical
    /// memory reads, but no x86-64 kernel layout applies).
    pub machine: String,
    /// For a split dump: the parts opened, in pfn order (empty for a whole dump).
    pub parts: Vec<PartInfo>,
    /// For a split dump: pfn ranges (start, end) that hold stored pages but whose part was not
    /// given; their pages read as [`Error::PartMissing`] / [`Error::InOtherPart`].
    pub missing_pfns: Vec<(u64, u64)>,
}

/// An open crash dump.
///
/// ```no_run
/// let dump = vmcore::Dump::open("vmcore".as_ref())?;
/// let info = dump.info();
/// println!("{} {:?} {} pages", info.format, info.osrelease, info.pages_present);
/// if let Some(layout) = dump.layout() {
///     let mut buf = [0u8; 8];
///     dump.read_virt(0xffff_ffff_8100_0000 + layout.kaslr_offset, &mut buf)?;
/// }
/// # Ok::<(), vmcore::Error>(())
/// ```
pub struct Dump {
    backend: Backend,
    info: DumpInfo,
    vmcoreinfo: Option<VmcoreInfo>,
    notes: NoteSummary,
    translator: Option<Translator>,
    layout_error: Option<String>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Dump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dump")
            .field("info", &self.info)
            .field("layout", &self.layout())
            .finish_non_exhaustive()
    }
}

impl Dump {
    /// Open a dump file, detecting its format from its content.
    pub fn open(path: &Path) -> Result<Dump> {
        let (src, flattened, truncated) = Self::source(path)?;
        let mut dump = Self::from_source(src, flattened)?;
        if let [part] = dump.info.parts.as_mut_slice() {
            part.path = path.display().to_string();
        }
        if truncated {
            dump.warnings.push(
                "the flattened stream ends inside a record: the data after the cut is missing"
                    .into(),
            );
        }
        Ok(dump)
    }

    /// Open the files of one `makedumpfile --split` set as one dump (one path: [`Dump::open`]).
    /// The parts are checked to belong together; a part not given leaves its pfns unreadable,
    /// never read from another part.
    pub fn open_parts(paths: &[&Path]) -> Result<Dump> {
        if let [one] = paths {
            return Self::open(one);
        }
        let mut parts = Vec::with_capacity(paths.len());
        let mut warnings = Vec::new();
        for p in paths {
            let name = p.display().to_string();
            let (src, flattened, truncated) = Self::source(p)?;
            let head = src.bytes(0, 64.min(src.len() as usize), "file header")?;
            if !crate::kdump::is_kdump(&head) {
                return Err(Error::Malformed {
                    what: "split dump set",
                    reason: format!(
                        "{name} is not a kdump-compressed file: only makedumpfile --split parts \
                         can be given together"
                    ),
                });
            }
            let kd = KdumpDump::parse(src).map_err(|e| Error::Malformed {
                what: "split dump part",
                reason: format!("{name}: {e}"),
            })?;
            if truncated {
                warnings.push(format!("{name}: the flattened stream ends inside a record"));
            }
            let _ = flattened;
            parts.push((kd, name));
        }
        let set = SplitSet::new(parts)?;
        let mut dump = Self::from_backend(Backend::Split(Box::new(set)), false)?;
        dump.warnings.extend(warnings);
        Ok(dump)
    }

    /// The file as a byte source, unwrapped from the flattened format when it is one: (source,
    /// flattened, truncated).
    fn source(path: &Path) -> Result<(Box<dyn Source>, bool, bool)> {
        let mmap = MmapSource::open(path)?;
        let head = mmap
            .as_bytes()
            .get(..64)
            .unwrap_or(mmap.as_bytes())
            .to_vec();
        Ok(if is_flattened(&head) {
            let f = FlattenedSource::new(mmap)?;
            let t = f.is_truncated();
            (Box::new(f), true, t)
        } else {
            (Box::new(mmap), false, false)
        })
    }

    /// Open a dump from any byte source (`flattened` says whether it was unwrapped from that format).
    pub fn from_source(src: Box<dyn Source>, flattened: bool) -> Result<Dump> {
        let head = src
            .bytes(0, 8192.min(src.len() as usize), "file header")?
            .into_owned();
        if let Some(e) = crate::detect::refuse(&head) {
            return Err(e);
        }
        let backend = if is_elf_core(&head) {
            Backend::Elf(ElfDump::parse(src)?)
        } else if head.starts_with(b"KDUMP   ") || head.starts_with(b"DISKDUMP") {
            Backend::Kdump(Box::new(KdumpDump::parse(src)?))
        } else {
            return Err(Error::UnknownFormat(
                "no ELF core, KDUMP, DISKDUMP or flattened (makedumpfile) signature at the start of the file".into(),
            ));
        };
        Self::from_backend(backend, flattened)
    }

    fn from_backend(backend: Backend, flattened: bool) -> Result<Dump> {
        let suffix = if flattened { " (flattened)" } else { "" };
        let (notes, mut info) = match &backend {
            Backend::Elf(elf) => Self::elf_info(elf, suffix),
            Backend::Kdump(_) | Backend::Split(_) => Self::kdump_info(&backend, suffix),
        };
        let vmcoreinfo = notes.vmcoreinfo.as_deref().map(VmcoreInfo::parse);
        if let Some(v) = &vmcoreinfo {
            info.has_vmcoreinfo = true;
            if let Some(r) = &v.osrelease {
                info.osrelease = Some(r.clone());
            }
            if let (Some(ps), Backend::Elf(elf)) = (v.page_size, &backend) {
                // a page size kernels have (4 KiB to 256 KiB): a damaged PAGESIZE must not size
                // the census or the pfn arithmetic
                if ps.is_power_of_two() && (4096..=1 << 18).contains(&ps) && ps != info.page_size {
                    info.page_size = ps;
                    info.pages_present = elf.pages_present(ps);
                }
            }
        }
        let warnings = Self::reader_warnings(&backend, &info, &notes, vmcoreinfo.as_ref());
        let (translator, layout_error) = layout_for(&mut info.machine, vmcoreinfo.as_ref());
        Ok(Dump {
            backend,
            info,
            vmcoreinfo,
            notes,
            translator,
            layout_error,
            warnings,
        })
    }

    /// What an ELF core says of itself: its notes, and the info its program headers give.
    fn elf_info(elf: &ElfDump, suffix: &str) -> (NoteSummary, DumpInfo) {
        let notes = elf.notes().clone();
        let page_size = 4096;
        let info = DumpInfo {
            format: format!("ELF{suffix}"),
            compression: "none".into(),
            page_size,
            pages_present: elf.pages_present(page_size),
            pages_excluded: elf.pages_excluded(page_size),
            osrelease: None,
            header_version: None,
            has_vmcoreinfo: false,
            incomplete: false,
            cpus: notes.prstatus,
            machine: crate::detect::elf_machine(elf.machine()),
            parts: Vec::new(),
            missing_pfns: Vec::new(),
        };
        (notes, info)
    }

    /// What a kdump-compressed file (or split set) says of itself: its notes and VMCOREINFO,
    /// and the info its header and bitmaps give.
    fn kdump_info(backend: &Backend, suffix: &str) -> (NoteSummary, DumpInfo) {
        let kd = backend.kdump().expect("a kdump backend");
        let mut notes = kd
            .notes()
            .map(|n| NoteSummary::gather(&n))
            .unwrap_or_default();
        if let Some(v) = kd.vmcoreinfo() {
            notes.vmcoreinfo = Some(v.to_vec());
        }
        let (parts, missing, present) = match backend {
            Backend::Split(set) => (
                set.parts()
                    .map(|(p, name, r)| PartInfo {
                        path: name.to_string(),
                        start_pfn: r.start,
                        end_pfn: r.end,
                        pages_present: p.pages_present(),
                    })
                    .collect(),
                set.missing().iter().map(|r| (r.start, r.end)).collect(),
                set.pages_present(),
            ),
            _ => match kd.split_range() {
                // A lone part: it is the set's only part given.
                Some(r) => {
                    let mut missing = Vec::new();
                    if kd.stored_in(0..r.start) > 0 {
                        missing.push((0, r.start));
                    }
                    if kd.stored_in(r.end..kd.max_mapnr()) > 0 {
                        missing.push((r.end, kd.max_mapnr()));
                    }
                    let part = PartInfo {
                        path: String::new(),
                        start_pfn: r.start,
                        end_pfn: r.end,
                        pages_present: kd.pages_present(),
                    };
                    (vec![part], missing, kd.pages_present())
                }
                None => (Vec::new(), Vec::new(), kd.pages_present()),
            },
        };
        let split = if parts.is_empty() {
            String::new()
        } else {
            format!(", split: {} part(s) given", parts.len())
        };
        let info = DumpInfo {
            format: format!(
                "{}{suffix}{split}",
                if kd.signature() == "KDUMP" {
                    "kdump-compressed"
                } else {
                    "diskdump"
                }
            ),
            compression: kd.compression().to_string(),
            page_size: kd.page_size(),
            pages_present: present,
            pages_excluded: kd.pages_excluded(),
            osrelease: kd.utsname_release(),
            header_version: Some(kd.header_version()),
            has_vmcoreinfo: false,
            incomplete: kd.is_incomplete(),
            cpus: notes.prstatus,
            // QEMU writes "Unknown" there, some writers nothing: only a machine the
            // header names as another architecture is one.
            machine: kd
                .utsname_machine()
                .filter(|m| crate::detect::is_foreign_uname_machine(m))
                .unwrap_or_else(|| "x86_64".into()),
            parts,
            missing_pfns: missing,
        };
        (notes, info)
    }

    /// What the readers found wrong that did not stop them: an incomplete dump, damaged
    /// headers of each part, parts of a split set not given, bad notes or VMCOREINFO lines.
    fn reader_warnings(
        backend: &Backend,
        info: &DumpInfo,
        notes: &NoteSummary,
        vmcoreinfo: Option<&VmcoreInfo>,
    ) -> Vec<String> {
        let mut warnings: Vec<String> = Vec::new();
        if info.incomplete {
            warnings.push(
                "the dump's writer marked it incomplete (it ran out of space or was interrupted): pages it did not write are missing"
                    .into(),
            );
        }
        match backend {
            Backend::Kdump(kd) => warnings.extend(kd.warnings().iter().cloned()),
            Backend::Split(set) => {
                for (p, name, _) in set.parts() {
                    warnings.extend(p.warnings().iter().map(|w| format!("{name}: {w}")));
                }
            }
            Backend::Elf(_) => {}
        }
        if !info.missing_pfns.is_empty() {
            let ranges: Vec<String> = info
                .missing_pfns
                .iter()
                .map(|(a, b)| format!("{a:#x}..{b:#x}"))
                .collect();
            warnings.push(format!(
                "this is part of a split dump (makedumpfile --split) and the parts holding pfns {} \
                 were not given: their pages cannot be read (give every part, --vmcore once per file)",
                ranges.join(", ")
            ));
        }
        warnings.extend(notes.warnings.iter().map(|w| format!("notes: {w}")));
        if let Some(v) = vmcoreinfo {
            warnings.extend(v.warnings.iter().map(|w| format!("VMCOREINFO: {w}")));
        }
        warnings
    }

    /// Why the VMCOREINFO the dump has does not give a kernel layout (`None` when it does, or
    /// when there is no VMCOREINFO).
    pub fn layout_error(&self) -> Option<&str> {
        self.layout_error.as_deref()
    }

    /// What the reader found wrong with the file that did not stop it: a truncated flattened
    /// stream, a dump its writer marked incomplete, damaged notes, VMCOREINFO lines it could not
    /// use, header ranges outside the file.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The end of the physical address space the dump describes: the end of the last `PT_LOAD`
    /// (ELF), `max_mapnr` pages (kdump). Nothing at or above it can be read.
    pub fn phys_end(&self) -> u64 {
        match &self.backend {
            Backend::Elf(e) => e
                .segments()
                .iter()
                .map(|s| s.paddr + s.memsz)
                .max()
                .unwrap_or(0),
            Backend::Kdump(_) | Backend::Split(_) => {
                let k = self.backend.kdump().expect("a kdump backend");
                k.max_mapnr().saturating_mul(k.page_size())
            }
        }
    }

    /// Format, compression, page counts and release.
    pub fn info(&self) -> &DumpInfo {
        &self.info
    }

    /// Parsed VMCOREINFO, if the dump has it.
    pub fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.vmcoreinfo.as_ref()
    }

    /// What the dump's notes hold (QEMU CPU state, PRSTATUS count, warnings).
    pub fn notes(&self) -> &NoteSummary {
        &self.notes
    }

    /// The x86-64 kernel layout used for virtual reads, if that is what translates them (from
    /// VMCOREINFO or [`Dump::set_layout`]).
    pub fn layout(&self) -> Option<&KernelLayout> {
        self.arch()
            .and_then(|a| a.as_any().downcast_ref::<KernelLayout>())
    }

    /// What translates kernel virtual addresses, if known.
    pub fn arch(&self) -> Option<&dyn Arch> {
        self.translator.as_ref().map(|t| t.arch())
    }

    /// Set the kernel layout (for dumps without VMCOREINFO; see [`KernelLayout::from_cr3`]).
    pub fn set_layout(&mut self, layout: KernelLayout) {
        self.set_arch(Box::new(layout));
    }

    /// Set what translates kernel virtual addresses: any architecture's layout.
    pub fn set_arch(&mut self, arch: Box<dyn Arch>) {
        self.translator = Some(Translator::new(arch));
    }

    /// Every page-table page of the kernel's address space (below the top table), by a walk of
    /// its tables: `None` where no layout translates this dump.
    pub fn kernel_table_pages(&self, limit: usize) -> Option<crate::arch::TablePages> {
        self.arch()?.table_pages(self.phys(), limit)
    }

    /// The physical memory of the dump.
    pub fn phys(&self) -> &dyn PhysMem {
        self.backend.mem()
    }

    /// Read physical memory.
    pub fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        self.backend.mem().read_phys(paddr, buf)
    }

    /// Whether the page holding `paddr` is present, excluded or absent.
    pub fn page_state(&self, paddr: u64) -> PageState {
        self.backend.mem().page_state(paddr)
    }

    /// Translate a kernel virtual address.
    pub fn translate(&self, vaddr: u64) -> Result<u64> {
        let t = self.translator.as_ref().ok_or_else(|| {
            Error::Missing(
                "no kernel layout: the dump has no VMCOREINFO and none was recovered".into(),
            )
        })?;
        t.translate(self.backend.mem(), vaddr)
    }

    /// Read kernel virtual memory; reads may cross pages (each page is translated on its own).
    pub fn read_virt(&self, vaddr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let addr = vaddr.wrapping_add(done as u64);
            let n = ((0x1000 - (addr & 0xfff)) as usize).min(buf.len() - done);
            let paddr = self.translate(addr)?;
            self.backend
                .mem()
                .read_phys(paddr, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(())
    }

    /// Read a little-endian `u64` at a kernel virtual address.
    pub fn read_virt_u64(&self, vaddr: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read_virt(vaddr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// The kernel layout of a `machine`'s memory from its VMCOREINFO: the translator, or why there
/// is none. A machine named `x86_64` only by default (a kdump header naming none: QEMU writes
/// "Unknown") becomes `aarch64` when its VMCOREINFO is arm64's.
pub(crate) fn layout_for(
    machine: &mut String,
    vmcoreinfo: Option<&VmcoreInfo>,
) -> (Option<Translator>, Option<String>) {
    if machine == "x86_64" && vmcoreinfo.is_some_and(|v| v.number("kimage_voffset").is_some()) {
        *machine = "aarch64".into();
    }
    let layout: Option<Result<Box<dyn Arch>>> = match (machine.as_str(), vmcoreinfo) {
        ("x86_64", Some(v)) => Some(KernelLayout::from_vmcoreinfo(v).map(|l| Box::new(l) as _)),
        ("aarch64", Some(v)) => Some(Aarch64Layout::from_vmcoreinfo(v).map(|l| Box::new(l) as _)),
        ("x86_64" | "aarch64", None) => None,
        (m, _) => Some(Err(Error::Missing(format!(
            "a dump of a {m} machine: its physical memory reads (read --phys), but kernel \
             addresses need the x86-64 or arm64 page tables this reader knows"
        )))),
    };
    match layout {
        Some(Ok(l)) => (Some(Translator::new(l)), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    }
}
