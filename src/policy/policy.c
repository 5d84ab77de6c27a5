/*
 * policy.c - the rules of policy.h.
 *
 * Banners are fixed bilingual texts (Japanese first: the readers are
 * Japanese first); the HTML banner is a styled table so that it shows in
 * mail clients that ignore <div> styling.  Nothing from the message itself
 * is put into a banner, so a banner cannot be used to inject markup.
 */
#include "policy/policy.h"
#include "detect/detect_outbound.h"
#include "detect/learn.h"
#include "util/buf.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

struct forced {
	char *symbol;
	enum action action;
};

struct policy {
	const struct config *cfg;
	char *remove_ar;	/* "Authentication-Results:<our authserv-id>" */
	const char *remove[5];	/* learn_verdict_fields and our Authentication-Results */
	struct forced *forced;
	size_t nforced;
	const struct symbol_def *attach_syms;	/* the attachment check's symbols */
	const struct pipeline_ops *ops;	/* holds and approvals (src/outbound), or NULL */
	void *holds;			/* ops' state */
};


static const char text_suspicious[] =
    "【注意】このメールは迷惑メールまたは詐欺の可能性があります。"
    "リンクや添付ファイルを開く前に、送信者が本物かどうか確認してください。\n"
    "[Caution] This message may be spam or a scam. Check that the sender is "
    "genuine before you open links or attachments.\n"
    "--\n";

static const char html_suspicious[] =
    "<table role=\"presentation\" width=\"100%\" cellpadding=\"8\" "
    "style=\"border:2px solid #c62828;background:#fff3f3;color:#000;"
    "font-family:sans-serif;font-size:14px;margin:0 0 12px 0\"><tr><td>"
    "<b>【注意】</b>このメールは迷惑メールまたは詐欺の可能性があります。"
    "リンクや添付ファイルを開く前に、送信者が本物かどうか確認してください。<br>"
    "<b>[Caution]</b> This message may be spam or a scam. Check that the sender is "
    "genuine before you open links or attachments.</td></tr></table>";

static const char text_external[] =
    "【社外】このメールは組織の外部から届きました。\n"
    "[External] This message came from outside your organization.\n"
    "--\n";

static const char html_external[] =
    "<table role=\"presentation\" width=\"100%\" cellpadding=\"6\" "
    "style=\"border:1px solid #f9a825;background:#fffde7;color:#000;"
    "font-family:sans-serif;font-size:13px;margin:0 0 12px 0\"><tr><td>"
    "<b>【社外】</b>このメールは組織の外部から届きました。<br>"
    "<b>[External]</b> This message came from outside your organization."
    "</td></tr></table>";

static const char text_stripped[] =
    "【添付ファイル削除】このメールに添付されていたファイルは、危険なおそれがあるため"
    "セキュリティゲートウェイ（sekisho）が削除しました。必要な場合は管理者にお問い合わせください。\n"
    "[Attachment removed] A file attached to this message was removed by the "
    "security gateway (sekisho) because it may be dangerous. Ask your administrator "
    "if you need it.\n";

static const char *const action_words[] = {
	[ACTION_DELIVER] = "deliver", [ACTION_TAG] = "tag", [ACTION_QUARANTINE] = "quarantine",
	[ACTION_REJECT] = "reject", [ACTION_HOLD] = "hold",
};

int
action_parse(const char *name, enum action *out)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(action_words); i++)
		if (action_words[i] && strcmp(name, action_words[i]) == 0) {
			*out = (enum action)i;
			return 0;
		}
	return -1;
}

/* How severe an action is, for choosing among several. */
static int
severity(enum action a)
{
	switch (a) {
	case ACTION_DELIVER: return 0;
	case ACTION_TAG: return 1;
	case ACTION_HOLD: return 2;
	case ACTION_QUARANTINE: return 3;
	case ACTION_REJECT: return 4;
	}
	return 0;
}

