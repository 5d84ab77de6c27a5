#!/bin/sh
# test_hold.sh - outbound send hold, recall and approval through the daemon:
#  - mail to an outside address on the outbound listener is held; the sender
#    gets the notice (ISO-2022-JP, Japanese text, recipients, links)
#  - `sekisho hold cancel` stops it: never delivered, its file removed
#  - `sekisho hold release` sends one at once; another leaves by itself
#    when the hold time is over; mail inside the organisation is not held
#  - a held mail survives a restart of sekishod with its remaining time
#  - mail over the approval threshold (a file to an outside address, by
#    its weight in approval_rules) waits for an approver; the approvers of
#    the sender's group and their delegates get the request; approved it
#    arrives exactly once and the sender is told; rejected it never
#    arrives and the sender gets the outcome with the comment
#  - the deadline: a reminder, then the configured outcome (reject, release)
#  - the signed links of the notices (through `sekisho hold link`, the call
#    the console makes): cancel works once, the other link then fails; the
#    sender confirms a mail of the lower tier with its send link; a first
#    mail to a never-seen address asks the sender to confirm, the next does not
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

SINK=$T/state/sink
COMMON="-o network_checks=no -o local_domains=sekisho.test
	-o approval_rules=OUT_EXTERNAL_ATTACHMENT:10 -o approval_threshold=10
	-o console_url=https://gw.sekisho.test:8025"

