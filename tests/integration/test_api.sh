#!/bin/sh
# test_api.sh - the console's REST API against a real sekishod, with curl:
#  - nothing but login answers without a session (401), /metrics only to
#    metrics_allow
#  - login needs the password and a TOTP code; a code is never accepted twice;
#    repeated failures give 429
#  - a quarantined mail is listed, previewed, released (it reaches the
#    Maildir sink) and deleted; a user sees only their own mail
#  - roles: an approver gets 403 on /config; POST without X-CSRF-Token is 403
#  - the message log, stats, audit log and /metrics count what happened
#  - static console files: index.html fallback, CSP, no directory traversal
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v oathtool >/dev/null || skip "oathtool is not installed"
command -v jq >/dev/null || skip "jq is not installed"
command -v curl >/dev/null || skip "curl is not installed"

HP=$(free_port)
BASE=http://127.0.0.1:$HP

# a stand-in for the built console
mkdir -p "$T/dist/assets"
printf '<!doctype html><title>sekisho</title><div id=app></div>\n' >"$T/dist/index.html"
printf 'console.log("sekisho")\n' >"$T/dist/assets/app.js"
printf 'secret\n' >"$T/outside.txt"

# users, before the daemon has ever run (the CLI creates the store)
mkuser() {
	# mkuser NAME ROLE EMAIL -> sets SECRET_NAME
	printf 'correct horse battery\n' |
		sekisho console-user add "$1" --role "$2" --email "$3" --lang en >"$T/user-$1.out" ||
		fail "console-user add $1"
	s=$(sed -n 's/^totp_secret=//p' "$T/user-$1.out")
	[ -n "$s" ] || fail "console-user add $1 printed no totp_secret"
	grep -q "^totp_uri=otpauth://totp/sekisho:$1?secret=$s&issuer=sekisho$" "$T/user-$1.out" ||
		fail "console-user add $1 printed no totp_uri"
	eval "SECRET_$1=$s"
}
mkuser admin admin admin@sekisho.test
mkuser appr approver appr@sekisho.test
mkuser alice user alice@sekisho.test
mkuser bob user bob@sekisho.test
ok "console-user add prints totp_secret and totp_uri"
printf 'short\n' | sekisho console-user add weak --role user >/dev/null 2>&1 &&
	fail "a 5-character password was accepted"
printf 'correct horse battery\n' | sekisho console-user add admin --role user >/dev/null 2>&1 &&
	fail "a second user named admin was accepted"
old=$SECRET_bob
sekisho console-user totp-reset bob >"$T/user-bob.out" || fail "console-user totp-reset"
SECRET_bob=$(sed -n 's/^totp_secret=//p' "$T/user-bob.out")
check "console-user totp-reset gives a new secret" sh -c "[ -n '$SECRET_bob' ] && [ '$SECRET_bob' != '$old' ]"
printf 'correct horse battery\n' | sekisho console-user add temp --role user >/dev/null &&
	sekisho console-user delete temp >/dev/null || fail "console-user delete"
sekisho console-user delete temp >/dev/null 2>&1 && fail "deleting a missing user succeeded"
check "console-user list shows the users and roles" \
	sh -c "\"$SEKISHO\" -o state_dir='$T/state' console-user list | grep -q '^appr  *approver'"

start_sekishod -o network_checks=no -o console_listen=127.0.0.1:"$HP" \
	-o console_dir="$T/dist" -o console_login_max_failures=3 \
	-o symbol_actions="HDR_MISSING_DATE=quarantine"
wait_port "$HP" 30 || fail "the console did not start"

# req JAR METHOD PATH [CSRF] [JSON]: prints the status; body in $T/body
req() {
	jar=$1 m=$2 p=$3 csrf=${4:-} data=${5:-}
	set -- -s -o "$T/body" -w '%{http_code}' -b "$T/$jar.jar" -c "$T/$jar.jar" -X "$m"
	[ -n "$csrf" ] && set -- "$@" -H "X-CSRF-Token: $csrf"
	[ -n "$data" ] && set -- "$@" -H 'Content-Type: application/json' --data "$data"
	curl "$@" "$BASE$p"
}
# login JAR NAME [CODE]: prints the status; csrf in $T/JAR.csrf on success
login() {
	code=${3:-}
	st=$(req "$1" POST /api/v1/login "" \
		"{\"username\":\"$2\",\"password\":\"correct horse battery\",\"totp\":\"$code\"}")
	[ "$st" = 200 ] && jq -r .csrf "$T/body" >"$T/$1.csrf"
	echo "$st"
}
totp() {
	eval "oathtool --totp -b \"\$SECRET_$1\""
}