struct policy *
policy_new(const struct config *cfg, const struct pipeline_ops *ops, char *err,
    size_t errlen)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	size_t n;

	p->cfg = cfg;
	p->ops = ops != NULL && ops->hold_open != NULL ? ops : NULL;
	/* Our result headers, and Authentication-Results claiming our
	 * authserv-id, are never taken from the sender (RFC 8601 section 5). */
	p->remove_ar = xasprintf("Authentication-Results:%s", config_authserv_id(cfg));
	for (n = 0; learn_verdict_fields[n] != NULL; n++)
		p->remove[n] = learn_verdict_fields[n];
	p->remove[n++] = p->remove_ar;
	p->remove[n] = NULL;
	if (strcmp(cfg->attachment_action, "strip") == 0) {
		const struct detector *const *reg = detect_registry(&n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(reg[i]->name, "attach") == 0)
				p->attach_syms = reg[i]->symbols;
	}
	if (p->ops != NULL && (p->holds = p->ops->hold_open(cfg, err, errlen)) == NULL) {
		policy_free(p);
		return NULL;
	}
	for (char **s = cfg->symbol_actions; s && *s; s++) {
		const char *eq = strchr(*s, '=');
		enum action a;
		if (eq == NULL || eq == *s || action_parse(eq + 1, &a) < 0) {
			snprintf(err, errlen, "symbol_actions: '%s' is not SYMBOL=action "
			    "(deliver, tag, quarantine, reject, hold)", *s);
			policy_free(p);
			return NULL;
		}
		p->forced = xrealloc(p->forced, (p->nforced + 1) * sizeof(*p->forced));
		p->forced[p->nforced].symbol = xstrndup(*s, (size_t)(eq - *s));
		p->forced[p->nforced].action = a;
		p->nforced++;
	}
	return p;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nforced; i++)
		free(p->forced[i].symbol);
	free(p->forced);
	if (p->holds != NULL)
		p->ops->hold_close(p->holds);
	free(p->remove_ar);
	free(p);
}

/* Does addr match an entry: a whole address, "@domain" or "domain"
 * (the domain and its subdomains)? */
static int
list_match(char *const *list, const char *addr)
{
	const char *domain = envelope_domain(addr);
	size_t dlen = strlen(domain);

	for (; list && *list; list++) {
		const char *e = *list;
		if (strchr(e, '@') != NULL && e[0] != '@') {
			if (util_strcasecmp(e, addr) == 0)
				return 1;
			continue;
		}
		if (e[0] == '@')
			e++;
		size_t elen = strlen(e);
		if (dlen == elen && util_strcasecmp(domain, e) == 0)
			return 1;
		if (dlen > elen && domain[dlen - elen - 1] == '.' &&
		    util_strcasecmp(domain + dlen - elen, e) == 0)
			return 1;
	}
	return 0;
}

static int
all_recipients_allowed(const struct config *cfg, const struct envelope *env)
{
	if (env->nrcpt == 0 || cfg->recipient_allowlist == NULL || !cfg->recipient_allowlist[0])
		return 0;
	for (size_t i = 0; i < env->nrcpt; i++)
		if (!list_match(cfg->recipient_allowlist, env->rcpt[i].addr))
			return 0;
	return 1;
}

static enum action
by_score(const struct config *cfg, int outbound, double score)
{
	double tag = outbound ? cfg->outbound_tag_score : cfg->inbound_tag_score;
	double quar = outbound ? cfg->outbound_quarantine_score : cfg->inbound_quarantine_score;
	double rej = outbound ? cfg->outbound_reject_score : cfg->inbound_reject_score;

	if (rej > 0 && score >= rej)
		return ACTION_REJECT;
	if (quar > 0 && score >= quar)
		return ACTION_QUARANTINE;
	if (tag > 0 && score >= tag)
		return ACTION_TAG;
	return ACTION_DELIVER;
}

