#!/usr/bin/env python3
"""Byte-for-byte reads: skbwalk's `read` vs drgn's `prog.read` on the same addresses.

  readcheck.py pick --vmcore ELF --vmlinux V --manifest M --boot B [--kdump FILE]... > expect.json
      drgn on ELF (boot C: the copy with a grafted VMCOREINFO note) chooses the addresses and reads the
      expected bytes; drgn on each makedumpfile kdump FILE (libkdumpfile) says which reads fault there,
      i.e. touch a page `-d 31` filtered out (those must fail in skbwalk with "excluded").
  readcheck.py run --expect expect.json --bin SKBWALK --vmcore D --vmlinux V [--timeout S]
      one `skbwalk --vmcore D --vmlinux V read ADDR LEN [--phys] --json` per address; prints one line per
      read: "ok NAME" or "FAIL NAME: first difference".  Exit status 0 always (the tier counts the lines).

Addresses (kernel-virtual unless marked phys): init_task, linux_banner, init_uts_ns, the nginx socket's
struct sock (tcp_sock size), a few of its receive-queue skbs, their skb_shared_info, the struct pages
(vmemmap) of some frag pages, packet bytes in a frag page through the direct map, nginx's task_struct and
struct file (slab objects, direct map), a piece of its kernel stack (vmalloc, 4 KiB mappings); physical:
the top page table (init_top_pgt; arm64: swapper_pg_dir), a page in the middle of RAM, the last page of RAM, a free page (buddy
allocator: `-d 31` drops it), a read across a physical page boundary.
"""
import argparse
import json
import subprocess
import sys

import drgn
from drgn import cast
from drgn.helpers.linux.fs import for_each_file
from drgn.helpers.linux.pid import find_task

from drgnkit import vmcoreinfo

START_KERNEL_MAP = 0xFFFFFFFF80000000


def open_prog(core, vmlinux):
    p = drgn.Program()
    p.set_core_dump(core)
    p.load_debug_info([vmlinux])
    return p


def frag_page(fr):
    """(struct page address, offset, length) of a frag: a bio_vec before 6.2ish, netmem on 6.12+."""
    try:
        return fr.bv_page.value_(), fr.bv_offset.value_(), fr.bv_len.value_()
    except AttributeError:
        pass
    try:
        return fr.page.p.value_(), fr.page_offset.value_(), fr.size.value_()
    except AttributeError:
        pass
    # 6.12: netmem_ref; bit 0 set marks a net_iov (not a page) -- not expected on virtio_net
    return fr.netmem.value_() & ~1, fr.offset.value_(), fr.len.value_()


