# dovecot_lib.sh - a private Dovecot for an integration test (sourced after
# lib.sh): its own base_dir, state, log and config under $T/dovecot, IMAP on
# one loopback port, no TLS.
#
#   dovecot_require          skip unless Dovecot can run here (as root)
#   dovecot_dirs             make $DV (= $T/dovecot) and its directories
#   dovecot_conf_base PORT NAME
#                            print the settings every such Dovecot shares;
#                            the test adds its passdb, userdb and the rest
#   dovecot_conf_users       print a passdb and userdb of $DV/users
#                            (passwd-file: name:{PLAIN}pw:uid:gid::home::)
#
# The test starts Dovecot itself (in the background with -F, or as a
# daemon whose master pid it adds to PIDS).

DOVECOT=/usr/sbin/dovecot
DV=$T/dovecot

dovecot_require() {
	[ -x "$DOVECOT" ] || skip "Dovecot is not installed (dovecot-core)"
	[ -x /usr/lib/dovecot/imap ] || skip "no Dovecot IMAP server (dovecot-imapd)"
	[ "$(id -u)" = 0 ] || skip "a private Dovecot needs root to start"
	getent passwd dovenull >/dev/null || skip "no dovenull user (dovecot-core creates it)"
	getent passwd dovecot >/dev/null || skip "no dovecot user (dovecot-core creates it)"
}

dovecot_dirs() {
	chmod 711 "$T"
	mkdir -p "$DV/run" "$DV/state" "$DV/home"
	chown nobody:nogroup "$DV/home"
}

dovecot_conf_base() {
	cat <<CONF
base_dir = $DV/run
state_dir = $DV/state
instance_name = $2-$1
log_path = $T/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/Maildir
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $1
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
CONF
}

dovecot_conf_users() {
	cat <<CONF
passdb {
  driver = passwd-file
  args = $DV/users
}
userdb {
  driver = passwd-file
  args = $DV/users
}
CONF
}
