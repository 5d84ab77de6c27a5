#!/bin/sh
# test_e2e.sh - the web console in Debian's Chromium against a real sekishod.
#
# Starts sekishod on free loopback ports with the console on (console_listen),
# a Maildir sink as the inbound next hop and symbol_actions that quarantine
# mail without a Date header; creates console users with `sekisho
# console-user add` (admin, approver, two users); sends two quarantined
# mails and one ordinary mail with swaks; then runs tests/e2e (node --test,
# playwright-core driving /usr/bin/chromium): sign-in with TOTP, dashboard
# (screenshot in tests/e2e/artifacts/dashboard.png), quarantine preview and
# release (the file must arrive in the sink), language switch, role matrix,
# CSRF and 401 without a session.  The console's own unit tests (vitest)
# run first.
#
# Outbound: the outbound listener relays for 127.0.0.1/32; local_domains is
# sekisho.test, so mail to partner.example is outside.  A directory (sekisho
# directory import) puts alice and bob in the group "Sales" whose approver
# is the console user "approver"; alice's holds last 10 minutes, everybody
# else's hold_time (8 s); a file to an outside address weighs 10 in
# approval_rules (approval_threshold 10), so it waits for the approver.
# The browser tests (holds.test.mjs) send through the outbound listener
# (swaks) and check the outbound Maildir sink: held mail (a user sees only
# their own, cancel, send now, automatic send after the countdown),
# approvals (risk and symbols, approve with a comment: delivered exactly
# once; reject), account security (failures written to a mail log that
# sekishod follows (auth_log_files, login_lock_failures 4) make an alert
# and a lock: acknowledge; lock, unlock, logins with IP, incident with a
# step done, close, report), ja/en texts; screenshots of the new pages in
# tests/e2e/artifacts.
#
# Skips (77) when node, npm, chromium or swaks are missing.  The console API
# is part of this tree: a sekishod without it, or a browser test that skips
# for want of an endpoint, is a failure, not a skip.
. "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null || skip "node is not installed (Debian package nodejs)"
command -v npm >/dev/null || skip "npm is not installed (Debian package npm)"

