#!/usr/bin/env python3
"""The corrupt-dump corpus: damaged copies of a real dump, built by code, each run through skbwalk.

  corrupt-corpus.py pick --vmcore ELF --vmlinux V --manifest M --boot B > targets.json
      drgn finds the kernel addresses the memory cases patch: the nginx socket's receive queue and
      its skbs (next, frag_list, nr_frags, end, truesize, frags[0]), init_task.tasks, a task's
      tasks link, nginx's files_struct / fdtable. Stored as physical addresses.
  corrupt-corpus.py run --targets T --bin SKBWALK --vmlinux V --elf ELF --kdump KDUMP --flat FLAT
                       --work DIR [--list]
      builds every case (format damage on copies of KDUMP, FLAT and ELF; memory damage patched into
      one working copy of ELF and restored after each case) and runs skbwalk on it: `info --json`,
      `--pid P --fd F --json` and `top --json`. Each run must end in exit 0 with JSON that says
      `"complete": false` (with warnings), or exit 1 with one line naming the input; within 10 s
      and 1 GiB peak RSS. Prints "ok CASE" / "FAIL CASE: why" per case (exit status 0 always: the
      tier counts the lines). --list prints the case names and what each damages.
"""
import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sparse  # noqa: E402

START_KERNEL_MAP = 0xFFFFFFFF80000000
LIMIT_S = 10
LIMIT_RSS_KIB = 1 << 20


# ---------------------------------------------------------------- pick (drgn)

def pick(a):
    import drgn
    from drgn import cast
    from drgn.helpers.linux.fs import for_each_file
    from drgn.helpers.linux.pid import find_task
    from drgnkit import vmcoreinfo

    p = drgn.Program()
    p.set_core_dump(a.vmcore)
    p.load_debug_info([a.vmlinux])
    m = json.load(open(a.manifest))
    ng = next(s for s in m["boots"][a.boot]["sockets"] if s["comm"] == "nginx" and s["role"] == "server")
    vi = vmcoreinfo(p)
    kaslr = int(vi.get("KERNELOFFSET", "0"), 16)
    arm64 = p.platform.arch == drgn.Architecture.AARCH64
    if arm64:
        # arm64: drgn's page-table walk (the image and the linear map are both in swapper_pg_dir)
        from drgn.helpers.linux.mm import follow_phys
        init_mm = p["init_mm"].address_of_()

        def phys(addr):
            return follow_phys(init_mm, addr).value_()
    else:
        phys_base = int(vi["NUMBER(phys_base)"]) & (2**64 - 1)
        pob = p["page_offset_base"].value_()

        def phys(addr):
            # the kernel image maps phys_base at __START_KERNEL_map (__pa_symbol); slab objects
            # are in the direct map
            if addr >= START_KERNEL_MAP:
                return (addr - START_KERNEL_MAP + phys_base) & (2**64 - 1)
            return addr - pob

    def field(obj):
        return phys(obj.address_of_().value_()), drgn.sizeof(obj.type_)

    t = {"pid": ng["pid"], "fd": ng["fd"], "kaslr": kaslr}
    task = find_task(p, ng["pid"])
    for fd, f in for_each_file(task):
        if fd == ng["fd"]:
            break
    sk = cast("struct socket *", f.private_data).sk
    q = sk.sk_receive_queue
    t["queue_next"] = field(q.next)
    t["rmem_alloc"] = field(sk.sk_backlog.rmem_alloc.counter)
    skbs = []
    skb = q.next
    head = q.address_of_().value_()
    while skb.value_() != head and len(skbs) < 12:
        skbs.append(skb)
        skb = skb.next
    if len(skbs) < 10:
        sys.exit(f"corrupt-corpus: nginx's receive queue has only {len(skbs)} skbs")

    def shinfo(s):
        end = s.end.value_()
        base = s.head.value_()
        sh = base + end if end < (1 << 32) else end
        return drgn.Object(p, "struct skb_shared_info", address=sh)

    t["skb"] = [phys(s.value_()) for s in skbs]
    t["skb_next"] = [field(s.next)[0] for s in skbs]
    t["frag_list"] = [field(shinfo(s).frag_list)[0] for s in skbs]
    t["nr_frags"] = [field(shinfo(s).nr_frags) for s in skbs]
    t["end"] = [field(s.end) for s in skbs]
    t["truesize"] = [field(s.truesize)[0] for s in skbs]
    fr = shinfo(skbs[1]).frags[0]
    for name in ("bv_page", "netmem"):
        try:
            t["frag0_page"] = field(getattr(fr, name))[0]
            break
        except AttributeError:
            pass
    init = p["init_task"]
    t["init_tasks_next"] = field(init.tasks.next)[0]
    t["task_tasks_next"] = field(task.tasks.next)[0]
    t["task_tasks_self"] = task.tasks.address_of_().value_()
    t["files_fdt"] = field(task.files.fdt)[0]
    t["fdt_max_fds"] = field(task.files.fdt.max_fds)[0]
    t["skb_values"] = [s.value_() for s in skbs]
    # the first module BTF the kernel keeps (btf_modules, 5.11+): skbwalk's census reads them all
    if "btf_modules" in p:
        from drgn.helpers.linux.list import list_for_each_entry
        from drgn.helpers.linux.mm import follow_phys
        bm = next(iter(list_for_each_entry("struct btf_module", p["btf_modules"].address_of_(), "list")), None)
        if bm is not None:
            b = bm.btf
            t["btf_module"] = bm.module.name.string_().decode()
            t["btf_data"] = field(b.data)[0]
            t["btf_data_size"] = field(b.data_size)[0]
            t["btf_blob"] = follow_phys(p["init_mm"].address_of_(), b.data).value_()
    json.dump(t, sys.stdout, indent=1)


