//! Kernel types and symbols from a vmlinux with DWARF.
//!
//! [`Types`] answers the questions a crash-dump walk asks — "where is `head_frag` in
//! `struct sk_buff`", "what is `PG_head`", "where is `init_task`" — by name, from the kernel's
//! own debug information. It never builds a model of all the DWARF: opening a file reads only
//! its ELF headers; the first question that the layout cache cannot answer builds a name index
//! in one pass over the top-level entries of every unit, and each answer is then resolved from
//! the few entries involved.
//!
//! Answers (found or not found) are remembered in a cache file keyed by the kernel's build-id
//! (see [`Types::open`]), so a later run asking the same questions does not read the DWARF at
//! all.
//!
//! The crate knows nothing about dump formats: addresses are link-time addresses; applying
//! KASLR is the caller's business.
#![deny(missing_docs)]

mod cache;
mod dwarf;
mod elf;
mod error;
mod index;
mod resolve;
mod symbols;
mod types;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

pub use error::{Error, Result};
pub use types::{Bitfield, Member, TypeInfo, TypeKind};

use cache::{key, Answer, Cache};
use resolve::Fail;

/// Where types come from (DWARF now; BTF could be another implementation).
pub(crate) trait Backend: Send + Sync {
    /// Whether the expensive part (index) has been built.
    fn is_loaded(&self) -> bool;
    fn size_of(&self, type_name: &str) -> std::result::Result<u64, Fail>;
    fn member(&self, type_name: &str, path: &str) -> std::result::Result<Member, Fail>;
    fn enumerator(&self, name: &str) -> std::result::Result<i64, Fail>;
    fn enum_value(&self, enum_name: &str, constant: &str) -> std::result::Result<i64, Fail>;
    fn enumerators(&self, enum_name: &str) -> std::result::Result<Vec<(String, i64)>, Fail>;
}

/// Kernel types, constants and symbols of one vmlinux.
///
/// All methods take `&self`; `Types` is `Send + Sync`.
///
/// # The layout cache
/// Every answer of [`size_of`](Self::size_of), [`member`](Self::member) (and
/// [`first_member`](Self::first_member), [`has_member`](Self::has_member)),
/// [`enumerator`](Self::enumerator) and [`enum_value`](Self::enum_value), including "not found",
/// is remembered. The cache is written only by [`save_cache`](Self::save_cache), when it has new
/// answers and the DWARF gave no error. It is only used when the vmlinux has a build-id, and is
/// keyed by the build-id and a sampled hash of the debug sections.
pub struct Types {
    elf: Arc<elf::ElfFile>,
    backend: Box<dyn Backend>,
    cache: Mutex<Cache>,
    symbols: OnceLock<symbols::Symbols>,
}

impl std::fmt::Debug for Types {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Types")
            .field("path", &self.elf.path)
            .finish_non_exhaustive()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

impl Types {
    /// Open a vmlinux with DWARF, using the layout cache in `$XDG_CACHE_HOME/skbwalk` (or
    /// `~/.cache/skbwalk`).
    ///
    /// Only the ELF headers are read here; a stripped kernel is refused with
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
        Self::open_with_cache(vmlinux, cache::default_dir().as_deref())
    }

    /// Open a vmlinux with DWARF, with the layout cache in `cache_dir` (`None`: no cache).
    pub fn open_with_cache(vmlinux: &Path, cache_dir: Option<&Path>) -> Result<Types> {
        let elf = Arc::new(elf::ElfFile::open(vmlinux)?);
        let cache = match (cache_dir, &elf.build_id) {
            (Some(dir), Some(id)) if !id.is_empty() => Cache::open(dir, id, elf.fingerprint),
            _ => Cache::default(),
        };
        Ok(Types {
            backend: Box::new(dwarf::DwarfBackend::new(elf.clone())),
            elf,
            cache: Mutex::new(cache),
            symbols: OnceLock::new(),
        })
    }

    /// Take symbols from a `System.map` instead of the vmlinux's `.symtab`.
    pub fn with_system_map(mut self, system_map: &Path) -> Result<Types> {
        let syms = symbols::Symbols::from_system_map(system_map)?;
        self.symbols = OnceLock::new();
        let _ = self.symbols.set(syms);
        Ok(self)
    }

    /// The vmlinux's `NT_GNU_BUILD_ID`.
    pub fn build_id(&self) -> Option<&[u8]> {
        self.elf.build_id.as_deref()
    }

    /// The vmlinux path.
    pub fn path(&self) -> &Path {
        &self.elf.path
    }

    /// Whether the DWARF name index has been built (false while every question so far was
    /// answered from the layout cache).
    pub fn is_index_built(&self) -> bool {
        self.backend.is_loaded()
    }

