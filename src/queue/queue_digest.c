/*
 * queue_digest.c - the daily quarantine digest (queue_digest.h).
 *
 * A run walks the quarantined messages once (store_msg_foreach), keeps one
 * item per (local recipient, message), sorts them by recipient, and for
 * each recipient claims the digest (store_digest_claim) and lists the
 * messages that arrived after the previous digest's end.  Claim first:
 * with two nodes, or the CLI and the daemon, one digest is sent, and a
 * crash after the claim loses that day's digest (the console still lists
 * the mail) rather than sending it twice.
 *
 * Subjects and senders come from the message: control characters are
 * replaced by spaces so that nothing in them can forge a line of the
 * digest (a notice is text/plain; there is no markup to escape).
 *
 * The link actions run with the caller's store connection: the token is
 * spent in its own transaction, then quarantine_release() runs its own
 * (it cannot nest).  A crash in between spends the link without releasing;
 * the message stays in quarantine for the console or the CLI.
 */
#include "queue/queue_digest.h"
#include "outbound/outbound.h"
#include "queue/queue_admin.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "store/store_notify.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS	(86400LL * 1000)

int
queue_digest_minutes(const char *s)
{
	int h, m;
	char end;

	if (s == NULL || sscanf(s, "%2d:%2d%c", &h, &m, &end) != 2 || h < 0 || h > 23 ||
	    m < 0 || m > 59)
		return -1;
	return h * 60 + m;
}

int64_t
queue_digest_due(int minutes, int64_t now_ms)
{
	time_t now = (time_t)(now_ms / 1000), t;
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_hour = minutes / 60;
	tm.tm_min = minutes % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t > now) {
		/* not yet today: yesterday's */
		localtime_r(&now, &tm);
		tm.tm_mday -= 1;
		tm.tm_hour = minutes / 60;
		tm.tm_min = minutes % 60;
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	return (int64_t)t * 1000;
}

/* ---- collecting ---- */

struct item {
	char *rcpt;		/* lower case */
	char id[QUEUE_ID_SIZE];
	char *from, *subject;
	int64_t received_ms;
	double score;
};

struct collect {
	const struct config *cfg;
	const char *only;
	struct item *v;
	size_t n, cap;
};

/* s with control characters as spaces, at most max bytes (UTF-8 kept whole). */
static char *
clean(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	char *out;

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	out = xstrndup(s ? s : "", n);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return out;
}

static int
collect_cb(const struct envelope *env, const struct queue_info *qi, void *arg)
{
	struct collect *c = arg;

	/* outbound mail held back is the sender's business, not the recipient's */
	if (env->listener != NULL && strcmp(env->listener, "outbound") == 0)
		return 0;
	for (size_t i = 0; i < env->nrcpt; i++) {
		const char *addr = env->rcpt[i].addr;
		struct item *it;

		if (!config_is_local_domain(c->cfg, envelope_domain(addr)) ||
		    (c->only && util_strcasecmp(c->only, addr) != 0))
			continue;
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 64;
			c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
		}
		it = &c->v[c->n++];
		it->rcpt = xstrdup(addr);
		for (char *p = it->rcpt; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		util_strlcpy(it->id, env->id, sizeof(it->id));
		it->from = clean(env->mail_from[0] ? env->mail_from : "<>", 200);
		it->subject = clean(qi->subject, 200);
		it->received_ms = env->received_ms;
		it->score = queue_scan_score(qi->scan);
	}
	return 0;
}

static int
item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->rcpt, y->rcpt);

	if (c != 0)
		return c;
	return x->received_ms < y->received_ms ? -1 : x->received_ms > y->received_ms;
}

/* ---- one digest ---- */

static char *
make_link(struct store *st, const struct config *cfg, const struct item *it,
    const char *action, int64_t expires)
{
	char tok[OUTBOUND_TOKEN_LEN + 1];

	if (outbound_token_new(st, it->id, action, it->rcpt, expires, tok) < 0) {
		log_err("digest: cannot keep a link token for id=%s: %s", it->id,
		    store_errmsg(st));
		return xstrdup("");
	}
	return xasprintf("%s/link/%s?action=%s", cfg->console_url, tok, action);
}

