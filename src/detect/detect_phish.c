/*
 * detect_phish.c - phishing and targeted attacks: the detector.
 *
 * Runs after the sender-authentication detector (it reads DMARC's verdict)
 * and before the classifier.  Four groups of checks, each in its own file:
 * links and forms (detect_url.c), the sender (detect_sender.c), what the
 * text says and for whom (detect_content.c), and business-email compromise
 * (detect_bec.c), which weighs the sender's signs.
 * Lookalike matching and the shared text helpers are in detect_lookalike.c,
 * the threat feeds in detect_feeds.c.  No network: DNS blocklists are the
 * dnsbl detector's (detect_dnsbl.c).
 *
 * Symbols: see the table below (and docs/phishing.md).
 *
 * Options:
 *   local_domains, protected_domains  the organisation's own domains: their
 *                                     lookalikes are flagged like brands'
 *   executive_names                   names whose use in a display name by an
 *                                     outside sender is a spoof
 *   threat_feeds, threat_feeds_reload_interval
 *   first_contact, first_contact_warmup   the correspondents history
 *                                     (detect_history.c, in the store)
 *   rules_dir                         brands.txt, shorteners.txt,
 *                                     redirectors.txt, freemail.txt, hosting.txt
 *
 * State: the rules are read at init and only read afterwards, except the
 * feeds, which reload themselves under their own lock, and the
 * correspondents history, which the verdict callback writes (the sender's
 * domain of inbound mail let through, the recipients' of outbound mail).  A missing rules
 * file or an unreadable feed is a start-up error.
 */
#include "detect/detect_phish.h"
#include "util/config.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct symbol_def phish_symbols[] = {
	{ "PHISH_LINK_MISMATCH", 3.0, "a link's text shows one domain and the link goes to another" },
	{ "PHISH_LINK_MISMATCH_BRAND", 6.0,
	  "a link's text shows a protected or brand domain and the link goes elsewhere" },
	{ "PHISH_URL_IP", 2.5, "a link to an IP address instead of a name" },
	{ "PHISH_URL_NUMERIC_IP", 5.0, "a link to an IP address written as one number, in hex or octal" },
	{ "PHISH_URL_USERINFO", 3.0, "a link with a host name before '@' (https://bank.example@evil/)" },
	{ "PHISH_URL_PUNYCODE", 0.5, "a link to an internationalised (xn--) host name" },
	{ "PHISH_URL_MIXED_SCRIPT", 3.0, "a link host that mixes scripts or hides characters" },
	{ "PHISH_URL_LOOKALIKE", 5.0,
	  "a link host imitates a protected domain (misspelt, look-alike letters, added words, other suffix)" },
	{ "PHISH_URL_BRAND_SUBDOMAIN", 5.0, "a protected domain used as a subdomain of another (paypal.com.evil.example)" },
	{ "PHISH_URL_SHORTENER", 1.0, "a link through a URL shortener" },
	{ "PHISH_URL_DATA", 3.0, "a data: link that opens a document" },
	{ "PHISH_URL_JAVASCRIPT", 1.5, "a javascript: link" },
	{ "PHISH_FORM_PASSWORD", 4.0, "an HTML form (body or attachment) that asks for a password" },
	{ "PHISH_FORM_PASSWORD_OFFSITE", 6.0,
	  "an HTML form that asks for a password and posts it to another domain than the sender's" },
	{ "PHISH_FORM_POST", 0.0, "an HTML form that posts data somewhere" },
	{ "PHISH_URL_RECIPIENT", 3.0, "a link carries the recipient's address in its fragment (a login page filled in for them)" },
	{ "PHISH_URL_FREE_HOSTING", 2.0, "a link to a free hosting or cloud site phishing pages are put on" },
	{ "PHISH_LURE", 3.5, "the words of a credential or payment lure (account suspended, verify, password expiring...)" },
	{ "PHISH_BRAND_OFFSITE", 4.0,
	  "the message speaks for a brand and no link goes to it, or one goes to an IP or carries the brand in its path" },
	{ "PHISH_FEED_URL", 8.0, "a link listed in a local threat feed" },
	{ "PHISH_FEED_DOMAIN", 6.0, "a link to a host or domain listed in a local threat feed" },
	{ "PHISH_FROM_NAME_ADDR", 3.0, "the display name holds an address of another domain than the sender's" },
	{ "PHISH_FROM_NAME_BRAND", 4.0, "the display name names a brand or protected domain the sender is not" },
	{ "PHISH_FROM_NAME_DOMAIN", 0.5, "the display name shows another domain than the sender's" },
	{ "PHISH_FROM_NAME_EXECUTIVE", 4.0, "an executive's name (executive_names) from an outside sender" },
	{ "PHISH_FROM_LOOKALIKE", 6.0, "the sender's domain imitates our own, a protected or a brand domain" },
	{ "PHISH_FROM_OWN_DOMAIN", 1.0, "our own domain in From on mail from outside, without authentication" },
	{ "PHISH_BRAND_AUTH_FAIL", 4.0, "mail in the name of a protected or brand domain failed DMARC" },
	{ "PHISH_FROM_LOOKALIKE_CONTACT", 6.0,
	  "the sender's domain imitates a domain the organization corresponds with" },
	{ "PHISH_FIRST_CONTACT", 1.0,
	  "the first mail from this domain to the organization (after first_contact_warmup)" },
	{ "PHISH_REPLYTO_MISMATCH", 1.0, "Reply-To goes to another domain than From" },
	{ "PHISH_REPLYTO_FREEMAIL", 4.0, "Reply-To goes to a free-mail address; From is not free mail" },
	{ "PHISH_RETURNPATH_MISMATCH", 0.5, "the envelope sender's domain is not the From domain" },
	{ "BEC_BANK_CHANGE", 3.0, "a request to change bank or payment details" },
	{ "BEC_PAYMENT_URGENT", 1.0, "a payment request with urgency or secrecy" },
	{ "BEC_ACCOUNT_DETAILS", 0.5, "bank account details (IBAN, SWIFT/BIC, Japanese account number)" },
	{ "BEC_HIGH_RISK", 5.0,
	  "a payment or bank-change request with Reply-To elsewhere, a lookalike domain, a spoofed name or first contact" },
	{ NULL, 0, NULL },
};

