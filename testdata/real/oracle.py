#!/usr/bin/env python3
"""drgn oracle for skbwalk: what each socket's queued sk_buffs keep alive, read with drgn from a vmcore.

Written from /work/shared/spec/accounting.md and cli.md, independently of the Rust code.

usage: oracle.py --vmcore ELF --vmlinux VMLINUX (--pid P --fd F | --all [--fd-only]) [--no-skbs] [--no-crosscheck]

--pid/--fd prints one socket report (the CLI's `--json` socket document, plus extra keys `kernel`,
`head_bytes`, `struct_bytes` per skb); --all prints {"sockets": [...], "totals": {...}, "warnings": [...]}.
--all lists every socket of every task's fd table ("reached_by": "fd") and then every sock no fd reaches,
found by walking the kernel's tables itself: tcp_hashinfo.ehash (hlist_nulls chains through
__sk_common.skc_nulls_node, ending at an odd pointer: full socks, TIME_WAIT inet_timewait_sock and
NEW_SYN_RECV request_sock), tcp_hashinfo.lhash2 (listeners) and udp_table (hash[i].head, hlist through
skc_node); "reached_by" names the first table a sock was found in, pid/comm/fd are null.  Full socks get
the same queue walk as fd sockets (an orphan: "orphan": true); mini-sockets have no queues, zero totals.
System totals count every listed sock once, pages shared between socks once.
drgn needs VMCOREINFO in the dump (QEMU `-device vmcoreinfo` + the guest's qemu_fw_cfg module); use
add-vmcoreinfo.py to graft one onto a dump without it.

Page accounting (accounting.md):
  frag page -> compound head (bit 0 of page->compound_head marks a tail; the rest is the head) -> order
  (page[1].compound_order when the head has PG_head, else 0); page bytes = PAGE_SIZE << order per distinct
  head.  head_frag skbs count the head buffer's page the same way; other skbs count the slot size of the
  slab cache holding skb->head (head bytes); every skb counts the slot size of the cache holding the
  sk_buff itself (struct bytes).  Address -> page is done by hand (vmemmap_base + pfn * sizeof(struct page))
  and cross-checked against drgn's own helpers (compound_head, slab_object_info) unless --no-crosscheck.
"""
import argparse
import ipaddress
import json
import socket
import struct
import sys

import drgn
from drgn import Object, cast
from drgn.helpers.linux.cgroup import cgroup_path
from drgn.helpers.linux.fs import for_each_file
from drgn.helpers.linux.pid import find_task, for_each_task
from drgn.helpers.linux.rbtree import rbtree_inorder_for_each_entry

from drgnkit import compound_word, flags_word, head_of, vmcoreinfo

FAMILIES = {0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET",
            38: "AF_ALG", 40: "AF_VSOCK", 44: "AF_XDP"}
SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
              6: "SOCK_DCCP", 10: "SOCK_PACKET"}
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
              7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV"}
SS_STATES = {0: "SS_FREE", 1: "SS_UNCONNECTED", 2: "SS_CONNECTING", 3: "SS_CONNECTED", 4: "SS_DISCONNECTING"}
IPPROTO_TCP = 6
SMP_CACHE_BYTES = 64
MAX_QUEUE = 1_000_000
QUEUE_ORDER = ["receive", "out_of_order", "write", "retransmit", "error"]


def hx(v):
    return "0x%x" % v


