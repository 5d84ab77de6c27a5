#!/bin/sh
# test_valgrind_console.sh - the console, the REST API and the notices
# under valgrind's memcheck (no invalid access, no definite or indirect
# leak), on the plain build in SEKISHO_VALGRIND_BUILD:
#  - login with a TOTP code; quarantine list, preview and release; the
#    hold list, a hold's detail and release; the approval list and an
#    approval (the approved mail leaves with a download link: /dl page and
#    file); the other GET endpoints; /metrics
#  - the hold, approval and outcome notices; a hold notice's /link (GET
#    shows, POST cancels)
#  - the API's error answers, users, locks, an incident, logout, a static
#    file
#  - a restart: the quarantine digest tick sends the digest; its /link
#    (GET, POST release); an attachment sent as a ZIP with a password mail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vg_lib.sh"

for c in swaks curl jq oathtool python3; do
	command -v $c >/dev/null || skip "$c is not installed"
done

SINK=$T/state/sink
HP=$(free_port)
BASE=http://127.0.0.1:$HP
COMMON="-o network_checks=no -o bayes_enable=no -o local_domains=sekisho.test
	-o console_listen=127.0.0.1:$HP -o console_url=$BASE
	-o symbol_actions=HDR_MISSING_DATE=quarantine -o hold_time=1h
	-o approval_rules=OUT_EXTERNAL_ATTACHMENT:10 -o approval_threshold=10
	-o attachment_protection=link -o learn_key_file=$T/learn.key"

mkdir -p "$T/state"
printf '0123456789abcdef0123456789abcdef\n' >"$T/learn.key"
printf 'correct horse battery\n' |
	sekisho console-user add admin --role admin --email admin@sekisho.test --lang ja >"$T/admin.out" ||
	fail "console-user add"
SECRET=$(sed -n 's/^totp_secret=//p' "$T/admin.out")
cat >"$T/dir.csv" <<'EOF'
type,address,name,department,approvers,language,hold_minutes,delegate,members
user,taro@sekisho.test,山田 太郎,営業部,,ja,,,
group,営業部,営業部,,boss@sekisho.test,,,,
EOF
sekisho directory import "$T/dir.csv" >/dev/null || fail "directory import"

# shellcheck disable=SC2086 # option list
vg_start_sekishod $COMMON
wait_port "$HP" 60 || fail "the console did not start"

