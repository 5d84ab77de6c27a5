#!/bin/sh
# test_sessions.sh - many concurrent sessions; a slow client never blocks the
# others; limits and timeouts answer with the right codes.
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"

N=${SESSIONS:-1500}
start_sekishod -o smtpd_timeout=30s -o data_timeout=30s -o max_sessions=4000 \
	-o message_size_limit=100k

# Hold N idle sessions open (each has read its greeting), one of them stuck in
# the middle of DATA, while swaks sends a message.
python3 - "$IN_PORT" "$N" "$T/held" <<'PY' &
import socket, sys, time, os
port, n, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    socks.append(s)
greeted = 0
for s in socks:
    if s.recv(512).startswith(b"220 "):
        greeted += 1
slow = socks[0]
slow.sendall(b"EHLO slow\r\n")
time.sleep(0.2); slow.recv(4096)
slow.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<u@sekisho.test>\r\nDATA\r\n")
time.sleep(0.2); slow.recv(4096)
slow.sendall(b"Subject: half a message\r\n\r\nthe rest never comes")
open(flag, "w").write("%d\n" % greeted)
time.sleep(15)
PY
HOLDER=$!
PIDS="$PIDS $HOLDER"
wait_for 60 test -s "$T/held" || fail "could not open $N sessions"
check "$N concurrent sessions all got their greeting" [ "$(cat "$T/held")" -eq "$N" ]

start=$(date +%s%N)
swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 10 --hide-all \
	--from a@example.org --to user@sekisho.test || fail "swaks blocked behind idle sessions"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok "a new session is served while $N others are open and one is stuck in DATA (${ms} ms)"

# SIZE limit: declared (below, raw) and actual
python3 -c 'print("x" * 200000)' >"$T/big.txt"
swaks --server 127.0.0.1 --port "$IN_PORT" --timeout 20 --hide-informational \
	--from a@example.org --to user@sekisho.test --body "$T/big.txt" >"$T/size2.out" 2>&1 &&
	fail "an oversize message was accepted"
check "an oversize message gets 552 after DATA" grep -q "552 5.3.4" "$T/size2.out"

# command line limit and errors
python3 - "$IN_PORT" >"$T/raw.out" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
def cmd(line, replies=1):
    s.sendall(line)
    for _ in range(replies):
        r = f.readline()
        while r[3:4] == b"-":
            r = f.readline()
        print(r.decode().strip())
f.readline()
cmd(b"EHLO x\r\n")
cmd(b"NOOP " + b"a" * 5000 + b"\r\n")
cmd(b"NOOP\r\n")
cmd(b"MAIL FROM:<a@example.org>\nRCPT TO:<u@sekisho.test>\r\n", 2)
cmd(b"RCPT TO:<u@sekisho.test>\r\n")
cmd(b"DATA extra\r\n")
cmd(b"VRFY root\r\n")
cmd(b"BOGUS\r\n")
cmd(b"RSET\r\n")
cmd(b"MAIL FROM:<a@example.org> SIZE=999999\r\n")
cmd(b"QUIT\r\n")
PY
check "a too-long command line gets 500 and the session goes on" \
	sh -c "sed -n 2p '$T/raw.out' | grep -q '^500 5.5.2' && sed -n 3p '$T/raw.out' | grep -q '^250'"
check "a command line ending in a bare LF is refused, not merged" \
	sh -c "sed -n 4p '$T/raw.out' | grep -q '^500 5.5.2' && sed -n 5p '$T/raw.out' | grep -q '^503'"
check "RCPT before MAIL gets 503" sh -c "sed -n 6p '$T/raw.out' | grep -q '^503'"
check "DATA with an argument gets 501" sh -c "sed -n 7p '$T/raw.out' | grep -q '^501'"
check "VRFY is disabled" sh -c "sed -n 8p '$T/raw.out' | grep -q '^502'"
check "an unknown command gets 502" sh -c "sed -n 9p '$T/raw.out' | grep -q '^502'"
check "MAIL with SIZE over the limit gets 552" sh -c "sed -n 11p '$T/raw.out' | grep -q '^552 5.3.4'"
check "QUIT gets 221" sh -c "sed -n 12p '$T/raw.out' | grep -q '^221'"

kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
stop_sekishod
check "the half-sent DATA left no file and no message" sh -c \
	"[ -z \"\$(ls -A '$T/state/spool/tmp')\" ] && [ \$(find '$T/state/sink' -type f | wc -l) -eq 1 ] &&
	 \"$SEKISHO\" -o state_dir='$T/state' queue list | grep -q -- '-- 0 messages'"
finish
