# postfix.sh - a private Postfix instance on loopback, for tests and benchmarks.
# Source it (after scripts/net.sh), then:
#
#   postfix_missing                 prints why no instance can run here (empty: it can)
#   postfix_instance DIR HOST LOG   DIR/etc/main.cf with the common settings (queue in
#                                   DIR/spool, no local delivery, loopback IPv4 only,
#                                   log to LOG) and DIR/etc/master.cf with the internal
#                                   services; append listeners and settings to both
#   postfix_ctl DIR COMMAND...      postfix -c DIR/etc COMMAND (check, start, flush...)
#   postfix_stop DIR                stop the instance and wait until its master is gone
#
# The directory holding LOG must be passable by the postfix user (chmod 711).

PF_SBIN=/usr/lib/postfix/sbin

postfix_missing() {
	for b in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/postqueue \
		"$PF_SBIN/master" "$PF_SBIN/smtpd" "$PF_SBIN/smtp"; do
		[ -x "$b" ] || { echo "Postfix is not installed ($b is missing; Debian package postfix)"; return; }
	done
	getent passwd postfix >/dev/null || { echo "no 'postfix' user (Debian package postfix creates it)"; return; }
	getent group postdrop >/dev/null || { echo "no 'postdrop' group (Debian package postfix creates it)"; return; }
	[ "$(id -u)" = 0 ] || echo "a private Postfix instance needs root to start (master runs as root)"
}

postfix_instance() {
	_pf=$1
	mkdir -p "$_pf/etc" "$_pf/spool" "$_pf/data"
	chown postfix:postfix "$_pf/data"
	cat >"$_pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $_pf/spool
data_directory = $_pf/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $(dirname "$3")
maillog_file = $3
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = $2
mynetworks = 127.0.0.0/8
# no local delivery at all: nothing is for this host
mydestination =
local_transport = error:local delivery is disabled here
alias_maps =
alias_database =
local_recipient_maps =
smtp_host_lookup = native
smtputf8_enable = no
biff = no
EOF
	cat >"$_pf/etc/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

postfix_ctl() {
	_pf=$1
	shift
	/usr/sbin/postfix -c "$_pf/etc" "$@"
}

postfix_stop() {
	_pid=$1/spool/pid/master.pid
	[ -f "$_pid" ] || return 0
	postfix_ctl "$1" stop >/dev/null 2>&1
	# postfix stop returns at once; wait until master has gone
	for _i in $(seq 1 100); do
		kill -0 "$(tr -d ' ' <"$_pid")" 2>/dev/null || break
		sleep 0.2
	done
	rm -f "$_pid"
}
