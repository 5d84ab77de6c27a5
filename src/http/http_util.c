/*
 * http_util.c - pure helpers of the console server (see http_util.h).
 *
 * TOTP uses liboath (RFC 6238), initialised once.  Random values come
 * from libsodium (randombytes_buf), which never fails once sodium_init()
 * has run.
 */
#include "http/http_util.h"
#include "util/util.h"

#include <ctype.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOTP_STEP	30
#define TOTP_WINDOW	1
#define TOTP_SECRET_BYTES 20

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void
crypto_init(void)
{
	if (sodium_init() < 0)
		panic("http: libsodium cannot be initialised");
	if (oath_init() != OATH_OK)
		panic("http: liboath cannot be initialised");
}

int
http_route_match(const char *pattern, const char *path, char caps[][128], size_t *ncap)
{
	const char *p = pattern, *s = path;

	*ncap = 0;
	for (;;) {
		size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");

		if (plen == 1 && *p == '*') {
			if (slen == 0 || slen >= 128 || *ncap >= HTTP_ROUTE_MAXCAP)
				return 0;
			memcpy(caps[*ncap], s, slen);
			caps[*ncap][slen] = '\0';
			(*ncap)++;
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			return 0;
		}
		p += plen;
		s += slen;
		if (*p == '\0' || *s == '\0')
			return *p == *s;
		p++;
		s++;
	}
}

static int
static_char_ok(unsigned char c)
{
	return isalnum(c) || strchr("._~@+-/", c) != NULL;
}

int
http_static_path(const char *dir, const char *urlpath, char *out, size_t outlen)
{
	const char *p = urlpath;
	int n;

	if (*p != '/')
		return -1;
	if (strcmp(p, "/") == 0)
		p = "/index.html";
	for (const char *c = p; *c; c++)
		if (!static_char_ok((unsigned char)*c))
			return -1;
	/* every segment non-empty and not starting with '.' (no ., .., hidden) */
	for (const char *seg = p + 1;; ) {
		size_t len = strcspn(seg, "/");

		if (len == 0 || seg[0] == '.')
			return -1;
		if (seg[len] == '\0')
			break;
		seg += len + 1;
	}
	n = snprintf(out, outlen, "%s%s", dir, p);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

const char *
http_content_type(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "json", "application/json" },
		{ "map", "application/json" },
		{ "webmanifest", "application/manifest+json" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "ico", "image/x-icon" },
		{ "woff", "font/woff" },
		{ "woff2", "font/woff2" },
		{ "ttf", "font/ttf" },
		{ "txt", "text/plain; charset=utf-8" },
	};
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash : name, '.');

	if (dot != NULL)
		for (size_t i = 0; i < UTIL_ARRAY_LEN(types); i++)
			if (util_strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

int
http_totp_check(const char *secret_b32, const char *code, time_t now, int64_t *step)
{
	char *secret = NULL;
	size_t slen = 0;
	uint64_t counter = 0;
	int pos, rc = -1;

	pthread_once(&crypto_once, crypto_init);
	if (code == NULL || strlen(code) != 6 || strspn(code, "0123456789") != 6)
		return -1;
	if (oath_base32_decode(secret_b32, strlen(secret_b32), &secret, &slen) != OATH_OK)
		return -1;
	pos = oath_totp_validate4(secret, slen, now, TOTP_STEP, 0, TOTP_WINDOW, NULL,
	    &counter, 0, code);
	if (pos >= 0) {
		*step = (int64_t)counter;
		rc = 0;
	}
	sodium_memzero(secret, slen);
	free(secret);
	return rc;
}

char *
http_totp_new_secret(void)
{
	unsigned char raw[TOTP_SECRET_BYTES];
	char *out = NULL, *copy;
	size_t outlen = 0;

	pthread_once(&crypto_once, crypto_init);
	randombytes_buf(raw, sizeof(raw));
	if (oath_base32_encode((const char *)raw, sizeof(raw), &out, &outlen) != OATH_OK)
		panic("http: base32 encoding failed");
	sodium_memzero(raw, sizeof(raw));
	copy = xstrndup(out, outlen);
	free(out);
	return copy;
}

char *
http_totp_uri(const char *name, const char *secret_b32)
{
	char enc[3 * 64 + 1];
	size_t o = 0;

	for (const char *p = name; *p && o + 4 < sizeof(enc); p++) {
		unsigned char c = (unsigned char)*p;

		if (isalnum(c) || c == '.' || c == '_' || c == '-')
			enc[o++] = (char)c;
		else
			o += (size_t)snprintf(enc + o, sizeof(enc) - o, "%%%02X", c);
	}
	enc[o] = '\0';
	return xasprintf("otpauth://totp/sekisho:%s?secret=%s&issuer=sekisho", enc, secret_b32);
}

void
http_random_hex(char *out, size_t n)
{
	unsigned char raw[32];

	pthread_once(&crypto_once, crypto_init);
	if (n > sizeof(raw))
		n = sizeof(raw);
	randombytes_buf(raw, n);
	sodium_bin2hex(out, 2 * n + 1, raw, n);
	sodium_memzero(raw, sizeof(raw));
}

void
http_token_hash(const char *token, char out[HTTP_TOKEN_HEX])
{
	unsigned char h[32];

	pthread_once(&crypto_once, crypto_init);
	crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
	sodium_bin2hex(out, HTTP_TOKEN_HEX, h, sizeof(h));
}

int
http_token_eq(const char *a, const char *b)
{
	size_t la, lb;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb || la == 0)
		return 0;
	return sodium_memcmp(a, b, la) == 0;
}

void
http_iso_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
http_parse_time(const char *text, int64_t *ms)
{
	struct tm tm;
	const char *end;
	long off = 0;

	if (text == NULL || *text == '\0')
		return -1;
	if (strspn(text, "0123456789") == strlen(text)) {
		if (strlen(text) > 12)
			return -1;
		*ms = strtoll(text, NULL, 10) * 1000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%d", &tm);
	if (end == NULL)
		return -1;
	if (*end == 'T' || *end == ' ') {
		const char *e2 = strptime(end + 1, "%H:%M", &tm);

		if (e2 == NULL)
			return -1;
		end = e2;
		if (*end == ':') {
			if ((e2 = strptime(end + 1, "%S", &tm)) == NULL)
				return -1;
			end = e2;
		}
		if (*end == '.')
			for (end++; isdigit((unsigned char)*end); end++)
				;
		if (*end == 'Z') {
			end++;
		} else if ((*end == '+' || *end == '-') && isdigit((unsigned char)end[1]) &&
		    isdigit((unsigned char)end[2])) {
			int sign = *end == '-' ? -1 : 1;
			long h = (end[1] - '0') * 10 + (end[2] - '0'), m = 0;

			end += 3;
			if (*end == ':')
				end++;
			if (isdigit((unsigned char)end[0]) && isdigit((unsigned char)end[1])) {
				m = (end[0] - '0') * 10 + (end[1] - '0');
				end += 2;
			}
			off = sign * (h * 3600 + m * 60);
		}
	}
	if (*end != '\0')
		return -1;
	*ms = ((int64_t)timegm(&tm) - off) * 1000;
	return 0;
}

int
http_valid_username(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64)
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("._@-", *p) == NULL)
			return 0;
	return 1;
}
