#!/bin/sh
# test_learn_order.sh - "sekisho learn" takes what it is given in a shuffled
# order, so the order of a list (or of --spam and --ham) does not lean the
# model towards the kind learned last; spam and ham in one run; an mbox is
# learned and forgotten message by message.
#
# The messages are generated: spam and ham share a few common words and
# each kind has words of its own.  A message of the common words only is
# neutral.  An online model that learned every ham and then every spam would
# put it on the spam side, and the reverse list on the ham side; learned in
# the shuffled order both lists give the same model, up to its hash key.
. "$(dirname "$0")/lib.sh"

[ -x "$SEKISHO" ] || skip "no $SEKISHO"

# mk DIR KIND N
mk() {
	mkdir -p "$1"
	i=0
	while [ $i -lt "$3" ]; do
		if [ "$2" = spam ]; then
			words="cheap pills prize winner casino bonus"
		else
			words="meeting agenda build release review patch"
		fi
		printf 'From: a%d@example.org\nTo: user@example.org\nSubject: hello update\nMessage-ID: <%s%d@x>\n\nhello team update information please see %s %s%d\n' \
		    "$((i % 9))" "$2" "$i" "$words" "$2" "$i" >"$1/$2-$i.eml"
		i=$((i + 1))
	done
}
mk "$T/m" spam 60
mk "$T/m" ham 60
printf 'From: a1@example.org\nTo: user@example.org\nSubject: hello update\nMessage-ID: <n@x>\n\nhello team update information please see\n' \
    >"$T/neutral.eml"
printf 'ham\t%s\n' "$T/neutral.eml" >"$T/neutral.tsv"

for f in "$T"/m/ham-*.eml; do printf 'ham\t%s\n' "$f"; done >"$T/ham.tsv"
for f in "$T"/m/spam-*.eml; do printf 'spam\t%s\n' "$f"; done >"$T/spam.tsv"
cat "$T/ham.tsv" "$T/spam.tsv" >"$T/ham-first.tsv"
cat "$T/spam.tsv" "$T/ham.tsv" >"$T/spam-first.tsv"

margin() {	# margin STATE: the neutral message's margin
	$SEKISHO -o state_dir="$1" learn --classify --list "$T/neutral.tsv" 2>/dev/null | cut -f2
}
$SEKISHO -o state_dir="$T/a" learn --list "$T/ham-first.tsv" >/dev/null 2>&1 || fail "learn a"
$SEKISHO -o state_dir="$T/b" learn --list "$T/spam-first.tsv" >/dev/null 2>&1 || fail "learn b"
ma=$(margin "$T/a")
mb=$(margin "$T/b")
echo "# neutral message: margin $ma (ham first), $mb (spam first)"
check "the order of the list does not move the model ($ma, $mb)" awk -v a="$ma" -v b="$mb" \
    'BEGIN { d = a - b; exit !(a != "" && b != "" && d < 0.05 && d > -0.05) }'

# The same through --spam and --ham in one run.
$SEKISHO -o state_dir="$T/c" learn --spam "$T/m/spam-"*.eml --ham "$T/m/ham-"*.eml \
    >"$T/c.log" 2>&1 || fail "learn --spam --ham: $(cat "$T/c.log")"
$SEKISHO -o state_dir="$T/c" learn --stats >"$T/c.stats" 2>&1
check "--spam and --ham in one run learn both kinds" grep -q "60 spam, 60 ham learned" "$T/c.stats"
mc=$(margin "$T/c")
check "and give the model the list gives ($mc)" awk -v a="$ma" -v c="$mc" \
    'BEGIN { d = a - c; exit !(c != "" && d < 0.05 && d > -0.05) }'

# An mbox: one message at a time, and forgotten exactly.
for i in 0 1 2 3 4; do
	printf 'From x@example.net Mon Jan  1 00:00:00 2024\n'
	printf 'From: x@example.net\nSubject: offer %d\nMessage-ID: <mb%d@x>\n\ncheap pills casino %d\n\n' \
	    "$i" "$i" "$i"
done >"$T/spam.mbox"
$SEKISHO -o state_dir="$T/c" learn --spam "$T/spam.mbox" >"$T/mb.log" 2>&1 || fail "learn mbox"
check "an mbox of five messages is five messages" grep -q "^5 messages: 5 learned" "$T/mb.log"
$SEKISHO -o state_dir="$T/c" learn --forget "$T/spam.mbox" >"$T/fg.log" 2>&1
check "and is forgotten exactly" grep -q "5 forgotten, 0 forgotten inexactly" "$T/fg.log"
$SEKISHO -o state_dir="$T/c" learn --stats >"$T/c.stats2" 2>&1
check "the model is the one before" grep -q "60 spam, 60 ham learned" "$T/c.stats2"

$SEKISHO -o state_dir="$T/c" learn --spam "$T/spam.mbox" --passes 2 >/dev/null 2>&1
rc=$?
check "options after the paths are refused (usage)" [ "$rc" = 2 ]

finish
