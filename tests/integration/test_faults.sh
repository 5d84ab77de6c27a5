#!/bin/sh
# test_faults.sh - a failing or full disk never yields a 250.
#
# faultshim.c (LD_PRELOAD) makes write(), fsync()/fdatasync() or only the
# directory fsync fail with EIO or ENOSPC for files under state/spool while a
# flag file exists.  For each fault, swaks must get a 4xx (451/452) after
# DATA and never 250; nothing may reach the next hop (smtp-sink); no file may
# stay in state/spool/tmp/ or state/spool/queue/; "sekisho queue list" must
# show 0 messages.  With the flag removed the next message is accepted with
# 250 and delivered.  Then the same with a real full disk: a 1 MiB tmpfs on
# state/spool (skipped, with a message, when mounting is not allowed).
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v smtp-sink >/dev/null || skip "smtp-sink (postfix) is not installed"
CC=${CC:-cc}
command -v "$CC" >/dev/null || skip "no C compiler ($CC) to build the fault shim"
"$CC" -shared -fPIC -o "$T/faultshim.so" "$SRC/tests/integration/faultshim.c" -ldl \
	>"$T/cc.out" 2>&1 || skip "cannot build faultshim.so: $(cat "$T/cc.out")"

# Under ASan the sanitizer runtime must be the first library loaded, so it
# is preloaded in front of the shim.
PRELOAD=$T/faultshim.so
if ldd "$SEKISHOD" 2>/dev/null | grep -q 'libasan'; then
	ASAN_LIB=$(ldd "$SEKISHOD" | awk '/libasan/ { print $3; exit }')
	[ -f "$ASAN_LIB" ] ||
		skip "sekishod is built with ASan but its libasan was not found; the fault shim cannot be preloaded after it"
	PRELOAD="$ASAN_LIB:$PRELOAD"
fi

RAW="python3 $SRC/tests/integration/smtp_raw.py --timeout 30"
S="swaks --server 127.0.0.1 --timeout 30 --hide-informational"
FLAGS=$T/flags
mkdir -p "$FLAGS" "$T/state"
PREFIX=$(cd "$T/state" && pwd -P)/spool
SHIMLOG=$FLAGS/faultshim.log
MOUNTED=""

# A tmpfs must be unmounted before lib.sh removes $T.
faults_cleanup() {
	if [ -n "$MOUNTED" ]; then
		for p in $PIDS; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
		umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null
	fi
	cleanup
}
trap faults_cleanup EXIT

SINK=$(free_port)
start_sink in "$SINK"

# sekishod with the shim preloaded (start_sekishod would preload it into the
# helper programs of lib.sh too).
start_faulty() {
	IN_PORT=$(free_port)
	OUT_PORT=$(free_port)
	env LD_PRELOAD="$PRELOAD" FAULTSHIM_PREFIX="$PREFIX" FAULTSHIM_FLAGS="$FLAGS" \
		"$SEKISHOD" -o state_dir="$T/state" -o myhostname=gw.sekisho.test \
		-o inbound_listen=127.0.0.1:"$IN_PORT" -o outbound_listen=127.0.0.1:"$OUT_PORT" \
		-o queue_scan_interval=1s -o retry_min=1s -o retry_max=2s \
		-o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o local_domains=sekisho.test \
		>>"$T/sekishod.log" 2>&1 &
	SEKISHOD_PID=$!
	PIDS="$PIDS $SEKISHOD_PID"
	i=0
	while ! wait_port "$IN_PORT" 1; do
		kill -0 "$SEKISHOD_PID" 2>/dev/null ||
			skip "sekishod does not start with LD_PRELOAD=$PRELOAD: $(tail -n 5 "$T/sekishod.log")"
		i=$((i + 1))
		[ $i -lt 30 ] || fail "sekishod did not start"
	done
	grep -q faultshim.so "/proc/$SEKISHOD_PID/maps" 2>/dev/null ||
		skip "the fault shim is not loaded into sekishod (LD_PRELOAD=$PRELOAD)"
}

