//! makedumpfile's *flattened* format: a stream of records that place data at logical offsets.
//!
//! `makedumpfile -F` and QEMU's `dump-guest-memory -z/-l/-s` (formats `kdump-zlib`,
//! `kdump-lzo`, `kdump-snappy`) write a kdump-compressed file as a stream, so that it can go
//! through a pipe. The stream is:
//!
//! | bytes | content |
//! |---|---|
//! | 0..16 | signature `"makedumpfile"`, NUL-padded |
//! | 16..24 | type, big-endian `i64`, always 1 |
//! | 24..32 | version, big-endian `i64`, 1 |
//! | 32..4096 | zero |
//! | then, repeated | `{ offset: i64 BE, buf_size: i64 BE }` followed by `buf_size` bytes |
//!
//! A record whose offset is -1 ends the stream (so does the end of the file). Each record's data
//! belongs at `offset` of the *logical* (rearranged) file, which is what `makedumpfile -R` would
//! write out. [`FlattenedSource`] scans the records once and then serves the logical file without
//! rearranging it:
//!
//! * records may come in any order; where two records cover the same logical bytes, the **later**
//!   record wins (as it would when rearranging by writing the records in order);
//! * logical bytes no record covers, below the logical length, read as zeroes (a sparse file
//!   written by `makedumpfile -R` reads the same way); reads past the logical length fail with
//!   [`Error::Truncated`];
//! * a stream cut short inside a record keeps the part that is there ([`FlattenedSource::is_truncated`]).
//!
//! ```no_run
//! use vmcore::flattened::FlattenedSource;
//! use vmcore::source::Source;
//! let src = FlattenedSource::open("vmcore.flat".as_ref())?;
//! let mut sig = [0u8; 8];
//! src.read_at(0, &mut sig, "kdump signature")?;
//! # Ok::<(), vmcore::Error>(())
//! ```

use std::collections::BTreeMap;

use crate::pod::{self, pod, I64Be};
use crate::source::{check_range, MmapSource, Source};
use crate::{Error, Result};

/// The signature at the start of a flattened stream (NUL-padded to 16 bytes).
pub(crate) const SIGNATURE: &[u8; 16] = b"makedumpfile\0\0\0\0";
/// Size of the header block before the first record (`MAX_SIZE_MDF_HEADER`).
pub(crate) const HEADER_SIZE: u64 = 4096;
/// The only stream type there is (`TYPE_FLAT_HEADER`).
pub(crate) const TYPE_FLAT_HEADER: i64 = 1;
/// The offset of the record that ends the stream (`END_FLAG_FLAT_HEADER`).
pub(crate) const END_FLAG: i64 = -1;
/// `struct makedumpfile_header`, at the start of the header block (big-endian).
#[repr(C)]
#[derive(Clone, Copy)]
struct FlatHeader {
    signature: [u8; 16],
    kind: I64Be,
    version: I64Be,
}

/// `struct makedumpfile_data_header`: where the record's bytes go in the logical file.
#[repr(C)]
#[derive(Clone, Copy)]
struct RecordHeader {
    offset: I64Be,
    size: I64Be,
}

pod!(FlatHeader = 32, RecordHeader = 16);

/// Size of a record header.
const RECORD_HEADER_SIZE: u64 = std::mem::size_of::<RecordHeader>() as u64;

/// Whether `bytes` (the start of a file) begin a flattened stream.
///
/// Checks the signature, and the type field when at least 24 bytes are given.
pub fn is_flattened(bytes: &[u8]) -> bool {
    if bytes.len() < SIGNATURE.len() || &bytes[..SIGNATURE.len()] != SIGNATURE {
        return false;
    }
    match bytes.get(16..24) {
        Some(t) => pod::from_bytes::<I64Be>(t).is_some_and(|t| t.get() == TYPE_FLAT_HEADER),
        None => true,
    }
}

/// One piece of the logical file: `len` bytes at logical `start`, stored at `file_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Logical offset of the first byte.
    pub start: u64,
    /// Number of bytes.
    pub len: u64,
    /// Offset of the first byte in the flattened stream.
    pub file_offset: u64,
}

impl Extent {
    fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// The logical file of a flattened stream, served from the stream itself.
///
/// Build it with [`FlattenedSource::open`] (a file, memory-mapped) or
/// [`FlattenedSource::new`] / [`FlattenedSource::from_boxed`] (any other [`Source`] holding the stream).
pub struct FlattenedSource {
    inner: Box<dyn Source>,
    /// Sorted by `start`, non-overlapping, non-empty.
    extents: Vec<Extent>,
    len: u64,
    version: i64,
    records: u64,
    truncated: bool,
}

impl std::fmt::Debug for FlattenedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlattenedSource")
            .field("len", &self.len)
            .field("version", &self.version)
            .field("records", &self.records)
            .field("extents", &self.extents.len())
            .field("truncated", &self.truncated)
            .finish()
    }
}

