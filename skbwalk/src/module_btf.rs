//! Loaded modules' types, from the BTF each keeps in the kernel.
//!
//! A kernel built with `CONFIG_DEBUG_INFO_BTF_MODULES` (5.11 and later; Debian's from 6.1) keeps
//! a `struct btf_module` on the `btf_modules` list for every loaded module with a `.BTF`
//! section: its `module` and its `struct btf`, whose `data` holds the module's BTF
//! (`data_size` bytes, split on the kernel's). Each is added to the kernel's types
//! ([`kstructs::Types::add_module_btf`]), so a walk asks for a module's type — `vring_virtqueue`
//! where the virtio core is a module — as for any other. A kernel without the list (5.10, or
//! built without module BTF) has no module types, and nothing is said here: the walk that needs
//! one says what it could not name.

use crate::warnings::{WarningKind, Warnings};
use crate::Kernel;

/// Most modules read (a kernel has at most a few thousand).
const MAX_MODULES: usize = 1 << 12;
/// Largest module BTF taken (the largest Debian module's is a few hundred KiB), and most bytes
/// read for all of them.
const MAX_BLOB: u64 = 16 << 20;
const MAX_TOTAL: u64 = 256 << 20;

/// Where the kernel keeps its modules' BTF.
struct Layout {
    list: u64,
    module: u64,
    btf: u64,
    mod_name: u64,
    data: u64,
    data_size: u64,
}

impl Layout {
    fn resolve(k: &Kernel) -> std::result::Result<Layout, kstructs::Error> {
        let m = |ty: &str, f: &str| k.types.member(ty, f).map(|m| m.offset);
        Ok(Layout {
            list: m("btf_module", "list")?,
            module: m("btf_module", "module")?,
            btf: m("btf_module", "btf")?,
            mod_name: m("module", "name")?,
            data: m("btf", "data")?,
            data_size: m("btf", "data_size")?,
        })
    }
}

/// Add every loaded module's BTF to `k`'s types, in the kernel's list order, the first time
/// asked (warnings then go to `w`); returns the modules added. A module whose BTF cannot be read
/// or parsed is a warning and is left out.
pub(crate) fn load<'k>(k: &'k Kernel, w: &mut Warnings) -> &'k [String] {
    k.module_types.get_or_init(|| read_all(k, w))
}

fn read_all(k: &Kernel, w: &mut Warnings) -> Vec<String> {
    let Ok(head) = k.global("btf_modules") else {
        return Vec::new();
    };
    let l = match Layout::resolve(k) {
        Ok(l) => l,
        Err(e) => {
            w.push(
                WarningKind::Unsupported,
                None,
                format!("btf_modules: {e}: the modules' types are not read"),
            );
            return Vec::new();
        }
    };
    let mut total = 0u64;
    let mut added = Vec::new();
    for e in crate::links::list_entries(k, head, l.list, MAX_MODULES, "btf_modules", w) {
        let name = k
            .u64(e + l.module, "btf_module.module")
            .and_then(|m| k.cstr(m + l.mod_name, 56, "module.name"))
            .unwrap_or_else(|_| format!("{e:#x}"));
        let blob = (|| {
            let btf = k.ptr(k.u64(e + l.btf, "btf_module.btf")?, "btf_module.btf")?;
            let size = u64::from(k.u32(btf + l.data_size, "btf.data_size")?);
            if size > MAX_BLOB || total + size > MAX_TOTAL {
                return Err(crate::Error::Corrupt {
                    what: format!("btf.data_size {size}"),
                    addr: btf + l.data_size,
                    why: "larger than a module's BTF (16 MiB each, 256 MiB in all)",
                });
            }
            total += size;
            let data = k.ptr(k.u64(btf + l.data, "btf.data")?, "btf.data")?;
            k.bytes(data, size as usize, "btf.data")
        })();
        let r = blob.and_then(|b| k.types.add_module_btf(&name, b).map_err(Into::into));
        match r {
            Ok(()) => added.push(name),
            Err(err) => w.push(
                WarningKind::of(&err),
                Some(e),
                format!("module {name}'s BTF: {err}: its types are not read"),
            ),
        }
    }
    added
}
