//! Build a SYNTHETIC dump of a large machine for the census benchmark:
//! `make-census DIR GIB [--kdump] [--slab MIB]`
//! (see `testdata::census_machine`).
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(gib)) = (
        args.first().map(PathBuf::from),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: make-census DIR GIB [--kdump] [--slab MIB]");
        return ExitCode::from(2);
    };
    let slab = args
        .iter()
        .position(|a| a == "--slab")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(0);
    match testdata::census_machine::write_census_machine_with(
        &dir,
        gib,
        args.iter().any(|a| a == "--kdump"),
        slab,
    ) {
        Ok(s) => {
            println!("vmcore  {}", s.vmcore.display());
            println!("vmlinux {}", s.vmlinux.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-census: {e}");
            ExitCode::from(1)
        }
    }
}
