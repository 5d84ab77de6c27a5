/*
 * queue_digest.h - the daily quarantine digest and its one-click links.
 *
 * Each local recipient with mail quarantined since their last digest gets
 * one mail (template digest, in the directory's language, else
 * notify_language) listing sender, subject, date and score of each
 * message, with two signed single-use links per message:
 *
 *   ACTION_QRELEASE  "qrelease"  release the message (quarantine_release,
 *                                the same as `sekisho quarantine release`)
 *   ACTION_NOTSPAM   "notspam"   learn it as ham, then release it
 *
 * The links are outbound_token_new() tokens (only their hash is stored),
 * owned by the recipient, valid for quarantine_link_expiry, and are acted
 * on by outbound_link_act(), the one entry of the /link/TOKEN handler,
 * which hands these two actions to queue_digest_link_act().
 *
 * Two nodes and restarts: a row per recipient (store_notify.h) records the
 * last digest, claimed before the mail is composed, so the digest of one
 * day is sent once whichever node's tick comes first.
 */
#ifndef SEKISHO_QUEUE_DIGEST_H
#define SEKISHO_QUEUE_DIGEST_H

#include <stdint.h>

#include "notify/notify_send.h"
#include "store/store_outbound.h"
#include "util/config.h"

struct store;

#define ACTION_QRELEASE	"qrelease"
#define ACTION_NOTSPAM	"notspam"
#define DIGEST_MAX_ITEMS 100	/* messages listed in one digest */

/* The time of day "HH:MM" as minutes, or -1 when it is not one. */
int queue_digest_minutes(const char *hhmm);
/* The latest digest time (HH:MM local) at or before now_ms. */
int64_t queue_digest_due(int minutes, int64_t now_ms);

/*
 * Send the digests that are due at now_ms (force: every recipient now,
 * whatever was sent today); only: one recipient (NULL: all).  Returns the
 * digests queued, or -1.
 */
int queue_digest_run(struct store *st, const struct config *cfg, int64_t now_ms,
    int force, const char *only, notify_inject_fn inject, void *arg);

/*
 * The scheduler's call, each round: nothing (no store access) until the
 * next digest time, then queue_digest_run.  Only when quarantine_digest is
 * on.  Single caller (the scheduler thread).
 */
int queue_digest_tick(struct store *st, const struct config *cfg, int64_t now_ms,
    notify_inject_fn inject, void *arg);

/* 1 when action is one of the digest links' actions. */
int queue_digest_link_action(const char *action);
/*
 * Spend the token (hash) for action and act on its message.  Called by
 * outbound_link_act() outside any transaction.  0 done, 1 unknown, used,
 * expired or no longer quarantined, -1 error.
 */
int queue_digest_link_act(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    const char *action, const char *actor);
/* Where "not spam" finds the spool and the classifier's size: the
 * process's config (sekishod, sekisho).  Without it the link releases only. */
void queue_digest_setup(const struct config *cfg);

#endif