impl FlattenedSource {
    /// Map the flattened stream at `path` and scan its records.
    pub fn open(path: &std::path::Path) -> Result<Self> {
        Self::new(MmapSource::open(path)?)
    }

    /// Scan the records of the flattened stream held by `inner` (e.g. a [`MmapSource`]).
    pub fn new<S: Source + 'static>(inner: S) -> Result<Self> {
        Self::from_boxed(Box::new(inner))
    }

    /// Scan the records of the flattened stream held by `inner`.
    ///
    /// Fails with [`Error::UnknownFormat`] without the signature, [`Error::Malformed`] for a
    /// record with a negative offset or size (other than the end marker) or whose logical end
    /// overflows, and [`Error::Truncated`] when the stream is shorter than its header block.
    pub fn from_boxed(inner: Box<dyn Source>) -> Result<Self> {
        let total = inner.len();
        let mut head = [0u8; 32];
        let n = total.min(head.len() as u64) as usize;
        inner.read_at(0, &mut head[..n], "flattened header")?;
        if n < SIGNATURE.len() || !is_flattened(&head[..n]) {
            return Err(Error::UnknownFormat(
                "no makedumpfile flattened signature".into(),
            ));
        }
        check_range(0, HEADER_SIZE, total, "flattened header block")?;
        let version = pod::from_bytes::<FlatHeader>(&head)
            .expect("a whole header")
            .version
            .get();

        let mut map = ExtentMap::default();
        let mut pos = HEADER_SIZE;
        let mut records = 0u64;
        let mut truncated = false;
        // Every record takes at least 16 bytes of the stream, so this loop runs at most total/16 times.
        while pos < total {
            if total - pos < RECORD_HEADER_SIZE {
                truncated = true;
                break;
            }
            let rh: RecordHeader = pod::read(&*inner, pos, "flattened record header")?;
            let (offset, size) = (rh.offset.get(), rh.size.get());
            if offset == END_FLAG {
                break;
            }
            let malformed = |reason: String| Error::Malformed {
                what: "flattened record",
                reason,
            };
            if offset < 0 || size < 0 {
                return Err(malformed(format!(
                    "record at stream offset {pos:#x} has offset {offset} and size {size}"
                )));
            }
            let (offset, mut size) = (offset as u64, size as u64);
            let data = pos + RECORD_HEADER_SIZE;
            if size > total - data {
                size = total - data;
                truncated = true;
            }
            if offset.checked_add(size).is_none() {
                return Err(malformed(format!(
                    "record at stream offset {pos:#x} ends past 2^64"
                )));
            }
            map.insert(Extent {
                start: offset,
                len: size,
                file_offset: data,
            });
            records += 1;
            pos = data + size;
            if truncated {
                break;
            }
        }
        let extents: Vec<Extent> = map.0.into_values().collect();
        let len = extents.last().map_or(0, Extent::end);
        Ok(FlattenedSource {
            inner,
            extents,
            len,
            version,
            records,
            truncated,
        })
    }

    /// The version field of the stream header.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Number of data records in the stream.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Whether the stream ended inside a record (the part present is kept).
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The resolved pieces of the logical file, sorted and non-overlapping.
    pub fn extents(&self) -> &[Extent] {
        &self.extents
    }

    /// Index of the first extent that ends after `offset`.
    fn first_after(&self, offset: u64) -> usize {
        self.extents.partition_point(|e| e.end() <= offset)
    }
}

impl Source for FlattenedSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn slice(&self, offset: u64, len: usize) -> Option<&[u8]> {
        let e = self.extents.get(self.first_after(offset))?;
        let end = offset.checked_add(len as u64)?;
        if e.start > offset || end > e.end() {
            return None;
        }
        self.inner.slice(e.file_offset + (offset - e.start), len)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
        check_range(offset, buf.len() as u64, self.len, what)?;
        let mut i = self.first_after(offset);
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            let rest = &mut buf[done..];
            match self.extents.get(i) {
                Some(e) if e.start <= at => {
                    let n = (e.end() - at).min(rest.len() as u64) as usize;
                    self.inner
                        .read_at(e.file_offset + (at - e.start), &mut rest[..n], what)?;
                    done += n;
                    i += 1;
                }
                Some(e) => {
                    // A hole before the next extent reads as zeroes.
                    let n = (e.start - at).min(rest.len() as u64) as usize;
                    rest[..n].fill(0);
                    done += n;
                }
                None => {
                    // Unreachable after check_range (len is the end of the last extent), but safe.
                    rest.fill(0);
                    done = buf.len();
                }
            }
        }
        Ok(())
    }
}

/// Non-overlapping extents keyed by logical start; a newer insert overrides what it covers.
#[derive(Default)]
struct ExtentMap(BTreeMap<u64, Extent>);