# ---- nothing without a session ----
for ep in "GET /api/v1/me" "GET /api/v1/quarantine" "GET /api/v1/quarantine/x1" \
	"POST /api/v1/quarantine/x1/release" "POST /api/v1/quarantine/x1/delete" \
	"POST /api/v1/quarantine/x1/learn" "GET /api/v1/messages" "GET /api/v1/stats" \
	"GET /api/v1/config" "GET /api/v1/audit" "GET /api/v1/users" "POST /api/v1/users" \
	"DELETE /api/v1/users/bob" "PUT /api/v1/me" "POST /api/v1/logout" "GET /api/v1/nothing"; do
	set -- $ep
	st=$(req anon "$1" "$2")
	[ "$st" = 401 ] || fail "$ep without a session answered $st, not 401"
	jq -e '.error == "login required"' "$T/body" >/dev/null || fail "$ep: no error text"
done
ok "no API endpoint but login answers without a session (401)"

# ---- login ----
st=$(req anon POST /api/v1/login "" '{"username":"admin","password":"wrong password!","totp":"123456"}')
check "a wrong password is 401 without need_totp" \
	sh -c "[ $st = 401 ] && ! jq -e .need_totp '$T/body' >/dev/null"
st=$(login admin admin)
check "the right password without a TOTP code is 401 with need_totp" \
	sh -c "[ $st = 401 ] && jq -e '.need_totp == true' '$T/body' >/dev/null"
[ -s "$T/admin.jar" ] && grep -q sekisho_session "$T/admin.jar" &&
	fail "a session cookie was set without the TOTP code"
CODE=$(totp admin)
st=$(login admin admin "$CODE")
[ "$st" = 200 ] || fail "login with password and TOTP answered $st: $(cat "$T/body")"
jq -e '.user.name == "admin" and .user.role == "admin" and (.csrf | length) == 64' "$T/body" \
	>/dev/null || fail "login answer: $(cat "$T/body")"
ok "login with password and TOTP code works"
grep -q 'sekisho_session' "$T/admin.jar" || fail "no session cookie"
curl -s -D "$T/hdr" -o /dev/null -H 'Content-Type: application/json' \
	--data "{\"username\":\"appr\",\"password\":\"correct horse battery\",\"totp\":\"$(totp appr)\"}" \
	"$BASE/api/v1/login"
check "the session cookie is HttpOnly and SameSite=Strict" \
	grep -qi '^Set-Cookie: sekisho_session=[0-9a-f]\{64\}; Path=/; HttpOnly; SameSite=Strict' "$T/hdr"
st=$(login admin2 admin "$CODE")
check "the same TOTP code is refused the second time" \
	sh -c "[ $st = 401 ] && jq -e '.need_totp == true and (.error | test(\"already used\"))' '$T/body' >/dev/null"
ACSRF=$(cat "$T/admin.csrf")
st=$(req admin GET /api/v1/me)
check "GET /me gives the user and the CSRF token" \
	sh -c "[ $st = 200 ] && jq -e '.name == \"admin\" and .csrf == \"$ACSRF\"' '$T/body' >/dev/null"

# approver's code above was used by the header check: wait for the next step
sleep_to_next_step() {
	now=$(date +%s)
	sleep $((30 - now % 30 + 1))
}
st=$(login alice alice "$(totp alice)")
[ "$st" = 200 ] || fail "alice login $st"
st=$(login bob bob "$(totp bob)")
[ "$st" = 200 ] || fail "bob login $st"

