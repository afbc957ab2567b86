//! Naming what this crate does not read, from a file's first bytes: each refusal is one
//! sentence that says which format the file is, not a complaint about a field misread with
//! another format's layout.

use crate::Error;

/// `e_machine` values of the architectures Linux crash dumps come from.
pub(crate) fn elf_machine_name(m: u16) -> Option<&'static str> {
    Some(match m {
        3 => "i386",
        8 => "MIPS",
        20 => "PowerPC (32-bit)",
        21 => "PowerPC 64",
        22 => "s390x",
        40 => "ARM (32-bit)",
        62 => "x86-64",
        183 => "AArch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => return None,
    })
}

/// The machine of an ELF `e_machine`: `x86_64` and `aarch64` as `uname -m` spells them (the
/// names the readers choose a layout by), others by their usual names.
pub(crate) fn elf_machine(m: u16) -> String {
    match m {
        62 => "x86_64".to_string(),
        183 => "aarch64".to_string(),
        m => elf_machine_name(m).map_or_else(|| format!("ELF machine {m}"), str::to_string),
    }
}

/// Whether a `uname -m` string names an architecture other than x86-64.
pub(crate) fn is_foreign_uname_machine(m: &str) -> bool {
    const FOREIGN: &[&str] = &[
        "aarch64",
        "arm64",
        "armv7l",
        "armv6l",
        "arm",
        "i386",
        "i486",
        "i586",
        "i686",
        "ppc",
        "ppc64",
        "ppc64le",
        "s390",
        "s390x",
        "riscv32",
        "riscv64",
        "mips",
        "mips64",
        "loongarch64",
        "sparc64",
        "ia64",
        "alpha",
        "parisc",
        "sh4",
        "m68k",
    ];
    FOREIGN.contains(&m)
}

fn machine(m: u16) -> String {
    elf_machine_name(m).map_or_else(|| format!("machine {m}"), str::to_string)
}

fn unsupported(what: String) -> Error {
    Error::UnknownFormat(what)
}

/// LKCD's `DUMP_MAGIC_NUMBER`, as a little-endian u64 at offset 0.
const LKCD_MAGIC: u64 = 0xa819_0173_618f_23ed;

/// A refusal for `head` (the file's first bytes, up to 8 KiB) when it is a dump format, byte
/// order or word size this crate does not read; `None` for anything else (the caller goes on to
/// its own readers).
pub(crate) fn refuse(head: &[u8]) -> Option<Error> {
    if head.len() >= 8 {
        let m = u64::from_le_bytes(head[..8].try_into().ok()?);
        if m == LKCD_MAGIC || m == LKCD_MAGIC.swap_bytes() {
            return Some(unsupported(
                "an LKCD (Linux Kernel Crash Dump, lcrash) dump: that format is not read; \
                 convert it with its own tools"
                    .into(),
            ));
        }
    }
    if sadump_at(head, 0) || sadump_at(head, 4096) {
        return Some(unsupported(
            "a Fujitsu sadump dump: that format is not read (crash reads it; makedumpfile can \
             convert it to kdump-compressed)"
                .into(),
        ));
    }
    if head.len() >= 20 && &head[..4] == b"\x7fELF" {
        return refuse_elf(head);
    }
    if head.starts_with(b"KDUMP   ") || head.starts_with(b"DISKDUMP") {
        return refuse_kdump(head);
    }
    None
}

fn sadump_at(head: &[u8], at: usize) -> bool {
    head.get(at..at + 8) == Some(b"sadump\0\0")
}

