/*
 * test_phish.c - phishing, lookalike, sender-spoofing, BEC, threat-feed and
 * DNS-blocklist checks as tables.
 *
 * The pieces first (edit distance, skeletons, mixed scripts, lookalike
 * kinds, brand words, anchor text, redirector unwrapping, URL authority,
 * BEC phrases and account patterns), then whole messages through the
 * phish detector with per-case settings, then the threat feeds (formats,
 * reload on change, look-ups from several threads during reloads), the
 * correspondents history (first contact, lookalikes of correspondents, the
 * pipeline's verdict writing it to the store), then DNSBL/URIBL against a real unbound serving test zones (skipped when
 * /usr/sbin/unbound is missing) and a server that never answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect/detect.h"
#include "detect/detect_headers.h"
#include "detect/detect_phish.h"
#include "message/message.h"
#include "outbound/outbound.h"
#include "policy/pipeline.h"
#include "store/store.h"
#include "store/envelope.h"
#include "util/base64.h"
#include "util/config.h"
#include "util/dns.h"
#include "util/util.h"
#include "unbound_helper.h"

static struct config *base_cfg;
static struct detect_engine *engine;	/* for the score table */
static struct brandset *brands;

static const char *
src_dir(void)
{
	const char *s = getenv("SEKISHO_SRC");

	return s != NULL ? s : ".";
}

/* A config from "name=value;name=value" on top of test defaults. */
static struct config *
make_cfg(const char *settings)
{
	struct config *cfg = config_new();
	char err[256], *rules = xasprintf("%s/rules", src_dir());
	char *copy, *tok, *save = NULL;

	assert_int_equal(config_set(cfg, "rules_dir", rules, err, sizeof(err)), 0);
	free(rules);
	assert_int_equal(config_set(cfg, "network_checks", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "bayes_enable", "no", err, sizeof(err)), 0);
	/* other detectors' switches, where this tree has them */
	(void)config_set(cfg, "attach_enable", "no", err, sizeof(err));
	copy = xstrdup(settings != NULL ? settings : "");
	for (tok = strtok_r(copy, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save))
		if (config_override(cfg, tok, err, sizeof(err)) < 0)
			fail_msg("%s: %s", tok, err);
	free(copy);
	return cfg;
}

