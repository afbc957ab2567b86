//! Kernel types and symbols from a vmlinux (BTF or DWARF), or from the dump itself.
//!
//! [`Types`] answers the questions a crash-dump walk asks — "where is `head_frag` in
//! `struct sk_buff`", "what is `PG_head`", "where is `init_task`" — by name, from the kernel's
//! own type information. Two sources answer alike, so the walk never knows which one did:
//!
//! - **BTF** ([`Types::open`] on a vmlinux with a `.BTF` section, or [`Types::from_btf`] on the
//!   blob the running kernel keeps in its image and so in the dump): a few MB, parsed in place
//!   in milliseconds.
//! - **DWARF** (a `-dbg` vmlinux without BTF, or [`Prefer::Dwarf`]): opening reads only the ELF
//!   headers; the first question the layout cache cannot answer builds a name index in one pass
//!   over the top-level entries of every unit, and each answer is then resolved from the few
//!   entries involved.
//!
//! Symbols come from the vmlinux's `.symtab`, a `System.map`, or the kernel's kallsyms decoded
//! from the dump ([`SymbolTable::from_kallsyms`]).
//!
//! Answers (found or not found) are remembered in a cache file keyed by the kernel's build-id
//! and the source (see [`Types::open`]), so a later run asking the same questions reads neither.
//!
//! The crate knows nothing about dump formats: addresses are link-time addresses; applying
//! KASLR is the caller's business, and kallsyms are read through the [`Memory`] trait.
#![deny(missing_docs)]

mod btf;
mod cache;
mod dwarf;
mod elf;
mod error;
mod index;
mod kallsyms;
mod kallsyms_scan;
mod reader;
mod resolve;
mod source;
mod symbols;
mod types;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

pub use error::{Error, Result};
pub use kallsyms::{KallsymsTables, Memory};
pub use source::{Debuginfo, Prefer, SymbolsFrom, TypesFrom};
pub use types::{Bitfield, Member, TypeInfo, TypeKind};

use cache::{key, Answer, Cache};
use resolve::Fail;

/// The default layout cache directory: `$XDG_CACHE_HOME/skbwalk`, else `~/.cache/skbwalk`.
pub fn default_cache_dir() -> Option<PathBuf> {
    cache::default_dir()
}

/// Where types come from: DWARF, BTF, or BTF falling back to DWARF.
pub(crate) trait Backend: Send + Sync {
    /// Whether the expensive part (index) has been built.
    fn is_loaded(&self) -> bool;
    /// Whether a damaged first source made a second one answer.
    fn fell_back(&self) -> bool {
        false
    }
    fn size_of(&self, type_name: &str) -> std::result::Result<u64, Fail>;
    fn member(&self, type_name: &str, path: &str) -> std::result::Result<Member, Fail>;
    fn enumerator(&self, name: &str) -> std::result::Result<i64, Fail>;
    fn enum_value(&self, enum_name: &str, constant: &str) -> std::result::Result<i64, Fail>;
    fn enumerators(&self, enum_name: &str) -> std::result::Result<Vec<(String, i64)>, Fail>;
    fn variable_type(&self, name: &str) -> std::result::Result<TypeInfo, Fail>;
    /// The kernel's BTF, for module BTFs to be split on (none when types come from DWARF).
    fn btf_core(&self) -> Option<Arc<btf::Core>> {
        None
    }
}

/// A symbol table: a vmlinux's `.symtab`, a `System.map`, or the kernel's kallsyms. Addresses
/// are link-time addresses (kallsyms are converted with the KASLR offset given).
///
/// ```no_run
/// let syms = kstructs::SymbolTable::from_system_map("System.map".as_ref())?;
/// println!("{} symbols; init_task at {:#x?}", syms.len(), syms.lookup("init_task"));
/// # Ok::<(), kstructs::Error>(())
/// ```
#[derive(Debug)]
pub struct SymbolTable {
    syms: symbols::Symbols,
    from: SymbolsFrom,
    path: Option<PathBuf>,
}

impl SymbolTable {
    /// Decode the kernel's kallsyms through `mem` (kernel virtual memory, e.g. a dump), with the
    /// tables at the runtime addresses `tables` gives, for an image loaded `kaslr_offset` above
    /// its link address.
    pub fn from_kallsyms(
        mem: &dyn Memory,
        tables: &KallsymsTables,
        kaslr_offset: u64,
    ) -> Result<Self> {
        Ok(SymbolTable {
            syms: kallsyms::decode(mem, tables, kaslr_offset)?,
            from: SymbolsFrom::Kallsyms,
            path: None,
        })
    }

