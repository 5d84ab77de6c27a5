/*
 * config.c - the option table, the file reader and -o overrides.
 *
 * The table is the single source of truth: defaults, types, allowed values
 * and the one-line documentation all live in it, and a unit test checks that
 * docs/configuration.md names every option.  Parsing errors never abort: the
 * reader reports "file:line: message" for each bad line and counts them, so
 * "sekisho config check" can show every mistake at once.
 */
#include "util/config.h"
#include "util/cidr.h"
#include "util/util.h"

#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT(n, t, d, doc) { #n, t, offsetof(struct config, n), d, NULL, doc }
#define OPT_ENUM(n, d, ch, doc) { #n, CONFIG_STR, offsetof(struct config, n), d, ch, doc }

#ifndef SEKISHO_RULES_DIR
#define SEKISHO_RULES_DIR "rules"
#endif
#ifndef SEKISHO_CONSOLE_DIR
#define SEKISHO_CONSOLE_DIR "web/dist"
#endif

static const char *const level_choices[] = { "crit", "error", "warning", "info", "debug", NULL };
static const char *const tls_level_choices[] = { "none", "may", "encrypt", NULL };
static const char *const line_ending_choices[] = { "strict", "normalize", NULL };
static const char *const attachment_action_choices[] = { "quarantine", "strip", NULL };
static const char *const clamav_engine_choices[] = { "libclamav", "clamd", "off", NULL };
static const char *const deadline_action_choices[] = { "reject", "release", NULL };
static const char *const notify_language_choices[] = { "ja", "en", NULL };
static const char *const notify_charset_choices[] = { "iso-2022-jp", "utf-8", NULL };
static const char *const attachment_protection_choices[] = { "off", "link", "zip", NULL };
static const char *const zip_password_to_choices[] = { "sender", "recipient", NULL };
static const char *const wide_external_choices[] = { "hold", "bcc", NULL };