# ---- mail into quarantine ----
msg() {
	# msg FILE TO SUBJECT MSGID (no Date: quarantined by symbol_actions)
	{
		printf 'From: Sender <sender@example.org>\r\nTo: %s\r\n' "$2"
		printf 'Subject: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n' "$3" "$4"
		printf 'Content-Type: multipart/alternative; boundary=b1\r\n\r\n'
		printf -- '--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain body of %s\r\n' "$3"
		printf -- '--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n'
		printf '<p onclick="x()">Hello <a href="https://evil.example/login">click</a>'
		printf '<script>alert(1)</script><img src="https://evil.example/t.gif" alt="logo">'
		printf '<form action="https://evil.example/"><input name=p></form></p>\r\n--b1--\r\n'
	} >"$1"
}
send() {
	swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-informational \
		--from sender@example.org --to "$1" --data "$2" >"$T/swaks.out" 2>&1 ||
		fail "mail to $1 not accepted: $(tail -3 "$T/swaks.out")"
}
msg "$T/a.eml" alice@sekisho.test "for alice" a1@test
msg "$T/b.eml" bob@sekisho.test "for bob" b1@test
send alice@sekisho.test "$T/a.eml"
send bob@sekisho.test "$T/b.eml"
qcount() {
	[ "$(req admin GET /api/v1/quarantine)" = 200 ] && jq -e ".total == $1" "$T/body" >/dev/null
}
wait_for 20 qcount 2 || fail "the two mails are not in GET /quarantine: $(cat "$T/body")"
jq -e '[.items[].subject] | sort == ["for alice", "for bob"]' "$T/body" >/dev/null ||
	fail "quarantine items: $(cat "$T/body")"
jq -e '.items[0] | (.symbols | index("HDR_MISSING_DATE")) and .action == "quarantine" and (.received | test("Z$"))' \
	"$T/body" >/dev/null || fail "quarantine item fields: $(cat "$T/body")"
ok "quarantined mail appears in GET /quarantine with its symbols"
AID=$(jq -r '.items[] | select(.subject == "for alice") | .id' "$T/body")
BID=$(jq -r '.items[] | select(.subject == "for bob") | .id' "$T/body")

st=$(req admin GET "/api/v1/quarantine?rcpt=bob%40&symbol=HDR_MISSING_DATE")
check "filters: rcpt and symbol" sh -c "[ $st = 200 ] && jq -e '.total == 1 and .items[0].id == \"$BID\"' '$T/body' >/dev/null"
st=$(req admin GET "/api/v1/quarantine?q=FOR%20ALICE&limit=1&offset=0")
check "filters: q (case-insensitive) and paging" sh -c "[ $st = 200 ] && jq -e '.total == 1 and (.items | length) == 1' '$T/body' >/dev/null"
st=$(req admin GET "/api/v1/quarantine?limit=0")
check "a bad limit is 400" [ "$st" = 400 ]

# ---- preview ----
st=$(req admin GET "/api/v1/quarantine/$AID")
[ "$st" = 200 ] || fail "GET /quarantine/ID answered $st"
jq -e '(.text | test("plain body of for alice")) and (.headers | map(.[0]) | index("Subject"))
	and (.symbols[0] | has("reason")) and (.rcpts == ["alice@sekisho.test"])' "$T/body" >/dev/null ||
	fail "preview fields: $(cat "$T/body")"
html=$(jq -r .html "$T/body")
echo "$html" | grep -qi '<script\|onclick\|<form\|<input\|<img\|href=\|src=' &&
	fail "the preview HTML is not sanitized: $html"
echo "$html" | grep -q 'sekisho-link' && echo "$html" | grep -q 'https://evil.example/login' ||
	fail "the link target is not shown: $html"
ok "the preview has text, headers and sanitized HTML with inert links"

# ---- users see only their own mail ----
st=$(req alice GET /api/v1/quarantine)
check "a user lists only their own quarantined mail" \
	sh -c "[ $st = 200 ] && jq -e '.total == 1 and .items[0].id == \"$AID\"' '$T/body' >/dev/null"
st=$(req alice GET "/api/v1/quarantine/$BID")
check "a user cannot read another user's quarantined mail (404)" [ "$st" = 404 ]
st=$(req alice POST "/api/v1/quarantine/$BID/release" "$(cat "$T/alice.csrf")")
check "a user cannot release another user's quarantined mail (404)" [ "$st" = 404 ]
st=$(req alice GET /api/v1/users)
check "a user gets 403 on /users" [ "$st" = 403 ]

# ---- roles ----
sleep_to_next_step
st=$(login appr appr "$(totp appr)")
[ "$st" = 200 ] || fail "approver login $st: $(cat "$T/body")"
st=$(req appr GET /api/v1/config)
check "an approver gets 403 on /config" [ "$st" = 403 ]
st=$(req appr GET /api/v1/quarantine)
check "an approver sees every user's quarantine" sh -c "[ $st = 200 ] && jq -e '.total == 2' '$T/body' >/dev/null"
st=$(req admin GET /api/v1/config)
check "an admin reads /config" \
	sh -c "[ $st = 200 ] && jq -e '.options | map(select(.name == \"console_listen\"))[0].value == \"127.0.0.1:$HP\"' '$T/body' >/dev/null"