class Kernel:
    def __init__(self, vmcore, vmlinux, crosscheck=True):
        p = drgn.Program()
        p.set_core_dump(vmcore)
        p.load_debug_info([vmlinux])
        self.p = p
        self.crosscheck = crosscheck
        self.warnings = []
        self.vmcoreinfo = self._vmcoreinfo()
        self.page_size = int(self.vmcoreinfo.get("PAGESIZE", 4096))
        self.page_shift = self.page_size.bit_length() - 1
        self.arm64 = p.platform.arch == drgn.Architecture.AARCH64
        if self.arm64:
            # arm64: drgn's own linear-map and vmemmap arithmetic (an unrelated `vmemmap_base`
            # symbol exists there)
            self.page_offset_base = None
            self.vmemmap_base = p["vmemmap"].value_()
        else:
            self.page_offset_base = p["page_offset_base"].value_()
            self.vmemmap_base = p["vmemmap_base"].value_()
        self.max_pfn = p["max_pfn"].value_()
        self.page_type = p.type("struct page")
        self.sizeof_page = drgn.sizeof(self.page_type)
        self.page_ptr = p.pointer_type(self.page_type)
        self.PG_head = 1 << p.constant("PG_head").value_()
        # slab pages: PG_slab in page->flags up to 6.9; from 6.12 the top byte of page_type is PGTY_slab
        try:
            self.PG_slab, self.PGTY_slab = 1 << p.constant("PG_slab").value_(), None
        except LookupError:
            self.PG_slab, self.PGTY_slab = None, p.constant("PGTY_slab").value_()
        # slab_cache: struct slab (5.17+) overlays the page; before, the field is in struct page
        try:
            p.type("struct slab")
            self.slab_type = "struct slab"
        except LookupError:
            self.slab_type = "struct page"
        if "NUMBER(PG_head_mask)" in self.vmcoreinfo and int(self.vmcoreinfo["NUMBER(PG_head_mask)"]) != self.PG_head:
            self.warn("PG_head from DWARF (%#x) differs from VMCOREINFO PG_head_mask (%s)"
                      % (self.PG_head, self.vmcoreinfo["NUMBER(PG_head_mask)"]))
        self.sizeof_shinfo = drgn.sizeof(p.type("struct skb_shared_info"))
        self.socket_file_ops = p["socket_file_ops"].address_of_()
        self.skb_ptr = p.pointer_type(p.type("struct sk_buff"))
        self.order_member = self._order_member()
        self.compound_off, self.compound_mask = compound_word(p)
        self._cache_info = {}
        self._head_info = {}

    def warn(self, msg):
        if msg not in self.warnings:
            self.warnings.append(msg)

    def _vmcoreinfo(self):
        try:
            return vmcoreinfo(self.p)
        except Exception:
            return {}

    def _order_member(self):
        # compound_order sits in an anonymous union inside struct page on 6.1: probe by lookup (no read).
        for cand in ("compound_order", "_folio_order"):
            try:
                Object(self.p, self.page_type, address=0).member_(cand)
                return cand
            except (LookupError, drgn.FaultError):
                continue
        return None  # 6.6+: folio _flags_1 (see order())

    # ---- pages ---------------------------------------------------------------------------------
    def virt_to_page(self, addr):
        """Direct-map address -> struct page address (SPARSEMEM_VMEMMAP)."""
        if self.arm64:
            from drgn.helpers.linux.mm import virt_to_page
            return virt_to_page(self.p, addr).value_()
        if addr < self.page_offset_base:
            raise ValueError("address %#x is below page_offset_base" % addr)
        pfn = (addr - self.page_offset_base) >> self.page_shift
        if pfn >= self.max_pfn:
            raise ValueError("address %#x is outside the direct map (pfn %#x >= max_pfn)" % (addr, pfn))
        return self.vmemmap_base + pfn * self.sizeof_page

    def page(self, page_addr):
        return Object(self.p, self.page_type, address=page_addr)

    def compound_head(self, page_addr):
        ch = self.p.read_u64(page_addr + self.compound_off)
        head = head_of(page_addr, ch, self.compound_mask)
        if self.crosscheck:
            from drgn.helpers.linux.mm import compound_head as drgn_compound_head
            d = drgn_compound_head(Object(self.p, self.page_ptr, value=page_addr)).value_()
            if d != head:
                self.warn("compound head of page %#x: ours %#x, drgn %#x" % (page_addr, head, d))
        return head

    def order(self, head_addr):
        head = self.page(head_addr)
        if not flags_word(head) & self.PG_head:
            return 0
        if self.order_member:
            order = self.page(head_addr + self.sizeof_page).member_(self.order_member).value_()
        else:  # 6.6+: the folio's order in the low byte of _flags_1 (the second page's flags word)
            order = Object(self.p, "struct folio", address=head_addr)._flags_1.value_() & 0xFF
        if self.crosscheck:
            from drgn.helpers.linux.mm import compound_order
            d = compound_order(Object(self.p, self.page_ptr, value=head_addr)).value_()
            if d != order:
                self.warn("compound order of page %#x: ours %d, drgn %d" % (head_addr, order, d))
        return order

    def slab_cache(self, addr):
        """(cache address, name, size) of the SLUB cache holding addr, or None when addr is not slab memory."""
        head = self.compound_head(self.virt_to_page(addr))
        if self.PG_slab is not None:
            if not flags_word(self.page(head)) & self.PG_slab:
                return None
        elif (self.page(head).page_type.value_() >> 24) != self.PGTY_slab:
            return None
        slab = Object(self.p, self.slab_type, address=head)
        cache = slab.slab_cache
        ca = cache.value_()
        if ca not in self._cache_info:
            self._cache_info[ca] = (ca, cache.name.string_().decode(), cache.size.value_())
        info = self._cache_info[ca]
        if self.crosscheck:
            from drgn.helpers.linux.slab import slab_object_info
            oi = slab_object_info(self.p, addr)
            if oi is None or oi.slab_cache.value_() != ca:
                self.warn("slab cache of %#x: ours %s, drgn %s" % (addr, info[1],
                          None if oi is None else oi.slab_cache.name.string_().decode()))
        return info

    # ---- skbs --------------------------------------------------------------------------------
    def shinfo(self, skb):
        return Object(self.p, "struct skb_shared_info", address=skb.head.value_() + skb.end.value_())

    def frag_fields(self, frag):
        t = drgn.type_underlying_type(frag.type_) if hasattr(drgn, "type_underlying_type") else frag.type_
        while t.kind == drgn.TypeKind.TYPEDEF:
            t = t.type
        names = {m.name for m in t.members if m.name}
        if "bv_page" in names:
            return frag.bv_page.value_(), frag.bv_offset.value_(), frag.bv_len.value_()
        if "netmem" in names:
            nm = frag.netmem.value_()
            if nm & 1:
                return None, frag.offset.value_(), frag.len.value_()
            return nm, frag.offset.value_(), frag.len.value_()
        return frag.page.p.value_(), frag.page_offset.value_(), frag.size.value_()

    def skb_entry(self, skb, queue, parent=None):
        """One skb's report dict and the set of (head, order) it references."""
        sh = self.shinfo(skb)
        nr = sh.nr_frags.value_()
        frags, heads = [], {}
        for i in range(nr):
            page, off, size = self.frag_fields(sh.frags[i])
            if page is None:
                self.warn("skb %#x frag %d is a net_iov (not a page); not counted" % (skb.value_(), i))
                frags.append({"page": None, "head": None, "order": 0, "offset": off, "size": size})
                continue
            head = self.compound_head(page)
            order = self.order(head)
            heads[head] = order
            frags.append({"page": hx(page), "head": hx(head), "order": order, "offset": off, "size": size})
        head_frag = bool(skb.head_frag.value_())
        head_addr = skb.head.value_()
        end = skb.end.value_()
        head_bytes = 0
        head_info = {}
        if head_frag:
            hp = self.compound_head(self.virt_to_page(head_addr))
            heads[hp] = self.order(hp)
            head_info = {"head_page": hx(hp), "head_page_order": heads[hp]}
        else:
            c = self.slab_cache(head_addr)
            if c is None:
                head_bytes = (end + self.sizeof_shinfo + SMP_CACHE_BYTES - 1) & ~(SMP_CACHE_BYTES - 1)
                head_info = {"head_cache": None, "head_bytes_estimated": True}
                hp = self.compound_head(self.virt_to_page(head_addr))
                self.warn("skb %#x: head %#x is not slab memory (page %#x, order %d); head bytes estimated as %d"
                          % (skb.value_(), head_addr, hp, self.order(hp), head_bytes))
            else:
                head_bytes = c[2]
                head_info = {"head_cache": c[1]}
        sc = self.slab_cache(skb.value_())
        if sc is None:
            struct_bytes = 0
            self.warn("sk_buff %#x is not in a slab cache; struct bytes 0" % skb.value_())
        else:
            struct_bytes = sc[2]
        page_bytes = sum(self.page_size << o for o in heads.values())
        e = {"addr": hx(skb.value_()), "queue": queue, "len": skb.len.value_(), "data_len": skb.data_len.value_(),
             "truesize": skb.truesize.value_(), "head_frag": head_frag, "nr_frags": nr, "frags": frags,
             "pinned_bytes": page_bytes + head_bytes + struct_bytes,
             "head": hx(head_addr), "end": end, "head_bytes": head_bytes, "struct_bytes": struct_bytes,
             "struct_cache": sc[1] if sc else None, "page_bytes": page_bytes}
        e.update(head_info)
        if parent is not None:
            e["parent"] = hx(parent)
        return e, heads, sh.frag_list

    def walk_skb(self, skb, queue, out, parent=None, depth=0):
        e, heads, frag_list = self.skb_entry(skb, queue, parent)
        out.append((e, heads, parent is None))
        member = frag_list
        n = 0
        while member.value_() and n < MAX_QUEUE:
            self.walk_skb(member, queue, out, skb.value_(), depth + 1)
            member = member.next
            n += 1

    def list_queue(self, head):
        """skbs of a struct sk_buff_head, following next from the head."""
        end = head.address_of_().value_()
        skb = head.next
        n = 0
        while skb.value_() != end:
            yield skb
            skb = skb.next
            n += 1
            if n > MAX_QUEUE:
                self.warn("queue at %#x: more than %d skbs, stopped" % (end, MAX_QUEUE))
                return

    def rb_queue(self, root):
        return rbtree_inorder_for_each_entry("struct sk_buff", root.address_of_(), "rbnode")


