#!/bin/sh
# test_attach_link.sh - attachment protection through the daemon:
#  - link mode: mail with a file to an outside address arrives without
#    the file but with a download link (Japanese and English); curl gets
#    the exact bytes with an RFC 6266 name; the download limit gives 410;
#    every download is logged (sekisho attachment show); revocation (CLI
#    and the sender's revoke link, POST only) gives 410; mail inside the
#    organisation keeps its file
#  - the code flow: the page asks for the code, a wrong code is refused,
#    the code from the code mail works; expiry (seconds) gives 410
#  - a held mail's link mails wait for its release; a recalled mail's link
#    is revoked and its sender gets no link notice
#  - a crash after the rename of the rewritten message (k1): not rewritten
#    twice, its link made live; before it (k2): the old link never works,
#    a new one does, the replaced file is removed
#  - zip mode: the mail carries one AES ZIP that 7z opens with the
#    password from the password mail, and not without it
#  - fail closed (fault shim): when the files cannot be stored the mail is
#    quarantined, never sent with them
# shellcheck disable=SC2086,SC2015 # COMMON is a list of options; A && B || fail
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v curl >/dev/null || skip "curl is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v 7z >/dev/null || skip "7z is not installed"

SINK=$T/state/sink
HP=$(free_port)
BASE=http://127.0.0.1:$HP
COMMON="-o network_checks=no -o local_domains=sekisho.test
	-o console_listen=127.0.0.1:$HP -o console_url=$BASE"

# send ID TO FILE [NAME]: a mail with FILE attached, from taro
send() {
	swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 20 --hide-all \
		--from taro@sekisho.test --to "$2" --header "Message-Id: <$1@test>" \
		--header "Subject: 資料送付 $1" --body "本文です。$1" \
		--attach-type application/octet-stream --attach-name "${4:-見積書.bin}" \
		--attach @"$3" >"$T/send-$1.out" 2>&1 || fail "message $1 not accepted"
}

# mailfile ID RCPT: the sink's file of <ID@test> for RCPT
mailfile() {
	grep -ls "^Message-Id: <$1@test>" "$SINK/$2/new/"* 2>/dev/null | head -1
}

# parts FILE: "ctype<TAB>disposition<TAB>filename" per leaf part, then the
# decoded text of the text parts
parts() {
	python3 - "$1" <<'PY'
import email, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read())
text = []
for p in m.walk():
    if p.is_multipart():
        continue
    print("%s\t%s\t%s" % (p.get_content_type(), p.get_content_disposition(), p.get_filename()))
    if p.get_content_maintype() == "text":
        text.append(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8"))
print("\n".join(text))
PY
}

# payload FILE NAME OUT: the decoded attachment NAME of FILE into OUT
payload() {
	python3 - "$1" "$2" "$3" <<'PY'
import email, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read())
for p in m.walk():
    if p.get_filename() == sys.argv[2]:
        open(sys.argv[3], "wb").write(p.get_payload(decode=True))
        sys.exit(0)
sys.exit(1)
PY
}

# notice KIND RCPT: decoded bodies of the notices of KIND to RCPT
notice() {
	python3 - "$SINK/$2/new" "$1" <<'PY'
import email, os, sys
d, kind = sys.argv[1:3]
for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    m = email.message_from_bytes(open(os.path.join(d, f), "rb").read())
    if m.get("X-Sekisho-Notice") == kind:
        print(m.get_payload(decode=True).decode(m.get_content_charset()))
PY
}

# status URL [curl options]: the HTTP status; the body goes to $T/body
status() {
	u=$1
	shift
	curl -s -o "$T/body" -w '%{http_code}' "$@" "$u"
}

qid() {
	sekisho attachment list | awk -v s="資料送付 $1" 'index($0, s) { print $1; exit }'
}

# st_is CODE URL [curl options]: the answer's status is CODE
st_is() {
	want=$1
	shift
	[ "$(status "$@")" = "$want" ]
}

# arrived ID RCPT: <ID@test> is in RCPT's maildir
arrived() {
	[ -n "$(mailfile "$1" "$2")" ]
}

# has_notice KIND RCPT: a notice of KIND reached RCPT
has_notice() {
	notice "$1" "$2" | grep -q ID
}

# link_of ID RCPT: the download link in the delivered <ID@test>
link_of() {
	parts "$(mailfile "$1" "$2")" | grep -Eo "$BASE/dl/[A-Za-z0-9_-]{43}" | head -1
}

