/*
 * detect_history.c - whom each organisation corresponds with.
 *
 * The store's correspondents table (store.h) holds, per organisation (one
 * of local_domains) and outside registrable domain, when mail was first and
 * last exchanged and how many messages went each way.  The phishing
 * detector reads it for two checks:
 *   - first contact: mail from a domain the organisation has never
 *     exchanged mail with (PHISH_FIRST_CONTACT), once the history is older
 *     than first_contact_warmup (a new installation knows nobody yet);
 *   - a lookalike of a correspondent: hinagata-shoj1.co.jp when
 *     hinagata-shoji.co.jp is a known partner (PHISH_FROM_LOOKALIKE_CONTACT),
 *     the way business-email compromise usually starts: misspelt, look-alike
 *     letters, or words added to a name of five letters or more.
 * and writes it from its verdict callback: the sender's domain of inbound
 * mail that policy lets through (deliver or tag), the recipients' domains
 * of outbound mail.
 *
 * Writes are kept in memory and written in one transaction at most every
 * HISTORY_FLUSH_MS or HISTORY_BATCH notes (each transaction is an fsync);
 * a crash loses the last few notes, which only makes a correspondent look
 * new once more.  Look-ups see the unwritten notes too.  The known domains
 * of an organisation are cached, with their lookalike tables, for
 * HISTORY_CACHE_MS.  Everything is under one mutex: look-ups are indexed
 * reads and the lock is never held across more than one statement or one
 * reload.
 *
 * Failure: when the store cannot be opened the history is silent (no
 * first contact, no lookalike of a correspondent) and says so once in the
 * log; scans go on.  The store file is created by the first note, never by
 * a look-up.
 */
#include "detect/detect_phish.h"
#include "message/message.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HISTORY_FLUSH_MS	5000
#define HISTORY_BATCH		200
#define HISTORY_CACHE_MS	60000

struct note {
	char org[256], domain[256];
	int outbound;
	int64_t ms;
};

struct org_cache {
	char *org;
	struct brandset *known;	/* the org's correspondents as protected domains */
	int64_t loaded_ms;
};

struct history {
	char *dbpath;
	int64_t warmup_ms;
	pthread_mutex_t lock;
	struct store *st;
	int warned;
	struct note *notes;
	size_t nnotes;
	int64_t last_flush_ms;
	struct org_cache *orgs;
	size_t norgs;
};

static struct org_cache *org_cache(struct history *h, const char *org);

