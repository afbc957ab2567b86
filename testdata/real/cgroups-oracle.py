#!/usr/bin/env python3
"""drgn's answer to `skbwalk cgroups`, computed from the kernel's own flush code (mm/memcontrol.c).

  cgroups-oracle.py --vmcore ELF --vmlinux V --top ALL.json --census MEMINFO_ORACLE.json > cgroups.json
  cgroups-oracle.py --compare EXPECT.json ACTUAL.json [--explain EXPLAIN.json] [--incident]

Memcgs: drgn's css_for_each_descendant_pre from root_mem_cgroup (dying ones included), paths by
drgn's cgroup_path. Counters: every item of enum node_stat_item and enum memcg_stat_item, at its
slot (the enum value, or mem_cgroup_stats_index[value] where the arrays are compressed, 6.10+);
"global" the memcg's state[] (5.10: vmstats[]), "exact" what a full flush of every possible CPU
(drgn's for_each_possible_cpu) gives: global + over the subtree (drgn's descendant walk) of
state_pending[] + per_cpu_ptr(vmstats_percpu).state[] - state_prev[] (5.10: the per-CPU stat[]).
Charged pages: the meminfo oracle's census keeps each page's memcg word by class; a word names a
memcg when it is one of the tree's memcgs, else an obj_cgroup the tree's memcgs own (their objcg,
orig_objcg and objcg_list, per node from 7.x), whose memcg field names it. Sockets: each socket
of the oracle's own --all walk charges sk_memcg (null: the root's own); TIME_WAIT and NEW_SYN_RECV
mini-sockets, which have none, charge nothing.
"""
import argparse
import json
import struct
import sys

# pages a dump may catch in flux between a cgroup's counters and its pages' flags (a vCPU stopped
# between setting PG_lru and adding to the LRU counters): sid's boot C had one
IN_FLUX = 8


def items(p):
    consts = p.type("enum node_stat_item").enumerators
    count = next(v for n, v in consts if n == "NR_VM_NODE_STAT_ITEMS")
    by = {}
    for n, v in consts:
        if n == "NR_VM_NODE_STAT_ITEMS" or not 0 <= v < count:
            continue
        if v not in by or by[v].endswith("_BASE"):
            by[v] = n
    memcg = p.type("enum memcg_stat_item").enumerators
    nr = next(v for n, v in memcg if n == "MEMCG_NR_STAT")
    for n, v in memcg:
        if n != "MEMCG_NR_STAT":
            by[v] = n
    return by, nr


