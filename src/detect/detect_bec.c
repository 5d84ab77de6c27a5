/*
 * detect_bec.c - business-email compromise: requests to pay somewhere new.
 *
 * Symbols (declared in detect_phish.c), inbound mail from outside only:
 *   BEC_BANK_CHANGE      a request to change bank or payment details
 *                        (振込先変更, 口座変更, 新しい口座, "updated bank details")
 *   BEC_PAYMENT_URGENT   payment words with urgency or secrecy (至急の送金,
 *                        "urgent wire transfer") without a change request
 *   BEC_ACCOUNT_DETAILS  bank account details in the text: an IBAN whose
 *                        check digits are right, a SWIFT/BIC code, a Japanese
 *                        account (支店 ... 普通/当座 1234567)
 *   BEC_HIGH_RISK        a change or urgent payment request together with a
 *                        sign that the sender is not who it says: Reply-To
 *                        elsewhere, a lookalike domain, a spoofed display
 *                        name, or first contact
 * Alone, an invoice that names the usual account (請求書 + 支店 普通
 * 1234567) scores only BEC_ACCOUNT_DETAILS, which is low by design: that is
 * what every routine invoice looks like.
 *
 * The text is the subject and the first 256 KiB of the body (text and
 * HTML text), NFKC case-folded (phish_scan_text), so full-width digits and
 * letters and upper case match too.  Phrases are fixed tables below.  A
 * negated statement ("振込先口座は従来から変更ございません", "no change to
 * our bank details") does not count; beyond that simple test, meaning is
 * not understood, which is why a change request alone stays under the tag
 * score.
 */
#include "detect/detect_phish.h"
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const change_phrases[] = {
	"振込先変更", "振込先の変更", "振込先を変更", "振込先が変更", "振込先が変わ",
	"振込先口座を変更", "振込口座変更", "口座変更", "口座の変更", "口座を変更",
	"口座が変更", "口座が変わ", "口座情報の変更", "口座情報を変更", "新しい口座",
	"新口座", "新しい振込先", "新しいお振込先", "変更後の口座", "変更後の振込先",
	"変更後のお振込先", "支払先の変更", "支払先を変更", "送金先の変更", "送金先を変更",
	"入金先の変更", "入金口座の変更", "指定口座の変更", "指定口座を変更",
	"updated bank details", "update our bank details", "updated banking details",
	"new bank details", "new banking details", "change of bank account",
	"change of bank details", "change in bank details", "change in our bank",
	"changed our bank", "change our bank", "bank account has changed",
	"bank account has been changed", "bank details have changed",
	"bank details has changed", "banking details have changed", "new account details",
	"new bank account", "updated account details", "updated payment details",
	"payment details have changed", "change of payment details",
	"change in payment details", "updated banking information",
	"new banking information", "changed our banking", "update the bank account",
	"update our banking", "new remittance details", "updated remittance",
	"new beneficiary", "change the beneficiary", "change of beneficiary",
	"alternative bank account", "different bank account", "another bank account",
};

/* Two words near each other (the second within window bytes of the first):
 * "お振込先口座を下記の通り変更", "bank account ... has been updated". */
static const struct {
	const char *a, *b;
	size_t window;
} change_near[] = {
	{ "振込先", "変更", 36 }, { "振込口座", "変更", 36 }, { "振込先", "変わ", 30 },
	{ "指定口座", "変更", 36 },
	{ "bank account", "changed", 40 }, { "bank account", "updated", 40 },
	{ "bank details", "changed", 40 }, { "bank details", "updated", 40 },
	{ "banking details", "changed", 40 }, { "banking details", "updated", 40 },
};

static const char *const payment_words[] = {
	"請求書", "お支払", "支払い", "振込", "振り込", "送金", "入金", "ご請求", "決済",
	"invoice", "invoices", "payment", "payments", "wire transfer", "bank transfer", "remittance",
	"transfer the funds", "funds transfer",
};

static const char *const urgent_words[] = {
	"至急", "早急", "本日中", "急ぎ", "内密", "極秘", "他言", "内々", "秘密裏",
	"このメールにのみ", "このメールアドレスにのみ", "電話はご遠慮",
	"urgent", "urgently", "asap", "confidential", "as soon as possible", "discreet",
	"keep this between us", "strictly confidential", "before the end of the day",
};

static int
ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* The first place w occurs in text on ASCII word boundaries. */
static const char *
find_word(const char *text, const char *w)
{
	size_t wl = strlen(w);

	for (const char *p = strstr(text, w); p != NULL; p = strstr(p + 1, w)) {
		int lb = p == text || !ascii_alnum((unsigned char)p[-1]) ||
		    !ascii_alnum((unsigned char)w[0]);
		int rb = !ascii_alnum((unsigned char)p[wl]) || !ascii_alnum((unsigned char)w[wl - 1]);

		if (lb && rb)
			return p;
	}
	return NULL;
}

/*
 * Is the statement around p negated?  "振込先口座は従来から変更ございません",
 * "there is no change to our bank details".  The rest of the sentence (to
 * the next 。 . ! ? or line end, at most 90 bytes) is searched for a
 * Japanese negative ending, and the few words before p for an English "no"
 * or "not".
 */
