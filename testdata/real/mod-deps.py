#!/usr/bin/env python3
"""Resolve kernel-module dependencies from the modules' own .modinfo sections (no depmod, no install).

usage: mod-deps.py MODULES_DIR NAME...   -> prints the module paths (relative to MODULES_DIR) in load order,
skipping modules listed in MODULES_DIR/modules.builtin.  Debian's split packages (sid, 7.x: linux-modules-<abi>)
ship no modules.builtin: there a module absent from the tree is built in (virtio, virtio_pci), said on stderr.  Modules may be compressed (.ko.xz, as Debian 13
ships them; .ko.zst, .ko.gz): the path printed is the file's own, `ko-data` of it is the ELF.
       mod-deps.py --cat MODULE_PATH            -> the module's ELF on stdout (decompressed)
"""
import os
import sys


SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


def ko_data(path):
    """The ELF bytes of a module file, decompressed when it is compressed."""
    if path.endswith(".xz"):
        import lzma
        return lzma.open(path).read()
    if path.endswith(".gz"):
        import gzip
        return gzip.open(path).read()
    if path.endswith(".zst"):
        import subprocess
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return open(path, "rb").read()


def modinfo(path):
    """Return the .modinfo key/value pairs of an ELF64 LE .ko file (compressed or not)."""
    import struct
    data = ko_data(path)
    if data[:4] != b"\x7fELF":
        raise SystemExit(f"{path}: not an ELF file (compressed module?)")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    secs = []
    for i in range(shnum):
        name, typ, flags, addr, off, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        secs.append((name, off, size))
    stroff = secs[shstrndx][1]
    out = {}
    for name, off, size in secs:
        end = data.index(b"\0", stroff + name)
        if data[stroff + name:end] == b".modinfo":
            for item in data[off:off + size].split(b"\0"):
                if b"=" in item:
                    k, v = item.decode(errors="replace").split("=", 1)
                    out.setdefault(k, []).append(v)
    return out


def main():
    if sys.argv[1] == "--cat":
        sys.stdout.buffer.write(ko_data(sys.argv[2]))
        return
    root, wanted = sys.argv[1], sys.argv[2:]
    norm = lambda n: n.replace("-", "_")
    index = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            for suf in SUFFIXES:
                if f.endswith(suf):
                    index[norm(f[:-len(suf)])] = os.path.relpath(os.path.join(dirpath, f), root)
    builtin = set()
    bpath = os.path.join(root, "modules.builtin")
    have_builtin_list = os.path.exists(bpath)
    if have_builtin_list:
        for line in open(bpath):
            base = os.path.basename(line.strip())
            for suf in SUFFIXES:
                if base.endswith(suf):
                    builtin.add(norm(base[:-len(suf)]))
    order, seen = [], set()

    def visit(name):
        name = norm(name)
        if name in seen or name in builtin:
            return
        seen.add(name)
        if name not in index:
            if not have_builtin_list:
                print(f"mod-deps: {name} is not under {root} and there is no modules.builtin: built in",
                      file=sys.stderr)
                return
            raise SystemExit(f"module {name} not found under {root}")
        deps = modinfo(os.path.join(root, index[name])).get("depends", [""])[0]
        for d in filter(None, deps.split(",")):
            visit(d)
        order.append(index[name])

    for w in wanted:
        visit(w)
    print("\n".join(order))


if __name__ == "__main__":
    main()
