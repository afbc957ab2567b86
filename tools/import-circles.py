#!/usr/bin/env python3
"""No circle of imports inside any crate of the workspace: each module's `crate::m` paths (its
test module left out) are edges to the crate's top-level module `m`; a strongly connected
component of more than one module is a circle. Prints each and exits 1 when there is one.

    tools/import-circles.py [WORKSPACE_DIR]
"""
import os
import re
import sys


def modules(src):
    """top-level module -> the top-level modules it names through `crate::`."""
    deps = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            top = os.path.relpath(path, src)[:-3].split(os.sep)[0]
            if top in ("lib", "main") or top.startswith("bin"):
                continue
            text = re.split(r"#\[cfg\(test\)\]\s*mod tests", open(path, errors="replace").read())[0]
            deps.setdefault(top, set()).update(set(re.findall(r"crate::([a-z_][a-z0-9_]*)", text)) - {top})
    return {m: {d for d in ds if d in deps} for m, ds in deps.items()}


def circles(g):
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(g):
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(g[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    found = 0
    for crate in sorted(os.listdir(root)):
        src = os.path.join(root, crate, "src")
        if os.path.isdir(src) and os.path.exists(os.path.join(root, crate, "Cargo.toml")):
            for c in circles(modules(src)):
                print(f"{crate}: circle of {len(c)} modules: {', '.join(c)}")
                found += 1
    print(f"import circles: {found}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