/* The list of messages v[0..n) for the digest body, in lang. */
static char *
item_lines(struct store *st, const struct config *cfg, const struct item *v, size_t n,
    size_t more, const char *lang, int64_t now)
{
	int ja = strcmp(lang, "ja") == 0;
	int64_t expires = now + cfg->quarantine_link_expiry * 1000;
	struct buf b = { 0 };

	for (size_t i = 0; i < n; i++) {
		time_t t = (time_t)(v[i].received_ms / 1000);
		char *rel = make_link(st, cfg, &v[i], ACTION_QRELEASE, expires);
		char *ham = make_link(st, cfg, &v[i], ACTION_NOTSPAM, expires);
		struct tm tm;
		char when[32];

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		buf_printf(&b, "%s%zu. %s\n", i ? "\n" : "", i + 1, v[i].subject);
		if (ja)
			buf_printf(&b, "   差出人: %s\n   日時: %s   スコア: %.1f\n"
			    "   受け取る(解放): %s\n   迷惑メールではない: %s\n", v[i].from, when,
			    v[i].score, rel, ham);
		else
			buf_printf(&b, "   From: %s\n   Date: %s   Score: %.1f\n"
			    "   Release: %s\n   Not spam: %s\n", v[i].from, when, v[i].score, rel,
			    ham);
		free(rel);
		free(ham);
	}
	if (more > 0)
		buf_printf(&b, ja ? "\nほかに %zu 通あります。コンソールで確認してください。\n" :
		    "\n%zu more: see the console.\n", more);
	return b.p ? buf_steal(&b, NULL) : xstrdup("");
}

/* Claim and send rcpt's digest of v[0..n).  1 sent, 0 not due or nothing
 * new, -1 error. */
static int
one_digest(struct store *st, const struct config *cfg, const struct item *v, size_t n,
    int64_t due, int64_t now, notify_inject_fn inject, void *arg)
{
	const char *rcpt = v[0].rcpt, *lang;
	char count[24], date[32];
	int64_t since = 0;
	size_t first = 0, shown;
	char *lines;
	int rc = store_digest_claim(st, rcpt, due, now, &since);

	if (rc <= 0) {
		if (rc < 0)
			log_err("digest: claim for <%s>: %s", rcpt, store_errmsg(st));
		return rc;
	}
	while (first < n && v[first].received_ms <= since)
		first++;
	if (first == n)
		return 0;
	lang = notify_lang_of(st, cfg, rcpt);
	shown = n - first > DIGEST_MAX_ITEMS ? DIGEST_MAX_ITEMS : n - first;
	lines = item_lines(st, cfg, v + first, shown, n - first - shown, lang, now);
	snprintf(count, sizeof(count), "%zu", n - first);
	{
		time_t t = (time_t)(now / 1000);
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	}
	struct notify_var vars[] = { { "recipient", rcpt }, { "count", count },
	    { "date", date }, { "messages", lines }, { "console_url", cfg->console_url } };
	rc = notify_send(cfg, inject, arg, "inbound", "digest", lang, rcpt, vars,
	    UTIL_ARRAY_LEN(vars));
	free(lines);
	if (rc == 0)
		log_info("digest to=<%s> messages=%zu", rcpt, n - first);
	return rc < 0 ? -1 : 1;
}

int
queue_digest_run(struct store *st, const struct config *cfg, int64_t now_ms, int force,
    const char *only, notify_inject_fn inject, void *arg)
{
	struct collect c = { .cfg = cfg, .only = only };
	int minutes = queue_digest_minutes(cfg->quarantine_digest_time);
	int64_t due = force ? now_ms + 1 : queue_digest_due(minutes < 0 ? 8 * 60 : minutes,
	    now_ms);
	int sent = 0, err = 0;

	queue_digest_setup(cfg);
	if (store_msg_foreach(st, MSG_QUARANTINED, collect_cb, &c) < 0) {
		log_err("digest: cannot list the quarantine: %s", store_errmsg(st));
		err = 1;
	}
	if (c.n > 0)
		qsort(c.v, c.n, sizeof(*c.v), item_cmp);
	for (size_t i = 0; !err && i < c.n;) {
		size_t j = i;
		while (j < c.n && strcmp(c.v[j].rcpt, c.v[i].rcpt) == 0)
			j++;
		int rc = one_digest(st, cfg, c.v + i, j - i, due, now_ms, inject, arg);
		if (rc > 0)
			sent++;
		i = j;
	}
	for (size_t i = 0; i < c.n; i++) {
		free(c.v[i].rcpt);
		free(c.v[i].from);
		free(c.v[i].subject);
	}
	free(c.v);
	return err ? -1 : sent;
}