static const struct config_option options[] = {
	OPT(state_dir, CONFIG_STR, "state",
	    "directory for the spool, the SQLite store and the Maildir sink"),
	OPT(myhostname, CONFIG_STR, "",
	    "name in the greeting, Received headers and DSNs (empty: the host name)"),
	OPT(log_file, CONFIG_STR, "", "log file (empty: standard error)"),
	OPT_ENUM(log_level, "info", level_choices, "least important level logged"),
	OPT(local_domains, CONFIG_LIST, "sekisho.test",
	    "domains the inbound listener accepts mail for"),
	OPT(inbound_listen, CONFIG_STR, "127.0.0.1:2525",
	    "address:port of the inbound listener (empty: off)"),
	OPT(outbound_listen, CONFIG_STR, "127.0.0.1:5870",
	    "address:port of the outbound (submission/relay) listener (empty: off)"),
	OPT(inbound_next_hop, CONFIG_STR, "maildir:sink",
	    "where inbound mail goes: smtp:HOST:PORT, lmtp:HOST:PORT, lmtp:unix:PATH or maildir:PATH"),
	OPT(outbound_next_hop, CONFIG_STR, "maildir:sink",
	    "where outbound mail goes (same forms as inbound_next_hop)"),
	OPT(trusted_networks, CONFIG_LIST, "127.0.0.0/8 ::1/128",
	    "networks that may relay through the outbound listener without AUTH"),
	OPT(xforward_hosts, CONFIG_LIST, "",
	    "MTAs in front (Postfix with smtp_send_xforward_command = yes) whose XFORWARD"
	    " attributes replace the client address, name and HELO for the checks (empty: none)"),
	OPT(auth_users_file, CONFIG_STR, "",
	    "file of user:argon2id-hash lines for AUTH on the outbound listener (empty: no AUTH)"),
	OPT(tls_cert_file, CONFIG_STR, "",
	    "PEM certificate chain for STARTTLS (empty: STARTTLS off)"),
	OPT(tls_key_file, CONFIG_STR, "", "PEM private key for STARTTLS"),
	OPT_ENUM(smtp_tls_security_level, "may", tls_level_choices,
	    "STARTTLS towards the next hop: none, may (when offered) or encrypt (required)"),
	OPT(message_size_limit, CONFIG_SIZE, "25m", "largest message accepted (SIZE)"),
	OPT(recipient_limit, CONFIG_INT, "1000", "most recipients in one transaction"),
	OPT(command_line_limit, CONFIG_INT, "2048",
	    "longest SMTP command line, CRLF included"),
	OPT(error_limit, CONFIG_INT, "20",
	    "errors in one session before the server hangs up"),
	OPT(max_sessions, CONFIG_INT, "4000", "concurrent SMTP sessions"),
	OPT(smtpd_timeout, CONFIG_TIME, "300s",
	    "how long the server waits for a command"),
	OPT(data_timeout, CONFIG_TIME, "300s",
	    "how long the server waits for more message data"),
	OPT_ENUM(smtp_line_endings, "strict", line_ending_choices,
	    "bare CR or LF in DATA: strict rejects the message, normalize turns them into CRLF"),
	OPT(delivery_concurrency, CONFIG_INT, "20",
	    "parallel deliveries to the next hops"),
	OPT(connect_timeout, CONFIG_TIME, "30s", "time to connect to a next hop"),
	OPT(delivery_timeout, CONFIG_TIME, "300s",
	    "time to wait for each reply of a next hop"),
	OPT(connection_reuse_time, CONFIG_TIME, "2s",
	    "how long an idle next-hop connection is kept for the next message"),
	OPT(queue_lifetime, CONFIG_TIME, "5d",
	    "how long a message is retried before it bounces"),
	OPT(retry_min, CONFIG_TIME, "60s", "first retry delay after a temporary failure"),
	OPT(retry_max, CONFIG_TIME, "4000s", "longest retry delay (back-off doubles up to it)"),
	OPT(queue_scan_interval, CONFIG_TIME, "1s",
	    "how often the scheduler looks for messages whose retry time has come"),
	OPT(scan_workers, CONFIG_INT, "0", "analysis threads (0: one per core)"),
	OPT(scan_inline_budget, CONFIG_MSEC, "10s",
	    "how long DATA waits for the analysis; a reject within it is a 5xx reply"),
	OPT(scan_timeout, CONFIG_MSEC, "30s",
	    "time for all checks of one message; past it, SCAN_TIMEOUT is added"),
	OPT(network_checks, CONFIG_BOOL, "yes",
	    "DNS-based checks (SPF, DKIM, DMARC, ARC, DNS blocklists)"),
	OPT(dns_forwarders, CONFIG_LIST, "",
	    "DNS servers to ask, as IP or IP@port (empty: those in /etc/resolv.conf)"),
	OPT(dns_timeout, CONFIG_MSEC, "3s", "time-out of one DNS query"),
	OPT(authserv_id, CONFIG_STR, "",
	    "authserv-id of the Authentication-Results header (empty: myhostname)"),
	OPT(rules_dir, CONFIG_STR, SEKISHO_RULES_DIR,
	    "directory of the shipped rules (brand lists, YARA, DLP patterns)"),
	OPT(protected_domains, CONFIG_LIST, "",
	    "more of the organization's domains whose lookalikes are phishing (local_domains always are)"),
	OPT(executive_names, CONFIG_LIST, "",
	    "executives' names (山田太郎, Taro_Yamada: no spaces) that outside senders must not use"
	    " as a display name"),
	OPT(threat_feeds, CONFIG_LIST, "",
	    "threat feed files of phishing URLs and domains (plain lists or CSV with a url column;"
	    " relative to state_dir)"),
	OPT(threat_feeds_reload_interval, CONFIG_TIME, "60s",
	    "how often the threat feed files are checked for changes and reloaded"),
	OPT(dnsbl_zones, CONFIG_LIST, "",
	    "DNS blocklist zones for the connecting IP address, such as zen.spamhaus.org"),
	OPT(uribl_zones, CONFIG_LIST, "",
	    "DNS blocklist zones for the domains of links, such as dbl.spamhaus.org"),
	OPT(first_contact, CONFIG_BOOL, "yes",
	    "flag the first mail from a domain the organization has never exchanged mail with"),
	OPT(first_contact_warmup, CONFIG_TIME, "7d",
	    "how long the correspondents history must have been kept before first contact counts"),
	OPT(inbound_tag_score, CONFIG_SCORE, "5",
	    "inbound: from this score the mail is tagged (subject prefix, banner; 0: never)"),
	OPT(inbound_quarantine_score, CONFIG_SCORE, "10",
	    "inbound: from this score the mail is quarantined (0: never)"),
	OPT(inbound_reject_score, CONFIG_SCORE, "15",
	    "inbound: from this score the mail is rejected (0: never)"),
	OPT(outbound_tag_score, CONFIG_SCORE, "0",
	    "outbound: from this score the mail is tagged (0: never)"),
	OPT(outbound_quarantine_score, CONFIG_SCORE, "10",
	    "outbound: from this score the mail is quarantined for an admin (0: never)"),
	OPT(outbound_reject_score, CONFIG_SCORE, "20",
	    "outbound: from this score the mail is rejected (0: never)"),
	OPT(tag_subject_prefix, CONFIG_STR, "[SPAM]",
	    "subject prefix of tagged mail, such as [SPAM] or [要注意] (empty: none)"),
	OPT(banner_suspicious, CONFIG_BOOL, "yes",
	    "put a warning banner (Japanese and English) at the top of tagged mail"),
	OPT(banner_external, CONFIG_BOOL, "no",
	    "put an external-sender banner at the top of all inbound mail"),
	OPT(symbol_actions, CONFIG_LIST,
	    "MALWARE_FOUND=quarantine MALWARE_SCAN_TIMEOUT=quarantine "
	    "MALWARE_SCAN_ERROR=quarantine ARCHIVE_BOMB=quarantine",
	    "actions forced by symbols, as SYMBOL=action (deliver, tag, quarantine, reject, hold);"
	    " keep the malware ones when you change it"),
	OPT(sender_allowlist, CONFIG_LIST, "",
	    "senders (address, @domain or domain) whose mail is delivered whatever the score"),
	OPT(sender_blocklist, CONFIG_LIST, "",
	    "senders (address, @domain or domain) whose mail is rejected"),
	OPT(recipient_allowlist, CONFIG_LIST, "",
	    "recipients (address, @domain or domain) who get their mail whatever the score"),
	OPT(attach_enable, CONFIG_BOOL, "yes",
	    "check attachments: true type, names, archives, Office macros, PDF, HTML, ClamAV and YARA"),
	OPT(attach_dangerous_ext, CONFIG_LIST,
	    "exe scr com pif cpl dll js jse vbs vbe wsf wsh wsc ws hta lnk iso img vhd vhdx "
	    "one onepkg msi msp mst cab chm hlp reg ps1 psm1 psd1 bat cmd jar jnlp "
	    "library-ms search-ms searchconnector-ms settingcontent-ms url website appref-ms "
	    "application gadget msc scf inf sct xll xbap diagcab appx appxbundle msix "
	    "msixbundle vb vbscript shs ade adp mde",
	    "file extensions that give ATTACH_DANGEROUS_TYPE (ARCHIVE_NESTED_DANGEROUS inside an archive)"),
	OPT_ENUM(attachment_action, "quarantine", attachment_action_choices,
	    "what a bad attachment does: quarantine the message, or strip the attachment and "
	    "deliver with a notice in its place"),
	OPT(attach_max_size, CONFIG_SIZE, "64m",
	    "largest attachment decoded for scanning; a larger one gives MALWARE_SCAN_ERROR"),
	OPT(malware_scan_budget, CONFIG_MSEC, "20s",
	    "time for the attachment checks of one message; past it, MALWARE_SCAN_TIMEOUT"),
	OPT_ENUM(clamav_engine, "libclamav", clamav_engine_choices,
	    "virus scanner: libclamav (in-process), clamd (over clamd_socket) or off"),
	OPT(clamav_db_dirs, CONFIG_LIST, "",
	    "more ClamAV signature directories for libclamav, such as /var/lib/clamav"
	    " (rules_dir/clamav is always loaded)"),
	OPT(clamd_socket, CONFIG_STR, "/run/clamav/clamd.ctl",
	    "clamd's socket for clamav_engine = clamd: a path, or host:port"),
	OPT(yara_enable, CONFIG_BOOL, "yes", "run the YARA rules of rules_dir/yara"),
	OPT(archive_max_depth, CONFIG_INT, "5",
	    "archives and documents nested deeper than this give ARCHIVE_BOMB"),
	OPT(archive_max_entries, CONFIG_INT, "2000",
	    "more archive entries than this in one message give ARCHIVE_BOMB"),
	OPT(archive_max_expanded, CONFIG_SIZE, "200m",
	    "more bytes than this expanded from the archives of one message give ARCHIVE_BOMB"),
	OPT(archive_max_ratio, CONFIG_INT, "100",
	    "an archive that expands more than this many times its size (past 10 MiB) gives ARCHIVE_BOMB"),
	OPT(archive_try_passwords, CONFIG_BOOL, "yes",
	    "try the passwords written in the message body on encrypted archives"),
	OPT(password_min_length, CONFIG_INT, "15",
	    "fewest characters (after NFKC) of a password that is the only factor (NIST SP 800-63B)"),
	OPT(password_min_length_mfa, CONFIG_INT, "8",
	    "fewest characters of a password used with a second factor"),
	OPT(password_max_length, CONFIG_INT, "256",
	    "most characters accepted in a password, never truncated (at least 64; 0: no limit)"),
	OPT(password_breached_list, CONFIG_STR, "",
	    "breached-password list in the Have I Been Pwned SHA-1 format (sorted HASH:COUNT lines;"
	    " relative to state_dir; empty: none)"),
	OPT(password_dictionary, CONFIG_STR, "",
	    "cracklib dictionary for the password check (empty: the system's; off: none)"),
	OPT(password_context_words, CONFIG_LIST, "",
	    "the company's words (names, products) that no password may contain"),
	OPT(sieve_dir, CONFIG_STR, "",
	    "directory of users' Sieve scripts as DIR/USER/*.sieve for the mailbox audit (empty: none)"),
	OPT(sieve_doveadm, CONFIG_BOOL, "no",
	    "read users' Sieve scripts with doveadm sieve list/get instead of sieve_dir"),
	OPT(sieve_doveadm_command, CONFIG_STR, "doveadm",
	    "the doveadm command for sieve_doveadm, words split on blanks (doveadm -c FILE)"),
	OPT(sieve_max_size, CONFIG_SIZE, "1m",
	    "largest Sieve script the audit parses; a larger one is a finding"),
	OPT(incident_contacts_window, CONFIG_TIME, "14d",
	    "how far back an incident looks for the external contacts the user mailed"),
	OPT(incident_template_dir, CONFIG_STR, "",
	    "directory of the incident notice templates (empty: the shipped templates/)"),
	OPT(dlp_inbound, CONFIG_BOOL, "no",
	    "run the DLP checks (DLP_*) on inbound mail too, not only on outbound mail"),
	OPT(dlp_keywords, CONFIG_LIST, "",
	    "more DLP keywords (DLP_KEYWORD) besides rules_dir/dlp/keywords.txt"),
	OPT(dlp_patterns, CONFIG_STR, "",
	    "DLP patterns as NAME:regex (ICU, case-insensitive), separated by white space before the"
	    " next NAME: (DLP_PATTERN); more in rules_dir/dlp/patterns.txt"),
	OPT(dlp_max_text, CONFIG_SIZE, "2m",
	    "text read by the DLP checks per message (subject, body, text attachments)"),
	OPT(outbound_many_external, CONFIG_INT, "10",
	    "outbound mail to more external addresses than this gives OUT_MANY_EXTERNAL"),
	OPT(outbound_wide_domains, CONFIG_INT, "3",
	    "outbound mail with external addresses of more domains than this in To/Cc gives"
	    " OUT_WIDE_EXTERNAL"),
	OPT_ENUM(wide_external_action, "hold", wide_external_choices,
	    "OUT_WIDE_EXTERNAL: hold (policy decides) or bcc (the external To/Cc addresses are"
	    " removed from the headers; the envelope is kept)"),
	OPT(outbound_frequent_count, CONFIG_INT, "3",
	    "messages sent to a domain before its lookalikes give OUT_LOOKALIKE_RECIPIENT"),
	OPT(outbound_history_warmup, CONFIG_TIME, "7d",
	    "how long the recipient history must have been kept before OUT_FIRST_* count"),
	OPT(bayes_enable, CONFIG_BOOL, "yes",
	    "run the learning spam classifier (BAYES_SPAM, BAYES_HAM, BAYES_UNSURE) once it has learned"),
	OPT(bayes_spam_threshold, CONFIG_SCORE, "0.9",
	    "calibrated spam probability from which the classifier says BAYES_SPAM"),
	OPT(bayes_ham_threshold, CONFIG_SCORE, "0.1",
	    "calibrated spam probability up to which the classifier says BAYES_HAM (between the two: BAYES_UNSURE)"),
	OPT(bayes_min_learned, CONFIG_INT, "10",
	    "messages of each kind (spam, ham) the classifier must have learned before it gives a verdict"),
	OPT(bayes_table_bits, CONFIG_INT, "22",
	    "size of a new classifier's feature table as a power of two (22: 4 Mi features, 16 MiB)"),
	OPT(bayes_reload_interval, CONFIG_TIME, "10s",
	    "how often the daemon checks the store for a model changed by sekisho learn"),
	OPT(bayes_autolearn, CONFIG_BOOL, "yes",
	    "learn from very confident verdicts of the other checks (never from the classifier's own)"),
	OPT(bayes_autolearn_spam_score, CONFIG_SCORE, "12",
	    "score of the other checks from which a message is learned as spam"),
	OPT(bayes_autolearn_ham_score, CONFIG_SCORE, "-2",
	    "score of the other checks up to which a message is learned as ham"),
	OPT(auth_policy_listen, CONFIG_STR, "",
	    "address:port of the Dovecot auth policy server, such as 127.0.0.1:4001 (empty: off)"),
	OPT(auth_policy_api_header, CONFIG_STR, "",
	    "the header Dovecot must send, as in its auth_policy_server_api_header"
	    " (\"Name: value\", or a bare value for X-API-Key; empty: none asked)"),
	OPT(policy_listen, CONFIG_STR, "",
	    "address:port of the Postfix policy delegation server, such as 127.0.0.1:10040 (empty: off)"),
	OPT(auth_log_files, CONFIG_LIST, "",
	    "log files followed for Postfix SASL and Dovecot authentication failures"),
	OPT(geoip_db, CONFIG_STR, "",
	    "MaxMind DB file (GeoLite2/GeoIP2 City or Country) for new-country and impossible-travel checks"
	    " (empty: off)"),
	OPT(login_allow_networks, CONFIG_LIST, "",
	    "the organization's networks: never delayed or refused for their address, not counted in attacks"),
	OPT(login_window, CONFIG_TIME, "10m", "time window of the login-attack counters"),
	OPT(login_delay_after, CONFIG_INT, "3",
	    "failed logins of an account or address in the window before logins are delayed"),
	OPT(login_delay_step, CONFIG_INT, "2", "seconds of delay added per further failure"),
	OPT(login_delay_max, CONFIG_INT, "15", "longest delay in seconds"),
	OPT(login_ip_refuse_failures, CONFIG_INT, "20",
	    "failed logins from one address in the window before it is refused for login_refuse_time"),
	OPT(login_refuse_time, CONFIG_TIME, "15m", "how long an address or subnet stays refused"),
	OPT(login_lock_failures, CONFIG_INT, "30",
	    "failed logins of one account in the window that lock it (brute force; 0: never)"),
	OPT(login_dictionary_passwords, CONFIG_INT, "10",
	    "different wrong passwords for one account in the window that lock it (dictionary attack; 0: never)"),
	OPT(login_distributed_ips, CONFIG_INT, "10",
	    "addresses failing on one account in the window that lock it (distributed brute force; 0: never)"),
	OPT(login_lock_time, CONFIG_TIME, "1h",
	    "how long an automatic account lock lasts (0: until sekisho account unlock)"),
	OPT(login_spray_accounts, CONFIG_INT, "10",
	    "accounts failing from one address, /24 or /64 in the window that refuse it (password spraying)"),
	OPT(login_spray_max_per_account, CONFIG_INT, "3",
	    "at most this many failures per account on average for the pattern to count as spraying"),
	OPT(login_stuffing_accounts, CONFIG_INT, "50",
	    "accounts failing in the window, from login_stuffing_ips addresses or more, that mean credential stuffing"),
	OPT(login_stuffing_ips, CONFIG_INT, "20", "addresses for the credential stuffing pattern"),
	OPT(login_stuffing_failure_ratio, CONFIG_SCORE, "0.8",
	    "share of failed logins in the window for the credential stuffing pattern"),
	OPT(login_memory_limit, CONFIG_SIZE, "64m",
	    "memory for the login counters; the least recently seen keys go first past it"),
	OPT(login_travel_speed, CONFIG_INT, "900",
	    "km/h between two successful logins above which the travel is impossible"),
	OPT(policy_user_messages, CONFIG_INT, "200",
	    "messages an authenticated user may submit per hour (0: no limit)"),
	OPT(policy_user_recipients, CONFIG_INT, "1000", "recipients per user and hour (0: no limit)"),
	OPT(policy_user_domains, CONFIG_INT, "100",
	    "different external recipient domains per user and hour (0: no limit)"),
	OPT(policy_ip_messages, CONFIG_INT, "500", "messages per client address and hour (0: no limit)"),
	OPT(policy_ip_recipients, CONFIG_INT, "2000",
	    "recipients per client address and hour (0: no limit)"),
	OPT(policy_ip_domains, CONFIG_INT, "200",
	    "different external recipient domains per client address and hour (0: no limit)"),
	OPT(takeover_enable, CONFIG_BOOL, "yes",
	    "compromised-account detection from outbound mail (ACCT_*; detect_takeover.c)"),
	OPT(takeover_history, CONFIG_TIME, "28d",
	    "how long the hourly summary of each sender's outbound mail is kept (the baseline)"),
	OPT(takeover_min_hours, CONFIG_INT, "8",
	    "hours with outbound mail a sender needs in the history before it is judged against it"),
	OPT(takeover_min_messages, CONFIG_INT, "10",
	    "fewest messages (ACCT_OUTBOUND_BURST) or new recipients (ACCT_NEW_RECIPIENTS_SPIKE) in"
	    " the hour before they count"),
	OPT(takeover_min_domains, CONFIG_INT, "5",
	    "fewest external domains in the hour before ACCT_DOMAIN_SPREAD counts"),
	OPT(takeover_burst_factor, CONFIG_SCORE, "4",
	    "how many times the sender's usual hour (and more than its busiest) is a burst"),
	OPT(takeover_new_share, CONFIG_SCORE, "0.4",
	    "share of new recipients in the hour above the sender's usual share that is a spike"),
	OPT(takeover_phish_score, CONFIG_SCORE, "5",
	    "content score (spam and phishing symbols) above the sender's usual one for"
	    " ACCT_PHISHY_OUTBOUND"),
	OPT(takeover_risky_login_window, CONFIG_TIME, "24h",
	    "how long after a risky login (new country, impossible travel, lock, many failures)"
	    " the account's mail gets ACCT_AFTER_RISKY_LOGIN"),
	OPT(takeover_risky_failures, CONFIG_INT, "10",
	    "failed logins of the account in that window that make it risky"),
	OPT(takeover_threshold, CONFIG_SCORE, "12",
	    "ACCT_* score of one message, with a risky login or phishing-like content, that suspends"
	    " the account for sending (all its outbound mail held, alert, incident; 0: never)"),
	OPT(auth_log_journal, CONFIG_BOOL, "no",
	    "also follow the systemd journal for Postfix SASL and Dovecot authentication failures"),
	OPT(auth_log_journal_command, CONFIG_STR,
	    "journalctl -f -n 0 -o short -u postfix -u dovecot",
	    "the command whose output (journalctl -o short lines) auth_log_journal reads, words split"
	    " on blanks"),
	OPT(hold_time, CONFIG_TIME, "0",
	    "how long outbound mail to outside recipients waits before delivery, so that the sender can recall it (0: no hold; the directory's hold_minutes overrides per user or group)"),
	OPT(approval_rules, CONFIG_LIST, "",
	    "risk weights of outbound symbols as SYMBOL:weight (OUT_EXTERNAL_ATTACHMENT:4 DLP_MYNUMBER:10 ...)"),
	OPT(approval_threshold, CONFIG_SCORE, "10",
	    "risk (sum of approval_rules weights) from which outbound mail waits for an approver (0: never)"),
	OPT(confirm_threshold, CONFIG_SCORE, "0",
	    "risk from which the sender must confirm the mail before it leaves (below approval_threshold; 0: never)"),
	OPT(approval_approvers, CONFIG_LIST, "",
	    "approvers of mail whose sender and group name none in the directory"),
	OPT(approval_deadline, CONFIG_TIME, "24h",
	    "how long an approval or a sender's confirmation waits before approval_deadline_action"),
	OPT_ENUM(approval_deadline_action, "reject", deadline_action_choices,
	    "what happens to mail nobody decided on by the deadline: reject or release"),
	OPT(approval_reminder, CONFIG_TIME, "4h",
	    "remind the approvers this long before the deadline (0: no reminder)"),
	OPT_ENUM(attachment_protection, "off", attachment_protection_choices,
	    "outbound mail with attachments to outside recipients: off, link (the files are replaced by a download link) or zip (one AES-256 ZIP, the password in a separate mail)"),
	OPT(attachment_link_expiry, CONFIG_TIME, "7d",
	    "how long a download link works"),
	OPT(attachment_link_max_downloads, CONFIG_INT, "10",
	    "downloads a link allows in all (0: no limit)"),
	OPT(attachment_link_code, CONFIG_BOOL, "no",
	    "the download page asks for a code that the recipients get in a separate mail"),
	OPT_ENUM(attachment_zip_password_to, "sender", zip_password_to_choices,
	    "who gets the mail with the ZIP password: sender or recipient"),
	OPT(console_url, CONFIG_STR, "https://localhost:8025",
	    "base URL of the console, for the signed links in notification mails"),
	OPT(templates_dir, CONFIG_STR, SEKISHO_TEMPLATES_DIR,
	    "notification templates (notify/KIND.ja.txt, notify/KIND.en.txt), editable by the admin"),
	OPT_ENUM(notify_language, "ja", notify_language_choices,
	    "language of notification mails for people the directory gives none"),
	OPT_ENUM(notify_charset, "iso-2022-jp", notify_charset_choices,
	    "character set of Japanese notification mails (English ones are UTF-8)"),
	OPT(notify_from, CONFIG_STR, "",
	    "From: address of notification mails (empty: postmaster@myhostname)"),
	OPT(alert_admins, CONFIG_LIST, "",
	    "addresses that get a mail for every account alert (lock, new country, impossible travel, spraying...)"),
	OPT(alert_mail_interval, CONFIG_TIME, "1h",
	    "at most one alert mail per alert kind and login (or address) in this time"),
	OPT(quarantine_digest, CONFIG_BOOL, "no",
	    "send each local recipient a daily digest of their newly quarantined mail, with release links"),
	OPT(quarantine_digest_time, CONFIG_STR, "08:00",
	    "local time (HH:MM) of the daily quarantine digest"),
	OPT(quarantine_link_expiry, CONFIG_TIME, "7d",
	    "how long the release and not-spam links of a quarantine digest work"),
	OPT(console_listen, CONFIG_STR, "",
	    "address:port of the web console and REST API, such as 127.0.0.1:8025 (empty: off)"),
	OPT(console_tls, CONFIG_BOOL, "no",
	    "serve the console over HTTPS with tls_cert_file and tls_key_file"),
	OPT(console_dir, CONFIG_STR, SEKISHO_CONSOLE_DIR,
	    "directory of the built console (web/dist) served at /"),
	OPT(console_key_file, CONFIG_STR, "",
	    "the key that seals console users' TOTP secrets in the store (empty: state_dir/console.key, made on first use; nodes sharing a store need the same file)"),
	OPT(console_session_idle, CONFIG_TIME, "8h",
	    "a console session unused this long ends"),
	OPT(console_threads, CONFIG_INT, "2", "threads answering console and API requests"),
	OPT(console_login_max_failures, CONFIG_INT, "5",
	    "failed console logins of one user in console_login_window before logins are refused (429)"),
	OPT(console_login_max_failures_ip, CONFIG_INT, "20",
	    "failed console logins from one address in console_login_window before it is refused (429)"),
	OPT(console_login_window, CONFIG_TIME, "15m",
	    "window in which failed console logins are counted"),
	OPT(metrics_allow, CONFIG_LIST, "127.0.0.0/8 ::1/128",
	    "networks that may read /metrics (Prometheus) on console_listen"),
	OPT(learn_key_file, CONFIG_STR, "",
	    "a file whose first line is the key a mail server sends (X-Sekisho-Learn-Key) with a user's report, POST /learn/spam or /learn/ham on console_listen (Dovecot IMAPSieve: docs/learning.md; empty: no reports taken)"),
	OPT(learn_allow, CONFIG_LIST, "127.0.0.0/8 ::1/128",
	    "networks that may POST users' reports to /learn on console_listen"),
	OPT(message_log_retention, CONFIG_TIME, "30d",
	    "how long the message log (console, /stats, /metrics) keeps each message's verdict"),
};

