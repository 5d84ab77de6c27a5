#!/bin/sh
# test_notify.sh - notification mails through a real sekishod, swaks and
# the maildir sink:
#  - quarantine digest: two mails quarantined for alice; a restart with
#    quarantine_digest=yes sends her one digest (ISO-2022-JP, decoded here:
#    subjects, senders, links); another restart sends nothing more (the
#    store row); `sekisho quarantine digest --now` lists only what is new
#  - the digest's release link (through `sekisho hold link`, the call the
#    /link handler makes) releases the mail and it arrives; the link works
#    once; the "not spam" link releases the other one
#  - lock alert: failed logins reported on the Dovecot auth policy protocol
#    lock the account; the admin (alert_admins) and the user each get one
#    mail, Japanese decoded; more failures send no second mail (throttle)
#  - incident step 3: --dry-run lists the contacts with their language,
#    --preview shows the mails, --send queues them (one per language, no
#    Bcc field), they arrive; a second --send is refused; the timeline has
#    the three events
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v curl >/dev/null || skip "curl is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v jq >/dev/null || skip "jq is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"

SINK=$T/state/sink
POL_PORT=$(free_port)
COMMON="-o network_checks=no -o bayes_enable=no -o local_domains=sekisho.test
	-o console_url=https://gw.sekisho.test:8025
	-o symbol_actions=HDR_MISSING_DATE=quarantine
	-o alert_admins=sec@sekisho.test -o alert_mail_interval=1h
	-o auth_policy_listen=127.0.0.1:$POL_PORT -o login_lock_failures=6
	-o login_delay_after=100 -o login_ip_refuse_failures=100"

# mails KIND RCPT: the decoded notices of KIND to RCPT, one line each:
# "charset<TAB>subject<TAB>body with \n", "8bit" first when not 7-bit
mails() {
	python3 - "$SINK/$2/new" "$1" <<'PY'
import email, os, sys
from email.header import decode_header, make_header
d, kind = sys.argv[1:3]
for f in sorted(os.listdir(d), key=lambda f: os.stat(os.path.join(d, f)).st_mtime) if os.path.isdir(d) else []:
    raw = open(os.path.join(d, f), "rb").read()
    m = email.message_from_bytes(raw)
    if kind != "*" and m.get("X-Sekisho-Notice") != kind:
        continue
    cs = m.get_content_charset() or "us-ascii"
    body = m.get_payload(decode=True).decode(cs)
    subj = str(make_header(decode_header(m["Subject"])))
    bcc = "bcc" if m.get("Bcc") is not None else "nobcc"
    print("%s%s\t%s\t%s\t%s" % ("8bit " if any(b >= 0x80 for b in raw) else "", cs, bcc,
        subj, body.replace("\r", "").replace("\n", "\\n")))
PY
}
count() {
	mails "$1" "$2" | wc -l
}
# count_is N KIND RCPT
count_is() {
	[ "$(count "$2" "$3")" -eq "$1" ]
}
# delivered MSGID RCPT: copies of the mail with that Message-ID
delivered() {
	grep -ls "^Message-I[dD]: <$1>" "$SINK/$2/new/"* 2>/dev/null | wc -l
}
# quarantine_mail RCPT SUBJECT MSGID FROM: no Date:, so HDR_MISSING_DATE
quarantine_mail() {
	printf 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\nbody\r\n' \
		"$4" "$1" "$3" "$2" >"$T/$2.eml"
	swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-all \
		--from "$4" --to "$1" --data "$T/$2.eml" || fail "mail $2 not accepted"
}
qcount() {
	[ "$(sekisho quarantine list | grep -c "$1")" -ge "$2" ]
}

# ---- the quarantine digest ----
# shellcheck disable=SC2086 # option lists
start_sekishod $COMMON
quarantine_mail alice@sekisho.test q1@test "Invoice overdue" billing@example.net
quarantine_mail alice@sekisho.test q2@test "You won a prize" lucky@example.org
wait_for 20 qcount "<" 2 || fail "the two mails were not quarantined"
ok "two mails quarantined for alice"
check "no digest while quarantine_digest is off" [ "$(count digest alice@sekisho.test)" -eq 0 ]
stop_sekishod

# shellcheck disable=SC2086
start_sekishod $COMMON -o quarantine_digest=yes -o quarantine_digest_time=00:00
wait_for 15 sh -c "[ -n \"\$(ls '$SINK/alice@sekisho.test/new' 2>/dev/null)\" ]" ||
	fail "no digest from the daemon's tick"
mails digest alice@sekisho.test >"$T/d1"
check "one digest, ISO-2022-JP and 7-bit on the wire" \
	sh -c "[ \$(wc -l <'$T/d1') -eq 1 ] && grep -q '^iso-2022-jp' '$T/d1'"
check "the digest subject is Japanese with the count" \
	grep -q '【隔離メールのお知らせ】2 通のメールを隔離しました' "$T/d1"
