/*
 * fuzz_tokenize.c - libFuzzer harness for src/detect/tokenize.c and the
 * explanation of a score (learner_explain), the classifier's reading of
 * untrusted mail.
 *
 * Each input is parsed as a message (message_parse, default limits) and
 * tokenized, and checked: the bucket set is sorted, unique, inside the
 * table and within TOK_MAX_FEATURES x TOK_HEADER_WEIGHT; the explained
 * features number at most TOK_MAX_FEATURES, each "prefix:value" with one
 * or TOK_HEADER_WEIGHT buckets, and their buckets are exactly the set (what
 * --explain adds up).  Under a model with weights drawn from the bucket
 * number, the explained shares add up to the margin and every listed
 * feature is printable text.  The input is also cut into words as a text
 * (tokenize_words: any bytes, invalid UTF-8 included).  Any broken check
 * aborts so the fuzzer reports it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/classifier.h"
#include "detect/learn.h"
#include "detect/tokenize.h"
#include "message/message.h"
#include "fuzz.h"

#define BITS	16

struct walk {
	uint32_t *b;
	size_t nb, cap;
	size_t nfeatures;
};

static void
on_feature(void *arg, const char *name, size_t len, const uint32_t *b, size_t nb)
{
	struct walk *w = arg;
	const char *colon = memchr(name, ':', len);

	CHECK(len > 0 && colon != NULL && colon > name);
	CHECK(nb == 1 || nb == TOK_HEADER_WEIGHT);
	w->nfeatures++;
	if (w->nb + nb > w->cap) {
		w->cap = (w->nb + nb) * 2;
		w->b = realloc(w->b, w->cap * sizeof(*w->b));
		CHECK(w->b != NULL);
	}
	for (size_t i = 0; i < nb; i++) {
		CHECK(b[i] < (1u << BITS));
		w->b[w->nb++] = b[i];
	}
}

static void
on_word(void *arg, const char *word, size_t len)
{
	(void)arg;
	CHECK(len > 0 && strlen(word) == len);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
check_printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		CHECK(*p >= 0x20 && *p != 0x7f);
}

static struct learner *
model(void)
{
	static struct learner l;
	static int ready;
	char err[256];

	if (ready)
		return &l;
	memset(&l, 0, sizeof(l));
	l.clf = classifier_new(BITS);
	CHECK(l.clf != NULL);
	l.tk = tokenizer_new(l.clf->key, BITS, err, sizeof(err));
	if (l.tk == NULL) {
		fprintf(stderr, "fuzz_tokenize: %s\n", err);
		abort();
	}
	/* weights of both signs, some large, from the bucket number */
	for (uint32_t i = 0; i < (1u << BITS); i++)
		l.clf->w[i] = (int32_t)((i * 2654435761u) % 400001u) - 200000;
	l.clf->bias = -12345;
	ready = 1;
	return &l;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct learner *l = model();
	struct tok_features f = { 0 };
	struct walk w = { 0 };
	struct learn_explain ex;
	struct message *m;
	double sum;
	size_t n = 0;

	if (size > (1 << 20))
		return 0;
	m = message_parse((const char *)data, size, NULL);
	CHECK(m != NULL);

	tokenize_message(l->tk, m, &f);
	CHECK(f.n >= 1 && f.n <= (size_t)TOK_MAX_FEATURES * TOK_HEADER_WEIGHT);
	for (size_t i = 0; i < f.n; i++) {
		CHECK(f.idx[i] < (1u << BITS));
		CHECK(i == 0 || f.idx[i - 1] < f.idx[i]);
	}

	tokenize_message_explain(l->tk, m, on_feature, &w);
	CHECK(w.nfeatures <= TOK_MAX_FEATURES);
	if (w.nb > 0)
		qsort(w.b, w.nb, sizeof(*w.b), u32_cmp);
	for (size_t i = 0; i < w.nb; i++)
		if (n == 0 || w.b[n - 1] != w.b[i])
			w.b[n++] = w.b[i];
	CHECK(n == f.n && memcmp(w.b, f.idx, n * sizeof(*w.b)) == 0);

	learner_explain(l, m, &ex);
	CHECK(ex.margin == classifier_margin(l->clf, &f));
	CHECK(ex.nbuckets == f.n && ex.nfeatures == w.nfeatures);
	sum = ex.bias + ex.rest;
	for (size_t i = 0; i < ex.nspam; i++) {
		CHECK(ex.spam[i].share > 0);
		check_printable(ex.spam[i].feature);
		sum += ex.spam[i].share;
	}
	for (size_t i = 0; i < ex.nham; i++) {
		CHECK(ex.ham[i].share < 0);
		check_printable(ex.ham[i].feature);
		sum += ex.ham[i].share;
	}
	CHECK(fabs(sum - ex.margin) < 1e-6 * (1.0 + fabs(ex.margin)));

	(void)tokenize_words(l->tk, (const char *)data, size, on_word, NULL);

	free(w.b);
	tok_features_clear(&f);
	message_free(m);
	return 0;
}
