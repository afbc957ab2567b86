//! Build a large SYNTHETIC dump for the scale benchmark: `make-scale DIR SOCKETS SKBS`
//! (see [`testdata::scale`]).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(sockets), Some(skbs)) = (
        args.first().map(PathBuf::from),
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: make-scale DIR SOCKETS SKBS");
        return ExitCode::from(2);
    };
    match testdata::scale::write_scale(&dir, sockets, skbs) {
        Ok(d) => {
            println!("vmcore  {}", d.vmcore.display());
            println!("vmlinux {}", d.vmlinux.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-scale: {e}");
            ExitCode::from(1)
        }
    }
}
