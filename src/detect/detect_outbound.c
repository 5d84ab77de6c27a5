/*
 * detect_outbound.c - who outgoing mail goes to: external, many, wide,
 * first-time and lookalike recipients.
 *
 * Symbols (outbound mail only; each reason names the addresses or domains):
 *   OUT_EXTERNAL_RCPT        any envelope recipient outside local_domains
 *   OUT_EXTERNAL_ATTACHMENT  an external recipient and an attached file
 *   OUT_MANY_EXTERNAL        more than outbound_many_external external
 *                            envelope recipients (Bcc included)
 *   OUT_WIDE_EXTERNAL        external addresses of more than
 *                            outbound_wide_domains registrable domains in
 *                            To/Cc, where every recipient sees the others;
 *                            with wide_external_action = bcc, policy removes
 *                            those addresses from the headers
 *                            (outbound_bcc_addrs, message_rewrite)
 *   OUT_FIRST_RECIPIENT      the sender never mailed this address
 *   OUT_FIRST_DOMAIN         the organisation never mailed this domain
 *   OUT_LOOKALIKE_RECIPIENT  the recipient's domain, one the organisation
 *                            never mailed, nearly matches one it mails often
 *                            (outbound_frequent_count messages) or its own
 *
 * Options: local_domains, outbound_many_external, outbound_wide_domains,
 * wide_external_action, outbound_frequent_count, outbound_history_warmup.
 *
 * History: the store's out_recipients table (store_recipients.h), one row
 * per sender and recipient, written by the verdict callback when policy
 * lets the mail through at once (deliver or tag), one transaction per
 * message.  Held mail is noted by the hold flow when it is released
 * (outbound_note_recipients), never when it is cancelled or rejected: a
 * recipient the sender called back is not a known one.  The FIRST_*
 * symbols wait until the organisation's history is older than
 * outbound_history_warmup (a new installation knows nobody); the lookalike
 * check needs no warm-up, its reference set grows with the history.
 *
 * The store is opened on the first scan that needs it and shared under
 * one mutex; `sekisho scan` (record = 0) reads an existing store and never
 * creates one.  Each organisation's frequent domains are cached with their
 * lookalike tables for OB_CACHE_MS, and dropped when a note changes them.
 * When the store cannot be opened the history checks are silent and the
 * log says so once.
 */
#include "detect/detect_outbound.h"
#include "message/message.h"
#include "store/store.h"
#include "store/store_recipients.h"
#include "util/log.h"
#include "util/util.h"

#include <idn2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OB_CACHE_MS	60000
#define OB_LIST_MAX	3	/* addresses named in a reason */
#define OB_INLINE_IMAGE_MAX (64 * 1024)	/* an inline image smaller is no file */

static const struct symbol_def symbols[] = {
	{ "OUT_EXTERNAL_RCPT", 0.0, "outbound mail to an external recipient" },
	{ "OUT_EXTERNAL_ATTACHMENT", 1.0, "outbound mail with an attachment to an external recipient" },
	{ "OUT_MANY_EXTERNAL", 2.0, "outbound mail to more external addresses than outbound_many_external" },
	{ "OUT_WIDE_EXTERNAL", 2.0,
	    "external addresses of more domains than outbound_wide_domains in To/Cc" },
	{ "OUT_FIRST_RECIPIENT", 1.0, "the sender has never mailed this recipient" },
	{ "OUT_FIRST_DOMAIN", 2.0, "the organization has never mailed this recipient's domain" },
	{ "OUT_LOOKALIKE_RECIPIENT", 5.0,
	    "a recipient domain nearly matches a domain the organization mails often" },
	{ NULL, 0, NULL },
};

struct ob_org {
	char *org;
	struct brandset *known;	/* frequent domains and local_domains */
	char **names;		/* the same, NULL-terminated */
	size_t nnames;
	int64_t loaded_ms;
};

struct ob_state {
	const struct config *cfg;
	char *dbpath;
	pthread_mutex_t lock;
	struct store *st;
	int warned;
	struct ob_org *orgs;
	size_t norgs;
};

/* ---- internal or external ---- */

static outbound_internal_fn internal_hook;
static void *internal_arg;

void
outbound_set_internal_hook(outbound_internal_fn fn, void *arg)
{
	internal_hook = fn;
	internal_arg = arg;
}

