/*
 * learn.h - learning and forgetting messages: the one path by which the
 * spam classifier changes, whoever asks (sekisho learn, a user's "not spam"
 * from the quarantine, the detector's autolearn).
 *
 * A learner is a model (classifier.h) loaded from the store with its
 * tokenizer.  learner_learn() tokenizes the parsed message, trains the
 * model and records digest -> (label, the change made) in the store, all
 * inside the caller's store transaction when there is one; learner_save()
 * writes the model back.  Learning a message already learned with the same
 * label does nothing; with the other label it first undoes the old learn.
 * learner_forget() undoes a learn exactly: the same weights, the same
 * counts as if the message had never been learned (see classifier.h).
 *
 * The digest is BLAKE2b-256 of the message bytes, less a leading mbox
 * "From " line, so the same message from a file, an mbox or the spool is
 * the same message.
 *
 * Not thread-safe: one learner per thread, or a lock around it.
 */
#ifndef SEKISHO_LEARN_H
#define SEKISHO_LEARN_H

#include <stddef.h>
#include <stdint.h>

#include "detect/classifier.h"
#include "detect/tokenize.h"
#include "message/message.h"

struct store;

#define LEARN_MODEL	"spam"		/* the site-wide model's name */
#define LEARN_DIGEST_HEX 65

enum learn_outcome {
	LEARN_LEARNED,		/* counted (the model changed, or was already right) */
	LEARN_RELABELLED,	/* had been learned with the other label: swapped */
	LEARN_ALREADY,		/* had been learned with this label: nothing done */
	LEARN_FORGOTTEN,	/* forget: undone exactly */
	LEARN_FORGOTTEN_INEXACT,/* forget: undone, but its features changed since */
	LEARN_UNKNOWN,		/* forget: this message was never learned */
	LEARN_FAILED,		/* store error (see store_errmsg) */
};

struct learner {
	struct store *st;	/* not owned */
	char *name;
	struct classifier *clf;
	struct tokenizer *tk;
	int64_t version;	/* of the model in the store when loaded or saved */
	int dirty;		/* changed since loaded or saved */
	struct tok_features f;	/* scratch */
};

/*
 * Load model `name` from st.  When there is none: create a new empty one
 * (create != 0, with 2^bits buckets), else *learnerp = NULL and return 1.
 * 0 on success, -1 with err.
 */
int learner_open(struct store *st, const char *name, int create, unsigned bits,
    struct learner **learnerp, char *err, size_t errlen);
void learner_free(struct learner *l);

/*
 * Learn one message: msg is raw parsed (the caller parses, so that this
 * module does not depend on the parser's cost or limits); raw gives the
 * digest.  source: "cli", "user", "auto".
 */
enum learn_outcome learner_learn(struct learner *l, const struct message *msg,
    const char *raw, size_t len, int spam, const char *source);
/*
 * Another pass over a message learned before (with its label): trains on or
 * near error again and adds the change to its record, so forget still
 * undoes all of it.  Counts nothing.  LEARN_LEARNED, LEARN_UNKNOWN (never
 * learned) or LEARN_FAILED.  sekisho learn makes a second pass over what it
 * learned in a run (bench/accuracy/README.md shows why).
 */
enum learn_outcome learner_refine(struct learner *l, const struct message *msg,
    const char *raw, size_t len);
enum learn_outcome learner_forget(struct learner *l, const struct message *msg,
    const char *raw, size_t len);

/*
 * The header fields sekisho adds to what it delivers (policy.c), besides its
 * Authentication-Results: NULL-terminated.
 */
extern const char *const learn_verdict_fields[];

/*
 * A delivered copy as sekisho scanned it.  When msg carries what sekisho
 * added on delivery -- learn_verdict_fields, an Authentication-Results of
 * authserv_id, a Subject that starts with tag_prefix -- the message without
 * them, CRLF line endings (malloc'ed, *len); NULL when there is nothing to
 * take out (learn the bytes as they are).  Every learning path that may be
 * handed a delivered copy passes here (sekisho learn on a Junk folder, a
 * user's report through /learn), so the classifier never learns its own
 * verdict and one copy has one digest whichever way it came.
 */
char *learn_scanned_copy(const struct message *msg, const char *tag_prefix,
    const char *authserv_id, size_t *len);

/* Margin (log-odds of spam) of a parsed message under the model. */
double learner_margin(struct learner *l, const struct message *msg);

/*
 * Why the model scores a message as it does: the margin taken apart into
 * the share of each feature (the weights of the buckets it set, the first
 * feature to set a bucket taking it, over the norm), with the strongest
 * LEARN_EXPLAIN_TOP each way.  bias + every share = margin, exactly up to
 * rounding: "rest" is the share of the features not listed.
 */
#define LEARN_EXPLAIN_TOP	12

struct learn_contrib {
	char feature[80];	/* spelled as tokenize_message_explain does, cut */
	double share;		/* of the margin */
};

struct learn_explain {
	double margin, bias, rest;
	size_t nbuckets;	/* in the message's set */
	size_t nfeatures;	/* features read (with repeats) */
	struct learn_contrib spam[LEARN_EXPLAIN_TOP];	/* the most towards spam first */
	struct learn_contrib ham[LEARN_EXPLAIN_TOP];	/* the most towards ham first */
	size_t nspam, nham;
};

void learner_explain(struct learner *l, const struct message *msg, struct learn_explain *ex);

/* Write the model to the store when it changed.  0 or -1. */
int learner_save(struct learner *l);

/* The message's digest as lower-case hex (see above). */
void learn_digest(const char *raw, size_t len, char hex[LEARN_DIGEST_HEX]);
/* Skip a leading mbox "From " line: the offset of the message proper. */
size_t learn_skip_from_line(const char *raw, size_t len);

const char *learn_outcome_name(enum learn_outcome o);

#endif
