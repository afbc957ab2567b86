#!/usr/bin/env python3
"""Compare `skbwalk top --json` with the oracle's `--all` output.

usage: compare-top.py ORACLE_ALL.json SKBWALK_TOP.json
Sockets are matched by (pid, fd); both sides must list the same set.  Per socket: pid, comm, fd, sock, family,
state, the totals (skbs, len, truesize, unique_pages, page_bytes, pinned_bytes, amplification) and, when
skbwalk prints it, shared_pages.  System totals: sockets, skbs, truesize, unique_pages, page_bytes,
pinned_bytes (a page referenced by several sockets counts once).  skbwalk's list must be ranked by pinned
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
        es = {(s["pid"], s["fd"]): s for s in exp["sockets"]}
        as_ = {(s.get("pid"), s.get("fd")): s for s in act.get("sockets", [])}
        if set(es) != set(as_):
            miss, extra = sorted(set(es) - set(as_)), sorted(set(as_) - set(es))
            raise cmp.Diff(f"sockets (pid, fd): missing {miss[:5]}, unexpected {extra[:5]}")
        for key in sorted(es):
            e, a = es[key], as_[key]
            where = f"sockets[pid={key[0]},fd={key[1]}]"
            for k in ["pid", "comm", "fd", "sock", "family", "state"]:
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
