/*
 * password.c - the password policy (NIST SP 800-63B rev.4, section 3.1.1).
 *
 * pwcheck_run() decides in this order, and stops at the first refusal:
 *   1. valid UTF-8 without control characters, then NFKC (ICU), so that
 *      "ｐａｓｓｗｏｒｄ" and "password" are one password;
 *   2. length in characters (code points after NFKC): at least
 *      password_min_length, or password_min_length_mfa when the password is
 *      one factor of several; at most password_max_length.  Nothing is ever
 *      truncated: every character counts in every check;
 *   3. the breached list (HIBP SHA-1 format), for the bytes as typed and
 *      for their NFKC form;
 *   4. context words: the login and the name parts of the user's address,
 *      password_context_words and the labels of local_domains, compared
 *      case-folded; a word of 4 characters or more (3 for the admin's own
 *      words) anywhere in the password refuses it;
 *   5. repetitive or sequential strings: a password that is one unit
 *      repeated (abcabcabc, passwordpassword), or of which half or more is
 *      runs of one character, ascending or descending runs (1234, abcd,
 *      9876) or keyboard walks (qwerty, asdf, zxcv);
 *   6. the cracklib dictionary through libpwquality, with every rule of
 *      libpwquality off but the dictionary (no composition rules): only a
 *      "dictionary word" answer of cracklib refuses.
 * There are no composition rules, no hints and no expiry.
 *
 * The checker never logs and never keeps the password; the caller wipes
 * its own copy.  Copies made here are wiped before they are freed.
 */
#include "account/password.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pwquality.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>
#include <unistd.h>

#define PW_MAX_BYTES	4096	/* far above password_max_length in any script */
#define PW_MAX_WORDS	256
#define PWLIST_MAX_LINE	1024	/* a longer line is not a list line: the file is broken */

struct pwlist {
	const char *map;
	size_t size;
};

struct pwcheck {
	const struct config *cfg;
	struct pwlist *breached;
	pwquality_settings_t *pwq;	/* NULL: dictionary check off */
	char **words;			/* folded company words, NULL-terminated */
	size_t nwords;
};

/* ---- the breached list ---- */

struct pwlist *
pwlist_open(const char *path, char *err, size_t errlen)
{
	struct pwlist *l;
	struct stat sb;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->size = (size_t)sb.st_size;
	if (l->size > 0) {
		void *m = mmap(NULL, l->size, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
			close(fd);
			free(l);
			return NULL;
		}
		/* binary search touches a few pages far apart */
		madvise(m, l->size, MADV_RANDOM);
		l->map = m;
	}
	close(fd);
	return l;
}

void
pwlist_close(struct pwlist *l)
{
	if (l == NULL)
		return;
	if (l->map != NULL)
		munmap((void *)(uintptr_t)l->map, l->size);
	free(l);
}


/* Compare the line at p (up to end) with the 40-digit key, as numbers. */
static int
line_cmp(const char *p, const char *end, const char *key)
{
	for (int i = 0; i < 40; i++) {
		int a = p + i < end ? util_hexval((unsigned char)p[i]) : -1;
		int b = util_hexval((unsigned char)key[i]);
		if (a != b)
			return a < b ? -1 : 1;
	}
	return 0;
}

int
pwlist_find(const struct pwlist *l, const char *hex, int64_t *count)
{
	const char *p = l->map;
	size_t lo = 0, hi = l->size;

	for (int i = 0; i < 40; i++)
		if (util_hexval((unsigned char)hex[i]) < 0)
			return 0;
	/*
	 * lo is always the start of a line and every line that may hold the
	 * key starts in [lo, hi).  Each probe backs up from the middle to the
	 * start of its line (a line is short, so this is a few bytes).
	 */
	while (lo < hi) {
		size_t s = lo + (hi - lo) / 2;
		const char *nl;
		int c;

		for (size_t back = 0; s > lo && p[s - 1] != '\n'; back++, s--)
			if (back == PWLIST_MAX_LINE)
				return 0;	/* not a list (a hole, binary data) */
		nl = memchr(p + s, '\n', l->size - s);
		c = line_cmp(p + s, nl ? nl : p + l->size, hex);
		if (c == 0) {
			const char *q = p + s + 40;
			int64_t n = 0;
			if (q < p + l->size && *q == ':')
				for (q++; q < p + l->size && *q >= '0' && *q <= '9' &&
				    n < INT64_MAX / 10; q++)
					n = n * 10 + (*q - '0');
			if (count != NULL)
				*count = n;
			return 1;
		}
		if (c < 0) {
			if (nl == NULL)
				break;
			lo = (size_t)(nl - p) + 1;
		} else {
			hi = s;
		}
	}
	return 0;
}