static char *
rules_path(const struct config *cfg, const char *name)
{
	return xasprintf("%s/%s", cfg->rules_dir, name);
}

static int
load_set(const struct config *cfg, const char *name, struct domset **out, char *err,
    size_t errlen)
{
	char *path = rules_path(cfg, name);
	int rc;

	*out = domset_new();
	rc = domset_load(*out, path, err, errlen);
	free(path);
	return rc;
}

/* "山田 太郎", "Taro_Yamada" -> "山田太郎", "taroyamada" (and "yamadataro"). */
static void
add_executive(struct phish_rules *pr, const char *name)
{
	char *f = phish_fold(name), *sq = xmalloc(strlen(f) + 1), *o = sq;
	char *us = strchr(f, '_');

	for (const char *p = f; *p; p++)
		if (strchr(" \t._-,'\"()", *p) == NULL)
			*o++ = *p;
	*o = '\0';
	if (*sq != '\0') {
		pr->executives = xrealloc(pr->executives, (pr->nexecutives + 2) * sizeof(char *));
		pr->executives[pr->nexecutives++] = sq;
		if (us != NULL && strchr(us + 1, '_') == NULL) {
			*us = '\0';
			pr->executives[pr->nexecutives++] = xasprintf("%s%s", us + 1, f);
		}
	} else
		free(sq);
	free(f);
}

static void phish_free(void *state);

static int
phish_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	struct phish_rules *pr = xcalloc(1, sizeof(*pr));
	char *path;

	pr->cfg = cfg;
	pr->brands = brandset_new();
	path = rules_path(cfg, "brands.txt");
	if (brandset_load(pr->brands, path, err, errlen) < 0) {
		free(path);
		goto fail;
	}
	free(path);
	for (char **p = cfg->local_domains; p != NULL && *p != NULL; p++)
		brandset_add_own(pr->brands, *p);
	for (char **p = cfg->protected_domains; p != NULL && *p != NULL; p++)
		brandset_add_own(pr->brands, *p);
	if (load_set(cfg, "shorteners.txt", &pr->shorteners, err, errlen) < 0 ||
	    load_set(cfg, "redirectors.txt", &pr->redirectors, err, errlen) < 0 ||
	    load_set(cfg, "freemail.txt", &pr->freemail, err, errlen) < 0 ||
	    load_set(cfg, "hosting.txt", &pr->hosting, err, errlen) < 0)
		goto fail;
	for (char **p = cfg->executive_names; p != NULL && *p != NULL; p++)
		add_executive(pr, *p);
	if (cfg->threat_feeds != NULL && cfg->threat_feeds[0] != NULL) {
		char **files;
		size_t n = 0;

		for (char **p = cfg->threat_feeds; *p; p++)
			n++;
		files = xcalloc(n + 1, sizeof(*files));
		for (size_t i = 0; i < n; i++)
			files[i] = config_state_path(cfg, cfg->threat_feeds[i]);
		pr->feeds = feeds_new(files, cfg->threat_feeds_reload_interval, err, errlen);
		for (size_t i = 0; i < n; i++)
			free(files[i]);
		free(files);
		if (pr->feeds == NULL)
			goto fail;
	}
	pr->history = history_new(cfg);
	*state = pr;
	return 0;
fail:
	{
		char msg[512];

		snprintf(msg, sizeof(msg), "phish: %s", err);
		util_strlcpy(err, msg, errlen);
	}
	phish_free(pr);
	return -1;
}

static void
phish_free(void *state)
{
	struct phish_rules *pr = state;

	if (pr == NULL)
		return;
	brandset_free(pr->brands);
	domset_free(pr->shorteners);
	domset_free(pr->redirectors);
	domset_free(pr->freemail);
	domset_free(pr->hosting);
	for (size_t i = 0; i < pr->nexecutives; i++)
		free(pr->executives[i]);
	free(pr->executives);
	feeds_free(pr->feeds);
	history_free(pr->history);
	free(pr);
}

static void
phish_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	const struct phish_rules *pr = state;
	struct sender_facts sf;
	char *folded = phish_scan_text(ctx->msg, 256 * 1024);

	memset(&sf, 0, sizeof(sf));
	phish_check_urls(pr, ctx, r);
	phish_check_sender(pr, ctx, r, &sf);
	phish_check_content(pr, ctx, r, folded);
	phish_check_bec(pr, ctx, &sf, r, folded);
	free(folded);
}

const struct detector detect_phish = {
	.name = "phish",
	.symbols = phish_symbols,
	.init = phish_init,
	.scan = phish_scan,
	.free = phish_free,
	.verdict = phish_verdict,
};
