"""Small helpers the real tier's scripts share (drgn is imported only by those that need it)."""
import argparse
import os
import shutil
import struct
import subprocess


def vmcoreinfo(prog):
    """The dump's VMCOREINFO (the kernel's vmcoreinfo_data) as a dict of KEY -> text value."""
    out = {}
    for line in prog["vmcoreinfo_data"].string_().decode(errors="replace").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def compound_word(prog):
    """(offset of the word a compound tail names its head with, mask mode) for this kernel.

    Written from the kernel's include/linux/page-flags.h: to 7.0 the word is page->compound_head
    and a tail holds head + 1; from 7.1 it is page->compound_info, which holds mask | 1 (head =
    the tail's own address & mask) when compound_info_has_mask() -- CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP
    (whose zones have vmemmap_tails) with a power-of-two sizeof(struct page) -- else head + 1."""
    import drgn
    page = prog.type("struct page")
    size = drgn.sizeof(page)
    try:
        return drgn.offsetof(page, "compound_head"), False
    except LookupError:
        pass
    off = drgn.offsetof(page, "compound_info")
    try:
        drgn.offsetof(prog.type("struct zone"), "vmemmap_tails")
        hvo = True
    except LookupError:
        hvo = False
    return off, hvo and size & (size - 1) == 0


def head_of(page_addr, word, mask_mode):
    """The head struct page named by a compound word read at page_addr (page_addr when not a tail)."""
    if not word & 1:
        return page_addr
    return page_addr & (word & ~1) if mask_mode else word - 1


def flags_word(page_obj):
    """page->flags as an integer (a memdesc_flags_t struct around one word since 6.18)."""
    import drgn
    f = page_obj.flags
    if f.type_.unaliased_kind() == drgn.TypeKind.STRUCT:
        return f.f.value_()
    return f.value_()


def vmcoreinfo_note(path):
    """(file offset, bytes) of the VMCOREINFO note's text in an ELF dump, or (None, None)."""
    with open(path, "rb") as f:
        eh = f.read(64)
        phoff, = struct.unpack_from("<Q", eh, 32)
        n, = struct.unpack_from("<H", eh, 56)
        f.seek(phoff)
        ph = [struct.unpack("<IIQQQQQQ", f.read(56)) for _ in range(n)]
        for p in ph:
            if p[0] != 4:
                continue
            f.seek(p[2])
            d = f.read(p[5])
            i = 0
            while i + 12 <= len(d):
                nsz, dsz, _ = struct.unpack_from("<III", d, i)
                name = d[i + 12:i + 12 + nsz].rstrip(b"\0")
                desc_at = i + 12 + ((nsz + 3) & ~3)
                if name == b"VMCOREINFO":
                    return p[2] + desc_at, d[desc_at:desc_at + dsz]
                i = desc_at + ((dsz + 3) & ~3)
    return None, None


def skbwalk_check_args(doc):
    """The arguments of a check that runs skbwalk on one dump file: --bin --vmcore --vmlinux
    --socket PID:FD [--prefix P]."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--vmcore", required=True)
    ap.add_argument("--vmlinux", required=True)
    ap.add_argument("--socket", required=True, help="PID:FD")
    ap.add_argument("--prefix", default="")
    return ap.parse_args()


def run_skbwalk(bin_, args, cache):
    """(exit code, stdout, stderr) of skbwalk with an empty layout cache at `cache`."""
    env = dict(os.environ, XDG_CACHE_HOME=cache, HOME=cache)
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(cache)
    p = subprocess.run([bin_] + args, capture_output=True, env=env, timeout=600)
    return p.returncode, p.stdout, p.stderr
