#!/bin/sh
# test_smuggling.sh - SMTP smuggling (SEC Consult, December 2023, and the
# follow-ups): a message whose body holds a fake end-of-data sequence such as
# <LF>.<LF>, followed by a pipelined "MAIL FROM / RCPT TO / DATA / message",
# must never turn into two messages, neither at sekishod nor at the next hop
# it relays to.
#
# Each variant is sent with smtp_raw.py (exact bytes, no fix-ups) to the
# inbound listener, once with the default smtp_line_endings=strict and once
# with normalize, in two forms: "smuggle" (the whole payload in one write)
# and "frag" (the fake terminator and the smuggled commands one byte per
# write, so the decoder's state must survive every read boundary).  The next
# hop is smtp-sink, dumping each message to a file.
#
# Per variant and mode:
#   strict, payload with a bare CR or LF: one 5xx after DATA, no 250, nothing
#     reaches the next hop;
#   otherwise: exactly one 250 "queued as" and exactly one message at the next
#     hop, whose envelope is the legitimate one and whose body holds the
#     smuggled commands and message as text;
#   always: one 354 per session (the smuggled DATA was never a command) and
#     no message with the smuggled envelope sender ever reaches the next hop.
# A control session (the real <CR><LF>.<CR><LF> followed by a pipelined
# second transaction) must give two messages, which shows that the harness
# does see a second message when there is one.  A last check (deep_buffer)
# makes sure the end of DATA is found when the message lies in many input
# buffer chunks at once.
. "$(dirname "$0")/lib.sh"

command -v smtp-sink >/dev/null || skip "smtp-sink (postfix) is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
RAW="python3 $SRC/tests/integration/smtp_raw.py --timeout 30"

SINK=$(free_port)
start_sink in "$SINK"

# name, fake terminator (backslash escapes for smtp_raw.py), 1 when it holds
# a bare CR or LF.  The first eight are the published variants; the last
# three are extra combinations around the same parser states.
VARIANTS='lf-dot-lf \n.\n 1
lf-dot-crlf \n.\r\n 1
crlf-dot-lf \r\n.\n 1
cr-dot-cr \r.\r 1
crlf-dot-cr \r\n.\r 1
cr-dot-lf \r.\n 1
lf-dot-cr \n.\r 1
crlf-nul-dot-crlf \r\n\x00.\r\n 0
crlf-dot-cr-crlf \r\n.\r\r\n 1
crcrlf-dot-crcrlf \r\r\n.\r\r\n 1
crlf-dot-nul-crlf \r\n.\x00\r\n 0'

queue_empty() {
	"$SEKISHO" -o state_dir="$T/state" queue list 2>/dev/null | grep -q -- '-- 0 messages'
}

# Files at the next hop that hold STRING (binary-safe: a variant has a NUL).
sink_files_with() {
	grep -rlaF -- "$1" "$T/in" 2>/dev/null
}
sink_count_with() {
	sink_files_with "$1" | wc -l | tr -d ' '
}

# session TAG TERMINATOR FORM: one transaction with the fake terminator and
# a smuggled transaction after it; the replies go to $T/raw-TAG.out.
session() {
	tag=$1 term=$2 form=$3
	legit="From: legit@example.org\r\nTo: user@sekisho.test\r\nSubject: legit $tag\r\nMessage-ID: <legit-$tag@test>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nlegit body $tag"
	cmds="MAIL FROM:<smuggled-$tag@example.org>\r\nRCPT TO:<user@sekisho.test>\r\nDATA\r\n"
	smug="From: smuggled@example.org\r\nTo: user@sekisho.test\r\nSubject: smuggled $tag\r\nMessage-ID: <smuggled-$tag@test>\r\n\r\nsmuggled body $tag\r\n.\r\nQUIT\r\n"
	if [ "$form" = frag ]; then
		mid="frag:$term$cmds"
	else
		mid="send:$term$cmds"
	fi
	$RAW 127.0.0.1 "$IN_PORT" read 'send:EHLO client.example\r\n' read \
		"send:MAIL FROM:<legit-$tag@example.org>\r\n" read \
		'send:RCPT TO:<user@sekisho.test>\r\n' read 'send:DATA\r\n' read \
		"send:$legit" "$mid" "send:$smug" drain >"$T/raw-$tag.out" 2>&1
}