def totals(entries, page_size):
    heads = {}
    t = {"skbs": 0, "len": 0, "truesize": 0}
    extra = 0
    for e, h, top in entries:
        t["skbs"] += 1
        if top:
            t["len"] += e["len"]
            t["truesize"] += e["truesize"]
        heads.update(h)
        extra += e["head_bytes"] + e["struct_bytes"]
    t["unique_pages"] = len(heads)
    t["page_bytes"] = sum(page_size << o for o in heads.values())
    t["pinned_bytes"] = t["page_bytes"] + extra
    return t, heads


def addr_str(family, raw, port):
    if family == 2:
        return "%s:%d" % (ipaddress.IPv4Address(raw), port)
    a6 = ipaddress.IPv6Address(raw)
    # RFC 5952 §5: an IPv4-mapped address ends in dotted quad (Python before 3.13 prints hex)
    text = "::ffff:%s" % a6.ipv4_mapped if a6.ipv4_mapped else str(a6)
    return "[%s]:%d" % (text, port)


def endpoints(skc):
    """(local, remote) "addr:port" of a struct sock_common (full sock, timewait or request sock); None for
    families without IP addresses.  skc_rcv_saddr/skc_daddr/skc_dport are network order, skc_num host order."""
    family = skc.skc_family.value_()
    if family not in (2, 10):
        return None, None
    lport = skc.skc_num.value_()
    rport = socket.ntohs(skc.skc_dport.value_())
    if family == 2:
        l = struct.pack("<I", skc.skc_rcv_saddr.value_())
        r = struct.pack("<I", skc.skc_daddr.value_())
    else:
        l = bytes(skc.skc_v6_rcv_saddr.in6_u.u6_addr8.value_())
        r = bytes(skc.skc_v6_daddr.in6_u.u6_addr8.value_())
    return addr_str(family, l, lport), addr_str(family, r, rport)