static int
negated(const char *text, const char *p, size_t plen)
{
	static const char *const ja[] = { "ません", "ない", "なし", "無し", "不要" };
	static const char *const en[] = { "no ", "not ", "never ", "n't " };
	const char *s = p + plen, *e = s;
	const char *b = p - (p - text > 24 ? 24 : p - text);
	char *rest, *before;
	int neg = 0;

	while (*e && (size_t)(e - s) < 90 && *e != '\n' && *e != '.' && *e != '!' &&
	    *e != '?' && strncmp(e, "。", 3) != 0)
		e++;
	rest = xstrndup(s, (size_t)(e - s));
	before = xstrndup(b, (size_t)(p - b));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(ja) && !neg; i++)
		neg = strstr(rest, ja[i]) != NULL;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(en) && !neg; i++)
		neg = find_word(before, en[i]) != NULL || find_word(rest, en[i]) != NULL;
	free(rest);
	free(before);
	return neg;
}

/* The first change phrase that is not negated. */
static int
first_change(const char *text, char *out, size_t len)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(change_phrases); i++)
		for (const char *p = find_word(text, change_phrases[i]); p != NULL;
		    p = find_word(p + 1, change_phrases[i]))
			if (!negated(text, p, strlen(change_phrases[i]))) {
				snprintf(out, len, "%s", change_phrases[i]);
				return 1;
			}
	return 0;
}

static int
first_of(const char *text, const char *const *words, size_t n, char *out, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (find_word(text, words[i]) != NULL) {
			snprintf(out, len, "%s", words[i]);
			return 1;
		}
	return 0;
}

int
bec_iban_valid(const char *s, size_t len)
{
	char buf[40];
	size_t n = 0;
	unsigned rem = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ')
			continue;
		if (!isalnum((unsigned char)s[i]) || n >= 34)
			return 0;
		buf[n++] = (char)toupper((unsigned char)s[i]);
	}
	if (n < 15 || !isalpha((unsigned char)buf[0]) || !isalpha((unsigned char)buf[1]) ||
	    !isdigit((unsigned char)buf[2]) || !isdigit((unsigned char)buf[3]))
		return 0;
	/* move the first four to the end; letters are 10..35 */
	for (size_t k = 0; k < n; k++) {
		char c = buf[(k + 4) % n];

		if (isdigit((unsigned char)c))
			rem = (rem * 10 + (unsigned)(c - '0')) % 97;
		else
			rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
	}
	return rem == 1;
}

/* An IBAN: two letters, two digits, then letters and digits in groups that
 * may be separated by single spaces, 15 to 34 in all, right check digits. */
static int
find_iban(const char *t, char *out, size_t len)
{
	for (const char *p = t; *p; p++) {
		const char *e;
		size_t n = 0;

		if (!(isalpha((unsigned char)p[0]) && isalpha((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3])))
			continue;
		if (p > t && isalnum((unsigned char)p[-1]))
			continue;
		for (e = p; *e && n < 34; e++) {
			if (isalnum((unsigned char)*e))
				n++;
			else if (*e == ' ' && isalnum((unsigned char)e[1]) && e > p &&
			    isalnum((unsigned char)e[-1]))
				continue;
			else
				break;
		}
		while (e > p && e[-1] == ' ')
			e--;
		if (n >= 15 && !isalnum((unsigned char)*e) && bec_iban_valid(p, (size_t)(e - p))) {
			snprintf(out, len, "IBAN %.*s", (int)(e - p < 40 ? e - p : 40), p);
			return 1;
		}
	}
	return 0;
}

/* "SWIFT: MHCBJPJT", "BIC code BOTKJPJTXXX" */
static int
find_bic(const char *t, char *out, size_t len)
{
	static const char *const keys[] = { "swift", "bic" };

	for (size_t k = 0; k < UTIL_ARRAY_LEN(keys); k++)
		for (const char *p = find_word(t, keys[k]); p != NULL;
		    p = find_word(p + 1, keys[k])) {
			const char *q = p + strlen(keys[k]), *end = q + 30;

			while (*q && q < end) {
				size_t n = strspn(q, "abcdefghijklmnopqrstuvwxyz0123456789");

				if ((n == 8 || n == 11) && strspn(q, "abcdefghijklmnopqrstuvwxyz") >= 6 &&
				    !ascii_alnum((unsigned char)q[-1])) {
					snprintf(out, len, "SWIFT/BIC %.*s", (int)n, q);
					return 1;
				}
				q += n > 0 ? n : 1;
			}
		}
	return 0;
}

/* A run of exactly seven digits starting within window bytes after p. */
static const char *
seven_digits(const char *p, size_t window)
{
	const char *end = p + window;

	for (const char *q = p; *q && q < end; q++) {
		size_t n;

		if (!isdigit((unsigned char)*q))
			continue;
		n = strspn(q, "0123456789");
		if (n == 7 && (q == p || !isdigit((unsigned char)q[-1])))
			return q;
		q += n - 1;
	}
	return NULL;
}

