/*
 * message_url.c - URLs: found in text, taken from HTML attributes, parsed
 * into scheme, host and registrable domain.
 *
 * Hosts are read the way a browser reads them, because that is where the
 * reader ends up: "http://good.example@evil.example/" goes to evil.example,
 * backslashes end the authority of http(s) URLs, %XX in a host is decoded,
 * and a host of one to four numbers (decimal, 0x hex, 0-prefixed octal) is
 * an IPv4 address (http://3232235777/, http://0xC0A80001/).
 *
 * In text, URLs are: scheme://..., mailto:..., and schemeless ones: any
 * "www." host, a dotted-quad IPv4 followed by a path or port, and a host
 * whose top-level label is on the public suffix list (libpsl, without the
 * "*" rule) when a path follows, or, with no path, when that label is not
 * also a common file extension (.zip, .py, .md ...) so "file.txt" and
 * "setup.py" are not taken for hosts.  Addresses (x@host) are not URLs.
 *
 * URLs are de-duplicated on (url, source, anchor text); at most max are
 * kept (MSG_LIMIT_URLS when more were found).  A stored URL is cut at 8 KiB
 * (data: URLs can be megabytes).  Thread-safe: libpsl lookups are.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <idn2.h>
#include <libpsl.h>

#include "message/message_int.h"
#include "util/util.h"

#define URL_MAX 8192

struct murls {
	struct msg_url *v;
	size_t n, cap, max;
	GHashTable *seen;
	unsigned *limits;
};

struct murls *
murls_new(size_t max, unsigned *limits)
{
	struct murls *u = xcalloc(1, sizeof(*u));

	u->max = max;
	u->limits = limits;
	u->seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
	return u;
}

static void
url_clear(struct msg_url *m)
{
	free(m->url);
	free(m->scheme);
	free(m->host);
	free(m->host_utf8);
	free(m->domain);
	free(m->text);
}

void
murls_free(struct murls *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; i < u->n; i++)
		url_clear(&u->v[i]);
	free(u->v);
	g_hash_table_destroy(u->seen);
	free(u);
}

struct msg_url *
murls_take(struct murls *u, size_t *n)
{
	struct msg_url *v = u->v;

	*n = u->n;
	u->v = NULL;
	u->n = u->cap = 0;
	return v;
}

/* ---- hosts ---- */

