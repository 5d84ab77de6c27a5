/*
 * message_header.c - header fields: the block scanner, unfolding, RFC 2047
 * words, RFC 2231 parameters, address lists made safe for GMime, Received
 * and Date fields.
 *
 * The scanner works on offsets so message_rewrite() can edit the header
 * block byte by byte.  It follows GMime's reading: a field is a name, blanks,
 * a colon and the lines folded under it; a line that is not a field is
 * skipped, not taken as the start of the body; only an empty line (LF or
 * CRLF) ends the block.
 *
 * The RFC 2047 decoder is ours rather than GMime's because GMime loses
 * ISO-2022-JP text after the first character glibc cannot map (U+3231 and
 * the rest of NEC row 13, common in Japanese company names): here adjacent
 * encoded words of one charset are joined and read by message_charset.c.
 * All functions are pure and thread-safe; inputs of any length are read
 * once (parameters: at most 256 per value, 64 continuation sections).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "message/message_int.h"
#include "util/base64.h"
#include "util/util.h"

/* ---- the block scanner ---- */

void
mhdr_scan_init(struct mhdr_scan *s, const char *buf, size_t len, size_t off)
{
	s->buf = buf;
	s->len = len;
	s->off = off;
}

static size_t
line_end(const char *buf, size_t len, size_t off)
{
	const char *nl = memchr(buf + off, '\n', len - off);

	return nl != NULL ? (size_t)(nl - buf) + 1 : len;
}

enum mhdr_kind
mhdr_next(struct mhdr_scan *s, struct mfield *f)
{
	const char *b = s->buf;
	size_t off = s->off, e, i, name_end;

	memset(f, 0, sizeof(*f));
	if (off >= s->len) {
		f->start = f->end = s->len;
		return MHDR_EOF;
	}
	e = line_end(b, s->len, off);
	f->start = off;
	f->end = e;
	s->off = e;
	if (b[off] == '\n' || (b[off] == '\r' && off + 1 < s->len && b[off + 1] == '\n'))
		return MHDR_END;
	for (i = off; i < e; i++) {
		unsigned char c = (unsigned char)b[i];

		if (c == ':' || c <= 32 || c == 127)
			break;
	}
	name_end = i;
	while (i < e && (b[i] == ' ' || b[i] == '\t'))
		i++;
	if (name_end == off || i >= e || b[i] != ':')
		return MHDR_JUNK;
	f->name_len = name_end - off;
	f->value = i + 1;
	while (e < s->len && (b[e] == ' ' || b[e] == '\t'))
		e = line_end(b, s->len, e);
	f->end = e;
	s->off = e;
	return MHDR_FIELD;
}

char *
mhdr_unfold(const char *p, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' || p[i] == '\0')
			continue;
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		*o++ = p[i];
	}
	*o = '\0';
	{
		char *t = util_trim(out);

		if (t != out)
			memmove(out, t, strlen(t) + 1);
	}
	return out;
}

/* ---- RFC 2047 ---- */

struct ew {
	size_t start, end;	/* the whole word */
	const char *cs;		/* charset label */
	size_t cslen;
	char enc;		/* 'b' or 'q' */
	const char *text;
	size_t tlen;
};

/* An encoded word at s[i] ("=?cs?e?text?="), loosely. */
static int
parse_ew(const char *s, size_t len, size_t i, struct ew *w)
{
	size_t j = i + 2, k;

	if (i + 2 > len || s[i] != '=' || s[i + 1] != '?')
		return 0;
	while (j < len && s[j] != '?' && j - i - 2 < 64) {
		unsigned char c = (unsigned char)s[j];

		if (c <= ' ' || c >= 127 || c == '=')
			return 0;
		j++;
	}
	if (j >= len || s[j] != '?' || j == i + 2)
		return 0;
	if (j + 2 >= len || s[j + 2] != '?')
		return 0;
	w->enc = (char)(s[j + 1] | 0x20);
	if (w->enc != 'b' && w->enc != 'q')
		return 0;
	w->cs = s + i + 2;
	w->cslen = j - i - 2;
	k = j + 3;
	w->text = s + k;
	while (k + 1 < len && !(s[k] == '?' && s[k + 1] == '=')) {
		if (s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n')
			return 0;
		k++;
	}
	if (k + 1 >= len)
		return 0;
	w->tlen = (size_t)(s + k - w->text);
	w->start = i;
	w->end = k + 2;
	return 1;
}


/* Base64 that skips what it does not know and stops at padding. */
static void
b64_loose(const char *s, size_t len, struct mbuf *out)
{
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i], v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (c == '=')
			break;
		else
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			mbuf_addc(out, (char)((acc >> bits) & 0xFF));
		}
	}
}