# req METHOD PATH [JSON]: the status; the body in $T/body
req() {
	set -- -s -o "$T/body" -w '%{http_code}' -b "$T/jar" -c "$T/jar" -X "$1" "$BASE$2" \
		${3:+-H} ${3:+"Content-Type: application/json"} ${3:+--data} ${3:+"$3"}
	[ -s "$T/csrf" ] && set -- "$@" -H "X-CSRF-Token: $(cat "$T/csrf")"
	curl --max-time 60 "$@"
}
# send ID FROM TO [FILE]: a mail on the outbound listener
send_out() {
	att=""
	[ $# -ge 4 ] && att="--attach-type application/pdf --attach-name 見積書.pdf --attach @$4"
	# shellcheck disable=SC2086
	swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 60 --hide-all --from "$2" \
		--to "$3" --header "Message-Id: <$1@test>" --header "Subject: 見積書 $1" $att ||
		fail "mail $1 not accepted"
}
# quarantine_mail ID: no Date:, so HDR_MISSING_DATE quarantines it
quarantine_mail() {
	printf 'From: <spam@example.net>\r\nTo: <alice@sekisho.test>\r\nSubject: offer %s\r\nMessage-ID: <%s@test>\r\n\r\nbody\r\n' \
		"$1" "$1" >"$T/$1.eml"
	swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 60 --hide-all \
		--from spam@example.net --to alice@sekisho.test --data "$T/$1.eml" ||
		fail "mail $1 not accepted"
}
# texts DIR [KIND]: the decoded text parts of the mails in DIR (of notice KIND)
texts() {
	python3 - "$@" <<'PY'
import email, os, sys
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    m = email.message_from_bytes(open(os.path.join(d, f), "rb").read())
    if len(sys.argv) > 2 and m.get("X-Sekisho-Notice") != sys.argv[2]:
        continue
    for p in m.walk():
        if p.get_content_maintype() == "text":
            print(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8"))
PY
}
arrived() {
	grep -lqs "^Message-I[dD]: <$1@test>" "$SINK/$2/new/"* 2>/dev/null
}

quarantine_mail q1
quarantine_mail q2
printf 'quote\n' >"$T/quote.pdf"
send_out h1 taro@sekisho.test bob@partner.example
send_out h2 taro@sekisho.test bob@partner.example
send_out e1 taro@sekisho.test bob@partner.example "$T/quote.pdf"
send_out e2 taro@sekisho.test bob@partner.example "$T/quote.pdf"
send_out h3 taro@sekisho.test bob@partner.example
send_out h4 taro@sekisho.test bob@partner.example
quarantine_mail q3

# ---- the API ----
for body in '' '{' '{"username":"admin"}' '{"username":"admin","password":"wrong password","totp":"000000"}' \
	'{"username":"nobody","password":"x","totp":"1"}' '{"username":["a"],"password":{},"totp":1}'; do
	curl -s --max-time 60 -o /dev/null -H 'Content-Type: application/json' --data "$body" \
		"$BASE/api/v1/login"
done
curl -s --max-time 60 -o /dev/null -b 'sekisho_session=0123456789abcdef' "$BASE/api/v1/me"
{ printf '{"username":"'; head -c 300000 /dev/zero | tr '\0' a; printf '"}'; } >"$T/big.json"
curl -s --max-time 60 -o /dev/null -H 'Content-Type: application/json' --data @"$T/big.json" \
	"$BASE/api/v1/login"
ok "malformed logins are answered"
st=$(req POST /api/v1/login "{\"username\":\"admin\",\"password\":\"correct horse battery\",\"totp\":\"$(oathtool --totp -b "$SECRET")\"}")
[ "$st" = 200 ] || fail "login: $st $(cat "$T/body")"
jq -r .csrf "$T/body" >"$T/csrf"
ok "login with password and TOTP"
qcount() {
	[ "$(req GET /api/v1/quarantine)" = 200 ] && jq -e '.total == 3' "$T/body" >/dev/null
}
wait_for 60 qcount || fail "the three mails are not quarantined: $(cat "$T/body")"
QID=$(jq -r '.items[] | select(.subject == "offer q1") | .id' "$T/body")
Q3=$(jq -r '.items[] | select(.subject == "offer q3") | .id' "$T/body")
st=$(req GET "/api/v1/quarantine?q=offer&symbol=HDR_MISSING_DATE&rcpt=alice&limit=2&offset=1")
check "quarantine list with filters" [ "$st" = 200 ]
st=$(req POST "/api/v1/quarantine/$Q3/learn" '{"label":"spam"}')
check "quarantine learn" [ "$st" = 200 ]
st=$(req POST "/api/v1/quarantine/$Q3/delete")
check "quarantine delete" [ "$st" = 200 ]
st=$(req GET "/api/v1/quarantine/$QID")
check "quarantine preview" sh -c "[ $st = 200 ] && jq -e '.rcpts == [\"alice@sekisho.test\"]' '$T/body' >/dev/null"
st=$(req POST "/api/v1/quarantine/$QID/release")
check "quarantine release" [ "$st" = 200 ]
wait_for 30 arrived q1 alice@sekisho.test || fail "the released mail did not arrive"

hid() {
	req GET "/api/v1/holds?state=all" >/dev/null
	jq -r ".items[] | select(.subject == \"見積書 $1\") | .id" "$T/body" | head -1
}
wait_for 60 sh -c "[ \"\$(ls '$SINK/taro@sekisho.test/new' 2>/dev/null | wc -l)\" -ge 2 ]" ||
	fail "no hold notices"
H1=$(hid h1)
H2=$(hid h2)
E1=$(hid e1)
E2=$(hid e2)
H3=$(hid h3)
[ -n "$H1" ] && [ -n "$H2" ] && [ -n "$H3" ] && [ -n "$E1" ] && [ -n "$E2" ] ||
	fail "holds: $(cat "$T/body")"
ok "the holds are listed"
st=$(req GET "/api/v1/holds/$H1")
check "a hold's detail" [ "$st" = 200 ]
st=$(req POST "/api/v1/holds/$H1/release" '{}')
check "hold release" [ "$st" = 200 ]
wait_for 30 arrived h1 bob@partner.example || fail "the released hold did not arrive"
st=$(req GET /api/v1/approvals)
check "the approval list has e1" sh -c "[ $st = 200 ] && grep -q '$E1' '$T/body'"
st=$(req POST "/api/v1/approvals/$E1/approve" '{"comment":"確認済み"}')
check "approve" [ "$st" = 200 ]
st=$(req POST "/api/v1/approvals/$E2/reject" '{"comment":"宛先が違います"}')
check "reject" [ "$st" = 200 ]
st=$(req POST "/api/v1/holds/$H3/cancel" '{}')
check "hold cancel" [ "$st" = 200 ]
wait_for 30 arrived e1 bob@partner.example || fail "the approved mail did not arrive"
DL=$(texts "$SINK/bob@partner.example/new" | grep -Eo "$BASE/dl/[A-Za-z0-9_-]{43}" | head -1)
[ -n "$DL" ] || fail "the approved mail has no download link"
check "the /dl page" sh -c "curl -s --max-time 30 '$DL' | grep -q '見積書.pdf'"
check "the /dl file" sh -c "curl -s --max-time 30 '$DL/file/1' | cmp -s - '$T/quote.pdf'"
wait_for 30 sh -c "grep -lqs 'X-Sekisho-Notice: outcome' '$SINK/taro@sekisho.test/new/'*" ||
	fail "no outcome notice"
ok "approval request and outcome notices sent"
for p in /api/v1/me /api/v1/messages /api/v1/stats /api/v1/audit /api/v1/users \
	/api/v1/config /api/v1/accounts/alerts /api/v1/accounts/locks /api/v1/accounts/logins \
	/api/v1/incidents "/api/v1/holds/$E1"; do
	st=$(req GET "$p")
	[ "$st" = 200 ] || fail "GET $p answered $st"
done
ok "the other GET endpoints answer"
for p in "GET /api/v1/quarantine/nonexistent" "GET /api/v1/holds/nonexistent" \
	"POST /api/v1/holds/$H3/release" "GET /api/v1/quarantine?limit=0" \
	"GET /api/v1/holds?state=bogus" "GET /api/v1/nothing" "POST /api/v1/users"; do
	# shellcheck disable=SC2086 # method and path
	st=$(req $p '{"name":1}')
	case $st in 4??) ;; *) fail "$p answered $st" ;; esac