static char *
result_header(const struct scan_result *r, enum action a)
{
	struct buf h = { 0 };

	buf_printf(&h, "X-Sekisho-Result: action=%s; score=%.2f; symbols=", action_name(a),
	    r->score);
	for (size_t i = 0; i < r->nsyms; i++)
		buf_printf(&h, "%s%s(%.2f)", i ? "," : "", r->syms[i].name, r->syms[i].score);
	return buf_steal(&h, NULL);
}

static char *
auth_header(const struct config *cfg, const struct scan_result *r)
{
	const char *id = config_authserv_id(cfg);
	struct buf h = { 0 };

	buf_printf(&h, "Authentication-Results: %s;%s", id, r->nauth ? "" : " none");
	for (size_t i = 0; i < r->nauth; i++)
		buf_printf(&h, "%s%s", i ? ";\r\n\t" : "\r\n\t", r->auth[i]);
	return buf_steal(&h, NULL);
}

static int
is_attach_symbol(const struct policy *p, const char *name)
{
	for (const struct symbol_def *s = p->attach_syms; s && s->name; s++)
		if (strcmp(s->name, name) == 0)
			return 1;
	return 0;
}

static void decide(const struct policy *p, const struct scan_ctx *ctx,
    const struct scan_result *r, const struct scan_result *shown, struct verdict *v,
    struct policy_changes *ch);

void
policy_decide(const struct policy *p, const struct scan_ctx *ctx,
    const struct scan_result *r, struct verdict *v, struct policy_changes *ch)
{
	struct scan_result judged;

	if (p->attach_syms == NULL || r->nbad_parts == 0) {
		decide(p, ctx, r, r, v, ch);
		return;
	}
	/*
	 * Strip: the bad attachments go, so the message is judged on what
	 * stays -- every other check's symbols, none of the attachment
	 * check's.  The headers still show all symbols.
	 */
	judged = *r;
	judged.syms = xcalloc(r->nsyms + 1, sizeof(*judged.syms));
	judged.nsyms = 0;
	judged.score = 0;
	for (size_t i = 0; i < r->nsyms; i++)
		if (!is_attach_symbol(p, r->syms[i].name)) {
			judged.syms[judged.nsyms++] = r->syms[i];
			judged.score += r->syms[i].score;
		}
	decide(p, ctx, &judged, r, v, ch);
	free(judged.syms);
	if (v->action == ACTION_DELIVER || v->action == ACTION_TAG) {
		ch->strip_parts = xcalloc(r->nbad_parts, sizeof(*ch->strip_parts));
		memcpy(ch->strip_parts, r->bad_parts, r->nbad_parts * sizeof(*ch->strip_parts));
		ch->nstrip = r->nbad_parts;
		ch->strip_notice = xstrdup(text_stripped);
	}
}

/*
 * Outbound mail the score lets through may still wait: for an approver,
 * for the sender's confirmation, or for the sender's hold time (the hold
 * ops, src/outbound/outbound_risk.c).  A hold forced by symbol_actions
 * waits for the sender's confirmation unless the risk calls for an
 * approver; without the ops it is an admin hold.
 */
static enum action
outbound_hold(const struct policy *p, const struct scan_ctx *ctx,
    const struct scan_result *r, enum action a, int forced, struct verdict *v)
{
	struct pipeline_hold as;

	if (p->holds == NULL)
		return a;
	p->ops->hold_assess(p->holds, ctx, r, &as);
	if (forced && a == ACTION_HOLD && (as.kind == NULL || strcmp(as.kind, "hold") == 0))
		as.kind = "confirm";
	if (as.kind == NULL)
		return a;
	util_strlcpy(v->hold_kind, as.kind, sizeof(v->hold_kind));
	v->hold_ms = as.hold_ms;
	log_debug("policy: outbound %s risk=%.1f external=%d", as.kind, as.risk, as.external);
	return ACTION_HOLD;
}

