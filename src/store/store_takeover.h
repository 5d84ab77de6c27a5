/*
 * store_takeover.h - compromised-account detection state (schema step 12).
 *
 * Sender hours: per sender (the login as detect_forward.c keys the
 * sent-mail history: auth_user, else MAIL FROM; lower-cased) and per hour
 * since the epoch, the messages, recipients, recipients new to that
 * sender, distinct external domains and the sum and maximum of the
 * messages' scores.  It is a bounded summary of the sent-mail history
 * (store_audit.h user_sent / user_contacts), written by the same writer
 * in the same transaction, so "new" means "not in user_contacts yet";
 * rows older than takeover_history are pruned.
 *
 * Suspensions: a login whose outbound mail is all held because its mail
 * looked like a takeover; one row per login, until an admin lifts it.
 *
 * Signatures: the fingerprint of the last signature block each sender
 * used and its items (URLs, phone and account numbers), one per line.
 *
 * Strings in the structs are fixed-size and NUL-terminated.  Calls return
 * 0 or -1 (store_errmsg()); "not found" is 1 where said.
 */
#ifndef SEKISHO_STORE_TAKEOVER_H
#define SEKISHO_STORE_TAKEOVER_H

#include <stddef.h>
#include <stdint.h>

struct store;

#define STORE_HOUR_MS	3600000LL

struct store_sender_hour {
	int64_t hour;			/* time_ms / STORE_HOUR_MS */
	int64_t msgs, rcpts, new_rcpts, domains;
	double score_sum, score_max;
};

/*
 * Count one outbound message of login at time_ms: its recipients (new
 * ones are those login never mailed, by user_contacts -- so call this
 * before store_user_sent_add() notes them) and its external domains.
 * Within the caller's transaction, if any.
 */
int store_sender_note(struct store *st, const char *login, int64_t time_ms,
    double score, char *const *rcpts, size_t nrcpts, char *const *domains,
    size_t ndomains);
/* The hour of login: 0 found, 1 none (h zeroed), -1 error. */
int store_sender_hour_get(struct store *st, const char *login, int64_t hour,
    struct store_sender_hour *h);
/*
 * The hours of login in [from_hour, to_hour) with mail, oldest first, at
 * most max; the count, or -1.
 */
int store_sender_hours(struct store *st, const char *login, int64_t from_hour,
    int64_t to_hour, struct store_sender_hour *out, size_t max);
/* Has login ever mailed addr (user_contacts)?  0 yes, 1 no, -1 error. */
int store_sender_knows(struct store *st, const char *login, const char *addr);
/* Delete the hours before before_hour; the rows removed, or -1. */
int64_t store_sender_prune(struct store *st, int64_t before_hour);

struct store_suspension {
	char login[256];
	int64_t since_ms;
	char reason[512];
	int64_t incident_id;
};

/* Suspend login for sending: 0 suspended now, 1 it already was, -1. */
int store_suspend_set(struct store *st, const char *login, const char *reason,
    int64_t incident_id);
/* 0 suspended (s filled; may be NULL), 1 not, -1 error. */
int store_suspend_get(struct store *st, const char *login, struct store_suspension *s);
/* 0 lifted, 1 was not suspended, -1 error. */
int store_suspend_clear(struct store *st, const char *login);
/* By login; a callback returning non-zero stops with that value. */
typedef int (*store_suspend_cb)(const struct store_suspension *s, void *arg);
int store_suspend_foreach(struct store *st, store_suspend_cb cb, void *arg);

/* The last signature of login: 0 found, 1 none, -1 error.  items is a
 * malloc'ed string (free it) when found. */
int store_signature_get(struct store *st, const char *login, char fp[65], char **items);
int store_signature_put(struct store *st, const char *login, const char *fp,
    const char *items, int64_t time_ms);

#endif