# ---- CSRF ----
st=$(req admin POST "/api/v1/quarantine/$AID/release")
check "POST without X-CSRF-Token is 403" [ "$st" = 403 ]
st=$(req admin POST "/api/v1/quarantine/$AID/release" "$(cat "$T/alice.csrf")")
check "POST with another session's CSRF token is 403" [ "$st" = 403 ]

# ---- release and delete ----
st=$(req admin POST "/api/v1/quarantine/$AID/release" "$ACSRF")
check "release answers queued" sh -c "[ $st = 200 ] && jq -e '.state == \"queued\"' '$T/body' >/dev/null"
wait_for 20 sh -c "grep -rqs 'a1@test' '$T/state/sink'" || fail "the released mail did not reach the sink"
ok "release delivers the mail to the Maildir sink"
st=$(req admin POST "/api/v1/quarantine/$AID/release" "$ACSRF")
check "releasing it again is 404 or 409" sh -c "[ $st = 404 ] || [ $st = 409 ]"
st=$(req appr POST "/api/v1/quarantine/$BID/learn" "$(cat "$T/appr.csrf")" '{"label":"spam"}')
check "learn trains the classifier" sh -c "[ $st = 200 ] && jq -e '.outcome == \"learned\"' '$T/body' >/dev/null"
st=$(req bob POST "/api/v1/quarantine/$BID/delete" "$(cat "$T/bob.csrf")")
check "a user deletes their own quarantined mail" [ "$st" = 200 ]
check "the deleted message's file is gone" [ ! -e "$T/state/spool/queue/$BID" ]

# ---- message log, stats, audit, metrics ----
st=$(req admin GET "/api/v1/messages?action=quarantine")
check "the message log keeps both verdicts with their final state" \
	sh -c "[ $st = 200 ] && jq -e '.total == 2 and ([.items[].state] | sort == [\"deleted\", \"done\"])' '$T/body' >/dev/null"
st=$(req alice GET /api/v1/messages)
check "a user's message log holds only their mail" \
	sh -c "[ $st = 200 ] && jq -e '.total == 1 and .items[0].rcpts == [\"alice@sekisho.test\"]' '$T/body' >/dev/null"
st=$(req admin GET "/api/v1/stats?hours=24")
check "stats count the quarantined mail and the symbols" \
	sh -c "[ $st = 200 ] && jq -e '.totals.quarantined == 2 and (.by_action | length) == 24 and ([.by_action[].quarantine] | add) == 2 and (.top_symbols | map(.name) | index(\"HDR_MISSING_DATE\")) and .logins[0].failures >= 2' '$T/body' >/dev/null"
st=$(req admin GET /api/v1/audit)
check "the audit log has the release, learn and delete with user and IP" \
	sh -c "[ $st = 200 ] && jq -e '[.items[] | select(.ip == \"127.0.0.1\") | .action] | (index(\"quarantine_release\") and index(\"quarantine_learn\") and index(\"quarantine_delete\"))' '$T/body' >/dev/null"
check "the audit log has the command line's user changes" \
	sh -c "jq -e '[.items[] | select(.ip == \"local\" and (.user | startswith(\"cli:\"))) | .action] | (index(\"user_add\") and index(\"user_delete\") and index(\"user_totp_reset\"))' '$T/body' >/dev/null"
curl -s -o "$T/metrics" -w '%{http_code}' "$BASE/metrics" >"$T/mst"
check "/metrics has counters and gauges" \
	sh -c "[ \$(cat '$T/mst') = 200 ] && grep -q '^sekisho_received_total [1-9]' '$T/metrics' && grep -q '^sekisho_messages_logged{action=\"quarantine\"} 2$' '$T/metrics' && grep -q '^sekisho_queue_messages{state=\"quarantined\"} 0$' '$T/metrics' && grep -q '^sekisho_symbol_hits{symbol=\"HDR_MISSING_DATE\"} 2$' '$T/metrics' && grep -q '^sekisho_scan_duration_seconds_count 2$' '$T/metrics' && grep -q '^sekisho_delivery_latency_seconds_bucket{le=\"+Inf\"} 1$' '$T/metrics'"

