#!/usr/bin/env python3
"""drgn's answer for the owners of allocpage skbwalk names from the kernel's structures (#28).

  owners-oracle.py --vmcore ELF --vmlinux V > owners.json
  owners-oracle.py --compare OWNERS.json MEMINFO.json --manifest M --boot B [--explain EX.json --big]

Pipes: every task (drgn's for_each_task), every open file (for_each_file) whose f_op is
&pipefifo_fops: its pipe_inode_info (private_data), the pages of bufs[] from tail to head (ring_size
a power of two, free-running u32 counters) and tmp_page. Compared: each pipe of the boot's
manifest (its process wrote that many whole pages and never read) is a pipe drgn finds with those
pages; skbwalk's census names each pipe drgn finds pages in, with the same pages and a holder
naming a pid and fd holding it, and other.pipe is their sum; with --big (boot B: 16 MiB of pipes)
explain names pipes as the largest owner and the pipes process as its holder.
"""
import argparse
import json
import sys


def oracle(a):
    import drgn
    from drgn import cast
    from drgn.helpers.linux.fs import for_each_file
    from drgn.helpers.linux.pid import for_each_task

    p = drgn.Program()
    p.set_core_dump(a.vmcore)
    p.load_debug_info([a.vmlinux])
    fops = p["pipefifo_fops"].address_of_().value_()
    pipes = {}
    for t in for_each_task(p):
        try:
            files = list(for_each_file(t))
        except drgn.FaultError:
            continue
        for fd, f in files:
            if f.f_op.value_() != fops:
                continue
            pipe = cast("struct pipe_inode_info *", f.private_data)
            key = hex(pipe.value_())
            ent = pipes.setdefault(key, {"ends": [], "pages": None})
            ent["ends"].append([t.tgid.value_(), fd, t.comm.string_().decode()])
            if ent["pages"] is not None:
                continue
            head, tail, ring = pipe.head.value_(), pipe.tail.value_(), pipe.ring_size.value_()
            pages = []
            tmp = pipe.tmp_page
            for tp in (tmp if tmp.type_.unaliased_kind() == drgn.TypeKind.ARRAY else [tmp]):
                if tp.value_():
                    pages.append(tp.value_())
            for i in range((head - tail) & 0xffffffff):
                pg = pipe.bufs[(tail + i) & (ring - 1)].page.value_()
                if pg:
                    pages.append(pg)
            ent["pages"] = len(pages)
    json.dump({"pipes": pipes}, sys.stdout, indent=1)


def compare(a):
    e = json.load(open(a.compare[0]))["pipes"]
    m = json.load(open(a.compare[1]))
    boot = json.load(open(a.manifest))["boots"][a.boot]
    errs = []
    by_end = {(pid, fd): (k, x) for k, x in e.items() for pid, fd, _ in x["ends"]}
    for mp in boot.get("pipes", []):
        got = by_end.get((mp["pid"], mp["fd"]))
        if got is None:
            errs.append(f"manifest pipe pid {mp['pid']} fd {mp['fd']}: drgn finds no pipe there")
        elif got[1]["pages"] != mp["pages"]:
            errs.append(f"manifest pipe pid {mp['pid']} fd {mp['fd']}: {mp['pages']} pages written, drgn finds {got[1]['pages']}")
    census = m.get("census") or {}
    holders = census.get("owners", {}).get("pipe", [])
    total = 0
    for k, x in e.items():
        if not x["pages"]:
            continue
        total += x["pages"]
        h = next((h for h in holders if h["holder"].startswith(f"pipe {k} ")), None)
        if h is None:
            errs.append(f"pipe {k} ({x['pages']} pages, held by {x['ends'][0]}): skbwalk names no such holder")
        elif h["pages"] != x["pages"] or [h["pid"], h["fd"]] not in [end[:2] for end in x["ends"]]:
            errs.append(f"pipe {k}: drgn {x['pages']} pages held by {x['ends']}, skbwalk {h['pages']} by pid {h['pid']} fd {h['fd']}")
    if census.get("other", {}).get("pipe") != total:
        errs.append(f"census other.pipe {census.get('other', {}).get('pipe')} != drgn's pipe pages {total}")
    if a.explain:
        r = json.load(open(a.explain))
        lo = r.get("largest_owner") or {}
        pids = {mp["pid"] for mp in boot.get("pipes", [])}
        if a.big and lo.get("owner") != "pipe":
            errs.append(f"explain: the largest owner is {lo.get('owner')}, not the pipes: {r.get('summary')!r}")
        elif a.big and not any(f"pid {pid} pipes" in r.get("summary", "") for pid in pids):
            errs.append(f"explain does not name the pipes' holder {sorted(pids)}: {r.get('summary')!r}")
    if errs:
        print("; ".join(errs[:6]) + (f" (+{len(errs) - 6} more)" if len(errs) > 6 else ""))
        sys.exit(1)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmcore")
    ap.add_argument("--vmlinux")
    ap.add_argument("--compare", nargs=2)
    ap.add_argument("--manifest")
    ap.add_argument("--boot")
    ap.add_argument("--explain")
    ap.add_argument("--big", action="store_true")
    a = ap.parse_args()
    if a.compare:
        compare(a)
    else:
        oracle(a)