static int
num_part(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;

	if (len == 0)
		return 0;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (len > 1 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	for (; i < len; i++) {
		int d;

		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return 0;
		if ((unsigned)d >= base)
			return 0;
		v = v * base + (unsigned)d;
		if (v > 0xFFFFFFFFull)
			return 0;
	}
	*out = v;
	return 1;
}

int
murl_ipv4(const char *host, uint32_t *ip)
{
	uint64_t parts[4];
	size_t np = 0, len = strlen(host);
	const char *p = host, *end = host + len;

	if (len > 0 && host[len - 1] == '.' && len > 1)
		end--;
	while (p <= end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		const char *e = dot != NULL ? dot : end;

		if (np == 4 || !num_part(p, (size_t)(e - p), &parts[np]))
			return 0;
		np++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (np == 0)
		return 0;
	for (size_t i = 0; i + 1 < np; i++)
		if (parts[i] > 255)
			return 0;
	if (parts[np - 1] >= (1ull << (8 * (5 - np))))
		return 0;
	{
		uint64_t v = parts[np - 1];

		for (size_t i = 0; i + 1 < np; i++)
			v += parts[i] << (8 * (3 - i));
		*ip = (uint32_t)v;
	}
	return 1;
}

char *
message_registrable_domain(const char *host)
{
	char *h, *t;
	const char *r;
	uint32_t ip;
	unsigned char a6[16];

	if (host == NULL)
		return NULL;
	h = util_lowercase(xstrdup(host));
	t = h + strlen(h);
	while (t > h && t[-1] == '.')
		*--t = '\0';
	if (h[0] == '\0' || murl_ipv4(h, &ip) || inet_pton(AF_INET6, h, a6) == 1)
		return h;
	message_lib_init();
	r = psl_registrable_domain(message_psl(), h);
	if (r == NULL)
		return h;
	t = xstrdup(r);
	free(h);
	return t;
}

/* Fill host, host_utf8, domain and host_is_ip from a raw host string. */
static void
host_fill(struct msg_url *m, const char *raw, size_t len, int bracketed)
{
	struct mbuf b = { NULL, 0, 0 };
	char *h;
	uint32_t ip;
	unsigned char a6[16];
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (raw[i] == '%' && i + 2 < len && g_ascii_isxdigit((unsigned char)raw[i + 1]) &&
		    g_ascii_isxdigit((unsigned char)raw[i + 2])) {
			hi = g_ascii_xdigit_value(raw[i + 1]);
			lo = g_ascii_xdigit_value(raw[i + 2]);
			mbuf_addc(&b, (char)(hi * 16 + lo));
			i += 2;
		} else
			mbuf_addc(&b, raw[i]);
	}
	h = util_lowercase(mbuf_take(&b));
	for (size_t i = 0; h[i] != '\0'; i++)
		if ((unsigned char)h[i] < 0x20)
			h[i] = ' ';
	{
		size_t l = strlen(h);

		while (l > 0 && h[l - 1] == '.')
			h[--l] = '\0';
	}
	if (h[0] == '\0') {
		free(h);
		return;
	}
	m->host = h;
	if (bracketed) {
		char tmp[64];
		char *pct;

		util_strlcpy(tmp, h, sizeof(tmp));
		if ((pct = strchr(tmp, '%')) != NULL)
			*pct = '\0';
		if (inet_pton(AF_INET6, tmp, a6) == 1) {
			m->host_is_ip = 1;
			m->domain = xstrdup(inet_ntop(AF_INET6, a6, buf, sizeof(buf)));
			return;
		}
	}
	if (murl_ipv4(h, &ip)) {
		struct in_addr a;

		a.s_addr = htonl(ip);
		m->host_is_ip = 1;
		m->domain = xstrdup(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
		return;
	}
	if (strncmp(h, "xn--", 4) == 0 || strstr(h, ".xn--") != NULL) {
		char *u8 = NULL;

		if (idn2_to_unicode_8z8z(h, &u8, 0) == IDN2_OK && u8 != NULL) {
			m->host_utf8 = xstrdup(u8);
		}
		idn2_free(u8);
	}
	m->domain = message_registrable_domain(h);
}

static int
is_special(const char *scheme)
{
	return strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0 ||
	    strcmp(scheme, "ftp") == 0 || strcmp(scheme, "ws") == 0 ||
	    strcmp(scheme, "wss") == 0 || strcmp(scheme, "file") == 0;
}

/* Length of the scheme at the start of s (before ':'), 0 if none. */
static size_t
scheme_len(const char *s)
{
	size_t i = 0;

	if (!g_ascii_isalpha((unsigned char)s[0]))
		return 0;
	while (g_ascii_isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
		i++;
	return s[i] == ':' && i <= 32 ? i : 0;
}

static void
authority_fill(struct msg_url *m, const char *a, size_t len)
{
	const char *at = NULL, *h, *e = a + len;

	for (const char *p = a; p < e; p++)
		if (*p == '@')
			at = p;
	h = at != NULL ? at + 1 : a;
	if (h < e && *h == '[') {
		const char *rb = memchr(h, ']', (size_t)(e - h));

		if (rb != NULL) {
			host_fill(m, h + 1, (size_t)(rb - h - 1), 1);
			return;
		}
	}
	{
		const char *colon = memchr(h, ':', (size_t)(e - h));

		host_fill(m, h, (size_t)((colon != NULL ? colon : e) - h), 0);
	}
}

/* Scheme, host, domain of url (already absolute or as written). */
static void
url_fill(struct msg_url *m, const char *url)
{
	size_t sl = scheme_len(url);
	const char *rest;

	m->scheme = util_lowercase(xstrndup(url, sl));
	rest = url + sl + (sl > 0 ? 1 : 0);
	if (sl > 0 && is_special(m->scheme)) {
		const char *e;

		while (*rest == '/' || *rest == '\\')
			rest++;
		e = rest + strcspn(rest, "/\\?#");
		authority_fill(m, rest, (size_t)(e - rest));
	} else if (rest[0] == '/' && rest[1] == '/') {
		const char *e;

		rest += 2;
		e = rest + strcspn(rest, "/?#");
		authority_fill(m, rest, (size_t)(e - rest));
	} else if (strcmp(m->scheme, "mailto") == 0) {
		size_t e = strcspn(rest, "?,;>");
		const char *at = NULL;

		for (size_t i = 0; i < e; i++)
			if (rest[i] == '@')
				at = rest + i;
		if (at != NULL)
			host_fill(m, at + 1, (size_t)(rest + e - at - 1), 0);
	}
}

/* ---- collecting ---- */

/* Drop tabs and newlines anywhere and blanks at the ends (as browsers do). */
static char *
url_clean(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0, i = 0;

	while (i < len && (unsigned char)s[i] <= ' ')
		i++;
	while (len > i && (unsigned char)s[len - 1] <= ' ')
		len--;
	for (; i < len; i++) {
		if (s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			continue;
		out[n++] = s[i];
	}
	out[n] = '\0';
	return out;
}

static void
push(struct murls *u, char *url, enum url_source src, const char *text, int part, int schemeless)
{
	char *key;
	struct msg_url *m;

	if (strlen(url) > URL_MAX)
		url[URL_MAX] = '\0';
	key = xasprintf("%d\x01%s\x01%s", (int)src, url, text != NULL ? text : "");
	if (g_hash_table_contains(u->seen, key)) {
		free(key);
		free(url);
		return;
	}
	if (u->n >= u->max) {
		*u->limits |= MSG_LIMIT_URLS;
		free(key);
		free(url);
		return;
	}
	g_hash_table_add(u->seen, key);
	if (u->n == u->cap) {
		u->cap = u->cap != 0 ? u->cap * 2 : 16;
		u->v = xrealloc(u->v, u->cap * sizeof(*u->v));
	}
	m = &u->v[u->n++];
	memset(m, 0, sizeof(*m));
	m->url = url;
	m->source = src;
	m->text = text != NULL ? xstrdup(text) : NULL;
	m->part = part;
	m->schemeless = schemeless;
	url_fill(m, url);
}

void
murls_add(struct murls *u, const char *url, size_t len, const char *base,
    enum url_source src, const char *text, int part)
{
	char *s = url_clean(url, len);
	int schemeless = 0;

	if (s[0] == '\0' || (s[0] == '#' && base == NULL)) {
		free(s);
		return;
	}
	if (scheme_len(s) == 0) {
		if (base != NULL) {
			char *r = murl_resolve(base, s);

			free(s);
			s = r;
		} else if (util_strncasecmp(s, "www.", 4) == 0) {
			char *r = xasprintf("http://%s", s);

			free(s);
			s = r;
			schemeless = 1;
		}
	}
	push(u, s, src, text, part, schemeless);
}

/* ---- text ---- */

static int
url_char(unsigned char c)
{
	return c > 0x20 && c < 0x7F && strchr("<>\"`{}|\\^", c) == NULL;
}

/* Trim sentence punctuation and unbalanced closers off the end. */
static size_t
trim_end(const char *s, size_t len)
{
	while (len > 0) {
		char c = s[len - 1];

		if (strchr(".,;:!?'*", c) != NULL) {
			len--;
			continue;
		}
		if (c == ')' || c == ']') {
			char open = c == ')' ? '(' : '[';
			size_t o = 0, cl = 0;

			for (size_t i = 0; i < len; i++) {
				if (s[i] == open)
					o++;
				else if (s[i] == c)
					cl++;
			}
			if (cl > o) {
				len--;
				continue;
			}
		}
		break;
	}
	return len;
}

static const char *const text_schemes[] = {
	"http", "https", "ftp", "ftps", "sftp", "file", "smb", "ws", "wss",
};

static int
text_scheme(const char *s, size_t len)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(text_schemes); i++)
		if (strlen(text_schemes[i]) == len && util_strncasecmp(s, text_schemes[i], len) == 0)
			return 1;
	return 0;
}

/* Top-level labels that are file extensions far more often than hosts. */
static const char *const ext_tlds[] = {
	"zip", "mov", "md", "py", "sh", "rs", "pl", "pm", "cc", "so", "ai", "ps", "in",
	"am", "ac", "mk", "ml", "mo", "st", "cf", "do", "la", "lo", "sc", "cs", "bz",
	"gz", "xz", "tk", "ts",
};

static int
dotted_quad(const char *h)
{
	unsigned a, b, c, d;
	char tail;

	return sscanf(h, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4 &&
	    a < 256 && b < 256 && c < 256 && d < 256;
}

/* A schemeless URL at the start of s[0..len), if there is one. */
static void
schemeless(struct murls *u, const char *s, size_t len, int part)
{
	size_t i = 0, hl, rest, end;
	char *host;
	int ok = 0, has_path;

	while (i < len && !g_ascii_isalnum((unsigned char)s[i]))
		i++;
	s += i;
	len -= i;
	if (len == 0)
		return;
	/* an address, not a URL */
	for (size_t k = 0; k < len && s[k] != '/' && s[k] != '?' && s[k] != '#'; k++)
		if (s[k] == '@')
			return;
	for (hl = 0; hl < len && (g_ascii_isalnum((unsigned char)s[hl]) || s[hl] == '.' || s[hl] == '-'); hl++)
		;
	while (hl > 0 && (s[hl - 1] == '.' || s[hl - 1] == '-'))
		hl--;
	if (hl < 4 || memchr(s, '.', hl) == NULL)
		return;
	rest = hl;
	if (rest < len && s[rest] == ':') {
		size_t p = rest + 1;

		while (p < len && g_ascii_isdigit((unsigned char)s[p]))
			p++;
		if (p > rest + 1)
			rest = p;
	}
	/* a path, a query, or a port */
	has_path = rest > hl || (rest < len && (s[rest] == '/' || s[rest] == '?' || s[rest] == '#'));
	host = util_lowercase(xstrndup(s, hl));
	if (strncmp(host, "www.", 4) == 0) {
		ok = strchr(host + 4, '.') != NULL && strstr(host, "..") == NULL;
	} else if (dotted_quad(host)) {
		ok = has_path;
	} else if (strstr(host, "..") == NULL && host[0] != '.') {
		const char *tld = strrchr(host, '.') + 1;
		int alpha = 1;

		for (const char *p = tld; *p != '\0'; p++)
			if (!g_ascii_isalpha((unsigned char)*p) && !(p - tld >= 2 && strncmp(tld, "xn--", 4) == 0))
				alpha = 0;
		if (alpha && strlen(tld) >= 2) {
			const psl_ctx_t *psl;

			message_lib_init();
			psl = message_psl();
			if (psl_is_public_suffix2(psl, tld, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) &&
			    !psl_is_public_suffix2(psl, host, PSL_TYPE_ANY))
				ok = 1;
			if (ok && !has_path) {
				for (size_t k = 0; k < UTIL_ARRAY_LEN(ext_tlds); k++)
					if (strcmp(tld, ext_tlds[k]) == 0)
						ok = 0;
			}
		}
	}
	free(host);
	if (!ok)
		return;
	end = has_path ? trim_end(s, len) : hl;
	if (end < hl)
		end = hl;
	push(u, xasprintf("http://%.*s", (int)end, s), URL_FROM_TEXT, NULL, part, 1);
}

/* One run of URL characters. */
static void
scan_run(struct murls *u, const char *s, size_t len, int part)
{
	size_t start = len, slen = 0;
	int mailto = 0;

	for (size_t i = 0; i + 3 <= len; i++) {
		if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
			size_t b = i;

			while (b > 0 && g_ascii_isalpha((unsigned char)s[b - 1]))
				b--;
			/* "URLhttp://", "xhttps://": keep the scheme at the end */
			while (b < i && !text_scheme(s + b, i - b))
				b++;
			if (b < i) {
				start = b;
				slen = i - b;
				break;
			}
		}
		if ((s[i] == 'm' || s[i] == 'M') && i + 7 <= len &&
		    util_strncasecmp(s + i, "mailto:", 7) == 0 &&
		    (i == 0 || !g_ascii_isalnum((unsigned char)s[i - 1]))) {
			start = i;
			mailto = 1;
			break;
		}
	}
	if (start > 0)
		schemeless(u, s, start, part);
	if (start < len) {
		size_t end = trim_end(s + start, len - start);
		size_t min = mailto ? 8 : slen + 4;

		if (end >= min)
			push(u, xstrndup(s + start, end), URL_FROM_TEXT, NULL, part, 0);
	}
}

void
murls_scan_text(struct murls *u, const char *text, size_t len, int part)
{
	size_t i = 0;

	while (i < len) {
		size_t j;

		/* full, and a URL was already turned away: nothing more can go in */
		if (u->n >= u->max && (*u->limits & MSG_LIMIT_URLS))
			return;
		while (i < len && !url_char((unsigned char)text[i]))
			i++;
		j = i;
		while (j < len && url_char((unsigned char)text[j]))
			j++;
		if (j - i >= 4)
			scan_run(u, text + i, j - i, part);
		i = j;
	}
}

/* ---- resolution ---- */

/* RFC 3986 5.2.4 on a path (no query or fragment). */
static char *
remove_dots(const char *path)
{
	size_t n = strlen(path);
	char *out = xmalloc(n + 2);
	size_t o = 0;
	const char *in = path;

	while (*in != '\0') {
		if (strncmp(in, "../", 3) == 0)
			in += 3;
		else if (strncmp(in, "./", 2) == 0)
			in += 2;
		else if (strncmp(in, "/./", 3) == 0)
			in += 2;
		else if (strcmp(in, "/.") == 0) {
			out[o++] = '/';
			break;
		} else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
			int last = in[3] == '\0';

			in += 3;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			if (last) {
				out[o++] = '/';
				break;
			}
		} else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0)
			break;
		else {
			const char *seg = in;

			if (*seg == '/')
				seg++;
			seg += strcspn(seg, "/");
			memcpy(out + o, in, (size_t)(seg - in));
			o += (size_t)(seg - in);
			in = seg;
		}
	}
	out[o] = '\0';
	return out;
}

