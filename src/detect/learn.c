/*
 * learn.c - learn and forget messages through the store (see learn.h).
 *
 * Order of writes: the in-memory model changes first, then the learned
 * record is written; if that write fails the in-memory change is undone,
 * so the model never holds a change the store has no record of.  The model
 * itself reaches the store at learner_save(), normally in the same
 * transaction as the records (sekisho learn commits both together).
 */
#include "detect/learn.h"
#include "store/store.h"
#include "util/util.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
learn_skip_from_line(const char *raw, size_t len)
{
	const char *nl;

	if (len < 5 || memcmp(raw, "From ", 5) != 0)
		return 0;
	nl = memchr(raw, '\n', len);
	return nl != NULL ? (size_t)(nl - raw) + 1 : len;
}

void
learn_digest(const char *raw, size_t len, char hex[LEARN_DIGEST_HEX])
{
	unsigned char h[32];
	size_t off = learn_skip_from_line(raw, len);

	crypto_generichash(h, sizeof(h), (const unsigned char *)raw + off, len - off, NULL, 0);
	sodium_bin2hex(hex, LEARN_DIGEST_HEX, h, sizeof(h));
}

int
learner_open(struct store *st, const char *name, int create, unsigned bits,
    struct learner **learnerp, char *err, size_t errlen)
{
	struct store_model m;
	struct learner *l;
	int rc;

	*learnerp = NULL;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to start");
		return -1;
	}
	rc = store_model_get(st, name, &m);
	if (rc < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return -1;
	}
	if (rc == 1 && !create)
		return 1;
	l = xcalloc(1, sizeof(*l));
	l->st = st;
	l->name = xstrdup(name);
	if (rc == 0) {
		l->clf = classifier_load(m.data, m.len, err, errlen);
		l->version = m.version;
		store_model_clear(&m);
	} else {
		l->clf = classifier_new(bits);
		if (l->clf == NULL)
			snprintf(err, errlen, "classifier: table bits %u not in 16..28", bits);
		l->dirty = 1;
	}
	if (l->clf == NULL)
		goto fail;
	l->tk = tokenizer_new(l->clf->key, l->clf->bits, err, errlen);
	if (l->tk == NULL)
		goto fail;
	*learnerp = l;
	return 0;
fail:
	learner_free(l);
	return -1;
}

void
learner_free(struct learner *l)
{
	if (l == NULL)
		return;
	tok_features_clear(&l->f);
	tokenizer_free(l->tk);
	classifier_free(l->clf);
	free(l->name);
	free(l);
}

double
learner_margin(struct learner *l, const struct message *msg)
{
	tokenize_message(l->tk, msg, &l->f);
	return classifier_margin(l->clf, &l->f);
}

const char *const learn_verdict_fields[] = {
	"X-Sekisho-Result", "X-Sekisho-Score", "X-Sekisho-Symbols", NULL,
};

/* s starts with the tag (both without their leading and trailing blanks). */
static int
has_tag(const char *s, const char *tag)
{
	size_t n;

	while (*tag == ' ' || *tag == '\t')
		tag++;
	n = strlen(tag);
	while (n > 0 && (tag[n - 1] == ' ' || tag[n - 1] == '\t'))
		n--;
	while (*s == ' ' || *s == '\t')
		s++;
	return n > 0 && strncmp(s, tag, n) == 0;
}

/* msg carries something sekisho added on delivery. */
static int
delivered_copy(const struct message *msg, const char *tag_prefix, const char *authserv_id)
{
	size_t idlen = strlen(authserv_id);

	if (msg->subject != NULL && tag_prefix != NULL && has_tag(msg->subject, tag_prefix))
		return 1;
	for (size_t i = 0; i < msg->nheaders; i++) {
		const char *name = msg->headers[i].name, *v = msg->headers[i].raw;

		for (size_t k = 0; learn_verdict_fields[k] != NULL; k++)
			if (util_strcasecmp(name, learn_verdict_fields[k]) == 0)
				return 1;
		if (util_strcasecmp(name, "Authentication-Results") == 0 && v != NULL) {
			while (*v == ' ' || *v == '\t')
				v++;
			if (idlen > 0 && util_strncasecmp(v, authserv_id, idlen) == 0)
				return 1;
		}
	}
	return 0;
}

