#!/bin/sh
# bench/auth_policy.sh BUILD_DIR - Dovecot auth policy decisions per second
# and latency under keep-alive HTTP load (wrk).
#
# Two runs against one sekishod (auth_policy_listen on loopback):
#   allow   only "command=allow" requests (the decision before a login),
#           logins and addresses drawn from 100k accounts and 65k addresses
#   mixed   half "allow", half "report" (2 of 3 reports failures), which
#           also writes a login event to the store per report
# wrk prints requests per second and the latency distribution (p50, p90,
# p99).  Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (50),
# BENCH_THREADS (2), BENCH_DIR (/tmp), BENCH_KEEP=1 keeps the directory.
set -u

. "$(cd "$(dirname "$0")/.." && pwd)/scripts/net.sh"

BUILD=${1:-build}
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-50}
THREADS=${BENCH_THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is not installed (Debian package wrk)" >&2; exit 1; }
[ -x "$BUILD/sekishod" ] || { echo "no $BUILD/sekishod" >&2; exit 1; }

D=$(mktemp -d "${BENCH_DIR:-/tmp}/sekisho-bench-policy.XXXXXX")
PID=
finish() {
	[ -n "$PID" ] && stop_pids "$PID"
	[ "${BENCH_KEEP:-0}" = 1 ] && echo "# kept $D" || rm -rf "$D"
}
trap finish EXIT

PORT=$(free_port)
"$BUILD/sekishod" -o state_dir="$D/state" -o inbound_listen=127.0.0.1:"$(free_port)" \
	-o outbound_listen= -o auth_policy_listen=127.0.0.1:"$PORT" -o log_level=warning \
	>"$D/sekishod.log" 2>&1 &
PID=$!
wait_port "$PORT" 30 || { echo "sekishod did not start" >&2; cat "$D/sekishod.log"; exit 1; }

cat >"$D/policy.lua" <<'LUA'
-- one request per call: a random account and address; MIX = share of reports
local mix = tonumber(os.getenv("MIX") or "0")
math.randomseed(os.time())
request = function()
	local login = "user" .. math.random(1, 100000) .. "@example.jp"
	local ip = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
	local body, cmd
	if math.random() < mix then
		cmd = "report"
		local ok = math.random(1, 3) == 1 and "true" or "false"
		body = string.format('{"login":"%s","remote":"%s","pwhash":"%x","protocol":"imap","success":%s,"policy_reject":false}',
			login, ip, math.random(0, 4095), ok)
	else
		cmd = "allow"
		body = string.format('{"login":"%s","remote":"%s","pwhash":"%x","protocol":"imap"}',
			login, ip, math.random(0, 4095))
	end
	return wrk.format("POST", "/?command=" .. cmd, { ["Content-Type"] = "application/json" }, body)
end
LUA

for run in allow mixed; do
	[ "$run" = allow ] && mix=0 || mix=0.5
	echo "== $run (${SECS}s, $CONNS connections, $THREADS threads)"
	MIX=$mix wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --latency -s "$D/policy.lua" \
		"http://127.0.0.1:$PORT/" | grep -E 'Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors'
done
