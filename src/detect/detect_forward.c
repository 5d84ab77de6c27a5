/*
 * detect_forward.c - outbound mail that a mailbox rule forwards outside.
 *
 * A taken-over mailbox is often given a rule that sends each message on:
 * Pigeonhole's Sieve redirect marks the copy with X-Sieve-Redirected-From,
 * a client's "redirect" or "bounce" adds Resent-* fields (RFC 5322 3.6.6).
 * When such a message leaves for a recipient outside local_domains whose
 * domain the organisation has never exchanged mail with (the
 * correspondents history of detect_history.c; unknown when there is no
 * history yet), the forward itself is the finding.
 *
 * Symbols (outbound only):
 *   FWD_SIEVE_REDIRECT_EXTERNAL  X-Sieve-Redirected-From, new external target
 *   FWD_RESENT_EXTERNAL          Resent-From/-Sender/-To/-Cc/-Bcc/-Date/
 *                                -Message-ID, new external target
 * Options: local_domains, state_dir (the history); scores via score.NAME.
 * The correspondents history is only read here.
 *
 * The verdict callback keeps what each user sends (store_user_sent_add():
 * the message with its action and score, and the recipients that got or
 * may still get it), because delivered mail leaves the messages table and
 * an incident must still list the contacts to warn (account/incident.c).
 * Notes are queued in memory and written by a thread of the detector's own
 * (started with the first note) in one transaction -- one fsync -- every
 * SENT_FLUSH_MS, sooner when SENT_BATCH are waiting, and at shutdown; the
 * scan threads only take the queue's mutex, never wait for the disk.  A
 * crash loses the last seconds of history, never mail.  A store failure
 * is logged once and never fails the message.
 *
 * The same transaction keeps the hourly summary of each sender
 * (store_sender_note(): messages, recipients, new ones, external domains,
 * content score) that detect_takeover.c grades new mail against, and
 * prunes it past takeover_history once an hour: the sent-mail history and
 * the baseline are one record, written once.
 */
#include "detect/detect_forward.h"
#include "detect/detect_auth.h"
#include "detect/detect_phish.h"
#include "detect/detect_takeover.h"

#include "store/store.h"
#include "store/store_audit.h"
#include "store/store_takeover.h"
#include "util/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SENT_FLUSH_MS	2000
#define SENT_BATCH	100

struct sent_note {
	char *login;
	struct store_sent m;
	char **rcpts;
	size_t nrcpts;
	/* for the hourly summary (store_takeover.h) */
	double content;			/* takeover_content_score() */
	char **all;			/* every recipient, reached or not */
	size_t nall;
	char **domains;			/* external domains */
	size_t ndomains;
};

struct forward {
	struct history *history;
	pthread_mutex_t lock;	/* notes, nnotes, stop, started */
	pthread_cond_t cond;
	pthread_t writer;
	int started, stop;
	struct sent_note *notes;
	size_t nnotes;
	struct store *st;	/* the writer's; opened on the first flush */
	char *dbpath;
	int warned;
	int64_t history_hours;		/* takeover_history */
	int64_t pruned_hour;		/* the writer's last prune */
};

static void
note_clear(struct sent_note *n)
{
	for (size_t i = 0; i < n->nrcpts; i++)
		free(n->rcpts[i]);
	free(n->rcpts);
	for (size_t i = 0; i < n->nall; i++)
		free(n->all[i]);
	free(n->all);
	for (size_t i = 0; i < n->ndomains; i++)
		free(n->domains[i]);
	free(n->domains);
	free(n->login);
}

/* Write notes[0..n) and free them.  The writer thread only (or free()
 * once the writer has stopped). */
