#!/usr/bin/env python3
"""drgn's answer for the owners of allocpage skbwalk names from the kernel's structures (#28).

  owners-oracle.py --vmcore ELF --vmlinux V > owners.json
  owners-oracle.py --compare OWNERS.json MEMINFO.json --manifest M --boot B --top ALL.json [--explain EX.json --big]
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

NIC rings (vring_virtqueue from vmlinux, 6.12+, or the virtio modules' debug files the tier keeps,
5.10 and 6.1): every virtio net device on init_net,
its split queues: the ring memory (queue_size_in_bytes from vring.desc) page for page, and the
heads of the pages the posted descriptors point at (desc_state[i].data set, chains, indirect
tables); skbwalk's buffers are drgn's less the pages an earlier owner holds (below).

An owner's pages are drgn's less those an owner the census asks earlier holds: socket queues
(the heads drgn's own socket walk finds, oracle.py --all's held_heads, given as --top), then
page_pool, page_frag, ... nic_ring, in skbwalk's order.

page_pool: every page in use whose pp_magic is PP_SIGNATURE under the kernel's mask (see
page_pools), by pool (page.pp) and device (pool.slow.netdev, 6.7+): skbwalk names each pool with
its pages and device, other.page_pool is their sum.

page_frag: each online CPU's netdev_alloc_cache and napi_alloc_cache (page, page_small: only at
a non-zero offset, where the 1 KiB cache still holds references) current page (drgn's per_cpu, va
or 6.13's encoded_page), each task's task_frag.page, each fd socket's
sk_frag.page, as compound heads: skbwalk names each with its pages (at most, where two holders
share a page), other.page_frag is their sum. The manifest's napi_frags line (a frame of frags written
to a TAP device with IFF_NAPI_FRAGS on one CPU) must leave that CPU's napi_alloc_cache holding a page.

perf rings: every open file whose f_op is &perf_fops, its struct perf_event's rb (once, however
many events share it): the user page, data_pages[0..nr_pages) and aux_pages[0..aux_nr_pages).
The manifest's event (pipes scenario: 64 data pages) is what drgn finds at its pid and fd;
skbwalk names each ring with its pages and a pid and fd holding it, other.perf_ring their sum.

io_uring: every open file whose f_op is &io_uring_fops, its struct io_ring_ctx (once): the
kernel-allocated pages of its rings and SQE array as compound heads (6.14+'s ring_region and
sq_region unless user-provided, 6.12's ring_pages and sqe_pages unless IORING_SETUP_NO_MMAP, before
the compound pages rings and sq_sqes point into), and its provided-buffer rings the kernel
allocated (io_bl_xa by drgn's xa_for_each: 6.12's IOBL_MMAP buf_pages, 6.14's IOBL_BUF_RING
regions not user-provided). The manifest's instance (pipes scenario: 256 SQEs, a 1024-entry
buffer ring where the kernel takes IOU_PBUF_RING_MMAP: 4 pages) is what drgn finds at its pid and fd; skbwalk names each with its pages, other.io_uring
their sum.

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


def virtio_module_debug(vmlinux):
    """the virtio core's module debug files (virtio, virtio_ring) of the -dbg package vmlinux came
    from, where the core is a module (Debian 5.10, 6.1): make-dumps.sh keeps them"""
    import glob
    import os
    root = os.path.dirname(os.path.dirname(vmlinux))  # .../usr/lib/debug
    return sorted(f for n in ("virtio", "virtio_ring")
                  for f in glob.glob(f"{root}/lib/modules/*/kernel/drivers/virtio/{n}.ko*"))


def oracle(a):
    import drgn
    from drgn import cast
    from drgn.helpers.linux.fs import for_each_file
    from drgn.helpers.linux.pid import for_each_task

    p = drgn.Program()
    p.set_core_dump(a.vmcore)
    mods = virtio_module_debug(a.vmlinux)
    p.load_debug_info([a.vmlinux] + mods)
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
    perf_fops = p["perf_fops"].address_of_().value_()
    perf = {}  # perf rings: rb -> {"ends", "data", "aux", "pages"}
    uring_fops = p["io_uring_fops"].address_of_().value_() if "io_uring_fops" in p else None
    uring = {}  # io_uring instances: ctx -> {"ends", "sq_entries", "pages"}

    def uring_pages(ctx):
        """the pages of an io_uring's rings and SQE array the kernel allocated, as compound
        heads: 6.14+'s regions (not user-provided), 6.12's page arrays (not NO_MMAP), else the
        compound pages rings and sq_sqes point into"""
        from drgn.helpers.linux.mm import compound_head, compound_order, virt_to_page
        heads = {}

        def add(pg):
            h = compound_head(pg)
            heads[h.value_()] = 1 << compound_order(h).value_()
        if hasattr(ctx, "ring_region"):
            for r in (ctx.ring_region, ctx.sq_region):
                if not r.flags.value_() & 2:  # IO_REGION_F_USER_PROVIDED
                    for i in range(r.nr_pages.value_()):
                        add(r.pages[i])
        elif hasattr(ctx, "ring_pages") and ctx.ring_pages.value_() and not ctx.flags.value_() & (1 << 14):
            for arr, n in ((ctx.ring_pages, ctx.n_ring_pages), (ctx.sqe_pages, ctx.n_sqe_pages)):
                for i in range(n.value_()):
                    add(arr[i])
        elif not ctx.flags.value_() & (1 << 14):  # IORING_SETUP_NO_MMAP (6.5+): user pages
            for va in (ctx.rings, ctx.sq_sqes):
                if va.value_():
                    add(virt_to_page(va))
        # provided-buffer rings the kernel allocated: 6.12's IOBL_MMAP page arrays, 6.14's
        # IOBL_BUF_RING regions not user-provided (drgn's own xarray walk)
        bufs = 0
        if hasattr(ctx, "io_bl_xa"):
            from drgn.helpers.linux.xarray import xa_for_each
            for _, entry in xa_for_each(ctx.io_bl_xa.address_of_()):
                bl = cast("struct io_buffer_list *", entry)
                before = sum(heads.values())
                if hasattr(bl, "region"):
                    if bl.flags.value_() & 1 and not bl.region.flags.value_() & 2:
                        for i in range(bl.region.nr_pages.value_()):
                            add(bl.region.pages[i])
                elif hasattr(bl, "flags") and bl.flags.value_() & 2:
                    for i in range(bl.buf_nr_pages.value_()):
                        add(bl.buf_pages[i])
                bufs += sum(heads.values()) - before
        return sum(heads.values()), bufs
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
                if uring_fops is not None and f.f_op.value_() == uring_fops:
                    ctx = cast("struct io_ring_ctx *", f.private_data)
                    if hex(ctx.value_()) not in uring:
                        pages, bufs = uring_pages(ctx)
                        uring[hex(ctx.value_())] = {"ends": [], "sq_entries": ctx.sq_entries.value_(),
                                                    "pages": pages, "buf_ring_pages": bufs}
                    e = uring[hex(ctx.value_())]
                    e["ends"].append([t.tgid.value_(), fd, t.comm.string_().decode()])
                    continue
                if f.f_op.value_() == perf_fops:
                    rb = cast("struct perf_event *", f.private_data).rb
                    if rb.value_():
                        data = sum(1 for i in range(rb.nr_pages.value_()) if rb.data_pages[i].value_())
                        aux = sum(1 for i in range(rb.aux_nr_pages.value_()) if rb.aux_pages[i].value_())
                        e = perf.setdefault(hex(rb.value_()), {"ends": [], "data": data, "aux": aux,
                                                               "pages": int(bool(rb.user_page.value_())) + data + aux})
                        e["ends"].append([t.tgid.value_(), fd, t.comm.string_().decode()])
                    continue
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
    # NIC rings: every virtio net device's split queues, the heads of the pages its posted
    # descriptors point at (guest-physical addresses, chains and indirect tables), and the pages
    # of its ring memory. The virtio core's types: vmlinux's where it is built in (6.12+), else
    # its modules' debug files (skbwalk reads the BTF the kernel keeps of each module, 6.1, or
    # the same debug files beside the vmlinux, 5.10).
    from drgn.helpers.linux.mm import pfn_to_page, compound_head, compound_order, virt_to_pfn, pfn_to_virt
    nic = {}
    try:
        p.type("struct vring_virtqueue")
    except LookupError:
        nic = None
    if nic is not None:
        ps = p["PAGE_SIZE"].value_() if "PAGE_SIZE" in p else 4096
        for nd in list_for_each_entry("struct net_device", p["init_net"].dev_base_head.address_of_(), "dev_list"):
            parent = nd.dev.parent
            if not parent.value_() or not parent.bus.value_() or parent.bus.name.string_() != b"virtio":
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
                nic[f"{what} buffers"] = sorted(heads.items())
    # page_pool pages: every head page whose pp_magic passes the kernel's own test, by its pool
    pool = page_pools(p, drgn)
    # page_frag caches: the current page of each online CPU's skb frag caches, each task's
    # task_frag and each fd socket's sk_frag (skbwalk's holder names, the socket's without its
    # "(pid … fd …)")
    from drgn.helpers.linux.cpumask import for_each_online_cpu
    from drgn.helpers.linux.percpu import per_cpu
    from drgn.helpers.linux.mm import virt_to_page
    frag = {}

    def frag_add(name, page):
        if page:
            h = compound_head(drgn.Object(p, "struct page *", value=page))
            frag.setdefault(name, {})[h.value_()] = 1 << compound_order(h).value_()

    def cache_page(c):
        if hasattr(c, "va"):
            va = c.va.value_()
        else:  # 6.13+: the page's address with its order and pfmemalloc in the low bits
            va = c.encoded_page.value_() & ~(p["PAGE_SIZE"].value_() - 1 if "PAGE_SIZE" in p else 4095)
        return virt_to_page(p, va).value_() if va else 0
    caches = []
    if "netdev_alloc_cache" in p:
        caches.append(("netdev_alloc_cache", lambda o: cache_page(o)))
    if "napi_alloc_cache" in p:
        nc = p["napi_alloc_cache"]
        if any(m.name == "page" for m in nc.type_.members):
            caches.append(("napi_alloc_cache", lambda o: cache_page(o.page)))
        if any(m.name == "page_small" for m in nc.type_.members):
            # page_frag_alloc_1k: the cache keeps offset / 1 KiB references to its page; at
            # offset 0 none (the page left with its last frag, va is stale)
            caches.append(("napi_alloc_cache.page_small",
                           lambda o: virt_to_page(p, o.page_small.va).value_()
                           if o.page_small.va.value_() and o.page_small.offset.value_() else 0))
    for cpu in for_each_online_cpu(p):
        for name, get in caches:
            frag_add(f"CPU {cpu} {name}", get(per_cpu(p[name.split(".")[0]], cpu)))
    for t in for_each_task(p):
        try:
            frag_add(f"pid {t.tgid.value_()} {t.comm.string_().decode()} task_frag", t.task_frag.page.value_())
            files = list(for_each_file(t))
        except drgn.FaultError:
            continue
        for fd, f in files:
            try:
                if f.f_op.value_() == sock_fops:
                    sk = cast("struct socket *", f.private_data).sk
                    if sk.value_():
                        frag_add(f"socket {sk.value_():#x} sk_frag", sk.sk_frag.page.value_())
            except drgn.FaultError:
                continue
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
               "page_pool": pool, "perf": perf, "io_uring": uring, "page_frag": {k: sorted(v.items()) for k, v in frag.items()},
               "kernel_page_tables": ktables},
              sys.stdout, indent=1)


def page_pools(p, drgn):
    """{pool: {"dev", "heads": [[struct page, pages], ...]}}: every page in use whose pp_magic is
    PP_SIGNATURE (0x40 + POISON_POINTER_DELTA, 0xdead000000000000 on x86-64 and arm64) under the
    kernel's mask: bits 0-1 ignored; from 6.15 (page_pool_page_is_pp, PP_MAGIC_MASK) also the DMA
    index in bits 7-38 (PP_DMA_INDEX_SHIFT 7, 32 bits where the poison delta leaves room). A
    tail's word is its compound_head (bit 0 set, never the signature). The vmemmap is read in
    1 MiB pieces; the pool is page.pp (netmem_desc's on 7.x), its device pool.slow.netdev (6.7+;
    NET_PTR_POISON, 0x801 + the delta, or lo for a destroyed pool, once it unregistered: "device
    gone"; ", destroyed" once its driver destroyed it, user.detach_time)."""
    import struct as st
    from drgn.helpers.linux.mm import pfn_to_page, compound_order

    page = p.type("struct page")
    size = drgn.sizeof(page)

    def off(m):
        for t in (page, "struct netmem_desc"):
            try:
                return drgn.offsetof(p.type(t) if isinstance(t, str) else t, m)
            except LookupError:
                continue
        return None
    o_magic, o_pp, o_ref = off("pp_magic"), off("pp"), drgn.offsetof(page, "_refcount")
    if o_magic is None or o_pp is None:
        return {}  # before 5.14: no page_pool signature
    rel = p["init_uts_ns"].name.release.string_().decode()
    major, minor = (int(x) for x in rel.split("-")[0].split(".")[:2])
    mask = ~0x3 if (major, minor) < (6, 15) else ~(0x3 | (0xffffffff << 7))
    sig = 0xdead000000000000 + 0x40
    base = pfn_to_page(p, 0).value_()
    pfn, end = p["min_low_pfn"].value_(), p["max_pfn"].value_()
    step = (1 << 20) // size
    pools = {}
    while pfn < end:
        n = min(step, end - pfn)
        at = (base + pfn * size) & (1 << 64) - 1
        try:
            buf = p.read(at, n * size)
        except drgn.FaultError:
            pfn += n
            continue
        for i in range(n):
            magic, = st.unpack_from("<Q", buf, i * size + o_magic)
            if magic & mask != sig or not st.unpack_from("<i", buf, i * size + o_ref)[0]:
                continue
            pp, = st.unpack_from("<Q", buf, i * size + o_pp)
            head = drgn.Object(p, "struct page *", value=at + i * size)
            e = pools.setdefault(hex(pp), {"dev": None, "heads": []})
            e["heads"].append([head.value_(), 1 << compound_order(head).value_()])
        pfn += n
    for k, e in pools.items():
        try:
            pool = drgn.Object(p, "struct page_pool *", value=int(k, 16))
            nd = pool.slow.netdev
            # 6.8+: detach_time once the driver destroyed the pool; its device unregistered: the
            # pool moved to lo (LOOPBACK_IFINDEX 1), or NET_PTR_POISON once the namespace went
            destroyed = hasattr(pool.user, "detach_time") and pool.user.detach_time.value_() != 0
            if nd.value_() == 0xdead000000000000 + 0x801:
                dev = "device gone"
            elif nd.value_() and destroyed and nd.ifindex.value_() == 1:
                dev = "device gone"
            else:
                dev = nd.name.string_().decode() if nd.value_() else None
            e["dev"] = ", ".join(x for x in (dev, "destroyed" if destroyed else None) if x) or None
        except (AttributeError, LookupError, drgn.FaultError, UnicodeDecodeError):
            pass
    return pools


def file_holders(errs, census, owner, found, skip_empty=False):
    """Each object drgn finds through task files (found: skbwalk's holder prefix -> {"ends": [[pid,
    fd, comm], ...], "pages"}) is a holder of census.owners[owner] with those pages, held by one of
    its files (with skip_empty, only those with pages); census.other[owner] is their sum."""
    hs = census.get("owners", {}).get(owner, [])
    for prefix, x in found.items():
        if skip_empty and not x["pages"]:
            continue
        h = next((h for h in hs if h["holder"].startswith(prefix)), None)
        if h is None or h["pages"] != x["pages"] or [h["pid"], h["fd"]] not in [e[:2] for e in x["ends"]]:
            errs.append(f"{prefix.strip()}: drgn {x['pages']} pages held by {x['ends']}, skbwalk {h}")
    total = sum(x["pages"] for x in found.values())
    if census.get("other", {}).get(owner, 0) != total:
        errs.append(f"census other.{owner} {census.get('other', {}).get(owner)} != drgn's {total}")


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
    file_holders(errs, census, "packet_ring", {f"AF_PACKET socket {sk} {what} ring": {"ends": x["ends"], "pages": x[what]}
                                                for sk, x in pk.items() for what in ("rx", "tx")}, skip_empty=True)
    # perf rings: the manifest's event (its data pages) is what drgn finds at its pid and fd;
    # skbwalk names each ring drgn finds, with its pages (control, data, AUX), held by one of
    # the ring's event files; other.perf_ring is their sum
    pf = json.load(open(a.compare[0])).get("perf", {})
    pf_end = {(pid, fd): x for x in pf.values() for pid, fd, _ in x["ends"]}
    for mp in boot.get("perf_rings", []):
        x = pf_end.get((mp["pid"], mp["fd"]))
        if x is None or x["data"] != mp["data_pages"] or x["pages"] != mp["data_pages"] + 1:
            errs.append(f"manifest perf event pid {mp['pid']} fd {mp['fd']}: {mp['data_pages']} data pages and the "
                        f"control page, drgn finds {x}")
    file_holders(errs, census, "perf_ring", {f"perf ring {rb} ": x for rb, x in pf.items()})
    # io_uring: the manifest's instance (its SQ entries) is what drgn finds at its pid and fd,
    # with pages; skbwalk names each instance drgn finds pages of, with them, held by one of its
    # files; other.io_uring is their sum
    ur = json.load(open(a.compare[0])).get("io_uring", {})
    ur_end = {(pid, fd): x for x in ur.values() for pid, fd, _ in x["ends"]}
    for mp in boot.get("io_urings", []):
        x = ur_end.get((mp["pid"], mp["fd"]))
        # a ring of 1024 16-byte entries: 4 pages where the kernel allocated one
        want_bufs = 4 if mp.get("buf_ring_entries") else 0
        if x is None or x["sq_entries"] != mp["sq_entries"] or not x["pages"] or x["buf_ring_pages"] != want_bufs:
            errs.append(f"manifest io_uring pid {mp['pid']} fd {mp['fd']}: {mp['sq_entries']} SQ entries and "
                        f"{want_bufs} buffer-ring pages, drgn finds {x}")
    file_holders(errs, census, "io_uring", {f"io_uring {ctx} ": x for ctx, x in ur.items()}, skip_empty=True)
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
    # The census gives a page to the first owner that claims it: socket queues (skb: the heads
    # drgn's socket walk finds, oracle.py --all), then page_pool, page_frag, ..., nic_ring. So
    # each owner below is drgn's pages less those an earlier owner holds.
    own = json.load(open(a.compare[0]))
    held = set(json.load(open(a.top))["held_heads"])
    other = census.get("other", {})
    # page_pool: each pool drgn finds pages of is a holder with them (and its device's name)
    ph = {}
    for h in census.get("owners", {}).get("page_pool", []):
        ph[h["holder"]] = ph.get(h["holder"], 0) + h["pages"]
    pp_heads, pp_total, pp_names = set(), 0, set()
    for pool, x in own.get("page_pool", {}).items():
        pp_heads.update(h for h, _ in x["heads"])
        pages = sum(n for h, n in x["heads"] if h not in held)
        name = f"page_pool {pool}" + (f" ({x['dev']})" if x["dev"] else "")
        pp_names.add(name)
        pp_total += pages
        if pages and ph.get(name) != pages:
            errs.append(f"{name}: drgn {pages} pages (not in socket queues), skbwalk {ph.get(name)}")
    for name in set(ph) - pp_names:
        errs.append(f"{name}: skbwalk names {ph[name]} page_pool pages, drgn finds no such pool")
    if other.get("page_pool", 0) != pp_total:
        errs.append(f"census other.page_pool {other.get('page_pool', 0)} != drgn's {pp_total}")
    # page_frag: each cache, task and socket drgn finds a current page of is a holder with it; a
    # page two holders share goes to the first skbwalk asks, so there at most
    claimed = held | pp_heads
    fr = {k: [(h, n) for h, n in v] for k, v in own.get("page_frag", {}).items()}
    sharers = {}
    for name, heads in fr.items():
        for h, _ in heads:
            sharers.setdefault(h, set()).add(name)
    fh = {}
    for h in census.get("owners", {}).get("page_frag", []):
        name = h["holder"].split(" (pid ")[0] if h["holder"].startswith("socket ") else h["holder"]
        fh[name] = fh.get(name, 0) + h["pages"]
    for name, heads in fr.items():
        pages = sum(n for h, n in heads if h not in claimed)
        shared = any(len(sharers[h]) > 1 for h, _ in heads)
        got = fh.get(name, 0)
        if (got > pages) if shared else (got != pages):
            errs.append(f"page_frag {name}: drgn {pages} pages (not in socket queues or page_pool), skbwalk {got}")
    for name in set(fh) - set(fr):
        errs.append(f"page_frag {name}: skbwalk names {fh[name]} pages, drgn finds no such page")
    # the scenario's frame of frags (a TAP device with IFF_NAPI_FRAGS, written on one CPU): that
    # CPU's napi_alloc_cache holds a page at the dump, in drgn's walk and skbwalk's census
    for mf in boot.get("napi_frags", []):
        name = f"CPU {mf['cpu']} napi_alloc_cache"
        if not fr.get(name) or not fh.get(name):
            errs.append(f"manifest napi_frags (pid {mf['pid']} fd {mf['fd']}, CPU {mf['cpu']}): drgn's {name} "
                        f"holds {fr.get(name)}, skbwalk names {fh.get(name, 0)} pages")
    frag_heads = {h: n for heads in fr.values() for h, n in heads}
    frag_total = sum(n for h, n in frag_heads.items() if h not in claimed)
    if other.get("page_frag", 0) != frag_total:
        errs.append(f"census other.page_frag {other.get('page_frag', 0)} != drgn's {frag_total}")
    claimed |= set(frag_heads)
    # NIC rings: each queue's ring memory is drgn's to the page, its posted buffers drgn's less
    # the pages an earlier owner holds (on 7.x virtio_net posts page_pool pages), and
    # other.nic_ring their sum. Kernels without the virtio core's types: none named.
    nic = own.get("nic")
    nh = {h["holder"]: h["pages"] for h in census.get("owners", {}).get("nic_ring", [])}
    if nic is None:
        if nh:
            errs.append(f"nic rings: drgn has no vring_virtqueue type, skbwalk names {nh}")
    else:
        want = {name: x if name.endswith(" ring") else sum(n for h, n in x if h not in claimed)
                for name, x in nic.items()}
        for name, pages in want.items():
            if nh.get(name, 0) != pages:
                errs.append(f"{name}: drgn {pages} pages, skbwalk {nh.get(name, 0)}")
        for name in set(nh) - set(nic):
            errs.append(f"{name}: skbwalk names {nh[name]} pages, drgn finds no such queue")
        if other.get("nic_ring", 0) != sum(want.values()):
            errs.append(f"census other.nic_ring {other.get('nic_ring', 0)} != drgn's {sum(want.values())}")
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
    ap.add_argument("--top", help="oracle.py --all's answer (with --compare): the heads socket queues hold")
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
