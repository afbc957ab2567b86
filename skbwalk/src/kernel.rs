//! [`Kernel`]: a dump, the debuginfo that describes it, and typed reads of kernel memory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kstructs::Types;
use vmcore::x86_64::{KernelLayout, LINK_TEXT};
use vmcore::Dump;

use crate::offsets::Offsets;
use crate::{Error, Result};

/// Default direct-map base without KASLR (`__PAGE_OFFSET_BASE_L4`).
const DEFAULT_PAGE_OFFSET: u64 = 0xffff_8880_0000_0000;
/// Default vmemmap base without KASLR (`VMEMMAP_START` with 4-level paging).
const DEFAULT_VMEMMAP: u64 = 0xffff_ea00_0000_0000;

/// End of the addresses [`Kernel::is_kernel_ptr`] accepts: modules end at 0xffffffffff000000,
/// above are the fixmap and the vsyscall page.
const KERNEL_PTR_END: u64 = 0xffff_ffff_ff00_0000;

/// An open dump with the kernel types that describe it.
///
/// ```no_run
/// let k = skbwalk::Kernel::open("vmcore".as_ref(), Some("vmlinux".as_ref()))?;
/// let report = skbwalk::socket_report(&k, 146935, 11)?;
/// println!("{} skbs pin {} bytes", report.totals.skbs, report.totals.pinned_bytes);
/// # Ok::<(), skbwalk::Error>(())
/// ```
pub struct Kernel {
    /// The dump.
    pub dump: Dump,
    /// Kernel types and symbols.
    pub types: Types,
    /// Offsets the walk uses, resolved on first use: `info` and `read` never need them.
    off: OnceLock<Offsets>,
    /// KASLR displacement of the kernel image.
    pub kaslr_offset: u64,
    /// Start of the direct map (`page_offset_base`).
    pub page_offset_base: u64,
    /// Start of the `struct page` array (`vmemmap_base`).
    pub vmemmap_base: u64,
    /// The vmcore path, for messages.
    pub vmcore_path: String,
    /// Things worth knowing that did not stop the open (e.g. how the layout was found).
    pub notes: Vec<String>,
}

