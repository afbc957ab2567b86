#!/usr/bin/env python3
"""Every command's --json is the same whichever debuginfo answers (issue: no debuginfo needed).

usage: debuginfo-check.py --bin SKBWALK --vmcore DUMP --vmlinux VMLINUX [--system-map MAP]
                          [--socket PID:FD ...] [--timeout S]

For each command (info, top, meminfo, explain, and --pid/--fd for each --socket) runs skbwalk three
times, each with an empty layout cache (a fresh XDG_CACHE_HOME) and nothing installed under
/usr/lib/debug for the dump's release:
  dwarf  --vmlinux V --types dwarf        (the DWARF path)
  btf    --vmlinux V                      (the default: the vmlinux's .BTF, symbols from .symtab)
  dump   nothing but the dump             (its own BTF and kallsyms), or --system-map MAP when
                                          the dump's VMCOREINFO has no kallsyms (5.10, no VMCOREINFO)
and requires the three documents to be equal but for "debuginfo" and the symbol labels of image
referrers (compared by address: see same_labels), and "debuginfo" to name what was used. Prints "ok NAME" or "FAIL NAME: why" per check.

--no-module-btf: the kernel keeps no module BTF (before 5.11: no btf_modules) and its virtio core is
a module, so the dump alone has no type of it: the pages dwarf and btf name as NIC rings (their types
from the modules' debug files beside the vmlinux) are, in the dump's census, with the reverse-reference
scan (referenced, or unattributed), and its referrers are dwarf's and those of exactly those pages.
The rest must be equal. (With --system-map beside the vmlinux, the dump's run finds the modules' debug
files too: then all is equal.)

--dump-alone-fails: a kernel whose dump cannot answer alone (arm64 6.1: no CONFIG_KALLSYMS_ALL, so its
kallsyms hold no data symbols): each command with nothing but the dump must exit 1 with one line on
stderr naming what is missing (symbols or BTF), checked as "NAME dump-alone"; the third variant is then
the dump's BTF with --system-map MAP.
"""
import argparse, copy, json, os, subprocess, sys, tempfile


