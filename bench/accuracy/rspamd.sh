#!/bin/sh
# rspamd.sh WORK OUT - the Rspamd leg of bench/accuracy.sh.
#
# Starts a Redis and an Rspamd of their own on free loopback ports, with the
# packaged rules and its Bayes (OSB tokens, Redis backend, no autolearn), and
# every module that asks the network switched off (the "network tests off"
# of the other peers).  Learns WORK/train.{spam,ham} through the controller,
# then classifies WORK/test.paths; writes OUT/rspamd.scores and .times.
set -eu

WORK=$1
OUT=$2
R=$WORK/rspamd
mkdir -p "$R/local.d" "$R/run" "$R/db" "$R/log" "$R/redis"
chmod -R a+rwX "$R"

port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

REDIS=$(port)
NORMAL=$(port)
CONTROLLER=$(port)
PROXY=$(port)
FUZZY=$(port)

cat > "$R/local.d/worker-normal.inc" <<EOF
bind_socket = "127.0.0.1:$NORMAL";
count = 2;
EOF
cat > "$R/local.d/worker-controller.inc" <<EOF
bind_socket = "127.0.0.1:$CONTROLLER";
count = 1;
EOF
cat > "$R/local.d/worker-proxy.inc" <<EOF
bind_socket = "127.0.0.1:$PROXY";
count = 1;
EOF
cat > "$R/local.d/worker-fuzzy.inc" <<EOF
bind_socket = "127.0.0.1:$FUZZY";
count = -1;
EOF
echo "servers = \"127.0.0.1:$REDIS\";" > "$R/local.d/redis.conf"
cat > "$R/local.d/classifier-bayes.conf" <<EOF
backend = "redis";
servers = "127.0.0.1:$REDIS";
autolearn = false;
EOF
cat > "$R/local.d/options.inc" <<EOF
dns { timeout = 0.1s; retransmits = 1; }
EOF
for m in rbl surbl spf dkim dmarc arc fuzzy_check asn mx_check url_redirector greylist \
    ratelimit neural replies history_redis reputation dcc razor pyzor hfilter \
    rspamd_update emails dkim_signing arc_signing metadata_exporter clickhouse \
    elastic external_services antivirus p0f maillist_dnsbl; do
	echo "enabled = false;" > "$R/local.d/$m.conf"
done

redis-server --port "$REDIS" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$R/redis" --daemonize no >"$R/log/redis.log" 2>&1 &
RPID=$!
rspamd -f -i -u root -g root -c /etc/rspamd/rspamd.conf \
    --var LOCAL_CONFDIR="$R" --var RUNDIR="$R/run" --var DBDIR="$R/db" \
    --var LOGDIR="$R/log" >"$R/log/stdout.log" 2>&1 &
SPID=$!
trap 'kill $SPID $RPID 2>/dev/null || true' EXIT INT TERM
for i in $(seq 1 120); do
	rspamc -h "127.0.0.1:$CONTROLLER" stat >/dev/null 2>&1 && break
	sleep 0.5
done

t0=$(now)
xargs rspamc -h "127.0.0.1:$CONTROLLER" -n 4 learn_spam < "$WORK/train.spam" >"$R/log/learn.log" 2>&1
xargs rspamc -h "127.0.0.1:$CONTROLLER" -n 4 learn_ham < "$WORK/train.ham" >>"$R/log/learn.log" 2>&1
t1=$(now)
xargs rspamc -h "127.0.0.1:$NORMAL" -n 4 < "$WORK/test.paths" > "$R/out" 2>>"$R/log/learn.log" || true
t2=$(now)
cp "$R/log/learn.log" "$OUT/rspamd.log"
rspamc -h "127.0.0.1:$CONTROLLER" stat >> "$OUT/rspamd.log" 2>&1 || true
# "Results for file: PATH (t seconds)", "Action: ...", "Score: S / R"
awk -F'\t' 'NR == FNR { label[$2] = $1; next }
    /^Results for file: / { p = $0; sub(/^Results for file: /, "", p); sub(/ \([0-9.]+ seconds\)$/, "", p) }
    /^Action: / { a = $0; sub(/^Action: /, "", a); spam = (a == "reject" || a == "add header" || a == "rewrite subject") }
    /^Score: / { split($0, s, " "); print label[p] "\t" s[2] "\t" spam }' \
    "$WORK/test.tsv" "$R/out" > "$OUT/rspamd.scores"
echo "$(wc -l < "$WORK/train.spam") $(wc -l < "$WORK/train.ham") $(elapsed "$t0" "$t1") $(wc -l < "$WORK/test.paths") $(elapsed "$t1" "$t2")" |
    awk '{ print $1 + $2, $3, $4, $5 }' > "$OUT/rspamd.times"
