#!/usr/bin/env python3
"""Copy an ELF64 core so its program headers follow the ELF header directly (e_phoff = 64).

QEMU's dump-guest-memory puts the program headers after the notes; makedumpfile 1.7.x assumes the
/proc/vmcore layout (phdrs right after the ELF header).  Segment data is copied sparsely (sparse.py: zero
blocks stay holes) and each p_offset is rewritten; section headers (QEMU uses one only for > 65535 phdrs) are carried over.

usage: fix-elf-phdrs.py IN OUT
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sparse  # noqa: E402

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
SHDR = struct.Struct("<IIQQQQIIQQ")
PN_XNUM = 0xFFFF


def main():
    src, dst = sys.argv[1], sys.argv[2]
    fi = open(src, "rb")
    eh = list(EHDR.unpack(fi.read(EHDR.size)))
    ident, e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize, e_shnum = eh[0], eh[5], eh[6], eh[9], eh[10], eh[11], eh[12]
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
        sys.exit(f"{src}: not a little-endian ELF64 file")
    shdr0 = None
    if e_phnum == PN_XNUM:
        fi.seek(e_shoff)
        shdr0 = list(SHDR.unpack(fi.read(SHDR.size)))
        e_phnum = shdr0[7]  # sh_info holds the real count
    fi.seek(e_phoff)
    phdrs = [list(PHDR.unpack(fi.read(e_phentsize)[:PHDR.size])) for _ in range(e_phnum)]

    pos = EHDR.size + e_phnum * PHDR.size
    if shdr0 is not None:
        new_shoff = pos
        pos += SHDR.size
    plan = []
    for ph in phdrs:
        p_offset, p_filesz = ph[2], ph[5]
        if ph[0] == 1:  # PT_LOAD: keep page alignment of the data
            pos = (pos + 4095) & ~4095
        plan.append((p_offset, pos, p_filesz))
        ph[2] = pos
        pos += p_filesz

    eh[5] = EHDR.size
    eh[9] = PHDR.size
    if shdr0 is not None:
        eh[6] = new_shoff
        eh[12] = 1
        eh[13] = 0
    else:
        eh[6], eh[11], eh[12], eh[13] = 0, 0, 0, 0
    with open(dst, "wb") as fo:
        fo.write(EHDR.pack(*eh))
        for ph in phdrs:
            fo.write(PHDR.pack(*ph))
        if shdr0 is not None:
            fo.write(SHDR.pack(*shdr0))
        fo.truncate(pos)
        for old, new, size in plan:
            try:
                sparse.copy_range(fi, fo, old, new, size)
            except EOFError as e:
                sys.exit(f"{src}: {e}")


if __name__ == "__main__":
    main()
