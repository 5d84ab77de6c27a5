#!/bin/sh
# test_dovecot_report.sh - users' spam reports from their mail client: a
# real Dovecot with Pigeonhole's IMAPSieve runs the shipped
# contrib/dovecot/ files (its 90-sekisho-report.conf, report-spam.sieve,
# report-ham.sieve and the sekisho-report program) against a real sekishod
# (POST /learn/spam|ham on console_listen with learn_key_file).  An IMAP
# client (Python's imaplib) copies messages between folders.  Checked:
#  - into Junk: learned as spam, source "user", the user in the log and the
#    audit log; sekisho's own X-Sekisho-Result and subject tag not learned
#    (the message without them is the same message, already learned)
#  - out of Junk to INBOX: relabelled as ham; to the Trash: nothing
#  - the same message into Junk twice: learned once
#  - without the key, from outside learn_allow, a wrong label, an empty or
#    non-mail body, a body over message_size_limit: refused (403, 404, 400, 413)
#  - six reports at once are six learned (the store serialises the writers)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot_lib.sh"

dovecot_require
[ -f /usr/lib/dovecot/modules/sieve/lib90_sieve_imapsieve_plugin.so ] ||
	skip "no Pigeonhole IMAPSieve plugin (dovecot-sieve)"
[ -f /usr/lib/dovecot/modules/sieve/lib90_sieve_extprograms_plugin.so ] ||
	skip "no Pigeonhole extprograms plugin (dovecot-sieve)"
command -v sievec >/dev/null || skip "no sievec (dovecot-sieve)"
command -v curl >/dev/null || skip "curl is not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"

HP=$(free_port)
IMAP=$(free_port)

# sekisho: the key, and the daemon with its console listener
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/learn.key"
chmod 644 "$T/learn.key"
start_sekishod -o network_checks=no -o console_listen=127.0.0.1:"$HP" \
	-o learn_key_file="$T/learn.key" -o message_size_limit=64k
wait_port "$HP" 30 || fail "the console did not start"
BASE=http://127.0.0.1:$HP

# the shipped Dovecot files, with this test's paths
BIN=$T/sieve-bin
mkdir -p "$BIN"
cp "$SRC/contrib/dovecot/report-spam.sieve" "$SRC/contrib/dovecot/report-ham.sieve" "$BIN/"
printf 'url=%s\nkey_file=%s\n' "$BASE" "$T/learn.key" >"$T/report.conf"
chmod 644 "$T/report.conf"
# Dovecot clears the environment: a wrapper names the configuration
printf '#!/bin/sh\nSEKISHO_REPORT_CONF=%s exec %s "$@"\n' "$T/report.conf" \
	"$SRC/contrib/dovecot/sekisho-report" >"$BIN/sekisho-report"
chmod 755 "$BIN/sekisho-report"
sed "s|/usr/lib/dovecot/sieve|$BIN|g" "$SRC/contrib/dovecot/90-sekisho-report.conf" \
	>"$T/90-sekisho-report.conf"

dovecot_dirs
printf 'alice:{PLAIN}alice-pw:65534:65534::%s/home/alice::\n' "$DV" >"$DV/users"
chmod 644 "$DV/users"
{ dovecot_conf_base "$IMAP" sekisho-report; dovecot_conf_users; cat <<CONF; } >"$DV/dovecot.conf"
auth_mechanisms = plain
namespace inbox {
  inbox = yes
  mailbox Junk {
    auto = create
    special_use = \\Junk
  }
  mailbox Trash {
    auto = create
    special_use = \\Trash
  }
}
!include $T/90-sekisho-report.conf
CONF
for s in report-spam report-ham; do
	sievec -c "$DV/dovecot.conf" "$BIN/$s.sieve" || fail "sievec $s.sieve"
done
"$DOVECOT" -c "$DV/dovecot.conf" || fail "dovecot did not start"
wait_for 10 test -s "$DV/run/master.pid" || fail "no dovecot master pid"
PIDS="$PIDS $(cat "$DV/run/master.pid")"
wait_port "$IMAP" 10 || fail "dovecot does not listen"

