//! `skbwalk`: where the memory of a Linux crash dump is.
//!
//! See `../shared/spec/cli.md` for the contract: flags, commands, JSON keys and exit codes.

mod html_page;
mod human;
mod live;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use skbwalk::warnings::{Warning, WarningKind};
use skbwalk::Kernel;

/// Where the memory is: sockets, sk_buffs and the pages they pin, from a crash dump.
#[derive(Parser, Debug)]
#[command(name = "skbwalk", version, about)]
struct Cli {
    /// The dump: ELF (QEMU dump-guest-memory, /proc/vmcore) or kdump-compressed (makedumpfile, QEMU kdump-*).
    /// Given once per file for the parts of a `makedumpfile --split` set.
    #[arg(long, global = true, value_name = "PATH", action = clap::ArgAction::Append)]
    vmcore: Vec<PathBuf>,
    /// The kernel's debuginfo (vmlinux with BTF or DWARF); found by the dump's release when
    /// omitted, or else the dump's own BTF and kallsyms are used.
    #[arg(long, global = true, value_name = "PATH")]
    vmlinux: Option<PathBuf>,
    /// Where kernel types come from (default: BTF when present, else DWARF).
    #[arg(long, global = true, value_name = "btf|dwarf", value_parser = ["btf", "dwarf"])]
    types: Option<String>,
    /// Symbols from this System.map (for a dump whose VMCOREINFO has no kallsyms tables).
    #[arg(long, global = true, value_name = "FILE")]
    system_map: Option<PathBuf>,
    /// One JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Process id of the socket's owner (with --fd).
    #[arg(long, requires = "fd")]
    pid: Option<i32>,
    /// File descriptor of the socket (with --pid).
    #[arg(long, requires = "pid")]
    fd: Option<u32>,
    /// List every skb in the text report (JSON always lists them all).
    #[arg(long)]
    all_skbs: bool,
    /// Exit 3 when the answer is incomplete (warnings: parts of the dump unreadable or corrupt).
    #[arg(long, global = true)]
    strict: bool,
    /// Read the running kernel instead of a dump: /proc/kcore, /sys/kernel/btf/vmlinux and
    /// /proc/kallsyms (or --vmlinux); needs root.
    #[arg(long, global = true, conflicts_with = "vmcore")]
    live: bool,
    /// With --live: the machine's files under DIR (DIR/proc/kcore, DIR/sys/…): a container
    /// with the host's /proc and /sys mounted there.
    #[arg(long, global = true, value_name = "DIR", requires = "live")]
    live_root: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Format, compression, page counts, kernel release, KASLR offset, phys_base, paging mode.
    Info,
    /// Read memory: hex dump of LEN bytes at ADDR (kernel virtual, or physical with --phys).
    Read {
        /// Address (0x… hex or decimal).
        addr: String,
        /// Number of bytes (at most 1 MiB).
        #[arg(default_value = "64")]
        len: String,
        /// ADDR is physical.
        #[arg(long)]
        phys: bool,
    },
    /// Where all the memory is: the kernel's counters (global and exact) and MemTotal split
    /// into free, user, kernel and allocpage (what no counter explains).
    Meminfo,
    /// The incident's reasoning with this dump's numbers, ending in where the memory is.
    Explain {
        /// Also write one self-contained HTML page (inline SVG, no network) to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
        /// Also write the picture alone, as SVG, to FILE.
        #[arg(long, value_name = "FILE")]
        svg: Option<std::path::PathBuf>,
    },
    /// The memory cgroup tree: each cgroup's memory.stat counters (global and exact), the
    /// pages charged to it and what its sockets pin next to its sock counter.
    Cgroups,
    /// Every socket of every task, ranked by the memory it pins.
    Top {
        /// Show the first N sockets (all in JSON unless given).
        #[arg(short = 'n', long = "count", value_name = "N")]
        n: Option<usize>,
        /// With --live: sample every SECONDS like top(1), with each socket's growth since the
        /// first sample; --json gives one document per sample (NDJSON).
        #[arg(long, value_name = "SECONDS")]
        watch: Option<f64>,
        /// With --watch: stop after N samples (default: until interrupted).
        #[arg(long, value_name = "N", requires = "watch")]
        samples: Option<u64>,
    },
}

