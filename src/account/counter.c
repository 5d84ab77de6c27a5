/*
 * counter.c - sliding windows, distinct sets (exact, then HyperLogLog) and
 * the capped keyed table of counter.h.
 *
 * Why two generations for distinct counts: a HyperLogLog cannot forget one
 * value, so a window slides by dropping a whole generation.  With each
 * generation half a window long, the union of the two covers at least the
 * last half window and at most the whole one, which is what thresholds
 * "N distinct in W" need (they may fire up to half a window late, never on
 * data older than W).
 */
#include "account/counter.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HLL_FLAG	(DSET_EXACT_MAX + 1)

/* ---- sliding windows ---- */

void
swin_add(struct swin *w, int64_t window_ms, int64_t now_ms, uint32_t k)
{
	int64_t width = window_ms / SWIN_BUCKETS > 0 ? window_ms / SWIN_BUCKETS : 1;
	int64_t start = now_ms - now_ms % width;
	size_t i = (size_t)((now_ms / width) % SWIN_BUCKETS);

	if (w->start[i] != start) {
		w->start[i] = start;
		w->n[i] = 0;
	}
	w->n[i] = w->n[i] + k < w->n[i] ? UINT32_MAX : w->n[i] + k;
}

uint64_t
swin_count(const struct swin *w, int64_t window_ms, int64_t now_ms)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < SWIN_BUCKETS; i++)
		if (w->n[i] != 0 && w->start[i] > now_ms - window_ms &&
		    w->start[i] <= now_ms)
			sum += w->n[i];
	return sum;
}

/* ---- distinct sets ---- */

uint64_t
counter_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	/* a final mix, so that HLL register bits are well spread */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static void
hll_put(uint8_t *reg, uint64_t h)
{
	size_t idx = (size_t)(h & (DSET_HLL_REGS - 1));
	uint64_t rest = h >> 8;
	uint8_t rank = rest == 0 ? 57 : (uint8_t)(__builtin_ctzll(rest) + 1);

	if (rank > reg[idx])
		reg[idx] = rank;
}

static double
hll_estimate(const uint8_t *reg)
{
	double m = DSET_HLL_REGS, sum = 0, e;
	int zeros = 0;

	for (size_t i = 0; i < DSET_HLL_REGS; i++) {
		sum += ldexp(1.0, -(int)reg[i]);
		if (reg[i] == 0)
			zeros++;
	}
	e = (0.7213 / (1 + 1.079 / m)) * m * m / sum;
	if (e <= 2.5 * m && zeros > 0)
		e = m * log(m / zeros);		/* linear counting for small sets */
	return e;
}

static void
dgen_free(struct dgen *g, size_t *mem)
{
	if (g->data != NULL)
		*mem -= g->n == HLL_FLAG ? DSET_HLL_REGS : g->cap * sizeof(uint64_t);
	free(g->data);
	memset(g, 0, sizeof(*g));
}

static void
dgen_to_hll(struct dgen *g, size_t *mem)
{
	uint8_t *reg = xcalloc(1, DSET_HLL_REGS);
	const uint64_t *v = (const uint64_t *)(void *)g->data;

	for (size_t i = 0; i < g->n; i++)
		hll_put(reg, v[i]);
	dgen_free(g, mem);
	g->data = reg;
	g->n = HLL_FLAG;
	*mem += DSET_HLL_REGS;
}

static void
dgen_add(struct dgen *g, uint64_t h, size_t *mem)
{
	uint64_t *v;

	if (g->n == HLL_FLAG) {
		hll_put(g->data, h);
		return;
	}
	v = (uint64_t *)(void *)g->data;
	for (size_t i = 0; i < g->n; i++)
		if (v[i] == h)
			return;
	if (g->n == DSET_EXACT_MAX) {
		dgen_to_hll(g, mem);
		hll_put(g->data, h);
		return;
	}
	if (g->n == g->cap) {
		uint16_t ncap = g->cap ? g->cap * 2 : 4;
		g->data = xrealloc(g->data, ncap * sizeof(uint64_t));
		*mem += (ncap - g->cap) * sizeof(uint64_t);
		g->cap = ncap;
		v = (uint64_t *)(void *)g->data;
	}
	v[g->n++] = h;
}

/* Age the generations to now. */
static void
dset_age(struct dset *d, int64_t window_ms, int64_t now_ms, size_t *mem)
{
	int64_t half = window_ms / 2 > 0 ? window_ms / 2 : 1;

	if (now_ms - d->gen_start < half)
		return;
	dgen_free(&d->prev, mem);
	if (now_ms - d->gen_start < 2 * half) {
		d->prev = d->cur;
		memset(&d->cur, 0, sizeof(d->cur));
	} else {
		dgen_free(&d->cur, mem);
	}
	d->gen_start = now_ms - now_ms % half;
}

void
dset_add(struct dset *d, uint64_t h, int64_t window_ms, int64_t now_ms, size_t *mem)
{
	dset_age(d, window_ms, now_ms, mem);
	dgen_add(&d->cur, h, mem);
}

static int
exact_has(const struct dgen *g, uint64_t h)
{
	const uint64_t *v = (const uint64_t *)(const void *)g->data;

	for (size_t i = 0; i < g->n; i++)
		if (v[i] == h)
			return 1;
	return 0;
}