# dl_is URL FILE [curl options]: the download is 200 with FILE's bytes
dl_is() {
	u=$1
	f=$2
	shift 2
	st_is 200 "$u" "$@" && cmp -s "$T/body" "$f"
}

head -c 70000 /dev/urandom >"$T/file.bin"
printf 'internal\n' >"$T/small.txt"

# ---- link mode ----
start_sekishod $COMMON -o attachment_protection=link -o attachment_link_max_downloads=2 \
	-o attachment_link_expiry=1h
wait_port "$HP" 30 || fail "the console did not start"

send l1 bob@partner.example "$T/file.bin"
wait_for 20 arrived l1 bob@partner.example || fail "l1 not delivered"
parts "$(mailfile l1 bob@partner.example)" >"$T/l1.parts"
check "the delivered mail has no attachment left" \
	sh -c "! grep -q '	attachment	' '$T/l1.parts' && ! grep -q 'application/octet-stream' '$T/l1.parts'"
check "the body is kept" grep -q '本文です。l1' "$T/l1.parts"
check "the link notice is Japanese and English and names the file" \
	sh -c "grep -q 'ダウンロードしてください' '$T/l1.parts' && grep -q 'available for download' '$T/l1.parts' && grep -q '見積書.bin' '$T/l1.parts'"
URL=$(link_of l1 bob@partner.example)
[ -n "$URL" ] || fail "no download link in l1"
ok "the mail carries the download link"
L1=$(qid l1)
[ -n "$L1" ] || fail "l1 is not in sekisho attachment list"
check "the stored copy is 0600 under a random name" \
	sh -c "[ \"\$(stat -c %a '$T/state/attachments/'* | sort -u)\" = 600 ] && ! ls '$T/state/attachments' | grep -q '見積書'"

st_is 200 "$URL" && grep -q '見積書.bin' "$T/body" && grep -q 'Download' "$T/body" ||
	fail "the page does not list the file"
ok "the page lists the file (200)"
check "the page has the server's CSP" \
	sh -c "curl -sI '$URL' | grep -qi '^content-security-policy: default-src .none.'"
check "a HEAD on a file (link checkers) spends no download" \
	sh -c "curl -s -o /dev/null -I '$URL/file/1' && curl -s -o /dev/null -I '$URL/file/1'"
check "the download gives the exact bytes" dl_is "$URL/file/1" "$T/file.bin" -A it-agent/1 -D "$T/hdr"
check "Content-Disposition has the RFC 6266 UTF-8 name" \
	grep -qi "filename\*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.bin" "$T/hdr"
check "the file goes as octet-stream with nosniff" \
	sh -c "grep -qi '^content-type: application/octet-stream' '$T/hdr' && grep -qi '^x-content-type-options: nosniff' '$T/hdr'"
check "the second download works" dl_is "$URL/file/1" "$T/file.bin"
check "the download limit gives 410" st_is 410 "$URL/file/1"
check "the page itself is 410 then" st_is 410 "$URL"
sekisho attachment show "$L1" >"$T/l1.show"
check "every download is logged with address and user agent" \
	sh -c "[ \$(grep -c ' ok ' '$T/l1.show') = 2 ] && grep -q 'ip=127.0.0.1 agent=\"it-agent/1\"' '$T/l1.show' && grep -q ' gone ' '$T/l1.show'"
check "an unknown token is 404" st_is 404 "$BASE/dl/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

# the sender's notice and its revoke link
send l2 bob@partner.example "$T/file.bin" report.bin
wait_for 20 arrived l2 bob@partner.example || fail "l2 not delivered"
URL2=$(link_of l2 bob@partner.example)
check "l2 downloads" dl_is "$URL2/file/1" "$T/file.bin"
wait_for 10 has_notice attach_link taro@sekisho.test || fail "no notice to the sender"
sleep 1
notice attach_link taro@sekisho.test >"$T/l2.notice"
check "the sender is told, in Japanese, with a revoke link" \
	sh -c "grep -q 'ダウンロードリンクに置き換えて送信しました' '$T/l2.notice' && grep -q 'report.bin' '$T/l2.notice'"
