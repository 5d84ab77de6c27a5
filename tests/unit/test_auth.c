/*
 * test_auth.c - SPF, DKIM, DMARC (and ARC over DNS) against a real unbound.
 *
 * The group setup makes an RSA key, starts /usr/sbin/unbound on a free
 * loopback port serving static zones (sekisho.test for SPF, *.co.jp for
 * DKIM and DMARC so that the public suffix list decides alignment, and
 * example.org with the ARC test suite's key when the corpus is there), and
 * points a resolver at it.  Messages are signed in the test with
 * libopendkim's signer.  A second resolver points at a socket that never
 * answers, for time-outs.
 *
 * Checks run through the module functions (outcomes); when the detector
 * registry lists "auth", the same cases also run through detect_run() and
 * the symbols and Authentication-Results strings are checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dkim.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "detect/detect_auth.h"
#include "util/base64.h"
#include "util/config.h"
#include "util/dns.h"
#include "util/util.h"
#include "unbound_helper.h"

static struct ubt server;
static struct dns *dns;		/* the test server */
static struct dns *deaf;	/* a server that never answers */
static int deaf_fd = -1;
static struct dkim_verifier *verifier;
static unsigned char *privpem;	/* the signing key, PEM */
static char *arc_dir;		/* the ARC suite, when present */
static struct config *cfg;
static struct detect_engine *engine;	/* NULL unless "auth" is registered */

/* ---- set-up ---- */

static char *
make_key(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	unsigned char *der = NULL;
	int n;
	char *pub, *rec;
	char *data;
	long len;

	assert_non_null(k);
	PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(bio, &data);
	privpem = xmalloc((size_t)len + 1);
	memcpy(privpem, data, (size_t)len);
	privpem[len] = '\0';
	BIO_free(bio);
	n = i2d_PUBKEY(k, &der);
	pub = xmalloc(base64_encoded_len((size_t)n) + 1);
	base64_encode(der, (size_t)n, pub);
	rec = xasprintf("v=DKIM1; k=rsa; p=%s", pub);
	OPENSSL_free(der);
	free(pub);
	EVP_PKEY_free(k);
	return rec;
}

/* The suite's key for dummy._domainkey.example.org (a YAML folded scalar). */
static char *
arc_suite_key(const char *dir)
{
	char *path = xasprintf("%s/tests/arc-draft-validation-tests.yml", dir);
	char *text = util_read_file(path, 16 << 20, NULL), *p, *out = NULL;

	free(path);
	if (text == NULL)
		return NULL;
	p = strstr(text, "  dummy._domainkey.example.org: >-\n");
	if (p != NULL) {
		p = strchr(p, '\n') + 1;
		while (strncmp(p, "    ", 4) == 0) {
			char *nl = strchr(p, '\n'), *joined;

			if (nl == NULL)
				break;
			*nl = '\0';
			joined = out ? xasprintf("%s %s", out, p + 4) : xstrdup(p + 4);
			free(out);
			out = joined;
			p = nl + 1;
		}
	}
	free(text);
	return out;
}

