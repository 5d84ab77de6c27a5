#!/bin/sh
# test_quickstart.sh - the production settings of docs/quickstart.md work
# together, as written, in the order the page gives.
#
# The ```conf blocks of the quick start (all but the "Postfix in front"
# one) become one configuration file; only what must differ on a test
# machine is overridden with -o: loopback ports instead of :25/:587, paths
# under the test directory, smtp-sink instead of the internal mail server,
# a self-signed certificate, no DNS (network_checks=no), no mail log.
# Then, as the page says: config check, the first AUTH user before the
# first start, sekishod, the directory CSV of section 8, a test mail in,
# an authenticated mail out with an attachment that waits for approval,
# its approval, the attachment sent as a link, the Dovecot and Postfix
# policy servers answering, the console over TLS, and the online backup
# restored into a new state_dir.
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v smtp-sink >/dev/null || skip "smtp-sink (postfix) is not installed"
command -v curl >/dev/null || skip "curl is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

QS="$SRC/docs/quickstart.md"
python3 - "$QS" >"$T/sekisho.conf" <<'EOF' || fail "cannot read the config blocks"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
for block in re.findall(r"^```conf\n(.*?)^```", text, re.S | re.M):
    if "inbound_listen = 127.0.0.1:10025" in block:
        continue        # the "Postfix in front" variant
    sys.stdout.write(block)
EOF
check "the quick start has the main config block" grep -q '^state_dir = /var/lib/sekisho' "$T/sekisho.conf"
check "the quick start has the approval rules" grep -q '^approval_threshold = ' "$T/sekisho.conf"

make_cert
IN_PORT=$(free_port)
OUT_PORT=$(free_port)
CON_PORT=$(free_port)
AP_PORT=$(free_port)
PD_PORT=$(free_port)
SINK_PORT=$(free_port)
ST=$T/state
# shellcheck disable=SC2086 # a list of options
set -- -c "$T/sekisho.conf" -o state_dir="$ST" -o log_file= \
	-o rules_dir="$SRC/rules" -o templates_dir="$SRC/templates" \
	-o console_dir="$SRC/web/dist" -o clamav_db_dirs= -o network_checks=no \
	-o inbound_listen=127.0.0.1:"$IN_PORT" -o outbound_listen=127.0.0.1:"$OUT_PORT" \
	-o inbound_next_hop=smtp:127.0.0.1:"$SINK_PORT" \
	-o outbound_next_hop=smtp:127.0.0.1:"$SINK_PORT" \
	-o auth_users_file="$ST/auth_users" \
	-o tls_cert_file="$T/tls.crt" -o tls_key_file="$T/tls.key" \
	-o console_listen=127.0.0.1:"$CON_PORT" \
	-o auth_policy_listen=127.0.0.1:"$AP_PORT" -o policy_listen=127.0.0.1:"$PD_PORT" \
	-o auth_log_files= -o queue_scan_interval=1s
qs() { "$SEKISHO" "$@"; }

check "config check accepts the quick start's settings" qs "$@" config check
mkdir -m 700 "$ST"
printf 'Tr0ub4dor&3-long-enough\n' | qs "$@" user add taro@example.co.jp >"$T/useradd.out" 2>&1 ||
	fail "user add: $(cat "$T/useradd.out")"
ok "the first AUTH user is added before the first start"

start_sink sink "$SINK_PORT"
"$SEKISHOD" "$@" >>"$T/sekishod.log" 2>&1 &
SEKISHOD_PID=$!
PIDS="$PIDS $SEKISHOD_PID"
wait_port "$IN_PORT" 30 || fail "sekishod did not start"
ok "sekishod starts on the quick start's settings"

# section 8: the directory CSV as the page shows it
sed -n '/^type,address,name,department/,/^```/p' "$QS" | sed '/^```/d' >"$T/users.csv"
qs "$@" directory import "$T/users.csv" >"$T/import.out" 2>&1 || fail "import: $(cat "$T/import.out")"
check "the directory of the quick start is imported" grep -q '3 entries imported' "$T/import.out"

# a test mail in
swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-all \
	--to taro@example.co.jp --from bob@example.org --header "Message-Id: <qs-in@test>" ||
	fail "the inbound mail was not accepted"