# What one session must have produced; fail with the transcript otherwise.
check_session() {
	tag=$1 expect=$2 out=$T/raw-$tag.out
	n354=$(grep -c '^<<< 354' "$out")
	nq=$(grep -c '^<<< 250 2.0.0 Ok: queued as' "$out")
	n5=$(grep -c '^<<< 5' "$out")
	why=""
	[ "$n354" -eq 1 ] || why="$n354 '354' replies (the smuggled DATA was taken as a command)"
	grep -q '^<<< 221' "$out" || why="no 221 to the QUIT"
	if [ "$expect" = reject ]; then
		[ "$nq" -eq 0 ] || why="$nq '250 queued' replies, expected none"
		grep -q '^<<< 5[0-9][0-9] 5\.' "$out" || why="no 5xx reply to the bare CR/LF"
	else
		[ "$nq" -eq 1 ] || why="$nq '250 queued' replies, expected exactly one"
		[ "$n5" -eq 0 ] || why="unexpected 5xx reply"
	fi
	if [ -n "$why" ]; then
		sed 's/^/# /' "$out"
		fail "$tag: $why"
	fi
}

# After the session: what the next hop must hold for TAG.
check_delivery() {
	tag=$1 expect=$2
	if [ "$expect" = reject ]; then
		n=$(sink_count_with "legit-$tag@")
		[ "$n" -eq 0 ] || fail "$tag: a rejected message reached the next hop"
		[ -z "$(ls -A "$T/state/spool/tmp" "$T/state/spool/queue" 2>/dev/null | grep -v -e '^$' -e ':$')" ] ||
			fail "$tag: the rejected message left a file in the spool: $(ls -lR "$T/state/spool")"
		return 0
	fi
	wait_for 20 sh -c "grep -rqaF 'legit-$tag@test' '$T/in'" ||
		fail "$tag: the accepted message did not reach the next hop"
	# give a separate smuggled message time to arrive if there were one
	wait_for 10 queue_empty || fail "$tag: the queue did not drain"
	n=$(sink_count_with "legit-$tag@test")
	[ "$n" -eq 1 ] || fail "$tag: $n messages at the next hop, expected one"
	f=$(sink_files_with "legit-$tag@test")
	grep -qaF "X-Mail-Args: <legit-$tag@example.org>" "$f" ||
		fail "$tag: the delivered message does not carry the legitimate envelope"
	grep -qaF "MAIL FROM:<smuggled-$tag@example.org>" "$f" &&
		grep -qaF "Message-ID: <smuggled-$tag@test>" "$f" &&
		grep -qaF "smuggled body $tag" "$f" ||
		fail "$tag: the smuggled commands and message are not inside the delivered body"
	n=$(grep -rlaF "X-Mail-Args: <smuggled-$tag@" "$T/in" 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] || fail "$tag: the smuggled message was delivered separately"
}

# Control: the real terminator followed by a pipelined transaction is two
# messages, and the checks above would see them.
control() {
	tag=control
	$RAW 127.0.0.1 "$IN_PORT" read 'send:EHLO client.example\r\n' read \
		"send:MAIL FROM:<legit-$tag@example.org>\r\n" read \
		'send:RCPT TO:<user@sekisho.test>\r\n' read 'send:DATA\r\n' read \
		"send:Message-ID: <legit-$tag@test>\r\n\r\nlegit\r\n.\r\nMAIL FROM:<smuggled-$tag@example.org>\r\nRCPT TO:<user@sekisho.test>\r\nDATA\r\n" \
		read read read read \
		"send:Message-ID: <smuggled-$tag@test>\r\n\r\nsecond\r\n.\r\nQUIT\r\n" \
		drain >"$T/raw-$tag.out" 2>&1
	nq=$(grep -c '^<<< 250 2.0.0 Ok: queued as' "$T/raw-$tag.out")
	[ "$nq" -eq 2 ] || { sed 's/^/# /' "$T/raw-$tag.out"; fail "control: $nq '250 queued', expected 2"; }
	wait_for 20 sh -c "[ \$(grep -rlaF -e 'legit-$tag@test' -e 'smuggled-$tag@test' '$T/in' | wc -l) -eq 2 ]" ||
		fail "control: the two pipelined messages did not both reach the next hop"
	n=$(grep -rlaF "X-Mail-Args: <smuggled-$tag@example.org>" "$T/in" | wc -l)
	[ "$n" -eq 1 ] || fail "control: the second transaction is not a message of its own"
	ok "control: real <CR><LF>.<CR><LF> + pipelined transaction = two messages (the harness sees a second message)"
}

