//! Build a large SYNTHETIC dump for the scale benchmark: `make-scale DIR SOCKETS SKBS [--kdump]`
//! (see [`testdata::scale`]; `--kdump` writes the same memory as a zlib kdump beside the ELF).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(sockets), Some(skbs)) = (
        args.first().map(PathBuf::from),
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: make-scale DIR SOCKETS SKBS [--kdump]");
        return ExitCode::from(2);
    };
    let kdump = match args.get(3).map(String::as_str) {
        None => false,
        Some("--kdump") => true,
        Some(other) => {
            eprintln!("make-scale: unknown argument {other:?} (usage: make-scale DIR SOCKETS SKBS [--kdump])");
            return ExitCode::from(2);
        }
    };
    match testdata::scale::write_scale_with(&dir, sockets, skbs, kdump) {
        Ok(d) => {
            println!("vmcore  {}", d.vmcore.display());
            if let Some(k) = &d.kdump {
                println!("kdump   {}", k.display());
            }
            println!("vmlinux {}", d.vmlinux.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-scale: {e}");
            ExitCode::from(1)
        }
    }
}
