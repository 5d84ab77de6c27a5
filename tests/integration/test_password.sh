#!/bin/sh
# test_password.sh - sekisho password check through the CLI: the password
# goes in on standard input only; it is never in the process's arguments
# or environment, nor in the log (debug level), nor in the output; the
# breached list (HIBP format, built here) refuses; exit codes 0 / 1 / 2;
# Japanese and English reasons.
. "$(dirname "$0")/lib.sh"

[ -x "$SEKISHO" ] || skip "no sekisho binary in $BUILD"
command -v sha1sum >/dev/null || skip "no sha1sum"

GOOD='amber lantern over the quiet harbor'
LEAKED='Summer-in-Kyoto-with-friends!'
hash() { printf '%s' "$1" | sha1sum | cut -c1-40 | tr a-f A-F; }
{
	echo "$(hash "$LEAKED"):4242"
	echo "0000000000000000000000000000000000000001:1"
	echo "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF0:9"
} | sort > "$T/pwned.txt"
cat > "$T/sekisho.conf" <<CONF
state_dir = $T/state
log_file = $T/sekisho.log
log_level = debug
password_breached_list = $T/pwned.txt
CONF
mkdir -p "$T/state"
S="$SEKISHO -c $T/sekisho.conf"

# While the command waits for its input, look at what the system shows.
mkfifo "$T/in"
$S password check --user taro@example.jp > "$T/out1" 2>&1 < "$T/in" &
pid=$!
PIDS="$PIDS $pid"
exec 3> "$T/in"
# (the forked shell shows its own arguments until it has exec'ed sekisho)
wait_for 10 sh -c "tr '\\0' ' ' < /proc/$pid/cmdline | grep -q 'password check'" ||
	fail "the process is not visible as sekisho password check"
tr '\0' ' ' < /proc/$pid/cmdline > "$T/cmdline"
check "argv has the command" grep -q "password check" "$T/cmdline"
printf '%s\n' "$GOOD" >&3
exec 3>&-
wait $pid
rc=$?
check "a good passphrase is acceptable (exit 0)" [ $rc -eq 0 ]
check "and says so" grep -q "acceptable" "$T/out1"
check "the password is not in argv" sh -c "! grep -qF '$GOOD' '$T/cmdline'"

printf '%s\n' "$LEAKED" | $S password check > "$T/out2" 2>&1
rc=$?
check "a breached password is refused (exit 1)" [ $rc -eq 1 ]
check "with the reason and the count" grep -q "breached.*4242" "$T/out2"

printf '%s\n' "short one" | LANG=ja_JP.UTF-8 $S password check > "$T/out3" 2>&1
rc=$?
check "too short is refused" [ $rc -eq 1 ]
check "in Japanese under LANG=ja" grep -q "短すぎます" "$T/out3"
printf '%s\n' "short one" | LANG=ja_JP.UTF-8 $S password check --lang en > "$T/out4" 2>&1
check "--lang en wins over LANG" grep -q "too short" "$T/out4"
printf "%s\n" "plum cart" | $S password check --mfa > /dev/null 2>&1
check "8 characters with --mfa" [ $? -eq 0 ]
printf '%s\n' "$GOOD" | $S password check --json > "$T/out5" 2>&1
check "--json" grep -q '"acceptable":true' "$T/out5"

$S password check "$GOOD" < /dev/null > "$T/out6" 2>&1
check "a password given as an argument is a usage error (exit 2)" [ $? -eq 2 ]

# On a terminal: echo goes off before the password is read, so the typed
# password never appears on the screen (a pty stands in for the terminal).
cat > "$T/term_check.py" <<'PY'
import os, pty, sys
argv, pw = sys.argv[1:-1], sys.argv[-1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b""
while b"password:" not in out:
    out += os.read(fd, 1024)
os.write(fd, pw + b"\n")
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.WEXITSTATUS(status))
PY
python3 "$T/term_check.py" $S password check "$GOOD" > "$T/out7" 2>&1
rc=$?
check "on a terminal: prompted, read, acceptable" sh -c "[ $rc -eq 0 ] && grep -q 'password:' '$T/out7' && grep -q acceptable '$T/out7'"
check "on a terminal: the typed password is not echoed" sh -c "! grep -qF '$GOOD' '$T/out7'"

for f in "$T"/out* "$T/sekisho.log"; do
	[ -f "$f" ] || continue
	if grep -qF "$GOOD" "$f" || grep -qF "$LEAKED" "$f"; then
		fail "password found in $f"
	fi
done
ok "no password in the output or the log"
finish
