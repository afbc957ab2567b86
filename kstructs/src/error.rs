//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while opening a vmlinux or answering a question about it.
///
/// `Display` is written for the person running the tool: it says what was looked for, where, and
/// what to do about it when there is something to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an ELF file we can read (not ELF, truncated, wrong class…).
    #[error("{path}: not a readable ELF file: {reason}")]
    NotElf {
        /// The file.
        path: PathBuf,
        /// What the ELF parser said.
        reason: String,
    },
    /// The ELF file has no `.debug_info` section (and no `.BTF`, unless DWARF was asked for).
    #[error(
        "{path} has no DWARF (.debug_info) and no BTF (.BTF): this is a stripped kernel; install the \
         matching -dbg package, e.g. linux-image-<release>-dbg, and pass \
         usr/lib/debug/boot/vmlinux-<release>, or run without --vmlinux to use the dump's own BTF"
    )]
    NoDebugInfo {
        /// The file.
        path: PathBuf,
    },
    /// The BTF could not be parsed.
    #[error("{blob}: malformed BTF{}: {reason}", type_id.map(|t| format!(" (type id {t})")).unwrap_or_default())]
    MalformedBtf {
        /// The blob: a vmlinux's `.BTF` section, or the dump's copy.
        blob: String,
        /// The type being read, when known.
        type_id: Option<u32>,
        /// What went wrong.
        reason: String,
    },
    /// Types were asked for from BTF (`--types btf`) and the file has no `.BTF` section.
    #[error("{path} has no .BTF section (a kernel built without CONFIG_DEBUG_INFO_BTF); use its DWARF (--types dwarf)")]
    NoBtf {
        /// The file.
        path: PathBuf,
    },
    /// A module's BTF was given, and there is no kernel BTF to read it on (types from the DWARF
    /// of a vmlinux without `.BTF`).
    #[error(
        "module {module}'s BTF is split on the kernel's BTF, and the kernel's types come from \
         {origin}, which has none: run without --vmlinux to use the dump's own BTF"
    )]
    NoBtfBase {
        /// The module.
        module: String,
        /// What the kernel's types come from.
        origin: String,
    },
    /// The dump's kallsyms tables could not be decoded.
    #[error("the dump's kallsyms tables: {reason}")]
    Kallsyms {
        /// What went wrong.
        reason: String,
    },
    /// The DWARF could not be parsed.
    #[error("{path}: malformed DWARF{}: {reason}", at.map(|o| format!(" at .debug_info+{o:#x}")).unwrap_or_default())]
    MalformedDwarf {
        /// The file.
        path: PathBuf,
        /// Offset in `.debug_info` of the entry being read, when known.
        at: Option<u64>,
        /// What went wrong.
        reason: String,
    },
    /// A debug section is compressed in a way we cannot decompress.
    #[error("{path}: cannot decompress section {section}: {reason}")]
    Compression {
        /// The file.
        path: PathBuf,
        /// The section name.
        section: String,
        /// Why.
        reason: String,
    },
    /// No type of that name (no complete definition) in the debug info.
    #[error("type `{name}` not found in {from}")]
    TypeNotFound {
        /// The name asked for, as given.
        name: String,
        /// Where the answer came from: the DWARF of a file, or the layout cache made from it.
        from: String,
    },
    /// The type exists but has no member at that path.
    #[error(
        "`{type_name}` has no member {} (in {from})",
        tried.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" or ")
    )]
    MemberNotFound {
        /// Where the answer came from.
        from: String,
        /// The outer type.
        type_name: String,
        /// The first path tried (the only one for [`Types::member`](crate::Types::member)).
        path: String,
        /// Every path tried, in order.
        tried: Vec<String>,
    },
    /// A path component names a member whose type has no members (e.g. `len.x` on an integer).
    #[error("`{type_name}.{path}`: `{component}` is not a struct or union, cannot look inside it (in {from})")]
    NotAggregate {
        /// Where the answer came from.
        from: String,
        /// The outer type.
        type_name: String,
        /// The full path.
        path: String,
        /// The component whose type is not an aggregate.
        component: String,
    },
    /// No enumerator of that name.
    #[error("enumerator `{name}` not found{} in {from}", in_enum.as_ref().map(|e| format!(" (enum {e})")).unwrap_or_default())]
    EnumeratorNotFound {
        /// Where the answer came from.
        from: String,
        /// The constant.
        name: String,
        /// The enum it was looked for in, if any.
        in_enum: Option<String>,
    },
    /// No symbol of that name.
    #[error("symbol `{name}` not found in {source_desc}")]
    SymbolNotFound {
        /// The symbol.
        name: String,
        /// Where it was looked for (a path).
        source_desc: String,
    },
    /// A System.map line could not be parsed.
    #[error(
        "{path}:{line}: not a System.map line (`<hex address> <type letter> <name>`); Debian's \
         /boot/System.map-* is a one-line placeholder, the real one is in the -dbg package \
         (usr/lib/debug/boot/System.map-<release>)"
    )]
    BadSystemMap {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// The layout cache could not be written.
    #[error("cannot write layout cache {path}: {source}")]
    CacheWrite {
        /// The cache file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
