#!/bin/sh
# test_golden.sh - golden files for the analysis: each tests/golden/NAME.eml
# is scanned with `sekisho scan` (fixed settings, no network) and must give
# the action and symbols in NAME.expect and, byte for byte, the rewritten
# message in NAME.out (headers added, subject tag, banners).
# UPDATE_GOLDEN=1 rewrites the .expect and .out files from the current output
# (then read the diff before committing it).
. "$(dirname "$0")/lib.sh"

G=$SRC/tests/golden

mask() {
	sed -E '/^X-Sekisho-Result:/ s/-?[0-9]+\.[0-9]+/N/g' "$1"
}
set -- -o state_dir="$T/state" -o network_checks=no -o myhostname=gw.sekisho.test \
	-o inbound_tag_score=2 -o tag_subject_prefix="[要注意]" \
	-o inbound_quarantine_score=100 -o inbound_reject_score=200 -o score.HDR_MISSING_FROM=2
mkdir -p "$T/state"
for eml in "$G"/*.eml; do
	name=$(basename "$eml" .eml)
	"$SEKISHO" "$@" scan --json --output "$T/$name.out" "$eml" >"$T/$name.json"
	rc=$?
	[ $rc -le 6 ] && [ $rc -ne 1 ] && [ $rc -ne 2 ] || fail "$name: scan failed ($rc)"
	python3 - "$T/$name.json" >"$T/$name.expect" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read())
print("action " + r["action"])
for s in sorted(x["name"] for x in r["symbols"]):
    print("symbol " + s)
PY
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$T/$name.expect" "$G/$name.expect"
		cp "$T/$name.out" "$G/$name.out"
		echo "# updated $name"
		continue
	fi
	[ -f "$G/$name.expect" ] || fail "$name: no $name.expect (run with UPDATE_GOLDEN=1)"
	if ! diff -u "$G/$name.expect" "$T/$name.expect" >"$T/$name.diff"; then
		cat "$T/$name.diff" | sed 's/^/# /'
		fail "$name: action or symbols differ"
	fi
	# Scores are tuned over time; the symbols are checked above, so the
	# score figures in X-Sekisho-Result are masked for the byte comparison.
	mask "$G/$name.out" >"$T/$name.want"
	mask "$T/$name.out" >"$T/$name.got"
	if ! cmp -s "$T/$name.want" "$T/$name.got"; then
		diff -u "$T/$name.want" "$T/$name.got" | head -40 | sed 's/^/# /'
		fail "$name: the rewritten message differs"
	fi
	ok "$name: $(head -1 "$T/$name.expect"), symbols and rewritten message as expected"
done

# Readable checks on top of the byte comparison: decode what a mail reader sees.
python3 - "$G" >"$T/decoded.txt" <<'PY'
import email, sys
from email.header import decode_header, make_header
g = sys.argv[1]
def load(n):
    return email.message_from_bytes(open("%s/%s.out" % (g, n), "rb").read())
m = load("iso2022jp-tag")
print("tag-subject=" + str(make_header(decode_header(m["Subject"]))))
body = m.get_payload(decode=True).decode(m.get_content_charset())
print("tag-charset=" + m.get_content_charset())
print("tag-banner=%d" % body.startswith("【注意】"))
print("tag-body=%d" % ("請求書を添付いたしました。" in body))
m = load("utf8-html-tag")
parts = [p for p in m.walk() if not p.is_multipart()]
t = parts[0].get_payload(decode=True).decode("utf-8")
h = parts[1].get_payload(decode=True).decode("utf-8")
print("html-text-banner=%d" % t.startswith("【注意】"))
print("html-banner=%d" % ("【注意】" in h and h.index("【注意】") < h.index("お客様")))
m = load("iso2022jp-deliver")
print("deliver-subject=" + str(make_header(decode_header(m["Subject"]))))
print("deliver-banner=%d" % ("【注意】" in m.get_payload(decode=True).decode("iso-2022-jp")))
m = load("forged-result")
print("forged-count=%d" % len(m.get_all("X-Sekisho-Result")))
ar = m.get_all("Authentication-Results")
print("ar-ours=%d" % sum(1 for a in ar if a.strip().startswith("gw.sekisho.test;")))
print("ar-forged=%d" % sum(1 for a in ar if "dkim=pass header.d=example.org" in a))
print("ar-foreign=%d" % sum(1 for a in ar if a.strip().startswith("mx.example.org;")))
PY
[ "${UPDATE_GOLDEN:-0}" = 1 ] && { cat "$T/decoded.txt"; finish; exit 0; }
check "tagged ISO-2022-JP subject reads '[要注意] 請求書のご送付'" grep -qx "tag-subject=\[要注意\] 請求書のご送付" "$T/decoded.txt"
check "the tagged part keeps ISO-2022-JP and starts with the banner" \
	sh -c "grep -qx 'tag-charset=iso-2022-jp' '$T/decoded.txt' && grep -qx 'tag-banner=1' '$T/decoded.txt' && grep -qx 'tag-body=1' '$T/decoded.txt'"
check "both parts of the HTML mail carry the banner above the text" \
	sh -c "grep -qx 'html-text-banner=1' '$T/decoded.txt' && grep -qx 'html-banner=1' '$T/decoded.txt'"
check "delivered ISO-2022-JP mail keeps its subject and gets no banner" \
	sh -c "grep -qx 'deliver-subject=打ち合わせの日程' '$T/decoded.txt' && grep -qx 'deliver-banner=0' '$T/decoded.txt'"
check "a forged X-Sekisho-Result is replaced, not kept beside ours" grep -qx "forged-count=1" "$T/decoded.txt"
check "Authentication-Results claiming our authserv-id are dropped, other hosts' kept (RFC 8601 5)" \
	sh -c "grep -qx 'ar-ours=1' '$T/decoded.txt' && grep -qx 'ar-forged=0' '$T/decoded.txt' && grep -qx 'ar-foreign=1' '$T/decoded.txt'"
finish
