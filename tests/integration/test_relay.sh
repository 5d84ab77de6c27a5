#!/bin/sh
# test_relay.sh - swaks through sekishod to smtp-sink: plain, pipelined,
# STARTTLS, AUTH; relay control on both listeners; the Maildir sink.
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v smtp-sink >/dev/null || skip "smtp-sink (postfix) is not installed"

SINK_IN=$(free_port)
SINK_OUT=$(free_port)
start_sink in "$SINK_IN"
start_sink out "$SINK_OUT"
make_cert
mkdir -p "$T/state"
printf 'secret-password-1\n' | "$SEKISHO" -o state_dir="$T/state" \
	-o auth_users_file="$T/users" user add alice >/dev/null || fail "user add"
check "the users file holds an argon2id hash, not the password" \
	sh -c "grep -q '^alice:.argon2id.v=19' '$T/users' && ! grep -q secret-password-1 '$T/users'"

start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$SINK_IN" \
	-o outbound_next_hop=smtp:127.0.0.1:"$SINK_OUT" \
	-o tls_cert_file="$T/tls.crt" -o tls_key_file="$T/tls.key" \
	-o auth_users_file="$T/users" -o trusted_networks=192.0.2.0/24 \
	-o local_domains=sekisho.test

S="swaks --server 127.0.0.1 --timeout 20 --hide-informational"

$S --port "$IN_PORT" --from a@example.org --to user@sekisho.test \
	--header "Message-ID: <plain-1@test>" --body "plain body" >"$T/swaks1.out" 2>&1 ||
	fail "plain mail was not accepted: $(cat "$T/swaks1.out")"
ok "plain inbound mail accepted"
grep -q "250 2.0.0 Ok: queued as" "$T/swaks1.out" || fail "no 'queued as' reply"
ok "250 names the queue id"
wait_for 20 sh -c "grep -rqs 'plain-1@test' '$T/in'" || fail "plain mail did not reach the next hop"
ok "plain mail delivered to the next hop"
f=$(grep -rls 'plain-1@test' "$T/in")
check "the delivered copy has our Received header and the body" \
	sh -c "grep -q 'by gw.sekisho.test (sekisho) with ESMTP id' '$f' && grep -q 'plain body' '$f'"

$S --port "$IN_PORT" --pipeline --from a@example.org --to user@sekisho.test \
	--header "Message-ID: <pipe-1@test>" >"$T/swaks2.out" 2>&1 ||
	fail "pipelined mail was not accepted: $(cat "$T/swaks2.out")"
wait_for 20 sh -c "grep -rqs 'pipe-1@test' '$T/in'" || fail "pipelined mail not delivered"
ok "pipelined session delivered"

$S --port "$IN_PORT" -tls --from a@example.org --to user@sekisho.test \
	--header "Message-ID: <tls-1@test>" >"$T/swaks3.out" 2>&1 ||
	fail "STARTTLS mail was not accepted: $(cat "$T/swaks3.out")"
wait_for 20 sh -c "grep -rqs 'tls-1@test' '$T/in'" || fail "STARTTLS mail not delivered"
f=$(grep -rls 'tls-1@test' "$T/in")
check "STARTTLS session recorded as ESMTPS" grep -q "with ESMTPS id" "$f"

# relay control: inbound refuses other domains
$S --port "$IN_PORT" --from a@example.org --to victim@elsewhere.example \
	>"$T/swaks4.out" 2>&1 && fail "inbound relayed to a foreign domain"
check "inbound listener refuses a foreign recipient with 5xx" \
	grep -q "554 5.7.1" "$T/swaks4.out"

# relay control: outbound refuses an untrusted client without AUTH
$S --port "$OUT_PORT" --from alice@sekisho.test --to bob@example.net \
	>"$T/swaks5.out" 2>&1 && fail "outbound relayed for an untrusted client"
check "outbound listener refuses an unauthenticated untrusted client with 5xx" \
	grep -q "530 5.7.0" "$T/swaks5.out"

# AUTH is not offered without TLS
$S --port "$OUT_PORT" -a PLAIN -au alice -ap secret-password-1 --from alice@sekisho.test \
	--to bob@example.net >"$T/swaks6.out" 2>&1 && fail "AUTH succeeded without TLS"
ok "AUTH without TLS is refused"

# AUTH PLAIN and LOGIN after STARTTLS relay anywhere
for mech in PLAIN LOGIN; do
	$S --port "$OUT_PORT" -tls -a $mech -au alice -ap secret-password-1 \
		--from alice@sekisho.test --to bob@example.net \
		--header "Message-ID: <auth-$mech@test>" >"$T/swaks-$mech.out" 2>&1 ||
		fail "AUTH $mech failed: $(cat "$T/swaks-$mech.out")"
	wait_for 20 sh -c "grep -rqs 'auth-$mech@test' '$T/out'" ||
		fail "AUTH $mech mail not delivered to the outbound next hop"
	f=$(grep -rls "auth-$mech@test" "$T/out")
	check "AUTH $mech mail relayed through the outbound next hop (ESMTPSA)" \
		grep -q "with ESMTPSA id" "$f"
done

$S --port "$OUT_PORT" -tls -a PLAIN -au alice -ap wrong-password \
	--from alice@sekisho.test --to bob@example.net >"$T/swaks7.out" 2>&1 &&
	fail "a wrong password was accepted"
check "a wrong password gets 535" grep -q "535 5.7.8" "$T/swaks7.out"

# the queue is empty once everything is delivered
wait_for 20 sh -c "sekisho() { \"$SEKISHO\" -o state_dir='$T/state' \"\$@\"; }; sekisho queue list | grep -q -- '-- 0 messages'" ||
	fail "queue not empty: $(sekisho queue list)"
ok "queue is empty after delivery"

stop_sekishod
ok "sekishod stopped cleanly"

# The embedded default: the built-in Maildir sink
IN_PORT=$(free_port) OUT_PORT=$(free_port)
rm -rf "$T/state"
start_sekishod
$S --port "$IN_PORT" --from a@example.org --to Alice@sekisho.test \
	--header "Message-ID: <maildir-1@test>" >"$T/swaks8.out" 2>&1 ||
	fail "mail to the Maildir sink not accepted"
wait_for 20 sh -c "grep -rqs 'maildir-1@test' '$T/state/sink/alice@sekisho.test/new'" ||
	fail "mail did not arrive in state/sink/alice@sekisho.test/new"
ok "embedded default delivers into the Maildir sink"
stop_sekishod
finish
