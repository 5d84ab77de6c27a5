#!/bin/sh
# test_logwatch.sh - sekishod follows a mail log (auth_log_files) and the
# failures in it lock an account, through log rotation.
#
# Lines in the formats Postfix and Dovecot write are appended to a file;
# sekishod polls it every second.  Checked: lines that were there before
# the start are not counted; Dovecot "auth failed, N attempts" lines count
# N times; Postfix SASL failures count; after a rotation (rename, new file)
# the new file is read; the lock and the login events are in the store.
. "$(dirname "$0")/lib.sh"

LOG=$T/mail.log

dovecot_fail() {
	printf '%s mx dovecot: imap-login: Disconnected (auth failed, %s attempts in 4 secs): user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, session=<x>\n' \
		"$(date '+%b %e %T')" "$2" "$1" "$3" >>"$LOG"
}

postfix_fail() {
	printf '%s mx postfix/submission/smtpd[42]: warning: unknown[%s]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=%s\n' \
		"$(date '+%b %e %T')" "$2" "$1" >>"$LOG"
}

# History before the start must not count.
for i in 1 2 3 4 5 6; do dovecot_fail old 1 203.0.113.9; done

start_sekishod -o auth_log_files="$LOG" -o login_lock_failures=4 -o login_lock_time=0
wait_for 10 grep -q 'logwatch: following' "$T/sekishod.log" || fail "the log watcher did not start"
ok "sekishod follows $LOG"

dovecot_fail carol 3 198.51.100.4
wait_for 10 sh -c "[ \$(\"$SEKISHO\" -o state_dir=\"$T/state\" account logins carol | grep -c ' fail ') -eq 3 ]" ||
	fail "'3 attempts' did not count three failures"
ok "a Dovecot line with 3 attempts counts three failures"
check "carol is not locked yet" sh -c "! \"$SEKISHO\" -o state_dir=\"$T/state\" account list-locks | grep -q '^carol '"

# Rotation: move the file away and start a new one.
mv "$LOG" "$LOG.1"
postfix_fail carol 198.51.100.4
wait_for 10 sh -c "\"$SEKISHO\" -o state_dir=\"$T/state\" account list-locks | grep -q '^carol '" ||
	fail "carol was not locked after the Postfix failure in the rotated log"
ok "a Postfix SASL failure in the new file after rotation locks carol"
sekisho account logins carol | grep -q 'postfix-log' || fail "no event from the Postfix line"
ok "the login events name their source"
check "history from before the start was not counted" \
	sh -c "[ -z \"\$(\"$SEKISHO\" -o state_dir=\"$T/state\" account logins old)\" ]"
check "an alert says why" sh -c "\"$SEKISHO\" -o state_dir=\"$T/state\" account alerts | grep -q 'brute_force.*carol'"

stop_sekishod
finish