fn refuse_elf(h: &[u8]) -> Option<Error> {
    let class = h[4];
    let data = h[5];
    let big = data == 2;
    let u16_at = |o: usize| {
        let b = [h[o], h[o + 1]];
        if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let e_type = u16_at(16);
    let m = u16_at(18);
    let what = match (class, data) {
        (1, _) => Some(format!(
            "a 32-bit ELF {} ({}): this reader handles 64-bit x86-64 and arm64 dumps only",
            if e_type == 4 { "core dump" } else { "file" },
            machine(m)
        )),
        (2, 2) => Some(format!(
            "a big-endian ELF {} ({}): this reader handles little-endian x86-64 and arm64 dumps only",
            if e_type == 4 { "core dump" } else { "file" },
            machine(m)
        )),
        (2, 1) if e_type != 4 => Some(format!(
            "an ELF file of type {e_type} ({}), not a core dump (type 4)",
            match e_type {
                1 => "relocatable object",
                2 => "executable: a vmlinux? give it as --vmlinux",
                3 => "shared object",
                _ => "unknown type",
            }
        )),
        _ => None,
    };
    if let Some(w) = what {
        return Some(unsupported(w));
    }
    None
}

/// Xen's `xc_core` format: an ELF core with no `PT_LOAD` whose sections are `.xen_*`.
pub(crate) fn is_xen_core(section_names: &[&str]) -> bool {
    section_names.iter().any(|n| {
        n.starts_with(".xen_pages") || n.starts_with(".xen_p2m") || n.starts_with(".xen_pfn")
    })
}

fn refuse_kdump(h: &[u8]) -> Option<Error> {
    if h.len() < 448 {
        return None;
    }
    let le = |o: usize| i32::from_le_bytes(h[o..o + 4].try_into().unwrap_or_default());
    let be = |o: usize| i32::from_be_bytes(h[o..o + 4].try_into().unwrap_or_default());
    let sig = if h.starts_with(b"KDUMP") {
        "kdump-compressed"
    } else {
        "diskdump"
    };
    let version_le = le(8);
    let version_be = be(8);
    if !(1..=64).contains(&version_le) && (1..=64).contains(&version_be) {
        return Some(unsupported(format!(
            "a big-endian {sig} dump (header version {version_be}; ppc64 or s390x): this reader \
             handles little-endian x86-64 and arm64 dumps only"
        )));
    }
    // 64-bit layout: block_size at 428. 32-bit (i386, arm): utsname ends at 402, a 32-bit
    // struct timeval follows at 404, so block_size is at 416 (and 428 holds max_mapnr).
    let page_size = |v: i32| v >= 4096 && (v as u32).is_power_of_two() && v <= 1 << 18;
    if !page_size(le(428)) && page_size(le(416)) {
        return Some(unsupported(format!(
            "a 32-bit {sig} dump (i386 or arm: block size {} at the 32-bit header's offset): \
             this reader handles 64-bit x86-64 and arm64 dumps only",
            le(416)
        )));
    }
    // The machine in utsname (sysname, nodename, release, version, machine, domainname).
    let uts = 12;
    let field = |i: usize| {
        let b = &h[uts + 65 * i..uts + 65 * (i + 1)];
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    };
    let machine = field(4);
    let arm64 = matches!(machine.as_str(), "aarch64" | "arm64");
    if is_foreign_uname_machine(&machine) && !arm64 && le(428) != 4096 {
        return Some(unsupported(format!(
            "a {sig} dump of a {machine} machine with {} KiB pages: this reader handles x86-64 \
             and arm64 dumps only",
            le(428) / 1024
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kdump_header(f: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let mut h = vec![0u8; 4096];
        h[..8].copy_from_slice(b"KDUMP   ");
        h[8..12].copy_from_slice(&6i32.to_le_bytes());
        h[12 + 65 * 4..12 + 65 * 4 + 6].copy_from_slice(b"x86_64");
        h[428..432].copy_from_slice(&4096i32.to_le_bytes());
        f(&mut h);
        h
    }

    fn says(h: &[u8], want: &str) {
        match refuse(h) {
            Some(Error::UnknownFormat(m)) => assert!(m.contains(want), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_foreign_format_is_named() {
        assert!(refuse(&kdump_header(|_| {})).is_none());
        says(
            &kdump_header(|h| {
                h[8..12].copy_from_slice(&6i32.to_be_bytes());
                h[428..432].copy_from_slice(&4096i32.to_be_bytes());
            }),
            "big-endian kdump-compressed",
        );
        says(
            &kdump_header(|h| {
                h[428..432].copy_from_slice(&1i32.to_le_bytes()); // 32-bit max_mapnr
                h[416..420].copy_from_slice(&4096i32.to_le_bytes());
            }),
            "32-bit kdump-compressed",
        );
        says(
            &kdump_header(|h| {
                h[12 + 65 * 4..12 + 65 * 4 + 7].copy_from_slice(b"ppc64le");
                h[428..432].copy_from_slice(&65536i32.to_le_bytes());
            }),
            "ppc64le machine with 64 KiB pages",
        );
        // arm64 dumps open, whatever their block size
        assert!(refuse(&kdump_header(|h| {
            h[12 + 65 * 4..12 + 65 * 4 + 7].copy_from_slice(b"aarch64");
            h[428..432].copy_from_slice(&65536i32.to_le_bytes());
        }))
        .is_none());
        let mut lkcd = vec![0u8; 64];
        lkcd[..8].copy_from_slice(&LKCD_MAGIC.to_le_bytes());
        says(&lkcd, "LKCD");
        let mut sadump = vec![0u8; 8192];
        sadump[4096..4104].copy_from_slice(b"sadump\0\0");
        says(&sadump, "sadump");
        let elf = |class: u8, data: u8, e_type: u16, m: u16| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(b"\x7fELF");
            h[4] = class;
            h[5] = data;
            let (t, mm) = if data == 2 {
                (e_type.to_be_bytes(), m.to_be_bytes())
            } else {
                (e_type.to_le_bytes(), m.to_le_bytes())
            };
            h[16..18].copy_from_slice(&t);
            h[18..20].copy_from_slice(&mm);
            h
        };
        says(&elf(1, 1, 4, 3), "32-bit ELF core dump (i386)");
        says(&elf(2, 2, 4, 22), "big-endian ELF core dump (s390x)");
        says(&elf(2, 1, 2, 62), "a vmlinux?");
        assert!(refuse(&elf(2, 1, 4, 62)).is_none());
        assert!(
            refuse(&elf(2, 1, 4, 183)).is_none(),
            "64-bit LE cores of other machines open"
        );
    }
}