/* The local_domains entry domain is or is below, or NULL. */
static const char *
local_entry(const struct config *cfg, const char *domain)
{
	size_t dl;

	if (domain == NULL || *domain == '\0')
		return NULL;
	dl = strlen(domain);
	for (char **p = cfg->local_domains; p != NULL && *p != NULL; p++) {
		size_t l = strlen(*p);

		if (util_strcasecmp(*p, domain) == 0 ||
		    (dl > l && domain[dl - l - 1] == '.' && util_strcasecmp(*p, domain + dl - l) == 0))
			return *p;
	}
	return NULL;
}

int
outbound_is_internal(const struct config *cfg, const char *addr)
{
	if (addr == NULL)
		return 0;
	if (internal_hook != NULL) {
		int r = internal_hook(addr, internal_arg);

		if (r >= 0)
			return r;
	}
	return local_entry(cfg, envelope_domain(addr)) != NULL;
}

/* An address read from a header may hold what a broken header gave it (a
 * bare CR, a tab of a fold inside an unclosed quote): not one to key
 * history on or to write into a header. */
static int
addr_clean(const char *a)
{
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

char *
outbound_sender(const struct envelope *env, const struct message *msg)
{
	const char *s = env != NULL ? env->mail_from : NULL;

	if ((s == NULL || *s == '\0') && msg != NULL && msg->nfrom > 0)
		s = msg->from[0].addr;
	if (s == NULL || *s == '\0' || !addr_clean(s))
		return NULL;
	return util_lowercase(xstrdup(s));
}

/* The organisation the history is kept under: the sender's local domain,
 * or its registrable domain when it is not one of ours.  malloc'ed. */
static char *
org_of(const struct config *cfg, const char *sender)
{
	const char *d = envelope_domain(sender);
	const char *own = local_entry(cfg, d);

	if (own != NULL)
		return util_lowercase(xstrdup(own));
	return message_registrable_domain(*d != '\0' ? d : "unknown");
}

/* ---- the external recipients of one message ---- */

struct ext {
	char *addr;		/* lower-case */
	char *domain;		/* registrable, lower-case */
};

struct ext_list {
	struct ext *e;
	size_t n;
};

static void
ext_add(struct ext_list *l, const char *addr)
{
	char *a = util_lowercase(xstrdup(addr));

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->e[i].addr, a) == 0) {
			free(a);
			return;
		}
	l->e = xrealloc(l->e, (l->n + 1) * sizeof(*l->e));
	l->e[l->n].addr = a;
	l->e[l->n].domain = message_registrable_domain(*envelope_domain(a) != '\0' ?
	    envelope_domain(a) : "invalid");
	util_lowercase(l->e[l->n].domain);
	l->n++;
}

static void
ext_free(struct ext_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].addr);
		free(l->e[i].domain);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static void
external_rcpts(const struct config *cfg, const struct envelope *env, struct ext_list *l)
{
	memset(l, 0, sizeof(*l));
	for (size_t i = 0; env != NULL && i < env->nrcpt; i++)
		if (env->rcpt[i].addr != NULL && *env->rcpt[i].addr != '\0' &&
		    !outbound_is_internal(cfg, env->rcpt[i].addr))
			ext_add(l, env->rcpt[i].addr);
}

/* "a@x, b@y and 3 more" into buf. */
static const char *
name_list(char **items, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && i < OB_LIST_MAX && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", items[i]);
	if (n > OB_LIST_MAX && o < len)
		snprintf(buf + o, len - o, " and %zu more", n - OB_LIST_MAX);
	return buf;
}

