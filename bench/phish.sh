#!/bin/sh
# bench/phish.sh [BUILD_DIR] - phishing detection rate and false-positive rate.
#
# Scans each set of ../shared/corpus with
#   sekisho -o network_checks=no -o state_dir=<fresh tmp> scan --json DIR
# and counts a message as flagged when its action is tag, quarantine or
# reject (hold is outbound only and never happens here).  Every set gets a
# fresh, empty state directory: no learned classifier, no history, so what
# is measured is the rule-based checks alone.
#
#   phishing   phish/phishing_pot, phish/nazario, japanese/phish-real
#   ham        ham-modern, spamassassin/easy_ham, easy_ham_2, hard_ham,
#              japanese/ham-synthetic
#   labelled   japanese/risky-synthetic: per file, the action and the
#              symbols found, next to the category LABELS.tsv gives
#
# The corpora are archives: every message is more than 30 days old, so
# HDR_DATE_OLD would add its 0.5 to every one of them, ham and phishing
# alike, which fresh mail never gets.  The bench sets score.HDR_DATE_OLD=0
# so that the figures are those of mail as it arrives.
#
# The Japanese sets are a synthetic organisation: example.co.jp is the
# company, 山田太郎 its president, and its business partners are the vendors
# and customers its mail comes from (sample-seiki.example.jp,
# test-insatsu.example.jp ...).  They are scanned twice: with the defaults,
# and with that organisation's settings (BENCH_ORG_OPTS), which is how an
# administrator would configure sekisho for it.  One artifact remains with
# the organisation's settings: every other *.example.com / .jp / .net
# domain is, to the public suffix list, the company's own name "example"
# under another suffix, which is what a lookalike such as acme.net of
# acme.co.jp looks like; real organisations do not share their name with
# their newsletters' senders.
#
# Prints per set: messages, flagged, rate, and the symbols most often seen;
# then the totals the issue asks for (>= 95% of phishing flagged, <= 0.2%
# of ham).  Not a test: it always exits 0 unless sekisho fails to run.
#
# Environment:
#   BENCH_CORPUS        (../shared/corpus beside the project)
#   BENCH_SEKISHO_OPTS  more "-o name=value" for every run
#   BENCH_ORG_OPTS      ("-o local_domains=example.co.jp -o executive_names=山田太郎
#                       -o protected_domains=<the partners above>")
#   BENCH_SHOW=N        list the N highest-scoring ham and lowest-scoring
#                       phishing messages (for tuning; default 0)
#   BENCH_KEEP=1        keep the JSON outputs (path printed)
#   BENCH_TRAINED=1     the deployed case: first learn, then scan (see below)
#
# Trained mode (BENCH_TRAINED=1).  A site runs sekisho with a classifier
# that learns from its own mail and its users' "spam" clicks.  So: every set
# is cut in two halves by a hash of the file name; the classifier learns the
# SpamAssassin training split, the first half of ham-modern and the first
# half of each phishing set (as spam); then the second halves, the
# SpamAssassin test split's ham are scanned with that model (the Japanese
# ham is halved the same way).  No scanned message was learned.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
CORPUS=${BENCH_CORPUS:-$SRC/../shared/corpus}
SEKISHO=$BUILD/sekisho
PARTNERS="sample-seiki.example.jp test-insatsu.example.jp mihon-soft.example.com dummy-denshi.example.jp"
PARTNERS="$PARTNERS hinagata-foods.example.jp kaku-sys.example.jp demo-logi.example.com model-kensetsu.example.com"
ORG_OPTS=${BENCH_ORG_OPTS:-"-o local_domains=example.co.jp -o executive_names=山田太郎 -o protected_domains=$(echo $PARTNERS | tr ' ' ,)"}
SHOW=${BENCH_SHOW:-0}

[ -x "$SEKISHO" ] || { echo "phish.sh: $SEKISHO not built" >&2; exit 1; }
[ -d "$CORPUS/phish" ] || { echo "phish.sh: no corpus at $CORPUS" >&2; exit 1; }

TMP=$(mktemp -d /tmp/sekisho-phish-XXXXXX)
trap '[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$TMP"' EXIT

TRAINED=${BENCH_TRAINED:-0}
MODEL=$TMP/state-model
if [ "$TRAINED" = 1 ]; then
	# halves: a directory of links per set and half; the learn list
	python3 - "$CORPUS" "$TMP" <<'EOF'
import hashlib, os, sys
corpus, tmp = sys.argv[1], sys.argv[2]
def half(name):
    return hashlib.sha1(name.encode()).digest()[0] & 1
learn = []
for line in open(os.path.join(corpus, "splits/spamassassin-train.tsv")):
    label, rel = line.rstrip("\n").split("\t")
    learn.append((label, os.path.join(corpus, rel)))
