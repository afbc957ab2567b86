#!/usr/bin/env python3
"""Compare `skbwalk top --json` with the oracle's `--all` output.

usage: compare-top.py ORACLE_ALL.json SKBWALK_TOP.json
Sockets reached from an fd are matched by (pid, fd); sockets no fd reaches (the oracle's and skbwalk's entries
with "reached_by" other than "fd": tcp_ehash, tcp_lhash2, udp_table; pid/comm/fd null) by `sock` address.
Both sides must list the same two sets.  Per socket: pid, comm, fd, cgroup, reached_by, sock, family, state, local,
remote, the totals (skbs, len, truesize, unique_pages, page_bytes, pinned_bytes, amplification) and, when
skbwalk prints it, shared_pages.  System totals (fd and non-fd sockets): sockets, skbs, truesize, unique_pages,
page_bytes, pinned_bytes (a page referenced by several sockets counts once).  skbwalk's list must be ranked by pinned
bytes (non-increasing).  Prints the first difference and exits 1, else "same".
"""
import importlib.util
import json
import os
import sys

spec = importlib.util.spec_from_file_location("compare", os.path.join(os.path.dirname(__file__), "compare.py"))
cmp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cmp)

SYS = ["sockets", "skbs", "truesize", "unique_pages", "page_bytes", "pinned_bytes"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        exp = json.load(open(sys.argv[1]))
        act = json.load(open(sys.argv[2]))
    except (OSError, ValueError) as e:
        print(f"cannot read JSON: {e}")
        sys.exit(1)
    try:
        def by_fd(lst):
            return {(s["pid"], s["fd"]): s for s in lst if s.get("reached_by", "fd") == "fd"}

        def by_sock(lst):
            return {cmp.norm(s["sock"]): s for s in lst if s.get("reached_by", "fd") != "fd"}

        pairs = []
        for kind, index, fmt in (("(pid, fd)", by_fd, lambda k: f"pid={k[0]},fd={k[1]}"),
                                 ("sock (no fd)", by_sock, lambda k: f"sock={k:#x}")):
            es, as_ = index(exp["sockets"]), index(act.get("sockets", []))
            if set(es) != set(as_):
                miss, extra = sorted(set(es) - set(as_)), sorted(set(as_) - set(es))
                show = lambda ks, d: [fmt(k) + " " + str(d[k].get("state")) + " " + str(d[k].get("local"))
                                      + "->" + str(d[k].get("remote")) for k in ks[:5]]
                raise cmp.Diff(f"sockets {kind}: missing {show(miss, es)}, unexpected {show(extra, as_)}")
            pairs += [(f"sockets[{fmt(key)}]", es[key], as_[key]) for key in sorted(es)]
        for where, e, a in pairs:
            for k in ["pid", "comm", "fd", "cgroup", "reached_by", "sock", "family", "state", "local", "remote"]:
                if k == "reached_by" and "reached_by" not in a and e.get(k) == "fd":
                    continue
                cmp.eq(f"{where}.{k}", e.get(k), a.get(k), set())
            for k in cmp.SUMS + ["amplification"]:
                if k == "amplification" and not e["totals"].get("truesize"):
                    continue
                cmp.eq(f"{where}.totals.{k}", e["totals"].get(k), a.get("totals", {}).get(k), set())
            if "shared_pages" in a:
                cmp.eq(f"{where}.shared_pages", e.get("shared_pages"), a.get("shared_pages"), set())
        for k in SYS:
            cmp.eq(f"totals.{k}", exp["totals"].get(k), act.get("totals", {}).get(k), set())
        pins = [s.get("totals", {}).get("pinned_bytes", 0) for s in act["sockets"]]
        for i in range(1, len(pins)):
            if pins[i] > pins[i - 1]:
                raise cmp.Diff(f"ranking: sockets[{i}] pins {pins[i]} > sockets[{i-1}] {pins[i-1]}")
    except cmp.Diff as d:
        print(f"first difference: {d}")
        sys.exit(1)
    print("same")


if __name__ == "__main__":
    main()
