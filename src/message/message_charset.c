/*
 * message_charset.c - text in a declared charset to UTF-8, and back for
 * banners.
 *
 * mcs_to_utf8() never fails: bytes invalid in their charset become U+FFFD
 * (MCS_INVALID), an unknown or missing label is replaced by a guess
 * (MCS_GUESSED): UTF-8 when the bytes are UTF-8 (a broken sequence in 50
 * non-ASCII bytes allowed), else the Japanese
 * encoding (ISO-2022-JP, EUC-JP, CP932) that reads them with the fewest
 * errors, else windows-1252.  Japanese labels get the reading real mailers
 * mean: Shift_JIS is read as CP932 (NEC and IBM extensions, backslash at
 * 0x5C) unless plain Shift_JIS reads better; ISO-2022-JP that glibc rejects
 * (NEC row 13 such as U+3231, IBM extensions) is re-read the way Windows'
 * CP50221 does it, through CP932; EUC-JP falls back to eucJP-ms.  A label
 * that makes more errors than reading the bytes as UTF-8 loses to UTF-8.
 *
 * The conversions use iconv handles opened per call, so every function here
 * is thread-safe.  Work is linear in the input; output is at most about
 * three times the input (U+FFFD for every byte).
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "message/message_int.h"
#include "util/util.h"

/* ---- buffer ---- */

void
mbuf_grow(struct mbuf *b, size_t extra)
{
	size_t n;

	if (b->cap > b->len && b->cap - b->len > extra)
		return;
	n = b->cap != 0 ? b->cap : 64;
	while (n - b->len <= extra) {
		if (n > SIZE_MAX / 2)
			panic("mbuf: size overflow");
		n *= 2;
	}
	b->p = xrealloc(b->p, n);
	b->cap = n;
}