static int
group_setup(void **state)
{
	char err[512], *path;

	(void)state;
	base_cfg = make_cfg("local_domains=example.co.jp;protected_domains=sample-seiki.example.jp");
	engine = detect_new(base_cfg, err, sizeof(err));
	if (engine == NULL) {
		fprintf(stderr, "detect_new: %s\n", err);
		return -1;
	}
	brands = brandset_new();
	path = xasprintf("%s/rules/brands.txt", src_dir());
	if (brandset_load(brands, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		free(path);
		return -1;
	}
	free(path);
	brandset_add_own(brands, "example.co.jp");
	brandset_add_own(brands, "sample-seiki.example.jp");
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	brandset_free(brands);
	detect_free(engine);
	config_free(base_cfg);
	return 0;
}

/* ---- the pieces ---- */

static void
test_distance(void **state)
{
	static const struct {
		const char *a, *b;
		int max, want;
	} cases[] = {
		{ "amazon", "amazon", 2, 0 },
		{ "amazon", "amazom", 2, 1 },		/* substitution */
		{ "amazon", "amzaon", 2, 1 },		/* transposition counts once */
		{ "amazon", "amazoon", 2, 1 },		/* insertion */
		{ "amazon", "amzn", 2, 2 },
		{ "microsoft", "mircosoft", 2, 1 },
		{ "kuronekoyamato", "kuronekoyannato", 2, 2 },
		{ "paypal", "google", 2, 3 },		/* above max: max + 1 */
		{ "a", "abcdefgh", 2, 3 },		/* length difference alone */
		{ "三井住友", "三井往友", 2, 1 },	/* code points, not bytes */
		{ "", "", 2, 0 },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		int d = phish_distance(cases[i].a, cases[i].b, cases[i].max);

		if (d != cases[i].want)
			fail_msg("distance(%s, %s) = %d, want %d", cases[i].a, cases[i].b, d,
			    cases[i].want);
	}
}

static void
test_skeleton(void **state)
{
	static const struct {
		const char *a, *b;
		int same;
	} cases[] = {
		{ "\xd0\xb0pple", "apple", 1 },		/* Cyrillic а */
		{ "paypa1", "paypal", 1 },		/* 1 and l */
		{ "rnicrosoft", "microsoft", 1 },	/* rn and m */
		{ "amaz0n", "amazon", 1 },		/* 0 and o */
		{ "PAYPAL", "paypal", 1 },
		{ "g\xce\xbf\xce\xbfgle", "google", 1 },	/* Greek ο */
		{ "amazan", "amazon", 0 },
		{ "tesco", "tepco", 0 },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *x = phish_skeleton(cases[i].a), *y = phish_skeleton(cases[i].b);
		int same = strcmp(x, y) == 0;

		if (same != cases[i].same)
			fail_msg("skeleton(%s)=%s skeleton(%s)=%s: same %d, want %d", cases[i].a, x,
			    cases[i].b, y, same, cases[i].same);
		free(x);
		free(y);
	}
}

static void
test_mixed_script(void **state)
{
	static const struct {
		const char *host;
		int mixed;
	} cases[] = {
		{ "\xd0\xb0pple.com", 1 },		/* Latin with one Cyrillic letter */
		{ "p\xce\xb1ypal.com", 1 },		/* Greek α */
		{ "apple.com", 0 },
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.jp", 0 },	/* 日本語.jp */
		{ "\xe3\x81\x8a\xe5\x90\x8d\xe5\x89\x8d-abc.jp", 0 },	/* おなまえ with Latin: Japanese */
		{ "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84", 0 },	/* пример.рф */
		{ "exa\xe2\x80\x8bmple.com", 1 },	/* a zero-width space */
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++)
		if (phish_mixed_script(cases[i].host) != cases[i].mixed)
			fail_msg("mixed_script(%s) != %d", cases[i].host, cases[i].mixed);
}

static void
test_lookalike(void **state)
{
	static const struct {
		const char *host, *utf8;
		enum look_kind want;
		const char *domain;	/* the protected domain named, or NULL */
	} cases[] = {
		/* the brand's own */
		{ "amazon.co.jp", NULL, LOOK_SAME, NULL },
		{ "www.amazon.co.jp", NULL, LOOK_SAME, NULL },
		{ "amazon.de", NULL, LOOK_SAME, NULL },
		{ "bounces.amazonses.com", NULL, LOOK_SAME, NULL },
		{ "www.post.japanpost.jp", NULL, LOOK_SAME, NULL },
		{ "yahoo.com.au", NULL, LOOK_SAME, NULL },	/* a brand's country domain */
		{ "mail.example.co.jp", NULL, LOOK_SAME, NULL },	/* our own */
		/* look-alike characters */
		{ "arnazon.co.jp", NULL, LOOK_HOMOGLYPH, "amazon.co.jp" },
		{ "amaz0n.co.jp", NULL, LOOK_HOMOGLYPH, "amazon.co.jp" },
		{ "rnicrosoft.com", NULL, LOOK_HOMOGLYPH, "microsoft.com" },
		{ "micros0ft.com", NULL, LOOK_HOMOGLYPH, "microsoft.com" },
		{ "paypa1.com", NULL, LOOK_HOMOGLYPH, "paypal.com" },
		{ "xn--pple-43d.com", "\xd0\xb0pple.com", LOOK_HOMOGLYPH, "apple.com" },
		{ "sarnple-seiki.example.jp", NULL, LOOK_HOMOGLYPH, "sample-seiki.example.jp" },
		/* misspelt */
		{ "mircosoft.com", NULL, LOOK_TYPO, "microsoft.com" },
		{ "rakutem.co.jp", NULL, LOOK_TYPO, "rakuten.co.jp" },
		{ "kuronekoyannato.com", NULL, LOOK_TYPO, "kuronekoyamato.co.jp" },
		{ "sample-selki.example.jp", NULL, LOOK_TYPO, "sample-seiki.example.jp" },
		/* added words */
		{ "amazon-secure.co.jp", NULL, LOOK_ADDED, "amazon.co.jp" },
		{ "smbc-card-login.com", NULL, LOOK_ADDED, "smbc-card.com" },
		{ "amazon-jp.com", NULL, LOOK_ADDED, "amazon.com" },
		{ "amazon-jp.net", NULL, LOOK_ADDED, NULL },
		{ "secure-paypal-login.net", NULL, LOOK_ADDED, NULL },
		{ "paypalsupport.com", NULL, LOOK_ADDED, "paypal.com" },
		{ "example-co.jp", NULL, LOOK_ADDED, "example.co.jp" },
		/* another suffix */
		{ "amazon.xyz", NULL, LOOK_OTHER_TLD, "amazon.co.jp" },
		{ "example.com", NULL, LOOK_OTHER_TLD, "example.co.jp" },
		/* as a subdomain */
		{ "paypal.com.evil.example", NULL, LOOK_SUBDOMAIN, "paypal.com" },
		{ "www.amazon.co.jp.signin.example.net", NULL, LOOK_SUBDOMAIN, "amazon.co.jp" },
		{ "amazon.rrxrx.cn", NULL, LOOK_SUBDOMAIN, "amazon.co.jp" },
		{ "www-aeon-co-jp.rocknrollunderground.com", NULL, LOOK_SUBDOMAIN, "aeon.co.jp" },
		{ "etc1-melsai.geg5.cn", NULL, LOOK_SUBDOMAIN, "etc-meisai.jp" },
		{ "mail.example.co.jp.owa-login.example.net", NULL, LOOK_SUBDOMAIN, "example.co.jp" },
		/* unrelated, including near misses that are real names */
		{ "github.com", NULL, LOOK_NONE, NULL },
		{ "appleinsider.com", NULL, LOOK_NONE, NULL },
		{ "paypal-community.com", NULL, LOOK_SAME, NULL },
		{ "u.pcloud.link", NULL, LOOK_NONE, NULL },	/* icloud, one letter off */
		{ "www.tesco.ie", NULL, LOOK_NONE, NULL },	/* tepco, one letter off */
		{ "mail.app", NULL, LOOK_NONE, NULL },		/* gmail */
		{ "gwmail.gwu.edu", NULL, LOOK_NONE, NULL },
		{ "yahoo.fr", NULL, LOOK_SAME, NULL },		/* a brand's country domain */
		{ "www.citi.umich.edu", NULL, LOOK_NONE, NULL },	/* a short name is a word */
		{ "japan-visa.com", NULL, LOOK_NONE, NULL },	/* visa is a word: not compared */
		{ "uk.my.yahoo.comm", NULL, LOOK_NONE, NULL },	/* no such suffix */
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct look_match m;
		enum look_kind k;

		memset(&m, 0, sizeof(m));
		k = brandset_lookalike(brands, cases[i].host, cases[i].utf8, &m);
		if (k != cases[i].want)
			fail_msg("%s: %s, want %s (matched %s)", cases[i].host, look_kind_name(k),
			    look_kind_name(cases[i].want), m.domain ? m.domain : "-");
		if (cases[i].domain != NULL && strcmp(m.domain, cases[i].domain) != 0)
			fail_msg("%s: imitates %s, want %s", cases[i].host, m.domain, cases[i].domain);
	}
}

static void
test_brand_named(void **state)
{
	static const struct {
		const char *text;
		const char *brand;	/* NULL: none */
	} cases[] = {
		{ "Amazon.co.jp", "amazon" },
		{ "\xef\xbc\xa1\xef\xbc\xad\xef\xbc\xa1\xef\xbc\xba\xef\xbc\xaf\xef\xbc\xae", "amazon" },	/* ＡＭＡＺＯＮ */
		{ "\xe4\xb8\x89\xe4\xba\x95\xe4\xbd\x8f\xe5\x8f\x8b\xe3\x82\xab\xe3\x83\xbc\xe3\x83\x89", "smbc" },	/* 三井住友カード */
		{ "\xe3\x81\x88\xe3\x81\x8d\xe3\x81\xad\xe3\x81\xa3\xe3\x81\xa8", "ekinet" },	/* えきねっと */
		{ "Microsoft account team", "microsoft" },
		{ "C o i n b a s e", "coinbase" },
		{ "P.a.y.P.a.l", "paypal" },
		{ "Applebee's Grill", NULL },		/* a word boundary */
		{ "John Norton", NULL },		/* a surname, not the product */
		{ "Economic Outlook", NULL },
		{ "Taro Yamada", NULL },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *f = phish_fold(cases[i].text);
		const struct brand *b = brandset_named(brands, f, NULL);

		if ((b == NULL) != (cases[i].brand == NULL) ||
		    (b != NULL && strcmp(b->name, cases[i].brand) != 0))
			fail_msg("\"%s\": %s, want %s", cases[i].text, b ? b->name : "none",
			    cases[i].brand ? cases[i].brand : "none");
		free(f);
	}
}

static void
test_anchor_host(void **state)
{
	static const struct {
		const char *text, *host;
	} cases[] = {
		{ "https://www.paypal.com/signin?x=1", "www.paypal.com" },
		{ "www.paypal.com", "www.paypal.com" },
		{ "PayPal.com", "paypal.com" },
		{ "  <https://Example.CO.JP/> ", "example.co.jp" },
		{ "\xef\xbd\x97\xef\xbd\x97\xef\xbd\x97\xef\xbc\x8e\xef\xbd\x81\xef\xbd\x8d\xef\xbd\x81"
		  "\xef\xbd\x9a\xef\xbd\x8f\xef\xbd\x8e\xef\xbc\x8e\xef\xbd\x83\xef\xbd\x8f\xef\xbc\x8e"
		  "\xef\xbd\x8a\xef\xbd\x90", "www.amazon.co.jp" },	/* full width */
		{ "portal.example.co.jp/login", "portal.example.co.jp" },
		{ "192.0.2.1", "192.0.2.1" },
		{ "Click here", NULL },
		{ "Visit www.paypal.com today", NULL },	/* words around it */
		{ "invoice.pdf", NULL },		/* not a top-level domain */
		{ "support@paypal.com", NULL },		/* an address */
		{ "1.5", NULL },
		{ "", NULL },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *h = phish_anchor_host(cases[i].text);

		if ((h == NULL) != (cases[i].host == NULL) ||
		    (h != NULL && strcmp(h, cases[i].host) != 0))
			fail_msg("anchor \"%s\": %s, want %s", cases[i].text, h ? h : "NULL",
			    cases[i].host ? cases[i].host : "NULL");
		free(h);
	}
}

static void
test_unwrap(void **state)
{
	static const struct {
		const char *url;
		int known_only;		/* 1: only hosts on rules/redirectors.txt */
		const char *want;
	} cases[] = {
		{ "https://www.google.com/url?q=https%3A%2F%2Fevil.example%2Fx&sa=D", 1,
		  "https://evil.example/x" },
		{ "https://www.google.co.jp/url?sa=t&url=https://evil.example/a", 1,
		  "https://evil.example/a" },
		{ "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.example.org"
		  "%2Fpage&data=05%7C01", 1, "https://www.example.org/page" },
		{ "https://l.facebook.com/l.php?u=https%3A%2F%2Fevil.example%2F&h=AT0", 1,
		  "https://evil.example/" },
		{ "https://urldefense.proofpoint.com/v2/url?u=https-3A__www.example.com_path&d=DwMF", 1,
		  "https://www.example.com/path" },
		{ "https://urldefense.com/v3/__https://www.example.com/a__;!!abc$", 1,
		  "https://www.example.com/a" },
		/* double-encoded */
		{ "https://www.google.com/url?q=https%253A%252F%252Fevil.example%252F", 1,
		  "https://evil.example/" },
		/* shorteners hide their target: nothing to unwrap */
		{ "https://t.co/abc123", 1, NULL },
		{ "https://bit.ly/3xYz", 0, NULL },
		/* any site can carry a URL: only followed when asked to */
		{ "https://evil.example/r?u=https://www.paypal.com/", 1, NULL },
		{ "https://evil.example/r?u=https://www.paypal.com/", 0, "https://www.paypal.com/" },
		{ "https://www.google.com/search?q=cats", 1, NULL },
		/* a webmail's dereferrer: the target percent-encoded in redirectUrl */
		{ "https://deref-web.de/mail/client/0e2L9R/dereferrer/?redirectUrl=https%3A%2F%2F"
		  "kb.example.com%2FTuning", 1, "https://kb.example.com/Tuning" },
	};
	struct domset *redirectors = domset_new();
	char err[256], *path = xasprintf("%s/rules/redirectors.txt", src_dir());

	(void)state;
	assert_int_equal(domset_load(redirectors, path, err, sizeof(err)), 0);
	free(path);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *t = phish_unwrap(cases[i].known_only ? redirectors : NULL, cases[i].url);

		if ((t == NULL) != (cases[i].want == NULL) ||
		    (t != NULL && strcmp(t, cases[i].want) != 0))
			fail_msg("unwrap %s: %s, want %s", cases[i].url, t ? t : "NULL",
			    cases[i].want ? cases[i].want : "NULL");
		free(t);
	}
	domset_free(redirectors);
}

