//! `skbwalk`: where the memory of a Linux crash dump is.
//!
//! See `../shared/spec/cli.md` for the contract: flags, commands, JSON keys and exit codes.

mod human;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use skbwalk::Kernel;

/// Where the memory is: sockets, sk_buffs and the pages they pin, from a crash dump.
#[derive(Parser, Debug)]
#[command(name = "skbwalk", version, about)]
struct Cli {
    /// The dump: ELF (QEMU dump-guest-memory, /proc/vmcore) or kdump-compressed (makedumpfile, QEMU kdump-*).
    #[arg(long, global = true, value_name = "PATH")]
    vmcore: Option<PathBuf>,
    /// The kernel's debuginfo (vmlinux with DWARF); found by the dump's release when omitted.
    #[arg(long, global = true, value_name = "PATH")]
    vmlinux: Option<PathBuf>,
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
    /// Every socket of every task, ranked by the memory it pins.
    Top {
        /// Show the first N sockets (all in JSON unless given).
        #[arg(short = 'n', long = "count", value_name = "N")]
        n: Option<usize>,
    },
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("skbwalk: {msg}");
    ExitCode::from(1)
}

fn print_json<T: serde::Serialize>(v: &T) -> ExitCode {
    use std::io::Write;
    // Streamed: a report of a million skbs is never held as one string.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match serde_json::to_writer_pretty(&mut out, v)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot write JSON: {e}")),
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("skbwalk: {msg}\n\nRun `skbwalk --help` for usage.");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(vmcore) = cli.vmcore.clone() else {
        return usage("--vmcore PATH is required");
    };
    if !vmcore.exists() {
        return fail(format!(
            "{}: no such file (the --vmcore dump)",
            vmcore.display()
        ));
    }
    if cli.command.is_some() && (cli.pid.is_some() || cli.fd.is_some()) {
        return usage("--pid/--fd select one socket; they do not go with a command (info, top)");
    }
    match &cli.command {
        Some(Command::Info) => info(&cli, &vmcore),
        Some(Command::Read { addr, len, phys }) => read(&cli, &vmcore, addr, len, *phys),
        Some(Command::Top { n }) => {
            let k = match open(&cli, &vmcore) {
                Ok(k) => k,
                Err(code) => return code,
            };
            let show = !cli.json && std::io::stderr().is_terminal();
            let res = skbwalk::top(&k, |i, n| {
                if show && (i % 64 == 0 || i == n) {
                    eprint!("{}", progress_bar(i, n));
                    if i == n {
                        eprint!("\r\x1b[K");
                    }
                }
            });
            match res {
                Ok(mut r) => {
                    if cli.json {
                        if let Some(n) = n {
                            r.sockets.truncate(*n);
                        }
                        print_json(&r)
                    } else {
                        print!("{}", human::top(&r, n.unwrap_or(20), &k));
                        warn_all(&r.warnings);
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => fail(e),
            }
        }
        None => {
            let (Some(pid), Some(fd)) = (cli.pid, cli.fd) else {
                return usage("give --pid P --fd F for one socket, or a command: info, top");
            };
            let k = match open(&cli, &vmcore) {
                Ok(k) => k,
                Err(code) => return code,
            };
            match skbwalk::socket_report(&k, pid, fd) {
                Ok(r) => {
                    if cli.json {
                        print_json(&r)
                    } else {
                        print!("{}", human::socket(&r, cli.all_skbs, &k));
                        warn_all(&r.warnings);
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => fail(e),
            }
        }
    }
}

fn warn_all(w: &[String]) {
    for w in w {
        eprintln!("warning: {w}");
    }
}

fn open(cli: &Cli, vmcore: &std::path::Path) -> Result<Kernel, ExitCode> {
    if let Some(v) = &cli.vmlinux {
        if !v.exists() {
            return Err(fail(format!(
                "{}: no such file (the --vmlinux debuginfo)",
                v.display()
            )));
        }
    }
    let k = Kernel::open(vmcore, cli.vmlinux.as_deref()).map_err(fail)?;
    if !cli.json {
        for n in &k.notes {
            eprintln!("note: {n}");
        }
    }
    Ok(k)
}

/// `info`: what the dump is. Needs no debuginfo unless the dump lacks VMCOREINFO.
fn info(cli: &Cli, vmcore: &std::path::Path) -> ExitCode {
    let dump = match vmcore::Dump::open(vmcore) {
        Err(e) => return fail(format!("{}: {e}", vmcore.display())),
        Ok(d) => d,
    };
    // Without VMCOREINFO (or when debuginfo is given) the kernel is located with the vmlinux.
    let kernel = if dump.layout().is_none() || cli.vmlinux.is_some() {
        match open(cli, vmcore) {
            Ok(k) => Some(k),
            Err(code) => return code,
        }
    } else {
        None
    };
    let dump = kernel.as_ref().map_or(&dump, |k| &k.dump);
    let i = dump.info();
    let layout = dump.layout();
    let osrelease = i
        .osrelease
        .clone()
        .or_else(|| kernel.as_ref().and_then(|k| k.release_from_memory()));
    let out = human::InfoOut {
        format: i.format.clone(),
        compression: i.compression.clone(),
        page_size: i.page_size,
        pages_present: i.pages_present,
        pages_excluded: i.pages_excluded,
        osrelease,
        kaslr_offset: layout.map(|l| format!("{:#x}", l.kaslr_offset)),
        phys_base: layout.map(|l| format!("{:#x}", l.phys_base)),
        paging_levels: layout.map(|l| l.levels),
        header_version: i.header_version,
        vmcoreinfo: i.has_vmcoreinfo,
        incomplete: i.incomplete,
        cpus: i.cpus,
    };
    if cli.json {
        print_json(&out)
    } else {
        print!("{}", human::info(&out));
        ExitCode::SUCCESS
    }
}

fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `read`: bytes at an address, as crash's `rd` or drgn's `prog.read` give them.
fn read(cli: &Cli, vmcore: &std::path::Path, addr: &str, len: &str, phys: bool) -> ExitCode {
    let (Some(addr), Some(len)) = (parse_num(addr), parse_num(len)) else {
        return usage("read takes ADDR and LEN as hex (0x…) or decimal numbers");
    };
    if len > 1 << 20 {
        return usage("read: LEN is at most 1 MiB");
    }
    let mut buf = vec![0u8; len as usize];
    let res = if phys {
        match vmcore::Dump::open(vmcore) {
            Ok(d) => d.read_phys(addr, &mut buf),
            Err(e) => return fail(format!("{}: {e}", vmcore.display())),
        }
    } else {
        let k = match open(cli, vmcore) {
            Ok(k) => k,
            Err(code) => return code,
        };
        k.dump.read_virt(addr, &mut buf)
    };
    if let Err(e) = res {
        return fail(format!("{}: {e}", vmcore.display()));
    }
    if cli.json {
        let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        return print_json(
            &serde_json::json!({ "addr": format!("{addr:#x}"), "physical": phys, "len": len, "hex": hex }),
        );
    }
    for (i, chunk) in buf.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        println!(
            "{:016x}:  {:<47}  {text}",
            addr + i as u64 * 16,
            hex.join(" ")
        );
    }
    ExitCode::SUCCESS
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