queue_empty() {
	"$SEKISHO" -o state_dir="$T/state" queue list 2>/dev/null | grep -q -- '-- 0 messages'
}
spool_clean() {
	[ -z "$(ls -A "$T/state/spool/tmp" 2>/dev/null)" ] &&
		[ -z "$(ls -A "$T/state/spool/queue" 2>/dev/null)" ]
}
shim_hits() {
	if [ -f "$SHIMLOG" ]; then wc -l <"$SHIMLOG" | tr -d ' '; else echo 0; fi
}
at_sink() {
	grep -rlsF "$1" "$T/in" 2>/dev/null | wc -l | tr -d ' '
}

# accept ID [swaks options]: the message gets 250 and reaches the next hop.
accept() {
	id=$1
	shift
	$S --port "$IN_PORT" --from a@example.org --to user@sekisho.test \
		--header "Message-ID: <$id@test>" "$@" >"$T/swaks-$id.out" 2>&1 ||
		fail "$id: not accepted: $(tail -n 5 "$T/swaks-$id.out")"
	grep -q '<-  250 2.0.0 Ok: queued as' "$T/swaks-$id.out" || fail "$id: no 250 queued"
	wait_for 20 sh -c "grep -rqsF '$id@test' '$T/in'" || fail "$id: not delivered"
	wait_for 20 queue_empty || fail "$id: the queue did not drain"
}

# After a refused message ID: nothing delivered, spool clean, queue empty.
check_refused() {
	id=$1
	sleep 2	# a queued copy would be delivered by now (scan interval 1s)
	[ "$(at_sink "$id@test")" -eq 0 ] || fail "$id: a refused message reached the next hop"
	spool_clean || fail "$id: files left in the spool: $(ls -lR "$T/state/spool")"
	queue_empty || fail "$id: queue not empty: $("$SEKISHO" -o state_dir="$T/state" queue list)"
}

# fault NAME FLAG ERRNO [swaks options]: with the flag on, a 4xx after DATA.
fault() {
	name=$1 flag=$2 errname=$3
	shift 3
	id=fault-$name
	hits=$(shim_hits)
	echo "$errname" >"$FLAGS/$flag"
	$S --port "$IN_PORT" --from a@example.org --to user@sekisho.test \
		--header "Message-ID: <$id@test>" "$@" >"$T/swaks-$id.out" 2>&1
	rc=$?
	rm -f "$FLAGS/$flag"
	kill -0 "$SEKISHOD_PID" 2>/dev/null || fail "$name: sekishod died: $(tail -n 20 "$T/sekishod.log")"
	[ "$(shim_hits)" -gt "$hits" ] || fail "$name: the shim injected no fault (is it working?)"
	if grep -q '<-  250 2.0.0 Ok: queued' "$T/swaks-$id.out"; then
		fail "$name: 250 although $flag failed with $errname: $(grep '<-' "$T/swaks-$id.out" | tail -n 2)"
	fi
	[ $rc -ne 0 ] || fail "$name: swaks succeeded"
	grep -q '<-  354' "$T/swaks-$id.out" || fail "$name: no 354 (the fault hit before DATA)"
	reply=$(sed -n 's/^ *<\*\* *\(45[12] [0-9.]*\) .*/\1/p' "$T/swaks-$id.out" | tail -n 1)
	[ -n "$reply" ] || fail "$name: no 451/452 after DATA: $(tail -n 4 "$T/swaks-$id.out")"
	# a full disk says so (452 4.3.1); other failures are 451 4.3.0
	case $errname in
	ENOSPC|EDQUOT) want="452 4.3.1" ;;
	*) want="451 4.3.0" ;;
	esac
	[ "$reply" = "$want" ] || fail "$name: $flag -> $errname answered '$reply', want '$want'"
	check_refused "$id"
	ok "$name: $flag -> $errname: '$reply' after DATA, nothing delivered, spool clean, queue empty"
	accept "after-$name"
	ok "$name: flag removed: the next message is accepted with 250 and delivered"
}