def sock_report(k, sk, sock=None, want_skbs=True):
    """Report of one full struct sock: identity, every queue, totals.  sock is its struct socket (None for
    an orphan); the SS_* state comes from it for non-TCP sockets."""
    family = sk.__sk_common.skc_family.value_()
    stype = sk.sk_type.value_()
    proto = sk.sk_protocol.value_()
    is_tcp = family in (2, 10) and stype == 1 and proto == IPPROTO_TCP
    if sock is None and sk.sk_socket.value_():
        sock = sk.sk_socket
    if is_tcp:
        state = TCP_STATES.get(sk.__sk_common.skc_state.value_(), str(sk.__sk_common.skc_state.value_()))
    elif sock is not None:
        state = SS_STATES.get(sock.state.value_(), str(sock.state.value_()))
    else:
        state = None
    queues = [("receive", k.list_queue(sk.sk_receive_queue))]
    if is_tcp:
        tp = cast("struct tcp_sock *", sk)
        queues.append(("out_of_order", k.rb_queue(tp.out_of_order_queue)))
    queues.append(("write", k.list_queue(sk.sk_write_queue)))
    if is_tcp:
        queues.append(("retransmit", k.rb_queue(sk.tcp_rtx_queue)))
    queues.append(("error", k.list_queue(sk.sk_error_queue)))
    all_entries, qout = [], {}
    for name, it in queues:
        entries = []
        for skb in it:
            k.walk_skb(skb, name, entries)
        if name == "error" and not entries:
            continue
        qout[name], _ = totals(entries, k.page_size)
        all_entries.extend(entries)
    tot, heads = totals(all_entries, k.page_size)
    tot["amplification"] = (tot["pinned_bytes"] / tot["truesize"]) if tot["truesize"] else None
    local, remote = endpoints(sk.__sk_common)
    rep = {"sock": hx(sk.value_()), "family": FAMILIES.get(family, str(family)),
           "type": SOCK_TYPES.get(stype, str(stype)), "state": state, "protocol": proto,
           "local": local, "remote": remote, "orphan": bool(sk.sk_socket.value_() == 0),
           "queues": qout, "totals": tot,
           "kernel": {"sk_rmem_alloc": sk.sk_backlog.rmem_alloc.counter.value_(),
                      "sk_rcvbuf": sk.sk_rcvbuf.value_(),
                      "sk_wmem_queued": sk.sk_wmem_queued.value_(),
                      "sk_wmem_alloc": sk.sk_wmem_alloc.refs.counter.value_(),
                      "sk_sndbuf": sk.sk_sndbuf.value_()}}
    if want_skbs:
        rep["skbs"] = [e for e, _, _ in all_entries]
    return rep, heads