void
mbuf_add(struct mbuf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	mbuf_grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
mbuf_addc(struct mbuf *b, char c)
{
	mbuf_grow(b, 1);
	b->p[b->len++] = c;
}

void
mbuf_adds(struct mbuf *b, const char *s)
{
	mbuf_add(b, s, strlen(s));
}

char *
mbuf_take(struct mbuf *b)
{
	char *p;

	mbuf_grow(b, 1);
	b->p[b->len] = '\0';
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
mbuf_free(struct mbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- labels ---- */

enum cs_family {
	CS_NONE,		/* no label */
	CS_UNKNOWN,		/* a label nobody knows */
	CS_UTF8,
	CS_ASCII,
	CS_LATIN1,
	CS_SJIS,
	CS_JIS,
	CS_EUCJP,
	CS_GB,
	CS_BIG5,
	CS_KR,
	CS_UTF7,
	CS_OTHER,		/* iconv knows it under label */
};

static const struct {
	const char *label;
	enum cs_family fam;
} aliases[] = {
	{ "utf-8", CS_UTF8 }, { "utf8", CS_UTF8 }, { "unicode-1-1-utf-8", CS_UTF8 },
	{ "unicode-2-0-utf-8", CS_UTF8 }, { "x-unicode20utf8", CS_UTF8 },
	{ "us-ascii", CS_ASCII }, { "ascii", CS_ASCII }, { "ansi_x3.4-1968", CS_ASCII },
	{ "iso646-us", CS_ASCII }, { "us", CS_ASCII }, { "646", CS_ASCII },
	{ "cp367", CS_ASCII }, { "ibm367", CS_ASCII }, { "csascii", CS_ASCII },
	{ "iso-ir-6", CS_ASCII }, { "x-unknown", CS_ASCII }, { "unknown", CS_ASCII },
	{ "default", CS_ASCII }, { "7bit", CS_ASCII }, { "8bit", CS_ASCII },
	{ "iso-8859-1", CS_LATIN1 }, { "iso8859-1", CS_LATIN1 }, { "iso_8859-1", CS_LATIN1 },
	{ "latin1", CS_LATIN1 }, { "latin-1", CS_LATIN1 }, { "l1", CS_LATIN1 },
	{ "cp819", CS_LATIN1 }, { "ibm819", CS_LATIN1 }, { "csisolatin1", CS_LATIN1 },
	{ "iso-ir-100", CS_LATIN1 }, { "iso_8859-1:1987", CS_LATIN1 },
	{ "shift_jis", CS_SJIS }, { "shift-jis", CS_SJIS }, { "sjis", CS_SJIS },
	{ "x-sjis", CS_SJIS }, { "ms_kanji", CS_SJIS }, { "csshiftjis", CS_SJIS },
	{ "windows-31j", CS_SJIS }, { "cp932", CS_SJIS }, { "ms932", CS_SJIS },
	{ "x-ms-cp932", CS_SJIS }, { "ibm-943", CS_SJIS }, { "ibm943", CS_SJIS },
	{ "shift_jisx0213", CS_SJIS }, { "x-shift_jis", CS_SJIS }, { "shift_jis-2004", CS_SJIS },
	{ "iso-2022-jp", CS_JIS }, { "csiso2022jp", CS_JIS }, { "iso-2022-jp-1", CS_JIS },
	{ "iso-2022-jp-2", CS_JIS }, { "csiso2022jp2", CS_JIS }, { "iso-2022-jp-3", CS_JIS },
	{ "iso-2022-jp-2004", CS_JIS }, { "iso-2022-jp-ms", CS_JIS }, { "cp50220", CS_JIS },
	{ "cp50221", CS_JIS }, { "cp50222", CS_JIS }, { "jis", CS_JIS }, { "x-jis", CS_JIS },
	{ "iso2022jp", CS_JIS },
	{ "euc-jp", CS_EUCJP }, { "eucjp", CS_EUCJP }, { "x-euc-jp", CS_EUCJP },
	{ "cseucpkdfmtjapanese", CS_EUCJP }, { "x-euc", CS_EUCJP }, { "ujis", CS_EUCJP },
	{ "euc-jp-ms", CS_EUCJP }, { "eucjp-ms", CS_EUCJP }, { "eucjp-win", CS_EUCJP },
	{ "euc-jisx0213", CS_EUCJP },
	{ "gb2312", CS_GB }, { "gbk", CS_GB }, { "x-gbk", CS_GB }, { "cp936", CS_GB },
	{ "ms936", CS_GB }, { "windows-936", CS_GB }, { "euc-cn", CS_GB }, { "euccn", CS_GB },
	{ "csgb2312", CS_GB }, { "gb_2312-80", CS_GB }, { "gb_2312", CS_GB }, { "chinese", CS_GB },
	{ "iso-ir-58", CS_GB }, { "csiso58gb231280", CS_GB }, { "gb18030", CS_GB },
	{ "x-gb2312", CS_GB }, { "gb2312-80", CS_GB },
	{ "big5", CS_BIG5 }, { "big-5", CS_BIG5 }, { "big5-hkscs", CS_BIG5 }, { "cn-big5", CS_BIG5 },
	{ "csbig5", CS_BIG5 }, { "x-x-big5", CS_BIG5 }, { "x-big5", CS_BIG5 }, { "cp950", CS_BIG5 },
	{ "ks_c_5601-1987", CS_KR }, { "ks_c_5601-1989", CS_KR }, { "ksc5601", CS_KR },
	{ "ksc_5601", CS_KR }, { "ks_c_5601", CS_KR }, { "euc-kr", CS_KR }, { "euckr", CS_KR },
	{ "cseuckr", CS_KR }, { "korean", CS_KR }, { "iso-ir-149", CS_KR },
	{ "windows-949", CS_KR }, { "cp949", CS_KR }, { "x-windows-949", CS_KR }, { "uhc", CS_KR },
	{ "utf-7", CS_UTF7 }, { "utf7", CS_UTF7 }, { "unicode-1-1-utf-7", CS_UTF7 },
	{ "x-unicode-2-0-utf-7", CS_UTF7 },
};

/* Lower-case and trim a label into buf (quotes and a "*lang" tail dropped). */
static void
label_norm(const char *label, char *buf, size_t size)
{
	size_t n = 0;
	const char *p = label, *e;

	buf[0] = '\0';
	if (label == NULL)
		return;
	while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '"' || e[-1] == '\''))
		e--;
	for (; p < e && n + 1 < size; p++) {
		char c = *p;

		if (c == '*')
			break;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf[n++] = c;
	}
	buf[n] = '\0';
}

static int
iconv_known(const char *name)
{
	iconv_t cd = iconv_open("UTF-8", name);

	if (cd == (iconv_t)-1)
		return 0;
	iconv_close(cd);
	return 1;
}

/* The family of a label; for CS_OTHER the iconv name goes to name. */
static enum cs_family
label_family(const char *label, char *name, size_t size)
{
	const char *alt;

	label_norm(label, name, size);
	if (name[0] == '\0')
		return CS_NONE;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(aliases); i++)
		if (strcmp(aliases[i].label, name) == 0)
			return aliases[i].fam;
	/* iconv would happily read these as something else */
	if (strpbrk(name, "/ ") != NULL)
		return CS_UNKNOWN;
	if (iconv_known(name))
		return CS_OTHER;
	message_lib_init();
	alt = g_mime_charset_iconv_name(name);
	if (alt != NULL && iconv_known(alt)) {
		util_strlcpy(name, alt, size);
		return CS_OTHER;
	}
	return CS_UNKNOWN;
}