const struct config_option *
config_options(size_t *count)
{
	*count = UTIL_ARRAY_LEN(options);
	return options;
}

static const struct config_option *
option_find(const char *name)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(options); i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

static void
list_free(char **list)
{
	if (list == NULL)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

static char **
list_parse(const char *value)
{
	size_t n = 0, cap = 4;
	char **list = xcalloc(cap, sizeof(*list));
	const char *p = value;

	while (*p) {
		size_t len;
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n')
			p++;
		len = strcspn(p, " \t,\n");
		if (len == 0)
			break;
		if (n + 2 > cap) {
			cap *= 2;
			list = xrealloc(list, cap * sizeof(*list));
		}
		list[n++] = xstrndup(p, len);
		p += len;
	}
	list[n] = NULL;
	return list;
}

static int
parse_scaled(const char *value, const char *const *units,
    const int64_t *scale, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (end == value || errno != 0 || v < 0)
		return -1;
	while (*end == ' ')
		end++;
	if (*end == '\0') {
		*out = v * scale[0];
		return 0;
	}
	for (size_t i = 0; units[i] != NULL; i++) {
		if (util_strcasecmp(end, units[i]) == 0) {
			if (v > INT64_MAX / scale[i])
				return -1;
			*out = v * scale[i];
			return 0;
		}
	}
	return -1;
}

static int
set_value(struct config *cfg, const struct config_option *o, const char *value,
    char *err, size_t errlen)
{
	static const char *const size_units[] = { "b", "k", "kb", "m", "mb", "g", "gb", NULL };
	static const int64_t size_scale[] = { 1, 1024, 1024, 1048576, 1048576,
	    1073741824, 1073741824 };
	static const char *const time_units[] = { "s", "m", "h", "d", "w", NULL };
	static const int64_t time_scale[] = { 1, 60, 3600, 86400, 604800 };
	static const char *const msec_units[] = { "ms", "s", "m", NULL };
	static const int64_t msec_scale[] = { 1, 1000, 60000 };
	void *field = (char *)cfg + o->offset;
	int64_t num;

	switch (o->type) {
	case CONFIG_STR:
		if (o->choices != NULL) {
			size_t i;
			for (i = 0; o->choices[i] != NULL; i++)
				if (strcmp(o->choices[i], value) == 0)
					break;
			if (o->choices[i] == NULL) {
				snprintf(err, errlen, "%s: '%s' is not one of the allowed values",
				    o->name, value);
				return -1;
			}
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONFIG_LIST:
		list_free(*(char ***)field);
		*(char ***)field = list_parse(value);
		return 0;
	case CONFIG_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
			num = 1;
		else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
			num = 0;
		else {
			snprintf(err, errlen, "%s: '%s' is not yes or no", o->name, value);
			return -1;
		}
		*(int64_t *)field = num;
		return 0;
	case CONFIG_INT:
		if (parse_scaled(value, (const char *const[]){ NULL },
		    (const int64_t[]){ 1 }, &num) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a non-negative number",
			    o->name, value);
			return -1;
		}
		*(int64_t *)field = num;
		return 0;
	case CONFIG_SIZE:
		if (parse_scaled(value, size_units, size_scale, &num) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a size (like 25m)", o->name, value);
			return -1;
		}
		*(int64_t *)field = num;
		return 0;
	case CONFIG_TIME:
		if (parse_scaled(value, time_units, time_scale, &num) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a time (like 30s, 5m, 2h, 5d)",
			    o->name, value);
			return -1;
		}
		*(int64_t *)field = num;
		return 0;
	case CONFIG_SCORE: {
		char *end;
		double d = strtod(value, &end);
		if (end == value || *end != '\0' || !isfinite(d)) {
			snprintf(err, errlen, "%s: '%s' is not a number", o->name, value);
			return -1;
		}
		*(double *)field = d;
		return 0;
	}
	case CONFIG_MSEC:
		if (parse_scaled(value, msec_units, msec_scale, &num) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a time (like 500ms, 10s)",
			    o->name, value);
			return -1;
		}
		*(int64_t *)field = num;
		return 0;
	}
	panic("config: unknown option type %d", (int)o->type);
}