    /// Decode the kallsyms of a kernel whose VMCOREINFO does not name the tables (before 6.0):
    /// they are found in the kernel image that starts at `image` (runtime `_stext`) by their
    /// structure, and the candidate that decodes `_stext` to `stext` is taken.
    pub fn from_kallsyms_in_image(
        mem: &dyn Memory,
        image: u64,
        stext: u64,
        kaslr_offset: u64,
    ) -> Result<Self> {
        let mut last = None;
        for t in kallsyms_scan::find_tables(mem, image, Some(stext))? {
            match kallsyms::decode(mem, &t, kaslr_offset) {
                Ok(syms) => {
                    return Ok(SymbolTable {
                        syms,
                        from: SymbolsFrom::Kallsyms,
                        path: None,
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Kallsyms {
            reason: "no candidate kallsyms tables in the image".into(),
        }))
    }

    /// A table from `(name, link-time address, nm-style type letter)` triples, e.g. read from
    /// `/proc/kallsyms` by the caller; `source` names it in "not found" errors. Reported as
    /// [`SymbolsFrom::SystemMap`] (the same text form).
    ///
    /// ```
    /// let t = kstructs::SymbolTable::from_triples([("init_task", 0xffffffff82a0c940, 'D')], "test");
    /// assert_eq!(t.lookup("init_task"), Some(0xffffffff82a0c940));
    /// ```
    pub fn from_triples<'a>(
        syms: impl IntoIterator<Item = (&'a str, u64, char)>,
        source: &str,
    ) -> Self {
        let mut t = symbols::Symbols::named(source);
        for (name, addr, kind) in syms {
            t.push_typed(addr, 0, name, u8::try_from(kind).unwrap_or(b'?'));
        }
        SymbolTable {
            syms: t.finish(),
            from: SymbolsFrom::SystemMap,
            path: None,
        }
    }

    /// Parse a `System.map`.
    pub fn from_system_map(path: &Path) -> Result<Self> {
        Ok(SymbolTable {
            syms: symbols::Symbols::from_system_map(path)?,
            from: SymbolsFrom::SystemMap,
            path: Some(path.to_owned()),
        })
    }

    /// Read an ELF file's `.symtab`.
    pub fn from_elf(path: &Path) -> Result<Self> {
        let (file, _) = regfile::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        // SAFETY: a read-only input, as for the vmlinux (see `elf::ElfFile::open`).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(SymbolTable {
            syms: symbols::Symbols::from_elf(&map, path)?,
            from: SymbolsFrom::Symtab,
            path: Some(path.to_owned()),
        })
    }

    /// How many symbols.
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The link-time address of `name` (a global one first, when names repeat).
    pub fn lookup(&self, name: &str) -> Option<u64> {
        self.syms.lookup(name)
    }

    /// Every symbol in address order: name, link-time address and `nm`-style type letter
    /// (`?` where the source has none).
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64, char)> + '_ {
        self.syms.iter().map(|(n, a, k)| (n, a, char::from(k)))
    }

    /// Where the symbols came from.
    pub fn from(&self) -> SymbolsFrom {
        self.from
    }
}

/// Kernel types, constants and symbols of one kernel.
///
/// All methods take `&self`; `Types` is `Send + Sync`.
///
/// # The layout cache
/// Every answer of [`size_of`](Self::size_of), [`member`](Self::member) (and
/// [`first_member`](Self::first_member), [`has_member`](Self::has_member)),
/// [`enumerator`](Self::enumerator) and [`enum_value`](Self::enum_value), including "not found",
/// is remembered. The cache is written only by [`save_cache`](Self::save_cache), when it has new
/// answers and the debug information gave no error. It is only used for a vmlinux with a
/// build-id, and is keyed by the build-id, the source (BTF or DWARF) and a sampled hash of the
/// debug sections.
pub struct Types {
    elf: Option<Arc<elf::ElfFile>>,
    backend: Box<dyn Backend>,
    types_from: TypesFrom,
    /// Names the type source in messages: "the BTF of /x/vmlinux", "the dump's BTF".
    origin: String,
    cache: Mutex<Cache>,
    symbols: OnceLock<symbols::Symbols>,
    symbols_from: SymbolsFrom,
    system_map: Option<PathBuf>,
    /// Loaded modules' types ([`add_module_btf`](Self::add_module_btf),
    /// [`add_module_debuginfo`](Self::add_module_debuginfo)): asked, in the order added, for a
    /// type the kernel's types do not have. Their answers are cached under each module's name
    /// and content (`Module::id`), not as the kernel's: which modules a dump has loaded is not a
    /// property of the kernel build the cache is keyed by.
    modules: RwLock<Vec<Module>>,
    /// Where types come from DWARF: the vmlinux's `.BTF`, the base module BTFs are split on.
    dwarf_split_base: OnceLock<Option<Arc<btf::Core>>>,
}

/// One loaded module's types: its BTF (split on the kernel's) or the DWARF of its `.ko`.
struct Module {
    name: String,
    /// `name#content-hash`: the key its answers are remembered under in the layout cache.
    id: String,
    /// The `.ko` the DWARF is read from (named in its errors); none for BTF.
    path: Option<PathBuf>,
    types: Box<dyn Backend>,
}

