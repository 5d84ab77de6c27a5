#!/bin/sh
# test_nexthop.sh - a next hop that is down, refuses, or never comes back.
#
#  - next hop down: messages wait in the queue (deferred, with the reason)
#    and are delivered once it is back;
#  - a permanent 5xx: an RFC 3464 DSN goes to the sender (through the other
#    direction's next hop), never to the null sender;
#  - queue_lifetime over: the pending recipients bounce with 4.4.7.
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v smtp-sink >/dev/null || skip "smtp-sink (postfix) is not installed"

HOP=$(free_port)
DSN=$(free_port)
start_sink dsn "$DSN"
start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$HOP" \
	-o outbound_next_hop=smtp:127.0.0.1:"$DSN" -o connect_timeout=2s

send() {
	swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-all \
		--from "$1" --to "$2" --header "Message-ID: <$3@test>" --body "body $3"
}

for i in 1 2 3; do
	send sender@example.org user@sekisho.test down-$i || fail "message $i not accepted"
done
ok "3 messages accepted while the next hop is down"

deferred() {
	sekisho queue list >"$T/q.out"
	[ "$(grep -c 'attempts' "$T/q.out")" -eq 3 ] && grep -q '4.4.1' "$T/q.out"
}
wait_for 20 deferred || fail "messages not deferred: $(cat "$T/q.out")"
ok "queue list shows 3 deferred messages with a 4.4.1 reason"
id=$(sekisho queue list | awk 'NR==2 {print $1}')
sekisho queue show "$id" >"$T/show.out" || fail "queue show $id"
check "queue show prints the envelope and the last error" \
	sh -c "grep -q '^sender: <sender@example.org>' '$T/show.out' && grep -q '^last_error: 4.4.1' '$T/show.out'"
sekisho queue dump "$id" >"$T/dump.out" || fail "queue dump $id"
check "queue dump prints the stored message" \
	sh -c "grep -q '^\*\*\* message \*\*\*' '$T/dump.out' && grep -q 'Message-ID: <down-' '$T/dump.out'"

start_sink in "$HOP"
sekisho queue retry "$id" >/dev/null || fail "queue retry"
queue_empty() {
	"$SEKISHO" -o state_dir="$T/state" queue list | grep -q -- '-- 0 messages'
}
wait_for 30 queue_empty || fail "deferred messages not delivered after the next hop came back"
[ "$(sink_count in)" -eq 3 ] || fail "the next hop has $(sink_count in) messages, not 3"
ok "all 3 delivered once the next hop is back"
check "nothing bounced meanwhile" sh -c "[ $(sink_count dsn) -eq 0 ]"
stop_sink in

# a permanent refusal: a DSN to the sender
rm -rf "$T/in"
start_sink in "$HOP" -f RCPT
send sender@example.org user@sekisho.test refused-1 || fail "message not accepted"
# (the original headers come last in the DSN: wait until they are written)
wait_for 20 sh -c "grep -rqs 'Message-ID: <refused-1@test>' '$T/dsn'" ||
	fail "no DSN for a refused recipient"
f=$(grep -rl 'Message-ID: <refused-1@test>' "$T/dsn" | head -1)
check "the DSN is a multipart/report delivery-status to the sender" \
	sh -c "grep -q 'report-type=delivery-status' '$f' && grep -qi '^To: .*sender@example.org' '$f'"
check "the DSN names the recipient and a 5.x.x status" \
	sh -c "grep -q 'Final-Recipient: rfc822; *user@sekisho.test' '$f' && grep -q '^Status: 5\.' '$f' && grep -q '^Action: failed' '$f'"
check "the DSN comes from the null sender" grep -q 'X-Mail-Args: <>' "$f"
check "the DSN carries the original headers" grep -q 'Message-ID: <refused-1@test>' "$f"

# the null sender never gets a DSN
send "<>" user@sekisho.test refused-null || fail "null-sender message not accepted"
sleep 3
check "no DSN for a null-sender message" sh -c "[ \$(find '$T/dsn' -type f | wc -l) -eq 1 ]"
wait_for 20 queue_empty || fail "refused messages still queued"
ok "refused messages left the queue"
stop_sink in
stop_sekishod

# expiry: the next hop never comes back
IN_PORT=$(free_port) OUT_PORT=$(free_port)
start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$HOP" \
	-o outbound_next_hop=smtp:127.0.0.1:"$DSN" -o connect_timeout=1s -o queue_lifetime=3s
send sender@example.org user@sekisho.test expire-1 || fail "message not accepted"
wait_for 30 sh -c "grep -rqs 'Message-ID: <expire-1@test>' '$T/dsn'" || fail "no DSN after expiry"
f=$(grep -rl 'Message-ID: <expire-1@test>' "$T/dsn")
check "the expiry DSN says 4.4.7" grep -q '4\.4\.7' "$f"
stop_sekishod
finish