/// Longest error or warning line printed (a damaged dump can make a cause very long).
const MAX_MESSAGE: usize = 2000;

/// Text for a terminal: control characters (ESC, CR, BEL, C1 controls…) other than newline and tab
/// are shown as `\x..` escapes, so a task name or path out of a dump cannot drive the terminal.
fn terminal_safe(s: &str) -> Cow<'_, str> {
    let bad = |c: char| (c.is_control() && c != '\n' && c != '\t') || c == '\u{7f}';
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line on stderr, bounded and made safe; a closed or full stderr is ignored.
fn say(prefix: &str, msg: &str) {
    let msg = terminal_safe(msg);
    let _ = writeln!(std::io::stderr().lock(), "{prefix}{}", bounded(&msg));
}

/// `msg` cut to [`MAX_MESSAGE`] bytes by dropping its middle: the start names the input and
/// the end gives the reason, and both survive an over-long path or list.
fn bounded(msg: &str) -> Cow<'_, str> {
    if msg.len() <= MAX_MESSAGE {
        return Cow::Borrowed(msg);
    }
    let mut head = MAX_MESSAGE / 2;
    while !msg.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = msg.len() - MAX_MESSAGE / 2;
    while !msg.is_char_boundary(tail) {
        tail += 1;
    }
    Cow::Owned(format!(
        "{} …({} bytes cut)… {}",
        &msg[..head],
        tail - head,
        &msg[tail..]
    ))
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    say("skbwalk: ", &msg.to_string());
    ExitCode::from(1)
}

fn usage(msg: &str) -> ExitCode {
    say(
        "skbwalk: ",
        &format!("{msg}\n\nRun `skbwalk --help` for usage."),
    );
    ExitCode::from(2)
}

/// Write the whole of stdout through `f`, once: a reader that went away (closed pipe) ends the
/// run quietly with success; any other failure (a full disk) is exit 1 with the reason.
fn emit(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match f(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ExitCode::SUCCESS),
        Err(e) => Err(fail(format!("cannot write the output: {e}"))),
    }
}

/// A report with the top-level `"debuginfo"` object beside its own keys (streamed as the report
/// is).
#[derive(serde::Serialize)]
struct WithDebuginfo<'a, T: serde::Serialize> {
    #[serde(flatten)]
    report: &'a T,
    debuginfo: Option<DebuginfoOut>,
    /// `"dump"` or `"live"` (cli.md).
    source: &'static str,
    /// A live report's start, duration and moving figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<live::LiveOut>,
}

/// `"source"` and `"live"` of a report read from `vmcore`.
fn source_of(vmcore: &Vmcore) -> (&'static str, Option<live::LiveOut>) {
    if vmcore.live {
        ("live", Some(live::out(&vmcore.display())))
    } else {
        ("dump", None)
    }
}

/// The contract's `"debuginfo": { "types", "symbols", "file" }` (and `"system_map"`).
#[derive(serde::Serialize)]
struct DebuginfoOut {
    types: &'static str,
    symbols: &'static str,
    file: Option<String>,
    system_map: Option<String>,
}

fn debuginfo_out(k: &Kernel) -> DebuginfoOut {
    let d = k.types().debuginfo();
    DebuginfoOut {
        types: d.types.as_str(),
        symbols: d.symbols.as_str(),
        file: d.file.map(|f| f.display().to_string()),
        system_map: d.system_map.map(|f| f.display().to_string()),
    }
}

/// The text view's one line saying what answered.
fn debuginfo_line(k: &Kernel) -> String {
    let d = k.types().debuginfo();
    let types = match (&d.file, d.types) {
        (Some(f), t) => format!("{} of {}", t.as_str().to_uppercase(), f.display()),
        (None, t) => format!("the dump's own {}", t.as_str().to_uppercase()),
    };
    let symbols = match (d.symbols, &d.system_map) {
        (kstructs::SymbolsFrom::SystemMap, Some(m)) => format!("{}", m.display()),
        (kstructs::SymbolsFrom::Kallsyms, _) => "the dump's kallsyms".to_string(),
        _ => "its .symtab".to_string(),
    };
    format!("debuginfo: types from {types}, symbols from {symbols}\n")
}

