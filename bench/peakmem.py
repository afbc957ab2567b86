#!/usr/bin/env python3
"""Run a command; print "seconds peak_rss_kib peak_anon_kib" to the file named by $PEAKMEM_OUT.

Peak RSS counts file-backed pages of a memory-mapped input (page cache) too; peak anonymous memory
(RssAnon, sampled every 2 ms) is what the process itself allocated.
"""
import os
import subprocess
import sys
import time

start = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=sys.stdout)
peak_rss = peak_anon = 0
while p.poll() is None:
    try:
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    peak_rss = max(peak_rss, int(line.split()[1]))
                elif line.startswith("RssAnon:"):
                    peak_anon = max(peak_anon, int(line.split()[1]))
    except (FileNotFoundError, ProcessLookupError):
        pass
    time.sleep(0.002)
elapsed = time.monotonic() - start
with open(os.environ["PEAKMEM_OUT"], "w") as f:
    f.write(f"{elapsed:.3f} {peak_rss} {peak_anon}\n")
sys.exit(p.returncode)