static void
ew_bytes(const struct ew *w, struct mbuf *out)
{
	if (w->enc == 'b') {
		b64_loose(w->text, w->tlen, out);
		return;
	}
	for (size_t i = 0; i < w->tlen; i++) {
		char c = w->text[i];
		int h, l;

		if (c == '_')
			mbuf_addc(out, ' ');
		else if (c == '=' && i + 2 < w->tlen && (h = util_hexval(w->text[i + 1])) >= 0 &&
		    (l = util_hexval(w->text[i + 2])) >= 0) {
			mbuf_addc(out, (char)(h * 16 + l));
			i += 2;
		} else
			mbuf_addc(out, c);
	}
}

static void
flush_pending(struct mbuf *out, struct mbuf *pend, const char *cs, unsigned *flags)
{
	size_t n;
	char *u;

	if (pend->len == 0)
		return;
	u = mcs_to_utf8(cs, pend->p, pend->len, &n, flags);
	mbuf_add(out, u, n);
	free(u);
	pend->len = 0;
}

/* Raw header bytes as UTF-8: valid UTF-8 stays, anything else is guessed. */
static char *
header_utf8(const char *raw, size_t len, unsigned *flags)
{
	int ascii = 1;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)raw[i] >= 0x80) {
			ascii = 0;
			break;
		}
	if (ascii || mcs_utf8_valid(raw, len))
		return xstrndup(raw, len);
	return mcs_to_utf8(NULL, raw, len, NULL, flags);
}

static int
all_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

char *
mhdr_decode(const char *raw, size_t len, unsigned *flags)
{
	char *s = header_utf8(raw, len, flags);
	size_t n = strlen(s), i = 0, plain = 0;
	struct mbuf out = { NULL, 0, 0 }, pend = { NULL, 0, 0 };
	char cs[80] = "";
	int last_ew = 0;

	while (i < n) {
		struct ew w;
		char *q = memchr(s + i, '=', n - i);

		if (q == NULL)
			break;
		i = (size_t)(q - s);
		if (!parse_ew(s, n, i, &w)) {
			i++;
			continue;
		}
		if (!(last_ew && all_space(s + plain, i - plain))) {
			flush_pending(&out, &pend, cs, flags);
			mbuf_add(&out, s + plain, i - plain);
		}
		{
			char wcs[80];
			size_t l = w.cslen < sizeof(wcs) - 1 ? w.cslen : sizeof(wcs) - 1;

			memcpy(wcs, w.cs, l);
			wcs[l] = '\0';
			if (pend.len > 0 && util_strcasecmp(wcs, cs) != 0)
				flush_pending(&out, &pend, cs, flags);
			memcpy(cs, wcs, l + 1);
		}
		ew_bytes(&w, &pend);
		last_ew = 1;
		i = plain = w.end;
	}
	flush_pending(&out, &pend, cs, flags);
	mbuf_add(&out, s + plain, n - plain);
	mbuf_free(&pend);
	free(s);
	for (size_t k = 0; k < out.len; k++) {
		unsigned char c = (unsigned char)out.p[k];

		if (c < 0x20 || c == 0x7F)
			out.p[k] = ' ';
	}
	return mbuf_take(&out);
}

char *
mhdr_encode_text(const char *utf8)
{
	size_t len = strlen(utf8), i = 0;
	struct mbuf out = { NULL, 0, 0 };
	int ascii = 1;

	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)utf8[k];

		if (c >= 0x80 || (c < 0x20 && c != '\t'))
			ascii = 0;
	}
	if (ascii && strstr(utf8, "=?") == NULL)
		return xstrdup(utf8);
	while (i < len) {
		/* 45 bytes make 60 base64 characters: the word stays under 75 */
		size_t n = len - i < 45 ? len - i : 45;
		char enc[64];

		while (n < len - i && n > 0 && ((unsigned char)utf8[i + n] & 0xC0) == 0x80)
			n--;
		if (n == 0)
			n = len - i < 45 ? len - i : 45;
		base64_encode(utf8 + i, n, enc);
		if (out.len > 0)
			mbuf_adds(&out, "\r\n ");
		mbuf_adds(&out, "=?UTF-8?B?");
		mbuf_adds(&out, enc);
		mbuf_adds(&out, "?=");
		i += n;
	}
	return mbuf_take(&out);
}

