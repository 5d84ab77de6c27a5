/*
 * classifier.h - the learning spam model: online logistic regression over
 * hashed binary features (tokenize.h), trained on or near error.
 *
 * A message is a set of buckets x (binary, scaled by 1/sqrt|x|).  Its
 * margin is  m = bias + sum(w[i] for i in x) / sqrt|x|  and its spam
 * probability sigmoid(m).  Learning a message with label y (1 spam, 0 ham)
 * changes the model only when the message is misclassified or inside the
 * thick threshold (|m| < CLF_THICK on the right side): then every one of
 * its weights moves by the same step  rate * (y - p) / sqrt|x|,  and the
 * bias by a smaller one.  That is why one message's change is two numbers
 * (the step and the bias step): remembered per message, they let
 * classifier_unlearn() take exactly that change out again.  Weights are
 * fixed-point integers (Q16) so that adding and removing a step is exact
 * arithmetic, independent of the order of other updates.
 *
 * Why this model: on the TREC spam tracks online logistic regression and
 * relaxed online SVMs over binary features beat Bayes filters (Goodman &
 * Yih 2006; Sculley & Wachman 2007), learn one message at a time and give
 * usable margins after a few dozen messages.  bench/accuracy measures it
 * against bogofilter, SpamAssassin and Rspamd on the same split.
 *
 * Calibration.  The margin ranks mail well but is not a probability: the
 * thick threshold piles right answers up near +-CLF_THICK, whatever the
 * odds really are.  So the model carries a Platt scaling, p = sigmoid(A *
 * margin + B), fitted on margins of messages the model did not learn
 * (classifier_calibrate(); "sekisho learn --calibrate").  A new model starts
 * with CLF_CAL_A/CLF_CAL_B, fitted by 5-fold cross-validation on the
 * SpamAssassin training list (bench/accuracy/cv.sh): the margin's scale
 * comes from the training procedure (rate, thick threshold), not from the
 * site's mail, so they carry over -- to a model of about the size they
 * were fitted on (cal_n messages learned): a younger model is less sure
 * at the same margin, so its scaling moves from CLF_YOUNG_A to theirs
 * with n/cal_n (A' = A0 + (A - A0) n/cal_n, B' = B n/cal_n).  A0 puts
 * p = 0.9 at margin 3, beyond the thick threshold: a young model's margins
 * pile up at +-2.5 whatever the odds, and on the SpamAssassin test list
 * models of 100 and 200 messages put 9 and 11 of 1,245 ham beyond margin
 * 2.2 (p 0.9 raw) but none beyond 3 (bench/accuracy/README.md).  A
 * scaling fitted by classifier_calibrate() is the model's own (cal_n = its
 * size then).  bayes_spam_threshold and bayes_ham_threshold are read on
 * the calibrated probability.
 *
 * Not thread-safe: callers serialise learning and scoring of one model (the
 * detector scores under a read lock and learns under a write lock).
 */
#ifndef SEKISHO_CLASSIFIER_H
#define SEKISHO_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "detect/tokenize.h"

#define CLF_FORMAT		2	/* version of the serialised form (1: no calibration) */
#define CLF_DEFAULT_BITS	22	/* 4 Mi buckets, 16 MiB of weights */
#define CLF_SCALE		65536.0	/* weights are Q16 fixed point */
#define CLF_CAL_A		1.78	/* default Platt scaling (bench/accuracy/cv.sh) */
#define CLF_CAL_B		(-0.23)
#define CLF_CAL_N		3385	/* messages its models had learned */
#define CLF_YOUNG_A		0.7324	/* a model that learned nothing: logit(0.9) / 3 */

struct classifier {
	unsigned bits;
	uint8_t key[TOK_KEY_SIZE];	/* the tokenizer's hash key */
	int32_t *w;			/* 1 << bits weights */
	int64_t bias;			/* Q16 */
	int64_t nham, nspam;		/* messages learned, by label */
	int64_t nupdates;		/* of which changed the weights */
	double rate;			/* learning rate */
	double thick;			/* margin within which a right answer still trains */
	double cal_a, cal_b;		/* Platt scaling of the margin */
	double cal_n;			/* fitted on models of this many messages */
};

/* What one learn did, to undo it exactly. */
struct clf_change {
	int32_t step;			/* added to each weight of the message (Q16) */
	int32_t bias_step;		/* added to the bias (Q16) */
	uint64_t fsum;			/* checksum of the message's bucket set */
};

/* A new, empty model with a random key.  bits 16..28. */
struct classifier *classifier_new(unsigned bits);
void classifier_free(struct classifier *c);

/* The margin (log-odds of spam) of a feature set. */
double classifier_margin(const struct classifier *c, const struct tok_features *f);
double classifier_prob(double margin);
/* The calibrated log-odds A' * margin + B' (see above), and its probability. */
double classifier_logodds(const struct classifier *c, double margin);
double classifier_cal_prob(const struct classifier *c, double margin);
/*
 * Fit the Platt scaling on n (margin, label) pairs of messages the model
 * did not learn (Newton's method on the log loss, with Platt's smoothed
 * targets).  Returns 0 and sets c->cal_a/cal_b/cal_n; -1 (model unchanged) when
 * there are fewer than 10 of either label or the fit is not increasing.
 */
int classifier_calibrate(struct classifier *c, const double *margin, const int *spam,
    size_t n);

/*
 * Learn one message.  Returns 1 when the model changed (ch filled), 0 when
 * the message was already classified beyond the thick threshold (ch zero),
 * and counts it either way.
 */
int classifier_learn(struct classifier *c, const struct tok_features *f, int spam,
    struct clf_change *ch);
/* Take out exactly what classifier_learn() put in with ch. */
void classifier_unlearn(struct classifier *c, const struct tok_features *f, int spam,
    const struct clf_change *ch);
/* Put back a change that classifier_unlearn() took out (the inverse). */
void classifier_replay(struct classifier *c, const struct tok_features *f, int spam,
    const struct clf_change *ch);
/* Take back the counting of a learn (the message count of label spam, 1
 * or 0, none for -1; and the update count when update is set) without
 * touching the weights. */
void classifier_uncount(struct classifier *c, int spam, int update);
uint64_t classifier_fsum(const struct tok_features *f);

/* Serialised form (little-endian header + weights); caller frees. */
void *classifier_save(const struct classifier *c, size_t *len);
/* NULL + err for a blob of another format or a damaged one. */
struct classifier *classifier_load(const void *data, size_t len, char *err, size_t errlen);

#endif