static void
write_notes(struct forward *f, struct sent_note *notes, size_t n)
{
	char err[256];
	size_t i;

	if (n > 0 && f->st == NULL && !f->warned) {
		f->st = store_open(f->dbpath, err, sizeof(err));
		if (f->st == NULL) {
			log_warn("forward: sent-mail history off: %s", err);
			f->warned = 1;
		}
	}
	if (n > 0 && f->st != NULL && store_begin(f->st) == 0) {
		/* the hourly summary first: it counts as new the recipients
		 * user_contacts does not hold yet */
		for (i = 0; i < n; i++)
			if (store_sender_note(f->st, notes[i].login, notes[i].m.time_ms,
			    notes[i].content, notes[i].all, notes[i].nall, notes[i].domains,
			    notes[i].ndomains) < 0 ||
			    store_user_sent_add(f->st, notes[i].login, &notes[i].m,
			    notes[i].rcpts, notes[i].nrcpts) < 0)
				break;
		if (i == n && f->history_hours > 0 &&
		    util_now_ms() / STORE_HOUR_MS != f->pruned_hour) {
			f->pruned_hour = util_now_ms() / STORE_HOUR_MS;
			if (store_sender_prune(f->st, f->pruned_hour - f->history_hours) < 0 &&
			    !f->warned) {
				log_warn("forward: pruning the sender history: %s",
				    store_errmsg(f->st));
				f->warned = 1;
			}
		}
		if (i < n || store_commit(f->st) < 0) {
			if (!f->warned)
				log_warn("forward: sent-mail history: %s", store_errmsg(f->st));
			f->warned = 1;
			store_rollback(f->st);
		}
	}
	for (i = 0; i < n; i++)
		note_clear(&notes[i]);
	free(notes);
}

static void *
writer_main(void *arg)
{
	struct forward *f = arg;
	struct timespec ts;

	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		struct sent_note *notes;
		size_t n;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += SENT_FLUSH_MS / 1000;
		if (f->nnotes < SENT_BATCH)
			pthread_cond_timedwait(&f->cond, &f->lock, &ts);
		notes = f->notes;
		n = f->nnotes;
		f->notes = NULL;
		f->nnotes = 0;
		pthread_mutex_unlock(&f->lock);
		write_notes(f, notes, n);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static const struct symbol_def symbols[] = {
	{ "FWD_SIEVE_REDIRECT_EXTERNAL", 4.0,
	    "redirected by a Sieve rule (X-Sieve-Redirected-From) to a new external address" },
	{ "FWD_RESENT_EXTERNAL", 3.0,
	    "resent (Resent-* header fields) to a new external address" },
	{ NULL, 0, NULL },
};

static const char *const resent_fields[] = {
	"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc",
	"Resent-Date", "Resent-Message-ID",
};

static int
forward_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	struct forward *f = xcalloc(1, sizeof(*f));

	(void)err;
	(void)errlen;
	f->history = history_new(cfg);
	f->dbpath = config_state_path(cfg, "sekisho.db");
	f->history_hours = cfg->takeover_history / 3600;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	*state = f;
	return 0;
}

static void
forward_free(void *state)
{
	struct forward *f = state;

	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (f->started)
		pthread_join(f->writer, NULL);
	write_notes(f, f->notes, f->nnotes);
	pthread_cond_destroy(&f->cond);
	history_free(f->history);
	store_close(f->st);
	pthread_mutex_destroy(&f->lock);
	free(f->dbpath);
	free(f);
}

/* The first recipient outside local_domains in a domain the organisation
 * does not know, or NULL. */
static const char *
new_external(struct history *h, const struct scan_ctx *ctx)
{
	const char *org = phish_org(ctx->cfg, ctx);

	for (size_t i = 0; i < ctx->env->nrcpt; i++) {
		const char *addr = ctx->env->rcpt[i].addr;
		const char *dom = envelope_domain(addr);
		char reg[256];

		if (*dom == '\0' || config_is_local_domain(ctx->cfg, dom))
			continue;
		auth_org_domain(dom, reg, sizeof(reg));
		if (org == NULL || history_known(h, org, reg) != 1)
			return addr;
	}
	return NULL;
}

