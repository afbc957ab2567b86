//! Every socket whose queues pin more than N times what the kernel charged them (truesize),
//! using skbwalk as a library: `cargo run -p skbwalk --example amplified -- VMCORE VMLINUX [N]`.
//!
//! The incident's question in ten lines: which sockets keep whole pages alive for small skbs?
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(vmcore), Some(vmlinux)) = (args.first(), args.get(1)) else {
        eprintln!("usage: amplified VMCORE VMLINUX [N (default 5)]");
        return ExitCode::from(2);
    };
    let over: f64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(5.0);
    let report = skbwalk::Kernel::open(vmcore.as_ref(), Some(vmlinux.as_ref()))
        .and_then(|k| skbwalk::top(&k, Default::default()));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("amplified: {e}");
            return ExitCode::from(1);
        }
    };
    // writeln! rather than println!: a reader that goes away (`| head`) ends the run quietly
    let mut out = std::io::stdout().lock();
    let mut n = 0;
    for s in report
        .sockets
        .iter()
        .filter(|s| s.totals.amplification > over)
    {
        n += 1;
        let line = writeln!(
            out,
            "pid {:>7} {:<15} fd {:>4}  {} {:<12} pins {:>12} bytes for {:>10} of truesize ({:.1}x)",
            s.pid.map_or("-".into(), |p| p.to_string()),
            s.comm.as_deref().unwrap_or("-"),
            s.fd.map_or("-".into(), |f| f.to_string()),
            s.id.family,
            s.id.state,
            s.totals.pinned_bytes,
            s.totals.truesize,
            s.totals.amplification
        );
        if line.is_err() {
            return ExitCode::SUCCESS;
        }
    }
    if writeln!(
        out,
        "{n} of {} sockets pin over {over}x their truesize",
        report.sockets.len()
    )
    .is_err()
    {
        return ExitCode::SUCCESS;
    }
    if !report.complete {
        eprintln!(
            "amplified: the dump is damaged; {} warnings",
            report.warnings.len()
        );
    }
    ExitCode::SUCCESS
}
