#!/bin/sh
# bench/relay.sh BUILD_DIR - relay throughput, sekishod beside a stock Postfix.
#
#   smtp-source -> sekishod (inbound listener)  -> smtp-sink
#   smtp-source -> Postfix (private, stock)     -> smtp-sink
#
# Both legs get the same load (BENCH_MESSAGES messages of BENCH_SIZE bytes
# over BENCH_SESSIONS parallel SMTP sessions, one message per connection, as
# smtp-source does by default) and are measured the same way: wall time from
# the start of smtp-source until smtp-sink has counted every message (its
# -c counter, polled every 50 ms; no per-message dump files).  Both MTAs keep
# their default durability: sekishod fsyncs the spool and its store before
# "250", Postfix fsyncs its queue file.  Both log every message to a file.
#
# Prints messages per second for each, the ratio sekisho/postfix, the time
# each took to accept the load (smtp-source done), and sekishod's peak RSS
# (VmHWM) read before it is stopped.  This is a benchmark, not a test:
# `make bench` runs it; it exits non-zero only when a leg did not deliver
# everything in BENCH_TIMEOUT seconds or a program failed to start.
#
# Environment:
#   BENCH_MESSAGES (10000)  BENCH_SIZE (10240)  BENCH_SESSIONS (20)
#   BENCH_TIMEOUT (600 s per leg)   BENCH_ONLY (sekisho | postfix)
#   BENCH_DIR (/tmp; where the spools live: use the disk you care about)
#   BENCH_SEKISHOD_OPTS ("-o name=value ..." added to sekishod's command line)
#   BENCH_KEEP=1 keeps the temporary directory (logs, spools)
set -u

. "$(cd "$(dirname "$0")/.." && pwd)/scripts/net.sh"
. "$(cd "$(dirname "$0")/.." && pwd)/scripts/postfix.sh"

BUILD=${1:-build}
SEKISHOD=$BUILD/sekishod
N=${BENCH_MESSAGES:-10000}
SIZE=${BENCH_SIZE:-10240}
SESSIONS=${BENCH_SESSIONS:-20}
TIMEOUT=${BENCH_TIMEOUT:-600}
ONLY=${BENCH_ONLY:-}
FROM=sender@example.org
TO=user@sekisho.test

die() {
	echo "bench: $*" >&2
	exit 1
}

command -v smtp-source >/dev/null || die "smtp-source is missing (Debian package postfix)"
command -v smtp-sink >/dev/null || die "smtp-sink is missing (Debian package postfix)"
command -v python3 >/dev/null || die "python3 is missing (used to pick free ports)"

B=$(mktemp -d "${BENCH_DIR:-/tmp}/sekisho-bench.XXXXXX") || die "cannot make a temporary directory"
PIDS=""
PF_CONF=""
PF_MASTER_PID=""

