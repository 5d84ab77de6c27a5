#!/bin/sh
# test_postfix.sh - a real Postfix in front of sekishod and behind it.
#
# One private Postfix instance (its own config, queue and data directories in
# $T/postfix, loopback only, no chroot, no local delivery) plays both MTAs
# around the gateway, the way Postfix's FILTER_README wires an after-queue
# content filter:
#
#   swaks -> Postfix :PF_IN  (smtpd -o content_filter=sekisho:[127.0.0.1]:IN_PORT)
#         -> sekishod inbound listener (STARTTLS required by Postfix)
#         -> sekishod inbound_next_hop = smtp:127.0.0.1:PF_BACK (STARTTLS required)
#         -> Postfix :PF_BACK (smtpd -o content_filter=, no filter: no loop)
#         -> virtual(8) -> $T/mailboxes/sekisho.test/user/new/
#
#   swaks -> Postfix :PF_SUB -> sekishod outbound listener -> Postfix :PF_BACK
#         -> virtual(8) -> $T/mailboxes/example.net/bob/new/
#
# The filter is set per smtpd service, not by domain: mail that comes back on
# PF_BACK (or a bounce made by Postfix itself) goes through normal routing to
# the virtual mailboxes, so the same instance never sends it to sekishod again.
#
# Checked: the header order Postfix / sekisho / Postfix in the delivered copy,
# TLS on both legs, a recipient refused by sekishod becomes a Postfix bounce
# to the sender, and mail deferred by Postfix while sekishod is down goes
# through after a restart and a queue flush.
. "$(dirname "$0")/lib.sh"

. "$SRC/scripts/postfix.sh"
why=$(postfix_missing)
[ -z "$why" ] || skip "$why"
[ -x "$PF_SBIN/virtual" ] || skip "Postfix's virtual(8) is missing (Debian package postfix)"
command -v swaks >/dev/null || skip "swaks is not installed"

PF=$T/postfix
PFCONF=$PF/etc
PFQ=$PF/spool
MBOX=$T/mailboxes
PF_IN=$(free_port)
PF_SUB=$(free_port)
PF_BACK=$(free_port)
IN_PORT=$(free_port)
OUT_PORT=$(free_port)

# Postfix daemons run as the postfix user and virtual(8) as nobody: they must
# be able to pass through $T (mktemp made it 0700).
chmod 711 "$T"
mkdir -p "$MBOX"
chown nobody:nogroup "$MBOX"
make_cert
chmod 644 "$T/tls.crt" "$T/tls.key"

pf() {
	postfix_ctl "$PF" "$@"
}

# Stop Postfix before lib.sh's cleanup removes its directories.
trap 'postfix_stop "$PF"; cleanup' EXIT

postfix_instance "$PF" mx.postfix.test "$T/postfix.log"
cat >>"$PFCONF/main.cf" <<EOF
mydomain = postfix.test
myorigin = \$myhostname
relayhost =
relay_domains =
smtpd_banner = \$myhostname ESMTP Postfix
smtp_tls_security_level = may
smtpd_tls_security_level = may
smtpd_tls_cert_file = $T/tls.crt
smtpd_tls_key_file = $T/tls.key
smtpd_tls_received_header = yes
# retry quickly for the "sekishod is down" case
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 2s
# final delivery: one Maildir per address under \$virtual_mailbox_base
virtual_mailbox_domains = sekisho.test example.net
virtual_mailbox_base = $MBOX
virtual_mailbox_maps = texthash:$PFCONF/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(getent group nogroup | cut -d: -f3)
EOF

# virtual(8) refuses regexp substitutions for mailbox paths: list them.
for a in user@sekisho.test carol@sekisho.test bob@example.net; do
	printf '%s\t%s/%s/\n' "$a" "${a#*@}" "${a%@*}"
done >"$PFCONF/vmailbox"

cat >>"$PFCONF/master.cf" <<EOF
127.0.0.1:$PF_IN inet n - n - - smtpd
  -o content_filter=sekisho:[127.0.0.1]:$IN_PORT
127.0.0.1:$PF_SUB inet n - n - - smtpd
  -o content_filter=sekisho:[127.0.0.1]:$OUT_PORT
127.0.0.1:$PF_BACK inet n - n - - smtpd
  -o content_filter=
  -o smtpd_client_restrictions=permit_mynetworks,reject
sekisho   unix  -       -       n       -       4       smtp
  -o smtp_tls_security_level=encrypt
  -o smtp_send_xforward_command=yes
EOF

pf check >"$T/postfix-check.log" 2>&1 || fail "postfix check: $(cat "$T/postfix-check.log")"
ok "postfix check accepts the private instance"
pf start >"$T/postfix-start.log" 2>&1 || fail "postfix start: $(cat "$T/postfix-start.log")"
for p in "$PF_IN" "$PF_SUB" "$PF_BACK"; do
	wait_port "$p" 30 || fail "Postfix is not listening on 127.0.0.1:$p"
done
ok "private Postfix listens on 127.0.0.1:$PF_IN, :$PF_SUB and :$PF_BACK"

