//! The running kernel's memory through `/proc/kcore`: an ELF core whose `PT_LOAD`s are kernel
//! *virtual* ranges (the kernel text, the direct map, vmalloc and modules, vmemmap), the direct
//! map's with its physical address in `p_paddr` (4.11+; -1 elsewhere), and a VMCOREINFO note
//! (4.19+). Reads go through `pread`, in blocks kept in a bounded cache: a walk does not pay a
//! system call per structure. The kernel moves while it is read: what a cached block holds is
//! the moment it was read (a snapshot per block, not per walk).
//!
//! Before 6.5, `read_kcore()` copies RAM through one bounce buffer per *open file*
//! (`file->private_data`): two threads reading one descriptor at once can each get the other's
//! page (measured in the tier's 5.10 and 6.1 guests: `struct file`s and skbs read as garbage,
//! sometimes with no warning). So no descriptor is ever read by two threads at once: each read
//! takes a descriptor of its own from a pool (opened as needed, at most one per reading thread).
//!
//! ```no_run
//! let k = vmcore::kcore::Kcore::open("/proc/kcore".as_ref())?;
//! let mut word = [0u8; 8];
//! k.read_virt(0xffff_ffff_8100_0000, &mut word)?;
//! # Ok::<(), vmcore::Error>(())
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::arch::{Arch, Translator};
use crate::elf::{is_elf64le, Ehdr, Phdr, ET_CORE, MAX_NOTES, MAX_PHDRS, PT_LOAD, PT_NOTE};
use crate::notes::NoteSummary;
use crate::pod;
use crate::source::Source;
use crate::{Error, PageState, PhysMem, Result, VmcoreInfo};

/// Bytes read from `/proc/kcore` at once, and cached.
const BLOCK: u64 = 16 << 10;
/// Cache shards (threads reading different blocks rarely wait on each other).
const SHARDS: usize = 64;
/// Blocks each shard keeps before it starts over: 64 × 128 × 16 KiB = 128 MiB at most.
const SHARD_BLOCKS: usize = 128;

/// One `PT_LOAD` of `/proc/kcore`: a kernel virtual range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KcoreSegment {
    /// First virtual address.
    pub vaddr: u64,
    /// Bytes.
    pub size: u64,
    /// Where it starts in the file.
    pub offset: u64,
    /// Its physical address (the direct map and the kernel text), when the kernel gives one.
    pub paddr: Option<u64>,
}

/// A file opened by `pread`: the [`Source`] the ELF headers are parsed from.
struct PreadSource {
    file: File,
    len: u64,
}

impl Source for PreadSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn slice(&self, _: u64, _: usize) -> Option<&[u8]> {
        None
    }
    fn read_at(&self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| Error::Malformed {
                what,
                reason: format!("cannot read {} bytes at {offset:#x}: {e}", buf.len()),
            })
    }
}

/// The running kernel's memory (or a file in `/proc/kcore`'s format).
pub struct Kcore {
    /// Descriptors of the file not in use: a read takes one (or opens another) and gives it
    /// back, so no descriptor is read by two threads at once.
    spare: Mutex<Vec<File>>,
    path: PathBuf,
    /// Segments sorted by `vaddr`.
    segments: Vec<KcoreSegment>,
    /// The segments with a physical address, sorted by it.
    ram: Vec<KcoreSegment>,
    notes: NoteSummary,
    vmcoreinfo: Option<VmcoreInfo>,
    machine: String,
    translator: Option<Translator>,
    layout_error: Option<String>,
    cache: Vec<Mutex<HashMap<u64, Box<[u8]>>>>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Kcore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kcore")
            .field("path", &self.path)
            .field("segments", &self.segments.len())
            .field("machine", &self.machine)
            .finish()
    }
}