def oracle(a):
    import drgn
    from drgn import Object, container_of
    from drgn.helpers.linux.cgroup import cgroup_path, css_for_each_descendant_pre
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    from drgn.helpers.linux.list import list_for_each_entry
    from drgn.helpers.linux.percpu import per_cpu_ptr

    p = drgn.Program()
    p.set_core_dump(a.vmcore)
    p.load_debug_info([a.vmlinux])
    by, nr = items(p)
    root = p["root_mem_cgroup"]
    batched = root.vmstats.type_.unaliased_kind() == drgn.TypeKind.ARRAY
    nslots = len(root.vmstats) if batched else p.type("struct memcg_vmstats").member("state").type.length
    if nslots == nr:
        slot = {v: v for v in by}
    else:
        idx = p["mem_cgroup_stats_index"]
        slot = {v: idx[v].value_() for v in by if idx[v].value_() < nslots}
    cpus = list(for_each_possible_cpu(p))

    def longs(obj):
        raw = p.read(obj.address_of_().value_(), nslots * 8)
        return struct.unpack(f"<{nslots}q", raw)

    def own(m):
        """(state[], what the memcg holds back) of one memcg."""
        if batched:
            g = longs(m.vmstats)
            held = [0] * nslots
            for c in cpus:
                d = longs(per_cpu_ptr(m.vmstats_percpu, c).stat)
                held = [h + x for h, x in zip(held, d)]
        else:
            v = m.vmstats
            g = longs(v.state)
            held = list(longs(v.state_pending))
            for c in cpus:
                pc = per_cpu_ptr(m.vmstats_percpu, c)
                held = [h + x - y for h, x, y in zip(held, longs(pc.state), longs(pc.state_prev))]
        return g, held

    memcgs = [container_of(css, "struct mem_cgroup", "css")
              for css in css_for_each_descendant_pre(root.css.address_of_())]
    parts = {m.value_(): own(m) for m in memcgs}
    ps = p["PAGE_SIZE"].value_() if "PAGE_SIZE" in p else 4096
    # obj_cgroups the memcgs own
    objcg = {}
    for m in memcgs:
        owned = []
        if hasattr(m, "objcg"):
            owned.append(m.objcg)
        if hasattr(m, "objcg_list"):
            owned += list(list_for_each_entry("struct obj_cgroup", m.objcg_list.address_of_(), "list"))
        try:
            nodes = [m.nodeinfo[i] for i in range(p["nr_node_ids"].value_())]
        except (KeyError, LookupError):
            nodes = []
        for pn in nodes:
            if not pn.value_() or not hasattr(pn, "objcg"):
                continue
            owned += [pn.objcg, pn.orig_objcg]
            owned += list(list_for_each_entry("struct obj_cgroup", pn.objcg_list.address_of_(), "list"))
        for o in owned:
            if o.value_():
                objcg[o.value_()] = o.memcg.value_()
    addrs = set(parts)
    charged = {m: {} for m in addrs}
    unknown = 0
    census = json.load(open(a.census))["census"]["charged"]
    for key, per in census.items():
        ptr = int(key) & ~7
        if not ptr:
            continue  # flag bits alone (OBJEXTS_ALLOC_FAIL, a freed page's leftovers): no memcg
        m = ptr if ptr in addrs else objcg.get(ptr)
        if m not in charged:
            unknown += sum(per.values())
            continue
        for c, n in per.items():
            charged[m][c] = charged[m].get(c, 0) + n
    sockets = {m: {"sockets": 0, "pinned_bytes": 0, "truesize": 0} for m in addrs}
    for s in json.load(open(a.top))["sockets"]:
        sk = Object(p, "struct sock *", int(s["sock"], 16))
        # TIME_WAIT (6) and NEW_SYN_RECV (12) mini-sockets are only a sock_common: no sk_memcg,
        # no charge
        if sk.__sk_common.skc_state.value_() in (6, 12):
            continue
        m = sk.sk_memcg.value_() & ~7 or root.value_()
        if m in sockets:
            sockets[m]["sockets"] += 1
            sockets[m]["pinned_bytes"] += s["totals"]["pinned_bytes"]
            sockets[m]["truesize"] += s["totals"]["truesize"]
    out = {}
    for m in memcgs:
        g, _ = parts[m.value_()]
        exact = list(g)
        for d in css_for_each_descendant_pre(m.css.address_of_()):
            held = parts[container_of(d, "struct mem_cgroup", "css").value_()][1]
            exact = [e + h for e, h in zip(exact, held)]
        out[cgroup_path(m.css.cgroup).decode()] = {
            "memcg": hex(m.value_()),
            "counters": {n: {"global": g[slot[v]], "exact": exact[slot[v]]} for v, n in by.items() if v in slot},
            "memory_current_bytes": max(m.memory.usage.counter.value_(), 0) * ps,
            "charged": charged[m.value_()],
            "sockets": sockets[m.value_()],
        }
    json.dump({"page_size": ps, "cgroups": out, "unknown_charged_pages": unknown}, sys.stdout, indent=1)


