/*
 * classifier.c - online logistic regression over hashed binary features
 * (see classifier.h for the model and why).
 *
 * Serialised form, little-endian:
 *   "SKCL" u32 format  u32 bits  u8 key[16]  i64 bias  i64 nham  i64 nspam
 *   i64 nupdates  f64 rate  f64 thick  f64 cal_a  f64 cal_b  f64 cal_n
 *   i32 w[1 << bits]
 * Format 1 had no cal_*; it is still read, with the default scaling.
 * classifier_load() checks the magic, the format, the bits and the length
 * and refuses anything else rather than guess.
 */
#include "detect/classifier.h"
#include "util/util.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLF_RATE	8.0	/* learning rate; see bench/accuracy/README */
#define CLF_THICK	2.5	/* thick threshold on the margin */
#ifndef CLF_ITERS
#define CLF_ITERS	1
#endif
#define CLF_BIAS_RATE	0.1	/* the bias moves this much slower */
#define CLF_WMAX	(INT32_MAX / 2)	/* weights saturate here (never in practice) */
#define HEADER_V1	(4 + 4 + 4 + TOK_KEY_SIZE + 8 * 4 + 8 * 2)
#define HEADER_SIZE	(HEADER_V1 + 8 * 3)

struct classifier *
classifier_new(unsigned bits)
{
	struct classifier *c;

	if (bits < 16 || bits > 28)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->bits = bits;
	c->w = xcalloc((size_t)1 << bits, sizeof(*c->w));
	c->rate = CLF_RATE;
	c->thick = CLF_THICK;
	c->cal_a = CLF_CAL_A;
	c->cal_b = CLF_CAL_B;
	c->cal_n = CLF_CAL_N;
	if (sodium_init() < 0)
		panic("classifier: libsodium failed to start");
	randombytes_buf(c->key, sizeof(c->key));
	return c;
}

void
classifier_free(struct classifier *c)
{
	if (c == NULL)
		return;
	free(c->w);
	free(c);
}

double
classifier_margin(const struct classifier *c, const struct tok_features *f)
{
	int64_t sum = 0;

	for (size_t i = 0; i < f->n; i++)
		sum += c->w[f->idx[i]];
	if (f->n == 0)
		return (double)c->bias / CLF_SCALE;
	return ((double)sum / sqrt((double)f->n) + (double)c->bias) / CLF_SCALE;
}

double
classifier_prob(double margin)
{
	if (margin > 40)
		return 1.0;
	if (margin < -40)
		return 0.0;
	return 1.0 / (1.0 + exp(-margin));
}

double
classifier_logodds(const struct classifier *c, double margin)
{
	double n = (double)(c->nham + c->nspam), t = 1.0;

	if (c->cal_n > 0 && n < c->cal_n)
		t = n / c->cal_n;
	return (CLF_YOUNG_A + (c->cal_a - CLF_YOUNG_A) * t) * margin + c->cal_b * t;
}

double
classifier_cal_prob(const struct classifier *c, double margin)
{
	return classifier_prob(classifier_logodds(c, margin));
}

int
classifier_calibrate(struct classifier *c, const double *margin, const int *spam,
    size_t n)
{
	double a = 1.0, b = 0.0, hi, lo;
	size_t np = 0, nn;

	for (size_t i = 0; i < n; i++)
		np += spam[i] != 0;
	nn = n - np;
	if (np < 10 || nn < 10)
		return -1;
	/* Platt's targets: not 0 and 1, so that a perfect split stays finite. */
	hi = ((double)np + 1) / ((double)np + 2);
	lo = 1.0 / ((double)nn + 2);
	for (int it = 0; it < 100; it++) {
		double g1 = 0, g2 = 0, h11 = 1e-9, h22 = 1e-9, h12 = 0, det, da, db;

		for (size_t i = 0; i < n; i++) {
			double p = classifier_prob(a * margin[i] + b);
			double e = p - (spam[i] ? hi : lo), w = p * (1 - p);

			g1 += e * margin[i];
			g2 += e;
			h11 += w * margin[i] * margin[i];
			h22 += w;
			h12 += w * margin[i];
		}
		det = h11 * h22 - h12 * h12;
		if (!(det > 0))
			return -1;
		da = (h22 * g1 - h12 * g2) / det;
		db = (h11 * g2 - h12 * g1) / det;
		a -= da;
		b -= db;
		if (fabs(da) < 1e-9 && fabs(db) < 1e-9)
			break;
	}
	/* A decreasing or flat scaling would turn the ranking over: refuse. */
	if (!isfinite(a) || !isfinite(b) || a <= 0.01 || a > 100)
		return -1;
	c->cal_a = a;
	c->cal_b = b;
	c->cal_n = (double)(c->nham + c->nspam);
	return 0;
}