# imap OP...: one IMAP session as alice; ops are "append MAILBOX FILE",
# "copy FROM SUBJECT TO" (the last message with that Subject)
imap() {
	python3 - "$IMAP" "$@" <<'PY'
import imaplib, sys
port = int(sys.argv[1])
ops = sys.argv[2:]
m = imaplib.IMAP4("127.0.0.1", port)
m.login("alice", "alice-pw")
i = 0
while i < len(ops):
    if ops[i] == "append":
        data = open(ops[i + 2], "rb").read()
        typ, _ = m.append(ops[i + 1], None, None, data)
        assert typ == "OK", "append"
        i += 3
    elif ops[i] == "copy":
        typ, _ = m.select(ops[i + 1])
        assert typ == "OK", "select"
        typ, found = m.uid("SEARCH", None, "SUBJECT", '"%s"' % ops[i + 2])
        uids = found[0].split()
        assert typ == "OK" and len(uids) >= 1, "search %s: %r" % (ops[i + 2], found)
        typ, res = m.uid("COPY", uids[-1], ops[i + 3])
        assert typ == "OK", "copy: %r" % res
        i += 4
    else:
        raise SystemExit("bad op " + ops[i])
m.logout()
PY
}

# learned COUNT_SPAM COUNT_HAM: what the model says it learned
learned() {
	sekisho learn --stats 2>/dev/null | grep -q "^model spam: $1 spam, $2 ham learned"
}

printf 'From: promo@offers.example.net\r\nTo: alice@sekisho.test\r\nSubject: [SPAM] cheap pills today\r\nMessage-ID: <p1@offers.example.net>\r\nX-Sekisho-Result: action=tag; score=6.20; symbols=BAYES_SPAM(6.20)\r\n\r\nBuy cheap pills now, casino bonus, claim your prize.\r\n' >"$T/spam1.eml"
printf 'From: boss@sekisho.test\r\nTo: alice@sekisho.test\r\nSubject: minutes of the build review\r\nMessage-ID: <h1@sekisho.test>\r\n\r\nThe agenda for the release meeting is attached.\r\n' >"$T/ham1.eml"

imap append INBOX "$T/spam1.eml" append INBOX "$T/ham1.eml" || fail "imap append"
check "appending to INBOX reports nothing" sh -c "! grep -q 'learn: user=' '$T/sekishod.log'"

imap copy INBOX "cheap pills" Junk || fail "imap copy to Junk: $(tail -5 "$T/dovecot.log")"
check "a message copied into Junk is learned as spam" learned 1 0
check "sekishod logged the user's report" \
	grep -q "learn: user=alice ip=127.0.0.1 reported spam: learned" "$T/sekishod.log"
check "the store records it with source user" \
	sh -c "sqlite3 '$T/state/sekisho.db' \"select count(*) from learned where source = 'user' and spam = 1\" | grep -qx 1"
check "the audit log names the mail user" \
	sh -c "sqlite3 '$T/state/sekisho.db' \"select count(*) from console_audit where user = 'mail:alice' and action = 'report_spam'\" | grep -qx 1"

# what sekisho learned is the message as it scanned it: the same message
# without its verdict header and subject tag, CRLF, is the same message
printf 'From: promo@offers.example.net\r\nTo: alice@sekisho.test\r\nSubject: cheap pills today\r\nMessage-ID: <p1@offers.example.net>\r\n\r\nBuy cheap pills now, casino bonus, claim your prize.\r\n' >"$T/spam1-clean.eml"
curl -s -H "X-Sekisho-Learn-Key: $(cat "$T/learn.key")" --data-binary @"$T/spam1-clean.eml" \
	"$BASE/learn/spam?user=test" >"$T/clean.json"
check "X-Sekisho-Result and the [SPAM] tag were not learned (the clean copy is already learned)" \
	sh -c "grep -q '\"outcome\":\"already learned\"' '$T/clean.json'"

imap copy INBOX "cheap pills" Junk || fail "imap copy to Junk again"
check "the same message into Junk again: learned once" learned 1 0

imap copy Junk "cheap pills" INBOX || fail "imap copy out of Junk"
check "copied out of Junk to INBOX: relabelled as not spam" learned 0 1
check "sekishod logged the relabel" grep -q "reported ham: relabelled" "$T/sekishod.log"

imap copy INBOX "build review" Junk || fail "imap copy ham to Junk"
check "a second message into Junk: learned as spam" learned 1 1
imap copy Junk "build review" Trash || fail "imap copy to Trash"
check "out of Junk into the Trash: no report" learned 1 1

