/*
 * notify.c - templates, rendering and MIME encoding of notification mails
 * (see notify.h for the template format and the encodings).
 *
 * ISO-2022-JP is produced with iconv one line at a time, each conversion
 * flushed so that the line ends in ASCII (RFC 1468), and one encoded word
 * at a time for the Subject, so that every encoded word starts and ends in
 * ASCII as RFC 2047 requires.  When iconv cannot map a character (a
 * half-width kana, an emoji, a character outside JIS X 0208) the whole
 * message falls back to UTF-8 rather than lose the character.
 *
 * Templates are read with a size limit (NOTIFY_TEMPLATE_MAX); a missing
 * template is an error the caller logs, never a crash.  The Subject
 * holds values from mail anyone sends (a held message's subject): its
 * control bytes become spaces (a bare CR would end the field for some
 * readers and start a new one) and it is cut to SUBJECT_MAX bytes at a
 * character boundary.
 */
#include "notify/notify.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define NOTIFY_TEMPLATE_MAX	(64 * 1024)
#define WORD_CHARS		8	/* characters per ISO-2022-JP encoded word */
#define WORD_BYTES		42	/* UTF-8 bytes per UTF-8 encoded word */
#define Q_CHARS			5	/* characters per Q encoded word */
#define SUBJECT_MAX		900	/* bytes: "Subject: " and this fit a 998-byte line */

char *
notify_template(const struct config *cfg, const char *kind, const char *lang)
{
	const char *langs[2] = { lang, strcmp(lang, "en") == 0 ? "ja" : "en" };

	for (size_t i = 0; i < 2; i++) {
		char *path = xasprintf("%s/notify/%s.%s.txt", cfg->templates_dir, kind,
		    langs[i]);
		char *t = util_read_file(path, NOTIFY_TEMPLATE_MAX, NULL);
		free(path);
		if (t != NULL)
			return t;
	}
	return NULL;
}

char *
notify_render(const char *tmpl, const struct notify_var *vars, size_t nvars)
{
	struct buf b = { 0 };
	const char *p = tmpl, *open, *close;

	while ((open = strstr(p, "{{")) != NULL &&
	    (close = strstr(open + 2, "}}")) != NULL) {
		size_t nlen = (size_t)(close - open - 2);
		const char *name = open + 2;

		buf_add(&b, p, (size_t)(open - p));
		while (nlen > 0 && *name == ' ') {
			name++;
			nlen--;
		}
		while (nlen > 0 && name[nlen - 1] == ' ')
			nlen--;
		for (size_t i = 0; i < nvars; i++)
			if (strlen(vars[i].name) == nlen &&
			    strncmp(vars[i].name, name, nlen) == 0) {
				buf_str(&b, vars[i].value ? vars[i].value : "");
				break;
			}
		p = close + 2;
	}
	buf_str(&b, p);
	return buf_steal(&b, NULL);
}

static int
is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* Convert n bytes and flush back to ASCII.  -1 on a character iconv
 * cannot map. */
static int
jis_chunk(iconv_t cd, const char *in, size_t n, struct buf *out)
{
	char tmp[1024];
	char *ip = (char *)(uintptr_t)in;
	size_t il = n;

	iconv(cd, NULL, NULL, NULL, NULL);
	while (il > 0) {
		char *op = tmp;
		size_t ol = sizeof(tmp);
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		buf_add(out, tmp, sizeof(tmp) - ol);
		if (r == (size_t)-1 && errno != E2BIG)
			return -1;
	}
	{
		char *op = tmp;
		size_t ol = sizeof(tmp);
		if (iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
			return -1;
		buf_add(out, tmp, sizeof(tmp) - ol);
	}
	return 0;
}

char *
notify_to_iso2022jp(const char *utf8)
{
	iconv_t cd = iconv_open("ISO-2022-JP", "UTF-8");
	struct buf b = { 0 };
	const char *p = utf8;

	if (cd == (iconv_t)-1)
		return NULL;
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (jis_chunk(cd, p, n, &b) < 0) {
			iconv_close(cd);
			buf_free(&b);
			return NULL;
		}
		p += n;
		if (*p == '\n') {
			buf_str(&b, "\n");
			p++;
		}
	}
	iconv_close(cd);
	return buf_steal(&b, NULL);
}

