#!/bin/sh
# test_docs_links.sh - the admin guide's relative links resolve and
# docs/configuration.md describes only options that src/util/config.c has
# (scripts/check-docs.py).  The checker is first shown to catch a broken
# link and an unknown option in a copy of the guide, so that a checker
# that finds nothing cannot pass.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
CHECK="$SRC/scripts/check-docs.py"

# the real guide
if out=$(python3 "$CHECK" "$SRC" 2>&1); then
	ok "README.md and docs/*.md: links resolve, options exist"
else
	echo "$out" | sed 's/^/# /'
	fail "README.md and docs/*.md: links resolve, options exist"
fi

# a copy with one broken link and one option config.c does not have
mkdir -p "$T/copy/src/util"
cp -R "$SRC/docs" "$T/copy/docs"
cp "$SRC/README.md" "$T/copy/README.md"
cp "$SRC/src/util/config.c" "$T/copy/src/util/config.c"
python3 "$CHECK" "$T/copy" >/dev/null 2>&1 && ok "the copy passes before it is broken" ||
	fail "the copy passes before it is broken"

printf '\nSee [nowhere](no-such-page.md#part).\n' >>"$T/copy/docs/architecture.md"
out=$(python3 "$CHECK" "$T/copy" 2>&1)
case $out in
*"docs/architecture.md:"*"broken link no-such-page.md#part"*) ok "a broken link is reported" ;;
*) echo "# $out"; fail "a broken link is reported" ;;
esac

printf '| `no_such_option` | `1` | made up | 架空 |\n' >>"$T/copy/docs/configuration.md"
out=$(python3 "$CHECK" "$T/copy" 2>&1)
case $out in
*"option no_such_option is not in src/util/config.c"*) ok "an unknown option is reported" ;;
*) echo "# $out"; fail "an unknown option is reported" ;;
esac

# an option in config.c that the page does not describe
grep -v '^| `hold_time`' "$SRC/docs/configuration.md" >"$T/copy/docs/configuration.md"
out=$(python3 "$CHECK" "$T/copy" 2>&1)
case $out in
*"option hold_time of src/util/config.c is not described"*) ok "an undescribed option is reported" ;;
*) echo "# $out"; fail "an undescribed option is reported" ;;
esac

finish