impl Kcore {
    /// Open `/proc/kcore` (or a file in its format): its program headers, notes and VMCOREINFO.
    pub fn open(path: &Path) -> Result<Kcore> {
        let file = File::open(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        // /proc/kcore's size is the span of its segments (tens of TiB), or 0
        let len = match file.metadata().map(|m| m.len()) {
            Ok(0) | Err(_) => u64::MAX,
            Ok(l) => l,
        };
        let src = PreadSource { file, len };
        let ehdr: Ehdr = pod::read(&src, 0, "ELF header")?;
        if !is_elf64le(&ehdr.e_ident) || ehdr.e_type.get() != ET_CORE {
            return Err(Error::UnknownFormat(format!(
                "{}: not an ELF64 little-endian core file (is it /proc/kcore?)",
                path.display()
            )));
        }
        let phentsize = u64::from(ehdr.e_phentsize.get());
        let phnum = u64::from(ehdr.e_phnum.get());
        if phentsize < 56 || phnum > MAX_PHDRS {
            return Err(Error::Malformed {
                what: "ELF header",
                reason: format!("{phnum} program headers of {phentsize} bytes"),
            });
        }
        let mut segments = Vec::new();
        let mut notes = NoteSummary::default();
        for i in 0..phnum {
            let ph: Phdr = pod::read(&src, ehdr.e_phoff.get() + i * phentsize, "program header")?;
            match ph.p_type.get() {
                PT_LOAD if ph.p_memsz.get() > 0 => segments.push(KcoreSegment {
                    vaddr: ph.p_vaddr.get(),
                    size: ph.p_memsz.get(),
                    offset: ph.p_offset.get(),
                    paddr: Some(ph.p_paddr.get()).filter(|&p| p != u64::MAX),
                }),
                PT_NOTE if ph.p_filesz.get() <= MAX_NOTES => {
                    let mut data = vec![0u8; ph.p_filesz.get() as usize];
                    src.read_at(ph.p_offset.get(), &mut data, "notes")?;
                    notes.add(&data);
                }
                _ => {}
            }
        }
        segments.sort_by_key(|s| s.vaddr);
        // Before 4.11 every p_paddr is 0: no segment's physical address is known then.
        let zeros = segments.iter().filter(|s| s.paddr == Some(0)).count();
        if zeros > 1 {
            segments.iter_mut().for_each(|s| s.paddr = None);
        }
        let mut ram: Vec<KcoreSegment> = segments
            .iter()
            .filter(|s| s.paddr.is_some())
            .copied()
            .collect();
        ram.sort_by_key(|s| s.paddr);
        let vmcoreinfo = notes.vmcoreinfo.as_deref().map(VmcoreInfo::parse);
        let mut machine = crate::detect::elf_machine(ehdr.e_machine.get());
        let (translator, layout_error) = crate::dump::layout_for(&mut machine, vmcoreinfo.as_ref());
        let mut warnings: Vec<String> = notes
            .warnings
            .iter()
            .map(|w| format!("notes: {w}"))
            .collect();
        if let Some(v) = &vmcoreinfo {
            warnings.extend(v.warnings.iter().map(|w| format!("VMCOREINFO: {w}")));
        }
        Ok(Kcore {
            // the descriptor the headers were read through is the pool's first
            spare: Mutex::new(vec![src.file]),
            path: path.to_path_buf(),
            segments,
            ram,
            notes,
            vmcoreinfo,
            machine,
            translator,
            layout_error,
            cache: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            warnings,
        })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `PT_LOAD` segments, by virtual address.
    pub fn segments(&self) -> &[KcoreSegment] {
        &self.segments
    }

    /// The notes (VMCOREINFO among them).
    pub fn notes(&self) -> &NoteSummary {
        &self.notes
    }

    /// The parsed VMCOREINFO note (4.19+).
    pub fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.vmcoreinfo.as_ref()
    }

    /// The machine (`x86_64`, `aarch64`).
    pub fn machine(&self) -> &str {
        &self.machine
    }

    /// What translates the kernel's virtual addresses outside the segments' physical ranges.
    pub fn arch(&self) -> Option<&dyn Arch> {
        self.translator.as_ref().map(Translator::arch)
    }

    /// Why VMCOREINFO gives no layout, when it does not.
    pub fn layout_error(&self) -> Option<&str> {
        self.layout_error.as_deref()
    }

    /// What the reader found wrong that did not stop it.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The kernel's page size (VMCOREINFO's `PAGESIZE`, else 4 KiB).
    pub fn page_size(&self) -> u64 {
        self.arch().map_or_else(
            || {
                self.vmcoreinfo
                    .as_ref()
                    .and_then(|v| v.page_size)
                    .unwrap_or(4096)
            },
            |a| a.facts().page_size,
        )
    }

    /// The end of the physical memory the direct map covers.
    pub fn phys_end(&self) -> u64 {
        self.ram
            .iter()
            .filter_map(|s| s.paddr.map(|p| p.saturating_add(s.size)))
            .max()
            .unwrap_or(0)
    }

    /// The segment holding `vaddr`.
    fn segment(&self, vaddr: u64) -> Option<&KcoreSegment> {
        let i = self.segments.partition_point(|s| s.vaddr <= vaddr);
        self.segments[..i]
            .last()
            .filter(|s| vaddr - s.vaddr < s.size)
    }

    /// Fill `buf` from file offset `offset`, through the block cache.
    fn read_file(&self, mut offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let block = offset / BLOCK * BLOCK;
            let at = (offset - block) as usize;
            let n = (BLOCK as usize - at).min(buf.len() - done);
            let shard = &self.cache[(block / BLOCK) as usize % SHARDS];
            {
                let mut c = shard.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(b) = c.get(&block) {
                    buf[done..done + n].copy_from_slice(&b[at..at + n]);
                } else {
                    let mut b = vec![0u8; BLOCK as usize].into_boxed_slice();
                    self.read_block(block, &mut b)?;
                    buf[done..done + n].copy_from_slice(&b[at..at + n]);
                    if c.len() >= SHARD_BLOCKS {
                        c.clear();
                    }
                    c.insert(block, b);
                }
            }
            done += n;
            offset += n as u64;
        }
        Ok(())
    }