REVOKE=$(grep -Eo "$BASE/dl/revoke/[A-Za-z0-9_-]{43}" "$T/l2.notice" | tail -1)
[ -n "$REVOKE" ] || fail "no revoke link"
check "GET on the revoke link only asks" st_is 200 "$REVOKE"
check "the link still works after that GET" st_is 200 "$URL2/file/1"
check "POST on the revoke link revokes" st_is 200 "$REVOKE" -X POST
check "a revoked link gives 410 (file)" st_is 410 "$URL2/file/1"
check "a revoked link gives 410 (page)" st_is 410 "$URL2"
check "the revoke link works once" st_is 410 "$REVOKE" -X POST

# revoke by the CLI
send l3 bob@partner.example "$T/file.bin"
wait_for 20 arrived l3 bob@partner.example || fail "l3 not delivered"
URL3=$(link_of l3 bob@partner.example)
check "l3 works before revocation" st_is 200 "$URL3"
check "sekisho attachment revoke" sekisho attachment revoke "$(qid l3)"
check "then it gives 410" st_is 410 "$URL3/file/1"
check "sekisho attachment list shows the revocations" \
	sh -c "[ \$('$SEKISHO' -o state_dir='$T/state' attachment list | grep -c revoked) = 2 ]"
wait_for 10 sh -c "[ \$(ls '$T/state/attachments' | wc -l) = 1 ]" ||
	fail "the files of revoked links are not removed"
ok "the files of revoked links are removed"

# inside the organisation: untouched
send i1 hanako@sekisho.test "$T/small.txt" memo.txt
wait_for 20 arrived i1 hanako@sekisho.test || fail "i1 not delivered"
payload "$(mailfile i1 hanako@sekisho.test)" memo.txt "$T/i1.txt" && cmp -s "$T/i1.txt" "$T/small.txt" ||
	fail "internal mail lost its attachment"
ok "internal mail keeps its attachment"
stop_sekishod

# ---- the code flow and expiry ----
start_sekishod $COMMON -o attachment_protection=link -o attachment_link_code=yes \
	-o attachment_link_expiry=8s -o attachment_link_max_downloads=0
wait_port "$HP" 30 || fail "the console did not start again"
send c1 carol@partner.example "$T/file.bin"
wait_for 20 arrived c1 carol@partner.example || fail "c1 not delivered"
URLC=$(link_of c1 carol@partner.example)
wait_for 10 has_notice attach_code carol@partner.example || fail "no code mail"
CODE=$(notice attach_code carol@partner.example |
	awk 'prev ~ /コード|code/ && NF == 1 { print $1; exit } NF { prev = $0 }')
[ -n "$CODE" ] || fail "no code in the code mail"
st_is 200 "$URLC" && grep -q 'name="code"' "$T/body" || fail "the page does not ask for the code"
ok "the page asks for the code"
st_is 200 "$URLC/file/1" && ! cmp -s "$T/body" "$T/file.bin" || fail "a file without the code"
ok "no file without the code"
check "a wrong code is refused (403)" st_is 403 "$URLC" -d code=WRONGCODE -d file=1
check "the code from the code mail downloads the file" \
	dl_is "$URLC" "$T/file.bin" -d code="$CODE" -d file=1
wait_for 10 has_notice attach_link taro@sekisho.test || fail "no notice to the sender"
notice attach_link taro@sekisho.test | grep -q "$CODE" && fail "the sender's notice carries the code"
ok "the sender's notice does not carry the code"
sleep 8
check "after the expiry the link gives 410" st_is 410 "$URLC" -d code="$CODE" -d file=1
check "the code never reaches the log" sh -c "! grep -q '$CODE' '$T/sekishod.log'"
stop_sekishod

# ---- held mail: the link's mails wait for the release; a recall revokes ----
rm -rf "$SINK"
start_sekishod $COMMON -o attachment_protection=link -o hold_time=4s
send h1 frank@partner.example "$T/file.bin"
send h2 frank@partner.example "$T/file.bin"
wait_for 10 sh -c "[ \$('$SEKISHO' -o state_dir='$T/state' hold list | grep -c '資料送付 h') = 2 ]" ||
	fail "h1 and h2 are not held"
H2=$(sekisho hold list | awk '/資料送付 h2/ { print $1; exit }')
check "the held mail's link is recorded" sh -c "'$SEKISHO' -o state_dir='$T/state' attachment list | grep -q '資料送付 h1'"
check "a held mail can be recalled" sekisho hold cancel "$H2"
sleep 1
has_notice attach_link taro@sekisho.test && fail "the link notice went out before the release"
ok "no link notice while the mail is held"
wait_for 15 arrived h1 frank@partner.example || fail "h1 not released"
check "the released mail carries the link, not the file" \
	sh -c "! grep -q 'Content-Disposition: attachment' '$(mailfile h1 frank@partner.example)'"