def compare(expect, actual, explain=None, incident=False):
    e, a = json.load(open(expect)), json.load(open(actual))
    errs = []
    got = {c["path"]: c for c in a["cgroups"]}
    if set(got) != set(e["cgroups"]):
        errs.append(f"cgroups: expected {sorted(e['cgroups'])}, got {sorted(got)}")
    # pages whose word names no memcg of the tree (in flux in a live snapshot): both find as many
    said = [int(w["message"].split()[0]) for w in a["warnings"]
            if "charged pages name no memory cgroup of the tree" in w["message"]]
    if sum(said) != e["unknown_charged_pages"]:
        errs.append(f"the oracle found {e['unknown_charged_pages']} charged pages naming no memcg of the tree, skbwalk {said}")
    for path, x in e["cgroups"].items():
        c = got.get(path)
        if c is None:
            continue
        if set(c["counters"]) != set(x["counters"]):
            errs.append(f"{path}: counters {sorted(set(c['counters']) ^ set(x['counters']))} differ in presence")
        for n, v in x["counters"].items():
            if n in c["counters"] and c["counters"][n] != v:
                errs.append(f"{path} {n}: expected {v}, got {c['counters'][n]}")
        if c["memory_current_bytes"] != x["memory_current_bytes"]:
            errs.append(f"{path} memory.current: expected {x['memory_current_bytes']}, got {c['memory_current_bytes']}")
        want = x["charged"]
        if c["charged"]["pages"] != sum(want.values()) or c["charged"]["by_class"] != want:
            errs.append(f"{path} charged: expected {want}, got {c['charged']['by_class']}")
        s = {k: c["sockets"][k] for k in ("sockets", "pinned_bytes", "truesize")}
        if s != x["sockets"]:
            errs.append(f"{path} sockets: expected {x['sockets']}, got {s}")
        # one structure read two ways: the pages charged to the subtree against its counters (a
        # vCPU stopped mid-update may leave a folio counted on one side only: a few pages)
        if a["complete"]:
            for chk in c["checks"]:
                if abs(chk["difference"]) > IN_FLUX:
                    errs.append(f"{path}: census {chk['class']} {chk['census']} != {chk['counter']} {chk['counter_pages']}")
    if explain:
        r = json.load(open(explain))
        m = r.get("top_socket_memcg")
        top = r["top_sockets"][0] if r["top_sockets"] else None
        if incident and m is None:
            errs.append("explain: no memory cgroup named for the top socket")
        if m is not None:
            x = e["cgroups"].get(m["path"])
            ps = e["page_size"]
            if x is None:
                errs.append(f"explain: memcg {m['path']} is not in the tree")
            elif m["sock"]["exact"] != max(x["counters"]["MEMCG_SOCK"]["exact"], 0) * ps:
                errs.append(f"explain: {m['path']} sock {m['sock']} != the oracle's {x['counters']['MEMCG_SOCK']}")
            if top and m["path"] != top.get("cgroup"):
                errs.append(f"explain: memcg {m['path']} is not the holder's cgroup {top.get('cgroup')}")
            # where the stalled queue pins whole pages (7.2's virtio_net left the incident's
            # amplification at about 1.1x: there the pod's counter and the pages agree)
            amplified = top and top["totals"]["amplification"] >= 1.5
            if incident and amplified and not (m["sock"]["exact"] < m["pinned_bytes"]
                                               and "memory.stat sock" in r["summary"]):
                errs.append(f"explain: the pod's sock counter {m['sock']} is not shown below what it pins ({m['pinned_bytes']})")
    if errs:
        print("; ".join(errs[:8]) + (f" (+{len(errs) - 8} more)" if len(errs) > 8 else ""))
        sys.exit(1)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmcore")
    ap.add_argument("--vmlinux")
    ap.add_argument("--top")
    ap.add_argument("--census")
    ap.add_argument("--compare", nargs=2)
    ap.add_argument("--explain")
    ap.add_argument("--incident", action="store_true")
    a = ap.parse_args()
    if a.compare:
        compare(*a.compare, a.explain, a.incident)
    else:
        oracle(a)