# the endpoint's refusals
K=$(cat "$T/learn.key")
code() {
	curl -s -o "$T/body.out" -w '%{http_code}' "$@"
}
check "no key: 403" [ "$(code --data-binary @"$T/ham1.eml" "$BASE/learn/spam")" = 403 ]
check "a wrong key: 403" [ "$(code -H "X-Sekisho-Learn-Key: x$K" \
	--data-binary @"$T/ham1.eml" "$BASE/learn/spam")" = 403 ]
check "an unknown label: 404" [ "$(code -H "X-Sekisho-Learn-Key: $K" \
	--data-binary @"$T/ham1.eml" "$BASE/learn/forget")" = 404 ]
check "GET: 405" [ "$(code -H "X-Sekisho-Learn-Key: $K" "$BASE/learn/spam")" = 405 ]
check "an empty body: 400" [ "$(code -H "X-Sekisho-Learn-Key: $K" -X POST "$BASE/learn/spam")" = 400 ]
check "a body that is not mail: 400" [ "$(code -H "X-Sekisho-Learn-Key: $K" \
	--data-binary 'hello' "$BASE/learn/spam")" = 400 ]
head -c 70000 /dev/zero | tr '\0' 'a' | fold -w 70 >"$T/big.txt"
{ printf 'Subject: big\r\n\r\n'; cat "$T/big.txt"; } >"$T/big.eml"
check "over message_size_limit: 413" [ "$(code -H "X-Sekisho-Learn-Key: $K" \
	--data-binary @"$T/big.eml" "$BASE/learn/spam")" = 413 ]
check "nothing refused was learned" learned 1 1

# reports at once (the console's threads): every one learned, none lost
i=1
cpids=
while [ $i -le 6 ]; do
	printf 'From: a%d@offers.example.net\r\nSubject: offer %d\r\n\r\ncheap pills %d\r\n' \
		$i $i $i >"$T/c$i.eml"
	curl -s -o /dev/null --max-time 60 -H "X-Sekisho-Learn-Key: $K" \
		--data-binary @"$T/c$i.eml" "$BASE/learn/spam?user=c$i" &
	cpids="$cpids $!"
	i=$((i + 1))
done
# shellcheck disable=SC2086 # the list of pids
wait $cpids
check "six reports at once: six learned" learned 7 1

# learn_allow: a daemon that takes reports from elsewhere only
stop_sekishod
HP2=$(free_port)
IN_PORT='' OUT_PORT=''
start_sekishod -o network_checks=no -o console_listen=127.0.0.1:"$HP2" \
	-o learn_key_file="$T/learn.key" -o learn_allow=192.0.2.0/24
wait_port "$HP2" 30 || fail "the console did not start again"
check "from outside learn_allow: 403" [ "$(code -H "X-Sekisho-Learn-Key: $K" \
	--data-binary @"$T/ham1.eml" "http://127.0.0.1:$HP2/learn/spam")" = 403 ]
stop_sekishod
HP3=$(free_port)
IN_PORT='' OUT_PORT=''
start_sekishod -o network_checks=no -o console_listen=127.0.0.1:"$HP3"
wait_port "$HP3" 30 || fail "the console did not start a third time"
check "without learn_key_file: 404" [ "$(code -H "X-Sekisho-Learn-Key: $K" \
	--data-binary @"$T/ham1.eml" "http://127.0.0.1:$HP3/learn/spam")" = 404 ]
stop_sekishod
printf 'short\n' >"$T/short.key"
"$SEKISHOD" -o state_dir="$T/state" -o console_listen=127.0.0.1:"$(free_port)" \
	-o inbound_listen=127.0.0.1:"$(free_port)" -o outbound_listen=127.0.0.1:"$(free_port)" \
	-o learn_key_file="$T/short.key" >"$T/short.log" 2>&1 &
pid=$!
PIDS="$PIDS $pid"
wait_for 20 sh -c "! kill -0 $pid 2>/dev/null" || fail "sekishod started with a 5-byte key"
check "a key shorter than 16 bytes stops the daemon with a reason" \
	grep -q "learn_key_file.*16 to" "$T/short.log"
finish
