/*
 * test_http.c - the console server's parts that need no network: route
 * matching, static file paths (traversal), content types, TOTP codes and
 * their replay (against a real SQLite store), CSRF token comparison, the
 * HTML sanitizer on hostile input, sessions and their idle expiry, login
 * failure counts, the message log triggers, times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/http_console.h"
#include "http/http_int.h"
#include "http/http_sanitize.h"
#include "http/http_util.h"
#include "store/store.h"
#include "store/store_console.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/util.h"
#include "testutil.h"

/* ---- routes ---- */

static void
test_route_match(void **state)
{
	static const struct {
		const char *pattern, *path;
		int match;
		const char *cap0, *cap1;
	} cases[] = {
		{ "/api/v1/me", "/api/v1/me", 1, NULL, NULL },
		{ "/api/v1/me", "/api/v1/me/", 0, NULL, NULL },
		{ "/api/v1/me", "/api/v1/mee", 0, NULL, NULL },
		{ "/api/v1/me", "/api/v1", 0, NULL, NULL },
		{ "/api/v1/quarantine/*", "/api/v1/quarantine/AbC123", 1, "AbC123", NULL },
		{ "/api/v1/quarantine/*", "/api/v1/quarantine/", 0, NULL, NULL },
		{ "/api/v1/quarantine/*", "/api/v1/quarantine", 0, NULL, NULL },
		{ "/api/v1/quarantine/*", "/api/v1/quarantine/a/release", 0, NULL, NULL },
		{ "/api/v1/quarantine/*/release", "/api/v1/quarantine/a/release", 1, "a", NULL },
		{ "/api/v1/quarantine/*/release", "/api/v1/quarantine/a/delete", 0, NULL, NULL },
		{ "/x/*/y/*", "/x/1/y/2", 1, "1", "2" },
		{ "/x/*", "/x//", 0, NULL, NULL },
	};
	char caps[HTTP_ROUTE_MAXCAP][128];
	size_t n;

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		int m = http_route_match(cases[i].pattern, cases[i].path, caps, &n);

		if (m != cases[i].match)
			fail_msg("%s vs %s: %d", cases[i].pattern, cases[i].path, m);
		if (m && cases[i].cap0)
			assert_string_equal(caps[0], cases[i].cap0);
		if (m && cases[i].cap1)
			assert_string_equal(caps[1], cases[i].cap1);
	}
	/* a captured segment of 128 bytes or more does not match */
	{
		char path[300];

		snprintf(path, sizeof(path), "/q/%0200d", 7);
		assert_int_equal(http_route_match("/q/*", path, caps, &n), 0);
	}
}

/* ---- static files ---- */

static void
test_static_path(void **state)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
		{ "/", "/d/index.html" },
		{ "/index.html", "/d/index.html" },
		{ "/assets/app-1a2B.js", "/d/assets/app-1a2B.js" },
		{ "/quarantine/ABC", "/d/quarantine/ABC" },
		{ "/..", NULL },
		{ "/../etc/passwd", NULL },
		{ "/assets/../../etc/passwd", NULL },
		{ "/assets/./app.js", NULL },
		{ "/assets//app.js", NULL },
		{ "/.env", NULL },
		{ "/assets/.git/config", NULL },
		{ "/a\\..\\b", NULL },
		{ "/a%2e%2e", NULL },
		{ "/a\nb", NULL },
		{ "/a b", NULL },
		{ "relative", NULL },
		{ "", NULL },
		{ "/assets/", NULL },
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		int rc = http_static_path("/d", cases[i].url, out, sizeof(out));

		if (cases[i].want == NULL) {
			if (rc == 0)
				fail_msg("%s was allowed: %s", cases[i].url, out);
		} else {
			if (rc != 0)
				fail_msg("%s was refused", cases[i].url);
			assert_string_equal(out, cases[i].want);
		}
	}
	/* too long for the buffer */
	assert_int_equal(http_static_path("/d", "/abcdefghij", out, 8), -1);
}

static void
test_content_type(void **state)
{
	(void)state;
	assert_string_equal(http_content_type("/d/index.html"), "text/html; charset=utf-8");
	assert_string_equal(http_content_type("/d/a.JS"), "text/javascript; charset=utf-8");
	assert_string_equal(http_content_type("/d/a.css"), "text/css; charset=utf-8");
	assert_string_equal(http_content_type("/d/a.svg"), "image/svg+xml");
	assert_string_equal(http_content_type("/d/a.woff2"), "font/woff2");
	assert_string_equal(http_content_type("/d.x/noext"), "application/octet-stream");
	assert_string_equal(http_content_type("/d/a.exe"), "application/octet-stream");
}