/* Length of the UTF-8 sequence starting with c (1 for a stray byte). */
static size_t
u8len(unsigned char c)
{
	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* Bytes of the first chars characters of s (at most len). */
static size_t
u8prefix(const char *s, size_t len, size_t chars)
{
	size_t n = 0;

	while (n < len && chars-- > 0) {
		size_t l = u8len((unsigned char)s[n]);
		n = n + l > len ? len : n + l;
	}
	return n;
}

/* One encoded word's bytes for n input bytes: 0, or -1 (no JIS form). */
static int
word_bytes(iconv_t cd, const char *s, size_t n, struct buf *w)
{
	buf_reset(w);
	if (cd != (iconv_t)-1)
		return jis_chunk(cd, s, n, w);
	buf_add(w, s, n);
	return 0;
}

/*
 * "Subject: " and the value as encoded words, folded.  jis: ISO-2022-JP
 * words of up to WORD_CHARS characters; else UTF-8 words of up to
 * WORD_BYTES bytes.  Every word but the last holds a multiple of 3 bytes
 * where a size allows it, so that its base64 has no padding: decoders
 * (GMime among them) that join adjacent words of one charset before
 * decoding the base64 would otherwise lose what follows the padding.
 * Where no size gives that (": " before kanji in UTF-8), a short Q word
 * carries a few characters and the B words go on after it.
 * -1 when a character has no ISO-2022-JP form.
 */
static int
encode_subject(struct buf *out, const char *s, int jis)
{
	iconv_t cd = (iconv_t)-1;
	size_t len = strlen(s), i = 0;
	struct buf w = { 0 };
	int first = 1, rc = 0;

	if (is_ascii(s, len)) {
		buf_printf(out, "Subject: %s\r\n", s);
		return 0;
	}
	if (jis && (cd = iconv_open("ISO-2022-JP", "UTF-8")) == (iconv_t)-1)
		return -1;
	buf_str(out, "Subject:");
	while (i < len) {
		size_t best = 0, n;

		for (size_t chars = jis ? WORD_CHARS : WORD_BYTES; chars > 0; chars--) {
			n = u8prefix(s + i, len - i, chars);
			if (!jis)
				while (n > WORD_BYTES)
					n = u8prefix(s + i, len - i, --chars);
			if (n == 0)
				continue;
			if (best == 0)
				best = n;
			if (word_bytes(cd, s + i, n, &w) < 0) {
				rc = -1;
				goto out;
			}
			if (i + n == len || w.len % 3 == 0) {
				best = n;
				break;
			}
		}
		if (i + best < len && w.len % 3 != 0) {
			/* no padding-free size: a Q word of a few characters */
			best = u8prefix(s + i, len - i, Q_CHARS);
			if (word_bytes(cd, s + i, best, &w) < 0) {
				rc = -1;
				goto out;
			}
			buf_str(out, first ? " " : "\r\n ");
			buf_printf(out, "=?%s?Q?", jis ? "ISO-2022-JP" : "UTF-8");
			for (size_t k = 0; k < w.len; k++) {
				unsigned char c = (unsigned char)w.p[k];
				if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9'))
					buf_add(out, &w.p[k], 1);
				else if (c == ' ')
					buf_str(out, "_");
				else
					buf_printf(out, "=%02X", c);
			}
			buf_str(out, "?=");
			first = 0;
			i += best;
			continue;
		}
		if (word_bytes(cd, s + i, best, &w) < 0) {
			rc = -1;
			goto out;
		}
		buf_str(out, first ? " " : "\r\n ");
		buf_printf(out, "=?%s?B?", jis ? "ISO-2022-JP" : "UTF-8");
		buf_base64(out, w.p, w.len);
		buf_str(out, "?=");
		first = 0;
		i += best;
	}
	buf_str(out, "\r\n");
out:
	buf_free(&w);
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	return rc;
}

/* Text with \n line ends as CRLF lines. */
static void
add_crlf(struct buf *out, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			buf_str(out, "\r\n");
		else
			buf_add(out, p, 1);
	}
	if (*text && text[strlen(text) - 1] != '\n')
		buf_str(out, "\r\n");
}

