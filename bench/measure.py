#!/usr/bin/env python3
"""Run a command N times; print "best_seconds peak_rss_kib" of the fastest run.

usage: measure.py N [--cold DIR] -- COMMAND...
Time is wall-clock from fork to exit (perf_counter), peak RSS is the kernel's ru_maxrss of the
child (file-backed pages of a memory-mapped input count). --cold DIR empties DIR before each run
(the layout cache, for first-run figures). stdout of the command is discarded.
"""
import os, shutil, subprocess, sys, time

def main():
    argv = sys.argv[1:]
    n = int(argv.pop(0))
    cold = None
    if argv[0] == "--cold":
        cold = argv[1]; argv = argv[2:]
    if argv[0] == "--":
        argv = argv[1:]
    best = None
    for _ in range(n):
        if cold:
            shutil.rmtree(cold, ignore_errors=True); os.makedirs(cold)
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        t = time.perf_counter() - t0
        err = p.stderr.read().decode(errors="replace"); p.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.stderr.write(err); sys.exit(1)
        if best is None or t < best[0]:
            best = (t, ru.ru_maxrss)
    print(f"{best[0]:.4f} {best[1]}")

main()
