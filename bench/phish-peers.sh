#!/bin/sh
# bench/phish-peers.sh - Rspamd and SpamAssassin on the sets bench/phish.sh uses.
#
# The same files, the same rule of counting: a message is flagged when the
# peer would tag or reject it.  Like sekisho in bench/phish.sh, each peer
# runs with its network tests off and nothing learned:
#   rspamd       a private instance (and a Redis for its Bayes backend, which
#                learns nothing) on free loopback ports, the packaged rules,
#                every module that asks the network disabled (the list of
#                bench/accuracy/rspamd.sh); flagged = action "add header",
#                "rewrite subject" or "reject"
#   spamassassin a private spamd -L (local tests only), use_bayes 0, no RBLs,
#                no Razor/Pyzor; flagged = score >= 5 (its default threshold)
# Prints one line per set and peer, then the totals bench/phish.sh prints.
# Takes a few minutes: spamd does about 20 messages a second on 2 cores.
#
# Environment: BENCH_CORPUS (../shared/corpus), BENCH_ONLY (rspamd or
# spamassassin), BENCH_KEEP=1 keeps the work directory, BENCH_PARALLEL
# (number of CPUs) concurrent requests.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/scripts/net.sh"
CORPUS=${BENCH_CORPUS:-$SRC/../shared/corpus}
ONLY=${BENCH_ONLY:-rspamd,spamassassin}
PAR=${BENCH_PARALLEL:-$(nproc 2>/dev/null || echo 2)}
WORK=$(mktemp -d /tmp/sekisho-phish-peers-XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
chmod a+rx "$WORK"

# set label \t kind \t path, for every message file of every set
: > "$WORK/files.tsv"
add_set() {
	[ -d "$3" ] || { echo "phish-peers: missing $3 (skipped)" >&2; return 0; }
	find "$3" -type f ! -name '*.tsv' ! -name '.*' | sort |
	    awk -v l="$1" -v k="$2" '{ print l "\t" k "\t" $0 }' >> "$WORK/files.tsv"
}
add_set phishing_pot phish "$CORPUS/phish/phishing_pot"
add_set nazario phish "$CORPUS/phish/nazario"
add_set ja-phish-real phish-ja "$CORPUS/japanese/phish-real"
add_set ham-modern ham "$CORPUS/ham-modern"
add_set easy_ham ham "$CORPUS/spamassassin/easy_ham"
add_set easy_ham_2 ham "$CORPUS/spamassassin/easy_ham_2"
add_set hard_ham ham "$CORPUS/spamassassin/hard_ham"
add_set ja-ham ham "$CORPUS/japanese/ham-synthetic"
cut -f3 "$WORK/files.tsv" > "$WORK/paths"
echo "phish-peers: $(wc -l < "$WORK/paths") messages" >&2

# ---- Rspamd ----
case ",$ONLY," in *,rspamd,*)
if command -v rspamd >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1; then
	R=$WORK/rspamd
	mkdir -p "$R/local.d" "$R/run" "$R/db" "$R/log" "$R/redis"
	chmod -R a+rwX "$R"
	REDIS=$(free_port); NORMAL=$(free_port); CONTROLLER=$(free_port)
	PROXY=$(free_port); FUZZY=$(free_port)
	printf 'bind_socket = "127.0.0.1:%s";\ncount = %s;\n' "$NORMAL" "$PAR" > "$R/local.d/worker-normal.inc"
	printf 'bind_socket = "127.0.0.1:%s";\ncount = 1;\n' "$CONTROLLER" > "$R/local.d/worker-controller.inc"
	printf 'bind_socket = "127.0.0.1:%s";\ncount = 1;\n' "$PROXY" > "$R/local.d/worker-proxy.inc"
	printf 'bind_socket = "127.0.0.1:%s";\ncount = -1;\n' "$FUZZY" > "$R/local.d/worker-fuzzy.inc"
	echo "servers = \"127.0.0.1:$REDIS\";" > "$R/local.d/redis.conf"
	printf 'backend = "redis";\nservers = "127.0.0.1:%s";\nautolearn = false;\n' "$REDIS" \
	    > "$R/local.d/classifier-bayes.conf"
	echo 'dns { timeout = 0.1s; retransmits = 1; }' > "$R/local.d/options.inc"
	for m in rbl surbl spf dkim dmarc arc fuzzy_check asn mx_check url_redirector greylist \
	    ratelimit neural replies history_redis reputation dcc razor pyzor hfilter \
	    rspamd_update emails dkim_signing arc_signing metadata_exporter clickhouse \
	    elastic external_services antivirus p0f maillist_dnsbl; do
		echo "enabled = false;" > "$R/local.d/$m.conf"
	done
	redis-server --port "$REDIS" --bind 127.0.0.1 --save "" --appendonly no \
	    --dir "$R/redis" --daemonize no >"$R/log/redis.log" 2>&1 &
	PIDS="$PIDS $!"
	rspamd -f -i -u root -g root -c /etc/rspamd/rspamd.conf \
	    --var LOCAL_CONFDIR="$R" --var RUNDIR="$R/run" --var DBDIR="$R/db" \
	    --var LOGDIR="$R/log" >"$R/log/stdout.log" 2>&1 &
	PIDS="$PIDS $!"
	up=0
	for i in $(seq 1 120); do
		if rspamc -h "127.0.0.1:$CONTROLLER" stat >/dev/null 2>&1; then up=1; break; fi
		sleep 0.5
	done
	if [ $up = 1 ]; then
		xargs rspamc -h "127.0.0.1:$NORMAL" -n "$PAR" < "$WORK/paths" > "$R/out" 2>"$R/log/rspamc.log" || true
		awk '/^Results for file: / { p = $0; sub(/^Results for file: /, "", p); sub(/ \([0-9.]+ seconds\)$/, "", p) }
		    /^Action: / { a = $0; sub(/^Action: /, "", a);
		        print p "\t" ((a == "reject" || a == "add header" || a == "rewrite subject") ? 1 : 0) }' \
		    "$R/out" > "$WORK/rspamd.flags"
		echo "phish-peers: rspamd done" >&2
	else
		echo "phish-peers: rspamd did not start (see $R/log)" >&2
	fi