def socket_report(k, task, fd, file, want_skbs=True):
    sock = cast("struct socket *", file.private_data)
    rep, heads = sock_report(k, sock.sk, sock, want_skbs)
    # the process's cgroup on the default (v2) hierarchy: drgn's own kernfs path of its css_set's dfl_cgrp
    head = {"pid": task.pid.value_(), "comm": task.comm.string_().decode(errors="replace"), "fd": fd,
            "cgroup": cgroup_path(task.cgroups.dfl_cgrp).decode(errors="replace"), "reached_by": "fd"}
    head.update(rep)
    return head, heads


# ---- sockets no fd reaches: the kernel's hash tables ------------------------------------------
MINI_STATES = (6, 12)  # TIME_WAIT (struct inet_timewait_sock), NEW_SYN_RECV (struct request_sock)


def _members(p, tname):
    t = p.type(tname)
    return {m.name for m in t.members if m.name}


def _nulls_chain(k, first, link_off, where):
    """Addresses of the objects on one hlist_nulls chain (node at object + link_off); a chain ends at an
    odd pointer (the nulls marker).  Returns (addresses, nulls value)."""
    out, node, n = [], first, 0
    while not node & 1:
        if node == 0:
            k.warn("%s: NULL in a nulls list" % where)
            return out, None
        out.append(node - link_off)
        node = k.p.read_u64(node)  # hlist_nulls_node.next is its first member
        n += 1
        if n > MAX_QUEUE:
            k.warn("%s: more than %d entries, stopped" % (where, MAX_QUEUE))
            break
    return out, node >> 1