    fn fail(&self, f: Fail) -> Error {
        match f {
            Fail::Bad { at, reason } => Error::MalformedDwarf {
                path: self.elf.path.clone(),
                at,
                reason,
            },
            Fail::Other(e) => *e,
            // Negative answers are turned into errors by the caller, which knows the question.
            Fail::NoType | Fail::NoMember | Fail::NotAggregate(_) | Fail::NoEnumerator => {
                Error::MalformedDwarf {
                    path: self.elf.path.clone(),
                    at: None,
                    reason: format!("unexpected {f:?}"),
                }
            }
        }
    }

    fn ask(
        &self,
        k: String,
        compute: impl FnOnce() -> std::result::Result<Answer, Fail>,
    ) -> Result<(Answer, bool)> {
        let hit = self.lock_cache().answers.get(&k).cloned();
        if let Some(a) = hit {
            return Ok((a, true));
        }
        let a = match compute() {
            Ok(a) => a,
            Err(Fail::NoType) => Answer::NoType,
            Err(Fail::NoMember) => Answer::NoMember,
            Err(Fail::NotAggregate(c)) => Answer::NotAggregate(c),
            Err(Fail::NoEnumerator) => Answer::NoEnumerator,
            Err(f) => {
                // Answers from a DWARF that gave an error are never written to the cache.
                self.lock_cache().poisoned = true;
                return Err(self.fail(f));
            }
        };
        let mut c = self.lock_cache();
        c.answers.insert(k, a.clone());
        c.dirty = true;
        Ok((a, false))
    }

    /// Where an answer came from, for "not found" errors: the DWARF, or the layout cache made
    /// from it (so a stale or damaged cache names itself).
    fn answered_by(&self, cached: bool) -> String {
        let cache = if cached {
            self.lock_cache().path.clone()
        } else {
            None
        };
        match cache {
            Some(c) => format!(
                "the layout cache {} (made from the DWARF of {})",
                c.display(),
                self.elf.path.display()
            ),
            None => format!("the DWARF of {}", self.elf.path.display()),
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
        match self.ask(key('s', &[type_name]), || {
            self.backend.size_of(type_name).map(Answer::Size)
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
        let (a, cached) = self.ask(key('m', &[type_name, path]), || {
            self.backend.member(type_name, path).map(Answer::Member)
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
        match self.ask(key('e', &[name]), || {
            self.backend.enumerator(name).map(Answer::Value)
        })? {
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
        match self.ask(key('v', &[enum_name, constant]), || {
            self.backend
                .enum_value(enum_name, constant)
                .map(Answer::Value)
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

    /// Every constant of the enum named `enum_name` (`"zone_stat_item"` or
    /// `"enum zone_stat_item"`), in declaration order: for tables indexed by an enum whose
    /// members move between kernels (`vm_zone_stat[]`, `vm_node_stat[]`).
    pub fn enumerators(&self, enum_name: &str) -> Result<Vec<(String, i64)>> {
        match self.ask(key('l', &[enum_name]), || {
            self.backend.enumerators(enum_name).map(Answer::Enumerators)
        })? {
            (Answer::Enumerators(v), _) => Ok(v),
            (_, cached) => Err(Self::type_not_found(enum_name, self.answered_by(cached))),
        }
    }

    fn symbols(&self) -> &symbols::Symbols {
        self.symbols.get_or_init(|| {
            symbols::Symbols::from_elf(&self.elf.map, &self.elf.path).unwrap_or_default()
        })
    }

    /// Link-time address of a symbol (from `.symtab`, or the `System.map` given to
    /// [`with_system_map`](Self::with_system_map)). The caller applies KASLR.
    pub fn symbol(&self, name: &str) -> Result<u64> {
        let s = self.symbols();
        s.lookup(name).ok_or_else(|| Error::SymbolNotFound {
            name: name.to_owned(),
            source_desc: s.source.clone(),
        })
    }

    /// The symbol containing `addr` (or else the nearest one below it) and the offset of `addr`
    /// in it: for naming function pointers such as `f_op`.
    pub fn symbol_at(&self, addr: u64) -> Option<(&str, u64)> {
        self.symbols().at(addr)
    }

    /// `len` bytes of an initialized, allocated section at link-time address `addr`, read from
    /// the vmlinux file (e.g. `linux_banner`, `init_uts_ns`). `None` when not entirely inside one
    /// such section (`.bss` has no bytes in the file).
    pub fn static_bytes(&self, addr: u64, len: usize) -> Option<&[u8]> {
        self.elf.static_bytes(addr, len)
    }

    /// Write the layout cache now if it has new answers and no DWARF read failed.
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
