/*
 * attach_html.c - HTML and SVG attachments: smuggling and credential forms.
 *
 * HTML smuggling: the attachment carries a file as a string (base64, often
 * megabytes of it) and a script that turns it into a Blob and makes the
 * browser save it (msSaveOrOpenBlob, or an <a download> clicked by the
 * script, or a data: URL of an application type).  We look for the
 * building blocks in the lower-cased text and say ATTACH_HTML_SMUGGLING
 * when a payload, a way to build a file and a way to drop it are all
 * there.  The largest base64 strings are decoded and scanned as files one
 * level deeper, so the payload itself (an ISO, a zip, an EICAR) is judged
 * too, engines included.
 *
 * Credential forms: an <input type=password> (or a script setting that
 * type) gives ATTACH_HTML_CREDENTIAL_FORM; the form's action is named in
 * the reason.  Percent-escaped pages (document.write(unescape("%3C..."))) are
 * unescaped once and looked at again.
 *
 * SVG: a script, an on* event handler, a javascript: link or a
 * foreignObject makes an SVG a dangerous type (ATTACH_DANGEROUS_TYPE).
 *
 * Limits: the text looked at is the first HTML_MAX bytes; at most
 * MAX_PAYLOADS base64 strings of at least MIN_PAYLOAD characters are
 * decoded.
 */
#include "detect/attach.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define HTML_MAX	(32u << 20)
#define MIN_PAYLOAD	512
#define BIG_PAYLOAD	4096
#define MAX_PAYLOADS	4

struct b64run {
	size_t off, len;
};

static int
is_b64(unsigned char c)
{
	return isalnum(c) || c == '+' || c == '/' || c == '=';
}

static int
has(const char *low, size_t len, const char *needle)
{
	return memmem(low, len, needle, strlen(needle)) != NULL;
}

/* The largest base64 runs that are not images (data:image/...). */
static size_t
find_payloads(const char *buf, size_t len, struct b64run *runs, size_t max, size_t *biggest)
{
	size_t n = 0;

	*biggest = 0;
	for (size_t i = 0; i < len; ) {
		size_t j = i;

		if (!is_b64((unsigned char)buf[i])) {
			i++;
			continue;
		}
		while (j < len && is_b64((unsigned char)buf[j]))
			j++;
		if (j - i >= MIN_PAYLOAD) {
			size_t back = i > 64 ? 64 : i;
			const char *pre = memmem(buf + i - back, back, "image/", 6);
			const char *font = memmem(buf + i - back, back, "font", 4);

			if (pre == NULL && font == NULL) {
				if (j - i > *biggest)
					*biggest = j - i;
				if (n < max) {
					runs[n].off = i;
					runs[n].len = j - i;
					n++;
				} else {
					/* keep the largest: replace the smallest */
					size_t k = 0;
					for (size_t m = 1; m < n; m++)
						if (runs[m].len < runs[k].len)
							k = m;
					if (runs[k].len < j - i) {
						runs[k].off = i;
						runs[k].len = j - i;
					}
				}
			}
		}
		i = j;
	}
	return n;
}

/* Lenient base64: stops at the first '=' or byte outside the alphabet. */
static long
b64_decode_lenient(const char *in, size_t len, unsigned char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	long o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c >= 'A' && c <= 'Z') v = c - 'A';
		else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
		else if (c >= '0' && c <= '9') v = c - '0' + 52;
		else if (c == '+') v = 62;
		else if (c == '/') v = 63;
		else break;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

/* Percent-unescape (for document.write(unescape(...)) pages). */
static char *
unescape_pct(const char *s, size_t len, size_t *outlen)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };
			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static char *
lower_copy(const unsigned char *buf, size_t len)
{
	char *low = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower(buf[i]);
	low[len] = '\0';
	return low;
}

/* type=password, type = "password", .type='password', setAttribute("type","password") */
static int
password_field(const char *low, size_t len)
{
	const char *p = low, *end = low + len;

	while (p < end && (p = memmem(p, (size_t)(end - p), "password", 8)) != NULL) {
		const char *q = p;
		int quote = 0;

		while (q > low && (q[-1] == '"' || q[-1] == '\'' || q[-1] == ' ' || q[-1] == '\\' ||
		    q[-1] == '=' || q[-1] == ',') && p - q < 12) {
			if (q[-1] == '=' || q[-1] == ',')
				quote = 1;
			q--;
		}
		if (quote && q - low >= 4 && memcmp(q - 4, "type", 4) == 0)
			return 1;
		p += 8;
	}
	return 0;
}