/* ---- UTF-8 ---- */

static const char REPL[3] = { '\xef', '\xbf', '\xbd' };

/*
 * Length of the well-formed UTF-8 sequence at s (1-4), or 0 when it is not
 * one; *bad then gets the length of the maximal ill-formed prefix to replace
 * with one U+FFFD (at least 1).
 */
static size_t
utf8_seq(const unsigned char *s, size_t len, size_t *bad)
{
	unsigned c = s[0];
	size_t need, i;
	unsigned lo = 0x80, hi = 0xBF;

	*bad = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 1;
	else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

int
mcs_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, bad;

	while (i < len) {
		size_t n;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_seq(p + i, len - i, &bad)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* Copy UTF-8 with ill-formed sequences replaced; returns how many. */
static size_t
utf8_sanitize(const char *s, size_t len, struct mbuf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, nbad = 0, bad;

	mbuf_grow(out, len + 16);
	while (i < len) {
		size_t n;

		if (p[i] < 0x80) {
			size_t j = i;

			while (j < len && p[j] < 0x80)
				j++;
			mbuf_add(out, s + i, j - i);
			i = j;
			continue;
		}
		if ((n = utf8_seq(p + i, len - i, &bad)) == 0) {
			mbuf_add(out, REPL, 3);
			nbad++;
			i += bad;
			continue;
		}
		mbuf_add(out, s + i, n);
		i += n;
	}
	return nbad;
}

static int
all_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* ---- iconv ---- */

static char *
unconst(const char *p)
{
	return (char *)(uintptr_t)p;
}

/*
 * Convert with iconv into out (UTF-8 or any to), invalid input bytes
 * becoming U+FFFD (only meaningful when to is UTF-8).  Returns the number of
 * invalid sequences, or -1 when the converter cannot be opened (out is left
 * as it was).
 */
static long
conv(const char *to, const char *from, const char *in, size_t len, struct mbuf *out)
{
	iconv_t cd = iconv_open(to, from);
	char *ip = unconst(in);
	size_t il = len;
	long bad = 0;
	int flushing = 0;

	if (cd == (iconv_t)-1)
		return -1;
	mbuf_grow(out, len + len / 2 + 16);
	for (;;) {
		char *op = out->p + out->len;
		size_t ol = out->cap - out->len - 1, r;

		if (!flushing)
			r = iconv(cd, &ip, &il, &op, &ol);
		else
			r = iconv(cd, NULL, NULL, &op, &ol);
		out->len = (size_t)(op - out->p);
		if (r != (size_t)-1) {
			if (flushing)
				break;
			if (il == 0)
				flushing = 1;
			continue;
		}
		if (errno == E2BIG) {
			mbuf_grow(out, out->cap);
			continue;
		}
		if (flushing)
			break;
		bad++;
		mbuf_add(out, REPL, 3);
		if (errno == EILSEQ && il > 0) {
			ip++;
			il--;
			continue;
		}
		/* EINVAL: a sequence cut by the end of the input */
		flushing = 1;
	}
	iconv_close(cd);
	return bad;
}

/*
 * ISO-2022-JP the way Windows reads it (CP50221): JIS X 0208 with the NEC
 * row 13 and the IBM extensions of CP932, half-width katakana by ESC ( I or
 * SO/SI.  Rewritten here as Shift_JIS and read through CP932.  Bytes that
 * make no sense become 0xFF, which CP932 rejects, so they count as invalid.
 */
static long
jis_cp50221(const char *in, size_t len, struct mbuf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	struct mbuf sj = { NULL, 0, 0 };
	enum { ASCII, KANJI, KANA, JIS0212 } mode = ASCII, saved = ASCII;
	size_t i = 0;
	long bad;

	mbuf_grow(&sj, len);
	while (i < len) {
		unsigned c = p[i];

		if (c == 0x1B) {
			const char *e = in + i + 1;
			size_t left = len - i - 1;

			if (left >= 2 && (memcmp(e, "(B", 2) == 0 || memcmp(e, "(J", 2) == 0 ||
			    memcmp(e, "(H", 2) == 0)) {
				mode = ASCII;
				i += 3;
			} else if (left >= 2 && memcmp(e, "(I", 2) == 0) {
				mode = KANA;
				i += 3;
			} else if (left >= 2 && (memcmp(e, "$@", 2) == 0 || memcmp(e, "$B", 2) == 0)) {
				mode = KANJI;
				i += 3;
			} else if (left >= 3 && (memcmp(e, "$(B", 3) == 0 || memcmp(e, "$(O", 3) == 0 ||
			    memcmp(e, "$(Q", 3) == 0)) {
				mode = KANJI;
				i += 4;
			} else if (left >= 3 && memcmp(e, "$(D", 3) == 0) {
				mode = JIS0212;
				i += 4;
			} else if (left >= 2 && memcmp(e, "&@", 2) == 0) {
				i += 3;
			} else {
				mbuf_addc(&sj, '\xff');
				i++;
			}
			continue;
		}
		if (c == 0x0E) {
			saved = mode;
			mode = KANA;
			i++;
			continue;
		}
		if (c == 0x0F) {
			mode = saved == KANA ? ASCII : saved;
			i++;
			continue;
		}
		if (c < 0x21 || mode == ASCII) {
			mbuf_addc(&sj, (char)c);
			i++;
			continue;
		}
		if (mode == KANA) {
			mbuf_addc(&sj, c <= 0x5F ? (char)(c + 0x80) : '\xff');
			i++;
			continue;
		}
		if (c <= 0x7E && i + 1 < len && p[i + 1] >= 0x21 && p[i + 1] <= 0x7E) {
			unsigned j1 = c, j2 = p[i + 1], s1, s2;

			if (mode == KANJI) {
				s1 = ((j1 - 0x21) >> 1) + 0x81;
				if (s1 > 0x9F)
					s1 += 0x40;
				if (j1 & 1)
					s2 = j2 + 0x1F + (j2 >= 0x60 ? 1 : 0);
				else
					s2 = j2 + 0x7E;
				mbuf_addc(&sj, (char)s1);
				mbuf_addc(&sj, (char)s2);
			} else
				mbuf_addc(&sj, '\xff');
			i += 2;
			continue;
		}
		mbuf_addc(&sj, '\xff');
		i++;
	}
	bad = conv("UTF-8", "CP932", sj.p != NULL ? sj.p : "", sj.len, out);
	mbuf_free(&sj);
	return bad;
}

/* One candidate reading of the bytes. */
struct reading {
	struct mbuf out;
	long bad;		/* invalid sequences, -1 when unusable */
};

static void
read_as(struct reading *r, const char *name, const char *in, size_t len)
{
	memset(r, 0, sizeof(*r));
	if (name == NULL)
		r->bad = jis_cp50221(in, len, &r->out);
	else if (strcmp(name, "UTF-8") == 0)
		r->bad = (long)utf8_sanitize(in, len, &r->out);
	else
		r->bad = conv("UTF-8", name, in, len, &r->out);
	if (r->bad < 0)
		mbuf_free(&r->out);
}

/* Count of half-width katakana in UTF-8 text: a wrong Japanese guess
 * tends to produce lots of them. */
static size_t
halfwidth_kana(const struct mbuf *b)
{
	size_t n = 0;

	for (size_t i = 0; i + 2 < b->len; i++) {
		const unsigned char *p = (const unsigned char *)b->p + i;

		if (p[0] == 0xEF && ((p[1] == 0xBD && p[2] >= 0xA1) || (p[1] == 0xBE && p[2] <= 0x9F)))
			n++;
	}
	return n;
}

/*
 * Try the readings in order; keep the one with the fewest invalid
 * sequences, the earliest on a tie.  NULL entries in names mean the CP50221
 * reader.  Returns the index kept, or -1 when none could be used.
 */
static int
best_of(const char *const *names, size_t n, const char *in, size_t len, struct reading *best)
{
	int kept = -1;

	memset(best, 0, sizeof(*best));
	best->bad = -1;
	for (size_t i = 0; i < n; i++) {
		struct reading r;

		read_as(&r, names[i], in, len);
		if (r.bad < 0)
			continue;
		if (kept < 0 || r.bad < best->bad) {
			mbuf_free(&best->out);
			*best = r;
			kept = (int)i;
			if (r.bad == 0)
				break;
		} else
			mbuf_free(&r.out);
	}
	return kept;
}

static int
has_jis_escape(const char *in, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++)
		if (in[i] == 0x1B && ((in[i + 1] == '$' && (in[i + 2] == 'B' || in[i + 2] == '@')) ||
		    (in[i + 1] == '(' && (in[i + 2] == 'I' || in[i + 2] == 'J'))))
			return 1;
	return 0;
}

/*
 * A guess for bytes without a usable label.  Returns the reading; *guessed
 * is set unless the bytes were plain ASCII or valid UTF-8.
 */
static void
guess(const char *in, size_t len, struct reading *r, int *guessed)
{
	static const char *const jis[] = { "ISO-2022-JP-2", NULL };
	static const char *const ja[] = { "EUC-JP", "CP932" };
	struct reading a, b;
	size_t nonascii = 0;

	*guessed = 0;
	if (all_ascii(in, len)) {
		if (has_jis_escape(in, len)) {
			*guessed = 1;
			best_of(jis, 2, in, len, r);
			if (r->bad >= 0)
				return;
		}
		read_as(r, "UTF-8", in, len);
		return;
	}
	if (mcs_utf8_valid(in, len)) {
		read_as(r, "UTF-8", in, len);
		return;
	}
	*guessed = 1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)in[i] >= 0x80)
			nonascii++;
	/* UTF-8 with a few broken sequences (a character cut by a byte limit) */
	read_as(&a, "UTF-8", in, len);
	if ((size_t)a.bad * 50 <= nonascii) {
		*r = a;
		return;
	}
	mbuf_free(&a.out);
	read_as(&a, ja[0], in, len);
	read_as(&b, ja[1], in, len);
	if (a.bad >= 0 && b.bad >= 0) {
		/* fewer errors wins; on a tie, fewer half-width katakana */
		if (a.bad < b.bad || (a.bad == b.bad && halfwidth_kana(&a.out) <= halfwidth_kana(&b.out))) {
			mbuf_free(&b.out);
			b = a;
		} else
			mbuf_free(&a.out);
	} else if (a.bad >= 0)
		b = a;
	if (b.bad >= 0 && (size_t)b.bad * 50 <= nonascii) {
		*r = b;
		return;
	}
	if (b.bad >= 0)
		mbuf_free(&b.out);
	read_as(r, "WINDOWS-1252", in, len);
	if (r->bad < 0)
		read_as(r, "UTF-8", in, len);
}

