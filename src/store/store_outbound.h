/*
 * store_outbound.h - the store's part of outbound mis-send prevention:
 * the directory (users, groups, lists), holds and approvals, and the
 * hashes of the signed one-click links.
 *
 * Directory.  One row per (kind, key): a user by address, a group by its
 * name (a user's department names its group), a list by its address with
 * its members.  Addresses are kept in lower case.  The directory is what
 * an admin imports from CSV (sekisho directory import); LDAP can fill the
 * same rows later.
 *
 * Holds.  One row per held message (its id in messages): the kind ("hold"
 * timed send hold, "approval" waits for an approver, "confirm" waits for
 * the sender, "admin" held for an admin), its status ("held" while it
 * waits, then "released", "approved", "cancelled", "rejected" or
 * "expired"), the times that matter and which notices went out.  The row
 * outlives the message as the record of who decided what.
 *
 * Tokens.  Only the hash of a link's token is kept (32 bytes), with the
 * message, the one action it allows, the address it was sent to and its
 * expiry.  store_token_use() spends a token at most once.
 *
 * Calls return 0, 1 for "not found" where said, -1 on error (store_errmsg).
 */
#ifndef SEKISHO_STORE_OUTBOUND_H
#define SEKISHO_STORE_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum dir_kind {
	DIR_USER = 1,
	DIR_GROUP = 2,
	DIR_LIST = 3,
};

struct dir_entry {
	enum dir_kind kind;
	char *key;		/* user or list address (lower case), group name */
	char *name;		/* display name (UTF-8) */
	char *department;	/* users: the group they belong to */
	char *approvers;	/* addresses, space separated */
	char *delegate;		/* an approver's stand-in, or NULL */
	char *language;		/* "ja", "en" or NULL (inherit) */
	int64_t hold_minutes;	/* -1: inherit */
	char *members;		/* lists: addresses, space separated */
};

void dir_entry_clear(struct dir_entry *e);

/* Insert or replace by (kind, key). */
int store_dir_put(struct store *st, const struct dir_entry *e);
/* 0 found (e filled; clear it), 1 not found, -1 error.  key any case. */
int store_dir_get(struct store *st, enum dir_kind kind, const char *key,
    struct dir_entry *e);
/* Remove every entry (import --replace). */
int store_dir_clear(struct store *st);
typedef int (*store_dir_cb)(const struct dir_entry *e, void *arg);
/* By kind, then key; a callback returning non-zero stops with that value. */
int store_dir_foreach(struct store *st, store_dir_cb cb, void *arg);

struct store_hold {
	char msg_id[QUEUE_ID_SIZE];
	char kind[16];		/* hold, approval, confirm, admin */
	char status[16];	/* held, released, approved, cancelled, rejected, expired */
	char *sender;		/* envelope sender */
	char *lang;		/* notices to the sender in this language */
	char *approvers;	/* approval: addresses (delegates included) */
	double risk;
	char *reasons;		/* the symbols that counted, "NAME(weight) ..." */
	int64_t created_ms;
	int64_t release_at;	/* hold: automatic release; 0 none */
	int64_t deadline_at;	/* approval, confirm: the deadline; 0 none */
	int64_t reminder_at;	/* approval: the reminder; 0 none */
	int notified;		/* the first notice went out */
	int reminded;
	int outcome_notified;	/* the sender was told the outcome (or need not be) */
	int purged;		/* a refused message's row and file are gone */
	char *decided_by;
	char *comment;
	int64_t decided_ms;
};

void store_hold_clear(struct store_hold *h);

int store_hold_insert(struct store *st, const struct store_hold *h);
/* 0 found, 1 not found, -1 error. */
int store_hold_get(struct store *st, const char *id, struct store_hold *h);
/*
 * End a hold that is still "held": status, who, why, when.  In the same
 * transaction the message moves to MSG_QUEUED due now (release) or to
 * MSG_DONE (!release; its row and file are removed later by the daemon).
 * outcome_notified is set to !tell_sender.  0 done, 1 not held (already
 * decided, or unknown), -1 error.
 */
int store_hold_decide(struct store *st, const char *id, const char *status,
    int release, const char *by, const char *comment, int64_t now_ms, int tell_sender);
/* Set one flag: "notified", "reminded", "outcome_notified" or "purged". */
int store_hold_flag(struct store *st, const char *id, const char *flag);
/* Push an approval's deadline and reminder (tests and admins). */
int store_hold_times(struct store *st, const char *id, int64_t deadline_at,
    int64_t reminder_at, int64_t release_at);

/*
 * Holds with something to do at now_ms: a first notice not sent, a
 * release or deadline or reminder time passed while held, an outcome
 * not told, a refused message not purged.  Up to max, oldest first;
 * *out is a malloc'ed array (free each with store_hold_clear, then it).
 * Returns the count or -1.
 */
int store_hold_work(struct store *st, int64_t now_ms, struct store_hold **out,
    size_t max);
typedef int (*store_hold_cb)(const struct store_hold *h, void *arg);
/* Holds in a status (NULL: all), oldest first. */
int store_hold_foreach(struct store *st, const char *status, store_hold_cb cb,
    void *arg);

#define STORE_TOKEN_HASH 32

/* Keep a token's hash: the message, the action it allows, its owner. */
int store_token_put(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    const char *msg_id, const char *action, const char *owner, int64_t expires_ms);
/*
 * Spend a token: 0 with the message id and owner (malloc'ed, may be NULL
 * when not wanted) when the hash is known, unused, unexpired at now_ms
 * and for this action; then it is marked used.  1 when not (no reason is
 * given: a guesser learns nothing), -1 error.
 */
int store_token_use(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    const char *action, int64_t now_ms, char msg_id[QUEUE_ID_SIZE], char **owner);

#endif