char *
murl_resolve(const char *base, const char *href)
{
	size_t sl = scheme_len(base), al, pl;
	const char *auth, *path, *p;
	char *merged, *clean, *ret;
	size_t hsplit;

	if (scheme_len(href) > 0 || sl == 0)
		return xstrdup(href);
	if (href[0] == '/' && href[1] == '/')
		return xasprintf("%.*s%s", (int)sl + 1, base, href);
	auth = base + sl + 1;
	if (auth[0] == '/' && auth[1] == '/') {
		al = 2 + strcspn(auth + 2, "/?#");
	} else
		al = 0;
	path = auth + al;
	pl = strcspn(path, "?#");
	if (href[0] == '#') {
		size_t keep = (size_t)(path - base) + strcspn(path, "#");

		return xasprintf("%.*s%s", (int)keep, base, href);
	}
	if (href[0] == '?')
		return xasprintf("%.*s%s", (int)(path - base + pl), base, href);
	hsplit = strcspn(href, "?#");
	if (href[0] == '/')
		merged = xstrndup(href, hsplit);
	else {
		p = NULL;
		for (size_t i = 0; i < pl; i++)
			if (path[i] == '/')
				p = path + i;
		if (p == NULL)
			merged = xasprintf("%s%.*s", al > 0 ? "/" : "", (int)hsplit, href);
		else
			merged = xasprintf("%.*s%.*s", (int)(p - path + 1), path, (int)hsplit, href);
	}
	clean = remove_dots(merged);
	ret = xasprintf("%.*s%s%s", (int)(path - base), base, clean, href + hsplit);
	free(merged);
	free(clean);
	return ret;
}
