/*
 * store_console.h - the console's state in the store: console users,
 * sessions, the audit log, login failures, and the queries behind the
 * quarantine list, the message log, the dashboard and /metrics.
 *
 * Sessions are kept by the hash of their id (the id itself never reaches
 * the store), so a restart keeps them and two nodes sharing a store share
 * them.  A TOTP step is accepted at most once per user: store_cuser_totp_use()
 * moves the user's last step forward atomically, so two requests with the
 * same code (on one node or two) cannot both succeed.
 *
 * The message log (table msglog, migration 5) is written by triggers on
 * the messages table; these calls only read and prune it.
 *
 * Conventions of store.h: 0 success, 1 not found (where said), -1 error
 * (store_errmsg()).  Strings handed to callbacks live until the callback
 * returns; a callback returning non-zero stops the walk and that value is
 * returned.
 */
#ifndef SEKISHO_STORE_CONSOLE_H
#define SEKISHO_STORE_CONSOLE_H

#include <stdint.h>

#include "store/store.h"

struct console_user {
	char *name;
	char *pwhash;		/* crypto_pwhash_str (argon2id) */
	char *role;		/* admin, approver, user */
	char *email;		/* "" when none */
	char *lang;		/* ja, en */
	char *totp_secret;	/* base32 */
	int64_t totp_last_step;	/* last accepted 30 s step, 0 = none yet */
	int64_t created_ms;
};

void console_user_clear(struct console_user *u);

/* 0 found, 1 not found, -1 error; u is filled (clear it with console_user_clear). */
int store_cuser_get(struct store *st, const char *name, struct console_user *u);
/* 0 added, 1 the name is taken, -1 error. */
int store_cuser_add(struct store *st, const struct console_user *u);
/* 0 deleted (with the user's sessions), 1 not found, -1 error. */
int store_cuser_delete(struct store *st, const char *name);
typedef int (*store_cuser_cb)(const struct console_user *u, void *arg);
int store_cuser_foreach(struct store *st, store_cuser_cb cb, void *arg);
/* 0, 1 not found, -1. */
int store_cuser_set_lang(struct store *st, const char *name, const char *lang);
int store_cuser_set_password(struct store *st, const char *name, const char *pwhash);
/* New secret, the last step forgotten, sessions ended.  0, 1 not found, -1. */
int store_cuser_set_totp(struct store *st, const char *name, const char *secret);
/* The same secret in another stored form (sealed, http_secret.h): only
 * when it is still `old`; the step and the sessions stay.  0, 1 not found
 * or changed meanwhile, -1. */
int store_cuser_reseal_totp(struct store *st, const char *name, const char *old,
    const char *sealed);
/* Record step as used: 0 accepted, 1 already used (or an older step), -1 error. */
int store_cuser_totp_use(struct store *st, const char *name, int64_t step);

struct console_session {
	char *user;
	char *csrf;
	char *ip;
	int64_t created_ms, last_ms;
};

void console_session_clear(struct console_session *s);

int store_csession_put(struct store *st, const char *hash, const char *user,
    const char *csrf, const char *ip, int64_t now_ms);
/* 0 found and alive (last use after now_ms - idle_ms), 1 none or expired (an
 * expired one is deleted), -1 error. */
int store_csession_get(struct store *st, const char *hash, int64_t idle_ms,
    int64_t now_ms, struct console_session *s);
int store_csession_touch(struct store *st, const char *hash, int64_t now_ms);
/* 0 deleted, 1 none, -1. */
int store_csession_delete(struct store *st, const char *hash);
/* Remove sessions unused since before_ms.  Count removed, or -1. */
int64_t store_csession_purge(struct store *st, int64_t before_ms);

struct console_audit {
	int64_t t_ms;
	const char *user, *ip, *action, *target, *detail;
};

int store_caudit_add(struct store *st, const struct console_audit *a);
typedef int (*store_caudit_cb)(const struct console_audit *a, void *arg);
/* Newest first. */
int store_caudit_foreach(struct store *st, int64_t limit, int64_t offset,
    store_caudit_cb cb, void *arg);
int64_t store_caudit_count(struct store *st);

/* A failed login (refused: turned away by the limits, not by the password). */
int store_login_fail_add(struct store *st, int64_t now_ms, const char *user,
    const char *ip, int refused);
/* Failures (not counting refusals) since since_ms for the user and for the ip. */
int store_login_fail_count(struct store *st, int64_t since_ms, const char *user,
    const char *ip, int64_t *by_user, int64_t *by_ip);
/* Drop failures older than before_ms.  Count removed, or -1. */
int64_t store_login_fail_purge(struct store *st, int64_t before_ms);

/*
 * Message queries.  NULL or "" text filters are off; text filters match a
 * substring, case-insensitively (symbol and action match exactly).  addr
 * restricts to mail where addr is a recipient (quarantine), or a recipient
 * or the sender (message log).  since_ms/until_ms 0 are off.
 */
struct msg_query {
	const char *q;		/* words in subject, sender or recipients */
	const char *sender, *rcpt, *subject, *symbol, *action;
	const char *addr;
	int64_t since_ms, until_ms;
	int64_t limit, offset;
};

struct msg_row {
	const char *id;
	int64_t received_ms;
	const char *direction;	/* inbound, outbound */
	const char *from;
	const char *rcpts;	/* JSON array of addresses */
	const char *subject;	/* or NULL */
	const char *action;	/* or NULL */
	double score;
	int has_score;
	const char *scan;	/* quarantine: the scan JSON; log: JSON array of names */
	int state;		/* enum msg_state, or MSGLOG_DELETED */
};

#define MSGLOG_DELETED	6

typedef int (*store_msg_row_cb)(const struct msg_row *r, void *arg);

/* Quarantined messages, newest first; *total gets the count of all matches. */
int store_quarantine_query(struct store *st, const struct msg_query *q,
    store_msg_row_cb cb, void *arg, int64_t *total);
/* Is addr a recipient of message id?  1 yes, 0 no, -1 error. */
int store_msg_has_rcpt(struct store *st, const char *id, const char *addr);
/* The message log, newest first. */
int store_msglog_query(struct store *st, const struct msg_query *q,
    store_msg_row_cb cb, void *arg, int64_t *total);
/* Drop log rows received before before_ms.  Count removed, or -1. */
int64_t store_msglog_purge(struct store *st, int64_t before_ms);

/*
 * Aggregates for /stats and /metrics.  A callback gets (key, key2, count):
 *   store_stats_by_action   hour start (ms), action
 *   store_stats_symbols     0, symbol name (most frequent first, up to limit);
 *                           for everyone's mail (addr NULL) from the hourly
 *                           counts, so from the start of since_ms's hour
 *   store_stats_targets     0, recipient of mail not simply delivered
 *   store_stats_logins      hour start (ms), "failures" / "refused"
 * addr (may be NULL) restricts to mail of that address, as above.
 */
typedef int (*store_stat_cb)(int64_t key, const char *name, int64_t count, void *arg);
int store_stats_by_action(struct store *st, int64_t since_ms, const char *addr,
    store_stat_cb cb, void *arg);
int store_stats_symbols(struct store *st, int64_t since_ms, const char *addr,
    int64_t limit, store_stat_cb cb, void *arg);
int store_stats_targets(struct store *st, int64_t since_ms, const char *addr,
    int64_t limit, store_stat_cb cb, void *arg);
int store_stats_logins(struct store *st, int64_t since_ms, store_stat_cb cb, void *arg);

#endif
