/*
 * outbound.h - mis-send prevention: send hold and recall, risk-scored
 * approval, the sender's own confirmation, the directory, signed links.
 *
 * Where each part runs:
 *
 *   policy (scan workers)   outbound_assess(), handed to the pipeline as
 *                           outbound_pipeline_ops(): the risk of a message
 *                           from its symbols (approval_rules weights) and,
 *                           with the directory, whether it goes outside
 *                           and how long the sender's mail waits.  The
 *                           verdict is ACTION_HOLD with a hold kind.
 *   queue writer            outbound_hold_record(): the hold row, in the
 *                           same transaction that makes the message HELD.
 *   queue scheduler         outbound_tick(): notices (hold notice, approval
 *                           request, confirm request, reminder, outcome),
 *                           releases when the hold time is over, deadline
 *                           outcomes, removal of recalled messages.
 *   CLI and HTTP            outbound_act() by message id (an admin, the
 *                           CLI) and outbound_link_act() by token (the
 *                           one-click links in the notices).
 *
 * Every state change is a store transaction (store_hold_decide), so the
 * daemon, the CLI and a second node sharing the store agree on who won.
 */
#ifndef SEKISHO_OUTBOUND_H
#define SEKISHO_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "detect/detect.h"
#include "policy/pipeline.h"
#include "store/store.h"
#include "store/store_outbound.h"
#include "util/config.h"

/* ---- risk and the hold decision (policy) ---- */

/*
 * The risk of a set of symbols: the sum of the approval_rules weights of
 * those present.  why (may be NULL) gets "NAME(weight) NAME(weight)".
 */
double outbound_risk(const struct config *cfg, const char *const *names, size_t n,
    char *why, size_t whylen);
/* Parse approval_rules: 0, or -1 with the bad entry in err. */
int outbound_rules_check(const struct config *cfg, char *err, size_t errlen);

struct outbound_rules;

/* For the policy stage: opens the directory lazily (record = 1 scans
 * only, so that `sekisho scan` changes and needs no state). */
struct outbound_rules *outbound_rules_new(const struct config *cfg, char *err,
    size_t errlen);
void outbound_rules_free(struct outbound_rules *r);

/* Decide for one outbound message.  Thread-safe. */
void outbound_assess(struct outbound_rules *rules, const struct scan_ctx *ctx,
    const struct scan_result *r, struct pipeline_hold *a);

/*
 * What mis-send prevention adds to the pipeline (pipeline.h): the hold
 * decision above and attachment protection (attach_link.h).  The programs
 * that scan -- the daemon's queue, `sekisho scan`, the incident rescan --
 * pass it to pipeline_new().
 */
const struct pipeline_ops *outbound_pipeline_ops(void);

/* ---- directory ---- */

/*
 * Import a directory CSV (UTF-8, header row naming the columns:
 * type,address,name,department,approvers,language,hold_minutes,delegate,
 * members; type user, group or list).  replace: clear the directory first
 * (in the same transaction).  Returns the rows imported, or -1 with
 * "line N: why" in err (nothing is kept then).
 */
int outbound_dir_import(struct store *st, FILE *fp, int replace, char *err, size_t errlen);

/* What the directory says about a sender (every field resolved through
 * the user's group and the config). */
struct outbound_person {
	char *name;		/* display name or NULL */
	char *lang;		/* "ja" or "en" */
	char *approvers;	/* with their delegates, space separated; may be "" */
	int64_t hold_ms;	/* the sender's hold time */
};
int outbound_person_get(struct store *st, const struct config *cfg, const char *addr,
    struct outbound_person *p);
void outbound_person_clear(struct outbound_person *p);
/* Is addr outside, after expanding directory lists (st may be NULL:
 * local_domains only)?  1 yes, 0 no. */
int outbound_is_external(struct store *st, const struct config *cfg, const char *addr);
/* For a list of the directory: 1 when a member (at any depth) is outside,
 * 0 when none is; -1 when addr is no list of ours. */
int outbound_list_external(struct store *st, const struct config *cfg, const char *addr);
/*
 * sekishod: let the outbound recipient checks (detect_outbound.c) see the
 * directory's lists, through rules' connection (NULL: remove the hook).
 * Call before scans start and after they end.
 */
void outbound_directory_hook(struct outbound_rules *rules);

/* ---- holds ---- */

/*
 * Called by the queue writer inside its transaction for a message that
 * becomes MSG_HELD: qi->action is the hold kind ("hold", "approval",
 * "confirm"; anything else is an admin hold), qi->next_try_ms the end of
 * a timed hold.  0 or -1.
 */
int outbound_hold_record(struct store *st, const struct config *cfg,
    const struct envelope *env, const struct queue_info *qi);

/*
 * Decide a held message: action "cancel" (recall), "release" (send now),
 * "approve", "reject" or "confirm" (the sender confirms: send).  actor is
 * who decided (an address, "cli", ...); comment may be NULL.
 * 0 done, 1 not possible (not held, already decided, or the action does
 * not fit the hold's kind), -1 error.
 */
int outbound_act(struct store *st, const char *id, const char *action,
    const char *actor, const char *comment);

/*
 * The one call for the HTTP handlers of the signed links: spend token for
 * action and decide the message (or, for the quarantine digest's actions
 * "qrelease" and "notspam", release the quarantined message: see
 * queue_digest.h).  actor NULL: the address the link was sent to.  0 done, 1 the link is unknown, used, expired, for another
 * action or its message is no longer held, -1 error.
 */
int outbound_link_act(struct store *st, const char *token, const char *action,
    const char *actor, const char *comment);

/* A new token for (id, action), its hash stored; the token is written to
 * out (OUTBOUND_TOKEN_LEN + 1 bytes).  0 or -1. */
#define OUTBOUND_TOKEN_LEN 43	/* 256 bits, base64url without padding */
int outbound_token_new(struct store *st, const char *id, const char *action,
    const char *owner, int64_t expires_ms, char out[OUTBOUND_TOKEN_LEN + 1]);
/* The hash the store keeps of a token (BLAKE2b-256). */
void outbound_token_hash(const char *token, unsigned char hash[STORE_TOKEN_HASH]);
/* A new token and its hash, not stored (for other tables: download
 * links).  0, or -1 when libsodium cannot start. */
int outbound_token_make(char out[OUTBOUND_TOKEN_LEN + 1], unsigned char hash[STORE_TOKEN_HASH]);

/* ---- the daemon's periodic work ---- */

struct spool;
/* Hand a new message to the queue (takes env; msg is copied).  0 or -1. */
typedef int (*outbound_inject_fn)(void *arg, struct envelope *env,
    const char *msg, size_t len);

/*
 * Do what is due at now_ms: notices, reminders, timed releases, deadline
 * outcomes, removal of recalled messages (row, then file in sp).  Each
 * step is its own transaction; a notice is injected before its flag is
 * set, so a crash in between sends it twice rather than never.  Returns
 * the number of holds handled, or -1.
 */
int outbound_tick(struct store *st, const struct config *cfg, struct spool *sp,
    int64_t now_ms, outbound_inject_fn inject, void *arg);

#endif
