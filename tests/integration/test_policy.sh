#!/bin/sh
# test_policy.sh - the verdict through the daemon, end to end:
#  - every delivered message carries Authentication-Results and X-Sekisho-Result
#  - a reject decided within scan_inline_budget is a 5xx answer to DATA
#  - a tagged message arrives with the subject prefix and the ja/en banner
#  - a quarantined message waits; `sekisho quarantine release` delivers it,
#    `delete` removes it
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v smtp-sink >/dev/null || skip "smtp-sink (postfix) is not installed"

SINK=$(free_port)
start_sink in "$SINK"
# No Message-ID -> reject; no Date -> quarantine; a sender on the
# blocklist -> reject; score >= 2 -> tag (HDR_MISSING_FROM scores 2).
start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o network_checks=no \
	-o symbol_actions="HDR_MISSING_MESSAGE_ID=reject HDR_MISSING_DATE=quarantine" \
	-o inbound_tag_score=2 -o tag_subject_prefix="[要注意]" \
	-o sender_blocklist=@blocked.example

msg() {
	# msg FILE "extra header lines" subject
	{
		printf 'From: Sender <sender@example.org>\r\nTo: user@sekisho.test\r\n'
		printf '%b' "$2"
		printf 'Subject: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' "$3"
		printf 'こんにちは。本文です。\r\n'
	} >"$1"
}
send() {
	swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-informational \
		--from "$1" --to user@sekisho.test --data "$2"
}
D='Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n'

msg "$T/ok.eml" "${D}Message-ID: <ok-1@test>\r\n" "ordinary"
send sender@example.org "$T/ok.eml" >"$T/ok.out" 2>&1 || fail "ordinary mail not accepted"
wait_for 20 sh -c "grep -rqs 'ok-1@test' '$T/in'" || fail "ordinary mail not delivered"
f=$(grep -rls 'ok-1@test' "$T/in")
check "delivered mail has Authentication-Results and X-Sekisho-Result" \
	sh -c "grep -q '^Authentication-Results: gw.sekisho.test;' '$f' && grep -q '^X-Sekisho-Result: action=deliver; score=' '$f'"

# a forged result header must not survive
msg "$T/forged.eml" "${D}Message-ID: <forged-1@test>\r\nX-Sekisho-Result: action=deliver; score=-100\r\n" "forged"
send sender@example.org "$T/forged.eml" >/dev/null 2>&1 || fail "forged mail not accepted"
wait_for 20 sh -c "grep -rqs 'forged-1@test' '$T/in'" || fail "forged mail not delivered"
f=$(grep -rls 'forged-1@test' "$T/in")
check "a forged X-Sekisho-Result is replaced by ours" \
	sh -c "[ \$(grep -c '^X-Sekisho-Result:' '$f') -eq 1 ] && ! grep -q 'score=-100' '$f'"

msg "$T/rej.eml" "$D" "no message id"
send sender@example.org "$T/rej.eml" >"$T/rej.out" 2>&1 && fail "a message to reject got 250"
check "a reject within the inline budget is a 550 answer to DATA" grep -q "550 5.7.1" "$T/rej.out"

msg "$T/blk.eml" "${D}Message-ID: <blk-1@test>\r\n" "blocked sender"
send someone@blocked.example "$T/blk.eml" >"$T/blk.out" 2>&1 && fail "a blocked sender got 250"
check "a blocked sender is refused" grep -q "550 5.7.1" "$T/blk.out"

# tag: no From header scores 2
{
	printf 'To: user@sekisho.test\r\n%bMessage-ID: <tag-1@test>\r\nSubject: =?ISO-2022-JP?B?GyRCJCIkJCQmGyhC?=\r\n' "$D"
	printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
	printf '請求書を送ります。\r\n'
} >"$T/tag.eml"
send sender@example.org "$T/tag.eml" >/dev/null 2>&1 || fail "tagged mail not accepted"
wait_for 20 sh -c "grep -rqs 'tag-1@test' '$T/in'" || fail "tagged mail not delivered"
f=$(grep -rls 'tag-1@test' "$T/in")
python3 - "$f" >"$T/tag.check" <<'PY'
import email, sys
from email.header import decode_header, make_header
raw = open(sys.argv[1], "rb").read()
m = email.message_from_bytes(raw)
subject = str(make_header(decode_header(m["Subject"])))
body = m.get_payload(decode=True).decode(m.get_content_charset() or "utf-8")
print("subject=" + subject)
print("banner_ja=%d" % ("【注意】" in body))
print("banner_en=%d" % ("[Caution]" in body))
print("body=%d" % ("請求書を送ります。" in body))
print("action=" + m["X-Sekisho-Result"].split(";")[0])
PY
check "tagged subject is '[要注意] あいう' (prefix on an ISO-2022-JP subject)" grep -q "^subject=\[要注意\] あいう$" "$T/tag.check"
check "tagged body starts with the Japanese and English banner and keeps the text" \
	sh -c "grep -q banner_ja=1 '$T/tag.check' && grep -q banner_en=1 '$T/tag.check' && grep -q body=1 '$T/tag.check'"
check "X-Sekisho-Result says tag" grep -q "^action=action=tag" "$T/tag.check"

# quarantine, then release
msg "$T/q.eml" "Message-ID: <quar-1@test>\r\n" "no date"
send sender@example.org "$T/q.eml" >"$T/q.out" 2>&1 || fail "quarantined mail should get 250"
wait_for 20 sh -c "\"$SEKISHO\" -o state_dir='$T/state' quarantine list | grep -q '1 quarantined'" ||
	fail "message not in quarantine"
ok "a message matching symbol_actions=quarantine is quarantined"
check "nothing was delivered for it" sh -c "! grep -rqs 'quar-1@test' '$T/in'"
id=$(sekisho quarantine list | awk 'NR==2 {print $1}')
sekisho quarantine show "$id" >"$T/qshow.out" || fail "quarantine show"
check "quarantine show gives the symbols with reasons and a preview" \
	sh -c "grep -q 'HDR_MISSING_DATE' '$T/qshow.out' && grep -q 'no Date header' '$T/qshow.out' && grep -q 'quar-1@test' '$T/qshow.out'"
sekisho quarantine release "$id" >/dev/null || fail "quarantine release"
wait_for 20 sh -c "grep -rqs 'quar-1@test' '$T/in'" || fail "released mail not delivered"
ok "a released message is delivered"

send sender@example.org "$T/q.eml" >/dev/null 2>&1 || fail "second quarantined mail"
wait_for 20 sh -c "\"$SEKISHO\" -o state_dir='$T/state' quarantine list | grep -q '1 quarantined'" ||
	fail "second message not in quarantine"
id=$(sekisho quarantine list | awk 'NR==2 {print $1}')
sekisho quarantine delete "$id" >/dev/null || fail "quarantine delete"
check "quarantine delete removes the message and its file" \
	sh -c "\"$SEKISHO\" -o state_dir='$T/state' quarantine list | grep -q '0 quarantined' && [ ! -e '$T/state/spool/queue/$id' ]"
stop_sekishod
finish