void
pw_sha1_hex(const char *pw, size_t len, char out[41])
{
	static const char digits[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(pw, len, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		panic("password: SHA-1 unavailable");
	for (unsigned i = 0; i < 20; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[40] = '\0';
	sodium_memzero(md, sizeof(md));
}

/* ---- Unicode ---- */

/* UTF-8 -> UTF-16 through ICU, normalised by n; NULL when invalid. */
static UChar *
to_norm16(const UNormalizer2 *n, const char *s, size_t len, int32_t *outlen)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t ulen = 0, nlen;
	UChar *u, *out;

	if (len > PW_MAX_BYTES)
		return NULL;
	u_strFromUTF8(NULL, 0, &ulen, s, (int32_t)len, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		return NULL;
	e = U_ZERO_ERROR;
	u = xcalloc((size_t)ulen + 1, sizeof(UChar));
	u_strFromUTF8(u, ulen + 1, NULL, s, (int32_t)len, &e);
	if (U_FAILURE(e)) {
		free(u);
		return NULL;
	}
	/* NFKC grows text by at most a factor of 18 (U+FDFA) */
	nlen = ulen * 18 + 1;
	out = xcalloc((size_t)nlen, sizeof(UChar));
	nlen = unorm2_normalize(n, u, ulen, out, nlen, &e);
	sodium_memzero(u, (size_t)ulen * sizeof(UChar));
	free(u);
	if (U_FAILURE(e)) {
		free(out);
		return NULL;
	}
	*outlen = nlen;
	return out;
}

static char *
from16(const UChar *u, int32_t ulen, size_t *outlen)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n = 0;
	char *s;

	u_strToUTF8(NULL, 0, &n, u, ulen, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		return NULL;
	e = U_ZERO_ERROR;
	s = xmalloc((size_t)n + 1);
	u_strToUTF8(s, n + 1, NULL, u, ulen, &e);
	if (U_FAILURE(e)) {
		free(s);
		return NULL;
	}
	if (outlen != NULL)
		*outlen = (size_t)n;
	return s;
}

static char *
normalize(int casefold, const char *s, size_t len, size_t *outlen, size_t *nchars)
{
	UErrorCode e = U_ZERO_ERROR;
	const UNormalizer2 *n = casefold ? unorm2_getNFKCCasefoldInstance(&e) :
	    unorm2_getNFKCInstance(&e);
	int32_t ulen = 0;
	UChar *u;
	char *out;

	if (U_FAILURE(e))
		return NULL;
	u = to_norm16(n, s, len, &ulen);
	if (u == NULL)
		return NULL;
	if (nchars != NULL)
		*nchars = (size_t)u_countChar32(u, ulen);
	out = from16(u, ulen, outlen);
	sodium_memzero(u, (size_t)ulen * sizeof(UChar));
	free(u);
	return out;
}

char *
pw_nfkc(const char *s, size_t len, size_t *outlen, size_t *nchars)
{
	return normalize(0, s, len, outlen, nchars);
}

static char *
fold(const char *s)
{
	return normalize(1, s, strlen(s), NULL, NULL);
}

/* Code points of valid UTF-8 (lower-cased); NULL when invalid. */
static UChar32 *
codepoints(const char *s, size_t len, size_t *n)
{
	UChar32 *cp = xcalloc(len + 1, sizeof(*cp));
	int32_t i = 0;
	size_t k = 0;

	while ((size_t)i < len) {
		UChar32 c;
		U8_NEXT(s, i, (int32_t)len, c);
		if (c < 0) {
			free(cp);
			return NULL;
		}
		cp[k++] = u_tolower(c);
	}
	*n = k;
	return cp;
}

/* ---- repetitive and sequential strings ---- */

static const char *const keyboard_rows[] = {
	"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "qwertzuiop",
	"azertyuiop", "!@#$%^&*()", "1qaz2wsx3edc4rfv5tgb", "zaq1xsw2cde3vfr4",
};

/* Length of the keyboard walk (forwards or backwards) starting at cp[i]. */
static size_t
walk_len(const UChar32 *cp, size_t n, size_t i)
{
	size_t best = 0;

	for (size_t r = 0; r < UTIL_ARRAY_LEN(keyboard_rows); r++) {
		const char *row = keyboard_rows[r];
		size_t rl = strlen(row);
		for (size_t s = 0; s < rl; s++) {
			for (int dir = -1; dir <= 1; dir += 2) {
				size_t k = 0;
				long pos = (long)s;
				while (i + k < n && pos >= 0 && (size_t)pos < rl &&
				    cp[i + k] == (UChar32)(unsigned char)row[pos]) {
					k++;
					pos += dir;
				}
				if (k > best)
					best = k;
			}
		}
	}
	return best;
}

/*
 * PW_REPETITIVE, PW_SEQUENTIAL or PW_OK.  The period test catches a unit
 * repeated; the coverage test catches passwords that are mostly runs
 * ("aaaaaaaaaaaaaaa1", "1234567890abcdef") without refusing a long
 * passphrase that merely contains "123".
 */
static enum pw_reason
trivial_check(const UChar32 *cp, size_t n)
{
	unsigned char *mark;
	size_t rep = 0, seq = 0, i, j;
	enum pw_reason r = PW_OK;

	if (n == 0)
		return PW_OK;
	for (size_t p = 1; p <= n / 2; p++) {
		for (i = p; i < n && cp[i] == cp[i - p]; i++)
			;
		if (i == n)
			return PW_REPETITIVE;
	}
	mark = xcalloc(n, 1);
	for (i = 0; i < n; i = j) {	/* runs of one character */
		for (j = i + 1; j < n && cp[j] == cp[i]; j++)
			;
		if (j - i >= 3)
			for (size_t k = i; k < j; k++)
				mark[k] = 1;
	}
	for (i = 0; i + 1 < n; i = j) {	/* ascending or descending */
		int d = cp[i + 1] - cp[i];
		for (j = i + 1; j < n && cp[j] - cp[j - 1] == d; j++)
			;
		if ((d == 1 || d == -1) && j - i >= 3)
			for (size_t k = i; k < j; k++)
				mark[k] = mark[k] ? mark[k] : 2;
		if (j - 1 > i)
			j--;		/* runs may share their end */
		else
			j = i + 1;
	}
	for (i = 0; i < n; i++) {	/* keyboard walks of 4 or more */
		size_t k = walk_len(cp, n, i);
		if (k >= 4)
			for (size_t m = i; m < i + k; m++)
				mark[m] = mark[m] ? mark[m] : 2;
	}
	for (i = 0; i < n; i++) {
		if (mark[i] == 1)
			rep++;
		else if (mark[i] == 2)
			seq++;
	}
	if ((rep + seq) * 2 >= n)
		r = rep >= seq ? PW_REPETITIVE : PW_SEQUENTIAL;
	free(mark);
	return r;
}

/* ---- context words ---- */

static int
generic_label(const char *l)
{
	static const char *const generic[] = {
		"com", "net", "org", "edu", "gov", "info", "biz", "mail", "test",
		"example", "local", "localhost", "co", "ne", "or", "ac", "go", "jp",
		"www", "smtp", "imap", NULL,
	};

	for (size_t i = 0; generic[i] != NULL; i++)
		if (util_strcasecmp(l, generic[i]) == 0)
			return 1;
	return 0;
}

static void
add_word(char ***words, size_t *n, const char *w, size_t minlen)
{
	char *f;
	size_t chars = 0;

	if (*n >= PW_MAX_WORDS || *w == '\0')
		return;
	f = normalize(1, w, strlen(w), NULL, &chars);
	if (f == NULL || chars < minlen) {
		free(f);
		return;
	}
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*words)[i], f) == 0) {
			free(f);
			return;
		}
	*words = xrealloc(*words, (*n + 2) * sizeof(**words));
	(*words)[(*n)++] = f;
	(*words)[*n] = NULL;
}