struct config *
config_new(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	char err[256];

	for (size_t i = 0; i < UTIL_ARRAY_LEN(options); i++)
		if (set_value(cfg, &options[i], options[i].def, err, sizeof(err)) < 0)
			panic("config: bad default: %s", err);
	return cfg;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(options); i++) {
		void *field = (char *)cfg + options[i].offset;
		if (options[i].type == CONFIG_STR)
			free(*(char **)field);
		else if (options[i].type == CONFIG_LIST)
			list_free(*(char ***)field);
	}
	for (size_t i = 0; i < cfg->nscores; i++)
		free(cfg->scores[i].name);
	free(cfg->scores);
	free(cfg->config_file);
	free(cfg);
}

/* "score.NAME = value": symbol names are A-Z, 0-9 and '_'. */
static int
set_score(struct config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
	char *end;
	double v;

	if (*name == '\0' || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(name)) {
		snprintf(err, errlen, "score.%s: symbol names are upper-case letters, digits and '_'",
		    name);
		return -1;
	}
	v = strtod(value, &end);
	if (end == value || *end != '\0' || !isfinite(v)) {
		snprintf(err, errlen, "score.%s: '%s' is not a number", name, value);
		return -1;
	}
	for (size_t i = 0; i < cfg->nscores; i++)
		if (strcmp(cfg->scores[i].name, name) == 0) {
			cfg->scores[i].value = v;
			return 0;
		}
	cfg->scores = xrealloc(cfg->scores, (cfg->nscores + 1) * sizeof(*cfg->scores));
	cfg->scores[cfg->nscores].name = xstrdup(name);
	cfg->scores[cfg->nscores].value = v;
	cfg->nscores++;
	return 0;
}

