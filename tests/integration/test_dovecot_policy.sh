#!/bin/sh
# test_dovecot_policy.sh - a real Dovecot asks sekishod's auth policy server.
#
# A private Dovecot (own base_dir, config, log; IMAP on a loopback port,
# no TLS, passwd-file users with {PLAIN} and {SHA512-CRYPT} passwords)
# has auth_policy_server_url pointing at sekishod's auth_policy_listen,
# with an API header both sides know.  IMAP logins are driven with curl.
#
# Checked: a good login passes and its report is stored as a login event;
# a request without the API header is refused (401); repeated wrong
# passwords are first let through, then delayed (the delay is measured),
# then refused once the account is locked (a lock in the store, an alert);
# even the right password is refused while locked; unlocked with the CLI,
# the user gets in again; the other user was never affected; password
# spraying from a rotating /24 refuses that /24 only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot_lib.sh"

dovecot_require
command -v curl >/dev/null || skip "curl is not installed"
command -v bc >/dev/null || skip "bc is not installed"
curl --version | grep -qi imap || skip "curl has no IMAP support"

IMAP_PORT=$(free_port)
POL_PORT=$(free_port)
dovecot_dirs

SHA=$(doveadm pw -s SHA512-CRYPT -p 'bob-Secret-2026')
printf 'alice:{PLAIN}alice-Secret-2026::::::\nbob:%s::::::\n' "$SHA" >"$DV/users"
chmod 644 "$DV/users"

{ dovecot_conf_base "$IMAP_PORT" sekisho-test; cat <<CONF; } >"$DV/dovecot.conf"
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
passdb {
  driver = passwd-file
  args = $DV/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DV/home/%u
}
auth_policy_server_url = http://127.0.0.1:$POL_PORT/
auth_policy_server_api_header = X-API-Key: it-secret
auth_policy_hash_nonce = sekisho-test-nonce
auth_policy_check_before_auth = yes
auth_policy_check_after_auth = yes
auth_policy_report_after_auth = yes
CONF

dovecot_stop() {
	[ -n "${DOVECOT_PID:-}" ] || return 0
	kill -TERM "$DOVECOT_PID" 2>/dev/null
	wait "$DOVECOT_PID" 2>/dev/null
	DOVECOT_PID=
}
trap 'dovecot_stop; cleanup' EXIT

# sekishod first: Dovecot's first login asks it.
start_sekishod -o auth_policy_listen=127.0.0.1:"$POL_PORT" \
	-o auth_policy_api_header="X-API-Key: it-secret" \
	-o login_delay_after=2 -o login_delay_step=1 -o login_delay_max=2 \
	-o login_lock_failures=5 -o login_lock_time=0 -o log_level=debug
wait_port "$POL_PORT" 10 || fail "the auth policy server did not start"

"$DOVECOT" -c "$DV/dovecot.conf" -F >>"$T/dovecot.log" 2>&1 &
DOVECOT_PID=$!
wait_port "$IMAP_PORT" 20 || fail "Dovecot did not start"

# imap USER PASS [FROM]: curl's exit code (0 in, 67 login denied).  FROM
# is the loopback address to connect from: Dovecot's own per-address
# penalty (anvil) would otherwise add its delays to ours.
imap() {
	curl -s -m 30 -o /dev/null --interface "${3:-127.0.0.1}" \
		"imap://127.0.0.1:$IMAP_PORT/" --user "$1:$2"
}

# timed USER PASS FROM: prints "RC SECONDS"
timed() {
	t0=$(date +%s.%N)
	imap "$1" "$2" "$3"
	rc=$?
	t1=$(date +%s.%N)
	echo "$rc $(echo "$t1 - $t0" | bc)"
}

# events LOGIN RESULT: how many login events of that result are stored
events() {
	sekisho account logins "$1" --limit 100 | grep -c " $2 "
}

# The API header is required.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data '{"login":"x","remote":"192.0.2.1"}' "http://127.0.0.1:$POL_PORT/?command=allow")
check "a request without the API header gets 401 (got $code)" [ "$code" = 401 ]
out=$(curl -s -X POST -H 'X-API-Key: it-secret' --data '{"login":"x","remote":"192.0.2.1"}' \
	"http://127.0.0.1:$POL_PORT/?command=allow")
