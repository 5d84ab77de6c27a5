/*
 * detect_dlp.c - data loss prevention: My Number, card numbers, Japanese
 * bank accounts, confidentiality keywords and the admin's patterns in
 * outgoing mail.
 *
 * Symbols (each reason names the kind and a masked sample, never a whole
 * number: logs and the quarantine keep the reason):
 *   DLP_MYNUMBER       a 12-digit number with a valid My Number check digit,
 *                      written 123456789012 or 1234-5678-9012; full score
 *                      near マイナンバー / 個人番号, 60% without
 *   DLP_CREDIT_CARD    13-19 digits with a valid Luhn sum and the prefix and
 *                      length of a card network (Visa, Mastercard, Amex,
 *                      JCB, Diners, Discover, UnionPay); full score near a
 *                      card word, 60% without
 *   DLP_BANK_ACCOUNT   普通/当座/貯蓄/口座番号 followed by a 7-digit number;
 *                      full score with 支店 before it, 70% without
 *   DLP_KEYWORD        社外秘, 極秘, confidential ... (rules/dlp/keywords.txt
 *                      and dlp_keywords); English words are whole words and
 *                      do not count inside a mail disclaimer
 *   DLP_PATTERN        an admin pattern (dlp_patterns, rules/dlp/patterns.txt)
 *
 * Options: dlp_inbound (also scan inbound mail), dlp_keywords, dlp_patterns,
 * dlp_max_text.
 *
 * The text is the subject, the text and HTML parts and text-like
 * attachments, cut at dlp_max_text bytes in all and NFKC case-folded once
 * (full-width digits and letters become ASCII).  One pass finds every
 * number token: digit groups joined by one kind of separator (space or a
 * hyphen), not glued to letters or other identifier characters on either
 * side (PO-2023-90768, INV-202407-841, a hex digest and a decimal number
 * are not tokens), and each token is judged by its digit count and
 * grouping.  Ordinary numbers do not pass: phone numbers have 10-11 digits
 * in 2-4-4 or 3-4-4 groups, dates 8, tracking numbers 12 in 4-4-4 groups
 * but without a valid My Number check digit in 10 of 11 cases -- which is
 * why a My Number without a keyword nearby scores less, and a 12-digit run
 * that reads as a date and time (202405291230) does not count without one.
 *
 * Admin patterns are ICU regular expressions compiled once at start and
 * cloned per scan (ICU matchers are not shared between threads), with a
 * time limit on each match.
 */
#include "detect/detect_dlp.h"
#include "detect/detect_phish.h"
#include "util/log.h"
#include "util/util.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uregex.h>
#include <unicode/utext.h>

#define TOK_MAX_DIGITS	23
#define TOK_MAX_GROUPS	8
#define KW_BEFORE	80	/* bytes before a number searched for its keyword */
#define KW_AFTER	40
#define BANK_BEFORE	36	/* 普通 口座番号: ... up to the number */
#define BRANCH_BEFORE	120	/* 支店 before the account */
#define REGEX_TIME_LIMIT 200	/* ICU match steps (each about a millisecond) */
#define REGEX_MAX_HITS	1000

static const struct symbol_def symbols[] = {
	{ "DLP_MYNUMBER", 5.0, "a My Number (個人番号) with a valid check digit" },
	{ "DLP_CREDIT_CARD", 5.0, "a payment card number (Luhn and network prefix)" },
	{ "DLP_BANK_ACCOUNT", 2.0, "a Japanese bank account number (普通/当座 + 7 digits)" },
	{ "DLP_KEYWORD", 2.0, "a confidentiality keyword (社外秘, 極秘, confidential...)" },
	{ "DLP_PATTERN", 4.0, "an administrator's DLP pattern matched" },
	{ NULL, 0, NULL },
};

struct dlp_pattern {
	char *name;
	URegularExpression *re;
};

struct dlp_rules {
	char **kw;		/* folded keywords */
	size_t nkw;
	struct dlp_pattern *pat;
	size_t npat;
	size_t max_text;
	int inbound;
};

/* ---- checks on digits ---- */