/* ---- TOTP ---- */

static void
code_at(const char *secret_b32, time_t t, char code[7])
{
	char *secret;
	size_t len;

	assert_int_equal(oath_init(), OATH_OK);
	assert_int_equal(oath_base32_decode(secret_b32, strlen(secret_b32), &secret, &len),
	    OATH_OK);
	assert_int_equal(oath_totp_generate(secret, len, t, 30, 0, 6, code), OATH_OK);
	free(secret);
}

static void
test_totp_check(void **state)
{
	char *secret = http_totp_new_secret();
	char *uri = http_totp_uri("a@b.example", secret);
	time_t now = 1800000015;	/* 15 s into step 60000000 */
	char code[7], bad[7];
	int64_t step = -1;

	(void)state;
	assert_int_equal(strlen(secret), 32);
	assert_non_null(strstr(uri, "otpauth://totp/sekisho:a%40b.example?secret="));
	assert_non_null(strstr(uri, "&issuer=sekisho"));

	code_at(secret, now, code);
	assert_int_equal(http_totp_check(secret, code, now, &step), 0);
	assert_int_equal(step, now / 30);
	/* one step either side is accepted, with its own step number */
	code_at(secret, now - 30, code);
	assert_int_equal(http_totp_check(secret, code, now, &step), 0);
	assert_int_equal(step, now / 30 - 1);
	code_at(secret, now + 30, code);
	assert_int_equal(http_totp_check(secret, code, now, &step), 0);
	assert_int_equal(step, now / 30 + 1);
	/* two steps away is not */
	code_at(secret, now - 60, code);
	assert_int_equal(http_totp_check(secret, code, now, &step), -1);
	code_at(secret, now + 90, code);
	assert_int_equal(http_totp_check(secret, code, now, &step), -1);
	/* malformed codes */
	code_at(secret, now, code);
	memcpy(bad, code, sizeof(bad));
	bad[5] = bad[5] == '9' ? '0' : (char)(bad[5] + 1);
	assert_int_equal(http_totp_check(secret, bad, now, &step), -1);
	assert_int_equal(http_totp_check(secret, "", now, &step), -1);
	assert_int_equal(http_totp_check(secret, NULL, now, &step), -1);
	assert_int_equal(http_totp_check(secret, "12345a", now, &step), -1);
	assert_int_equal(http_totp_check(secret, "1234567", now, &step), -1);
	assert_int_equal(http_totp_check("not base32!", code, now, &step), -1);
	free(secret);
	free(uri);
}

/* ---- store fixture ---- */

static const unsigned char test_key[CONSOLE_KEY_SIZE] = "0123456789abcdef0123456789abcde";

/* The stored TOTP secret is sealed: not the secret, opened only with the
 * key it was sealed under. */
static void
expect_sealed(const char *stored, const char *secret)
{
	unsigned char other[CONSOLE_KEY_SIZE];
	char *open;
	int plain;

	assert_int_equal(strncmp(stored, "s1:", 3), 0);
	assert_null(strstr(stored, secret));
	open = console_secret_open(test_key, stored, &plain);
	assert_non_null(open);
	assert_string_equal(open, secret);
	assert_int_equal(plain, 0);
	free(open);
	memcpy(other, test_key, sizeof(other));
	other[0] ^= 1;
	assert_null(console_secret_open(other, stored, &plain));
}