def _hlist_chain(k, first, link_off, where):
    out, node, n = [], first, 0
    while node:
        out.append(node - link_off)
        node = k.p.read_u64(node)  # hlist_node.next
        n += 1
        if n > MAX_QUEUE:
            k.warn("%s: more than %d entries, stopped" % (where, MAX_QUEUE))
            break
    return out


def _bucket_heads(k, base, nbuckets, bucket_type, head_member):
    """first pointer of every bucket of an array of bucket_type (read in one go)."""
    p = k.p
    bsz = drgn.sizeof(p.type(bucket_type))
    off = drgn.offsetof(p.type(bucket_type), head_member)
    data = p.read(base, bsz * nbuckets)
    return [struct.unpack_from("<Q", data, i * bsz + off)[0] for i in range(nbuckets)]


def hash_table_socks(k):
    """[(sock address, table)] of every sock in tcp_hashinfo.ehash (full, TIME_WAIT and NEW_SYN_RECV socks),
    tcp_hashinfo.lhash2 (listeners) and udp_table, in that order."""
    p = k.p
    sc = p.type("struct sock_common")
    nulls_off = drgn.offsetof(sc, "skc_nulls_node")
    node_off = drgn.offsetof(sc, "skc_node")
    found = []
    hi = p["tcp_hashinfo"]
    n = hi.ehash_mask.value_() + 1
    for i, first in enumerate(_bucket_heads(k, hi.ehash.value_(), n, "struct inet_ehash_bucket", "chain.first")):
        socks, nulls = _nulls_chain(k, first, nulls_off, "ehash[%d]" % i)
        if nulls is not None and nulls != i:
            k.warn("ehash[%d]: chain ends in nulls value %d" % (i, nulls))
        if k.crosscheck and not first & 1:
            from drgn.helpers.linux.list_nulls import hlist_nulls_for_each_entry
            d = [e.value_() for e in hlist_nulls_for_each_entry(
                "struct sock_common", hi.ehash[i].chain.address_of_(), "skc_nulls_node")]
            if d != socks:
                k.warn("ehash[%d]: ours %s, drgn's hlist_nulls_for_each_entry %s"
                       % (i, [hx(a) for a in socks], [hx(a) for a in d]))
        found += [(a, "tcp_ehash") for a in socks]
    n = hi.lhash2_mask.value_() + 1
    lb = "struct inet_listen_hashbucket"
    if "listening_hash" in _members(p, "struct inet_hashinfo"):
        # before 5.19: every listener is in listening_hash[INET_LHTABLE_SIZE] on skc_nulls_node
        # (lhash2 holds the same sockets, chained through icsk_listen_portaddr_node)
        lh = hi.listening_hash
        nb = lh.type_.length
        for i, first in enumerate(_bucket_heads(k, lh.address_, nb, lb, "nulls_head.first")):
            socks, _ = _nulls_chain(k, first, nulls_off, "listening_hash[%d]" % i)
            if k.crosscheck and not first & 1:
                from drgn.helpers.linux.list_nulls import hlist_nulls_for_each_entry
                d = [e.value_() for e in hlist_nulls_for_each_entry(
                    "struct sock_common", lh[i].nulls_head.address_of_(), "skc_nulls_node")]
                if d != socks:
                    k.warn("listening_hash[%d]: ours %s, drgn's hlist_nulls_for_each_entry %s"
                           % (i, [hx(a) for a in socks], [hx(a) for a in d]))
            found += [(a, "tcp_listening_hash") for a in socks]
    elif "nulls_head" in _members(p, lb):  # 5.19+: listeners on sk_nulls_node
        for i, first in enumerate(_bucket_heads(k, hi.lhash2.value_(), n, lb, "nulls_head.first")):
            socks, _ = _nulls_chain(k, first, nulls_off, "lhash2[%d]" % i)
            found += [(a, "tcp_lhash2") for a in socks]
    else:  # older: hlist via icsk_listen_portaddr_node
        off = drgn.offsetof(p.type("struct inet_connection_sock"), "icsk_listen_portaddr_node")
        for i, first in enumerate(_bucket_heads(k, hi.lhash2.value_(), n, lb, "head.first")):
            found += [(a, "tcp_lhash2") for a in _hlist_chain(k, first, off, "lhash2[%d]" % i)]
    ut = p["udp_table"]
    n = ut.mask.value_() + 1
    for i, first in enumerate(_bucket_heads(k, ut.hash.value_(), n, "struct udp_hslot", "head.first")):
        found += [(a, "udp_table") for a in _hlist_chain(k, first, node_off, "udp_table[%d]" % i)]
    return found