impl ExtentMap {
    fn insert(&mut self, new: Extent) {
        if new.len == 0 {
            return;
        }
        let (s, e) = (new.start, new.end());
        // Existing extents overlapping [s, e): the one starting before s (if it reaches past s)
        // and every one starting in [s, e).
        let mut hit: Vec<u64> = Vec::new();
        if let Some((&k, old)) = self.0.range(..s).next_back() {
            if old.end() > s {
                hit.push(k);
            }
        }
        hit.extend(self.0.range(s..e).map(|(&k, _)| k));
        for k in hit {
            let old = self.0.remove(&k).expect("key just found");
            if old.start < s {
                let left = Extent {
                    start: old.start,
                    len: s - old.start,
                    file_offset: old.file_offset,
                };
                self.0.insert(left.start, left);
            }
            if old.end() > e {
                let cut = e - old.start;
                let right = Extent {
                    start: e,
                    len: old.end() - e,
                    file_offset: old.file_offset + cut,
                };
                self.0.insert(right.start, right);
            }
        }
        self.0.insert(s, new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(records: &[(i64, &[u8])]) -> Vec<u8> {
        let mut v = vec![0u8; HEADER_SIZE as usize];
        v[..16].copy_from_slice(SIGNATURE);
        v[16..24].copy_from_slice(&1i64.to_be_bytes());
        v[24..32].copy_from_slice(&1i64.to_be_bytes());
        for (off, data) in records {
            v.extend_from_slice(&off.to_be_bytes());
            v.extend_from_slice(&(data.len() as i64).to_be_bytes());
            v.extend_from_slice(data);
        }
        v
    }

    fn open(v: Vec<u8>) -> Result<FlattenedSource> {
        FlattenedSource::new(crate::source::BytesSource(v))
    }

    fn read(src: &FlattenedSource, off: u64, n: usize) -> Vec<u8> {
        let mut b = vec![0xeeu8; n];
        src.read_at(off, &mut b, "test").unwrap();
        b
    }

    #[test]
    fn detects_signature() {
        let s = stream(&[]);
        assert!(is_flattened(&s));
        assert!(is_flattened(&s[..16]));
        assert!(!is_flattened(b"KDUMP   "));
        let mut bad = s.clone();
        bad[23] = 2;
        assert!(!is_flattened(&bad));
    }

    #[test]
    fn in_order_records_borrow() {
        let src = open(stream(&[(0, b"hello"), (5, b" world"), (-1, b"")])).unwrap();
        assert_eq!(src.len(), 11);
        assert_eq!(src.slice(0, 5), Some(&b"hello"[..]));
        assert_eq!(src.slice(3, 4), None, "spans two records");
        assert_eq!(read(&src, 3, 4), b"lo w");
        assert!(matches!(
            src.read_at(10, &mut [0; 2], "x"),
            Err(Error::Truncated { .. })
        ));
        assert_eq!(src.records(), 2);
    }

    #[test]
    fn later_records_override_and_holes_are_zero() {
        let src = open(stream(&[
            (10, b"0123456789"),
            (2, b"ab"),
            (12, b"XY"),
            (8, b"pqr"),
            (19, b"!!"),
        ]))
        .unwrap();
        assert_eq!(src.len(), 21);
        let all = read(&src, 0, 21);
        assert_eq!(&all[..], b"\0\0ab\0\0\0\0pqr1XY45678!!".as_slice());
        // Extents are sorted and disjoint.
        let ex = src.extents();
        assert!(ex.windows(2).all(|w| w[0].start + w[0].len <= w[1].start));
    }

    #[test]
    fn truncated_stream_keeps_what_is_there() {
        let mut s = stream(&[(0, b"abcdef")]);
        s.truncate(s.len() - 2);
        let src = open(s).unwrap();
        assert!(src.is_truncated());
        assert_eq!(read(&src, 0, 4), b"abcd");
    }

    #[test]
    fn rejects_bad_records() {
        assert!(matches!(
            open(stream(&[(-5, b"x")])),
            Err(Error::Malformed { .. })
        ));
        let mut s = stream(&[]);
        s.extend_from_slice(&i64::MAX.to_be_bytes());
        s.extend_from_slice(&2i64.to_be_bytes());
        s.extend_from_slice(b"zz");
        assert_eq!(
            open(s).unwrap().len(),
            i64::MAX as u64 + 2,
            "a far record is a long sparse file"
        );
        assert!(matches!(
            open(b"makedump".to_vec()),
            Err(Error::UnknownFormat(_))
        ));
        assert!(matches!(open(vec![0; 5000]), Err(Error::UnknownFormat(_))));
        let s = stream(&[]);
        assert!(matches!(
            open(s[..100].to_vec()),
            Err(Error::Truncated { .. })
        ));
    }
}