static void
test_url_parts(void **state)
{
	static const struct {
		const char *url, *host;
		int is_ip, numeric, userinfo_host;
	} cases[] = {
		{ "http://192.168.1.1/login", "192.168.1.1", 1, 0, 0 },
		{ "http://3232235777/", "3232235777", 1, 1, 0 },
		{ "http://0xC0.0xA8.1.1/", "0xc0.0xa8.1.1", 1, 1, 0 },
		{ "http://0300.0250.01.01/", "0300.0250.01.01", 1, 1, 0 },
		{ "http://[2001:db8::1]:8080/", "2001:db8::1", 1, 0, 0 },
		{ "https://portal.example.co.jp@198.51.100.200/", "198.51.100.200", 1, 0, 1 },
		{ "https://user:pw@www.example.org/", "www.example.org", 0, 0, 0 },
		{ "https://www.ex%61mple.org./a", "www.example.org", 0, 0, 0 },
		{ "HTTPS://WWW.EXAMPLE.ORG\\evil", "www.example.org", 0, 0, 0 },
		{ "http://1.2.3.4.5/", "1.2.3.4.5", 0, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct url_parts p;

		assert_int_equal(phish_url_parts(cases[i].url, &p), 0);
		if (strcmp(p.host, cases[i].host) != 0 || p.is_ip != cases[i].is_ip ||
		    p.numeric != cases[i].numeric || p.userinfo_host != cases[i].userinfo_host)
			fail_msg("%s: host %s ip %d numeric %d userinfo %d", cases[i].url, p.host,
			    p.is_ip, p.numeric, p.userinfo_host);
	}
	{
		struct url_parts p;

		assert_int_equal(phish_url_parts("mailto:a@b.example", &p), -1);
		assert_int_equal(phish_url_parts("javascript:alert(1)", &p), -1);
	}
}

static void
test_bec_phrases(void **state)
{
	static const struct {
		const char *text;
		unsigned want;		/* exactly these flags */
	} cases[] = {
		{ "振込先変更のお願い", BEC_CHANGE | BEC_PAYMENT },
		{ "お振込先口座を下記の通り変更いたしました。", BEC_CHANGE | BEC_PAYMENT },
		{ "弊社の新しい口座へお振込みください", BEC_CHANGE | BEC_PAYMENT },
		{ "Please note our updated bank details below.", BEC_CHANGE },
		{ "We have changed our bank account, please use the new account details.", BEC_CHANGE },
		{ "Our bank account has been updated for all future payments.",
		  BEC_CHANGE | BEC_PAYMENT },
		/* negated: the routine invoice says nothing has changed */
		{ "※お振込先口座は従来から変更ございません。", BEC_PAYMENT },
		{ "There is no change of bank account.", 0 },
		{ "人事部からメールで口座情報の変更をお願いすることはありません。", 0 },
		/* account patterns */
		{ "IBAN: GB82 WEST 1234 5698 7654 32", BEC_ACCOUNT },
		{ "iban de89370400440532013000", BEC_ACCOUNT },
		{ "IBAN: GB82 WEST 1234 5698 7654 33", 0 },	/* check digits wrong */
		{ "SWIFT: MHCBJPJT", BEC_ACCOUNT },
		{ "bic code botkjpjtxxx", BEC_ACCOUNT },
		{ "テスト銀行 仙台支店 普通預金 0678901", BEC_ACCOUNT },
		{ "○○銀行 本店営業部 当座 1234567", BEC_ACCOUNT },
		{ "口座番号：７６５４３２１", BEC_ACCOUNT },	/* full-width digits, folded */
		{ "普通 1234567", 0 },				/* no bank named before it */
		{ "支店 普通 12345678", 0 },			/* eight digits */
		/* payment and urgency */
		{ "請求書を送付いたします", BEC_PAYMENT },
		{ "至急、本日中に送金をお願いします。内密に。", BEC_PAYMENT | BEC_URGENT },
		{ "urgent wire transfer needed, keep this between us", BEC_PAYMENT | BEC_URGENT },
		{ "see you tomorrow", 0 },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *f = phish_fold(cases[i].text);
		struct bec_findings b;

		bec_scan(f, &b);
		if (b.flags != cases[i].want)
			fail_msg("\"%s\": flags 0x%x, want 0x%x (change \"%s\" account \"%s\")",
			    cases[i].text, b.flags, cases[i].want, b.change, b.account);
		free(f);
	}
	assert_true(bec_iban_valid("GB82WEST12345698765432", 22));
	assert_false(bec_iban_valid("GB82WEST12345698765431", 22));
}

/* ---- whole messages through the detector ---- */

/* RFC 2047 for a header value with non-ASCII bytes. */
static char *
q(const char *s)
{
	char *b64, *out;
	int ascii = 1;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		ascii &= *p < 0x80;
	if (ascii)
		return xstrdup(s);
	b64 = xmalloc(base64_encoded_len(strlen(s)) + 1);
	base64_encode(s, strlen(s), b64);
	out = xasprintf("=?UTF-8?B?%s?=", b64);
	free(b64);
	return out;
}

struct msg_case {
	const char *name;
	const char *settings;
	const char *from_name;		/* display name (UTF-8) or NULL */
	const char *from;		/* address */
	const char *headers;		/* more header lines, CRLF-terminated, or "" */
	const char *subject;
	const char *body;		/* HTML when it starts with '<' */
	const char *want;		/* symbols that must be there, ',' separated */
	const char *absent;		/* symbols that must not */
	double max_score;		/* 0: no limit */
};

static const struct msg_case msg_cases[] = {
	/* ---- links ---- */
	{ "text shows a brand, link elsewhere", "", NULL, "a@news.example.org", "", "Notice",
	  "<p><a href=\"http://evil.example/login\">https://www.paypal.com/signin</a></p>",
	  "PHISH_LINK_MISMATCH_BRAND", "PHISH_LINK_MISMATCH", 0 },
	{ "text shows a domain, link elsewhere", "", NULL, "a@news.example.org", "", "Notice",
	  "<p><a href=\"http://evil.example/x\">www.example.net</a></p>",
	  "PHISH_LINK_MISMATCH", "PHISH_LINK_MISMATCH_BRAND", 0 },
	{ "text and link agree (subdomains)", "", NULL, "a@news.example.org", "", "Notice",
	  "<p><a href=\"https://click.mail.example.net/t/1\">www.example.net</a></p>",
	  "", "PHISH_LINK_MISMATCH", 0 },
	{ "a brand's other domain", "", NULL, "a@news.example.org", "", "Notice",
	  "<p><a href=\"https://www.amazon.com/gp/x\">www.amazon.co.jp</a></p>",
	  "", "PHISH_LINK_MISMATCH,PHISH_LINK_MISMATCH_BRAND", 0 },
	{ "google redirector unwrapped", "", NULL, "a@news.example.org", "", "Notice",
	  "<p><a href=\"https://www.google.com/url?q=https://www.example.net/page&amp;sa=D\">"
	  "www.example.net</a></p>", "", "PHISH_LINK_MISMATCH", 0 },
	{ "safelinks unwrapped", "", NULL, "a@news.example.org", "", "Notice",
	  "<p><a href=\"https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww."
	  "example.net%2F&amp;data=1\">https://www.example.net/</a></p>", "", "PHISH_LINK_MISMATCH", 0 },
	{ "facebook redirector to elsewhere", "", NULL, "a@news.example.org", "", "Notice",
	  "<p><a href=\"https://l.facebook.com/l.php?u=https%3A%2F%2Fevil.example%2F\">"
	  "www.facebook.com</a></p>", "PHISH_LINK_MISMATCH_BRAND", "", 0 },
	{ "safelinks URL as the text", "", NULL, "a@lists.example.org", "", "Re: x",
	  "<p><a href=\"https://github.com/a/b\">https://eur03.safelinks.protection.outlook.com/"
	  "?url=https%3A%2F%2Fgithub.com%2Fa%2Fb&amp;data=1</a></p>", "", "PHISH_LINK_MISMATCH,"
	  "PHISH_LINK_MISMATCH_BRAND", 0 },
	{ "webmail dereferrer unwrapped", "", NULL, "a@lists.example.org", "", "Re: tuning",
	  "<p><a href=\"https://deref-gmx.net/mail/client/x/dereferrer/?redirectUrl=https%3A%2F%2F"
	  "kb.example.net%2FTips\">https://kb.example.net/Tips</a></p>", "", "PHISH_LINK_MISMATCH", 0 },
	{ "public IP written in text", "", NULL, "a@example.org", "", "x",
	  "Log in at http://198.51.100.7/login today.", "PHISH_URL_IP", "", 0 },
	{ "shortener under a domain text", "", NULL, "a@news.example.org", "", "Notice",
	  "<p><a href=\"https://t.co/abc\">www.example.net</a></p>",
	  "PHISH_LINK_MISMATCH,PHISH_URL_SHORTENER", "", 0 },
	{ "own domain text, IP link", "local_domains=example.co.jp", NULL, "it@example.co.jp", "",
	  "Password", "<p><a href=\"http://203.0.113.45/login\">portal.example.co.jp</a></p>",
	  "PHISH_LINK_MISMATCH_BRAND,PHISH_URL_IP,PHISH_FROM_OWN_DOMAIN", "", 0 },
	{ "userinfo trick", "", NULL, "a@example.org", "", "MFA",
	  "<p><a href=\"https://portal.example.co.jp@198.51.100.200/mfa\">portal</a></p>",
	  "PHISH_URL_USERINFO,PHISH_URL_IP", "", 0 },
	{ "numeric IP", "", NULL, "a@example.org", "", "x",
	  "<p><a href=\"http://3232235777/paypal/\">log in</a></p>", "PHISH_URL_NUMERIC_IP", "", 0 },
	{ "private IP in plain text is not a link to flag", "", NULL, "a@example.org", "",
	  "router", "Set the device to http://192.168.10.2/ and reboot.", "", "PHISH_URL_IP", 0 },
	{ "punycode homoglyph", "", NULL, "a@example.org", "", "x",
	  "<p><a href=\"https://xn--pple-43d.com/id\">Apple ID</a></p>",
	  "PHISH_URL_PUNYCODE,PHISH_URL_MIXED_SCRIPT,PHISH_URL_LOOKALIKE", "", 0 },
	{ "lookalike with added words", "", NULL, "a@example.org", "", "x",
	  "<p><a href=\"https://smbc-card-login.com/\">ログイン</a></p>", "PHISH_URL_LOOKALIKE", "", 0 },
	{ "brand as a subdomain", "", NULL, "a@example.org", "", "x",
	  "<p><a href=\"http://www.paypal.com.webscr.example.ru/\">Log in</a></p>",
	  "PHISH_URL_BRAND_SUBDOMAIN", "", 0 },
	{ "data: and javascript: links", "", NULL, "a@example.org", "", "x",
	  "<p><a href=\"data:text/html;base64,PGgxPmhpPC9oMT4=\">open</a>"
	  " <a href=\"javascript:document.location='http://evil.example'\">go</a></p>",
	  "PHISH_URL_DATA,PHISH_URL_JAVASCRIPT", "", 0 },
	{ "inline image data is fine", "", NULL, "a@example.org", "", "x",
	  "<p><img src=\"data:image/png;base64,iVBORw0KGgo=\"></p>", "", "PHISH_URL_DATA", 0 },
	{ "password form posting elsewhere", "", NULL, "it@notify.example.net", "", "Sign in",
	  "<form action=\"https://collect.example.com/post.php\" method=\"post\">"
	  "<input name=u><input type=password name=p></form>",
	  "PHISH_FORM_PASSWORD_OFFSITE", "PHISH_FORM_PASSWORD", 0 },
	{ "recipient's address in the fragment", "", NULL, "a@example.org", "", "x",
	  "<p><a href=\"https://evil.example/login.html#user@sekisho.test\">view</a></p>",
	  "PHISH_URL_RECIPIENT", "", 0 },
	{ "recipient's address in the query is a newsletter's", "", NULL, "a@example.org", "", "x",
	  "<p><a href=\"https://news.example.org/unsub?email=user@sekisho.test\">unsubscribe</a></p>",
	  "", "PHISH_URL_RECIPIENT", 0 },
	{ "free hosting", "", NULL, "a@example.org", "", "x",
	  "<p><a href=\"https://us-central1-x-1.cloudfunctions.net/f\">open</a></p>",
	  "PHISH_URL_FREE_HOSTING", "", 0 },

	/* ---- sender ---- */
	{ "address in the display name", "", "support@paypal.com", "x@evil.example", "", "x",
	  "hello", "PHISH_FROM_NAME_ADDR", "", 0 },
	{ "same address in the display name", "", "a@example.org", "a@example.org", "", "x",
	  "hello", "", "PHISH_FROM_NAME_ADDR", 0 },
	{ "brand in the display name", "", "Amazon.co.jp", "info@qu7yv.example.cn", "", "x",
	  "hello", "PHISH_FROM_NAME_BRAND", "", 0 },
	{ "brand word in Japanese", "", "三井住友カード", "info@evil.example", "", "x", "hello",
	  "PHISH_FROM_NAME_BRAND", "", 0 },
	{ "spelled-out brand", "", "C o i n b a s e", "x@evil.example", "", "x", "hello",
	  "PHISH_FROM_NAME_BRAND", "", 0 },
	{ "brand from its own domain", "", "Amazon.co.jp", "store-news@amazon.co.jp", "", "x",
	  "hello", "", "PHISH_FROM_NAME_BRAND", 0 },
	{ "brand from its free-mail service", "", "Microsoft Support", "ms.help@outlook.com", "",
	  "x", "hello", "PHISH_FROM_NAME_BRAND", "", 0 },
	/* the name is the sender's own; the brand is its newsletter's topic */
	{ "sender's own newsletter about a brand", "", "Lockergnome Apple Core",
	  "subscriptions@lockergnome.com", "", "Tips",
	  "<p><a href=\"http://www.lockergnome.com/a\">a</a> <a href=\"http://www.lockergnome.com/b\">"
	  "b</a></p>", "", "PHISH_FROM_NAME_BRAND,PHISH_BRAND_OFFSITE", 0 },
	{ "sender's name written as an address", "", "Amazon.co.jp@jmmlm.com", "info@jmmlm.com",
	  "", "x", "<p><a href=\"http://jmmlm.com/a\">a</a></p>",
	  "PHISH_FROM_NAME_BRAND,PHISH_BRAND_OFFSITE", "", 0 },
	{ "sender's label holds the brand", "", "Applesupport Apple ID", "id@applesupport.com",
	  "", "x", "hello", "PHISH_FROM_NAME_BRAND", "", 0 },
	{ "display name shows another domain", "", "webmail.example.com Helpdesk",
	  "back-up@example.org",
	  "", "x", "hello", "PHISH_FROM_NAME_DOMAIN", "", 0 },
	{ "executive's name from outside", "local_domains=example.co.jp;executive_names=山田太郎",
	  "代表取締役 山田 太郎", "yamada.taro@free-mail.example.net", "", "至急", "至急",
	  "PHISH_FROM_NAME_EXECUTIVE", "", 0 },
	{ "executive's name, English order", "executive_names=Taro_Yamada", "Yamada Taro",
	  "ceo.office@example.net", "", "x", "hi", "PHISH_FROM_NAME_EXECUTIVE", "", 0 },
	{ "executive's name from inside", "local_domains=example.co.jp;executive_names=山田太郎",
	  "山田 太郎", "t.yamada@example.co.jp", "", "x", "hi", "",
	  "PHISH_FROM_NAME_EXECUTIVE", 0 },
	{ "Reply-To to free mail", "", "Vendor", "billing@vendor.example.jp",
	  "Reply-To: vendor.billing@gmail.com\r\n", "x", "hi", "PHISH_REPLYTO_FREEMAIL",
	  "PHISH_REPLYTO_MISMATCH", 0 },
	{ "Reply-To elsewhere", "", "Vendor", "billing@vendor.example.jp",
	  "Reply-To: billing@other.example.net\r\n", "x", "hi", "PHISH_REPLYTO_MISMATCH", "", 0 },
	{ "Reply-To in the same organisation", "", "Vendor", "billing@mail.vendor.example.jp",
	  "Reply-To: support@vendor.example.jp\r\n", "x", "hi", "",
	  "PHISH_REPLYTO_MISMATCH,PHISH_REPLYTO_FREEMAIL", 0 },
	{ "mailing list Reply-To", "", "Someone via list", "list@lists.example.org",
	  "Reply-To: someone@gmail.com\r\nList-Id: <list.lists.example.org>\r\n", "x", "hi", "",
	  "PHISH_REPLYTO_MISMATCH,PHISH_REPLYTO_FREEMAIL", 0 },
	{ "list rewrote From: the author is in Reply-To", "", "メルカリ via List",
	  "list@lists.example.org",
	  "Reply-To: =?UTF-8?B?44Oh44Or44Kr44Oq?= <seashore-1@bfhesjq.example>\r\n"
	  "List-Id: <list.lists.example.org>\r\n", "x", "hi", "PHISH_FROM_NAME_BRAND", "", 0 },
	{ "From looks like our own domain", "local_domains=example.co.jp", "経理部",
	  "keiri@example-co.jp", "", "x", "hi", "PHISH_FROM_LOOKALIKE", "", 0 },
	{ "From looks like a partner", "protected_domains=sample-seiki.example.jp", "営業部",
	  "eigyo@sarnple-seiki.example.jp", "", "x", "hi", "PHISH_FROM_LOOKALIKE", "", 0 },
	{ "From looks like a brand", "", "Rakuten", "info@rakutem.co.jp", "", "x", "hi",
	  "PHISH_FROM_LOOKALIKE", "", 0 },

	/* ---- content ---- */
	{ "lure and a brand that links elsewhere", "", "Amazon", "account@evil.example", "",
	  "【Amazon】アカウント情報の確認",
	  "<p>お客様のアカウントを一時停止しました。24時間以内に"
	  "<a href=\"https://amazon.rrxrx.example.cn/\">こちら</a>から本人確認してください。</p>",
	  "PHISH_LURE,PHISH_BRAND_OFFSITE,PHISH_FROM_NAME_BRAND,PHISH_URL_BRAND_SUBDOMAIN", "", 0 },
	{ "brand mail linking to the brand", "", "PayPal", "service@paypal.com", "",
	  "Your receipt", "<p><a href=\"https://www.paypal.com/activity\">View</a></p>", "",
	  "PHISH_BRAND_OFFSITE,PHISH_LURE", 0 },
	{ "English lure", "", NULL, "security@example.org", "", "Security Alert",
	  "We detected unusual activity. Please verify your account within 24 hours.",
	  "PHISH_LURE", "", 0 },

	/* ---- BEC ---- */
	{ "Japanese bank change from a lookalike with Reply-To to free mail",
	  "protected_domains=sample-seiki.example.jp", "サンプル精機 経理部",
	  "keiri@sarnple-seiki.example.jp", "Reply-To: sample.keiri@gmail.com\r\n",
	  "【重要】お振込先口座変更のお知らせ",
	  "平素よりお世話になっております。\n弊社の振込先口座を変更いたしました。今後は下記の新しい口座へ"
	  "お振込みください。\nみらい銀行 本店営業部 普通預金 7654321\nこのメールにのみご返信ください。",
	  "BEC_BANK_CHANGE,BEC_ACCOUNT_DETAILS,BEC_HIGH_RISK,PHISH_FROM_LOOKALIKE,"
	  "PHISH_REPLYTO_FREEMAIL", "", 0 },
	{ "English bank change with Reply-To elsewhere", "", "Accounts", "ar@vendor.example.com",
	  "Reply-To: ar-dept@other.example.net\r\n", "Updated bank details",
	  "Please note our updated bank details for the attached invoice:\nIBAN GB82 WEST 1234 5698"
	  " 7654 32\nSWIFT: WESTGB2L", "BEC_BANK_CHANGE,BEC_ACCOUNT_DETAILS,BEC_HIGH_RISK", "", 0 },
	{ "executive asks for an urgent transfer",
	  "local_domains=example.co.jp;executive_names=山田太郎", "山田 太郎",
	  "yamada.office@free-mail.example.net", "", "【極秘】至急の送金について",
	  "至急、本日中に下記口座へ送金してください。内密にお願いします。",
	  "PHISH_FROM_NAME_EXECUTIVE,BEC_PAYMENT_URGENT,BEC_HIGH_RISK", "BEC_BANK_CHANGE", 0 },
	{ "routine invoice with the usual account scores low", "", "テスト印刷 経理部",
	  "sanae.okamoto@test-insatsu.example.jp", "", "7月分 請求書送付のお知らせ",
	  "7月分のご請求書を添付にてお送りいたします。\n【お振込先】\nテスト銀行 仙台支店 普通預金 "
	  "0678901 カ）テストインサツ\n※お振込先口座は従来から変更ございません。",
	  "BEC_ACCOUNT_DETAILS", "BEC_BANK_CHANGE,BEC_HIGH_RISK,BEC_PAYMENT_URGENT", 2.0 },
	{ "change request alone stays under the tag score", "", "Vendor",
	  "keiri@vendor.example.jp", "", "口座変更のご案内",
	  "弊社の振込口座を変更いたしました。詳細は添付をご確認ください。", "BEC_BANK_CHANGE",
	  "BEC_HIGH_RISK", 4.9 },
};

static void
run_case(const struct msg_case *c, const char *from_line, struct scan_result *r)
{
	struct config *cfg = make_cfg(c->settings);
	struct envelope *env = envelope_new();
	struct scan_ctx ctx;
	struct message *msg;
	void *st = NULL;
	char err[512], *subj = q(c->subject), *raw, *from;

	if (detect_phish.init(cfg, &st, err, sizeof(err)) < 0)
		fail_msg("%s: init: %s", c->name, err);
	if (from_line != NULL)
		from = xstrdup(from_line);
	else if (c->from_name != NULL) {
		char *n = q(c->from_name);
		from = strcmp(n, c->from_name) == 0 ? xasprintf("\"%s\" <%s>", n, c->from) :
		    xasprintf("%s <%s>", n, c->from);
		free(n);
	} else
		from = xstrdup(c->from);
	raw = xasprintf("From: %s\r\nTo: user@sekisho.test\r\nSubject: %s\r\n%s"
	    "Date: Mon, 1 Jan 2024 10:00:00 +0900\r\nMessage-ID: <t@example.org>\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/%s; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n", from, subj, c->headers,
	    c->body[0] == '<' ? "html" : "plain", c->body);
	msg = message_parse(raw, strlen(raw), NULL);
	env->listener = xstrdup("inbound");
	env->mail_from = xstrdup(c->from);
	envelope_add_rcpt(env, "user@sekisho.test", NULL, 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.env = env;
	ctx.msg = msg;
	scan_result_init(r, detect_scores(engine));
	detect_phish.scan(st, &ctx, r);
	detect_phish.free(st);
	message_free(msg);
	envelope_free(env);
	config_free(cfg);
	free(raw);
	free(from);
	free(subj);
}

static char *
symbols_of(const struct scan_result *r)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < r->nsyms; i++)
		g_string_append_printf(s, "%s%s", i ? "," : "", r->syms[i].name);
	return g_string_free(s, FALSE);
}

