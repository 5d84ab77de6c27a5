#!/bin/sh
# test_valgrind_cli.sh - the sekisho commands under valgrind's memcheck (no
# invalid access, no definite or indirect leak), each run once on the plain
# build in SEKISHO_VALGRIND_BUILD against the state of a running sekishod
# (held, approval and quarantined mail, download links): console-user add,
# directory import, password check, audit sieve, hold release and link,
# approval approve, attachment show, quarantine digest, account lock,
# incident open and step --preview and --send, scan, learn (--explain too).  The other
# subcommands run without valgrind (under a minute in all).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vg_lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"

SINK=$T/state/sink
HP=$(free_port)
mkdir -p "$T/state"

# cli [-i FILE] ARGS...: as vg_cli, without valgrind (the commands that
# only list or differ little from one run under valgrind)
cli() {
	in=/dev/null
	if [ "$1" = -i ]; then
		in=$2
		shift 2
	fi
	"$SEKISHO" -o state_dir="$T/state" "$@" <"$in" >"$T/cli.out" 2>"$T/cli.err"
}

# ---- before the daemon ----
printf 'correct horse battery\n' >"$T/pw"
vg_cli -i "$T/pw" console-user add admin --role admin --email admin@sekisho.test --lang ja ||
	fail "console-user add"
check "console-user add prints the TOTP secret" grep -q '^totp_secret=' "$T/cli.out"
cli -i "$T/pw" console-user add temp --role user || fail "console-user add temp"
cli console-user list && grep -q '^admin ' "$T/cli.out" || fail "console-user list"
cli console-user totp-reset admin || fail "console-user totp-reset"
cli console-user delete temp || fail "console-user delete"
ok "console-user add, list, totp-reset, delete"
cat >"$T/dir.csv" <<'EOF'
type,address,name,department,approvers,language,hold_minutes,delegate,members
user,taro@sekisho.test,山田 太郎,営業部,,ja,,,
group,営業部,営業部,,boss@sekisho.test,,,,
list,team@sekisho.test,チーム,,,,,,taro@sekisho.test boss@sekisho.test
EOF
vg_cli directory import "$T/dir.csv" && grep -q '3 entries imported' "$T/cli.out" ||
	fail "directory import: $(cat "$T/cli.out")"
cli directory list && grep -q '山田 太郎' "$T/cli.out" || fail "directory list"
ok "directory import, list"
printf 'Password1\n' >"$T/weak"
vg_cli -i "$T/weak" password check --user taro
check "password check refuses a weak password" [ $? -ne 0 ]
printf 'violet-Kettle-stairs-93\n' >"$T/strong"
cli -i "$T/strong" password check --user taro --mfa || fail "password check (strong)"
ok "password check"
mkdir -p "$T/sieve/taro"
printf 'require ["copy"];\nredirect :copy "me@gmail.example";\n' >"$T/sieve/taro/fwd.sieve"
vg_cli -o sieve_dir="$T/sieve" -o local_domains=sekisho.test audit sieve --json
grep -q 'me@gmail.example' "$T/cli.out" || fail "audit sieve: $(cat "$T/cli.out" "$T/cli.err")"
cli -o sieve_dir="$T/sieve" -o local_domains=sekisho.test audit sieve --user taro
ok "audit sieve"

# scan, learn and config: the analysis and the classifier offline
printf 'From: <a@example.org>\r\nTo: <b@sekisho.test>\r\nSubject: win money now\r\nMessage-ID: <s1@test>\r\n\r\nclick http://203.0.113.5/win now\r\n' >"$T/s1.eml"
vg_cli scan "$T/s1.eml" || [ $? -lt 99 ] || fail "scan"
vg_cli learn --spam "$T/s1.eml" || fail "learn --spam"
{ printf 'From x@example.net Mon Jan  1 00:00:00 2024\n'; cat "$T/s1.eml"; printf '\n'
  printf 'From x@example.net Mon Jan  1 00:00:01 2024\n'; sed 's/s1@test/s2@test/' "$T/s1.eml"; } \
    >"$T/spam.mbox"
printf 'From: <c@sekisho.test>\r\nSubject: minutes\r\nMessage-ID: <h1@test>\r\n\r\nthe build review\r\n' \
    >"$T/h1.eml"
vg_cli learn --spam "$T/spam.mbox" --ham "$T/h1.eml" || fail "learn --spam mbox --ham"
vg_cli learn --forget "$T/spam.mbox" || fail "learn --forget mbox"
vg_cli learn --explain "$T/s1.eml" "$T/h1.eml" >/dev/null || fail "learn --explain"
cli config check || fail "config check"
ok "scan, learn, config check"

# ---- a daemon (plain, not under valgrind) makes the state ----
start_sekishod -o network_checks=no -o bayes_enable=no -o local_domains=sekisho.test \
	-o console_listen=127.0.0.1:"$HP" -o console_url=http://127.0.0.1:"$HP" \
	-o symbol_actions=HDR_MISSING_DATE=quarantine -o hold_time=1h \
	-o approval_rules=OUT_EXTERNAL_ATTACHMENT:10 -o approval_threshold=10 \
	-o attachment_protection=link