static int
group_setup(void **state)
{
	const char *fwd[2] = { NULL, NULL };
	char err[256], *key, *arckey = NULL;
	const char *src = getenv("SEKISHO_SRC");

	(void)state;
	if (!ubt_available()) {
		fprintf(stderr, "# %s missing: DNS tests skipped\n", UBT_BINARY);
		return 0;
	}
	key = make_key();
	arc_dir = xasprintf("%s/../shared/corpus/mime/arc-test-suite", src ? src : ".");
	arckey = arc_suite_key(arc_dir);
	if (ubt_begin(&server) < 0)
		return -1;

	/* SPF */
	ubt_zone(&server, "sekisho.test.");
	ubt_txt(&server, "pass.sekisho.test.", "v=spf1 ip4:192.0.2.0/24 -all");
	ubt_txt(&server, "softfail.sekisho.test.", "v=spf1 ip4:192.0.2.0/24 ~all");
	ubt_txt(&server, "neutral.sekisho.test.", "v=spf1 ?all");
	ubt_rr(&server, "none.sekisho.test. A 192.0.2.1");
	ubt_txt(&server, "none.sekisho.test.", "not an spf record");
	ubt_txt(&server, "perm.sekisho.test.", "v=spf1 ip4:192.0.2.0/24 bogus:x -all");
	ubt_txt(&server, "double.sekisho.test.", "v=spf1 -all");
	ubt_txt(&server, "double.sekisho.test.", "v=spf1 +all");
	ubt_txt(&server, "incl.sekisho.test.", "v=spf1 include:pass.sekisho.test -all");
	ubt_txt(&server, "badincl.sekisho.test.", "v=spf1 include:nothing.sekisho.test -all");
	ubt_txt(&server, "amx.sekisho.test.", "v=spf1 a mx -all");
	ubt_rr(&server, "amx.sekisho.test. A 198.51.100.7");
	ubt_rr(&server, "amx.sekisho.test. MX 10 mx.amx.sekisho.test.");
	ubt_rr(&server, "mx.amx.sekisho.test. A 198.51.100.8");
	ubt_txt(&server, "v6.sekisho.test.", "v=spf1 ip6:2001:db8::/32 -all");
	ubt_txt(&server, "mx1.sekisho.test.", "v=spf1 ip4:192.0.2.25 -all");
	/* a long record in several strings */
	ubt_txt(&server, "long.sekisho.test.",
	    "v=spf1 ip4:10.0.0.1 ip4:10.0.0.2 ip4:10.0.0.3 ip4:10.0.0.4 ip4:10.0.0.5 "
	    "ip4:10.0.0.6 ip4:10.0.0.7 ip4:10.0.0.8 ip4:10.0.0.9 ip4:10.0.0.10 ip4:10.0.0.11 "
	    "ip4:10.0.0.12 ip4:10.0.0.13 ip4:10.0.0.14 ip4:10.0.0.15 ip4:10.0.0.16 "
	    "ip4:10.0.0.17 ip4:10.0.0.18 ip4:10.0.0.19 ip4:10.0.0.20 ip4:192.0.2.77 -all");

	/* DKIM and DMARC: the public suffix co.jp decides the organizational domains */
	static const char *const jp[] = {
		"example.co.jp.", "strict.co.jp.", "quarantine.co.jp.", "monitor.co.jp.",
		"nodmarc.co.jp.", "other.co.jp.", "broken.co.jp.", "lenient.co.jp.",
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(jp); i++) {
		char name[128];

		ubt_zone(&server, jp[i]);
		ubt_txt(&server, jp[i], "v=spf1 ip4:192.0.2.0/24 -all");
		snprintf(name, sizeof(name), "mail.%s", jp[i]);
		ubt_txt(&server, name, "v=spf1 ip4:192.0.2.0/24 -all");
		snprintf(name, sizeof(name), "sel._domainkey.%s", jp[i]);
		ubt_txt(&server, name, key);
		snprintf(name, sizeof(name), "sel._domainkey.mail.%s", jp[i]);
		ubt_txt(&server, name, key);
	}
	ubt_txt(&server, "sel-revoked._domainkey.example.co.jp.", "v=DKIM1; k=rsa; p=");
	ubt_txt(&server, "_dmarc.example.co.jp.", "v=DMARC1; p=reject; sp=quarantine");
	ubt_txt(&server, "_dmarc.strict.co.jp.", "v=DMARC1; p=reject; adkim=s; aspf=s");
	ubt_txt(&server, "_dmarc.quarantine.co.jp.", "v=DMARC1; p=quarantine; pct=50");
	ubt_txt(&server, "_dmarc.monitor.co.jp.", "v=DMARC1; p=none; rua=mailto:d@monitor.co.jp");
	ubt_txt(&server, "_dmarc.other.co.jp.", "v=DMARC1; p=none");
	ubt_txt(&server, "_dmarc.broken.co.jp.", "v=DMARC1; p=bogus");
	ubt_txt(&server, "_dmarc.lenient.co.jp.", "v=DMARC1; p=bogus; rua=mailto:d@lenient.co.jp");

	/* ARC: the suite's key */
	if (arckey != NULL) {
		ubt_zone(&server, "example.org.");
		ubt_txt(&server, "dummy._domainkey.example.org.", arckey);
	}
	free(arckey);
	free(key);
	if (ubt_start(&server) < 0)
		return -1;
	fwd[0] = server.fwd;
	if ((dns = dns_new(fwd, 2000, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}

	/* a forwarder that never answers */
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
	if ((verifier = dkim_verifier_new(err, sizeof(err))) == NULL)
		return -1;
	dmarc_init(err, sizeof(err));

	/* the whole detector, when the registry has it */
	cfg = config_new();
	{
		size_t n;
		const struct detector *const *reg = detect_registry(&n);

		for (size_t i = 0; i < n; i++)
			if (strcmp(reg[i]->name, "auth") == 0)
				engine = detect_new(cfg, err, sizeof(err));
		if (engine == NULL)
			fprintf(stderr, "# detector \"auth\" is not in the registry: "
			    "symbol checks skipped\n");
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	detect_free(engine);
	config_free(cfg);
	dkim_verifier_free(verifier);
	dns_free(dns);
	dns_free(deaf);
	if (deaf_fd >= 0)
		close(deaf_fd);
	ubt_stop(&server);
	free(privpem);
	free(arc_dir);
	return 0;
}

#define NEED_SERVER() do { if (dns == NULL) skip(); } while (0)

/* ---- messages ---- */

static char *
make_msg(const char *from, const char *subject, const char *body)
{
	return xasprintf("From: Sender <%s>\r\n"
	    "To: user@sekisho.test\r\n"
	    "Subject: %s\r\n"
	    "Date: Mon, 30 Nov 2026 10:00:00 +0900\r\n"
	    "Message-ID: <%p@sekisho.test>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "%s", from, subject, (void *)&subject, body);
}

/* Prepend a DKIM-Signature made by libopendkim's signer. */
static char *
sign(const char *msg, const char *domain, const char *selector)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM_STAT st;
	DKIM *d;
	unsigned char hdr[8192];
	char *copy = xstrdup(msg), *out;

	assert_non_null(lib);
	d = dkim_sign(lib, (const unsigned char *)"test", NULL, privpem,
	    (const unsigned char *)selector, (const unsigned char *)domain,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
	assert_non_null(d);
	assert_int_equal(dkim_chunk(d, (unsigned char *)copy, strlen(copy)), DKIM_STAT_OK);
	assert_int_equal(dkim_chunk(d, NULL, 0), DKIM_STAT_OK);
	assert_int_equal(dkim_eom(d, NULL), DKIM_STAT_OK);
	assert_int_equal(dkim_getsighdr(d, hdr, sizeof(hdr), strlen("DKIM-Signature: ")), DKIM_STAT_OK);
	out = xasprintf("DKIM-Signature: %s\r\n%s", (char *)hdr, msg);
	dkim_free(d);
	dkim_close(lib);
	free(copy);
	return out;
}

static char *
replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);

	assert_non_null(p);
	return xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static void
dkim_of(const char *msg, struct dkim_outcome *o)
{
	struct auth_dns ad = { .dns = dns };
	size_t len;
	char *crlf = auth_crlf(msg, strlen(msg), &len);

	dkim_check(verifier, &ad, crlf, len, o);
	free(crlf);
}

/* ---- SPF ---- */

struct spf_case {
	const char *ip, *helo, *mail_from;
	enum auth_result want;
	const char *domain;
};

static void
test_spf(void **state)
{
	static const struct spf_case cases[] = {
		{ "192.0.2.10", "mx.example", "bounce@pass.sekisho.test", AUTH_PASS, "pass.sekisho.test" },
		{ "203.0.113.9", "mx.example", "bounce@pass.sekisho.test", AUTH_FAIL, "pass.sekisho.test" },
		{ "203.0.113.9", "mx.example", "a@softfail.sekisho.test", AUTH_SOFTFAIL, "softfail.sekisho.test" },
		{ "203.0.113.9", "mx.example", "a@neutral.sekisho.test", AUTH_NEUTRAL, "neutral.sekisho.test" },
		{ "203.0.113.9", "mx.example", "a@none.sekisho.test", AUTH_NONE, "none.sekisho.test" },
		{ "203.0.113.9", "mx.example", "a@nxdomain.sekisho.test", AUTH_NONE, "nxdomain.sekisho.test" },
		{ "192.0.2.10", "mx.example", "a@perm.sekisho.test", AUTH_PERMERROR, "perm.sekisho.test" },
		{ "192.0.2.10", "mx.example", "a@double.sekisho.test", AUTH_PERMERROR, "double.sekisho.test" },
		{ "192.0.2.10", "mx.example", "a@badincl.sekisho.test", AUTH_PERMERROR, "badincl.sekisho.test" },
		{ "192.0.2.10", "mx.example", "a@incl.sekisho.test", AUTH_PASS, "incl.sekisho.test" },
		{ "203.0.113.9", "mx.example", "a@incl.sekisho.test", AUTH_FAIL, "incl.sekisho.test" },
		{ "198.51.100.7", "mx.example", "a@AMX.sekisho.test", AUTH_PASS, "amx.sekisho.test" },
		{ "198.51.100.8", "mx.example", "a@amx.sekisho.test", AUTH_PASS, "amx.sekisho.test" },
		{ "198.51.100.9", "mx.example", "a@amx.sekisho.test", AUTH_FAIL, "amx.sekisho.test" },
		{ "2001:db8::5", "mx.example", "a@v6.sekisho.test", AUTH_PASS, "v6.sekisho.test" },
		{ "2001:db9::5", "mx.example", "a@v6.sekisho.test", AUTH_FAIL, "v6.sekisho.test" },
		{ "::ffff:192.0.2.10", "mx.example", "a@pass.sekisho.test", AUTH_PASS, "pass.sekisho.test" },
		{ "192.0.2.77", "mx.example", "a@long.sekisho.test", AUTH_PASS, "long.sekisho.test" },
		/* the null sender: HELO identity */
		{ "192.0.2.25", "mx1.sekisho.test", "", AUTH_PASS, "mx1.sekisho.test" },
		{ "192.0.2.26", "mx1.sekisho.test", "", AUTH_FAIL, "mx1.sekisho.test" },
	};

	(void)state;
	NEED_SERVER();
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		const struct spf_case *c = &cases[i];
		struct auth_dns ad = { .dns = dns };
		struct spf_outcome o;

		spf_check(&ad, c->ip, c->helo, c->mail_from, "mx.sekisho.test", &o);
		if (o.result != c->want || !o.ran || strcmp(o.domain, c->domain) != 0)
			fail_msg("SPF case %zu (%s from %s): got %s for '%s' (%s), want %s", i,
			    c->mail_from, c->ip, auth_result_name(o.result), o.domain, o.detail,
			    auth_result_name(c->want));
		assert_int_equal(o.helo, c->mail_from[0] == '\0');
		assert_int_equal(ad.tempfails, 0);
	}
}

static void
test_spf_not_run(void **state)
{
	struct auth_dns ad = { .dns = dns };
	struct spf_outcome o;

	(void)state;
	NEED_SERVER();
	spf_check(&ad, NULL, "mx.example", "a@pass.sekisho.test", "mx", &o);
	assert_false(o.ran);
	spf_check(&ad, "unknown", "mx.example", "a@pass.sekisho.test", "mx", &o);
	assert_false(o.ran);
	spf_check(&ad, "192.0.2.1", "[192.0.2.1]", "", "mx", &o);
	assert_false(o.ran);
	spf_check(&ad, "127.0.0.1", "localhost", "a@pass.sekisho.test", "mx", &o);
	assert_false(o.ran);
	spf_check(&ad, "::1", "localhost", "a@pass.sekisho.test", "mx", &o);
	assert_false(o.ran);
}

/* ---- DKIM ---- */

static void
test_dkim(void **state)
{
	struct dkim_outcome o;
	char *msg, *signed_msg, *bad;

	(void)state;
	NEED_SERVER();
	msg = make_msg("taro@example.co.jp", "見積書の件", "Hello,\r\nthe quote is attached.\r\n");
	signed_msg = sign(msg, "example.co.jp", "sel");

	dkim_of(signed_msg, &o);
	assert_int_equal(o.nsigs, 1);
	assert_int_equal(o.sigs[0].result, AUTH_PASS);
	assert_string_equal(o.sigs[0].domain, "example.co.jp");
	assert_string_equal(o.sigs[0].selector, "sel");

	/* bare LF line endings still verify */
	{
		char *lf = xstrdup(signed_msg), *w = lf;

		for (const char *r = signed_msg; *r; r++)
			if (*r != '\r')
				*w++ = *r;
		*w = '\0';
		dkim_of(lf, &o);
		assert_int_equal(o.sigs[0].result, AUTH_PASS);
		free(lf);
	}

	/* bad body hash */
	bad = replace(signed_msg, "the quote", "the invoice");
	dkim_of(bad, &o);
	assert_int_equal(o.sigs[0].result, AUTH_FAIL);
	if (strstr(o.sigs[0].detail, "body hash") == NULL)
		fail_msg("detail: %s", o.sigs[0].detail);
	free(bad);

	/* a signed header changed */
	bad = replace(signed_msg, "Sender <taro@", "Boss <taro@");
	dkim_of(bad, &o);
	assert_int_equal(o.sigs[0].result, AUTH_FAIL);
	free(bad);
	free(signed_msg);

	/* no key published */
	signed_msg = sign(msg, "example.co.jp", "nokey");
	dkim_of(signed_msg, &o);
	assert_int_equal(o.sigs[0].result, AUTH_PERMERROR);
	assert_true(o.sigs[0].key_missing);
	free(signed_msg);

	/* revoked key */
	signed_msg = sign(msg, "example.co.jp", "sel-revoked");
	dkim_of(signed_msg, &o);
	assert_int_equal(o.sigs[0].result, AUTH_PERMERROR);
	assert_false(o.sigs[0].key_missing);
	free(signed_msg);

	/* unsigned */
	dkim_of(msg, &o);
	assert_true(o.ran);
	assert_int_equal(o.nsigs, 0);

	/* two signatures: a good one on top of one without a key */
	{
		char *one = sign(msg, "other.co.jp", "nokey");
		char *two = sign(one, "example.co.jp", "sel");

		dkim_of(two, &o);
		assert_int_equal(o.nsigs, 2);
		assert_int_equal(o.sigs[0].result, AUTH_PASS);
		assert_string_equal(o.sigs[0].domain, "example.co.jp");
		assert_int_equal(o.sigs[1].result, AUTH_PERMERROR);
		assert_true(o.sigs[1].key_missing);
		free(two);
		free(one);
	}
	free(msg);
}

/* A flood of signatures: only DKIM_MAX_SIGS are looked at. */
static void
test_dkim_many(void **state)
{
	struct dkim_outcome o;
	char *msg, *cur;

	(void)state;
	NEED_SERVER();
	msg = make_msg("taro@example.co.jp", "many", "x\r\n");
	cur = xstrdup(msg);
	for (int i = 0; i < DKIM_MAX_SIGS + 4; i++) {
		char *next = sign(cur, "example.co.jp", "nokey");
		free(cur);
		cur = next;
	}
	dkim_of(cur, &o);
	assert_int_equal(o.nsigs, DKIM_MAX_SIGS);
	assert_int_equal(o.ignored, 4);
	free(cur);
	free(msg);
}

/* ---- DMARC ---- */

struct dmarc_case {
	const char *from_domain;	/* RFC5322.From */
	const char *ip, *mail_from;	/* SPF */
	const char *sign_d;		/* DKIM signer, or NULL */
	enum auth_result want;
	char policy;
	int spf_aligned, dkim_aligned;
};

static void
run_dmarc(const struct dmarc_case *c, struct dmarc_outcome *o)
{
	struct auth_dns ad = { .dns = dns };
	struct spf_outcome spf;
	struct dkim_outcome dk;
	char *from = xasprintf("someone@%s", c->from_domain);
	char *msg = make_msg(from, "test", "body\r\n"), *s = NULL;

	spf_check(&ad, c->ip, "mx.example", c->mail_from, "mx.sekisho.test", &spf);
	if (c->sign_d != NULL)
		s = sign(msg, c->sign_d, "sel");
	dkim_of(s ? s : msg, &dk);
	dmarc_check(&ad, c->from_domain, &spf, &dk, o);
	free(s);
	free(msg);
	free(from);
}

static void
test_dmarc(void **state)
{
	static const struct dmarc_case cases[] = {
		/* relaxed DKIM alignment: a subdomain signer, SPF failing */
		{ "example.co.jp", "203.0.113.9", "b@example.co.jp", "mail.example.co.jp", AUTH_PASS, 'r', 0, 1 },
		/* relaxed SPF alignment: bounce subdomain, no signature */
		{ "example.co.jp", "192.0.2.10", "b@mail.example.co.jp", NULL, AUTH_PASS, 'r', 1, 0 },
		/* SPF and DKIM for example.co.jp itself */
		{ "example.co.jp", "192.0.2.10", "b@example.co.jp", "example.co.jp", AUTH_PASS, 'r', 1, 1 },
		/* strict: subdomains do not align */
		{ "strict.co.jp", "192.0.2.10", "b@mail.strict.co.jp", "mail.strict.co.jp", AUTH_FAIL, 'r', 0, 0 },
		{ "strict.co.jp", "203.0.113.9", "b@mail.strict.co.jp", "strict.co.jp", AUTH_PASS, 'r', 0, 1 },
		{ "strict.co.jp", "192.0.2.10", "b@strict.co.jp", NULL, AUTH_PASS, 'r', 1, 0 },
		/* authenticated, but as someone else: another co.jp domain is not aligned */
		{ "example.co.jp", "192.0.2.10", "b@other.co.jp", "other.co.jp", AUTH_FAIL, 'r', 0, 0 },
		/* spoofed from an unauthorised address */
		{ "example.co.jp", "203.0.113.9", "b@example.co.jp", NULL, AUTH_FAIL, 'r', 0, 0 },
		/* a subdomain without a record: the organizational domain's sp= */
		{ "news.example.co.jp", "203.0.113.9", "b@news.example.co.jp", NULL, AUTH_FAIL, 'q', 0, 0 },
		{ "news.example.co.jp", "203.0.113.9", "b@x.example", "example.co.jp", AUTH_PASS, 'q', 0, 1 },
		{ "quarantine.co.jp", "203.0.113.9", "b@quarantine.co.jp", NULL, AUTH_FAIL, 'q', 0, 0 },
		{ "monitor.co.jp", "203.0.113.9", "b@monitor.co.jp", NULL, AUTH_FAIL, 'n', 0, 0 },
		{ "nodmarc.co.jp", "203.0.113.9", "b@nodmarc.co.jp", NULL, AUTH_NONE, 0, 0, 0 },
		{ "broken.co.jp", "203.0.113.9", "b@broken.co.jp", NULL, AUTH_PERMERROR, 0, 0, 0 },
		/* a broken policy with a report address is p=none */
		{ "lenient.co.jp", "203.0.113.9", "b@lenient.co.jp", NULL, AUTH_FAIL, 'n', 0, 0 },
	};

	(void)state;
	NEED_SERVER();
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		const struct dmarc_case *c = &cases[i];
		struct dmarc_outcome o;

		run_dmarc(c, &o);
		if (o.result != c->want || o.policy != c->policy ||
		    o.spf_aligned != c->spf_aligned || o.dkim_aligned != c->dkim_aligned)
			fail_msg("DMARC case %zu (%s): got %s p=%c spf=%d dkim=%d (%s)", i,
			    c->from_domain, auth_result_name(o.result), o.policy ? o.policy : '-',
			    o.spf_aligned, o.dkim_aligned, o.detail);
	}
}

/* ---- time-outs ---- */

static void
test_tempfail(void **state)
{
	struct auth_dns ad = { .dns = deaf };
	struct spf_outcome spf;
	struct dkim_outcome dk;
	struct dmarc_outcome dm;
	char *msg, *s, *crlf;
	size_t len;
	int64_t t0 = util_mono_ms();

	(void)state;
	NEED_SERVER();
	msg = make_msg("taro@example.co.jp", "t", "x\r\n");
	s = sign(msg, "example.co.jp", "sel");
	crlf = auth_crlf(s, strlen(s), &len);

	spf_check(&ad, "192.0.2.10", "mx.example", "b@example.co.jp", "mx", &spf);
	assert_int_equal(spf.result, AUTH_TEMPERROR);
	dkim_check(verifier, &ad, crlf, len, &dk);
	assert_int_equal(dk.nsigs, 1);
	assert_int_equal(dk.sigs[0].result, AUTH_TEMPERROR);
	dmarc_check(&ad, "example.co.jp", &spf, &dk, &dm);
	assert_int_equal(dm.result, AUTH_TEMPERROR);
	assert_true(ad.tempfails >= 3);
	assert_non_null(strstr(ad.first_tempfail, "example.co.jp"));
	/* each query waits 200 ms at most */
	assert_true(util_mono_ms() - t0 < 3000);

	/* past the scan deadline nothing is asked at all */
	{
		struct auth_dns late = { .dns = dns, .deadline_ms = util_mono_ms() - 1 };

		spf_check(&late, "192.0.2.10", "mx.example", "b@pass.sekisho.test", "mx", &spf);
		assert_int_equal(spf.result, AUTH_TEMPERROR);
		assert_non_null(strstr(late.first_tempfail, "scan time"));
	}
	/* DKIM passes but DMARC's own record times out */
	free(crlf);
	free(s);
	free(msg);
}

/* ---- ARC over DNS ---- */

static enum dns_status
arc_key_dns(void *arg, const char *name, char ***txt)
{
	return auth_dns_txt(arg, name, txt);
}

static void
test_arc_dns(void **state)
{
	struct auth_dns ad = { .dns = dns };
	struct arc_outcome o;
	char *path, *raw, *crlf;
	size_t len, clen;

	(void)state;
	NEED_SERVER();
	path = xasprintf("%s/extracted_messages/validation-00-cv_pass_i2_1.eml", arc_dir);
	raw = util_read_file(path, 1 << 20, &len);
	free(path);
	if (raw == NULL)
		skip();
	crlf = auth_crlf(raw, len, &clen);
	arc_verify(crlf, clen, arc_key_dns, &ad, &o);
	assert_int_equal(o.result, AUTH_PASS);
	assert_int_equal(o.instances, 2);
	assert_string_equal(o.sealer, "example.org");
	free(crlf);
	free(raw);
}

/* ---- the whole detector (when registered) ---- */

struct scan_case {
	const char *ip, *mail_from, *msg_from_domain, *sign_d;
	const char *want[4];		/* symbols that must be there */
	const char *auth[4];		/* Authentication-Results methods that must be there */
};

static int
has_auth(const struct scan_result *r, const char *a)
{
	for (size_t i = 0; i < r->nauth; i++)
		if (strcmp(r->auth[i], a) == 0)
			return 1;
	return 0;
}

static void
scan_one(const struct scan_case *c, struct config *conf, struct dns *d, struct scan_result *r)
{
	struct envelope env = { 0 };
	struct message msg = { 0 };
	struct msg_addr from = { 0 };
	struct scan_ctx ctx = { 0 };
	char *addr = xasprintf("someone@%s", c->msg_from_domain);
	char *text = make_msg(addr, "scan", "body\r\n"), *s = NULL;

	if (c->sign_d)
		s = sign(text, c->sign_d, "sel");
	env.client_addr = (char *)(uintptr_t)c->ip;
	env.helo = (char *)(uintptr_t)"mx.example";
	env.mail_from = (char *)(uintptr_t)c->mail_from;
	from.addr = addr;
	from.domain = (char *)(uintptr_t)c->msg_from_domain;
	msg.from = &from;
	msg.nfrom = 1;
	msg.raw = s ? s : text;
	msg.rawlen = strlen(msg.raw);
	ctx.cfg = conf;
	ctx.env = &env;
	ctx.msg = &msg;
	ctx.dns = d;
	scan_result_init(r, detect_scores(engine));
	detect_run(engine, &ctx, r);
	free(s);
	free(text);
	free(addr);
}

static void
test_detector(void **state)
{
	static const struct scan_case cases[] = {
		{ "203.0.113.9", "b@example.co.jp", "example.co.jp", NULL,
		  { "SPF_FAIL", "DKIM_NONE", "DMARC_FAIL_REJECT", "ARC_NONE" },
		  { "spf=fail smtp.mailfrom=b@example.co.jp", "dkim=none",
		    "dmarc=fail (p=reject) header.from=example.co.jp", "arc=none" } },
		{ "192.0.2.10", "b@example.co.jp", "example.co.jp", "example.co.jp",
		  { "SPF_PASS", "DKIM_VALID", "DMARC_PASS", NULL },
		  { "spf=pass smtp.mailfrom=b@example.co.jp",
		    "dkim=pass header.d=example.co.jp header.s=sel",
		    "dmarc=pass (p=reject) header.from=example.co.jp", NULL } },
		{ "203.0.113.9", "b@softfail.sekisho.test", "quarantine.co.jp", NULL,
		  { "SPF_SOFTFAIL", "DMARC_FAIL_QUARANTINE", NULL, NULL },
		  { "dmarc=fail (p=quarantine pct=50) header.from=quarantine.co.jp", NULL, NULL, NULL } },
	};
	struct scan_result r;

	(void)state;
	NEED_SERVER();
	if (engine == NULL)
		skip();
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		scan_one(&cases[i], cfg, dns, &r);
		for (int k = 0; k < 4; k++) {
			if (cases[i].want[k] && !result_has(&r, cases[i].want[k]))
				fail_msg("case %zu: no %s", i, cases[i].want[k]);
			if (cases[i].auth[k] && !has_auth(&r, cases[i].auth[k]))
				fail_msg("case %zu: no A-R '%s' (first: %s)", i, cases[i].auth[k],
				    r.nauth ? r.auth[0] : "-");
		}
		assert_false(result_has(&r, "DNS_TEMPFAIL"));
		scan_result_clear(&r);
	}
	/* the reason names the address and the domain */
	scan_one(&cases[0], cfg, dns, &r);
	for (size_t k = 0; k < r.nsyms; k++)
		if (strcmp(r.syms[k].name, "SPF_FAIL") == 0)
			assert_string_equal(r.syms[k].reason,
			    "203.0.113.9 is not permitted to send for example.co.jp");
	scan_result_clear(&r);

	/* time-outs: DNS_TEMPFAIL and temperror methods */
	scan_one(&cases[1], cfg, deaf, &r);
	assert_true(result_has(&r, "DNS_TEMPFAIL"));
	assert_true(result_has(&r, "SPF_TEMPERROR"));
	assert_true(result_has(&r, "DKIM_TEMPERROR"));
	assert_true(result_has(&r, "DMARC_TEMPERROR"));
	assert_true(has_auth(&r, "spf=temperror smtp.mailfrom=b@example.co.jp"));
	scan_result_clear(&r);

	/* network_checks = no: nothing at all */
	{
		struct config *off = config_new();
		char err[128];

		assert_int_equal(config_set(off, "network_checks", "no", err, sizeof(err)), 0);
		scan_one(&cases[0], off, dns, &r);
		for (size_t k = 0; k < r.nsyms; k++)
			assert_true(strncmp(r.syms[k].name, "SPF_", 4) != 0 &&
			    strncmp(r.syms[k].name, "DKIM_", 5) != 0 &&
			    strncmp(r.syms[k].name, "DMARC_", 6) != 0 &&
			    strncmp(r.syms[k].name, "ARC_", 4) != 0);
		assert_int_equal(r.nauth, 0);
		scan_result_clear(&r);
		config_free(off);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spf),
		cmocka_unit_test(test_spf_not_run),
		cmocka_unit_test(test_dkim),
		cmocka_unit_test(test_dkim_many),
		cmocka_unit_test(test_dmarc),
		cmocka_unit_test(test_tempfail),
		cmocka_unit_test(test_arc_dns),
		cmocka_unit_test(test_detector),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