/* ---- address lists ---- */

static void
add_quoted(struct mbuf *out, const char *s, char open, char close)
{
	mbuf_addc(out, open);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\' || (open == '(' && (*s == '(' || *s == ')')))
			mbuf_addc(out, '\\');
		mbuf_addc(out, *s);
	}
	mbuf_addc(out, close);
}

/* s[i] opens a quoted string or a comment: the index after its end. */
static size_t
skip_delimited(const char *s, size_t n, size_t i, char open, char close)
{
	int depth = 0;

	for (; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			i++;
			continue;
		}
		if (open == close) {
			if (s[i] == open) {
				if (depth > 0)
					return i + 1;
				depth = 1;
			}
			continue;
		}
		if (s[i] == open)
			depth++;
		else if (s[i] == close && --depth == 0)
			return i + 1;
	}
	return n;
}

/* The unescaped inside of a quoted string or comment. */
static char *
unescape(const char *p, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\' && i + 1 < len)
			i++;
		*o++ = p[i];
	}
	*o = '\0';
	return out;
}

char *
mhdr_addr_predecode(const char *raw, unsigned *flags)
{
	char *s = header_utf8(raw, strlen(raw), flags);
	size_t n = strlen(s), i = 0;
	struct mbuf out = { NULL, 0, 0 };

	mbuf_grow(&out, n + 16);
	while (i < n) {
		char c = s[i];
		struct ew w;

		if (c == '"' || c == '(') {
			char close = c == '"' ? '"' : ')';
			size_t j = skip_delimited(s, n, i, c, close);
			size_t inner_end = j > i + 1 && j <= n && s[j - 1] == close ? j - 1 : j;

			if (j <= i)
				j = i + 1;
			if (memmem(s + i, j - i, "=?", 2) != NULL && inner_end > i) {
				char *in = unescape(s + i + 1, inner_end - i - 1);
				char *d = mhdr_decode(in, strlen(in), flags);

				add_quoted(&out, d, c, close);
				free(d);
				free(in);
			} else
				mbuf_add(&out, s + i, j - i);
			i = j;
		} else if (c == '<') {
			const char *gt = memchr(s + i, '>', n - i);
			size_t j = gt != NULL ? (size_t)(gt - s) + 1 : n;

			mbuf_add(&out, s + i, j - i);
			i = j;
		} else if (c == '=' && parse_ew(s, n, i, &w)) {
			/* a run of encoded words with only blanks between them */
			size_t end = w.end, k = w.end;
			char *d;

			for (;;) {
				struct ew w2;

				while (k < n && (s[k] == ' ' || s[k] == '\t'))
					k++;
				if (k < n && parse_ew(s, n, k, &w2)) {
					end = k = w2.end;
					continue;
				}
				break;
			}
			d = mhdr_decode(s + i, end - i, flags);
			add_quoted(&out, d, '"', '"');
			free(d);
			i = end;
		} else {
			mbuf_addc(&out, c);
			i++;
		}
	}
	free(s);
	return mbuf_take(&out);
}

/* ---- parameters ---- */

struct rawparam {
	const char *name;
	size_t nlen;
	char *val;		/* unescaped */
};

static int
pct_decode(const char *s, struct mbuf *out)
{
	for (; *s != '\0'; s++) {
		int h, l;

		if (*s == '%' && (h = util_hexval(s[1])) >= 0 && (l = util_hexval(s[2])) >= 0) {
			mbuf_addc(out, (char)(h * 16 + l));
			s += 2;
		} else
			mbuf_addc(out, *s);
	}
	return 0;
}