/* The parts of s split on the separators, each added with minlen. */
static void
add_parts(char ***words, size_t *n, const char *s, const char *seps, size_t minlen,
    int skip_generic)
{
	char *copy = xstrdup(s), *save = NULL;

	for (char *t = strtok_r(copy, seps, &save); t; t = strtok_r(NULL, seps, &save))
		if (!(skip_generic && generic_label(t)))
			add_word(words, n, t, minlen);
	free(copy);
}

/* The login or address: its whole local part, its name parts, and the
 * labels of its domain. */
static void
add_identity(char ***words, size_t *n, const char *id)
{
	const char *at = strrchr(id, '@');
	char *local = at ? xstrndup(id, (size_t)(at - id)) : xstrdup(id);

	add_word(words, n, local, 4);
	add_parts(words, n, local, "._-+0123456789", 4, 0);
	if (at != NULL)
		add_parts(words, n, at + 1, ".-", 4, 1);
	free(local);
}

static const char *
contains_word(const char *folded, char *const *words)
{
	for (size_t i = 0; words != NULL && words[i] != NULL; i++)
		if (strstr(folded, words[i]) != NULL)
			return words[i];
	return NULL;
}

/* ---- the checker ---- */

struct pwcheck *
pwcheck_new(const struct config *cfg, char *err, size_t errlen)
{
	struct pwcheck *pc = xcalloc(1, sizeof(*pc));
	const char *dict = cfg->password_dictionary;

	pc->cfg = cfg;
	if (cfg->password_breached_list[0] != '\0') {
		char *path = config_state_path(cfg, cfg->password_breached_list);
		pc->breached = pwlist_open(path, err, errlen);
		free(path);
		if (pc->breached == NULL) {
			pwcheck_free(pc);
			return NULL;
		}
	}
	if (strcmp(dict, "off") != 0) {
		pc->pwq = pwquality_default_settings();
		if (pc->pwq == NULL) {
			snprintf(err, errlen, "libpwquality: out of memory");
			pwcheck_free(pc);
			return NULL;
		}
		/* every rule off but cracklib's dictionary look-up */
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_MIN_LENGTH, 6);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_DIFF_OK, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_DIG_CREDIT, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_UP_CREDIT, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_LOW_CREDIT, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_OTH_CREDIT, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_MIN_CLASS, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_MAX_REPEAT, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_MAX_CLASS_REPEAT, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_MAX_SEQUENCE, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_GECOS_CHECK, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_USER_CHECK, 0);
		pwquality_set_int_value(pc->pwq, PWQ_SETTING_DICT_CHECK, 1);
		if (*dict != '\0' && pwquality_set_str_value(pc->pwq,
		    PWQ_SETTING_DICT_PATH, dict) != 0) {
			snprintf(err, errlen, "password_dictionary: cannot use %s", dict);
			pwcheck_free(pc);
			return NULL;
		}
	}
	for (char **w = cfg->password_context_words; w && *w; w++)
		add_word(&pc->words, &pc->nwords, *w, 3);
	for (char **d = cfg->local_domains; d && *d; d++)
		add_parts(&pc->words, &pc->nwords, *d, ".-", 4, 1);
	return pc;
}

