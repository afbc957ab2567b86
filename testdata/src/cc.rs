//! Compile C with the system `gcc`: synthetic kernels with DWARF for `kstructs`' tests.
//!
//! The C programs print the layouts they were compiled with (`offsetof`, `sizeof`, bitfield
//! positions found at run time), so tests compare what a DWARF reader says with what the
//! compiler did, never with numbers typed by hand.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) -> io::Result<std::process::Output> {
    let out = cmd.output().map_err(|e| {
        io::Error::new(e.kind(), format!("cannot run {:?}: {e}", cmd.get_program()))
    })?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out)
}

/// The directory of the C sources of `kstructs`' tests (`testdata/c/kstructs`).
pub fn kstructs_c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("c")
        .join("kstructs")
}

/// Compile one C file to an object file: `gcc -c src -o out extra_args…`.
pub fn compile_object(src: &Path, out: &Path, extra_args: &[&str]) -> io::Result<()> {
    run(Command::new("gcc")
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(out)
        .args(extra_args))?;
    Ok(())
}

/// Compile and link C files into an executable: `gcc srcs… -o out extra_args…`.
pub fn compile_executable(srcs: &[&Path], out: &Path, extra_args: &[&str]) -> io::Result<()> {
    run(Command::new("gcc")
        .args(srcs)
        .arg("-o")
        .arg(out)
        .args(extra_args))?;
    Ok(())
}

/// Whether `gcc` accepts `args` for an empty program (e.g. `-gz=zstd` needs assembler and
/// linker support).
pub fn gcc_supports(args: &[&str]) -> bool {
    let dir = std::env::temp_dir().join(format!("cc-probe-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return false;
    }
    let src = dir.join("probe.c");
    let ok = std::fs::write(&src, "int main(void) { return 0; }\n").is_ok()
        && compile_executable(&[&src], &dir.join("probe"), args).is_ok();
    let _ = std::fs::remove_dir_all(&dir);
    ok
}

/// Compile `src` into an executable in a fresh temporary directory with `args`, run it, and
/// return its standard output.
pub fn compile_and_run(src: &Path, args: &[&str]) -> io::Result<String> {
    let dir = std::env::temp_dir().join(format!(
        "cc-run-{}-{}",
        std::process::id(),
        src.file_stem().and_then(|s| s.to_str()).unwrap_or("prog")
    ));
    std::fs::create_dir_all(&dir)?;
    let exe = dir.join("prog");
    compile_executable(&[src], &exe, args)?;
    let out = run(&mut Command::new(&exe))?;
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout).map_err(io::Error::other)
}

/// Run an already compiled executable and return its standard output.
pub fn run_executable(exe: &Path) -> io::Result<String> {
    let out = run(&mut Command::new(exe))?;
    String::from_utf8(out.stdout).map_err(io::Error::other)
}
