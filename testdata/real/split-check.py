#!/usr/bin/env python3
"""Split dump sets on the real dumps (issue: dump formats).

usage: split-check.py --bin SKBWALK --boot DIR --manifest M --boot-name A [--prefix P] [--timeout S]

From boot DIR's ELF (program headers fixed for makedumpfile, as make-dumps.sh does) makes, once
(cached in DIR/split-<hash>-d<level>/): makedumpfile --split -d 31 (-d 17 on 6.12, as make-dumps.sh) sets of 2 parts (zlib) and 3 parts (lzo),
with --splitblock-size small enough that every part holds pages, and the single-file -d 31 dumps
they must equal (vmcore.mdf-d31-{zlib,lzo}.kdump, made by make-dumps.sh). Then checks:
  - info on the set lists every part, no missing range, pages present = the single file's;
  - top, --pid/--fd (each manifest socket with data) and meminfo: --json of the set = of the file;
  - read --phys of pages in every part: the set's bytes = the file's;
  - each lone part: pages it holds read the same bytes; pages another part holds fail, exit 1,
    saying "not in this file" (never another page's bytes); info names its missing ranges.
Prints "ok NAME" / "FAIL NAME: why".
"""
import argparse, hashlib, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(args, **kw):
    return subprocess.run(args, capture_output=True, **kw)


def level(boot):
    """The -d level of make-dumps.sh's single-file conversions (31; 17 on 6.12, see there)."""
    for d in (31, 17):
        if os.path.exists(os.path.join(boot, f"vmcore.mdf-d{d}-zlib.kdump")):
            return d
    raise SystemExit("no vmcore.mdf-d*-zlib.kdump made by make-dumps.sh")


def make_sets(boot, tag, d):
    out = os.path.join(boot, f"split-{tag}-d{d}")
    done = os.path.join(out, "done")
    if os.path.exists(done):
        return out
    os.makedirs(out, exist_ok=True)
    fixed = os.path.join(out, "fixed.elf")
    subprocess.run([sys.executable, os.path.join(HERE, "fix-elf-phdrs.py"), os.path.join(boot, "vmcore.elf"), fixed],
                   check=True)
    try:
        # bookworm's makedumpfile cuts the pfns into splitblocks (default 1 GiB): small blocks so
        # a few-hundred-MiB guest spreads over every part.
        for n, comp in ((2, "-c"), (3, "-l")):
            parts = [os.path.join(out, f"set{n}-{i}") for i in range(1, n + 1)]
            p = sh(["makedumpfile", "--split", "--splitblock-size", "4096", "-d", str(d), comp, fixed] + parts)
            if p.returncode != 0:
                raise SystemExit(f"makedumpfile --split failed: {p.stderr.decode()[-300:]}")
    finally:
        os.unlink(fixed)
    open(done, "w").close()
    return out