double
config_score(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nscores; i++)
		if (strcmp(cfg->scores[i].name, name) == 0)
			return cfg->scores[i].value;
	return NAN;
}

int
config_set(struct config *cfg, const char *name, const char *value,
    char *err, size_t errlen)
{
	const struct config_option *o = option_find(name);

	if (o == NULL && strncmp(name, "score.", 6) == 0)
		return set_score(cfg, name + 6, value, err, errlen);
	if (o == NULL) {
		snprintf(err, errlen, "unknown option '%s'", name);
		return -1;
	}
	return set_value(cfg, o, value, err, errlen);
}

int
config_override(struct config *cfg, const char *assignment, char *err, size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	char *name, *value;
	int rc;

	if (eq == NULL) {
		snprintf(err, errlen, "'%s' is not name=value", assignment);
		return -1;
	}
	name = xstrndup(assignment, (size_t)(eq - assignment));
	value = xstrdup(eq + 1);
	rc = config_set(cfg, util_trim(name), util_trim(value), err, errlen);
	free(name);
	free(value);
	return rc;
}

/* Apply one logical line (continuations already joined). */
static int
load_line(struct config *cfg, const char *path, int lineno, char *line, FILE *errfp)
{
	char err[512];
	char *eq, *name, *value;

	eq = strchr(line, '=');
	if (eq == NULL) {
		fprintf(errfp, "%s:%d: expected 'name = value'\n", path, lineno);
		return 1;
	}
	*eq = '\0';
	name = util_trim(line);
	value = util_trim(eq + 1);
	if (*name == '\0') {
		fprintf(errfp, "%s:%d: missing option name before '='\n", path, lineno);
		return 1;
	}
	if (config_set(cfg, name, value, err, sizeof(err)) < 0) {
		fprintf(errfp, "%s:%d: %s\n", path, lineno, err);
		return 1;
	}
	return 0;
}

