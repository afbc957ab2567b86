#!/usr/bin/env python3
"""drgn's answer to `skbwalk meminfo`, by the rules of shared/spec/meminfo.md §1-2.

  meminfo-oracle.py --vmcore ELF --vmlinux V > meminfo.json
  meminfo-oracle.py --compare EXPECT.json ACTUAL.json      (exit 1 with the differences)

Counters: every enumerator of enum zone_stat_item / node_stat_item (aliases ending in _BASE and the
NR_VM_*_ITEMS counts left out), "global" from vm_zone_stat[] / vm_node_stat[], "exact" adding, for every
online CPU (drgn's for_each_online_cpu) and every zone / node (for_each_online_node, NODE_DATA), the s8 delta
of per_cpu_ptr(zone.per_cpu_zonestats or zone.pageset, cpu).vm_stat_diff[i] and of
per_cpu_ptr(pgdat.per_cpu_nodestats, cpu).vm_node_stat_diff[i]. The breakdown from the exact values.
"""
import argparse
import json
import sys


def oracle(a):
    import drgn
    from drgn.helpers.linux.cpumask import for_each_online_cpu
    from drgn.helpers.linux.mmzone import NODE_DATA, for_each_online_node
    from drgn.helpers.linux.percpu import per_cpu_ptr

    p = drgn.Program()
    p.set_core_dump(a.vmcore)
    p.load_debug_info([a.vmlinux])

    def items(enum):
        consts = p.type("enum " + enum).enumerators
        count = next((v for n, v in consts if n.startswith("NR_VM_") and n.endswith("_ITEMS")), None)
        if count is None:
            count = max(v for _, v in consts) + 1
        by = {}
        for n, v in consts:
            if n.startswith("NR_VM_") and n.endswith("_ITEMS") or not 0 <= v < count:
                continue
            if v not in by or by[v].endswith("_BASE"):
                by[v] = n
        return by

    zi, ni = items("zone_stat_item"), items("node_stat_item")
    zg = [p["vm_zone_stat"][i].counter.value_() for i in range(len(p["vm_zone_stat"]))]
    ng = [p["vm_node_stat"][i].counter.value_() for i in range(len(p["vm_node_stat"]))]
    ze, ne = list(zg), list(ng)
    cpus = list(for_each_online_cpu(p))
    for nid in for_each_online_node(p):
        pgdat = NODE_DATA(p, nid)
        for cpu in cpus:
            d = per_cpu_ptr(pgdat.per_cpu_nodestats, cpu).vm_node_stat_diff
            for i in ni:
                ne[i] += d[i].value_()
        for z in range(len(pgdat.node_zones)):
            zone = pgdat.node_zones[z]
            pcp = zone.per_cpu_zonestats if hasattr(zone, "per_cpu_zonestats") else zone.pageset
            if not pcp.value_():
                continue
            for cpu in cpus:
                d = per_cpu_ptr(pcp, cpu).vm_stat_diff
                for i in zi:
                    ze[i] += d[i].value_()
    counters = {}
    for i, n in zi.items():
        counters[n] = {"global": zg[i], "exact": ze[i]}
    for i, n in ni.items():
        counters[n] = {"global": ng[i], "exact": ne[i]}

    def sym(name):
        try:
            o = p[name]
        except KeyError:
            return None
        if o.type_.kind == drgn.TypeKind.FUNCTION:
            return None
        return o.counter.value_() if o.type_.type_name().startswith("atomic") else o.value_()

    g = {}
    for name in ("_totalram_pages", "nr_vmalloc_pages", "pcpu_nr_populated",
                 "totalreserve_pages", "tcp_memory_allocated", "pcpu_nr_units"):
        v = sym(name)
        if v is not None:
            g[name] = v
    huge = 0
    try:
        for i in range(p["hugetlb_max_hstate"].value_()):
            h = p["hstates"][i]
            huge += h.nr_huge_pages.value_() << h.order.value_()
    except KeyError:
        pass
    g["hugetlb_pages"] = huge

    ps = p["PAGE_SIZE"].value_() if "PAGE_SIZE" in p else 4096
    e = lambda n: counters[n]["exact"] if n in counters else 0
    init = p["init_task"]
    first = drgn.container_of(init.tasks.next, "struct task_struct", "tasks")
    base = p["vmalloc_base"].value_()
    stack = first.stack.value_()
    vstacks = base <= stack < base + (32 << 40)
    lines = {
        "anon": e("NR_ANON_MAPPED") * ps,
        "file": (e("NR_FILE_PAGES") - e("NR_SHMEM")) * ps,
        "shmem": e("NR_SHMEM") * ps,
        "slab_reclaimable": e("NR_SLAB_RECLAIMABLE_B") * ps,
        "slab_unreclaimable": e("NR_SLAB_UNRECLAIMABLE_B") * ps,
        "page_tables": (e("NR_PAGETABLE") + e("NR_SECONDARY_PAGETABLE")) * ps,
        "vmalloc": g.get("nr_vmalloc_pages", 0) * ps,
        "kernel_stack": e("NR_KERNEL_STACK_KB") * 1024,
        "percpu": g.get("pcpu_nr_populated", 0) * g.get("pcpu_nr_units", 0) * ps,
        "hugetlb": huge * ps,
        "kernel_misc_reclaimable": e("NR_KERNEL_MISC_RECLAIMABLE") * ps,
    }
    total = g.get("_totalram_pages", 0) * ps
    free = e("NR_FREE_PAGES") * ps
    user = sum(e(n) for n in ("NR_INACTIVE_ANON", "NR_ACTIVE_ANON", "NR_INACTIVE_FILE", "NR_ACTIVE_FILE",
                              "NR_UNEVICTABLE")) * ps
    kernel = sum(lines[k] for k in ("slab_reclaimable", "slab_unreclaimable", "page_tables", "vmalloc",
                                    "percpu", "hugetlb", "kernel_misc_reclaimable"))
    if not vstacks:
        kernel += lines["kernel_stack"]
    out = {
        "page_size": ps,
        "counters": counters,
        "globals": g,
        "online_cpus": cpus,
        "breakdown": {"total": total, "free": free, "user": user, "kernel": kernel,
                      "allocpage": total - free - user - kernel, "lines": lines, "stacks_in_vmalloc": vstacks},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


def compare(expect, actual, need_deltas):
    e, a = json.load(open(expect)), json.load(open(actual))
    errs = []
    if set(e["counters"]) != set(a["counters"]):
        errs.append(f"counter names differ: only drgn {sorted(set(e['counters']) - set(a['counters']))[:5]}, "
                    f"only skbwalk {sorted(set(a['counters']) - set(e['counters']))[:5]}")
    for n, c in e["counters"].items():
        if n in a["counters"] and a["counters"][n] != c:
            errs.append(f"{n}: drgn {c}, skbwalk {a['counters'][n]}")
    for n, v in e["globals"].items():
        if a["globals"].get(n) != v:
            errs.append(f"global {n}: drgn {v}, skbwalk {a['globals'].get(n)}")
    if e["online_cpus"] != a["online_cpus"]:
        errs.append(f"online CPUs: drgn {e['online_cpus']}, skbwalk {a['online_cpus']}")
    eb, ab = e["breakdown"], a["breakdown"]
    for k, v in eb.items():
        if k == "lines":
            for l, x in v.items():
                if ab["lines"].get(l) != x:
                    errs.append(f"breakdown line {l}: drgn {x}, skbwalk {ab['lines'].get(l)}")
        elif ab.get(k) != v:
            errs.append(f"breakdown {k}: drgn {v}, skbwalk {ab.get(k)}")
    if need_deltas and not errs and not any(c["exact"] != c["global"] for c in e["counters"].values()):
        errs.append("no counter has an unfolded per-CPU delta (the busy scenario should leave some): "
                    "exact == global everywhere proves nothing")
    print("; ".join(errs[:8]))
    sys.exit(1 if errs else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmcore")
    ap.add_argument("--vmlinux")
    ap.add_argument("--compare", nargs=2)
    ap.add_argument("--need-deltas", action="store_true", help="fail when no counter has a per-CPU delta")
    a = ap.parse_args()
    if a.compare:
        compare(*a.compare, a.need_deltas)
    else:
        oracle(a)


if __name__ == "__main__":
    main()