static void
add_date(struct buf *out)
{
	time_t t = time(NULL);
	struct tm tm;
	char d[64];

	localtime_r(&t, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_printf(out, "Date: %s\r\n", d);
}

/* From:, To: and the fields every notice has. */
static void
add_envelope_fields(struct buf *out, const struct config *cfg, const char *kind,
    const char *to)
{
	unsigned char rnd[12];
	char *list = xstrdup(to), *save = NULL, *a;
	int n = 0;

	if (*cfg->notify_from)
		buf_printf(out, "From: %s\r\n", cfg->notify_from);
	else
		buf_printf(out, "From: sekisho <postmaster@%s>\r\n", cfg->myhostname);
	buf_str(out, "To: ");
	for (a = strtok_r(list, " ,;", &save); a; a = strtok_r(NULL, " ,;", &save))
		buf_printf(out, "%s<%s>", n++ ? ",\r\n " : "", a);
	buf_str(out, "\r\n");
	free(list);
	add_date(out);
	randombytes_buf(rnd, sizeof(rnd));
	buf_str(out, "Message-ID: <notice.");
	for (size_t i = 0; i < sizeof(rnd); i++)
		buf_printf(out, "%02x", rnd[i]);
	buf_printf(out, "@%s>\r\n", cfg->myhostname);
	buf_str(out, "Auto-Submitted: auto-generated\r\n");
	buf_printf(out, "X-Sekisho-Notice: %s\r\n", kind);
	buf_str(out, "MIME-Version: 1.0\r\n");
}

/* Control bytes to spaces; at most SUBJECT_MAX bytes, whole characters. */
static void
subject_clean(char *s)
{
	size_t n = strlen(s);

	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (n > SUBJECT_MAX) {
		n = SUBJECT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		s[n] = '\0';
	}
}

char *
notify_message(const struct config *cfg, const char *kind, const char *lang,
    const char *to, const char *rendered, size_t *len)
{
	struct buf out = { 0 };
	const char *body = rendered;
	char *subject, *jis_body = NULL;
	int jis = strcmp(lang, "ja") == 0 && strcmp(cfg->notify_charset, "iso-2022-jp") == 0;

	/* "Subject: ..." first line, then an empty line */
	if (strncmp(rendered, "Subject:", 8) == 0) {
		size_t n = strcspn(rendered, "\n"), sl;
		const char *v = rendered + 8;
		while (*v == ' ')
			v++;
		subject = xstrndup(v, (size_t)(rendered + n - v));
		sl = strlen(subject);
		if (sl > 0 && subject[sl - 1] == '\r')	/* an empty Subject has no [-1] */
			subject[sl - 1] = '\0';
		subject_clean(subject);
		body = rendered + n;
		if (*body == '\n')
			body++;
		if (*body == '\r')
			body++;
		if (*body == '\n')
			body++;
	} else {
		subject = xstrdup("sekisho");
	}
	if (jis && (jis_body = notify_to_iso2022jp(body)) == NULL)
		jis = 0;
	add_envelope_fields(&out, cfg, kind, to);
	if (encode_subject(&out, subject, jis) < 0) {
		jis = 0;
		free(jis_body);
		jis_body = NULL;
		buf_free(&out);
		add_envelope_fields(&out, cfg, kind, to);
		encode_subject(&out, subject, 0);
	}
	if (jis) {
		buf_str(&out, "Content-Type: text/plain; charset=ISO-2022-JP\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n");
		add_crlf(&out, jis_body);
	} else {
		struct buf crlf = { 0 };
		add_crlf(&crlf, body);
		buf_str(&out, "Content-Type: text/plain; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n");
		for (size_t i = 0; i < crlf.len; i += 57) {
			buf_base64(&out, crlf.p + i, crlf.len - i < 57 ? crlf.len - i : 57);
			buf_str(&out, "\r\n");
		}
		buf_free(&crlf);
	}
	free(jis_body);
	free(subject);
	return buf_steal(&out, len);
}

char *
notify_compose(const struct config *cfg, const char *kind, const char *lang,
    const char *to, const struct notify_var *vars, size_t nvars, size_t *len)
{
	char *tmpl = notify_template(cfg, kind, lang), *text, *msg;

	if (tmpl == NULL) {
		log_err("notify: no template %s/notify/%s.%s.txt", cfg->templates_dir, kind,
		    lang);
		return NULL;
	}
	text = notify_render(tmpl, vars, nvars);
	msg = notify_message(cfg, kind, lang, to, text, len);
	free(text);
	free(tmpl);
	return msg;
}