void
pwcheck_free(struct pwcheck *pc)
{
	if (pc == NULL)
		return;
	pwlist_close(pc->breached);
	if (pc->pwq != NULL)
		pwquality_free_settings(pc->pwq);
	for (size_t i = 0; i < pc->nwords; i++)
		free(pc->words[i]);
	free(pc->words);
	free(pc);
}

static int
breached(const struct pwlist *l, const char *s, size_t len, int64_t *count)
{
	char hex[41];
	int found;

	pw_sha1_hex(s, len, hex);
	found = pwlist_find(l, hex, count);
	sodium_memzero(hex, sizeof(hex));
	return found;
}

static int
has_control(const UChar32 *cp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (u_iscntrl(cp[i]))
			return 1;
	return 0;
}

/* cracklib's answer is "it is based on a dictionary word" (or its
 * reversed form); its other answers are composition rules we do not keep. */
static int
dictionary_word(const struct pwcheck *pc, const char *pw)
{
	void *aux = NULL;
	int rc;

	if (pc->pwq == NULL)
		return 0;
	rc = pwquality_check(pc->pwq, pw, NULL, NULL, &aux);
	if (rc == PWQ_ERROR_CRACKLIB_CHECK && aux != NULL &&
	    (strstr(aux, "dictionary") != NULL || strstr(aux, "辞書") != NULL))
		return 1;
	return 0;
}

static enum pw_reason
finish(struct pw_result *res, enum pw_reason r)
{
	res->reason = r;
	return r;
}

