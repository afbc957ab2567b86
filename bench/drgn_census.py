#!/usr/bin/env python3
"""The page census as a drgn user writes it: for_each_page and drgn's page-flag helpers, one struct page
at a time, by the rules of shared/spec/meminfo.md §3 (without the other/skb|vmalloc split).
Prints {"pages", "classes"} as JSON.   drgn_census.py VMCORE VMLINUX"""
import json
import sys

import drgn
from drgn.helpers.linux.mm import (PageHead, PageLRU, PageReserved, PageSlab, PageSwapBacked, PageTail,
                                   compound_head, compound_order, for_each_page)

p = drgn.Program()
p.set_core_dump(sys.argv[1])
p.load_debug_info([sys.argv[2]])
try:
    ty = {"buddy": p["PGTY_buddy"].value_(), "table": p["PGTY_table"].value_()}
    is_type = lambda page, t: (page.page_type.value_() >> 24) == ty[t]
except KeyError:
    rel = p["init_uts_ns"].name.release.string_().decode()
    old = tuple(int(x) for x in rel.split(".")[:2]) < (5, 11)
    bits = {"buddy": 0x80, "table": 0x400 if old else 0x200}
    is_type = lambda page, t: (page.page_type.value_() & (0xF0000000 | bits[t])) == 0xF0000000
classes = {}
pages = 0
free_until = 0
heads = {}
for page in for_each_page(p):
    try:
        pfn = (page.value_() - p["vmemmap_base"].value_()) // drgn.sizeof(page.type_.type)
        page.flags.value_()
    except drgn.FaultError:
        continue
    pages += 1
    if pfn < free_until:
        c = "free"
    elif PageReserved(page):
        c = "reserved"
    elif not PageTail(page) and is_type(page, "buddy"):
        free_until = pfn + (1 << page.private.value_())
        c = "free"
    elif PageTail(page):
        c = heads.get(compound_head(page).value_(), "other")
    else:
        if PageSlab(page):
            c = "slab"
        elif is_type(page, "table"):
            c = "page_table"
        elif PageLRU(page):
            c = "lru_anon" if PageSwapBacked(page) else "lru_file"
        elif page._refcount.counter.value_() == 0:
            c = "unused"
        else:
            c = "other"
        if PageHead(page) and compound_order(page).value_() <= 18:
            heads[page.value_()] = c
    classes[c] = classes.get(c, 0) + 1
print(json.dumps({"pages": pages, "classes": classes}, sort_keys=True))