int
config_load_file(struct config *cfg, const char *path, FILE *errfp)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, *logical = NULL;
	size_t cap = 0, loglen = 0;
	int lineno = 0, start = 0, errors = 0;

	if (fp == NULL) {
		fprintf(errfp, "%s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	free(cfg->config_file);
	cfg->config_file = xstrdup(path);
	for (;;) {
		ssize_t n = getline(&line, &cap, fp);
		char *p;

		if (n >= 0) {
			lineno++;
			if ((p = strchr(line, '#')) != NULL)
				*p = '\0';
			p = line;
			if ((*p == ' ' || *p == '\t') && logical != NULL) {
				/* continuation of the previous value */
				size_t add = strlen(util_trim(p));
				if (add > 0) {
					logical = xrealloc(logical, loglen + add + 2);
					logical[loglen++] = ' ';
					memcpy(logical + loglen, util_trim(p), add + 1);
					loglen += add;
				}
				continue;
			}
		}
		if (logical != NULL) {
			errors += load_line(cfg, path, start, logical, errfp);
			free(logical);
			logical = NULL;
		}
		if (n < 0)
			break;
		p = util_trim(line);
		if (*p == '\0')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			fprintf(errfp, "%s:%d: continuation line without an option before it\n",
			    path, lineno);
			errors++;
			continue;
		}
		loglen = strlen(p);
		logical = xstrdup(p);
		start = lineno;
	}
	free(line);
	fclose(fp);
	return errors;
}