wait_for 20 sh -c "grep -rqs 'qs-in@test' '$T/sink'" || fail "the inbound mail did not reach the next hop"
ok "inbound mail for local_domains reaches inbound_next_hop"

# an authenticated mail out with an attachment: approval (section 8)
echo "quarterly figures" >"$T/report.txt"
swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 20 --hide-all -tls \
	--auth-user taro@example.co.jp --auth-password 'Tr0ub4dor&3-long-enough' \
	--from taro@example.co.jp --to partner@example.com --attach "@$T/report.txt" \
	--header "Message-Id: <qs-out@test>" || fail "the outbound mail was not accepted"
wait_for 20 sh -c "'$SEKISHO' $(printf "'%s' " "$@") approval list | grep -q '^[0-9A-Z]* approval'" ||
	fail "the outbound mail does not wait for approval: $(qs "$@" hold list)"
ok "an attachment to a first-time outside domain waits for approval"
id=$(qs "$@" approval list | awk '$2 == "approval" { print $1; exit }')
qs "$@" approval approve "$id" --comment "OK" >"$T/approve.out" 2>&1 ||
	fail "approve: $(cat "$T/approve.out")"
wait_for 20 sh -c "grep -rqs 'qs-out@test' '$T/sink'" || fail "the approved mail did not leave"
ok "the approved mail leaves through outbound_next_hop"
check "its attachment became a download link (attachment_protection = link)" \
	sh -c "'$SEKISHO' $(printf "'%s' " "$@") attachment list | grep -q \"^$id link\""
f=$(grep -rls 'qs-out@test' "$T/sink" | head -n 1)
check "the file itself did not leave" sh -c "! grep -q 'cXVhcnRlcmx5IGZpZ3VyZXMK' '$f'"

# section 7: the Dovecot auth policy and the Postfix policy server answer
out=$(curl -s -H 'X-API-Key: change-this-long-random-secret' -H 'Content-Type: application/json' \
	-d '{"login":"taro@example.co.jp","remote":"192.0.2.7","pwhash":"abc","protocol":"imap","session_id":"s1"}' \
	"http://127.0.0.1:$AP_PORT/?command=allow")
case $out in
*'"status":0'*) ok "the Dovecot auth policy server allows a first login" ;;
*) fail "auth policy answer: $out" ;;
esac
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' \
	"http://127.0.0.1:$AP_PORT/?command=allow")
[ "$code" = 401 ] && ok "without auth_policy_api_header it answers 401" || fail "no header: HTTP $code"
out=$(printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nsasl_username=taro@example.co.jp\nclient_address=10.0.0.30\nsender=taro@example.co.jp\nrecipient=x@example.com\n\n' |
	python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $PD_PORT), timeout=10)
s.sendall(sys.stdin.buffer.read())
print(s.recv(200).decode().strip())")
case $out in
action=DUNNO*) ok "the Postfix policy server answers check_policy_service" ;;
*) fail "policy answer: $out" ;;
esac
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$CON_PORT/api/v1/me")
[ "$code" = 401 ] && ok "the console answers over TLS (console_tls = yes)" || fail "console: HTTP $code"

# section 12: the online backup, restored into a new state_dir
sqlite3 "$ST/sekisho.db" ".backup '$ST/backup.db'" || fail "sqlite3 .backup failed"
tar -C "$T" --exclude='state/sekisho.db*' --exclude=state/sekishod.lock \
	-czf "$T/backup.tar.gz" state || fail "tar of state_dir failed"
stop_sekishod
mkdir "$T/restore"
tar -C "$T/restore" -xzf "$T/backup.tar.gz" && mv "$T/restore/state/backup.db" "$T/restore/state/sekisho.db" ||
	fail "restore failed"
check "the restored store has the directory" \
	sh -c "'$SEKISHO' -o state_dir='$T/restore/state' directory list | grep -q -- '-- 3 entries'"
check "the restored store has the attachment link" \
	sh -c "'$SEKISHO' -o state_dir='$T/restore/state' attachment list | grep -q \"^$id link\""

finish
