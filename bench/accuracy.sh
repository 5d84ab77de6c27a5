#!/bin/sh
# accuracy.sh - sekisho's learning classifier against bogofilter, SpamAssassin
# and Rspamd on the same messages: one command, one table.
#
#   bench/accuracy.sh                      the fixed split of the SpamAssassin corpus
#   bench/accuracy.sh --ham DIR --spam DIR a seeded 70/30 split of any labelled pair
#   options: --filters sekisho,bogofilter,spamassassin,rspamd (default: all)
#            --no-online   skip sekisho's chronological online run
#            --out DIR     keep the scores there (default: a temporary directory)
#            --seed N      the seed of the --ham/--spam split (default 1)
#
# Each filter learns the training messages, then classifies the test
# messages; metrics.py prints false-positive and false-negative rates at each
# filter's default threshold, ROC AUC, (1-ROCA)% and speeds (msg/s, wall
# clock).  sekisho-online is the TREC-style run: every message in Date order,
# classified and then learned (on or near error).  Peers run locally with
# network tests off; Rspamd gets a Redis of its own on a free loopback port.
# The peers are Debian packages: BENCH=1 scripts/install-deps.sh installs them.
# See bench/accuracy/README.md for what each column means and the results.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/scripts/net.sh"
CORPUS=${CORPUS:-$(cd "$SRC/.." && pwd)/shared/corpus}
BUILD=${BUILD:-$SRC/build-release}
FILTERS=sekisho,bogofilter,spamassassin,rspamd
ONLINE=1
HAM= SPAM= OUT= SEED=1

while [ $# -gt 0 ]; do
	case $1 in
	--ham) HAM=$2; shift ;;
	--spam) SPAM=$2; shift ;;
	--filters) FILTERS=$2; shift ;;
	--no-online) ONLINE=0 ;;
	--out) OUT=$2; shift ;;
	--seed) SEED=$2; shift ;;
	*) echo "usage: $0 [--ham DIR --spam DIR] [--filters LIST] [--no-online] [--out DIR] [--seed N]" >&2
	   exit 2 ;;
	esac
	shift
done

if [ -z "$OUT" ]; then
	OUT=$(mktemp -d /tmp/sekisho-accuracy.XXXXXX)
fi
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/sekisho-accuracy-work.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
[ -n "${KEEP_WORK:-}" ] && echo "work: $WORK" >&2
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
has() { case ",$FILTERS," in *",$1,"*) return 0 ;; esac; return 1; }
# ---- the messages: train.tsv, test.tsv, chrono.tsv (label<TAB>absolute path) ----
if [ -n "$HAM$SPAM" ]; then
	[ -d "$HAM" ] && [ -d "$SPAM" ] || { echo "accuracy: --ham and --spam need directories" >&2; exit 2; }
	python3 - "$HAM" "$SPAM" "$SEED" "$WORK" <<'EOF'
import os, random, sys
ham, spam, seed, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def files(d):
    out = []
    for root, dirs, names in os.walk(d):
        dirs.sort()
        out += [os.path.abspath(os.path.join(root, n)) for n in sorted(names) if not n.startswith(".")]
    return out
rows = [("ham", p) for p in files(ham)] + [("spam", p) for p in files(spam)]
random.Random(seed).shuffle(rows)
cut = int(len(rows) * 0.7)
for name, part in (("train", rows[:cut]), ("test", rows[cut:]), ("all", rows)):
    with open(os.path.join(work, name + ".tsv"), "w") as fp:
        fp.writelines("%s\t%s\n" % r for r in part)
EOF
else
	for s in train test all; do
		awk -F'\t' -v c="$CORPUS" '{ print $1 "\t" c "/" $2 }' \
		    "$CORPUS/splits/spamassassin-$s.tsv" > "$WORK/$s.tsv"
	done
fi
# Date order for the online run (undated messages keep their place at the end).
python3 - "$WORK/all.tsv" "$WORK/chrono.tsv" <<'EOF'
import email.parser, email.utils, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if "\t" in l]
def when(path):
    try:
        with open(path, "rb") as fp:
            h = email.parser.BytesHeaderParser().parse(fp)
        d = email.utils.parsedate_to_datetime(h.get("Date", ""))
        return d.timestamp()
    except Exception:
        return float("inf")
