"""Small drgn helpers the real tier's scripts share."""


def vmcoreinfo(prog):
    """The dump's VMCOREINFO (the kernel's vmcoreinfo_data) as a dict of KEY -> text value."""
    out = {}
    for line in prog["vmcoreinfo_data"].string_().decode(errors="replace").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def compound_word(prog):
    """(offset of the word a compound tail names its head with, mask mode) for this kernel.

    Written from the kernel's include/linux/page-flags.h: to 7.0 the word is page->compound_head
    and a tail holds head + 1; from 7.1 it is page->compound_info, which holds mask | 1 (head =
    the tail's own address & mask) when compound_info_has_mask() -- CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP
    (whose zones have vmemmap_tails) with a power-of-two sizeof(struct page) -- else head + 1."""
    import drgn
    page = prog.type("struct page")
    size = drgn.sizeof(page)
    try:
        return drgn.offsetof(page, "compound_head"), False
    except LookupError:
        pass
    off = drgn.offsetof(page, "compound_info")
    try:
        drgn.offsetof(prog.type("struct zone"), "vmemmap_tails")
        hvo = True
    except LookupError:
        hvo = False
    return off, hvo and size & (size - 1) == 0


def head_of(page_addr, word, mask_mode):
    """The head struct page named by a compound word read at page_addr (page_addr when not a tail)."""
    if not word & 1:
        return page_addr
    return page_addr & (word & ~1) if mask_mode else word - 1


def flags_word(page_obj):
    """page->flags as an integer (a memdesc_flags_t struct around one word since 6.18)."""
    import drgn
    f = page_obj.flags
    if f.type_.unaliased_kind() == drgn.TypeKind.STRUCT:
        return f.f.value_()
    return f.value_()