int
queue_digest_tick(struct store *st, const struct config *cfg, int64_t now_ms,
    notify_inject_fn inject, void *arg)
{
	static int64_t next_ms, prune_ms;	/* the scheduler is the one caller */
	int minutes;
	int64_t due;
	int rc;

	if (now_ms >= prune_ms) {
		/* expired links, daily; a day's grace so that "expired" is
		 * still what a late click is told */
		prune_ms = now_ms + DAY_MS;
		if (store_link_token_prune(st, now_ms - DAY_MS) < 0)
			log_err("digest: cannot remove expired links: %s", store_errmsg(st));
	}
	if (!cfg->quarantine_digest || now_ms < next_ms)
		return 0;
	if ((minutes = queue_digest_minutes(cfg->quarantine_digest_time)) < 0) {
		log_err("digest: quarantine_digest_time \"%s\" is not HH:MM; no digests",
		    cfg->quarantine_digest_time);
		next_ms = INT64_MAX;
		return -1;
	}
	due = queue_digest_due(minutes, now_ms);
	rc = queue_digest_run(st, cfg, now_ms, 0, NULL, inject, arg);
	/* the next digest time: a day on (an hour either way on DST days is
	 * caught by the claim, which compares with the due time) */
	next_ms = rc < 0 ? now_ms + 60 * 1000 : queue_digest_due(minutes, due + DAY_MS + 3600 *
	    1000);
	if (next_ms <= now_ms)
		next_ms = now_ms + 60 * 1000;
	return rc;
}

/* ---- the links ---- */

static _Atomic(const struct config *) link_cfg;

void
queue_digest_setup(const struct config *cfg)
{
	atomic_store(&link_cfg, cfg);
}

int
queue_digest_link_action(const char *action)
{
	return action != NULL && (strcmp(action, ACTION_QRELEASE) == 0 ||
	    strcmp(action, ACTION_NOTSPAM) == 0);
}

/* "Not spam": learn the message as ham while it is still quarantined.
 * QADMIN_NOT_FOUND or QADMIN_WRONG_STATE when it is not (then there is
 * nothing to release either); a failure to learn is logged and the
 * release goes on. */
static enum qadmin_rc
learn_ham(struct store *st, const char *id)
{
	const struct config *cfg = atomic_load(&link_cfg);
	enum learn_outcome o;
	enum qadmin_rc rc;
	struct spool *sp;
	char *dir, err[256];

	if (cfg == NULL) {
		log_warn("digest: id=%s not learned as ham: no config in this process", id);
		return QADMIN_OK;
	}
	dir = config_state_path(cfg, "spool");
	sp = spool_open(dir);
	free(dir);
	if (sp == NULL) {
		log_err("digest: id=%s not learned: cannot open the spool", id);
		return QADMIN_OK;
	}
	rc = quarantine_learn(st, sp, id, 0, (unsigned)cfg->bayes_table_bits, "user", &o, err,
	    sizeof(err));
	spool_close(sp);
	if (rc == QADMIN_OK)
		log_info("digest: id=%s %s as ham", id, learn_outcome_name(o));
	else if (rc == QADMIN_ERROR)
		log_err("digest: id=%s not learned: %s", id, err);
	return rc == QADMIN_ERROR ? QADMIN_OK : rc;
}

int
queue_digest_link_act(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    const char *action, const char *actor)
{
	char id[QUEUE_ID_SIZE], err[256];
	char *owner = NULL;
	enum qadmin_rc q;
	int rc = store_token_use(st, hash, action, util_now_ms(), id, &owner);

	if (rc != 0) {
		free(owner);
		return rc;
	}
	q = strcmp(action, ACTION_NOTSPAM) == 0 ? learn_ham(st, id) : QADMIN_OK;
	if (q == QADMIN_OK)
		q = quarantine_release(st, id, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "%s is no longer quarantined", id);
	if (q == QADMIN_OK)
		log_info("quarantine id=%s released by=%s via=%s-link", id,
		    actor ? actor : owner ? owner : "-", action);
	else
		log_info("quarantine id=%s link %s not done: %s", id, action, err);
	free(owner);
	return q == QADMIN_OK ? 0 : q == QADMIN_ERROR ? -1 : 1;
}
