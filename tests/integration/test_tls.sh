#!/bin/sh
# test_tls.sh - STARTTLS on both sides and the plaintext-injection attack.
#
#  - CVE-2011-0411: commands pipelined after STARTTLS in plaintext are
#    discarded, never executed inside the TLS session;
#  - delivery uses STARTTLS when the next hop offers it (two sekishods in a
#    chain: the second records ESMTPS); with smtp_tls_security_level=encrypt
#    a next hop without STARTTLS defers the mail (4.7.4), never sends it in
#    plaintext;
#  - LMTP delivery (smtp-sink -L); idle sessions time out with 421.
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v smtp-sink >/dev/null || skip "smtp-sink (postfix) is not installed"
make_cert

SINK=$(free_port)
start_sink final "$SINK"

# B: the second gateway, offering STARTTLS, delivering to the sink
B_IN=$(free_port)
B_OUT=$(free_port)
"$SEKISHOD" -o state_dir="$T/stateB" -o myhostname=b.sekisho.test \
	-o inbound_listen=127.0.0.1:"$B_IN" -o outbound_listen=127.0.0.1:"$B_OUT" \
	-o tls_cert_file="$T/tls.crt" -o tls_key_file="$T/tls.key" \
	-o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o smtpd_timeout=2s \
	>"$T/sekishodB.log" 2>&1 &
B_PID=$!
PIDS="$PIDS $B_PID"
wait_port "$B_IN" 30 || fail "second sekishod did not start"

# A: the first gateway, delivering to B with STARTTLS
start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$B_IN" -o smtp_tls_security_level=encrypt

# CVE-2011-0411 against B
python3 - "$B_IN" >"$T/inject.out" <<'PY'
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
def reply(fp):
    r = fp.readline()
    while r[3:4] == b"-":
        r = fp.readline()
    return r.decode().strip()
reply(f)
s.sendall(b"EHLO attacker\r\n"); reply(f)
# the injected MAIL rides in the same packet as STARTTLS
s.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
print(reply(f))
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
tf = t.makefile("rb")
t.sendall(b"EHLO attacker\r\n"); reply(tf)
t.sendall(b"RCPT TO:<user@sekisho.test>\r\n")
print(reply(tf))
t.sendall(b"QUIT\r\n"); print(reply(tf))
PY
check "STARTTLS answers 220" sh -c "sed -n 1p '$T/inject.out' | grep -q '^220'"
check "a command injected before the TLS handshake is discarded (RCPT gets 503)" \
	sh -c "sed -n 2p '$T/inject.out' | grep -q '^503 5.5.1 Error: need MAIL'"

swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-all --from a@example.org \
	--to user@sekisho.test --header "Message-ID: <chain-1@test>" || fail "A did not accept"
wait_for 20 sh -c "grep -rqs 'chain-1@test' '$T/final'" || fail "mail did not cross A -> B -> sink"
f=$(grep -rls 'chain-1@test' "$T/final")
check "A delivered to B over STARTTLS (B recorded ESMTPS)" \
	grep -q "by b.sekisho.test (sekisho) with ESMTPS id" "$f"
check "B logged the TLS session" grep -q "TLS TLSv1" "$T/sekishodB.log"
stop_sekishod

# encrypt towards a next hop without STARTTLS: deferred, not sent
IN_PORT=$(free_port) OUT_PORT=$(free_port)
rm -rf "$T/state"
start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o smtp_tls_security_level=encrypt
swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-all --from a@example.org \
	--to user@sekisho.test --header "Message-ID: <must-encrypt@test>" || fail "not accepted"
wait_for 20 sh -c "\"$SEKISHO\" -o state_dir='$T/state' queue list | grep -q '4.7.4'" ||
	fail "no 4.7.4 deferral: $("$SEKISHO" -o state_dir="$T/state" queue list)"
ok "encrypt towards a next hop without STARTTLS defers with 4.7.4"
check "nothing went out in plaintext" sh -c "! grep -rqs 'must-encrypt@test' '$T/final'"
id=$("$SEKISHO" -o state_dir="$T/state" queue list | awk 'NR==2 {print $1}')
"$SEKISHO" -o state_dir="$T/state" queue delete "$id" >/dev/null || fail "queue delete"
check "queue delete removes the message and its file" sh -c \
	"\"$SEKISHO\" -o state_dir='$T/state' queue list | grep -q -- '-- 0 messages' && [ ! -e '$T/state/spool/queue/$id' ]"
stop_sekishod

# LMTP next hop
LMTP=$(free_port)
start_sink lmtp "$LMTP" -L
IN_PORT=$(free_port) OUT_PORT=$(free_port)
start_sekishod -o inbound_next_hop=lmtp:127.0.0.1:"$LMTP"
swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-all --from a@example.org \
	--to u1@sekisho.test,u2@sekisho.test --header "Message-ID: <lmtp-1@test>" || fail "not accepted"
wait_for 20 sh -c "grep -rqs 'lmtp-1@test' '$T/lmtp'" || fail "no LMTP delivery"
wait_for 20 sh -c "\"$SEKISHO\" -o state_dir='$T/state' queue list | grep -q -- '-- 0 messages'" ||
	fail "LMTP message still queued"
ok "LMTP delivery to two recipients completed"
stop_sekishod

# idle timeout on B (smtpd_timeout=2s)
python3 - "$B_IN" >"$T/idle.out" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
f.readline()
print(f.readline().decode().strip())
PY
check "an idle session gets 421 after smtpd_timeout" grep -q "^421 4.4.2" "$T/idle.out"
kill -TERM "$B_PID"
wait "$B_PID" || fail "second sekishod exited with an error"
finish