static void
test_totp_replay(void **state)
{
	struct tu_store *fx = *state;
	struct console_user u;
	char *secret, *uri, err[256], code[7];
	int64_t step;
	time_t now = time(NULL);

	assert_int_equal(console_user_create(fx->st, test_key, "alice", "long enough pw", "user",
	    "alice@example.jp", "en", &secret, &uri, err, sizeof(err)), 0);
	assert_int_equal(store_cuser_get(fx->st, "alice", &u), 0);
	expect_sealed(u.totp_secret, secret);
	assert_int_equal(u.totp_last_step, 0);
	assert_int_equal(strncmp(u.pwhash, "$argon2id$", 10), 0);
	console_user_clear(&u);

	code_at(secret, now, code);
	assert_int_equal(http_totp_check(secret, code, now, &step), 0);
	assert_int_equal(store_cuser_totp_use(fx->st, "alice", step), 0);
	/* the same code again: refused */
	assert_int_equal(http_totp_check(secret, code, now, &step), 0);
	assert_int_equal(store_cuser_totp_use(fx->st, "alice", step), 1);
	/* the code of the step before, still inside the window: refused too */
	code_at(secret, now - 30, code);
	assert_int_equal(http_totp_check(secret, code, now, &step), 0);
	assert_int_equal(store_cuser_totp_use(fx->st, "alice", step), 1);
	/* the next step is fine */
	code_at(secret, now + 30, code);
	assert_int_equal(http_totp_check(secret, code, now, &step), 0);
	assert_int_equal(store_cuser_totp_use(fx->st, "alice", step), 0);
	/* a reset forgets the step (new secret, new codes) */
	free(secret);
	free(uri);
	assert_int_equal(console_user_totp_reset(fx->st, test_key, "alice", &secret, &uri, err,
	    sizeof(err)), 0);
	assert_int_equal(store_cuser_get(fx->st, "alice", &u), 0);
	assert_int_equal(u.totp_last_step, 0);
	expect_sealed(u.totp_secret, secret);
	console_user_clear(&u);
	assert_int_equal(store_cuser_totp_use(fx->st, "nobody", 5), 1);
	free(secret);
	free(uri);
}

/* The key file: made 0600 on first use, the same key afterwards, refused
 * when others can read it or it has the wrong size; a secret stored before
 * sealing is still read, and resealed only while unchanged. */