def run(args, timeout):
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        p = subprocess.run(args, capture_output=True, env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def first_diff(a, b, path=""):
    if type(a) is not type(b):
        return f"{path}: {a!r:.80} vs {b!r:.80}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in one"
            d = first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
    elif isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
    elif a != b:
        return f"{path}: {a!r:.80} vs {b!r:.80}"
    return None


def same_labels(doc):
    """The reverse-reference scan names an image referrer by the symbol containing it, or else the
    nearest below: the vmlinux's .symtab (with sizes and compiler-local symbols such as __key.0)
    and the dump's kallsyms or a System.map (no sizes, other symbols) can label the same word
    differently. The word, its value and the allocation must agree; the label is the source's.
    Image referrers are compared by address, and census.owners.referenced by those labels."""
    if isinstance(doc, dict):
        refs = doc.get("referrers")
        if isinstance(refs, list):
            groups = {}
            for r in refs:
                if r.get("region") == "image":
                    r["name"] = r["group"] = "image"
                groups[r["group"]] = groups.get(r["group"], 0) + r["pages"]
            owners = doc.get("owners", {})
            if "referenced" in owners:
                owners["referenced"] = sorted(groups.items())
        for v in doc.values():
            same_labels(v)
    elif isinstance(doc, list):
        for v in doc:
            same_labels(v)


def nic_rings_scanned(ref, dump):
    """With --no-module-btf: None when `dump`'s census is `ref`'s with the NIC ring pages moved to
    the reverse-reference scan (then both have those parts dropped), else why not."""
    rc, dc = ref.get("census"), dump.get("census")
    if not isinstance(rc, dict) or not isinstance(dc, dict):
        return None
    ro, do = rc["other"], dc["other"]
    moved = ro.get("nic_ring", 0)
    if do.get("nic_ring", 0) == moved:
        return None  # the module types were found after all (beside a --system-map given): equal
    if do.get("nic_ring", 0) != 0:
        return f"the dump names {do['nic_ring']} NIC ring pages, the vmlinux runs {moved}"
    if do["referenced"] + do["unattributed"] != ro["referenced"] + ro["unattributed"] + moved:
        return (f"referenced+unattributed {do['referenced']}+{do['unattributed']} != "
                f"{ro['referenced']}+{ro['unattributed']} + {moved} NIC ring pages")
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    rr, dr = {key(r) for r in rc.get("referrers", [])}, [r for r in dc.get("referrers", [])]
    if not rr <= {key(r) for r in dr}:
        return "a referrer of the vmlinux runs is not among the dump's"
    extra = sum(r["pages"] for r in dr if key(r) not in rr)
    if extra + do["unattributed"] - ro["unattributed"] != moved:
        return f"the dump's further referrers hold {extra} pages, the NIC rings {moved}"
    for c in (rc, dc):
        for k in ("nic_ring", "referenced", "unattributed"):
            c["other"].pop(k, None)
        for k in ("nic_ring", "referenced"):
            c.get("owners", {}).pop(k, None)
        c.pop("referrers", None)
        c.pop("unattributed_largest", None)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--vmcore", required=True)
    ap.add_argument("--vmlinux", required=True)
    ap.add_argument("--system-map")
    ap.add_argument("--no-module-btf", action="store_true")
    ap.add_argument("--socket", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--dump-alone-fails", action="store_true")
    a = ap.parse_args()
    commands = [["info"], ["top"], ["meminfo"], ["explain"]]
    for s in a.socket:
        pid, fd = s.split(":")
        commands.append(["--pid", pid, "--fd", fd])
    base = [a.bin, "--vmcore", a.vmcore, "--json"]
    variants = {
        "dwarf": ["--vmlinux", a.vmlinux, "--types", "dwarf"],
        "btf": ["--vmlinux", a.vmlinux],
        "dump": ["--system-map", a.system_map] if a.system_map else [],
    }
    want_symbols = {"dwarf": "symtab", "btf": "symtab", "dump": "system.map" if a.system_map else "kallsyms"}
    for cmd in commands:
        name = f"{a.prefix}debuginfo {' '.join(cmd)}"
        docs, why = {}, None
        for v, extra in variants.items():
            rc, out, err = run(base + extra + cmd, a.timeout)
            if rc != 0:
                why = f"{v}: exit {rc}: {err.strip()[:300]}"
                break
            try:
                docs[v] = json.loads(out)
            except ValueError as e:
                why = f"{v}: not JSON: {e}"
                break
        if why:
            print(f"FAIL {name}: {why}")
            continue
        for v, d in docs.items():
            # warnings name the source that answered ("not found in the BTF of ..."): compare
            # their kinds and addresses, not their text
            for w in d.get("warnings", []) if isinstance(d, dict) else []:
                w.pop("message", None)
            same_labels(d)
            di = d.pop("debuginfo", "missing")
            if cmd == ["info"] and v == "dump" and di is None:
                continue  # info needs no kernel types when the dump has VMCOREINFO
            types = "dwarf" if v == "dwarf" else "btf"
            if not isinstance(di, dict) or di.get("types") != types or di.get("symbols") != want_symbols[v] \
                    or (di.get("file") is None) != (v == "dump"):
                why = f"{v}: debuginfo says {di!r}"
                break
        if not why and a.no_module_btf and isinstance(docs["dump"], dict):
            ref = copy.deepcopy(docs["dwarf"])
            why = nic_rings_scanned(ref, docs["dump"])
            if why:
                why = f"dump: {why}"
        else:
            ref = docs["dwarf"]
        if not why:
            for v in ("btf", "dump"):
                d = first_diff(docs["dwarf"] if v == "btf" else ref, docs[v])
                if d:
                    why = f"{v} differs from dwarf at {d}"
                    break
        print(f"FAIL {name}: {why}" if why else f"ok {name}")
        if a.dump_alone_fails:
            rc, out, err = run(base + cmd, a.timeout)
            lines = err.strip().splitlines()
            if cmd == ["info"] and rc == 0:
                why = None  # info needs no kernel symbols or types when the dump has VMCOREINFO
            elif rc != 1:
                why = f"exit {rc} (expected 1): {err.strip()[:300]}"
            elif out.strip():
                why = f"printed to stdout: {out[:200]!r}"
            elif len(lines) != 1:
                why = f"{len(lines)} lines on stderr (expected one): {err.strip()[:300]}"
            elif not any(w in lines[0].lower() for w in ("symbol", "btf", "kallsyms")):
                why = f"the line names no missing symbols or BTF: {lines[0][:300]}"
            else:
                why = None
            print(f"FAIL {name} dump-alone: {why}" if why else f"ok {name} dump-alone")


if __name__ == "__main__":
    sys.exit(main())