static void
check_symbols(const char *name, const struct scan_result *r, const char *want,
    const char *absent)
{
	char *copy, *tok, *save = NULL, *have = symbols_of(r);

	copy = xstrdup(want);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!result_has(r, tok))
			fail_msg("%s: %s missing (have %s)", name, tok, have);
	free(copy);
	copy = xstrdup(absent);
	save = NULL;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (result_has(r, tok))
			fail_msg("%s: %s present (have %s)", name, tok, have);
	free(copy);
	g_free(have);
}

static void
test_messages(void **state)
{
	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(msg_cases); i++) {
		const struct msg_case *c = &msg_cases[i];
		struct scan_result r;

		run_case(c, NULL, &r);
		check_symbols(c->name, &r, c->want, c->absent);
		if (c->max_score > 0 && r.score > c->max_score)
			fail_msg("%s: score %.1f above %.1f", c->name, r.score, c->max_score);
		scan_result_clear(&r);
	}
}

/*
 * A plain-text directory of links (a weblog digest): one IP or free-hosting
 * link among links to 60 sites is not a lure; the same link behind an
 * anchor, or in a short list, still is.
 */
static void
test_link_directory(void **state)
{
	static const struct {
		int sites;
		const char *tail;	/* after the list */
		const char *want, *absent;
	} cases[] = {
		{ 60, "http://198.51.100.7/\nhttp://someone.blogspot.com/\n", "",
		  "PHISH_URL_IP,PHISH_URL_FREE_HOSTING" },
		{ 10, "http://198.51.100.7/\nhttp://someone.blogspot.com/\n",
		  "PHISH_URL_IP,PHISH_URL_FREE_HOSTING", "" },
		{ 60, "<a href=\"http://198.51.100.7/login\">log in</a>", "PHISH_URL_IP", "" },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		GString *body = g_string_new(NULL);
		struct msg_case c = { "link directory", "", "weblogs", "digest@news.example.org",
		    "", "updated weblogs", NULL, cases[i].want, cases[i].absent, 0 };
		struct scan_result r;
		int html = strncmp(cases[i].tail, "<a", 2) == 0;

		if (html)
			g_string_append(body, "<pre>");
		for (int k = 0; k < cases[i].sites; k++)
			g_string_append_printf(body, "Weblog %d\n  http://www.site%d.example/\n", k, k);
		g_string_append(body, cases[i].tail);
		if (html)
			g_string_append(body, "</pre>");
		c.body = html ? g_string_prepend(body, "<p>")->str : body->str;
		run_case(&c, NULL, &r);
		check_symbols(c.name, &r, c.want, c.absent);
		scan_result_clear(&r);
		g_string_free(body, TRUE);
	}
}