char *
mcs_to_utf8(const char *label, const char *in, size_t len, size_t *outlen, unsigned *flags)
{
	char name[64];
	enum cs_family fam = label_family(label, name, sizeof(name));
	struct reading r;
	int guessed = 0;

	if (in == NULL)
		len = 0;
	memset(&r, 0, sizeof(r));
	r.bad = -1;
	switch (fam) {
	case CS_NONE:
	case CS_UNKNOWN:
	case CS_ASCII:
		guess(in != NULL ? in : "", len, &r, &guessed);
		if (fam == CS_UNKNOWN)
			guessed = 1;
		break;
	case CS_UTF8:
		read_as(&r, "UTF-8", in, len);
		break;
	case CS_LATIN1:
		read_as(&r, "WINDOWS-1252", in, len);
		break;
	case CS_SJIS: {
		static const char *const n[] = { "CP932", "SHIFT_JIS" };

		best_of(n, 2, in, len, &r);
		break;
	}
	case CS_JIS: {
		static const char *const n[] = { "ISO-2022-JP-2", NULL };

		/* a 7-bit charset: 8-bit bytes that are UTF-8 mean a wrong label
		 * (raw Shift_JIS among the escapes is read by the CP50221 path) */
		if (!all_ascii(in, len) && mcs_utf8_valid(in, len)) {
			read_as(&r, "UTF-8", in, len);
			guessed = 1;
			break;
		}
		best_of(n, 2, in, len, &r);
		break;
	}
	case CS_EUCJP: {
		static const char *const n[] = { "EUC-JP", "EUC-JP-MS" };

		best_of(n, 2, in, len, &r);
		break;
	}
	case CS_GB:
		read_as(&r, "GB18030", in, len);
		break;
	case CS_BIG5: {
		static const char *const n[] = { "BIG5-HKSCS", "BIG5", "CP950" };

		best_of(n, 3, in, len, &r);
		break;
	}
	case CS_KR:
		read_as(&r, "CP949", in, len);
		break;
	case CS_UTF7:
		read_as(&r, "UTF-7", in, len);
		break;
	case CS_OTHER:
		read_as(&r, name, in, len);
		break;
	}
	if (r.bad < 0) {
		guess(in != NULL ? in : "", len, &r, &guessed);
		guessed = 1;
	}
	/* a wrong label: the bytes are UTF-8 */
	if (r.bad > 0 && fam != CS_UTF8 && !all_ascii(in, len) && mcs_utf8_valid(in, len)) {
		mbuf_free(&r.out);
		read_as(&r, "UTF-8", in, len);
		guessed = 1;
	}
	if (r.bad > 0)
		*flags |= MCS_INVALID;
	if (guessed)
		*flags |= MCS_GUESSED;
	for (size_t i = 0; i < r.out.len; i++)
		if (r.out.p[i] == '\0')
			r.out.p[i] = ' ';
	if (outlen != NULL)
		*outlen = r.out.len;
	return mbuf_take(&r.out);
}

