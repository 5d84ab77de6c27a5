/*
 * attach_password.c - candidate archive passwords written in a message.
 *
 * "パスワード: xxxx", "パスワードは xxxx です", "PW：xxxx",
 * "解凍パスワード（半角英数）：xxxx", "password: xxxx", "Password for the
 * zip is xxxx", "pass: xxxx", full-width letters, colons and spaces
 * included, and the password alone on the line after the keyword
 * ("パスワードは以下のとおりです。\n\n  xxxx").
 *
 * The text is first folded: full-width ASCII (U+FF01..U+FF5E) becomes
 * ASCII and U+3000 a space, as people type both.  After a keyword come
 * glue (spaces, colons, は/が/を, brackets, a parenthesised note, English
 * glue words), then the password: a run of printable ASCII, with quotes and
 * brackets around it and trailing punctuation removed.
 *
 * Pure: text in, strings out (caller frees each and the array).  At most
 * `max` candidates, each 3..64 bytes, no duplicates; the text is read up to
 * MAX_TEXT bytes.
 */
#include "detect/attach.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT	(1u << 20)
#define MIN_PW		3
#define MAX_PW		64

static const char *const keywords[] = {
	/* longest first where one is a prefix of another */
	"解凍パスワード", "パスワード", "ﾊﾟｽﾜｰﾄﾞ", "パスコード", "暗証番号", "解凍キー", "解凍パス",
	"password", "passwort", "passcode", "passwd", "pass", "pwd", "pw",
	"暗号キー", "パス", NULL,
};

static const char *const glue_words[] = {
	"is", "are", "was", "for", "the", "of", "to", "zip", "file", "files", "archive",
	"attachment", "attached", "below", "follows", "as", "this", "it", "a", "an", "and",
	"will", "be", "our", "your", "pdf", "open", "opening", "unzip", "(case-sensitive)",
	NULL,
};

/* Fold full-width ASCII and the ideographic space; everything else kept. */
static char *
fold(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	char *out = xmalloc(len + 1), *o = out;

	while (p < end) {
		if (p + 2 < end && p[0] == 0xef && (p[1] == 0xbc || p[1] == 0xbd)) {
			unsigned cp = ((unsigned)(p[0] & 0x0f) << 12) | ((unsigned)(p[1] & 0x3f) << 6) |
			    (p[2] & 0x3f);
			if (cp >= 0xff01 && cp <= 0xff5e) {
				*o++ = (char)(cp - 0xff01 + 0x21);
				p += 3;
				continue;
			}
		}
		if (p + 2 < end && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) {
			*o++ = ' ';
			p += 3;
			continue;
		}
		*o++ = (char)*p++;
	}
	*o = '\0';
	return out;
}

static int
starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/* Skip the glue after a keyword: spaces, colons, particles, brackets and a
 * parenthesised note.  Stops at a newline. */
static const char *
skip_glue(const char *p, const char *end)
{
	static const char *const glue[] = {
		"は", "が", "を", "：", "】", "」", "』", "【", "「", "『", "→", "⇒", "＝", "；",
		"、", "。", "です", "…", NULL,
	};

	for (int guard = 0; p < end && guard < 32; guard++) {
		if (*p == ' ' || *p == '\t' || *p == ':' || *p == '=' || *p == '-' || *p == '>' ||
		    *p == '\r') {
			p++;
			continue;
		}
		if (*p == '(' || starts(p, end, "（")) {
			/* "(半角英数字)": skip to the close within a short span */
			const char *q = p + (*p == '(' ? 1 : 3);
			const char *lim = q + 60 < end ? q + 60 : end;
			while (q < lim && *q != '\n' && *q != ')' && !starts(q, lim, "）"))
				q++;
			if (q < lim && *q == ')') {
				p = q + 1;
				continue;
			}
			if (q < lim && starts(q, lim, "）")) {
				p = q + 3;
				continue;
			}
			return p;
		}
		{
			int matched = 0;
			for (const char *const *g = glue; *g; g++)
				if (starts(p, end, *g)) {
					p += strlen(*g);
					matched = 1;
					break;
				}
			if (!matched)
				return p;
		}
	}
	return p;
}