class Checker:
    def __init__(self, a):
        self.a = a
        self.cache = tempfile.mkdtemp()

    def run(self, vmcores, args):
        cmd = [self.a.bin]
        for v in vmcores:
            cmd += ["--vmcore", v]
        env = dict(os.environ, XDG_CACHE_HOME=self.cache)
        return subprocess.run(cmd + args, capture_output=True, env=env, timeout=self.a.timeout)

    def json(self, vmcores, args):
        p = self.run(vmcores, args + ["--json"])
        if p.returncode != 0:
            return None, p.stderr.decode(errors="replace").strip()[:300]
        d = json.loads(p.stdout)
        d.pop("debuginfo", None)
        # the set's reports name its files in dump warnings; compare the rest
        d["warnings"] = [w for w in d.get("warnings", []) if w.get("kind") != "dump"]
        return d, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--boot", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--boot-name", default="A")
    ap.add_argument("--vmlinux", required=True)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    tag = hashlib.sha256(open(__file__, "rb").read()).hexdigest()[:12]
    try:
        d = level(a.boot)
        out = make_sets(a.boot, tag, d)
    except SystemExit as e:
        print(f"FAIL {a.prefix}split make: {e}")
        return
    c = Checker(a)
    m = json.load(open(a.manifest))
    socks = [s for s in m["boots"][a.boot_name]["sockets"] if s.get("expect") == "receive"][:3]
    vml = ["--vmlinux", a.vmlinux]
    for n, single in ((2, f"vmcore.mdf-d{d}-zlib.kdump"), (3, f"vmcore.mdf-d{d}-lzo.kdump")):
        parts = [os.path.join(out, f"set{n}-{i}") for i in range(1, n + 1)]
        one = [os.path.join(a.boot, single)]
        base = f"{a.prefix}split{n} "
        info, err = c.json(parts, ["info"])
        want, err2 = c.json(one, ["info"])
        if err or err2:
            print(f"FAIL {base}info: {err or err2}")
            continue
        got_parts = info.get("parts", [])
        why = None
        if len(got_parts) != n:
            why = f"{len(got_parts)} parts listed"
        elif info.get("missing_pfns"):
            why = f"missing {info['missing_pfns']}"
        elif any(p["pages_present"] == 0 for p in got_parts):
            why = f"a part holds no pages: {got_parts}"
        elif info["pages_present"] != want["pages_present"]:
            why = f"pages present {info['pages_present']} vs {want['pages_present']}"
        print(f"FAIL {base}info: {why}" if why else f"ok {base}info")
        cmds = [["top"], ["meminfo"]] + [["--pid", str(s["pid"]), "--fd", str(s["fd"])] for s in socks]
        for cmd in cmds:
            x, e1 = c.json(parts, vml + cmd)
            y, e2 = c.json(one, vml + cmd)
            name = f"{base}{' '.join(cmd)}"
            if e1 or e2:
                print(f"FAIL {name}: {e1 or e2}")
            elif x != y:
                print(f"FAIL {name}: the set's report differs from the single file's")
            else:
                print(f"ok {name}")
        # Physical pages of every part, through the set and alone.
        for i, p in enumerate(got_parts):
            lo, hi = int(p["start_pfn"], 16), int(p["end_pfn"], 16)
            # the ends, and 63 pfns spread between: -d 31 drops zero and free pages, and a fresh
            # capture decides which, so four fixed probes could all be excluded (a 5.10 set had
            # only 3 of its part 1's pages to compare)
            probes = sorted({lo, lo + 1, hi - 1} | {lo + k * (hi - lo) // 64 for k in range(1, 64)})
            others = [q for j, q in enumerate(got_parts) if j != i]
            foreign = sorted({int(q["start_pfn"], 16) + k for q in others for k in (0, 1, 7)})
            checked = bad = 0
            msgs = []
            for pfn in probes + foreign:
                addr = hex(pfn * 4096)
                w = c.run(one, ["read", "--phys", addr, "4096", "--json"])
                if w.returncode != 0:
                    continue  # excluded or absent in the dump: nothing to compare
                want_hex = json.loads(w.stdout)["hex"]
                s = c.run(parts, ["read", "--phys", addr, "4096", "--json"])
                if s.returncode != 0 or json.loads(s.stdout)["hex"] != want_hex:
                    bad += 1
                    msgs.append(f"set read of pfn {pfn:#x} differs")
                alone = c.run([parts[i]], ["read", "--phys", addr, "4096", "--json"])
                if lo <= pfn < hi:
                    if alone.returncode != 0 or json.loads(alone.stdout)["hex"] != want_hex:
                        bad += 1
                        msgs.append(f"part {i + 1} alone misreads its pfn {pfn:#x}")
                else:
                    err = alone.stderr.decode(errors="replace")
                    if alone.returncode != 1 or "not in this file" not in err:
                        bad += 1
                        msgs.append(f"part {i + 1} alone answered pfn {pfn:#x} of another part "
                                    f"(exit {alone.returncode}: {err.strip()[:120]})")
                checked += 1
            name = f"{base}part{i + 1} reads"
            if checked < 4:
                print(f"FAIL {name}: only {checked} pages compared")
            elif bad:
                print(f"FAIL {name}: {'; '.join(msgs[:3])}")
            else:
                print(f"ok {name} ({checked} pages)")
        lone, err = c.json([parts[0]], ["info"])
        name = f"{base}lone part info"
        if err:
            print(f"FAIL {name}: {err}")
        elif not lone.get("missing_pfns") or len(lone.get("parts", [])) != 1:
            print(f"FAIL {name}: parts {lone.get('parts')} missing {lone.get('missing_pfns')}")
        else:
            print(f"ok {name}")


if __name__ == "__main__":
    main()
