#!/usr/bin/env python3
"""Graft a VMCOREINFO note onto an ELF dump that lacks one (QEMU without -device vmcoreinfo), so drgn can open it.

The running kernel keeps its own VMCOREINFO ELF note in memory (crash_core's `vmcoreinfo_note`, filled at
boot by crash_save_vmcoreinfo_init): an Elf64_Nhdr {namesz=11, descsz, type=0}, "VMCOREINFO\\0", then the
text ("OSRELEASE=...").  We find it by scanning the dump's PT_LOAD data, then write a copy of the dump with
the program headers right after the ELF header (as fix-elf-phdrs.py does) and one extra PT_NOTE holding the
note.  Only the oracle's input is doctored; the tool under test reads the original dump.

usage: add-vmcoreinfo.py IN OUT      (prints the note's KERNELOFFSET and where it was found)
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sparse  # noqa: E402

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
MAGIC = b"VMCOREINFO\x00\x00OSRELEASE="
CHUNK = 64 << 20


def read_phdrs(f):
    eh = list(EHDR.unpack(f.read(EHDR.size)))
    if eh[0][:4] != b"\x7fELF":
        sys.exit("not an ELF file")
    if eh[10] == 0xFFFF:
        sys.exit("PN_XNUM dumps are not handled")
    f.seek(eh[5])
    return eh, [list(PHDR.unpack(f.read(eh[9])[:PHDR.size])) for _ in range(eh[10])]


def find_note(f, phdrs):
    notes = []
    for ph in phdrs:
        if ph[0] != 1:
            continue
        off, size, paddr = ph[2], ph[5], ph[4]
        pos = 0
        while pos < size:
            f.seek(off + pos)
            buf = f.read(min(CHUNK + len(MAGIC), size - pos))
            i = buf.find(MAGIC)
            while i >= 0:
                if i >= 12:
                    namesz, descsz, ntype = struct.unpack_from("<III", buf, i - 12)
                    if namesz == 11 and ntype == 0 and 0 < descsz < 8192:
                        f.seek(off + pos + i + 12)
                        desc = f.read(descsz)
                        if b"KERNELOFFSET=" in desc or b"PAGESIZE=" in desc:
                            notes.append((paddr + pos + i - 12, struct.pack("<III", 11, descsz, 0) +
                                          b"VMCOREINFO\x00\x00" + desc + b"\x00" * (-descsz % 4)))
                i = buf.find(MAGIC, i + 1)
            pos += CHUNK
    return notes


def main():
    src, dst = sys.argv[1], sys.argv[2]
    fi = open(src, "rb")
    eh, phdrs = read_phdrs(fi)
    if any(ph[0] == 4 and _has_vmcoreinfo(fi, ph) for ph in phdrs):
        print("input already has a VMCOREINFO note", file=sys.stderr)
    notes = find_note(fi, phdrs)
    if not notes:
        sys.exit(f"{src}: no VMCOREINFO note found in memory")
    texts = {n[1] for n in notes}
    if len(texts) > 1:
        print(f"warning: {len(texts)} different VMCOREINFO notes in memory; using the first", file=sys.stderr)
    paddr, note = notes[0]
    phdrs.append([4, 0, 0, 0, 0, len(note), len(note), 0])
    pos = EHDR.size + len(phdrs) * PHDR.size
    plan = []
    for ph in phdrs[:-1]:
        if ph[0] == 1:
            pos = (pos + 4095) & ~4095
        plan.append((ph[2], pos, ph[5]))
        ph[2] = pos
        pos += ph[5]
    phdrs[-1][2] = pos
    eh[5], eh[9], eh[10] = EHDR.size, PHDR.size, len(phdrs)
    eh[6], eh[11], eh[12], eh[13] = 0, 0, 0, 0
    with open(dst + ".tmp", "wb") as fo:
        fo.write(EHDR.pack(*eh))
        for ph in phdrs:
            fo.write(PHDR.pack(*ph))
        fo.truncate(pos)
        for old, new, size in plan:
            try:
                sparse.copy_range(fi, fo, old, new, size)
            except EOFError as e:
                sys.exit(f"{src}: {e}")
        fo.seek(pos)
        fo.write(note)
    os.rename(dst + ".tmp", dst)
    text = note[24:].decode(errors="replace")
    ko = [l for l in text.splitlines() if l.startswith("KERNELOFFSET=")]
    print(f"VMCOREINFO note found at paddr {paddr:#x} ({len(notes)} copies); {ko[0] if ko else 'no KERNELOFFSET'}")


def _has_vmcoreinfo(f, ph):
    f.seek(ph[2])
    return b"VMCOREINFO" in f.read(ph[5])


if __name__ == "__main__":
    main()