def unreached_reports(k, fd_socks, want_skbs=True):
    """Reports (and page heads) of every sock in the hash tables that no fd reaches."""
    out, seen = [], set(fd_socks)
    for addr, table in hash_table_socks(k):
        if addr in seen:
            continue
        seen.add(addr)
        skc = Object(k.p, "struct sock_common", address=addr)
        st = skc.skc_state.value_()
        head = {"pid": None, "comm": None, "fd": None, "cgroup": None, "reached_by": table}
        if table.startswith("tcp_") and st in MINI_STATES:
            family = skc.skc_family.value_()
            local, remote = endpoints(skc)
            zero = {q: 0 for q in ("skbs", "len", "truesize", "unique_pages", "page_bytes", "pinned_bytes")}
            head.update({"sock": hx(addr), "family": FAMILIES.get(family, str(family)), "type": "SOCK_STREAM",
                         "state": TCP_STATES[st], "protocol": IPPROTO_TCP, "local": local, "remote": remote,
                         "mini": "inet_timewait_sock" if st == 6 else "request_sock",
                         "queues": {}, "totals": dict(zero, amplification=None)})
            if st == 12:
                req = Object(k.p, "struct request_sock", address=addr)
                head["listener"] = hx(req.__req_common.skc_listener.value_())  # rsk_listener
            out.append((head, {}))
            continue
        rep, heads = sock_report(k, Object(k.p, "struct sock *", value=addr), None, want_skbs)
        head.update(rep)
        out.append((head, heads))
    return out


