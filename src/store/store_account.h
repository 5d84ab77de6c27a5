/*
 * store_account.h - account-takeover state: locks, login events, alerts.
 *
 * Locks: a login (as the mail servers see it, compared byte for byte) that
 * may not log in or submit mail.  until_ms 0 means "until cleared"; an
 * expired lock is as good as none (store_lock_get() says 1) and is removed
 * by store_lock_prune().  The Dovecot auth policy server and the Postfix
 * policy server refuse a locked login; incidents lock and unlock through
 * the same calls.
 *
 * Login events: one row per login attempt the policy servers or the log
 * watcher saw (result ok, fail or refused), with the client IP, the
 * protocol and the country when a GeoIP database knows it.  Kept for
 * history and incidents ("recent logins with IP and country"); the
 * detection windows themselves live in memory (account/login_guard.c).
 *
 * Alerts: what the login guard found (kind such as "brute_force",
 * "password_spray", "impossible_travel"), for the admin to read and
 * acknowledge.
 *
 * All strings in the structs are fixed-size and NUL-terminated (longer
 * values are cut), so nothing returned needs freeing.  Calls return 0 or -1
 * (store_errmsg()); "not found" is 1 where said.
 */
#ifndef SEKISHO_STORE_ACCOUNT_H
#define SEKISHO_STORE_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct store;

#define STORE_LOGIN_MAX		256
#define STORE_IP_MAX		64

struct store_lock {
	char login[STORE_LOGIN_MAX];
	int64_t created_ms;
	int64_t until_ms;		/* 0: until cleared */
	char reason[256];
};

/* Insert or replace the lock of login (created_ms is now). */
int store_lock_set(struct store *st, const char *login, int64_t until_ms,
    const char *reason);
/* 0 locked now (l filled; l may be NULL), 1 not locked or expired, -1 error. */
int store_lock_get(struct store *st, const char *login, struct store_lock *l);
/* 0 removed, 1 there was none, -1 error. */
int store_lock_clear(struct store *st, const char *login);
/* Visit the locks in force, by login; a callback returning non-zero stops
 * the walk and that value is returned. */
typedef int (*store_lock_cb)(const struct store_lock *l, void *arg);
int store_lock_foreach(struct store *st, store_lock_cb cb, void *arg);
/* Remove locks that expired before now_ms. */
int store_lock_prune(struct store *st, int64_t now_ms);

enum login_result {
	LOGIN_OK = 1,		/* authenticated */
	LOGIN_FAIL = 2,		/* wrong credentials */
	LOGIN_REFUSED = 3,	/* refused by sekisho before or after auth */
};

struct store_login {
	int64_t id;			/* set by the store */
	int64_t time_ms;
	char login[STORE_LOGIN_MAX];
	char ip[STORE_IP_MAX];
	char protocol[32];		/* imap, pop3, smtp, submission... */
	char source[32];		/* dovecot, postfix-log, dovecot-log */
	char country[8];		/* ISO 3166 code, "" unknown */
	double lat, lon;		/* when has_geo */
	int has_geo;
	enum login_result result;
};

int store_login_add(struct store *st, const struct store_login *ev);
/* Visit the login events of login (NULL: every login) since since_ms,
 * newest first, at most max (0: no limit); result 0 means any result.
 * A callback returning non-zero stops and that value is returned. */
typedef int (*store_login_cb)(const struct store_login *ev, void *arg);
int store_login_foreach(struct store *st, const char *login, int64_t since_ms,
    enum login_result result, size_t max, store_login_cb cb, void *arg);
/* The latest successful login of login before before_ms (0: any time):
 * 0 found, 1 none, -1 error.  Impossible-travel checks start here. */
int store_login_last_ok(struct store *st, const char *login, int64_t before_ms,
    struct store_login *ev);
/* Has login logged in successfully from country before? 0 yes, 1 no, -1. */
int store_login_seen_country(struct store *st, const char *login,
    const char *country, int64_t before_ms);
/* Delete events older than before_ms; the count removed, or -1. */
int64_t store_login_prune(struct store *st, int64_t before_ms);

struct store_alert {
	int64_t id;			/* set by the store */
	int64_t time_ms;
	char kind[32];
	char login[STORE_LOGIN_MAX];	/* "" when the alert is about an IP */
	char ip[STORE_IP_MAX];		/* address or network, "" when none */
	char detail[512];
	int acknowledged;
};

/* Record an alert; its id into *id (may be NULL). */
int store_alert_add(struct store *st, const struct store_alert *a, int64_t *id);
/* Newest first, at most max (0: no limit); unacked_only skips acknowledged. */
typedef int (*store_alert_cb)(const struct store_alert *a, void *arg);
int store_alert_foreach(struct store *st, int unacked_only, size_t max,
    store_alert_cb cb, void *arg);
/* 0 acknowledged, 1 no such alert, -1 error. */
int store_alert_ack(struct store *st, int64_t id);

const char *store_login_result_name(enum login_result r);

#endif