impl std::fmt::Debug for Types {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Types")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// `a` with every nested array flattened (see [`Types::compare_answers`]).
fn flat_answer(a: Answer) -> Answer {
    fn flat(t: TypeInfo) -> TypeInfo {
        let kind = match t.kind {
            TypeKind::Array { elem, count } => {
                let inner = flat(*elem);
                match inner.kind {
                    TypeKind::Array {
                        elem: e,
                        count: Some(c2),
                    } => TypeKind::Array {
                        elem: e,
                        count: count.map(|c| c.saturating_mul(c2)),
                    },
                    k => TypeKind::Array {
                        elem: Box::new(TypeInfo { kind: k, ..inner }),
                        count,
                    },
                }
            }
            TypeKind::Pointer { target } => TypeKind::Pointer {
                target: target.map(|t| Box::new(flat(*t))),
            },
            k => k,
        };
        TypeInfo { kind, ..t }
    }
    match a {
        Answer::Member(m) => Answer::Member(Member {
            ty: flat(m.ty),
            ..m
        }),
        a => a,
    }
}

/// Whether a layout-cache key is a module's answer (`…\x1f@name#hash`), not the kernel's.
fn is_module_key(k: &str) -> bool {
    k.contains("\x1f@")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

impl Types {
    /// Open a vmlinux, using the layout cache in `$XDG_CACHE_HOME/skbwalk` (or
    /// `~/.cache/skbwalk`). Types come from its `.BTF` section when it has one, else from its
    /// DWARF ([`Prefer::Auto`]).
    ///
    /// Only the ELF headers are read here; a kernel with neither BTF nor DWARF is refused with
    /// [`Error::NoDebugInfo`].
    ///
    /// ```no_run
    /// use kstructs::Types;
    /// let types = Types::open("/usr/lib/debug/boot/vmlinux-6.1.0-28-cloud-amd64".as_ref())?;
    /// let head_frag = types.member("sk_buff", "head_frag")?;
    /// let bits = head_frag.bitfield.expect("a bitfield");
    /// println!("head_frag: byte {} bit {}", head_frag.offset, bits.bit_offset);
    /// let family = types.member("sock", "__sk_common.skc_family")?.offset;
    /// let frags = types.member("skb_shared_info", "frags")?;
    /// let pg_head = types.enumerator("PG_head")?;
    /// let init_task = types.symbol("init_task")?; // link-time address: add the KASLR offset
    /// # let _ = (family, frags, pg_head, init_task);
    /// # Ok::<(), kstructs::Error>(())
    /// ```
    pub fn open(vmlinux: &Path) -> Result<Types> {
        Self::open_as(vmlinux, cache::default_dir().as_deref(), Prefer::Auto)
    }

    /// Open a vmlinux ([`Prefer::Auto`]), with the layout cache in `cache_dir` (`None`: no
    /// cache).
    pub fn open_with_cache(vmlinux: &Path, cache_dir: Option<&Path>) -> Result<Types> {
        Self::open_as(vmlinux, cache_dir, Prefer::Auto)
    }

    /// Open a vmlinux with the layout cache in `cache_dir` (`None`: no cache), taking types
    /// from the source `prefer` names. With BTF chosen and DWARF present, a BTF that turns out
    /// to be damaged makes the DWARF answer ([`Types::debuginfo`] then says `dwarf`).
    pub fn open_as(vmlinux: &Path, cache_dir: Option<&Path>, prefer: Prefer) -> Result<Types> {
        let elf = Arc::new(elf::ElfFile::open(vmlinux)?);
        let use_btf = match (prefer, &elf.btf, elf.has_dwarf) {
            (Prefer::Dwarf, _, false) => {
                return Err(Error::NoDebugInfo {
                    path: vmlinux.to_owned(),
                })
            }
            (Prefer::Dwarf, _, true) => None,
            (Prefer::Btf, None, _) => {
                return Err(Error::NoBtf {
                    path: vmlinux.to_owned(),
                })
            }
            (_, Some(r), _) => Some(r.clone()),
            (Prefer::Auto, None, _) => None,
        };
        let dwarf = || dwarf::DwarfBackend::new(elf.clone());
        let (backend, types_from, origin, fingerprint): (Box<dyn Backend>, _, _, _) = match use_btf
        {
            Some(r) => {
                let origin = format!("the BTF of {}", elf.path.display());
                let btf = btf::BtfBackend::new(btf::Blob::Mapped(elf.clone(), r), origin.clone());
                let fallback = elf.has_dwarf.then(dwarf);
                (
                    Box::new(source::Fallback::new(btf, fallback)),
                    TypesFrom::Btf,
                    origin,
                    elf::fnv1a(elf.fingerprint, b"btf"),
                )
            }
            None => (
                Box::new(dwarf()),
                TypesFrom::Dwarf,
                format!("the DWARF of {}", elf.path.display()),
                elf.fingerprint,
            ),
        };
        let cache = match (cache_dir, &elf.build_id) {
            (Some(dir), Some(id)) if !id.is_empty() => Cache::open(dir, id, fingerprint),
            _ => Cache::default(),
        };
        Ok(Types {
            backend,
            types_from,
            origin,
            elf: Some(elf),
            cache: Mutex::new(cache),
            symbols: OnceLock::new(),
            symbols_from: SymbolsFrom::Symtab,
            system_map: None,
            modules: RwLock::default(),
            dwarf_split_base: OnceLock::new(),
        })
    }

    /// Types from a BTF blob read from elsewhere (the dump's copy of the kernel's `.BTF`, or
    /// `/sys/kernel/btf/vmlinux`), with `symbols`. `origin` names the blob in messages. The
    /// blob is parsed here: a damaged one is [`Error::MalformedBtf`]. No layout cache is used:
    /// BTF answers in microseconds.
    ///
    /// ```no_run
    /// let blob = std::fs::read("/sys/kernel/btf/vmlinux")?;
    /// let syms = kstructs::SymbolTable::from_system_map("/boot/System.map".as_ref())?;
    /// let types = kstructs::Types::from_btf(blob, syms, "/sys/kernel/btf/vmlinux")?;
    /// println!("sizeof(struct sk_buff) = {}", types.size_of("sk_buff")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_btf(blob: Vec<u8>, symbols: SymbolTable, origin: &str) -> Result<Types> {
        let btf = btf::BtfBackend::new(btf::Blob::Owned(blob), origin.to_owned());
        btf.check()?;
        let t = Types {
            backend: Box::new(btf),
            types_from: TypesFrom::Btf,
            origin: origin.to_owned(),
            elf: None,
            cache: Mutex::new(Cache::default()),
            symbols: OnceLock::new(),
            symbols_from: symbols.from,
            system_map: None,
            modules: RwLock::default(),
            dwarf_split_base: OnceLock::new(),
        };
        Ok(t.with_symbols(symbols))
    }

    /// Take symbols from `table` instead of the vmlinux's `.symtab`.
    pub fn with_symbols(mut self, table: SymbolTable) -> Types {
        self.symbols = OnceLock::new();
        self.symbols_from = table.from;
        self.system_map = match table.from {
            SymbolsFrom::SystemMap => table.path.clone(),
            _ => None,
        };
        let _ = self.symbols.set(table.syms);
        self
    }

    /// Take symbols from a `System.map` instead of the vmlinux's `.symtab`.
    pub fn with_system_map(self, system_map: &Path) -> Result<Types> {
        Ok(self.with_symbols(SymbolTable::from_system_map(system_map)?))
    }

    /// What answers type and symbol questions.
    pub fn debuginfo(&self) -> Debuginfo {
        Debuginfo {
            types: if self.backend.fell_back() {
                TypesFrom::Dwarf
            } else {
                self.types_from
            },
            symbols: self.symbols_from,
            file: self.elf.as_ref().map(|e| e.path.clone()),
            system_map: self.system_map.clone(),
        }
    }

    /// The vmlinux's `NT_GNU_BUILD_ID` (`None` without a vmlinux).
    pub fn build_id(&self) -> Option<&[u8]> {
        self.elf.as_ref()?.build_id.as_deref()
    }

    /// The vmlinux path (`None` when types and symbols come from the dump).
    pub fn path(&self) -> Option<&Path> {
        self.elf.as_ref().map(|e| e.path.as_path())
    }

    /// Names the type source in messages: "the BTF of /x/vmlinux", "the dump's BTF".
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the type source has been read: the DWARF name index built or the BTF parsed
    /// (false while every question so far was answered from the layout cache).
    pub fn is_index_built(&self) -> bool {
        self.backend.is_loaded()
    }

    fn fail(&self, f: Fail) -> Error {
        match f {
            Fail::Bad { at, reason } => Error::MalformedDwarf {
                path: self.path().map(Path::to_path_buf).unwrap_or_default(),
                at,
                reason,
            },
            Fail::Other(e) => *e,
            // Negative answers are turned into errors by the caller, which knows the question.
            Fail::NoType | Fail::NoMember | Fail::NotAggregate(_) | Fail::NoEnumerator => {
                Error::MalformedDwarf {
                    path: self.path().map(Path::to_path_buf).unwrap_or_default(),
                    at: None,
                    reason: format!("unexpected {f:?}"),
                }
            }
        }
    }

    /// Answer question `k` by `q`: from the layout cache, else from the kernel's types (the
    /// answer then cached); a type the kernel's types do not have is then asked of the modules'.
    /// The flag says the answer came from the cache.
    fn ask(
        &self,
        k: String,
        q: impl Fn(&dyn Backend) -> std::result::Result<Answer, Fail>,
    ) -> Result<(Answer, bool)> {
        let k_kind = k.chars().next().unwrap_or(' ');
        let (a, cached) = self
            .remembered(&k, || q(self.backend.as_ref()))
            .map_err(|f| {
                // Answers from a DWARF that gave an error are never written to the cache.
                self.lock_cache().poisoned = true;
                self.fail(f)
            })?;
        // Not in the kernel's types: a type, or an enumerator looked for by its bare name.
        let absent = |a: &Answer| {
            matches!(a, Answer::NoType) || (matches!(a, Answer::NoEnumerator) && k_kind == 'e')
        };
        if !absent(&a) {
            return Ok((a, cached));
        }
        // each module's answer is remembered under its content's identity (`@name#hash`): valid
        // for any dump that loaded the same module, whichever others it loaded
        let modules = self.modules.read().unwrap_or_else(|p| p.into_inner());
        for m in modules.iter() {
            let mk = format!("{k}\x1f@{}", m.id);
            let found = self
                .remembered(&mk, || q(m.types.as_ref()))
                .map_err(|f| match f {
                    Fail::Bad { at, reason } => Error::MalformedDwarf {
                        path: m.path.clone().unwrap_or_default(),
                        at,
                        reason,
                    },
                    f => self.fail(f),
                })?;
            if !absent(&found.0) {
                return Ok(found);
            }
        }
        Ok((a, cached))
    }

    /// The answer under layout-cache key `k`, or else `compute`'s, remembered there ("not
    /// found" answers too); the flag says it came from the cache. A failure is not remembered.
    fn remembered(
        &self,
        k: &str,
        compute: impl FnOnce() -> std::result::Result<Answer, Fail>,
    ) -> std::result::Result<(Answer, bool), Fail> {
        if let Some(a) = self.lock_cache().answers.get(k).cloned() {
            return Ok((a, true));
        }
        let a = Self::negative(compute())?;
        let mut c = self.lock_cache();
        c.answers.insert(k.to_owned(), a.clone());
        c.dirty = true;
        Ok((a, false))
    }

    /// A "not found" failure as the answer it is.
    fn negative(r: std::result::Result<Answer, Fail>) -> std::result::Result<Answer, Fail> {
        match r {
            Err(Fail::NoType) => Ok(Answer::NoType),
            Err(Fail::NoMember) => Ok(Answer::NoMember),
            Err(Fail::NotAggregate(c)) => Ok(Answer::NotAggregate(c)),
            Err(Fail::NoEnumerator) => Ok(Answer::NoEnumerator),
            r => r,
        }
    }

    /// Add the BTF of a module loaded in the kernel (`module`: its name, for messages), split on
    /// the kernel's BTF: a type the kernel's types do not have is then looked for in each module
    /// added, in order (`vring_virtqueue`, where the virtio core is a module). Its header is
    /// checked here (a bad one is [`Error::MalformedBtf`] and the blob is not added); the rest is
    /// parsed on the first question the layout cache cannot answer (answers are remembered by
    /// the module's name and content, so a warm run parses neither it nor the kernel's BTF), and
    /// damage found then is that question's [`Error::MalformedBtf`]. It is read on the
    /// kernel's BTF: the types' own, or where types come from DWARF the vmlinux's `.BTF`
    /// ([`Error::NoBtfBase`] when it has none).
    ///
    /// ```no_run
    /// let types = kstructs::Types::open("vmlinux".as_ref())?;
    /// types.add_module_btf("virtio_ring", std::fs::read("/sys/kernel/btf/virtio_ring")?)?;
    /// println!("{}", types.size_of("vring_virtqueue")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_module_btf(&self, module: &str, blob: Vec<u8>) -> Result<()> {
        let base = self.backend.btf_core().or_else(|| {
            // types from DWARF: the vmlinux's own BTF, when it has one, is the base (one for
            // every module, parsed once)
            self.dwarf_split_base
                .get_or_init(|| {
                    let elf = self.elf.as_ref()?;
                    let blob = btf::Blob::Mapped(elf.clone(), elf.btf.clone()?);
                    btf::BtfBackend::new(blob, format!("the BTF of {}", elf.path.display())).core()
                })
                .clone()
        });
        let Some(base) = base else {
            return Err(Error::NoBtfBase {
                module: module.to_owned(),
                origin: self.origin.clone(),
            });
        };
        let origin = format!("module {module}'s BTF");
        btf::check_header(&blob).map_err(|reason| Error::MalformedBtf {
            blob: origin.clone(),
            type_id: None,
            reason,
        })?;
        let hash = cache::fnv1a(&blob);
        let m = btf::BtfBackend::split(blob, origin, base);
        self.add_module(module, hash, None, Box::new(m));
        Ok(())
    }

