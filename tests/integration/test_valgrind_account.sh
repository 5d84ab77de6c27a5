#!/bin/sh
# test_valgrind_account.sh - account protection under valgrind's memcheck
# (no invalid access, no definite or indirect leak), on the plain build in
# SEKISHO_VALGRIND_BUILD:
#  - the Dovecot auth policy protocol (curl): allow and report, failures
#    that give delays, then a lock; the alert mails to the admin and user
#  - with a GeoIP database (tests/data/make_geo_mmdb.pl): impossible travel
#  - failed logins in a mail log (auth_log_files) lock another account
#  - the Postfix policy protocol (a small python client on one
#    connection): DUNNO, the per-user limit's DEFER, the locked account's
#    REJECT
#  - a takeover: failed logins through the journal command, a burst of
#    phishing-like mail, the suspension, the held mail, one incident
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vg_lib.sh"

for c in swaks curl sqlite3 python3; do
	command -v $c >/dev/null || skip "$c is not installed"
done

SINK=$T/state/sink
DB=$T/state/sekisho.db
JOURNAL=$T/journal.txt
POL=$(free_port)
PPOL=$(free_port)
: >"$JOURNAL"
: >"$T/mail.log"

GEO=""
if perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null &&
	perl "$SRC/tests/data/make_geo_mmdb.pl" "$T/geo.mmdb"; then
	GEO="-o geoip_db=$T/geo.mmdb"
fi

# shellcheck disable=SC2016,SC2086 # the command is run by sekishod; GEO
vg_start_sekishod $GEO -o network_checks=no -o local_domains=sekisho.test \
	-o auth_policy_listen=127.0.0.1:"$POL" -o policy_listen=127.0.0.1:"$PPOL" \
	-o login_delay_after=2 -o login_lock_failures=5 -o login_ip_refuse_failures=100 \
	-o alert_admins=sec@sekisho.test -o policy_user_messages=2 \
	-o auth_log_journal=yes -o "auth_log_journal_command=tail -n 0 -F $JOURNAL" \
	-o takeover_risky_failures=3 -o auth_log_files="$T/mail.log" \
	-o "auth_policy_api_header=X-API-Key: it-secret"
wait_port "$POL" 60 || fail "the auth policy server did not start"
wait_port "$PPOL" 60 || fail "the policy server did not start"

# ---- Dovecot's auth policy ----
# pol COMMAND LOGIN REMOTE SUCCESS: the answer's body
pol() {
	curl -s --max-time 60 -X POST -H 'Content-Type: application/json' -H 'X-API-Key: it-secret' \
		--data "{\"login\":\"$2\",\"remote\":\"$3\",\"pwhash\":\"ab12\",\"protocol\":\"imap\",\"session_id\":\"s$(date +%N)$2\",\"success\":$4,\"policy_reject\":false,\"tls\":false}" \
		"http://127.0.0.1:$POL/?command=$1"
}
st=$(curl -s --max-time 60 -o /dev/null -w '%{http_code}' -X POST --data '{"login":"x"}' \
	"http://127.0.0.1:$POL/?command=allow")
check "a request without the API header is refused ($st)" [ "$st" = 401 ]
# malformed requests: each is answered (or the connection closed), nothing leaks
for body in '' '{' '[]' '{"login":1}' '{"login":"a","remote":"not-an-ip"}' \
	"{\"login\":\"$(head -c 5000 /dev/zero | tr '\0' a)\",\"remote\":\"192.0.2.1\"}"; do
	curl -s --max-time 60 -o /dev/null -X POST -H 'X-API-Key: it-secret' --data "$body" \
		"http://127.0.0.1:$POL/?command=allow"
	curl -s --max-time 60 -o /dev/null -X POST -H 'X-API-Key: it-secret' --data "$body" \
		"http://127.0.0.1:$POL/?command=report"
done
curl -s --max-time 60 -o /dev/null -X POST -H 'X-API-Key: it-secret' --data '{}' \
	"http://127.0.0.1:$POL/?command=bogus"
curl -s --max-time 60 -o /dev/null -H 'X-API-Key: it-secret' "http://127.0.0.1:$POL/?command=allow"
ok "malformed auth policy requests are answered"
check "allow for a good login is status 0" sh -c "[ '$(pol allow hanako 198.51.100.4 true)' = '{\"status\":0,\"msg\":\"\"}' ]"
pol report hanako 198.51.100.4 true >/dev/null
if [ -n "$GEO" ]; then
	# Osaka, then New York at once: a new country and impossible travel
	pol allow hanako 203.0.113.40 true >/dev/null
	pol report hanako 203.0.113.40 true >/dev/null
	wait_for 30 sh -c "'$SEKISHO' -o state_dir='$T/state' account alerts --all | grep -q 'impossible_travel'" ||
		fail "no impossible_travel alert from the GeoIP database"
	ok "GeoIP: impossible travel is noticed"
fi
i=1
delayed=0
while [ $i -le 6 ]; do
	a=$(pol allow alice 203.0.113.9 false)
	case $a in *'"status":'[1-9]*) delayed=1 ;; esac
	pol report alice 203.0.113.9 false >/dev/null
	i=$((i + 1))
done
check "repeated failures are delayed" [ "$delayed" = 1 ]
wait_for 30 sh -c "'$SEKISHO' -o state_dir='$T/state' account list-locks | grep -q '^alice '" ||
	fail "alice was not locked"
