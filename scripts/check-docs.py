#!/usr/bin/env python3
# check-docs.py - the admin guide's links and options.
#
#   scripts/check-docs.py [SRCDIR]
#
# Fails (exit 1, one line per problem) when a relative link in README.md or
# docs/*.md (also docs/*/*.md) points at a file that does not exist, or when
# docs/configuration.md describes an option that src/util/config.c does not
# have.  Links to web addresses, mail addresses and anchors within the same
# page are not checked; a link "page.md#part" is checked for page.md only.
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
src = os.path.abspath(src)
problems = []

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def pages():
    yield os.path.join(src, "README.md")
    for root, _dirs, files in os.walk(os.path.join(src, "docs")):
        for f in sorted(files):
            if f.endswith(".md"):
                yield os.path.join(root, f)


def check_links(path):
    infence = False
    with open(path, encoding="utf-8") as fp:
        for n, line in enumerate(fp, 1):
            if FENCE.match(line):
                infence = not infence
                continue
            if infence:
                continue
            # inline code is not a link: `a](b)` in a code span
            line = re.sub(r"`[^`]*`", "", line)
            for m in LINK.finditer(line):
                target = m.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
                    continue
                target = target.split("#", 1)[0].split("?", 1)[0]
                full = os.path.normpath(os.path.join(os.path.dirname(path), target))
                if not os.path.exists(full):
                    problems.append("%s:%d: broken link %s" %
                                    (os.path.relpath(path, src), n, m.group(1)))


def check_options():
    with open(os.path.join(src, "src/util/config.c"), encoding="utf-8") as fp:
        code = fp.read()
    known = set(re.findall(r"\bOPT(?:_ENUM)?\(\s*([a-z0-9_]+)\s*,", code))
    known.discard("n")			# the macro definitions themselves
    if len(known) < 10:
        problems.append("src/util/config.c: found only %d options: the checker is out of date"
                        % len(known))
    doc = os.path.join(src, "docs/configuration.md")
    documented = set()
    with open(doc, encoding="utf-8") as fp:
        for n, line in enumerate(fp, 1):
            m = re.match(r"^\|\s*`([^`]+)`\s*\|", line)
            if not m:
                continue
            name = m.group(1)
            documented.add(name)
            if name in known or re.fullmatch(r"score\.NAME", name):
                continue
            problems.append("docs/configuration.md:%d: option %s is not in src/util/config.c"
                            % (n, name))
    for name in sorted(known - documented):
        problems.append("docs/configuration.md: option %s of src/util/config.c is not described"
                        % name)


for p in pages():
    check_links(p)
check_options()
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
