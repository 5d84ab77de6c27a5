/*
 * detect_bayes.c - the learning spam classifier as a detector.
 *
 * Symbols (graded: the configured score.NAME, default 1.0, multiplies):
 *   BAYES_SPAM    spam probability >= bayes_spam_threshold: +5 .. +8
 *   BAYES_HAM     spam probability <= bayes_ham_threshold:  -0.5 .. -4
 *   BAYES_UNSURE  in between, or fewer than bayes_min_learned messages of
 *                 a kind learned yet: 0, the reason says which
 *
 * The probability is the calibrated one (classifier.h: Platt scaling of
 * the margin), and the grade follows its log-odds L, not the probability:
 * evidence adds up in log-odds, and a probability flattens out near 1,
 * where a grade linear in it would spend most of its range between 0.99
 * and 0.999.  BAYES_SPAM is 5 + (L - Lt) points, Lt the log-odds of
 * bayes_spam_threshold (one point per unit of log-odds), at most 8: the
 * classifier's own verdict reaches the default tag score (5) alone, and
 * it never quarantines alone (10); with inbound_tag_score changed, scale
 * score.BAYES_SPAM with it.  Below the threshold it adds nothing
 * (BAYES_UNSURE), so the other checks decide there.  BAYES_HAM is -(0.5 +
 * (Lh - L) / 2), at most -4: half the slope, so that it takes strong ham
 * evidence to cancel a phishing check.
 *
 * Why the classifier may tag alone: learned in a shuffled order (sekisho
 * learn does that, cmd_learn.c), 2 of the trained phishing bench's 2,864
 * unseen ham reach p 0.9 and 1,350 of its 1,355 phishing do; on the
 * SpamAssassin test list 1 ham of 1,245 and 550 of 569 spam
 * (bench/accuracy/README.md).  Until then it tagged alone only from
 * p 0.9988, which missed a fifth of that spam: a model that had learned
 * every phishing message last leant so far towards spam that 277 of
 * 1,619 modern ham reached p 0.9.
 * No symbol at all while no model has been learned (sekisho learn).
 *
 * Options: bayes_enable, bayes_spam_threshold, bayes_ham_threshold,
 * bayes_min_learned, bayes_reload_interval, bayes_autolearn,
 * bayes_autolearn_spam_score, bayes_autolearn_ham_score.
 *
 * The model is read from the store (state_dir/sekisho.db) at start and
 * again whenever its version changed (checked every bayes_reload_interval),
 * so "sekisho learn" beside a running daemon takes effect without a
 * restart.  Scans score under a read lock; a reload swaps the model under
 * the write lock.
 *
 * Autolearn, and why it cannot feed on itself: a message is learned only
 * when the checks *before* this one (the registry runs BAYES last) are very
 * confident on their own -- a score of at least bayes_autolearn_spam_score
 * (spam) or at most bayes_autolearn_ham_score (ham), BAYES_* symbols not
 * counted since they do not exist yet -- and the classifier does not
 * confidently say the opposite.  So the classifier's output never decides
 * what it learns.  A message is learned at most once (its digest is
 * recorded, source "auto"), so rescanning a released or retried message
 * adds nothing; inbound mail only; never after SCAN_TIMEOUT or SCAN_ERROR.
 * Autolearned messages are kept in memory and written, records and model in
 * one transaction, at most every AUTOLEARN_FLUSH_MS (or AUTOLEARN_BATCH
 * messages), since each write of the model is its whole table.  A crash
 * loses the unwritten ones, never the consistency between the model and its
 * records.  A user's "learn --forget"/relabel of an autolearned message
 * works like any other.
 */
#include "detect/detect.h"
#include "detect/learn.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTOLEARN_FLUSH_MS	60000
#define AUTOLEARN_BATCH		200
#define BAYES_SPAM_BASE		5.0	/* at bayes_spam_threshold: the default tag score */
#define BAYES_SPAM_MAX		8.0	/* under the quarantine score: never alone */
#define BAYES_SPAM_SLOPE	1.0	/* points per unit of log-odds */
#define BAYES_HAM_MAX		4.0
#define BAYES_HAM_SLOPE		0.5