int
dlp_mynumber_valid(const char *d)
{
	int sum = 0, r, check;

	for (int i = 0; i < 12; i++)
		if (d[i] < '0' || d[i] > '9')
			return 0;
	/* P_n is the n-th digit from the right without the check digit;
	 * Q_n = n + 1 for n <= 6, n - 5 for n >= 7 */
	for (int n = 1; n <= 11; n++) {
		int p = d[11 - n] - '0';
		int q = n <= 6 ? n + 1 : n - 5;

		sum += p * q;
	}
	r = sum % 11;
	check = r <= 1 ? 0 : 11 - r;
	return check == d[11] - '0';
}

int
dlp_luhn(const char *d, size_t n)
{
	int sum = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';

		if (v < 0 || v > 9)
			return 0;
		if (i % 2 == 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

static int
prefix_num(const char *d, size_t n, size_t len)
{
	int v = 0;

	if (n < len)
		return -1;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (d[i] - '0');
	return v;
}

const char *
dlp_card_issuer(const char *d, size_t n)
{
	int p1 = prefix_num(d, n, 1), p2 = prefix_num(d, n, 2);
	int p3 = prefix_num(d, n, 3), p4 = prefix_num(d, n, 4), p6 = prefix_num(d, n, 6);

	if (n < 13 || n > 19)
		return NULL;
	if (p2 == 34 || p2 == 37)
		return n == 15 ? "American Express" : NULL;
	if (p4 >= 3528 && p4 <= 3589)
		return n >= 16 ? "JCB" : NULL;
	if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39)
		return n >= 14 ? "Diners Club" : NULL;
	if (p1 == 4)
		return n == 13 || n == 16 || n == 19 ? "Visa" : NULL;
	if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
		return n == 16 ? "Mastercard" : NULL;
	if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 ||
	    (p6 >= 622126 && p6 <= 622925))
		return n >= 16 ? "Discover" : NULL;
	if (p2 == 62 || p2 == 81)
		return n >= 16 ? "UnionPay" : NULL;
	return NULL;
}

/* One digit makes two thirds of the number or more (200000000000,
 * 4444444444444448): a round figure or a filler, not an identifier. */
static int
all_same(const char *d, size_t n)
{
	int count[10] = { 0 };

	for (size_t i = 0; i < n; i++)
		if (++count[d[i] - '0'] * 3 >= (int)n * 2)
			return 1;
	return 0;
}

/* 12 digits that read as yyyymmddhhmm (a time stamp, an order number made
 * of one). */
static int
looks_like_timestamp(const char *d)
{
	int y = prefix_num(d, 12, 4), mo = (d[4] - '0') * 10 + d[5] - '0';
	int dd = (d[6] - '0') * 10 + d[7] - '0', hh = (d[8] - '0') * 10 + d[9] - '0';
	int mi = (d[10] - '0') * 10 + d[11] - '0';

	return y >= 1990 && y <= 2099 && mo >= 1 && mo <= 12 && dd >= 1 && dd <= 31 &&
	    hh <= 23 && mi <= 59;
}

/* ---- the number tokens of a text ---- */

struct numtok {
	char d[TOK_MAX_DIGITS + 1];
	size_t nd;
	int g[TOK_MAX_GROUPS];
	int ng;
	size_t start, end;	/* bytes of the token in the text */
};

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A separator between digit groups at t[i]: its byte length, or 0.
 * ' ', '-' and the Unicode dashes NFKC leaves alone (U+2010..2015, U+2212). */
static size_t
separator(const char *t, size_t i, size_t len, int *kind)
{
	const unsigned char *u = (const unsigned char *)t + i;

	if (t[i] == ' ') {
		*kind = ' ';
		return 1;
	}
	if (t[i] == '-') {
		*kind = '-';
		return 1;
	}
	if (i + 2 < len && u[0] == 0xe2 && ((u[1] == 0x80 && u[2] >= 0x90 && u[2] <= 0x95) ||
	    (u[1] == 0x88 && u[2] == 0x92))) {
		*kind = '-';
		return 3;
	}
	return 0;
}

/* May a number token start after this byte?  Not inside a word or an
 * identifier (PO-2023, v1.2, id=123, #123, +81, /path/123). */