static int
valid_hop(const char *hop)
{
	return strncmp(hop, "smtp:", 5) == 0 || strncmp(hop, "lmtp:", 5) == 0 ||
	    strncmp(hop, "maildir:", 8) == 0;
}

/* Every entry of the list option `name` is a network (address[/bits]). */
static int
check_nets(const char *name, char **list, char *err, size_t errlen)
{
	struct cidr net;

	for (char **p = list; p && *p; p++)
		if (cidr_parse(*p, &net) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a network", name, *p);
			return -1;
		}
	return 0;
}

int
config_validate(const struct config *cfg, char *err, size_t errlen)
{
	if (*cfg->state_dir == '\0') {
		snprintf(err, errlen, "state_dir must not be empty");
		return -1;
	}
	if (*cfg->inbound_listen == '\0' && *cfg->outbound_listen == '\0') {
		snprintf(err, errlen, "no listener: set inbound_listen or outbound_listen");
		return -1;
	}
	if (!valid_hop(cfg->inbound_next_hop)) {
		snprintf(err, errlen, "inbound_next_hop: '%s' is not smtp:, lmtp: or maildir:",
		    cfg->inbound_next_hop);
		return -1;
	}
	if (!valid_hop(cfg->outbound_next_hop)) {
		snprintf(err, errlen, "outbound_next_hop: '%s' is not smtp:, lmtp: or maildir:",
		    cfg->outbound_next_hop);
		return -1;
	}
	if ((*cfg->tls_cert_file == '\0') != (*cfg->tls_key_file == '\0')) {
		snprintf(err, errlen, "tls_cert_file and tls_key_file go together");
		return -1;
	}
	if (cfg->retry_min == 0 || cfg->retry_max < cfg->retry_min) {
		snprintf(err, errlen, "retry_min must be > 0 and <= retry_max");
		return -1;
	}
	if (cfg->delivery_concurrency < 1 || cfg->max_sessions < 1) {
		snprintf(err, errlen, "delivery_concurrency and max_sessions must be >= 1");
		return -1;
	}
	if (cfg->command_line_limit < 512) {
		snprintf(err, errlen, "command_line_limit must be at least 512 (RFC 5321)");
		return -1;
	}
	if (!(cfg->bayes_ham_threshold > 0 && cfg->bayes_ham_threshold <= 0.5 &&
	    cfg->bayes_spam_threshold >= 0.5 && cfg->bayes_spam_threshold < 1)) {
		snprintf(err, errlen, "bayes_ham_threshold must be in (0, 0.5] and"
		    " bayes_spam_threshold in [0.5, 1)");
		return -1;
	}
	if (cfg->bayes_table_bits < 16 || cfg->bayes_table_bits > 28) {
		snprintf(err, errlen, "bayes_table_bits must be between 16 and 28");
		return -1;
	}
	if (check_nets("login_allow_networks", cfg->login_allow_networks, err, errlen) < 0)
		return -1;
	if (cfg->login_stuffing_failure_ratio < 0 || cfg->login_stuffing_failure_ratio > 1) {
		snprintf(err, errlen, "login_stuffing_failure_ratio must be between 0 and 1");
		return -1;
	}
	if (cfg->console_tls && *cfg->tls_cert_file == '\0') {
		snprintf(err, errlen, "console_tls needs tls_cert_file and tls_key_file");
		return -1;
	}
	if (cfg->console_threads < 1 || cfg->console_threads > 64) {
		snprintf(err, errlen, "console_threads must be between 1 and 64");
		return -1;
	}
	if (check_nets("metrics_allow", cfg->metrics_allow, err, errlen) < 0 ||
	    check_nets("learn_allow", cfg->learn_allow, err, errlen) < 0)
		return -1;
	return 0;
}