keyed = sorted(((when(p), i, l, p) for i, (l, p) in enumerate(rows)), key=lambda t: (t[0], t[1]))
with open(sys.argv[2], "w") as fp:
    fp.writelines("%s\t%s\n" % (l, p) for _, _, l, p in keyed)
EOF
awk -F'\t' '$1 == "spam" { print $2 }' "$WORK/train.tsv" > "$WORK/train.spam"
awk -F'\t' '$1 == "ham" { print $2 }' "$WORK/train.tsv" > "$WORK/train.ham"
cut -f2 "$WORK/test.tsv" > "$WORK/test.paths"
cut -f1 "$WORK/test.tsv" > "$WORK/test.labels"
NTRAIN=$(wc -l < "$WORK/train.tsv")
NTEST=$(wc -l < "$WORK/test.tsv")
echo "accuracy: $NTRAIN training and $NTEST test messages; scores in $OUT" >&2

# ---- sekisho ----
if has sekisho; then
	if [ ! -x "$BUILD/sekisho" ]; then
		cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
		cmake --build "$BUILD" -j2 --target sekisho >/dev/null
	fi
	S="$BUILD/sekisho -o state_dir=$WORK/sekisho"
	t0=$(now)
	$S learn --list "$WORK/train.tsv" 2>"$OUT/sekisho.log" >/dev/null
	t1=$(now)
	$S learn --classify --list "$WORK/test.tsv" 2>>"$OUT/sekisho.log" > "$WORK/sekisho.out"
	t2=$(now)
	# verdict: calibrated spam probability >= bayes_spam_threshold (0.9): BAYES_SPAM
	awk -F'\t' '{ print $1 "\t" $2 "\t" ($3 >= 0.9 ? 1 : 0) }' "$WORK/sekisho.out" > "$OUT/sekisho.scores"
	echo "$NTRAIN $(elapsed "$t0" "$t1") $NTEST $(elapsed "$t1" "$t2")" > "$OUT/sekisho.times"
	tlearn=$(elapsed "$t0" "$t1")
	# sekisho-scan: the whole product with that model, as a site runs it --
	# every check (network off, like the peers), the default scores and
	# actions; flagged = tag, quarantine or reject.  The archives are
	# years old: HDR_DATE_OLD is zeroed, as in bench/phish.sh.
	mkdir -p "$WORK/scan-in"
	awk '{ printf "%s\t%06d\n", $0, NR }' "$WORK/test.paths" |
	    while IFS='	' read -r p n; do ln -s "$p" "$WORK/scan-in/$n"; done
	t1=$(now)
	$S -o network_checks=no -o score.HDR_DATE_OLD=0 scan --json "$WORK/scan-in" \
	    > "$WORK/scan.json" 2>>"$OUT/sekisho.log" || true
	t2=$(now)
	python3 - "$WORK/scan.json" "$WORK/test.labels" > "$OUT/sekisho-scan.scores" <<'PY'
import json, os, sys
labels = [l.strip() for l in open(sys.argv[2])]
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    n = int(os.path.basename(r["file"])) - 1
    flagged = r["action"] in ("tag", "quarantine", "reject")
    print("%s\t%.6f\t%d" % (labels[n], r["score"], flagged))
PY
	echo "$NTRAIN $tlearn $NTEST $(elapsed "$t1" "$t2")" > "$OUT/sekisho-scan.times"
	if [ "$ONLINE" = 1 ]; then
		NALL=$(wc -l < "$WORK/chrono.tsv")
		t0=$(now)
		$BUILD/sekisho -o state_dir="$WORK/online" learn --online --list "$WORK/chrono.tsv" \
		    2>>"$OUT/sekisho.log" > "$WORK/online.out"
		t1=$(now)
		awk -F'\t' '$1 != "-" { print $1 "\t" $2 "\t" ($3 >= 0.9 ? 1 : 0) }' "$WORK/online.out" \
		    > "$OUT/sekisho-online.scores"
		echo "$NALL $(elapsed "$t0" "$t1") 0 0" > "$OUT/sekisho-online.times"
	fi
	echo "accuracy: sekisho done" >&2
fi