/* More links than the parser keeps: URL_LIMIT, not MIME_LIMIT (the rest of
 * the message was analysed). */
static void
test_url_limit(void **state)
{
	GString *raw = g_string_new("From: a@example.org\r\nSubject: weblogs\r\n\r\n");
	struct envelope *env = envelope_new();
	struct scan_result r;
	struct scan_ctx ctx;
	struct message *msg;

	(void)state;
	for (int k = 0; k < 2500; k++)
		g_string_append_printf(raw, "http://h%d.example.com/\r\n", k);
	msg = message_parse(raw->str, raw->len, NULL);
	memset(&ctx, 0, sizeof(ctx));
	ctx.env = env;
	ctx.msg = msg;
	scan_result_init(&r, detect_scores(engine));
	detect_headers.scan(NULL, &ctx, &r);
	check_symbols("2500 links", &r, "URL_LIMIT", "MIME_LIMIT");
	scan_result_clear(&r);
	message_free(msg);
	envelope_free(env);
	g_string_free(raw, TRUE);
}

/* "Facebook, _ <x@evil.example>" parses as two addresses: the name of the
 * first belongs to the second. */
static void
test_split_from(void **state)
{
	struct msg_case c = { "split From", "", NULL, "x@evil.example", "", "x", "hi", "", "",
	    0 };
	struct scan_result r;

	(void)state;
	run_case(&c, "Facebook, _ <x@evil.example>", &r);
	check_symbols(c.name, &r, "PHISH_FROM_NAME_BRAND", "");
	scan_result_clear(&r);
}

/* DMARC failed (the auth detector said so before us) for a brand's domain. */
static void
test_brand_auth_fail(void **state)
{
	static const struct {
		const char *from, *dmarc;
		int want;
	} cases[] = {
		{ "service@paypal.com", "DMARC_FAIL_REJECT", 1 },
		{ "info@mail.amazon.co.jp", "DMARC_FAIL_QUARANTINE", 1 },
		{ "keiri@example.co.jp", "DMARC_FAIL_NONE", 1 },	/* our own domain */
		{ "service@paypal.com", "DMARC_PASS", 0 },
		{ "a@unrelated.example.org", "DMARC_FAIL_REJECT", 0 },
	};
	struct config *cfg = make_cfg("local_domains=example.co.jp");
	void *st = NULL;
	char err[256];

	(void)state;
	assert_int_equal(detect_phish.init(cfg, &st, err, sizeof(err)), 0);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct envelope *env = envelope_new();
		char *raw = xasprintf("From: %s\r\nTo: u@example.co.jp\r\nSubject: x\r\n\r\nhi\r\n",
		    cases[i].from);
		struct message *msg = message_parse(raw, strlen(raw), NULL);
		struct scan_ctx ctx = { .cfg = cfg, .env = env, .msg = msg };
		struct scan_result r;

		env->listener = xstrdup("inbound");
		scan_result_init(&r, detect_scores(engine));
		result_add(&r, cases[i].dmarc, "as the auth detector would");
		detect_phish.scan(st, &ctx, &r);
		if (result_has(&r, "PHISH_BRAND_AUTH_FAIL") != cases[i].want)
			fail_msg("%s with %s: PHISH_BRAND_AUTH_FAIL %d", cases[i].from, cases[i].dmarc,
			    !cases[i].want);
		scan_result_clear(&r);
		message_free(msg);
		envelope_free(env);
		free(raw);
	}
	detect_phish.free(st);
	config_free(cfg);
}