done
ok "the error answers (400, 404, 409)"
st=$(req POST /api/v1/accounts/locks '{"login":"jiro","reason":"test","for":"2h"}')
check "POST /accounts/locks" sh -c "[ $st = 200 ] || [ $st = 201 ]"
st=$(req DELETE /api/v1/accounts/locks/jiro)
check "DELETE /accounts/locks/LOGIN" sh -c "[ $st = 200 ] || [ $st = 204 ]"
st=$(req GET "/api/v1/accounts/logins?login=jiro&result=fail")
check "GET /accounts/logins with filters" [ "$st" = 200 ]
st=$(req POST /api/v1/incidents '{"login":"hanako@sekisho.test"}')
check "POST /incidents opens one" [ "$st" = 201 ]
INC=$(jq -r .id "$T/body")
st=$(req POST "/api/v1/incidents/$INC/steps/4" '{"done":true,"note":"checked"}')
check "POST /incidents/ID/steps/N" [ "$st" = 200 ]
st=$(req GET "/api/v1/incidents/$INC")
check "GET /incidents/ID" [ "$st" = 200 ]
st=$(req POST "/api/v1/incidents/$INC/close" '{}')
check "POST /incidents/ID/close" sh -c "[ $st = 200 ] || [ $st = 204 ]"
st=$(req POST /api/v1/users '{"name":"carol","password":"another long one","role":"user","email":"carol@sekisho.test","lang":"ja"}')
check "POST /users" [ "$st" = 201 ]
st=$(req DELETE /api/v1/users/carol)
check "DELETE /users/NAME" [ "$st" = 204 ]
st=$(req PUT /api/v1/me '{"lang":"en"}')
check "PUT /me" [ "$st" = 200 ]
check "a static file" sh -c "curl -s --max-time 30 -o /dev/null -w '%{http_code}' '$BASE/quarantine/x' | grep -q '^[24]'"
curl -s --max-time 30 -o /dev/null --path-as-is "$BASE/../../etc/passwd"
check "/metrics" sh -c "curl -s --max-time 30 '$BASE/metrics' | grep -q '^sekisho_received_total'"
printf 'From: a@example.org\nSubject: [SPAM] cheap pills\nX-Sekisho-Result: action=tag\n\nbuy now\n' >"$T/report.eml"
check "a user's report (POST /learn/spam)" sh -c "curl -s --max-time 60 -H 'X-Sekisho-Learn-Key: 0123456789abcdef0123456789abcdef' --data-binary @'$T/report.eml' '$BASE/learn/spam?user=taro' | grep -q '\"outcome\":\"learned\"'"
curl -s --max-time 30 -o /dev/null --data-binary @"$T/report.eml" "$BASE/learn/spam"