check "allow answers status 0 and a msg ($out)" [ "$out" = '{"status":0,"msg":""}' ]

check "alice logs in with the right password (PLAIN)" imap alice alice-Secret-2026
check "bob logs in with the right password (SHA512-CRYPT)" imap bob bob-Secret-2026
wait_for 5 sh -c "[ \$(\"$SEKISHO\" -o state_dir=\"$T/state\" account logins alice | grep -c ' ok ') -ge 1 ]" ||
	fail "the successful login was not reported"
ok "Dovecot reported the successful login (login event stored)"
sekisho account logins alice | grep ' ok ' | grep -q '127.0.0.1 .*imap.*dovecot' ||
	fail "the login event lacks address, protocol or source"
ok "the login event has address, protocol and source"

# Wrong passwords: 1 and 2 pass undelayed, 3 and 4 are delayed.
for i in 1 2; do
	set -- $(timed alice "wrong-$i" 127.0.0.1$i)
	check "wrong password $i is denied without delay (rc $1, ${2}s)" \
		sh -c "[ $1 = 67 ] && [ \$(echo '$2 < 0.9' | bc) = 1 ]"
done
for i in 3 4; do
	set -- $(timed alice "wrong-$i" 127.0.0.1$i)
	check "wrong password $i is denied after a delay (rc $1, ${2}s)" \
		sh -c "[ $1 = 67 ] && [ \$(echo '$2 >= 0.95' | bc) = 1 ]"
done
grep -q 'status=[12] (delayed)' "$T/sekishod.log" ||
	fail "sekishod did not log a delay decision"
ok "sekishod logged the delay decisions"
imap alice wrong-5 127.0.0.15
wait_for 10 sh -c "\"$SEKISHO\" -o state_dir=\"$T/state\" account list-locks | grep -q '^alice '" ||
	fail "alice was not locked after 5 failures"
ok "alice is locked after 5 failures (brute_force)"
sekisho account list-locks | grep '^alice ' | grep -q 'brute_force' || fail "lock reason"
ok "the lock says why"
sekisho account alerts | grep -q 'brute_force.*alice' || fail "no alert stored"
ok "an alert is stored"

set -- $(timed alice alice-Secret-2026 127.0.0.20)
check "even the right password is refused while locked (rc $1)" [ "$1" = 67 ]
grep -q 'policy server refusal' "$T/dovecot.log" ||
	fail "Dovecot did not log the policy refusal"
ok "Dovecot logged the policy refusal"
wait_for 5 sh -c "[ \$(\"$SEKISHO\" -o state_dir=\"$T/state\" account logins alice --limit 100 | grep -c ' refused ') -ge 1 ]" ||
	fail "the refused login was not reported as refused"
ok "the refusal was reported back (login event 'refused')"
fails=$(events alice fail)
check "failed logins reported ($fails >= 5)" [ "$fails" -ge 5 ]

check "bob is not affected" imap bob bob-Secret-2026

check "sekisho account unlock alice" sekisho account unlock alice
check "alice logs in again after the unlock" imap alice alice-Secret-2026 127.0.0.21

# Password spraying from a /24 that rotates its address: one guess per
# account (users that do not even exist count), each address alone stays
# under every limit.  After login_spray_accounts (10) accounts the whole
# 127.0.1.0/24 is refused, even with a right password; 127.0.0.1 is not.
for i in 1 2 3 4 5 6 7 8 9 10; do
	imap "staff$i" 'Winter2026!' "127.0.1.$((10 + i))"
done
wait_for 5 sh -c "\"$SEKISHO\" -o state_dir=\"$T/state\" account alerts | grep -q 'password_spray.*127.0.1.0/24'" ||
	fail "no password_spray alert for 127.0.1.0/24"
ok "password spraying from a rotating /24 is detected"
set -- $(timed bob bob-Secret-2026 127.0.1.99)
check "the sprayer's /24 is refused even with a right password (rc $1)" [ "$1" = 67 ]
check "bob still logs in from elsewhere" imap bob bob-Secret-2026 127.0.0.1

stop_sekishod
dovecot_stop
finish
