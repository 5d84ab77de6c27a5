/*
 * fuzz_http_form.c - libFuzzer harness for the console's request parsing
 * helpers (src/http/http_form.c, src/http/http_util.c): form fields of
 * application/x-www-form-urlencoded bodies, durations and times of query
 * arguments, route matching, static file paths, user names, hold reasons,
 * address lists, the HTML escaping of untrusted text, and stored TOTP
 * secrets (http_secret.c: opened or refused, a seal opens back).
 *
 * The first byte picks the parser, the rest is its input (split at the
 * first newline where a parser takes two strings).  Every input is a
 * malloc'ed copy of exactly its size, so reads past the end show under
 * ASan.  Checks: outputs are NUL-terminated within their buffers, a
 * decoded form value holds no NUL, the escaped HTML has no raw markup
 * characters and is valid UTF-8, captures fit their slots, a static path
 * never climbs out of its directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http/http_form.h"
#include "http/http_secret.h"
#include "http/http_util.h"
#include "util/buf.h"
#include "fuzz.h"

#define MAX_INPUT	(256 * 1024)

/* Is s[0..n) valid UTF-8 (no overlongs, no surrogates)? */
static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07;
		else
			return 0;
		if (i + k >= n)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

static void
do_form(const char *body, size_t len)
{
	static const char *const names[] = { "code", "action", "comment", "", "a" };
	char out[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int rc;

		memset(out, 0x5a, sizeof(out));
		rc = http_form_field(body, len, names[i], out, sizeof(out));
		CHECK(rc == 0 || rc == 1 || rc == -1);
		CHECK(memchr(out, '\0', sizeof(out)) != NULL);
		if (rc == 0)
			CHECK(strlen(out) < sizeof(out));
		else
			CHECK(out[0] == '\0');	/* nothing half-decoded */
	}
	/* a one-byte buffer holds only the empty value */
	if (http_form_field(body, len, "code", out, 1) == 0)
		CHECK(out[0] == '\0');
}

static void
do_escape(const char *s)
{
	struct buf b = { 0 };

	buf_html(&b, s);
	if (b.p != NULL) {
		CHECK(memchr(b.p, '<', b.len) == NULL);
		CHECK(memchr(b.p, '>', b.len) == NULL);
		CHECK(memchr(b.p, '"', b.len) == NULL);
		CHECK(memchr(b.p, '\'', b.len) == NULL);
		CHECK(memchr(b.p, '\0', b.len) == NULL);
		CHECK(valid_utf8((const unsigned char *)b.p, b.len));
	}
	buf_free(&b);
}

static void
do_route(const char *s)
{
	const char *nl = strchr(s, '\n');
	char pattern[512], caps[HTTP_ROUTE_MAXCAP][128];
	size_t n, ncap = 99;

	if (nl == NULL || (n = (size_t)(nl - s)) >= sizeof(pattern))
		return;
	memcpy(pattern, s, n);
	pattern[n] = '\0';
	memset(caps, 0x5a, sizeof(caps));
	if (http_route_match(pattern, nl + 1, caps, &ncap)) {
		CHECK(ncap <= HTTP_ROUTE_MAXCAP);
		for (size_t i = 0; i < ncap; i++) {
			CHECK(memchr(caps[i], '\0', sizeof(caps[i])) != NULL);
			CHECK(caps[i][0] != '\0' && strchr(caps[i], '/') == NULL);
		}
	}
}

static void
do_static(const char *s)
{
	char out[256];

	if (http_static_path("/srv/console", s, out, sizeof(out)) == 0) {
		CHECK(strncmp(out, "/srv/console/", 13) == 0);
		CHECK(strstr(out, "/.") == NULL && strstr(out, "//") == NULL);
		CHECK(strchr(out, '\\') == NULL && strchr(out, '%') == NULL);
	}
	(void)http_content_type(s);
}

/* A stored TOTP secret from a damaged store: opened or refused, never
 * read past its end; a sealed one opens back to what was sealed. */
static void
do_secret(const char *s)
{
	static const unsigned char key[CONSOLE_KEY_SIZE] = "fuzz key fuzz key fuzz key fuzz";
	char *open, *sealed;
	int plain;

	open = console_secret_open(key, s, &plain);
	if (open != NULL && !plain)
		CHECK(strlen(open) < 512);
	free(open);
	if (strlen(s) < 200) {
		sealed = console_secret_seal(key, s);
		open = console_secret_open(key, sealed, &plain);
		CHECK(open != NULL && plain == 0 && strcmp(open, s) == 0);
		free(open);
		free(sealed);
	}
}

static void
do_misc(const char *s)
{
	int64_t ms = 0;
	json_t *a;
	const char *nl;

	if (http_parse_duration(s, &ms) == 0)
		CHECK(ms >= 0 && ms <= 366LL * 24 * 3600 * 1000);
	(void)http_parse_time(s, &ms);
	if (http_valid_username(s)) {
		CHECK(strlen(s) >= 1 && strlen(s) <= 64);
		CHECK(strpbrk(s, " /<>\"'") == NULL);
	}
	a = http_reasons_json(s);
	CHECK(json_is_array(a));
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i);
		const char *name = json_string_value(json_object_get(o, "name"));
		CHECK(name != NULL && name[0] != '\0' && strlen(name) < 128);
	}
	json_decref(a);
	if ((nl = strchr(s, '\n')) != NULL) {
		char *addr = strndup(s, (size_t)(nl - s));
		CHECK(addr != NULL);
		(void)http_addr_in_list(nl + 1, addr);
		free(addr);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t n;

	if (size < 1 || size > MAX_INPUT)
		return 0;
	n = size - 1;
	/* exactly n bytes for the length-bounded parser ... */
	s = malloc(n ? n : 1);
	CHECK(s != NULL);
	memcpy(s, data + 1, n);
	if ((data[0] & 7) == 0) {
		do_form(n ? s : NULL, n);	/* no body at all, as the server passes it */
		free(s);
		return 0;
	}
	free(s);
	/* ... n + 1 with a NUL for the string ones */
	s = malloc(n + 1);
	CHECK(s != NULL);
	memcpy(s, data + 1, n);
	s[n] = '\0';
	switch (data[0] & 7) {
	case 1: do_escape(s); break;
	case 2: do_route(s); break;
	case 3: do_static(s); break;
	case 4: do_secret(s); break;
	default: do_misc(s); break;
	}
	free(s);
	return 0;
}