static void
forward_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	const struct message *m = ctx->msg;
	const char *from, *to = NULL;
	int resent = 0;

	if (!ctx->outbound)
		return;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(resent_fields); i++)
		if (message_header_count(m, resent_fields[i]) > 0)
			resent = 1;
	from = message_header(m, "X-Sieve-Redirected-From");
	if (from == NULL && !resent)
		return;
	to = new_external(((struct forward *)state)->history, ctx);
	if (to == NULL)
		return;
	if (from != NULL)
		result_add(r, "FWD_SIEVE_REDIRECT_EXTERNAL",
		    "a Sieve rule of %.100s redirects to %.200s, a new external address", from, to);
	if (resent)
		result_add(r, "FWD_RESENT_EXTERNAL", "resent to %.200s, a new external address", to);
}

/* enum action of policy/pipeline.h, which a detector does not include */
static const char *const action_names[] = { "deliver", "tag", "quarantine", "reject", "hold" };

static void
forward_verdict(void *state, const struct scan_ctx *ctx, const struct scan_result *r,
    int action)
{
	struct forward *f = state;
	const struct envelope *env = ctx->env;
	const char *login = env->auth_user ? env->auth_user : env->mail_from;
	struct sent_note n;
	/* recipients that got it, or may once it is released */
	int reached = action == 0 || action == 1 || action == 4;

	if (!ctx->outbound || login == NULL || *login == '\0')
		return;
	memset(&n, 0, sizeof(n));
	n.login = xstrdup(login);
	util_strlcpy(n.m.msg_id, env->id, sizeof(n.m.msg_id));
	n.m.time_ms = env->received_ms > 0 ? env->received_ms : util_now_ms();
	util_strlcpy(n.m.action, action >= 0 && action < 5 ? action_names[action] : "",
	    sizeof(n.m.action));
	n.m.score = r->score;
	util_strlcpy(n.m.subject, ctx->msg->subject ? ctx->msg->subject : "",
	    sizeof(n.m.subject));
	n.m.recipients = (int)env->nrcpt;
	n.rcpts = xcalloc(env->nrcpt + 1, sizeof(*n.rcpts));
	for (size_t i = 0; reached && i < env->nrcpt; i++)
		n.rcpts[n.nrcpts++] = xstrdup(env->rcpt[i].addr);
	n.content = takeover_content_score(r);
	n.all = xcalloc(env->nrcpt + 1, sizeof(*n.all));
	n.domains = xcalloc(env->nrcpt + 1, sizeof(*n.domains));
	for (size_t i = 0; i < env->nrcpt; i++) {
		const char *dom = envelope_domain(env->rcpt[i].addr);
		size_t j;

		n.all[n.nall++] = xstrdup(env->rcpt[i].addr);
		if (*dom == '\0' || config_is_local_domain(ctx->cfg, dom))
			continue;
		for (j = 0; j < n.ndomains && util_strcasecmp(n.domains[j], dom) != 0; j++)
			;
		if (j == n.ndomains)
			n.domains[n.ndomains++] = xstrdup(dom);
	}
	pthread_mutex_lock(&f->lock);
	f->notes = xrealloc(f->notes, (f->nnotes + 1) * sizeof(*f->notes));
	f->notes[f->nnotes++] = n;
	if (!f->started && !f->stop) {
		/* without the writer the notes wait for free(): still kept */
		f->started = pthread_create(&f->writer, NULL, writer_main, f) == 0;
		if (!f->started && !f->warned) {
			log_warn("forward: cannot start the history writer; kept until exit");
			f->warned = 1;
		}
	}
	if (f->nnotes >= SENT_BATCH)
		pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

const struct detector detect_forward = {
	.name = "forward",
	.symbols = symbols,
	.init = forward_init,
	.scan = forward_scan,
	.free = forward_free,
	.verdict = forward_verdict,
};
