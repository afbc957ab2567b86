#!/usr/bin/env python3
"""No kernel fact is chosen by the release string: flip OSRELEASE in a dump's VMCOREINFO to a much
older and a much newer release (same length, patched into a copy of the ELF), and every answer must
stay the same but for the release itself.

    release-flip-check.py --bin SKBWALK --vmcore ELF --vmlinux V --socket PID:FD [--prefix P]

Runs `top`, `meminfo`, `explain` and `--pid/--fd` (`--json`) with the -dbg vmlinux and with nothing
but the dump, on the original and on each flipped copy (empty layout caches). The vmlinux is accepted
by build-id, which the flip leaves alone. Prints "ok NAME" / "FAIL NAME: why" lines.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile


def vmcoreinfo_note(path):
    """(file offset, bytes) of the VMCOREINFO note's text."""
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


def flipped(release, to):
    """`release` made to look like `to`'s generation, keeping its length."""
    r = (to + release[len(to):]) if len(release) > len(to) else to[:len(release)]
    return r.encode()


def scrub(v, releases):
    """A report with every value that is a release string removed."""
    if isinstance(v, dict):
        return {k: scrub(x, releases) for k, x in v.items() if not (isinstance(x, str) and x in releases)}
    if isinstance(v, list):
        return [scrub(x, releases) for x in v]
    return v


def run(bin_, args, cache):
    env = dict(os.environ, XDG_CACHE_HOME=cache, HOME=cache)
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(cache)
    p = subprocess.run([bin_] + args, capture_output=True, env=env, timeout=600)
    return p.returncode, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--vmcore", required=True)
    ap.add_argument("--vmlinux", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--prefix", default="")
    a = ap.parse_args()
    at, text = vmcoreinfo_note(a.vmcore)
    if at is None:
        print(f"FAIL {a.prefix}release-flip: no VMCOREINFO note in {a.vmcore}")
        return
    start = text.find(b"OSRELEASE=") + len(b"OSRELEASE=")
    release = text[start:text.index(b"\n", start)].decode()
    pid, fd = a.socket.split(":")
    commands = [["top", "--json"], ["meminfo", "--json"], ["explain", "--json"],
                ["--pid", pid, "--fd", fd, "--all-skbs", "--json"]]
    work = tempfile.mkdtemp(prefix="skbw-flip-", dir=os.path.dirname(os.path.abspath(a.vmcore)))
    try:
        cache = os.path.join(work, "cache")
        base = {}
        for src in ("vmlinux", "dump"):
            for c in commands:
                extra = ["--vmlinux", a.vmlinux] if src == "vmlinux" else []
                base[(src, tuple(c))] = run(a.bin, ["--vmcore", a.vmcore] + extra + c, cache)
        copy = os.path.join(work, "vmcore.elf")
        shutil.copyfile(a.vmcore, copy)
        for to in ("2.6.32-", "99.1.0-"):
            new = flipped(release, to)
            with open(copy, "r+b") as f:
                f.seek(at + start)
                f.write(new)
            releases = {release, new.decode()}
            for (src, c), (rc0, out0) in base.items():
                name = f"{a.prefix}release-flip {new.decode()} {src} {' '.join(c)}"
                extra = ["--vmlinux", a.vmlinux] if src == "vmlinux" else []
                rc, out = run(a.bin, ["--vmcore", copy] + extra + list(c), cache)
                if rc != rc0:
                    print(f"FAIL {name}: exit {rc}, {rc0} on the original")
                    continue
                if rc0 != 0:  # refused alike (5.10 has no kallsyms in VMCOREINFO for dump-only)
                    print(f"ok {name} (exit {rc} both)")
                    continue
                try:
                    x, y = scrub(json.loads(out0), releases), scrub(json.loads(out), releases)
                except ValueError as e:
                    print(f"FAIL {name}: not JSON ({e})")
                    continue
                if x != y:
                    diff = [k for k in x if x.get(k) != y.get(k)] if isinstance(x, dict) else "?"
                    print(f"FAIL {name}: the answer changed ({diff})")
                else:
                    print(f"ok {name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