/* Outbound mail is not judged on its sender. */
static void
test_outbound(void **state)
{
	struct config *cfg = make_cfg("");
	struct envelope *env = envelope_new();
	const char raw[] = "From: \"PayPal\" <me@sekisho.test>\r\nTo: x@example.org\r\n"
	    "Subject: hi\r\n\r\nhello\r\n";
	struct message *msg = message_parse(raw, sizeof(raw) - 1, NULL);
	struct scan_ctx ctx = { .cfg = cfg, .env = env, .msg = msg, .outbound = 1 };
	struct scan_result r;
	void *st = NULL;
	char err[256];

	(void)state;
	env->listener = xstrdup("outbound");
	assert_int_equal(detect_phish.init(cfg, &st, err, sizeof(err)), 0);
	scan_result_init(&r, detect_scores(engine));
	detect_phish.scan(st, &ctx, &r);
	assert_false(result_has(&r, "PHISH_FROM_NAME_BRAND"));
	scan_result_clear(&r);
	detect_phish.free(st);
	message_free(msg);
	envelope_free(env);
	config_free(cfg);
}

/* The registry runs phish after auth (it reads DMARC) and before bayes. */
static void
test_registry_order(void **state)
{
	size_t n, auth = SIZE_MAX, phish = SIZE_MAX, dnsbl = SIZE_MAX;
	const struct detector *const *reg = detect_registry(&n);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(reg[i]->name, "auth") == 0)
			auth = i;
		if (strcmp(reg[i]->name, "phish") == 0)
			phish = i;
		if (strcmp(reg[i]->name, "dnsbl") == 0)
			dnsbl = i;
	}
	assert_true(auth < n && phish < n && dnsbl < n);
	assert_true(auth < phish);
}

/* A missing rules file is a start-up error that names it. */
static void
test_missing_rules(void **state)
{
	struct config *cfg = make_cfg("rules_dir=/nonexistent-sekisho-rules");
	void *st = NULL;
	char err[512];

	(void)state;
	assert_int_equal(detect_phish.init(cfg, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "brands.txt"));
	config_free(cfg);
}

/* ---- threat feeds ---- */

static char feed_dir[64];

static void
write_file(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *fp = fopen(tmp, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	/* replaced the way feed downloaders do: a new file renamed over */
	assert_int_equal(rename(tmp, path), 0);
	free(tmp);
}

static const char openphish[] =
    "https://login-paypal.example.com/signin\n"
    "http://evil.example.net/amazon/index.php?id=1\n"
    "# a comment\n"
    "\n"
    "badhost.example.org\n";

static const char phishtank[] =
    "phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n"
    "1,https://secure-bank.example.com/a/b,http://www.phishtank.com/phish_detail.php?phish_id=1,"
    "2024-01-01T00:00:00+00:00,yes,2024-01-01T00:10:00+00:00,yes,Other\n"
    "2,\"http://quoted.example.com/x,y\",http://www.phishtank.com/phish_detail.php?phish_id=2,"
    "2024-01-01T00:00:00+00:00,yes,2024-01-01T00:10:00+00:00,yes,Other\n"
    "3,http://wholesite.example.com/,http://x/,t,yes,t,yes,Other\n";

static void
test_feeds(void **state)
{
	char *a, *b, err[512], src[128];
	char *files[3];
	struct feeds *f;
	static const struct {
		const char *url;
		enum feed_hit want;
		const char *src;
	} cases[] = {
		{ "https://login-paypal.example.com/signin", FEED_URL, "openphish.txt" },
		{ "http://LOGIN-PAYPAL.example.com/signin/", FEED_URL, "openphish.txt" },
		{ "https://login-paypal.example.com/signin#frag", FEED_URL, "openphish.txt" },
		{ "https://login-paypal.example.com/other", FEED_NONE, NULL },
		{ "http://evil.example.net/amazon/index.php?id=1", FEED_URL, "openphish.txt" },
		{ "http://evil.example.net/amazon/index.php?id=2", FEED_NONE, NULL },
		{ "https://badhost.example.org/anything", FEED_DOMAIN, "openphish.txt" },
		{ "https://sub.badhost.example.org/", FEED_DOMAIN, "openphish.txt" },
		{ "https://example.org/", FEED_NONE, NULL },
		{ "https://secure-bank.example.com/a/b?session=9", FEED_URL, "phishtank.csv" },
		{ "http://quoted.example.com/x,y", FEED_URL, "phishtank.csv" },
		{ "http://wholesite.example.com/any/page", FEED_DOMAIN, "phishtank.csv" },
		{ "http://www.phishtank.com/phish_detail.php?phish_id=1", FEED_NONE, NULL },
	};

	(void)state;
	snprintf(feed_dir, sizeof(feed_dir), "/tmp/sekisho-feeds-XXXXXX");
	assert_non_null(mkdtemp(feed_dir));
	a = xasprintf("%s/openphish.txt", feed_dir);
	b = xasprintf("%s/phishtank.csv", feed_dir);
	write_file(a, openphish);
	write_file(b, phishtank);
	files[0] = a;
	files[1] = b;
	files[2] = NULL;
	f = feeds_new(files, 3600, err, sizeof(err));
	if (f == NULL)
		fail_msg("feeds_new: %s", err);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		enum feed_hit h = feeds_match(f, cases[i].url, src, sizeof(src));

		if (h != cases[i].want)
			fail_msg("%s: hit %d, want %d", cases[i].url, h, cases[i].want);
		if (cases[i].src != NULL && strcmp(src, cases[i].src) != 0)
			fail_msg("%s: source %s, want %s", cases[i].url, src, cases[i].src);
	}

	/* nothing changed: no reload */
	assert_int_equal(feeds_check(f), 0);
	/* a new list replaces the old one at the next check, not before:
	 * the interval (an hour here) holds look-ups to the old one */
	write_file(a, "https://new-phish.example.com/x\n");
	assert_int_equal(feeds_match(f, "https://new-phish.example.com/x", src, sizeof(src)),
	    FEED_NONE);
	assert_int_equal(feeds_check(f), 1);
	assert_int_equal(feeds_match(f, "https://new-phish.example.com/x", src, sizeof(src)),
	    FEED_URL);
	assert_int_equal(feeds_match(f, "https://login-paypal.example.com/signin", src,
	    sizeof(src)), FEED_NONE);
	/* a file that vanishes keeps the list as it was */
	assert_int_equal(unlink(a), 0);
	assert_int_equal(feeds_check(f), 0);
	assert_int_equal(feeds_match(f, "https://new-phish.example.com/x", src, sizeof(src)),
	    FEED_URL);
	feeds_free(f);

	/* an unreadable file at start is an error */
	assert_null(feeds_new(files, 60, err, sizeof(err)));
	assert_non_null(strstr(err, "openphish.txt"));
	unlink(b);
	rmdir(feed_dir);
	free(a);
	free(b);
}

struct reader {
	struct feeds *f;
	volatile int *stop;
	long hits, lookups;
};

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	char src[128];

	while (!*rd->stop) {
		enum feed_hit h = feeds_match(rd->f, "https://always.example.com/p", src, sizeof(src));

		rd->lookups++;
		rd->hits += h == FEED_URL;
	}
	return NULL;
}

/* Look-ups from four threads while the file is replaced and reloaded 50
 * times: every look-up sees a whole list (the entry present in every
 * version is always found), and nothing is freed under a reader (the
 * sanitizer build checks that). */
static void
test_feeds_concurrent(void **state)
{
	char dir[64], *path, err[256], *files[2];
	struct feeds *f;
	struct reader rd[4];
	pthread_t th[4];
	volatile int stop = 0;
	int reloads = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sekisho-feeds-XXXXXX");
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/feed.txt", dir);
	write_file(path, "https://always.example.com/p\n");
	files[0] = path;
	files[1] = NULL;
	f = feeds_new(files, 0, err, sizeof(err));
	assert_non_null(f);
	for (int i = 0; i < 4; i++) {
		rd[i] = (struct reader){ f, &stop, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
	}
	for (int i = 0; i < 50; i++) {
		char *text = xasprintf("https://always.example.com/p\nhttps://v%d.example.com/\n", i);

		write_file(path, text);
		free(text);
		reloads += feeds_check(f);
		usleep(1000);
	}
	stop = 1;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rd[i].hits, rd[i].lookups);
	}
	/* with interval 0 the readers reload too: together, every change */
	assert_true(reloads <= 50);
	{
		char src[64];
		assert_int_equal(feeds_match(f, "https://v49.example.com/", src, sizeof(src)),
		    FEED_DOMAIN);
	}
	feeds_free(f);
	unlink(path);
	rmdir(dir);
	free(path);
}

