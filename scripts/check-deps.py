#!/usr/bin/env python3
# check-deps.py - which module includes which, against DESIGN's direction.
#
#   scripts/check-deps.py [--strict] [SRCDIR]
#
# Reads every '#include "module/file.h"' in src/*/*.[ch] and prints, per
# module, the other modules it includes; then each include that goes
# against  util <- store <- message <- detect <- policy <-
# queue/outbound/account/notify <- smtp/http <- cmd  (a module may include
# only modules of a lower rank; the same rank is listed as "sideways").
# Exit 0, or with --strict 1 when an include goes against the direction
# (tests/integration/test_layering.sh keeps the tree that way;
# docs/architecture.md, "Dependencies").
import collections
import glob
import os
import re
import sys

args = sys.argv[1:]
strict = "--strict" in args
args = [a for a in args if a != "--strict"]
src = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
rank = {"util": 0, "store": 1, "message": 2, "detect": 3, "policy": 4,
        "queue": 5, "outbound": 5, "account": 5, "notify": 5,
        "smtp": 6, "http": 6, "cmd": 7}
edges = collections.defaultdict(set)
against, sideways = [], []
for path in sorted(glob.glob(os.path.join(src, "src/*/*.[ch]"))):
    mod = path.split(os.sep)[-2]
    with open(path, encoding="utf-8", errors="replace") as fp:
        for n, line in enumerate(fp, 1):
            m = re.match(r'\s*#\s*include\s+"([a-z]+)/([^"]+)"', line)
            if not m or m.group(1) == mod:
                continue
            to = m.group(1)
            edges[mod].add(to)
            rel = "%s:%d: %s" % (os.path.relpath(path, src), n, line.strip())
            if mod not in rank or to not in rank:
                against.append(rel + "   (module not ranked)")
            elif rank[to] > rank[mod]:
                against.append(rel)
            elif rank[to] == rank[mod]:
                sideways.append(rel)
for mod in sorted(edges, key=lambda m: (rank.get(m, 9), m)):
    print("%-9s -> %s" % (mod, " ".join(sorted(edges[mod]))))
print("\nagainst the direction:")
for a in against:
    print("  " + a)
print("\nsideways (same rank):")
for s in sideways:
    print("  " + s)
if strict and against:
    sys.exit(1)
