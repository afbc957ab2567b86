#!/usr/bin/env python3
"""drgn doing skbwalk's `top` walk, for the scale benchmark (bench/scale.sh).

Walks init_task.tasks (and thread groups), each fd table once, every socket (f_op == socket_file_ops),
its receive/write/error lists and TCP rbtrees, every skb's frags and head page, and prints the system
totals skbwalk's `top --json` prints, so the benchmark also checks that both walks agree.
usage: drgn_walk.py VMCORE VMLINUX
"""
import json
import sys

import drgn
from drgn import cast
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.rbtree import rbtree_inorder_for_each_entry

p = drgn.Program()
p.set_core_dump(sys.argv[1])
p.load_debug_info([sys.argv[2]])
PAGE = 4096
page_offset_base = p["page_offset_base"].value_()
vmemmap = p["vmemmap_base"].value_()
sizeof_page = p.type("struct page").size
socket_file_ops = p["socket_file_ops"].address_of_().value_()
PG_head = p["PG_head"].value_()
PG_slab = p["PG_slab"].value_()
shinfo_size = p.type("struct skb_shared_info").size
skb_t = p.type("struct sk_buff *")
sock_t = p.type("struct sock *")
tcp_t = p.type("struct tcp_sock *")
slab_t = p.type("struct slab *")
page_t = p.type("struct page *")


def compound(page):
    ch = page.compound_head.value_()
    head = page if not ch & 1 else drgn.Object(p, page_t, ch - 1)
    order = head[1].compound_order.value_() if head.flags.value_() & (1 << PG_head) else 0
    return head.value_(), order


def virt_to_page(addr):
    return drgn.Object(p, page_t, vmemmap + ((addr - page_offset_base) >> 12) * sizeof_page)


slot_cache = {}


def slab_slot(addr):
    page = virt_to_page(addr)
    head, _ = compound(page)
    if head not in slot_cache:
        hp = drgn.Object(p, page_t, head)
        slot_cache[head] = cast(slab_t, hp).slab_cache.size.value_() if hp.flags.value_() & (1 << PG_slab) else None
    return slot_cache[head]


totals = {"sockets": 0, "skbs": 0, "truesize": 0, "pinned_minus_pages": 0}
pages = {}


def account(skb, top_level):
    totals["skbs"] += 1
    if top_level:
        totals["truesize"] += skb.truesize.value_()
    head = skb.head.value_()
    sh = drgn.Object(p, "struct skb_shared_info", address=head + skb.end.value_())
    own = set()
    for i in range(sh.nr_frags.value_()):
        own.add(compound(sh.frags[i].bv_page))
    if skb.head_frag.value_():
        own.add(compound(virt_to_page(head)))
    else:
        totals["pinned_minus_pages"] += slab_slot(head) or 0
    totals["pinned_minus_pages"] += slab_slot(skb.value_()) or 0
    for h, o in own:
        pages[h] = o
    child = sh.frag_list
    while child.value_():
        account(child, False)
        child = child.next


def walk_list(head):
    cur = head.next
    while cur.value_() != head.address_of_().value_():
        account(cur, True)
        cur = cur.next


def walk_sock(sk, is_tcp):
    walk_list(sk.sk_receive_queue)
    walk_list(sk.sk_write_queue)
    walk_list(sk.sk_error_queue)
    if is_tcp:
        tp = cast(tcp_t, sk)
        for skb in rbtree_inorder_for_each_entry("struct sk_buff", tp.out_of_order_queue.address_of_(), "rbnode"):
            account(skb, True)
        for skb in rbtree_inorder_for_each_entry("struct sk_buff", sk.tcp_rtx_queue.address_of_(), "rbnode"):
            account(skb, True)


files_seen, socks_seen = set(), set()
init = p["init_task"]
for task in list_for_each_entry("struct task_struct", init.tasks.address_of_(), "tasks"):
    files = task.files
    if not files.value_() or files.value_() in files_seen:
        continue
    files_seen.add(files.value_())
    fdt = files.fdt
    fds = fdt.fd
    for i in range(fdt.max_fds.value_()):
        f = fds[i]
        if not f.value_() or f.f_op.value_() != socket_file_ops:
            continue
        socket = cast("struct socket *", f.private_data)
        sk = socket.sk
        if not sk.value_() or sk.value_() in socks_seen:
            continue
        socks_seen.add(sk.value_())
        totals["sockets"] += 1
        fam = sk.__sk_common.skc_family.value_()
        walk_sock(sk, fam in (2, 10) and sk.sk_protocol.value_() == 6 and socket.type.value_() == 1)

page_bytes = sum(PAGE << o for o in pages.values())
print(json.dumps({"sockets": totals["sockets"], "skbs": totals["skbs"], "truesize": totals["truesize"],
                  "unique_pages": len(pages), "page_bytes": page_bytes,
                  "pinned_bytes": page_bytes + totals["pinned_minus_pages"]}))