/* ---- UTF-8 to a part's charset ---- */

const char *
mcs_encoder_name(const char *label)
{
	char name[64];

	switch (label_family(label, name, sizeof(name))) {
	case CS_NONE:
	case CS_ASCII:
		return "US-ASCII";
	case CS_UTF8:
		return "UTF-8";
	case CS_LATIN1:
		return "ISO-8859-1";
	case CS_SJIS:
		return "CP932";
	case CS_JIS:
		return "ISO-2022-JP";
	case CS_EUCJP:
		return "EUC-JP";
	case CS_GB:
		return strcmp(name, "gb18030") == 0 ? "GB18030" : "GBK";
	case CS_BIG5:
		return "BIG5";
	case CS_KR:
		return "CP949";
	case CS_UTF7:
	case CS_UNKNOWN:
	case CS_OTHER:
		return NULL;
	}
	return NULL;
}

/* Encode one character (or the reset sequence, c == NULL) with cd. */
static int
enc_step(iconv_t cd, const char *c, size_t n, struct mbuf *out)
{
	char *ip = unconst(c);
	size_t il = n;

	for (;;) {
		char *op, buf[64];
		size_t ol = sizeof(buf), r;

		op = buf;
		r = c != NULL ? iconv(cd, &ip, &il, &op, &ol) : iconv(cd, NULL, NULL, &op, &ol);
		mbuf_add(out, buf, sizeof(buf) - ol);
		if (r != (size_t)-1)
			return 0;
		if (errno != E2BIG)
			return -1;
	}
}

