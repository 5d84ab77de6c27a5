/*
 * store.h - the one interface to sekisho's durable state.
 *
 * The spool holds a message's bytes; the store holds everything else about
 * it: the envelope, the per-recipient status, the state in the message's
 * life (queue_state.h) and the retry schedule.  SQLite is the embedded engine
 * (WAL mode, synchronous=FULL, so a committed transaction survives a crash or
 * power loss); PostgreSQL will implement the same calls.
 *
 * A struct store is one connection: use one per thread.  Calls return 0 on
 * success and -1 on error (the error text is in store_errmsg()); "not found"
 * is 1 where a call says so.  Writes outside store_begin()/store_commit() are
 * each their own durable transaction; inside, nothing is durable until
 * store_commit() returns 0 (this is how the daemon groups many messages into
 * one fsync).
 */
#ifndef SEKISHO_STORE_H
#define SEKISHO_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/envelope.h"

enum msg_state {
	MSG_RECEIVED = 1,	/* durable, not yet analysed */
	MSG_QUEUED = 2,		/* waiting for (re)delivery at next_try */
	MSG_QUARANTINED = 3,	/* kept by policy; released or deleted by an admin */
	MSG_HELD = 4,		/* waiting for a hold, approval or recall */
	MSG_DONE = 5,		/* every recipient final; row may be removed */
};

struct queue_info {
	enum msg_state state;
	int attempts;		/* delivery attempts so far */
	int64_t created_ms;
	int64_t next_try_ms;	/* for MSG_QUEUED */
	char *action;		/* the verdict's action, or NULL before analysis */
	char *last_error;	/* last temporary failure, or NULL */
	char *scan;		/* analysis result as JSON ({"score":..,"symbols":[..]}), or NULL */
	char *subject;		/* decoded Subject (for listings), or NULL */
};

struct store;

/* Open (and create or migrate) the SQLite database at path. NULL + err. */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *st);
/*
 * Relaxed durability for this connection only (synchronous=NORMAL): its
 * commits are appended to the WAL without an fsync of their own, so the
 * database stays consistent but the last commits before a power loss may
 * be lost.  For telemetry written at a high rate (login events), never for
 * mail: the queue's connections keep synchronous=FULL.  0 or -1.
 */
int store_relaxed(struct store *st);
const char *store_errmsg(struct store *st);

int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);

/* A new message and its recipients. */
int store_msg_insert(struct store *st, const struct envelope *env,
    const struct queue_info *qi);
/* Rewrite the state, schedule and per-recipient status/reply.  -1 also when
 * the message, or a recipient index of env, is not in the store. */
int store_msg_update(struct store *st, const struct envelope *env,
    const struct queue_info *qi);
/* 0 found, 1 not found, -1 error. *envp (caller frees with envelope_free)
 * and *qi (caller clears with queue_info_clear) may be NULL when not wanted. */
int store_msg_get(struct store *st, const char *id, struct envelope **envp,
    struct queue_info *qi);
/* 0 deleted, 1 not found, -1 error. */
int store_msg_delete(struct store *st, const char *id);

/* Visit messages in a state (0: every state), oldest first.  A callback
 * returning non-zero stops the walk and that value is returned. */
typedef int (*store_msg_cb)(const struct envelope *env,
    const struct queue_info *qi, void *arg);
int store_msg_foreach(struct store *st, enum msg_state state,
    store_msg_cb cb, void *arg);

/* Up to max ids of MSG_QUEUED messages with next_try_ms <= now_ms, soonest
 * first.  Returns the count, or -1. */
int store_msg_due(struct store *st, int64_t now_ms, char (*ids)[QUEUE_ID_SIZE],
    size_t max);
/* Count of messages in a state (0: all), or -1. */
int64_t store_msg_count(struct store *st, enum msg_state state);

void queue_info_clear(struct queue_info *qi);

/*
 * Learned models (the spam classifier, detect/classifier.h): one row per
 * model name with its serialised form, and one row per message learned
 * (digest -> label and the change it made) so that a learn can be undone
 * exactly.  The store does not look inside either: the classifier owns the
 * format.  version grows by one on every store_model_put(), so a reader can
 * tell cheaply whether to reload.
 */
struct store_model {
	int64_t version;
	int64_t updated_ms;
	void *data;		/* malloc'ed; store_model_clear() frees */
	size_t len;
};

/* 0 found, 1 no such model, -1 error. */
int store_model_get(struct store *st, const char *name, struct store_model *m);
/* The version only (0 found, 1 none, -1 error). */
int store_model_version(struct store *st, const char *name, int64_t *version);
/* Insert or replace; the new version is returned in *version (may be NULL). */
int store_model_put(struct store *st, const char *name, const void *data, size_t len,
    int64_t *version);
/* 0 deleted (with its learned records), 1 none, -1 error. */
int store_model_delete(struct store *st, const char *name);
void store_model_clear(struct store_model *m);

struct store_learned {
	int spam;		/* the label learned */
	int64_t step;		/* the change the classifier made, to undo it */
	int64_t bias_step;
	uint64_t fsum;		/* checksum of the message's features then */
	char source[16];	/* "cli", "user", "auto" */
	int64_t learned_ms;
};

/* digest: the message's hex digest.  0 found, 1 not found, -1 error. */
int store_learned_get(struct store *st, const char *model, const char *digest,
    struct store_learned *l);
/* Insert or replace. */
int store_learned_put(struct store *st, const char *model, const char *digest,
    const struct store_learned *l);
/* 0 deleted, 1 not found, -1 error. */
int store_learned_delete(struct store *st, const char *model, const char *digest);
/* Messages learned with a label (spam 1, ham 0, any -1), or -1 on error. */
int64_t store_learned_count(struct store *st, const char *model, int spam);
/*
 * Correspondents: the outside domains each of our organisations has
 * exchanged mail with, for the phishing detector's first-contact and
 * known-correspondent lookalike checks.  org is one of local_domains;
 * domain a registrable domain.  Noted when inbound mail from the domain is
 * let through, or outbound mail to it is sent.
 */
struct store_correspondent {
	int64_t first_ms, last_ms;
	int64_t inbound, outbound;	/* messages from them, messages to them */
};

/* 0 found, 1 not found, -1 error. */
int store_correspondent_get(struct store *st, const char *org, const char *domain,
    struct store_correspondent *c);
/* Add one message (outbound: to them; else from them) at now_ms. */
int store_correspondent_note(struct store *st, const char *org, const char *domain,
    int outbound, int64_t now_ms);
/* When the org's history began: 0 (with *first_ms), 1 no history, -1 error. */
int store_correspondent_since(struct store *st, const char *org, int64_t *first_ms);
/* Visit the org's correspondents; a callback returning non-zero stops. */
typedef int (*store_correspondent_cb)(const char *domain,
    const struct store_correspondent *c, void *arg);
int store_correspondent_foreach(struct store *st, const char *org,
    store_correspondent_cb cb, void *arg);

/* "received", "queued", "quarantined", "held", "done"; "unknown" otherwise. */
const char *store_state_name(enum msg_state state);
/* The reverse (ASCII case-insensitive): 0, or -1 for an unknown name. */
int store_state_parse(const char *name, enum msg_state *out);

#endif