    /// Fill `buf` from file offset `at`; past the end of the file it reads as zeroes (a block
    /// may reach past the last segment, and /proc/kcore ends where its last segment does).
    fn read_block(&self, at: u64, buf: &mut [u8]) -> Result<()> {
        let taken = self.spare.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let file = match taken {
            Some(f) => f,
            None => File::open(&self.path).map_err(|e| Error::Io {
                path: self.path.display().to_string(),
                source: e,
            })?,
        };
        let r = Self::pread_all(&file, at, buf);
        self.spare
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(file);
        r
    }

    /// Fill `buf` from `file` at `at`, zeroes past its end.
    fn pread_all(file: &File, at: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], at + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::Malformed {
                        what: "kernel memory",
                        reason: format!("cannot read {} bytes at {at:#x}: {e}", buf.len()),
                    })
                }
            }
        }
        buf[done..].fill(0);
        Ok(())
    }

    /// Read kernel virtual memory; reads may cross segments that are contiguous.
    pub fn read_virt(&self, mut vaddr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let s = self.segment(vaddr).ok_or_else(|| Error::Translation {
                vaddr,
                reason: "in no segment of /proc/kcore (not mapped in the kernel)".into(),
            })?;
            let n = ((s.vaddr + s.size - vaddr) as usize).min(buf.len() - done);
            self.read_file(s.offset + (vaddr - s.vaddr), &mut buf[done..done + n])?;
            done += n;
            vaddr += n as u64;
        }
        Ok(())
    }

    /// The physical address of a kernel virtual address: by the segment's physical address
    /// (the direct map, the text), else through the page tables.
    pub fn translate(&self, vaddr: u64) -> Result<u64> {
        if let Some(p) = self
            .segment(vaddr)
            .and_then(|s| s.paddr.map(|p| p + (vaddr - s.vaddr)))
        {
            return Ok(p);
        }
        let t = self.translator.as_ref().ok_or_else(|| {
            Error::Missing(
                self.layout_error
                    .clone()
                    .unwrap_or_else(|| "no VMCOREINFO in /proc/kcore (before 4.19)".into()),
            )
        })?;
        t.translate(self, vaddr)
    }
}

