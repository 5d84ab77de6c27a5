#!/bin/sh
# test_layering.sh - no module includes one above it: util <- store <-
# message <- detect <- policy <- queue/outbound/account/notify <- smtp/http
# <- cmd (DESIGN; docs/architecture.md, "Dependencies").  Modules above
# plug into those below through interfaces (struct pipeline_ops,
# struct queue_transport).  The checker is also shown to catch an include
# against the direction in a copy of the tree, so that it cannot pass by
# finding nothing.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
CHECK="$SRC/scripts/check-deps.py"

if out=$(python3 "$CHECK" --strict "$SRC" 2>&1); then
	ok "no include against the direction"
else
	echo "$out" | sed -n '/against the direction/,/sideways/p' | sed 's/^/# /'
	fail "includes against the direction"
fi

mkdir -p "$T/tree/src"
cp -R "$SRC/src/policy" "$SRC/src/queue" "$T/tree/src/"
printf '#include "queue/queue.h"\n' >>"$T/tree/src/policy/policy.c"
python3 "$CHECK" --strict "$T/tree" >"$T/bad.out" 2>&1
rc=$?
check "policy including queue is caught" sh -c "[ $rc = 1 ] &&
    grep -q 'src/policy/policy.c:.*queue/queue.h' '$T/bad.out'"

finish
