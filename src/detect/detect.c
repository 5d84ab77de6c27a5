/*
 * detect.c - the detector registry, the score table and the scan result.
 *
 * The registry is one static table: adding a detector is one line here and
 * one file in src/detect.  detect_new() initialises every detector in order
 * and builds the score table (each symbol's default, overridden by
 * "score.NAME" in the config); a "score." setting for a symbol no detector
 * declares is a configuration error, caught at start-up rather than
 * silently ignored.
 *
 * Each detector is run under the scan deadline: when it has passed, the
 * remaining detectors are skipped and SCAN_TIMEOUT says so.
 */
#include "detect/detect.h"
#include "detect/detect_auth.h"
#include "detect/detect_headers.h"
#include "detect/detect_bayes.h"
#include "detect/detect_phish.h"
#include "detect/detect_attach.h"
#include "detect/detect_forward.h"
#include "detect/detect_report.h"
#include "detect/detect_dlp.h"
#include "detect/detect_outbound.h"
#include "detect/detect_takeover.h"
#include "util/log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct symbol_def core_symbols[] = {
	{ "SCAN_TIMEOUT", 0.0, "the scan ran out of time; some checks did not run" },
	{ "SCAN_ERROR", 0.0, "a check failed to run" },
	{ NULL, 0, NULL },
};

static void core_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r);

static const struct detector detect_core = {
	.name = "core",
	.symbols = core_symbols,
	.scan = core_scan,
};

static const struct detector *const registry[] = {
	&detect_core,
	&detect_headers,
	&detect_auth,
	&detect_phish,		/* after auth: reads DMARC's verdict */
	&detect_dnsbl,
	&detect_attach,
	&detect_report,		/* after the checks whose findings withhold its credit */
	&detect_forward,	/* outbound: mailbox rules forwarding outside */
	&detect_dlp,		/* outbound mail (dlp_inbound: all) */
	&detect_outbound,	/* outbound mail: recipients */
	&detect_bayes,		/* autolearn reads the other checks' score */
	&detect_takeover,	/* last: grades the content score, bayes included */
};

struct score_entry {
	const char *name;
	double score;
};

struct scores {
	struct score_entry *e;
	size_t n;
};

struct detect_engine {
	void *state[UTIL_ARRAY_LEN(registry)];
	struct scores scores;
};

static void
core_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	(void)state;
	(void)ctx;
	(void)r;
}

const struct detector *const *
detect_registry(size_t *count)
{
	*count = UTIL_ARRAY_LEN(registry);
	return registry;
}

static int
score_cmp(const void *a, const void *b)
{
	return strcmp(((const struct score_entry *)a)->name,
	    ((const struct score_entry *)b)->name);
}

static const struct score_entry *
score_find(const struct scores *sc, const char *name)
{
	struct score_entry key = { name, 0 };

	return bsearch(&key, sc->e, sc->n, sizeof(*sc->e), score_cmp);
}

struct detect_engine *
detect_new(const struct config *cfg, char *err, size_t errlen)
{
	struct detect_engine *de = xcalloc(1, sizeof(*de));
	size_t cap = 0;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(registry); i++)
		for (const struct symbol_def *s = registry[i]->symbols; s && s->name; s++)
			cap++;
	de->scores.e = xcalloc(cap, sizeof(*de->scores.e));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(registry); i++)
		for (const struct symbol_def *s = registry[i]->symbols; s && s->name; s++) {
			double v = config_score(cfg, s->name);
			de->scores.e[de->scores.n].name = s->name;
			de->scores.e[de->scores.n].score = isnan(v) ? s->score : v;
			de->scores.n++;
		}
	qsort(de->scores.e, de->scores.n, sizeof(*de->scores.e), score_cmp);
	for (size_t i = 1; i < de->scores.n; i++)
		if (strcmp(de->scores.e[i - 1].name, de->scores.e[i].name) == 0)
			panic("detect: symbol %s is declared twice", de->scores.e[i].name);
	for (size_t i = 0; i < cfg->nscores; i++)
		if (score_find(&de->scores, cfg->scores[i].name) == NULL) {
			snprintf(err, errlen, "score.%s: no check has a symbol of that name",
			    cfg->scores[i].name);
			detect_free(de);
			return NULL;
		}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(registry); i++) {
		if (registry[i]->init == NULL)
			continue;
		if (registry[i]->init(cfg, &de->state[i], err, errlen) < 0) {
			detect_free(de);
			return NULL;
		}
	}
	return de;
}