test_ham = os.path.join(tmp, "sa-test-ham")
os.makedirs(test_ham)
for line in open(os.path.join(corpus, "splits/spamassassin-test.tsv")):
    label, rel = line.rstrip("\n").split("\t")
    if label == "ham":
        os.symlink(os.path.join(corpus, rel), os.path.join(test_ham, rel.replace("/", "_")))
for rel, label in (("ham-modern", "ham"), ("japanese/ham-synthetic", "ham"),
                   ("phish/phishing_pot", "spam"),
                   ("phish/nazario", "spam"), ("japanese/phish-real", "spam")):
    out = os.path.join(tmp, "half-" + rel.replace("/", "_"))
    os.makedirs(out)
    for root, dirs, names in os.walk(os.path.join(corpus, rel)):
        for n in names:
            if n.startswith(".") or n.endswith((".tsv", ".md")):
                continue
            path = os.path.join(root, n)
            if half(n) == 0:
                learn.append((label, path))
            else:
                os.symlink(path, os.path.join(out, n))
with open(os.path.join(tmp, "learn.tsv"), "w") as fp:
    fp.writelines("%s\t%s\n" % r for r in learn)
EOF
	mkdir -p "$MODEL"
	"$SEKISHO" -o state_dir="$MODEL" learn --list "$TMP/learn.tsv" >"$TMP/learn.out" 2>&1 ||
		{ echo "phish.sh: learning failed:" >&2; cat "$TMP/learn.out" >&2; exit 1; }
	echo "phish.sh: learned $(wc -l <"$TMP/learn.tsv") messages" >&2
fi