    /// Add the DWARF of a module loaded in the kernel: its `.ko` with debug information (a
    /// `-dbg` package's `/usr/lib/debug/lib/modules/<release>/kernel/…/<module>.ko`), for a
    /// kernel that keeps no module BTF (before 5.11). As [`add_module_btf`](Self::add_module_btf)
    /// otherwise; only the ELF headers are read here, the DWARF on the first question it answers
    /// (its relocations applied: a module's `.ko` is a relocatable file).
    ///
    /// ```no_run
    /// let types = kstructs::Types::open("vmlinux-5.10".as_ref())?;
    /// types.add_module_debuginfo(
    ///     "virtio_ring",
    ///     "/usr/lib/debug/lib/modules/5.10.0-32-cloud-amd64/kernel/drivers/virtio/virtio_ring.ko"
    ///         .as_ref(),
    /// )?;
    /// println!("{}", types.size_of("vring_virtqueue")?);
    /// # Ok::<(), kstructs::Error>(())
    /// ```
    pub fn add_module_debuginfo(&self, module: &str, path: &Path) -> Result<()> {
        let elf = Arc::new(elf::ElfFile::open(path)?);
        if !elf.has_dwarf {
            return Err(Error::NoDebugInfo {
                path: path.to_owned(),
            });
        }
        let hash = elf.fingerprint;
        let types = Box::new(dwarf::DwarfBackend::new(elf));
        self.add_module(module, hash, Some(path.to_owned()), types);
        Ok(())
    }