static const struct symbol_def bayes_symbols[] = {
	{ "BAYES_SPAM", 1.0, "the learning classifier says spam (graded, +5 to +8)" },
	{ "BAYES_HAM", 1.0, "the learning classifier says not spam (graded, -0.5 to -4)" },
	{ "BAYES_UNSURE", 1.0, "the learning classifier cannot tell, or has learned too little" },
	{ NULL, 0, NULL },
};

struct pending {
	char digest[LEARN_DIGEST_HEX];
	int spam;
	struct clf_change ch;
	struct tok_features f;
};

struct bayes {
	const struct config *cfg;
	char *dbpath;
	pthread_rwlock_t lock;		/* guards l (the pointer and the model) */
	struct learner *l;		/* NULL while no model exists */
	pthread_mutex_t slock;		/* guards st, pending, next_check */
	struct store *st;
	int64_t next_check_ms;
	int64_t last_flush_ms;
	struct pending *pending;
	size_t npending;
};

/* The log-odds of a probability in (0, 1). */
static double
logit(double p)
{
	return log(p / (1.0 - p));
}

static int
open_store(struct bayes *b)
{
	char err[256];
	struct stat sb;

	if (b->st != NULL)
		return 0;
	/* No store yet (a fresh state_dir, "sekisho scan" on a new machine):
	 * nothing learned, nothing to say; look again at the next check. */
	if (stat(b->dbpath, &sb) < 0)
		return -1;
	b->st = store_open(b->dbpath, err, sizeof(err));
	if (b->st == NULL) {
		log_warn("bayes: %s", err);
		return -1;
	}
	return 0;
}

/*
 * Write the pending autolearns with the model, in one transaction.  When
 * sekisho learn changed the model meanwhile, the stored one is loaded and
 * the pending changes replayed on it.  Called with slock held.
 */
static void
flush_pending(struct bayes *b)
{
	struct learner *cur, *fresh = NULL;
	int64_t version = 0;
	char err[256];
	int ok = 0, rc;

	b->last_flush_ms = util_mono_ms();
	if (b->npending == 0 || open_store(b) < 0)
		goto done;
	if (store_begin(b->st) < 0)
		goto done;
	pthread_rwlock_wrlock(&b->lock);
	cur = b->l;
	rc = store_model_version(b->st, LEARN_MODEL, &version);
	if (rc < 0 || cur == NULL)
		goto unlock;
	if (rc == 1 || version != cur->version) {
		if (learner_open(b->st, LEARN_MODEL, 0, 0, &fresh, err, sizeof(err)) != 0)
			goto unlock;
		for (size_t i = 0; i < b->npending; i++)
			classifier_replay(fresh->clf, &b->pending[i].f, b->pending[i].spam,
			    &b->pending[i].ch);
		fresh->dirty = 1;
		cur = fresh;
	}
	cur->st = b->st;
	for (size_t i = 0; i < b->npending; i++) {
		struct store_learned rec = {
			.spam = b->pending[i].spam,
			.step = b->pending[i].ch.step,
			.bias_step = b->pending[i].ch.bias_step,
			.fsum = b->pending[i].ch.fsum,
			.learned_ms = util_now_ms(),
		};

		util_strlcpy(rec.source, "auto", sizeof(rec.source));
		if (store_learned_put(b->st, LEARN_MODEL, b->pending[i].digest, &rec) < 0)
			goto unlock;
	}
	cur->dirty = 1;
	if (learner_save(cur) < 0 || store_commit(b->st) < 0)
		goto unlock;
	ok = 1;
	if (fresh != NULL) {
		learner_free(b->l);
		b->l = fresh;
		fresh = NULL;
	}
unlock:
	pthread_rwlock_unlock(&b->lock);
	if (!ok) {
		log_warn("bayes: autolearn not saved: %s", store_errmsg(b->st));
		store_rollback(b->st);
	}
	learner_free(fresh);
done:
	/* Unsaved changes must not stay in memory: reload at the next check. */
	if (!ok && b->npending > 0) {
		pthread_rwlock_wrlock(&b->lock);
		if (b->l != NULL)
			b->l->version = -1;
		pthread_rwlock_unlock(&b->lock);
		b->next_check_ms = 0;
	}
	for (size_t i = 0; i < b->npending; i++)
		tok_features_clear(&b->pending[i].f);
	b->npending = 0;
}