# ---- a hold notice's link ----
# shellcheck disable=SC2046 # the notices that name H2
CANCEL=$(grep -h -Eo "$BASE/link/[A-Za-z0-9_-]{43}\?action=cancel" \
	$(grep -ls "$H2" "$SINK/taro@sekisho.test/new/"*) | head -1)
[ -n "$CANCEL" ] || fail "no cancel link for h2"
check "GET /link shows the mail" sh -c "curl -s --max-time 30 '$CANCEL' | grep -q 'method=\"post\"'"
TOK=$(echo "$CANCEL" | sed 's,.*/link/,,; s,?.*,,')
curl -s --max-time 30 -d action=cancel "$BASE/link/$TOK" >/dev/null
wait_for 20 sh -c "'$SEKISHO' -o state_dir='$T/state' hold list --all | grep '$H2' | grep -q cancel" ||
	fail "POST /link did not cancel h2"
ok "POST /link cancels the hold"
st=$(req POST /api/v1/logout)
check "logout" [ "$st" = 204 ]
st=$(req GET /api/v1/me)
check "no session after the logout" [ "$st" = 401 ]
vg_stop_sekishod
ok "valgrind: the console run is clean"

# ---- the digest tick and its link ----
# shellcheck disable=SC2086
vg_start_sekishod $COMMON -o quarantine_digest=yes -o quarantine_digest_time=00:00 \
	-o hold_time=0 -o approval_threshold=0 -o attachment_protection=zip
wait_port "$HP" 60 || fail "the console did not start again"
send_out z1 taro@sekisho.test dave@partner.example "$T/quote.pdf"
wait_for 30 arrived z1 dave@partner.example || fail "z1 not delivered"
check "zip mode: the mail carries the ZIP" grep -lqs 'attachments.zip' "$SINK/dave@partner.example/new/"*
wait_for 30 sh -c "grep -lqs 'X-Sekisho-Notice: attach_password' '$SINK/taro@sekisho.test/new/'*" ||
	fail "zip mode: no password mail"
ok "zip mode: the password mail"
check "a held mail survives the restart" \
	sh -c "'$SEKISHO' -o state_dir='$T/state' hold list | grep -q '見積書 h4'"
wait_for 60 sh -c "grep -lqs 'X-Sekisho-Notice: digest' '$SINK/alice@sekisho.test/new/'*" ||
	fail "no digest from the tick"
ok "the digest tick sent the digest"
REL=$(texts "$SINK/alice@sekisho.test/new" digest | grep -Eo "/link/[A-Za-z0-9_-]{43}\?action=qrelease" | head -1)
[ -n "$REL" ] || fail "the digest has no release link"
check "GET of the digest link" sh -c "curl -s --max-time 30 '$BASE$REL' | grep -q 'offer q2'"
TOK=$(echo "$REL" | sed 's,.*/link/,,; s,?.*,,')
curl -s --max-time 30 -d action=qrelease "$BASE/link/$TOK" >/dev/null
wait_for 30 arrived q2 alice@sekisho.test || fail "the digest link did not release q2"
ok "POST of the digest link releases the mail"
vg_stop_sekishod
ok "valgrind: the digest run is clean"
finish
