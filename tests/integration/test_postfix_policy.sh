#!/bin/sh
# test_postfix_policy.sh - a real Postfix asks sekishod's policy server.
#
# A private Postfix instance (loopback only, no chroot, as in
# test_postfix.sh) runs a submission smtpd with SASL through a private
# Dovecot's auth socket (passwd-file users) and
#   smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:PORT,
#                                  permit_sasl_authenticated, reject
# Accepted mail is discarded (nothing leaves the machine).
#
# Checked: an authenticated user's mail passes (DUNNO); a locked account
# (sekisho account lock) is refused with 5.7.1 and passes again after the
# unlock; a user over policy_user_messages per hour is deferred with
# 450 4.7.1; a user over policy_user_domains distinct external domains is
# deferred for the extra domain while local recipients still pass.
. "$(dirname "$0")/lib.sh"

PF_SBIN=/usr/lib/postfix/sbin
for b in /usr/sbin/postfix /usr/sbin/postconf "$PF_SBIN/master" "$PF_SBIN/smtpd" \
	"$PF_SBIN/discard"; do
	[ -x "$b" ] || skip "Postfix is not installed ($b is missing; Debian package postfix)"
done
DOVECOT=/usr/sbin/dovecot
[ -x "$DOVECOT" ] || skip "Dovecot is not installed (its auth socket serves Postfix SASL)"
command -v swaks >/dev/null || skip "swaks is not installed"
[ "$(id -u)" = 0 ] || skip "a private Postfix instance needs root to start"
getent passwd postfix >/dev/null || skip "no 'postfix' user"
getent group postdrop >/dev/null || skip "no 'postdrop' group"
getent passwd dovenull >/dev/null || skip "no dovenull user"

PF=$T/postfix
PFCONF=$PF/etc
PFQ=$PF/spool
DV=$T/dovecot
PF_SUB=$(free_port)
POL_PORT=$(free_port)
IMAP_PORT=$(free_port)

chmod 711 "$T"
mkdir -p "$PFCONF" "$PFQ" "$PF/data" "$DV/run" "$DV/state"
chown postfix:postfix "$PF/data"

printf '%s\n' 'alice:{PLAIN}alice-Secret-2026::::::' 'bob:{PLAIN}bob-Secret-2026::::::' \
	'carol:{PLAIN}carol-Secret-2026::::::' >"$DV/users"
chmod 644 "$DV/users"

cat >"$DV/dovecot.conf" <<CONF
base_dir = $DV/run
state_dir = $DV/state
instance_name = sekisho-pf-$PF_SUB
log_path = $T/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = $DV/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service auth {
  unix_listener pf-auth {
    mode = 0666
  }
}
CONF

pf() {
	/usr/sbin/postfix -c "$PFCONF" "$@"
}

postfix_stop() {
	[ -f "$PFQ/pid/master.pid" ] || return 0
	pf stop >/dev/null 2>&1
	wait_for 20 sh -c "! kill -0 \$(sed 's/ //g' '$PFQ/pid/master.pid') 2>/dev/null"
	rm -f "$PFQ/pid/master.pid"
}

dovecot_stop() {
	[ -n "${DOVECOT_PID:-}" ] || return 0
	kill -TERM "$DOVECOT_PID" 2>/dev/null
	wait "$DOVECOT_PID" 2>/dev/null
	DOVECOT_PID=
}
trap 'postfix_stop; dovecot_stop; cleanup' EXIT

cat >"$PFCONF/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $PFQ
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $T
maillog_file = $T/postfix.log
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = submit.postfix.test
mydomain = postfix.test
myorigin = \$myhostname
mynetworks = 127.0.0.0/8
mydestination =
local_transport = error:local delivery is disabled in this test
alias_maps =
alias_database =
local_recipient_maps =
relay_domains =
biff = no
smtputf8_enable = no
# nothing leaves: every accepted recipient is discarded
default_transport = discard:test
relay_transport = discard:test
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $DV/run/pf-auth
smtpd_tls_security_level = none
smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$POL_PORT,
  permit_sasl_authenticated, reject
smtpd_relay_restrictions =
policy_time_limit = 60s
CONF

cat >"$PFCONF/master.cf" <<CONF
127.0.0.1:$PF_SUB inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CONF

start_sekishod -o policy_listen=127.0.0.1:"$POL_PORT" -o local_domains=sekisho.test \
	-o policy_user_messages=3 -o policy_user_domains=3
wait_port "$POL_PORT" 10 || fail "the policy server did not start"

"$DOVECOT" -c "$DV/dovecot.conf" -F >>"$T/dovecot.log" 2>&1 &
DOVECOT_PID=$!
wait_for 20 test -S "$DV/run/pf-auth" || fail "Dovecot's auth socket did not appear"

pf check >"$T/postfix-check.log" 2>&1 || fail "postfix check: $(cat "$T/postfix-check.log")"
pf start >"$T/postfix-start.log" 2>&1 || fail "postfix start: $(cat "$T/postfix-start.log")"
wait_port "$PF_SUB" 30 || fail "Postfix is not listening on 127.0.0.1:$PF_SUB"
ok "private Postfix with SASL and the policy service on :$PF_SUB"

# send USER TO... : swaks output in $T/swaks.out, its exit code returned
send() {
	u=$1
	shift
	tos=$(echo "$@" | tr ' ' ',')
	swaks --server 127.0.0.1 --port "$PF_SUB" --timeout 30 --hide-informational \
		--auth PLAIN --auth-user "$u" --auth-password "$u-Secret-2026" \
		--from "$u@sekisho.test" --to "$tos" --body "policy test" >"$T/swaks.out" 2>&1
}

check "alice's mail passes the policy service" send alice friend@example.net
grep -q "250 2.0.0 Ok: queued" "$T/swaks.out" || fail "not queued: $(cat "$T/swaks.out")"

check "sekisho account lock alice" sekisho account lock alice --reason "incident test"
send alice friend@example.net
check "a locked account is refused with 5.7.1" grep -q "554 5.7.1.*Account locked" "$T/swaks.out"
check "sekisho account unlock alice" sekisho account unlock alice
check "after the unlock alice's mail passes again" send alice friend@example.net

# policy_user_messages=3: the fourth message within the hour is deferred.
for i in 1 2 3; do
	check "bob's message $i passes" send bob partner@example.net
done
send bob partner@example.net
check "bob's fourth message in the hour is deferred (450 4.7.1)" \
	grep -q "450 4.7.1.*Rate limit: too many messages" "$T/swaks.out"

# policy_user_domains=3: a fourth external domain is deferred, local ones pass.
send carol a@one.example b@two.example c@three.example d@four.example colleague@sekisho.test
check "carol's fourth external domain is deferred" \
	grep -q "450 4.7.1.*external recipient domains" "$T/swaks.out"
check "carol's message still went to the other recipients" \
	grep -q "250 2.0.0 Ok: queued" "$T/swaks.out"
grep -q "policy: defer" "$T/sekishod.log" || fail "sekishod did not log the deferrals"
ok "sekishod logged the deferrals"

stop_sekishod
finish
