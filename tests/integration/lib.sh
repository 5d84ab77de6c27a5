# lib.sh - shared helpers for sekisho's integration tests (POSIX sh).
#
# Each test sources this file, which makes a private temporary directory,
# finds free loopback ports, starts real programs (sekishod, smtp-sink,
# Postfix...) and kills every process it started when the test exits, pass
# or fail.  Results are printed as "ok - ..." / "not ok - ..." lines; a test
# exits non-zero on the first failure.

set -u

SRC=${SEKISHO_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${SEKISHO_BUILD:-$SRC/build}
SEKISHOD=$BUILD/sekishod
SEKISHO=$BUILD/sekisho
T=$(mktemp -d /tmp/sekisho-it.XXXXXX)
. "$SRC/scripts/net.sh"
PIDS=""
TESTS_RUN=0
TESTS_FAILED=0

cleanup() {
	# shellcheck disable=SC2086 # a list of pids
	stop_pids $PIDS
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Under the sanitizer build, a leak or a UB report fails the daemon's exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

skip() {
	echo "# SKIP: $*"
	exit 77
}

ok() {
	TESTS_RUN=$((TESTS_RUN + 1))
	echo "ok - $*"
}

fail() {
	TESTS_RUN=$((TESTS_RUN + 1))
	TESTS_FAILED=$((TESTS_FAILED + 1))
	echo "not ok - $*"
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "# --- tail of $f"
		tail -n 30 "$f" | sed 's/^/# /'
	done
	exit 1
}

# check DESCRIPTION COMMAND...: ok when the command succeeds
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

finish() {
	echo "$TESTS_RUN passed, $TESTS_FAILED failed"
}

# wait_for SECONDS COMMAND...: until the command succeeds
wait_for() {
	lim=$(( $1 * 10 ))
	shift
	i=0
	while [ $i -lt $lim ]; do
		if "$@" 2>/dev/null; then return 0; fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# A self-signed certificate for STARTTLS tests.
make_cert() {
	[ -f "$T/tls.crt" ] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
		-keyout "$T/tls.key" -out "$T/tls.crt" >/dev/null 2>&1
}

# start_sink NAME PORT [smtp-sink options...]: smtp-sink dumping each message
# to $T/NAME/ (one file per message).
start_sink() {
	name=$1
	port=$2
	shift 2
	mkdir -p "$T/$name"
	smtp-sink -u root "$@" -d "$T/$name/%M." 127.0.0.1:"$port" 1000 \
		>"$T/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "SINK_PID_$name=$!"
	wait_port "$port" || fail "smtp-sink $name did not start"
}

stop_sink() {
	eval "pid=\$SINK_PID_$1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# Messages the sink NAME holds.
sink_count() {
	find "$T/$1" -type f 2>/dev/null | wc -l
}

# start_sekishod [-o name=value]...: daemon with state in $T/state.
# Sets IN_PORT, OUT_PORT (picked unless given in the environment).
start_sekishod() {
	IN_PORT=${IN_PORT:-$(free_port)}
	OUT_PORT=${OUT_PORT:-$(free_port)}
	"$SEKISHOD" -o state_dir="$T/state" -o myhostname=gw.sekisho.test \
		-o inbound_listen=127.0.0.1:"$IN_PORT" \
		-o outbound_listen=127.0.0.1:"$OUT_PORT" \
		-o queue_scan_interval=1s -o retry_min=1s -o retry_max=2s \
		"$@" >>"$T/sekishod.log" 2>&1 &
	SEKISHOD_PID=$!
	PIDS="$PIDS $SEKISHOD_PID"
	wait_port "$IN_PORT" 30 || fail "sekishod did not start"
}

# stop_sekishod: SIGTERM and wait; non-zero exit (a sanitizer report) fails.
stop_sekishod() {
	kill -TERM "$SEKISHOD_PID" 2>/dev/null
	if ! wait "$SEKISHOD_PID"; then
		fail "sekishod exited with an error (see the log for a sanitizer report)"
	fi
}

sekisho() {
	"$SEKISHO" -o state_dir="$T/state" "$@"
}

# A message with a Message-ID we can find again at the sink.
make_msg() {
	id=$1
	printf 'From: sender@example.org\r\nTo: user@sekisho.test\r\nSubject: test %s\r\nMessage-ID: <%s@test.sekisho>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nbody of %s\r\n' "$id" "$id" "$id"
}