start_faulty
accept baseline
ok "baseline through the shim (no flag): 250 and delivered"

# A message larger than the spool's 64 KiB buffer is written during DATA
# (main thread); a small one only at commit time (writer thread).
python3 -c 'import sys
for i in range(3000): sys.stdout.write("line %05d of a large message, padding padding padding padding\n" % i)' >"$T/large.txt"

fault fsync-eio fail-fsync EIO
fault fsync-enospc fail-fsync ENOSPC
fault write-eio fail-write EIO
fault write-enospc fail-write ENOSPC
fault write-enospc-large fail-write ENOSPC --body @"$T/large.txt"
fault write-eio-large fail-write EIO --body @"$T/large.txt"
fault dirsync-eio fail-dirsync EIO
fault dirsync-enospc fail-dirsync ENOSPC

# Several sessions at once under a failing fsync: one group-commit batch or
# several, every one of them must get a 4xx.
echo EIO >"$FLAGS/fail-fsync"
hits=$(shim_hits)
for i in 1 2 3 4 5 6; do
	$S --port "$IN_PORT" --from a@example.org --to user@sekisho.test \
		--header "Message-ID: <fault-batch-$i@test>" >"$T/swaks-batch-$i.out" 2>&1 &
	eval "BATCH_$i=\$!"
done
for i in 1 2 3 4 5 6; do
	eval "wait \$BATCH_$i"
done
rm -f "$FLAGS/fail-fsync"
[ "$(shim_hits)" -gt "$hits" ] || fail "batch: the shim injected no fault"
for i in 1 2 3 4 5 6; do
	grep -q '<-  250 2.0.0 Ok: queued' "$T/swaks-batch-$i.out" && fail "batch: session $i got 250"
	grep -q '<\*\* *45[12] ' "$T/swaks-batch-$i.out" || fail "batch: session $i got no 451/452"
done
check_refused fault-batch-1
[ "$(grep -rlsF 'fault-batch-' "$T/in" | wc -l)" -eq 0 ] || fail "batch: a refused message was delivered"
ok "6 concurrent sessions under fsync EIO: all 4xx, nothing delivered, spool clean"
accept after-batch

# The same session goes on after a 451: the fault is switched off between
# two transactions, and the second is accepted.
echo EIO >"$FLAGS/fail-fsync"
$RAW 127.0.0.1 "$IN_PORT" read 'send:EHLO client.example\r\n' read \
	'send:MAIL FROM:<a@example.org>\r\n' read 'send:RCPT TO:<user@sekisho.test>\r\n' read \
	'send:DATA\r\n' read 'send:Message-ID: <fault-session-1@test>\r\n\r\nfirst\r\n.\r\n' read \
	"unlink:$FLAGS/fail-fsync" \
	'send:MAIL FROM:<a@example.org>\r\n' read 'send:RCPT TO:<user@sekisho.test>\r\n' read \
	'send:DATA\r\n' read 'send:Message-ID: <fault-session-2@test>\r\n\r\nsecond\r\n.\r\n' read \
	'send:QUIT\r\n' drain >"$T/raw-session.out" 2>&1 </dev/null
rm -f "$FLAGS/fail-fsync"
if ! { grep -A1 'first' "$T/raw-session.out" | grep -q '^<<< 45[12] ' &&
	grep -A1 'second' "$T/raw-session.out" | grep -q '^<<< 250 2.0.0 Ok: queued'; }; then
	sed 's/^/# /' "$T/raw-session.out"
	fail "session: expected 451/452 for the first message and 250 for the second"