static int
left_ok(const char *t, size_t i)
{
	unsigned char c;

	if (i == 0)
		return 1;
	c = (unsigned char)t[i - 1];
	if (is_alpha(c) || is_digit(c) || strchr("_./+#=&%@\\$", c) != NULL)
		return 0;
	if (c == '-' && i >= 2 && (is_alpha((unsigned char)t[i - 2]) ||
	    is_digit((unsigned char)t[i - 2])))
		return 0;
	return 1;
}

static int
right_ok(const char *t, size_t i, size_t len)
{
	unsigned char c, n;

	if (i >= len)
		return 1;
	c = (unsigned char)t[i];
	n = i + 1 < len ? (unsigned char)t[i + 1] : 0;
	if (is_alpha(c) || strchr("_/@\\%", c) != NULL)
		return 0;
	if ((c == '.' || c == ',' || c == '-' || c == ':') && (is_digit(n) || is_alpha(n)))
		return 0;
	return 1;
}

/*
 * Read the token starting at t[*i] (a digit).  *i is moved past it.
 * 1 with tok filled when it is a clean token, 0 when it is part of
 * something else or too long.
 */
static int
read_token(const char *t, size_t len, size_t *i, struct numtok *tok)
{
	size_t p = *i;
	int sepkind = 0, ok = 1;

	tok->nd = 0;
	tok->ng = 0;
	tok->start = p;
	if (!left_ok(t, p))
		ok = 0;
	for (;;) {
		int glen = 0, k = 0;
		size_t sl;

		while (p < len && is_digit((unsigned char)t[p])) {
			if (tok->nd < TOK_MAX_DIGITS)
				tok->d[tok->nd] = t[p];
			else
				ok = 0;
			tok->nd++;
			glen++;
			p++;
		}
		if (tok->ng < TOK_MAX_GROUPS)
			tok->g[tok->ng] = glen;
		else
			ok = 0;
		tok->ng++;
		if (p >= len || (sl = separator(t, p, len, &k)) == 0 ||
		    p + sl >= len || !is_digit((unsigned char)t[p + sl]) ||
		    (sepkind != 0 && k != sepkind))
			break;
		sepkind = k;
		p += sl;
	}
	tok->end = p;
	*i = p;
	if (!ok || !right_ok(t, p, len))
		return 0;
	tok->d[tok->nd] = '\0';
	return 1;
}