char *
mhdr_param(const char *value, const char *name, unsigned *flags)
{
	struct rawparam ps[256];
	size_t np = 0, i = 0, n = strlen(value), nlen = strlen(name);
	char *plain = NULL, *ret = NULL;
	struct {
		char *val;
		int ext;
	} sect[64];
	int have_sect = 0;
	char cs[80] = "";

	memset(sect, 0, sizeof(sect));
	/* skip the main value */
	while (i < n && value[i] != ';') {
		if (value[i] == '"')
			i = skip_delimited(value, n, i, '"', '"');
		else
			i++;
	}
	while (i < n && np < UTIL_ARRAY_LEN(ps)) {
		size_t ns, ne;

		while (i < n && (value[i] == ';' || value[i] == ' ' || value[i] == '\t'))
			i++;
		ns = i;
		while (i < n && value[i] != '=' && value[i] != ';' && value[i] != ' ' && value[i] != '\t')
			i++;
		ne = i;
		while (i < n && (value[i] == ' ' || value[i] == '\t'))
			i++;
		if (i >= n || value[i] != '=' || ne == ns) {
			while (i < n && value[i] != ';')
				i++;
			continue;
		}
		i++;
		while (i < n && (value[i] == ' ' || value[i] == '\t'))
			i++;
		ps[np].name = value + ns;
		ps[np].nlen = ne - ns;
		if (i < n && value[i] == '"') {
			size_t j = skip_delimited(value, n, i, '"', '"');
			size_t e = j > i + 1 && value[j - 1] == '"' ? j - 1 : j;

			ps[np].val = unescape(value + i + 1, e > i + 1 ? e - i - 1 : 0);
			i = j;
		} else {
			size_t s0 = i, e;

			while (i < n && value[i] != ';')
				i++;
			e = i;
			while (e > s0 && (value[e - 1] == ' ' || value[e - 1] == '\t'))
				e--;
			ps[np].val = xstrndup(value + s0, e - s0);
		}
		np++;
	}
	for (size_t k = 0; k < np; k++) {
		const char *pn = ps[k].name;
		size_t pl = ps[k].nlen;

		if (pl < nlen || util_strncasecmp(pn, name, nlen) != 0)
			continue;
		if (pl == nlen) {
			if (plain == NULL)
				plain = ps[k].val;
			continue;
		}
		if (pn[nlen] != '*')
			continue;
		if (pl == nlen + 1) {
			/* name*=charset'lang'value */
			if (sect[0].val == NULL) {
				sect[0].val = ps[k].val;
				sect[0].ext = 1;
				have_sect = 1;
			}
			continue;
		}
		{
			size_t idx = 0, d = nlen + 1;
			int ext = 0, ok = 1;

			if (d >= pl)
				continue;
			for (; d < pl && pn[d] != '*'; d++) {
				if (pn[d] < '0' || pn[d] > '9' || idx > 1000) {
					ok = 0;
					break;
				}
				idx = idx * 10 + (size_t)(pn[d] - '0');
			}
			if (d < pl) {
				if (pn[d] == '*' && d + 1 == pl)
					ext = 1;
				else
					ok = 0;
			}
			if (!ok || idx >= UTIL_ARRAY_LEN(sect) || sect[idx].val != NULL)
				continue;
			sect[idx].val = ps[k].val;
			sect[idx].ext = ext;
			have_sect = 1;
		}
	}
	if (have_sect && sect[0].val != NULL) {
		struct mbuf bytes = { NULL, 0, 0 };

		for (size_t k = 0; k < UTIL_ARRAY_LEN(sect) && sect[k].val != NULL; k++) {
			const char *v = sect[k].val;

			if (sect[k].ext) {
				if (k == 0) {
					const char *q1 = strchr(v, '\'');
					const char *q2 = q1 != NULL ? strchr(q1 + 1, '\'') : NULL;

					if (q2 != NULL) {
						size_t l = (size_t)(q1 - v) < sizeof(cs) - 1 ?
						    (size_t)(q1 - v) : sizeof(cs) - 1;

						memcpy(cs, v, l);
						cs[l] = '\0';
						v = q2 + 1;
					}
				}
				pct_decode(v, &bytes);
			} else
				mbuf_adds(&bytes, v);
		}
		if (cs[0] != '\0' || bytes.len == 0) {
			size_t l;

			ret = mcs_to_utf8(cs, bytes.p != NULL ? bytes.p : "", bytes.len, &l, flags);
		} else
			ret = mhdr_decode(bytes.p, bytes.len, flags);
		mbuf_free(&bytes);
	} else if (plain != NULL)
		ret = mhdr_decode(plain, strlen(plain), flags);
	for (size_t k = 0; k < np; k++)
		free(ps[k].val);
	return ret;
}

/* ---- Received ---- */