static int
is_stop(const char *w, size_t n)
{
	for (const char *const *g = glue_words; *g; g++)
		if (strlen(*g) == n && strncasecmp(*g, w, n) == 0)
			return 1;
	return 0;
}

static void
add(char ***out, size_t *n, size_t max, const char *w, size_t len)
{
	static const char lead[] = "\"'`[(<{";
	static const char trail[] = "\"'`])>}.,;:!?";

	while (len > 0 && strchr(lead, *w) != NULL) {
		w++;
		len--;
	}
	while (len > 0 && strchr(trail, w[len - 1]) != NULL)
		len--;
	if (len < MIN_PW || len > MAX_PW || *n >= max)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strlen((*out)[i]) == len && memcmp((*out)[i], w, len) == 0)
			return;
	*out = xrealloc(*out, (*n + 1) * sizeof(**out));
	(*out)[(*n)++] = xstrndup(w, len);
}

/* The ASCII word at p (printable, no space); its length, 0 if none. */
static size_t
word_at(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && (unsigned char)p[n] > 0x20 && (unsigned char)p[n] < 0x7f)
		n++;
	return n;
}

/* Look for the password after a keyword ending at p. */
static void
after_keyword(const char *p, const char *end, char ***out, size_t *n, size_t max)
{
	const char *eol;
	int stops = 0;

	p = skip_glue(p, end);
	eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL)
		eol = end;
	/* on the same line: up to a few glue words, then the password */
	while (p < eol && stops < 6) {
		size_t w;

		while (p < eol && (*p == ' ' || *p == '\t' || *p == ':' || *p == '\r'))
			p++;
		w = word_at(p, eol);
		if (w == 0)
			break;
		if (is_stop(p, w) || (w > 1 && p[w - 1] == ':' && is_stop(p, w - 1))) {
			p += w;
			stops++;
			continue;
		}
		add(out, n, max, p, w);
		return;
	}
	/* nothing usable on this line: a lone word on one of the next two lines */
	for (int line = 0; line < 3 && eol < end; line++) {
		const char *q = eol + 1, *qe;
		size_t w;

		qe = memchr(q, '\n', (size_t)(end - q));
		if (qe == NULL)
			qe = end;
		while (q < qe && (*q == ' ' || *q == '\t' || *q == '>'))
			q++;
		if (q == qe || (q + 1 == qe && *q == '\r')) {
			eol = qe;
			continue;
		}
		q = skip_glue(q, qe);
		w = word_at(q, qe);
		if (w > 0) {
			const char *r = q + w;
			while (r < qe && (*r == ' ' || *r == '\t' || *r == '\r'))
				r++;
			if (r == qe)
				add(out, n, max, q, w);
		}
		return;
	}
}

size_t
attach_passwords(const char *text, char ***out, size_t max)
{
	size_t n = 0, len;
	char *t;
	const char *p, *end;

	*out = NULL;
	if (text == NULL)
		return 0;
	len = strnlen(text, MAX_TEXT);
	t = fold(text, len);
	len = strlen(t);
	end = t + len;
	for (p = t; p < end && n < max; p++) {
		for (const char *const *k = keywords; *k; k++) {
			size_t kl = strlen(*k);
			int ascii = isalpha((unsigned char)(*k)[0]);

			if ((size_t)(end - p) < kl)
				continue;
			if (ascii) {
				if (strncasecmp(p, *k, kl) != 0)
					continue;
				if (p > t && isalnum((unsigned char)p[-1]))
					continue;
				if (p + kl < end && isalpha((unsigned char)p[kl]))
					continue;
			} else if (memcmp(p, *k, kl) != 0)
				continue;
			after_keyword(p + kl, end, out, &n, max);
			p += kl - 1;
			break;
		}
	}
	free(t);
	return n;
}