/* Load the model when the store has a newer one.  Called with slock held. */
static void
maybe_reload(struct bayes *b)
{
	struct learner *l = NULL;
	int64_t version;
	char err[256];
	int rc;

	b->next_check_ms = util_mono_ms() + b->cfg->bayes_reload_interval * 1000;
	if (b->npending > 0)
		flush_pending(b);
	if (open_store(b) < 0)
		return;
	rc = store_model_version(b->st, LEARN_MODEL, &version);
	if (rc != 0)
		return;
	pthread_rwlock_rdlock(&b->lock);
	rc = b->l != NULL && b->l->version == version;
	pthread_rwlock_unlock(&b->lock);
	if (rc)
		return;
	if (learner_open(b->st, LEARN_MODEL, 0, 0, &l, err, sizeof(err)) != 0) {
		log_warn("bayes: cannot load the model: %s", err);
		return;
	}
	pthread_rwlock_wrlock(&b->lock);
	learner_free(b->l);
	b->l = l;
	pthread_rwlock_unlock(&b->lock);
	log_info("bayes: model version %lld loaded (%lld spam, %lld ham)",
	    (long long)version, (long long)l->clf->nspam, (long long)l->clf->nham);
}

static int
bayes_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	struct bayes *b;

	(void)err;
	(void)errlen;
	if (!cfg->bayes_enable) {
		*state = NULL;
		return 0;
	}
	b = xcalloc(1, sizeof(*b));
	b->cfg = cfg;
	b->dbpath = config_state_path(cfg, "sekisho.db");
	pthread_rwlock_init(&b->lock, NULL);
	pthread_mutex_init(&b->slock, NULL);
	b->last_flush_ms = util_mono_ms();
	pthread_mutex_lock(&b->slock);
	maybe_reload(b);
	pthread_mutex_unlock(&b->slock);
	*state = b;
	return 0;
}

static void
bayes_free(void *state)
{
	struct bayes *b = state;

	if (b == NULL)
		return;
	pthread_mutex_lock(&b->slock);
	flush_pending(b);
	pthread_mutex_unlock(&b->slock);
	learner_free(b->l);
	store_close(b->st);
	free(b->pending);
	free(b->dbpath);
	pthread_mutex_destroy(&b->slock);
	pthread_rwlock_destroy(&b->lock);
	free(b);
}

/* Keep an autolearn for the next flush.  Called with slock held and the
 * model's write lock held. */
static void
autolearn(struct bayes *b, struct learner *l, const struct scan_ctx *ctx,
    struct tok_features *f, int spam)
{
	char digest[LEARN_DIGEST_HEX];
	struct store_learned old;
	struct pending *p;

	learn_digest(ctx->msg->raw, ctx->msg->rawlen, digest);
	for (size_t i = 0; i < b->npending; i++)
		if (strcmp(b->pending[i].digest, digest) == 0)
			return;
	if (open_store(b) < 0 || store_learned_get(b->st, LEARN_MODEL, digest, &old) != 1)
		return;		/* learned before (by anyone), or no store: leave it */
	b->pending = xrealloc(b->pending, (b->npending + 1) * sizeof(*b->pending));
	p = &b->pending[b->npending++];
	memset(p, 0, sizeof(*p));
	memcpy(p->digest, digest, sizeof(p->digest));
	p->spam = spam;
	classifier_learn(l->clf, f, spam, &p->ch);
	l->dirty = 1;
	p->f = *f;		/* the pending entry takes the features */
	memset(f, 0, sizeof(*f));
}