cleanup() {
	if [ -n "$PF_CONF" ] && [ -f "$B/postfix/spool/pid/master.pid" ]; then
		postfix_stop "$B/postfix"
		i=0
		while [ $i -lt 100 ] && kill -0 "$PF_MASTER_PID" 2>/dev/null; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	# shellcheck disable=SC2086 # a list of pids
	stop_pids $PIDS
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "# kept $B"
	else
		rm -rf "$B"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() {
	date +%s%3N
}

# start_sink NAME PORT: smtp-sink with a running counter in $B/NAME.count
start_sink() {
	# shellcheck disable=SC2046 # -u is needed only when running as root
	smtp-sink $([ "$(id -u)" = 0 ] && echo "-u root") -c 127.0.0.1:"$2" 1000 >"$B/$1.count" 2>"$B/$1.err" &
	PIDS="$PIDS $!"
	wait_port "$2" || die "smtp-sink $1 did not start: $(cat "$B/$1.err")"
}

# Messages the sink NAME has received (the last "mesg=" of its counter).
sink_count() {
	tr '\r' '\n' <"$B/$1.count" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n 1 | grep . || echo 0
}

# measure NAME PORT: drive PORT with smtp-source, wait for sink NAME to hold
# N messages.  Sets ELAPSED_MS, ACCEPT_MS, DELIVERED.
measure() {
	name=$1
	port=$2
	t0=$(now_ms)
	smtp-source -s "$SESSIONS" -m "$N" -l "$SIZE" -M bench.example.org \
		-f "$FROM" -t "$TO" 127.0.0.1:"$port" >"$B/$name.source" 2>&1 &
	src=$!
	PIDS="$PIDS $src"
	ACCEPT_MS=""
	deadline=$((t0 + TIMEOUT * 1000))
	while :; do
		DELIVERED=$(sink_count "$name")
		if [ -z "$ACCEPT_MS" ] && ! kill -0 "$src" 2>/dev/null; then
			ACCEPT_MS=$(($(now_ms) - t0))
			wait "$src" || echo "bench: smtp-source for $name failed: $(tail -n 3 "$B/$name.source")" >&2
		fi
		[ "$DELIVERED" -ge "$N" ] && break
		[ "$(now_ms)" -ge "$deadline" ] && break
		sleep 0.05
	done
	ELAPSED_MS=$(($(now_ms) - t0))
	[ -n "$ACCEPT_MS" ] || ACCEPT_MS=$ELAPSED_MS
}

rate() {
	awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", (ms > 0 ? n * 1000 / ms : 0) }'
}

secs() {
	awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'
}

echo "# relay benchmark: $N messages of $SIZE bytes, $SESSIONS sessions, one message per connection"
echo "# host: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%d MB", $2 / 1024 }' /proc/meminfo), spools on $(df -T "$B" | awk 'NR == 2 { print $2 " (" $7 ")" }')"

SEK_RATE=""
PF_RATE=""
FAILED=0

# --- sekishod --------------------------------------------------------------
if [ "$ONLY" != postfix ]; then
	[ -x "$SEKISHOD" ] || die "$SEKISHOD is missing: build first (make build)"
	SINK=$(free_port)
	IN=$(free_port)
	OUT=$(free_port)
	start_sink sekisho-sink "$SINK"
	# shellcheck disable=SC2086 # BENCH_SEKISHOD_OPTS is a list of words
	"$SEKISHOD" -o state_dir="$B/sekisho" -o myhostname=gw.sekisho.test \
		-o log_file="$B/sekishod.log" \
		-o inbound_listen=127.0.0.1:"$IN" -o outbound_listen=127.0.0.1:"$OUT" \
		-o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o local_domains=sekisho.test \
		${BENCH_SEKISHOD_OPTS:-} >"$B/sekishod.out" 2>&1 &
	SEK_PID=$!
	PIDS="$PIDS $SEK_PID"
	wait_port "$IN" 30 || die "sekishod did not start: $(tail -n 5 "$B/sekishod.out" "$B/sekishod.log" 2>/dev/null)"

	measure sekisho-sink "$IN"
	SEK_MS=$ELAPSED_MS
	SEK_ACCEPT_MS=$ACCEPT_MS
	SEK_DELIVERED=$DELIVERED
	SEK_HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$SEK_PID/status" 2>/dev/null)
	SEK_CPU=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$SEK_PID/stat" 2>/dev/null)
	kill -TERM "$SEK_PID" 2>/dev/null
	wait "$SEK_PID" 2>/dev/null || echo "bench: sekishod exited with status $?" >&2
	SEK_RATE=$(rate "$SEK_DELIVERED" "$SEK_MS")
	[ "$SEK_DELIVERED" -ge "$N" ] || {
		FAILED=1
		echo "bench: sekisho delivered only $SEK_DELIVERED of $N in $(secs "$SEK_MS") s" >&2
	}
	printf 'sekisho : %6s msg/s  (%s of %s delivered in %s s; accepted in %s s; peak RSS %s MB; CPU %s s)\n' \
		"$SEK_RATE" "$SEK_DELIVERED" "$N" "$(secs "$SEK_MS")" "$(secs "$SEK_ACCEPT_MS")" \
		"$(awk -v kb="${SEK_HWM:-0}" 'BEGIN { printf "%.1f", kb / 1024 }')" "${SEK_CPU:-?}"
