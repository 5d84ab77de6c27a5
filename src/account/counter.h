/*
 * counter.h - bounded-memory counting for the login guard and the policy
 * server: sliding-window counters, distinct counts and a keyed table with
 * a memory cap.
 *
 *   struct swin    events in the last `window` milliseconds, kept in
 *                  SWIN_BUCKETS buckets (the oldest bucket ages out whole,
 *                  so the count is exact to 1/SWIN_BUCKETS of the window)
 *   struct dset    distinct 64-bit hashes in two generations of half a
 *                  window each: an exact set up to DSET_EXACT_MAX values,
 *                  then a HyperLogLog of 256 one-byte registers (standard
 *                  error about 6.5 %).  Counts cover between half and all
 *                  of the window.
 *   struct ctable  string key -> entry, least recently used first out when
 *                  the bytes it accounts for pass the cap, and entries not
 *                  touched for a ttl dropped as they are met.
 *
 * None of this locks: the caller serialises.  Memory is accounted in the
 * size_t that every allocating call is given (the table's own counter for
 * its entries), so the cap holds whatever the entries contain.
 */
#ifndef SEKISHO_COUNTER_H
#define SEKISHO_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#define SWIN_BUCKETS	12
#define DSET_EXACT_MAX	32
#define DSET_HLL_REGS	256

struct swin {
	int64_t start[SWIN_BUCKETS];	/* bucket start time, ms */
	uint32_t n[SWIN_BUCKETS];
};

/* Add k events at now_ms to a window of window_ms. */
void swin_add(struct swin *w, int64_t window_ms, int64_t now_ms, uint32_t k);
/* Events within the window ending at now_ms. */
uint64_t swin_count(const struct swin *w, int64_t window_ms, int64_t now_ms);

struct dgen {
	uint8_t *data;		/* NULL, exact uint64_t values or HLL registers */
	uint16_t n;		/* exact values held; DSET_EXACT_MAX + 1 = HLL */
	uint16_t cap;		/* exact values room */
};

struct dset {
	int64_t gen_start;	/* when cur began */
	struct dgen cur, prev;
};

uint64_t counter_hash(const char *s);
/* Note a value's hash; *mem grows or shrinks by what was (de)allocated. */
void dset_add(struct dset *d, uint64_t h, int64_t window_ms, int64_t now_ms,
    size_t *mem);
/* Distinct values in the window. */
uint64_t dset_count(struct dset *d, int64_t window_ms, int64_t now_ms, size_t *mem);
void dset_free(struct dset *d, size_t *mem);

struct ctable;

/* payload: bytes of zeroed payload per entry; release frees what the
 * payload holds (not the payload itself) and may be NULL. */
struct ctable *ctable_new(size_t payload, size_t mem_cap, int64_t ttl_ms,
    void (*release)(void *payload, size_t *mem));
void ctable_free(struct ctable *t);
/* The entry of key, created when create and absent (NULL otherwise).  The
 * entry becomes the most recently used.  Pointers stay valid until the
 * next ctable_get(create=1) or ctable_trim(). */
void *ctable_get(struct ctable *t, const char *key, int create, int64_t now_ms);
/* Drop entries past the ttl and, while over the cap, the least recently
 * used.  Call after updating an entry. */
void ctable_trim(struct ctable *t, int64_t now_ms);
/* The counter the payloads' allocations are accounted in. */
size_t *ctable_mem(struct ctable *t);
size_t ctable_count(const struct ctable *t);
uint64_t ctable_evicted(const struct ctable *t);

#endif
