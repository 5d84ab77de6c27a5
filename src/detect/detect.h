/*
 * detect.h - detectors, symbols and the scan result.
 *
 * A detector is a module with init(config), scan(ctx, result) and free(),
 * registered in one table (detect.c).  It adds symbols (SPF_FAIL,
 * HDR_MISSING_DATE, ...) with a one-line reason.  The score of a symbol is
 * not the detector's to decide: each detector declares its symbols with a
 * default score and a description, and the admin overrides any of them in
 * the config with "score.NAME = value" (docs/symbols.md lists them all).
 * Policy (src/policy) turns the sum and the symbols into an action.
 *
 * A detector that cannot finish (a DNS time-out, an engine error, its time
 * budget) must say so with a symbol of its own (DNS_TEMPFAIL, SCAN_TIMEOUT,
 * ...) rather than stay silent.  scan() runs on worker threads: any state
 * shared between scans must be read-only or locked.
 */
#ifndef SEKISHO_DETECT_H
#define SEKISHO_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "message/message.h"
#include "store/envelope.h"
#include "util/config.h"
#include "util/util.h"

struct symbol_def {
	const char *name;
	double score;		/* default; config "score.NAME" overrides */
	const char *description;
};

struct symbol {
	const char *name;	/* points into a symbol_def table or a config key */
	double score;
	char *reason;		/* one line, UTF-8 */
};

struct scores;			/* symbol name -> score, built once per engine */

struct scan_result {
	struct symbol *syms;
	size_t nsyms, cap;
	double score;		/* sum of symbol scores */
	char **auth;		/* Authentication-Results methods: "spf=pass smtp.mailfrom=x" */
	size_t nauth;
	const struct scores *scores;
	int *bad_parts;		/* message parts a check found bad, for removal */
	size_t nbad_parts;
};

void scan_result_init(struct scan_result *r, const struct scores *scores);
void scan_result_clear(struct scan_result *r);

/* Add a symbol with its configured score (a symbol added twice keeps the
 * first one).  Unknown names are a programming error: panic. */
void result_add(struct scan_result *r, const char *name, const char *fmt, ...)
    UTIL_PRINTF(3, 4);
/* Add with an explicit score (graded symbols such as BAYES_SPAM); the
 * configured score, when set, multiplies it. */
void result_add_scored(struct scan_result *r, const char *name, double score,
    const char *fmt, ...) UTIL_PRINTF(4, 5);
int result_has(const struct scan_result *r, const char *name);
/* Record that parts[part] of the message is bad (malware, a dangerous
 * file...), so that policy can remove it (attachment_action = strip). */
void result_mark_part(struct scan_result *r, int part);
/* Record one Authentication-Results method ("dkim=pass header.d=example.jp"). */
void result_add_auth(struct scan_result *r, const char *fmt, ...) UTIL_PRINTF(2, 3);

struct dns;			/* util/dns.h; NULL when network checks are off */

struct scan_ctx {
	const struct config *cfg;
	const struct envelope *env;
	const struct message *msg;
	struct dns *dns;
	int outbound;		/* the message came in on the outbound listener */
	int64_t deadline_ms;	/* monotonic time by which the scan must end */
	int record;		/* a real message: checks may learn from it and keep
				 * history (autolearn, correspondents); 0 for
				 * `sekisho scan`, which must change no state */
};

struct detector {
	const char *name;
	const struct symbol_def *symbols;	/* terminated by { NULL } */
	/* Load rules, open engines.  0, or -1 with err.  May be NULL. */
	int (*init)(const struct config *cfg, void **state, char *err, size_t errlen);
	void (*scan)(void *state, const struct scan_ctx *ctx, struct scan_result *r);
	void (*free)(void *state);
	/* Told the action (enum action of policy/pipeline.h) once policy has
	 * decided, for checks that learn from the mail let through (the
	 * phishing detector notes whom an organisation corresponds with).
	 * Runs on the scan's thread; must not fail the message.  May be NULL. */
	void (*verdict)(void *state, const struct scan_ctx *ctx,
	    const struct scan_result *r, int action);
};

struct detect_engine;

/* Initialise every registered detector and the score table. NULL + err. */
struct detect_engine *detect_new(const struct config *cfg, char *err, size_t errlen);
void detect_free(struct detect_engine *de);
/* Run every detector on the message; r must be initialised with
 * detect_scores(de). */
void detect_run(struct detect_engine *de, const struct scan_ctx *ctx, struct scan_result *r);
/* Tell every detector the verdict (pipeline.c, after policy_decide). */
void detect_verdict(struct detect_engine *de, const struct scan_ctx *ctx,
    const struct scan_result *r, int action);
const struct scores *detect_scores(const struct detect_engine *de);

/* Every detector in registry order (for docs and tests). */
const struct detector *const *detect_registry(size_t *count);

#endif