# send ID TO [attach]: a message with Message-ID <ID@test> from taro
send() {
	att=""
	[ $# -ge 3 ] && att="--attach-type application/pdf --attach-name 見積書.pdf --attach @$3"
	# shellcheck disable=SC2086 # att is a list of options
	swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 20 --hide-all \
		--from taro@sekisho.test --to "$2" --header "Message-Id: <$1@test>" \
		--header "Subject: 見積書の送付 $1" $att >"$T/send-$1.out" 2>&1 ||
		fail "message $1 not accepted"
}

# delivered ID RCPT: how many copies of <ID@test> the sink holds for RCPT
delivered() {
	grep -ls "^Message-Id: <$1@test>" "$SINK/$2/new/"* 2>/dev/null | wc -l
}

# qid ID: the queue id of held <ID@test> (from `sekisho hold list`)
qid() {
	sekisho hold list --all | awk -v s="見積書の送付 $1" 'index($0, s) { print $1; exit }'
}

# notice KIND RCPT QID: the decoded notices of KIND about QID to RCPT,
# "subject<TAB>body" each, checked for the right charset on the way
notice() {
	python3 - "$SINK/$2/new" "$1" "$3" <<'PY'
import email, os, sys
from email.header import decode_header, make_header
d, kind, qid = sys.argv[1:4]
for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    raw = open(os.path.join(d, f), "rb").read()
    m = email.message_from_bytes(raw)
    if m.get("X-Sekisho-Notice") != kind:
        continue
    cs = m.get_content_charset()
    body = m.get_payload(decode=True).decode(cs)
    if qid not in body:
        continue
    if any(b >= 0x80 for b in raw):
        print("8bit-on-the-wire")
    subj = str(make_header(decode_header(m["Subject"])))
    print("charset=%s\tsubject=%s\t%s" % (cs, subj, body.replace("\n", "\\n")))
PY
}

# link KIND RCPT QID ACTION: the signed link for ACTION in that notice
link() {
	notice "$1" "$2" "$3" | grep -Eo "https://[^ ]*/link/[A-Za-z0-9_-]{43}\?action=$4" | head -1
}

start_sekishod $COMMON -o hold_time=6s

cat >"$T/dir.csv" <<'EOF'
type,address,name,department,approvers,language,hold_minutes,delegate,members
user,taro@sekisho.test,山田 太郎,営業部,,ja,,,
user,boss@sekisho.test,佐藤 部長,営業部,,ja,,deputy@sekisho.test,
group,営業部,営業部,,boss@sekisho.test,,,,
list,partners@sekisho.test,取引先,,,,,,bob@partner.example hanako@sekisho.test
list,team@sekisho.test,チーム,,,,,,taro@sekisho.test boss@sekisho.test
EOF
check "the directory imports (Japanese names)" \
	sh -c "'$SEKISHO' -o state_dir='$T/state' directory import '$T/dir.csv' | grep -q '5 entries imported'"
check "the directory lists the Japanese name" \
	sh -c "'$SEKISHO' -o state_dir='$T/state' directory list | grep -q '山田 太郎'"
printf 'quote\n' >"$T/quote.pdf"

# ---- hold, notice, cancel ----
send a1 bob@partner.example
wait_for 10 sh -c "[ -n \"\$('$SEKISHO' -o state_dir='$T/state' hold list | grep 'a1')\" ]" ||
	fail "a1 is not held"
A1=$(qid a1)
wait_for 10 sh -c "[ -n \"\$(ls '$SINK/taro@sekisho.test/new' 2>/dev/null)\" ]" ||
	fail "no notice to the sender"
notice hold taro@sekisho.test "$A1" >"$T/a1.notice"
check "the hold notice is ISO-2022-JP, 7-bit on the wire" \
	sh -c "grep -q '^charset=iso-2022-jp' '$T/a1.notice' && ! grep -q 8bit-on-the-wire '$T/a1.notice'"
check "the notice subject and text are Japanese" \
	sh -c "grep -q 'subject=【送信保留】見積書の送付 a1' '$T/a1.notice' && grep -q '社外宛てのメールを送信前に保留しています' '$T/a1.notice'"
check "the notice lists the recipient and the signed links" \
	sh -c "grep -q 'bob@partner.example' '$T/a1.notice' && grep -Eq 'https://gw.sekisho.test:8025/link/[A-Za-z0-9_-]{43}\?action=cancel' '$T/a1.notice' && grep -Eq '/link/[A-Za-z0-9_-]{43}\?action=release' '$T/a1.notice'"
check "hold cancel recalls it" sekisho hold cancel "$A1"
check "a cancelled hold cannot be released" sh -c "! '$SEKISHO' -o state_dir='$T/state' hold release '$A1' 2>/dev/null"

# the notice's own links
send k1 bob@partner.example
wait_for 10 sh -c "[ -n \"\$('$SEKISHO' -o state_dir='$T/state' hold list | grep 'k1')\" ]" ||
	fail "k1 is not held"
K1=$(qid k1)
wait_for 10 sh -c "[ -n \"\$(grep -ls '$K1' '$SINK/taro@sekisho.test/new/'* 2>/dev/null)\" ]" ||
	fail "no notice for k1"
K1_CANCEL=$(link hold taro@sekisho.test "$K1" cancel)
K1_SEND=$(link hold taro@sekisho.test "$K1" release)
[ -n "$K1_CANCEL" ] && [ -n "$K1_SEND" ] || fail "the k1 notice has no links"
check "the cancel link of the notice recalls the mail" sekisho hold link "$K1_CANCEL"
check "the cancel link works only once" sh -c "! '$SEKISHO' -o state_dir='$T/state' hold link '$K1_CANCEL' 2>/dev/null"
check "the send link is dead once the mail is recalled" sh -c "! '$SEKISHO' -o state_dir='$T/state' hold link '$K1_SEND' 2>/dev/null"
check "a link with a changed token does nothing" sh -c "! '$SEKISHO' -o state_dir='$T/state' hold link '$(echo "$K1_SEND" | sed 's,/link/.,/link/x,')' 2>/dev/null"

# ---- release now; automatic release; inside mail not held ----
send b1 bob@partner.example
wait_for 10 sh -c "[ -n \"\$('$SEKISHO' -o state_dir='$T/state' hold list | grep 'b1')\" ]" ||
	fail "b1 is not held"
T_C1=$(date +%s)
send c1 bob@partner.example
check "hold release sends it now" sekisho hold release "$(qid b1)"
wait_for 4 sh -c "[ \$(grep -ls '^Message-Id: <b1@test>' '$SINK/bob@partner.example/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "a released mail did not leave at once"
ok "a released mail leaves at once"
send i1 boss@sekisho.test
wait_for 5 sh -c "[ \$(grep -ls '^Message-Id: <i1@test>' '$SINK/boss@sekisho.test/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "mail inside the organisation was held"
ok "mail inside the organisation is not held"
send l1 partners@sekisho.test
wait_for 10 sh -c "[ -n \"\$('$SEKISHO' -o state_dir='$T/state' hold list | grep 'l1')\" ]" ||
	fail "a list with an outside member was not held"
ok "a list with an outside member counts as outside (held)"
check "c1 has not left before its time" [ "$(delivered c1 bob@partner.example)" -eq 0 ]
wait_for 12 sh -c "[ \$(grep -ls '^Message-Id: <c1@test>' '$SINK/bob@partner.example/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "c1 was not released after the hold time"
T_C1_DONE=$(date +%s)
check "the automatic release came after the hold time" [ $((T_C1_DONE - T_C1)) -ge 5 ]
check "the cancelled mails never arrived" \
	sh -c "[ $(delivered a1 bob@partner.example) -eq 0 ] && [ $(delivered k1 bob@partner.example) -eq 0 ]"
check "the cancelled mail's spool file is gone" [ ! -e "$T/state/spool/queue/$A1" ]
check "hold list --all shows who cancelled it" \
	sh -c "'$SEKISHO' -o state_dir='$T/state' hold list --all | grep '$A1' | grep -q 'cancelled.*by cli:'"

# ---- a restart keeps the remaining time ----
stop_sekishod
start_sekishod $COMMON -o hold_time=12s
T_D=$(date +%s)
send d1 bob@partner.example
wait_for 10 sh -c "[ -n \"\$('$SEKISHO' -o state_dir='$T/state' hold list | grep 'd1')\" ]" ||
	fail "d1 is not held"
D1=$(qid d1)
sleep 2
stop_sekishod
sleep 2
start_sekishod $COMMON -o hold_time=12s
sleep 3
check "after the restart d1 still waits" [ "$(delivered d1 bob@partner.example)" -eq 0 ]
wait_for 15 sh -c "[ \$(grep -ls '^Message-Id: <d1@test>' '$SINK/bob@partner.example/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "d1 was not released after the restart"
T_D_DONE=$(date +%s)
echo "# d1 left after $((T_D_DONE - T_D))s (hold 12s, down for about 2s)"
check "d1 left at its stored time, not a full hold after the restart" \
	sh -c "[ $((T_D_DONE - T_D)) -ge 11 ] && [ $((T_D_DONE - T_D)) -le 14 ]"
check "the restart sent no second notice" \
	[ "$(notice hold taro@sekisho.test "$D1" | grep -c charset=)" -eq 1 ]

# ---- approval ----
send e1 bob@partner.example "$T/quote.pdf"
wait_for 10 sh -c "'$SEKISHO' -o state_dir='$T/state' approval list | grep -q 'e1'" ||
	fail "e1 does not wait for approval"
E1=$(qid e1)
wait_for 10 sh -c "[ -n \"\$(ls '$SINK/boss@sekisho.test/new' 2>/dev/null | head -1)\" ] && [ -n \"\$(ls '$SINK/deputy@sekisho.test/new' 2>/dev/null)\" ]" ||
	fail "no approval request to the approver and the delegate"
notice approval boss@sekisho.test "$E1" >"$T/e1.req"
check "the approver's request: Japanese, the reason, the attachment, approve and reject links" \
	sh -c "grep -q '承認が必要です' '$T/e1.req' && grep -q 'OUT_EXTERNAL_ATTACHMENT(10)' '$T/e1.req' && grep -q '見積書.pdf' '$T/e1.req' && grep -q 'action=approve' '$T/e1.req' && grep -q 'action=reject' '$T/e1.req' && grep -q '佐藤 部長 様' '$T/e1.req'"
check "the delegate got a request too" [ "$(notice approval deputy@sekisho.test "$E1" | grep -c charset=)" -eq 1 ]
sleep 7
check "e1 is not sent after the hold time while it waits" [ "$(delivered e1 bob@partner.example)" -eq 0 ]
check "approval approve" sekisho approval approve "$E1" --comment "確認済み"
wait_for 5 sh -c "[ \$(grep -ls '^Message-Id: <e1@test>' '$SINK/bob@partner.example/new/'* 2>/dev/null | wc -l) -ge 1 ]" ||
	fail "the approved mail did not arrive"
wait_for 5 sh -c "[ -n \"\$(grep -ls 'X-Sekisho-Notice: outcome' '$SINK/taro@sekisho.test/new/'* 2>/dev/null)\" ]" ||
	fail "no outcome notice for the approval"
notice outcome taro@sekisho.test "$E1" >"$T/e1.out"
check "the sender is told: approved, by whom, the comment" \
	sh -c "grep -q '承認され、送信されました' '$T/e1.out' && grep -q '判断: cli:' '$T/e1.out' && grep -q '確認済み' '$T/e1.out'"
check "a second approval is refused" sh -c "! '$SEKISHO' -o state_dir='$T/state' approval approve '$E1' 2>/dev/null"

send f1 bob@partner.example "$T/quote.pdf"
wait_for 10 sh -c "'$SEKISHO' -o state_dir='$T/state' approval list | grep -q 'f1'" ||
	fail "f1 does not wait for approval"
F1=$(qid f1)
check "approval reject" sekisho approval reject "$F1" --comment "宛先が違います"
wait_for 5 sh -c "[ -n \"\$(grep -l 'X-Sekisho-Notice: outcome' \$(grep -ls '$F1' '$SINK/taro@sekisho.test/new/'* 2>/dev/null) 2>/dev/null)\" ]" ||
	fail "no outcome notice for the rejection"
notice outcome taro@sekisho.test "$F1" >"$T/f1.out"
check "the sender is told: rejected, with the comment" \
	sh -c "grep -q '却下されました' '$T/f1.out' && grep -q '宛先が違います' '$T/f1.out'"
sleep 2
check "the approved mail arrived exactly once" [ "$(delivered e1 bob@partner.example)" -eq 1 ]
check "the rejected mail never arrived" [ "$(delivered f1 bob@partner.example)" -eq 0 ]

# ---- the deadline: reminder, then reject; then release ----
stop_sekishod
start_sekishod $COMMON -o approval_deadline=4s -o approval_reminder=2s \
	-o approval_deadline_action=reject
send g1 bob@partner.example "$T/quote.pdf"
wait_for 10 sh -c "'$SEKISHO' -o state_dir='$T/state' approval list | grep -q 'g1'" ||
	fail "g1 does not wait for approval"
G1=$(qid g1)
wait_for 10 sh -c "[ -n \"\$(grep -ls 'X-Sekisho-Notice: reminder' '$SINK/boss@sekisho.test/new/'* 2>/dev/null)\" ]" ||
	fail "no reminder before the deadline"
notice reminder boss@sekisho.test "$G1" >"$T/g1.rem"
check "the reminder names the deadline (Japanese)" grep -q '承認期限間近' "$T/g1.rem"
wait_for 10 sh -c "'$SEKISHO' -o state_dir='$T/state' hold list --all | grep '$G1' | grep -q 'expired'" ||
	fail "g1 did not expire at the deadline"
wait_for 5 sh -c "[ -n \"\$(grep -l 'X-Sekisho-Notice: outcome' \$(grep -ls '$G1' '$SINK/taro@sekisho.test/new/'* 2>/dev/null) 2>/dev/null)\" ]" ||
	fail "no outcome notice at the deadline"
notice outcome taro@sekisho.test "$G1" >"$T/g1.out"
check "the sender is told it was not approved in time" grep -q '期限までに承認されなかった' "$T/g1.out"
sleep 1
check "the expired mail never arrived" [ "$(delivered g1 bob@partner.example)" -eq 0 ]

# ---- the lower tier: the sender confirms with the link ----
stop_sekishod
start_sekishod -o network_checks=no -o local_domains=sekisho.test \
	-o approval_rules=OUT_EXTERNAL_ATTACHMENT:5 -o approval_threshold=10 -o confirm_threshold=5
send m1 bob@partner.example "$T/quote.pdf"
wait_for 10 sh -c "'$SEKISHO' -o state_dir='$T/state' hold list | grep 'm1' | grep -q confirm" ||
	fail "m1 does not wait for the sender's confirmation"
M1=$(qid m1)
wait_for 10 sh -c "[ -n \"\$(grep -l 'X-Sekisho-Notice: confirm' \$(grep -ls '$M1' '$SINK/taro@sekisho.test/new/'* 2>/dev/null) 2>/dev/null)\" ]" ||
	fail "no confirmation request to the sender"
notice confirm taro@sekisho.test "$M1" >"$T/m1.req"
check "the confirmation request: Japanese, why, send and cancel links" \
	sh -c "grep -q '送信前に確認が必要です' '$T/m1.req' && grep -q 'OUT_EXTERNAL_ATTACHMENT(5)' '$T/m1.req' && grep -q 'action=cancel' '$T/m1.req'"
M1_SEND=$(link confirm taro@sekisho.test "$M1" confirm)
[ -n "$M1_SEND" ] || fail "the confirmation request has no send link"
check "nobody else decides for the sender: no approval request" \
	[ -z "$(grep -ls "$M1" "$SINK/boss@sekisho.test/new/"* 2>/dev/null)" ]
check "the sender confirms with the link" sekisho hold link "$M1_SEND"
wait_for 5 sh -c "[ \$(grep -ls '^Message-Id: <m1@test>' '$SINK/bob@partner.example/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "the confirmed mail did not leave"
ok "the confirmed mail leaves"

stop_sekishod
start_sekishod $COMMON -o approval_deadline=3s -o approval_reminder=0 \
	-o approval_deadline_action=release
send h1 bob@partner.example "$T/quote.pdf"
wait_for 15 sh -c "[ \$(grep -ls '^Message-Id: <h1@test>' '$SINK/bob@partner.example/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "approval_deadline_action=release did not send it"
ok "approval_deadline_action=release sends it at the deadline"
stop_sekishod

# ---- a first-time recipient: the sender confirms once, then the address is known ----
start_sekishod -o network_checks=no -o local_domains=sekisho.test \
	-o approval_rules=OUT_FIRST_RECIPIENT:5 -o approval_threshold=10 -o confirm_threshold=5 \
	-o outbound_history_warmup=0
send f1 new@first.example
wait_for 10 sh -c "'$SEKISHO' -o state_dir='$T/state' hold list | grep 'f1' | grep -q confirm" ||
	fail "a first mail to new@first.example does not ask the sender to confirm"
F1=$(qid f1)
wait_for 10 sh -c "[ -n \"\$(grep -l 'X-Sekisho-Notice: confirm' \$(grep -ls '$F1' '$SINK/taro@sekisho.test/new/'* 2>/dev/null) 2>/dev/null)\" ]" ||
	fail "no confirmation request for the first-time recipient"
notice confirm taro@sekisho.test "$F1" >"$T/f1.req"
check "the request says why: the first mail to this address" grep -q 'OUT_FIRST_RECIPIENT(5)' "$T/f1.req"
F1_SEND=$(link confirm taro@sekisho.test "$F1" confirm)
[ -n "$F1_SEND" ] || fail "the first-time confirmation has no send link"
check "the sender confirms the new address" sekisho hold link "$F1_SEND"
wait_for 5 sh -c "[ \$(grep -ls '^Message-Id: <f1@test>' '$SINK/new@first.example/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "the confirmed first mail did not leave"
ok "the confirmed first mail leaves, once"
send f2 new@first.example
wait_for 10 sh -c "[ \$(grep -ls '^Message-Id: <f2@test>' '$SINK/new@first.example/new/'* 2>/dev/null | wc -l) -eq 1 ]" ||
	fail "the second mail to the now known address was held"
check "the second mail to the same address needs no confirmation" \
	sh -c "! '$SEKISHO' -o state_dir='$T/state' hold list --all | grep -q '見積書の送付 f2'"
stop_sekishod
finish
