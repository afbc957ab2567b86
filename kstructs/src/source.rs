//! Where the types and symbols of a [`Types`](crate::Types) come from, and the rule that picks
//! them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::btf::BtfBackend;
use crate::dwarf::DwarfBackend;
use crate::resolve::Fail;
use crate::types::{Member, TypeInfo};
use crate::Backend;

/// Which debug format answers type questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypesFrom {
    /// BTF: a vmlinux's `.BTF` section or the copy in the dump.
    Btf,
    /// DWARF: a vmlinux's `.debug_info`.
    Dwarf,
}

impl TypesFrom {
    /// `"btf"` or `"dwarf"`: the names `--types` takes and JSON reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TypesFrom::Btf => "btf",
            TypesFrom::Dwarf => "dwarf",
        }
    }
}

/// Which symbol table answers symbol questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SymbolsFrom {
    /// The vmlinux's `.symtab`.
    Symtab,
    /// A `System.map`.
    SystemMap,
    /// The kernel's kallsyms, decoded from the dump.
    Kallsyms,
}

impl SymbolsFrom {
    /// `"symtab"`, `"system.map"` or `"kallsyms"`, as JSON reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolsFrom::Symtab => "symtab",
            SymbolsFrom::SystemMap => "system.map",
            SymbolsFrom::Kallsyms => "kallsyms",
        }
    }
}

/// What a [`Types`](crate::Types) uses: the report's `"debuginfo"` object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Debuginfo {
    /// Where types come from.
    pub types: TypesFrom,
    /// Where symbols come from.
    pub symbols: SymbolsFrom,
    /// The vmlinux, when one is used (`None`: everything from the dump, or a System.map).
    pub file: Option<PathBuf>,
    /// The System.map, when symbols come from one.
    pub system_map: Option<PathBuf>,
}

/// Which of a vmlinux's debug formats to use for types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prefer {
    /// BTF when the vmlinux has a `.BTF` section, else DWARF.
    #[default]
    Auto,
    /// BTF only (an error if there is none).
    Btf,
    /// DWARF only.
    Dwarf,
}

/// BTF first; DWARF (when the file has it) only if the BTF turns out to be unreadable.
pub(crate) struct Fallback {
    pub(crate) btf: BtfBackend,
    pub(crate) dwarf: Option<DwarfBackend>,
    fell_back: AtomicBool,
}

impl Fallback {
    pub(crate) fn new(btf: BtfBackend, dwarf: Option<DwarfBackend>) -> Self {
        Fallback {
            btf,
            dwarf,
            fell_back: AtomicBool::new(false),
        }
    }

    /// Whether a damaged BTF made DWARF answer.
    pub(crate) fn fell_back(&self) -> bool {
        self.fell_back.load(Ordering::Relaxed)
    }

    fn ask<T>(&self, q: impl Fn(&dyn Backend) -> Result<T, Fail>) -> Result<T, Fail> {
        if !self.fell_back() {
            match q(&self.btf) {
                Err(Fail::Other(e)) if self.dwarf.is_some() => {
                    if !matches!(*e, crate::Error::MalformedBtf { .. }) {
                        return Err(Fail::Other(e));
                    }
                    self.fell_back.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        match &self.dwarf {
            Some(d) => q(d),
            None => q(&self.btf),
        }
    }
}

impl Backend for Fallback {
    fn btf_core(&self) -> Option<std::sync::Arc<crate::btf::Core>> {
        if self.fell_back() {
            return None;
        }
        self.btf.core()
    }
    fn is_loaded(&self) -> bool {
        self.btf.is_loaded() || self.dwarf.as_ref().is_some_and(|d| d.is_loaded())
    }
    fn size_of(&self, type_name: &str) -> Result<u64, Fail> {
        self.ask(|b| b.size_of(type_name))
    }
    fn member(&self, type_name: &str, path: &str) -> Result<Member, Fail> {
        self.ask(|b| b.member(type_name, path))
    }
    fn enumerator(&self, name: &str) -> Result<i64, Fail> {
        self.ask(|b| b.enumerator(name))
    }
    fn enum_value(&self, enum_name: &str, constant: &str) -> Result<i64, Fail> {
        self.ask(|b| b.enum_value(enum_name, constant))
    }
    fn enumerators(&self, enum_name: &str) -> Result<Vec<(String, i64)>, Fail> {
        self.ask(|b| b.enumerators(enum_name))
    }
    fn variable_type(&self, name: &str) -> Result<TypeInfo, Fail> {
        // BTF has per-cpu variables only: the DWARF, when there is one, knows every variable.
        match (self.btf.variable_type(name), &self.dwarf) {
            (Err(Fail::NoType), Some(d)) => d.variable_type(name),
            (r, _) => r,
        }
    }
}