static int
groups_are(const struct numtok *tok, const int *want, int n)
{
	if (tok->ng != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (tok->g[i] != want[i])
			return 0;
	return 1;
}

/* Is any of the words within [from, to) of the text? */
static int
near_word(const char *t, size_t len, size_t from, size_t to, const char *const *words)
{
	char *win;
	int found = 0;

	if (to > len)
		to = len;
	if (from >= to)
		return 0;
	win = xstrndup(t + from, to - from);
	for (size_t i = 0; words[i] != NULL && !found; i++)
		found = strstr(win, words[i]) != NULL;
	free(win);
	return found;
}

static size_t
back(size_t pos, size_t n)
{
	return pos > n ? pos - n : 0;
}

static const char *const mynumber_words[] = {
	"マイナンバー", "個人番号", "my number", "mynumber", "my-number", "マイナンハ", NULL,
};
static const char *const card_words[] = {
	"カード", "card", "クレジット", "credit", "visa", "master", "jcb", "amex",
	"american express", "diners", "有効期限", "expir", "セキュリティコード", "cvv", "cvc",
	NULL,
};
static const char *const bank_types[] = {
	"普通", "当座", "貯蓄", "口座番号", "口座no", "口座 no", "口座#", NULL,
};
static const char *const branch_words[] = {
	"支店", "出張所", "営業部", "branch", NULL,
};

/* Keep the first sample of a kind. */
static void
found(struct dlp_found *f, int strong, const char *sample, const char *what)
{
	if (f->count == 0 || (strong && f->strong == 0)) {
		util_strlcpy(f->sample, sample, sizeof(f->sample));
		util_strlcpy(f->what, what != NULL ? what : "", sizeof(f->what));
	}
	f->count++;
	if (strong)
		f->strong++;
}

static void
judge_token(const char *t, size_t len, const struct numtok *tok, struct dlp_findings *f)
{
	static const int g444[] = { 4, 4, 4 };
	static const int g4444[] = { 4, 4, 4, 4 };
	static const int g44443[] = { 4, 4, 4, 4, 3 };
	static const int g465[] = { 4, 6, 5 };
	static const int g464[] = { 4, 6, 4 };
	char sample[96];

	if (tok->nd == 12 && (tok->ng == 1 || groups_are(tok, g444, 3)) &&
	    !all_same(tok->d, 12) && dlp_mynumber_valid(tok->d)) {
		int kw = near_word(t, len, back(tok->start, KW_BEFORE), tok->end + KW_AFTER,
		    mynumber_words);

		if (kw || tok->ng == 3 || !looks_like_timestamp(tok->d)) {
			snprintf(sample, sizeof(sample), "****-****-%s", tok->d + 8);
			found(&f->k[DLP_K_MYNUMBER], kw, sample, kw ? "near a My Number keyword" : "");
			return;
		}
	}
	if (tok->nd >= 13 && tok->nd <= 19 && (tok->ng == 1 || groups_are(tok, g4444, 4) ||
	    groups_are(tok, g44443, 5) || groups_are(tok, g465, 3) || groups_are(tok, g464, 3)) &&
	    !all_same(tok->d, tok->nd) && dlp_luhn(tok->d, tok->nd)) {
		const char *issuer = dlp_card_issuer(tok->d, tok->nd);

		if (issuer != NULL) {
			int kw = near_word(t, len, back(tok->start, KW_BEFORE),
			    tok->end + KW_AFTER, card_words);

			/* a run of digits of an unusual length (13, 14, 17-19)
			 * is a card only next to a card word: counters, IDs */
			if (!kw && tok->ng == 1 && tok->nd != 15 && tok->nd != 16)
				return;
			snprintf(sample, sizeof(sample), "%s****-%.4s (%u digits)",
			    tok->nd > 15 ? "****-****-" : "****-", tok->d + tok->nd - 4,
			    (unsigned)tok->nd % 100);
			found(&f->k[DLP_K_CARD], kw, sample, issuer);
			return;
		}
	}
	if (tok->nd == 7 && tok->ng == 1 &&
	    near_word(t, len, back(tok->start, BANK_BEFORE), tok->start, bank_types)) {
		int branch = near_word(t, len, back(tok->start, BRANCH_BEFORE), tok->start,
		    branch_words);

		snprintf(sample, sizeof(sample), "***%s", tok->d + 4);
		found(&f->k[DLP_K_BANK], branch, sample, branch ? "with a branch" : "");
	}
}

/* ---- keywords ---- */

static int
ascii_word(const char *w)
{
	for (const unsigned char *p = (const unsigned char *)w; *p; p++)
		if (*p >= 0x80)
			return 0;
	return 1;
}

static const char *const disclaimer_words[] = {
	"intended recipient", "intended only", "intended solely", "intended for the",
	"privileged", "if you have received this", "received this in error",
	"received this message in error", "received this e-mail in error",
	"received this email in error", "disclaimer", "unauthorized", "unauthorised",
	"prohibited", "legally", NULL,
};

/*
 * An English keyword counts as a marker, not as a word of a sentence
 * ("keep it confidential", "confidential computing"): it stands alone on
 * its line or in brackets, or follows a label ("Classification:").
 */
static int
stands_as_label(const char *t, size_t len, size_t off, size_t wl)
{
	static const char *const open_marks[] = { "【", "「", "『", "〔", "≪", "《", NULL };
	static const char *const close_marks[] = { "】", "」", "』", "〕", "≫", "》", NULL };
	size_t a = off, b = off + wl;
	int left = 0, right = 0;

	while (a > 0 && (t[a - 1] == ' ' || t[a - 1] == '\t'))
		a--;
	if (a == 0 || strchr("\n[(<*-:|\"'", t[a - 1]) != NULL)
		left = 1;
	for (size_t i = 0; !left && open_marks[i] != NULL; i++) {
		size_t ml = strlen(open_marks[i]);
		left = a >= ml && memcmp(t + a - ml, open_marks[i], ml) == 0;
	}
	while (b < len && (t[b] == ' ' || t[b] == '\t'))
		b++;
	if (b >= len || strchr("\n])>*-:|/!\"'", t[b]) != NULL)
		right = 1;
	for (size_t i = 0; !right && close_marks[i] != NULL; i++) {
		size_t ml = strlen(close_marks[i]);
		right = b + ml <= len && memcmp(t + b, close_marks[i], ml) == 0;
	}
	return left && right;
}

static void
scan_keywords(const struct dlp_rules *dr, const char *t, size_t len, struct dlp_findings *f)
{
	for (size_t k = 0; k < dr->nkw; k++) {
		const char *w = dr->kw[k];
		size_t wl = strlen(w);
		int ascii = ascii_word(w);

		if (wl == 0)
			continue;
		for (const char *p = strstr(t, w); p != NULL; p = strstr(p + 1, w)) {
			size_t off = (size_t)(p - t);

			if (ascii) {
				if ((off > 0 && (is_alpha((unsigned char)p[-1]) ||
				    is_digit((unsigned char)p[-1]))) ||
				    is_alpha((unsigned char)p[wl]) || is_digit((unsigned char)p[wl]))
					continue;
				if (!stands_as_label(t, len, off, wl))
					continue;
				/* "This e-mail is confidential and intended only for..." */
				if (near_word(t, len, back(off, 200), off + wl + 300, disclaimer_words))
					continue;
			}
			found(&f->k[DLP_K_KEYWORD], 1, w, w);
			break;
		}
	}
}

/* ---- admin patterns ---- */

/* A match shown as stars and its last characters (4 of a long match, half
 * of a short one), never cutting a UTF-8 sequence. */
static void
mask_match(const char *s, size_t n, char *out, size_t outlen)
{
	char *copy = g_utf8_make_valid(s, (gssize)n);
	glong chars = g_utf8_strlen(copy, -1);
	glong keep = chars > 8 ? 4 : chars / 2, stars = chars - keep;
	const char *tail = g_utf8_offset_to_pointer(copy, stars);

	snprintf(out, outlen, "%.*s%s", (int)(stars < 12 ? stars : 12), "************", tail);
	if (!g_utf8_validate(out, -1, NULL)) {
		const char *end;

		g_utf8_validate(out, -1, &end);
		out[end - out] = '\0';
	}
	g_free(copy);
}

static void
scan_patterns(const struct dlp_rules *dr, const char *t, size_t len, struct dlp_findings *f)
{
	for (size_t i = 0; i < dr->npat; i++) {
		UErrorCode e = U_ZERO_ERROR;
		URegularExpression *re = uregex_clone(dr->pat[i].re, &e);
		UText *ut = NULL;
		int hits = 0;

		if (U_FAILURE(e))
			continue;
		ut = utext_openUTF8(NULL, t, (int64_t)len, &e);
		if (U_SUCCESS(e))
			uregex_setUText(re, ut, &e);
		if (U_SUCCESS(e))
			uregex_setTimeLimit(re, REGEX_TIME_LIMIT, &e);
		while (U_SUCCESS(e) && hits < REGEX_MAX_HITS && uregex_findNext(re, &e)) {
			int64_t s = uregex_start64(re, 0, &e), en = uregex_end64(re, 0, &e);
			char sample[96];

			if (U_FAILURE(e) || s < 0 || en < s || (size_t)en > len)
				break;
			if (en == s) {	/* an empty match finds nothing to leak */
				if ((size_t)en >= len)
					break;
				continue;
			}
			mask_match(t + s, (size_t)(en - s), sample, sizeof(sample));
			found(&f->k[DLP_K_PATTERN], 1, sample, dr->pat[i].name);
			hits++;
		}
		if (e == U_REGEX_TIME_OUT)
			log_warn("dlp: pattern %s ran out of time", dr->pat[i].name);
		uregex_close(re);
		utext_close(ut);
	}
}

/* ---- the scan ---- */

void
dlp_scan_folded(const struct dlp_rules *dr, const char *t, size_t len, struct dlp_findings *f)
{
	struct numtok tok;
	size_t i = 0;

	memset(f, 0, sizeof(*f));
	while (i < len) {
		if (!is_digit((unsigned char)t[i])) {
			i++;
			continue;
		}
		if (read_token(t, len, &i, &tok))
			judge_token(t, len, &tok, f);
	}
	if (dr != NULL) {
		scan_keywords(dr, t, len, f);
		scan_patterns(dr, t, len, f);
	}
}

void
dlp_scan_text(const struct dlp_rules *dr, const char *utf8, struct dlp_findings *f)
{
	char *folded = phish_fold(utf8);

	dlp_scan_folded(dr, folded, strlen(folded), f);
	free(folded);
}

static int
text_like(const struct msg_part *p)
{
	static const char *const exts[] = {
		".txt", ".csv", ".tsv", ".json", ".xml", ".log", ".md", ".ini", ".yaml", ".yml",
		".vcf", ".ics", NULL,
	};

	if (p->is_text || p->text != NULL)
		return 0;	/* already in the body text */
	if (p->content_type != NULL && strncmp(p->content_type, "text/", 5) == 0 &&
	    strcmp(p->content_type, "text/html") != 0)
		return 1;
	if (p->filename != NULL) {
		size_t fl = strlen(p->filename);

		for (size_t i = 0; exts[i] != NULL; i++) {
			size_t el = strlen(exts[i]);
			if (fl > el && g_ascii_strcasecmp(p->filename + fl - el, exts[i]) == 0)
				return 1;
		}
	}
	return 0;
}

/* Bytes of a text attachment as UTF-8: as they are when valid, else from
 * the declared charset, else from CP932 (most Japanese CSV files), else
 * with invalid bytes replaced.  malloc'ed. */
static char *
attachment_utf8(const struct msg_part *p, const unsigned char *b, size_t n)
{
	gchar *u = NULL, *r;
	char *s;

	if (g_utf8_validate((const char *)b, (gssize)n, NULL))
		return xstrndup((const char *)b, n);
	if (p->charset != NULL)
		u = g_convert((const char *)b, (gssize)n, "UTF-8", p->charset, NULL, NULL, NULL);
	if (u == NULL)
		u = g_convert((const char *)b, (gssize)n, "UTF-8", "CP932", NULL, NULL, NULL);
	if (u == NULL)
		u = g_utf8_make_valid((const char *)b, (gssize)n);
	r = u;
	s = xstrdup(r);
	g_free(u);
	return s;
}

static void
add_text(GString *out, const char *s, size_t n, size_t max)
{
	const char *end;

	if (out->len >= max || s == NULL)
		return;
	if (n > max - out->len)
		n = max - out->len;
	/* do not cut a UTF-8 sequence */
	g_utf8_validate(s, (gssize)n, &end);
	g_string_append_len(out, s, end - s);
	g_string_append_c(out, '\n');
}

char *
dlp_message_text(const struct message *m, size_t max)
{
	GString *out = g_string_new(NULL);
	char *folded;

	if (m->subject != NULL)
		add_text(out, m->subject, strlen(m->subject), max);
	if (m->text != NULL)
		add_text(out, m->text, strlen(m->text), max);
	if (m->html_text != NULL)
		add_text(out, m->html_text, strlen(m->html_text), max);
	for (size_t i = 0; i < m->nparts && out->len < max; i++) {
		unsigned char *b;
		size_t n = 0;
		int trunc = 0;

		if (!text_like(&m->parts[i]))
			continue;
		if ((b = message_part_bytes(m, i, max - out->len, &n, &trunc)) == NULL)
			continue;
		{
			char *u = attachment_utf8(&m->parts[i], b, n);
			add_text(out, u, strlen(u), max);
			free(u);
		}
		free(b);
	}
	folded = phish_fold(out->str);
	g_string_free(out, TRUE);
	return folded;
}

/* ---- rules ---- */

static void
add_keyword(struct dlp_rules *dr, const char *w)
{
	char *f = phish_fold(w);

	if (*util_trim(f) == '\0') {
		free(f);
		return;
	}
	for (size_t i = 0; i < dr->nkw; i++)
		if (strcmp(dr->kw[i], f) == 0) {
			free(f);
			return;
		}
	dr->kw = xrealloc(dr->kw, (dr->nkw + 1) * sizeof(*dr->kw));
	dr->kw[dr->nkw++] = f;
}

static int
add_pattern(struct dlp_rules *dr, const char *name, size_t nlen, const char *regex,
    char *err, size_t errlen)
{
	UErrorCode e = U_ZERO_ERROR;
	UParseError pe;
	URegularExpression *re;

	re = uregex_openC(regex, UREGEX_CASE_INSENSITIVE, &pe, &e);
	if (U_FAILURE(e)) {
		/* uregex_openC takes invariant characters only: go through UTF-16 */
		UChar *u;
		int32_t ulen = 0;
		glong n = 0;

		e = U_ZERO_ERROR;
		u = (UChar *)g_utf8_to_utf16(regex, -1, NULL, &n, NULL);
		ulen = (int32_t)n;
		re = u != NULL ? uregex_open(u, ulen, UREGEX_CASE_INSENSITIVE, &pe, &e) : NULL;
		g_free(u);
		if (re == NULL || U_FAILURE(e)) {
			snprintf(err, errlen, "dlp pattern %.*s: %s at offset %d", (int)nlen, name,
			    u_errorName(e), pe.offset);
			return -1;
		}
	}
	dr->pat = xrealloc(dr->pat, (dr->npat + 1) * sizeof(*dr->pat));
	dr->pat[dr->npat].name = xstrndup(name, nlen);
	dr->pat[dr->npat].re = re;
	dr->npat++;
	return 0;
}

/* Length of "NAME:" at s (NAME: capitals, digits, '_'), or 0. */
static size_t
name_colon(const char *s)
{
	size_t n = 0;

	if (!(s[0] >= 'A' && s[0] <= 'Z'))
		return 0;
	while ((s[n] >= 'A' && s[n] <= 'Z') || is_digit((unsigned char)s[n]) || s[n] == '_')
		n++;
	return s[n] == ':' ? n + 1 : 0;
}

/*
 * dlp_patterns: "NAME:regex NAME:regex ..."; an entry ends where white
 * space is followed by the next NAME: (so a regex may hold spaces and
 * commas, but not " WORD:" in capitals).
 */
static int
parse_patterns(struct dlp_rules *dr, const char *s, char *err, size_t errlen)
{
	while (*s != '\0') {
		size_t nl, i;
		const char *re;
		char *rx;
		int rc;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (*s == '\0')
			break;
		if ((nl = name_colon(s)) == 0) {
			snprintf(err, errlen, "dlp_patterns: expected NAME:regex at '%.20s'", s);
			return -1;
		}
		re = s + nl;
		for (i = 0; re[i] != '\0'; i++)
			if ((re[i] == ' ' || re[i] == '\t' || re[i] == '\n') && name_colon(re + i + 1))
				break;
		rx = xstrndup(re, i);
		util_trim(rx);
		if (*rx == '\0') {
			snprintf(err, errlen, "dlp_patterns: %.*s has no regex", (int)nl - 1, s);
			free(rx);
			return -1;
		}
		rc = add_pattern(dr, s, nl - 1, rx, err, errlen);
		free(rx);
		if (rc < 0)
			return -1;
		s = re + i;
	}
	return 0;
}

/* One entry a line; '#' starts a comment line.  A missing file is fine. */
static int
load_lines(struct dlp_rules *dr, const char *path, int patterns, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	if (fp == NULL)
		return 0;
	while (getline(&line, &cap, fp) >= 0) {
		char *l = util_trim(line);

		lineno++;
		if (*l == '\0' || *l == '#')
			continue;
		if (!patterns)
			add_keyword(dr, l);
		else {
			size_t nl = name_colon(l);

			if (nl == 0 || l[nl] == '\0') {
				snprintf(err, errlen, "%s:%d: expected NAME:regex", path, lineno);
				rc = -1;
				break;
			}
			if (add_pattern(dr, l, nl - 1, l + nl, err, errlen) < 0) {
				rc = -1;
				break;
			}
		}
	}
	free(line);
	fclose(fp);
	return rc;
}

void
dlp_rules_free(struct dlp_rules *dr)
{
	if (dr == NULL)
		return;
	for (size_t i = 0; i < dr->nkw; i++)
		free(dr->kw[i]);
	free(dr->kw);
	for (size_t i = 0; i < dr->npat; i++) {
		free(dr->pat[i].name);
		uregex_close(dr->pat[i].re);
	}
	free(dr->pat);
	free(dr);
}

struct dlp_rules *
dlp_rules_new(const struct config *cfg, char *err, size_t errlen)
{
	struct dlp_rules *dr = xcalloc(1, sizeof(*dr));
	char *path;
	int rc;

	dr->max_text = (size_t)cfg->dlp_max_text;
	dr->inbound = (int)cfg->dlp_inbound;
	path = xasprintf("%s/dlp/keywords.txt", cfg->rules_dir);
	rc = load_lines(dr, path, 0, err, errlen);
	free(path);
	for (char **k = cfg->dlp_keywords; rc == 0 && k != NULL && *k != NULL; k++)
		add_keyword(dr, *k);
	if (rc == 0) {
		path = xasprintf("%s/dlp/patterns.txt", cfg->rules_dir);
		rc = load_lines(dr, path, 1, err, errlen);
		free(path);
	}
	if (rc == 0 && cfg->dlp_patterns != NULL)
		rc = parse_patterns(dr, cfg->dlp_patterns, err, errlen);
	if (rc < 0) {
		dlp_rules_free(dr);
		return NULL;
	}
	return dr;
}

/* ---- the detector ---- */

static int
dlp_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	return (*state = dlp_rules_new(cfg, err, errlen)) != NULL ? 0 : -1;
}

