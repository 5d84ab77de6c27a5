#!/bin/sh
# install-deps.sh - install every Debian package that sekisho's build, run and
# tests need.  Idempotent: dpkg-query is asked first and apt-get runs only for
# what is missing, so a prepared machine never touches the package mirror.
set -eu

PACKAGES="
build-essential cmake pkg-config
libevent-dev libssl-dev openssl libsqlite3-dev sqlite3 libsodium-dev
libglib2.0-dev libgmime-3.0-dev libgumbo-dev libpsl-dev libidn2-dev
libunbound-dev unbound libspf2-dev libopendkim-dev libopendmarc-dev
libjansson-dev libicu-dev
libclamav-dev libyara-dev libmagic-dev libarchive-dev libgsf-1-dev zlib1g-dev
clamav-testfiles p7zip-full zip
libmicrohttpd-dev liboath-dev oathtool libpwquality-dev cracklib-runtime
libzip-dev libmaxminddb-dev libmaxmind-db-writer-perl mmdb-bin libhiredis-dev
libcmocka-dev
swaks postfix python3 curl jq
dovecot-core dovecot-imapd dovecot-sieve
chromium fonts-noto-cjk
clang libclang-rt-14-dev
valgrind
"

# Peers for bench/accuracy.sh only (BENCH=1), so that "make test" stays light.
BENCH_PACKAGES="
bogofilter spamassassin spamd spamc rspamd redis-server wrk
"
if [ "${BENCH:-0}" = "1" ]; then
	PACKAGES="$PACKAGES $BENCH_PACKAGES"
fi

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done
# Node.js and npm build the console (web/): Debian's unless one is installed.
if ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi

[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Postfix asks debconf questions; we only need its binaries (smtp-sink,
# smtp-source, and an instance the tests start on loopback).
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections 2>/dev/null || true
export DEBIAN_FRONTEND=noninteractive
# Dovecot's package would start a system instance on :143; the tests start
# their own on loopback ports, so no service is started by the install.
rcd=/usr/sbin/policy-rc.d
rcd_ours=0
if [ ! -e "$rcd" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$rcd" >/dev/null
	$SUDO chmod 755 "$rcd"
	rcd_ours=1
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
if [ "$rcd_ours" = 1 ]; then
	$SUDO rm -f "$rcd"
fi