/* 支店 ... 普通 1234567 / 当座預金 1234567 / 口座番号: 1234567 */
static int
find_jp_account(const char *t, char *out, size_t len)
{
	static const char *const kinds[] = { "普通", "当座", "口座番号" };

	for (size_t k = 0; k < UTIL_ARRAY_LEN(kinds); k++)
		for (const char *p = strstr(t, kinds[k]); p != NULL; p = strstr(p + 1, kinds[k])) {
			const char *d = seven_digits(p + strlen(kinds[k]), 36);
			const char *from = p - (p - t > 240 ? 240 : p - t);
			char *before;
			int branch;

			if (d == NULL)
				continue;
			before = xstrndup(from, (size_t)(p - from));
			branch = strstr(before, "支店") != NULL || strstr(before, "銀行") != NULL ||
			    strstr(before, "金庫") != NULL || k == 2;
			free(before);
			if (branch) {
				snprintf(out, len, "%s %.7s", kinds[k], d);
				return 1;
			}
		}
	return 0;
}

void
bec_scan(const char *t, struct bec_findings *f)
{
	memset(f, 0, sizeof(*f));
	if (t == NULL)
		return;
	if (first_change(t, f->change, sizeof(f->change)))
		f->flags |= BEC_CHANGE;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(change_near) && !(f->flags & BEC_CHANGE); i++)
		for (const char *p = find_word(t, change_near[i].a); p != NULL;
		    p = find_word(p + 1, change_near[i].a)) {
			const char *s = p + strlen(change_near[i].a), *hit;
			char *win = xstrndup(s, change_near[i].window);
			size_t end = 0;

			if ((hit = find_word(win, change_near[i].b)) != NULL)
				end = (size_t)(hit - win) + strlen(change_near[i].b);
			free(win);
			if (hit != NULL && !negated(t, p, strlen(change_near[i].a) + end)) {
				snprintf(f->change, sizeof(f->change), "%s ... %s", change_near[i].a,
				    change_near[i].b);
				f->flags |= BEC_CHANGE;
				break;
			}
		}
	if (find_iban(t, f->account, sizeof(f->account)) ||
	    find_bic(t, f->account, sizeof(f->account)) ||
	    find_jp_account(t, f->account, sizeof(f->account)))
		f->flags |= BEC_ACCOUNT;
	if (first_of(t, payment_words, UTIL_ARRAY_LEN(payment_words), f->payment,
	    sizeof(f->payment)))
		f->flags |= BEC_PAYMENT;
	if (first_of(t, urgent_words, UTIL_ARRAY_LEN(urgent_words), f->urgent,
	    sizeof(f->urgent)))
		f->flags |= BEC_URGENT;
}

char *
phish_scan_text(const struct message *m, size_t max)
{
	size_t tl = m->text ? strlen(m->text) : 0, hl = m->html_text ? strlen(m->html_text) : 0;
	char *joined, *folded;

	if (tl > max)
		tl = max;
	if (hl > max)
		hl = max;
	joined = xasprintf("%s\n%.*s\n%.*s", m->subject ? m->subject : "", (int)tl,
	    m->text ? m->text : "", (int)hl, m->html_text ? m->html_text : "");
	folded = phish_fold(joined);
	free(joined);
	return folded;
}

void
phish_check_bec(const struct phish_rules *pr, const struct scan_ctx *ctx,
    const struct sender_facts *sf, struct scan_result *r, const char *folded)
{
	struct bec_findings f;
	char why[160];
	int request;

	(void)pr;
	if (ctx->outbound || !sf->external)
		return;
	bec_scan(folded, &f);

	if (f.flags & BEC_CHANGE)
		result_add(r, "BEC_BANK_CHANGE", "asks to pay to changed details (\"%s\")", f.change);
	else if ((f.flags & BEC_PAYMENT) && (f.flags & BEC_URGENT))
		result_add(r, "BEC_PAYMENT_URGENT", "payment (\"%s\") with urgency or secrecy"
		    " (\"%s\")", f.payment, f.urgent);
	if (f.flags & BEC_ACCOUNT)
		result_add(r, "BEC_ACCOUNT_DETAILS", "bank account details (%s)", f.account);
	request = (f.flags & BEC_CHANGE) || ((f.flags & BEC_PAYMENT) && (f.flags & BEC_URGENT));
	if (!request)
		return;
	why[0] = '\0';
	if (sf->replyto_mismatch)
		util_strlcpy(why + strlen(why), ", Reply-To elsewhere", sizeof(why) - strlen(why));
	if (sf->lookalike)
		util_strlcpy(why + strlen(why), ", a lookalike domain", sizeof(why) - strlen(why));
	if (sf->display_spoof)
		util_strlcpy(why + strlen(why), ", a spoofed name", sizeof(why) - strlen(why));
	if (sf->first_contact)
		util_strlcpy(why + strlen(why), ", first mail from this domain",
		    sizeof(why) - strlen(why));
	if (why[0] != '\0')
		result_add(r, "BEC_HIGH_RISK", "a payment request with%s", why + 1);
}