def pick(a):
    p = open_prog(a.vmcore, a.vmlinux)
    m = json.load(open(a.manifest))
    socks = m["boots"][a.boot]["sockets"]
    ng = next(s for s in socks if s["comm"] == "nginx" and s["role"] == "server")
    reads = []  # (name, addr, len, phys)

    def add(name, addr, length, phys=False):
        reads.append({"name": name, "addr": addr, "len": length, "phys": phys})

    sizeof = lambda t: drgn.sizeof(p.type(t))
    add("init_task", p["init_task"].address_, sizeof("struct task_struct"))  # crosses pages
    add("linux_banner", p["linux_banner"].address_, 256)
    add("init_uts_ns", p["init_uts_ns"].address_, sizeof("struct uts_namespace"))

    task = find_task(p, ng["pid"])
    add("nginx task_struct (slab)", task.value_(), sizeof("struct task_struct"))
    stack = task.stack.value_()
    add("nginx kernel stack (vmalloc)", stack + 4096 - 128, 512)  # crosses a 4 KiB mapping
    for fd, f in for_each_file(task):
        if fd == ng["fd"]:
            break
    else:
        sys.exit(f"readcheck: pid {ng['pid']} has no fd {ng['fd']}")
    add("nginx struct file (slab)", f.value_(), sizeof("struct file"))
    sk = cast("struct socket *", f.private_data).sk
    add("nginx struct sock", sk.value_(), sizeof("struct tcp_sock"))

    arm64 = p.platform.arch == drgn.Architecture.AARCH64
    spage = sizeof("struct page")
    if arm64:
        # arm64: drgn's own vmemmap and linear-map arithmetic (RAM does not start at physical 0)
        from drgn.helpers.linux.mm import pfn_to_virt
        vmemmap_base = p["vmemmap"].value_()
        pfn_virt = lambda pfn: pfn_to_virt(p, pfn).value_()
    else:
        page_offset_base = p["page_offset_base"].value_()
        vmemmap_base = p["vmemmap_base"].value_()
        pfn_virt = lambda pfn: page_offset_base + (pfn << 12)
    head = sk.sk_receive_queue.address_of_().value_()
    skb = sk.sk_receive_queue.next
    picked, i, frag_pages = 0, 0, []
    while skb.value_() != head and picked < 3:
        if i in (0, 1, 50) or skb.next.value_() == head:
            sh = skb.head.value_() + skb.end.value_()
            add(f"nginx skb #{i} sk_buff", skb.value_(), sizeof("struct sk_buff"))
            add(f"nginx skb #{i} skb_shared_info", sh, sizeof("struct skb_shared_info"))
            shi = drgn.Object(p, "struct skb_shared_info", address=sh)
            if shi.nr_frags.value_() > 0:
                fr = shi.frags[0]
                frag_pages.append((i, *frag_page(fr)))
            picked += 1
        skb = skb.next
        i += 1
    for i, pg, off, ln in frag_pages:
        # the compound page's struct pages: head and its neighbours (tail pages carry compound_head)
        add(f"nginx skb #{i} frag 0 struct page (vmemmap)", pg - spage, 4 * spage)
        pfn = (pg - vmemmap_base) // spage
        add(f"nginx skb #{i} frag 0 packet bytes (direct map)", pfn_virt(pfn) + off, min(ln, 2048))

    # physical
    vi = vmcoreinfo(p)
    max_pfn = p["max_pfn"].value_()
    if arm64:
        # the kernel image's top table, where the page-table walk drgn does for image addresses says
        from drgn.helpers.linux.mm import follow_phys
        pgt = follow_phys(p["init_mm"].address_of_(), p.symbol("swapper_pg_dir").address).value_()
        add("phys swapper_pg_dir", pgt, 4096, True)
        mid = (p["min_low_pfn"].value_() + max_pfn) // 2   # RAM starts at PHYS_OFFSET (virt: 1 GiB)
    else:
        phys_base = int(vi["NUMBER(phys_base)"]) & (2**64 - 1)
        pgt = (p.symbol("init_top_pgt").address - START_KERNEL_MAP + phys_base) & (2**64 - 1)
        add("phys init_top_pgt", pgt, 4096, True)
        mid = max_pfn // 2
    add("phys page in the middle of RAM", mid << 12, 4096, True)
    add("phys last page of RAM", (max_pfn - 1) << 12, 4096, True)
    add("phys across a page boundary (%s)" % ("swapper_pg_dir" if arm64 else "init_top_pgt"), pgt + 4096 - 64, 128, True)
    # a free page: the first page on a free list of ZONE_NORMAL/DMA32 with order 0..3, non-zero content
    free = None
    pgdat = p["node_data"][0] if "node_data" in p else p["contig_page_data"].address_of_()
    for z in range(pgdat.nr_zones.value_() - 1, -1, -1):
        zone = pgdat.node_zones[z]
        for order in range(0, 11):
            for mt in range(3):
                lh = zone.free_area[order].free_list[mt]
                nxt = lh.next.value_()
                if nxt == lh.address_of_().value_() or nxt == 0:
                    continue
                pg = nxt - drgn.offsetof(p.type("struct page"), "lru")
                pfn = (pg - vmemmap_base) // spage
                data = p.read(pfn << 12, 4096, True)
                if any(data):
                    free = pfn
                    break
                if free is None:
                    free = -pfn  # zero content: keep looking for one with data
            if free is not None and free > 0:
                break
        if free is not None and free > 0:
            break
    if free is not None:
        add("phys free page (buddy)", abs(free) << 12, 4096, True)
        add("free page via direct map", pfn_virt(abs(free)) + 512, 256)

    for r in reads:
        r["hex"] = p.read(r["addr"], r["len"], r["phys"]).hex()
    out = {"boot": a.boot, "source": a.vmcore, "reads": reads, "excluded": {}}
    for kd in a.kdump or []:
        q = open_prog(kd, a.vmlinux)
        name = kd.rsplit("/", 1)[-1]
        ex = []
        for r in reads:
            try:
                got = q.read(r["addr"], r["len"], r["phys"]).hex()
                if got != r["hex"]:
                    print(f"readcheck: drgn on {name} disagrees with the ELF at {r['name']}", file=sys.stderr)
            except drgn.FaultError:
                ex.append(r["name"])
        out["excluded"][name] = ex
    for r in reads:
        r["addr"] = "0x%x" % r["addr"]
    json.dump(out, sys.stdout, indent=1)