/// The end of every command that walked a kernel: save the layout cache, print the report (as
/// JSON with its `"debuginfo"`, or as `text` after the INCOMPLETE banner and the debuginfo
/// line), and say the exit code.
fn conclude<T: serde::Serialize>(
    cli: &Cli,
    vmcore: &Vmcore,
    k: &Kernel,
    r: &T,
    complete: bool,
    warnings: &[Warning],
    text: impl FnOnce() -> String,
) -> Result<ExitCode, ExitCode> {
    let _ = k.save_cache();
    if cli.json {
        let (source, live) = source_of(vmcore);
        emit_json(&WithDebuginfo {
            report: r,
            debuginfo: Some(debuginfo_out(k)),
            source,
            live,
        })?;
    } else {
        let live = if vmcore.live {
            live::line(&vmcore.display())
        } else {
            String::new()
        };
        emit_text(&(incomplete_banner(complete, warnings) + &debuginfo_line(k) + &live + &text()))?;
    }
    Ok(finish(cli, complete, warnings))
}

fn emit_json<T: serde::Serialize>(v: &T) -> Result<(), ExitCode> {
    // Streamed: a report of a million skbs is never held as one string.
    emit(|out| {
        // Through a buffer of a concrete type: serde_json writes a few bytes at a time, and a
        // `dyn Write` made each of them a call (a twentieth of a big `top`'s time).
        let mut buf = std::io::BufWriter::with_capacity(1 << 16, out);
        serde_json::to_writer_pretty(&mut buf, v).map_err(std::io::Error::from)?;
        writeln!(buf)?;
        buf.flush()
    })
}

fn emit_text(text: &str) -> Result<(), ExitCode> {
    emit(|out| out.write_all(terminal_safe(text).as_bytes()))
}

/// The end of a report: warnings to stderr (text mode), and the exit code — 3 under `--strict`
/// when the answer is incomplete.
fn finish(cli: &Cli, complete: bool, warnings: &[Warning]) -> ExitCode {
    if !cli.json {
        for w in warnings {
            say("warning: ", &w.message);
        }
    }
    if cli.strict && !complete {
        say(
            "skbwalk: ",
            "the answer is incomplete (see the warnings); exit 3 (--strict)",
        );
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}

/// The first line of a text report that is not whole.
fn incomplete_banner(complete: bool, warnings: &[Warning]) -> String {
    if complete {
        String::new()
    } else {
        format!(
            "INCOMPLETE: {} warning(s): parts of the dump could not be read or made no sense; \
             the figures below leave them out (warnings on stderr)\n",
            warnings.len()
        )
    }
}

/// Check that an input path is a regular file we can open, naming the flag in the error.
fn check_input(path: &Path, flag: &str) -> Result<(), ExitCode> {
    match regfile::open(path) {
        Ok(_) => Ok(()),
        Err(e) => {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => e.to_string(),
            };
            Err(fail(format!(
                "{}: {what} (the {flag} input)",
                path.display()
            )))
        }
    }
}

/// The dump's files: one, or the parts of a split set; or the running kernel's kcore.
struct Vmcore {
    paths: Vec<PathBuf>,
    /// `--live`: `paths` is the running kernel's /proc/kcore.
    live: bool,
}

impl Vmcore {
    fn refs(&self) -> Vec<&Path> {
        self.paths.iter().map(PathBuf::as_path).collect()
    }
    fn display(&self) -> String {
        self.paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ")
    }
    fn open_dump(&self) -> Result<vmcore::Dump, ExitCode> {
        vmcore::Dump::open_parts(&self.refs()).map_err(|e| fail(format!("{}: {e}", self.display())))
    }
    fn open_kcore(&self) -> Result<vmcore::kcore::Kcore, ExitCode> {
        vmcore::kcore::Kcore::open(&self.paths[0])
            .map_err(|e| fail(format!("{}: {e}", self.display())))
    }
}

