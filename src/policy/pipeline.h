/*
 * pipeline.h - the one stage between durable receipt and delivery.
 *
 * Every message passes pipeline_run() exactly once after it is on disk and
 * before any delivery: the daemon runs it on a worker thread, `sekisho scan`
 * runs the very same call offline.  It parses the message (src/message),
 * runs every detector (src/detect) and applies the policy (src/policy):
 * the verdict says what to do and, when the message is to be delivered with
 * changes (headers, subject tag, banner), carries the rewritten bytes.
 */
#ifndef SEKISHO_PIPELINE_H
#define SEKISHO_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "store/envelope.h"
#include "util/config.h"

enum action {
	ACTION_DELIVER = 0,	/* deliver (with the standard headers added) */
	ACTION_TAG,		/* deliver with subject prefix and warning banner */
	ACTION_QUARANTINE,	/* keep for an admin */
	ACTION_REJECT,		/* 5xx within the inline budget, else bounce */
	ACTION_HOLD,		/* wait for release (outbound holds, approvals) */
};

struct verdict {
	enum action action;
	double score;
	char reply[256];	/* SMTP reply for ACTION_REJECT ("550 5.7.1 ...") */
	char *scan_json;	/* {"action","score","symbols":[{name,score,reason}]} */
	char *subject;		/* decoded Subject, or NULL */
	char *rewritten;	/* the message to deliver, or NULL: unchanged */
	size_t rewritten_len;
	/* ACTION_HOLD of outbound mail (src/outbound): "hold" (timed, the
	 * sender can recall), "approval", "confirm"; "" for other holds */
	char hold_kind[16];
	int64_t hold_ms;	/* "hold": how long */
	/* the attachments were replaced (attach_link.h): rewritten must be
	 * put in place, never the original delivered */
	int protect;
};

void verdict_clear(struct verdict *v);

struct pipeline;
struct scan_ctx;
struct scan_result;

/*
 * What the modules above policy add to it.  Policy depends on nothing
 * above it (docs/architecture.md): mis-send prevention (src/outbound,
 * outbound_pipeline_ops()) plugs in here, and the programs hand it to
 * pipeline_new().  Without it, outbound mail the score lets through never
 * waits (a hold forced by symbol_actions is an admin hold) and attachments
 * stay as they are.
 */
struct pipeline_hold {
	const char *kind;	/* NULL: send; "hold", "approval" or "confirm" */
	double risk;		/* the approval_rules weights of the symbols found */
	int64_t hold_ms;	/* "hold": how long */
	int external;		/* a recipient is outside, after list expansion */
};
struct pipeline_ops {
	/* Should outbound mail that the score lets through wait?  open: NULL
	 * + err on a bad setting; assess: thread-safe. */
	void *(*hold_open)(const struct config *cfg, char *err, size_t errlen);
	void (*hold_close)(void *state);
	void (*hold_assess)(void *state, const struct scan_ctx *ctx,
	    const struct scan_result *r, struct pipeline_hold *h);
	/* Outbound mail that leaves, after the verdict: put its attachments
	 * behind a link or in an encrypted ZIP (v->rewritten, v->protect).
	 * open: NULL when off; apply: 0, or -1 and the message is
	 * quarantined rather than sent as it is; thread-safe. */
	void *(*protect_open)(const struct config *cfg);
	void (*protect_close)(void *state);
	int (*protect_apply)(void *state, const struct envelope *env,
	    const char *raw, size_t rawlen, struct verdict *v);
};

/* Build the stage from config (rules, engines, resolver); ops may be
 * NULL (above).  NULL + err. */
struct pipeline *pipeline_new(const struct config *cfg, const struct pipeline_ops *ops,
    char *err, size_t errlen);
void pipeline_free(struct pipeline *pl);
/* record = 0: analyse without learning or keeping history (offline scans). */
void pipeline_set_record(struct pipeline *pl, int record);

/*
 * Analyse one message file.  outbound: it came in on the outbound listener.
 * Thread-safe.  Returns 0 with *v filled (release with verdict_clear), or
 * -1 when the file cannot be read (the caller keeps the message: never
 * passed unscanned).  When res is not NULL the full scan result is left in
 * it (release with scan_result_clear).
 */
int pipeline_run(struct pipeline *pl, const struct envelope *env,
    const char *path, struct verdict *v, struct scan_result *res);
/* The same over bytes in memory. */
int pipeline_run_mem(struct pipeline *pl, const struct envelope *env,
    const char *buf, size_t len, struct verdict *v, struct scan_result *res);
/* The same in two steps, for a caller that needs the parsed message itself
 * (`sekisho scan` takes the envelope from the headers): parse with the
 * pipeline's limits (release with message_free; buf must outlive it), then
 * analyse. */
struct message;
struct message *pipeline_parse(const struct pipeline *pl, const char *buf, size_t len);
int pipeline_run_msg(struct pipeline *pl, const struct envelope *env,
    const struct message *msg, struct verdict *v, struct scan_result *res);

const char *action_name(enum action a);

#endif
