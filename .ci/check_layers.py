#!/usr/bin/env python3
"""Fails when a source file includes a header from a layer above its own, or
when two file pairs (x.hpp + x.cpp) include each other, directly or round
a cycle; prints each offence.

Layers, lowest first (daemon/meson.build builds each as a library that links
only the ones below it):
    proto < engine < watch < bus < server < cluster < service
client/ may use proto, engine and watch (standalone mode), never server or
service. Usage: check_layers.py [SOURCE_ROOT]
"""
import os
import re
import sys

ORDER = ["proto", "engine", "watch", "bus", "server", "cluster", "service"]
RANK = {name: i for i, name in enumerate(ORDER)}
CLIENT_MAY_USE = {"proto", "engine", "watch", "client"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    """The layer a project path belongs to, or None outside the layered tree."""
    parts = path.split("/")
    if parts[0] == "proto":
        return "proto"
    if parts[0] == "client":
        return "client"
    if parts[0] == "daemon" and len(parts) > 2 and parts[1] in RANK:
        return parts[1]
    return None


def sources(root):
    for top in ("proto", "daemon", "client"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if name.endswith((".hpp", ".cpp", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def allowed(src_layer, dst_layer):
    if dst_layer is None:
        return True
    if src_layer == "client":
        return dst_layer in CLIENT_MAY_USE
    if dst_layer == "client":
        return False
    return RANK[dst_layer] <= RANK[src_layer]


def find_cycles(graph):
    """Include cycles between file pairs (each found once, as a list of paths)."""
    cycles, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = 0
    graph = {}
    checked = 0
    for path in sources(root):
        src_layer = layer_of(path)
        if path.startswith("daemon/") and src_layer is None:
            print(f"{path}: not in a layer folder (daemon/{{{','.join(ORDER[1:])}}}/)")
            problems += 1
            continue
        checked += 1
        with open(os.path.join(root, path), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                # A file pair (x.hpp + x.cpp) is one node: a cycle through
                # a .cpp ties the two concepts together as much as one
                # through headers.
                here, there = os.path.splitext(path)[0], os.path.splitext(target)[0]
                if there != here and layer_of(target) is not None:
                    graph.setdefault(here, set()).add(there)
                dst_layer = layer_of(target)
                if target.startswith("daemon/") and dst_layer is None:
                    print(f"{path}:{number}: includes {target}, which is in no layer: {line.strip()}")
                    problems += 1
                elif not allowed(src_layer, dst_layer):
                    print(f"{path}:{number}: {src_layer} includes from {dst_layer} "
                          f"(higher layer): {line.strip()}")
                    problems += 1
    for cycle in find_cycles(graph):
        print("include cycle: " + " -> ".join(cycle))
        problems += 1
    if problems:
        print(f"layer check: {problems} problem(s) in {checked} files")
        return 1
    print(f"layer check: {checked} files, no upward include, no include cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
