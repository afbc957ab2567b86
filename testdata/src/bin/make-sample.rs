//! Build the bundled SYNTHETIC sample dump (the incident's shape) into a directory.
//!
//! `make-sample DIR [--kdump]` writes `DIR/vmcore.elf` (and with `--kdump`, `DIR/vmcore.kdump`,
//! kdump-compressed zlib) plus `DIR/kernel/vmlinux`, and prints the paths.

use std::path::PathBuf;
use std::process::ExitCode;

use testdata::sample::{qemu_kdump, write_sample, SampleSize};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: make-sample DIR [--kdump]");
        return ExitCode::from(2);
    };
    let kdump = args.any(|a| a == "--kdump");
    let (sample, w) = match write_sample(&dir, SampleSize::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("make-sample: {e}");
            return ExitCode::from(1);
        }
    };
    println!("vmcore  {}", sample.vmcore.display());
    println!("vmlinux {}", sample.vmlinux.display());
    if kdump {
        let path = dir.join("vmcore.kdump");
        if let Err(e) = std::fs::write(&path, qemu_kdump(&w)) {
            eprintln!("make-sample: {}: {e}", path.display());
            return ExitCode::from(1);
        }
        println!("kdump   {}", path.display());
    }
    ExitCode::SUCCESS
}