# The console and the test runner's packages, from the committed lockfiles.
npm_ready() {
	[ "$1/node_modules/.package-lock.json" -nt "$1/package-lock.json" ] && return 0
	(cd "$1" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm-$(basename "$1").log" 2>&1
}
npm_ready "$SRC/web" || fail "npm ci in web/ (see the log)"
npm_ready "$SRC/tests/e2e" || fail "npm ci in tests/e2e/ (see the log)"
# Built into the test's own directory: web/dist is left alone.
(cd "$SRC/web" && npm run --silent build -- --outDir "$T/dist" --emptyOutDir) >"$T/web-build.log" 2>&1 ||
	fail "the console does not build (npm run build in web/)"
[ -f "$T/dist/index.html" ] || fail "the console build made no index.html"
ok "the console builds"
(cd "$SRC/web" && npm test --silent) >"$T/vitest.log" 2>&1 || fail "console unit tests (vitest in web/)"
ok "console unit tests pass (i18n catalogs complete, chart scaling)"

[ -x "$CHROMIUM" ] || skip "chromium is not installed ($CHROMIUM; Debian package chromium)"
command -v swaks >/dev/null || skip "swaks is not installed"
command -v curl >/dev/null || skip "curl is not installed"
[ -x "$SEKISHOD" ] || skip "no sekishod in $BUILD"

"$SEKISHO" -o state_dir="$T/state" console-user list >/dev/null 2>&1 ||
	fail "sekisho console-user list does not work"

# users: name role email lang; the password goes on stdin, the TOTP secret
# comes back as totp_secret=BASE32.
printf '{' >"$T/users.json"
sep=""
for u in "admin admin admin@sekisho.test en" "approver approver approver@sekisho.test en" \
	"alice user alice@sekisho.test en" "bob user bob@sekisho.test ja"; do
	# shellcheck disable=SC2086 # split the record
	set -- $u
	pw="e2e-$1-Passw0rd!"
	echo "$pw" | "$SEKISHO" -o state_dir="$T/state" console-user add "$1" --role "$2" \
		--email "$3" --lang "$4" >"$T/user-$1.out" 2>"$T/user-$1.log" ||
		fail "sekisho console-user add $1"
	secret=$(sed -n 's/^totp_secret=//p' "$T/user-$1.out")
	[ -n "$secret" ] || fail "console-user add $1 printed no totp_secret"
	printf '%s"%s":{"password":"%s","secret":"%s","role":"%s","email":"%s"}' \
		"$sep" "$1" "$pw" "$secret" "$2" "$3" >>"$T/users.json"
	sep=","
done
printf '}\n' >>"$T/users.json"
ok "console users created with sekisho console-user add (admin, approver, alice, bob)"

CONSOLE_PORT=$(free_port)
URL="http://127.0.0.1:$CONSOLE_PORT"
mkdir -p "$T/sink" "$T/outsink"
: >"$T/mail.log"
start_sekishod -o inbound_next_hop=maildir:"$T/sink" -o network_checks=no \
	-o symbol_actions="HDR_MISSING_DATE=quarantine" \
	-o console_listen=127.0.0.1:"$CONSOLE_PORT" -o console_dir="$T/dist" \
	-o console_url="$URL" -o local_domains=sekisho.test \
	-o outbound_next_hop=maildir:"$T/outsink" -o trusted_networks=127.0.0.1/32 \
	-o approval_rules="OUT_EXTERNAL_ATTACHMENT:10 OUT_FIRST_DOMAIN:1" \
	-o approval_threshold=10 -o hold_time=8s \
	-o auth_log_files="$T/mail.log" -o login_lock_failures=4
wait_port "$CONSOLE_PORT" 30 || fail "the console does not listen on 127.0.0.1:$CONSOLE_PORT"
wait_port "$OUT_PORT" 30 || fail "the outbound listener does not listen on 127.0.0.1:$OUT_PORT"

# The directory: the approver of alice's and bob's group is the console
# user "approver"; alice's mail is held 10 minutes (time to cancel it).
cat >"$T/dir.csv" <<'EOF'
type,address,name,department,approvers,language,hold_minutes,delegate,members
user,alice@sekisho.test,Alice,Sales,,en,10,,
user,bob@sekisho.test,ボブ,Sales,,ja,,,
group,Sales,Sales,,approver@sekisho.test,,,,
EOF
"$SEKISHO" -o state_dir="$T/state" directory import "$T/dir.csv" >"$T/dir.out" 2>&1 ||
	fail "sekisho directory import (see $T/dir.out)"
ok "directory imported: alice and bob in Sales, approver@sekisho.test approves"
wait_for 10 grep -q 'logwatch: following' "$T/sekishod.log" || fail "the log watcher did not start"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/me")
[ "$code" = 401 ] || fail "GET /api/v1/me without a session answered $code, not 401"

# Two quarantined mails (no Date header), one for alice with an HTML part
# that the server must sanitize, one for bob; and one ordinary mail.
mail() {
	# mail FILE TO MSGID SUBJECT DATE-LINE
	{
		printf 'From: Billing <billing@example.org>\r\nTo: %s\r\nSubject: %s\r\n' "$2" "$4"
		printf 'Message-ID: <%s>\r\n%bMIME-Version: 1.0\r\n' "$3" "$5"
		printf 'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
		printf -- '--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
		printf 'Invoice text part. お支払いのお願い %s\r\n' "$3"
		printf -- '--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
		printf '<html><body><p>Invoice <b>html</b> part %s</p>' "$3"
		printf '<script>document.title="pwned"</script><img src="http://127.0.0.1:9/track.png">'
		printf '<form action="http://127.0.0.1:9/"><input name="pw"></form>'
		printf '<a href="http://127.0.0.1:9/login">pay here</a></body></html>\r\n--b1--\r\n'
	} >"$1"
}
send() {
	swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-all \
		--from billing@example.org --to "$1" --data "$2" || fail "swaks to $1"
}
mail "$T/alice.eml" alice@sekisho.test alice-q1@e2e.test "E2E invoice for alice" ""
mail "$T/bob.eml" bob@sekisho.test bob-q1@e2e.test "E2E invoice for bob" ""
mail "$T/ok.eml" alice@sekisho.test alice-ok1@e2e.test "E2E ordinary mail" 'Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n'
send alice@sekisho.test "$T/alice.eml"
send bob@sekisho.test "$T/bob.eml"
send alice@sekisho.test "$T/ok.eml"
wait_for 30 sh -c "\"$SEKISHO\" -o state_dir='$T/state' quarantine list | grep -q '2 quarantined'" ||
	fail "the two test mails are not in quarantine"
wait_for 30 sh -c "grep -rqs 'alice-ok1@e2e.test' '$T/sink'" || fail "the ordinary mail was not delivered"
check "nothing quarantined reached the sink before release" sh -c "! grep -rqs 'alice-q1@e2e.test' '$T/sink'"

ART="$SRC/tests/e2e/artifacts"
mkdir -p "$ART"
E2E_URL="$URL" E2E_USERS="$T/users.json" E2E_SINK="$T/sink" E2E_ARTIFACTS="$ART" \
	E2E_CHROMIUM="$CHROMIUM" E2E_TMP="$T" E2E_OUT_PORT="$OUT_PORT" E2E_OUTSINK="$T/outsink" \
	E2E_SEKISHO="$SEKISHO" E2E_STATE="$T/state" E2E_AUTHLOG="$T/mail.log" \
	node --test --test-concurrency=1 --test-reporter=spec "$SRC"/tests/e2e/*.test.mjs >"$T/e2e.out" 2>&1
rc=$?
sed 's/^/# /' "$T/e2e.out"
[ $rc -eq 0 ] || fail "console end-to-end tests (node --test tests/e2e, output above)"
stop_sekishod
# A browser test skips itself when the server lacks an endpoint it needs;
# every endpoint is in this tree, so a skip means one went missing.
if grep -q '^ℹ skipped [1-9]' "$T/e2e.out"; then
	fail "some end-to-end tests skipped: the server lacks endpoints they need (see # SKIP lines above)"
fi
ok "console end-to-end tests in Chromium pass"
[ -f "$ART/dashboard.png" ] || fail "no dashboard screenshot"
echo "# dashboard screenshot: $ART/dashboard.png"
for f in approvals approval-detail accounts incident; do
	[ -f "$ART/$f.png" ] || fail "no $f screenshot"
	echo "# $f screenshot: $ART/$f.png"
done
finish