/// Where distributions install debuginfo for `release`.
pub fn debuginfo_candidates(release: &str) -> Vec<PathBuf> {
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

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl Kernel {
    /// Open `vmcore` and its debuginfo (`vmlinux`, or found by the dump's release when `None`).
    pub fn open(vmcore: &Path, vmlinux: Option<&Path>) -> Result<Kernel> {
        let vmcore_path = vmcore.display().to_string();
        let dump = Dump::open(vmcore).map_err(|source| Error::Dump {
            path: vmcore_path.clone(),
            source,
        })?;
        let release = dump.info().osrelease.clone().filter(|r| !r.is_empty());
        let vmlinux: PathBuf = match vmlinux {
            Some(p) => p.to_path_buf(),
            None => {
                let release = release.clone().ok_or_else(|| Error::NoDebuginfo {
                    release: "(unknown: the dump has no VMCOREINFO or utsname)".into(),
                    tried: "nothing; pass --vmlinux".into(),
                })?;
                let cands = debuginfo_candidates(&release);
                match cands.iter().find(|p| p.is_file()) {
                    Some(p) => p.clone(),
                    None => {
                        let tried = cands
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ");
                        return Err(Error::NoDebuginfo { release, tried });
                    }
                }
            }
        };
        let types = Types::open(&vmlinux)?;
        Self::from_parts(dump, types, &vmcore_path)
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
    /// println!("KASLR offset {:#x}", k.kaslr_offset);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_parts(mut dump: Dump, types: Types, vmcore_name: &str) -> Result<Kernel> {
        let vmcore_path = vmcore_name.to_string();
        let vmlinux = types.path().to_path_buf();
        let release = dump.info().osrelease.clone().filter(|r| !r.is_empty());
        let mismatch = |reason: String| Error::Mismatch {
            vmlinux: vmlinux.display().to_string(),
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
        if dump.layout().is_none() {
            let cr3 = dump
                .notes()
                .qemu_cr3
                .first()
                .copied()
                .ok_or_else(|| Error::NoLayout {
                    vmcore: vmcore_path.clone(),
                    reason: match (dump.layout_error(), dump.vmcoreinfo().is_some()) {
                        (Some(e), _) => format!("its VMCOREINFO is unusable ({e}) and the notes hold no CPU state (CR3)"),
                        (None, true) => "its VMCOREINFO gives no layout and the notes hold no CPU state (CR3)".into(),
                        (None, false) => match dump.warnings() {
                            [] => "no VMCOREINFO and no CPU state (CR3) in the notes".into(),
                            [w, ..] => format!(
                                "no VMCOREINFO and no CPU state (CR3) in the notes; the dump reader \
                                 warned: {w}"
                            ),
                        },
                    },
                })?;
            let text = types.symbol("_text").unwrap_or(LINK_TEXT);
            let top = types.symbol("init_top_pgt").ok();
            let layout =
                KernelLayout::from_cr3(dump.phys(), cr3, None, text, top).map_err(|e| {
                    Error::NoLayout {
                        vmcore: vmcore_path.clone(),
                        reason: e.to_string(),
                    }
                })?;
            notes.push(format!(
                "no VMCOREINFO: kernel located from CR3 {cr3:#x}: KASLR offset {:#x}, phys_base {:#x}",
                layout.kaslr_offset, layout.phys_base
            ));
            dump.set_layout(layout);
        }
        let layout = *dump.layout().ok_or_else(|| Error::NoLayout {
            vmcore: vmcore_path.clone(),
            reason: "no kernel layout after VMCOREINFO and CR3 recovery".into(),
        })?;
        let mut k = Kernel {
            dump,
            types,
            off: OnceLock::new(),
            kaslr_offset: layout.kaslr_offset,
            page_offset_base: DEFAULT_PAGE_OFFSET,
            vmemmap_base: DEFAULT_VMEMMAP,
            vmcore_path: vmcore_path.clone(),
            notes,
        };
        k.check_banner().map_err(mismatch)?;
        let unreadable = |e: Error| Error::NoLayout {
            vmcore: vmcore_path.clone(),
            reason: e.to_string(),
        };
        if let Ok(a) = k.symbol("page_offset_base") {
            k.page_offset_base = k.u64(a, "page_offset_base").map_err(unreadable)?;
        }
        if let Ok(a) = k.symbol("vmemmap_base") {
            k.vmemmap_base = k.u64(a, "vmemmap_base").map_err(unreadable)?;
        }
        let _ = k.types.save_cache();
        Ok(k)
    }

    /// Every member offset the walk uses, resolved from the debuginfo on the first call.
    ///
    /// A type or member this kernel lacks (and no other generation's spelling of it) is
    /// [`Error::Layout`], naming it and the kernel's release.
    pub fn off(&self) -> Result<&Offsets> {
        if let Some(o) = self.off.get() {
            return Ok(o);
        }
        let o = Offsets::resolve(&self.types).map_err(|e| self.layout_error(e))?;
        let _ = self.types.save_cache();
        Ok(self.off.get_or_init(|| o))
    }

    /// [`Error::Layout`] for a type or member this kernel's debuginfo lacks, naming the release.
    pub fn layout_error(&self, e: kstructs::Error) -> Error {
        Error::Layout {
            release: self
                .release()
                .unwrap_or_else(|| "of unknown release".into()),
            source: Box::new(e),
        }
    }

    /// The kernel's release: the dump's (VMCOREINFO or kdump utsname), else the vmlinux's
    /// (the debuginfo was checked against the dump's `linux_banner`).
    pub fn release(&self) -> Option<String> {
        self.dump
            .info()
            .osrelease
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| Self::vmlinux_release(&self.types))
    }

    /// Write the debuginfo's layout cache if it learnt something (and no DWARF read failed), so the
    /// next run on this kernel answers without reading DWARF. The CLI calls it after each command.
    pub fn save_cache(&self) -> Result<()> {
        Ok(self.types.save_cache()?)
    }

    /// The release in the vmlinux (`init_uts_ns.name.release`).
    fn vmlinux_release(types: &Types) -> Option<String> {
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
        match self.dump.read_virt(sym + self.kaslr_offset, &mut got) {
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
        let base = self.symbol("init_uts_ns").ok()?;
        let off = self
            .types
            .member("uts_namespace", "name.release")
            .ok()?
            .offset;
        self.cstr(base + off, 65, "init_uts_ns.name.release")
            .ok()
            .filter(|s| !s.is_empty())
    }

    /// Runtime address of a kernel symbol (KASLR applied).
    pub fn symbol(&self, name: &str) -> Result<u64> {
        Ok(self.types.symbol(name)? + self.kaslr_offset)
    }

    /// The symbol containing a runtime address, as `name+0xoff`.
    pub fn symbolize(&self, addr: u64) -> Option<String> {
        let (name, off) = self.types.symbol_at(addr.wrapping_sub(self.kaslr_offset))?;
        Some(if off == 0 {
            name.to_string()
        } else {
            format!("{name}+{off:#x}")
        })
    }

    /// Read bytes at a kernel virtual address.
    pub fn read(&self, addr: u64, buf: &mut [u8], what: &str) -> Result<()> {
        self.dump
            .read_virt(addr, buf)
            .map_err(|source| Error::Read {
                what: what.to_string(),
                addr,
                source,
            })
    }

    /// Read `len` bytes.
    pub fn bytes(&self, addr: u64, len: usize, what: &str) -> Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        self.read(addr, &mut v, what)?;
        Ok(v)
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

    /// A NUL-terminated string of at most `max` bytes.
    pub fn cstr(&self, addr: u64, max: usize, what: &str) -> Result<String> {
        Ok(c_string(&self.bytes(addr, max, what)?))
    }

    /// `virt_to_page`: the `struct page` of a kernel virtual address (any mapped address).
    pub fn virt_to_page(&self, vaddr: u64) -> Result<u64> {
        let paddr = self.dump.translate(vaddr).map_err(|source| Error::Read {
            what: "page of address".into(),
            addr: vaddr,
            source,
        })?;
        (paddr >> 12)
            .checked_mul(self.off()?.page_size_of)
            .and_then(|o| self.vmemmap_base.checked_add(o))
            .ok_or_else(|| Error::Read {
                what: format!("struct page of physical {paddr:#x}: vmemmap_base {:#x} is not a kernel address", self.vmemmap_base),
                addr: vaddr,
                source: vmcore::Error::Missing("garbage vmemmap_base".into()),
            })
    }

    /// `v`, read from the dump as a pointer to `what`, when it is a kernel pointer
    /// ([`Kernel::is_kernel_ptr`]); else an error that says so, before any member of it is read.
    pub fn ptr(v: u64, what: &str) -> Result<u64> {
        if Self::is_kernel_ptr(v, 8) {
            Ok(v)
        } else {
            Err(Error::Read {
                what: format!("{what}: {v:#x} is not a kernel pointer"),
                addr: v,
                source: vmcore::Error::Missing("garbage pointer".into()),
            })
        }
    }

    /// Whether `addr` looks like a kernel pointer: canonical upper half, below the fixmap and
    /// vsyscall pages at the top (no object lives in the last 16 MiB, so `addr + offset` for
    /// any member offset cannot overflow), aligned to `align`.
    pub fn is_kernel_ptr(addr: u64, align: u64) -> bool {
        (0xffff_8000_0000_0000..KERNEL_PTR_END).contains(&addr) && addr.is_multiple_of(align)
    }
}