/* The action of the first form, for the reason (caller frees). */
static char *
form_action(const char *low, const unsigned char *orig, size_t len)
{
	const char *f = memmem(low, len, "<form", 5), *a, *end;
	size_t n;

	if (f == NULL)
		return NULL;
	end = memchr(f, '>', len - (size_t)(f - low));
	if (end == NULL)
		return NULL;
	a = memmem(f, (size_t)(end - f), "action", 6);
	if (a == NULL)
		return NULL;
	a += 6;
	while (a < end && (*a == ' ' || *a == '='))
		a++;
	if (a < end && (*a == '"' || *a == '\''))
		a++;
	for (n = 0; a + n < end && a[n] != '"' && a[n] != '\'' && a[n] != ' ' && n < 200; n++)
		;
	if (n == 0)
		return NULL;
	{
		char *raw = xstrndup((const char *)orig + (a - low), n), *safe;
		safe = attach_safe_name(raw);
		free(raw);
		return safe;
	}
}

static void
look(struct attach_scan *s, const struct attach_file *f, const char *safe, const char *low,
    const unsigned char *orig, size_t len, int svg, int pass)
{
	int blob = has(low, len, "new blob") || has(low, len, "blob([");
	int saver = has(low, len, "mssaveoropenblob") || has(low, len, "mssaveblob");
	int objurl = has(low, len, "createobjecturl");
	int download = has(low, len, ".download") || has(low, len, " download=") ||
	    has(low, len, " download>") || has(low, len, " download ") ||
	    has(low, len, "'download'") || has(low, len, "\"download\"");
	int decode = has(low, len, "atob(") || has(low, len, "uint8array") ||
	    has(low, len, "fromcharcode") || has(low, len, "charcodeat");
	int appdata = has(low, len, "data:application/") || has(low, len, "data:octet");
	struct b64run runs[MAX_PAYLOADS];
	size_t nruns, biggest;
	const char *why = NULL;

	nruns = find_payloads(low, len, runs, MAX_PAYLOADS, &biggest);
	if (saver)
		why = "msSaveOrOpenBlob";
	else if (download && (objurl || appdata) && (blob || appdata || biggest >= BIG_PAYLOAD))
		why = appdata ? "a download link to a data: URL" : "a Blob offered for download";
	else if (blob && objurl && (decode || biggest >= BIG_PAYLOAD))
		why = "a Blob built from an encoded string";
	else if (decode && biggest >= (64u << 10) && has(low, len, "<script"))
		why = "a large encoded payload decoded by a script";
	if (why != NULL)
		attach_flag(s, 1, "ATTACH_HTML_SMUGGLING", "%s: %s%s", safe, why,
		    biggest >= MIN_PAYLOAD ? " (with an encoded payload)" : "");

	if (password_field(low, len)) {
		char *act = form_action(low, orig, len);
		attach_flag(s, 1, "ATTACH_HTML_CREDENTIAL_FORM", "%s: a password field%s%s", safe,
		    act ? " in a form posting to " : "", act ? act : "");
		free(act);
	}
	if (svg && (has(low, len, "<script") || has(low, len, "javascript:") ||
	    has(low, len, "<foreignobject") || has(low, len, " onload=") ||
	    has(low, len, " onclick=") || has(low, len, " onerror=") ||
	    has(low, len, " onmouseover=")))
		attach_flag(s, 1, "ATTACH_DANGEROUS_TYPE", "%s: SVG with script", safe);

	/* decode the payloads and judge them as files */
	for (size_t i = 0; i < nruns && pass == 0; i++) {
		const char *b = (const char *)orig + runs[i].off;
		unsigned char *dec = xmalloc(runs[i].len / 4 * 3 + 4);
		long n = b64_decode_lenient(b, runs[i].len, dec);

		if (n > 0 && !s->timed_out && !s->bomb) {
			struct attach_file nf;
			char *path = xasprintf("%s/(encoded payload %zu)", f->path ? f->path : "(html)",
			    i + 1);

			memset(&nf, 0, sizeof(nf));
			nf.path = path;
			nf.buf = dec;
			nf.len = (size_t)n;
			nf.depth = f->depth + 1;
			nf.in_archive = 1;
			attach_file(s, &nf);
			free(path);
		}
		free(dec);
	}
}

void
attach_html(struct attach_scan *s, const struct attach_file *f, int svg)
{
	size_t len = f->len < HTML_MAX ? f->len : HTML_MAX;
	char *low = lower_copy(f->buf, len);
	char *safe = attach_safe_name(f->path ? f->path : f->name);

	look(s, f, safe, low, f->buf, len, svg, 0);
	if (has(low, len, "unescape(") || has(low, len, "decodeuricomponent(")) {
		size_t ulen;
		char *u = unescape_pct((const char *)f->buf, len, &ulen);
		char *ulow = lower_copy((const unsigned char *)u, ulen);

		look(s, f, safe, ulow, (const unsigned char *)u, ulen, svg, 1);
		free(ulow);
		free(u);
	}
	free(low);
	free(safe);
}
