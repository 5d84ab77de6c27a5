#!/bin/sh
# test_valgrind_hold.sh - the timed paths of outbound holds under
# valgrind's memcheck (no invalid access, no definite or indirect leak), on
# the plain build in SEKISHO_VALGRIND_BUILD:
#  - a hold released by itself when hold_time is over; an approval with a
#    reminder, then the deadline (reject) and the outcome notice
#  - the sender's confirmation tier: the confirm notice, its /link (POST
#    confirm); the mail leaves with a download link and a code mail; the
#    /dl page asks for the code, a wrong code is refused, the right one
#    downloads; the sender's revoke link (GET asks, POST revokes); the
#    console speaks TLS (console_tls)
#  - the recipient checks: wide external mail moved to Bcc, DLP, first
#    recipients, a lookalike domain
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vg_lib.sh"

for c in swaks curl python3; do
	command -v $c >/dev/null || skip "$c is not installed"
done

SINK=$T/state/sink
HP=$(free_port)
BASE=https://127.0.0.1:$HP
# the console of the second run speaks TLS (self-signed: curl -k)
make_cert
mkdir -p "$T/state"
cat >"$T/dir.csv" <<'EOF'
type,address,name,department,approvers,language,hold_minutes,delegate,members
user,taro@sekisho.test,山田 太郎,営業部,,ja,,,
group,営業部,営業部,,boss@sekisho.test,,,,
EOF
printf 'quote\n' >"$T/quote.pdf"