struct history *
history_new(const struct config *cfg)
{
	struct history *h = xcalloc(1, sizeof(*h));

	h->dbpath = config_state_path(cfg, "sekisho.db");
	h->warmup_ms = cfg->first_contact_warmup * 1000;
	h->last_flush_ms = util_mono_ms();
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

/* Open the store; create it only when asked to (a note).  Lock held. */
static struct store *
open_store(struct history *h, int create)
{
	struct stat sb;
	char err[256];

	if (h->st != NULL)
		return h->st;
	if (!create && stat(h->dbpath, &sb) < 0)
		return NULL;
	h->st = store_open(h->dbpath, err, sizeof(err));
	if (h->st == NULL && !h->warned) {
		log_warn("phish: correspondents history off: %s", err);
		h->warned = 1;
	}
	return h->st;
}

/* Write the notes kept in memory.  Lock held. */
static void
flush(struct history *h)
{
	struct store *st;
	size_t i;

	h->last_flush_ms = util_mono_ms();
	if (h->nnotes == 0 || (st = open_store(h, 1)) == NULL)
		return;
	if (store_begin(st) < 0)
		goto fail;
	for (i = 0; i < h->nnotes; i++)
		if (store_correspondent_note(st, h->notes[i].org, h->notes[i].domain,
		    h->notes[i].outbound, h->notes[i].ms) < 0)
			break;
	if (i < h->nnotes || store_commit(st) < 0) {
		store_rollback(st);
		goto fail;
	}
	h->nnotes = 0;
	return;
fail:
	log_warn("phish: correspondents history not written: %s", store_errmsg(st));
	/* keep the notes for the next try, but not without bound */
	if (h->nnotes >= 10 * HISTORY_BATCH)
		h->nnotes = 0;
}

void
history_flush(struct history *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	flush(h);
	pthread_mutex_unlock(&h->lock);
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	history_flush(h);
	store_close(h->st);
	for (size_t i = 0; i < h->norgs; i++) {
		free(h->orgs[i].org);
		brandset_free(h->orgs[i].known);
	}
	free(h->orgs);
	free(h->notes);
	free(h->dbpath);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void
history_note(struct history *h, const char *org, const char *domain, int outbound)
{
	struct note *n;

	if (h == NULL || org == NULL || domain == NULL || *domain == '\0' ||
	    strlen(org) >= sizeof(n->org) || strlen(domain) >= sizeof(n->domain))
		return;
	pthread_mutex_lock(&h->lock);
	if (h->nnotes % 64 == 0)
		h->notes = xrealloc(h->notes, (h->nnotes + 64) * sizeof(*h->notes));
	n = &h->notes[h->nnotes++];
	util_strlcpy(n->org, org, sizeof(n->org));
	util_strlcpy(n->domain, domain, sizeof(n->domain));
	n->outbound = outbound;
	n->ms = util_now_ms();
	/* look-alikes of it are caught before the note is written */
	{
		struct org_cache *oc = org_cache(h, org);

		if (oc != NULL && brandset_lookalike(oc->known, domain, NULL, NULL) != LOOK_SAME)
			brandset_add_own(oc->known, domain);
	}
	if (h->nnotes >= HISTORY_BATCH || util_mono_ms() - h->last_flush_ms >= HISTORY_FLUSH_MS)
		flush(h);
	pthread_mutex_unlock(&h->lock);
}

static int
pending(const struct history *h, const char *org, const char *domain)
{
	for (size_t i = 0; i < h->nnotes; i++)
		if (strcmp(h->notes[i].org, org) == 0 && strcmp(h->notes[i].domain, domain) == 0)
			return 1;
	return 0;
}

int
history_known(struct history *h, const char *org, const char *domain)
{
	struct store_correspondent c;
	struct store *st;
	int64_t since = 0;
	int ret = -1, rc;

	if (h == NULL || org == NULL || domain == NULL)
		return -1;
	pthread_mutex_lock(&h->lock);
	if (pending(h, org, domain))
		ret = 1;
	else {
		/* the history begins with its first note, written or not yet */
		int have = 0;

		for (size_t i = 0; i < h->nnotes; i++)
			if (strcmp(h->notes[i].org, org) == 0 && (!have || h->notes[i].ms < since)) {
				since = h->notes[i].ms;
				have = 1;
			}
		rc = 1;
		if ((st = open_store(h, 0)) != NULL) {
			int64_t s0;

			rc = store_correspondent_get(st, org, domain, &c);
			if (rc == 0)
				ret = 1;
			else if (rc == 1 && store_correspondent_since(st, org, &s0) == 0 &&
			    (!have || s0 < since)) {
				since = s0;
				have = 1;
			}
		}
		if (ret != 1 && rc == 1 && have && util_now_ms() - since >= h->warmup_ms)
			ret = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static int
add_known(const char *domain, const struct store_correspondent *c, void *arg)
{
	(void)c;
	brandset_add_own(arg, domain);
	return 0;
}

/* The org's cache, loaded or refreshed as needed.  Lock held. */
static struct org_cache *
org_cache(struct history *h, const char *org)
{
	struct org_cache *oc = NULL;
	struct store *st;
	int64_t now = util_mono_ms();

	for (size_t i = 0; i < h->norgs; i++)
		if (strcmp(h->orgs[i].org, org) == 0)
			oc = &h->orgs[i];
	if (oc != NULL && now - oc->loaded_ms < HISTORY_CACHE_MS)
		return oc;
	st = open_store(h, 0);
	if (oc != NULL && st == NULL)
		return oc;
	if (oc == NULL) {
		h->orgs = xrealloc(h->orgs, (h->norgs + 1) * sizeof(*h->orgs));
		oc = &h->orgs[h->norgs++];
		memset(oc, 0, sizeof(*oc));
		oc->org = xstrdup(org);
	}
	brandset_free(oc->known);
	oc->known = brandset_new();
	if (st != NULL && store_correspondent_foreach(st, org, add_known, oc->known) < 0)
		log_warn("phish: correspondents of %s: %s", org, store_errmsg(st));
	/* and the notes not written yet */
	for (size_t i = 0; i < h->nnotes; i++)
		if (strcmp(h->notes[i].org, org) == 0)
			brandset_add_own(oc->known, h->notes[i].domain);
	oc->loaded_ms = now;
	return oc;
}

enum look_kind
history_lookalike(struct history *h, const char *org, const char *domain,
    const char *domain_utf8, char *imitated, size_t len)
{
	struct org_cache *oc;
	struct look_match m;
	enum look_kind k = LOOK_NONE;

	if (h == NULL || org == NULL || domain == NULL)
		return LOOK_NONE;
	pthread_mutex_lock(&h->lock);
	oc = org_cache(h, org);
	if (oc != NULL && oc->known != NULL) {
		/* correspondents are anybody's domains, often plain words: only
		 * the close imitations count, not another suffix or a subdomain
		 * (acme.net may be acme.com's sister), and added words only to a
		 * name of five letters or more (web.de is not web-shop.de) */
		k = brandset_lookalike(oc->known, domain, domain_utf8, &m);
		if (k == LOOK_OTHER_TLD || k == LOOK_SUBDOMAIN ||
		    (k == LOOK_ADDED && strcspn(m.domain, ".") < 5))
			k = LOOK_NONE;
		if (k != LOOK_NONE && k != LOOK_SAME)
			snprintf(imitated, len, "%s", m.domain);
	}
	pthread_mutex_unlock(&h->lock);
	return k;
}
