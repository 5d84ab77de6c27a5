#!/bin/sh
# test_takeover.sh - a scripted account takeover through the real daemon,
# with swaks on the outbound listener and the journal as the log source:
#  - taro has a baseline (ten ordinary hours, seeded into the store as the
#    sent-mail history writer would have kept them); his ordinary mail goes
#    out, nobody is suspended
#  - failed logins of taro arrive through auth_log_journal (a command that
#    prints journalctl -o short lines; here tail -F on a file)
#  - a burst of phishing-like mail to many new recipients: taro is
#    suspended for sending, the burst is held (kind admin) from then on,
#    one alert, exactly one incident
#  - even an ordinary message of taro waits now; hanako's goes out
#  - `sekisho incident open` takes up the incident sekisho opened (its
#    steps run on it: taro is locked)
#  - `sekisho hold release` sends a held one; `sekisho account resume`
#    lets taro's ordinary mail out again
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"

SINK=$T/state/sink
JOURNAL=$T/journal.txt
DB=$T/state/sekisho.db
: >"$JOURNAL"

# send FROM TO-LIST ID [phish]: one message on the outbound listener
send() {
	body="いつもお世話になっております。資料をお送りします。"
	[ $# -ge 4 ] && body="Your account has been suspended. Verify your password within 24 hours: http://203.0.113.50/login/verify"
	swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 20 --hide-all \
		--from "$1" --to "$(echo "$2" | tr ' ' ',')" --header "Message-Id: <$3@test>" \
		--header "Subject: notice $3" --body "$body" >"$T/send-$3.out" 2>&1 ||
		fail "message $3 not accepted"
}

# delivered ID RCPT: copies of <ID@test> the sink holds for RCPT
delivered() {
	grep -ls "^Message-Id: <$1@test>" "$SINK/$2/new/"* 2>/dev/null | wc -l
}

# is_delivered ID RCPT: exactly one copy arrived (for wait_for)
is_delivered() {
	test "$(delivered "$1" "$2")" -eq 1
}

# qid ID: the queue id of held <ID@test>
qid() {
	sekisho hold list --all | awk -v s="notice $1" 'index($0, s) { print $1; exit }'
}

# kind ID: the hold kind of <ID@test>
kind() {
	sekisho hold list --all | awk -v s="notice $1" 'index($0, s) { print $2; exit }'
}

# held_admin ID: <ID@test> is held for the admin (for wait_for)
held_admin() {
	test "$(kind "$1")" = admin
}

journal_fail() {
	printf '%s mail postfix/submission/smtpd[2211]: warning: unknown[%s]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=%s\n' \
		"$(date '+%b %e %T')" "$2" "$1" >>"$JOURNAL"
}

start_sekishod -o network_checks=no -o local_domains=sekisho.test \
	-o auth_log_journal=yes -o "auth_log_journal_command=tail -n 0 -F $JOURNAL" \
	-o takeover_risky_failures=5 -o login_lock_failures=0
wait_for 10 grep -q 'logwatch: reading the journal' "$T/sekishod.log" ||
	fail "the journal source did not start"
ok "sekishod reads the journal through its command"

# the baseline: ten past hours of two messages to one known contact each
now_h=$(( $(date +%s) / 3600 ))
wait_for 10 test -f "$DB" || fail "no store"
{
	echo "BEGIN;"
	for i in 3 4 5 6 7 8 9 10 11 12; do
		echo "INSERT INTO sender_hours VALUES ('taro@sekisho.test', $((now_h - i)), 2, 2, 0, 1, 0, 0);"
		echo "INSERT INTO sender_hours VALUES ('hanako@sekisho.test', $((now_h - i)), 1, 1, 0, 1, 0, 0);"
	done
	echo "INSERT INTO user_contacts VALUES ('taro@sekisho.test', 'tanaka@client.example', 0, 0, 20);"
	echo "INSERT INTO user_contacts VALUES ('hanako@sekisho.test', 'tanaka@client.example', 0, 0, 10);"
	echo "COMMIT;"
} | sqlite3 "$DB" || fail "cannot seed the history"

send taro@sekisho.test tanaka@client.example ord1
send hanako@sekisho.test tanaka@client.example ord2
wait_for 15 is_delivered ord1 tanaka@client.example || fail "ordinary mail of taro not delivered"
wait_for 15 is_delivered ord2 tanaka@client.example || fail "ordinary mail of hanako not delivered"
ok "ordinary mail goes out"
sekisho account suspended | grep -q 'no accounts suspended' || fail "someone is suspended"
ok "nobody is suspended"

# the attack: failed logins in the journal, then the burst
for i in 1 2 3 4 5 6; do journal_fail taro@sekisho.test 203.0.113.7; done
wait_for 15 sh -c "[ \$(\"$SEKISHO\" -o state_dir=\"$T/state\" account logins taro@sekisho.test | grep -c ' fail ') -ge 6 ]" ||
	fail "the journal's failures were not counted"
ok "six failed logins of taro came through the journal"
sleep 11		# the detector looks at a sender's logins every 10 s at most

i=1
while [ $i -le 8 ]; do
	send taro@sekisho.test "v$i.1@t$i.example v$i.2@u$i.example v$i.3@w$i.example v$i.4@x$i.example v$i.5@y$i.example v$i.6@z$i.example" burst$i phish
	i=$((i + 1))
done
wait_for 15 sh -c "\"$SEKISHO\" -o state_dir=\"$T/state\" account suspended | grep -q '^taro@sekisho.test '" ||
	fail "taro was not suspended"
ok "taro is suspended for sending"
wait_for 15 held_admin burst8 || fail "the last message of the burst is not held for the admin ($(kind burst8))"
check "the burst is held from the suspension on (kind admin)" test "$(kind burst7)" = admin
test "$(delivered burst8 v8.1@t8.example)" -eq 0 || fail "a held message was delivered"
ok "held mail is not delivered"
n=$(sekisho incident list --all | grep -c 'taro@sekisho.test')
check "exactly one incident is open for taro ($n)" test "$n" -eq 1
n=$(sekisho account alerts --all | grep -c 'outbound_takeover')
check "one takeover alert ($n)" test "$n" -eq 1
sqlite3 "$DB" "SELECT reason FROM account_suspensions" | grep -q ACCT_AFTER_RISKY_LOGIN ||
	fail "the suspension does not name the risky login"
ok "the suspension names the risky login"

send taro@sekisho.test tanaka@client.example ord3
send hanako@sekisho.test tanaka@client.example ord4
wait_for 15 held_admin ord3 || fail "taro's ordinary mail was not held"
ok "taro's ordinary mail waits for the admin"
wait_for 15 is_delivered ord4 tanaka@client.example || fail "hanako's mail did not go out"
ok "hanako's mail goes out"
n=$(sekisho incident list --all | grep -c 'taro@sekisho.test')
check "still one incident ($n)" test "$n" -eq 1

# the admin takes up the incident sekisho opened: the steps run on it
sekisho incident open taro@sekisho.test --notice-dir - >"$T/incident.out" 2>&1 ||
	fail "sekisho incident open on the automatic incident failed: $(cat "$T/incident.out")"
n=$(sekisho incident list --all | grep -c 'taro@sekisho.test')
check "the admin's incident open continues the same incident ($n)" test "$n" -eq 1
check "its step 2 locked taro" sh -c "\"$SEKISHO\" -o state_dir=\"$T/state\" account list-locks | grep -q '^taro@sekisho.test '"

q=$(qid ord3)
sekisho hold release "$q" >/dev/null || fail "sekisho hold release $q failed"
wait_for 15 is_delivered ord3 tanaka@client.example || fail "the released message was not delivered"
ok "sekisho hold release sends a held message"

sekisho account resume taro@sekisho.test >/dev/null || fail "resume failed"
send taro@sekisho.test tanaka@client.example ord5
wait_for 15 is_delivered ord5 tanaka@client.example || fail "taro's mail after resume did not go out"
ok "after resume taro's ordinary mail goes out"

stop_sekishod
finish
