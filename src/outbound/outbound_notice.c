/*
 * outbound_notice.c - the daemon's periodic work on holds (outbound_tick):
 * the notices, timed releases, deadlines, reminders and the removal of
 * recalled or refused messages.
 *
 * Notices and their templates (templates_dir/notify/KIND.LANG.txt):
 *
 *   hold       to the sender: recipients, attachments, release time,
 *              links to cancel and to send now
 *   approval   to each approver (and delegate): why, links to approve
 *              and reject, the deadline
 *   reminder   the same, before the deadline, with fresh links
 *   confirm    to the sender: why, links to send and to cancel
 *   outcome    to the sender: what became of the mail, by whom, comment
 *
 * Each notice is a new message in the queue, delivered through the
 * outbound next hop (outbound_inject_fn: the path DSNs take).  Links carry
 * fresh tokens (outbound_token_new); a token lives until the hold's
 * release time or deadline.  The notice is injected first and its flag
 * set after: a crash in between sends it twice, never loses it; a notice
 * that cannot be composed or queued is logged and not tried again.
 *
 * A recalled or refused message's row is removed first, then its spool
 * file, as the queue does for every deletion.
 */
#include "detect/detect_outbound.h"
#include "message/message.h"
#include "notify/notify.h"
#include "outbound/outbound.h"
#include "queue/queue_spool.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_BATCH	64
#define ATTACH_LIST_MAX	50

struct ctx {
	struct store *st;
	const struct config *cfg;
	struct spool *sp;
	int64_t now;
	outbound_inject_fn inject;
	void *arg;
};

static int
ja(const char *lang)
{
	return lang == NULL || strcmp(lang, "en") != 0;
}

/* "  - addr" lines of the recipients. */
static char *
recipient_lines(const struct envelope *env)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < env->nrcpt; i++)
		buf_printf(&b, "%s  - %s", i ? "\n" : "", env->rcpt[i].addr);
	return b.p ? buf_steal(&b, NULL) : xstrdup("");
}

/* "  - name (size)" lines of the attachments, read from the spool. */
static char *
attachment_lines(const struct ctx *c, const char *id, const char *lang)
{
	char *path = spool_path(c->sp, id), *raw;
	struct buf b = { 0 };
	struct message *msg;
	size_t len = 0, n = 0;

	raw = util_read_file(path, (size_t)c->cfg->message_size_limit + 65536, &len);
	free(path);
	if (raw != NULL) {
		msg = message_parse(raw, len, NULL);
		for (size_t i = 0; i < msg->nparts && n < ATTACH_LIST_MAX; i++) {
			const struct msg_part *p = &msg->parts[i];
			if (!p->is_attachment)
				continue;
			buf_printf(&b, "%s  - %s (%zu bytes)", n++ ? "\n" : "",
			    p->filename ? p->filename : p->content_type, p->size);
		}
		message_free(msg);
		free(raw);
	}
	if (n == 0)
		buf_str(&b, ja(lang) ? "  (なし)" : "  (none)");
	return buf_steal(&b, NULL);
}

/* A link for action on id, for owner, or "" when the token cannot be kept. */
static char *
make_link(const struct ctx *c, const char *id, const char *action, const char *owner,
    int64_t expires)
{
	char tok[OUTBOUND_TOKEN_LEN + 1];

	if (outbound_token_new(c->st, id, action, owner, expires, tok) < 0) {
		log_err("outbound: cannot keep a link token for id=%s: %s", id,
		    store_errmsg(c->st));
		return xstrdup("");
	}
	return xasprintf("%s/link/%s?action=%s", c->cfg->console_url, tok, action);
}

static struct envelope *
notice_envelope(const struct config *cfg, const char *to)
{
	struct envelope *env = envelope_new();
	char *copy = xstrdup(to), *save = NULL;

	env->listener = xstrdup("outbound");
	env->mail_from = xstrdup("");
	env->helo = xstrdup(cfg->myhostname);
	env->received_ms = util_now_ms();
	for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save))
		envelope_add_rcpt(env, a, NULL, 0);
	free(copy);
	return env;
}

/* Compose and inject one notice.  0, or -1 (logged). */
static int
send_notice(const struct ctx *c, const char *kind, const char *lang, const char *to,
    const struct notify_var *vars, size_t nvars, const char *id)
{
	struct envelope *env;
	size_t len;
	char *msg;

	if (to == NULL || *to == '\0')
		return 0;	/* nobody to tell (the null sender) */
	msg = notify_compose(c->cfg, kind, lang, to, vars, nvars, &len);
	if (msg == NULL)
		return -1;
	env = notice_envelope(c->cfg, to);
	if (c->inject(c->arg, env, msg, len) < 0) {
		log_err("outbound: cannot queue the %s notice for id=%s", kind, id);
		free(msg);
		return -1;
	}
	log_info("notice id=%s kind=%s to=<%s>", id, kind, to);
	free(msg);
	return 0;
}

