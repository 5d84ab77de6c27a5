/*
 * pipeline.h - the one stage between durable receipt and delivery.
 *
 * Every message passes pipeline_run() exactly once after it is on disk and
 * before any delivery: the daemon runs it on a worker thread, `sekisho scan`
 * runs the very same call offline.  It reads the envelope and the spooled
 * message and returns a verdict: deliver, reject, quarantine or hold.  The
 * analysis (parsing, detectors, scores) plugs in here; until it does, every
 * message is delivered unchanged.
 */
#ifndef SEKISHO_PIPELINE_H
#define SEKISHO_PIPELINE_H

#include "store/envelope.h"
#include "util/config.h"

enum action {
	ACTION_DELIVER = 0,
	ACTION_REJECT,
	ACTION_QUARANTINE,
	ACTION_HOLD,
};

struct verdict {
	enum action action;
	double score;
	char reply[256];	/* SMTP reply for ACTION_REJECT ("550 5.7.1 ...") */
};

struct pipeline;

/* Build the stage from config (load rules, open engines). NULL + err. */
struct pipeline *pipeline_new(const struct config *cfg, char *err, size_t errlen);
void pipeline_free(struct pipeline *pl);

/*
 * Analyse one message.  Thread-safe: many workers call it at once.  Returns
 * 0 with *v filled, or -1 when the message could not be analysed at all (the
 * caller then keeps it, never passes it unscanned).
 */
int pipeline_run(struct pipeline *pl, const struct envelope *env,
    const char *path, struct verdict *v);

const char *action_name(enum action a);

#endif
