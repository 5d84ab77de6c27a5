#!/usr/bin/env python3
# check-docs.py - the admin guide's links and options.
#
#   scripts/check-docs.py [--sekisho BUILD/sekisho] [SRCDIR]
#
# Fails (exit 1, one line per problem) when a relative link in README.md or
# docs/*.md (also docs/*/*.md) points at a file that does not exist, or when
# docs/configuration.md describes an option that src/util/config.c does not
# have, or has one it does not describe.  Links to web addresses and mail
# addresses are not checked.  An anchor ("page.md#part", "#part") must be
# the slug of a heading of that page, made as GitHub makes it: lower case,
# every character but letters, digits, "_", "-" and spaces dropped, spaces
# turned into "-", "-1", "-2"... added to repeated ones.
#
# With --sekisho, the commands the quick start and README.md show are
# checked too: every ```conf block of docs/quickstart.md must pass
# `sekisho -c FILE config check` (so each option shown exists), and every
# `sekisho COMMAND [SUB]` in their shell blocks must be a command (and
# subcommand) that the program's usage lists.
import os
import re
import subprocess
import sys
import tempfile

args = sys.argv[1:]
sekisho = None
if len(args) >= 2 and args[0] == "--sekisho":
    sekisho = args[1]
    args = args[2:]
src = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
problems = []

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def pages():
    yield os.path.join(src, "README.md")
    for root, _dirs, files in os.walk(os.path.join(src, "docs")):
        for f in sorted(files):
            if f.endswith(".md"):
                yield os.path.join(root, f)


def slugs(path):
    out, seen, infence = set(), {}, False
    with open(path, encoding="utf-8") as fp:
        for line in fp:
            if FENCE.match(line):
                infence = not infence
                continue
            m = None if infence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if not m:
                continue
            text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", lambda x: x.group(1) or "", m.group(1))
            slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else "%s-%d" % (slug, n))
    return out


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
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                    continue
                target, _, frag = target.partition("#")
                target = target.split("?", 1)[0]
                full = os.path.normpath(os.path.join(os.path.dirname(path), target)) \
                    if target else path
                if not os.path.exists(full):
                    problems.append("%s:%d: broken link %s" %
                                    (os.path.relpath(path, src), n, m.group(1)))
                elif frag and full.endswith(".md") and frag not in slugs(full):
                    problems.append("%s:%d: broken anchor %s" %
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


def blocks(path, kinds):
    """(line, text) of each fenced block whose info string is in kinds."""
    out, cur, start, kind = [], None, 0, None
    with open(path, encoding="utf-8") as fp:
        for n, line in enumerate(fp, 1):
            m = FENCE.match(line)
            if m and cur is None:
                kind = line.strip()[3:].strip()
                cur, start = [], n + 1
            elif m:
                if kind in kinds:
                    out.append((start, "".join(cur)))
                cur = None
            elif cur is not None:
                cur.append(line)
    return out


def usage_commands(binary):
    """{command: text of its usage lines} from the program's usage."""
    text = subprocess.run([binary], capture_output=True, text=True).stderr
    cmds, last = {}, None
    for line in text.splitlines():
        m = re.match(r"^  ([a-z][a-z-]*)(\s.*)?$", line)
        if m:
            last = m.group(1)
            cmds[last] = cmds.get(last, "") + " " + (m.group(2) or "")
        elif last and re.match(r"^\s+\|", line):
            cmds[last] += " " + line
    return cmds


def check_commands(binary):
    cmds = usage_commands(binary)
    if len(cmds) < 5:
        problems.append("%s: no usage to check commands against" % binary)
        return
    for page in ("docs/quickstart.md", "README.md"):
        path = os.path.join(src, page)
        for start, text in blocks(path, ("sh",)):
            for i, line in enumerate(text.splitlines()):
                line = re.sub(r"-u\s+sekisho\b", "", line)	# sudo -u sekisho
                m = re.search(r"(?:^|[\s/])sekisho((?:\s+(?:-[co]\s+\S+))*)\s+([a-z][a-z-]*)"
                              r"(?:\s+([a-z][a-z-]*))?", line)
                if not m:
                    continue
                cmd, sub = m.group(2), m.group(3)
                where = "%s:%d" % (page, start + i)
                if cmd not in cmds:
                    problems.append("%s: sekisho has no command '%s'" % (where, cmd))
                elif sub and not re.search(r"\b%s\b" % re.escape(sub), cmds[cmd]):
                    problems.append("%s: 'sekisho %s' has no '%s'" % (where, cmd, sub))
    qs = os.path.join(src, "docs/quickstart.md")
    for start, text in blocks(qs, ("conf",)):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(text)
        r = subprocess.run([binary, "-c", f.name, "config", "check"],
                           capture_output=True, text=True)
        os.unlink(f.name)
        if r.returncode != 0:
            problems.append("docs/quickstart.md:%d: config check: %s" %
                            (start, (r.stdout + r.stderr).strip().replace(f.name, "block")))


for p in pages():
    check_links(p)
check_options()
if sekisho:
    check_commands(sekisho)
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