static void
bayes_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	struct bayes *b = state;
	struct tok_features f = { 0 };
	const struct config *cfg;
	double others, margin, lo, p, s;
	int64_t nspam, nham, now;
	int learn = -1;

	if (b == NULL || ctx->msg == NULL)
		return;
	cfg = b->cfg;
	/* The other checks' verdict, before ours is added: autolearn's only trigger. */
	others = r->score;
	now = util_mono_ms();
	if ((now >= b->next_check_ms || now - b->last_flush_ms >= AUTOLEARN_FLUSH_MS) &&
	    pthread_mutex_trylock(&b->slock) == 0) {
		if (now >= b->next_check_ms)
			maybe_reload(b);
		else if (b->npending > 0)
			flush_pending(b);
		pthread_mutex_unlock(&b->slock);
	}

	pthread_rwlock_rdlock(&b->lock);
	if (b->l == NULL) {
		pthread_rwlock_unlock(&b->lock);
		return;
	}
	nspam = b->l->clf->nspam;
	nham = b->l->clf->nham;
	tokenize_message(b->l->tk, ctx->msg, &f);
	margin = classifier_margin(b->l->clf, &f);
	lo = classifier_logodds(b->l->clf, margin);
	pthread_rwlock_unlock(&b->lock);
	p = classifier_prob(lo);

	if (nspam < cfg->bayes_min_learned || nham < cfg->bayes_min_learned) {
		result_add_scored(r, "BAYES_UNSURE", 0.0,
		    "still learning: %lld spam and %lld ham learned, %lld of each needed",
		    (long long)nspam, (long long)nham, (long long)cfg->bayes_min_learned);
	} else if (p >= cfg->bayes_spam_threshold) {
		s = BAYES_SPAM_BASE + BAYES_SPAM_SLOPE * (lo - logit(cfg->bayes_spam_threshold));
		result_add_scored(r, "BAYES_SPAM", s < BAYES_SPAM_BASE ? BAYES_SPAM_BASE :
		    s > BAYES_SPAM_MAX ? BAYES_SPAM_MAX : s, "spam probability %.4f (margin %.2f)",
		    p, margin);
	} else if (p <= cfg->bayes_ham_threshold) {
		s = 0.5 + BAYES_HAM_SLOPE * (logit(cfg->bayes_ham_threshold) - lo);
		result_add_scored(r, "BAYES_HAM", s < 0.5 ? -0.5 : s > BAYES_HAM_MAX ?
		    -BAYES_HAM_MAX : -s, "spam probability %.4f (margin %.2f)", p, margin);
	} else {
		result_add_scored(r, "BAYES_UNSURE", 0.0, "spam probability %.4f (margin %.2f)",
		    p, margin);
	}

	if (cfg->bayes_autolearn && ctx->record && !ctx->outbound && ctx->msg->raw != NULL &&
	    !result_has(r, "SCAN_TIMEOUT") && !result_has(r, "SCAN_ERROR")) {
		if (others >= cfg->bayes_autolearn_spam_score && p > cfg->bayes_ham_threshold)
			learn = 1;
		else if (others <= cfg->bayes_autolearn_ham_score &&
		    p < cfg->bayes_spam_threshold)
			learn = 0;
	}
	if (learn >= 0) {
		pthread_mutex_lock(&b->slock);
		pthread_rwlock_wrlock(&b->lock);
		if (b->l != NULL)
			autolearn(b, b->l, ctx, &f, learn);
		pthread_rwlock_unlock(&b->lock);
		if (b->npending >= AUTOLEARN_BATCH)
			flush_pending(b);
		pthread_mutex_unlock(&b->slock);
	}
	tok_features_clear(&f);
}

const struct detector detect_bayes = {
	.name = "bayes",
	.symbols = bayes_symbols,
	.init = bayes_init,
	.scan = bayes_scan,
	.free = bayes_free,
};