/* The variables every notice about one message has. */
struct about {
	struct envelope *env;
	struct queue_info qi;
	char *recipients, *attachments;
	char release[64], deadline[64], risk[32];
};

static int
about_load(const struct ctx *c, const struct store_hold *h, struct about *a)
{
	memset(a, 0, sizeof(*a));
	if (store_msg_get(c->st, h->msg_id, &a->env, &a->qi) != 0)
		return -1;
	a->recipients = recipient_lines(a->env);
	a->attachments = attachment_lines(c, h->msg_id, h->lang);
	util_local_time(h->release_at, "%Y-%m-%d %H:%M:%S %Z", a->release, sizeof(a->release));
	util_local_time(h->deadline_at, "%Y-%m-%d %H:%M:%S %Z", a->deadline, sizeof(a->deadline));
	snprintf(a->risk, sizeof(a->risk), "%.1f", h->risk);
	return 0;
}

static void
about_clear(struct about *a)
{
	envelope_free(a->env);
	queue_info_clear(&a->qi);
	free(a->recipients);
	free(a->attachments);
}

#define VAR(n, v) { n, v }
#define COMMON_VARS(h, a) \
	VAR("id", (h)->msg_id), VAR("sender", (h)->sender), \
	VAR("subject", (a)->qi.subject ? (a)->qi.subject : ""), \
	VAR("recipients", (a)->recipients), VAR("attachments", (a)->attachments), \
	VAR("release_at", (a)->release), VAR("deadline", (a)->deadline), \
	VAR("risk", (a)->risk), VAR("reasons", (h)->reasons ? (h)->reasons : ""), \
	VAR("console_url", c->cfg->console_url)

/* The first notice of a hold: to the sender, or to the approvers. */
static int
first_notice(const struct ctx *c, const struct store_hold *h)
{
	struct about a;
	int rc = 0;

	if (about_load(c, h, &a) < 0)
		return -1;
	if (strcmp(h->kind, "hold") == 0 || strcmp(h->kind, "confirm") == 0) {
		int hold = strcmp(h->kind, "hold") == 0;
		int64_t until = hold ? h->release_at : h->deadline_at;
		char *cancel = make_link(c, h->msg_id, "cancel", h->sender, until);
		char *send = make_link(c, h->msg_id, hold ? "release" : "confirm", h->sender, until);
		struct notify_var v[] = { COMMON_VARS(h, &a), VAR("cancel_url", cancel),
		    VAR("send_url", send) };
		rc = send_notice(c, h->kind, h->lang, h->sender, v, UTIL_ARRAY_LEN(v), h->msg_id);
		free(cancel);
		free(send);
	} else if (strcmp(h->kind, "approval") == 0) {
		rc = 0;
		/* approvers each get their own links */
		char *copy = xstrdup(h->approvers ? h->approvers : ""), *save = NULL;
		for (char *ap = strtok_r(copy, " ", &save); ap; ap = strtok_r(NULL, " ", &save)) {
			struct outbound_person p;
			char *approve = make_link(c, h->msg_id, "approve", ap, h->deadline_at);
			char *reject = make_link(c, h->msg_id, "reject", ap, h->deadline_at);
			outbound_person_get(c->st, c->cfg, ap, &p);
			struct notify_var v[] = { COMMON_VARS(h, &a), VAR("approve_url", approve),
			    VAR("reject_url", reject), VAR("approver", ap),
			    VAR("approver_name", p.name ? p.name : ap) };
			if (send_notice(c, h->reminded || h->notified ? "reminder" : "approval",
			    p.lang, ap, v, UTIL_ARRAY_LEN(v), h->msg_id) < 0)
				rc = -1;
			outbound_person_clear(&p);
			free(approve);
			free(reject);
		}
		free(copy);
	}
	about_clear(&a);
	return rc;
}

static const char *
outcome_text(const char *status, const char *lang)
{
	static const struct { const char *status, *ja, *en; } t[] = {
		{ "approved", "承認され、送信されました", "approved and sent" },
		{ "rejected", "却下されました。送信されていません", "rejected; it was not sent" },
		{ "released", "送信されました", "sent" },
		{ "cancelled", "取り消されました。送信されていません", "cancelled; it was not sent" },
		{ "expired", "期限までに承認されなかったため、送信されていません",
		    "not approved by the deadline; it was not sent" },
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(t); i++)
		if (strcmp(t[i].status, status) == 0)
			return ja(lang) ? t[i].ja : t[i].en;
	return status;
}