fi
wait_for 20 sh -c "grep -rqsF 'fault-session-2@test' '$T/in'" || fail "session: second message not delivered"
wait_for 20 queue_empty || fail "session: queue did not drain"
[ "$(at_sink fault-session-1@test)" -eq 0 ] || fail "session: the refused first message was delivered"
spool_clean || fail "session: files left in the spool"
ok "one session: 4xx under fsync EIO, then (flag removed) 250 for the next transaction; only that one delivered"

stop_sekishod
ok "sekishod (with the shim) stopped cleanly"

# ---- a real full disk: 1 MiB tmpfs on state/spool ----
rm -rf "$T/state"
mkdir -p "$T/state/spool"
if ! mount -t tmpfs -o size=1m,mode=0700 tmpfs "$T/state/spool" >"$T/mount.out" 2>&1; then
	echo "# SKIP full-disk part: cannot mount a tmpfs here ($(cat "$T/mount.out")); faults were injected with the shim only"
	finish
	exit 0
fi
MOUNTED=$T/state/spool
IN_PORT=$(free_port) OUT_PORT=$(free_port)
start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o local_domains=sekisho.test
accept disk-baseline
ok "full disk: baseline on the 1 MiB tmpfs accepted and delivered"

# a 2 MiB message cannot fit: ENOSPC while DATA is being written
python3 -c 'import sys
for i in range(30000): sys.stdout.write("line %05d of a message larger than the disk, padding padding\n" % i)' >"$T/huge.txt"
$S --port "$IN_PORT" --from a@example.org --to user@sekisho.test \
	--header "Message-ID: <disk-huge@test>" --body @"$T/huge.txt" >"$T/swaks-disk-huge.out" 2>&1 &&
	fail "full disk: a message larger than the disk was accepted"
grep -q '<-  250 2.0.0 Ok: queued' "$T/swaks-disk-huge.out" && fail "full disk: 250 for a message that did not fit"
reply=$(sed -n 's/^ *<\*\* *\(45[12] [0-9.]*\) .*/\1/p' "$T/swaks-disk-huge.out" | tail -n 1)
[ -n "$reply" ] || fail "full disk: no 451/452 for a message larger than the disk: $(tail -n 4 "$T/swaks-disk-huge.out")"
[ "$reply" = "452 4.3.1" ] || fail "full disk: answered '$reply', want '452 4.3.1'"
check_refused disk-huge
ok "full disk: a 2 MiB message on a 1 MiB spool gets '$reply', nothing delivered, spool clean"
accept disk-after-huge
ok "full disk: the space is given back, the next message is accepted and delivered"

# fill the disk to the last block, then a small message
dd if=/dev/zero of="$T/state/spool/filler" bs=4096 >/dev/null 2>&1
[ "$(df -P "$T/state/spool" | awk 'NR == 2 { print $4 }')" -eq 0 ] || fail "full disk: could not fill the tmpfs"
$S --port "$IN_PORT" --from a@example.org --to user@sekisho.test \
	--header "Message-ID: <disk-full@test>" >"$T/swaks-disk-full.out" 2>&1 &&
	fail "full disk: a message was accepted on a full disk"
grep -q '<-  250 2.0.0 Ok: queued' "$T/swaks-disk-full.out" && fail "full disk: 250 on a full disk"
reply=$(sed -n 's/^ *<\*\* *\(4[0-9][0-9] [0-9.]*\) .*/\1/p' "$T/swaks-disk-full.out" | tail -n 1)
[ -n "$reply" ] || fail "full disk: no 4xx on a full disk: $(tail -n 4 "$T/swaks-disk-full.out")"
rm -f "$T/state/spool/filler"
check_refused disk-full
ok "full disk: a small message on a full spool gets '$reply', nothing delivered, spool clean"
accept disk-after-full
ok "full disk: filler removed, the next message is accepted and delivered"
stop_sekishod
ok "sekishod stopped cleanly"
umount "$MOUNTED" || umount -l "$MOUNTED"
MOUNTED=""
finish
