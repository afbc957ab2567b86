//! Build a SYNTHETIC dump of a large machine for the census benchmark: `make-census DIR GIB [--kdump]`
//! (see `testdata::census_machine`).
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(gib)) = (
        args.first().map(PathBuf::from),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: make-census DIR GIB");
        return ExitCode::from(2);
    };
    match testdata::census_machine::write_census_machine(
        &dir,
        gib,
        args.iter().any(|a| a == "--kdump"),
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
