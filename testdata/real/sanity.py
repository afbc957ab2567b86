#!/usr/bin/env python3
"""The tier's sanity rules for a scenario socket, in one place: what the manifest says a socket must hold.

Used by run-tier.sh (oracle-sanity, on the oracle's report) and by capture-check.py (right after a
capture, so that a capture missing a state the tier checks is redone, not reported as a failure later).

    sanity.py socket REPORT.json EXPECT COMM ROLE [GENERATION [CGROUP]]
        -> prints the errors ("" when none), exit 1 on errors

CGROUP is the cgroup the scenario process read from its own /proc/self/cgroup (guest/init starts the
processes in nested cgroup v2 groups: pods for nginx and drain, services for the others); "-" or
absent: not checked.

The incident's shape follows the kernel: to 6.12 virtio_net's mergeable receive buffers are carved from
order-3 page_frag pages, so nginx's frags must sit on order-3 pages; from 7.x they are order-0 pages
(measured on Debian sid's 7.2: no order-3 frag at all), where only the frag count and the amplification
are required (GENERATION "sid").  The arm64 generations (make-dumps.sh arm64-6.1, arm64-6.12,
arm64-6.12-48) run the same virtio_net with 4 KiB pages: order-3 as their x86-64 counterparts.
"""
import json
import sys


# generations whose nginx frags sit on virtio_net's order-3 page_frag pages (arm64 with 4 KiB pages
# alike: 1757 of 1842 frags on the arm64 6.12 dump)
ORDER3_GENERATIONS = ("5.10", "6.1", "6.12", "arm64-6.1", "arm64-6.12", "arm64-6.12-48")


def socket_errors(r, expect, comm, role, generation="6.1", cgroup="-"):
    """Errors of one socket report (the oracle's --pid/--fd document) against its manifest entry."""
    t, q = r["totals"], r["queues"]
    errs = []
    if r["comm"] != comm:
        errs.append(f"comm {r['comm']!r} != manifest {comm!r}")
    if cgroup not in (None, "-") and r.get("cgroup") != cgroup:
        errs.append(f"cgroup {r.get('cgroup')!r} != the process's own {cgroup!r}")
    if expect == "empty" and t["skbs"] != 0:
        errs.append(f"expected empty queues, found {t['skbs']} skbs")
    if expect in ("receive", "write", "retransmit") and q.get(expect, {}).get("skbs", 0) == 0:
        errs.append(f"{expect} queue empty")
    if role == "txstall/client" and q.get("write", {}).get("skbs", 0) == 0:
        errs.append("write queue empty (expected data queued behind the unacknowledged retransmit queue)")
    if role == "nginx/server":
        frags = [f for s in r["skbs"] for f in s["frags"]]
        o3 = sum(1 for f in frags if f["order"] == 3)
        if generation in ORDER3_GENERATIONS and o3 < 100:
            errs.append(f"only {o3} frags on order-3 pages")
        if len(frags) < 100:
            errs.append(f"only {len(frags)} frags")
        if not (t["amplification"] or 0) > 1.0:
            errs.append(f"amplification {t['amplification']} <= 1")
        if r.get("warnings"):
            errs.append("warnings: " + "; ".join(r["warnings"][:3]))
    return errs


if __name__ == "__main__":
    if len(sys.argv) not in (6, 7, 8) or sys.argv[1] != "socket":
        sys.exit(__doc__)
    errs = socket_errors(json.load(open(sys.argv[2])), *sys.argv[3:])
    print("; ".join(errs))
    sys.exit(1 if errs else 0)
