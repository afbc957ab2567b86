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
    if "tcp_memory_allocated" not in g and "net_aligned_data" in p:  # 6.17+
        g["tcp_memory_allocated"] = p["net_aligned_data"].tcp_memory_allocated.counter.value_()
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
    stack = first.stack.value_()
    if p.platform.arch == drgn.Architecture.AARCH64:
        # a stack is vmalloc'ed or in the linear map: [-(1 << va), -(1 << (va - 1))) with the
        # address size in use, 64 - TCR_EL1.T1SZ
        vi = p["VMCOREINFO"].string_().decode()
        t1sz = int(next(ln.split("=")[1] for ln in vi.splitlines() if ln.startswith("NUMBER(TCR_EL1_T1SZ)=")), 0)
        va = 64 - t1sz
        vstacks = not (2**64 - 2**va <= stack < 2**64 - 2**(va - 1))
    else:
        base = p["vmalloc_base"].value_()
        vstacks = base <= stack < base + (32 << 40)
    lines = {
        "anon": e("NR_ANON_MAPPED") * ps,
        "file": (e("NR_FILE_PAGES") - e("NR_SHMEM")) * ps,
        "shmem": e("NR_SHMEM") * ps,
        "slab_reclaimable": e("NR_SLAB_RECLAIMABLE_B") * ps,
        "slab_unreclaimable": e("NR_SLAB_UNRECLAIMABLE_B") * ps,
        "page_tables": (e("NR_PAGETABLE") + e("NR_SECONDARY_PAGETABLE")) * ps,
        # 7.1+: the node counter NR_VMALLOC replaced nr_vmalloc_pages
        "vmalloc": (e("NR_VMALLOC") if "NR_VMALLOC" in counters else g.get("nr_vmalloc_pages", 0)) * ps,
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
    out_census = census(p, drgn, counters)
    # explain's "why the usual views missed it": drgn's slab_cache_usage and percpu_counter_sum
    from drgn.helpers.linux.percpu import percpu_counter_sum
    from drgn.helpers.linux.slab import find_slab_cache, slab_cache_usage
    skb_slab = {}
    for name in ("skbuff_head_cache", "skbuff_fclone_cache"):
        c = find_slab_cache(p, name)
        if c is not None:
            u = slab_cache_usage(c)
            skb_slab[name] = {"slot_size": c.size.value_(), "total_objects": u.num_objs,
                              "active_objects": u.active_objs}
    tcp_mem = g.get("tcp_memory_allocated", 0) * ps
    tcp_sockets = percpu_counter_sum(p["tcp_sockets_allocated"].address_of_())
    out = {
        "explain": {"skb_slab": skb_slab, "sockstat": {"tcp_memory_allocated_bytes": tcp_mem,
                                                      "tcp_sockets": tcp_sockets}},
        "census": out_census,
        "page_size": ps,
        "counters": counters,
        "globals": g,
        "online_cpus": cpus,
        "breakdown": {"total": total, "free": free, "user": user, "kernel": kernel,
                      "allocpage": total - free - user - kernel, "lines": lines, "stacks_in_vmalloc": vstacks},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


def census(p, drgn, counters):
    """The census by the spec's rules (§3), reading the vmemmap in 1 MiB pieces with prog.read and
    decoding struct pages with drgn's offsets; vmalloc pages from drgn's own vmap area walk."""
    import struct as st

    page = p.type("struct page")
    size = drgn.sizeof(page)
    off = lambda m: drgn.offsetof(page, m)
    from drgnkit import compound_word, head_of
    o_ch, mask_mode = compound_word(p)
    o_flags, o_ref, o_priv, o_pt = off("flags"), off("_refcount"), off("private"), off("page_type")
    # the word naming a page's memcg (5.10: mem_cgroup), for the cgroups oracle's charged pages
    try:
        o_memcg = off("memcg_data")
    except LookupError:
        o_memcg = off("mem_cgroup")
    charged = {}
    bit = lambda n: p[n].value_()
    b_res, b_lru, b_swap, b_head = bit("PG_reserved"), bit("PG_lru"), bit("PG_swapbacked"), bit("PG_head")
    try:
        b_slab = bit("PG_slab")
    except KeyError:
        b_slab = None
    try:
        ty = {"buddy": bit("PGTY_buddy"), "table": bit("PGTY_table"), "slab": bit("PGTY_slab")}
        is_type = lambda pt, t: (pt >> 24) == ty[t]
    except KeyError:
        rel = p["init_uts_ns"].name.release.string_().decode()
        major, minor = (int(x) for x in rel.split(".")[:2])
        bits = {"buddy": 0x80, "table": 0x400 if (major, minor) < (5, 11) else 0x200, "slab": None}
        is_type = lambda pt, t: bits[t] is not None and (pt & (0xF0000000 | bits[t])) == 0xF0000000
    # a page type naming an owner marks a page in use even at _refcount 0 (7.x allocates large
    # kmalloc pages frozen); before enum pagetype, PG_offline is 0x100 below PAGE_TYPE_BASE
    try:
        owned = {bit(n) for n in ("PGTY_large_kmalloc", "PGTY_offline", "PGTY_zsmalloc") if n in p}
        owner_typed = lambda pt: (pt >> 24) in owned
    except KeyError:
        owner_typed = lambda pt: False
    if "PGTY_buddy" not in p:
        owner_typed = lambda pt: (pt & 0xf0000100) == 0xf0000000
    try:
        o_order = size + drgn.offsetof(page, "compound_order")
    except LookupError:
        folio = p.type("struct folio")
        try:
            o_order = drgn.offsetof(folio, "_folio_order")
        except LookupError:
            o_order = drgn.offsetof(folio, "_flags_1")
    # x86-64's variable; on arm64 drgn's own `vmemmap` object (arm64 has an unrelated
    # `vmemmap_base` symbol)
    if p.platform.arch == drgn.Architecture.AARCH64:
        vmemmap = p["vmemmap"].value_()
    else:
        vmemmap = p["vmemmap_base"].value_()
    max_pfn = p["max_pfn"].value_()
    # vmalloc pages
    from drgn.helpers.linux.list import list_for_each_entry
    from drgn.helpers.linux.mm import follow_pfn
    ps_ = p["PAGE_SIZE"].value_() if "PAGE_SIZE" in p else 4096
    heads = []
    if "vmap_area_list" in p:
        heads.append(p["vmap_area_list"].address_of_())
    else:
        for i in range(p["nr_vmap_nodes"].value_()):
            heads.append(p["vmap_nodes"][i].busy.head.address_of_())
    vm_pages = set()
    for h in heads:
        for va in list_for_each_entry("struct vmap_area", h, "list"):
            vm = va.vm
            if not vm.value_():
                continue
            n = vm.nr_pages.value_()
            if vm.pages.value_() and n:
                raw = p.read(vm.pages.value_(), 8 * n)
                vm_pages.update(st.unpack_from(f"<{n}Q", raw))
            elif not vm.flags.value_() & 1 and vm.size.value_() <= 1 << 30:
                # vmap'ed without pages[] (not VM_IOREMAP): the RAM it maps, by drgn's walk of
                # init_mm's tables
                for a in range(vm.addr.value_(), vm.addr.value_() + vm.size.value_(), ps_):
                    try:
                        q = follow_pfn(p["init_mm"].address_of_(), a).value_()
                    except drgn.FaultError:
                        continue
                    if q < max_pfn:
                        vm_pages.add(vmemmap + q * size)
    classes, other = {}, {"vmalloc": 0, "rest": 0}
    pages, free_until, comp = 0, 0, None
    step = (1 << 20) // size
    pfn = p["min_low_pfn"].value_()  # as drgn's for_each_page: arm64's RAM starts at PHYS_OFFSET
    while pfn < max_pfn:
        n = min(step, max_pfn - pfn)
        try:
            buf = p.read(vmemmap + pfn * size, n * size)
        except drgn.FaultError:
            buf = None
        for i in range(n):
            q = pfn + i
            if buf is None:
                try:
                    sp = p.read(vmemmap + q * size, size)
                except drgn.FaultError:
                    continue
            else:
                sp = buf[i * size:(i + 1) * size]
            pages += 1
            flags, = st.unpack_from("<Q", sp, o_flags)
            ch, = st.unpack_from("<Q", sp, o_ch)
            pt, = st.unpack_from("<I", sp, o_pt)
            if q < free_until:
                c = "free"
            elif flags >> b_res & 1:
                c = "reserved"
            elif not ch & 1 and is_type(pt, "buddy"):
                order, = st.unpack_from("<Q", sp, o_priv)
                if order <= 11:
                    free_until = q + (1 << order)
                c = "free"
            elif ch & 1:
                hp = (head_of(vmemmap + q * size, ch, mask_mode) - vmemmap) // size
                c = comp[2] if comp and comp[0] == hp and q < comp[1] else "other"
                key = comp[3] if comp and comp[0] == hp and q < comp[1] else 0
            else:
                if (b_slab is not None and flags >> b_slab & 1) or is_type(pt, "slab"):
                    c = "slab"
                elif is_type(pt, "table"):
                    c = "page_table"
                elif flags >> b_lru & 1:
                    c = "lru_anon" if flags >> b_swap & 1 else "lru_file"
                elif st.unpack_from("<I", sp, o_ref)[0] == 0 and not owner_typed(pt):
                    c = "unused"
                else:
                    c = "other"
                # a page in use names the memcg it is charged to; a slab page's word is its
                # objects' vector (bit 0), not a charge
                key = 0 if c in ("slab", "unused") else st.unpack_from("<Q", sp, o_memcg)[0]
                if flags >> b_head & 1:
                    order = p.read(vmemmap + q * size + o_order, 1)[0]
                    if order <= 18:
                        comp = (q, q + (1 << order), c, key)
            if c not in ("free", "reserved") and key and not key & 1:
                per = charged.setdefault(key, {})
                per[c] = per.get(c, 0) + 1
            classes[c] = classes.get(c, 0) + 1
            if c == "other":
                other["vmalloc" if vmemmap + q * size in vm_pages else "rest"] += 1
        pfn += n
    return {"pages": pages, "classes": classes, "other_vmalloc": other["vmalloc"], "other_rest": other["rest"],
            "charged": charged}


def compare(expect, actual, need_deltas, top=None):
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
    ec, ac = e["census"], a.get("census") or {}
    if ec["pages"] != ac.get("pages"):
        errs.append(f"census pages: drgn {ec['pages']}, skbwalk {ac.get('pages')}")
    if ec["classes"] != ac.get("classes"):
        errs.append(f"census classes: drgn {ec['classes']}, skbwalk {ac.get('classes')}")
    ao = ac.get("other", {})
    if ec["other_vmalloc"] != ao.get("vmalloc"):
        errs.append(f"census other.vmalloc: drgn {ec['other_vmalloc']}, skbwalk {ao.get('vmalloc')}")
    # every owner but vmalloc (skb, the owners the kernel's structures name, unattributed)
    if ec["other_rest"] != sum(v for k, v in ao.items() if k != "vmalloc"):
        errs.append(f"census other beyond vmalloc: drgn {ec['other_rest']}, skbwalk {ao}")
    if top:
        # every page the socket queues hold (drgn's own walk: unique pages' bytes) is "other" / skb
        held = json.load(open(top))["totals"]["page_bytes"] // e["page_size"]
        if ao.get("skb") != held:
            errs.append(f"census other.skb {ao.get('skb')} != pages the queues hold by drgn's walk {held}")
    if need_deltas and not errs and not any(c["exact"] != c["global"] for c in e["counters"].values()):
        errs.append("no counter has an unfolded per-CPU delta (the busy scenario should leave some): "
                    "exact == global everywhere proves nothing")
    print("; ".join(errs[:8]))
    sys.exit(1 if errs else 0)


def compare_explain(expect, actual, top, incident=False):
    """explain's figures against drgn: the skb caches' usage, sockstat, and the top holder (drgn's
    own socket walk, the oracle's --all answer)."""
    e, a = json.load(open(expect))["explain"], json.load(open(actual))
    errs = []
    if e["skb_slab"] != a.get("skb_slab"):
        errs.append(f"skb_slab: drgn {e['skb_slab']}, skbwalk {a.get('skb_slab')}")
    if e["sockstat"] != a.get("sockstat"):
        errs.append(f"sockstat: drgn {e['sockstat']}, skbwalk {a.get('sockstat')}")
    if top:
        socks = sorted(json.load(open(top))["sockets"], key=lambda s: -s["totals"]["pinned_bytes"])
        first, got = socks[0], (a.get("top_sockets") or [{}])[0]
        if (first.get("pid"), first.get("fd"), first["totals"]["pinned_bytes"]) != \
                (got.get("pid"), got.get("fd"), got.get("totals", {}).get("pinned_bytes")):
            errs.append(f"top holder: drgn pid {first.get('pid')} fd {first.get('fd')} "
                        f"{first['totals']['pinned_bytes']}, skbwalk pid {got.get('pid')} fd {got.get('fd')} "
                        f"{got.get('totals', {}).get('pinned_bytes')}")
        if str(got.get("pid")) not in a.get("summary", ""):
            errs.append(f"the summary does not name the top holder: {a.get('summary')!r}")
    if incident and not (a.get("allocpage_abnormal") and a.get("summary", "").startswith("The memory is in socket")):
        errs.append(f"boot D is the incident's shape, but explain says: {a.get('summary')!r} "
                    f"(allocpage {a.get('allocpage_percent')}% of total)")
    print("; ".join(errs))
    sys.exit(1 if errs else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmcore")
    ap.add_argument("--vmlinux")
    ap.add_argument("--compare", nargs=2)
    ap.add_argument("--compare-explain", nargs=2)
    ap.add_argument("--need-deltas", action="store_true", help="fail when no counter has a per-CPU delta")
    ap.add_argument("--top", help="the oracle's --all answer (drgn's socket walk), for census other.skb")
    ap.add_argument("--incident", action="store_true", help="explain must find the incident: allocpage abnormal, in socket queues")
    a = ap.parse_args()
    if a.compare_explain:
        compare_explain(*a.compare_explain, a.top, a.incident)
    elif a.compare:
        compare(*a.compare, a.need_deltas, a.top)
    else:
        oracle(a)


if __name__ == "__main__":
    main()
