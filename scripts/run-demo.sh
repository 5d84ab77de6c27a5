#!/bin/sh
# run-demo.sh - start sekishod on its embedded defaults for a first look.
# Called by `make run`.  State (spool, SQLite store, Maildir sink, a
# self-signed certificate for STARTTLS) lives in ./state.
set -eu
BUILD=${1:-build}
STATE=${SEKISHO_STATE:-state}
mkdir -p "$STATE"
if [ ! -f "$STATE/tls.crt" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
		-keyout "$STATE/tls.key" -out "$STATE/tls.crt" >/dev/null 2>&1
	chmod 600 "$STATE/tls.key"
fi
cat <<MSG

sekishod is starting with its embedded defaults:
  inbound  SMTP  127.0.0.1:2525  (mail for sekisho.test)
  outbound SMTP  127.0.0.1:5870  (relay for 127.0.0.0/8)
  store and spool in ./$STATE, delivered mail in ./$STATE/sink/<recipient>/new/
  console  http://127.0.0.1:8025/  (REST API under /api/v1, metrics at /metrics)

Create the first console admin (prints a TOTP secret for your authenticator
app; oathtool --totp -b SECRET prints the current code):
  $BUILD/sekisho -o state_dir=$STATE console-user add admin --role admin --email admin@sekisho.test
  (type the password, at least 10 characters, then Enter)
最初の管理者: 上のコマンドでパスワードを入力すると TOTP シークレットが表示されます。

Try, from another terminal:
  swaks --server 127.0.0.1:2525 --to alice@sekisho.test --from bob@example.org
  ls $STATE/sink/alice@sekisho.test/new/
  $BUILD/sekisho -o state_dir=$STATE queue list

Stop with Ctrl-C.

MSG
exec "$BUILD/sekishod" -o state_dir="$STATE" \
	-o tls_cert_file="$STATE/tls.crt" -o tls_key_file="$STATE/tls.key" \
	-o console_listen="${SEKISHO_CONSOLE:-127.0.0.1:8025}"