uint64_t
classifier_fsum(const struct tok_features *f)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a over the indexes */

	for (size_t i = 0; i < f->n; i++) {
		h ^= f->idx[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ f->n;
}

static int32_t
sat_add(int32_t w, int64_t d)
{
	int64_t v = (int64_t)w + d;

	if (v > CLF_WMAX)
		return CLF_WMAX;
	if (v < -CLF_WMAX)
		return -CLF_WMAX;
	return (int32_t)v;
}

static void
apply(struct classifier *c, const struct tok_features *f, int64_t step, int64_t bias_step)
{
	for (size_t i = 0; i < f->n; i++)
		c->w[f->idx[i]] = sat_add(c->w[f->idx[i]], step);
	c->bias += bias_step;
}

int
classifier_learn(struct classifier *c, const struct tok_features *f, int spam,
    struct clf_change *ch)
{
	double m = classifier_margin(c, f), g, norm;

	memset(ch, 0, sizeof(*ch));
	ch->fsum = classifier_fsum(f);
	if (spam)
		c->nspam++;
	else
		c->nham++;
	norm = f->n > 0 ? sqrt((double)f->n) : 1.0;
	for (int it = 0; it < CLF_ITERS; it++) {
		int32_t step, bias_step;

		/* Right, and by more than the thick threshold: nothing to learn. */
		if ((spam && m >= c->thick) || (!spam && m <= -c->thick))
			break;
		g = c->rate * ((spam ? 1.0 : 0.0) - classifier_prob(m));
		step = (int32_t)lrint(g * CLF_SCALE / norm);
		bias_step = (int32_t)lrint(g * CLF_BIAS_RATE * CLF_SCALE);
		if (step == 0 && bias_step == 0)
			break;
		apply(c, f, step, bias_step);
		ch->step += step;
		ch->bias_step += bias_step;
		m = classifier_margin(c, f);
	}
	if (ch->step == 0 && ch->bias_step == 0)
		return 0;
	c->nupdates++;
	return 1;
}

void
classifier_unlearn(struct classifier *c, const struct tok_features *f, int spam,
    const struct clf_change *ch)
{
	if (spam && c->nspam > 0)
		c->nspam--;
	else if (!spam && c->nham > 0)
		c->nham--;
	if (ch->step == 0 && ch->bias_step == 0)
		return;
	apply(c, f, -(int64_t)ch->step, -(int64_t)ch->bias_step);
	if (c->nupdates > 0)
		c->nupdates--;
}

void
classifier_replay(struct classifier *c, const struct tok_features *f, int spam,
    const struct clf_change *ch)
{
	if (spam)
		c->nspam++;
	else
		c->nham++;
	if (ch->step == 0 && ch->bias_step == 0)
		return;
	apply(c, f, ch->step, ch->bias_step);
	c->nupdates++;
}

void
classifier_uncount(struct classifier *c, int spam, int update)
{
	if (spam > 0 && c->nspam > 0)
		c->nspam--;
	else if (spam == 0 && c->nham > 0)
		c->nham--;
	if (update && c->nupdates > 0)
		c->nupdates--;
}

/* ---- serialised form ---- */

static void
put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get_u32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
dbl_bits(double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	return v;
}

static double
bits_dbl(uint64_t v)
{
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

void *
classifier_save(const struct classifier *c, size_t *len)
{
	size_t nw = (size_t)1 << c->bits;
	unsigned char *buf = xmalloc(HEADER_SIZE + nw * 4), *p = buf;

	memcpy(p, "SKCL", 4);
	put_u32(p + 4, CLF_FORMAT);
	put_u32(p + 8, c->bits);
	memcpy(p + 12, c->key, TOK_KEY_SIZE);
	p += 12 + TOK_KEY_SIZE;
	put_u64(p, (uint64_t)c->bias);
	put_u64(p + 8, (uint64_t)c->nham);
	put_u64(p + 16, (uint64_t)c->nspam);
	put_u64(p + 24, (uint64_t)c->nupdates);
	put_u64(p + 32, dbl_bits(c->rate));
	put_u64(p + 40, dbl_bits(c->thick));
	put_u64(p + 48, dbl_bits(c->cal_a));
	put_u64(p + 56, dbl_bits(c->cal_b));
	put_u64(p + 64, dbl_bits(c->cal_n));
	p += 72;
	for (size_t i = 0; i < nw; i++, p += 4)
		put_u32(p, (uint32_t)c->w[i]);
	*len = HEADER_SIZE + nw * 4;
	return buf;
}

struct classifier *
classifier_load(const void *data, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = data;
	struct classifier *c;
	uint32_t format, bits;
	size_t nw, hsize;

	if (len < HEADER_V1 || memcmp(p, "SKCL", 4) != 0) {
		snprintf(err, errlen, "classifier: not a sekisho model");
		return NULL;
	}
	format = get_u32(p + 4);
	bits = get_u32(p + 8);
	if (format != CLF_FORMAT && format != 1) {
		snprintf(err, errlen, "classifier: model format %u, this program reads %d",
		    format, CLF_FORMAT);
		return NULL;
	}
	hsize = format == 1 ? HEADER_V1 : HEADER_SIZE;
	if (bits < 16 || bits > 28 || len != hsize + ((size_t)1 << bits) * 4) {
		snprintf(err, errlen, "classifier: damaged model (%zu bytes for %u bits)",
		    len, bits);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->bits = bits;
	memcpy(c->key, p + 12, TOK_KEY_SIZE);
	p += 12 + TOK_KEY_SIZE;
	c->bias = (int64_t)get_u64(p);
	c->nham = (int64_t)get_u64(p + 8);
	c->nspam = (int64_t)get_u64(p + 16);
	c->nupdates = (int64_t)get_u64(p + 24);
	c->rate = bits_dbl(get_u64(p + 32));
	c->thick = bits_dbl(get_u64(p + 40));
	c->cal_a = CLF_CAL_A;
	c->cal_b = CLF_CAL_B;
	c->cal_n = CLF_CAL_N;
	if (format != 1) {
		c->cal_a = bits_dbl(get_u64(p + 48));
		c->cal_b = bits_dbl(get_u64(p + 56));
		c->cal_n = bits_dbl(get_u64(p + 64));
	}
	p += hsize - (12 + TOK_KEY_SIZE);
	nw = (size_t)1 << bits;
	c->w = xmalloc(nw * sizeof(*c->w));
	for (size_t i = 0; i < nw; i++, p += 4)
		c->w[i] = (int32_t)get_u32(p);
	if (!isfinite(c->rate) || !isfinite(c->thick) || c->rate <= 0 ||
	    !isfinite(c->cal_a) || !isfinite(c->cal_b) || c->cal_a <= 0 ||
	    !isfinite(c->cal_n) || c->cal_n < 0) {
		snprintf(err, errlen, "classifier: damaged model (rate, threshold, calibration)");
		classifier_free(c);
		return NULL;
	}
	return c;
}