fi

# --- Postfix -----------------------------------------------------------------
# A private instance: its own config, queue and data directories under $B,
# loopback only.  Stock settings except what a relay on loopback must have:
# no local delivery, relayhost = the sink, no chroot (a chroot needs copies
# of /etc files; it does not change the throughput).  Process limits,
# concurrency, in_flow_delay and queue-file fsync are Postfix's defaults.
if [ "$ONLY" != sekisho ]; then
	why=$(postfix_missing)
	if [ -n "$why" ]; then
		echo "postfix : skipped ($why)"
	else
		PF_SINK=$(free_port)
		PF_PORT=$(free_port)
		start_sink postfix-sink "$PF_SINK"
		PF_CONF=$B/postfix/etc
		chmod 711 "$B"
		postfix_instance "$B/postfix" mx.postfix.test "$B/postfix.log"
		cat >>"$PF_CONF/main.cf" <<EOF
relay_domains = sekisho.test
relayhost = [127.0.0.1]:$PF_SINK
EOF
		echo "127.0.0.1:$PF_PORT inet n - n - - smtpd" >>"$PF_CONF/master.cf"
		postfix_ctl "$B/postfix" check >"$B/postfix-check.out" 2>&1 ||
			die "postfix check failed: $(cat "$B/postfix-check.out"; tail -n 5 "$B/postfix.log" 2>/dev/null)"
		postfix_ctl "$B/postfix" start >"$B/postfix-start.out" 2>&1 ||
			die "postfix start failed: $(tail -n 5 "$B/postfix.log" 2>/dev/null)"
		PF_MASTER_PID=$(tr -d ' ' <"$B/postfix/spool/pid/master.pid")
		wait_port "$PF_PORT" 30 || die "Postfix is not listening: $(tail -n 5 "$B/postfix.log")"

		measure postfix-sink "$PF_PORT"
		PF_MS=$ELAPSED_MS
		PF_ACCEPT_MS=$ACCEPT_MS
		PF_DELIVERED=$DELIVERED
		# Postfix is many processes sharing their libraries: add up their
		# proportional set sizes (Pss) now, while the idle ones still linger.
		PF_PROCS=$(ps -o pid= --ppid "$PF_MASTER_PID" 2>/dev/null | tr -d ' ')
		PF_PSS=0
		PF_NPROC=0
		for p in $PF_MASTER_PID $PF_PROCS; do
			kb=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
			[ -n "$kb" ] || continue
			PF_PSS=$((PF_PSS + kb))
			PF_NPROC=$((PF_NPROC + 1))
		done
		postfix_stop "$B/postfix"
		PF_RATE=$(rate "$PF_DELIVERED" "$PF_MS")
		[ "$PF_DELIVERED" -ge "$N" ] || {
			FAILED=1
			echo "bench: postfix delivered only $PF_DELIVERED of $N in $(secs "$PF_MS") s" >&2
		}
		printf 'postfix : %6s msg/s  (%s of %s delivered in %s s; accepted in %s s; %s processes, Pss sum %s MB at the end)\n' \
			"$PF_RATE" "$PF_DELIVERED" "$N" "$(secs "$PF_MS")" "$(secs "$PF_ACCEPT_MS")" \
			"$PF_NPROC" "$(awk -v kb="$PF_PSS" 'BEGIN { printf "%.1f", kb / 1024 }')"
	fi
fi

if [ -n "$SEK_RATE" ] && [ -n "$PF_RATE" ] && [ "$PF_RATE" -gt 0 ]; then
	awk -v s="$SEK_RATE" -v p="$PF_RATE" 'BEGIN { printf "ratio   : sekisho/postfix = %.2f\n", s / p }'
fi
exit $FAILED