check "the digest lists both mails with sender, subject and score" \
	sh -c "grep -q 'Invoice overdue' '$T/d1' && grep -q 'You won a prize' '$T/d1' && grep -q '差出人: billing@example.net' '$T/d1' && grep -q 'スコア:' '$T/d1'"
REL1=$(grep -o 'Invoice overdue.*' "$T/d1" | grep -Eo 'https://gw.sekisho.test:8025/link/[A-Za-z0-9_-]{43}\?action=qrelease' | head -1)
HAM2=$(grep -o 'You won a prize.*' "$T/d1" | grep -Eo 'https://gw.sekisho.test:8025/link/[A-Za-z0-9_-]{43}\?action=notspam' | head -1)
[ -n "$REL1" ] && [ -n "$HAM2" ] || fail "the digest has no release / not-spam links"
ok "each message has a release and a not-spam link"
stop_sekishod

# a restart (or a second node) does not send the day's digest again
CON_PORT=$(free_port)
# shellcheck disable=SC2086
start_sekishod $COMMON -o quarantine_digest=yes -o quarantine_digest_time=00:00 \
	-o console_listen=127.0.0.1:"$CON_PORT"
sleep 3
check "a restart sends no second digest" [ "$(count digest alice@sekisho.test)" -eq 1 ]

# the link as a mail scanner or a browser fetches it: GET shows, only POST acts
URL1=$(echo "$REL1" | sed "s,https://gw.sekisho.test:8025,http://127.0.0.1:$CON_PORT,")
TOK1=$(echo "$REL1" | sed 's,.*/link/,,; s,?.*,,')
check "GET of the release link shows the message and a button" \
	sh -c "curl -s '$URL1' | grep -q 'Invoice overdue' && curl -s '$URL1' | grep -q 'method=\"post\"'"
check "GET of the release link leaves the mail in quarantine" qcount "Invoice overdue" 1
check "POST of the release link releases it" \
	sh -c "curl -s -d action=qrelease 'http://127.0.0.1:$CON_PORT/link/$TOK1' | grep -q 'Released'"
wait_for 10 sh -c "[ \$(grep -ls '^Message-I[dD]: <q1@test>' '$SINK/alice@sekisho.test/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "the released mail did not arrive"
ok "the released mail arrives"
check "the release link works only once" sh -c "! '$SEKISHO' -o state_dir='$T/state' hold link '$REL1' 2>/dev/null"
check "a not-spam link with a changed token does nothing" \
	sh -c "! '$SEKISHO' -o state_dir='$T/state' hold link '$(echo "$HAM2" | sed 's,/link/.,/link/x,')' 2>/dev/null"

# a new quarantined mail: the CLI's digest --now lists only it
quarantine_mail alice@sekisho.test q3@test "Third one" spam@example.com
wait_for 20 qcount "Third one" 1 || fail "the third mail was not quarantined"
check "sekisho quarantine digest --now --to alice queues one digest" \
	sh -c "'$SEKISHO' -o state_dir='$T/state' quarantine digest --now --to alice@sekisho.test | grep -q '^1 digest queued'"
wait_for 10 count_is 2 digest alice@sekisho.test ||
	fail "the CLI's digest was not delivered by the daemon"
mails digest alice@sekisho.test | tail -1 >"$T/d2"
check "the second digest lists only the new mail" \
	sh -c "grep -q '1 通のメールを隔離しました' '$T/d2' && grep -q 'Third one' '$T/d2' && ! grep -q 'Invoice overdue' '$T/d2'"
check "the not-spam link of the first digest still works" sekisho hold link "$HAM2"
wait_for 10 sh -c "[ \$(grep -ls '^Message-I[dD]: <q2@test>' '$SINK/alice@sekisho.test/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "the not-spam mail did not arrive"
ok "the not-spam mail arrives"
check "q1 arrived exactly once" [ "$(delivered q1@test alice@sekisho.test)" -eq 1 ]

# ---- lock alert ----
report() {
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
		--data "{\"login\":\"$1\",\"remote\":\"203.0.113.9\",\"pwhash\":\"$2\",\"protocol\":\"imap\",\"success\":false}" \
		"http://127.0.0.1:$POL_PORT/?command=report"
}
for i in 1 2 3 4 5 6 7 8; do report taro "abcd$i"; done
wait_for 10 sh -c "'$SEKISHO' -o state_dir='$T/state' account list-locks | grep -q taro" ||
	fail "taro was not locked"
ok "failed logins lock taro"
wait_for 10 sh -c "[ \$(ls '$SINK/sec@sekisho.test/new' 2>/dev/null | wc -l) -ge 1 ] && [ \$(ls '$SINK/taro@sekisho.test/new' 2>/dev/null | wc -l) -ge 1 ]" ||
	fail "no alert mails to the admin and the user"