void
detect_free(struct detect_engine *de)
{
	if (de == NULL)
		return;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(registry); i++)
		if (registry[i]->free != NULL && de->state[i] != NULL)
			registry[i]->free(de->state[i]);
	free(de->scores.e);
	free(de);
}

const struct scores *
detect_scores(const struct detect_engine *de)
{
	return &de->scores;
}

void
detect_verdict(struct detect_engine *de, const struct scan_ctx *ctx,
    const struct scan_result *r, int action)
{
	if (!ctx->record)
		return;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(registry); i++)
		if (registry[i]->verdict != NULL && de->state[i] != NULL)
			registry[i]->verdict(de->state[i], ctx, r, action);
}

void
detect_run(struct detect_engine *de, const struct scan_ctx *ctx, struct scan_result *r)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(registry); i++) {
		if (ctx->deadline_ms > 0 && util_mono_ms() > ctx->deadline_ms) {
			result_add(r, "SCAN_TIMEOUT", "no time left for %s and later checks",
			    registry[i]->name);
			return;
		}
		registry[i]->scan(de->state[i], ctx, r);
	}
}

/* ---- the scan result ---- */

void
scan_result_init(struct scan_result *r, const struct scores *scores)
{
	memset(r, 0, sizeof(*r));
	r->scores = scores;
}

void
scan_result_clear(struct scan_result *r)
{
	for (size_t i = 0; i < r->nsyms; i++)
		free(r->syms[i].reason);
	free(r->syms);
	for (size_t i = 0; i < r->nauth; i++)
		free(r->auth[i]);
	free(r->auth);
	free(r->bad_parts);
	memset(r, 0, sizeof(*r));
}

int
result_has(const struct scan_result *r, const char *name)
{
	for (size_t i = 0; i < r->nsyms; i++)
		if (strcmp(r->syms[i].name, name) == 0)
			return 1;
	return 0;
}

void
result_mark_part(struct scan_result *r, int part)
{
	for (size_t i = 0; i < r->nbad_parts; i++)
		if (r->bad_parts[i] == part)
			return;
	r->bad_parts = xrealloc(r->bad_parts, (r->nbad_parts + 1) * sizeof(*r->bad_parts));
	r->bad_parts[r->nbad_parts++] = part;
}

/* Reasons are one line: control characters become spaces. */
static char *
one_line(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		panic("out of memory");
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	return s;
}

static void
add(struct scan_result *r, const char *name, double score, char *reason)
{
	const struct score_entry *e = score_find(r->scores, name);

	if (e == NULL)
		panic("detect: symbol %s was never declared", name);
	if (result_has(r, name)) {
		free(reason);
		return;
	}
	if (r->nsyms == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->syms = xrealloc(r->syms, r->cap * sizeof(*r->syms));
	}
	r->syms[r->nsyms].name = e->name;
	r->syms[r->nsyms].score = score;
	r->syms[r->nsyms].reason = reason;
	r->nsyms++;
	r->score += score;
}

void
result_add(struct scan_result *r, const char *name, const char *fmt, ...)
{
	const struct score_entry *e = score_find(r->scores, name);
	va_list ap;
	char *reason;

	if (e == NULL)
		panic("detect: symbol %s was never declared", name);
	va_start(ap, fmt);
	reason = one_line(fmt, ap);
	va_end(ap);
	add(r, name, e->score, reason);
}

void
result_add_scored(struct scan_result *r, const char *name, double score, const char *fmt, ...)
{
	const struct score_entry *e = score_find(r->scores, name);
	va_list ap;
	char *reason;

	if (e == NULL)
		panic("detect: symbol %s was never declared", name);
	va_start(ap, fmt);
	reason = one_line(fmt, ap);
	va_end(ap);
	/* a configured score scales a graded one; the default is 1.0 */
	add(r, name, score * e->score, reason);
}

void
result_add_auth(struct scan_result *r, const char *fmt, ...)
{
	va_list ap;

	r->auth = xrealloc(r->auth, (r->nauth + 1) * sizeof(*r->auth));
	va_start(ap, fmt);
	r->auth[r->nauth++] = one_line(fmt, ap);
	va_end(ap);
}
