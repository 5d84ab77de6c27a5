#!/bin/sh
# bench/dlp.sh [BUILD_DIR] - false positives of the DLP checks on ham.
#
# Scans each ham set of ../shared/corpus as outbound mail with
#   sekisho -o network_checks=no -o state_dir=<fresh tmp> scan --json
#           --direction outbound DIR
# and prints, per set and per DLP_* symbol, how many messages trigger it,
# then the labelled DLP cases of japanese/risky-synthetic (which must
# trigger).  Ordinary numbers (order, phone, tracking numbers, dates) must
# not give DLP_MYNUMBER or DLP_CREDIT_CARD: the aim is 0 on ham.
# DLP_BANK_ACCOUNT and DLP_KEYWORD do occur in ham (invoices name the
# account to pay into, internal minutes are marked 社外秘): they are facts
# for policy to weigh with the recipients, not errors.  Every hit is
# listed with its reason (masked samples only).
#
# Not a test: exits 0 unless sekisho fails to run.
#
# Environment:
#   BENCH_CORPUS        (../shared/corpus beside the project)
#   BENCH_SEKISHO_OPTS  more "-o name=value" for every run
#   BENCH_KEEP=1        keep the JSON outputs (path printed)
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
CORPUS=${BENCH_CORPUS:-$SRC/../shared/corpus}
SEKISHO=$BUILD/sekisho

[ -x "$SEKISHO" ] || { echo "dlp.sh: $SEKISHO not built" >&2; exit 1; }
[ -d "$CORPUS/spamassassin" ] || { echo "dlp.sh: no corpus at $CORPUS" >&2; exit 1; }

TMP=$(mktemp -d /tmp/sekisho-dlp-XXXXXX)
trap '[ "${BENCH_KEEP:-0}" = 1 ] && echo "kept $TMP" >&2 || rm -rf "$TMP"' EXIT

run() {
	label=$1 dir=$2
	[ -d "$dir" ] || { echo "dlp.sh: missing $dir (skipped)" >&2; return 0; }
	mkdir -p "$TMP/state-$label"
	# shellcheck disable=SC2086
	"$SEKISHO" -o network_checks=no -o state_dir="$TMP/state-$label" \
	    -o rules_dir="$SRC/rules" -o bayes_enable=no -o attach_enable=no \
	    ${BENCH_SEKISHO_OPTS:-} scan --json --direction outbound "$dir" \
	    >"$TMP/$label.json" 2>"$TMP/$label.err"
	rc=$?
	if [ $rc -eq 2 ] || [ ! -s "$TMP/$label.json" ]; then
		echo "dlp.sh: sekisho failed on $dir:" >&2
		cat "$TMP/$label.err" >&2
		exit 1
	fi
	printf '%s\t%s\n' "$label" "$TMP/$label.json" >>"$TMP/runs.tsv"
}

start=$(date +%s)
run easy_ham "$CORPUS/spamassassin/easy_ham"
run easy_ham_2 "$CORPUS/spamassassin/easy_ham_2"
run hard_ham "$CORPUS/spamassassin/hard_ham"
run ham-modern "$CORPUS/ham-modern"
run ja-ham "$CORPUS/japanese/ham-synthetic"
run ja-risky "$CORPUS/japanese/risky-synthetic"
end=$(date +%s)

python3 - "$TMP/runs.tsv" "$((end - start))" <<'PY'
import collections, json, sys

SYMS = ["DLP_MYNUMBER", "DLP_CREDIT_CARD", "DLP_BANK_ACCOUNT", "DLP_KEYWORD", "DLP_PATTERN"]
runs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print("%-12s %6s  %s" % ("set", "msgs", "  ".join("%s" % s[4:] for s in SYMS)))
hits = []
total = collections.Counter()
nmsgs = 0
for label, path in runs:
    res = []
    for line in open(path, encoding="utf-8", errors="replace"):
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("file", "").endswith((".tsv", ".md")):
            continue
        res.append(d)
    c = collections.Counter()
    for d in res:
        for s in d.get("symbols", []):
            if s["name"] in SYMS:
                c[s["name"]] += 1
                hits.append((label, s["name"], d["file"].rsplit("/", 1)[-1], s["reason"]))
    print("%-12s %6d  %s" % (label, len(res), "  ".join("%*d" % (len(s) - 4, c[s]) for s in SYMS)))
    if label != "ja-risky":
        total.update(c)
        nmsgs += len(res)
print("%-12s %6d  %s" % ("ham total", nmsgs, "  ".join("%*d" % (len(s) - 4, total[s]) for s in SYMS)))
print("\n%s s.  Every hit:" % sys.argv[2])
for h in hits:
    print("  %-10s %-17s %-40s %s" % h)
PY
