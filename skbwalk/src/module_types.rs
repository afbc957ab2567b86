//! Loaded modules' types: from the BTF the kernel keeps of each, else from their debug files.
//!
//! | source | where | kernels |
//! |---|---|---|
//! | the dump | a `struct btf_module` on the `btf_modules` list for every loaded module with a `.BTF` section: its `module` and its `struct btf`, whose `data` holds the module's BTF (`data_size` bytes, split on the kernel's) | `CONFIG_DEBUG_INFO_BTF_MODULES`: 5.11 and later (Debian's from 6.1) |
//! | the `-dbg` package | each module on the kernel's `modules` list whose `<name>.ko` is under `lib/modules/<release>/` beside the vmlinux or `System.map` given (`<root>/boot/vmlinux-<release>` or `<root>/lib/modules/<release>/vmlinux`, Debian's `/usr/lib/debug` layout; the release the file's own), else under `/usr/lib/debug/lib/modules/<release>/` | any (Debian 5.10) |
//!
//! Each is added to the kernel's types ([`kstructs::Types::add_module_btf`],
//! [`kstructs::Types::add_module_debuginfo`]), so a walk asks for a module's type —
//! `vring_virtqueue` where the virtio core is a module — as for any other. A kernel with neither
//! has no module types, and nothing is said here: the walk that needs one says what it could not
//! name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::warnings::{WarningKind, Warnings};
use crate::Kernel;

/// Most modules read (a kernel has at most a few thousand), and most `.ko` files looked at in
/// a debug tree (Debian's holds about 4 000).
const MAX_MODULES: usize = 1 << 12;
const MAX_FILES: usize = 1 << 16;
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

/// Add every loaded module's types to `k`'s, in the kernel's list order, the first time asked
/// (warnings then go to `w`; `k.types.modules()` lists those added). A module whose types cannot
/// be read is a warning and is left out.
pub(crate) fn load(k: &Kernel, w: &mut Warnings) {
    k.module_types
        .get_or_init(|| match k.global("btf_modules") {
            Ok(head) => from_btf(k, head, w),
            Err(_) => from_debuginfo(k, w),
        });
}

/// `MODULE_NAME_LEN`: `struct module`'s `name` array.
const MODULE_NAME_LEN: usize = 56;

/// The name of the `struct module` at `module` (`name` at offset `at`).
fn module_name(k: &Kernel, module: u64, at: u64) -> crate::Result<String> {
    k.cstr(module + at, MODULE_NAME_LEN, "module.name")
}

/// Every module's BTF on the `btf_modules` list at `head`.
fn from_btf(k: &Kernel, head: u64, w: &mut Warnings) {
    let l = match Layout::resolve(k) {
        Ok(l) => l,
        Err(e) => {
            w.push(
                WarningKind::Unsupported,
                None,
                format!("btf_modules: {e}: the modules' types are not read"),
            );
            return;
        }
    };
    let mut total = 0u64;
    for e in crate::links::list_entries(k, head, l.list, MAX_MODULES, "btf_modules", w) {
        let name = k
            .u64(e + l.module, "btf_module.module")
            .and_then(|m| module_name(k, m, l.mod_name))
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
        if let Err(err) = r {
            w.push(
                WarningKind::of(&err),
                Some(e),
                format!("module {name}'s BTF: {err}: its types are not read"),
            );
        }
    }
}

/// The DWARF of every loaded module whose `.ko` is in the debug tree beside the vmlinux.
fn from_debuginfo(k: &Kernel, w: &mut Warnings) {
    let (Some(dir), Ok(head), Ok(list), Ok(name)) = (
        debug_dir(k),
        k.global("modules"),
        k.types.member("module", "list").map(|m| m.offset),
        k.types.member("module", "name").map(|m| m.offset),
    ) else {
        return;
    };
    let files = ko_files(&dir);
    for m in crate::links::list_entries(k, head, list, MAX_MODULES, "modules", w) {
        let Ok(n) = module_name(k, m, name) else {
            continue;
        };
        let Some(path) = files.get(&n.replace('-', "_")) else {
            continue;
        };
        match k.types.add_module_debuginfo(&n, path) {
            Ok(()) => {}
            // a module as installed (its debug information stripped), not a debug file
            Err(kstructs::Error::NoDebugInfo { .. }) => {}
            Err(e) => w.push(
                WarningKind::Unsupported,
                Some(m),
                format!("module {n}'s debug file: {e}: its types are not read"),
            ),
        }
    }
}

/// `lib/modules/<release>` of a debug tree holding the modules' debug files: the one the vmlinux
/// (or the `System.map`) given is in — `<root>/boot/vmlinux-<release>` or
/// `<root>/lib/modules/<release>/vmlinux` — by that file's own release (the vmlinux's
/// `init_uts_ns`, else the file's name: the tree belongs to the build given, whatever the dump
/// says), else the system's, `/usr/lib/debug/lib/modules/<release>` by the dump's release.
fn debug_dir(k: &Kernel) -> Option<PathBuf> {
    let di = k.types.debuginfo();
    let beside = |file: &Path, prefix: &str, release: Option<String>| -> Option<PathBuf> {
        let release = release.or_else(|| {
            let name = file.file_name()?.to_str()?;
            name.strip_prefix(prefix).map(str::to_string)
        })?;
        let tail = Path::new("lib/modules").join(release);
        let parent = file.parent()?;
        let dir = match parent.file_name()? == "boot" {
            true => parent.parent()?.join(&tail),
            false => parent.to_path_buf(),
        };
        (dir.ends_with(&tail) && dir.is_dir()).then_some(dir)
    };
    let vmlinux = di
        .file
        .as_deref()
        .and_then(|f| beside(f, "vmlinux-", Kernel::vmlinux_release(&k.types)));
    vmlinux
        .or_else(|| {
            let map = di.system_map.as_deref()?;
            beside(map, "System.map-", None)
        })
        .or_else(|| {
            let system = Path::new("/usr/lib/debug/lib/modules").join(k.release()?);
            system.is_dir().then_some(system)
        })
}

/// Every `<name>.ko` (`.ko.xz` and the like are not read) under `dir`, by its name with `-` as
/// `_` (as the kernel names a module): at most [`MAX_FILES`] files, symbolic links not followed.
fn ko_files(dir: &Path) -> HashMap<String, PathBuf> {
    let mut out = HashMap::new();
    let mut todo = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > MAX_FILES {
                return out;
            }
            let Ok(t) = e.file_type() else { continue };
            let path = e.path();
            if t.is_dir() {
                todo.push(path);
            } else if let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".ko"))
            {
                out.entry(stem.replace('-', "_")).or_insert(path);
            }
        }
    }
    out
}