mails alert-admin sec@sekisho.test >"$T/a1"
mails alert-user taro@sekisho.test >"$T/a2"
check "the admin's alert is ISO-2022-JP Japanese and names taro and the address" \
	sh -c "grep -q '^iso-2022-jp' '$T/a1' && grep -q 'セキュリティ警告' '$T/a1' && grep -q 'taro' '$T/a1' && grep -q '203.0.113.9' '$T/a1'"
check "the user's alert is Japanese and addressed to taro@sekisho.test" \
	sh -c "grep -q '^iso-2022-jp' '$T/a2' && grep -q '不審なアクセス' '$T/a2' && grep -q 'taro@sekisho.test 様' '$T/a2'"
N_ADMIN=$(count alert-admin sec@sekisho.test)
for i in 9 10 11 12 13 14 15 16; do report taro "efgh$i"; done
sleep 3
check "more failures send no second mail of the same kind (throttle)" \
	count_is 1 alert-user taro@sekisho.test
check "nor a second mail to the admin" count_is "$N_ADMIN" alert-admin sec@sekisho.test

# ---- incident step 3 ----
swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 20 --hide-all --from hanako@sekisho.test \
	--to bob@partner.example,kenji@torihiki.co.jp,jiro@sekisho.test \
	--header "Subject: quarterly report" --body "see attached" || fail "outbound mail refused"
wait_for 20 sh -c "[ -n \"\$(ls '$SINK/kenji@torihiki.co.jp/new' 2>/dev/null)\" ]" ||
	fail "outbound mail not delivered"
ok "hanako's mail to two outside contacts delivered"
# the sent-mail history is written every 2 s by the forward detector
wait_for 10 sh -c "sqlite3 '$T/state/sekisho.db' \"select count(*) from user_contacts\" | grep -qx 3" ||
	fail "hanako's contacts are not in the sent-mail history"
sekisho incident open hanako@sekisho.test --notice-dir - --json >"$T/open.json" 2>"$T/open.err" ||
	fail "incident open: $(cat "$T/open.err")"
ID=$(jq .id "$T/open.json")
sekisho incident step "$ID" 3 --dry-run --json >"$T/dry.json" || fail "dry run failed"
check "the dry run lists the outside contacts with their language, not the inside one" \
	sh -c "jq -e '[.recipients[] | .address + \":\" + .lang] | sort == [\"bob@partner.example:en\", \"kenji@torihiki.co.jp:ja\"]' '$T/dry.json' >/dev/null"
check "the dry run queues nothing" [ "$(jq .queued "$T/dry.json")" = 0 ]
sekisho incident step "$ID" 3 --preview >"$T/preview.txt" || fail "preview failed"
check "the preview shows both mails, decoded" \
	sh -c "grep -q -- '--- ja ---' '$T/preview.txt' && grep -q -- '--- en ---' '$T/preview.txt' && grep -q '不審なメールにご注意ください' '$T/preview.txt' && ! grep -qi '^Bcc:' '$T/preview.txt'"
check "nothing was sent by the preview or the dry run" count_is 1 '*' bob@partner.example
check "send queues the warnings" \
	sh -c "'$SEKISHO' -o state_dir='$T/state' incident step $ID 3 --send | grep -q 'queued for 2 contacts'"
wait_for 10 sh -c "[ \$(ls '$SINK/bob@partner.example/new' | wc -l) -ge 2 ] && [ \$(ls '$SINK/kenji@torihiki.co.jp/new' | wc -l) -ge 2 ]" ||
	fail "the warnings did not arrive"
mails '*' kenji@torihiki.co.jp | grep '不審なメール' >"$T/w-ja"
mails '*' bob@partner.example | grep -v 'quarterly report' >"$T/w-en"
check "the .jp contact gets the Japanese warning (ISO-2022-JP), no Bcc field" \
	sh -c "grep -q '^iso-2022-jp	nobcc	【重要】不審なメールにご注意ください' '$T/w-ja' && grep -q 'hanako@sekisho.test' '$T/w-ja'"
check "the other contact gets the English warning" \
	sh -c "[ \$(wc -l <'$T/w-en') -eq 1 ] && grep -q 'nobcc' '$T/w-en' && ! grep -q '不審' '$T/w-en'"
check "nobody inside got a warning" sh -c "[ \$(ls '$SINK/jiro@sekisho.test/new' | wc -l) -eq 1 ]"
check "a second send is refused" \
	sh -c "! '$SEKISHO' -o state_dir='$T/state' incident step $ID 3 --send 2>/dev/null"
sekisho incident show "$ID" --json >"$T/show.json"
check "the timeline has the dry run, the preview and the warning" \
	sh -c "jq -e '[.timeline[].what] | (index(\"warning_dry_run\") != null) and (index(\"warning_previewed\") != null) and (index(\"contacts_warned\") != null)' '$T/show.json' >/dev/null"

stop_sekishod
finish
