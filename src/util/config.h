/*
 * config.h - sekisho's settings: one struct, passed explicitly.
 *
 * A config file holds "name = value" lines; '#' starts a comment, a line that
 * begins with white space continues the previous value (as in Postfix's
 * main.cf).  Both programs accept "-o name=value" to override any setting.
 * Every option has a default, so an empty file (or none) is a working
 * embedded set-up; see docs/configuration.md for each option.
 */
#ifndef SEKISHO_CONFIG_H
#define SEKISHO_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config {
	char *config_file;		/* the file read, or NULL */

	/* where state lives */
	char *state_dir;
	char *myhostname;
	char *log_file;
	char *log_level;

	/* listeners and mail routing */
	char **local_domains;		/* NULL-terminated */
	char *inbound_listen;		/* host:port or "" (off) */
	char *outbound_listen;
	char *inbound_next_hop;		/* smtp:host:port, lmtp:..., maildir:path */
	char *outbound_next_hop;
	char **trusted_networks;	/* CIDRs allowed to relay on outbound */
	char **xforward_hosts;		/* CIDRs whose XFORWARD attributes are believed */
	char *auth_users_file;		/* user:argon2id lines ("" = no AUTH) */

	/* TLS */
	char *tls_cert_file;
	char *tls_key_file;
	char *smtp_tls_security_level;	/* none, may, encrypt (delivery) */

	/* SMTP server limits */
	int64_t message_size_limit;
	int64_t recipient_limit;
	int64_t command_line_limit;
	int64_t error_limit;
	int64_t max_sessions;
	int64_t smtpd_timeout;		/* seconds waiting for a command */
	int64_t data_timeout;		/* seconds of silence inside DATA */
	char *smtp_line_endings;	/* strict or normalize */

	/* queue and delivery */
	int64_t delivery_concurrency;
	int64_t connect_timeout;
	int64_t delivery_timeout;
	int64_t connection_reuse_time;
	int64_t queue_lifetime;
	int64_t retry_min;
	int64_t retry_max;
	int64_t queue_scan_interval;

	/* analysis stage */
	int64_t scan_workers;		/* 0 = one per core */
	int64_t scan_inline_budget;	/* milliseconds */
	int64_t scan_timeout;		/* milliseconds for all detectors of one message */
	int64_t network_checks;		/* bool: DNS-based checks (SPF, DKIM, DMARC, DNSBL) */
	char **dns_forwarders;		/* resolvers "IP[@port]" (empty: /etc/resolv.conf) */
	int64_t dns_timeout;		/* milliseconds per query */
	char *authserv_id;		/* Authentication-Results id (empty: myhostname) */
	char *rules_dir;		/* shipped rules, brand lists, YARA, DLP patterns */

	/* phishing and targeted attacks (detect_phish.c, detect_dnsbl.c) */
	char **protected_domains;	/* more of our own domains to guard against lookalikes */
	char **executive_names;		/* names an outside sender must not use */
	char **threat_feeds;		/* URL/domain list files (plain or CSV) */
	int64_t threat_feeds_reload_interval;	/* seconds between mtime checks */
	char **dnsbl_zones;		/* DNS blocklists for the client address */
	char **uribl_zones;		/* DNS blocklists for link domains */
	int64_t first_contact;		/* bool: PHISH_FIRST_CONTACT */
	int64_t first_contact_warmup;	/* seconds of history before it counts */

	/* policy: scores -> actions, per direction (0 = off) */
	double inbound_tag_score, inbound_quarantine_score, inbound_reject_score;
	double outbound_tag_score, outbound_quarantine_score, outbound_reject_score;
	char *tag_subject_prefix;
	int64_t banner_suspicious;	/* bool */
	int64_t banner_external;	/* bool */
	char **symbol_actions;		/* "SYMBOL=action" */
	char **sender_allowlist;	/* addresses, "@domain" or "domain" */
	char **sender_blocklist;
	char **recipient_allowlist;

	/* the learning spam classifier (detect_bayes.c, sekisho learn) */
	int64_t bayes_enable;		/* bool */
	double bayes_spam_threshold;	/* spam probability from which BAYES_SPAM */
	double bayes_ham_threshold;	/* spam probability up to which BAYES_HAM */
	int64_t bayes_min_learned;	/* of each label before any verdict */
	int64_t bayes_table_bits;	/* log2 of the feature table of a new model */
	int64_t bayes_reload_interval;	/* seconds between model version checks */
	int64_t bayes_autolearn;	/* bool */
	double bayes_autolearn_spam_score;	/* other checks' score to learn as spam */
	double bayes_autolearn_ham_score;	/* ... to learn as ham */

	/* attachments and malware (detect_attach.c) */
	int64_t attach_enable;		/* bool */
	char **attach_dangerous_ext;	/* extensions, lower-case, no dot */
	char *attachment_action;		/* quarantine or strip */
	int64_t attach_max_size;		/* largest attachment decoded for scanning */
	int64_t malware_scan_budget;	/* milliseconds per message */
	char *clamav_engine;		/* libclamav, clamd or off */
	char **clamav_db_dirs;		/* more signature directories (official databases) */
	char *clamd_socket;		/* unix socket path or host:port */
	int64_t yara_enable;		/* bool */
	int64_t archive_max_depth;
	int64_t archive_max_entries;
	int64_t archive_max_expanded;	/* bytes, all archives of one message */
	int64_t archive_max_ratio;		/* expanded / compressed */
	int64_t archive_try_passwords;	/* bool: passwords written in the body */

	/* passwords, mailbox audit, incidents (account/password.c,
	 * account/sieve_audit.c, account/incident.c) */
	int64_t password_min_length;	/* characters when the password is the only factor */
	int64_t password_min_length_mfa;	/* ... when it is one of several */
	int64_t password_max_length;	/* longest accepted (0: no limit) */
	char *password_breached_list;	/* HIBP SHA-1 "HASH:COUNT" file ("" = none) */
	char *password_dictionary;	/* cracklib dictionary ("" system, "off") */
	char **password_context_words;	/* company words no password may contain */
	char *sieve_dir;		/* per-user Sieve scripts: DIR/USER/... ("" = none) */
	int64_t sieve_doveadm;		/* bool: read scripts with doveadm sieve */
	char *sieve_doveadm_command;	/* the doveadm program */
	int64_t sieve_max_size;		/* largest script parsed */
	int64_t incident_contacts_window;	/* seconds back for "contacts mailed" */
	char *incident_template_dir;	/* notice templates ("" = the shipped ones) */

	/* account-takeover defense: login guard and policy servers (src/account) */
	char *auth_policy_listen;	/* Dovecot auth policy HTTP, host:port or "" */
	char *auth_policy_api_header;	/* "Name: value" Dovecot must send, or "" */
	char *policy_listen;		/* Postfix policy delegation, host:port or "" */
	char **auth_log_files;		/* logs followed for auth failures */
	char *geoip_db;			/* MaxMind DB file (country/city), or "" */
	char **login_allow_networks;	/* the organisation's networks */
	int64_t login_window;		/* seconds of the detection windows */
	int64_t login_delay_after;	/* failures before delays start */
	int64_t login_delay_step;	/* seconds more per further failure */
	int64_t login_delay_max;	/* seconds */
	int64_t login_ip_refuse_failures;
	int64_t login_refuse_time;	/* seconds an IP/subnet stays refused */
	int64_t login_lock_failures;	/* brute force on one account */
	int64_t login_dictionary_passwords;	/* distinct wrong passwords */
	int64_t login_distributed_ips;	/* distinct failing IPs on one account */
	int64_t login_lock_time;	/* seconds (0: until unlocked) */
	int64_t login_spray_accounts;	/* distinct accounts from one IP/subnet */
	int64_t login_spray_max_per_account;
	int64_t login_stuffing_accounts;
	int64_t login_stuffing_ips;
	double login_stuffing_failure_ratio;
	int64_t login_memory_limit;	/* bytes of detection state */
	int64_t login_travel_speed;	/* km/h above which travel is impossible */
	int64_t policy_user_messages;	/* per hour, 0: no limit */
	int64_t policy_user_recipients;
	int64_t policy_user_domains;
	int64_t policy_ip_messages;
	int64_t policy_ip_recipients;
	int64_t policy_ip_domains;
	/* compromised-account detection (detect/detect_takeover.c) and the
	 * journal as a log source (account/logwatch.c) */
	int64_t takeover_enable;	/* bool */
	int64_t takeover_history;	/* seconds of hourly sender history kept */
	int64_t takeover_min_hours;	/* hours with mail before the baseline counts */
	int64_t takeover_min_messages;	/* messages / new recipients an hour before a symbol */
	int64_t takeover_min_domains;	/* external domains an hour before ACCT_DOMAIN_SPREAD */
	double takeover_burst_factor;	/* times the sender's usual hour */
	double takeover_new_share;	/* share of new recipients above the usual one */
	double takeover_phish_score;	/* content score above the sender's usual one */
	int64_t takeover_risky_login_window;	/* seconds a risky login counts */
	int64_t takeover_risky_failures;	/* failed logins in that window that are risky */
	double takeover_threshold;	/* ACCT_* score that suspends sending */
	int64_t auth_log_journal;	/* bool: follow the journal too */
	char *auth_log_journal_command;	/* the journalctl command line */
	/* outbound recipients and DLP (detect_outbound.c, detect_dlp.c) */
	int64_t dlp_inbound;		/* bool: DLP on inbound mail too */
	char **dlp_keywords;		/* more keywords (rules_dir/dlp/keywords.txt) */
	char *dlp_patterns;		/* "NAME:regex NAME:regex" (ICU) */
	int64_t dlp_max_text;		/* bytes of text DLP reads per message */
	int64_t outbound_many_external;	/* OUT_MANY_EXTERNAL above this many */
	int64_t outbound_wide_domains;	/* OUT_WIDE_EXTERNAL above this many domains */
	char *wide_external_action;	/* hold or bcc */
	int64_t outbound_frequent_count;	/* messages that make a domain frequent */
	int64_t outbound_history_warmup;	/* seconds of history before FIRST_* count */

	/* outbound holds and approvals (src/outbound, src/notify) */
	int64_t hold_time;		/* seconds outbound mail to outside waits (0: off) */
	char **approval_rules;		/* "SYMBOL:weight" */
	double approval_threshold;	/* risk from which an approver decides (0: off) */
	double confirm_threshold;	/* risk from which the sender confirms (0: off) */
	char **approval_approvers;	/* approvers when the directory names none */
	int64_t approval_deadline;	/* seconds an approval waits */
	char *approval_deadline_action;	/* reject or release */
	int64_t approval_reminder;	/* seconds before the deadline (0: none) */
	char *attachment_protection;	/* off, link or zip */
	int64_t attachment_link_expiry;	/* seconds a download link works */
	int64_t attachment_link_max_downloads;	/* 0: no limit */
	int64_t attachment_link_code;	/* bool: a code mailed to the recipients */
	char *attachment_zip_password_to;	/* sender or recipient */
	char *console_url;		/* base of the signed links */
	char *templates_dir;		/* notification templates (notify/KIND.LANG.txt) */
	char *notify_language;		/* ja or en, when the directory says nothing */
	char *notify_charset;		/* iso-2022-jp or utf-8 for Japanese notices */
	char *notify_from;		/* From: of notification mails (empty: postmaster@myhostname) */
	char **alert_admins;		/* addresses told of every account alert */
	int64_t alert_mail_interval;	/* seconds between mails per (kind, login) */
	int64_t quarantine_digest;	/* bool: daily digest to each local recipient */
	char *quarantine_digest_time;	/* "HH:MM" local time */
	int64_t quarantine_link_expiry;	/* seconds a digest link works */
	/* console and REST API (src/http) */
	char *console_listen;		/* address:port of the console (empty: off) */
	int64_t console_tls;		/* bool: HTTPS with tls_cert_file/tls_key_file */
	char *console_dir;		/* the built console (web/dist) */
	char *console_key_file;		/* seals TOTP secrets ("": state_dir/console.key) */
	int64_t console_session_idle;	/* seconds a session lives unused */
	int64_t console_threads;	/* HTTP worker threads */
	int64_t console_login_max_failures;	/* per user in console_login_window */
	int64_t console_login_max_failures_ip;	/* per client address in the window */
	int64_t console_login_window;	/* seconds */
	char **metrics_allow;		/* networks that may read /metrics */
	char *learn_key_file;		/* the key of users' spam reports ("": none taken) */
	char **learn_allow;		/* networks that may POST /learn */
	int64_t message_log_retention;	/* seconds the message log keeps a row */

	/* symbol scores: "score.NAME = value" lines */
	struct config_score *scores;
	size_t nscores;
};

