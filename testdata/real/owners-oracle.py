#!/usr/bin/env python3
"""drgn's answer for the owners of allocpage skbwalk names from the kernel's structures (#28).

  owners-oracle.py --vmcore ELF --vmlinux V > owners.json
  owners-oracle.py --compare OWNERS.json MEMINFO.json --manifest M --boot B [--explain EX.json --big]
  owners-oracle.py --referrers MEMINFO.json --vmcore ELF --vmlinux V

Pipes: every task (drgn's for_each_task), every open file (for_each_file) whose f_op is
&pipefifo_fops or (6.15+) &pipeanon_fops: its pipe_inode_info (private_data), the pages of bufs[] from tail to head (ring_size
a power of two, free-running u32 counters) and tmp_page. Compared: each pipe of the boot's
manifest (its process wrote that many whole pages and never read) is a pipe drgn finds with those
pages; skbwalk's census names each pipe drgn finds pages in, with the same pages and a holder
naming a pid and fd holding it, and other.pipe is their sum; with --big (boot B: 16 MiB of pipes)
explain names pipes as the largest owner and the pipes process as its holder.

Tracing ring buffers: every trace_array on ftrace_trace_arrays, its array_buffer and snapshot,
each possible CPU's ring of buffer_pages and reader page (sub-buffers of 2^subbuf_order pages):
skbwalk names each instance's buffer with its pages, other.trace_ring is their sum, and the
guest's resized global buffer (1024 KiB per CPU) has ceil(1 MiB / data bytes per sub-buffer)
sub-buffers and a reader page on every CPU.

NIC rings (6.12+, where vring_virtqueue is in vmlinux): every virtio net device on init_net,
its split queues: the ring memory (queue_size_in_bytes from vring.desc) page for page, and the
heads of the pages the posted descriptors point at (desc_state[i].data set, chains, indirect
tables); skbwalk's buffers are at most drgn's (a page a queued skb holds is the census's skb).

AF_PACKET rings: every open file whose f_op is &socket_file_ops and whose sock is AF_PACKET (17),
cast to struct packet_sock: the pages of rx_ring and tx_ring (pg_vec_len blocks of
2^pg_vec_order pages). The manifest's socket (its geometry) is what drgn
finds; skbwalk names each ring with its pages and a pid and fd holding it, and other.packet_ring
is their sum.

Referrers (the reverse-reference scan, --referrers): drgn reads each word skbwalk names
(census.referrers) and finds its value there, pointing into the allocation (as a direct-map
address, drgn's pfn_to_virt, or a struct page, drgn's pfn_to_page), whose head drgn finds in use
and neither LRU nor slab (nor free: refcount 0); an image referrer's symbol is drgn's symbol at that address. And
no referrer was missed in the image: drgn scans the image's data, ro_after_init and bss itself for
words pointing into each allocation skbwalk lists as still unattributed
(census.unattributed_largest) and finds none. The unattributed share of other is at most 2 %
(or 64 pages), the issue's bar.
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
    # pipe files: pipefifo_fops, and 6.15+'s pipeanon_fops for anonymous pipes
    fops = {p[n].address_of_().value_() for n in ("pipefifo_fops", "pipeanon_fops") if n in p}

    def pipe_pages(pipe):
        """the pages a pipe holds: tmp_page and bufs[] from tail to head"""
        head, tail, ring = pipe.head.value_(), pipe.tail.value_(), pipe.ring_size.value_()
        pages = 0
        tmp = pipe.tmp_page
        for tp in (tmp if tmp.type_.unaliased_kind() == drgn.TypeKind.ARRAY else [tmp]):
            if tp.value_():
                pages += 1
        for i in range((head - tail) & 0xffffffff):
            if pipe.bufs[(tail + i) & (ring - 1)].page.value_():
                pages += 1
        return pages

    pipes = {}
    packet = {}  # AF_PACKET sockets with rings: sk -> {"ends", "rx", "tx"} (pages of each ring)
    sock_fops = p["socket_file_ops"].address_of_().value_()
    pkt = p.type("struct packet_sock *")

    def ring_pages(r):
        # pg_vec_len blocks of 2^pg_vec_order pages (on these guests every block comes from the
        # buddy allocator, none vzalloc'ed: a vmalloc'ed block would be skbwalk's vmalloc and differ)
        if not r.pg_vec.value_():
            return 0
        return sum(1 << r.pg_vec_order.value_() for i in range(r.pg_vec_len.value_()) if r.pg_vec[i].buffer.value_())
    for t in for_each_task(p):
        try:
            files = list(for_each_file(t))
        except drgn.FaultError:
            continue
        for fd, f in files:
            # a snapshot of a running guest can catch a task's table mid-change: a file
            # that cannot be read is skipped (the manifest's pipes are long-lived)
            try:
                if f.f_op.value_() == sock_fops:
                    sk = cast("struct socket *", f.private_data).sk
                    if sk.value_() and sk.__sk_common.skc_family.value_() == 17:
                        ps = cast(pkt, sk)
                        e = packet.setdefault(hex(sk.value_()), {"ends": [], "rx": ring_pages(ps.rx_ring),
                                                                 "tx": ring_pages(ps.tx_ring)})
                        e["ends"].append([t.tgid.value_(), fd, t.comm.string_().decode()])
                    continue
                if f.f_op.value_() not in fops:
                    continue
                pipe = cast("struct pipe_inode_info *", f.private_data)
                key = hex(pipe.value_())
                pages = pipe_pages(pipe)
            except drgn.FaultError:
                continue
            ent = pipes.setdefault(key, {"ends": [], "pages": None})
            ent["ends"].append([t.tgid.value_(), fd, t.comm.string_().decode()])
            if ent["pages"] is None:
                ent["pages"] = pages
    # the tracing ring buffers: every instance, its buffer and snapshot, each CPU's ring of
    # buffer_pages (links with flag bits in the low 2 bits) and its reader page
    from drgn.helpers.linux.list import list_for_each_entry
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    trace = {}
    for tr in list_for_each_entry("struct trace_array", p["ftrace_trace_arrays"].address_of_(), "list"):
        name = tr.name.string_().decode() if tr.name.value_() else "global"
        for what, m in (("buffer", "array_buffer"), ("snapshot", "max_buffer"), ("snapshot", "snapshot_buffer")):
            if not hasattr(tr, m) or not getattr(tr, m).buffer.value_():
                continue
            tb = getattr(tr, m).buffer
            order = tb.subbuf_order.value_() if hasattr(tb, "subbuf_order") else 0
            per_cpu = []
            for cpu in for_each_possible_cpu(p):
                cb = tb.buffers[cpu]
                if not cb.value_():
                    continue
                data = set()
                if cb.reader_page.value_():
                    data.add(cb.reader_page.page.value_())
                start = cb.pages.value_() & ~3
                link, n = start, 0
                while link and n < 1 << 24:
                    bp = drgn.Object(p, "struct buffer_page *", value=link - drgn.offsetof(p.type("struct buffer_page"), "list"))
                    data.add(bp.page.value_())
                    link = p.read_u64(link) & ~3
                    n += 1
                    if link == start:
                        break
                per_cpu.append({"cpu": cpu, "nr_pages": cb.nr_pages.value_(), "subbufs": len(data),
                                "pages": len(data) << order})
            trace[f"trace instance {name} {what} ({tr.value_():#x})"] = per_cpu
    # NIC rings (where the virtio core's types are in vmlinux, 6.12+): every virtio net device's
    # split queues, the heads of the pages its posted descriptors point at (guest-physical
    # addresses, chains and indirect tables), and the pages of its ring memory
    from drgn.helpers.linux.mm import pfn_to_page, compound_head, compound_order, virt_to_pfn, pfn_to_virt
    nic = {}
    try:
        p.type("struct vring_virtqueue")
    except LookupError:
        nic = None
    if nic is not None:
        ps = p["PAGE_SIZE"].value_() if "PAGE_SIZE" in p else 4096
        bus = p["virtio_bus"].address_of_().value_()
        for nd in list_for_each_entry("struct net_device", p["init_net"].dev_base_head.address_of_(), "dev_list"):
            parent = nd.dev.parent
            if not parent.value_() or parent.bus.value_() != bus:
                continue
            vdev = drgn.container_of(parent, "struct virtio_device", "dev")
            for vq in list_for_each_entry("struct virtqueue", vdev.vqs.address_of_(), "list"):
                vvq = drgn.container_of(vq, "struct vring_virtqueue", "vq")
                what = f"{nd.name.string_().decode()} {vq.name.string_().decode()}"
                packed = vvq.packed_ring.value_() if hasattr(vvq, "packed_ring") else vvq.layout.value_() in (1, 3)
                if packed:
                    continue
                sp = vvq.split
                num, desc = sp.vring.num.value_(), sp.vring.desc
                first = virt_to_pfn(desc).value_()
                last = (desc.value_() + sp.queue_size_in_bytes.value_() - 1) // ps - desc.value_() // ps + first
                nic[f"{what} ring"] = last - first + 1
                heads = {}

                def add(addr, ln):
                    for pfn in range(addr // ps, (addr + ln - 1) // ps + 1) if ln else ():
                        h = compound_head(pfn_to_page(p, pfn))
                        heads[h.value_()] = 1 << compound_order(h).value_()
                for i in range(num):
                    if not sp.desc_state[i].data.value_():
                        continue
                    j = i
                    for _ in range(num):
                        d = desc[j]
                        if d.flags.value_() & 4:
                            a = d.addr.value_()
                            tbl = drgn.Object(p, "struct vring_desc *", value=pfn_to_virt(p, a // ps).value_() + a % ps)
                            for t in range(d.len.value_() // 16):
                                add(tbl[t].addr.value_(), tbl[t].len.value_())
                        else:
                            add(d.addr.value_(), d.len.value_())
                        if not d.flags.value_() & 1:
                            break
                        j = d.next.value_()
                        if j >= num:
                            break
                nic[f"{what} buffers"] = sum(heads.values())
    # the large system hash tables made after boot: their pages, by drgn's types and sizes
    from drgn.helpers.linux.mm import virt_to_page, PageReserved
    from drgn import sizeof
    tables = {}

    def table(name, ptr, count):
        if ptr.value_() and count:
            tables[name] = -(-(count * sizeof(ptr[0])) // p["PAGE_SIZE"].value_()) if "PAGE_SIZE" in p \
                else -(-(count * sizeof(ptr[0])) // 4096)

    h = p["tcp_hashinfo"]
    table("tcp ehash", h.ehash, h.ehash_mask.value_() + 1)
    table("tcp bhash", h.bhash, h.bhash_size.value_())
    if hasattr(h, "bhash2"):
        table("tcp bhash2", h.bhash2, h.bhash_size.value_())
    table("tcp lhash2", h.lhash2, h.lhash2_mask.value_() + 1)
    for name in ("udp_table", "udplite_table"):
        if name in p:
            u = p[name]
            n = u.mask.value_() + 1
            end = u.hash.value_() + n * sizeof(u.hash[0])
            for m in ("hash2", "hash4"):
                if hasattr(u, m):
                    end = max(end, getattr(u, m).value_() + n * sizeof(getattr(u, m)[0]))
            ps = p["PAGE_SIZE"].value_() if "PAGE_SIZE" in p else 4096
            start = u.hash.value_()
            tables[name] = (end - (start & ~(ps - 1)) + ps - 1) // ps
    ps_ = p["PAGE_SIZE"].value_() if "PAGE_SIZE" in p else 4096

    def span(start, nbytes):
        return (start + nbytes - 1) // ps_ - start // ps_ + 1 if start and nbytes else 0
    if "ip_idents" in p and "ip_idents_mask" in p:
        n = p["ip_idents_mask"].value_() + 1
        per = sizeof(p.type("atomic_t")) + (4 if "ip_tstamps" in p else 0)
        if p["ip_idents"].value_():
            tables["ip idents"] = span(p["ip_idents"].value_(), n * per)
    if "tcp_metrics_hash" in p and "tcp_metrics_hash_log" in p:
        h = p["tcp_metrics_hash"]
        if h.value_():
            tables["tcp metrics"] = span(h.value_(), (1 << p["tcp_metrics_hash_log"].value_()) * sizeof(h[0]))
    if "token_hash" in p and "token_mask" in p:
        table("mptcp token", p["token_hash"], p["token_mask"].value_() + 1)
    # table_perturb: drgn's type says whether it is allocated (a pointer: 1 << 16 u32s,
    # INET_TABLE_PERTURB_SIZE) or an array in the image
    if "table_perturb" in p and p["table_perturb"].type_.unaliased_kind() == drgn.TypeKind.POINTER \
            and p["table_perturb"].value_():
        tables["table perturb"] = span(p["table_perturb"].value_(), (1 << 16) * sizeof(p["table_perturb"][0]))
    for name, mask in (("mount_hashtable", "m_hash_mask"), ("mountpoint_hashtable", "mp_hash_mask")):
        table(name, p[name], p[mask].value_() + 1)
    # the kernel's page tables (x86-64): every table below the top reached from the kernel half,
    # not PG_reserved (boot's tables are) and not typed as a page table
    ktables = None
    if p.platform.arch == drgn.Architecture.X86_64:
        import struct as st
        from drgn.helpers.linux.mm import pfn_to_page
        found = set()
        vi = p["VMCOREINFO"].string_().decode()
        levels = 5 if "NUMBER(pgtable_l5_enabled)=1" in vi else 4

        def walk(addr, depth, virt):
            raw = p.read(addr, 4096, not virt)
            for i, e in enumerate(st.unpack("<512Q", raw)):
                if depth == 0 and i < 256 or not e & 1:
                    continue
                level = levels - depth
                if level == 1 or (level in (2, 3) and e & 0x80):
                    continue
                pa = e & 0x000ffffffffff000
                if pa in found:
                    continue
                found.add(pa)
                if depth + 1 < levels - 1:
                    try:
                        walk(pa, depth + 1, False)
                    except drgn.FaultError:
                        pass
        walk(p["init_mm"].pgd.value_(), 0, True)
        if "PGTY_table" in p:
            typed = lambda pt: pt >> 24 == p["PGTY_table"].value_()
        else:
            rel = p["init_uts_ns"].name.release.string_().decode()
            bit = 0x400 if tuple(int(x) for x in rel.split(".")[:2]) < (5, 11) else 0x200
            typed = lambda pt: (pt & (0xf0000000 | bit)) == 0xf0000000
        ktables = sum(1 for pa in found
                      if not PageReserved(pfn_to_page(p, pa >> 12))
                      and not typed(pfn_to_page(p, pa >> 12).page_type.value_()))
    json.dump({"pipes": pipes, "packet": packet, "trace": trace, "nic": nic, "hash_tables": tables,
               "kernel_page_tables": ktables},
              sys.stdout, indent=1)


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
    # AF_PACKET rings: the manifest's geometry is what drgn finds, and skbwalk names each ring
    # drgn finds pages in, with them, held by that pid and fd; other.packet_ring is their sum
    pk = json.load(open(a.compare[0])).get("packet", {})
    pk_end = {(pid, fd): x for x in pk.values() for pid, fd, _ in x["ends"]}
    for mp in boot.get("packet_rings", []):
        x = pk_end.get((mp["pid"], mp["fd"]))
        want = (mp["rx_blocks"] * mp["rx_block_pages"], mp["tx_blocks"] * mp["tx_block_pages"])
        if x is None or (x["rx"], x["tx"]) != want:
            errs.append(f"manifest packet socket pid {mp['pid']} fd {mp['fd']}: rings of {want} pages, drgn finds {x}")
    rings = census.get("owners", {}).get("packet_ring", [])
    ptotal = 0
    for sk, x in pk.items():
        for what in ("rx", "tx"):
            if not x[what]:
                continue
            ptotal += x[what]
            h = next((h for h in rings if h["holder"].startswith(f"AF_PACKET socket {sk} {what} ring")), None)
            if h is None or h["pages"] != x[what] or [h["pid"], h["fd"]] not in [e[:2] for e in x["ends"]]:
                errs.append(f"AF_PACKET {sk} {what} ring: drgn {x[what]} pages held by {x['ends']}, skbwalk {h}")
    if census.get("other", {}).get("packet_ring", 0) != ptotal:
        errs.append(f"census other.packet_ring {census.get('other', {}).get('packet_ring')} != drgn's {ptotal}")
    # the tracing ring buffers: each instance's buffer drgn finds pages in is a holder with them,
    # other.trace_ring their sum; the manifest's resized global buffer has, on every CPU,
    # ceil(written / sub-buffer data size) sub-buffers and a reader page
    tr = json.load(open(a.compare[0])).get("trace", {})
    th = {h["holder"]: h["pages"] for h in census.get("owners", {}).get("trace_ring", [])}
    ttotal = 0
    for name, per_cpu in tr.items():
        pages = sum(c["pages"] for c in per_cpu)
        ttotal += pages
        if pages and th.get(name) != pages:
            errs.append(f"{name}: drgn {pages} pages, skbwalk {th.get(name)}")
    if census.get("other", {}).get("trace_ring", 0) != ttotal:
        errs.append(f"census other.trace_ring {census.get('other', {}).get('trace_ring')} != drgn's {ttotal}")
    for mt in boot.get("trace", []):
        per_cpu = next((v for k, v in tr.items() if k.startswith("trace instance global buffer")), [])
        want = -(-mt["written_kb"] * 1024 // (mt["subbuf_kb"] * 1024 - 16)) + 1
        if len(per_cpu) != mt["cpus"] or any(c["subbufs"] != want for c in per_cpu):
            errs.append(f"global trace buffer: {mt['cpus']} CPUs of {want} sub-buffers written, drgn finds "
                        f"{[(c['cpu'], c['subbufs']) for c in per_cpu]}")
    # NIC rings: each queue's ring memory is drgn's to the page; its posted buffers at most
    # drgn's (a buffer's page that a queued skb also holds is the census's skb), and
    # other.nic_ring at most drgn's sum. Kernels without the virtio core's types: none named.
    nic = json.load(open(a.compare[0])).get("nic")
    nh = {h["holder"]: h["pages"] for h in census.get("owners", {}).get("nic_ring", [])}
    if nic is None:
        if nh:
            errs.append(f"nic rings: drgn has no vring_virtqueue type, skbwalk names {nh}")
    else:
        for name, pages in nic.items():
            got = nh.get(name, 0)
            if (got != pages) if name.endswith(" ring") else not 0 <= got <= pages:
                errs.append(f"{name}: drgn {pages} pages, skbwalk {got}")
        for name in set(nh) - set(nic):
            errs.append(f"{name}: skbwalk names {nh[name]} pages, drgn finds no such queue")
        if census.get("other", {}).get("nic_ring", 0) > sum(nic.values()):
            errs.append(f"census other.nic_ring {census.get('other', {}).get('nic_ring')} > drgn's {sum(nic.values())}")
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
    # the kernel's hash tables: as many tables of as many pages (all taken from the buddy
    # allocator on these guests), and their sum
    ht = json.load(open(a.compare[0])).get("hash_tables", {})
    got = sorted(h["pages"] for h in census.get("owners", {}).get("hash_table", []))
    if got != sorted(ht.values()) or census.get("other", {}).get("hash_table") != sum(ht.values()):
        errs.append(f"hash tables: drgn {ht}, skbwalk {[(h['holder'], h['pages']) for h in census.get('owners', {}).get('hash_table', [])]}")
    kt = json.load(open(a.compare[0])).get("kernel_page_tables")
    if kt is not None and census.get("other", {}).get("kernel_page_table") != kt:
        errs.append(f"kernel page tables: drgn {kt} not reserved, skbwalk other.kernel_page_table {census.get('other', {}).get('kernel_page_table')}")
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


def referrers(a):
    import drgn
    import struct as st
    from drgn.helpers.linux.mm import pfn_to_page, pfn_to_virt, PageLRU, PageSlab

    p = drgn.Program()
    p.set_core_dump(a.vmcore)
    p.load_debug_info([a.vmlinux])
    census = json.load(open(a.referrers))["census"]
    ps = p["PAGE_SIZE"].value_() if "PAGE_SIZE" in p else 4096
    spsize = drgn.sizeof(p.type("struct page"))
    errs = []

    def ranges(pfn, n):
        virt = pfn_to_virt(p, pfn).value_()
        page = pfn_to_page(p, pfn).value_()
        return (virt, virt + n * ps), (page, page + n * spsize)

    refs = census.get("referrers", [])
    for r in refs:
        where = f"referrer {r['name']} at {r['at']:#x} of pfn {r['pfn']}"
        try:
            v = p.read_u64(r["at"])
        except drgn.FaultError as e:
            errs.append(f"{where}: drgn cannot read it ({e})")
            continue
        (v0, v1), (s0, s1) = ranges(r["pfn"], r["pages"])
        inside = v0 <= v < v1 if r["via"] == "direct_map" else s0 <= v < s1 and (v - s0) % spsize == 0
        if v != r["value"] or not inside:
            errs.append(f"{where}: drgn reads {v:#x} (skbwalk {r['value']:#x}), not into pfns {r['pfn']}+{r['pages']} by {r['via']}")
            continue
        head = pfn_to_page(p, r["pfn"])
        if PageLRU(head) or PageSlab(head) or head._refcount.counter.value_() == 0:
            errs.append(f"{where}: drgn finds its head on the LRU, slab, or at refcount 0 (free or unused)")
        if r["region"] == "image":
            sym = p.symbol(r["at"]).name if r["at"] else None
            if sym != r["group"]:
                errs.append(f"{where}: drgn's symbol there is {sym}, skbwalk's group {r['group']}")
    # nothing in the image points into an allocation skbwalk leaves unattributed
    left = [ranges(u["pfn"], u["pages"]) + (u["pfn"],) for u in census.get("unattributed_largest", [])]
    spans = []
    for a_, b_ in (("_sdata", "_edata"), ("__start_ro_after_init", "__end_ro_after_init"), ("__bss_start", "__bss_stop")):
        try:
            spans.append((p.symbol(a_).address, p.symbol(b_).address))
        except LookupError:
            pass
    for s0, s1 in spans:
        at = s0 & ~7
        while at < s1:
            n = min(1 << 20, s1 - at) & ~7
            try:
                raw = p.read(at, n)
            except drgn.FaultError:
                at += n
                continue
            words = st.unpack(f"<{n // 8}Q", raw)
            for (v0, v1), (g0, g1), pfn in left:
                for i, v in enumerate(words):
                    if v0 <= v < v1 or (g0 <= v < g1 and (v - g0) % spsize == 0):
                        errs.append(f"pfn {pfn}: skbwalk leaves it unattributed, drgn finds {p.symbol(at + 8 * i).name} "
                                    f"at {at + 8 * i:#x} pointing into it")
                        break
            at += n
    o = census.get("other", {})
    total = sum(o.values())
    if total and o.get("unattributed", 0) > max(64, 0.02 * total):
        errs.append(f"other.unattributed is {o['unattributed']} pages, {100 * o['unattributed'] / total:.1f}% of other "
                    f"({total} pages): more than 2% and 64 pages")
    if errs:
        print("; ".join(errs[:6]) + (f" (+{len(errs) - 6} more)" if len(errs) > 6 else ""))
        sys.exit(1)
    print(f"{len(refs)} referrers verified, {len(left)} unattributed allocations have no image referrer")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmcore")
    ap.add_argument("--vmlinux")
    ap.add_argument("--compare", nargs=2)
    ap.add_argument("--manifest")
    ap.add_argument("--boot")
    ap.add_argument("--explain")
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--referrers")
    a = ap.parse_args()
    if a.referrers:
        referrers(a)
    elif a.compare:
        compare(a)
    else:
        oracle(a)