static void
format_value(const struct config *cfg, const struct config_option *o, char *buf, size_t len)
{
	const void *field = (const char *)cfg + o->offset;

	switch (o->type) {
	case CONFIG_STR:
		snprintf(buf, len, "%s", *(char *const *)field);
		break;
	case CONFIG_LIST: {
		size_t off = 0;
		buf[0] = '\0';
		for (char *const *p = *(char **const *)field; *p && off < len; p++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    off ? " " : "", *p);
		break;
	}
	case CONFIG_BOOL:
		snprintf(buf, len, "%s", *(const int64_t *)field ? "yes" : "no");
		break;
	case CONFIG_TIME:
		snprintf(buf, len, "%llds", (long long)*(const int64_t *)field);
		break;
	case CONFIG_MSEC:
		snprintf(buf, len, "%lldms", (long long)*(const int64_t *)field);
		break;
	case CONFIG_SCORE:
		snprintf(buf, len, "%g", *(const double *)field);
		break;
	case CONFIG_INT:
	case CONFIG_SIZE:
		snprintf(buf, len, "%lld", (long long)*(const int64_t *)field);
		break;
	}
}

void
config_dump(const struct config *cfg, FILE *fp, int only_changed)
{
	struct config *def = only_changed ? config_new() : NULL;
	char buf[4096], dbuf[4096];

	for (size_t i = 0; i < UTIL_ARRAY_LEN(options); i++) {
		format_value(cfg, &options[i], buf, sizeof(buf));
		if (def != NULL) {
			format_value(def, &options[i], dbuf, sizeof(dbuf));
			if (strcmp(buf, dbuf) == 0)
				continue;
		}
		fprintf(fp, "%s = %s\n", options[i].name, buf);
	}
	for (size_t i = 0; i < cfg->nscores; i++)
		fprintf(fp, "score.%s = %g\n", cfg->scores[i].name, cfg->scores[i].value);
	config_free(def);
}

char *
config_state_path(const struct config *cfg, const char *rel)
{
	if (rel[0] == '/')
		return xstrdup(rel);
	return xasprintf("%s/%s", cfg->state_dir, rel);
}

const char *
config_authserv_id(const struct config *cfg)
{
	return *cfg->authserv_id ? cfg->authserv_id : cfg->myhostname;
}

int
config_is_local_domain(const struct config *cfg, const char *domain)
{
	for (char **p = cfg->local_domains; p && *p; p++)
		if (util_strcasecmp(*p, domain) == 0)
			return 1;
	return 0;
}