# ---------------------------------------------------------------- the cases

def u64(v):
    return struct.pack("<Q", v & (2**64 - 1))


def u32(v):
    return struct.pack("<I", v & (2**32 - 1))


def xorshift(n, seed):
    """n pseudo-random bytes."""
    x = seed * 0x9E3779B97F4A7C15 & (2**64 - 1) | 1
    buf = bytearray()
    for _ in range(n):
        x ^= (x << 13) & (2**64 - 1)
        x ^= x >> 7
        x ^= (x << 17) & (2**64 - 1)
        buf.append(x >> 24 & 0xFF)
    return bytes(buf)


def elf_loads(data_at):
    """PT_LOADs of an ELF as (paddr, filesz, offset); data_at(off, n) reads the file."""
    eh = data_at(0, 64)
    phoff, = struct.unpack_from("<Q", eh, 32)
    phnum, = struct.unpack_from("<H", eh, 56)
    loads, notes = [], []
    for i in range(phnum):
        ph = data_at(phoff + 56 * i, 56)
        typ, = struct.unpack_from("<I", ph, 0)
        off, vaddr, paddr, filesz, memsz = struct.unpack_from("<QQQQQ", ph, 8)
        if typ == 1:
            loads.append((paddr, filesz, off, phoff + 56 * i))
        elif typ == 4:
            notes.append((off, filesz, phoff + 56 * i))
    return loads, notes


class Elf:
    def __init__(self, path):
        self.f = open(path, "r+b")
        self.loads, self.notes = elf_loads(self.read)

    def read(self, off, n):
        self.f.seek(off)
        return self.f.read(n)

    def write(self, off, b):
        self.f.seek(off)
        self.f.write(b)
        self.f.flush()

    def off_of(self, paddr):
        for pa, filesz, off, _ in self.loads:
            if pa <= paddr < pa + filesz:
                return off + paddr - pa
        raise KeyError(f"physical {paddr:#x} is not stored in the ELF")