a=$(pol allow alice 203.0.113.9 false)
check "a locked account is refused ($a)" sh -c "echo '$a' | grep -q '\"status\":-'"
wait_for 60 sh -c "[ -n \"\$(ls '$SINK/sec@sekisho.test/new' 2>/dev/null)\" ]" ||
	fail "no alert mail to the admin"
wait_for 60 sh -c "[ -n \"\$(ls '$SINK/alice@sekisho.test/new' 2>/dev/null)\" ]" ||
	fail "no alert mail to the user"
ok "the lock sent the alert mails to the admin and the user"

# ---- the mail log source ----
for i in 1 2 3 4 5; do
	printf '%s mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 4 secs): user=<carol>, method=PLAIN, rip=198.51.100.4, lip=192.0.2.1, session=<x>\n' \
		"$(date '+%b %e %T')" >>"$T/mail.log"
done
wait_for 60 sh -c "'$SEKISHO' -o state_dir='$T/state' account list-locks | grep -q '^carol '" ||
	fail "the failures in the mail log did not lock carol"
ok "failures read from auth_log_files lock carol"

# ---- Postfix's policy protocol ----
python3 - "$PPOL" >"$T/ppol.out" <<'PY' || fail "the policy client failed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
f = s.makefile("rwb")
def ask(user, rcpt):
    req = {"request": "smtpd_access_policy", "protocol_state": "RCPT",
           "protocol_name": "ESMTP", "sasl_username": user,
           "client_address": "127.0.0.1", "client_name": "localhost",
           "sender": user + "@sekisho.test", "recipient": rcpt,
           "recipient_count": "0", "instance": "i" + user + rcpt}
    f.write(b"".join(("%s=%s\n" % kv).encode() for kv in req.items()) + b"\n")
    f.flush()
    ans = []
    while True:
        line = f.readline()
        if not line or line == b"\n":
            break
        ans.append(line.decode().strip())
    print(user, rcpt, " ".join(ans))
for i in range(4):
    ask("dave", "x%d@partner.example" % i)
# not a RCPT request, an unknown attribute, then a connection that ends
# in the middle of a request and one with an overlong line
f.write(b"request=smtpd_access_policy\nprotocol_state=DATA\nfoo=bar\n\n")
f.flush()
print("data", f.readline().decode().strip())
f.readline()
for junk in (b"request=smtpd_access_policy\nsasl_username=eve", b"noequals\n\n",
             b"x=" + b"y" * 70000 + b"\n\n"):
    # the server may close first (that is its answer to junk)
    t = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
    try:
        t.sendall(junk)
        t.shutdown(socket.SHUT_WR)
        t.recv(100)
    except OSError:
        pass
    t.close()
ask("alice", "y@partner.example")
PY
check "an ordinary request is DUNNO" grep -q '^dave x0@partner.example action=DUNNO' "$T/ppol.out"
check "over policy_user_messages is deferred (450)" grep -q '^dave x3@partner.example action=450 4.7.1' "$T/ppol.out"
check "a request outside RCPT is DUNNO" grep -q '^data action=DUNNO' "$T/ppol.out"
check "the locked account is REJECTed" grep -q '^alice y@partner.example action=REJECT' "$T/ppol.out"

# ---- a takeover ----
now_h=$(( $(date +%s) / 3600 ))
{
	echo "BEGIN;"
	for i in 3 4 5 6 7 8 9 10 11 12; do
		echo "INSERT INTO sender_hours VALUES ('taro@sekisho.test', $((now_h - i)), 2, 2, 0, 1, 0, 0);"
	done
	echo "INSERT INTO user_contacts VALUES ('taro@sekisho.test', 'tanaka@client.example', 0, 0, 20);"
	echo "COMMIT;"
} | sqlite3 "$DB" || fail "cannot seed the history"
for i in 1 2 3 4; do
	printf '%s mail postfix/submission/smtpd[2211]: warning: unknown[203.0.113.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=taro@sekisho.test\n' \
		"$(date '+%b %e %T')" >>"$JOURNAL"
done
wait_for 30 sh -c "[ \$('$SEKISHO' -o state_dir='$T/state' account logins taro@sekisho.test | grep -c ' fail ') -ge 3 ]" ||
	fail "the journal's failures were not counted"
ok "failed logins came through the journal"
sleep 11		# the detector looks at a sender's logins every 10 s at most
i=1
while [ $i -le 8 ]; do
	swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 60 --hide-all --from taro@sekisho.test \
		--to "v$i.1@t$i.example,v$i.2@u$i.example,v$i.3@w$i.example,v$i.4@x$i.example,v$i.5@y$i.example,v$i.6@z$i.example" \
		--header "Subject: notice b$i" \
		--body "Your account has been suspended. Verify your password within 24 hours: http://203.0.113.50/login/verify" ||
		fail "burst $i not accepted"
	i=$((i + 1))
done
wait_for 60 sh -c "'$SEKISHO' -o state_dir='$T/state' account suspended | grep -q '^taro@sekisho.test '" ||
	fail "taro was not suspended"
ok "taro is suspended for sending"
check "the burst is held for the admin" \
	sh -c "'$SEKISHO' -o state_dir='$T/state' hold list --all | grep 'notice b8' | grep -q admin"
check "one incident" sh -c "[ \$('$SEKISHO' -o state_dir='$T/state' incident list --all | grep -c taro@sekisho.test) -eq 1 ]"

vg_stop_sekishod
ok "valgrind: no invalid access, no definite or indirect leak"
finish
