/*
 * store_api.h - the console API's read-only views over other areas'
 * tables: holds listed with their message (sender, recipients, subject
 * from the message log, which outlives the message), a signed link's
 * token looked at without spending it, and the dashboard's counts of
 * holds and of login events.
 *
 * Nothing here changes state: decisions go through outbound_act() and
 * outbound_link_act(), locks and alerts through store_account.h.
 * Calls return 0, 1 for "not found" where said, -1 on error (store_errmsg).
 */
#ifndef SEKISHO_STORE_API_H
#define SEKISHO_STORE_API_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_outbound.h"

struct hold_query {
	const char *status;	/* NULL: any */
	const char *kind;	/* NULL: any */
	const char *sender;	/* NULL: any; compared without case */
	const char *approver;	/* NULL: any; one of the hold's approvers */
	int64_t limit;		/* 0: no limit */
	int64_t offset;
};

/* A hold and what the message log keeps of its message. */
struct hold_view {
	struct store_hold h;	/* store_hold_clear() frees it */
	char *rcpts;		/* JSON array text, or NULL when unknown */
	char *subject;		/* or NULL */
};

typedef int (*store_hold_view_cb)(const struct hold_view *v, void *arg);
/* Holds matching q, newest first; *total (may be NULL) the count
 * without limit and offset.  A callback returning non-zero stops. */
int store_hold_query(struct store *st, const struct hold_query *q,
    store_hold_view_cb cb, void *arg, int64_t *total);
/* One hold with its message: 0 (v filled; hold_view_clear), 1, -1. */
int store_hold_view_get(struct store *st, const char *id, struct hold_view *v);
void hold_view_clear(struct hold_view *v);

/*
 * Look at a link's token without spending it: 0 when the hash is known,
 * unused, unexpired at now_ms and for action, with the message id (and
 * the owner, malloc'ed, when owner is not NULL); 1 when not; -1 error.
 */
int store_token_peek(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    const char *action, int64_t now_ms, char msg_id[QUEUE_ID_SIZE], char **owner);

/*
 * Holds by status: those still "held" whenever made, the others made
 * since since_ms; sender NULL for all.  cb(0, status, count).
 */
typedef int (*store_count_cb)(int64_t key, const char *name, int64_t count, void *arg);
int store_hold_counts(struct store *st, int64_t since_ms, const char *sender,
    store_count_cb cb, void *arg);
/* Failed and refused login events (every protocol, the console's too)
 * per hour since since_ms: cb(hour start ms, "failures"|"refused", n). */
int store_login_stats(struct store *st, int64_t since_ms, store_count_cb cb, void *arg);

#endif
