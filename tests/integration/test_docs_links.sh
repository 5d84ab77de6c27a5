#!/bin/sh
# test_docs_links.sh - the admin guide's relative links resolve,
# docs/configuration.md describes exactly the options of src/util/config.c,
# and the quick start's config blocks and `sekisho` commands exist in the
# built program (scripts/check-docs.py).  The checker is also shown to catch
# each kind of mistake in a copy of the guide, so that a checker that finds
# nothing cannot pass.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
CHECK="$SRC/scripts/check-docs.py"

# the real guide; the commands too when sekisho is built
WITH=""
[ -x "$SEKISHO" ] && WITH="--sekisho $SEKISHO"
# shellcheck disable=SC2086 # WITH is two words or none
if out=$(python3 "$CHECK" $WITH "$SRC" 2>&1); then
	ok "README.md and docs/*.md: links resolve, options exist${WITH:+, commands exist}"
else
	echo "$out" | sed 's/^/# /'
	fail "README.md and docs/*.md: links resolve, options exist${WITH:+, commands exist}"
fi

# a copy with one broken link and one option config.c does not have
mkdir -p "$T/copy/src/util" "$T/copy/bench"
cp -R "$SRC/docs" "$T/copy/docs"
cp -R "$SRC/contrib" "$SRC/scripts" "$T/copy/"
cp "$SRC/bench/README.md" "$T/copy/bench/README.md"
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

printf '\nSee [a part](policy.md#no-such-part) and [this](#actions--アクション).\n' >>"$T/copy/docs/index.md"
out=$(python3 "$CHECK" "$T/copy" 2>&1)
case $out in
*"docs/index.md:"*"broken anchor policy.md#no-such-part"*"broken anchor #actions--アクション"*)
	ok "broken anchors are reported" ;;
*) echo "# $out"; fail "broken anchors are reported" ;;
esac
cp "$SRC/docs/architecture.md" "$T/copy/docs/architecture.md"
printf '\nSee [actions](policy.md#actions--アクション).\n' >"$T/copy/docs/index.md"
python3 "$CHECK" "$T/copy" >/dev/null 2>&1 && ok "a good anchor passes" || fail "a good anchor passes"

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

# the quick start's commands and config blocks (needs the built sekisho)
if [ -x "$SEKISHO" ]; then
	cp "$SRC/docs/configuration.md" "$T/copy/docs/configuration.md"
	sed 's/^sekisho hold list$/sekisho hold lst/' "$SRC/docs/quickstart.md" >"$T/copy/docs/quickstart.md"
	out=$(python3 "$CHECK" --sekisho "$SEKISHO" "$T/copy" 2>&1)
	case $out in
	*"'sekisho hold' has no 'lst'"*) ok "a subcommand sekisho does not have is reported" ;;
	*) echo "# $out"; fail "a subcommand sekisho does not have is reported" ;;
	esac
	sed 's/^hold_time = 5m$/hold_tim = 5m/' "$SRC/docs/quickstart.md" >"$T/copy/docs/quickstart.md"
	out=$(python3 "$CHECK" --sekisho "$SEKISHO" "$T/copy" 2>&1)
	case $out in
	*"config check:"*"unknown option 'hold_tim'"*) ok "an unknown option in a config block is reported" ;;
	*) echo "# $out"; fail "an unknown option in a config block is reported" ;;
	esac
else
	echo "# $SEKISHO is not built: commands not checked"
fi

finish
