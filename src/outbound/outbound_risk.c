/*
 * outbound_risk.c - the risk of an outbound message and the hold decision.
 *
 * approval_rules gives symbols weights ("OUT_EXTERNAL_ATTACHMENT:4
 * DLP_MYNUMBER:10 OUT_MANY_EXTERNAL:3"); the risk is the sum over the
 * symbols the detectors found.  Symbols are matched by name, so rules can
 * name checks of any detector, and a symbol no detector knows simply never
 * counts.  Then, first match wins:
 *
 *   risk >= approval_threshold (> 0)   approval by the sender's approvers
 *   risk >= confirm_threshold (> 0)    the sender confirms on their own
 *   a recipient outside and the
 *   sender's hold time > 0             timed hold with recall
 *   otherwise                          send
 *
 * "Outside" is decided after expanding lists of the directory: a list
 * address in our domain whose members are outside counts as outside.
 * The directory is read through one connection under a mutex (assess runs
 * on every scan worker); it is opened on first use by a recording scan,
 * never by `sekisho scan`.
 */
#include "detect/detect_outbound.h"
#include "outbound/attach_link.h"
#include "outbound/outbound.h"
#include "util/log.h"
#include "util/util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct outbound_rules {
	const struct config *cfg;
	pthread_mutex_t lock;
	struct store *st;
	int open_failed;
};

/* Parse "NAME:weight" (also "NAME=weight"): 0, or -1. */
static int
rule_parse(const char *s, size_t *namelen, double *weight)
{
	const char *sep = strpbrk(s, ":=");
	char *end;

	if (sep == NULL || sep == s)
		return -1;
	*weight = strtod(sep + 1, &end);
	if (end == sep + 1 || *end != '\0' || !isfinite(*weight))
		return -1;
	*namelen = (size_t)(sep - s);
	return 0;
}

int
outbound_rules_check(const struct config *cfg, char *err, size_t errlen)
{
	size_t nl;
	double w;

	for (char **s = cfg->approval_rules; s && *s; s++)
		if (rule_parse(*s, &nl, &w) < 0) {
			snprintf(err, errlen, "approval_rules: '%s' is not SYMBOL:weight", *s);
			return -1;
		}
	return 0;
}

double
outbound_risk(const struct config *cfg, const char *const *names, size_t n, char *why,
    size_t whylen)
{
	double risk = 0;
	size_t used = 0;

	if (why && whylen)
		why[0] = '\0';
	for (char **s = cfg->approval_rules; s && *s; s++) {
		size_t nl;
		double w;
		if (rule_parse(*s, &nl, &w) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (strlen(names[i]) != nl || strncmp(names[i], *s, nl) != 0)
				continue;
			risk += w;
			if (why && used < whylen) {
				int k = snprintf(why + used, whylen - used, "%s%s(%g)",
				    used ? " " : "", names[i], w);
				used += k > 0 ? (size_t)k : 0;
			}
			break;
		}
	}
	return risk;
}

struct outbound_rules *
outbound_rules_new(const struct config *cfg, char *err, size_t errlen)
{
	struct outbound_rules *r;

	if (outbound_rules_check(cfg, err, errlen) < 0)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->cfg = cfg;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void
outbound_rules_free(struct outbound_rules *r)
{
	if (r == NULL)
		return;
	store_close(r->st);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* The directory connection, opened once (called with the lock held). */
static struct store *
rules_store(struct outbound_rules *r)
{
	char err[256];
	char *db;

	if (r->st != NULL || r->open_failed)
		return r->st;
	db = config_state_path(r->cfg, "sekisho.db");
	r->st = store_open(db, err, sizeof(err));
	free(db);
	if (r->st == NULL) {
		log_err("outbound: cannot open the directory: %s; local_domains only", err);
		r->open_failed = 1;
	}
	return r->st;
}

void
outbound_assess(struct outbound_rules *rules, const struct scan_ctx *ctx,
    const struct scan_result *r, struct pipeline_hold *a)
{
	const struct config *cfg = rules->cfg;
	const struct envelope *env = ctx->env;
	const char **names = xcalloc(r->nsyms + 1, sizeof(*names));
	struct outbound_person person;
	struct store *st = NULL;

	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < r->nsyms; i++)
		names[i] = r->syms[i].name;
	a->risk = outbound_risk(cfg, names, r->nsyms, NULL, 0);
	free(names);

	memset(&person, 0, sizeof(person));
	pthread_mutex_lock(&rules->lock);
	if (ctx->record)
		st = rules_store(rules);
	for (size_t i = 0; i < env->nrcpt && !a->external; i++)
		a->external = outbound_is_external(st, cfg, env->rcpt[i].addr);
	if (outbound_person_get(st, cfg, env->mail_from, &person) < 0)
		person.hold_ms = cfg->hold_time * 1000;
	pthread_mutex_unlock(&rules->lock);

	if (cfg->approval_threshold > 0 && a->risk >= cfg->approval_threshold)
		a->kind = "approval";
	else if (cfg->confirm_threshold > 0 && a->risk >= cfg->confirm_threshold)
		a->kind = "confirm";
	else if (a->external && person.hold_ms > 0) {
		a->kind = "hold";
		a->hold_ms = person.hold_ms;
	}
	outbound_person_clear(&person);
}

/* The recipient checks' internal hook: a list of ours is internal when no
 * member is outside; anything else is left to the domains. */
static int
directory_internal(const char *addr, void *arg)
{
	struct outbound_rules *r = arg;
	int ext;

	pthread_mutex_lock(&r->lock);
	ext = outbound_list_external(rules_store(r), r->cfg, addr);
	pthread_mutex_unlock(&r->lock);
	return ext < 0 ? -1 : !ext;
}

void
outbound_directory_hook(struct outbound_rules *rules)
{
	outbound_set_internal_hook(rules ? directory_internal : NULL, rules);
}

/* ---- the pipeline's view (pipeline.h) ---- */

static void *
hold_open(const struct config *cfg, char *err, size_t errlen)
{
	return outbound_rules_new(cfg, err, errlen);
}

static void
hold_close(void *state)
{
	outbound_rules_free(state);
}

static void
hold_assess(void *state, const struct scan_ctx *ctx, const struct scan_result *r,
    struct pipeline_hold *h)
{
	outbound_assess(state, ctx, r, h);
}

static void *
protect_open(const struct config *cfg)
{
	return attach_protect_new(cfg);
}

static void
protect_close(void *state)
{
	attach_protect_free(state);
}

static int
protect_apply(void *state, const struct envelope *env, const char *raw, size_t rawlen,
    struct verdict *v)
{
	return attach_protect_apply(state, env, raw, rawlen, v);
}

static const struct pipeline_ops ops = {
	.hold_open = hold_open,
	.hold_close = hold_close,
	.hold_assess = hold_assess,
	.protect_open = protect_open,
	.protect_close = protect_close,
	.protect_apply = protect_apply,
};

const struct pipeline_ops *
outbound_pipeline_ops(void)
{
	return &ops;
}
