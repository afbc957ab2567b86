"""Sparse dump files: the tier's one rule for writing and copying ELF dumps without storing their zeros.

A guest's ELF dump is ~85 % zero pages (never-touched RAM); QEMU and plain copies store them all, which made
the tier's cache outgrow the CI machine's disk. Zero runs become holes: reads are unchanged (a hole reads as
zeros), the apparent size is unchanged, only the blocks on disk shrink.

    dig_holes(path)                      after QEMU wrote a dump
    copy_range(fi, fo, src, dst, n)      inside a rewriting copy (fix-elf-phdrs.py, add-vmcoreinfo.py)
    copy_file(src, dst[, length])        a whole (or truncated) copy
"""
import os
import subprocess
import sys

BLOCK = 64 << 10
CHUNK = 16 << 20
_ZERO = bytes(BLOCK)


def dig_holes(path):
    """Turn the zero runs of `path` into holes in place (util-linux `fallocate --dig-holes`). A filesystem
    that cannot punch holes keeps the file as it is, with a warning: the dump stays correct, only larger."""
    p = subprocess.run(["fallocate", "--dig-holes", path], capture_output=True, text=True)
    if p.returncode != 0:
        print(f"sparse: cannot dig holes in {path}: {p.stderr.strip()}", file=sys.stderr)


def copy_range(fi, fo, src_off, dst_off, size):
    """Copy `size` bytes from `fi` at `src_off` to `fo` at `dst_off`, writing only the 64 KiB blocks that
    are not all zero (the caller sizes `fo` with truncate so that skipped tail blocks read as zeros).
    Raises EOFError when `fi` ends early."""
    done = 0
    while done < size:
        fi.seek(src_off + done)
        buf = fi.read(min(CHUNK, size - done))
        if not buf:
            raise EOFError(f"short read at {src_off + done:#x}")
        view = memoryview(buf)
        for i in range(0, len(buf), BLOCK):
            piece = view[i:i + BLOCK]
            if piece != _ZERO[:len(piece)]:
                fo.seek(dst_off + done + i)
                fo.write(piece)
        done += len(buf)


def copy_file(src, dst, length=None):
    """A sparse copy of `src` (its first `length` bytes when given) at `dst`."""
    size = os.path.getsize(src) if length is None else min(length, os.path.getsize(src))
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        fo.truncate(size)
        copy_range(fi, fo, 0, 0, size)