# ---- users ----
st=$(req admin POST /api/v1/users "$ACSRF" '{"name":"carol","password":"another long one","role":"user","email":"carol@sekisho.test","lang":"ja"}')
check "POST /users creates a user and returns the TOTP secret" \
	sh -c "[ $st = 201 ] && jq -e '(.totp_secret | length) == 32 and (.totp_uri | startswith(\"otpauth://totp/sekisho:carol?\"))' '$T/body' >/dev/null"
SECRET_carol=$(jq -r .totp_secret "$T/body")
st=$(req admin DELETE /api/v1/users/bob "$ACSRF")
check "DELETE /users/NAME removes the user" [ "$st" = 204 ]
st=$(req bob GET /api/v1/me)
check "a deleted user's session ends" [ "$st" = 401 ]
st=$(req admin PUT /api/v1/me "$ACSRF" '{"lang":"ja"}')
check "PUT /me sets the language" sh -c "[ $st = 200 ] && jq -e '.lang == \"ja\"' '$T/body' >/dev/null"
st=$(req admin POST /api/v1/logout "$ACSRF")
st2=$(req admin GET /api/v1/me)
check "logout ends the session" sh -c "[ $st = 204 ] && [ $st2 = 401 ]"

# ---- static files ----
curl -s -D "$T/shdr" -o "$T/index" "$BASE/quarantine/some-id"
check "a client route gets index.html with the CSP and nosniff headers" \
	sh -c "grep -q 'id=app' '$T/index' && grep -qi \"^Content-Security-Policy: default-src 'self'\" '$T/shdr' && grep -qi '^X-Content-Type-Options: nosniff' '$T/shdr' && grep -qi '^Content-Type: text/html' '$T/shdr'"
curl -s -D "$T/jhdr" -o /dev/null "$BASE/assets/app.js"
check "a script is served as text/javascript" grep -qi '^Content-Type: text/javascript' "$T/jhdr"
for p in '/../outside.txt' '/assets/../../outside.txt' '/%2e%2e/outside.txt' '/.hidden' \
	'/assets/..%2f..%2foutside.txt' '/../../../../../../etc/passwd' '/assets/%2e%2e/%2e%2e/etc/passwd'; do
	st=$(curl -s --path-as-is -o "$T/trav" -w '%{http_code}' "$BASE$p")
	grep -q 'secret\|root:' "$T/trav" && fail "$p reached a file outside console_dir"
	[ "$st" = 404 ] || [ "$st" = 400 ] || fail "$p answered $st"
done
ok "no directory traversal out of console_dir"

# ---- login limits (last: they lock the account) ----
for i in 1 2 3; do
	req anon POST /api/v1/login "" '{"username":"alice","password":"not the password","totp":""}' >/dev/null
done
st=$(login alice2 alice "$(totp alice)")
check "after console_login_max_failures failures the user gets 429" [ "$st" = 429 ]
check "the refusal is logged" grep -q 'console: login refused user=alice' "$T/sekishod.log"

stop_sekishod

# ---- a restart keeps sessions; HTTPS ----
make_cert
start_sekishod -o network_checks=no -o console_listen=127.0.0.1:"$HP" \
	-o console_dir="$T/dist" -o console_tls=yes -o metrics_allow=192.0.2.0/24 \
	-o tls_cert_file="$T/tls.crt" -o tls_key_file="$T/tls.key"
wait_port "$HP" 30 || fail "the console did not start with TLS"
BASE=https://127.0.0.1:$HP
# the certificate names localhost; the cookies belong to 127.0.0.1
curl() { command curl -k "$@"; }
st=$(req appr GET /api/v1/me)
check "a session survives a restart (kept in the store), now over HTTPS" \
	sh -c "[ $st = 200 ] && jq -e '.name == \"appr\"' '$T/body' >/dev/null"
curl -s -D "$T/thdr" -o "$T/body" -H 'Content-Type: application/json' \
	--data "{\"username\":\"carol\",\"password\":\"another long one\",\"totp\":\"$(totp carol)\"}" \
	"$BASE/api/v1/login"
check "under console_tls the session cookie is Secure" \
	grep -qi '^Set-Cookie: sekisho_session=.*; Secure' "$T/thdr"
st=$(curl -s -o "$T/body" -w '%{http_code}' "$BASE/metrics")
check "/metrics refuses an address outside metrics_allow" \
	sh -c "[ $st = 403 ] && ! grep -q sekisho_ '$T/body'"
st=$(command curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/api/v1/me")
check "plain HTTP is not answered under console_tls" [ "$st" != 401 ]
stop_sekishod
finish