/* Canonical text of an IP literal, or NULL. */
static char *
ip_text(const char *s, size_t len)
{
	char buf[64], out[INET6_ADDRSTRLEN];
	unsigned char addr[16];

	if (len >= sizeof(buf))
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (util_strncasecmp(buf, "ipv6:", 5) == 0)
		memmove(buf, buf + 5, strlen(buf + 5) + 1);
	if (inet_pton(AF_INET, buf, addr) == 1)
		return xstrdup(inet_ntop(AF_INET, addr, out, sizeof(out)));
	if (inet_pton(AF_INET6, buf, addr) == 1)
		return xstrdup(inet_ntop(AF_INET6, addr, out, sizeof(out)));
	return NULL;
}

static int
is_word(const char *s, size_t n, size_t i, const char *w)
{
	size_t l = strlen(w);

	if (i + l > n || util_strncasecmp(s + i, w, l) != 0)
		return 0;
	if (i > 0 && s[i - 1] != ' ' && s[i - 1] != '\t' && s[i - 1] != ')')
		return 0;
	return i + l == n || s[i + l] == ' ' || s[i + l] == '\t' || s[i + l] == '(';
}

static char *
word_at(const char *s, size_t n, size_t i)
{
	size_t j;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	j = i;
	while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != ';' && s[j] != '(')
		j++;
	return j > i ? xstrndup(s + i, j - i) : NULL;
}

static char *
first_ip(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '[') {
			const char *e = memchr(s + i, ']', len - i);
			char *ip;

			if (e != NULL && (ip = ip_text(s + i + 1, (size_t)(e - s) - i - 1)) != NULL)
				return ip;
		}
	}
	/* bare addresses: "(1.2.3.4)", "(helo=x) 1.2.3.4", "(2001:db8::1)" */
	for (i = 0; i < len;) {
		size_t j = i;
		char *ip;

		while (j < len && (s[j] == '.' || s[j] == ':' || (s[j] >= '0' && s[j] <= '9') ||
		    (s[j] >= 'a' && s[j] <= 'f') || (s[j] >= 'A' && s[j] <= 'F')))
			j++;
		if (j > i && (i == 0 || !(s[i - 1] >= 'g' && s[i - 1] <= 'z')) &&
		    (ip = ip_text(s + i, j - i)) != NULL)
			return ip;
		i = j > i ? j : i + 1;
	}
	return NULL;
}

void
mhdr_received(const char *raw, struct msg_received *r)
{
	size_t n = strlen(raw), semi = n, i, from = n, from_end = n;
	int depth = 0;

	memset(r, 0, sizeof(*r));
	r->raw = xstrdup(raw);
	r->when = -1;
	for (i = 0; i < n; i++) {
		if (raw[i] == '(')
			depth++;
		else if (raw[i] == ')' && depth > 0)
			depth--;
		else if (raw[i] == ';' && depth == 0)
			semi = i;
	}
	if (semi < n)
		r->when = mhdr_date(raw + semi + 1);
	depth = 0;
	for (i = 0; i < semi; i++) {
		if (raw[i] == '(') {
			depth++;
			continue;
		}
		if (raw[i] == ')') {
			if (depth > 0)
				depth--;
			continue;
		}
		if (depth > 0)
			continue;
		if (from == n && is_word(raw, semi, i, "from")) {
			from = i + 4;
			r->from_name = word_at(raw, semi, from);
			continue;
		}
		if (is_word(raw, semi, i, "by") || is_word(raw, semi, i, "via") ||
		    is_word(raw, semi, i, "with") || is_word(raw, semi, i, "id") ||
		    is_word(raw, semi, i, "for")) {
			if (from < n && from_end == n && i >= from)
				from_end = i;
			if (r->by == NULL && is_word(raw, semi, i, "by"))
				r->by = word_at(raw, semi, i + 2);
		}
	}
	if (from < n) {
		if (from_end > semi)
			from_end = semi;
		r->from_ip = first_ip(raw + from, from_end - from);
	}
}

int64_t
mhdr_date(const char *raw)
{
	GDateTime *dt;
	int64_t t;

	while (*raw == ' ' || *raw == '\t')
		raw++;
	if (*raw == '\0' || strlen(raw) > 200)
		return -1;
	message_lib_init();
	if ((dt = g_mime_utils_header_decode_date(raw)) == NULL)
		return -1;
	t = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return t;
}
