#!/usr/bin/env python3
"""Check a fresh capture before the tier relies on it (make-dumps.sh runs it after each boot).

A capture is a race between the host and a guest: whether the stalled sender had data queued behind
its unacknowledged data at the stop, or whether makedumpfile's filter kept every page drgn needs to walk
the scenario sockets, depends on timing.  The tier's sanity checks would then fail on a good skbwalk.
This script applies the same rules (sanity.py) with the oracle (drgn) to the capture's ELF right away,
and checks that drgn can walk every scenario socket (and the oracle's --all) in each makedumpfile dump;
make-dumps.sh captures
again (logging the reason) when it fails, so a fresh tier gives the same verdicts every time.

    capture-check.py --dir BOOT_DIR --vmlinux VMLINUX [--generation G]
        -> "capture-check: ok ..." or the reasons, exit 1

A dump without VMCOREINFO (boot C) cannot be opened by drgn: for it only the guest's own
confirmations (capture.py) stand.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import drgnkit  # noqa: E402
import oracle  # noqa: E402
import sanity  # noqa: E402
from drgn.helpers.linux.fs import for_each_file  # noqa: E402
from drgn.helpers.linux.pid import find_task  # noqa: E402


def has_vmcoreinfo(elf):
    return drgnkit.vmcoreinfo_note(elf)[0] is not None


def reports(k, sockets):
    """(socket, report or None, error or None) for every manifest socket."""
    for s in sockets:
        try:
            task = find_task(k.p, s["pid"])
            if not task:
                yield s, None, f"no task with pid {s['pid']}"
                continue
            file = next((f for fd, f in for_each_file(task) if fd == s["fd"]), None)
            if file is None:
                yield s, None, f"pid {s['pid']} has no fd {s['fd']}"
                continue
            rep, _ = oracle.socket_report(k, task, s["fd"], file)
            yield s, rep, None
        except Exception as e:  # a fault while walking: the dump lacks what the walk needs
            yield s, None, f"{type(e).__name__}: {e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--vmlinux", required=True)
    ap.add_argument("--generation", default="6.1", help="the kernel generation (make-dumps.sh SKBWALK_KERNEL)")
    a = ap.parse_args()
    cap = json.load(open(os.path.join(a.dir, "capture.json")))
    sockets = cap["sockets"]
    elf = os.path.join(a.dir, "vmcore.elf")
    errs, checked = [], "the guest's confirmations only (no VMCOREINFO in the ELF)"
    if has_vmcoreinfo(elf):
        checked = f"{len(sockets)} sockets"
        k = oracle.Kernel(elf, a.vmlinux, crosscheck=False)
        for s, rep, err in reports(k, sockets):
            what = f"{s['scenario']}/{s['role']} pid={s['pid']} fd={s['fd']}"
            if err:
                errs.append(f"{what}: {err}")
                continue
            for e in sanity.socket_errors(rep, s.get("expect", "-"), s["comm"], f"{s['scenario']}/{s['role']}",
                                              a.generation):
                errs.append(f"{what}: {e}")
    for kd in sorted(glob.glob(os.path.join(a.dir, "vmcore.mdf-*.kdump"))):
        try:
            k = oracle.Kernel(kd, a.vmlinux, crosscheck=False)
        except Exception as e:
            errs.append(f"{os.path.basename(kd)}: drgn cannot open it: {e}")
            continue
        for s, _, err in reports(k, sockets):
            if err:
                errs.append(f"{os.path.basename(kd)}: {s['scenario']}/{s['role']} pid={s['pid']} fd={s['fd']}: {err}")
        # the oracle's --all too (every task's sockets and the hash tables): the tier compares it
        p = subprocess.run([sys.executable, os.path.join(HERE, "oracle.py"), "--vmcore", kd,
                            "--vmlinux", a.vmlinux, "--all", "--no-skbs", "--no-crosscheck"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            last = (p.stderr.strip().splitlines() or ["?"])[-1]
            errs.append(f"{os.path.basename(kd)}: oracle --all: {last}")
    if errs:
        print("capture-check: " + "; ".join(errs))
        sys.exit(1)
    print(f"capture-check: ok ({checked})")


if __name__ == "__main__":
    main()
