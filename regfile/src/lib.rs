//! Opening input files the way a forensic tool must: regular files only (a FIFO, a directory or a
//! device is refused by name, never waited on), opened without blocking, and read whole only under
//! a bound.
//!
//! ```
//! let dir = std::env::temp_dir();
//! let err = regfile::open(&dir).unwrap_err();
//! assert_eq!(err.to_string(), "is a directory, not a regular file");
//! ```
#![deny(missing_docs)]

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What a path is, in words, when it is not a regular file.
fn kind(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Open `path` read-only if it is a regular file, with its length.
///
/// The open never blocks (`O_NONBLOCK`: a FIFO cannot hang it) and the type is checked on the
/// open file, so a path swapped between check and open changes nothing. Errors are the operating
/// system's (no such file, permission denied, too many symbolic links, name too long) or
/// `InvalidInput` naming what the path is instead.
pub fn open(path: &Path) -> io::Result<(File, u64)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("is {}, not a regular file", kind(meta.file_type())),
        ));
    }
    Ok((file, meta.len()))
}

/// Read a whole regular file of at most `max` bytes.
///
/// A longer file is `InvalidData` ("N bytes, more than the M this file may have"); the read itself
/// is bounded too, so a file that grows while it is read cannot make it allocate more.
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let (file, len) = open(path)?;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{len} bytes, more than the {max} this file may have"),
        ));
    }
    let mut out = Vec::with_capacity(len as usize);
    file.take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("more than the {max} bytes this file may have"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("regfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn refuses_what_is_not_a_regular_file_without_blocking() {
        let d = tmp("kinds");
        let fifo = d.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path and a mode.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = open(&fifo).unwrap_err();
        assert_eq!(e.to_string(), "is a FIFO (named pipe), not a regular file");
        assert_eq!(
            open(&d).unwrap_err().to_string(),
            "is a directory, not a regular file"
        );
        assert_eq!(
            open(Path::new("/dev/null")).unwrap_err().to_string(),
            "is a character device, not a regular file"
        );
        let a = d.join("a");
        let b = d.join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        assert_eq!(open(&a).unwrap_err().raw_os_error(), Some(libc::ELOOP));
        let long = d.join("x".repeat(300));
        assert_eq!(
            open(&long).unwrap_err().raw_os_error(),
            Some(libc::ENAMETOOLONG)
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn bounded_read() {
        let d = tmp("bounded");
        let f = d.join("f");
        std::fs::write(&f, [7u8; 100]).unwrap();
        assert_eq!(read_bounded(&f, 100).unwrap().len(), 100);
        let e = read_bounded(&f, 99).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // /dev/zero is endless: refused as a device, never read
        assert!(read_bounded(Path::new("/dev/zero"), 1 << 20).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