static void
strv_push(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	*v = xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

static void
strv_clear(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char **
outbound_bcc_addrs(const struct config *cfg, const struct message *msg)
{
	char **v = NULL;
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		const struct msg_addr *a = pass == 0 ? msg->to : msg->cc;
		size_t na = pass == 0 ? msg->nto : msg->ncc;

		for (size_t i = 0; i < na; i++)
			if (a[i].addr != NULL && addr_clean(a[i].addr) &&
			    !outbound_is_internal(cfg, a[i].addr)) {
				char *l = util_lowercase(xstrdup(a[i].addr));
				strv_push(&v, &n, l);
				free(l);
			}
	}
	return v;
}

/* ---- lookalikes ---- */

static size_t
code_points(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return n;
}

enum look_kind
outbound_lookalike(const struct brandset *known, char *const *names, const char *domain,
    const char *domain_utf8, char *imitated, size_t len)
{
	struct look_match m;
	enum look_kind k;
	const char *d = domain_utf8 != NULL ? domain_utf8 : domain;
	const char *dot = strchr(d, '.');

	if (imitated != NULL && len > 0)
		imitated[0] = '\0';
	memset(&m, 0, sizeof(m));
	k = brandset_lookalike(known, domain, domain_utf8, &m);
	if (k == LOOK_SAME)
		return LOOK_NONE;
	/* a subdomain is someone's own structure (mail.example.co.jp.evil is
	 * a phishing trick, not a recipient one mistypes), and a short name
	 * with words added is a different name (web.de, webshop.de) */
	if (k == LOOK_SUBDOMAIN || (k == LOOK_ADDED && m.domain != NULL &&
	    strcspn(m.domain, ".") < 5))
		k = LOOK_NONE;
	if (k != LOOK_NONE) {
		if (imitated != NULL)
			snprintf(imitated, len, "%s", m.domain);
		return k;
	}
	/* edit distance on names shorter than the phishing tables allow for:
	 * one edit from 4 letters, two from 8, under the same suffix */
	if (dot == NULL || names == NULL)
		return LOOK_NONE;
	for (size_t i = 0; names[i] != NULL; i++) {
		const char *ndot = strchr(names[i], '.');
		char *a, *b;
		size_t cp;
		int lim, dist;

		if (ndot == NULL || strcmp(ndot, dot) != 0)
			continue;
		a = xstrndup(d, (size_t)(dot - d));
		b = xstrndup(names[i], (size_t)(ndot - names[i]));
		cp = code_points(b);
		lim = cp >= 8 ? 2 : cp >= 4 ? 1 : 0;
		dist = lim > 0 && strcmp(a, b) != 0 ? phish_distance(a, b, lim) : lim + 1;
		free(a);
		free(b);
		if (dist <= lim) {
			if (imitated != NULL)
				snprintf(imitated, len, "%s", names[i]);
			return LOOK_TYPO;
		}
	}
	return LOOK_NONE;
}

/* ---- the store and the per-organisation cache (lock held) ---- */

static struct store *
open_store(struct ob_state *os, int create)
{
	struct stat sb;
	char err[256];

	if (os->st != NULL)
		return os->st;
	if (!create && stat(os->dbpath, &sb) < 0)
		return NULL;
	os->st = store_open(os->dbpath, err, sizeof(err));
	if (os->st == NULL && !os->warned) {
		log_warn("outbound: recipient history off: %s", err);
		os->warned = 1;
	}
	return os->st;
}

struct load_arg {
	struct ob_org *oc;
};

static void
org_add_known(struct ob_org *oc, const char *domain)
{
	char *d = util_lowercase(xstrdup(domain));

	for (size_t i = 0; i < oc->nnames; i++)
		if (strcmp(oc->names[i], d) == 0) {
			free(d);
			return;
		}
	brandset_add_own(oc->known, d);
	oc->names = xrealloc(oc->names, (oc->nnames + 2) * sizeof(*oc->names));
	oc->names[oc->nnames++] = d;
	oc->names[oc->nnames] = NULL;
}

static int
load_frequent(const char *domain, int64_t count, void *arg)
{
	(void)count;
	org_add_known(arg, domain);
	return 0;
}

static void
org_reset(struct ob_org *oc)
{
	brandset_free(oc->known);
	strv_clear(oc->names, oc->nnames);
	oc->known = NULL;
	oc->names = NULL;
	oc->nnames = 0;
}

static struct ob_org *
org_cache(struct ob_state *os, struct store *st, const char *org)
{
	struct ob_org *oc = NULL;
	int64_t now = util_mono_ms();

	for (size_t i = 0; i < os->norgs; i++)
		if (strcmp(os->orgs[i].org, org) == 0)
			oc = &os->orgs[i];
	if (oc != NULL && oc->known != NULL && now - oc->loaded_ms < OB_CACHE_MS)
		return oc;
	if (oc == NULL) {
		os->orgs = xrealloc(os->orgs, (os->norgs + 1) * sizeof(*os->orgs));
		oc = &os->orgs[os->norgs++];
		memset(oc, 0, sizeof(*oc));
		oc->org = xstrdup(org);
	}
	org_reset(oc);
	oc->known = brandset_new();
	for (char **p = os->cfg->local_domains; p != NULL && *p != NULL; p++)
		org_add_known(oc, *p);
	if (store_rcpt_frequent(st, org, os->cfg->outbound_frequent_count > 0 ?
	    os->cfg->outbound_frequent_count : 1, load_frequent, oc) < 0)
		log_warn("outbound: frequent domains of %s: %s", org, store_errmsg(st));
	oc->loaded_ms = now;
	return oc;
}

static void
org_invalidate(struct ob_state *os, const char *org)
{
	for (size_t i = 0; i < os->norgs; i++)
		if (strcmp(os->orgs[i].org, org) == 0)
			os->orgs[i].loaded_ms = -OB_CACHE_MS;
}

int
outbound_note_recipients(struct store *st, const struct config *cfg,
    const struct envelope *env, const struct message *msg, int64_t now_ms)
{
	struct ext_list l;
	char *sender = outbound_sender(env, msg), *org;
	size_t i;
	int rc = 0;

	if (sender == NULL)
		return 0;
	external_rcpts(cfg, env, &l);
	org = org_of(cfg, sender);
	if (l.n > 0) {
		if (store_begin(st) < 0)
			rc = -1;
		for (i = 0; rc == 0 && i < l.n; i++)
			if (store_rcpt_note(st, org, sender, l.e[i].addr, l.e[i].domain, now_ms) < 0)
				rc = -1;
		if (rc == 0 && store_commit(st) < 0)
			rc = -1;
		if (rc < 0)
			store_rollback(st);
	}
	ext_free(&l);
	free(org);
	free(sender);
	return rc;
}

/* ---- the detector ---- */

static int
ob_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	struct ob_state *os = xcalloc(1, sizeof(*os));

	(void)err;
	(void)errlen;
	os->cfg = cfg;
	os->dbpath = config_state_path(cfg, "sekisho.db");
	pthread_mutex_init(&os->lock, NULL);
	*state = os;
	return 0;
}