char *
learn_scanned_copy(const struct message *msg, const char *tag_prefix,
    const char *authserv_id, size_t *len)
{
	const char *remove[UTIL_ARRAY_LEN(learn_verdict_fields) + 1];
	struct message_rewrite rw = { .subject_unprefix = tag_prefix };
	char *ar, *out;
	size_t n = 0;

	*len = 0;
	if (msg == NULL || !delivered_copy(msg, tag_prefix, authserv_id))
		return NULL;
	ar = xasprintf("Authentication-Results:%s", authserv_id);
	for (; learn_verdict_fields[n] != NULL; n++)
		remove[n] = learn_verdict_fields[n];
	remove[n++] = ar;
	remove[n] = NULL;
	rw.remove = remove;
	out = message_rewrite(msg, &rw, len);
	free(ar);
	return out;
}

struct explain_walk {
	const struct classifier *clf;
	const struct tok_features *f;
	uint8_t *claimed;	/* per bucket of f: already given to a feature */
	double scale;		/* 1 / (sqrt |f| * CLF_SCALE) */
	struct learn_explain *ex;
};

static int
idx_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Insert c into the list of n (at most LEARN_EXPLAIN_TOP) kept by |share|. */
static void
top_insert(struct learn_contrib *list, size_t *n, const struct learn_contrib *c)
{
	size_t i = *n;

	if (i == LEARN_EXPLAIN_TOP) {
		if (fabs(list[i - 1].share) >= fabs(c->share))
			return;
		i--;
	} else {
		(*n)++;
	}
	for (; i > 0 && fabs(list[i - 1].share) < fabs(c->share); i--)
		list[i] = list[i - 1];
	list[i] = *c;
}

static void
explain_feature(void *arg, const char *name, size_t len, const uint32_t *b, size_t nb)
{
	struct explain_walk *w = arg;
	struct learn_contrib c;
	int64_t sum = 0;

	w->ex->nfeatures++;
	for (size_t i = 0; i < nb; i++) {
		const uint32_t *p = bsearch(&b[i], w->f->idx, w->f->n, sizeof(*w->f->idx), idx_cmp);

		if (p == NULL || w->claimed[p - w->f->idx])
			continue;
		w->claimed[p - w->f->idx] = 1;
		sum += w->clf->w[*p];
	}
	if (sum == 0)
		return;
	c.share = (double)sum * w->scale;
	util_printable(c.feature, sizeof(c.feature), name, len);
	w->ex->rest += c.share;
	if (c.share > 0)
		top_insert(w->ex->spam, &w->ex->nspam, &c);
	else
		top_insert(w->ex->ham, &w->ex->nham, &c);
}

void
learner_explain(struct learner *l, const struct message *msg, struct learn_explain *ex)
{
	struct explain_walk w;

	memset(ex, 0, sizeof(*ex));
	tokenize_message(l->tk, msg, &l->f);
	ex->margin = classifier_margin(l->clf, &l->f);
	ex->bias = (double)l->clf->bias / CLF_SCALE;
	ex->nbuckets = l->f.n;
	w.clf = l->clf;
	w.f = &l->f;
	w.claimed = xcalloc(l->f.n + 1, 1);
	w.scale = 1.0 / ((l->f.n > 0 ? sqrt((double)l->f.n) : 1.0) * CLF_SCALE);
	w.ex = ex;
	tokenize_message_explain(l->tk, msg, explain_feature, &w);
	free(w.claimed);
	for (size_t i = 0; i < ex->nspam; i++)
		ex->rest -= ex->spam[i].share;
	for (size_t i = 0; i < ex->nham; i++)
		ex->rest -= ex->ham[i].share;
}

/* Undo the learn recorded in *rec, whose features are in l->f. */
static void
undo(struct learner *l, const struct store_learned *rec)
{
	struct clf_change ch = {
		.step = (int32_t)rec->step,
		.bias_step = (int32_t)rec->bias_step,
		.fsum = rec->fsum,
	};

	classifier_unlearn(l->clf, &l->f, rec->spam, &ch);
	l->dirty = 1;
}