char *
mcs_from_utf8(const char *label, const char *utf8, size_t len, int html, size_t *outlen)
{
	char name[64];
	enum cs_family fam = label_family(label, name, sizeof(name));
	const char *enc;
	struct mbuf out = { NULL, 0, 0 };
	const unsigned char *p = (const unsigned char *)utf8;
	iconv_t cd;
	size_t i = 0;

	if (!mcs_utf8_valid(utf8, len))
		return NULL;
	if (fam == CS_OTHER) {
		static const char probe[] = "<a href=\"&#;0123456789\">\r\n";
		struct mbuf t = { NULL, 0, 0 };
		int same;

		/* only ASCII-compatible charsets can take the bytes around the banner */
		if (conv(name, "UTF-8", probe, sizeof(probe) - 1, &t) != 0)
			same = 0;
		else
			same = t.len == sizeof(probe) - 1 && memcmp(t.p, probe, t.len) == 0;
		mbuf_free(&t);
		if (!same)
			return NULL;
		enc = name;
	} else if ((enc = mcs_encoder_name(label)) == NULL)
		return NULL;
	if (strcmp(enc, "UTF-8") == 0) {
		mbuf_add(&out, utf8, len);
		if (outlen != NULL)
			*outlen = out.len;
		return mbuf_take(&out);
	}
	if ((cd = iconv_open(enc, "UTF-8")) == (iconv_t)-1)
		return NULL;
	while (i < len) {
		size_t bad, n = utf8_seq(p + i, len - i, &bad);

		if (n == 0)
			n = 1;
		if (enc_step(cd, utf8 + i, n, &out) < 0) {
			unsigned cp;

			if (!html)
				goto fail;
			/* back to the initial state, then a reference in ASCII */
			if (enc_step(cd, NULL, 0, &out) < 0)
				goto fail;
			if (n == 1)
				cp = p[i];
			else if (n == 2)
				cp = ((p[i] & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu);
			else if (n == 3)
				cp = ((p[i] & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
			else
				cp = ((p[i] & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12) |
				    ((p[i + 2] & 0x3Fu) << 6) | (p[i + 3] & 0x3Fu);
			{
				char ref[16];

				snprintf(ref, sizeof(ref), "&#%u;", cp);
				mbuf_adds(&out, ref);
			}
		}
		i += n;
	}
	if (enc_step(cd, NULL, 0, &out) < 0)
		goto fail;
	iconv_close(cd);
	if (outlen != NULL)
		*outlen = out.len;
	return mbuf_take(&out);
fail:
	iconv_close(cd);
	mbuf_free(&out);
	return NULL;
}
