#!/bin/sh
# test_learn_calibrate.sh - "sekisho learn --calibrate": the probability
# scale of the classifier is fitted on held-out labelled mail and stored
# with the model; what cannot be fitted is refused and leaves the model as
# it was.  Messages are generated here: spam about pills and prizes, ham
# about meetings and builds, each with a few words of its own.
. "$(dirname "$0")/lib.sh"

[ -x "$SEKISHO" ] || skip "no $SEKISHO"
S="$SEKISHO -o state_dir=$T/state"

# mk DIR KIND N: N messages of one kind
mk() {
	mkdir -p "$1"
	i=0
	while [ $i -lt "$3" ]; do
		if [ "$2" = spam ]; then
			words="cheap pills prize winner claim now offer casino bonus"
			from="promo$i@offers$((i % 7)).example.net"
		else
			words="meeting agenda build release review patch minutes schedule"
			from="dev$((i % 5))@team.example.org"
		fi
		printf 'From: %s\nTo: user@example.org\nSubject: %s %s\nMessage-ID: <%s%d@x>\n\n%s w%d%s x%d\n' \
		    "$from" "$2" "$i" "$2" "$i" "$words" "$i" "$2" "$((i * 7 % 13))" >"$1/$2-$i.eml"
		i=$((i + 1))
	done
}
mk "$T/learn" spam 40
mk "$T/learn" ham 40
mk "$T/held" spam 30
mk "$T/held" ham 30
for f in "$T"/learn/*.eml; do
	case $f in *spam-*) echo "spam	$f" ;; *) echo "ham	$f" ;; esac
done >"$T/learn.tsv"
for f in "$T"/held/*.eml; do
	case $f in *spam-*) echo "spam	$f" ;; *) echo "ham	$f" ;; esac
done >"$T/held.tsv"
head -5 "$T/held.tsv" >"$T/few.tsv"

$S learn --list "$T/learn.tsv" >"$T/learn.log" 2>&1 || fail "learn failed"
$S learn --stats >"$T/stats0.log" 2>&1
check "a new model carries the default scaling" grep -q "calibration 1.780 \* margin -0.230" "$T/stats0.log"

$S learn --calibrate --list "$T/few.tsv" >"$T/few.log" 2>&1
rc=$?
check "five messages are too few: refused" sh -c "[ $rc = 1 ] && grep -q 'cannot calibrate' '$T/few.log'"
$S learn --stats >"$T/stats1.log" 2>&1
check "a refused fit leaves the model as it was" cmp -s "$T/stats0.log" "$T/stats1.log"

$S learn --calibrate --list "$T/held.tsv" >"$T/cal.log" 2>&1 || fail "calibrate failed: $(cat "$T/cal.log")"
check "the fit is printed" grep -q "^calibration: p = sigmoid(" "$T/cal.log"
$S learn --stats >"$T/stats2.log" 2>&1
check "the fit is stored with the model" sh -c "! cmp -s '$T/stats0.log' '$T/stats2.log' &&
    grep -q 'calibration' '$T/stats2.log'"
# the stored A, B are those printed (4 decimals there, 3 in --stats: compare
# the numbers, not the strings, which round twice)
a=$(sed -n 's/^calibration: p = sigmoid(\([0-9.]*\) \* margin \([-+][0-9.]*\)).*/\1/p' "$T/cal.log")
b=$(sed -n 's/.*calibration \([0-9.]*\) \* margin.*/\1/p' "$T/stats2.log")
check "the stored slope is the fitted one ($a, $b)" awk -v a="$a" -v b="$b" \
    'BEGIN { d = a - b; exit !(a != "" && b != "" && d < 0.0006 && d > -0.0006) }'

# classify prints the calibrated probability: spam high, ham low
$S learn --classify --list "$T/held.tsv" >"$T/cls.out" 2>/dev/null
check "held-out spam scores above held-out ham" awk -F'\t' '
    $1 == "spam" && $3 > maxs { maxs = $3 } $1 == "spam" && (mins == "" || $3 < mins) { mins = $3 }
    $1 == "ham" && $3 > maxh { maxh = $3 }
    END { exit !(mins > maxh) }' "$T/cls.out"

# --explain takes a message's margin apart: a held-out spam is BAYES_SPAM
# for its spam words; the shares, the rest and the bias add up to the margin
$S learn --explain "$T/held/spam-3.eml" >"$T/explain.out" 2>"$T/explain.err" ||
    fail "explain failed: $(cat "$T/explain.err")"
check "explain names the verdict" grep -q "spam probability 0\.9[0-9]*: BAYES_SPAM" "$T/explain.out"
check "a spam word is among the strongest towards spam" sh -c "sed -n '/towards spam/,/towards ham/p' '$T/explain.out' |
    grep -Eq '[+][0-9.]+  (b|s):(cheap|pills|prize|winner|claim|offer|casino|bonus|spam)\$'"
check "the shares add up to the margin" awk '
    /^  margin/ { m = $2 + 0 }
    /^    [-+][0-9]/ { s += $1 }
    /^  the other features/ { s += $4 + 0; s += $6 + 0 }
    END { d = s - m; exit !(m > 0 && d < 0.002 && d > -0.002) }' "$T/explain.out"
check "explain learns nothing" sh -c "$S learn --stats 2>&1 | cmp -s - '$T/stats2.log'"

# a delivered copy (a user's Junk folder) is learned as sekisho scanned it:
# without its X-Sekisho-Result, its Authentication-Results and the subject
# tag, it is the same message (one digest), and forgetting either undoes it
D="$SEKISHO -o state_dir=$T/state-delivered -o myhostname=gw.sekisho.test"
printf 'From: x@offers.example.net\nSubject: [SPAM] cheap prize\nX-Sekisho-Result: action=tag; score=6.10; symbols=BAYES_SPAM(6.10)\nAuthentication-Results: gw.sekisho.test; spf=none\nMessage-ID: <d1@x>\n\ncheap prize now\n' \
    >"$T/delivered.eml"
printf 'From: x@offers.example.net\r\nSubject: cheap prize\r\nMessage-ID: <d1@x>\r\n\r\ncheap prize now\r\n' \
    >"$T/scanned.eml"
$D learn --spam "$T/delivered.eml" >/dev/null 2>&1 || fail "learn the delivered copy"
$D learn --spam "$T/scanned.eml" 2>"$T/again.log" >/dev/null
check "the scanned message is the delivered copy, already learned" \
    grep -q "1 messages: 0 learned, 0 relabelled, 1 already known" "$T/again.log"
$D learn --forget "$T/scanned.eml" 2>"$T/forget.log" >/dev/null
check "and forgetting it undoes the delivered copy's learn" \
    grep -q "1 messages: 1 forgotten, 0 forgotten inexactly, 0 never learned" "$T/forget.log"

$S learn --calibrate "$T/held/spam-1.eml" >/dev/null 2>&1
rc=$?
check "--calibrate needs a labelled --list (usage)" [ "$rc" = 2 ]

finish
