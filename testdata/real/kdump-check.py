#!/usr/bin/env python3
"""Describe a kdump-compressed (diskdump) file: header status + what the page descriptors really say.

Guards against makedumpfile silently writing an uncompressed dump when asked for a compression its build
lacks.  usage: kdump-check.py FILE [--expect zlib|lzo|snappy|zstd|none]   (prints JSON; exit 1 on mismatch)
Flattened files (makedumpfile -F / QEMU kdump-*) are reported as such; rebuild them with makedumpfile -R.
"""
import json
import struct
import sys

FLAGS = {0x1: "zlib", 0x2: "lzo", 0x4: "snappy", 0x20: "zstd"}


def main():
    path = sys.argv[1]
    expect = sys.argv[sys.argv.index("--expect") + 1] if "--expect" in sys.argv else None
    f = open(path, "rb")
    head = f.read(4096)
    if head.startswith(b"makedumpfile"):
        print(json.dumps({"file": path, "format": "flattened"}))
        return
    if head[:8] != b"KDUMP   ":
        sys.exit(f"{path}: not a kdump-compressed file (signature {head[:8]!r})")
    header_version, = struct.unpack_from("<i", head, 8)
    utsname = [head[12 + i * 65:12 + (i + 1) * 65].split(b"\0")[0].decode() for i in range(6)]
    status, block_size, sub_hdr_size, bitmap_blocks, max_mapnr = struct.unpack_from("<IiiII", head, 424)
    f.seek(block_size)
    sub = f.read(block_size * sub_hdr_size)
    if header_version >= 6:
        max_mapnr, = struct.unpack_from("<Q", sub, 96)  # kdump_sub_header.max_mapnr_64
    bitmap_off = (1 + sub_hdr_size) * block_size
    half = bitmap_blocks * block_size // 2
    f.seek(bitmap_off + half)
    dumpable = int.from_bytes(f.read(half), "little").bit_count()
    f.seek(bitmap_off + 2 * half)
    counts = {}
    stored = 0
    descs = f.read(24 * dumpable)
    for i in range(dumpable):
        off, size, flags, _ = struct.unpack_from("<qIIQ", descs, 24 * i)
        kind = FLAGS.get(flags & 0x27, "none" if flags == 0 else hex(flags))
        counts[kind] = counts.get(kind, 0) + 1
        stored += size
    comp = [n for b, n in FLAGS.items() if status & b]
    out = {"file": path, "format": "kdump", "header_version": header_version, "utsname_release": utsname[2],
           "block_size": block_size, "status": hex(status), "header_compression": comp[0] if comp else "none",
           "max_mapnr": max_mapnr, "pages_dumpable": dumpable, "page_desc_flags": counts,
           "stored_page_bytes": stored}
    print(json.dumps(out))
    if expect:
        compressed = counts.get(expect, 0)
        if (expect == "none" and comp) or (expect != "none" and (expect not in comp or compressed == 0)):
            sys.exit(f"{path}: expected {expect} compression, header says {comp or 'none'}, descs {counts}")


if __name__ == "__main__":
    main()