else
	echo "phish-peers: rspamd or redis-server missing (skipped)" >&2
fi ;;
esac

# ---- SpamAssassin ----
case ",$ONLY," in *,spamassassin,*)
if command -v spamd >/dev/null 2>&1; then
	SA=$WORK/sa
	mkdir -p "$SA/etc"
	cp /etc/spamassassin/*.pre /etc/spamassassin/*.cf "$SA/etc/" 2>/dev/null || true
	cat >> "$SA/etc/local.cf" <<EOF
use_bayes 0
use_razor2 0
use_pyzor 0
skip_rbl_checks 1
EOF
	chmod -R a+rwX "$SA"
	PORT=$(free_port)
	spamd -L -x --siteconfigpath="$SA/etc" -i 127.0.0.1 -p "$PORT" -m "$PAR" -u nobody \
	    --pidfile "$SA/spamd.pid" -s "$SA/spamd.log" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	up=0
	for i in $(seq 1 120); do
		if spamc -d 127.0.0.1 -p "$PORT" -K >/dev/null 2>&1; then up=1; break; fi
		sleep 0.5
	done
	if [ $up = 1 ]; then
		export PORT
		xargs -P "$PAR" -I{} sh -c 'printf "%s\t%s\n" "$1" "$(spamc -d 127.0.0.1 -p $PORT -c < "$1")"' _ {} \
		    < "$WORK/paths" > "$SA/out" || true
		awk -F'\t' '{ split($2, a, "/"); print $1 "\t" (a[1] + 0 >= 5 ? 1 : 0) }' "$SA/out" \
		    > "$WORK/spamassassin.flags"
		[ -f "$SA/spamd.pid" ] && kill "$(cat "$SA/spamd.pid")" 2>/dev/null || true
		echo "phish-peers: spamassassin done" >&2
	else
		echo "phish-peers: spamd did not start (see $SA/spamd.log)" >&2
	fi
else
	echo "phish-peers: spamd missing (skipped)" >&2
fi ;;
esac

python3 - "$WORK" <<'EOF'
import collections, os, sys
work = sys.argv[1]
files = [l.rstrip("\n").split("\t") for l in open(os.path.join(work, "files.tsv"))]
for peer in ("rspamd", "spamassassin"):
    p = os.path.join(work, peer + ".flags")
    if not os.path.exists(p):
        continue
    flags = {}
    for l in open(p):
        f = l.rstrip("\n").split("\t")
        if len(f) == 2:
            flags[f[0]] = f[1] == "1"
    per = collections.defaultdict(lambda: [0, 0, 0])
    for label, kind, path in files:
        per[(label, kind)][0] += 1
        if path in flags:
            per[(label, kind)][1] += flags[path]
        else:
            per[(label, kind)][2] += 1
    tot = collections.defaultdict(lambda: [0, 0])
    print("%s (network tests off, nothing learned)" % peer)
    for (label, kind), (n, fl, miss) in per.items():
        print("  %-16s %-9s %6d %6d %7.2f%%%s" % (label, kind, n, fl, 100.0 * fl / max(n, 1),
              "  (%d not answered)" % miss if miss else ""))
        tot[kind][0] += n
        tot[kind][1] += fl
    p, h = tot["phish"], tot["ham"]
    print("  phishing (phishing_pot + nazario): %.2f%%  ham: %.3f%%  ja phish-real: %.2f%%" % (
          100.0 * p[1] / max(p[0], 1), 100.0 * h[1] / max(h[0], 1),
          100.0 * tot["phish-ja"][1] / max(tot["phish-ja"][0], 1)))
EOF
exit 0