def run(a):
    e = json.load(open(a.expect))
    dn = a.vmcore.rsplit("/", 1)[-1]
    excluded = set(e["excluded"].get(dn, []))
    for r in e["reads"]:
        name = f"read {r['name']} {r['addr']}+{r['len']}"
        cmd = [a.bin, "--vmcore", a.vmcore, "--vmlinux", a.vmlinux, "read", r["addr"], str(r["len"])]
        if r["phys"]:
            cmd.append("--phys")
        cmd.append("--json")
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
        except subprocess.TimeoutExpired:
            print(f"FAIL {name}: timed out after {a.timeout}s")
            continue
        err = cp.stderr.strip().replace("\n", " ")[:300]
        if r["name"] in excluded:
            if cp.returncode == 1 and "excluded" in cp.stderr:
                print(f"ok {name} (excluded)")
            else:
                print(f"FAIL {name}: page filtered out of {dn}: expected exit 1 with 'excluded', got exit "
                      f"{cp.returncode}, stderr {err!r}")
            continue
        if cp.returncode != 0:
            print(f"FAIL {name}: exit {cp.returncode}: {err}")
            continue
        try:
            got = json.loads(cp.stdout)
        except ValueError as x:
            print(f"FAIL {name}: bad JSON: {x}")
            continue
        msgs = []
        if int(str(got.get("addr")), 16) != int(r["addr"], 16):
            msgs.append(f"addr {got.get('addr')!r} != {r['addr']}")
        if got.get("physical") is not r["phys"]:
            msgs.append(f"physical {got.get('physical')!r} != {r['phys']}")
        if got.get("len") != r["len"]:
            msgs.append(f"len {got.get('len')!r} != {r['len']}")
        h = got.get("hex")
        if h != r["hex"]:
            if not isinstance(h, str):
                msgs.append(f"hex is {type(h).__name__}")
            else:
                k = next((i for i in range(min(len(h), len(r["hex"]))) if h[i] != r["hex"][i]), min(len(h), len(r["hex"])))
                off = k // 2
                msgs.append(f"first differing byte at +{off:#x}: drgn {r['hex'][2*off:2*off+32]!r}, "
                            f"skbwalk {h[2*off:2*off+32]!r} (lengths {len(r['hex'])//2}/{len(h)//2})")
        print(f"FAIL {name}: " + "; ".join(msgs) if msgs else f"ok {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p1 = sub.add_parser("pick")
    p1.add_argument("--vmcore", required=True)
    p1.add_argument("--vmlinux", required=True)
    p1.add_argument("--manifest", required=True)
    p1.add_argument("--boot", required=True)
    p1.add_argument("--kdump", action="append")
    p2 = sub.add_parser("run")
    p2.add_argument("--expect", required=True)
    p2.add_argument("--bin", required=True)
    p2.add_argument("--vmcore", required=True)
    p2.add_argument("--vmlinux", required=True)
    p2.add_argument("--timeout", type=int, default=300)
    a = ap.parse_args()
    pick(a) if a.cmd == "pick" else run(a)


if __name__ == "__main__":
    main()