URLH=$(link_of h1 frank@partner.example)
check "its link works" dl_is "$URLH/file/1" "$T/file.bin"
wait_for 10 has_notice attach_link taro@sekisho.test || fail "no link notice after the release"
ok "the link notice follows the release"
wait_for 10 sh -c "'$SEKISHO' -o state_dir='$T/state' attachment list | grep '資料送付 h2' | grep -q revoked" ||
	fail "the recalled mail's link is not revoked"
ok "the recalled mail's link is revoked"
[ "$(notice attach_link taro@sekisho.test | grep -c 'ID:')" = 1 ] ||
	fail "the recalled mail got a link notice"
ok "the recalled mail gets no link notice"
stop_sekishod

# ---- a crash around the rename of the rewritten message ----
# Held mail stays in the spool, rewritten; stopping the daemon and putting
# the store back to "received, set pending" is the state a crash leaves
# after the rename and before the commit (k1), or, with the original bytes
# put back into the spool, before the rename (k2).
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
rm -rf "$SINK"
start_sekishod $COMMON -o attachment_protection=link -o hold_time=1h
send k1 grace@partner.example "$T/file.bin"
send k2 grace@partner.example "$T/file.bin"
wait_for 10 sh -c "[ \$('$SEKISHO' -o state_dir='$T/state' hold list | grep -c '資料送付 k') = 2 ]" ||
	fail "k1 and k2 are not held"
K1=$(sekisho hold list | awk '/資料送付 k1/ { print $1; exit }')
K2=$(sekisho hold list | awk '/資料送付 k2/ { print $1; exit }')
OLDK2=$(parts "$T/state/spool/queue/$K2" | grep -Eo "$BASE/dl/[A-Za-z0-9_-]{43}" | head -1)
stop_sekishod
[ -n "$OLDK2" ] || fail "no link in the spooled k2"
python3 - "$T/state/spool/queue/$K2" "$T/small.txt" <<'PY'
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "taro@sekisho.test"
m["To"] = "grace@partner.example"
m["Subject"] = "資料送付 k2"
m["Message-Id"] = "<k2@test>"
m.set_content("本文です。k2")
m.add_attachment(open(sys.argv[2], "rb").read(), maintype="application",
    subtype="octet-stream", filename="again.txt")
open(sys.argv[1], "wb").write(m.as_bytes().replace(b"\n", b"\r\n"))
PY
NFILES=$(ls "$T/state/attachments" | wc -l)
sqlite3 "$T/state/sekisho.db" "UPDATE messages SET state = 1, action = NULL
	WHERE id IN ('$K1', '$K2'); UPDATE attach_sets SET state = 'pending'
	WHERE id IN ('$K1', '$K2'); DELETE FROM holds WHERE msg_id IN ('$K1', '$K2');" ||
	fail "cannot set up the crash state"
start_sekishod $COMMON -o attachment_protection=link
wait_for 20 arrived k1 grace@partner.example || fail "k1 not delivered after the restart"
wait_for 20 arrived k2 grace@partner.example || fail "k2 not delivered after the restart"
sleep 1
[ "$(mailfile k1 grace@partner.example | wc -l)" = 1 ] &&
	[ "$(grep -ls '^Message-Id: <k1@test>' "$SINK/grace@partner.example/new/"* | wc -l)" = 1 ] ||
	fail "k1 delivered more than once"
parts "$(mailfile k1 grace@partner.example)" >"$T/k1.parts"
check "after the rename: k1 is not rewritten twice (one link, no file)" \
	sh -c "[ \$(grep -Eo '$BASE/dl/[A-Za-z0-9_-]{43}' '$T/k1.parts' | sort -u | wc -l) = 1 ] && ! grep -q '	attachment	' '$T/k1.parts'"
check "after the rename: k1's link is live and gives the file" \
	dl_is "$(link_of k1 grace@partner.example)/file/1" "$T/file.bin"
check "the restart made k1's pending link live" \
	grep -q "attach id=$K1 activated after a restart" "$T/sekishod.log"