static void
decide(const struct policy *p, const struct scan_ctx *ctx, const struct scan_result *r,
    const struct scan_result *shown, struct verdict *v, struct policy_changes *ch)
{
	const struct config *cfg = p->cfg;
	const struct envelope *env = ctx->env;
	enum action a = ACTION_DELIVER;
	const char *why = "score";
	int forced = 0;
	size_t n = 0;

	memset(ch, 0, sizeof(*ch));
	v->score = r->score;
	if (*env->mail_from && list_match(cfg->sender_blocklist, env->mail_from)) {
		a = ACTION_REJECT;
		why = "sender_blocklist";
		forced = 1;
	}
	for (size_t i = 0; forced != 1 && i < p->nforced; i++)
		for (size_t j = 0; j < r->nsyms; j++)
			if (strcmp(p->forced[i].symbol, r->syms[j].name) == 0 &&
			    (forced == 0 || severity(p->forced[i].action) > severity(a))) {
				a = p->forced[i].action;
				why = p->forced[i].symbol;
				forced = 2;
			}
	if (!forced) {
		if ((*env->mail_from && list_match(cfg->sender_allowlist, env->mail_from)) ||
		    all_recipients_allowed(cfg, env)) {
			a = ACTION_DELIVER;
			why = "allowlist";
		} else {
			a = by_score(cfg, ctx->outbound, r->score);
		}
	}
	if (ctx->outbound && forced != 1 && strcmp(why, "allowlist") != 0 &&
	    (a == ACTION_DELIVER || a == ACTION_TAG || a == ACTION_HOLD))
		a = outbound_hold(p, ctx, r, a, forced == 2, v);
	/* an account suspended for sending after takeover-like mail: all its
	 * mail waits for the admin (detect_takeover.c), whatever the score --
	 * kept as evidence for the incident, and no refusal tells the sender */
	if (ctx->outbound && forced != 1 && result_has(r, "ACCT_SUSPENDED")) {
		a = ACTION_HOLD;
		util_strlcpy(v->hold_kind, "admin", sizeof(v->hold_kind));
		v->hold_ms = 0;
		why = "ACCT_SUSPENDED";
	}
	v->action = a;
	if (a == ACTION_REJECT)
		snprintf(v->reply, sizeof(v->reply),
		    "550 5.7.1 Message refused by policy (%s, score %.1f)",
		    forced == 1 ? "sender blocked" : forced == 2 ? why : "spam or unsafe",
		    r->score);
	log_debug("policy: action=%s reason=%s score=%.2f", action_name(a), why, r->score);

	ch->remove = p->remove;
	ch->prepend = xcalloc(3, sizeof(*ch->prepend));
	ch->prepend[n++] = auth_header(cfg, shown);
	ch->prepend[n++] = result_header(shown, a);
	if (a == ACTION_TAG) {
		if (*cfg->tag_subject_prefix)
			ch->subject_prefix = xstrdup(cfg->tag_subject_prefix);
		if (cfg->banner_suspicious) {
			ch->text_banner = xstrdup(text_suspicious);
			ch->html_banner = xstrdup(html_suspicious);
		}
	} else if (!ctx->outbound && cfg->banner_external && a == ACTION_DELIVER) {
		ch->text_banner = xstrdup(text_external);
		ch->html_banner = xstrdup(html_external);
	}
	/* wide external mail: the recipients stop seeing each other; the
	 * envelope, and so the delivery, is unchanged */
	if (ctx->outbound && strcmp(cfg->wide_external_action, "bcc") == 0 &&
	    result_has(shown, "OUT_WIDE_EXTERNAL"))
		ch->bcc_addrs = outbound_bcc_addrs(cfg, ctx->msg);
}

void
policy_changes_clear(struct policy_changes *ch)
{
	for (char **p = ch->prepend; p && *p; p++)
		free(*p);
	free(ch->prepend);
	free(ch->subject_prefix);
	free(ch->text_banner);
	free(ch->html_banner);
	free(ch->strip_parts);
	free(ch->strip_notice);
	for (char **p = ch->bcc_addrs; p && *p; p++)
		free(*p);
	free(ch->bcc_addrs);
	memset(ch, 0, sizeof(*ch));
}