static void
ob_free(void *state)
{
	struct ob_state *os = state;

	if (os == NULL)
		return;
	store_close(os->st);
	for (size_t i = 0; i < os->norgs; i++) {
		org_reset(&os->orgs[i]);
		free(os->orgs[i].org);
	}
	free(os->orgs);
	free(os->dbpath);
	pthread_mutex_destroy(&os->lock);
	free(os);
}

/*
 * A file the sender attached: a part marked attachment, or one with a file
 * name -- but not a small image shown inline (a logo in an HTML signature
 * would make every mail "with an attachment"); a photo pasted inline is
 * larger than OB_INLINE_IMAGE_MAX and counts.
 */
static int
has_file(const struct message *m, const char **name)
{
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];
		int marked = p->disposition != NULL && strcmp(p->disposition, "attachment") == 0;

		if (!p->is_attachment || (p->filename == NULL && !marked))
			continue;
		if (!marked && p->content_type != NULL &&
		    strncmp(p->content_type, "image/", 6) == 0 && p->size < OB_INLINE_IMAGE_MAX)
			continue;
		*name = p->filename != NULL ? p->filename : p->content_type;
		return 1;
	}
	return 0;
}

static void
wide_check(const struct scan_ctx *ctx, struct scan_result *r)
{
	const struct config *cfg = ctx->cfg;
	char **doms = NULL, **addrs = outbound_bcc_addrs(cfg, ctx->msg), buf[512];
	size_t nd = 0;

	for (size_t i = 0; addrs != NULL && addrs[i] != NULL; i++) {
		const char *d = envelope_domain(addrs[i]);
		char *reg = message_registrable_domain(*d != '\0' ? d : "invalid");

		strv_push(&doms, &nd, util_lowercase(reg));
		free(reg);
	}
	if (cfg->outbound_wide_domains > 0 && nd > (size_t)cfg->outbound_wide_domains)
		result_add(r, "OUT_WIDE_EXTERNAL", "external addresses of %zu domains in To/Cc"
		    " (%s)%s", nd, name_list(doms, nd, buf, sizeof(buf)),
		    strcmp(cfg->wide_external_action, "bcc") == 0 ? "; moved to Bcc" : "");
	strv_clear(doms, nd);
	if (addrs != NULL)
		for (size_t i = 0; addrs[i] != NULL; i++)
			free(addrs[i]);
	free(addrs);
}

