#!/usr/bin/env python3
"""Boot L (make-live.sh): skbwalk --live inside the guest against skbwalk on the ELF dump taken right
after the live runs (the same boot, the same moment but for what moved in between).

usage: live-check.py --live-dir L --bin SKBWALK --vmlinux V [--prefix P] [--timeout S]

The dump side runs `SKBWALK --vmcore L/vmcore.elf --vmlinux V --types btf ...`: the kernel's own BTF,
as the guest's /sys/kernel/btf/vmlinux.  Compared (keys `source`, `live`, `debuginfo` ignored):
  info      osrelease, kaslr_offset, phys_base, paging_levels, va_bits equal (other keys listed)
  sockets   every manifest socket's --pid/--fd report field by field; the stalled ones (a queue the
            manifest names) must be equal but for what they say of other holders of their pages
            (OTHERS: printed), a difference elsewhere is printed
  top       the stalled sockets' rows equal (but for OTHERS); the other rows that differ are listed
            with why; the same for the stalled rows of the six top runs made just before
  meminfo   every counter, the census classes and the breakdown lines: |dump - live| within the
            tolerance (pages; see TOL below), every difference printed
  explain   the same top holder (pid, fd)
  cgroups   the same memory cgroups; nginx's pod: the same sockets, pinned bytes and sock counter
  churn     top --watch 0.5 --samples 3 --json while sockets open and close: exit 0 or 3, three
            NDJSON documents, each "source": "live"
  not root  exit 1, "needs root" on stderr
  kptr_restrict=2  /proc/kallsyms zeroed; 6.0+: works (the kallsyms tables VMCOREINFO names) and
            the nginx report equals the dump's; before 6.0: the socket report exits 1 naming
            kptr_restrict (info, which needs no symbol, may work)
Prints "ok NAME" / "FAIL NAME: why" lines, and "note ..." lines (differences, timings).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

IGNORE = {"source", "live", "debuginfo"}
# meminfo: what may move between the live read and the dump, in pages.  The guest keeps running
# between the two, and the live reader is part of it: the meminfo run's own memory (skbwalk's heap,
# the binary's mapped pages, a THP) is in the live census and counters and back on the free lists at
# the dump.  The tolerance is that run's peak resident set (the guest samples its VmHWM)
# plus SLACK_PAGES for the rest: the busy scenario maps and unmaps up to 16 x 64 KiB per vCPU (2) and
# rewrites a 32 KiB tmpfs file in a loop (~520 pages), the census walk itself racing the allocator.
SLACK_PAGES = 1024

verdicts = []
# What a stalled socket's report says of *other* holders of its pages: a top row's shared_pages
# (pages another socket's skbs also hold) and each most-shared page's _refcount. A neighbour's skbs
# on the same 32 KiB receive page are read or freed between the live run and the dump, so these
# move with the neighbour while the socket's own queues stand still: compared as notes, not verdicts.
OTHERS = {"shared_pages", "refcount"}


def own(d):
    """`d` without what it says of other holders (OTHERS), for the stalled sockets' verdicts."""
    if isinstance(d, dict):
        return {k: own(v) for k, v in d.items() if k not in OTHERS}
    if isinstance(d, list):
        return [own(x) for x in d]
    return d


def ok(name, note=""):
    print(f"ok {name}" + (f" ({note})" if note else ""))


def bad(name, why):
    print(f"FAIL {name}: {why}")


def note(text):
    print(f"note {text}")