static int
outcome_notice(const struct ctx *c, const struct store_hold *h)
{
	struct about a;
	char when[64];
	int rc;

	memset(&a, 0, sizeof(a));
	if (about_load(c, h, &a) < 0) {
		/* the message is gone (delivered): tell with what the hold knows */
		a.recipients = xstrdup("");
		a.attachments = xstrdup("");
	}
	util_local_time(h->decided_ms, "%Y-%m-%d %H:%M:%S %Z", when, sizeof(when));
	struct notify_var v[] = { COMMON_VARS(h, &a), VAR("outcome", outcome_text(h->status,
	    h->lang)), VAR("status", h->status), VAR("decided_by", h->decided_by ?
	    h->decided_by : ""), VAR("decided_at", when), VAR("comment", h->comment ?
	    h->comment : "") };
	rc = send_notice(c, "outcome", h->lang, h->sender, v, UTIL_ARRAY_LEN(v), h->msg_id);
	about_clear(&a);
	return rc;
}

/*
 * After a decision: a released message's recipients go into the sender's
 * recipient history (they are known from now on); a refused message's
 * row goes, then its file.  The tick runs before the scheduler picks due
 * messages, so a released message is normally still in the store here.
 */
static int
purge(const struct ctx *c, const struct store_hold *h)
{
	struct envelope *env = NULL;
	struct queue_info qi;
	int rc;

	memset(&qi, 0, sizeof(qi));
	rc = store_msg_get(c->st, h->msg_id, &env, &qi);
	if (rc == 0 && qi.state != MSG_DONE && strcmp(h->kind, "admin") != 0 &&
	    outbound_note_recipients(c->st, c->cfg, env, NULL, c->now) < 0)
		log_warn("outbound: recipient history not written for id=%s: %s", h->msg_id,
		    store_errmsg(c->st));
	envelope_free(env);
	if (rc == 0 && qi.state == MSG_DONE) {
		if (store_msg_delete(c->st, h->msg_id) < 0)
			rc = -1;
		else
			spool_remove(c->sp, h->msg_id);
	}
	queue_info_clear(&qi);
	if (rc < 0)
		return -1;
	return store_hold_flag(c->st, h->msg_id, "purged");
}

static void
work_one(const struct ctx *c, struct store_hold *h)
{
	if (strcmp(h->status, "held") == 0) {
		if (!h->notified) {
			/* tried once: a failure is logged, not repeated every tick */
			first_notice(c, h);
			store_hold_flag(c->st, h->msg_id, "notified");
			h->notified = 1;
		}
		if (h->release_at > 0 && h->release_at <= c->now) {
			if (store_hold_decide(c->st, h->msg_id, "released", 1, "timer", NULL,
			    c->now, 0) == 0)
				log_info("hold id=%s released by=timer", h->msg_id);
		} else if (h->deadline_at > 0 && h->deadline_at <= c->now) {
			int release = strcmp(c->cfg->approval_deadline_action, "release") == 0;
			if (store_hold_decide(c->st, h->msg_id, release ? "released" : "expired",
			    release, "deadline", NULL, c->now, 1) == 0)
				log_info("hold id=%s %s by=deadline", h->msg_id,
				    release ? "released" : "expired");
		} else if (h->reminder_at > 0 && h->reminder_at <= c->now && !h->reminded) {
			h->reminded = 1;
			first_notice(c, h);
			store_hold_flag(c->st, h->msg_id, "reminded");
		}
		return;
	}
	if (!h->outcome_notified) {
		outcome_notice(c, h);
		store_hold_flag(c->st, h->msg_id, "outcome_notified");
	}
	if (!h->purged && purge(c, h) < 0)
		log_err("outbound: cannot remove recalled id=%s: %s", h->msg_id,
		    store_errmsg(c->st));
}

int
outbound_tick(struct store *st, const struct config *cfg, struct spool *sp,
    int64_t now_ms, outbound_inject_fn inject, void *arg)
{
	struct ctx c = { st, cfg, sp, now_ms, inject, arg };
	struct store_hold *v;
	int n = store_hold_work(st, now_ms, &v, TICK_BATCH);

	if (n < 0) {
		log_err("outbound: cannot list holds: %s", store_errmsg(st));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		work_one(&c, &v[i]);
		store_hold_clear(&v[i]);
	}
	free(v);
	return n;
}
