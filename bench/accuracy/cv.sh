#!/bin/sh
# cv.sh - k-fold cross-validation of sekisho's classifier on the TRAINING
# list only, for tuning without looking at the test list.
#
#   sh bench/accuracy/cv.sh [BUILD_DIR] [K]      (default build-release, 5)
#
# The training split (splits/spamassassin-train.tsv) is cut into K folds by
# a seeded shuffle; each fold is classified by a model that learned the
# other K-1 folds (sekisho learn --list, then learn --classify).  The
# out-of-fold lines "label<TAB>margin<TAB>probability<TAB>path" go to
# $OUT/cv.out (OUT: a temporary directory, or $CV_OUT), and the summary is
# printed: (1-ROCA)%, and FP/FN at probability thresholds 0.5..0.95.
# CV_JOBS=2 runs two folds at a time.  CV_SEKISHO_OPTS adds -o options.
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build-release}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
K=${2:-5}
CORPUS=${CORPUS:-$(cd "$SRC/.." && pwd)/shared/corpus}
OUT=${CV_OUT:-$(mktemp -d /tmp/sekisho-cv.XXXXXX)}
JOBS=${CV_JOBS:-1}
mkdir -p "$OUT"

python3 - "$CORPUS" "$OUT" "$K" <<'EOF'
import os, random, sys
corpus, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = []
for line in open(os.path.join(corpus, "splits/spamassassin-train.tsv")):
    label, rel = line.rstrip("\n").split("\t")
    rows.append((label, os.path.join(corpus, rel)))
random.Random(4).shuffle(rows)
for i in range(k):
    test = [r for j, r in enumerate(rows) if j % k == i]
    train = [r for j, r in enumerate(rows) if j % k != i]
    for name, part in (("train", train), ("test", test)):
        with open(os.path.join(out, "fold%d.%s" % (i, name)), "w") as fp:
            fp.writelines("%s\t%s\n" % r for r in part)
EOF

fold() {
	i=$1
	rm -rf "$OUT/state$i"
	# shellcheck disable=SC2086
	"$BUILD/sekisho" -o state_dir="$OUT/state$i" ${CV_SEKISHO_OPTS:-} \
	    learn --list "$OUT/fold$i.train" >/dev/null 2>"$OUT/fold$i.log"
	# shellcheck disable=SC2086
	"$BUILD/sekisho" -o state_dir="$OUT/state$i" ${CV_SEKISHO_OPTS:-} \
	    learn --classify --list "$OUT/fold$i.test" >"$OUT/fold$i.out" 2>>"$OUT/fold$i.log"
	rm -rf "$OUT/state$i"
}

i=0
while [ $i -lt "$K" ]; do
	fold $i &
	if [ "$JOBS" -lt 2 ] || [ $((i % 2)) = 1 ]; then
		wait
	fi
	i=$((i + 1))
done
wait
cat "$OUT"/fold*.out >"$OUT/cv.out"

python3 - "$OUT/cv.out" <<'EOF'
import sys
rows = []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    rows.append((f[0] == "spam", float(f[1]), float(f[2]), f[3]))
ham = [r for r in rows if not r[0]]
spam = [r for r in rows if r[0]]
pairs = sorted((m, s) for s, m, p, _ in rows)
rank, i, n = 0.0, 0, len(pairs)
while i < n:
    j = i
    while j < n and pairs[j][0] == pairs[i][0]:
        j += 1
    rank += (i + 1 + j) / 2.0 * sum(1 for q in range(i, j) if pairs[q][1])
    i = j
auc = (rank - len(spam) * (len(spam) + 1) / 2.0) / (len(spam) * len(ham))
print("cv: %d ham, %d spam, (1-ROCA)%% %.4f" % (len(ham), len(spam), 100 * (1 - auc)))
# Platt scaling fitted on the out-of-fold margins: how CLF_CAL_A/B were set
import math
np_, nn = len(spam), len(ham)
hi, lo = (np_ + 1.0) / (np_ + 2), 1.0 / (nn + 2)
a, b = 1.0, 0.0
for it in range(100):
    g1 = g2 = h12 = 0.0
    h11 = h22 = 1e-9
    for s, m, p, _ in rows:
        q = 1 / (1 + math.exp(-max(-40.0, min(40.0, a * m + b))))
        e, w = q - (hi if s else lo), q * (1 - q)
        g1 += e * m; g2 += e; h11 += w * m * m; h22 += w; h12 += w * m
    det = h11 * h22 - h12 * h12
    da, db = (h22 * g1 - h12 * g2) / det, (h11 * g2 - h12 * g1) / det
    a, b = a - da, b - db
    if abs(da) < 1e-9 and abs(db) < 1e-9:
        break
print("  Platt fit on these margins: p = sigmoid(%.3f * margin %+.3f); p = 0.9 at margin %.2f"
      % (a, b, (math.log(9) - b) / a))
for t in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95):
    fp = sum(1 for r in ham if r[2] >= t)
    fn = sum(1 for r in spam if r[2] < t)
    print("  p >= %.2f: FP %.2f%% (%d)  FN %.2f%% (%d)" % (t, 100.0 * fp / len(ham), fp,
          100.0 * fn / len(spam), fn))
EOF
echo "cv: out-of-fold scores in $OUT/cv.out" >&2