static void
dlp_free(void *state)
{
	dlp_rules_free(state);
}

static void
dlp_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	const struct dlp_rules *dr = state;
	struct dlp_findings f;
	const struct dlp_found *k;
	char *text;

	if (dr == NULL || (!ctx->outbound && !dr->inbound))
		return;
	text = dlp_message_text(ctx->msg, dr->max_text);
	dlp_scan_folded(dr, text, strlen(text), &f);
	free(text);

	k = &f.k[DLP_K_MYNUMBER];
	if (k->count > 0)
		result_add_scored(r, "DLP_MYNUMBER", k->strong > 0 ? 1.0 : 0.6,
		    "%d My Number%s (%s)%s%s", k->count, k->count > 1 ? "s" : "", k->sample,
		    k->strong > 0 ? " " : "", k->what);
	k = &f.k[DLP_K_CARD];
	if (k->count > 0)
		result_add_scored(r, "DLP_CREDIT_CARD", k->strong > 0 ? 1.0 : 0.6,
		    "%d card number%s (%s %s)%s", k->count, k->count > 1 ? "s" : "", k->what,
		    k->sample, k->strong > 0 ? " near a card word" : "");
	k = &f.k[DLP_K_BANK];
	if (k->count > 0)
		result_add_scored(r, "DLP_BANK_ACCOUNT", k->strong > 0 ? 1.0 : 0.7,
		    "%d bank account%s (%s)%s%s", k->count, k->count > 1 ? "s" : "", k->sample,
		    k->strong > 0 ? " " : "", k->what);
	k = &f.k[DLP_K_KEYWORD];
	if (k->count > 0)
		result_add(r, "DLP_KEYWORD", "keyword \"%s\"%s", k->what,
		    k->count > 1 ? " and others" : "");
	k = &f.k[DLP_K_PATTERN];
	if (k->count > 0)
		result_add(r, "DLP_PATTERN", "pattern %s (%s), %d match%s", k->what, k->sample,
		    k->count, k->count > 1 ? "es" : "");
}

const struct detector detect_dlp = {
	.name = "dlp",
	.symbols = symbols,
	.init = dlp_init,
	.scan = dlp_scan,
	.free = dlp_free,
};