struct config_score {
	char *name;
	double value;
};

/* The configured score of a symbol, or NAN when it has none. */
double config_score(const struct config *cfg, const char *name);

enum config_type {
	CONFIG_STR,
	CONFIG_INT,
	CONFIG_SIZE,		/* bytes, with k/m/g suffixes */
	CONFIG_TIME,		/* seconds, with s/m/h/d suffixes */
	CONFIG_MSEC,		/* milliseconds, with ms/s suffixes */
	CONFIG_BOOL,
	CONFIG_LIST,
	CONFIG_SCORE,		/* a decimal number (double) */		/* words split on spaces and commas */
};

struct config_option {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def;
	const char *const *choices;	/* NULL or NULL-terminated enum values */
	const char *doc;
};

/* All options, in documentation order. */
const struct config_option *config_options(size_t *count);

/* A config with every default set.  Never NULL. */
struct config *config_new(void);
void config_free(struct config *cfg);

/*
 * Set one option from its text form. 0, or -1 with a message in err
 * ("unknown option", "bad time value '5x'").
 */
int config_set(struct config *cfg, const char *name, const char *value,
    char *err, size_t errlen);

/*
 * Read a file.  Each error is reported to errfp as "file:line: message".
 * Returns the number of errors (0 on success); -1 if the file cannot be read.
 */
int config_load_file(struct config *cfg, const char *path, FILE *errfp);

/* Apply "name=value" (the -o argument). 0 or -1 with err. */
int config_override(struct config *cfg, const char *assignment,
    char *err, size_t errlen);

/* Check relations between options. 0, or -1 with a message in err. */
int config_validate(const struct config *cfg, char *err, size_t errlen);

/* Print every option as "name = value" (like postconf). */
void config_dump(const struct config *cfg, FILE *fp, int only_changed);

/* Join state_dir and a relative path (absolute paths pass). Caller frees. */
char *config_state_path(const struct config *cfg, const char *rel);

/* Is domain (ASCII, any case) one of local_domains? */
int config_is_local_domain(const struct config *cfg, const char *domain);
/* The authserv-id of sekisho's Authentication-Results: authserv_id, or
 * myhostname when that is empty. */
const char *config_authserv_id(const struct config *cfg);

#endif