static void
history_check(struct ob_state *os, const struct scan_ctx *ctx, struct scan_result *r,
    const struct ext_list *l)
{
	const struct config *cfg = ctx->cfg;
	char *sender = outbound_sender(ctx->env, ctx->msg), *org;
	char **first = NULL, **firstdom = NULL, buf[512], imitated[256] = "", *look = NULL;
	size_t nfirst = 0, nfirstdom = 0;
	enum look_kind lk = LOOK_NONE;
	struct store *st;
	int warm = 1;

	if (sender == NULL)
		return;
	org = org_of(cfg, sender);
	pthread_mutex_lock(&os->lock);
	if ((st = open_store(os, ctx->record)) == NULL)
		goto done;
	if (cfg->outbound_history_warmup > 0) {
		int64_t since = 0;

		warm = store_rcpt_since(st, org, &since) == 0 &&
		    util_now_ms() - since >= cfg->outbound_history_warmup * 1000;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct store_rcpt_hist h;
		int64_t count = 0;

		if (store_rcpt_get(st, sender, l->e[i].addr, &h) == 1)
			strv_push(&first, &nfirst, l->e[i].addr);
		if (store_rcpt_domain_count(st, org, l->e[i].domain, &count) < 0)
			continue;
		if (count > 0)
			continue;
		strv_push(&firstdom, &nfirstdom, l->e[i].domain);
		if (lk == LOOK_NONE) {
			struct ob_org *oc = org_cache(os, st, org);
			char *u8 = NULL;

			if (strstr(l->e[i].domain, "xn--") != NULL &&
			    idn2_to_unicode_8z8z(l->e[i].domain, &u8, 0) != IDN2_OK) {
				idn2_free(u8);
				u8 = NULL;
			}
			lk = outbound_lookalike(oc->known, oc->names, l->e[i].domain, u8,
			    imitated, sizeof(imitated));
			if (lk != LOOK_NONE)
				look = xstrdup(l->e[i].addr);
			idn2_free(u8);
		}
	}
done:
	pthread_mutex_unlock(&os->lock);
	if (warm && nfirst > 0)
		result_add(r, "OUT_FIRST_RECIPIENT", "first mail from %s to %s", sender,
		    name_list(first, nfirst, buf, sizeof(buf)));
	if (warm && nfirstdom > 0)
		result_add(r, "OUT_FIRST_DOMAIN", "first mail from %s to %s", org,
		    name_list(firstdom, nfirstdom, buf, sizeof(buf)));
	if (look != NULL)
		result_add(r, "OUT_LOOKALIKE_RECIPIENT", "%s: its domain looks like %s (%s),"
		    " a domain %s mails often", look, imitated, look_kind_name(lk), org);
	free(look);
	strv_clear(first, nfirst);
	strv_clear(firstdom, nfirstdom);
	free(org);
	free(sender);
}

static void
ob_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	struct ob_state *os = state;
	const struct config *cfg = ctx->cfg;
	struct ext_list l;
	const char *file = NULL;
	char **addrs, buf[512];

	if (!ctx->outbound)
		return;
	wide_check(ctx, r);
	external_rcpts(cfg, ctx->env, &l);
	if (l.n == 0) {
		ext_free(&l);
		return;
	}
	addrs = xcalloc(l.n + 1, sizeof(*addrs));
	for (size_t i = 0; i < l.n; i++)
		addrs[i] = l.e[i].addr;
	result_add(r, "OUT_EXTERNAL_RCPT", "%zu external recipient%s: %s", l.n,
	    l.n > 1 ? "s" : "", name_list(addrs, l.n, buf, sizeof(buf)));
	free(addrs);
	if (has_file(ctx->msg, &file))
		result_add(r, "OUT_EXTERNAL_ATTACHMENT", "a file (%s) to external recipients",
		    file != NULL ? file : "?");
	if (cfg->outbound_many_external > 0 && l.n > (size_t)cfg->outbound_many_external)
		result_add(r, "OUT_MANY_EXTERNAL", "%zu external recipients (more than %lld)",
		    l.n, (long long)cfg->outbound_many_external);
	history_check(os, ctx, r, &l);
	ext_free(&l);
}

/*
 * Mail let through at once (deliver = 0, tag = 1, enum action of
 * policy/pipeline.h) makes its recipients known.  Held mail waits for its
 * release (outbound_note_recipients from the hold flow); quarantined and
 * rejected mail teaches nothing, nor does a scan that ran out of time.
 */
static void
ob_verdict(void *state, const struct scan_ctx *ctx, const struct scan_result *r, int action)
{
	struct ob_state *os = state;
	struct store *st;

	if (!ctx->outbound || action > 1 || result_has(r, "SCAN_TIMEOUT") ||
	    !result_has(r, "OUT_EXTERNAL_RCPT"))
		return;
	pthread_mutex_lock(&os->lock);
	if ((st = open_store(os, 1)) != NULL) {
		char *sender = outbound_sender(ctx->env, ctx->msg);

		if (outbound_note_recipients(st, ctx->cfg, ctx->env, ctx->msg, util_now_ms()) < 0)
			log_warn("outbound: recipient history not written: %s", store_errmsg(st));
		if (sender != NULL) {
			char *org = org_of(ctx->cfg, sender);
			org_invalidate(os, org);
			free(org);
		}
		free(sender);
	}
	pthread_mutex_unlock(&os->lock);
}

const struct detector detect_outbound = {
	.name = "outbound",
	.symbols = symbols,
	.init = ob_init,
	.scan = ob_scan,
	.free = ob_free,
	.verdict = ob_verdict,
};
