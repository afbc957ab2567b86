#!/usr/bin/env python3
"""No kernel fact is chosen by the release string: flip OSRELEASE in a dump's VMCOREINFO to a much
older and a much newer release (same length, patched into a copy of the ELF), and every answer must
stay the same but for the release itself.

    release-flip-check.py --bin SKBWALK --vmcore ELF --vmlinux V --socket PID:FD [--prefix P]

Runs `top`, `meminfo`, `explain` and `--pid/--fd` (`--json`) with the -dbg vmlinux and with nothing
but the dump, on the original and on each flipped copy (empty layout caches). The vmlinux is accepted
by build-id, which the flip leaves alone. Prints "ok NAME" / "FAIL NAME: why" lines.
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from drgnkit import run_skbwalk, skbwalk_check_args, vmcoreinfo_note  # noqa: E402


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


def main():
    a = skbwalk_check_args(__doc__)
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
                base[(src, tuple(c))] = run_skbwalk(a.bin, ["--vmcore", a.vmcore] + extra + c, cache)[:2]
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
                rc, out, _ = run_skbwalk(a.bin, ["--vmcore", copy] + extra + list(c), cache)
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