def note_offset(elf, name):
    """File offset of the note called `name` (its header), and its desc offset and size."""
    for off, size, _ in elf.notes:
        data = elf.read(off, size)
        at = 0
        while at + 12 <= len(data):
            namesz, descsz, typ = struct.unpack_from("<III", data, at)
            n = data[at + 12: at + 12 + namesz].rstrip(b"\0")
            desc = at + 12 + ((namesz + 3) & ~3)
            if n == name:
                return off + at, off + desc, descsz
            at = desc + ((descsz + 3) & ~3)
    raise KeyError(name)


def kdump_fields(path):
    with open(path, "rb") as f:
        h = f.read(464)
        bs, = struct.unpack_from("<i", h, 428)
        sub_size, bitmap_blocks = struct.unpack_from("<iI", h, 432)
        f.seek(bs)
        sub = f.read(104)
    bitmap = (1 + sub_size) * bs
    descs = bitmap + bitmap_blocks * bs
    return {"bs": bs, "sub": bs, "bitmap1": bitmap, "bitmap2": bitmap + bitmap_blocks * bs // 2,
            "descs": descs, "size": os.path.getsize(path)}


def page_data(path, kf, pfn):
    """(file offset, size) of the stored data of page `pfn` in a kdump file, or None."""
    with open(path, "rb") as f:
        f.seek(kf["bitmap2"])
        nbytes = pfn // 8 + 1
        bm = f.read(nbytes)
        if len(bm) < nbytes or not bm[pfn // 8] >> (pfn % 8) & 1:
            return None
        rank = sum(bin(b).count("1") for b in bm[: pfn // 8]) + bin(bm[pfn // 8] & ((1 << (pfn % 8)) - 1)).count("1")
        f.seek(kf["descs"] + 24 * rank)
        off, size, flags, _ = struct.unpack("<qIIQ", f.read(24))
        return (off, size) if off > 0 and size > 16 else None


def cases(tg, files):
    """(name, what, kind, build) with kind "file" (build(dst) makes a damaged file from a copy) or
    "mem" (build(elf) returns [(paddr, bytes)] to patch)."""
    K, FL, E = files["kdump"], files["flat"], files["elf"]
    kf = kdump_fields(K)
    out = []

    def file_case(name, what, src, fn, recoverable=False):
        out.append((name, what, "file", src, fn, recoverable))

    def trunc(n):
        return lambda dst: os.truncate(dst, n)

    def patch(at, b):
        def fn(dst):
            with open(dst, "r+b") as f:
                f.seek(at)
                f.write(b)
        return fn

    def garbage(at, n, seed=1):
        return patch(at, xorshift(n, seed))

    # kdump: truncations
    for n, label in [(0, "empty"), (100, "mid-header"), (kf["bs"], "after-header"),
                     (kf["bitmap1"] + 100, "mid-bitmap"), (kf["descs"] + 24 * 10, "after-10-descriptors"),
                     (kf["size"] // 2, "half"), (kf["size"] - 1000, "last-page-cut")]:
        file_case(f"kdump-truncated-{label}", f"kdump cut at byte {n}", K, trunc(n))
    # kdump: header fields
    for name, what, at, b in [
        ("kdump-signature", "signature overwritten", 0, b"XDUMP   "),
        ("kdump-header-version-0", "header_version 0", 8, u32(0)),
        ("kdump-header-version-1", "header_version 1 (no VMCOREINFO)", 8, u32(1)),
        ("kdump-header-version-99", "header_version 99", 8, u32(99)),
        ("kdump-block-size-8192", "block_size 8192", 428, u32(8192)),
        ("kdump-sub-hdr-size-huge", "sub_hdr_size 0x7fffffff", 432, u32(0x7FFFFFFF)),
        ("kdump-bitmap-blocks-huge", "bitmap_blocks 0xffffffff", 436, u32(0xFFFFFFFF)),
        ("kdump-max-mapnr-2^60", "64-bit max_mapnr 2^60", kf["sub"] + 96, u64(1 << 60)),
        ("kdump-status-incomplete", "status: DUMP_DH_COMPRESSED_INCOMPLETE (the writer ran out of space)",
         424, u32(struct.unpack_from("<I", open(K, "rb").read(428), 424)[0] | 0x8)),
        ("kdump-vmcoreinfo-offset-eof", "sub-header VMCOREINFO offset past EOF", kf["sub"] + 32, u64(1 << 40)),
    ]:
        file_case(name, what, K, patch(at, b))
    # kdump: bitmaps and descriptors
    file_case("kdump-bitmap2-zeroed-block", "first block of bitmap 2 zeroed", K, patch(kf["bitmap2"], bytes(kf["bs"])))
    file_case("kdump-bitmap2-garbage", "bitmap 2: 64 KiB of garbage", K, garbage(kf["bitmap2"], 65536))
    file_case("kdump-bitmap2-ones", "bitmap 2: a block of ones (pages with no descriptor)", K,
              patch(kf["bitmap2"] + kf["bs"], b"\xff" * kf["bs"]))
    n_desc = 4096
    with open(K, "rb") as f:
        f.seek(kf["descs"])
        descs = bytearray(f.read(24 * n_desc))

    def desc_patch(fn):
        d = bytearray(descs)
        for i in range(0, len(d) // 24):
            off, size, flags, pf = struct.unpack_from("<qIIQ", d, 24 * i)
            struct.pack_into("<qIIQ", d, 24 * i, *fn(off, size, flags, pf))
        return patch(kf["descs"], bytes(d))

    file_case("kdump-desc-offset-eof", "4096 descriptors: data offset past EOF", K,
              desc_patch(lambda o, s, fl, pf: (1 << 50, s, fl, pf)))
    file_case("kdump-desc-offset-negative", "4096 descriptors: negative offset", K,
              desc_patch(lambda o, s, fl, pf: (-4096, s, fl, pf)))
    file_case("kdump-desc-size-0", "4096 descriptors: size 0", K, desc_patch(lambda o, s, fl, pf: (o, 0, fl, pf)))
    file_case("kdump-desc-flags-unknown", "4096 descriptors: unknown flag 0x40", K,
              desc_patch(lambda o, s, fl, pf: (o, s, 0x40, pf)))
    file_case("kdump-desc-flags-two", "4096 descriptors: zlib and lzo at once", K,
              desc_patch(lambda o, s, fl, pf: (o, s, 0x3, pf)))
    file_case("kdump-desc-garbage", "descriptor table: 96 KiB of garbage", K, garbage(kf["descs"], 24 * n_desc, 7))
    # kdump: compressed page data, where the walk reads (the nginx sock's page, an skb's page)
    for label, paddr in [("sock", tg["queue_next"][0]), ("skb", tg["skb"][3])]:
        at = page_data(K, kf, paddr // kf["bs"])  # a kdump "page" is a block: QEMU's arm64 files use 64 KiB
        if at is not None:
            file_case(f"kdump-page-data-garbage-{label}", f"the compressed data of the page holding the nginx {label}",
                      K, garbage(at[0], at[1], 3))
    file_case("kdump-page-data-garbage-elsewhere", "1 MiB of compressed page data overwritten (recovered: the walk does not read there)",
              K, garbage(kf["size"] // 2, 1 << 20, 5), True)
    # flattened
    fsize = os.path.getsize(FL)
    file_case("flat-truncated-half", "flattened stream cut in half", FL, trunc(fsize // 2))
    file_case("flat-truncated-early", "flattened stream cut after 2 MiB", FL, trunc(2 << 20))
    file_case("flat-record-size-huge", "first record's size field 2^62", FL, patch(4096 + 8, struct.pack(">q", 1 << 62)))
    file_case("flat-record-offset-negative", "first record's offset negative", FL, patch(4096, struct.pack(">q", -5)))
    # ELF: truncations (prefix copies), notes and program headers (patched into the working copy)
    el = Elf(E)
    esize = os.path.getsize(E)
    for n, label in [(10, "ident"), (64 + 56, "phdrs"), (el.notes[0][0] + 16, "notes"), (esize // 2, "half")]:
        out.append((f"elf-truncated-{label}", f"ELF cut at byte {n}", "elf-trunc", E, n, False))
    note0 = el.notes[0][0]
    vi_hdr, vi_desc, vi_size = note_offset(el, b"VMCOREINFO")
    text = el.read(vi_desc, vi_size)
    ko = text.find(b"KERNELOFFSET=")
    big = max(el.loads, key=lambda l: l[1])
    # a second PT_LOAD to move onto the biggest (QEMU's arm64 ELF has one: RAM is one range on virt)
    other = next((l for l in el.loads if l != big and l[1] > 0), None)
    for name, what, patches, recoverable in [
        ("elf-note-namesz-huge", "first note: namesz 0x7fffffff", [(note0, u32(0x7FFFFFFF))], False),
        ("elf-note-descsz-huge", "first note: descsz 0xfffffff0", [(note0 + 4, u32(0xFFFFFFF0))], False),
        # without VMCOREINFO the kernel is found from the CPU state's CR3: the answer must equal
        # the undamaged one
        ("elf-vmcoreinfo-renamed", "VMCOREINFO note renamed (recovered from CR3)",
         [(vi_hdr + 12, b"XMCOREINFO")], True),
        ("elf-vmcoreinfo-garbled", "VMCOREINFO text overwritten (recovered from CR3)",
         [(vi_desc, xorshift(min(vi_size, 2048), 9))], True),
        ("elf-kerneloffset-zzzz", "VMCOREINFO KERNELOFFSET=zzzz", [(vi_desc + ko + 13, b"zzzz")], False),
        ("elf-kerneloffset-wrong", "VMCOREINFO KERNELOFFSET off by 2 MiB (the task list is unreadable)",
         [(vi_desc + ko + 13, b"%x" % (tg["kaslr"] + 0x200000) if text[ko + 13:ko + 14] != b"0" else b"2")], False),
    ] + ([] if other is None else [
        ("elf-phdr-overlap", "a PT_LOAD moved onto another's range", [(other[3] + 24, u64(big[0] + 0x100000))], False),
    ]) + [
        ("elf-phdr-memsz-2^52", "a PT_LOAD of 2^52 bytes", [(big[3] + 40, u64(1 << 52))], False),
        ("elf-phdr-offset-eof", "a PT_LOAD's contents past EOF", [(big[3] + 8, u64(esize))], False),
    ]:
        out.append((name, what, "elf-patch", E, patches, recoverable))
    # kernel memory (patched into the working ELF copy)
    s = tg["skb"]
    val = tg["skb_values"]
    mem = [
        ("mem-queue-loop", "receive queue: skb 5's next points back at skb 2", [(tg["skb_next"][5], u64(val[2]))]),
        ("mem-queue-garbage-next", "receive queue: skb 5's next is a non-canonical pointer", [(tg["skb_next"][5], u64(0xDEAD000000000100))]),
        ("mem-queue-null-next", "receive queue: skb 5's next is NULL", [(tg["skb_next"][5], u64(0))]),
        ("mem-queue-head-garbage", "sk_receive_queue.next is garbage", [(tg["queue_next"][0], u64(0xFFFF888000000008 ^ 0x5A5A5A5A000))]),
        ("mem-frag-list-fan-in", "skbs 0..8: frag_list points at the next skb of the queue",
         [(tg["frag_list"][i], u64(val[i + 1])) for i in range(9)]),
        ("mem-frag-list-self", "skb 3's frag_list points at itself", [(tg["frag_list"][3], u64(val[3]))]),
        ("mem-frag-list-to-head", "skb 3's frag_list points at skb 0 (a loop through the queue)", [(tg["frag_list"][3], u64(val[0]))]),
        ("mem-nr-frags-255", "skb 1: nr_frags 255", [(tg["nr_frags"][1][0], bytes([255]))]),
        ("mem-end-huge", "skb 1: end 0xffffffff", [(tg["end"][1][0], u32(0xFFFFFFFF) if tg["end"][1][1] == 4 else u64(2**64 - 1))]),
        ("mem-truesize-huge", "skb 2: truesize 0xffffffff", [(tg["truesize"][2], u32(0xFFFFFFFF))]),
        ("mem-frag-page-garbage", "skb 1: frags[0] page is garbage", [(tg["frag0_page"], u64(0xFFFFEA7F00000000))]),
        ("mem-rmem-alloc-negative", "sk_rmem_alloc negative", [(tg["rmem_alloc"][0], u32(0x80000000))]),
        ("mem-task-list-null", "init_task.tasks.next is NULL (zeroed memory)", [(tg["init_tasks_next"], u64(0))]),
        ("mem-task-list-loop", "nginx's tasks.next points at itself", [(tg["task_tasks_next"], u64(tg["task_tasks_self"]))]),
        ("mem-fdt-max-fds-huge", "nginx's fdtable.max_fds 0xffffffff", [(tg["fdt_max_fds"], u32(0xFFFFFFFF))]),
        ("mem-files-fdt-garbage", "nginx's files->fdt is garbage", [(tg["files_fdt"], u64(0xFFFF888123456789))]),
    ]
    for name, what, patches in mem:
        out.append((name, what, "mem", E, patches, False))
    # a module's BTF (read by the census: meminfo)
    if "btf_module" in tg:
        m = tg["btf_module"]
        for name, what, patches in [
            ("mem-btf-module-data-garbage", f"module {m}'s btf.data is garbage", [(tg["btf_data"], u64(0xDEAD00000000F00D))]),
            ("mem-btf-module-size-huge", f"module {m}'s btf.data_size 0xffffffff", [(tg["btf_data_size"], u32(0xFFFFFFFF))]),
            ("mem-btf-module-blob-garbage", f"module {m}'s BTF blob: its first 256 bytes garbage", [(tg["btf_blob"], xorshift(256, 5))]),
        ]:
            out.append((name, what, "mem-meminfo", E, patches, False))
    return out


# ---------------------------------------------------------------- run

def totals(j):
    """What must not change when a damage is recovered from: the socket's or the machine's totals."""
    return json.dumps(j.get("totals"), sort_keys=True)


def judge(cmd, input_path, baseline=None):
    """None when the run behaved, else why not. With a `baseline`, a complete answer is
    accepted when its totals equal the undamaged dump's (the damage was recovered from)."""
    # prlimit caps the address space at 4 GiB so a runaway allocation fails fast; the peak RSS
    # (1 GiB) is checked separately by peak_rss().
    full = ["prlimit", f"--as={4 << 30}", "--"] + cmd
    t0 = time.monotonic()
    try:
        p = subprocess.run(full, capture_output=True, timeout=LIMIT_S * 2)
    except subprocess.TimeoutExpired:
        return f"hung (> {LIMIT_S * 2} s): {' '.join(cmd[-4:])}"
    dt = time.monotonic() - t0
    err = p.stderr.decode(errors="replace")
    if dt > LIMIT_S:
        return f"took {dt:.1f} s (> {LIMIT_S} s)"
    if "panicked" in err:
        return "panic: " + err.strip().splitlines()[0][:300]
    if p.returncode == 1:
        lines = err.strip().splitlines()
        if len(lines) != 1:
            return f"exit 1 with {len(lines)} lines on stderr: {err[:300]!r}"
        if os.path.basename(input_path) not in lines[0] and "--vmlinux" not in lines[0]:
            return f"exit 1 but the message does not name the input: {lines[0][:300]}"
        return None
    if p.returncode == 0:
        try:
            j = json.loads(p.stdout)
        except ValueError as e:
            return f"exit 0 without JSON ({e})"
        if j.get("complete") is not False:
            if baseline is not None and totals(j) == baseline:
                return None
            return "exit 0 with complete != false (the damage went unnoticed)"
        if not j.get("warnings"):
            return "exit 0, complete false, but no warnings"
        return None
    return f"exit {p.returncode}: {err.strip()[:300]}"


def peak_rss(cmd):
    """Peak RSS (KiB) of one run, from the kernel's accounting of a waited-for child."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _, _, ru = os.wait4(p.pid, 0)
    except ChildProcessError:
        return 0
    return ru.ru_maxrss


def run(a):
    tg = json.load(open(a.targets))
    files = {"kdump": a.kdump, "flat": a.flat, "elf": a.elf}
    all_cases = cases(tg, files)
    if a.list:
        for name, what, kind, src, _, _ in all_cases:
            print(f"{name:34} {what}")
        return
    os.makedirs(a.work, exist_ok=True)
    work_elf = os.path.join(a.work, "work.elf")
    if not os.path.exists(work_elf) or os.path.getsize(work_elf) != os.path.getsize(a.elf):
        sparse.copy_file(a.elf, work_elf)
    wel = Elf(work_elf)
    pid, fd = str(tg["pid"]), str(tg["fd"])
    base = {}

    def baseline(src, is_top):
        """Totals on the undamaged `src`, for recovered cases."""
        key = (src, is_top)
        if key not in base:
            cmd = ["top"] if is_top else ["--pid", pid, "--fd", fd]
            p = subprocess.run([a.bin, "--vmcore", src, "--vmlinux", a.vmlinux] + cmd + ["--json"], capture_output=True)
            base[key] = totals(json.loads(p.stdout)) if p.returncode == 0 else None
        return base[key]
    for name, what, kind, src, build, recoverable in all_cases:
        saved = []
        target = work_elf
        if kind in ("mem", "mem-meminfo", "elf-patch"):
            try:
                for at, b in build:
                    off = wel.off_of(at) if kind.startswith("mem") else at
                    saved.append((off, wel.read(off, len(b))))
                    wel.write(off, b)
            except KeyError as e:
                print(f"FAIL {name}: cannot patch: {e}")
                continue
        elif kind == "elf-trunc":
            target = os.path.join(a.work, name + ".elf")
            sparse.copy_file(src, target, length=build)
        else:
            target = os.path.join(a.work, name + ".dump")
            sparse.copy_file(src, target)
            build(target)
        why = None
        cmds = [
            [a.bin, "--vmcore", target, "info", "--json"],
            [a.bin, "--vmcore", target, "--vmlinux", a.vmlinux, "--pid", pid, "--fd", fd, "--json"],
            [a.bin, "--vmcore", target, "--vmlinux", a.vmlinux, "top", "--json"],
        ]
        if kind == "mem":
            cmds = cmds[1:]
        elif kind == "mem-meminfo":
            cmds = [[a.bin, "--vmcore", target, "--vmlinux", a.vmlinux, "meminfo", "--json"]]
        for cmd in cmds:
            r = judge(cmd, target, baseline(src, "top" in cmd) if recoverable else None)
            if r is None:
                rss = peak_rss(cmd)
                if rss > LIMIT_RSS_KIB:
                    r = f"peak RSS {rss >> 10} MiB (> 1 GiB)"
            if r is not None:
                # info on a memory case, or info that the damage does not reach, may be complete
                if cmd[3] == "info" and r.startswith("exit 0 with complete"):
                    continue
                why = f"{' '.join(cmd[3:])}: {r}"
                break
        for off, b in saved:
            wel.write(off, b)
        if target != work_elf and os.path.exists(target):
            os.unlink(target)
        print(f"ok   {name}" if why is None else f"FAIL {name}: {why}")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p1 = sub.add_parser("pick")
    p1.add_argument("--vmcore", required=True)
    p1.add_argument("--vmlinux", required=True)
    p1.add_argument("--manifest", required=True)
    p1.add_argument("--boot", default="A")
    p2 = sub.add_parser("run")
    for o in ("--targets", "--bin", "--vmlinux", "--elf", "--kdump", "--flat", "--work"):
        p2.add_argument(o, required=True)
    p2.add_argument("--list", action="store_true")
    a = ap.parse_args()
    pick(a) if a.cmd == "pick" else run(a)


if __name__ == "__main__":
    main()