enum learn_outcome
learner_learn(struct learner *l, const struct message *msg, const char *raw,
    size_t len, int spam, const char *source)
{
	char digest[LEARN_DIGEST_HEX];
	struct store_learned old, rec;
	struct clf_change ch;
	int had;

	learn_digest(raw, len, digest);
	had = store_learned_get(l->st, l->name, digest, &old);
	if (had < 0)
		return LEARN_FAILED;
	if (had == 0 && (old.spam != 0) == (spam != 0))
		return LEARN_ALREADY;
	tokenize_message(l->tk, msg, &l->f);
	if (had == 0)
		undo(l, &old);
	classifier_learn(l->clf, &l->f, spam, &ch);
	memset(&rec, 0, sizeof(rec));
	rec.spam = spam != 0;
	rec.step = ch.step;
	rec.bias_step = ch.bias_step;
	rec.fsum = ch.fsum;
	util_strlcpy(rec.source, source, sizeof(rec.source));
	rec.learned_ms = util_now_ms();
	if (store_learned_put(l->st, l->name, digest, &rec) < 0) {
		/* keep memory and store in step: take the change out again */
		classifier_unlearn(l->clf, &l->f, spam, &ch);
		if (had == 0) {
			struct clf_change back = { (int32_t)old.step, (int32_t)old.bias_step, old.fsum };
			classifier_replay(l->clf, &l->f, old.spam, &back);
		}
		return LEARN_FAILED;
	}
	l->dirty = 1;
	return had == 0 ? LEARN_RELABELLED : LEARN_LEARNED;
}

enum learn_outcome
learner_refine(struct learner *l, const struct message *msg, const char *raw, size_t len)
{
	char digest[LEARN_DIGEST_HEX];
	struct store_learned rec;
	struct clf_change ch;
	int rc, had;

	learn_digest(raw, len, digest);
	rc = store_learned_get(l->st, l->name, digest, &rec);
	if (rc != 0)
		return rc < 0 ? LEARN_FAILED : LEARN_UNKNOWN;
	had = rec.step != 0 || rec.bias_step != 0;
	tokenize_message(l->tk, msg, &l->f);
	if (classifier_learn(l->clf, &l->f, rec.spam, &ch) == 0) {
		classifier_uncount(l->clf, rec.spam, 0);
		return LEARN_LEARNED;
	}
	/* one message, one update in the count, however many passes */
	classifier_uncount(l->clf, rec.spam, had);
	rec.step += ch.step;
	rec.bias_step += ch.bias_step;
	if (store_learned_put(l->st, l->name, digest, &rec) < 0) {
		struct clf_change back = ch;

		back.step = -ch.step;
		back.bias_step = -ch.bias_step;
		classifier_replay(l->clf, &l->f, rec.spam, &back);
		classifier_uncount(l->clf, rec.spam, 1);
		if (!had)
			classifier_uncount(l->clf, -1, 1);
		return LEARN_FAILED;
	}
	l->dirty = 1;
	return LEARN_LEARNED;
}

enum learn_outcome
learner_forget(struct learner *l, const struct message *msg, const char *raw, size_t len)
{
	char digest[LEARN_DIGEST_HEX];
	struct store_learned old;
	int rc;

	learn_digest(raw, len, digest);
	rc = store_learned_get(l->st, l->name, digest, &old);
	if (rc < 0)
		return LEARN_FAILED;
	if (rc == 1)
		return LEARN_UNKNOWN;
	tokenize_message(l->tk, msg, &l->f);
	if (store_learned_delete(l->st, l->name, digest) < 0)
		return LEARN_FAILED;
	undo(l, &old);
	return classifier_fsum(&l->f) == old.fsum ? LEARN_FORGOTTEN : LEARN_FORGOTTEN_INEXACT;
}

int
learner_save(struct learner *l)
{
	void *blob;
	size_t len;
	int rc;

	if (!l->dirty)
		return 0;
	blob = classifier_save(l->clf, &len);
	rc = store_model_put(l->st, l->name, blob, len, &l->version);
	free(blob);
	if (rc == 0)
		l->dirty = 0;
	return rc;
}

const char *
learn_outcome_name(enum learn_outcome o)
{
	switch (o) {
	case LEARN_LEARNED: return "learned";
	case LEARN_RELABELLED: return "relabelled";
	case LEARN_ALREADY: return "already learned";
	case LEARN_FORGOTTEN: return "forgotten";
	case LEARN_FORGOTTEN_INEXACT: return "forgotten (features changed since it was learned)";
	case LEARN_UNKNOWN: return "never learned";
	case LEARN_FAILED: return "failed";
	}
	return "?";
}