check "before the rename: k2's old link never works" st_is 404 "$OLDK2"
check "before the rename: k2 leaves with a new link to its file" \
	dl_is "$(link_of k2 grace@partner.example)/file/1" "$T/small.txt"
check "the replaced files are removed" sh -c "[ \$(ls '$T/state/attachments' | wc -l) = $NFILES ]"
stop_sekishod

# ---- zip mode ----
start_sekishod $COMMON -o attachment_protection=zip
send z1 dave@partner.example "$T/file.bin" data.bin
wait_for 20 arrived z1 dave@partner.example || fail "z1 not delivered"
parts "$(mailfile z1 dave@partner.example)" >"$T/z1.parts"
check "the mail carries one ZIP and no other file" \
	sh -c "grep -q 'application/zip	attachment	attachments.zip' '$T/z1.parts' && ! grep -q 'data.bin' '$T/z1.parts'"
payload "$(mailfile z1 dave@partner.example)" attachments.zip "$T/z1.zip" || fail "no ZIP"
wait_for 10 has_notice attach_password taro@sekisho.test || fail "no password mail"
PW=$(notice attach_password taro@sekisho.test |
	awk 'prev ~ /パスワード|Password/ && NF == 1 { print $1; exit } NF { prev = $0 }')
[ -n "$PW" ] || fail "no password in the password mail"
mkdir -p "$T/unz-bad" "$T/unz"
check "the ZIP does not open without the password" \
	sh -c "! 7z x -y -p'not-it' -o'$T/unz-bad' '$T/z1.zip' >/dev/null 2>&1 && ! cmp -s '$T/unz-bad/data.bin' '$T/file.bin'"
check "7z opens it with the password from the password mail" \
	sh -c "7z x -y -p'$PW' -o'$T/unz' '$T/z1.zip' >/dev/null && cmp -s '$T/unz/data.bin' '$T/file.bin'"
check "the password never reaches the log" sh -c "! grep -q '$PW' '$T/sekishod.log'"
has_notice attach_password dave@partner.example && fail "the recipient got the password"
ok "the recipient did not get the password"
stop_sekishod

# ---- fail closed: the files cannot be stored ----
CC=${CC:-cc}
if command -v "$CC" >/dev/null && "$CC" -shared -fPIC -o "$T/faultshim.so" \
	"$SRC/tests/integration/faultshim.c" -ldl >"$T/cc.out" 2>&1; then
	PRELOAD=$T/faultshim.so
	if ldd "$SEKISHOD" 2>/dev/null | grep -q 'libasan'; then
		PRELOAD="$(ldd "$SEKISHOD" | awk '/libasan/ { print $3; exit }'):$PRELOAD"
	fi
	mkdir -p "$T/flags" "$T/state/attachments"
	: >"$T/flags/fail-write"
	# shellcheck disable=SC2086 # COMMON is a list of options
	env LD_PRELOAD="$PRELOAD" FAULTSHIM_FLAGS="$T/flags" \
		FAULTSHIM_PREFIX="$(cd "$T/state/attachments" && pwd -P)" \
		"$SEKISHOD" -o state_dir="$T/state" -o myhostname=gw.sekisho.test \
		-o inbound_listen=127.0.0.1:"$IN_PORT" -o outbound_listen=127.0.0.1:"$OUT_PORT" \
		-o queue_scan_interval=1s $COMMON -o attachment_protection=link \
		>>"$T/sekishod.log" 2>&1 &
	SEKISHOD_PID=$!
	PIDS="$PIDS $SEKISHOD_PID"
	wait_port "$OUT_PORT" 30 || fail "sekishod (fault shim) did not start"
	grep -q faultshim.so "/proc/$SEKISHOD_PID/maps" 2>/dev/null ||
		fail "the fault shim is not loaded into sekishod"
	send f1 erin@partner.example "$T/file.bin"
	wait_for 20 sh -c "'$SEKISHO' -o state_dir='$T/state' quarantine list | grep -q '資料送付 f1'" ||
		fail "f1 is not quarantined"
	ok "a mail whose files cannot be stored is quarantined"
	check "the fault shim fired" grep -q write "$T/flags/faultshim.log"
	sleep 2
	arrived f1 erin@partner.example && fail "f1 left with its attachment"
	ok "it never leaves with its attachment"
	stop_sekishod
else
	echo "# no fault-injection part: cannot build faultshim.so"
fi
finish