static void
test_console_key(void **state)
{
	struct tu_store *fx = *state;
	struct config *cfg = config_new();
	unsigned char k1[CONSOLE_KEY_SIZE], k2[CONSOLE_KEY_SIZE];
	char *dir = tu_mkdtemp("console-key"), *path = xasprintf("%s/console.key", dir), err[256], *open;
	struct console_user u = { 0 };
	struct stat sb;
	int plain;
	FILE *fp;

	assert_int_equal(config_set(cfg, "state_dir", dir, err, sizeof(err)), 0);
	assert_int_equal(console_key_load(cfg, k1, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, CONSOLE_KEY_SIZE);
	assert_int_equal(console_key_load(cfg, k2, err, sizeof(err)), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(console_key_load(cfg, k2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_non_null(fp = fopen(path, "a"));
	fputc('x', fp);
	fclose(fp);
	assert_int_equal(console_key_load(cfg, k2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not 32"));

	/* from before sealing: read as it is, resealed only while unchanged */
	open = console_secret_open(test_key, "JBSWY3DPEHPK3PXP", &plain);
	assert_string_equal(open, "JBSWY3DPEHPK3PXP");
	assert_int_equal(plain, 1);
	free(open);
	u.name = "dave";
	u.pwhash = "x";
	u.role = "user";
	u.email = "";
	u.lang = "ja";
	u.totp_secret = "JBSWY3DPEHPK3PXP";
	assert_int_equal(store_cuser_add(fx->st, &u), 0);
	open = console_secret_seal(test_key, "JBSWY3DPEHPK3PXP");
	assert_int_equal(store_cuser_reseal_totp(fx->st, "dave", "OTHER", open), 1);
	assert_int_equal(store_cuser_reseal_totp(fx->st, "dave", "JBSWY3DPEHPK3PXP", open), 0);
	free(open);
	memset(&u, 0, sizeof(u));
	assert_int_equal(store_cuser_get(fx->st, "dave", &u), 0);
	expect_sealed(u.totp_secret, "JBSWY3DPEHPK3PXP");
	console_user_clear(&u);
	/* damaged stored forms open to nothing */
	assert_null(console_secret_open(test_key, "s1:", &plain));
	assert_null(console_secret_open(test_key, "s1:!!!!", &plain));
	assert_null(console_secret_open(test_key, "s1:QUJD", &plain));

	tu_rmtree(dir);
	free(dir);
	free(path);
	config_free(cfg);
}

static void
test_user_create_checks(void **state)
{
	struct tu_store *fx = *state;
	char *secret, *uri, err[256];

	assert_int_equal(console_user_create(fx->st, test_key, "bob", "short", "user", NULL, NULL,
	    &secret, &uri, err, sizeof(err)), -1);
	assert_int_equal(console_user_create(fx->st, test_key, "b o b", "long enough pw", "user", NULL,
	    NULL, &secret, &uri, err, sizeof(err)), -1);
	assert_int_equal(console_user_create(fx->st, test_key, "bob", "long enough pw", "root", NULL,
	    NULL, &secret, &uri, err, sizeof(err)), -1);
	assert_int_equal(console_user_create(fx->st, test_key, "bob", "long enough pw", "user", "nobody",
	    NULL, &secret, &uri, err, sizeof(err)), -1);
	assert_int_equal(console_user_create(fx->st, test_key, "bob", "long enough pw", "user", NULL,
	    "fr", &secret, &uri, err, sizeof(err)), -1);
	assert_int_equal(console_user_create(fx->st, test_key, "bob", "long enough pw", "approver", NULL,
	    NULL, &secret, &uri, err, sizeof(err)), 0);
	free(secret);
	free(uri);
	assert_int_equal(console_user_create(fx->st, test_key, "bob", "long enough pw", "user", NULL,
	    NULL, &secret, &uri, err, sizeof(err)), 1);
	assert_int_equal(console_role_parse("admin"), ROLE_ADMIN);
	assert_int_equal(console_role_parse("approver"), ROLE_APPROVER);
	assert_int_equal(console_role_parse("user"), ROLE_USER);
	assert_int_equal(console_role_parse("Admin"), ROLE_NONE);
	assert_int_equal(console_role_parse(NULL), ROLE_NONE);
}

/* ---- CSRF tokens and sessions ---- */

static void
test_csrf_tokens(void **state)
{
	char a[HTTP_TOKEN_HEX], b[HTTP_TOKEN_HEX], h1[HTTP_TOKEN_HEX], h2[HTTP_TOKEN_HEX];

	(void)state;
	http_random_hex(a, 32);
	http_random_hex(b, 32);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
	assert_int_equal(http_token_eq(a, a), 1);
	assert_int_equal(http_token_eq(a, b), 0);
	assert_int_equal(http_token_eq(a, NULL), 0);
	assert_int_equal(http_token_eq(NULL, a), 0);
	assert_int_equal(http_token_eq("", ""), 0);
	b[63] = '\0';
	memcpy(b, a, 63);
	assert_int_equal(http_token_eq(a, b), 0);	/* a prefix is not the token */
	http_token_hash(a, h1);
	http_token_hash(a, h2);
	assert_string_equal(h1, h2);
	assert_string_not_equal(h1, a);
}

static void
test_sessions(void **state)
{
	struct tu_store *fx = *state;
	struct console_session s;
	char *secret, *uri, err[256];
	int64_t now = 1800000000000;

	assert_int_equal(console_user_create(fx->st, test_key, "carol", "long enough pw", "admin", NULL,
	    NULL, &secret, &uri, err, sizeof(err)), 0);
	free(secret);
	free(uri);
	assert_int_equal(store_csession_put(fx->st, "h1", "carol", "csrf1", "127.0.0.1", now), 0);
	assert_int_equal(store_csession_get(fx->st, "h1", 1000, now + 999, &s), 0);
	assert_string_equal(s.user, "carol");
	assert_string_equal(s.csrf, "csrf1");
	console_session_clear(&s);
	assert_int_equal(store_csession_touch(fx->st, "h1", now + 999), 0);
	assert_int_equal(store_csession_get(fx->st, "h1", 1000, now + 1998, &s), 0);
	console_session_clear(&s);
	/* idle too long: gone, and deleted */
	assert_int_equal(store_csession_get(fx->st, "h1", 1000, now + 2000, &s), 1);
	assert_int_equal(store_csession_get(fx->st, "h1", 1000000, now + 2000, &s), 1);
	assert_int_equal(store_csession_get(fx->st, "nope", 1000, now, &s), 1);
	/* deleting the user ends their sessions */
	assert_int_equal(store_csession_put(fx->st, "h2", "carol", "c", "::1", now), 0);
	assert_int_equal(store_cuser_delete(fx->st, "carol"), 0);
	assert_int_equal(store_csession_get(fx->st, "h2", 1000, now, &s), 1);
	assert_int_equal(store_cuser_delete(fx->st, "carol"), 1);
}

static void
test_login_failures(void **state)
{
	struct tu_store *fx = *state;
	int64_t now = 1800000000000, u, i;

	for (int k = 0; k < 3; k++)
		assert_int_equal(store_login_fail_add(fx->st, now + k, "dave", "192.0.2.1", 0), 0);
	assert_int_equal(store_login_fail_add(fx->st, now, "erin", "192.0.2.1", 0), 0);
	assert_int_equal(store_login_fail_add(fx->st, now, "dave", "192.0.2.9", 1), 0);
	assert_int_equal(store_login_fail_add(fx->st, now - 100000, "dave", "192.0.2.1", 0), 0);
	assert_int_equal(store_login_fail_count(fx->st, now - 1000, "dave", "192.0.2.1", &u, &i), 0);
	assert_int_equal(u, 3);		/* the refusal and the old one do not count */
	assert_int_equal(i, 4);
	assert_int_equal(store_login_fail_purge(fx->st, now - 1000), 1);
}

/* ---- sanitizer ---- */

static void
test_sanitize_hostile(void **state)
{
	static const char *const hostile[] = {
		"<script>alert(1)</script>",
		"<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
		"<img src=x onerror=alert(1)>",
		"<p onclick=\"alert(1)\" style=\"background:url(https://evil.example/t)\">x</p>",
		"<iframe src=\"https://evil.example\"></iframe>",
		"<form action=https://evil.example><input type=password name=p><button>go</button></form>",
		"<style>body{background:url(https://evil.example/t)}</style>",
		"<svg><script>alert(1)</script></svg>",
		"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
		"<object data=x.swf></object><embed src=x.swf>",
		"<meta http-equiv=refresh content=\"0;url=https://evil.example\">",
		"<link rel=stylesheet href=https://evil.example/x.css>",
		"<base href=https://evil.example/>",
		"<a href=\"javascript:alert(1)\">x</a>",
		"<div align=\"javascript:alert(1)\">x</div>",
		"<table background=\"https://evil.example/t.gif\"><tr><td>x</td></tr></table>",
		"<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
		"<!--<script>alert(1)</script>-->",
		"<scr<script>ipt>alert(1)</script>",
		"<video><source src=https://evil.example/v.mp4></video>",
		"<p>\"><script>alert(1)</script></p>",
		"<body onload=alert(1)>x</body>",
		"<a href=x>unclosed <b>bold",
		"<textarea><script>alert(1)</script></textarea>",
		"<template><script>alert(1)</script></template>",
		"<xmp><script>alert(1)</script></xmp>",
	};
	static const char *const forbidden[] = { "<script", "<img", "<iframe", "<form", "<input",
		"<style", "<svg", "<object", "<embed", "<meta", "<link", "<base", "<video",
		"<source", "<button", "<textarea", "onerror=", "onclick=", "onload=", "style=",
		"src=", "href=", "background=", "action=", "http-equiv", NULL };

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(hostile); i++) {
		char *out = http_sanitize_html(hostile[i], strlen(hostile[i]));
		char *lower = util_lowercase(xstrdup(out));

		for (const char *const *f = forbidden; *f; f++)
			if (strstr(lower, *f) != NULL)
				fail_msg("input %zu: '%s' in output: %s", i, *f, out);
		/* text from the input never forms a tag: every '<' is one we wrote */
		for (const char *p = strchr(out, '<'); p; p = strchr(p + 1, '<'))
			if (strncmp(p, "<p", 2) && strncmp(p, "</", 2) && strncmp(p, "<span", 5) &&
			    strncmp(p, "<div", 4) && strncmp(p, "<table", 6) &&
			    strncmp(p, "<tbody", 6) && strncmp(p, "<tr", 3) && strncmp(p, "<td", 3) &&
			    strncmp(p, "<b", 2))
				fail_msg("input %zu: unexpected tag in %s", i, out);
		free(lower);
		free(out);
	}
}

static void
test_sanitize_keeps(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "<p>Hello <b>world</b></p>", "<p>Hello <b>world</b></p>" },
		{ "<a href=\"https://ex.example/a?b=1&amp;c=2\">site</a>",
		  "<span class=\"sekisho-link\" title=\"https://ex.example/a?b=1&amp;c=2\">site</span>"
		  " <span class=\"sekisho-url\">[https://ex.example/a?b=1&amp;c=2]</span>" },
		{ "<img src=https://t.example/x.gif alt=\"Logo\">", "<span class=\"sekisho-img\">[Logo]</span>" },
		{ "<td colspan=2 onmouseover=x>a</td>", "a" },	/* a stray cell has no table */
		{ "<table border=1><tr><td colspan=\"2\" onmouseover=x>a</td></tr></table>",
		  "<table border=\"1\"><tbody><tr><td colspan=\"2\">a</td></tr></tbody></table>" },
		{ "<p>1 &lt; 2 &amp; \"q\"</p>", "<p>1 &lt; 2 &amp; &quot;q&quot;</p>" },
		{ "<blink>old</blink><custom-tag>x</custom-tag>", "oldx" },
		{ "日本語<br>テキスト", "日本語<br>テキスト" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *out = http_sanitize_html(cases[i].in, strlen(cases[i].in));

		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu:\n got  %s\n want %s", i, out, cases[i].want);
		free(out);
	}
}

static void
test_sanitize_deep(void **state)
{
	struct buf b = { 0 };
	char *out;

	(void)state;
	for (int i = 0; i < 5000; i++)
		buf_str(&b, "<div>");
	buf_str(&b, "deep");
	out = http_sanitize_html(b.p, b.len);
	assert_non_null(out);
	assert_null(strstr(out, "deep"));	/* cut below the depth limit */
	free(out);
	buf_free(&b);
}

/* ---- message log ---- */

static struct envelope *
make_env(const char *id, const char *listener)
{
	struct envelope *env = envelope_new();

	util_strlcpy(env->id, id, sizeof(env->id));
	env->listener = xstrdup(listener);
	env->mail_from = xstrdup("sender@example.org");
	env->received_ms = util_now_ms();
	envelope_add_rcpt(env, "Alice@Sekisho.test", NULL, 0);
	envelope_add_rcpt(env, "bob@sekisho.test", NULL, 0);
	return env;
}

struct rows {
	int n;
	char state[8][16];
	char action[8][16];
	char rcpts[8][128];
	char symbols[8][128];
};

static int
row_cb(const struct msg_row *r, void *arg)
{
	struct rows *rs = arg;

	if (rs->n < 8) {
		snprintf(rs->state[rs->n], 16, "%d", r->state);
		snprintf(rs->action[rs->n], 16, "%s", r->action ? r->action : "");
		snprintf(rs->rcpts[rs->n], 128, "%s", r->rcpts ? r->rcpts : "");
		snprintf(rs->symbols[rs->n], 128, "%s", r->scan ? r->scan : "");
	}
	rs->n++;
	return 0;
}

static void
test_msglog(void **state)
{
	struct tu_store *fx = *state;
	struct envelope *env = make_env("M1", "inbound"), *rej = make_env("M2", "outbound");
	struct queue_info qi;
	struct msg_query q;
	struct rows rs;
	int64_t total;

	memset(&qi, 0, sizeof(qi));
	qi.state = MSG_RECEIVED;
	assert_int_equal(store_msg_insert(fx->st, env, &qi), 0);
	assert_int_equal(store_msg_insert(fx->st, rej, &qi), 0);
	/* the verdict makes the log row */
	qi.state = MSG_QUARANTINED;
	qi.action = "quarantine";
	qi.subject = "Hello";
	qi.scan = "{\"score\":7.5,\"symbols\":[{\"name\":\"HDR_MISSING_DATE\",\"score\":7.5,\"reason\":\"r\"}]}";
	assert_int_equal(store_msg_update(fx->st, env, &qi), 0);
	memset(&q, 0, sizeof(q));
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(store_quarantine_query(fx->st, &q, row_cb, &rs, &total), 0);
	assert_int_equal(total, 1);
	q.addr = "alice@sekisho.test";
	q.symbol = "HDR_MISSING_DATE";
	assert_int_equal(store_quarantine_query(fx->st, &q, row_cb, &rs, &total), 0);
	assert_int_equal(total, 1);
	q.addr = "carol@sekisho.test";
	assert_int_equal(store_quarantine_query(fx->st, &q, row_cb, &rs, &total), 0);
	assert_int_equal(total, 0);
	/* released, then delivered (row deleted): the log keeps the verdict */
	qi.state = MSG_QUEUED;
	qi.action = "release";
	assert_int_equal(store_msg_update(fx->st, env, &qi), 0);
	assert_int_equal(store_msg_delete(fx->st, "M1"), 0);
	/* refused during SMTP: deleted while RECEIVED */
	assert_int_equal(store_msg_delete(fx->st, "M2"), 0);

	memset(&q, 0, sizeof(q));
	memset(&rs, 0, sizeof(rs));
	q.action = "quarantine";
	assert_int_equal(store_msglog_query(fx->st, &q, row_cb, &rs, &total), 0);
	assert_int_equal(total, 1);
	assert_string_equal(rs.action[0], "quarantine");
	assert_string_equal(rs.state[0], "5");
	assert_string_equal(rs.rcpts[0], "[\"Alice@Sekisho.test\",\"bob@sekisho.test\"]");
	assert_string_equal(rs.symbols[0], "[\"HDR_MISSING_DATE\"]");
	memset(&rs, 0, sizeof(rs));
	q.action = "reject";
	assert_int_equal(store_msglog_query(fx->st, &q, row_cb, &rs, &total), 0);
	assert_int_equal(total, 1);
	/* a user sees mail where they are a recipient, case-insensitively */
	memset(&q, 0, sizeof(q));
	q.addr = "ALICE@sekisho.test";
	assert_int_equal(store_msglog_query(fx->st, &q, row_cb, &rs, &total), 0);
	assert_int_equal(total, 2);
	q.addr = "\x01";
	assert_int_equal(store_msglog_query(fx->st, &q, row_cb, &rs, &total), 0);
	assert_int_equal(total, 0);
	/* an update with broken scan JSON never fails the queue */
	env->id[1] = '3';
	qi.state = MSG_RECEIVED;
	qi.action = NULL;
	qi.scan = NULL;
	assert_int_equal(store_msg_insert(fx->st, env, &qi), 0);
	qi.state = MSG_QUEUED;
	qi.action = "deliver";
	qi.scan = "{not json";
	assert_int_equal(store_msg_update(fx->st, env, &qi), 0);
	assert_int_equal(store_msglog_purge(fx->st, util_now_ms() + 1000), 3);
	/* the strings were ours, not queue_info's to free */
	envelope_free(env);
	envelope_free(rej);
}

/* ---- the hourly symbol counts (migration 15) ---- */

struct hits {
	char name[8][32];
	int64_t n[8];
	size_t k;
};

static int
hits_cb(int64_t key, const char *name, int64_t n, void *arg)
{
	struct hits *h = arg;

	(void)key;
	if (h->k < 8) {
		snprintf(h->name[h->k], sizeof(h->name[0]), "%s", name);
		h->n[h->k++] = n;
	}
	return 0;
}

static int64_t
hit(struct tu_store *fx, const char *addr, const char *name)
{
	struct hits h;

	memset(&h, 0, sizeof(h));
	assert_int_equal(store_stats_symbols(fx->st, util_now_ms() - 3600000, addr, 100,
	    hits_cb, &h), 0);
	for (size_t i = 0; i < h.k; i++)
		if (strcmp(h.name[i], name) == 0)
			return h.n[i];
	return 0;
}

static void
verdict(struct tu_store *fx, struct envelope *env, char *action, char *scan)
{
	struct queue_info qi;

	memset(&qi, 0, sizeof(qi));
	qi.state = MSG_QUEUED;
	qi.action = action;
	qi.scan = scan;
	assert_int_equal(store_msg_update(fx->st, env, &qi), 0);
}

/* Everyone's top symbols come from the hourly counts, which must agree
 * with the log they summarise: added with each verdict, taken off when a
 * message is judged again, pruned with the log. */
static void
test_symbol_hits(void **state)
{
	struct tu_store *fx = *state;
	struct envelope *a = make_env("H1", "inbound"), *b = make_env("H2", "inbound");
	struct queue_info qi;

	memset(&qi, 0, sizeof(qi));
	qi.state = MSG_RECEIVED;
	assert_int_equal(store_msg_insert(fx->st, a, &qi), 0);
	assert_int_equal(store_msg_insert(fx->st, b, &qi), 0);
	verdict(fx, a, "tag", "{\"symbols\":[{\"name\":\"SYM_A\"},{\"name\":\"SYM_B\"}]}");
	verdict(fx, b, "deliver", "{\"symbols\":[{\"name\":\"SYM_A\"}]}");
	assert_int_equal(hit(fx, NULL, "SYM_A"), 2);
	assert_int_equal(hit(fx, NULL, "SYM_B"), 1);
	/* the per-user view reads the log itself: the same figures */
	assert_int_equal(hit(fx, "alice@sekisho.test", "SYM_A"), 2);
	/* judged again (a rescan after a restart): the old symbols come off */
	verdict(fx, a, NULL, NULL);
	verdict(fx, a, "deliver", "{\"symbols\":[{\"name\":\"SYM_C\"}]}");
	assert_int_equal(hit(fx, NULL, "SYM_A"), 1);
	assert_int_equal(hit(fx, NULL, "SYM_B"), 0);
	assert_int_equal(hit(fx, NULL, "SYM_C"), 1);
	assert_int_equal(hit(fx, "alice@sekisho.test", "SYM_A"), 1);
	/* pruned with the log */
	assert_int_equal(store_msglog_purge(fx->st, util_now_ms() + 3600000), 2);
	assert_int_equal(hit(fx, NULL, "SYM_A"), 0);
	assert_int_equal(hit(fx, NULL, "SYM_C"), 0);
	envelope_free(a);
	envelope_free(b);
}

/* ---- JSON strings from bytes that may not be UTF-8 ---- */

static void
test_json_str(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain", "plain" },
		{ "日本語", "日本語" },
		{ "a\xff" "b", "a\xEF\xBF\xBD" "b" },
		{ "\xe6\x97", "\xEF\xBF\xBD\xEF\xBF\xBD" },		/* cut short */
		{ "\xc0\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD" },		/* overlong '/' */
		{ "\xed\xa0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },	/* surrogate */
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
	};
	json_t *j;

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		j = http_json_str(cases[i].in);
		assert_non_null(j);
		if (strcmp(json_string_value(j), cases[i].want) != 0)
			fail_msg("case %zu: %s", i, json_string_value(j));
		json_decref(j);
	}
	j = http_json_str(NULL);
	assert_true(json_is_null(j));
	json_decref(j);
}

/* ---- times and names ---- */

static void
test_times(void **state)
{
	char t[32];
	int64_t ms;

	(void)state;
	http_iso_time(1800000000123, t, sizeof(t));
	assert_string_equal(t, "2027-01-15T08:00:00Z");
	assert_int_equal(http_parse_time("2027-01-15T08:00:00Z", &ms), 0);
	assert_int_equal(ms, 1800000000000);
	assert_int_equal(http_parse_time("2027-01-15T17:00:00+09:00", &ms), 0);
	assert_int_equal(ms, 1800000000000);
	assert_int_equal(http_parse_time("2027-01-15T08:00:00.5Z", &ms), 0);
	assert_int_equal(ms, 1800000000000);
	assert_int_equal(http_parse_time("1800000000", &ms), 0);
	assert_int_equal(ms, 1800000000000);
	assert_int_equal(http_parse_time("2027-01-15", &ms), 0);
	assert_int_equal(ms, 1800000000000 - 8 * 3600000);
	assert_int_equal(http_parse_time("yesterday", &ms), -1);
	assert_int_equal(http_parse_time("2027-01-15T08:00:00Zjunk", &ms), -1);
	assert_int_equal(http_parse_time("", &ms), -1);
	assert_int_equal(http_valid_username("alice.b-c_d@x"), 1);
	assert_int_equal(http_valid_username(""), 0);
	assert_int_equal(http_valid_username("a/b"), 0);
	assert_int_equal(http_valid_username("ａ"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_match),
		cmocka_unit_test(test_static_path),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_totp_check),
		cmocka_unit_test_setup_teardown(test_totp_replay, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_console_key, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_user_create_checks, tu_store_setup, tu_store_teardown),
		cmocka_unit_test(test_csrf_tokens),
		cmocka_unit_test_setup_teardown(test_sessions, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_login_failures, tu_store_setup, tu_store_teardown),
		cmocka_unit_test(test_sanitize_hostile),
		cmocka_unit_test(test_sanitize_keeps),
		cmocka_unit_test(test_sanitize_deep),
		cmocka_unit_test_setup_teardown(test_symbol_hits, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_msglog, tu_store_setup, tu_store_teardown),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
