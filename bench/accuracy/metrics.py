#!/usr/bin/env python3
"""metrics.py - the table of bench/accuracy.sh.

Reads one results directory (written by accuracy.sh) holding, per filter:
  NAME.scores   lines "label<TAB>score<TAB>verdict" (label spam|ham, score:
                higher is spammier, verdict 1 when the filter says spam at its
                default threshold)
  NAME.times    "train_messages train_seconds test_messages test_seconds"
and prints one Markdown table: FP and FN rates at the default threshold,
ROC AUC and (1-ROCA)% (ties count one half), training and classification
speed in messages per second.
"""
import os
import sys


def auc(pairs):
    """Area under the ROC curve by the rank-sum (Mann-Whitney) statistic."""
    pairs = sorted(pairs, key=lambda p: p[0])
    n = len(pairs)
    ranksum = 0.0
    nspam = sum(1 for _, spam in pairs if spam)
    nham = n - nspam
    i = 0
    while i < n:
        j = i
        while j < n and pairs[j][0] == pairs[i][0]:
            j += 1
        rank = (i + 1 + j) / 2.0          # mean rank of the tie group
        ranksum += rank * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    if nspam == 0 or nham == 0:
        return float("nan")
    return (ranksum - nspam * (nspam + 1) / 2.0) / (nspam * nham)


def read_scores(path):
    rows = []
    with open(path) as fp:
        for line in fp:
            f = line.rstrip("\n").split("\t")
            if len(f) < 3 or f[0] not in ("spam", "ham"):
                continue
            rows.append((f[0] == "spam", float(f[1]), f[2] == "1"))
    return rows


def rate(n, secs):
    if not n or secs <= 0:
        return "-"
    return "%.0f" % (n / secs)


def main():
    d = sys.argv[1]
    order = sys.argv[2].split(",") if len(sys.argv) > 2 else None
    names = sorted(f[:-7] for f in os.listdir(d) if f.endswith(".scores"))
    if order:
        names = [n for n in order if n in names] + [n for n in names if n not in order]
    print("| filter | ham | spam | FP % | FN % | ROC AUC | (1-ROCA)% | train msg/s | classify msg/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        rows = read_scores(os.path.join(d, name + ".scores"))
        ham = [r for r in rows if not r[0]]
        spam = [r for r in rows if r[0]]
        fp = sum(1 for r in ham if r[2])
        fn = sum(1 for r in spam if not r[2])
        a = auc([(r[1], r[0]) for r in rows])
        times = [0, 0, 0, 0]
        tpath = os.path.join(d, name + ".times")
        if os.path.exists(tpath):
            with open(tpath) as fp_:
                times = [float(x) for x in fp_.read().split()]
        print("| %s | %d | %d | %.2f (%d) | %.2f (%d) | %.6f | %.4f | %s | %s |" % (
            name, len(ham), len(spam),
            100.0 * fp / max(len(ham), 1), fp, 100.0 * fn / max(len(spam), 1), fn,
            a, 100.0 * (1 - a), rate(times[0], times[1]), rate(times[2], times[3])))


if __name__ == "__main__":
    main()