printf 'quote\n' >"$T/quote.pdf"
send_out() {
	att=""
	[ $# -ge 2 ] && att="--attach-type application/pdf --attach-name 見積書.pdf --attach @$2"
	# shellcheck disable=SC2086
	swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 30 --hide-all --from taro@sekisho.test \
		--to bob@partner.example --header "Message-Id: <$1@test>" --header "Subject: 見積書 $1" \
		$att || fail "mail $1 not accepted"
}
for m in h1 h2 h3; do send_out $m; done
send_out e1 "$T/quote.pdf"
send_out e2 "$T/quote.pdf"
printf 'From: <spam@example.net>\r\nTo: <alice@sekisho.test>\r\nSubject: offer q1\r\nMessage-ID: <q1@test>\r\n\r\nbody\r\n' >"$T/q1.eml"
swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 30 --hide-all --from spam@example.net \
	--to alice@sekisho.test --data "$T/q1.eml" || fail "q1 not accepted"
qid() {
	sekisho hold list --all | awk -v s="見積書 $1" 'index($0, s) { print $1; exit }'
}
wait_for 30 sh -c "[ \$(ls '$SINK/taro@sekisho.test/new' 2>/dev/null | wc -l) -ge 3 ]" ||
	fail "no hold notices"
H1=$(qid h1) H2=$(qid h2) H3=$(qid h3) E1=$(qid e1) E2=$(qid e2)
[ -n "$H1" ] && [ -n "$H2" ] && [ -n "$H3" ] && [ -n "$E1" ] && [ -n "$E2" ] ||
	fail "not all mails are held"

# ---- hold, approval ----
cli hold list && grep -q "$H1" "$T/cli.out" || fail "hold list"
cli hold show "$H1" || fail "hold show"
vg_cli hold release "$H1" || fail "hold release"
cli hold cancel "$H2" || fail "hold cancel"
# shellcheck disable=SC2046 # the notices that name H3
LINK=$(grep -h -Eo "http://127.0.0.1:$HP/link/[A-Za-z0-9_-]{43}\?action=cancel" \
	$(grep -ls "$H3" "$SINK/taro@sekisho.test/new/"*) | head -1)
[ -n "$LINK" ] || fail "no cancel link for h3"
vg_cli hold link "$LINK" || fail "hold link"
ok "hold list, show, release, cancel, link"
cli approval list && grep -q "$E1" "$T/cli.out" || fail "approval list"
vg_cli approval approve "$E1" --comment "確認済み" || fail "approval approve"
cli approval reject "$E2" --comment "宛先が違います" || fail "approval reject"
ok "approval list, approve, reject"

# ---- attachment ----
wait_for 30 sh -c "'$SEKISHO' -o state_dir='$T/state' attachment list | grep -q '見積書 e1'" ||
	fail "e1's attachment is not listed"
cli attachment list || fail "attachment list"
A1=$(awk '/見積書 e1/ { print $1; exit }' "$T/cli.out")
vg_cli attachment show "$A1" || fail "attachment show"
cli attachment revoke "$A1" || fail "attachment revoke"
ok "attachment list, show, revoke"

# ---- quarantine ----
wait_for 30 sh -c "'$SEKISHO' -o state_dir='$T/state' quarantine list | grep -q 'offer q1'" ||
	fail "q1 is not quarantined"
cli quarantine list || fail "quarantine list"
Q1=$(awk '/offer q1/ { print $1; exit }' "$T/cli.out")
cli quarantine show "$Q1" || fail "quarantine show"
vg_cli quarantine digest --now --to alice@sekisho.test && grep -q '^1 digest queued' "$T/cli.out" ||
	fail "quarantine digest: $(cat "$T/cli.out")"
cli quarantine release "$Q1" || fail "quarantine release"
ok "quarantine list, show, digest --now, release"

# ---- account, incident ----
vg_cli account lock bob@sekisho.test --reason test --for 2h || fail "account lock"
cli account list-locks && grep -q '^bob@sekisho.test ' "$T/cli.out" || fail "account list-locks"
cli account unlock bob@sekisho.test || fail "account unlock"
cli account alerts --all || fail "account alerts"
cli account logins || fail "account logins"
cli account suspended || fail "account suspended"
ok "account lock, list-locks, unlock, alerts, logins, suspended"
command -v sqlite3 >/dev/null &&
	sqlite3 "$T/state/sekisho.db" "INSERT INTO user_contacts VALUES ('hanako@sekisho.test', 'kenji@torihiki.co.jp', 0, 0, 5); INSERT INTO user_contacts VALUES ('hanako@sekisho.test', 'bob@partner.example', 0, 0, 3);"
vg_cli incident open hanako@sekisho.test --notice-dir - --json || fail "incident open"
ID=$(sed -n 's/.*"id": *\([0-9]*\).*/\1/p' "$T/cli.out" | head -1)
[ -n "$ID" ] || fail "incident open printed no id: $(head -5 "$T/cli.out")"
cli incident list --all || fail "incident list"
cli incident show "$ID" --json || fail "incident show"
cli incident step "$ID" 3 --dry-run || fail "incident step --dry-run"
vg_cli incident step "$ID" 3 --preview || fail "incident step --preview"
cli password status hanako@sekisho.test || fail "password status"
cli incident close "$ID" || fail "incident close"
ok "incident open, list, show, step (dry run, preview), --send, close; password status"

stop_sekishod
finish