/// A walk error, naming the dump unless it already does.
fn walk_failed(vmcore: &Vmcore, e: skbwalk::Error) -> ExitCode {
    let msg = e.to_string();
    let path = vmcore.display();
    if msg.contains(&path) {
        fail(msg)
    } else {
        fail(format!("{path}: {msg}"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) | Err(code) => code,
    }
}

fn run(cli: &Cli) -> Result<ExitCode, ExitCode> {
    live::start();
    if cli.vmcore.is_empty() && !cli.live {
        return Err(usage(
            "--vmcore PATH (a dump) or --live (the running kernel) is required",
        ));
    }
    let vmcore = if cli.live {
        Vmcore {
            paths: vec![live::options(cli.live_root.as_ref()).kcore],
            live: true,
        }
    } else {
        Vmcore {
            paths: cli.vmcore.clone(),
            live: false,
        }
    };
    if cli.command.is_some() && (cli.pid.is_some() || cli.fd.is_some()) {
        return Err(usage(
            "--pid/--fd select one socket; they do not go with a command (info, meminfo, explain, cgroups, top)",
        ));
    }
    for p in vmcore.paths.iter().filter(|_| !vmcore.live) {
        check_input(p, "--vmcore")?;
    }
    if let Some(v) = &cli.vmlinux {
        check_input(v, "--vmlinux")?;
    }
    if let Some(m) = &cli.system_map {
        check_input(m, "--system-map")?;
    }
    match &cli.command {
        Some(Command::Info) => info(cli, &vmcore),
        Some(Command::Read { addr, len, phys }) => read(cli, &vmcore, addr, len, *phys),
        Some(Command::Meminfo) => {
            let k = open(cli, &vmcore)?;
            let r = skbwalk::meminfo::meminfo(&k).map_err(|e| walk_failed(&vmcore, e))?;
            conclude(cli, &vmcore, &k, &r, r.complete, &r.warnings, || {
                human::meminfo(&r, &k)
            })
        }
        Some(Command::Explain { html, svg }) => {
            let k = open(cli, &vmcore)?;
            let r = skbwalk::explain::explain(&k).map_err(|e| walk_failed(&vmcore, e))?;
            // Saved before the page is written: a failed write does not lose what was learnt.
            let _ = k.save_cache();
            for (path, doc) in [
                (html, html.as_ref().map(|_| html_page::html(&r, &k))),
                (svg, svg.as_ref().map(|_| html_page::svg(&r))),
            ] {
                if let (Some(path), Some(doc)) = (path, doc) {
                    std::fs::write(path, doc)
                        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
                }
            }
            conclude(cli, &vmcore, &k, &r, r.complete, &r.warnings, || {
                human::explain(&r, &k)
            })
        }
        Some(Command::Cgroups) => {
            let k = open(cli, &vmcore)?;
            let r = skbwalk::cgroups::cgroups(&k).map_err(|e| walk_failed(&vmcore, e))?;
            conclude(cli, &vmcore, &k, &r, r.complete, &r.warnings, || {
                human::cgroups(&r, &k)
            })
        }
        Some(Command::Top {
            n,
            watch: Some(period),
            samples,
        }) => watch(cli, &vmcore, *n, *period, *samples),
        Some(Command::Top { n, .. }) => {
            let k = open(cli, &vmcore)?;
            let show = !cli.json && std::io::stderr().is_terminal();
            // The ranking keeps N sockets (text: 20 unless given); totals count every socket.
            let keep = if cli.json { *n } else { Some(n.unwrap_or(20)) };
            let mut bar = |i: usize, n: usize| {
                if show && (i.is_multiple_of(64) || i == n) {
                    let mut e = std::io::stderr().lock();
                    let _ = write!(e, "{}", progress_bar(i, n));
                    if i == n {
                        let _ = write!(e, "\r\x1b[K");
                    }
                }
            };
            let opts = skbwalk::top::TopOptions::default()
                .keep(keep)
                .progress(&mut bar);
            let res = skbwalk::top(&k, opts);
            let r = res.map_err(|e| walk_failed(&vmcore, e))?;
            conclude(cli, &vmcore, &k, &r, r.complete, &r.warnings, || {
                human::top(&r, n.unwrap_or(20), &k)
            })
        }
        None => {
            let (Some(pid), Some(fd)) = (cli.pid, cli.fd) else {
                return Err(usage(
                    "give --pid P --fd F for one socket, or a command: info, meminfo, explain, cgroups, top",
                ));
            };
            let k = open(cli, &vmcore)?;
            let r = skbwalk::socket_report(&k, pid, fd).map_err(|e| walk_failed(&vmcore, e))?;
            conclude(cli, &vmcore, &k, &r, r.complete, &r.warnings, || {
                human::socket(&r, cli.all_skbs, &k)
            })
        }
    }
}

fn open(cli: &Cli, vmcore: &Vmcore) -> Result<Kernel, ExitCode> {
    let opts = debuginfo_opts(cli);
    let k = if vmcore.live {
        let mut lo = live::options(cli.live_root.as_ref());
        lo.vmlinux = opts.vmlinux;
        lo.types = opts.types;
        skbwalk::live::open(&lo).map_err(fail)?
    } else {
        Kernel::open_parts_with(&vmcore.refs(), &opts).map_err(fail)?
    };
    if !cli.json {
        for n in k.notes() {
            say("note: ", n);
        }
    }
    Ok(k)
}

/// Where the command line says types and symbols come from.
fn debuginfo_opts(cli: &Cli) -> skbwalk::kernel::OpenOptions {
    skbwalk::kernel::OpenOptions {
        vmlinux: cli.vmlinux.clone(),
        system_map: cli.system_map.clone(),
        types: match cli.types.as_deref() {
            Some("btf") => Some(kstructs::TypesFrom::Btf),
            Some("dwarf") => Some(kstructs::TypesFrom::Dwarf),
            _ => None,
        },
        ..Default::default()
    }
}

/// `info`: what the dump is. Needs no debuginfo unless the dump lacks VMCOREINFO; when the
/// kernel cannot be located, the dump-level facts are still reported (with a warning).
fn info(cli: &Cli, vmcore: &Vmcore) -> Result<ExitCode, ExitCode> {
    if vmcore.live {
        return info_live(cli, vmcore);
    }
    let dump = vmcore.open_dump()?;
    let mut warnings: Vec<Warning> = Vec::new();
    // Without VMCOREINFO (or when debuginfo is given) the kernel is located with the vmlinux.
    let kernel = if dump.arch().is_none() || cli.vmlinux.is_some() {
        let opts = debuginfo_opts(cli);
        match Kernel::open_parts_with(&vmcore.refs(), &opts) {
            Ok(k) => Some(k),
            Err(e) => {
                warnings.push(Warning::new(
                    WarningKind::Unsupported,
                    None,
                    format!(
                        "the kernel could not be located, so only the dump's own facts are \
                         shown: {e}"
                    ),
                ));
                None
            }
        }
    } else {
        None
    };
    let dump = kernel.as_ref().and_then(|k| k.dump()).unwrap_or(&dump);
    let i = dump.info();
    let osrelease = i
        .osrelease
        .clone()
        .or_else(|| kernel.as_ref().and_then(|k| k.release_from_memory()));
    warnings.extend(dump.warnings().iter().map(|m| {
        Warning::new(
            WarningKind::Dump,
            None,
            format!("{}: {m}", vmcore.display()),
        )
    }));
    let out = human::InfoOut {
        format: i.format.clone(),
        compression: i.compression.clone(),
        page_size: i.page_size,
        pages_present: i.pages_present,
        pages_excluded: i.pages_excluded,
        osrelease,
        header_version: i.header_version,
        vmcoreinfo: i.has_vmcoreinfo,
        incomplete: i.incomplete,
        cpus: i.cpus,
        machine: i.machine.clone(),
        parts: i
            .parts
            .iter()
            .map(|p| human::PartOut {
                path: p.path.clone(),
                start_pfn: format!("{:#x}", p.start_pfn),
                end_pfn: format!("{:#x}", p.end_pfn),
                pages_present: p.pages_present,
            })
            .collect(),
        missing_pfns: i
            .missing_pfns
            .iter()
            .map(|(a, b)| (format!("{a:#x}"), format!("{b:#x}")))
            .collect(),
        complete: warnings.is_empty(),
        warnings,
        ..human::InfoOut::with_arch(dump.arch())
    };
    emit_info(cli, vmcore, &out, kernel.as_ref())
}

/// Print `info`'s report (JSON with `source`, or text after the banner and the line saying
/// what answered) and say the exit code.
fn emit_info(
    cli: &Cli,
    vmcore: &Vmcore,
    out: &human::InfoOut,
    kernel: Option<&Kernel>,
) -> Result<ExitCode, ExitCode> {
    if cli.json {
        let (source, live) = source_of(vmcore);
        emit_json(&WithDebuginfo {
            report: out,
            debuginfo: kernel.map(debuginfo_out),
            source,
            live,
        })?;
    } else {
        let line = if vmcore.live {
            live::line(&vmcore.display())
        } else {
            kernel.map(debuginfo_line).unwrap_or_default()
        };
        emit_text(&(incomplete_banner(out.complete, &out.warnings) + &line + &human::info(out)))?;
    }
    Ok(finish(cli, out.complete, &out.warnings))
}

/// `info --live`: what `/proc/kcore` says of the running kernel.
fn info_live(cli: &Cli, vmcore: &Vmcore) -> Result<ExitCode, ExitCode> {
    let k = skbwalk::live::open_kcore(&live::options(cli.live_root.as_ref())).map_err(fail)?;
    let mut warnings: Vec<Warning> = k
        .warnings()
        .iter()
        .map(|m| {
            Warning::new(
                WarningKind::Dump,
                None,
                format!("{}: {m}", vmcore.display()),
            )
        })
        .collect();
    if let Some(e) = k.layout_error() {
        warnings.push(Warning::new(WarningKind::Unsupported, None, e.to_string()));
    }
    let page_size = k.page_size();
    let ram: u64 = k
        .segments()
        .iter()
        .filter(|s| s.paddr.is_some())
        .map(|s| s.size)
        .sum();
    let out = human::InfoOut {
        format: "/proc/kcore (live)".into(),
        compression: "none".into(),
        page_size,
        pages_present: ram / page_size.max(1),
        pages_excluded: 0,
        osrelease: k.vmcoreinfo().and_then(|v| v.osrelease.clone()),
        header_version: None,
        vmcoreinfo: k.vmcoreinfo().is_some(),
        incomplete: false,
        cpus: k.notes().prstatus,
        machine: k.machine().to_string(),
        parts: Vec::new(),
        missing_pfns: Vec::new(),
        complete: warnings.is_empty(),
        warnings,
        ..human::InfoOut::with_arch(k.arch())
    };
    emit_info(cli, vmcore, &out, None)
}

/// `top --watch`: a sample every `period` seconds of the running kernel, each socket's growth
/// since the first sample; JSON is one document per sample (NDJSON).
fn watch(
    cli: &Cli,
    vmcore: &Vmcore,
    n: Option<usize>,
    period: f64,
    samples: Option<u64>,
) -> Result<ExitCode, ExitCode> {
    if !vmcore.live {
        return Err(usage(
            "top --watch samples the running kernel: give --live (a dump does not change)",
        ));
    }
    if !(0.1..=86_400.0).contains(&period) {
        return Err(usage("top --watch SECONDS: SECONDS is 0.1 to 86400"));
    }
    let period = std::time::Duration::from_secs_f64(period);
    let k = open(cli, vmcore)?;
    let t0 = std::time::Instant::now();
    let mut first = None;
    let mut done = 0u64;
    let mut complete = true;
    loop {
        let keep = if cli.json { n } else { Some(n.unwrap_or(20)) };
        let opts = skbwalk::top::TopOptions::default().keep(keep);
        let r = skbwalk::top(&k, opts).map_err(|e| walk_failed(vmcore, e))?;
        complete &= r.complete;
        let base = first.get_or_insert_with(|| live::pinned_by_sock(&r));
        let growth = live::growth(&r, base);
        done += 1;
        let elapsed = (t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        if cli.json {
            let line = serde_json::to_string(&live::Sample {
                sample: done,
                elapsed_seconds: elapsed,
                report: &r,
                growth,
                source: "live",
            })
            .map_err(|e| fail(format!("cannot write the output: {e}")))?;
            emit_text(&(line + "\n"))?;
        } else {
            let head = format!(
                "\x1b[H\x1b[2J── sample {done} at {} (+{elapsed:.1} s, every {:.1} s) ──\n",
                live::utc(std::time::SystemTime::now()),
                period.as_secs_f64()
            );
            let body = human::top(&r, n.unwrap_or(20), &k);
            emit_text(
                &(head
                    + &incomplete_banner(r.complete, &r.warnings)
                    + &body
                    + &live::growth_text(&growth, n.unwrap_or(20))),
            )?;
        }
        if samples.is_some_and(|s| done >= s) {
            break;
        }
        std::thread::sleep(live::until_next(t0, period, done as u32));
    }
    Ok(finish(cli, complete, &[]))
}

fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `read`: bytes at an address, as crash's `rd` or drgn's `prog.read` give them.
fn read(
    cli: &Cli,
    vmcore: &Vmcore,
    addr: &str,
    len: &str,
    phys: bool,
) -> Result<ExitCode, ExitCode> {
    let (Some(addr), Some(len)) = (parse_num(addr), parse_num(len)) else {
        return Err(usage(
            "read takes ADDR and LEN as hex (0x…) or decimal numbers",
        ));
    };
    if len > 1 << 20 {
        return Err(usage("read: LEN is at most 1 MiB"));
    }
    let mut buf = vec![0u8; len as usize];
    let mut kernel = None;
    let res = if phys && vmcore.live {
        use vmcore::PhysMem;
        vmcore.open_kcore()?.read_phys(addr, &mut buf)
    } else if phys {
        let d = vmcore.open_dump()?;
        d.read_phys(addr, &mut buf)
    } else {
        let k = kernel.insert(open(cli, vmcore)?);
        k.memory().read_virt(addr, &mut buf)
    };
    res.map_err(|e| fail(format!("{}: {e}", vmcore.display())))?;
    if cli.json {
        let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        let (source, live) = source_of(vmcore);
        emit_json(&WithDebuginfo {
            report: &serde_json::json!({ "addr": format!("{addr:#x}"), "physical": phys, "len": len, "hex": hex }),
            debuginfo: kernel.as_ref().map(debuginfo_out),
            source,
            live,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::with_capacity(buf.len() * 5);
    for (i, chunk) in buf.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let shown: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        let _ = writeln!(
            text,
            "{:016x}:  {:<47}  {shown}",
            addr.wrapping_add(i as u64 * 16),
            hex.join(" ")
        );
    }
    emit_text(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// One redrawn stderr line: `[#########           ] 1234/5000 sockets`.
fn progress_bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done.min(total) * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH);
    format!(
        "\r[{}{}] {done}/{total} sockets",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn progress_bar_fills_in_proportion() {
        assert_eq!(
            super::progress_bar(0, 10),
            format!("\r[{}] 0/10 sockets", " ".repeat(30))
        );
        assert_eq!(
            super::progress_bar(5, 10),
            format!("\r[{}{}] 5/10 sockets", "#".repeat(15), " ".repeat(15))
        );
        assert_eq!(
            super::progress_bar(10, 10),
            format!("\r[{}] 10/10 sockets", "#".repeat(30))
        );
        assert_eq!(
            super::progress_bar(0, 0),
            format!("\r[{}] 0/0 sockets", "#".repeat(30))
        );
    }
}