impl PhysMem for Kcore {
    fn read_phys(&self, mut paddr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let i = self
                .ram
                .partition_point(|s| s.paddr.is_some_and(|p| p <= paddr));
            let s = self.ram[..i]
                .last()
                .filter(|s| s.paddr.is_some_and(|p| paddr - p < s.size))
                .ok_or(Error::NotPresent { paddr })?;
            let off = paddr - s.paddr.unwrap_or(0);
            let n = ((s.size - off) as usize).min(buf.len() - done);
            self.read_file(s.offset + off, &mut buf[done..done + n])?;
            done += n;
            paddr += n as u64;
        }
        Ok(())
    }

    fn page_state(&self, paddr: u64) -> PageState {
        let i = self
            .ram
            .partition_point(|s| s.paddr.is_some_and(|p| p <= paddr));
        match self.ram[..i].last() {
            Some(s) if s.paddr.is_some_and(|p| paddr - p < s.size) => PageState::Present,
            _ => PageState::NotPresent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kcore-format file: one direct-map segment of `pages` 4 KiB pages at `vaddr`, each
    /// page filled with its number.
    fn kcore_file(path: &Path, vaddr: u64, pages: u64) {
        let mut f = Vec::new();
        f.extend(b"\x7fELF\x02\x01\x01");
        f.resize(16, 0);
        f.extend(4u16.to_le_bytes());
        f.extend(62u16.to_le_bytes());
        f.extend(1u32.to_le_bytes());
        f.extend(0u64.to_le_bytes());
        f.extend(64u64.to_le_bytes());
        f.extend(0u64.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(64u16.to_le_bytes());
        f.extend(56u16.to_le_bytes());
        f.extend(1u16.to_le_bytes());
        f.extend([0u8; 6]);
        let data = 4096u64;
        f.extend(PT_LOAD.to_le_bytes());
        f.extend(7u32.to_le_bytes());
        f.extend(data.to_le_bytes());
        f.extend(vaddr.to_le_bytes());
        f.extend(0x10_0000u64.to_le_bytes());
        f.extend((pages * 4096).to_le_bytes());
        f.extend((pages * 4096).to_le_bytes());
        f.extend(4096u64.to_le_bytes());
        f.resize(data as usize, 0);
        for p in 0..pages {
            f.extend(std::iter::repeat_n(p as u8, 4096));
        }
        std::fs::write(path, f).unwrap();
    }

    /// Threads reading at once each read through a descriptor of their own (before 6.5 a
    /// shared one mixes their pages up in the kernel): every read gives its own page, and the
    /// pool never holds more descriptors than there were readers.
    #[test]
    fn concurrent_reads_take_descriptors_of_their_own() {
        let dir = std::env::temp_dir().join(format!("vmcore-kcore-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kcore");
        let base = 0xffff_8880_0000_0000;
        kcore_file(&path, base, 200);
        let k = Kcore::open(&path).unwrap();
        assert_eq!(k.segments().len(), 1);
        assert_eq!(k.translate(base + 0x1234).unwrap(), 0x10_1234);
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let k = &k;
                s.spawn(move || {
                    for i in 0..200 {
                        let p = (i * 7 + t * 13) % 200;
                        let mut b = [0u8; 16];
                        k.read_virt(base + p * 4096 + 100, &mut b).unwrap();
                        assert_eq!(b, [p as u8; 16]);
                        let mut b = [0u8; 8];
                        k.read_phys(0x10_0000 + p * 4096, &mut b).unwrap();
                        assert_eq!(b, [p as u8; 8]);
                    }
                });
            }
        });
        let pool = k.spare.lock().unwrap().len();
        assert!((1..=8).contains(&pool), "{pool} descriptors");
        // outside the segment: a translation error, not zeroes
        assert!(k.read_virt(base + 200 * 4096, &mut [0u8; 8]).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