    fn add_module(&self, name: &str, hash: u64, path: Option<PathBuf>, types: Box<dyn Backend>) {
        self.modules
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Module {
                name: name.to_owned(),
                id: format!("{name}#{hash:016x}"),
                path,
                types,
            });
    }

    /// The modules whose types were added, in order.
    pub fn modules(&self) -> Vec<String> {
        let m = self.modules.read().unwrap_or_else(|p| p.into_inner());
        m.iter().map(|m| m.name.clone()).collect()
    }

    /// Where an answer came from, for "not found" errors: the BTF or DWARF, or the layout cache
    /// made from it (so a stale or damaged cache names itself).
    fn answered_by(&self, cached: bool) -> String {
        let cache = if cached {
            self.lock_cache().path.clone()
        } else {
            None
        };
        match cache {
            Some(c) => format!(
                "the layout cache {} (made from {})",
                c.display(),
                self.origin
            ),
            None => self.origin.clone(),
        }
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn type_not_found(name: &str, from: String) -> Error {
        Error::TypeNotFound {
            name: name.to_owned(),
            from,
        }
    }

    /// `sizeof` a type: `"sk_buff"` (struct/union first, then typedef, then base type, then
    /// enum), `"struct page"`, `"union x"`, `"enum y"`, `"skb_frag_t"` (typedef, followed).
    pub fn size_of(&self, type_name: &str) -> Result<u64> {
        match self.ask(key('s', &[type_name]), |b| {
            b.size_of(type_name).map(Answer::Size)
        })? {
            (Answer::Size(s), _) => Ok(s),
            (_, cached) => Err(Self::type_not_found(type_name, self.answered_by(cached))),
        }
    }

    /// A member by dotted path (`"head_frag"`, `"__sk_common.skc_family"`,
    /// `"sk_backlog.rmem_alloc"`). Anonymous structs and unions are transparent:
    /// `member("page", "compound_head")` works although it sits in an anonymous union of
    /// anonymous structs. The offset is from the start of `type_name`.
    pub fn member(&self, type_name: &str, path: &str) -> Result<Member> {
        let (a, cached) = self.ask(key('m', &[type_name, path]), |b| {
            b.member(type_name, path).map(Answer::Member)
        })?;
        if let Answer::Member(m) = a {
            return Ok(m);
        }
        let from = self.answered_by(cached);
        match a {
            Answer::Member(m) => Ok(m),
            Answer::NoType => Err(Self::type_not_found(type_name, from)),
            Answer::NotAggregate(component) => Err(Error::NotAggregate {
                type_name: type_name.to_owned(),
                path: path.to_owned(),
                component,
                from,
            }),
            _ => Err(Error::MemberNotFound {
                type_name: type_name.to_owned(),
                path: path.to_owned(),
                tried: vec![path.to_owned()],
                from,
            }),
        }
    }

    /// The first of `paths` that exists in `type_name`, with its index in `paths`: for members
    /// renamed or moved between kernel versions.
    pub fn first_member(&self, type_name: &str, paths: &[&str]) -> Result<(usize, Member)> {
        let mut from = self.answered_by(false);
        for (i, p) in paths.iter().enumerate() {
            match self.member(type_name, p) {
                Ok(m) => return Ok((i, m)),
                Err(
                    Error::MemberNotFound { from: f, .. } | Error::NotAggregate { from: f, .. },
                ) => from = f,
                Err(e) => return Err(e),
            }
        }
        Err(Error::MemberNotFound {
            type_name: type_name.to_owned(),
            path: paths.first().map(|p| p.to_string()).unwrap_or_default(),
            tried: paths.iter().map(|p| p.to_string()).collect(),
            from,
        })
    }

    /// Whether `type_name` exists and has a member at `path`.
    pub fn has_member(&self, type_name: &str, path: &str) -> bool {
        self.member(type_name, path).is_ok()
    }

    /// An enumerator by name, from any top-level enum, named or anonymous (`PG_head`,
    /// `TCP_ESTABLISHED`, `SS_CONNECTED`). With several enums defining the name, the first in
    /// `.debug_info` order wins.
    pub fn enumerator(&self, name: &str) -> Result<i64> {
        match self.ask(key('e', &[name]), |b| b.enumerator(name).map(Answer::Value))? {
            (Answer::Value(v), _) => Ok(v),
            (_, cached) => Err(Error::EnumeratorNotFound {
                name: name.to_owned(),
                in_enum: None,
                from: self.answered_by(cached),
            }),
        }
    }

    /// The value of `constant` in the enum named `enum_name` (`"pageflags"` or
    /// `"enum pageflags"`).
    pub fn enum_value(&self, enum_name: &str, constant: &str) -> Result<i64> {
        match self.ask(key('v', &[enum_name, constant]), |b| {
            b.enum_value(enum_name, constant).map(Answer::Value)
        })? {
            (Answer::Value(v), _) => Ok(v),
            (Answer::NoType, cached) => {
                Err(Self::type_not_found(enum_name, self.answered_by(cached)))
            }
            (_, cached) => Err(Error::EnumeratorNotFound {
                name: constant.to_owned(),
                in_enum: Some(enum_name.to_owned()),
                from: self.answered_by(cached),
            }),
        }
    }

    /// The type of the global variable `name`. DWARF knows every variable; BTF only per-cpu
    /// ones (a vmlinux with both answers from its DWARF for the others). Not cached: the walk
    /// takes its globals' types from its own table, which tests prove with this.
    pub fn variable_type(&self, name: &str) -> Result<TypeInfo> {
        match self.backend.variable_type(name) {
            Ok(t) => Ok(t),
            Err(Fail::NoType) => Err(Self::type_not_found(name, self.answered_by(false))),
            Err(f) => Err(self.fail(f)),
        }
    }

    /// Every constant of the enum named `enum_name` (`"zone_stat_item"` or
    /// `"enum zone_stat_item"`), in declaration order: for tables indexed by an enum whose
    /// members move between kernels (`vm_zone_stat[]`, `vm_node_stat[]`).
    pub fn enumerators(&self, enum_name: &str) -> Result<Vec<(String, i64)>> {
        match self.ask(key('l', &[enum_name]), |b| {
            b.enumerators(enum_name).map(Answer::Enumerators)
        })? {
            (Answer::Enumerators(v), _) => Ok(v),
            (_, cached) => Err(Self::type_not_found(enum_name, self.answered_by(cached))),
        }
    }

    fn symbols(&self) -> &symbols::Symbols {
        self.symbols.get_or_init(|| match &self.elf {
            Some(e) => symbols::Symbols::from_elf(&e.map, &e.path).unwrap_or_default(),
            None => symbols::Symbols::default(),
        })
    }

    /// Link-time address of a symbol (from `.symtab`, the dump's kallsyms, or the `System.map`
    /// given to [`with_symbols`](Self::with_symbols)). The caller applies KASLR.
    ///
    /// `.symtab` answers are remembered in the layout cache like type answers, so a warm run
    /// never builds the symbol table (about 100 000 symbols) for the few dozen the walk reads.
    pub fn symbol(&self, name: &str) -> Result<u64> {
        let not_found = |source_desc| Error::SymbolNotFound {
            name: name.to_owned(),
            source_desc,
        };
        if self.symbols_from != SymbolsFrom::Symtab {
            let s = self.symbols();
            return s.lookup(name).ok_or_else(|| not_found(s.source.clone()));
        }
        let (a, cached) = self.ask(key('y', &[name]), |_| {
            Ok(self
                .symbols()
                .lookup(name)
                .map_or(Answer::NoSymbol, Answer::Symbol))
        })?;
        match a {
            Answer::Symbol(addr) => Ok(addr),
            _ if cached => Err(not_found(self.answered_by(true))),
            _ => Err(not_found(self.symbols().source.clone())),
        }
    }

    /// The symbol containing `addr` (or else the nearest one below it) and the offset of `addr`
    /// in it: for naming function pointers such as `f_op`.
    pub fn symbol_at(&self, addr: u64) -> Option<(&str, u64)> {
        self.symbols().at(addr)
    }

    /// [`symbol_at`](Self::symbol_at), owned, and for `.symtab` symbols remembered in the layout
    /// cache: a warm run names the same addresses without building the symbol table.
    ///
    /// ```no_run
    /// let t = kstructs::Types::open("vmlinux".as_ref())?;
    /// if let Some((name, off)) = t.symbol_name_at(0xffff_ffff_8100_0000) {
    ///     println!("{name}+{off:#x}");
    /// }
    /// # Ok::<(), kstructs::Error>(())
    /// ```
    pub fn symbol_name_at(&self, addr: u64) -> Option<(String, u64)> {
        let owned = || self.symbols().at(addr).map(|(n, o)| (n.to_string(), o));
        if self.symbols_from != SymbolsFrom::Symtab {
            return owned();
        }
        let (a, _) = self
            .ask(key('a', &[&format!("{addr:x}")]), |_| {
                Ok(owned().map_or(Answer::NoSymbol, |(n, o)| Answer::At(n, o)))
            })
            .ok()?;
        match a {
            Answer::At(n, o) => Some((n, o)),
            _ => None,
        }
    }

    /// `len` bytes of an initialized, allocated section at link-time address `addr`, read from
    /// the vmlinux file (e.g. `linux_banner`, `init_uts_ns`). `None` when not entirely inside one
    /// such section (`.bss` has no bytes in the file).
    pub fn static_bytes(&self, addr: u64, len: usize) -> Option<&[u8]> {
        self.elf.as_ref()?.static_bytes(addr, len)
    }

    /// Ask `other` every question this `Types` has answered so far (sizes, members, enumerators,
    /// enums, including "not found") and list each one `other` answers differently, with both
    /// answers: the proof that two sources (BTF and DWARF of one kernel) describe it alike.
    /// Returns how many questions were compared and the disagreements.
    ///
    /// Multi-dimensional arrays compare as the one-dimensional array of all their elements:
    /// pahole writes `int x[3][5]` to BTF as `int x[15]`, and that is all BTF can say.
    ///
    /// ```no_run
    /// use kstructs::{Prefer, Types};
    /// let v = std::path::Path::new("vmlinux");
    /// let dwarf = Types::open_as(v, None, Prefer::Dwarf)?;
    /// dwarf.member("sk_buff", "head_frag")?;
    /// let (n, diffs) = dwarf.compare_answers(&Types::open_as(v, None, Prefer::Btf)?);
    /// assert!(diffs.is_empty(), "{n} questions: {diffs:?}");
    /// # Ok::<(), kstructs::Error>(())
    /// ```
    pub fn compare_answers(&self, other: &Types) -> (usize, Vec<String>) {
        let mine: Vec<(String, Answer)> = {
            let c = self.lock_cache();
            let mut v: Vec<_> = c
                .answers
                .iter()
                .filter(|(k, _)| !is_module_key(k))
                .map(|(k, a)| (k.clone(), a.clone()))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let mut diffs = Vec::new();
        for (k, a) in &mine {
            let mut parts = k.split('\x1f');
            let kind = parts.next().unwrap_or("");
            let parts: Vec<&str> = parts.collect();
            let theirs = other.answer(kind, &parts).map(flat_answer);
            if theirs.as_ref().ok() != Some(&flat_answer(a.clone())) {
                diffs.push(format!(
                    "{kind} {}: {} says {a:?}, {} says {theirs:?}",
                    parts.join(" "),
                    self.origin,
                    other.origin
                ));
            }
        }
        (mine.len(), diffs)
    }

    /// Every member this `Types` has found so far, as (type, path, member), sorted: what a walk
    /// read, for checking against another reader of the same kernel (pahole, in the tests).
    pub fn members_answered(&self) -> Vec<(String, String, Member)> {
        let c = self.lock_cache();
        let mut v: Vec<_> = c
            .answers
            .iter()
            .filter(|(k, _)| !is_module_key(k))
            .filter_map(|(k, a)| {
                let mut p = k.split('\x1f');
                match (p.next(), p.next(), p.next(), a) {
                    (Some("m"), Some(t), Some(path), Answer::Member(m)) => {
                        Some((t.to_string(), path.to_string(), m.clone()))
                    }
                    _ => None,
                }
            })
            .collect();
        v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        v
    }

    /// The answer to one cache-keyed question (see [`cache::key`]).
    fn answer(&self, kind: &str, p: &[&str]) -> Result<Answer> {
        let r = match (kind, p) {
            ("s", [t]) => self.ask(key('s', p), |b| b.size_of(t).map(Answer::Size)),
            ("m", [t, path]) => self.ask(key('m', p), |b| b.member(t, path).map(Answer::Member)),
            ("e", [n]) => self.ask(key('e', p), |b| b.enumerator(n).map(Answer::Value)),
            ("v", [e, c]) => self.ask(key('v', p), |b| b.enum_value(e, c).map(Answer::Value)),
            ("l", [e]) => self.ask(key('l', p), |b| b.enumerators(e).map(Answer::Enumerators)),
            ("y", [n]) => return Ok(self.symbol(n).map_or(Answer::NoSymbol, Answer::Symbol)),
            ("a", [a]) => {
                return Ok(u64::from_str_radix(a, 16)
                    .ok()
                    .and_then(|a| self.symbol_name_at(a))
                    .map_or(Answer::NoSymbol, |(n, o)| Answer::At(n, o)))
            }
            _ => return Ok(Answer::NoType),
        };
        r.map(|(a, _)| a)
    }

    /// Write the layout cache now if it has new answers and no read of the debug information
    /// failed.
    pub fn save_cache(&self) -> Result<()> {
        let mut c = self.lock_cache();
        let path = c.path.clone();
        c.save().map_err(|source| Error::CacheWrite {
            path: path.unwrap_or_default(),
            source,
        })
    }

    /// The cache file used for this vmlinux, if any.
    pub fn cache_path(&self) -> Option<std::path::PathBuf> {
        self.lock_cache().path.clone()
    }

    /// The build-id as lowercase hex, if any.
    pub fn build_id_hex(&self) -> Option<String> {
        self.build_id().map(hex)
    }
}