start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$PF_BACK" \
	-o outbound_next_hop=smtp:127.0.0.1:"$PF_BACK" \
	-o smtp_tls_security_level=encrypt \
	-o tls_cert_file="$T/tls.crt" -o tls_key_file="$T/tls.key" \
	-o local_domains=sekisho.test -o trusted_networks=127.0.0.0/8 \
	-o xforward_hosts=127.0.0.1/32

S="swaks --server 127.0.0.1 --timeout 30 --hide-informational"

# mailbox_file ADDRESS MESSAGE-ID: the delivered file holding the message
mailbox_file() {
	dom=${1#*@}
	grep -rls -- "$2" "$MBOX/$dom/${1%@*}/new" 2>/dev/null | head -n 1
}

# --- inbound: swaks -> Postfix -> sekishod -> Postfix -> mailbox ---------
$S --port "$PF_IN" --local-interface 127.0.0.2 --helo client.example.org --from sender@example.org \
	--to user@sekisho.test --header "Message-Id: <pf-in-1@test>" \
	--header "Subject: through postfix and sekisho" \
	--body "inbound body through postfix" >"$T/swaks1.out" 2>&1 ||
	fail "Postfix did not accept the inbound mail: $(cat "$T/swaks1.out")"
check "Postfix queued the inbound mail" grep -q "250 2.0.0 Ok: queued as" "$T/swaks1.out"
wait_for 60 sh -c "grep -rqs 'pf-in-1@test' '$MBOX/sekisho.test/user/new'" ||
	fail "inbound mail did not reach the Postfix mailbox of user@sekisho.test"
ok "inbound mail went round Postfix -> sekishod -> Postfix into the mailbox"
f=$(mailbox_file user@sekisho.test pf-in-1@test)
check "the delivered copy holds the body" grep -q "inbound body through postfix" "$f"
check "the delivered copy has sekisho's Received header" \
	grep -q "by gw.sekisho.test (sekisho) with ESMTPS id" "$f"
# Postfix told sekishod (XFORWARD) who the client really was: 127.0.0.2 and
# its HELO, not Postfix's own 127.0.0.1, so SPF and DNSBL look at the sender
check "the checks saw the original client through XFORWARD" \
	grep -q "decision id=.* listener=inbound client=127.0.0.2 " "$T/sekishod.log"

# The Received headers, top (newest) first, one line each.
received() {
	awk '/^\r?$/ { exit }
		/^[ \t]/ { if (r) line = line " " $0; next }
		{ if (r) print line; r = /^Received:/; line = $0 }
		END { if (r) print line }' "$1" | tr -s ' \t\r' ' '
}
received "$f" >"$T/received1.txt"
sed 's/^/# /' "$T/received1.txt"
check "three Received headers: Postfix (back), sekisho, Postfix (front)" \
	test "$(wc -l <"$T/received1.txt")" -eq 3
check "newest: Postfix got it from sekisho over TLS" \
	sh -c "sed -n 1p '$T/received1.txt' | grep -q 'from gw.sekisho.test .*by mx.postfix.test (Postfix) with ESMTPS id'"
check "middle: sekisho got it from Postfix" \
	sh -c "sed -n 2p '$T/received1.txt' | grep -q 'from mx.postfix.test .*by gw.sekisho.test (sekisho) with ESMTPS id'"
check "oldest: Postfix got it from the client" \
	sh -c "sed -n 3p '$T/received1.txt' | grep -q 'from client.example.org .*by mx.postfix.test (Postfix) with ESMTP id'"
check "virtual(8) added Delivered-To and Return-Path" \
	sh -c "grep -q '^Delivered-To: user@sekisho.test' '$f' && grep -q '^Return-Path: <sender@example.org>' '$f'"
check "Postfix logged the relay to sekishod with status=sent" \
	grep -q "relay=127.0.0.1\[127.0.0.1\]:$IN_PORT.*status=sent" "$T/postfix.log"

# --- outbound: Postfix (submission side) -> sekishod outbound -> Postfix --
$S --port "$PF_SUB" --helo desk.sekisho.test --from alice@sekisho.test \
	--to bob@example.net --header "Message-Id: <pf-out-1@test>" \
	--body "outbound body through postfix" >"$T/swaks2.out" 2>&1 ||
	fail "Postfix did not accept the outbound mail: $(cat "$T/swaks2.out")"
wait_for 60 sh -c "grep -rqs 'pf-out-1@test' '$MBOX/example.net/bob/new'" ||
	fail "outbound mail did not reach the mailbox of bob@example.net"
f=$(mailbox_file bob@example.net pf-out-1@test)
check "outbound mail went through sekishod's outbound listener" \
	grep -q "by gw.sekisho.test (sekisho) with ESMTPS id" "$f"

# --- a recipient sekishod refuses becomes a Postfix bounce ----------------
$S --port "$PF_IN" --from carol@sekisho.test --to victim@elsewhere.example \
	--header "Message-Id: <pf-refused-1@test>" >"$T/swaks3.out" 2>&1 ||
	fail "Postfix did not accept the mail for the foreign domain: $(cat "$T/swaks3.out")"
wait_for 60 sh -c "grep -rqs 'pf-refused-1@test' '$MBOX/sekisho.test/carol/new'" ||
	fail "no bounce for the recipient that sekishod refused"
f=$(mailbox_file carol@sekisho.test pf-refused-1@test)
check "the bounce comes from Postfix and quotes sekishod's 554 5.7.1" \
	sh -c "grep -q '^From: .*<MAILER-DAEMON@mx.postfix.test>' '$f' && grep -q '554 5.7.1' '$f'"

# --- per-recipient status: 3 recipients, the next hop refuses 1 ----------
# Postfix (back) refuses nobody@sekisho.test (not in its mailbox table):
# the other two get the mail, the sender (bob@example.net, whose mailbox
# Postfix holds) gets one DSN naming the refused address.
$S --port "$IN_PORT" --from bob@example.net \
	--to user@sekisho.test,nobody@sekisho.test,carol@sekisho.test \
	--header "Message-Id: <pf-rcpt3-1@test>" >"$T/swaks-rcpt3.out" 2>&1 ||
	fail "sekishod did not accept the 3-recipient mail: $(cat "$T/swaks-rcpt3.out")"
wait_for 60 sh -c "grep -rqs 'pf-rcpt3-1@test' '$MBOX/sekisho.test/user/new' &&
	grep -rqs 'pf-rcpt3-1@test' '$MBOX/sekisho.test/carol/new'" ||
	fail "the two accepted recipients did not get the mail"
ok "of 3 recipients, the 2 accepted by the next hop got the mail"
wait_for 60 sh -c "grep -rls 'pf-rcpt3-1@test' '$MBOX/example.net/bob/new' | xargs -r grep -l 'report-type=delivery-status' | grep -q ." ||
	fail "no DSN reached the sender for the refused recipient"
f=$(grep -rls 'pf-rcpt3-1@test' "$MBOX/example.net/bob/new" | xargs grep -l 'report-type=delivery-status' | head -n 1)
check "the DSN names only the refused recipient, with Postfix's 5.1.1" \
	sh -c "grep -q 'Final-Recipient: rfc822; *nobody@sekisho.test' '$f' && grep -q '5\.1\.1' '$f' &&
	! grep -q 'Final-Recipient: rfc822; *user@sekisho.test' '$f' && ! grep -q 'Final-Recipient: rfc822; *carol@sekisho.test' '$f'"
check "nobody@sekisho.test has no mailbox copy" sh -c "! grep -rqs 'pf-rcpt3-1@test' '$MBOX/sekisho.test/nobody'"

# --- sekishod down: Postfix defers, then delivers after a restart -------
stop_sekishod
ok "sekishod stopped cleanly"
$S --port "$PF_IN" --from sender@example.org --to user@sekisho.test \
	--header "Message-Id: <pf-later-1@test>" >"$T/swaks4.out" 2>&1 ||
	fail "Postfix did not accept mail while sekishod was down"
wait_for 60 grep -q "status=deferred.*:$IN_PORT" "$T/postfix.log" ||
	fail "Postfix did not defer the mail while sekishod was down"
ok "Postfix defers while sekishod is down"
start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$PF_BACK" \
	-o outbound_next_hop=smtp:127.0.0.1:"$PF_BACK" \
	-o smtp_tls_security_level=encrypt \
	-o tls_cert_file="$T/tls.crt" -o tls_key_file="$T/tls.key" \
	-o local_domains=sekisho.test -o trusted_networks=127.0.0.0/8
pf flush >/dev/null 2>&1 || fail "postfix flush"
wait_for 60 sh -c "grep -rqs 'pf-later-1@test' '$MBOX/sekisho.test/user/new'" ||
	fail "deferred mail was not delivered after sekishod came back"
ok "deferred mail delivered once sekishod is back"

# --- nothing left anywhere ------------------------------------------------
wait_for 30 sh -c "[ \$(find '$PFQ/incoming' '$PFQ/active' '$PFQ/deferred' '$PFQ/hold' -type f | wc -l) -eq 0 ]" ||
	fail "Postfix queue not empty: $(/usr/sbin/postqueue -c "$PFCONF" -p 2>&1)"
ok "Postfix queue is empty"
wait_for 30 sh -c "'$SEKISHO' -o state_dir='$T/state' queue list | grep -q -- '-- 0 messages'" ||
	fail "sekishod queue not empty: $(sekisho queue list)"
ok "sekishod queue is empty"
check "no loop: each message was delivered exactly once" \
	test "$(grep -rl 'pf-in-1@test' "$MBOX" | wc -l)" -eq 1
check "Postfix logged no fatal or panic" \
	sh -c "! grep -E 'fatal:|panic:|loops back to myself' '$T/postfix.log'"

stop_sekishod
ok "sekishod stopped cleanly"
postfix_stop "$PF"
ok "private Postfix stopped"
finish