enum pw_reason
pwcheck_run(const struct pwcheck *pc, const char *pw, size_t len,
    const struct pw_user *user, struct pw_result *res)
{
	const struct config *cfg = pc->cfg;
	struct pw_user none = { 0 };
	char *norm = NULL, *folded = NULL, **uw = NULL;
	UChar32 *cp = NULL;
	size_t nlen = 0, nchars = 0, ncp = 0, nuw = 0;
	const char *w;
	enum pw_reason r = PW_OK;

	memset(res, 0, sizeof(*res));
	if (user == NULL)
		user = &none;
	res->min_length = (size_t)(user->mfa ? cfg->password_min_length_mfa :
	    cfg->password_min_length);
	if (len == 0)
		return finish(res, PW_EMPTY);
	if (len > PW_MAX_BYTES)
		return finish(res, PW_TOO_LONG);
	norm = pw_nfkc(pw, len, &nlen, &nchars);
	if (norm == NULL || (cp = codepoints(norm, nlen, &ncp)) == NULL ||
	    has_control(cp, ncp)) {
		r = PW_INVALID;
		goto out;
	}
	res->length = nchars;
	if (nchars < res->min_length) {
		r = PW_TOO_SHORT;
		goto out;
	}
	if (cfg->password_max_length > 0 && nchars > (size_t)cfg->password_max_length) {
		r = PW_TOO_LONG;
		goto out;
	}
	if (pc->breached != NULL && (breached(pc->breached, pw, len, &res->count) ||
	    (nlen != len || memcmp(norm, pw, len) != 0 ?
	    breached(pc->breached, norm, nlen, &res->count) : 0))) {
		r = PW_BREACHED;
		goto out;
	}
	folded = fold(norm);
	if (folded == NULL) {
		r = PW_INVALID;
		goto out;
	}
	if (user->login != NULL)
		add_identity(&uw, &nuw, user->login);
	if (user->address != NULL)
		add_identity(&uw, &nuw, user->address);
	if ((w = contains_word(folded, uw)) != NULL ||
	    (w = contains_word(folded, pc->words)) != NULL) {
		util_strlcpy(res->word, w, sizeof(res->word));
		r = PW_CONTEXT;
		goto out;
	}
	if ((r = trivial_check(cp, ncp)) != PW_OK)
		goto out;
	if (dictionary_word(pc, norm))
		r = PW_DICTIONARY;
out:
	if (norm != NULL) {
		sodium_memzero(norm, nlen);
		free(norm);
	}
	if (folded != NULL) {
		sodium_memzero(folded, strlen(folded));
		free(folded);
	}
	if (cp != NULL) {
		sodium_memzero(cp, ncp * sizeof(*cp));
		free(cp);
	}
	for (size_t i = 0; i < nuw; i++)
		free(uw[i]);
	free(uw);
	return finish(res, r);
}

/* ---- reasons ---- */

static const struct {
	const char *name, *en, *ja;
} reasons[] = {
	[PW_OK] = { "ok", "the password is acceptable",
	    "このパスワードは使用できます" },
	[PW_EMPTY] = { "empty", "no password was given",
	    "パスワードが入力されていません" },
	[PW_INVALID] = { "invalid", "the password is not valid text (UTF-8 without control characters)",
	    "パスワードが正しい文字列ではありません(制御文字を含まない UTF-8 にしてください)" },
	[PW_TOO_SHORT] = { "too_short", "the password is too short",
	    "パスワードが短すぎます" },
	[PW_TOO_LONG] = { "too_long", "the password is too long",
	    "パスワードが長すぎます" },
	[PW_BREACHED] = { "breached", "the password appears in lists of breached passwords",
	    "このパスワードは過去の漏えいパスワード一覧に含まれています" },
	[PW_DICTIONARY] = { "dictionary", "the password is a dictionary word",
	    "このパスワードは辞書にある単語です" },
	[PW_CONTEXT] = { "context", "the password contains your name, your login or the company's name",
	    "パスワードに利用者名、ログイン名または会社名が含まれています" },
	[PW_REPETITIVE] = { "repetitive", "the password is made of repeated characters or words",
	    "パスワードが同じ文字や語の繰り返しです" },
	[PW_SEQUENTIAL] = { "sequential", "the password is a sequence (1234, abcd, qwerty)",
	    "パスワードが連続した文字列(1234、abcd、qwerty など)です" },
	[PW_ERROR] = { "error", "the password could not be checked",
	    "パスワードを検査できませんでした" },
};

const char *
pw_reason_text(enum pw_reason r, const char *lang)
{
	if ((unsigned)r >= UTIL_ARRAY_LEN(reasons))
		r = PW_ERROR;
	return lang != NULL && strncmp(lang, "ja", 2) == 0 ? reasons[r].ja : reasons[r].en;
}

const char *
pw_reason_name(enum pw_reason r)
{
	if ((unsigned)r >= UTIL_ARRAY_LEN(reasons))
		r = PW_ERROR;
	return reasons[r].name;
}
