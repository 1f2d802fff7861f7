#!/usr/bin/env python3
"""Include-graph check for Sluice's C code (standard library only).

Two checks over every `#include "..."` line of lib/, app/ and tests/unit/:

1. No include cycle among headers: Tarjan's strongly connected components
   over the header -> header graph (a header names another by file name;
   each library's directory is on the include path, so names are unique).
2. The libraries stay layered: a file of lib/X may include a header of
   lib/Y only when Y comes before X in lib/meson.build's list, so the
   library graph is acyclic in that order.

3. struct sl_lcore (lib/core/sl_lcore_types.h) names no type of a library
   after lib/net: the layers above keep their per-lcore state in its
   module slots (struct sl_lcore_module), so lib/core names none of them.
   A type belongs to the library whose files define it (`struct sl_x {`).

With --objects BUILD_DIR, a fourth check on what is linked rather than
included: the symbols each library's objects define and use (nm), so that
no library calls up the order either (a call through an extern declared
by hand would pass the include check).

Prints every cycle or upward include found and exits 1, else a summary
and 0. Usage: scripts/check_includes.py [--objects BUILD_DIR] [repo root]
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def lib_order(root):
    text = open(os.path.join(root, "lib", "meson.build")).read()
    m = re.search(r"foreach l:\s*\[(.*?)\]", text, re.S)
    return re.findall(r"'([^']+)'", m.group(1))


def sources(root):
    for top in ("lib", "app", os.path.join("tests", "unit")):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h", ".def")):
                    yield os.path.join(d, f)


def scc(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


STRUCT_DEF = re.compile(r"^struct\s+(sl_\w+)\s*\{", re.M)
STRUCT_USE = re.compile(r"\bstruct\s+(sl_\w+)")


def check_lcore(root, order):
    """Types of libraries after lib/net that struct sl_lcore names."""
    rank = {l: i for i, l in enumerate(order)}
    owner = {}
    for l in order:
        d = os.path.join(root, "lib", l)
        for f in sorted(os.listdir(d)):
            if f.endswith((".c", ".h")):
                text = open(os.path.join(d, f), errors="replace").read()
                for name in STRUCT_DEF.findall(text):
                    owner.setdefault(name, l)
    # The check must be able to fail: TCP's stack is a type above lib/net.
    if rank.get(owner.get("sl_tcp_stack"), -1) <= rank["net"]:
        return ["check_lcore: struct sl_tcp_stack is no longer found "
                "defined above lib/net; the check needs updating"]
    text = open(os.path.join(root, "lib", "core", "sl_lcore_types.h")).read()
    m = re.search(r"^struct sl_lcore \{(.*?)^\}", text, re.S | re.M)
    if m is None:
        return ["check_lcore: no struct sl_lcore in lib/core/sl_lcore_types.h"]
    bad = []
    for name in sorted(set(STRUCT_USE.findall(m.group(1)))):
        l = owner.get(name)
        if l is not None and rank[l] > rank["net"]:
            bad.append(f"struct sl_lcore names struct {name} of lib/{l}, "
                       f"a layer above lib/net: give it a module slot "
                       f"(struct sl_lcore_module) instead")
    return bad


def check_objects(build, order):
    """Libraries whose objects use a symbol defined by a later library."""
    rank = {l: i for i, l in enumerate(order)}
    defs, uses = {}, {}
    for l in order:
        d = os.path.join(build, "lib", f"libsl_{l}.a.p")
        objs = [os.path.join(d, f) for f in sorted(os.listdir(d))
                if f.endswith(".o")] if os.path.isdir(d) else []
        if not objs:
            continue
        out = subprocess.run(["nm", "-g"] + objs, capture_output=True,
                             text=True, check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 2 and f[0] == "U":
                uses.setdefault(l, set()).add(f[1])
            elif len(f) == 3 and f[1] in "TDBR":
                defs[f[2]] = l
    bad = []
    for l, syms in uses.items():
        for sym in sorted(syms):
            o = defs.get(sym)
            if o is not None and o != l and rank[o] > rank[l]:
                bad.append(f"lib/{l} uses {sym} of lib/{o}, which comes after it")
    return bad, len(uses)


def main():
    args = sys.argv[1:]
    build = None
    if args[:1] == ["--objects"]:
        build, args = args[1], args[2:]
    root = args[0] if args else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    order = lib_order(root)
    rank = {l: i for i, l in enumerate(order)}
    owner = {}                       # header name -> library
    files = list(sources(root))
    for p in files:
        parts = os.path.relpath(p, root).split(os.sep)
        if parts[0] == "lib" and len(parts) == 3:
            owner[parts[2]] = parts[1]
    graph, bad, edges = {}, [], 0
    for p in files:
        rel = os.path.relpath(p, root)
        parts = rel.split(os.sep)
        name = os.path.basename(p)
        incs = INCLUDE.findall(open(p, errors="replace").read())
        edges += len(incs)
        if name.endswith((".h", ".def")):
            graph.setdefault(name, set()).update(
                i for i in incs if i.endswith((".h", ".def")))
        if parts[0] != "lib" or len(parts) != 3:
            continue
        me = parts[1]
        for i in incs:
            lib = owner.get(os.path.basename(i))
            if lib is not None and lib != me and rank[lib] > rank[me]:
                bad.append(f"{rel}: includes {i} of lib/{lib}, "
                           f"which lib/meson.build lists after lib/{me}")
    cycles = scc(graph)
    for c in cycles:
        print("include cycle: " + " -> ".join(c))
    for b in bad:
        print("upward include: " + b)
    lcore = check_lcore(root, order)
    for b in lcore:
        print("lcore: " + b)
    linked, n_libs = [], 0
    if build is not None:
        linked, n_libs = check_objects(build, order)
        for b in linked:
            print("upward call: " + b)
    if cycles or bad or lcore or linked:
        return 1
    print(f"includes: {len(files)} files, {edges} #include \"...\" lines, "
          f"{len(graph)} headers: no cycle; {len(order)} libraries: every "
          f"include goes down lib/meson.build's order; struct sl_lcore names "
          f"no type above lib/net")
    if build is not None:
        print(f"objects: {n_libs} libraries' symbols: no call goes up the order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