def diff(a, b, path="", out=None, top=True):
    """Paths where two JSON values differ (IGNORE keys skipped at the top level)."""
    out = [] if out is None else out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if top and k in IGNORE:
                continue
            if k not in a or k not in b:
                out.append(f"{path}{k}: {'missing live' if k not in a else 'missing in dump'}")
                continue
            diff(a[k], b[k], f"{path}{k}.", out, False)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path[:-1]}: {len(a)} items live, {len(b)} in the dump")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}{i}.", out, False)
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or abs(float(a) - float(b)) > 1e-9 * max(1.0, abs(float(b))):
            out.append(f"{path[:-1]}: live {a!r}, dump {b!r}")
    elif a != b:
        out.append(f"{path[:-1]}: live {a!r}, dump {b!r}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--live-dir", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--vmlinux", required=True)
    ap.add_argument("--prefix", default="L ")
    ap.add_argument("--timeout", type=int, default=300)
    a = ap.parse_args()
    L, P = a.live_dir, a.prefix
    meta = json.load(open(os.path.join(L, "live.json")))
    runs, sockets = meta["runs"], meta["sockets"]
    for s in meta.get("skips", []):
        note(f"{P}guest skipped {s}")
    live_dir = os.path.join(L, "live")
    dump = os.path.join(L, "vmcore.elf")
    base = [a.bin, "--vmcore", dump, "--vmlinux", a.vmlinux, "--types", "btf"]
    dump_secs = {}

    def live_doc(name):
        """(document, None) of the guest's run NAME, or (None, why)."""
        r = runs.get(name)
        if r is None:
            return None, "the guest did not run it"
        err = open(os.path.join(live_dir, name + ".err"), errors="replace").read().strip()
        if r["rc"] != 0:
            return None, f"live exit {r['rc']}: {err[:300]}"
        try:
            return json.load(open(os.path.join(live_dir, name + ".out"))), None
        except (OSError, ValueError) as e:
            return None, f"live output not JSON: {e}"

    def dump_doc(name, args):
        t0 = time.time()
        p = subprocess.run(base + args + ["--json"], capture_output=True, text=True, timeout=a.timeout)
        dump_secs[name] = time.time() - t0
        if p.returncode != 0:
            return None, f"dump exit {p.returncode}: {p.stderr.strip()[:300]}"
        return json.loads(p.stdout), None

    def pair(name, args):
        lv, why = live_doc(name)
        if lv is None:
            return None, None, why
        dv, why = dump_doc(name, args)
        if dv is None:
            return None, None, why
        if lv.get("source") != "live" or dv.get("source") != "dump":
            return None, None, f"source: live {lv.get('source')!r}, dump {dv.get('source')!r}"
        if not isinstance(lv.get("live"), dict):
            return None, None, "the live report has no \"live\" object"
        return lv, dv, None

    # info
    name = f"{P}live info"
    lv, dv, why = pair("info", ["info"])
    if why:
        bad(name, why)
    else:
        keys = ("osrelease", "kaslr_offset", "phys_base", "paging_levels", "va_bits", "machine", "page_size")
        d = [f"{k}: live {lv.get(k)!r}, dump {dv.get(k)!r}" for k in keys if lv.get(k) != dv.get(k)]
        if d:
            bad(name, "; ".join(d))
        else:
            other = [x.split(":")[0] for x in diff(lv, dv)]
            if lv.get("cpus") != dv.get("cpus"):
                note(f"{P}live info: cpus (\"CPUs saved\": PRSTATUS notes) live {lv.get('cpus')}, dump {dv.get('cpus')}: "
                     "/proc/kcore carries one PRSTATUS note whatever the CPU count")
            ok(name, f"osrelease {lv['osrelease']}, kaslr_offset {lv['kaslr_offset']}, {lv['paging_levels']}-level paging"
               + (f"; differ as the sources do: {', '.join(other)}" if other else ""))

    # every manifest socket
    stalled = {}
    nginx = None
    for s in sockets:
        pid, fd, role = s["pid"], s["fd"], s["scenario"] + "/" + s["role"]
        if s["comm"] == "nginx" and s["role"] == "server":
            nginx = s
        name = f"{P}live {role} pid={pid} fd={fd}"
        run = f"socket-{pid}-{fd}"
        lv, dv, why = pair(run, ["--pid", str(pid), "--fd", str(fd)])
        is_stalled = s.get("expect", "empty") not in ("empty", "-")
        if is_stalled:
            stalled[(pid, fd)] = s
        if why:
            bad(name, why)
            continue
        d = diff(lv, dv)
        t = dv.get("totals", {})
        summary = f"{t.get('skbs')} skbs, truesize {t.get('truesize')}, pinned {t.get('pinned_bytes')}"
        if not d:
            ok(name, summary + ", equal")
        elif is_stalled and diff(own(lv), own(dv)):
            d = diff(own(lv), own(dv))
            bad(name, f"{len(d)} differences: " + "; ".join(d[:4]))
        elif is_stalled:
            ok(name, summary + f", equal but for other holders of its pages: {'; '.join(d[:3])}")
        else:
            ok(name, f"not stalled, moved between the live read and the dump: {'; '.join(d[:3])}")

    # top
    name = f"{P}live top"
    lv, dv, why = pair("top", ["top"])
    if why:
        bad(name, why)
    else:
        def key(r):
            return ("fd", r["pid"], r["fd"]) if r.get("reached_by", "fd") == "fd" else ("sock", r["sock"])
        lr, dr = {key(r): r for r in lv["sockets"]}, {key(r): r for r in dv["sockets"]}
        errs, moved = [], []
        for (pid, fd) in stalled:
            k = ("fd", pid, fd)
            if k not in lr or k not in dr:
                where = ""
                if k not in lr and k in dr:
                    other = [r for r in lv["sockets"] if r.get("sock") == dr[k].get("sock")]
                    where = f" (its sock {dr[k].get('sock')} " + (f"reached by {other[0].get('reached_by')} instead)" if other else "not in the live top at all)")
                errs.append(f"pid={pid} fd={fd} {'missing live' if k not in lr else 'missing in the dump'}{where}")
            elif diff(own(lr[k]), own(dr[k]), top=False):
                errs.append(f"pid={pid} fd={fd}: " + "; ".join(diff(own(lr[k]), own(dr[k]), top=False)[:3]))
            elif diff(lr[k], dr[k], top=False):
                note(f"{P}live top: pid={pid} fd={fd} equal but for other holders of its pages: "
                     + "; ".join(diff(lr[k], dr[k], top=False)[:3]))

        def why_moved(r):
            ports = (r.get("local") or "") + " " + (r.get("remote") or "")
            if re.search(r":960[01]\b", ports):
                return "the churn loop's (gone at the dump)"
            if r.get("state") == "TIME_WAIT":
                return "TIME_WAIT (60 s)"
            if r.get("comm") == "skbwalk" or r.get("state") in ("FIN_WAIT1", "FIN_WAIT2", "CLOSE", "LAST_ACK"):
                return f"closing ({r.get('state')})"
            return "still moving"
        for k in sorted(set(lr) | set(dr), key=str):
            if k[0] == "fd" and (k[1], k[2]) in stalled:
                continue
            r = lr.get(k) or dr.get(k)
            label = f"{r.get('comm') or '-'} {r.get('state')} {r.get('local')}->{r.get('remote')}"
            if k not in dr:
                moved.append(f"live only: {label}: {why_moved(r)}")
            elif k not in lr:
                moved.append(f"dump only: {label}: {why_moved(r)}")
            elif diff(lr[k], dr[k], top=False):
                moved.append(f"differs: {label}: {why_moved(r)} ({diff(lr[k], dr[k], top=False)[0]})")
        if errs:
            fdl = {k for k in lr if k[0] == "fd"}
            fdd = {k for k in dr if k[0] == "fd"}
            bad(name, f"stalled rows differ (live top: complete {lv.get('complete')}, {len(lv.get('warnings', []))} warnings; "
                f"fd-reached rows live {len(fdl)}, dump {len(fdd)}, dump only {sorted(k[1:] for k in fdd - fdl)}): " + "; ".join(errs[:6]))
        else:
            ok(name, f"{len(stalled)} stalled rows equal; {len(lv['sockets'])} rows live, {len(dv['sockets'])} in the dump, "
               f"{len(moved)} other rows differ")
        # the repeated runs (the guest ran top six more times before this one): stalled rows
        rep_bad, rep_n = [], 0
        for i in range(1, 100):
            rd, why = live_doc(f"top-repeat-{i}")
            if rd is None and why == "the guest did not run it":
                break
            rep_n += 1
            if rd is None:
                rep_bad.append(f"run {i}: {why}")
                continue
            rr = {key(r): r for r in rd["sockets"]}
            miss = [f"{pid}:{fd}" for (pid, fd) in stalled if ("fd", pid, fd) not in rr]
            dif = [f"{pid}:{fd}" for (pid, fd) in stalled if ("fd", pid, fd) in rr
                   and diff(own(rr[("fd", pid, fd)]), own(dr[("fd", pid, fd)]), top=False)]
            fdn = sum(1 for k in rr if k[0] == "fd")
            if miss or dif:
                rep_bad.append(f"run {i} (complete {rd.get('complete')}, {len(rd.get('warnings', []))} warnings, "
                               f"{fdn} fd rows): stalled rows missing {miss or '-'}, differing {dif or '-'}")
        if rep_n:
            rname = f"{P}live top, {rep_n} runs more"
            if rep_bad:
                bad(rname, f"{len(rep_bad)} of {rep_n} differ from the dump: " + "; ".join(rep_bad[:4]))
            else:
                ok(rname, f"the {len(stalled)} stalled rows equal the dump's in each")
        for m in moved[:30]:
            note(f"{P}live top: {m}")
        if len(moved) > 30:
            note(f"{P}live top: ... {len(moved) - 30} more")
        for k in ("sockets", "skbs", "truesize", "pinned_bytes"):
            note(f"{P}live top totals.{k}: live {lv['totals'].get(k)}, dump {dv['totals'].get(k)}")

    # meminfo
    name = f"{P}live meminfo"
    lv, dv, why = pair("meminfo", ["meminfo"])
    if why:
        bad(name, why)
    else:
        ps = dv["page_size"]
        try:
            rss_kb = int(open(os.path.join(live_dir, "meminfo.hwm")).read().split()[0])
        except (OSError, ValueError, IndexError):
            rss_kb = None
        tol = (rss_kb or 0) * 1024 // ps + SLACK_PAGES
        moves = []   # (what, live, dump, pages)
        for c, v in sorted(dv["counters"].items()):
            lc = lv["counters"].get(c)
            if lc is None:
                moves.append((f"counters.{c}", None, v, None))
                continue
            for kind in ("global", "exact"):
                if lc.get(kind) != v.get(kind):
                    n = v[kind] - lc[kind]
                    if c.endswith("_KB"):
                        n = n * 1024 // ps
                    moves.append((f"{c}.{kind}", lc[kind], v[kind], n))
        for cl, v in sorted(dv["census"]["classes"].items()):
            l = lv["census"]["classes"].get(cl, 0)
            if l != v:
                moves.append((f"census.{cl}", l, v, v - l))
        for cl, v in sorted(dv["census"].get("other", {}).items()):
            l = lv["census"].get("other", {}).get(cl, 0)
            if l != v:
                moves.append((f"census.other.{cl}", l, v, v - l))
        for k in ("free", "user", "kernel", "allocpage"):
            l, v = lv["breakdown"][k], dv["breakdown"][k]
            if l != v:
                moves.append((f"breakdown.{k}", l, v, (v - l) // ps))
        for k, v in sorted(dv["breakdown"]["lines"].items()):
            l = lv["breakdown"]["lines"].get(k, 0)
            if l != v:
                moves.append((f"breakdown.{k}", l, v, (v - l) // ps))
        for k, v in sorted(dv.get("globals", {}).items()):
            l = lv.get("globals", {}).get(k)
            if l != v:
                moves.append((f"globals.{k}", l, v, (v - l) if isinstance(v, int) and isinstance(l, int) else None))
        # the census walks the pages the memory source holds: QEMU's ELF has all guest RAM, /proc/kcore
        # the System RAM ranges of /proc/iomem; the pages only the ELF has must all be reserved ones
        dpages = dv["census"]["pages"] - lv["census"]["pages"]
        dres = dv["census"]["classes"].get("reserved", 0) - lv["census"]["classes"].get("reserved", 0)
        census_ok = dpages == 0 or (dpages > 0 and dres >= dpages)
        same_total = lv["breakdown"]["total"] == dv["breakdown"]["total"]
        over = [m for m in moves if m[3] is None or abs(m[3]) > tol]
        for m in moves:
            note(f"{P}live meminfo moved {m[0]}: live {m[1]}, dump {m[2]} ({'+' if (m[3] or 0) >= 0 else ''}{m[3]} pages)")
        biggest = max((abs(m[3]) for m in moves if m[3] is not None), default=0)
        note(f"{P}live meminfo: census pages live {lv['census']['pages']}, dump {dv['census']['pages']} "
             f"({dpages:+d}, reserved {dres:+d}: pages outside /proc/iomem's System RAM, in QEMU's ELF and not in /proc/kcore)")
        if not same_total:
            bad(name, f"MemTotal differs: live {lv['breakdown']['total']}, dump {dv['breakdown']['total']}")
        elif not census_ok:
            bad(name, f"the census covers {dpages:+d} pages in the dump, of which only {dres:+d} reserved")
        elif over:
            bad(name, f"{len(over)} moves over {tol} pages (meminfo's peak RSS {rss_kb} KiB + {SLACK_PAGES}): "
                + "; ".join(f"{m[0]} {m[1]} -> {m[2]}" for m in over[:4]))
        else:
            ok(name, f"{len(moves)} values moved, the largest by {biggest} pages; tolerance {tol} pages "
               f"(the live meminfo run's peak RSS {rss_kb} KiB + {SLACK_PAGES})")

    # explain
    name = f"{P}live explain"
    lv, dv, why = pair("explain", ["explain"])
    if why:
        bad(name, why)
    else:
        def holder(e):
            t = e.get("top_sockets") or [{}]
            return t[0].get("pid"), t[0].get("fd")
        if holder(lv) != holder(dv):
            bad(name, f"top holder live {holder(lv)}, dump {holder(dv)}")
        elif nginx and holder(dv) != (nginx["pid"], nginx["fd"]):
            bad(name, f"top holder {holder(dv)} is not nginx's stalled socket ({nginx['pid']}, {nginx['fd']})")
        else:
            ok(name, f"holder pid={holder(dv)[0]} fd={holder(dv)[1]} on both")

    # cgroups: the tree, and nginx's pod (its stalled socket holds still) read alike
    name = f"{P}live cgroups"
    lv, dv, why = pair("cgroups", ["cgroups"])
    if why:
        bad(name, why)
    else:
        lp = {c["path"]: c for c in lv["cgroups"]}
        dp = {c["path"]: c for c in dv["cgroups"]}
        pod = (nginx or {}).get("cgroup")
        if set(lp) != set(dp):
            bad(name, f"cgroups live {sorted(set(lp) - set(dp))}, dump {sorted(set(dp) - set(lp))} differ")
        elif pod and pod in dp:
            def view(c):
                return (c["sockets_subtree"]["sockets"], c["sockets_subtree"]["pinned_bytes"],
                        c["stat"].get("sock", {}).get("exact"))
            if view(lp[pod]) != view(dp[pod]):
                bad(name, f"{pod}: (sockets, pinned bytes, sock) live {view(lp[pod])}, dump {view(dp[pod])}")
            else:
                ok(name, f"{len(dp)} memcgs on both; {pod}: {view(dp[pod])}")
        else:
            ok(name, f"{len(dp)} memcgs on both")

    # churn: top --watch while sockets open and close
    name = f"{P}live churn top --watch 0.5 --samples 3"
    r = runs.get("churn-watch")
    if r is None:
        bad(name, "the guest did not run it")
    else:
        err = open(os.path.join(live_dir, "churn-watch.err"), errors="replace").read().strip()
        lines = [l for l in open(os.path.join(live_dir, "churn-watch.out")).read().splitlines() if l.strip()]
        docs, errs = [], []
        for l in lines:
            try:
                docs.append(json.loads(l))
            except ValueError:
                errs.append(f"not JSON: {l[:80]}")
        if r["rc"] not in (0, 3):
            errs.append(f"exit {r['rc']}: {err[:300]}")
        if "panick" in err:
            errs.append(f"panic: {err[:300]}")
        if len(docs) != 3:
            errs.append(f"{len(docs)} documents")
        if any(d.get("source") != "live" for d in docs):
            errs.append("a document without \"source\": \"live\"")
        if errs:
            bad(name, "; ".join(errs))
        else:
            nw = sum(len(d.get("warnings", [])) for d in docs)
            ok(name, f"exit {r['rc']}, 3 documents, {[len(d.get('sockets', [])) for d in docs]} sockets, "
               f"{nw} warnings, {r['secs']} s")
            for d in docs:
                for w in d.get("warnings", [])[:3]:
                    note(f"{P}live churn sample {d.get('sample')} warning: {w}")

    # not root
    for run in ("nonroot-info", "nonroot-top"):
        name = f"{P}live not-root {run.split('-')[1]}"
        r = runs.get(run)
        if r is None:
            bad(name, "the guest did not run it (" + "; ".join(meta.get("skips", [])) + ")")
            continue
        err = open(os.path.join(live_dir, run + ".err"), errors="replace").read().strip()
        if r["rc"] == 1 and "needs root" in err and len(err.splitlines()) == 1:
            ok(name, err)
        else:
            bad(name, f"exit {r['rc']}, stderr {err[:300]!r} (expected exit 1 and one line saying it needs root)")

    # kptr_restrict=2
    info = json.load(open(os.path.join(live_dir, "info.out"))) if runs.get("info", {}).get("rc") == 0 else {}
    rel = info.get("osrelease", "")
    m = re.match(r"(\d+)\.(\d+)", rel)
    new = m is not None and (int(m.group(1)), int(m.group(2))) >= (6, 0)
    zeroed = os.path.exists(os.path.join(live_dir, "kptr2-kallsyms.txt")) and all(
        set(l.split()[0]) == {"0"} for l in open(os.path.join(live_dir, "kptr2-kallsyms.txt")) if l.strip())
    for run in ("kptr2-info", "kptr2-socket"):
        name = f"{P}live kptr_restrict=2 {run.split('-')[1]}"
        r = runs.get(run)
        if r is None:
            bad(name, "the guest did not run it (" + "; ".join(meta.get("skips", [])) + ")")
            continue
        if not zeroed:
            bad(name, "/proc/kallsyms was not zeroed with kptr_restrict=2 (the case was not made)")
            continue
        err = open(os.path.join(live_dir, run + ".err"), errors="replace").read().strip()
        if not new:
            if r["rc"] == 1 and "kptr_restrict" in err:
                ok(name, f"{rel}: {err[:200]}")
            elif run == "kptr2-info" and r["rc"] == 0:
                ok(name, f"{rel}: info needs no symbols and works; the commands that do refuse (the socket case)")
            else:
                bad(name, f"{rel} (no kallsyms tables in VMCOREINFO): exit {r['rc']}, stderr {err[:300]!r}")
            continue
        if r["rc"] != 0:
            bad(name, f"{rel}: exit {r['rc']}: {err[:300]}")
            continue
        doc = json.load(open(os.path.join(live_dir, run + ".out")))
        if run == "kptr2-socket" and nginx:
            dv, why = dump_doc(f"socket-{nginx['pid']}-{nginx['fd']}", ["--pid", str(nginx["pid"]), "--fd", str(nginx["fd"])])
            d = diff(doc, dv) if dv else [why]
            if d:
                bad(name, "nginx's report differs from the dump's: " + "; ".join(d[:3]))
                continue
        ok(name, f"{rel}: works with /proc/kallsyms zeroed, symbols from {json.dumps(doc.get('debuginfo'))}")

    # timings: the guest's live runs (TCG, 1 of 2 vCPUs busy with the scenarios) beside the dump runs
    # on the host (native, from the page cache)
    sock_live = [r["secs"] for n, r in runs.items() if n.startswith("socket-")]
    sock_dump = [v for n, v in dump_secs.items() if n.startswith("socket-")]
    for n in ("info", "top", "meminfo", "explain", "cgroups"):
        if n in runs and n in dump_secs:
            note(f"{P}time {n}: live {runs[n]['secs']:.2f} s (in the guest, TCG), dump {dump_secs[n]:.2f} s (host)")
    if nginx and f"socket-{nginx['pid']}-{nginx['fd']}" in runs:
        k = f"socket-{nginx['pid']}-{nginx['fd']}"
        note(f"{P}time nginx --pid/--fd: live {runs[k]['secs']:.2f} s, dump {dump_secs.get(k, float('nan')):.2f} s")
    if sock_live:
        note(f"{P}time {len(sock_live)} sockets: live {sum(sock_live):.1f} s, dump {sum(sock_dump):.1f} s")
    if "churn-watch" in runs:
        note(f"{P}time top --watch 0.5 --samples 3 (churning): live {runs['churn-watch']['secs']:.2f} s")


if __name__ == "__main__":
    main()
