#!/bin/sh
# test_outbound_rcpt.sh - the DLP and recipient checks through the daemon,
# end to end (swaks on the outbound listener, smtp-sink as the relay):
#  - wide external mail with wide_external_action = bcc arrives once, with
#    every envelope recipient, and without the external addresses in To/Cc
#  - a My Number in the body gives DLP_MYNUMBER; the daemon's log never
#    holds the number
#  - the first mail to an address gives OUT_FIRST_RECIPIENT and
#    OUT_FIRST_DOMAIN, the second neither (the history is in the store)
#  - a slip of the keyboard in a domain the organisation mails gives
#    OUT_LOOKALIKE_RECIPIENT
. "$(dirname "$0")/lib.sh"

command -v swaks >/dev/null || skip "swaks is not installed"
command -v smtp-sink >/dev/null || skip "smtp-sink (postfix) is not installed"

SINK=$(free_port)
start_sink out "$SINK"
start_sekishod -o outbound_next_hop=smtp:127.0.0.1:"$SINK" -o network_checks=no \
	-o local_domains=example.co.jp -o wide_external_action=bcc \
	-o outbound_history_warmup=0 -o outbound_frequent_count=2 \
	-o approval_threshold=0 -o confirm_threshold=0 -o hold_time=0 \
	-o log_level=debug

# send ID FROM "RCPT,RCPT" "To: ...\r\nCc: ...\r\n" BODY
send() {
	{
		printf 'From: <%s>\r\n%b' "$2" "$4"
		printf 'Subject: test %s\r\nMessage-ID: <%s@test>\r\n' "$1" "$1"
		printf 'Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n'
		printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n' "$5"
	} >"$T/$1.eml"
	swaks --server 127.0.0.1 --port "$OUT_PORT" --timeout 20 --hide-all \
		--from "$2" --to "$3" --data "$T/$1.eml" || fail "$1: not accepted"
	wait_for 20 sh -c "grep -rqs '$1@test' '$T/out'" || fail "$1: not relayed"
	grep -rls "$1@test" "$T/out" | head -n 1
}

# headers FILE: the header block, unfolded
headers() {
	sed -e '/^\r\{0,1\}$/q' "$1" | tr -d '\r' | awk '/^[ \t]/ { sub(/^[ \t]+/, " "); printf "%s", $0; next } { if (NR > 1) printf "\n"; printf "%s", $0 } END { printf "\n" }'
}

# wide external mail, moved to Bcc
f=$(send wide-1 taro@example.co.jp \
	"a@alpha-corp.com,b@beta-kk.net,c@gamma-inc.org,d@delta-shoji.jp,hanako@example.co.jp" \
	'To: a@alpha-corp.com, b@beta-kk.net, hanako@example.co.jp\r\nCc: c@gamma-inc.org,\r\n d@delta-shoji.jp\r\n' \
	"hello all")
headers "$f" >"$T/wide.h"
check "wide external mail arrives once" [ "$(grep -rls 'wide-1@test' "$T/out" | wc -l)" -eq 1 ]
check "OUT_WIDE_EXTERNAL is in the result header" grep -q '^X-Sekisho-Result:.*OUT_WIDE_EXTERNAL' "$T/wide.h"
check "the external addresses are gone from To and Cc" \
	sh -c "! grep -Eq '^(To|Cc):.*(alpha-corp|beta-kk|gamma-inc|delta-shoji)' '$T/wide.h'"
check "the internal address stays in To" grep -q '^To: hanako@example.co.jp$' "$T/wide.h"
for r in a@alpha-corp.com b@beta-kk.net c@gamma-inc.org d@delta-shoji.jp hanako@example.co.jp; do
	check "the envelope still has $r" grep -q "^X-Rcpt-Args: <$r>" "$f"
done

# DLP: a My Number, near its keyword
f=$(send dlp-1 taro@example.co.jp "tanaka@partner-a.co.jp" 'To: tanaka@partner-a.co.jp\r\n' \
	"マイナンバー: 1234-5678-9018 です")
check "DLP_MYNUMBER for a My Number" grep -q '^X-Sekisho-Result:.*DLP_MYNUMBER' "$f"
check "the daemon's log never holds the number" \
	sh -c "! grep -Eq '1234-5678-9018|123456789018' '$T/sekishod.log'"

# first recipient, then known
f=$(send first-1 jiro@example.co.jp "sato@hinagata-shoji.co.jp" 'To: sato@hinagata-shoji.co.jp\r\n' "one")
check "the first mail to an address: OUT_FIRST_RECIPIENT and OUT_FIRST_DOMAIN" \
	sh -c "grep -q '^X-Sekisho-Result:.*OUT_FIRST_RECIPIENT' '$f' && grep -q '^X-Sekisho-Result:.*OUT_FIRST_DOMAIN' '$f'"
f=$(send first-2 jiro@example.co.jp "sato@hinagata-shoji.co.jp" 'To: sato@hinagata-shoji.co.jp\r\n' "two")
check "the second mail to it: neither" \
	sh -c "! grep -Eq '^X-Sekisho-Result:.*OUT_FIRST_(RECIPIENT|DOMAIN)' '$f'"
f=$(send first-3 taro@example.co.jp "suzuki@hinagata-shoji.co.jp" 'To: suzuki@hinagata-shoji.co.jp\r\n' "three")
check "another sender, another address of a known domain: only OUT_FIRST_RECIPIENT" \
	sh -c "grep -q '^X-Sekisho-Result:.*OUT_FIRST_RECIPIENT' '$f' && ! grep -q '^X-Sekisho-Result:.*OUT_FIRST_DOMAIN' '$f'"

# a lookalike of the domain mailed three times now
f=$(send look-1 jiro@example.co.jp "sato@hinagata-shoj1.co.jp" 'To: sato@hinagata-shoj1.co.jp\r\n' "four")
check "a lookalike of a frequent domain: OUT_LOOKALIKE_RECIPIENT" \
	grep -q '^X-Sekisho-Result:.*OUT_LOOKALIKE_RECIPIENT' "$f"

stop_sekishod
finish
