#!/bin/sh
# test_valgrind.sh - the daemon's main paths under valgrind's memcheck: no
# invalid access and no definite or indirect leak, on an optimised build
# without sanitizers (SEKISHO_VALGRIND_BUILD, set by `make test`).
# Paths: plain, pipelined, STARTTLS + AUTH relay, a tagged message (rewrite
# and banner), an inline reject, a deferral and its retry, a DSN.  The
# console, notices, account protection and the commands have their own
# valgrind tests (test_valgrind_*.sh, helpers in vg_lib.sh).
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || skip "valgrind is not installed"
command -v swaks >/dev/null || skip "swaks is not installed"
command -v smtp-sink >/dev/null || skip "smtp-sink (postfix) is not installed"
VB=${SEKISHO_VALGRIND_BUILD:-}
[ -n "$VB" ] && [ -x "$VB/sekishod" ] || skip "SEKISHO_VALGRIND_BUILD does not name a build without sanitizers (make test sets it)"
if ldd "$VB/sekishod" | grep -q asan; then
	skip "$VB/sekishod is built with ASan; valgrind needs a plain build"
fi

SINK=$(free_port)
DOWN=$(free_port)
start_sink in "$SINK"
make_cert
mkdir -p "$T/state"
printf 'pw-for-valgrind-1\n' | "$VB/sekisho" -o state_dir="$T/state" \
	-o auth_users_file="$T/users" user add alice >/dev/null || fail "user add"
IN_PORT=$(free_port)
OUT_PORT=$(free_port)
valgrind --quiet --suppressions="$SRC/tests/integration/valgrind.supp" \
	--leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30 \
	"$VB/sekishod" -o state_dir="$T/state" -o myhostname=gw.sekisho.test \
	-o inbound_listen=127.0.0.1:"$IN_PORT" -o outbound_listen=127.0.0.1:"$OUT_PORT" \
	-o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o outbound_next_hop=smtp:127.0.0.1:"$DOWN" \
	-o tls_cert_file="$T/tls.crt" -o tls_key_file="$T/tls.key" \
	-o auth_users_file="$T/users" -o trusted_networks=192.0.2.0/24 \
	-o network_checks=no -o retry_min=1s -o retry_max=2s -o queue_lifetime=4s \
	-o queue_scan_interval=1s -o connect_timeout=2s \
	-o symbol_actions=HDR_MISSING_MESSAGE_ID=reject -o inbound_tag_score=2 \
	>"$T/valgrind.log" 2>&1 &
VG_PID=$!
PIDS="$PIDS $VG_PID"
wait_port "$IN_PORT" 120 || fail "sekishod under valgrind did not start"

S="swaks --server 127.0.0.1 --timeout 60 --hide-all"
$S --port "$IN_PORT" --from a@example.org --to user@sekisho.test \
	--header "Message-ID: <vg-plain@test>" || fail "plain"
$S --port "$IN_PORT" --pipeline --from a@example.org --to user@sekisho.test \
	--header "Message-ID: <vg-pipe@test>" || fail "pipelined"
printf 'To: user@sekisho.test\r\nMessage-ID: <vg-tag@test>\r\nSubject: no from\r\n\r\nbody\r\n' >"$T/tag.eml"
$S --port "$IN_PORT" --from a@example.org --to user@sekisho.test --data "$T/tag.eml" || fail "tagged"
printf 'From: a@example.org\r\nTo: user@sekisho.test\r\nSubject: no id\r\n\r\nbody\r\n' >"$T/rej.eml"
$S --port "$IN_PORT" --from a@example.org --to user@sekisho.test --data "$T/rej.eml" &&
	fail "the reject was accepted"
# outbound: STARTTLS + AUTH; the next hop is down -> deferred, retried, expired, DSN
$S --port "$OUT_PORT" -tls -a PLAIN -au alice -ap pw-for-valgrind-1 --from alice@sekisho.test \
	--to bob@example.net --header "Message-ID: <vg-out@test>" || fail "AUTH relay"
wait_for 60 sh -c "grep -rqs 'vg-plain@test' '$T/in' && grep -rqs 'vg-pipe@test' '$T/in' && grep -rqs 'vg-tag@test' '$T/in'" ||
	fail "inbound messages not delivered"
ok "plain, pipelined and tagged mail delivered under valgrind"
wait_for 90 sh -c "grep -rqs 'report-type=delivery-status' '$T/in'" ||
	fail "no DSN for the expired outbound message"
ok "deferral, retries, expiry and the DSN ran under valgrind"

kill -TERM "$VG_PID"
wait "$VG_PID"
rc=$?
if [ $rc -ne 0 ]; then
	sed 's/^/# /' "$T/valgrind.log" | head -80
	fail "valgrind reported errors or leaks (exit $rc)"
fi
ok "valgrind: no invalid access, no definite or indirect leak"
finish
