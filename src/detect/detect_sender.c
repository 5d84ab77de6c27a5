/*
 * detect_sender.c - who the message claims to be from, and who it is from.
 *
 * Symbols (declared in detect_phish.c), inbound mail only:
 *   PHISH_FROM_NAME_ADDR       the display name holds an address of another
 *                              domain ("support@bank.jp" <x@evil.example>)
 *   PHISH_FROM_NAME_BRAND      the display name names a brand or shows a
 *                              protected domain the From domain is not one of
 *   PHISH_FROM_NAME_DOMAIN     the display name shows another domain
 *                              ("proton.me Helpdesk" <x@evil.example>)
 *   PHISH_FROM_NAME_EXECUTIVE  an executive's name (executive_names) from an
 *                              external sender
 *   PHISH_FROM_LOOKALIKE       the From domain imitates a protected domain
 *                              (ours, protected_domains, a brand)
 *   PHISH_FROM_OWN_DOMAIN      one of local_domains in From, arriving from
 *                              outside without authentication
 *   PHISH_BRAND_AUTH_FAIL      From is a protected domain and DMARC failed
 *   PHISH_REPLYTO_MISMATCH     Reply-To goes to another registrable domain
 *   PHISH_REPLYTO_FREEMAIL     ... to a free-mail domain the From is not
 *   PHISH_RETURNPATH_MISMATCH  the envelope sender's registrable domain is not
 *                              the From one (weak: mailing services do this)
 * Mailing-list mail (List-Id, List-Post) rewrites From and Reply-To by
 * design: the Reply-To, Return-Path and display-address checks skip it.
 *
 * The DMARC result is read from the scan result (the auth detector runs
 * before this one); with network_checks off there is none, and the brand
 * check stays silent.
 */
#include "detect/detect_phish.h"
#include "message/message.h"
#include "util/util.h"

#include <glib.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
is_list_mail(const struct message *m)
{
	return message_header(m, "List-Id") != NULL || message_header(m, "List-Post") != NULL ||
	    message_header(m, "X-Mailman-Version") != NULL ||
	    message_header(m, "Mailing-List") != NULL;
}