/* Through the detector: threat_feeds relative to state_dir. */
static void
test_feeds_detector(void **state)
{
	char dir[64], *path, *settings;
	struct msg_case c = { "feed", NULL, NULL, "a@example.org", "", "x",
	    "<p><a href=\"https://login-paypal.example.com/signin\">x</a>"
	    "<a href=\"https://www.google.com/url?q=https://badhost.example.org/a\">y</a></p>",
	    "PHISH_FEED_URL,PHISH_FEED_DOMAIN", "", 0 };
	struct scan_result r;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sekisho-feeds-XXXXXX");
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/openphish.txt", dir);
	write_file(path, openphish);
	settings = xasprintf("state_dir=%s;threat_feeds=openphish.txt;"
	    "threat_feeds_reload_interval=0", dir);
	c.settings = settings;
	run_case(&c, NULL, &r);
	check_symbols(c.name, &r, c.want, c.absent);
	scan_result_clear(&r);
	unlink(path);
	rmdir(dir);
	free(path);
	free(settings);
}


/* ---- the correspondents history ---- */

/* One message through the detector (scan, then the verdict callback) with
 * a given state; the result is left in r. */
static void
history_msg(void *st, const struct config *cfg, int outbound, const char *from,
    const char *rcpt, const char *extra, const char *body, int action, struct scan_result *r)
{
	struct envelope *env = envelope_new();
	char *raw = xasprintf("From: %s\r\nTo: %s\r\nSubject: x\r\n%sMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	    "%s\r\n", from, rcpt, extra, body);
	struct message *msg = message_parse(raw, strlen(raw), NULL);
	struct scan_ctx ctx = { .cfg = cfg, .env = env, .msg = msg, .outbound = outbound };

	env->listener = xstrdup(outbound ? "outbound" : "inbound");
	env->mail_from = xstrdup(from);
	envelope_add_rcpt(env, rcpt, NULL, 0);
	scan_result_init(r, detect_scores(engine));
	detect_phish.scan(st, &ctx, r);
	detect_phish.verdict(st, &ctx, r, action);
	message_free(msg);
	envelope_free(env);
	free(raw);
}

static void
test_history(void **state)
{
	char dir[64], err[256], *settings, *db;
	struct config *cfg;
	struct scan_result r;
	struct store_correspondent c;
	struct store *store;
	void *st = NULL;
	int64_t since;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sekisho-hist-XXXXXX");
	assert_non_null(mkdtemp(dir));
	settings = xasprintf("state_dir=%s;local_domains=example.co.jp;first_contact_warmup=0", dir);
	cfg = make_cfg(settings);
	assert_int_equal(detect_phish.init(cfg, &st, err, sizeof(err)), 0);

	/* no history at all: nobody is a first contact yet */
	history_msg(st, cfg, 0, "a@hinagata-shoji.co.jp", "u@example.co.jp", "", "hi", 0, &r);
	check_symbols("empty history", &r, "", "PHISH_FIRST_CONTACT");
	scan_result_clear(&r);
	/* delivered: hinagata-shoji.co.jp is now known */
	history_msg(st, cfg, 0, "b@mail.hinagata-shoji.co.jp", "u@example.co.jp", "", "hi", 0, &r);
	check_symbols("known", &r, "", "PHISH_FIRST_CONTACT");
	scan_result_clear(&r);
	/* a newcomer */
	history_msg(st, cfg, 0, "x@newcomer-ltd.com", "u@example.co.jp", "", "hi", 2, &r);
	check_symbols("newcomer", &r, "PHISH_FIRST_CONTACT", "");
	scan_result_clear(&r);
	/* quarantined mail taught nothing: still new */
	history_msg(st, cfg, 0, "x@newcomer-ltd.com", "u@example.co.jp", "", "hi", 0, &r);
	check_symbols("quarantined taught nothing", &r, "PHISH_FIRST_CONTACT", "");
	scan_result_clear(&r);
	/* our own colleagues are never first contacts */
	history_msg(st, cfg, 0, "t@example.co.jp", "u@example.co.jp", "", "hi", 0, &r);
	check_symbols("colleague", &r, "", "PHISH_FIRST_CONTACT");
	scan_result_clear(&r);
	/* outbound mail makes its recipients known */
	history_msg(st, cfg, 1, "u@example.co.jp", "sales@customer-inc.com", "", "hi", 0, &r);
	scan_result_clear(&r);
	history_msg(st, cfg, 0, "reply@mail.customer-inc.com", "u@example.co.jp", "", "hi", 0, &r);
	check_symbols("replied to", &r, "", "PHISH_FIRST_CONTACT");
	scan_result_clear(&r);
	/* a lookalike of a correspondent, with a bank change: high risk */
	history_msg(st, cfg, 0, "keiri@hinagata-shoj1.co.jp", "u@example.co.jp", "",
	    "弊社の振込先口座を変更いたしました。新しい口座へお振込みください。", 2, &r);
	check_symbols("lookalike of a correspondent", &r,
	    "PHISH_FIRST_CONTACT,PHISH_FROM_LOOKALIKE_CONTACT,BEC_BANK_CHANGE,BEC_HIGH_RISK", "");
	scan_result_clear(&r);
	/* mail to someone else's organisation has no history here */
	history_msg(st, cfg, 0, "x@other-ltd.com", "someone@elsewhere.example", "", "hi", 0,
	    &r);
	check_symbols("no org", &r, "", "PHISH_FIRST_CONTACT");
	scan_result_clear(&r);
	detect_phish.free(st);

	/* written to the store */
	db = xasprintf("%s/sekisho.db", dir);
	store = store_open(db, err, sizeof(err));
	assert_non_null(store);
	assert_int_equal(store_correspondent_get(store, "example.co.jp", "hinagata-shoji.co.jp", &c),
	    0);
	assert_int_equal(c.inbound, 2);	/* a@ and b@mail. */
	assert_int_equal(c.outbound, 0);
	assert_int_equal(store_correspondent_get(store, "example.co.jp", "customer-inc.com",
	    &c), 0);
	assert_int_equal(c.outbound, 1);
	assert_int_equal(c.inbound, 1);
	assert_int_equal(store_correspondent_get(store, "example.co.jp", "hinagata-shoj1.co.jp", &c),
	    1);
	assert_int_equal(store_correspondent_get(store, "example.co.jp", "example.co.jp", &c), 1);
	assert_int_equal(store_correspondent_since(store, "example.co.jp", &since), 0);
	assert_true(since > 0 && since <= util_now_ms());
	assert_int_equal(store_correspondent_since(store, "nobody.example", &since), 1);
	store_close(store);

	/* a new process reads it back; a long warm-up keeps first contact quiet */
	assert_int_equal(detect_phish.init(cfg, &st, err, sizeof(err)), 0);
	history_msg(st, cfg, 0, "y@third-ltd.com", "u@example.co.jp", "", "hi", 2, &r);
	check_symbols("reopened", &r, "PHISH_FIRST_CONTACT", "");
	scan_result_clear(&r);
	detect_phish.free(st);
	config_free(cfg);
	free(settings);
	settings = xasprintf("state_dir=%s;local_domains=example.co.jp;first_contact_warmup=30d",
	    dir);
	cfg = make_cfg(settings);
	assert_int_equal(detect_phish.init(cfg, &st, err, sizeof(err)), 0);
	history_msg(st, cfg, 0, "y@fourth-ltd.com", "u@example.co.jp", "", "hi", 2, &r);
	check_symbols("warm-up", &r, "", "PHISH_FIRST_CONTACT");
	scan_result_clear(&r);
	detect_phish.free(st);
	config_free(cfg);

	unlink(db);
	free(db);
	db = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(db), 0);
	free(db);
	free(settings);
}

/* The pipeline tells the detectors its verdict: a delivered message makes
 * its sender's domain known in the store. */
static void
test_history_pipeline(void **state)
{
	char dir[64], err[256], *settings, *db;
	struct config *cfg;
	struct pipeline *pl;
	struct envelope *env = envelope_new();
	struct verdict v;
	struct store *store;
	struct store_correspondent c;
	const char raw[] = "From: a@hinagata-shoji.co.jp\r\nTo: u@example.co.jp\r\n"
	    "Subject: hello\r\nDate: Mon, 1 Jan 2024 10:00:00 +0900\r\n"
	    "Message-ID: <p@hinagata-shoji.co.jp>\r\n\r\nhello\r\n";

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sekisho-hist-XXXXXX");
	assert_non_null(mkdtemp(dir));
	settings = xasprintf("state_dir=%s;local_domains=example.co.jp", dir);
	cfg = make_cfg(settings);
	pl = pipeline_new(cfg, outbound_pipeline_ops(), err, sizeof(err));
	if (pl == NULL)
		fail_msg("pipeline_new: %s", err);
	env->listener = xstrdup("inbound");
	env->mail_from = xstrdup("a@hinagata-shoji.co.jp");
	envelope_add_rcpt(env, "u@example.co.jp", NULL, 0);
	assert_int_equal(pipeline_run_mem(pl, env, raw, sizeof(raw) - 1, &v, NULL), 0);
	assert_int_equal(v.action, ACTION_DELIVER);
	verdict_clear(&v);
	pipeline_free(pl);	/* writes what was kept in memory */
	db = xasprintf("%s/sekisho.db", dir);
	store = store_open(db, err, sizeof(err));
	assert_non_null(store);
	assert_int_equal(store_correspondent_get(store, "example.co.jp", "hinagata-shoji.co.jp", &c),
	    0);
	store_close(store);
	envelope_free(env);
	config_free(cfg);
	free(settings);
	free(db);
	db = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(db), 0);
	free(db);
}

