/*
 * detect_dlp.h - data loss prevention: personal and confidential data in
 * outgoing mail (detect_dlp.c).
 *
 * The functions below are the pieces of the detector, exported so that
 * tests/unit/test_dlp.c can check each as a table.  All are pure over
 * their arguments and safe on several threads at once over shared,
 * read-only rules.
 */
#ifndef SEKISHO_DETECT_DLP_H
#define SEKISHO_DETECT_DLP_H

#include <stddef.h>

#include "detect/detect.h"

extern const struct detector detect_dlp;

/* My Number (個人番号): 12 ASCII digits whose last one is the check digit
 * of the official algorithm (weights 2..7, 2..6 from the right, mod 11,
 * remainder 0 or 1 gives 0).  1 valid, 0 not. */
int dlp_mynumber_valid(const char *digits12);

/* The Luhn (mod 10) check over n ASCII digits.  1 valid, 0 not. */
int dlp_luhn(const char *digits, size_t n);

/* The card network a number of n digits belongs to by its prefix and
 * length ("Visa", "Mastercard", "American Express", "JCB", "Diners Club",
 * "Discover", "UnionPay"), or NULL. */
const char *dlp_card_issuer(const char *digits, size_t n);

enum dlp_kind {
	DLP_K_MYNUMBER,
	DLP_K_CARD,
	DLP_K_BANK,
	DLP_K_KEYWORD,
	DLP_K_PATTERN,
	DLP_K_COUNT,
};

/* What one scan of a text found, per kind. */
struct dlp_found {
	int count;		/* hits */
	int strong;		/* hits with a keyword nearby (マイナンバー, カード番号,
				 * 支店) or, for patterns, any */
	char sample[96];	/* the first hit, masked: ****-****-1234 */
	char what[64];		/* card network, keyword, pattern name, ... */
};

struct dlp_findings {
	struct dlp_found k[DLP_K_COUNT];
};

struct dlp_rules;

/*
 * Build the rules: keywords from rules_dir/dlp/keywords.txt (one a line,
 * '#' comments; a missing file is no error) and dlp_keywords, admin
 * patterns from rules_dir/dlp/patterns.txt and dlp_patterns ("NAME:regex",
 * ICU syntax, case-insensitive).  NULL with err on a bad pattern.
 */
struct dlp_rules *dlp_rules_new(const struct config *cfg, char *err, size_t errlen);
void dlp_rules_free(struct dlp_rules *dr);

/* Scan text that is phish_fold()ed already (NFKC, case-folded: full-width
 * digits are ASCII): len bytes with a NUL at len.  f is cleared first. */
void dlp_scan_folded(const struct dlp_rules *dr, const char *folded, size_t len,
    struct dlp_findings *f);
/* The same over UTF-8 text as written (folds it first). */
void dlp_scan_text(const struct dlp_rules *dr, const char *utf8, struct dlp_findings *f);

/* The text DLP reads from a message: the subject, text parts, HTML text
 * and text-like attachments (text/ *, .txt, .csv, .tsv, .json, .xml...),
 * at most max bytes in all, folded.  malloc'ed. */
char *dlp_message_text(const struct message *m, size_t max);

#endif