def socket_files(k, task):
    # An fd whose open_fds bit is set while its slot is still NULL is a file being opened or
    # closed at the dump (the busy scenario churns files): no file. drgn's for_each_file yields
    # it; reading its f_op would read address 8 (silently the physical page at 0 in an ELF,
    # a fault in a kdump).
    for fd, file in for_each_file(task):
        if file.value_() and file.f_op.value_() == k.socket_file_ops.value_():
            yield fd, file


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vmcore", required=True)
    ap.add_argument("--vmlinux", required=True)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--fd", type=int)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--info", action="store_true", help="print the dump's kernel facts (cli.md `info` keys drgn knows)")
    ap.add_argument("--no-skbs", action="store_true", help="omit per-skb lists (--all)")
    ap.add_argument("--fd-only", action="store_true",
                    help="--all without the sockets only the hash tables reach (tcp ehash/lhash2, udp_table)")
    ap.add_argument("--no-crosscheck", action="store_true", help="skip drgn-helper cross-checks (faster)")
    a = ap.parse_args()
    if not a.all and not a.info and (a.pid is None or a.fd is None):
        ap.error("give --pid and --fd, --all or --info")
    k = Kernel(a.vmcore, a.vmlinux, crosscheck=not a.no_crosscheck)
    if a.info:
        vi = k.vmcoreinfo
        phys_base = int(vi["NUMBER(phys_base)"]) if "NUMBER(phys_base)" in vi else None
        print(json.dumps({
            "osrelease": k.p["init_uts_ns"].name.release.string_().decode(),
            "vmcoreinfo_osrelease": vi.get("OSRELEASE"),
            "build_id": vi.get("BUILD-ID"),
            "page_size": k.page_size,
            "kaslr_offset": hx(int(vi.get("KERNELOFFSET", "0"), 16)),
            "phys_base": hx(phys_base & (2**64 - 1)) if phys_base is not None else None,
            "phys_base_signed": phys_base,
            "paging_levels": 5 if vi.get("NUMBER(pgtable_l5_enabled)") == "1" else 4,
            "page_offset_base": hx(k.page_offset_base) if k.page_offset_base is not None else None,
            "vmemmap_base": hx(k.vmemmap_base),
            "vmalloc_base": hx(k.p["vmalloc_base"].value_()) if not k.arm64 else None,
            "init_top_pgt": "0x" + vi.get("SYMBOL(init_top_pgt)", "0"),
            "max_pfn": k.max_pfn,
        }, indent=1))
        return
    if not a.all:
        task = find_task(k.p, a.pid)
        if not task:
            sys.exit("oracle: no task with pid %d in %s" % (a.pid, a.vmcore))
        for fd, file in for_each_file(task):
            if fd == a.fd:
                break
        else:
            sys.exit("oracle: pid %d has no fd %d" % (a.pid, a.fd))
        if file.f_op.value_() != k.socket_file_ops.value_():
            sys.exit("oracle: pid %d fd %d is not a socket" % (a.pid, a.fd))
        rep, _ = socket_report(k, task, a.fd, file)
        rep["warnings"] = k.warnings
        print(json.dumps(rep, indent=1))
        return
    sockets, owners = [], {}
    for task in for_each_task(k.p):
        if task.pid.value_() != task.tgid.value_() or not task.files:
            continue
        for fd, file in socket_files(k, task):
            rep, heads = socket_report(k, task, fd, file, want_skbs=not a.no_skbs)
            sockets.append((rep, heads))
    fd_socks = {int(rep["sock"], 16) for rep, _ in sockets}
    if not a.fd_only:
        sockets += unreached_reports(k, fd_socks, want_skbs=not a.no_skbs)
    for rep, heads in sockets:
        for h, o in heads.items():
            owners.setdefault(h, [o, set()])[1].add(rep["sock"])
    out = []
    for rep, heads in sockets:
        rep["shared_pages"] = sum(1 for h in heads if len(owners[h][1]) > 1)
        out.append(rep)
    out.sort(key=lambda r: -r["totals"]["pinned_bytes"])
    seen_sk = {}
    for rep in out:  # a socket reachable from several fds counts once in the system total
        seen_sk.setdefault(rep["sock"], rep)
    uniq = list(seen_sk.values())
    page_bytes = sum(k.page_size << o for o, _ in owners.values())
    extra = sum(r["totals"]["pinned_bytes"] - _socket_page_bytes(r, k) for r in uniq)
    tot = {"sockets": len(out), "skbs": sum(r["totals"]["skbs"] for r in uniq),
           "truesize": sum(r["totals"]["truesize"] for r in uniq), "unique_pages": len(owners),
           "page_bytes": page_bytes, "pinned_bytes": page_bytes + extra}
    # the head pages (struct page addresses) the queues hold: the census's skb pages, which no
    # later owner claims (owners-oracle.py's page_pool and page_frag checks)
    print(json.dumps({"sockets": out, "totals": tot, "held_heads": sorted(owners), "warnings": k.warnings}, indent=1))


def _socket_page_bytes(rep, k):
    return rep["totals"]["page_bytes"]


if __name__ == "__main__":
    main()
