//! The DWARF backend: sections and name index built lazily on the first question.

use std::sync::{Arc, Mutex};

use crate::elf::{DebugSections, ElfFile};
use crate::index::Index;
use crate::resolve::{Dwarf, Fail, Resolver, R};
use crate::types::{Member, TypeInfo};
use crate::Backend;

struct Loaded {
    sections: DebugSections,
    index: Index,
}

/// Types from the DWARF of an ELF file.
pub(crate) struct DwarfBackend {
    elf: Arc<ElfFile>,
    loaded: Mutex<Option<Arc<Loaded>>>,
}

fn make_dwarf<'a>(elf: &'a ElfFile, sections: &'a DebugSections) -> Dwarf<'a> {
    let endian = if elf.little_endian {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let load = |id: gimli::SectionId| -> Result<R<'a>, std::convert::Infallible> {
        Ok(gimli::EndianSlice::new(
            sections.get(&elf.map, id.name()),
            endian,
        ))
    };
    match gimli::Dwarf::load(load) {
        Ok(d) => d,
        Err(never) => match never {},
    }
}

impl DwarfBackend {
    pub(crate) fn new(elf: Arc<ElfFile>) -> Self {
        DwarfBackend {
            elf,
            loaded: Mutex::new(None),
        }
    }

    fn load(&self) -> Result<Arc<Loaded>, Fail> {
        let mut guard = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = &*guard {
            return Ok(l.clone());
        }
        let sections = self
            .elf
            .debug_sections()
            .map_err(|e| Fail::Other(Box::new(e)))?;
        let dwarf = make_dwarf(&self.elf, &sections);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let index = Index::build(&dwarf, threads).map_err(|(e, unit)| Fail::Bad {
            at: Some(unit),
            reason: format!("in the unit at this offset: {e}"),
        })?;
        let l = Arc::new(Loaded { sections, index });
        *guard = Some(l.clone());
        Ok(l)
    }

    fn with<T>(&self, f: impl FnOnce(&Resolver<'_>) -> Result<T, Fail>) -> Result<T, Fail> {
        let l = self.load()?;
        let dwarf = make_dwarf(&self.elf, &l.sections);
        let r = Resolver::new(&dwarf, &l.index);
        f(&r)
    }
}

impl Backend for DwarfBackend {
    fn is_loaded(&self) -> bool {
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }
    fn size_of(&self, type_name: &str) -> Result<u64, Fail> {
        self.with(|r| r.size_of(type_name))
    }
    fn member(&self, type_name: &str, path: &str) -> Result<Member, Fail> {
        self.with(|r| r.member(type_name, path))
    }
    fn enumerator(&self, name: &str) -> Result<i64, Fail> {
        let l = self.load()?;
        l.index
            .enumerators
            .get(name.as_bytes())
            .copied()
            .ok_or(Fail::NoEnumerator)
    }
    fn enum_value(&self, enum_name: &str, constant: &str) -> Result<i64, Fail> {
        self.with(|r| r.enum_value(enum_name, constant))
    }
    fn enumerators(&self, enum_name: &str) -> Result<Vec<(String, i64)>, Fail> {
        self.with(|r| r.enumerators(enum_name))
    }
    fn variable_type(&self, name: &str) -> Result<TypeInfo, Fail> {
        self.with(|r| r.variable_type(name))
    }
}
