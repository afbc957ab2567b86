#!/usr/bin/env python3
"""A filtered dump that lost pages the walk needs must say so: every answer INCOMPLETE.

makedumpfile -d 31 of a kernel it does not know (bookworm's 1.7.2 on 6.12 and 7.x takes slab pages
for page cache and drops them) keeps too little for the walk. Users on new kernels hold exactly such
dumps. On one (make-dumps.sh writes A/lossy-d31.kdump for those kernels):

    lossy-check.py --bin SKBWALK --vmcore KDUMP --vmlinux V --socket PID:FD [--prefix P]

`top`, `meminfo`, `explain` and `--pid/--fd` (`--json`, with the vmlinux and with the dump alone)
must each exit 0 with "complete": false and a warning that names the exclusion — or, where what a
command starts from was itself filtered out (a socket's `struct file` on a dropped slab page), exit 1
with one line naming the exclusion — and explain's summary must start "INCOMPLETE" (no conclusion
drawn from a part of the dump). Prints "ok NAME" /
"FAIL NAME: why" lines.
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from drgnkit import run_skbwalk, skbwalk_check_args  # noqa: E402


def main():
    a = skbwalk_check_args(__doc__)
    pid, fd = a.socket.split(":")
    cache = tempfile.mkdtemp(prefix="skbw-lossy-")
    try:
        for src, extra in (("vmlinux", ["--vmlinux", a.vmlinux]), ("dump", [])):
            for c in (["top", "--json"], ["meminfo", "--json"], ["explain", "--json"],
                      ["--pid", pid, "--fd", fd, "--json"]):
                name = f"{a.prefix}lossy-d31 {src} {' '.join(c)}"
                rc, out, err = run_skbwalk(a.bin, ["--vmcore", a.vmcore] + extra + c, cache)
                msg = err.decode(errors="replace")
                if rc == 1 and "excluded" in msg and len(msg.strip().splitlines()) == 1:
                    # the object a command starts from was filtered out (nginx's files_struct or
                    # struct file on a dropped slab page): one line naming the exclusion is the
                    # answer, never a total
                    print(f"ok {name} (refused: the exclusion named)")
                    continue
                if rc != 0:
                    print(f"FAIL {name}: exit {rc}: {msg[:200]}")
                    continue
                r = json.loads(out)
                errs = []
                if r.get("complete") is not False:
                    errs.append(f"complete is {r.get('complete')!r}")
                msgs = [x.get("message", "") for x in r.get("warnings", [])]
                if not any("excluded" in m for m in msgs):
                    errs.append(f"no warning names the exclusion ({len(msgs)} warnings)")
                if c[0] == "explain" and not r.get("summary", "").startswith("INCOMPLETE"):
                    errs.append(f"explain concludes from part of the dump: {r.get('summary', '')[:120]!r}")
                print(f"FAIL {name}: {'; '.join(errs)}" if errs else f"ok {name}")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