send_out() {
	att=""
	[ $# -ge 2 ] && att="--attach-type application/pdf --attach-name 見積書.pdf --attach @$2"
	# shellcheck disable=SC2086
	swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 60 --hide-all --from taro@sekisho.test \
		--to bob@partner.example --header "Message-Id: <$1@test>" --header "Subject: 見積書 $1" \
		$att || fail "mail $1 not accepted"
}
arrived() {
	grep -lqs "^Message-I[dD]: <$1@test>" "$SINK/bob@partner.example/new/"* 2>/dev/null
}
# notice KIND RCPT: the decoded text of RCPT's notices of KIND
notice() {
	python3 - "$SINK/$2/new" "$1" <<'PY'
import email, os, sys
d, kind = sys.argv[1:3]
for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    m = email.message_from_bytes(open(os.path.join(d, f), "rb").read())
    if m.get("X-Sekisho-Notice") != kind:
        continue
    for p in m.walk():
        if p.get_content_maintype() == "text":
            print(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8"))
PY
}
has_notice() {
	[ -n "$(notice "$1" "$2")" ]
}

# ---- hold time, reminder, deadline ----
# shellcheck disable=SC2086
vg_start_sekishod -o network_checks=no -o bayes_enable=no -o local_domains=sekisho.test \
	-o console_url="$BASE" -o hold_time=3s -o approval_rules=OUT_EXTERNAL_ATTACHMENT:10 \
	-o approval_deadline=6s -o approval_reminder=3s -o approval_deadline_action=reject
sekisho directory import "$T/dir.csv" >/dev/null || fail "directory import"
send_out c1
send_out g1 "$T/quote.pdf"
wait_for 60 arrived c1 || fail "c1 was not released after hold_time"
ok "a hold is released when hold_time is over"
wait_for 60 has_notice reminder boss@sekisho.test || fail "no reminder to the approver"
ok "the approver is reminded"
wait_for 60 has_notice outcome taro@sekisho.test || fail "no outcome notice at the deadline"
ok "the deadline rejects the mail and the sender is told"
check "the expired mail never arrived" sh -c "! grep -lqs '^Message-I[dD]: <g1@test>' '$SINK/bob@partner.example/new/'*"
vg_stop_sekishod
ok "valgrind: the timed run is clean"

# ---- confirmation, code links, revoke ----
# shellcheck disable=SC2086
vg_start_sekishod -o network_checks=no -o bayes_enable=no -o local_domains=sekisho.test \
	-o console_listen=127.0.0.1:"$HP" -o console_url="$BASE" \
	-o approval_rules=OUT_EXTERNAL_ATTACHMENT:5 -o approval_threshold=10 -o confirm_threshold=5 \
	-o attachment_protection=link -o attachment_link_code=yes -o console_tls=yes \
	-o tls_cert_file="$T/tls.crt" -o tls_key_file="$T/tls.key"
wait_port "$HP" 60 || fail "the console did not start"
send_out m1 "$T/quote.pdf"
wait_for 60 has_notice confirm taro@sekisho.test || fail "no confirmation request"
CONFIRM=$(notice confirm taro@sekisho.test | grep -Eo "/link/[A-Za-z0-9_-]{43}\?action=confirm" | head -1)
[ -n "$CONFIRM" ] || fail "the confirmation request has no link"
TOK=$(echo "$CONFIRM" | sed 's,.*/link/,,; s,?.*,,')
curl -k -s --max-time 30 "$BASE$CONFIRM" >/dev/null
curl -k -s --max-time 30 -d action=confirm "$BASE/link/$TOK" >/dev/null
wait_for 60 arrived m1 || fail "the confirmed mail did not leave"
ok "the sender confirms with the link; the mail leaves"
DL=$(python3 - "$SINK/bob@partner.example/new" <<'PY' | grep -Eo "$BASE/dl/[A-Za-z0-9_-]{43}" | head -1
import email, os, sys
d = sys.argv[1]
for f in os.listdir(d):
    m = email.message_from_bytes(open(os.path.join(d, f), "rb").read())
    for p in m.walk():
        if p.get_content_maintype() == "text":
            print(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8"))
PY
)
[ -n "$DL" ] || fail "no download link in m1"
wait_for 60 has_notice attach_code bob@partner.example || fail "no code mail"
CODE=$(notice attach_code bob@partner.example |
	awk 'prev ~ /コード|code/ && NF == 1 { print $1; exit } NF { prev = $0 }')
[ -n "$CODE" ] || fail "no code in the code mail"
check "the page asks for the code" sh -c "curl -k -s --max-time 30 '$DL' | grep -q 'name=\"code\"'"
check "a wrong code is refused (403)" \
	sh -c "[ \$(curl -k -s --max-time 30 -o /dev/null -w '%{http_code}' -d code=WRONGCODE -d file=1 '$DL') = 403 ]"
check "the right code downloads the file" \
	sh -c "curl -k -s --max-time 30 -d code='$CODE' -d file=1 '$DL' | cmp -s - '$T/quote.pdf'"
wait_for 60 has_notice attach_link taro@sekisho.test || fail "no link notice to the sender"
REVOKE=$(notice attach_link taro@sekisho.test | grep -Eo "$BASE/dl/revoke/[A-Za-z0-9_-]{43}" | tail -1)
[ -n "$REVOKE" ] || fail "no revoke link"
curl -k -s --max-time 30 -o /dev/null "$REVOKE"
curl -k -s --max-time 30 -o /dev/null -X POST "$REVOKE"
check "the revoked link gives 410" \
	sh -c "[ \$(curl -k -s --max-time 30 -o /dev/null -w '%{http_code}' '$DL') = 410 ]"
vg_stop_sekishod
ok "valgrind: the confirmation and download run is clean"

# ---- the recipient checks and DLP ----
# shellcheck disable=SC2086
vg_start_sekishod -o network_checks=no -o bayes_enable=no -o local_domains=sekisho.test \
	-o wide_external_action=bcc -o outbound_history_warmup=0 -o outbound_frequent_count=2 \
	-o approval_threshold=0 -o confirm_threshold=0 -o hold_time=0
# plain ID RCPTS HEADERS BODY: a text mail from taro
plain() {
	printf 'From: <taro@sekisho.test>\r\n%bSubject: test %s\r\nMessage-ID: <%s@test>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n' \
		"$3" "$1" "$1" "$4" >"$T/$1.eml"
	swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 60 --hide-all \
		--from taro@sekisho.test --to "$2" --data "$T/$1.eml" || fail "$1 not accepted"
}
plain wide1 "a@alpha-corp.com,b@beta-kk.net,c@gamma-inc.org,d@delta-shoji.jp,hanako@sekisho.test" \
	'To: a@alpha-corp.com, b@beta-kk.net, hanako@sekisho.test\r\nCc: c@gamma-inc.org,\r\n d@delta-shoji.jp\r\n' "hello all"
plain dlp1 tanaka@partner-a.co.jp 'To: tanaka@partner-a.co.jp\r\n' "マイナンバー: 1234-5678-9018 です"
for i in 1 2 3; do
	plain first$i sato@hinagata-shoji.co.jp 'To: sato@hinagata-shoji.co.jp\r\n' "mail $i"
done
plain look1 sato@hinagata-shoj1.co.jp 'To: sato@hinagata-shoj1.co.jp\r\n' "four"
wait_for 60 sh -c "grep -lqs '^Message-I[dD]: <look1@test>' '$SINK/sato@hinagata-shoj1.co.jp/new/'*" ||
	fail "the lookalike mail was not delivered"
check "the wide external mail arrived for each recipient" \
	sh -c "grep -lqs 'wide1@test' '$SINK/d@delta-shoji.jp/new/'* && grep -lqs 'wide1@test' '$SINK/hanako@sekisho.test/new/'*"
grep -qs '^X-Sekisho-Result:.*DLP_MYNUMBER' "$SINK/tanaka@partner-a.co.jp/new/"* ||
	fail "no DLP_MYNUMBER in the result header"
ok "wide external (bcc), DLP, first recipient and lookalike checks ran"
vg_stop_sekishod
ok "valgrind: the recipient checks run is clean"
finish