# ---- bogofilter (Robinson-Fisher Bayes; its default cut-offs) ----
if has bogofilter; then
	B="bogofilter -d $WORK/bogofilter"
	mkdir -p "$WORK/bogofilter"
	t0=$(now)
	xargs $B -s -B < "$WORK/train.spam"
	xargs $B -n -B < "$WORK/train.ham"
	t1=$(now)
	# -t with a precise format keeps the ranking that "%f" would flatten at 0 and 1
	# (bogofilter cuts its terse line at about 20 characters)
	xargs $B -t -B --terse-format="%1.1c %.10e" < "$WORK/test.paths" > "$WORK/bogofilter.out" || true
	t2=$(now)
	paste "$WORK/test.labels" "$WORK/bogofilter.out" |
	    awk -F'[\t ]' '{ print $1 "\t" $3 "\t" ($2 == "S" ? 1 : 0) }' > "$OUT/bogofilter.scores"
	echo "$NTRAIN $(elapsed "$t0" "$t1") $NTEST $(elapsed "$t1" "$t2")" > "$OUT/bogofilter.times"
	echo "accuracy: bogofilter done" >&2
fi

# ---- SpamAssassin (rules + Bayes, local tests only, spamd with 2 children) ----
if has spamassassin; then
	SA="$WORK/sa"
	mkdir -p "$SA/etc" "$SA/bayes"
	cp /etc/spamassassin/*.pre /etc/spamassassin/*.cf "$SA/etc/" 2>/dev/null || true
	cat >> "$SA/etc/local.cf" <<EOF
use_bayes 1
bayes_auto_learn 0
bayes_auto_expire 0
bayes_path $SA/bayes/bayes
bayes_file_mode 0777
use_razor2 0
use_pyzor 0
skip_rbl_checks 1
EOF
	t0=$(now)
	sa-learn --siteconfigpath="$SA/etc" --spam -f "$WORK/train.spam" >/dev/null 2>>"$OUT/spamassassin.log"
	sa-learn --siteconfigpath="$SA/etc" --ham -f "$WORK/train.ham" >/dev/null 2>>"$OUT/spamassassin.log"
	t1=$(now)
	chmod -R a+rwX "$SA"
	chmod a+rx "$WORK"		# spamd's children run as nobody
	PORT=$(free_port)
	spamd -L -x --siteconfigpath="$SA/etc" -i 127.0.0.1 -p "$PORT" -m 2 -u nobody \
	    --pidfile "$SA/spamd.pid" -s "$SA/spamd.log" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	up=0
	for i in $(seq 1 120); do
		if spamc -d 127.0.0.1 -p "$PORT" -K >/dev/null 2>&1; then up=1; break; fi
		sleep 0.5
	done
	if [ "$up" = 0 ]; then
		echo "accuracy: spamd did not start (see $OUT/spamassassin.log)" >&2
		cp "$SA/spamd.log" "$OUT/spamassassin.log" 2>/dev/null || true
		exit 1
	fi
	tc=$(now)
	export PORT
	xargs -P 2 -I{} sh -c 'printf "%s\t%s\n" "$1" "$(spamc -d 127.0.0.1 -p $PORT -c < "$1")"' _ {} \
	    < "$WORK/test.paths" > "$WORK/sa.out" || true
	t2=$(now)
	# spamc -c prints "score/threshold"; 5.0 is the default threshold
	awk -F'\t' 'NR == FNR { label[$2] = $1; next }
	    { split($2, a, "/"); print label[$1] "\t" a[1] "\t" (a[1] + 0 >= a[2] + 0 ? 1 : 0) }' \
	    "$WORK/test.tsv" "$WORK/sa.out" > "$OUT/spamassassin.scores"
	echo "$NTRAIN $(elapsed "$t0" "$t1") $NTEST $(elapsed "$tc" "$t2")" > "$OUT/spamassassin.times"
	kill "$(cat "$SA/spamd.pid")" 2>/dev/null || true
	echo "accuracy: spamassassin done" >&2
fi

# ---- Rspamd (rules + Bayes in a Redis of its own; network modules off) ----
if has rspamd; then
	sh "$SRC/bench/accuracy/rspamd.sh" "$WORK" "$OUT"
	echo "accuracy: rspamd done" >&2
fi

python3 "$SRC/bench/accuracy/metrics.py" "$OUT" sekisho,sekisho-scan,sekisho-online,bogofilter,spamassassin,rspamd