/* The local_domains entry domain is, or is a subdomain of; NULL if none. */
static const char *
own_entry(const struct config *cfg, const char *domain)
{
	size_t dl;

	if (domain == NULL)
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

/* Remove spaces and the punctuation names are written with. */
static char *
squash(const char *folded)
{
	char *out = xmalloc(strlen(folded) + 1), *o = out;

	for (const char *p = folded; *p; p++) {
		if (strchr(" \t._-,'\"()", *p) != NULL)
			continue;
		/* U+30FB katakana middle dot, which NFKC keeps */
		if ((unsigned char)p[0] == 0xe3 && (unsigned char)p[1] == 0x83 &&
		    (unsigned char)p[2] == 0xbb) {
			p += 2;
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* The first "local@domain" inside text; its domain copied into dom. */
static int
address_in(const char *text, char *dom, size_t len)
{
	for (const char *at = strchr(text, '@'); at != NULL; at = strchr(at + 1, '@')) {
		size_t dl = strspn(at + 1, "abcdefghijklmnopqrstuvwxyz0123456789.-");
		const char *b = at;

		while (b > text && strchr("abcdefghijklmnopqrstuvwxyz0123456789._+-", b[-1]) != NULL)
			b--;
		if (b == at || dl == 0 || memchr(at + 1, '.', dl) == NULL)
			continue;
		snprintf(dom, len, "%.*s", (int)dl, at + 1);
		while (*dom != '\0' && dom[strlen(dom) - 1] == '.')
			dom[strlen(dom) - 1] = '\0';
		if (phish_known_tld(dom))
			return 1;
	}
	return 0;
}

/*
 * The first host name written in the display name ("Amazon.co.jp",
 * "proton.me Helpdesk"), or NULL.  malloc'ed.
 */
static char *
domain_in_name(const char *folded)
{
	const char *p = folded;

	while (*p) {
		size_t tl;

		p += strcspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");
		tl = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789.-");
		if (tl == 0)
			break;
		if (memchr(p, '.', tl) != NULL && p[tl] != '@' && (p == folded || p[-1] != '@')) {
			char *h = xstrndup(p, tl);

			while (*h != '\0' && h[strlen(h) - 1] == '.')
				h[strlen(h) - 1] = '\0';
			if (strchr(h, '.') != NULL && *h != '.' && phish_known_tld(h))
				return h;
			free(h);
		}
		p += tl;
	}
	return NULL;
}

static void
display_checks(const struct phish_rules *pr, const struct scan_ctx *ctx, struct scan_result *r,
    const struct msg_addr *from, const char *fdom, int list, struct sender_facts *sf)
{
	char *folded, *shown, dom[256];
	const struct brand *b;
	const char *word = NULL;
	int addr_shown = 0;

	if (from->display == NULL || *from->display == '\0')
		return;
	folded = phish_fold(from->display);
	if (!list && address_in(folded, dom, sizeof(dom))) {
		char *reg = message_registrable_domain(dom);

		if (strcmp(reg, fdom) != 0) {
			result_add(r, "PHISH_FROM_NAME_ADDR", "the name shows an address at %s, the"
			    " mail is from %s", dom, from->domain);
			sf->display_spoof = 1;
			addr_shown = 1;
		}
		free(reg);
	}
	/* a brand's own free-mail service is anyone's (user@outlook.com,
	 * user@gmail.com); its own systems (reply.yahoo.com) are the brand's */
	if ((shown = domain_in_name(folded)) != NULL) {
		char *reg = message_registrable_domain(shown);
		struct look_match lm;
		enum look_kind k = brandset_lookalike(pr->brands, shown, NULL, &lm);

		if (k != LOOK_NONE && ((!brand_owns(lm.brand, fdom) &&
		    !brand_owns(lm.brand, from->domain)) || domset_has(pr->freemail, from->domain))) {
			result_add(r, "PHISH_FROM_NAME_BRAND", "the name shows %s (%s), the mail is"
			    " from %s", shown, lm.brand->name, from->domain);
			sf->display_spoof = 1;
		} else if (k == LOOK_NONE && strcmp(reg, fdom) != 0 && !addr_shown)
			/* weak: newsletters are named after their site ("News.com") */
			result_add(r, "PHISH_FROM_NAME_DOMAIN", "the name shows %s, the mail is from %s",
			    shown, from->domain);
		free(reg);
	}
	/* "Lockergnome Apple Core" from lockergnome.com: the name is the
	 * sender's own, the brand its newsletter's topic */
	if (shown == NULL && ((b = brandset_named(pr->brands, folded, &word)) != NULL ||
	    (b = brandset_named_lookalike(pr->brands, from->display, &word)) != NULL) &&
	    ((!brand_owns(b, fdom) && !brand_owns(b, from->domain) &&
	    !phish_name_names_sender(pr->brands, folded, from->domain, word)) ||
	    domset_has(pr->freemail, from->domain))) {
		result_add(r, "PHISH_FROM_NAME_BRAND", "the name says \"%s\" (%s), the mail is"
		    " from %s", word, b->name, from->domain);
		sf->display_spoof = 1;
	}
	if (sf->external && pr->nexecutives > 0) {
		char *sq = squash(folded);

		for (size_t i = 0; i < pr->nexecutives; i++)
			if (strstr(sq, pr->executives[i]) != NULL) {
				result_add(r, "PHISH_FROM_NAME_EXECUTIVE", "the name \"%s\" is an"
				    " executive's, the mail is from outside (%s)", from->display,
				    from->domain);
				sf->display_spoof = 1;
				break;
			}
		free(sq);
	}
	free(shown);
	free(folded);
	(void)ctx;
}

/*
 * The author as the reader sees it.  "Facebook, _ <x@evil.example>" parses
 * as two addresses, the first without one: the display names of entries
 * without an address belong to the one that has it.  A mailing list that
 * rewrote From for DMARC ("Name via List" <list@lists.example>) keeps the
 * author in Reply-To: *rewritten is set and the author is taken from there.
 */
static int
author_of(const struct message *m, int list, struct msg_addr *out, char **display,
    int *rewritten)
{
	const struct msg_addr *a = NULL;
	GString *name = g_string_new(NULL);

	*rewritten = 0;
	for (size_t i = 0; i < m->nfrom; i++) {
		const struct msg_addr *e = &m->from[i];

		if (a == NULL && e->domain != NULL && *e->domain != '\0')
			a = e;
		else if (e->domain == NULL || *e->domain == '\0') {
			const char *t = e->display != NULL ? e->display : e->addr;

			if (t != NULL && *t != '\0')
				g_string_append_printf(name, "%s%s", name->len ? " " : "", t);
		}
	}
	if (a == NULL) {
		g_string_free(name, TRUE);
		return -1;
	}
	if (list && a->display != NULL && strstr(a->display, " via ") != NULL &&
	    m->nreply_to > 0 && m->reply_to[0].domain != NULL && *m->reply_to[0].domain != '\0') {
		a = &m->reply_to[0];
		*rewritten = 1;
	}
	if (a->display != NULL && *a->display != '\0')
		g_string_append_printf(name, "%s%s", name->len ? " " : "", a->display);
	*out = *a;
	*display = g_string_free(name, FALSE);
	out->display = *display;
	return 0;
}

void
phish_check_sender(const struct phish_rules *pr, const struct scan_ctx *ctx,
    struct scan_result *r, struct sender_facts *sf)
{
	const struct message *m = ctx->msg;
	struct msg_addr author;
	const struct msg_addr *from = &author;
	char *fdom, *u8 = NULL, *display = NULL;
	struct look_match lm;
	enum look_kind k;
	const char *org;
	int list, rewritten;

	list = is_list_mail(m);
	if (ctx->outbound || author_of(m, list, &author, &display, &rewritten) < 0)
		return;
	fdom = message_registrable_domain(from->domain);
	util_strlcpy(sf->from_domain, fdom, sizeof(sf->from_domain));
	sf->external = own_entry(ctx->cfg, from->domain) == NULL;

	display_checks(pr, ctx, r, from, fdom, list && !rewritten, sf);

	/* the From domain itself */
	if (strstr(from->domain, "xn--") != NULL &&
	    idn2_to_unicode_8z8z(from->domain, &u8, 0) != IDN2_OK) {
		idn2_free(u8);
		u8 = NULL;
	}
	k = brandset_lookalike(pr->brands, from->domain, u8, &lm);
	if (k != LOOK_NONE && k != LOOK_SAME) {
		result_add(r, "PHISH_FROM_LOOKALIKE", "the sender's domain %s imitates %s (%s)",
		    u8 != NULL ? u8 : from->domain, lm.domain, look_kind_name(k));
		sf->lookalike = 1;
	}
	if (k == LOOK_SAME && (result_has(r, "DMARC_FAIL_REJECT") ||
	    result_has(r, "DMARC_FAIL_QUARANTINE") || result_has(r, "DMARC_FAIL_NONE")))
		result_add(r, "PHISH_BRAND_AUTH_FAIL", "mail in the name of %s (%s) failed DMARC",
		    from->domain, lm.brand->name);
	/* whom the organisation corresponds with */
	if (sf->external && (org = phish_org(ctx->cfg, ctx)) != NULL) {
		int known = history_known(pr->history, org, fdom);
		char imitated[256];

		if (known == 0 && ctx->cfg->first_contact) {
			result_add(r, "PHISH_FIRST_CONTACT", "first mail from %s to %s", fdom, org);
			sf->first_contact = 1;
		}
		if (known != 1 && k != LOOK_SAME && history_lookalike(pr->history, org,
		    from->domain, u8, imitated, sizeof(imitated)) != LOOK_NONE) {
			result_add(r, "PHISH_FROM_LOOKALIKE_CONTACT", "the sender's domain %s imitates"
			    " %s, a correspondent of %s", u8 != NULL ? u8 : from->domain, imitated, org);
			sf->lookalike = 1;
		}
	}
	idn2_free(u8);
	if (!sf->external && ctx->env->auth_user == NULL)
		result_add(r, "PHISH_FROM_OWN_DOMAIN", "From is our own domain %s, but the mail"
		    " comes from outside", from->domain);

	/* where replies and bounces go */
	if (!list && !rewritten && m->nreply_to > 0 && m->reply_to[0].domain != NULL &&
	    *m->reply_to[0].domain != '\0') {
		char *rdom = message_registrable_domain(m->reply_to[0].domain);
		const struct brand *owner = brandset_owner(pr->brands, fdom);

		if (strcmp(rdom, fdom) != 0 && !(owner != NULL && brand_owns(owner, rdom))) {
			if (domset_has(pr->freemail, rdom) && !domset_has(pr->freemail, from->domain))
				result_add(r, "PHISH_REPLYTO_FREEMAIL", "replies go to free mail (%s),"
				    " not to %s", m->reply_to[0].addr, from->domain);
			else
				result_add(r, "PHISH_REPLYTO_MISMATCH", "replies go to %s, not to %s",
				    m->reply_to[0].domain, from->domain);
			sf->replyto_mismatch = 1;
		}
		free(rdom);
	}
	if (!list && ctx->env->mail_from != NULL && *ctx->env->mail_from != '\0') {
		const char *ed = envelope_domain(ctx->env->mail_from);
		char *edom = *ed ? message_registrable_domain(ed) : NULL;

		if (edom != NULL && strcmp(edom, fdom) != 0)
			result_add(r, "PHISH_RETURNPATH_MISMATCH", "the envelope sender is at %s,"
			    " From at %s", ed, from->domain);
		free(edom);
	}
	free(fdom);
	g_free(display);
}

const char *
phish_org(const struct config *cfg, const struct scan_ctx *ctx)
{
	const struct message *m = ctx->msg;

	if (ctx->outbound) {
		for (size_t i = 0; i < m->nfrom; i++)
			if (own_entry(cfg, m->from[i].domain) != NULL)
				return own_entry(cfg, m->from[i].domain);
		return ctx->env->mail_from != NULL ?
		    own_entry(cfg, envelope_domain(ctx->env->mail_from)) : NULL;
	}
	for (size_t i = 0; i < ctx->env->nrcpt; i++) {
		const char *org = own_entry(cfg, envelope_domain(ctx->env->rcpt[i].addr));

		if (org != NULL)
			return org;
	}
	return NULL;
}

/*
 * Mail let through (deliver or tag) makes its correspondents known: the
 * author's domain of inbound mail, the recipients' domains of outbound
 * mail.  Quarantined, rejected and held mail teaches nothing; neither does
 * a scan that ran out of time.
 */
void
phish_verdict(void *state, const struct scan_ctx *ctx, const struct scan_result *r,
    int action)
{
	const struct phish_rules *pr = state;
	const struct message *m = ctx->msg;
	const char *org;

	if (action > 1 || pr->history == NULL || result_has(r, "SCAN_TIMEOUT") ||
	    (org = phish_org(pr->cfg, ctx)) == NULL)
		return;
	if (ctx->outbound) {
		for (size_t i = 0; i < ctx->env->nrcpt; i++) {
			const char *d = envelope_domain(ctx->env->rcpt[i].addr);
			char *reg;

			if (*d == '\0' || own_entry(pr->cfg, d) != NULL)
				continue;
			reg = message_registrable_domain(d);
			history_note(pr->history, org, reg, 1);
			free(reg);
		}
		return;
	}
	{
		struct msg_addr author;
		char *display = NULL, *reg;
		int rewritten;

		if (author_of(m, is_list_mail(m), &author, &display, &rewritten) < 0)
			return;
		if (own_entry(pr->cfg, author.domain) == NULL) {
			reg = message_registrable_domain(author.domain);
			history_note(pr->history, org, reg, 0);
			free(reg);
		}
		g_free(display);
	}
}