static void
hll_merge(uint8_t *reg, const struct dgen *g)
{
	if (g->n == HLL_FLAG) {
		for (size_t i = 0; i < DSET_HLL_REGS; i++)
			if (g->data[i] > reg[i])
				reg[i] = g->data[i];
	} else {
		const uint64_t *v = (const uint64_t *)(const void *)g->data;
		for (size_t i = 0; i < g->n; i++)
			hll_put(reg, v[i]);
	}
}

uint64_t
dset_count(struct dset *d, int64_t window_ms, int64_t now_ms, size_t *mem)
{
	uint8_t reg[DSET_HLL_REGS];
	uint64_t n;

	dset_age(d, window_ms, now_ms, mem);
	if (d->cur.n != HLL_FLAG && d->prev.n != HLL_FLAG) {
		const uint64_t *v = (const uint64_t *)(void *)d->prev.data;
		n = d->cur.n;
		for (size_t i = 0; i < d->prev.n; i++)
			if (!exact_has(&d->cur, v[i]))
				n++;
		return n;
	}
	memset(reg, 0, sizeof(reg));
	hll_merge(reg, &d->cur);
	hll_merge(reg, &d->prev);
	return (uint64_t)llround(hll_estimate(reg));
}

void
dset_free(struct dset *d, size_t *mem)
{
	dgen_free(&d->cur, mem);
	dgen_free(&d->prev, mem);
}

/* ---- the keyed table ---- */

struct centry {
	struct centry *next;		/* hash chain */
	struct centry *older, *newer;	/* LRU list */
	uint64_t hash;
	int64_t used_ms;
	char *key;
	max_align_t payload[];
};

struct ctable {
	struct centry **slot;
	size_t nslot, count, payload, cap;
	size_t mem;
	int64_t ttl_ms;
	uint64_t evicted;
	struct centry *oldest, *newest;
	void (*release)(void *, size_t *);
};

struct ctable *
ctable_new(size_t payload, size_t mem_cap, int64_t ttl_ms,
    void (*release)(void *payload, size_t *mem))
{
	struct ctable *t = xcalloc(1, sizeof(*t));

	t->nslot = 1024;
	t->slot = xcalloc(t->nslot, sizeof(*t->slot));
	t->payload = payload;
	t->cap = mem_cap;
	t->ttl_ms = ttl_ms;
	t->release = release;
	t->mem = t->nslot * sizeof(*t->slot);
	return t;
}

static size_t
entry_size(const struct ctable *t, const struct centry *e)
{
	return sizeof(*e) + t->payload + strlen(e->key) + 1;
}

static void
lru_unlink(struct ctable *t, struct centry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	e->older = e->newer = NULL;
}

static void
lru_push(struct ctable *t, struct centry *e)
{
	e->older = t->newest;
	e->newer = NULL;
	if (t->newest)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void
entry_remove(struct ctable *t, struct centry *e)
{
	struct centry **pp = &t->slot[e->hash % t->nslot];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	lru_unlink(t, e);
	if (t->release)
		t->release(e->payload, &t->mem);
	t->mem -= entry_size(t, e);
	free(e->key);
	free(e);
	t->count--;
}

static void
table_grow(struct ctable *t)
{
	size_t n = t->nslot * 2;
	struct centry **slot = xcalloc(n, sizeof(*slot));

	for (size_t i = 0; i < t->nslot; i++) {
		struct centry *e = t->slot[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			e->next = slot[e->hash % n];
			slot[e->hash % n] = e;
		}
	}
	free(t->slot);
	t->mem += (n - t->nslot) * sizeof(*slot);
	t->slot = slot;
	t->nslot = n;
}

void *
ctable_get(struct ctable *t, const char *key, int create, int64_t now_ms)
{
	uint64_t h = counter_hash(key);
	struct centry *e;

	for (e = t->slot[h % t->nslot]; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0)
			break;
	if (e == NULL) {
		if (!create)
			return NULL;
		if (t->count >= t->nslot)
			table_grow(t);
		e = xcalloc(1, sizeof(*e) + t->payload);
		e->key = xstrdup(key);
		e->hash = h;
		e->next = t->slot[h % t->nslot];
		t->slot[h % t->nslot] = e;
		t->count++;
		t->mem += entry_size(t, e);
	} else {
		lru_unlink(t, e);
	}
	e->used_ms = now_ms;
	lru_push(t, e);
	return e->payload;
}

void
ctable_trim(struct ctable *t, int64_t now_ms)
{
	while (t->oldest != NULL && t->oldest != t->newest &&
	    (t->mem > t->cap || now_ms - t->oldest->used_ms > t->ttl_ms)) {
		if (t->mem > t->cap)
			t->evicted++;
		entry_remove(t, t->oldest);
	}
}

void
ctable_free(struct ctable *t)
{
	if (t == NULL)
		return;
	while (t->oldest != NULL)
		entry_remove(t, t->oldest);
	free(t->slot);
	free(t);
}

size_t *
ctable_mem(struct ctable *t)
{
	return &t->mem;
}

size_t
ctable_count(const struct ctable *t)
{
	return t->count;
}

uint64_t
ctable_evicted(const struct ctable *t)
{
	return t->evicted;
}