/* ---- DNS blocklists ---- */

static struct ubt server;
static struct dns *dns;
static struct dns *deaf;
static int deaf_fd = -1;
static int have_dns;

static int
dns_setup(void **state)
{
	const char *fwd[2] = { NULL, NULL };
	char err[256], name[256];

	(void)state;
	if (!ubt_available()) {
		fprintf(stderr, "# %s missing: DNSBL tests skipped\n", UBT_BINARY);
		return 0;
	}
	if (ubt_begin(&server) < 0)
		return -1;
	ubt_zone(&server, "dnsbl.test.");
	ubt_rr(&server, "99.2.0.192.dnsbl.test. A 127.0.0.2");
	ubt_txt(&server, "99.2.0.192.dnsbl.test.", "listed for testing");
	ubt_rr(&server, "98.2.0.192.dnsbl.test. A 127.255.255.254");	/* an error code */
	assert_int_equal(dnsbl_query_name("2001:db8::99", "dnsbl.test", name, sizeof(name)), 0);
	ubt_rr(&server, "%s. A 127.0.0.3", name);
	ubt_zone(&server, "second.test.");
	ubt_rr(&server, "99.2.0.192.second.test. A 127.0.0.10");
	ubt_zone(&server, "uribl.test.");
	ubt_rr(&server, "evil.example.uribl.test. A 127.0.0.2");
	ubt_rr(&server, "refused.example.uribl.test. A 127.0.0.1");	/* "query refused" */
	ubt_rr(&server, "45.113.0.203.uribl.test. A 127.0.0.4");
	if (ubt_start(&server) < 0)
		return -1;
	fwd[0] = server.fwd;
	if ((dns = dns_new(fwd, 2000, err, sizeof(err))) == NULL)
		return -1;
	{
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);
		char buf[64];

		deaf_fd = socket(AF_INET, SOCK_DGRAM, 0);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (deaf_fd < 0 || bind(deaf_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(deaf_fd, (struct sockaddr *)&sa, &sl) < 0)
			return -1;
		snprintf(buf, sizeof(buf), "127.0.0.1@%d", ntohs(sa.sin_port));
		fwd[0] = buf;
		if ((deaf = dns_new(fwd, 200, err, sizeof(err))) == NULL)
			return -1;
	}
	have_dns = 1;
	return 0;
}

static int
dns_teardown(void **state)
{
	(void)state;
	dns_free(dns);
	dns_free(deaf);
	if (deaf_fd >= 0)
		close(deaf_fd);
	if (have_dns)
		ubt_stop(&server);
	return 0;
}

static void
test_dnsbl_names(void **state)
{
	char name[256];

	(void)state;
	assert_int_equal(dnsbl_query_name("192.0.2.99", "zen.example", name, sizeof(name)), 0);
	assert_string_equal(name, "99.2.0.192.zen.example");
	assert_int_equal(dnsbl_query_name("2001:db8::1", "z.example", name, sizeof(name)), 0);
	assert_string_equal(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".z.example");
	assert_int_equal(dnsbl_query_name("not-an-ip", "z.example", name, sizeof(name)), -1);
	assert_int_equal(dnsbl_query_name("192.0.2.99", "z.example", name, 10), -1);
}

struct dnsbl_case {
	const char *name;
	const char *client;
	const char *body;
	const char *want, *absent;
	const char *reason;	/* a substring of RBL_LISTED's or URIBL_LISTED's reason */
};

static const struct dnsbl_case dnsbl_cases[] = {
	{ "listed client", "192.0.2.99", "hi", "RBL_LISTED", "RBL_TEMPFAIL",
	  "dnsbl.test (127.0.0.2), second.test (127.0.0.10)" },
	{ "listed IPv6 client", "2001:db8::99", "hi", "RBL_LISTED", "", "127.0.0.3" },
	{ "not listed", "192.0.2.1", "hi", "", "RBL_LISTED,RBL_TEMPFAIL", NULL },
	{ "an error code is not a listing", "192.0.2.98", "hi", "", "RBL_LISTED", NULL },
	{ "private clients are not asked", "10.1.2.3", "hi", "", "RBL_LISTED,RBL_TEMPFAIL", NULL },
	{ "listed link domain", "192.0.2.1",
	  "<p><a href=\"https://www.evil.example/login\">x</a></p>", "URIBL_LISTED", "",
	  "evil.example" },
	{ "listed link IP", "192.0.2.1", "<p><a href=\"http://203.0.113.45/x\">x</a></p>",
	  "URIBL_LISTED", "", "203.0.113.45" },
	{ "refused answer is not a listing", "192.0.2.1",
	  "<p><a href=\"https://refused.example/\">x</a></p>", "", "URIBL_LISTED", NULL },
	{ "image links are not asked", "192.0.2.1",
	  "<p><img src=\"https://www.evil.example/p.gif\"></p>", "", "URIBL_LISTED", NULL },
};

static void
run_dnsbl(struct dns *d, const char *client, const char *body, const char *settings,
    struct scan_result *r)
{
	struct config *cfg = make_cfg(settings);
	struct envelope *env = envelope_new();
	char *raw = xasprintf("From: a@example.org\r\nTo: user@sekisho.test\r\nSubject: x\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/%s; charset=utf-8\r\n\r\n%s\r\n",
	    body[0] == '<' ? "html" : "plain", body);
	struct message *msg = message_parse(raw, strlen(raw), NULL);
	struct scan_ctx ctx = { .cfg = cfg, .env = env, .msg = msg, .dns = d };

	env->listener = xstrdup("inbound");
	env->client_addr = xstrdup(client);
	scan_result_init(r, detect_scores(engine));
	detect_dnsbl.scan(NULL, &ctx, r);
	message_free(msg);
	envelope_free(env);
	config_free(cfg);
	free(raw);
}

static void
test_dnsbl(void **state)
{
	(void)state;
	if (!have_dns) {
		skip();
		return;
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(dnsbl_cases); i++) {
		const struct dnsbl_case *c = &dnsbl_cases[i];
		struct scan_result r;

		run_dnsbl(dns, c->client, c->body,
		    "dnsbl_zones=dnsbl.test second.test;uribl_zones=uribl.test", &r);
		check_symbols(c->name, &r, c->want, c->absent);
		if (c->reason != NULL) {
			int found = 0;

			for (size_t j = 0; j < r.nsyms; j++)
				found |= strstr(r.syms[j].reason, c->reason) != NULL;
			if (!found)
				fail_msg("%s: no reason mentions \"%s\"", c->name, c->reason);
		}
		scan_result_clear(&r);
	}
	/* no zones, or no resolver (network_checks = no): nothing is asked */
	{
		struct scan_result r;

		run_dnsbl(dns, "192.0.2.99", "hi", "", &r);
		assert_int_equal(r.nsyms, 0);
		scan_result_clear(&r);
		run_dnsbl(NULL, "192.0.2.99", "hi", "dnsbl_zones=dnsbl.test", &r);
		assert_int_equal(r.nsyms, 0);
		scan_result_clear(&r);
	}
}

/* A blocklist that does not answer says so. */
static void
test_dnsbl_tempfail(void **state)
{
	struct scan_result r;

	(void)state;
	if (!have_dns) {
		skip();
		return;
	}
	run_dnsbl(deaf, "192.0.2.99", "<p><a href=\"https://www.evil.example/\">x</a></p>",
	    "dnsbl_zones=dnsbl.test;uribl_zones=uribl.test", &r);
	check_symbols("tempfail", &r, "RBL_TEMPFAIL", "RBL_LISTED,URIBL_LISTED");
	scan_result_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest pieces[] = {
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_skeleton),
		cmocka_unit_test(test_mixed_script),
		cmocka_unit_test(test_lookalike),
		cmocka_unit_test(test_brand_named),
		cmocka_unit_test(test_anchor_host),
		cmocka_unit_test(test_unwrap),
		cmocka_unit_test(test_url_parts),
		cmocka_unit_test(test_bec_phrases),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_link_directory),
		cmocka_unit_test(test_url_limit),
		cmocka_unit_test(test_split_from),
		cmocka_unit_test(test_brand_auth_fail),
		cmocka_unit_test(test_outbound),
		cmocka_unit_test(test_registry_order),
		cmocka_unit_test(test_missing_rules),
		cmocka_unit_test(test_feeds),
		cmocka_unit_test(test_feeds_concurrent),
		cmocka_unit_test(test_feeds_detector),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_history_pipeline),
	};
	const struct CMUnitTest dnstests[] = {
		cmocka_unit_test(test_dnsbl_names),
		cmocka_unit_test(test_dnsbl),
		cmocka_unit_test(test_dnsbl_tempfail),
	};
	int rc;

	rc = cmocka_run_group_tests_name("phish", pieces, group_setup, group_teardown);
	if (group_setup(NULL) < 0)
		return 1;
	rc += cmocka_run_group_tests_name("dnsbl", dnstests, dns_setup, dns_teardown);
	group_teardown(NULL);
	return rc;
}