# run LABEL KIND DIR [extra options...]
run() {
	label=$1 kind=$2 dir=$3
	shift 3
	[ -d "$dir" ] || { echo "phish.sh: missing $dir (skipped)" >&2; return 0; }
	state=$TMP/state-$label
	mkdir -p "$state"
	if [ "$TRAINED" = 1 ]; then
		cp "$MODEL"/*.db* "$state"/ 2>/dev/null || true
	fi
	# shellcheck disable=SC2086
	"$SEKISHO" -o network_checks=no -o state_dir="$state" -o score.HDR_DATE_OLD=0 \
	    ${BENCH_SEKISHO_OPTS:-} "$@" \
	    scan --json "$dir" >"$TMP/$label.json" 2>"$TMP/$label.err"
	rc=$?
	# exit codes 0, 3..6 are verdicts; 1 is an unreadable file, 2 usage
	if [ $rc -eq 2 ] || [ ! -s "$TMP/$label.json" ]; then
		echo "phish.sh: sekisho failed on $dir:" >&2
		cat "$TMP/$label.err" >&2
		exit 1
	fi
	printf '%s\t%s\t%s\n' "$label" "$kind" "$TMP/$label.json" >>"$TMP/runs.tsv"
}

start=$(date +%s)
JA_PHISH=$CORPUS/japanese/phish-real
JA_HAM=$CORPUS/japanese/ham-synthetic
if [ "$TRAINED" = 1 ]; then
	JA_PHISH=$TMP/half-japanese_phish-real
	JA_HAM=$TMP/half-japanese_ham-synthetic
	run phishing_pot-b phish "$TMP/half-phish_phishing_pot"
	run nazario-b phish "$TMP/half-phish_nazario"
	run ja-phish-real-b phish-ja "$TMP/half-japanese_phish-real"
	run ham-modern-b ham "$TMP/half-ham-modern"
	run sa-test-ham ham "$TMP/sa-test-ham"
	run ja-ham-b ham "$TMP/half-japanese_ham-synthetic"
else
	run phishing_pot phish "$CORPUS/phish/phishing_pot"
	run nazario phish "$CORPUS/phish/nazario"
	run ja-phish-real phish-ja "$CORPUS/japanese/phish-real"
	run ham-modern ham "$CORPUS/ham-modern"
	run easy_ham ham "$CORPUS/spamassassin/easy_ham"
	run easy_ham_2 ham "$CORPUS/spamassassin/easy_ham_2"
	run hard_ham ham "$CORPUS/spamassassin/hard_ham"
	run ja-ham ham "$CORPUS/japanese/ham-synthetic"
fi
run ja-risky risky "$CORPUS/japanese/risky-synthetic"
# shellcheck disable=SC2086
run ja-phish-real+org phish-ja-org "$JA_PHISH" $ORG_OPTS
# shellcheck disable=SC2086
run ja-ham+org ham-org "$JA_HAM" $ORG_OPTS
# shellcheck disable=SC2086
run ja-risky+org risky-org "$CORPUS/japanese/risky-synthetic" $ORG_OPTS
end=$(date +%s)

python3 - "$TMP/runs.tsv" "$CORPUS" "$SHOW" "$((end - start))" <<'EOF'
import collections, json, os, sys

runs_path, corpus, show, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
FLAG = {"tag", "quarantine", "reject"}

def load(path):
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if not d.get("file", "").endswith(".tsv"):
            out.append(d)
    return out

runs = [l.rstrip("\n").split("\t") for l in open(runs_path)]
totals = collections.defaultdict(lambda: [0, 0])
results = {}
print("%-20s %-13s %7s %8s %8s   %s" % ("set", "kind", "msgs", "flagged", "rate", "most frequent symbols"))
for label, kind, path in runs:
    res = load(path)
    results[label] = (kind, res)
    flagged = sum(1 for d in res if d.get("action") in FLAG)
    errors = sum(1 for d in res if "action" not in d)
    syms = collections.Counter(s["name"] for d in res for s in d.get("symbols", [])
                               if s["score"] != 0)
    top = ", ".join("%s %d" % kv for kv in syms.most_common(5))
    print("%-20s %-13s %7d %8d %7.2f%%   %s" % (label, kind, len(res), flagged,
          100.0 * flagged / max(len(res), 1), top))
    if errors:
        print("%-20s %d files could not be scanned" % ("", errors))
    totals[kind][0] += len(res)
    totals[kind][1] += flagged

print()
p, h = totals["phish"], totals["ham"]
print("phishing (phishing_pot + nazario): %d/%d flagged = %.2f%% (aim >= 95%%)" %
      (p[1], p[0], 100.0 * p[1] / max(p[0], 1)))
print("ham (ham-modern, easy_ham, easy_ham_2, hard_ham, ja ham): %d/%d flagged = %.3f%% (aim <= 0.2%%)" %
      (h[1], h[0], 100.0 * h[1] / max(h[0], 1)))
for k in ("phish-ja", "phish-ja-org", "ham-org"):
    if totals[k][0]:
        print("%-13s %d/%d flagged = %.2f%%" % (k, totals[k][1], totals[k][0],
              100.0 * totals[k][1] / totals[k][0]))
# the scores were chosen looking at these very sets: the two halves (by a
# hash of the file name) show how much the figures move with the sample
import hashlib
def half(d):
    return hashlib.sha1(os.path.basename(d["file"]).encode()).digest()[0] & 1
for h in (0, 1):
    ph = [d for l, (k, res) in results.items() if k == "phish" for d in res if half(d) == h]
    hm = [d for l, (k, res) in results.items() if k == "ham" for d in res if half(d) == h]
    print("  half %d: phishing %.2f%% of %d, ham %.3f%% of %d" % (h,
          100.0 * sum(d.get("action") in FLAG for d in ph) / max(len(ph), 1), len(ph),
          100.0 * sum(d.get("action") in FLAG for d in hm) / max(len(hm), 1), len(hm)))
print("time: %s s" % secs)

# the labelled risky set, file by file
labels = {}
lp = os.path.join(corpus, "japanese/risky-synthetic/LABELS.tsv")
if os.path.exists(lp):
    for line in open(lp, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if f[0] != "file":
            labels[f[0]] = (f[1], f[3])
for label in ("ja-risky", "ja-risky+org"):
    if label not in results:
        continue
    print("\n%s (category, direction: action score symbols)" % label)
    for d in sorted(results[label][1], key=lambda d: d["file"]):
        name = os.path.basename(d["file"])
        cat, direction = labels.get(name, ("?", "?"))
        syms = " ".join(s["name"] for s in d.get("symbols", []) if s["score"] != 0
                        and not s["name"].startswith("HDR_DATE"))
        print("  %-46s %-31s %-8s %-10s %5.1f  %s" % (name, cat, direction, d.get("action"),
              d.get("score", 0), syms))

if show:
    print("\nhighest-scoring ham:")
    ham = [(d.get("score", 0), l, d) for l, (k, res) in results.items() if k == "ham" for d in res]
    for sc, l, d in sorted(ham, key=lambda t: -t[0])[:show]:
        print("  %5.1f %-10s %s  %s" % (sc, d.get("action"), d["file"],
              " ".join("%s(%g)" % (s["name"], s["score"]) for s in d["symbols"] if s["score"])))
    print("\nlowest-scoring phishing:")
    ph = [(d.get("score", 0), l, d) for l, (k, res) in results.items() if k == "phish" for d in res]
    for sc, l, d in sorted(ph, key=lambda t: t[0])[:show]:
        print("  %5.1f %-10s %s  %s" % (sc, d.get("action"), d["file"],
              " ".join("%s(%g)" % (s["name"], s["score"]) for s in d["symbols"] if s["score"])))
EOF
[ "${BENCH_KEEP:-0}" = 1 ] && echo "outputs kept in $TMP"
exit 0
