#!/usr/bin/env python3
"""Compare two skbwalk socket reports (JSON, cli.md's `--pid/--fd --json` document) field by field.

usage: compare.py EXPECTED.json ACTUAL.json [--ignore KEY]... [--no-skbs]
Compared: pid, comm, fd, cgroup, sock, family, type, state; every queue's and the totals' skbs, len, truesize,
unique_pages, page_bytes, pinned_bytes (+ amplification within 1e-9 relative: both sides print the unrounded ratio); and, unless --no-skbs, every skb in
order: addr, queue, len, data_len, truesize, head_frag, nr_frags, pinned_bytes, parent, and every frag's
page, head, order, offset, size.  A queue missing on one side equals an empty one.  Extra keys are ignored.
Prints the first difference (path, expected, actual) and exits 1; prints "same" and exits 0 otherwise.
"""
import json
import sys

TOP = ["pid", "comm", "fd", "cgroup", "sock", "family", "type", "state"]
SUMS = ["skbs", "len", "truesize", "unique_pages", "page_bytes", "pinned_bytes"]
SKB = ["addr", "queue", "len", "data_len", "truesize", "head_frag", "nr_frags", "pinned_bytes", "parent"]
FRAG = ["page", "head", "order", "offset", "size"]
ZERO = {k: 0 for k in SUMS}


class Diff(Exception):
    pass


def norm(v):
    if isinstance(v, str) and v.lower().startswith("0x"):
        return int(v, 16)
    return v


def eq(path, a, b, ignore):
    if path.split(".")[-1] in ignore or path in ignore:
        return
    if isinstance(a, float) or isinstance(b, float):
        # a ratio of two integers both sides compute: equal up to float formatting
        if a is None or b is None or abs(float(a) - float(b)) > 1e-9 * max(1.0, abs(float(b))):
            raise Diff(f"{path}: expected {a!r}, got {b!r}")
        return
    if norm(a) != norm(b):
        raise Diff(f"{path}: expected {a!r}, got {b!r}")


def compare(exp, act, ignore, skbs=True):
    for k in TOP:
        eq(k, exp.get(k), act.get(k), ignore)
    eq_queues = set(exp.get("queues", {})) | set(act.get("queues", {}))
    for q in sorted(eq_queues):
        e = exp.get("queues", {}).get(q, ZERO)
        a = act.get("queues", {}).get(q, ZERO)
        for k in SUMS:
            eq(f"queues.{q}.{k}", e.get(k), a.get(k), ignore)
    for k in SUMS + ["amplification"]:
        ev, av = exp.get("totals", {}).get(k), act.get("totals", {}).get(k)
        if k == "amplification" and not exp.get("totals", {}).get("truesize"):
            continue  # undefined for empty sockets (null, 0, NaN are all fine)
        eq(f"totals.{k}", ev, av, ignore)
    if not skbs:
        return
    es, as_ = exp.get("skbs", []), act.get("skbs", [])
    for i, (e, a) in enumerate(zip(es, as_)):
        for k in SKB:
            eq(f"skbs[{i}].{k}", e.get(k), a.get(k), ignore)
        ef, af = e.get("frags", []), a.get("frags", [])
        for j, (x, y) in enumerate(zip(ef, af)):
            for k in FRAG:
                eq(f"skbs[{i}].frags[{j}].{k}", x.get(k), y.get(k), ignore)
        if len(ef) != len(af):
            raise Diff(f"skbs[{i}].frags: expected {len(ef)} frags, got {len(af)}")
    if len(es) != len(as_):
        raise Diff(f"skbs: expected {len(es)} entries, got {len(as_)}")


def main():
    args = sys.argv[1:]
    ignore, skbs, files = set(), True, []
    while args:
        x = args.pop(0)
        if x == "--ignore":
            ignore.add(args.pop(0))
        elif x == "--no-skbs":
            skbs = False
        else:
            files.append(x)
    if len(files) != 2:
        sys.exit(__doc__)
    try:
        exp = json.load(open(files[0]))
        act = json.load(open(files[1]))
    except (OSError, ValueError) as e:
        print(f"cannot read JSON: {e}")
        sys.exit(1)
    try:
        compare(exp, act, ignore, skbs)
    except Diff as d:
        print(f"first difference: {d}")
        sys.exit(1)
    print("same")


if __name__ == "__main__":
    main()