# DATA framing with a deep input buffer: the client floods NOOPs without
# reading the replies, so the server holds its replies back (its output is
# above the high-water mark) while it keeps reading; by the time it reaches
# DATA, the message and its terminator lie in many buffer chunks.  The end
# of DATA must still be found without the client sending anything more.
deep_buffer() {
	x=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
	python3 "$SRC/tests/integration/smtp_raw.py" --timeout 60 127.0.0.1 "$IN_PORT" read \
		'send:EHLO client.example\r\n' 'flood:1000000:NOOP\r\n' \
		'send:MAIL FROM:<deep@example.org>\r\nRCPT TO:<user@sekisho.test>\r\nDATA\r\nMessage-ID: <deep-buffer@test>\r\n\r\n' \
		"flood:15000:$x\\r\\n" 'send:.\r\nQUIT\r\n' drain >"$T/raw-deep.out" 2>&1 </dev/null
	tail -n 3 "$T/raw-deep.out" | grep -q '^<<< 250 2.0.0 Ok: queued as' ||
		fail "deep input buffer: no 250 after the message (stuck in DATA?): $(tail -n 3 "$T/raw-deep.out")"
	wait_for 30 sh -c "grep -rqsF 'deep-buffer@test' '$T/in'" || fail "deep input buffer: message not delivered"
	wait_for 20 queue_empty || fail "deep input buffer: queue did not drain"
	rm -f "$T/raw-deep.out"
	ok "deep input buffer (1,000,000 unread NOOP replies, then a 1 MiB message): end of DATA found, one 250, delivered"
}

for mode in strict normalize; do
	rm -rf "$T/state"
	IN_PORT=$(free_port) OUT_PORT=$(free_port)
	if [ $mode = strict ]; then
		# the default: no -o smtp_line_endings at all
		start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o local_domains=sekisho.test
		"$SEKISHO" -o state_dir="$T/state" config dump 2>/dev/null |
			grep -q 'smtp_line_endings.*strict' ||
			fail "the default smtp_line_endings is not strict"
		control
		deep_buffer
	else
		start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o local_domains=sekisho.test \
			-o smtp_line_endings=normalize
	fi
	while read -r name term bare; do
		for form in smuggle frag; do
			tag=$mode-$name-$form
			if [ $mode = strict ] && [ "$bare" = 1 ]; then
				expect=reject
			else
				expect=accept
			fi
			session "$tag" "$term" "$form" </dev/null
			check_session "$tag" "$expect"
			check_delivery "$tag" "$expect"
			if [ "$expect" = reject ]; then
				ok "$mode $name ($form): $(sed -n 's/^<<< \(5[0-9][0-9] [0-9.]*\) .*/\1/p' "$T/raw-$tag.out" | head -n 1) after DATA, nothing delivered, smuggled message not delivered"
			else
				ok "$mode $name ($form): one 250, one message at the next hop with the smuggled text inside its body"
			fi
		done
	done <<EOF
$VARIANTS
EOF
	# Nothing else may show up later: every message at the next hop from
	# this mode is one of the legitimate ones.
	wait_for 20 queue_empty || fail "$mode: the queue did not drain: $("$SEKISHO" -o state_dir="$T/state" queue list | tail -3)"
	sleep 1
	nsmug=$(grep -rlaF "X-Mail-Args: <smuggled-$mode-" "$T/in" 2>/dev/null | wc -l)
	[ "$nsmug" -eq 0 ] || fail "$mode: $nsmug smuggled messages reached the next hop"
	for name in $(printf "%s\n" "$VARIANTS" | cut -d" " -f1); do
		for form in smuggle frag; do
			[ "$(sink_count_with "legit-$mode-$name-$form@test")" -le 1 ] ||
				fail "$mode $name ($form): more than one message at the next hop"
		done
	done
	ok "$mode: no smuggled envelope at the next hop, at most one message per transaction"
	stop_sekishod
	ok "$mode: sekishod stopped cleanly"
done
finish
